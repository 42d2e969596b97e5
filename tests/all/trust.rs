//! The trust promises, tried as a hostile tool author would: every
//! invocation is bounded in time and memory, leaves exactly one row that
//! says what ran, cannot pass its own rows off as the host's, cannot reach
//! the operator's terminal with escape codes, and cannot get the host to run
//! native code it did not compile. One test (or more) per finding of the
//! security review; the hostile guests are in `guest/hostile/`.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use vibe_store::sandbox::{FailureKind, Limits, Request};
use vibe_store::store::{with_deadline, Outcome, Page, MAX_TEXT_BYTES};
use vibe_store::{MissionId, MissionStore, NewToolCall, Phase, SqliteStore, StoreError};

use crate::common::memory::run_measured;
use crate::common::runtime::{failure, Sandbox};
use crate::common::{count, guest, temp_db, temp_store, vibe};

fn invocation_rows(path: &Path, mission: &str) -> i64 {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.query_row(
        "SELECT COUNT(*) FROM tool_calls t JOIN missions m ON m.id = t.mission_id
         WHERE m.mission_uuid = ?1 AND t.outcome IS NOT NULL",
        [mission],
        |r| r.get(0),
    )
    .unwrap()
}

// ---- 1. reads bounded in bytes and time -------------------------------------

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
    // The review's repro: one page of everything, with a 500 ms timeout.
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

#[test]
fn reads_check_the_deadline_between_rows() {
    let (_dir, store) = temp_store();
    let m = store
        .create_mission(Phase::Coding, json!({}).into())
        .unwrap();
    for i in 0..5 {
        store
            .log_tool_call(&m, NewToolCall::success("t", json!(i)))
            .unwrap();
    }
    let mut seen = 0;
    let outcome = with_deadline(Instant::now() + Duration::from_millis(50), || {
        store.each_tool_call(&m, &mut |_| {
            seen += 1;
            // The first row takes past the deadline; no second row follows.
            std::thread::sleep(Duration::from_millis(80));
            Ok(())
        })
    });
    assert!(
        matches!(outcome, Err(StoreError::Interrupted)),
        "{outcome:?}"
    );
    assert_eq!(seen, 1);
    let page = with_deadline(Instant::now() - Duration::from_millis(1), || {
        store.get_tool_history_page(&m, Page::first(10))
    });
    assert!(matches!(page, Err(StoreError::Interrupted)), "{page:?}");
}

// ---- 2. one row per invocation, in every outcome ------------------------------

#[test]
fn every_outcome_leaves_exactly_one_invocation_row() {
    let s = Sandbox::new();
    let m = s.mission();
    let short = Limits::default()
        .timeout(Duration::from_millis(300))
        .unwrap();
    let cases: Vec<(&str, Request, Outcome)> = vec![
        (
            "echo",
            Request::new(m.clone(), json!({ "a": 1 })),
            Outcome::Ok,
        ),
        (
            "edge-output",
            Request::new(m.clone(), json!("exponents")),
            Outcome::Ok,
        ),
        (
            "edge-output",
            Request::new(m.clone(), json!("big-number")),
            Outcome::Ok,
        ),
        (
            "edge-output",
            Request::new(m.clone(), json!("over")),
            Outcome::InvalidOutput,
        ),
        (
            "edge-output",
            Request::new(m.clone(), json!("huge-error")),
            Outcome::ToolError,
        ),
        (
            "bad-output",
            Request::new(m.clone(), json!("x")),
            Outcome::InvalidOutput,
        ),
        (
            "bad-output",
            Request::new(m.clone(), json!("big")),
            Outcome::InvalidOutput,
        ),
        (
            "spin",
            Request::new(m.clone(), json!({})).limits(short),
            Outcome::Timeout,
        ),
        (
            "alloc-bomb",
            Request::new(m.clone(), json!({})),
            Outcome::MemoryLimit,
        ),
        (
            "recurse",
            Request::new(m.clone(), json!({})),
            Outcome::StackOverflow,
        ),
        (
            "trap-after-writes",
            Request::new(m.clone(), json!({})),
            Outcome::Trap,
        ),
        ("exits", Request::new(m.clone(), json!(0)), Outcome::Exit),
        ("exits", Request::new(m.clone(), json!(1)), Outcome::Exit),
    ];
    let total = cases.len() as i64;
    for (tool, request, expected) in cases {
        let report = s.run(tool, request);
        let row = s
            .store
            .get_tool_history(&m)
            .unwrap()
            .into_iter()
            .find(|c| c.id == report.call_id)
            .expect("the invocation's row");
        assert_eq!(row.outcome, Some(expected), "{tool}: {row:?}");
        assert_eq!(row.success, expected == Outcome::Ok, "{tool}");
        assert!(row.duration_ms.is_some(), "{tool}");
        assert_eq!(row.component_sha256.as_deref(), Some(s.tool(tool).digest()));
        if let Some(message) = &row.error_message {
            assert!(message.len() <= MAX_TEXT_BYTES, "{tool}");
            assert!(!message.contains('\0'));
        }
    }
    assert_eq!(invocation_rows(s.store.path(), &m), total);
    assert_eq!(
        s.rows("SELECT COUNT(*) FROM tool_calls WHERE outcome = 'running'"),
        0
    );
}

