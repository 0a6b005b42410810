//! The offline basemap the app's map draws: answers the map's requests for its style, vector
//! tiles and label glyphs from files on the device, through the app's `map:` URL scheme.
//!
//! Files (built by `cargo xtask setup`, bundled with the app):
//! - `coarse.pmtiles`: the bundled coarse pack (PMTiles v3, Protomaps' basemap schema);
//! - `style/{light,dark}.json`: `{ "water", "earth", "layers": [MapLibre style layers] }`;
//! - `fonts/<font stack>/<start>-<end>.pbf`: SDF glyph ranges of 256 code points;
//! - `licences/`: the licence texts shown on the map's credits.
//!
//! A downloaded street pack, when present, answers first for the tiles it holds.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use pmtiles::{AsyncPmTilesReader, MmapBackend, TileCoord};
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::RwLock;

/// What went wrong opening the basemap.
#[derive(Debug, thiserror::Error)]
pub enum BasemapError {
    /// A file of the basemap is missing or unreadable.
    #[error("basemap file {path}: {source}")]
    File {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A tile pack cannot be read as PMTiles v3.
    #[error("tile pack {path}: {message}")]
    Pack { path: PathBuf, message: String },
}

/// A PMTiles file opened for reading, with the zooms and area it covers.
pub struct TilePack {
    reader: AsyncPmTilesReader<MmapBackend>,
    /// Lowest and highest zoom with tiles.
    pub zooms: (u8, u8),
    /// West, south, east, north in degrees.
    pub bounds: [f64; 4],
}

impl TilePack {
    /// Opens a PMTiles v3 file; fails with [`BasemapError::Pack`] when it is not one.
    pub async fn open(path: &Path) -> Result<TilePack, BasemapError> {
        let pack_error = |message: String| BasemapError::Pack {
            path: path.to_owned(),
            message,
        };
        let reader = AsyncPmTilesReader::new_with_path(path)
            .await
            .map_err(|e| pack_error(e.to_string()))?;
        let header = reader.get_header();
        let zooms = (header.min_zoom, header.max_zoom);
        let bounds = [
            header.min_longitude,
            header.min_latitude,
            header.max_longitude,
            header.max_latitude,
        ];
        Ok(TilePack {
            reader,
            zooms,
            bounds,
        })
    }

    /// The tile `z/x/y` as an uncompressed Mapbox Vector Tile, or `None` where the pack has
    /// none.
    pub async fn tile(&self, z: u8, x: u32, y: u32) -> Option<Vec<u8>> {
        let coord = TileCoord::new(z, x, y).ok()?;
        match self.reader.get_tile_decompressed(coord).await {
            Ok(tile) => tile.map(|b| b.to_vec()),
            Err(error) => {
                tracing::warn!(%error, z, x, y, "unreadable tile");
                None
            }
        }
    }
}

/// The colour scheme of the map's style.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    Light,
    Dark,
}

impl Flavor {
    fn file(self) -> &'static str {
        match self {
            Flavor::Light => "light.json",
            Flavor::Dark => "dark.json",
        }
    }
}

/// An answer to one request of the map.
#[derive(Debug, Clone, PartialEq)]
pub struct MapAnswer {
    /// HTTP status: 200, 204 (no tile there), 400 or 404.
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

impl MapAnswer {
    fn ok(content_type: &'static str, body: Vec<u8>) -> MapAnswer {
        MapAnswer {
            status: 200,
            content_type,
            body,
        }
    }

    fn status(status: u16, text: &str) -> MapAnswer {
        MapAnswer {
            status,
            content_type: "text/plain; charset=utf-8",
            body: text.as_bytes().to_vec(),
        }
    }
}

/// What the map screen shows about the map it draws.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MapInfo {
    /// True while no street pack is installed: only the coarse pack is drawn.
    pub coarse: bool,
    /// West, south, east, north in degrees: the area the packs cover.
    pub bounds: [f64; 4],
    /// Highest zoom with tiles (the map overzooms past it).
    pub max_zoom: u8,
}

