//! Opening a database file: creation, sanity checks on existing files,
//! per-connection settings and schema migrations.
//!
//! The rule here is "look before you write": an existing file is checked
//! (SQLite header, size, schema version, tables) before any pragma or
//! migration could modify it, so a file this program cannot use is left
//! byte-for-byte untouched. A new file is built under a temporary name and
//! linked into place, so no process ever sees a half-made database.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use super::busy::{with_wait, LockWaitNotice};
use super::error::{Result, StoreError};

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

/// One numbered schema migration, applied in a transaction together with the
/// bump of `PRAGMA user_version` to `version`.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// The `user_version` it brings the file to.
    pub version: u32,
    /// The statements, run in one transaction.
    pub sql: &'static str,
}

/// The migrations compiled into this binary, from `schema/`.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        sql: include_str!("../../schema/0001_init.sql"),
    },
    Migration {
        version: 2,
        sql: include_str!("../../schema/0002_provenance.sql"),
    },
    Migration {
        version: 3,
        sql: include_str!("../../schema/0003_operator_indexes.sql"),
    },
    Migration {
        version: 4,
        sql: include_str!("../../schema/0004_chain_and_caller.sql"),
    },
];

/// Tables every vibe-store database has; their absence marks a foreign file.
const REQUIRED_TABLES: &[&str] = &["missions", "tool_calls", "decisions"];

/// How to open a store.
#[derive(Debug, Clone)]
pub struct OpenOptions {
    /// How hard each acknowledged write is pushed to disk.
    pub durability: Durability,
    /// How long a write waits for another process's write lock.
    pub busy_timeout: Duration,
    /// Called once per wait when another process's lock has been waited on
    /// for a second (the `vibe` command line says so on stderr).
    pub lock_wait_notice: Option<LockWaitNotice>,
    /// Open for reading only: nothing is created, migrated or converted
    /// (not even to WAL), and every write fails with
    /// [`StoreError::ReadOnly`]. A file that cannot be written (its mode, its
    /// directory, a read-only mount) is read this way.
    pub read_only: bool,
    /// Create the file (and its directory) when there is none. Off: a
    /// missing file is [`StoreError::NoDatabase`].
    pub create: bool,
    /// The schema's migrations, oldest first. Programs that extend the schema
    /// append their own after [`MIGRATIONS`].
    pub migrations: Vec<Migration>,
    /// A cap on the database's size, in pages (`PRAGMA max_page_count`):
    /// writes past it fail with [`StoreError::StorageFull`] exactly as on a
    /// full disk. `None` leaves SQLite's default (effectively unlimited).
    pub max_page_count: Option<u32>,
    /// PostgreSQL: the most connections the store's pool opens at once
    /// (calls beyond them wait up to `busy_timeout` for one). SQLite keeps
    /// one write connection and a few readers, and ignores this.
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
            migrations: MIGRATIONS.to_vec(),
            max_page_count: None,
            max_connections: 10,
        }
    }
}

impl OpenOptions {
    /// These options with another durability.
    pub fn durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    /// These options for reading only: no file created, nothing changed.
    pub fn read_only(mut self) -> Self {
        self.read_only = true;
        self.create = false;
        self
    }

    pub(crate) fn latest_version(&self) -> u32 {
        self.migrations.last().map_or(0, |m| m.version)
    }
}

/// How long a write waits for another process's lock by default.
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Makes sure a usable database exists at `path` and is migrated, and returns
/// a configured connection to it. Read-only: checks it and opens it, changing
/// nothing.
pub(crate) fn open_database(path: &Path, options: &OpenOptions) -> Result<Connection> {
    with_wait(path, options.busy_timeout, options.lock_wait_notice, || {
        open_database_waiting(path, options)
    })
}

fn open_database_waiting(path: &Path, options: &OpenOptions) -> Result<Connection> {
    if !path.exists() {
        if !options.create || options.read_only {
            return Err(StoreError::NoDatabase {
                path: path.to_owned(),
            });
        }
        create_database(path, options)?;
    }
    check_file(path, options.read_only)?;
    let conn = connect(path, options)?;
    check_schema(path, &conn, options)?;
    if options.read_only {
        return Ok(conn);
    }
    // Only now may the file change: WAL mode is recorded in its header.
    conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get::<_, String>(0))
        .map_err(|e| classify_open_error(path, e))?;
    migrate(&conn, options)?;
    Ok(conn)
}

/// Opens one more connection to a database that [`open_database`] vetted.
pub(crate) fn connect(path: &Path, options: &OpenOptions) -> Result<Connection> {
    let conn = if options.read_only {
        connect_read_only(path)?
    } else {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        Connection::open_with_flags(literal(path), flags)
            .map_err(|e| classify_open_error(path, e))?
    };
    configure(&conn, options).map_err(|e| classify_open_error(path, e))?;
    Ok(conn)
}

