//! A model-based property test of dossiers through the gateway's store (a real SQLite file,
//! or PostgreSQL): random sequences of applications sent and resent, staff moves, resident
//! moves with their op ids, retries of moves already applied, and crashes (the store closed
//! and opened again), checked after every step against a simple model of what must hold:
//! every move the one-stop rules allow is applied once, every other one is refused and
//! changes nothing, a retry changes nothing, and nothing is lost across a crash.

use citizen_core::dossier::{Action, Application, DossierStatus, SupplementItem};
use citizen_core::form::AttachmentRef;
use citizen_core::report::{UploadKind, UploadStart};
use citizen_core::{CityPack, civil::Date};
use citizen_server::Store;
use citizen_server::document::sample_pdf_of;
use citizen_server::store::{Caller, DossierError, Intake};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use sha2::{Digest, Sha256};
use uuid::Uuid;

const PHONE: &str = "+84912345678";
const DEPARTMENT: &str = "ward_culture_society";

#[derive(Debug, Clone, Copy)]
enum Staff {
    StartReview,
    RequestSupplement,
    Approve,
    Reject,
    UploadResult,
    RecordDelay,
    Complete,
}

#[derive(Debug, Clone, Copy)]
enum Step {
    /// Sends the application (again, when it was sent before).
    Apply,
    Staff(Staff),
    Supplement,
    Rate,
    /// Sends the last resident move again with its op id.
    Retry,
    /// The gateway stops mid-way and starts again on the same database.
    Crash,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        1 => Just(Step::Apply),
        2 => Just(Step::Staff(Staff::StartReview)),
        2 => Just(Step::Staff(Staff::RequestSupplement)),
        2 => Just(Step::Staff(Staff::Approve)),
        1 => Just(Step::Staff(Staff::Reject)),
        2 => Just(Step::Staff(Staff::UploadResult)),
        1 => Just(Step::Staff(Staff::RecordDelay)),
        1 => Just(Step::Staff(Staff::Complete)),
        2 => Just(Step::Supplement),
        2 => Just(Step::Rate),
        2 => Just(Step::Retry),
        1 => Just(Step::Crash),
    ]
}

/// What must be true of the dossier.
#[derive(Debug, Default)]
struct Model {
    sent: bool,
    status: Option<DossierStatus>,
    asked: bool,
    delayed: bool,
    rated: bool,
    /// Accepted moves, the submission included.
    revision: i64,
}

impl Model {
    /// Whether the rules allow `step` now; applies it when they do.
    fn apply(&mut self, step: Step) -> bool {
        use DossierStatus as S;
        let Some(status) = self.status else {
            return false;
        };
        let next = match step {
            Step::Staff(Staff::StartReview) => (status == S::Received).then_some(S::InReview),
            Step::Staff(Staff::RequestSupplement) => (!self.asked
                && matches!(status, S::Received | S::InReview))
            .then_some(S::SupplementRequested),
            Step::Supplement => (status == S::SupplementRequested).then_some(S::InReview),
            Step::Staff(Staff::Approve) => (status == S::InReview).then_some(S::Approved),
            Step::Staff(Staff::Reject) => {
                matches!(status, S::Received | S::InReview).then_some(S::Rejected)
            }
            Step::Staff(Staff::UploadResult) => (status == S::Approved).then_some(S::ResultReady),
            Step::Staff(Staff::RecordDelay) => {
                (status.is_pending() && !self.delayed).then_some(status)
            }
            Step::Staff(Staff::Complete) => (status == S::ResultReady).then_some(S::Done),
            Step::Rate => (!self.rated && matches!(status, S::ResultReady | S::Done | S::Rejected))
                .then_some(if status == S::ResultReady {
                    S::Done
                } else {
                    status
                }),
            Step::Apply | Step::Retry | Step::Crash => None,
        };
        let Some(next) = next else { return false };
        match step {
            Step::Staff(Staff::RequestSupplement) => self.asked = true,
            Step::Staff(Staff::RecordDelay) => self.delayed = true,
            Step::Rate => self.rated = true,
            _ => {}
        }
        self.status = Some(next);
        self.revision += 1;
        true
    }
}

