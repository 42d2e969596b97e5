//! Agent tools in the sandbox, through the real `Runtime` and real
//! components: the example planner, every hostile fixture, grants, limits,
//! concurrency, and `vibe run`.

use std::sync::Arc;
use std::time::Duration;

use crate::common::runtime::{failure, Sandbox};
use crate::common::{count, guest, ov, temp_store, v, vibe};
use serde_json::{json, Value};
use vibe_store::sandbox::{FailureKind, Grants, Limits, Request, Runtime, RuntimeConfig};
use vibe_store::store::Outcome;
use vibe_store::{MissionId, MissionStatus, MissionStore, Phase, SqliteStore};

// ---- the example tool --------------------------------------------------------

#[test]
fn planner_reads_its_mission_logs_steps_decides_and_keeps_progress() {
    let s = Sandbox::new();
    let m = s.mission();
    let input = json!({ "goal": "ship it", "steps": ["a", "b", "c"] });
    let report = s.run("planner", Request::new(m.clone(), input.clone()));
    let output_text = report.outcome.clone().expect("planner succeeds");
    let output = v(&output_text);
    assert_eq!(output["goal"], "ship it");
    assert_eq!(output["resumed_from"], 0);
    assert_eq!(output["logged_tool_calls"].as_array().unwrap().len(), 3);

    let calls = s.store.get_tool_history(&m).unwrap();
    assert_eq!(calls.len(), 4, "the invocation itself, then three steps");
    let steps: Vec<Value> = calls[1..]
        .iter()
        .map(|c| v(&c.args)["step"].clone())
        .collect();
    assert_eq!(steps, [json!("a"), json!("b"), json!("c")]);
    assert!(calls[1..]
        .iter()
        .all(|c| c.tool_name == "planner.step" && c.success));
    let own = &calls[0];
    assert_eq!(
        (own.id, own.tool_name.as_str(), own.success),
        (report.call_id, "planner", true)
    );
    assert_eq!(own.args, input, "args = the input");
    assert_eq!(
        own.result.as_ref(),
        Some(&output_text),
        "result = the output"
    );

    let decisions = s.store.get_decisions(&m).unwrap();
    assert_eq!(decisions.len(), 1);
    assert_eq!(decisions[0].decision_type, "plan");
    assert_eq!(decisions[0].agent_name.as_deref(), Some("planner"));
    assert_eq!(
        v(decisions[0].context.as_ref().unwrap())["steps"],
        json!(["a", "b", "c"])
    );
    assert_eq!(
        ov(&s.store.get_memory(&m, "planner.progress").unwrap()),
        Some(json!({ "completed_steps": 3, "of": 3 }))
    );
    assert_eq!(
        s.store.get_mission(&m).unwrap().status,
        MissionStatus::InProgress
    );

    // A second run resumes from memory and logs no step twice.
    let again = s.run(
        "planner",
        Request::new(m.clone(), input).name("planner-again"),
    );
    assert_eq!(v(&again.outcome.unwrap())["resumed_from"], 3);
    assert_eq!(s.store.get_tool_history(&m).unwrap().len(), 5);
}

#[test]
fn planner_defaults_its_goal_from_mission_metadata() {
    let s = Sandbox::new();
    let m = s
        .store
        .create_mission(Phase::Planning, json!({ "goal": "from metadata" }).into())
        .unwrap();
    let out = v(&s
        .run("planner", Request::new(m, json!({})))
        .outcome
        .unwrap());
    assert_eq!(out["goal"], "from metadata");
    assert_eq!(out["steps"].as_array().unwrap().len(), 4);
}

// ---- hostile guests ----------------------------------------------------------

#[test]
fn a_guest_cannot_read_the_database_or_any_file() {
    let s = Sandbox::new();
    let m = s.mission();
    let db = s.store.path().canonicalize().unwrap();
    let input = json!({ "paths": [db.to_str().unwrap(), "/etc/passwd", "vibe_agency.db", "."] });
    let report = s.run("read-files", Request::new(m.clone(), input));
    let (kind, message) = failure(&report);
    assert_eq!(kind, FailureKind::ToolError, "{message}");
    assert!(
        message.contains("denied") && !message.contains("leaked"),
        "{message}"
    );
    s.assert_logged_failure(&m, &report, "read-files", "/etc/passwd");
    s.assert_still_serving();
}

