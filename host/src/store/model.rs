//! The store's plain-Rust vocabulary: phases, statuses, the rows it returns,
//! and the validation every input passes before any SQL runs.
//!
//! Validation lives here, once, so the CLI, the sandbox and embedding programs
//! reject bad input with the same words. Nothing in this module touches SQLite.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use chrono::{DateTime, Utc};

use super::error::{Result, StoreError};
use super::ids::{format_timestamp, parse_timestamp, DecisionId, MissionId, ToolCallId};
use super::json::{Json, MAX_JSON_BYTES};
use super::time::Timestamp;

/// Largest name accepted (tool names, decision types, agent names, memory
/// keys, playbook names), in bytes.
pub const MAX_NAME_BYTES: usize = 256;
/// Largest free text accepted (rationales, error messages), in bytes (64 KiB).
pub const MAX_TEXT_BYTES: usize = 64 * 1024;
/// Largest page a history query returns.
pub const MAX_PAGE_ROWS: u32 = 1000;
/// Longest duration a row may record, in milliseconds: 365 days. A larger
/// value is a unit error (nanoseconds or a Unix time passed as a duration),
/// and every duration in range turns into nanoseconds, and is added to any
/// stored time, without overflowing 64 bits.
pub const MAX_DURATION_MS: i64 = 365 * 24 * 60 * 60 * 1000;
/// Longest memory TTL, in seconds (`u32::MAX`, about 136 years): what
/// [`MissionStore::set_memory`](super::MissionStore::set_memory) takes.
pub const MAX_TTL_SECONDS: i64 = u32::MAX as i64;
/// Largest position in a mission's hash chain (`2^53 - 1`): entries and rows
/// are numbered from 1, and a position stays exact as a JSON number in every
/// reader, JavaScript's included.
pub const MAX_CHAIN_SEQ: i64 = (1 << 53) - 1;

/// The phase of a mission, as the ARCH-001 layout spells it (upper case).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Phase {
    /// Deciding what to do.
    Planning,
    /// Writing code.
    Coding,
    /// Testing it.
    Testing,
    /// Shipping it.
    Deployment,
    /// Keeping it running.
    Maintenance,
}

impl Phase {
    /// Every phase, in the order a mission moves through them.
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
    /// Created, not started.
    Pending,
    /// Being worked on.
    InProgress,
    /// Done.
    Completed,
    /// Given up or failed.
    Failed,
}

impl MissionStatus {
    /// Every status.
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
    /// The row id (internal to this database; `mission_uuid` is the id).
    pub id: i64,
    /// The mission's id.
    pub mission_uuid: MissionId,
    /// Its phase.
    pub phase: Phase,
    /// Where it stands.
    pub status: MissionStatus,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it moved to `completed` or `failed`.
    pub completed_at: Option<Timestamp>,
    /// `None` where another program left the column NULL.
    pub metadata: Option<Json>,
    /// The invocation row of the tool that created this mission, if a tool
    /// did (provenance, schema v2).
    pub invocation_id: Option<ToolCallId>,
}

/// A tool call to be logged.
#[derive(Debug, Clone, PartialEq)]
pub struct NewToolCall {
    /// The tool called (non-empty, at most 256 bytes, no control characters).
    pub tool_name: String,
    /// Its arguments.
    pub args: Json,
    /// What it returned, if anything.
    pub result: Option<Json>,
    /// Whether it succeeded.
    pub success: bool,
    /// How long it took, in milliseconds: 0 to [`MAX_DURATION_MS`].
    pub duration_ms: Option<i64>,
    /// Why it failed (at most 64 KiB, no NUL).
    pub error_message: Option<String>,
}

impl NewToolCall {
    /// A successful call with no result or duration yet; fill in the rest
    /// with struct update syntax.
    pub fn success(tool_name: impl Into<String>, args: impl Into<Json>) -> Self {
        NewToolCall {
            tool_name: tool_name.into(),
            args: args.into(),
            result: None,
            success: true,
            duration_ms: None,
            error_message: None,
        }
    }

