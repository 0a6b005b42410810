//! The gateway's database: published records and the ordered feed of their changes.

use citizen_core::{CityPack, Entity, EntityKind, Record};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::AnyPool;
use sqlx::any::AnyPoolOptions;
use sqlx::{Any, Executor, Row, Transaction};

mod credentials;
mod dossiers;
mod identity;
mod reports;
mod sensors;
mod uploads;

pub use credentials::{Credential, Role};
pub use dossiers::{Caller, DossierError, Intake, normalize_code};
pub use identity::IdentityError;
pub use reports::{ReportError, ReportFilter, Routing};
pub use sensors::{
    DatastreamLimits, NewObservation, OM_MEASUREMENT, ObservationConflict, StationEntities, UCUM,
    VIETNAM_OFFSET_MINUTES,
};
pub use uploads::UploadError;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// One failure of the database met by several requests at once (a group commit).
    #[error("database: {0}")]
    SharedDatabase(std::sync::Arc<sqlx::Error>),
    #[error("migration: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("stored record {kind}/{id} is unreadable: {source}")]
    Corrupt {
        kind: String,
        id: String,
        source: serde_json::Error,
    },
    #[error("{0}")]
    Encode(#[from] serde_json::Error),
    #[error("background task: {0}")]
    Task(String),
    #[error("--database: {0}")]
    Url(String),
}

/// A page of the feed with its records as stored JSON; [`RawSyncPage::to_json`] writes it
/// exactly as `citizen_core::SyncPage` serialises (a test reads every page back as one).
#[derive(Debug)]
pub struct RawSyncPage {
    /// The page's changes as the inside of a JSON array (`{"seq":…},{"seq":…}`), each record
    /// as stored: the database writes it, so the records are neither parsed nor serialised
    /// again and the page crosses from the database as one value.
    pub changes_json: String,
    /// How many changes `changes_json` holds.
    pub changes: usize,
    pub next_cursor: i64,
    pub has_more: bool,
    pub history_id: String,
    pub head: i64,
    pub restart: bool,
    pub city_id: String,
    pub server_time_ms: i64,
}

impl RawSyncPage {
    /// The page as JSON.
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(self.changes_json.len() + 256);
        out.push_str("{\"changes\":[");
        out.push_str(&self.changes_json);
        out.push_str(&format!(
            "],\"next_cursor\":{},\"has_more\":{},\"history_id\":{},\"head\":{},\"restart\":{},\"city_id\":{},\"server_time_ms\":{}}}",
            self.next_cursor,
            self.has_more,
            json_string(&self.history_id),
            self.head,
            self.restart,
            json_string(&self.city_id),
            self.server_time_ms
        ));
        out
    }
}

fn json_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// How far back the feed carries observations (as `reading` records): a device syncing from
/// scratch gets the last 31 days, which is what it keeps (30 days and the day that is
/// running); older ones stay on the gateway, readable through SensorThings.
pub const FEED_OBSERVATION_WINDOW_MS: i64 = 31 * citizen_core::civil::DAY_MS;

