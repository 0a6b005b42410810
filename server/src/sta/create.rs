//! Creating Observations (OGC 18-088 §10.2 and the data-array extension §13.2), with the
//! token of the station whose Datastream they belong to (`Authorization: Bearer <token>`, or
//! HTTP Basic with the token as password, which FROST's clients send).
//!
//! Each observation is checked before anything is stored: its times are ISO 8601 instants with
//! an offset, not ahead of the gateway's clock by more than [`MAX_CLOCK_SKEW_MS`], not before
//! its station was in service; its result is a number within the physically possible range of
//! its ObservedProperty (from the city pack). A single POST that fails a check stores nothing
//! and answers 400 naming the field. `CreateObservations` stores the rows that pass and answers
//! an error string in the place of each that does not (§13.2); when no row passes, it answers
//! 400 and stores nothing.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{StaError, base_url};
use crate::AppState;
use crate::store::{
    DatastreamLimits, NewObservation, ObservationConflict, Role, Store, StoreError,
};

/// The requirement we claim for creating entities; only Observations are created.
pub const CREATE_ENTITY: &str =
    "http://www.opengis.net/spec/iot_sensing/1.1/req/create-update-delete/create-entity";

/// How far ahead of the gateway's clock an observation may be timed (a logger's clock drifts).
pub const MAX_CLOCK_SKEW_MS: i64 = 5 * 60_000;
/// The most observations one `CreateObservations` request may carry.
pub const MAX_BATCH: usize = 10_000;
/// The largest request body read, in bytes.
pub const MAX_BODY: usize = 4 << 20;
/// The largest `parameters` object kept, in bytes of JSON.
const MAX_PARAMETERS: usize = 4096;

/// How long a station's token and a Datastream's limits are remembered by an instance: a
/// revoked token, or limits changed by a new city pack, take effect within this time.
pub const CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(10);
/// The most entries remembered of each kind (then all are forgotten).
const CACHE_MAX: usize = 10_000;

/// Station tokens (by their SHA-256) and Datastream limits recently read, so a logger's
/// stream of single observations does not read them from the database each time.
#[derive(Default)]
pub struct Cache {
    tokens: std::sync::Mutex<HashMap<String, (i64, std::time::Instant)>>,
    limits: std::sync::Mutex<HashMap<i64, (DatastreamLimits, std::time::Instant)>>,
}

fn remembered<K: std::hash::Hash + Eq, V: Clone>(
    map: &std::sync::Mutex<HashMap<K, (V, std::time::Instant)>>,
    key: &K,
) -> Option<V> {
    let map = map.lock().ok()?;
    map.get(key)
        .filter(|(_, at)| at.elapsed() < CACHE_TTL)
        .map(|(v, _)| v.clone())
}

fn remember<K: std::hash::Hash + Eq, V>(
    map: &std::sync::Mutex<HashMap<K, (V, std::time::Instant)>>,
    key: K,
    value: V,
) {
    if let Ok(mut map) = map.lock() {
        if map.len() >= CACHE_MAX {
            map.clear();
        }
        map.insert(key, (value, std::time::Instant::now()));
    }
}

/// The station a request's token posts for (its Thing id).
async fn station(state: &AppState, headers: &HeaderMap) -> Result<i64, StaError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .ok_or_else(|| {
            StaError::Unauthorized(
                "missing: send the station's token as `Bearer <token>` or as the Basic password"
                    .into(),
            )
        })?;
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    let token = if scheme.eq_ignore_ascii_case("bearer") {
        rest.trim().to_owned()
    } else if scheme.eq_ignore_ascii_case("basic") {
        use base64::Engine;
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(rest.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| StaError::Unauthorized("Basic credentials are not base64".into()))?;
        decoded
            .split_once(':')
            .map(|(_, password)| password.to_owned())
            .unwrap_or_default()
    } else {
        return Err(StaError::Unauthorized(
            "expected `Bearer <token>` or Basic credentials".into(),
        ));
    };
    if token.is_empty() || token.contains('\0') {
        return Err(StaError::Unauthorized("the token is empty".into()));
    }
    let hash = {
        use sha2::Digest;
        format!("{:x}", sha2::Sha256::digest(token.as_bytes()))
    };
    if let Some(thing) = remembered(&state.sta_cache.tokens, &hash) {
        return Ok(thing);
    }
    match state.store.credential(&token).await? {
        Some(c) if c.role == Role::Station => {
            let thing = c
                .thing_id
                .ok_or_else(|| StaError::Forbidden("the token is for no station".into()))?;
            remember(&state.sta_cache.tokens, hash, thing);
            Ok(thing)
        }
        _ => Err(StaError::Unauthorized(
            "unknown token, or not a station's token".into(),
        )),
    }
}

