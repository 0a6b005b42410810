//! `GET /api/v1/sync`: the ordered feed of published changes, in pages behind a cursor.

use axum::Json;
use axum::extract::{RawQuery, State};
use citizen_core::SyncPage;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::AppState;
use crate::error::{ApiError, ApiErrorBody};
use crate::routes::input::parse_query;
use crate::store::RawSyncPage;

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
}

impl SyncQuery {
    /// Parses the raw query string so that an error names the parameter at fault.
    pub fn parse(raw: Option<&str>) -> Result<(i64, u32), ApiError> {
        let query: SyncQuery = parse_query(raw)?;
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
        Ok((since, limit))
    }
}

/// Changes after `since`, oldest first. Records appear once, in their newest state.
#[utoipa::path(get, path = "/api/v1/sync", tag = "sync", params(SyncQuery),
    responses(
        (status = 200, description = "A page of the feed", body = SyncPage),
        (status = 400, description = "A query parameter is invalid; `field` names it", body = ApiErrorBody),
    ))]
pub async fn sync(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<RawSyncPage>, ApiError> {
    let (since, limit) = SyncQuery::parse(raw.as_deref())?;
    Ok(Json(state.store.changes_since(since, limit).await?))
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
        assert_eq!(
            SyncQuery::parse(None).ok(),
            Some((0, DEFAULT_LIMIT)),
            "defaults"
        );
        assert_eq!(SyncQuery::parse(Some("since=5&limit=2")).ok(), Some((5, 2)));
    }
}
