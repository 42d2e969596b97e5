//! What `vibe` prints: tables (`table`), JSON (`json`) and listings once
//! or followed (`listing`) on stdout, progress on stderr (`progress`).
//!
//! Writes to stdout go through [`out`], which shows every control, DEL and
//! bidi character as an escape (`vibe_store::terminal::visible`), so no
//! text from a database or a file someone handed over reaches a terminal
//! raw, whichever command prints it; JSON goes through [`out_json`], whose
//! callers make it safe for a terminal as JSON (`json.rs`), and an export's
//! lines through a writer of their own (`commands/keep.rs`, the same rule).
//! A write that fails is not an exit from here: it is
//! returned up to `main`, as [`stdout_failure`] says how, and a store walk
//! that prints stops at it ([`walk`]).

pub mod json;
pub mod listing;
pub mod progress;
pub mod table;

use std::io::Write;

use vibe_store::terminal::visible;
use vibe_store::StoreError;

use crate::{CliResult, Exit, Failure};

/// Writes text for a person to stdout, every control character but tab
/// and newline shown as an escape; a failed write is the command's failure
/// (see [`stdout_failure`]).
pub(crate) fn out(args: std::fmt::Arguments<'_>) -> CliResult {
    match args.as_str() {
        Some(text) => write_stdout(&visible(text)),
        None => write_stdout(&visible(&args.to_string())),
    }
}

/// Writes JSON to stdout as given: for [`json`]'s printers, which escape
/// what could steer a terminal inside its strings when stdout is one.
pub(crate) fn out_json(args: std::fmt::Arguments<'_>) -> CliResult {
    std::io::stdout()
        .lock()
        .write_fmt(args)
        .map_err(stdout_failure)
}

fn write_stdout(text: &str) -> CliResult {
    std::io::stdout()
        .lock()
        .write_all(text.as_bytes())
        .map_err(stdout_failure)
}

/// How a failed write to stdout ends the command: a reader that went away
/// (`vibe tools M | head -1`) ends it quietly with status 0, as there is no
/// one left to tell; any other error is said on stderr.
pub(crate) fn stdout_failure(e: std::io::Error) -> Failure {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        Failure::quiet(Exit::Ok)
    } else {
        Failure::new(format!("cannot write to stdout: {e}"), Exit::Other)
    }
}

/// Runs a store walk (`find_tool_calls`, `each_decision`...) whose callback
/// prints each item: a failed write stops the walk at once and is what the
/// walk returns.
pub(crate) fn walk<T, R>(
    run: impl FnOnce(&mut dyn FnMut(T) -> Result<(), StoreError>) -> Result<R, StoreError>,
    mut each: impl FnMut(T) -> CliResult,
) -> Result<R, Failure> {
    let mut failed = None;
    let walked = run(&mut |item| {
        each(item).map_err(|failure| {
            failed = Some(failure);
            // Only to stop the walk: the failure kept is what is reported.
            StoreError::Interrupted
        })
    });
    match failed {
        Some(failure) => Err(failure),
        None => Ok(walked?),
    }
}
