//! Tools in Python and JavaScript are first-class: built by `./x guests`
//! (componentize-py, componentize-js) against the same contract, stopped or
//! refused exactly as their Rust twins are, and leaving the same rows in
//! the trail.

use std::net::TcpListener;
use std::time::Duration;

use serde_json::{json, Value};
use vibe_store::sandbox::{FailureKind, Limits, Request, Runtime};
use vibe_store::{MissionStore, NewToolCall, Phase, SqliteStore};

use crate::common::runtime::{config, runtime};
use crate::common::{guest, language_tool, temp_db};

#[test]
fn python_tools_are_stopped_or_refused_exactly_as_their_rust_twins() {
    hostile_twins("python");
}

#[test]
fn javascript_tools_are_stopped_or_refused_exactly_as_their_rust_twins() {
    hostile_twins("js");
}

/// A slot of the pool is reused from one invocation to the next with its
/// memory reset to the component's initial image, whatever way the
/// invocation ended: nothing one leaves in the interpreter's heap (a
/// module-level list) is there for the next, even after one that filled
/// its memory to the limit. The same holds for spare instances (made ahead
/// of each call, in the pool's other slots).
#[test]
fn each_invocation_of_a_python_tool_starts_from_fresh_memory() {
    let (_dir, path) = temp_db();
    let store = SqliteStore::open(&path).unwrap();
    // One slot and no spares: every invocation reuses the same memory.
    let one_slot = config()
        .max_concurrent(1)
        .unwrap()
        .spare_instances(0)
        .unwrap();
    for config in [one_slot, config()] {
        let runtime = Runtime::new(store.clone(), config).unwrap();
        let hostile = runtime.load(language_tool("python", "hostile")).unwrap();
        let mission = store
            .create_mission(Phase::Testing, json!({}).into())
            .unwrap();
        for i in 0..6 {
            let secret = format!("secret-{i}");
            let report = runtime
                .run(
                    &hostile,
                    &Request::new(
                        mission.clone(),
                        json!({ "case": "remember", "secret": secret }),
                    ),
                )
                .unwrap();
            assert_eq!(report.outcome.unwrap(), json!([secret]), "run {i}");
            if i == 2 {
                let bomb = runtime
                    .run(
                        &hostile,
                        &Request::new(mission.clone(), json!({ "case": "alloc-bomb" })),
                    )
                    .unwrap();
                assert_eq!(bomb.outcome.unwrap_err().kind, FailureKind::MemoryLimit);
            }
        }
    }
}

fn hostile_twins(language: &str) {
    let (_dir, path) = temp_db();
    let store = SqliteStore::open(&path).unwrap();
    let runtime = runtime(store.clone(), 2);
    let hostile = runtime.load(language_tool(language, "hostile")).unwrap();
    // Nothing may reach this listener, from either language.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let short = Limits::default()
        .timeout(Duration::from_millis(300))
        .unwrap();
    let cases: [(&str, &str, Value, FailureKind); 7] = [
        (
            "read-files",
            "read-files",
            json!({ "paths": ["/etc/passwd", "/proc/self/environ", "../../etc/passwd"] }),
            FailureKind::ToolError,
        ),
        ("env-vars", "env-vars", json!({}), FailureKind::ToolError),
        (
            "open-socket",
            "open-socket",
            json!({ "addr": addr }),
            FailureKind::ToolError,
        ),
        ("spin", "spin", json!({}), FailureKind::Timeout),
        (
            "alloc-bomb",
            "alloc-bomb",
            json!({}),
            FailureKind::MemoryLimit,
        ),
        (
            "uncaught",
            "trap-after-writes",
            json!({}),
            FailureKind::Trap,
        ),
        (
            "bad-output",
            "bad-output",
            json!("small"),
            FailureKind::InvalidOutput,
        ),
    ];
    for (case, twin, input, kind) in cases {
        let mission = store
            .create_mission(Phase::Testing, json!({}).into())
            .unwrap();
        let mut case_input = json!({ "case": case });
        if let Value::Object(extra) = &input {
            case_input.as_object_mut().unwrap().extend(extra.clone());
        }
        let other = runtime
            .run(
                &hostile,
                &Request::new(mission.clone(), case_input).limits(short),
            )
            .unwrap();
        let rust = runtime
            .run_file(
                guest(twin),
                &Request::new(mission.clone(), input).limits(short),
            )
            .unwrap();
        let (other, rust) = (other.outcome.unwrap_err(), rust.outcome.unwrap_err());
        assert_eq!(
            (case, other.kind),
            (case, kind),
            "{language}: {}",
            other.message
        );
        assert_eq!((twin, rust.kind), (twin, kind), "Rust: {}", rust.message);
        if kind == FailureKind::ToolError {
            assert!(
                other.message.contains("denied"),
                "{case}: {}",
                other.message
            );
        }
        // One failed row each (and the Rust twin's own writes, if any).
        let rows = store.get_tool_history(&mission).unwrap();
        let invocations: Vec<_> = rows.iter().filter(|r| r.outcome.is_some()).collect();
        assert_eq!(invocations.len(), 2, "{case}");
        assert!(invocations.iter().all(|r| !r.success), "{case}");
    }
    assert!(
        listener.accept().is_err(),
        "a tool reached a loopback listener"
    );
}