/// The feed's page query, in `backend`'s words for two functions: aggregating strings in
/// order (`group_concat`/`string_agg`) and quoting a JSON string (`json_quote`/`to_json`).
/// The feed is the records (`entities`) and the observations (published as `reading`
/// records, made here from their rows), merged by position.
///
/// One row: the head and history, the position of the client's record, the page's count,
/// last position and JSON, and whether more follow. Parameters: `$1` since, `$2` limit,
/// `$3`/`$4` the client's record (kind, id) or NULLs, `$5` the oldest observation time
/// carried, `$6`/`$7`/`$8` the client's record when it is a reading (station, parameter,
/// time) or NULLs.
fn feed_page_sql(backend: Backend) -> String {
    let (aggregate, quote) = match backend {
        Backend::Sqlite => ("group_concat", "json_quote"),
        Backend::Postgres => ("string_agg", "to_json"),
    };
    let quoted = |column: &str| match backend {
        Backend::Sqlite => format!("{quote}({column})"),
        Backend::Postgres => format!("{quote}({column})::text"),
    };
    format!(
        "SELECT f.last, f.history_id, \
         COALESCE((SELECT a.seq FROM entities a WHERE a.kind = $3 AND a.id = $4), \
           (SELECT xo.id FROM observations xo \
            JOIN sta_datastreams xd ON xd.id = xo.datastream_id \
            JOIN sta_things xt ON xt.id = xd.thing_id \
            JOIN sta_observed_properties xp ON xp.id = xd.observed_property_id \
            WHERE xt.station_id = $6 AND xp.code = $7 AND xo.phenomenon_time_ms = $8)), \
         p.n, p.last_seq, p.json, \
         CASE WHEN EXISTS (SELECT 1 FROM entities m WHERE m.seq > COALESCE(p.last_seq, $1)) \
           OR EXISTS (SELECT 1 FROM observations mo WHERE mo.id > COALESCE(p.last_seq, $1) \
                      AND mo.phenomenon_time_ms >= $5) \
         THEN 1 ELSE 0 END \
         FROM feed_seq f, \
         (SELECT COUNT(*) AS n, MAX(seq) AS last_seq, {aggregate}(change, ',' ORDER BY seq) AS json \
          FROM (SELECT seq, change FROM \
                 (SELECT seq, CASE WHEN deleted = 0 \
                   THEN '{{\"seq\":' || seq || ',\"op\":\"upsert\",\"entity\":' || body || '}}' \
                   ELSE '{{\"seq\":' || seq || ',\"op\":\"delete\",\"kind\":' || {kind} \
                        || ',\"id\":' || {id} || '}}' END AS change \
                  FROM entities WHERE seq > $1 ORDER BY seq LIMIT $2) e \
                UNION ALL \
                SELECT seq, change FROM \
                 (SELECT o.id AS seq, '{{\"seq\":' || o.id || ',\"op\":\"upsert\",\"entity\":' \
                   || '{{\"kind\":\"reading\",\"data\":{{\"station_id\":' || {station} \
                   || ',\"parameter\":' || {parameter} \
                   || ',\"observed_at_ms\":' || o.phenomenon_time_ms \
                   || ',\"value\":' || o.result_json \
                   || ',\"simulated\":' || CASE WHEN o.simulated = 1 THEN 'true' ELSE 'false' END \
                   || '}}}}}}' AS change \
                  FROM observations o \
                  JOIN sta_datastreams d ON d.id = o.datastream_id \
                  JOIN sta_things t ON t.id = d.thing_id \
                  JOIN sta_observed_properties op ON op.id = d.observed_property_id \
                  WHERE o.id > $1 AND o.phenomenon_time_ms >= $5 ORDER BY o.id LIMIT $2) r \
                ORDER BY seq LIMIT $2) c) p \
         WHERE f.id = 1",
        kind = quoted("kind"),
        id = quoted("id"),
        station = quoted("t.station_id"),
        parameter = quoted("op.code"),
    )
}

/// A pool on the SQLite database at `url` (made when missing, unless the URL says a mode),
/// each connection in WAL mode.
async fn sqlite_pool(options: AnyPoolOptions, url: &str) -> Result<AnyPool, sqlx::Error> {
    let url = if url.contains("mode=") {
        url.to_owned()
    } else {
        let sep = if url.contains('?') { '&' } else { '?' };
        format!("{url}{sep}mode=rwc")
    };
    options
        .after_connect(|conn, _| {
            Box::pin(async move {
                // WAL: readers never wait for the writer; NORMAL is durable at each
                // checkpoint and never corrupts; a writer waits for another up to 5 s
                // instead of failing at once.
                conn.execute(
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                     PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;",
                )
                .await?;
                Ok(())
            })
        })
        .connect(&url)
        .await
}

