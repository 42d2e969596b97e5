//! The store's hot writes as functions of the server's, so the server plans
//! them once per connection rather than once per call.
//!
//! Every statement is sent unnamed (`tx.rs` says why: transaction poolers),
//! and the server parses and plans an unnamed statement each time it runs.
//! For the chained insert (`chain::insert_row`: a row and its ledger entry,
//! with the checks that refuse a stale head) that planning costs more than
//! the write itself: `pgbench` at `synchronous_commit = off` runs it in
//! about 1.65 ms unnamed and 0.8 ms prepared. A PL/pgSQL function keeps
//! the plans of the statements in its body for the life of the server
//! connection that runs it, whichever client sent the call, so a pooler in
//! front of the server changes nothing; the call itself is a statement the
//! server plans in microseconds.
//!
//! A statement run through [`Sql::insert_planned`](crate::store::sql::Sql)
//! is sent inline the first time, and wanted here the second (a command
//! that writes once never pays for a function it would not call); once the
//! transaction that wanted it ends the store installs the function
//! ([`Functions::install_wanted`]), in a transaction of its own on the same
//! connection, and later calls use it. The function's body is the statement's text as the store sends it
//! inline (the chain's rule stays written once, in Rust), preceded by the
//! settings every transaction the store begins makes (`SET LOCAL` there,
//! `set_config(..., true)` here) and by its row lock as a statement of its
//! own (in PL/pgSQL each statement of a volatile function takes a new
//! snapshot, so the insert reads what the lock's last holder committed, as
//! it does inline). A call that is a write's only statement is thus its
//! whole transaction, and is sent on its own, with no `BEGIN` or `COMMIT`
//! (`tx.rs`): one statement, one round trip. Its parameter types
//! are the ones the server infers for the statement (`PREPARE`d under a
//! name of its own, read from `pg_prepared_statements`, deallocated, all in
//! one transaction). Its name is `vibe_write_` and the first 16 hex digits
//! of the SHA-256 of its body and types: two releases, or two schema
//! versions, never share one, and installing it twice finds it there.
//!
//! A function found under that name is used only if its body is exactly
//! the store's, in PL/pgSQL, neither `SECURITY DEFINER` nor with settings of
//! its own, executable by the caller, and it and its schema are owned by a
//! role the store trusts ([`trusted`]: another role could otherwise make it
//! first, or drop and remake it, and run its own SQL with the store's
//! rights); none is made in a schema another role owns. It is called by
//! its schema's name with every argument cast to its type, so neither a
//! schema earlier on the search path nor an overload taking other types
//! can stand in for it. Where the function cannot be made (no
//! `CREATE` privilege on the schema, asked before trying so the server logs
//! no error; a read-only standby) the statement stays inline for the
//! store's life: slower, the same rows. A function
//! dropped while in use fails that transaction as a conflict (nothing was
//! written; the store tries it again, inline) and is made again after.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use sha2::{Digest, Sha256};

use super::connect::{Conn, Target};
use super::tx::PgTx;
use crate::hex::hex;
use crate::store::dialect::POSTGRES_IN_TRANSACTION_CONFIG;
use crate::store::error::{Result, StoreError};
use crate::store::sql::{Sql, Value};

/// How many statements a store keeps as functions; those past it stay
/// inline. The store has a handful (a tool call's and a decision's insert,
/// with and without their lock).
const MAX_FUNCTIONS: usize = 32;

/// The dollar quote around a function's body; a body holding it is never
/// made a function.
const QUOTE: &str = "$vibe_body$";

/// What every write's transaction sets (`SET LOCAL`), by name: the session
/// time zone, how long a lock is waited for, whether a commit waits for the
/// WAL flush.
const SETTINGS: [&str; 3] = ["TimeZone", "lock_timeout", "synchronous_commit"];

/// The values a store gives [`SETTINGS`]; `None` leaves the server's own
/// (a `synchronous_commit` of `remote_apply` stays so).
#[derive(Debug, Clone)]
pub(super) struct WriteSettings([Option<String>; 3]);

impl WriteSettings {
    /// Values for `TimeZone`, `lock_timeout` and `synchronous_commit`, as
    /// `SET` reads them (plain words and numbers: they are written into
    /// statements unquoted but for single quotes around them).
    pub(super) fn new(values: [Option<String>; 3]) -> Self {
        WriteSettings(values)
    }

    /// The settings as `SET LOCAL` statements.
    pub(super) fn set_local(&self) -> String {
        SETTINGS
            .iter()
            .zip(&self.0)
            .filter_map(|(name, value)| {
                value
                    .as_ref()
                    .map(|value| format!("SET LOCAL {name} = '{value}'; "))
            })
            .collect()
    }

