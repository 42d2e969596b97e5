//! `vibe`: run and inspect agent missions from the command line.
//!
//! Argument parsing and printing only: every action is one call into the
//! `vibe_store` library. The rooms follow `vibe --help`:
//!
//! - `args`: every command and flag, as clap reads them;
//! - `commands/`: one module per group of commands (record, inspect, keep
//!   and hand over, run, mcp, demo, bench, verify);
//! - `output/`: stdout (tables, JSON, listings once or followed) and
//!   progress on stderr;
//! - `open`: the store and the sandbox runtime the global flags describe;
//! - `exit`: how a command ends, and its exit code;
//! - `signals`: SIGINT and SIGTERM as a polite stop.

mod args;
mod commands;
mod exit;
mod open;
mod output;
mod signals;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;

use args::{Cli, Command};
use commands::{bench, demo, inspect, keep, mcp, record, run, verify};
pub(crate) use exit::{CliResult, Exit, Failure};

fn main() -> ExitCode {
    // Colour only for a person at a terminal who has not asked for none: a
    // log file or pipe gets plain text.
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("VIBE_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,rmcp=error")),
        )
        .with_ansi(colour)
        .with_writer(std::io::stderr)
        .init();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // clap's own report: a usage error on stderr, --help and --version
        // on stdout.
        Err(e) => {
            let exit = if e.use_stderr() {
                Exit::Usage
            } else {
                Exit::Ok
            };
            debug_assert_eq!(e.exit_code(), exit as i32, "clap's code is ours");
            let _ = e.print();
            return exit.into();
        }
    };
    match dispatch(cli) {
        Ok(()) => Exit::Ok,
        Err(failure) => failure.report(),
    }
    .into()
}

/// Runs the command the arguments name.
fn dispatch(cli: Cli) -> CliResult {
    open::warn_of_password_in_arguments();
    if let Command::Bench(args) = &cli.command {
        return bench::bench(args);
    }
    // Compiling needs no database: `./x guests` runs it where there is none.
    if let Command::Compile(args) = &cli.command {
        return run::compile(args);
    }
    if let Command::Copy { from, to, json } = &cli.command {
        return keep::copy(open::options(&cli), from, to, *json);
    }
    let store = open::open(&cli)?;
    match cli.command {
        Command::Init { json } => record::init(&store, json),
        Command::Mission(command) => record::mission(&store, command),
        Command::Log(args) => record::log(&store, args),
        Command::Decide(args) => record::decide(&store, args),
        Command::Tools(args) => inspect::tools(&store, args),
        Command::Decisions(args) => inspect::decisions(&store, args),
        Command::Tool { id, json } => inspect::tool(&store, id, json),
        Command::Stats { uuid, json } => inspect::stats(&store, uuid, json),
        Command::Memory(args) => inspect::memory(&store, args),
        Command::Playbooks { uuid, json } => inspect::playbooks(&store, uuid, json),
        Command::Export(args) => keep::export(&store, args),
        Command::Import { file } => keep::import(&store, &file),
        Command::Backup { path, json } => keep::backup(&store, path, json),
        Command::Prune(args) => keep::prune(&store, args),
        Command::Verify(args) => verify::verify(&store, args),
        Command::Run(args) => run::run(&store, args),
        Command::Mcp(args) => mcp::mcp(&store, args),
        Command::Demo(args) => demo::run(&store, args.component),
        Command::Bench(_) | Command::Copy { .. } | Command::Compile(_) => {
            unreachable!("handled before the store is opened")
        }
    }
}
