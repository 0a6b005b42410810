//! Application forms as data: each procedure's form is a JSON Schema (draft 2020-12) of its
//! answers plus a small layout (sections, widget, label and help in vi and en), from the city
//! pack's `forms.json`. This module reads the schema once into checks ([`Form::compile`]) and
//! runs them ([`Form::check`]) — the one validation the UI (in WASM, as the resident types)
//! and the gateway (authoritative, on submission) both use.
//!
//! The schema subset read (a keyword outside it is refused at compile time, so an author never
//! believes a rule is enforced when it is not): `type`, `properties`, `required`,
//! `additionalProperties: false`, `$defs` and local `$ref`s, `allOf` of `if`/`then`
//! conditions, `enum`, `const`, `pattern`, `minLength`, `maxLength`, `minimum`, `maximum`,
//! `minItems`, `maxItems`, `items`, `format` (`date`, `email`, and ours: `citizen-id`,
//! `phone`, `ward`, `uuid`), `title`, `description`, and one extension, `x-past: true` (a
//! date not after today). A condition `{"if": {"properties": {"a": {"const": v}},
//! "required": ["a"]}, "then": {"required": ["b"]}}` reads "show and require `b` only when
//! `a` is `v`"; a field hidden by its conditions is dropped from the answers.
//!
//! Answers on the wire are a JSON object: text as strings, numbers as numbers, dates as ISO
//! `YYYY-MM-DD` (the screen shows and reads `dd/mm/yyyy`, see [`parse_screen_date`]), an
//! address as `{"ward": "<GSO code>", "street": "…"}`, files as an array of
//! [`AttachmentRef`]s.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::civil::Date;
use crate::text::{Localized, nfc, trim_invisible, visible_len};

/// The largest form answer text accepted anywhere: 4 000 characters.
pub const MAX_TEXT_CHARS: usize = 4_000;
/// The longest file name kept: 255 characters.
pub const MAX_FILE_NAME_CHARS: usize = 255;

/// How a field is shown and what its answer is.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Widget {
    Text,
    Textarea,
    Number,
    /// `dd/mm/yyyy` on screen, `YYYY-MM-DD` on the wire.
    Date,
    /// One of the schema's `enum` values, shown by the layout's labels.
    Choice,
    /// A box to tick (a declaration).
    Checkbox,
    /// The 12-digit personal identification number on the chip citizen ID card.
    CitizenId,
    Phone,
    Email,
    /// A street address and a ward or commune of the province (post-2025 units, no district).
    Address,
    /// PDF, JPEG or PNG documents uploaded with the application.
    File,
}

/// The label of one `enum` value.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChoiceLabel {
    pub value: String,
    pub label: Localized,
}

/// How one field is laid out.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldLayout {
    /// The property's name in the schema.
    pub field: String,
    pub widget: Widget,
    pub label: Localized,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<Localized>,
    /// Labels of a choice's values, in the order shown.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<ChoiceLabel>,
}

/// A titled group of fields.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SectionLayout {
    pub title: Localized,
    pub fields: Vec<FieldLayout>,
}

/// One procedure's form as the pack writes it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormSource {
    /// The procedure's id (`birth-registration`).
    pub procedure: String,
    /// A JSON Schema (draft 2020-12) of the answers, in the subset this module reads.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub schema: Value,
    pub layout: Vec<SectionLayout>,
}

/// One ward or commune.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ward {
    /// The GSO code (`28261`).
    pub code: String,
    pub name: String,
    /// `ward`, `commune` or `special` (a special zone).
    pub kind: String,
}

/// The province's wards and communes from the pack's `wards.json`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Wards {
    pub province: Province,
    pub source: String,
    pub units: Vec<Ward>,
}

/// A province (post-2025, one of 34).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Province {
    pub code: String,
    pub name: Localized,
}

impl Wards {
    pub fn get(&self, code: &str) -> Option<&Ward> {
        self.units.iter().find(|w| w.code == code)
    }
}

/// A document attached to an answer: what the resumable upload was announced with, plus the
/// file's name as the resident knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AttachmentRef {
    /// The upload's id (made on the device).
    pub id: uuid::Uuid,
    pub name: String,
    /// `application/pdf`, `image/jpeg` or `image/png`.
    pub media_type: String,
    /// Bytes.
    pub size: u64,
    /// Lowercase hex SHA-256 of the bytes.
    pub sha256: String,
}

