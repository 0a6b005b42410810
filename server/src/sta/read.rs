//! Reading SensorThings resources: resource paths (§9.2), collections with their query
//! options (§9.3), and the JSON of entities with their control information (`@iot.id`,
//! `@iot.selfLink`, `…@iot.navigationLink`), expansions and `@iot.nextLink` paging.
//!
//! Paging is by key, not by offset: a next link carries the sort key of the page's last
//! entity (`$skiptoken`), and the next page starts after it. Entities added meanwhile do not
//! shift the pages, and `@iot.count` is counted without the page's key, so it stays the same
//! from page to page.

use futures::future::BoxFuture;
use serde_json::{Map, Value, json};
use sqlx::{Row, ValueRef};

use super::StaError;
use super::model::{Kind, Set};
use super::query::Options;
use super::sql::{KeyKind, Param, Points, Translator};
use crate::store::Store;

mod rendered;
pub use rendered::{RenderedPage, instant_sql};

/// What a request reads: the store, the service's absolute base URL (`…/sta/v1.1`), the
/// points of the spatial sets and the time of the request.
pub struct Reader<'a> {
    pub store: &'a Store,
    pub base: String,
    pub points: Points,
    pub now_ms: i64,
    /// Rows and queries this request may still cost (see [`MAX_WORK`]).
    pub budget: std::sync::atomic::AtomicUsize,
}

/// The most entities plus queries one request may read: nested expansions multiply (10 000
/// Observations, each expanding a Datastream with 10 000 Observations…), so the work of one
/// request is bounded and a larger one is refused, naming what to ask instead.
pub const MAX_WORK: usize = 200_000;

impl Reader<'_> {
    /// Spends `n` of the request's budget.
    fn spend(&self, n: usize) -> Result<(), StaError> {
        use std::sync::atomic::Ordering;
        let left = self.budget.load(Ordering::Relaxed);
        if n > left {
            return Err(StaError::bad(
                "$expand",
                format!(
                    "the answer would read more than {MAX_WORK} entities; ask with a smaller $top, in the request or inside $expand"
                ),
            ));
        }
        self.budget.store(left - n, Ordering::Relaxed);
        Ok(())
    }
}

/// A condition on the entities of a collection, as SQL on alias `e` and its parameters.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    pub sql: Vec<String>,
    pub params: Vec<Param>,
}

impl Scope {
    /// `e.column = value`.
    pub fn equals(column: &str, value: i64) -> Scope {
        Scope {
            sql: vec![format!("e.{column} = {{}}")],
            params: vec![Param::Int(value)],
        }
    }
}

/// A page's SELECT without its columns: the translator holding its parameters, the sort keys
/// (SQL, kind, descending) and everything from `FROM` on.
struct Plan<'a> {
    tr: Translator<'a>,
    keys: Vec<(String, KeyKind, bool)>,
    tail: String,
}

/// One page of a collection.
pub struct Page {
    pub entities: Vec<Value>,
    pub count: Option<i64>,
    /// The query string (after `?`) of the next page, when there is one.
    pub next: Option<String>,
}

/// An entity as read, before it is rendered.
struct Loaded {
    id: i64,
    properties: Map<String, Value>,
    /// The value of each navigation's source column (for expansions).
    sources: Vec<(&'static str, Option<i64>)>,
    /// The values of the sort keys (for the next page's `$skiptoken`).
    keys: Vec<Value>,
}

fn bind_all<'q>(
    mut query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    params: &'q [Param],
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    for p in params {
        query = match p {
            Param::Int(n) => query.bind(*n),
            Param::Real(x) => query.bind(*x),
            Param::Text(s) => query.bind(s.as_str()),
            Param::Null => query.bind(None::<i64>),
        };
    }
    query
}

/// Columns of `set` that navigations start from, other than `id`.
fn source_columns(set: Set) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for n in set.navigations() {
        if n.source_column != "id" && !out.contains(&n.source_column) {
            out.push(n.source_column);
        }
    }
    out
}

