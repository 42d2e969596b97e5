//! A PostgreSQL connection inside a transaction, as the shared code's
//! [`Sql`]: `?N` placeholders rewritten to `$N`, every statement sent
//! unnamed (so a transaction pooler can hand each transaction another
//! server connection), and columns read as SQLite's storage classes.

use std::borrow::Cow;
use std::cell::Cell;
use std::pin::{pin, Pin};

use futures_util::future;
use futures_util::StreamExt;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{Format, IsNull, Kind, ToSql, Type};
use tokio_postgres::{Row, RowStream};

use super::connect::{Conn, Target, TxStep};
use super::functions::{Functions, Planned, WriteSettings};
use crate::store::chain::{Head, RememberedHeads};
use crate::store::dialect::POSTGRES_IN_TRANSACTION;
use crate::store::error::{Result, StoreError};
use crate::store::sql::{insert_after_lock, Dialect, RowLock, Sql, Value};

/// A PostgreSQL connection inside a transaction, as [`Sql`].
///
/// Round trips are what a write costs here, so the transaction's control
/// statements travel with its own (pipelining): its `BEGIN` (with the
/// store's settings) goes out with the first statement, and its `COMMIT`
/// with the last when the caller names it ([`Sql::commit_with_next`]). The
/// server answers each flight in one round trip. A transaction that runs no
/// statement sends nothing.
pub(super) struct PgTx<'a> {
    conn: &'a mut Conn,
    target: &'a Target,
    /// What begins the transaction, until it is sent.
    begin: Option<String>,
    stage: Stage,
    /// Whether the first flight, which carried no `COMMIT`, failed.
    first_flight_failed: bool,
    /// Where the chain heads the transaction leaves are remembered once it
    /// commits, and those heads so far ([`Sql::chained`]).
    heads: Option<&'a RememberedHeads>,
    left: Vec<(i64, Head)>,
    /// Whether the next statement is held ([`Sql::hold_next`]), and the
    /// statement held, sent with the one after it.
    hold: bool,
    held: Option<(String, Vec<Value<'static>>)>,
    /// The store's statements run as functions ([`Sql::insert_planned`]),
    /// the settings they make, and what the server said of a function
    /// called, when it refused the call.
    functions: Option<(&'a Functions, &'a WriteSettings)>,
    function_refused: Cell<Option<Refused>>,
}

/// Why the server refused the call of one of the store's functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refused {
    /// It is not there (dropped).
    Missing,
    /// The caller may not (the right to execute it revoked).
    Denied,
    /// The server did not find a statement prepared on the connection
    /// under its name (missing, or another's of the same name), or would
    /// not prepare it under that name (taken): nothing of it ran.
    NameLost,
    /// The plan of a prepared statement went stale (its function changed
    /// what it returns): nothing of it ran.
    Stale,
}

/// Where a transaction stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Open,
    /// The next statement carries the `COMMIT`.
    Closing,
    /// Its last statement was sent with the `COMMIT`: committed, or rolled
    /// back by the server when that statement failed.
    Ended,
}

/// A statement's rows: as they come, or all of them, read before the
/// `COMMIT` sent with the statement was answered.
enum Rows {
    Streaming(Pin<Box<RowStream>>),
    Read {
        rows: std::vec::IntoIter<Row>,
        affected: u64,
    },
}

impl<'a> PgTx<'a> {
    /// A transaction on `conn`, begun by `begin` (`BEGIN` and its modes)
    /// and the store's settings when its first statement is sent.
    pub(super) fn new(conn: &'a mut Conn, target: &'a Target, begin: &str) -> Self {
        let begin = conn.begin(begin);
        PgTx {
            conn,
            target,
            begin: Some(begin),
            stage: Stage::Open,
            first_flight_failed: false,
            heads: None,
            left: Vec::new(),
            hold: false,
            held: None,
            functions: None,
            function_refused: Cell::new(None),
        }
    }

    /// The transaction, running the statements [`Sql::insert_planned`] is
    /// given as the functions `functions` keeps (or wanting them there),
    /// which make `settings` (the ones its `BEGIN` makes).
    pub(super) fn planning(self, functions: &'a Functions, settings: &'a WriteSettings) -> Self {
        PgTx {
            functions: Some((functions, settings)),
            ..self
        }
    }

    /// The transaction, remembering in `heads` the chain heads it leaves
    /// once it commits.
    pub(super) fn remembering(self, heads: &'a RememberedHeads) -> Self {
        PgTx {
            heads: Some(heads),
            ..self
        }
    }

