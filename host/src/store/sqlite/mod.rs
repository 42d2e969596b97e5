//! [`SqliteStore`]: the mission store on one SQLite file.
//!
//! Every statement is parameterised and prepared once per connection. Writes
//! go through the group-committing [`Writer`]; reads use a small pool of
//! connections of their own, so readers never wait on a writer's fsync (WAL).

mod backup;
pub(crate) mod busy;
mod ledger_check;
mod open;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::Connection;

use super::backend::Backend;
use super::chain::{self, ChainReport, ChainTable, OrphanChain};
use super::dialect;
use super::error::{Result, StoreError};
use super::ids::MissionId;
use super::migrate::Migration;
use super::model::Origin;
use super::options::OpenOptions;
use super::sql::{Lite, Sql};
use super::transfer::{self, ExportFilter};
use crate::sync::lock;
pub use backup::{Backup, ConstraintBreach};
use busy::with_wait;
use open::{connect, open_database, SchemaLock};
pub use writer::WriteStats;
use writer::{exec_cached, Writer};

/// The SQLite migrations compiled into this binary, from `schema/`.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        sql: include_str!("../../../schema/0001_init.sql"),
    },
    Migration {
        version: 2,
        sql: include_str!("../../../schema/0002_provenance.sql"),
    },
    Migration {
        version: 3,
        sql: include_str!("../../../schema/0003_operator_indexes.sql"),
    },
    Migration {
        version: 4,
        sql: include_str!("../../../schema/0004_chain_and_caller.sql"),
    },
    Migration {
        version: 5,
        sql: include_str!("../../../schema/0005_instants.sql"),
    },
    Migration {
        version: 6,
        sql: include_str!("../../../schema/0006_provenance_identity.sql"),
    },
];

/// Where `open_default` puts the database, relative to the working directory.
pub const DEFAULT_DB_PATH: &str = ".vibe/state/vibe_agency.db";

/// Most idle read connections kept for reuse.
const MAX_IDLE_READERS: usize = 16;

/// The mission store on one SQLite file. Its operations are those of
/// [`MissionStore`](super::MissionStore). Cheap to clone and safe to share between threads: all
/// clones use the same connections.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
    /// Who this handle's writes are recorded as coming from.
    origin: Origin,
}

