//! How a store is opened: the settings both backends honour, and the ones
//! only one backend has, each in its own part so no backend is handed a
//! setting it would ignore without saying.

use std::time::Duration;

use super::error::{Result, StoreError};
use super::migrate::Migration;
use super::sqlite::busy::LockWaitNotice;

/// How hard each acknowledged write is pushed to stable storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// Every acknowledged write survives power loss (`synchronous = FULL`).
    #[default]
    Full,
    /// Every acknowledged write survives a crash of the process, but the last
    /// ones may be lost on power loss (`synchronous = NORMAL`).
    Normal,
}

impl Durability {
    /// Every durability, strongest first.
    pub const ALL: [Durability; 2] = [Durability::Full, Durability::Normal];

    /// Its name (`full`, `normal`), as the CLI and `VIBE_DURABILITY` spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Durability::Full => "full",
            Durability::Normal => "normal",
        }
    }

    /// The `PRAGMA synchronous` value it runs with.
    pub(crate) fn synchronous(self) -> &'static str {
        match self {
            Durability::Full => "FULL",
            Durability::Normal => "NORMAL",
        }
    }
}

impl std::str::FromStr for Durability {
    type Err = StoreError;

    /// Accepts any letter case.
    fn from_str(text: &str) -> Result<Self> {
        Durability::ALL
            .into_iter()
            .find(|d| d.as_str().eq_ignore_ascii_case(text))
            .ok_or_else(|| {
                StoreError::invalid(format!(
                    "unknown durability {text:?}; valid values: full, normal"
                ))
            })
    }
}

impl std::fmt::Display for Durability {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How long a write waits for another process's lock by default.
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Connections a PostgreSQL store opens at most unless told otherwise.
pub const DEFAULT_MAX_CONNECTIONS: usize = 10;

/// How to open a store: what every backend honours, then what only one
/// has ([`SqliteOptions`], [`PostgresOptions`]). A backend reads its own
/// part and no other; [`AnyStore`](super::AnyStore) hands each backend the
/// part that is its own.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct OpenOptions {
    /// How hard each acknowledged write is pushed to stable storage
    /// (SQLite's `synchronous`; PostgreSQL's `synchronous_commit`).
    pub durability: Durability,
    /// How long a call waits for a lock another writer holds (SQLite's
    /// file lock, a PostgreSQL row lock) or for a free connection.
    pub busy_timeout: Duration,
    /// Called once per wait when another process's lock has been waited on
    /// for a second (the `vibe` command line says so on stderr). SQLite
    /// only: PostgreSQL's lock waits end at `busy_timeout` without notice.
    pub lock_wait_notice: Option<LockWaitNotice>,
    /// Open for reading only: nothing is created, migrated or converted
    /// (not even to WAL), and every write fails with
    /// [`StoreError::ReadOnly`]. A schema older than this program's is
    /// refused (reading it would need a migration, which is a write). A
    /// SQLite file that cannot be written (its mode, its directory, a
    /// read-only mount) is read this way.
    pub read_only: bool,
    /// Create the database (a SQLite file and its directory; the schema in
    /// an empty PostgreSQL database) when there is none. Off: a missing one
    /// is [`StoreError::NoDatabase`].
    pub create: bool,
    /// What only a SQLite file has.
    pub sqlite: SqliteOptions,
    /// What only a PostgreSQL server has.
    pub postgres: PostgresOptions,
}

/// What only a SQLite store has.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SqliteOptions {
    /// The schema's migrations, oldest first: [`MIGRATIONS`](super::MIGRATIONS).
    /// Programs that extend the schema append their own after it.
    pub migrations: Vec<Migration>,
    /// A cap on the database's size, in pages (`PRAGMA max_page_count`):
    /// writes past it fail with [`StoreError::StorageFull`] exactly as on a
    /// full disk. `None` leaves SQLite's default (effectively unlimited).
    pub max_page_count: Option<u32>,
}

/// What only a PostgreSQL store has.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PostgresOptions {
    /// The schema's migrations, oldest first:
    /// [`POSTGRES_MIGRATIONS`](super::POSTGRES_MIGRATIONS) where the
    /// `postgres` feature is on. Programs that extend the schema append
    /// their own after it.
    pub migrations: Vec<Migration>,
    /// The most connections the store's pool opens at once; calls beyond
    /// them wait up to `busy_timeout` for one.
    pub max_connections: usize,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            durability: Durability::Full,
            busy_timeout: DEFAULT_BUSY_TIMEOUT,
            lock_wait_notice: None,
            read_only: false,
            create: true,
            sqlite: SqliteOptions::default(),
            postgres: PostgresOptions::default(),
        }
    }
}

impl Default for SqliteOptions {
    fn default() -> Self {
        SqliteOptions {
            migrations: super::sqlite::MIGRATIONS.to_vec(),
            max_page_count: None,
        }
    }
}

impl Default for PostgresOptions {
    fn default() -> Self {
        PostgresOptions {
            #[cfg(feature = "postgres")]
            migrations: super::postgres::POSTGRES_MIGRATIONS.to_vec(),
            #[cfg(not(feature = "postgres"))]
            migrations: Vec::new(),
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }
}

impl OpenOptions {
    /// These options with another durability.
    pub fn durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    /// These options with another busy timeout.
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// These options with a notice called when a lock has been waited on
    /// for a second.
    pub fn lock_wait_notice(mut self, notice: LockWaitNotice) -> Self {
        self.lock_wait_notice = Some(notice);
        self
    }

    /// These options for reading only: no database created, nothing changed.
    pub fn read_only(mut self) -> Self {
        self.read_only = true;
        self.create = false;
        self
    }

    /// These options with `create` set: whether a missing database is made.
    pub fn create(mut self, create: bool) -> Self {
        self.create = create;
        self
    }

    /// SQLite: these options with the file's size capped at `pages` pages.
    pub fn max_page_count(mut self, pages: u32) -> Self {
        self.sqlite.max_page_count = Some(pages);
        self
    }

    /// SQLite: these options with `migrations` as the schema's, oldest
    /// first ([`MIGRATIONS`](super::MIGRATIONS) and a program's own after
    /// them).
    pub fn sqlite_migrations(mut self, migrations: Vec<Migration>) -> Self {
        self.sqlite.migrations = migrations;
        self
    }

    /// PostgreSQL: these options with `migrations` as the schema's, oldest
    /// first.
    pub fn postgres_migrations(mut self, migrations: Vec<Migration>) -> Self {
        self.postgres.migrations = migrations;
        self
    }

    /// PostgreSQL: these options with at most `connections` connections.
    pub fn max_connections(mut self, connections: usize) -> Self {
        self.postgres.max_connections = connections;
        self
    }
}
