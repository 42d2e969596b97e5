//! The operator's view through the `vibe` binary: reading never changes
//! anything, a locked database says so, rows other programs wrote never fail
//! a listing, listings filter, page and follow new rows; stats, memory and
//! playbooks; backup, prune, export and import; and every command speaks
//! JSON when asked.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::{json, Value};
use vibe_store::NewDecision;
use vibe_store::{MissionStore, NewToolCall, Phase, SqliteStore};

use crate::common::backends::Backend;
use crate::common::trail::{trail, trail_on};
use crate::common::{
    count, db_with_mission, guest, integrity, temp_db, text, vibe, vibe_db, vibe_ok,
};

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

    let run = |args: &[&str]| vibe_db(dir.path(), &path).args(args).output().unwrap();
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
    let (dir, path, m) = db_with_mission();
    let holder = rusqlite::Connection::open(&path).unwrap();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    let out = vibe_db(dir.path(), &path)
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
        let out = vibe_db(dir.path(), &path).args(args).output().unwrap();
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
fn init_and_run_speak_json_when_asked() {
    let (dir, path) = temp_db();
    let init = vibe_db(dir.path(), &path)
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
        vibe_db(dir.path(), &path)
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

fn json_of(dir: &Path, path: impl AsRef<std::ffi::OsStr>, args: &[&str]) -> Value {
    serde_json::from_str(&vibe_ok(dir, path, args)).unwrap()
}

fn ids(rows: &Value) -> Vec<i64> {
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect()
}

crate::on_both_backends!(
    tools_and_decisions_filter_by_name_outcome_time_and_page,
    stats_memory_playbooks_and_one_tool_call_in_full,
    follow_prints_rows_as_other_processes_commit_them,
);

fn tools_and_decisions_filter_by_name_outcome_time_and_page(backend: Backend) {
    let (store, a, b) = trail_on(backend);
    let (d, path) = (store.dir.path(), &store.location);
    let q = |args: &[&str]| json_of(d, path, &[args, &["--json"]].concat());
    assert_eq!(ids(&q(&["tools", &a])), [1, 2, 3, 4, 5]);
    assert_eq!(ids(&q(&["tools", &a, "--tool", "cargo"])), [2]);
    assert_eq!(
        ids(&q(&["tools", &a, "--tool", "cargo", "--tool", "grep"])).len(),
        5
    );
    assert_eq!(ids(&q(&["tools", &a, "--failed"])), [2]);
    assert_eq!(
        ids(&q(&["tools", &a, "--succeeded", "--limit", "2"])),
        [1, 3]
    );
    assert_eq!(ids(&q(&["tools", &a, "--after", "3"])), [4, 5]);
    assert_eq!(ids(&q(&["tools", &a, "--since", "1h"])).len(), 5);
    assert_eq!(ids(&q(&["tools", &a, "--until", "2000-01-01"])).len(), 0);
    assert_eq!(
        ids(&q(&["tools", &a, "--since", "2099-01-01T00:00:00Z"])).len(),
        0
    );
    let across = q(&["tools", "--all-missions", "--tool", "grep"]);
    assert_eq!(ids(&across), [1, 3, 4, 5, 6]);
    assert_eq!(across[4]["mission_uuid"], json!(b));
    assert_eq!(
        ids(&q(&["decisions", "--all-missions", "--agent", "critic"])),
        [2]
    );
    assert_eq!(ids(&q(&["decisions", &a, "--type", "plan"])), [1]);
    assert_eq!(ids(&q(&["decisions", &a, "--type", "review"])).len(), 0);
    // A table across missions names each row's mission.
    let table = vibe_db(d, path)
        .args(["tools", "--all-missions"])
        .output()
        .unwrap();
    let table = text(&table.stdout);
    assert!(table.starts_with("MISSION_UUID"), "{table}");
    assert!(table.contains(&b), "{table}");
    // Bad times and conflicting flags are usage errors.
    for bad in [
        vec!["tools", &a, "--since", "yesterday"],
        vec!["tools", &a, "--failed", "--succeeded"],
        vec!["tools"],
    ] {
        let out = vibe_db(d, path).args(&bad).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
    }
}

#[test]
fn missions_list_newest_first_by_creation_time_with_filters_and_paging() {
    let (dir, path, a, b) = trail();
    let d = dir.path();
    // Another program's mission, created "earlier" though written last.
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute(
            "INSERT INTO missions (mission_uuid, phase, status, created_at, metadata)
             VALUES ('legacy-1', 'CODING', 'completed', '2025-01-02T03:04:05Z', '{\"goal\":\"old\"}')",
            [],
        )
        .unwrap();
    let uuids = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|m| m["mission_uuid"].as_str().unwrap().to_owned())
            .collect()
    };
    let all = json_of(d, &path, &["mission", "list", "--json"]);
    assert_eq!(uuids(&all), [b.clone(), a.clone(), "legacy-1".into()]);
    let q = |args: &[&str]| {
        uuids(&json_of(
            d,
            &path,
            &[&["mission", "list", "--json"], args].concat(),
        ))
    };
    assert_eq!(q(&["--phase", "testing"]), vec![b.clone()]);
    assert_eq!(q(&["--status", "completed"]), ["legacy-1"]);
    assert_eq!(q(&["--search", "parser"]), vec![a.clone()]);
    assert_eq!(q(&["--since", "1d"]), [b.clone(), a.clone()]);
    assert_eq!(q(&["--until", "2026-01-01"]), ["legacy-1"]);
    // Paging: one at a time, each page after the last row's id.
    let mut seen = Vec::new();
    let mut before: Option<String> = None;
    loop {
        let mut args = vec!["mission", "list", "--json", "--limit", "1"];
        if let Some(id) = &before {
            args.extend(["--before-id", id]);
        }
        let page = json_of(d, &path, &args);
        let Some(row) = page.as_array().unwrap().first() else {
            break;
        };
        seen.push(row["mission_uuid"].as_str().unwrap().to_owned());
        before = Some(row["id"].to_string());
    }
    assert_eq!(seen, uuids(&all));
    // The table shows the goal.
    let table = vibe_db(d, &path)
        .args(["mission", "list"])
        .output()
        .unwrap();
    let table = text(&table.stdout);
    assert!(
        table.contains("ship the parser") && table.contains("GOAL"),
        "{table}"
    );
    let over = vibe_db(d, &path)
        .args(["mission", "list", "--limit", "5000"])
        .output()
        .unwrap();
    assert_eq!(over.status.code(), Some(2));
}

