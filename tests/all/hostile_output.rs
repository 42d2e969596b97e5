//! What operator commands print from data someone else made: an export
//! handed over, rows another program wrote. Every path to a terminal shows
//! control and bidi characters as escapes.

use std::path::Path;

use serde_json::json;
use vibe_store::{Json, MissionStore, Phase};

use crate::common::backends::{Backend, TestStore};
use crate::common::{text, vibe_db};

crate::on_both_backends!(
    verify_against_a_hostile_export_prints_its_uuids_and_heads_escaped,
    prune_prints_a_hostile_uuid_escaped,
);

/// The export kept as test data: a mission whose uuid and head carry escape
/// sequences, a bidi override and a head of 64 `€`.
fn hostile_heads() -> &'static Path {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/data/hostile_heads.jsonl"
    ))
}

/// No raw control, DEL or bidi character but newline; the escapes are there.
fn assert_escaped(out: &str) {
    let raw: Vec<char> = out
        .chars()
        .filter(|&c| (c.is_control() && c != '\n') || ('\u{202a}'..='\u{202e}').contains(&c))
        .collect();
    assert!(raw.is_empty(), "raw {raw:?} in {out:?}");
    assert!(out.contains("\\x1b"), "{out}");
}

fn verify_against_a_hostile_export_prints_its_uuids_and_heads_escaped(backend: Backend) {
    let store = TestStore::open(backend);
    let mission = store
        .create_mission(Phase::Coding, Json::parse("m", "{}").unwrap())
        .unwrap();
    store.exec(&format!(
        "UPDATE missions SET mission_uuid = '3f2a51c0-a4e8-4d5c-9d3b-0e1f2a3b4c5d'
         WHERE mission_uuid = '{mission}'"
    ));
    for args in [
        &["verify", "--against"][..],
        &["verify", "--json", "--against"][..],
    ] {
        let out = vibe_db(store.dir.path(), &store.location)
            .args(args)
            .arg(hostile_heads())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(5), "{}", text(&out.stderr));
        let printed = text(&out.stdout);
        if !args.contains(&"--json") {
            assert_escaped(&printed);
            assert!(
                printed.contains("DELETED") && printed.contains("REWRITTEN"),
                "{printed}"
            );
        } else {
            // Piped JSON stays exact JSON: the escapes are JSON's own.
            for line in printed.lines() {
                serde_json::from_str::<serde_json::Value>(line).unwrap();
            }
            assert!(!printed.contains('\u{1b}'));
        }
    }
}

fn prune_prints_a_hostile_uuid_escaped(backend: Backend) {
    let store = TestStore::open(backend);
    let chr = match backend {
        Backend::Sqlite => "char",
        Backend::Postgres => "chr",
    };
    store.exec(&format!(
        "INSERT INTO missions (mission_uuid, phase, status, created_at, metadata)
         VALUES ('evil' || {chr}(27) || ']0;pwned' || {chr}(7) || {chr}(8238),
                 'CODING', 'completed', '2020-01-01T00:00:00.000000Z', '{{}}')"
    ));
    for args in [
        &["prune", "--before", "1d", "--dry-run"][..],
        &["prune", "--before", "1d"],
    ] {
        let out = vibe_db(store.dir.path(), &store.location)
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        let printed = text(&out.stdout);
        assert_escaped(&printed);
        assert!(printed.contains("1 missions"), "{printed}");
    }
    assert_eq!(store.count("SELECT COUNT(*) FROM missions"), 0);
}

/// `vibe export` to a terminal: each line still the same JSON, with what
/// could steer the terminal \u-escaped; into a pipe, the bytes as stored.
#[test]
fn export_to_a_terminal_escapes_inside_strings_and_stays_the_same_json() {
    let store = TestStore::open(Backend::Sqlite);
    let mission = store
        .create_mission(Phase::Coding, Json::parse("m", "{}").unwrap())
        .unwrap();
    store
        .log_tool_call(
            &mission,
            vibe_store::NewToolCall::success("t", json!({ "evil": "\u{1b}]0;pwned\u{7}\u{202e}" })),
        )
        .unwrap();
    let piped = vibe_db(store.dir.path(), &store.location)
        .arg("export")
        .output()
        .unwrap();
    assert!(text(&piped.stdout).contains("\\u001b]0;pwned\\u0007\u{202e}"));
    let command = format!(
        "{} --db {} export",
        env!("CARGO_BIN_EXE_vibe"),
        store.location
    );
    let shown = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .output()
        .expect("script(1) from util-linux runs a command on a terminal");
    assert!(shown.status.success(), "{}", text(&shown.stderr));
    let screen = text(&shown.stdout);
    assert!(!screen.contains('\u{202e}'), "{screen:?}");
    let line = screen
        .lines()
        .find(|l| l.contains("pwned"))
        .expect("the line");
    let on_screen: serde_json::Value = serde_json::from_str(line.trim_end()).unwrap();
    let piped: serde_json::Value = serde_json::from_str(text(&piped.stdout).trim_end()).unwrap();
    assert_eq!(on_screen, piped, "the same JSON");
}
