//! The outbox's driver: sends waiting operations oldest first. A report's photos go first,
//! in chunks that resume from the offset the gateway confirmed; the report follows. Every
//! acknowledgement is stored before the next step, so a crash at any point repeats at most
//! one idempotent request.

use citizen_core::outbox::{Failure, next_attempt_ms};
use citizen_core::report::UploadStart;
use citizen_core::sync::PullTiming;
use uuid::Uuid;

use crate::gateway::{Gateway, GatewayError};
use crate::reports::{OutboxItem, OutboxOp};
use crate::store::{Store, StoreError};

/// Bytes per upload request: small enough that a dropped link loses little.
pub const CHUNK_BYTES: usize = 256 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("{0}")]
    Gateway(#[from] GatewayError),
    #[error("{0}")]
    Store(#[from] StoreError),
}

impl SendError {
    fn failure(&self) -> Failure {
        match self {
            SendError::Gateway(e) => Failure::from_status(e.status()),
            // A local failure (a full disk …) is worth trying again.
            SendError::Store(_) => Failure::Transient,
        }
    }

    /// How long the gateway asked to wait (`Retry-After`), in ms.
    fn retry_after_ms(&self) -> Option<i64> {
        match self {
            SendError::Gateway(GatewayError::Status { retry_after_ms, .. }) => *retry_after_ms,
            _ => None,
        }
    }

    /// What the resident is shown as the entry's last error.
    fn summary(&self) -> String {
        match self {
            SendError::Gateway(GatewayError::Status { status, body, .. }) => {
                let message = serde_json::from_str::<serde_json::Value>(body)
                    .ok()
                    .and_then(|v| v["message"].as_str().map(str::to_owned))
                    .unwrap_or_else(|| body.chars().take(200).collect());
                format!("{status}: {message}")
            }
            other => other.to_string(),
        }
    }
}

/// The `field` a gateway error answer names, if it names one.
fn refused_field(body: &str) -> Option<String> {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()?
        .get("field")?
        .as_str()
        .map(str::to_owned)
}

/// What one drain did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Drained {
    pub sent: usize,
    /// The error that stopped the drain, if one did.
    pub stopped_by: Option<String>,
}

#[derive(Clone)]
pub struct Outbox {
    store: Store,
    gateway: Gateway,
    timing: PullTiming,
}

impl Outbox {
    pub fn new(store: Store, gateway: Gateway, timing: PullTiming) -> Outbox {
        Outbox {
            store,
            gateway,
            timing,
        }
    }

    /// Sends every operation due now, oldest first. Stops at the first failure of the link
    /// (the next ones would fail too); a refused operation is set aside and the rest go on.
    pub async fn drain(&self, now_ms: impl Fn() -> i64) -> Result<Drained, StoreError> {
        let mut drained = Drained::default();
        let mut tried = std::collections::HashSet::new();
        while let Some(item) = self.store.next_due(now_ms()).await? {
            if !tried.insert(item.op_id) {
                break;
            }
            match self.send(&item).await {
                Ok(()) => {
                    // A success means the link is back: what waited out its failures goes
                    // now, not after its old delay.
                    if drained.sent == 0 {
                        self.store.retry_waiting_now(now_ms()).await?;
                    }
                    drained.sent += 1;
                }
                Err(e) => {
                    let failure = e.failure();
                    let summary = e.summary();
                    tracing::info!(op = %item.op_id, error = %summary, "outbox send failed");
                    let next = next_attempt_ms(
                        failure,
                        item.attempts + 1,
                        now_ms(),
                        rand::random(),
                        &self.timing,
                    )
                    // The gateway said how long to wait: not sooner.
                    .max(now_ms().saturating_add(e.retry_after_ms().unwrap_or(0)));
                    self.store
                        // Refused, or told how long to wait: not brought forward when the
                        // link is back.
                        .outbox_failed(
                            item.op_id,
                            &summary,
                            next,
                            failure == Failure::Refused || e.retry_after_ms().is_some(),
                        )
                        .await?;
                    if failure == Failure::Transient {
                        drained.stopped_by = Some(summary);
                        break;
                    }
                }
            }
        }
        Ok(drained)
    }

    /// Delivers one operation and stores the gateway's answer.
    pub async fn send(&self, item: &OutboxItem) -> Result<(), SendError> {
        match &item.op {
            OutboxOp::Report(report) => {
                for photo in &report.photos {
                    self.upload(photo.id).await?;
                }
                let receipt = self.gateway.submit_report(report).await?;
                self.store.report_acknowledged(&receipt).await?;
            }
            OutboxOp::Support { report_id, body } => {
                match self.gateway.support_report(*report_id, body).await {
                    Ok(receipt) => {
                        self.store
                            .support_acknowledged(item.op_id, &receipt)
                            .await?;
                    }
                    // The report closed before this "me too" arrived: it can never count.
                    Err(GatewayError::Status {
                        status: 409, body, ..
                    }) if refused_field(&body).as_deref() == Some("status") => {
                        tracing::info!(op = %item.op_id, report = %report_id, "me too refused: the report is closed");
                        self.store.support_refused(item.op_id, *report_id).await?;
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        }
        Ok(())
    }

    /// Uploads a photo from where the gateway says it stands.
    async fn upload(&self, id: Uuid) -> Result<(), SendError> {
        let photo = self.store.photo_upload(id).await?;
        let size = photo.data.len() as u64;
        if photo.uploaded >= size {
            return Ok(());
        }
        // Announcing is idempotent and answers the gateway's offset, which is the truth
        // after a crash between a chunk and the store's note of it.
        let mut state = self
            .gateway
            .start_upload(&UploadStart {
                id,
                size,
                sha256: photo.sha256.clone(),
            })
            .await?;
        while !state.complete {
            let start = state.offset as usize;
            let end = (start + CHUNK_BYTES).min(photo.data.len());
            match self
                .gateway
                .append_chunk(id, state.offset, photo.data[start..end].to_vec())
                .await
            {
                Ok(next) => state = next,
                // The gateway has more (or less) than we thought: ask and go on from there.
                Err(GatewayError::Status { status: 409, .. }) => {
                    state = self.gateway.upload_state(id).await?;
                }
                Err(e) => return Err(e.into()),
            }
            self.store.set_uploaded(id, state.offset).await?;
        }
        Ok(())
    }
}
