//! The resident's reports in the local store: drafts that survive restarts, processed
//! photos, and the outbox. Sending a draft is one transaction that writes the report and its
//! outbox row; the row goes only in the transaction that stores the gateway's answer.

use citizen_core::report::{
    Delivery, FieldError, MAX_PHOTOS, MyReport, PhotoInfo, PhotoRef, PositionSource, ReportDraft,
    ReportReceipt, ReportStatus, ReportSubmission, ReportView, SupportReceipt, SupportSubmission,
};
use citizen_core::views::SyncProblem;
use citizen_core::{CityInfo, Entity};
use sqlx::{Row, Sqlite, Transaction};
use uuid::Uuid;

use crate::photo::ProcessedPhoto;
use crate::store::{Store, StoreError};

const DEVICE_ID_KEY: &str = "device_id";

/// An operation waiting in the outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxItem {
    pub op_id: Uuid,
    pub op: OutboxOp,
    pub attempts: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub enum OutboxOp {
    /// Upload the report's photos, then send the report.
    Report(Box<ReportSubmission>),
    /// "Me too" on someone's report.
    Support {
        report_id: Uuid,
        body: SupportSubmission,
    },
    /// Upload the application's documents, then send the application.
    Application(Box<citizen_core::dossier::Application>),
    /// Upload a supplement's documents, then send the resident's move on a dossier.
    DossierOp {
        dossier_id: Uuid,
        op: Box<citizen_core::dossier::DossierOp>,
    },
}

/// A photo's upload as the outbox sees it.
#[derive(Debug, Clone)]
pub struct PhotoUpload {
    pub id: Uuid,
    pub sha256: String,
    pub data: Vec<u8>,
    pub uploaded: u64,
}

fn parse_uuid(field: &str, raw: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(raw).map_err(|e| StoreError::Invalid(FieldError::new(field, e.to_string())))
}

impl Store {
    /// This device's id, made on first use. The gateway counts "me too"s per device.
    pub async fn device_id(&self) -> Result<Uuid, StoreError> {
        let mut tx = self.pool().begin().await?;
        let known: Option<String> = sqlx::query_scalar("SELECT value FROM settings WHERE key = ?")
            .bind(DEVICE_ID_KEY)
            .fetch_optional(&mut *tx)
            .await?;
        let id = match known {
            Some(raw) => parse_uuid("device_id", &raw)?,
            None => {
                let id = Uuid::now_v7();
                sqlx::query("INSERT INTO settings (key, value) VALUES (?, ?)")
                    .bind(DEVICE_ID_KEY)
                    .bind(id.to_string())
                    .execute(&mut *tx)
                    .await?;
                id
            }
        };
        tx.commit().await?;
        Ok(id)
    }

    /// Starts a new, empty draft.
    pub async fn new_draft(&self, now_ms: i64) -> Result<ReportDraft, StoreError> {
        let draft = ReportDraft::new(Uuid::now_v7(), now_ms);
        self.save_draft(&draft).await?;
        Ok(draft)
    }

    /// Saves what the resident typed so far. The photo list is the store's to change.
    pub async fn save_draft(&self, draft: &ReportDraft) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        let mut draft = draft.clone();
        if let Some(stored) = draft_in(&mut tx, draft.id).await? {
            draft.photos = stored.photos;
        } else {
            draft.photos.clear();
        }
        write_draft(&mut tx, &draft).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Drafts, most recently edited first.
    pub async fn drafts(&self) -> Result<Vec<ReportDraft>, StoreError> {
        let bodies: Vec<String> =
            sqlx::query_scalar("SELECT body FROM drafts ORDER BY updated_at_ms DESC, id DESC")
                .fetch_all(self.pool())
                .await?;
        bodies
            .iter()
            .map(|b| serde_json::from_str(b).map_err(StoreError::from))
            .collect()
    }

