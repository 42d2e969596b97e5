//! [`SqliteStore`]: the mission store on one SQLite file.
//!
//! Every statement is parameterised and prepared once per connection. Writes
//! go through the group-committing [`Writer`]; reads use a small pool of
//! connections of their own, so readers never wait on a writer's fsync (WAL).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::types::ValueRef;
use rusqlite::{named_params, params, Connection, OptionalExtension, Row};

use chrono::Utc;

use super::backend::MissionStore;
use super::busy::with_wait;
use super::chain::{self, ChainReport, ChainTable, OrphanChain};
use super::deadline;
use super::error::{Result, StoreError};
use super::ids::{format_timestamp, DecisionId, MissionId, ToolCallId};
use super::json::Json;
use super::model::{
    check_name, check_text, now_timestamp, Decision, DecisionFilter, InvocationEnd,
    InvocationStart, MemoryEntry, Mission, MissionFilter, MissionStatus, NewToolCall, Origin,
    Outcome, Page, Phase, PlaybookRun, PruneFilter, PrunedMission, ToolCall, ToolCallFilter,
    ToolStats,
};
use super::open::{connect, migrate, open_database, OpenOptions};
use super::rows::{self, decisions_from, mission_select, name_list, time_window, tool_calls_from};
use super::sql::{Lite, SqlStore};
use super::transfer::{self, ExportFilter};
use super::writer::{exec_cached, WriteStats, Writer};
use crate::sync::lock;

/// Where `open_default` puts the database, relative to the working directory.
pub const DEFAULT_DB_PATH: &str = ".vibe/state/vibe_agency.db";

/// Most idle read connections kept for reuse.
const MAX_IDLE_READERS: usize = 16;

/// The mission store on one SQLite file. Its operations are those of
/// [`MissionStore`]. Cheap to clone and safe to share between threads: all
/// clones use the same connections.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
    /// Who this handle's writes are recorded as coming from.
    origin: Origin,
}

struct Inner {
    path: PathBuf,
    options: OpenOptions,
    writer: Writer,
    readers: Mutex<Vec<Connection>>,
    /// One connection kept for `data_version`, whose value is per
    /// connection.
    watcher: Mutex<Option<Connection>>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.inner.path)
            .field("durability", &self.inner.options.durability)
            .field("origin", &self.origin)
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
                watcher: Mutex::new(None),
            }),
            origin: Origin::Host,
        })
    }

    /// Who this handle's writes are recorded as coming from.
    pub fn origin(&self) -> Origin {
        self.origin
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
        let timeout =
            i64::try_from(self.inner.options.busy_timeout.as_millis()).unwrap_or(i64::MAX);
        let with_timeout = |settings: ConnectionSettings| ConnectionSettings {
            busy_timeout_ms: timeout,
            ..settings
        };
        let writer = self
            .inner
            .writer
            .with_connection(ConnectionSettings::read)?;
        let reader = self.read(ConnectionSettings::read)?;
        Ok([with_timeout(writer), with_timeout(reader)])
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

    /// Copies the database to `dest` (a new file) while writers keep
    /// writing: SQLite's online backup, from one read snapshot, so the copy
    /// is consistent as of one moment. The copy is checked with `PRAGMA
    /// integrity_check` before it is moved into place; returns its size in
    /// bytes. Nothing is left at `dest` if anything fails.
    pub fn backup_to(&self, dest: &Path) -> Result<u64> {
        if dest.exists() {
            return Err(StoreError::invalid(format!(
                "{} exists; back up to a new file",
                dest.display()
            )));
        }
        let dir = match dest.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
            _ => PathBuf::from("."),
        };
        let name = dest
            .file_name()
            .ok_or_else(|| StoreError::invalid(format!("{} is not a file path", dest.display())))?;
        let temp = dir.join(format!(
            ".{}.backup-{}",
            name.to_string_lossy(),
            uuid::Uuid::new_v4().simple()
        ));
        let copied = self.read(|src| {
            let mut out = Connection::open_with_flags(
                &temp,
                rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE
                    | rusqlite::OpenFlags::SQLITE_OPEN_CREATE
                    | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )
            .map_err(|e| StoreError::io(&temp, std::io::Error::other(e)))?;
            {
                // One step of every page: one snapshot of the source.
                let backup = rusqlite::backup::Backup::new(src, &mut out)?;
                backup.step(-1)?;
            }
            let check: String = out.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
            if check != "ok" {
                return Err(StoreError::Internal(format!(
                    "the backup failed its integrity check: {check}"
                )));
            }
            out.close().map_err(|(_, e)| StoreError::from(e))?;
            Ok(())
        });
        let moved = copied.and_then(|()| {
            std::fs::File::open(&temp)
                .and_then(|f| f.sync_all())
                .and_then(|()| std::fs::hard_link(&temp, dest))
                .map_err(|e| StoreError::io(dest, e))
        });
        let _ = std::fs::remove_file(&temp);
        moved?;
        std::fs::metadata(dest)
            .map(|m| m.len())
            .map_err(|e| StoreError::io(dest, e))
    }

    /// A number that changes whenever a transaction is committed to the
    /// file by any connection but the one asking (this store's writer,
    /// another process): `PRAGMA data_version`. Polling it is how a reader
    /// follows the trail live without reading rows when nothing changed.
    pub fn data_version(&self) -> Result<i64> {
        let mut watcher = lock(&self.inner.watcher);
        if watcher.is_none() {
            *watcher = Some(connect(&self.inner.path, &self.inner.options)?);
        }
        let conn = watcher.as_ref().expect("set above");
        Ok(conn.pragma_query_value(None, "data_version", |row| row.get(0))?)
    }
}