    /// The values, as a function's last arguments.
    pub(super) fn arguments(&self) -> impl Iterator<Item = Value<'_>> {
        self.0.iter().map(|value| value.as_deref().into())
    }
}

/// A statement that may run as a function: its row lock's text (`?1` the
/// locked row's id) and the statement's, with `$N` placeholders and its
/// `RETURNING` clause.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct Planned {
    pub(super) lock: Option<String>,
    pub(super) statement: String,
}

#[derive(Debug, Clone)]
enum State {
    /// Run inline once: a process that writes once (a command) never pays
    /// for a function it would not call.
    Seen,
    /// Run inline until the transaction that wanted it ends.
    Wanted,
    /// Being installed by one transaction's connection.
    Installing,
    /// The call to send: `SELECT "schema".name(CAST($1 AS type), ...)`.
    Ready(String),
    /// Never a function in this store's life.
    Inline,
}

/// The store's statements that run as functions, by their inline text.
#[derive(Debug, Default)]
pub(super) struct Functions {
    known: Mutex<HashMap<Planned, State>>,
    /// Whether a statement is wanted, so a transaction's end finds out
    /// without taking the lock.
    wanted: AtomicBool,
}

impl Functions {
    /// The statement to send for `planned` (a function's call), if it is
    /// one yet; otherwise notes that it was used (wanted, the second time),
    /// and `None`: send it inline.
    pub(super) fn call(&self, planned: &Planned) -> Option<String> {
        let mut known = self.known.lock().unwrap_or_else(|e| e.into_inner());
        match known.get_mut(planned) {
            Some(State::Ready(call)) => Some(call.clone()),
            Some(state @ State::Seen) => {
                *state = State::Wanted;
                self.wanted.store(true, Ordering::Release);
                None
            }
            Some(_) => None,
            None => {
                if known.len() < MAX_FUNCTIONS {
                    known.insert(planned.clone(), State::Seen);
                }
                None
            }
        }
    }

    /// Forgets the function of `planned`, which the server no longer has
    /// (dropped): it is made again when next wanted.
    pub(super) fn forget(&self, planned: &Planned) {
        let mut known = self.known.lock().unwrap_or_else(|e| e.into_inner());
        known.remove(planned);
    }

    /// Sends `planned` inline for the store's life: the server refused its
    /// function's call (the right to execute it revoked).
    pub(super) fn refuse(&self, planned: &Planned) {
        let mut known = self.known.lock().unwrap_or_else(|e| e.into_inner());
        known.insert(planned.clone(), State::Inline);
    }

    /// Installs the functions wanted, on `conn` (idle, outside any
    /// transaction), each in a transaction of its own; one that cannot be
    /// made stays inline, and says why once in the log.
    pub(super) fn install_wanted(&self, conn: &mut Conn, target: &Target) {
        if !self.wanted.swap(false, Ordering::AcqRel) {
            return;
        }
        let wanted: Vec<Planned> = {
            let mut known = self.known.lock().unwrap_or_else(|e| e.into_inner());
            known
                .iter_mut()
                .filter(|(_, state)| matches!(state, State::Wanted))
                .map(|(planned, state)| {
                    *state = State::Installing;
                    planned.clone()
                })
                .collect()
        };
        for planned in wanted {
            // A function another process made at the same moment fails
            // this one's CREATE; the second look finds it.
            let made = install(conn, target, &planned).or_else(|_| install(conn, target, &planned));
            let state = match made {
                Ok(Some(call)) => State::Ready(call),
                Ok(None) => {
                    tracing::debug!(
                        server = target.shown(),
                        "a write stays a statement sent whole: the role may not create \
                         functions in the schema, and none was made for it"
                    );
                    State::Inline
                }
                Err(e) => {
                    tracing::warn!(
                        server = target.shown(),
                        "a write stays a statement sent whole, planned by the server on \
                         every call (slower; the same rows): cannot make it a function: {e}"
                    );
                    State::Inline
                }
            };
            let mut known = self.known.lock().unwrap_or_else(|e| e.into_inner());
            known.insert(planned, state);
        }
    }
}

/// Finds or makes `planned`'s function; returns its call, or `None` when
/// there is none and the role may not make one.
fn install(conn: &mut Conn, target: &Target, planned: &Planned) -> Result<Option<String>> {
    let mut db = PgTx::new(conn, target, super::WRITE_BEGIN);
    let made = install_in(&mut db, planned);
    db.finish(made)
}