fn stats_memory_playbooks_and_one_tool_call_in_full(backend: Backend) {
    let (store, a, _b) = trail_on(backend);
    let (d, path) = (store.dir.path(), &store.location);
    let stats = json_of(d, path, &["stats", &a, "--json"]);
    assert_eq!(stats[0]["tool_name"], json!("grep"));
    assert_eq!(stats[0]["calls"], json!(4));
    assert_eq!(stats[0]["failures"], json!(0));
    // Durations 5, 10, 20, 40: nearest-rank p50 is 10, p95 is 40.
    assert_eq!(
        (stats[0]["p50_ms"].clone(), stats[0]["p95_ms"].clone()),
        (json!(10), json!(40))
    );
    assert_eq!(stats[1]["tool_name"], json!("cargo"));
    assert_eq!(stats[1]["failure_rate"], json!(1.0));
    let everything = json_of(d, path, &["stats", "--json"]);
    assert_eq!(
        everything[0]["calls"],
        json!(5),
        "grep across both missions"
    );

    let table = vibe_db(d, path).args(["memory", &a]).output().unwrap();
    assert!(
        text(&table.stdout).contains("progress"),
        "{}",
        text(&table.stdout)
    );
    let memory = json_of(d, path, &["memory", &a, "--json"]);
    assert_eq!(
        memory.as_array().unwrap().len(),
        1,
        "the expired key is not listed"
    );
    assert_eq!(memory[0]["key"], json!("progress"));
    assert!(memory[0]["expires_at"].is_string());
    let get = vibe_db(d, path)
        .args(["memory", "get", &a, "progress"])
        .output()
        .unwrap();
    assert_eq!(text(&get.stdout), "{\"step\":2}\n");
    let gone = vibe_db(d, path)
        .args(["memory", "get", &a, "gone"])
        .output()
        .unwrap();
    assert_eq!(gone.status.code(), Some(3));
    let delete = vibe_db(d, path)
        .args(["memory", "delete", &a, "progress"])
        .output()
        .unwrap();
    assert_eq!(text(&delete.stdout), "deleted\n");
    assert_eq!(json_of(d, path, &["memory", &a, "--json"]), json!([]));

    let runs = json_of(d, path, &["playbooks", &a, "--json"]);
    assert_eq!(runs[0]["playbook_name"], json!("deploy"));
    assert_eq!(runs[0]["metrics"], json!({ "hosts": 3 }));

    // The same, as tables a person reads.
    for (args, needle) in [
        (vec!["stats", &*a], "FAIL_RATE"),
        (vec!["stats"], "grep"),
        (vec!["playbooks", &*a], "deploy"),
        (vec!["decisions", &*a], "because"),
    ] {
        let out = vibe_db(d, path).args(&args).output().unwrap();
        assert!(out.status.success(), "{args:?}");
        assert!(
            text(&out.stdout).contains(needle),
            "{args:?}: {}",
            text(&out.stdout)
        );
    }
    let call = json_of(d, path, &["tool", "2", "--json"]);
    assert_eq!(call["tool_name"], json!("cargo"));
    assert_eq!(call["error_message"], json!("boom"));
    let full = vibe_db(d, path).args(["tool", "2"]).output().unwrap();
    assert!(
        text(&full.stdout).contains("error_message boom"),
        "{}",
        text(&full.stdout)
    );
    let missing = vibe_db(d, path).args(["tool", "999"]).output().unwrap();
    assert_eq!(missing.status.code(), Some(3));
    assert!(text(&missing.stderr).contains("tool call 999 not found"));
}

