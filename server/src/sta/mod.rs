//! The OGC SensorThings API v1.1 (OGC 18-088) at `/sta/v1.1`: the city's monitoring stations
//! as Things with their Locations, Datastreams (one per measured quantity, UCUM units),
//! Sensors, ObservedProperties and FeaturesOfInterest, and their Observations — the same rows
//! the sync feed publishes as readings.
//!
//! Served: reading every entity set, resource paths with navigation, `$value` and `$ref`, the
//! query options `$top`, `$skip`, `$count`, `$orderby`, `$select`, `$expand` and `$filter`
//! (see [`sql`] for the functions), key-based `@iot.nextLink` paging; creating Observations one
//! by one (`POST Observations`, `POST Datastreams(id)/Observations`) and in batches
//! (`POST CreateObservations`, the data-array extension §13.2), with a station's token. The
//! Things and their parts come from the city pack and are not created, changed or deleted
//! through this API.

pub mod create;
pub mod filter;
pub mod model;
pub mod openapi;
pub mod query;
pub mod read;
pub mod sql;
pub mod time;

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::AppState;
use crate::store::StoreError;
use model::Set;
use query::Options;
use read::{Reader, Scope};

/// Where the API is mounted.
pub const PREFIX: &str = "/sta/v1.1";

/// Why a SensorThings request failed; answered with the gateway's JSON error body, whose
/// `field` names the query option, header or JSON member at fault.
#[derive(Debug, thiserror::Error)]
pub enum StaError {
    #[error("{field}: {message}")]
    BadRequest { field: String, message: String },
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    NotImplemented(String),
    #[error("Authorization: {0}")]
    Unauthorized(String),
    #[error("Authorization: {0}")]
    Forbidden(String),
    #[error("{field}: {message}")]
    TooLarge { field: String, message: String },
    /// The method is not served here; `allow` lists those that are (the `Allow` header).
    #[error("{message}")]
    MethodNotAllowed {
        message: String,
        allow: &'static str,
    },
    #[error("database: {0}")]
    Database(#[from] StoreError),
}

impl StaError {
    pub fn bad(field: impl Into<String>, message: impl Into<String>) -> StaError {
        StaError::BadRequest {
            field: field.into(),
            message: message.into(),
        }
    }

    /// A database error. One of SQL's data exceptions (SQLSTATE class 22: a number out of
    /// range, a division the expression asked for …) comes from the values of the query, so
    /// it is the request's: a 400 on `$filter` naming it, not a 500.
    pub fn database(e: sqlx::Error) -> StaError {
        let data_exception = e
            .as_database_error()
            .and_then(|d| d.code())
            .is_some_and(|code| code.starts_with("22"));
        if data_exception {
            return StaError::bad(
                "$filter",
                format!(
                    "the expression cannot be computed: {}",
                    e.as_database_error()
                        .map_or_else(String::new, |d| d.message().to_owned())
                ),
            );
        }
        StaError::Database(StoreError::Database(e))
    }

    /// The same error, blamed on another field.
    pub fn on(self, field: &str) -> StaError {
        match self {
            StaError::BadRequest { message, .. } => StaError::bad(field, message),
            other => other,
        }
    }
}

impl IntoResponse for StaError {
    fn into_response(self) -> Response {
        use citizen_core::ErrorCode;
        let (status, code, field, message) = match self {
            StaError::BadRequest { field, message } => (
                StatusCode::BAD_REQUEST,
                ErrorCode::InvalidInput,
                Some(field),
                message,
            ),
            StaError::NotFound(m) => (StatusCode::NOT_FOUND, ErrorCode::NotFound, None, m),
            StaError::NotImplemented(m) => (
                StatusCode::NOT_IMPLEMENTED,
                ErrorCode::InvalidInput,
                None,
                m,
            ),
            StaError::Unauthorized(m) => (
                StatusCode::UNAUTHORIZED,
                ErrorCode::Unauthorized,
                Some("Authorization".to_owned()),
                m,
            ),
            StaError::Forbidden(m) => (
                StatusCode::FORBIDDEN,
                ErrorCode::Unauthorized,
                Some("Authorization".to_owned()),
                m,
            ),
            StaError::TooLarge { field, message } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorCode::TooLarge,
                Some(field),
                message,
            ),
            StaError::MethodNotAllowed { message, allow } => {
                let mut response = (
                    StatusCode::METHOD_NOT_ALLOWED,
                    axum::Json(crate::error::ApiErrorBody {
                        code: ErrorCode::InvalidInput,
                        field: None,
                        message,
                        problems: Vec::new(),
                    }),
                )
                    .into_response();
                response
                    .headers_mut()
                    .insert(header::ALLOW, HeaderValue::from_static(allow));
                return response;
            }
            StaError::Database(e) => {
                return crate::error::ApiError::Internal(e).into_response();
            }
        };
        let message = match &field {
            Some(f) => format!("{f}: {message}"),
            None => message,
        };
        let mut response = (
            status,
            axum::Json(crate::error::ApiErrorBody {
                code,
                field,
                message,
                problems: Vec::new(),
            }),
        )
            .into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"stations\", Bearer"),
            );
        }
        response
    }
}

