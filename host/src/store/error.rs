//! The store's one error type.
//!
//! Every variant says what went wrong in words a caller can act on; the CLI
//! maps them to exit codes and the sandbox maps them to the WIT `store-error`.

use std::path::PathBuf;
use std::sync::Arc;

/// Everything a store operation can fail with.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// No mission has this id.
    #[error("mission {0} not found")]
    MissionNotFound(String),

    /// No row has this id (a tool call, a decision).
    #[error("{0} not found")]
    NotFound(String),

    /// The caller's input was rejected before anything was written.
    #[error("invalid input: {0}")]
    InvalidInput(String),

    /// The input is larger than a documented limit (JSON field size, page
    /// rows); nothing was written.
    #[error("limit exceeded: {0}")]
    LimitExceeded(String),

    /// The file exists but is not a database this program can use
    /// (not SQLite, damaged, a foreign schema, a newer schema version, or,
    /// opened read-only, a WAL this user cannot read with it).
    /// The file has not been modified.
    #[error("cannot use {}: {reason}; it was left untouched", path.display())]
    UnusableFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },

    /// There is no database at this path, and the operation may not create
    /// one (a read).
    #[error("no database at {}", path.display())]
    NoDatabase {
        /// Where one was looked for.
        path: PathBuf,
    },

    /// The file or its directory cannot be written.
    #[error("cannot write {path}: {reason}")]
    ReadOnly {
        /// The file or directory.
        path: PathBuf,
        /// What the operating system or SQLite said.
        reason: String,
    },

    /// The disk (or the configured page limit) is full. Nothing of the failed
    /// write was kept; the file stays consistent and usable once room returns.
    #[error("database or disk is full; the write was not recorded")]
    StorageFull,

    /// Another process held the database's lock for longer than the busy
    /// timeout; nothing was written.
    #[error("database is locked by another process after {} s", fmt_secs(*.waited))]
    Busy {
        /// How long this process waited.
        waited: std::time::Duration,
    },

    /// The operation was interrupted because its deadline passed.
    #[error("interrupted: the operation ran past its deadline")]
    Interrupted,

    /// A bug in vibe-store itself; the operation wrote nothing.
    #[error("internal error: {0}")]
    Internal(String),

    /// A listing delivered every row it could read, and these it could not:
    /// values another program stored that this store's types cannot take
    /// (text in an integer column, an infinity), each named with its
    /// mission, table, row and column. Returned after the last row.
    #[error("{} {} could not be read and {} gone past: {}", .0.len(),
            if .0.len() == 1 { "row" } else { "rows" },
            if .0.len() == 1 { "was" } else { "were" },
            .0.iter().take(10).map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Unreadable(Vec<super::model::Skipped>),

    /// Any other SQLite failure.
    #[error("database error: {0}")]
    Database(#[source] Arc<rusqlite::Error>),

    /// The database server (PostgreSQL) cannot be reached, or the
    /// connection to it was lost. `reason` says whether the write was not
    /// recorded or may have been (a connection lost while committing).
    #[error("database server {server}: {reason}")]
    Unavailable {
        /// The server, as `postgres://user@host:port/db` (never a password).
        server: String,
        /// What happened.
        reason: String,
    },

    /// A write conflicted with concurrent writers and kept conflicting
    /// through every retry; nothing was written.
    #[error("write conflict: {0}; nothing was written")]
    Conflict(String),

    /// Any other failure the database server (PostgreSQL) reported.
    #[error("database server error: {0}")]
    Server(String),

    /// Could not create the database's directory or inspect the file.
    #[error("i/o error on {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        #[source]
        /// What the operating system said.
        source: Arc<std::io::Error>,
    },
}

impl From<rusqlite::Error> for StoreError {
    fn from(err: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode;
        match err.sqlite_error_code() {
            Some(ErrorCode::DiskFull) => StoreError::StorageFull,
            Some(ErrorCode::OperationInterrupted) => StoreError::Interrupted,
            Some(ErrorCode::DatabaseBusy) | Some(ErrorCode::DatabaseLocked) => StoreError::Busy {
                waited: std::time::Duration::ZERO,
            },
            // What the store's own checks did not catch (another program's
            // rows, a foreign schema, an invocation that is not there): as
            // PostgreSQL's integrity errors are.
            Some(ErrorCode::ConstraintViolation) => {
                StoreError::invalid(format!("the database refused the write: {err}"))
            }
            _ => StoreError::Database(Arc::new(err)),
        }
    }
}

impl StoreError {
    /// Whether this error is about one item (a row or a mission: input
    /// refused, over a limit, not there, or rows a reader cannot handle)
    /// rather than the database itself: a command that works through the
    /// whole store names that item, goes past it and goes on.
    pub fn concerns_one_item(&self) -> bool {
        matches!(
            self,
            StoreError::InvalidInput(_)
                | StoreError::LimitExceeded(_)
                | StoreError::MissionNotFound(_)
                | StoreError::NotFound(_)
                | StoreError::Internal(_)
        )
    }

    /// The error for a panic caught while `doing` something: a bug in
    /// vibe-store or in a backend, reported as [`StoreError::Internal`].
    pub fn from_panic(doing: &str, payload: Box<dyn std::any::Any + Send>) -> Self {
        let what = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        StoreError::Internal(format!("{doing} panicked: {what}"))
    }

    pub(crate) fn invalid(reason: impl Into<String>) -> Self {
        StoreError::InvalidInput(reason.into())
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        StoreError::Io {
            path: path.into(),
            source: Arc::new(source),
        }
    }
}

/// Seconds as a person reads them: `30`, `1.5`.
fn fmt_secs(d: std::time::Duration) -> String {
    let secs = d.as_secs_f64();
    if secs.fract() == 0.0 {
        format!("{secs:.0}")
    } else {
        format!("{secs:.1}")
    }
}

/// Shorthand for results of store operations.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