    /// Checks the call against the store's rules without writing anything.
    pub fn validate(&self) -> Result<()> {
        check_name("tool name", &self.tool_name)?;
        check_duration(self.duration_ms)?;
        if let Some(message) = &self.error_message {
            check_text("error message", message)?;
        }
        self.args.check_limits("args")?;
        if let Some(result) = &self.result {
            result.check_limits("result")?;
        }
        Ok(())
    }
}

/// A decision to be recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct NewDecision {
    /// What kind of decision (non-empty, at most 256 bytes, no control
    /// characters), such as `plan` or `tool_choice`.
    pub decision_type: String,
    /// Why it was taken (at most 64 KiB, no NUL).
    pub rationale: String,
    /// Who took it (non-empty, at most 256 bytes, no control characters).
    pub agent_name: String,
    /// What it was taken in view of, if anything.
    pub context: Option<Json>,
}

impl NewDecision {
    /// A decision with no context; add one with struct update syntax.
    pub fn new(
        decision_type: impl Into<String>,
        rationale: impl Into<String>,
        agent_name: impl Into<String>,
    ) -> Self {
        NewDecision {
            decision_type: decision_type.into(),
            rationale: rationale.into(),
            agent_name: agent_name.into(),
            context: None,
        }
    }

    /// Checks the decision against the store's rules without writing
    /// anything.
    ///
    /// # Errors
    ///
    /// [`StoreError::InvalidInput`] for a name or text the rules refuse,
    /// [`StoreError::LimitExceeded`] for a context over the JSON limits.
    pub fn validate(&self) -> Result<()> {
        if let Some(context) = &self.context {
            context.check_limits("context")?;
        }
        check_name("decision type", &self.decision_type)?;
        check_text("rationale", &self.rationale)?;
        check_name("agent name", &self.agent_name)
    }
}

/// Durations: 0 to [`MAX_DURATION_MS`] milliseconds.
pub(crate) fn check_duration(duration_ms: Option<i64>) -> Result<()> {
    match duration_ms {
        Some(ms) if ms < 0 => Err(StoreError::invalid(format!(
            "duration_ms must not be negative (got {ms})"
        ))),
        Some(ms) if ms > MAX_DURATION_MS => Err(StoreError::invalid(format!(
            "duration_ms {ms} is above the limit of {MAX_DURATION_MS} ms (365 days); was it \
             given in another unit (nanoseconds, or a Unix time)?"
        ))),
        _ => Ok(()),
    }
}

/// A component's SHA-256: 64 lowercase hex digits.
pub(crate) fn check_sha256(field: &str, text: &str) -> Result<()> {
    if is_sha256_hex(text) {
        Ok(())
    } else {
        Err(StoreError::invalid(format!(
            "{field} must be 64 lowercase hex digits"
        )))
    }
}

/// Whether `text` is a SHA-256 as the store writes one: 64 lowercase hex
/// digits.
pub(crate) fn is_sha256_hex(text: &str) -> bool {
    text.len() == 64
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// A time as the store reads one ([`parse_timestamp`]): text that names no
/// instant is refused.
pub(crate) fn check_timestamp(field: &str, text: &str) -> Result<()> {
    match parse_timestamp(text) {
        Some(_) => Ok(()),
        None => Err(StoreError::invalid(format!(
            "{field} {text:?} is not a time (expected RFC 3339, such as \
             2026-11-30T09:35:01.828406Z)"
        ))),
    }
}

/// A position in a mission's hash chain: 1 to [`MAX_CHAIN_SEQ`].
pub(crate) fn check_chain_seq(field: &str, seq: i64) -> Result<()> {
    if (1..=MAX_CHAIN_SEQ).contains(&seq) {
        Ok(())
    } else {
        Err(StoreError::invalid(format!(
            "{field} {seq} is outside the chain's positions, 1 to {MAX_CHAIN_SEQ}"
        )))
    }
}

/// A memory TTL: 0 to [`MAX_TTL_SECONDS`] seconds.
pub(crate) fn check_ttl(ttl: i64) -> Result<()> {
    if (0..=MAX_TTL_SECONDS).contains(&ttl) {
        Ok(())
    } else {
        Err(StoreError::invalid(format!(
            "ttl {ttl} is outside 0 to {MAX_TTL_SECONDS} seconds"
        )))
    }
}

/// Who wrote a row: the host (or a program embedding the library), or a tool
/// from inside its sandbox during one invocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Origin {
    /// The host itself, the `vibe` command line, or an embedding program.
    #[default]
    Host,
    /// A tool, during the invocation whose row has this id.
    Invocation(ToolCallId),
}

