//! The map's side of the shell: the `map:` URL scheme that serves the offline basemap, and
//! the commands of the map screen (its points, the device position, what is near).

use std::sync::Arc;

use citizen_client::basemap::{Basemap, MapInfo};
use citizen_core::views::{
    self, DevicePosition, Found, MapGroup, Origin, StreetPackOffer, StreetPackStatus,
};
use citizen_core::{AppError, ErrorCode, Position};
use tauri::http::{Request, Response, header};
use tauri::{Manager, Runtime, State, UriSchemeContext, UriSchemeResponder};

use crate::commands::{Answer, Shell, storage};

/// The basemap, once opened; the map screen shows the list instead while it is missing.
pub struct MapFiles(pub Option<Arc<Basemap>>);

/// Answers a request on the `map:` scheme (`map://localhost/...` on Linux and macOS,
/// `http://map.localhost/...` on Windows and Android) from the basemap's files.
pub fn protocol<R: Runtime>(
    ctx: UriSchemeContext<'_, R>,
    request: Request<Vec<u8>>,
    responder: UriSchemeResponder,
) {
    let app = ctx.app_handle().clone();
    tauri::async_runtime::spawn(async move {
        let uri = request.uri();
        let origin = format!(
            "{}://{}",
            uri.scheme_str().unwrap_or("map"),
            uri.authority().map_or("localhost", |a| a.as_str())
        );
        let basemap = app.try_state::<MapFiles>().and_then(|m| m.0.clone());
        let answer = if uri.path() == "/points.geojson" {
            points_answer(&app, uri.query().unwrap_or_default()).await
        } else if let Some(map) = basemap {
            map.answer(&origin, uri.path()).await
        } else {
            citizen_client::basemap::MapAnswer {
                status: 503,
                content_type: "text/plain; charset=utf-8",
                body: b"the basemap is not installed".to_vec(),
            }
        };
        if answer.status >= 400 {
            tracing::warn!(
                path = uri.path(),
                status = answer.status,
                "map request refused"
            );
        }
        let response = Response::builder()
            .status(answer.status)
            .header(header::CONTENT_TYPE, answer.content_type)
            // The page's origin differs from the scheme's: let the map's fetches read it.
            .header(header::ACCESS_CONTROL_ALLOW_ORIGIN, "*")
            .body(answer.body);
        match response {
            Ok(response) => responder.respond(response),
            Err(error) => tracing::error!(%error, "map response"),
        }
    });
}

/// Which packs the map draws; an error when the basemap is missing from this install.
#[tauri::command]
pub async fn map_info(files: State<'_, MapFiles>) -> Answer<MapInfo> {
    match &files.0 {
        Some(map) => Ok(map.info().await),
        None => Err(AppError::new(
            ErrorCode::NotFound,
            "the basemap is not installed with this app",
        )),
    }
}

/// `/points.geojson?groups=sights,wifi`: the places and hotspots of those layers as a GeoJSON
/// FeatureCollection (RFC 7946) whose features carry `kind`, `id`, `group`, `name_vi` and
/// `name_en`. MapLibre fetches and parses it in its worker, so a city of 100 000 points does
/// not cross the UI's thread.
async fn points_answer<R: Runtime>(
    app: &tauri::AppHandle<R>,
    query: &str,
) -> citizen_client::basemap::MapAnswer {
    let groups: Vec<MapGroup> = query
        .split('&')
        .filter_map(|pair| pair.strip_prefix("groups="))
        .flat_map(|list| list.split(','))
        .filter_map(|code| MapGroup::ALL.into_iter().find(|g| g.code() == code))
        .collect();
    let points = match app.try_state::<Shell>() {
        Some(shell) => shell.store.index().await,
        None => {
            return citizen_client::basemap::MapAnswer {
                status: 503,
                content_type: "text/plain; charset=utf-8",
                body: b"the store is not open yet".to_vec(),
            };
        }
    };
    let index = match points {
        Ok(index) => index,
        Err(error) => {
            tracing::error!(%error, "map points");
            return citizen_client::basemap::MapAnswer {
                status: 500,
                content_type: "text/plain; charset=utf-8",
                body: b"the store could not be read".to_vec(),
            };
        }
    };
    let body = views::points_geojson(index.points.iter().filter(|p| groups.contains(&p.group)));
    citizen_client::basemap::MapAnswer {
        status: 200,
        content_type: "application/geo+json",
        body: body.into_bytes(),
    }
}

