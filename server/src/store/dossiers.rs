//! Dossiers of online public services: accepted once per application id, with documents that
//! were uploaded and checked first, moved along by `citizen_core::dossier`'s state machine
//! under a row lock (so two instances never apply two moves to the same state), and read only
//! by the phone number that applied and the department that handles them. Nothing here is
//! ever a record of the public feed.

use citizen_core::dossier::{
    Action, Actor, Application, Dossier, DossierReceipt, DossierStatus, DossierSummary,
    StaffDossier, TransitionError,
};
use citizen_core::form::AttachmentRef;
use citizen_core::report::FieldError;
use citizen_core::worktime::WorkCalendar;
use rand::Rng;
use sha2::{Digest, Sha256};
use sqlx::{Any, Row, Transaction};
use uuid::Uuid;

use super::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum DossierError {
    #[error("{0}")]
    Invalid(FieldError),
    #[error("{0}")]
    Conflict(FieldError),
    /// No such dossier for this caller (whether it exists is not said).
    #[error("no such dossier")]
    NotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for DossierError {
    fn from(e: sqlx::Error) -> Self {
        DossierError::Store(e.into())
    }
}

impl From<serde_json::Error> for DossierError {
    fn from(e: serde_json::Error) -> Self {
        DossierError::Store(e.into())
    }
}

impl From<TransitionError> for DossierError {
    fn from(e: TransitionError) -> Self {
        match e {
            TransitionError::NotAllowed { .. } => DossierError::Conflict(e.field_error()),
            TransitionError::Invalid(f) => DossierError::Invalid(f),
        }
    }
}

/// Who is asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// A resident's device token, for this phone number.
    Resident(String),
    /// A staff token of this department.
    Staff(String),
}

impl Caller {
    fn actor(&self) -> Actor {
        match self {
            Caller::Resident(_) => Actor::Resident,
            Caller::Staff(_) => Actor::Staff,
        }
    }

    fn may_see(&self, phone: &str, department: &str) -> bool {
        match self {
            Caller::Resident(p) => p == phone,
            Caller::Staff(d) => d == department,
        }
    }
}

/// The letters of a dossier code: digits and capitals without 0/O, 1/I/L and U, which are
/// misheard or misread (Crockford's base 32 idea). 8 of them give 30^8 ≈ 6.6 × 10^11 codes.
const CODE_ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTVWXYZ";

/// `MT-K7Q4-9D2X`: the city's letters and 8 random letters in two groups of four.
fn new_code(prefix: &str) -> String {
    let mut rng = rand::rng();
    let mut pick = || CODE_ALPHABET[rng.random_range(0..CODE_ALPHABET.len())] as char;
    let a: String = (0..4).map(|_| pick()).collect();
    let b: String = (0..4).map(|_| pick()).collect();
    format!("{prefix}-{a}-{b}")
}

/// A dossier code as a person may type it (lower case, spaces, no dashes) in its stored form.
pub fn normalize_code(code: &str) -> String {
    let letters: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if letters.len() < 9 {
        return letters;
    }
    let (head, tail) = letters.split_at(letters.len() - 8);
    format!("{head}-{}-{}", &tail[..4], &tail[4..])
}

/// What a new dossier needs besides the application.
pub struct Intake<'a> {
    /// The number the applicant identified with.
    pub phone: &'a str,
    pub department: &'a str,
    /// Letters before the code (`MT`).
    pub code_prefix: &'a str,
    /// The answers as the form check kept them.
    pub answers: serde_json::Map<String, serde_json::Value>,
    /// The documents of the answers, with the answer field each is for.
    pub documents: Vec<(String, AttachmentRef)>,
    pub now_ms: i64,
    pub due_at_ms: i64,
}