impl Origin {
    /// The `invocation_id` column's value.
    pub(crate) fn invocation_id(self) -> Option<i64> {
        match self {
            Origin::Host => None,
            Origin::Invocation(id) => Some(id.get()),
        }
    }
}

/// How an invocation ended, as the `outcome` column of its row says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Outcome {
    /// Started and not (yet) ended: in progress, or the host stopped.
    Running,
    /// The tool returned JSON output.
    Ok,
    /// The tool returned an error.
    ToolError,
    /// The tool ran past its time limit.
    Timeout,
    /// The tool asked for more memory than its limit.
    MemoryLimit,
    /// The tool exhausted its call stack.
    StackOverflow,
    /// The tool trapped (panicked, hit `unreachable`, ...).
    Trap,
    /// The tool called WASI `exit` instead of returning.
    Exit,
    /// The tool's output was not JSON, or over a limit.
    InvalidOutput,
    /// The component could not be loaded; nothing ran.
    LoadError,
    /// The host failed while running the tool.
    HostError,
    /// The caller cancelled the invocation.
    Cancelled,
}

impl Outcome {
    /// Every outcome.
    pub const ALL: [Outcome; 12] = [
        Outcome::Running,
        Outcome::Ok,
        Outcome::ToolError,
        Outcome::Timeout,
        Outcome::MemoryLimit,
        Outcome::StackOverflow,
        Outcome::Trap,
        Outcome::Exit,
        Outcome::InvalidOutput,
        Outcome::LoadError,
        Outcome::HostError,
        Outcome::Cancelled,
    ];

    /// The text stored in the `outcome` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Running => "running",
            Outcome::Ok => "ok",
            Outcome::ToolError => "tool_error",
            Outcome::Timeout => "timeout",
            Outcome::MemoryLimit => "memory_limit",
            Outcome::StackOverflow => "stack_overflow",
            Outcome::Trap => "trap",
            Outcome::Exit => "exit",
            Outcome::InvalidOutput => "invalid_output",
            Outcome::LoadError => "load_error",
            Outcome::HostError => "host_error",
            Outcome::Cancelled => "cancelled",
        }
    }
}

impl FromStr for Outcome {
    type Err = StoreError;