impl MissionStore for SqliteStore {
    // ---- provenance ----------------------------------------------------------

    fn within_invocation(&self, invocation: ToolCallId) -> Arc<dyn MissionStore> {
        Arc::new(SqliteStore {
            inner: self.inner.clone(),
            origin: Origin::Invocation(invocation),
        })
    }

    fn begin_invocation(&self, mission: &MissionId, start: &InvocationStart) -> Result<ToolCallId> {
        self.insert_invocation(mission, start, None)
    }

    fn end_invocation(&self, invocation: ToolCallId, end: &InvocationEnd) -> Result<()> {
        end.validate()?;
        let end = end.clone();
        self.write(move |conn| {
            let changed = conn.prepare_cached(SQL_END_INVOCATION)?.execute(params![
                invocation.get(),
                end.result.as_ref().map(Json::as_str),
                end.duration_ms,
                end.outcome == Outcome::Ok,
                end.error_message,
                end.outcome.as_str(),
            ])?;
            if changed == 0 {
                return Err(StoreError::invalid(format!(
                    "invocation {invocation} does not exist or has already ended"
                )));
            }
            let mission_id: i64 = conn
                .prepare_cached("SELECT mission_id FROM tool_calls WHERE id = ?1")?
                .query_row([invocation.get()], |r| r.get(0))?;
            chain::append(
                &mut Lite(conn),
                mission_id,
                ChainTable::ToolCalls,
                invocation.get(),
            )
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

    // ---- missions ------------------------------------------------------------

    fn create_mission(&self, phase: Phase, metadata: Json) -> Result<MissionId> {
        metadata.check_limits("metadata")?;
        let id = MissionId::new_v4();
        let uuid = id.clone();
        let invocation = self.origin.invocation_id();
        self.write(move |conn| {
            conn.prepare_cached(
                "INSERT INTO missions (mission_uuid, phase, status, created_at, metadata, invocation_id)
                 VALUES (?1, ?2, 'pending', ?3, ?4, ?5)",
            )?
            .execute(params![
                uuid.as_str(),
                phase.as_str(),
                now_timestamp(),
                metadata.as_str(),
                invocation
            ])?;
            let row = conn.last_insert_rowid();
            chain::append(&mut Lite(conn), row, ChainTable::Missions, row)
        })?;
        Ok(id)
    }

    fn update_mission_status(&self, mission: &MissionId, status: MissionStatus) -> Result<()> {
        let mission = mission.clone();
        self.write(move |conn| {
            let completed_at = status.is_terminal().then(now_timestamp);
            let row = mission_row_id(conn, &mission)?;
            conn.prepare_cached(SQL_UPDATE_MISSION_STATUS)?
                .execute(params![row, status.as_str(), completed_at])?;
            chain::append(&mut Lite(conn), row, ChainTable::Missions, row)
        })
    }

    fn get_mission(&self, mission: &MissionId) -> Result<Mission> {
        self.read(|conn| {
            conn.prepare_cached(SQL_MISSION_BY_UUID)?
                .query_row([mission.as_str()], mission_from_row)
                .optional()?
                .ok_or_else(|| StoreError::MissionNotFound(mission.to_string()))
        })
    }

    fn find_missions(&self, filter: &MissionFilter) -> Result<Vec<Mission>> {
        Page::first(filter.limit).validate()?;
        let (since, until) = time_window(filter.since, filter.until);
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(SQL_FIND_MISSIONS)?;
            let rows = stmt.query_map(
                named_params! {
                    ":status": filter.status.map(MissionStatus::as_str),
                    ":phase": filter.phase.map(Phase::as_str),
                    ":since": since,
                    ":until": until,
                    ":search": filter.search,
                    ":before": filter.before_id,
                    ":limit": filter.limit,
                },
                mission_from_row,
            )?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    // ---- tool calls ----------------------------------------------------------

    fn log_tool_call(&self, mission: &MissionId, call: NewToolCall) -> Result<ToolCallId> {
        call.validate()?;
        let (mission, origin) = (mission.clone(), self.origin);
        self.write(move |conn| {
            let mission_id = mission_row_id(conn, &mission)?;
            insert_tool_call(conn, mission_id, &call, origin)
        })
    }

    fn log_tool_calls(
        &self,
        mission: &MissionId,
        calls: Vec<NewToolCall>,
    ) -> Result<Vec<ToolCallId>> {
        for call in &calls {
            call.validate()?;
        }
        let (mission, origin) = (mission.clone(), self.origin);
        self.write(move |conn| {
            let mission_id = mission_row_id(conn, &mission)?;
            calls
                .iter()
                .map(|call| insert_tool_call(conn, mission_id, call, origin))
                .collect()
        })
    }

    fn get_tool_call(&self, id: ToolCallId) -> Result<ToolCall> {
        self.read(|conn| {
            conn.prepare_cached(SQL_TOOL_CALL_BY_ID)?
                .query_row([id.get()], tool_call_from_row)
                .optional()?
                .ok_or_else(|| StoreError::NotFound(format!("tool call {id}")))
        })
    }

    fn tool_stats(&self, mission: Option<&MissionId>) -> Result<Vec<ToolStats>> {
        self.read(|conn| {
            let mission_id = mission.map(|m| mission_row_id(conn, m)).transpose()?;
            let mut stmt = conn.prepare_cached(SQL_TOOL_STATS)?;
            let rows = stmt.query_map([mission_id], |row| read_row(row, rows::tool_stats))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    fn get_tool_history_page(&self, mission: &MissionId, page: Page) -> Result<Vec<ToolCall>> {
        page.validate()?;
        self.page(
            mission,
            page,
            SQL_TOOL_CALLS_BY_ID,
            tool_call_from_row,
            |c| c.text_bytes(),
        )
    }

    fn find_tool_calls(
        &self,
        filter: &ToolCallFilter,
        f: &mut dyn FnMut(ToolCall) -> Result<()>,
    ) -> Result<()> {
        let tools = name_list(&filter.tools);
        let (since, until) = time_window(filter.since, filter.until);
        let limit = filter.limit.map_or(i64::MAX, i64::from);
        let after = filter.after_id.unwrap_or(i64::MIN);
        self.find(
            filter.mission.as_ref(),
            (SQL_FIND_TOOL_CALLS_IN_MISSION, SQL_FIND_TOOL_CALLS),
            &[
                (":after", &after),
                (":tools", &tools),
                (":success", &filter.success),
                (":since", &since),
                (":until", &until),
                (":limit", &limit),
            ],
            tool_call_from_row,
            f,
        )
    }

    // ---- decisions -----------------------------------------------------------

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
        let (mission, decision_type, rationale, agent_name) = (
            mission.clone(),
            decision_type.to_owned(),
            rationale.to_owned(),
            agent_name.to_owned(),
        );
        let invocation = self.origin.invocation_id();
        self.write(move |conn| {
            let mission_id = mission_row_id(conn, &mission)?;
            conn.prepare_cached(
                "INSERT INTO decisions (mission_id, decision_type, rationale, timestamp, agent_name,
                                        context, invocation_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                mission_id,
                decision_type,
                rationale,
                now_timestamp(),
                agent_name,
                context.as_ref().map(Json::as_str),
                invocation
            ])?;
            let id = conn.last_insert_rowid();
            chain::append(&mut Lite(conn), mission_id, ChainTable::Decisions, id)?;
            Ok(DecisionId::from(id))
        })
    }

    fn get_decisions_page(&self, mission: &MissionId, page: Page) -> Result<Vec<Decision>> {
        page.validate()?;
        self.page(mission, page, SQL_DECISIONS_BY_ID, decision_from_row, |d| {
            d.text_bytes()
        })
    }

    fn find_decisions(
        &self,
        filter: &DecisionFilter,
        f: &mut dyn FnMut(Decision) -> Result<()>,
    ) -> Result<()> {
        let (types, agents) = (name_list(&filter.types), name_list(&filter.agents));
        let (since, until) = time_window(filter.since, filter.until);
        let limit = filter.limit.map_or(i64::MAX, i64::from);
        let after = filter.after_id.unwrap_or(i64::MIN);
        self.find(
            filter.mission.as_ref(),
            (SQL_FIND_DECISIONS_IN_MISSION, SQL_FIND_DECISIONS),
            &[
                (":after", &after),
                (":types", &types),
                (":agents", &agents),
                (":since", &since),
                (":until", &until),
                (":limit", &limit),
            ],
            decision_from_row,
            f,
        )
    }

    // ---- agent memory --------------------------------------------------------

    fn set_memory(
        &self,
        mission: &MissionId,
        key: &str,
        value: Json,
        ttl_seconds: Option<u32>,
    ) -> Result<()> {
        check_name("memory key", key)?;
        value.check_limits("memory value")?;
        let (mission, key) = (mission.clone(), key.to_owned());
        let invocation = self.origin.invocation_id();
        self.write(move |conn| {
            let mission_id = mission_row_id(conn, &mission)?;
            let now = Utc::now();
            let expires_at = ttl_seconds
                .map(|ttl| format_timestamp(now + chrono::Duration::seconds(i64::from(ttl))));
            conn.prepare_cached(
                "INSERT INTO agent_memory (mission_id, key, value, timestamp, ttl, expires_at,
                                           invocation_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (mission_id, key) DO UPDATE SET
                     value = excluded.value, timestamp = excluded.timestamp,
                     ttl = excluded.ttl, expires_at = excluded.expires_at,
                     invocation_id = excluded.invocation_id
                 RETURNING id",
            )?
            .query_row(
                params![
                    mission_id,
                    key,
                    value.as_str(),
                    format_timestamp(now),
                    ttl_seconds,
                    expires_at,
                    invocation
                ],
                |r| r.get::<_, i64>(0),
            )
            .map_err(StoreError::from)
            .and_then(|id| chain::append(&mut Lite(conn), mission_id, ChainTable::Memory, id))
        })
    }

    fn get_memory(&self, mission: &MissionId, key: &str) -> Result<Option<Json>> {
        check_name("memory key", key)?;
        let now = now_timestamp();
        self.read(|conn| {
            let mission_id = mission_row_id(conn, mission)?;
            conn.prepare_cached(SQL_MEMORY_GET)?
                .query_row(params![mission_id, key, now], |row| json_column(row, 0))
                .optional()
                .map(|found| found.map(|v| v.unwrap_or_else(|| Json::stored("null"))))
                .map_err(StoreError::from)
        })
    }

    fn delete_memory(&self, mission: &MissionId, key: &str) -> Result<bool> {
        check_name("memory key", key)?;
        let (mission, key) = (mission.clone(), key.to_owned());
        self.write(move |conn| {
            let mission_id = mission_row_id(conn, &mission)?;
            let now = now_timestamp();
            let live: bool = conn
                .prepare_cached(SQL_MEMORY_LIVE)?
                .query_row(params![mission_id, key, now], |row| row.get(0))?;
            let deleted: Option<Option<i64>> = conn
                .prepare_cached(SQL_MEMORY_DELETE)?
                .query_row(params![mission_id, key], |row| row.get(0))
                .optional()?;
            if let Some(Some(row_seq)) = deleted {
                chain::append_deletion(&mut Lite(conn), mission_id, ChainTable::Memory, row_seq)?;
            }
            Ok(live)
        })
    }

    fn list_memory(&self, mission: &MissionId) -> Result<Vec<MemoryEntry>> {
        let now = now_timestamp();
        self.read(|conn| {
            let mission_id = mission_row_id(conn, mission)?;
            let mut stmt = conn.prepare_cached(SQL_MEMORY_LIST)?;
            let rows = stmt.query_map(params![mission_id, now], |row| {
                read_row(row, rows::memory_entry)
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    // ---- keeping ---------------------------------------------------------------

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
        let candidates: Vec<PrunedMission> = self.read(|conn| {
            let mut stmt = conn.prepare_cached(SQL_PRUNE_CANDIDATES)?;
            let rows = stmt.query_map(params![before, statuses], |row| {
                read_row(row, rows::pruned_mission)
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })?;
        for mission in &candidates {
            if !dry_run {
                while !self.prune_step(&mission.mission_uuid)? {}
            }
            report(mission);
        }
        Ok(candidates.len() as u64)
    }

    // ---- playbook runs -------------------------------------------------------

    fn start_playbook_run(
        &self,
        mission: &MissionId,
        playbook_name: &str,
        phase: Option<Phase>,
    ) -> Result<i64> {
        check_name("playbook name", playbook_name)?;
        let (mission, name) = (mission.clone(), playbook_name.to_owned());
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
                now_timestamp()
            ])?;
            let id = conn.last_insert_rowid();
            chain::append(&mut Lite(conn), mission_id, ChainTable::PlaybookRuns, id)?;
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
        let error_message = error_message.map(str::to_owned);
        self.write(move |conn| {
            let changed = conn
                .prepare_cached(SQL_COMPLETE_PLAYBOOK_RUN)?
                .execute(params![
                    run_id,
                    now_timestamp(),
                    success,
                    metrics.as_ref().map(Json::as_str),
                    error_message
                ])?;
            if changed == 0 {
                return Err(StoreError::invalid(format!(
                    "playbook run {run_id} does not exist or has already completed"
                )));
            }
            let mission_id: i64 = conn
                .prepare_cached("SELECT mission_id FROM playbook_runs WHERE id = ?1")?
                .query_row([run_id], |r| r.get(0))?;
            chain::append(
                &mut Lite(conn),
                mission_id,
                ChainTable::PlaybookRuns,
                run_id,
            )
        })
    }

    fn get_playbook_runs(&self, mission: &MissionId) -> Result<Vec<PlaybookRun>> {
        self.read(|conn| {
            let mission_id = mission_row_id(conn, mission)?;
            let mut stmt = conn.prepare_cached(SQL_PLAYBOOK_RUNS)?;
            let rows = stmt.query_map([mission_id], |row| read_row(row, rows::playbook_run))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }
}

/// How long one prune batch may hold the write lock, about.
pub const PRUNE_BATCH: std::time::Duration = std::time::Duration::from_millis(100);

impl SqliteStore {
    /// One batch of deleting `mission`: its rows a chunk at a time until
    /// [`PRUNE_BATCH`] has passed, then the mission itself once it has none.
    /// True when the mission is gone.
    fn prune_step(&self, mission: &MissionId) -> Result<bool> {
        let mission = mission.clone();
        self.write(move |conn| {
            let started = std::time::Instant::now();
            let mission_id = match mission_row_id(conn, &mission) {
                Ok(id) => id,
                Err(StoreError::MissionNotFound(_)) => return Ok(true),
                Err(e) => return Err(e),
            };
            for sql in SQL_PRUNE_CHILDREN {
                while conn.prepare_cached(sql)?.execute([mission_id])? > 0 {
                    if started.elapsed() >= PRUNE_BATCH {
                        return Ok(false);
                    }
                }
            }
            conn.prepare_cached("DELETE FROM missions WHERE id = ?1")?
                .execute([mission_id])?;
            Ok(true)
        })
    }

    /// Recomputes `mission`'s hash chain and checks its rows against it
    /// (`vibe verify`): what was edited, deleted, inserted out of chain, and
    /// how many rows carry no hash at all.
    pub fn verify_chain(&self, mission: &MissionId) -> Result<ChainReport> {
        chain::verify_mission(self, mission)
    }

    /// [`verify_chain`](Self::verify_chain) for every mission, oldest
    /// first, one at a time.
    pub fn verify_chains(&self, f: &mut dyn FnMut(ChainReport) -> Result<()>) -> Result<()> {
        chain::verify_every_mission(self, f)
    }

    /// Chains whose mission row is gone: missions deleted behind
    /// vibe-store's back (`prune` deletes a mission's chain with it).
    pub fn orphan_chains(&self) -> Result<Vec<OrphanChain>> {
        self.read(|conn| chain::orphans(&mut Lite(conn)))
    }

    /// The hash of entry `seq` (from 1) of `mission`'s chain, if it has one:
    /// compared with a chain head kept elsewhere, it proves the chain up to
    /// that entry is the one that head was taken from.
    pub fn chain_entry(&self, mission: &MissionId, seq: i64) -> Result<Option<String>> {
        chain::mission_entry(self, mission, seq)
    }

    /// Calls `f` with each mission `filter` selects, oldest first, as one
    /// line of JSON (no newline) and the rows it holds, one mission in
    /// memory at a time.
    pub fn export_jsonl(
        &self,
        filter: &ExportFilter,
        f: &mut dyn FnMut(&MissionId, String, u64) -> Result<()>,
    ) -> Result<()> {
        transfer::export_jsonl(self, filter, f)
    }

    /// Calls `f` with each mission `filter` selects, oldest first, as one
    /// OTLP/JSON `ExportTraceServiceRequest` (no newline), one mission in
    /// memory at a time. Also returns the rows each line held, for progress.
    pub fn export_otlp(
        &self,
        filter: &ExportFilter,
        f: &mut dyn FnMut(&MissionId, String, u64) -> Result<()>,
    ) -> Result<()> {
        super::otlp::export_otlp(self, filter, f)
    }

    /// The rows an export holds: what `filter` selects, counted in one
    /// read (for progress and ETA).
    pub fn export_size(&self, filter: &ExportFilter) -> Result<u64> {
        transfer::export_size(self, filter)
    }

    /// Imports one exported line: the mission and its rows in one
    /// transaction, keeping uuids, timestamps and JSON text byte for byte.
    /// A mission already present is left alone (importing twice changes
    /// nothing): returns its id and whether it was imported.
    pub fn import_jsonl(&self, line: &str) -> Result<(MissionId, bool)> {
        transfer::import_jsonl(self, line)
    }

    /// Rebuilds the file to return the space deleted rows left free (`VACUUM`;
    /// holds the write lock for as long as it takes). Returns the file's
    /// size before and after, in bytes.
    pub fn vacuum(&self) -> Result<(u64, u64)> {
        let size = || {
            std::fs::metadata(&self.inner.path)
                .map(|m| m.len())
                .map_err(|e| StoreError::io(&self.inner.path, e))
        };
        let before = size()?;
        self.inner
            .writer
            .with_connection(|conn| conn.execute_batch("VACUUM"))?;
        Ok((before, size()?))
    }

    fn insert_invocation(
        &self,
        mission: &MissionId,
        start: &InvocationStart,
        end: Option<&InvocationEnd>,
    ) -> Result<ToolCallId> {
        start.validate()?;
        let (mission, start, end) = (mission.clone(), start.clone(), end.cloned());
        self.write(move |conn| {
            let mission_id = mission_row_id(conn, &mission)?;
            let (outcome, result, duration_ms, error_message) = match &end {
                Some(end) => (
                    end.outcome,
                    end.result.as_ref().map(Json::as_str),
                    end.duration_ms,
                    end.error_message.as_deref(),
                ),
                None => (Outcome::Running, None, None, Some(RUNNING_MESSAGE)),
            };
            let component = start.component.as_ref();
            conn.prepare_cached(
                "INSERT INTO tool_calls (mission_id, tool_name, args, result, timestamp,
                                         duration_ms, success, error_message,
                                         component_sha256, component_size, outcome, caller)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            )?
            .execute(params![
                mission_id,
                start.tool_name,
                start.input.as_str(),
                result,
                now_timestamp(),
                duration_ms,
                outcome == Outcome::Ok,
                error_message,
                component.map(|c| c.sha256.as_str()),
                component.map(|c| i64::try_from(c.size).unwrap_or(i64::MAX)),
                outcome.as_str(),
                start.caller.as_ref().map(Json::as_str),
            ])?;
            let id = conn.last_insert_rowid();
            chain::append(&mut Lite(conn), mission_id, ChainTable::ToolCalls, id)?;
            Ok(ToolCallId::from(id))
        })
    }

    /// Runs one of the per-mission history queries for one page: rows of
    /// `mission` with an id above `page.after_id`, at most `page.limit` of
    /// them and `page.max_bytes` of text, checking this thread's deadline
    /// between rows as well as inside SQLite.
    fn page<T>(
        &self,
        mission: &MissionId,
        page: Page,
        sql: &str,
        mut row: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
        bytes: impl Fn(&T) -> usize,
    ) -> Result<Vec<T>> {
        self.read(|conn| {
            let mission_id = mission_row_id(conn, mission)?;
            let mut stmt = conn.prepare_cached(sql)?;
            let mut rows = stmt.query(named_params! {
                ":mission": mission_id,
                ":after": page.after_id.unwrap_or(i64::MIN),
                ":limit": i64::from(page.limit),
            })?;
            let (mut out, mut used) = (Vec::new(), 0usize);
            while let Some(r) = rows.next()? {
                if deadline::expired() {
                    return Err(StoreError::Interrupted);
                }
                let item = row(r)?;
                let size = bytes(&item);
                if used + size > page.max_bytes {
                    if out.is_empty() {
                        return Err(StoreError::LimitExceeded(format!(
                            "row {} alone is {size} bytes, over this page's budget of {} bytes",
                            r.get::<_, i64>(0)?,
                            page.max_bytes
                        )));
                    }
                    break;
                }
                used += size;
                out.push(item);
            }
            Ok(out)
        })
    }

    /// Streams the rows of a filtered query to `f`: in one mission if
    /// `mission` is given, else across all; `params` binds the filters.
    fn find<T>(
        &self,
        mission: Option<&MissionId>,
        sql: (&str, &str),
        params: &[(&str, &dyn rusqlite::ToSql)],
        mut row: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
        f: &mut dyn FnMut(T) -> Result<()>,
    ) -> Result<()> {
        self.read(|conn| {
            let mission_id = mission.map(|m| mission_row_id(conn, m)).transpose()?;
            let (in_mission, across) = sql;
            let mut stmt = conn.prepare_cached(if mission.is_some() {
                in_mission
            } else {
                across
            })?;
            let mut bound: Vec<(&str, &dyn rusqlite::ToSql)> = params.to_vec();
            if let Some(id) = &mission_id {
                bound.push((":mission", id));
            }
            let mut rows = stmt.query(bound.as_slice())?;
            while let Some(r) = rows.next()? {
                if deadline::expired() {
                    return Err(StoreError::Interrupted);
                }
                f(row(r)?)?;
            }
            Ok(())
        })
    }

    // ---- plumbing ------------------------------------------------------------

    pub(super) fn write<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let options = &self.inner.options;
        if options.read_only {
            return Err(StoreError::ReadOnly {
                path: self.inner.path.clone(),
                reason: "the store was opened read-only".into(),
            });
        }
        self.waiting(|| self.inner.writer.write(work))
    }

    /// Runs `f` with lock waits bounded by the store's busy timeout and
    /// announced through its notice; a wait that ran out says how long it
    /// lasted.
    fn waiting<T>(&self, f: impl FnOnce() -> Result<T>) -> Result<T> {
        let options = &self.inner.options;
        with_wait(
            &self.inner.path,
            options.busy_timeout,
            options.lock_wait_notice,
            f,
        )
        .map_err(|e| match e {
            StoreError::Busy { .. } => StoreError::Busy {
                waited: options.busy_timeout,
            },
            other => other,
        })
    }

    /// Runs `f` on a pooled read connection inside one read transaction, so
    /// a multi-statement read sees one snapshot.
    pub(super) fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        self.waiting(|| self.read_waiting(f))
    }

    fn read_waiting<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let pooled = lock(&self.inner.readers).pop();
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
        let mut idle = lock(&self.inner.readers);
        if idle.len() < MAX_IDLE_READERS {
            idle.push(conn);
        }
        outcome
    }
}

impl SqlStore for SqliteStore {
    fn read_sql<T>(&self, mut f: impl FnMut(&mut dyn super::sql::Sql) -> Result<T>) -> Result<T> {
        self.read(|conn| f(&mut Lite(conn)))
    }

    fn write_sql<T: Send + 'static>(
        &self,
        mut f: impl FnMut(&mut dyn super::sql::Sql) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        self.write(move |conn| f(&mut Lite(conn)))
    }
}

/// The pragmas a connection runs with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionSettings {
    /// `PRAGMA journal_mode` (`wal`).
    pub journal_mode: String,
    /// 2 = FULL, 1 = NORMAL.
    pub synchronous: i64,
    /// `PRAGMA foreign_keys`.
    pub foreign_keys: bool,
    /// How long a statement waits for another process's lock, in
    /// milliseconds: the store's busy timeout, which its lock-wait handler
    /// enforces (SQLite's own `PRAGMA busy_timeout` is replaced by it).
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
            busy_timeout_ms: 0,
        })
    }
}

// ---- queries -----------------------------------------------------------------
//
// Every statement that looks rows up, in one place, so a test can check each
// plan with EXPLAIN QUERY PLAN (see `SqliteStore::query_plans`).
//
// Whole histories read oldest first by timestamp (ties by id), which also
// orders rows other programs wrote; pages follow ids, so `after_id` paging
// never skips or repeats a row. vibe-store stamps rows while holding the
// write lock, so for its own rows both orders agree.

macro_rules! tool_calls_select {
    () => {
        concat!(
            tool_calls_from!(),
            "WHERE t.mission_id = :mission AND t.id > :after "
        )
    };
}
/// The optional filters of `find_tool_calls`: each is off when its
/// parameter is NULL.
macro_rules! tool_calls_filter {
    () => {
        "AND t.id > :after
         AND (:tools IS NULL OR t.tool_name IN (SELECT value FROM json_each(:tools)))
         AND (:success IS NULL OR t.success = :success)
         AND t.timestamp >= :since AND t.timestamp < :until
         ORDER BY t.timestamp, t.id LIMIT :limit"
    };
}
macro_rules! decisions_select {
    () => {
        concat!(
            decisions_from!(),
            "WHERE d.mission_id = :mission AND d.id > :after "
        )
    };
}
/// The optional filters of `find_decisions`.
macro_rules! decisions_filter {
    () => {
        "AND d.id > :after
         AND (:types IS NULL OR d.decision_type IN (SELECT value FROM json_each(:types)))
         AND (:agents IS NULL OR d.agent_name IN (SELECT value FROM json_each(:agents)))
         AND d.timestamp >= :since AND d.timestamp < :until
         ORDER BY d.timestamp, d.id LIMIT :limit"
    };
}

const SQL_MISSION_BY_UUID: &str = concat!(mission_select!(), " WHERE mission_uuid = ?1");
const SQL_FIND_MISSIONS: &str = concat!(
    mission_select!(),
    " WHERE (:status IS NULL OR status = :status)
        AND (:phase IS NULL OR phase = :phase)
        AND created_at >= :since AND created_at < :until
        AND (:search IS NULL OR instr(metadata, :search) > 0)
        AND (:before IS NULL
             OR (created_at, id) < (SELECT created_at, id FROM missions WHERE id = :before))
      ORDER BY created_at DESC, id DESC LIMIT :limit"
);
const SQL_MISSION_ROW_ID: &str = "SELECT id FROM missions WHERE mission_uuid = ?1";
const SQL_UPDATE_MISSION_STATUS: &str =
    "UPDATE missions SET status = ?2, completed_at = ?3 WHERE id = ?1";
const SQL_FIND_TOOL_CALLS_IN_MISSION: &str = concat!(
    tool_calls_from!(),
    "WHERE t.mission_id = :mission ",
    tool_calls_filter!()
);
const SQL_FIND_TOOL_CALLS: &str = concat!(tool_calls_from!(), "WHERE 1 ", tool_calls_filter!());
const SQL_TOOL_CALLS_BY_ID: &str = concat!(tool_calls_select!(), "ORDER BY t.id LIMIT :limit");
const SQL_FIND_DECISIONS_IN_MISSION: &str = concat!(
    decisions_from!(),
    "WHERE d.mission_id = :mission ",
    decisions_filter!()
);
const SQL_FIND_DECISIONS: &str = concat!(decisions_from!(), "WHERE 1 ", decisions_filter!());
const SQL_DECISIONS_BY_ID: &str = concat!(decisions_select!(), "ORDER BY d.id LIMIT :limit");
const SQL_END_INVOCATION: &str = "UPDATE tool_calls
     SET result = ?2, duration_ms = ?3, success = ?4, error_message = ?5, outcome = ?6
     WHERE id = ?1 AND outcome = 'running'";
const SQL_MEMORY_GET: &str = "SELECT value FROM agent_memory
     WHERE mission_id = ?1 AND key = ?2 AND (expires_at IS NULL OR expires_at > ?3)";
const SQL_MEMORY_LIVE: &str = "SELECT EXISTS (SELECT 1 FROM agent_memory
     WHERE mission_id = ?1 AND key = ?2 AND (expires_at IS NULL OR expires_at > ?3))";
const SQL_MEMORY_LIST: &str = "SELECT key, value, timestamp, expires_at, invocation_id
     FROM agent_memory
     WHERE mission_id = ?1 AND (expires_at IS NULL OR expires_at > ?2) ORDER BY key";
const SQL_TOOL_CALL_BY_ID: &str = concat!(tool_calls_from!(), "WHERE t.id = ?1");
/// Per tool: counts, first and last call, and nearest-rank percentiles of
/// the durations recorded (rank = ceil(p * n)).
const SQL_TOOL_STATS: &str = "
    WITH calls AS (
        SELECT tool_name, success, duration_ms, timestamp FROM tool_calls
        WHERE ?1 IS NULL OR mission_id = ?1
    ),
    ranked AS (
        SELECT tool_name, duration_ms,
               ROW_NUMBER() OVER (PARTITION BY tool_name ORDER BY duration_ms) AS rank,
               COUNT(*) OVER (PARTITION BY tool_name) AS n
        FROM calls WHERE duration_ms IS NOT NULL
    )
    SELECT c.tool_name, COUNT(*), SUM(c.success = 0), MIN(c.timestamp), MAX(c.timestamp),
           (SELECT duration_ms FROM ranked r
            WHERE r.tool_name = c.tool_name AND r.rank = (r.n * 50 + 99) / 100),
           (SELECT duration_ms FROM ranked r
            WHERE r.tool_name = c.tool_name AND r.rank = (r.n * 95 + 99) / 100),
           MAX(c.duration_ms)
    FROM calls c GROUP BY c.tool_name ORDER BY COUNT(*) DESC, c.tool_name";
const SQL_PRUNE_CANDIDATES: &str = "
    SELECT m.mission_uuid, m.created_at, m.status,
           (SELECT COUNT(*) FROM tool_calls WHERE mission_id = m.id),
           (SELECT COUNT(*) FROM decisions WHERE mission_id = m.id),
           (SELECT COUNT(*) FROM agent_memory WHERE mission_id = m.id),
           (SELECT COUNT(*) FROM playbook_runs WHERE mission_id = m.id)
    FROM missions m
    WHERE m.created_at < ?1 AND m.status IN (SELECT value FROM json_each(?2))
    ORDER BY m.created_at, m.id";
/// A chunk of one mission's rows, table by table, newest first.
const SQL_PRUNE_CHILDREN: [&str; 5] = [
    "DELETE FROM tool_calls WHERE id IN
         (SELECT id FROM tool_calls WHERE mission_id = ?1 ORDER BY id DESC LIMIT 2000)",
    "DELETE FROM decisions WHERE id IN
         (SELECT id FROM decisions WHERE mission_id = ?1 ORDER BY id DESC LIMIT 2000)",
    "DELETE FROM agent_memory WHERE id IN
         (SELECT id FROM agent_memory WHERE mission_id = ?1 LIMIT 2000)",
    "DELETE FROM playbook_runs WHERE id IN
         (SELECT id FROM playbook_runs WHERE mission_id = ?1 LIMIT 2000)",
    "DELETE FROM row_chain WHERE mission_id = ?1 AND seq IN
         (SELECT seq FROM row_chain WHERE mission_id = ?1 ORDER BY seq DESC LIMIT 2000)",
];
const SQL_MEMORY_DELETE: &str =
    "DELETE FROM agent_memory WHERE mission_id = ?1 AND key = ?2 RETURNING chain_seq";
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
    SQL_FIND_MISSIONS,
    SQL_MEMORY_LIST,
    SQL_TOOL_CALL_BY_ID,
    SQL_MISSION_ROW_ID,
    SQL_UPDATE_MISSION_STATUS,
    SQL_FIND_TOOL_CALLS_IN_MISSION,
    SQL_FIND_TOOL_CALLS,
    SQL_TOOL_CALLS_BY_ID,
    SQL_FIND_DECISIONS_IN_MISSION,
    SQL_FIND_DECISIONS,
    SQL_DECISIONS_BY_ID,
    SQL_MEMORY_GET,
    SQL_MEMORY_LIVE,
    SQL_MEMORY_DELETE,
    SQL_COMPLETE_PLAYBOOK_RUN,
    SQL_PLAYBOOK_RUNS,
    SQL_END_INVOCATION,
    chain::SQL_HEAD,
];

