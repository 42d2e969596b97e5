//! A model test: random sequences of store operations, valid and invalid,
//! run against the real store and an in-memory model. After every step the
//! two agree on what the step returned and on the whole state it touched.

use std::collections::BTreeMap;

use crate::common::backends::{Backend, TestStore};
use crate::common::{ov, v};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestRunner};
use serde_json::{json, Value};
use vibe_store::store::OpenOptions;
use vibe_store::NewDecision;
use vibe_store::{
    Durability, MissionId, MissionStatus, MissionStore, NewToolCall, Phase, StoreError,
};

#[derive(Debug, Clone)]
enum Op {
    Create(usize),
    SetStatus(usize, usize),
    Log {
        m: usize,
        name: &'static str,
        args: i64,
        success: bool,
        duration: Option<i64>,
    },
    Decide {
        m: usize,
        kind: &'static str,
        context: Option<i64>,
    },
    MemSet {
        m: usize,
        key: &'static str,
        value: i64,
        ttl: Option<u32>,
    },
    MemDelete {
        m: usize,
        key: &'static str,
    },
    Ghost,
}

fn op() -> impl Strategy<Value = Op> {
    let m = 0usize..4;
    prop_oneof![
        (0usize..5).prop_map(Op::Create),
        (m.clone(), 0usize..4).prop_map(|(m, s)| Op::SetStatus(m, s)),
        (
            m.clone(),
            prop::sample::select(vec!["grep", "cargo", "", "ok-tool"]),
            any::<i64>(),
            any::<bool>(),
            prop::option::of(-3i64..1000)
        )
            .prop_map(|(m, name, args, success, duration)| Op::Log {
                m,
                name,
                args,
                success,
                duration
            }),
        (
            m.clone(),
            prop::sample::select(vec!["plan", "", "review"]),
            prop::option::of(any::<i64>())
        )
            .prop_map(|(m, kind, context)| Op::Decide { m, kind, context }),
        (
            m.clone(),
            prop::sample::select(vec!["a", "b", ""]),
            any::<i64>(),
            prop::option::of(prop::sample::select(vec![0u32, 3600]))
        )
            .prop_map(|(m, key, value, ttl)| Op::MemSet { m, key, value, ttl }),
        (m, prop::sample::select(vec!["a", "b"])).prop_map(|(m, key)| Op::MemDelete { m, key }),
        Just(Op::Ghost),
    ]
}

#[derive(Debug)]
struct ModelMission {
    id: MissionId,
    status: Option<MissionStatus>,
    calls: Vec<(String, Value, bool, Option<i64>)>,
    decisions: Vec<(String, Option<Value>)>,
    memory: BTreeMap<String, Value>,
}

#[derive(Debug, PartialEq)]
enum Outcome {
    Ok,
    Invalid,
    NotFound,
}

fn outcome<T>(r: Result<T, StoreError>) -> Outcome {
    match r {
        Ok(_) => Outcome::Ok,
        Err(StoreError::InvalidInput(_)) => Outcome::Invalid,
        Err(StoreError::MissionNotFound(_)) => Outcome::NotFound,
        Err(e) => panic!("unexpected error {e:?}"),
    }
}

fn check(store: &dyn MissionStore, model: &ModelMission) {
    let mission = store.get_mission(&model.id).unwrap();
    assert_eq!(Some(mission.status), model.status);
    let calls: Vec<(String, Value, bool, Option<i64>)> = store
        .get_tool_history(&model.id)
        .unwrap()
        .into_iter()
        .map(|c| (c.tool_name, v(&c.args), c.success, c.duration_ms))
        .collect();
    assert_eq!(calls, model.calls);
    let decisions: Vec<(String, Option<Value>)> = store
        .get_decisions(&model.id)
        .unwrap()
        .into_iter()
        .map(|d| (d.decision_type, ov(&d.context)))
        .collect();
    assert_eq!(decisions, model.decisions);
    for key in ["a", "b"] {
        assert_eq!(
            ov(&store.get_memory(&model.id, key).unwrap()),
            model.memory.get(key).cloned(),
            "key {key}"
        );
    }
}

