//! One migration runner for every backend: numbered migrations applied in
//! order, each in its own transaction, each recorded with the SHA-256 of
//! its text in `vibe_schema_version`.
//!
//! The rules, the same on SQLite and PostgreSQL:
//! - a database whose schema is newer than this program's is refused before
//!   anything is written to it;
//! - a migration recorded with a checksum other than its text's is refused
//!   (the migration was edited after it was applied, or the schema was
//!   changed by hand), as sqlx refuses one;
//! - opened read-only, a schema older than this program's is refused:
//!   reading it would need a migration, and that is a write;
//! - migrating takes a lock first (SQLite's write lock, a PostgreSQL
//!   advisory lock) and reads the version again under it, so ten processes
//!   opening one new database at once apply each migration once.
//!
//! A migration applied before checksums were recorded (by an older
//! vibe-store) has no checksum; the next open that may write records the
//! checksum of this program's text for it.

use sha2::{Digest, Sha256};

use super::error::{Result, StoreError};
use super::model::now_timestamp;
use super::sql::{Dialect, Sql};

/// One numbered schema migration: its statements, applied in one
/// transaction together with the record that version `version` is applied.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// The schema version it brings the database to (SQLite's
    /// `user_version` and a row of `vibe_schema_version`).
    pub version: u32,
    /// The statements, run in one transaction.
    pub sql: &'static str,
}

impl Migration {
    /// The SHA-256 of its text, in lowercase hex: what is recorded when it
    /// is applied, and checked at every open after.
    pub fn checksum(&self) -> String {
        crate::hex::hex(&Sha256::digest(self.sql.as_bytes()))
    }
}

/// A backend's connection as the runner needs it.
pub(crate) trait SchemaConnection {
    /// The database as errors name it: a file's path, a server's URL.
    fn location(&self) -> String;

    /// Runs `f` in one transaction; with `lock`, holding the lock that
    /// migrations take, so no other process migrates meanwhile.
    fn transaction<T>(
        &mut self,
        lock: bool,
        f: &mut dyn FnMut(&mut dyn Sql) -> Result<T>,
    ) -> Result<T>;
}

/// Brings the schema to the last of `migrations`, or (`read_only`) checks
/// that it is there. Returns the schema version.
///
/// # Errors
///
/// [`StoreError::UnusableFile`] for a newer schema, an edited migration, or
/// (read-only) an older schema; [`StoreError::InvalidInput`] when
/// `migrations` are not numbered upwards; whatever the database says.
pub(crate) fn run(
    conn: &mut impl SchemaConnection,
    migrations: &[Migration],
    read_only: bool,
) -> Result<u32> {
    if let Some(first) = migrations.first().filter(|m| m.version == 0) {
        return Err(StoreError::invalid(format!(
            "migrations are numbered from 1 (version 0 is a database without a schema): {} \
             bytes of SQL at version 0",
            first.sql.len()
        )));
    }
    if let Some(pair) = migrations.windows(2).find(|w| w[0].version >= w[1].version) {
        return Err(StoreError::invalid(format!(
            "migrations must be numbered upwards: {} comes after {}",
            pair[1].version, pair[0].version
        )));
    }
    let location = conn.location();
    let found = conn.transaction(false, &mut |db| State::read(db))?;
    found.check(&location, migrations, read_only)?;
    if read_only {
        return Ok(found.version);
    }
    for migration in migrations.iter().filter(|m| m.version > found.version) {
        let applied = conn.transaction(true, &mut |db| {
            ledger(db.dialect()).create(db)?;
            let now = State::read(db)?;
            now.check(&location, migrations, false)?;
            if now.version >= migration.version {
                return Ok(false);
            }
            db.batch(migration.sql).map_err(|e| {
                StoreError::Internal(format!("migration {} failed: {e}", migration.version))
            })?;
            if db.dialect() == Dialect::Sqlite {
                // PRAGMA takes no parameters; the version is a number.
                db.batch(&format!("PRAGMA user_version = {}", migration.version))?;
            }
            record(db, migration)?;
            Ok(true)
        })?;
        if applied {
            tracing::info!(version = migration.version, "applied schema migration");
        }
    }
    let unrecorded = |state: &State| {
        migrations
            .iter()
            .filter(|m| m.version <= state.version)
            .any(|m| state.checksum(m.version).is_none())
    };
    if unrecorded(&found) {
        // Bookkeeping the open does not need: a role that may write rows but
        // not alter tables (as the previous release needed no more) still
        // opens the database, and the checksums wait for one that may.
        let recorded = conn.transaction(true, &mut |db| {
            ledger(db.dialect()).create(db)?;
            let now = State::read(db)?;
            for migration in migrations.iter().filter(|m| m.version <= now.version) {
                if now.checksum(migration.version).is_none() {
                    record(db, migration)?;
                }
            }
            Ok(())
        });
        if let Err(e) = recorded {
            tracing::warn!(
                database = %location,
                error = %e,
                "could not record the checksums of migrations applied before they were recorded"
            );
        }
    }
    Ok(conn.transaction(false, &mut |db| State::read(db))?.version)
}