struct World {
    url: String,
    store: Store,
    pack: CityPack,
    calendar: citizen_core::worktime::WorkCalendar,
    now: i64,
    documents: u64,
}

impl World {
    /// A document uploaded and checked, ready to be referred to.
    async fn document(&mut self) -> AttachmentRef {
        self.documents += 1;
        let data = sample_pdf_of(2_000, self.documents + self.now as u64);
        let start = UploadStart {
            id: Uuid::now_v7(),
            size: data.len() as u64,
            sha256: format!("{:x}", Sha256::digest(&data)),
            kind: UploadKind::Document,
        };
        self.store
            .start_upload(&start, self.now)
            .await
            .expect("announced");
        self.store
            .append_chunk(start.id, 0, &data)
            .await
            .expect("uploaded and checked");
        AttachmentRef {
            id: start.id,
            name: "giay-to.pdf".into(),
            media_type: "application/pdf".into(),
            size: start.size,
            sha256: start.sha256,
        }
    }
}

/// Runs one sequence; the error says which step broke which rule.
async fn run(world: &mut World, steps: &[Step]) -> Result<(), String> {
    let mut model = Model::default();
    let certificate = world.document().await;
    let application = Application {
        id: Uuid::now_v7(),
        procedure: "birth-registration".into(),
        answers: serde_json::json!({"birth_certificate": [certificate]})
            .as_object()
            .cloned()
            .unwrap_or_default(),
    };
    let mut last_op: Option<(Uuid, Action)> = None;
    let resident = Caller::Resident(PHONE.into());
    let staff = Caller::Staff(DEPARTMENT.into());
    for (i, &step) in steps.iter().enumerate() {
        let at = format!("step {i} ({step:?})");
        let key = application.id.to_string();
        let before = if model.sent {
            Some(
                world
                    .store
                    .dossier_for(&key, &resident)
                    .await
                    .map_err(|e| format!("{at}: {e}"))?,
            )
        } else {
            None
        };
        let outcome: Result<(), DossierError> = match step {
            Step::Crash => {
                world.store.close().await;
                world.store = Store::open(&world.url)
                    .await
                    .map_err(|e| format!("{at}: {e}"))?;
                Ok(())
            }
            Step::Apply => {
                let answers = application.answers.clone();
                let receipt = world
                    .store
                    .submit_dossier(
                        &application,
                        Intake {
                            phone: PHONE,
                            department: DEPARTMENT,
                            code_prefix: "MT",
                            answers,
                            documents: vec![("birth_certificate".into(), certificate.clone())],
                            now_ms: world.now,
                            due_at_ms: world.calendar.due_at(world.now, 0),
                        },
                    )
                    .await;
                if receipt.is_ok() && !model.sent {
                    model.sent = true;
                    model.status = Some(DossierStatus::Received);
                    model.revision = 1;
                }
                receipt.map(drop)
            }
            Step::Retry => match &last_op {
                Some((op, action)) => world
                    .store
                    .act_on_dossier(
                        &key,
                        &resident,
                        Some(*op),
                        action.clone(),
                        &world.calendar,
                        world.now,
                    )
                    .await
                    .map(drop),
                None => Ok(()),
            },
            Step::Supplement | Step::Rate => {
                let action = match step {
                    Step::Supplement => Action::Supplement {
                        answer: "Gửi bổ sung".into(),
                        documents: vec![world.document().await],
                    },
                    _ => Action::Rate {
                        stars: 4,
                        comment: None,
                    },
                };
                let op = Uuid::now_v7();
                let done = world
                    .store
                    .act_on_dossier(
                        &key,
                        &resident,
                        Some(op),
                        action.clone(),
                        &world.calendar,
                        world.now,
                    )
                    .await;
                if done.is_ok() {
                    last_op = Some((op, action));
                }
                done.map(drop)
            }
            Step::Staff(s) => {
                let action = match s {
                    Staff::StartReview => Action::StartReview,
                    Staff::RequestSupplement => Action::RequestSupplement {
                        items: vec![SupplementItem {
                            item: "Giấy chứng nhận kết hôn".into(),
                            reason: "Để ghi tên cha".into(),
                        }],
                    },
                    Staff::Approve => Action::Approve { note: None },
                    Staff::Reject => Action::Reject {
                        reason: "Không thuộc thẩm quyền".into(),
                    },
                    Staff::UploadResult => Action::UploadResult {
                        document: world.document().await,
                        note: None,
                    },
                    Staff::RecordDelay => {
                        let next_week = Date::from_days_since_epoch(
                            (world.now + 7 * 3_600_000).div_euclid(citizen_core::civil::DAY_MS) + 7,
                        );
                        Action::RecordDelay {
                            reason: "Chờ xác minh".into(),
                            new_due_date: next_week.to_string(),
                        }
                    }
                    Staff::Complete => Action::Complete,
                };
                world
                    .store
                    .act_on_dossier(&key, &staff, None, action, &world.calendar, world.now)
                    .await
                    .map(drop)
            }
        };
        let expected = match step {
            Step::Apply | Step::Crash => true,
            // A retry of an applied move answers like the first time; none sent, nothing.
            Step::Retry => true,
            _ => model.apply(step),
        };
        match (&outcome, expected) {
            (Ok(()), true) => {}
            (Err(DossierError::Conflict(_)), false) if model.sent => {}
            (Err(DossierError::NotFound), false) if !model.sent => {}
            (got, want) => {
                return Err(format!(
                    "{at}: the store answered {got:?}, the model expected {}",
                    if want { "acceptance" } else { "a refusal" }
                ));
            }
        }
        if model.sent {
            let now = world
                .store
                .dossier_for(&key, &resident)
                .await
                .map_err(|e| format!("{at}: the dossier is gone: {e}"))?;
            if Some(now.status) != model.status || now.revision != model.revision {
                return Err(format!(
                    "{at}: the dossier is {:?} at revision {}, the model {:?} at {}",
                    now.status, now.revision, model.status, model.revision
                ));
            }
            if now.timeline.len() as i64 != now.revision {
                return Err(format!(
                    "{at}: {} timeline entries at revision {}",
                    now.timeline.len(),
                    now.revision
                ));
            }
            if !expected && before.as_ref().is_some_and(|b| *b != now) {
                return Err(format!("{at}: a refused move changed the dossier"));
            }
            if matches!(step, Step::Retry | Step::Apply | Step::Crash)
                && before.as_ref().is_some_and(|b| *b != now)
            {
                return Err(format!("{at}: a resend or a restart changed the dossier"));
            }
        }
    }
    Ok(())
}

#[test]
fn dossiers_follow_the_model_through_retries_and_crashes() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a runtime");
    let dir = tempfile::tempdir().expect("a directory");
    let url = citizen_testdb::database_url(dir.path(), "model");
    let pack = CityPack::parse(citizen_core::city::default_pack_sources()).expect("the pack");
    let calendar = pack.work_calendar().expect("the calendar");
    // A Monday at 09:00: a same-day procedure is due at 17:00, so a delay may be recorded.
    let now = calendar.at(Date::new(2026, 11, 30).expect("a date"), 9, 0);
    let store = rt.block_on(Store::open(&url)).expect("the store");
    let world = std::cell::RefCell::new(World {
        url,
        store,
        pack,
        calendar,
        now,
        documents: 0,
    });
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(48);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&proptest::collection::vec(step(), 1..40), |steps| {
        let mut world = world.borrow_mut();
        rt.block_on(run(&mut world, &steps))
            .map_err(TestCaseError::fail)
    });
    let world = world.into_inner();
    assert!(world.pack.forms.len() >= 6);
    rt.block_on(world.store.close());
    result.expect("the store follows the model");
}
