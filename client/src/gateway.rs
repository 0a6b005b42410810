//! The city gateway as the app sees it: HTTP calls, nothing else.

use std::time::Duration;

use citizen_core::SyncPage;
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
    Decode(reqwest::Error),
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
            | GatewayError::SignInPage(_) => None,
        }
    }
}

#[derive(Clone)]
pub struct Gateway {
    base: String,
    http: reqwest::Client,
}

impl Gateway {
    pub fn new(base_url: &str) -> Gateway {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(3))
            .timeout(Duration::from_secs(20))
            // The gateway's API never redirects: a redirect comes from a network in between
            // (a wifi sign-in page), and is recognised as such rather than followed.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        Gateway {
            base: base_url.trim_end_matches('/').to_owned(),
            http,
        }
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
        answer(request).await
    }

    /// Announces a photo upload (or asks how far it is when it was announced before).
    pub async fn start_upload(&self, start: &UploadStart) -> Result<UploadState, GatewayError> {
        let request = self
            .http
            .post(format!("{}/api/v1/uploads", self.base))
            .json(start);
        answer(request).await
    }

    pub async fn upload_state(&self, id: Uuid) -> Result<UploadState, GatewayError> {
        answer(self.http.get(format!("{}/api/v1/uploads/{id}", self.base))).await
    }

    /// Sends the chunk of an upload that starts at `offset`.
    pub async fn append_chunk(
        &self,
        id: Uuid,
        offset: u64,
        chunk: Vec<u8>,
    ) -> Result<UploadState, GatewayError> {
        let request = self
            .http
            .patch(format!("{}/api/v1/uploads/{id}", self.base))
            .header("upload-offset", offset.to_string())
            .header("content-type", "application/octet-stream")
            .body(chunk);
        answer(request).await
    }

    pub async fn submit_report(
        &self,
        report: &ReportSubmission,
    ) -> Result<ReportReceipt, GatewayError> {
        answer(
            self.http
                .post(format!("{}/api/v1/reports", self.base))
                .json(report),
        )
        .await
    }

    pub async fn support_report(
        &self,
        report_id: Uuid,
        support: &SupportSubmission,
    ) -> Result<SupportReceipt, GatewayError> {
        answer(
            self.http
                .post(format!("{}/api/v1/reports/{report_id}/supports", self.base))
                .json(support),
        )
        .await
    }
}

async fn answer<T: DeserializeOwned>(request: reqwest::RequestBuilder) -> Result<T, GatewayError> {
    let response = request.send().await.map_err(GatewayError::Unreachable)?;
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
    response.json().await.map_err(GatewayError::Decode)
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
