//! Agent tools in the sandbox, through the real `Runtime` and real
//! components: the example planner, every hostile fixture, grants, limits
//! (pages a tool reads bounded in rows and bytes), loading, and concurrency.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::common::memory::run_measured;
use crate::common::runtime::{failure, Sandbox};
use crate::common::{guest, ov, temp_db, v, vibe};
use serde_json::{json, Value};
use vibe_store::sandbox::{FailureKind, Grants, Limits, Request};
use vibe_store::store::Outcome;
use vibe_store::{MissionId, MissionStatus, MissionStore, Phase, SqliteStore};

// ---- the example tool -------------------------------------------------------

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

// ---- hostile guests ---------------------------------------------------------

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

// ---- pages a tool reads: bounded in rows and bytes --------------------------

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

#[test]
fn a_page_of_huge_rows_is_bounded_in_bytes_and_paging_reaches_every_row() {
    let s = Sandbox::new();
    let m = s.mission();
    for _ in 0..3 {
        let fill = s.run("page-bomb", Request::new(m.clone(), json!("fill")));
        assert_eq!(
            fill.outcome.unwrap(),
            json!({ "logged": 10, "args_bytes": 1_048_575 })
        );
    }
    // 30 rows of 1 MiB: the default budget (4 x the 1 MiB JSON limit) holds
    // the first invocation's own small row and three of them, so one page
    // returns those four and the tool pages on.
    let read = s.run("page-bomb", Request::new(m.clone(), json!("read")));
    assert_eq!(
        read.outcome.unwrap(),
        json!({ "rows": 4, "args_bytes": "\"fill\"".len() + 3 * 1_048_575 })
    );
    let all = s.run("page-bomb", Request::new(m.clone(), json!("page-all")));
    let seen = all.outcome.unwrap().to_value().unwrap();
    let rows = s.rows("SELECT COUNT(*) FROM tool_calls");
    assert_eq!(seen["rows"], json!(rows), "paging reached every row");
    assert!(seen["pages"].as_u64().unwrap() >= 10, "{seen}");

    // A tighter budget: a page stops before the row that would overflow
    // it, and a row that alone exceeds it is limit-exceeded, never a
    // silently empty page.
    let tight = Limits::default().max_page_bytes(1024 * 1024).unwrap();
    let read = s.run(
        "page-bomb",
        Request::new(m.clone(), json!("read")).limits(tight),
    );
    assert_eq!(
        read.outcome.unwrap(),
        json!({ "rows": 1, "args_bytes": "\"fill\"".len() })
    );
    let refused = s.run(
        "page-bomb",
        Request::new(m.clone(), json!("page-all")).limits(tight),
    );
    let (kind, message) = failure(&refused);
    assert_eq!(kind, FailureKind::ToolError);
    assert!(
        message.contains("LimitExceeded") && message.contains("budget"),
        "{message}"
    );
}

#[test]
fn the_page_bomb_run_by_vibe_stays_small_and_listings_stream() {
    let (dir, path) = temp_db();
    let store = SqliteStore::open(&path).unwrap();
    let small = store
        .create_mission(Phase::Testing, json!({}).into())
        .unwrap();
    let big = store
        .create_mission(Phase::Testing, json!({}).into())
        .unwrap();
    let run = |mission: &str, input: &str, timeout: &str| {
        let mut cmd = vibe(dir.path());
        cmd.arg("--db")
            .arg(&path)
            .arg("run")
            .arg(guest("page-bomb"))
            .args([
                "--mission",
                mission,
                "--input",
                input,
                "--timeout-ms",
                timeout,
            ]);
        run_measured(&mut cmd, Duration::from_secs(120))
    };
    let (out, _) = run(&small, "\"fill\"", "60000");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for _ in 0..3 {
        let (out, _) = run(&big, "\"fill\"", "60000");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // One page of everything, with a 500 ms timeout.
    let started = Instant::now();
    let (out, peak_kib) = run(&big, "\"read\"", "500");
    let took = started.elapsed();
    eprintln!("page-bomb read: {took:?}, peak RSS {} MiB", peak_kib / 1024);
    assert!(out.status.code() == Some(0) || out.status.code() == Some(5));
    assert!(
        peak_kib < 300 * 1024,
        "host peak RSS {} MiB for one page read",
        peak_kib / 1024
    );

    // Listing a mission holds one row at a time: 30 MiB of rows cost no
    // more than 10 MiB of them.
    for args in [&["tools"][..], &["tools", "--json"][..]] {
        let peak = |mission: &str| {
            let mut cmd = vibe(dir.path());
            cmd.arg("--db").arg(&path).args(args).arg(mission);
            let (out, peak) = run_measured(&mut cmd, Duration::from_secs(120));
            assert!(out.status.success());
            assert!(out.stdout.len() > 1000);
            peak
        };
        let (small_kib, big_kib) = (peak(&small), peak(&big));
        eprintln!("vibe {args:?}: 10 MiB of rows {small_kib} KiB, 30 MiB {big_kib} KiB");
        assert!(
            big_kib < small_kib + 8 * 1024,
            "vibe {args:?} grew from {small_kib} KiB to {big_kib} KiB with the mission"
        );
    }
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

/// A component that declares `functions` empty functions in a core module
/// and exports nothing: it cannot fit the tool world, and compiling it would
/// take seconds and gigabytes.
fn many_functions(functions: u32) -> Vec<u8> {
    fn leb(mut n: u32, out: &mut Vec<u8>) {
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(byte);
                return;
            }
            out.push(byte | 0x80);
        }
    }
    fn section(id: u8, body: &[u8], out: &mut Vec<u8>) {
        out.push(id);
        leb(body.len() as u32, out);
        out.extend_from_slice(body);
    }
    let mut module = b"\0asm\x01\0\0\0".to_vec();
    section(1, &[1, 0x60, 0, 0], &mut module); // one type: () -> ()
    let mut funcs = Vec::new();
    leb(functions, &mut funcs);
    funcs.extend(std::iter::repeat_n(0u8, functions as usize));
    section(3, &funcs, &mut module);
    let mut code = Vec::new();
    leb(functions, &mut code);
    for _ in 0..functions {
        code.extend_from_slice(&[2, 0, 0x0b]); // size 2: no locals, end
    }
    section(10, &code, &mut module);
    let mut component = b"\0asm\x0d\0\x01\0".to_vec();
    section(1, &module, &mut component); // a core module section
    component
}

