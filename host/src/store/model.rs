//! The store's plain-Rust vocabulary: phases, statuses, the rows it returns,
//! and the validation every input passes before any SQL runs.
//!
//! Validation lives here, once, so the CLI, the sandbox and embedding programs
//! reject bad input with the same words. Nothing in this module touches SQLite.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::error::{Result, StoreError};

/// Largest JSON field accepted, in bytes of its serialised text (1 MiB).
pub const MAX_JSON_BYTES: usize = 1024 * 1024;
/// Deepest nesting of arrays and objects accepted in a JSON field.
pub const MAX_JSON_DEPTH: usize = 64;
/// Largest name accepted (tool names, decision types, agent names, memory
/// keys, playbook names), in bytes.
pub const MAX_NAME_BYTES: usize = 256;
/// Largest free text accepted (rationales, error messages), in bytes (64 KiB).
pub const MAX_TEXT_BYTES: usize = 64 * 1024;
/// Largest page a history query returns.
pub const MAX_PAGE_ROWS: u32 = 1000;

/// The phase of a mission, as the ARCH-001 layout spells it (upper case).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Phase {
    Planning,
    Coding,
    Testing,
    Deployment,
    Maintenance,
}

impl Phase {
    pub const ALL: [Phase; 5] = [
        Phase::Planning,
        Phase::Coding,
        Phase::Testing,
        Phase::Deployment,
        Phase::Maintenance,
    ];

    /// The text stored in the `phase` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Planning => "PLANNING",
            Phase::Coding => "CODING",
            Phase::Testing => "TESTING",
            Phase::Deployment => "DEPLOYMENT",
            Phase::Maintenance => "MAINTENANCE",
        }
    }
}

impl FromStr for Phase {
    type Err = StoreError;

    /// Accepts any letter case.
    fn from_str(text: &str) -> Result<Self> {
        Phase::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(text))
            .ok_or_else(|| {
                StoreError::invalid(format!(
                    "unknown phase {text:?}; valid phases: {}",
                    Phase::ALL.map(Phase::as_str).join(", ")
                ))
            })
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a mission stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MissionStatus {
    Pending,
    InProgress,
    Completed,
    Failed,
}

impl MissionStatus {
    pub const ALL: [MissionStatus; 4] = [
        MissionStatus::Pending,
        MissionStatus::InProgress,
        MissionStatus::Completed,
        MissionStatus::Failed,
    ];

    /// The text stored in the `status` column.
    pub fn as_str(self) -> &'static str {
        match self {
            MissionStatus::Pending => "pending",
            MissionStatus::InProgress => "in_progress",
            MissionStatus::Completed => "completed",
            MissionStatus::Failed => "failed",
        }
    }

    /// Whether the mission has ended (and so has a `completed_at`).
    pub fn is_terminal(self) -> bool {
        matches!(self, MissionStatus::Completed | MissionStatus::Failed)
    }
}

impl FromStr for MissionStatus {
    type Err = StoreError;

    /// Accepts any letter case, and `in-progress` for `in_progress`.
    fn from_str(text: &str) -> Result<Self> {
        let normalised = text.replace('-', "_");
        MissionStatus::ALL
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(&normalised))
            .ok_or_else(|| {
                StoreError::invalid(format!(
                    "unknown status {text:?}; valid statuses: {}",
                    MissionStatus::ALL.map(MissionStatus::as_str).join(", ")
                ))
            })
    }
}

impl fmt::Display for MissionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A mission as stored. Field names are the schema's column names.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Mission {
    pub id: i64,
    pub mission_uuid: String,
    pub phase: Phase,
    pub status: MissionStatus,
    pub created_at: String,
    pub completed_at: Option<String>,
    /// `null` where another program left the column NULL.
    pub metadata: Value,
}

/// A tool call to be logged.
#[derive(Debug, Clone, PartialEq)]
pub struct NewToolCall {
    pub tool_name: String,
    pub args: Value,
    pub result: Option<Value>,
    pub success: bool,
    pub duration_ms: Option<i64>,
    pub error_message: Option<String>,
}

impl NewToolCall {
    /// A successful call with no result or duration yet; fill in the rest
    /// with struct update syntax.
    pub fn success(tool_name: impl Into<String>, args: Value) -> Self {
        NewToolCall {
            tool_name: tool_name.into(),
            args,
            result: None,
            success: true,
            duration_ms: None,
            error_message: None,
        }
    }

    /// Checks the call against the store's rules without writing anything.
    pub fn validate(&self) -> Result<()> {
        self.to_json_texts().map(drop)
    }

    /// Checks the call and returns its `args` and `result` as the JSON text
    /// stored in the database (serialised once, for both purposes).
    pub(crate) fn to_json_texts(&self) -> Result<(String, Option<String>)> {
        check_name("tool name", &self.tool_name)?;
        if let Some(ms) = self.duration_ms {
            if ms < 0 {
                return Err(StoreError::invalid(format!(
                    "duration_ms must not be negative (got {ms})"
                )));
            }
        }
        if let Some(message) = &self.error_message {
            check_text("error message", message)?;
        }
        let args = json_text("args", &self.args)?;
        let result = self
            .result
            .as_ref()
            .map(|r| json_text("result", r))
            .transpose()?;
        Ok((args, result))
    }
}

/// A logged tool call. Field names are the schema's column names, plus the
/// mission's uuid.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ToolCall {
    pub id: i64,
    pub mission_id: i64,
    pub mission_uuid: String,
    pub tool_name: String,
    pub args: Value,
    pub result: Option<Value>,
    pub timestamp: String,
    pub duration_ms: Option<i64>,
    pub success: bool,
    pub error_message: Option<String>,
}

