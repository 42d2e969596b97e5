//! Output and error text at and past the limits, shaped to catch a host
//! that re-serialises what a tool returned or drops what it cannot store.
//!
//! - `"exponents"`: `[1e1,1e1,...]`, 1,048,573 bytes: under the 1 MiB limit
//!   as written, over it if `1e1` were re-serialised as `1e+1`.
//! - `"big-number"`: `{"n":1e400,"b":2,"a":1}`: a number beyond f64, keys out
//!   of order.
//! - `"over"`: a JSON string one byte over the limit.
//! - `"huge-error"`: an error message of 1 MiB (the trail keeps 64 KiB).

struct EdgeOutput;

impl vibe_tool::Guest for EdgeOutput {
    fn run(_mission: String, input: String) -> Result<String, String> {
        match input.as_str() {
            "\"exponents\"" => {
                let count = 262_143;
                let mut out = String::with_capacity(4 * count + 1);
                out.push('[');
                for i in 0..count {
                    out.push_str(if i == 0 { "1e1" } else { ",1e1" });
                }
                out.push(']');
                Ok(out)
            }
            "\"big-number\"" => Ok("{\"n\":1e400,\"b\":2,\"a\":1}".into()),
            "\"over\"" => Ok(format!("\"{}\"", "y".repeat(1024 * 1024 - 1))),
            "\"huge-error\"" => Err(format!("begin{}end", "é".repeat(512 * 1024))),
            other => Err(format!("unknown input {other}")),
        }
    }
}

vibe_tool::export!(EdgeOutput);
