//! [`AnyStore`]: either backend, chosen by where it lives: a file path is
//! SQLite, a `postgres://` URL is PostgreSQL.

use std::path::Path;
use std::sync::Arc;

use super::backend::Backend;
use super::chain::{self, ChainReport, OrphanChain};
use super::error::{Result, StoreError};
use super::ids::{DecisionId, MissionId, PlaybookRunId, ToolCallId};
use super::json::Json;
use super::mission_store::MissionStore;
use super::model::{
    Decision, DecisionFilter, InvocationEnd, InvocationStart, MemoryEntry, Mission, MissionFilter,
    MissionStatus, NewDecision, NewToolCall, Page, Phase, PlaybookRun, PruneFilter, PruneSummary,
    PrunedMission, Skipped, ToolCall, ToolCallFilter, ToolStats,
};
use super::options::OpenOptions;
use super::otlp;
#[cfg(feature = "postgres")]
use super::postgres::{is_postgres_url, PostgresStore};
use super::sqlite::SqliteStore;
use super::transfer::{self, exported_chain_head, ExportFilter, ImportScope};

/// The mission store on either backend. An embedder that takes its
/// database from configuration holds this; code that only records and reads
/// takes `&dyn MissionStore` or `Arc<dyn MissionStore>`, which both
/// backends are.
///
/// ```
/// use vibe_store::{MissionStore, Phase, AnyStore};
///
/// # let dir = tempfile::tempdir()?;
/// # let path = dir.path().join("vibe_agency.db");
/// # let location = path.to_str().unwrap();
/// // A path, or postgres://user@host:port/db
/// let store = AnyStore::open(location)?;
/// let mission = store.create_mission(Phase::Planning, serde_json::json!({}).into())?;
/// assert_eq!(store.get_mission(&mission)?.mission_uuid, mission);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum AnyStore {
    /// One SQLite file.
    Sqlite(SqliteStore),
    /// A PostgreSQL database.
    #[cfg(feature = "postgres")]
    Postgres(PostgresStore),
}

/// Calls the same method on whichever store this is.
macro_rules! each {
    ($self:expr, $s:ident => $call:expr) => {
        match $self {
            AnyStore::Sqlite($s) => $call,
            #[cfg(feature = "postgres")]
            AnyStore::Postgres($s) => $call,
        }
    };
}

impl AnyStore {
    /// Opens the store at `location`: a `postgres://` (or `postgresql://`)
    /// URL, or a SQLite file's path.
    pub fn open(location: &str) -> Result<Self> {
        Self::open_with(location, OpenOptions::default())
    }

    /// Opens with explicit options.
    pub fn open_with(location: &str, options: OpenOptions) -> Result<Self> {
        #[cfg(feature = "postgres")]
        if is_postgres_url(location) {
            return PostgresStore::open_with(location, options).map(AnyStore::Postgres);
        }
        #[cfg(not(feature = "postgres"))]
        if location.starts_with("postgres://") || location.starts_with("postgresql://") {
            return Err(StoreError::invalid(
                "this build has no PostgreSQL backend (the `postgres` feature)",
            ));
        }
        SqliteStore::open_with(Path::new(location), options).map(AnyStore::Sqlite)
    }

    /// Where the store lives: the file's path, or the server as
    /// `postgres://user@host:port/db` (never a password).
    pub fn location(&self) -> String {
        match self {
            AnyStore::Sqlite(s) => s.path().display().to_string(),
            #[cfg(feature = "postgres")]
            AnyStore::Postgres(p) => p.server().to_owned(),
        }
    }

