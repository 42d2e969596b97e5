//! `vibe export --format otlp`: missions as OpenTelemetry traces.
//!
//! Each mission is one OTLP/JSON `ExportTraceServiceRequest` on one line
//! (the form the OpenTelemetry Collector's `otlpjsonfile` receiver reads),
//! following the GenAI semantic conventions:
//!
//! - the mission is the trace (its uuid is the trace id) and its root span,
//!   `mission`, from its creation to its completion (or its last row);
//! - every tool call is an `execute_tool {tool name}` span with
//!   `gen_ai.operation.name`, `gen_ai.tool.name`, `gen_ai.tool.call.id`
//!   (the row's id), its arguments and result as `gen_ai.tool.call.arguments`
//!   / `gen_ai.tool.call.result`, and on failure `error.type` (the outcome,
//!   or `tool_error`) with an error status. A row a tool logged is a child
//!   span of the invocation that ran it; others are children of the root;
//! - every decision is a `gen_ai.decision` span event on the invocation that
//!   recorded it, or on the root;
//! - every playbook run is a `playbook {name}` span under the root.
//!
//! Agent memory is state, not an event, and is not exported. Times are the
//! stored timestamps; a tool call's span lasts its `duration_ms`.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::backend::Backend;
use super::error::Result;
use super::ids::{parse_timestamp, MissionId};
use super::model::{Skipped, MAX_DURATION_MS};
use super::sql::{Sql, Value as Column};
use super::transfer::{export_each, ExportFilter};

/// OTLP span kind INTERNAL.
const KIND_INTERNAL: i64 = 1;
/// OTLP status code ERROR.
const STATUS_ERROR: i64 = 2;

/// Calls `f` with each mission `filter` selects, oldest first, as one
/// OTLP/JSON `ExportTraceServiceRequest` (no newline), one mission in memory
/// at a time. Also returns the rows each line held, for progress.
pub(crate) fn export_otlp(
    store: &impl Backend,
    filter: &ExportFilter,
    f: &mut dyn FnMut(&MissionId, String, u64) -> Result<()>,
) -> Result<Vec<Skipped>> {
    export_each(store, filter, &trace, f)
}

/// A text column's value (empty when NULL).
fn text(value: &Column) -> String {
    value.text().unwrap_or_default().to_owned()
}

/// A nullable text column's value, as a JSON string.
fn optional_text(value: &Column) -> Option<Value> {
    value.text().map(Value::from)
}

/// A span id: 8 bytes of SHA-256 over what the span is, as hex.
fn span_id(mission: &str, what: &str, id: i64) -> String {
    let digest = Sha256::digest(format!("{mission}/{what}/{id}"));
    crate::hex::hex(&digest[..8])
}

/// A time as OTLP names it: nanoseconds since 1970 in 64 unsigned bits, so
/// 1970-01-01 to 2262-04-11; `None` outside.
fn unix_nanos(at: DateTime<Utc>) -> Option<u64> {
    at.timestamp_nanos_opt().and_then(|n| u64::try_from(n).ok())
}

/// [`unix_nanos`] as OTLP/JSON writes it, 0 for a time it cannot name.
fn nanos(at: DateTime<Utc>) -> String {
    unix_nanos(at).unwrap_or(0).to_string()
}

/// A span's start and end as OTLP/JSON writes them, the end never before
/// the start, and what was changed to make them so: a time OTLP cannot
/// name (before 1970, after 2262-04-11) is placed at 0, and an end it
/// cannot name at the start.
fn span_times(begin: DateTime<Utc>, end: DateTime<Utc>) -> (String, String, Option<String>) {
    match (unix_nanos(begin), unix_nanos(end)) {
        (Some(start), Some(end)) if end >= start => (start.to_string(), end.to_string(), None),
        (Some(start), _) => (
            start.to_string(),
            start.to_string(),
            Some(format!(
                "its end ({}) lies past what OTLP can name (2262-04-11); the span ends at its start",
                super::time::format_timestamp(end)
            )),
        ),
        (None, _) => (
            "0".into(),
            "0".into(),
            Some(format!(
                "its start ({}) lies outside what OTLP can name (1970 to 2262-04-11); the span is \
                 placed at 0",
                super::time::format_timestamp(begin)
            )),
        ),
    }
}

/// An OTLP error status saying why.
fn error_status(message: String) -> Value {
    json!({ "code": STATUS_ERROR, "message": message })
}

