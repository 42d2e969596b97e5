//! [`Error`]: one error for embedders, whatever part of vibe-store failed.
//!
//! The store's operations return [`StoreError`], loading a component
//! [`LoadError`]; both convert into [`Error`], so a function returning
//! `Result<_, vibe_store::Error>` can use `?` on the store, on loading and on
//! running alike. [`Error::kind`] says what happened in terms a caller can
//! act on, without matching every variant.
//!
//! ```
//! use vibe_store::sandbox::{Runtime, RuntimeConfig};
//! use vibe_store::{ErrorKind, MissionId, MissionStore, SqliteStore};
//!
//! fn show(store: &SqliteStore, id: &str) -> Result<String, vibe_store::Error> {
//!     let mission = store.get_mission(&MissionId::parse(id)?)?;
//!     Ok(mission.phase.to_string())
//! }
//!
//! # let dir = tempfile::tempdir()?;
//! let store = SqliteStore::open(dir.path().join("vibe.db"))?;
//! let missing = show(&store, "3f2a51c0-a4e8-4d5c-9d3b-0e1f2a3b4c5d").unwrap_err();
//! assert_eq!(missing.kind(), ErrorKind::NotFound);
//! let runtime = Runtime::new(store, RuntimeConfig::default())?;
//! let not_a_tool = runtime.load_bytes("notes", b"just notes").map_err(vibe_store::Error::from);
//! assert_eq!(not_a_tool.err().map(|e| e.kind()), Some(ErrorKind::Load));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::sandbox::LoadError;
use crate::store::StoreError;

/// Everything vibe-store can fail with.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A store operation failed (the database, or input it refused).
    #[error(transparent)]
    Store(#[from] StoreError),

    /// A component could not be loaded.
    #[error(transparent)]
    Load(#[from] LoadError),

    /// The WebAssembly engine could not be set up (a configuration the
    /// machine cannot provide, such as more memory than it can reserve).
    #[error("cannot set up the WebAssembly engine: {0}")]
    Engine(String),
}

/// What kind of failure an [`Error`] is, for callers that decide by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A listing went past rows it could not read (named), having delivered
    /// the rest.
    Unreadable,
    /// No mission has the id given.
    NotFound,
    /// Input was refused (not JSON, empty name, out of range); nothing was
    /// written.
    InvalidInput,
    /// The database or its directory cannot be written (permissions, a
    /// read-only file or mount).
    Denied,
    /// Input over a documented limit; nothing was written.
    Limit,
    /// The disk (or the configured size cap) is full.
    StorageFull,
    /// Another process held the database's lock too long.
    Busy,
    /// A deadline passed.
    Interrupted,
    /// A component could not be loaded.
    Load,
    /// The WebAssembly engine could not be set up.
    Engine,
    /// The file is not a database this program can use.
    UnusableFile,
    /// Any other database or I/O failure.
    Storage,
    /// A bug in vibe-store.
    Internal,
}

impl Error {
    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Store(e) => e.kind(),
            Error::Load(_) => ErrorKind::Load,
            Error::Engine(_) => ErrorKind::Engine,
        }
    }
}

impl StoreError {
    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        match self {
            StoreError::MissionNotFound(_)
            | StoreError::NotFound(_)
            | StoreError::NoDatabase { .. } => ErrorKind::NotFound,
            StoreError::InvalidInput(_) => ErrorKind::InvalidInput,
            StoreError::LimitExceeded(_) => ErrorKind::Limit,
            StoreError::UnusableFile { .. } => ErrorKind::UnusableFile,
            StoreError::ReadOnly { .. } => ErrorKind::Denied,
            StoreError::StorageFull => ErrorKind::StorageFull,
            StoreError::Busy { .. } | StoreError::Conflict(_) => ErrorKind::Busy,
            StoreError::Interrupted => ErrorKind::Interrupted,
            StoreError::Internal(_) => ErrorKind::Internal,
            StoreError::Unreadable(_) => ErrorKind::Unreadable,
            StoreError::Database(_)
            | StoreError::Io { .. }
            | StoreError::Unavailable { .. }
            | StoreError::Server(_) => ErrorKind::Storage,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_error<E: std::error::Error + Send + Sync + 'static>() {}

    #[test]
    fn errors_are_send_sync_and_chain_their_sources() {
        assert_error::<Error>();
        assert_error::<StoreError>();
        assert_error::<LoadError>();
        let io = StoreError::Io {
            path: "/x".into(),
            source: std::sync::Arc::new(std::io::Error::other("disk")),
        };
        let error = Error::from(io);
        let source = std::error::Error::source(&error).expect("the io error beneath");
        assert_eq!(source.to_string(), "disk");
        assert_eq!(error.kind(), ErrorKind::Storage);
    }

    #[test]
    fn every_store_error_has_a_kind_a_caller_can_act_on() {
        use std::time::Duration;
        let cases = [
            (StoreError::MissionNotFound("m".into()), ErrorKind::NotFound),
            (
                StoreError::NotFound("tool call 9".into()),
                ErrorKind::NotFound,
            ),
            (
                StoreError::NoDatabase { path: "/x".into() },
                ErrorKind::NotFound,
            ),
            (
                StoreError::InvalidInput("x".into()),
                ErrorKind::InvalidInput,
            ),
            (StoreError::LimitExceeded("x".into()), ErrorKind::Limit),
            (
                StoreError::UnusableFile {
                    path: "/x".into(),
                    reason: "r".into(),
                },
                ErrorKind::UnusableFile,
            ),
            (
                StoreError::ReadOnly {
                    path: "/x".into(),
                    reason: "r".into(),
                },
                ErrorKind::Denied,
            ),
            (StoreError::StorageFull, ErrorKind::StorageFull),
            (
                StoreError::Busy {
                    waited: Duration::from_millis(1500),
                },
                ErrorKind::Busy,
            ),
            (StoreError::Interrupted, ErrorKind::Interrupted),
            (StoreError::Internal("bug".into()), ErrorKind::Internal),
        ];
        for (error, kind) in cases {
            assert_eq!(Error::from(error.clone()).kind(), kind, "{error}");
        }
        assert_eq!(
            StoreError::Busy {
                waited: Duration::from_secs(30)
            }
            .to_string(),
            "database is locked by another process after 30 s"
        );
        assert_eq!(
            Error::from(LoadError::new("x.wasm", "is bad")).kind(),
            ErrorKind::Load
        );
        assert_eq!(Error::Engine("no".into()).kind(), ErrorKind::Engine);
    }
}
