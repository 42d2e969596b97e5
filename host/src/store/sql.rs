//! One small interface over both databases' connections, for the store
//! code that is the same on both: the hash chain (`chain.rs`) and moving
//! missions (`transfer.rs`). Written once against [`Sql`], each is one rule
//! whichever backend holds the rows.
//!
//! Values are SQLite's five storage classes ([`Value`]); a PostgreSQL
//! backend maps its column types onto them (BIGINT and BOOLEAN to integers,
//! TEXT to text), so a row reads as the same values from either database
//! and hashes the same. Statements number their parameters `?1`, `?2`...;
//! PostgreSQL's `$1` is substituted by its implementation.

use std::borrow::Cow;

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{params_from_iter, Connection};

use super::error::{Result, StoreError};
use super::ids::MissionId;
use super::json::Json;

/// One column's value, as SQLite types it: a row read back (owned,
/// `Value<'static>`) or a statement's parameter (borrowing the caller's
/// text, so binding a tool call's JSON copies nothing).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value<'a> {
    Null,
    Integer(i64),
    Real(f64),
    Text(Cow<'a, str>),
    Blob(Cow<'a, [u8]>),
}

impl Value<'_> {
    pub(crate) fn int(&self) -> Option<i64> {
        match self {
            Value::Integer(i) => Some(*i),
            _ => None,
        }
    }

    pub(crate) fn text(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }

    pub(crate) fn into_text(self) -> Option<String> {
        match self {
            Value::Text(s) => Some(s.into_owned()),
            _ => None,
        }
    }

    /// The value, owning its text or bytes.
    #[cfg(feature = "postgres")]
    pub(crate) fn to_static(&self) -> Value<'static> {
        match self {
            Value::Null => Value::Null,
            Value::Integer(i) => Value::Integer(*i),
            Value::Real(f) => Value::Real(*f),
            Value::Text(s) => Value::Text(Cow::Owned(s.to_string())),
            Value::Blob(b) => Value::Blob(Cow::Owned(b.to_vec())),
        }
    }
}

impl From<i64> for Value<'_> {
    fn from(i: i64) -> Self {
        Value::Integer(i)
    }
}

impl From<bool> for Value<'_> {
    fn from(b: bool) -> Self {
        Value::Integer(i64::from(b))
    }
}

impl<'a> From<&'a str> for Value<'a> {
    fn from(s: &'a str) -> Self {
        Value::Text(Cow::Borrowed(s))
    }
}

impl From<String> for Value<'_> {
    fn from(s: String) -> Self {
        Value::Text(Cow::Owned(s))
    }
}

impl<'a, T: Into<Value<'a>>> From<Option<T>> for Value<'a> {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

/// Which database a statement runs on, for the few statements whose text
/// differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    Postgres,
}

/// A row lock a statement takes before another ([`Sql::insert_planned`]):
/// `sql`, a `SELECT ... FOR UPDATE` whose one parameter `?1` is `id`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RowLock<'a> {
    pub(crate) sql: &'a str,
    pub(crate) id: i64,
}

/// [`Sql::insert_planned`] as statements sent one after the other: the
/// lock held ([`Sql::hold_next`]), so the two go in one flight.
pub(crate) fn insert_after_lock<S: Sql + ?Sized>(
    db: &mut S,
    lock: Option<RowLock<'_>>,
    sql: &str,
    params: &[Value],
) -> Result<i64> {
    if let Some(lock) = lock {
        db.hold_next();
        db.execute(lock.sql, &[lock.id.into()])?;
    }
    db.insert(sql, params)
}

/// A connection inside a transaction.
pub(crate) trait Sql {
    fn dialect(&self) -> Dialect;