/// Which database engine holds the gateway's data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    /// One file, embedded: one gateway instance (the default).
    Sqlite,
    /// A PostgreSQL server: any number of gateway instances.
    Postgres,
}

impl Backend {
    /// The backend a `--database` URL names: `sqlite:…` or `postgres://…`/`postgresql://…`.
    ///
    /// # Errors
    /// [`StoreError::Url`] for any other scheme.
    pub fn of_url(url: &str) -> Result<Backend, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            Err(StoreError::Url(
                "must start with sqlite:// or postgres://".into(),
            ))
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }

    /// `sql`, a `SELECT` of one table's rows, made to lock those rows until the transaction
    /// ends. SQLite has no row locks; its write transactions (`BEGIN IMMEDIATE`) already
    /// exclude each other.
    fn locking(self, sql: &str) -> std::borrow::Cow<'_, str> {
        match self {
            Backend::Sqlite => sql.into(),
            Backend::Postgres => format!("{sql} FOR UPDATE").into(),
        }
    }
}

/// The gateway's database, on SQLite or PostgreSQL. Every query is written once, in the SQL
/// both engines speak (`$1` parameters, `ON CONFLICT`, `RETURNING`), and runs through sqlx's
/// `Any` driver; the few differences (how a write transaction starts, row locks, JSON
/// functions) are in [`Backend`].
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    /// Where write transactions run: on SQLite a pool of one connection, so writers queue in
    /// order here instead of meeting SQLite's busy lock and sleeping in its backoff (which
    /// made a burst of single observations wait up to 80 ms); on PostgreSQL `pool` itself.
    writer: AnyPool,
    backend: Backend,
    /// [`feed_page_sql`] for this backend.
    feed_sql: std::sync::Arc<str>,
}

/// Connections per gateway instance.
const POOL_SIZE: u32 = 8;
/// How long a request waits for a connection (or for an unreachable database) before it fails
/// with an error, rather than hanging past any balancer's health-check timeout.
const ACQUIRE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// The gateway's queues at one moment (see [`Store::queues`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queues {
    pub uploads_incomplete: i64,
    /// (department id, open reports).
    pub reports_open: Vec<(String, i64)>,
}

/// What an import of a city pack did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Import {
    /// The same pack was imported before; nothing was written.
    AlreadyImported,
    /// The pack was imported; this many records changed.
    Imported { changed: usize },
}