/// A read-only connection. A WAL file whose directory this user cannot
/// write (so SQLite cannot make its shared-memory file) is opened as
/// immutable: nobody who could change it is reading through us anyway, and
/// the alternative is not reading it at all.
fn connect_read_only(path: &Path) -> Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(literal(path), flags)
        .map_err(|e| classify_open_error(path, e))?;
    // Opening is lazy: the first read is where a WAL file without its
    // shared memory fails.
    match conn.query_row("SELECT COUNT(*) FROM sqlite_master", [], |_| Ok(())) {
        Ok(()) => Ok(conn),
        Err(e)
            if matches!(
                e.sqlite_error_code(),
                Some(rusqlite::ErrorCode::CannotOpen) | Some(rusqlite::ErrorCode::ReadOnly)
            ) =>
        {
            let uri = immutable_uri(path).map_err(|e| StoreError::io(path, e))?;
            Connection::open_with_flags(uri, flags | OpenFlags::SQLITE_OPEN_URI)
                .map_err(|e| classify_open_error(path, e))
        }
        Err(e) => Err(classify_open_error(path, e)),
    }
}

/// `file:` URI of `path` with `immutable=1`, every byte outside the
/// unreserved set percent-encoded.
fn immutable_uri(path: &Path) -> std::io::Result<String> {
    let absolute = std::path::absolute(path)?;
    let mut uri = String::from("file:");
    for &byte in absolute.as_os_str().as_encoded_bytes() {
        if byte.is_ascii_alphanumeric() || b"/-._~".contains(&byte) {
            uri.push(byte as char);
        } else {
            uri.push_str(&format!("%{byte:02X}"));
        }
    }
    uri.push_str("?immutable=1");
    Ok(uri)
}

/// `path` as SQLite must be given it to open exactly that file. The bundled
/// SQLite reads any name that begins with `file:` as a URI (it is built
/// with `SQLITE_USE_URI`, whatever the open flags say), so `file:x.db` would
/// open `x.db`, a file the checks here never looked at: such a relative
/// path is spelled `./file:x.db`, which means the same file to the OS and is
/// no URI to SQLite.
fn literal(path: &Path) -> PathBuf {
    if path.as_os_str().as_encoded_bytes().starts_with(b"file:") {
        Path::new(".").join(path)
    } else {
        path.to_owned()
    }
}

fn configure(conn: &Connection, options: &OpenOptions) -> rusqlite::Result<()> {
    conn.busy_handler(Some(super::busy::handler))?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "synchronous", options.durability.synchronous())?;
    if let Some(pages) = options.max_page_count {
        conn.pragma_update_and_check(None, "max_page_count", pages, |row| row.get::<_, i64>(0))?;
    }
    conn.set_prepared_statement_cache_capacity(32);
    Ok(())
}

fn classify_open_error(path: &Path, err: rusqlite::Error) -> StoreError {
    use rusqlite::ErrorCode;
    match err.sqlite_error_code() {
        Some(ErrorCode::ReadOnly)
        | Some(ErrorCode::CannotOpen)
        | Some(ErrorCode::PermissionDenied) => StoreError::ReadOnly {
            path: path.to_owned(),
            reason: err.to_string(),
        },
        Some(ErrorCode::NotADatabase) | Some(ErrorCode::DatabaseCorrupt) => {
            unusable(path, err.to_string())
        }
        _ => err.into(),
    }
}

fn unusable(path: &Path, reason: impl Into<String>) -> StoreError {
    StoreError::UnusableFile {
        path: path.to_owned(),
        reason: reason.into(),
    }
}

/// Builds a fresh database under a temporary name beside `path` and links it
/// into place. If another process got there first, its file wins and ours is
/// discarded.
fn create_database(path: &Path, options: &OpenOptions) -> Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&dir).map_err(|e| read_only_or_io(&dir, e))?;
    let file_name = path
        .file_name()
        .ok_or_else(|| StoreError::invalid(format!("{} is not a file path", path.display())))?;
    let temp = dir.join(format!(
        ".{}.init-{}",
        file_name.to_string_lossy(),
        uuid::Uuid::new_v4().simple()
    ));
    let built = build_fresh(&temp, options);
    let linked = built.and_then(|()| match fs::hard_link(&temp, path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(read_only_or_io(path, e)),
    });
    let _ = fs::remove_file(&temp);
    linked?;
    if let Ok(dir) = fs::File::open(&dir) {
        let _ = dir.sync_all();
    }
    Ok(())
}

fn build_fresh(temp: &Path, options: &OpenOptions) -> Result<()> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(literal(temp), flags)
        .map_err(|e| classify_open_error(temp, e))?;
    configure(&conn, options)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    migrate(&conn, options)?;
    // Closing the last connection checkpoints the WAL into the file and
    // removes it, so the linked file is complete on its own.
    conn.close().map_err(|(_, e)| StoreError::from(e))?;
    fs::File::open(temp)
        .and_then(|f| f.sync_all())
        .map_err(|e| StoreError::io(temp, e))
}

fn read_only_or_io(path: &Path, err: std::io::Error) -> StoreError {
    match err.kind() {
        std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem => {
            StoreError::ReadOnly {
                path: path.to_owned(),
                reason: err.to_string(),
            }
        }
        _ => StoreError::io(path, err),
    }
}