/// The schema version a database records (0: no vibe-store schema), read
/// as the runner reads it. (SQLite reads its own from `user_version`.)
#[cfg(feature = "postgres")]
pub(crate) fn version(db: &mut dyn Sql) -> Result<u32> {
    Ok(State::read(db)?.version)
}

/// Records `migration`'s row in the ledger (a row without a checksum gets
/// one; a recorded checksum is kept).
fn record(db: &mut dyn Sql, migration: &Migration) -> Result<()> {
    db.execute(
        ledger(db.dialect()).record,
        &[
            i64::from(migration.version).into(),
            now_timestamp().into(),
            migration.checksum().into(),
        ],
    )?;
    Ok(())
}

/// What a database records of its schema.
struct State {
    /// The version applied (0: no vibe-store schema yet).
    version: u32,
    /// Each recorded migration's checksum, if it has one.
    checksums: Vec<(u32, Option<String>)>,
}

impl State {
    fn read(db: &mut dyn Sql) -> Result<State> {
        let ledger = ledger(db.dialect());
        let int = |row: Option<Vec<super::sql::Value<'static>>>| {
            row.and_then(|r| r[0].int()).unwrap_or(0)
        };
        let has_ledger = int(db.query_opt(ledger.exists, &[])?) > 0;
        // SQLite's version is in the file's header, ledger or not.
        let version = if has_ledger || db.dialect() == Dialect::Sqlite {
            int(db.query_opt(ledger.version, &[])?)
        } else {
            0
        };
        let mut checksums = Vec::new();
        if has_ledger && int(db.query_opt(ledger.has_checksums, &[])?) > 0 {
            db.query(ledger.checksums, &[], &mut |row| {
                let version = row[0].int().unwrap_or(0);
                checksums.push((
                    u32::try_from(version).unwrap_or(0),
                    row[1].text().map(str::to_owned),
                ));
                Ok(())
            })?;
        }
        Ok(State {
            version: u32::try_from(version).unwrap_or(u32::MAX),
            checksums,
        })
    }

    fn checksum(&self, version: u32) -> Option<&str> {
        self.checksums
            .iter()
            .find(|(v, _)| *v == version)
            .and_then(|(_, sum)| sum.as_deref())
    }

    /// Refuses a schema this program must not use with `migrations`.
    fn check(&self, location: &str, migrations: &[Migration], read_only: bool) -> Result<()> {
        let unusable = |reason: String| StoreError::UnusableFile {
            path: location.into(),
            reason,
        };
        let latest = migrations.last().map_or(0, |m| m.version);
        if self.version > latest {
            return Err(unusable(format!(
                "its schema version is {}, newer than this vibe-store supports ({latest}); use a \
                 newer vibe-store",
                self.version
            )));
        }
        for migration in migrations.iter().filter(|m| m.version <= self.version) {
            if let Some(recorded) = self.checksum(migration.version) {
                let expected = migration.checksum();
                if recorded != expected {
                    return Err(unusable(format!(
                        "migration {} was applied from other text than this vibe-store's \
                         (checksum {recorded} recorded, {expected} expected): the migration \
                         was edited after it was applied, or the schema was changed by hand",
                        migration.version
                    )));
                }
            }
        }
        if read_only && self.version < latest {
            return Err(unusable(format!(
                "its schema version is {}, older than this vibe-store reads ({latest}); open it \
                 once for writing to upgrade it",
                self.version
            )));
        }
        Ok(())
    }
}

