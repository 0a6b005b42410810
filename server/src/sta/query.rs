//! Query options (OGC 18-088 §9.3): `$top`, `$skip`, `$count`, `$orderby`, `$select`,
//! `$expand` (nested, each with its own options), `$filter`, and the `$skiptoken` of our
//! `@iot.nextLink`s. Every option is checked against the entity set it applies to, so an
//! unknown property is an error naming it, not an empty answer.

use super::StaError;
use super::filter::{self, Expr, OrderItem};
use super::model::{Navigation, Set};

/// Entities per page when the request gives no `$top` (§9.3.3.3 leaves it to the service).
pub const DEFAULT_TOP: u32 = 100;
/// The largest `$top` served; a larger one is refused rather than silently cut.
pub const MAX_TOP: u32 = 10_000;
/// The deepest `$expand` served (`Things → Datastreams → Observations → …`).
pub const MAX_EXPAND_DEPTH: usize = 4;

/// The options of one request, or of one `$expand` item, checked against `set`.
#[derive(Debug, Clone)]
pub struct Options {
    pub set: Set,
    pub top: Option<u32>,
    pub skip: Option<u32>,
    pub count: bool,
    pub orderby: Vec<OrderItem>,
    /// Property and navigation names; `None` selects everything.
    pub select: Option<Vec<String>>,
    pub expand: Vec<Expand>,
    pub filter: Option<Expr>,
    /// The sort key of the last entity of the previous page, from our own `@iot.nextLink`.
    pub skiptoken: Option<Vec<serde_json::Value>>,
    /// The options as received (without `$skip`/`$skiptoken`), for building next links.
    pub raw: Vec<(String, String)>,
}

/// One `$expand` item.
#[derive(Debug, Clone)]
pub struct Expand {
    pub navigation: &'static Navigation,
    pub options: Options,
}

impl Options {
    pub fn none(set: Set) -> Options {
        Options {
            set,
            top: None,
            skip: None,
            count: false,
            orderby: Vec::new(),
            select: None,
            expand: Vec::new(),
            filter: None,
            skiptoken: None,
            raw: Vec::new(),
        }
    }

