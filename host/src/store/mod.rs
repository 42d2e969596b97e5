//! The mission store: the only code that speaks SQL.
//!
//! It knows nothing of WebAssembly. Its types are plain Rust (enums for phase
//! and status, `serde_json::Value` for JSON), every input is validated here
//! before any SQL runs, and its one error type, [`StoreError`], says what went
//! wrong in words a caller can act on.

mod backend;
mod deadline;
mod error;
#[doc(hidden)]
pub mod floor;
mod model;
mod open;
mod sqlite;
mod writer;

pub use backend::MissionStore;
pub use deadline::with_deadline;
pub use error::{Result, StoreError};
pub use model::{
    now_timestamp, parse_json, Decision, Mission, MissionStatus, NewToolCall, Page, Phase,
    PlaybookRun, ToolCall, MAX_JSON_BYTES, MAX_JSON_DEPTH, MAX_NAME_BYTES, MAX_PAGE_ROWS,
    MAX_TEXT_BYTES,
};
pub use open::{Durability, Migration, OpenOptions, MIGRATIONS};
pub use sqlite::{ConnectionSettings, SqliteStore, DEFAULT_DB_PATH};
pub use writer::WriteStats;
