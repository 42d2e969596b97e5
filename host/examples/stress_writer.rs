//! Test helper: logs tool calls in a loop through the library and prints
//! each id on its own line as soon as its call has returned (and so was
//! acknowledged). Used by the multi-process and crash tests.
//!
//! Usage: stress_writer DB MISSION COUNT [full|normal]   (COUNT 0 = forever)

use std::io::Write;

use serde_json::json;
use vibe_store::{NewToolCall, OpenOptions, SqliteStore};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, db, mission, count, rest @ ..] = args.as_slice() else {
        eprintln!("usage: stress_writer DB MISSION COUNT [full|normal]");
        std::process::exit(2);
    };
    let count: u64 = count.parse().expect("COUNT is a number");
    let durability = rest
        .first()
        .map_or("full", String::as_str)
        .parse()
        .expect("durability");
    let store = SqliteStore::open_with(db, OpenOptions::default().durability(durability))
        .unwrap_or_else(|e| {
            eprintln!("stress_writer: {e}");
            std::process::exit(1);
        });
    let pid = std::process::id();
    let mut stdout = std::io::stdout().lock();
    let mut i = 0u64;
    while count == 0 || i < count {
        let call = NewToolCall::success("stress", json!({ "pid": pid, "i": i }));
        match store.log_tool_call(mission, &call) {
            Ok(id) => {
                writeln!(stdout, "{id}").expect("stdout");
                stdout.flush().expect("stdout");
            }
            Err(e) => {
                eprintln!("stress_writer: {e}");
                std::process::exit(1);
            }
        }
        i += 1;
    }
}