/// Everything a run leaves in a mission's trail that is not a clock
/// reading or a component's own digest.
fn trail(store: &SqliteStore, mission: &vibe_store::MissionId) -> Value {
    let calls: Vec<Value> = store
        .get_tool_history(mission)
        .unwrap()
        .into_iter()
        .map(|c| {
            let invocation = c.outcome.is_some();
            json!({
                "id": c.id.get(),
                "tool_name": c.tool_name,
                "args": c.args.as_str(),
                "result": c.result.as_ref().map(|r| r.as_str()),
                "success": c.success,
                "error_message": c.error_message,
                // An invocation's own duration is a clock reading.
                "duration_ms": if invocation { None } else { c.duration_ms },
                "invocation_id": c.invocation_id.map(|i| i.get()),
                "outcome": c.outcome.map(|o| o.as_str()),
            })
        })
        .collect();
    let decisions: Vec<Value> = store
        .get_decisions(mission)
        .unwrap()
        .into_iter()
        .map(|d| {
            json!({
                "id": d.id.get(), "type": d.decision_type, "rationale": d.rationale,
                "agent": d.agent_name, "context": d.context.as_ref().map(|c| c.as_str()),
                "invocation_id": d.invocation_id.map(|i| i.get()),
            })
        })
        .collect();
    let memory: Vec<Value> = store
        .list_memory(mission)
        .unwrap()
        .into_iter()
        .map(|m| {
            json!({ "key": m.key, "value": m.value.as_ref().map(|v| v.as_str()),
                          "invocation_id": m.invocation_id.map(|i| i.get()) })
        })
        .collect();
    json!({ "calls": calls, "decisions": decisions, "memory": memory })
}

#[test]
fn the_reviewer_leaves_the_same_rows_in_rust_python_and_javascript() {
    let tools = [
        ("rust", guest("reviewer")),
        ("python", language_tool("python", "reviewer")),
        ("javascript", language_tool("js", "reviewer")),
    ];
    let mut trails = Vec::new();
    for (language, component) in &tools {
        // The same mission in a database of its own, so ids match too.
        let (_dir, path) = temp_db();
        let store = SqliteStore::open(&path).unwrap();
        let mission = store
            .create_mission(Phase::Coding, json!({ "goal": "x" }).into())
            .unwrap();
        for (name, ms, ok) in [
            ("grep", 5, true),
            ("cargo", 1500, false),
            ("edit", 20, true),
            ("cargo", 30, false),
            ("test", 2000, true),
        ] {
            store
                .log_tool_call(
                    &mission,
                    NewToolCall {
                        duration_ms: Some(ms),
                        success: ok,
                        error_message: (!ok).then(|| "exit 101".to_owned()),
                        ..NewToolCall::success(name, json!({ "n": ms }))
                    },
                )
                .unwrap();
        }
        let runtime = runtime(store.clone(), 2);
        let tool = runtime.load(component).unwrap();
        let described = tool.description().unwrap();
        assert_eq!(described.name, "reviewer", "{language}");
        let mut outputs = Vec::new();
        for round in 0..2 {
            if round == 1 {
                store
                    .log_tool_call(&mission, NewToolCall::success("late", json!({})))
                    .unwrap();
            }
            let request = Request::new(mission.clone(), json!({ "page_size": 2, "slow_ms": 1000 }))
                .name("reviewer");
            let report = runtime.run(&tool, &request).unwrap();
            let output = report.outcome.unwrap_or_else(|f| panic!("{language}: {f}"));
            outputs.push(output.as_str().to_owned());
        }
        // The first review saw the five calls; the second, from where the
        // first stopped (its memory), only the late one.
        assert_eq!(
            outputs,
            [
                r#"{"decision":1,"failed":["cargo"],"reviewed":5,"slow":2}"#,
                r#"{"decision":2,"failed":[],"reviewed":1,"slow":0}"#
            ],
            "{language}"
        );
        trails.push(trail(&store, &mission));
    }
    assert_eq!(trails[0], trails[1], "Rust and Python left different rows");
    assert_eq!(
        trails[0], trails[2],
        "Rust and JavaScript left different rows"
    );
}
