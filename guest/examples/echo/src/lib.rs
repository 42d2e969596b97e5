//! The smallest useful tool: returns its input unchanged.
//!
//! With input `{"log": N}` (N a plain integer) it first logs N tool calls to
//! its mission, one store call each: the benchmark's guest-path row. It does
//! no JSON parsing of its own, so it measures the host, not the guest.

use vibe_tool::{audit, NewToolCall};

struct Echo;

impl vibe_tool::Guest for Echo {
    fn run(mission: String, input: String) -> Result<String, String> {
        if let Some(n) = log_count(&input) {
            for i in 0..n {
                audit::log_tool_call(
                    &mission,
                    &NewToolCall {
                        tool_name: "echo.bench".into(),
                        args: format!("{{\"i\":{i}}}"),
                        result: None,
                        success: true,
                        duration_ms: Some(0),
                        error_message: None,
                    },
                )
                .map_err(|e| e.to_string())?;
            }
        }
        Ok(input)
    }
}

vibe_tool::export!(Echo);

fn log_count(input: &str) -> Option<u64> {
    let rest = input.trim().strip_prefix("{\"log\":")?;
    rest.strip_suffix('}')?.trim().parse().ok()
}