struct Inner {
    path: PathBuf,
    options: OpenOptions,
    writer: Writer,
    readers: Mutex<Vec<Connection>>,
    /// One connection kept for `data_version`, whose value is per
    /// connection.
    watcher: Mutex<Option<Connection>>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.inner.path)
            .field("durability", &self.inner.options.durability)
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens the database at `path`, creating its directory, the file and the
    /// schema if they do not exist, and applying missing migrations.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(path, OpenOptions::default())
    }

    /// Opens `.vibe/state/vibe_agency.db` under the working directory.
    pub fn open_default() -> Result<Self> {
        Self::open(DEFAULT_DB_PATH)
    }

    /// Opens with explicit options (durability, busy timeout, migrations).
    pub fn open_with(path: impl AsRef<Path>, options: OpenOptions) -> Result<Self> {
        let path = path.as_ref().to_owned();
        let conn = open_database(&path, &options)?;
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                path,
                options,
                writer: Writer::new(conn),
                readers: Mutex::new(Vec::new()),
                watcher: Mutex::new(None),
            }),
            origin: Origin::Host,
        })
    }

    /// Who this handle's writes are recorded as coming from.
    pub fn origin(&self) -> Origin {
        self.origin
    }

    /// The database file's path.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The options the store was opened with.
    pub fn options(&self) -> &OpenOptions {
        &self.inner.options
    }

    /// Creates the schema or applies missing migrations; returns the schema
    /// version. Idempotent: `open` already did this, so it normally changes
    /// nothing.
    pub fn init_db(&self) -> Result<u32> {
        if self.inner.options.read_only {
            return self.schema_version();
        }
        self.inner.writer.with_connection(|conn| {
            super::migrate::run(
                &mut SchemaLock::new(conn, &self.inner.path),
                &self.inner.options.sqlite.migrations,
                false,
            )
        })
    }

    /// The settings in force on the write connection and on a read
    /// connection, in that order: what every connection of this store runs
    /// with.
    pub fn connection_settings(&self) -> Result<[ConnectionSettings; 2]> {
        let timeout =
            i64::try_from(self.inner.options.busy_timeout.as_millis()).unwrap_or(i64::MAX);
        let with_timeout = |settings: ConnectionSettings| ConnectionSettings {
            busy_timeout_ms: timeout,
            ..settings
        };
        let writer = self
            .inner
            .writer
            .with_connection(ConnectionSettings::read)?;
        let reader = self.read(ConnectionSettings::read)?;
        Ok([with_timeout(writer), with_timeout(reader)])
    }

    /// The plan SQLite chose for every statement that finds rows by a
    /// condition, as `EXPLAIN QUERY PLAN` reports it: (statement, plan lines).
    pub fn query_plans(&self) -> Result<Vec<(String, Vec<String>)>> {
        self.read(|conn| {
            lookups()
                .into_iter()
                .map(|sql| {
                    let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
                    let mut rows = stmt.raw_query();
                    let mut plan = Vec::new();
                    while let Some(row) = rows.next()? {
                        plan.push(row.get::<_, String>(3)?);
                    }
                    Ok((sql.to_string(), plan))
                })
                .collect()
        })
    }

    /// Writes committed so far by this store, and the transactions that
    /// held them: under concurrent writers, fewer transactions than writes
    /// is group commit at work.
    pub fn write_stats(&self) -> WriteStats {
        self.inner.writer.stats()
    }

    /// The schema version recorded in the file.
    pub fn schema_version(&self) -> Result<u32> {
        self.read(|conn| Ok(conn.pragma_query_value(None, "user_version", |row| row.get(0))?))
    }

    /// Copies the database to `dest` (a new file) while writers keep
    /// writing: SQLite's online backup, from one read snapshot, so the copy
    /// is consistent as of one moment. The copy is checked with `PRAGMA
    /// integrity_check` before it is moved into place: damage is an error;
    /// rows another program wrote that break a CHECK or NOT NULL constraint
    /// are copied as they are (a faithful copy) and named in the returned
    /// [`Backup`], with the copy's size in bytes. The copy is created with
    /// the source file's read and write bits (0600 if they cannot be read),
    /// never wider, the umask narrowing them further.
    ///
    /// # Errors
    ///
    /// [`StoreError::InvalidInput`] when `dest` exists; I/O errors;
    /// [`StoreError::Internal`] when the copy is damaged. Nothing is left at
    /// `dest` if anything fails.
    pub fn backup_to(&self, dest: &Path) -> Result<Backup> {
        if dest.exists() {
            return Err(StoreError::invalid(format!(
                "{} exists; back up to a new file",
                dest.display()
            )));
        }
        let dir = match dest.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
            _ => PathBuf::from("."),
        };
        let name = dest
            .file_name()
            .ok_or_else(|| StoreError::invalid(format!("{} is not a file path", dest.display())))?;
        let temp = dir.join(format!(
            ".{}.backup-{}",
            name.to_string_lossy(),
            uuid::Uuid::new_v4().simple()
        ));
        // SQLite would create the file world-readable (0644 less the
        // umask): it is created here first, empty, with the source's mode.
        let mode = {
            use std::os::unix::fs::PermissionsExt;
            std::fs::metadata(&self.inner.path).map_or(0o600, |m| m.permissions().mode() & 0o666)
        };
        {
            use std::os::unix::fs::OpenOptionsExt;
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(mode)
                .open(&temp)
                .map_err(|e| StoreError::io(&temp, e))?;
        }
        let copied = self.read(|src| {
            let mut out = Connection::open_with_flags(
                &temp,
                rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE
                    | rusqlite::OpenFlags::SQLITE_OPEN_CREATE
                    | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )
            .map_err(|e| StoreError::io(&temp, std::io::Error::other(e)))?;
            {
                // One step of every page: one snapshot of the source.
                let backup = rusqlite::backup::Backup::new(src, &mut out)?;
                backup.step(-1)?;
            }
            let breaches = backup::check_copy(&mut out)?;
            out.close().map_err(|(_, e)| StoreError::from(e))?;
            Ok(breaches)
        });
        let moved = copied.and_then(|breaches| {
            std::fs::File::open(&temp)
                .and_then(|f| f.sync_all())
                .and_then(|()| std::fs::hard_link(&temp, dest))
                .map_err(|e| StoreError::io(dest, e))
                .map(|()| breaches)
        });
        let _ = std::fs::remove_file(&temp);
        let rows_breaking_constraints = moved?;
        let bytes = std::fs::metadata(dest)
            .map(|m| m.len())
            .map_err(|e| StoreError::io(dest, e))?;
        Ok(Backup {
            bytes,
            rows_breaking_constraints,
        })
    }

    /// A number that changes whenever a transaction is committed to the
    /// file by any connection but the one asking (this store's writer,
    /// another process): `PRAGMA data_version`. Polling it is how a reader
    /// follows the trail live without reading rows when nothing changed.
    pub fn data_version(&self) -> Result<i64> {
        let mut watcher = lock(&self.inner.watcher);
        if watcher.is_none() {
            *watcher = Some(connect(&self.inner.path, &self.inner.options)?);
        }
        let conn = watcher.as_ref().expect("set above");
        Ok(conn.pragma_query_value(None, "data_version", |row| row.get(0))?)
    }
}

