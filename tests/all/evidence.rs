//! Tamper evidence (`vibe verify`, chain heads in exports) and the
//! OpenTelemetry export, through the `vibe` binary, against tampering done
//! as another program would do it: plain SQL on the file.

use std::path::Path;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::trace::v1::{status::StatusCode, Span};
use serde_json::Value;

use crate::common::backends::Backend;
use crate::common::trail::{full_trail, full_trail_on, trail};
use crate::common::{count, text, vibe_db, vibe_ok};

/// `vibe verify ARGS...`: exit code and stdout.
fn verify(dir: &Path, db: impl AsRef<std::ffi::OsStr>, args: &[&str]) -> (Option<i32>, String) {
    let out = vibe_db(dir, db).arg("verify").args(args).output().unwrap();
    assert!(
        out.stderr.is_empty() || out.status.code() != Some(0),
        "{}",
        text(&out.stderr)
    );
    (out.status.code(), text(&out.stdout))
}

/// Runs statements on the file as another program would: its own
/// connection, foreign keys off (SQLite's default), no vibe-store code.
fn tamper(db: &Path, sql: &str) {
    rusqlite::Connection::open(db)
        .unwrap()
        .execute_batch(sql)
        .unwrap();
}

crate::on_both_backends!(
    every_row_vibe_store_writes_is_chained_and_verifies_intact,
    writers_on_heads_another_store_moved_chain_every_row,
    verify_names_each_edited_deleted_and_out_of_chain_row_and_counts_unchained_ones,
);

