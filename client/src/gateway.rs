//! The city gateway as the app sees it: HTTP calls, nothing else.
//!
//! A request is given up when the link goes silent (no byte sent or received for
//! [`SILENCE`]), never for taking long: on a 10 KB/s rural uplink a photo chunk takes tens of
//! seconds and still gets through. Bytes handed to the operating system may wait in its send
//! buffer, out of sight; the time they need at [`SLOWEST_LINK`] is added to the limit, and
//! the system itself drops a connection whose sent bytes go unacknowledged for [`SILENCE`]
//! (`TCP_USER_TIMEOUT`, RFC 5482, on Linux and Android).

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use citizen_core::SyncPage;
use citizen_core::dossier::{Application, Dossier, DossierOp, DossierReceipt};
use citizen_core::identity::{CodeRequest, CodeSent, DeviceToken, Lookup, TokenRequest};
use citizen_core::report::{
    ReportReceipt, ReportSubmission, SupportReceipt, SupportSubmission, UploadStart, UploadState,
};
use serde::de::DeserializeOwned;
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error("gateway unreachable: {0}")]
    Unreachable(reqwest::Error),
    #[error("gateway answered {status}: {body}")]
    Status {
        status: u16,
        body: String,
        /// How long the gateway asked to wait before trying again (`Retry-After`, RFC 9110
        /// 10.2.3, on a 429 or 503), in ms.
        retry_after_ms: Option<i64>,
    },
    #[error("gateway answer unreadable: {0}")]
    Decode(String),
    /// Nothing moved either way for this long: the gateway (or the link) stopped answering.
    #[error("no answer from the gateway for {} s", .0.as_secs())]
    Silent(Duration),
    /// Something between answered instead of the gateway (a public wifi's sign-in page):
    /// a redirect, or a web page where the gateway answers JSON.
    #[error("a network sign-in page answered instead of the gateway ({0})")]
    SignInPage(String),
}

impl GatewayError {
    /// The HTTP status of an answer, or `None` when there was no answer.
    pub fn status(&self) -> Option<u16> {
        match self {
            GatewayError::Status { status, .. } => Some(*status),
            // A sign-in page is a link not yet usable, like no link.
            GatewayError::Unreachable(_)
            | GatewayError::Decode(_)
            | GatewayError::Silent(_)
            | GatewayError::SignInPage(_) => None,
        }
    }
}

/// Why a download stopped: the gateway or the link, or writing on this device.
#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    #[error("{0}")]
    Gateway(#[from] GatewayError),
    #[error("writing the download: {0}")]
    Write(std::io::Error),
}

/// How long the link may stay silent (no byte sent or received) before a request is given
/// up: 20 s.
pub const SILENCE: Duration = Duration::from_secs(20);

/// The slowest uplink still worth using, in bytes per second: 1 KB/s (GPRS).
pub const SLOWEST_LINK: f64 = 1_000.0;

/// Bytes handed to the connection per piece of an upload's body: each piece is a sign of life.
const PIECE_BYTES: usize = 4 * 1024;

#[derive(Clone)]
pub struct Gateway {
    base: String,
    http: reqwest::Client,
    silence: Duration,
}

impl Gateway {
    /// The gateway at `base_url` (`http://host:port`), with the [`SILENCE`] limit.
    pub fn new(base_url: &str) -> Gateway {
        Gateway {
            base: base_url.trim_end_matches('/').to_owned(),
            http: http_client(SILENCE),
            silence: SILENCE,
        }
    }

    /// The same gateway, giving a request up after `silence` without a byte either way.
    pub fn with_silence(mut self, silence: Duration) -> Gateway {
        self.silence = silence;
        self.http = http_client(silence);
        self
    }

    /// One page of the feed after `since`; `at` is the record (kind, id) of the change at
    /// `since` as this device applied it, so the gateway can say whether that history is
    /// still its own.
    pub async fn sync_page(
        &self,
        since: i64,
        limit: u32,
        at: Option<&(String, String)>,
    ) -> Result<SyncPage, GatewayError> {
        let mut query = vec![("since", since.to_string()), ("limit", limit.to_string())];
        if let Some((kind, id)) = at {
            query.push(("at_kind", kind.clone()));
            query.push(("at_id", id.clone()));
        }
        let request = self
            .http
            .get(format!("{}/api/v1/sync", self.base))
            .query(&query);
        self.answer(request, Progress::new()).await
    }

