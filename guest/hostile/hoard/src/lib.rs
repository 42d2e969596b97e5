//! Makes the host hold memory on the guest's behalf, outside its linear
//! memory and so outside its memory limit: `wasi:http` `fields` resources,
//! each holding one ~100 KB header value copied from the same small guest
//! buffer. Then it blocks for an hour, holding them. Input:
//! `{"case": "fields", "count": N, "size": BYTES}` (size 100,000 by default);
//! `{"case": "big-output", "count": N}` returns `{"s": "xxx…"}` of N x's.

use std::time::Duration;

use wasip2::http::types::Fields;

struct Hoard;

impl vibe_tool::Guest for Hoard {
    fn run(_mission: String, input: String) -> Result<String, String> {
        let input: serde_json::Value = serde_json::from_str(&input).map_err(|e| e.to_string())?;
        let count = input["count"].as_u64().unwrap_or(1_000) as usize;
        match input["case"].as_str().unwrap_or_default() {
            "fields" => {
                let size = input["size"].as_u64().unwrap_or(100_000) as usize;
                let entry = [("x-hoard".to_string(), vec![b'a'; size])];
                let mut held = Vec::with_capacity(count);
                for _ in 0..count {
                    held.push(Fields::from_list(&entry).map_err(|e| format!("{e:?}"))?);
                }
                println!("holding {} fields", held.len());
                std::thread::sleep(Duration::from_secs(3_600));
                drop(held);
            }
            // A big answer from a small request: what a client that never
            // reads its answers leaves the server holding.
            "big-output" => {
                return Ok(format!("{{\"s\":\"{}\"}}", "x".repeat(count)));
            }
            other => return Err(format!("unknown case {other:?}")),
        }
        Ok("{}".into())
    }
}

vibe_tool::export!(Hoard);
