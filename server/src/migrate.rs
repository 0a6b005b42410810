//! `citizen-server migrate --from URL --to URL`: moves a city's gateway data from one database
//! to another (SQLite → PostgreSQL to scale out, or back), keeping everything devices rely on:
//! the feed's positions and history id (so their cursors stay valid: no resend, no gap),
//! reports with their tracking codes and private contacts, photos, uploads in progress with
//! their chunks, "me too" supports and the hashed credentials.
//!
//! The copy reads the source in one transaction (a consistent snapshot) and writes the target
//! in one transaction (all or nothing), then reads both back and compares every table. The
//! target must be a new, empty database; the gateway on the source should be stopped for the
//! copy, since what it writes after the snapshot is not moved.

use std::time::{Duration, Instant};

use futures::TryStreamExt;
use sha2::{Digest, Sha256};
use sqlx::{Any, Row, Transaction};

use crate::store::{Store, StoreError};

/// The SQL type of a column, as both engines store it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Int,
    Real,
    Blob,
}

/// A table and its columns, in the order rows are copied (parents before children).
struct Table {
    name: &'static str,
    columns: &'static [(&'static str, Kind)],
}

use Kind::{Blob, Int, Real, Text};

/// Every table of the gateway's schema but the feed counter (copied on its own) and the
/// migration bookkeeping (each database has its own). A test checks this list against both
/// schemas, so a column added later cannot be left behind.
const TABLES: &[Table] = &[
    Table {
        name: "pack_imports",
        columns: &[
            ("pack_id", Text),
            ("content_hash", Text),
            ("imported_at_ms", Int),
        ],
    },
    Table {
        name: "entities",
        columns: &[
            ("kind", Text),
            ("id", Text),
            ("body", Text),
            ("seq", Int),
            ("deleted", Int),
        ],
    },
    Table {
        name: "uploads",
        columns: &[
            ("id", Text),
            ("size", Int),
            ("sha256", Text),
            ("received", Int),
            ("complete", Int),
            ("created_at_ms", Int),
            ("kind", Text),
        ],
    },
    Table {
        name: "upload_chunks",
        columns: &[("upload_id", Text), ("start", Int), ("data", Blob)],
    },
    Table {
        name: "photos",
        columns: &[
            ("id", Text),
            ("media_type", Text),
            ("width", Int),
            ("height", Int),
            ("data", Blob),
            ("report_id", Text),
        ],
    },
    Table {
        name: "reports",
        columns: &[
            ("id", Text),
            ("number", Int),
            ("tracking_code", Text),
            ("source", Text),
            ("request_hash", Text),
            ("category", Text),
            ("department", Text),
            ("status", Text),
            ("contact", Text),
            ("received_at_ms", Int),
            ("updated_at_ms", Int),
        ],
    },
    Table {
        name: "supports",
        columns: &[("report_id", Text), ("device_id", Text), ("op_id", Text)],
    },
    Table {
        name: "credentials",
        columns: &[
            ("token_hash", Text),
            ("role", Text),
            ("department", Text),
            ("label", Text),
            ("created_at_ms", Int),
            ("thing_id", Int),
            ("phone", Text),
        ],
    },
    Table {
        name: "one_time_codes",
        columns: &[
            ("id", Text),
            ("phone", Text),
            ("code_hash", Text),
            ("created_at_ms", Int),
            ("expires_at_ms", Int),
            ("attempts", Int),
            ("used", Int),
        ],
    },
    Table {
        name: "documents",
        columns: &[
            ("id", Text),
            ("media_type", Text),
            ("pages", Int),
            ("size", Int),
            ("data", Blob),
            ("dossier_id", Text),
        ],
    },
    Table {
        name: "dossiers",
        columns: &[
            ("id", Text),
            ("code", Text),
            ("phone", Text),
            ("procedure_id", Text),
            ("department", Text),
            ("status", Text),
            ("due_at_ms", Int),
            ("request_hash", Text),
            ("body", Text),
            ("revision", Int),
            ("submitted_at_ms", Int),
            ("updated_at_ms", Int),
        ],
    },
    Table {
        name: "dossier_ops",
        columns: &[
            ("op_id", Text),
            ("dossier_id", Text),
            ("request_hash", Text),
            ("revision", Int),
        ],
    },
    Table {
        name: "sta_things",
        columns: &[
            ("id", Int),
            ("station_id", Text),
            ("name", Text),
            ("description", Text),
            ("properties", Text),
            ("in_service_since_ms", Int),
        ],
    },
    Table {
        name: "sta_locations",
        columns: &[
            ("id", Int),
            ("thing_id", Int),
            ("name", Text),
            ("description", Text),
            ("encoding_type", Text),
            ("longitude", Real),
            ("latitude", Real),
            ("properties", Text),
        ],
    },
    Table {
        name: "sta_historical_locations",
        columns: &[
            ("id", Int),
            ("thing_id", Int),
            ("location_id", Int),
            ("time_ms", Int),
        ],
    },
    Table {
        name: "sta_sensors",
        columns: &[
            ("id", Int),
            ("name", Text),
            ("description", Text),
            ("encoding_type", Text),
            ("metadata", Text),
            ("properties", Text),
        ],
    },
    Table {
        name: "sta_observed_properties",
        columns: &[
            ("id", Int),
            ("code", Text),
            ("name", Text),
            ("definition", Text),
            ("description", Text),
            ("properties", Text),
            ("min_value", Real),
            ("max_value", Real),
        ],
    },
    Table {
        name: "sta_datastreams",
        columns: &[
            ("id", Int),
            ("thing_id", Int),
            ("sensor_id", Int),
            ("observed_property_id", Int),
            ("name", Text),
            ("description", Text),
            ("observation_type", Text),
            ("unit_name", Text),
            ("unit_symbol", Text),
            ("unit_definition", Text),
            ("properties", Text),
        ],
    },
    Table {
        name: "sta_features",
        columns: &[
            ("id", Int),
            ("thing_id", Int),
            ("name", Text),
            ("description", Text),
            ("encoding_type", Text),
            ("longitude", Real),
            ("latitude", Real),
            ("properties", Text),
        ],
    },
    Table {
        name: "observations",
        columns: &[
            ("id", Int),
            ("datastream_id", Int),
            ("feature_id", Int),
            ("phenomenon_time_ms", Int),
            ("result_time_ms", Int),
            ("result", Real),
            ("result_json", Text),
            ("parameters", Text),
            ("simulated", Int),
            ("received_at_ms", Int),
        ],
    },
    Table {
        name: "latest_observations",
        columns: &[
            ("datastream_id", Int),
            ("observation_id", Int),
            ("phenomenon_time_ms", Int),
            ("first_time_ms", Int),
        ],
    },
];