impl SqliteStore {
    /// Recomputes `mission`'s hash chain and checks its rows against it
    /// (`vibe verify`): what was edited, deleted, inserted out of chain, and
    /// how many rows carry no hash at all.
    pub fn verify_chain(&self, mission: &MissionId) -> Result<ChainReport> {
        chain::verify_mission(self, mission)
    }

    /// [`verify_chain`](Self::verify_chain) for every mission, oldest
    /// first, one at a time.
    pub fn verify_chains(&self, f: &mut dyn FnMut(ChainReport) -> Result<()>) -> Result<()> {
        chain::verify_every_mission(self, f)
    }

    /// Chains whose mission row is gone: missions deleted behind
    /// vibe-store's back (`prune` deletes a mission's chain with it).
    pub fn orphan_chains(&self) -> Result<Vec<OrphanChain>> {
        self.read(|conn| chain::orphans(&mut Lite(conn)))
    }

    /// The hash of entry `seq` (from 1) of `mission`'s chain, if it has one:
    /// compared with a chain head kept elsewhere, it proves the chain up to
    /// that entry is the one that head was taken from.
    pub fn chain_entry(&self, mission: &MissionId, seq: i64) -> Result<Option<String>> {
        chain::mission_entry(self, mission, seq)
    }

    /// Calls `f` with each mission `filter` selects, oldest first, as one
    /// line of JSON (no newline) and the rows it holds, one mission in
    /// memory at a time; returns the missions it went past (their rows
    /// could not be read), named.
    pub fn export_jsonl(
        &self,
        filter: &ExportFilter,
        f: &mut dyn FnMut(&MissionId, String, u64) -> Result<()>,
    ) -> Result<Vec<super::Skipped>> {
        transfer::export_jsonl(self, filter, f)
    }

    /// Calls `f` with each mission `filter` selects, oldest first, as one
    /// OTLP/JSON `ExportTraceServiceRequest` (no newline), one mission in
    /// memory at a time, with the rows each line held, for progress;
    /// returns the missions it went past, named.
    pub fn export_otlp(
        &self,
        filter: &ExportFilter,
        f: &mut dyn FnMut(&MissionId, String, u64) -> Result<()>,
    ) -> Result<Vec<super::Skipped>> {
        super::otlp::export_otlp(self, filter, f)
    }

    /// The rows an export holds: what `filter` selects, counted in one
    /// read (for progress and ETA).
    pub fn export_size(&self, filter: &ExportFilter) -> Result<u64> {
        transfer::export_size(self, filter)
    }

    /// Imports one exported line: the mission and its rows in one
    /// transaction, keeping uuids, timestamps and JSON text byte for byte.
    /// A mission already present is left alone (importing twice changes
    /// nothing): returns its id and whether it was imported.
    pub fn import_jsonl(&self, line: &str) -> Result<(MissionId, bool)> {
        self.import_jsonl_in(line, &mut transfer::ImportScope::default())
    }

    /// [`import_jsonl`](Self::import_jsonl) for one line of a file whose
    /// earlier lines `scope` holds: a `created_by` must name an invocation
    /// they carry.
    pub fn import_jsonl_in(
        &self,
        line: &str,
        scope: &mut transfer::ImportScope,
    ) -> Result<(MissionId, bool)> {
        transfer::import_jsonl(self, line, scope)
    }

    /// Rebuilds the file to return the space deleted rows left free (`VACUUM`;
    /// holds the write lock for as long as it takes). Returns the file's
    /// size before and after, in bytes.
    pub fn vacuum(&self) -> Result<(u64, u64)> {
        let size = || {
            std::fs::metadata(&self.inner.path)
                .map(|m| m.len())
                .map_err(|e| StoreError::io(&self.inner.path, e))
        };
        let before = size()?;
        self.inner
            .writer
            .with_connection(|conn| conn.execute_batch("VACUUM"))?;
        Ok((before, size()?))
    }

    // ---- plumbing ------------------------------------------------------------

