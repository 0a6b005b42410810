//! Online public services on the device: the resident's identity (phone number and device
//! token, kept in this app's private store), applications written as drafts (several at once,
//! saved on every change), documents attached to them, applications and dossier moves queued in
//! the outbox, and the dossiers as the gateway last told them, with notices of their changes.

use citizen_core::dossier::{
    Action, Application, ApplicationDraft, Dossier, DossierNotice, DossierOp, DossierReceipt,
    DossierStatus, MyDossier,
};
use citizen_core::form::{AttachmentRef, CheckContext, Form, MAX_FILE_NAME_CHARS};
use citizen_core::report::FieldError;
use citizen_core::text::{nfc, trim_invisible};
use citizen_core::views::SyncProblem;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use sqlx::Row;
use uuid::Uuid;

use crate::photo;
use crate::store::{Store, StoreError};

const PHONE_KEY: &str = "resident_phone";
const TOKEN_KEY: &str = "resident_token";
const DOSSIERS_ETAG_KEY: &str = "dossiers_etag";

/// The largest document the device attaches: 10 MiB, the gateway's limit.
pub const MAX_DOCUMENT_BYTES: usize = 10 * 1024 * 1024;

fn parse_uuid(field: &str, raw: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(raw).map_err(|e| StoreError::Invalid(FieldError::new(field, e.to_string())))
}

/// A document's bytes as the outbox uploads them.
#[derive(Debug, Clone)]
pub struct DocumentUpload {
    pub sha256: String,
    pub data: Vec<u8>,
}

impl Store {
    /// The phone number the resident identified with on this device, if they did.
    pub async fn identity(&self) -> Result<Option<String>, StoreError> {
        self.setting(PHONE_KEY).await
    }

    /// The device token (never shown to the UI).
    pub async fn resident_token(&self) -> Result<Option<String>, StoreError> {
        self.setting(TOKEN_KEY).await
    }