    /// The gateway's reading of `parameter` at `station_id` nearest `at_ms` within ±1 hour,
    /// read through its SensorThings API (the device keeps 31 days; a year back is asked
    /// for).
    pub async fn reading_near(
        &self,
        station_id: &str,
        parameter: &str,
        at_ms: i64,
    ) -> Result<Option<citizen_core::salinity::Sample>, GatewayError> {
        let quote = |s: &str| s.replace('\'', "''");
        let filter = format!(
            "properties/station_id eq '{}' and properties/parameter eq '{}'",
            quote(station_id),
            quote(parameter)
        );
        let request = self
            .http
            .get(format!("{}/sta/v1.1/Datastreams", self.base))
            .query(&[("$filter", filter.as_str()), ("$select", "id")]);
        let found: serde_json::Value = self.answer(request, Progress::new()).await?;
        let Some(id) = found["value"].get(0).and_then(|d| d["@iot.id"].as_i64()) else {
            return Ok(None);
        };
        let time = |ms: i64| {
            time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
                .ok()
                .and_then(|t| {
                    t.format(&time::format_description::well_known::Rfc3339)
                        .ok()
                })
                .unwrap_or_default()
        };
        let hour = 3_600_000;
        let filter = format!(
            "phenomenonTime ge {} and phenomenonTime le {}",
            time(at_ms - hour),
            time(at_ms + hour)
        );
        let request = self
            .http
            .get(format!(
                "{}/sta/v1.1/Datastreams({id})/Observations",
                self.base
            ))
            .query(&[
                ("$filter", filter.as_str()),
                ("$select", "phenomenonTime,result"),
                ("$top", "50"),
            ]);
        let page: serde_json::Value = self.answer(request, Progress::new()).await?;
        let samples: Vec<citizen_core::salinity::Sample> = page["value"]
            .as_array()
            .map(|all| {
                all.iter()
                    .filter_map(|o| {
                        let t = time::OffsetDateTime::parse(
                            o["phenomenonTime"].as_str()?,
                            &time::format_description::well_known::Rfc3339,
                        )
                        .ok()?;
                        Some(citizen_core::salinity::Sample {
                            at_ms: i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()?,
                            value: o["result"].as_f64()?,
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(samples.into_iter().min_by_key(|s| (s.at_ms - at_ms).abs()))
    }

    /// Announces a photo upload (or asks how far it is when it was announced before).
    pub async fn start_upload(&self, start: &UploadStart) -> Result<UploadState, GatewayError> {
        let request = self
            .http
            .post(format!("{}/api/v1/uploads", self.base))
            .json(start);
        self.answer(request, Progress::new()).await
    }

    pub async fn upload_state(&self, id: Uuid) -> Result<UploadState, GatewayError> {
        self.answer(
            self.http.get(format!("{}/api/v1/uploads/{id}", self.base)),
            Progress::new(),
        )
        .await
    }

    /// Sends the chunk of an upload that starts at `offset`. The body goes out in small pieces,
    /// each one a sign that the link is moving.
    pub async fn append_chunk(
        &self,
        id: Uuid,
        offset: u64,
        chunk: Vec<u8>,
    ) -> Result<UploadState, GatewayError> {
        let progress = Progress::new();
        let size = chunk.len();
        let chunk = bytes::Bytes::from(chunk);
        let pieces = (0..size).step_by(PIECE_BYTES).map({
            let progress = progress.clone();
            move |start| {
                // Asked for the next piece: the previous one left.
                progress.touch();
                let piece = chunk.slice(start..(start + PIECE_BYTES).min(size));
                progress.handed_over(piece.len());
                Ok::<_, std::io::Error>(piece)
            }
        });
        let request = self
            .http
            .patch(format!("{}/api/v1/uploads/{id}", self.base))
            .header("upload-offset", offset.to_string())
            .header("content-type", "application/octet-stream")
            .header(reqwest::header::CONTENT_LENGTH, size.to_string())
            .body(reqwest::Body::wrap_stream(futures::stream::iter(pieces)));
        self.answer(request, progress).await
    }

    /// Runs `work` until it ends or the link has been silent (no `progress`) for the
    /// gateway's silence limit.
    async fn unless_silent<T>(
        &self,
        progress: &Progress,
        work: impl Future<Output = Result<T, GatewayError>>,
    ) -> Result<T, GatewayError> {
        let mut work = std::pin::pin!(work);
        loop {
            let quiet = progress.quiet_for();
            let limit = self.silence + progress.in_buffers_for();
            if quiet >= limit {
                return Err(GatewayError::Silent(self.silence));
            }
            tokio::select! {
                outcome = &mut work => return outcome,
                () = tokio::time::sleep(limit - quiet) => {}
            }
        }
    }

    /// Sends `request` and reads its JSON answer; gives up when the link goes silent.
    async fn answer<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
        progress: Progress,
    ) -> Result<T, GatewayError> {
        self.unless_silent(&progress, read_answer(request, &progress))
            .await
    }

    /// The street-level map the gateway offers; `None` when it has none (404).
    pub async fn street_pack_offer(
        &self,
    ) -> Result<Option<citizen_core::views::StreetPackOffer>, GatewayError> {
        let request = self
            .http
            .get(format!("{}/api/v1/map/street-pack", self.base));
        match self.answer(request, Progress::new()).await {
            Ok(offer) => Ok(Some(offer)),
            Err(GatewayError::Status { status: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Writes the bytes of the gateway's file at `path` (`total` bytes long) into `file`
    /// from byte `from` on, asking for the rest only (`Range`, RFC 9110 14.2); when the
    /// gateway sends the whole file instead, `file` is written from its start. `on_bytes`
    /// hears the file's length after each piece. Returns the file's length at the end. Gives
    /// up, keeping what arrived, when the link goes silent, when a range starts elsewhere
    /// than asked, or when more than `total` bytes come; a local write error is
    /// [`DownloadError::Write`].
    pub async fn download(
        &self,
        path: &str,
        from: u64,
        total: u64,
        file: &mut tokio::fs::File,
        mut on_bytes: impl FnMut(u64),
    ) -> Result<u64, DownloadError> {
        use tokio::io::{AsyncSeekExt as _, AsyncWriteExt as _};
        let mut request = self.http.get(format!("{}{path}", self.base));
        if from > 0 {
            request = request.header(reqwest::header::RANGE, format!("bytes={from}-"));
        }
        let silent = |_| GatewayError::Silent(self.silence);
        let io = DownloadError::Write;
        let mut response = tokio::time::timeout(self.silence, request.send())
            .await
            .map_err(silent)?
            .map_err(GatewayError::Unreachable)?;
        let status = response.status().as_u16();
        let mut length = match status {
            // Only the range asked for is taken (RFC 9110 14.4: `Content-Range: bytes a-b/n`).
            206 => {
                let start = response
                    .headers()
                    .get(reqwest::header::CONTENT_RANGE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.strip_prefix("bytes "))
                    .and_then(|v| v.split('-').next())
                    .and_then(|v| v.parse::<u64>().ok());
                if start != Some(from) {
                    return Err(GatewayError::Decode(format!(
                        "asked for bytes from {from}, got a range starting at {start:?}"
                    ))
                    .into());
                }
                from
            }
            200 => {
                file.set_len(0).await.map_err(io)?;
                0
            }
            _ => {
                let body = response.text().await.unwrap_or_default();
                return Err(GatewayError::Status {
                    status,
                    body,
                    retry_after_ms: None,
                }
                .into());
            }
        };
        file.seek(std::io::SeekFrom::Start(length))
            .await
            .map_err(io)?;
        while let Some(piece) = tokio::time::timeout(self.silence, response.chunk())
            .await
            .map_err(silent)?
            .map_err(GatewayError::Unreachable)?
        {
            if length + piece.len() as u64 > total {
                return Err(GatewayError::Decode(format!(
                    "the file is longer than the {total} bytes offered"
                ))
                .into());
            }
            file.write_all(&piece).await.map_err(io)?;
            length += piece.len() as u64;
            on_bytes(length);
        }
        file.flush().await.map_err(io)?;
        file.sync_data().await.map_err(io)?;
        Ok(length)
    }

    pub async fn submit_report(
        &self,
        report: &ReportSubmission,
    ) -> Result<ReportReceipt, GatewayError> {
        self.answer(
            self.http
                .post(format!("{}/api/v1/reports", self.base))
                .json(report),
            Progress::new(),
        )
        .await
    }

    /// Asks for a one-time code for `phone`.
    pub async fn request_code(&self, phone: &str) -> Result<CodeSent, GatewayError> {
        self.answer(
            self.http
                .post(format!("{}/api/v1/identity/codes", self.base))
                .json(&CodeRequest {
                    phone: phone.to_owned(),
                }),
            Progress::new(),
        )
        .await
    }

    /// Trades a one-time code for a device token.
    pub async fn redeem_code(&self, request: &TokenRequest) -> Result<DeviceToken, GatewayError> {
        self.answer(
            self.http
                .post(format!("{}/api/v1/identity/tokens", self.base))
                .json(request),
            Progress::new(),
        )
        .await
    }

    /// Sends an application with the resident's device token.
    pub async fn apply(
        &self,
        application: &Application,
        token: &str,
    ) -> Result<DossierReceipt, GatewayError> {
        self.answer(
            self.http
                .post(format!("{}/api/v1/dossiers", self.base))
                .bearer_auth(token)
                .json(application),
            Progress::new(),
        )
        .await
    }

    /// Sends a resident's move on a dossier.
    pub async fn dossier_op(
        &self,
        dossier: Uuid,
        op: &DossierOp,
        token: &str,
    ) -> Result<Dossier, GatewayError> {
        self.answer(
            self.http
                .post(format!("{}/api/v1/dossiers/{dossier}/ops", self.base))
                .bearer_auth(token)
                .json(op),
            Progress::new(),
        )
        .await
    }

    /// The resident's dossiers, unless they are what `etag` names (then `None`); with the
    /// new ETag.
    pub async fn my_dossiers(
        &self,
        token: &str,
        etag: Option<&str>,
    ) -> Result<Option<(Vec<Dossier>, Option<String>)>, GatewayError> {
        let mut request = self
            .http
            .get(format!("{}/api/v1/dossiers", self.base))
            .bearer_auth(token);
        if let Some(etag) = etag {
            request = request.header(reqwest::header::IF_NONE_MATCH, etag);
        }
        let progress = Progress::new();
        self.unless_silent(&progress, async {
            let response = request.send().await.map_err(GatewayError::Unreachable)?;
            progress.touch();
            if response.status() == reqwest::StatusCode::NOT_MODIFIED {
                return Ok(None);
            }
            let etag = response
                .headers()
                .get(reqwest::header::ETAG)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let status = response.status();
            let body = response.bytes().await.map_err(GatewayError::Unreachable)?;
            progress.touch();
            if !status.is_success() {
                return Err(GatewayError::Status {
                    status: status.as_u16(),
                    body: String::from_utf8_lossy(&body).into_owned(),
                    retry_after_ms: None,
                });
            }
            let list =
                serde_json::from_slice(&body).map_err(|e| GatewayError::Decode(e.to_string()))?;
            Ok(Some((list, etag)))
        })
        .await
    }

    /// A dossier by its code and phone number, from any device.
    pub async fn lookup_dossier(&self, lookup: &Lookup) -> Result<Dossier, GatewayError> {
        self.answer(
            self.http
                .post(format!("{}/api/v1/dossiers/lookup", self.base))
                .json(lookup),
            Progress::new(),
        )
        .await
    }

    /// A document of one of the resident's dossiers: its media type and bytes.
    pub async fn dossier_document(
        &self,
        dossier: Uuid,
        document: Uuid,
        token: &str,
    ) -> Result<(String, Vec<u8>), GatewayError> {
        let request = self
            .http
            .get(format!(
                "{}/api/v1/dossiers/{dossier}/documents/{document}",
                self.base
            ))
            .bearer_auth(token);
        let progress = Progress::new();
        self.unless_silent(&progress, async {
            let mut response = request.send().await.map_err(GatewayError::Unreachable)?;
            progress.touch();
            let status = response.status();
            let media_type = response
                .headers()
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("application/octet-stream")
                .to_owned();
            let mut body = Vec::new();
            while let Some(piece) = response.chunk().await.map_err(GatewayError::Unreachable)? {
                progress.touch();
                body.extend_from_slice(&piece);
            }
            if !status.is_success() {
                return Err(GatewayError::Status {
                    status: status.as_u16(),
                    body: String::from_utf8_lossy(&body).into_owned(),
                    retry_after_ms: None,
                });
            }
            Ok((media_type, body))
        })
        .await
    }

    pub async fn support_report(
        &self,
        report_id: Uuid,
        support: &SupportSubmission,
    ) -> Result<SupportReceipt, GatewayError> {
        self.answer(
            self.http
                .post(format!("{}/api/v1/reports/{report_id}/supports", self.base))
                .json(support),
            Progress::new(),
        )
        .await
    }
}

fn http_client(silence: Duration) -> reqwest::Client {
    let http = reqwest::Client::builder().connect_timeout(Duration::from_secs(10));
    #[cfg(any(target_os = "android", target_os = "linux"))]
    let http = http.tcp_user_timeout(silence);
    #[cfg(not(any(target_os = "android", target_os = "linux")))]
    let _ = silence;
    http
        // The gateway's API never redirects: a redirect comes from a network in between
        // (a wifi sign-in page), and is recognised as such rather than followed.
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_default()
}

/// When bytes last moved on one request's link.
#[derive(Clone)]
struct Progress {
    start: Instant,
    /// ms after `start` of the last sign of life.
    last_ms: Arc<AtomicU64>,
    /// Bytes of the body handed to the connection.
    body_bytes: Arc<AtomicU64>,
}

impl Progress {
    fn new() -> Progress {
        Progress {
            start: Instant::now(),
            last_ms: Arc::new(AtomicU64::new(0)),
            body_bytes: Arc::new(AtomicU64::new(0)),
        }
    }

    fn handed_over(&self, bytes: usize) {
        self.body_bytes
            .fetch_add(u64::try_from(bytes).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    /// How long the body handed over may take to leave the system's buffers on the slowest
    /// link worth using.
    fn in_buffers_for(&self) -> Duration {
        Duration::from_secs_f64(self.body_bytes.load(Ordering::Relaxed) as f64 / SLOWEST_LINK)
    }

    fn touch(&self) {
        let now = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.fetch_max(now, Ordering::Relaxed);
    }

    fn quiet_for(&self) -> Duration {
        self.start
            .elapsed()
            .saturating_sub(Duration::from_millis(self.last_ms.load(Ordering::Relaxed)))
    }
}

async fn read_answer<T: DeserializeOwned>(
    request: reqwest::RequestBuilder,
    progress: &Progress,
) -> Result<T, GatewayError> {
    let mut response = request.send().await.map_err(GatewayError::Unreachable)?;
    progress.touch();
    let status = response.status();
    if status.is_redirection() {
        let to = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|l| l.to_str().ok())
            .unwrap_or("elsewhere")
            .to_owned();
        return Err(GatewayError::SignInPage(format!("{status}, to {to}")));
    }
    let json = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|c| c.to_str().ok())
        .is_some_and(|c| c.to_ascii_lowercase().contains("json"));
    if status.is_success() && !json {
        return Err(GatewayError::SignInPage(format!(
            "{status} with a web page"
        )));
    }
    if !status.is_success() {
        let retry_after_ms = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| retry_after_ms(v, std::time::SystemTime::now()));
        let body = response.text().await.unwrap_or_default();
        return Err(GatewayError::Status {
            status: status.as_u16(),
            body,
            retry_after_ms,
        });
    }
    let mut body = Vec::new();
    while let Some(piece) = response.chunk().await.map_err(GatewayError::Unreachable)? {
        progress.touch();
        body.extend_from_slice(&piece);
    }
    serde_json::from_slice(&body).map_err(|e| GatewayError::Decode(e.to_string()))
}

/// A `Retry-After` value (RFC 9110, 10.2.3) as a delay in ms from `now`: delay-seconds, or an
/// HTTP-date. Capped at a day, so a wrong header cannot park the outbox for good.
fn retry_after_ms(value: &str, now: std::time::SystemTime) -> Option<i64> {
    const DAY_MS: i64 = 86_400_000;
    let value = value.trim();
    let ms = if let Ok(seconds) = value.parse::<u64>() {
        i64::try_from(seconds).ok()?.saturating_mul(1_000)
    } else {
        let at = httpdate::parse_http_date(value).ok()?;
        at.duration_since(now)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
    };
    Some(ms.min(DAY_MS))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_read_in_both_forms_of_the_standard() {
        let now = std::time::UNIX_EPOCH + Duration::from_secs(1_795_143_600);
        assert_eq!(retry_after_ms("120", now), Some(120_000));
        assert_eq!(retry_after_ms(" 0 ", now), Some(0));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(90));
        assert_eq!(retry_after_ms(&later, now), Some(90_000));
        let earlier = httpdate::fmt_http_date(now - Duration::from_secs(90));
        assert_eq!(retry_after_ms(&earlier, now), Some(0), "a date past is now");
        assert_eq!(
            retry_after_ms("99999999", now),
            Some(86_400_000),
            "capped at a day"
        );
        assert_eq!(retry_after_ms("soon", now), None);
        assert_eq!(retry_after_ms("-5", now), None);
    }
}