/// What is wrong with one answer. Each has a translation, `form-problem-<kebab name>`, with
/// the limits as Fluent arguments.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Problem {
    Required,
    /// The answer is not of the field's kind (text where a number belongs …).
    WrongType,
    TooShort {
        min: usize,
    },
    TooLong {
        max: usize,
    },
    BelowMinimum {
        min: f64,
    },
    AboveMaximum {
        max: f64,
    },
    NotWhole,
    NotAChoice,
    /// The text does not have the form the field asks for (the schema's `pattern`).
    Pattern,
    /// Not a date that exists (`31/02/2025`), or not written `dd/mm/yyyy`.
    InvalidDate,
    DateInFuture,
    /// A citizen ID has exactly 12 digits.
    CitizenIdDigits,
    /// The first three digits are not a province code (Circular 07/2016/TT-BCA, art. 7).
    CitizenIdProvince,
    /// The 4th to 6th digits give a birth year after this year.
    CitizenIdYear,
    /// Not a Vietnamese mobile (10 digits, 03/05/07/08/09…) or landline (11 digits, 02…) number.
    Phone,
    Email,
    /// Not a ward or commune of the province.
    UnknownWard,
    TooFewFiles {
        min: usize,
    },
    TooManyFiles {
        max: usize,
    },
    /// A file's type is not one the field accepts.
    FileType,
    /// Bytes.
    FileTooLarge {
        max: u64,
    },
    DuplicateFile,
    /// A name the form does not have.
    UnknownField,
    /// A declaration that must be ticked.
    MustAccept,
}

impl Problem {
    /// The translation key (`form-problem-too-long`).
    pub fn message_key(&self) -> &'static str {
        match self {
            Problem::Required => "form-problem-required",
            Problem::WrongType => "form-problem-wrong-type",
            Problem::TooShort { .. } => "form-problem-too-short",
            Problem::TooLong { .. } => "form-problem-too-long",
            Problem::BelowMinimum { .. } => "form-problem-below-minimum",
            Problem::AboveMaximum { .. } => "form-problem-above-maximum",
            Problem::NotWhole => "form-problem-not-whole",
            Problem::NotAChoice => "form-problem-not-a-choice",
            Problem::Pattern => "form-problem-pattern",
            Problem::InvalidDate => "form-problem-invalid-date",
            Problem::DateInFuture => "form-problem-date-in-future",
            Problem::CitizenIdDigits => "form-problem-citizen-id-digits",
            Problem::CitizenIdProvince => "form-problem-citizen-id-province",
            Problem::CitizenIdYear => "form-problem-citizen-id-year",
            Problem::Phone => "form-problem-phone",
            Problem::Email => "form-problem-email",
            Problem::UnknownWard => "form-problem-unknown-ward",
            Problem::TooFewFiles { .. } => "form-problem-too-few-files",
            Problem::TooManyFiles { .. } => "form-problem-too-many-files",
            Problem::FileType => "form-problem-file-type",
            Problem::FileTooLarge { .. } => "form-problem-file-too-large",
            Problem::DuplicateFile => "form-problem-duplicate-file",
            Problem::UnknownField => "form-problem-unknown-field",
            Problem::MustAccept => "form-problem-must-accept",
        }
    }

    /// The Fluent arguments of the message: `min`, `max` (numbers; `max` of a file in MB).
    pub fn args(&self) -> Vec<(&'static str, f64)> {
        match *self {
            Problem::TooShort { min } | Problem::TooFewFiles { min } => vec![("min", min as f64)],
            Problem::TooLong { max } | Problem::TooManyFiles { max } => vec![("max", max as f64)],
            Problem::BelowMinimum { min } => vec![("min", min)],
            Problem::AboveMaximum { max } => vec![("max", max)],
            Problem::FileTooLarge { max } => vec![("max", (max / (1024 * 1024)) as f64)],
            _ => Vec::new(),
        }
    }

    /// The message in a language, from the Fluent files.
    pub fn message(&self, translator: &crate::i18n::Translator) -> String {
        let args: Vec<(&str, fluent_bundle::FluentValue<'_>)> = self
            .args()
            .into_iter()
            .map(|(name, value)| (name, fluent_bundle::FluentValue::from(value)))
            .collect();
        translator.t_args(self.message_key(), &args)
    }
}

/// A problem with the answer at `field` (`child_name`, `birth_place.ward`, `documents[1]`).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldProblem {
    pub field: String,
    #[serde(flatten)]
    pub problem: Problem,
}

/// Why a form in the pack cannot be used; `path` points into `forms.json`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct FormError {
    pub path: String,
    pub message: String,
}

fn form_error(path: impl Into<String>, message: impl Into<String>) -> FormError {
    FormError {
        path: path.into(),
        message: message.into(),
    }
}

