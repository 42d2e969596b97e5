//! The PostgreSQL schema: numbered migrations from `schema/postgres/`, the
//! version applied recorded in `vibe_schema_version`.
//!
//! Each migration runs in one transaction that first takes a transaction
//! advisory lock, then reads the version: ten hosts starting at once queue on
//! the lock, the first applies the migration and the other nine find it
//! applied. A database whose version is newer than this program's is refused
//! before anything is written to it.

use postgres::Client;

use super::connect::{Target, TxStep};
use crate::store::error::{Result, StoreError};
use crate::store::open::Migration;

/// The PostgreSQL migrations compiled into this binary. Their numbers match
/// the SQLite ones: version N is the same layout on both.
pub const POSTGRES_MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        sql: include_str!("../../../schema/postgres/0001_init.sql"),
    },
    Migration {
        version: 2,
        sql: include_str!("../../../schema/postgres/0002_provenance.sql"),
    },
    Migration {
        version: 3,
        sql: include_str!("../../../schema/postgres/0003_operator_indexes.sql"),
    },
    Migration {
        version: 4,
        sql: include_str!("../../../schema/postgres/0004_chain_and_caller.sql"),
    },
];

/// The advisory lock every migration takes: "vibe-mig" in ASCII.
const MIGRATION_LOCK: i64 = 0x7669_6265_2d6d_6967;

const SQL_VERSION: &str = "SELECT COALESCE(MAX(version), 0) FROM vibe_schema_version";

/// The schema version recorded, or `None` when the database has no
/// vibe-store schema.
pub(super) fn version(client: &mut Client, target: &Target) -> Result<Option<u32>> {
    let exists: bool = client
        .query_one("SELECT to_regclass('vibe_schema_version') IS NOT NULL", &[])
        .map_err(|e| target.error(e, TxStep::Work))?
        .get(0);
    if !exists {
        return Ok(None);
    }
    let version: i32 = client
        .query_one(SQL_VERSION, &[])
        .map_err(|e| target.error(e, TxStep::Work))?
        .get(0);
    Ok(Some(version as u32))
}

/// Refuses a database whose schema is newer than `latest`.
pub(super) fn refuse_newer(target: &Target, found: u32, latest: u32) -> Result<()> {
    if found > latest {
        return Err(StoreError::UnusableFile {
            path: target.shown().into(),
            reason: format!(
                "its schema version {found} is newer than this program's {latest}; \
                 upgrade vibe-store"
            ),
        });
    }
    Ok(())
}

/// Applies every migration the database lacks; returns its version.
pub(super) fn migrate(client: &mut Client, target: &Target) -> Result<u32> {
    let latest = POSTGRES_MIGRATIONS.last().map_or(0, |m| m.version);
    if let Some(found) = version(client, target)? {
        refuse_newer(target, found, latest)?;
        if found == latest {
            return Ok(found);
        }
    }
    let fail = |e| target.error(e, TxStep::Work);
    for migration in POSTGRES_MIGRATIONS {
        let mut tx = client.transaction().map_err(fail)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .map_err(fail)?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS vibe_schema_version (
                 version     INTEGER PRIMARY KEY,
                 applied_at  TIMESTAMPTZ NOT NULL DEFAULT now()
             )",
        )
        .map_err(fail)?;
        let found: i32 = tx.query_one(SQL_VERSION, &[]).map_err(fail)?.get(0);
        refuse_newer(target, found as u32, latest)?;
        if found as u32 >= migration.version {
            continue;
        }
        tx.batch_execute(migration.sql).map_err(|e| {
            StoreError::Internal(format!(
                "PostgreSQL migration {} failed: {}",
                migration.version,
                target.error(e, TxStep::Work)
            ))
        })?;
        tx.execute(
            "INSERT INTO vibe_schema_version (version) VALUES ($1)",
            &[&(migration.version as i32)],
        )
        .map_err(fail)?;
        tx.commit().map_err(|e| target.error(e, TxStep::Commit))?;
    }
    Ok(latest)
}
