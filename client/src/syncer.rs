//! The thin async driver of the pull loop: it runs `citizen_core::sync::step` and does the
//! HTTP and SQL the machine asks for.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use citizen_core::sync::{PullAction, PullEvent, PullState, PullTiming, step};
use citizen_core::views::{SyncProblem, SyncState, SyncStatus};
use tokio::sync::{Notify, watch};

use crate::gateway::{Gateway, GatewayError};
use crate::outbox::Outbox;
use crate::store::{PageApplied, Store, StoreError};

/// Milliseconds since the Unix epoch, from the system clock.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

pub struct Syncer {
    store: Store,
    gateway: Gateway,
    outbox: Outbox,
    timing: PullTiming,
    page_limit: u32,
    /// This device's clock (ms since the Unix epoch); a test passes a wrong one.
    clock: fn() -> i64,
    /// The salinity stale limit when configured (else the city's guide says), ms.
    stale_after_ms: Option<i64>,
}

/// Lets the app read the live state of the pull loop and wake it.
#[derive(Clone)]
pub struct SyncerHandle {
    store: Store,
    pulling: watch::Receiver<bool>,
    wake: Arc<Notify>,
}

impl SyncerHandle {
    /// The sync state as the user should see it.
    pub async fn status(&self) -> Result<SyncStatus, StoreError> {
        let record = self.store.sync_record().await?;
        let state = SyncState::of(
            *self.pulling.borrow(),
            record.offline_since_ms,
            record.last_success_ms,
        );
        Ok(SyncStatus {
            state,
            last_success_ms: record.last_success_ms,
            offline_since_ms: record.offline_since_ms,
            last_error: record.last_error,
            data_version: record.data_version,
            clock_offset_ms: record.clock_offset_ms.unwrap_or(0),
            problem: record.last_problem,
        })
    }

    /// Asks for a sync now.
    pub fn wake(&self) {
        self.wake.notify_one();
    }
}

impl Syncer {
    pub fn new(store: Store, gateway: Gateway, interval: Duration) -> Syncer {
        let interval_ms = i64::try_from(interval.as_millis()).unwrap_or(i64::MAX);
        let timing = PullTiming {
            interval_ms,
            backoff_base_ms: 1_000,
            backoff_max_ms: interval_ms.max(60_000),
        };
        Syncer {
            outbox: Outbox::new(store.clone(), gateway.clone(), timing),
            store,
            gateway,
            timing,
            page_limit: 500,
            clock: now_ms,
            stale_after_ms: None,
        }
    }

    /// The same syncer judging salinity readings stale after `ms` (configuration).
    pub fn with_stale_after(mut self, ms: Option<i64>) -> Syncer {
        self.stale_after_ms = ms;
        self
    }

    /// The same syncer reading this device's time from `clock` (a phone whose clock is off).
    pub fn with_clock(mut self, clock: fn() -> i64) -> Syncer {
        self.clock = clock;
        self
    }

    /// The handle to watch and wake the loop, and the loop itself for the caller to spawn on
    /// its runtime.
    pub fn start(self) -> (SyncerHandle, impl Future<Output = ()> + Send + 'static) {
        let (pulling_tx, pulling) = watch::channel(false);
        let wake = Arc::new(Notify::new());
        let handle = SyncerHandle {
            store: self.store.clone(),
            pulling,
            wake: wake.clone(),
        };
        (handle, self.run(pulling_tx, wake))
    }

    async fn run(self, pulling: watch::Sender<bool>, wake: Arc<Notify>) {
        let mut state = PullState::Idle {
            until_ms: 0,
            failures: 0,
        };
        let mut event = PullEvent::Tick;
        loop {
            let (next, action) = step(state, event, now_ms(), rand::random(), &self.timing);
            state = next;
            match action {
                PullAction::Pull => {
                    pulling.send_replace(true);
                    // Push before pull: the pull then brings the city's view of what was sent.
                    self.push_once().await;
                    event = self.pull_once().await;
                    if !matches!(event, PullEvent::PageStored { has_more: true }) {
                        pulling.send_replace(false);
                    }
                }
                PullAction::WaitUntil(until_ms) => {
                    // An outbox retry may fall due before the next pull.
                    let outbox_due = self.store.next_attempt_ms(now_ms()).await.ok().flatten();
                    let until = outbox_due.map_or(until_ms, |due| due.min(until_ms));
                    let wait = u64::try_from(until - now_ms()).unwrap_or(0);
                    event = tokio::select! {
                        () = tokio::time::sleep(Duration::from_millis(wait.max(50))) => PullEvent::Tick,
                        () = wake.notified() => PullEvent::Wake,
                    };
                    if event == PullEvent::Tick && now_ms() < until_ms {
                        pulling.send_replace(true);
                        self.push_once().await;
                        pulling.send_replace(false);
                    }
                }
            }
        }
    }