#[test]
fn a_guest_sees_no_environment_arguments_or_directory() {
    std::env::set_var("VIBE_TEST_SECRET", "hunter2");
    let s = Sandbox::new();
    let m = s.mission();
    let report = s.run("env-vars", Request::new(m.clone(), json!({})));
    let (kind, message) = failure(&report);
    assert_eq!(kind, FailureKind::ToolError);
    assert!(
        message.contains("no environment variables") && !message.contains("hunter2"),
        "{message}"
    );
    s.assert_logged_failure(&m, &report, "env-vars", "denied");
    s.assert_still_serving();
}

#[test]
fn a_guest_cannot_open_sockets_or_resolve_names() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let s = Sandbox::new();
    let m = s.mission();
    let report = s.run(
        "open-socket",
        Request::new(m.clone(), json!({ "addr": addr })),
    );
    let (kind, message) = failure(&report);
    assert_eq!(kind, FailureKind::ToolError, "{message}");
    assert!(
        message.contains("tcp") && message.contains("udp") && message.contains("lookup"),
        "{message}"
    );
    assert!(
        listener.accept().is_err(),
        "no connection reached the listener"
    );
    s.assert_logged_failure(&m, &report, "open-socket", "denied");
    s.assert_still_serving();
}

#[test]
fn a_guest_that_loops_forever_is_stopped_by_its_timeout() {
    let s = Sandbox::new();
    let m = s.mission();
    let limits = Limits::default()
        .timeout(Duration::from_millis(300))
        .unwrap();
    let report = s.run("spin", Request::new(m.clone(), json!({})).limits(limits));
    let (kind, message) = failure(&report);
    assert_eq!(kind, FailureKind::Timeout);
    assert!(message.contains("300 ms"), "{message}");
    assert!(report.duration >= Duration::from_millis(300));
    s.assert_logged_failure(&m, &report, "spin", "timed out");
    s.assert_still_serving();
}

#[test]
fn a_guest_that_allocates_without_bound_hits_its_memory_limit() {
    let s = Sandbox::new();
    let m = s.mission();
    let limits = Limits::default().memory_mb(16).unwrap();
    let report = s.run(
        "alloc-bomb",
        Request::new(m.clone(), json!({})).limits(limits),
    );
    let (kind, message) = failure(&report);
    assert_eq!(kind, FailureKind::MemoryLimit, "{message}");
    assert!(message.contains("16 MiB"), "{message}");
    s.assert_logged_failure(&m, &report, "alloc-bomb", "memory limit");
    s.assert_still_serving();
}

#[test]
fn a_guest_that_recurses_without_bound_overflows_its_stack_only() {
    let s = Sandbox::new();
    let m = s.mission();
    let report = s.run("recurse", Request::new(m.clone(), json!({})));
    let (kind, _) = failure(&report);
    assert_eq!(kind, FailureKind::StackOverflow);
    s.assert_logged_failure(&m, &report, "recurse", "stack overflow");
    s.assert_still_serving();
}

#[test]
fn writes_acknowledged_before_a_trap_stay_and_the_run_is_failed() {
    let s = Sandbox::new();
    let m = s.mission();
    let report = s.run("trap-after-writes", Request::new(m.clone(), json!({})));
    let (kind, _) = failure(&report);
    assert_eq!(kind, FailureKind::Trap);
    let calls = s.store.get_tool_history(&m).unwrap();
    let steps: Vec<Value> = calls
        .iter()
        .filter(|c| c.tool_name == "trap-after-writes.step")
        .map(|c| v(&c.args))
        .collect();
    assert_eq!(
        steps,
        [
            json!({ "step": 0 }),
            json!({ "step": 1 }),
            json!({ "step": 2 })
        ]
    );
    s.assert_logged_failure(&m, &report, "trap-after-writes", "unreachable");
    s.assert_still_serving();
}