    pub async fn draft(&self, id: Uuid) -> Result<Option<ReportDraft>, StoreError> {
        let mut conn = self.pool().acquire().await?;
        let body: Option<String> = sqlx::query_scalar("SELECT body FROM drafts WHERE id = ?")
            .bind(id.to_string())
            .fetch_optional(&mut *conn)
            .await?;
        body.map(|b| serde_json::from_str(&b).map_err(StoreError::from))
            .transpose()
    }

    /// Throws a draft away with its photos.
    pub async fn delete_draft(&self, id: Uuid) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        if let Some(draft) = draft_in(&mut tx, id).await? {
            for photo in &draft.photos {
                sqlx::query("DELETE FROM photos WHERE id = ?")
                    .bind(photo.to_string())
                    .execute(&mut *tx)
                    .await?;
            }
        }
        sqlx::query("DELETE FROM drafts WHERE id = ?")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Adds a processed photo to a draft. When the draft has no position yet and the photo
    /// carried GPS tags, the draft takes the photo's position.
    pub async fn add_photo(
        &self,
        draft_id: Uuid,
        photo: &ProcessedPhoto,
        now_ms: i64,
    ) -> Result<PhotoInfo, StoreError> {
        let mut tx = self.pool().begin().await?;
        let mut draft = draft_in(&mut tx, draft_id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("draft {draft_id}")))?;
        if draft.photos.len() >= MAX_PHOTOS {
            tx.rollback().await?;
            return Err(StoreError::Invalid(FieldError::new(
                "photos",
                format!("at most {MAX_PHOTOS} photos"),
            )));
        }
        let id = Uuid::now_v7();
        sqlx::query(
            "INSERT INTO photos (id, sha256, size, width, height, data, created_at_ms) \
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(id.to_string())
        .bind(&photo.sha256)
        .bind(photo.data.len() as i64)
        .bind(photo.width)
        .bind(photo.height)
        .bind(&photo.data)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        draft.photos.push(id);
        if draft.position.is_none()
            && let Some(gps) = photo.gps
        {
            draft.position = Some(gps);
            draft.position_source = Some(PositionSource::Photo);
        }
        draft.updated_at_ms = now_ms;
        write_draft(&mut tx, &draft).await?;
        tx.commit().await?;
        Ok(PhotoInfo {
            id,
            width: photo.width,
            height: photo.height,
            size: photo.data.len() as u64,
            sha256: photo.sha256.clone(),
            uploaded: 0,
        })
    }

