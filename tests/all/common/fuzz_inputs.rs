//! The fuzz harness for every input the store parses from outside: JSON
//! fields, phases, statuses, durability values, names and free text, the
//! same functions the CLI and the WIT boundary call. Shared by the bounded
//! fixed-seed run in `tests/all/fuzz.rs` and the cargo-fuzz target in `fuzz/`.
//!
//! The property: any input either round-trips exactly or is refused with
//! `InvalidInput`/`LimitExceeded` (or `MissionNotFound` for ids), never a
//! panic, never another error, never a partial write.

use serde_json::Value;
use vibe_store::store::Durability;
use vibe_store::NewDecision;
use vibe_store::{
    Json, MissionId, MissionStatus, MissionStore, NewToolCall, Phase, SqliteStore, StoreError,
};

fn refused(e: &StoreError) -> bool {
    matches!(
        e,
        StoreError::InvalidInput(_) | StoreError::LimitExceeded(_)
    )
}

/// Exercises one input against `store` and `mission` (an existing mission).
pub fn exercise(store: &SqliteStore, mission: &MissionId, data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let text = text.as_ref();
    match selector % 8 {
        0 => json_field(store, mission, text),
        1 => {
            if let Ok(phase) = text.parse::<Phase>() {
                assert!(phase.as_str().eq_ignore_ascii_case(text));
            }
        }
        2 => {
            if let Ok(status) = text.parse::<MissionStatus>() {
                assert!(status
                    .as_str()
                    .eq_ignore_ascii_case(&text.replace('-', "_")));
            }
        }
        3 => {
            if text.parse::<Durability>().is_ok() {
                assert!(["full", "normal"].contains(&text.to_ascii_lowercase().as_str()));
            }
        }
        4 => tool_name(store, mission, text),
        5 => decision(store, mission, text),
        6 => match MissionId::parse(text).and_then(|id| store.get_mission(&id)) {
            Ok(found) => assert_eq!(found.mission_uuid, MissionId::parse(text).unwrap()),
            Err(e) => assert!(
                matches!(
                    e,
                    StoreError::MissionNotFound(_) | StoreError::InvalidInput(_)
                ),
                "{e:?}"
            ),
        },
        _ => memory(store, mission, text),
    }
}

/// JSON the store accepts is stored and read back byte for byte (SQLite's
/// own `json_valid` check must agree with ours: a disagreement would be a
/// database error here, not a refusal).
fn json_field(store: &SqliteStore, mission: &MissionId, text: &str) {
    let value = match Json::parse("args", text) {
        Ok(value) => value,
        Err(e) => return assert!(refused(&e), "{e:?}"),
    };
    assert_eq!(value.as_str(), text, "kept as given");
    match store.log_tool_call(mission, NewToolCall::success("fuzz.json", value.clone())) {
        Ok(id) => {
            let stored = store
                .get_tool_history(mission)
                .unwrap()
                .into_iter()
                .find(|c| c.id == id)
                .unwrap();
            assert_eq!(stored.args.as_str(), text);
        }
        Err(e) => assert!(refused(&e), "{e:?}"),
    }
}

fn tool_name(store: &SqliteStore, mission: &MissionId, text: &str) {
    let before = store.get_tool_history(mission).unwrap().len();
    match store.log_tool_call(mission, NewToolCall::success(text, Value::Null)) {
        Ok(id) => {
            let stored = store
                .get_tool_history(mission)
                .unwrap()
                .into_iter()
                .find(|c| c.id == id)
                .unwrap();
            assert_eq!(stored.tool_name, text);
        }
        Err(e) => {
            assert!(refused(&e), "{e:?}");
            assert_eq!(
                store.get_tool_history(mission).unwrap().len(),
                before,
                "refused input wrote"
            );
        }
    }
}

fn decision(store: &SqliteStore, mission: &MissionId, text: &str) {
    let (kind, rationale) = text.split_once('|').unwrap_or((text, text));
    match store.record_decision(mission, NewDecision::new(kind, rationale, "fuzz")) {
        Ok(id) => {
            let stored = store
                .get_decisions(mission)
                .unwrap()
                .into_iter()
                .find(|d| d.id == id)
                .unwrap();
            assert_eq!(
                (stored.decision_type.as_str(), stored.rationale.as_deref()),
                (kind, Some(rationale))
            );
        }
        Err(e) => assert!(refused(&e), "{e:?}"),
    }
}

fn memory(store: &SqliteStore, mission: &MissionId, text: &str) {
    let (key, value) = text.split_once('=').unwrap_or((text, "null"));
    let value = match Json::parse("value", value) {
        Ok(value) => value,
        Err(e) => return assert!(refused(&e), "{e:?}"),
    };
    match store.set_memory(mission, key, value.clone(), None) {
        Ok(()) => assert_eq!(store.get_memory(mission, key).unwrap(), Some(value)),
        Err(e) => assert!(refused(&e), "{e:?}"),
    }
}
