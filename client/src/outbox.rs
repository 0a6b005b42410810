//! The outbox's driver: sends waiting operations oldest first. A report's photos go first,
//! in chunks that resume from the offset the gateway confirmed; the report follows. Every
//! acknowledgement is stored before the next step, so a crash at any point repeats at most
//! one idempotent request.

use std::sync::Arc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use citizen_core::outbox::{Failure, next_attempt_ms};
use citizen_core::report::{UploadKind, UploadStart};
use citizen_core::sync::PullTiming;
use citizen_core::views::SyncProblem;
use uuid::Uuid;

use crate::gateway::{Gateway, GatewayError};
use crate::reports::{OutboxItem, OutboxOp};
use crate::store::{Store, StoreError};

/// Bytes in the first upload request, before the link is measured: 64 KiB.
pub const FIRST_CHUNK_BYTES: usize = 64 * 1024;
/// The smallest upload request: 16 KiB.
pub const MIN_CHUNK_BYTES: usize = 16 * 1024;
/// The largest upload request: 1 MiB, the gateway's limit for one `PATCH`.
pub const MAX_CHUNK_BYTES: usize = 1024 * 1024;
/// How long one upload request should take on the measured link: 8 s. A dropped link then
/// loses at most that much work, and a fast link needs few requests.
const CHUNK_TIME: Duration = Duration::from_secs(8);

/// How upload requests are sized, in bytes: to what the measured link moves in
/// [`CHUNK_TIME`], doubling per request up to the size at which the link last broke, then
/// growing by [`MIN_CHUNK_BYTES`] per request (as TCP's congestion control does, RFC 5681);
/// halved when a request breaks; and kept below a size something on the way refused as too
/// large (`413 Content Too Large`, RFC 9110 section 15.5.14: a reverse proxy's body limit).
/// Always within [`MIN_CHUNK_BYTES`]..=[`MAX_CHUNK_BYTES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkSizer {
    /// The size of the next request.
    pub size: usize,
    /// Half the size of the request that last broke: doubling stops here.
    ceiling: usize,
    /// Below the smallest size refused as too large: never exceeded.
    max: usize,
}

impl Default for ChunkSizer {
    fn default() -> ChunkSizer {
        ChunkSizer {
            size: FIRST_CHUNK_BYTES,
            ceiling: MAX_CHUNK_BYTES,
            max: MAX_CHUNK_BYTES,
        }
    }
}

impl ChunkSizer {
    /// After a whole request of `self.size` bytes went through in `took`.
    pub fn sent(self, took: Duration) -> ChunkSizer {
        let rate = self.size as f64 / took.as_secs_f64().max(0.001);
        let fits = (rate * CHUNK_TIME.as_secs_f64()) as usize;
        let grown = if self.size.saturating_mul(2) <= self.ceiling {
            self.size * 2
        } else if self.size < self.ceiling {
            self.ceiling
        } else {
            self.size + MIN_CHUNK_BYTES
        };
        ChunkSizer {
            size: fits.min(grown).clamp(MIN_CHUNK_BYTES, self.max),
            ..self
        }
    }

    /// After a request of `self.size` bytes was refused as too large; `None` when it was
    /// already the smallest.
    pub fn too_large(self) -> Option<ChunkSizer> {
        (self.size > MIN_CHUNK_BYTES).then(|| {
            let half = (self.size / 2).max(MIN_CHUNK_BYTES);
            ChunkSizer {
                size: half,
                ceiling: half,
                max: half,
            }
        })
    }

