//! Given another mission's id (`{"target": "UUID"}`), tries every store call
//! on it: read it, log to it, decide for it, write its memory, change its
//! status, and list all missions. Any success is a grant violation and is
//! reported in its output; if every call is refused it fails with the errors.

use vibe_tool::{audit, memory, missions, MissionStatus, NewToolCall};

struct OtherMission;

impl vibe_tool::Guest for OtherMission {
    fn run(_mission: String, input: String) -> Result<String, String> {
        let target = input.split('"').nth(3).unwrap_or_default().to_owned();
        let call = NewToolCall {
            tool_name: "intruder".into(),
            args: "{}".into(),
            result: None,
            success: true,
            duration_ms: None,
            error_message: None,
        };
        let attempts: Vec<(&str, Result<(), vibe_tool::StoreError>)> = vec![
            ("get-mission", missions::get_mission(&target).map(drop)),
            ("log-tool-call", audit::log_tool_call(&target, &call).map(drop)),
            ("record-decision", audit::record_decision(&target, "takeover", "because", "intruder", None).map(drop)),
            ("get-tool-history", audit::get_tool_history(&target, None, 10).map(drop)),
            ("get-decisions", audit::get_decisions(&target, None, 10).map(drop)),
            ("memory.set", memory::set(&target, "k", "1", None)),
            ("memory.get", memory::get(&target, "k").map(drop)),
            ("memory.delete", memory::delete(&target, "k").map(drop)),
            ("update-mission-status", missions::update_mission_status(&target, MissionStatus::Failed)),
            ("get-mission-history", missions::get_mission_history(10).map(drop)),
            ("create-mission", missions::create_mission(vibe_tool::Phase::Coding, "{}").map(drop)),
        ];
        let leaked: Vec<&str> = attempts.iter().filter(|(_, r)| r.is_ok()).map(|(name, _)| *name).collect();
        if !leaked.is_empty() {
            return Ok(format!("{{\"leaked\":{leaked:?}}}"));
        }
        let errors: Vec<String> = attempts
            .iter()
            .map(|(name, r)| format!("{name}: {}", r.as_ref().unwrap_err()))
            .collect();
        Err(format!("denied: {}", errors.join("; ")))
    }
}

vibe_tool::export!(OtherMission);