    fn from_str(text: &str) -> Result<Self> {
        Outcome::ALL
            .into_iter()
            .find(|o| o.as_str() == text)
            .ok_or_else(|| StoreError::invalid(format!("unknown outcome {text:?}")))
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The component an invocation ran, as its row records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentInfo {
    /// SHA-256 of the component's bytes, 64 lowercase hex digits.
    pub sha256: String,
    /// The component's size in bytes.
    pub size: u64,
}

/// The start of an invocation: the row the host writes before a tool runs.
#[derive(Debug, Clone, PartialEq)]
pub struct InvocationStart {
    /// The name recorded for the tool.
    pub tool_name: String,
    /// The tool's input, recorded as the row's `args`.
    pub input: Json,
    /// The component, when it could be read.
    pub component: Option<ComponentInfo>,
    /// Who asked for it (JSON), recorded as the row's `caller`.
    pub caller: Option<Json>,
}

impl InvocationStart {
    pub(crate) fn validate(&self) -> Result<()> {
        check_name("tool name", &self.tool_name)?;
        self.input.check_limits("input")?;
        if let Some(caller) = &self.caller {
            caller.check_limits("caller")?;
        }
        if let Some(component) = &self.component {
            check_sha256("component sha256", &component.sha256)?;
            if i64::try_from(component.size).is_err() {
                return Err(StoreError::invalid(format!(
                    "component size {} is above {} bytes",
                    component.size,
                    i64::MAX
                )));
            }
        }
        Ok(())
    }
}

/// How an invocation ended: what the host writes into its row.
#[derive(Debug, Clone, PartialEq)]
pub struct InvocationEnd {
    /// How it ended (never `Running`).
    pub outcome: Outcome,
    /// The tool's output, when it returned JSON within its limits.
    pub result: Option<Json>,
    /// How long it ran, in milliseconds: 0 to [`MAX_DURATION_MS`].
    pub duration_ms: Option<i64>,
    /// Why it failed; `None` when it succeeded.
    pub error_message: Option<String>,
}

impl InvocationEnd {
    pub(crate) fn validate(&self) -> Result<()> {
        if self.outcome == Outcome::Running {
            return Err(StoreError::invalid("an invocation cannot end as running"));
        }
        check_duration(self.duration_ms)?;
        if let Some(message) = &self.error_message {
            check_text("error message", message)?;
        }
        if let Some(result) = &self.result {
            result.check_limits("result")?;
        }
        Ok(())
    }
}

/// A logged tool call. Field names are the schema's column names, plus the
/// mission's uuid and the invoking tool's name.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ToolCall {
    /// The row's id.
    pub id: ToolCallId,
    /// The mission's row id.
    pub mission_id: i64,
    /// The mission's id.
    pub mission_uuid: MissionId,
    /// The tool called.
    pub tool_name: String,
    /// Its arguments (for an invocation row: the tool's input).
    pub args: Json,
    /// What it returned (for an invocation row: the tool's output).
    pub result: Option<Json>,
    /// When the row was written (for an invocation row: when it started).
    pub timestamp: Timestamp,
    /// How long it took.
    pub duration_ms: Option<i64>,
    /// Whether it succeeded.
    pub success: bool,
    /// Why it failed.
    pub error_message: Option<String>,
    /// Set on rows a tool logged from inside its sandbox: the id of the
    /// invocation row it was running under.
    pub invocation_id: Option<ToolCallId>,
    /// The tool name of that invocation row (for `via planner#12`).
    pub invoked_by: Option<String>,
    /// Set on invocation rows: SHA-256 of the component that ran.
    pub component_sha256: Option<String>,
    /// Set on invocation rows: the component's size in bytes.
    pub component_size: Option<i64>,
    /// Set on invocation rows: how the invocation ended.
    pub outcome: Option<Outcome>,
    /// On an invocation row: who asked for it (JSON), e.g. an MCP client.
    pub caller: Option<Json>,
}

impl ToolCall {
    /// Bytes of text this row holds: what a page's byte budget counts.
    pub(crate) fn text_bytes(&self) -> usize {
        ROW_OVERHEAD_BYTES
            + self.mission_uuid.as_str().len()
            + self.tool_name.len()
            + self.args.len()
            + self.result.as_ref().map_or(0, Json::len)
            + TIMESTAMP_BYTES
            + self.error_message.as_ref().map_or(0, String::len)
            + self.invoked_by.as_ref().map_or(0, String::len)
            + self.component_sha256.as_ref().map_or(0, String::len)
    }
}

/// A recorded decision. Field names are the schema's column names, plus the
/// mission's uuid and the invoking tool's name.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decision {
    /// The row's id.
    pub id: DecisionId,
    /// The mission's row id.
    pub mission_id: i64,
    /// The mission's id.
    pub mission_uuid: MissionId,
    /// What kind of decision.
    pub decision_type: String,
    /// Why it was taken (NULL where another program left it so).
    pub rationale: Option<String>,
    /// When the decision was recorded.
    pub timestamp: Timestamp,
    /// Who took it.
    pub agent_name: Option<String>,
    /// What it was taken in view of.
    pub context: Option<Json>,
    /// Set on decisions a tool recorded from inside its sandbox.
    pub invocation_id: Option<ToolCallId>,
    /// The tool name of that invocation row.
    pub invoked_by: Option<String>,
}