fn body_json(body: &Bytes) -> Result<Value, StaError> {
    if body.len() > MAX_BODY {
        return Err(StaError::TooLarge {
            field: "body".into(),
            message: format!("{} bytes; at most {MAX_BODY} are read", body.len()),
        });
    }
    serde_json::from_slice(body).map_err(|e| StaError::bad("body", format!("not JSON: {e}")))
}

/// The `@iot.id` of a linked entity (`{"@iot.id": 3}`).
fn linked_id(field: &str, value: &Value) -> Result<i64, StaError> {
    let Value::Object(m) = value else {
        return Err(StaError::bad(
            field,
            "must be an object such as {\"@iot.id\": 1}",
        ));
    };
    let id = m.get("@iot.id").or_else(|| m.get("id"));
    match id.and_then(Value::as_i64) {
        Some(id) if m.len() == 1 => Ok(id),
        Some(_) => Err(StaError::bad(
            field,
            "link an existing entity by its @iot.id only; creating it here is not served",
        )),
        None => Err(StaError::bad(
            field,
            "needs the @iot.id of an existing entity",
        )),
    }
}

/// An observation's members as sent, before checks.
#[derive(Default)]
struct Draft<'a> {
    phenomenon_time: Option<&'a Value>,
    result_time: Option<&'a Value>,
    result: Option<&'a Value>,
    parameters: Option<&'a Value>,
    feature: Option<i64>,
}

/// Checks one observation against its Datastream's limits. `prefix` names where it sits in
/// the request (`dataArray[3]/`) for the error.
fn check(
    draft: &Draft<'_>,
    limits: &DatastreamLimits,
    now_ms: i64,
    prefix: &str,
) -> Result<NewObservation, StaError> {
    let field = |name: &str| format!("{prefix}{name}");
    let time = |name: &str, v: &Value| -> Result<i64, StaError> {
        let Value::String(s) = v else {
            return Err(StaError::bad(
                field(name),
                "must be an ISO 8601 time string",
            ));
        };
        if s.contains('/') {
            return Err(StaError::bad(
                field(name),
                "an interval is not accepted here; send the instant of the measurement",
            ));
        }
        let ms = super::time::parse_instant(s)
            .map_err(|e| StaError::bad(field(name), format!("{s:?} {e}")))?;
        if ms > now_ms + MAX_CLOCK_SKEW_MS {
            return Err(StaError::bad(
                field(name),
                format!(
                    "{s:?} is in the future (more than {} minutes ahead of the gateway's clock)",
                    MAX_CLOCK_SKEW_MS / 60_000
                ),
            ));
        }
        if ms < limits.in_service_since_ms {
            return Err(StaError::bad(
                field(name),
                format!(
                    "{s:?} is before the station was in service ({})",
                    super::time::format_instant(limits.in_service_since_ms)
                ),
            ));
        }
        Ok(ms)
    };
    let phenomenon_time_ms = match draft.phenomenon_time {
        Some(v) => time("phenomenonTime", v)?,
        None => return Err(StaError::bad(field("phenomenonTime"), "is required")),
    };
    let result_time_ms = match draft.result_time {
        None | Some(Value::Null) => None,
        Some(v) => Some(time("resultTime", v)?),
    };
    let result = match draft.result {
        None => return Err(StaError::bad(field("result"), "is required")),
        Some(Value::Number(n)) => n
            .as_f64()
            .filter(|x| x.is_finite())
            .ok_or_else(|| StaError::bad(field("result"), "must be a finite number"))?,
        Some(other) => {
            return Err(StaError::bad(
                field("result"),
                format!("must be a number in {}, not {other}", limits.unit),
            ));
        }
    };
    if !(limits.min_value..=limits.max_value).contains(&result) {
        return Err(StaError::bad(
            field("result"),
            format!(
                "{result} {} is outside what {} can physically be ({} to {})",
                limits.unit, limits.parameter, limits.min_value, limits.max_value
            ),
        ));
    }
    let (parameters, simulated) = match draft.parameters {
        None | Some(Value::Null) => (None, false),
        Some(Value::Object(m)) => {
            let text = Value::Object(m.clone()).to_string();
            if text.len() > MAX_PARAMETERS {
                return Err(StaError::bad(
                    field("parameters"),
                    format!("at most {MAX_PARAMETERS} bytes of JSON"),
                ));
            }
            if text.contains("\\u0000") {
                return Err(StaError::bad(field("parameters"), "holds a NUL character"));
            }
            let simulated = match m.get("simulated") {
                None => false,
                Some(Value::Bool(b)) => *b,
                Some(_) => {
                    return Err(StaError::bad(
                        field("parameters/simulated"),
                        "must be true or false",
                    ));
                }
            };
            (Some(text), simulated)
        }
        Some(_) => return Err(StaError::bad(field("parameters"), "must be an object")),
    };
    Ok(NewObservation {
        datastream_id: limits.id,
        feature_id: draft.feature.unwrap_or(limits.feature_id),
        phenomenon_time_ms,
        result_time_ms,
        result,
        parameters,
        simulated,
    })
}

