//! What only the PostgreSQL backend has to show: its migrations, JSON kept
//! byte for byte as on SQLite, many hosts writing at once, a writer killed, a
//! server restarted under load, `vibe copy` both ways, and secrets kept out
//! of messages. The store's semantics themselves are tested on both backends
//! by `store.rs` and `operator.rs`.

use std::io::Read;
use std::process::Stdio;
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use vibe_store::store::{InvocationEnd, InvocationStart, Outcome};
use vibe_store::store::{OpenOptions, POSTGRES_MIGRATIONS};
use vibe_store::{
    AnyStore, Json, MissionStatus, MissionStore, NewDecision, NewToolCall, Phase, PostgresStore,
    StoreError,
};
use vibe_test_support::pg::{server, Cluster};

use crate::common::backends::{Backend, TestStore};
use crate::common::mcp_stdio::McpStdio;
use crate::common::trail::trail_on;
use crate::common::{
    acknowledged_ids, guest, ids, log_from_threads, stress_writer, text, vibe, vibe_db,
};

#[test]
fn ten_hosts_starting_at_once_migrate_once_in_numbered_versions() {
    let db = server().fresh_database();
    let hosts = 10;
    let barrier = Arc::new(Barrier::new(hosts));
    let opened: Vec<_> = (0..hosts)
        .map(|_| {
            let (url, barrier) = (db.url.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                PostgresStore::open(&url).map(|s| s.schema_version())
            })
        })
        .collect();
    for host in opened {
        let version = host.join().unwrap().expect("every host opens").unwrap();
        assert_eq!(version, POSTGRES_MIGRATIONS.last().unwrap().version);
    }
    let mut client = db.client();
    let versions: Vec<i32> = client
        .query(
            "SELECT version FROM vibe_schema_version ORDER BY version",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let expected: Vec<i32> = POSTGRES_MIGRATIONS
        .iter()
        .map(|m| m.version as i32)
        .collect();
    assert_eq!(versions, expected, "each migration applied exactly once");
    // The numbers match SQLite's: version N is the same layout on both.
    assert_eq!(
        expected.last().map(|v| *v as u32),
        vibe_store::store::MIGRATIONS.last().map(|m| m.version)
    );
}

