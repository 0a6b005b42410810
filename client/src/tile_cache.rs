//! Tiles seen online, kept for offline use: a bounded cache on the device (least recently
//! used out first), filled only with the tiles the resident's map asked for — never a bulk
//! download from a tile server.
//!
//! The cache is its own SQLite file (`<data dir>/maps/tiles.db`), apart from the resident's
//! store, so that dropping it never touches reports or settings. Table `tiles`: the tile
//! source (its URL template), `z`, `x`, `y`, the uncompressed tile, its size in bytes, and
//! when it was last used (ms since the epoch).

use std::path::Path;
use std::str::FromStr as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use sqlx::Row as _;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};

/// The cache's size limit unless configured: 64 MB, about a city's worth of street tiles
/// at the zooms people look at.
pub const DEFAULT_MAX_BYTES: u64 = 64 * 1024 * 1024;

/// A bounded, least-recently-used store of tiles.
#[derive(Clone)]
pub struct TileCache {
    pool: SqlitePool,
    max_bytes: u64,
    /// Bytes of tile data held now; exact, since writes take turns (`writing`).
    held: Arc<AtomicU64>,
    writing: Arc<tokio::sync::Mutex<()>>,
}

impl TileCache {
    /// Opens (creating) the cache at `path`, holding at most `max_bytes` of tiles.
    pub async fn open(path: &Path, max_bytes: u64) -> Result<TileCache, sqlx::Error> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(Duration::from_secs(5));
        let pool = SqlitePoolOptions::new()
            .max_connections(2)
            .connect_with(options)
            .await?;
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS tiles (
                source TEXT NOT NULL, z INTEGER NOT NULL, x INTEGER NOT NULL, y INTEGER NOT NULL,
                data BLOB NOT NULL, bytes INTEGER NOT NULL, used_ms INTEGER NOT NULL,
                PRIMARY KEY (source, z, x, y))",
        )
        .execute(&pool)
        .await?;
        sqlx::query("CREATE INDEX IF NOT EXISTS tiles_used ON tiles (used_ms)")
            .execute(&pool)
            .await?;
        let held: i64 = sqlx::query_scalar("SELECT COALESCE(SUM(bytes), 0) FROM tiles")
            .fetch_one(&pool)
            .await?;
        let cache = TileCache {
            pool,
            max_bytes,
            held: Arc::new(AtomicU64::new(u64::try_from(held).unwrap_or(0))),
            writing: Arc::default(),
        };
        // A smaller limit than last time takes effect at once.
        {
            let _turn = cache.writing.lock().await;
            cache.evict().await?;
        }
        Ok(cache)
    }

    /// The tile, if held; its use is recorded.
    pub async fn get(
        &self,
        source: &str,
        (z, x, y): (u8, u32, u32),
        now_ms: i64,
    ) -> Result<Option<Vec<u8>>, sqlx::Error> {
        let row = sqlx::query(
            "UPDATE tiles SET used_ms = ? WHERE source = ? AND z = ? AND x = ? AND y = ? \
             RETURNING data",
        )
        .bind(now_ms)
        .bind(source)
        .bind(i64::from(z))
        .bind(i64::from(x))
        .bind(i64::from(y))
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| r.get(0)))
    }

    /// Keeps a tile, then drops the least recently used ones beyond the limit.
    pub async fn put(
        &self,
        source: &str,
        (z, x, y): (u8, u32, u32),
        data: &[u8],
        now_ms: i64,
    ) -> Result<(), sqlx::Error> {
        let _turn = self.writing.lock().await;
        let mut tx = self.pool.begin().await?;
        let old: Option<i64> = sqlx::query_scalar(
            "SELECT bytes FROM tiles WHERE source = ? AND z = ? AND x = ? AND y = ?",
        )
        .bind(source)
        .bind(i64::from(z))
        .bind(i64::from(x))
        .bind(i64::from(y))
        .fetch_optional(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT OR REPLACE INTO tiles (source, z, x, y, data, bytes, used_ms) \
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(source)
        .bind(i64::from(z))
        .bind(i64::from(x))
        .bind(i64::from(y))
        .bind(data)
        .bind(data.len() as i64)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.held.fetch_add(data.len() as u64, Ordering::SeqCst);
        if let Some(old) = old {
            self.held
                .fetch_sub(u64::try_from(old).unwrap_or(0), Ordering::SeqCst);
        }
        self.evict().await
    }

    /// Bytes of tiles held now.
    pub fn held_bytes(&self) -> u64 {
        self.held.load(Ordering::SeqCst)
    }

    /// Drops the least recently used tiles, just enough of them to be within the limit. The
    /// caller holds `writing`.
    async fn evict(&self) -> Result<(), sqlx::Error> {
        let held = self.held.load(Ordering::SeqCst);
        if held <= self.max_bytes {
            return Ok(());
        }
        let excess = i64::try_from(held - self.max_bytes).unwrap_or(i64::MAX);
        let freed: Vec<i64> = sqlx::query_scalar(
            "DELETE FROM tiles WHERE rowid IN (
                SELECT rowid FROM (
                    SELECT rowid, bytes,
                           SUM(bytes) OVER (ORDER BY used_ms, rowid ROWS UNBOUNDED PRECEDING) AS run
                    FROM tiles)
                WHERE run - bytes < ?)
             RETURNING bytes",
        )
        .bind(excess)
        .fetch_all(&self.pool)
        .await?;
        let sum: i64 = freed.iter().sum();
        self.held
            .fetch_sub(u64::try_from(sum).unwrap_or(0).min(held), Ordering::SeqCst);
        Ok(())
    }
}