/// A `--follow` process and its lines: each awaited at most 20 s, so a
/// follow that prints nothing fails the test instead of hanging it.
struct Following {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
}

impl Following {
    fn start(cmd: &mut Command) -> Self {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                if tx.send(line.unwrap()).is_err() {
                    break;
                }
            }
        });
        Following { child, lines }
    }

    fn next(&self) -> String {
        self.lines
            .recv_timeout(std::time::Duration::from_secs(20))
            .expect("follow printed nothing within 20 s")
    }
}

impl Drop for Following {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn follow_prints_rows_as_other_processes_commit_them(backend: Backend) {
    let (store, a, _b) = trail_on(backend);
    let (dir, path) = (&store.dir, &store.location);
    for json in [false, true] {
        let mut cmd = vibe(dir.path());
        cmd.arg("--db").arg(path).args(["tools", &a, "--follow"]);
        if json {
            cmd.arg("--json");
        }
        let following = Following::start(&mut cmd);
        // The rows already there (and, for the table, its header).
        let existing = store.count("SELECT COUNT(*) FROM tool_calls WHERE mission_id = 1");
        for _ in 0..(existing as usize + usize::from(!json)) {
            following.next();
        }
        // Another process commits a row: it appears.
        // Its args span lines (JSON whitespace): a JSON line stays one line.
        let tool = if json { "late-json" } else { "late-table" };
        let logged = vibe_db(dir.path(), path)
            .args(["log", &a, "--tool", tool, "--args", "{\r\n \"k\":\n1\r}"])
            .output()
            .unwrap();
        assert!(logged.status.success());
        let line = following.next();
        assert!(line.contains(tool), "{line}");
        if json {
            let row: Value = serde_json::from_str(&line).unwrap();
            assert_eq!(row["tool_name"], json!(tool));
            assert_eq!(row["args"], json!({"k": 1}));
        }
    }
    // Decisions follow the same way.
    let following = Following::start(vibe_db(dir.path(), path).args([
        "decisions",
        "--all-missions",
        "--follow",
        "--json",
    ]));
    for _ in 0..2 {
        following.next();
    }
    let decided = vibe_db(dir.path(), path)
        .args([
            "decide",
            &a,
            "--type",
            "late",
            "--rationale",
            "r",
            "--agent",
            "x",
        ])
        .output()
        .unwrap();
    assert!(decided.status.success());
    let line = following.next();
    assert!(line.contains("\"late\""), "{line}");
}

#[test]
fn backup_copies_a_consistent_checked_database_while_writers_write() {
    let (dir, path) = temp_db();
    let store = SqliteStore::open(&path).unwrap();
    let m = store
        .create_mission(Phase::Coding, json!({}).into())
        .unwrap();
    store
        .log_tool_calls(
            &m,
            (0..500)
                .map(|i| NewToolCall::success("before", json!(i)))
                .collect(),
        )
        .unwrap();
    let writing = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let writer = {
        let (store, m, writing) = (store.clone(), m.clone(), writing.clone());
        std::thread::spawn(move || {
            let mut n = 0;
            while writing.load(std::sync::atomic::Ordering::Relaxed) {
                store
                    .log_tool_call(&m, NewToolCall::success("during", json!(n)))
                    .unwrap();
                n += 1;
            }
            n
        })
    };
    let copy = dir.path().join("copy.db");
    let out = vibe_db(dir.path(), &path)
        .arg("backup")
        .arg(&copy)
        .output()
        .unwrap();
    writing.store(false, std::sync::atomic::Ordering::Relaxed);
    let during = writer.join().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("integrity ok"));
    assert_eq!(integrity(&copy), "ok");
    let copied = count(&copy, "SELECT COUNT(*) FROM tool_calls");
    assert!(copied >= 500, "{copied}");
    assert!(copied <= 500 + during, "{copied} of {}", 500 + during);
    // One snapshot: the copied ids are exactly the first `copied` ids.
    assert_eq!(count(&copy, "SELECT MAX(id) FROM tool_calls"), copied);

