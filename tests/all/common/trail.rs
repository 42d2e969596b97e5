//! A store holding two missions and a known trail: tool calls (one failed),
//! decisions, memory (one key already expired) and a playbook run.

use serde_json::json;
use vibe_store::{MissionStore, NewDecision, NewToolCall, Phase};

use super::backends::{Backend, TestStore};
use super::{guest, vibe_ok};

/// The trail in a SQLite file: its temp dir, its path and the two missions.
pub fn trail() -> (tempfile::TempDir, std::path::PathBuf, String, String) {
    let (store, a, b) = trail_on(Backend::Sqlite);
    let TestStore { dir, location, .. } = store;
    (dir, location.into(), a, b)
}

/// [`trail`] on either backend.
pub fn trail_on(backend: Backend) -> (TestStore, String, String) {
    let store = TestStore::open(backend);
    let a = store
        .create_mission(Phase::Coding, json!({ "goal": "ship the parser" }).into())
        .unwrap();
    let b = store
        .create_mission(Phase::Testing, json!({ "goal": "test it" }).into())
        .unwrap();
    for (mission, tool, ms, ok) in [
        (&a, "grep", 5, true),
        (&a, "cargo", 100, false),
        (&a, "grep", 10, true),
        (&a, "grep", 20, true),
        (&a, "grep", 40, true),
        (&b, "grep", 7, true),
    ] {
        store
            .log_tool_call(
                mission,
                NewToolCall {
                    duration_ms: Some(ms),
                    success: ok,
                    error_message: (!ok).then(|| "boom".to_owned()),
                    ..NewToolCall::success(tool, json!({ "tool": tool }))
                },
            )
            .unwrap();
    }
    store
        .record_decision(&a, NewDecision::new("plan", "because", "planner"))
        .unwrap();
    store
        .record_decision(&b, NewDecision::new("review", "looks fine", "critic"))
        .unwrap();
    store
        .set_memory(&a, "progress", json!({ "step": 2 }).into(), Some(3600))
        .unwrap();
    store
        .set_memory(&a, "gone", json!(1).into(), Some(0))
        .unwrap();
    let run = store.start_playbook_run(&a, "deploy", None).unwrap();
    store
        .complete_playbook_run(run, true, Some(json!({ "hosts": 3 }).into()), None)
        .unwrap();
    (store, a.to_string(), b.to_string())
}

/// The trail, with a tool's invocation that writes rows of its own (and
/// creates a mission), a deleted memory key and a finished mission.
pub fn full_trail() -> (tempfile::TempDir, std::path::PathBuf, String, String) {
    let (store, a, b) = full_trail_on(Backend::Sqlite);
    let TestStore { dir, location, .. } = store;
    (dir, location.into(), a, b)
}

/// [`full_trail`] on either backend.
pub fn full_trail_on(backend: Backend) -> (TestStore, String, String) {
    let (store, a, b) = trail_on(backend);
    let (dir, path) = (store.dir.path(), &store.location);
    let forger = guest("forger");
    let forger = forger.to_str().unwrap();
    vibe_ok(
        dir,
        path,
        &["run", forger, "--mission", &a, "--grant", "create-missions"],
    );
    vibe_ok(dir, path, &["memory", "delete", &a, "gone"]);
    vibe_ok(dir, path, &["mission", "status", &b, "completed"]);
    (store, a, b)
}
