//! How a command ends: [`Failure`], its one-line reason and exit code, and
//! which code each of the library's errors gets.

use vibe_store::sandbox::LoadError;
use vibe_store::{ErrorKind, StoreError};

/// A failed command: its one-line reason and exit code.
pub(crate) struct Failure {
    pub(crate) message: String,
    pub(crate) code: u8,
}

impl Failure {
    pub(crate) fn new(message: impl Into<String>, code: u8) -> Self {
        Failure {
            message: message.into(),
            code,
        }
    }

    /// An exit status alone: the command already said why on stdout.
    pub(crate) fn quiet(code: u8) -> Self {
        Failure::new(String::new(), code)
    }
}

impl From<vibe_store::Error> for Failure {
    fn from(err: vibe_store::Error) -> Self {
        let code = match err.kind() {
            ErrorKind::NotFound => 3,
            ErrorKind::InvalidInput | ErrorKind::Limit | ErrorKind::Load => 4,
            _ => 1,
        };
        Failure {
            message: err.to_string(),
            code,
        }
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
