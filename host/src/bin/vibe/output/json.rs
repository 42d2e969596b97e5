//! `--json` output: one JSON value, a JSON array streamed a row at a time,
//! or one value a line (`--follow --json`, `vibe verify --json`).
//!
//! On a terminal, characters that could steer it are \u-escaped inside
//! strings (the same JSON); piped, the text is exactly as stored.

use std::io::IsTerminal;

use serde::Serialize;
use vibe_store::terminal::json_for_terminal;
use vibe_store::Json;

use super::out_json as out;
use crate::{CliResult, Failure};

/// A row as `--json` prints it: its columns, and `invalid_json` naming the
/// JSON columns whose stored text is not strict JSON (another program wrote
/// `NaN`, say); those columns print as strings of their raw text.
#[derive(Serialize)]
pub struct Listed<'a, T: Serialize> {
    #[serde(flatten)]
    row: &'a T,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    invalid_json: Vec<&'static str>,
}

impl<'a, T: Serialize + JsonColumns> Listed<'a, T> {
    pub fn new(row: &'a T) -> Self {
        let invalid_json = row
            .json_columns()
            .into_iter()
            .filter(|(_, value)| value.is_some_and(|v| !v.is_valid()))
            .map(|(name, _)| name)
            .collect();
        Listed { row, invalid_json }
    }
}

/// The JSON columns of a row, by name.
pub trait JsonColumns {
    fn json_columns(&self) -> Vec<(&'static str, Option<&Json>)>;
}

impl JsonColumns for vibe_store::ToolCall {
    fn json_columns(&self) -> Vec<(&'static str, Option<&Json>)> {
        vec![
            ("args", Some(&self.args)),
            ("result", self.result.as_ref()),
            ("caller", self.caller.as_ref()),
        ]
    }
}

impl JsonColumns for vibe_store::Decision {
    fn json_columns(&self) -> Vec<(&'static str, Option<&Json>)> {
        vec![("context", self.context.as_ref())]
    }
}

impl JsonColumns for vibe_store::store::ToolStats {
    fn json_columns(&self) -> Vec<(&'static str, Option<&Json>)> {
        Vec::new()
    }
}

impl JsonColumns for vibe_store::store::MemoryEntry {
    fn json_columns(&self) -> Vec<(&'static str, Option<&Json>)> {
        vec![("value", self.value.as_ref())]
    }
}

impl JsonColumns for vibe_store::store::PlaybookRun {
    fn json_columns(&self) -> Vec<(&'static str, Option<&Json>)> {
        vec![("metrics", self.metrics.as_ref())]
    }
}

impl JsonColumns for vibe_store::Mission {
    fn json_columns(&self) -> Vec<(&'static str, Option<&Json>)> {
        vec![("metadata", self.metadata.as_ref())]
    }
}

/// One JSON value on one line (for streams such as `--follow --json`).
/// Stored JSON is written as its text, and the only line breaks valid JSON
/// text can hold are whitespace between tokens (inside strings they are
/// escapes), so each becomes a space: the same JSON, on one line.
pub fn print_json_line(value: &impl Serialize) -> CliResult {
    let text = serde_json::to_string(value).expect("store rows serialise to JSON");
    let text = if text.contains(['\n', '\r']) {
        text.replace(['\n', '\r'], " ")
    } else {
        text
    };
    if std::io::stdout().is_terminal() {
        out(format_args!("{}\n", json_for_terminal(&text)))
    } else {
        out(format_args!("{text}\n"))
    }
}

pub fn print_json(value: &impl Serialize) -> CliResult {
    print_json_text(&serde_json::to_string_pretty(value).expect("store rows serialise to JSON"))
}

/// JSON for stdout: exactly as given when piped; on a terminal, characters
/// that could steer it are \u-escaped inside strings (the same JSON).
pub fn print_json_text(json: &str) -> CliResult {
    if std::io::stdout().is_terminal() {
        out(format_args!("{}\n", json_for_terminal(json)))
    } else {
        out(format_args!("{json}\n"))
    }
}

/// A JSON array printed one element at a time, so a listing of any size
/// holds one row in memory.
pub struct JsonList {
    first: bool,
}

impl JsonList {
    pub fn new() -> Result<Self, Failure> {
        out(format_args!("["))?;
        Ok(JsonList { first: true })
    }

    pub fn push(&mut self, item: &(impl Serialize + JsonColumns)) -> CliResult {
        let text =
            serde_json::to_string_pretty(&Listed::new(item)).expect("store rows serialise to JSON");
        let indented = text.replace('\n', "\n  ");
        let separator = if self.first { "\n  " } else { ",\n  " };
        self.first = false;
        if std::io::stdout().is_terminal() {
            out(format_args!("{separator}{}", json_for_terminal(&indented)))
        } else {
            out(format_args!("{separator}{indented}"))
        }
    }

    pub fn finish(self) -> CliResult {
        out(format_args!("{}]\n", if self.first { "" } else { "\n" }))
    }
}
