//! The sandbox: the only code that knows wasmtime.
//!
//! Agent tools are WebAssembly components of the `agent-tool` world in
//! `wit/`. They reach the store only through [`crate::store::MissionStore`],
//! only within the [`Grants`] the host fixed for the invocation, and only
//! within its [`Limits`]. They get no files, no environment, no network.
//!
//! - `load`: reading and checking a component before it is compiled;
//! - `cache`: the on-disk cache of compiled components, and whom it trusts;
//! - `engine`: the shared engine, its pooling allocator and epoch ticker;
//! - `host`: the store's interfaces as the guest calls them;
//! - `failure`: how an invocation failed, decided in one place;
//! - `runtime`: loading, running, and the invocation's row;
//! - `spare`: a tool's next instance, made before its next call.

mod cache;
mod engine;
mod failure;
mod host;
mod load;
mod output;
mod policy;
mod runtime;
mod slots;
mod spare;

pub use cache::{default_cache_dir, DEFAULT_CACHE_MAX_BYTES};
pub use failure::{FailureKind, ToolFailure};
pub use load::{LoadError, DEFAULT_MAX_COMPONENT_BYTES};
pub use policy::{ranges, Grants, Limits};
pub use runtime::{Precompiled, Request, RunReport, Runtime, RuntimeConfig, Tool, ToolDescription};