fn attr(key: &str, value: Value) -> Value {
    let value = match value {
        Value::Bool(b) => json!({ "boolValue": b }),
        Value::Number(n) if n.is_i64() => json!({ "intValue": n.to_string() }),
        Value::Number(n) => json!({ "doubleValue": n.as_f64() }),
        Value::String(s) => json!({ "stringValue": s }),
        other => json!({ "stringValue": other.to_string() }),
    };
    json!({ "key": key, "value": value })
}

/// Attributes from (key, value) pairs, leaving out absent values.
fn attrs(pairs: Vec<(&str, Option<Value>)>) -> Value {
    Value::Array(
        pairs
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| attr(k, v)))
            .collect(),
    )
}

/// One mission as a trace; and how many rows it held.
fn trace(db: &mut dyn Sql, mission_id: i64, uuid: &str) -> Result<(String, u64)> {
    let trace_id = uuid.replace('-', "").to_ascii_lowercase();
    let root = span_id(uuid, "mission", mission_id);
    let mission = db
        .query_opt(
            "SELECT phase, status, created_at, completed_at, metadata FROM missions WHERE id = ?1",
            &[mission_id.into()],
        )?
        .ok_or_else(|| super::StoreError::MissionNotFound(uuid.to_owned()))?;
    let (phase, status, created) = (text(&mission[0]), text(&mission[1]), text(&mission[2]));
    let completed = mission[3].text().map(str::to_owned);
    let metadata = optional_text(&mission[4]);
    let start = parse_timestamp(&created).unwrap_or_default();
    let at = |text: &str| parse_timestamp(text).unwrap_or(start);
    let mut last = start;
    let mut rows = 1u64;

    // Decisions first: each becomes an event of the span it belongs to.
    let mut events: BTreeMap<Option<i64>, Vec<Value>> = BTreeMap::new();
    {
        db.query(
            "SELECT id, decision_type, rationale, timestamp, agent_name, context, invocation_id
             FROM decisions WHERE mission_id = ?1 ORDER BY id",
            &[mission_id.into()],
            &mut |r| {
                rows += 1;
                let time = at(&text(&r[3]));
                last = last.max(time);
                let event = json!({
                    "timeUnixNano": nanos(time),
                    "name": "gen_ai.decision",
                    "attributes": attrs(vec![
                        ("vibe.decision.id", Some(json!(r[0].int()))),
                        ("vibe.decision.type", Some(json!(text(&r[1])))),
                        ("vibe.decision.rationale", optional_text(&r[2])),
                        ("gen_ai.agent.name", optional_text(&r[4])),
                        ("vibe.decision.context", optional_text(&r[5])),
                    ]),
                });
                events.entry(r[6].int()).or_default().push(event);
                Ok(())
            },
        )?;
    }

    let mut spans: Vec<Value> = Vec::new();
    {
        db.query(
            "SELECT t.id, t.tool_name, t.args, t.result, t.timestamp, t.duration_ms, t.success,
                    t.error_message, t.outcome, t.component_sha256, t.invocation_id,
                    i.mission_id = t.mission_id
             FROM tool_calls t LEFT JOIN tool_calls i ON i.id = t.invocation_id
             WHERE t.mission_id = ?1 ORDER BY t.id",
            &[mission_id.into()],
            &mut |r| {
            rows += 1;
            let id = r[0].int().unwrap_or_default();
            let name = text(&r[1]);
            let begin = at(&text(&r[4]));
            let duration = r[5].int();
            // Another program may have stored any integer: a duration out of
            // the store's range is named on the span, which ends where it
            // starts, and the export goes on.
            let ends = duration.map_or(Some(begin), |ms| {
                (0..=MAX_DURATION_MS)
                    .contains(&ms)
                    .then(|| chrono::Duration::try_milliseconds(ms))
                    .flatten()
                    .and_then(|d| begin.checked_add_signed(d))
            });
            let mut warnings: Vec<String> = Vec::new();
            if ends.is_none() {
                warnings.push(format!(
                    "duration_ms {} is outside 0 to {MAX_DURATION_MS} (or runs past the last \
                     time a span can name); the span ends at its start",
                    duration.unwrap_or_default()
                ));
            }
            let end = ends.unwrap_or(begin);
            let (start_ns, end_ns, placed) = span_times(begin, end);
            warnings.extend(placed);
            let warning = (!warnings.is_empty()).then(|| json!(warnings.join("; ")));
            last = last.max(end);
            let success = r[6].int().is_some_and(|v| v != 0);
            let error = r[7].text().map(str::to_owned);
            let outcome = r[8].text().map(str::to_owned);
            let invocation = r[10].int();
            let same_mission = r[11].int().map(|v| v != 0);
            let parent = match invocation {
                Some(inv) if same_mission == Some(true) => span_id(uuid, "tool_call", inv),
                _ => root.clone(),
            };
            let running = outcome.as_deref() == Some("running");
            let failed = !success && !running;
            let mut span = json!({
                "traceId": trace_id,
                "spanId": span_id(uuid, "tool_call", id),
                "parentSpanId": parent,
                "name": format!("execute_tool {name}"),
                "kind": KIND_INTERNAL,
                "startTimeUnixNano": start_ns,
                "endTimeUnixNano": end_ns,
                "attributes": attrs(vec![
                    ("gen_ai.operation.name", Some(json!("execute_tool"))),
                    ("gen_ai.tool.name", Some(json!(name))),
                    ("gen_ai.tool.call.id", Some(json!(id.to_string()))),
                    ("gen_ai.tool.call.arguments", Some(json!(text(&r[2])))),
                    ("gen_ai.tool.call.result", optional_text(&r[3])),
                    ("error.type", failed.then(|| json!(outcome.clone().unwrap_or_else(|| "tool_error".into())))),
                    ("vibe.outcome", outcome.clone().map(Value::from)),
                    ("vibe.component.sha256", optional_text(&r[9])),
                    ("vibe.duration_ms", duration.map(Value::from)),
                    ("vibe.warning", warning),
                ]),
            });
            if failed {
                span["status"] = error_status(error.unwrap_or_default());
            }
            if let Some(events) = events.remove(&Some(id)) {
                span["events"] = Value::Array(events);
            }
            spans.push(span);
            Ok(())
        })?;
    }

    {
        db.query(
            "SELECT id, playbook_name, phase, started_at, completed_at, success, error_message
             FROM playbook_runs WHERE mission_id = ?1 ORDER BY id",
            &[mission_id.into()],
            &mut |r| {
                rows += 1;
                let id = r[0].int().unwrap_or_default();
                let name = text(&r[1]);
                let begin = at(&text(&r[3]));
                let end = r[4].text().map_or(begin, at);
                last = last.max(end);
                let success = r[5].int().map(|v| v != 0);
                let (start_ns, end_ns, placed) = span_times(begin, end);
                let mut span = json!({
                    "traceId": trace_id,
                    "spanId": span_id(uuid, "playbook_run", id),
                    "parentSpanId": root,
                    "name": format!("playbook {name}"),
                    "kind": KIND_INTERNAL,
                    "startTimeUnixNano": start_ns,
                    "endTimeUnixNano": end_ns,
                    "attributes": attrs(vec![
                        ("vibe.playbook.name", Some(json!(name))),
                        ("vibe.playbook.phase", optional_text(&r[2])),
                        ("vibe.warning", placed.map(Value::from)),
                    ]),
                });
                if success == Some(false) {
                    span["status"] = error_status(text(&r[6]));
                }
                spans.push(span);
                Ok(())
            },
        )?;
    }

    // The root last: it ends at the mission's completion or its last row.
    let end = completed.as_deref().map_or(last, at).max(start);
    let (start_ns, end_ns, placed) = span_times(start, end);
    let mut root_span = json!({
        "traceId": trace_id,
        "spanId": root,
        "name": "mission",
        "kind": KIND_INTERNAL,
        "startTimeUnixNano": start_ns,
        "endTimeUnixNano": end_ns,
        "attributes": attrs(vec![
            ("gen_ai.conversation.id", Some(json!(uuid))),
            ("vibe.mission.uuid", Some(json!(uuid))),
            ("vibe.mission.phase", Some(json!(phase))),
            ("vibe.mission.status", Some(json!(status))),
            ("vibe.mission.metadata", metadata),
            ("vibe.warning", placed.map(Value::from)),
        ]),
    });
    if status == "failed" {
        root_span["status"] = error_status("mission failed".into());
    }
    // Decisions whose invocation is not among this mission's spans.
    let orphans: Vec<Value> = events.into_values().flatten().collect();
    if !orphans.is_empty() {
        root_span["events"] = Value::Array(orphans);
    }
    spans.insert(0, root_span);
    let request = json!({
        "resourceSpans": [{
            "resource": { "attributes": [attr("service.name", json!("vibe-store"))] },
            "scopeSpans": [{
                "scope": { "name": "vibe-store", "version": env!("CARGO_PKG_VERSION") },
                "spans": spans,
            }],
        }],
    });
    Ok((request.to_string(), rows))
}
