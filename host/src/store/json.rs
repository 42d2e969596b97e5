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
