//! The library as an async embedder meets it: `host/examples/async_agent.rs`
//! run as it stands, eight agents at once on one tokio runtime.

#[allow(dead_code)]
#[path = "../../host/examples/async_agent.rs"]
mod async_agent;

use std::future::Future;

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

/// `unblock` on `runtime`: one task blocks in `unblock` until another task
/// of the same runtime has run, which it can only do if the blocked call
/// left the runtime's thread free for it. True if the other task ran.
fn unblock_leaves_the_runtime_free(runtime: tokio::runtime::Runtime) -> bool {
    use std::sync::mpsc;
    use std::time::Duration;
    let (ran, seen) = mpsc::channel::<()>();
    runtime.block_on(async move {
        let blocked = tokio::spawn(vibe_store::unblock(move || {
            seen.recv_timeout(Duration::from_secs(10)).is_ok()
        }));
        // Give the blocked task time to start before this one is spawned.
        tokio::time::sleep(Duration::from_millis(50)).await;
        let other = tokio::spawn(async move { ran.send(()).unwrap() });
        let seen = blocked.await.unwrap();
        other.await.unwrap();
        seen
    })
}

#[test]
fn unblock_runs_in_place_on_a_multi_threaded_runtime_without_stalling_its_tasks() {
    // One worker: a call that blocked the worker itself would leave the
    // other task no thread to run on.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    assert!(unblock_leaves_the_runtime_free(runtime));
}

#[test]
fn unblock_uses_the_blocking_pool_on_a_current_thread_runtime() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    assert!(unblock_leaves_the_runtime_free(runtime));
}

#[test]
fn unblock_outside_a_runtime_runs_directly_and_a_panic_reaches_the_caller() {
    let thread = std::thread::current().id();
    // Outside a runtime the call finishes on the first poll.
    let mut call = std::pin::pin!(vibe_store::unblock(|| std::thread::current().id()));
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    assert_eq!(
        call.as_mut().poll(&mut context),
        std::task::Poll::Ready(thread)
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        runtime.block_on(vibe_store::unblock(|| panic!("the tool's own panic")))
    }))
    .unwrap_err();
    assert_eq!(
        panicked.downcast_ref::<&str>(),
        Some(&"the tool's own panic")
    );
}
