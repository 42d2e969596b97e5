//! The integration tests of vibe-store, linked into one binary (as wasmtime
//! links its own) so the suite links wasmtime once. Each module tests one
//! face of the product through its public entry points: the library API,
//! the `vibe` binary, real components.

mod abuse;
mod blocking;
mod cache;
mod cli;
mod cli_input;
mod common;
mod embedding;
mod evidence;
mod exit_codes;
mod extreme_values;
mod faults;
mod file_modes;
mod files;
mod foreign;
mod foreign_ids;
mod fuzz;
mod helpers;
mod hostile_exports;
mod hostile_output;
mod invocations;
mod languages;
mod mcp;
mod mcp_catalog;
mod migrations;
mod model;
mod operator;
mod output;
mod pgbouncer;
mod postgres;
mod python;
mod sandbox;
mod spares;
mod store;
