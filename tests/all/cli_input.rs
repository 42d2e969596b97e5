//! What the command line accepts beyond its argument list: JSON values from
//! files and stdin up to the store's limit, and PostgreSQL URLs it refuses
//! before they can be misread.

use std::io::Write;
use std::process::Stdio;

use crate::common::backends::{Backend, TestStore};
use crate::common::{text, vibe, vibe_db};

crate::on_both_backends!(
    json_flags_read_files_and_stdin_up_to_the_store_limit,
    json_that_spans_lines_is_exported_on_one_line_and_imported_byte_for_byte,
    padded_json_and_json_null_are_exported_and_imported_byte_for_byte,
);

/// `vibe ARGS` on `store`, with `stdin` on its standard input.
fn run(store: &TestStore, args: &[&str], stdin: &[u8]) -> std::process::Output {
    let mut child = vibe_db(store.dir.path(), &store.location)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    // The command may stop reading (refused past its limit): a broken pipe
    // here is that.
    let _ = input.write_all(stdin);
    drop(input);
    child.wait_with_output().unwrap()
}

/// [`run`], which must succeed; its standard output.
fn ok(store: &TestStore, args: &[&str], stdin: &[u8]) -> String {
    let out = run(store, args, stdin);
    assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
    text(&out.stdout)
}

/// JSON whose text holds line breaks between its tokens (a pretty-printed
/// file, a value piped in with its trailing newline, CRLF from another
/// system) in every JSON column: `vibe export` keeps each mission on one
/// line (even for a reader that splits on a lone carriage return), and
/// `vibe import` and `verify --against` read it back, the bytes exact.
fn json_that_spans_lines_is_exported_on_one_line_and_imported_byte_for_byte(backend: Backend) {
    use vibe_store::{Json, MissionId, MissionStore};
    let store = TestStore::open(backend);
    let dir = store.dir.path();
    let pretty = "{\n  \"goal\": \"pretty\",\n  \"list\": [\n    1,\r\n    2\n  ]\n}\n";
    let file = dir.join("metadata.json");
    std::fs::write(&file, pretty).unwrap();
    let created = ok(
        &store,
        &[
            "mission",
            "create",
            "--phase",
            "planning",
            "--metadata",
            &format!("@{}", file.display()),
        ],
        b"",
    );
    let mission = created.trim().to_owned();
    let texts = ["[1,\n2]\n", "{\r\"a\"\r:\r1}", "\r\n\"s\"\t\r\n"];
    ok(
        &store,
        &[
            "log", &mission, "--tool", "t", "--args", "-", "--result", texts[1],
        ],
        texts[0].as_bytes(),
    );
    ok(
        &store,
        &[
            "decide",
            &mission,
            "--type",
            "plan",
            "--rationale",
            "two\nlines",
            "--agent",
            "a",
            "--context",
            texts[2],
        ],
        b"",
    );
    let id = MissionId::parse(&mission).unwrap();
    let value = Json::parse("value", "{\n}").unwrap();
    store.set_memory(&id, "k", value, None).unwrap();
    let run_id = store.start_playbook_run(&id, "p", None).unwrap();
    let metrics = Json::parse("metrics", "\n[\r]").unwrap();
    store
        .complete_playbook_run(run_id, true, Some(metrics), None)
        .unwrap();
    let stored = |store: &TestStore| {
        [
            "SELECT metadata FROM missions",
            "SELECT args FROM tool_calls",
            "SELECT result FROM tool_calls",
            "SELECT context FROM decisions",
            "SELECT value FROM agent_memory",
            "SELECT metrics FROM playbook_runs",
        ]
        .map(|sql| store.text(sql))
    };
    let before = stored(&store);
    assert_eq!(
        before,
        [pretty, texts[0], texts[1], texts[2], "{\n}", "\n[\r]"].map(String::from)
    );

    let export = ok(&store, &["export"], b"");
    assert!(!export.contains('\r'), "{export}");
    assert_eq!(export.matches('\n').count(), 1, "one line: {export}");
    let line: serde_json::Value = serde_json::from_str(export.trim_end()).unwrap();
    assert_eq!(
        line["mission"]["verbatim_json"],
        serde_json::json!(["metadata"])
    );
    assert_eq!(line["mission"]["metadata"], serde_json::json!(pretty));
    assert_eq!(
        line["tool_calls"][0]["verbatim_json"],
        serde_json::json!(["args", "result"])
    );
    let other = round_trip(&store, &export);
    assert_eq!(stored(&other), before);
}

/// Imports `export` (what `store` exported) into a new store of the same
/// backend, and checks that it exports again byte for byte and that both
/// verify against it; returns the new store.
fn round_trip(store: &TestStore, export: &str) -> TestStore {
    let file = store.dir.path().join("export.jsonl");
    std::fs::write(&file, export).unwrap();
    let file = file.to_str().unwrap();
    let other = TestStore::open(store.backend);
    ok(&other, &["import", file], b"");
    let again = ok(&other, &["export"], b"");
    assert_eq!(again, export, "exported again, byte for byte");
    for store in [store, &other] {
        let verified = run(store, &["verify", "--against", file], b"");
        assert_eq!(
            verified.status.code(),
            Some(0),
            "{}",
            text(&verified.stderr)
        );
    }
    other
}