#[test]
fn a_guest_cannot_touch_a_mission_it_was_not_granted() {
    let s = Sandbox::new();
    let own = s.mission();
    let target = s.mission();
    s.store
        .set_memory(&target, "k", json!("theirs").into(), None)
        .unwrap();
    let before = s.rows("SELECT (SELECT COUNT(*) FROM missions) + (SELECT COUNT(*) FROM tool_calls) + (SELECT COUNT(*) FROM decisions) + (SELECT COUNT(*) FROM agent_memory)");

    let report = s.run(
        "other-mission",
        Request::new(own.clone(), json!({ "target": target })),
    );
    let (kind, message) = failure(&report);
    assert_eq!(kind, FailureKind::ToolError);
    assert!(!message.contains("leaked"), "{message}");
    for call in [
        "get-mission",
        "log-tool-call",
        "record-decision",
        "get-tool-history",
        "get-decisions",
        "memory.set",
        "memory.get",
        "memory.delete",
        "update-mission-status",
        "get-mission-history",
        "create-mission",
    ] {
        assert!(
            message.contains(&format!("{call}: ")),
            "{call} missing from {message}"
        );
    }
    assert_eq!(
        message.matches("AccessDenied").count(),
        11,
        "every call denied: {message}"
    );

    // Only the run's own failed row was added, on its own mission.
    let after = s.rows("SELECT (SELECT COUNT(*) FROM missions) + (SELECT COUNT(*) FROM tool_calls) + (SELECT COUNT(*) FROM decisions) + (SELECT COUNT(*) FROM agent_memory)");
    assert_eq!(after, before + 1);
    assert!(s.store.get_tool_history(&target).unwrap().is_empty());
    assert_eq!(
        s.store.get_mission(&target).unwrap().status,
        MissionStatus::Pending
    );
    assert_eq!(
        ov(&s.store.get_memory(&target, "k").unwrap()),
        Some(json!("theirs"))
    );
    s.assert_logged_failure(&own, &report, "other-mission", "AccessDenied");
    s.assert_still_serving();
}

#[test]
fn grants_widen_reads_and_creation_but_never_foreign_writes() {
    let s = Sandbox::new();
    let own = s.mission();
    let target = s.mission();
    let grants = Grants::none()
        .with_read_all_missions()
        .with_create_missions();
    let report = s.run(
        "other-mission",
        Request::new(own.clone(), json!({ "target": target })).grants(grants),
    );
    let output = v(&report
        .outcome
        .expect("some calls succeed, reported as leaks"));
    let allowed: Vec<&str> = output["leaked"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        allowed,
        [
            "get-mission",
            "get-tool-history",
            "get-decisions",
            "memory.get",
            "get-mission-history",
            "create-mission"
        ]
    );
    assert!(
        s.store.get_tool_history(&target).unwrap().is_empty(),
        "still no foreign writes"
    );
    assert_eq!(
        s.rows("SELECT COUNT(*) FROM missions"),
        3,
        "the created mission exists"
    );
}

#[test]
fn text_that_is_not_json_is_refused_at_the_boundary() {
    let s = Sandbox::new();
    let m = s.mission();
    let report = s.run("bad-json", Request::new(m.clone(), json!({})));
    let (kind, message) = failure(&report);
    assert_eq!(kind, FailureKind::ToolError);
    assert!(!message.contains("accepted"), "{message}");
    assert_eq!(message.matches("InvalidInput").count(), 5, "{message}");
    assert!(
        message.contains("not valid JSON") && message.contains("must not be empty"),
        "{message}"
    );
    assert_eq!(
        s.store.get_tool_history(&m).unwrap().len(),
        1,
        "only the run itself"
    );
    assert_eq!(
        s.rows("SELECT COUNT(*) FROM agent_memory") + s.rows("SELECT COUNT(*) FROM decisions"),
        0
    );
    s.assert_logged_failure(&m, &report, "bad-json", "InvalidInput");
    s.assert_still_serving();
}

#[test]
fn oversize_values_and_pages_hit_limits_and_write_nothing() {
    let s = Sandbox::new();
    let m = s.mission();
    let report = s.run("oversize", Request::new(m.clone(), json!({})));
    let (_, message) = failure(&report);
    assert!(!message.contains("accepted"), "{message}");
    assert_eq!(message.matches("LimitExceeded").count(), 3, "{message}");
    assert_eq!(s.store.get_tool_history(&m).unwrap().len(), 1);
    assert_eq!(s.rows("SELECT COUNT(*) FROM agent_memory"), 0);
    s.assert_logged_failure(&m, &report, "oversize", "limit");
}

