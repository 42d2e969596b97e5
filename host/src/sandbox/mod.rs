//! The sandbox: the only code that knows wasmtime.
//!
//! Agent tools are WebAssembly components of the `agent-tool` world in
//! `wit/`. They reach the store only through [`crate::store::MissionStore`],
//! only within the [`Grants`] the host fixed for the invocation, and only
//! within its [`Limits`]. They get no files, no environment, no network.

mod host;
mod output;
mod policy;
mod runtime;

pub use policy::{Grants, Limits};
pub use runtime::{
    FailureKind, LoadError, Request, RunReport, Runtime, RuntimeConfig, Tool, ToolFailure,
};
