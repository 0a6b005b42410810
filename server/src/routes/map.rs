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

/// The street pack the city pack names, measured once at start.
#[derive(Debug)]
pub struct StreetPack {
    pub path: PathBuf,
    pub offer: StreetPackOffer,
}

impl StreetPack {
    /// Reads the file once for its size and SHA-256. Errors: the file is missing or
    /// unreadable (named in the message).
    pub fn measure(path: PathBuf) -> anyhow::Result<StreetPack> {
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
        Ok(StreetPack {
            path,
            offer: StreetPackOffer {
                bytes,
                sha256,
                url: FILE_PATH.into(),
            },
        })
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
    match tower_http::services::ServeFile::new(&pack.path)
        .oneshot(request)
        .await
    {
        Ok(response) => response.into_response(),
        Err(never) => match never {},
    }
}
