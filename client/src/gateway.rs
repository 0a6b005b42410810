//! The city gateway as the app sees it: HTTP calls, nothing else.

use std::time::Duration;

use citizen_core::SyncPage;

#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error("gateway unreachable: {0}")]
    Unreachable(reqwest::Error),
    #[error("gateway answered {status}: {body}")]
    Status { status: u16, body: String },
    #[error("gateway answer unreadable: {0}")]
    Decode(reqwest::Error),
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
            .build()
            .unwrap_or_default();
        Gateway {
            base: base_url.trim_end_matches('/').to_owned(),
            http,
        }
    }

    /// One page of the feed after `since`.
    pub async fn sync_page(&self, since: i64, limit: u32) -> Result<SyncPage, GatewayError> {
        let response = self
            .http
            .get(format!("{}/api/v1/sync", self.base))
            .query(&[("since", since.to_string()), ("limit", limit.to_string())])
            .send()
            .await
            .map_err(GatewayError::Unreachable)?;
        let status = response.status();
        if !status.is_success() {
            let body = response.text().await.unwrap_or_default();
            return Err(GatewayError::Status {
                status: status.as_u16(),
                body,
            });
        }
        response.json().await.map_err(GatewayError::Decode)
    }
}
