//! The sync feed (ordered changes behind a cursor) and the pure state machine that drives a
//! client's pull: `step(state, event, now) -> action`, with time and randomness passed in.

use serde::{Deserialize, Serialize};

use crate::city::{CityInfo, Department, Hotspot, Place, Procedure, ReportCategory, Station};
use crate::form::{FormSource, Wards};
use crate::report::ReportView;
use crate::salinity::SalinityGuide;

/// One measured value of a station.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Reading {
    pub station_id: String,
    pub parameter: String,
    /// Milliseconds since the Unix epoch.
    pub observed_at_ms: i64,
    pub value: f64,
    /// True when the value comes from the documented simulation, not from an instrument.
    pub simulated: bool,
}

impl Reading {
    pub fn id(&self) -> String {
        format!(
            "{}/{}/{}",
            self.station_id, self.parameter, self.observed_at_ms
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum EntityKind {
    City,
    Place,
    Hotspot,
    Station,
    Reading,
    Department,
    Category,
    Procedure,
    Report,
    SalinityGuide,
    Form,
    Wards,
}

impl EntityKind {
    pub fn code(self) -> &'static str {
        match self {
            EntityKind::City => "city",
            EntityKind::Place => "place",
            EntityKind::Hotspot => "hotspot",
            EntityKind::Station => "station",
            EntityKind::Reading => "reading",
            EntityKind::Department => "department",
            EntityKind::Category => "category",
            EntityKind::Procedure => "procedure",
            EntityKind::Report => "report",
            EntityKind::SalinityGuide => "salinity_guide",
            EntityKind::Form => "form",
            EntityKind::Wards => "wards",
        }
    }
}

/// A record the gateway publishes to every device.
#[allow(
    clippy::large_enum_variant,
    reason = "records are built one at a time, not in hot arrays"
)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", content = "data", rename_all = "snake_case")]
pub enum Entity {
    City(CityInfo),
    Place(Place),
    Hotspot(Hotspot),
    Station(Station),
    Reading(Reading),
    Department(Department),
    Category(ReportCategory),
    Procedure(Procedure),
    Report(ReportView),
    /// The city's salinity limits per use (one record, id `salinity`).
    SalinityGuide(SalinityGuide),
    /// A procedure's application form (id: the procedure's id).
    Form(FormSource),
    /// The province's wards and communes (one record, id: the province code).
    Wards(Wards),
}

impl Entity {
    pub fn kind(&self) -> EntityKind {
        match self {
            Entity::City(_) => EntityKind::City,
            Entity::Place(_) => EntityKind::Place,
            Entity::Hotspot(_) => EntityKind::Hotspot,
            Entity::Station(_) => EntityKind::Station,
            Entity::Reading(_) => EntityKind::Reading,
            Entity::Department(_) => EntityKind::Department,
            Entity::Category(_) => EntityKind::Category,
            Entity::Procedure(_) => EntityKind::Procedure,
            Entity::Report(_) => EntityKind::Report,
            Entity::SalinityGuide(_) => EntityKind::SalinityGuide,
            Entity::Form(_) => EntityKind::Form,
            Entity::Wards(_) => EntityKind::Wards,
        }
    }

    pub fn id(&self) -> String {
        match self {
            Entity::City(c) => c.id.clone(),
            Entity::Place(p) => p.id.clone(),
            Entity::Hotspot(h) => h.id.clone(),
            Entity::Station(s) => s.id.clone(),
            Entity::Reading(r) => r.id(),
            Entity::Department(d) => d.id.clone(),
            Entity::Category(c) => c.code.clone(),
            Entity::Procedure(p) => p.id.clone(),
            Entity::Report(r) => r.id.to_string(),
            Entity::SalinityGuide(_) => "salinity".into(),
            Entity::Form(f) => f.procedure.clone(),
            Entity::Wards(w) => w.province.code.clone(),
        }
    }
}

/// A type of record the feed carries, so stores can ask for "all hotspots" by type.
pub trait Record: Sized {
    const KIND: EntityKind;
    fn from_entity(entity: Entity) -> Option<Self>;
}

macro_rules! records {
    ($($variant:ident($ty:ty)),* $(,)?) => {$(
        impl Record for $ty {
            const KIND: EntityKind = EntityKind::$variant;
            fn from_entity(entity: Entity) -> Option<Self> {
                match entity {
                    Entity::$variant(record) => Some(record),
                    _ => None,
                }
            }
        }
    )*};
}

records!(
    City(CityInfo),
    Place(Place),
    Hotspot(Hotspot),
    Station(Station),
    Reading(Reading),
    Department(Department),
    Category(ReportCategory),
    Procedure(Procedure),
    Report(ReportView),
    SalinityGuide(SalinityGuide),
    Form(FormSource),
    Wards(Wards),
);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum ChangeOp {
    Upsert { entity: Box<Entity> },
    Delete { kind: EntityKind, id: String },
}

/// One change of the feed; `seq` grows strictly along the feed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Change {
    pub seq: i64,
    #[serde(flatten)]
    pub op: ChangeOp,
}