/// The basemap's files and packs.
pub struct Basemap {
    dir: PathBuf,
    coarse: TilePack,
    streets: RwLock<Option<Arc<TilePack>>>,
    online: RwLock<Option<Arc<crate::tile_cache::OnlineTiles>>>,
}

/// The credit line the map shows: every source of the drawn data.
pub const ATTRIBUTION: &str = "© OpenStreetMap contributors · Shorelines: GSHHG 2.3.7 © Wessel & Smith (LGPL-3+) · Natural Earth · Protomaps";

impl Basemap {
    /// Opens the basemap in `dir` (see the module's file list).
    pub async fn open(dir: &Path) -> Result<Basemap, BasemapError> {
        let coarse = TilePack::open(&dir.join("coarse.pmtiles")).await?;
        for flavor in [Flavor::Light, Flavor::Dark] {
            let path = dir.join("style").join(flavor.file());
            if let Err(source) = std::fs::metadata(&path) {
                return Err(BasemapError::File { path, source });
            }
        }
        Ok(Basemap {
            dir: dir.to_owned(),
            coarse,
            streets: RwLock::new(None),
            online: RwLock::new(None),
        })
    }

    /// Uses `pack` before the coarse pack for every tile it holds.
    pub async fn set_streets(&self, pack: Option<TilePack>) {
        *self.streets.write().await = pack.map(Arc::new);
    }

    /// Uses `source`'s tiles (through its cache) where no street pack is installed, before
    /// the coarse pack; `None` stops asking it.
    pub async fn set_online(&self, source: Option<crate::tile_cache::OnlineTiles>) {
        *self.online.write().await = source.map(Arc::new);
    }

    /// Which packs are drawn.
    pub async fn info(&self) -> MapInfo {
        let streets = self.streets.read().await.clone();
        let max_zoom = streets
            .as_ref()
            .map_or(self.coarse.zooms.1, |s| s.zooms.1.max(self.coarse.zooms.1));
        MapInfo {
            coarse: streets.is_none(),
            bounds: self.coarse.bounds,
            max_zoom,
        }
    }

    /// The answer to `path` (the URL's path, e.g. `/tiles/12/3278/1918.mvt`) on the scheme's
    /// `origin` (e.g. `map://localhost`), which the style's URLs are made from:
    /// - `/style/light.json`, `/style/dark.json`: a whole MapLibre style (version 8);
    /// - `/tiles/{z}/{x}/{y}.mvt`: a vector tile, 204 where no pack has one;
    /// - `/fonts/{stack}/{start}-{end}.pbf`: glyphs, empty where the font has none;
    /// - `/sprites/sprite{,@2x}.{json,png}`: the style's icons;
    /// - anything else: 404.
    pub async fn answer(&self, origin: &str, path: &str) -> MapAnswer {
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        match parts.as_slice() {
            ["style", file] => match *file {
                "light.json" => self.style(origin, Flavor::Light).await,
                "dark.json" => self.style(origin, Flavor::Dark).await,
                _ => MapAnswer::status(404, "no such style"),
            },
            ["tiles", z, x, y] => {
                let coord = (
                    z.parse::<u8>(),
                    x.parse::<u32>(),
                    y.trim_end_matches(".mvt").parse::<u32>(),
                );
                let (Ok(z), Ok(x), Ok(y)) = coord else {
                    return MapAnswer::status(400, "tile path is /tiles/{z}/{x}/{y}.mvt");
                };
                match self.tile(z, x, y).await {
                    Some(tile) => MapAnswer::ok("application/x-protobuf", tile),
                    None => MapAnswer::status(204, ""),
                }
            }
            ["fonts", stack, range] => self.glyphs(stack, range),
            ["sprites", file] => self.sprite(file),
            _ => MapAnswer::status(404, "not a map resource"),
        }
    }