/// Two stores on one database (two hosts) and four threads each, writing
/// one mission at once: every row must land exactly once, in one unbroken
/// chain, whichever store moved the head last.
fn writers_on_heads_another_store_moved_chain_every_row(backend: Backend) {
    use std::sync::Arc;
    use vibe_store::store::{InvocationEnd, InvocationStart, Outcome};
    use vibe_store::{MissionStore, NewDecision, NewToolCall, OpenOptions, Phase};
    let store = crate::common::backends::TestStore::open(backend);
    let other = store.reopen(OpenOptions::default()).unwrap();
    let mission = Arc::new(
        store
            .create_mission(Phase::Coding, serde_json::json!({}).into())
            .unwrap(),
    );
    let stores: [Arc<dyn MissionStore>; 2] = [Arc::new(store.store.clone()), Arc::new(other)];
    const PER_THREAD: usize = 60;
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let (store, mission) = (stores[t % 2].clone(), mission.clone());
            std::thread::spawn(move || {
                for i in 0..PER_THREAD {
                    match i % 3 {
                        0 => {
                            store
                                .log_tool_call(
                                    &mission,
                                    NewToolCall::success(
                                        "t",
                                        serde_json::json!({ "t": t, "i": i }),
                                    ),
                                )
                                .unwrap();
                        }
                        1 => {
                            store
                                .record_decision(&mission, NewDecision::new("d", "r", "agent"))
                                .unwrap();
                        }
                        _ => {
                            let start = InvocationStart {
                                tool_name: "tool".into(),
                                input: serde_json::json!({ "i": i }).into(),
                                component: None,
                                caller: None,
                            };
                            let id = store.begin_invocation(&mission, &start).unwrap();
                            let end = InvocationEnd {
                                outcome: Outcome::Ok,
                                result: Some(serde_json::json!(null).into()),
                                duration_ms: Some(1),
                                error_message: None,
                            };
                            store.end_invocation(id, &end).unwrap();
                        }
                    }
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let per_kind = (8 * PER_THREAD / 3) as i64;
    assert_eq!(store.count("SELECT COUNT(*) FROM tool_calls"), 2 * per_kind);
    assert_eq!(store.count("SELECT COUNT(*) FROM decisions"), per_kind);
    let report = store.verify_chain(&mission).unwrap();
    assert!(report.intact(), "{report:?}");
    // The mission's creation, each row once, and each invocation's end.
    assert_eq!(report.length, 1 + 4 * per_kind);
    assert_eq!(report.checked, 1 + 3 * per_kind as u64);
}

fn every_row_vibe_store_writes_is_chained_and_verifies_intact(backend: Backend) {
    let (store, a, _b) = full_trail_on(backend);
    let (dir, path) = (&store.dir, &store.location);
    let tables = [
        "missions",
        "tool_calls",
        "decisions",
        "agent_memory",
        "playbook_runs",
    ];
    for table in tables {
        assert_eq!(
            store.count(&format!(
                "SELECT COUNT(*) FROM {table} WHERE chain_hash IS NULL"
            )),
            0,
            "{table}: every row vibe-store wrote carries a hash"
        );
    }
    let (code, out) = verify(dir.path(), path, &[]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.ends_with("verified 3 missions: 3 intact, 0 tampered\n"),
        "{out}"
    );
    // Every row checked, and one entry per write: the rows' own, plus the
    // invocation's end, the playbook run's completion, and the deleted
    // memory key's insert and deletion.
    let (code, out) = verify(dir.path(), path, &["--json", &a]);
    assert_eq!(code, Some(0));
    let report: Value = serde_json::from_str(out.trim()).unwrap();
    let rows: i64 = tables
        .iter()
        .map(|t| {
            let by = if *t == "missions" { "id" } else { "mission_id" };
            store.count(&format!("SELECT COUNT(*) FROM {t} WHERE {by} = 1"))
        })
        .sum();
    assert_eq!(report["checked"], rows);
    assert_eq!(report["unchained"], 0);
    assert_eq!(report["intact"], true);
    assert_eq!(report["length"], rows + 4);
    assert_eq!(
        report["head"],
        Value::from(
            store.text("SELECT hash FROM row_chain WHERE mission_id = 1 ORDER BY seq DESC LIMIT 1")
        )
    );
}

fn verify_names_each_edited_deleted_and_out_of_chain_row_and_counts_unchained_ones(
    backend: Backend,
) {
    let (store, a, b) = full_trail_on(backend);
    let (dir, path) = (&store.dir, &store.location);
    // As another program would: its own connection, no vibe-store code.
    store.exec(
        "UPDATE tool_calls SET result = '[2]' WHERE id = 1;
         DELETE FROM decisions WHERE id = 1;
         INSERT INTO tool_calls (mission_id, tool_name, args, timestamp, success, chain_seq, chain_hash)
             SELECT mission_id, tool_name, args, timestamp, success, chain_seq, chain_hash
             FROM tool_calls WHERE id = 3;
         INSERT INTO tool_calls (mission_id, tool_name, args, timestamp, success)
             VALUES (2, 'py', '{}', '2026-01-01 10:00:00', TRUE);",
    );
    let (code, out) = verify(dir.path(), path, &[]);
    assert_eq!(code, Some(5), "{out}");
    let lines: Vec<&str> = out.lines().collect();
    let block_a: Vec<&str> = lines
        .iter()
        .skip_while(|l| !l.starts_with(&format!("mission {a}")))
        .take(4)
        .copied()
        .collect();
    assert!(block_a[0].contains(": TAMPERED:"), "{out}");
    assert_eq!(
        block_a[1], "  edited: tool_calls #1 (chain position 2)",
        "{out}"
    );
    assert!(
        block_a[2].starts_with("  deleted: decisions at chain position "),
        "{out}"
    );
    assert!(
        block_a[3].starts_with("  out of chain: tool_calls #"),
        "{out}"
    );
    // A row another program wrote is not tampering: b stays intact.
    let line_b = lines
        .iter()
        .find(|l| l.starts_with(&format!("mission {b}")))
        .unwrap();
    assert!(
        line_b.contains(": intact:") && line_b.ends_with(", 1 unchained"),
        "{out}"
    );
    assert!(out.ends_with("verified 3 missions: 2 intact, 1 tampered; 1 rows unchained (written by other programs: not covered)\n"), "{out}");
    // The same, as JSON for scripts.
    let (code, out) = verify(dir.path(), path, &["--json", &a]);
    assert_eq!(code, Some(5));
    let report: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(report["intact"], false);
    assert_eq!(report["edited"][0]["id"], 1);
    assert_eq!(report["deleted"][0]["table"], "decisions");
    assert_eq!(report["out_of_chain"][0]["table"], "tool_calls");
    let (code, _) = verify(dir.path(), path, &[&b]);
    assert_eq!(code, Some(0), "one mission's tampering is not another's");
}

#[test]
fn a_ledger_entry_removed_or_altered_and_a_mission_deleted_outright_are_reported() {
    let (dir, path, a, b) = full_trail();
    tamper(
        &path,
        "DELETE FROM row_chain WHERE mission_id = 1 AND seq = 3;
         UPDATE row_chain
             SET hash = (CASE WHEN substr(hash, 1, 1) = '0' THEN '1' ELSE '0' END) || substr(hash, 2)
             WHERE mission_id = 2 AND seq = 2;
         DELETE FROM tool_calls WHERE mission_id = 3;
         DELETE FROM missions WHERE id = 3;",
    );
    let (code, out) = verify(dir.path(), &path, &[]);
    assert_eq!(code, Some(5), "{out}");
    assert!(out.contains(&format!("mission {a}: TAMPERED")), "{out}");
    assert!(out.contains("  deleted: chain entry 3\n"), "{out}");
    assert!(out.contains(&format!("mission {b}: TAMPERED")), "{out}");
    assert!(out.contains("  out of chain: chain entry 2\n"), "{out}");
    assert!(
        out.contains("mission row #3: DELETED: its chain of 1 entries remains"),
        "the mission the forger created, deleted outright: {out}"
    );
}

#[test]
fn a_chain_head_kept_with_an_export_catches_what_the_chain_alone_cannot() {
    let (dir, path, a, b) = trail();
    let export = dir.path().join("kept.jsonl");
    vibe_ok(
        dir.path(),
        &path,
        &["export", "-o", export.to_str().unwrap()],
    );
    let against = ["--against", export.to_str().unwrap()];
    let (code, out) = verify(dir.path(), &path, &against);
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(out.matches("matches the export's head").count(), 2, "{out}");
    // Rows written since the export leave its head where it was.
    vibe_ok(
        dir.path(),
        &path,
        &[
            "decide",
            &b,
            "--type",
            "t",
            "--rationale",
            "r",
            "--agent",
            "x",
        ],
    );
    // Someone removes a's last writes (its playbook run, started and
    // completed) with their ledger entries: the chain that remains is
    // whole, so the chain alone cannot tell...
    let last: i64 = count(&path, "SELECT MAX(seq) FROM row_chain WHERE mission_id = 1");
    tamper(
        &path,
        &format!(
            "DELETE FROM row_chain WHERE mission_id = 1 AND seq >= {};
             DELETE FROM playbook_runs WHERE mission_id = 1;",
            last - 1
        ),
    );
    let (code, out) = verify(dir.path(), &path, &[&a]);
    assert_eq!(code, Some(0), "a truncated chain is a whole chain: {out}");
    // ...the head kept elsewhere can.
    let (code, out) = verify(dir.path(), &path, &against);
    assert_eq!(code, Some(5), "{out}");
    assert!(
        out.contains(&format!(
            "  TRUNCATED: the chain has {} entries, the export recorded {last}",
            last - 2
        )),
        "{out}"
    );
    assert_eq!(out.matches("matches the export's head").count(), 1, "{out}");
    // Writing new rows until the chain is as long again rewrites it: still
    // a valid chain, and still caught.
    for _ in 0..2 {
        vibe_ok(
            dir.path(),
            &path,
            &[
                "decide",
                &a,
                "--type",
                "t",
                "--rationale",
                "r",
                "--agent",
                "x",
            ],
        );
    }
    let (code, _) = verify(dir.path(), &path, &[&a]);
    assert_eq!(code, Some(0));
    let (code, out) = verify(dir.path(), &path, &against);
    assert_eq!(code, Some(5), "{out}");
    assert!(
        out.contains(&format!("  REWRITTEN: entry {last} is ")),
        "{out}"
    );
    // A mission the export holds and the database lost, chain and all.
    tamper(
        &path,
        "DELETE FROM tool_calls WHERE mission_id = 2; DELETE FROM decisions WHERE mission_id = 2;
         DELETE FROM row_chain WHERE mission_id = 2; DELETE FROM missions WHERE id = 2;",
    );
    let (code, out) = verify(dir.path(), &path, &against);
    assert_eq!(code, Some(5));
    assert!(
        out.contains(&format!(
            "mission {b}: DELETED: the export holds it, the database does not"
        )),
        "{out}"
    );
}

#[test]
fn an_imported_copy_verifies_and_keeps_every_chain_head() {
    let (dir, path, _a, _b) = full_trail();
    let export = dir.path().join("a.jsonl");
    vibe_ok(
        dir.path(),
        &path,
        &["export", "-o", export.to_str().unwrap()],
    );
    let copy = dir.path().join("copy.db");
    vibe_ok(dir.path(), &copy, &["import", export.to_str().unwrap()]);
    let (code, out) = verify(dir.path(), &copy, &["--against", export.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(out.matches("matches the export's head").count(), 3, "{out}");
    assert!(
        out.ends_with("verified 3 missions: 3 intact, 0 tampered\n"),
        "{out}"
    );
}

#[test]
fn prune_takes_a_missions_chain_with_it() {
    let (dir, path, _a, b) = full_trail();
    vibe_ok(
        dir.path(),
        &path,
        &["prune", "--before", "2999-01-01", "--status", "completed"],
    );
    assert_eq!(count(&path, "SELECT COUNT(*) FROM missions"), 2);
    let (code, out) = verify(dir.path(), &path, &[]);
    assert_eq!(code, Some(0), "{out}");
    assert!(!out.contains(&b) && !out.contains("DELETED"), "{out}");
}

/// A string attribute of a span.
fn attribute(span: &Span, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref()?.value.as_ref())
        .map(|v| match v {
            AnyValue::StringValue(s) => s.clone(),
            AnyValue::IntValue(i) => i.to_string(),
            other => format!("{other:?}"),
        })
}

#[test]
fn the_otlp_export_is_one_export_trace_service_request_per_mission_in_genai_terms() {
    let (dir, path, a, _b) = full_trail();
    let out = vibe_ok(dir.path(), &path, &["export", "--format", "otlp", &a]);
    assert_eq!(out.lines().count(), 1, "a line a mission");
    let request: ExportTraceServiceRequest =
        serde_json::from_str(out.trim()).expect("OTLP/JSON the protocol's own types accept");
    let [resource] = &request.resource_spans[..] else {
        panic!("one resource: {request:?}")
    };
    let spans: Vec<&Span> = resource.scope_spans.iter().flat_map(|s| &s.spans).collect();
    let uuid = uuid::Uuid::parse_str(&a).unwrap();
    assert!(
        spans.iter().all(|s| s.trace_id == uuid.as_bytes()),
        "the mission is the trace"
    );
    // A span per tool call and playbook run, under the mission's root.
    let calls = count(
        &path,
        "SELECT COUNT(*) FROM tool_calls WHERE mission_id = 1",
    );
    assert_eq!(spans.len() as i64, 1 + calls + 1);
    let root = spans.iter().find(|s| s.name == "mission").unwrap();
    assert!(root.parent_span_id.is_empty());
    let tools: Vec<&&Span> = spans
        .iter()
        .filter(|s| s.name.starts_with("execute_tool "))
        .collect();
    assert_eq!(tools.len() as i64, calls);
    for span in &tools {
        assert_eq!(
            attribute(span, "gen_ai.operation.name").as_deref(),
            Some("execute_tool")
        );
        let name = attribute(span, "gen_ai.tool.name").unwrap();
        assert_eq!(span.name, format!("execute_tool {name}"));
        assert!(attribute(span, "gen_ai.tool.call.id").is_some());
        assert!(span.end_time_unix_nano >= span.start_time_unix_nano);
    }
    // The failed call carries error.type and an error status.
    let cargo = tools
        .iter()
        .find(|s| s.name == "execute_tool cargo")
        .unwrap();
    assert_eq!(
        attribute(cargo, "error.type").as_deref(),
        Some("tool_error")
    );
    let status = cargo.status.as_ref().unwrap();
    assert_eq!(status.code, StatusCode::Error as i32);
    assert_eq!(status.message, "boom");
    let grep = tools
        .iter()
        .find(|s| s.name == "execute_tool grep")
        .unwrap();
    assert_eq!(attribute(grep, "error.type"), None);
    // The row the forger logged is a child of the forger's invocation, and
    // its decision an event of that invocation; the agent's own decision is
    // an event of the root.
    let forger = tools
        .iter()
        .find(|s| s.name == "execute_tool forger")
        .unwrap();
    assert_eq!(attribute(forger, "vibe.outcome").as_deref(), Some("ok"));
    let planner = tools
        .iter()
        .find(|s| s.name == "execute_tool planner")
        .unwrap();
    assert_eq!(planner.parent_span_id, forger.span_id);
    assert_eq!(grep.parent_span_id, root.span_id);
    let event_types = |span: &Span| -> Vec<String> {
        span.events
            .iter()
            .map(|e| {
                assert_eq!(e.name, "gen_ai.decision");
                e.attributes
                    .iter()
                    .find(|kv| kv.key == "vibe.decision.type")
                    .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
                        AnyValue::StringValue(s) => Some(s.clone()),
                        _ => None,
                    })
                    .unwrap()
            })
            .collect()
    };
    assert_eq!(event_types(forger), ["approval"]);
    assert_eq!(event_types(root), ["plan"]);
    let playbook = spans.iter().find(|s| s.name == "playbook deploy").unwrap();
    assert_eq!(playbook.parent_span_id, root.span_id);
}

#[test]
fn a_malformed_chain_or_head_is_refused_with_its_line_and_writes_nothing() {
    let (dir, path, a, _b) = trail();
    let export = dir.path().join("a.jsonl");
    vibe_ok(
        dir.path(),
        &path,
        &["export", "-o", export.to_str().unwrap(), &a],
    );
    let line = std::fs::read_to_string(&export).unwrap();
    // A chain entry whose hash is not a SHA-256: the import of its
    // mission is refused whole.
    let mut exported: Value = serde_json::from_str(line.trim()).unwrap();
    exported["chain"][1][4] = Value::from("feed");
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(&bad, format!("{exported}\n")).unwrap();
    let copy = dir.path().join("copy.db");
    vibe_ok(dir.path(), &copy, &["init"]);
    let out = vibe_db(dir.path(), &copy)
        .arg("import")
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("line 1"),
        "{}",
        text(&out.stderr)
    );
    for table in ["missions", "tool_calls", "row_chain"] {
        assert_eq!(
            count(&copy, &format!("SELECT COUNT(*) FROM {table}")),
            0,
            "{table}"
        );
    }
    // A file that is not an export is no set of heads.
    std::fs::write(&bad, format!("{line}{{\"mission\": 1}}\n")).unwrap();
    let out = vibe_db(dir.path(), &path)
        .args(["verify", "--against"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4));
    let said = text(&out.stderr);
    assert!(
        said.contains("bad.jsonl line 2: ") && said.contains("not an exported mission"),
        "{said}"
    );
}