    /// Whether the transaction's first flight (its `BEGIN` and first
    /// statement, no `COMMIT`) failed on a connection that is now closed:
    /// one the server closed while it sat idle (a restart). Nothing was
    /// committed, so the whole transaction may be tried again on another.
    pub(super) fn lost_before_it_began(&self) -> bool {
        self.first_flight_failed && self.conn.is_closed()
    }

    /// Commits what was sent; nothing to do when nothing was sent, or when
    /// the last statement took the `COMMIT` with it.
    fn commit(mut self) -> Result<()> {
        if let Some((sql, params)) = self.held.take() {
            // Held, and no statement came after it.
            self.send(&sql, &params)?;
        }
        if self.begin.is_none() && self.stage != Stage::Ended {
            self.conn
                .batch_execute("COMMIT")
                .map_err(|e| self.target.error(e, TxStep::Commit))?;
        }
        if let Some(heads) = self.heads {
            heads.remember(self.left);
        }
        Ok(())
    }

    /// Ends the transaction as `outcome` says: commits what was sent when
    /// the work succeeded (the commit's error then being the outcome),
    /// rolls it back otherwise.
    pub(super) fn finish<T>(self, outcome: Result<T>) -> Result<T> {
        match outcome {
            Ok(value) => self.commit().map(|()| value),
            Err(e) => {
                self.rollback();
                Err(e)
            }
        }
    }

    /// Rolls back what was sent, where the transaction is still open on a
    /// connection that still stands.
    fn rollback(self) {
        if self.begin.is_none() && self.stage != Stage::Ended && !self.conn.is_closed() {
            let _ = self.conn.batch_execute("ROLLBACK");
        }
    }

    fn fail(&self, err: tokio_postgres::Error) -> StoreError {
        self.error(err, TxStep::Work)
    }

    /// Sends `statement`, the transaction's only one, on its own: the
    /// server runs it as a transaction of its own, committed when it
    /// succeeds. Its first row, if any.
    fn alone(&mut self, statement: &str, params: &[Value]) -> Result<Option<Row>> {
        self.begin = None;
        self.stage = Stage::Ended;
        let conn = &*self.conn;
        let read = async {
            let rows = query_raw(conn, statement, params).await?;
            let mut rows = pin!(rows);
            let mut first = None;
            while let Some(row) = rows.next().await {
                first = first.or(Some(row?));
            }
            Ok::<_, tokio_postgres::Error>(first)
        };
        // The server refused it: its transaction was rolled back. The
        // connection lost: it may have committed.
        self.conn.block_on(read).map_err(|e| {
            let step = match e.as_db_error() {
                Some(_) => TxStep::Work,
                None => TxStep::Commit,
            };
            self.error(e, step)
        })
    }

    /// `err` as the store's error, noting what it says of a function.
    fn error(&self, err: tokio_postgres::Error, step: TxStep) -> StoreError {
        match err.code() {
            Some(&SqlState::UNDEFINED_FUNCTION) => {
                self.function_refused.set(Some(Refused::Missing))
            }
            Some(&SqlState::INSUFFICIENT_PRIVILEGE) => {
                self.function_refused.set(Some(Refused::Denied))
            }
            // invalid_sql_statement_name, duplicate_prepared_statement,
            // protocol_violation (a Bind of another count of parameters)
            Some(
                &SqlState::INVALID_SQL_STATEMENT_NAME
                | &SqlState::DUPLICATE_PSTATEMENT
                | &SqlState::PROTOCOL_VIOLATION,
            ) => self.function_refused.set(Some(Refused::NameLost)),
            // feature_not_supported: "cached plan must not change result
            // type"
            Some(&SqlState::FEATURE_NOT_SUPPORTED) => {
                self.function_refused.set(Some(Refused::Stale))
            }
            _ => {}
        }
        self.target.error(err, step)
    }

    /// Sends `sql` with `params`, with the transaction's `BEGIN` before it
    /// if it is the first statement, a statement held before it
    /// ([`Sql::hold_next`]), and its `COMMIT` after it if it is the last,
    /// in one flight. A statement held is kept, not sent, and answered with
    /// no rows.
    fn send(&mut self, sql: &str, params: &[Value]) -> Result<Rows> {
        let statement = dollar_placeholders(sql);
        let follows = may_follow_begin(&statement);
        self.send_statement(statement, follows, params)
    }

