//! A PostgreSQL connection inside a transaction, as the shared code's
//! [`Sql`]: `?N` placeholders rewritten to `$N`, every statement sent
//! unnamed (so a transaction pooler can hand each transaction another
//! server connection), and columns read as SQLite's storage classes.

use std::borrow::Cow;

use postgres::fallible_iterator::FallibleIterator;
use postgres::types::{Format, IsNull, Kind, ToSql, Type};

use super::connect::{Conn, Target, TxStep};
use crate::store::error::{Result, StoreError};
use crate::store::sql::{Dialect, Sql, Value};

/// A PostgreSQL connection inside a transaction, as [`Sql`].
pub(super) struct PgTx<'a> {
    client: &'a mut postgres::Client,
    target: &'a Target,
}

impl<'a> PgTx<'a> {
    pub(super) fn new(conn: &'a mut Conn, target: &'a Target) -> Self {
        PgTx {
            client: &mut conn.client,
            target,
        }
    }
}

/// A parameter's type left to the server to infer (OID 0 in the Parse
/// message), as a prepared statement's would be: each value is sent as
/// text, which the server reads as the type it inferred.
fn inferred() -> Type {
    Type::new(String::new(), 0, Kind::Pseudo, String::new())
}

/// `params` as the client sends them to an unnamed statement.
fn typed<'p>(params: &'p [Value<'p>]) -> Vec<(&'p Value<'p>, Type)> {
    params.iter().map(|p| (p, inferred())).collect()
}

// Every statement is sent unnamed (Parse, Bind, Execute and Sync in one
// round trip, `query_typed`), never prepared under a name the connection
// keeps: behind a transaction pooler (PgBouncer's `pool_mode =
// transaction`, what managed offerings put in front of a server) the next
// transaction may run on another server connection, where a name
// prepared earlier is missing or taken ("prepared statement \"s2\" already
// exists").
impl Sql for PgTx<'_> {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn query(
        &mut self,
        sql: &str,
        params: &[Value],
        f: &mut dyn FnMut(&[Value<'static>]) -> Result<()>,
    ) -> Result<()> {
        let target = self.target;
        let fail = |e| target.error(e, TxStep::Work);
        let mut rows = self
            .client
            .query_typed_raw(&dollar_placeholders(sql), typed(params))
            .map_err(fail)?;
        let mut values = Vec::new();
        while let Some(row) = rows.next().map_err(fail)? {
            if crate::store::deadline::expired() {
                return Err(StoreError::Interrupted);
            }
            values.clear();
            for (i, column) in row.columns().iter().enumerate() {
                values.push(column_value(&row, i, column.type_())?);
            }
            f(&values)?;
        }
        Ok(())
    }

    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64> {
        let target = self.target;
        let fail = |e| target.error(e, TxStep::Work);
        let mut rows = self
            .client
            .query_typed_raw(&dollar_placeholders(sql), typed(params))
            .map_err(fail)?;
        while rows.next().map_err(fail)?.is_some() {}
        Ok(rows.rows_affected().unwrap_or(0))
    }

    fn insert(&mut self, sql: &str, params: &[Value]) -> Result<i64> {
        self.query_opt(&format!("{sql} RETURNING id"), params)?
            .and_then(|r| r[0].int())
            .ok_or_else(|| StoreError::Internal("an insert returned no id".into()))
    }

    fn batch(&mut self, sql: &str) -> Result<()> {
        self.client
            .batch_execute(sql)
            .map_err(|e| self.target.error(e, TxStep::Work))
    }
}

/// `?N` placeholders as PostgreSQL's `$N`.
fn dollar_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '?' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('$');
        } else {
            out.push(c);
        }
    }
    out
}

/// A column as SQLite would type it: integers and booleans as integers,
/// text as text.
fn column_value(row: &postgres::Row, i: usize, ty: &Type) -> Result<Value<'static>> {
    let wrong = |e: postgres::Error| StoreError::Internal(format!("column {i}: {e}"));
    Ok(match *ty {
        Type::BOOL => row
            .try_get::<_, Option<bool>>(i)
            .map_err(wrong)?
            .map_or(Value::Null, |b| Value::Integer(i64::from(b))),
        Type::INT2 => row
            .try_get::<_, Option<i16>>(i)
            .map_err(wrong)?
            .map_or(Value::Null, |v| Value::Integer(v.into())),
        Type::INT4 => row
            .try_get::<_, Option<i32>>(i)
            .map_err(wrong)?
            .map_or(Value::Null, |v| Value::Integer(v.into())),
        Type::INT8 => row
            .try_get::<_, Option<i64>>(i)
            .map_err(wrong)?
            .map_or(Value::Null, Value::Integer),
        Type::FLOAT4 | Type::FLOAT8 => row
            .try_get::<_, Option<f64>>(i)
            .or_else(|_| row.try_get::<_, Option<f32>>(i).map(|v| v.map(f64::from)))
            .map_err(wrong)?
            .map_or(Value::Null, Value::Real),
        Type::BYTEA => row
            .try_get::<_, Option<Vec<u8>>>(i)
            .map_err(wrong)?
            .map_or(Value::Null, |b| Value::Blob(Cow::Owned(b))),
        _ => row
            .try_get::<_, Option<String>>(i)
            .map_err(wrong)?
            .map_or(Value::Null, |s| Value::Text(Cow::Owned(s))),
    })
}

impl ToSql for Value<'_> {
    /// The value as text, for the server to read as the type it inferred
    /// for the parameter (booleans read `1` and `0`, bytea `\\x` hex).
    fn to_sql(
        &self,
        _: &Type,
        out: &mut bytes::BytesMut,
    ) -> std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        use std::fmt::Write as _;
        match self {
            Value::Null => return Ok(IsNull::Yes),
            Value::Integer(v) => write!(out, "{v}")?,
            Value::Real(v) => write!(out, "{v}")?,
            Value::Text(s) => out.extend_from_slice(s.as_bytes()),
            Value::Blob(b) => {
                out.extend_from_slice(b"\\x");
                for byte in b.iter() {
                    write!(out, "{byte:02x}")?;
                }
            }
        }
        Ok(IsNull::No)
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    fn encode_format(&self, _: &Type) -> Format {
        Format::Text
    }

    postgres::types::to_sql_checked!();
}