/// What a field's answer must satisfy, read from its schema.
#[derive(Debug, Clone, Default)]
struct Rules {
    min_len: Option<usize>,
    max_len: Option<usize>,
    pattern: Option<regex_lite::Regex>,
    minimum: Option<f64>,
    maximum: Option<f64>,
    integer: bool,
    choices: Vec<String>,
    must_be_true: bool,
    past_only: bool,
    min_items: usize,
    max_items: Option<usize>,
    media_types: Vec<String>,
    max_bytes: Option<u64>,
    street_max: Option<usize>,
}

/// One field of a compiled form.
#[derive(Debug, Clone)]
pub struct Field {
    pub layout: FieldLayout,
    /// Required whenever it is shown.
    pub required: bool,
    rules: Rules,
}

impl Field {
    pub fn name(&self) -> &str {
        &self.layout.field
    }

    /// The file types a file field accepts (`application/pdf` …).
    pub fn media_types(&self) -> &[String] {
        &self.rules.media_types
    }

    /// The most files a file field takes.
    pub fn max_files(&self) -> Option<usize> {
        self.rules.max_items
    }

    /// The largest file a file field takes, in bytes.
    pub fn max_file_bytes(&self) -> Option<u64> {
        self.rules.max_bytes
    }
}

/// "Show (and require) `then` only when `field`'s answer is one of `values`."
#[derive(Debug, Clone, PartialEq)]
struct Condition {
    field: String,
    values: Vec<Value>,
    then: Vec<String>,
}

/// A form ready to check answers.
#[derive(Debug, Clone)]
pub struct Form {
    pub procedure: String,
    pub sections: Vec<SectionLayout>,
    fields: Vec<Field>,
    conditions: Vec<Condition>,
}

/// What a check needs besides the answers.
#[derive(Debug, Clone, Copy)]
pub struct CheckContext<'a> {
    /// Today in the city (for `x-past` dates and citizen IDs' birth years).
    pub today: Date,
    pub wards: &'a Wards,
}

/// The province codes that open a citizen ID: the 63 GSO codes of the provinces as they were
/// when the number was given (Circular 07/2016/TT-BCA, art. 7 and annex I; numbers keep them
/// after the 2025 merger).
const CITIZEN_ID_PROVINCES: [&str; 63] = [
    "001", "002", "004", "006", "008", "010", "011", "012", "014", "015", "017", "019", "020",
    "022", "024", "025", "026", "027", "030", "031", "033", "034", "035", "036", "037", "038",
    "040", "042", "044", "045", "046", "048", "049", "051", "052", "054", "056", "058", "060",
    "062", "064", "066", "067", "068", "070", "072", "074", "075", "077", "079", "080", "082",
    "083", "084", "086", "087", "089", "091", "092", "093", "094", "095", "096",
];

const FIELD_KEYWORDS: [&str; 20] = [
    "type",
    "title",
    "description",
    "enum",
    "const",
    "pattern",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "format",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "minItems",
    "maxItems",
    "x-past",
    "$ref",
    "$comment",
];

const TOP_KEYWORDS: [&str; 10] = [
    "$schema",
    "$id",
    "title",
    "description",
    "type",
    "properties",
    "required",
    "additionalProperties",
    "allOf",
    "$defs",
];