#[test]
fn output_that_is_not_json_or_too_large_fails_the_run() {
    let s = Sandbox::new();
    let m = s.mission();
    let report = s.run("bad-output", Request::new(m.clone(), json!({})));
    let (kind, message) = failure(&report);
    assert_eq!(kind, FailureKind::InvalidOutput);
    assert!(
        message.contains("tool output is not valid JSON"),
        "{message}"
    );
    s.assert_logged_failure(&m, &report, "bad-output", "not valid JSON");

    let report = s.run("bad-output", Request::new(m.clone(), json!("big")));
    let (kind, message) = failure(&report);
    assert_eq!(kind, FailureKind::InvalidOutput);
    assert!(message.contains("limit"), "{message}");
    s.assert_logged_failure(&m, &report, "bad-output", "limit");
    s.assert_still_serving();
}

// ---- loading, and the run contract ------------------------------------------

#[test]
fn files_that_are_not_components_are_clear_errors() {
    let s = Sandbox::new();
    let err = s
        .runtime
        .load_bytes("junk", b"definitely not wasm")
        .err()
        .expect("junk refused");
    assert_eq!(
        err.to_string(),
        "junk is not a WebAssembly component (no \\0asm header)"
    );
    // A core module is WebAssembly but not a component.
    let core = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
    assert!(s.runtime.load_bytes("core", &core).is_err());
    assert!(s.runtime.load("/no/such/file.wasm").is_err());
}

#[test]
fn an_unknown_mission_runs_nothing_and_writes_nothing() {
    let s = Sandbox::new();
    let ghost = MissionId::new_v4();
    let err = s
        .runtime
        .run(
            &s.tool("echo"),
            &Request::new(ghost.clone(), json!({ "log": 5 })),
        )
        .unwrap_err();
    assert!(err.to_string().contains(ghost.as_str()));
    assert_eq!(s.rows("SELECT COUNT(*) FROM tool_calls"), 0);
}

