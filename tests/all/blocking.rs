//! Tools that block inside a host call rather than in wasm code: every WASI
//! call a guest can wait in (a clock's pollable, `poll` on several, blocking
//! stream reads and writes), in Rust, Python and JavaScript, ends at the
//! invocation's deadline or when it is cancelled; so do a store write waiting
//! for another connection's lock, and `describe` while a tool loads; and a
//! polite stop (SIGTERM, SIGINT) of `vibe run` or `vibe mcp`, even while tools
//! load, completes the rows of what was running.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use vibe_store::sandbox::{FailureKind, Limits, Request};
use vibe_store::{MissionStore, Phase, SqliteStore};

use crate::common::mcp_stdio::{initialize_raw, mcp_child, McpStdio};
use crate::common::runtime::runtime;
use crate::common::{
    cli_mission, count, guest, language_tool, long_block_policy, query_text, served, signal,
    temp_db, vibe_db, wait_bounded, wait_for_row, wait_for_running,
};

/// How far past its deadline (or its cancellation) a blocked run may end in
/// these tests: far above what it takes (a few milliseconds, see
/// docs/guarantees.md), far below the hour each fixture would block for, so
/// a loaded two-core machine cannot make the test flaky and a run that was
/// not stopped cannot pass.
const BOUND: Duration = Duration::from_secs(3);

/// Every way of blocking, by fixture and input.
fn blocking_cases() -> Vec<(String, Value)> {
    let rust = guest("block");
    let mut cases: Vec<(String, Value)> = [
        "sleep",
        "subscribe-block",
        "poll-many",
        "short-sleeps",
        "read-stdin",
        "write-stdout",
    ]
    .iter()
    .map(|case| (rust.display().to_string(), json!({ "case": case })))
    .collect();
    for (language, ways) in [
        ("python", &["sleep", "read-stdin", "write-stdout"][..]),
        ("js", &["sleep"][..]),
    ] {
        let tool = language_tool(language, "hostile");
        for way in ways {
            cases.push((tool.display().to_string(), json!({ "case": way })));
        }
    }
    cases
}

fn outcome_of(store: &SqliteStore, call_id: i64) -> String {
    query_text(
        store.path(),
        &format!("SELECT outcome FROM tool_calls WHERE id = {call_id}"),
    )
}

#[test]
fn a_tool_blocked_in_any_wasi_host_call_ends_at_its_deadline() {
    let (_dir, path) = temp_db();
    let store = SqliteStore::open(&path).unwrap();
    let runtime = runtime(store.clone(), 2);
    let timeout = Duration::from_millis(500);
    let limits = Limits::default().timeout(timeout).unwrap();
    for (tool, input) in blocking_cases() {
        let mission = store
            .create_mission(Phase::Testing, json!({}).into())
            .unwrap();
        let loaded = runtime.load(&tool).unwrap();
        let started = Instant::now();
        let report = runtime
            .run(
                &loaded,
                &Request::new(mission.clone(), input.clone()).limits(limits),
            )
            .unwrap();
        let took = started.elapsed();
        let failure = report.outcome.unwrap_err();
        assert_eq!(
            failure.kind,
            FailureKind::Timeout,
            "{tool} {input}: {}",
            failure.message
        );
        assert!(failure.message.contains("500 ms"), "{}", failure.message);
        assert!(
            took >= timeout && took < timeout + BOUND,
            "{tool} {input}: ended after {took:?}"
        );
        assert_eq!(outcome_of(&store, report.call_id.get()), "timeout");
        let rows = store.get_tool_history(&mission).unwrap();
        assert_eq!(rows.len(), 1, "{tool} {input}: exactly one row");
    }
}

#[test]
fn a_tool_blocked_in_a_host_call_is_cancelled_at_once() {
    let (_dir, path) = temp_db();
    let store = SqliteStore::open(&path).unwrap();
    let runtime = runtime(store.clone(), 2);
    // A deadline an hour away: only the cancellation can end these runs.
    let limits = Limits::default()
        .timeout(Duration::from_secs(3_600))
        .unwrap();
    for (tool, input) in blocking_cases() {
        let mission = store
            .create_mission(Phase::Testing, json!({}).into())
            .unwrap();
        let loaded = runtime.load(&tool).unwrap();
        let flag = Arc::new(AtomicBool::new(false));
        let request = Request::new(mission.clone(), input.clone())
            .limits(limits)
            .cancel_flag(flag.clone());
        let running = {
            let runtime = runtime.clone();
            std::thread::spawn(move || runtime.run(&loaded, &request).unwrap())
        };
        wait_for_row(&path, mission.as_ref(), "running");
        let cancelled_at = Instant::now();
        flag.store(true, Ordering::Relaxed);
        let report = running.join().unwrap();
        let took = cancelled_at.elapsed();
        let failure = report.outcome.unwrap_err();
        assert_eq!(
            failure.kind,
            FailureKind::Cancelled,
            "{tool} {input}: {}",
            failure.message
        );
        assert!(
            took < BOUND,
            "{tool} {input}: ended {took:?} after the cancel"
        );
        assert_eq!(outcome_of(&store, report.call_id.get()), "cancelled");
    }
}

