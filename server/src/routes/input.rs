//! Reading request bodies and path parts so that every error names what is wrong.

use axum::body::{Body, Bytes};
use axum::http::HeaderMap;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use uuid::Uuid;

use crate::error::ApiError;

/// Reads a body of at most `limit` bytes.
pub async fn body_bytes(body: Body, limit: usize) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        let length_limit = std::error::Error::source(&e)
            .is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
        if length_limit {
            ApiError::too_large("body", format!("larger than {limit} bytes"))
        } else {
            ApiError::invalid("body", format!("could not be read: {e}"))
        }
    })
}

/// Parses JSON so that an error names the JSON path at fault (`photos[0].sha256`). A
/// leading UTF-8 byte-order mark, which some platforms' HTTP clients write, is ignored (RFC
/// 8259, 8.1, allows it).
pub fn parse_json<T: DeserializeOwned + Serialize>(bytes: &[u8]) -> Result<T, ApiError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        // Where the parser gave up at a place it cannot name (`?`: inside a value it had not
        // matched to a field yet), the body as a whole is at fault.
        if (e.inner().is_syntax() || e.inner().is_eof()) && path.contains('?') {
            return ApiError::invalid("body", format!("not valid JSON: {}", e.inner()));
        }
        let message = e.inner().to_string();
        // serde reports a missing or repeated field at its parent: name the field itself.
        let missing = message
            .strip_prefix("missing field `")
            .or_else(|| message.strip_prefix("duplicate field `"))
            .and_then(|rest| rest.split('`').next());
        let field = match (path.as_str(), missing) {
            (".", Some(name)) => name.to_owned(),
            (parent, Some(name)) => format!("{parent}.{name}"),
            (".", None) => "body".to_owned(),
            (path, None) => path.to_owned(),
        };
        ApiError::invalid(field, message)
    })?;
    de.end()
        .map_err(|e| ApiError::invalid("body", format!("trailing data: {e}")))?;
    // serde also builds a struct from an array of its fields in order; JSON clients mean an
    // object, and the OpenAPI document says so. Refuse arrays where objects belong.
    let input: Value =
        serde_json::from_slice(bytes).map_err(|e| ApiError::invalid("body", e.to_string()))?;
    let parsed =
        serde_json::to_value(&value).map_err(|e| ApiError::invalid("body", e.to_string()))?;
    same_shape(&input, &parsed, "")?;
    Ok(value)
}

/// Checks that `input` has an object wherever `parsed` (what it was read as) has one.
fn same_shape(input: &Value, parsed: &Value, path: &str) -> Result<(), ApiError> {
    let name = |p: &str| {
        if p.is_empty() {
            "body".to_owned()
        } else {
            p.to_owned()
        }
    };
    match (parsed, input) {
        (Value::Object(parsed), Value::Object(input)) => {
            for (key, value) in parsed {
                if let Some(given) = input.get(key) {
                    let child = if path.is_empty() {
                        key.clone()
                    } else {
                        format!("{path}.{key}")
                    };
                    same_shape(given, value, &child)?;
                }
            }
            Ok(())
        }
        (Value::Object(_), _) => Err(ApiError::invalid(name(path), "expected an object")),
        (Value::Array(parsed), Value::Array(input)) => {
            for (i, (p, given)) in parsed.iter().zip(input).enumerate() {
                same_shape(given, p, &format!("{path}[{i}]"))?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Reads a JSON body of at most `limit` bytes.
pub async fn json_body<T: DeserializeOwned + Serialize>(
    body: Body,
    limit: usize,
) -> Result<T, ApiError> {
    parse_json(&body_bytes(body, limit).await?)
}

/// A path parameter as text. A parameter that is not UTF-8 once percent-decoded (`%FF`) is
/// refused naming it, in the JSON error every answer of this API has (axum's own rejection
/// is plain text).
pub struct PathText(pub String);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for PathText {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, ApiError> {
        axum::extract::Path::<String>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(text)| PathText(text))
            .map_err(|e| ApiError::invalid("path", e.body_text()))
    }
}

/// Two path parameters as text, refused in the API's JSON error as [`PathText`] is.
pub struct PathPair(pub String, pub String);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for PathPair {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, ApiError> {
        axum::extract::Path::<(String, String)>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path((a, b))| PathPair(a, b))
            .map_err(|e| ApiError::invalid("path", e.body_text()))
    }
}

pub fn uuid_in_path(field: &str, raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|e| ApiError::invalid(field, format!("not a UUID: {e}")))
}

/// The token of an `Authorization: Bearer …` header. The scheme is matched without regard
/// to case and may be followed by any number of spaces (RFC 9110, 11.1 and 11.4; RFC 6750,
/// 2.1), so `bearer`, `BEARER` and `Bearer  <token>` all work.
pub fn bearer(headers: &HeaderMap) -> Result<&str, ApiError> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)
        .ok_or_else(|| ApiError::unauthorized("Authorization", "missing: send `Bearer <token>`"))?;
    value
        .to_str()
        .ok()
        .map(str::trim)
        .and_then(|v| v.split_once([' ', '\t']))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::unauthorized("Authorization", "expected `Bearer <token>`"))
}

/// Parses a query string so that an error names the parameter at fault.
pub fn parse_query<T: DeserializeOwned>(raw: Option<&str>) -> Result<T, ApiError> {
    let de =
        serde_urlencoded::Deserializer::new(form_urlencoded::parse(raw.unwrap_or("").as_bytes()));
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." {
            "query".to_owned()
        } else {
            path
        };
        ApiError::invalid(field, e.inner().to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn the_bearer_scheme_is_matched_in_any_case() {
        for (header, token) in [
            ("Bearer abc", Some("abc")),
            ("bearer abc", Some("abc")),
            ("BEARER abc", Some("abc")),
            ("Bearer   abc ", Some("abc")),
            ("Bearer\tabc", Some("abc")),
            ("Basic abc", None),
            ("Bearer", None),
            ("Bearer ", None),
            ("Bearerabc", None),
        ] {
            let mut headers = HeaderMap::new();
            headers.insert(
                axum::http::header::AUTHORIZATION,
                HeaderValue::from_str(header).expect("a header value"),
            );
            assert_eq!(bearer(&headers).ok(), token, "{header:?}");
        }
    }
}
