//! Resource abuse and host failures: guests that hammer the store, many
//! invocations at once, a guest making the host hold memory for it, a store
//! that panics or stalls, reads running past their deadline. The host must
//! stay up and responsive, and every run must be accounted for.

use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common::memory::status_kib;
use crate::common::runtime::runtime;
use crate::common::{cli_mission, count, guest, temp_db, temp_store, vibe_db};
use serde_json::json;
use vibe_store::sandbox::{FailureKind, Limits, Request, Runtime};
use vibe_store::store::{
    self, with_deadline, InvocationEnd, InvocationStart, MissionStore, Page, PlaybookRun,
};
use vibe_store::{
    Decision, DecisionId, Json, Mission, MissionId, MissionStatus, NewToolCall, Phase, SqliteStore,
    StoreError, ToolCall, ToolCallId,
};
use vibe_store::{NewDecision, PlaybookRunId};

#[test]
fn a_guest_flooding_the_store_with_writes_is_stopped_on_time() {
    let (_dir, store) = temp_store();
    let m = store
        .create_mission(Phase::Coding, json!({}).into())
        .unwrap();
    let runtime = runtime(store.clone(), 4);
    let limits = Limits::default()
        .timeout(Duration::from_millis(400))
        .unwrap();
    let report = runtime
        .run(
            &runtime.load(guest("flood-writes")).unwrap(),
            &Request::new(m.clone(), json!({})).limits(limits),
        )
        .unwrap();
    let failure = report.outcome.unwrap_err();
    assert_eq!(failure.kind, FailureKind::Timeout, "{}", failure.message);
    assert!(
        report.duration < Duration::from_secs(3),
        "stopped near its deadline: {:?}",
        report.duration
    );
    let flood = count(
        store.path(),
        "SELECT COUNT(*) FROM tool_calls WHERE tool_name = 'flood'",
    );
    assert!(flood > 0);
    // Every flood row is a contiguous prefix 0..n: nothing half-written.
    let max_i = count(
        store.path(),
        "SELECT MAX(json_extract(args, '$.i')) FROM tool_calls WHERE tool_name = 'flood'",
    );
    assert_eq!(max_i + 1, flood);
    let history = store.get_tool_history(&m).unwrap();
    let own = history.iter().find(|c| c.id == report.call_id).unwrap();
    assert_eq!(
        (own.tool_name.as_str(), own.success),
        ("flood-writes", false)
    );
    eprintln!("flood-writes logged {flood} calls in {:?}", report.duration);
}

#[test]
fn a_guest_paging_through_history_forever_is_stopped_on_time() {
    let (_dir, store) = temp_store();
    let m = store
        .create_mission(Phase::Coding, json!({}).into())
        .unwrap();
    let calls: Vec<NewToolCall> = (0..3000)
        .map(|i| NewToolCall::success("seed", json!({ "i": i })))
        .collect();
    store.log_tool_calls(&m, calls).unwrap();
    let runtime = runtime(store.clone(), 4);
    let limits = Limits::default()
        .timeout(Duration::from_millis(400))
        .unwrap();
    let report = runtime
        .run(
            &runtime.load(guest("flood-reads")).unwrap(),
            &Request::new(m.clone(), json!({})).limits(limits),
        )
        .unwrap();
    assert_eq!(report.outcome.unwrap_err().kind, FailureKind::Timeout);
    assert!(
        report.duration < Duration::from_secs(3),
        "{:?}",
        report.duration
    );
    assert_eq!(
        store.get_tool_history(&m).unwrap().len(),
        3001,
        "reads wrote nothing but the run's row"
    );
}

