//! Reading a request's JSON body strictly: a JSON object, with exactly the fields its
//! type names, or a reason a person can act on.
//!
//! serde's derived `Deserialize` for a struct accepts a JSON *array* of its fields in
//! order, so `["v", 3]` would pass for `{"value": "v", "if_version": 3}`. The API
//! promises objects only, so [`object`] refuses any other shape before serde sees the
//! body (duplicate and unknown fields are then refused by serde and
//! `#[serde(deny_unknown_fields)]`).

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, StatusCode, header};
use serde::de::DeserializeOwned;

/// A route's body type, as an error message describes it to a person: what a refused
/// body should have been, e.g. `{"value": string, "if_version"?: number}`.
pub trait Shape {
    /// The expected body, written as JSON with types for values.
    const SHAPE: &'static str;
}

/// Bodies that are valid JSON but not an object, for tests of every route that takes a
/// body. The first three are what serde's derived `Deserialize` would take for
/// `{"value": "v", "if_version": 1}` if nothing refused them.
pub const NOT_OBJECTS: [&str; 8] = [
    r#"["v"]"#,
    r#"["v", 1]"#,
    r#"["v", null]"#,
    r#""v""#,
    "5",
    "null",
    "true",
    "[]",
];

/// Why a body was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyError {
    /// No `Content-Type: application/json`.
    NotJson,
    /// Larger than the route's limit.
    TooLarge,
    /// Not valid JSON (the parser's words).
    Syntax(String),
    /// Valid JSON, but not an object: what it is instead.
    NotAnObject(&'static str),
    /// An object, but not with the route's fields and types (serde's words).
    Data(String),
    /// The body could not be read at all.
    Unreadable(String),
}

impl std::fmt::Display for BodyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BodyError::NotJson => f.write_str(
                "send the body as JSON with the header `Content-Type: application/json`",
            ),
            BodyError::TooLarge => f.write_str("the body is larger than this route's limit"),
            BodyError::Syntax(e) => write!(f, "the body is not valid JSON: {e}"),
            BodyError::NotAnObject(what) => write!(
                f,
                "the body must be a JSON object with this route's fields, not {what}"
            ),
            BodyError::Data(e) => {
                write!(f, "the body is JSON but not what this route expects: {e}")
            }
            BodyError::Unreadable(e) => write!(f, "the body could not be read: {e}"),
        }
    }
}

/// Reads `request`'s body as a JSON object of type `T` (the route's body limit applies).
pub async fn object<T: DeserializeOwned, S: Send + Sync>(
    request: Request,
    state: &S,
) -> Result<T, BodyError> {
    if !is_json(request.headers()) {
        return Err(BodyError::NotJson);
    }
    let bytes = Bytes::from_request(request, state)
        .await
        .map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                BodyError::TooLarge
            } else {
                BodyError::Unreadable(rejection.body_text())
            }
        })?;
    from_bytes(&bytes)
}

/// [`object`] on bytes already read.
pub fn from_bytes<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, BodyError> {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    let shape = match first {
        Some(b'{') => None,
        Some(b'[') => Some("an array"),
        Some(b'"') => Some("a string"),
        Some(b't' | b'f') => Some("a boolean"),
        Some(b'n') => Some("null"),
        Some(b'-' | b'0'..=b'9') => Some("a number"),
        Some(_) => None, // not JSON at all: let the parser say where
        None => Some("an empty body"),
    };
    if let Some(what) = shape {
        // Reported as the wrong shape only if it is valid JSON; else where it breaks.
        return Err(
            match serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
                Ok(_) => BodyError::NotAnObject(what),
                Err(_) if first.is_none() => BodyError::NotAnObject(what),
                Err(e) => BodyError::Syntax(e.to_string()),
            },
        );
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = T::deserialize(&mut deserializer).map_err(classify)?;
    deserializer.end().map_err(classify)?;
    Ok(value)
}

fn classify(e: serde_json::Error) -> BodyError {
    match e.classify() {
        serde_json::error::Category::Data => BodyError::Data(e.to_string()),
        _ => BodyError::Syntax(e.to_string()),
    }
}

/// `application/json`, or `application/<something>+json`, with any parameters.
fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Put {
        value: String,
        #[serde(default)]
        if_version: Option<u64>,
    }

    #[test]
    fn only_an_object_with_the_fields_is_taken() {
        assert_eq!(
            from_bytes::<Put>(br#" {"value": "v"} "#),
            Ok(Put {
                value: "v".into(),
                if_version: None
            })
        );
        // What serde accepts for a struct by default, and every other shape.
        for (body, what) in [
            (&br#"["v"]"#[..], "an array"),
            (br#"["v", 3]"#, "an array"),
            (br#""v""#, "a string"),
            (b"3", "a number"),
            (b"true", "a boolean"),
            (b"null", "null"),
            (b"  ", "an empty body"),
        ] {
            assert_eq!(
                from_bytes::<Put>(body),
                Err(BodyError::NotAnObject(what)),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        assert!(matches!(
            from_bytes::<Put>(br#"{"value": "a", "value": "b"}"#),
            Err(BodyError::Data(_))
        ));
        assert!(matches!(
            from_bytes::<Put>(br#"{"value": "v"} {}"#),
            Err(BodyError::Syntax(_))
        ));
        assert!(matches!(
            from_bytes::<Put>(br#"[1, "#),
            Err(BodyError::Syntax(_))
        ));
    }
}