    /// After a request broke (the link dropped or went silent).
    pub fn broke(self) -> ChunkSizer {
        let half = (self.size / 2).max(MIN_CHUNK_BYTES);
        ChunkSizer {
            size: half,
            ceiling: half,
            ..self
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("{0}")]
    Gateway(#[from] GatewayError),
    #[error("{0}")]
    Store(#[from] StoreError),
    /// An application or a dossier move waits for the resident to identify on this device.
    #[error("not identified: the resident has no device token")]
    NotIdentified,
}

impl SendError {
    fn failure(&self) -> Failure {
        match self {
            SendError::Gateway(e) => Failure::from_status(e.status()),
            // A local failure (a full disk …) is worth trying again.
            SendError::Store(_) => Failure::Transient,
            SendError::NotIdentified => Failure::Refused,
        }
    }

    /// What the resident is told about this failure, in their language.
    fn problem(&self) -> SyncProblem {
        match self {
            SendError::Gateway(GatewayError::Unreachable(_) | GatewayError::Silent(_)) => {
                SyncProblem::Unreachable
            }
            SendError::Gateway(GatewayError::SignInPage(_)) => SyncProblem::SignInPage,
            SendError::Gateway(GatewayError::Status { status, .. })
                if Failure::from_status(Some(*status)) == Failure::Refused =>
            {
                SyncProblem::Refused
            }
            SendError::Gateway(GatewayError::Status { .. } | GatewayError::Decode(_)) => {
                SyncProblem::Gateway
            }
            SendError::Store(e) if e.is_full() => SyncProblem::StorageFull,
            SendError::Store(_) => SyncProblem::Storage,
            SendError::NotIdentified => SyncProblem::Refused,
        }
    }

    /// How long the gateway asked to wait (`Retry-After`), in ms.
    fn retry_after_ms(&self) -> Option<i64> {
        match self {
            SendError::Gateway(GatewayError::Status { retry_after_ms, .. }) => *retry_after_ms,
            _ => None,
        }
    }

    /// The entry's last error as recorded for support: the gateway's own message.
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
    /// The upload request size that suits the link as last measured.
    chunks: Arc<Mutex<ChunkSizer>>,
}

impl Outbox {
    pub fn new(store: Store, gateway: Gateway, timing: PullTiming) -> Outbox {
        Outbox {
            store,
            gateway,
            timing,
            chunks: Arc::new(Mutex::new(ChunkSizer::default())),
        }
    }

    fn sizer(&self) -> ChunkSizer {
        *self
            .chunks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn resize(&self, change: impl FnOnce(ChunkSizer) -> ChunkSizer) {
        let mut sizer = self
            .chunks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *sizer = change(*sizer);
    }

    /// The size of the next upload request, in bytes: sized to the link as last measured.
    pub fn chunk_bytes(&self) -> usize {
        self.sizer().size
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
                    if let SendError::Store(store_error) = &e {
                        self.store.note_error(store_error, now_ms());
                    }
                    let failure = e.failure();
                    let summary = e.summary();
                    tracing::info!(op = %item.op_id, error = %summary, "outbox send failed");
                    let failed_at = now_ms();
                    let next = next_attempt_ms(
                        failure,
                        item.attempts + 1,
                        failed_at,
                        rand::random(),
                        &self.timing,
                    )
                    // The gateway said how long to wait: not sooner.
                    .max(failed_at.saturating_add(e.retry_after_ms().unwrap_or(0)));
                    self.store
                        // Refused, or told how long to wait: not brought forward when the
                        // link is back.
                        .outbox_failed(
                            item.op_id,
                            &summary,
                            e.problem(),
                            (failed_at, next),
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
                    self.upload(photo.id, UploadKind::Photo).await?;
                }
                let receipt = self.gateway.submit_report(report).await?;
                self.store.report_acknowledged(&receipt).await?;
            }
            OutboxOp::Application(application) => {
                let token = self
                    .store
                    .resident_token()
                    .await?
                    .ok_or(SendError::NotIdentified)?;
                for doc in citizen_core::form::attachment_refs(&application.answers) {
                    self.upload(doc.id, UploadKind::Document).await?;
                }
                let receipt = self.gateway.apply(application, &token).await?;
                self.store.application_acknowledged(&receipt).await?;
            }
            OutboxOp::DossierOp { dossier_id, op } => {
                let token = self
                    .store
                    .resident_token()
                    .await?
                    .ok_or(SendError::NotIdentified)?;
                for doc in op.action.documents() {
                    self.upload(doc.id, UploadKind::Document).await?;
                }
                let dossier = self.gateway.dossier_op(*dossier_id, op, &token).await?;
                self.store
                    .dossier_op_acknowledged(op.op_id, &dossier)
                    .await?;
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

    /// Uploads a photo or a document from where the gateway says it stands.
    async fn upload(&self, id: Uuid, kind: UploadKind) -> Result<(), SendError> {
        let photo = match kind {
            UploadKind::Photo => self.store.photo_upload(id).await?,
            UploadKind::Document => {
                let doc = self
                    .store
                    .document_upload(id)
                    .await?
                    .ok_or_else(|| StoreError::NotFound(format!("document {id}")))?;
                crate::reports::PhotoUpload {
                    id,
                    sha256: doc.sha256,
                    data: doc.data,
                    uploaded: 0,
                }
            }
        };
        let size = photo.data.len() as u64;
        // Announcing is idempotent and answers the gateway's offset, which is the truth after
        // a crash between a chunk and the store's note of it, and after the gateway went back
        // to a backup taken before the upload: so it is asked even when the device counts
        // the upload complete.
        let mut state = self
            .gateway
            .start_upload(&UploadStart {
                id,
                size,
                sha256: photo.sha256.clone(),
                kind,
            })
            .await?;
        while !state.complete {
            let start = usize::try_from(state.offset)
                .unwrap_or(usize::MAX)
                .min(photo.data.len());
            let size = self.chunk_bytes();
            let end = start.saturating_add(size).min(photo.data.len());
            let began = Instant::now();
            match self
                .gateway
                .append_chunk(id, state.offset, photo.data[start..end].to_vec())
                .await
            {
                Ok(next) => {
                    let took = began.elapsed();
                    // Only a full request measures the link: a short last one is mostly delay.
                    if end - start == size {
                        self.resize(|s| s.sent(took));
                        tracing::debug!(
                            bytes = size,
                            ms = took.as_millis() as u64,
                            next = self.chunk_bytes(),
                            "chunk sent"
                        );
                    }
                    state = next;
                }
                // Something on the way takes no body this large: smaller ones from now on.
                Err(GatewayError::Status { status: 413, .. })
                    if self.sizer().too_large().is_some() =>
                {
                    self.resize(|s| s.too_large().unwrap_or(s));
                    tracing::info!(
                        refused = size,
                        next = self.chunk_bytes(),
                        "upload request refused as too large: smaller ones from now on"
                    );
                    continue;
                }
                // The gateway has more (or less) than we thought: ask and go on from there.
                Err(GatewayError::Status { status: 409, .. }) => {
                    state = self.gateway.upload_state(id).await?;
                }
                Err(e) => {
                    // A link that broke or went silent mid-request: try a smaller one next.
                    if e.status().is_none() {
                        self.resize(ChunkSizer::broke);
                    }
                    return Err(e.into());
                }
            }
            self.store.set_uploaded(id, state.offset).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_sized_to_the_measured_link() {
        let secs = Duration::from_secs;
        // 10 KB/s (rural EDGE): 80 KB moves in 8 s.
        let first = ChunkSizer::default();
        assert_eq!(first.size, FIRST_CHUNK_BYTES);
        assert_eq!(first.sent(Duration::from_secs_f64(6.5536)).size, 80_000);
        // A fast link: twofold per request, then the gateway's limit.
        let mut fast = first;
        for expected in [128, 256, 512, 1024, 1024] {
            fast = fast.sent(Duration::from_millis(5));
            assert_eq!(fast.size, expected * 1024);
        }
        // A crawling link still sends something.
        assert_eq!(first.sent(secs(600)).size, MIN_CHUNK_BYTES);
    }

    #[test]
    fn a_broken_request_halves_the_size_and_growth_slows_there() {
        let broke = ChunkSizer::default().sent(Duration::from_millis(5)).broke();
        assert_eq!(broke.size, 64 * 1024, "half of 128 KiB");
        let fast = Duration::from_millis(5);
        assert_eq!(
            broke.sent(fast).size,
            80 * 1024,
            "then 16 KiB more per request"
        );
        assert_eq!(broke.sent(fast).sent(fast).size, 96 * 1024);
        assert_eq!(
            ChunkSizer::default().broke().broke().broke().size,
            MIN_CHUNK_BYTES
        );
    }

    #[test]
    fn a_size_refused_as_too_large_is_never_reached_again() {
        let fast = Duration::from_millis(5);
        let refused = ChunkSizer::default().sent(fast).sent(fast); // 256 KiB
        let mut smaller = refused.too_large().expect("can shrink");
        assert_eq!(smaller.size, 128 * 1024);
        for _ in 0..20 {
            smaller = smaller.sent(fast);
        }
        assert_eq!(smaller.size, 128 * 1024, "however fast the link");
        let floor = ChunkSizer::default().broke().broke();
        assert_eq!(floor.size, MIN_CHUNK_BYTES);
        assert_eq!(floor.too_large(), None, "nothing smaller to try");
    }
}