/// The service's absolute URL (`http://host/sta/v1.1`): the configured public URL, else the
/// host the request was sent to, so links work for whoever reached the gateway.
pub fn base_url(state: &AppState, headers: &HeaderMap) -> String {
    if !state.public_url_configured
        && let Some(host) = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .filter(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_graphic()))
    {
        return format!("http://{host}{PREFIX}");
    }
    format!("{}{PREFIX}", state.public_url)
}

/// `GET /sta/v1.1`: the entity sets and the conformance classes served (§9.2.1).
pub async fn root(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let base = base_url(&state, &headers);
    let sets: Vec<Value> = Set::ALL
        .iter()
        .map(|s| json!({"name": s.name(), "url": format!("{base}/{}", s.name())}))
        .collect();
    let mut settings = serde_json::Map::new();
    let mut conformance: Vec<&str> = model::CONFORMANCE.to_vec();
    conformance.push(create::CREATE_ENTITY);
    settings.insert("conformance".into(), json!(conformance));
    // Entities are created for Observations only: stations are described by the city pack.
    settings.insert(
        create::CREATE_ENTITY.into(),
        json!({"entitySets": ["Observations"], "dataArray": format!("{base}/CreateObservations")}),
    );
    axum::Json(json!({"value": sets, "serverSettings": settings})).into_response()
}

/// One segment of a resource path: `Things`, `Things(1)`, `name`, `$value`, `$ref`.
#[derive(Debug, Clone, PartialEq)]
enum Segment {
    Name(String),
    Keyed(String, i64),
    Value,
    Ref,
}

fn segments(path: &str) -> Result<Vec<Segment>, StaError> {
    let mut out = Vec::new();
    for raw in path.split('/').filter(|s| !s.is_empty()) {
        let s = percent_encoding::percent_decode_str(raw)
            .decode_utf8()
            .map_err(|_| StaError::NotFound(format!("{raw}: not a resource")))?;
        out.push(match s.as_ref() {
            "$value" => Segment::Value,
            "$ref" => Segment::Ref,
            s => match s.split_once('(') {
                Some((name, rest)) => {
                    let key = rest.strip_suffix(')').ok_or_else(|| {
                        StaError::NotFound(format!("{s}: a key must end with ')'"))
                    })?;
                    let key = key.trim_matches('\'');
                    let id = key
                        .parse::<i64>()
                        .map_err(|_| StaError::NotFound(format!("{name}({key}) does not exist")))?;
                    Segment::Keyed(name.to_owned(), id)
                }
                None => Segment::Name(s.to_owned()),
            },
        });
    }
    Ok(out)
}

/// What a resource path points at.
enum Target {
    Collection { set: Set, scope: Scope },
    Entity { set: Set, id: i64 },
}