    pub(super) fn write<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let options = &self.inner.options;
        if options.read_only {
            return Err(StoreError::ReadOnly {
                path: self.inner.path.clone(),
                reason: "the store was opened read-only".into(),
            });
        }
        self.waiting(|| self.inner.writer.write(work))
    }

    /// Runs `f` with lock waits bounded by the store's busy timeout and
    /// announced through its notice; a wait that ran out says how long it
    /// lasted.
    fn waiting<T>(&self, f: impl FnOnce() -> Result<T>) -> Result<T> {
        let options = &self.inner.options;
        with_wait(
            &self.inner.path,
            options.busy_timeout,
            options.lock_wait_notice,
            f,
        )
        .map_err(|e| match e {
            StoreError::Busy { .. } => StoreError::Busy {
                waited: options.busy_timeout,
            },
            other => other,
        })
    }

    /// Runs `f` on a pooled read connection inside one read transaction, so
    /// a multi-statement read sees one snapshot.
    pub(super) fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        self.waiting(|| self.read_waiting(f))
    }

    fn read_waiting<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let pooled = lock(&self.inner.readers).pop();
        let conn = match pooled {
            Some(conn) => conn,
            None => {
                let conn = connect(&self.inner.path, &self.inner.options)?;
                // Checked every 1,000 virtual-machine steps: a few microseconds.
                conn.progress_handler(1000, Some(super::deadline::expired));
                conn
            }
        };
        let outcome = (|| {
            exec_cached(&conn, "BEGIN")?;
            let outcome = f(&conn);
            exec_cached(&conn, "COMMIT")?;
            outcome
        })();
        if !conn.is_autocommit() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        let mut idle = lock(&self.inner.readers);
        if idle.len() < MAX_IDLE_READERS {
            idle.push(conn);
        }
        outcome
    }
}

impl Backend for SqliteStore {
    fn origin(&self) -> Origin {
        self.origin
    }

    fn with_origin(&self, origin: Origin) -> Self {
        SqliteStore {
            inner: self.inner.clone(),
            origin,
        }
    }

    fn read_sql<T>(&self, mut f: impl FnMut(&mut dyn Sql) -> Result<T>) -> Result<T> {
        self.read(|conn| f(&mut Lite(conn)))
    }

    fn write_sql<T: Send + 'static>(
        &self,
        mut f: impl FnMut(&mut dyn Sql) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        self.write(move |conn| f(&mut Lite(conn)))
    }
}

/// The pragmas a connection runs with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionSettings {
    /// `PRAGMA journal_mode` (`wal`).
    pub journal_mode: String,
    /// 2 = FULL, 1 = NORMAL.
    pub synchronous: i64,
    /// `PRAGMA foreign_keys`.
    pub foreign_keys: bool,
    /// How long a statement waits for another process's lock, in
    /// milliseconds: the store's busy timeout, which its lock-wait handler
    /// enforces (SQLite's own `PRAGMA busy_timeout` is replaced by it).
    pub busy_timeout_ms: i64,
}

impl ConnectionSettings {
    fn read(conn: &Connection) -> Result<Self> {
        let pragma = |name: &str| {
            conn.pragma_query_value(None, name, |row| row.get::<_, rusqlite::types::Value>(0))
        };
        let int = |name: &str| -> Result<i64> {
            match pragma(name)? {
                rusqlite::types::Value::Integer(i) => Ok(i),
                other => Err(StoreError::Internal(format!(
                    "pragma {name} returned {other:?}"
                ))),
            }
        };
        Ok(ConnectionSettings {
            journal_mode: conn.pragma_query_value(None, "journal_mode", |row| row.get(0))?,
            synchronous: int("synchronous")?,
            foreign_keys: int("foreign_keys")? == 1,
            busy_timeout_ms: 0,
        })
    }
}

/// Every statement that finds rows by a condition: what
/// [`SqliteStore::query_plans`] explains.
fn lookups() -> Vec<String> {
    let sqlite = &dialect::SQLITE;
    let mut all: Vec<&str> = vec![
        dialect::MISSION_BY_UUID,
        dialect::MISSION_ROW_BY_UUID,
        sqlite.find_missions,
        sqlite.memory_list,
        sqlite.prune_candidates,
        sqlite.missions_not_a_time,
        sqlite.export_selection,
        dialect::TOOL_CALL_BY_ID,
        sqlite.lock_mission,
        dialect::UPDATE_MISSION_STATUS,
        dialect::TOOL_CALLS_PAGE,
        dialect::DECISIONS_PAGE,
        sqlite.memory_get,
        dialect::DELETE_MEMORY,
        dialect::COMPLETE_PLAYBOOK_RUN,
        sqlite.playbook_runs,
        dialect::END_INVOCATION,
        chain::SQL_HEAD,
    ];
    all.extend(sqlite.find_tool_calls);
    all.extend(sqlite.find_decisions);
    let mut all: Vec<String> = all.into_iter().map(String::from).collect();
    all.extend([ChainTable::ToolCalls, ChainTable::PlaybookRuns].map(chain::mission_of_row));
    all
}