#[test]
fn eight_threads_running_tools_on_one_runtime_lose_nothing() {
    let s = Sandbox::new();
    let echo = s.tool("echo");
    let missions: Vec<MissionId> = (0..8).map(|_| s.mission()).collect();
    let handles: Vec<_> = missions
        .iter()
        .cloned()
        .map(|m| {
            let (runtime, echo) = (s.runtime.clone(), echo.clone());
            std::thread::spawn(move || {
                for _ in 0..10 {
                    let report = runtime
                        .run(&echo, &Request::new(m.clone(), json!({ "log": 20 })))
                        .unwrap();
                    assert!(report.outcome.is_ok(), "{:?}", report.outcome);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("no thread panicked");
    }
    for m in &missions {
        // 10 runs x (20 logged calls + the run's own row).
        assert_eq!(s.store.get_tool_history(m).unwrap().len(), 210);
    }
    assert_eq!(s.rows("SELECT COUNT(*) FROM tool_calls"), 8 * 210);
}

#[test]
fn a_component_compiles_once_per_content() {
    let s = Sandbox::new();
    let a = s.tool("echo");
    let b = s.tool("echo");
    assert!(Arc::ptr_eq(&a, &b));
    assert_eq!(a.digest().len(), 64);
    assert_eq!(a.name(), "echo");
    // The same bytes under another name share the digest and record the
    // new name in the audit trail.
    let renamed = s
        .runtime
        .load_bytes("renamed", &std::fs::read(guest("echo")).unwrap())
        .unwrap();
    assert_eq!((renamed.name(), renamed.digest()), ("renamed", a.digest()));
    let m = s.mission();
    s.runtime
        .run(&renamed, &Request::new(m.clone(), json!({})))
        .unwrap();
    assert_eq!(
        s.store.get_tool_history(&m).unwrap()[0].tool_name,
        "renamed"
    );
}

// ---- vibe run ----------------------------------------------------------------

#[test]
fn vibe_run_prints_output_alone_and_uses_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("v.db");
    let store = SqliteStore::open(&db).unwrap();
    let m = store
        .create_mission(Phase::Coding, json!({}).into())
        .unwrap();
    let run = |args: &[&str]| {
        vibe(dir.path())
            .arg("--db")
            .arg(&db)
            .arg("run")
            .args(args)
            .output()
            .unwrap()
    };
    let echo = guest("echo");
    let echo = echo.to_str().unwrap();

    let ok = run(&[
        echo,
        "--mission",
        &m,
        "--input",
        r#"{"hello":"world"}"#,
        "--name",
        "greeter",
    ]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert_eq!(
        String::from_utf8(ok.stdout).unwrap(),
        "{\"hello\":\"world\"}\n"
    );
    let last = store.get_tool_history(&m).unwrap().pop().unwrap();
    assert_eq!((last.tool_name.as_str(), last.success), ("greeter", true));

    let spin = guest("spin");
    let failed = run(&[
        spin.to_str().unwrap(),
        "--mission",
        &m,
        "--timeout-ms",
        "200",
    ]);
    assert_eq!(failed.status.code(), Some(5));
    assert!(failed.stdout.is_empty());
    assert!(String::from_utf8_lossy(&failed.stderr).contains("timed out"));

    let bomb = guest("alloc-bomb");
    let failed = run(&[bomb.to_str().unwrap(), "--mission", &m, "--memory-mb", "8"]);
    assert_eq!(failed.status.code(), Some(5));
    assert!(String::from_utf8_lossy(&failed.stderr).contains("8 MiB"));

    let ghost = MissionId::new_v4();
    let missing = run(&[echo, "--mission", &ghost]);
    assert_eq!(missing.status.code(), Some(3));
    let missing_and_no_file = run(&["/no/such.wasm", "--mission", &ghost]);
    assert_eq!(
        missing_and_no_file.status.code(),
        Some(3),
        "mission checked before anything runs"
    );

    let junk = dir.path().join("junk.wasm");
    std::fs::write(&junk, b"junk").unwrap();
    let bad = run(&[junk.to_str().unwrap(), "--mission", &m]);
    assert_eq!(bad.status.code(), Some(4));
    let stderr = String::from_utf8(bad.stderr).unwrap();
    assert!(
        stderr.contains("junk.wasm is not a WebAssembly component") && !stderr.contains("panicked"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1);

    let bad_input = run(&[echo, "--mission", &m, "--input", "{nope"]);
    assert_eq!(bad_input.status.code(), Some(4));

    let granted = run(&[
        guest("other-mission").to_str().unwrap(),
        "--mission",
        &m,
        "--input",
        &format!("{{\"target\":\"{m}\"}}"),
        "--grant",
        "read-all-missions",
        "--grant",
        "create-missions",
    ]);
    assert!(
        granted.status.success(),
        "{}",
        String::from_utf8_lossy(&granted.stderr)
    );
    // 3 runs above, the junk component (recorded: an agent asked for a tool
    // and it did not run), and this one; the bad input wrote nothing.
    let rows = store.get_tool_history(&m).unwrap();
    let rows: Vec<_> = rows.iter().filter(|c| c.tool_name != "intruder").collect();
    assert_eq!(rows.len(), 5);
    assert_eq!(
        rows.iter()
            .filter(|c| c.outcome == Some(Outcome::LoadError))
            .count(),
        1
    );
}

#[test]
fn vibe_demo_shows_a_mission_with_tool_calls_and_decisions() {
    let dir = tempfile::tempdir().unwrap();
    let out = vibe(dir.path())
        .args(["demo", "--component"])
        .arg(guest("planner"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    for needle in [
        "mission_uuid",
        "tool calls",
        "planner.step",
        "decisions",
        "plan",
        "in_progress",
    ] {
        assert!(
            text.contains(needle),
            "{needle} missing from demo output:\n{text}"
        );
    }
    let db = dir.path().join(".vibe/state/vibe_agency.db");
    assert_eq!(count(&db, "SELECT COUNT(*) FROM tool_calls"), 5);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM decisions"), 1);
}

#[test]
fn guest_output_is_captured_up_to_its_cap_and_kept_out_of_vibe_runs_stdout() {
    let s = Sandbox::new();
    let m = s.mission();
    let report = s.run("chatty", Request::new(m.clone(), json!({})));
    let output = v(&report.outcome.expect("printing too much is not a failure"));
    let printed = output["printed"].as_u64().unwrap() as usize;
    assert!(printed > 200 * 1024);
    assert_eq!(
        report.stdout.len(),
        Limits::default().output_bytes(),
        "stdout kept up to the cap"
    );
    assert!(report.stdout.starts_with("chatty: all work"));
    assert_eq!(report.stderr, "chatty: done talking\n");

    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("v.db");
    let store = SqliteStore::open(&db).unwrap();
    let mission = store
        .create_mission(Phase::Coding, json!({}).into())
        .unwrap();
    let out = vibe(dir.path())
        .arg("--db")
        .arg(&db)
        .arg("run")
        .arg(guest("chatty"))
        .args(["--mission", &mission])
        .output()
        .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        stdout,
        format!("{{\"printed\":{printed}}}\n"),
        "only the tool's JSON on stdout"
    );
}

#[test]
fn compiled_components_are_cached_on_disk_by_content_and_engine() {
    let (_dir, store) = temp_store();
    let cache = tempfile::tempdir().unwrap();
    let config = || RuntimeConfig::default().cache_dir(cache.path());
    let m = store
        .create_mission(Phase::Coding, json!({}).into())
        .unwrap();
    let first = Runtime::new(store.clone(), config()).unwrap();
    let tool = first.load(guest("echo")).unwrap();
    let entries: Vec<_> = std::fs::read_dir(cache.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    let name = entries[0].file_name().unwrap().to_str().unwrap().to_owned();
    assert!(
        name.starts_with(tool.digest()) && name.ends_with(".cwasm"),
        "keyed by content: {name}"
    );
    let compiled = std::fs::read(&entries[0]).unwrap();

    // A second runtime (another process, in effect) uses the cached artifact.
    let second = Runtime::new(store.clone(), config()).unwrap();
    let out = second
        .run(
            &second.load(guest("echo")).unwrap(),
            &Request::new(m.clone(), json!(1)),
        )
        .unwrap();
    assert_eq!(out.outcome.unwrap(), json!(1));
    assert_eq!(
        std::fs::read(&entries[0]).unwrap(),
        compiled,
        "not recompiled"
    );

    // A damaged cache entry is ignored and replaced, never trusted.
    std::fs::write(&entries[0], b"not a compiled component").unwrap();
    let third = Runtime::new(store.clone(), config()).unwrap();
    let out = third
        .run(
            &third.load(guest("echo")).unwrap(),
            &Request::new(m, json!(2)),
        )
        .unwrap();
    assert_eq!(out.outcome.unwrap(), json!(2));
    assert_eq!(
        std::fs::read(&entries[0]).unwrap(),
        compiled,
        "rewritten from the component"
    );
}

#[test]
fn per_invocation_page_and_json_limits_can_only_tighten() {
    let s = Sandbox::new();
    let m = s.mission();
    // The oversize fixture asks for a 2 MiB value and a huge page; with
    // tighter limits the small page it would otherwise get is refused too.
    let tight = Limits::default()
        .max_page_rows(10)
        .unwrap()
        .max_json_bytes(100)
        .unwrap();
    assert_eq!(tight.page_rows(), 10);
    assert!(
        Limits::default().max_page_rows(1_000_000).is_err(),
        "never above the store's cap: refused, not silently lowered"
    );
    let report = s.run(
        "flood-reads",
        Request::new(m.clone(), json!({})).limits(tight),
    );
    let (kind, message) = failure(&report);
    assert_eq!(kind, FailureKind::ToolError);
    assert!(
        message.contains("above the host's cap of 10 rows"),
        "{message}"
    );

    let big_input = json!({ "pad": "x".repeat(200) });
    let err = s
        .runtime
        .run(
            &s.tool("echo"),
            &Request::new(m.clone(), big_input).limits(tight),
        )
        .unwrap_err();
    assert!(err.to_string().contains("limit of 100 bytes"), "{err}");
    let report = s.run(
        "echo",
        Request::new(m.clone(), json!({ "log": 1 })).limits(tight),
    );
    assert!(
        report.outcome.is_ok(),
        "small values pass: {:?}",
        report.outcome
    );
}
