//! The mission store through its public Rust API: schema, operations,
//! validation, durability settings and concurrency.

use std::sync::Arc;
use std::thread;

use crate::common::backends::{Backend, TestStore};
use crate::common::{count, latest_schema, log_from_threads, ov, temp_db, temp_store, v};
use serde_json::{json, Value};
use vibe_store::store::{OpenOptions, Page, MAX_JSON_BYTES, MAX_JSON_DEPTH, MAX_PAGE_ROWS};
use vibe_store::NewDecision;
use vibe_store::{
    DecisionId, Durability, Json, MissionId, MissionStatus, MissionStore, NewToolCall, Phase,
    SqliteStore, StoreError,
};

fn is_rfc3339_micros(ts: &str) -> bool {
    ts.len() == 27
        && ts.ends_with('Z')
        && ts.as_bytes()[19] == b'.'
        && chrono::DateTime::parse_from_rfc3339(ts).is_ok()
}

// Tests of the store's semantics, run on SQLite and on PostgreSQL from this
// one source (`sqlite::NAME`, `postgres::NAME`).
crate::on_both_backends!(
    init_db_is_idempotent_and_reopening_keeps_data,
    empty_database_has_empty_history,
    mission_create_read_update,
    mission_history_is_newest_first_and_limited,
    tool_calls_round_trip_success_and_failure,
    decisions_round_trip_oldest_first,
    history_pages_follow_after_id,
    batched_tool_calls_commit_all_or_nothing,
    unknown_mission_is_not_found_everywhere,
    invalid_input_gets_a_clear_error_and_writes_nothing,
    unicode_and_escapes_round_trip_exactly,
    memory_set_get_overwrite_delete_and_expire,
    playbook_runs_start_and_complete_once,
    eight_threads_times_500_calls_leave_exactly_4000_rows,
    a_failing_write_in_a_busy_batch_does_not_sink_the_others
);

// ---- initialisation --------------------------------------------------------

