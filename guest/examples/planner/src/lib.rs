//! The planner: an example agent tool that uses the whole contract.
//!
//! Input: `{"goal": "...", "steps": ["...", ...]}`, both optional (the goal
//! defaults to the mission's `metadata.goal`, the steps to a generic plan).
//! It reads its mission, resumes from the progress kept in memory, logs each
//! step it takes as a tool call, records the plan as a decision with its
//! context, and moves the mission to `in_progress`.

use serde_json::{json, Value};
use vibe_tool::{audit, memory, missions, MissionStatus, NewToolCall, StoreError};

const PROGRESS_KEY: &str = "planner.progress";

struct Planner;

impl vibe_tool::Guest for Planner {
    fn run(mission: String, input: String) -> Result<String, String> {
        plan(&mission, &input).map_err(|e| e.to_string())
    }

    fn describe() -> Option<vibe_tool::Description> {
        Some(vibe_tool::Description {
            name: "planner".into(),
            description: "Plans a mission: records the plan as a decision, logs each step, \
                          keeps its progress in memory and moves the mission to in_progress."
                .into(),
            input_schema: json!({
                "type": "object",
                "properties": {
                    "goal": { "type": "string", "description": "What to plan for (default: the mission's metadata.goal)" },
                    "steps": { "type": "array", "items": { "type": "string" } },
                },
                "additionalProperties": false,
            })
            .to_string(),
            output_schema: Some(json!({ "type": "object" }).to_string()),
        })
    }
}

vibe_tool::export!(Planner);

#[derive(Debug)]
enum Error {
    Input(String),
    Store(StoreError),
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        Error::Store(e)
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Input(why) => write!(f, "bad input: {why}"),
            Error::Store(e) => write!(f, "store call failed: {e}"),
        }
    }
}

fn plan(mission_id: &str, input: &str) -> Result<String, Error> {
    let input: Value = serde_json::from_str(input).map_err(|e| Error::Input(e.to_string()))?;
    let mission = missions::get_mission(mission_id)?;
    let metadata: Value = serde_json::from_str(&mission.metadata).unwrap_or(Value::Null);

    let goal = input["goal"]
        .as_str()
        .or_else(|| metadata["goal"].as_str())
        .unwrap_or("unspecified goal")
        .to_owned();
    let steps: Vec<String> = match input["steps"].as_array() {
        Some(steps) => steps
            .iter()
            .map(|s| s.as_str().map(str::to_owned).ok_or_else(|| Error::Input("steps must be strings".into())))
            .collect::<Result<_, _>>()?,
        None => ["understand the goal", "design the change", "implement it", "verify it"]
            .map(str::to_owned)
            .to_vec(),
    };

    // Resume where an earlier run of this tool stopped.
    let done = memory::get(mission_id, PROGRESS_KEY)?
        .and_then(|v| serde_json::from_str::<Value>(&v).ok())
        .and_then(|v| v["completed_steps"].as_u64())
        .unwrap_or(0) as usize;

    missions::update_mission_status(mission_id, MissionStatus::InProgress)?;

    let mut logged = Vec::new();
    for (index, step) in steps.iter().enumerate().skip(done) {
        let id = audit::log_tool_call(
            mission_id,
            &NewToolCall {
                tool_name: "planner.step".into(),
                args: json!({ "index": index, "step": step }).to_string(),
                result: Some(json!({ "planned": true, "goal": goal }).to_string()),
                success: true,
                duration_ms: Some(0),
                error_message: None,
            },
        )?;
        logged.push(id);
        memory::set(
            mission_id,
            PROGRESS_KEY,
            &json!({ "completed_steps": index + 1, "of": steps.len() }).to_string(),
            None,
        )?;
    }

    let decision = audit::record_decision(
        mission_id,
        "plan",
        &format!("split \"{goal}\" into {} steps, executed in order", steps.len()),
        "planner",
        Some(&json!({ "goal": goal, "steps": steps, "resumed_from": done }).to_string()),
    )?;

    Ok(json!({
        "goal": goal,
        "steps": steps,
        "resumed_from": done,
        "logged_tool_calls": logged,
        "decision_id": decision,
    })
    .to_string())
}
