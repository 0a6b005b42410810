//! A store file the app cannot read (cut short by a crash of the phone's storage, or with a
//! damaged header) does not stop the app: the damaged file is kept aside, untouched, a fresh
//! store starts from the bundled city pack, and what the resident made on this device is
//! salvaged from a copy of the damaged file — unsent reports and "me too"s, drafts, photos,
//! sent reports, applications and their drafts, documents and dossiers, moves on dossiers
//! waiting to be sent, and settings (the resident's identity among them). The city's data
//! comes back with the next sync.
//!
//! What counts as damage is what SQLite says: `SQLITE_CORRUPT` or `SQLITE_NOTADB` (result
//! codes 11 and 26, <https://sqlite.org/rescode.html>), or a `PRAGMA quick_check` that is not
//! "ok". Any other failure (a full disk, a locked file) is not damage and moves nothing.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::str::FromStr as _;

use citizen_core::CityPack;
use citizen_core::report::{ReportDraft, ReportSubmission};
use futures::TryStreamExt as _;
use sha2::Digest as _;
use sqlx::sqlite::{SqliteConnectOptions, SqliteRow};
use sqlx::{ConnectOptions as _, Connection as _, Row as _, SqliteConnection};

pub use citizen_core::views::Salvaged;

use crate::store::{Store, StoreError};

/// Opens the store at `path`; when SQLite finds it damaged, keeps it aside, starts a fresh
/// store with `pack` and salvages what can be read. The second value says what was salvaged.
///
/// Errors: a failure that is not damage (a full disk, no permission), or a failure of the
/// fresh store, as [`StoreError`].
pub async fn open_or_salvage(
    path: &Path,
    pack: &CityPack,
    now_ms: i64,
) -> Result<(Store, Option<Salvaged>), StoreError> {
    let error = match Store::open_checked(path).await {
        Ok(store) => {
            store.bootstrap(pack).await?;
            return Ok((store, None));
        }
        Err(error) if is_damage(&error) => error,
        Err(error) => return Err(error),
    };
    tracing::error!(%error, store = %path.display(), "the store is damaged: keeping it aside and salvaging");
    let aside = set_aside(path, now_ms)?;
    let store = Store::open(path).await?;
    store.bootstrap(pack).await?;
    let mut salvaged = salvage_into(&store, &aside).await;
    salvaged.damaged_file = aside
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    tracing::warn!(?salvaged, "salvaged from the damaged store");
    store.record_salvage(&salvaged).await?;
    Ok((store, Some(salvaged)))
}

/// Whether `error` means the file itself is damaged.
pub fn is_damage(error: &StoreError) -> bool {
    let sql = match error {
        StoreError::Damaged(_) => return true,
        StoreError::Database(e) => e,
        StoreError::Migration(
            sqlx::migrate::MigrateError::Execute(e)
            | sqlx::migrate::MigrateError::ExecuteMigration(e, _),
        ) => e,
        _ => return false,
    };
    sql.as_database_error()
        .and_then(|e| e.code())
        .and_then(|code| code.parse::<i32>().ok())
        // Extended result codes keep the primary code in their low byte.
        .is_some_and(|code| matches!(code & 0xff, 11 | 26))
}