#[test]
fn a_tool_that_calls_exit_is_recorded_as_exiting_with_its_status() {
    let s = Sandbox::new();
    let m = s.mission();
    for status in [0, 1] {
        let report = s.run("exits", Request::new(m.clone(), json!(status)));
        let (kind, message) = failure(&report);
        assert_eq!(kind, FailureKind::Exit);
        assert_eq!(
            message,
            format!("exited with status {status} without returning output")
        );
        s.assert_logged_failure(&m, &report, "exits", &format!("status {status}"));
    }
}

#[test]
fn a_name_derived_from_any_file_name_still_leaves_a_row() {
    let s = Sandbox::new();
    let m = s.mission();
    let dir = tempfile::tempdir().unwrap();
    let odd = dir.path().join("bell\u{7}\u{1b}[2Jname.wasm");
    std::fs::copy(guest("echo"), &odd).unwrap();
    let report = s
        .runtime
        .run_file(&odd, &Request::new(m.clone(), json!({})))
        .unwrap();
    assert!(report.outcome.is_ok());
    let row = s.store.get_tool_history(&m).unwrap().pop().unwrap();
    assert_eq!(row.tool_name, "bell??[2Jname");
    let blank = dir.path().join("   .wasm");
    std::fs::copy(guest("echo"), &blank).unwrap();
    let report = s
        .runtime
        .run_file(&blank, &Request::new(m.clone(), json!({})))
        .unwrap();
    assert!(report.outcome.is_ok());
    let row = s.store.get_tool_history(&m).unwrap().pop().unwrap();
    assert_eq!(row.tool_name, "tool");
}

// ---- 3. provenance ------------------------------------------------------------

#[test]
fn rows_a_tool_writes_name_its_invocation_and_cannot_pass_for_the_hosts() {
    let s = Sandbox::new();
    let m = s.mission();
    let grants = vibe_store::sandbox::Grants::none().with_create_missions();
    let report = s.run("forger", Request::new(m.clone(), json!({})).grants(grants));
    let out = report.outcome.unwrap().to_value().unwrap();
    let invocation = report.call_id;

    let calls = s.store.get_tool_history(&m).unwrap();
    let own = calls.iter().find(|c| c.id == invocation).unwrap();
    let bytes = std::fs::read(guest("forger")).unwrap();
    assert_eq!(own.component_size, Some(bytes.len() as i64));
    assert_eq!(
        own.component_sha256.as_deref(),
        Some(s.tool("forger").digest())
    );
    assert_eq!(own.invocation_id, None);

    let forged = calls
        .iter()
        .find(|c| json!(c.id.get()) == out["call"])
        .unwrap();
    assert_eq!(forged.tool_name, "planner");
    assert!(forged.success);
    assert_eq!(forged.invocation_id, Some(invocation));
    assert_eq!(forged.invoked_by.as_deref(), Some("forger"));
    assert_eq!(
        forged.component_sha256, None,
        "only the host records components"
    );
    assert_eq!(forged.outcome, None);

    let decision = &s.store.get_decisions(&m).unwrap()[0];
    assert_eq!(decision.agent_name.as_deref(), Some("human-reviewer"));
    assert_eq!(decision.invocation_id, Some(invocation));
    let created = out["created"].as_str().unwrap();
    assert_eq!(
        s.store
            .get_mission(&created.parse().unwrap())
            .unwrap()
            .invocation_id,
        Some(invocation)
    );
    assert_eq!(
        s.rows(&format!(
            "SELECT COUNT(*) FROM agent_memory WHERE key = 'approved' AND invocation_id = {invocation}"
        )),
        1
    );
    // Rows written from outside any sandbox carry no provenance.
    let host = s
        .store
        .log_tool_call(&m, NewToolCall::success("planner", json!({})))
        .unwrap();
    let rows = s.store.get_tool_history(&m).unwrap();
    let host = rows.iter().find(|c| c.id == host).unwrap();
    assert_eq!(
        (host.invocation_id, host.component_sha256.as_deref()),
        (None, None)
    );

    // The command line shows it.
    let tools = vibe(s.dir.path())
        .arg("--db")
        .arg(s.store.path())
        .args(["tools", &m])
        .output()
        .unwrap();
    let table = String::from_utf8(tools.stdout).unwrap();
    assert!(
        table.contains(&format!("via forger#{invocation}")),
        "{table}"
    );
    assert!(
        table.contains(&format!("run {}", &s.tool("forger").digest()[..12])),
        "{table}"
    );
    let decisions = vibe(s.dir.path())
        .arg("--db")
        .arg(s.store.path())
        .args(["decisions", &m, "--json"])
        .output()
        .unwrap();
    let decisions: Value = serde_json::from_slice(&decisions.stdout).unwrap();
    assert_eq!(decisions[0]["invocation_id"], json!(invocation));
    assert_eq!(decisions[0]["invoked_by"], json!("forger"));
}

