//! A dossier (hồ sơ) of an online public service, and the one state machine that moves it:
//! received → in review → supplement requested → (the resident supplements) → in review →
//! approved or rejected → result ready → done. Pure: the gateway stores what [`Dossier::apply`]
//! returns; the app shows it.
//!
//! The one-stop rules behind it (Decree 61/2018/NĐ-CP as amended by Decree 107/2021/NĐ-CP,
//! art. 15–19): a missing document is asked for once, listing every missing item and the
//! reason; the processing clock stops while the dossier waits for the resident; a rejection
//! gives its reason; a dossier that will be late gets an apology slip with the reason and a
//! new date, which the resident sees; the resident may rate the service afterwards.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::form::AttachmentRef;
use crate::report::FieldError;
use crate::text::{nfc, trim_invisible, visible_len};
use crate::worktime::WorkCalendar;

/// The longest reason, note or answer: 4 000 characters.
pub const MAX_NOTE_CHARS: usize = 4_000;
/// The most items one supplement request lists.
pub const MAX_SUPPLEMENT_ITEMS: usize = 30;
/// The most documents one supplement carries.
pub const MAX_SUPPLEMENT_DOCUMENTS: usize = 10;
/// The longest rating comment: 1 000 characters.
pub const MAX_COMMENT_CHARS: usize = 1_000;

/// Where a dossier stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DossierStatus {
    Received,
    InReview,
    /// Waiting for the resident: the clock is stopped.
    SupplementRequested,
    Approved,
    Rejected,
    /// The result document can be downloaded.
    ResultReady,
    Done,
}

impl DossierStatus {
    pub const ALL: [DossierStatus; 7] = [
        DossierStatus::Received,
        DossierStatus::InReview,
        DossierStatus::SupplementRequested,
        DossierStatus::Approved,
        DossierStatus::Rejected,
        DossierStatus::ResultReady,
        DossierStatus::Done,
    ];

    pub fn code(self) -> &'static str {
        match self {
            DossierStatus::Received => "received",
            DossierStatus::InReview => "in_review",
            DossierStatus::SupplementRequested => "supplement_requested",
            DossierStatus::Approved => "approved",
            DossierStatus::Rejected => "rejected",
            DossierStatus::ResultReady => "result_ready",
            DossierStatus::Done => "done",
        }
    }

    pub fn from_code(code: &str) -> Option<DossierStatus> {
        DossierStatus::ALL.into_iter().find(|s| s.code() == code)
    }

    /// The translation key of the status's name (`dossier-status-in-review`).
    pub fn message_key(self) -> &'static str {
        match self {
            DossierStatus::Received => "dossier-status-received",
            DossierStatus::InReview => "dossier-status-in-review",
            DossierStatus::SupplementRequested => "dossier-status-supplement-requested",
            DossierStatus::Approved => "dossier-status-approved",
            DossierStatus::Rejected => "dossier-status-rejected",
            DossierStatus::ResultReady => "dossier-status-result-ready",
            DossierStatus::Done => "dossier-status-done",
        }
    }

    /// Whether the department still owes the resident an answer (the clock runs).
    pub fn is_pending(self) -> bool {
        matches!(
            self,
            DossierStatus::Received | DossierStatus::InReview | DossierStatus::Approved
        )
    }
}

/// One missing item of a supplement request and why it is needed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SupplementItem {
    /// What is missing (`a certified copy of the land use right certificate`).
    pub item: String,
    /// Why (`the copy sent is unreadable on page 2`).
    pub reason: String,
}

/// Who acts on a dossier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Actor {
    Resident,
    /// The staff of the department handling the dossier.
    Staff,
}

