//! `GET /api/v1/sync`: the ordered feed of published changes, in pages behind a cursor.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{RawQuery, State};
use axum::response::IntoResponse;
use axum::response::sse::{Event, KeepAlive, Sse};
use citizen_core::SyncPage;
use futures::Stream;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::AppState;
use crate::error::{ApiError, ApiErrorBody};
use crate::routes::input::parse_query;

pub const DEFAULT_LIMIT: u32 = 500;
pub const MAX_LIMIT: u32 = 1_000;

/// Query parameters of the feed.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SyncQuery {
    /// The `next_cursor` of the previous page; 0 (the default) for the whole feed.
    #[param(minimum = 0)]
    pub since: Option<i64>,
    /// Changes per page, 1 to 1000; 500 by default.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// The kind of the record of the change at `since`, as the client applied it; with
    /// `at_id` (one alone is ignored), it lets the gateway tell whether the client's history
    /// is this feed's.
    pub at_kind: Option<String>,
    /// The id of that record.
    pub at_id: Option<String>,
}

/// A parsed feed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedRequest {
    pub since: i64,
    pub limit: u32,
    /// The record of the change at `since` (kind, id).
    pub at: Option<(String, String)>,
}

impl SyncQuery {
    /// Parses the raw query string so that an error names the parameter at fault.
    pub fn parse(raw: Option<&str>) -> Result<FeedRequest, ApiError> {
        let query: SyncQuery = parse_query(raw)?;
        // A checkpoint needs both; one alone is no checkpoint (each is optional alone in
        // the document, and the cursor is still checked against the head).
        let at = query.at_kind.zip(query.at_id);
        let since = query.since.unwrap_or(0);
        if since < 0 {
            return Err(ApiError::invalid("since", "must not be negative"));
        }
        let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(ApiError::invalid(
                "limit",
                format!("must be between 1 and {MAX_LIMIT}"),
            ));
        }
        Ok(FeedRequest { since, limit, at })
    }
}

/// Changes after `since`, oldest first. Records appear once, in their newest state. Every page
/// names the feed's history (`history_id`), its `head` and the city it serves; `restart`
/// says the client's cursor is not in this history (a restored database): read again from 0.
#[utoipa::path(get, path = "/api/v1/sync", tag = "sync", params(SyncQuery),
    responses(
        (status = 200, description = "A page of the feed", body = SyncPage),
        (status = 400, description = "A query parameter is invalid; `field` names it", body = ApiErrorBody),
    ))]
pub async fn sync(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<axum::response::Response, ApiError> {
    let request = SyncQuery::parse(raw.as_deref())?;
    let at = request
        .at
        .as_ref()
        .map(|(kind, id)| (kind.as_str(), id.as_str()));
    let mut page = state
        .store
        .changes_since(request.since, request.limit, at)
        .await?;
    page.city_id.clone_from(&state.pack.city.id);
    page.server_time_ms = crate::now_ms();
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        page.to_json(),
    )
        .into_response())
}

/// Live updates of the feed as server-sent events: a `feed` event with the head
/// (`{"head": 1234}`, also the event's id) at once, then one whenever the feed moves, on
/// whichever gateway instance it was written; a comment every 15 s keeps proxies from closing
/// the stream. A client pulls `GET /api/v1/sync` when told; the events carry no records.
#[utoipa::path(get, path = "/api/v1/sync/events", tag = "sync",
    responses(
        (status = 200, description = "An endless stream of `feed` events", content_type = "text/event-stream", body = String),
    ))]
pub async fn events(
    State(state): State<AppState>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let rx = state.feed.subscribe();
    let mut stopping = state.stopping.clone();
    let client = crate::metrics::LiveClient::new(&state.metrics);
    let stream =
        futures::stream::unfold((rx, true, client), |(mut rx, first, client)| async move {
            if !first && rx.changed().await.is_err() {
                return None;
            }
            let head = *rx.borrow_and_update();
            let event = Event::default()
                .event("feed")
                .id(head.to_string())
                .data(format!("{{\"head\":{head}}}"));
            Some((Ok(event), (rx, false, client)))
        });
    // The stream ends when the instance shuts down; the client reconnects to another.
    let stream = futures::StreamExt::take_until(stream, async move {
        let _ = stopping.wait_for(|stop| *stop).await;
    });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_values_name_their_parameter() {
        let table: &[(&str, &str)] = &[
            ("since=abc", "since"),
            ("since=-1", "since"),
            ("limit=0", "limit"),
            ("limit=1001", "limit"),
            ("limit=ten", "limit"),
            ("since=1&limit=99999999999", "limit"),
        ];
        for (query, field) in table {
            match SyncQuery::parse(Some(query)) {
                Err(ApiError::InvalidField { field: f, .. }) => assert_eq!(&f, field, "{query}"),
                other => panic!("{query}: expected an invalid {field}, got {other:?}"),
            }
        }
        let request = |since, limit, at: Option<(&str, &str)>| FeedRequest {
            since,
            limit,
            at: at.map(|(k, i)| (k.to_owned(), i.to_owned())),
        };
        assert_eq!(
            SyncQuery::parse(None).ok(),
            Some(request(0, DEFAULT_LIMIT, None)),
            "defaults"
        );
        assert_eq!(
            SyncQuery::parse(Some("since=5&limit=2")).ok(),
            Some(request(5, 2, None))
        );
        assert_eq!(
            SyncQuery::parse(Some("since=5&at_kind=report&at_id=r1")).ok(),
            Some(request(5, DEFAULT_LIMIT, Some(("report", "r1"))))
        );
        assert_eq!(
            SyncQuery::parse(Some("since=5&at_kind=report")).ok(),
            Some(request(5, DEFAULT_LIMIT, None)),
            "half a checkpoint is none"
        );
    }
}
