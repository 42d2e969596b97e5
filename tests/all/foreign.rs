//! Rows other programs write: times in their own spellings, and text that
//! is not a time at all. Every filter, order, page and prune compares the
//! instant a stored time names, on both backends (docs/guarantees.md,
//! "Rows other programs write").

use chrono::{DateTime, Duration, Timelike, Utc};
use serde_json::json;
use vibe_store::store::{MissionFilter, PruneFilter, Timestamp, ToolCallFilter};
use vibe_store::{Json, MissionId, MissionStatus, MissionStore, NewToolCall, Phase};

use crate::common::backends::{Backend, TestStore};
use crate::common::{vibe_db, vibe_ok};
use crate::on_both_backends;

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

/// A mission row as another program writes it: its own uuid and stamp.
fn foreign_mission(store: &TestStore, uuid: &str, created_at: &str) {
    store.exec(&format!(
        "INSERT INTO missions (mission_uuid, phase, status, created_at)
         VALUES ('{uuid}', 'CODING', 'completed', '{created_at}')"
    ));
}

fn foreign_call(store: &TestStore, mission: &str, tool: &str, timestamp: &str) {
    store.exec(&format!(
        "INSERT INTO tool_calls (mission_id, tool_name, args, timestamp, success)
         VALUES ((SELECT id FROM missions WHERE mission_uuid = '{mission}'),
                 '{tool}', '{{}}', '{timestamp}', TRUE)"
    ));
}

/// A mission of ours with `calls` tool calls (`ok`, args 0, 1, ...).
fn mission_with_calls(store: &TestStore, calls: i64) -> MissionId {
    let m = store
        .create_mission(Phase::Coding, Json::from(json!({})))
        .unwrap();
    for i in 0..calls {
        store
            .log_tool_call(&m, NewToolCall::success("ok", json!(i)))
            .unwrap();
    }
    m
}

/// Another program's connection to a SQLite store, with the schema's CHECK
/// constraints set aside, as a careless writer sets them.
fn unchecked_writer(store: &TestStore) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(&store.location).unwrap();
    conn.pragma_update(None, "ignore_check_constraints", true)
        .unwrap();
    conn
}

fn uuids(missions: &[vibe_store::Mission]) -> Vec<String> {
    missions
        .iter()
        .map(|m| m.mission_uuid.to_string())
        .collect()
}

/// Each spelling, its instant as the store reads it, and where it falls:
/// before or after 2026-06-01T00:00:01Z.
const SPELLINGS: &[(&str, &str)] = &[
    ("space", "2026-06-01 23:59:59"),
    ("python", "2026-06-01T00:00:00.25"),
    ("offset", "2026-06-01T01:00:00+02:00"),
    ("postgres", "2026-06-01 00:00:00.5+00"),
    ("basic-offset", "2026-05-31T17:30:00-0500"),
    ("ours", "2026-05-31T23:59:59.000000Z"),
    ("date", "2026-06-02"),
    ("minutes", "2026-06-01T00:01"),
];

fn insert_spellings(store: &TestStore) {
    for (uuid, created_at) in SPELLINGS {
        foreign_mission(store, uuid, created_at);
    }
    foreign_mission(store, "not-a-time", "yesterday");
}

/// Filters and the newest-first order compare instants: a mission stamped
/// `2026-06-01 23:59:59` is after `2026-06-01T00:00:01Z` though its text
/// sorts before it, and text that is not a time matches no time filter.
fn mission_filters_and_order_compare_instants(backend: Backend) {
    let store = TestStore::open(backend);
    insert_spellings(&store);
    let cut = at("2026-06-01T00:00:01Z");

    let mut before = MissionFilter::newest(100);
    before.until = Some(cut);
    let mut found = uuids(&store.find_missions(&before).unwrap());
    found.sort();
    assert_eq!(
        found,
        ["basic-offset", "offset", "ours", "postgres", "python"]
    );

    let mut after = MissionFilter::newest(100);
    after.since = Some(cut);
    let mut found = uuids(&store.find_missions(&after).unwrap());
    found.sort();
    assert_eq!(found, ["date", "minutes", "space"]);

    // No filter: every mission, newest instant first, the one that is not a
    // time last (it sorts before every time), and its text kept as written.
    let all = store.find_missions(&MissionFilter::newest(100)).unwrap();
    assert_eq!(
        uuids(&all),
        [
            "date",
            "space",
            "minutes",
            "postgres",
            "python",
            "ours",
            "offset",
            "basic-offset",
            "not-a-time"
        ]
    );
    assert_eq!(
        all.last().unwrap().created_at,
        Timestamp::NotATime("yesterday".into())
    );
    assert_eq!(all[0].created_at, at("2026-06-02T00:00:00Z"));

    // Pages of one, keyed by the last mission seen, give the same order.
    let mut paged = Vec::new();
    let mut page = MissionFilter::newest(1);
    loop {
        let got = store.find_missions(&page).unwrap();
        let Some(last) = got.last() else { break };
        page.before_id = Some(last.id);
        paged.extend(uuids(&got));
        assert!(paged.len() <= all.len(), "paging repeats: {paged:?}");
    }
    assert_eq!(paged, uuids(&all));
}