/// Where distances are measured from now: the resident's position, else the city centre.
#[tauri::command]
pub async fn origin(shell: State<'_, Shell>) -> Answer<Option<Origin>> {
    shell.store.origin().await.map_err(storage)
}

/// The remembered device position.
#[tauri::command]
pub async fn device_position(shell: State<'_, Shell>) -> Answer<Option<DevicePosition>> {
    shell.store.device_position().await.map_err(storage)
}

/// Remembers `position` as the device's (set on the map, or from the platform), or forgets
/// it with `null`. Errors: `invalid_input` naming `lat` or `lon` when out of range.
#[tauri::command]
pub async fn set_device_position(
    shell: State<'_, Shell>,
    position: Option<Position>,
    source: Option<citizen_core::report::PositionSource>,
) -> Answer<()> {
    let position = match position {
        Some(p) => Some(DevicePosition {
            position: views::check_position(p)?,
            source: source.unwrap_or(citizen_core::report::PositionSource::Map),
            at_ms: citizen_client::syncer::now_ms(),
        }),
        None => None,
    };
    shell
        .store
        .set_device_position(position)
        .await
        .map_err(storage)
}

/// The `limit` (at most 200) places and hotspots nearest to where distances are measured
/// from, in the layers `groups` (all when empty), nearest first.
#[tauri::command]
pub async fn nearby(
    shell: State<'_, Shell>,
    groups: Vec<MapGroup>,
    limit: usize,
) -> Answer<Vec<Found>> {
    let Some(origin) = shell.store.origin().await.map_err(storage)? else {
        return Ok(Vec::new());
    };
    shell
        .store
        .nearby(origin.position, &groups, limit.min(200))
        .await
        .map_err(storage)
}

/// The street-level map's download, shared by the commands and the task that runs it.
pub struct StreetPacks {
    files: citizen_client::street_pack::StreetPackFiles,
    gateway: citizen_client::Gateway,
    gateway_url: String,
    basemap: Option<Arc<Basemap>>,
    status: Arc<std::sync::Mutex<StreetPackStatus>>,
    /// Tiles seen online, kept for offline use.
    cache: Option<citizen_client::tile_cache::TileCache>,
    /// The city pack's own tile source, if it names one.
    tile_source: Option<String>,
}

/// The translation key that says why a street pack download stopped.
fn problem_key(error: &citizen_client::street_pack::StreetPackError) -> &'static str {
    use citizen_client::street_pack::StreetPackError as E;
    match error {
        E::Gateway(_) => "street-problem-offline",
        E::Io(e) if e.kind() == std::io::ErrorKind::StorageFull => "street-problem-full",
        E::Io(_) => "street-problem-storage",
        E::Checksum { .. } | E::NotPmtiles(_) => "street-problem-damaged",
    }
}

impl StreetPacks {
    /// Uses the installed pack, if any, resumes a download a restart interrupted, and caches
    /// the tiles of the online source (the city pack's `tile_source`, else the gateway's
    /// street pack) as the map shows them, up to `cache_bytes`.
    pub fn start(
        maps_dir: &std::path::Path,
        gateway_url: &str,
        basemap: Option<Arc<Basemap>>,
        tile_source: Option<String>,
        cache_bytes: u64,
    ) -> Arc<StreetPacks> {
        let cache = tauri::async_runtime::block_on(citizen_client::tile_cache::TileCache::open(
            &maps_dir.join("tiles.db"),
            cache_bytes,
        ));
        let cache = match cache {
            Ok(cache) => Some(cache),
            Err(error) => {
                tracing::error!(%error, "no tile cache: tiles seen online are not kept");
                None
            }
        };
        let packs = Arc::new(StreetPacks {
            files: citizen_client::street_pack::StreetPackFiles::new(maps_dir),
            gateway: citizen_client::Gateway::new(gateway_url),
            gateway_url: gateway_url.trim_end_matches('/').to_owned(),
            basemap,
            status: Arc::default(),
            cache,
            tile_source,
        });
        if let Some(source) = packs.tile_source.clone() {
            tauri::async_runtime::block_on(packs.use_online(&source));
        }
        if let Some(path) = packs.files.installed() {
            let packs = packs.clone();
            tauri::async_runtime::block_on(async move {
                match citizen_client::basemap::TilePack::open(&path).await {
                    Ok(pack) => {
                        if let Some(map) = &packs.basemap {
                            map.set_streets(Some(pack)).await;
                        }
                        packs.set(|s| s.installed = true);
                    }
                    Err(error) => {
                        tracing::error!(%error, "the installed street pack is unreadable")
                    }
                }
            });
        } else if let Some((offer, done)) = packs.files.partial() {
            packs.set(|s| {
                s.done = done;
                s.total = offer.bytes;
            });
            tracing::info!(
                done,
                total = offer.bytes,
                "street pack download interrupted: resuming"
            );
            packs.clone().spawn_download();
        } else if packs.tile_source.is_none() {
            // Whether the gateway has street tiles to cache as the resident looks around.
            let packs = packs.clone();
            tauri::async_runtime::spawn(async move {
                packs.refresh_offer().await;
            });
        }
        packs
    }

