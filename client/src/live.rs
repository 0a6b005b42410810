//! Live updates: the device listens to the gateway's event stream (`GET /api/v1/sync/events`,
//! server-sent events) and wakes the syncer whenever the feed moves, so a new reading reaches
//! the screen within a second or two. When the stream breaks — a weak signal, a gateway
//! restart, a proxy that cuts long requests — the syncer's regular pull goes on (polling), and
//! the stream is tried again after a growing wait (1 s doubling to 60 s, with jitter).

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::syncer::SyncerHandle;

/// Whether updates arrive live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LiveState {
    /// Connecting (at start).
    Connecting,
    /// The stream is open: new data comes at once.
    Live,
    /// The stream is broken; data comes with the regular pull until it is back.
    Polling,
}

/// The first wait before trying the stream again, and the longest.
const RETRY_FIRST: Duration = Duration::from_secs(1);
const RETRY_MAX: Duration = Duration::from_secs(60);
/// The gateway sends a comment every 15 s; two missed mean the link is dead.
const SILENCE: Duration = Duration::from_secs(40);

/// Listens to `gateway_url`'s events for as long as the returned future runs; the receiver
/// tells the UI whether updates are live.
pub fn start(
    gateway_url: &str,
    sync: SyncerHandle,
) -> (
    watch::Receiver<LiveState>,
    impl Future<Output = ()> + Send + 'static,
) {
    let (tx, rx) = watch::channel(LiveState::Connecting);
    let url = format!("{}/api/v1/sync/events", gateway_url.trim_end_matches('/'));
    (rx, run(url, sync, tx))
}

async fn run(url: String, sync: SyncerHandle, state: watch::Sender<LiveState>) {
    let http = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .build()
        .unwrap_or_default();
    let mut wait = RETRY_FIRST;
    loop {
        match listen(&http, &url, &sync, &state).await {
            Ok(()) => tracing::info!("live updates: the stream ended; reconnecting"),
            Err(error) => tracing::info!(%error, "live updates: stream broken; polling meanwhile"),
        }
        // A stream that was live came from a good link: the waits start over.
        if state.send_replace(LiveState::Polling) == LiveState::Live {
            wait = RETRY_FIRST;
        }
        let jitter = 0.8 + 0.4 * rand::random::<f64>();
        tokio::time::sleep(wait.mul_f64(jitter)).await;
        wait = (wait * 2).min(RETRY_MAX);
    }
}

#[derive(Debug, thiserror::Error)]
enum LiveError {
    #[error("{0}")]
    Http(#[from] reqwest::Error),
    #[error("the gateway answered {0}")]
    Status(u16),
    #[error("nothing heard for {0:?}")]
    Silent(Duration),
}

/// One connection: wakes the syncer on every `feed` event until the stream ends or breaks.
async fn listen(
    http: &reqwest::Client,
    url: &str,
    sync: &SyncerHandle,
    state: &watch::Sender<LiveState>,
) -> Result<(), LiveError> {
    let mut response = http
        .get(url)
        .header("accept", "text/event-stream")
        .send()
        .await?;
    if !response.status().is_success() {
        return Err(LiveError::Status(response.status().as_u16()));
    }
    let mut parser = EventParser::default();
    loop {
        let chunk = match tokio::time::timeout(SILENCE, response.chunk()).await {
            Err(_) => return Err(LiveError::Silent(SILENCE)),
            Ok(chunk) => chunk?,
        };
        let Some(chunk) = chunk else {
            return Ok(());
        };
        for event in parser.push(&chunk) {
            if event.name == "feed" {
                state.send_replace(LiveState::Live);
                sync.wake();
            }
        }
    }
}

/// A server-sent event: its name (`event:`) and data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    pub name: String,
    pub data: String,
}

/// Reads the `text/event-stream` format (WHATWG HTML §9.2) from chunks as they arrive.
#[derive(Debug, Default)]
pub struct EventParser {
    buffer: String,
    name: String,
    data: Vec<String>,
}

impl EventParser {
    /// The events completed by `chunk`.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<SseEvent> {
        self.buffer.push_str(&String::from_utf8_lossy(chunk));
        let mut out = Vec::new();
        while let Some(end) = self.buffer.find('\n') {
            let line: String = self.buffer.drain(..=end).collect();
            let line = line.trim_end_matches(['\n', '\r']);
            if line.is_empty() {
                if !self.data.is_empty() || !self.name.is_empty() {
                    out.push(SseEvent {
                        name: if self.name.is_empty() {
                            "message".into()
                        } else {
                            std::mem::take(&mut self.name)
                        },
                        data: self.data.join("\n"),
                    });
                    self.data.clear();
                }
                continue;
            }
            if line.starts_with(':') {
                continue;
            }
            let (field, value) = line.split_once(':').unwrap_or((line, ""));
            let value = value.strip_prefix(' ').unwrap_or(value);
            match field {
                "event" => value.clone_into(&mut self.name),
                "data" => self.data.push(value.to_owned()),
                _ => {}
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_split_across_chunks_and_comments_are_read() {
        let mut p = EventParser::default();
        assert!(p.push(b": keep-alive\n\nevent: fe").is_empty());
        assert!(p.push(b"ed\nid: 7\ndata: {\"head\":7}\r\n").is_empty());
        let events = p.push(b"\r\nevent: feed\ndata: {\"head\":8}\n\n");
        assert_eq!(
            events,
            vec![
                SseEvent {
                    name: "feed".into(),
                    data: "{\"head\":7}".into()
                },
                SseEvent {
                    name: "feed".into(),
                    data: "{\"head\":8}".into()
                },
            ]
        );
    }
}