/// Prune by age deletes what is older by instant, nothing younger, and
/// never a mission whose age is unknown: that one is reported as skipped.
fn prune_compares_instants_and_skips_what_is_not_a_time(backend: Backend) {
    let store = TestStore::open(backend);
    insert_spellings(&store);
    let filter = PruneFilter::new(at("2026-06-01T00:00:01Z"), vec![MissionStatus::Completed]);
    let mut pruned = Vec::new();
    let summary = store
        .prune(&filter, false, &mut |m| {
            pruned.push(m.mission_uuid.to_string())
        })
        .unwrap();
    pruned.sort();
    assert_eq!(
        pruned,
        ["basic-offset", "offset", "ours", "postgres", "python"]
    );
    assert_eq!(summary.pruned, 5);
    assert_eq!(summary.skipped.len(), 1, "{summary:?}");
    let skipped = &summary.skipped[0];
    assert_eq!(
        (
            skipped.mission_uuid.as_str(),
            skipped.table.as_deref(),
            skipped.column.as_deref()
        ),
        ("not-a-time", Some("missions"), Some("created_at"))
    );
    assert!(skipped.reason.contains("\"yesterday\""), "{skipped}");
    let mut left = uuids(&store.find_missions(&MissionFilter::newest(100)).unwrap());
    left.sort();
    assert_eq!(left, ["date", "minutes", "not-a-time", "space"]);
}

/// Tool calls list in the order they were recorded (id), which is also the
/// page key, so pages neither repeat nor skip whatever the stamps say; the
/// time filters select by instant; stats name the first and last instant.
fn tool_call_pages_follow_their_order_and_filters_compare_instants(backend: Backend) {
    let store = TestStore::open(backend);
    let m = store
        .create_mission(Phase::Coding, Json::from(json!({})))
        .unwrap();
    // Ours first (now), then another program's rows, older and in odd
    // spellings, with higher ids.
    store
        .log_tool_call(&m, NewToolCall::success("ours", json!(1)))
        .unwrap();
    for (tool, stamp) in [
        ("space", "2026-06-01 23:59:59"),
        ("postgres", "2026-06-01 00:00:00.5+00"),
        ("python", "2026-06-01T00:00:00.25"),
        ("junk", "last tuesday"),
        ("offset", "2026-06-02T01:00:00+02:00"),
    ] {
        foreign_call(&store, m.as_str(), tool, stamp);
    }
    let names = |filter: &ToolCallFilter| {
        let mut names = Vec::new();
        store
            .find_tool_calls(filter, &mut |c| {
                names.push(c.tool_name);
                Ok(())
            })
            .unwrap();
        names
    };
    let all = names(&ToolCallFilter::mission(m.clone()));
    assert_eq!(
        all,
        ["ours", "space", "postgres", "python", "junk", "offset"]
    );

    let mut paged = Vec::new();
    let mut page = ToolCallFilter::mission(m.clone());
    page.limit = Some(2);
    loop {
        let mut got = Vec::new();
        store
            .find_tool_calls(&page, &mut |c| {
                got.push(c);
                Ok(())
            })
            .unwrap();
        let Some(last) = got.last() else { break };
        page.after_id = Some(last.id.get());
        paged.extend(got.into_iter().map(|c| c.tool_name));
    }
    assert_eq!(paged, all);

    let mut day = ToolCallFilter::mission(m.clone());
    day.since = Some(at("2026-06-01T00:00:00.3Z"));
    day.until = Some(at("2026-06-02T00:00:00Z"));
    assert_eq!(names(&day), ["space", "postgres", "offset"]);
    let mut until_only = ToolCallFilter::default();
    until_only.until = Some(at("2026-06-01T00:00:00.3Z"));
    assert_eq!(names(&until_only), ["python"]);

    let stats = store.tool_stats(Some(&m)).unwrap();
    let junk = stats.iter().find(|s| s.tool_name == "junk").unwrap();
    assert_eq!((junk.calls, junk.first.clone()), (1, None));
    let space = stats.iter().find(|s| s.tool_name == "space").unwrap();
    assert_eq!(space.first, Some(at("2026-06-01T23:59:59Z").into()));
}

