//! Reading the store's rows, once for both backends: the columns each read
//! selects (portable SQL, in the macros below) and how a row of values
//! becomes a [`Mission`], [`ToolCall`], [`Decision`]...

use chrono::{DateTime, Utc};

use super::error::{Result, StoreError};
use super::ids::{format_timestamp, DecisionId, MissionId, ToolCallId};
use super::json::Json;
use super::model::{
    Decision, MemoryEntry, Mission, PlaybookRun, PrunedMission, Skipped, ToolCall, ToolStats,
};
use super::sql::Value;
use super::time::Timestamp;

macro_rules! mission_select {
    () => {
        "SELECT id, mission_uuid, phase, status, created_at, completed_at, metadata, invocation_id
         FROM missions"
    };
}
macro_rules! tool_calls_from {
    () => {
        "SELECT t.id, t.mission_id, t.tool_name, t.args, t.result, t.timestamp, t.duration_ms,
                t.success, t.error_message, t.invocation_id, p.tool_name, t.component_sha256,
                t.component_size, t.outcome, m.mission_uuid, t.caller
         FROM tool_calls t LEFT JOIN tool_calls p ON p.id = t.invocation_id
              JOIN missions m ON m.id = t.mission_id "
    };
}
macro_rules! decisions_from {
    () => {
        "SELECT d.id, d.mission_id, d.decision_type, d.rationale, d.timestamp, d.agent_name,
                d.context, d.invocation_id, p.tool_name, m.mission_uuid
         FROM decisions d LEFT JOIN tool_calls p ON p.id = d.invocation_id
              JOIN missions m ON m.id = d.mission_id "
    };
}
pub(super) use {decisions_from, mission_select, tool_calls_from};

/// A time filter as the bounds of a range on a time column's instant, so
/// the planner can search its index. With no filter at all the lower bound
/// is NULL, whose instant is the floor that text which is not a time maps
/// to, so every row passes; with either end given, the lower bound is the
/// earliest time, so text that is not a time never matches a time filter.
/// The open upper end is the last instant the grammar spells.
pub(super) fn time_window(
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
) -> (Option<String>, String) {
    let lower = match (since, until) {
        (Some(since), _) => Some(format_timestamp(since)),
        (None, Some(_)) => Some(EARLIEST.to_owned()),
        (None, None) => None,
    };
    (
        lower,
        until.map_or_else(|| LATEST.to_owned(), format_timestamp),
    )
}

const EARLIEST: &str = "0001-01-01T00:00:00Z";
const LATEST: &str = "9999-12-31T23:59:59.999999Z";

/// A list filter as a JSON array; `None` (no filter) when empty.
pub(super) fn name_list(names: &[String]) -> Option<String> {
    (!names.is_empty()).then(|| serde_json::json!(names).to_string())
}

/// One row's values, read by position; `.1` names the row's table and its
/// columns in the order selected (the first is the row's id), so a value
/// another program stored that the read cannot take is named with its row.
pub(super) struct Cols<'a>(
    pub(super) &'a [Value<'a>],
    pub(super) &'static [&'static str],
);

