//! Returns text that is not JSON (or, with input `"big"`, 2 MiB of JSON).
//! The host must fail the run rather than store it.

struct BadOutput;

impl vibe_tool::Guest for BadOutput {
    fn run(_mission: String, input: String) -> Result<String, String> {
        if input == "\"big\"" {
            Ok(format!("\"{}\"", "x".repeat(2 * 1024 * 1024)))
        } else {
            Ok("{\"unterminated\": ".into())
        }
    }
}

vibe_tool::export!(BadOutput);