impl Store {
    /// Opens the database named by a `sqlite://…` or `postgres://…` URL and brings its schema
    /// up to date (forward-only migrations, one set per engine). A SQLite file is created if
    /// missing; a PostgreSQL database must exist (the role needs to own it or have `CREATE`).
    ///
    /// # Errors
    /// [`StoreError::Url`] for another scheme, [`StoreError::Database`] when it cannot be
    /// reached, [`StoreError::Migration`] when its schema is newer than this gateway's.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = Backend::of_url(url)?;
        let options = AnyPoolOptions::new()
            .max_connections(POOL_SIZE)
            .acquire_timeout(ACQUIRE_TIMEOUT);
        let pool = match backend {
            Backend::Sqlite => sqlite_pool(options, url).await?,
            Backend::Postgres => {
                options
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            // A session whose instance vanished (host down, network cut) while
                            // it held the feed lock is ended by the server after a minute,
                            // instead of blocking every instance's writes until TCP gives up;
                            // a writer waits at most 30 s for that lock, then fails (clients
                            // retry: every write is idempotent).
                            conn.execute(
                                "SET idle_in_transaction_session_timeout = '60s'; \
                                 SET lock_timeout = '30s'",
                            )
                            .await?;
                            Ok(())
                        })
                    })
                    .connect(url)
                    .await?
            }
        };
        match backend {
            Backend::Sqlite => sqlx::migrate!("./migrations/sqlite").run(&pool).await?,
            Backend::Postgres => sqlx::migrate!("./migrations/postgres").run(&pool).await?,
        }
        let writer = match backend {
            Backend::Sqlite => {
                let one = AnyPoolOptions::new()
                    .max_connections(1)
                    .acquire_timeout(ACQUIRE_TIMEOUT);
                sqlite_pool(one, url).await?
            }
            Backend::Postgres => pool.clone(),
        };
        Ok(Store {
            pool,
            writer,
            backend,
            feed_sql: feed_page_sql(backend).into(),
        })
    }

    /// Closes the database's connections (waiting for those in use), as a stopping gateway
    /// does.
    pub async fn close(&self) {
        self.pool.close().await;
        self.writer.close().await;
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A transaction that may write the feed. Such transactions run one at a time, on both
    /// engines, from their first statement to their commit: SQLite takes its write lock
    /// (`BEGIN IMMEDIATE`), PostgreSQL locks the feed counter's row. So a read-then-write
    /// inside one never races another instance, and feed positions are handed out in commit
    /// order (a reader cannot see position n+1 while n is still to commit).
    async fn begin_write(&self) -> Result<Transaction<'static, Any>, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => self.writer.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => {
                let mut tx = self.pool.begin().await?;
                sqlx::query("SELECT last FROM feed_seq WHERE id = 1 FOR UPDATE")
                    .execute(&mut *tx)
                    .await?;
                Ok(tx)
            }
        }
    }

    /// A transaction that writes rows it locks itself (see [`Backend::locking`]) and not the
    /// feed, so it does not wait for feed writers on PostgreSQL.
    async fn begin_rows(&self) -> Result<Transaction<'static, Any>, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => self.writer.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.pool.begin().await,
        }
    }

    /// Imports a city pack unless this exact content was imported before. Records whose
    /// content did not change keep their feed position, so clients download only changes.
    pub async fn import_pack(
        &self,
        pack: &CityPack,
        content: &[u8],
        now_ms: i64,
    ) -> Result<Import, StoreError> {
        let hash = format!("{:x}", Sha256::digest(content));
        let mut tx = self.begin_write().await?;
        let known: Option<String> =
            sqlx::query_scalar("SELECT content_hash FROM pack_imports WHERE pack_id = $1")
                .bind(&pack.city.id)
                .fetch_optional(&mut *tx)
                .await?;
        if known.as_deref() == Some(hash.as_str()) {
            tx.commit().await?;
            return Ok(Import::AlreadyImported);
        }
        let mut changed = 0;
        for entity in pack.entities() {
            changed += usize::from(upsert_in(&mut tx, &entity).await?);
        }
        sensors::import_stations(&mut tx, pack).await?;
        sqlx::query(
            "INSERT INTO pack_imports (pack_id, content_hash, imported_at_ms) VALUES ($1, $2, $3) \
             ON CONFLICT (pack_id) DO UPDATE SET content_hash = excluded.content_hash, \
             imported_at_ms = excluded.imported_at_ms",
        )
        .bind(&pack.city.id)
        .bind(&hash)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Import::Imported { changed })
    }

    /// Publishes records; returns how many changed (unchanged ones keep their feed position).
    pub async fn upsert(&self, entities: &[Entity]) -> Result<usize, StoreError> {
        // IMMEDIATE: take the write lock before reading, so that the read-then-write below never
        // fails to upgrade when another process (a second gateway, an admin tool) writes too.
        let mut tx = self.begin_write().await?;
        let mut changed = 0;
        for entity in entities {
            changed += usize::from(upsert_in(&mut tx, entity).await?);
        }
        tx.commit().await?;
        Ok(changed)
    }

    /// Withdraws a record: it stays in the feed as a deletion. Returns whether it was live.
    pub async fn delete(&self, kind: EntityKind, id: &str) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let live: Option<i64> = sqlx::query_scalar(
            "SELECT seq FROM entities WHERE kind = $1 AND id = $2 AND deleted = 0",
        )
        .bind(kind.code())
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        if live.is_some() {
            let seq = next_seq(&mut tx).await?;
            sqlx::query("UPDATE entities SET deleted = 1, seq = $1 WHERE kind = $2 AND id = $3")
                .bind(seq)
                .bind(kind.code())
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        // Commit even when nothing changed: a dropped transaction is only rolled back when its
        // connection is next used, and would hold the write lock until then.
        tx.commit().await?;
        Ok(live.is_some())
    }

    /// Up to `limit` changes after `since`, in feed order. Stored records are passed through
    /// as the JSON they were stored as, without decoding them again.
    ///
    /// `at` is the record of the change at `since` as the client applied it (kind, id). When
    /// `since` is past this feed's head, or that record is missing or older than `since`
    /// here, the client's history is not this feed's (the database was restored from a
    /// backup, or replaced): the page says `restart` and carries no changes.
    pub async fn changes_since(
        &self,
        since: i64,
        limit: u32,
        at: Option<(&str, &str)>,
    ) -> Result<RawSyncPage, StoreError> {
        // No record's kind or id holds a NUL, and PostgreSQL refuses one in text: such a
        // record is simply not in this feed (as on SQLite).
        let at = match at {
            Some((kind, id)) if kind.contains('\0') || id.contains('\0') => Some(("", "")),
            other => other,
        };
        // A reading's id is `station/parameter/time`.
        let reading = at
            .filter(|(kind, _)| *kind == EntityKind::Reading.code())
            .and_then(|(_, id)| {
                let mut parts = id.rsplitn(3, '/');
                let time: i64 = parts.next()?.parse().ok()?;
                let parameter = parts.next()?;
                let station = parts.next()?;
                Some((station, parameter, time))
            });
        let row = sqlx::query(&self.feed_sql)
            .bind(since)
            .bind(i64::from(limit))
            .bind(at.map(|(kind, _)| kind))
            .bind(at.map(|(_, id)| id))
            .bind(crate::now_ms() - FEED_OBSERVATION_WINDOW_MS)
            .bind(reading.map(|r| r.0))
            .bind(reading.map(|r| r.1))
            .bind(reading.map(|r| r.2))
            .fetch_one(&self.pool)
            .await?;
        let head: i64 = row.try_get(0)?;
        let history_id: String = row.try_get(1)?;
        let at_seq: Option<i64> = row.try_get(2)?;
        let lost = since > head || (at.is_some() && at_seq.is_none_or(|seq| seq < since));
        if lost {
            tracing::warn!(
                since,
                head,
                ?at,
                "a client's cursor is not in this feed's history"
            );
            return Ok(RawSyncPage {
                changes_json: String::new(),
                changes: 0,
                next_cursor: 0,
                has_more: true,
                history_id,
                head,
                restart: true,
                city_id: String::new(),
                server_time_ms: 0,
            });
        }
        let count: i64 = row.try_get(3)?;
        let last_seq: Option<i64> = row.try_get(4)?;
        let changes_json: Option<String> = row.try_get(5)?;
        let more: i64 = row.try_get(6)?;
        Ok(RawSyncPage {
            changes_json: changes_json.unwrap_or_default(),
            changes: usize::try_from(count).unwrap_or(0),
            next_cursor: last_seq.unwrap_or(since),
            has_more: more != 0,
            history_id,
            head,
            restart: false,
            city_id: String::new(),
            server_time_ms: 0,
        })
    }

    /// The gateway's queues, for the metrics: uploads announced and not complete, and the
    /// open reports of each department (departments with none are left out).
    pub async fn queues(&self) -> Result<Queues, StoreError> {
        let uploads_incomplete =
            sqlx::query_scalar("SELECT COUNT(*) FROM uploads WHERE complete = 0")
                .fetch_one(&self.pool)
                .await?;
        let rows = sqlx::query(
            "SELECT department, status, COUNT(*) FROM reports GROUP BY department, status",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut reports_open: Vec<(String, i64)> = Vec::new();
        for row in rows {
            let status: String = row.get(1);
            if !citizen_core::report::ReportStatus::from_code(&status).is_some_and(|s| s.is_open())
            {
                continue;
            }
            let department: String = row.get(0);
            let count: i64 = row.get(2);
            match reports_open.iter_mut().find(|(d, _)| *d == department) {
                Some((_, n)) => *n += count,
                None => reports_open.push((department, count)),
            }
        }
        Ok(Queues {
            uploads_incomplete,
            reports_open,
        })
    }

    /// The newest feed position.
    pub async fn head(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT last FROM feed_seq WHERE id = 1")
            .fetch_one(&self.pool)
            .await?)
    }

    /// Every live record of type `T`.
    pub async fn records<T: Record>(&self) -> Result<Vec<T>, StoreError> {
        let rows = sqlx::query("SELECT id, body FROM entities WHERE kind = $1 AND deleted = 0")
            .bind(T::KIND.code())
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter()
            .filter_map(|row| {
                let body: String = row.get(1);
                serde_json::from_str::<Entity>(&body)
                    .map_err(|source| StoreError::Corrupt {
                        kind: T::KIND.code().into(),
                        id: row.get(0),
                        source,
                    })
                    .map(T::from_entity)
                    .transpose()
            })
            .collect()
    }
}