/// What an invocation row says until the invocation ends.
pub(super) const RUNNING_MESSAGE: &str =
    "not ended: the tool is still running, or the host stopped before it finished";

/// A row's values, as the shared readers of `rows.rs` take them.
fn values(row: &Row<'_>) -> rusqlite::Result<Vec<super::sql::Value>> {
    (0..row.as_ref().column_count())
        .map(|i| row.get_ref(i).map(super::sql::Value::from))
        .collect()
}

/// Reads a row with one of `rows.rs`'s readers.
fn read_row<T>(row: &Row<'_>, read: fn(&[super::sql::Value]) -> Result<T>) -> rusqlite::Result<T> {
    read(&values(row)?).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

fn mission_from_row(row: &Row<'_>) -> rusqlite::Result<Mission> {
    read_row(row, rows::mission)
}

fn tool_call_from_row(row: &Row<'_>) -> rusqlite::Result<ToolCall> {
    read_row(row, rows::tool_call)
}

fn decision_from_row(row: &Row<'_>) -> rusqlite::Result<Decision> {
    read_row(row, rows::decision)
}

/// Reads a JSON column as the text stored, never parsing it: numbers that
/// another program stored with numeric affinity come back as their JSON
/// text, and text that is not JSON comes back as it is.
pub(super) fn json_column(row: &Row<'_>, idx: usize) -> rusqlite::Result<Option<Json>> {
    Ok(match row.get_ref(idx)? {
        ValueRef::Null => None,
        ValueRef::Integer(i) => Some(Json::stored(i.to_string())),
        ValueRef::Real(f) => Some(Json::stored(
            serde_json::Number::from_f64(f).map_or_else(|| f.to_string(), |n| n.to_string()),
        )),
        ValueRef::Text(bytes) | ValueRef::Blob(bytes) => {
            Some(Json::stored(String::from_utf8_lossy(bytes)))
        }
    })
}

pub(super) fn mission_row_id(conn: &Connection, mission: &MissionId) -> Result<i64> {
    conn.prepare_cached(SQL_MISSION_ROW_ID)?
        .query_row([mission.as_str()], |row| row.get(0))
        .optional()?
        .ok_or_else(|| StoreError::MissionNotFound(mission.to_string()))
}

/// Inserts a validated tool call, stamped now (under the write lock).
fn insert_tool_call(
    conn: &Connection,
    mission_id: i64,
    call: &NewToolCall,
    origin: Origin,
) -> Result<ToolCallId> {
    conn.prepare_cached(
        "INSERT INTO tool_calls (mission_id, tool_name, args, result, timestamp, duration_ms,
                                 success, error_message, invocation_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        mission_id,
        call.tool_name,
        call.args.as_str(),
        call.result.as_ref().map(Json::as_str),
        now_timestamp(),
        call.duration_ms,
        call.success,
        call.error_message,
        origin.invocation_id(),
    ])?;
    let id = conn.last_insert_rowid();
    chain::append(&mut Lite(conn), mission_id, ChainTable::ToolCalls, id)?;
    Ok(ToolCallId::from(id))
}
