//! [`PostgresStore`]: the mission store on a PostgreSQL server, for fleets
//! of hosts writing one trail.
//!
//! The same store as [`SqliteStore`](super::SqliteStore): the same
//! validation (`model.rs`, `json.rs`), the same row readers (`rows.rs`), the
//! same hash chain (`chain.rs`) and transfer code (`transfer.rs`), the same
//! layout (`schema/postgres/`, version for version). What differs is how a
//! write is serialised: SQLite has one writer per file; here every write to
//! a mission first locks that mission's row (`SELECT ... FOR UPDATE`), so
//! writes to one mission are chained in commit order while writes to
//! different missions run side by side.
//!
//! Each operation is one transaction on a connection from a bounded pool.
//! A transaction the server aborts as a serialization failure or deadlock is
//! retried (nothing of it was written); a connection found dead before its
//! transaction began is replaced; a connection lost during a transaction
//! fails that call with [`StoreError::Unavailable`], saying whether the
//! write may have been recorded; later calls connect afresh.

pub(crate) mod connect;
mod migrate;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use postgres::fallible_iterator::FallibleIterator;
use postgres::types::{IsNull, ToSql, Type};

pub use connect::is_postgres_url;
pub(crate) use connect::Target;
use connect::{Pool, TxStep};
pub use migrate::POSTGRES_MIGRATIONS;

use super::backend::MissionStore;
use super::chain::{self, ChainTable, Head};
use super::error::{Result, StoreError};
use super::ids::{format_timestamp, DecisionId, MissionId, ToolCallId};
use super::json::Json;
use super::model::{
    check_name, check_text, now_timestamp, Decision, DecisionFilter, InvocationEnd,
    InvocationStart, MemoryEntry, Mission, MissionFilter, MissionStatus, NewToolCall, Origin,
    Outcome, Page, Phase as MissionPhase, PlaybookRun, PruneFilter, PrunedMission, ToolCall,
    ToolCallFilter, ToolStats,
};
use super::open::{Durability, OpenOptions};
use super::rows::{self, decisions_from, mission_select, name_list, time_window, tool_calls_from};
use super::sql::{mission_row_id, Dialect, Sql, SqlStore, Value};

/// Connections a store opens at most unless told otherwise.
pub const DEFAULT_MAX_CONNECTIONS: usize = 10;

/// How often a transaction the server aborted as a conflict is retried.
const MAX_RETRIES: u32 = 20;

/// The mission store on a PostgreSQL server. Its operations are those of
/// [`MissionStore`]. Cheap to clone and safe to share between threads: all
/// clones share one pool of connections.
#[derive(Clone)]
pub struct PostgresStore {
    inner: Arc<Inner>,
    origin: Origin,
}