fn install_in(db: &mut PgTx<'_>, planned: &Planned) -> Result<Option<String>> {
    // The write that wanted it has committed and waits for this: another
    // session making the same function, or holding a lock on the catalog,
    // makes the store give up on it rather than wait.
    db.batch("SET LOCAL lock_timeout = 100; SET LOCAL statement_timeout = 5000")?;
    let mut types = parameter_types(db, &planned.statement)?;
    let body = body(planned, types.len());
    if planned.lock.is_some() {
        types.push("bigint".into());
    }
    types.extend(SETTINGS.map(|_| "text".to_owned()));
    let signature = types.join(", ");
    let mut digest = Sha256::new();
    digest.update(body.as_bytes());
    digest.update([0]);
    digest.update(signature.as_bytes());
    let name = format!("vibe_write_{}", &hex(&digest.finalize())[..16]);
    let schema = match found(db, &name, &signature, &body)? {
        Some(found) => found,
        None => {
            // Asked first, so that a role that may not (a common way to
            // run an application) leaves no error in the server's log; and
            // never in a schema another role owns.
            let may_create = db
                .query_opt(
                    &format!(
                        "SELECT has_schema_privilege(n.oid, 'CREATE') AND {}
                         FROM pg_namespace n WHERE n.nspname = current_schema()",
                        trusted("n.nspowner")
                    ),
                    &[],
                )?
                .and_then(|row| row.first().and_then(Value::int));
            if may_create != Some(1) {
                return Ok(None);
            }
            if body.contains(QUOTE) {
                return Err(StoreError::Internal(format!(
                    "the statement holds {QUOTE}, the quote of a function's body"
                )));
            }
            db.batch(&format!(
                "CREATE FUNCTION {name}({signature}) RETURNS bigint LANGUAGE plpgsql VOLATILE \
                 AS {QUOTE}{body}{QUOTE}"
            ))?;
            found(db, &name, &signature, &body)?.ok_or_else(|| {
                StoreError::Internal(format!("function {name} not found once made"))
            })?
        }
    };
    // Each argument cast to its type: an overload of the same name taking
    // other types (`text`, which an argument of unknown type prefers) is
    // never what the call resolves to.
    let arguments = types
        .iter()
        .enumerate()
        .map(|(i, ty)| format!("CAST(${} AS {ty})", i + 1))
        .collect::<Vec<_>>()
        .join(", ");
    Ok(Some(format!(
        "SELECT {}.{name}({arguments})",
        quote_identifier(&schema)
    )))
}

/// The types the server infers for `statement`'s parameters, in order.
fn parameter_types(db: &mut PgTx<'_>, statement: &str) -> Result<Vec<String>> {
    // A name no other client uses: behind a transaction pooler the
    // server connection is another client's once this transaction ends.
    let probe = format!("vibe_probe_{}", uuid::Uuid::new_v4().simple());
    db.batch(&format!("PREPARE {probe} AS {statement}"))?;
    let types = db.query_all(
        "SELECT CAST(t AS TEXT)
         FROM pg_prepared_statements, unnest(parameter_types) WITH ORDINALITY AS p(t, n)
         WHERE name = ?1 ORDER BY n",
        &[Value::from(probe.as_str())],
    )?;
    db.batch(&format!("DEALLOCATE {probe}"))?;
    types
        .into_iter()
        .map(|row| {
            row.into_iter()
                .next()
                .and_then(Value::into_text)
                .ok_or_else(|| StoreError::Internal("a parameter type read as no text".into()))
        })
        .collect()
}

/// The function's body, for a statement of `n` parameters: the function's
/// parameters are the statement's, then the locked row's id (when it has a
/// lock), then the values of [`SETTINGS`] (`NULL`: the server's own). It is
/// a write's whole transaction when sent on its own (`tx.rs`), so it makes
/// the settings a transaction the store begins makes, then takes the lock,
/// then runs the statement.
fn body(planned: &Planned, n: usize) -> String {
    let mut next = n + 1;
    let lock = match &planned.lock {
        Some(lock) => {
            // `SELECT` whose rows are not kept is `PERFORM` in PL/pgSQL.
            let lock = lock.trim_start();
            let lock = lock
                .get(..6)
                .filter(|word| word.eq_ignore_ascii_case("SELECT"))
                .map_or(lock, |_| &lock[6..]);
            let lock = format!("PERFORM {};\n", lock.replace("?1", &format!("${next}")));
            next += 1;
            lock
        }
        None => String::new(),
    };
    let settings: Vec<String> = SETTINGS
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let param = next + i;
            format!("set_config('{name}', COALESCE(${param}, current_setting('{name}')), true)")
        })
        .chain([POSTGRES_IN_TRANSACTION_CONFIG.to_owned()])
        .collect();
    format!(
        "\nDECLARE vibe_row_id bigint;\nBEGIN\nPERFORM {};\n{lock}{} INTO vibe_row_id;\nRETURN vibe_row_id;\nEND\n",
        settings.join(", "),
        planned.statement
    )
}

