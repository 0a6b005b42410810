//! `$filter` and `$orderby` expressions as SQL both engines run (see [`Backend`] for the few
//! words that differ). Every value from the request is a bound parameter, never SQL text.
//!
//! Paths through one entity (`Datastream/Thing/name`) become scalar subqueries; a path through
//! a collection (`Datastreams/name` on Things) makes the comparison it appears in an `EXISTS`,
//! so it reads "any of them" (as FROST-Server does). Geometry: `geo.distance` between a point
//! property and a point literal is compared in degrees (planar, as in the CRS of the data,
//! WGS 84), and the spatial predicates (`st_within`, `st_intersects`, `st_contains`,
//! `st_disjoint`, `geo.intersects`) test the few points of Locations and FeaturesOfInterest
//! with the `geo` crate and become `id IN (…)`.

use std::collections::HashMap;

use geo::{Contains, Intersects};

use super::StaError;
use super::filter::{BinaryOp, Expr, Literal};
use super::model::{Kind, Set};
use crate::store::Backend;

/// A bound parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    Int(i64),
    Real(f64),
    Text(String),
    Null,
}

const TEXT_CAST: &str = "TEXT";

/// The points of the sets that have them (Locations, FeaturesOfInterest): (id, lon, lat).
pub type Points = HashMap<Set, Vec<(i64, f64, f64)>>;

/// The type of a translated expression.
#[derive(Debug, Clone, PartialEq)]
enum Ty {
    /// A condition (SQL boolean).
    Bool,
    Int,
    Number,
    Text,
    /// ms since epoch.
    Time,
    Null,
    /// A member of a JSON property, typed by what it is compared with.
    Json {
        column: String,
        keys: Vec<String>,
    },
    /// A point: longitude and latitude SQL, the id SQL of its entity, and that entity's set.
    Point {
        lon: String,
        lat: String,
        id: String,
        set: Set,
    },
    /// The squared planar distance of `geo.distance`: only comparable with a number.
    DistanceSquared,
}

/// A path through a collection: its joins, to be wrapped in `EXISTS` by the comparison.
#[derive(Debug, Clone, PartialEq)]
struct Many {
    from: String,
    link: String,
}

#[derive(Debug, Clone)]
struct Value {
    sql: String,
    ty: Ty,
    many: Option<Many>,
}

impl Value {
    fn plain(sql: String, ty: Ty) -> Value {
        Value {
            sql,
            ty,
            many: None,
        }
    }
}

/// Translates expressions of one query; collects their parameters.
pub struct Translator<'a> {
    pub backend: Backend,
    pub params: Vec<Param>,
    next_alias: usize,
    points: &'a Points,
    now_ms: i64,
    /// The geography literal among the arguments of the function being translated.
    pending_geometry: Option<geo::Geometry<f64>>,
}

fn bad(message: impl Into<String>) -> StaError {
    StaError::bad("$filter", message)
}

