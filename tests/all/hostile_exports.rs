//! Files other people hand you: `vibe import` of hostile export lines (kept
//! in `tests/data/hostile-exports/`), lines too large to hold, and what
//! `vibe verify` makes of a ledger and rows another program rewrote.

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::json;
use vibe_store::{MissionStore, NewDecision, NewToolCall, Phase};

use crate::common::backends::{Backend, TestStore};
use crate::common::{text, vibe_db};
use crate::on_both_backends;

fn hostile(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/data/hostile-exports")
        .join(format!("{name}.jsonl"))
}

fn run(store: &TestStore, args: &[&str]) -> Output {
    vibe_db(store.dir.path(), &store.location)
        .args(args)
        .output()
        .unwrap()
}

fn import(store: &TestStore, name: &str) -> Output {
    run(store, &["import", hostile(name).to_str().unwrap()])
}

/// Asserts the command did not panic: no exit 101, no panic text.
fn no_panic(out: &Output, what: &str) {
    let said = text(&out.stderr);
    assert_ne!(out.status.code(), Some(101), "{what}: {said}");
    assert!(!said.contains("panicked"), "{what}: {said}");
}

/// Each hostile line, and words its refusal must say.
const REFUSED: &[(&str, &str)] = &[
    ("uuid-twice", "\"mission_uuid\" is given twice"),
    ("mission-twice", "\"mission\" is given twice"),
    ("invalid-json-names-phase", "invalid_json names phase"),
    ("invalid-json-names-success", "invalid_json names success"),
    ("verbatim-json-names-phase", "verbatim_json names phase"),
    (
        "verbatim-json-not-json",
        "args is named in verbatim_json but its text is not JSON",
    ),
    (
        "verbatim-json-no-string",
        "args is named in verbatim_json but is no string",
    ),
    (
        "verbatim-json-names-null",
        "caller is named in verbatim_json but is no string",
    ),
    (
        "verbatim-json-names-args-twice",
        "verbatim_json names args twice",
    ),
    (
        "verbatim-json-and-invalid-json",
        "invalid_json and verbatim_json both name args",
    ),
    ("phase-hacked", "unknown phase \"HACKED\""),
    ("status-upper-case", "status must be lower case"),
    ("success-7", "success must be true or false"),
    (
        "created-at-yesterday",
        "created_at \"yesterday\" is not a time",
    ),
    (
        "timestamp-yesterday",
        "timestamp \"yesterday\" is not a time",
    ),
    ("expires-at-soon", "expires_at \"soon\" is not a time"),
    (
        "tool-name-5004-bytes",
        "tool name is 5004 bytes; the limit is 256",
    ),
    (
        "duration-in-nanoseconds",
        "duration_ms 1764495000000000000 is above",
    ),
    ("duration-negative", "duration_ms must not be negative"),
    ("duration-as-text", "duration_ms must be a whole number"),
    ("ttl-negative", "ttl -1 is outside"),
    (
        "component-size-negative",
        "component_size must be 0 or more",
    ),
    ("outcome-unknown", "unknown outcome"),
    ("error-message-nul", "must not contain NUL"),
    ("uuid-empty", "is not a mission id"),
    (
        "ledger-hash-euro",
        "chain entry 1: its digest and hash must be",
    ),
    ("ledger-seq-max", "seq 9223372036854775807 is outside"),
    (
        "ledger-table-unknown",
        "sqlite_master is no table the chain holds",
    ),
    (
        "row-chain-seq-max",
        "chain_seq 9223372036854775807 is outside",
    ),
    (
        "row-chain-hash-euro",
        "chain_hash must be 64 lowercase hex digits",
    ),
    (
        "created-by-not-carried",
        "this file does not carry that invocation",
    ),
    (
        "ledger-seq-repeated",
        "ascending order of seq, each once (1 after 1)",
    ),
    ("memory-key-twice", "memory key \"k\" is there twice"),
];