impl Store {
    /// Accepts an application once: the same id again with the same content from the same
    /// number answers the first receipt; with other content it is refused.
    ///
    /// # Errors
    /// [`DossierError::Conflict`] naming the field: the id reused with other content, a
    /// document that is not a completed document upload with this size and hash, or that
    /// belongs to another dossier.
    pub async fn submit_dossier(
        &self,
        app: &Application,
        intake: Intake<'_>,
    ) -> Result<DossierReceipt, DossierError> {
        let request_hash = format!(
            "{:x}",
            Sha256::digest(serde_json::to_vec(&(app, intake.phone))?)
        );
        let mut tx = self.begin_rows().await?;
        if let Some(receipt) = self.known_application(&mut tx, app, &request_hash).await? {
            tx.rollback().await?;
            return Ok(receipt);
        }
        for (i, (field, doc)) in intake.documents.iter().enumerate() {
            let path = format!("answers.{field}");
            let at = intake.documents[..i]
                .iter()
                .filter(|(f, _)| f == field)
                .count();
            self.check_document(&mut tx, &format!("{path}[{at}]"), doc, app.id)
                .await?;
        }
        let documents: Vec<AttachmentRef> =
            intake.documents.iter().map(|(_, d)| d.clone()).collect();
        for _ in 0..8 {
            let code = new_code(intake.code_prefix);
            let dossier = Dossier::received(
                app.id,
                code.clone(),
                app.procedure.clone(),
                intake.department.to_owned(),
                intake.answers.clone(),
                documents.clone(),
                intake.now_ms,
                intake.due_at_ms,
            );
            // ON CONFLICT without a target covers both the id and the code: a concurrent
            // sender of the same id waits for the first and then finds it below.
            let made = sqlx::query(
                "INSERT INTO dossiers (id, code, phone, procedure_id, department, status, \
                 due_at_ms, request_hash, body, revision, submitted_at_ms, updated_at_ms) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT DO NOTHING",
            )
            .bind(app.id.to_string())
            .bind(&code)
            .bind(intake.phone)
            .bind(&app.procedure)
            .bind(intake.department)
            .bind(dossier.status.code())
            .bind(dossier.due_at_ms)
            .bind(&request_hash)
            .bind(serde_json::to_string(&dossier)?)
            .bind(dossier.revision)
            .bind(intake.now_ms)
            .bind(intake.now_ms)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if made == 0 {
                if let Some(receipt) = self.known_application(&mut tx, app, &request_hash).await? {
                    tx.rollback().await?;
                    return Ok(receipt);
                }
                // The code was taken: draw another.
                continue;
            }
            bind_documents(&mut tx, app.id, &documents).await?;
            tx.commit().await?;
            return Ok(DossierReceipt {
                id: app.id,
                code,
                status: dossier.status,
                submitted_at_ms: intake.now_ms,
                due_at_ms: dossier.due_at_ms,
            });
        }
        Err(DossierError::Store(StoreError::Task(
            "no free dossier code after 8 draws".into(),
        )))
    }

    /// The receipt of an application already stored under this id, if it is the same one.
    async fn known_application(
        &self,
        tx: &mut Transaction<'static, Any>,
        app: &Application,
        request_hash: &str,
    ) -> Result<Option<DossierReceipt>, DossierError> {
        let row = sqlx::query("SELECT request_hash, body FROM dossiers WHERE id = $1")
            .bind(app.id.to_string())
            .fetch_optional(&mut **tx)
            .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let hash: String = row.get(0);
        if hash != request_hash {
            return Err(DossierError::Conflict(FieldError::new(
                "id",
                format!(
                    "application {} was already sent with other content; a new application needs a new id",
                    app.id
                ),
            )));
        }
        let first: Dossier = serde_json::from_str(&row.get::<String, _>(1))?;
        Ok(Some(DossierReceipt {
            id: first.id,
            code: first.code,
            status: first.status,
            submitted_at_ms: first.submitted_at_ms,
            due_at_ms: first.due_at_ms,
        }))
    }