/// Renames the damaged file (and its write-ahead log) to `<stem>.damaged-<now_ms>.<ext>`.
fn set_aside(path: &Path, now_ms: i64) -> Result<PathBuf, StoreError> {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "store".into());
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().into_owned())
        .unwrap_or_else(|| "db".into());
    let aside = path.with_file_name(format!("{stem}.damaged-{now_ms}.{ext}"));
    std::fs::rename(path, &aside).map_err(StoreError::Io)?;
    for suffix in ["-wal", "-shm"] {
        // The connection that found the damage may still be closing, and SQLite deletes
        // these files as it closes: one gone by now is no error.
        match std::fs::rename(with_suffix(path, suffix), with_suffix(&aside, suffix)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(StoreError::Io(e)),
            _ => {}
        }
    }
    Ok(aside)
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Reads what it can of the damaged file (through a copy, so the file kept aside stays as it
/// was) into `store`. Never fails: what cannot be read is counted or left.
async fn salvage_into(store: &Store, aside: &Path) -> Salvaged {
    let copy = with_suffix(aside, ".salvage");
    let mut salvaged = Salvaged::default();
    let copied = std::fs::copy(aside, &copy).and_then(|_| {
        let wal = with_suffix(aside, "-wal");
        if wal.exists() {
            std::fs::copy(wal, with_suffix(&copy, "-wal"))?;
        }
        Ok(())
    });
    if let Err(error) = copied {
        tracing::error!(%error, "could not copy the damaged store to read it");
        return salvaged;
    }
    match read_damaged(&copy).await {
        Ok(rows) => match rows.write_into(store).await {
            Ok(counts) => salvaged = counts,
            Err(error) => tracing::error!(%error, "could not write what was salvaged"),
        },
        Err(error) => tracing::error!(%error, "nothing could be read from the damaged store"),
    }
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(with_suffix(&copy, suffix));
    }
    salvaged
}

/// The resident's rows as read from the damaged file.
#[derive(Default)]
struct Rows {
    settings: BTreeMap<String, String>,
    photos: BTreeMap<String, SqliteRow>,
    drafts: BTreeMap<String, SqliteRow>,
    my_reports: BTreeMap<String, SqliteRow>,
    outbox: BTreeMap<String, SqliteRow>,
    my_supports: BTreeMap<String, SqliteRow>,
    documents: BTreeMap<String, SqliteRow>,
    application_drafts: BTreeMap<String, SqliteRow>,
    my_dossiers: BTreeMap<String, SqliteRow>,
}

/// An application read from the damaged file: its procedure, the application as sent (JSON),
/// the gateway's receipt and dossier when they had come, the revision last announced, and
/// when it was sent.
struct SalvagedApplication {
    procedure: String,
    body: String,
    receipt: Option<String>,
    dossier: Option<String>,
    seen: i64,
    at: i64,
}

/// The header SQLite gives every store this app creates (page size 4096, WAL, UTF-8; the
/// file format at <https://sqlite.org/fileformat2.html#the_database_header>), with the
/// counters that a damaged header may have lost set so SQLite recomputes them from the file.
fn standard_header() -> [u8; 100] {
    let mut header = [0_u8; 100];
    header[..16].copy_from_slice(b"SQLite format 3\0");
    header[16..18].copy_from_slice(&4096_u16.to_be_bytes());
    header[18] = 2; // write version: WAL
    header[19] = 2; // read version: WAL
    header[21] = 64; // maximum embedded payload fraction
    header[22] = 32; // minimum embedded payload fraction
    header[23] = 32; // leaf payload fraction
    header[44..48].copy_from_slice(&4_u32.to_be_bytes()); // schema format
    header[56..60].copy_from_slice(&1_u32.to_be_bytes()); // UTF-8
    // "version-valid-for" 0: the page count in the header is not trusted, the file size is.
    header
}

async fn connect(path: &Path) -> Result<SqliteConnection, sqlx::Error> {
    SqliteConnectOptions::from_str("sqlite://")?
        .filename(path)
        .connect()
        .await
}