    pub async fn remove_photo(&self, draft_id: Uuid, photo_id: Uuid) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        let mut draft = draft_in(&mut tx, draft_id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("draft {draft_id}")))?;
        draft.photos.retain(|p| *p != photo_id);
        write_draft(&mut tx, &draft).await?;
        sqlx::query("DELETE FROM photos WHERE id = ?")
            .bind(photo_id.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn photo_info(&self, id: Uuid) -> Result<Option<PhotoInfo>, StoreError> {
        let row =
            sqlx::query("SELECT width, height, size, sha256, uploaded FROM photos WHERE id = ?")
                .bind(id.to_string())
                .fetch_optional(self.pool())
                .await?;
        Ok(row.map(|r| PhotoInfo {
            id,
            width: r.get(0),
            height: r.get(1),
            size: r.get::<i64, _>(2) as u64,
            sha256: r.get(3),
            uploaded: r.get::<i64, _>(4) as u64,
        }))
    }

    /// The processed bytes of a photo on this device.
    pub async fn photo_data(&self, id: Uuid) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(sqlx::query_scalar("SELECT data FROM photos WHERE id = ?")
            .bind(id.to_string())
            .fetch_optional(self.pool())
            .await?)
    }

    /// Sends a draft: checks it, then in one transaction stores the report as sent, queues
    /// it in the outbox and removes the draft. The report shows at once as waiting.
    pub async fn submit_draft(
        &self,
        draft_id: Uuid,
        city: &CityInfo,
        category_exists: impl Fn(&str) -> bool,
        now_ms: i64,
    ) -> Result<MyReport, StoreError> {
        let device_id = self.device_id().await?;
        let mut tx = self.pool().begin().await?;
        let draft = draft_in(&mut tx, draft_id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("draft {draft_id}")))?;
        let mut photos = Vec::with_capacity(draft.photos.len());
        for id in &draft.photos {
            let row = sqlx::query("SELECT sha256, size FROM photos WHERE id = ?")
                .bind(id.to_string())
                .fetch_one(&mut *tx)
                .await?;
            photos.push(PhotoRef {
                id: *id,
                sha256: row.get(0),
                size: row.get::<i64, _>(1) as u64,
            });
        }
        let position = draft
            .position
            .ok_or_else(|| StoreError::Invalid(FieldError::new("position", "choose a place")))?;
        // Dated on the gateway's clock as last measured: the phone's may be days off.
        let offset: Option<i64> =
            sqlx::query_scalar("SELECT clock_offset_ms FROM sync_state WHERE id = 1")
                .fetch_one(&mut *tx)
                .await?;
        let created_at_ms = now_ms.saturating_add(offset.unwrap_or(0));
        let submission = ReportSubmission {
            id: draft.id,
            device_id,
            category: draft.category.clone().unwrap_or_default(),
            description: draft.description.clone(),
            position,
            address: draft.address.clone(),
            ward: draft.ward.clone(),
            photos,
            contact: draft.contact.clone(),
            created_at_ms,
        }
        // Text leaves the device as the gateway stores it.
        .normalized();
        if let Err(e) = submission.check(city, category_exists) {
            tx.rollback().await?;
            return Err(StoreError::Invalid(e));
        }
        let body = serde_json::to_string(&submission)?;
        sqlx::query("INSERT INTO my_reports (id, submission, created_at_ms) VALUES (?, ?, ?)")
            .bind(submission.id.to_string())
            .bind(&body)
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO outbox (op_id, kind, target, body, created_at_ms) \
             VALUES (?, 'report', ?, ?, ?)",
        )
        .bind(submission.id.to_string())
        .bind(submission.id.to_string())
        .bind(&body)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM drafts WHERE id = ?")
            .bind(draft_id.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.my_report(submission.id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("report {}", submission.id)))
    }

    /// "Me too" on a report: stored and queued in one transaction; once per report. A report
    /// this device knows to be resolved or rejected takes none (an error naming `status`):
    /// "me too" is for open reports, as the gateway also holds.
    pub async fn support(&self, report_id: Uuid, now_ms: i64) -> Result<(), StoreError> {
        if let Some(view) = self.report_view(report_id).await?
            && !view.status.is_open()
        {
            return Err(StoreError::Invalid(FieldError::new(
                "status",
                format!(
                    "report {} is already {}: \"me too\" is for open reports",
                    view.tracking_code,
                    view.status.code()
                ),
            )));
        }
        let device_id = self.device_id().await?;
        let mut tx = self.pool().begin().await?;
        let op_id = Uuid::now_v7();
        let added = sqlx::query(
            "INSERT INTO my_supports (report_id, op_id, created_at_ms) VALUES (?, ?, ?) \
             ON CONFLICT DO NOTHING",
        )
        .bind(report_id.to_string())
        .bind(op_id.to_string())
        .bind(now_ms)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if added > 0 {
            let body = serde_json::to_string(&SupportSubmission { op_id, device_id })?;
            sqlx::query(
                "INSERT INTO outbox (op_id, kind, target, body, created_at_ms) \
                 VALUES (?, 'support', ?, ?, ?)",
            )
            .bind(op_id.to_string())
            .bind(report_id.to_string())
            .bind(body)
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Drops a "me too" the gateway refused because the report closed meanwhile: it can
    /// never be counted, so it leaves the outbox, and the report is no longer shown as
    /// supported by this device. One transaction.
    pub async fn support_refused(&self, op_id: Uuid, report_id: Uuid) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        sqlx::query("DELETE FROM outbox WHERE op_id = ?")
            .bind(op_id.to_string())
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM my_supports WHERE report_id = ? AND op_id = ?")
            .bind(report_id.to_string())
            .bind(op_id.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The resident's reports that the gateway had lost and that are being sent again, not
    /// yet announced; they are marked announced.
    pub async fn take_resent_notices(&self) -> Result<Vec<Uuid>, StoreError> {
        let mut tx = self.pool().begin().await?;
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT report_id FROM sync_notices WHERE shown = 0 AND kind = 'resent' ORDER BY at_ms",
        )
        .fetch_all(&mut *tx)
        .await?;
        sqlx::query("UPDATE sync_notices SET shown = 1 WHERE shown = 0")
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        ids.iter().map(|id| parse_uuid("report_id", id)).collect()
    }

    /// Reports this device supported.
    pub async fn supported(&self) -> Result<Vec<Uuid>, StoreError> {
        let ids: Vec<String> = sqlx::query_scalar("SELECT report_id FROM my_supports")
            .fetch_all(self.pool())
            .await?;
        ids.iter().map(|i| parse_uuid("report_id", i)).collect()
    }

    /// The resident's reports, newest first.
    pub async fn my_reports(&self) -> Result<Vec<MyReport>, StoreError> {
        let ids: Vec<String> =
            sqlx::query_scalar("SELECT id FROM my_reports ORDER BY created_at_ms DESC, id DESC")
                .fetch_all(self.pool())
                .await?;
        let mut reports = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(r) = self.my_report(parse_uuid("id", &id)?).await? {
                reports.push(r);
            }
        }
        Ok(reports)
    }

    pub async fn my_report(&self, id: Uuid) -> Result<Option<MyReport>, StoreError> {
        let Some(row) = sqlx::query("SELECT submission, receipt FROM my_reports WHERE id = ?")
            .bind(id.to_string())
            .fetch_optional(self.pool())
            .await?
        else {
            return Ok(None);
        };
        let submission: ReportSubmission = serde_json::from_str(&row.get::<String, _>(0))?;
        let receipt: Option<String> = row.get(1);
        let delivery = match receipt {
            Some(r) => Delivery::Sent {
                receipt: serde_json::from_str(&r)?,
            },
            None => {
                let outbox = sqlx::query(
                    "SELECT attempts, last_error, next_attempt_ms, last_problem FROM outbox \
                     WHERE op_id = ?",
                )
                .bind(id.to_string())
                .fetch_optional(self.pool())
                .await?;
                let (attempts, last_error, next_attempt_ms, problem) = outbox
                    .map(|o| {
                        let problem: Option<String> = o.get(3);
                        (
                            o.get::<i64, _>(0) as u32,
                            o.get(1),
                            o.get(2),
                            problem.as_deref().and_then(SyncProblem::from_code),
                        )
                    })
                    .unwrap_or((0, None, 0, None));
                let mut uploaded_bytes = 0;
                for photo in &submission.photos {
                    uploaded_bytes += self.photo_info(photo.id).await?.map_or(0, |p| p.uploaded);
                }
                Delivery::Waiting {
                    attempts,
                    last_error,
                    problem,
                    next_attempt_ms,
                    uploaded_bytes,
                    total_bytes: submission.photos.iter().map(|p| p.size).sum(),
                }
            }
        };
        let view = self.report_view(id).await?;
        Ok(Some(MyReport {
            submission,
            delivery,
            view,
        }))
    }

    /// A report as the feed last told it.
    pub async fn report_view(&self, id: Uuid) -> Result<Option<ReportView>, StoreError> {
        let body: Option<String> =
            sqlx::query_scalar("SELECT body FROM entities WHERE kind = 'report' AND id = ?")
                .bind(id.to_string())
                .fetch_optional(self.pool())
                .await?;
        match body
            .map(|b| serde_json::from_str::<Entity>(&b))
            .transpose()?
        {
            Some(Entity::Report(view)) => Ok(Some(view)),
            _ => Ok(None),
        }
    }

    /// Every report the feed brought (the city's public view).
    pub async fn report_views(&self) -> Result<Vec<ReportView>, StoreError> {
        self.records::<ReportView>().await
    }

    /// The oldest outbox operation due at `now_ms`: its delay has passed, or this device's
    /// clock was set back since its last attempt (a delay computed on the old clock could hold
    /// it for days).
    pub async fn next_due(&self, now_ms: i64) -> Result<Option<OutboxItem>, StoreError> {
        let row = sqlx::query(
            "SELECT op_id, kind, target, body, attempts FROM outbox \
             WHERE next_attempt_ms <= ?1 OR last_attempt_ms > ?1 ORDER BY op_id LIMIT 1",
        )
        .bind(now_ms)
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let op_id = parse_uuid("op_id", &row.get::<String, _>(0))?;
        let kind: String = row.get(1);
        let body: String = row.get(3);
        let op = match kind.as_str() {
            "report" => OutboxOp::Report(Box::new(serde_json::from_str(&body)?)),
            "application" => OutboxOp::Application(Box::new(serde_json::from_str(&body)?)),
            "dossier_op" => OutboxOp::DossierOp {
                dossier_id: parse_uuid("target", &row.get::<String, _>(2))?,
                op: Box::new(serde_json::from_str(&body)?),
            },
            _ => OutboxOp::Support {
                report_id: parse_uuid("target", &row.get::<String, _>(2))?,
                body: serde_json::from_str(&body)?,
            },
        };
        Ok(Some(OutboxItem {
            op_id,
            op,
            attempts: row.get::<i64, _>(4) as u32,
        }))
    }

    /// When the next outbox operation is due (ms since the epoch, on this device's clock at
    /// `now_ms`), if any waits; see [`Store::next_due`].
    pub async fn next_attempt_ms(&self, now_ms: i64) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT MIN(CASE WHEN last_attempt_ms > ?1 THEN ?1 ELSE next_attempt_ms END) \
             FROM outbox",
        )
        .bind(now_ms)
        .fetch_one(self.pool())
        .await?)
    }

    pub async fn outbox_len(&self) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox")
            .fetch_one(self.pool())
            .await?;
        Ok(n as u64)
    }

    /// Notes a failed attempt: its error and `problem`, when it failed and when to try again
    /// (ms since the epoch, this device's clock), and whether it
    /// keeps its delay when the link is back (`refused`: the gateway refused it with a 4xx, or
    /// asked to wait).
    pub async fn outbox_failed(
        &self,
        op_id: Uuid,
        error: &str,
        problem: SyncProblem,
        (failed_at_ms, next_attempt_ms): (i64, i64),
        refused: bool,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE outbox SET attempts = attempts + 1, last_error = ?, last_problem = ?, \
             last_attempt_ms = ?, next_attempt_ms = ?, refused = ? WHERE op_id = ?",
        )
        .bind(error)
        .bind(problem.code())
        .bind(failed_at_ms)
        .bind(next_attempt_ms)
        .bind(refused)
        .bind(op_id.to_string())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The link is back (a request just succeeded): operations that were waiting out a
    /// failed link's back-off are due now; those the gateway refused keep their delay.
    /// Returns how many were brought forward.
    pub async fn retry_waiting_now(&self, now_ms: i64) -> Result<u64, StoreError> {
        Ok(sqlx::query(
            "UPDATE outbox SET next_attempt_ms = ? WHERE refused = 0 AND next_attempt_ms > ?",
        )
        .bind(now_ms)
        .bind(now_ms)
        .execute(self.pool())
        .await?
        .rows_affected())
    }

    /// Stores the gateway's receipt and removes the outbox row, in one transaction.
    pub async fn report_acknowledged(&self, receipt: &ReportReceipt) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        sqlx::query("UPDATE my_reports SET receipt = ? WHERE id = ?")
            .bind(serde_json::to_string(receipt)?)
            .bind(receipt.id.to_string())
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM outbox WHERE op_id = ?")
            .bind(receipt.id.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn support_acknowledged(
        &self,
        op_id: Uuid,
        receipt: &SupportReceipt,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        sqlx::query("UPDATE my_supports SET supporters = ? WHERE report_id = ?")
            .bind(receipt.supporters)
            .bind(receipt.report_id.to_string())
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM outbox WHERE op_id = ?")
            .bind(op_id.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn photo_upload(&self, id: Uuid) -> Result<PhotoUpload, StoreError> {
        let row = sqlx::query("SELECT sha256, data, uploaded FROM photos WHERE id = ?")
            .bind(id.to_string())
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("photo {id}")))?;
        Ok(PhotoUpload {
            id,
            sha256: row.get(0),
            data: row.get(1),
            uploaded: row.get::<i64, _>(2) as u64,
        })
    }

    /// Remembers how many bytes of a photo or document the gateway confirmed.
    pub async fn set_uploaded(&self, id: Uuid, uploaded: u64) -> Result<(), StoreError> {
        for sql in [
            "UPDATE photos SET uploaded = ? WHERE id = ?",
            "UPDATE documents SET uploaded = ? WHERE id = ?",
        ] {
            sqlx::query(sql)
                .bind(uploaded as i64)
                .bind(id.to_string())
                .execute(self.pool())
                .await?;
        }
        Ok(())
    }

    /// Status changes of the resident's reports not announced yet; they are marked shown.
    pub async fn take_notices(&self) -> Result<Vec<(ReportView, ReportStatus)>, StoreError> {
        let mut tx = self.pool().begin().await?;
        let rows = sqlx::query(
            "SELECT report_id, status FROM report_notices WHERE shown = 0 ORDER BY at_ms",
        )
        .fetch_all(&mut *tx)
        .await?;
        sqlx::query("UPDATE report_notices SET shown = 1 WHERE shown = 0")
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        let mut notices = Vec::new();
        for row in rows {
            let id = parse_uuid("report_id", &row.get::<String, _>(0))?;
            let status = ReportStatus::from_code(&row.get::<String, _>(1));
            if let (Some(view), Some(status)) = (self.report_view(id).await?, status) {
                notices.push((view, status));
            }
        }
        Ok(notices)
    }
}

