//! What `vibe` prints: tables (`table`), JSON (`json`) and listings once
//! or followed (`listing`) on stdout, progress on stderr (`progress`).
//!
//! Writes to stdout go through [`out`] (an export's lines through a writer
//! of their own). A write that fails is not an exit from here: it is
//! returned up to `main`, as [`stdout_failure`] says how, and a store walk
//! that prints stops at it ([`walk`]).

pub mod json;
pub mod listing;
pub mod progress;
pub mod table;

use std::io::Write;

use vibe_store::StoreError;

use crate::{CliResult, Exit, Failure};

/// Writes to stdout; a failed write is the command's failure (see
/// [`stdout_failure`]).
pub(crate) fn out(args: std::fmt::Arguments<'_>) -> CliResult {
    std::io::stdout()
        .lock()
        .write_fmt(args)
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