/// The tables and columns this module copies, for the test that holds them to the schema.
pub fn copied_columns() -> Vec<(&'static str, Vec<&'static str>)> {
    let mut all: Vec<_> = TABLES
        .iter()
        .map(|t| (t.name, t.columns.iter().map(|(c, _)| *c).collect()))
        .collect();
    all.push(("feed_seq", vec!["id", "last", "history_id"]));
    all
}

/// Rows per INSERT statement; with at most 11 columns, well under both engines' limits on
/// parameters (SQLite 32 766, PostgreSQL 65 535).
const BATCH_ROWS: usize = 500;
/// Bytes of blobs per INSERT statement, so photos are not all held at once.
const BATCH_BYTES: usize = 16 << 20;

#[derive(Debug, Clone)]
enum Value {
    Text(Option<String>),
    Int(Option<i64>),
    Real(Option<f64>),
    Blob(Option<Vec<u8>>),
}

impl Value {
    fn read(row: &sqlx::any::AnyRow, i: usize, kind: Kind) -> Result<Value, sqlx::Error> {
        Ok(match kind {
            Text => Value::Text(row.try_get(i)?),
            Int => Value::Int(row.try_get(i)?),
            Real => Value::Real(row.try_get(i)?),
            Blob => Value::Blob(row.try_get(i)?),
        })
    }

    fn bytes(&self) -> usize {
        match self {
            Value::Text(t) => t.as_ref().map_or(0, String::len),
            Value::Int(_) | Value::Real(_) => 8,
            Value::Blob(b) => b.as_ref().map_or(0, Vec::len),
        }
    }