#[test]
fn a_hundred_invocations_at_once_all_complete_and_the_host_stays_responsive() {
    let (_dir, store) = temp_store();
    let runtime = runtime(store.clone(), 16);
    let echo = runtime.load(guest("echo")).unwrap();
    let spin = runtime.load(guest("spin")).unwrap();
    let missions: Vec<MissionId> = (0..100)
        .map(|_| {
            store
                .create_mission(Phase::Coding, json!({}).into())
                .unwrap()
        })
        .collect();
    let rss_before = resident_kib();
    let started = Instant::now();
    let handles: Vec<_> = missions
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let (runtime, tool, m) = (
                runtime.clone(),
                if i % 10 == 0 {
                    spin.clone()
                } else {
                    echo.clone()
                },
                m.clone(),
            );
            std::thread::spawn(move || {
                // The spinning tenth is stopped at 300 ms; the rest have the
                // default limit, so a loaded machine's fsyncs cannot time
                // them out.
                let timeout = if i % 10 == 0 {
                    Duration::from_millis(300)
                } else {
                    Duration::from_secs(10)
                };
                let limits = Limits::default().timeout(timeout).unwrap();
                runtime
                    .run(&tool, &Request::new(m, json!({ "log": 10 })).limits(limits))
                    .unwrap()
            })
        })
        .collect();
    // While they run, a plain store read answers.
    let probe = Instant::now();
    assert!(store.get_mission(&missions[0]).is_ok());
    let probe = probe.elapsed();
    let reports: Vec<_> = handles
        .into_iter()
        .map(|h| h.join().expect("no panics"))
        .collect();
    let elapsed = started.elapsed();
    for (i, report) in reports.iter().enumerate() {
        if i % 10 == 0 {
            assert_eq!(
                report.outcome.as_ref().unwrap_err().kind,
                FailureKind::Timeout
            );
        } else {
            assert!(report.outcome.is_ok(), "{:?}", report.outcome);
        }
    }
    for (i, m) in missions.iter().enumerate() {
        let expected = if i % 10 == 0 { 1 } else { 11 };
        assert_eq!(
            store.get_tool_history(m).unwrap().len(),
            expected,
            "mission {i}"
        );
    }
    let growth = resident_kib().saturating_sub(rss_before);
    eprintln!("100 invocations in {elapsed:?}; store read during them took {probe:?}; RSS grew {growth} KiB");
    assert!(
        growth < 512 * 1024,
        "memory stays bounded: grew {growth} KiB"
    );
}

fn resident_kib() -> u64 {
    status_kib("self", "VmRSS").unwrap_or(0)
}

