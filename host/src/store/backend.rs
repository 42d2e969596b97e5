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

use super::chain::Head;
use super::error::Result;
use super::ids::MissionId;
use super::model::Origin;
use super::sql::Sql;

/// One chained insert into a mission's chain: given the mission's row id
/// and its chain head, inserts the row and its ledger entry; returns the
/// row's id and the new head.
pub(crate) type ChainedInsert<'a> = dyn Fn(&mut dyn Sql, i64, Head) -> Result<(i64, Head)> + 'a;

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

    /// Runs `insert` on its own, as one autocommit statement, onto the
    /// chain head this backend last saw `mission` write ([`saw_head`]),
    /// where it keeps heads and `insert` is one statement on it: one round
    /// trip instead of a transaction's five (PostgreSQL). The ledger's key
    /// (mission, position) refuses the entry if another writer moved the
    /// head since; then nothing was written and this returns `Ok(None)`, as
    /// it does when it knows no head: the caller takes the locked path.
    ///
    /// [`saw_head`]: Backend::saw_head
    fn insert_on_known_head(
        &self,
        _mission: &MissionId,
        _insert: &ChainedInsert<'_>,
    ) -> Result<Option<i64>> {
        Ok(None)
    }

    /// Notes `head` as the head of `mission` (row `mission_id`) after a
    /// committed write, for [`insert_on_known_head`](Backend::insert_on_known_head).
    fn saw_head(&self, _mission: &MissionId, _mission_id: i64, _head: Head) {}
}
