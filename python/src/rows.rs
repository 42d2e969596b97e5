//! Rows as Python dicts keyed by the schema's column names: JSON columns as
//! Python values, `success` as `bool`, timestamps as the store's RFC 3339
//! text (`2026-11-27T01:39:01.123456Z`, or another program's text as it
//! was written), ids as `int`.

use pyo3::prelude::*;
use pyo3::types::PyDict;
use vibe_store::store::{MemoryEntry, PlaybookRun, Timestamp};
use vibe_store::{Decision, Json, Mission, ToolCall};

use crate::json::from_json;

fn json_or_none<'py>(py: Python<'py>, json: Option<&Json>) -> PyResult<Option<Bound<'py, PyAny>>> {
    json.map(|j| from_json(py, j)).transpose()
}

fn time(t: &Timestamp) -> String {
    t.to_string()
}

/// A `missions` row.
pub fn mission<'py>(py: Python<'py>, m: &Mission) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("id", m.id)?;
    d.set_item("mission_uuid", m.mission_uuid.as_str())?;
    d.set_item("phase", m.phase.as_str())?;
    d.set_item("status", m.status.as_str())?;
    d.set_item("created_at", time(&m.created_at))?;
    d.set_item("completed_at", m.completed_at.as_ref().map(time))?;
    d.set_item("metadata", json_or_none(py, m.metadata.as_ref())?)?;
    d.set_item("invocation_id", m.invocation_id.map(i64::from))?;
    Ok(d)
}

/// A `tool_calls` row, with its mission's uuid beside `mission_id`.
pub fn tool_call<'py>(py: Python<'py>, c: &ToolCall) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("id", i64::from(c.id))?;
    d.set_item("mission_id", c.mission_id)?;
    d.set_item("mission_uuid", c.mission_uuid.as_str())?;
    d.set_item("tool_name", c.tool_name.as_str())?;
    d.set_item("args", from_json(py, &c.args)?)?;
    d.set_item("result", json_or_none(py, c.result.as_ref())?)?;
    d.set_item("timestamp", time(&c.timestamp))?;
    d.set_item("duration_ms", c.duration_ms)?;
    d.set_item("success", c.success)?;
    d.set_item("error_message", c.error_message.as_deref())?;
    d.set_item("invocation_id", c.invocation_id.map(i64::from))?;
    d.set_item("invoked_by", c.invoked_by.as_deref())?;
    d.set_item("component_sha256", c.component_sha256.as_deref())?;
    d.set_item("component_size", c.component_size)?;
    d.set_item("outcome", c.outcome.map(|o| o.as_str()))?;
    d.set_item("caller", json_or_none(py, c.caller.as_ref())?)?;
    Ok(d)
}

/// A `decisions` row, with its mission's uuid beside `mission_id`.
pub fn decision<'py>(py: Python<'py>, x: &Decision) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("id", i64::from(x.id))?;
    d.set_item("mission_id", x.mission_id)?;
    d.set_item("mission_uuid", x.mission_uuid.as_str())?;
    d.set_item("decision_type", x.decision_type.as_str())?;
    d.set_item("rationale", x.rationale.as_deref())?;
    d.set_item("timestamp", time(&x.timestamp))?;
    d.set_item("agent_name", x.agent_name.as_deref())?;
    d.set_item("context", json_or_none(py, x.context.as_ref())?)?;
    d.set_item("invocation_id", x.invocation_id.map(i64::from))?;
    d.set_item("invoked_by", x.invoked_by.as_deref())?;
    Ok(d)
}

/// An `agent_memory` entry (without its mission).
pub fn memory<'py>(py: Python<'py>, m: &MemoryEntry) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("key", m.key.as_str())?;
    d.set_item("value", json_or_none(py, m.value.as_ref())?)?;
    d.set_item("timestamp", time(&m.updated_at))?;
    d.set_item("expires_at", m.expires_at.as_ref().map(time))?;
    d.set_item("invocation_id", m.invocation_id.map(i64::from))?;
    Ok(d)
}

/// A `playbook_runs` row.
pub fn playbook_run<'py>(py: Python<'py>, r: &PlaybookRun) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("id", r.id)?;
    d.set_item("mission_id", r.mission_id)?;
    d.set_item("playbook_name", r.playbook_name.as_str())?;
    d.set_item("phase", r.phase.as_deref())?;
    d.set_item("started_at", time(&r.started_at))?;
    d.set_item("completed_at", r.completed_at.as_ref().map(time))?;
    d.set_item("success", r.success)?;
    d.set_item("metrics", json_or_none(py, r.metrics.as_ref())?)?;
    d.set_item("error_message", r.error_message.as_deref())?;
    Ok(d)
}