/// A store call the guest is blocked in gives up when the invocation is
/// cancelled. `flood-writes` logs rows in a loop; another connection takes
/// SQLite's write lock, so the tool's next write waits for it; the
/// invocation is then cancelled (deadline an hour away). The waiting write
/// must give up at the cancel (the busy handler checks the cancel flag as
/// well as the deadline), committing no row for the cancelled invocation
/// once the lock is released, 3 s later.
#[test]
fn a_store_write_waiting_on_another_connections_lock_gives_up_when_cancelled() {
    let (_dir, path) = temp_db();
    let store = SqliteStore::open(&path).unwrap();
    let runtime = runtime(store.clone(), 2);
    let tool = runtime.load(guest("flood-writes")).unwrap();
    let mission = store
        .create_mission(Phase::Testing, json!({}).into())
        .unwrap();
    let flag = Arc::new(AtomicBool::new(false));
    let request = Request::new(mission.clone(), json!({}))
        .limits(
            Limits::default()
                .timeout(Duration::from_secs(3_600))
                .unwrap(),
        )
        .cancel_flag(flag.clone());
    let (done_tx, done) = mpsc::channel();
    {
        let runtime = runtime.clone();
        std::thread::spawn(move || {
            let _ = done_tx.send(runtime.run(&tool, &request));
        });
    }
    let flood_rows = || {
        count(
            &path,
            "SELECT COUNT(*) FROM tool_calls WHERE tool_name = 'flood'",
        )
    };
    let waited = Instant::now();
    while flood_rows() < 10 {
        assert!(
            waited.elapsed() < Duration::from_secs(60),
            "the tool never wrote"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let holder = rusqlite::Connection::open(&path).unwrap();
    holder.busy_timeout(Duration::from_secs(30)).unwrap();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    // The tool's next write is now waiting for the lock.
    std::thread::sleep(Duration::from_millis(500));
    let at_cancel = flood_rows();
    flag.store(true, Ordering::Relaxed);
    std::thread::sleep(Duration::from_secs(3));
    holder.execute_batch("COMMIT").unwrap();
    let report = done
        .recv_timeout(Duration::from_secs(60))
        .expect("the run ends once the lock is released")
        .unwrap();
    let after = flood_rows();
    assert_eq!(
        report.outcome.as_ref().map_err(|f| f.kind).unwrap_err(),
        FailureKind::Cancelled
    );
    assert_eq!(
        after,
        at_cancel,
        "the store call blocked when the invocation was cancelled did not give up: \
         it committed {} row(s) for the cancelled invocation after the cancel",
        after - at_cancel
    );
}

#[test]
fn a_call_waiting_for_a_slot_gets_it_when_a_blocked_call_times_out() {
    let (_dir, path) = temp_db();
    let store = SqliteStore::open(&path).unwrap();
    // One slot: the sleeper holds it until its deadline.
    let runtime = runtime(store.clone(), 1);
    let (block, echo) = (
        runtime.load(guest("block")).unwrap(),
        runtime.load(guest("echo")).unwrap(),
    );
    let mission = store
        .create_mission(Phase::Testing, json!({}).into())
        .unwrap();
    let sleeper = {
        let (runtime, request) = (
            runtime.clone(),
            Request::new(mission.clone(), json!({ "case": "sleep" })).limits(
                Limits::default()
                    .timeout(Duration::from_millis(500))
                    .unwrap(),
            ),
        );
        std::thread::spawn(move || runtime.run(&block, &request).unwrap())
    };
    wait_for_row(&path, mission.as_ref(), "running");
    let waited = Instant::now();
    let report = runtime
        .run(
            &echo,
            &Request::new(mission.clone(), json!({ "after": "sleeper" })),
        )
        .unwrap();
    assert_eq!(report.outcome.unwrap().as_str(), r#"{"after":"sleeper"}"#);
    assert!(waited.elapsed() < Duration::from_millis(500) + BOUND);
    let slept = sleeper.join().unwrap();
    assert_eq!(slept.outcome.unwrap_err().kind, FailureKind::Timeout);
}

#[test]
fn loading_a_tool_whose_describe_blocks_fails_at_the_describe_deadline() {
    let (_dir, path) = temp_db();
    let store = SqliteStore::open(&path).unwrap();
    let runtime = runtime(store.clone(), 2);
    let started = Instant::now();
    let refused = match runtime.load(guest("slow-describe")) {
        Ok(_) => panic!("a describe that never returns cannot load"),
        Err(e) => e.to_string(),
    };
    let took = started.elapsed();
    let limit = Limits::default().timeout_duration();
    assert!(refused.contains("timed out"), "{refused}");
    assert!(
        took >= limit && took < limit + BOUND,
        "loading ended after {took:?}"
    );
    // Loading is not an invocation: no row anywhere.
    assert_eq!(count(&path, "SELECT COUNT(*) FROM tool_calls"), 0);
    // The runtime still serves.
    let mission = store
        .create_mission(Phase::Testing, json!({}).into())
        .unwrap();
    let echo = runtime.load(guest("echo")).unwrap();
    let report = runtime
        .run(&echo, &Request::new(mission, json!({ "still": "here" })))
        .unwrap();
    assert!(report.outcome.is_ok());
}

#[test]
fn vibe_run_stopped_by_a_signal_cancels_the_tool_and_completes_its_row() {
    for (sig, code) in [
        (libc::SIGTERM, 143),
        (libc::SIGINT, 130),
        (libc::SIGHUP, 129),
    ] {
        let (dir, db) = temp_db();
        let (mission, _) = cli_mission(dir.path(), &db);
        let mut child = vibe_db(dir.path(), &db)
            .args([
                "run",
                guest("block").to_str().unwrap(),
                "--mission",
                &mission,
            ])
            .args(["--input", r#"{"case":"sleep"}"#, "--timeout-ms", "3600000"])
            .args(if sig != libc::SIGINT {
                &["--json"][..]
            } else {
                &[][..]
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        wait_for_row(&db, &mission, "running");
        if sig == libc::SIGHUP {
            // As when the terminal closed: nothing reads stdout or stderr
            // any more; neither the report that cannot be written nor
            // saying why may change the exit code (it was 0, or a panic).
            drop(child.stdout.take());
            drop(child.stderr.take());
        }
        signal(&child, sig);
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{stderr}");
        assert!(
            sig == libc::SIGHUP || stderr.contains("cancelled"),
            "{stderr}"
        );
        if sig == libc::SIGTERM {
            // --json still reports the invocation as its row records it.
            let report: Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(report["outcome"], "cancelled", "{report}");
        }
        assert_eq!(
            query_text(&db, "SELECT group_concat(outcome) FROM tool_calls"),
            "cancelled"
        );
    }
}

#[test]
fn vibe_mcp_stopped_by_a_signal_cancels_calls_in_flight_and_completes_their_rows() {
    for sig in [libc::SIGTERM, libc::SIGHUP] {
        mcp_stopped_by(sig);
    }
}

fn mcp_stopped_by(sig: libc::c_int) {
    let (dir, db) = temp_db();
    vibe_db(dir.path(), &db).arg("init").output().unwrap();
    let tools = served(dir.path(), &["block"]);
    let policy = long_block_policy(dir.path());
    let mut child = mcp_child(
        dir.path(),
        &db,
        &[
            tools.to_str().unwrap(),
            "--policy",
            policy.to_str().unwrap(),
        ],
    );
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    initialize_raw(&mut stdin, &mut stdout);
    for id in [1, 2] {
        let call = json!({ "jsonrpc": "2.0", "id": id, "method": "tools/call",
            "params": { "name": "block", "arguments": { "case": "sleep" } } });
        writeln!(stdin, "{call}").unwrap();
        stdin.flush().unwrap();
    }
    wait_for_running(&db, 2);
    let stopped_at = Instant::now();
    signal(&child, sig);
    // Every call asked before the stop is answered, with its cancelled
    // result, before the server exits (its output ends).
    let (sent, read) = mpsc::channel();
    std::thread::spawn(move || {
        let answers: Vec<Value> = stdout
            .lines()
            .map(|line| serde_json::from_str(&line.unwrap()).unwrap())
            .collect();
        let _ = sent.send(answers);
    });
    let answers = read
        .recv_timeout(BOUND)
        .expect("the server's output ends within the bound");
    let status = child.wait().unwrap();
    assert!(
        stopped_at.elapsed() < BOUND,
        "took {:?}",
        stopped_at.elapsed()
    );
    assert!(status.success(), "{status:?}");
    assert_eq!(
        query_text(&db, "SELECT group_concat(outcome) FROM tool_calls"),
        "cancelled,cancelled"
    );
    let mut ids: Vec<i64> = answers.iter().map(|a| a["id"].as_i64().unwrap()).collect();
    ids.sort();
    assert_eq!(ids, [1, 2], "{answers:?}");
    for answer in &answers {
        assert_eq!(answer["result"]["isError"], true, "{answer}");
        let text = answer["result"]["content"][0]["text"].as_str().unwrap();
        assert!(text.starts_with("cancelled"), "{answer}");
    }
}

/// A signal before the client has sent `initialize` ends the server at
/// once (the session had not begun: nothing to answer).
#[test]
fn vibe_mcp_stopped_before_initialize_exits_at_once() {
    let (dir, db) = temp_db();
    vibe_db(dir.path(), &db).arg("init").output().unwrap();
    let tools = served(dir.path(), &["echo"]);
    let mut child = vibe_db(dir.path(), &db)
        .args(["mcp", tools.to_str().unwrap()])
        .env("VIBE_LOG", "info")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    // Held open until it exits (`Child::wait` would close it first, and
    // the end of stdin would end the session before the signal could).
    let _stdin = child.stdin.take().unwrap();
    // Its tools loaded: the session waits for `initialize`.
    let mut line = String::new();
    while !line.contains("serving 1 tools") {
        line.clear();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "no serving line");
    }
    let stopped_at = Instant::now();
    signal(&child, libc::SIGTERM);
    let status = child.wait().unwrap();
    let mut said = String::new();
    stderr.read_to_string(&mut said).unwrap();
    assert!(
        stopped_at.elapsed() < BOUND,
        "took {:?}",
        stopped_at.elapsed()
    );
    assert!(status.success(), "{status:?} {said}");
    assert!(said.contains("stopped by SIGTERM"), "{said}");
}

/// A client that closes stdin ends its session. A call it sent just before
/// still runs and is answered (the SDK gives calls in flight 5 s to
/// finish, so `printf ... | vibe mcp` works); one still running then is
/// cancelled, its row ends `cancelled`, it gets no answer, and the server
/// exits.
#[test]
fn vibe_mcp_whose_client_closes_stdin_answers_quick_calls_and_cancels_the_rest() {
    let (dir, db) = temp_db();
    vibe_db(dir.path(), &db).arg("init").output().unwrap();
    let mut server = McpStdio::serving_block(dir.path(), &db, &["block", "echo"], &[]);
    server.send_call(1, "block", json!({ "case": "sleep" }));
    let deadline = Instant::now() + Duration::from_secs(60);
    while count(
        &db,
        "SELECT COUNT(*) FROM tool_calls WHERE outcome = 'running'",
    ) < 1
    {
        assert!(Instant::now() < deadline, "the call should be running");
        std::thread::sleep(Duration::from_millis(20));
    }
    server.send_call(2, "echo", json!({ "last": "words" }));
    server.close_stdin();
    let answer = server.next();
    assert_eq!(answer["id"], 2);
    assert_eq!(
        answer["result"]["structuredContent"],
        json!({ "last": "words" })
    );
    // No other answer: the server's stdout ends (it exits) first.
    let more = server.answer(Duration::from_secs(60));
    assert!(more.is_none(), "{more:?}");
    let (stderr, code) = server.finish();
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(
        query_text(
            &db,
            "SELECT group_concat(tool_name || ':' || outcome) FROM tool_calls ORDER BY id"
        ),
        "block:cancelled,echo:ok"
    );
}

/// SIGTERM during `vibe run` cancels the tool, completes its row as
/// `cancelled` and exits 143, also while the tool is still loading:
/// `vibe run guest/hostile/slow-describe` (its `describe` sleeps an hour)
/// with `--timeout-ms 3600000`, SIGTERM 2 s after start. (Driven without
/// the cancel flag, `describe` would run on to the describe limit, 10 s,
/// and the run end with exit 4 and a `load_error` row.)
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

/// `vibe mcp` stopped by a signal exits 0, also while it is still loading
/// its tools: `vibe mcp DIR` with `guest/target/js/hostile.wasm` (12 MB) in
/// DIR and an empty `VIBE_CACHE_DIR`, SIGTERM 1 s after start, while the
/// component compiles. (With the handlers installed only once every tool
/// had loaded, the process would die of the signal, with no exit status.)
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

#[test]
fn a_tool_run_from_a_task_on_a_multi_threaded_runtime_is_bounded_the_same_way() {
    let (_dir, path) = temp_db();
    let store = SqliteStore::open(&path).unwrap();
    let runtime = runtime(store.clone(), 2);
    let block = runtime.load(guest("block")).unwrap();
    let mission = store
        .create_mission(Phase::Testing, json!({}).into())
        .unwrap();
    let request = Request::new(mission, json!({ "case": "sleep" })).limits(
        Limits::default()
            .timeout(Duration::from_millis(500))
            .unwrap(),
    );
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // Called straight from async code, not through spawn_blocking.
    let report = tokio
        .block_on(async { tokio::spawn(async move { runtime.run(&block, &request) }).await })
        .unwrap()
        .unwrap();
    assert_eq!(report.outcome.unwrap_err().kind, FailureKind::Timeout);
    assert!(report.duration < Duration::from_millis(500) + BOUND);
}

#[test]
fn a_tool_runs_and_is_bounded_whatever_runtime_the_embedder_built() {
    let (_dir, path) = temp_db();
    let store = SqliteStore::open(&path).unwrap();
    let runtime = runtime(store.clone(), 2);
    let (block, echo) = (
        runtime.load(guest("block")).unwrap(),
        runtime.load(guest("echo")).unwrap(),
    );
    let mission = store
        .create_mission(Phase::Testing, json!({}).into())
        .unwrap();
    let short = Limits::default()
        .timeout(Duration::from_millis(500))
        .unwrap();
    // No timers, no I/O driver: a runtime built with defaults alone; and a
    // current-thread one. Tools run through spawn_blocking on each.
    for tokio in [
        tokio::runtime::Builder::new_multi_thread().build().unwrap(),
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap(),
    ] {
        let (runtime, block, echo) = (runtime.clone(), block.clone(), echo.clone());
        let (slept, echoed) = (
            Request::new(mission.clone(), json!({ "case": "sleep" })).limits(short),
            Request::new(mission.clone(), json!({ "fine": true })),
        );
        let (slept, echoed) = tokio.block_on(async move {
            tokio::task::spawn_blocking(move || {
                (
                    runtime.run(&block, &slept).unwrap(),
                    runtime.run(&echo, &echoed).unwrap(),
                )
            })
            .await
            .unwrap()
        });
        assert_eq!(slept.outcome.unwrap_err().kind, FailureKind::Timeout);
        assert_eq!(echoed.outcome.unwrap().as_str(), r#"{"fine":true}"#);
    }
}

/// A client that sent its calls, closed stdin and never reads its answers
/// leaves the server blocked writing them; a signal then ends it within
/// the stop's grace for writing (2 s), not never.
#[test]
fn vibe_mcp_stopped_while_its_answers_wait_unread_exits_after_the_grace() {
    let (dir, db) = temp_db();
    vibe_db(dir.path(), &db).arg("init").output().unwrap();
    let tools = served(dir.path(), &["echo"]);
    let mut child = mcp_child(
        dir.path(),
        &db,
        &[tools.to_str().unwrap(), "--durability", "normal"],
    );
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    initialize_raw(&mut stdin, &mut stdout);
    // Far more answer than a pipe holds (64 KiB), none of it read.
    let pad = "y".repeat(512 << 10);
    for id in 0..8 {
        let call = json!({ "jsonrpc": "2.0", "id": id, "method": "tools/call",
            "params": { "name": "echo", "arguments": { "pad": pad } } });
        writeln!(stdin, "{call}").unwrap();
    }
    drop(stdin);
    // All eight ran (their rows are complete); the server is left writing.
    let deadline = Instant::now() + Duration::from_secs(60);
    while count(&db, "SELECT COUNT(*) FROM tool_calls WHERE outcome = 'ok'") < 8 {
        assert!(Instant::now() < deadline, "the calls should have run");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    assert!(child.try_wait().unwrap().is_none(), "blocked writing");
    let stopped_at = Instant::now();
    signal(&child, libc::SIGTERM);
    let exited = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if stopped_at.elapsed() > BOUND + Duration::from_secs(2) {
            let _ = child.kill();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let status =
        exited.unwrap_or_else(|| panic!("still running {:?} after SIGTERM", stopped_at.elapsed()));
    assert!(status.success(), "{status:?}");
    drop(stdout);
}