/// The statements that read and write `vibe_schema_version`, per dialect.
struct Ledger {
    /// Counts the ledger table (0 or 1).
    exists: &'static str,
    /// Counts its `checksum` column (0 or 1): older databases lack it.
    has_checksums: &'static str,
    /// The schema version: SQLite's `user_version`, PostgreSQL's highest
    /// version recorded.
    version: &'static str,
    /// Every recorded version and its checksum.
    checksums: &'static str,
    /// Creates the table if there is none.
    create_table: &'static str,
    /// Adds the checksum column to a table an older vibe-store made
    /// (PostgreSQL: if it has none).
    add_checksums: &'static str,
    /// `?1` version, `?2` now, `?3` checksum: records a migration, or
    /// the checksum of one recorded without.
    record: &'static str,
}

impl Ledger {
    /// Makes the table hold checksums, changing nothing when it does. On
    /// PostgreSQL a catalog lookup under the advisory lock may predate the
    /// last holder's commit, so the DDL itself says `IF NOT EXISTS`.
    fn create(&self, db: &mut dyn Sql) -> Result<()> {
        db.batch(self.create_table)?;
        let has_checksums = db
            .query_opt(self.has_checksums, &[])?
            .and_then(|r| r[0].int())
            .unwrap_or(0)
            > 0;
        if db.dialect() == Dialect::Postgres || !has_checksums {
            db.batch(self.add_checksums)?;
        }
        Ok(())
    }
}

fn ledger(dialect: Dialect) -> &'static Ledger {
    match dialect {
        Dialect::Sqlite => &SQLITE_LEDGER,
        Dialect::Postgres => &POSTGRES_LEDGER,
    }
}

const SQLITE_LEDGER: Ledger = Ledger {
    exists: "SELECT COUNT(*) FROM sqlite_master
             WHERE type = 'table' AND name = 'vibe_schema_version'",
    has_checksums: "SELECT COUNT(*) FROM pragma_table_info('vibe_schema_version')
                    WHERE name = 'checksum'",
    version: "PRAGMA user_version",
    checksums: "SELECT version, checksum FROM vibe_schema_version ORDER BY version",
    create_table: "CREATE TABLE IF NOT EXISTS vibe_schema_version (
                       version     INTEGER PRIMARY KEY,
                       applied_at  TEXT NOT NULL,
                       checksum    TEXT
                   )",
    add_checksums: "ALTER TABLE vibe_schema_version ADD COLUMN checksum TEXT",
    record: "INSERT INTO vibe_schema_version (version, applied_at, checksum)
             VALUES (?1, ?2, ?3)
             ON CONFLICT (version) DO UPDATE SET checksum = excluded.checksum
             WHERE vibe_schema_version.checksum IS NULL",
};

const POSTGRES_LEDGER: Ledger = Ledger {
    // Found through the search path, as every statement finds its tables.
    exists: "SELECT CASE WHEN to_regclass('vibe_schema_version') IS NULL THEN 0 ELSE 1 END",
    has_checksums: "SELECT COUNT(*) FROM pg_catalog.pg_attribute
                    WHERE attrelid = to_regclass('vibe_schema_version')
                      AND attname = 'checksum' AND NOT attisdropped",
    version: "SELECT COALESCE(MAX(version), 0) FROM vibe_schema_version",
    checksums: "SELECT version, checksum FROM vibe_schema_version ORDER BY version",
    create_table: "CREATE TABLE IF NOT EXISTS vibe_schema_version (
                       version     INTEGER PRIMARY KEY,
                       applied_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
                       checksum    TEXT
                   )",
    add_checksums: "ALTER TABLE vibe_schema_version ADD COLUMN IF NOT EXISTS checksum TEXT",
    record: "INSERT INTO vibe_schema_version (version, applied_at, checksum)
             VALUES (?1, CAST(CAST(?2 AS TEXT) AS TIMESTAMPTZ), ?3)
             ON CONFLICT (version) DO UPDATE SET checksum = excluded.checksum
             WHERE vibe_schema_version.checksum IS NULL",
};