impl Decision {
    /// Bytes of text this row holds: what a page's byte budget counts.
    pub(crate) fn text_bytes(&self) -> usize {
        ROW_OVERHEAD_BYTES
            + self.mission_uuid.as_str().len()
            + self.decision_type.len()
            + self.rationale.as_ref().map_or(0, String::len)
            + TIMESTAMP_BYTES
            + self.agent_name.as_ref().map_or(0, String::len)
            + self.context.as_ref().map_or(0, Json::len)
            + self.invoked_by.as_ref().map_or(0, String::len)
    }
}

/// What a row costs beyond its text (ids, flags, allocation headers), so a
/// page of many tiny rows is still bounded.
const ROW_OVERHEAD_BYTES: usize = 128;
/// A timestamp's text as the guest receives it.
const TIMESTAMP_BYTES: usize = 27;

/// A playbook run. Field names are the schema's column names.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlaybookRun {
    /// The row's id.
    pub id: i64,
    /// The mission's row id.
    pub mission_id: i64,
    /// Which playbook.
    pub playbook_name: String,
    /// The phase it ran in, as stored.
    pub phase: Option<String>,
    /// When the run started.
    pub started_at: Timestamp,
    /// When it completed.
    pub completed_at: Option<Timestamp>,
    /// Whether it succeeded, once completed.
    pub success: Option<bool>,
    /// What it measured.
    pub metrics: Option<Json>,
    /// Why it failed.
    pub error_message: Option<String>,
}

/// Which missions [`MissionStore::prune`](super::MissionStore::prune)
/// deletes: whole missions created before a time, in the given statuses.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct PruneFilter {
    /// Only missions created before this time.
    pub before: DateTime<Utc>,
    /// Only missions in one of these statuses.
    pub statuses: Vec<MissionStatus>,
}

impl PruneFilter {
    /// Missions created before `before` in one of `statuses`.
    pub fn new(before: DateTime<Utc>, statuses: Vec<MissionStatus>) -> Self {
        PruneFilter { before, statuses }
    }
}

/// A mission prune deleted (or, dry, would delete), with its rows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PrunedMission {
    /// The mission.
    pub mission_uuid: MissionId,
    /// When it was created.
    pub created_at: Timestamp,
    /// Its status.
    pub status: MissionStatus,
    /// Its tool calls.
    pub tool_calls: u64,
    /// Its decisions.
    pub decisions: u64,
    /// Its memory entries.
    pub memory: u64,
    /// Its playbook runs.
    pub playbook_runs: u64,
}

/// What a prune did: how many missions it deleted (or, dry, would delete)
/// and the ones it went past.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct PruneSummary {
    /// Missions deleted (reported one by one as they went).
    pub pruned: u64,
    /// Missions in the statuses asked for that it could not judge by age:
    /// their `created_at` is not a time (written by another program).
    pub skipped: Vec<Skipped>,
}

/// An item a command that works through the whole store went past, and
/// where it is: its mission, and the row (table, id, column) at fault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Skipped {
    /// The mission it belongs to, as stored.
    pub mission_uuid: String,
    /// The table of the row at fault.
    pub table: Option<String>,
    /// That row's id in this database.
    pub row_id: Option<i64>,
    /// The column at fault.
    pub column: Option<String>,
    /// Why it was gone past, in words.
    pub reason: String,
}