fn run_sequence(ops: Vec<Op>, backend: Backend) {
    let store = TestStore::open_with(
        backend,
        OpenOptions::default().durability(Durability::Normal),
    );
    let mut missions: Vec<ModelMission> = Vec::new();
    for op in ops {
        let pick = |m: usize, missions: &Vec<ModelMission>| {
            (!missions.is_empty()).then(|| m % missions.len())
        };
        let touched = match op {
            Op::Create(p) => {
                let id = store
                    .create_mission(Phase::ALL[p], json!({ "p": p }).into())
                    .unwrap();
                missions.push(ModelMission {
                    id,
                    status: Some(MissionStatus::Pending),
                    calls: Vec::new(),
                    decisions: Vec::new(),
                    memory: BTreeMap::new(),
                });
                Some(missions.len() - 1)
            }
            Op::SetStatus(m, s) => pick(m, &missions).inspect(|&i| {
                store
                    .update_mission_status(&missions[i].id, MissionStatus::ALL[s])
                    .unwrap();
                missions[i].status = Some(MissionStatus::ALL[s]);
            }),
            Op::Log {
                m,
                name,
                args,
                success,
                duration,
            } => pick(m, &missions).inspect(|&i| {
                let call = NewToolCall {
                    success,
                    duration_ms: duration,
                    ..NewToolCall::success(name, json!({ "n": args }))
                };
                let expected = if name.is_empty() || duration.is_some_and(|d| d < 0) {
                    Outcome::Invalid
                } else {
                    Outcome::Ok
                };
                assert_eq!(
                    outcome(store.log_tool_call(&missions[i].id, call)),
                    expected
                );
                if expected == Outcome::Ok {
                    missions[i].calls.push((
                        name.to_owned(),
                        json!({ "n": args }),
                        success,
                        duration,
                    ));
                }
            }),
            Op::Decide { m, kind, context } => pick(m, &missions).inspect(|&i| {
                let context = context.map(|c| json!([c]));
                let expected = if kind.is_empty() {
                    Outcome::Invalid
                } else {
                    Outcome::Ok
                };
                assert_eq!(
                    outcome(store.record_decision(
                        &missions[i].id,
                        NewDecision {
                            context: context.as_ref().map(Into::into),
                            ..NewDecision::new(kind, "why", "agent")
                        }
                    )),
                    expected
                );
                if expected == Outcome::Ok {
                    missions[i].decisions.push((kind.to_owned(), context));
                }
            }),
            Op::MemSet { m, key, value, ttl } => pick(m, &missions).inspect(|&i| {
                let expected = if key.is_empty() {
                    Outcome::Invalid
                } else {
                    Outcome::Ok
                };
                assert_eq!(
                    outcome(store.set_memory(&missions[i].id, key, json!(value).into(), ttl)),
                    expected
                );
                if expected == Outcome::Ok {
                    // A TTL of zero stores an entry that is already expired.
                    if ttl == Some(0) {
                        missions[i].memory.remove(key);
                    } else {
                        missions[i].memory.insert(key.to_owned(), json!(value));
                    }
                }
            }),
            Op::MemDelete { m, key } => pick(m, &missions).inspect(|&i| {
                let was_live = missions[i].memory.remove(key).is_some();
                assert_eq!(store.delete_memory(&missions[i].id, key).unwrap(), was_live);
            }),
            Op::Ghost => {
                let ghost = MissionId::new_v4();
                let call = NewToolCall::success("ghost", json!({}));
                assert_eq!(
                    outcome(store.log_tool_call(&ghost, call)),
                    Outcome::NotFound
                );
                None
            }
        };
        if let Some(i) = touched {
            check(&store.store, &missions[i]);
        }
    }
    for model in &missions {
        check(&store.store, model);
    }
    let total: usize = missions.iter().map(|m| m.calls.len()).sum();
    assert_eq!(
        store.count("SELECT COUNT(*) FROM tool_calls") as usize,
        total
    );
}

crate::on_both_backends!(the_store_agrees_with_its_model_after_every_step);

fn the_store_agrees_with_its_model_after_every_step(backend: Backend) {
    let config = Config {
        // Each case is a fresh database: a file on SQLite, a CREATE
        // DATABASE on PostgreSQL.
        cases: match backend {
            Backend::Sqlite => 48,
            Backend::Postgres => 16,
        },
        rng_seed: RngSeed::Fixed(0x00C0_FFEE),
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    runner
        .run(&prop::collection::vec(op(), 1..60), |ops| {
            run_sequence(ops, backend);
            Ok(())
        })
        .unwrap();
}