#[test]
fn a_v1_file_upgrades_in_place_and_v1_writers_keep_working() {
    // A v1 file as an older vibe-store (or another ARCH-001 program) left it.
    let (_dir, path) = temp_db();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(vibe_store::store::MIGRATIONS[0].sql)
        .unwrap();
    conn.execute_batch(
        "PRAGMA user_version = 1;
         INSERT INTO missions (mission_uuid, phase, status, created_at, metadata)
         VALUES ('v1-mission', 'CODING', 'pending', '2026-01-01T00:00:00Z', '{\"v\":1}');
         INSERT INTO tool_calls (mission_id, tool_name, args, timestamp, success)
         VALUES (1, 'old', '[1]', '2026-01-01T00:00:01Z', 1);",
    )
    .unwrap();
    drop(conn);

    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(
        store.schema_version().unwrap(),
        crate::common::latest_schema()
    );
    let v1: MissionId = "v1-mission".parse().unwrap();
    let old = store.get_tool_history(&v1).unwrap();
    assert_eq!(old.len(), 1);
    assert_eq!((old[0].invocation_id, old[0].outcome), (None, None));
    assert_eq!(old[0].args.as_str(), "[1]");
    // Another program writing v1-style rows (no provenance columns) still can.
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute(
        "INSERT INTO tool_calls (mission_id, tool_name, args, timestamp, success)
         VALUES (1, 'v1-writer', '{}', '2026-01-01T00:00:02Z', 1)",
        [],
    )
    .unwrap();
    assert_eq!(store.get_tool_history(&v1).unwrap().len(), 2);
    store
        .log_tool_call(&v1, NewToolCall::success("new", json!({})))
        .unwrap();
    assert_eq!(store.get_tool_history(&v1).unwrap().len(), 3);
}

// ---- 4. terminal safety --------------------------------------------------------

// ---- 5. the compiled-component cache -------------------------------------------

// ---- 6. loading: bounded, checked before compiling, recorded --------------------

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

// ---- 7. the path given is the file opened -------------------------------------

#[test]
fn a_db_path_that_looks_like_a_uri_is_a_file_name() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("x.db"), b"").unwrap();
    let init = vibe(dir.path())
        .args(["--db", "file:x.db", "init"])
        .output()
        .unwrap();
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    assert!(dir.path().join("file:x.db").is_file());
    assert_eq!(std::fs::metadata(dir.path().join("x.db")).unwrap().len(), 0);
    let refused = vibe(dir.path())
        .args(["--db", "x.db", "init"])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("empty"));
    assert_eq!(std::fs::metadata(dir.path().join("x.db")).unwrap().len(), 0);
    assert_eq!(
        count(
            &dir.path().join("file:x.db"),
            "SELECT COUNT(*) FROM missions"
        ),
        0
    );
}
