//! Output: what a tool returns (JSON only, within its limit, stored and
//! printed exactly as returned), what it prints (stdout and stderr kept up
//! to a cap, never on `vibe run`'s stdout), and how `vibe` prints: text from
//! tools escaped on the way to a terminal, tables cut to the terminal's
//! width, progress only on a terminal, quiet when the reader of a pipe goes
//! away.

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use serde_json::{json, Value};
use vibe_store::sandbox::{FailureKind, Limits, Request};
use vibe_store::store::{MAX_JSON_BYTES, MAX_TEXT_BYTES};
use vibe_store::{Json, MissionStore, NewToolCall, Phase, SqliteStore};

use crate::common::runtime::{failure, Sandbox};
use crate::common::trail::full_trail;
use crate::common::{count, guest, temp_db, text, v, vibe, vibe_db};

#[test]
fn output_that_is_not_json_or_too_large_fails_the_run() {
    let s = Sandbox::new();
    let m = s.mission();
    let report = s.run("bad-output", Request::new(m.clone(), json!({})));
    let (kind, message) = failure(&report);
    assert_eq!(kind, FailureKind::InvalidOutput);
    assert!(
        message.contains("tool output is not valid JSON"),
        "{message}"
    );
    s.assert_logged_failure(&m, &report, "bad-output", "not valid JSON");

    let report = s.run("bad-output", Request::new(m.clone(), json!("big")));
    let (kind, message) = failure(&report);
    assert_eq!(kind, FailureKind::InvalidOutput);
    assert!(message.contains("limit"), "{message}");
    s.assert_logged_failure(&m, &report, "bad-output", "limit");
    s.assert_still_serving();
}

#[test]
fn output_is_stored_exactly_as_the_tool_returned_it() {
    let s = Sandbox::new();
    let m = s.mission();
    // 1,048,573 bytes of `1e1`: under the limit as written. Re-serialised
    // as `1e+1` it would grow past it and lose the row.
    let report = s.run("edge-output", Request::new(m.clone(), json!("exponents")));
    let output = report.outcome.unwrap();
    assert_eq!(output.len(), 1_048_573);
    assert!(output.as_str().starts_with("[1e1,1e1,"));
    let report = s.run("edge-output", Request::new(m.clone(), json!("big-number")));
    assert_eq!(
        report.outcome.unwrap().as_str(),
        r#"{"n":1e400,"b":2,"a":1}"#
    );
    let conn = rusqlite::Connection::open(s.store.path()).unwrap();
    let stored: String = conn
        .query_row(
            "SELECT result FROM tool_calls WHERE id = ?1",
            [report.call_id.get()],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        stored, r#"{"n":1e400,"b":2,"a":1}"#,
        "byte for byte in the file"
    );

    // The same holds for every JSON field written through the library.
    let args = Json::parse("args", r#"{ "z": 1E+2, "a": [1e1, 0.10] }"#).unwrap();
    let id = s
        .store
        .log_tool_call(&m, NewToolCall::success("exact", args.clone()))
        .unwrap();
    let row = s.store.get_tool_history(&m).unwrap();
    let row = row.iter().find(|c| c.id == id).unwrap();
    assert_eq!(row.args.as_str(), args.as_str());
}

#[test]
fn oversize_output_and_errors_are_recorded_cut_and_say_by_how_much() {
    let s = Sandbox::new();
    let m = s.mission();
    let over = s.run("edge-output", Request::new(m.clone(), json!("over")));
    let (kind, message) = failure(&over);
    assert_eq!(kind, FailureKind::InvalidOutput);
    assert!(
        message.contains(&format!(
            "{} bytes, 1 over the limit of {MAX_JSON_BYTES} bytes",
            MAX_JSON_BYTES + 1
        )),
        "{}",
        &message[..200]
    );
    assert!(message.contains("yyyy"), "the text is kept, cut");
    assert!(message.len() <= MAX_TEXT_BYTES);

    let error = s.run("edge-output", Request::new(m.clone(), json!("huge-error")));
    let (kind, message) = failure(&error);
    assert_eq!(kind, FailureKind::ToolError);
    assert!(message.starts_with("tool error: beginéé"));
    assert!(message.len() <= MAX_TEXT_BYTES);
    let total = "tool error: begin".len() + 2 * 512 * 1024 + "end".len();
    assert!(
        message.ends_with(&format!("[cut: the message was {total} bytes]")),
        "{}",
        &message[message.len() - 80..]
    );
    // The stored row says the same.
    s.assert_logged_failure(&m, &error, "edge-output", "[cut: the message was");
}

#[test]
fn guest_output_is_captured_up_to_its_cap_and_kept_out_of_vibe_runs_stdout() {
    let s = Sandbox::new();
    let m = s.mission();
    let report = s.run("chatty", Request::new(m.clone(), json!({})));
    let output = v(&report.outcome.expect("printing too much is not a failure"));
    let printed = output["printed"].as_u64().unwrap() as usize;
    assert!(printed > 200 * 1024);
    assert_eq!(
        report.stdout.len(),
        Limits::default().output_bytes(),
        "stdout kept up to the cap"
    );
    assert!(report.stdout.starts_with("chatty: all work"));
    assert_eq!(report.stderr, "chatty: done talking\n");

    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("v.db");
    let store = SqliteStore::open(&db).unwrap();
    let mission = store
        .create_mission(Phase::Coding, json!({}).into())
        .unwrap();
    let out = vibe(dir.path())
        .arg("--db")
        .arg(&db)
        .arg("run")
        .arg(guest("chatty"))
        .args(["--mission", &mission])
        .output()
        .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        stdout,
        format!("{{\"printed\":{printed}}}\n"),
        "only the tool's JSON on stdout"
    );
}