    /// Feeds the value into a digest, unambiguously (a tag, a length, the bytes).
    fn digest(&self, hasher: &mut Sha256) {
        match self {
            Value::Text(None) | Value::Int(None) | Value::Real(None) | Value::Blob(None) => {
                hasher.update([0]);
            }
            Value::Text(Some(t)) => {
                hasher.update([1]);
                hasher.update((t.len() as u64).to_le_bytes());
                hasher.update(t.as_bytes());
            }
            Value::Int(Some(n)) => {
                hasher.update([2]);
                hasher.update(n.to_le_bytes());
            }
            Value::Real(Some(x)) => {
                // The exact number: both engines store IEEE 754 doubles.
                hasher.update([4]);
                hasher.update(x.to_bits().to_le_bytes());
            }
            Value::Blob(Some(b)) => {
                hasher.update([3]);
                hasher.update((b.len() as u64).to_le_bytes());
                hasher.update(b);
            }
        }
    }
}

/// Why a migration stopped. Nothing is written to the target when it does.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error(
        "--to: the target already holds a gateway's data ({0}); migrate into a new, empty database"
    )]
    TargetNotEmpty(String),
    #[error("--to: the target is the source")]
    SameDatabase,
    #[error("--from: the source holds no gateway data (is it the right database?)")]
    SourceEmpty,
    #[error("after the copy, table {table} differs: {from} rows in the source, {to} in the target")]
    Differs {
        table: String,
        from: String,
        to: String,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for MigrateError {
    fn from(e: sqlx::Error) -> Self {
        MigrateError::Store(e.into())
    }
}

/// What a migration moved: rows per table, and how long it took.
#[derive(Debug, Clone)]
pub struct Moved {
    pub tables: Vec<(String, u64)>,
    pub feed_head: i64,
    pub history_id: String,
    pub elapsed: Duration,
}

/// A table's contents in a form two engines can compare: its row count and a digest of its
/// rows independent of their order (each row hashed, the hashes sorted, then hashed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableDigest {
    pub rows: u64,
    pub sha256: String,
}

fn select_sql(table: &Table) -> String {
    let columns: Vec<&str> = table.columns.iter().map(|(c, _)| *c).collect();
    format!("SELECT {} FROM {}", columns.join(", "), table.name)
}

/// The digest of one table of `store` (one of the copied tables or `feed_seq`).
///
/// # Errors
/// When the table cannot be read.
pub async fn digest(store: &Store, table: &str) -> Result<TableDigest, StoreError> {
    let mut conn = store.pool().acquire().await?;
    table_digest(&mut conn, table).await
}

async fn table_digest(
    conn: &mut sqlx::AnyConnection,
    table: &str,
) -> Result<TableDigest, StoreError> {
    let (sql, kinds): (String, Vec<Kind>) = if table == "feed_seq" {
        (
            "SELECT id, last, history_id FROM feed_seq".into(),
            vec![Int, Int, Text],
        )
    } else {
        let t = TABLES
            .iter()
            .find(|t| t.name == table)
            .ok_or_else(|| StoreError::Task(format!("no table {table} is copied")))?;
        (select_sql(t), t.columns.iter().map(|(_, k)| *k).collect())
    };
    let mut hashes = Vec::new();
    let mut rows = sqlx::query(&sql).fetch(&mut *conn);
    while let Some(row) = rows.try_next().await? {
        let mut hasher = Sha256::new();
        for (i, kind) in kinds.iter().enumerate() {
            Value::read(&row, i, *kind)?.digest(&mut hasher);
        }
        hashes.push(hasher.finalize());
    }
    hashes.sort();
    let mut all = Sha256::new();
    for h in &hashes {
        all.update(h);
    }
    Ok(TableDigest {
        rows: hashes.len() as u64,
        sha256: format!("{:x}", all.finalize()),
    })
}

/// Whether the target holds a gateway's data; the first table that does, if any.
async fn first_filled(tx: &mut Transaction<'_, Any>) -> Result<Option<String>, StoreError> {
    for table in TABLES {
        let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {}", table.name))
            .fetch_one(&mut **tx)
            .await?;
        if n > 0 {
            return Ok(Some(format!("{n} rows in {}", table.name)));
        }
    }
    let last: i64 = sqlx::query_scalar("SELECT last FROM feed_seq WHERE id = 1")
        .fetch_one(&mut **tx)
        .await?;
    Ok((last > 0).then(|| format!("feed position {last}")))
}

