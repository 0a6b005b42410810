//! Field issue reports: accepted once per id (a resend gets the first answer), routed to the
//! category's department, published in the feed without the reporter's contact, and moved
//! along by the department's staff.

use citizen_core::report::{
    Contact, FieldError, ReportReceipt, ReportStatus, ReportSubmission, ReportView, StaffReport,
    StatusChange, StatusUpdate, SupportReceipt, SupportSubmission, UpdateError,
    plausible_created_at,
};
use citizen_core::{Entity, EntityKind};
use sha2::{Digest, Sha256};
use sqlx::{Any, Row, Transaction};
use uuid::Uuid;

use super::{Store, StoreError, upsert_in};

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("{0}")]
    Invalid(FieldError),
    #[error("{0}")]
    Conflict(FieldError),
    #[error("no such report")]
    NotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for ReportError {
    fn from(e: sqlx::Error) -> Self {
        ReportError::Store(e.into())
    }
}

impl From<serde_json::Error> for ReportError {
    fn from(e: serde_json::Error) -> Self {
        ReportError::Store(e.into())
    }
}

/// Which reports a department lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFilter {
    Open,
    Closed,
    All,
}

/// What to store for a new report, beyond the submission itself.
pub struct Routing<'a> {
    /// Who sent it: the device id, or `open311:<client>`.
    pub source: &'a str,
    pub department: &'a str,
    /// Letters before the number of the tracking code (`MT` → `MT00042`).
    pub code_prefix: &'a str,
    pub now_ms: i64,
}

impl Store {
    /// Accepts a report once. The same id again with the same content returns the first
    /// receipt; with other content it is refused and nothing changes.
    pub async fn submit_report(
        &self,
        sub: &ReportSubmission,
        routing: &Routing<'_>,
    ) -> Result<ReportReceipt, ReportError> {
        let request_hash = format!("{:x}", Sha256::digest(serde_json::to_vec(sub)?));
        let mut tx = self.begin_write().await?;
        let known = sqlx::query(
            "SELECT request_hash, source, tracking_code, department, status, received_at_ms \
             FROM reports WHERE id = $1",
        )
        .bind(sub.id.to_string())
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(row) = known {
            tx.rollback().await?;
            let (hash, source): (String, String) = (row.get(0), row.get(1));
            if hash != request_hash || source != routing.source {
                return Err(ReportError::Conflict(FieldError::new(
                    "id",
                    format!(
                        "report {} was already sent with other content; a new report needs a new id",
                        sub.id
                    ),
                )));
            }
            return Ok(ReportReceipt {
                id: sub.id,
                tracking_code: row.get(2),
                department: row.get(3),
                status: status_of(&row.get::<String, _>(4)),
                received_at_ms: row.get(5),
            });
        }
        for (i, photo) in sub.photos.iter().enumerate() {
            if sub.photos[..i].iter().any(|p| p.id == photo.id) {
                tx.rollback().await?;
                return Err(ReportError::Conflict(FieldError::new(
                    format!("photos[{i}].id"),
                    "the same photo twice",
                )));
            }
            let row = sqlx::query(
                "SELECT u.size, u.sha256, u.complete, p.report_id FROM uploads u \
                 LEFT JOIN photos p ON p.id = u.id WHERE u.id = $1",
            )
            .bind(photo.id.to_string())
            .fetch_optional(&mut *tx)
            .await?;
            let field = format!("photos[{i}]");
            let problem = match row {
                None => Some("no upload with this id: upload the photo first".to_owned()),
                Some(row) => {
                    let (size, sha, complete): (i64, String, bool) =
                        (row.get(0), row.get(1), row.get::<i64, _>(2) != 0);
                    let used: Option<String> = row.get(3);
                    if size as u64 != photo.size || sha != photo.sha256 {
                        Some("size or SHA-256 differ from the upload's".to_owned())
                    } else if !complete {
                        Some("the upload is not complete yet".to_owned())
                    } else if used.is_some_and(|r| r != sub.id.to_string()) {
                        Some("this photo belongs to another report".to_owned())
                    } else {
                        None
                    }
                }
            };
            if let Some(message) = problem {
                tx.rollback().await?;
                return Err(ReportError::Conflict(FieldError::new(field, message)));
            }
        }
        let number: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(number), 0) + 1 FROM reports")
            .fetch_one(&mut *tx)
            .await?;
        let tracking_code = format!("{}{number:05}", routing.code_prefix);
        let now = routing.now_ms;
        let view = ReportView {
            id: sub.id,
            tracking_code: tracking_code.clone(),
            category: sub.category.clone(),
            department: routing.department.to_owned(),
            description: sub.description.clone(),
            position: sub.position,
            address: sub.address.clone(),
            ward: sub.ward.clone(),
            photos: sub.photos.iter().map(|p| p.id).collect(),
            status: ReportStatus::Assigned,
            // Routing is automatic, so a report is received and assigned in one step.
            history: vec![
                StatusChange {
                    status: ReportStatus::Received,
                    at_ms: now,
                    note: None,
                    photo: None,
                },
                StatusChange {
                    status: ReportStatus::Assigned,
                    at_ms: now,
                    note: None,
                    photo: None,
                },
            ],
            supporters: 0,
            // The device's clock may be wrong: its time is kept only where it is plausible.
            created_at_ms: plausible_created_at(sub.created_at_ms, now),
            updated_at_ms: now,
        };
        sqlx::query(
            "INSERT INTO reports (id, number, tracking_code, source, request_hash, category, \
             department, status, contact, received_at_ms, updated_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(sub.id.to_string())
        .bind(number)
        .bind(&tracking_code)
        .bind(routing.source)
        .bind(&request_hash)
        .bind(&sub.category)
        .bind(routing.department)
        .bind(view.status.code())
        .bind(serde_json::to_string(&sub.contact)?)
        .bind(now)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        for photo in &sub.photos {
            sqlx::query("UPDATE photos SET report_id = $1 WHERE id = $2")
                .bind(sub.id.to_string())
                .bind(photo.id.to_string())
                .execute(&mut *tx)
                .await?;
        }
        upsert_in(&mut tx, &Entity::Report(view.clone())).await?;
        tx.commit().await?;
        Ok(ReportReceipt {
            id: sub.id,
            tracking_code,
            department: view.department,
            status: view.status,
            received_at_ms: now,
        })
    }

