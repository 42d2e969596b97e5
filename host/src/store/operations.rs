//! The store's operations, written once for every backend: each validates
//! its input, locks its mission where a write needs it, runs its statements
//! and chains what it wrote, inside one transaction the backend provides
//! ([`Backend`]). The statements are in `dialect.rs`; what differs between
//! SQLite and PostgreSQL is there and in the backends' transactions, not
//! here.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;

use super::backend::Backend;
use super::chain::{self, ChainTable};
use super::dialect::{self, Statements};
use super::error::{Result, StoreError};
use super::ids::{format_timestamp, DecisionId, MissionId, PlaybookRunId, ToolCallId};
use super::json::Json;
use super::mission_store::MissionStore;
use super::model::{
    check_name, check_text, now_timestamp, Decision, DecisionFilter, InvocationEnd,
    InvocationStart, MemoryEntry, Mission, MissionFilter, MissionStatus, NewDecision, NewToolCall,
    Origin, Outcome, Page, Phase, PlaybookRun, PruneFilter, PruneSummary, PrunedMission, Skipped,
    ToolCall, ToolCallFilter, ToolStats,
};
use super::rows::{self, name_list, time_window};
use super::sql::{mission_row_id, Dialect, Sql, Value};

/// How long one prune batch may hold the write lock, about.
pub const PRUNE_BATCH: Duration = Duration::from_millis(100);

/// What an invocation row says until the invocation ends.
pub(crate) const RUNNING_MESSAGE: &str =
    "not ended: the tool is still running, or the host stopped before it finished";

impl<B: Backend> MissionStore for B {
    // ---- provenance ----------------------------------------------------------

    fn within_invocation(&self, invocation: ToolCallId) -> Arc<dyn MissionStore> {
        Arc::new(self.with_origin(Origin::Invocation(invocation)))
    }

    fn begin_invocation(&self, mission: &MissionId, start: &InvocationStart) -> Result<ToolCallId> {
        insert_invocation(self, mission, start, None)
    }

    fn end_invocation(&self, invocation: ToolCallId, end: &InvocationEnd) -> Result<()> {
        end.validate()?;
        let end = end.clone();
        self.write_sql(move |db| {
            let changed = chained_update(
                db,
                ChainTable::ToolCalls,
                dialect::END_INVOCATION,
                &[
                    invocation.get().into(),
                    end.result.as_ref().map(Json::as_str).into(),
                    end.duration_ms.into(),
                    (end.outcome == Outcome::Ok).into(),
                    end.error_message.as_deref().into(),
                    end.outcome.as_str().into(),
                ],
            )?;
            if !changed {
                return Err(StoreError::invalid(format!(
                    "invocation {invocation} does not exist or has already ended"
                )));
            }
            Ok(())
        })
    }

    fn record_invocation(
        &self,
        mission: &MissionId,
        start: &InvocationStart,
        end: &InvocationEnd,
    ) -> Result<ToolCallId> {
        end.validate()?;
        insert_invocation(self, mission, start, Some(end))
    }

    // ---- missions ------------------------------------------------------------

