//! What vibe-store's integration tests and its benchmark (`vibe-bench`)
//! share, kept out of the published library: [`pg`], the one throwaway
//! PostgreSQL cluster, and the one rule for finding PostgreSQL's server
//! binaries ([`pg::server_binaries`]).

pub mod pg;
