//! How a command ends: every exit code `vibe` uses, named once ([`Exit`]),
//! and [`Failure`], a command's one-line reason with its code.
//!
//! The README's table of exit codes is this enum: a test
//! (`tests/all/exit_codes.rs`) reads both and fails when they disagree.

use std::io::Write;
use std::process::ExitCode;

use vibe_store::sandbox::LoadError;
use vibe_store::terminal::{one_line, visible_line};
use vibe_store::{ErrorKind, StoreError};

/// The exit codes, as the README's table lists them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Exit {
    /// Done; also when the reader of stdout went away (`vibe tools M | head -1`).
    Ok = 0,
    /// Any failure no other code names.
    Other = 1,
    /// The command line is wrong: clap's errors, and flags that disagree.
    Usage = 2,
    /// A mission, a tool call or a memory key is not there.
    NotFound = 3,
    /// Input refused, including a file that is not a valid component.
    InvalidInput = 4,
    /// What was checked failed: the tool (`vibe run`, `vibe demo`) or a hash
    /// chain (`vibe verify`).
    CheckFailed = 5,
    /// A command over the whole store (`copy`, `export`, `import`,
    /// `prune`), or a listing (`tools`, `decisions`), did
    /// everything but the items it named on stderr, which it could not
    /// handle and went past.
    Partial = 6,
    /// `vibe run` stopped by SIGHUP (128 + 1): its terminal closed.
    HungUp = 129,
    /// `vibe run` stopped by SIGINT (128 + 2).
    Interrupted = 130,
    /// `vibe run` stopped by SIGTERM (128 + 15).
    Terminated = 143,
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit as u8)
    }
}

/// A failed command: its one-line reason and exit code.
pub(crate) struct Failure {
    message: String,
    exit: Exit,
}

impl Failure {
    pub(crate) fn new(message: impl Into<String>, exit: Exit) -> Self {
        Failure {
            message: message.into(),
            exit,
        }
    }

    /// An exit status alone: the command already said why on stdout.
    pub(crate) fn quiet(exit: Exit) -> Self {
        Failure::new(String::new(), exit)
    }

    /// Says why on stderr (one line, whatever the message's source did
    /// with whitespace; tool and database text shown escaped), and gives
    /// the exit code.
    pub(crate) fn report(self) -> Exit {
        let message = one_line(&self.message);
        if !message.is_empty() {
            // Not `eprintln!`, which panics when stderr is gone (a terminal
            // closed under SIGHUP): the exit code must still be this one.
            let _ = writeln!(std::io::stderr(), "vibe: {}", visible_line(&message));
        }
        self.exit
    }
}

impl From<vibe_store::Error> for Failure {
    fn from(err: vibe_store::Error) -> Self {
        let exit = match err.kind() {
            ErrorKind::NotFound => Exit::NotFound,
            ErrorKind::InvalidInput | ErrorKind::Limit | ErrorKind::Load => Exit::InvalidInput,
            ErrorKind::Unreadable => Exit::Partial,
            _ => Exit::Other,
        };
        let hint = match &err {
            vibe_store::Error::Store(store) => hint(store),
            _ => "",
        };
        Failure::new(format!("{err}{hint}"), exit)
    }
}

/// What to run next, for the errors a command of this binary answers: the
/// library names no command.
fn hint(err: &StoreError) -> &'static str {
    match err {
        StoreError::MissionNotFound(_) => "; list missions with `vibe mission list`",
        StoreError::NoDatabase { .. } => "; create one with vibe init",
        StoreError::UnusableFile { reason, .. } if reason.contains("older than") => {
            " (`vibe init` upgrades it)"
        }
        StoreError::InvalidInput(reason) if reason.contains("malformed hash") => " (`vibe verify`)",
        _ => "",
    }
}

impl From<StoreError> for Failure {
    fn from(err: StoreError) -> Self {
        vibe_store::Error::from(err).into()
    }
}

impl From<LoadError> for Failure {
    fn from(err: LoadError) -> Self {
        vibe_store::Error::from(err).into()
    }
}

pub(crate) type CliResult = Result<(), Failure>;