#[test]
fn open_creates_directories_file_and_schema() {
    let (_dir, path) = temp_db();
    assert!(!path.parent().unwrap().exists());
    let store = SqliteStore::open(&path).unwrap();
    assert!(path.is_file());
    assert_eq!(store.schema_version().unwrap(), latest_schema());
    let names = |kind: &str| -> Vec<String> {
        let conn = rusqlite::Connection::open(&path).unwrap();
        let mut stmt = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = ?1 AND name NOT LIKE 'sqlite_%' ORDER BY name")
            .unwrap();
        stmt.query_map([kind], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    assert_eq!(
        names("table"),
        [
            "agent_memory",
            "decisions",
            "missions",
            "playbook_runs",
            "row_chain",
            "tool_calls",
            // The migration runner's ledger: each applied migration's
            // version and checksum.
            "vibe_schema_version"
        ]
    );
    assert_eq!(
        names("view"),
        [
            "active_missions",
            "playbook_performance",
            "tool_usage_stats"
        ]
    );
    let indexes = names("index");
    for expected in [
        "idx_missions_status",
        "idx_missions_phase",
        "idx_tool_calls_mission",
        "idx_tool_calls_success",
        "idx_tool_calls_tool_name",
        "idx_decisions_mission",
        "idx_decisions_type",
        "idx_decisions_agent",
    ] {
        assert!(
            indexes.iter().any(|i| i == expected),
            "missing index {expected}"
        );
    }
    let journal: String = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(journal, "wal");
}

fn init_db_is_idempotent_and_reopening_keeps_data(backend: Backend) {
    let store = TestStore::open(backend);
    let mission = store
        .create_mission(Phase::Coding, json!({}).into())
        .unwrap();
    let latest = backend.latest_schema();
    assert_eq!(store.init_db().unwrap(), latest);
    assert_eq!(store.init_db().unwrap(), latest);
    let again = store.reopen(OpenOptions::default()).unwrap();
    assert_eq!(again.init_db().unwrap(), latest);
    assert_eq!(again.get_mission(&mission).unwrap().phase, Phase::Coding);
}

fn empty_database_has_empty_history(backend: Backend) {
    let store = TestStore::open(backend);
    assert!(store.get_mission_history(10).unwrap().is_empty());
}

// ---- missions --------------------------------------------------------------

fn mission_create_read_update(backend: Backend) {
    let store = TestStore::open(backend);
    let meta = json!({ "goal": "ship", "n": 5, "ratio": 1.0 });
    let id = store
        .create_mission(Phase::Planning, (&meta).into())
        .unwrap();
    let parsed = uuid::Uuid::parse_str(&id).expect("mission id is a UUID");
    assert_eq!(parsed.get_version_num(), 4);

    let mission = store.get_mission(&id).unwrap();
    assert_eq!(mission.mission_uuid, id);
    assert_eq!(mission.phase, Phase::Planning);
    assert_eq!(mission.status, MissionStatus::Pending);
    assert_eq!(ov(&mission.metadata), Some(meta));
    assert_eq!(
        mission.metadata.unwrap().as_str(),
        r#"{"goal":"ship","n":5,"ratio":1.0}"#
    );
    // Stored as fixed-width RFC 3339 with microseconds, whatever the API type.
    let stored = |sql: &str| store.text(sql);
    let created_text = stored("SELECT created_at FROM missions");
    assert!(is_rfc3339_micros(&created_text), "{created_text}");
    assert_eq!(mission.completed_at, None);

    store
        .update_mission_status(&id, MissionStatus::InProgress)
        .unwrap();
    assert_eq!(store.get_mission(&id).unwrap().completed_at, None);
    store
        .update_mission_status(&id, MissionStatus::Completed)
        .unwrap();
    let done = store.get_mission(&id).unwrap();
    assert_eq!(done.status, MissionStatus::Completed);
    let completed_at = done.completed_at.expect("completed_at is set");
    assert!(is_rfc3339_micros(&stored(
        "SELECT completed_at FROM missions"
    )));
    assert!(completed_at >= done.created_at);

    store
        .update_mission_status(&id, MissionStatus::InProgress)
        .unwrap();
    assert_eq!(
        store.get_mission(&id).unwrap().completed_at,
        None,
        "reopened"
    );
    store
        .update_mission_status(&id, MissionStatus::Failed)
        .unwrap();
    assert!(store.get_mission(&id).unwrap().completed_at.is_some());
}

fn mission_history_is_newest_first_and_limited(backend: Backend) {
    let store = TestStore::open(backend);
    let ids: Vec<MissionId> = (0..15)
        .map(|i| {
            store
                .create_mission(Phase::Testing, json!({ "i": i }).into())
                .unwrap()
        })
        .collect();
    let history = store.get_mission_history(10).unwrap();
    assert_eq!(history.len(), 10);
    let expected: Vec<&MissionId> = ids.iter().rev().take(10).collect();
    let got: Vec<&MissionId> = history.iter().map(|m| &m.mission_uuid).collect();
    assert_eq!(got, expected);
    assert_eq!(store.get_mission_history(100).unwrap().len(), 15);
    assert!(store.get_mission_history(0).unwrap().is_empty());
    assert!(matches!(
        store.get_mission_history(MAX_PAGE_ROWS + 1),
        Err(StoreError::LimitExceeded(_))
    ));
}

#[test]
fn phases_and_statuses_parse_in_any_case_and_list_valid_values() {
    assert_eq!("planning".parse::<Phase>().unwrap(), Phase::Planning);
    assert_eq!("MaInTeNaNcE".parse::<Phase>().unwrap(), Phase::Maintenance);
    assert_eq!(
        "IN_PROGRESS".parse::<MissionStatus>().unwrap(),
        MissionStatus::InProgress
    );
    assert_eq!(
        "in-progress".parse::<MissionStatus>().unwrap(),
        MissionStatus::InProgress
    );
    let err = "LAUNCH".parse::<Phase>().unwrap_err().to_string();
    for phase in ["PLANNING", "CODING", "TESTING", "DEPLOYMENT", "MAINTENANCE"] {
        assert!(err.contains(phase), "{err}");
    }
    let err = "done".parse::<MissionStatus>().unwrap_err().to_string();
    for status in ["pending", "in_progress", "completed", "failed"] {
        assert!(err.contains(status), "{err}");
    }
}

// ---- tool calls and decisions ----------------------------------------------

fn tool_calls_round_trip_success_and_failure(backend: Backend) {
    let store = TestStore::open(backend);
    let m = store
        .create_mission(Phase::Coding, json!({}).into())
        .unwrap();
    let args = Json::parse("args", r#"{"pattern":"fn main","n":1.50}"#).unwrap();
    let ok = NewToolCall {
        result: Some(json!(5).into()),
        duration_ms: Some(12),
        ..NewToolCall::success("grep", args.clone())
    };
    let failed = NewToolCall {
        tool_name: "cargo".into(),
        args: json!(["build"]).into(),
        result: None,
        success: false,
        duration_ms: Some(0),
        error_message: Some("exit status 101".into()),
    };
    let id1 = store.log_tool_call(&m, ok).unwrap();
    let id2 = store.log_tool_call(&m, failed).unwrap();
    assert!(id2 > id1);

    let history = store.get_tool_history(&m).unwrap();
    assert_eq!(history.len(), 2);
    let (a, b) = (&history[0], &history[1]);
    assert_eq!((a.id, a.tool_name.as_str(), a.success), (id1, "grep", true));
    assert_eq!(a.args, args);
    assert_eq!(
        a.args.as_str(),
        r#"{"pattern":"fn main","n":1.50}"#,
        "numbers keep their text"
    );
    assert_eq!(ov(&a.result), Some(json!(5)));
    assert_eq!(a.duration_ms, Some(12));
    assert_eq!(a.error_message, None);
    assert_eq!(a.mission_uuid, m);
    assert!(is_rfc3339_micros(
        &store.text("SELECT MIN(timestamp) FROM tool_calls")
    ));
    assert_eq!(
        (b.success, b.error_message.as_deref()),
        (false, Some("exit status 101"))
    );
    assert_eq!(b.args, json!(["build"]));
    assert!(a.timestamp <= b.timestamp);

    // JSON is stored as JSON text, never coerced to a number by affinity.
    let stored_as_text = match backend {
        Backend::Sqlite => {
            "SELECT COUNT(*) FROM tool_calls WHERE typeof(result) = 'text' AND result = '5'"
        }
        Backend::Postgres => "SELECT COUNT(*) FROM tool_calls WHERE result = '5'",
    };
    assert_eq!(store.count(stored_as_text), 1);
}

fn decisions_round_trip_oldest_first(backend: Backend) {
    let store = TestStore::open(backend);
    let m = store
        .create_mission(Phase::Planning, json!({}).into())
        .unwrap();
    let ids: Vec<DecisionId> = (0..5)
        .map(|i| {
            store
                .record_decision(
                    &m,
                    NewDecision {
                        context: Some(json!({ "i": i }).into()),
                        ..NewDecision::new("choose", format!("because {i}"), "planner")
                    },
                )
                .unwrap()
        })
        .collect();
    store
        .record_decision(&m, NewDecision::new("note", "no context", "critic"))
        .unwrap();
    let decisions = store.get_decisions(&m).unwrap();
    assert_eq!(decisions.len(), 6);
    assert_eq!(
        decisions.iter().take(5).map(|d| d.id).collect::<Vec<_>>(),
        ids
    );
    assert_eq!(decisions[2].rationale.as_deref(), Some("because 2"));
    assert_eq!(decisions[2].agent_name.as_deref(), Some("planner"));
    assert_eq!(ov(&decisions[2].context), Some(json!({ "i": 2 })));
    assert_eq!(decisions[5].context, None);
    assert!(decisions
        .windows(2)
        .all(|w| (&w[0].timestamp, w[0].id) < (&w[1].timestamp, w[1].id)));
}

fn history_pages_follow_after_id(backend: Backend) {
    let store = TestStore::open(backend);
    let m = store
        .create_mission(Phase::Coding, json!({}).into())
        .unwrap();
    let other = store
        .create_mission(Phase::Coding, json!({}).into())
        .unwrap();
    for i in 0..25 {
        store
            .log_tool_call(&m, NewToolCall::success("t", json!(i)))
            .unwrap();
        store
            .log_tool_call(&other, NewToolCall::success("u", json!(i)))
            .unwrap();
    }
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .get_tool_history_page(&m, Page::after(after, 10))
            .unwrap();
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 10);
        after = page.last().map(|c| c.id.get());
        seen.extend(page.into_iter().map(|c| v(&c.args)));
    }
    assert_eq!(seen, (0..25).map(|i| json!(i)).collect::<Vec<_>>());
    assert!(matches!(
        store.get_tool_history_page(&m, Page::first(MAX_PAGE_ROWS + 1)),
        Err(StoreError::LimitExceeded(_))
    ));
}

fn batched_tool_calls_commit_all_or_nothing(backend: Backend) {
    let store = TestStore::open(backend);
    let m = store
        .create_mission(Phase::Coding, json!({}).into())
        .unwrap();
    let calls: Vec<NewToolCall> = (0..100)
        .map(|i| NewToolCall::success("batch", json!(i)))
        .collect();
    let ids = store.log_tool_calls(&m, calls.clone()).unwrap();
    assert_eq!(ids.len(), 100);
    let mut bad = calls.clone();
    bad[50].duration_ms = Some(-1);
    assert!(matches!(
        store.log_tool_calls(&m, bad),
        Err(StoreError::InvalidInput(_))
    ));
    assert_eq!(store.get_tool_history(&m).unwrap().len(), 100);
}

// ---- unknown missions and invalid input write nothing ----------------------

fn unknown_mission_is_not_found_everywhere(backend: Backend) {
    let store = TestStore::open(backend);
    let ghost = MissionId::new_v4();
    let not_found = |r: Result<(), StoreError>| match r {
        Err(StoreError::MissionNotFound(id)) => assert_eq!(id, ghost.as_str()),
        other => panic!("expected MissionNotFound, got {other:?}"),
    };
    not_found(store.get_mission(&ghost).map(drop));
    not_found(store.update_mission_status(&ghost, MissionStatus::Completed));
    not_found(
        store
            .log_tool_call(&ghost, NewToolCall::success("t", json!({})))
            .map(drop),
    );
    not_found(
        store
            .record_decision(&ghost, NewDecision::new("d", "r", "a"))
            .map(drop),
    );
    not_found(store.get_tool_history(&ghost).map(drop));
    not_found(store.get_decisions(&ghost).map(drop));
    not_found(store.set_memory(&ghost, "k", json!(1).into(), None));
    not_found(store.get_memory(&ghost, "k").map(drop));
    not_found(store.delete_memory(&ghost, "k").map(drop));
    not_found(store.start_playbook_run(&ghost, "p", None).map(drop));
    assert_eq!(store.all_rows(), 0);
    // The library names the mission and no command (the binary adds its
    // hint: `exit_codes::exit_codes_say_what_went_wrong_and_bad_input_writes_nothing`).
    let message = store.get_mission(&ghost).unwrap_err().to_string();
    assert_eq!(message, format!("mission {ghost} not found"));
}

fn invalid_input_gets_a_clear_error_and_writes_nothing(backend: Backend) {
    let store = TestStore::open(backend);
    let m = store
        .create_mission(Phase::Coding, json!({}).into())
        .unwrap();
    let before = store.all_rows();
    let call = |f: fn(&mut NewToolCall)| {
        let mut c = NewToolCall::success("tool", json!({}));
        f(&mut c);
        store.log_tool_call(&m, c).unwrap_err()
    };
    let invalid = |e: StoreError, needle: &str| match e {
        StoreError::InvalidInput(why) => {
            assert!(why.contains(needle), "{why:?} should mention {needle:?}")
        }
        other => panic!("expected InvalidInput({needle}), got {other:?}"),
    };
    let too_large = |e: StoreError| assert!(matches!(e, StoreError::LimitExceeded(_)), "{e:?}");

    invalid(
        call(|c| c.tool_name = String::new()),
        "tool name must not be empty",
    );
    invalid(
        call(|c| c.tool_name = "   ".into()),
        "tool name must not be empty",
    );
    invalid(call(|c| c.tool_name = "a\0b".into()), "control characters");
    invalid(call(|c| c.duration_ms = Some(-1)), "negative");
    invalid(
        call(|c| c.error_message = Some("nul\0inside".into())),
        "NUL",
    );
    too_large(call(|c| c.args = json!("x".repeat(MAX_JSON_BYTES)).into()));
    too_large(call(|c| {
        c.result = Some(json!("x".repeat(MAX_JSON_BYTES)).into())
    }));
    too_large(call(|c| c.tool_name = "t".repeat(1000)));
    let mut deep = json!(1);
    for _ in 0..=MAX_JSON_DEPTH {
        deep = json!([deep]);
    }
    let deep_clone = deep.clone();
    invalid(
        store
            .log_tool_call(&m, NewToolCall::success("t", deep_clone))
            .unwrap_err(),
        "nests deeper",
    );
    invalid(
        store
            .record_decision(&m, NewDecision::new("", "r", "a"))
            .unwrap_err(),
        "decision type",
    );
    invalid(
        store
            .record_decision(&m, NewDecision::new("d", "r", ""))
            .unwrap_err(),
        "agent name",
    );
    invalid(
        store.set_memory(&m, "", json!(1).into(), None).unwrap_err(),
        "memory key",
    );
    too_large(
        store
            .create_mission(Phase::Coding, json!("x".repeat(MAX_JSON_BYTES)).into())
            .unwrap_err(),
    );
    invalid(
        Json::parse("--args", "{nope").unwrap_err(),
        "--args is not valid JSON",
    );
    invalid(Json::parse("--args", "").unwrap_err(), "not valid JSON");
    assert_eq!(store.all_rows(), before, "rejected input wrote nothing");

    // Just under the limits is accepted.
    let mut fits = json!(1);
    for _ in 1..MAX_JSON_DEPTH {
        fits = json!([fits]);
    }
    store
        .log_tool_call(&m, NewToolCall::success("t", fits.clone()))
        .unwrap();
    assert_eq!(v(&store.get_tool_history(&m).unwrap()[0].args), fits);
}

fn unicode_and_escapes_round_trip_exactly(backend: Backend) {
    let store = TestStore::open(backend);
    let m = store
        .create_mission(Phase::Coding, json!({}).into())
        .unwrap();
    let text = "naïve — 日本語 🚀 \u{200B} \"quoted\" \\ back\nline\ttab \u{0000} nul-in-json";
    let args = json!({ "s": text, "big": 12345678901234567890123u128.to_string() });
    let args = {
        // A number far beyond i64/f64 keeps its digits.
        let mut a = args;
        a["huge"] = serde_json::from_str("123456789012345678901234567890").unwrap();
        a
    };
    store
        .log_tool_call(&m, NewToolCall::success("ユニコード-tool", args.clone()))
        .unwrap();
    store
        .record_decision(
            &m,
            NewDecision {
                context: Some(args.clone().into()),
                ..NewDecision::new("choix", "parce que… ✓", "agent-ü")
            },
        )
        .unwrap();
    let call = &store.get_tool_history(&m).unwrap()[0];
    assert_eq!(call.tool_name, "ユニコード-tool");
    assert_eq!(v(&call.args), args);
    assert_eq!(
        v(&call.args)["huge"].to_string(),
        "123456789012345678901234567890"
    );
    let decision = &store.get_decisions(&m).unwrap()[0];
    assert_eq!(decision.rationale.as_deref(), Some("parce que… ✓"));
    assert_eq!(ov(&decision.context), Some(args));
}

// ---- agent memory and playbooks --------------------------------------------

fn memory_set_get_overwrite_delete_and_expire(backend: Backend) {
    let store = TestStore::open(backend);
    let m = store
        .create_mission(Phase::Coding, json!({}).into())
        .unwrap();
    let other = store
        .create_mission(Phase::Coding, json!({}).into())
        .unwrap();
    assert_eq!(store.get_memory(&m, "k").unwrap(), None);
    store
        .set_memory(&m, "k", json!({ "v": 1 }).into(), None)
        .unwrap();
    store
        .set_memory(&other, "k", json!("other").into(), None)
        .unwrap();
    assert_eq!(
        ov(&store.get_memory(&m, "k").unwrap()),
        Some(json!({ "v": 1 }))
    );
    store
        .set_memory(&m, "k", json!([2]).into(), Some(3600))
        .unwrap();
    assert_eq!(ov(&store.get_memory(&m, "k").unwrap()), Some(json!([2])));
    assert_eq!(
        ov(&store.get_memory(&other, "k").unwrap()),
        Some(json!("other"))
    );
    assert_eq!(
        store.count("SELECT COUNT(*) FROM agent_memory"),
        2,
        "overwrite, not append"
    );

    // A TTL of zero expires at once: never returned, and deleting it reports
    // that nothing live was there.
    store
        .set_memory(&m, "gone", json!(true).into(), Some(0))
        .unwrap();
    assert_eq!(store.get_memory(&m, "gone").unwrap(), None);
    assert!(!store.delete_memory(&m, "gone").unwrap());

    assert!(store.delete_memory(&m, "k").unwrap());
    assert!(!store.delete_memory(&m, "k").unwrap());
    assert_eq!(store.get_memory(&m, "k").unwrap(), None);
    store
        .set_memory(&m, "null", (Value::Null).into(), None)
        .unwrap();
    assert_eq!(
        ov(&store.get_memory(&m, "null").unwrap()),
        Some(Value::Null)
    );
}

fn playbook_runs_start_and_complete_once(backend: Backend) {
    let store = TestStore::open(backend);
    let m = store
        .create_mission(Phase::Deployment, json!({}).into())
        .unwrap();
    let run = store
        .start_playbook_run(&m, "deploy", Some(Phase::Deployment))
        .unwrap();
    store
        .complete_playbook_run(run, true, Some(json!({ "hosts": 3 }).into()), None)
        .unwrap();
    assert!(matches!(
        store.complete_playbook_run(run, false, None, Some("again")),
        Err(StoreError::InvalidInput(_))
    ));
    let failed = store.start_playbook_run(&m, "deploy", None).unwrap();
    store
        .complete_playbook_run(failed, false, None, Some("timeout"))
        .unwrap();
    let runs = store.get_playbook_runs(&m).unwrap();
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0].success, Some(true));
    assert_eq!(ov(&runs[0].metrics), Some(json!({ "hosts": 3 })));
    assert_eq!(runs[0].phase.as_deref(), Some("DEPLOYMENT"));
    assert_eq!(runs[1].error_message.as_deref(), Some("timeout"));
    let total: i64 =
        store.count("SELECT total_runs FROM playbook_performance WHERE playbook_name = 'deploy'");
    assert_eq!(total, 2);
}