struct Inner {
    pool: Pool,
    options: OpenOptions,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("server", &self.server())
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connects to the database `url` names (`postgres://user@host:port/db`,
    /// with libpq's `sslmode`, `connect_timeout`... and passwords from
    /// `PGPASSWORD` or `.pgpass`), creating the schema or applying missing
    /// migrations.
    pub fn open(url: &str) -> Result<Self> {
        Self::open_with(url, OpenOptions::default())
    }

    /// Connects with explicit options: durability (`normal` commits without
    /// waiting for the server's WAL flush: `synchronous_commit = off`), how
    /// long a call waits for a free connection (`busy_timeout`), reading
    /// only, at most `max_connections` connections.
    pub fn open_with(url: &str, options: OpenOptions) -> Result<Self> {
        blocking(|| Self::open_blocking(url, options))
    }

    fn open_blocking(url: &str, options: OpenOptions) -> Result<Self> {
        let target = Target::parse(url)?;
        // A row lock held past the busy timeout (another host's stuck
        // transaction) fails the call as Busy instead of waiting forever.
        let mut setup = format!(
            "SET TIME ZONE 'UTC'; SET lock_timeout = {};",
            options.busy_timeout.as_millis().min(i32::MAX as u128)
        );
        if options.durability == Durability::Normal {
            setup.push_str("SET synchronous_commit = off;");
        }
        if options.read_only {
            setup.push_str("SET default_transaction_read_only = on;");
        }
        let pool = Pool::new(target, options.max_connections, setup);
        let store = PostgresStore {
            inner: Arc::new(Inner { pool, options }),
            origin: Origin::Host,
        };
        let latest = POSTGRES_MIGRATIONS.last().map_or(0, |m| m.version);
        let mut pooled = store.inner.pool.get(store.inner.options.busy_timeout)?;
        let target = store.inner.pool.target();
        let client = &mut pooled.conn().client;
        if store.inner.options.read_only || !store.inner.options.create {
            match migrate::version(client, target)? {
                None => {
                    return Err(StoreError::NoDatabase {
                        path: target.shown().into(),
                    })
                }
                Some(found) => migrate::refuse_newer(target, found, latest)?,
            }
        } else {
            migrate::migrate(client, target)?;
        }
        drop(pooled);
        Ok(store)
    }

    /// The server, as `postgres://user@host:port/db` (never a password).
    pub fn server(&self) -> &str {
        self.inner.pool.target().shown()
    }

    /// Who this handle's writes are recorded as coming from.
    pub fn origin(&self) -> Origin {
        self.origin
    }

    /// Creates the schema or applies missing migrations; returns the schema
    /// version.
    pub fn init_db(&self) -> Result<u32> {
        blocking(|| {
            let mut pooled = self.inner.pool.get(self.inner.options.busy_timeout)?;
            migrate::migrate(&mut pooled.conn().client, self.inner.pool.target())
        })
    }

    /// The schema version recorded in the database.
    pub fn schema_version(&self) -> Result<u32> {
        blocking(|| {
            let mut pooled = self.inner.pool.get(self.inner.options.busy_timeout)?;
            Ok(migrate::version(&mut pooled.conn().client, self.inner.pool.target())?.unwrap_or(0))
        })
    }

    /// A number that changes whenever a transaction may have committed
    /// since the last call: the server's next transaction id (its snapshot's
    /// xmax). Polling it is how a reader follows the trail (`vibe tools
    /// --follow`) without reading rows when nothing happened. It counts the
    /// whole server's transactions, so it may change when no row of this
    /// database did (a reader then finds nothing new); it never stays the
    /// same across a commit.
    pub fn data_version(&self) -> Result<i64> {
        self.read(|db| {
            Ok(db
                .query_opt(
                    "SELECT CAST(CAST(pg_snapshot_xmax(pg_current_snapshot()) AS TEXT) AS BIGINT)",
                    &[],
                )?
                .and_then(|r| r[0].int())
                .unwrap_or(0))
        })
    }

    /// Runs `f` in one transaction, retrying it when the server aborts it
    /// as a conflict (nothing of it was written then).
    fn transact<T>(&self, write: bool, f: impl FnMut(&mut dyn Sql) -> Result<T>) -> Result<T> {
        blocking(|| self.transact_blocking(write, f))
    }

    fn transact_blocking<T>(
        &self,
        write: bool,
        mut f: impl FnMut(&mut dyn Sql) -> Result<T>,
    ) -> Result<T> {
        if write && self.inner.options.read_only {
            return Err(StoreError::ReadOnly {
                path: self.server().into(),
                reason: "the store was opened read-only".into(),
            });
        }
        let target = self.inner.pool.target();
        let mut conflicts = 0u32;
        let mut stale = 0usize;
        loop {
            let mut pooled = self.inner.pool.get(self.inner.options.busy_timeout)?;
            let conn = pooled.conn();
            let begun = if write {
                conn.client.batch_execute("BEGIN")
            } else {
                conn.client
                    .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            };
            if let Err(e) = begun {
                // A connection the server closed while it sat idle (a
                // restart): nothing was sent that could have been applied.
                if conn.client.is_closed() && stale <= self.inner.options.max_connections {
                    stale += 1;
                    pooled.discard();
                    continue;
                }
                return Err(target.error(e, TxStep::Work));
            }
            let mut db = PgTx {
                client: &mut conn.client,
                statements: &mut conn.statements,
                target,
            };
            let outcome = f(&mut db).and_then(|value| {
                conn.client
                    .batch_execute("COMMIT")
                    .map_err(|e| target.error(e, TxStep::Commit))
                    .map(|()| value)
            });
            if outcome.is_err() && !conn.client.is_closed() {
                let _ = conn.client.batch_execute("ROLLBACK");
            }
            if conn.client.is_closed() {
                pooled.discard();
            }
            match outcome {
                Err(StoreError::Conflict(_)) if conflicts < MAX_RETRIES => {
                    conflicts += 1;
                    std::thread::sleep(Duration::from_millis(
                        (1u64 << conflicts.min(6)) + u64::from(std::process::id() % 7),
                    ));
                }
                Err(StoreError::Busy { .. }) => {
                    return Err(StoreError::Busy {
                        waited: self.inner.options.busy_timeout,
                    })
                }
                other => return other,
            }
        }
    }

    fn write<T>(&self, f: impl FnMut(&mut dyn Sql) -> Result<T>) -> Result<T> {
        self.transact(true, f)
    }

    fn read<T>(&self, f: impl FnMut(&mut dyn Sql) -> Result<T>) -> Result<T> {
        self.transact(false, f)
    }

    /// Finds and locks the mission's row for this transaction (writes to one
    /// mission are chained one at a time, in commit order), then reads its
    /// chain's head. Two statements, not one: under READ COMMITTED a
    /// statement that waited for the lock still sees the ledger as it was
    /// when it began, so the head must be read by a statement that starts
    /// after the lock is held.
    fn lock_mission(db: &mut dyn Sql, mission: &MissionId) -> Result<(i64, Head)> {
        let id = db
            .query_opt(
                "SELECT id FROM missions WHERE mission_uuid = ?1 FOR UPDATE",
                &[mission.as_str().into()],
            )?
            .and_then(|r| r[0].int())
            .ok_or_else(|| StoreError::MissionNotFound(mission.to_string()))?;
        Ok((id, chain::head(db, id)?))
    }

    /// Locks the mission whose row `id` of `table` is; its row id.
    fn lock_mission_of(db: &mut dyn Sql, table: &str, id: i64) -> Result<Option<i64>> {
        let Some(mission_id) = db
            .query_opt(
                &format!("SELECT mission_id FROM {table} WHERE id = ?1"),
                &[id.into()],
            )?
            .and_then(|r| r[0].int())
        else {
            return Ok(None);
        };
        db.execute(
            "SELECT id FROM missions WHERE id = ?1 FOR UPDATE",
            &[mission_id.into()],
        )?;
        Ok(Some(mission_id))
    }

    fn insert_invocation(
        &self,
        mission: &MissionId,
        start: &InvocationStart,
        end: Option<&InvocationEnd>,
    ) -> Result<ToolCallId> {
        start.validate()?;
        self.write(|db| {
            let (mission_id, head) = Self::lock_mission(db, mission)?;
            let (outcome, result, duration_ms, error_message) = match end {
                Some(end) => (
                    end.outcome,
                    end.result.as_ref().map(Json::as_str),
                    end.duration_ms,
                    end.error_message.as_deref(),
                ),
                None => (
                    Outcome::Running,
                    None,
                    None,
                    Some(super::sqlite::RUNNING_MESSAGE),
                ),
            };
            let component = start.component.as_ref();
            let (id, _) = insert_chained(
                db,
                ChainTable::ToolCalls,
                "INSERT INTO tool_calls (mission_id, tool_name, args, result, timestamp,
                                         duration_ms, success, error_message,
                                         component_sha256, component_size, outcome, caller)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                &[
                    mission_id.into(),
                    start.tool_name.as_str().into(),
                    start.input.as_str().into(),
                    result.into(),
                    now_timestamp().into(),
                    duration_ms.into(),
                    i64::from(outcome == Outcome::Ok).into(),
                    error_message.into(),
                    component.map(|c| c.sha256.as_str()).into(),
                    component
                        .map(|c| i64::try_from(c.size).unwrap_or(i64::MAX))
                        .into(),
                    outcome.as_str().into(),
                    start.caller.as_ref().map(Json::as_str).into(),
                ],
                mission_id,
                head,
            )?;
            Ok(ToolCallId::from(id))
        })
    }

