//! `vibe demo`: one mission, planned by the example tool in the sandbox.

use std::path::PathBuf;

use serde_json::json;
use vibe_store::sandbox::{Request, RuntimeConfig};
use vibe_store::terminal::visible;
use vibe_store::{AnyStore, MissionStore, Phase};

use crate::open::sandbox_runtime;
use crate::output::{out, table, walk};
use crate::{CliResult, Exit, Failure};

const GOAL: &str = "add rate limiting to the public API";

pub fn run(store: &AnyStore, component: Option<PathBuf>) -> CliResult {
    let component = match component {
        Some(path) => path,
        None => find_guest("planner", "--component", "./x demo")?,
    };
    // Loaded before the mission exists: a component that cannot be loaded
    // leaves nothing behind.
    let runtime = sandbox_runtime(store, RuntimeConfig::default(), 4)?;
    let planner = runtime.load(&component)?;
    let mission = store.create_mission(
        Phase::Planning,
        json!({ "goal": GOAL, "source": "vibe demo" }).into(),
    )?;
    let input = json!({
        "goal": GOAL,
        "steps": [
            "measure current request rates per client",
            "choose a token-bucket limit per API key",
            "implement the limiter as middleware",
            "load-test the limits and the 429 responses",
        ],
    });
    let report = runtime.run(&planner, &Request::new(mission.clone(), input))?;

    out(format_args!("database  {}\n", store.location()))?;
    out(format_args!(
        "tool      {} (sha256 {})\n",
        component.display(),
        &planner.digest()[..16]
    ))?;
    match &report.outcome {
        Ok(output) => out(format_args!("output    {}\n", visible(output.as_str())))?,
        Err(failure) => out(format_args!("FAILED    {}\n", visible(&failure.message)))?,
    }
    out(format_args!("\n"))?;
    table::print_mission(&store.get_mission(&mission)?)?;
    out(format_args!("\ntool calls\n"))?;
    let mut calls = table::tool_calls_table(false);
    walk(
        |f| store.each_tool_call(&mission, f),
        |call| calls.push(table::tool_call_row(&call, false)),
    )?;
    calls.finish()?;
    out(format_args!("\ndecisions\n"))?;
    let mut decisions = table::decisions_table(false);
    walk(
        |f| store.each_decision(&mission, f),
        |decision| decisions.push(table::decision_row(&decision, false)),
    )?;
    decisions.finish()?;
    match report.outcome {
        Ok(_) => Ok(()),
        Err(failure) => Err(Failure::new(failure.message, Exit::CheckFailed)),
    }
}

/// One of the project's example components, `NAME.wasm` in
/// `VIBE_GUEST_DIR` (the binary knows no folder of a checkout); when it is
/// not there, the failure says how to get one: the command's `flag`, the
/// variable, or from a clone the `x` command that builds it and sets it.
pub fn find_guest(name: &str, flag: &str, x: &str) -> Result<PathBuf, Failure> {
    let file = format!("{name}.wasm");
    let dir = std::env::var_os("VIBE_GUEST_DIR").map(PathBuf::from);
    if let Some(path) = dir.as_ref().map(|dir| dir.join(&file)) {
        if path.is_file() {
            return Ok(path.canonicalize().unwrap_or(path));
        }
    }
    let missing = match &dir {
        Some(dir) => format!("no {file} in VIBE_GUEST_DIR ({})", dir.display()),
        None => format!("no {name} component: VIBE_GUEST_DIR is not set"),
    };
    Err(Failure::new(
        format!(
            "{missing}; pass {flag} FILE.wasm, or set VIBE_GUEST_DIR to the folder that holds {file} (from a clone of vibe-store, `{x}` builds it and sets it)"
        ),
        Exit::Other,
    ))
}