impl Skipped {
    /// A row's column at fault.
    pub fn row(
        mission_uuid: impl Into<String>,
        table: &str,
        row_id: i64,
        column: &str,
        reason: impl Into<String>,
    ) -> Self {
        Skipped {
            column: Some(column.to_owned()),
            ..Skipped::at(mission_uuid, table, row_id, reason)
        }
    }

    /// A row, whatever its column.
    pub fn at(
        mission_uuid: impl Into<String>,
        table: &str,
        row_id: i64,
        reason: impl Into<String>,
    ) -> Self {
        Skipped {
            table: Some(table.to_owned()),
            row_id: Some(row_id),
            ..Skipped::mission(mission_uuid, reason)
        }
    }

    /// A whole mission.
    pub fn mission(mission_uuid: impl Into<String>, reason: impl Into<String>) -> Self {
        Skipped {
            mission_uuid: mission_uuid.into(),
            table: None,
            row_id: None,
            column: None,
            reason: reason.into(),
        }
    }
}

impl fmt::Display for Skipped {
    /// `mission M, tool_calls #7 (args): reason`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "mission {}", self.mission_uuid)?;
        if let Some(table) = &self.table {
            write!(f, ", {table}")?;
            if let Some(id) = self.row_id {
                write!(f, " #{id}")?;
            }
            if let Some(column) = &self.column {
                write!(f, " ({column})")?;
            }
        }
        write!(f, ": {}", self.reason)
    }
}

/// One live entry of a mission's agent memory.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MemoryEntry {
    /// The key.
    pub key: String,
    /// The value as stored.
    pub value: Option<Json>,
    /// When it was last set.
    pub updated_at: Timestamp,
    /// When it expires, if it has a TTL.
    pub expires_at: Option<Timestamp>,
    /// The invocation that set it, if a tool did.
    pub invocation_id: Option<ToolCallId>,
}

/// How one tool has fared: what `vibe stats` shows, per tool name.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ToolStats {
    /// The tool.
    pub tool_name: String,
    /// Calls logged.
    pub calls: u64,
    /// Calls that failed.
    pub failures: u64,
    /// `failures / calls`, 0 to 1.
    pub failure_rate: f64,
    /// Median duration (nearest rank) of the calls that have one.
    pub p50_ms: Option<i64>,
    /// 95th percentile duration (nearest rank).
    pub p95_ms: Option<i64>,
    /// Longest duration.
    pub max_ms: Option<i64>,
    /// The earliest instant among the calls' timestamps; `None` when no
    /// call's timestamp is a time (see [`Timestamp`]).
    pub first: Option<Timestamp>,
    /// The latest instant among the calls' timestamps.
    pub last: Option<Timestamp>,
}

/// Which missions [`MissionStore::find_missions`](super::MissionStore::find_missions)
/// returns, newest first (by the instant `created_at` names, then id; a
/// `created_at` that is not a time sorts as older than every time): every
/// filter left `None` is off. The times compare instants, whatever the
/// spelling (see [`Timestamp`](super::Timestamp)); text that is not a time
/// never matches them.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct MissionFilter {
    /// Only missions in this status.
    pub status: Option<MissionStatus>,
    /// Only missions in this phase.
    pub phase: Option<Phase>,
    /// Only missions created at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Only missions created before this time.
    pub until: Option<DateTime<Utc>>,
    /// Only missions whose metadata text contains this (case-sensitive).
    pub search: Option<String>,
    /// Only missions that come after the one with this row id in this
    /// order (paging: pass the last row id you saw).
    pub before_id: Option<i64>,
    /// At most this many (up to [`MAX_PAGE_ROWS`]).
    pub limit: u32,
}

impl MissionFilter {
    /// The `limit` newest missions.
    pub fn newest(limit: u32) -> Self {
        MissionFilter {
            status: None,
            phase: None,
            since: None,
            until: None,
            search: None,
            before_id: None,
            limit,
        }
    }
}

