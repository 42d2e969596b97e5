//! `vibe bench`: the store and the sandbox measured on this machine (the
//! rows themselves are `vibe_store::bench`).

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::demo::find_guest;
use crate::output::out;
use crate::{CliResult, Exit, Failure};

#[derive(Args)]
pub struct BenchArgs {
    /// The trivial echo component (default: echo.wasm in VIBE_GUEST_DIR,
    /// which `./x bench` sets).
    #[arg(long)]
    pub echo: Option<PathBuf>,
    /// Tool calls in the scale row.
    #[arg(long, default_value_t = 1_000_000)]
    pub scale_calls: u64,
    /// Missions in the scale row.
    #[arg(long, default_value_t = 10_000)]
    pub scale_missions: u64,
    /// How long each concurrency row runs.
    #[arg(long, default_value_t = 1500)]
    pub window_ms: u64,
    /// Calls per write-path row (normal durability; a tenth in full).
    #[arg(long, default_value_t = 3000)]
    pub ops: usize,
    /// The Python with the MCP SDK, for the MCP comparison row (`./x
    /// bench` sets it).
    #[arg(long, env = "VIBE_BENCH_PYTHON", required_unless_present = "writer")]
    pub python: Option<PathBuf>,
    /// The Python SDK echo server the MCP row compares with (`./x bench`
    /// sets it).
    #[arg(
        long,
        env = "VIBE_BENCH_PYTHON_ECHO_SERVER",
        required_unless_present = "writer"
    )]
    pub python_echo_server: Option<PathBuf>,
    /// Where the same tools are built in each language, for the language
    /// rows: wasm32-wasip2/release, python and js in DIR (`./x bench` sets
    /// it).
    #[arg(
        long,
        value_name = "DIR",
        env = "VIBE_BENCH_LANGUAGE_TOOLS",
        required_unless_present = "writer"
    )]
    pub language_tools: Option<PathBuf>,
    /// The PostgreSQL server of the PostgreSQL rows (its user must be
    /// allowed to create databases); default: a throwaway cluster.
    #[arg(long)]
    pub postgres: Option<String>,
    /// Run only the PostgreSQL rows (row 13).
    #[arg(long)]
    pub postgres_only: bool,
    /// (The four-process row's writer: log to this store, print the count.)
    #[arg(long, hide = true)]
    pub writer: Option<String>,
    #[arg(long, hide = true, default_value_t = 4)]
    pub writer_threads: usize,
    #[arg(long, hide = true, default_value_t = 0)]
    pub writer_start_ms: u64,
}

pub fn bench(args: &BenchArgs) -> CliResult {
    let other = |e: &dyn std::fmt::Display| Failure::new(e.to_string(), Exit::Other);
    if let Some(location) = &args.writer {
        let calls = vibe_store::bench::writer_process(
            location,
            args.writer_threads,
            args.writer_start_ms,
            Duration::from_millis(args.window_ms),
        )
        .map_err(|e| other(&e))?;
        return out(format_args!("{calls}\n"));
    }
    let echo = match &args.echo {
        Some(path) => path.clone(),
        None => find_guest("echo", "--echo", "./x bench")?,
    };
    let given = |arg: &Option<PathBuf>| arg.clone().expect("clap requires it without --writer");
    let language_tools = given(&args.language_tools);
    let scratch = tempfile::Builder::new()
        .prefix("vibe-bench-")
        .tempdir_in(std::env::current_dir().map_err(|e| other(&e))?)
        .map_err(|e| other(&e))?;
    let config = vibe_store::bench::BenchConfig {
        dir: scratch.path().to_owned(),
        echo_component: echo,
        vibe_binary: std::env::current_exe().map_err(|e| other(&e))?,
        scale_calls: args.scale_calls,
        scale_missions: args.scale_missions,
        window: Duration::from_millis(args.window_ms),
        ops: args.ops,
        python: given(&args.python),
        python_echo_server: given(&args.python_echo_server),
        language_tools: [
            ("rust", "wasm32-wasip2/release"),
            ("python", "python"),
            ("js", "js"),
        ]
        .iter()
        .flat_map(|(language, dir)| {
            ["echo", "reviewer"].map(|name| {
                (
                    language.to_string(),
                    name.to_string(),
                    language_tools.join(dir).join(format!("{name}.wasm")),
                )
            })
        })
        .collect(),
        postgres: args.postgres.clone(),
        postgres_only: args.postgres_only,
    };
    vibe_store::bench::run(&config, &mut std::io::stdout().lock()).map_err(|e| other(&e))
}
