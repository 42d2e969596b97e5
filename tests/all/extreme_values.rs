//! Rows other programs write: numbers at and past every range, written
//! with Python's `sqlite3` and with `psql`, under every reader of the
//! command line; and the ranges every write path checks.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use serde_json::json;
use vibe_store::store::{InvocationEnd, InvocationStart, Outcome, MAX_DURATION_MS};
use vibe_store::{MissionStore, NewDecision, NewToolCall, Phase};

use crate::common::backends::{Backend, TestStore};
use crate::common::{text, vibe_db};
use crate::on_both_backends;

fn run(store: &TestStore, args: &[&str]) -> Output {
    vibe_db(store.dir.path(), &store.location)
        .args(args)
        .output()
        .unwrap()
}

/// Asserts the command did not panic: no exit 101, no panic text.
fn no_panic(out: &Output, what: &str) {
    let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert_ne!(out.status.code(), Some(101), "{what}: {said}");
    assert!(!said.contains("panicked"), "{what}: {said}");
}

/// Runs `sql` as another program: Python's `sqlite3` on a SQLite file (with
/// its CHECKs set aside, as any client may), `psql` on PostgreSQL.
fn foreign(store: &TestStore, sql: &str) {
    let status = match store.backend {
        Backend::Sqlite => {
            let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python");
            let python = if python.exists() {
                python.into_os_string()
            } else {
                "python3".into()
            };
            Command::new(python)
                .args([
                    "-c",
                    "import sqlite3, sys\n\
                     db = sqlite3.connect(sys.argv[1])\n\
                     db.execute('PRAGMA ignore_check_constraints = ON')\n\
                     db.executescript(sys.argv[2])\n\
                     db.commit()",
                    &store.location,
                    sql,
                ])
                .status()
                .unwrap()
        }
        Backend::Postgres => Command::new("psql")
            .args([
                store.location.as_str(),
                "-v",
                "ON_ERROR_STOP=1",
                "-q",
                "-c",
                sql,
            ])
            .status()
            .unwrap(),
    };
    assert!(status.success(), "{sql}");
}

