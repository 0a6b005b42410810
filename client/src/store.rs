//! The local store: one SQLite file (WAL) holding the city's reference data, readings, the
//! sync cursor and the user's settings. Every write is one transaction.

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use citizen_core::views::{self, HotspotNear, LatestValue, Overview, StationStatus};
use citizen_core::{ChangeOp, Record, ReportCategory};
use citizen_core::{
    CityInfo, CityPack, Entity, EntityKind, Hotspot, Lang, Place, PlaceKind, Position, Procedure,
    Reading, Station, SyncPage,
};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use sqlx::{Row, Sqlite, Transaction};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("stored record {kind}/{id} is unreadable: {source}")]
    Corrupt {
        kind: String,
        id: String,
        source: serde_json::Error,
    },
    #[error("the page starts at cursor {page_since} but the store is at {stored}")]
    CursorMoved { page_since: i64, stored: i64 },
    /// The gateway serves another city than this app's: nothing of its feed is kept.
    #[error("the gateway serves the city {served:?}, not {expected:?}: check the gateway address")]
    OtherCity { expected: String, served: String },
    #[error("{0}")]
    Encode(#[from] serde_json::Error),
    #[error("{0}")]
    Invalid(citizen_core::report::FieldError),
    #[error("not found: {0}")]
    NotFound(String),
    /// SQLite's integrity check found the file damaged; what it said.
    #[error("the store file is damaged: {0}")]
    Damaged(String),
    #[error("{0}")]
    Io(std::io::Error),
}

impl StoreError {
    /// Whether the device's storage is full (`SQLITE_FULL`, result code 13, or the system's
    /// `ENOSPC`).
    pub fn is_full(&self) -> bool {
        match self {
            StoreError::Database(e)
            | StoreError::Migration(
                sqlx::migrate::MigrateError::Execute(e)
                | sqlx::migrate::MigrateError::ExecuteMigration(e, _),
            ) => {
                e.as_database_error()
                    .and_then(|d| d.code())
                    .and_then(|c| c.parse::<i32>().ok())
                    .is_some_and(|c| c & 0xff == 13)
                    || matches!(e, sqlx::Error::Io(io) if io.kind() == std::io::ErrorKind::StorageFull)
            }
            StoreError::Io(io) => io.kind() == std::io::ErrorKind::StorageFull,
            _ => false,
        }
    }
}

/// What storing a page of the feed did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageApplied {
    /// The page is stored and the cursor moved on.
    Stored,
    /// The feed's history is not the one the store followed (the gateway went back to a
    /// backup, or is another database): nothing of the page was kept, and the feed is to be
    /// read again from its start.
    HistoryChanged,
}

/// What the store remembers of the last syncs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncRecord {
    pub cursor: i64,
    pub last_success_ms: Option<i64>,
    pub offline_since_ms: Option<i64>,
    pub last_error: Option<String>,
    pub data_version: i64,
    /// The gateway's clock minus this device's, in ms, at the last sync that measured it.
    pub clock_offset_ms: Option<i64>,
    /// What kept the last sync from the gateway; none after a success.
    pub last_problem: Option<citizen_core::views::SyncProblem>,
}

#[derive(Clone)]
pub struct Store {
    pool: SqlitePool,
    /// Since when (ms since the epoch) the device's storage has been full, as last seen by a
    /// failed write; 0 when not. Kept in memory: a full store cannot record it.
    full_since: Arc<AtomicI64>,
    /// The search and nearest indexes of the last data version asked for.
    index: Arc<tokio::sync::Mutex<Option<Arc<crate::index::CityIndex>>>>,
}

const LANG_KEY: &str = "lang";
const POSITION_KEY: &str = "device_position";

impl Store {
    /// Opens (creating if needed) the store at `path` and brings its schema up to date.
    pub async fn open(path: &Path) -> Result<Store, StoreError> {
        let options = SqliteConnectOptions::from_str("sqlite://")?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(sqlx::sqlite::SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(5))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            // A write that failed on a full disk can leave SQLite's transaction open while
            // sqlx counts it closed (or the reverse). Reused, such a connection holds the
            // write lock and every other write fails with "database is locked" until the app
            // restarts; it is closed instead, and a fresh one opened when needed.
            .after_release(|conn, _| {
                Box::pin(async move {
                    let open_in_sqlite = sqlx::query("BEGIN").execute(&mut *conn).await.is_err();
                    if open_in_sqlite {
                        tracing::warn!("a store connection was left in a transaction: closed");
                        return Ok(false);
                    }
                    sqlx::query("ROLLBACK").execute(&mut *conn).await?;
                    Ok(!sqlx::Connection::is_in_transaction(conn))
                })
            })
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        Ok(Store {
            pool,
            full_since: Arc::new(AtomicI64::new(0)),
            index: Arc::default(),
        })
    }

