//! When the outbox tries an operation again: pure, with time and randomness passed in.

use crate::sync::PullTiming;

/// How an attempt to deliver an outbox operation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The link or the gateway failed (no answer, 5xx, 408, 429): try again soon.
    Transient,
    /// The gateway refused the operation as it is (a 4xx). It is kept, never dropped, and
    /// tried again rarely, in case the refusal came from a gateway that changed since.
    Refused,
}

impl Failure {
    /// Sorts an HTTP status (or none, when the link failed) into a kind of failure.
    pub fn from_status(status: Option<u16>) -> Failure {
        match status {
            None | Some(408 | 429) => Failure::Transient,
            Some(s) if s >= 500 => Failure::Transient,
            Some(_) => Failure::Refused,
        }
    }
}

/// When to try again after the `attempts`-th failure in a row.
pub fn next_attempt_ms(
    failure: Failure,
    attempts: u32,
    now_ms: i64,
    jitter: u32,
    timing: &PullTiming,
) -> i64 {
    match failure {
        Failure::Transient => now_ms + timing.backoff_ms(attempts, jitter),
        Failure::Refused => now_ms + timing.backoff_max_ms,
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
    fn transient_failures_back_off_and_refusals_wait_longest() {
        let table = [
            (None, Failure::Transient),
            (Some(503), Failure::Transient),
            (Some(429), Failure::Transient),
            (Some(400), Failure::Refused),
            (Some(409), Failure::Refused),
        ];
        for (status, kind) in table {
            assert_eq!(Failure::from_status(status), kind, "{status:?}");
        }
        assert_eq!(
            next_attempt_ms(Failure::Transient, 1, 100, u32::MAX, &TIMING),
            1_100
        );
        assert_eq!(
            next_attempt_ms(Failure::Transient, 3, 100, u32::MAX, &TIMING),
            4_100
        );
        assert_eq!(
            next_attempt_ms(Failure::Refused, 1, 100, 0, &TIMING),
            60_100
        );
    }
}
