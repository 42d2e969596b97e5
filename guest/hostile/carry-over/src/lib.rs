//! Tries to carry state from one invocation to the next: counts its calls
//! in a static, remembers the last mission and input it saw, grows its
//! heap, and logs one tool call to its mission. Returns
//! `{"calls":N,"previous":"MISSION INPUT"|null,"logged":ID,"pages":P}`;
//! a fresh instance for every invocation says `"calls":1,"previous":null`.

use std::sync::Mutex;

use vibe_tool::{audit, NewToolCall};

static SEEN: Mutex<(u32, Option<String>)> = Mutex::new((0, None));

struct CarryOver;

impl vibe_tool::Guest for CarryOver {
    fn run(mission: String, input: String) -> Result<String, String> {
        let mut seen = SEEN.lock().unwrap();
        seen.0 += 1;
        let previous = seen.1.replace(format!("{mission} {input}"));
        // A heap left larger than the image's, were the memory kept.
        let ballast = vec![1u8; 256 << 10];
        std::hint::black_box(&ballast);
        let call = NewToolCall {
            tool_name: "carry-over.step".into(),
            args: input.clone(),
            result: None,
            success: true,
            duration_ms: None,
            error_message: None,
        };
        let logged = audit::log_tool_call(&mission, &call).map_err(|e| e.to_string())?;
        let previous = match previous {
            Some(text) => format!("{text:?}"),
            None => "null".into(),
        };
        Ok(format!(
            "{{\"calls\":{},\"previous\":{previous},\"logged\":{logged},\"pages\":{}}}",
            seen.0,
            core::arch::wasm32::memory_size(0)
        ))
    }
}

vibe_tool::export!(CarryOver);
