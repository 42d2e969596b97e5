//! Test helper: logs tool calls in a loop through the library and prints
//! each id on its own line as soon as its call has returned (and so was
//! acknowledged). Used by the multi-process and crash tests.
//!
//! Usage: stress_writer DB MISSION COUNT [full|normal] [THREADS]
//! (COUNT per thread; 0 = forever)

use std::io::Write;

use serde_json::json;
use vibe_store::{NewToolCall, OpenOptions, SqliteStore};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, db, mission, count, rest @ ..] = args.as_slice() else {
        eprintln!("usage: stress_writer DB MISSION COUNT [full|normal] [THREADS]");
        std::process::exit(2);
    };
    let count: u64 = count.parse().expect("COUNT is a number");
    let durability = rest
        .first()
        .map_or("full", String::as_str)
        .parse()
        .expect("durability");
    let threads: u64 = rest
        .get(1)
        .map_or(Ok(1), |t| t.parse())
        .expect("THREADS is a number");
    let store = SqliteStore::open_with(db, OpenOptions::default().durability(durability))
        .unwrap_or_else(|e| {
            eprintln!("stress_writer: {e}");
            std::process::exit(1);
        });
    let writers: Vec<_> = (0..threads)
        .map(|t| {
            let (store, mission) = (store.clone(), mission.clone());
            std::thread::spawn(move || write_loop(&store, &mission, count, t))
        })
        .collect();
    for w in writers {
        w.join().expect("writer thread");
    }
}

fn write_loop(store: &SqliteStore, mission: &str, count: u64, thread: u64) {
    let pid = std::process::id();
    let mut i = 0u64;
    while count == 0 || i < count {
        let call = NewToolCall::success("stress", json!({ "pid": pid, "t": thread, "i": i }));
        match store.log_tool_call(mission, &call) {
            Ok(id) => {
                // One write per line, so a kill cannot interleave two ids.
                let mut out = std::io::stdout().lock();
                writeln!(out, "{id}")
                    .and_then(|()| out.flush())
                    .expect("stdout");
            }
            Err(e) => {
                eprintln!("stress_writer: {e}");
                std::process::exit(1);
            }
        }
        i += 1;
    }
}
