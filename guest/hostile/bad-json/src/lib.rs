//! Sends text that is not JSON in every JSON field it can reach on its own
//! mission. Each call must be refused with invalid-input; it fails with the
//! errors, or reports which call was accepted.

use vibe_tool::{audit, memory, NewToolCall};

struct BadJson;

impl vibe_tool::Guest for BadJson {
    fn run(mission: String, _input: String) -> Result<String, String> {
        let bad = "{\"unterminated\": ";
        let call = |args: &str, result: Option<&str>| NewToolCall {
            tool_name: "bad-json".into(),
            args: args.into(),
            result: result.map(str::to_owned),
            success: true,
            duration_ms: None,
            error_message: None,
        };
        let attempts: Vec<(&str, Result<(), vibe_tool::StoreError>)> = vec![
            ("args", audit::log_tool_call(&mission, &call(bad, None)).map(drop)),
            ("result", audit::log_tool_call(&mission, &call("{}", Some("nope"))).map(drop)),
            ("context", audit::record_decision(&mission, "d", "r", "a", Some(bad)).map(drop)),
            ("memory value", memory::set(&mission, "k", "undefined", None)),
            ("empty tool name", audit::log_tool_call(&mission, &NewToolCall { tool_name: String::new(), ..call("{}", None) }).map(drop)),
        ];
        let accepted: Vec<&str> = attempts.iter().filter(|(_, r)| r.is_ok()).map(|(n, _)| *n).collect();
        if !accepted.is_empty() {
            return Ok(format!("{{\"accepted\":{accepted:?}}}"));
        }
        let errors: Vec<String> = attempts.iter().map(|(n, r)| format!("{n}: {}", r.as_ref().unwrap_err())).collect();
        Err(errors.join("; "))
    }
}

vibe_tool::export!(BadJson);