    /// The backend's name: `sqlite` or `postgres`.
    pub fn backend(&self) -> &'static str {
        match self {
            AnyStore::Sqlite(_) => "sqlite",
            #[cfg(feature = "postgres")]
            AnyStore::Postgres(_) => "postgres",
        }
    }

    /// The SQLite store, when this is one (backup, vacuum and the other
    /// operations only a file has).
    pub fn as_sqlite(&self) -> Option<&SqliteStore> {
        match self {
            AnyStore::Sqlite(s) => Some(s),
            #[cfg(feature = "postgres")]
            AnyStore::Postgres(_) => None,
        }
    }

    /// The SQLite store, or an error saying `what` needs one.
    pub fn sqlite_only(&self, what: &str) -> Result<&SqliteStore> {
        self.as_sqlite().ok_or_else(|| {
            StoreError::invalid(format!(
                "{what} works on a SQLite file; {} is PostgreSQL (use the server's own tools, \
                 such as pg_dump)",
                self.location()
            ))
        })
    }

    /// Creates the schema or applies missing migrations; the schema version.
    pub fn init_db(&self) -> Result<u32> {
        each!(self, s => s.init_db())
    }

    /// The schema version recorded.
    pub fn schema_version(&self) -> Result<u32> {
        each!(self, s => s.schema_version())
    }

    /// A number that changes when rows are written (for following the
    /// trail live).
    pub fn data_version(&self) -> Result<i64> {
        each!(self, s => s.data_version())
    }

    /// Recomputes `mission`'s hash chain and checks its rows against it.
    pub fn verify_chain(&self, mission: &MissionId) -> Result<ChainReport> {
        each!(self, s => chain::verify_mission(s, mission))
    }

    /// [`verify_chain`](Self::verify_chain) for every mission.
    pub fn verify_chains(&self, f: &mut dyn FnMut(ChainReport) -> Result<()>) -> Result<()> {
        each!(self, s => chain::verify_every_mission(s, f))
    }

    /// Chains whose mission row is gone.
    pub fn orphan_chains(&self) -> Result<Vec<OrphanChain>> {
        each!(self, s => s.read_sql(chain::orphans))
    }

    /// The hash of entry `seq` of `mission`'s chain, if it has one.
    pub fn chain_entry(&self, mission: &MissionId, seq: i64) -> Result<Option<String>> {
        each!(self, s => chain::mission_entry(s, mission, seq))
    }

    /// Calls `f` with each mission `filter` selects, oldest first, as one
    /// line of JSON (no newline) and the rows it holds. A mission whose rows
    /// cannot be read is gone past: returns those, named, with why.
    ///
    /// # Errors
    ///
    /// The database's, and the first error `f` returns; missions already
    /// handed to `f` stay handed.
    pub fn export_jsonl(
        &self,
        filter: &ExportFilter,
        f: &mut dyn FnMut(&MissionId, String, u64) -> Result<()>,
    ) -> Result<Vec<Skipped>> {
        each!(self, s => transfer::export_jsonl(s, filter, f))
    }

    /// Each mission `filter` selects as one OTLP/JSON request, as
    /// [`export_jsonl`](Self::export_jsonl) hands them on.
    ///
    /// # Errors
    ///
    /// As [`export_jsonl`](Self::export_jsonl).
    pub fn export_otlp(
        &self,
        filter: &ExportFilter,
        f: &mut dyn FnMut(&MissionId, String, u64) -> Result<()>,
    ) -> Result<Vec<Skipped>> {
        each!(self, s => otlp::export_otlp(s, filter, f))
    }

    /// The rows an export holds.
    pub fn export_size(&self, filter: &ExportFilter) -> Result<u64> {
        each!(self, s => transfer::export_size(s, filter))
    }

    /// Imports one exported line on its own; the mission and whether it
    /// was new here. A line whose mission a tool created (`created_by`) is
    /// refused: use [`import_jsonl_in`](Self::import_jsonl_in) with the
    /// lines before it.
    pub fn import_jsonl(&self, line: &str) -> Result<(MissionId, bool)> {
        self.import_jsonl_in(line, &mut ImportScope::default())
    }

    /// Imports one line of a file whose earlier lines `scope` holds (and
    /// adds this one): every row passes the rules a live write passes, and
    /// a line that breaks one writes nothing (see `docs/guarantees.md`,
    /// "Files other people hand you").
    pub fn import_jsonl_in(
        &self,
        line: &str,
        scope: &mut ImportScope,
    ) -> Result<(MissionId, bool)> {
        each!(self, s => transfer::import_jsonl(s, line, scope))
    }
}