    /// Runs `sql`, calling `f` with each row's values in turn.
    fn query(
        &mut self,
        sql: &str,
        params: &[Value],
        f: &mut dyn FnMut(&[Value<'static>]) -> Result<()>,
    ) -> Result<()>;

    /// Runs `sql`; returns how many rows it changed.
    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64>;

    /// Runs `sql`, an `INSERT` of one row written without a `RETURNING`
    /// clause; returns the new row's id.
    fn insert(&mut self, sql: &str, params: &[Value]) -> Result<i64>;

    /// Runs statements that take no parameters, one after another (a
    /// migration's script).
    fn batch(&mut self, sql: &str) -> Result<()>;

    /// Says that the next statement is the transaction's last: a backend
    /// that can send the commit with it does (PostgreSQL, one round trip
    /// for both), and that statement's call then fails if the commit does.
    /// The transaction runs nothing after it. SQLite ignores it: its
    /// statements are calls, not round trips.
    fn commit_with_next(&mut self) {}

    /// Says that the next statement's answer is not needed before the
    /// statement after it is sent (it takes a lock): a backend that can
    /// send the two in one flight does (PostgreSQL), the next call then
    /// returning no rows, and any error of it coming with the statement
    /// after it (which the server does not run once the first failed).
    /// SQLite ignores it.
    fn hold_next(&mut self) {}

    /// Runs `sql` as [`insert`](Self::insert) does, after taking the row
    /// lock `lock` names (when given) in a statement of its own: `sql`
    /// begins once the lock is granted, so it reads what the lock's last
    /// holder committed. Returns the new row's id.
    ///
    /// For a statement a backend runs often, with a plan worth keeping: a
    /// backend that can keep the server's plan of the two across
    /// transactions does (PostgreSQL, as a function of the server's, see
    /// `postgres/functions.rs`); otherwise the lock's answer is not awaited
    /// ([`hold_next`](Self::hold_next)) and the two go in one flight.
    fn insert_planned(
        &mut self,
        lock: Option<RowLock<'_>>,
        sql: &str,
        params: &[Value],
    ) -> Result<i64> {
        insert_after_lock(self, lock, sql, params)
    }

    /// Says that the transaction appended an entry to mission `mission_id`'s
    /// chain, which now ends at `head` (called by `chain.rs` for every
    /// entry). A backend that remembers heads for later writes
    /// ([`RememberedHeads`](super::chain::RememberedHeads)) keeps the last
    /// of each mission once the transaction commits; SQLite ignores it.
    fn chained(&mut self, _mission_id: i64, _head: super::chain::Head) {}

    /// The first row `sql` returns, if any.
    fn query_opt(&mut self, sql: &str, params: &[Value]) -> Result<Option<Vec<Value<'static>>>> {
        let mut first = None;
        self.query(sql, params, &mut |row| {
            if first.is_none() {
                first = Some(row.to_vec());
            }
            Ok(())
        })?;
        Ok(first)
    }

    /// Every row `sql` returns.
    fn query_all(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Vec<Value<'static>>>> {
        let mut all = Vec::new();
        self.query(sql, params, &mut |row| {
            all.push(row.to_vec());
            Ok(())
        })?;
        Ok(all)
    }
}

/// A SQLite connection as [`Sql`]: statements prepared once per connection.
pub(crate) struct Lite<'a>(pub(crate) &'a Connection);

impl rusqlite::ToSql for Value<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self {
            Value::Null => ValueRef::Null,
            Value::Integer(i) => ValueRef::Integer(*i),
            Value::Real(f) => ValueRef::Real(*f),
            Value::Text(s) => ValueRef::Text(s.as_bytes()),
            Value::Blob(b) => ValueRef::Blob(b),
        }))
    }
}

impl From<ValueRef<'_>> for Value<'static> {
    fn from(v: ValueRef<'_>) -> Self {
        match v {
            ValueRef::Null => Value::Null,
            ValueRef::Integer(i) => Value::Integer(i),
            ValueRef::Real(f) => Value::Real(f),
            ValueRef::Text(bytes) => {
                Value::Text(Cow::Owned(String::from_utf8_lossy(bytes).into_owned()))
            }
            ValueRef::Blob(bytes) => Value::Blob(Cow::Owned(bytes.to_vec())),
        }
    }
}

impl Sql for Lite<'_> {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn query(
        &mut self,
        sql: &str,
        params: &[Value],
        f: &mut dyn FnMut(&[Value<'static>]) -> Result<()>,
    ) -> Result<()> {
        let mut stmt = self.0.prepare_cached(sql)?;
        let width = stmt.column_count();
        let mut rows = stmt.query(params_from_iter(params))?;
        let mut values = Vec::with_capacity(width);
        while let Some(row) = rows.next()? {
            if super::deadline::expired() {
                return Err(StoreError::Interrupted);
            }
            values.clear();
            for i in 0..width {
                values.push(Value::from(row.get_ref(i)?));
            }
            f(&values)?;
        }
        Ok(())
    }

    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64> {
        Ok(self
            .0
            .prepare_cached(sql)?
            .execute(params_from_iter(params))? as u64)
    }

    fn insert(&mut self, sql: &str, params: &[Value]) -> Result<i64> {
        self.0
            .prepare_cached(sql)?
            .execute(params_from_iter(params))?;
        Ok(self.0.last_insert_rowid())
    }

    fn batch(&mut self, sql: &str) -> Result<()> {
        Ok(self.0.execute_batch(sql)?)
    }
}

/// The row id of a mission, if it is here (in any case its uuid is
/// stored: [`MissionId::spellings`]).
pub(crate) fn mission_row(db: &mut dyn Sql, mission: &MissionId) -> Result<Option<i64>> {
    Ok(db
        .query_opt(
            super::dialect::MISSION_ROW_BY_UUID,
            &super::dialect::uuid_params(mission),
        )?
        .and_then(|r| r[0].int()))
}

/// The row id of a mission, or [`StoreError::MissionNotFound`].
pub(crate) fn mission_row_id(db: &mut dyn Sql, mission: &MissionId) -> Result<i64> {
    mission_row(db, mission)?.ok_or_else(|| StoreError::MissionNotFound(mission.to_string()))
}

impl Json {
    /// A JSON column's value as the text stored, never parsed: a number
    /// another program stored with SQLite's numeric affinity comes back as
    /// its JSON text, and text that is not JSON as it is.
    pub(crate) fn from_column(value: &Value) -> Option<Json> {
        match value {
            Value::Null => None,
            Value::Integer(i) => Some(Json::stored(i.to_string())),
            Value::Real(f) => Some(Json::stored(
                serde_json::Number::from_f64(*f).map_or_else(|| f.to_string(), |n| n.to_string()),
            )),
            Value::Text(text) => Some(Json::stored(text.as_ref())),
            Value::Blob(bytes) => Some(Json::stored(String::from_utf8_lossy(bytes))),
        }
    }
}