/// Each spelling names the same instant on both backends as the library
/// reads it: a window of one millisecond around it (SQLite's precision)
/// finds exactly that mission; text outside the grammar is in no window.
fn every_spelling_names_the_same_instant_in_the_database(backend: Backend) {
    let store = TestStore::open(backend);
    let spellings = [
        "2026-11-30 09:35:01",
        "2026-11-30T09:35:02.828406",
        "2026-11-30T09:35:03.828+00:00",
        "2026-11-30T09:35:04.828406+02:00",
        "2026-11-30 09:35:05.828406+00",
        "2026-11-30 09:35:06.828406-05",
        "2026-11-30T09:35:07+0530",
        "2026-11-30T09:35:08.5 Z",
        "2026-11-30T09:36z",
        "2026-11-30",
        "2024-02-29T12:00:00Z",
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:59Z",
        "2020-01-01T00:00:00.9999999Z",
        "2026-11-30T09:35:01.1234+0545",
        "2026-11-30T09:35:01 +05",
        "9999-12-31T23:59:59.9979999",
        "2021-01-01T00:00:00.99999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999Z",
    ];
    let not_times = [
        "yesterday",
        "now",
        "1764495000",
        "2026-02-30",
        "2026-11-31T00:00:00Z",
        "2026-11-30T24:00:00",
        "2026-11-30T23:59:60",
        "2026-11-30T09:35:01+15:00",
        "2026-11-30Z",
        "2026-11-30TT09:35",
        "0000-01-01",
        "",
        "2023-02-29",
        "2020-01-01T00:00:00Z ",
        "2020-01-01T00:00:00\t",
        "2020-01-01T00:00:00 \tZ",
        "2020-01-01T00:00:00\n",
        "9999-12-31T23:59-14:00",
        "0001-01-01T00:00+14:00",
    ];
    for (i, text) in spellings.iter().chain(&not_times).enumerate() {
        foreign_mission(&store, &format!("m{i}"), text);
    }
    for (i, text) in spellings.iter().enumerate() {
        let instant = Timestamp::from_stored(text)
            .instant()
            .unwrap_or_else(|| panic!("{text} is a time"));
        let ms = instant.timestamp_subsec_millis();
        let from = instant.with_nanosecond(ms * 1_000_000).unwrap();
        let mut window = MissionFilter::newest(100);
        window.since = Some(from);
        window.until = Some(from + Duration::milliseconds(1));
        assert_eq!(
            uuids(&store.find_missions(&window).unwrap()),
            [format!("m{i}")],
            "{text} on {backend:?}"
        );
    }
    let mut everything = MissionFilter::newest(100);
    everything.since = Some(at("0001-01-01T00:00:00Z"));
    let times = store.find_missions(&everything).unwrap();
    assert_eq!(times.len(), spellings.len(), "{:?}", uuids(&times));
    let all = store.find_missions(&MissionFilter::newest(100)).unwrap();
    for m in &all[spellings.len()..] {
        assert!(m.created_at.instant().is_none(), "{m:?}");
    }
}

