//! [`MissionStore`]: the store's operations, as a trait.
//!
//! This is the store's API: both backends implement it (once, in
//! `operations.rs`), the sandbox holds an `Arc<dyn MissionStore>` and
//! nothing else of the store, and an embedder can write code that works
//! with any backend. Input is validated by the rules in `model.rs` and
//! `json.rs`, once.
//!
//! Values cross by value (`Json`, `NewToolCall`): callers build them for one
//! call, so nothing is copied on the way to the database.

use std::sync::Arc;

use super::error::Result;
use super::ids::{DecisionId, MissionId, PlaybookRunId, ToolCallId};
use super::json::Json;
use super::model::{
    Decision, DecisionFilter, InvocationEnd, InvocationStart, MemoryEntry, Mission, MissionFilter,
    MissionStatus, NewDecision, NewToolCall, Page, Phase, PlaybookRun, PruneFilter, PruneSummary,
    PrunedMission, ToolCall, ToolCallFilter, ToolStats,
};

/// The mission store: missions, their audit trail (tool calls and
/// decisions), agent memory and playbook runs.
///
/// # Errors
///
/// Every method fails with the error its `# Errors` section names, or with
/// one of these, which any call that reaches the database can return:
/// [`StoreError::Busy`](super::StoreError::Busy) (another writer held a
/// lock past the busy timeout), [`StoreError::Interrupted`](super::StoreError::Interrupted)
/// (this thread's deadline passed, or its call was cancelled),
/// [`StoreError::StorageFull`](super::StoreError::StorageFull),
/// [`StoreError::Database`](super::StoreError::Database) and
/// [`StoreError::Io`](super::StoreError::Io) (SQLite), and
/// [`StoreError::Unavailable`](super::StoreError::Unavailable),
/// [`StoreError::Conflict`](super::StoreError::Conflict) and
/// [`StoreError::Server`](super::StoreError::Server) (PostgreSQL). A write
/// to a store opened read-only fails with
/// [`StoreError::ReadOnly`](super::StoreError::ReadOnly). A failed write
/// wrote nothing.
///
/// ```
/// use serde_json::json;
/// use vibe_store::{MissionStore, NewToolCall, Page, Phase, SqliteStore};
///
/// # let dir = tempfile::tempdir()?;
/// # let path = dir.path().join("vibe_agency.db");
/// let store = SqliteStore::open(&path)?;
/// let mission = store.create_mission(Phase::Planning, json!({ "goal": "ship" }).into())?;
/// let call = NewToolCall {
///     result: Some(json!({ "matches": 3 }).into()),
///     duration_ms: Some(12),
///     ..NewToolCall::success("grep", json!({ "pattern": "fn main" }))
/// };
/// let id = store.log_tool_call(&mission, call)?;
/// let page = store.get_tool_history_page(&mission, Page::first(100))?;
/// assert_eq!(page[0].id, id);
/// assert_eq!(page[0].args.as_str(), r#"{"pattern":"fn main"}"#);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait MissionStore: Send + Sync + 'static {
    // ---- provenance ------------------------------------------------------

    /// A handle on the same store whose writes are recorded as made by the
    /// tool running in `invocation`: every row it writes carries that id.
    ///
    /// # Errors
    ///
    /// None: it only makes a handle.
    fn within_invocation(&self, invocation: ToolCallId) -> Arc<dyn MissionStore>;

    /// Writes an invocation's row (outcome `running`) before the tool runs;
    /// returns its id.
    ///
    /// # Errors
    ///
    /// [`StoreError::MissionNotFound`](super::StoreError::MissionNotFound) when
    /// the mission is not here;
    /// [`StoreError::InvalidInput`](super::StoreError::InvalidInput) or
    /// [`StoreError::LimitExceeded`](super::StoreError::LimitExceeded) when
    /// `start` breaks the rules of [`NewToolCall`](super::NewToolCall).
    fn begin_invocation(&self, mission: &MissionId, start: &InvocationStart) -> Result<ToolCallId>;

    /// Writes how an invocation ended into its row. Each invocation ends
    /// once.
    ///
    /// # Errors
    ///
    /// [`StoreError::InvalidInput`](super::StoreError::InvalidInput) when the
    /// invocation does not exist or has already ended, or `end` breaks the
    /// rules.
    fn end_invocation(&self, invocation: ToolCallId, end: &InvocationEnd) -> Result<()>;

    /// Writes the row of an invocation that began and ended at once (a
    /// component that could not be loaded), in one write.
    ///
    /// # Errors
    ///
    /// As [`begin_invocation`](Self::begin_invocation) and
    /// [`end_invocation`](Self::end_invocation).
    fn record_invocation(
        &self,
        mission: &MissionId,
        start: &InvocationStart,
        end: &InvocationEnd,
    ) -> Result<ToolCallId>;

    // ---- missions --------------------------------------------------------

    /// Creates a mission in `pending` status and returns its id (a UUID v4).
    ///
    /// # Errors
    ///
    /// [`StoreError::LimitExceeded`](super::StoreError::LimitExceeded) when
    /// `metadata` is over the JSON limits.
    fn create_mission(&self, phase: Phase, metadata: Json) -> Result<MissionId>;

    /// Sets a mission's status. Moving to `completed` or `failed` stamps
    /// `completed_at`; moving back to an open status clears it.
    ///
    /// # Errors
    ///
    /// [`StoreError::MissionNotFound`](super::StoreError::MissionNotFound) when
    /// the mission is not here.
    fn update_mission_status(&self, mission: &MissionId, status: MissionStatus) -> Result<()>;

    /// One mission.
    ///
    /// # Errors
    ///
    /// [`StoreError::MissionNotFound`](super::StoreError::MissionNotFound) when
    /// the mission is not here.
    fn get_mission(&self, mission: &MissionId) -> Result<Mission>;

    /// The missions `filter` selects, newest first (by creation time, then
    /// id), at most [`MAX_PAGE_ROWS`](super::MAX_PAGE_ROWS) of them.
    ///
    /// # Errors
    ///
    /// [`StoreError::LimitExceeded`](super::StoreError::LimitExceeded) when
    /// `filter.limit` is 0 or over [`MAX_PAGE_ROWS`](super::MAX_PAGE_ROWS).
    fn find_missions(&self, filter: &MissionFilter) -> Result<Vec<Mission>>;

    /// The `limit` most recent missions (at most
    /// [`MAX_PAGE_ROWS`](super::MAX_PAGE_ROWS)), newest first.
    ///
    /// # Errors
    ///
    /// [`StoreError::LimitExceeded`](super::StoreError::LimitExceeded) when
    /// `limit` is 0 or over [`MAX_PAGE_ROWS`](super::MAX_PAGE_ROWS).
    fn get_mission_history(&self, limit: u32) -> Result<Vec<Mission>> {
        self.find_missions(&MissionFilter::newest(limit))
    }

    // ---- tool calls ------------------------------------------------------

    /// Logs one tool call; returns its id.
    ///
    /// # Errors
    ///
    /// [`StoreError::MissionNotFound`](super::StoreError::MissionNotFound) when
    /// the mission is not here;
    /// [`StoreError::InvalidInput`](super::StoreError::InvalidInput) or
    /// [`StoreError::LimitExceeded`](super::StoreError::LimitExceeded) when
    /// `call` breaks the rules
    /// [`NewToolCall::validate`](super::NewToolCall::validate) checks.
    fn log_tool_call(&self, mission: &MissionId, call: NewToolCall) -> Result<ToolCallId>;

    /// Logs tool calls of one mission in one transaction: all or none.
    ///
    /// # Errors
    ///
    /// As [`log_tool_call`](Self::log_tool_call), for any one call: then none
    /// is logged.
    fn log_tool_calls(
        &self,
        mission: &MissionId,
        calls: Vec<NewToolCall>,
    ) -> Result<Vec<ToolCallId>>;

    /// One page of a mission's tool calls: ids above `page.after_id`, in id
    /// (commit) order, at most `page.limit` rows and `page.max_bytes` of row
    /// text.
    ///
    /// # Errors
    ///
    /// [`StoreError::MissionNotFound`](super::StoreError::MissionNotFound) when
    /// the mission is not here;
    /// [`StoreError::LimitExceeded`](super::StoreError::LimitExceeded) when the
    /// page's limits are out of range, or when the first row alone is over
    /// `page.max_bytes`.
    fn get_tool_history_page(&self, mission: &MissionId, page: Page) -> Result<Vec<ToolCall>>;

    /// Calls `f` with every tool call that `filter` selects, in the order
    /// they were recorded (by id, which is also the page key
    /// `filter.after_id`, so pages neither repeat nor skip), one row in
    /// memory at a time. `since`/`until` compare the instant each row's
    /// timestamp names, however another program spelled it; a timestamp
    /// that is not a time never matches them (see
    /// [`Timestamp`](super::Timestamp)). Stops at the first error `f`
    /// returns, or when this thread's deadline passes.
    ///
    /// # Errors
    ///
    /// [`StoreError::MissionNotFound`](super::StoreError::MissionNotFound) when
    /// `filter` names a mission that is not here; any error `f` returns, as it
    /// returned it.
    fn find_tool_calls(
        &self,
        filter: &ToolCallFilter,
        f: &mut dyn FnMut(ToolCall) -> Result<()>,
    ) -> Result<()>;

    /// Calls `f` with every tool call of a mission, in the order they were
    /// recorded (by id), one row in memory at a time.
    ///
    /// # Errors
    ///
    /// [`StoreError::MissionNotFound`](super::StoreError::MissionNotFound) when
    /// the mission is not here; any error `f` returns.
    fn each_tool_call(
        &self,
        mission: &MissionId,
        f: &mut dyn FnMut(ToolCall) -> Result<()>,
    ) -> Result<()> {
        self.find_tool_calls(&ToolCallFilter::mission(mission.clone()), f)
    }

    /// One tool call by its id.
    ///
    /// # Errors
    ///
    /// [`StoreError::NotFound`](super::StoreError::NotFound) when no tool call
    /// has this id.
    fn get_tool_call(&self, id: ToolCallId) -> Result<ToolCall>;

    /// Per tool name: calls, failures, duration percentiles, first and last
    /// call, over one mission or (with `None`) all; most-called first.
    ///
    /// # Errors
    ///
    /// [`StoreError::MissionNotFound`](super::StoreError::MissionNotFound) when
    /// `mission` is given and not here.
    fn tool_stats(&self, mission: Option<&MissionId>) -> Result<Vec<ToolStats>>;

    /// Every tool call of a mission, in the order recorded, collected: memory grows
    /// with the mission ([`MissionStore::each_tool_call`] streams).
    ///
    /// # Errors
    ///
    /// [`StoreError::MissionNotFound`](super::StoreError::MissionNotFound) when
    /// the mission is not here.
    fn get_tool_history(&self, mission: &MissionId) -> Result<Vec<ToolCall>> {
        let mut calls = Vec::new();
        self.each_tool_call(mission, &mut |call| {
            calls.push(call);
            Ok(())
        })?;
        Ok(calls)
    }

    // ---- decisions -------------------------------------------------------

    /// Records a decision; returns its id.
    ///
    /// # Errors
    ///
    /// [`StoreError::MissionNotFound`](super::StoreError::MissionNotFound) when
    /// the mission is not here;
    /// [`StoreError::InvalidInput`](super::StoreError::InvalidInput) or
    /// [`StoreError::LimitExceeded`](super::StoreError::LimitExceeded) when
    /// `decision` breaks the rules
    /// [`NewDecision::validate`](super::NewDecision::validate) checks.
    fn record_decision(&self, mission: &MissionId, decision: NewDecision) -> Result<DecisionId>;

    /// One page of a mission's decisions, as
    /// [`MissionStore::get_tool_history_page`].
    ///
    /// # Errors
    ///
    /// As [`get_tool_history_page`](Self::get_tool_history_page).
    fn get_decisions_page(&self, mission: &MissionId, page: Page) -> Result<Vec<Decision>>;

    /// Calls `f` with every decision that `filter` selects, in the order
    /// they were recorded (by id, the page key), one row in memory at a
    /// time; times compared as
    /// [`find_tool_calls`](MissionStore::find_tool_calls) compares them.
    ///
    /// # Errors
    ///
    /// [`StoreError::MissionNotFound`](super::StoreError::MissionNotFound) when
    /// `filter` names a mission that is not here; any error `f` returns.
    fn find_decisions(
        &self,
        filter: &DecisionFilter,
        f: &mut dyn FnMut(Decision) -> Result<()>,
    ) -> Result<()>;

    /// Calls `f` with every decision of a mission, in the order they were
    /// recorded (by id), one row in memory at a time.
    ///
    /// # Errors
    ///
    /// [`StoreError::MissionNotFound`](super::StoreError::MissionNotFound) when
    /// the mission is not here; any error `f` returns.
    fn each_decision(
        &self,
        mission: &MissionId,
        f: &mut dyn FnMut(Decision) -> Result<()>,
    ) -> Result<()> {
        self.find_decisions(&DecisionFilter::mission(mission.clone()), f)
    }

    /// Every decision of a mission, in the order recorded, collected.
    ///
    /// # Errors
    ///
    /// [`StoreError::MissionNotFound`](super::StoreError::MissionNotFound) when
    /// the mission is not here.
    fn get_decisions(&self, mission: &MissionId) -> Result<Vec<Decision>> {
        let mut decisions = Vec::new();
        self.each_decision(mission, &mut |decision| {
            decisions.push(decision);
            Ok(())
        })?;
        Ok(decisions)
    }

    // ---- agent memory ----------------------------------------------------

    /// Stores `value` under `key` for a mission, replacing any earlier
    /// value. With a `ttl_seconds`, the entry expires that many seconds from
    /// now.
    ///
    /// # Errors
    ///
    /// [`StoreError::MissionNotFound`](super::StoreError::MissionNotFound) when
    /// the mission is not here;
    /// [`StoreError::InvalidInput`](super::StoreError::InvalidInput) for a key
    /// the name rules refuse;
    /// [`StoreError::LimitExceeded`](super::StoreError::LimitExceeded) for a
    /// value over the JSON limits.
    fn set_memory(
        &self,
        mission: &MissionId,
        key: &str,
        value: Json,
        ttl_seconds: Option<u32>,
    ) -> Result<()>;

    /// The value stored under `key`, or `None` if there is none or it has
    /// expired.
    ///
    /// # Errors
    ///
    /// [`StoreError::MissionNotFound`](super::StoreError::MissionNotFound) when
    /// the mission is not here;
    /// [`StoreError::InvalidInput`](super::StoreError::InvalidInput) for a key
    /// the name rules refuse.
    fn get_memory(&self, mission: &MissionId, key: &str) -> Result<Option<Json>>;

    /// Deletes `key`; true if a live (unexpired) entry was there.
    ///
    /// # Errors
    ///
    /// [`StoreError::MissionNotFound`](super::StoreError::MissionNotFound) when
    /// the mission is not here;
    /// [`StoreError::InvalidInput`](super::StoreError::InvalidInput) for a key
    /// the name rules refuse.
    fn delete_memory(&self, mission: &MissionId, key: &str) -> Result<bool>;

    /// Every live (unexpired) entry of a mission's memory, by key.
    ///
    /// # Errors
    ///
    /// [`StoreError::MissionNotFound`](super::StoreError::MissionNotFound) when
    /// the mission is not here.
    fn list_memory(&self, mission: &MissionId) -> Result<Vec<MemoryEntry>>;

    // ---- keeping ----------------------------------------------------------

    /// Deletes whole missions `filter` selects, with every row of theirs,
    /// oldest first, in batches that each hold the write lock for about
    /// [`PRUNE_BATCH`](super::PRUNE_BATCH) at most; calls `report` with each
    /// mission once it is gone (or, `dry_run`, with each that would go, and
    /// deletes nothing). Missions whose `created_at` is not a time
    /// (another program wrote it) have no age: they are never deleted, and
    /// are returned as skipped, with how many were deleted.
    ///
    /// # Errors
    ///
    /// The backend's errors (see the trait); missions deleted before one failed
    /// stay deleted, and were reported.
    fn prune(
        &self,
        filter: &PruneFilter,
        dry_run: bool,
        report: &mut dyn FnMut(&PrunedMission),
    ) -> Result<PruneSummary>;

    // ---- playbook runs ---------------------------------------------------

    /// Records the start of a playbook run; returns its id.
    ///
    /// # Errors
    ///
    /// [`StoreError::MissionNotFound`](super::StoreError::MissionNotFound) when
    /// the mission is not here;
    /// [`StoreError::InvalidInput`](super::StoreError::InvalidInput) for a name
    /// the rules refuse.
    fn start_playbook_run(
        &self,
        mission: &MissionId,
        playbook_name: &str,
        phase: Option<Phase>,
    ) -> Result<PlaybookRunId>;

    /// Records the end of a playbook run. A run completes once.
    ///
    /// # Errors
    ///
    /// [`StoreError::InvalidInput`](super::StoreError::InvalidInput) when the
    /// run does not exist or has already completed, or the error message breaks
    /// the rules;
    /// [`StoreError::LimitExceeded`](super::StoreError::LimitExceeded) for
    /// metrics over the JSON limits.
    fn complete_playbook_run(
        &self,
        run: PlaybookRunId,
        success: bool,
        metrics: Option<Json>,
        error_message: Option<&str>,
    ) -> Result<()>;

    /// Every playbook run of a mission, in the order started (by id).
    ///
    /// # Errors
    ///
    /// [`StoreError::MissionNotFound`](super::StoreError::MissionNotFound) when
    /// the mission is not here.
    fn get_playbook_runs(&self, mission: &MissionId) -> Result<Vec<PlaybookRun>>;
}
