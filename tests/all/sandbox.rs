//! Agent tools in the sandbox, through the real `Runtime` and real
//! components: the example planner, every hostile fixture, grants, limits,
//! concurrency, and `vibe run`.

use std::time::Duration;

use crate::common::runtime::{failure, Sandbox};
use crate::common::{count, guest, ov, v, vibe};
use serde_json::{json, Value};
use vibe_store::sandbox::{FailureKind, Grants, Limits, Request};
use vibe_store::{MissionId, MissionStatus, MissionStore, Phase};

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

// ---- vibe run ----------------------------------------------------------------

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