impl Cols<'_> {
    fn wrong(&self, i: usize, wanted: &str) -> StoreError {
        let shown = match self.0.get(i) {
            Some(Value::Integer(v)) => v.to_string(),
            Some(Value::Real(v)) => v.to_string(),
            Some(Value::Text(t)) => format!("{:?}", t.chars().take(80).collect::<String>()),
            Some(Value::Blob(b)) => format!("{} bytes of BLOB", b.len()),
            Some(Value::Null) => "NULL".into(),
            None => "nothing".into(),
        };
        let (table, column) = (self.1.first().copied().unwrap_or("row"), self.1.get(i + 1));
        let row = match self.0.first() {
            Some(Value::Integer(id)) if i != 0 => format!(" #{id}"),
            _ => String::new(),
        };
        StoreError::Internal(format!(
            "{table}{row}: {} holds {shown}, not {wanted} (another program wrote it)",
            column.copied().unwrap_or("a column")
        ))
    }

    pub(super) fn int(&self, i: usize) -> Result<i64> {
        self.0[i].int().ok_or_else(|| self.wrong(i, "an integer"))
    }

    pub(super) fn opt_int(&self, i: usize) -> Result<Option<i64>> {
        match &self.0[i] {
            Value::Null => Ok(None),
            _ => self.int(i).map(Some),
        }
    }

    pub(super) fn text(&self, i: usize) -> Result<String> {
        match &self.0[i] {
            Value::Text(s) => Ok(s.to_string()),
            Value::Blob(b) => Ok(String::from_utf8_lossy(b).into_owned()),
            _ => Err(self.wrong(i, "text")),
        }
    }

    pub(super) fn opt_text(&self, i: usize) -> Result<Option<String>> {
        match &self.0[i] {
            Value::Null => Ok(None),
            _ => self.text(i).map(Some),
        }
    }

    pub(super) fn parse<T: std::str::FromStr<Err = StoreError>>(&self, i: usize) -> Result<T> {
        self.text(i)?.parse()
    }

    /// A stored time: the instant it names, or its text when it is not one.
    pub(super) fn time(&self, i: usize) -> Result<Timestamp> {
        Ok(Timestamp::from_stored(&self.text(i)?))
    }

    pub(super) fn opt_time(&self, i: usize) -> Result<Option<Timestamp>> {
        match &self.0[i] {
            Value::Null => Ok(None),
            _ => self.time(i).map(Some),
        }
    }

    pub(super) fn json(&self, i: usize) -> Option<Json> {
        Json::from_column(&self.0[i])
    }

    pub(super) fn flag(&self, i: usize) -> Result<Option<bool>> {
        Ok(self.opt_int(i)?.map(|v| v != 0))
    }
}

/// A row of [`mission_select!`].
pub(super) fn mission(r: &[Value]) -> Result<Mission> {
    let c = Cols(
        r,
        &[
            "missions",
            "id",
            "mission_uuid",
            "phase",
            "status",
            "created_at",
            "completed_at",
            "metadata",
            "invocation_id",
        ],
    );
    Ok(Mission {
        id: c.int(0)?,
        mission_uuid: MissionId::stored(c.text(1)?),
        phase: c.parse(2)?,
        status: c.parse(3)?,
        created_at: c.time(4)?,
        completed_at: c.opt_time(5)?,
        metadata: c.json(6),
        invocation_id: c.opt_int(7)?.map(ToolCallId::from),
    })
}

/// A row of [`tool_calls_from!`].
pub(super) fn tool_call(r: &[Value]) -> Result<ToolCall> {
    let c = Cols(
        r,
        &[
            "tool_calls",
            "id",
            "mission_id",
            "tool_name",
            "args",
            "result",
            "timestamp",
            "duration_ms",
            "success",
            "error_message",
            "invocation_id",
            "invoked_by",
            "component_sha256",
            "component_size",
            "outcome",
            "mission_uuid",
            "caller",
        ],
    );
    Ok(ToolCall {
        id: ToolCallId::from(c.int(0)?),
        mission_id: c.int(1)?,
        mission_uuid: MissionId::stored(c.text(14)?),
        tool_name: c.text(2)?,
        args: c.json(3).unwrap_or_else(|| Json::stored("null")),
        result: c.json(4),
        timestamp: c.time(5)?,
        duration_ms: c.opt_int(6)?,
        success: c.flag(7)?.unwrap_or(false),
        error_message: c.opt_text(8)?,
        invocation_id: c.opt_int(9)?.map(ToolCallId::from),
        invoked_by: c.opt_text(10)?,
        component_sha256: c.opt_text(11)?,
        component_size: c.opt_int(12)?,
        outcome: c.opt_text(13)?.and_then(|o| o.parse().ok()),
        caller: c.json(15),
    })
}