impl Form {
    /// Reads a form's schema and layout into checks.
    ///
    /// # Errors
    /// A [`FormError`] whose path points at the problem: a keyword outside the subset, a
    /// pattern that is not a regular expression, a widget that does not fit its schema, a
    /// property without a layout or a layout without a property, a condition on an unknown
    /// field.
    pub fn compile(source: &FormSource) -> Result<Form, FormError> {
        let base = format!("{}.schema", source.procedure);
        let schema = source
            .schema
            .as_object()
            .ok_or_else(|| form_error(&base, "not an object"))?;
        for key in schema.keys() {
            if !TOP_KEYWORDS.contains(&key.as_str()) {
                return Err(form_error(&base, format!("keyword {key:?} is not read")));
            }
        }
        if schema.get("type") != Some(&Value::from("object")) {
            return Err(form_error(&base, "type must be \"object\""));
        }
        if schema.get("additionalProperties") != Some(&Value::Bool(false)) {
            return Err(form_error(
                &base,
                "additionalProperties must be false: an answer the form does not ask for is refused",
            ));
        }
        let properties = schema
            .get("properties")
            .and_then(Value::as_object)
            .ok_or_else(|| form_error(&base, "no properties"))?;
        let required = string_list(&base, schema.get("required"))?;
        let mut conditions = Vec::new();
        if let Some(all) = schema.get("allOf") {
            let all = all
                .as_array()
                .ok_or_else(|| form_error(format!("{base}.allOf"), "not an array"))?;
            for (i, item) in all.iter().enumerate() {
                conditions.push(condition(&format!("{base}.allOf[{i}]"), item)?);
            }
        }
        let mut fields = Vec::new();
        let mut seen = BTreeSet::new();
        for (s, section) in source.layout.iter().enumerate() {
            for (f, layout) in section.fields.iter().enumerate() {
                let path = format!("{}.layout[{s}].fields[{f}]", source.procedure);
                if !seen.insert(layout.field.clone()) {
                    return Err(form_error(path, "the field is laid out twice"));
                }
                let schema_of = properties.get(&layout.field).ok_or_else(|| {
                    form_error(
                        &path,
                        format!("no property {:?} in the schema", layout.field),
                    )
                })?;
                let field_path = format!("{base}.properties.{}", layout.field);
                let property = resolve(&source.schema, &field_path, schema_of)?;
                let rules = rules(&source.schema, &field_path, property, layout.widget)?;
                if layout.widget == Widget::Choice {
                    let labelled: BTreeSet<&str> =
                        layout.choices.iter().map(|c| c.value.as_str()).collect();
                    let values: BTreeSet<&str> = rules.choices.iter().map(String::as_str).collect();
                    if labelled != values {
                        return Err(form_error(
                            path,
                            "the choices' labels must name exactly the schema's enum values",
                        ));
                    }
                }
                fields.push(Field {
                    layout: layout.clone(),
                    // A field under conditions is required whenever they show it.
                    required: required.contains(&layout.field)
                        || conditions.iter().any(|c| c.then.contains(&layout.field)),
                    rules,
                });
            }
        }
        for name in properties.keys() {
            if !seen.contains(name) {
                return Err(form_error(
                    format!("{base}.properties.{name}"),
                    "the property is not laid out",
                ));
            }
        }
        for (i, c) in conditions.iter().enumerate() {
            for name in std::iter::once(&c.field).chain(&c.then) {
                if !seen.contains(name) {
                    return Err(form_error(
                        format!("{base}.allOf[{i}]"),
                        format!("no field {name:?}"),
                    ));
                }
            }
        }
        Ok(Form {
            procedure: source.procedure.clone(),
            sections: source.layout.clone(),
            fields,
            conditions,
        })
    }

    /// The fields, in layout order.
    pub fn fields(&self) -> &[Field] {
        &self.fields
    }

    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name() == name)
    }

    /// Whether a field is shown with these answers (a field under conditions only when one
    /// of them holds).
    pub fn visible(&self, name: &str, answers: &Map<String, Value>) -> bool {
        let mut governed = false;
        for c in &self.conditions {
            if c.then.iter().any(|t| t == name) {
                governed = true;
                if answers.get(&c.field).is_some_and(|v| c.values.contains(v))
                    && self.visible(&c.field, answers)
                {
                    return true;
                }
            }
        }
        !governed
    }

    /// Checks every answer. Gives the answers as they are kept (text in NFC and trimmed,
    /// phone numbers as `+84…`, hidden and empty fields left out), or every problem found, in
    /// layout order.
    pub fn check(
        &self,
        answers: &Map<String, Value>,
        ctx: &CheckContext<'_>,
    ) -> Result<Map<String, Value>, Vec<FieldProblem>> {
        let mut problems = Vec::new();
        for name in answers.keys() {
            if self.field(name).is_none() {
                problems.push(FieldProblem {
                    field: name.clone(),
                    problem: Problem::UnknownField,
                });
            }
        }
        let mut kept = Map::new();
        for field in &self.fields {
            let name = field.name();
            if !self.visible(name, answers) {
                continue;
            }
            let value = answers.get(name).filter(|v| !is_empty(v));
            let Some(value) = value else {
                if field.required {
                    let problem = if field.layout.widget == Widget::File {
                        Problem::TooFewFiles {
                            min: field.rules.min_items.max(1),
                        }
                    } else {
                        Problem::Required
                    };
                    problems.push(FieldProblem {
                        field: name.to_owned(),
                        problem,
                    });
                }
                continue;
            };
            match check_value(field, value, ctx) {
                Ok(Some(v)) => {
                    kept.insert(name.to_owned(), v);
                }
                Ok(None) if field.required => problems.push(FieldProblem {
                    field: name.to_owned(),
                    problem: Problem::Required,
                }),
                Ok(None) => {}
                Err((sub, problem)) => problems.push(FieldProblem {
                    field: format!("{name}{sub}"),
                    problem,
                }),
            }
        }
        if problems.is_empty() {
            Ok(kept)
        } else {
            Err(problems)
        }
    }

    /// The attachments the answers refer to, with the field each belongs to.
    pub fn attachments(&self, answers: &Map<String, Value>) -> Vec<(String, AttachmentRef)> {
        let mut out = Vec::new();
        for field in self
            .fields
            .iter()
            .filter(|f| f.layout.widget == Widget::File)
        {
            if let Some(Value::Array(items)) = answers.get(field.name()) {
                for item in items {
                    if let Ok(a) = serde_json::from_value::<AttachmentRef>(item.clone()) {
                        out.push((field.name().to_owned(), a));
                    }
                }
            }
        }
        out
    }
}

