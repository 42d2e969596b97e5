//! vibe-store: the persistence layer and sandbox host for AI-agent missions.
//!
//! [`store`] records missions, tool calls, decisions, agent memory and
//! playbook runs in one SQLite file. [`sandbox`] runs agent tools compiled to
//! WebAssembly components, which reach the store only through the `wit/`
//! contract and only within the grants the host gives them.

pub mod bench;
pub mod sandbox;
pub mod store;
pub mod terminal;

pub use store::{
    Decision, Durability, Json, Mission, MissionStatus, NewToolCall, OpenOptions, Page, Phase,
    SqliteStore, StoreError, ToolCall,
};
