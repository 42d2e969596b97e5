//! The library as an async embedder meets it: `host/examples/async_agent.rs`
//! run as it stands, eight agents at once on one tokio runtime.

#[allow(dead_code)]
#[path = "../../host/examples/async_agent.rs"]
mod async_agent;

use vibe_store::{MissionStore, SqliteStore};

use crate::common::guest;

#[test]
fn eight_async_agents_run_tools_and_log_without_blocking_the_runtime() {
    let dir = tempfile::tempdir().unwrap();
    // Two worker threads: blocking calls on them would stall the agents;
    // through spawn_blocking they run side by side.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let results = runtime
        .block_on(async_agent::run_agents(dir.path(), &guest("echo"), 8))
        .unwrap();
    assert_eq!(results.len(), 8);
    let store = SqliteStore::open(dir.path().join("vibe_agency.db")).unwrap();
    for (n, (mission, output)) in results.iter().enumerate() {
        assert_eq!(output, &format!("{{\"agent\":{n}}}"));
        let calls = store.get_tool_history(mission).unwrap();
        assert_eq!(calls.len(), 2, "the plan step and the tool's invocation");
        assert_eq!(
            store.get_decisions(mission).unwrap()[0]
                .rationale
                .as_deref(),
            Some(output.as_str())
        );
    }
}