/// The schema of the function `name(signature)` the search path finds,
/// when it is the store's: that body, in PL/pgSQL, volatile, returning a
/// `bigint`, run with its caller's rights and settings, which the caller
/// may execute, owned by the caller, by the owner of the store's tables or
/// by a superuser (another role that may create in the schema could
/// otherwise make it first, or change its body later, and run its own SQL
/// with the store's rights).
fn found(db: &mut PgTx<'_>, name: &str, signature: &str, body: &str) -> Result<Option<String>> {
    let row = db.query_opt(
        &format!(
            "SELECT CAST(n.nspname AS TEXT),
                    p.prosrc = ?2 AND l.lanname = 'plpgsql' AND p.provolatile = 'v'
                      AND p.prorettype = CAST('bigint' AS regtype)
                      AND NOT p.prosecdef AND p.proconfig IS NULL AND NOT p.proretset
                      AND has_function_privilege(p.oid, 'EXECUTE')
                      AND {} AND {}
             FROM pg_proc p
             JOIN pg_namespace n ON n.oid = p.pronamespace
             JOIN pg_language l ON l.oid = p.prolang
             WHERE p.oid = to_regprocedure(?1)",
            trusted("p.proowner"),
            trusted("n.nspowner")
        ),
        &[format!("{name}({signature})").into(), body.into()],
    )?;
    match row.as_deref() {
        None => Ok(None),
        Some([Value::Text(schema), Value::Integer(1)]) => Ok(Some(schema.to_string())),
        Some(_) => Err(StoreError::Internal(format!(
            "a function named {name} is there that the store does not call (another body, \
             owner or settings, or no right to execute it)"
        ))),
    }
}

/// Whether the role `role` (an expression) is one the store trusts with its
/// writes: the caller, the owner of the store's tables, or a superuser
/// (`pg_database_owner`, which owns `public` since PostgreSQL 15, stands for
/// the database's owner); none other may own the store's functions or the
/// schema they are in (a schema's owner may drop a function in it and make
/// another of the same name). Roles compared, not memberships: a superuser
/// is a member of every role.
fn trusted(role: &str) -> String {
    format!(
        "(SELECT r.oid = (SELECT oid FROM pg_roles WHERE rolname = current_user)
                 OR r.oid IS NOT DISTINCT FROM (SELECT relowner FROM pg_class
                                                WHERE oid = to_regclass('row_chain'))
                 OR r.rolsuper
          FROM pg_roles r
          WHERE r.oid = CASE WHEN {role} = to_regrole('pg_database_owner')
                             THEN (SELECT datdba FROM pg_database
                                   WHERE datname = current_database())
                             ELSE {role} END)"
    )
}

/// `name` as a quoted SQL identifier.
fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_makes_the_settings_then_takes_the_lock_then_runs_the_statement() {
        let planned = Planned {
            lock: Some("SELECT id FROM missions WHERE id = ?1 FOR UPDATE".into()),
            statement: "INSERT INTO t (a, b) VALUES ($1, $2) RETURNING id".into(),
        };
        let body = body(&planned, 2);
        let settings = body.find("set_config('TimeZone', COALESCE($4, ").unwrap();
        assert!(body.contains("set_config('synchronous_commit', COALESCE($6, "));
        assert!(body.contains(POSTGRES_IN_TRANSACTION_CONFIG));
        let lock = body
            .find("PERFORM  id FROM missions WHERE id = $3 FOR UPDATE;\n")
            .unwrap();
        let insert = body
            .find("VALUES ($1, $2) RETURNING id INTO vibe_row_id;")
            .unwrap();
        assert!(settings < lock && lock < insert, "{body}");
        let unlocked = Planned {
            lock: None,
            ..planned
        };
        let body = super::body(&unlocked, 2);
        assert!(body.contains("set_config('TimeZone', COALESCE($3, "));
        assert!(!body.contains("FOR UPDATE"));
    }

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(quote_identifier("public"), "\"public\"");
        assert_eq!(quote_identifier("a\"b"), "\"a\"\"b\"");
    }
}