/// Reads the first page header of an existing file without SQLite: rejects
/// empty files, files that are not SQLite, and files shorter than their
/// header says (truncated), before anything could write to them.
fn check_file(path: &Path, read_only: bool) -> Result<()> {
    let meta = fs::metadata(path).map_err(|e| StoreError::io(path, e))?;
    if meta.is_dir() {
        return Err(unusable(path, "it is a directory"));
    }
    if !read_only && meta.permissions().readonly() {
        return Err(StoreError::ReadOnly {
            path: path.to_owned(),
            reason: "the file is read-only".into(),
        });
    }
    let len = meta.len();
    if len == 0 {
        return Err(unusable(
            path,
            "the file is empty (0 bytes), not a SQLite database",
        ));
    }
    let mut header = [0u8; 100];
    let mut file = fs::File::open(path).map_err(|e| read_only_or_io(path, e))?;
    if len < 100 || file.read_exact(&mut header).is_err() {
        return Err(unusable(
            path,
            format!("not a SQLite database: the file is only {len} bytes"),
        ));
    }
    if &header[..16] != b"SQLite format 3\0" {
        return Err(unusable(path, "not a SQLite database (bad header)"));
    }
    let page_size = match u16::from_be_bytes([header[16], header[17]]) {
        1 => 65536,
        n => u64::from(n),
    };
    let page_count = u64::from(u32::from_be_bytes(header[28..32].try_into().unwrap()));
    let change_counter = &header[24..28];
    let valid_for = &header[92..96];
    // The in-header size is trustworthy only when written by SQLite >= 3.7.0,
    // which marks it by copying the change counter into "version-valid-for".
    // A process killed mid-checkpoint can leave page 1 ahead of the file's
    // length; its WAL still holds every page and completes the file on the
    // next open, so the check applies only when there is no WAL to replay.
    let wal_len = fs::metadata(wal_path(path)).map(|m| m.len()).unwrap_or(0);
    if wal_len == 0 && change_counter == valid_for && page_count * page_size > len {
        return Err(unusable(
            path,
            format!(
                "the file is truncated: its header declares {page_count} pages of {page_size} bytes but it holds {len} bytes"
            ),
        ));
    }
    Ok(())
}

fn wal_path(path: &Path) -> PathBuf {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    PathBuf::from(wal)
}

/// Checks the schema version and tables of an existing file; writes nothing.
fn check_schema(path: &Path, conn: &Connection, options: &OpenOptions) -> Result<()> {
    let version: u32 = conn
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .map_err(|e| classify_open_error(path, e))?;
    let latest = options.latest_version();
    if version > latest {
        return Err(unusable(
            path,
            format!(
                "its schema version is {version}, newer than this vibe-store supports ({latest}); use a newer vibe-store"
            ),
        ));
    }
    if options.read_only && version < latest {
        return Err(unusable(
            path,
            format!(
                "its schema version is {version}, older than this vibe-store reads ({latest}); upgrade it with `vibe init` (a write)"
            ),
        ));
    }
    let mut stmt = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        .map_err(|e| classify_open_error(path, e))?;
    let tables: Vec<String> = stmt
        .query_map([], |row| row.get(0))
        .and_then(|rows| rows.collect())
        .map_err(|e| classify_open_error(path, e))?;
    if version == 0 && !tables.is_empty() {
        return Err(unusable(
            path,
            format!(
                "it holds tables ({}) but no vibe-store schema version; it belongs to another program",
                tables.join(", ")
            ),
        ));
    }
    if version > 0 {
        let missing: Vec<&str> = REQUIRED_TABLES
            .iter()
            .copied()
            .filter(|t| !tables.iter().any(|have| have == t))
            .collect();
        if !missing.is_empty() {
            return Err(unusable(
                path,
                format!(
                    "schema version {version} but tables {} are missing; it belongs to another program",
                    missing.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

/// Applies every migration newer than the file's `user_version`, each in its
/// own transaction with its version bump. Safe against other processes
/// migrating at the same time: the version is re-read under the write lock.
pub(crate) fn migrate(conn: &Connection, options: &OpenOptions) -> Result<u32> {
    let version: u32 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    for migration in options.migrations.iter().filter(|m| m.version > version) {
        conn.execute_batch("BEGIN IMMEDIATE")?;
        let applied = (|| -> Result<bool> {
            let current: u32 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
            if current >= migration.version {
                return Ok(false);
            }
            conn.execute_batch(migration.sql)?;
            conn.pragma_update(None, "user_version", migration.version)?;
            Ok(true)
        })();
        match applied {
            Ok(applied) => {
                conn.execute_batch("COMMIT")?;
                if applied {
                    tracing::info!(version = migration.version, "applied schema migration");
                }
            }
            Err(e) => {
                let _ = conn.execute_batch("ROLLBACK");
                return Err(e);
            }
        }
    }
    Ok(conn.pragma_query_value(None, "user_version", |row| row.get(0))?)
}