/// Opens the copy; when SQLite says it is no database at all (a damaged header), writes the
/// standard header over it and tries once more.
async fn read_damaged(copy: &Path) -> Result<Rows, StoreError> {
    let mut conn = connect(copy).await?;
    let readable = sqlx::query_scalar::<_, i64>("SELECT count(*) FROM sqlite_schema")
        .fetch_one(&mut conn)
        .await;
    if let Err(error) = readable {
        conn.close().await.ok();
        let not_a_database = is_damage(&StoreError::Database(error));
        if !not_a_database {
            return Err(StoreError::Damaged("the schema cannot be read".into()));
        }
        tracing::warn!("the damaged store's header is unreadable: trying the standard header");
        let mut bytes = std::fs::read(copy).map_err(StoreError::Io)?;
        if bytes.len() < 100 {
            return Err(StoreError::Damaged(
                "the file is shorter than a header".into(),
            ));
        }
        bytes[..100].copy_from_slice(&standard_header());
        std::fs::write(copy, bytes).map_err(StoreError::Io)?;
        conn = connect(copy).await?;
    }
    let mut rows = Rows::default();
    for row in rows_of(&mut conn, "SELECT key, value FROM settings", "key").await {
        if let (Ok(k), Ok(v)) = (row.try_get::<String, _>(0), row.try_get::<String, _>(1)) {
            rows.settings.insert(k, v);
        }
    }
    rows.photos = keyed(
        rows_of(
            &mut conn,
            "SELECT id, sha256, size, width, height, data, uploaded, created_at_ms FROM photos",
            "rowid",
        )
        .await,
    );
    rows.drafts = keyed(
        rows_of(
            &mut conn,
            "SELECT id, body, updated_at_ms FROM drafts",
            "rowid",
        )
        .await,
    );
    rows.my_reports = keyed(
        rows_of(
            &mut conn,
            "SELECT id, submission, receipt, created_at_ms FROM my_reports",
            "rowid",
        )
        .await,
    );
    rows.outbox = keyed(
        rows_of(
            &mut conn,
            "SELECT op_id, kind, target, body, created_at_ms FROM outbox",
            "rowid",
        )
        .await,
    );
    rows.my_supports = keyed(
        rows_of(
            &mut conn,
            "SELECT report_id, op_id, supporters, created_at_ms FROM my_supports",
            "rowid",
        )
        .await,
    );
    rows.documents = keyed(
        rows_of(
            &mut conn,
            "SELECT id, name, media_type, sha256, size, data, uploaded, created_at_ms FROM documents",
            "rowid",
        )
        .await,
    );
    rows.application_drafts = keyed(
        rows_of(
            &mut conn,
            "SELECT id, procedure_id, answers, created_at_ms, updated_at_ms FROM application_drafts",
            "rowid",
        )
        .await,
    );
    rows.my_dossiers = keyed(
        rows_of(
            &mut conn,
            "SELECT id, procedure_id, application, receipt, dossier, seen_revision, created_at_ms \
             FROM my_dossiers",
            "rowid",
        )
        .await,
    );
    conn.close().await.ok();
    Ok(rows)
}

/// Every row of `select` that can be read: in `order` up to the first damaged page, then
/// backwards down to it, so rows on both sides of a damaged page are kept.
async fn rows_of(conn: &mut SqliteConnection, select: &str, order: &str) -> Vec<SqliteRow> {
    let mut out = Vec::new();
    for direction in ["ASC", "DESC"] {
        let sql = format!("{select} ORDER BY {order} {direction}");
        let mut stream = sqlx::query(&sql).fetch(&mut *conn);
        loop {
            match stream.try_next().await {
                Ok(Some(row)) => out.push(row),
                Ok(None) => break,
                Err(error) => {
                    tracing::warn!(%error, query = %select, "stopped at a damaged page");
                    break;
                }
            }
        }
    }
    out
}

/// Rows by their first column, each once.
fn keyed(rows: Vec<SqliteRow>) -> BTreeMap<String, SqliteRow> {
    rows.into_iter()
        .filter_map(|row| Some((row.try_get::<String, _>(0).ok()?, row)))
        .collect()
}

