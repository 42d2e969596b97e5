//! `vibe`'s exit codes: the README's table is the binary's own, each code
//! says what went wrong (usage 2, not found 3, invalid input 4, a failed
//! check 5, an unusable file 1), numbers out of range are usage errors, and
//! a failure is one line on stderr with nothing on stdout.

use std::path::Path;

use serde_json::json;
use vibe_store::store::Outcome;
use vibe_store::{MissionId, MissionStore, Phase, SqliteStore};

use crate::common::{count, db_with_mission, guest, temp_db, text, vibe, vibe_db, Vibe};

/// The README's table of exit codes is the binary's `Exit` enum
/// (`host/src/bin/vibe/exit.rs`): the same codes, in the same order, under
/// the same names; and each is one the binary's other files use.
#[test]
fn the_readme_lists_exactly_the_exit_codes_the_binary_names() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let bin = root.join("host/src/bin/vibe");
    let exit_rs = std::fs::read_to_string(bin.join("exit.rs")).unwrap();
    let body = exit_rs
        .split_once("enum Exit {")
        .expect("exit.rs declares `enum Exit`")
        .1
        .split_once("\n}")
        .unwrap()
        .0;
    // `Name = code,`, doc comments aside.
    let named: Vec<(u8, String)> = body
        .lines()
        .map(str::trim)
        .filter(|line| !line.starts_with("//"))
        .filter_map(|line| line.strip_suffix(',')?.split_once(" = "))
        .map(|(name, code)| (code.parse().unwrap(), name.to_owned()))
        .collect();

    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let table: Vec<(u8, String)> = readme
        .lines()
        .skip_while(|line| *line != "| code | name | when |")
        .skip(2) // the header and its rule
        .take_while(|line| line.starts_with('|'))
        .map(|row| {
            let cells: Vec<&str> = row.split('|').map(str::trim).collect();
            (
                cells[1].parse().unwrap(),
                cells[2].trim_matches('`').to_owned(),
            )
        })
        .collect();

    assert!(named.len() >= 6, "no exit codes read from exit.rs: {body}");
    assert_eq!(
        table, named,
        "README.md's exit-code table and exit.rs differ"
    );

    // Each code is used somewhere else in the binary, not only declared.
    let mut sources = String::new();
    let mut dirs = vec![bin];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.file_name().unwrap() != "exit.rs" {
                sources.push_str(&std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    for (code, name) in &named {
        assert!(
            sources.contains(&format!("Exit::{name}")),
            "exit code {code} ({name}) is declared but never used"
        );
    }
}

#[test]
fn exit_codes_say_what_went_wrong_and_bad_input_writes_nothing() {
    let v = Vibe::new();
    let m = v.mission();
    let ghost = uuid::Uuid::new_v4().to_string();
    let rows = || {
        count(&v.db, "SELECT (SELECT COUNT(*) FROM missions) + (SELECT COUNT(*) FROM tool_calls) + (SELECT COUNT(*) FROM decisions)")
    };
    let before = rows();

    // 2: usage.
    v.fails(&["mission", "frobnicate"], 2);
    v.fails(&["log", &m, "--args", "{}"], 2);
    v.fails(&["--durability", "sometimes", "init"], 2);
    // 3: mission not found.
    for args in [
        vec!["mission", "show", &ghost],
        vec!["mission", "status", &ghost, "completed"],
        vec!["log", &ghost, "--tool", "t", "--args", "{}"],
        vec![
            "decide",
            &ghost,
            "--type",
            "t",
            "--rationale",
            "r",
            "--agent",
            "a",
        ],
        vec!["tools", &ghost],
        vec!["decisions", &ghost],
    ] {
        let err = v.fails(&args, 3);
        assert!(err.contains(&ghost), "{err}");
    }
    // The binary, not the library, says what to run next.
    let err = v.fails(&["mission", "show", &ghost], 3);
    assert!(
        err.contains(&format!(
            "mission {ghost} not found; list missions with `vibe mission list`"
        )),
        "{err}"
    );
    // 4: invalid input, naming what is wrong.
    let err = v.fails(&["mission", "create", "--phase", "launch"], 4);
    assert!(
        err.contains("PLANNING") && err.contains("MAINTENANCE"),
        "{err}"
    );
    let err = v.fails(&["mission", "status", &m, "done"], 4);
    assert!(err.contains("in_progress"), "{err}");
    v.fails(
        &[
            "mission",
            "create",
            "--phase",
            "coding",
            "--metadata",
            "{oops",
        ],
        4,
    );
    let err = v.fails(&["log", &m, "--tool", "t", "--args", "not json"], 4);
    assert!(err.contains("--args is not valid JSON"), "{err}");
    v.fails(
        &["log", &m, "--tool", "t", "--args", "{}", "--result", "{"],
        4,
    );
    v.fails(&["log", &m, "--tool", "", "--args", "{}"], 4);
    v.fails(
        &[
            "log",
            &m,
            "--tool",
            "t",
            "--args",
            "{}",
            "--duration-ms",
            "-5",
        ],
        4,
    );
    v.fails(
        &[
            "decide",
            &m,
            "--type",
            "t",
            "--rationale",
            "r",
            "--agent",
            "a",
            "--context",
            "[1,",
        ],
        4,
    );
    let long_name = "t".repeat(300);
    let err = v.fails(&["log", &m, "--tool", &long_name, "--args", "{}"], 4);
    assert!(err.contains("limit"), "{err}");
    assert_eq!(rows(), before, "nothing written by rejected commands");
}

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
fn the_cli_reports_an_unusable_file_in_one_line_and_exits_1() {
    let (dir, path) = temp_db();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, b"garbage garbage garbage garbage garbage garbage garbage garbage garbage garbage garbage garbage").unwrap();
    let out = vibe_db(dir.path(), &path).arg("init").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("not a SQLite database") && stderr.contains("untouched"),
        "{stderr}"
    );
}

#[test]
fn numbers_out_of_range_are_usage_errors_that_name_the_range() {
    let (dir, path, m) = db_with_mission();
    let echo = guest("echo");
    for (flag, value, range) in [
        ("--max-page-rows", "5000", "1..=1000"),
        ("--max-json-bytes", "99999999", "2..=1048576"),
        ("--memory-mb", "100000", "1..=4096"),
        ("--timeout-ms", "0", "1..=3600000"),
        ("--max-page-bytes", "10", "1024..=268435456"),
    ] {
        let out = vibe_db(dir.path(), &path)
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

/// A listing given neither a mission nor `--all-missions`, or both: a usage
/// error whose usage line names both ways (before, it named only the UUID).
#[test]
fn a_listing_without_its_mission_names_both_ways_to_give_one() {
    let (dir, path, m) = db_with_mission();
    for command in ["tools", "decisions"] {
        for args in [&[][..], &[m.as_str(), "--all-missions"][..]] {
            let out = vibe_db(dir.path(), &path)
                .arg(command)
                .args(args)
                .output()
                .unwrap();
            let stderr = text(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{command} {args:?}: {stderr}");
            assert!(
                stderr.contains(&format!("Usage: vibe {command} <UUID|--all-missions>")),
                "{command} {args:?}: {stderr}"
            );
        }
    }
}