async fn limits_for(
    state: &AppState,
    id: i64,
    thing: i64,
    field: &str,
) -> Result<DatastreamLimits, StaError> {
    let limits = match remembered(&state.sta_cache.limits, &id) {
        Some(l) => l,
        None => {
            let l = state
                .store
                .datastream_limits(&[id])
                .await?
                .remove(&id)
                .ok_or_else(|| StaError::bad(field, format!("Datastream {id} does not exist")))?;
            remember(&state.sta_cache.limits, id, l.clone());
            l
        }
    };
    if limits.thing_id != thing {
        return Err(StaError::Forbidden(format!(
            "the token is not for the station of Datastream {id}"
        )));
    }
    Ok(limits)
}

async fn check_feature(
    state: &AppState,
    feature: Option<i64>,
    field: &str,
) -> Result<(), StaError> {
    if let Some(f) = feature
        && !state.store.feature_exists(f).await?
    {
        return Err(StaError::bad(
            field,
            format!("FeatureOfInterest {f} does not exist"),
        ));
    }
    Ok(())
}

/// `POST /sta/v1.1/…`: `Observations`, `Datastreams(id)/Observations` or
/// `CreateObservations`; any other entity set answers 405 (they come from the city pack).
pub async fn post(
    State(state): State<AppState>,
    Path(path): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, StaError> {
    let path = path.trim_end_matches('/');
    if path == "Observations" {
        return create_one(state, headers, None, body).await;
    }
    if let Some(key) = path
        .strip_prefix("Datastreams(")
        .and_then(|s| s.strip_suffix(")/Observations"))
    {
        return match key.trim_matches('\'').parse::<i64>() {
            Ok(id) => create_one(state, headers, Some(id), body).await,
            Err(_) => Err(StaError::NotFound(format!(
                "Datastreams({key}) does not exist"
            ))),
        };
    }
    Err(StaError::MethodNotAllowed {
        message: format!(
            "POST {path}: only Observations are created here (POST Observations, Datastreams(id)/Observations or CreateObservations); Things and their parts come from the city pack"
        ),
        allow: super::allowed(path),
    })
}

async fn create_one(
    state: AppState,
    headers: HeaderMap,
    datastream_in_path: Option<i64>,
    body: Bytes,
) -> Result<Response, StaError> {
    let thing = station(&state, &headers).await?;
    let value = body_json(&body)?;
    let Value::Object(m) = &value else {
        return Err(StaError::bad("body", "must be an Observation object"));
    };
    let mut draft = Draft::default();
    let mut datastream = datastream_in_path;
    for (k, v) in m {
        match k.as_str() {
            "phenomenonTime" => draft.phenomenon_time = Some(v),
            "resultTime" => draft.result_time = Some(v),
            "result" => draft.result = Some(v),
            "parameters" => draft.parameters = Some(v),
            "Datastream" => {
                let id = linked_id("Datastream", v)?;
                if datastream_in_path.is_some_and(|p| p != id) {
                    return Err(StaError::bad(
                        "Datastream",
                        "differs from the Datastream of the path",
                    ));
                }
                datastream = Some(id);
            }
            "FeatureOfInterest" => draft.feature = Some(linked_id("FeatureOfInterest", v)?),
            // Server-made: ignored when sent back (PUT-style bodies carry them).
            "@iot.id" | "@iot.selfLink" | "id" => {}
            other => {
                return Err(StaError::bad(
                    other,
                    "is not a member of an Observation this service stores (phenomenonTime, resultTime, result, parameters, Datastream, FeatureOfInterest)",
                ));
            }
        }
    }
    let datastream =
        datastream.ok_or_else(|| StaError::bad("Datastream", "is required: {\"@iot.id\": N}"))?;
    let limits = limits_for(&state, datastream, thing, "Datastream").await?;
    check_feature(&state, draft.feature, "FeatureOfInterest").await?;
    let now = crate::now_ms();
    let observation = check(&draft, &limits, now, "")?;
    let id = state
        .sta_writes
        .insert(&state.store, observation)
        .await?
        .map_err(|e| StaError::BadRequest {
            field: "phenomenonTime".into(),
            message: e.to_string(),
        })?;
    let link = format!("{}/Observations({id})", base_url(&state, &headers));
    let mut response = (
        StatusCode::CREATED,
        axum::Json(json!({"@iot.id": id, "@iot.selfLink": link})),
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&link) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    Ok(response)
}

/// Single Observation POSTs committed together ("group commit"): while one commit is under
/// way, the observations posted meanwhile queue, and the next commit stores them all, so a
/// gateway with many loggers posting one reading each pays one commit (one fsync on
/// PostgreSQL, under the feed's lock) per group instead of per reading. Nothing waits on
/// purpose: a lone POST is committed at once, and each is answered only after its own
/// commit, with its own id or conflict, as if it had been stored alone.
#[derive(Default)]
pub struct GroupCommit {
    /// The committing task's queue; a new task is started when it is gone.
    queue: std::sync::Mutex<Option<tokio::sync::mpsc::UnboundedSender<Waiting>>>,
}

/// The most observations committed together.
const MAX_GROUP: usize = 256;

type Outcome = Result<Result<i64, ObservationConflict>, StoreError>;

struct Waiting {
    observation: NewObservation,
    answer: tokio::sync::oneshot::Sender<Outcome>,
}

impl GroupCommit {
    /// Stores one checked observation, in the next group commit; its id, or the conflict
    /// with an observation already stored (see [`Store::insert_observations`]).
    ///
    /// # Errors
    /// [`StoreError`] when its commit fails. When the database refuses a group for one of its
    /// rows (a constraint or data error), the group is retried one by one, so that row's
    /// failure is nobody else's; when the database itself fails (unreachable, timed out,
    /// locked), every observation of the group gets that error at once.
    pub async fn insert(&self, store: &Store, observation: NewObservation) -> Outcome {
        let queue = {
            let mut queue = self
                .queue
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            match queue.as_ref() {
                Some(q) if !q.is_closed() => q.clone(),
                _ => {
                    if queue.is_some() {
                        tracing::warn!(
                            "the group commit of observations had stopped; restarting it"
                        );
                    }
                    let (q, waiting) = tokio::sync::mpsc::unbounded_channel();
                    tokio::spawn(commit_groups(store.clone(), waiting));
                    *queue = Some(q.clone());
                    q
                }
            }
        };
        let (answer, outcome) = tokio::sync::oneshot::channel();
        let waiting = Waiting {
            observation: observation.clone(),
            answer,
        };
        if queue.send(waiting).is_ok()
            && let Ok(outcome) = outcome.await
        {
            return outcome;
        }
        // The committing task ended under this request (its runtime stopped): commit alone.
        // Storing is idempotent on (Datastream, time, result), so an observation its group did
        // commit keeps its id.
        alone(store, observation).await
    }
}

async fn alone(store: &Store, observation: NewObservation) -> Outcome {
    let mut outcomes = store
        .insert_observations(std::slice::from_ref(&observation), crate::now_ms())
        .await?;
    outcomes
        .pop()
        .ok_or_else(|| StoreError::Task("an observation was stored without an outcome".into()))
}

/// Whether the database refused a write for what one of its rows holds (a constraint, or a
/// value it cannot take: SQLSTATE classes 22 and 23), rather than failing as a whole.
fn refused_for_a_row(error: &StoreError) -> bool {
    let StoreError::Database(sqlx::Error::Database(e)) = error else {
        return false;
    };
    e.kind() != sqlx::error::ErrorKind::Other
        || e.code()
            .is_some_and(|c| c.starts_with("22") || c.starts_with("23"))
}

async fn commit_groups(store: Store, mut waiting: tokio::sync::mpsc::UnboundedReceiver<Waiting>) {
    let mut group = Vec::with_capacity(MAX_GROUP);
    while waiting.recv_many(&mut group, MAX_GROUP).await > 0 {
        let batch: Vec<NewObservation> = group.iter().map(|w| w.observation.clone()).collect();
        match store.insert_observations(&batch, crate::now_ms()).await {
            Ok(outcomes) => {
                for (w, outcome) in group.drain(..).zip(outcomes) {
                    let _ = w.answer.send(Ok(outcome));
                }
            }
            Err(error) if group.len() > 1 && refused_for_a_row(&error) => {
                tracing::warn!(%error, observations = group.len(), "a group commit of observations was refused for a row; committing them one by one");
                for w in group.drain(..) {
                    let outcome = alone(&store, w.observation).await;
                    let _ = w.answer.send(outcome);
                }
            }
            Err(error) if group.len() == 1 => {
                if let Some(w) = group.pop() {
                    let _ = w.answer.send(Err(error));
                }
            }
            Err(error) => {
                let shared = match error {
                    StoreError::Database(e) => std::sync::Arc::new(e),
                    other => std::sync::Arc::new(sqlx::Error::Protocol(other.to_string())),
                };
                for w in group.drain(..) {
                    let _ = w
                        .answer
                        .send(Err(StoreError::SharedDatabase(shared.clone())));
                }
            }
        }
    }
}

/// The components of a data array the service reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Component {
    PhenomenonTime,
    ResultTime,
    Result,
    Parameters,
    Feature,
}