    let second = dir.path().join("second.db");
    let json_out = vibe_db(dir.path(), &path)
        .args(["backup", "--json"])
        .arg(&second)
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&json_out.stdout).unwrap();
    assert_eq!(report["integrity"], json!("ok"));
    assert!(report["bytes"].as_u64().unwrap() > 0);
    let again = vibe_db(dir.path(), &path)
        .arg("backup")
        .arg(&copy)
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(4), "{}", text(&again.stderr));
    assert!(text(&again.stderr).contains("exists"));
    assert_eq!(
        count(&copy, "SELECT COUNT(*) FROM tool_calls"),
        copied,
        "left alone"
    );
}

#[test]
fn prune_deletes_old_ended_missions_with_their_rows_and_keeps_the_rest() {
    let (dir, path) = temp_db();
    let store = SqliteStore::open(&path).unwrap();
    let mission = |status| {
        let m = store
            .create_mission(Phase::Coding, json!({}).into())
            .unwrap();
        store
            .log_tool_calls(
                &m,
                (0..3000)
                    .map(|i| NewToolCall::success("t", json!(i)))
                    .collect(),
            )
            .unwrap();
        store
            .record_decision(&m, NewDecision::new("d", "r", "a"))
            .unwrap();
        store.set_memory(&m, "k", json!(1).into(), None).unwrap();
        store.start_playbook_run(&m, "p", None).unwrap();
        store.update_mission_status(&m, status).unwrap();
        m
    };
    use vibe_store::MissionStatus::*;
    let (old_done, old_open, new_done) = (mission(Completed), mission(InProgress), mission(Failed));
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute(
            "UPDATE missions SET created_at = '2025-06-01T00:00:00.000000Z' WHERE mission_uuid IN (?1, ?2)",
            [old_done.as_str(), old_open.as_str()],
        )
        .unwrap();
    drop(store);
    let prune = |args: &[&str]| {
        let out = vibe_db(dir.path(), &path)
            .args([&["prune", "--before", "2026-01-01"], args].concat())
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout)
    };
    let dry = prune(&["--dry-run"]);
    assert!(
        dry.contains(&format!("would delete mission {old_done}")),
        "{dry}"
    );
    assert!(
        dry.contains("3000 tool calls, 1 decisions, 1 memory entries, 1 playbook runs"),
        "{dry}"
    );
    assert!(
        !dry.contains(&*old_open) && !dry.contains(&*new_done),
        "{dry}"
    );
    assert_eq!(
        count(&path, "SELECT COUNT(*) FROM missions"),
        3,
        "a dry run deletes nothing"
    );

    let json_dry: Value =
        serde_json::from_str(prune(&["--dry-run", "--json"]).lines().next().unwrap()).unwrap();
    assert_eq!(json_dry["mission_uuid"], json!(old_done.as_str()));
    assert_eq!(json_dry["tool_calls"], json!(3000));
    let done = prune(&["--vacuum"]);
    assert!(
        done.contains(&format!("deleted mission {old_done}")),
        "{done}"
    );
    assert!(
        done.contains("deleted 1 missions") && done.contains("vacuumed"),
        "{done}"
    );
    assert_eq!(count(&path, "SELECT COUNT(*) FROM missions"), 2);
    assert_eq!(count(&path, "SELECT COUNT(*) FROM tool_calls"), 6000);
    for table in ["decisions", "agent_memory", "playbook_runs"] {
        assert_eq!(
            count(&path, &format!("SELECT COUNT(*) FROM {table}")),
            2,
            "{table}"
        );
    }
    // Open missions go only when named.
    let open = prune(&["--status", "in_progress"]);
    assert!(
        open.contains(&format!("deleted mission {old_open}")),
        "{open}"
    );
    assert_eq!(count(&path, "SELECT COUNT(*) FROM missions"), 1);
    assert_eq!(integrity(&path), "ok");
}

