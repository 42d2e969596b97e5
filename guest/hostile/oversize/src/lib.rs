//! Sends a 2 MiB JSON string as a tool call's args and as a memory value,
//! twice the store's 1 MiB limit, and asks for a history page far above the
//! host's cap. Each must be refused with limit-exceeded.

use vibe_tool::{audit, memory, NewToolCall};

struct Oversize;

impl vibe_tool::Guest for Oversize {
    fn run(mission: String, _input: String) -> Result<String, String> {
        let huge = format!("\"{}\"", "x".repeat(2 * 1024 * 1024));
        let call = NewToolCall {
            tool_name: "oversize".into(),
            args: huge.clone(),
            result: None,
            success: true,
            duration_ms: None,
            error_message: None,
        };
        let attempts: Vec<(&str, Result<(), vibe_tool::StoreError>)> = vec![
            ("args", audit::log_tool_call(&mission, &call).map(drop)),
            ("memory value", memory::set(&mission, "big", &huge, None)),
            ("history page", audit::get_tool_history(&mission, None, u32::MAX).map(drop)),
        ];
        let accepted: Vec<&str> = attempts.iter().filter(|(_, r)| r.is_ok()).map(|(n, _)| *n).collect();
        if !accepted.is_empty() {
            return Ok(format!("{{\"accepted\":{accepted:?}}}"));
        }
        let errors: Vec<String> = attempts.iter().map(|(n, r)| format!("{n}: {}", r.as_ref().unwrap_err())).collect();
        Err(errors.join("; "))
    }
}

vibe_tool::export!(Oversize);
