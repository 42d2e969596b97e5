//! [`Json`]: JSON as text, validated once and never re-serialised.
//!
//! The store keeps JSON exactly as the caller gave it: key order, spacing,
//! and numbers as written (`1e1` stays `1e1`, `1e400` stays `1e400`). Limits
//! are checked on exactly the bytes that are stored, and stored JSON leaves
//! the store as the same text, so reading a row never builds a tree of it
//! (a `serde_json::Value` costs tens of times the text's size in memory).
//!
//! Validation here checks syntax, size and depth without building a tree.

use std::fmt;

use serde::{Serialize, Serializer};
use serde_json::value::RawValue;
use serde_json::Value;

use super::error::{Result, StoreError};

/// Largest JSON field accepted, in bytes of its text (1 MiB).
pub const MAX_JSON_BYTES: usize = 1024 * 1024;
/// Deepest nesting of arrays and objects accepted in a JSON field.
pub const MAX_JSON_DEPTH: usize = 64;

/// JSON text. Values built with [`Json::parse`] are valid JSON within the
/// store's limits; values built from a [`serde_json::Value`] are valid JSON
/// whose limits the store checks when it writes them. Values read back from
/// a database are its text as stored: vibe-store's schema checks it with
/// SQLite's `json_valid`, but another program sharing the file may have
/// written text that is not strict JSON ([`Json::is_valid`]).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Json(Box<str>);

impl Json {
    /// Checks `text` (size, nesting depth, syntax) and keeps it as given.
    /// `field` names the value in the error.
    pub fn parse(field: &str, text: impl Into<String>) -> Result<Json> {
        Self::parse_within(field, text, MAX_JSON_BYTES)
    }

    /// [`Json::parse`] with a size limit tighter than the store's.
    pub fn parse_within(field: &str, text: impl Into<String>, max_bytes: usize) -> Result<Json> {
        let text = text.into();
        Self::check(field, &text, max_bytes)?;
        Ok(Json(text.into_boxed_str()))
    }

    /// What [`Json::parse_within`] checks, without taking the text.
    pub fn check(field: &str, text: &str, max_bytes: usize) -> Result<()> {
        let max_bytes = max_bytes.min(MAX_JSON_BYTES);
        if text.len() > max_bytes {
            return Err(too_large(field, text.len(), max_bytes));
        }
        check_depth(field, text)?;
        serde_json::from_str::<serde::de::IgnoredAny>(text)
            .map_err(|e| StoreError::invalid(format!("{field} is not valid JSON: {e}")))?;
        Ok(())
    }

    /// Text read from a database (or checked with [`Json::check`]), kept as
    /// it is without checking it again.
    pub(crate) fn stored(text: impl Into<String>) -> Json {
        Json(text.into().into_boxed_str())
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The text's length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the text is empty (never true of valid JSON).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether the text is strict JSON (always, unless another program wrote
    /// it to the database).
    pub fn is_valid(&self) -> bool {
        serde_json::from_str::<serde::de::IgnoredAny>(&self.0).is_ok()
    }

    /// Parses the text into a tree. Costs memory in proportion to the text
    /// (tens of times its size): for inspecting small values.
    pub fn to_value(&self) -> Result<Value> {
        serde_json::from_str(&self.0)
            .map_err(|e| StoreError::invalid(format!("stored text is not valid JSON: {e}")))
    }

    /// The text, owned.
    pub fn into_string(self) -> String {
        self.0.into_string()
    }

    /// Checks the store's limits (size and depth) on exactly these bytes:
    /// what every write does before any SQL runs.
    pub(crate) fn check_limits(&self, field: &str) -> Result<()> {
        if self.len() > MAX_JSON_BYTES {
            return Err(too_large(field, self.len(), MAX_JSON_BYTES));
        }
        check_depth(field, &self.0)
    }
}

impl fmt::Display for Json {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Json {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Json({})", &self.0)
    }
}

/// Compact text of `value`; the store checks its limits when writing it.
impl From<Value> for Json {
    fn from(value: Value) -> Self {
        Json::from(&value)
    }
}

/// Compact text of `value`; the store checks its limits when writing it.
impl From<&Value> for Json {
    fn from(value: &Value) -> Self {
        // Serialising a `Value` into a `String` cannot fail: its map keys are
        // strings and its numbers are already JSON numbers.
        Json::stored(value.to_string())
    }
}

impl From<&Json> for Json {
    fn from(json: &Json) -> Self {
        json.clone()
    }
}

/// Compares the parsed text with `other`: for tests and small values.
impl PartialEq<Value> for Json {
    fn eq(&self, other: &Value) -> bool {
        self.to_value().is_ok_and(|v| &v == other)
    }
}

/// Serialises as the JSON it holds (verbatim with `serde_json`), or, for
/// stored text that is not valid JSON, as a string of that text.
impl Serialize for Json {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        match serde_json::from_str::<&RawValue>(&self.0) {
            Ok(raw) => raw.serialize(serializer),
            Err(_) => serializer.serialize_str(&self.0),
        }
    }
}