/// What follows the entity or collection in the path.
enum Tail {
    None,
    Property(&'static model::Property),
    PropertyValue(&'static model::Property),
    Ref,
}

async fn resolve(reader: &Reader<'_>, path: &[Segment]) -> Result<(Target, Tail), StaError> {
    let missing = |what: String| StaError::NotFound(format!("{what} does not exist"));
    let mut it = path.iter().peekable();
    let mut target = match it.next() {
        Some(Segment::Name(n)) => Target::Collection {
            set: Set::by_name(n).ok_or_else(|| missing(n.clone()))?,
            scope: Scope::default(),
        },
        Some(Segment::Keyed(n, id)) => {
            let set = Set::by_name(n).ok_or_else(|| missing(n.clone()))?;
            if reader.column_of(set, *id, "id").await?.is_none() {
                return Err(missing(format!("{n}({id})")));
            }
            Target::Entity { set, id: *id }
        }
        _ => return Err(missing("this resource".into())),
    };
    while let Some(segment) = it.next() {
        let Target::Entity { set, id } = target else {
            return match segment {
                Segment::Ref if it.peek().is_none() => Ok((target, Tail::Ref)),
                _ => Err(StaError::NotFound(
                    "a collection can only be followed by $ref, or a key such as (1)".into(),
                )),
            };
        };
        let (name, key) = match segment {
            Segment::Ref if it.peek().is_none() => return Ok((target, Tail::Ref)),
            Segment::Name(n) => (n, None),
            Segment::Keyed(n, k) => (n, Some(*k)),
            _ => return Err(StaError::NotFound("$value follows a property".into())),
        };
        if key.is_none()
            && let Some(prop) = set.property(name)
        {
            return match it.next() {
                None => Ok((target, Tail::Property(prop))),
                Some(Segment::Value) if it.peek().is_none() => {
                    Ok((target, Tail::PropertyValue(prop)))
                }
                _ => Err(StaError::NotFound(format!(
                    "{name} is a property: only $value may follow it"
                ))),
            };
        }
        let nav = set.navigation(name).ok_or_else(|| {
            StaError::NotFound(format!(
                "{} have no property or navigation {name}",
                set.name()
            ))
        })?;
        let source = if nav.source_column == "id" {
            Some(id)
        } else {
            reader
                .column_of(set, id, nav.source_column)
                .await?
                .flatten()
        };
        let Some(source) = source else {
            return Err(missing(format!("{}({id})/{name}", set.name())));
        };
        target = if nav.many {
            match key {
                Some(k) => {
                    // The keyed entity must be one of the collection's.
                    let linked = reader.column_of(nav.target, k, nav.target_column).await?;
                    if linked != Some(Some(source)) {
                        return Err(missing(format!("{}({id})/{name}({k})", set.name())));
                    }
                    Target::Entity {
                        set: nav.target,
                        id: k,
                    }
                }
                None => Target::Collection {
                    set: nav.target,
                    scope: Scope::equals(nav.target_column, source),
                },
            }
        } else {
            if key.is_some_and(|k| k != source) {
                return Err(missing(format!("{}({id})/{segment:?}", set.name())));
            }
            Target::Entity {
                set: nav.target,
                id: source,
            }
        };
    }
    Ok((target, Tail::None))
}

/// The methods a resource path serves: reading everywhere, creating only where
/// Observations are created (`Observations`, `Datastreams(id)/Observations`).
pub fn allowed(path: &str) -> &'static str {
    let path = path.trim_end_matches('/');
    let creates = path == "Observations"
        || path
            .strip_prefix("Datastreams(")
            .and_then(|s| s.strip_suffix(")/Observations"))
            .is_some_and(|key| !key.contains('/'));
    if creates {
        "GET, HEAD, OPTIONS, POST"
    } else {
        "GET, HEAD, OPTIONS"
    }
}

/// `/sta/v1.1/…` with any method: GET and HEAD read, POST creates Observations where they
/// are created, OPTIONS says which of these the path serves; anything else is 405 with the
/// same `Allow`.
pub async fn dispatch(
    method: axum::http::Method,
    state: State<AppState>,
    uri: Uri,
    query: RawQuery,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, StaError> {
    use axum::http::Method;
    let path = uri
        .path()
        .strip_prefix(PREFIX)
        .unwrap_or("")
        .trim_start_matches('/')
        .to_owned();
    let allow = allowed(&path);
    match method {
        Method::GET | Method::HEAD => get(state, uri, query, headers).await,
        Method::POST => create::post(state, axum::extract::Path(path), headers, body).await,
        Method::OPTIONS => {
            let mut response = StatusCode::NO_CONTENT.into_response();
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static(allow));
            Ok(response)
        }
        other => Err(StaError::MethodNotAllowed {
            message: format!("{other} is not served here"),
            allow,
        }),
    }
}

/// `GET /sta/v1.1/…`: any resource path.
pub async fn get(
    State(state): State<AppState>,
    uri: Uri,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, StaError> {
    let path = uri.path().strip_prefix(PREFIX).unwrap_or("");
    let path = segments(path)?;
    let reader = Reader {
        store: &state.store,
        base: base_url(&state, &headers),
        points: spatial_points(&state, query.as_deref()).await?,
        now_ms: crate::now_ms(),
        budget: std::sync::atomic::AtomicUsize::new(read::MAX_WORK),
    };
    let (target, tail) = resolve(&reader, &path).await?;
    let set = match &target {
        Target::Collection { set, .. } | Target::Entity { set, .. } => *set,
    };
    let options = Options::from_query(set, query.as_deref())?;
    let self_path: String = uri.path().to_owned();
    match (target, tail) {
        (Target::Collection { set, scope }, Tail::None) => {
            if let Some(page) = reader.rendered_page(set, &scope, &options).await? {
                let next = page
                    .next
                    .as_ref()
                    .map(|next| next_link(&reader, &self_path, next));
                return Ok((
                    [(header::CONTENT_TYPE, "application/json")],
                    page.to_json(next.as_deref()),
                )
                    .into_response());
            }
            let page = reader.page(set, &scope, &options).await?;
            Ok(collection_json(&reader, &self_path, page, |e| e).into_response())
        }
        (Target::Collection { set, scope }, Tail::Ref) => {
            let mut o = options.clone();
            o.select = Some(vec!["id".into()]);
            o.expand.clear();
            let page = reader.page(set, &scope, &o).await?;
            Ok(collection_json(
                &reader,
                &self_path,
                page,
                |e| json!({"@iot.selfLink": e.get("@iot.selfLink").cloned().unwrap_or_default()}),
            )
            .into_response())
        }
        (Target::Entity { set, id }, tail) => {
            let mut o = options;
            if matches!(tail, Tail::Ref | Tail::Property(_) | Tail::PropertyValue(_)) {
                o.expand.clear();
                o.select = None;
            }
            let entity = reader.entity(set, id, &o).await?.ok_or_else(|| {
                StaError::NotFound(format!("{}({id}) does not exist", set.name()))
            })?;
            match tail {
                Tail::None => Ok(axum::Json(entity).into_response()),
                Tail::Ref => Ok(
                    axum::Json(json!({"@iot.selfLink": entity["@iot.selfLink"]})).into_response(),
                ),
                Tail::Property(p) => {
                    let value = entity.get(p.name).cloned().unwrap_or(Value::Null);
                    Ok(axum::Json(json!({ p.name: value })).into_response())
                }
                Tail::PropertyValue(p) => {
                    let value = entity.get(p.name).cloned().unwrap_or(Value::Null);
                    let text = match value {
                        Value::String(s) => s,
                        Value::Null => {
                            return Err(StaError::NotFound(format!("{} is null", p.name)));
                        }
                        other => other.to_string(),
                    };
                    Ok((
                        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                        Body::from(text),
                    )
                        .into_response())
                }
            }
        }
        (Target::Collection { .. }, _) => Err(StaError::NotFound(
            "a collection has no properties; pick an entity such as (1)".into(),
        )),
    }
}

/// The absolute `@iot.nextLink` of the collection at `self_path` for the next page's query.
fn next_link(reader: &Reader<'_>, self_path: &str, next: &str) -> String {
    let path = self_path.strip_prefix(PREFIX).unwrap_or(self_path);
    format!("{}{path}?{next}", reader.base)
}

fn collection_json(
    reader: &Reader<'_>,
    self_path: &str,
    page: read::Page,
    each: impl Fn(Value) -> Value,
) -> axum::Json<Value> {
    let mut out = serde_json::Map::new();
    if let Some(count) = page.count {
        out.insert("@iot.count".into(), json!(count));
    }
    if let Some(next) = page.next {
        out.insert(
            "@iot.nextLink".into(),
            json!(next_link(reader, self_path, &next)),
        );
    }
    out.insert(
        "value".into(),
        Value::Array(page.entities.into_iter().map(each).collect()),
    );
    axum::Json(Value::Object(out))
}

/// The points of Locations and FeaturesOfInterest, read only when the query uses a spatial
/// function (their names are what `geo.`/`st_` start).
async fn spatial_points(state: &AppState, query: Option<&str>) -> Result<sql::Points, StaError> {
    let mut points = sql::Points::new();
    let Some(q) = query else {
        return Ok(points);
    };
    let decoded: String = form_urlencoded::parse(q.as_bytes())
        .map(|(_, v)| v.into_owned())
        .collect();
    if !(decoded.contains("geo.") || decoded.contains("st_")) {
        return Ok(points);
    }
    for set in [Set::Locations, Set::FeaturesOfInterest] {
        let rows = sqlx::query_as::<_, (i64, f64, f64)>(&format!(
            "SELECT id, longitude, latitude FROM {}",
            set.table()
        ))
        .fetch_all(state.store.pool())
        .await
        .map_err(StaError::database)?;
        points.insert(set, rows);
    }
    Ok(points)
}

#[cfg(test)]
mod tests {
    use super::allowed;

    #[test]
    fn observations_are_created_where_the_spec_puts_them() {
        for path in [
            "Observations",
            "Datastreams(3)/Observations",
            "Datastreams(-1)/Observations/",
        ] {
            assert!(allowed(path).contains("POST"), "{path}");
        }
        for path in [
            "Things",
            "Datastreams(3)",
            "Things(1)/Datastreams(3)/Observations",
            "Sensors(1)/Datastreams",
        ] {
            assert!(!allowed(path).contains("POST"), "{path}");
        }
    }
}