#[test]
fn views_summarise_missions_and_tools() {
    let (_dir, store) = temp_store();
    let m = store
        .create_mission(Phase::Coding, json!({}).into())
        .unwrap();
    let done = store
        .create_mission(Phase::Coding, json!({}).into())
        .unwrap();
    store
        .update_mission_status(&done, MissionStatus::Completed)
        .unwrap();
    for (ok, ms) in [(true, 10), (true, 30), (false, 5)] {
        let call = NewToolCall {
            success: ok,
            duration_ms: Some(ms),
            ..NewToolCall::success("grep", json!({}))
        };
        store.log_tool_call(&m, call).unwrap();
    }
    let conn = rusqlite::Connection::open(store.path()).unwrap();
    let (total, ok, avg, max): (i64, i64, f64, i64) = conn
        .query_row(
            "SELECT total_calls, successful_calls, avg_duration_ms, max_duration_ms FROM tool_usage_stats WHERE tool_name = 'grep'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap();
    assert_eq!((total, ok, max), (3, 2, 30));
    assert!((avg - 15.0).abs() < 1e-9);
    let (active, calls): (i64, i64) = conn
        .query_row(
            "SELECT COUNT(*), SUM(tool_call_count) FROM active_missions",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((active, calls), (1, 3));
}

// ---- other programs sharing the file ---------------------------------------

#[test]
fn rows_written_by_other_programs_read_back() {
    let (_dir, store) = temp_store();
    let conn = rusqlite::Connection::open(store.path()).unwrap();
    conn.execute_batch(
        "INSERT INTO missions (mission_uuid, phase, status, created_at, completed_at, metadata)
         VALUES ('legacy-1', 'CODING', 'completed', '2025-01-02T03:04:05Z', '2025-01-02 03:05:00', NULL);
         INSERT INTO tool_calls (mission_id, tool_name, args, result, timestamp, duration_ms, success)
         VALUES ((SELECT id FROM missions WHERE mission_uuid = 'legacy-1'), 'ls', '[]', NULL, '2025-01-02T03:04:06', NULL, 1);
         INSERT INTO decisions (mission_id, decision_type, rationale, timestamp, agent_name, context)
         VALUES ((SELECT id FROM missions WHERE mission_uuid = 'legacy-1'), 'x', NULL, '2025-01-02', NULL, NULL);",
    )
    .unwrap();
    let legacy = MissionId::parse("legacy-1").unwrap();
    let at = |text: &str| text.parse::<chrono::DateTime<chrono::Utc>>().unwrap();
    let mission = store.get_mission(&legacy).unwrap();
    assert_eq!(mission.metadata, None);
    assert_eq!(mission.created_at, at("2025-01-02T03:04:05Z"));
    assert_eq!(
        mission.completed_at,
        Some(at("2025-01-02T03:05:00Z").into())
    );
    let calls = store.get_tool_history(&legacy).unwrap();
    assert_eq!(
        (calls[0].timestamp.clone(), calls[0].duration_ms),
        (at("2025-01-02T03:04:06Z").into(), None)
    );
    let decisions = store.get_decisions(&legacy).unwrap();
    assert_eq!(decisions[0].timestamp, at("2025-01-02T00:00:00Z"));
    assert_eq!(
        (
            decisions[0].rationale.as_ref(),
            decisions[0].agent_name.as_ref()
        ),
        (None, None)
    );
    assert!(store
        .get_mission_history(10)
        .unwrap()
        .iter()
        .any(|m| m.mission_uuid == "legacy-1"));

    // The schema itself refuses what would lose data for everyone.
    for bad in [
        "INSERT INTO tool_calls (mission_id, tool_name, args, timestamp, success) VALUES (1, 't', 'not json', 'now', 1)",
        "INSERT INTO tool_calls (mission_id, tool_name, args, timestamp, success) VALUES (1, 't', '{}', 'now', 2)",
        "INSERT INTO missions (mission_uuid, phase, status, created_at) VALUES ('z', 'LAUNCH', 'pending', 'now')",
        "INSERT INTO missions (mission_uuid, phase, status, created_at) VALUES ('z', 'CODING', 'done', 'now')",
    ] {
        assert!(conn.execute(bad, []).is_err(), "schema accepted: {bad}");
    }
    // Deleting a mission cascades to its audit trail (for programs that do).
    conn.execute_batch(
        "PRAGMA foreign_keys = ON; DELETE FROM missions WHERE mission_uuid = 'legacy-1';",
    )
    .unwrap();
    assert_eq!(count(store.path(), "SELECT COUNT(*) FROM tool_calls"), 0);
}

// ---- durability and concurrency --------------------------------------------

#[test]
fn durability_setting_reaches_every_connection() {
    for (durability, expected) in [(Durability::Full, 2), (Durability::Normal, 1)] {
        let (_dir, path) = temp_db();
        let store =
            SqliteStore::open_with(&path, OpenOptions::default().durability(durability)).unwrap();
        let m = store
            .create_mission(Phase::Coding, json!({}).into())
            .unwrap();
        store
            .log_tool_call(&m, NewToolCall::success("t", json!({})))
            .unwrap();
        assert_eq!(store.options().durability, durability);
        for settings in store.connection_settings().unwrap() {
            assert_eq!(settings.synchronous, expected, "{durability:?}");
            assert_eq!(settings.journal_mode, "wal");
            assert!(settings.foreign_keys);
            assert!(settings.busy_timeout_ms >= 1000);
        }
    }
    assert_eq!("NORMAL".parse::<Durability>().unwrap(), Durability::Normal);
    assert!("fast".parse::<Durability>().is_err());
}

fn eight_threads_times_500_calls_leave_exactly_4000_rows(backend: Backend) {
    let store = TestStore::open(backend);
    let m = Arc::new(
        store
            .create_mission(Phase::Coding, json!({}).into())
            .unwrap(),
    );
    let handles: Vec<_> = (0..8)
        .map(|t| {
            let (store, m) = (store.clone(), m.clone());
            thread::spawn(move || {
                (0..500)
                    .map(|i| {
                        store.log_tool_call(
                            &m,
                            NewToolCall::success("load", json!({ "t": t, "i": i })),
                        )
                    })
                    .map(|id| id.map(i64::from))
                    .collect::<Result<Vec<i64>, StoreError>>()
            })
        })
        .collect();
    let mut ids: Vec<i64> = handles
        .into_iter()
        .flat_map(|h| h.join().expect("no panic").expect("no errors"))
        .collect();
    assert_eq!(ids.len(), 4000);
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 4000, "every acknowledged id is distinct");
    assert_eq!(store.count("SELECT COUNT(*) FROM tool_calls"), 4000);
    assert_eq!(store.get_tool_history(&m).unwrap().len(), 4000);
    let history = store.get_tool_history(&m).unwrap();
    for t in 0..8 {
        let n = history.iter().filter(|c| v(&c.args)["t"] == t).count();
        assert_eq!(n, 500, "thread {t}");
    }
}

#[test]
fn concurrent_durable_writers_share_commits() {
    let (_dir, store) = temp_store();
    assert_eq!(store.options().durability, Durability::Full);
    let m = Arc::new(
        store
            .create_mission(Phase::Coding, json!({}).into())
            .unwrap(),
    );
    let before = store.write_stats();
    log_from_threads(&store, &m, 16, 100);
    let after = store.write_stats();
    let (writes, commits) = (after.writes - before.writes, after.commits - before.commits);
    assert_eq!(writes, 1600);
    assert_eq!(count(store.path(), "SELECT COUNT(*) FROM tool_calls"), 1600);
    assert!(
        commits < writes / 2,
        "{commits} commits for {writes} writes: no batching"
    );
    eprintln!("16 writers: {writes} writes in {commits} commits");
}

fn a_failing_write_in_a_busy_batch_does_not_sink_the_others(backend: Backend) {
    let store = TestStore::open(backend);
    let m = Arc::new(
        store
            .create_mission(Phase::Coding, json!({}).into())
            .unwrap(),
    );
    let ghost = Arc::new(MissionId::new_v4());
    let handles: Vec<_> = (0..8)
        .map(|t| {
            let (store, m, ghost) = (store.clone(), m.clone(), ghost.clone());
            thread::spawn(move || {
                let mut ok = 0;
                for i in 0..200 {
                    // Every fourth thread writes to a mission that does not exist.
                    let target = if t % 4 == 0 { &ghost } else { &m };
                    match store.log_tool_call(target, NewToolCall::success("mix", json!(i))) {
                        Ok(_) => ok += 1,
                        Err(StoreError::MissionNotFound(_)) => assert_eq!(t % 4, 0),
                        Err(e) => panic!("unexpected {e}"),
                    }
                }
                ok
            })
        })
        .collect();
    let ok: i64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(ok, 6 * 200);
    assert_eq!(store.count("SELECT COUNT(*) FROM tool_calls"), 6 * 200);
}

#[test]
fn no_lookup_scans_a_table_an_index_could_serve() {
    let (_dir, store) = temp_store();
    let plans = store.query_plans().unwrap();
    assert!(plans.len() >= 10);
    for (sql, plan) in &plans {
        for step in plan {
            // The lists a caller filters by (tool names, agents) are small
            // JSON arrays read with json_each, not tables.
            let scan = step.starts_with("SCAN ")
                && step != "SCAN CONSTANT ROW"
                && !step.starts_with("SCAN json_each VIRTUAL TABLE");
            // Listing missions walks the creation-time index newest first and
            // stops after LIMIT rows: a scan in name only.
            let bounded_index_walk = sql.contains("DESC, id DESC LIMIT")
                && step == "SCAN missions USING INDEX idx_missions_created_instant";
            assert!(!scan || bounded_index_walk, "{step:?} in the plan of {sql}");
        }
        assert!(
            plan.iter()
                .any(|s| s.contains("USING") || s.starts_with("SCAN missions")),
            "no index used by {sql}: {plan:?}"
        );
    }
    eprintln!("{plans:#?}");
}

/// A handle made by `within_invocation` for an invocation that is not in
/// the store: its writes fail on both backends, and must fail the same way
/// (one operation, one error mapping). SQLite answers with its raw foreign
/// key error (`Database`, exit 1 from the command line); PostgreSQL with
/// `InvalidInput` ("the server refused the write", exit 4).
#[test]
fn a_write_within_an_unknown_invocation_fails_alike_on_both_backends() {
    let kinds: Vec<(Backend, vibe_store::ErrorKind, String)> = [Backend::Sqlite, Backend::Postgres]
        .into_iter()
        .map(|backend| {
            let store = TestStore::open(backend);
            let mission = store
                .create_mission(Phase::Coding, Json::from(json!({})))
                .unwrap();
            let inner = store.within_invocation(vibe_store::ToolCallId::from(999_999));
            let err = inner
                .log_tool_call(&mission, NewToolCall::success("t", json!({})))
                .expect_err("no such invocation");
            (backend, err.kind(), err.to_string())
        })
        .collect();
    assert_eq!(kinds[0].1, kinds[1].1, "{kinds:#?}");
}
