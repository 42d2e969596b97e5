//! The second review's breakers: promises about policy binding on reload
//! and about signals that the code claims to keep and does not. Every test
//! is bounded: servers and runs are killed when their test ends, and every
//! wait has a timeout.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::common::mcp_stdio::McpStdio;
use crate::common::{
    cli_mission, guest, language_tool, query_text, signal, temp_db, vibe_db, wait_bounded,
};

/// Promise (README, `vibe mcp`): "A file dropped into a watched directory
/// that claims a name already served is refused (a warning naming both
/// files) and the served tool stays". Input: `planner.wasm` (the planner)
/// is served; the operator rewrites it in place (a `cp` of a new build:
/// for a moment the file holds its first 1,000 bytes) while `weather.wasm`
/// (`guest/hostile/impostor`, which names itself `planner`) is dropped in.
/// The reload that sees the truncated planner finds one claimant of
/// `planner`, the newcomer, and serves it; once the planner's file is whole
/// again, the reload treats `weather.wasm` as the incumbent and refuses the
/// operator's own `planner.wasm` for good. Happened: every later call of
/// `planner` runs the impostor.
#[test]
fn a_newcomer_takes_a_served_name_while_the_incumbent_is_rewritten_and_keeps_it() {
    let (dir, db) = temp_db();
    let tools = dir.path().join("tools");
    std::fs::create_dir_all(&tools).unwrap();
    let planner_bytes = std::fs::read(guest("planner")).unwrap();
    std::fs::write(tools.join("planner.wasm"), &planner_bytes).unwrap();
    let mut server = McpStdio::start(dir.path(), &db, &[tools.to_str().unwrap()], "breakers2");
    let before = server.call(1, "planner", json!({ "goal": "plan" }));
    assert!(
        before["result"]["structuredContent"]
            .get("impostor")
            .is_none(),
        "{before}"
    );
    // The newcomer, dropped in whole (renamed into place).
    let staged: PathBuf = dir.path().join("weather.tmp");
    std::fs::copy(guest("impostor"), &staged).unwrap();
    std::fs::rename(&staged, tools.join("weather.wasm")).unwrap();
    // The operator's rewrite of the served file, caught half-written.
    std::fs::write(tools.join("planner.wasm"), &planner_bytes[..1000]).unwrap();
    server.log_line_with(&["planner.wasm", "not a valid WebAssembly component"]);
    // ... and finished.
    std::thread::sleep(Duration::from_millis(600));
    std::fs::write(tools.join("planner.wasm"), &planner_bytes).unwrap();
    std::thread::sleep(Duration::from_secs(3));
    let after = server.call(2, "planner", json!({ "goal": "plan" }));
    assert!(
        after["result"]["structuredContent"]
            .get("impostor")
            .is_none(),
        "after planner.wasm was rewritten whole, `planner` is served by the newcomer weather.wasm: {after}"
    );
}

/// Promise (README, exit codes; docs/guarantees.md): "SIGTERM or SIGINT
/// during `vibe run` cancels the tool, completes its row as `cancelled`, and
/// exits 143 or 130". Input: `vibe run guest/hostile/slow-describe` (its
/// `describe` sleeps an hour) with `--timeout-ms 3600000`, SIGTERM 2 s
/// after start. Happened: the signal is ignored while `describe` runs (it
/// is driven without the cancel flag); the process goes on until the
/// describe limit (10 s), then exits 4 with a `load_error` row.
#[test]
fn vibe_run_stopped_by_sigterm_while_describe_runs_is_cancelled_at_once() {
    let (dir, db) = temp_db();
    let (mission, _) = cli_mission(dir.path(), &db);
    let mut child = vibe_db(dir.path(), &db)
        .args([
            "run",
            guest("slow-describe").to_str().unwrap(),
            "--mission",
            &mission,
            "--input",
            "{}",
            "--timeout-ms",
            "3600000",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(2));
    signal(&child, libc::SIGTERM);
    let signalled = Instant::now();
    let status = wait_bounded(&mut child, Duration::from_secs(60)).expect("exits within 60 s");
    let took = signalled.elapsed();
    let outcomes = query_text(&db, "SELECT group_concat(outcome) FROM tool_calls");
    assert_eq!(
        (status.code(), outcomes.as_str()),
        (Some(143), "cancelled"),
        "after SIGTERM: exit {status:?} after {took:?}, rows {outcomes:?}"
    );
    assert!(took < Duration::from_secs(3), "took {took:?} after SIGTERM");
}

/// Promise (README): "`vibe mcp` stopped by either signal cancels the calls
/// in flight, completes their rows and exits 0". Input: `vibe mcp DIR` with
/// `guest/target/js/hostile.wasm` (12 MB) in DIR and an empty
/// `VIBE_CACHE_DIR`, SIGTERM 1 s after start, while the component compiles.
/// Happened: the handlers are installed only after every tool has loaded,
/// so the process dies of the signal (no exit status, nothing said).
#[test]
fn vibe_mcp_stopped_by_sigterm_while_loading_its_tools_exits_0() {
    let (dir, db) = temp_db();
    let tools = dir.path().join("tools");
    std::fs::create_dir_all(&tools).unwrap();
    let js = language_tool("js", "hostile");
    std::fs::copy(&js, tools.join("hostile.wasm")).unwrap();
    let mut child = vibe_db(dir.path(), &db)
        .env("VIBE_CACHE_DIR", dir.path().join("empty-cache"))
        .arg("mcp")
        .arg(&tools)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(1));
    signal(&child, libc::SIGTERM);
    let status = wait_bounded(&mut child, Duration::from_secs(120)).expect("exits within 120 s");
    assert_eq!(
        status.code(),
        Some(0),
        "vibe mcp stopped by SIGTERM while loading: {status:?}"
    );
}