    /// Reads tiles from `template` through the cache while no street pack is installed.
    async fn use_online(&self, template: &str) {
        if let (Some(map), Some(cache)) = (&self.basemap, &self.cache) {
            let online = citizen_client::tile_cache::OnlineTiles::new(template, cache.clone());
            map.set_online(Some(online)).await;
            tracing::info!(
                source = template,
                "tiles seen online are kept for offline use"
            );
        }
    }

    fn set(&self, change: impl FnOnce(&mut StreetPackStatus)) {
        if let Ok(mut status) = self.status.lock() {
            change(&mut status);
        }
    }

    fn status(&self) -> StreetPackStatus {
        self.status.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Asks the gateway what it offers now; an unreachable gateway leaves the last answer.
    async fn refresh_offer(&self) -> Option<StreetPackOffer> {
        match self.gateway.street_pack_offer().await {
            Ok(offer) => {
                let had = self.status().offer.is_some();
                self.set(|s| s.offer = offer.clone());
                if offer.is_some() && !had && self.tile_source.is_none() {
                    let template = format!(
                        "{}/api/v1/map/tiles/{{z}}/{{x}}/{{y}}.mvt",
                        self.gateway_url
                    );
                    self.use_online(&template).await;
                }
                offer
            }
            Err(error) => {
                tracing::info!(%error, "street pack offer: gateway not reached");
                self.status().offer
            }
        }
    }

    /// Starts the download in the background unless one runs.
    fn spawn_download(self: Arc<Self>) {
        let mut already = false;
        self.set(|s| {
            already = s.downloading;
            s.downloading = true;
            s.problem = None;
        });
        if already {
            return;
        }
        tauri::async_runtime::spawn(async move {
            let Some(offer) = self.refresh_offer().await else {
                self.set(|s| {
                    s.downloading = false;
                    s.problem = Some("street-problem-offline".into());
                });
                return;
            };
            let status = self.status.clone();
            let outcome = self
                .files
                .download(&self.gateway, &offer, |done, total| {
                    if let Ok(mut s) = status.lock() {
                        s.done = done;
                        s.total = total;
                    }
                })
                .await;
            let opened = match outcome {
                Ok(path) => citizen_client::basemap::TilePack::open(&path)
                    .await
                    .map_err(|e| {
                        citizen_client::street_pack::StreetPackError::NotPmtiles(e.to_string())
                    }),
                Err(e) => Err(e),
            };
            match opened {
                Ok(pack) => {
                    if let Some(map) = &self.basemap {
                        map.set_streets(Some(pack)).await;
                    }
                    self.set(|s| {
                        s.installed = true;
                        s.downloading = false;
                    });
                }
                Err(error) => {
                    tracing::warn!(%error, "street pack download stopped");
                    self.set(|s| {
                        s.downloading = false;
                        s.problem = Some(problem_key(&error).into());
                    });
                }
            }
        });
    }
}

/// Where the street-level map stands; with `refresh`, the gateway is asked what it offers.
#[tauri::command]
pub async fn street_pack_status(
    packs: State<'_, Arc<StreetPacks>>,
    refresh: bool,
) -> Answer<StreetPackStatus> {
    let status = packs.status();
    if refresh && !status.installed && !status.downloading {
        packs.refresh_offer().await;
    }
    Ok(packs.status())
}

/// Downloads the street-level map in the background (resuming what is here); progress shows
/// in [`street_pack_status`].
#[tauri::command]
pub fn download_street_pack(packs: State<'_, Arc<StreetPacks>>) {
    packs.inner().clone().spawn_download();
}