/// A move of a dossier, by the staff or by the resident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// Staff: received → in review.
    StartReview,
    /// Staff, once per dossier: lists every missing item with its reason; the clock stops.
    RequestSupplement { items: Vec<SupplementItem> },
    /// Resident: answers a supplement request with a text and documents; the clock runs again
    /// with the working time that was left.
    Supplement {
        answer: String,
        #[serde(default)]
        documents: Vec<AttachmentRef>,
    },
    /// Staff: in review → approved.
    Approve {
        #[serde(default)]
        note: Option<String>,
    },
    /// Staff: received or in review → rejected, with the reason.
    Reject { reason: String },
    /// Staff: approved → result ready, with the result document (uploaded first).
    UploadResult {
        document: AttachmentRef,
        #[serde(default)]
        note: Option<String>,
    },
    /// Staff: for a dossier past its due date (or due within a day), the apology slip: the
    /// reason and the new date (`YYYY-MM-DD`; due at that day's closing).
    RecordDelay {
        reason: String,
        new_due_date: String,
    },
    /// Staff: result ready → done (handed over).
    Complete,
    /// Resident, once, after the result or a rejection: 1–5 stars and a comment.
    Rate {
        stars: u8,
        #[serde(default)]
        comment: Option<String>,
    },
}

impl Action {
    /// The action's name on the wire (`request_supplement`).
    pub fn code(&self) -> &'static str {
        match self {
            Action::StartReview => "start_review",
            Action::RequestSupplement { .. } => "request_supplement",
            Action::Supplement { .. } => "supplement",
            Action::Approve { .. } => "approve",
            Action::Reject { .. } => "reject",
            Action::UploadResult { .. } => "upload_result",
            Action::RecordDelay { .. } => "record_delay",
            Action::Complete => "complete",
            Action::Rate { .. } => "rate",
        }
    }

    /// Who may take it.
    pub fn actor(&self) -> Actor {
        match self {
            Action::Supplement { .. } | Action::Rate { .. } => Actor::Resident,
            _ => Actor::Staff,
        }
    }

    /// The documents the action brings (to be bound to the dossier).
    pub fn documents(&self) -> Vec<&AttachmentRef> {
        match self {
            Action::Supplement { documents, .. } => documents.iter().collect(),
            Action::UploadResult { document, .. } => vec![document],
            _ => Vec::new(),
        }
    }

    /// The action with its texts in NFC and trimmed.
    pub fn normalized(self) -> Action {
        let text = |t: String| nfc(trim_invisible(&t));
        let note = |t: Option<String>| t.map(text).filter(|t| !t.is_empty());
        match self {
            Action::RequestSupplement { items } => Action::RequestSupplement {
                items: items
                    .into_iter()
                    .map(|i| SupplementItem {
                        item: text(i.item),
                        reason: text(i.reason),
                    })
                    .collect(),
            },
            Action::Supplement { answer, documents } => Action::Supplement {
                answer: text(answer),
                documents,
            },
            Action::Approve { note: n } => Action::Approve { note: note(n) },
            Action::Reject { reason } => Action::Reject {
                reason: text(reason),
            },
            Action::UploadResult { document, note: n } => Action::UploadResult {
                document,
                note: note(n),
            },
            Action::RecordDelay {
                reason,
                new_due_date,
            } => Action::RecordDelay {
                reason: text(reason),
                new_due_date: new_due_date.trim().to_owned(),
            },
            Action::Rate { stars, comment } => Action::Rate {
                stars,
                comment: note(comment),
            },
            other => other,
        }
    }
}

/// One line of a dossier's timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TimelineEntry {
    /// Ms since epoch, the gateway's clock.
    pub at_ms: i64,
    pub actor: Actor,
    /// The status after this step.
    pub status: DossierStatus,
    /// The step; none for the submission itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<Action>,
}

/// The resident's rating of the service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Rating {
    /// 1–5.
    pub stars: u8,
    pub comment: Option<String>,
}