fn every_hostile_line_is_refused_with_its_reason_and_writes_nothing(backend: Backend) {
    let store = TestStore::open(backend);
    for (name, words) in REFUSED {
        let out = import(&store, name);
        no_panic(&out, name);
        let said = text(&out.stderr);
        assert_eq!(out.status.code(), Some(4), "{name}: {said}");
        assert!(
            said.contains("line 1: ") && said.contains(words),
            "{name}: {said}"
        );
        assert_eq!(store.all_rows(), 0, "{name} wrote rows");
        assert_eq!(store.count("SELECT COUNT(*) FROM row_chain"), 0, "{name}");
    }
    // The same line unchanged imports: the refusals are the changes'.
    let out = import(&store, "a-mission");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(store.all_rows(), 5);
}

fn json_past_the_limit_is_refused_like_a_live_write(backend: Backend) {
    let store = TestStore::open(backend);
    let line = std::fs::read_to_string(hostile("a-mission")).unwrap();
    let mut exported: serde_json::Value = serde_json::from_str(line.trim()).unwrap();
    // 8 MiB of args, as JSON and as text named in invalid_json.
    let big = "x".repeat(8 << 20);
    for (args, invalid) in [
        (json!({ "a": big }), None),
        (json!(big), Some(json!(["args"]))),
    ] {
        let mut line = exported.clone();
        line["tool_calls"][0]["args"] = args;
        if let Some(invalid) = invalid {
            line["tool_calls"][0]["invalid_json"] = invalid;
        }
        let file = store.dir.path().join("big.jsonl");
        std::fs::write(&file, format!("{line}\n")).unwrap();
        let out = run(&store, &["import", file.to_str().unwrap()]);
        let said = text(&out.stderr);
        assert_eq!(out.status.code(), Some(4), "{said}");
        assert!(
            said.contains("args is 8388") && said.contains("the limit of 1048576 bytes"),
            "{said}"
        );
        assert_eq!(store.all_rows(), 0);
    }
    // Text named invalid that another program stored stays importable.
    exported["tool_calls"][0]["args"] = json!("NaN");
    exported["tool_calls"][0]["invalid_json"] = json!(["args"]);
    let file = store.dir.path().join("nan.jsonl");
    std::fs::write(&file, format!("{exported}\n")).unwrap();
    let out = run(&store, &["import", file.to_str().unwrap()]);
    match backend {
        Backend::Sqlite => {
            assert!(out.status.success(), "{}", text(&out.stderr));
            assert_eq!(store.text("SELECT args FROM tool_calls"), "NaN");
        }
        // PostgreSQL's JSON check cannot be set aside: refused, said why.
        Backend::Postgres => assert!(text(&out.stderr).contains("cannot be copied there")),
    }
}

fn an_upper_case_uuid_is_the_same_mission(backend: Backend) {
    let store = TestStore::open(backend);
    let out = import(&store, "same-mission-two-spellings");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "imported 1 missions; 1 already present\n"
    );
    assert_eq!(store.count("SELECT COUNT(*) FROM missions"), 1);
    assert_eq!(
        store.text("SELECT mission_uuid FROM missions"),
        "3f2a51c0-a4e8-4d5c-9d3b-0e1f2a3b4c5d"
    );
}

fn created_by_must_name_an_invocation_the_file_carries(backend: Backend) {
    let store = TestStore::open(backend);
    // The creating mission is in the database, not in the file: refused.
    assert!(import(&store, "a-mission").status.success());
    let out = import(&store, "created-by-not-carried");
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    assert_eq!(store.count("SELECT COUNT(*) FROM missions"), 1);
    // The file carries it on an earlier line: the provenance is kept.
    let fresh = TestStore::open(backend);
    let out = import(&fresh, "created-by-carried");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        fresh.count(
            "SELECT COUNT(*) FROM missions b JOIN tool_calls t ON t.id = b.invocation_id
             JOIN missions a ON a.id = t.mission_id
             WHERE b.mission_uuid = '9b1c2d3e-4f50-4a6b-8c7d-8e9fa0b1c2d3'
               AND a.mission_uuid = '3f2a51c0-a4e8-4d5c-9d3b-0e1f2a3b4c5d'"
        ),
        1
    );
}

