//! Spare instances (a tool's next instance, made before its next call):
//! each is fresh, used once, bound to the invocation that uses it, and held
//! to that invocation's grants and limits, whatever the call before it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use vibe_store::sandbox::{FailureKind, Limits, Request, RunReport, Runtime, Tool};
use vibe_store::{MissionId, MissionStore};

use crate::common::runtime::{config, failure, Sandbox};

/// Runs `tool` for `request` until an instance of it waits, made ahead of
/// its next call (from its second call on, on the runtime's own thread).
fn until_spare(runtime: &Runtime, tool: &Arc<Tool>, request: &Request) {
    for _ in 0..2 {
        runtime.run(tool, request).expect("recorded");
    }
    wait_for_spare(runtime, tool);
}

/// Waits until a spare of `tool` waits: fails if none is there within 30 s.
fn wait_for_spare(runtime: &Runtime, tool: &Tool) {
    let began = Instant::now();
    while !runtime.has_spare(tool) {
        assert!(
            began.elapsed() < Duration::from_secs(30),
            "no spare instance of {} after 30 s",
            tool.name()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn output(report: &RunReport) -> Value {
    report
        .outcome
        .clone()
        .unwrap_or_else(|f| panic!("the tool failed: {f}"))
        .to_value()
        .unwrap()
}

#[test]
fn every_invocation_gets_a_fresh_instance_bound_to_it_even_from_a_spare() {
    let s = Sandbox::new();
    let tool = s.tool("carry-over");
    let missions: Vec<MissionId> = (0..2).map(|_| s.mission()).collect();
    let first = Request::new(missions[0].clone(), json!({ "n": -1 }));
    let fresh = output(&s.runtime.run(&tool, &first).unwrap());
    for n in 0..8 {
        let mission = &missions[n % 2];
        // Every one of these calls takes a spare.
        wait_for_spare(&s.runtime, &tool);
        let report = s
            .runtime
            .run(&tool, &Request::new(mission.clone(), json!({ "n": n })))
            .unwrap();
        let out = output(&report);
        // Nothing from any earlier invocation: not its statics, not its
        // mission, not its input, not its heap.
        assert_eq!(
            (&out["calls"], &out["previous"], &out["pages"]),
            (&json!(1), &Value::Null, &fresh["pages"]),
            "call {n}: {out}"
        );
        // What it wrote is in its own mission and names its own row.
        let rows = s.store.get_tool_history(mission).unwrap();
        let logged = rows
            .iter()
            .find(|r| r.id.get() == out["logged"].as_i64().unwrap())
            .expect("the tool's row is in its own mission");
        assert_eq!(logged.invocation_id, Some(report.call_id), "call {n}");
        assert_eq!(logged.args.to_value().unwrap(), json!({ "n": n }));
        let own = rows.iter().find(|r| r.id == report.call_id).unwrap();
        assert_eq!(own.args.to_value().unwrap(), json!({ "n": n }));
    }
}

#[test]
fn a_spare_is_held_to_the_grants_and_limits_of_the_call_that_uses_it() {
    let s = Sandbox::new();
    let m = s.mission();
    let other = s.mission();

    // Grants: another mission stays out of reach.
    let intruder = s.tool("other-mission");
    let attack = Request::new(m.clone(), json!({ "target": other.to_string() }));
    until_spare(&s.runtime, &intruder, &attack);
    let report = s.runtime.run(&intruder, &attack).unwrap();
    let (kind, message) = failure(&report);
    assert_eq!(kind, FailureKind::ToolError, "{message}");
    assert!(s.store.get_tool_history(&other).unwrap().is_empty());

    // Time: each call gets its own deadline, from when it starts; longer
    // than the time a spare may take to make, so that a deadline left from
    // the making would end the call too early.
    let spin = s.tool("spin");
    let timeout = Duration::from_millis(1_500);
    let request =
        Request::new(m.clone(), json!({})).limits(Limits::default().timeout(timeout).unwrap());
    s.runtime.run(&spin, &request).unwrap();
    wait_for_spare(&s.runtime, &spin);
    let report = s.runtime.run(&spin, &request).unwrap();
    assert_eq!(failure(&report).0, FailureKind::Timeout);
    assert!(report.duration >= timeout, "{:?}", report.duration);
    s.assert_logged_failure(&m, &report, "spin", "timed out");

    // Cancel: the caller's flag reaches a spare's guest while it runs.
    wait_for_spare(&s.runtime, &spin);
    let flag = Arc::new(AtomicBool::new(false));
    let setter = {
        let flag = flag.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            flag.store(true, Ordering::Relaxed);
        })
    };
    let report = s
        .runtime
        .run(&spin, &Request::new(m.clone(), json!({})).cancel_flag(flag))
        .unwrap();
    setter.join().unwrap();
    assert_eq!(failure(&report).0, FailureKind::Cancelled);
    // And a flag set before the call cancels even a tool that would finish
    // within one poll.
    for name in ["spin", "echo"] {
        let tool = s.tool(name);
        for call in 0..4 {
            let flag = Arc::new(AtomicBool::new(true));
            let request = Request::new(m.clone(), json!({})).cancel_flag(flag);
            let report = s.runtime.run(&tool, &request).unwrap();
            assert_eq!(
                failure(&report).0,
                FailureKind::Cancelled,
                "{name}, call {call}"
            );
        }
    }

    // Memory: a spare is not used for a call whose limit its memory
    // already exceeds; the call fails as it does on a runtime that makes no
    // spares.
    let echo = s.tool("echo");
    until_spare(&s.runtime, &echo, &Request::new(m.clone(), json!({})));
    let tiny = Request::new(m.clone(), json!({})).limits(Limits::default().memory_mb(1).unwrap());
    let report = s.runtime.run(&echo, &tiny).unwrap();
    assert_eq!(said(&report), without_spares(&s, "echo", &tiny));

    // Output: each call's own, within its own cap.
    let chatty = s.tool("chatty");
    let capped = Limits::default().max_output_bytes(64).unwrap();
    let request = Request::new(m.clone(), json!({})).limits(capped);
    until_spare(&s.runtime, &chatty, &request);
    let report = s.runtime.run(&chatty, &request).unwrap();
    assert!(
        report.stdout.len() <= 64 && report.stderr.len() <= 64,
        "{report:?}"
    );
    s.assert_still_serving();
}

#[test]
fn spares_can_be_turned_off_and_a_spare_left_waiting_gives_way_to_a_newer_one() {
    assert!(config().spare_instances(65).is_err());
    let s = Sandbox::new();
    let m = s.mission();
    let request = Request::new(m.clone(), json!({}));

    let off = Runtime::new(s.store.clone(), config().spare_instances(0).unwrap()).unwrap();
    let echo = off.load(crate::common::guest("echo")).unwrap();
    for _ in 0..3 {
        off.run(&echo, &request).unwrap().outcome.unwrap();
    }
    std::thread::sleep(Duration::from_millis(300));
    assert!(!off.has_spare(&echo));

    let one = Runtime::new(s.store.clone(), config().spare_instances(1).unwrap()).unwrap();
    let (echo, other) = (
        one.load(crate::common::guest("echo")).unwrap(),
        one.load(crate::common::guest("carry-over")).unwrap(),
    );
    // Room for one is enough for one tool: each call's spare is made while
    // the call that took the last one still runs.
    one.run(&echo, &request).unwrap().outcome.unwrap();
    for _ in 0..3 {
        wait_for_spare(&one, &echo);
        one.run(&echo, &request).unwrap().outcome.unwrap();
    }
    wait_for_spare(&one, &echo);
    // A young spare keeps its room: another tool's calls get none...
    let began = Instant::now();
    for _ in 0..3 {
        one.run(&other, &request).unwrap().outcome.unwrap();
    }
    std::thread::sleep(Duration::from_millis(300));
    assert!(one.has_spare(&echo) && !one.has_spare(&other));
    // ...until it has waited 5 s unclaimed.
    std::thread::sleep(Duration::from_secs(5).saturating_sub(began.elapsed()));
    one.run(&other, &request).unwrap().outcome.unwrap();
    wait_for_spare(&one, &other);
    assert!(!one.has_spare(&echo), "the spare left waiting gave way");
    one.run(&echo, &request).unwrap().outcome.unwrap();
}

/// Waits until the spares thread has done everything asked of it so far:
/// it makes spares one at a time, in order, so once a spare of `echo`
/// asked for now is there, every earlier one is decided.
fn spares_settled(s: &Sandbox, mission: &MissionId) {
    let echo = s.tool("echo");
    until_spare(&s.runtime, &echo, &Request::new(mission.clone(), json!({})));
}

/// What a run says, for comparing runs: its outcome, stdout and stderr.
type Said = (Result<String, (FailureKind, String)>, String, String);

fn said(report: &RunReport) -> Said {
    (
        report
            .outcome
            .clone()
            .map(|json| json.into_string())
            .map_err(|f| (f.kind, f.message)),
        report.stdout.clone(),
        report.stderr.clone(),
    )
}

#[test]
fn start_up_code_an_invocation_could_tell_apart_gets_no_spares() {
    let s = Sandbox::new();
    let m = s.mission();
    // `_initialize`, which the component runs when it is instantiated: a
    // store call (which a spare, made outside any invocation, would make
    // with no invocation to record it), output, start-up slower than a
    // spare may take to make (1.2 s against 1 s), and start-up that runs
    // into the memory limit and carries on.
    for name in [
        "startup-store",
        "startup-print",
        "startup-slow",
        "startup-tries",
    ] {
        let tool = s.tool(name);
        let request = Request::new(m.clone(), json!({}));
        let expected = without_spares(&s, name, &request);
        for call in 0..4 {
            let report = s.runtime.run(&tool, &request).unwrap();
            assert_eq!(said(&report), expected, "{name}, call {call}");
        }
        spares_settled(&s, &m);
        assert!(!s.runtime.has_spare(&tool), "{name} got a spare");
        let report = s.runtime.run(&tool, &request).unwrap();
        assert_eq!(said(&report), expected, "{name}, after");
    }
    s.assert_still_serving();
}

/// What running guest `name` for `request` says on a runtime that makes
/// no spares.
fn without_spares(s: &Sandbox, name: &str, request: &Request) -> Said {
    let plain = Runtime::new(s.store.clone(), config().spare_instances(0).unwrap()).unwrap();
    let tool = plain.load(crate::common::guest(name)).unwrap();
    said(&plain.run(&tool, request).unwrap())
}

/// Makes a spare of `tool` with calls it fits (`roomy`), then checks that
/// calls it does not fit (`tight`) say what they say without spares
/// (`expected`), and leave the spare waiting.
fn a_spare_waits_for_a_call_it_fits(
    s: &Sandbox,
    tool: &Arc<Tool>,
    (roomy, tight): (&Request, &Request),
    expected: &Said,
) {
    until_spare(&s.runtime, tool, roomy);
    for call in 0..3 {
        let name = tool.name();
        let report = s.runtime.run(tool, tight).unwrap();
        assert_eq!(&said(&report), expected, "{name}, call {call}");
        assert!(
            s.runtime.has_spare(tool),
            "{name}: the spare waits for a call it fits"
        );
    }
}

#[test]
fn a_spare_holding_more_than_a_call_may_hold_is_not_used_for_it() {
    let s = Sandbox::new();
    let m = s.mission();
    // Start-up code that grows memory by 48 MiB, or makes 1,500 pollables
    // (a 2 MiB memory limit allows 1,024 resources): under the tight limit
    // its start-up fails, so the call must fail too.
    // Or makes 1,500 and drops them all before it ends: what counts is
    // what it held at once.
    for (name, tight_mb) in [
        ("startup-grow", 32),
        ("startup-resources", 2),
        ("startup-peak", 2),
    ] {
        let tool = s.tool(name);
        let roomy = Request::new(m.clone(), json!({}));
        let tight = roomy
            .clone()
            .limits(Limits::default().memory_mb(tight_mb).unwrap());
        let (failed, fine) = (
            without_spares(&s, name, &tight),
            without_spares(&s, name, &roomy),
        );
        assert!(
            failed.0.is_err() && fine.0.is_ok(),
            "{name}: {failed:?} {fine:?}"
        );
        a_spare_waits_for_a_call_it_fits(&s, &tool, (&roomy, &tight), &failed);
        assert_eq!(said(&s.runtime.run(&tool, &roomy).unwrap()), fine, "{name}");
    }
}

#[test]
fn a_tool_another_runtime_loaded_fails_as_before_and_spares_go_on() {
    let s = Sandbox::new();
    let m = s.mission();
    let request = Request::new(m.clone(), json!({}));
    // Loaded by both runtimes: this one's spare of the same bytes must not
    // run the other's tool.
    let own = s.tool("echo");
    until_spare(&s.runtime, &own, &request);
    let other = Runtime::new(s.store.clone(), config()).unwrap();
    let foreign = other.load(crate::common::guest("echo")).unwrap();
    let plain = Runtime::new(s.store.clone(), config().spare_instances(0).unwrap()).unwrap();
    let expected = said(&plain.run(&foreign, &request).unwrap());
    assert!(expected.0.is_err(), "{expected:?}");
    assert!(!s.runtime.has_spare(&foreign) && s.runtime.has_spare(&own));
    for call in 0..4 {
        let report = s.runtime.run(&foreign, &request).unwrap();
        assert_eq!(said(&report), expected, "call {call}");
    }
    // This runtime's spares thread still serves.
    until_spare(&s.runtime, &s.tool("carry-over"), &request);
}

/// Start-up code that takes 300 ms: its time counts as its call's, spare
/// or not. Under a 200 ms timeout every call times out, as without spares;
/// with room, a call from a spare reports at least those 300 ms.
#[test]
fn a_spares_start_up_time_counts_against_its_calls_timeout() {
    let s = Sandbox::new();
    let m = s.mission();
    let tool = s.tool("startup-busy");
    let tight = Request::new(m.clone(), json!({})).limits(
        Limits::default()
            .timeout(Duration::from_millis(200))
            .unwrap(),
    );
    let roomy = Request::new(m.clone(), json!({}));
    let expected = without_spares(&s, "startup-busy", &tight);
    assert_eq!(expected.0.as_ref().unwrap_err().0, FailureKind::Timeout);
    a_spare_waits_for_a_call_it_fits(&s, &tool, (&roomy, &tight), &expected);
    let report = s.runtime.run(&tool, &roomy).unwrap();
    output(&report);
    assert!(
        report.duration >= Duration::from_millis(300),
        "{:?}",
        report.duration
    );
    // A call cancelled before it starts runs nothing: it takes no spare,
    // and records none of a spare's start-up time.
    wait_for_spare(&s.runtime, &tool);
    let flag = Arc::new(AtomicBool::new(true));
    let report = s
        .runtime
        .run(&tool, &roomy.clone().cancel_flag(flag))
        .unwrap();
    assert_eq!(failure(&report).0, FailureKind::Cancelled);
    assert!(
        report.duration < Duration::from_millis(300),
        "{:?}",
        report.duration
    );
    assert!(s.runtime.has_spare(&tool));
}