    /// Sends what the outbox holds that is due.
    pub async fn push_once(&self) {
        match self.outbox.drain(now_ms).await {
            Ok(drained) if drained.sent > 0 => tracing::info!(sent = drained.sent, "outbox sent"),
            Ok(_) => {}
            Err(e) => {
                tracing::error!(error = %e, "outbox drain failed");
                self.store.note_error(&e, now_ms());
            }
        }
    }

    /// Fetches and stores one page; the result is the machine's next event.
    /// Reads the resident's dossiers from the gateway when they changed (ETag), and keeps
    /// them; nothing when the resident has not identified on this device.
    pub async fn pull_dossiers(&self) -> Result<usize, PullError> {
        let Some(token) = self.store.resident_token().await? else {
            return Ok(0);
        };
        let etag = self.store.dossiers_etag().await?;
        match self.gateway.my_dossiers(&token, etag.as_deref()).await? {
            None => Ok(0),
            Some((dossiers, etag)) => Ok(self
                .store
                .store_dossiers(&dossiers, etag.as_deref())
                .await?),
        }
    }

    pub async fn pull_once(&self) -> PullEvent {
        let outcome = async {
            let (since, at) = self.store.feed_position().await?;
            let sent_at = (self.clock)();
            let page = self
                .gateway
                .sync_page(since, self.page_limit, at.as_ref())
                .await?;
            let received_at = (self.clock)();
            if page.server_time_ms > 0 {
                // The gateway read its clock about halfway through the exchange.
                let midway = sent_at + (received_at - sent_at) / 2;
                self.store
                    .record_clock_offset(page.server_time_ms - midway)
                    .await?;
            }
            let applied = self.store.apply_page(since, &page, now_ms()).await?;
            let more = page.has_more || applied == PageApplied::HistoryChanged;
            if !more {
                // At the feed's head: alerts look at what arrived, old readings go. Times
                // are the gateway's (this device's clock may be off).
                let now = if page.server_time_ms > 0 {
                    page.server_time_ms
                } else {
                    now_ms()
                };
                self.store.evaluate_alerts(now, self.stale_after_ms).await?;
                self.store.prune_readings(now).await?;
            }
            // After a change of history the feed is read again from its start at once.
            Ok::<_, PullError>(more)
        }
        .await;
        if matches!(outcome, Ok(false)) {
            // At the head of the feed: the resident's own dossiers, which the public feed
            // never carries.
            if let Err(error) = self.pull_dossiers().await {
                tracing::info!(%error, "dossiers not refreshed");
            }
        }
        match outcome {
            Ok(has_more) => {
                self.store.note_written();
                // The link is back: queued operations waiting out a failed link go now.
                match self.store.retry_waiting_now(now_ms()).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(n, "link back: queued operations retried now"),
                    Err(e) => {
                        tracing::error!(error = %e, "could not bring queued operations forward")
                    }
                }
                PullEvent::PageStored { has_more }
            }
            Err(error) => {
                tracing::info!(%error, "sync failed");
                if let PullError::Store(e) = &error {
                    self.store.note_error(e, now_ms());
                }
                if let Err(e) = self
                    .store
                    .record_failure(&error.to_string(), error.problem(), now_ms())
                    .await
                {
                    tracing::error!(error = %e, "could not record the sync failure");
                    self.store.note_error(&e, now_ms());
                }
                match error {
                    PullError::Gateway(GatewayError::Status {
                        retry_after_ms: Some(wait_ms),
                        ..
                    }) => PullEvent::AskedToWait { wait_ms },
                    _ => PullEvent::Failed,
                }
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PullError {
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Gateway(#[from] GatewayError),
}

impl PullError {
    /// What the status line tells the resident.
    fn problem(&self) -> SyncProblem {
        match self {
            PullError::Gateway(GatewayError::Unreachable(_) | GatewayError::Silent(_)) => {
                SyncProblem::Unreachable
            }
            PullError::Gateway(GatewayError::SignInPage(_)) => SyncProblem::SignInPage,
            PullError::Gateway(GatewayError::Status { .. } | GatewayError::Decode(_)) => {
                SyncProblem::Gateway
            }
            PullError::Store(StoreError::OtherCity { .. }) => SyncProblem::OtherCity,
            PullError::Store(e) if e.is_full() => SyncProblem::StorageFull,
            PullError::Store(_) => SyncProblem::Storage,
        }
    }
}