impl Rows {
    /// Writes the rows into the fresh `store` in one transaction. A report or draft that names
    /// a photo that was lost goes on without it; a sent report's outbox entry is not revived.
    async fn write_into(self, store: &Store) -> Result<Salvaged, StoreError> {
        let mut salvaged = Salvaged::default();
        let mut tx = store.pool().begin().await?;
        for (key, value) in &self.settings {
            sqlx::query("INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)")
                .bind(key)
                .bind(value)
                .execute(&mut *tx)
                .await?;
        }
        let mut photos = HashSet::new();
        for (id, row) in &self.photos {
            let data: Vec<u8> = match row.try_get(5) {
                Ok(data) => data,
                Err(_) => continue,
            };
            let Ok(sha256) = row.try_get::<String, _>(1) else {
                continue;
            };
            // A photo whose bytes are not what was hashed is damaged: it would be refused.
            if format!("{:x}", sha2::Sha256::digest(&data)) != sha256.to_ascii_lowercase() {
                continue;
            }
            sqlx::query(
                "INSERT INTO photos (id, sha256, size, width, height, data, uploaded, \
                 created_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(id)
            .bind(&sha256)
            .bind(data.len() as i64)
            .bind(row.try_get::<i64, _>(3).unwrap_or(0))
            .bind(row.try_get::<i64, _>(4).unwrap_or(0))
            .bind(&data)
            .bind(row.try_get::<i64, _>(6).unwrap_or(0))
            .bind(row.try_get::<i64, _>(7).unwrap_or(0))
            .execute(&mut *tx)
            .await?;
            photos.insert(id.clone());
            salvaged.photos += 1;
        }
        let mut lost = HashSet::new();
        for (id, row) in &self.drafts {
            let Some(mut draft) = row
                .try_get::<String, _>(1)
                .ok()
                .and_then(|b| serde_json::from_str::<ReportDraft>(&b).ok())
            else {
                continue;
            };
            draft.photos.retain(|p| {
                let kept = photos.contains(&p.to_string());
                if !kept {
                    lost.insert(p.to_string());
                }
                kept
            });
            sqlx::query("INSERT INTO drafts (id, body, updated_at_ms) VALUES (?, ?, ?)")
                .bind(id)
                .bind(serde_json::to_string(&draft)?)
                .bind(row.try_get::<i64, _>(2).unwrap_or(draft.updated_at_ms))
                .execute(&mut *tx)
                .await?;
            salvaged.drafts += 1;
        }
        // Reports: from "my reports", or from the outbox when that row was lost.
        let mut reports: BTreeMap<String, (ReportSubmission, Option<String>, i64)> =
            BTreeMap::new();
        for (id, row) in &self.outbox {
            if row.try_get::<String, _>(1).ok().as_deref() != Some("report") {
                continue;
            }
            if let Some(submission) = row
                .try_get::<String, _>(3)
                .ok()
                .and_then(|b| serde_json::from_str::<ReportSubmission>(&b).ok())
            {
                let at = row.try_get::<i64, _>(4).unwrap_or(submission.created_at_ms);
                reports.insert(id.clone(), (submission, None, at));
            }
        }
        for (id, row) in &self.my_reports {
            let Some(submission) = row
                .try_get::<String, _>(1)
                .ok()
                .and_then(|b| serde_json::from_str::<ReportSubmission>(&b).ok())
            else {
                continue;
            };
            let receipt = row
                .try_get::<Option<String>, _>(2)
                .ok()
                .flatten()
                .filter(|r| serde_json::from_str::<serde_json::Value>(r).is_ok());
            let at = row.try_get::<i64, _>(3).unwrap_or(submission.created_at_ms);
            reports.insert(id.clone(), (submission, receipt, at));
        }
        for (id, (mut submission, receipt, at)) in reports {
            if receipt.is_none() {
                submission.photos.retain(|p| {
                    let kept = photos.contains(&p.id.to_string());
                    if !kept {
                        lost.insert(p.id.to_string());
                    }
                    kept
                });
            }
            let body = serde_json::to_string(&submission)?;
            sqlx::query(
                "INSERT INTO my_reports (id, submission, receipt, created_at_ms) VALUES (?, ?, ?, ?)",
            )
            .bind(&id)
            .bind(&body)
            .bind(&receipt)
            .bind(at)
            .execute(&mut *tx)
            .await?;
            if receipt.is_some() {
                salvaged.sent_reports += 1;
            } else {
                sqlx::query(
                    "INSERT INTO outbox (op_id, kind, target, body, created_at_ms) \
                     VALUES (?, 'report', ?, ?, ?)",
                )
                .bind(&id)
                .bind(&id)
                .bind(&body)
                .bind(at)
                .execute(&mut *tx)
                .await?;
                salvaged.unsent_reports += 1;
            }
        }
        for (report_id, row) in &self.my_supports {
            let (Ok(op_id), Ok(at)) = (row.try_get::<String, _>(1), row.try_get::<i64, _>(3))
            else {
                continue;
            };
            let supporters = row.try_get::<Option<i64>, _>(2).ok().flatten();
            sqlx::query(
                "INSERT INTO my_supports (report_id, op_id, supporters, created_at_ms) \
                 VALUES (?, ?, ?, ?)",
            )
            .bind(report_id)
            .bind(&op_id)
            .bind(supporters)
            .bind(at)
            .execute(&mut *tx)
            .await?;
            // Not yet counted by the gateway: back in the outbox, if its entry was read.
            if supporters.is_none()
                && let Some(entry) = self.outbox.get(&op_id)
                && let Ok(body) = entry.try_get::<String, _>(3)
            {
                sqlx::query(
                    "INSERT INTO outbox (op_id, kind, target, body, created_at_ms) \
                     VALUES (?, 'support', ?, ?, ?)",
                )
                .bind(&op_id)
                .bind(report_id)
                .bind(body)
                .bind(at)
                .execute(&mut *tx)
                .await?;
                salvaged.unsent_supports += 1;
            }
        }
        self.write_services(&mut tx, &mut salvaged).await?;
        tx.commit().await?;
        salvaged.photos_lost = u32::try_from(lost.len()).unwrap_or(u32::MAX);
        Ok(salvaged)
    }

    /// Documents, application drafts, the resident's dossiers, and the applications and
    /// dossier moves still to send. An application whose receipt was lost goes back in the
    /// outbox: the gateway answers a resend with the dossier it made the first time.
    async fn write_services(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Sqlite>,
        salvaged: &mut Salvaged,
    ) -> Result<(), StoreError> {
        for (id, row) in &self.documents {
            let (Ok(data), Ok(sha256)) =
                (row.try_get::<Vec<u8>, _>(5), row.try_get::<String, _>(3))
            else {
                continue;
            };
            if format!("{:x}", sha2::Sha256::digest(&data)) != sha256 {
                continue;
            }
            sqlx::query(
                "INSERT INTO documents (id, name, media_type, sha256, size, data, uploaded, \
                 created_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(id)
            .bind(
                row.try_get::<String, _>(1)
                    .unwrap_or_else(|_| "document".into()),
            )
            .bind(row.try_get::<String, _>(2).unwrap_or_default())
            .bind(&sha256)
            .bind(data.len() as i64)
            .bind(&data)
            .bind(row.try_get::<i64, _>(6).unwrap_or(0))
            .bind(row.try_get::<i64, _>(7).unwrap_or(0))
            .execute(&mut **tx)
            .await?;
            salvaged.documents += 1;
        }
        for (id, row) in &self.application_drafts {
            let (Ok(procedure), Ok(answers)) =
                (row.try_get::<String, _>(1), row.try_get::<String, _>(2))
            else {
                continue;
            };
            if serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&answers).is_err()
            {
                continue;
            }
            sqlx::query(
                "INSERT INTO application_drafts (id, procedure_id, answers, created_at_ms, \
                 updated_at_ms) VALUES (?, ?, ?, ?, ?)",
            )
            .bind(id)
            .bind(&procedure)
            .bind(&answers)
            .bind(row.try_get::<i64, _>(3).unwrap_or(0))
            .bind(row.try_get::<i64, _>(4).unwrap_or(0))
            .execute(&mut **tx)
            .await?;
            salvaged.drafts += 1;
        }
        // Applications: from the dossiers kept, or from the outbox when that row was lost.
        let mut applications: BTreeMap<String, SalvagedApplication> = BTreeMap::new();
        for (id, row) in &self.outbox {
            if row.try_get::<String, _>(1).ok().as_deref() != Some("application") {
                continue;
            }
            let Some(app) = row
                .try_get::<String, _>(3)
                .ok()
                .and_then(|b| serde_json::from_str::<citizen_core::dossier::Application>(&b).ok())
            else {
                continue;
            };
            let body = serde_json::to_string(&app)?;
            let at = row.try_get::<i64, _>(4).unwrap_or(0);
            applications.insert(
                id.clone(),
                SalvagedApplication {
                    procedure: app.procedure,
                    body,
                    receipt: None,
                    dossier: None,
                    seen: 1,
                    at,
                },
            );
        }
        for (id, row) in &self.my_dossiers {
            let Some(app) = row
                .try_get::<String, _>(2)
                .ok()
                .filter(|b| serde_json::from_str::<citizen_core::dossier::Application>(b).is_ok())
            else {
                continue;
            };
            let json_or_none = |i: usize| {
                row.try_get::<Option<String>, _>(i)
                    .ok()
                    .flatten()
                    .filter(|r| serde_json::from_str::<serde_json::Value>(r).is_ok())
            };
            applications.insert(
                id.clone(),
                SalvagedApplication {
                    procedure: row.try_get::<String, _>(1).unwrap_or_default(),
                    body: app,
                    receipt: json_or_none(3),
                    dossier: json_or_none(4),
                    seen: row.try_get::<i64, _>(5).unwrap_or(1),
                    at: row.try_get::<i64, _>(6).unwrap_or(0),
                },
            );
        }
        for (id, a) in &applications {
            let SalvagedApplication {
                procedure,
                body,
                receipt,
                dossier,
                seen,
                at,
            } = a;
            sqlx::query(
                "INSERT INTO my_dossiers (id, procedure_id, application, receipt, dossier, \
                 seen_revision, created_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(id)
            .bind(procedure)
            .bind(body)
            .bind(receipt)
            .bind(dossier)
            .bind(seen)
            .bind(at)
            .execute(&mut **tx)
            .await?;
            if receipt.is_none() {
                sqlx::query(
                    "INSERT INTO outbox (op_id, kind, target, body, created_at_ms) \
                     VALUES (?, 'application', ?, ?, ?)",
                )
                .bind(id)
                .bind(id)
                .bind(body)
                .bind(at)
                .execute(&mut **tx)
                .await?;
                salvaged.unsent_applications += 1;
            }
        }
        // Moves on dossiers: sent again (each carries its op id, so a move the gateway
        // already applied is answered without a second one).
        for (op_id, row) in &self.outbox {
            if row.try_get::<String, _>(1).ok().as_deref() != Some("dossier_op") {
                continue;
            }
            let (Ok(target), Ok(body)) = (row.try_get::<String, _>(2), row.try_get::<String, _>(3))
            else {
                continue;
            };
            if !applications.contains_key(&target)
                || serde_json::from_str::<citizen_core::dossier::DossierOp>(&body).is_err()
            {
                continue;
            }
            sqlx::query(
                "INSERT INTO outbox (op_id, kind, target, body, created_at_ms) \
                 VALUES (?, 'dossier_op', ?, ?, ?)",
            )
            .bind(op_id)
            .bind(&target)
            .bind(&body)
            .bind(row.try_get::<i64, _>(4).unwrap_or(0))
            .execute(&mut **tx)
            .await?;
            salvaged.unsent_applications += 1;
        }
        Ok(())
    }
}
