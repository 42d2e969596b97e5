//! Blocks inside a WASI host call, never in wasm code: only a deadline that
//! reaches into host calls (or cancellation) ends it. The input names the
//! way (`{"case": "sleep"}`); each blocks for an hour or forever.

use std::time::Duration;

use wasip2::cli::{stdin, stdout};
use wasip2::clocks::{monotonic_clock, wall_clock};
use wasip2::io::poll;

const HOUR_NS: u64 = 3_600 * 1_000_000_000;

struct Block;

impl vibe_tool::Guest for Block {
    fn run(_mission: String, input: String) -> Result<String, String> {
        let input: serde_json::Value = serde_json::from_str(&input).map_err(|e| e.to_string())?;
        match input["case"].as_str().unwrap_or_default() {
            // std's sleep: subscribe-duration, then block on it.
            "sleep" => std::thread::sleep(Duration::from_secs(3_600)),
            // The pollable by hand.
            "subscribe-block" => monotonic_clock::subscribe_duration(HOUR_NS).block(),
            // poll on several pollables, none of which will be ready.
            "poll-many" => {
                let now = monotonic_clock::now();
                let a = monotonic_clock::subscribe_duration(HOUR_NS);
                let b = monotonic_clock::subscribe_instant(now.saturating_add(2 * HOUR_NS));
                let c = monotonic_clock::subscribe_duration(3 * HOUR_NS);
                let _ = poll::poll(&[&a, &b, &c]);
            }
            // Many short waits in a row: each host call returns, the run as a
            // whole must still end at the deadline.
            "short-sleeps" => loop {
                std::thread::sleep(Duration::from_millis(20));
            },
            // A blocking read of stdin, again and again (it may be closed).
            "read-stdin" => loop {
                let _ = stdin::get_stdin().blocking_read(1);
                let _ = stdin::get_stdin().subscribe().block();
            },
            // Blocking writes of stdout, again and again.
            "write-stdout" => {
                let out = stdout::get_stdout();
                let chunk = vec![b'x'; 4096];
                loop {
                    let _ = out.blocking_write_and_flush(&chunk);
                    out.subscribe().block();
                }
            }
            // The wall clock has no pollable; a busy read of it is wasm code.
            "wall-clock" => loop {
                std::hint::black_box(wall_clock::now());
            },
            other => return Err(format!("unknown case {other:?}")),
        }
        Ok("{}".into())
    }
}

vibe_tool::export!(Block);