    fn create_mission(&self, phase: Phase, metadata: Json) -> Result<MissionId> {
        metadata.check_limits("metadata")?;
        let id = MissionId::new_v4();
        let uuid = id.clone();
        let invocation = self.origin().invocation_id();
        self.write_sql(move |db| {
            let row = db.insert(
                dialect::CREATE_MISSION,
                &[
                    uuid.as_str().into(),
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
        let mission = mission.clone();
        self.write_sql(move |db| {
            let row = lock_mission(db, &mission)?;
            let head = chain::head(db, row)?;
            let completed_at = status.is_terminal().then(now_timestamp);
            db.execute(
                dialect::UPDATE_MISSION_STATUS,
                &[row.into(), status.as_str().into(), completed_at.into()],
            )?;
            chain::append_after(db, row, ChainTable::Missions, row, head).map(drop)
        })
    }

    fn get_mission(&self, mission: &MissionId) -> Result<Mission> {
        self.read_sql(|db| {
            db.query_opt(dialect::MISSION_BY_UUID, &dialect::uuid_params(mission))?
                .map(|r| rows::mission(&r))
                .transpose()?
                .ok_or_else(|| StoreError::MissionNotFound(mission.to_string()))
        })
    }

    fn find_missions(&self, filter: &MissionFilter) -> Result<Vec<Mission>> {
        Page::first(filter.limit).validate()?;
        let (since, until) = time_window(filter.since, filter.until);
        self.read_sql(|db| {
            let sql = statements(db).find_missions;
            db.query_all(
                sql,
                &[
                    filter.status.map(MissionStatus::as_str).into(),
                    filter.phase.map(Phase::as_str).into(),
                    since.as_deref().into(),
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

    // ---- tool calls ----------------------------------------------------------

    fn log_tool_call(&self, mission: &MissionId, call: NewToolCall) -> Result<ToolCallId> {
        call.validate()?;
        let origin = self.origin();
        chained_insert(self, mission, move |db, mission, identity, head| {
            insert_tool_call(db, mission, &call, origin, identity, head)
        })
        .map(ToolCallId::from)
    }

    fn log_tool_calls(
        &self,
        mission: &MissionId,
        calls: Vec<NewToolCall>,
    ) -> Result<Vec<ToolCallId>> {
        for call in &calls {
            call.validate()?;
        }
        let (locked, origin) = (mission.clone(), self.origin());
        self.write_sql(move |db| {
            let (id, mut head) = lock_mission_head(db, &locked)?;
            let mission = chain::Mission {
                id,
                uuid: &locked,
                locked: true,
            };
            let identity = invocation_identity(db, origin)?;
            let mut ids = Vec::with_capacity(calls.len());
            for call in &calls {
                let (id, next) = insert_tool_call(db, mission, call, origin, &identity, head)?;
                head = next;
                ids.push(ToolCallId::from(id));
            }
            Ok(ids)
        })
    }

    fn get_tool_history_page(&self, mission: &MissionId, page: Page) -> Result<Vec<ToolCall>> {
        page.validate()?;
        read_page(
            self,
            mission,
            page,
            dialect::TOOL_CALLS_PAGE,
            rows::tool_call,
            ToolCall::text_bytes,
        )
    }

    fn find_tool_calls(
        &self,
        filter: &ToolCallFilter,
        f: &mut dyn FnMut(ToolCall) -> Result<()>,
    ) -> Result<()> {
        let listing = Listing {
            mission: filter.mission.as_ref(),
            statements: |s| s.find_tool_calls,
            after_id: filter.after_id,
            filters: [name_list(&filter.tools).into(), filter.success.into()],
            window: time_window(filter.since, filter.until),
            limit: filter.limit,
        };
        listing.stream_rows(self, rows::tool_call, ("tool_calls", 14), f)
    }

    fn get_tool_call(&self, id: ToolCallId) -> Result<ToolCall> {
        self.read_sql(|db| {
            db.query_opt(dialect::TOOL_CALL_BY_ID, &[id.get().into()])?
                .map(|r| rows::tool_call(&r))
                .transpose()?
                .ok_or_else(|| StoreError::NotFound(format!("tool call {id}")))
        })
    }

    fn tool_stats(&self, mission: Option<&MissionId>) -> Result<Vec<ToolStats>> {
        self.read_sql(|db| {
            let mission_id = mission.map(|m| mission_row_id(db, m)).transpose()?;
            let sql = statements(db).tool_stats;
            db.query_all(sql, &[mission_id.into()])?
                .iter()
                .map(|r| rows::tool_stats(r))
                .collect()
        })
    }

    // ---- decisions -----------------------------------------------------------

    fn record_decision(&self, mission: &MissionId, decision: NewDecision) -> Result<DecisionId> {
        decision.validate()?;
        let origin = self.origin();
        chained_insert(self, mission, move |db, mission, identity, head| {
            let [invocation_mission, invocation_seq] = identity.clone();
            chain::insert_row(
                db,
                ChainTable::Decisions,
                dialect::INSERT_DECISION,
                vec![
                    decision.decision_type.as_str().into(),
                    decision.rationale.as_str().into(),
                    now_timestamp().into(),
                    decision.agent_name.as_str().into(),
                    decision.context.as_ref().map(Json::as_str).into(),
                    invocation_mission,
                    invocation_seq,
                    mission.id.into(),
                    origin.invocation_id().into(),
                ],
                mission,
                head,
            )
        })
        .map(DecisionId::from)
    }

    fn get_decisions_page(&self, mission: &MissionId, page: Page) -> Result<Vec<Decision>> {
        page.validate()?;
        read_page(
            self,
            mission,
            page,
            dialect::DECISIONS_PAGE,
            rows::decision,
            Decision::text_bytes,
        )
    }

    fn find_decisions(
        &self,
        filter: &DecisionFilter,
        f: &mut dyn FnMut(Decision) -> Result<()>,
    ) -> Result<()> {
        let listing = Listing {
            mission: filter.mission.as_ref(),
            statements: |s| s.find_decisions,
            after_id: filter.after_id,
            filters: [
                name_list(&filter.types).into(),
                name_list(&filter.agents).into(),
            ],
            window: time_window(filter.since, filter.until),
            limit: filter.limit,
        };
        listing.stream_rows(self, rows::decision, ("decisions", 9), f)
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
        let invocation = self.origin().invocation_id();
        self.write_sql(move |db| {
            let mission_id = lock_mission(db, &mission)?;
            let head = chain::head(db, mission_id)?;
            let now = Utc::now();
            let expires_at = ttl_seconds
                .map(|ttl| format_timestamp(now + chrono::Duration::seconds(i64::from(ttl))));
            let id = db
                .query_opt(
                    dialect::SET_MEMORY,
                    &[
                        mission_id.into(),
                        key.as_str().into(),
                        value.as_str().into(),
                        format_timestamp(now).into(),
                        ttl_seconds.map(i64::from).into(),
                        expires_at.into(),
                        invocation.into(),
                    ],
                )?
                .and_then(|r| r[0].int())
                .ok_or_else(|| StoreError::Internal("an insert returned no id".into()))?;
            chain::append_after(db, mission_id, ChainTable::Memory, id, head).map(drop)
        })
    }

    fn get_memory(&self, mission: &MissionId, key: &str) -> Result<Option<Json>> {
        check_name("memory key", key)?;
        let now = now_timestamp();
        self.read_sql(|db| {
            let mission_id = mission_row_id(db, mission)?;
            live_memory(db, mission_id, key, &now)
        })
    }

    fn delete_memory(&self, mission: &MissionId, key: &str) -> Result<bool> {
        check_name("memory key", key)?;
        let (mission, key) = (mission.clone(), key.to_owned());
        self.write_sql(move |db| {
            let mission_id = lock_mission(db, &mission)?;
            let live = live_memory(db, mission_id, &key, &now_timestamp())?.is_some();
            let deleted = db.query_opt(
                dialect::DELETE_MEMORY,
                &[mission_id.into(), key.as_str().into()],
            )?;
            // A row another program wrote has no place in the chain.
            if let Some(row_seq) = deleted.and_then(|r| r[0].int()) {
                chain::append_deletion(db, mission_id, ChainTable::Memory, row_seq)?;
            }
            Ok(live)
        })
    }

    fn list_memory(&self, mission: &MissionId) -> Result<Vec<MemoryEntry>> {
        let now = now_timestamp();
        self.read_sql(|db| {
            let mission_id = mission_row_id(db, mission)?;
            let sql = statements(db).memory_list;
            db.query_all(sql, &[mission_id.into(), now.as_str().into()])?
                .iter()
                .map(|r| rows::memory_entry(r))
                .collect()
        })
    }

    // ---- keeping ---------------------------------------------------------------

    fn prune(
        &self,
        filter: &PruneFilter,
        dry_run: bool,
        report: &mut dyn FnMut(&PrunedMission),
    ) -> Result<PruneSummary> {
        let statuses = serde_json::Value::from(
            filter
                .statuses
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>(),
        )
        .to_string();
        let before = format_timestamp(filter.before);
        let (candidates, skipped) = self.read_sql(|db| {
            let candidates = db
                .query_all(
                    statements(db).prune_candidates,
                    &[before.as_str().into(), statuses.as_str().into()],
                )?
                .iter()
                .map(|r| rows::pruned_mission(r))
                .collect::<Result<Vec<_>>>()?;
            let skipped = db
                .query_all(
                    statements(db).missions_not_a_time,
                    &[statuses.as_str().into()],
                )?
                .iter()
                .map(|r| rows::not_a_time(r, "missions", "created_at"))
                .collect::<Result<Vec<_>>>()?;
            Ok((candidates, skipped))
        })?;
        for mission in &candidates {
            if !dry_run {
                while !prune_step(self, &mission.mission_uuid)? {}
            }
            report(mission);
        }
        Ok(PruneSummary {
            pruned: candidates.len() as u64,
            skipped,
        })
    }

    // ---- playbook runs -------------------------------------------------------

    fn start_playbook_run(
        &self,
        mission: &MissionId,
        playbook_name: &str,
        phase: Option<Phase>,
    ) -> Result<PlaybookRunId> {
        check_name("playbook name", playbook_name)?;
        let (mission, name) = (mission.clone(), playbook_name.to_owned());
        self.write_sql(move |db| {
            let mission_id = lock_mission(db, &mission)?;
            let head = chain::head(db, mission_id)?;
            let (id, _) = chain::insert(
                db,
                ChainTable::PlaybookRuns,
                dialect::START_PLAYBOOK_RUN,
                &[
                    mission_id.into(),
                    name.as_str().into(),
                    phase.map(Phase::as_str).into(),
                    now_timestamp().into(),
                ],
                mission_id,
                head,
            )?;
            Ok(PlaybookRunId::from(id))
        })
    }

    fn complete_playbook_run(
        &self,
        run: PlaybookRunId,
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
        self.write_sql(move |db| {
            let changed = chained_update(
                db,
                ChainTable::PlaybookRuns,
                dialect::COMPLETE_PLAYBOOK_RUN,
                &[
                    run.get().into(),
                    now_timestamp().into(),
                    success.into(),
                    metrics.as_ref().map(Json::as_str).into(),
                    error_message.as_deref().into(),
                ],
            )?;
            if !changed {
                return Err(StoreError::invalid(format!(
                    "playbook run {run} does not exist or has already completed"
                )));
            }
            Ok(())
        })
    }

    fn get_playbook_runs(&self, mission: &MissionId) -> Result<Vec<PlaybookRun>> {
        self.read_sql(|db| {
            let mission_id = mission_row_id(db, mission)?;
            let sql = statements(db).playbook_runs;
            db.query_all(sql, &[mission_id.into()])?
                .iter()
                .map(|r| rows::playbook_run(r))
                .collect()
        })
    }
}

/// A filtered listing (`find_tool_calls`, `find_decisions`): its two
/// statements in `dialect.rs` bind the mission's row id, the id to start
/// after, the listing's own two filters, the time window and the limit, in
/// that order.
struct Listing<'a> {
    mission: Option<&'a MissionId>,
    /// The pair of statements: within one mission, across all.
    statements: fn(&Statements) -> [&'static str; 2],
    after_id: Option<i64>,
    filters: [Value<'static>; 2],
    window: (Option<String>, String),
    limit: Option<u32>,
}

impl Listing<'_> {
    /// Calls `f` with each row read as `T` (`read`), in order, one in
    /// memory at a time. A row that cannot be read as `T` (another program
    /// stored a value its type cannot take) is gone past, and named in
    /// [`StoreError::Unreadable`] once every other row was delivered.
    /// `table` names the rows' table and the column holding their mission's
    /// uuid (their id is the first).
    fn stream_rows<T>(
        &self,
        store: &impl Backend,
        read: fn(&[Value<'_>]) -> Result<T>,
        (table, mission_column): (&str, usize),
        f: &mut dyn FnMut(T) -> Result<()>,
    ) -> Result<()> {
        let mut unreadable = Vec::new();
        self.stream(store, &mut |r| match read(r) {
            Ok(row) => f(row),
            Err(e) if e.concerns_one_item() => {
                let mission = r.get(mission_column).and_then(Value::text).unwrap_or("?");
                let id = r.first().and_then(Value::int).unwrap_or_default();
                let why = match e {
                    StoreError::Internal(why) => why,
                    e => e.to_string(),
                };
                unreadable.push(Skipped::at(mission, table, id, why));
                Ok(())
            }
            Err(e) => Err(e),
        })?;
        match unreadable.is_empty() {
            true => Ok(()),
            false => Err(StoreError::Unreadable(unreadable)),
        }
    }

    /// Calls `f` with each row, oldest first, one in memory at a time.
    fn stream(
        &self,
        store: &impl Backend,
        f: &mut dyn FnMut(&[Value<'static>]) -> Result<()>,
    ) -> Result<()> {
        store.read_sql(|db| {
            let mission = self.mission.map(|m| mission_row_id(db, m)).transpose()?;
            let sql = (self.statements)(statements(db))[usize::from(mission.is_none())];
            let [first, second] = &self.filters;
            db.query(
                sql,
                &[
                    mission.into(),
                    self.after_id.unwrap_or(i64::MIN).into(),
                    first.clone(),
                    second.clone(),
                    self.window.0.as_deref().into(),
                    self.window.1.as_str().into(),
                    self.limit.map_or(i64::MAX, i64::from).into(),
                ],
                f,
            )
        })
    }
}

/// The statements of the database `db` speaks to.
fn statements(db: &dyn Sql) -> &'static Statements {
    db.dialect().statements()
}

/// Finds a mission's row for a write and locks it for the transaction where
/// the backend has row locks, so writes to one mission are chained one at a
/// time, in commit order. Read the chain's head after this, not before:
/// under PostgreSQL's READ COMMITTED, a statement that waited for the lock
/// still sees the ledger as it was when that statement began.
fn lock_mission(db: &mut dyn Sql, mission: &MissionId) -> Result<i64> {
    let sql = statements(db).lock_mission;
    db.query_opt(sql, &dialect::uuid_params(mission))?
        .and_then(|r| r[0].int())
        .ok_or_else(|| StoreError::MissionNotFound(mission.to_string()))
}

/// Inserts one row into `mission`'s chain with `insert`, which is given the
/// mission's row id, the identity of the handle's invocation
/// ([`invocation_identity`]) and the chain head, and writes the row and its
/// ledger entry with [`chain::insert_row`] and nothing else (on PostgreSQL
/// that is one statement, sent with the commit); returns the row's id.
///
/// Runs in a transaction that locks the mission and reads its head; or,
/// where the store remembers the head its last write to the mission left
/// ([`chain::RememberedHeads`], PostgreSQL), first in one that chains onto
/// that head without reading anything (the lock and the insert, which
/// checks the head itself, in one flight), and the locked way only if that
/// insert was refused (another writer moved the head on, or the mission is
/// gone).
fn chained_insert<B: Backend>(
    store: &B,
    mission: &MissionId,
    insert: impl Fn(
            &mut dyn Sql,
            chain::Mission<'_>,
            &[Value<'static>; 2],
            chain::Head,
        ) -> Result<(i64, chain::Head)>
        + Send
        + Sync
        + 'static,
) -> Result<i64> {
    let origin = store.origin();
    let insert = Arc::new(insert);
    let remembered = store.remembered_heads();
    if let Some(heads) = &remembered {
        if let Some((id, head)) = heads.take(mission) {
            let (insert, uuid) = (insert.clone(), mission.clone());
            let mut head = Some(head);
            let written = store.write_sql(move |db| {
                // Tried again after a conflict: the locked way, below.
                let Some(head) = head.take() else {
                    return Ok(None);
                };
                let identity = invocation_identity(db, origin)?;
                db.commit_with_next();
                // Not locked yet: the insert takes the lock in its flight,
                // granted before the insert begins (and reads the ledger).
                let mission = chain::Mission {
                    id,
                    uuid: &uuid,
                    locked: false,
                };
                match insert(db, mission, &identity, head) {
                    Ok((id, _)) => Ok(Some(id)),
                    // Refused as a whole, so nothing was written.
                    Err(StoreError::InvalidInput(_)) => Ok(None),
                    Err(e) => Err(e),
                }
            })?;
            if let Some(id) = written {
                return Ok(id);
            }
            heads.forget(mission);
        }
    }
    let locked = mission.clone();
    store.write_sql(move |db| {
        let (id, head) = lock_mission_head(db, &locked)?;
        if let Some(heads) = &remembered {
            heads.remember_id(&locked, id);
        }
        let identity = invocation_identity(db, origin)?;
        // `insert` is one statement on PostgreSQL (chain::insert_row): the
        // commit goes with it.
        db.commit_with_next();
        let mission = chain::Mission {
            id,
            uuid: &locked,
            locked: true,
        };
        insert(db, mission, &identity, head).map(|(id, _)| id)
    })
}

/// [`lock_mission`], and the mission's chain head as a write chains onto it.
fn lock_mission_head(db: &mut dyn Sql, mission: &MissionId) -> Result<(i64, chain::Head)> {
    let Some(sql) = statements(db).lock_mission_head else {
        let mission_id = lock_mission(db, mission)?;
        return Ok((mission_id, chain::head(db, mission_id)?));
    };
    let row = db
        .query_opt(sql, &dialect::uuid_params(mission))?
        .ok_or_else(|| StoreError::MissionNotFound(mission.to_string()))?;
    match row.as_slice() {
        [Value::Integer(mission_id), seq, hash] => {
            Ok((*mission_id, chain::Head::read(*mission_id, seq, hash)?))
        }
        other => Err(StoreError::Internal(format!(
            "a mission and its chain head read as {other:?}"
        ))),
    }
}

/// The identity of `origin`'s invocation as the rows it writes store it
/// (schema v6): its mission's uuid and its chain position; both NULL for
/// the host, or for an invocation whose row is not here.
fn invocation_identity(db: &mut dyn Sql, origin: Origin) -> Result<[Value<'static>; 2]> {
    let Some(id) = origin.invocation_id() else {
        return Ok([Value::Null, Value::Null]);
    };
    Ok(
        match db.query_opt(dialect::INVOCATION_IDENTITY, &[id.into()])? {
            Some(row) => match <[Value; 2]>::try_from(row) {
                Ok(identity) => identity,
                Err(row) => {
                    return Err(StoreError::Internal(format!(
                        "an invocation's identity reads as {row:?}"
                    )))
                }
            },
            None => [Value::Null, Value::Null],
        },
    )
}

/// Changes row `?1` of `table` with `update` and chains its new content
/// onto its mission's chain, the mission locked first and its head read
/// after the lock ([`chain::lock_head_of_row`]); `false` (nothing written)
/// when there is no such row or `update` changed none. On PostgreSQL three
/// round trips: the lock and the head, the update returning the row, and
/// the ledger entry with the `COMMIT`.
fn chained_update(
    db: &mut dyn Sql,
    table: ChainTable,
    update: &str,
    params: &[Value],
) -> Result<bool> {
    let Some(row_id) = params[0].int() else {
        return Err(StoreError::Internal("an update of no row id".into()));
    };
    let Some((mission_id, head)) = chain::lock_head_of_row(db, table, row_id)? else {
        return Ok(false);
    };
    let Some(row) = chain::update_row(db, table, update, params)? else {
        return Ok(false);
    };
    db.commit_with_next();
    chain::append_row(db, mission_id, table, &row, head)?;
    Ok(true)
}

/// Inserts a validated tool call, stamped now, and chains it onto `head`
/// (as [`chain::insert_row`]). `identity` is `origin`'s
/// ([`invocation_identity`]).
fn insert_tool_call(
    db: &mut dyn Sql,
    mission: chain::Mission<'_>,
    call: &NewToolCall,
    origin: Origin,
    identity: &[Value<'static>; 2],
    head: chain::Head,
) -> Result<(i64, chain::Head)> {
    let [invocation_mission, invocation_seq] = identity.clone();
    chain::insert_row(
        db,
        ChainTable::ToolCalls,
        dialect::INSERT_TOOL_CALL,
        vec![
            call.tool_name.as_str().into(),
            call.args.as_str().into(),
            call.result.as_ref().map(Json::as_str).into(),
            now_timestamp().into(),
            call.duration_ms.into(),
            call.success.into(),
            call.error_message.as_deref().into(),
            Value::Null,
            Value::Null,
            Value::Null,
            Value::Null,
            invocation_mission,
            invocation_seq,
            mission.id.into(),
            origin.invocation_id().into(),
        ],
        mission,
        head,
    )
}

/// Writes an invocation's row: `running` until `end` is given.
fn insert_invocation(
    store: &impl Backend,
    mission: &MissionId,
    start: &InvocationStart,
    end: Option<&InvocationEnd>,
) -> Result<ToolCallId> {
    start.validate()?;
    let (start, end) = (start.clone(), end.cloned());
    // An invocation's own row records no invocation of its own.
    chained_insert(store, mission, move |db, mission, _, head| {
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
        chain::insert_row(
            db,
            ChainTable::ToolCalls,
            dialect::INSERT_TOOL_CALL,
            vec![
                start.tool_name.as_str().into(),
                start.input.as_str().into(),
                result.into(),
                now_timestamp().into(),
                duration_ms.into(),
                (outcome == Outcome::Ok).into(),
                error_message.into(),
                component.map(|c| c.sha256.as_str()).into(),
                component
                    .map(|c| i64::try_from(c.size).unwrap_or(i64::MAX))
                    .into(),
                outcome.as_str().into(),
                start.caller.as_ref().map(Json::as_str).into(),
                Value::Null,
                Value::Null,
                mission.id.into(),
                Value::Null,
            ],
            mission,
            head,
        )
    })
    .map(ToolCallId::from)
}

/// The value stored under `key`, if it has not expired (`null` for a SQL
/// NULL another program stored).
fn live_memory(db: &mut dyn Sql, mission_id: i64, key: &str, now: &str) -> Result<Option<Json>> {
    let sql = statements(db).memory_get;
    Ok(db
        .query_opt(sql, &[mission_id.into(), key.into(), now.into()])?
        .map(|r| Json::from_column(&r[0]).unwrap_or_else(|| Json::stored("null"))))
}

/// One page of a mission's rows in id order (`sql` binds the mission's row
/// id, the id to start after and the row limit), within the page's byte
/// budget; a row alone over the budget is an error rather than an empty
/// page.
fn read_page<T>(
    store: &impl Backend,
    mission: &MissionId,
    page: Page,
    sql: &str,
    read: fn(&[Value]) -> Result<T>,
    bytes: fn(&T) -> usize,
) -> Result<Vec<T>> {
    store.read_sql(|db| {
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

/// One batch of deleting `mission`: its rows a chunk at a time until
/// [`PRUNE_BATCH`] has passed, then the mission itself once it has none.
/// True when the mission is gone. SQLite's writer locks the whole file, so
/// a batch is short; on PostgreSQL, whose row locks and MVCC keep readers
/// and other missions' writers going, a mission goes in one transaction.
fn prune_step(store: &impl Backend, mission: &MissionId) -> Result<bool> {
    let mission = mission.clone();
    store.write_sql(move |db| {
        let started = Instant::now();
        let mission_id = match lock_mission(db, &mission) {
            Ok(id) => id,
            Err(StoreError::MissionNotFound(_)) => return Ok(true),
            Err(e) => return Err(e),
        };
        for sql in dialect::PRUNE_CHUNKS {
            while db.execute(sql, &[mission_id.into()])? > 0 {
                if db.dialect() == Dialect::Sqlite && started.elapsed() >= PRUNE_BATCH {
                    return Ok(false);
                }
            }
        }
        db.execute(dialect::DELETE_MISSION, &[mission_id.into()])?;
        Ok(true)
    })
}