/// Notes a status change of one of the resident's own reports, for a notification.
pub(crate) async fn note_status(
    tx: &mut Transaction<'_, Sqlite>,
    view: &ReportView,
) -> Result<(), StoreError> {
    let mine: Option<i64> = sqlx::query_scalar("SELECT 1 FROM my_reports WHERE id = ?")
        .bind(view.id.to_string())
        .fetch_optional(&mut **tx)
        .await?;
    if mine.is_some() {
        sqlx::query(
            "INSERT INTO report_notices (report_id, status, at_ms) VALUES (?, ?, ?) \
             ON CONFLICT DO NOTHING",
        )
        .bind(view.id.to_string())
        .bind(view.status.code())
        .bind(view.updated_at_ms)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

async fn draft_in(
    tx: &mut Transaction<'_, Sqlite>,
    id: Uuid,
) -> Result<Option<ReportDraft>, StoreError> {
    let body: Option<String> = sqlx::query_scalar("SELECT body FROM drafts WHERE id = ?")
        .bind(id.to_string())
        .fetch_optional(&mut **tx)
        .await?;
    body.map(|b| serde_json::from_str(&b).map_err(StoreError::from))
        .transpose()
}

async fn write_draft(
    tx: &mut Transaction<'_, Sqlite>,
    draft: &ReportDraft,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO drafts (id, body, updated_at_ms) VALUES (?, ?, ?) \
         ON CONFLICT (id) DO UPDATE SET body = excluded.body, updated_at_ms = excluded.updated_at_ms",
    )
    .bind(draft.id.to_string())
    .bind(serde_json::to_string(draft)?)
    .bind(draft.updated_at_ms)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// At the end of a pass through the feed (its last page): removes the records a re-read did
/// not confirm, and queues again the resident's reports the gateway lost — their receipts
/// name reports the feed, read to its head, does not hold (the gateway never deletes a
/// report from its feed) — each with a notice and its photos to upload from the start. This
/// also catches a restore to a backup taken after this device's last pull, which the feed's
/// history cannot show. After a re-read (`reread`), the resident's acknowledged "me too"s on
/// reports the gateway has are sent again too: a restored gateway may have lost them, and
/// the gateway takes a repeat of one it has as the same. Runs in the transaction that stores
/// the last page; returns how many records it removed or operations it queued again.
pub(crate) async fn reconcile_after_reread(
    tx: &mut Transaction<'_, Sqlite>,
    reread: bool,
    now_ms: i64,
) -> Result<u64, StoreError> {
    let mut supports = Vec::new();
    if reread
        && let Some(device_id) =
            sqlx::query_scalar::<_, String>("SELECT value FROM settings WHERE key = ?")
                .bind(DEVICE_ID_KEY)
                .fetch_optional(&mut **tx)
                .await?
    {
        let device_id = parse_uuid("device_id", &device_id)?;
        supports = sqlx::query(
            "SELECT report_id, op_id FROM my_supports WHERE supporters IS NOT NULL \
             AND report_id IN (SELECT id FROM entities WHERE kind = 'report')",
        )
        .fetch_all(&mut **tx)
        .await?;
        for row in &supports {
            let report_id: String = row.get(0);
            let op_id: String = row.get(1);
            let body = serde_json::to_string(&SupportSubmission {
                op_id: parse_uuid("op_id", &op_id)?,
                device_id,
            })?;
            sqlx::query("UPDATE my_supports SET supporters = NULL WHERE report_id = ?")
                .bind(&report_id)
                .execute(&mut **tx)
                .await?;
            sqlx::query(
                "INSERT INTO outbox (op_id, kind, target, body, created_at_ms) \
                 VALUES (?, 'support', ?, ?, ?) ON CONFLICT DO NOTHING",
            )
            .bind(&op_id)
            .bind(&report_id)
            .bind(body)
            .bind(now_ms)
            .execute(&mut **tx)
            .await?;
        }
    }
    let removed = sqlx::query("DELETE FROM entities WHERE unconfirmed = 1")
        .execute(&mut **tx)
        .await?
        .rows_affected();
    let lost = sqlx::query(
        "SELECT id, submission FROM my_reports WHERE receipt IS NOT NULL \
         AND id NOT IN (SELECT id FROM entities WHERE kind = 'report')",
    )
    .fetch_all(&mut **tx)
    .await?;
    for row in &lost {
        let id: String = row.get(0);
        let body: String = row.get(1);
        let submission: ReportSubmission = serde_json::from_str(&body)?;
        sqlx::query("UPDATE my_reports SET receipt = NULL WHERE id = ?")
            .bind(&id)
            .execute(&mut **tx)
            .await?;
        sqlx::query(
            "INSERT INTO outbox (op_id, kind, target, body, created_at_ms) \
             VALUES (?, 'report', ?, ?, ?) ON CONFLICT DO NOTHING",
        )
        .bind(&id)
        .bind(&id)
        .bind(&body)
        .bind(now_ms)
        .execute(&mut **tx)
        .await?;
        for photo in &submission.photos {
            sqlx::query("UPDATE photos SET uploaded = 0 WHERE id = ?")
                .bind(photo.id.to_string())
                .execute(&mut **tx)
                .await?;
        }
        sqlx::query(
            "INSERT INTO sync_notices (report_id, kind, at_ms) VALUES (?, 'resent', ?) \
             ON CONFLICT (report_id) DO UPDATE SET kind = excluded.kind, at_ms = excluded.at_ms, \
             shown = 0",
        )
        .bind(&id)
        .bind(now_ms)
        .execute(&mut **tx)
        .await?;
    }
    sqlx::query("UPDATE sync_state SET rereading = 0 WHERE id = 1")
        .execute(&mut **tx)
        .await?;
    if removed > 0 || !lost.is_empty() || !supports.is_empty() {
        tracing::warn!(
            removed,
            resent = lost.len(),
            supports = supports.len(),
            "feed read to its head: records the gateway no longer has removed, lost reports queued again"
        );
    }
    Ok(removed + lost.len() as u64 + supports.len() as u64)
}