    /// Keeps the number and token the gateway gave; a new number forgets the old one's
    /// dossiers' ETag so the next pull reads them all.
    pub async fn set_identity(&self, phone: &str, token: &str) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        for (key, value) in [
            (PHONE_KEY, Some(phone)),
            (TOKEN_KEY, Some(token)),
            (DOSSIERS_ETAG_KEY, None),
        ] {
            sqlx::query("DELETE FROM settings WHERE key = ?")
                .bind(key)
                .execute(&mut *tx)
                .await?;
            if let Some(value) = value {
                sqlx::query("INSERT INTO settings (key, value) VALUES (?, ?)")
                    .bind(key)
                    .bind(value)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn dossiers_etag(&self) -> Result<Option<String>, StoreError> {
        self.setting(DOSSIERS_ETAG_KEY).await
    }

    /// A new, empty application for `procedure`.
    pub async fn new_application(
        &self,
        procedure: &str,
        now_ms: i64,
    ) -> Result<ApplicationDraft, StoreError> {
        let draft = ApplicationDraft {
            id: Uuid::now_v7(),
            procedure: procedure.to_owned(),
            answers: Map::new(),
            created_at_ms: now_ms,
            updated_at_ms: now_ms,
        };
        sqlx::query(
            "INSERT INTO application_drafts (id, procedure_id, answers, created_at_ms, updated_at_ms) \
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(draft.id.to_string())
        .bind(&draft.procedure)
        .bind("{}")
        .bind(now_ms)
        .bind(now_ms)
        .execute(self.pool())
        .await?;
        Ok(draft)
    }

    /// Saves a draft's answers as they are now.
    pub async fn save_application(
        &self,
        id: Uuid,
        answers: &Map<String, Value>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE application_drafts SET answers = ?, updated_at_ms = ? WHERE id = ?",
        )
        .bind(serde_json::to_string(answers)?)
        .bind(now_ms)
        .bind(id.to_string())
        .execute(self.pool())
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("application draft {id}")));
        }
        Ok(())
    }

    fn draft_of(row: &sqlx::sqlite::SqliteRow) -> Result<ApplicationDraft, StoreError> {
        Ok(ApplicationDraft {
            id: parse_uuid("id", &row.get::<String, _>(0))?,
            procedure: row.get(1),
            answers: serde_json::from_str(&row.get::<String, _>(2))?,
            created_at_ms: row.get(3),
            updated_at_ms: row.get(4),
        })
    }

    /// The drafts, most recently changed first.
    pub async fn application_drafts(&self) -> Result<Vec<ApplicationDraft>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, procedure_id, answers, created_at_ms, updated_at_ms FROM application_drafts \
             ORDER BY updated_at_ms DESC, id",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(Store::draft_of).collect()
    }

    pub async fn application_draft(
        &self,
        id: Uuid,
    ) -> Result<Option<ApplicationDraft>, StoreError> {
        let row = sqlx::query(
            "SELECT id, procedure_id, answers, created_at_ms, updated_at_ms FROM application_drafts \
             WHERE id = ?",
        )
        .bind(id.to_string())
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(Store::draft_of).transpose()
    }

    /// Deletes a draft and the documents only it referred to.
    pub async fn delete_application(&self, id: Uuid) -> Result<(), StoreError> {
        let Some(draft) = self.application_draft(id).await? else {
            return Ok(());
        };
        let mut tx = self.pool().begin().await?;
        for doc in citizen_core::form::attachment_refs(&draft.answers) {
            sqlx::query("DELETE FROM documents WHERE id = ?")
                .bind(doc.id.to_string())
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("DELETE FROM application_drafts WHERE id = ?")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Keeps a document picked by the resident: a PDF as it is (its bytes must say PDF), a
    /// photo or scan upright as JPEG without metadata. Returns the reference the answers keep.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] naming `file`: larger than 10 MiB, or neither a PDF nor an image
    /// the app reads (an executable or a web page named `.pdf` is refused here already).
    pub async fn attach_document(
        &self,
        name: &str,
        original: &[u8],
        now_ms: i64,
    ) -> Result<AttachmentRef, StoreError> {
        let invalid = |m: String| StoreError::Invalid(FieldError::new("file", m));
        if original.len() > MAX_DOCUMENT_BYTES {
            return Err(invalid(format!(
                "{} MB is more than the 10 MB allowed",
                original.len().div_ceil(1024 * 1024)
            )));
        }
        let head = &original[..original.len().min(1024)];
        let name = nfc(trim_invisible(name));
        let name: String = if name.is_empty() {
            "document".into()
        } else {
            name
        };
        let (media_type, data, name) = if head.windows(5).any(|w| w == b"%PDF-") {
            ("application/pdf", original.to_vec(), name)
        } else {
            let data = original.to_vec();
            let scan = tokio::task::spawn_blocking(move || photo::process_scan(&data))
                .await
                .map_err(|e| invalid(e.to_string()))?
                .map_err(|e| invalid(format!("not a PDF, JPEG or PNG document: {e}")))?;
            let stem = name
                .rsplit_once('.')
                .map_or(name.as_str(), |(s, _)| s)
                .to_owned();
            ("image/jpeg", scan.data, format!("{stem}.jpg"))
        };
        if data.len() > MAX_DOCUMENT_BYTES {
            return Err(invalid("the processed image is larger than 10 MB".into()));
        }
        let name: String = name.chars().take(MAX_FILE_NAME_CHARS).collect();
        let doc = AttachmentRef {
            id: Uuid::now_v7(),
            name,
            media_type: media_type.into(),
            size: data.len() as u64,
            sha256: format!("{:x}", Sha256::digest(&data)),
        };
        sqlx::query(
            "INSERT INTO documents (id, name, media_type, sha256, size, data, created_at_ms) \
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(doc.id.to_string())
        .bind(&doc.name)
        .bind(&doc.media_type)
        .bind(&doc.sha256)
        .bind(doc.size as i64)
        .bind(&data)
        .bind(now_ms)
        .execute(self.pool())
        .await?;
        Ok(doc)
    }

    /// The application forms the city publishes.
    pub async fn forms(&self) -> Result<Vec<citizen_core::form::FormSource>, StoreError> {
        self.records().await
    }

    /// The city's departments.
    pub async fn departments(&self) -> Result<Vec<citizen_core::Department>, StoreError> {
        self.records().await
    }

    /// The province's wards and communes, for addresses in forms.
    pub async fn admin_units(&self) -> Result<Option<citizen_core::form::Wards>, StoreError> {
        Ok(self.records().await?.into_iter().next())
    }

    /// Keeps a document downloaded from the gateway (a dossier's result), so it opens offline.
    pub async fn keep_document(
        &self,
        doc: &AttachmentRef,
        data: &[u8],
        now_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO documents (id, name, media_type, sha256, size, data, uploaded, created_at_ms) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
        )
        .bind(doc.id.to_string())
        .bind(&doc.name)
        .bind(&doc.media_type)
        .bind(format!("{:x}", Sha256::digest(data)))
        .bind(data.len() as i64)
        .bind(data)
        .bind(data.len() as i64)
        .bind(now_ms)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// A document kept on this device: its media type and bytes.
    pub async fn document_data(&self, id: Uuid) -> Result<Option<(String, Vec<u8>)>, StoreError> {
        let row = sqlx::query("SELECT media_type, data FROM documents WHERE id = ?")
            .bind(id.to_string())
            .fetch_optional(self.pool())
            .await?;
        Ok(row.map(|r| (r.get(0), r.get(1))))
    }

    /// A document's bytes for its upload.
    pub(crate) async fn document_upload(
        &self,
        id: Uuid,
    ) -> Result<Option<DocumentUpload>, StoreError> {
        let row = sqlx::query("SELECT sha256, data FROM documents WHERE id = ?")
            .bind(id.to_string())
            .fetch_optional(self.pool())
            .await?;
        Ok(row.map(|r| DocumentUpload {
            sha256: r.get(0),
            data: r.get(1),
        }))
    }

    /// Sends a draft: checks it with its form, then in one transaction keeps it as one of the
    /// resident's dossiers (waiting to send), queues it in the outbox and removes the draft.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] naming `phone` when the resident has not identified yet, or the
    /// first answer the form refuses (`answers.<field>`, with the problem's code).
    pub async fn submit_application(
        &self,
        draft_id: Uuid,
        form: &Form,
        ctx: &CheckContext<'_>,
        now_ms: i64,
    ) -> Result<MyDossier, StoreError> {
        if self.resident_token().await?.is_none() {
            return Err(StoreError::Invalid(FieldError::new(
                "phone",
                "identify with your phone number before sending an application",
            )));
        }
        let draft = self
            .application_draft(draft_id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("application draft {draft_id}")))?;
        let answers = form.check(&draft.answers, ctx).map_err(|problems| {
            let first = &problems[0];
            StoreError::Invalid(FieldError::new(
                format!("answers.{}", first.field),
                first.problem.message_key(),
            ))
        })?;
        let application = Application {
            id: draft.id,
            procedure: draft.procedure.clone(),
            answers,
        };
        let body = serde_json::to_string(&application)?;
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "INSERT INTO my_dossiers (id, procedure_id, application, created_at_ms) VALUES (?, ?, ?, ?)",
        )
        .bind(draft.id.to_string())
        .bind(&draft.procedure)
        .bind(&body)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO outbox (op_id, kind, target, body, created_at_ms) VALUES (?, 'application', ?, ?, ?)",
        )
        .bind(draft.id.to_string())
        .bind(draft.id.to_string())
        .bind(&body)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM application_drafts WHERE id = ?")
            .bind(draft.id.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.my_dossier(draft.id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("dossier {}", draft.id)))
    }

    /// Queues a resident's move on a dossier (a supplement with its documents, a rating).
    ///
    /// # Errors
    /// [`StoreError::Invalid`] naming `action` for a move the dossier as last known does not
    /// allow (a supplement nobody asked for, a second rating), or a staff action.
    pub async fn queue_dossier_op(
        &self,
        dossier_id: Uuid,
        action: Action,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let mine = self
            .my_dossier(dossier_id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("dossier {dossier_id}")))?;
        let refuse = |m: &str| StoreError::Invalid(FieldError::new("action", m));
        let action = action.normalized();
        match (&action, mine.status()) {
            (Action::Supplement { .. }, Some(DossierStatus::SupplementRequested)) => {}
            (Action::Supplement { .. }, _) => {
                return Err(refuse("this dossier is not waiting for a supplement"));
            }
            (
                Action::Rate { .. },
                Some(DossierStatus::ResultReady | DossierStatus::Done | DossierStatus::Rejected),
            ) => {}
            (Action::Rate { .. }, _) => {
                return Err(refuse("the service can be rated once the result is out"));
            }
            _ => return Err(refuse("only a supplement or a rating is sent from the app")),
        }
        if mine.waiting.iter().any(|w| w.code() == action.code()) {
            return Err(refuse("this is already waiting to be sent"));
        }
        let op = DossierOp {
            op_id: Uuid::now_v7(),
            action,
        };
        sqlx::query(
            "INSERT INTO outbox (op_id, kind, target, body, created_at_ms) VALUES (?, 'dossier_op', ?, ?, ?)",
        )
        .bind(op.op_id.to_string())
        .bind(dossier_id.to_string())
        .bind(serde_json::to_string(&op)?)
        .bind(now_ms)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The resident's dossiers, newest first, with what waits to be sent.
    pub async fn my_dossiers(&self) -> Result<Vec<MyDossier>, StoreError> {
        let ids: Vec<String> =
            sqlx::query_scalar("SELECT id FROM my_dossiers ORDER BY created_at_ms DESC, id DESC")
                .fetch_all(self.pool())
                .await?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(d) = self.my_dossier(parse_uuid("id", &id)?).await? {
                out.push(d);
            }
        }
        Ok(out)
    }

    pub async fn my_dossier(&self, id: Uuid) -> Result<Option<MyDossier>, StoreError> {
        let row = sqlx::query(
            "SELECT procedure_id, created_at_ms, receipt, dossier, application FROM my_dossiers WHERE id = ?",
        )
        .bind(id.to_string())
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let receipt: Option<String> = row.get(2);
        let dossier: Option<String> = row.get(3);
        let pending = sqlx::query(
            "SELECT kind, body, last_problem FROM outbox WHERE target = ? AND kind IN ('application', 'dossier_op') \
             ORDER BY op_id",
        )
        .bind(id.to_string())
        .fetch_all(self.pool())
        .await?;
        let mut waiting = Vec::new();
        let mut problem = None;
        for p in &pending {
            if p.get::<String, _>(0) == "dossier_op" {
                let op: DossierOp = serde_json::from_str(&p.get::<String, _>(1))?;
                waiting.push(op.action);
            }
            if let Some(code) = p.get::<Option<String>, _>(2) {
                problem = SyncProblem::from_code(&code);
            }
        }
        let application: Application = serde_json::from_str(&row.get::<String, _>(4))?;
        Ok(Some(MyDossier {
            id,
            procedure: row.get(0),
            created_at_ms: row.get(1),
            documents: citizen_core::form::attachment_refs(&application.answers),
            receipt: receipt.map(|r| serde_json::from_str(&r)).transpose()?,
            dossier: dossier.map(|d| serde_json::from_str(&d)).transpose()?,
            waiting,
            problem,
        }))
    }

    /// Stores the gateway's receipt of an application and removes its outbox row.
    pub(crate) async fn application_acknowledged(
        &self,
        receipt: &DossierReceipt,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        sqlx::query("UPDATE my_dossiers SET receipt = ? WHERE id = ?")
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

    /// Stores the dossier the gateway answered a move with and removes the move's outbox row.
    pub(crate) async fn dossier_op_acknowledged(
        &self,
        op_id: Uuid,
        dossier: &Dossier,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        store_dossier(&mut tx, dossier, false).await?;
        sqlx::query("DELETE FROM outbox WHERE op_id = ?")
            .bind(op_id.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Stores the dossiers as the gateway listed them (and their ETag); a change made by the
    /// department since the resident last looked becomes a notice. Returns how many changed.
    pub async fn store_dossiers(
        &self,
        dossiers: &[Dossier],
        etag: Option<&str>,
    ) -> Result<usize, StoreError> {
        let mut tx = self.pool().begin().await?;
        let mut changed = 0;
        for d in dossiers {
            if store_dossier(&mut tx, d, true).await? {
                changed += 1;
            }
        }
        sqlx::query("DELETE FROM settings WHERE key = ?")
            .bind(DOSSIERS_ETAG_KEY)
            .execute(&mut *tx)
            .await?;
        if let Some(etag) = etag {
            sqlx::query("INSERT INTO settings (key, value) VALUES (?, ?)")
                .bind(DOSSIERS_ETAG_KEY)
                .bind(etag)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(changed)
    }

    /// Changes of dossiers not announced yet; they are marked shown.
    pub async fn take_dossier_notices(&self) -> Result<Vec<DossierNotice>, StoreError> {
        let mut tx = self.pool().begin().await?;
        let rows = sqlx::query(
            "SELECT n.dossier_id, n.revision, n.status, d.procedure_id, d.dossier, n.step FROM dossier_notices n \
             JOIN my_dossiers d ON d.id = n.dossier_id WHERE n.shown = 0 ORDER BY n.at_ms, n.revision",
        )
        .fetch_all(&mut *tx)
        .await?;
        sqlx::query("UPDATE dossier_notices SET shown = 1 WHERE shown = 0")
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        let mut out = Vec::new();
        for r in rows {
            let dossier: Option<String> = r.get(4);
            let code = dossier
                .and_then(|d| serde_json::from_str::<Dossier>(&d).ok())
                .map(|d| d.code)
                .unwrap_or_default();
            let Some(status) = DossierStatus::from_code(&r.get::<String, _>(2)) else {
                continue;
            };
            out.push(DossierNotice {
                dossier_id: parse_uuid("dossier_id", &r.get::<String, _>(0))?,
                code,
                procedure: r.get(3),
                status,
                step: r.get(5),
                revision: r.get(1),
            });
        }
        Ok(out)
    }
}

/// Keeps a dossier the gateway sent, if it is newer than the one kept. With `notify`, each
/// step the department took since the revision kept becomes a notice. Returns whether it
/// was newer.
async fn store_dossier(
    tx: &mut sqlx::Transaction<'static, sqlx::Sqlite>,
    dossier: &Dossier,
    notify: bool,
) -> Result<bool, StoreError> {
    let known = sqlx::query("SELECT dossier FROM my_dossiers WHERE id = ?")
        .bind(dossier.id.to_string())
        .fetch_optional(&mut **tx)
        .await?;
    let before = match &known {
        Some(row) => row
            .get::<Option<String>, _>(0)
            .and_then(|d| serde_json::from_str::<Dossier>(&d).ok())
            .map_or(0, |d| d.revision),
        None => 0,
    };
    if dossier.revision <= before {
        return Ok(false);
    }
    let body = serde_json::to_string(dossier)?;
    if known.is_some() {
        sqlx::query("UPDATE my_dossiers SET dossier = ? WHERE id = ?")
            .bind(&body)
            .bind(dossier.id.to_string())
            .execute(&mut **tx)
            .await?;
    } else {
        // Applied from another device with the same number, or before a reinstall.
        let application = Application {
            id: dossier.id,
            procedure: dossier.procedure.clone(),
            answers: dossier.answers.clone(),
        };
        sqlx::query(
            "INSERT INTO my_dossiers (id, procedure_id, application, dossier, seen_revision, created_at_ms) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(dossier.id.to_string())
        .bind(&dossier.procedure)
        .bind(serde_json::to_string(&application)?)
        .bind(&body)
        .bind(dossier.revision)
        .bind(dossier.submitted_at_ms)
        .execute(&mut **tx)
        .await?;
        return Ok(true);
    }
    if notify {
        // Timeline entry i is revision i + 1.
        for (i, entry) in dossier.timeline.iter().enumerate() {
            let revision = i as i64 + 1;
            if revision > before && entry.actor == citizen_core::dossier::Actor::Staff {
                sqlx::query(
                    "INSERT INTO dossier_notices (dossier_id, revision, status, step, at_ms) \
                     VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                )
                .bind(dossier.id.to_string())
                .bind(revision)
                .bind(entry.status.code())
                .bind(entry.action.as_ref().map_or("submitted", Action::code))
                .bind(entry.at_ms)
                .execute(&mut **tx)
                .await?;
            }
        }
    }
    Ok(true)
}
