//! Helper processes for the multi-process and crash tests: the test binary
//! itself, started with `VIBE_STRESS_WRITER` set and told to run only the
//! function below, ignored otherwise (see `common::stress_writer`). It is a
//! program the other tests drive, not a test of its own, so an ordinary run
//! does not count it as one.
//!
//! As a helper it logs tool calls in a loop through the library and prints
//! each id on its own line as soon as its call has returned (and so was
//! acknowledged). Arguments, tab-separated in the variable:
//! `DB MISSION COUNT [full|normal] [THREADS]` (DB a path or a PostgreSQL
//! URL; COUNT per thread; 0 =
//! forever). Lines that are not ids (the test harness's own) are ignored by
//! the reader.
//!
//! `read_only_reader` is a second helper: a library reader the file tests
//! start as another user.

use std::io::Write;

use serde_json::json;
use vibe_store::{AnyStore, MissionId, MissionStore, NewToolCall, OpenOptions};

#[test]
#[ignore = "a helper process the crash and multi-process tests start, not a test"]
fn stress_writer() {
    let args = std::env::var("VIBE_STRESS_WRITER")
        .expect("started by common::stress_writer, which sets VIBE_STRESS_WRITER");
    let args: Vec<&str> = args.split('\t').collect();
    let [db, mission, count, rest @ ..] = args.as_slice() else {
        panic!("VIBE_STRESS_WRITER: DB MISSION COUNT [full|normal] [THREADS]");
    };
    let mission: MissionId = mission.parse().expect("MISSION is a mission id");
    let count: u64 = count.parse().expect("COUNT is a number");
    let durability = rest
        .first()
        .copied()
        .unwrap_or("full")
        .parse()
        .expect("durability");
    let threads: u64 = rest.get(1).map_or(Ok(1), |t| t.parse()).expect("THREADS");
    let store = AnyStore::open_with(db, OpenOptions::default().durability(durability))
        .unwrap_or_else(|e| {
            eprintln!("stress_writer: {e}");
            std::process::exit(1);
        });
    // End whatever line the harness began, so the first id stands alone.
    println!();
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

fn write_loop(store: &AnyStore, mission: &MissionId, count: u64, thread: u64) {
    let pid = std::process::id();
    let mut i = 0u64;
    while count == 0 || i < count {
        let call = NewToolCall::success("stress", json!({ "pid": pid, "t": thread, "i": i }));
        match store.log_tool_call(mission, call) {
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

/// A reader process for the tests of who may read what: opens the database
/// in `VIBE_READ_ONLY_READER` (`DB\tMISSION`) read-only through the library
/// and prints how many tool calls the mission has, or the error with exit 1.
#[test]
#[ignore = "a helper process the file tests start, not a test"]
fn read_only_reader() {
    let args = std::env::var("VIBE_READ_ONLY_READER")
        .expect("started by a test that sets VIBE_READ_ONLY_READER");
    let (db, mission) = args.split_once('\t').expect("DB\tMISSION");
    let mission: MissionId = mission.parse().expect("MISSION is a mission id");
    let read = vibe_store::SqliteStore::open_with(db, OpenOptions::default().read_only())
        .and_then(|store| store.get_tool_history(&mission));
    match read {
        Ok(calls) => println!("\nrows: {}", calls.len()),
        Err(e) => {
            eprintln!("refused: {e}");
            std::process::exit(1);
        }
    }
}
