//! Logs tool calls to its own mission in a tight loop, forever: only the
//! host's timeout ends it.

use vibe_tool::{audit, NewToolCall};

struct FloodWrites;

impl vibe_tool::Guest for FloodWrites {
    fn run(mission: String, _input: String) -> Result<String, String> {
        let mut i: u64 = 0;
        loop {
            audit::log_tool_call(
                &mission,
                &NewToolCall {
                    tool_name: "flood".into(),
                    args: format!("{{\"i\":{i}}}"),
                    result: None,
                    success: true,
                    duration_ms: None,
                    error_message: None,
                },
            )
            .map_err(|e| e.to_string())?;
            i += 1;
        }
    }
}

vibe_tool::export!(FloodWrites);
