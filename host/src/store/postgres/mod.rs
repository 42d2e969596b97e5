//! [`PostgresStore`]: the mission store on a PostgreSQL server, for fleets
//! of hosts writing one trail.
//!
//! The same store as [`SqliteStore`](super::SqliteStore): the same
//! operations (`operations.rs`), the same hash chain and transfer code, the
//! same layout (`schema/postgres/`, version for version), the same
//! migration runner. This module is the adapter: connections and
//! transactions. What differs is how a write is serialised: SQLite has one
//! writer per file; here every write to a mission first locks that
//! mission's row (`SELECT ... FOR UPDATE`, in `dialect.rs`), so writes to
//! one mission are chained in commit order while writes to different
//! missions run side by side.
//!
//! Each operation is one transaction on a connection from a bounded pool.
//! A transaction the server aborts as a serialization failure or deadlock is
//! retried (nothing of it was written); a connection found dead before its
//! transaction began is replaced; a connection lost during a transaction
//! fails that call with [`StoreError::Unavailable`], saying whether the
//! write may have been recorded; later calls connect afresh.

pub(crate) mod connect;
mod direct;
mod functions;
mod migrate;
mod tx;

use std::sync::Arc;
use std::time::Duration;

pub use connect::is_postgres_url;
use connect::Pool;
pub(crate) use connect::Target;
use functions::{Functions, WriteSettings};
pub use migrate::POSTGRES_MIGRATIONS;
use tx::PgTx;

use super::backend::Backend;
use super::chain::RememberedHeads;
use super::dialect::POSTGRES_IN_TRANSACTION_SET;
use super::error::{Result, StoreError};
use super::model::Origin;
use super::options::{Durability, OpenOptions};
use super::sql::Sql;

/// What begins a write. READ COMMITTED whatever the server's default
/// (`default_transaction_isolation`): a write takes its mission's lock,
/// then reads the chain's head in a statement of its own, which must see
/// what the lock's last holder committed; a snapshot taken before the lock
/// was granted would not.
const WRITE_BEGIN: &str = "BEGIN ISOLATION LEVEL READ COMMITTED";

/// How often a transaction the server aborted as a conflict is retried.
const MAX_RETRIES: u32 = 20;

/// The mission store on a PostgreSQL server. Its operations are those of
/// [`MissionStore`](super::MissionStore). Cheap to clone and safe to share between threads: all
/// clones share one pool of connections.
#[derive(Clone)]
pub struct PostgresStore {
    inner: Arc<Inner>,
    origin: Origin,
}

