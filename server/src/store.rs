//! The gateway's database: published records and the ordered feed of their changes.

use citizen_core::{CityPack, Entity, EntityKind, Record};
use serde::Serialize;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};
use sqlx::AnyPool;
use sqlx::any::AnyPoolOptions;
use sqlx::{Any, Executor, Row, Transaction};

mod credentials;
mod reports;
mod uploads;

pub use credentials::{Credential, Role};
pub use reports::{ReportError, ReportFilter, Routing};
pub use uploads::UploadError;

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
    #[error("{0}")]
    Encode(#[from] serde_json::Error),
    #[error("background task: {0}")]
    Task(String),
    #[error("--database: {0}")]
    Url(String),
}

/// A page of the feed with its records as stored JSON: serialises exactly like
/// `citizen_core::SyncPage` (a test reads every page back as one).
#[derive(Debug, Serialize)]
pub struct RawSyncPage {
    pub changes: Vec<RawChange>,
    pub next_cursor: i64,
    pub has_more: bool,
    pub history_id: String,
    pub head: i64,
    pub restart: bool,
    pub city_id: String,
    pub server_time_ms: i64,
}

#[derive(Debug, Serialize)]
pub struct RawChange {
    pub seq: i64,
    #[serde(flatten)]
    pub op: RawOp,
}

#[derive(Debug, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum RawOp {
    Upsert { entity: Box<RawValue> },
    Delete { kind: String, id: String },
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
    backend: Backend,
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
            Backend::Sqlite => {
                let url = if url.contains("mode=") {
                    url.to_owned()
                } else {
                    let sep = if url.contains('?') { '&' } else { '?' };
                    format!("{url}{sep}mode=rwc")
                };
                options
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            // WAL: readers never wait for the writer; NORMAL is durable at
                            // each checkpoint and never corrupts; a writer waits for another
                            // up to 5 s instead of failing at once.
                            conn.execute(
                                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                                 PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;",
                            )
                            .await?;
                            Ok(())
                        })
                    })
                    .connect(&url)
                    .await?
            }
            Backend::Postgres => options.connect(url).await?,
        };
        match backend {
            Backend::Sqlite => sqlx::migrate!("./migrations/sqlite").run(&pool).await?,
            Backend::Postgres => sqlx::migrate!("./migrations/postgres").run(&pool).await?,
        }
        Ok(Store { pool, backend })
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
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
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
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
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
        let (head, history_id): (i64, String) =
            sqlx::query_as("SELECT last, history_id FROM feed_seq WHERE id = 1")
                .fetch_one(&self.pool)
                .await?;
        let at_seq: Option<i64> = match at {
            Some((kind, id)) => {
                sqlx::query_scalar("SELECT seq FROM entities WHERE kind = $1 AND id = $2")
                    .bind(kind)
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?
            }
            None => None,
        };
        let lost = since > head || (at.is_some() && at_seq.is_none_or(|seq| seq < since));
        if lost {
            tracing::warn!(
                since,
                head,
                ?at,
                "a client's cursor is not in this feed's history"
            );
            return Ok(RawSyncPage {
                changes: Vec::new(),
                next_cursor: 0,
                has_more: true,
                history_id,
                head,
                restart: true,
                city_id: String::new(),
                server_time_ms: 0,
            });
        }
        let rows = sqlx::query(
            "SELECT kind, id, body, seq, deleted FROM entities WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(since)
        .bind(i64::from(limit) + 1)
        .fetch_all(&self.pool)
        .await?;
        let has_more = rows.len() > limit as usize;
        let mut changes = Vec::with_capacity(rows.len().min(limit as usize));
        for row in rows.into_iter().take(limit as usize) {
            let kind: String = row.get(0);
            let id: String = row.get(1);
            let op =
                if row.get::<i64, _>(4) != 0 {
                    RawOp::Delete { kind, id }
                } else {
                    let body: String = row.get(2);
                    let entity = RawValue::from_string(body)
                        .map_err(|source| StoreError::Corrupt { kind, id, source })?;
                    RawOp::Upsert { entity }
                };
            changes.push(RawChange {
                seq: row.get(3),
                op,
            });
        }
        let next_cursor = changes.last().map_or(since, |c| c.seq);
        Ok(RawSyncPage {
            changes,
            next_cursor,
            has_more,
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

    /// Newest observation time of any reading, if there is one.
    pub async fn latest_reading_ms(&self) -> Result<Option<i64>, StoreError> {
        let sql = match self.backend {
            Backend::Sqlite => {
                "SELECT MAX(json_extract(body, '$.data.observed_at_ms')) FROM entities \
                 WHERE kind = 'reading'"
            }
            Backend::Postgres => {
                "SELECT MAX((body::jsonb -> 'data' ->> 'observed_at_ms')::bigint) FROM entities \
                 WHERE kind = 'reading'"
            }
        };
        Ok(sqlx::query_scalar(sql).fetch_one(&self.pool).await?)
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

async fn next_seq(tx: &mut Transaction<'_, Any>) -> Result<i64, StoreError> {
    Ok(
        sqlx::query_scalar("UPDATE feed_seq SET last = last + 1 WHERE id = 1 RETURNING last")
            .fetch_one(&mut **tx)
            .await?,
    )
}

/// Writes a record if it is new or changed; returns whether it was written.
async fn upsert_in(tx: &mut Transaction<'_, Any>, entity: &Entity) -> Result<bool, StoreError> {
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
