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

use rusqlite::{Connection, OpenFlags};

use super::busy::with_wait;
use crate::store::error::{Result, StoreError};
use crate::store::migrate::{self, SchemaConnection};
use crate::store::options::OpenOptions;
use crate::store::sql::{Lite, Sql};

/// Tables every vibe-store database has; their absence marks a foreign file.
const REQUIRED_TABLES: &[&str] = &["missions", "tool_calls", "decisions"];

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
    check_schema(path, &conn)?;
    let migrations = &options.sqlite.migrations;
    if options.read_only {
        migrate::run(&mut SchemaLock::new(&conn, path), migrations, true)?;
        return Ok(conn);
    }
    // Only now may the file change: WAL mode is recorded in its header.
    conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get::<_, String>(0))
        .map_err(|e| classify_open_error(path, e))?;
    migrate::run(&mut SchemaLock::new(&conn, path), migrations, false)?;
    match super::ledger_check::rewrite(&conn) {
        Ok(true) => {
            tracing::info!(database = %path.display(), "rewrote the ledger's check as comparisons")
        }
        Ok(false) => {}
        Err(e) => tracing::warn!(
            database = %path.display(),
            error = %e,
            "could not rewrite the ledger's check as comparisons; it stays as it was \
             (as correct, about 2 us slower a ledger entry)"
        ),
    }
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

/// A read-only connection. SQLite reads a WAL only through its
/// shared-memory index (`-shm`); when this user can neither open nor create
/// one (a folder it cannot write), the file is opened as immutable, which
/// reads the main file alone. That is the whole database only when the WAL
/// holds nothing: otherwise the open is refused, never a partial view.
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
            refuse_unseen_wal(path)?;
            let uri = immutable_uri(path).map_err(|e| StoreError::io(path, e))?;
            Connection::open_with_flags(uri, flags | OpenFlags::SQLITE_OPEN_URI)
                .map_err(|e| classify_open_error(path, e))
        }
        Err(e) => Err(classify_open_error(path, e)),
    }
}

/// Refuses `path` when its WAL holds frames (more than its 32-byte header)
/// that a connection without shared memory would not see. A WAL that cannot
/// even be looked at counts as holding frames.
fn refuse_unseen_wal(path: &Path) -> Result<()> {
    const WAL_HEADER: u64 = 32;
    let wal = beside(path, "-wal");
    let held = match fs::metadata(&wal) {
        Ok(meta) if meta.len() <= WAL_HEADER => return Ok(()),
        Ok(meta) => format!("{} bytes", meta.len()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => format!("bytes this user cannot inspect ({e})"),
    };
    Err(unusable(
        path,
        format!(
            "its write-ahead log {} holds changes ({held}) that SQLite can read only \
             through a shared-memory file {}, which this user can neither open nor create; \
             reading without it could miss committed rows. Copy the folder, with its -wal \
             file, somewhere you can write, or read it as a user who can write the folder",
            wal.display(),
            beside(path, "-shm").display()
        ),
    ))
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
    if let Some(pages) = options.sqlite.max_page_count {
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
    migrate::run(
        &mut SchemaLock::new(&conn, temp),
        &options.sqlite.migrations,
        false,
    )?;
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
    //
    // The size is compared only for a file at rest: one no other process is
    // growing. SQLite writes page 1 (the new page count) before the pages
    // that lengthen the file, and keeps its WAL (or rollback journal) from
    // before the first of those writes until after the last: a checkpoint,
    // a commit, the last connection's checkpoint-and-delete on close, and a
    // process killed in the middle all leave that file in place. So the
    // order here is length, header, journals, length again: a header read
    // after a page 1 write whose file growth the second length has not yet
    // seen is followed by a journal check inside that window, which finds
    // the journal. Any journal content, or a length that moved, means
    // SQLite's own recovery and checks apply, not this one.
    let at_rest = journal_len(path, "-wal") == 0
        && journal_len(path, "-journal") == 0
        && fs::metadata(path).map(|m| m.len()).ok() == Some(len);
    if at_rest && change_counter == valid_for && page_count * page_size > len {
        return Err(unusable(
            path,
            format!(
                "the file is truncated: its header declares {page_count} pages of {page_size} bytes but it holds {len} bytes"
            ),
        ));
    }
    Ok(())
}

/// Length of the journal beside `path` whose name ends in `suffix` (`-wal`,
/// `-journal`); 0 when there is none.
fn journal_len(path: &Path, suffix: &str) -> u64 {
    fs::metadata(beside(path, suffix)).map_or(0, |m| m.len())
}

/// The file SQLite keeps beside `path` under the name ending in `suffix`
/// (`-wal`, `-shm`, `-journal`).
fn beside(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Checks that an existing file's tables are vibe-store's (a file with
/// tables and no schema version belongs to another program); writes
/// nothing. Versions are the migration runner's to check.
fn check_schema(path: &Path, conn: &Connection) -> Result<()> {
    let version: u32 = conn
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .map_err(|e| classify_open_error(path, e))?;
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

/// A SQLite connection as the migration runner takes it: a migration holds
/// the write lock (`BEGIN IMMEDIATE`), so another process opening the file
/// at the same time waits, then finds the migration applied.
pub(super) struct SchemaLock<'a> {
    conn: &'a Connection,
    path: &'a Path,
}

impl<'a> SchemaLock<'a> {
    pub(super) fn new(conn: &'a Connection, path: &'a Path) -> Self {
        SchemaLock { conn, path }
    }
}

impl SchemaConnection for SchemaLock<'_> {
    fn location(&self) -> String {
        self.path.display().to_string()
    }

    fn transaction<T>(
        &mut self,
        lock: bool,
        f: &mut dyn FnMut(&mut dyn Sql) -> Result<T>,
    ) -> Result<T> {
        let conn = self.conn;
        conn.execute_batch(if lock { "BEGIN IMMEDIATE" } else { "BEGIN" })
            .map_err(|e| classify_open_error(self.path, e))?;
        let outcome = f(&mut Lite(conn)).and_then(|value| {
            conn.execute_batch("COMMIT")?;
            Ok(value)
        });
        if !conn.is_autocommit() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        outcome
    }
}