/// Every attachment in a set of answers (each file field's array), without the form: what an
/// application's sender uploads before the application.
pub fn attachment_refs(answers: &Map<String, Value>) -> Vec<AttachmentRef> {
    answers
        .values()
        .filter_map(Value::as_array)
        .flatten()
        .filter_map(|item| serde_json::from_value::<AttachmentRef>(item.clone()).ok())
        .collect()
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => trim_invisible(s).is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

fn string_list(path: &str, v: Option<&Value>) -> Result<Vec<String>, FormError> {
    match v {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| form_error(format!("{path}.required"), "not a list of names"))
            })
            .collect(),
        Some(_) => Err(form_error(
            format!("{path}.required"),
            "not a list of names",
        )),
    }
}

/// Follows a local `$ref` (`#/$defs/name`).
fn resolve<'a>(root: &'a Value, path: &str, schema: &'a Value) -> Result<&'a Value, FormError> {
    match schema.get("$ref").and_then(Value::as_str) {
        None => Ok(schema),
        Some(reference) => {
            let name = reference.strip_prefix("#/$defs/").ok_or_else(|| {
                form_error(
                    path,
                    format!("only local #/$defs/ references are read, not {reference:?}"),
                )
            })?;
            root.get("$defs")
                .and_then(|d| d.get(name))
                .ok_or_else(|| form_error(path, format!("no definition {name:?}")))
        }
    }
}

fn condition(path: &str, item: &Value) -> Result<Condition, FormError> {
    let bad = || {
        form_error(
            path,
            "a condition is {\"if\": {\"properties\": {\"a\": {\"const\": v}}, \"required\": [\"a\"]}, \"then\": {\"required\": [\"b\"]}}",
        )
    };
    let object = item.as_object().ok_or_else(bad)?;
    if object.keys().any(|k| k != "if" && k != "then") {
        return Err(bad());
    }
    let test = object
        .get("if")
        .and_then(|i| i.get("properties"))
        .and_then(Value::as_object);
    let test = test.filter(|t| t.len() == 1).ok_or_else(bad)?;
    let (field, rule) = test.iter().next().ok_or_else(bad)?;
    let values = match (rule.get("const"), rule.get("enum")) {
        (Some(v), None) => vec![v.clone()],
        (None, Some(Value::Array(vs))) => vs.clone(),
        _ => return Err(bad()),
    };
    let then_block = object
        .get("then")
        .and_then(Value::as_object)
        .ok_or_else(bad)?;
    if then_block.keys().any(|k| k != "required") {
        return Err(bad());
    }
    let then = string_list(path, then_block.get("required"))?;
    if then.is_empty() {
        return Err(bad());
    }
    Ok(Condition {
        field: field.clone(),
        values,
        then,
    })
}

fn number(path: &str, schema: &Value, key: &str) -> Result<Option<f64>, FormError> {
    match schema.get(key) {
        None => Ok(None),
        Some(v) => v
            .as_f64()
            .map(Some)
            .ok_or_else(|| form_error(format!("{path}.{key}"), "not a number")),
    }
}

fn count(path: &str, schema: &Value, key: &str) -> Result<Option<usize>, FormError> {
    match schema.get(key) {
        None => Ok(None),
        Some(v) => v
            .as_u64()
            .and_then(|n| usize::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| form_error(format!("{path}.{key}"), "not a whole number")),
    }
}

fn check_keywords(path: &str, schema: &Value) -> Result<(), FormError> {
    let object = schema
        .as_object()
        .ok_or_else(|| form_error(path, "not an object"))?;
    for key in object.keys() {
        if !FIELD_KEYWORDS.contains(&key.as_str()) {
            return Err(form_error(path, format!("keyword {key:?} is not read")));
        }
    }
    Ok(())
}