/// A recorded decision. Field names are the schema's column names, plus the
/// mission's uuid.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decision {
    pub id: i64,
    pub mission_id: i64,
    pub mission_uuid: String,
    pub decision_type: String,
    pub rationale: Option<String>,
    pub timestamp: String,
    pub agent_name: Option<String>,
    pub context: Option<Value>,
}

/// A playbook run. Field names are the schema's column names.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlaybookRun {
    pub id: i64,
    pub mission_id: i64,
    pub playbook_name: String,
    pub phase: Option<String>,
    pub started_at: String,
    pub completed_at: Option<String>,
    pub success: Option<bool>,
    pub metrics: Option<Value>,
    pub error_message: Option<String>,
}

/// One page of a history query: rows with an id greater than `after_id`,
/// oldest first, at most `limit` of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub after_id: Option<i64>,
    pub limit: u32,
}

impl Page {
    /// The first page of at most `limit` rows.
    pub fn first(limit: u32) -> Self {
        Page {
            after_id: None,
            limit,
        }
    }

    /// Everything: for whole-history reads, which are not paged.
    pub(crate) fn all() -> Self {
        Page {
            after_id: None,
            limit: u32::MAX,
        }
    }

    pub(crate) fn validate(&self) -> Result<()> {
        if self.limit > MAX_PAGE_ROWS {
            return Err(StoreError::LimitExceeded(format!(
                "page limit {} is above the maximum of {MAX_PAGE_ROWS} rows",
                self.limit
            )));
        }
        Ok(())
    }
}

/// Parses JSON text from outside (CLI arguments, guest strings), enforcing the
/// size and depth limits. The error names the field.
pub fn parse_json(field: &str, text: &str) -> Result<Value> {
    if text.len() > MAX_JSON_BYTES {
        return Err(too_large(field, text.len()));
    }
    let value: Value = serde_json::from_str(text)
        .map_err(|e| StoreError::invalid(format!("{field} is not valid JSON: {e}")))?;
    check_depth(field, &value)?;
    Ok(value)
}

/// Checks a JSON value against the size and depth limits and returns its
/// serialised text, the form stored in the database.
pub(crate) fn json_text(field: &str, value: &Value) -> Result<String> {
    check_depth(field, value)?;
    let text = serde_json::to_string(value)
        .map_err(|e| StoreError::invalid(format!("{field} cannot be serialised: {e}")))?;
    if text.len() > MAX_JSON_BYTES {
        return Err(too_large(field, text.len()));
    }
    Ok(text)
}

fn too_large(field: &str, len: usize) -> StoreError {
    StoreError::LimitExceeded(format!(
        "{field} is {len} bytes; the limit is {MAX_JSON_BYTES} bytes"
    ))
}

fn check_depth(field: &str, value: &Value) -> Result<()> {
    // Iterative, so a hostile value cannot overflow the host's stack here.
    let mut stack = vec![(value, 1usize)];
    while let Some((v, depth)) = stack.pop() {
        let children: Box<dyn Iterator<Item = &Value>> = match v {
            Value::Array(items) => Box::new(items.iter()),
            Value::Object(map) => Box::new(map.values()),
            _ => continue,
        };
        if depth > MAX_JSON_DEPTH {
            return Err(StoreError::invalid(format!(
                "{field} nests deeper than {MAX_JSON_DEPTH} levels"
            )));
        }
        stack.extend(children.map(|c| (c, depth + 1)));
    }
    Ok(())
}

/// Names: non-empty, at most [`MAX_NAME_BYTES`], no control characters.
pub(crate) fn check_name(field: &str, name: &str) -> Result<()> {
    if name.trim().is_empty() {
        return Err(StoreError::invalid(format!("{field} must not be empty")));
    }
    if name.len() > MAX_NAME_BYTES {
        return Err(StoreError::LimitExceeded(format!(
            "{field} is {} bytes; the limit is {MAX_NAME_BYTES} bytes",
            name.len()
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(StoreError::invalid(format!(
            "{field} must not contain control characters"
        )));
    }
    Ok(())
}

/// Free text: at most [`MAX_TEXT_BYTES`], no NUL (C clients of the same file
/// would silently cut the text there).
pub(crate) fn check_text(field: &str, text: &str) -> Result<()> {
    if text.len() > MAX_TEXT_BYTES {
        return Err(StoreError::LimitExceeded(format!(
            "{field} is {} bytes; the limit is {MAX_TEXT_BYTES} bytes",
            text.len()
        )));
    }
    if text.contains('\0') {
        return Err(StoreError::invalid(format!(
            "{field} must not contain NUL characters"
        )));
    }
    Ok(())
}

/// Mission ids: whatever text identifies a mission in the file (vibe-store
/// writes UUID v4; other programs may write other text), bounded.
pub(crate) fn check_mission_id(id: &str) -> Result<()> {
    if id.is_empty() || id.len() > MAX_NAME_BYTES || id.contains('\0') {
        return Err(StoreError::invalid(format!(
            "{id:?} is not a mission id (expected a UUID)"
        )));
    }
    Ok(())
}

/// The current time as the store writes it: RFC 3339 UTC with microseconds,
/// fixed width, so text order is time order.
pub fn now_timestamp() -> String {
    format_timestamp(chrono::Utc::now())
}

pub(crate) fn format_timestamp(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}
