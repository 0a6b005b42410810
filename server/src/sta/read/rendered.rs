//! Pages the database writes: for a collection read without `$expand`, whose properties are
//! texts, times, JSON and results, and whose sort keys are whole numbers (ids, times), the
//! SELECT makes each entity's JSON and the database joins the page into one value. The
//! gateway then sends it without decoding a row, which is most of what a plain page of
//! Observations cost (rows handed one by one from the database's thread, then a JSON tree
//! built and written per entity). The answer is the same JSON as [`Reader::page`] renders;
//! a test holds the two to each other on both engines.

use serde_json::Value;
use sqlx::Row;

use super::{Plan, Reader, Scope, StaError, bind_all, encode_query};
use crate::sta::model::{Kind, Set};
use crate::sta::query::Options;
use crate::sta::sql::{KeyKind, Param};
use crate::store::Backend;

/// Between an entity's JSON and its sort key, and between entities: control characters that
/// JSON text never holds unescaped.
const UNIT: char = '\u{1f}';
const RECORD: char = '\u{1e}';

/// A page as JSON text.
pub struct RenderedPage {
    /// The entities, comma-separated (the inside of the page's `value` array).
    pub entities: String,
    pub count: Option<i64>,
    /// The query string (after `?`) of the next page, when there is one.
    pub next: Option<String>,
}

impl RenderedPage {
    /// The collection's JSON: `@iot.count`, `@iot.nextLink` (given whole), `value`.
    pub fn to_json(&self, next_link: Option<&str>) -> String {
        let mut out = String::with_capacity(self.entities.len() + 200);
        out.push('{');
        if let Some(count) = self.count {
            out.push_str(&format!("\"@iot.count\":{count},"));
        }
        if let Some(link) = next_link {
            out.push_str("\"@iot.nextLink\":");
            out.push_str(&Value::from(link).to_string());
            out.push(',');
        }
        out.push_str("\"value\":[");
        out.push_str(&self.entities);
        out.push_str("]}");
        out
    }
}

/// Whether the database can write pages of `set` under `options` (see the module's text).
fn servable(set: Set, options: &Options) -> bool {
    options.expand.is_empty()
        && set
            .properties()
            .iter()
            .all(|p| matches!(p.kind, Kind::Text | Kind::Time | Kind::Json | Kind::Result))
}

/// SQL of an instant column `c` (ms since epoch) as [`crate::sta::time::format_instant`]
/// writes it: `2024-03-01T06:00:00Z`, with `.sss` when there are milliseconds.
pub fn instant_sql(backend: Backend, c: &str) -> String {
    let ms = format!("((({c}) % 1000 + 1000) % 1000)");
    let seconds = format!("(({c}) - {ms}) / 1000");
    match backend {
        Backend::Sqlite => format!(
            "strftime('%Y-%m-%dT%H:%M:%S', {seconds}, 'unixepoch') \
             || CASE WHEN {ms} = 0 THEN 'Z' ELSE printf('.%03dZ', {ms}) END"
        ),
        Backend::Postgres => format!(
            "to_char(to_timestamp({seconds}) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS') \
             || CASE WHEN {ms} = 0 THEN 'Z' ELSE '.' || lpad(({ms})::text, 3, '0') || 'Z' END"
        ),
    }
}

/// SQL of a text column as a JSON string.
fn quoted(backend: Backend, c: &str) -> String {
    match backend {
        Backend::Sqlite => format!("json_quote({c})"),
        Backend::Postgres => format!("to_json({c})::text"),
    }
}

/// `'…'` with SQL's quotes doubled.
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

