//! `vibe-bench`, also run as `vibe bench`: measures the store and the
//! sandbox on this machine (use a release build: `./x bench`). Uses a
//! scratch directory under the working directory, never a `--db`.
//!
//! Exit codes: 0 ok, 1 a row failed or something it needs is missing (the
//! echo component, the `vibe` executable, PostgreSQL), 2 usage.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use vibe_bench::BenchConfig;

/// Measure the store and the sandbox on this machine, side by side in one
/// run (use a release build: `./x bench`). Uses a scratch directory under
/// the working directory, never --db.
#[derive(Parser)]
#[command(name = "vibe-bench", version)]
struct Args {
    /// The trivial echo component (default: the one `./x guests` builds).
    #[arg(long)]
    echo: Option<PathBuf>,
    /// Tool calls in the scale row.
    #[arg(long, default_value_t = 1_000_000)]
    scale_calls: u64,
    /// Missions in the scale row.
    #[arg(long, default_value_t = 10_000)]
    scale_missions: u64,
    /// How long each concurrency row runs.
    #[arg(long, default_value_t = 1500)]
    window_ms: u64,
    /// Calls per write-path row (normal durability; a tenth in full).
    #[arg(long, default_value_t = 3000)]
    ops: usize,
    /// The Python with the MCP SDK, for the MCP comparison row.
    #[arg(long, default_value = ".venv/bin/python")]
    python: PathBuf,
    /// The Python SDK echo server the MCP row compares with.
    #[arg(long, default_value = "tests/python/echo_server.py")]
    python_echo_server: PathBuf,
    /// The Python side of row 14 (vibe_store against ARCH-002's way).
    #[arg(long, default_value = "python/bench/log_tool_call.py")]
    python_store_bench: PathBuf,
    /// The ARCH-001 tables ARCH-002's way writes to in row 14.
    #[arg(long, default_value = "schema/0001_init.sql")]
    arch001_schema: PathBuf,
    /// The PostgreSQL server of the PostgreSQL rows (its user must be
    /// allowed to create databases); default: a throwaway cluster.
    #[arg(long)]
    postgres: Option<String>,
    /// Run only the PostgreSQL rows (row 13).
    #[arg(long)]
    postgres_only: bool,
    /// Run only these groups of rows (comma-separated): write, concurrency,
    /// sandbox, scale, pages, async, mcp, languages, postgres, python.
    #[arg(long, value_delimiter = ',', value_parser = clap::builder::PossibleValuesParser::new(vibe_bench::GROUPS))]
    only: Vec<String>,
    /// The `vibe` executable whose commands the process rows time (default:
    /// the one `vibe bench` was run from, else the one beside this
    /// executable, else the one on PATH).
    #[arg(long, env = "VIBE")]
    vibe: Option<PathBuf>,
    /// (The four-process row's writer: log to this store, print the count.)
    #[arg(long, hide = true)]
    writer: Option<String>,
    #[arg(long, hide = true, default_value_t = 4)]
    writer_threads: usize,
    #[arg(long, hide = true, default_value_t = 0)]
    writer_start_ms: u64,
    /// (Row 11's floor: serve the MCP SDK alone on stdio, see `mcp_floor`.)
    #[arg(long, hide = true)]
    serve_mcp_floor: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("vibe-bench: {}", message.replace('\n', " "));
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> Result<(), String> {
    let text = |e: &dyn std::fmt::Display| e.to_string();
    if args.serve_mcp_floor {
        return vibe_bench::mcp_floor::serve().map_err(|e| text(&e));
    }
    if let Some(location) = &args.writer {
        let calls = vibe_bench::writer_process(
            location,
            args.writer_threads,
            args.writer_start_ms,
            Duration::from_millis(args.window_ms),
        )
        .map_err(|e| text(&e))?;
        println!("{calls}");
        return Ok(());
    }
    let echo = match &args.echo {
        Some(path) => path.clone(),
        None => find_guest("echo")
            .ok_or("the echo component is not built; run `./x bench` (or `./x guests`)")?,
    };
    let vibe_binary = match &args.vibe {
        Some(path) => path.clone(),
        None => find_executable("vibe").ok_or(
            "the `vibe` executable was found neither beside vibe-bench nor on PATH; build both \
             with `cargo build --release --bin vibe --bin vibe-bench`, or give --vibe PATH",
        )?,
    };
    // Row 13 is part of every run that includes it: said now, not after
    // the other rows.
    if (args.only.is_empty() || args.only.iter().any(|g| g == "postgres"))
        && args.postgres.is_none()
        && vibe_test_support::pg::server_binaries().is_none()
    {
        return Err(format!(
            "{}; or give --postgres postgres://USER@HOST:PORT/DB, a running server whose user \
             may create databases",
            vibe_test_support::pg::INSTALL_HINT
        ));
    }
    let scratch = tempfile::Builder::new()
        .prefix("vibe-bench-")
        .tempdir_in(std::env::current_dir().map_err(|e| text(&e))?)
        .map_err(|e| text(&e))?;
    let config = BenchConfig {
        dir: scratch.path().to_owned(),
        echo_component: echo,
        vibe_binary,
        bench_binary: std::env::current_exe().map_err(|e| text(&e))?,
        scale_calls: args.scale_calls,
        scale_missions: args.scale_missions,
        window: Duration::from_millis(args.window_ms),
        ops: args.ops,
        python: args.python.clone(),
        python_echo_server: args.python_echo_server.clone(),
        python_store_bench: args.python_store_bench.clone(),
        arch001_schema: args.arch001_schema.clone(),
        language_tools: [
            ("rust", "guest/target/wasm32-wasip2/release"),
            ("python", "guest/target/python"),
            ("js", "guest/target/js"),
        ]
        .iter()
        .flat_map(|(language, dir)| {
            ["echo", "reviewer"].map(|name| {
                (
                    language.to_string(),
                    name.to_string(),
                    PathBuf::from(dir).join(format!("{name}.wasm")),
                )
            })
        })
        .collect(),
        postgres: args.postgres.clone(),
        postgres_only: args.postgres_only,
        only: args.only.clone(),
    };
    vibe_bench::run(&config, &mut std::io::stdout().lock()).map_err(|e| text(&e))
}

/// The built Rust guest `name`: in `VIBE_GUEST_DIR`, else under the working
/// directory, else in this checkout (as `vibe demo` finds its planner).
fn find_guest(name: &str) -> Option<PathBuf> {
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

/// The executable `name` beside this one (as cargo builds them, into one
/// folder), else the first on PATH.
fn find_executable(name: &str) -> Option<PathBuf> {
    let file = format!("{name}{}", std::env::consts::EXE_SUFFIX);
    let beside = std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.join(&file)));
    let on_path = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .map(|dir| dir.join(&file));
    beside
        .into_iter()
        .chain(on_path)
        .find(|path| path.is_file())
}