    /// The tile from the street pack where it has one, else from the online source (or
    /// its cache), else from the coarse pack.
    pub async fn tile(&self, z: u8, x: u32, y: u32) -> Option<Vec<u8>> {
        let streets = self.streets.read().await.clone();
        // Taken out of the lock: a fetch may take seconds, a new source must not wait on it.
        let online = self.online.read().await.clone();
        if let Some(streets) = streets {
            if let Some(tile) = streets.tile(z, x, y).await {
                return Some(tile);
            }
        } else if let Some(online) = online
            && let Some(tile) = online.tile(z, x, y, crate::syncer::now_ms()).await
        {
            return Some(tile);
        }
        self.coarse.tile(z, x, y).await
    }

    async fn style(&self, origin: &str, flavor: Flavor) -> MapAnswer {
        let path = self.dir.join("style").join(flavor.file());
        let Ok(text) = std::fs::read(&path) else {
            return MapAnswer::status(404, "style missing");
        };
        let Ok(mut base) = serde_json::from_slice::<Value>(&text) else {
            return MapAnswer::status(404, "style unreadable");
        };
        let info = self.info().await;
        let style = json!({
            "version": 8,
            "name": "citizen basemap",
            "glyphs": format!("{origin}/fonts/{{fontstack}}/{{range}}.pbf"),
            "sprite": format!("{origin}/sprites/sprite"),
            "sources": {
                "basemap": {
                    "type": "vector",
                    "tiles": [format!("{origin}/tiles/{{z}}/{{x}}/{{y}}.mvt")],
                    "minzoom": 0,
                    "maxzoom": info.max_zoom,
                    "bounds": info.bounds,
                    "attribution": ATTRIBUTION,
                }
            },
            "metadata": {"citizen:water": base["water"], "citizen:earth": base["earth"]},
            "layers": base["layers"].take(),
        });
        MapAnswer::ok("application/json", style.to_string().into_bytes())
    }

    /// The sprite's index and image, at 1× and 2× (`sprite.json`, `sprite@2x.png` …).
    fn sprite(&self, file: &str) -> MapAnswer {
        let content_type = match file {
            "sprite.json" | "sprite@2x.json" => "application/json",
            "sprite.png" | "sprite@2x.png" => "image/png",
            _ => return MapAnswer::status(404, "no such sprite file"),
        };
        match std::fs::read(self.dir.join("sprites").join(file)) {
            Ok(bytes) => MapAnswer::ok(content_type, bytes),
            Err(_) => MapAnswer::status(404, "sprite missing"),
        }
    }

    /// Glyph ranges: `stack` may list fonts separated by commas; the first that has the
    /// range answers.
    fn glyphs(&self, stack: &str, range: &str) -> MapAnswer {
        let stack = percent_encoding::percent_decode_str(stack).decode_utf8_lossy();
        let range_ok = range
            .strip_suffix(".pbf")
            .and_then(|r| r.split_once('-'))
            .is_some_and(|(a, b)| a.parse::<u32>().is_ok() && b.parse::<u32>().is_ok());
        if !range_ok {
            return MapAnswer::status(400, "glyph path is /fonts/{stack}/{start}-{end}.pbf");
        }
        for font in stack.split(',').map(str::trim) {
            if !is_plain_name(font) {
                return MapAnswer::status(400, "bad font name");
            }
            if let Ok(bytes) = std::fs::read(self.dir.join("fonts").join(font).join(range)) {
                return MapAnswer::ok("application/x-protobuf", bytes);
            }
        }
        // A range no font covers is an empty set of glyphs, not an error.
        MapAnswer::ok("application/x-protobuf", Vec::new())
    }
}

/// A single path segment: no separators, no `..`.
fn is_plain_name(name: &str) -> bool {
    let mut components = Path::new(name).components();
    matches!(components.next(), Some(Component::Normal(_))) && components.next().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn font_names_stay_inside_the_fonts_folder() {
        assert!(is_plain_name("Noto Sans Regular"));
        assert!(!is_plain_name(".."));
        assert!(!is_plain_name("../../etc"));
        assert!(!is_plain_name("/etc"));
        assert!(!is_plain_name(""));
    }
}