    /// One page of a mission's rows in id order, within the page's budgets.
    fn page<T>(
        &self,
        mission: &MissionId,
        page: Page,
        sql: &str,
        read: fn(&[Value]) -> Result<T>,
        bytes: impl Fn(&T) -> usize,
    ) -> Result<Vec<T>> {
        page.validate()?;
        self.read(|db| {
            let mission_id = mission_row_id(db, mission)?;
            let (mut out, mut used, mut full) = (Vec::new(), 0usize, false);
            db.query(
                sql,
                &[
                    mission_id.into(),
                    page.after_id.unwrap_or(i64::MIN).into(),
                    i64::from(page.limit).into(),
                ],
                &mut |r| {
                    if full {
                        return Ok(());
                    }
                    let item = read(r)?;
                    let size = bytes(&item);
                    if used + size > page.max_bytes {
                        if out.is_empty() {
                            return Err(StoreError::LimitExceeded(format!(
                                "row {} alone is {size} bytes, over this page's budget of {} bytes",
                                r[0].int().unwrap_or_default(),
                                page.max_bytes
                            )));
                        }
                        full = true;
                        return Ok(());
                    }
                    used += size;
                    out.push(item);
                    Ok(())
                },
            )?;
            Ok(std::mem::take(&mut out))
        })
    }
}

/// Runs `f`, which blocks on the server, where blocking is allowed. The
/// client library runs its own small runtime, which tokio refuses to start
/// on a thread inside another runtime's context. `block_in_place` steps out
/// of that context wherever blocking is allowed: on a multi-threaded
/// runtime's worker (as in `vibe mcp`), and inside `Handle::block_on` on a
/// blocking thread (a guest's store call: the sandbox drives guests there,
/// whichever runtime's handle it is). From a current-thread runtime's own
/// thread, call the store through `tokio::task::spawn_blocking` (tokio
/// panics otherwise, as it does for every blocking client).
pub(crate) fn blocking<T>(f: impl FnOnce() -> Result<T>) -> Result<T> {
    match tokio::runtime::Handle::try_current() {
        Ok(_) => tokio::task::block_in_place(f),
        Err(_) => f(),
    }
}