/// What [`AnyStore::copy_to`] did with one mission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Copied {
    /// It was not at the destination; it is now, with all its rows.
    New,
    /// The destination already held it with the same trail (an earlier
    /// copy): nothing was written.
    AlreadyThere,
}

impl AnyStore {
    /// Copies every mission to `dest`, oldest first, each with all its rows
    /// and its hash chain in one transaction there, keeping uuids,
    /// timestamps and JSON text byte for byte; calls `f` with each mission,
    /// what happened to it and the rows it holds.
    ///
    /// Idempotent and resumable: a mission `dest` already holds with the
    /// same trail is left alone, so a copy that was interrupted is finished
    /// by running it again. A mission that cannot be copied (`dest` holds
    /// it with a different trail, since copying never merges two trails;
    /// `dest` refuses one of its rows; its rows cannot be read) is gone
    /// past, nothing of it written: returns those, named, with why.
    ///
    /// # Errors
    ///
    /// Either database's errors that are not about one mission (see
    /// [`StoreError::concerns_one_item`]), and the first error `f` returns.
    /// Missions copied before stay copied.
    pub fn copy_to(
        &self,
        dest: &AnyStore,
        f: &mut dyn FnMut(&MissionId, Copied, u64) -> Result<()>,
    ) -> Result<Vec<Skipped>> {
        let mut refused = Vec::new();
        let mut scope = ImportScope::default();
        let mut unread = self.export_jsonl(
            &ExportFilter::default(),
            &mut |mission, line, rows| match copy_one(self, dest, mission, &line, &mut scope) {
                Ok(copied) => f(mission, copied, rows),
                Err(e) if e.concerns_one_item() => {
                    refused.push(Skipped::mission(mission.as_str(), e.to_string()));
                    Ok(())
                }
                Err(e) => Err(e),
            },
        )?;
        unread.extend(refused);
        Ok(unread)
    }
}

/// Copies one exported mission to `dest`, or finds it there already.
fn copy_one(
    source: &AnyStore,
    dest: &AnyStore,
    mission: &MissionId,
    line: &str,
    scope: &mut ImportScope,
) -> Result<Copied> {
    let (_, new) = dest.import_jsonl_in(line, scope)?;
    if new {
        return Ok(Copied::New);
    }
    let (_, head) = exported_chain_head(line)?;
    let there = if head.length == 0 {
        None
    } else {
        dest.chain_entry(mission, head.length)?
    };
    if there != head.hash {
        return Err(StoreError::invalid(format!(
            "it is at both {} and {} with different trails (the destination's chain does not \
             hold this one's {} entries); copy never merges trails",
            source.location(),
            dest.location(),
            head.length
        )));
    }
    Ok(Copied::AlreadyThere)
}

impl MissionStore for AnyStore {
    fn within_invocation(&self, invocation: ToolCallId) -> Arc<dyn MissionStore> {
        each!(self, s => s.within_invocation(invocation))
    }

    fn begin_invocation(&self, mission: &MissionId, start: &InvocationStart) -> Result<ToolCallId> {
        each!(self, s => s.begin_invocation(mission, start))
    }

    fn end_invocation(&self, invocation: ToolCallId, end: &InvocationEnd) -> Result<()> {
        each!(self, s => s.end_invocation(invocation, end))
    }

    fn record_invocation(
        &self,
        mission: &MissionId,
        start: &InvocationStart,
        end: &InvocationEnd,
    ) -> Result<ToolCallId> {
        each!(self, s => s.record_invocation(mission, start, end))
    }

    fn create_mission(&self, phase: Phase, metadata: Json) -> Result<MissionId> {
        each!(self, s => s.create_mission(phase, metadata))
    }

    fn update_mission_status(&self, mission: &MissionId, status: MissionStatus) -> Result<()> {
        each!(self, s => s.update_mission_status(mission, status))
    }