/// Reads a property's schema into the checks its widget runs.
fn rules(root: &Value, path: &str, schema: &Value, widget: Widget) -> Result<Rules, FormError> {
    check_keywords(path, schema)?;
    let kind = schema.get("type").and_then(Value::as_str).unwrap_or("");
    let format = schema.get("format").and_then(Value::as_str);
    let expected = match widget {
        Widget::Text | Widget::Textarea => kind == "string" && format.is_none(),
        Widget::Number => kind == "number" || kind == "integer",
        Widget::Date => kind == "string" && format == Some("date"),
        Widget::Choice => kind == "string" && schema.get("enum").is_some(),
        Widget::Checkbox => kind == "boolean",
        Widget::CitizenId => kind == "string" && format == Some("citizen-id"),
        Widget::Phone => kind == "string" && format == Some("phone"),
        Widget::Email => kind == "string" && format == Some("email"),
        Widget::Address => kind == "object",
        Widget::File => kind == "array",
    };
    if !expected {
        return Err(form_error(
            path,
            format!(
                "the schema (type {kind:?}, format {format:?}) does not fit the widget {widget:?}"
            ),
        ));
    }
    let mut rules = Rules {
        min_len: count(path, schema, "minLength")?,
        max_len: count(path, schema, "maxLength")?,
        minimum: number(path, schema, "minimum")?,
        maximum: number(path, schema, "maximum")?,
        integer: kind == "integer",
        past_only: schema.get("x-past") == Some(&Value::Bool(true)),
        must_be_true: schema.get("const") == Some(&Value::Bool(true)),
        ..Rules::default()
    };
    if let Some(pattern) = schema.get("pattern") {
        let text = pattern
            .as_str()
            .ok_or_else(|| form_error(format!("{path}.pattern"), "not a string"))?;
        rules.pattern = Some(
            regex_lite::Regex::new(text)
                .map_err(|e| form_error(format!("{path}.pattern"), e.to_string()))?,
        );
    }
    if let Some(values) = schema.get("enum") {
        rules.choices = values
            .as_array()
            .and_then(|vs| vs.iter().map(|v| v.as_str().map(str::to_owned)).collect())
            .ok_or_else(|| form_error(format!("{path}.enum"), "not a list of strings"))?;
    }
    match widget {
        Widget::Address => {
            let props = schema.get("properties");
            let ward = props.and_then(|p| p.get("ward"));
            let street = props.and_then(|p| p.get("street"));
            match (ward, street) {
                (Some(w), Some(s)) if w.get("format") == Some(&Value::from("ward")) => {
                    check_keywords(&format!("{path}.properties.street"), s)?;
                    rules.street_max = count(path, s, "maxLength")?;
                }
                _ => {
                    return Err(form_error(
                        path,
                        "an address has properties ward (format ward) and street",
                    ));
                }
            }
        }
        Widget::File => {
            rules.min_items = count(path, schema, "minItems")?.unwrap_or(0);
            rules.max_items = count(path, schema, "maxItems")?;
            let items_path = format!("{path}.items");
            let items = schema
                .get("items")
                .ok_or_else(|| form_error(&items_path, "a file field describes its items"))?;
            let items = resolve(root, &items_path, items)?;
            let media = items
                .pointer("/properties/media_type/enum")
                .and_then(Value::as_array)
                .and_then(|vs| {
                    vs.iter()
                        .map(|v| v.as_str().map(str::to_owned))
                        .collect::<Option<Vec<_>>>()
                })
                .ok_or_else(|| {
                    form_error(
                        &items_path,
                        "an attachment lists its media types (properties.media_type.enum)",
                    )
                })?;
            let allowed = ["application/pdf", "image/jpeg", "image/png"];
            if let Some(other) = media.iter().find(|m| !allowed.contains(&m.as_str())) {
                return Err(form_error(
                    &items_path,
                    format!("{other} is not one of the document types the gateway checks"),
                ));
            }
            rules.media_types = media;
            rules.max_bytes = items
                .pointer("/properties/size/maximum")
                .and_then(Value::as_u64);
        }
        _ => {}
    }
    Ok(rules)
}