/// A row of [`decisions_from!`].
pub(super) fn decision(r: &[Value]) -> Result<Decision> {
    let c = Cols(
        r,
        &[
            "decisions",
            "id",
            "mission_id",
            "decision_type",
            "rationale",
            "timestamp",
            "agent_name",
            "context",
            "invocation_id",
            "invoked_by",
            "mission_uuid",
        ],
    );
    Ok(Decision {
        id: DecisionId::from(c.int(0)?),
        mission_id: c.int(1)?,
        mission_uuid: MissionId::stored(c.text(9)?),
        decision_type: c.text(2)?,
        rationale: c.opt_text(3)?,
        timestamp: c.time(4)?,
        agent_name: c.opt_text(5)?,
        context: c.json(6),
        invocation_id: c.opt_int(7)?.map(ToolCallId::from),
        invoked_by: c.opt_text(8)?,
    })
}

/// A row of `key, value, timestamp, expires_at, invocation_id`.
pub(super) fn memory_entry(r: &[Value]) -> Result<MemoryEntry> {
    let c = Cols(
        r,
        &[
            "agent_memory",
            "key",
            "value",
            "timestamp",
            "expires_at",
            "invocation_id",
        ],
    );
    Ok(MemoryEntry {
        key: c.text(0)?,
        value: c.json(1),
        updated_at: c.time(2)?,
        expires_at: c.opt_time(3)?,
        invocation_id: c.opt_int(4)?.map(ToolCallId::from),
    })
}

/// A row of `id, mission_id, playbook_name, phase, started_at, completed_at,
/// success, metrics, error_message`.
pub(super) fn playbook_run(r: &[Value]) -> Result<PlaybookRun> {
    let c = Cols(
        r,
        &[
            "playbook_runs",
            "id",
            "mission_id",
            "playbook_name",
            "phase",
            "started_at",
            "completed_at",
            "success",
            "metrics",
            "error_message",
        ],
    );
    Ok(PlaybookRun {
        id: c.int(0)?,
        mission_id: c.int(1)?,
        playbook_name: c.text(2)?,
        phase: c.opt_text(3)?,
        started_at: c.time(4)?,
        completed_at: c.opt_time(5)?,
        success: c.flag(6)?,
        metrics: c.json(7),
        error_message: c.opt_text(8)?,
    })
}

/// A row of the tool-stats query: name, calls, failures, first, last, p50,
/// p95, max.
pub(super) fn tool_stats(r: &[Value]) -> Result<ToolStats> {
    let c = Cols(
        r,
        &[
            "tool stats",
            "tool_name",
            "calls",
            "failures",
            "first",
            "last",
            "p50_ms",
            "p95_ms",
            "max_ms",
        ],
    );
    let (calls, failures) = (c.int(1)? as u64, c.opt_int(2)?.unwrap_or(0) as u64);
    Ok(ToolStats {
        tool_name: c.text(0)?,
        calls,
        failures,
        failure_rate: failures as f64 / calls.max(1) as f64,
        first: c.opt_time(3)?,
        last: c.opt_time(4)?,
        p50_ms: c.opt_int(5)?,
        p95_ms: c.opt_int(6)?,
        max_ms: c.opt_int(7)?,
    })
}

/// A row of the prune candidates: uuid, created, status, and the count of
/// each table's rows.
pub(super) fn pruned_mission(r: &[Value]) -> Result<PrunedMission> {
    let c = Cols(
        r,
        &[
            "missions",
            "mission_uuid",
            "created_at",
            "status",
            "tool_calls",
            "decisions",
            "memory",
            "playbook_runs",
        ],
    );
    Ok(PrunedMission {
        mission_uuid: MissionId::stored(c.text(0)?),
        created_at: c.time(1)?,
        status: c.parse(2)?,
        tool_calls: c.int(3)? as u64,
        decisions: c.int(4)? as u64,
        memory: c.int(5)? as u64,
        playbook_runs: c.int(6)? as u64,
    })
}

/// A row of `id, mission_uuid, <time column>` whose time is not a time.
pub(super) fn not_a_time(r: &[Value], table: &str, column: &str) -> Result<Skipped> {
    let c = Cols(r, &["missions", "id", "mission_uuid", "created_at"]);
    let text = c.text(2)?;
    Ok(Skipped::row(
        c.text(1)?,
        table,
        c.int(0)?,
        column,
        format!("{text:?} is not a time, so its age is unknown"),
    ))
}
