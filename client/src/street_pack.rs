//! The city's street-level map on the device: downloaded from the gateway on the resident's
//! request, resumed after a broken link or a restart, checked against the gateway's SHA-256
//! and PMTiles header, and only then put in use.
//!
//! Files in the maps folder (`<data dir>/maps`):
//! - `streets.pmtiles` and `streets.json` (the offer it came from): the installed pack;
//! - `streets.pmtiles.part` and `streets.part.json`: a download under way; the bytes so far,
//!   and the offer they belong to (a new offer on the gateway starts the download afresh).

use std::path::{Path, PathBuf};

use citizen_core::views::StreetPackOffer;
use sha2::{Digest as _, Sha256};

use crate::basemap::TilePack;
use crate::gateway::{DownloadError, Gateway, GatewayError};

const FILE: &str = "streets.pmtiles";
const META: &str = "streets.json";
const PART: &str = "streets.pmtiles.part";
const PART_META: &str = "streets.part.json";

#[derive(Debug, thiserror::Error)]
pub enum StreetPackError {
    #[error("{0}")]
    Gateway(#[from] GatewayError),
    #[error("street pack file: {0}")]
    Io(#[from] std::io::Error),
    /// The bytes arrived but are not the file offered; they were thrown away.
    #[error(
        "the download does not match the gateway's checksum (expected {expected}, got {got}): downloaded again on the next try"
    )]
    Checksum { expected: String, got: String },
    /// The bytes match, but are not a PMTiles v3 file.
    #[error("the street pack is not a readable PMTiles file: {0}")]
    NotPmtiles(String),
}

/// The street pack's files in one folder.
#[derive(Debug, Clone)]
pub struct StreetPackFiles {
    dir: PathBuf,
}

impl StreetPackFiles {
    /// The maps folder `dir` (created on first download).
    pub fn new(dir: &Path) -> StreetPackFiles {
        StreetPackFiles {
            dir: dir.to_owned(),
        }
    }

    /// The installed pack's file, if there is one.
    pub fn installed(&self) -> Option<PathBuf> {
        let path = self.dir.join(FILE);
        path.exists().then_some(path)
    }

    /// The offer a download under way belongs to, and the bytes it has so far.
    pub fn partial(&self) -> Option<(StreetPackOffer, u64)> {
        let meta = std::fs::read(self.dir.join(PART_META)).ok()?;
        let offer = serde_json::from_slice(&meta).ok()?;
        let done = std::fs::metadata(self.dir.join(PART)).map_or(0, |m| m.len());
        Some((offer, done))
    }

    /// Downloads `offer` from `gateway` (resuming bytes already here for the same offer),
    /// checks it, installs it and returns the installed file. `on_progress(done, total)`
    /// hears each piece. On an error the bytes so far stay for the next try, except after a
    /// checksum mismatch.
    pub async fn download(
        &self,
        gateway: &Gateway,
        offer: &StreetPackOffer,
        mut on_progress: impl FnMut(u64, u64),
    ) -> Result<PathBuf, StreetPackError> {
        std::fs::create_dir_all(&self.dir)?;
        let part = self.dir.join(PART);
        let from = match self.partial() {
            Some((same, done)) if same == *offer && done <= offer.bytes => done,
            _ => {
                let _ = std::fs::remove_file(&part);
                let meta = serde_json::to_vec(offer).map_err(std::io::Error::other)?;
                write_synced(&self.dir.join(PART_META), &meta)?;
                0
            }
        };
        on_progress(from, offer.bytes);
        if from < offer.bytes {
            let mut file = tokio::fs::OpenOptions::new()
                .create(true)
                .write(true)
                .truncate(false)
                .open(&part)
                .await?;
            if from > 0 {
                tracing::info!(
                    from,
                    total = offer.bytes,
                    "street pack: resuming the download"
                );
            }
            gateway
                .download(&offer.url, from, offer.bytes, &mut file, |done| {
                    on_progress(done, offer.bytes);
                })
                .await
                .map_err(|e| match e {
                    DownloadError::Gateway(e) => StreetPackError::Gateway(e),
                    DownloadError::Write(e) => StreetPackError::Io(e),
                })?;
        }
        let got = sha256_of(&part).await?;
        if got != offer.sha256 {
            let _ = std::fs::remove_file(&part);
            let _ = std::fs::remove_file(self.dir.join(PART_META));
            return Err(StreetPackError::Checksum {
                expected: offer.sha256.clone(),
                got,
            });
        }
        TilePack::open(&part)
            .await
            .map_err(|e| StreetPackError::NotPmtiles(e.to_string()))?;
        let installed = self.dir.join(FILE);
        std::fs::rename(&part, &installed)?;
        let meta = serde_json::to_vec(offer).map_err(std::io::Error::other)?;
        write_synced(&self.dir.join(META), &meta)?;
        let _ = std::fs::remove_file(self.dir.join(PART_META));
        tracing::info!(bytes = offer.bytes, "street pack installed");
        Ok(installed)
    }
}

/// Writes `bytes` to `path` and flushes them to the disk.
fn write_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut file = std::fs::File::create(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// The SHA-256 of a file, lower-case hex, read off the async runtime's threads.
async fn sha256_of(path: &Path) -> std::io::Result<String> {
    let path = path.to_owned();
    tokio::task::spawn_blocking(move || {
        use std::io::Read as _;
        let mut file = std::fs::File::open(&path)?;
        let mut hasher = Sha256::new();
        let mut buffer = vec![0_u8; 1 << 16];
        loop {
            let n = file.read(&mut buffer)?;
            if n == 0 {
                break;
            }
            hasher.update(&buffer[..n]);
        }
        Ok(hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect())
    })
    .await
    .map_err(std::io::Error::other)?
}