/// Checks one present answer. `Ok(None)` is an answer that is empty once trimmed; an error
/// carries the sub-path (`.ward`, `[1]`) and the problem.
fn check_value(
    field: &Field,
    value: &Value,
    ctx: &CheckContext<'_>,
) -> Result<Option<Value>, (String, Problem)> {
    let r = &field.rules;
    let whole = |p: Problem| (String::new(), p);
    let text = |v: &Value| -> Result<String, (String, Problem)> {
        v.as_str()
            .map(|s| nfc(trim_invisible(s)))
            .ok_or_else(|| whole(Problem::WrongType))
    };
    match field.layout.widget {
        Widget::Text | Widget::Textarea => {
            let t = text(value)?;
            let len = visible_len(&t);
            if let Some(min) = r.min_len.filter(|&m| len < m) {
                return Err(whole(Problem::TooShort { min }));
            }
            let max = r.max_len.unwrap_or(MAX_TEXT_CHARS).min(MAX_TEXT_CHARS);
            if len > max {
                return Err(whole(Problem::TooLong { max }));
            }
            if r.pattern.as_ref().is_some_and(|p| !p.is_match(&t)) {
                return Err(whole(Problem::Pattern));
            }
            Ok(Some(Value::String(t)))
        }
        Widget::Number => {
            let n = value.as_f64().ok_or_else(|| whole(Problem::WrongType))?;
            if r.integer && n.fract() != 0.0 {
                return Err(whole(Problem::NotWhole));
            }
            if let Some(min) = r.minimum.filter(|&m| n < m) {
                return Err(whole(Problem::BelowMinimum { min }));
            }
            if let Some(max) = r.maximum.filter(|&m| n > m) {
                return Err(whole(Problem::AboveMaximum { max }));
            }
            Ok(Some(value.clone()))
        }
        Widget::Date => {
            let t = text(value)?;
            let date = Date::parse_iso(&t).ok_or_else(|| whole(Problem::InvalidDate))?;
            if r.past_only && date > ctx.today {
                return Err(whole(Problem::DateInFuture));
            }
            Ok(Some(Value::String(date.to_string())))
        }
        Widget::Choice => {
            let t = text(value)?;
            if !r.choices.contains(&t) {
                return Err(whole(Problem::NotAChoice));
            }
            Ok(Some(Value::String(t)))
        }
        Widget::Checkbox => {
            let b = value.as_bool().ok_or_else(|| whole(Problem::WrongType))?;
            if r.must_be_true && !b {
                return Err(whole(Problem::MustAccept));
            }
            Ok(Some(Value::Bool(b)))
        }
        Widget::CitizenId => {
            let t: String = text(value)?.chars().filter(|c| *c != ' ').collect();
            check_citizen_id(&t, ctx.today).map_err(whole)?;
            Ok(Some(Value::String(t)))
        }
        Widget::Phone => {
            let t = text(value)?;
            normalize_phone(&t)
                .map(|p| Some(Value::String(p)))
                .ok_or_else(|| whole(Problem::Phone))
        }
        Widget::Email => {
            let t = text(value)?;
            if !is_email(&t) {
                return Err(whole(Problem::Email));
            }
            Ok(Some(Value::String(t)))
        }
        Widget::Address => {
            let object = value.as_object().ok_or_else(|| whole(Problem::WrongType))?;
            if let Some(other) = object.keys().find(|k| *k != "ward" && *k != "street") {
                return Err((format!(".{other}"), Problem::UnknownField));
            }
            let ward = match object.get("ward").filter(|v| !is_empty(v)) {
                None => return Err((".ward".into(), Problem::Required)),
                Some(w) => w.as_str().ok_or((".ward".into(), Problem::WrongType))?,
            };
            if ctx.wards.get(ward).is_none() {
                return Err((".ward".into(), Problem::UnknownWard));
            }
            let street = match object.get("street").filter(|v| !is_empty(v)) {
                None => return Err((".street".into(), Problem::Required)),
                Some(s) => s.as_str().ok_or((".street".into(), Problem::WrongType))?,
            };
            let street = nfc(trim_invisible(street));
            let max = r.street_max.unwrap_or(300);
            if visible_len(&street) > max {
                return Err((".street".into(), Problem::TooLong { max }));
            }
            let mut kept = Map::new();
            kept.insert("ward".into(), Value::from(ward));
            kept.insert("street".into(), Value::String(street));
            Ok(Some(Value::Object(kept)))
        }
        Widget::File => {
            let items = value.as_array().ok_or_else(|| whole(Problem::WrongType))?;
            if items.len() < r.min_items {
                return Err(whole(Problem::TooFewFiles { min: r.min_items }));
            }
            if let Some(max) = r.max_items.filter(|&m| items.len() > m) {
                return Err(whole(Problem::TooManyFiles { max }));
            }
            let mut seen = BTreeSet::new();
            let mut kept = Vec::new();
            for (i, item) in items.iter().enumerate() {
                let at = |p: Problem| (format!("[{i}]"), p);
                let mut a: AttachmentRef =
                    serde_json::from_value(item.clone()).map_err(|_| at(Problem::WrongType))?;
                a.name = nfc(trim_invisible(&a.name));
                let sha_ok = a.sha256.len() == 64
                    && a.sha256
                        .bytes()
                        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
                if a.name.is_empty() || !sha_ok || a.size == 0 {
                    return Err(at(Problem::WrongType));
                }
                if visible_len(&a.name) > MAX_FILE_NAME_CHARS {
                    return Err(at(Problem::TooLong {
                        max: MAX_FILE_NAME_CHARS,
                    }));
                }
                if !r.media_types.contains(&a.media_type) {
                    return Err(at(Problem::FileType));
                }
                if let Some(max) = r.max_bytes.filter(|&m| a.size > m) {
                    return Err(at(Problem::FileTooLarge { max }));
                }
                if !seen.insert(a.id) {
                    return Err(at(Problem::DuplicateFile));
                }
                kept.push(serde_json::to_value(&a).map_err(|_| at(Problem::WrongType))?);
            }
            Ok(Some(Value::Array(kept)))
        }
    }
}