/// The command line: `vibe prune --before 1h` keeps a mission another
/// program stamped a minute ago with a space, and says which mission it
/// could not judge (exit 6); `mission list --since` finds it.
fn operator_commands_read_foreign_stamps_as_instants(backend: Backend) {
    let store = TestStore::open(backend);
    let minute_ago = (Utc::now() - Duration::minutes(1))
        .format("%Y-%m-%d %H:%M:%S")
        .to_string();
    foreign_mission(&store, "recent", &minute_ago);
    foreign_mission(&store, "old", "2020-01-01 00:00:00+00");
    foreign_mission(&store, "odd", "soon");
    let dir = store.dir.path();
    let db = &store.location;

    let listed = vibe_ok(dir, db, &["mission", "list", "--since", "10m"]);
    assert!(listed.contains("recent") && !listed.contains("old") && !listed.contains("odd"));
    let exported = vibe_ok(dir, db, &["export", "--since", "10m"]);
    assert_eq!(exported.lines().count(), 1, "{exported}");
    assert!(exported.contains("\"recent\""), "{exported}");
    let everything = vibe_ok(dir, db, &["export"]);
    assert_eq!(everything.lines().count(), 3, "{everything}");

    let out = vibe_db(dir, db)
        .args(["prune", "--before", "1h", "--status", "completed"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(6), "{stderr}");
    assert!(
        stderr.contains("mission odd") && stderr.contains("\"soon\""),
        "{stderr}"
    );
    let left = vibe_ok(dir, db, &["mission", "list"]);
    assert!(
        left.contains("recent") && left.contains("odd") && !left.contains("old"),
        "{left}"
    );
    assert!(left.contains("\"soon\" (not a time)"), "{left}");
}

on_both_backends!(
    mission_filters_and_order_compare_instants,
    prune_compares_instants_and_skips_what_is_not_a_time,
    tool_call_pages_follow_their_order_and_filters_compare_instants,
    every_spelling_names_the_same_instant_in_the_database,
    operator_commands_read_foreign_stamps_as_instants,
    provenance_across_missions_survives_copies_and_prunes,
    repointing_a_rows_invocation_is_an_edit,
    a_write_onto_a_ledger_another_program_left_malformed_is_refused_after_a_write_of_ours,
    no_write_takes_a_chain_position_past_the_range,
);

/// `vibe copy` to PostgreSQL goes past a mission holding a row another
/// program wrote that PostgreSQL refuses (`NaN` in a JSON column), names
/// it (mission, table, row, column), copies every other mission, and ends
/// with exit 6; running it again finishes nothing more and says the same.
#[test]
fn copy_goes_past_a_mission_it_cannot_copy_and_names_it() {
    let source = TestStore::open(Backend::Sqlite);
    let dest = TestStore::open(Backend::Postgres);
    let missions: Vec<_> = (0..3)
        .map(|i| {
            let m = source
                .create_mission(Phase::Coding, Json::from(json!({ "i": i })))
                .unwrap();
            source
                .log_tool_call(&m, NewToolCall::success("ok", json!(i)))
                .unwrap();
            m
        })
        .collect();
    let conn = unchecked_writer(&source);
    conn.execute(
        "INSERT INTO tool_calls (mission_id, tool_name, args, timestamp, success)
         VALUES ((SELECT id FROM missions WHERE mission_uuid = ?1), 'odd', 'NaN',
                 '2026-11-30 09:35:01', 1)",
        [missions[1].as_str()],
    )
    .unwrap();
    drop(conn);

    for run in 0..2 {
        let out = vibe_db(source.dir.path(), &source.location)
            .args(["copy", "--from", &source.location, "--to", &dest.location])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(6), "run {run}: {stderr}");
        assert!(
            stderr.contains(&format!("mission {}", missions[1]))
                && stderr.contains("tool_calls row 2")
                && stderr.contains("args"),
            "run {run}: {stderr}"
        );
        assert!(!stderr.contains(missions[0].as_str()) && !stderr.contains(missions[2].as_str()));
        let stdout = String::from_utf8_lossy(&out.stdout);
        let expected = if run == 0 {
            "copied 2 missions"
        } else {
            "copied 0 missions"
        };
        assert!(stdout.contains(expected), "run {run}: {stdout}");
    }
    assert_eq!(dest.count("SELECT COUNT(*) FROM missions"), 2);
    for m in [&missions[0], &missions[2]] {
        assert_eq!(dest.get_tool_history(m).unwrap().len(), 1);
    }
    assert!(dest.get_mission(&missions[1]).is_err());
}

