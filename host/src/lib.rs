//! vibe-store: the persistence layer and sandbox host for AI-agent missions.
//!
//! Every mission an agent works on, every tool call it makes and every
//! decision it takes is recorded in one SQLite file ([`SqliteStore`], whose
//! operations are the [`MissionStore`] trait). Agent tools are WebAssembly
//! components that reach that store only through the `wit/` contract, only
//! within the grants the host gives them, bounded in time and memory, and
//! every invocation is a row of the audit trail ([`sandbox::Runtime`]).
//!
//! ```no_run
//! use serde_json::json;
//! use vibe_store::sandbox::{Request, Runtime, RuntimeConfig};
//! use vibe_store::{MissionStore, Phase, SqliteStore};
//!
//! fn main() -> Result<(), vibe_store::Error> {
//!     let store = SqliteStore::open_default()?;
//!     let mission = store.create_mission(Phase::Planning, json!({ "goal": "x" }).into())?;
//!     let runtime = Runtime::new(store.clone(), RuntimeConfig::default())?;
//!     let tool = runtime.load("planner.wasm")?;
//!     let report = runtime.run(&tool, &Request::new(mission, json!({})))?;
//!     println!("{:?}", report.outcome);
//!     Ok(())
//! }
//! ```
//!
//! Modules:
//! - [`store`]: the store, its types and its rules (the only code that
//!   speaks SQL);
//! - [`sandbox`]: the wasmtime host (the only code that knows WebAssembly);
//! - [`terminal`]: making text from tools and the database safe to print;
//! - [`Error`]: one error for everything above.
//!
//! Blocking: the store and the runtime block the calling thread (on SQLite,
//! on a tool's run). From async code, call them through [`unblock`], which
//! runs them in place on a multi-threaded runtime and on the blocking pool
//! otherwise; `examples/async_agent.rs` shows how, and `vibe bench` (row 9)
//! measures it beside a direct call and beside `spawn_blocking`.
#![warn(missing_docs)]

mod asynchronous;
mod error;
mod hex;
#[cfg(feature = "mcp")]
pub mod mcp;
pub mod sandbox;
pub mod store;
mod sync;
pub mod terminal;

pub use asynchronous::unblock;
pub use error::{Error, ErrorKind};
#[cfg(feature = "postgres")]
pub use store::PostgresStore;
pub use store::{
    AnyStore, Decision, DecisionId, Durability, Json, Mission, MissionId, MissionStatus,
    MissionStore, NewDecision, NewToolCall, OpenOptions, Page, Phase, PlaybookRunId, SqliteStore,
    StoreError, ToolCall, ToolCallId,
};

/// The README's examples, compiled as doctests so they cannot drift from
/// the API they show.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
