//! vibe-store from async code: several agents on one tokio runtime, each
//! logging its steps and running a sandboxed tool, none blocking the
//! runtime's worker threads.
//!
//! The store and the sandbox block the calling thread (an fsync per commit,
//! a tool's whole run), so async code calls them through
//! [`vibe_store::unblock`]: in place on a multi-threaded runtime (no thread
//! hop), on tokio's blocking pool otherwise. Both are cheap to clone and
//! safe to share: clone the handle into the closure. `vibe bench` measures
//! it beside a direct call and beside `spawn_blocking` (row 9).
//!
//! Run it with the echo tool `./x guests` builds:
//!
//!     cargo run --example async_agent -- guest/target/wasm32-wasip2/release/echo.wasm

use std::path::{Path, PathBuf};

use serde_json::json;
use vibe_store::sandbox::{Request, Runtime, RuntimeConfig, Tool};
use vibe_store::{MissionId, MissionStore, NewDecision, NewToolCall, Phase, SqliteStore};

/// One agent: creates its mission, logs a step, runs the tool, records a
/// decision. Returns its mission and the tool's output.
pub async fn agent(
    store: SqliteStore,
    runtime: Runtime,
    tool: std::sync::Arc<Tool>,
    n: u32,
) -> Result<(MissionId, String), vibe_store::Error> {
    let mission = {
        let store = store.clone();
        blocking(move || store.create_mission(Phase::Coding, json!({ "agent": n }).into())).await?
    };
    {
        let (store, mission) = (store.clone(), mission.clone());
        blocking(move || {
            store.log_tool_call(&mission, NewToolCall::success("plan", json!({ "step": n })))
        })
        .await?;
    }
    let report = {
        let request = Request::new(mission.clone(), json!({ "agent": n }));
        blocking(move || runtime.run(&tool, &request)).await?
    };
    let output = report
        .outcome
        .map(|json| json.into_string())
        .unwrap_or_else(|failure| format!("failed: {failure}"));
    {
        let (store, mission, rationale) = (store.clone(), mission.clone(), output.clone());
        blocking(move || {
            store.record_decision(&mission, NewDecision::new("done", rationale, "agent"))
        })
        .await?;
    }
    Ok((mission, output))
}

/// Runs blocking store or sandbox work from async code.
async fn blocking<T, E>(
    work: impl FnOnce() -> Result<T, E> + Send + 'static,
) -> Result<T, vibe_store::Error>
where
    T: Send + 'static,
    E: Into<vibe_store::Error> + Send + 'static,
{
    vibe_store::unblock(work).await.map_err(Into::into)
}

/// Opens a store in `dir`, loads `component`, and runs `agents` agents at
/// once; returns each agent's mission and output.
pub async fn run_agents(
    dir: &Path,
    component: &Path,
    agents: u32,
) -> Result<Vec<(MissionId, String)>, vibe_store::Error> {
    let store = SqliteStore::open(dir.join("vibe_agency.db"))?;
    let runtime = Runtime::new(store.clone(), RuntimeConfig::default().max_concurrent(8)?)?;
    let tool = {
        let (runtime, component) = (runtime.clone(), component.to_owned());
        blocking(move || runtime.load(component)).await?
    };
    let tasks: Vec<_> = (0..agents)
        .map(|n| tokio::spawn(agent(store.clone(), runtime.clone(), tool.clone(), n)))
        .collect();
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.expect("agent task")?);
    }
    Ok(results)
}

#[allow(dead_code)] // unused when the tests include this file as a module
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let component: PathBuf = std::env::args()
        .nth(1)
        .ok_or("usage: async_agent COMPONENT.wasm")?
        .into();
    let dir = std::env::temp_dir().join(format!("vibe-async-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    for (mission, output) in run_agents(&dir, &component, 8).await? {
        println!("{mission}  {output}");
    }
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