impl Reader<'_> {
    fn link(&self, set: Set, id: i64) -> String {
        format!("{}/{}({id})", self.base, set.name())
    }

    /// Whether entity `id` of `set` exists, and the value of `column` on it.
    pub async fn column_of(
        &self,
        set: Set,
        id: i64,
        column: &str,
    ) -> Result<Option<Option<i64>>, StaError> {
        let sql = format!("SELECT {column} FROM {} WHERE id = $1", set.table());
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(self.store.pool())
            .await
            .map_err(StaError::database)?;
        row.map(|r| r.try_get::<Option<i64>, _>(0))
            .transpose()
            .map_err(StaError::database)
    }

    /// The Datastreams among `ids` with more than one observation (from the latest table).
    async fn with_history(&self, ids: &[i64]) -> Result<std::collections::HashSet<i64>, StaError> {
        let mut out = std::collections::HashSet::new();
        for chunk in ids.chunks(500) {
            let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "SELECT datastream_id FROM latest_observations \
                 WHERE first_time_ms < phenomenon_time_ms AND datastream_id IN ({})",
                placeholders.join(", ")
            );
            let mut query = sqlx::query_scalar::<_, i64>(&sql);
            for id in chunk {
                query = query.bind(*id);
            }
            out.extend(
                query
                    .fetch_all(self.store.pool())
                    .await
                    .map_err(StaError::database)?,
            );
        }
        Ok(out)
    }

    /// Reads a page of `set` within `scope` under `options`.
    pub fn page<'s>(
        &'s self,
        set: Set,
        scope: &'s Scope,
        options: &'s Options,
    ) -> BoxFuture<'s, Result<Page, StaError>> {
        Box::pin(async move {
            let top = options.page_size();
            let mut rows = self.load(set, scope, options, Some(top + 1)).await?;
            let more = rows.len() > top as usize;
            rows.truncate(top as usize);
            let next = if more {
                rows.last().map(|last| {
                    let mut pairs = options.raw.clone();
                    pairs.push((
                        "$skiptoken".into(),
                        serde_json::to_string(&last.keys).unwrap_or_default(),
                    ));
                    encode_query(&pairs)
                })
            } else {
                None
            };
            let count = if options.count {
                Some(self.count(set, scope, options).await?)
            } else {
                None
            };
            let entities = self.render(set, rows, options).await?;
            Ok(Page {
                entities,
                count,
                next,
            })
        })
    }

    /// One entity of `set`, or `None` when it does not exist (or fails the options' filter).
    pub async fn entity(
        &self,
        set: Set,
        id: i64,
        options: &Options,
    ) -> Result<Option<Value>, StaError> {
        let scope = Scope::equals("id", id);
        let rows = self.load(set, &scope, options, Some(1)).await?;
        Ok(self.render(set, rows, options).await?.into_iter().next())
    }

    async fn count(&self, set: Set, scope: &Scope, options: &Options) -> Result<i64, StaError> {
        let mut tr = Translator::new(self.store.backend(), &self.points, self.now_ms);
        let mut conditions = scope_sql(&mut tr, scope);
        if let Some(f) = &options.filter {
            conditions.push(tr.condition(set, "e", f)?);
        }
        let sql = format!(
            "SELECT COUNT(*) FROM {} e{}",
            set.table(),
            where_clause(&conditions)
        );
        let row = bind_all(sqlx::query(&sql), &tr.params)
            .fetch_one(self.store.pool())
            .await
            .map_err(StaError::database)?;
        row.try_get(0).map_err(StaError::database)
    }

    /// The SELECT of a page of `set` within `scope` under `options`, short of its columns.
    fn plan(
        &self,
        set: Set,
        scope: &Scope,
        options: &Options,
        limit: Option<u32>,
    ) -> Result<Plan<'_>, StaError> {
        let mut tr = Translator::new(self.store.backend(), &self.points, self.now_ms);
        let mut conditions = scope_sql(&mut tr, scope);
        if let Some(f) = &options.filter {
            conditions.push(tr.condition(set, "e", f)?);
        }
        // Sort keys: the requested ones, then the id (unique), so the order is total.
        let mut keys: Vec<(String, KeyKind, bool)> = Vec::new();
        let mut never_null: Vec<bool> = Vec::new();
        for (e, descending) in &options.orderby {
            let (sql, kind, not_null) = tr.order_key(set, "e", e)?;
            keys.push((sql, kind, *descending));
            never_null.push(not_null);
        }
        keys.push(("e.id".into(), KeyKind::Int, false));
        never_null.push(true);
        if let Some(token) = &options.skiptoken {
            conditions.push(after_key(&mut tr, &keys, token)?);
        }
        // NULLs sort first (§9.3.3.1); a key that is never NULL needs no clause, which lets
        // PostgreSQL read it from an index.
        let order: Vec<String> = keys
            .iter()
            .zip(&never_null)
            .map(|((sql, _, desc), not_null)| match (desc, not_null) {
                (true, true) => format!("{sql} DESC"),
                (false, true) => format!("{sql} ASC"),
                (true, false) => format!("{sql} DESC NULLS LAST"),
                (false, false) => format!("{sql} ASC NULLS FIRST"),
            })
            .collect();
        let mut tail = format!(
            " FROM {} e{} ORDER BY {}",
            set.table(),
            where_clause(&conditions),
            order.join(", ")
        );
        if let Some(limit) = limit {
            tail.push_str(&format!(" LIMIT {limit}"));
        }
        if options.skiptoken.is_none()
            && let Some(skip) = options.skip
        {
            if limit.is_none() {
                tail.push_str(" LIMIT -1");
            }
            tail.push_str(&format!(" OFFSET {skip}"));
        }
        Ok(Plan { tr, keys, tail })
    }

    async fn load(
        &self,
        set: Set,
        scope: &Scope,
        options: &Options,
        limit: Option<u32>,
    ) -> Result<Vec<Loaded>, StaError> {
        let Plan { tr, keys, tail } = self.plan(set, scope, options, limit)?;
        let mut columns = set.select_list("e");
        let sources = source_columns(set);
        columns.extend(sources.iter().map(|c| format!("e.{c}")));
        let key_start = columns.len();
        columns.extend(keys.iter().map(|(sql, _, _)| sql.clone()));
        let sql = format!("SELECT {}{tail}", columns.join(", "));
        self.spend(1)?;
        let rows = bind_all(sqlx::query(&sql), &tr.params)
            .fetch_all(self.store.pool())
            .await
            .map_err(StaError::database)?;
        self.spend(rows.len())?;
        rows.iter()
            .map(|row| decode(set, row, &sources, key_start, &keys))
            .collect()
    }

    /// The JSON of loaded entities: selected properties, control information, expansions.
    fn render<'s>(
        &'s self,
        set: Set,
        rows: Vec<Loaded>,
        options: &'s Options,
    ) -> BoxFuture<'s, Result<Vec<Value>, StaError>> {
        Box::pin(async move {
            let selected = |name: &str| {
                options
                    .select
                    .as_ref()
                    .is_none_or(|s| s.iter().any(|n| n == name))
            };
            let mut out: Vec<Map<String, Value>> = Vec::with_capacity(rows.len());
            for row in &rows {
                let mut m = Map::new();
                m.insert("@iot.id".into(), json!(row.id));
                m.insert("@iot.selfLink".into(), json!(self.link(set, row.id)));
                for (name, value) in &row.properties {
                    if selected(name) {
                        m.insert(name.clone(), value.clone());
                    }
                }
                for nav in set.navigations() {
                    let expanded = options.expand.iter().any(|e| e.navigation.name == nav.name);
                    if selected(nav.name) && options.select.is_some()
                        || options.select.is_none()
                        || expanded
                    {
                        m.insert(
                            format!("{}@iot.navigationLink", nav.name),
                            json!(format!("{}/{}", self.link(set, row.id), nav.name)),
                        );
                    }
                }
                out.push(m);
            }
            for ex in &options.expand {
                let nav = ex.navigation;
                if nav.many && is_latest_only(nav, &ex.options) {
                    // "The newest observation of each": one read of the latest table.
                    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
                    let mut newest = std::collections::HashMap::new();
                    for chunk in ids.chunks(500) {
                        let scope = Scope {
                            sql: vec![format!(
                                "e.id IN (SELECT l.observation_id FROM latest_observations l \
                                 WHERE l.datastream_id IN ({}))",
                                vec!["{}"; chunk.len()].join(", ")
                            )],
                            params: chunk.iter().map(|id| Param::Int(*id)).collect(),
                        };
                        let mut inner = ex.options.clone();
                        inner.top = None;
                        let loaded = self.load(nav.target, &scope, &inner, None).await?;
                        let owners: Vec<(Option<i64>, Vec<Value>)> = loaded
                            .iter()
                            .map(|l| {
                                let owner = l
                                    .sources
                                    .iter()
                                    .find(|(c, _)| *c == nav.target_column)
                                    .and_then(|(_, v)| *v);
                                (owner, l.keys.clone())
                            })
                            .collect();
                        let rendered = self.render(nav.target, loaded, &ex.options).await?;
                        for ((owner, keys), entity) in owners.into_iter().zip(rendered) {
                            if let Some(owner) = owner {
                                newest.insert(owner, (keys, entity));
                            }
                        }
                    }
                    // Which of them have older observations too (a next page).
                    let older: std::collections::HashSet<i64> = self.with_history(&ids).await?;
                    for (m, row) in out.iter_mut().zip(&rows) {
                        let list: Vec<Value> = match newest.remove(&row.id) {
                            Some((keys, entity)) => {
                                if older.contains(&row.id) {
                                    let mut pairs = ex.options.raw.clone();
                                    pairs.push((
                                        "$skiptoken".into(),
                                        serde_json::to_string(&keys).unwrap_or_default(),
                                    ));
                                    m.insert(
                                        format!("{}@iot.nextLink", nav.name),
                                        json!(format!(
                                            "{}/{}?{}",
                                            self.link(set, row.id),
                                            nav.name,
                                            encode_query(&pairs)
                                        )),
                                    );
                                }
                                vec![entity]
                            }
                            None => Vec::new(),
                        };
                        m.insert(nav.name.into(), Value::Array(list));
                    }
                    continue;
                }
                if nav.many {
                    for (m, row) in out.iter_mut().zip(&rows) {
                        let source = if nav.source_column == "id" {
                            Some(row.id)
                        } else {
                            row.sources
                                .iter()
                                .find(|(c, _)| *c == nav.source_column)
                                .and_then(|(_, v)| *v)
                        };
                        let Some(source) = source else {
                            m.insert(nav.name.into(), json!([]));
                            continue;
                        };
                        let scope = Scope::equals(nav.target_column, source);
                        let page = self.page(nav.target, &scope, &ex.options).await?;
                        if let Some(count) = page.count {
                            m.insert(format!("{}@iot.count", nav.name), json!(count));
                        }
                        if let Some(next) = page.next {
                            m.insert(
                                format!("{}@iot.nextLink", nav.name),
                                json!(format!("{}/{}?{next}", self.link(set, row.id), nav.name)),
                            );
                        }
                        m.insert(nav.name.into(), Value::Array(page.entities));
                    }
                } else {
                    // One query for the targets of every row.
                    let mut ids: Vec<i64> = rows
                        .iter()
                        .filter_map(|r| {
                            r.sources
                                .iter()
                                .find(|(c, _)| *c == nav.source_column)
                                .and_then(|(_, v)| *v)
                        })
                        .collect();
                    ids.sort_unstable();
                    ids.dedup();
                    let mut targets = std::collections::HashMap::new();
                    for chunk in ids.chunks(500) {
                        let scope = Scope {
                            sql: vec![format!("e.id IN ({})", vec!["{}"; chunk.len()].join(", "))],
                            params: chunk.iter().map(|id| Param::Int(*id)).collect(),
                        };
                        let mut inner = ex.options.clone();
                        inner.skip = None;
                        inner.skiptoken = None;
                        inner.orderby.clear();
                        let loaded = self.load(nav.target, &scope, &inner, None).await?;
                        let loaded_ids: Vec<i64> = loaded.iter().map(|l| l.id).collect();
                        let rendered = self.render(nav.target, loaded, &ex.options).await?;
                        targets.extend(loaded_ids.into_iter().zip(rendered));
                    }
                    for (m, row) in out.iter_mut().zip(&rows) {
                        let target = row
                            .sources
                            .iter()
                            .find(|(c, _)| *c == nav.source_column)
                            .and_then(|(_, v)| *v)
                            .and_then(|id| targets.get(&id).cloned())
                            .unwrap_or(Value::Null);
                        m.insert(nav.name.into(), target);
                    }
                }
            }
            Ok(out.into_iter().map(Value::Object).collect())
        })
    }
}