/// Three missions with rows, for what another program then rewrites.
fn three_missions(store: &TestStore) -> Vec<String> {
    (0..3)
        .map(|_| {
            let m = store
                .create_mission(Phase::Coding, json!({}).into())
                .unwrap();
            for name in ["a", "b"] {
                store
                    .log_tool_call(&m, NewToolCall::success(name, json!({})))
                    .unwrap();
            }
            store
                .record_decision(&m, NewDecision::new("plan", "why", "agent"))
                .unwrap();
            m.to_string()
        })
        .collect()
}

fn verify(store: &TestStore) -> (Option<i32>, String) {
    let out = run(store, &["verify"]);
    no_panic(&out, "verify");
    (out.status.code(), text(&out.stdout))
}

fn verify_reports_any_ledger_content_and_goes_on(backend: Backend) {
    let store = TestStore::open(backend);
    let ids = three_missions(&store);
    let euro = "€".repeat(64);
    // The first mission's head is 64 euro signs; the second's ledger has an
    // entry at the last position a 64-bit integer holds.
    store.exec(&format!(
        "UPDATE row_chain SET hash = '{euro}' WHERE seq = 4 AND mission_id =
             (SELECT id FROM missions WHERE mission_uuid = '{}');
         UPDATE row_chain SET seq = 9223372036854775807 WHERE seq = 4 AND mission_id =
             (SELECT id FROM missions WHERE mission_uuid = '{}');",
        ids[0], ids[1]
    ));
    let (code, said) = verify(&store);
    assert_eq!(code, Some(5), "{said}");
    for (id, state) in [
        (&ids[0], "TAMPERED"),
        (&ids[1], "TAMPERED"),
        (&ids[2], "intact"),
    ] {
        assert!(said.contains(&format!("mission {id}: {state}")), "{said}");
    }
    assert!(
        said.contains("verified 3 missions: 1 intact, 2 tampered"),
        "{said}"
    );
    // A write to the first mission is refused, and says why.
    let err = store
        .log_tool_call(
            &ids[0].parse().unwrap(),
            NewToolCall::success("c", json!({})),
        )
        .unwrap_err();
    assert!(err.to_string().contains("malformed hash"), "{err}");
}

fn a_dangling_or_swapped_row_id_is_not_intact(backend: Backend) {
    let store = TestStore::open(backend);
    let ids = three_missions(&store);
    // The first mission's decision now names an invocation that is not
    // there; the second's two tool calls swap ids.
    // (Both check the reference: another program sets the check aside, as
    // SQLite's default build and a PostgreSQL replica's apply process do.)
    let unchecked = match backend {
        Backend::Sqlite => "PRAGMA foreign_keys = OFF;",
        Backend::Postgres => "SET session_replication_role = replica;",
    };
    store.exec(&format!(
        "{unchecked} UPDATE decisions SET invocation_id = 999999 WHERE mission_id =
             (SELECT id FROM missions WHERE mission_uuid = '{}');",
        ids[0]
    ));
    let calls = |m: &str| {
        let sql = format!(
            "SELECT {{}}(t.id) FROM tool_calls t JOIN missions m ON m.id = t.mission_id
             WHERE m.mission_uuid = '{m}'"
        );
        (
            store.count(&sql.replace("{}", "MIN")),
            store.count(&sql.replace("{}", "MAX")),
        )
    };
    let (a, b) = calls(&ids[1]);
    store.exec(&format!(
        "UPDATE tool_calls SET id = -1 WHERE id = {a};
         UPDATE tool_calls SET id = {a} WHERE id = {b};
         UPDATE tool_calls SET id = {b} WHERE id = -1;"
    ));
    let (code, said) = verify(&store);
    assert_eq!(code, Some(5), "{said}");
    assert!(
        said.contains(&format!("mission {}: TAMPERED", ids[0]))
            && said.contains("edited: decisions #"),
        "{said}"
    );
    assert!(
        said.contains(&format!("mission {}: TAMPERED", ids[1]))
            && said.contains("moved: tool_calls #"),
        "{said}"
    );
    assert!(
        said.contains(&format!("mission {}: intact", ids[2])),
        "{said}"
    );
}

