//! The record of each invocation: exactly one row saying what ran and how
//! it ended, in every outcome (a WASI exit, a name made from any file name
//! included), and provenance on every row a tool writes, which it cannot
//! pass off as the host's. The hostile guests are in `guest/hostile/`.

use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};
use vibe_store::sandbox::{FailureKind, Limits, Request};
use vibe_store::store::{Outcome, MAX_TEXT_BYTES};
use vibe_store::{MissionStore, NewToolCall};

use crate::common::runtime::{failure, Sandbox};
use crate::common::{guest, vibe};

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

// ---- one row per invocation, in every outcome -------------------------------

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

// ---- provenance -------------------------------------------------------------

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
