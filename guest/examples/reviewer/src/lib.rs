//! The reviewer: reads its mission's tool calls page by page, records a
//! review decision with its rationale, and keeps its progress in memory
//! (with a TTL) so the next run starts where this one stopped.
//!
//! Input: `{"page_size": 50, "slow_ms": 1000}`, both optional. Its Python
//! twin, `guest/python/examples/reviewer.py`, does exactly the same, row
//! for row.

use std::collections::BTreeSet;

use serde_json::{json, Value};
use vibe_tool::{audit, memory, NewToolCall, StoreError};

const PROGRESS: &str = "reviewer.progress";

struct Reviewer;

impl vibe_tool::Guest for Reviewer {
    fn run(mission: String, input: String) -> Result<String, String> {
        review(&mission, &input).map_err(|e| e.to_string())
    }

    fn describe() -> Option<vibe_tool::Description> {
        Some(vibe_tool::Description {
            name: "reviewer".into(),
            description: "Reviews the mission's tool calls since its last review: failures and slow calls, recorded as a decision.".into(),
            input_schema: json!({
                "type": "object",
                "properties": {
                    "page_size": { "type": "integer", "minimum": 1, "maximum": 1000 },
                    "slow_ms": { "type": "integer", "minimum": 0 },
                },
                "additionalProperties": false,
            })
            .to_string(),
            output_schema: None,
        })
    }
}

vibe_tool::export!(Reviewer);

fn store(e: StoreError) -> String {
    format!("store call failed: {e}")
}

fn review(mission: &str, input: &str) -> Result<String, String> {
    let input: Value = serde_json::from_str(input).map_err(|e| format!("input is not JSON: {e}"))?;
    let page_size = input["page_size"].as_u64().unwrap_or(50) as u32;
    let slow_ms = input["slow_ms"].as_u64().unwrap_or(1000);
    let after: Option<i64> = memory::get(mission, PROGRESS)
        .map_err(store)?
        .and_then(|text| serde_json::from_str::<Value>(&text).ok())
        .and_then(|progress| progress["after"].as_i64());
    let (mut last, mut reviewed, mut slow) = (after, 0u64, 0u64);
    let mut failed = BTreeSet::new();
    loop {
        let rows = audit::get_tool_history(mission, last, page_size).map_err(store)?;
        for row in &rows {
            last = Some(row.id);
            if row.tool_name.starts_with("reviewer") {
                continue;
            }
            reviewed += 1;
            if !row.success {
                failed.insert(row.tool_name.clone());
            }
            if row.duration_ms.is_some_and(|ms| ms >= slow_ms) {
                slow += 1;
            }
        }
        if (rows.len() as u32) < page_size {
            break;
        }
    }
    let failed: Vec<String> = failed.into_iter().collect();
    let decision = audit::record_decision(
        mission,
        "review",
        &format!("reviewed {reviewed} calls: {} tools failed, {slow} slow", failed.len()),
        "reviewer",
        Some(
            &json!({ "after": after, "failed": failed, "reviewed": reviewed, "slow": slow, "until": last })
                .to_string(),
        ),
    )
    .map_err(store)?;
    memory::set(mission, PROGRESS, &json!({ "after": last }).to_string(), Some(3600)).map_err(store)?;
    audit::log_tool_call(
        mission,
        &NewToolCall {
            tool_name: "reviewer.summary".into(),
            args: json!({ "after": after, "until": last }).to_string(),
            result: Some(json!({ "failed": failed, "reviewed": reviewed, "slow": slow }).to_string()),
            success: true,
            duration_ms: None,
            error_message: None,
        },
    )
    .map_err(store)?;
    Ok(json!({ "decision": decision, "failed": failed, "reviewed": reviewed, "slow": slow }).to_string())
}
