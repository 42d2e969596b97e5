//! [`SqliteStore`]: the mission store on one SQLite file.
//!
//! Every statement is parameterised and prepared once per connection. Writes
//! go through the group-committing [`Writer`]; reads use a small pool of
//! connections of their own, so readers never wait on a writer's fsync (WAL).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use rusqlite::types::ValueRef;
use rusqlite::{named_params, params, Connection, OptionalExtension, Row};
use serde_json::Value;

use super::error::{Result, StoreError};
use super::model::{
    check_mission_id, check_name, check_text, format_timestamp, json_text, now_timestamp, Decision,
    Mission, MissionStatus, NewToolCall, Page, Phase, PlaybookRun, ToolCall,
};
use super::open::{connect, migrate, open_database, OpenOptions};
use super::writer::{exec_cached, WriteStats, Writer};

/// Where `open_default` puts the database, relative to the working directory.
pub const DEFAULT_DB_PATH: &str = ".vibe/state/vibe_agency.db";

/// Most idle read connections kept for reuse.
const MAX_IDLE_READERS: usize = 16;

/// The mission store. Cheap to clone and safe to share between threads: all
/// clones use the same connections.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    options: OpenOptions,
    writer: Writer,
    readers: Mutex<Vec<Connection>>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.inner.path)
            .field("durability", &self.inner.options.durability)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens the database at `path`, creating its directory, the file and the
    /// schema if they do not exist, and applying missing migrations.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(path, OpenOptions::default())
    }

    /// Opens `.vibe/state/vibe_agency.db` under the working directory.
    pub fn open_default() -> Result<Self> {
        Self::open(DEFAULT_DB_PATH)
    }

    /// Opens with explicit options (durability, busy timeout, migrations).
    pub fn open_with(path: impl AsRef<Path>, options: OpenOptions) -> Result<Self> {
        let path = path.as_ref().to_owned();
        let conn = open_database(&path, &options)?;
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                path,
                options,
                writer: Writer::new(conn),
                readers: Mutex::new(Vec::new()),
            }),
        })
    }

    /// The database file's path.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The options the store was opened with.
    pub fn options(&self) -> &OpenOptions {
        &self.inner.options
    }

    /// Creates the schema or applies missing migrations; returns the schema
    /// version. Idempotent: `open` already did this, so it normally changes
    /// nothing.
    pub fn init_db(&self) -> Result<u32> {
        self.inner
            .writer
            .with_connection(|conn| migrate(conn, &self.inner.options))
    }

    /// The settings in force on the write connection and on a read
    /// connection, in that order: what every connection of this store runs
    /// with.
    pub fn connection_settings(&self) -> Result<[ConnectionSettings; 2]> {
        let writer = self
            .inner
            .writer
            .with_connection(ConnectionSettings::read)?;
        let reader = self.read(ConnectionSettings::read)?;
        Ok([writer, reader])
    }

    /// The plan SQLite chose for every statement that finds rows by a
    /// condition, as `EXPLAIN QUERY PLAN` reports it: (statement, plan lines).
    pub fn query_plans(&self) -> Result<Vec<(String, Vec<String>)>> {
        self.read(|conn| {
            LOOKUPS
                .iter()
                .map(|sql| {
                    let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
                    let mut rows = stmt.raw_query();
                    let mut plan = Vec::new();
                    while let Some(row) = rows.next()? {
                        plan.push(row.get::<_, String>(3)?);
                    }
                    Ok((sql.to_string(), plan))
                })
                .collect()
        })
    }

    /// Writes committed so far by this store, and the transactions that
    /// held them: under concurrent writers, fewer transactions than writes
    /// is group commit at work.
    pub fn write_stats(&self) -> WriteStats {
        self.inner.writer.stats()
    }

    /// The schema version recorded in the file.
    pub fn schema_version(&self) -> Result<u32> {
        self.read(|conn| Ok(conn.pragma_query_value(None, "user_version", |row| row.get(0))?))
    }

    // ---- missions ----------------------------------------------------------

    /// Creates a mission in `pending` status and returns its UUID.
    pub fn create_mission(&self, phase: Phase, metadata: &Value) -> Result<String> {
        let metadata = json_text("metadata", metadata)?;
        let uuid = uuid::Uuid::new_v4().to_string();
        let id = uuid.clone();
        self.write(move |conn| {
            let created_at = now_timestamp();
            conn.prepare_cached(
                "INSERT INTO missions (mission_uuid, phase, status, created_at, metadata)
                 VALUES (?1, ?2, 'pending', ?3, ?4)",
            )?
            .execute(params![id, phase.as_str(), created_at, metadata])?;
            Ok(())
        })?;
        Ok(uuid)
    }

    /// Sets a mission's status. Moving to `completed` or `failed` stamps
    /// `completed_at`; moving back to an open status clears it.
    pub fn update_mission_status(&self, mission: &str, status: MissionStatus) -> Result<()> {
        check_mission_id(mission)?;
        let mission = mission.to_owned();
        let completed_at = status.is_terminal().then(now_timestamp);
        self.write(move |conn| {
            let changed = conn
                .prepare_cached(SQL_UPDATE_MISSION_STATUS)?
                .execute(params![mission, status.as_str(), completed_at])?;
            if changed == 0 {
                return Err(StoreError::MissionNotFound(mission));
            }
            Ok(())
        })
    }

    /// One mission by its UUID.
    pub fn get_mission(&self, mission: &str) -> Result<Mission> {
        check_mission_id(mission)?;
        self.read(|conn| {
            conn.prepare_cached(SQL_MISSION_BY_UUID)?
                .query_row([mission], mission_from_row)
                .optional()?
                .ok_or_else(|| StoreError::MissionNotFound(mission.to_owned()))
        })
    }

    /// The `limit` most recent missions, newest first.
    pub fn get_mission_history(&self, limit: u32) -> Result<Vec<Mission>> {
        Page::first(limit).validate()?;
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(SQL_MISSION_HISTORY)?;
            let rows = stmt.query_map([limit], mission_from_row)?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    // ---- tool calls --------------------------------------------------------

    /// Logs one tool call; returns its row id.
    pub fn log_tool_call(&self, mission: &str, call: &NewToolCall) -> Result<i64> {
        let row = ToolCallRow::new(mission, call)?;
        let mission = mission.to_owned();
        self.write(move |conn| {
            let mission_id = mission_row_id(conn, &mission)?;
            row.insert(conn, mission_id)
        })
    }

    /// Logs many tool calls of one mission in one transaction: all or none.
    pub fn log_tool_calls(&self, mission: &str, calls: &[NewToolCall]) -> Result<Vec<i64>> {
        let rows = calls
            .iter()
            .map(|call| ToolCallRow::new(mission, call))
            .collect::<Result<Vec<_>>>()?;
        let mission = mission.to_owned();
        self.write(move |conn| {
            let mission_id = mission_row_id(conn, &mission)?;
            rows.iter()
                .map(|row| row.insert(conn, mission_id))
                .collect()
        })
    }

    /// Every tool call of a mission, oldest first (ties by id).
    pub fn get_tool_history(&self, mission: &str) -> Result<Vec<ToolCall>> {
        self.tool_calls(mission, Page::all(), Order::Time)
    }

    /// One page of a mission's tool calls: ids above `page.after_id`, in id
    /// (commit) order, at most `page.limit` (up to [`super::MAX_PAGE_ROWS`]).
    pub fn get_tool_history_page(&self, mission: &str, page: Page) -> Result<Vec<ToolCall>> {
        page.validate()?;
        self.tool_calls(mission, page, Order::Id)
    }

    fn tool_calls(&self, mission: &str, page: Page, order: Order) -> Result<Vec<ToolCall>> {
        let sql = match order {
            Order::Time => SQL_TOOL_CALLS_BY_TIME,
            Order::Id => SQL_TOOL_CALLS_BY_ID,
        };
        self.history(mission, page, sql, |row| {
            Ok(ToolCall {
                id: row.get(0)?,
                mission_id: row.get(1)?,
                mission_uuid: mission.to_owned(),
                tool_name: row.get(2)?,
                args: json_column(row, 3)?.unwrap_or(Value::Null),
                result: json_column(row, 4)?,
                timestamp: row.get(5)?,
                duration_ms: row.get(6)?,
                success: row.get::<_, i64>(7)? != 0,
                error_message: row.get(8)?,
            })
        })
    }

    /// Runs one of the per-mission history queries: rows of `mission` with an
    /// id above `page.after_id`, at most `page.limit`.
    fn history<T>(
        &self,
        mission: &str,
        page: Page,
        sql: &str,
        row: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>> {
        check_mission_id(mission)?;
        self.read(|conn| {
            let mission_id = mission_row_id(conn, mission)?;
            let mut stmt = conn.prepare_cached(sql)?;
            let rows = stmt.query_map(
                named_params! {
                    ":mission": mission_id,
                    ":after": page.after_id.unwrap_or(i64::MIN),
                    ":limit": i64::from(page.limit),
                },
                row,
            )?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    // ---- decisions ---------------------------------------------------------

    /// Records a decision; returns its row id.
    pub fn record_decision(
        &self,
        mission: &str,
        decision_type: &str,
        rationale: &str,
        agent_name: &str,
        context: Option<&Value>,
    ) -> Result<i64> {
        check_mission_id(mission)?;
        check_name("decision type", decision_type)?;
        check_text("rationale", rationale)?;
        check_name("agent name", agent_name)?;
        let context = context.map(|c| json_text("context", c)).transpose()?;
        let (mission, decision_type, rationale, agent_name) = (
            mission.to_owned(),
            decision_type.to_owned(),
            rationale.to_owned(),
            agent_name.to_owned(),
        );
        self.write(move |conn| {
            let mission_id = mission_row_id(conn, &mission)?;
            let timestamp = now_timestamp();
            conn.prepare_cached(
                "INSERT INTO decisions (mission_id, decision_type, rationale, timestamp, agent_name, context)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![mission_id, decision_type, rationale, timestamp, agent_name, context])?;
            Ok(conn.last_insert_rowid())
        })
    }

    /// Every decision of a mission, oldest first (ties by id).
    pub fn get_decisions(&self, mission: &str) -> Result<Vec<Decision>> {
        self.decisions(mission, Page::all(), Order::Time)
    }

    /// One page of a mission's decisions: ids above `page.after_id`, in id
    /// (commit) order, at most `page.limit`.
    pub fn get_decisions_page(&self, mission: &str, page: Page) -> Result<Vec<Decision>> {
        page.validate()?;
        self.decisions(mission, page, Order::Id)
    }

    fn decisions(&self, mission: &str, page: Page, order: Order) -> Result<Vec<Decision>> {
        let sql = match order {
            Order::Time => SQL_DECISIONS_BY_TIME,
            Order::Id => SQL_DECISIONS_BY_ID,
        };
        self.history(mission, page, sql, |row| {
            Ok(Decision {
                id: row.get(0)?,
                mission_id: row.get(1)?,
                mission_uuid: mission.to_owned(),
                decision_type: row.get(2)?,
                rationale: row.get(3)?,
                timestamp: row.get(4)?,
                agent_name: row.get(5)?,
                context: json_column(row, 6)?,
            })
        })
    }

    // ---- agent memory ------------------------------------------------------

    /// Stores `value` under `key` for a mission, replacing any earlier value.
    /// With a `ttl_seconds`, the entry expires that many seconds from now.
    pub fn set_memory(
        &self,
        mission: &str,
        key: &str,
        value: &Value,
        ttl_seconds: Option<u32>,
    ) -> Result<()> {
        check_mission_id(mission)?;
        check_name("memory key", key)?;
        let value = json_text("memory value", value)?;
        let now = chrono::Utc::now();
        let timestamp = format_timestamp(now);
        let expires_at = ttl_seconds
            .map(|ttl| format_timestamp(now + chrono::Duration::seconds(i64::from(ttl))));
        let (mission, key) = (mission.to_owned(), key.to_owned());
        self.write(move |conn| {
            let mission_id = mission_row_id(conn, &mission)?;
            conn.prepare_cached(
                "INSERT INTO agent_memory (mission_id, key, value, timestamp, ttl, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (mission_id, key) DO UPDATE SET
                     value = excluded.value, timestamp = excluded.timestamp,
                     ttl = excluded.ttl, expires_at = excluded.expires_at",
            )?
            .execute(params![
                mission_id,
                key,
                value,
                timestamp,
                ttl_seconds,
                expires_at
            ])?;
            Ok(())
        })
    }

    /// The value stored under `key`, or `None` if there is none or it has
    /// expired.
    pub fn get_memory(&self, mission: &str, key: &str) -> Result<Option<Value>> {
        check_mission_id(mission)?;
        check_name("memory key", key)?;
        let now = now_timestamp();
        self.read(|conn| {
            let mission_id = mission_row_id(conn, mission)?;
            conn.prepare_cached(SQL_MEMORY_GET)?
                .query_row(params![mission_id, key, now], |row| json_column(row, 0))
                .optional()
                .map(|found| found.map(|v| v.unwrap_or(Value::Null)))
                .map_err(StoreError::from)
        })
    }

    /// Deletes `key`; true if a live (unexpired) entry was there.
    pub fn delete_memory(&self, mission: &str, key: &str) -> Result<bool> {
        check_mission_id(mission)?;
        check_name("memory key", key)?;
        let (mission, key) = (mission.to_owned(), key.to_owned());
        let now = now_timestamp();
        self.write(move |conn| {
            let mission_id = mission_row_id(conn, &mission)?;
            let live: bool = conn
                .prepare_cached(SQL_MEMORY_LIVE)?
                .query_row(params![mission_id, key, now], |row| row.get(0))?;
            conn.prepare_cached(SQL_MEMORY_DELETE)?
                .execute(params![mission_id, key])?;
            Ok(live)
        })
    }

    // ---- playbook runs -----------------------------------------------------

    /// Records the start of a playbook run; returns its id.
    pub fn start_playbook_run(
        &self,
        mission: &str,
        playbook_name: &str,
        phase: Option<Phase>,
    ) -> Result<i64> {
        check_mission_id(mission)?;
        check_name("playbook name", playbook_name)?;
        let (mission, name) = (mission.to_owned(), playbook_name.to_owned());
        let started_at = now_timestamp();
        self.write(move |conn| {
            let mission_id = mission_row_id(conn, &mission)?;
            conn.prepare_cached(
                "INSERT INTO playbook_runs (mission_id, playbook_name, phase, started_at)
                 VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![
                mission_id,
                name,
                phase.map(Phase::as_str),
                started_at
            ])?;
            Ok(conn.last_insert_rowid())
        })
    }

    /// Records the end of a playbook run. A run completes once.
    pub fn complete_playbook_run(
        &self,
        run_id: i64,
        success: bool,
        metrics: Option<&Value>,
        error_message: Option<&str>,
    ) -> Result<()> {
        let metrics = metrics.map(|m| json_text("metrics", m)).transpose()?;
        if let Some(message) = error_message {
            check_text("error message", message)?;
        }
        let error_message = error_message.map(str::to_owned);
        let completed_at = now_timestamp();
        self.write(move |conn| {
            let changed = conn
                .prepare_cached(SQL_COMPLETE_PLAYBOOK_RUN)?
                .execute(params![
                    run_id,
                    completed_at,
                    success,
                    metrics,
                    error_message
                ])?;
            if changed == 0 {
                return Err(StoreError::invalid(format!(
                    "playbook run {run_id} does not exist or has already completed"
                )));
            }
            Ok(())
        })
    }

    /// Every playbook run of a mission, oldest first.
    pub fn get_playbook_runs(&self, mission: &str) -> Result<Vec<PlaybookRun>> {
        check_mission_id(mission)?;
        self.read(|conn| {
            let mission_id = mission_row_id(conn, mission)?;
            let mut stmt = conn.prepare_cached(SQL_PLAYBOOK_RUNS)?;
            let rows = stmt.query_map([mission_id], |row| {
                Ok(PlaybookRun {
                    id: row.get(0)?,
                    mission_id: row.get(1)?,
                    playbook_name: row.get(2)?,
                    phase: row.get(3)?,
                    started_at: row.get(4)?,
                    completed_at: row.get(5)?,
                    success: row.get::<_, Option<i64>>(6)?.map(|s| s != 0),
                    metrics: json_column(row, 7)?,
                    error_message: row.get(8)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    // ---- plumbing ----------------------------------------------------------

    fn write<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        self.inner.writer.write(work)
    }

    /// Runs `f` on a pooled read connection inside one read transaction, so
    /// a multi-statement read sees one snapshot.
    fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let pooled = self
            .inner
            .readers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let conn = match pooled {
            Some(conn) => conn,
            None => {
                let conn = connect(&self.inner.path, &self.inner.options)?;
                // Checked every 1,000 virtual-machine steps: a few microseconds.
                conn.progress_handler(1000, Some(super::deadline::expired));
                conn
            }
        };
        let outcome = (|| {
            exec_cached(&conn, "BEGIN")?;
            let outcome = f(&conn);
            exec_cached(&conn, "COMMIT")?;
            outcome
        })();
        if !conn.is_autocommit() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        let mut idle = self
            .inner
            .readers
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if idle.len() < MAX_IDLE_READERS {
            idle.push(conn);
        }
        outcome
    }
}

/// The pragmas a connection runs with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionSettings {
    pub journal_mode: String,
    /// 2 = FULL, 1 = NORMAL.
    pub synchronous: i64,
    pub foreign_keys: bool,
    pub busy_timeout_ms: i64,
}

impl ConnectionSettings {
    fn read(conn: &Connection) -> Result<Self> {
        let pragma = |name: &str| {
            conn.pragma_query_value(None, name, |row| row.get::<_, rusqlite::types::Value>(0))
        };
        let int = |name: &str| -> Result<i64> {
            match pragma(name)? {
                rusqlite::types::Value::Integer(i) => Ok(i),
                other => Err(StoreError::Internal(format!(
                    "pragma {name} returned {other:?}"
                ))),
            }
        };
        Ok(ConnectionSettings {
            journal_mode: conn.pragma_query_value(None, "journal_mode", |row| row.get(0))?,
            synchronous: int("synchronous")?,
            foreign_keys: int("foreign_keys")? == 1,
            busy_timeout_ms: int("busy_timeout")?,
        })
    }
}

// ---- queries -----------------------------------------------------------------
//
// Every statement that looks rows up, in one place, so a test can check each
// plan with EXPLAIN QUERY PLAN (see `SqliteStore::query_plans`).

macro_rules! mission_select {
    () => {
        "SELECT id, mission_uuid, phase, status, created_at, completed_at, metadata FROM missions"
    };
}
macro_rules! tool_calls_select {
    () => {
        "SELECT id, mission_id, tool_name, args, result, timestamp, duration_ms, success, error_message
         FROM tool_calls WHERE mission_id = :mission AND id > :after "
    };
}
macro_rules! decisions_select {
    () => {
        "SELECT id, mission_id, decision_type, rationale, timestamp, agent_name, context
         FROM decisions WHERE mission_id = :mission AND id > :after "
    };
}

const SQL_MISSION_BY_UUID: &str = concat!(mission_select!(), " WHERE mission_uuid = ?1");
const SQL_MISSION_HISTORY: &str = concat!(mission_select!(), " ORDER BY id DESC LIMIT ?1");
const SQL_MISSION_ROW_ID: &str = "SELECT id FROM missions WHERE mission_uuid = ?1";
const SQL_UPDATE_MISSION_STATUS: &str =
    "UPDATE missions SET status = ?2, completed_at = ?3 WHERE mission_uuid = ?1";
const SQL_TOOL_CALLS_BY_TIME: &str =
    concat!(tool_calls_select!(), "ORDER BY timestamp, id LIMIT :limit");
const SQL_TOOL_CALLS_BY_ID: &str = concat!(tool_calls_select!(), "ORDER BY id LIMIT :limit");
const SQL_DECISIONS_BY_TIME: &str =
    concat!(decisions_select!(), "ORDER BY timestamp, id LIMIT :limit");
const SQL_DECISIONS_BY_ID: &str = concat!(decisions_select!(), "ORDER BY id LIMIT :limit");
const SQL_MEMORY_GET: &str = "SELECT value FROM agent_memory
     WHERE mission_id = ?1 AND key = ?2 AND (expires_at IS NULL OR expires_at > ?3)";
const SQL_MEMORY_LIVE: &str = "SELECT EXISTS (SELECT 1 FROM agent_memory
     WHERE mission_id = ?1 AND key = ?2 AND (expires_at IS NULL OR expires_at > ?3))";
const SQL_MEMORY_DELETE: &str = "DELETE FROM agent_memory WHERE mission_id = ?1 AND key = ?2";
const SQL_COMPLETE_PLAYBOOK_RUN: &str = "UPDATE playbook_runs
     SET completed_at = ?2, success = ?3, metrics = ?4, error_message = ?5
     WHERE id = ?1 AND completed_at IS NULL";
const SQL_PLAYBOOK_RUNS: &str =
    "SELECT id, mission_id, playbook_name, phase, started_at, completed_at,
            success, metrics, error_message
     FROM playbook_runs WHERE mission_id = ?1 ORDER BY started_at, id";

/// Every statement that finds rows by a condition.
const LOOKUPS: &[&str] = &[
    SQL_MISSION_BY_UUID,
    SQL_MISSION_HISTORY,
    SQL_MISSION_ROW_ID,
    SQL_UPDATE_MISSION_STATUS,
    SQL_TOOL_CALLS_BY_TIME,
    SQL_TOOL_CALLS_BY_ID,
    SQL_DECISIONS_BY_TIME,
    SQL_DECISIONS_BY_ID,
    SQL_MEMORY_GET,
    SQL_MEMORY_LIVE,
    SQL_MEMORY_DELETE,
    SQL_COMPLETE_PLAYBOOK_RUN,
    SQL_PLAYBOOK_RUNS,
];

/// How history is ordered. Whole histories read oldest first by timestamp
/// (ties by id), which also orders rows other programs wrote; pages follow
/// ids, so `after_id` paging never skips or repeats a row. vibe-store stamps
/// rows while holding the write lock, so for its own rows both orders agree.
#[derive(Clone, Copy)]
enum Order {
    Time,
    Id,
}

fn mission_from_row(row: &Row<'_>) -> rusqlite::Result<Mission> {
    Ok(Mission {
        id: row.get(0)?,
        mission_uuid: row.get(1)?,
        phase: parse_column(row, 2)?,
        status: parse_column(row, 3)?,
        created_at: row.get(4)?,
        completed_at: row.get(5)?,
        metadata: json_column(row, 6)?.unwrap_or(Value::Null),
    })
}

fn parse_column<T: std::str::FromStr<Err = StoreError>>(
    row: &Row<'_>,
    idx: usize,
) -> rusqlite::Result<T> {
    let text: String = row.get(idx)?;
    text.parse().map_err(|e: StoreError| {
        rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Text, Box::new(e))
    })
}

/// Reads a JSON column leniently: text is parsed as JSON, and numbers that
/// another program stored with numeric affinity come back as JSON numbers.
fn json_column(row: &Row<'_>, idx: usize) -> rusqlite::Result<Option<Value>> {
    let bad = |e: Box<dyn std::error::Error + Send + Sync>| {
        rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Text, e)
    };
    Ok(match row.get_ref(idx)? {
        ValueRef::Null => None,
        ValueRef::Integer(i) => Some(Value::from(i)),
        ValueRef::Real(f) => Some(Value::from(f)),
        ValueRef::Text(bytes) => Some(serde_json::from_slice(bytes).map_err(|e| bad(Box::new(e)))?),
        ValueRef::Blob(bytes) => Some(serde_json::from_slice(bytes).map_err(|e| bad(Box::new(e)))?),
    })
}

fn mission_row_id(conn: &Connection, mission: &str) -> Result<i64> {
    conn.prepare_cached(SQL_MISSION_ROW_ID)?
        .query_row([mission], |row| row.get(0))
        .optional()?
        .ok_or_else(|| StoreError::MissionNotFound(mission.to_owned()))
}

/// A validated tool call, serialised and ready to insert.
struct ToolCallRow {
    tool_name: String,
    args: String,
    result: Option<String>,
    duration_ms: Option<i64>,
    success: bool,
    error_message: Option<String>,
}

impl ToolCallRow {
    fn new(mission: &str, call: &NewToolCall) -> Result<Self> {
        check_mission_id(mission)?;
        let (args, result) = call.to_json_texts()?;
        Ok(ToolCallRow {
            tool_name: call.tool_name.clone(),
            args,
            result,
            duration_ms: call.duration_ms,
            success: call.success,
            error_message: call.error_message.clone(),
        })
    }

    fn insert(&self, conn: &Connection, mission_id: i64) -> Result<i64> {
        conn.prepare_cached(
            "INSERT INTO tool_calls (mission_id, tool_name, args, result, timestamp, duration_ms,
                                     success, error_message)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?
        .execute(params![
            mission_id,
            self.tool_name,
            self.args,
            self.result,
            now_timestamp(),
            self.duration_ms,
            self.success,
            self.error_message,
        ])?;
        Ok(conn.last_insert_rowid())
    }
}