/// A dossier as the resident and the department see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Dossier {
    /// The application's id, made on the device (UUIDv7).
    pub id: Uuid,
    /// The code a person reads out on the phone (`MT-K7Q4-9D2X`).
    pub code: String,
    pub procedure: String,
    pub department: String,
    pub status: DossierStatus,
    /// The answers as checked and kept (see `citizen_core::form`).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub answers: Map<String, Value>,
    /// Every document of the dossier: the application's, the supplements', the result.
    pub documents: Vec<AttachmentRef>,
    pub submitted_at_ms: i64,
    /// When the department owes the result, ms since epoch; none while the clock is stopped.
    pub due_at_ms: Option<i64>,
    /// Office minutes that were left when the clock stopped for a supplement.
    pub paused_minutes_left: Option<i64>,
    /// The open or answered supplement request, if there was one.
    pub supplement: Option<Vec<SupplementItem>>,
    pub result: Option<AttachmentRef>,
    pub rating: Option<Rating>,
    pub timeline: Vec<TimelineEntry>,
    /// Grows by one with each step: devices notify when it moves.
    pub revision: i64,
}

/// An application as a device sends it: the draft's id, the procedure and the answers (files
/// as [`AttachmentRef`]s of completed document uploads).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Application {
    /// Made on the device (UUIDv7): sending it again is answered with the same dossier.
    pub id: Uuid,
    pub procedure: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub answers: Map<String, Value>,
}

/// What the gateway answers to an application.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DossierReceipt {
    pub id: Uuid,
    /// The dossier code to read out on the phone.
    pub code: String,
    pub status: DossierStatus,
    pub submitted_at_ms: i64,
    pub due_at_ms: Option<i64>,
}

/// An action a device sends on a dossier, with its own id so a resend changes nothing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DossierOp {
    /// Made on the device (UUIDv7).
    pub op_id: Uuid,
    pub action: Action,
}

/// One line of a department's queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DossierSummary {
    pub id: Uuid,
    pub code: String,
    pub procedure: String,
    pub status: DossierStatus,
    pub submitted_at_ms: i64,
    pub due_at_ms: Option<i64>,
    /// Past its due date while the department still owes the answer.
    pub overdue: bool,
}

/// A dossier as its department's staff open it: with the applicant's phone number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StaffDossier {
    pub dossier: Dossier,
    /// The number the applicant identified with (`+84…`).
    pub phone: String,
    pub overdue: bool,
}

/// An application being written on the device, saved on every change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApplicationDraft {
    /// Becomes the application's and the dossier's id (UUIDv7).
    pub id: Uuid,
    pub procedure: String,
    pub answers: Map<String, Value>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

/// One of the resident's dossiers as the device knows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MyDossier {
    pub id: Uuid,
    pub procedure: String,
    /// When it was sent from this device (the device's clock).
    pub created_at_ms: i64,
    /// The documents the application was sent with.
    pub documents: Vec<AttachmentRef>,
    /// The gateway's receipt, once it took the application.
    pub receipt: Option<DossierReceipt>,
    /// The dossier as the gateway last told it.
    pub dossier: Option<Dossier>,
    /// Moves of the resident waiting to be sent (a supplement, a rating).
    pub waiting: Vec<Action>,
    /// Why the last attempt to send failed, if it did.
    pub problem: Option<crate::views::SyncProblem>,
}

impl MyDossier {
    /// The status to show: the dossier's, or received once the receipt came; `None` while
    /// the application waits to be sent.
    pub fn status(&self) -> Option<DossierStatus> {
        self.dossier
            .as_ref()
            .map(|d| d.status)
            .or(self.receipt.as_ref().map(|r| r.status))
    }

    pub fn code(&self) -> Option<&str> {
        self.dossier
            .as_ref()
            .map(|d| d.code.as_str())
            .or(self.receipt.as_ref().map(|r| r.code.as_str()))
    }
}

/// A change of a dossier to tell the resident about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DossierNotice {
    pub dossier_id: Uuid,
    pub code: String,
    pub procedure: String,
    pub status: DossierStatus,
    /// The department's step (`request_supplement`, `record_delay` …; see [`Action::code`]).
    pub step: String,
    pub revision: i64,
}