fn a_foreign_run_vibe_store_completes_later_is_not_moved(backend: Backend) {
    let store = TestStore::open(backend);
    let m = store
        .create_mission(Phase::Coding, json!({}).into())
        .unwrap();
    // Another program starts a run; vibe-store starts one after it, then
    // completes the first: the first is chained after the second, with
    // the smaller id, and nothing was tampered with.
    store.exec(&format!(
        "INSERT INTO playbook_runs (mission_id, playbook_name, started_at)
         SELECT id, 'foreign', '2026-11-30T09:35:01.828406Z' FROM missions
         WHERE mission_uuid = '{m}'"
    ));
    let foreign = store.count("SELECT MAX(id) FROM playbook_runs");
    store.start_playbook_run(&m, "ours", None).unwrap();
    store
        .complete_playbook_run(foreign.into(), true, None, None)
        .unwrap();
    let (code, said) = verify(&store);
    assert_eq!(code, Some(0), "{said}");
    assert!(said.contains(&format!("mission {m}: intact")), "{said}");
}

on_both_backends!(
    a_foreign_run_vibe_store_completes_later_is_not_moved,
    every_hostile_line_is_refused_with_its_reason_and_writes_nothing,
    json_past_the_limit_is_refused_like_a_live_write,
    an_upper_case_uuid_is_the_same_mission,
    created_by_must_name_an_invocation_the_file_carries,
    verify_reports_any_ledger_content_and_goes_on,
    a_dangling_or_swapped_row_id_is_not_intact,
);

/// A 256 MiB line is refused as it streams: `vibe import` reads at most
/// `MAX_IMPORT_LINE_BYTES` of it, writes nothing of it, names it, and goes
/// on to the lines after it (the missions before and after it are
/// imported; exit 6, some of the file was gone past).
#[test]
fn a_line_too_large_is_refused_as_it_streams() {
    use std::io::Write;
    let store = TestStore::open(Backend::Sqlite);
    let file = store.dir.path().join("huge.jsonl");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&file).unwrap());
    out.write_all(std::fs::read(hostile("a-mission")).unwrap().as_slice())
        .unwrap();
    out.write_all(
        br#"{"mission":{"mission_uuid":"9b1c2d3e-4f50-4a6b-8c7d-8e9fa0b1c2d3","metadata":""#,
    )
    .unwrap();
    let chunk = vec![b'x'; 1 << 20];
    for _ in 0..256 {
        out.write_all(&chunk).unwrap();
    }
    out.write_all(b"\"}}\n").unwrap();
    let another = std::fs::read_to_string(hostile("a-mission"))
        .unwrap()
        .replace(
            "3f2a51c0-a4e8-4d5c-9d3b-0e1f2a3b4c5d",
            "5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a",
        );
    out.write_all(another.as_bytes()).unwrap();
    drop(out);
    let out = run(&store, &["import", file.to_str().unwrap()]);
    no_panic(&out, "import");
    let said = text(&out.stderr);
    assert_eq!(out.status.code(), Some(6), "{said}");
    assert!(
        said.contains("line 2: ") && said.contains("the line is longer than 67108864 bytes"),
        "{said}"
    );
    // The first and third lines' missions are in; nothing of the second.
    assert_eq!(store.count("SELECT COUNT(*) FROM missions"), 2);
    assert_eq!(
        store.count("SELECT MAX(length(metadata)) FROM missions"),
        12
    );
}