impl Reader<'_> {
    /// A page of `set` within `scope` under `options`, written by the database; `None` when
    /// the request is not one it writes (then [`Reader::page`] serves it).
    ///
    /// # Errors
    /// As [`Reader::page`].
    pub async fn rendered_page(
        &self,
        set: Set,
        scope: &Scope,
        options: &Options,
    ) -> Result<Option<RenderedPage>, StaError> {
        if !servable(set, options) {
            return Ok(None);
        }
        let top = options.page_size();
        let Plan { mut tr, keys, tail } = self.plan(set, scope, options, Some(top + 1))?;
        if keys.iter().any(|(_, kind, _)| *kind != KeyKind::Int) {
            return Ok(None);
        }
        let backend = self.store.backend();
        // The base URL as it stands inside a JSON string.
        let base = Value::from(self.base.as_str()).to_string();
        let base = tr.bind(Param::Text(base[1..base.len() - 1].to_owned()));
        let link = format!(
            "{base}, {}, e.id, ')'",
            literal(&format!("/{}(", set.name()))
        );
        let selected = |name: &str| {
            options
                .select
                .as_ref()
                .is_none_or(|s| s.iter().any(|n| n == name))
        };
        // Each part is one argument of concat(), which copies the row's text once (a chain
        // of || copies it at every step).
        let mut json = vec![format!(
            "'{{\"@iot.id\":', e.id, ',\"@iot.selfLink\":\"', {link}, '\"'"
        )];
        for p in set.properties().iter().filter(|p| selected(p.name)) {
            let column = format!("e.{}", p.column);
            let name = literal(&format!(",\"{}\":", p.name));
            json.push(match p.kind {
                Kind::Result => format!("{name}, COALESCE(e.result_json, 'null')"),
                Kind::Time => format!(
                    "CASE WHEN {column} IS NULL THEN '' ELSE concat({name}, '\"', {}, '\"') END",
                    instant_sql(backend, &column)
                ),
                // Copied as stored: only the gateway's serializer writes these columns. A
                // stored JSON null is left out, as an absent value is.
                Kind::Json => format!(
                    "CASE WHEN {column} IS NULL OR {column} = 'null' THEN '' \
                     ELSE concat({name}, {column}) END"
                ),
                _ => format!(
                    "CASE WHEN {column} IS NULL THEN '' ELSE concat({name}, {}) END",
                    quoted(backend, &column)
                ),
            });
        }
        for nav in set.navigations() {
            if options.select.is_none() || selected(nav.name) {
                json.push(format!(
                    "{}, {link}, {}",
                    literal(&format!(",\"{}@iot.navigationLink\":\"", nav.name)),
                    literal(&format!("/{}\"", nav.name))
                ));
            }
        }
        json.push("'}'".into());
        let key_json: Vec<String> = (0..keys.len())
            .map(|n| format!("COALESCE(CAST(t.s{n} AS TEXT), 'null')"))
            .collect();
        let (aggregate, char) = match backend {
            Backend::Sqlite => ("group_concat", "char"),
            Backend::Postgres => ("string_agg", "chr"),
        };
        let sort_columns: Vec<String> = keys
            .iter()
            .enumerate()
            .map(|(n, (sql, _, _))| format!("{sql} AS s{n}"))
            .collect();
        // The aggregate is not ordered (that would sort the page again in a temporary
        // b-tree): each entity carries its sort key, and the page is put in order below.
        let sql = format!(
            "SELECT {aggregate}(concat(t.j, {char}({}), '[', {}, ']'), {char}({})) \
             FROM (SELECT concat({}) AS j, {}{tail}) t",
            UNIT as u32,
            key_json.join(", ',', "),
            RECORD as u32,
            json.join(", "),
            sort_columns.join(", "),
        );
        self.spend(1)?;
        let row = bind_all(sqlx::query(&sql), &tr.params)
            .fetch_one(self.store.pool())
            .await
            .map_err(StaError::database)?;
        let text: String = row
            .try_get::<Option<String>, _>(0)
            .map_err(StaError::database)?
            .unwrap_or_default();
        let unreadable =
            || StaError::database(sqlx::Error::Protocol("a page without its keys".into()));
        let mut rows: Vec<(&str, &str, Vec<Option<i64>>)> = Vec::new();
        for record in text.split(RECORD).filter(|r| !r.is_empty()) {
            let (entity, key) = record.split_once(UNIT).ok_or_else(unreadable)?;
            let values: Vec<Option<i64>> = serde_json::from_str(key).map_err(|_| unreadable())?;
            rows.push((entity, key, values));
        }
        // The page's order: each key ascending with NULLs first, or descending with NULLs
        // last (the exact reverse), as the SELECT ordered them (§9.3.3.1).
        rows.sort_by(|a, b| {
            for ((x, y), (_, _, descending)) in a.2.iter().zip(&b.2).zip(&keys) {
                let order = x.cmp(y);
                if order.is_ne() {
                    return if *descending { order.reverse() } else { order };
                }
            }
            std::cmp::Ordering::Equal
        });
        self.spend(rows.len())?;
        let more = rows.len() > top as usize;
        rows.truncate(top as usize);
        let next = match rows.last() {
            Some((_, key, _)) if more => {
                let mut pairs = options.raw.clone();
                pairs.push(("$skiptoken".into(), (*key).to_owned()));
                Some(encode_query(&pairs))
            }
            _ => None,
        };
        let count = if options.count {
            Some(self.count(set, scope, options).await?)
        } else {
            None
        };
        let entities = rows
            .iter()
            .map(|(entity, _, _)| *entity)
            .collect::<Vec<_>>()
            .join(",");
        Ok(Some(RenderedPage {
            entities,
            count,
            next,
        }))
    }
}