    /// Reads the options of a request's query string for `set`.
    ///
    /// # Errors
    /// [`StaError::BadRequest`] naming the option and what is wrong with it.
    pub fn from_query(set: Set, query: Option<&str>) -> Result<Options, StaError> {
        let pairs: Vec<(String, String)> = match query {
            Some(q) => form_urlencoded::parse(q.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
            None => Vec::new(),
        };
        let mut seen = std::collections::HashSet::new();
        for (k, _) in &pairs {
            if k.starts_with('$') && !seen.insert(k.as_str()) {
                return Err(StaError::bad(k, "is given twice"));
            }
        }
        Options::parse(set, &pairs, 0)
    }

    fn parse(set: Set, pairs: &[(String, String)], depth: usize) -> Result<Options, StaError> {
        let mut o = Options::none(set);
        for (key, value) in pairs {
            match key.as_str() {
                "$top" => o.top = Some(top(value)?),
                "$skip" => {
                    o.skip = Some(value.parse().map_err(|_| {
                        StaError::bad("$skip", format!("{value:?} is not a whole number ≥ 0"))
                    })?);
                }
                "$count" => {
                    o.count = match value.as_str() {
                        "true" => true,
                        "false" => false,
                        _ => {
                            return Err(StaError::bad(
                                "$count",
                                format!("{value:?}: use true or false"),
                            ));
                        }
                    };
                }
                "$orderby" => {
                    o.orderby = filter::parse_orderby(value)
                        .map_err(|e| StaError::bad("$orderby", e.to_string()))?;
                }
                "$select" => o.select = Some(select(set, value)?),
                "$expand" => o.expand = expand(set, value, depth)?,
                "$filter" => {
                    o.filter = Some(
                        filter::parse(value)
                            .map_err(|e| StaError::bad("$filter", e.to_string()))?,
                    );
                }
                "$skiptoken" => {
                    let token: Vec<serde_json::Value> = serde_json::from_str(value)
                        .map_err(|_| StaError::bad("$skiptoken", "is not one this service made"))?;
                    o.skiptoken = Some(token);
                }
                // A system query option of SensorThings this service does not serve
                // (§9.3, req/request-data/query-status-code: 501).
                "$resultFormat" | "$search" | "$format" | "$levels" | "$apply" | "$compute"
                | "$index" | "$schemaversion" => {
                    return Err(StaError::NotImplemented(format!(
                        "{key}: this service does not serve this option"
                    )));
                }
                k if k.starts_with('$') => {
                    return Err(StaError::bad(
                        k,
                        "is not a SensorThings query option ($top, $skip, $count, $orderby, $select, $expand, $filter)",
                    ));
                }
                // Other parameters are not ours; they are ignored, as OData says.
                _ => continue,
            }
            if key != "$skip" && key != "$skiptoken" {
                o.raw.push((key.clone(), value.clone()));
            }
        }
        Ok(o)
    }

    /// The entities per page.
    pub fn page_size(&self) -> u32 {
        self.top.unwrap_or(DEFAULT_TOP)
    }
}

fn top(value: &str) -> Result<u32, StaError> {
    match value.parse::<i64>() {
        Ok(n) if n < 0 => Err(StaError::bad("$top", format!("{n} is negative"))),
        Ok(n) if n > i64::from(MAX_TOP) => Err(StaError::bad(
            "$top",
            format!("{n} is more than the {MAX_TOP} served at once; page with @iot.nextLink"),
        )),
        Ok(n) => Ok(u32::try_from(n).unwrap_or(MAX_TOP)),
        Err(_) => Err(StaError::bad(
            "$top",
            format!("{value:?} is not a whole number"),
        )),
    }
}

fn select(set: Set, value: &str) -> Result<Vec<String>, StaError> {
    let mut out = Vec::new();
    for name in value.split(',').map(str::trim) {
        let known = name == "id"
            || name == "@iot.id"
            || set.property(name).is_some()
            || set.navigation(name).is_some();
        if !known {
            return Err(StaError::bad(
                "$select",
                format!("{} have no property {name:?}", set.name()),
            ));
        }
        out.push(name.to_owned());
    }
    Ok(out)
}

/// Splits `text` at `separator` outside parentheses and quotes.
fn split_top(text: &str, separator: char) -> Result<Vec<&str>, String> {
    let mut parts = Vec::new();
    let mut depth = 0_i32;
    let mut quoted = false;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        match c {
            '\'' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => {
                depth -= 1;
                if depth < 0 {
                    return Err(format!("a ')' at character {} closes nothing", i + 1));
                }
            }
            c if c == separator && depth == 0 && !quoted => {
                parts.push(&text[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err("a '(' is not closed".into());
    }
    parts.push(&text[start..]);
    Ok(parts)
}

fn expand(set: Set, value: &str, depth: usize) -> Result<Vec<Expand>, StaError> {
    let bad = |m: String| StaError::bad("$expand", m);
    let mut out: Vec<Expand> = Vec::new();
    for item in split_top(value, ',').map_err(bad)? {
        let item = item.trim();
        // `A/B/C(options)`: options belong to the last segment.
        let (path, options) = match item.find('(') {
            Some(i) if item.ends_with(')') => (&item[..i], Some(&item[i + 1..item.len() - 1])),
            Some(_) => return Err(bad(format!("{item:?}: options must end with ')'"))),
            None => (item, None),
        };
        let segments: Vec<&str> = path.split('/').collect();
        if depth + segments.len() > MAX_EXPAND_DEPTH {
            return Err(bad(format!("nested deeper than {MAX_EXPAND_DEPTH} levels")));
        }
        merge(&mut out, set, &segments, options, depth)?;
    }
    Ok(out)
}

/// Adds the expansion `segments` (with `options` on the last) to `into`.
fn merge(
    into: &mut Vec<Expand>,
    set: Set,
    segments: &[&str],
    options: Option<&str>,
    depth: usize,
) -> Result<(), StaError> {
    let Some((first, rest)) = segments.split_first() else {
        return Ok(());
    };
    let navigation = set.navigation(first).ok_or_else(|| {
        StaError::bad(
            "$expand",
            format!("{} have no navigation property {first:?}", set.name()),
        )
    })?;
    let position = into
        .iter()
        .position(|e| e.navigation.name == navigation.name);
    let index = match position {
        Some(i) => i,
        None => {
            into.push(Expand {
                navigation,
                options: Options::none(navigation.target),
            });
            into.len() - 1
        }
    };
    if rest.is_empty() {
        if let Some(text) = options {
            let mut pairs = Vec::new();
            for part in split_top(text, ';').map_err(|m| StaError::bad("$expand", m))? {
                let (k, v) = part.split_once('=').ok_or_else(|| {
                    StaError::bad("$expand", format!("{part:?} is not $option=value"))
                })?;
                if !k.trim().starts_with('$') {
                    return Err(StaError::bad(
                        "$expand",
                        format!("{k:?} is not a query option"),
                    ));
                }
                pairs.push((k.trim().to_owned(), v.to_owned()));
            }
            let parsed = Options::parse(navigation.target, &pairs, depth + 1)?;
            let existing = std::mem::take(&mut into[index].options.expand);
            into[index].options = parsed;
            into[index].options.expand.extend(existing);
        }
        Ok(())
    } else {
        merge(
            &mut into[index].options.expand,
            navigation.target,
            rest,
            options,
            depth + 1,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(set: Set, q: &str) -> Result<Options, StaError> {
        Options::from_query(set, Some(q))
    }

    #[test]
    fn nested_expand_with_its_own_options() {
        let o = opts(
            Set::Things,
            "$expand=Datastreams($select=name;$expand=Observations($top=2;$orderby=phenomenonTime%20desc)),Locations&$top=5",
        )
        .expect("parses");
        assert_eq!(o.top, Some(5));
        assert_eq!(o.expand.len(), 2);
        let ds = &o.expand[0];
        assert_eq!(ds.navigation.name, "Datastreams");
        assert_eq!(ds.options.select.as_deref(), Some(&["name".to_owned()][..]));
        let obs = &ds.options.expand[0];
        assert_eq!(obs.options.top, Some(2));
        assert!(obs.options.orderby[0].1, "descending");
    }

    #[test]
    fn path_expands_merge() {
        let o = opts(
            Set::Observations,
            "$expand=Datastream/Thing,Datastream/Sensor",
        )
        .expect("parses");
        assert_eq!(o.expand.len(), 1);
        assert_eq!(o.expand[0].options.expand.len(), 2);
    }

    #[test]
    fn bad_options_name_themselves() {
        for (q, field, says) in [
            ("$top=-1", "$top", "negative"),
            ("$top=abc", "$top", "whole number"),
            ("$top=20000", "$top", "more than"),
            ("$skip=-3", "$skip", "whole number"),
            ("$count=yes", "$count", "true or false"),
            ("$select=colour", "$select", "colour"),
            ("$expand=Owners", "$expand", "Owners"),
            ("$expand=Datastreams($top=1", "$expand", "not closed"),
            ("$filter=name%20eq", "$filter", "ends too early"),
            ("$orderby=name%20up", "$orderby", "expected"),
            ("$frobnicate=1", "$frobnicate", "not a SensorThings"),
            ("$top=1&$top=2", "$top", "twice"),
            ("$skiptoken=xyz", "$skiptoken", "not one"),
        ] {
            let e = opts(Set::Things, q).expect_err(q);
            let StaError::BadRequest { field: f, message } = &e else {
                panic!("{q}: {e:?}")
            };
            assert_eq!(f, field, "{q}");
            assert!(message.contains(says), "{q}: {message}");
        }
        let deep = "$expand=Datastreams/Thing/Datastreams/Thing/Datastreams/Thing/Datastreams/Thing/Datastreams/Thing";
        let e = opts(Set::Things, deep).expect_err("deep");
        assert!(format!("{e:?}").contains("deeper"), "{e:?}");
        let nested = "$expand=Datastreams($expand=Thing($expand=Datastreams($expand=Thing($expand=Datastreams))))";
        assert!(opts(Set::Things, nested).is_err(), "nested by options too");
    }
}
