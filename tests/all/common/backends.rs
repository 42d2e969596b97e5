//! One test source for both backends: a test takes a [`Backend`], opens a
//! fresh store on it with [`TestStore::open`], and is run once per backend by
//! [`on_both_backends!`](crate::on_both_backends).

use std::ops::Deref;

use tempfile::TempDir;
use vibe_store::{AnyStore, OpenOptions};
use vibe_test_support::pg::{server, Database};

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The schema version this build's own migrations reach on this
    /// backend.
    pub fn latest_schema(self) -> u32 {
        match self {
            Backend::Sqlite => vibe_store::store::MIGRATIONS,
            Backend::Postgres => vibe_store::store::POSTGRES_MIGRATIONS,
        }
        .last()
        .unwrap()
        .version
    }
}

/// A fresh store on one backend, and what reads it from outside.
pub struct TestStore {
    pub store: AnyStore,
    pub backend: Backend,
    /// The path or URL it was opened at.
    pub location: String,
    /// A temp dir of its own (the SQLite file is in it).
    pub dir: TempDir,
    database: Option<Database>,
}

impl Deref for TestStore {
    type Target = AnyStore;
    fn deref(&self) -> &AnyStore {
        &self.store
    }
}

impl TestStore {
    /// A fresh, empty store.
    pub fn open(backend: Backend) -> TestStore {
        Self::open_with(backend, OpenOptions::default())
    }

    pub fn open_with(backend: Backend, options: OpenOptions) -> TestStore {
        let dir = tempfile::tempdir().expect("temp dir");
        let (location, database) = match backend {
            Backend::Sqlite => (
                dir.path()
                    .join("state/vibe_agency.db")
                    .display()
                    .to_string(),
                None,
            ),
            Backend::Postgres => {
                let db = server().fresh_database();
                (db.url.clone(), Some(db))
            }
        };
        let store = AnyStore::open_with(&location, options).expect("open a fresh store");
        TestStore {
            store,
            backend,
            location,
            dir,
            database,
        }
    }

    /// Another store on the same database, opened anew.
    pub fn reopen(&self, options: OpenOptions) -> vibe_store::store::Result<AnyStore> {
        AnyStore::open_with(&self.location, options)
    }

    /// The first column of the first row `sql` returns, as an integer, read
    /// by another client of the database.
    pub fn count(&self, sql: &str) -> i64 {
        match &self.database {
            None => rusqlite::Connection::open(&self.location)
                .unwrap()
                .query_row(sql, [], |r| r.get(0))
                .unwrap(),
            Some(db) => {
                let row = db.client().query_one(sql, &[]).unwrap();
                row.try_get::<_, i64>(0)
                    .or_else(|_| row.try_get::<_, i32>(0).map(i64::from))
                    .unwrap()
            }
        }
    }

    /// [`count`](Self::count) for a text value.
    pub fn text(&self, sql: &str) -> String {
        match &self.database {
            None => rusqlite::Connection::open(&self.location)
                .unwrap()
                .query_row(sql, [], |r| r.get(0))
                .unwrap(),
            Some(db) => db.client().query_one(sql, &[]).unwrap().get(0),
        }
    }

    /// The first column of every row `sql` returns, as text.
    pub fn texts(&self, sql: &str) -> Vec<String> {
        match &self.database {
            None => {
                let conn = rusqlite::Connection::open(&self.location).unwrap();
                let mut statement = conn.prepare(sql).unwrap();
                let rows = statement.query_map([], |r| r.get(0)).unwrap();
                rows.map(Result::unwrap).collect()
            }
            Some(db) => db
                .client()
                .query(sql, &[])
                .unwrap()
                .iter()
                .map(|r| r.get(0))
                .collect(),
        }
    }

    /// Runs `sql` as another client would (tests that tamper or write
    /// foreign rows).
    pub fn exec(&self, sql: &str) {
        match &self.database {
            None => rusqlite::Connection::open(&self.location)
                .unwrap()
                .execute_batch(sql)
                .unwrap(),
            Some(db) => db.client().batch_execute(sql).unwrap(),
        }
    }

    /// Rows in the five tables of missions.
    pub fn all_rows(&self) -> i64 {
        self.count(
            "SELECT (SELECT COUNT(*) FROM missions) + (SELECT COUNT(*) FROM tool_calls)
                  + (SELECT COUNT(*) FROM decisions) + (SELECT COUNT(*) FROM agent_memory)
                  + (SELECT COUNT(*) FROM playbook_runs)",
        )
    }
}

/// Runs each named test function (taking a [`Backend`]) once on SQLite and
/// once on PostgreSQL, as `sqlite::NAME` and `postgres::NAME`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[test]
                fn $name() {
                    super::$name($crate::common::backends::Backend::Sqlite)
                }
            )*
        }
        mod postgres {
            $(
                #[test]
                fn $name() {
                    super::$name($crate::common::backends::Backend::Postgres)
                }
            )*
        }
    };
}
