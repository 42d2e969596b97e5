//! The operator's view through the `vibe` binary: reading never changes
//! anything, a locked database says so, pipes close quietly, rows other
//! programs wrote never fail a listing, numbers out of range are usage
//! errors, and every command speaks JSON when asked.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::{json, Value};
use vibe_store::{MissionStore, NewToolCall, Phase, SqliteStore};

use crate::common::{count, guest, temp_db, vibe};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Bytes 18 and 19 of a SQLite header: 1 for a rollback journal, 2 for WAL.
fn journal_bytes(path: &Path) -> [u8; 2] {
    let bytes = std::fs::read(path).unwrap();
    [bytes[18], bytes[19]]
}

#[test]
fn reads_never_create_a_file_or_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    let id = "3f2a51c0-a4e8-4d5c-9d3b-0e1f2a3b4c5d";
    for args in [
        vec!["mission", "list"],
        vec!["mission", "show", id],
        vec!["tools", id],
        vec!["decisions", id, "--json"],
        vec!["--db", "no/such/dir/x.db", "tools", id],
    ] {
        let out = vibe(dir.path()).args(&args).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(3),
            "{args:?}: {}",
            text(&out.stderr)
        );
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains("no database at") && stderr.contains("create one with vibe init"),
            "{stderr}"
        );
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "{args:?}"
        );
    }
}

#[test]
fn a_database_this_user_cannot_write_is_read_and_not_written() {
    let dir = tempfile::tempdir().unwrap();
    let shared = dir.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    let path = shared.join("vibe_agency.db");
    let store = SqliteStore::open(&path).unwrap();
    let m = store
        .create_mission(Phase::Coding, json!({}).into())
        .unwrap();
    store
        .log_tool_call(&m, NewToolCall::success("t", json!({})))
        .unwrap();
    drop(store);
    // The file 0444 in a directory the reader cannot write. Root ignores
    // permission bits, so as root the reader is user `nobody`.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o555)).unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let as_reader = |args: &[&str]| {
        let mut cmd = vibe(Path::new("/"));
        cmd.arg("--db").arg(&path).args(args);
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } == 0 {
            cmd.uid(65534)
                .gid(65534)
                .env("VIBE_CACHE_DIR", "/nonexistent");
        }
        cmd.output().unwrap()
    };
    let before = std::fs::read(&path).unwrap();
    let listed = as_reader(&["tools", &m]);
    assert!(listed.status.success(), "{}", text(&listed.stderr));
    assert!(
        text(&listed.stdout).contains("t "),
        "{}",
        text(&listed.stdout)
    );
    let shown = as_reader(&["mission", "show", &m, "--json"]);
    assert!(shown.status.success(), "{}", text(&shown.stderr));
    let write = as_reader(&["log", &m, "--tool", "x", "--args", "{}"]);
    assert_eq!(write.status.code(), Some(1), "{}", text(&write.stderr));
    assert!(
        text(&write.stderr).contains("cannot write"),
        "{}",
        text(&write.stderr)
    );
    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "byte for byte unchanged"
    );
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn a_read_never_converts_a_rollback_journal_file_and_read_only_forbids_writes() {
    let (dir, path) = temp_db();
    let store = SqliteStore::open(&path).unwrap();
    let m = store
        .create_mission(Phase::Coding, json!({}).into())
        .unwrap();
    drop(store);
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.pragma_update(None, "journal_mode", "DELETE").unwrap();
    drop(conn);
    assert_eq!(journal_bytes(&path), [1, 1]);

    let run = |args: &[&str]| {
        vibe(dir.path())
            .arg("--db")
            .arg(&path)
            .args(args)
            .output()
            .unwrap()
    };
    assert!(run(&["tools", &m]).status.success());
    assert!(run(&["mission", "list"]).status.success());
    assert_eq!(journal_bytes(&path), [1, 1], "reads left the journal alone");

    let forced = run(&["--read-only", "log", &m, "--tool", "t", "--args", "{}"]);
    assert_eq!(forced.status.code(), Some(1));
    assert!(
        text(&forced.stderr).contains("read-only"),
        "{}",
        text(&forced.stderr)
    );
    assert_eq!(count(&path, "SELECT COUNT(*) FROM tool_calls"), 0);

    assert!(run(&["log", &m, "--tool", "t", "--args", "{}"])
        .status
        .success());
    assert_eq!(
        journal_bytes(&path),
        [2, 2],
        "the first write may convert it"
    );
}