/// Whether an expansion asks for exactly the newest observation of each Datastream
/// (`Observations($top=1;$orderby=phenomenonTime desc)`, with no filter, paging or count):
/// the latest table answers that without reading the history.
fn is_latest_only(nav: &super::model::Navigation, o: &Options) -> bool {
    use super::filter::Expr;
    nav.target == Set::Observations
        && nav.target_column == "datastream_id"
        && o.top == Some(1)
        && o.filter.is_none()
        && o.skip.is_none()
        && o.skiptoken.is_none()
        && !o.count
        && matches!(o.orderby.as_slice(), [(Expr::Path(p), true)] if p.len() == 1 && p[0] == "phenomenonTime")
}

fn where_clause(conditions: &[String]) -> String {
    if conditions.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conditions.join(" AND "))
    }
}

/// The scope's conditions with its parameters bound into `tr` (`{}` marks each parameter).
fn scope_sql(tr: &mut Translator<'_>, scope: &Scope) -> Vec<String> {
    let mut params = scope.params.iter();
    scope
        .sql
        .iter()
        .map(|s| {
            let mut out = String::new();
            let mut parts = s.split("{}").peekable();
            while let Some(part) = parts.next() {
                out.push_str(part);
                if parts.peek().is_some() {
                    let p = params.next().cloned().unwrap_or(Param::Null);
                    out.push_str(&tr.bind(p));
                }
            }
            out
        })
        .collect()
}