#[test]
fn an_export_imported_elsewhere_exports_byte_for_byte_the_same() {
    let (dir, path, a, _b) = trail();
    // A tool's invocation with its rows, and a row another program wrote
    // with a short timestamp and text strict JSON refuses.
    let ran = vibe_db(dir.path(), &path)
        .arg("run")
        .arg(guest("forger"))
        .args(["--mission", &a])
        .output()
        .unwrap();
    assert!(ran.status.success(), "{}", text(&ran.stderr));
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.pragma_update(None, "ignore_check_constraints", true)
            .unwrap();
        conn.execute(
            "INSERT INTO tool_calls (mission_id, tool_name, args, result, timestamp, success)
             VALUES (1, 'py', 'NaN', '{ \"spaced\" : 1e1 }', '2025-01-02 03:04:05', 1)",
            [],
        )
        .unwrap();
    }
    let export = |db: &Path, to: &Path| {
        let out = vibe(dir.path())
            .arg("--db")
            .arg(db)
            .args(["export", "-o"])
            .arg(to)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        std::fs::read(to).unwrap()
    };
    let first = export(&path, &dir.path().join("a.jsonl"));
    assert_eq!(
        first.iter().filter(|&&b| b == b'\n').count(),
        2,
        "a line a mission"
    );
    let other = dir.path().join("other.db");
    let import = || {
        let out = vibe(dir.path())
            .arg("--db")
            .arg(&other)
            .arg("import")
            .arg(dir.path().join("a.jsonl"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout)
    };
    assert_eq!(import(), "imported 2 missions; 0 already present\n");
    assert_eq!(import(), "imported 0 missions; 2 already present\n");
    let second = export(&other, &dir.path().join("b.jsonl"));
    assert_eq!(text(&first), text(&second), "byte for byte");
    // Stored text kept exactly, provenance kept as positions.
    let conn = rusqlite::Connection::open(&other).unwrap();
    let (args, result, at): (String, String, String) = conn
        .query_row(
            "SELECT args, result, timestamp FROM tool_calls WHERE tool_name = 'py'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(
        (args.as_str(), result.as_str(), at.as_str()),
        ("NaN", "{ \"spaced\" : 1e1 }", "2025-01-02 03:04:05")
    );
    let forged: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM tool_calls c JOIN tool_calls p ON p.id = c.invocation_id
             WHERE c.tool_name = 'planner' AND p.tool_name = 'forger'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(forged, 1);
    // A line that is not an export is refused with its line number.
    std::fs::write(dir.path().join("bad.jsonl"), "{\"mission\": 1}\n").unwrap();
    let bad = vibe(dir.path())
        .arg("--db")
        .arg(&other)
        .arg("import")
        .arg(dir.path().join("bad.jsonl"))
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(4));
    assert!(
        text(&bad.stderr).contains("line 1"),
        "{}",
        text(&bad.stderr)
    );
}
