//! The mission store: the only code that speaks SQL.
//!
//! It knows nothing of WebAssembly. Its types are plain Rust (enums for phase
//! and status, [`Json`] for JSON text kept as given), every input is validated here
//! before any SQL runs, and its one error type, [`StoreError`], says what went
//! wrong in words a caller can act on.
//!
//! The tree shows what is shared and what is a backend's own:
//! - shared, written once: the API ([`MissionStore`], `mission_store.rs`),
//!   its operations (`operations.rs`), the statements and the few whose text
//!   differs per database (`dialect.rs`), the connection interface they run
//!   on (`sql.rs`), the model and its rules (`model.rs`, `ids.rs`,
//!   `json.rs`, `rows.rs`), the hash chain (`chain.rs`), moving missions
//!   (`transfer.rs`, `otlp.rs`), migrations (`migrate.rs`) and options
//!   (`options.rs`);
//! - what a backend must provide: `backend.rs`, transactions over its
//!   connections;
//! - `sqlite/`: one file, group commit, lock waits, opening files safely;
//! - `postgres/`: a server, its connection pool and its errors.

mod any;
mod backend;
mod chain;
mod deadline;
mod dialect;
mod error;
mod ids;
mod json;
mod migrate;
mod mission_store;
mod model;
mod operations;
mod options;
mod otlp;
#[cfg(feature = "postgres")]
mod postgres;
mod rows;
mod sql;
mod sqlite;
mod time;
mod transfer;

pub use any::{AnyStore, Copied};
pub use chain::{ChainHead, ChainReport, ChainRow, OrphanChain};
pub use deadline::with_deadline;
pub(crate) use deadline::with_deadline_or_cancel;
pub use error::{Result, StoreError};
pub use ids::{DecisionId, MissionId, PlaybookRunId, ToolCallId};
pub use json::{Json, MAX_JSON_BYTES, MAX_JSON_DEPTH};
pub use migrate::Migration;
pub use mission_store::MissionStore;
pub(crate) use model::check_text;
pub use model::{
    now_timestamp, ComponentInfo, Decision, DecisionFilter, InvocationEnd, InvocationStart,
    MemoryEntry, Mission, MissionFilter, MissionStatus, NewDecision, NewToolCall, Origin, Outcome,
    Page, Phase, PlaybookRun, PruneFilter, PruneSummary, PrunedMission, Skipped, ToolCall,
    ToolCallFilter, ToolStats, DEFAULT_PAGE_BYTES, MAX_CHAIN_SEQ, MAX_DURATION_MS, MAX_NAME_BYTES,
    MAX_PAGE_ROWS, MAX_TEXT_BYTES, MAX_TTL_SECONDS, PAGE_BYTES_PER_JSON_LIMIT,
};
pub use operations::PRUNE_BATCH;
pub use options::{
    Durability, OpenOptions, PostgresOptions, SqliteOptions, DEFAULT_BUSY_TIMEOUT,
    DEFAULT_MAX_CONNECTIONS,
};
#[cfg(feature = "postgres")]
pub use postgres::{is_postgres_url, PostgresStore, POSTGRES_MIGRATIONS};
pub use sqlite::busy::LockWaitNotice;
pub use sqlite::{
    Backup, ConnectionSettings, ConstraintBreach, SqliteStore, WriteStats, DEFAULT_DB_PATH,
    MIGRATIONS,
};
pub use time::{format_timestamp, Timestamp};
pub use transfer::{
    exported_chain_head, ExportFilter, ExportLines, ImportScope, MAX_IMPORT_LINE_BYTES,
};