/// Inserts a row of `table` (`insert` without its RETURNING) and chains it
/// onto `head`, reading what was stored in the insert's own round trip;
/// returns its id and the new head.
fn insert_chained(
    db: &mut dyn Sql,
    table: ChainTable,
    insert: &str,
    params: &[Value],
    mission_id: i64,
    head: Head,
) -> Result<(i64, Head)> {
    let sql = format!(
        "WITH t AS ({insert} RETURNING *) {}",
        table.select_returned()
    );
    let row = db
        .query_opt(&sql, params)?
        .ok_or_else(|| StoreError::Internal("an insert returned no row".into()))?;
    let id = row[table.width()]
        .int()
        .ok_or_else(|| StoreError::Internal("an insert returned no id".into()))?;
    Ok((id, chain::append_row(db, mission_id, table, &row, head)?))
}

/// Inserts a row; its id.
fn insert_returning(db: &mut dyn Sql, sql: &str, params: &[Value]) -> Result<i64> {
    db.query_opt(sql, params)?
        .and_then(|r| r[0].int())
        .ok_or_else(|| StoreError::Internal("an insert returned no id".into()))
}

// ---- queries ---------------------------------------------------------------
//
// Text comparisons use COLLATE "C" where SQLite compares bytes: timestamps
// and names order the same on both.