/// JSON text a parser would not give back as it is: whitespace around the
/// value (which JSON allows and a parser drops) and the text `null` (which
/// an export line would otherwise spell for SQL's NULL) travel as strings
/// of their text, and come back exactly (found by the breaker: padding
/// lost, and `null` text imported as NULL, a `null` args refused).
fn padded_json_and_json_null_are_exported_and_imported_byte_for_byte(backend: Backend) {
    let store = TestStore::open(backend);
    let create = |metadata: &str| {
        let created = ok(
            &store,
            &[
                "mission",
                "create",
                "--phase",
                "coding",
                "--metadata",
                metadata,
            ],
            b"",
        );
        created.trim().to_owned()
    };
    let (padded, nothing) = (create(" {\"a\":1}"), create("null"));
    for (mission, args, result) in [(&padded, "\t{\"a\":1}", "2 "), (&nothing, "null", "null")] {
        ok(
            &store,
            &[
                "log", mission, "--tool", "t", "--args", args, "--result", result,
            ],
            b"",
        );
    }
    ok(
        &store,
        &[
            "decide",
            &nothing,
            "--type",
            "t",
            "--rationale",
            "r",
            "--agent",
            "a",
            "--context",
            "null",
        ],
        b"",
    );
    let stored = |store: &TestStore| {
        [
            "SELECT metadata FROM missions ORDER BY id",
            "SELECT args || '/' || result FROM tool_calls ORDER BY id",
            "SELECT context FROM decisions ORDER BY id",
        ]
        .map(|sql| store.texts(sql).join("|"))
    };
    let before = stored(&store);
    assert_eq!(
        before,
        [" {\"a\":1}|null", "\t{\"a\":1}/2 |null/null", "null"].map(String::from)
    );
    let other = round_trip(&store, &ok(&store, &["export"], b""));
    assert_eq!(stored(&other), before);
}

fn json_flags_read_files_and_stdin_up_to_the_store_limit(backend: Backend) {
    let store = TestStore::open(backend);
    let dir = store.dir.path();
    // 900 KiB: far past what an argument list holds (about 128 KiB a value).
    let big = format!("{{\"pad\":\"{}\"}}", "x".repeat(900 * 1024));
    let file = dir.join("args.json");
    std::fs::write(&file, &big).unwrap();
    let at_file = format!("@{}", file.display());
    let mission = run(
        &store,
        &[
            "mission",
            "create",
            "--phase",
            "coding",
            "--metadata",
            &at_file,
        ],
        b"",
    );
    assert!(mission.status.success(), "{}", text(&mission.stderr));
    let mission = text(&mission.stdout).trim().to_owned();

    let logged = run(
        &store,
        &[
            "log", &mission, "--tool", "t", "--args", &at_file, "--result", "-",
        ],
        big.as_bytes(),
    );
    assert!(logged.status.success(), "{}", text(&logged.stderr));
    let decided = run(
        &store,
        &[
            "decide",
            &mission,
            "--type",
            "plan",
            "--rationale",
            "r",
            "--agent",
            "a",
            "--context",
            "-",
        ],
        big.as_bytes(),
    );
    assert!(decided.status.success(), "{}", text(&decided.stderr));
    assert_eq!(
        store.count("SELECT LENGTH(args) + LENGTH(result) FROM tool_calls"),
        2 * big.len() as i64
    );
    assert_eq!(
        store.count("SELECT LENGTH(context) FROM decisions"),
        big.len() as i64
    );
    assert_eq!(
        store.count("SELECT LENGTH(metadata) FROM missions"),
        big.len() as i64
    );

    // A JSON string starting with `@` is written with its quotes.
    let quoted = run(
        &store,
        &["log", &mission, "--tool", "t", "--args", "\"@ann\""],
        b"",
    );
    assert!(quoted.status.success(), "{}", text(&quoted.stderr));
    assert_eq!(
        store.text("SELECT args FROM tool_calls ORDER BY id DESC LIMIT 1"),
        "\"@ann\""
    );

    let rows = store.all_rows();
    // One byte past 1 MiB, from a file and from stdin; a 4 GiB (sparse)
    // file, refused without reading it whole; a file that is not there;
    // two flags reading stdin.
    let over = format!("\"{}\"", "x".repeat(1024 * 1024 - 1));
    std::fs::write(&file, &over).unwrap();
    let huge = dir.join("huge.json");
    std::fs::File::create(&huge)
        .unwrap()
        .set_len(4 << 30)
        .unwrap();
    let at_huge = format!("@{}", huge.display());
    let missing = format!("@{}", dir.join("missing.json").display());
    for (args, stdin, code, says) in [
        (vec!["--args", at_file.as_str()], &b""[..], 4, "1048576"),
        (vec!["--args", "-"], over.as_bytes(), 4, "1048576"),
        (vec!["--args", at_huge.as_str()], &b""[..], 4, "1048576"),
        (vec!["--args", missing.as_str()], &b""[..], 1, "cannot read"),
        (
            vec!["--args", "-", "--result", "-"],
            &b"{}"[..],
            4,
            "standard input",
        ),
        (vec!["--args", "@"], &b""[..], 1, "cannot read"),
    ] {
        let mut all = vec!["log", mission.as_str(), "--tool", "t"];
        all.extend(args.iter().copied());
        let out = run(&store, &all, stdin);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(
            text(&out.stderr).contains(says),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    assert_eq!(store.all_rows(), rows, "nothing written");
}

/// A password with an unencoded `@` would make the rest of it the host
/// name, tried and printed: it is refused, saying how to write it, and the
/// password is printed nowhere.
#[test]
fn a_postgresql_url_with_an_unencoded_at_in_its_password_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = vibe(dir.path())
        .args([
            "--db",
            "postgres://ann:hun@ter2@127.0.0.1:9/vibe",
            "mission",
            "list",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    let said = text(&out.stderr);
    assert!(said.contains("%40"), "{said}");
    assert!(!said.contains("hun") && !said.contains("ter2"), "{said}");
}