    /// "Me too" from a device; once per device and report, and once per op id.
    pub async fn support_report(
        &self,
        report_id: Uuid,
        sub: &SupportSubmission,
    ) -> Result<SupportReceipt, ReportError> {
        let mut tx = self.begin_write().await?;
        let Some(mut view) = view_in(&mut tx, report_id).await? else {
            tx.rollback().await?;
            return Err(ReportError::NotFound);
        };
        let same_op: Option<String> =
            sqlx::query_scalar("SELECT report_id FROM supports WHERE op_id = $1")
                .bind(sub.op_id.to_string())
                .fetch_optional(&mut *tx)
                .await?;
        if same_op
            .as_ref()
            .is_some_and(|r| *r != report_id.to_string())
        {
            tx.rollback().await?;
            return Err(ReportError::Conflict(FieldError::new(
                "op_id",
                "this op id was used for another report",
            )));
        }
        // "Me too" is for open reports. A repeat of one counted while the report was open
        // still gets its receipt, so a retry after the report closed is not an error.
        let counted_before = same_op.is_some()
            || sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM supports WHERE report_id = $1 AND device_id = $2",
            )
            .bind(report_id.to_string())
            .bind(sub.device_id.to_string())
            .fetch_one(&mut *tx)
            .await?
                > 0;
        if !view.status.is_open() && !counted_before {
            tx.rollback().await?;
            return Err(ReportError::Conflict(FieldError::new(
                "status",
                format!(
                    "report {} is already {}: \"me too\" is for open reports",
                    view.tracking_code,
                    view.status.code()
                ),
            )));
        }
        let added = sqlx::query(
            "INSERT INTO supports (report_id, device_id, op_id) VALUES ($1, $2, $3) \
             ON CONFLICT DO NOTHING",
        )
        .bind(report_id.to_string())
        .bind(sub.device_id.to_string())
        .bind(sub.op_id.to_string())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if added > 0 {
            let count: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM supports WHERE report_id = $1")
                    .bind(report_id.to_string())
                    .fetch_one(&mut *tx)
                    .await?;
            view.supporters = u32::try_from(count).unwrap_or(u32::MAX);
            upsert_in(&mut tx, &Entity::Report(view.clone())).await?;
        }
        tx.commit().await?;
        Ok(SupportReceipt {
            report_id,
            supporters: view.supporters,
        })
    }

    /// A report by its id or its tracking code.
    /// A tracking code is matched as a person reads it out or types it: without regard to
    /// case or the spaces around it (`mt00001` is `MT00001`).
    pub async fn report(&self, id_or_code: &str) -> Result<Option<ReportView>, StoreError> {
        let id = match Uuid::parse_str(id_or_code) {
            Ok(id) => Some(id.to_string()),
            // No code holds a NUL, and PostgreSQL refuses one in text: nothing matches.
            Err(_) if id_or_code.contains('\0') => None,
            Err(_) => {
                sqlx::query_scalar("SELECT id FROM reports WHERE tracking_code = $1")
                    .bind(id_or_code.trim().to_uppercase())
                    .fetch_optional(&self.pool)
                    .await?
            }
        };
        let Some(id) = id else { return Ok(None) };
        let mut conn = self.pool.acquire().await?;
        let body: Option<String> = sqlx::query_scalar(
            "SELECT body FROM entities WHERE kind = 'report' AND id = $1 AND deleted = 0",
        )
        .bind(&id)
        .fetch_optional(&mut *conn)
        .await?;
        body.map(|b| parse_view(&id, &b)).transpose()
    }

    /// A department's reports with the reporters' contacts, oldest first.
    pub async fn department_queue(
        &self,
        department: &str,
        filter: ReportFilter,
    ) -> Result<Vec<StaffReport>, StoreError> {
        let rows = sqlx::query(
            "SELECT r.id, r.status, r.contact, e.body FROM reports r \
             JOIN entities e ON e.kind = 'report' AND e.id = r.id \
             WHERE r.department = $1 ORDER BY r.received_at_ms, r.number",
        )
        .bind(department)
        .fetch_all(&self.pool)
        .await?;
        let mut queue = Vec::new();
        for row in rows {
            let id: String = row.get(0);
            let open = status_of(&row.get::<String, _>(1)).is_open();
            let wanted = match filter {
                ReportFilter::Open => open,
                ReportFilter::Closed => !open,
                ReportFilter::All => true,
            };
            if !wanted {
                continue;
            }
            let contact: Contact =
                serde_json::from_str(&row.get::<String, _>(2)).map_err(|source| {
                    StoreError::Corrupt {
                        kind: "report contact".into(),
                        id: id.clone(),
                        source,
                    }
                })?;
            let report = parse_view(&id, &row.get::<String, _>(3))?;
            queue.push(StaffReport { report, contact });
        }
        Ok(queue)
    }

    /// A department moves one of its reports along; the new state reaches devices by the feed.
    pub async fn change_status(
        &self,
        department: &str,
        id_or_code: &str,
        update: &StatusUpdate,
        now_ms: i64,
    ) -> Result<ReportView, ReportError> {
        let Some(found) = self.report(id_or_code).await? else {
            return Err(ReportError::NotFound);
        };
        let mut tx = self.begin_write().await?;
        // Read again under the write lock: another change may have landed meanwhile.
        let Some(mut view) = view_in(&mut tx, found.id).await? else {
            tx.rollback().await?;
            return Err(ReportError::NotFound);
        };
        if view.department != department {
            tx.rollback().await?;
            return Err(ReportError::NotFound);
        }
        if let Err(e) = update.check(view.status) {
            tx.rollback().await?;
            return Err(match e {
                UpdateError::Conflict(f) => ReportError::Conflict(f),
                UpdateError::Invalid(f) => ReportError::Invalid(f),
            });
        }
        if let Some(photo) = update.photo {
            let used: Option<Option<String>> =
                sqlx::query_scalar("SELECT report_id FROM photos WHERE id = $1")
                    .bind(photo.to_string())
                    .fetch_optional(&mut *tx)
                    .await?;
            let problem = match used {
                None => Some("no completed upload with this id"),
                Some(Some(r)) if r != view.id.to_string() => {
                    Some("this photo belongs to another report")
                }
                _ => None,
            };
            if let Some(message) = problem {
                tx.rollback().await?;
                return Err(ReportError::Conflict(FieldError::new("photo", message)));
            }
            sqlx::query("UPDATE photos SET report_id = $1 WHERE id = $2")
                .bind(view.id.to_string())
                .bind(photo.to_string())
                .execute(&mut *tx)
                .await?;
        }
        view.status = update.status;
        view.updated_at_ms = now_ms;
        view.history.push(StatusChange {
            status: update.status,
            at_ms: now_ms,
            note: update
                .note
                .as_deref()
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(str::to_owned),
            photo: update.photo,
        });
        sqlx::query("UPDATE reports SET status = $1, updated_at_ms = $2 WHERE id = $3")
            .bind(update.status.code())
            .bind(now_ms)
            .bind(view.id.to_string())
            .execute(&mut *tx)
            .await?;
        upsert_in(&mut tx, &Entity::Report(view.clone())).await?;
        tx.commit().await?;
        Ok(view)
    }

    /// Every report, as the public sees it.
    pub async fn report_views(&self) -> Result<Vec<ReportView>, StoreError> {
        self.records::<ReportView>().await
    }
}

async fn view_in(
    tx: &mut Transaction<'_, Any>,
    id: Uuid,
) -> Result<Option<ReportView>, StoreError> {
    let body: Option<String> =
        sqlx::query_scalar("SELECT body FROM entities WHERE kind = $1 AND id = $2 AND deleted = 0")
            .bind(EntityKind::Report.code())
            .bind(id.to_string())
            .fetch_optional(&mut **tx)
            .await?;
    body.map(|b| parse_view(&id.to_string(), &b)).transpose()
}

fn parse_view(id: &str, body: &str) -> Result<ReportView, StoreError> {
    match serde_json::from_str::<Entity>(body) {
        Ok(Entity::Report(view)) => Ok(view),
        Ok(_) => Err(StoreError::Corrupt {
            kind: "report".into(),
            id: id.into(),
            source: serde::de::Error::custom("not a report"),
        }),
        Err(source) => Err(StoreError::Corrupt {
            kind: "report".into(),
            id: id.into(),
            source,
        }),
    }
}

fn status_of(code: &str) -> ReportStatus {
    // The column only ever holds codes written from `ReportStatus::code`.
    ReportStatus::from_code(code).unwrap_or(ReportStatus::Received)
}