/// Which tool calls [`MissionStore::find_tool_calls`](super::MissionStore::find_tool_calls)
/// returns: every filter left empty or `None` is off.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct ToolCallFilter {
    /// One mission's rows; `None`: every mission's.
    pub mission: Option<MissionId>,
    /// Only these tool names (any of them).
    pub tools: Vec<String>,
    /// Only successful (`true`) or failed (`false`) calls.
    pub success: Option<bool>,
    /// Only rows stamped at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Only rows stamped before this time.
    pub until: Option<DateTime<Utc>>,
    /// Only rows with a greater id (paging).
    pub after_id: Option<i64>,
    /// At most this many rows.
    pub limit: Option<u32>,
}

impl ToolCallFilter {
    /// Every tool call of one mission.
    pub fn mission(mission: MissionId) -> Self {
        ToolCallFilter {
            mission: Some(mission),
            ..ToolCallFilter::default()
        }
    }
}

/// Which decisions [`MissionStore::find_decisions`](super::MissionStore::find_decisions)
/// returns: every filter left empty or `None` is off.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct DecisionFilter {
    /// One mission's rows; `None`: every mission's.
    pub mission: Option<MissionId>,
    /// Only these decision types (any of them).
    pub types: Vec<String>,
    /// Only decisions by these agents (any of them).
    pub agents: Vec<String>,
    /// Only rows stamped at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Only rows stamped before this time.
    pub until: Option<DateTime<Utc>>,
    /// Only rows with a greater id (paging).
    pub after_id: Option<i64>,
    /// At most this many rows.
    pub limit: Option<u32>,
}

impl DecisionFilter {
    /// Every decision of one mission.
    pub fn mission(mission: MissionId) -> Self {
        DecisionFilter {
            mission: Some(mission),
            ..DecisionFilter::default()
        }
    }
}

/// Bytes of row text a page holds at most unless the caller sets its own
/// budget: four times the largest JSON field, so any row vibe-store writes
/// (args and result at 1 MiB each, plus text) fits a page alone.
pub const DEFAULT_PAGE_BYTES: usize = PAGE_BYTES_PER_JSON_LIMIT * MAX_JSON_BYTES;

/// A page's default byte budget as a multiple of the JSON limit in force
/// (the store's, or an invocation's tighter one).
pub const PAGE_BYTES_PER_JSON_LIMIT: usize = 4;

/// One page of a history query: rows with an id greater than `after_id`,
/// oldest first, at most `limit` of them and at most `max_bytes` of row
/// text. A page holds every row that fits: it stops before the first row
/// that would take it over its byte budget, and if that is the first row
/// of the page, the read fails with [`StoreError::LimitExceeded`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// Rows with ids above this one (none: from the first).
    pub after_id: Option<i64>,
    /// At most this many rows (up to [`MAX_PAGE_ROWS`]).
    pub limit: u32,
    /// At most this many bytes of row text (see the type's docs).
    pub max_bytes: usize,
}

impl Page {
    /// The first page of at most `limit` rows.
    pub fn first(limit: u32) -> Self {
        Page {
            after_id: None,
            limit,
            max_bytes: DEFAULT_PAGE_BYTES,
        }
    }

    /// The page after the row with id `after_id`.
    pub fn after(after_id: Option<i64>, limit: u32) -> Self {
        Page {
            after_id,
            ..Page::first(limit)
        }
    }

    /// This page with a byte budget of `max_bytes` of row text.
    pub fn max_bytes(mut self, max_bytes: usize) -> Self {
        self.max_bytes = max_bytes;
        self
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

/// The current time as the store writes it: RFC 3339 UTC with microseconds,
/// fixed width, so text order is time order.
pub fn now_timestamp() -> String {
    format_timestamp(Utc::now())
}
