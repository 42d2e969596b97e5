//! Mission ids other programs wrote: a UUID stored upper-case is the same
//! mission to every command that takes a mission id, whichever spelling the
//! operator types.

use crate::common::backends::{Backend, TestStore};
use crate::common::{text, vibe_db};
use vibe_store::{MissionId, MissionStore};

crate::on_both_backends!(a_uuid_stored_upper_case_is_found_by_every_command);

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