/// An online tile source (`https://…/{z}/{x}/{y}…`) read through the cache: a tile is fetched
/// only when the map asks for it, and kept. After a failed fetch the source is left alone
/// for [`OFFLINE_PAUSE`], so an offline map does not wait on the network for every tile.
pub struct OnlineTiles {
    template: String,
    http: reqwest::Client,
    cache: TileCache,
    /// ms since the epoch before which the source is not asked.
    paused_until_ms: AtomicI64,
}

/// How long a source that failed is left alone.
pub const OFFLINE_PAUSE: Duration = Duration::from_secs(30);

impl OnlineTiles {
    /// Tiles from `template` (with `{z}`, `{x}`, `{y}`), kept in `cache`.
    pub fn new(template: &str, cache: TileCache) -> OnlineTiles {
        OnlineTiles {
            template: template.to_owned(),
            http: reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(3))
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap_or_default(),
            cache,
            paused_until_ms: AtomicI64::new(0),
        }
    }

    /// The tile from the cache, else from the source (then kept); `None` when neither has
    /// it or the source cannot be reached.
    pub async fn tile(&self, z: u8, x: u32, y: u32, now_ms: i64) -> Option<Vec<u8>> {
        match self.cache.get(&self.template, (z, x, y), now_ms).await {
            Ok(Some(tile)) => return Some(tile),
            Ok(None) => {}
            Err(error) => tracing::warn!(%error, "tile cache unreadable"),
        }
        if now_ms < self.paused_until_ms.load(Ordering::SeqCst) {
            return None;
        }
        let url = self
            .template
            .replace("{z}", &z.to_string())
            .replace("{x}", &x.to_string())
            .replace("{y}", &y.to_string());
        let answer = match self.http.get(&url).send().await {
            Ok(answer) => answer,
            Err(error) => {
                tracing::info!(%error, "tile source unreachable: offline tiles only for a while");
                self.paused_until_ms
                    .store(now_ms + OFFLINE_PAUSE.as_millis() as i64, Ordering::SeqCst);
                return None;
            }
        };
        if answer.status() != reqwest::StatusCode::OK {
            return None;
        }
        // A tile larger than any real one is refused, compressed or not.
        let mut answer = answer;
        let mut bytes = Vec::new();
        while let Some(piece) = answer.chunk().await.ok()? {
            if bytes.len() + piece.len() > MAX_TILE_BYTES {
                tracing::warn!(url, "tile over {MAX_TILE_BYTES} bytes refused");
                return None;
            }
            bytes.extend_from_slice(&piece);
        }
        let tile = gunzip_if_needed(&bytes)?;
        if let Err(error) = self
            .cache
            .put(&self.template, (z, x, y), &tile, now_ms)
            .await
        {
            tracing::warn!(%error, "tile not kept for offline use");
        }
        Some(tile)
    }
}

/// The largest tile taken from a source, before or after decompression: 2 MB. Protomaps'
/// own limit for a vector tile is 500 KB; more is a broken or hostile server.
pub const MAX_TILE_BYTES: usize = 2 * 1024 * 1024;

/// Vector tiles are often served gzip-compressed without saying so in the headers.
fn gunzip_if_needed(bytes: &[u8]) -> Option<Vec<u8>> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        use std::io::Read as _;
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(bytes)
            .take(MAX_TILE_BYTES as u64 + 1)
            .read_to_end(&mut out)
            .ok()?;
        (out.len() <= MAX_TILE_BYTES).then_some(out)
    } else {
        Some(bytes.to_vec())
    }
}