    /// [`send`](Self::send) for `statement`, already with `$N`
    /// placeholders; `may_follow_begin` says whether it may be sent behind
    /// an unanswered `BEGIN` ([`may_follow_begin`]).
    fn send_statement(
        &mut self,
        statement: String,
        may_follow_begin: bool,
        params: &[Value],
    ) -> Result<Rows> {
        if self.begin.is_some() && !may_follow_begin {
            // A statement that writes is never sent behind an unanswered
            // BEGIN unless it refuses itself outside the transaction: the
            // two are separate messages to the server, so a cancel or
            // timeout that fails BEGIN before it runs would leave the
            // statement to commit on its own.
            let begin = self.begin.take().unwrap_or_default();
            let begun = self.conn.batch_execute(&begin);
            self.first_flight_failed = begun.is_err();
            begun.map_err(|e| self.fail(e))?;
        }
        if std::mem::take(&mut self.hold) && self.stage != Stage::Ended && self.held.is_none() {
            let owned = params.iter().map(Value::to_static).collect();
            self.held = Some((statement, owned));
            return Ok(Rows::Read {
                rows: Vec::new().into_iter(),
                affected: 0,
            });
        }
        let conn = &*self.conn;
        let client = conn.client();
        let begin = self.begin.take();
        let first = begin.is_some();
        let held = self.held.take();
        // BEGIN and a held statement, sent before this one; their errors
        // come first.
        let begin = async {
            let begun = async {
                match &begin {
                    Some(begin) => client.batch_execute(begin).await,
                    None => Ok(()),
                }
            };
            let held = async {
                let Some((sql, params)) = &held else {
                    return Ok(());
                };
                let rows = query_raw(conn, sql, params).await?;
                let mut rows = pin!(rows);
                while let Some(row) = rows.next().await {
                    row?;
                }
                Ok(())
            };
            let (begun, held) = future::join(begun, held).await;
            begun.and(held)
        };
        // Each flight's futures are polled in order, so BEGIN's messages go
        // out first, then the statement's, then COMMIT's, before any answer
        // is read.
        match self.stage {
            Stage::Open => {
                let (begun, rows) = self
                    .conn
                    .block_on(future::join(begin, query_raw(conn, &statement, params)));
                if first && (begun.is_err() || rows.is_err()) {
                    self.first_flight_failed = true;
                }
                // BEGIN's error first: the statement's is then only that
                // the transaction was aborted.
                begun
                    .and(rows)
                    .map(|rows| Rows::Streaming(Box::pin(rows)))
                    .map_err(|e| self.fail(e))
            }
            Stage::Closing => {
                self.stage = Stage::Ended;
                // The rows are read while the COMMIT waits behind them.
                let read = async {
                    let rows = query_raw(conn, &statement, params).await?;
                    let mut rows = pin!(rows);
                    let mut all = Vec::new();
                    while let Some(row) = rows.next().await {
                        all.push(row?);
                    }
                    Ok::<_, tokio_postgres::Error>((all, rows.rows_affected().unwrap_or(0)))
                };
                let (begun, read, committed) =
                    self.conn
                        .block_on(future::join3(begin, read, client.batch_execute("COMMIT")));
                // A statement the server refused left the transaction
                // aborted, and the server answered the COMMIT by rolling it
                // back: nothing was written. A connection lost during the
                // flight may have lost only the answers, the COMMIT having
                // run.
                let (rows, affected) = begun.and(read).map_err(|e| {
                    let step = match e.as_db_error() {
                        Some(_) => TxStep::Work,
                        None => TxStep::Commit,
                    };
                    self.error(e, step)
                })?;
                committed.map_err(|e| self.error(e, TxStep::Commit))?;
                Ok(Rows::Read {
                    rows: rows.into_iter(),
                    affected,
                })
            }
            Stage::Ended => Err(StoreError::Internal(
                "a statement after the one the transaction committed with".into(),
            )),
        }
    }

    /// The next row of `rows`, or `None` at their end.
    fn next_row(&self, rows: &mut Rows) -> Result<Option<Row>> {
        match rows {
            Rows::Streaming(stream) => self
                .conn
                .block_on(stream.next())
                .transpose()
                .map_err(|e| self.fail(e)),
            Rows::Read { rows, .. } => Ok(rows.next()),
        }
    }
}