#[test]
fn loading_is_bounded_checked_before_compiling_and_recorded() {
    let (dir, path) = temp_db();
    let store = SqliteStore::open(&path).unwrap();
    let m = store
        .create_mission(Phase::Coding, json!({}).into())
        .unwrap();
    let cache = dir.path().join("cache");
    let run = |component: &Path, extra: &[&str]| {
        let mut cmd = vibe(dir.path());
        cmd.env("VIBE_CACHE_DIR", &cache)
            .arg("--db")
            .arg(&path)
            .arg("run")
            .arg(component)
            .args(["--mission", &m])
            .args(extra);
        run_measured(&mut cmd, Duration::from_secs(60)).0
    };
    let notes = dir.path().join("notes.wasm");
    std::fs::write(&notes, "just some notes\n").unwrap();
    let fifo = dir.path().join("pipe.wasm");
    let c_path = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
    let bomb = dir.path().join("bomb.wasm");
    std::fs::write(&bomb, many_functions(200_000)).unwrap();
    let core = dir.path().join("core.wasm");
    std::fs::write(&core, b"\0asm\x01\0\0\0").unwrap();

    let big = dir.path().join("big.wasm");
    std::fs::write(&big, vec![0u8; 2 * 1024 * 1024]).unwrap();
    let cases: Vec<(&Path, &[&str], &str, bool)> = vec![
        (&notes, &[], "notes.wasm is not a WebAssembly component (no \\0asm header)", true),
        (&fifo, &[], "pipe.wasm is not a regular file (it is a FIFO)", false),
        (Path::new("/dev/zero"), &[], "/dev/zero is not a regular file (it is a character device)", false),
        (&bomb, &[], "bomb.wasm does not fit the vibe:store agent-tool world: it does not export vibe:store/tool@0.1.0", true),
        (&core, &[], "core.wasm is a core WebAssembly module, not a component", true),
        (&big, &["--max-component-mb", "1"], "big.wasm is 2097152 bytes, over the component size limit of 1048576 bytes", false),
        (Path::new("/no/such/tool.wasm"), &[], "/no/such/tool.wasm cannot be read", false),
    ];
    for (i, (component, extra, message, hashed)) in cases.iter().enumerate() {
        let out = run(component, extra);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(4),
            "{}: {stderr}",
            component.display()
        );
        assert!(stderr.contains(message), "{stderr}");
        // Recorded on the mission: the agent asked for a tool; it did not run.
        let calls = store.get_tool_history(&m).unwrap();
        assert_eq!(calls.len(), i + 1);
        let row = calls.last().unwrap();
        assert_eq!(row.outcome, Some(Outcome::LoadError));
        assert!(row.error_message.as_deref().unwrap().contains(message));
        assert_eq!(
            row.component_sha256.is_some(),
            *hashed,
            "{}",
            component.display()
        );
        if *hashed {
            let bytes = std::fs::read(component).unwrap();
            assert_eq!(row.component_size, Some(bytes.len() as i64));
        }
    }
    // Nothing was compiled, so nothing was cached.
    let cached = std::fs::read_dir(&cache).map_or(0, |d| d.count());
    assert_eq!(cached, 0);
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
