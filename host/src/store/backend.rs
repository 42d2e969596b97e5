//! What a backend provides: transactions over its connections. Everything
//! else a store does (validation, locking a mission, the statements, the
//! hash chain, mapping "not found") is written once, against [`Sql`], in
//! `operations.rs`, `chain.rs` and `transfer.rs`.
//!
//! A backend is an adapter: [`SqliteStore`](super::SqliteStore) runs its
//! writes through one group-committing connection and its reads on a small
//! pool; [`PostgresStore`](super::PostgresStore) runs both on a bounded pool
//! of server connections and retries transactions the server aborted as
//! conflicts. The few statements whose text differs between the two are in
//! `dialect.rs`, side by side.

use std::sync::Arc;

use super::chain::RememberedHeads;
use super::error::Result;
use super::model::Origin;
use super::sql::Sql;

/// A database the store's operations run on. Implemented by each backend;
/// [`MissionStore`](super::MissionStore) is implemented once for all of
/// them (`operations.rs`).
pub(crate) trait Backend: Send + Sync + Sized + 'static {
    /// Who this handle's writes are recorded as coming from.
    fn origin(&self) -> Origin;

    /// A handle on the same database whose writes are recorded as coming
    /// from `origin`.
    fn with_origin(&self, origin: Origin) -> Self;

    /// Runs `f` in a read transaction (one snapshot). `f` may run again if
    /// the first attempt's transaction was aborted as a conflict.
    fn read_sql<T>(&self, f: impl FnMut(&mut dyn Sql) -> Result<T>) -> Result<T>;

    /// Runs `f` in a write transaction, committed before this returns; all
    /// or nothing of what `f` wrote. `f` may run again if the first
    /// attempt's transaction was aborted as a conflict, and may run on
    /// another thread (SQLite's group commit runs a batch of writers' work
    /// on the thread that leads it).
    fn write_sql<T: Send + 'static>(
        &self,
        f: impl FnMut(&mut dyn Sql) -> Result<T> + Send + 'static,
    ) -> Result<T>;

    /// The chain heads this store's writes left, where chaining onto one
    /// saves round trips (PostgreSQL); `None` where reading the head is as
    /// cheap as checking it (SQLite: one index probe under the file's one
    /// write lock).
    fn remembered_heads(&self) -> Option<Arc<RememberedHeads>> {
        None
    }
}
