//! Runtimes on a test store, all sharing the session's component cache: one
//! with a given number of slots, and [`Sandbox`], a store in a temp dir with
//! a runtime on it and what the tests ask of both.

use std::sync::Arc;

use serde_json::json;
use vibe_store::sandbox::{FailureKind, Request, RunReport, Runtime, RuntimeConfig, Tool};
use vibe_store::{MissionId, MissionStore, Phase, SqliteStore};

use super::{component_cache, count, guest, temp_store};

/// The default configuration, with the component cache shared by the test
/// runs, and spare instances for every tool, however fast it instantiates
/// (so that tests running a tool more than once may run spares too: a
/// call finds one when the making thread was quicker than the caller).
pub fn config() -> RuntimeConfig {
    RuntimeConfig::default()
        .cache_dir(component_cache())
        .spare_threshold(std::time::Duration::ZERO)
}

/// A runtime on `store` running at most `slots` invocations at once.
pub fn runtime(store: impl MissionStore, slots: u32) -> Runtime {
    let config = config().max_concurrent(slots).unwrap();
    Runtime::new(store, config).unwrap()
}

/// A store in a temp dir and a runtime on it.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
    pub store: SqliteStore,
    pub runtime: Runtime,
}

impl Sandbox {
    pub fn new() -> Self {
        let (dir, store) = temp_store();
        let runtime = Runtime::new(store.clone(), config()).expect("runtime");
        Sandbox {
            dir,
            store,
            runtime,
        }
    }

    pub fn tool(&self, name: &str) -> Arc<Tool> {
        self.runtime.load(guest(name)).expect("guest loads")
    }

    pub fn mission(&self) -> MissionId {
        self.store
            .create_mission(Phase::Coding, json!({ "goal": "test" }).into())
            .unwrap()
    }

    pub fn run(&self, name: &str, request: Request) -> RunReport {
        self.runtime
            .run(&self.tool(name), &request)
            .expect("the run is recorded")
    }

    pub fn rows(&self, sql: &str) -> i64 {
        count(self.store.path(), sql)
    }

    /// The invocation's own audit row: failed, with this error text.
    pub fn assert_logged_failure(
        &self,
        mission: &MissionId,
        report: &RunReport,
        tool: &str,
        needle: &str,
    ) {
        let calls = self.store.get_tool_history(mission).unwrap();
        let row = calls
            .iter()
            .find(|c| c.id == report.call_id)
            .expect("run is logged");
        assert_eq!(row.tool_name, tool);
        assert!(!row.success, "run logged as failed");
        let message = row.error_message.as_deref().unwrap_or_default();
        assert!(
            message.contains(needle),
            "{message:?} should mention {needle:?}"
        );
        assert_eq!(row.result, None);
        assert!(row.duration_ms.is_some());
    }

    /// The host still serves: a well-behaved tool runs and is logged.
    pub fn assert_still_serving(&self) {
        let m = self.mission();
        let report = self.run("echo", Request::new(m.clone(), json!({ "still": "here" })));
        assert_eq!(report.outcome.unwrap(), json!({ "still": "here" }));
        assert_eq!(self.store.get_tool_history(&m).unwrap().len(), 1);
    }
}

/// How the run failed: its kind and message.
pub fn failure(report: &RunReport) -> (FailureKind, String) {
    let f = report.outcome.clone().expect_err("the tool must fail");
    (f.kind, f.message)
}
