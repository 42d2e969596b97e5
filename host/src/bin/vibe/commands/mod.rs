//! One module per group of commands, as `vibe --help` lists them: each
//! takes its parsed arguments, makes one call into the library, and
//! prints what it got.

pub mod bench;
pub mod demo;
pub mod inspect;
pub mod keep;
pub mod mcp;
pub mod record;
pub mod run;
pub mod verify;
