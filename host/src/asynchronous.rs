//! Calling the store and the runtime from async code.
//!
//! Both block the calling thread (a commit, a tool's whole run). The usual
//! way out, `tokio::task::spawn_blocking`, hands each call to another thread
//! and wakes the caller's thread again when it ends: two thread wake-ups per
//! call, which `vibe bench` (row 9) measured at twice the cost of a direct
//! `log_tool_call`. [`unblock`] runs the call on the caller's own thread
//! where tokio allows it, and falls back to the blocking pool where not.

/// Runs `work`, which blocks, from async code, and returns what it returns.
///
/// - On a multi-threaded tokio runtime (a worker, or inside its `block_on`),
///   `work` runs in place, in `tokio::task::block_in_place`: the worker's
///   other tasks move to another thread meanwhile, and the call pays no
///   thread hop.
/// - On a current-thread runtime, where blocking in place would stall every
///   task, `work` runs on the blocking pool (`spawn_blocking`).
/// - Outside any runtime, `work` runs directly.
///
/// A panic in `work` resumes in the caller, as a direct call's would.
///
/// # Panics
///
/// Where tokio forbids blocking in place although the runtime is
/// multi-threaded (a task on a `LocalSet`, or a current-thread runtime's
/// task that entered a multi-threaded runtime's handle), as
/// `block_in_place` does; call `spawn_blocking` there.
///
/// # Example
///
/// ```no_run
/// # async fn example(store: vibe_store::SqliteStore, mission: vibe_store::MissionId)
/// #     -> Result<(), vibe_store::StoreError> {
/// use serde_json::json;
/// use vibe_store::{unblock, MissionStore, NewToolCall};
///
/// let id = unblock({
///     let store = store.clone();
///     move || store.log_tool_call(&mission, NewToolCall::success("grep", json!({})))
/// })
/// .await?;
/// # Ok(()) }
/// ```
pub async fn unblock<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current().map(|handle| handle.runtime_flavor()) {
        Ok(RuntimeFlavor::MultiThread) => tokio::task::block_in_place(work),
        Ok(_) => match tokio::task::spawn_blocking(work).await {
            Ok(value) => value,
            Err(join) => std::panic::resume_unwind(join.into_panic()),
        },
        Err(_) => work(),
    }
}