/// `n` new feed positions, in order (none for 0).
async fn next_seqs(
    tx: &mut Transaction<'_, Any>,
    n: usize,
) -> Result<std::ops::RangeInclusive<i64>, StoreError> {
    if n == 0 {
        #[allow(clippy::reversed_empty_ranges, reason = "the empty range")]
        return Ok(1..=0);
    }
    let count = i64::try_from(n).unwrap_or(i64::MAX);
    let last: i64 =
        sqlx::query_scalar("UPDATE feed_seq SET last = last + $1 WHERE id = 1 RETURNING last")
            .bind(count)
            .fetch_one(&mut **tx)
            .await?;
    Ok(last - count + 1..=last)
}

async fn next_seq(tx: &mut Transaction<'_, Any>) -> Result<i64, StoreError> {
    Ok(
        sqlx::query_scalar("UPDATE feed_seq SET last = last + 1 WHERE id = 1 RETURNING last")
            .fetch_one(&mut **tx)
            .await?,
    )
}

/// Writes a record if it is new or changed; returns whether it was written.
async fn upsert_in(tx: &mut Transaction<'_, Any>, entity: &Entity) -> Result<bool, StoreError> {
    if let Entity::Reading(_) = entity {
        // Readings are observations: one copy, in `observations`, published from there.
        return Err(StoreError::Task(
            "a reading is stored as an observation (Store::insert_observations)".into(),
        ));
    }
    let body = serde_json::to_string(entity)?;
    let kind = entity.kind().code();
    let id = entity.id();
    let same: Option<i64> = sqlx::query_scalar(
        "SELECT CASE WHEN body = $1 AND deleted = 0 THEN 1 ELSE 0 END FROM entities \
         WHERE kind = $2 AND id = $3",
    )
    .bind(&body)
    .bind(kind)
    .bind(&id)
    .fetch_optional(&mut **tx)
    .await?;
    if same == Some(1) {
        return Ok(false);
    }
    let seq = next_seq(tx).await?;
    sqlx::query(
        "INSERT INTO entities (kind, id, body, seq, deleted) VALUES ($1, $2, $3, $4, 0) \
         ON CONFLICT (kind, id) DO UPDATE SET body = excluded.body, seq = excluded.seq, deleted = 0",
    )
    .bind(kind)
    .bind(&id)
    .bind(&body)
    .bind(seq)
    .execute(&mut **tx)
    .await?;
    Ok(true)
}
