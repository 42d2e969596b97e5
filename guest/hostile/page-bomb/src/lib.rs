//! Fills its own mission with the largest rows the store accepts, then asks
//! for all of them in one page: the host must bound the page in bytes, not
//! only in rows, and keep to the invocation's deadline while reading it.
//!
//! Input `"fill"`: logs 10 tool calls whose args are 1 MiB arrays of zeros
//! (524,287 elements). Input `"read"`: one `get-tool-history(mission, none,
//! 1000)`, returning how many rows and bytes came back. Input `"page-all"`:
//! pages through the whole history, returning rows and pages seen.

use vibe_tool::{audit, NewToolCall};

struct PageBomb;

const ZEROS: usize = 524_287;

impl vibe_tool::Guest for PageBomb {
    fn run(mission: String, input: String) -> Result<String, String> {
        match input.as_str() {
            "\"fill\"" => {
                let mut args = String::with_capacity(2 * ZEROS + 1);
                args.push('[');
                for i in 0..ZEROS {
                    args.push_str(if i == 0 { "0" } else { ",0" });
                }
                args.push(']');
                for _ in 0..10 {
                    let call = NewToolCall {
                        tool_name: "page-bomb.fill".into(),
                        args: args.clone(),
                        result: None,
                        success: true,
                        duration_ms: None,
                        error_message: None,
                    };
                    audit::log_tool_call(&mission, &call).map_err(|e| e.to_string())?;
                }
                Ok(format!("{{\"logged\":10,\"args_bytes\":{}}}", args.len()))
            }
            "\"read\"" => {
                let page = audit::get_tool_history(&mission, None, 1000).map_err(|e| e.to_string())?;
                let bytes: usize = page.iter().map(|c| c.args.len()).sum();
                Ok(format!("{{\"rows\":{},\"args_bytes\":{bytes}}}", page.len()))
            }
            "\"page-all\"" => {
                let (mut after, mut rows, mut pages) = (None, 0usize, 0usize);
                loop {
                    let page = audit::get_tool_history(&mission, after, 1000).map_err(|e| e.to_string())?;
                    let Some(last) = page.last() else { break };
                    after = Some(last.id);
                    rows += page.len();
                    pages += 1;
                }
                Ok(format!("{{\"rows\":{rows},\"pages\":{pages}}}"))
            }
            other => Err(format!("unknown input {other}")),
        }
    }
}

vibe_tool::export!(PageBomb);