/// `vibe backup` of a file holding rows another program wrote past the
/// schema's CHECK constraints is a faithful copy: it succeeds, names each
/// such row on stderr as a warning, and the copy holds them as they are.
#[test]
fn backup_copies_rows_that_break_a_constraint_faithfully_and_names_them() {
    let source = TestStore::open(Backend::Sqlite);
    mission_with_calls(&source, 50);
    let conn = unchecked_writer(&source);
    conn.execute_batch(
        "UPDATE tool_calls SET success = 7 WHERE id IN (3, 41);
         UPDATE row_chain SET row_table = 'bogus' WHERE mission_id = 1 AND seq = 2;
         INSERT INTO missions (mission_uuid, phase, status, created_at)
         VALUES ('foreign', 'HACKED', 'pending', '2026-11-30 09:35:01');",
    )
    .unwrap();
    let foreign: i64 = conn
        .query_row(
            "SELECT id FROM missions WHERE mission_uuid = 'foreign'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    drop(conn);

    let dest = source.dir.path().join("copy.db");
    let out = vibe_db(source.dir.path(), &source.location)
        .args(["backup", dest.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    for row in [
        "tool_calls #3 ",
        "tool_calls #41 ",
        &format!("missions #{foreign} "),
        "row_chain mission_id 1, seq 2 ",
    ] {
        assert!(stderr.contains(row), "{row} in {stderr}");
    }
    assert_eq!(stderr.lines().count(), 4, "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("rows that break constraints"));
    let copy = rusqlite::Connection::open(&dest).unwrap();
    let odd: i64 = copy
        .query_row(
            "SELECT COUNT(*) FROM tool_calls WHERE success = 7",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let calls: i64 = copy
        .query_row("SELECT COUNT(*) FROM tool_calls", [], |r| r.get(0))
        .unwrap();
    assert_eq!((odd, calls), (2, 50));
}

/// A mission a tool created from another mission (B, created by an
/// invocation in A), with rows that tool wrote into it: its trail verifies
/// in the original, after an export and import of everything, of B alone,
/// after `vibe copy` to the other backend, and after A is pruned; its rows
/// keep their origin wherever the invocation is present.
fn provenance_across_missions_survives_copies_and_prunes(backend: Backend) {
    let store = TestStore::open(backend);
    let a = store
        .create_mission(Phase::Coding, Json::from(json!({ "role": "parent" })))
        .unwrap();
    let invocation = store
        .log_tool_call(&a, NewToolCall::success("spawner", json!({})))
        .unwrap();
    let tool = store.within_invocation(invocation);
    let b = tool
        .create_mission(Phase::Testing, Json::from(json!({ "role": "child" })))
        .unwrap();
    tool.log_tool_call(&b, NewToolCall::success("step", json!(1)))
        .unwrap();
    tool.record_decision(&b, vibe_store::NewDecision::new("go", "because", "tool"))
        .unwrap();
    tool.set_memory(&b, "k", Json::from(json!("v")), None)
        .unwrap();
    store
        .update_mission_status(&a, MissionStatus::Completed)
        .unwrap();

    let intact = |s: &vibe_store::AnyStore, m: &vibe_store::MissionId, when: &str| {
        let report = s.verify_chain(m).unwrap();
        assert!(report.intact(), "{when}: {report:?}");
        assert!(report.checked >= 1, "{when}: {report:?}");
    };
    intact(&store, &a, "original");
    intact(&store, &b, "original");

    let mut lines = Vec::new();
    store
        .export_jsonl(&Default::default(), &mut |_, line, _| {
            lines.push(line);
            Ok(())
        })
        .unwrap();
    let b_line = lines
        .iter()
        .find(|l| l.contains("\"child\""))
        .unwrap()
        .clone();

    // Everything, as one file, into a fresh store of the same kind: B's
    // rows keep their origin, the invocation in A.
    let all = TestStore::open(backend);
    let mut file = vibe_store::store::ImportScope::default();
    for line in &lines {
        all.import_jsonl_in(line, &mut file).unwrap();
    }
    intact(&all, &a, "imported");
    intact(&all, &b, "imported");
    let calls = all.get_tool_history(&b).unwrap();
    assert_eq!(calls[0].invoked_by.as_deref(), Some("spawner"), "{calls:?}");
    assert!(all.get_mission(&b).unwrap().invocation_id.is_some());

    // B alone, then the whole file: B verifies without A, and is linked
    // when A arrives.
    let alone = TestStore::open(backend);
    alone.import_jsonl(&b_line).unwrap();
    intact(&alone, &b, "B alone");
    let mut file = vibe_store::store::ImportScope::default();
    for line in &lines {
        alone.import_jsonl_in(line, &mut file).unwrap();
    }
    intact(&alone, &b, "B, then A");
    let calls = alone.get_tool_history(&b).unwrap();
    assert_eq!(calls[0].invoked_by.as_deref(), Some("spawner"), "{calls:?}");
    assert!(alone.get_mission(&b).unwrap().invocation_id.is_some());

    // `vibe copy` to the other backend.
    let other = TestStore::open(match backend {
        Backend::Sqlite => Backend::Postgres,
        Backend::Postgres => Backend::Sqlite,
    });
    store.copy_to(&other, &mut |_, _, _| Ok(())).unwrap();
    intact(&other, &a, "copied");
    intact(&other, &b, "copied");

    // Pruning A leaves B's trail whole.
    let filter = PruneFilter::new(
        Utc::now() + Duration::hours(1),
        vec![MissionStatus::Completed],
    );
    let summary = store.prune(&filter, false, &mut |_| {}).unwrap();
    assert_eq!(summary.pruned, 1);
    intact(&store, &b, "parent pruned");
}

/// Another program writing the file with an older SQLite (Debian's 3.40,
/// through Python's sqlite3) keeps the instant indexes exactly as vibe's
/// SQLite builds them: the file stays healthy (`integrity_check` in both),
/// `vibe backup` copies it without a finding, and the time filters read
/// what that program wrote as vibe shows it (`2023-02-29` is not a time).
#[test]
fn an_older_sqlite_writing_the_file_keeps_the_instant_indexes() {
    let store = TestStore::open(Backend::Sqlite);
    let m = store
        .create_mission(Phase::Coding, Json::from(json!({})))
        .unwrap();
    store
        .log_tool_call(&m, NewToolCall::success("ours", json!(1)))
        .unwrap();
    let script = r#"
import sqlite3, sys
print(sqlite3.sqlite_version, file=sys.stderr)
c = sqlite3.connect(sys.argv[1])
c.execute("UPDATE missions SET created_at = '2023-02-29T12:00:00Z'")
for stamp in ['2023-02-29', '2020-01-01T00:00:00Z ', '2026-11-30 09:35:01.828406+00',
              '2020-01-01T00:00:00.' + '9' * 200 + 'Z', '2026-11-30T09:35:01.5 Z']:
    c.execute("INSERT INTO tool_calls (mission_id, tool_name, args, timestamp, success) "
              "VALUES (1, 'theirs', '{}', ?, 1)", (stamp,))
c.commit()
print(c.execute("PRAGMA integrity_check").fetchone()[0])
"#;
    let out = std::process::Command::new("python3")
        .args(["-c", script, &store.location])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout.trim(), "ok");

    let dir = store.dir.path();
    let copy = dir.join("copy.db");
    let backup = vibe_db(dir, &store.location)
        .args(["backup", copy.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        backup.status.success(),
        "{}",
        String::from_utf8_lossy(&backup.stderr)
    );
    assert!(
        backup.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&backup.stderr)
    );

    let listed = vibe_ok(
        dir,
        &store.location,
        &[
            "mission",
            "list",
            "--since",
            "2023-01-01",
            "--until",
            "2024-01-01",
        ],
    );
    assert!(!listed.contains(m.as_str()), "{listed}");
    let mut all = ToolCallFilter::default();
    all.since = Some(at("2026-11-30T09:35:01.6Z"));
    let mut after = Vec::new();
    store
        .find_tool_calls(&all, &mut |c| {
            after.push(c.timestamp.to_string());
            Ok(())
        })
        .unwrap();
    assert_eq!(after.len(), 2, "{after:?}");
}

/// A value an export cannot carry as it is (an infinite REAL another
/// program stored as a duration, bytes that are not UTF-8) is never turned
/// into something else: `vibe export` and `vibe copy` go past that mission,
/// name it, and exit 6; the other missions are exported whole.
#[test]
fn an_export_never_changes_a_value_it_cannot_carry() {
    let store = TestStore::open(Backend::Sqlite);
    let missions: Vec<_> = (0..3)
        .map(|_| {
            let m = store
                .create_mission(Phase::Coding, Json::from(json!({})))
                .unwrap();
            store
                .log_tool_call(&m, NewToolCall::success("ok", json!(1)))
                .unwrap();
            m
        })
        .collect();
    let conn = rusqlite::Connection::open(&store.location).unwrap();
    conn.execute(
        "UPDATE tool_calls SET duration_ms = 9e999 WHERE mission_id = 1",
        [],
    )
    .unwrap();
    conn.execute(
        "UPDATE tool_calls SET error_message = x'ff00fe' WHERE mission_id = 2",
        [],
    )
    .unwrap();
    drop(conn);
    let out = vibe_db(store.dir.path(), &store.location)
        .arg("export")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(6), "{stderr}");
    assert!(
        stderr.contains(missions[0].as_str()) && stderr.contains("duration_ms"),
        "{stderr}"
    );
    assert!(
        stderr.contains(missions[1].as_str()) && stderr.contains("error_message"),
        "{stderr}"
    );
    let lines = String::from_utf8_lossy(&out.stdout).lines().count();
    assert_eq!(lines, 1);
    let dest = TestStore::open(Backend::Sqlite);
    let copied = vibe_db(store.dir.path(), &store.location)
        .args(["copy", "--from", &store.location, "--to", &dest.location])
        .output()
        .unwrap();
    assert_eq!(copied.status.code(), Some(6));
    assert_eq!(dest.count("SELECT COUNT(*) FROM missions"), 1);

    // A row whose mission is gone is named, not dropped in silence.
    let conn = rusqlite::Connection::open(&store.location).unwrap();
    conn.execute_batch(
        "PRAGMA foreign_keys = OFF;
         INSERT INTO tool_calls (mission_id, tool_name, args, timestamp, success)
         VALUES (999, 'orphan', '{}', '2026-11-30 09:35:01', 1);",
    )
    .unwrap();
    drop(conn);
    let out = vibe_db(store.dir.path(), &store.location)
        .arg("export")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(6), "{stderr}");
    assert!(
        stderr.contains("#999 (no such mission), tool_calls #"),
        "{stderr}"
    );
}

/// A line cannot attach its rows to an invocation that is merely in the
/// database it is imported into: the identity it names is kept (the chain
/// covers it) but linked only when the file carries that mission.
#[test]
fn an_identity_naming_an_invocation_the_file_does_not_carry_is_not_linked() {
    let source = TestStore::open(Backend::Sqlite);
    let a = source
        .create_mission(Phase::Coding, Json::from(json!({})))
        .unwrap();
    let invocation = source
        .log_tool_call(&a, NewToolCall::success("spawner", json!({})))
        .unwrap();
    let b = source
        .within_invocation(invocation)
        .create_mission(Phase::Testing, Json::from(json!({ "child": true })))
        .unwrap();
    let mut lines = Vec::new();
    source
        .export_jsonl(&Default::default(), &mut |_, line, _| {
            lines.push(line);
            Ok(())
        })
        .unwrap();
    // The destination already holds A (from elsewhere); a file carrying
    // only B does not get B linked to it.
    let dest = TestStore::open(Backend::Sqlite);
    dest.import_jsonl(&lines[0]).unwrap();
    dest.import_jsonl(&lines[1]).unwrap();
    assert_eq!(dest.get_mission(&b).unwrap().invocation_id, None);
    assert!(dest.verify_chain(&b).unwrap().intact());
}

/// A listing over a row another program stored with a value its type
/// cannot take (text in `duration_ms`, `success` = 'yes') shows every other
/// row, names the ones it went past (mission, table, row, column), and
/// exits 6; the library delivers the same rows and then says which it
/// could not read.
#[test]
fn a_listing_goes_past_a_row_it_cannot_read_and_names_it() {
    let store = TestStore::open(Backend::Sqlite);
    let m = mission_with_calls(&store, 5);
    let conn = unchecked_writer(&store);
    conn.execute_batch(
        "UPDATE tool_calls SET duration_ms = 'abc' WHERE id = 2;
         UPDATE tool_calls SET success = 'yes' WHERE id = 4;",
    )
    .unwrap();
    drop(conn);

    let mut seen = Vec::new();
    let err = store
        .find_tool_calls(&ToolCallFilter::mission(m.clone()), &mut |c| {
            seen.push(c.id.get());
            Ok(())
        })
        .unwrap_err();
    assert_eq!(seen, [1, 3, 5]);
    let vibe_store::StoreError::Unreadable(rows) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(
        rows[0].to_string().contains("tool_calls #2")
            && rows[0].to_string().contains("duration_ms")
    );

    let out = vibe_db(store.dir.path(), &store.location)
        .args(["tools", m.as_str()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(6), "{stderr}");
    let listed: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().next().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(listed, ["1", "3", "5"]);
    assert!(
        stderr.contains("tool_calls #2") && stderr.contains("tool_calls #4"),
        "{stderr}"
    );
}

/// Pointing a row's `invocation_id` at another real invocation (one the
/// row does not record, by mission and chain position) is an edit `verify`
/// reports, on both backends; so is an import line whose invocation
/// position and recorded identity disagree, which is refused.
fn repointing_a_rows_invocation_is_an_edit(backend: Backend) {
    let store = TestStore::open(backend);
    let a = store
        .create_mission(Phase::Coding, Json::from(json!({})))
        .unwrap();
    let first = store
        .log_tool_call(&a, NewToolCall::success("forger", json!({})))
        .unwrap();
    let second = store
        .log_tool_call(&a, NewToolCall::success("impostor", json!({})))
        .unwrap();
    store
        .within_invocation(first)
        .record_decision(&a, vibe_store::NewDecision::new("go", "because", "forger"))
        .unwrap();
    assert!(store.verify_chain(&a).unwrap().intact());
    let mut line = String::new();
    store
        .export_jsonl(&Default::default(), &mut |_, l, _| {
            line = l;
            Ok(())
        })
        .unwrap();
    store.exec(&format!(
        "UPDATE decisions SET invocation_id = {} WHERE invocation_id = {}",
        second.get(),
        first.get()
    ));
    let report = store.verify_chain(&a).unwrap();
    assert!(!report.intact(), "{report:?}");
    assert_eq!(report.edited.len(), 1, "{report:?}");

    // The same forgery in an export line: position 1 (the impostor) with
    // the identity of the forger's call.
    let forged = line.replacen("\"invocation\":0", "\"invocation\":1", 1);
    assert_ne!(forged, line);
    let dest = TestStore::open(backend);
    let err = dest.import_jsonl(&forged).unwrap_err();
    assert!(
        err.to_string().contains("invocation 1 is tool call"),
        "{err}"
    );
    assert_eq!(dest.count("SELECT COUNT(*) FROM missions"), 0);
}

/// A write onto a ledger whose last entry another program left with a
/// position that is not a number is refused as malformed (exit 4 from the
/// command line), never an internal error; nothing is written.
#[test]
fn a_write_onto_a_ledger_with_a_position_that_is_not_a_number_is_refused() {
    let store = TestStore::open(Backend::Sqlite);
    let m = mission_with_calls(&store, 1);
    let conn = unchecked_writer(&store);
    conn.execute("UPDATE row_chain SET seq = 'abc' WHERE seq = 2", [])
        .unwrap();
    drop(conn);
    let out = vibe_db(store.dir.path(), &store.location)
        .args(["log", m.as_str(), "--tool", "t", "--args", "{}"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(
        stderr.contains("malformed") && !stderr.contains("internal"),
        "{stderr}"
    );
    assert_eq!(store.count("SELECT COUNT(*) FROM tool_calls"), 1);
}

/// OTLP names times in nanoseconds since 1970 in 64 unsigned bits (to
/// 2262-04-11): a span whose times lie outside is placed where OTLP can
/// name it, never ends before it starts, and says so in `vibe.warning`.
#[test]
fn otlp_spans_never_end_before_they_start_and_say_what_they_could_not_name() {
    let store = TestStore::open(Backend::Sqlite);
    let m = store
        .create_mission(Phase::Coding, Json::from(json!({})))
        .unwrap();
    for _ in 0..3 {
        store
            .log_tool_call(&m, NewToolCall::success("ok", json!(1)))
            .unwrap();
    }
    store.exec(
        "UPDATE tool_calls SET timestamp = '2262-04-11T23:47:16.854775Z', duration_ms = 31536000000 WHERE id = 1;
         UPDATE tool_calls SET timestamp = '1900-01-01T00:00:00Z' WHERE id = 2;",
    );
    let out = vibe_ok(
        store.dir.path(),
        &store.location,
        &["export", "--format", "otlp"],
    );
    let request: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let spans = request["resourceSpans"][0]["scopeSpans"][0]["spans"]
        .as_array()
        .unwrap();
    let mut warned = 0;
    for span in spans {
        let start: u64 = span["startTimeUnixNano"].as_str().unwrap().parse().unwrap();
        let end: u64 = span["endTimeUnixNano"].as_str().unwrap().parse().unwrap();
        assert!(end >= start, "{span}");
        if span.to_string().contains("vibe.warning") {
            warned += 1;
        }
    }
    // The two tool calls whose times OTLP cannot name, and the mission
    // whose last row (the far one) lies past 2262.
    assert!(warned >= 2, "{spans:#?}");
}

/// A ledger another program left ending in an entry a write must not chain
/// onto (a position past the range, or a hash that is not hex) refuses the
/// next write and says why, whether or not the store wrote to that mission
/// just before (on PostgreSQL it then knows the head its own write left,
/// which is no longer the chain's last entry).
fn a_write_onto_a_ledger_another_program_left_malformed_is_refused_after_a_write_of_ours(
    backend: Backend,
) {
    let tampering = [
        // a position past MAX_CHAIN_SEQ, as extreme_values stores one
        "9223372036854775807, 'tool_calls', 1, NULL, 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'",
        // a hash of 64 characters that are not hex, after a gap
        "10, 'tool_calls', 1, NULL, 'zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz'",
    ];
    let store = TestStore::open(backend);
    for entry in tampering {
        let m = mission_with_calls(&store, 2);
        store.exec(&format!(
            "INSERT INTO row_chain (mission_id, seq, row_table, row_seq, row_digest, hash)
             VALUES ((SELECT id FROM missions WHERE mission_uuid = '{m}'), {entry})"
        ));
        let calls = store.count("SELECT COUNT(*) FROM tool_calls");
        let refused = store
            .log_tool_call(&m, NewToolCall::success("after", json!(1)))
            .expect_err(&format!("a write onto a ledger ending in ({entry})"));
        assert!(refused.to_string().contains("malformed"), "{refused}");
        assert_eq!(store.count("SELECT COUNT(*) FROM tool_calls"), calls);
    }
}

/// Chain positions run from 1 to `MAX_CHAIN_SEQ` (2^53 - 1, exact in every
/// JSON reader). Another program left a ledger at 2^53 - 2: one write takes
/// the last position, and the next is refused as malformed (the chain can
/// grow no further), also when the store knows the head its own write left.
fn no_write_takes_a_chain_position_past_the_range(backend: Backend) {
    const MAX_CHAIN_SEQ: i64 = (1 << 53) - 1;
    let store = TestStore::open(backend);
    let m = mission_with_calls(&store, 1);
    store.exec(&format!(
        "INSERT INTO row_chain (mission_id, seq, row_table, row_seq, row_digest, hash)
         VALUES ((SELECT id FROM missions WHERE mission_uuid = '{m}'), {}, 'tool_calls', 1,
                 NULL, 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa')",
        MAX_CHAIN_SEQ - 1
    ));
    store
        .log_tool_call(&m, NewToolCall::success("last", json!(1)))
        .unwrap();
    let past = store.log_tool_call(&m, NewToolCall::success("past", json!(2)));
    assert!(
        past.as_ref()
            .is_err_and(|e| e.to_string().contains("malformed")),
        "{past:?}"
    );
    assert_eq!(
        store.count("SELECT MAX(seq) FROM row_chain"),
        MAX_CHAIN_SEQ,
        "a ledger position past the range"
    );
}