#[test]
fn a_database_with_a_newer_schema_is_refused_untouched() {
    let db = server().fresh_database();
    PostgresStore::open(&db.url).unwrap();
    let mut client = db.client();
    client
        .batch_execute("INSERT INTO vibe_schema_version (version) VALUES (99)")
        .unwrap();
    let snapshot = |client: &mut postgres::Client| -> (i64, i64) {
        let row = client
            .query_one(
                "SELECT (SELECT COUNT(*) FROM vibe_schema_version),
                        (SELECT COUNT(*) FROM pg_tables WHERE schemaname = 'public')",
                &[],
            )
            .unwrap();
        (row.get(0), row.get(1))
    };
    let before = snapshot(&mut client);
    let err = PostgresStore::open(&db.url).unwrap_err();
    assert!(matches!(err, StoreError::UnusableFile { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains("99") && message.contains("newer") && message.contains("untouched"),
        "{message}"
    );
    let dir = tempfile::tempdir().unwrap();
    for args in [&["init"][..], &["mission", "list"]] {
        let out = vibe_db(dir.path(), &db.url).args(args).output().unwrap();
        assert!(!out.status.success(), "{args:?}");
        assert!(text(&out.stderr).contains("newer"), "{}", text(&out.stderr));
    }
    assert_eq!(snapshot(&mut client), before, "nothing was written");
}

#[test]
fn json_text_comes_back_byte_for_byte_and_the_same_from_both_backends() {
    let inputs = [
        r#"{"b":1,  "a":2}"#,
        r#"{"a":1,"a":2}"#,
        r#"[1.0, 1.50, -0, 1e400, 123456789012345678901234567890]"#,
        "\"\\u0000 \\ud83d\\ude80 \\u00e9 é 🚀 \\n\"",
        " { \"nested\" : [ { \"deep\" : [ [ ] ] } ] } ",
        "null",
        "true",
        "5",
    ];
    let mut seen: Vec<Vec<String>> = Vec::new();
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let store = TestStore::open(backend);
        let m = store
            .create_mission(Phase::Coding, Json::parse("metadata", inputs[0]).unwrap())
            .unwrap();
        let mut back = Vec::new();
        for input in inputs {
            let json = Json::parse("args", input).unwrap();
            let call = NewToolCall {
                result: Some(json.clone()),
                ..NewToolCall::success("json", json.clone())
            };
            let id = store.log_tool_call(&m, call).unwrap();
            store.set_memory(&m, "k", json.clone(), None).unwrap();
            let read = store.get_tool_call(id).unwrap();
            assert_eq!(read.args.as_str(), input, "{backend:?}");
            assert_eq!(read.result.as_ref().unwrap().as_str(), input, "{backend:?}");
            assert_eq!(store.get_memory(&m, "k").unwrap().unwrap().as_str(), input);
            back.push(read.args.into_string());
        }
        assert_eq!(
            store.get_mission(&m).unwrap().metadata.unwrap().as_str(),
            inputs[0]
        );
        // Another client of the database reads the same text.
        assert_eq!(
            store.text("SELECT args FROM tool_calls ORDER BY id LIMIT 1"),
            inputs[0]
        );
        seen.push(back);
    }
    assert_eq!(seen[0], seen[1]);
}

#[test]
fn four_processes_of_four_threads_lose_nothing_and_see_no_conflict_errors() {
    let store = TestStore::open(Backend::Postgres);
    const PER_THREAD: u64 = 150;
    // Two processes share a mission (their writers contend for its chain);
    // the other two have one each.
    let missions: Vec<String> = (0..3)
        .map(|_| {
            store
                .create_mission(Phase::Coding, json!({}).into())
                .unwrap()
                .to_string()
        })
        .collect();
    let children: Vec<_> = (0..4)
        .map(|p| {
            stress_writer(&store.location, &missions[p.min(2)], PER_THREAD, "full", 4)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut all = Vec::new();
    for mut child in children {
        let (mut out, mut err) = (String::new(), String::new());
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        let status = child.wait().unwrap();
        assert!(status.success(), "a writer failed: {err}");
        assert!(
            !err.contains("conflict") && !err.contains("deadlock"),
            "{err}"
        );
        let acknowledged = ids(&out);
        assert_eq!(acknowledged.len() as u64, 4 * PER_THREAD);
        all.extend(acknowledged);
    }
    let total = all.len();
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), total, "ids are unique");
    assert_eq!(store.count("SELECT COUNT(*) FROM tool_calls"), total as i64);
    let present = store.count(&format!(
        "SELECT COUNT(*) FROM tool_calls WHERE id IN ({})",
        all.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
    ));
    assert_eq!(present, total as i64, "every acknowledged id is a row");
    let verified = vibe_db(store.dir.path(), &store.location)
        .arg("verify")
        .output()
        .unwrap();
    assert!(verified.status.success(), "{}", text(&verified.stdout));
}

#[test]
fn a_writer_killed_with_sigkill_loses_nothing_it_acknowledged() {
    let store = TestStore::open(Backend::Postgres);
    let mission = store
        .create_mission(Phase::Coding, json!({}).into())
        .unwrap();
    for round in 0..3 {
        let mut child = stress_writer(&store.location, &mission, 0, "full", 4)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // The last line may be cut short by the kill.
        let reader = acknowledged_ids(&mut child);
        std::thread::sleep(Duration::from_millis(700 + 300 * round));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let acknowledged = reader.join().unwrap();
        assert!(!acknowledged.is_empty(), "round {round}: the writer wrote");
        let present = store.count(&format!(
            "SELECT COUNT(*) FROM tool_calls WHERE id IN ({})",
            acknowledged
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(",")
        ));
        assert_eq!(present, acknowledged.len() as i64, "round {round}");
    }
    // The trail still verifies: a killed writer leaves no half-chained row.
    let report = store.verify_chain(&mission).unwrap();
    assert!(report.intact(), "{report:?}");
}

#[test]
fn a_server_restarted_mid_load_fails_calls_clearly_keeps_acknowledged_rows_and_is_reconnected() {
    // A cluster of its own: restarting the shared one would fail other tests.
    let cluster = Cluster::start().unwrap_or_else(|e| panic!("{e}"));
    let store = AnyStore::open(&cluster.url("postgres")).unwrap();
    let mission = store
        .create_mission(Phase::Coding, json!({}).into())
        .unwrap();
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let failures = Arc::new(Mutex::new(Vec::new()));
    let stop_at = Instant::now() + Duration::from_secs(6);
    let writers: Vec<_> = (0..4)
        .map(|t| {
            let (store, mission) = (store.clone(), mission.clone());
            let (acknowledged, failures) = (acknowledged.clone(), failures.clone());
            std::thread::spawn(move || {
                let mut i = 0;
                let mut last_ok = None;
                while Instant::now() < stop_at {
                    i += 1;
                    match store.log_tool_call(&mission, NewToolCall::success("w", json!([t, i]))) {
                        Ok(id) => {
                            acknowledged.lock().unwrap().push(id.get());
                            last_ok = Some(Instant::now());
                        }
                        Err(e) => {
                            failures.lock().unwrap().push(e);
                            std::thread::sleep(Duration::from_millis(20));
                        }
                    }
                }
                last_ok
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(1500));
    let restarted_at = Instant::now();
    cluster.restart_immediate().unwrap();
    let back_at = Instant::now();
    for writer in writers {
        let last_ok = writer.join().unwrap().expect("the writer wrote");
        assert!(
            last_ok > back_at,
            "writes succeed again after the restart, on new connections"
        );
    }
    let failures = failures.lock().unwrap();
    assert!(
        !failures.is_empty(),
        "writes in flight during the restart ({:?}) failed",
        back_at - restarted_at
    );
    for failure in failures.iter() {
        let message = failure.to_string();
        assert!(
            matches!(failure, StoreError::Unavailable { .. }),
            "{failure:?}"
        );
        assert!(
            message.contains("127.0.0.1") && !message.trim().is_empty(),
            "the message names the server: {message}"
        );
    }
    let acknowledged = acknowledged.lock().unwrap();
    let present = store
        .get_tool_history(&mission)
        .unwrap()
        .iter()
        .map(|c| c.id.get())
        .collect::<std::collections::HashSet<_>>();
    let lost: Vec<_> = acknowledged
        .iter()
        .filter(|id| !present.contains(id))
        .collect();
    assert!(lost.is_empty(), "acknowledged rows lost: {lost:?}");
    eprintln!(
        "restart: {} writes acknowledged, {} failed while the server was down ({:?})",
        acknowledged.len(),
        failures.len(),
        back_at - restarted_at
    );
}

#[test]
fn vibe_copy_moves_a_store_to_postgres_and_back_byte_for_byte() {
    let (source, a, _b) = trail_on(Backend::Sqlite);
    let dir = source.dir.path();
    let forger = guest("forger");
    let ran = vibe_db(dir, &source.location)
        .arg("run")
        .arg(&forger)
        .args(["--mission", &a, "--grant", "create-missions"])
        .output()
        .unwrap();
    assert!(ran.status.success(), "{}", text(&ran.stderr));
    let pg = server().fresh_database();
    let back = dir.join("back.db");
    let copy = |from: &str, to: &str| {
        let out = vibe(dir)
            .args(["copy", "--from", from, "--to", to, "--json"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert!(
            text(&out.stderr).contains("copied"),
            "progress on stderr: {}",
            text(&out.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let there = copy(&source.location, &pg.url);
    assert_eq!(there["copied"], json!(3));
    assert_eq!(there["already_there"], json!(0));
    // Again: nothing to do.
    let again = copy(&source.location, &pg.url);
    assert_eq!(
        (again["copied"].clone(), again["already_there"].clone()),
        (json!(0), json!(3))
    );
    copy(&pg.url, back.to_str().unwrap());
    let export = |db: &str| {
        let out = vibe_db(dir, db).arg("export").output().unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        out.stdout
    };
    let original = export(&source.location);
    assert_eq!(export(&pg.url), original, "PostgreSQL holds the same rows");
    assert_eq!(
        export(back.to_str().unwrap()),
        original,
        "and gives them back the same"
    );
    for db in [pg.url.as_str(), back.to_str().unwrap()] {
        let out = vibe_db(dir, db).arg("verify").output().unwrap();
        assert!(out.status.success(), "{db}: {}", text(&out.stdout));
    }
}

#[test]
fn an_interrupted_copy_finishes_on_the_next_run_and_a_different_trail_is_refused() {
    let source = TestStore::open(Backend::Sqlite);
    let missions: Vec<_> = (0..6)
        .map(|i| {
            let m = source
                .create_mission(Phase::Coding, json!({ "i": i }).into())
                .unwrap();
            source
                .log_tool_calls(
                    &m,
                    (0..50)
                        .map(|j| NewToolCall::success("t", json!(j)))
                        .collect(),
                )
                .unwrap();
            m
        })
        .collect();
    let dest = TestStore::open(Backend::Postgres);
    // An interrupted copy left the first three missions (each is copied in
    // one transaction, so a mission is there whole or not at all).
    let mut exported = Vec::new();
    source
        .export_jsonl(&Default::default(), &mut |_, line, _| {
            exported.push(line);
            Ok(())
        })
        .unwrap();
    for line in &exported[..3] {
        dest.import_jsonl(line).unwrap();
    }
    let out = vibe(source.dir.path())
        .args([
            "copy",
            "--from",
            &source.location,
            "--to",
            &dest.location,
            "--json",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["copied"], json!(3));
    assert_eq!(report["already_there"], json!(3));
    assert_eq!(dest.count("SELECT COUNT(*) FROM tool_calls"), 300);

    // The source's trail grows after the copy: the copies now differ, and
    // copy refuses to merge them, writing nothing more: it names that
    // mission and goes past it (exit 6, Partial).
    source
        .log_tool_call(&missions[0], NewToolCall::success("late", json!({})))
        .unwrap();
    let out = vibe(source.dir.path())
        .args(["copy", "--from", &source.location, "--to", &dest.location])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(6), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("different trails")
            && text(&out.stderr).contains(missions[0].as_str()),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(dest.count("SELECT COUNT(*) FROM tool_calls"), 300);
}

#[test]
fn every_command_takes_a_postgres_url_and_file_only_commands_say_so() {
    let store = TestStore::open(Backend::Postgres);
    let dir = store.dir.path();
    let run = |args: &[&str]| {
        vibe(dir)
            .env("VIBE_DB", &store.location)
            // Where `vibe demo` finds its planner.
            .env("VIBE_GUEST_DIR", guest("planner").parent().unwrap())
            .args(args)
            .output()
            .unwrap()
    };
    let init = run(&["init", "--json"]);
    assert!(init.status.success(), "{}", text(&init.stderr));
    let init: serde_json::Value = serde_json::from_slice(&init.stdout).unwrap();
    assert_eq!(
        init["schema_version"],
        json!(vibe_store::store::POSTGRES_MIGRATIONS.len())
    );
    let demo = run(&["demo"]);
    assert!(demo.status.success(), "{}", text(&demo.stderr));
    assert!(
        text(&demo.stdout).contains("planner"),
        "{}",
        text(&demo.stdout)
    );
    let mission = store.get_mission_history(1).unwrap()[0]
        .mission_uuid
        .to_string();
    let echo = guest("echo");
    let ran = run(&[
        "run",
        echo.to_str().unwrap(),
        "--mission",
        &mission,
        "--input",
        "{\"say\":\"hi\"}",
    ]);
    assert!(ran.status.success(), "{}", text(&ran.stderr));
    for args in [
        vec!["tools", &mission],
        vec!["decisions", &mission],
        vec!["stats"],
        vec!["memory", &mission],
        vec!["playbooks", &mission],
        vec!["mission", "list"],
        vec!["verify"],
    ] {
        let out = run(&args);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
    }
    let backup = run(&["backup", "copy.db"]);
    assert_eq!(backup.status.code(), Some(4));
    assert!(
        text(&backup.stderr).contains("pg_dump"),
        "{}",
        text(&backup.stderr)
    );
}

#[test]
fn a_password_never_appears_in_an_error() {
    let dir = tempfile::tempdir().unwrap();
    for url in [
        "postgres://ann:S3cretPW@127.0.0.1:1/vibe",
        "postgres://ann:S3cretPW@127.0.0.1:1/vibe?sslmode=verify-full",
        "postgres://ann:S3cretPW@127.0.0.1:1/vibe?sslmode=nonsense",
        "postgres://ann:S3cretPW@127.0.0.1:notaport/vibe",
    ] {
        let out = vibe_db(dir.path(), url)
            .args(["mission", "list"])
            .output()
            .unwrap();
        assert!(!out.status.success(), "{url}");
        let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
        assert!(!all.contains("S3cretPW"), "{all}");
        assert!(!all.trim().is_empty());
    }
    let out = vibe_db(dir.path(), "postgres://ann@127.0.0.1:1/vibe")
        .env("PGPASSWORD", "S3cretPW")
        .args(["mission", "list"])
        .output()
        .unwrap();
    assert!(!text(&out.stderr).contains("S3cretPW"));
    assert!(text(&out.stderr).contains("postgres://ann@127.0.0.1:1/vibe"));
    // An option the URL may not carry, or one whose value cannot be read:
    // named, its value (which might be a password mistyped) unshown.
    for (url, named) in [
        (
            "postgres://ann:S3cretPW@127.0.0.1:1/vibe?sslcert=S3cretPW",
            "unknown option `sslcert`",
        ),
        (
            "postgres://ann:S3cretPW@127.0.0.1:1/vibe?keepalives=S3cretPW",
            "invalid value for option `keepalives`",
        ),
        (
            "postgres://ann:S3cretPW@127.0.0.1:1/vibe?prepared_statements=yes",
            "prepared_statements=yes is not one of auto, on, off",
        ),
    ] {
        let out = vibe_db(dir.path(), url)
            .args(["mission", "list"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(4), "{url}");
        let err = text(&out.stderr);
        assert!(err.contains(named) && !err.contains("S3cretPW"), "{err}");
    }
    // sslmode=require against the test cluster, which has no TLS: refused,
    // saying why, password unshown.
    if let Some(cluster) = server().cluster() {
        let url = format!(
            "postgres://postgres:S3cretPW@127.0.0.1:{}/postgres?sslmode=require",
            cluster.port()
        );
        let out = vibe_db(dir.path(), &url)
            .args(["mission", "list"])
            .output()
            .unwrap();
        assert!(!out.status.success());
        let err = text(&out.stderr);
        assert!(err.contains("TLS") && !err.contains("S3cretPW"), "{err}");
    }
}

/// A server that refuses the connection (no such database, no such role)
/// is named in the error, which says it could not connect, as for a server
/// that cannot be reached; before, only the server's own words were shown
/// (found by a breaker).
#[test]
fn a_server_that_refuses_the_connection_is_named_in_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = server().url("vibe_no_such_database");
    let no_role = missing.replacen("://postgres@", "://vibe_no_such_role@", 1);
    for (url, says) in [(missing, "create it first"), (no_role, "vibe_no_such_role")] {
        let out = vibe_db(dir.path(), &url)
            .args(["mission", "list"])
            .output()
            .unwrap();
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{url}: {err}");
        let shown = url.split('?').next().unwrap();
        assert!(
            err.contains("cannot connect") && err.contains(shown) && err.contains(says),
            "{url}: {err}"
        );
    }
}

/// An empty user in the URL, with `PGUSER` empty and `USER` unset, is the
/// login name, as libpq takes it (before: `postgres`, the superuser, or an
/// empty name sent to the server; found by a breaker). The error names the
/// server as the user it would connect as.
#[test]
fn an_empty_user_is_the_login_name() {
    let dir = tempfile::tempdir().unwrap();
    let login = std::process::Command::new("id")
        .arg("-un")
        .output()
        .unwrap();
    let login = text(&login.stdout).trim().to_owned();
    assert!(!login.is_empty());
    for url in [
        "postgres://@127.0.0.1:1/vibe",
        "postgres://:@127.0.0.1:1/vibe",
    ] {
        let out = vibe_db(dir.path(), url)
            .env("PGUSER", "")
            .env_remove("USER")
            .args(["mission", "list"])
            .output()
            .unwrap();
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{url}: {err}");
        assert!(
            err.contains(&format!("postgres://{login}@127.0.0.1:1/vibe")),
            "{url}: {err}"
        );
    }
}

/// A server's URL mistyped (the scheme in capitals, after a blank, with
/// one slash) is never taken for a file's path, which would be created with
/// the password in its name; a `?` in a password, unencoded, is refused
/// before any of it is read as options and quoted (found by a breaker).
#[test]
fn a_mistyped_url_is_refused_or_read_as_a_url_never_as_a_file() {
    let dir = tempfile::tempdir().unwrap();
    for (url, code) in [
        ("POSTGRES://ann:S3cretPW@127.0.0.1:1/vibe", 1),
        (" postgresql://ann:S3cretPW@127.0.0.1:1/vibe", 1),
        ("postgres:/ann:S3cretPW@127.0.0.1:1/vibe", 4),
        ("Postgres:ann:S3cretPW@127.0.0.1:1/vibe", 4),
        ("postgres://ann:S3c?sslmode=retPW@127.0.0.1:1/vibe", 4),
        (
            "postgres://ann:S3c?prepared_statements=retPW@127.0.0.1:1/vibe",
            4,
        ),
    ] {
        let out = vibe_db(dir.path(), url).arg("init").output().unwrap();
        let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
        assert_eq!(out.status.code(), Some(code), "{url}: {all}");
        assert!(
            !all.contains("S3c") && !all.contains("retPW"),
            "{url}: {all}"
        );
        if code == 1 {
            assert!(all.contains("cannot connect"), "{url}: {all}");
        }
        let made: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert!(made.is_empty(), "{url}: {made:?}");
    }
}

/// A server that takes the connection and never answers: given up on
/// within `connect_timeout`, as libpq does, not waited for forever (found
/// by a breaker), whether the store or the client library makes the socket.
#[test]
fn a_server_that_never_answers_is_given_up_on_within_connect_timeout() {
    let dir = tempfile::tempdir().unwrap();
    // Connections are taken into the listen queue and never read.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    for url in [
        format!("postgres://ann@127.0.0.1:{port}/vibe?connect_timeout=1"),
        format!("postgres://ann@localhost:{port}/vibe?connect_timeout=1&hostaddr=127.0.0.1"),
    ] {
        let mut child = vibe_db(dir.path(), &url)
            .args(["mission", "list"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // A bound on waiting, so that a hang fails the test rather than
        // holding it: far past the 1 s asked for.
        let deadline = Instant::now() + Duration::from_secs(60);
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("{url}: still connecting after 60 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let mut err = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
        assert_eq!(status.code(), Some(1), "{url}: {err}");
        assert!(
            err.contains("cannot connect") && err.contains("connect_timeout"),
            "{err}"
        );
    }
    drop(silent);
}

#[test]
fn the_pool_is_bounded_and_waits_for_a_free_connection() {
    let db = server().fresh_database();
    let options = OpenOptions::default().max_connections(2);
    let store = AnyStore::open_with(&db.url, options).unwrap();
    let mission = store
        .create_mission(Phase::Coding, json!({}).into())
        .unwrap();
    log_from_threads(&store, &mission, 8, 25);
    let mut client = db.client();
    let connections: i64 = client
        .query_one(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database()
               AND application_name = 'vibe-store'",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(connections <= 2, "{connections} connections open");
    assert_eq!(store.get_tool_history(&mission).unwrap().len(), 200);
}

#[test]
fn vibe_mcp_serves_tools_on_postgres_and_records_each_call() {
    let store = TestStore::open(Backend::Postgres);
    let echo = guest("echo");
    let mut raw = McpStdio::start_with(
        vibe_db(store.dir.path(), &store.location),
        &[echo.to_str().unwrap()],
        "raw",
    );
    raw.send(json!({ "jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": { "name": "echo", "arguments": { "say": "hi" } } }));
    let reply = raw.next();
    assert_eq!(reply["result"]["isError"], json!(false), "{reply}");
    assert_eq!(reply["result"]["structuredContent"], json!({ "say": "hi" }));
    assert_eq!(
        store.count(
            "SELECT COUNT(*) FROM tool_calls
             WHERE tool_name = 'echo' AND outcome = 'ok' AND caller::jsonb ->> 'transport' = 'stdio'"
        ),
        1
    );
}

#[test]
fn a_postgres_store_called_from_async_code_blocks_as_sqlite_does() {
    let db = server().fresh_database();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    // Straight from an async task, as `vibe mcp` does for a session's
    // mission: the client library's own runtime must not panic here.
    let url = db.url.clone();
    let history = runtime.block_on(async move {
        tokio::spawn(async move {
            let store = AnyStore::open(&url)?;
            let mission = store.create_mission(Phase::Coding, json!({}).into())?;
            store.log_tool_call(&mission, NewToolCall::success("async", json!({})))?;
            let history = store.get_tool_history(&mission)?;
            drop(store);
            Ok::<_, StoreError>(history)
        })
        .await
        .unwrap()
    });
    assert_eq!(history.unwrap().len(), 1);
}

#[test]
fn from_a_current_thread_runtime_the_store_works_through_spawn_blocking() {
    let db = server().fresh_database();
    let store = AnyStore::open(&db.url).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let made = runtime.block_on(async move {
        tokio::task::spawn_blocking(move || store.create_mission(Phase::Coding, json!({}).into()))
            .await
            .unwrap()
    });
    assert!(made.is_ok(), "{made:?}");
}

/// The server dropped the store's idle connections (pg_terminate_backend, as
/// an idle timeout, a pooler or a failover does). The next write finds its
/// connection dead before the server saw anything of it: nothing was
/// written, so it is retried on a fresh connection and succeeds, at either
/// durability, whether or not the store wrote the mission just before
/// (docs/guarantees.md: "only idle connections found dead when a
/// transaction begins ... are retried").
#[test]
fn a_write_after_the_server_dropped_idle_connections_succeeds_at_every_durability() {
    use vibe_store::store::Durability;
    for durability in [Durability::Normal, Durability::Full] {
        let mut options = OpenOptions::default();
        options.durability = durability;
        let store = TestStore::open_with(Backend::Postgres, options);
        let m = store
            .create_mission(Phase::Coding, Json::from(json!({})))
            .unwrap();
        store
            .log_tool_call(&m, NewToolCall::success("before", json!(1)))
            .unwrap();
        assert!(
            store.count(
                "SELECT COUNT(*) FROM (SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity
                 WHERE datname = current_database() AND pid <> pg_backend_pid()) t"
            ) >= 1
        );
        let after = store.log_tool_call(&m, NewToolCall::success("after", json!(2)));
        assert!(after.is_ok(), "{durability:?}: {after:?}");
        assert_eq!(store.count("SELECT COUNT(*) FROM tool_calls"), 2);
        assert!(store.verify_chain(&m).unwrap().intact());
    }
}

/// Another host's stuck transaction holds a mission's row lock: a write to
/// that mission fails as `Busy` once the busy timeout has passed, writing
/// nothing, also right after writes of this store's own to that mission
/// (then the call of the store's function, which sets the timeout itself)
/// (docs/guarantees.md: "A row lock held longer than the busy timeout (a
/// stuck transaction elsewhere) fails the call as Busy").
#[test]
fn a_write_behind_a_stuck_lock_fails_busy_after_the_busy_timeout_even_after_a_write_of_ours() {
    let options = OpenOptions::default().busy_timeout(Duration::from_millis(300));
    let store = TestStore::open_with(Backend::Postgres, options);
    let m = store
        .create_mission(Phase::Coding, Json::from(json!({})))
        .unwrap();
    // Three writes: the third and the one behind the lock are the call of
    // the store's function, sent on its own, which makes the lock timeout
    // itself.
    for i in 0..3 {
        store
            .log_tool_call(&m, NewToolCall::success("before", json!(i)))
            .unwrap();
    }
    let mut stuck = postgres::Client::connect(&store.location, postgres::NoTls).unwrap();
    assert!(!store_functions(&mut stuck).is_empty(), "no function made");
    stuck
        .batch_execute(&format!(
            "BEGIN; SELECT id FROM missions WHERE mission_uuid = '{m}' FOR UPDATE"
        ))
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let writer = {
        let (store, m) = (store.store.clone(), m.clone());
        std::thread::spawn(move || {
            let started = Instant::now();
            let written = store.log_tool_call(&m, NewToolCall::success("behind", json!(2)));
            tx.send((written, started.elapsed())).unwrap();
        })
    };
    let waited = rx.recv_timeout(Duration::from_secs(10));
    // Let the writer go whatever happened, so the test ends.
    stuck.batch_execute("ROLLBACK").unwrap();
    writer.join().unwrap();
    let (written, took) = waited.expect("the write still waited for the lock after 10 s");
    assert!(
        matches!(written, Err(StoreError::Busy { .. })),
        "{written:?} after {took:?}"
    );
    assert_eq!(store.count("SELECT COUNT(*) FROM tool_calls"), 3);
}

/// A write's last statement goes to the server with its COMMIT, in one
/// flight: when another program's trigger refuses the statement, or its
/// deferred constraint refuses the commit, the call fails with the
/// server's reason, nothing of it stays, and the next write on the same
/// pooled connection lands (docs/guarantees.md: "A write's BEGIN travels
/// with its first statement and its COMMIT with its last").
#[test]
fn a_write_refused_by_its_statement_or_by_its_commit_leaves_nothing_and_the_next_lands() {
    let options = OpenOptions::default().max_connections(1);
    let store = TestStore::open_with(Backend::Postgres, options);
    let m = store
        .create_mission(Phase::Coding, Json::from(json!({})))
        .unwrap();
    store.exec(
        "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS
           $$ BEGIN RAISE EXCEPTION 'refused %', NEW.tool_name; END $$;
         CREATE TRIGGER at_insert BEFORE INSERT ON tool_calls FOR EACH ROW
           WHEN (NEW.tool_name = 'at-insert') EXECUTE FUNCTION refuse();
         CREATE CONSTRAINT TRIGGER at_commit AFTER INSERT ON tool_calls
           DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
           WHEN (NEW.tool_name = 'at-commit') EXECUTE FUNCTION refuse();",
    );
    let entries = store.count("SELECT COUNT(*) FROM row_chain");
    for tool in ["at-insert", "at-commit", "at-insert"] {
        let refused = store.log_tool_call(&m, NewToolCall::success(tool, json!(1)));
        let message = format!("{refused:?}");
        assert!(
            message.contains(&format!("refused {tool}")),
            "{tool}: {message}"
        );
        assert_eq!(store.count("SELECT COUNT(*) FROM tool_calls"), 0, "{tool}");
        assert_eq!(
            store.count("SELECT COUNT(*) FROM row_chain"),
            entries,
            "{tool}"
        );
    }
    let landed = store
        .log_tool_call(&m, NewToolCall::success("fine", json!(2)))
        .unwrap();
    assert_eq!(store.get_tool_call(landed).unwrap().tool_name, "fine");
    assert_eq!(store.count("SELECT COUNT(*) FROM row_chain"), entries + 1);
    assert!(store.verify_chain(&m).unwrap().intact());
}

/// A write whose last statement and `COMMIT` went out together, and whose
/// answers the connection then lost, may have committed: the call says the
/// write may or may not have been recorded, never that nothing was written
/// (found by the breaker: "nothing was written" of a row that was there).
/// The connection is cut by a proxy right after the flight reaches the
/// server.
#[test]
fn a_connection_lost_after_the_commit_flight_says_the_write_may_have_been_recorded() {
    let db = server().fresh_database();
    let proxy = FaultyProxy::start(&db.url);
    let store = AnyStore::open(&proxy.url).unwrap();
    let m = store
        .create_mission(Phase::Coding, Json::from(json!({})))
        .unwrap();
    // Cut as the insert is sent inline (its first use), then as the
    // function the store made of it is called on its own.
    for (round, name) in ["cut inline", "cut call"].into_iter().enumerate() {
        proxy.next(Fault::Cut);
        let lost = store.log_tool_call(&m, NewToolCall::success(name, json!(1)));
        assert!(
            matches!(&lost, Err(StoreError::Unavailable { reason, .. }) if reason.contains("may or may not")),
            "{lost:?}"
        );
        proxy.wait_for_the_cut_flight();
        let mut client = db.client();
        let kept: i64 = client
            .query_one(
                "SELECT COUNT(*) FROM tool_calls WHERE tool_name = $1",
                &[&name],
            )
            .unwrap()
            .get(0);
        assert_eq!(
            kept, 1,
            "the COMMIT ran: the message must not say nothing was written"
        );
        for i in 0..2 {
            store
                .log_tool_call(&m, NewToolCall::success("after", json!(i)))
                .unwrap();
        }
        if round == 0 {
            let functions: i64 = client
                .query_one(
                    "SELECT COUNT(*) FROM pg_proc WHERE proname LIKE 'vibe_write_%'",
                    &[],
                )
                .unwrap()
                .get(0);
            assert!(functions > 0, "no function was made");
        }
    }
    assert!(store.verify_chain(&m).unwrap().intact());
}

/// A connection lost while the call of a store's function is prepared on
/// it (its first call on a connection that prepares statements): nothing
/// of the write was sent, so it is written once, on another connection.
#[test]
fn a_connection_lost_while_a_call_is_prepared_writes_once_on_another() {
    let db = server().fresh_database();
    let proxy = FaultyProxy::start(&db.url);
    let store = AnyStore::open(&proxy.prepared_url()).unwrap();
    let m = store
        .create_mission(Phase::Coding, Json::from(json!({})))
        .unwrap();
    // The first write takes the mission's lock (no head remembered yet);
    // the insert on a remembered head is made a function after its second
    // use, and its first call prepares it.
    for i in 0..3 {
        store
            .log_tool_call(&m, NewToolCall::success("warm", json!(i)))
            .unwrap();
    }
    let texts = proxy.call_texts();
    proxy.next(Fault::CutPrepare);
    store
        .log_tool_call(&m, NewToolCall::success("cut prepare", json!(1)))
        .unwrap();
    assert!(
        proxy.call_texts() >= texts + 2,
        "the call was prepared, cut, and prepared again"
    );
    assert_eq!(
        proxy.fault.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "the prepare's flight was cut"
    );
    let mut client = db.client();
    let kept: i64 = client
        .query_one(
            "SELECT COUNT(*) FROM tool_calls WHERE tool_name = 'cut prepare'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(kept, 1);
    store
        .log_tool_call(&m, NewToolCall::success("after", json!(1)))
        .unwrap();
    assert!(store.verify_chain(&m).unwrap().intact());
    assert_eq!(store.get_tool_history(&m).unwrap().len(), 5);
}

/// The store's functions remade by a role it trusts, returning their row
/// id as `integer` rather than `bigint`, while their calls are prepared on
/// the store's connections (found by a breaker: the write then failed
/// after its row was written, "an insert returned no id"): the stale plan
/// costs one retry, the id is read, and every write is there once.
#[test]
fn a_function_remade_while_its_call_is_prepared_writes_each_call_once() {
    let db = server().fresh_database();
    let store = AnyStore::open(&db.url).unwrap();
    let m = store
        .create_mission(Phase::Coding, Json::from(json!({})))
        .unwrap();
    for i in 0..4 {
        store
            .log_tool_call(&m, NewToolCall::success("before", json!(i)))
            .unwrap();
    }
    let mut client = db.client();
    // What a function returns cannot be changed in place: each dropped
    // and made again.
    client
        .batch_execute(
            "DO $x$ DECLARE r record; d text; BEGIN
               FOR r IN SELECT p.oid, CAST(p.oid AS regprocedure) AS f FROM pg_proc p
                        WHERE proname LIKE 'vibe_write_%' LOOP
                 d := pg_get_functiondef(r.oid);
                 EXECUTE 'DROP FUNCTION ' || r.f;
                 EXECUTE replace(d, 'RETURNS bigint', 'RETURNS integer');
               END LOOP; END $x$",
        )
        .unwrap();
    let integers: i64 = client
        .query_one(
            "SELECT COUNT(*) FROM pg_proc WHERE proname LIKE 'vibe_write_%' \
             AND prorettype = CAST('integer' AS regtype)",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(integers > 0, "the functions were remade");
    for i in 0..3 {
        store
            .log_tool_call(&m, NewToolCall::success("after", json!(i)))
            .unwrap();
    }
    let history = store.get_tool_history(&m).unwrap();
    assert_eq!(history.len(), 7, "each write once");
    assert!(store.verify_chain(&m).unwrap().intact());
}

/// Another program that holds the mission's lock and rewrites the ledger's
/// last entry (or deletes it) while a write waits for that lock: the write
/// chains onto the entry the ledger holds once the lock is granted, never
/// onto the head the store remembered (found by the breaker: the insert
/// checked the head against what the ledger held before it waited).
#[test]
fn a_head_rewritten_while_a_write_waits_for_the_lock_is_not_chained_onto() {
    let tampering = [
        "UPDATE row_chain SET hash = repeat('c', 64)",
        "DELETE FROM row_chain",
    ];
    for tamper in tampering {
        let store = TestStore::open(Backend::Postgres);
        let m = store
            .create_mission(Phase::Coding, Json::from(json!({})))
            .unwrap();
        for i in 0..2 {
            store
                .log_tool_call(&m, NewToolCall::success("before", json!(i)))
                .unwrap();
        }
        let mut other = postgres::Client::connect(&store.location, postgres::NoTls).unwrap();
        other
            .batch_execute(&format!(
                "BEGIN; SELECT id FROM missions WHERE mission_uuid = '{m}' FOR UPDATE"
            ))
            .unwrap();
        let writer = {
            let (store, m) = (store.store.clone(), m.clone());
            std::thread::spawn(move || {
                store.log_tool_call(&m, NewToolCall::success("late", json!(9)))
            })
        };
        // The write is sent, and waits for the lock.
        let waiting = Instant::now();
        while store
            .count("SELECT COUNT(*) FROM pg_locks WHERE NOT granted AND locktype = 'transactionid'")
            == 0
        {
            assert!(
                waiting.elapsed() < Duration::from_secs(20),
                "the write never waited"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        other
            .batch_execute(&format!(
                "{tamper} WHERE seq = (SELECT MAX(seq) FROM row_chain); COMMIT"
            ))
            .unwrap();
        writer.join().unwrap().unwrap();
        let last = store.count("SELECT MAX(seq) FROM row_chain");
        let report = store.verify_chain(&m).unwrap();
        let flagged: Vec<_> = report
            .edited
            .iter()
            .chain(&report.out_of_chain)
            .chain(&report.deleted)
            .filter(|row| row.table == "row_chain" && row.position == Some(last))
            .collect();
        // The new entry follows from the one before it in the ledger.
        assert!(flagged.is_empty(), "{tamper}: {report:?}");
        assert!(!report.intact(), "{tamper}: the tampering itself is found");
    }
}

/// The names under which `bytes` (a client's messages) prepare a call of
/// the store's functions: a Parse (`P`, its length, the name, the text) of
/// `SELECT "schema".vibe_write_...`.
fn prepared_calls(bytes: &[u8]) -> Vec<Vec<u8>> {
    let text = b"\0SELECT \"";
    bytes
        .windows(text.len())
        .enumerate()
        .filter(|(at, w)| {
            *w == text
                && bytes[at + text.len()..]
                    .windows(11)
                    .take(80)
                    .any(|w| w == b"vibe_write_")
        })
        .filter_map(|(at, _)| {
            // Back from the name's end to the Parse that begins it.
            let start = (0..at).rev().take(32).find(|&p| {
                bytes[p] == b'P'
                    && p + 5 <= at
                    && bytes[p + 5..at].iter().all(u8::is_ascii_alphanumeric)
            })?;
            let name = &bytes[start + 5..at];
            (!name.is_empty()).then(|| name.to_vec())
        })
        .collect()
}

/// A TCP proxy to a PostgreSQL server that does one thing wrong when told:
/// [`Fault::Cut`] closes the connection carrying a chained write's last
/// flight (its insert and `COMMIT`, or the call of the store's function
/// that is the whole write) before any answer comes back (the server gets
/// the whole flight); [`Fault::SpoilBegin`] turns the next `BEGIN` into a syntax
/// error, so the server refuses it before it runs, as a cancel or a
/// timeout landing there would.
struct FaultyProxy {
    url: String,
    fault: Arc<std::sync::atomic::AtomicU8>,
    /// Round trips so far: each time a client sends after the server spoke.
    turns: Arc<std::sync::atomic::AtomicUsize>,
    /// Reads from clients that carried the text of a call of the store's
    /// functions (parsed by the server, not only bound to a name).
    call_texts: Arc<std::sync::atomic::AtomicUsize>,
    /// Whether the server has answered the flight of the last cut.
    answered: Arc<std::sync::atomic::AtomicBool>,
}

#[derive(Clone, Copy)]
#[repr(u8)]
enum Fault {
    Cut = 1,
    SpoilBegin = 2,
    CutPrepare = 3,
}

impl FaultyProxy {
    fn start(url: &str) -> FaultyProxy {
        use std::net::{Shutdown, TcpListener, TcpStream};
        use std::sync::atomic::{AtomicU8, Ordering};
        let (user, rest) = url.split_once('@').expect("a URL with a user");
        let (server, database) = rest.split_once('/').expect("a URL with a database");
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let fault = Arc::new(AtomicU8::new(0));
        let turns = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let call_texts = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let answered = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (server, faults, counted, texts, cut_answered) = (
            server.to_owned(),
            fault.clone(),
            turns.clone(),
            call_texts.clone(),
            answered.clone(),
        );
        let find = |bytes: &[u8], what: &[u8]| bytes.windows(what.len()).position(|w| w == what);
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(mut client) = client else { return };
                let mut upstream = TcpStream::connect(&server).unwrap();
                let (mut from_server, mut to_client) =
                    (upstream.try_clone().unwrap(), client.try_clone().unwrap());
                let spoke = Arc::new(std::sync::atomic::AtomicBool::new(false));
                // Whether the server has ended a transaction since the cut
                // (it says it is ready and idle: `Z`, length 5, `I`).
                let committed = Arc::new(std::sync::atomic::AtomicBool::new(false));
                let (answered, server_committed) = (spoke.clone(), committed.clone());
                std::thread::spawn(move || {
                    // Read everything the server says, also once the
                    // client is gone, so the server is never reset while
                    // it still works through the flight.
                    let mut buf = vec![0u8; 65536];
                    while let Ok(n @ 1..) = from_server.read(&mut buf) {
                        answered.store(true, Ordering::SeqCst);
                        if find(&buf[..n], b"Z\0\0\0\x05I").is_some() {
                            server_committed.store(true, Ordering::SeqCst);
                        }
                        let _ = std::io::Write::write_all(&mut to_client, &buf[..n]);
                    }
                    let _ = to_client.shutdown(Shutdown::Both);
                });
                let (faults, counted, texts, cut_answered) = (
                    faults.clone(),
                    counted.clone(),
                    texts.clone(),
                    cut_answered.clone(),
                );
                std::thread::spawn(move || {
                    let (mut buf, mut inserted) = (vec![0u8; 65536], false);
                    let mut calls: Vec<Vec<u8>> = Vec::new();
                    let mut seen: Vec<u8> = Vec::new();
                    loop {
                        let n = match client.read(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        if spoke.swap(false, Ordering::SeqCst) {
                            counted.fetch_add(1, Ordering::SeqCst);
                        }
                        let chunk = &mut buf[..n];
                        // What is looked for may straddle two reads: the
                        // end of the last one is searched with this one.
                        let window = [&seen[..], &chunk[..]].concat();
                        let before = seen.len();
                        seen = window[window.len().saturating_sub(64)..].to_vec();
                        // Found ending in this read, not wholly in the last.
                        let here = |what: &[u8]| {
                            find(&window[before.saturating_sub(what.len() - 1)..], what).is_some()
                        };
                        inserted |= here(b"INSERT INTO row_chain");
                        // The store's functions' calls prepared under a
                        // name (`prepared_url`), as a Bind of that name:
                        // `B`, its length, the unnamed portal, the name.
                        // Run now: an Execute, unnamed portal, all rows.
                        let executes = here(b"E\0\0\0\x09\0\0\0\0\0");
                        let preparing = prepared_calls(&window);
                        let prepares = !preparing.is_empty() && !executes;
                        calls.extend(preparing);
                        let calls_one = calls.iter().any(|name| {
                            let bind = [&b"\0"[..], name, b"\0"].concat();
                            window
                                .windows(bind.len())
                                .enumerate()
                                .any(|(at, w)| w == bind && at >= 5 && window[at - 5] == b'B')
                        });
                        if here(b"vibe_write_") {
                            texts.fetch_add(1, Ordering::SeqCst);
                        }
                        let mut cut = false;
                        // A chained write's last flight: its insert's (or
                        // the insert's function's) with the COMMIT (the
                        // statement, not the word in `READ COMMITTED`), or
                        // the function's call sent on its own, by its text
                        // or by its prepared name (not the flight that
                        // prepares it).
                        if prepares {
                            // The flight that prepares a call under a
                            // name, which runs nothing.
                            cut = faults
                                .compare_exchange(
                                    Fault::CutPrepare as u8,
                                    0,
                                    Ordering::SeqCst,
                                    Ordering::SeqCst,
                                )
                                .is_ok();
                        }
                        if (inserted && here(b"COMMIT\0"))
                            || (executes && (here(b"vibe_write_") || calls_one))
                        {
                            cut = faults
                                .compare_exchange(
                                    Fault::Cut as u8,
                                    0,
                                    Ordering::SeqCst,
                                    Ordering::SeqCst,
                                )
                                .is_ok();
                        }
                        if let Some(at) = find(chunk, b"BEGIN") {
                            if faults
                                .compare_exchange(
                                    Fault::SpoilBegin as u8,
                                    0,
                                    Ordering::SeqCst,
                                    Ordering::SeqCst,
                                )
                                .is_ok()
                            {
                                chunk[at + 4] = b'X';
                            }
                        }
                        if cut {
                            // The client loses the connection before any
                            // answer; the server gets the whole flight.
                            committed.store(false, Ordering::SeqCst);
                            let _ = client.shutdown(Shutdown::Both);
                        }
                        if std::io::Write::write_all(&mut upstream, chunk).is_err() {
                            break;
                        }
                        if cut {
                            // Until the server has ended the transaction,
                            // however loaded it is.
                            let deadline = Instant::now() + Duration::from_secs(30);
                            while !committed.load(Ordering::SeqCst) && Instant::now() < deadline {
                                std::thread::sleep(Duration::from_millis(5));
                            }
                            cut_answered.store(true, Ordering::SeqCst);
                            break;
                        }
                    }
                    let _ = client.shutdown(Shutdown::Both);
                    let _ = upstream.shutdown(Shutdown::Both);
                });
            }
        });
        FaultyProxy {
            url: format!("{user}@127.0.0.1:{port}/{database}"),
            fault,
            turns,
            call_texts,
            answered,
        }
    }

    /// Waits until the server has answered the flight of the last cut (the
    /// client learns of the cut at once, the server may still be working).
    fn wait_for_the_cut_flight(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !self.answered.load(std::sync::atomic::Ordering::SeqCst) {
            assert!(
                Instant::now() < deadline,
                "the server never answered the cut flight"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// The proxy's URL, with the store told to prepare statements on its
    /// connections (`prepared_statements=on`): a proxy is never proved
    /// direct, and this one carries each connection to one of the
    /// server's.
    fn prepared_url(&self) -> String {
        let sep = if self.url.contains('?') { '&' } else { '?' };
        format!("{}{sep}prepared_statements=on", self.url)
    }

    /// How many reads from clients carried a call's text so far.
    fn call_texts(&self) -> usize {
        self.call_texts.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Round trips the proxy has carried so far.
    fn turns(&self) -> usize {
        self.turns.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn next(&self, fault: Fault) {
        self.fault
            .store(fault as u8, std::sync::atomic::Ordering::SeqCst);
    }
}

/// A `BEGIN` the server refuses before running it (a cancel or a timeout
/// landing between it and the next statement) leaves no write committed on
/// its own: a statement that writes is never sent behind an unanswered
/// `BEGIN` (found by the breaker: a mission created in autocommit, with no
/// ledger entry, by a call that failed).
#[test]
fn a_begin_refused_before_it_ran_lets_no_statement_commit_on_its_own() {
    let db = server().fresh_database();
    let proxy = FaultyProxy::start(&db.url);
    let store = AnyStore::open(&proxy.url).unwrap();
    let mut client = db.client();
    let mut count = |table: &str| -> i64 {
        client
            .query_one(&format!("SELECT COUNT(*) FROM {table}"), &[])
            .unwrap()
            .get(0)
    };
    proxy.next(Fault::SpoilBegin);
    let refused = store.create_mission(Phase::Coding, Json::from(json!({})));
    assert!(
        format!("{refused:?}").contains("syntax error"),
        "{refused:?}"
    );
    assert_eq!(count("missions"), 0);
    let m = store
        .create_mission(Phase::Coding, Json::from(json!({})))
        .unwrap();
    // Two writes refused at their BEGIN leave no row and no ledger entry.
    let refused_twice = |count: &mut dyn FnMut(&str) -> i64| {
        let (calls, entries) = (count("tool_calls"), count("row_chain"));
        for _ in 0..2 {
            proxy.next(Fault::SpoilBegin);
            let refused = store.log_tool_call(&m, NewToolCall::success("spoilt", json!(1)));
            assert!(
                format!("{refused:?}").contains("syntax error"),
                "{refused:?}"
            );
            assert_eq!(count("tool_calls"), calls);
            assert_eq!(count("row_chain"), entries);
        }
    };
    refused_twice(&mut count);
    assert_eq!(count("tool_calls"), 0);
    store
        .log_tool_call(&m, NewToolCall::success("after", json!(2)))
        .unwrap();
    // Now the store remembers the head that write left, and the next one
    // sends its BEGIN, its insert and its COMMIT in one flight: the insert,
    // run on its own after the refused BEGIN, refuses itself.
    let calls = count("tool_calls");
    refused_twice(&mut count);
    store
        .log_tool_call(&m, NewToolCall::success("after", json!(3)))
        .unwrap();
    assert_eq!(count("missions"), 1);
    assert_eq!(count("tool_calls"), calls + 1);
    assert!(store.verify_chain(&m).unwrap().intact());
}

/// A write chains onto the head this store's last write to the mission
/// left, in one round trip (its BEGIN, the insert and its COMMIT in one
/// flight, nothing read first); a head another writer moved on since, or a
/// mission deleted since, refuses that insert as a whole, and the write is
/// made the locked way (or fails as the mission being gone). Every chain
/// stays whole.
#[test]
fn a_remembered_head_saves_round_trips_and_a_moved_one_costs_only_one() {
    let db = server().fresh_database();
    let proxy = FaultyProxy::start(&db.url);
    // A proxy is never proved direct; this one hands the store's
    // connections on one to one, so prepared statements hold through it.
    let store = AnyStore::open(&proxy.prepared_url()).unwrap();
    let other = AnyStore::open(&db.url).unwrap();
    let m = store
        .create_mission(Phase::Coding, Json::from(json!({})))
        .unwrap();
    let log =
        |store: &AnyStore, n: i64| store.log_tool_call(&m, NewToolCall::success("t", json!(n)));
    log(&store, 1).unwrap();
    let turns = |f: &dyn Fn()| {
        let before = proxy.turns();
        f();
        proxy.turns() - before
    };
    let decision = NewDecision::new("plan", "r", "a");
    // Each round: remembered, a tool call and a decision; then another
    // writer moves the head on, and the remembered one is refused (one
    // round trip), then the locked way (three), then one again; a write of
    // another kind by this store (a status) leaves its head too. The first
    // two rounds also make the store's functions (their round trips come
    // after each statement's second use); from the third, the counts are
    // what every write costs.
    let round = |n: i64| {
        [
            turns(&|| {
                log(&store, n).unwrap();
            }),
            turns(&|| {
                store.record_decision(&m, decision.clone()).unwrap();
            }),
            {
                log(&other, n + 1).unwrap();
                turns(&|| {
                    log(&store, n + 2).unwrap();
                })
            },
            turns(&|| {
                log(&store, n + 3).unwrap();
            }),
            {
                store
                    .update_mission_status(&m, MissionStatus::InProgress)
                    .unwrap();
                turns(&|| {
                    log(&store, n + 4).unwrap();
                })
            },
        ]
    };
    let first = round(2);
    let second = round(7);
    assert!(
        first.iter().chain(&second).any(|&turns| turns > 4),
        "the second use makes a function: {first:?} {second:?}"
    );
    // The first call of each function on a connection prepares it there:
    // one round trip more, once.
    let third = round(12);
    assert!(
        third.iter().all(|&turns| turns <= 4 + 1),
        "at most one more round trip: {third:?}"
    );
    let texts = proxy.call_texts();
    assert_eq!(round(17), [1, 1, 4, 1, 1]);
    assert_eq!(round(22), [1, 1, 4, 1, 1]);
    assert_eq!(
        proxy.call_texts(),
        texts,
        "a warm call is bound to its prepared name, its text never sent again"
    );
    // An invocation (what `vibe mcp` and `vibe run` record): its row is
    // begun on the remembered head in one round trip, once warm, and ended
    // in three.
    let start = InvocationStart {
        tool_name: "tool".into(),
        input: Json::from(json!({})),
        component: None,
        caller: None,
    };
    let end = InvocationEnd {
        outcome: Outcome::Ok,
        result: Some(Json::from(json!(null))),
        duration_ms: Some(1),
        error_message: None,
    };
    let mut turns_taken = Vec::new();
    for _ in 0..3 {
        let before = proxy.turns();
        let id = store.begin_invocation(&m, &start).unwrap();
        let begun = proxy.turns() - before;
        turns_taken.push((begun, turns(&|| store.end_invocation(id, &end).unwrap())));
    }
    // Its end: the lock and the head in one flight, the update returning
    // the row, the ledger entry with the COMMIT.
    assert_eq!(turns_taken[2], (1, 3), "{turns_taken:?}");
    let report = store.verify_chain(&m).unwrap();
    assert!(report.intact(), "{report:?}");
    assert_eq!(
        store.get_tool_history(&m).unwrap().len(),
        29,
        "every acknowledged write is there"
    );
    // The mission deleted by another program: not found, nothing written.
    let mut client = db.client();
    client
        .batch_execute("DELETE FROM row_chain; DELETE FROM missions")
        .unwrap();
    let gone = log(&store, 22);
    assert!(
        matches!(gone, Err(StoreError::MissionNotFound(_))),
        "{gone:?}"
    );
    let left: i64 = client
        .query_one("SELECT COUNT(*) FROM tool_calls", &[])
        .unwrap()
        .get(0);
    assert_eq!(left, 0);
}

/// The functions (`vibe_write_...`) the store keeps its hot writes in.
fn store_functions(client: &mut postgres::Client) -> Vec<String> {
    client
        .query(
            "SELECT CAST(p.oid AS regprocedure)::text FROM pg_proc p
             WHERE p.proname LIKE 'vibe_write_%' ORDER BY 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// A tool call's and a decision's insert run as functions of the server's
/// once the store made them (after each one's first use), so the server
/// plans them once per connection. A function under the store's name with
/// another body is never called by a store opened since; functions dropped
/// by another program cost a write one retry, inline, and are made again;
/// a role that may not create functions writes inline. Every write is
/// there, every chain whole.
#[test]
fn hot_writes_run_as_the_servers_functions_and_survive_their_loss() {
    let db = server().fresh_database();
    let store = AnyStore::open(&db.url).unwrap();
    let mut client = db.client();
    let m = store
        .create_mission(Phase::Coding, Json::from(json!({})))
        .unwrap();
    let write = |store: &AnyStore, n: i64| -> Result<(), StoreError> {
        store.log_tool_call(&m, NewToolCall::success("t", json!(n)))?;
        store.record_decision(&m, NewDecision::new("plan", "r", "a"))?;
        Ok(())
    };
    for n in 0..3 {
        write(&store, n).unwrap();
    }
    // Every write chained onto the head remembered (a tool call's and a
    // decision's insert, each with its lock), each made a function after
    // its second use.
    let made = store_functions(&mut client);
    assert_eq!(made.len(), 2, "{made:?}");
    // Another program gives them other bodies: the store calls them (its
    // write fails, and writes nothing); a store opened now never does.
    for f in &made {
        client
            .batch_execute(&format!(
                "CREATE OR REPLACE FUNCTION {f} RETURNS bigint LANGUAGE plpgsql AS
                 $$ BEGIN RAISE EXCEPTION 'not the store''s function'; END $$"
            ))
            .unwrap();
    }
    let called = write(&store, 3);
    assert!(
        matches!(&called, Err(StoreError::Server(m)) if m.contains("not the store's function")),
        "{called:?}"
    );
    let fresh = AnyStore::open(&db.url).unwrap();
    for n in 3..6 {
        write(&fresh, n).unwrap();
    }
    // Another program drops them: the next write is tried again (the
    // locked way, so inserts without their lock may join them), and the
    // functions are made again, under the same names.
    for f in &made {
        client.batch_execute(&format!("DROP FUNCTION {f}")).unwrap();
    }
    for n in 6..10 {
        write(&store, n).unwrap();
    }
    let remade = store_functions(&mut client);
    assert!(made.iter().all(|f| remade.contains(f)), "{remade:?}");
    // A role that may only read and write rows writes inline.
    let role = format!("app_{}", &db.name[db.name.len() - 12..]);
    client
        .batch_execute(&format!(
            "CREATE ROLE {role} LOGIN;
             GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role};
             GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role};
             REVOKE CREATE ON SCHEMA public FROM PUBLIC"
        ))
        .unwrap();
    for f in &remade {
        client.batch_execute(&format!("DROP FUNCTION {f}")).unwrap();
    }
    let app = AnyStore::open(&crate::common::as_role(&db.url, &role))
        .and_then(|app| (10..13).try_for_each(|n| write(&app, n)));
    let left = store_functions(&mut client);
    client
        .batch_execute(&format!("DROP OWNED BY {role}; DROP ROLE {role}"))
        .unwrap();
    app.unwrap();
    assert_eq!(left, Vec::<String>::new(), "the role made no function");
    let report = store.verify_chain(&m).unwrap();
    assert!(report.intact(), "{report:?}");
    assert_eq!(store.get_tool_history(&m).unwrap().len(), 13);
    assert_eq!(store.get_decisions(&m).unwrap().len(), 13);
}

/// Another role that may create in the store's schema never gets its SQL
/// into the store's writes (found by the breaker): an overload of one of
/// the store's functions taking `text` (what an argument of unknown type
/// prefers) is never what a call resolves to; a function with the store's
/// very body that another role made first is never called (its owner could
/// change the body later); and a function whose right to execute was
/// revoked is not called again; and none is made or called in a schema
/// another role owns: the writes go inline. Every write lands.
#[test]
fn functions_another_role_could_change_or_may_not_run_are_never_called() {
    let db = server().fresh_database();
    let other = server().fresh_database();
    let third = server().fresh_database();
    let suffix = &db.name[db.name.len() - 12..];
    let (mallory, app) = (format!("mallory_{suffix}"), format!("app_{suffix}"));
    let mut admin = server().admin();
    admin
        .batch_execute(&format!(
            "CREATE ROLE {mallory} LOGIN; CREATE ROLE {app} LOGIN"
        ))
        .unwrap();
    let mut client = db.client();
    let store = AnyStore::open(&db.url).unwrap();
    let m = store
        .create_mission(Phase::Coding, Json::from(json!({})))
        .unwrap();
    let write = |store: &AnyStore, m: &vibe_store::MissionId, n: i64| -> Result<(), StoreError> {
        store.log_tool_call(m, NewToolCall::success("t", json!(n)))?;
        store.record_decision(m, NewDecision::new("plan", "r", "a"))?;
        Ok(())
    };
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        for n in 0..3 {
            write(&store, &m, n).unwrap();
        }
        let made = store_functions(&mut client);
        assert_eq!(made.len(), 2, "{made:?}");
        let hijack =
            "RETURNS bigint LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'hijacked'; END $$";
        // Overloads taking text, made by another role.
        client
            .batch_execute(&format!(
                "GRANT CREATE ON SCHEMA public TO PUBLIC; SET ROLE {mallory}"
            ))
            .unwrap();
        for f in &made {
            let (name, arguments) = f.split_once('(').unwrap();
            let texts = vec!["text"; arguments.split(',').count()].join(", ");
            client
                .batch_execute(&format!("CREATE FUNCTION {name}({texts}) {hijack}"))
                .unwrap();
        }
        client.batch_execute("RESET ROLE").unwrap();
        for n in 3..6 {
            write(&store, &m, n).unwrap();
        }
        // The store's functions, made first by another role in another
        // database, then given other bodies: never called.
        let definitions: Vec<String> = client
            .query(
                "SELECT pg_get_functiondef(p.oid) FROM pg_proc p
                 WHERE p.proname LIKE 'vibe_write_%' AND pg_get_userbyid(p.proowner) = current_user",
                &[],
            )
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert_eq!(definitions.len(), 2);
        let second = AnyStore::open(&other.url).unwrap();
        let mut other_client = other.client();
        other_client
            .batch_execute(&format!(
                "GRANT CREATE ON SCHEMA public TO PUBLIC; SET ROLE {mallory}"
            ))
            .unwrap();
        for definition in &definitions {
            other_client.batch_execute(definition).unwrap();
        }
        let m2 = second
            .create_mission(Phase::Coding, Json::from(json!({})))
            .unwrap();
        for n in 0..3 {
            write(&second, &m2, n).unwrap();
        }
        for f in &made {
            other_client
                .batch_execute(&format!("CREATE OR REPLACE FUNCTION {f} {hijack}"))
                .unwrap();
        }
        other_client.batch_execute("RESET ROLE").unwrap();
        for n in 3..6 {
            write(&second, &m2, n).unwrap();
        }
        let report = second.verify_chain(&m2).unwrap();
        assert!(report.intact(), "{report:?}");
        assert_eq!(second.get_tool_history(&m2).unwrap().len(), 6);
        // A role that may only write rows calls the owner's functions,
        // until its right to execute them is revoked.
        client
            .batch_execute(&format!(
                "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {app};
                 GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {app}"
            ))
            .unwrap();
        let as_app = AnyStore::open(&crate::common::as_role(&db.url, &app)).unwrap();
        for n in 6..9 {
            write(&as_app, &m, n).unwrap();
        }
        for f in &made {
            client
                .batch_execute(&format!("REVOKE EXECUTE ON FUNCTION {f} FROM PUBLIC"))
                .unwrap();
        }
        for n in 9..12 {
            write(&as_app, &m, n).unwrap();
        }
        // A schema another role owns (which may drop any function in it
        // and make another of the same name) first on the search path:
        // the store makes no function there, and calls none (found by the
        // breaker: a function dropped and made again by a schema's owner
        // ran with the store's rights, and the writes it acknowledged were
        // lost).
        let schema = format!("theirs_{suffix}");
        third
            .client()
            .batch_execute(&format!(
                "CREATE SCHEMA {schema} AUTHORIZATION {mallory};
                 ALTER DATABASE {} SET search_path = {schema}, public",
                third.name
            ))
            .unwrap();
        let in_theirs = AnyStore::open(&third.url).unwrap();
        let m3 = in_theirs
            .create_mission(Phase::Coding, Json::from(json!({})))
            .unwrap();
        for n in 0..4 {
            write(&in_theirs, &m3, n).unwrap();
        }
        assert_eq!(store_functions(&mut third.client()), Vec::<String>::new());
        assert!(in_theirs.verify_chain(&m3).unwrap().intact());
        assert_eq!(in_theirs.get_tool_history(&m3).unwrap().len(), 4);
        for n in 12..15 {
            write(&store, &m, n).unwrap();
        }
        let report = store.verify_chain(&m).unwrap();
        assert!(report.intact(), "{report:?}");
        assert_eq!(store.get_tool_history(&m).unwrap().len(), 15);
        assert_eq!(store.get_decisions(&m).unwrap().len(), 15);
    }));
    for database in [&db, &other, &third] {
        let _ = database
            .client()
            .batch_execute(&format!("DROP OWNED BY {mallory}; DROP OWNED BY {app}"));
    }
    let _ = admin.batch_execute(&format!("DROP ROLE {mallory}; DROP ROLE {app}"));
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// A server whose default isolation is REPEATABLE READ: writes to one
/// mission from many threads all land, each once, in one chain (found by
/// the breaker: a write's head, read after the mission's lock, came from
/// the snapshot its transaction took before the lock was granted, and most
/// writes were refused).
#[test]
fn writes_land_whatever_the_servers_default_isolation() {
    let db = server().fresh_database();
    db.client()
        .batch_execute(&format!(
            "ALTER DATABASE {} SET default_transaction_isolation = 'repeatable read'",
            db.name
        ))
        .unwrap();
    let store = AnyStore::open(&db.url).unwrap();
    let m = store
        .create_mission(Phase::Coding, Json::from(json!({})))
        .unwrap();
    log_from_threads(&store, &m, 4, 25);
    let report = store.verify_chain(&m).unwrap();
    assert!(report.intact(), "{report:?}");
    assert_eq!(store.get_tool_history(&m).unwrap().len(), 100);
}

/// A write whose statement is being made a function while another session
/// holds an uncommitted function of the same name (making it too, or a
/// long migration) returns without waiting for that session: the store
/// gives up on the function at once and writes inline (found by the
/// breaker: each write waited twice its busy timeout).
#[test]
fn a_function_another_session_is_making_never_holds_up_a_write() {
    // The store's functions, as another database's store made them.
    let first = server().fresh_database();
    let store = AnyStore::open(&first.url).unwrap();
    let m = store
        .create_mission(Phase::Coding, Json::from(json!({})))
        .unwrap();
    let write = |store: &AnyStore, m: &vibe_store::MissionId, n: i64| {
        store
            .log_tool_call(m, NewToolCall::success("t", json!(n)))
            .unwrap();
        store
            .record_decision(m, NewDecision::new("plan", "r", "a"))
            .unwrap();
    };
    for n in 0..3 {
        write(&store, &m, n);
    }
    let definitions: Vec<String> = first
        .client()
        .query(
            "SELECT pg_get_functiondef(oid) FROM pg_proc WHERE proname LIKE 'vibe_write_%'",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(definitions.len(), 2);
    // Another session makes them in a second database and holds its
    // transaction open until the writes there are done (or a minute).
    let db = server().fresh_database();
    let blocked = AnyStore::open(&db.url).unwrap();
    let mut holder = db.client();
    holder.batch_execute("BEGIN").unwrap();
    for definition in &definitions {
        holder.batch_execute(definition).unwrap();
    }
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (done, blocked) = (done.clone(), blocked.clone());
        std::thread::spawn(move || {
            let m = blocked
                .create_mission(Phase::Coding, Json::from(json!({})))
                .unwrap();
            for n in 0..3 {
                write(&blocked, &m, n);
            }
            done.store(true, std::sync::atomic::Ordering::SeqCst);
            m
        })
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done.load(std::sync::atomic::Ordering::SeqCst) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let finished_while_held = done.load(std::sync::atomic::Ordering::SeqCst);
    holder.batch_execute("ROLLBACK").unwrap();
    let m = writer.join().unwrap();
    assert!(
        finished_while_held,
        "the writes waited for the session making the functions"
    );
    assert_eq!(blocked.get_tool_history(&m).unwrap().len(), 3);
    assert!(blocked.verify_chain(&m).unwrap().intact());
}