    fn get_mission(&self, mission: &MissionId) -> Result<Mission> {
        each!(self, s => s.get_mission(mission))
    }

    fn find_missions(&self, filter: &MissionFilter) -> Result<Vec<Mission>> {
        each!(self, s => s.find_missions(filter))
    }

    fn log_tool_call(&self, mission: &MissionId, call: NewToolCall) -> Result<ToolCallId> {
        each!(self, s => s.log_tool_call(mission, call))
    }

    fn log_tool_calls(
        &self,
        mission: &MissionId,
        calls: Vec<NewToolCall>,
    ) -> Result<Vec<ToolCallId>> {
        each!(self, s => s.log_tool_calls(mission, calls))
    }

    fn get_tool_history_page(&self, mission: &MissionId, page: Page) -> Result<Vec<ToolCall>> {
        each!(self, s => s.get_tool_history_page(mission, page))
    }

    fn find_tool_calls(
        &self,
        filter: &ToolCallFilter,
        f: &mut dyn FnMut(ToolCall) -> Result<()>,
    ) -> Result<()> {
        each!(self, s => s.find_tool_calls(filter, f))
    }

    fn get_tool_call(&self, id: ToolCallId) -> Result<ToolCall> {
        each!(self, s => s.get_tool_call(id))
    }

    fn tool_stats(&self, mission: Option<&MissionId>) -> Result<Vec<ToolStats>> {
        each!(self, s => s.tool_stats(mission))
    }

    fn record_decision(&self, mission: &MissionId, decision: NewDecision) -> Result<DecisionId> {
        each!(self, s => s.record_decision(mission, decision))
    }

    fn get_decisions_page(&self, mission: &MissionId, page: Page) -> Result<Vec<Decision>> {
        each!(self, s => s.get_decisions_page(mission, page))
    }

    fn find_decisions(
        &self,
        filter: &DecisionFilter,
        f: &mut dyn FnMut(Decision) -> Result<()>,
    ) -> Result<()> {
        each!(self, s => s.find_decisions(filter, f))
    }

    fn set_memory(
        &self,
        mission: &MissionId,
        key: &str,
        value: Json,
        ttl_seconds: Option<u32>,
    ) -> Result<()> {
        each!(self, s => s.set_memory(mission, key, value, ttl_seconds))
    }

    fn get_memory(&self, mission: &MissionId, key: &str) -> Result<Option<Json>> {
        each!(self, s => s.get_memory(mission, key))
    }

    fn delete_memory(&self, mission: &MissionId, key: &str) -> Result<bool> {
        each!(self, s => s.delete_memory(mission, key))
    }

    fn list_memory(&self, mission: &MissionId) -> Result<Vec<MemoryEntry>> {
        each!(self, s => s.list_memory(mission))
    }

    fn prune(
        &self,
        filter: &PruneFilter,
        dry_run: bool,
        report: &mut dyn FnMut(&PrunedMission),
    ) -> Result<PruneSummary> {
        each!(self, s => s.prune(filter, dry_run, report))
    }

    fn start_playbook_run(
        &self,
        mission: &MissionId,
        playbook_name: &str,
        phase: Option<Phase>,
    ) -> Result<PlaybookRunId> {
        each!(self, s => s.start_playbook_run(mission, playbook_name, phase))
    }

    fn complete_playbook_run(
        &self,
        run: PlaybookRunId,
        success: bool,
        metrics: Option<Json>,
        error_message: Option<&str>,
    ) -> Result<()> {
        each!(self, s => s.complete_playbook_run(run, success, metrics, error_message))
    }

    fn get_playbook_runs(&self, mission: &MissionId) -> Result<Vec<PlaybookRun>> {
        each!(self, s => s.get_playbook_runs(mission))
    }
}

impl From<SqliteStore> for AnyStore {
    fn from(store: SqliteStore) -> Self {
        AnyStore::Sqlite(store)
    }
}

#[cfg(feature = "postgres")]
impl From<PostgresStore> for AnyStore {
    fn from(store: PostgresStore) -> Self {
        AnyStore::Postgres(store)
    }
}