/// A guest's memory limit bounds what it makes the host hold outside its
/// linear memory. `guest/hostile/hoard` (16 MiB allowed) creates 4,000
/// `wasi:http` `fields`, each holding one 100 KB header value copied from
/// the same small buffer, or 100,000 of 16,000 bytes, then blocks in a sleep
/// holding them; held by the host outside the limiter, that would be about
/// 400 MB until the deadline. `vibe run`'s peak RSS must stay near the
/// limit.
#[test]
fn a_blocked_guest_cannot_make_the_host_hold_memory_past_its_limit_through_wasi_http_fields() {
    let (dir, db) = temp_db();
    let (mission, stderr) = cli_mission(dir.path(), &db);
    assert!(!mission.is_empty(), "{stderr}");
    // Values over the per-field cap, and then many values just under it.
    for input in [
        r#"{"case":"fields","count":4000}"#,
        r#"{"case":"fields","count":100000,"size":16000}"#,
    ] {
        let mut child = vibe_db(dir.path(), &db)
            .args([
                "run",
                guest("hoard").to_str().unwrap(),
                "--mission",
                &mission,
            ])
            .args(["--input", input])
            .args(["--memory-mb", "16", "--timeout-ms", "6000"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let started = Instant::now();
        let mut peak = 0;
        while child.try_wait().unwrap().is_none() {
            if started.elapsed() > Duration::from_secs(60) {
                let _ = child.kill();
                let _ = child.wait();
                panic!("vibe run did not end within 60 s");
            }
            if let Some(rss) = status_kib(&child.id().to_string(), "VmRSS").map(|kib| kib / 1024) {
                peak = peak.max(rss);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        // 16 MiB of guest memory, as much again held for it by the host,
        // and a generous allowance for the host itself (a debug `vibe run`
        // peaks around 50 MiB running a small tool).
        assert!(
            peak < 16 + 16 + 150,
            "{input}: a tool limited to 16 MiB made `vibe run` hold {peak} MiB"
        );
    }
}

/// A store whose `log_tool_call` panics or stalls, to stand for a bug or a
/// slow backend; everything else is the real store.
struct Faulty {
    inner: Arc<dyn MissionStore>,
    stall: Option<Duration>,
    /// Panic while the host sets the invocation up, outside any store call.
    panic_in_host: bool,
}

impl Faulty {
    /// A runtime of 4 slots on `store`, through a Faulty wrapper.
    fn runtime(store: &SqliteStore, stall: Option<Duration>, panic_in_host: bool) -> Runtime {
        let faulty = Faulty {
            inner: Arc::new(store.clone()),
            stall,
            panic_in_host,
        };
        runtime(faulty, 4)
    }
}

impl MissionStore for Faulty {
    fn within_invocation(&self, invocation: ToolCallId) -> Arc<dyn MissionStore> {
        assert!(!self.panic_in_host, "bug in the host's invocation set-up");
        Arc::new(Faulty {
            inner: self.inner.within_invocation(invocation),
            stall: self.stall,
            panic_in_host: false,
        })
    }
    fn begin_invocation(
        &self,
        m: &MissionId,
        start: &InvocationStart,
    ) -> store::Result<ToolCallId> {
        self.inner.begin_invocation(m, start)
    }
    fn end_invocation(&self, invocation: ToolCallId, end: &InvocationEnd) -> store::Result<()> {
        self.inner.end_invocation(invocation, end)
    }
    fn record_invocation(
        &self,
        m: &MissionId,
        start: &InvocationStart,
        end: &InvocationEnd,
    ) -> store::Result<ToolCallId> {
        self.inner.record_invocation(m, start, end)
    }
    fn create_mission(&self, phase: Phase, metadata: Json) -> store::Result<MissionId> {
        self.inner.create_mission(phase, metadata)
    }
    fn update_mission_status(&self, m: &MissionId, status: MissionStatus) -> store::Result<()> {
        self.inner.update_mission_status(m, status)
    }
    fn get_mission(&self, m: &MissionId) -> store::Result<Mission> {
        self.inner.get_mission(m)
    }
    fn log_tool_call(&self, m: &MissionId, call: NewToolCall) -> store::Result<ToolCallId> {
        if call.tool_name == "echo.bench" {
            match self.stall {
                Some(stall) => std::thread::sleep(stall),
                None => panic!("bug in the store backend"),
            }
        }
        self.inner.log_tool_call(m, call)
    }
    fn log_tool_calls(
        &self,
        m: &MissionId,
        calls: Vec<NewToolCall>,
    ) -> store::Result<Vec<ToolCallId>> {
        self.inner.log_tool_calls(m, calls)
    }
    fn get_tool_history_page(&self, m: &MissionId, page: Page) -> store::Result<Vec<ToolCall>> {
        self.inner.get_tool_history_page(m, page)
    }
    fn find_tool_calls(
        &self,
        filter: &store::ToolCallFilter,
        f: &mut dyn FnMut(ToolCall) -> store::Result<()>,
    ) -> store::Result<()> {
        self.inner.find_tool_calls(filter, f)
    }
    fn record_decision(&self, m: &MissionId, d: NewDecision) -> store::Result<DecisionId> {
        self.inner.record_decision(m, d)
    }
    fn get_decisions_page(&self, m: &MissionId, page: Page) -> store::Result<Vec<Decision>> {
        self.inner.get_decisions_page(m, page)
    }
    fn find_decisions(
        &self,
        filter: &store::DecisionFilter,
        f: &mut dyn FnMut(Decision) -> store::Result<()>,
    ) -> store::Result<()> {
        self.inner.find_decisions(filter, f)
    }
    fn set_memory(&self, m: &MissionId, k: &str, v: Json, ttl: Option<u32>) -> store::Result<()> {
        self.inner.set_memory(m, k, v, ttl)
    }
    fn get_memory(&self, m: &MissionId, key: &str) -> store::Result<Option<Json>> {
        self.inner.get_memory(m, key)
    }
    fn delete_memory(&self, m: &MissionId, key: &str) -> store::Result<bool> {
        self.inner.delete_memory(m, key)
    }
    fn list_memory(&self, m: &MissionId) -> store::Result<Vec<store::MemoryEntry>> {
        self.inner.list_memory(m)
    }
    fn get_tool_call(&self, id: ToolCallId) -> store::Result<ToolCall> {
        self.inner.get_tool_call(id)
    }
    fn tool_stats(&self, m: Option<&MissionId>) -> store::Result<Vec<store::ToolStats>> {
        self.inner.tool_stats(m)
    }
    fn find_missions(&self, filter: &store::MissionFilter) -> store::Result<Vec<Mission>> {
        self.inner.find_missions(filter)
    }
    fn prune(
        &self,
        filter: &store::PruneFilter,
        dry_run: bool,
        report: &mut dyn FnMut(&store::PrunedMission),
    ) -> store::Result<store::PruneSummary> {
        self.inner.prune(filter, dry_run, report)
    }
    fn start_playbook_run(
        &self,
        m: &MissionId,
        name: &str,
        p: Option<Phase>,
    ) -> store::Result<PlaybookRunId> {
        self.inner.start_playbook_run(m, name, p)
    }
    fn complete_playbook_run(
        &self,
        run: PlaybookRunId,
        ok: bool,
        metrics: Option<Json>,
        error: Option<&str>,
    ) -> store::Result<()> {
        self.inner.complete_playbook_run(run, ok, metrics, error)
    }
    fn get_playbook_runs(&self, m: &MissionId) -> store::Result<Vec<PlaybookRun>> {
        self.inner.get_playbook_runs(m)
    }
}

#[test]
fn a_panic_in_the_hosts_store_call_is_internal_for_the_guest_not_a_crash() {
    let (_dir, store) = temp_store();
    let m = store
        .create_mission(Phase::Coding, json!({}).into())
        .unwrap();
    let runtime = Faulty::runtime(&store, None, false);
    let echo = runtime.load(guest("echo")).unwrap();
    let report = runtime
        .run(&echo, &Request::new(m.clone(), json!({ "log": 1 })))
        .unwrap();
    let failure = report.outcome.unwrap_err();
    assert_eq!(failure.kind, FailureKind::ToolError);
    assert!(
        failure.message.contains("Internal")
            && failure.message.contains("bug in the store backend"),
        "{}",
        failure.message
    );
    let own = store.get_tool_history(&m).unwrap().pop().unwrap();
    assert!(!own.success, "the run is logged as failed");
    // The same runtime keeps serving.
    let ok = runtime
        .run(&echo, &Request::new(m, json!({ "fine": true })))
        .unwrap();
    assert_eq!(ok.outcome.unwrap(), json!({ "fine": true }));
}

#[test]
fn a_host_panic_mid_invocation_still_ends_its_row() {
    let (_dir, store) = temp_store();
    let m = store
        .create_mission(Phase::Coding, json!({}).into())
        .unwrap();
    let runtime = Faulty::runtime(&store, None, true);
    let echo = runtime.load(guest("echo")).unwrap();
    let report = runtime
        .run(&echo, &Request::new(m.clone(), json!({})))
        .expect("the run is recorded");
    let failure = report.outcome.unwrap_err();
    assert_eq!(failure.kind, FailureKind::HostError);
    assert!(
        failure.message.contains("invocation set-up"),
        "{}",
        failure.message
    );
    let rows = store.get_tool_history(&m).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].id, report.call_id);
    assert_eq!(rows[0].outcome, Some(store::Outcome::HostError));
}

#[test]
fn time_spent_inside_store_calls_counts_against_the_timeout() {
    let (_dir, store) = temp_store();
    let m = store
        .create_mission(Phase::Coding, json!({}).into())
        .unwrap();
    let runtime = Faulty::runtime(&store, Some(Duration::from_millis(150)), false);
    let echo = runtime.load(guest("echo")).unwrap();
    // Ten stalled calls need 1.5 s; the budget is 400 ms.
    let limits = Limits::default()
        .timeout(Duration::from_millis(400))
        .unwrap();
    let report = runtime
        .run(
            &echo,
            &Request::new(m.clone(), json!({ "log": 10 })).limits(limits),
        )
        .unwrap();
    let failure = report.outcome.unwrap_err();
    assert_eq!(failure.kind, FailureKind::Timeout, "{}", failure.message);
    // Finishing all ten would take 1.5 s; the run ended well before that.
    assert!(
        report.duration < Duration::from_millis(1400),
        "{:?}",
        report.duration
    );
    let logged = store
        .get_tool_history(&m)
        .unwrap()
        .iter()
        .filter(|c| c.tool_name == "echo.bench")
        .count();
    assert!(logged < 10, "stopped before finishing: {logged}");
}

#[test]
fn a_read_running_past_its_deadline_is_interrupted() {
    let (_dir, store) = temp_store();
    let m = store
        .create_mission(Phase::Coding, json!({}).into())
        .unwrap();
    let calls: Vec<NewToolCall> = (0..2000)
        .map(|i| NewToolCall::success("seed", json!({ "i": i })))
        .collect();
    store.log_tool_calls(&m, calls).unwrap();
    let expired = Instant::now();
    let err = store::with_deadline(expired, || store.get_tool_history(&m)).unwrap_err();
    assert!(matches!(err, StoreError::Interrupted), "{err:?}");
    let ok = store::with_deadline(Instant::now() + Duration::from_secs(60), || {
        store.get_tool_history(&m)
    });
    assert_eq!(ok.unwrap().len(), 2000);
    // Outside any deadline, and on the same pooled connection, reads work.
    assert_eq!(store.get_tool_history(&m).unwrap().len(), 2000);
}

#[test]
fn reads_check_the_deadline_between_rows() {
    let (_dir, store) = temp_store();
    let m = store
        .create_mission(Phase::Coding, json!({}).into())
        .unwrap();
    for i in 0..5 {
        store
            .log_tool_call(&m, NewToolCall::success("t", json!(i)))
            .unwrap();
    }
    let mut seen = 0;
    let outcome = with_deadline(Instant::now() + Duration::from_millis(50), || {
        store.each_tool_call(&m, &mut |_| {
            seen += 1;
            // The first row takes past the deadline; no second row follows.
            std::thread::sleep(Duration::from_millis(80));
            Ok(())
        })
    });
    assert!(
        matches!(outcome, Err(StoreError::Interrupted)),
        "{outcome:?}"
    );
    assert_eq!(seen, 1);
    let page = with_deadline(Instant::now() - Duration::from_millis(1), || {
        store.get_tool_history_page(&m, Page::first(10))
    });
    assert!(matches!(page, Err(StoreError::Interrupted)), "{page:?}");
}

// Compile-time: what embedders share between threads is Send + Sync.
const _: fn() = || {
    fn is<T: Send + Sync>() {}
    is::<SqliteStore>();
    is::<Runtime>();
    is::<Arc<vibe_store::sandbox::Tool>>();
};