impl<'a> Translator<'a> {
    pub fn new(backend: Backend, points: &'a Points, now_ms: i64) -> Translator<'a> {
        Translator {
            backend,
            params: Vec::new(),
            next_alias: 0,
            points,
            now_ms,
            pending_geometry: None,
        }
    }

    /// A fresh alias for a table in a subquery.
    pub fn alias(&mut self) -> String {
        self.next_alias += 1;
        format!("x{}", self.next_alias)
    }

    /// Binds `p`; returns its placeholder, cast to the parameter's own type. Without the
    /// cast PostgreSQL takes a parameter's type from where it stands (an integer compared
    /// with a DOUBLE PRECISION column is read as a double) while sqlx sends the bytes of the
    /// bound type: `result gt 2` would compare with 1e-323.
    pub fn bind(&mut self, p: Param) -> String {
        let cast = match p {
            Param::Int(_) => Some("BIGINT"),
            Param::Real(_) => Some("DOUBLE PRECISION"),
            Param::Text(_) => Some(TEXT_CAST),
            Param::Null => None,
        };
        self.params.push(p);
        let n = self.params.len();
        match cast {
            Some(t) => format!("CAST(${n} AS {t})"),
            None => format!("${n}"),
        }
    }

    /// A `$filter` as a condition on the entity of `set` aliased `t`.
    ///
    /// # Errors
    /// [`StaError::BadRequest`] on `$filter` for unknown properties and functions, and for
    /// comparisons of values that cannot be compared.
    pub fn condition(&mut self, set: Set, t: &str, e: &Expr) -> Result<String, StaError> {
        let v = self.expr(set, t, e)?;
        let v = self.settle_many(v)?;
        match v.ty {
            Ty::Bool => Ok(v.sql),
            _ => Err(bad("the expression is not a condition (true or false)")),
        }
    }

    /// An `$orderby` key on the entity of `set` aliased `t`: its SQL, and the kind of value
    /// it gives (for the next page's key).
    ///
    /// # Errors
    /// [`StaError::BadRequest`] on `$orderby`.
    pub fn order_key(
        &mut self,
        set: Set,
        t: &str,
        e: &Expr,
    ) -> Result<(String, KeyKind, bool), StaError> {
        let v = self.expr(set, t, e).map_err(|e| e.on("$orderby"))?;
        // A column that is never NULL: ordered without a NULLS clause, so PostgreSQL can
        // read it from an index in either direction.
        let never_null = v.sql == format!("{t}.id")
            || set.properties().iter().any(|p| {
                !p.column.is_empty()
                    && !super::model::NULLABLE.contains(&p.column)
                    && v.sql == format!("{t}.{}", p.column)
            })
            || v.sql == format!("{t}.result");
        if v.many.is_some() {
            return Err(StaError::bad(
                "$orderby",
                "cannot order by a property of a collection",
            ));
        }
        let (v, kind) = match &v.ty {
            Ty::Int | Ty::Time => (v, KeyKind::Int),
            Ty::Number => (v, KeyKind::Real),
            Ty::Text => (v, KeyKind::Text),
            Ty::Json { .. } => (self.json_as(v, &Ty::Text), KeyKind::Text),
            Ty::Bool => (
                Value::plain(format!("(CASE WHEN {} THEN 1 ELSE 0 END)", v.sql), Ty::Int),
                KeyKind::Int,
            ),
            _ => {
                return Err(StaError::bad(
                    "$orderby",
                    "can only order by numbers, text and times",
                ));
            }
        };
        Ok((v.sql, kind, never_null))
    }

    fn expr(&mut self, set: Set, t: &str, e: &Expr) -> Result<Value, StaError> {
        match e {
            Expr::Literal(l) => self.literal(l),
            Expr::Path(segments) => self.path(set, t, segments),
            Expr::Not(inner) => {
                let v = self.expr(set, t, inner)?;
                let v = self.settle_many(v)?;
                if v.ty != Ty::Bool {
                    return Err(bad("'not' needs a condition"));
                }
                Ok(Value::plain(format!("(NOT {})", v.sql), Ty::Bool))
            }
            Expr::Negate(inner) => {
                let v = self.expr(set, t, inner)?;
                if !matches!(v.ty, Ty::Int | Ty::Number) {
                    return Err(bad("'-' needs a number"));
                }
                Ok(Value {
                    sql: format!("(-{})", v.sql),
                    ..v
                })
            }
            Expr::Binary(op, l, r) => {
                let l = self.expr(set, t, l)?;
                let r = self.expr(set, t, r)?;
                self.binary(*op, l, r)
            }
            Expr::Call(name, args) => {
                let mut values = Vec::with_capacity(args.len());
                let mut geometry = None;
                for a in args {
                    match a {
                        Expr::Literal(Literal::Geometry(g)) if geometry.is_none() => {
                            geometry = Some(g.clone());
                        }
                        _ => values.push(self.expr(set, t, a)?),
                    }
                }
                let given = values.len() + usize::from(geometry.is_some());
                self.pending_geometry = geometry;
                let result = self.call(name, values, given);
                self.pending_geometry = None;
                result
            }
        }
    }

    fn literal(&mut self, l: &Literal) -> Result<Value, StaError> {
        Ok(match l {
            Literal::Null => Value::plain("NULL".into(), Ty::Null),
            Literal::Bool(b) => {
                Value::plain(if *b { "(1 = 1)" } else { "(1 = 0)" }.into(), Ty::Bool)
            }
            Literal::Int(n) => Value::plain(self.bind(Param::Int(*n)), Ty::Int),
            Literal::Number(n) => Value::plain(self.bind(Param::Real(*n)), Ty::Number),
            Literal::Text(s) => {
                if s.contains('\0') {
                    return Err(bad("a string holds a NUL character"));
                }
                Value::plain(self.bind(Param::Text(s.clone())), Ty::Text)
            }
            Literal::Time(ms) => Value::plain(self.bind(Param::Int(*ms)), Ty::Time),
            Literal::Geometry(_) => {
                return Err(bad(
                    "a geography literal can only be an argument of a spatial function",
                ));
            }
        })
    }

    fn path(&mut self, set: Set, t: &str, segments: &[String]) -> Result<Value, StaError> {
        // Navigations first: a chain of (set, alias, join condition, many).
        let mut current = set;
        let mut alias = t.to_owned();
        let mut joins: Vec<(String, String, String, bool)> = Vec::new();
        let mut rest = segments;
        while let Some((first, tail)) = rest.split_first() {
            let Some(nav) = current.navigation(first) else {
                break;
            };
            // `Datastream/@iot.id`: the id is the column we join on; no subquery.
            if !nav.many
                && matches!(tail, [id] if id == "id" || id == "@iot.id")
                && joins.is_empty()
            {
                return Ok(Value::plain(
                    format!("{alias}.{}", nav.source_column),
                    Ty::Int,
                ));
            }
            let next = self.alias();
            let on = format!(
                "{next}.{} = {alias}.{}",
                nav.target_column, nav.source_column
            );
            joins.push((nav.target.table().to_owned(), next.clone(), on, nav.many));
            current = nav.target;
            alias = next;
            rest = tail;
        }
        let (sql, ty) = self.terminal(current, &alias, rest, segments)?;
        if joins.is_empty() {
            return Ok(Value::plain(sql, ty));
        }
        let mut from = String::new();
        let mut link = String::new();
        for (i, (table, a, on, _)) in joins.iter().enumerate() {
            if i == 0 {
                from = format!("{table} {a}");
                link.clone_from(on);
            } else {
                from.push_str(&format!(" JOIN {table} {a} ON {on}"));
            }
        }
        if joins.iter().any(|j| j.3) {
            return Ok(Value {
                sql,
                ty,
                many: Some(Many { from, link }),
            });
        }
        let wrap = |inner: &str| format!("(SELECT {inner} FROM {from} WHERE {link})");
        let ty = match ty {
            Ty::Json { column, keys } => Ty::Json {
                // The JSON text itself is fetched by the subquery; members are read outside.
                column: wrap(&column),
                keys,
            },
            Ty::Point { lon, lat, id, set } => Ty::Point {
                lon: wrap(&lon),
                lat: wrap(&lat),
                id: wrap(&id),
                set,
            },
            other => other,
        };
        Ok(Value::plain(wrap(&sql), ty))
    }

    /// The property `rest` of the entity of `set` aliased `t`.
    fn terminal(
        &mut self,
        set: Set,
        t: &str,
        rest: &[String],
        whole: &[String],
    ) -> Result<(String, Ty), StaError> {
        let shown = whole.join("/");
        let Some((name, members)) = rest.split_first() else {
            return Err(bad(format!(
                "{shown} is an entity; compare one of its properties (such as {shown}/@iot.id)"
            )));
        };
        if name == "id" || name == "@iot.id" {
            return if members.is_empty() {
                Ok((format!("{t}.id"), Ty::Int))
            } else {
                Err(bad(format!("{shown}: an id has no members")))
            };
        }
        let Some(prop) = set.property(name) else {
            return Err(bad(format!(
                "{} have no property or navigation {name:?} (in {shown})",
                set.name()
            )));
        };
        let scalar_only = |r: (String, Ty)| {
            if members.is_empty() {
                Ok(r)
            } else {
                Err(bad(format!("{shown}: {name} has no members")))
            }
        };
        match prop.kind {
            Kind::Text => scalar_only((format!("{t}.{}", prop.column), Ty::Text)),
            Kind::Time => scalar_only((format!("{t}.{}", prop.column), Ty::Time)),
            Kind::Result => scalar_only((format!("{t}.result"), Ty::Number)),
            Kind::Json => {
                if members.is_empty() {
                    return Err(bad(format!(
                        "{shown} is an object; compare one of its members ({shown}/name)"
                    )));
                }
                for m in members {
                    if m.contains(['"', '\\', '\0', '$']) {
                        return Err(bad(format!("{shown}: {m:?} is not a usable member name")));
                    }
                }
                Ok((
                    String::new(),
                    Ty::Json {
                        column: format!("{t}.{}", prop.column),
                        keys: members.to_vec(),
                    },
                ))
            }
            Kind::Unit => match members {
                [m] if m == "name" => Ok((format!("{t}.unit_name"), Ty::Text)),
                [m] if m == "symbol" => Ok((format!("{t}.unit_symbol"), Ty::Text)),
                [m] if m == "definition" => Ok((format!("{t}.unit_definition"), Ty::Text)),
                _ => Err(bad(format!(
                    "{shown}: compare unitOfMeasurement/name, /symbol or /definition"
                ))),
            },
            Kind::Point => scalar_only((
                String::new(),
                Ty::Point {
                    lon: format!("{t}.longitude"),
                    lat: format!("{t}.latitude"),
                    id: format!("{t}.id"),
                    set,
                },
            )),
            Kind::Interval => Err(bad(format!(
                "{shown} is an interval and cannot be compared; filter the Observations' phenomenonTime"
            ))),
        }
    }

    /// A JSON member read as `want` (Text, Number or Bool as 1/0 Int).
    fn json_as(&mut self, v: Value, want: &Ty) -> Value {
        let Ty::Json { column, keys } = &v.ty else {
            return v;
        };
        let sql = match self.backend {
            Backend::Sqlite => {
                let mut path = String::from("$");
                for k in keys {
                    path.push_str(&format!(".\"{k}\""));
                }
                let p = self.bind(Param::Text(path));
                match want {
                    Ty::Number | Ty::Int => format!(
                        "(CASE WHEN json_type({column}, {p}) IN ('integer', 'real') THEN json_extract({column}, {p}) END)"
                    ),
                    Ty::Bool => format!(
                        "(CASE json_type({column}, {p}) WHEN 'true' THEN 1 WHEN 'false' THEN 0 END)"
                    ),
                    _ => format!(
                        "(CASE WHEN json_type({column}, {p}) = 'text' THEN json_extract({column}, {p}) END)"
                    ),
                }
            }
            Backend::Postgres => {
                let placeholders: Vec<String> = keys
                    .iter()
                    .map(|k| self.bind(Param::Text(k.clone())))
                    .collect();
                let args = placeholders.join(", ");
                let node = format!("jsonb_extract_path(({column})::jsonb, {args})");
                let text = format!("jsonb_extract_path_text(({column})::jsonb, {args})");
                match want {
                    Ty::Number | Ty::Int => format!(
                        "(CASE WHEN jsonb_typeof({node}) = 'number' THEN ({text})::float8 END)"
                    ),
                    Ty::Bool => format!(
                        "(CASE jsonb_typeof({node}) WHEN 'boolean' THEN (CASE WHEN {text} = 'true' THEN 1 ELSE 0 END) END)"
                    ),
                    _ => format!("(CASE WHEN jsonb_typeof({node}) = 'string' THEN {text} END)"),
                }
            }
        };
        let ty = match want {
            Ty::Number | Ty::Int => Ty::Number,
            Ty::Bool => Ty::Int,
            _ => Ty::Text,
        };
        Value {
            sql,
            ty,
            many: v.many,
        }
    }

    /// A condition whose operands went through a collection becomes `EXISTS (…)`.
    fn settle_many(&mut self, v: Value) -> Result<Value, StaError> {
        match v.many {
            Some(Many { from, link }) if v.ty == Ty::Bool => Ok(Value::plain(
                format!("EXISTS (SELECT 1 FROM {from} WHERE {link} AND {})", v.sql),
                Ty::Bool,
            )),
            Some(_) => Err(bad("a property of a collection can only be compared")),
            None => Ok(v),
        }
    }

    fn join_many(l: &Value, r: &Value) -> Result<Option<Many>, StaError> {
        match (&l.many, &r.many) {
            (Some(_), Some(_)) => Err(bad("one comparison can go through one collection only")),
            (Some(m), None) | (None, Some(m)) => Ok(Some(m.clone())),
            (None, None) => Ok(None),
        }
    }

    fn binary(&mut self, op: BinaryOp, l: Value, r: Value) -> Result<Value, StaError> {
        match op {
            BinaryOp::And | BinaryOp::Or => {
                let l = self.settle_many(l)?;
                let r = self.settle_many(r)?;
                if l.ty != Ty::Bool || r.ty != Ty::Bool {
                    return Err(bad(format!(
                        "'{}' joins conditions",
                        if op == BinaryOp::And { "and" } else { "or" }
                    )));
                }
                let word = if op == BinaryOp::And { "AND" } else { "OR" };
                Ok(Value::plain(
                    format!("({} {word} {})", l.sql, r.sql),
                    Ty::Bool,
                ))
            }
            BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div | BinaryOp::Mod => {
                let many = Self::join_many(&l, &r)?;
                let l = self.json_as(l, &Ty::Number);
                let r = self.json_as(r, &Ty::Number);
                let numeric = |t: &Ty| matches!(t, Ty::Int | Ty::Number);
                if !numeric(&l.ty) || !numeric(&r.ty) {
                    return Err(bad("arithmetic needs numbers"));
                }
                let sign = match op {
                    BinaryOp::Add => "+",
                    BinaryOp::Sub => "-",
                    BinaryOp::Mul => "*",
                    BinaryOp::Div => "/",
                    _ => "%",
                };
                let ty = if l.ty == Ty::Int && r.ty == Ty::Int {
                    Ty::Int
                } else {
                    Ty::Number
                };
                // Division by zero is NULL on both engines (PostgreSQL would raise).
                let sql = match op {
                    BinaryOp::Div | BinaryOp::Mod => {
                        format!("({} {sign} NULLIF({}, 0))", l.sql, r.sql)
                    }
                    _ => format!("({} {sign} {})", l.sql, r.sql),
                };
                Ok(Value { sql, ty, many })
            }
            _ => self.compare(op, l, r),
        }
    }

    fn compare(&mut self, op: BinaryOp, l: Value, r: Value) -> Result<Value, StaError> {
        let many = Self::join_many(&l, &r)?;
        let sign = match op {
            BinaryOp::Eq => "=",
            BinaryOp::Ne => "<>",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
            BinaryOp::Lt => "<",
            _ => "<=",
        };
        // geo.distance(…) lt d: the squared distance against d².
        if let (Ty::DistanceSquared, other) | (other, Ty::DistanceSquared) = (&l.ty, &r.ty) {
            if !matches!(other, Ty::Int | Ty::Number) {
                return Err(bad("geo.distance is compared with a number of degrees"));
            }
            let (d, other_sql, flipped) = if l.ty == Ty::DistanceSquared {
                (&l.sql, &r.sql, false)
            } else {
                (&r.sql, &l.sql, true)
            };
            let sign = if flipped { mirror(sign) } else { sign };
            let sql = format!(
                "(CASE WHEN {other_sql} < 0 THEN NULL ELSE {d} {sign} ({other_sql}) * ({other_sql}) END)"
            );
            return self.settle_many(Value {
                sql,
                ty: Ty::Bool,
                many,
            });
        }
        // Comparing with null is a test for null.
        if l.ty == Ty::Null || r.ty == Ty::Null {
            let other = if l.ty == Ty::Null { r } else { l };
            let other = self.json_as(other, &Ty::Text);
            let test = match op {
                BinaryOp::Eq => "IS NULL",
                BinaryOp::Ne => "IS NOT NULL",
                _ => return Err(bad("null can only be tested with eq or ne")),
            };
            let sql = format!("({} {test})", other.sql);
            return self.settle_many(Value {
                sql,
                ty: Ty::Bool,
                many,
            });
        }
        // A JSON member is read as the type it is compared with.
        let (l, r) = match (&l.ty, &r.ty) {
            (Ty::Json { .. }, Ty::Json { .. }) => {
                let l = self.json_as(l, &Ty::Text);
                let r = self.json_as(r, &Ty::Text);
                (l, r)
            }
            (Ty::Json { .. }, other) => {
                let other = other.clone();
                (self.json_as(l, &other), r)
            }
            (other, Ty::Json { .. }) => {
                let other = other.clone();
                let r = self.json_as(r, &other);
                (l, r)
            }
            _ => (l, r),
        };
        let (left_ty, right_ty) = (l.ty.clone(), r.ty.clone());
        let l = self.time_text(l, &right_ty)?;
        let r = self.time_text(r, &left_ty)?;
        let comparable = match (&l.ty, &r.ty) {
            (Ty::Int | Ty::Number, Ty::Int | Ty::Number) => true,
            (Ty::Text, Ty::Text) | (Ty::Time, Ty::Time) => true,
            (Ty::Bool, Ty::Bool) => matches!(op, BinaryOp::Eq | BinaryOp::Ne),
            _ => false,
        };
        if !comparable {
            return Err(bad(format!(
                "cannot compare {} with {}",
                describe(&l.ty),
                describe(&r.ty)
            )));
        }
        let sql = if l.ty == Ty::Bool {
            let as_int = |s: &str| format!("(CASE WHEN {s} THEN 1 ELSE 0 END)");
            format!("({} {sign} {})", as_int(&l.sql), as_int(&r.sql))
        } else {
            format!("({} {sign} {})", l.sql, r.sql)
        };
        self.settle_many(Value {
            sql,
            ty: Ty::Bool,
            many,
        })
    }

    /// A text literal compared with a time is read as a time.
    fn time_text(&mut self, v: Value, other: &Ty) -> Result<Value, StaError> {
        if *other != Ty::Time || v.ty != Ty::Text {
            return Ok(v);
        }
        // A text literal's SQL is its placeholder, `CAST($n AS TEXT)`.
        let Some(Param::Text(text)) = v
            .sql
            .strip_prefix("CAST($")
            .and_then(|rest| rest.strip_suffix(&format!(" AS {TEXT_CAST})")))
            .and_then(|n| n.parse::<usize>().ok())
            .and_then(|n| self.params.get(n - 1))
            .cloned()
        else {
            return Ok(v);
        };
        let ms = super::time::parse_instant(&text).map_err(|e| bad(format!("{text:?} {e}")))?;
        Ok(Value::plain(self.bind(Param::Int(ms)), Ty::Time))
    }

    fn call(&mut self, name: &str, args: Vec<Value>, given: usize) -> Result<Value, StaError> {
        let arity = |n: usize| -> Result<(), StaError> {
            if given == n {
                Ok(())
            } else {
                Err(bad(format!("{name} takes {n} argument(s), not {given}")))
            }
        };
        if self.pending_geometry.is_some()
            && !matches!(
                name,
                "geo.distance"
                    | "st_within"
                    | "st_intersects"
                    | "geo.intersects"
                    | "st_contains"
                    | "st_disjoint"
            )
        {
            return Err(bad(format!("{name} does not take a geography literal")));
        }
        let sqlite = self.backend == Backend::Sqlite;
        match name {
            "substringof" | "contains" | "startswith" | "endswith" | "indexof" | "concat" => {
                arity(2)?;
                let (a, b) = self.two_texts(name, args)?;
                let many = Self::join_many(&a, &b)?;
                // substringof(needle, haystack); the others take (haystack, needle).
                let (hay, needle) = if name == "substringof" {
                    (&b.sql, &a.sql)
                } else {
                    (&a.sql, &b.sql)
                };
                let position = if sqlite {
                    format!("instr({hay}, {needle})")
                } else {
                    format!("strpos({hay}, {needle})")
                };
                let (sql, ty) = match name {
                    "substringof" | "contains" => (format!("({position} > 0)"), Ty::Bool),
                    "startswith" => (
                        format!("(substr({hay}, 1, length({needle})) = {needle})"),
                        Ty::Bool,
                    ),
                    "endswith" => (
                        format!(
                            "(length({needle}) <= length({hay}) AND substr({hay}, length({hay}) - length({needle}) + 1) = {needle})"
                        ),
                        Ty::Bool,
                    ),
                    "indexof" => (format!("({position} - 1)"), Ty::Int),
                    _ => (format!("({hay} || {needle})"), Ty::Text),
                };
                let v = Value { sql, ty, many };
                if v.ty == Ty::Bool {
                    self.settle_many(v)
                } else {
                    Ok(v)
                }
            }
            "length" | "tolower" | "toupper" | "trim" => {
                arity(1)?;
                let a = self.text_arg(name, args)?;
                let (sql, ty) = match name {
                    "length" => (format!("length({})", a.sql), Ty::Int),
                    "tolower" => (format!("lower({})", a.sql), Ty::Text),
                    "toupper" => (format!("upper({})", a.sql), Ty::Text),
                    _ => (format!("trim({})", a.sql), Ty::Text),
                };
                Ok(Value { sql, ty, ..a })
            }
            "substring" => {
                if !(2..=3).contains(&given) {
                    return Err(bad("substring takes 2 or 3 arguments"));
                }
                let mut it = args.into_iter();
                let s = it.next().map(|v| self.json_as(v, &Ty::Text));
                let Some(s) = s.filter(|s| s.ty == Ty::Text) else {
                    return Err(bad("substring needs text first"));
                };
                let mut numbers = Vec::new();
                for v in it {
                    if v.ty != Ty::Int {
                        return Err(bad("substring takes whole numbers"));
                    }
                    numbers.push(v.sql);
                }
                let sql = match numbers.as_slice() {
                    [from] => format!("substr({}, {from} + 1)", s.sql),
                    [from, n] => format!("substr({}, {from} + 1, {n})", s.sql),
                    _ => unreachable!("2 or 3 arguments"),
                };
                Ok(Value {
                    sql,
                    ty: Ty::Text,
                    ..s
                })
            }
            "year" | "month" | "day" | "hour" | "minute" | "second" => {
                arity(1)?;
                let v = args
                    .into_iter()
                    .next()
                    .ok_or_else(|| bad("missing argument"))?;
                if v.ty != Ty::Time {
                    return Err(bad(format!("{name} needs a time")));
                }
                let sql = if sqlite {
                    let f = match name {
                        "year" => "%Y",
                        "month" => "%m",
                        "day" => "%d",
                        "hour" => "%H",
                        "minute" => "%M",
                        _ => "%S",
                    };
                    format!(
                        "CAST(strftime('{f}', ({}) / 1000, 'unixepoch') AS INTEGER)",
                        v.sql
                    )
                } else {
                    let field = name.to_uppercase();
                    format!(
                        "CAST(FLOOR(EXTRACT({field} FROM (to_timestamp(({}) / 1000.0) AT TIME ZONE 'UTC'))) AS BIGINT)",
                        v.sql
                    )
                };
                Ok(Value {
                    sql,
                    ty: Ty::Int,
                    ..v
                })
            }
            "now" => {
                arity(0)?;
                let now = self.now_ms;
                Ok(Value::plain(self.bind(Param::Int(now)), Ty::Time))
            }
            "round" | "floor" | "ceiling" => {
                arity(1)?;
                let v = args
                    .into_iter()
                    .next()
                    .ok_or_else(|| bad("missing argument"))?;
                let v = self.json_as(v, &Ty::Number);
                if !matches!(v.ty, Ty::Int | Ty::Number) {
                    return Err(bad(format!("{name} needs a number")));
                }
                let x = &v.sql;
                let sql = match (name, sqlite) {
                    ("round", true) => format!("round({x})"),
                    ("round", false) => format!("CAST(round(CAST({x} AS numeric)) AS float8)"),
                    ("floor", true) => {
                        format!("(CAST({x} AS INTEGER) - (({x}) < CAST({x} AS INTEGER)))")
                    }
                    ("floor", false) => format!("floor({x})"),
                    ("ceiling", true) => {
                        format!("(CAST({x} AS INTEGER) + (({x}) > CAST({x} AS INTEGER)))")
                    }
                    _ => format!("ceil({x})"),
                };
                Ok(Value {
                    sql,
                    ty: Ty::Number,
                    ..v
                })
            }
            "geo.distance" => {
                arity(2)?;
                let (point, lit) = self.point_and_literal(name, args)?;
                let geo::Geometry::Point(q) = lit else {
                    return Err(bad("geo.distance measures to a POINT"));
                };
                let Ty::Point { lon, lat, .. } = &point.ty else {
                    return Err(bad("geo.distance needs a point property"));
                };
                let x = self.bind(Param::Real(q.x()));
                let y = self.bind(Param::Real(q.y()));
                let sql = format!(
                    "((({lon}) - {x}) * (({lon}) - {x}) + (({lat}) - {y}) * (({lat}) - {y}))"
                );
                Ok(Value {
                    sql,
                    ty: Ty::DistanceSquared,
                    many: point.many,
                })
            }
            "st_within" | "st_intersects" | "geo.intersects" | "st_contains" | "st_disjoint" => {
                arity(2)?;
                let (point, shape) = self.point_and_literal(name, args)?;
                let Ty::Point { id, set, .. } = &point.ty else {
                    return Err(bad(format!("{name} needs a point property")));
                };
                let inside: Vec<i64> = self
                    .points
                    .get(set)
                    .map(|all| {
                        all.iter()
                            .filter(|(_, x, y)| {
                                let p = geo::Point::new(*x, *y);
                                match name {
                                    "st_within" | "st_contains" => shape.contains(&p),
                                    _ => shape.intersects(&p),
                                }
                            })
                            .map(|(id, _, _)| *id)
                            .collect()
                    })
                    .unwrap_or_default();
                let list = if inside.is_empty() {
                    "NULL".to_owned()
                } else {
                    inside
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                let sql = if name == "st_disjoint" {
                    format!("({id} NOT IN ({list}))")
                } else {
                    format!("({id} IN ({list}))")
                };
                self.settle_many(Value {
                    sql,
                    ty: Ty::Bool,
                    many: point.many,
                })
            }
            _ => Err(bad(format!(
                "unknown function {name:?} (served: substringof, contains, startswith, endswith, length, indexof, substring, tolower, toupper, trim, concat, year, month, day, hour, minute, second, now, round, floor, ceiling, geo.distance, geo.intersects, st_within, st_intersects, st_contains, st_disjoint)"
            ))),
        }
    }

    fn text_arg(&mut self, name: &str, args: Vec<Value>) -> Result<Value, StaError> {
        let v = args
            .into_iter()
            .next()
            .ok_or_else(|| bad("missing argument"))?;
        let v = self.json_as(v, &Ty::Text);
        if v.ty == Ty::Text {
            Ok(v)
        } else {
            Err(bad(format!("{name} needs text")))
        }
    }

    fn two_texts(&mut self, name: &str, args: Vec<Value>) -> Result<(Value, Value), StaError> {
        let mut it = args.into_iter();
        let (Some(a), Some(b)) = (it.next(), it.next()) else {
            return Err(bad(format!("{name} takes 2 arguments")));
        };
        let a = self.json_as(a, &Ty::Text);
        let b = self.json_as(b, &Ty::Text);
        if a.ty != Ty::Text || b.ty != Ty::Text {
            return Err(bad(format!("{name} needs text arguments")));
        }
        Ok((a, b))
    }

    /// The point-property argument and the geography literal of a spatial function, in either
    /// order. Literals are kept out of [`Value`] (they are not SQL), so they are found here.
    fn point_and_literal(
        &mut self,
        name: &str,
        args: Vec<Value>,
    ) -> Result<(Value, geo::Geometry<f64>), StaError> {
        let point = args.into_iter().find(|v| matches!(v.ty, Ty::Point { .. }));
        let point = point.ok_or_else(|| bad(format!("{name} needs a location or feature")))?;
        let shape = self
            .pending_geometry
            .take()
            .ok_or_else(|| bad(format!("{name} needs a geography'…' literal")))?;
        Ok((point, shape))
    }
}

/// How the value of an `$orderby` key is read and bound again for the next page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Int,
    Real,
    Text,
}

fn mirror(sign: &str) -> &str {
    match sign {
        ">" => "<",
        ">=" => "<=",
        "<" => ">",
        "<=" => ">=",
        other => other,
    }
}

fn describe(t: &Ty) -> &'static str {
    match t {
        Ty::Bool => "a condition",
        Ty::Int | Ty::Number => "a number",
        Ty::Text => "text",
        Ty::Time => "a time",
        Ty::Null => "null",
        Ty::Json { .. } => "a member of properties",
        Ty::Point { .. } => "a location",
        Ty::DistanceSquared => "a distance",
    }
}