#[test]
fn a_write_waiting_on_another_process_says_so_and_gives_up_at_its_timeout() {
    let (dir, path) = temp_db();
    let m = SqliteStore::open(&path)
        .unwrap()
        .create_mission(Phase::Coding, json!({}).into())
        .unwrap();
    let holder = rusqlite::Connection::open(&path).unwrap();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    let out = vibe(dir.path())
        .arg("--db")
        .arg(&path)
        .args([
            "--busy-timeout-ms",
            "1500",
            "log",
            &m,
            "--tool",
            "t",
            "--args",
            "{}",
        ])
        .output()
        .unwrap();
    holder.execute_batch("ROLLBACK").unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(
        stderr.matches("waiting for a lock on").count(),
        1,
        "{stderr}"
    );
    assert!(stderr.contains("held by another process..."), "{stderr}");
    assert!(
        stderr.contains("database is locked by another process after 1.5 s"),
        "{stderr}"
    );
    assert_eq!(count(&path, "SELECT COUNT(*) FROM tool_calls"), 0);
}

#[test]
fn a_reader_that_goes_away_ends_the_listing_quietly() {
    let (dir, path) = temp_db();
    let store = SqliteStore::open(&path).unwrap();
    let m = store
        .create_mission(Phase::Coding, json!({}).into())
        .unwrap();
    let calls = (0..3000)
        .map(|i| NewToolCall::success("chatty", json!({ "i": i, "pad": "x".repeat(40) })))
        .collect();
    store.log_tool_calls(&m, calls).unwrap();
    for json in [false, true] {
        let mut cmd = vibe(dir.path());
        cmd.arg("--db").arg(&path).args(["tools", &m]);
        if json {
            cmd.arg("--json");
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        // The read end closes here, as `head -1` does.
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        assert_eq!(text(&out.stderr), "", "quiet");
    }
}

#[test]
fn rows_other_programs_wrote_with_json_strict_parsers_refuse_never_fail_a_listing() {
    let (dir, path) = temp_db();
    let store = SqliteStore::open(&path).unwrap();
    let m = store
        .create_mission(Phase::Coding, json!({ "goal": "x" }).into())
        .unwrap();
    drop(store);
    // Another program, without our CHECKs: Python's sqlite3.
    let script = format!(
        "import sqlite3\n\
         c = sqlite3.connect({path:?})\n\
         c.execute('PRAGMA ignore_check_constraints = ON')\n\
         mid = c.execute('SELECT id FROM missions').fetchone()[0]\n\
         c.execute(\"INSERT INTO tool_calls (mission_id, tool_name, args, result, timestamp, success) VALUES (?, 'py', 'NaN', '{{bad', '2026-01-01T00:00:00Z', 1)\", (mid,))\n\
         c.execute(\"INSERT INTO decisions (mission_id, decision_type, rationale, timestamp, context) VALUES (?, 'py', 'why', '2026-01-01T00:00:00Z', 'Infinity')\", (mid,))\n\
         c.execute(\"UPDATE missions SET metadata = '[1,'\")\n\
         c.commit()\n",
        path = path.display().to_string()
    );
    let python = Command::new("python3").args(["-c", &script]).output();
    let python = python.expect("python3 is needed to write rows as another program");
    assert!(python.status.success(), "{}", text(&python.stderr));

    let run = |args: &[&str]| {
        let out = vibe(dir.path())
            .arg("--db")
            .arg(&path)
            .args(args)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            text(&out.stderr)
        );
        text(&out.stdout)
    };
    assert!(run(&["tools", &m]).contains("NaN"));
    assert!(run(&["decisions", &m]).contains("Infinity"));
    assert!(run(&["mission", "list"]).contains(&*m));
    let tools: Value = serde_json::from_str(&run(&["tools", &m, "--json"])).unwrap();
    assert_eq!(tools[0]["args"], json!("NaN"));
    assert_eq!(tools[0]["result"], json!("{bad"));
    assert_eq!(tools[0]["invalid_json"], json!(["args", "result"]));
    let decisions: Value = serde_json::from_str(&run(&["decisions", &m, "--json"])).unwrap();
    assert_eq!(decisions[0]["invalid_json"], json!(["context"]));
    let missions: Value = serde_json::from_str(&run(&["mission", "list", "--json"])).unwrap();
    assert_eq!(missions[0]["metadata"], json!("[1,"));
    assert_eq!(missions[0]["invalid_json"], json!(["metadata"]));
    let shown: Value = serde_json::from_str(&run(&["mission", "show", &m, "--json"])).unwrap();
    assert_eq!(shown["invalid_json"], json!(["metadata"]));
}