/// The condition "after the key `token`" in the order of `keys` (NULLs sort first).
fn after_key(
    tr: &mut Translator<'_>,
    keys: &[(String, KeyKind, bool)],
    token: &[Value],
) -> Result<String, StaError> {
    let wrong = || StaError::bad("$skiptoken", "is not one this service made for this query");
    if token.len() != keys.len() {
        return Err(wrong());
    }
    // Built from the last key outwards: after(k1..kn) = k1 after v1 OR (k1 = v1 AND after(k2..)).
    let mut condition: Option<String> = None;
    for ((sql, kind, desc), value) in keys.iter().zip(token).rev() {
        let bound = match (kind, value) {
            (_, Value::Null) => None,
            (KeyKind::Int, v) => Some(Param::Int(v.as_i64().ok_or_else(wrong)?)),
            (KeyKind::Real, v) => Some(Param::Real(v.as_f64().ok_or_else(wrong)?)),
            (KeyKind::Text, v) => Some(Param::Text(v.as_str().ok_or_else(wrong)?.to_owned())),
        };
        let (after, same) = match (bound, desc) {
            (Some(p), false) => {
                let p = tr.bind(p);
                (format!("{sql} > {p}"), format!("{sql} = {p}"))
            }
            (Some(p), true) => {
                let p = tr.bind(p);
                (
                    format!("({sql} < {p} OR {sql} IS NULL)"),
                    format!("{sql} = {p}"),
                )
            }
            (None, false) => (format!("{sql} IS NOT NULL"), format!("{sql} IS NULL")),
            (None, true) => ("1 = 0".to_owned(), format!("{sql} IS NULL")),
        };
        condition = Some(match condition {
            None => format!("({after})"),
            Some(inner) => format!("({after} OR ({same} AND {inner}))"),
        });
    }
    condition.ok_or_else(wrong)
}