async fn insert_batch(
    tx: &mut Transaction<'_, Any>,
    table: &Table,
    rows: &[Vec<Value>],
) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let width = table.columns.len();
    let columns: Vec<&str> = table.columns.iter().map(|(c, _)| *c).collect();
    let tuples: Vec<String> = (0..rows.len())
        .map(|r| {
            let params: Vec<String> = (1..=width).map(|c| format!("${}", r * width + c)).collect();
            format!("({})", params.join(", "))
        })
        .collect();
    let sql = format!(
        "INSERT INTO {} ({}) VALUES {}",
        table.name,
        columns.join(", "),
        tuples.join(", ")
    );
    let mut query = sqlx::query(&sql);
    for row in rows {
        for value in row {
            query = match value {
                Value::Text(t) => query.bind(t.clone()),
                Value::Int(n) => query.bind(*n),
                Value::Real(x) => query.bind(*x),
                Value::Blob(b) => query.bind(b.clone()),
            };
        }
    }
    query.execute(&mut **tx).await?;
    Ok(())
}

/// Copies every table of `from` into the empty `to`, then compares them table by table.
///
/// # Errors
/// [`MigrateError::SourceEmpty`] when `from` holds nothing to move,
/// [`MigrateError::TargetNotEmpty`] when `to` holds data, [`MigrateError::SameDatabase`]
/// when both are one database (same history id), [`MigrateError::Differs`] when the
/// comparison after the copy finds a difference, and database errors. On any error the
/// target is left as it was (its transaction is rolled back).
pub async fn copy(from: &Store, to: &Store) -> Result<Moved, MigrateError> {
    let started = Instant::now();
    // One snapshot of the source. On SQLite, `BEGIN IMMEDIATE` also keeps a gateway still
    // running on it from committing during the copy.
    let mut source = match from.backend() {
        crate::store::Backend::Sqlite => from.pool().begin_with("BEGIN IMMEDIATE").await?,
        crate::store::Backend::Postgres => {
            from.pool()
                .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                .await?
        }
    };
    let mut target = to.pool().begin().await?;
    let (last, history_id): (i64, String) =
        sqlx::query_as("SELECT last, history_id FROM feed_seq WHERE id = 1")
            .fetch_one(&mut *source)
            .await?;
    let target_history: String = sqlx::query_scalar("SELECT history_id FROM feed_seq WHERE id = 1")
        .fetch_one(&mut *target)
        .await?;
    if first_filled(&mut source).await?.is_none() {
        return Err(MigrateError::SourceEmpty);
    }
    if let Some(what) = first_filled(&mut target).await? {
        return Err(MigrateError::TargetNotEmpty(what));
    }
    if target_history == history_id {
        return Err(MigrateError::SameDatabase);
    }
    let mut moved = Vec::new();
    for table in TABLES {
        let mut rows: Vec<Vec<Value>> = Vec::new();
        let mut bytes = 0;
        let mut count = 0_u64;
        let sql = select_sql(table);
        // Rows stream from the source, so a large table (photos) is never all in memory.
        let mut stream = sqlx::query(&sql).fetch(&mut *source);
        while let Some(row) = stream.try_next().await? {
            let mut values = Vec::with_capacity(table.columns.len());
            for (i, (_, kind)) in table.columns.iter().enumerate() {
                let value = Value::read(&row, i, *kind)?;
                bytes += value.bytes();
                values.push(value);
            }
            rows.push(values);
            if rows.len() >= BATCH_ROWS || bytes >= BATCH_BYTES {
                insert_batch(&mut target, table, &rows).await?;
                count += rows.len() as u64;
                rows.clear();
                bytes = 0;
            }
        }
        drop(stream);
        insert_batch(&mut target, table, &rows).await?;
        count += rows.len() as u64;
        tracing::info!(table = table.name, rows = count, "copied");
        moved.push((table.name.to_owned(), count));
    }
    sqlx::query("UPDATE feed_seq SET last = $1, history_id = $2 WHERE id = 1")
        .bind(last)
        .bind(&history_id)
        .execute(&mut *target)
        .await?;
    // Compare before committing: a difference leaves the target untouched.
    for table in TABLES.iter().map(|t| t.name).chain(["feed_seq"]) {
        let a = table_digest(&mut source, table).await?;
        let b = table_digest(&mut target, table).await?;
        if a != b {
            return Err(MigrateError::Differs {
                table: table.to_owned(),
                from: format!("{} ({})", a.rows, a.sha256),
                to: format!("{} ({})", b.rows, b.sha256),
            });
        }
    }
    target.commit().await?;
    source.rollback().await?;
    Ok(Moved {
        tables: moved,
        feed_head: last,
        history_id,
        elapsed: started.elapsed(),
    })
}