#[test]
fn numbers_out_of_range_are_usage_errors_that_name_the_range() {
    let (dir, path) = temp_db();
    let m = SqliteStore::open(&path)
        .unwrap()
        .create_mission(Phase::Coding, json!({}).into())
        .unwrap();
    let echo = guest("echo");
    for (flag, value, range) in [
        ("--max-page-rows", "5000", "1..=1000"),
        ("--max-json-bytes", "99999999", "2..=1048576"),
        ("--memory-mb", "100000", "1..=4096"),
        ("--timeout-ms", "0", "1..=3600000"),
        ("--max-page-bytes", "10", "1024..=268435456"),
    ] {
        let out = vibe(dir.path())
            .arg("--db")
            .arg(&path)
            .arg("run")
            .arg(&echo)
            .args(["--mission", &m, flag, value])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{flag} {value}");
        assert!(
            text(&out.stderr).contains(range),
            "{flag}: {}",
            text(&out.stderr)
        );
    }
    assert_eq!(count(&path, "SELECT COUNT(*) FROM tool_calls"), 0);
}

#[test]
fn init_and_run_speak_json_when_asked() {
    let (dir, path) = temp_db();
    let init = vibe(dir.path())
        .arg("--db")
        .arg(&path)
        .args(["init", "--json"])
        .output()
        .unwrap();
    let init: Value = serde_json::from_slice(&init.stdout).unwrap();
    assert_eq!(
        init["schema_version"],
        json!(crate::common::latest_schema())
    );
    assert_eq!(init["path"], json!(path.display().to_string()));
    let m = SqliteStore::open(&path)
        .unwrap()
        .create_mission(Phase::Coding, json!({}).into())
        .unwrap();
    let run = |component: &Path, input: &str| {
        vibe(dir.path())
            .arg("--db")
            .arg(&path)
            .arg("run")
            .arg(component)
            .args(["--mission", &m, "--input", input, "--json"])
            .output()
            .unwrap()
    };
    let ok = run(&guest("echo"), r#"{"x":1e1}"#);
    assert!(ok.status.success());
    let report: Value = serde_json::from_slice(&ok.stdout).unwrap();
    assert_eq!(report["outcome"], json!("ok"));
    assert!(
        text(&ok.stdout).contains(r#""output": {"x":1e1}"#),
        "exactly as returned: {}",
        text(&ok.stdout)
    );
    assert!(report["call_id"].as_i64().unwrap() > 0);
    let failed = run(&guest("exits"), "1");
    assert_eq!(failed.status.code(), Some(5));
    let report: Value = serde_json::from_slice(&failed.stdout).unwrap();
    assert_eq!(report["outcome"], json!("exit"));
    assert_eq!(
        report["error"],
        json!("exited with status 1 without returning output")
    );
}

#[test]
fn a_demo_whose_component_is_missing_writes_nothing() {
    let (dir, path) = temp_db();
    SqliteStore::open(&path).unwrap();
    let out = vibe(dir.path())
        .arg("--db")
        .arg(&path)
        .args(["demo", "--component", "/missing.wasm"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    assert_eq!(count(&path, "SELECT COUNT(*) FROM missions"), 0);
}
