//! The city's street-level map for download: what is offered, and the file itself with byte
//! ranges (RFC 9110 section 14), so a broken download resumes where it stopped.

use std::path::PathBuf;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use citizen_core::views::StreetPackOffer;
use sha2::{Digest as _, Sha256};
use tower::ServiceExt as _;

use crate::AppState;
use crate::error::ApiError;

/// Where the street pack's file is served.
pub const FILE_PATH: &str = "/api/v1/map/street-pack.pmtiles";

/// The street pack the city pack names, measured once at start and open for tile reads.
pub struct StreetPack {
    pub path: PathBuf,
    pub offer: StreetPackOffer,
    reader: pmtiles::AsyncPmTilesReader<pmtiles::MmapBackend>,
    /// Highest zoom of its tiles.
    pub max_zoom: u8,
}

impl StreetPack {
    /// Reads the file once for its size and SHA-256 and opens it as PMTiles. Errors: the
    /// file is missing, unreadable or not PMTiles v3 (named in the message).
    pub async fn open(path: PathBuf) -> anyhow::Result<StreetPack> {
        let (path, offer) = tokio::task::spawn_blocking(move || Self::measure(path)).await??;
        let reader = pmtiles::AsyncPmTilesReader::new_with_path(&path)
            .await
            .map_err(|e| anyhow::anyhow!("street pack {}: not PMTiles v3: {e}", path.display()))?;
        let max_zoom = reader.get_header().max_zoom;
        Ok(StreetPack {
            path,
            offer,
            reader,
            max_zoom,
        })
    }

    fn measure(path: PathBuf) -> anyhow::Result<(PathBuf, StreetPackOffer)> {
        use anyhow::Context as _;
        use std::io::Read as _;
        let mut file = std::fs::File::open(&path)
            .with_context(|| format!("street pack {}: cannot open", path.display()))?;
        let mut hasher = Sha256::new();
        let mut buffer = vec![0_u8; 1 << 16];
        let mut bytes = 0_u64;
        loop {
            let n = file
                .read(&mut buffer)
                .with_context(|| format!("street pack {}: cannot read", path.display()))?;
            if n == 0 {
                break;
            }
            hasher.update(&buffer[..n]);
            bytes += n as u64;
        }
        let sha256 = hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Ok((
            path,
            StreetPackOffer {
                bytes,
                sha256,
                url: FILE_PATH.into(),
            },
        ))
    }
}

/// The street-level map this gateway offers; 404 when the city has none.
#[utoipa::path(get, path = "/api/v1/map/street-pack", tag = "map",
    responses(
        (status = 200, description = "The street pack on offer", body = StreetPackOffer),
        (status = 404, description = "This city has no street pack", body = crate::error::ApiErrorBody),
    ))]
pub async fn offer(State(state): State<AppState>) -> Result<Json<StreetPackOffer>, ApiError> {
    state
        .street_pack
        .as_ref()
        .map(|p| Json(p.offer.clone()))
        .ok_or(ApiError::NotFound)
}

/// The street pack's bytes; a `Range` header gets the part asked for (206).
#[utoipa::path(get, path = "/api/v1/map/street-pack.pmtiles", tag = "map",
    responses(
        (status = 200, description = "The whole file", content_type = "application/vnd.pmtiles"),
        (status = 206, description = "The range asked for", content_type = "application/vnd.pmtiles"),
        (status = 404, description = "This city has no street pack", body = crate::error::ApiErrorBody),
    ))]
pub async fn file(State(state): State<AppState>, request: Request) -> Response {
    let Some(pack) = state.street_pack.clone() else {
        return ApiError::NotFound.into_response();
    };
    serve(pack, request).await
}

async fn serve(pack: Arc<StreetPack>, request: Request) -> Response {
    let mut response = match tower_http::services::ServeFile::new(&pack.path)
        .oneshot(request)
        .await
    {
        Ok(response) => response.into_response(),
        Err(never) => match never {},
    };
    // The file's media type (PMTiles spec, "Media type"), whatever the extension guess says.
    if response.status().is_success() {
        response.headers_mut().insert(
            axum::http::header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("application/vnd.pmtiles"),
        );
    }
    response
}

/// One vector tile of the street pack, uncompressed (Mapbox Vector Tile 2.1): the tile
/// source apps cache from as residents look at the map. 204 where the pack has no tile.
#[utoipa::path(get, path = "/api/v1/map/tiles/{z}/{x}/{y}", tag = "map",
    params(
        ("z" = u8, Path, description = "Zoom, 0–30"),
        ("x" = u32, Path, description = "Column, 0 … 2^z − 1"),
        ("y" = String, Path, description = "Row, 0 … 2^z − 1, with an optional `.mvt`"),
    ),
    responses(
        (status = 200, description = "The tile", content_type = "application/vnd.mapbox-vector-tile"),
        (status = 204, description = "The pack has no tile here"),
        (status = 404, description = "This city has no street pack, or the address names no tile of the grid", body = crate::error::ApiErrorBody),
    ))]
pub async fn tile(
    State(state): State<AppState>,
    axum::extract::Path((z, x, y)): axum::extract::Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let Some(pack) = state.street_pack.clone() else {
        return Err(ApiError::NotFound);
    };
    // An address that names no tile of the grid (not a number, or outside it) is not found,
    // like any tile the pack lacks beyond its area.
    let number = |text: &str| text.parse::<u64>().ok();
    let coord = match (
        number(&z).and_then(|z| u8::try_from(z).ok()),
        number(&x).and_then(|x| u32::try_from(x).ok()),
        number(y.trim_end_matches(".mvt")).and_then(|y| u32::try_from(y).ok()),
    ) {
        (Some(z), Some(x), Some(y)) => pmtiles::TileCoord::new(z, x, y).ok(),
        _ => None,
    };
    let Some(coord) = coord else {
        return Err(ApiError::NotFound);
    };
    let (z, x, y) = (coord.z(), coord.x(), coord.y());
    let tile = match pack.reader.get_tile_decompressed(coord).await {
        Ok(tile) => tile,
        Err(e) => {
            tracing::error!(error = %e, z, x, y, "street pack tile unreadable");
            return Ok(axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response());
        }
    };
    Ok(match tile {
        Some(bytes) => (
            [(
                axum::http::header::CONTENT_TYPE,
                "application/vnd.mapbox-vector-tile",
            )],
            bytes.to_vec(),
        )
            .into_response(),
        None => axum::http::StatusCode::NO_CONTENT.into_response(),
    })
}