fn too_large(field: &str, len: usize, max: usize) -> StoreError {
    StoreError::LimitExceeded(format!(
        "{field} is {len} bytes, {} over the limit of {max} bytes",
        len - max
    ))
}

/// Refuses nesting deeper than [`MAX_JSON_DEPTH`] with one pass over the
/// bytes, before the parser (whose own recursion limit is higher) runs.
fn check_depth(field: &str, text: &str) -> Result<()> {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for byte in text.bytes() {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_JSON_DEPTH {
                    return Err(StoreError::invalid(format!(
                        "{field} nests deeper than {MAX_JSON_DEPTH} levels"
                    )));
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn text_is_kept_exactly_and_checked_once() {
        let text = r#"{ "b": 1e1, "a": [1E+2, 0.10], "n": 1e400 }"#;
        let parsed = Json::parse("args", text).unwrap();
        assert_eq!(parsed.as_str(), text);
        assert_eq!(parsed.to_string(), text);
        assert_eq!(format!("{parsed:?}"), format!("Json({text})"));
        assert_eq!(parsed.len(), text.len());
        assert!(!parsed.is_empty() && parsed.is_valid());
        assert_eq!(parsed.clone().into_string(), text);
        assert!(Json::parse("args", "[1, 2").is_err());
        assert!(Json::parse("args", "").is_err());
        assert!(Json::parse_within("args", "[1,2,3]", 3).is_err());
    }

    #[test]
    fn depth_and_size_are_checked_on_the_bytes() {
        let deep = format!(
            "{}1{}",
            "[".repeat(MAX_JSON_DEPTH),
            "]".repeat(MAX_JSON_DEPTH)
        );
        assert!(Json::parse("x", deep.as_str()).is_ok());
        let deeper = format!("[{deep}]");
        let err = Json::parse("x", deeper.as_str()).unwrap_err();
        assert!(err.to_string().contains("nests deeper"), "{err}");
        // Brackets inside strings do not count.
        let quoted = format!("\"{}\\\"{}\"", "[".repeat(100), "{".repeat(100));
        assert!(Json::parse("x", quoted.as_str()).is_ok());
        let big = Json::from(json!("x".repeat(MAX_JSON_BYTES)));
        let err = big.check_limits("args").unwrap_err();
        assert!(
            err.to_string().contains("1048578 bytes, 2 over the limit"),
            "{err}"
        );
    }

    #[test]
    fn values_convert_and_compare_and_bad_stored_text_serialises_as_a_string() {
        let from_value = Json::from(json!({ "k": [1, "two"] }));
        assert_eq!(from_value.as_str(), r#"{"k":[1,"two"]}"#);
        assert_eq!(from_value, json!({ "k": [1, "two"] }));
        assert_eq!(Json::from(&from_value), from_value);
        let stored = Json::stored("NaN");
        assert!(!stored.is_valid());
        assert!(stored.to_value().is_err());
        assert_ne!(stored, json!(null));
        assert_eq!(serde_json::to_string(&stored).unwrap(), r#""NaN""#);
        assert_eq!(
            serde_json::to_string(&from_value).unwrap(),
            from_value.as_str()
        );
    }
}