/// A page of the feed. Ask again with `since = next_cursor` while `has_more`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SyncPage {
    pub changes: Vec<Change>,
    pub next_cursor: i64,
    pub has_more: bool,
    /// The identity of the feed's history: made when the gateway's database was created,
    /// kept by backups and migrations. A different one means another database's feed.
    #[serde(default)]
    pub history_id: String,
    /// The newest position of the feed.
    #[serde(default)]
    pub head: i64,
    /// The client's cursor is not in this history (the gateway's database went back to a
    /// backup): read the feed again from 0. The page then has no changes.
    #[serde(default)]
    pub restart: bool,
    /// The id of the city the gateway serves (`my-tho`); a device keeps only its own
    /// city's data.
    #[serde(default)]
    pub city_id: String,
    /// The gateway's clock when it answered, in ms since the Unix epoch: a device whose own
    /// clock is wrong measures ages against this.
    #[serde(default)]
    pub server_time_ms: i64,
}

/// Where a client's pull loop stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PullState {
    /// Waiting until `until_ms` before the next pull; `failures` in a row so far.
    Idle { until_ms: i64, failures: u32 },
    /// A page request is in flight.
    Pulling { failures: u32 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PullEvent {
    /// The clock moved on; `now` is passed to `step`.
    Tick,
    /// A page was stored with the cursor it brought.
    PageStored { has_more: bool },
    /// The gateway could not be reached or answered with an error.
    Failed,
    /// The gateway answered an error and asked not to be asked again for `wait_ms`
    /// (`Retry-After`, RFC 9110 section 10.2.3, on a 429 or 503).
    AskedToWait { wait_ms: i64 },
    /// Something asked for a sync now (the user, a reconnect).
    Wake,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PullAction {
    /// Request the next page.
    Pull,
    /// Nothing to do until then.
    WaitUntil(i64),
}

/// Timing of the pull loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PullTiming {
    /// Pause between two syncs when all went well.
    pub interval_ms: i64,
    /// First retry delay after a failure; doubles on each failure in a row.
    pub backoff_base_ms: i64,
    pub backoff_max_ms: i64,
}

impl PullTiming {
    /// Delay after the `failures`-th failure in a row, with "full jitter": a uniformly drawn
    /// share of the capped exponential delay, so many devices don't retry in step.
    /// `jitter` is a random number in `0..=u32::MAX`.
    pub fn backoff_ms(&self, failures: u32, jitter: u32) -> i64 {
        let exp = self
            .backoff_base_ms
            .saturating_mul(1_i64 << failures.saturating_sub(1).min(30))
            .min(self.backoff_max_ms);
        let share = (exp as i128 * i128::from(jitter)) / i128::from(u32::MAX);
        // At least half the delay, so a retry storm cannot form from lucky draws.
        (exp / 2).max(share as i64)
    }
}

/// The pull loop's transition function: no I/O, no clock, no randomness of its own.
pub fn step(
    state: PullState,
    event: PullEvent,
    now_ms: i64,
    jitter: u32,
    timing: &PullTiming,
) -> (PullState, PullAction) {
    match (state, event) {
        (PullState::Idle { until_ms, .. }, PullEvent::Tick) if now_ms < until_ms => {
            (state, PullAction::WaitUntil(until_ms))
        }
        (PullState::Idle { failures, .. }, PullEvent::Tick | PullEvent::Wake) => {
            (PullState::Pulling { failures }, PullAction::Pull)
        }
        (PullState::Pulling { .. }, PullEvent::PageStored { has_more: true }) => {
            (PullState::Pulling { failures: 0 }, PullAction::Pull)
        }
        (PullState::Pulling { .. }, PullEvent::PageStored { has_more: false }) => {
            let until_ms = now_ms + timing.interval_ms;
            (
                PullState::Idle {
                    until_ms,
                    failures: 0,
                },
                PullAction::WaitUntil(until_ms),
            )
        }
        (PullState::Pulling { failures }, PullEvent::Failed) => {
            let failures = failures.saturating_add(1);
            let until_ms = now_ms + timing.backoff_ms(failures, jitter);
            (
                PullState::Idle { until_ms, failures },
                PullAction::WaitUntil(until_ms),
            )
        }
        (PullState::Pulling { failures }, PullEvent::AskedToWait { wait_ms }) => {
            let failures = failures.saturating_add(1);
            // Not sooner than asked, nor sooner than the back-off.
            let until_ms = (now_ms + timing.backoff_ms(failures, jitter))
                .max(now_ms.saturating_add(wait_ms.max(0)));
            (
                PullState::Idle { until_ms, failures },
                PullAction::WaitUntil(until_ms),
            )
        }
        // A request is already in flight; ticks and wakes wait for its outcome.
        (PullState::Pulling { .. }, PullEvent::Tick | PullEvent::Wake) => {
            (state, PullAction::WaitUntil(now_ms))
        }
        // Outcomes without a request in flight are stale: ignore them.
        (
            PullState::Idle { until_ms, .. },
            PullEvent::PageStored { .. } | PullEvent::Failed | PullEvent::AskedToWait { .. },
        ) => (state, PullAction::WaitUntil(until_ms)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIMING: PullTiming = PullTiming {
        interval_ms: 30_000,
        backoff_base_ms: 1_000,
        backoff_max_ms: 60_000,
    };

    #[test]
    fn pulls_pages_until_the_feed_is_drained_then_waits_the_interval() {
        let start = PullState::Idle {
            until_ms: 0,
            failures: 0,
        };
        let (s, a) = step(start, PullEvent::Tick, 10, 0, &TIMING);
        assert_eq!(a, PullAction::Pull, "due at once on first start");
        let (s, a) = step(s, PullEvent::PageStored { has_more: true }, 20, 0, &TIMING);
        assert_eq!(a, PullAction::Pull, "more pages follow at once");
        let (s, a) = step(s, PullEvent::PageStored { has_more: false }, 30, 0, &TIMING);
        assert_eq!(a, PullAction::WaitUntil(30_030), "then the interval");
        let (_, a) = step(s, PullEvent::Tick, 40, 0, &TIMING);
        assert_eq!(a, PullAction::WaitUntil(30_030), "not due yet");
    }

    #[test]
    fn failures_back_off_exponentially_and_are_capped() {
        let table = [
            (1, 1_000),
            (2, 2_000),
            (3, 4_000),
            (7, 60_000),
            (40, 60_000),
        ];
        for (failures, full) in table {
            assert_eq!(
                TIMING.backoff_ms(failures, u32::MAX),
                full,
                "max jitter, {failures}"
            );
            assert_eq!(
                TIMING.backoff_ms(failures, 0),
                full / 2,
                "min jitter, {failures}"
            );
        }
        let mut state = PullState::Idle {
            until_ms: 0,
            failures: 0,
        };
        let mut now = 0;
        for expected_failures in 1..=3 {
            let (s, a) = step(state, PullEvent::Wake, now, u32::MAX, &TIMING);
            assert_eq!(a, PullAction::Pull);
            let (s, a) = step(s, PullEvent::Failed, now, u32::MAX, &TIMING);
            assert_eq!(
                s,
                PullState::Idle {
                    until_ms: now + TIMING.backoff_ms(expected_failures, u32::MAX),
                    failures: expected_failures
                }
            );
            let PullAction::WaitUntil(until) = a else {
                panic!("waits after a failure")
            };
            now = until;
            state = s;
        }
        let (s, _) = step(state, PullEvent::Tick, now, 0, &TIMING);
        let (s, _) = step(
            s,
            PullEvent::PageStored { has_more: false },
            now,
            0,
            &TIMING,
        );
        assert_eq!(
            s,
            PullState::Idle {
                until_ms: now + 30_000,
                failures: 0
            },
            "success resets"
        );
    }

    #[test]
    fn a_wake_during_a_pull_does_not_start_a_second_one() {
        let (s, a) = step(
            PullState::Pulling { failures: 0 },
            PullEvent::Wake,
            5,
            0,
            &TIMING,
        );
        assert_eq!(s, PullState::Pulling { failures: 0 });
        assert_eq!(a, PullAction::WaitUntil(5));
    }

    #[test]
    fn a_gateway_asking_to_wait_is_not_asked_sooner() {
        let (s, a) = step(
            PullState::Pulling { failures: 0 },
            PullEvent::AskedToWait { wait_ms: 120_000 },
            1_000,
            u32::MAX,
            &TIMING,
        );
        assert_eq!(
            s,
            PullState::Idle {
                until_ms: 121_000,
                failures: 1
            }
        );
        assert_eq!(a, PullAction::WaitUntil(121_000));
        // A short wait does not cut the back-off short.
        let (_, a) = step(
            PullState::Pulling { failures: 3 },
            PullEvent::AskedToWait { wait_ms: 10 },
            1_000,
            u32::MAX,
            &TIMING,
        );
        assert_eq!(
            a,
            PullAction::WaitUntil(1_000 + TIMING.backoff_ms(4, u32::MAX))
        );
    }

    #[test]
    fn change_json_is_stable() {
        let change = Change {
            seq: 7,
            op: ChangeOp::Delete {
                kind: EntityKind::Hotspot,
                id: "wifi-01".into(),
            },
        };
        let json = serde_json::to_value(&change).expect("serialises");
        assert_eq!(
            json,
            serde_json::json!({"seq": 7, "op": "delete", "kind": "hotspot", "id": "wifi-01"})
        );
        let back: Change = serde_json::from_value(json).expect("parses back");
        assert_eq!(back, change);
    }
}
