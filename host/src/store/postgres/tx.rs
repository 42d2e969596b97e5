//! A PostgreSQL connection inside a transaction, as the shared code's
//! [`Sql`]: `?N` placeholders rewritten to `$N`, statements prepared once
//! per connection, and columns read as SQLite's storage classes.

use std::borrow::Cow;
use std::collections::HashMap;

use postgres::fallible_iterator::FallibleIterator;
use postgres::types::{IsNull, ToSql, Type};

use super::connect::{Conn, Target, TxStep};
use crate::store::error::{Result, StoreError};
use crate::store::sql::{Dialect, Sql, Value};

/// A PostgreSQL connection inside a transaction, as [`Sql`].
pub(super) struct PgTx<'a> {
    client: &'a mut postgres::Client,
    statements: &'a mut HashMap<String, postgres::Statement>,
    target: &'a Target,
}

impl<'a> PgTx<'a> {
    pub(super) fn new(conn: &'a mut Conn, target: &'a Target) -> Self {
        PgTx {
            client: &mut conn.client,
            statements: &mut conn.statements,
            target,
        }
    }

    fn prepare(&mut self, sql: &str) -> Result<postgres::Statement> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self
            .client
            .prepare(&dollar_placeholders(sql))
            .map_err(|e| self.target.error(e, TxStep::Work))?;
        self.statements.insert(sql.to_owned(), statement.clone());
        Ok(statement)
    }
}

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
        let statement = self.prepare(sql)?;
        let target = self.target;
        let fail = |e| target.error(e, TxStep::Work);
        let mut rows = self.client.query_raw(&statement, params).map_err(fail)?;
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
        let statement = self.prepare(sql)?;
        let params: Vec<&(dyn ToSql + Sync)> =
            params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        self.client
            .execute(&statement, &params)
            .map_err(|e| self.target.error(e, TxStep::Work))
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
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Integer(v) => match *ty {
                Type::BOOL => (*v != 0).to_sql(ty, out),
                Type::INT2 => i16::try_from(*v)?.to_sql(ty, out),
                Type::INT4 => i32::try_from(*v)?.to_sql(ty, out),
                Type::FLOAT8 => (*v as f64).to_sql(ty, out),
                Type::TEXT | Type::VARCHAR => v.to_string().to_sql(ty, out),
                _ => v.to_sql(ty, out),
            },
            Value::Real(v) => match *ty {
                Type::TEXT | Type::VARCHAR => v.to_string().to_sql(ty, out),
                _ => v.to_sql(ty, out),
            },
            Value::Text(s) => s.as_ref().to_sql(ty, out),
            Value::Blob(b) => b.as_ref().to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    postgres::types::to_sql_checked!();
}