/// Checks a 12-digit citizen ID: digits 1–3 the province of birth registration, digit 4 the
/// sex and century (0/1: 1900s, 2/3: 2000s, …), digits 5–6 the year of birth
/// (Circular 07/2016/TT-BCA, art. 7).
///
/// # Errors
/// [`Problem::CitizenIdDigits`], [`Problem::CitizenIdProvince`] or [`Problem::CitizenIdYear`].
pub fn check_citizen_id(id: &str, today: Date) -> Result<(), Problem> {
    if id.len() != 12 || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Problem::CitizenIdDigits);
    }
    if !CITIZEN_ID_PROVINCES.contains(&&id[..3]) {
        return Err(Problem::CitizenIdProvince);
    }
    let century_digit = i32::from(id.as_bytes()[3] - b'0');
    let year = 1900 + (century_digit / 2) * 100 + id[4..6].parse::<i32>().unwrap_or(0);
    if year > today.year {
        return Err(Problem::CitizenIdYear);
    }
    Ok(())
}

/// A Vietnamese phone number as `+84` and 9 (mobile) or 10 (landline) digits, from how people
/// write it (`0912 345 678`, `+84 912.345.678`, `(0273) 3 872 100`); `None` if it is not one.
/// Mobile numbers start 03, 05, 07, 08 or 09 after the trunk 0, landlines 02 (the 2017–2018
/// renumbering by the Ministry of Information and Communications).
pub fn normalize_phone(text: &str) -> Option<String> {
    let mut digits = String::new();
    for (i, c) in text.trim().chars().enumerate() {
        match c {
            '0'..='9' => digits.push(c),
            '+' if i == 0 => digits.push('+'),
            ' ' | '.' | '-' | '(' | ')' => {}
            _ => return None,
        }
    }
    let national = if let Some(rest) = digits.strip_prefix("+84") {
        format!("0{rest}")
    } else if digits.starts_with('+') {
        return None;
    } else if digits.len() == 11 && digits.starts_with("84") && !digits.starts_with("840") {
        format!("0{}", &digits[2..])
    } else {
        digits
    };
    let b = national.as_bytes();
    let mobile = b.len() == 10 && b[0] == b'0' && matches!(b[1], b'3' | b'5' | b'7' | b'8' | b'9');
    let landline = b.len() == 11 && b[0] == b'0' && b[1] == b'2';
    (mobile || landline).then(|| format!("+84{}", &national[1..]))
}

/// An address of the form `local@domain.tld` without spaces, at most 254 characters.
pub fn is_email(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else {
        return false;
    };
    text.len() <= 254
        && !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !text.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// Reads a date as typed on screen, `dd/mm/yyyy` (one-digit day and month allowed), into its
/// ISO form for the wire.
///
/// # Errors
/// [`Problem::InvalidDate`] when it is not that form or the date does not exist.
pub fn parse_screen_date(text: &str) -> Result<String, Problem> {
    let parts: Vec<&str> = text.trim().split('/').collect();
    let [d, m, y] = parts.as_slice() else {
        return Err(Problem::InvalidDate);
    };
    let num = |s: &str, max_len: usize| -> Option<u32> {
        (!s.is_empty() && s.len() <= max_len && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())?
    };
    let (Some(d), Some(m), Some(y)) = (num(d, 2), num(m, 2), num(y, 4)) else {
        return Err(Problem::InvalidDate);
    };
    if y < 1000 {
        return Err(Problem::InvalidDate);
    }
    Date::new(y as i32, m as u8, d as u8)
        .map(|date| date.to_string())
        .ok_or(Problem::InvalidDate)
}

/// An ISO date as the screen shows it, `dd/mm/yyyy`; other text unchanged.
pub fn screen_date(iso: &str) -> String {
    match Date::parse_iso(iso) {
        Some(d) => format!("{:02}/{:02}/{:04}", d.day, d.month, d.year),
        None => iso.to_owned(),
    }
}

/// The forms of a pack by procedure id.
pub type Forms = BTreeMap<String, Form>;

#[cfg(test)]
mod tests;
