//! The `vibe` command line as a user meets it: the commands and their
//! names, flags and environment, what each prints, and `vibe demo`.

use std::path::Path;

use serde_json::{json, Value};
use vibe_store::SqliteStore;

use crate::common::{count, guest, temp_db, text, vibe, vibe_db, Vibe};

#[test]
fn init_prints_path_and_version_and_is_idempotent() {
    let v = Vibe::new();
    let out = v.ok(&["init"]);
    assert!(out.contains(&v.db.display().to_string()), "{out}");
    assert!(
        out.contains(&format!(
            "schema version {}",
            crate::common::latest_schema()
        )),
        "{out}"
    );
    assert_eq!(v.ok(&["init"]), out);
}

#[test]
fn default_database_is_created_under_the_working_directory() {
    let dir = tempfile::tempdir().unwrap();
    let out = vibe(dir.path())
        .args(["mission", "create", "--phase", "PLANNING"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let db = dir.path().join(".vibe/state/vibe_agency.db");
    assert!(db.is_file());
    assert_eq!(count(&db, "SELECT COUNT(*) FROM missions"), 1);
    // VIBE_DB points elsewhere.
    let other = dir.path().join("elsewhere.db");
    let out = vibe(dir.path())
        .env("VIBE_DB", &other)
        .args(["mission", "create", "--phase", "coding"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(other.is_file());
}

#[test]
fn mission_create_prints_the_uuid_alone_and_show_list_status_work() {
    let v = Vibe::new();
    let out = v.ok(&[
        "mission",
        "create",
        "--phase",
        "Testing",
        "--metadata",
        r#"{"goal":"x","n":5}"#,
    ]);
    let id = out.strip_suffix('\n').expect("newline-terminated");
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{out:?}");
    assert_eq!(out.lines().count(), 1);

    let shown = v.json(&["mission", "show", id, "--json"]);
    assert_eq!(shown["mission_uuid"], id);
    assert_eq!(shown["phase"], "TESTING");
    assert_eq!(shown["status"], "pending");
    assert_eq!(shown["metadata"], json!({ "goal": "x", "n": 5 }));
    assert_eq!(shown["completed_at"], Value::Null);

    v.ok(&["mission", "status", id, "IN_PROGRESS"]);
    v.ok(&["mission", "status", id, "completed"]);
    let shown = v.json(&["mission", "show", id, "--json"]);
    assert_eq!(shown["status"], "completed");
    assert!(shown["completed_at"].is_string());

    let human = v.ok(&["mission", "show", id]);
    assert!(human.contains(id) && human.contains("completed"), "{human}");

    let second = v.mission();
    let list = v.json(&["mission", "list", "--json"]);
    let ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["mission_uuid"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [second.as_str(), id], "newest first");
    assert_eq!(
        v.json(&["mission", "list", "--limit", "1", "--json"])
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let table = v.ok(&["mission", "list"]);
    let header = table.lines().next().unwrap();
    assert!(
        header.starts_with("ID") && header.contains("MISSION_UUID") && header.contains("STATUS"),
        "{table}"
    );
    // Columns line up: every row's second column starts where the header's does.
    let col = header.find("PHASE").unwrap();
    for row in table.lines().skip(1) {
        assert!(
            row[col..].starts_with("CODING") || row[col..].starts_with("TESTING"),
            "{row}"
        );
    }
}

#[test]
fn log_and_decide_print_ids_and_tools_decisions_list_them() {
    let v = Vibe::new();
    let m = v.mission();
    let id1 = v.ok(&[
        "log",
        &m,
        "--tool",
        "grep",
        "--args",
        r#"{"q":"fn"}"#,
        "--result",
        "5",
        "--duration-ms",
        "12",
    ]);
    let id2 = v.ok(&[
        "log", &m, "--tool", "cargo", "--args", "[]", "--error", "exit 101",
    ]);
    assert_eq!((id1.trim(), id2.trim()), ("1", "2"));
    let d = v.ok(&[
        "decide",
        &m,
        "--type",
        "plan",
        "--rationale",
        "smallest change",
        "--agent",
        "planner",
        "--context",
        r#"{"k":[1,2]}"#,
    ]);
    assert_eq!(d.trim(), "1");

    let tools = v.json(&["tools", &m, "--json"]);
    let tools = tools.as_array().unwrap();
    assert_eq!(tools.len(), 2);
    assert_eq!(tools[0]["tool_name"], "grep");
    assert_eq!(
        tools[0]["args"],
        json!({ "q": "fn" }),
        "JSON columns are JSON values"
    );
    assert_eq!(tools[0]["result"], json!(5));
    assert_eq!(tools[0]["success"], json!(true), "success is a boolean");
    assert_eq!(tools[0]["duration_ms"], json!(12));
    assert_eq!(tools[0]["mission_uuid"], json!(m));
    assert_eq!(tools[1]["success"], json!(false));
    assert_eq!(tools[1]["error_message"], "exit 101");

    let decisions = v.json(&["decisions", &m, "--json"]);
    assert_eq!(decisions[0]["decision_type"], "plan");
    assert_eq!(decisions[0]["rationale"], "smallest change");
    assert_eq!(decisions[0]["agent_name"], "planner");
    assert_eq!(decisions[0]["context"], json!({ "k": [1, 2] }));

    let table = v.ok(&["tools", &m]);
    assert!(table.lines().next().unwrap().contains("TOOL_NAME"));
    assert!(
        table.contains("FAILED") && table.contains("exit 101"),
        "{table}"
    );
    assert!(v.ok(&["decisions", &m]).contains("smallest change"));
}

#[test]
fn durability_flag_and_environment_are_accepted() {
    let v = Vibe::new();
    let out = vibe(v.dir.path())
        .arg("--db")
        .arg(&v.db)
        .args([
            "--durability",
            "normal",
            "mission",
            "create",
            "--phase",
            "coding",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let out = vibe(v.dir.path())
        .env("VIBE_DB", &v.db)
        .env("VIBE_DURABILITY", "normal")
        .args(["mission", "list", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);
}

#[test]
fn help_names_every_command() {
    let out = vibe(Path::new(".")).arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    // Commands are grouped under headings by what a user wants to do; the
    // options follow the groups.
    let groups: Vec<&str> = help
        .lines()
        .take_while(|l| !l.starts_with("Options:"))
        .filter(|l| l.ends_with(':') && !l.starts_with(' '))
        .collect();
    assert!(groups.len() >= 3, "{help}");
    let listed: Vec<&str> = help
        .lines()
        .take_while(|l| !l.starts_with("Options:"))
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    for command in [
        "init",
        "mission",
        "log",
        "decide",
        "tools",
        "tool",
        "decisions",
        "stats",
        "memory",
        "playbooks",
        "export",
        "import",
        "backup",
        "prune",
        "run",
        "compile",
        "demo",
        "bench",
    ] {
        assert!(
            listed.contains(&command),
            "{command} missing from the commands in --help: {listed:?}"
        );
    }
    // Every listed name is a command clap knows (the list cannot drift).
    // (`vibe bench --help` is vibe-bench's own help, passed through: asked
    // of clap as `vibe help bench`.)
    for command in listed {
        let args = match command {
            "bench" => ["help", command],
            _ => [command, "--help"],
        };
        let out = vibe(Path::new(".")).args(args).output().unwrap();
        assert!(out.status.success(), "`vibe {}` failed", args.join(" "));
    }
}

#[test]
fn bench_runs_vibe_bench_beside_vibe_or_says_how_to_get_it() {
    // The benchmark is its own executable (the vibe-bench crate, outside
    // the library); `vibe bench` runs it as cargo runs its subcommands. A
    // `vibe` in a folder of its own, with PATH empty: first nothing beside
    // it, then a stand-in. (vibe-bench's own test runs the real one.)
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let vibe = dir.path().join("vibe");
    if std::fs::hard_link(env!("CARGO_BIN_EXE_vibe"), &vibe).is_err() {
        std::fs::copy(env!("CARGO_BIN_EXE_vibe"), &vibe).unwrap();
    }
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let bench = |args: &[&str]| {
        // A just-written script can be busy for a moment (a process forked
        // elsewhere in this test binary still holds it open): tried again.
        for _ in 0..50 {
            let out = std::process::Command::new(&vibe)
                .arg("bench")
                .args(args)
                .env("PATH", &empty)
                .current_dir(dir.path())
                .output()
                .unwrap();
            if !String::from_utf8_lossy(&out.stderr).contains("Text file busy") {
                return out;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        panic!("the stand-in stayed busy");
    };

    let out = bench(&["--ops", "3"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    for hint in [
        "vibe-bench",
        "./x bench",
        "cargo build --release -p vibe-bench",
    ] {
        assert!(err.contains(hint), "{hint:?} missing: {err}");
    }

    // Every argument passes through as given (--help included), with this
    // vibe in VIBE; the benchmark's exit status is the command's.
    let stand_in = dir.path().join("vibe-bench");
    std::fs::write(
        &stand_in,
        "#!/bin/sh\necho \"VIBE=$VIBE\"\nfor a in \"$@\"; do echo \"[$a]\"; done\nexit 7\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&stand_in, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = bench(&["--help", "--ops", "3", "--postgres-only", "a b"]);
    assert_eq!(out.status.code(), Some(7), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!(
            "VIBE={}\n[--help]\n[--ops]\n[3]\n[--postgres-only]\n[a b]\n",
            vibe.canonicalize().unwrap().display()
        )
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
fn a_demo_whose_component_is_missing_writes_nothing() {
    let (dir, path) = temp_db();
    SqliteStore::open(&path).unwrap();
    let out = vibe_db(dir.path(), &path)
        .args(["demo", "--component", "/missing.wasm"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    assert_eq!(count(&path, "SELECT COUNT(*) FROM missions"), 0);
}