fn component(name: &str, at: &str) -> Result<Component, StaError> {
    Ok(match name {
        "phenomenonTime" => Component::PhenomenonTime,
        "resultTime" => Component::ResultTime,
        "result" => Component::Result,
        "parameters" => Component::Parameters,
        "FeatureOfInterest/id" => Component::Feature,
        other => {
            return Err(StaError::bad(
                at,
                format!(
                    "{other:?} is not a component this service stores (phenomenonTime, resultTime, result, parameters, FeatureOfInterest/id)"
                ),
            ));
        }
    })
}

/// `POST /sta/v1.1/CreateObservations`: observations of one or more Datastreams in the
/// data-array format (§13.2). Answers 201 with, per row in order, the new Observation's
/// self link or an error string naming the row and field.
pub async fn create_observations(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, StaError> {
    let thing = station(&state, &headers).await?;
    let value = body_json(&body)?;
    let Value::Array(groups) = &value else {
        return Err(StaError::bad(
            "body",
            "must be an array of {Datastream, components, dataArray}",
        ));
    };
    if groups.is_empty() {
        return Err(StaError::bad("body", "holds no data array"));
    }
    let total: usize = groups
        .iter()
        .map(|g| {
            g.get("dataArray")
                .and_then(Value::as_array)
                .map_or(0, Vec::len)
        })
        .sum();
    if total > MAX_BATCH {
        return Err(StaError::TooLarge {
            field: "dataArray".into(),
            message: format!("{total} observations; at most {MAX_BATCH} per request"),
        });
    }
    let now = crate::now_ms();
    let mut limits_cache: HashMap<i64, DatastreamLimits> = HashMap::new();
    // Per row: the checked observation, or the error text.
    let mut rows: Vec<Result<NewObservation, String>> = Vec::with_capacity(total);
    for (g, group) in groups.iter().enumerate() {
        let at = |f: &str| format!("[{g}]/{f}");
        let Value::Object(m) = group else {
            return Err(StaError::bad(at(""), "must be an object"));
        };
        for k in m.keys() {
            if !matches!(
                k.as_str(),
                "Datastream" | "components" | "dataArray" | "dataArray@iot.count"
            ) {
                return Err(StaError::bad(at(k), "is not a member of a data array"));
            }
        }
        let datastream = linked_id(
            &at("Datastream"),
            m.get("Datastream").unwrap_or(&Value::Null),
        )?;
        let limits = match limits_cache.entry(datastream) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(limits_for(&state, datastream, thing, &at("Datastream")).await?)
            }
        };
        let limits = &*limits;
        let Some(Value::Array(names)) = m.get("components") else {
            return Err(StaError::bad(at("components"), "must be an array of names"));
        };
        let mut components = Vec::with_capacity(names.len());
        for (i, n) in names.iter().enumerate() {
            let name = n
                .as_str()
                .ok_or_else(|| StaError::bad(at(&format!("components[{i}]")), "must be a name"))?;
            let c = component(name, &at(&format!("components[{i}]")))?;
            if components.contains(&c) {
                return Err(StaError::bad(
                    at("components"),
                    format!("{name} is given twice"),
                ));
            }
            components.push(c);
        }
        for needed in [Component::PhenomenonTime, Component::Result] {
            if !components.contains(&needed) {
                return Err(StaError::bad(
                    at("components"),
                    "must include phenomenonTime and result",
                ));
            }
        }
        let Some(Value::Array(data)) = m.get("dataArray") else {
            return Err(StaError::bad(at("dataArray"), "must be an array of rows"));
        };
        let mut features_checked: HashMap<i64, bool> = HashMap::new();
        for (r, row) in data.iter().enumerate() {
            let prefix = format!("[{g}]/dataArray[{r}]/");
            let Value::Array(cells) = row else {
                return Err(StaError::bad(
                    format!("[{g}]/dataArray[{r}]"),
                    "must be an array",
                ));
            };
            if cells.len() != components.len() {
                rows.push(Err(format!(
                    "error: {prefix}: {} values for {} components",
                    cells.len(),
                    components.len()
                )));
                continue;
            }
            let mut draft = Draft::default();
            let mut feature_error = None;
            for (c, cell) in components.iter().zip(cells) {
                match c {
                    Component::PhenomenonTime => draft.phenomenon_time = Some(cell),
                    Component::ResultTime => draft.result_time = Some(cell),
                    Component::Result => draft.result = Some(cell),
                    Component::Parameters => draft.parameters = Some(cell),
                    Component::Feature => match cell.as_i64() {
                        Some(f) => {
                            let exists = match features_checked.get(&f) {
                                Some(e) => *e,
                                None => {
                                    let e = state.store.feature_exists(f).await?;
                                    features_checked.insert(f, e);
                                    e
                                }
                            };
                            if exists {
                                draft.feature = Some(f);
                            } else {
                                feature_error = Some(format!(
                                    "error: {prefix}FeatureOfInterest/id: {f} does not exist"
                                ));
                            }
                        }
                        None => {
                            feature_error = Some(format!(
                                "error: {prefix}FeatureOfInterest/id: must be a whole number"
                            ));
                        }
                    },
                }
            }
            if let Some(e) = feature_error {
                rows.push(Err(e));
                continue;
            }
            rows.push(check(&draft, limits, now, &prefix).map_err(|e| format!("error: {e}")));
        }
    }
    let accepted: Vec<NewObservation> = rows
        .iter()
        .filter_map(|r| r.as_ref().ok().cloned())
        .collect();
    if accepted.is_empty() {
        let first: Vec<String> = rows
            .iter()
            .filter_map(|r| r.as_ref().err().cloned())
            .take(3)
            .collect();
        return Err(StaError::bad(
            "dataArray",
            format!("no observation could be stored; {}", first.join("; ")),
        ));
    }
    let stored = state.store.insert_observations(&accepted, now).await?;
    let base = base_url(&state, &headers);
    let mut stored = stored.into_iter();
    let answer: Vec<String> = rows
        .into_iter()
        .map(|r| match r {
            Ok(_) => match stored.next() {
                Some(Ok(id)) => format!("{base}/Observations({id})"),
                Some(Err(e)) => format!("error: phenomenonTime: {e}"),
                None => "error: not stored".into(),
            },
            Err(e) => e,
        })
        .collect();
    Ok((StatusCode::CREATED, axum::Json(answer)).into_response())
}