#[test]
fn text_from_tools_reaches_the_terminal_escaped_and_json_stays_exact() {
    let (dir, path) = temp_db();
    let store = SqliteStore::open(&path).unwrap();
    let m = store
        .create_mission(Phase::Coding, json!({}).into())
        .unwrap();
    let run = |input: &str| {
        vibe_db(dir.path(), &path)
            .env("VIBE_LOG", "vibe::guest=info")
            .arg("run")
            .arg(guest("escapes"))
            .args(["--mission", &m, "--input", input])
            .output()
            .unwrap()
    };
    let raw = |bytes: &[u8]| {
        let text = String::from_utf8_lossy(bytes).to_string();
        let bad: Vec<char> = text
            .chars()
            .filter(
                |c| matches!(c, '\u{1b}' | '\u{7}' | '\u{7f}'..='\u{9f}' | '\u{202a}'..='\u{202e}'),
            )
            .collect();
        (text, bad)
    };
    let failed = run("\"err\"");
    assert_eq!(failed.status.code(), Some(5));
    let (stderr, bad) = raw(&failed.stderr);
    assert!(
        bad.is_empty(),
        "raw control characters on stderr: {bad:?}\n{stderr}"
    );
    assert!(stderr.contains("failed \\x1b]0;pwned\\x07"), "{stderr}");
    assert!(
        stderr.contains("stdout \\x1b]0;pwned"),
        "guest stdout in the log: {stderr}"
    );
    assert!(stderr.contains("\\u{202e}"), "{stderr}");

    // Piped, the output is exactly what the tool returned.
    let ok = run("\"ok\"");
    assert!(ok.status.success());
    assert_eq!(
        String::from_utf8(ok.stdout).unwrap(),
        "{\"text\":\"out \u{9b}31m \u{202e}txt.exe \u{7f}\"}\n"
    );

    for list in ["tools", "decisions"] {
        let table = vibe_db(dir.path(), &path)
            .args([list, &m])
            .output()
            .unwrap();
        assert!(table.status.success());
        let (text, bad) = raw(&table.stdout);
        assert!(bad.is_empty(), "vibe {list}: {bad:?}\n{text}");
        assert!(text.contains("\\x1b]0;pwned\\x07"), "{text}");
        let json = vibe_db(dir.path(), &path)
            .args([list, &m, "--json"])
            .output()
            .unwrap();
        let rows: Value = serde_json::from_slice(&json.stdout).unwrap();
        let texts = rows.to_string();
        assert!(
            texts.contains("\\u001b]0;pwned\\u0007"),
            "exact in --json: {texts}"
        );
    }
}

#[test]
fn tables_fit_the_terminal_by_display_width_and_cut_no_character() {
    let (dir, path) = temp_db();
    let store = SqliteStore::open(&path).unwrap();
    let m = store
        .create_mission(Phase::Coding, json!({ "goal": "漢字".repeat(40) }).into())
        .unwrap();
    store
        .log_tool_call(
            &m,
            NewToolCall::success("検索ツール", json!({ "q": "漢字".repeat(50) })),
        )
        .unwrap();
    for (list, columns) in [(vec!["tools", &*m], 70), (vec!["mission", "list"], 90)] {
        let out = vibe_db(dir.path(), &path)
            .args(&list)
            .env("COLUMNS", columns.to_string())
            .output()
            .unwrap();
        assert!(out.status.success());
        let table = String::from_utf8(out.stdout).expect("valid UTF-8: no character cut");
        for line in table.lines() {
            let width: usize = line
                .chars()
                .map(|c| {
                    if ('\u{3000}'..='\u{9fff}').contains(&c)
                        || ('\u{30a0}'..='\u{30ff}').contains(&c)
                    {
                        2
                    } else {
                        1
                    }
                })
                .sum();
            assert!(width <= columns, "{width} > {columns}: {line}");
        }
        assert!(table.contains('…'), "long cells are cut: {table}");
    }
    // Piped without COLUMNS, cells keep up to 60 columns each.
    let out = vibe_db(dir.path(), &path)
        .args(["tools", &m])
        .env_remove("COLUMNS")
        .output()
        .unwrap();
    assert!(String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .any(|l| l.chars().count() > 90));
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
fn export_shows_progress_to_a_terminal_and_nothing_to_a_pipe() {
    let (dir, path, _a, _b) = full_trail();
    let piped = vibe_db(dir.path(), &path)
        .args(["export", "-o", "/dev/null"])
        .output()
        .unwrap();
    assert!(piped.status.success());
    assert_eq!(text(&piped.stderr), "", "no progress into a pipe or a log");
    // `script` gives the command a terminal (util-linux, part of Debian's
    // base system).
    let command = format!(
        "{} --db {} export -o {}",
        env!("CARGO_BIN_EXE_vibe"),
        path.display(),
        dir.path().join("t.jsonl").display()
    );
    let shown = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .output()
        .expect("script(1) from util-linux runs a command on a terminal");
    assert!(shown.status.success(), "{}", text(&shown.stderr));
    let screen = text(&shown.stdout);
    let rows = [
        "missions",
        "tool_calls",
        "decisions",
        "agent_memory",
        "playbook_runs",
    ]
    .iter()
    .map(|t| count(&path, &format!("SELECT COUNT(*) FROM {t}")))
    .sum::<i64>();
    assert!(
        screen.contains(&format!("exported {rows}/{rows} rows, "))
            && screen.contains(" rows/s, ETA "),
        "{screen:?}"
    );
}