struct Inner {
    pool: Pool,
    options: OpenOptions,
    heads: Arc<RememberedHeads>,
    /// The hot writes, as functions of the server's once made, and the
    /// settings they make.
    functions: Functions,
    write_settings: WriteSettings,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("server", &self.server())
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connects to the database `url` names (`postgres://user@host:port/db`,
    /// with libpq's `sslmode`, `connect_timeout`... and passwords from
    /// `PGPASSWORD` or `.pgpass`), creating the schema or applying missing
    /// migrations.
    pub fn open(url: &str) -> Result<Self> {
        Self::open_with(url, OpenOptions::default())
    }

    /// Connects with explicit options: durability (`normal` commits without
    /// waiting for the server's WAL flush: `synchronous_commit = off`), how
    /// long a call waits for a free connection (`busy_timeout`), reading
    /// only, at most `max_connections` connections.
    pub fn open_with(url: &str, options: OpenOptions) -> Result<Self> {
        blocking(|| Self::open_blocking(url, options))
    }

    fn open_blocking(url: &str, options: OpenOptions) -> Result<Self> {
        let target = Target::parse(url)?;
        // A row lock held past the busy timeout (another host's stuck
        // transaction) fails the call as Busy instead of waiting forever.
        let write_settings = WriteSettings::new([
            Some("UTC".into()),
            Some(
                options
                    .busy_timeout
                    .as_millis()
                    .min(i32::MAX as u128)
                    .to_string(),
            ),
            (options.durability == Durability::Normal).then(|| "off".into()),
        ]);
        let mut settings = format!(
            "{}{POSTGRES_IN_TRANSACTION_SET}",
            write_settings.set_local()
        );
        if options.read_only {
            settings.push_str("SET LOCAL transaction_read_only = on;");
        }
        let pool = Pool::new(target, options.postgres.max_connections, settings);
        let store = PostgresStore {
            inner: Arc::new(Inner {
                pool,
                options,
                heads: Arc::default(),
                functions: Functions::default(),
                write_settings,
            }),
            origin: Origin::Host,
        };
        let options = &store.inner.options;
        if (options.read_only || !options.create) && store.schema_version()? == 0 {
            return Err(StoreError::NoDatabase {
                path: store.server().into(),
            });
        }
        store.migrate(options.read_only)?;
        Ok(store)
    }

    /// Runs the migration runner on one pooled connection.
    fn migrate(&self, read_only: bool) -> Result<u32> {
        let mut pooled = self.inner.pool.get(self.inner.options.busy_timeout)?;
        let mut schema = migrate::SchemaLock::new(pooled.conn(), self.inner.pool.target());
        super::migrate::run(
            &mut schema,
            &self.inner.options.postgres.migrations,
            read_only,
        )
    }

    /// The server, as `postgres://user@host:port/db` (never a password).
    pub fn server(&self) -> &str {
        self.inner.pool.target().shown()
    }

    /// Who this handle's writes are recorded as coming from.
    pub fn origin(&self) -> Origin {
        self.origin
    }

    /// Creates the schema or applies missing migrations; returns the schema
    /// version.
    pub fn init_db(&self) -> Result<u32> {
        blocking(|| self.migrate(self.inner.options.read_only))
    }

    /// The schema version recorded in the database (0: none).
    pub fn schema_version(&self) -> Result<u32> {
        self.read(super::migrate::version)
    }

    /// A number that changes whenever a transaction may have committed
    /// since the last call: the server's next transaction id (its snapshot's
    /// xmax). Polling it is how a reader follows the trail (`vibe tools
    /// --follow`) without reading rows when nothing happened. It counts the
    /// whole server's transactions, so it may change when no row of this
    /// database did (a reader then finds nothing new); it never stays the
    /// same across a commit.
    pub fn data_version(&self) -> Result<i64> {
        self.read(|db| {
            Ok(db
                .query_opt(
                    "SELECT CAST(CAST(pg_snapshot_xmax(pg_current_snapshot()) AS TEXT) AS BIGINT)",
                    &[],
                )?
                .and_then(|r| r[0].int())
                .unwrap_or(0))
        })
    }

    /// Runs `f` in one transaction, retrying it when the server aborts it
    /// as a conflict (nothing of it was written then).
    fn transact<T>(&self, write: bool, f: impl FnMut(&mut dyn Sql) -> Result<T>) -> Result<T> {
        blocking(|| self.transact_blocking(write, f))
    }

    fn transact_blocking<T>(
        &self,
        write: bool,
        mut f: impl FnMut(&mut dyn Sql) -> Result<T>,
    ) -> Result<T> {
        if write && self.inner.options.read_only {
            return Err(StoreError::ReadOnly {
                path: self.server().into(),
                reason: "the store was opened read-only".into(),
            });
        }
        let target = self.inner.pool.target();
        let mut conflicts = 0u32;
        let mut stale = 0usize;
        loop {
            let mut pooled = self.inner.pool.get(self.inner.options.busy_timeout)?;
            let begin = if write {
                WRITE_BEGIN
            } else {
                "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY"
            };
            let mut db = PgTx::new(pooled.conn(), target, begin);
            if write {
                db = db
                    .remembering(&self.inner.heads)
                    .planning(&self.inner.functions, &self.inner.write_settings);
            }
            let outcome = f(&mut db);
            // A connection the server closed while it sat idle (a
            // restart): nothing of the transaction was applied.
            if outcome.is_err()
                && db.lost_before_it_began()
                && stale <= self.inner.options.postgres.max_connections
            {
                stale += 1;
                drop(db);
                pooled.discard();
                continue;
            }
            let outcome = db.finish(outcome);
            if pooled.conn().is_closed() {
                pooled.discard();
            } else if write {
                // The statements this transaction sent inline that would
                // be functions, made now, once, for the calls after it.
                self.inner.functions.install_wanted(pooled.conn(), target);
            }
            match outcome {
                Err(StoreError::Conflict(_)) if conflicts < MAX_RETRIES => {
                    conflicts += 1;
                    std::thread::sleep(Duration::from_millis(
                        (1u64 << conflicts.min(6)) + u64::from(std::process::id() % 7),
                    ));
                }
                Err(StoreError::Busy { .. }) => {
                    return Err(StoreError::Busy {
                        waited: self.inner.options.busy_timeout,
                    })
                }
                other => return other,
            }
        }
    }

    fn read<T>(&self, f: impl FnMut(&mut dyn Sql) -> Result<T>) -> Result<T> {
        self.transact(false, f)
    }
}

impl Backend for PostgresStore {
    fn origin(&self) -> Origin {
        self.origin
    }

    fn with_origin(&self, origin: Origin) -> Self {
        PostgresStore {
            inner: self.inner.clone(),
            origin,
        }
    }

    fn read_sql<T>(&self, f: impl FnMut(&mut dyn Sql) -> Result<T>) -> Result<T> {
        self.transact(false, f)
    }

    fn write_sql<T: Send + 'static>(
        &self,
        f: impl FnMut(&mut dyn Sql) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        self.transact(true, f)
    }

    fn remembered_heads(&self) -> Option<Arc<RememberedHeads>> {
        Some(self.inner.heads.clone())
    }
}

/// Runs `f`, which blocks on the server, where blocking is allowed. The
/// client library runs its own small runtime, which tokio refuses to start
/// on a thread inside another runtime's context. `block_in_place` steps out
/// of that context wherever blocking is allowed: on a multi-threaded
/// runtime's worker (as in `vibe mcp`), and inside `Handle::block_on` on a
/// blocking thread (a guest's store call: the sandbox drives guests there,
/// whichever runtime's handle it is). From a current-thread runtime's own
/// thread, call the store through `tokio::task::spawn_blocking` (tokio
/// panics otherwise, as it does for every blocking client).
pub(crate) fn blocking<T>(f: impl FnOnce() -> Result<T>) -> Result<T> {
    match tokio::runtime::Handle::try_current() {
        Ok(_) => tokio::task::block_in_place(f),
        Err(_) => f(),
    }
}