    /// Opens the store at `path` and checks that SQLite can read all of it (`PRAGMA
    /// quick_check`). Errors: [`StoreError::Damaged`] when the check finds damage, or SQLite's
    /// own error (see [`crate::salvage::is_damage`]).
    pub async fn open_checked(path: &Path) -> Result<Store, StoreError> {
        let store = Store::open(path).await?;
        let started = std::time::Instant::now();
        let found: Vec<String> = sqlx::query_scalar("PRAGMA quick_check")
            .fetch_all(&store.pool)
            .await?;
        tracing::debug!(ms = started.elapsed().as_millis() as u64, "store checked");
        if found.len() != 1 || found[0] != "ok" {
            store.pool.close().await;
            return Err(StoreError::Damaged(found.join("; ")));
        }
        Ok(store)
    }

    /// Notes what was salvaged from a damaged store, for the resident to be told once.
    pub async fn record_salvage(
        &self,
        salvaged: &crate::salvage::Salvaged,
    ) -> Result<(), StoreError> {
        sqlx::query("INSERT OR REPLACE INTO settings (key, value) VALUES ('store_salvaged', ?)")
            .bind(serde_json::to_string(salvaged)?)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// What was salvaged from a damaged store, if the resident has not been told yet; told
    /// once.
    pub async fn take_salvage(&self) -> Result<Option<crate::salvage::Salvaged>, StoreError> {
        let value: Option<String> =
            sqlx::query_scalar("DELETE FROM settings WHERE key = 'store_salvaged' RETURNING value")
                .fetch_optional(&self.pool)
                .await?;
        Ok(value.and_then(|v| serde_json::from_str(&v).ok()))
    }

    /// On the first start (or when the bundled pack is newer), stores the bundled city pack so
    /// every screen has data before any network. Returns whether anything was written.
    pub async fn bootstrap(&self, pack: &CityPack) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query("SELECT pack_id, pack_version FROM sync_state WHERE id = 1")
            .fetch_one(&mut *tx)
            .await?;
        let stored: (Option<String>, Option<String>) = (row.get(0), row.get(1));
        if stored == (Some(pack.city.id.clone()), Some(pack.city.version.clone())) {
            return Ok(false);
        }
        // A pack already superseded by synced data keeps the synced rows: only fill gaps.
        let synced = stored.0.is_some();
        for entity in pack.entities() {
            if synced {
                insert_missing(&mut tx, &entity).await?;
            } else {
                upsert(&mut tx, &entity).await?;
            }
        }
        sqlx::query(
            "UPDATE sync_state SET pack_id = ?, pack_version = ?, data_version = data_version + 1 \
             WHERE id = 1",
        )
        .bind(&pack.city.id)
        .bind(&pack.city.version)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Where the feed is read from: the cursor and the record of the change at it (kind, id),
    /// which lets the gateway tell whether this store's history is still its own.
    pub async fn feed_position(&self) -> Result<(i64, Option<(String, String)>), StoreError> {
        let row = sqlx::query("SELECT cursor, at_kind, at_id FROM sync_state WHERE id = 1")
            .fetch_one(&self.pool)
            .await?;
        let at = match (
            row.get::<Option<String>, _>(1),
            row.get::<Option<String>, _>(2),
        ) {
            (Some(kind), Some(id)) => Some((kind, id)),
            _ => None,
        };
        Ok((row.get(0), at))
    }

    /// Stores a page of the gateway's feed and moves the cursor in the same transaction, so a
    /// crash never leaves the cursor past changes that were not stored.
    ///
    /// The page is first checked: a page of another city is refused and nothing is kept
    /// ([`StoreError::OtherCity`]); a page whose history is not the one followed so far (the
    /// gateway says `restart`, its history id changed, or one of its reports carries the
    /// tracking code of one of the resident's reports under another id) starts a re-read of
    /// the feed from 0. When a re-read ends, records the gateway no longer has are removed,
    /// and the resident's reports it lost are queued to be sent again, with a notice.
    pub async fn apply_page(
        &self,
        since: i64,
        page: &SyncPage,
        now_ms: i64,
    ) -> Result<PageApplied, StoreError> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(
            "SELECT cursor, history_id, rereading, pack_id FROM sync_state WHERE id = 1",
        )
        .fetch_one(&mut *tx)
        .await?;
        let stored: i64 = row.get(0);
        let history: Option<String> = row.get(1);
        // A read from the feed's start (the first sync, or one after a change of history)
        // is a full read: at its end, what the gateway does not have is settled.
        let rereading: bool = row.get::<bool, _>(2) || since == 0;
        let pack_id: Option<String> = row.get(3);
        if stored != since {
            return Err(StoreError::CursorMoved {
                page_since: since,
                stored,
            });
        }
        if let Some(expected) = pack_id
            && !page.city_id.is_empty()
            && page.city_id != expected
        {
            return Err(StoreError::OtherCity {
                expected,
                served: page.city_id.clone(),
            });
        }
        let other_history = history
            .as_ref()
            .is_some_and(|h| !page.history_id.is_empty() && *h != page.history_id);
        // During a re-read the resident's old receipts may still name codes the gateway has
        // given to others: they are settled when the re-read ends.
        let codes_taken = !rereading && claims_my_codes(&mut tx, page).await?;
        if page.restart || other_history || codes_taken {
            tracing::warn!(
                since,
                restart = page.restart,
                other_history,
                "the gateway's feed is not the history this device followed: reading it again"
            );
            sqlx::query(
                "UPDATE sync_state SET cursor = 0, history_id = ?, at_kind = NULL, at_id = NULL, \
                 rereading = 1 WHERE id = 1",
            )
            .bind((!page.history_id.is_empty()).then_some(&page.history_id))
            .execute(&mut *tx)
            .await?;
            sqlx::query("UPDATE entities SET unconfirmed = 1")
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            return Ok(PageApplied::HistoryChanged);
        }
        for change in &page.changes {
            match &change.op {
                ChangeOp::Upsert { entity } => upsert(&mut tx, entity).await?,
                ChangeOp::Delete { kind, id } => delete(&mut tx, *kind, id).await?,
            }
        }
        if let Some(last) = page.changes.last() {
            let (kind, id) = match &last.op {
                ChangeOp::Upsert { entity } => (entity.kind(), entity.id()),
                ChangeOp::Delete { kind, id } => (*kind, id.clone()),
            };
            sqlx::query("UPDATE sync_state SET at_kind = ?, at_id = ? WHERE id = 1")
                .bind(kind.code())
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        if !page.history_id.is_empty() {
            sqlx::query("UPDATE sync_state SET history_id = ? WHERE id = 1")
                .bind(&page.history_id)
                .execute(&mut *tx)
                .await?;
        }
        if since == 0 && page.has_more {
            sqlx::query("UPDATE sync_state SET rereading = 1 WHERE id = 1")
                .execute(&mut *tx)
                .await?;
        }
        let finished_reread = rereading && !page.has_more;
        let settled = if page.has_more {
            0
        } else {
            crate::reports::reconcile_after_reread(&mut tx, finished_reread, now_ms).await?
        };
        let bump = i64::from(!page.changes.is_empty() || finished_reread || settled > 0);
        sqlx::query(
            "UPDATE sync_state SET cursor = ?, last_success_ms = ?, offline_since_ms = NULL, \
             last_error = NULL, last_problem = NULL, data_version = data_version + ? WHERE id = 1",
        )
        .bind(page.next_cursor)
        .bind(now_ms)
        .bind(bump)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(PageApplied::Stored)
    }

    /// Notes how far the gateway's clock is ahead of this device's (ms).
    pub async fn record_clock_offset(&self, offset_ms: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE sync_state SET clock_offset_ms = ? WHERE id = 1")
            .bind(offset_ms)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Notes a failed sync; the first failure in a row starts the "offline since" clock.
    /// Notes `error` if it says the device's storage is full, for the status line to say so.
    pub fn note_error(&self, error: &StoreError, now_ms: i64) {
        if error.is_full() {
            let _ = self.full_since.compare_exchange(
                0,
                now_ms.max(1),
                Ordering::SeqCst,
                Ordering::SeqCst,
            );
        }
    }

    /// A write went through: the storage is no longer full.
    pub fn note_written(&self) {
        if self.full_since.swap(0, Ordering::SeqCst) != 0 {
            tracing::info!("the device's storage has room again");
        }
    }

    pub async fn record_failure(
        &self,
        error: &str,
        problem: citizen_core::views::SyncProblem,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE sync_state SET last_error = ?, last_problem = ?, \
             offline_since_ms = COALESCE(offline_since_ms, ?) WHERE id = 1",
        )
        .bind(error)
        .bind(problem.code())
        .bind(now_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn sync_record(&self) -> Result<SyncRecord, StoreError> {
        let row = sqlx::query(
            "SELECT cursor, last_success_ms, offline_since_ms, last_error, data_version, \
             clock_offset_ms, last_problem FROM sync_state WHERE id = 1",
        )
        .fetch_one(&self.pool)
        .await?;
        let mut record = SyncRecord {
            cursor: row.get(0),
            last_success_ms: row.get(1),
            offline_since_ms: row.get(2),
            last_error: row.get(3),
            data_version: row.get(4),
            clock_offset_ms: row.get(5),
            last_problem: row
                .get::<Option<String>, _>(6)
                .as_deref()
                .and_then(citizen_core::views::SyncProblem::from_code),
        };
        // A full storage cannot be recorded in the store: it is said from memory.
        let full_since = self.full_since.load(Ordering::SeqCst);
        if full_since != 0 {
            record.last_problem = Some(citizen_core::views::SyncProblem::StorageFull);
            record.offline_since_ms = Some(
                record
                    .offline_since_ms
                    .map_or(full_since, |t| t.min(full_since)),
            );
        }
        Ok(record)
    }

    /// Every stored record of type `T`.
    pub(crate) async fn records<T: Record>(&self) -> Result<Vec<T>, StoreError> {
        let kind = T::KIND;
        let rows = sqlx::query("SELECT id, body FROM entities WHERE kind = ?")
            .bind(kind.code())
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter()
            .map(|row| {
                let body: String = row.get(1);
                serde_json::from_str::<Entity>(&body).map_err(|source| StoreError::Corrupt {
                    kind: kind.code().to_owned(),
                    id: row.get(0),
                    source,
                })
            })
            .filter_map(|entity| entity.map(T::from_entity).transpose())
            .collect()
    }

    pub async fn city(&self) -> Result<Option<CityInfo>, StoreError> {
        Ok(self.records::<CityInfo>().await?.into_iter().next())
    }

    /// Places of one kind (or all), sorted by their Vietnamese name.
    pub async fn places(&self, kind: Option<PlaceKind>) -> Result<Vec<Place>, StoreError> {
        let mut places: Vec<Place> = self.records::<Place>().await?;
        places.retain(|p| kind.is_none_or(|k| k == p.kind));
        places.sort_by(|a, b| a.name.vi.cmp(&b.name.vi));
        Ok(places)
    }

    pub async fn hotspots(&self) -> Result<Vec<Hotspot>, StoreError> {
        self.records().await
    }

    /// The `limit` hotspots nearest to `from`, nearest first, from the R-tree of
    /// [`Store::index`].
    pub async fn nearest_hotspots(
        &self,
        from: Position,
        limit: usize,
    ) -> Result<Vec<HotspotNear>, StoreError> {
        let index = self.index().await?;
        let wanted = index.nearest(from, &[views::MapGroup::Wifi], limit);
        let mut hotspots: std::collections::HashMap<String, citizen_core::Hotspot> = self
            .hotspots()
            .await?
            .into_iter()
            .map(|h| (h.id.clone(), h))
            .collect();
        Ok(wanted
            .into_iter()
            .filter_map(|(point, distance_m)| {
                hotspots.remove(&point.id).map(|hotspot| HotspotNear {
                    hotspot,
                    distance_m,
                })
            })
            .collect())
    }

    /// The search, nearest and map indexes of the data as stored now: built on first use
    /// and again only after a sync changed the data (`data_version`).
    pub async fn index(&self) -> Result<Arc<crate::index::CityIndex>, StoreError> {
        let version: i64 = sqlx::query_scalar("SELECT data_version FROM sync_state WHERE id = 1")
            .fetch_optional(&self.pool)
            .await?
            .unwrap_or(0);
        let mut kept = self.index.lock().await;
        if let Some(index) = kept.as_ref()
            && index.version == version
        {
            return Ok(index.clone());
        }
        let built = Arc::new(crate::index::CityIndex::build(self, version).await?);
        *kept = Some(built.clone());
        Ok(built)
    }

    /// The `limit` places and hotspots nearest to `from` in the layers `groups` (all when
    /// empty), nearest first, as search results with their distance (metres).
    pub async fn nearby(
        &self,
        from: Position,
        groups: &[views::MapGroup],
        limit: usize,
    ) -> Result<Vec<views::Found>, StoreError> {
        let index = self.index().await?;
        Ok(index
            .nearest(from, groups, limit)
            .into_iter()
            .map(|(p, d)| views::Found {
                kind: p.kind,
                id: p.id.clone(),
                name: p.name.clone(),
                distance_m: Some(d),
            })
            .collect())
    }

    /// A setting of the app (`key` → text), if set.
    pub async fn setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT value FROM settings WHERE key = ?")
                .bind(key)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Sets a setting (or removes it with `None`).
    pub async fn set_setting(&self, key: &str, value: Option<&str>) -> Result<(), StoreError> {
        match value {
            Some(v) => {
                sqlx::query(
                    "INSERT INTO settings (key, value) VALUES (?, ?) \
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                )
                .bind(key)
                .bind(v)
                .execute(&self.pool)
                .await?;
            }
            None => {
                sqlx::query("DELETE FROM settings WHERE key = ?")
                    .bind(key)
                    .execute(&self.pool)
                    .await?;
            }
        }
        Ok(())
    }

    /// The device position the resident set or the platform last gave, if any.
    pub async fn device_position(&self) -> Result<Option<views::DevicePosition>, StoreError> {
        let value: Option<String> = sqlx::query_scalar("SELECT value FROM settings WHERE key = ?")
            .bind(POSITION_KEY)
            .fetch_optional(&self.pool)
            .await?;
        Ok(value.and_then(|v| serde_json::from_str(&v).ok()))
    }

    /// Remembers the device position (or forgets it with `None`); the caller checks it with
    /// [`views::check_position`].
    pub async fn set_device_position(
        &self,
        position: Option<views::DevicePosition>,
    ) -> Result<(), StoreError> {
        match position {
            Some(p) => {
                sqlx::query(
                    "INSERT INTO settings (key, value) VALUES (?, ?) \
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                )
                .bind(POSITION_KEY)
                .bind(serde_json::to_string(&p).map_err(|e| StoreError::Io(e.into()))?)
                .execute(&self.pool)
                .await?;
            }
            None => {
                sqlx::query("DELETE FROM settings WHERE key = ?")
                    .bind(POSITION_KEY)
                    .execute(&self.pool)
                    .await?;
            }
        }
        Ok(())
    }

    /// Where distances are measured from: the device position when there is one, else the
    /// city centre; `None` before any city data is stored.
    pub async fn origin(&self) -> Result<Option<views::Origin>, StoreError> {
        if let Some(mine) = self.device_position().await? {
            return Ok(Some(views::Origin {
                position: mine.position,
                mine: true,
            }));
        }
        Ok(self.city().await?.map(|c| views::Origin {
            position: c.center(),
            mine: false,
        }))
    }

    pub async fn stations(&self) -> Result<Vec<Station>, StoreError> {
        let mut stations: Vec<Station> = self.records().await?;
        stations.sort_by(|a, b| a.km_from_mouth.total_cmp(&b.km_from_mouth));
        Ok(stations)
    }

    /// Every station with the newest reading of each of its parameters.
    pub async fn station_statuses(&self) -> Result<Vec<StationStatus>, StoreError> {
        let mut statuses = Vec::new();
        for station in self.stations().await? {
            let mut latest = Vec::with_capacity(station.parameters.len());
            for parameter in &station.parameters {
                let reading = sqlx::query(
                    "SELECT observed_at_ms, value, simulated FROM readings \
                     WHERE station_id = ? AND parameter = ? \
                     ORDER BY observed_at_ms DESC LIMIT 1",
                )
                .bind(&station.id)
                .bind(&parameter.code)
                .fetch_optional(&self.pool)
                .await?
                .map(|row| Reading {
                    station_id: station.id.clone(),
                    parameter: parameter.code.clone(),
                    observed_at_ms: row.get(0),
                    value: row.get(1),
                    simulated: row.get(2),
                });
                latest.push(LatestValue {
                    parameter: parameter.clone(),
                    reading,
                });
            }
            statuses.push(StationStatus { station, latest });
        }
        Ok(statuses)
    }

    pub async fn procedures(&self) -> Result<Vec<Procedure>, StoreError> {
        let mut procedures: Vec<Procedure> = self.records().await?;
        procedures.sort_by(|a, b| a.field.vi.cmp(&b.field.vi).then(a.name.vi.cmp(&b.name.vi)));
        Ok(procedures)
    }

    /// Everything the app lists, found by `query` as people type it (see
    /// [`citizen_core::search`]): places, hotspots, stations, procedures and report
    /// categories; best match first, then nearest to `from`; at most `limit`.
    pub async fn search(
        &self,
        query: &str,
        from: Option<Position>,
        limit: usize,
    ) -> Result<Vec<views::Found>, StoreError> {
        let index = self.index().await?;
        Ok(index
            .search
            .search(query, from, limit)
            .into_iter()
            .map(|hit| {
                let (kind, id, name) = hit.entry.key.clone();
                views::Found {
                    kind,
                    id,
                    name,
                    distance_m: hit.distance_m,
                }
            })
            .collect())
    }

    /// The details of a place or a hotspot, measured from `from`; `None` for another kind
    /// or an id not stored.
    pub async fn details(
        &self,
        kind: views::FoundKind,
        id: &str,
        from: Option<Position>,
    ) -> Result<Option<views::Details>, StoreError> {
        let measured = |at: Position| {
            let d = from.map(|f| citizen_core::geodesy::distance_m(f, at));
            (d, d.map(views::walking_minutes))
        };
        Ok(match kind {
            views::FoundKind::Place => self
                .places(None)
                .await?
                .into_iter()
                .find(|p| p.id == id)
                .map(|p| {
                    let (distance_m, walking_minutes) = measured(p.position);
                    views::Details {
                        kind,
                        id: p.id,
                        name: p.name,
                        kind_key: p.kind.message_key().to_owned(),
                        description: Some(p.description),
                        address: p.address,
                        ssid: None,
                        session_minutes: None,
                        opening_hours: p.opening_hours,
                        phone: p.phone,
                        position: p.position,
                        distance_m,
                        walking_minutes,
                    }
                }),
            views::FoundKind::Hotspot => self
                .hotspots()
                .await?
                .into_iter()
                .find(|h| h.id == id)
                .map(|h| {
                    let (distance_m, walking_minutes) = measured(h.position);
                    views::Details {
                        kind,
                        id: h.id,
                        name: h.name,
                        kind_key: "found-hotspot".to_owned(),
                        description: None,
                        address: h.address,
                        ssid: Some(h.ssid),
                        session_minutes: Some(h.session_minutes),
                        opening_hours: None,
                        phone: None,
                        position: h.position,
                        distance_m,
                        walking_minutes,
                    }
                }),
            _ => None,
        })
    }

    pub async fn categories(&self) -> Result<Vec<ReportCategory>, StoreError> {
        self.records().await
    }

    /// The home screen's summary, or `None` before any city data is stored.
    pub async fn overview(&self) -> Result<Option<Overview>, StoreError> {
        let Some(city) = self.city().await? else {
            return Ok(None);
        };
        let rows = sqlx::query("SELECT kind, COUNT(*) FROM entities GROUP BY kind")
            .fetch_all(&self.pool)
            .await?;
        let count = |kind: EntityKind| -> u32 {
            rows.iter()
                .find(|r| r.get::<String, _>(0) == kind.code())
                .map_or(0, |r| u32::try_from(r.get::<i64, _>(1)).unwrap_or(u32::MAX))
        };
        Ok(Some(Overview {
            places: count(EntityKind::Place),
            hotspots: count(EntityKind::Hotspot),
            stations: count(EntityKind::Station),
            procedures: count(EntityKind::Procedure),
            city,
        }))
    }

    /// The language the user chose, Vietnamese until they choose.
    pub async fn lang(&self) -> Result<Lang, StoreError> {
        let value: Option<String> = sqlx::query_scalar("SELECT value FROM settings WHERE key = ?")
            .bind(LANG_KEY)
            .fetch_optional(&self.pool)
            .await?;
        Ok(value
            .as_deref()
            .and_then(Lang::from_code)
            .unwrap_or_default())
    }

    pub async fn set_lang(&self, lang: Lang) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO settings (key, value) VALUES (?, ?) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(LANG_KEY)
        .bind(lang.code())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub(crate) fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Folds the write-ahead log into the store file (`PRAGMA wal_checkpoint(TRUNCATE)`) and
    /// closes every connection, so the store is one self-contained file.
    pub async fn close(&self) {
        if let Err(error) = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&self.pool)
            .await
        {
            tracing::warn!(%error, "the store's log could not be folded in at close");
        }
        self.pool.close().await;
    }
}

async fn upsert(tx: &mut Transaction<'_, Sqlite>, entity: &Entity) -> Result<(), StoreError> {
    if let Entity::Reading(r) = entity {
        sqlx::query(
            "INSERT INTO readings (station_id, parameter, observed_at_ms, value, simulated) \
             VALUES (?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET value = excluded.value, \
             simulated = excluded.simulated",
        )
        .bind(&r.station_id)
        .bind(&r.parameter)
        .bind(r.observed_at_ms)
        .bind(r.value)
        .bind(r.simulated)
        .execute(&mut **tx)
        .await?;
        return Ok(());
    }
    if let Entity::Report(view) = entity {
        crate::reports::note_status(tx, view).await?;
    }
    sqlx::query(
        "INSERT INTO entities (kind, id, body) VALUES (?, ?, ?) \
         ON CONFLICT (kind, id) DO UPDATE SET body = excluded.body, unconfirmed = 0",
    )
    .bind(entity.kind().code())
    .bind(entity.id())
    .bind(serde_json::to_string(entity)?)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn insert_missing(
    tx: &mut Transaction<'_, Sqlite>,
    entity: &Entity,
) -> Result<(), StoreError> {
    if matches!(entity, Entity::Reading(_)) {
        return upsert(tx, entity).await;
    }
    sqlx::query("INSERT OR IGNORE INTO entities (kind, id, body) VALUES (?, ?, ?)")
        .bind(entity.kind().code())
        .bind(entity.id())
        .bind(serde_json::to_string(entity)?)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

async fn delete(
    tx: &mut Transaction<'_, Sqlite>,
    kind: EntityKind,
    id: &str,
) -> Result<(), StoreError> {
    if kind == EntityKind::Reading {
        // A reading's id is `station/parameter/observed_at_ms`.
        let mut parts = id.rsplitn(3, '/');
        let (Some(at), Some(parameter), Some(station)) = (parts.next(), parts.next(), parts.next())
        else {
            return Ok(());
        };
        sqlx::query(
            "DELETE FROM readings WHERE station_id = ? AND parameter = ? AND observed_at_ms = ?",
        )
        .bind(station)
        .bind(parameter)
        .bind(at.parse::<i64>().unwrap_or(i64::MIN))
        .execute(&mut **tx)
        .await?;
        return Ok(());
    }
    sqlx::query("DELETE FROM entities WHERE kind = ? AND id = ?")
        .bind(kind.code())
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Whether a page carries a report under the tracking code of one of the resident's own
/// reports but another id: the code was given out twice, so the gateway's history went back.
async fn claims_my_codes(
    tx: &mut Transaction<'_, Sqlite>,
    page: &SyncPage,
) -> Result<bool, StoreError> {
    for change in &page.changes {
        if let ChangeOp::Upsert { entity } = &change.op
            && let Entity::Report(view) = entity.as_ref()
        {
            let taken: Option<i64> = sqlx::query_scalar(
                "SELECT 1 FROM my_reports WHERE id != ? \
                 AND json_extract(receipt, '$.tracking_code') = ?",
            )
            .bind(view.id.to_string())
            .bind(&view.tracking_code)
            .fetch_optional(&mut **tx)
            .await?;
            if taken.is_some() {
                return Ok(true);
            }
        }
    }
    Ok(false)
}
