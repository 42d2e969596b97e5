//! The mission store: the only code that speaks SQL.
//!
//! It knows nothing of WebAssembly. Its types are plain Rust (enums for phase
//! and status, [`Json`] for JSON text kept as given), every input is validated here
//! before any SQL runs, and its one error type, [`StoreError`], says what went
//! wrong in words a caller can act on.

mod any;
mod backend;
mod busy;
mod chain;
mod deadline;
mod error;
mod ids;
mod json;
mod model;
mod open;
mod otlp;
#[cfg(feature = "postgres")]
mod postgresql;
mod rows;
mod sql;
mod sqlite;
mod transfer;
mod writer;

pub use any::{AnyStore, Copied};
pub use backend::MissionStore;
pub use busy::LockWaitNotice;
pub use chain::{ChainHead, ChainReport, ChainRow, OrphanChain};
pub use deadline::with_deadline;
pub(crate) use deadline::with_deadline_or_cancel;
pub use error::{Result, StoreError};
pub use ids::format_timestamp;
pub use ids::{DecisionId, MissionId, ToolCallId};
pub use json::{Json, MAX_JSON_BYTES, MAX_JSON_DEPTH};
pub(crate) use model::check_text;
pub use model::{
    now_timestamp, ComponentInfo, Decision, DecisionFilter, InvocationEnd, InvocationStart,
    MemoryEntry, Mission, MissionFilter, MissionStatus, NewToolCall, Origin, Outcome, Page, Phase,
    PlaybookRun, PruneFilter, PrunedMission, ToolCall, ToolCallFilter, ToolStats,
    DEFAULT_PAGE_BYTES, MAX_NAME_BYTES, MAX_PAGE_ROWS, MAX_TEXT_BYTES, PAGE_BYTES_PER_JSON_LIMIT,
};
pub use open::{Durability, Migration, OpenOptions, MIGRATIONS};
#[cfg(feature = "postgres")]
pub use postgresql::{
    is_postgres_url, PostgresStore, DEFAULT_MAX_CONNECTIONS, POSTGRES_MIGRATIONS,
};
pub use sqlite::{ConnectionSettings, SqliteStore, DEFAULT_DB_PATH, PRUNE_BATCH};
pub use transfer::{exported_chain_head, ExportFilter};
pub use writer::WriteStats;