impl Rows {
    /// How many rows the statement changed, once its rows are read.
    fn affected(&self) -> u64 {
        match self {
            Rows::Streaming(stream) => stream.rows_affected().unwrap_or(0),
            Rows::Read { affected, .. } => *affected,
        }
    }
}

/// A parameter's type left to the server to infer (OID 0 in the Parse
/// message), as a prepared statement's would be: each value is sent as
/// text, which the server reads as the type it inferred.
fn inferred() -> Type {
    Type::new(String::new(), 0, Kind::Pseudo, String::new())
}

/// Sends `statement` with `params`: as prepared on `conn` if it is
/// ([`Conn::prepare`]), otherwise unnamed (Parse, Bind, Execute and Sync in
/// one round trip).
async fn query_raw(
    conn: &Conn,
    statement: &str,
    params: &[Value<'_>],
) -> std::result::Result<RowStream, tokio_postgres::Error> {
    match conn.prepared(statement) {
        Some(prepared) => conn.client().query_raw(prepared, params.iter()).await,
        None => {
            conn.client()
                .query_typed_raw(statement, typed(params))
                .await
        }
    }
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
        let mut rows = self.send(sql, params)?;
        let mut values = Vec::new();
        while let Some(row) = self.next_row(&mut rows)? {
            // Past a COMMIT the statement took with it, the work is done:
            // a deadline can no longer undo it.
            if self.stage != Stage::Ended && crate::store::deadline::expired() {
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
        let mut rows = self.send(sql, params)?;
        while self.next_row(&mut rows)?.is_some() {}
        Ok(rows.affected())
    }

    fn insert(&mut self, sql: &str, params: &[Value]) -> Result<i64> {
        self.query_opt(&format!("{sql} RETURNING id"), params)?
            .and_then(|r| r[0].int())
            .ok_or_else(|| StoreError::Internal("an insert returned no id".into()))
    }

    fn insert_planned(
        &mut self,
        lock: Option<RowLock<'_>>,
        sql: &str,
        params: &[Value],
    ) -> Result<i64> {
        let planned = Planned {
            lock: lock.map(|lock| lock.sql.to_owned()),
            statement: dollar_placeholders(&format!("{sql} RETURNING id")),
        };
        let Some((functions, settings, call)) = self.functions.and_then(|(functions, settings)| {
            Some((functions, settings, functions.call(&planned)?))
        }) else {
            return insert_after_lock(self, lock, sql, params);
        };
        self.function_refused.set(None);
        let mut arguments = params.to_vec();
        arguments.extend(lock.map(|lock| Value::from(lock.id)));
        arguments.extend(settings.arguments());
        let alone = self.begin.is_some() && self.stage == Stage::Closing;
        // Prepared once on a connection that reaches the server directly:
        // the call is then neither parsed nor planned again. The server's
        // refusal is the call's (its function dropped, say); a connection
        // lost before the transaction's first flight carried nothing of it.
        let inserted = match self.conn.prepare(&call) {
            Err(e) => {
                self.first_flight_failed |= self.begin.is_some();
                Err(self.fail(e))
            }
            Ok(()) if alone && !self.hold && self.held.is_none() => {
                // The transaction's only statement: the call is the whole
                // transaction, with no BEGIN or COMMIT (the server runs a
                // statement sent alone as a transaction of its own), and
                // the function makes the transaction's settings itself.
                self.alone(&call, &arguments)
            }
            Ok(()) => {
                // A statement among others: never behind an unanswered
                // BEGIN, which, refused, would leave it to commit on its
                // own.
                self.send_statement(call.clone(), false, &arguments)
                    .and_then(|mut rows| {
                        let row = self.next_row(&mut rows)?;
                        while self.next_row(&mut rows)?.is_some() {}
                        Ok(row)
                    })
            }
        };
        match inserted {
            // The function's id, read as any integer (a trusted role may
            // have made it return another kind since); without one, the
            // write may have been done.
            Ok(row) => row
                .and_then(|row| {
                    let ty = row.columns().first()?.type_().clone();
                    column_value(&row, 0, &ty).ok()?.int()
                })
                .ok_or_else(|| {
                    StoreError::Internal(
                        "the store's function returned no row id; its write may or may not \
                         have been recorded"
                            .into(),
                    )
                }),
            // The transaction is aborted and wrote nothing; it is tried
            // again, inline.
            Err(_) if self.function_refused.get() == Some(Refused::Missing) => {
                // Dropped since it was made: made again after.
                functions.forget(&planned);
                Err(StoreError::Conflict(
                    "a function of the store's was dropped on the server".into(),
                ))
            }
            Err(_)
                if self.function_refused.get() == Some(Refused::NameLost)
                    && self.conn.prepares() =>
            {
                // A pooler between after all: the connection prepares
                // nothing more, and the write, which wrote nothing, is
                // tried again.
                tracing::warn!(
                    server = self.target.shown(),
                    "a statement prepared on a connection was not found under its name, or \
                     its name was taken: a pooler between? The connection prepares nothing \
                     more; set prepared_statements=off in the URL"
                );
                self.conn.stop_preparing();
                Err(StoreError::Conflict(
                    "a name prepared on the connection was not the store's statement there \
                     (a pooler between?)"
                        .into(),
                ))
            }
            Err(_)
                if self.function_refused.get() == Some(Refused::Stale)
                    && self.conn.prepared(&call).is_some() =>
            {
                // Prepared again when next called; the write, which wrote
                // nothing, is tried again.
                self.conn.forget_prepared(&call);
                Err(StoreError::Conflict(
                    "a statement prepared on the connection went stale".into(),
                ))
            }
            Err(_) if self.function_refused.get() == Some(Refused::Denied) => {
                // The right to execute it revoked (or a right its body
                // needs, which inline is refused too, and says so).
                functions.refuse(&planned);
                Err(StoreError::Conflict(
                    "the server refused the call of a function of the store's".into(),
                ))
            }
            Err(e) => Err(e),
        }
    }

    fn batch(&mut self, sql: &str) -> Result<()> {
        if self.stage != Stage::Open {
            return Err(StoreError::Internal(
                "a script as the statement a transaction commits with".into(),
            ));
        }
        let sent = match self.begin.take() {
            None => self.conn.batch_execute(sql),
            Some(begin) => {
                let sent = self.conn.batch_execute(&format!("{begin}; {sql}"));
                self.first_flight_failed = sent.is_err();
                sent
            }
        };
        sent.map_err(|e| self.fail(e))
    }

    fn chained(&mut self, mission_id: i64, head: Head) {
        if self.heads.is_some() {
            self.left.push((mission_id, head));
        }
    }

    fn hold_next(&mut self) {
        self.hold = true;
    }

    fn commit_with_next(&mut self) {
        if self.stage == Stage::Open {
            self.stage = Stage::Closing;
        }
    }
}

/// Whether `statement` is one of the store's reads, which may follow an
/// unanswered BEGIN in one flight: run without it (the BEGIN failed before
/// it ran), it writes nothing, and the BEGIN's error is what the caller
/// sees. The store's reads begin with `SELECT` (a row lock, a head, a
/// listing); anything else (`INSERT`, `UPDATE`, `DELETE`, `WITH`, which may
/// hide a write) may write.
/// Whether `statement` may be sent behind its transaction's unanswered
/// `BEGIN`: it only reads, or it tests [`POSTGRES_IN_TRANSACTION`] and so
/// writes nothing if it runs on its own (see there).
fn may_follow_begin(statement: &str) -> bool {
    reads_only(statement) || statement.contains(POSTGRES_IN_TRANSACTION)
}

fn reads_only(statement: &str) -> bool {
    let statement = statement.trim_start();
    let word = statement
        .find(|c: char| !c.is_ascii_alphabetic())
        .map_or(statement, |end| &statement[..end]);
    word.eq_ignore_ascii_case("SELECT")
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
fn column_value(row: &tokio_postgres::Row, i: usize, ty: &Type) -> Result<Value<'static>> {
    let wrong = |e: tokio_postgres::Error| StoreError::Internal(format!("column {i}: {e}"));
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

    tokio_postgres::types::to_sql_checked!();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_select_or_a_guarded_write_follows_an_unanswered_begin() {
        let guarded = format!("INSERT INTO row_chain SELECT 1 WHERE {POSTGRES_IN_TRANSACTION}");
        for read in [
            "SELECT 1",
            "select\n  id FROM missions",
            "  SELECT(1)",
            &guarded,
        ] {
            assert!(may_follow_begin(read), "{read}");
        }
        for write in [
            "INSERT INTO missions VALUES (1)",
            "WITH entry AS (INSERT INTO row_chain VALUES (1)) INSERT INTO tool_calls VALUES (1)",
            "UPDATE missions SET status = 'x'",
            "DELETE FROM agent_memory",
            "SELECTED",
            "",
        ] {
            assert!(!may_follow_begin(write), "{write}");
        }
    }
}