/// Why an action was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TransitionError {
    /// The dossier's state does not allow the action (HTTP 409).
    #[error("{message}")]
    NotAllowed { action: String, message: String },
    /// A field of the action is invalid (HTTP 400).
    #[error("{0}")]
    Invalid(FieldError),
}

impl TransitionError {
    /// The field an answer names: the action's field, or `action`.
    pub fn field_error(&self) -> FieldError {
        match self {
            TransitionError::NotAllowed { message, .. } => FieldError::new("action", message),
            TransitionError::Invalid(e) => e.clone(),
        }
    }
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> TransitionError {
    TransitionError::Invalid(FieldError::new(field, message))
}

fn check_text(field: &str, text: &str, required: bool, max: usize) -> Result<(), TransitionError> {
    if required && text.is_empty() {
        return Err(invalid(field, "must not be empty"));
    }
    if visible_len(text) > max {
        return Err(invalid(field, format!("at most {max} characters")));
    }
    Ok(())
}

impl Dossier {
    /// A dossier just received: due after the procedure's working days.
    #[allow(
        clippy::too_many_arguments,
        reason = "the parts of a new dossier, named"
    )]
    pub fn received(
        id: Uuid,
        code: String,
        procedure: String,
        department: String,
        answers: Map<String, Value>,
        documents: Vec<AttachmentRef>,
        now_ms: i64,
        due_at_ms: i64,
    ) -> Dossier {
        Dossier {
            id,
            code,
            procedure,
            department,
            status: DossierStatus::Received,
            answers,
            documents,
            submitted_at_ms: now_ms,
            due_at_ms: Some(due_at_ms),
            paused_minutes_left: None,
            supplement: None,
            result: None,
            rating: None,
            timeline: vec![TimelineEntry {
                at_ms: now_ms,
                actor: Actor::Resident,
                status: DossierStatus::Received,
                action: None,
            }],
            revision: 1,
        }
    }

    /// Whether the department is late: the due date has passed and it still owes an answer.
    pub fn is_overdue(&self, now_ms: i64) -> bool {
        self.status.is_pending() && self.due_at_ms.is_some_and(|due| now_ms > due)
    }

    /// The dossier after `action` by `actor` at `now_ms` (the action normalized first).
    ///
    /// # Errors
    /// [`TransitionError::NotAllowed`] when the actor may not take the action, or the state
    /// does not allow it (a second supplement request, a supplement nobody asked for, a result
    /// before approval, a decision on a late dossier whose delay is not recorded, a second
    /// rating …); [`TransitionError::Invalid`] naming the field of an invalid action (an empty
    /// reason, 0 stars, a new due date in the past …).
    pub fn apply(
        &self,
        actor: Actor,
        action: Action,
        now_ms: i64,
        calendar: &WorkCalendar,
    ) -> Result<Dossier, TransitionError> {
        use DossierStatus as S;
        let action = action.normalized();
        let code = action.code();
        let not_allowed = |message: String| TransitionError::NotAllowed {
            action: code.to_owned(),
            message,
        };
        if action.actor() != actor {
            return Err(not_allowed(format!(
                "{code} is not an action of the {}",
                match actor {
                    Actor::Resident => "resident",
                    Actor::Staff => "department",
                }
            )));
        }
        let wrong_state = || {
            not_allowed(format!(
                "a dossier that is {} cannot {}",
                self.status.code().replace('_', " "),
                code.replace('_', " ")
            ))
        };
        // A decision on a late dossier comes after its apology slip.
        let decides = matches!(
            action,
            Action::Approve { .. } | Action::Reject { .. } | Action::UploadResult { .. }
        );
        if decides && self.is_overdue(now_ms) {
            return Err(not_allowed(
                "the dossier is past its due date: record the delay (reason and new date) first"
                    .into(),
            ));
        }
        let mut next = self.clone();
        match &action {
            Action::StartReview => {
                if self.status != S::Received {
                    return Err(wrong_state());
                }
                next.status = S::InReview;
            }
            Action::RequestSupplement { items } => {
                if self.supplement.is_some() {
                    return Err(not_allowed(
                        "a supplement was already requested: the one-stop rules allow one request listing everything".into(),
                    ));
                }
                if !matches!(self.status, S::Received | S::InReview) {
                    return Err(wrong_state());
                }
                if items.is_empty() {
                    return Err(invalid("items", "list every missing item, at least one"));
                }
                if items.len() > MAX_SUPPLEMENT_ITEMS {
                    return Err(invalid(
                        "items",
                        format!("at most {MAX_SUPPLEMENT_ITEMS} items"),
                    ));
                }
                for (i, item) in items.iter().enumerate() {
                    check_text(&format!("items[{i}].item"), &item.item, true, 500)?;
                    check_text(
                        &format!("items[{i}].reason"),
                        &item.reason,
                        true,
                        MAX_NOTE_CHARS,
                    )?;
                }
                next.status = S::SupplementRequested;
                next.supplement = Some(items.clone());
                next.paused_minutes_left = Some(
                    self.due_at_ms
                        .map_or(0, |due| calendar.working_minutes_between(now_ms, due)),
                );
                next.due_at_ms = None;
            }
            Action::Supplement { answer, documents } => {
                if self.status != S::SupplementRequested {
                    return Err(not_allowed(
                        "this dossier is not waiting for a supplement".into(),
                    ));
                }
                check_text("answer", answer, true, MAX_NOTE_CHARS)?;
                if documents.len() > MAX_SUPPLEMENT_DOCUMENTS {
                    return Err(invalid(
                        "documents",
                        format!("at most {MAX_SUPPLEMENT_DOCUMENTS} documents"),
                    ));
                }
                for (i, d) in documents.iter().enumerate() {
                    if self
                        .documents
                        .iter()
                        .chain(&documents[..i])
                        .any(|o| o.id == d.id)
                    {
                        return Err(invalid(
                            format!("documents[{i}]"),
                            "the same document twice",
                        ));
                    }
                }
                next.status = S::InReview;
                next.documents.extend(documents.iter().cloned());
                // The clock runs again with the office time that was left when it stopped.
                let left = self.paused_minutes_left.unwrap_or(0);
                next.due_at_ms = Some(calendar.add_working_minutes(now_ms, left));
                next.paused_minutes_left = None;
            }
            Action::Approve { note } => {
                if self.status != S::InReview {
                    return Err(wrong_state());
                }
                check_text("note", note.as_deref().unwrap_or(""), false, MAX_NOTE_CHARS)?;
                next.status = S::Approved;
            }
            Action::Reject { reason } => {
                if !matches!(self.status, S::Received | S::InReview) {
                    return Err(wrong_state());
                }
                check_text("reason", reason, true, MAX_NOTE_CHARS)?;
                next.status = S::Rejected;
                next.due_at_ms = None;
            }
            Action::UploadResult { document, note } => {
                if self.status != S::Approved {
                    return Err(wrong_state());
                }
                check_text("note", note.as_deref().unwrap_or(""), false, MAX_NOTE_CHARS)?;
                if self.documents.iter().any(|d| d.id == document.id) {
                    return Err(invalid("document", "already a document of this dossier"));
                }
                next.status = S::ResultReady;
                next.result = Some(document.clone());
                next.documents.push(document.clone());
                next.due_at_ms = None;
            }
            Action::RecordDelay {
                reason,
                new_due_date,
            } => {
                let Some(due) = self.due_at_ms.filter(|_| self.status.is_pending()) else {
                    return Err(not_allowed(
                        "only a dossier the department still owes an answer can be late".into(),
                    ));
                };
                // The slip is due a working day before the date at the latest (Decree
                // 61/2018, art. 19.4.b), and at any time after.
                if calendar.working_minutes_between(now_ms, due) > calendar.minutes_per_day() {
                    return Err(not_allowed(
                        "the dossier is not late: a delay is recorded at most one working day before its due date".into(),
                    ));
                }
                check_text("reason", reason, true, MAX_NOTE_CHARS)?;
                let date = crate::civil::Date::parse_iso(new_due_date).ok_or_else(|| {
                    invalid("new_due_date", "not a date that exists, as YYYY-MM-DD")
                })?;
                let new_due = calendar.due_at(calendar.at(date, 0, 0), 0);
                if new_due <= now_ms.max(due) {
                    return Err(invalid(
                        "new_due_date",
                        "the new date must be after today and after the old due date",
                    ));
                }
                next.due_at_ms = Some(new_due);
            }
            Action::Complete => {
                if self.status != S::ResultReady {
                    return Err(wrong_state());
                }
                next.status = S::Done;
            }
            Action::Rate { stars, comment } => {
                if self.rating.is_some() {
                    return Err(not_allowed("the service was already rated".into()));
                }
                if !matches!(self.status, S::ResultReady | S::Done | S::Rejected) {
                    return Err(not_allowed(
                        "the service can be rated once the result or the decision is out".into(),
                    ));
                }
                if !(1..=5).contains(stars) {
                    return Err(invalid("stars", "1 to 5 stars"));
                }
                check_text(
                    "comment",
                    comment.as_deref().unwrap_or(""),
                    false,
                    MAX_COMMENT_CHARS,
                )?;
                next.rating = Some(Rating {
                    stars: *stars,
                    comment: comment.clone(),
                });
                // Rating the result says the resident has it.
                if self.status == S::ResultReady {
                    next.status = S::Done;
                }
            }
        }
        next.timeline.push(TimelineEntry {
            at_ms: now_ms,
            actor,
            status: next.status,
            action: Some(action),
        });
        next.revision += 1;
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::civil::Date;
    use crate::worktime::CalendarSource;

    fn calendar() -> WorkCalendar {
        let source: CalendarSource =
            serde_json::from_str(include_str!("../../assets/cities/my-tho/calendar.json"))
                .expect("parses");
        WorkCalendar::new(&source).expect("valid")
    }

    fn at(cal: &WorkCalendar, y: i32, m: u8, d: u8, h: u8, min: u8) -> i64 {
        cal.at(Date::new(y, m, d).expect("date"), h, min)
    }

    fn doc(n: u128) -> AttachmentRef {
        AttachmentRef {
            id: Uuid::from_u128(n),
            name: format!("doc-{n}.pdf"),
            media_type: "application/pdf".into(),
            size: 1000,
            sha256: "ab".repeat(32),
        }
    }

    /// Received Monday 30/11/2026 at 09:00, 5 working days: due Monday 07/12 at 09:00.
    fn dossier(cal: &WorkCalendar) -> Dossier {
        let now = at(cal, 2026, 11, 30, 9, 0);
        Dossier::received(
            Uuid::from_u128(1),
            "MT-K7Q4-9D2X".into(),
            "birth-registration".into(),
            "ward_culture_society".into(),
            Map::new(),
            vec![doc(1)],
            now,
            cal.due_at(now, 5),
        )
    }

    #[test]
    fn a_dossier_goes_through_its_whole_life() {
        let cal = calendar();
        let d = dossier(&cal);
        assert_eq!(d.due_at_ms, Some(at(&cal, 2026, 12, 7, 9, 0)));
        let d = d
            .apply(
                Actor::Staff,
                Action::StartReview,
                at(&cal, 2026, 11, 30, 10, 0),
                &cal,
            )
            .expect("review");
        // Tuesday 09:00: 4 working days are left (Tue … Mon 09:00).
        let asked = at(&cal, 2026, 12, 1, 9, 0);
        let d = d
            .apply(
                Actor::Staff,
                Action::RequestSupplement {
                    items: vec![SupplementItem {
                        item: "Giấy chứng sinh".into(),
                        reason: "Bản chụp bị mờ".into(),
                    }],
                },
                asked,
                &cal,
            )
            .expect("supplement requested");
        assert_eq!(d.status, DossierStatus::SupplementRequested);
        assert_eq!(d.due_at_ms, None, "the clock stops");
        assert_eq!(d.paused_minutes_left, Some(4 * cal.minutes_per_day()));
        // The resident answers a week later, on Tuesday 08/12 at 09:00: 4 days from there.
        let answered = at(&cal, 2026, 12, 8, 9, 0);
        let d = d
            .apply(
                Actor::Resident,
                Action::Supplement {
                    answer: "Đã chụp lại".into(),
                    documents: vec![doc(2)],
                },
                answered,
                &cal,
            )
            .expect("supplemented");
        assert_eq!(d.status, DossierStatus::InReview);
        assert_eq!(
            d.due_at_ms,
            Some(at(&cal, 2026, 12, 14, 9, 0)),
            "the week waiting for the resident is not counted"
        );
        assert_eq!(d.documents.len(), 2);
        let later = at(&cal, 2026, 12, 9, 9, 0);
        let d = d
            .apply(Actor::Staff, Action::Approve { note: None }, later, &cal)
            .expect("approved");
        let d = d
            .apply(
                Actor::Staff,
                Action::UploadResult {
                    document: doc(3),
                    note: Some("Mời nhận bản chính tại bộ phận một cửa".into()),
                },
                later,
                &cal,
            )
            .expect("result");
        assert_eq!(d.status, DossierStatus::ResultReady);
        assert_eq!(d.result, Some(doc(3)));
        let d = d
            .apply(
                Actor::Resident,
                Action::Rate {
                    stars: 5,
                    comment: Some("  Nhanh gọn  ".into()),
                },
                later,
                &cal,
            )
            .expect("rated");
        assert_eq!(d.status, DossierStatus::Done, "rating the result closes it");
        assert_eq!(
            d.rating.as_ref().and_then(|r| r.comment.as_deref()),
            Some("Nhanh gọn")
        );
        let statuses: Vec<_> = d.timeline.iter().map(|t| t.status).collect();
        use DossierStatus as S;
        assert_eq!(
            statuses,
            [
                S::Received,
                S::InReview,
                S::SupplementRequested,
                S::InReview,
                S::Approved,
                S::ResultReady,
                S::Done
            ]
        );
        assert_eq!(d.revision, 7);
    }

    #[test]
    fn moves_the_machine_does_not_allow_are_refused() {
        let cal = calendar();
        let now = at(&cal, 2026, 11, 30, 10, 0);
        let d = dossier(&cal);
        let request = Action::RequestSupplement {
            items: vec![SupplementItem {
                item: "A".into(),
                reason: "B".into(),
            }],
        };
        let supplement = Action::Supplement {
            answer: "here".into(),
            documents: vec![],
        };
        let rejected = |d: &Dossier, actor, action: Action| {
            matches!(
                d.apply(actor, action.clone(), now, &cal),
                Err(TransitionError::NotAllowed { .. })
            )
        };
        assert!(
            rejected(&d, Actor::Resident, supplement.clone()),
            "a supplement nobody asked for"
        );
        assert!(
            rejected(&d, Actor::Resident, Action::StartReview),
            "a resident acting as staff"
        );
        assert!(
            rejected(&d, Actor::Staff, supplement.clone()),
            "staff answering for the resident"
        );
        assert!(
            rejected(&d, Actor::Staff, Action::Approve { note: None }),
            "approval before review"
        );
        assert!(rejected(
            &d,
            Actor::Staff,
            Action::UploadResult {
                document: doc(9),
                note: None
            }
        ));
        assert!(
            rejected(
                &d,
                Actor::Resident,
                Action::Rate {
                    stars: 4,
                    comment: None
                }
            ),
            "rating before a result"
        );
        assert!(rejected(&d, Actor::Staff, Action::Complete));
        let asked = d
            .apply(Actor::Staff, request.clone(), now, &cal)
            .expect("first request");
        let answered = asked
            .apply(Actor::Resident, supplement, now, &cal)
            .expect("answered");
        assert!(
            rejected(&answered, Actor::Staff, request),
            "a second request"
        );
        let no_reason = answered.apply(
            Actor::Staff,
            Action::Reject {
                reason: "  ".into(),
            },
            now,
            &cal,
        );
        assert_eq!(no_reason.unwrap_err().field_error().field, "reason");
        let rejected_d = answered
            .apply(
                Actor::Staff,
                Action::Reject {
                    reason: "Không thuộc thẩm quyền".into(),
                },
                now,
                &cal,
            )
            .expect("rejected");
        let zero = rejected_d.apply(
            Actor::Resident,
            Action::Rate {
                stars: 0,
                comment: None,
            },
            now,
            &cal,
        );
        assert_eq!(zero.unwrap_err().field_error().field, "stars");
        let rated = rejected_d
            .apply(
                Actor::Resident,
                Action::Rate {
                    stars: 2,
                    comment: None,
                },
                now,
                &cal,
            )
            .expect("a rejection can be rated");
        assert_eq!(rated.status, DossierStatus::Rejected);
        assert!(
            rejected(
                &rated,
                Actor::Resident,
                Action::Rate {
                    stars: 3,
                    comment: None
                }
            ),
            "a second rating"
        );
    }

    #[test]
    fn a_late_dossier_needs_its_apology_slip_before_a_decision() {
        let cal = calendar();
        let d = dossier(&cal)
            .apply(
                Actor::Staff,
                Action::StartReview,
                at(&cal, 2026, 11, 30, 10, 0),
                &cal,
            )
            .expect("review");
        let early = at(&cal, 2026, 12, 2, 9, 0);
        let delay = |date: &str| Action::RecordDelay {
            reason: "Chờ xác minh của Công an phường".into(),
            new_due_date: date.into(),
        };
        assert!(
            matches!(
                d.apply(Actor::Staff, delay("2026-12-15"), early, &cal),
                Err(TransitionError::NotAllowed { .. })
            ),
            "not late yet"
        );
        let late = at(&cal, 2026, 12, 7, 10, 0);
        assert!(d.is_overdue(late));
        assert!(
            matches!(
                d.apply(Actor::Staff, Action::Approve { note: None }, late, &cal),
                Err(TransitionError::NotAllowed { .. })
            ),
            "no decision on a late dossier without the slip"
        );
        let past = d.apply(Actor::Staff, delay("2026-12-04"), late, &cal);
        assert_eq!(past.unwrap_err().field_error().field, "new_due_date");
        let bad = d.apply(Actor::Staff, delay("2026-02-30"), late, &cal);
        assert_eq!(bad.unwrap_err().field_error().field, "new_due_date");
        let slipped = d
            .apply(Actor::Staff, delay("2026-12-15"), late, &cal)
            .expect("slip");
        assert_eq!(slipped.due_at_ms, Some(at(&cal, 2026, 12, 15, 17, 0)));
        assert_eq!(
            slipped.status,
            DossierStatus::InReview,
            "a delay does not move the status"
        );
        assert!(!slipped.is_overdue(late));
        slipped
            .apply(Actor::Staff, Action::Approve { note: None }, late, &cal)
            .expect("then it can be decided");
        // A slip the day before the due date is allowed too.
        let day_before = at(&cal, 2026, 12, 4, 10, 0);
        d.apply(Actor::Staff, delay("2026-12-15"), day_before, &cal)
            .expect("one working day before");
    }

    #[test]
    fn statuses_and_actions_keep_their_wire_names() {
        for s in DossierStatus::ALL {
            assert_eq!(DossierStatus::from_code(s.code()), Some(s));
            assert_eq!(serde_json::to_value(s).expect("json"), s.code());
        }
        let action: Action = serde_json::from_str(
            r#"{"action":"request_supplement","items":[{"item":"x","reason":"y"}]}"#,
        )
        .expect("parses");
        assert_eq!(action.code(), "request_supplement");
        assert!(
            serde_json::from_str::<Action>(r#"{"action":"approve","notes":"x"}"#).is_err(),
            "unknown fields refused"
        );
    }
}
