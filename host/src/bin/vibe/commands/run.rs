//! `vibe run`: one tool, one invocation, in the sandbox; `vibe compile`:
//! tools compiled ahead of time, so that no invocation waits for the
//! compiler.

use std::time::{Duration, Instant};

use serde::Serialize;
use vibe_store::sandbox::{FailureKind, Grants, Limits, Request, Runtime, RuntimeConfig};
use vibe_store::store::Outcome;
use vibe_store::{AnyStore, Json, MissionId, MissionStore};

use crate::args::{json_value, CompileArgs, GrantArg, RunArgs};
use crate::open::{cache_dir, sandbox_runtime};
use crate::output::json::{print_json, print_json_text};
use crate::signals;
use crate::{CliResult, Exit, Failure};
use vibe_store::terminal::{one_line, visible_line};

pub fn run(store: &AnyStore, args: RunArgs) -> CliResult {
    let input = json_value("--input", args.input)?;
    let mission: MissionId = args.mission.parse()?;
    // An unknown mission exits 3 before the component is even read.
    store.get_mission(&mission)?;
    let runtime = sandbox_runtime(
        store,
        RuntimeConfig::default().max_component_bytes(args.max_component_mb * 1024 * 1024)?,
        4,
    )?;
    let mut grants = Grants::none();
    for grant in args.grants {
        match grant {
            GrantArg::CreateMissions => grants = grants.with_create_missions(),
            GrantArg::ReadAllMissions => grants = grants.with_read_all_missions(),
        }
    }
    // clap has checked each flag's range; the library checks them again.
    let mut limits = Limits::default()
        .timeout(Duration::from_millis(args.timeout_ms))?
        .memory_mb(args.memory_mb as usize)?
        .max_page_rows(args.max_page_rows)?
        .max_json_bytes(args.max_json_bytes as usize)?;
    if let Some(bytes) = args.max_page_bytes {
        limits = limits.max_page_bytes(bytes as usize)?;
    }
    let stop = signals::Stop::install()
        .map_err(|e| Failure::new(format!("cannot handle signals: {e}"), Exit::Other))?;
    let mut request = Request::new(mission, input)
        .grants(grants)
        .limits(limits)
        .cancel_flag(stop.flag());
    if let Some(name) = args.name {
        request = request.name(name);
    }
    // A component that cannot be loaded is recorded on the mission too.
    let report = runtime.run_file(&args.component, &request)?;
    let stopped = match (&report.outcome, stop.signal()) {
        (Err(failure), Some((signal, exit))) if failure.kind == FailureKind::Cancelled => {
            Some(Failure::new(
                format!(
                    "stopped by {signal}: invocation {} was cancelled and its row completed",
                    report.call_id
                ),
                exit,
            ))
        }
        _ => None,
    };
    // A stop's exit code outlives a report that could not be written (its
    // reader went away with the terminal that sent SIGHUP).
    let printed = match args.json {
        false => Ok(()),
        true => print_report(&report),
    };
    if let Some(stopped) = stopped {
        return Err(stopped);
    }
    printed?;
    match report.outcome {
        Ok(output) => {
            if !args.json {
                print_json_text(output.as_str())?;
            }
            Ok(())
        }
        Err(failure) => Err(Failure::new(
            failure.message,
            if failure.kind == FailureKind::LoadError {
                Exit::InvalidInput
            } else {
                Exit::CheckFailed
            },
        )),
    }
}

/// `vibe run --json`'s report on stdout.
fn print_report(report: &vibe_store::sandbox::RunReport) -> CliResult {
    /// `vibe run --json`: the invocation as its row records it, the
    /// output exactly as the tool returned it.
    #[derive(Serialize)]
    struct Report<'a> {
        call_id: vibe_store::ToolCallId,
        duration_ms: u128,
        outcome: Outcome,
        output: Option<&'a Json>,
        error: Option<&'a str>,
    }
    print_json(&Report {
        call_id: report.call_id,
        duration_ms: report.duration.as_millis(),
        outcome: report
            .outcome
            .as_ref()
            .map_or_else(|f| f.kind.outcome(), |_| Outcome::Ok),
        output: report.outcome.as_ref().ok(),
        error: report.outcome.as_ref().err().map(|f| f.message.as_str()),
    })
}

/// Compiles each component into the cache, one line per component on
/// stdout; a component that cannot be compiled is said on stderr and the
/// others are still compiled (exit 4 at the end).
pub fn compile(args: &CompileArgs) -> CliResult {
    let mut config =
        RuntimeConfig::default().max_component_bytes(args.max_component_mb * 1024 * 1024)?;
    if let Some(dir) = cache_dir() {
        config = config.cache_dir(dir);
    }
    let mut failed = 0;
    for path in &args.components {
        let started = Instant::now();
        match Runtime::precompile(&config, path) {
            Ok(done) => {
                let short = &done.component.sha256[..12];
                let name = path.display().to_string();
                let shown = visible_line(&name);
                if done.compiled {
                    let took = started.elapsed().as_secs_f64();
                    println!("compiled {shown} (sha256 {short}...) in {took:.2} s");
                } else {
                    println!("already compiled {shown} (sha256 {short}...)");
                }
            }
            Err(e) => {
                failed += 1;
                eprintln!("vibe: {}", visible_line(&one_line(&e.to_string())));
            }
        }
    }
    match failed {
        0 => Ok(()),
        n => Err(Failure::new(
            format!(
                "{n} of {} components could not be compiled",
                args.components.len()
            ),
            Exit::InvalidInput,
        )),
    }
}
