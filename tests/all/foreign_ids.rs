//! Mission ids other programs wrote: a UUID stored upper-case is the same
//! mission to every command that takes a mission id, whichever spelling the
//! operator types.

use crate::common::backends::{Backend, TestStore};
use crate::common::{text, vibe_db};
use vibe_store::{MissionId, MissionStore};

crate::on_both_backends!(
    a_uuid_stored_upper_case_is_found_by_every_command,
    ids_differing_only_in_case_are_two_missions_to_every_write,
    a_mission_another_program_renamed_is_not_found_by_its_old_id,
);

const STORED: &str = "3F2A51C0-A4E8-4D5C-9D3B-0E1F2A3B4C5D";
const TYPED: &str = "3f2a51c0-a4e8-4d5c-9d3b-0e1f2a3b4c5d";

fn a_uuid_stored_upper_case_is_found_by_every_command(backend: Backend) {
    let store = TestStore::open(backend);
    // As a program that writes UUIDs upper-case (.NET, SQL Server) does.
    store.exec(&format!(
        "INSERT INTO missions (mission_uuid, phase, status, created_at, metadata)
         VALUES ('{STORED}', 'CODING', 'pending', '2026-11-30T09:35:01.000000Z', '{{}}')"
    ));
    let id = MissionId::parse(TYPED).unwrap();
    assert_eq!(
        store.get_mission(&id).unwrap().mission_uuid.as_str(),
        STORED
    );

    let dir = store.dir.path();
    let vibe = |args: &[&str]| {
        let out = vibe_db(dir, &store.location).args(args).output().unwrap();
        assert!(out.status.success(), "vibe {args:?}: {}", text(&out.stderr));
        text(&out.stdout)
    };
    for typed in [TYPED, STORED, "3f2a51c0a4e84d5c9d3b0e1f2a3b4c5d"] {
        assert!(vibe(&["mission", "show", typed]).contains(STORED));
        vibe(&["log", typed, "--tool", "t", "--args", "{}"]);
        vibe(&[
            "decide",
            typed,
            "--type",
            "plan",
            "--rationale",
            "r",
            "--agent",
            "a",
        ]);
        vibe(&["tools", typed]);
        vibe(&["decisions", typed]);
        vibe(&["stats", typed]);
        vibe(&["memory", typed]);
        vibe(&["playbooks", typed]);
        vibe(&["mission", "status", typed, "in_progress"]);
        assert!(vibe(&["export", typed]).contains(STORED));
        assert!(vibe(&["verify", typed]).contains("intact"));
    }
    // The rows went to the one mission: no second copy was made.
    assert_eq!(store.count("SELECT COUNT(*) FROM missions"), 1);
    assert_eq!(store.count("SELECT COUNT(*) FROM tool_calls"), 3);
    assert_eq!(store.count("SELECT COUNT(*) FROM decisions"), 3);
}

/// Other programs' ids are kept as given ("test-001"), and the unique index
/// compares text exactly, so `test-001` and `TEST-001` are two missions,
/// each found by its own spelling. A write names one of them, and its row
/// must land in that one, whatever the store wrote before: a store that
/// remembers chain heads by a lower-cased key must not send a row for
/// `TEST-001` onto the head of `test-001`.
fn ids_differing_only_in_case_are_two_missions_to_every_write(backend: Backend) {
    use vibe_store::{NewDecision, NewToolCall};
    let store = TestStore::open(backend);
    store.exec(
        "INSERT INTO missions (mission_uuid, phase, status, created_at, metadata)
         VALUES ('test-001', 'CODING', 'pending', '2026-11-30T09:35:01.000000Z', '{}');
         INSERT INTO missions (mission_uuid, phase, status, created_at, metadata)
         VALUES ('TEST-001', 'CODING', 'pending', '2026-11-30T09:35:02.000000Z', '{}');",
    );
    let lower = MissionId::parse("test-001").unwrap();
    let upper = MissionId::parse("TEST-001").unwrap();
    assert_eq!(upper.as_str(), "TEST-001", "kept as given");
    for i in 0..3 {
        store
            .log_tool_call(&lower, NewToolCall::success("lower", serde_json::json!(i)))
            .unwrap();
        store
            .log_tool_call(&upper, NewToolCall::success("upper", serde_json::json!(i)))
            .unwrap();
        store
            .record_decision(&upper, NewDecision::new("upper", "r", "a"))
            .unwrap();
    }
    let in_mission = |uuid: &str, table: &str, name_column: &str, name: &str| {
        store.count(&format!(
            "SELECT COUNT(*) FROM {table} t JOIN missions m ON m.id = t.mission_id
             WHERE m.mission_uuid = '{uuid}' AND t.{name_column} = '{name}'"
        ))
    };
    assert_eq!(
        in_mission("test-001", "tool_calls", "tool_name", "lower"),
        3
    );
    assert_eq!(
        in_mission("TEST-001", "tool_calls", "tool_name", "upper"),
        3
    );
    assert_eq!(
        in_mission("TEST-001", "decisions", "decision_type", "upper"),
        3
    );
    for id in [&lower, &upper] {
        let report = store.verify_chain(id).unwrap();
        assert!(report.intact(), "{id}: {report:?}");
    }
}

/// Another program renames a mission (its `mission_uuid`) after the store
/// wrote to it: the old id names no mission any more, so a write to it is
/// `MissionNotFound` and writes nothing, as every write to an unknown
/// mission is, whatever the store remembers of the mission that id named.
fn a_mission_another_program_renamed_is_not_found_by_its_old_id(backend: Backend) {
    use vibe_store::{NewToolCall, Phase, StoreError};
    let store = TestStore::open(backend);
    let old = store
        .create_mission(Phase::Coding, serde_json::json!({}).into())
        .unwrap();
    store
        .log_tool_call(&old, NewToolCall::success("t", serde_json::json!(1)))
        .unwrap();
    store.exec(&format!(
        "UPDATE missions SET mission_uuid = 'renamed-by-another-program' WHERE mission_uuid = '{old}'"
    ));
    let written = store.log_tool_call(&old, NewToolCall::success("t", serde_json::json!(2)));
    assert!(
        matches!(written, Err(StoreError::MissionNotFound(_))),
        "{written:?}"
    );
    assert_eq!(store.count("SELECT COUNT(*) FROM tool_calls"), 1);
}