fn durations_out_of_range_are_refused_on_every_write_path(backend: Backend) {
    let store = TestStore::open(backend);
    let m = store
        .create_mission(Phase::Coding, json!({}).into())
        .unwrap();
    // The command line: nanoseconds passed as milliseconds.
    let out = run(
        &store,
        &[
            "log",
            m.as_str(),
            "--tool",
            "grep",
            "--args",
            "{}",
            "--duration-ms",
            "1764495000000000000",
        ],
    );
    let said = text(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{said}");
    assert!(
        said.contains("duration_ms 1764495000000000000 is above the limit of 31536000000 ms"),
        "{said}"
    );
    // The library, as the sandbox's host functions call it.
    for ms in [-1, MAX_DURATION_MS + 1, i64::MAX] {
        let call = NewToolCall {
            duration_ms: Some(ms),
            ..NewToolCall::success("grep", json!({}))
        };
        assert!(store.log_tool_call(&m, call).is_err(), "{ms}");
        let start = InvocationStart {
            tool_name: "t".into(),
            input: json!({}).into(),
            component: None,
            caller: None,
        };
        let end = InvocationEnd {
            outcome: Outcome::Ok,
            result: None,
            duration_ms: Some(ms),
            error_message: None,
        };
        assert!(store.record_invocation(&m, &start, &end).is_err(), "{ms}");
    }
    let ok = NewToolCall {
        duration_ms: Some(MAX_DURATION_MS),
        ..NewToolCall::success("grep", json!({}))
    };
    store.log_tool_call(&m, ok).unwrap();
    assert_eq!(store.count("SELECT COUNT(*) FROM tool_calls"), 1);
}

fn every_reader_survives_any_number_another_program_stores(backend: Backend) {
    let store = TestStore::open(backend);
    let missions: Vec<String> = (0..3)
        .map(|_| {
            let m = store
                .create_mission(Phase::Coding, json!({}).into())
                .unwrap();
            store
                .log_tool_call(&m, NewToolCall::success("ok", json!({})))
                .unwrap();
            store
                .record_decision(&m, NewDecision::new("plan", "why", "agent"))
                .unwrap();
            store
                .set_memory(&m, "k", json!(1).into(), Some(60))
                .unwrap();
            m.to_string()
        })
        .collect();
    let now = "2026-11-30T09:35:01.828406Z";
    // The first mission holds the extremes; the others stay ordinary.
    let first = format!(
        "(SELECT id FROM missions WHERE mission_uuid = '{}')",
        missions[0]
    );
    let mut values: Vec<String> = [
        i64::MAX.to_string(),
        i64::MIN.to_string(),
        "-1".into(),
        "0".into(),
        "1764495000000000000".into(),
    ]
    .into();
    let (success, sha) = match backend {
        Backend::Sqlite => {
            // SQLite holds what its column types do not say: infinities as
            // REAL (NaN binds as NULL), text and fractions in an INTEGER column.
            values.extend([
                "9e999".into(),
                "-9e999".into(),
                "'abc'".into(),
                "1.5".into(),
            ]);
            ("7", "'€'")
        }
        Backend::Postgres => ("true", "NULL"),
    };
    let mut sql = String::new();
    for (n, v) in values.iter().enumerate() {
        sql.push_str(&format!(
            "INSERT INTO tool_calls (mission_id, tool_name, args, timestamp, duration_ms, success,
                                     component_sha256, component_size, chain_seq)
             VALUES ({first}, 'extreme{n}', '{{}}', '{now}', {v}, {success}, {sha},
                     {size}, {seq});
             INSERT INTO agent_memory (mission_id, key, value, timestamp, ttl, expires_at)
             VALUES ({first}, 'extreme{n}', '1', '{now}', {v}, NULL);\n",
            size = if v.starts_with('-') { "0" } else { v },
            seq = v,
        ));
    }
    sql.push_str(&format!(
        "UPDATE row_chain SET seq = {max}, row_seq = {max} WHERE seq = 3 AND mission_id = {first};",
        max = i64::MAX
    ));
    foreign(&store, &sql);

    let m = missions[0].as_str();
    let id = store.count("SELECT MAX(id) FROM tool_calls").to_string();
    let copy = store.dir.path().join("copy.db");
    let readers: Vec<Vec<&str>> = vec![
        vec!["tools", m],
        vec!["tools", "--all-missions"],
        vec!["tools", m, "--json"],
        vec!["tool", &id],
        vec!["stats"],
        vec!["stats", m],
        vec!["decisions", m],
        vec!["memory", m],
        vec!["mission", "list"],
        vec!["mission", "show", m],
        vec!["export"],
        vec!["export", "--format", "otlp"],
        vec!["verify"],
        vec![
            "copy",
            "--from",
            &store.location,
            "--to",
            copy.to_str().unwrap(),
        ],
    ];
    let mut said = std::collections::HashMap::new();
    for args in &readers {
        let out = run(&store, args);
        no_panic(&out, &args.join(" "));
        said.insert(
            args[..args.len().min(2)].join(" "),
            (text(&out.stdout), text(&out.stderr)),
        );
    }
    // What a read cannot take is named with its row and column.
    if backend == Backend::Sqlite {
        let (_, tools) = &said[&format!("tools {m}")];
        assert!(
            tools.contains("tool_calls #") && tools.contains(": duration_ms holds inf"),
            "{tools}"
        );
    }
    // The copy goes past the mission and says which row: the first thing
    // it cannot carry is what it names (SQLite's infinite duration cannot
    // leave the file; PostgreSQL's rows are refused by the import's rules).
    let (_, copied) = &said["copy --from"];
    assert!(
        copied.contains(&format!("went past mission {m}"))
            && (copied.contains("tool_calls row 2: chain_seq ")
                || copied.contains("tool_calls has duration_ms = Real(inf)")),
        "{copied}"
    );
    let (verified, _) = &said["verify"];
    assert!(
        verified.contains(&format!("mission {m}: TAMPERED"))
            && verified.contains("out of chain: chain entry 9223372036854775807"),
        "{verified}"
    );
    let (otlp, _) = &said["export --format"];
    // The export goes on past the mission that holds the extremes, and
    // names each duration it cannot turn into a span.
    assert_eq!(otlp.lines().count(), 3, "{otlp}");
    assert!(
        otlp.contains("duration_ms 9223372036854775807 is outside 0 to 31536000000"),
        "{otlp}"
    );
    // `--follow` runs briefly over them and is stopped.
    let mut follow = vibe_db(store.dir.path(), &store.location)
        .args(["tools", m, "--follow"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let exited = follow.try_wait().unwrap();
    if exited.is_none() {
        follow.kill().unwrap();
    }
    let out = follow.wait_with_output().unwrap();
    no_panic(&out, "tools --follow");
}

on_both_backends!(
    durations_out_of_range_are_refused_on_every_write_path,
    every_reader_survives_any_number_another_program_stores,
);
