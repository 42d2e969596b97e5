//! `vibe demo`: one mission, planned by the example tool in the sandbox.

use std::path::{Path, PathBuf};

use serde_json::json;
use vibe_store::sandbox::Request;
use vibe_store::{Phase, SqliteStore};

use crate::{sandbox_runtime, table, CliResult, Failure};

const GOAL: &str = "add rate limiting to the public API";

pub fn run(store: &SqliteStore, component: Option<PathBuf>) -> CliResult {
    let component = match component {
        Some(path) => path,
        None => find_guest("planner").ok_or_else(|| Failure {
            message:
                "the example planner component is not built; run `./x demo` (or `./x guests`) first"
                    .into(),
            code: 1,
        })?,
    };
    let mission = store.create_mission(
        Phase::Planning,
        &json!({ "goal": GOAL, "source": "vibe demo" }),
    )?;
    let runtime = sandbox_runtime(store)?;
    let planner = runtime.load(&component)?;
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

    println!("database  {}", store.path().display());
    println!(
        "tool      {} (sha256 {})",
        component.display(),
        &planner.digest()[..16]
    );
    match &report.outcome {
        Ok(output) => println!("output    {output}"),
        Err(failure) => println!("FAILED    {failure}"),
    }
    println!();
    table::print_mission(&store.get_mission(&mission)?);
    println!("\ntool calls");
    table::print_tool_calls(&store.get_tool_history(&mission)?);
    println!("\ndecisions");
    table::print_decisions(&store.get_decisions(&mission)?);
    match report.outcome {
        Ok(_) => Ok(()),
        Err(failure) => Err(Failure {
            message: failure.message,
            code: 5,
        }),
    }
}

/// A guest component `./x guests` builds: in `VIBE_GUEST_DIR`, beside the
/// working directory's checkout, or in the checkout this binary was built
/// from.
pub fn find_guest(name: &str) -> Option<PathBuf> {
    const BUILT: &str = "guest/target/wasm32-wasip2/release";
    let file = format!("{name}.wasm");
    let checkout = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    std::env::var_os("VIBE_GUEST_DIR")
        .map(|dir| PathBuf::from(dir).join(&file))
        .into_iter()
        .chain([
            Path::new(BUILT).join(&file),
            checkout.join(BUILT).join(&file),
        ])
        .find(|path| path.is_file())
        .map(|path| path.canonicalize().unwrap_or(path))
}