fn decode(
    set: Set,
    row: &sqlx::any::AnyRow,
    sources: &[&'static str],
    key_start: usize,
    keys: &[(String, KeyKind, bool)],
) -> Result<Loaded, StaError> {
    let db = StaError::database;
    let text = |i: usize| row.try_get::<Option<String>, _>(i).map_err(db);
    let int = |i: usize| row.try_get::<Option<i64>, _>(i).map_err(db);
    let real = |i: usize| row.try_get::<Option<f64>, _>(i).map_err(db);
    let id: i64 = row.try_get(0).map_err(db)?;
    let mut properties = Map::new();
    let mut i = 1;
    for prop in set.properties() {
        let value = match prop.kind {
            Kind::Text => text(i)?.map_or(Value::Null, Value::String),
            Kind::Time => int(i)?.map_or(Value::Null, |ms| json!(super::time::format_instant(ms))),
            Kind::Json | Kind::Result => text(i)?
                .and_then(|t| serde_json::from_str(&t).ok())
                .unwrap_or(Value::Null),
            Kind::Point => {
                let (lon, lat) = (real(i)?, real(i + 1)?);
                i += 1;
                match (lon, lat) {
                    (Some(lon), Some(lat)) => json!({"type": "Point", "coordinates": [lon, lat]}),
                    _ => Value::Null,
                }
            }
            Kind::Unit => {
                let v =
                    json!({"name": text(i)?, "symbol": text(i + 1)?, "definition": text(i + 2)?});
                i += 2;
                v
            }
            Kind::Interval => {
                let (first, last) = (int(i)?, int(i + 1)?);
                i += 1;
                match (first, last) {
                    (Some(a), Some(b)) => json!(format!(
                        "{}/{}",
                        super::time::format_instant(a),
                        super::time::format_instant(b)
                    )),
                    _ => Value::Null,
                }
            }
        };
        i += 1;
        // Absent optional values are left out, as FROST-Server does.
        if !value.is_null() || prop.kind == Kind::Result {
            properties.insert(prop.name.into(), value);
        }
    }
    let mut source_values = Vec::with_capacity(sources.len());
    for c in sources {
        source_values.push((*c, int(i)?));
        i += 1;
    }
    debug_assert_eq!(i, key_start);
    let mut key_values = Vec::with_capacity(keys.len());
    for (n, (_, kind, _)) in keys.iter().enumerate() {
        let at = key_start + n;
        let raw = row.try_get_raw(at).map_err(db)?;
        if raw.is_null() {
            key_values.push(Value::Null);
            continue;
        }
        key_values.push(match kind {
            KeyKind::Int => json!(row.try_get::<i64, _>(at).map_err(db)?),
            KeyKind::Real => json!(
                row.try_get::<f64, _>(at)
                    .or_else(|_| row.try_get::<i64, _>(at).map(|n| n as f64))
                    .map_err(db)?
            ),
            KeyKind::Text => json!(row.try_get::<String, _>(at).map_err(db)?),
        });
    }
    Ok(Loaded {
        id,
        properties,
        sources: source_values,
        keys: key_values,
    })
}

/// `k=v&…` with every value percent-encoded (spaces as `%20`, which every client reads).
pub fn encode_query(pairs: &[(String, String)]) -> String {
    use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
    const KEEP: &percent_encoding::AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~')
        .remove(b'$');
    pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                utf8_percent_encode(k, KEEP),
                utf8_percent_encode(v, KEEP)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}
