//! Logs three tool calls (each acknowledged by the store), then panics, which
//! traps. The three rows must stay: they were acknowledged.

use vibe_tool::{audit, NewToolCall};

struct TrapAfterWrites;

impl vibe_tool::Guest for TrapAfterWrites {
    fn run(mission: String, _input: String) -> Result<String, String> {
        for i in 0..3 {
            audit::log_tool_call(
                &mission,
                &NewToolCall {
                    tool_name: "trap-after-writes.step".into(),
                    args: format!("{{\"step\":{i}}}"),
                    result: None,
                    success: true,
                    duration_ms: None,
                    error_message: None,
                },
            )
            .map_err(|e| e.to_string())?;
        }
        panic!("deliberate trap after three acknowledged writes");
    }
}

vibe_tool::export!(TrapAfterWrites);