const SQL_MISSION_BY_UUID: &str = concat!(mission_select!(), " WHERE mission_uuid = ?1");
const SQL_FIND_MISSIONS: &str = concat!(
    mission_select!(),
    " WHERE (CAST(?1 AS TEXT) IS NULL OR status = ?1)
        AND (CAST(?2 AS TEXT) IS NULL OR phase = ?2)
        AND created_at COLLATE \"C\" >= ?3 AND created_at COLLATE \"C\" < ?4
        AND (CAST(?5 AS TEXT) IS NULL OR strpos(metadata, ?5) > 0)
        AND (CAST(?6 AS BIGINT) IS NULL
             OR (created_at COLLATE \"C\", id)
                < (SELECT created_at COLLATE \"C\", id FROM missions WHERE id = ?6))
      ORDER BY created_at COLLATE \"C\" DESC, id DESC LIMIT ?7"
);
const SQL_TOOL_CALLS_PAGE: &str = concat!(
    tool_calls_from!(),
    "WHERE t.mission_id = ?1 AND t.id > ?2 ORDER BY t.id LIMIT ?3"
);
const SQL_DECISIONS_PAGE: &str = concat!(
    decisions_from!(),
    "WHERE d.mission_id = ?1 AND d.id > ?2 ORDER BY d.id LIMIT ?3"
);
/// `?1` the mission's row id, or NULL for every mission.
const SQL_FIND_TOOL_CALLS: &str = concat!(
    tool_calls_from!(),
    "WHERE (CAST(?1 AS BIGINT) IS NULL OR t.mission_id = ?1)
       AND t.id > ?2
       AND (CAST(?3 AS TEXT) IS NULL
            OR t.tool_name IN (SELECT json_array_elements_text(CAST(?3 AS TEXT)::json)))
       AND (CAST(?4 AS BOOLEAN) IS NULL OR t.success = ?4)
       AND t.timestamp COLLATE \"C\" >= ?5 AND t.timestamp COLLATE \"C\" < ?6
     ORDER BY t.timestamp COLLATE \"C\", t.id LIMIT ?7"
);
const SQL_FIND_DECISIONS: &str = concat!(
    decisions_from!(),
    "WHERE (CAST(?1 AS BIGINT) IS NULL OR d.mission_id = ?1)
       AND d.id > ?2
       AND (CAST(?3 AS TEXT) IS NULL
            OR d.decision_type IN (SELECT json_array_elements_text(CAST(?3 AS TEXT)::json)))
       AND (CAST(?4 AS TEXT) IS NULL
            OR d.agent_name IN (SELECT json_array_elements_text(CAST(?4 AS TEXT)::json)))
       AND d.timestamp COLLATE \"C\" >= ?5 AND d.timestamp COLLATE \"C\" < ?6
     ORDER BY d.timestamp COLLATE \"C\", d.id LIMIT ?7"
);
const SQL_TOOL_CALL_BY_ID: &str = concat!(tool_calls_from!(), "WHERE t.id = ?1");
/// Per tool, as SQLite's: counts, first and last call, nearest-rank
/// percentiles of the durations recorded (rank = ceil(p * n)).
const SQL_TOOL_STATS: &str = "
    WITH calls AS (
        SELECT tool_name, success, duration_ms, timestamp FROM tool_calls
        WHERE CAST(?1 AS BIGINT) IS NULL OR mission_id = ?1
    ),
    ranked AS (
        SELECT tool_name, duration_ms,
               ROW_NUMBER() OVER (PARTITION BY tool_name ORDER BY duration_ms) AS rank,
               COUNT(*) OVER (PARTITION BY tool_name) AS n
        FROM calls WHERE duration_ms IS NOT NULL
    )
    SELECT c.tool_name, COUNT(*), SUM(CASE WHEN c.success THEN 0 ELSE 1 END),
           MIN(c.timestamp COLLATE \"C\"), MAX(c.timestamp COLLATE \"C\"),
           (SELECT duration_ms FROM ranked r
            WHERE r.tool_name = c.tool_name AND r.rank = (r.n * 50 + 99) / 100),
           (SELECT duration_ms FROM ranked r
            WHERE r.tool_name = c.tool_name AND r.rank = (r.n * 95 + 99) / 100),
           MAX(c.duration_ms)
    FROM calls c GROUP BY c.tool_name ORDER BY COUNT(*) DESC, c.tool_name COLLATE \"C\"";
const SQL_END_INVOCATION: &str = "UPDATE tool_calls
     SET result = ?2, duration_ms = ?3, success = ?4, error_message = ?5, outcome = ?6
     WHERE id = ?1 AND outcome = 'running'";
const SQL_MEMORY_GET: &str = "SELECT value FROM agent_memory
     WHERE mission_id = ?1 AND key = ?2
       AND (expires_at IS NULL OR expires_at COLLATE \"C\" > ?3)";
const SQL_MEMORY_LIST: &str = "SELECT key, value, timestamp, expires_at, invocation_id
     FROM agent_memory
     WHERE mission_id = ?1 AND (expires_at IS NULL OR expires_at COLLATE \"C\" > ?2)
     ORDER BY key COLLATE \"C\"";
const SQL_PRUNE_CANDIDATES: &str = "
    SELECT m.mission_uuid, m.created_at, m.status,
           (SELECT COUNT(*) FROM tool_calls WHERE mission_id = m.id),
           (SELECT COUNT(*) FROM decisions WHERE mission_id = m.id),
           (SELECT COUNT(*) FROM agent_memory WHERE mission_id = m.id),
           (SELECT COUNT(*) FROM playbook_runs WHERE mission_id = m.id)
    FROM missions m
    WHERE m.created_at COLLATE \"C\" < ?1
      AND m.status IN (SELECT json_array_elements_text(CAST(?2 AS TEXT)::json))
    ORDER BY m.created_at COLLATE \"C\", m.id";
const SQL_PLAYBOOK_RUNS: &str =
    "SELECT id, mission_id, playbook_name, phase, started_at, completed_at,
            success, metrics, error_message
     FROM playbook_runs WHERE mission_id = ?1 ORDER BY started_at COLLATE \"C\", id";

impl MissionStore for PostgresStore {
    fn within_invocation(&self, invocation: ToolCallId) -> Arc<dyn MissionStore> {
        Arc::new(PostgresStore {
            inner: self.inner.clone(),
            origin: Origin::Invocation(invocation),
        })
    }

    fn begin_invocation(&self, mission: &MissionId, start: &InvocationStart) -> Result<ToolCallId> {
        self.insert_invocation(mission, start, None)
    }

    fn end_invocation(&self, invocation: ToolCallId, end: &InvocationEnd) -> Result<()> {
        end.validate()?;
        self.write(|db| {
            let missing = || {
                StoreError::invalid(format!(
                    "invocation {invocation} does not exist or has already ended"
                ))
            };
            let mission_id =
                Self::lock_mission_of(db, "tool_calls", invocation.get())?.ok_or_else(missing)?;
            let changed = db.execute(
                SQL_END_INVOCATION,
                &[
                    invocation.get().into(),
                    end.result.as_ref().map(Json::as_str).into(),
                    end.duration_ms.into(),
                    i64::from(end.outcome == Outcome::Ok).into(),
                    end.error_message.as_deref().into(),
                    end.outcome.as_str().into(),
                ],
            )?;
            if changed == 0 {
                return Err(missing());
            }
            chain::append(db, mission_id, ChainTable::ToolCalls, invocation.get())
        })
    }

    fn record_invocation(
        &self,
        mission: &MissionId,
        start: &InvocationStart,
        end: &InvocationEnd,
    ) -> Result<ToolCallId> {
        end.validate()?;
        self.insert_invocation(mission, start, Some(end))
    }

    fn create_mission(&self, phase: MissionPhase, metadata: Json) -> Result<MissionId> {
        metadata.check_limits("metadata")?;
        let id = MissionId::new_v4();
        let invocation = self.origin.invocation_id();
        self.write(|db| {
            let row = insert_returning(
                db,
                "INSERT INTO missions (mission_uuid, phase, status, created_at, metadata,
                                       invocation_id)
                 VALUES (?1, ?2, 'pending', ?3, ?4, ?5) RETURNING id",
                &[
                    id.as_str().into(),
                    phase.as_str().into(),
                    now_timestamp().into(),
                    metadata.as_str().into(),
                    invocation.into(),
                ],
            )?;
            chain::append(db, row, ChainTable::Missions, row)
        })?;
        Ok(id)
    }

    fn update_mission_status(&self, mission: &MissionId, status: MissionStatus) -> Result<()> {
        self.write(|db| {
            let (row, head) = Self::lock_mission(db, mission)?;
            let completed_at = status.is_terminal().then(now_timestamp);
            db.execute(
                "UPDATE missions SET status = ?2, completed_at = ?3 WHERE id = ?1",
                &[row.into(), status.as_str().into(), completed_at.into()],
            )?;
            chain::append_after(db, row, ChainTable::Missions, row, head).map(drop)
        })
    }

    fn get_mission(&self, mission: &MissionId) -> Result<Mission> {
        self.read(|db| {
            db.query_opt(SQL_MISSION_BY_UUID, &[mission.as_str().into()])?
                .map(|r| rows::mission(&r))
                .transpose()?
                .ok_or_else(|| StoreError::MissionNotFound(mission.to_string()))
        })
    }

    fn find_missions(&self, filter: &MissionFilter) -> Result<Vec<Mission>> {
        Page::first(filter.limit).validate()?;
        let (since, until) = time_window(filter.since, filter.until);
        self.read(|db| {
            db.query_all(
                SQL_FIND_MISSIONS,
                &[
                    filter.status.map(MissionStatus::as_str).into(),
                    filter.phase.map(MissionPhase::as_str).into(),
                    since.as_str().into(),
                    until.as_str().into(),
                    filter.search.as_deref().into(),
                    filter.before_id.into(),
                    i64::from(filter.limit).into(),
                ],
            )?
            .iter()
            .map(|r| rows::mission(r))
            .collect()
        })
    }

    fn log_tool_call(&self, mission: &MissionId, call: NewToolCall) -> Result<ToolCallId> {
        Ok(self.log_tool_calls(mission, vec![call])?[0])
    }

    fn log_tool_calls(
        &self,
        mission: &MissionId,
        calls: Vec<NewToolCall>,
    ) -> Result<Vec<ToolCallId>> {
        for call in &calls {
            call.validate()?;
        }
        let invocation = self.origin.invocation_id();
        self.write(|db| {
            let (mission_id, mut head) = Self::lock_mission(db, mission)?;
            let mut ids = Vec::with_capacity(calls.len());
            for call in &calls {
                let (id, next) = insert_chained(
                    db,
                    ChainTable::ToolCalls,
                    "INSERT INTO tool_calls (mission_id, tool_name, args, result, timestamp,
                                             duration_ms, success, error_message, invocation_id)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                    &[
                        mission_id.into(),
                        call.tool_name.as_str().into(),
                        call.args.as_str().into(),
                        call.result.as_ref().map(Json::as_str).into(),
                        now_timestamp().into(),
                        call.duration_ms.into(),
                        i64::from(call.success).into(),
                        call.error_message.as_deref().into(),
                        invocation.into(),
                    ],
                    mission_id,
                    head,
                )?;
                head = next;
                ids.push(ToolCallId::from(id));
            }
            Ok(ids)
        })
    }

    fn get_tool_history_page(&self, mission: &MissionId, page: Page) -> Result<Vec<ToolCall>> {
        self.page(mission, page, SQL_TOOL_CALLS_PAGE, rows::tool_call, |c| {
            c.text_bytes()
        })
    }

    fn find_tool_calls(
        &self,
        filter: &ToolCallFilter,
        f: &mut dyn FnMut(ToolCall) -> Result<()>,
    ) -> Result<()> {
        let (since, until) = time_window(filter.since, filter.until);
        self.read(|db| {
            let mission = filter
                .mission
                .as_ref()
                .map(|m| mission_row_id(db, m))
                .transpose()?;
            db.query(
                SQL_FIND_TOOL_CALLS,
                &[
                    mission.into(),
                    filter.after_id.unwrap_or(i64::MIN).into(),
                    name_list(&filter.tools).into(),
                    filter.success.map(i64::from).into(),
                    since.as_str().into(),
                    until.as_str().into(),
                    filter.limit.map_or(i64::MAX, i64::from).into(),
                ],
                &mut |r| f(rows::tool_call(r)?),
            )
        })
    }

    fn get_tool_call(&self, id: ToolCallId) -> Result<ToolCall> {
        self.read(|db| {
            db.query_opt(SQL_TOOL_CALL_BY_ID, &[id.get().into()])?
                .map(|r| rows::tool_call(&r))
                .transpose()?
                .ok_or_else(|| StoreError::NotFound(format!("tool call {id}")))
        })
    }

    fn tool_stats(&self, mission: Option<&MissionId>) -> Result<Vec<ToolStats>> {
        self.read(|db| {
            let mission_id = mission.map(|m| mission_row_id(db, m)).transpose()?;
            db.query_all(SQL_TOOL_STATS, &[mission_id.into()])?
                .iter()
                .map(|r| rows::tool_stats(r))
                .collect()
        })
    }

    fn record_decision(
        &self,
        mission: &MissionId,
        decision_type: &str,
        rationale: &str,
        agent_name: &str,
        context: Option<Json>,
    ) -> Result<DecisionId> {
        if let Some(context) = &context {
            context.check_limits("context")?;
        }
        check_name("decision type", decision_type)?;
        check_text("rationale", rationale)?;
        check_name("agent name", agent_name)?;
        let invocation = self.origin.invocation_id();
        self.write(|db| {
            let (mission_id, head) = Self::lock_mission(db, mission)?;
            let (id, _) = insert_chained(
                db,
                ChainTable::Decisions,
                "INSERT INTO decisions (mission_id, decision_type, rationale, timestamp,
                                        agent_name, context, invocation_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                &[
                    mission_id.into(),
                    decision_type.into(),
                    rationale.into(),
                    now_timestamp().into(),
                    agent_name.into(),
                    context.as_ref().map(Json::as_str).into(),
                    invocation.into(),
                ],
                mission_id,
                head,
            )?;
            Ok(DecisionId::from(id))
        })
    }

    fn get_decisions_page(&self, mission: &MissionId, page: Page) -> Result<Vec<Decision>> {
        self.page(mission, page, SQL_DECISIONS_PAGE, rows::decision, |d| {
            d.text_bytes()
        })
    }

    fn find_decisions(
        &self,
        filter: &DecisionFilter,
        f: &mut dyn FnMut(Decision) -> Result<()>,
    ) -> Result<()> {
        let (since, until) = time_window(filter.since, filter.until);
        self.read(|db| {
            let mission = filter
                .mission
                .as_ref()
                .map(|m| mission_row_id(db, m))
                .transpose()?;
            db.query(
                SQL_FIND_DECISIONS,
                &[
                    mission.into(),
                    filter.after_id.unwrap_or(i64::MIN).into(),
                    name_list(&filter.types).into(),
                    name_list(&filter.agents).into(),
                    since.as_str().into(),
                    until.as_str().into(),
                    filter.limit.map_or(i64::MAX, i64::from).into(),
                ],
                &mut |r| f(rows::decision(r)?),
            )
        })
    }

    fn set_memory(
        &self,
        mission: &MissionId,
        key: &str,
        value: Json,
        ttl_seconds: Option<u32>,
    ) -> Result<()> {
        check_name("memory key", key)?;
        value.check_limits("memory value")?;
        let invocation = self.origin.invocation_id();
        self.write(|db| {
            let (mission_id, head) = Self::lock_mission(db, mission)?;
            let now = Utc::now();
            let expires_at = ttl_seconds
                .map(|ttl| format_timestamp(now + chrono::Duration::seconds(i64::from(ttl))));
            let id = insert_returning(
                db,
                "INSERT INTO agent_memory (mission_id, key, value, timestamp, ttl, expires_at,
                                           invocation_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (mission_id, key) DO UPDATE SET
                     value = excluded.value, timestamp = excluded.timestamp,
                     ttl = excluded.ttl, expires_at = excluded.expires_at,
                     invocation_id = excluded.invocation_id
                 RETURNING id",
                &[
                    mission_id.into(),
                    key.into(),
                    value.as_str().into(),
                    format_timestamp(now).into(),
                    ttl_seconds.map(i64::from).into(),
                    expires_at.into(),
                    invocation.into(),
                ],
            )?;
            chain::append_after(db, mission_id, ChainTable::Memory, id, head).map(drop)
        })
    }

    fn get_memory(&self, mission: &MissionId, key: &str) -> Result<Option<Json>> {
        check_name("memory key", key)?;
        let now = now_timestamp();
        self.read(|db| {
            let mission_id = mission_row_id(db, mission)?;
            Ok(db
                .query_opt(
                    SQL_MEMORY_GET,
                    &[mission_id.into(), key.into(), now.as_str().into()],
                )?
                .map(|r| Json::from_column(&r[0]).unwrap_or_else(|| Json::stored("null"))))
        })
    }

    fn delete_memory(&self, mission: &MissionId, key: &str) -> Result<bool> {
        check_name("memory key", key)?;
        self.write(|db| {
            let (mission_id, _) = Self::lock_mission(db, mission)?;
            let now = now_timestamp();
            let live = db
                .query_opt(
                    SQL_MEMORY_GET,
                    &[mission_id.into(), key.into(), now.as_str().into()],
                )?
                .is_some();
            let deleted = db.query_opt(
                "DELETE FROM agent_memory WHERE mission_id = ?1 AND key = ?2 RETURNING chain_seq",
                &[mission_id.into(), key.into()],
            )?;
            if let Some(row_seq) = deleted.and_then(|r| r[0].int()) {
                chain::append_deletion(db, mission_id, ChainTable::Memory, row_seq)?;
            }
            Ok(live)
        })
    }

    fn list_memory(&self, mission: &MissionId) -> Result<Vec<MemoryEntry>> {
        let now = now_timestamp();
        self.read(|db| {
            let mission_id = mission_row_id(db, mission)?;
            db.query_all(SQL_MEMORY_LIST, &[mission_id.into(), now.as_str().into()])?
                .iter()
                .map(|r| rows::memory_entry(r))
                .collect()
        })
    }

    fn prune(
        &self,
        filter: &PruneFilter,
        dry_run: bool,
        report: &mut dyn FnMut(&PrunedMission),
    ) -> Result<u64> {
        let statuses = serde_json::json!(filter
            .statuses
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>())
        .to_string();
        let before = format_timestamp(filter.before);
        let candidates: Vec<PrunedMission> = self.read(|db| {
            db.query_all(
                SQL_PRUNE_CANDIDATES,
                &[before.as_str().into(), statuses.as_str().into()],
            )?
            .iter()
            .map(|r| rows::pruned_mission(r))
            .collect()
        })?;
        for mission in &candidates {
            if !dry_run {
                // One transaction per mission: the server's MVCC keeps
                // readers and other missions' writers going meanwhile.
                self.write(|db| {
                    let Some(row) = super::sql::mission_row(db, &mission.mission_uuid)? else {
                        return Ok(());
                    };
                    db.execute("DELETE FROM row_chain WHERE mission_id = ?1", &[row.into()])?;
                    db.execute("DELETE FROM missions WHERE id = ?1", &[row.into()])?;
                    Ok(())
                })?;
            }
            report(mission);
        }
        Ok(candidates.len() as u64)
    }

    fn start_playbook_run(
        &self,
        mission: &MissionId,
        playbook_name: &str,
        phase: Option<MissionPhase>,
    ) -> Result<i64> {
        check_name("playbook name", playbook_name)?;
        self.write(|db| {
            let (mission_id, head) = Self::lock_mission(db, mission)?;
            let id = insert_returning(
                db,
                "INSERT INTO playbook_runs (mission_id, playbook_name, phase, started_at)
                 VALUES (?1, ?2, ?3, ?4) RETURNING id",
                &[
                    mission_id.into(),
                    playbook_name.into(),
                    phase.map(MissionPhase::as_str).into(),
                    now_timestamp().into(),
                ],
            )?;
            chain::append_after(db, mission_id, ChainTable::PlaybookRuns, id, head)?;
            Ok(id)
        })
    }

    fn complete_playbook_run(
        &self,
        run_id: i64,
        success: bool,
        metrics: Option<Json>,
        error_message: Option<&str>,
    ) -> Result<()> {
        if let Some(metrics) = &metrics {
            metrics.check_limits("metrics")?;
        }
        if let Some(message) = error_message {
            check_text("error message", message)?;
        }
        self.write(|db| {
            let missing = || {
                StoreError::invalid(format!(
                    "playbook run {run_id} does not exist or has already completed"
                ))
            };
            let mission_id =
                Self::lock_mission_of(db, "playbook_runs", run_id)?.ok_or_else(missing)?;
            let changed = db.execute(
                "UPDATE playbook_runs
                 SET completed_at = ?2, success = ?3, metrics = ?4, error_message = ?5
                 WHERE id = ?1 AND completed_at IS NULL",
                &[
                    run_id.into(),
                    now_timestamp().into(),
                    i64::from(success).into(),
                    metrics.as_ref().map(Json::as_str).into(),
                    error_message.into(),
                ],
            )?;
            if changed == 0 {
                return Err(missing());
            }
            chain::append(db, mission_id, ChainTable::PlaybookRuns, run_id)
        })
    }

    fn get_playbook_runs(&self, mission: &MissionId) -> Result<Vec<PlaybookRun>> {
        self.read(|db| {
            let mission_id = mission_row_id(db, mission)?;
            db.query_all(SQL_PLAYBOOK_RUNS, &[mission_id.into()])?
                .iter()
                .map(|r| rows::playbook_run(r))
                .collect()
        })
    }
}

impl SqlStore for PostgresStore {
    fn read_sql<T>(&self, f: impl FnMut(&mut dyn Sql) -> Result<T>) -> Result<T> {
        self.read(f)
    }

    fn write_sql<T: Send + 'static>(
        &self,
        f: impl FnMut(&mut dyn Sql) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        self.write(f)
    }
}

/// A PostgreSQL connection inside a transaction, as [`Sql`].
struct PgTx<'a> {
    client: &'a mut postgres::Client,
    statements: &'a mut HashMap<String, postgres::Statement>,
    target: &'a Target,
}

impl PgTx<'_> {
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
        f: &mut dyn FnMut(&[Value]) -> Result<()>,
    ) -> Result<()> {
        let statement = self.prepare(sql)?;
        let target = self.target;
        let fail = |e| target.error(e, TxStep::Work);
        let mut rows = self.client.query_raw(&statement, params).map_err(fail)?;
        let mut values = Vec::new();
        while let Some(row) = rows.next().map_err(fail)? {
            if super::deadline::expired() {
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
fn column_value(row: &postgres::Row, i: usize, ty: &Type) -> Result<Value> {
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
            .map_or(Value::Null, Value::Blob),
        _ => row
            .try_get::<_, Option<String>>(i)
            .map_err(wrong)?
            .map_or(Value::Null, Value::Text),
    })
}

impl ToSql for Value {
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
            Value::Text(s) => s.as_str().to_sql(ty, out),
            Value::Blob(b) => b.as_slice().to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    postgres::types::to_sql_checked!();
}