    /// Checks that `doc` is a completed, checked document upload with this size and hash, not
    /// bound to another dossier; locks its row until the transaction ends.
    async fn check_document(
        &self,
        tx: &mut Transaction<'static, Any>,
        field: &str,
        doc: &AttachmentRef,
        dossier: Uuid,
    ) -> Result<(), DossierError> {
        let sql = self
            .backend
            .locking("SELECT size, sha256, complete, kind FROM uploads WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(doc.id.to_string())
            .fetch_optional(&mut **tx)
            .await?;
        // The document row is locked too (an outer join cannot be locked on PostgreSQL).
        let sql = self
            .backend
            .locking("SELECT dossier_id, media_type FROM documents WHERE id = $1");
        let kept = sqlx::query(&sql)
            .bind(doc.id.to_string())
            .fetch_optional(&mut **tx)
            .await?;
        let (bound, media_type): (Option<String>, Option<String>) = match kept {
            Some(k) => (k.get(0), Some(k.get(1))),
            None => (None, None),
        };
        let problem = match row {
            None => Some("no upload with this id: upload the document first".to_owned()),
            Some(row) => {
                let size: i64 = row.get(0);
                let sha: String = row.get(1);
                let complete = row.get::<i64, _>(2) != 0;
                let kind: String = row.get(3);
                if kind != "document" {
                    Some("this upload was announced as a photo, not a document".to_owned())
                } else if size as u64 != doc.size || sha != doc.sha256 {
                    Some("size or SHA-256 differ from the upload's".to_owned())
                } else if !complete {
                    Some("the upload is not complete yet".to_owned())
                } else if bound.is_some_and(|d| d != dossier.to_string()) {
                    Some("this document belongs to another dossier".to_owned())
                } else if media_type.as_deref() != Some(doc.media_type.as_str()) {
                    Some(format!(
                        "the document is {}, not {}",
                        media_type.unwrap_or_default(),
                        doc.media_type
                    ))
                } else {
                    None
                }
            }
        };
        match problem {
            Some(message) => Err(DossierError::Conflict(FieldError::new(field, message))),
            None => Ok(()),
        }
    }

    /// Applies an action to a dossier the caller may see, by id or code. With `op_id`, an
    /// operation applied before is answered with the dossier as it is now, unchanged.
    ///
    /// # Errors
    /// [`DossierError::NotFound`] when the caller may not see the dossier (or it does not
    /// exist); [`DossierError::Conflict`] for a move the state machine refuses or an op id
    /// reused for something else; [`DossierError::Invalid`] naming the invalid field.
    pub async fn act_on_dossier(
        &self,
        key: &str,
        caller: &Caller,
        op_id: Option<Uuid>,
        action: Action,
        calendar: &WorkCalendar,
        now_ms: i64,
    ) -> Result<Dossier, DossierError> {
        let mut tx = self.begin_rows().await?;
        let sql = self
            .backend
            .locking("SELECT id, phone, department, body FROM dossiers WHERE id = $1 OR code = $2");
        let row = sqlx::query(&sql)
            .bind(key)
            .bind(normalize_code(key))
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else {
            tx.rollback().await?;
            return Err(DossierError::NotFound);
        };
        let (id, phone, department): (String, String, String) =
            (row.get(0), row.get(1), row.get(2));
        if !caller.may_see(&phone, &department) {
            tx.rollback().await?;
            return Err(DossierError::NotFound);
        }
        let dossier: Dossier = serde_json::from_str(&row.get::<String, _>(3))?;
        let request_hash = format!("{:x}", Sha256::digest(serde_json::to_vec(&(&id, &action))?));
        if let Some(op) = op_id {
            let known =
                sqlx::query("SELECT dossier_id, request_hash FROM dossier_ops WHERE op_id = $1")
                    .bind(op.to_string())
                    .fetch_optional(&mut *tx)
                    .await?;
            if let Some(known) = known {
                tx.rollback().await?;
                let (on, hash): (String, String) = (known.get(0), known.get(1));
                if on != id || hash != request_hash {
                    return Err(DossierError::Conflict(FieldError::new(
                        "op_id",
                        "this operation id was already used for another operation",
                    )));
                }
                return Ok(dossier);
            }
        }
        for (i, doc) in action.documents().into_iter().enumerate() {
            let field = match action {
                Action::UploadResult { .. } => "action.document".to_owned(),
                _ => format!("action.documents[{i}]"),
            };
            self.check_document(&mut tx, &field, doc, dossier.id)
                .await?;
        }
        let documents: Vec<AttachmentRef> = action.documents().into_iter().cloned().collect();
        let next = dossier.apply(caller.actor(), action, now_ms, calendar)?;
        sqlx::query(
            "UPDATE dossiers SET status = $1, due_at_ms = $2, body = $3, revision = $4, \
             updated_at_ms = $5 WHERE id = $6",
        )
        .bind(next.status.code())
        .bind(next.due_at_ms)
        .bind(serde_json::to_string(&next)?)
        .bind(next.revision)
        .bind(now_ms)
        .bind(&id)
        .execute(&mut *tx)
        .await?;
        bind_documents(&mut tx, next.id, &documents).await?;
        if let Some(op) = op_id {
            sqlx::query(
                "INSERT INTO dossier_ops (op_id, dossier_id, request_hash, revision) VALUES ($1, $2, $3, $4)",
            )
            .bind(op.to_string())
            .bind(&id)
            .bind(&request_hash)
            .bind(next.revision)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(next)
    }

    /// The dossiers of a phone number, newest first.
    pub async fn resident_dossiers(&self, phone: &str) -> Result<Vec<Dossier>, DossierError> {
        let bodies: Vec<String> = sqlx::query_scalar(
            "SELECT body FROM dossiers WHERE phone = $1 ORDER BY submitted_at_ms DESC, id",
        )
        .bind(phone)
        .fetch_all(&self.pool)
        .await?;
        Ok(bodies
            .iter()
            .map(|b| serde_json::from_str(b))
            .collect::<Result<_, _>>()?)
    }

    /// A dossier by id or code with its applicant's number, if `caller` may see it.
    async fn visible(&self, key: &str, caller: &Caller) -> Result<(Dossier, String), DossierError> {
        let row =
            sqlx::query("SELECT phone, department, body FROM dossiers WHERE id = $1 OR code = $2")
                .bind(key)
                .bind(normalize_code(key))
                .fetch_optional(&self.pool)
                .await?
                .ok_or(DossierError::NotFound)?;
        let (phone, department): (String, String) = (row.get(0), row.get(1));
        if !caller.may_see(&phone, &department) {
            return Err(DossierError::NotFound);
        }
        Ok((serde_json::from_str(&row.get::<String, _>(2))?, phone))
    }

    /// A dossier by id or code, if the caller may see it.
    pub async fn dossier_for(&self, key: &str, caller: &Caller) -> Result<Dossier, DossierError> {
        Ok(self.visible(key, caller).await?.0)
    }

    /// A dossier with its applicant's number, for the handling department's staff.
    pub async fn staff_dossier(
        &self,
        key: &str,
        department: &str,
        now_ms: i64,
    ) -> Result<StaffDossier, DossierError> {
        let (dossier, phone) = self
            .visible(key, &Caller::Staff(department.to_owned()))
            .await?;
        Ok(StaffDossier {
            overdue: dossier.is_overdue(now_ms),
            dossier,
            phone,
        })
    }

    /// A department's queue: by status (all when none), only the overdue ones if asked,
    /// the most urgent first (due soonest, then oldest), `limit` from `offset`.
    pub async fn dossier_queue(
        &self,
        department: &str,
        status: Option<DossierStatus>,
        overdue_only: bool,
        (limit, offset): (i64, i64),
        now_ms: i64,
    ) -> Result<Vec<DossierSummary>, DossierError> {
        let pending: Vec<&str> = DossierStatus::ALL
            .into_iter()
            .filter(|s| s.is_pending())
            .map(DossierStatus::code)
            .collect();
        let mut sql = String::from(
            "SELECT id, code, procedure_id, status, submitted_at_ms, due_at_ms FROM dossiers \
             WHERE department = $1",
        );
        let mut n = 1;
        if status.is_some() {
            n += 1;
            sql.push_str(&format!(" AND status = ${n}"));
        }
        if overdue_only {
            n += 1;
            sql.push_str(&format!(
                " AND due_at_ms < ${n} AND status IN ('{}')",
                pending.join("', '")
            ));
        }
        sql.push_str(&format!(
            " ORDER BY CASE WHEN due_at_ms IS NULL THEN 1 ELSE 0 END, due_at_ms, submitted_at_ms, id \
             LIMIT ${} OFFSET ${}",
            n + 1,
            n + 2
        ));
        let mut query = sqlx::query(&sql).bind(department);
        if let Some(s) = status {
            query = query.bind(s.code());
        }
        if overdue_only {
            query = query.bind(now_ms);
        }
        let rows = query.bind(limit).bind(offset).fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| {
                let status = DossierStatus::from_code(&r.get::<String, _>(3)).ok_or_else(|| {
                    StoreError::Task(format!("unknown status {}", r.get::<String, _>(3)))
                })?;
                let due: Option<i64> = r.get(5);
                Ok(DossierSummary {
                    id: r
                        .get::<String, _>(0)
                        .parse()
                        .map_err(|e: uuid::Error| StoreError::Task(e.to_string()))?,
                    code: r.get(1),
                    procedure: r.get(2),
                    status,
                    submitted_at_ms: r.get(4),
                    due_at_ms: due,
                    overdue: status.is_pending() && due.is_some_and(|d| now_ms > d),
                })
            })
            .collect()
    }

    /// A document of a dossier the caller may see: its media type and bytes.
    pub async fn dossier_document(
        &self,
        key: &str,
        document: Uuid,
        caller: &Caller,
    ) -> Result<(String, Vec<u8>), DossierError> {
        let dossier = self.dossier_for(key, caller).await?;
        let row =
            sqlx::query("SELECT media_type, data FROM documents WHERE id = $1 AND dossier_id = $2")
                .bind(document.to_string())
                .bind(dossier.id.to_string())
                .fetch_optional(&self.pool)
                .await?
                .ok_or(DossierError::NotFound)?;
        Ok((row.get(0), row.get(1)))
    }
}

async fn bind_documents(
    tx: &mut Transaction<'static, Any>,
    dossier: Uuid,
    documents: &[AttachmentRef],
) -> Result<(), sqlx::Error> {
    for doc in documents {
        sqlx::query("UPDATE documents SET dossier_id = $1 WHERE id = $2")
            .bind(dossier.to_string())
            .bind(doc.id.to_string())
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_readable_and_typed_back_in_any_form() {
        let code = new_code("MT");
        assert_eq!(code.len(), 12, "{code}");
        assert!(
            code[3..]
                .chars()
                .all(|c| c == '-' || CODE_ALPHABET.contains(&(c as u8)))
        );
        assert_eq!(normalize_code("mt k7q4 9d2x"), "MT-K7Q4-9D2X");
        assert_eq!(normalize_code("MT-K7Q4-9D2X"), "MT-K7Q4-9D2X");
        assert_eq!(normalize_code("mtk7q49d2x"), "MT-K7Q4-9D2X");
    }
}
