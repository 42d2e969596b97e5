//! The PostgreSQL schema: its numbered migrations (`schema/postgres/`) and
//! the lock the migration runner takes here. Each migration runs in one
//! transaction that first takes a transaction advisory lock: ten hosts
//! starting at once queue on it, the first applies the migration and the
//! other nine find it applied.

use super::connect::{Conn, Target};
use super::tx::PgTx;
use crate::store::error::Result;
use crate::store::migrate::{Migration, SchemaConnection};
use crate::store::sql::Sql;

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
    Migration {
        version: 5,
        sql: include_str!("../../../schema/postgres/0005_instants.sql"),
    },
    Migration {
        version: 6,
        sql: include_str!("../../../schema/postgres/0006_provenance_identity.sql"),
    },
];

/// The advisory lock every migration takes: "vibe-mig" in ASCII.
const MIGRATION_LOCK: i64 = 0x7669_6265_2d6d_6967;

/// A pooled connection as the migration runner takes it.
pub(super) struct SchemaLock<'a> {
    conn: &'a mut Conn,
    target: &'a Target,
}

impl<'a> SchemaLock<'a> {
    pub(super) fn new(conn: &'a mut Conn, target: &'a Target) -> Self {
        SchemaLock { conn, target }
    }
}

impl SchemaConnection for SchemaLock<'_> {
    fn location(&self) -> String {
        self.target.shown().to_owned()
    }

    fn transaction<T>(
        &mut self,
        lock: bool,
        f: &mut dyn FnMut(&mut dyn Sql) -> Result<T>,
    ) -> Result<T> {
        let mut db = PgTx::new(self.conn, self.target, "BEGIN");
        let outcome = (|| {
            if lock {
                db.execute("SELECT pg_advisory_xact_lock(?1)", &[MIGRATION_LOCK.into()])?;
            }
            f(&mut db)
        })();
        db.finish(outcome)
    }
}
