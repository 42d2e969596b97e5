//! `vibe bench`: runs the `vibe-bench` executable (the workspace's
//! unpublished benchmark crate), found beside this `vibe` or on PATH, with
//! every argument passed through, as cargo runs its subcommands. The
//! benchmark is no part of the library or of this binary.

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::Path;

use clap::Args;

use crate::{CliResult, Exit, Failure};

/// `vibe bench ARGS`: every argument is `vibe-bench`'s, `--help` included.
#[derive(Args)]
#[command(disable_help_flag = true)]
pub struct BenchArgs {
    /// vibe-bench's arguments (`vibe bench --help` lists them).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<OsString>,
}

const BENCH: &str = "vibe-bench";

/// Takes this process's place with `vibe-bench ARGS` (`VIBE` names this
/// executable, for the rows that run it); returns only if that failed.
pub fn bench(args: &BenchArgs) -> CliResult {
    let exe = std::env::current_exe().ok();
    let file = format!("{BENCH}{}", std::env::consts::EXE_SUFFIX);
    let beside = exe
        .as_deref()
        .and_then(Path::parent)
        .map(|dir| dir.join(&file));
    let on_path = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .map(|dir| dir.join(&file));
    let Some(program) = beside.into_iter().chain(on_path).find(|p| p.is_file()) else {
        return Err(Failure::new(
            format!(
                "`vibe bench` runs the {BENCH} executable, found neither beside this vibe nor on \
                 PATH: from a clone of the repository run `./x bench`, or build it with \
                 `cargo build --release -p {BENCH}` (it lands beside vibe in target/release)"
            ),
            Exit::Usage,
        ));
    };
    let mut command = std::process::Command::new(&program);
    command.args(&args.args);
    if let Some(exe) = &exe {
        command.env("VIBE", exe);
    }
    // The benchmark takes this process's place (exec returns only if it
    // could not): its output, exit status and signals are the command's own.
    let err = command.exec();
    Err(Failure::new(
        format!("{}: {err}", program.display()),
        Exit::Other,
    ))
}
