//! The store's WIT interfaces as seen from inside the sandbox.
//!
//! Each generated `Host` method is a one-line adapter into an `*_impl`
//! method that checks the invocation's grants first, then calls the store's
//! public API, then maps the result. No SQL and no business rules live here:
//! validation is the store's. Conversions between WIT and store types are
//! gathered at the bottom of the file.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiBody, WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks, WasiHttpView};

use crate::store::{self, with_deadline_or_cancel, MissionId, MissionStore, NewDecision, Page};

use super::failure::Cancelled;
use super::policy::{Denied, Limits, Scope};

// Exports are called async so that a guest blocked in a WASI host call can
// be stopped (see `runtime::bounded`); the store's own imports stay
// synchronous.
wasmtime::component::bindgen!({
    world: "agent-tool",
    path: "wit",
    imports: { default: trappable },
    exports: { default: async },
});

/// The `described-tool` world, for its `describe` export alone: its
/// imports are the interfaces above, linked once for `agent-tool`.
pub(crate) mod described {
    wasmtime::component::bindgen!({
        world: "described-tool",
        path: "wit",
        exports: { default: async },
        with: {
            "vibe:store/types": super::vibe::store::types,
            "vibe:store/missions": super::vibe::store::missions,
            "vibe:store/audit": super::vibe::store::audit,
            "vibe:store/memory": super::vibe::store::memory,
        },
    });
}

use vibe::store::types::{
    Decision as WitDecision, Mission as WitMission, MissionStatus as WitStatus,
    NewToolCall as WitNewToolCall, Phase as WitPhase, StoreError as WitError,
    ToolCall as WitToolCall,
};

type Reply<T> = wasmtime::Result<Result<T, WitError>>;

/// Largest `wasi:http` field list (headers, trailers) a guest may build, in
/// bytes: every request is refused anyway, so this only bounds what a guest
/// can make the host copy.
pub(crate) const MAX_FIELD_BYTES: usize = 16 << 10;
/// Fewest resource table entries any invocation gets.
pub(crate) const MIN_RESOURCES: usize = 1024;

/// Everything one invocation's `Store` holds.
pub(crate) struct State {
    pub(crate) host: Invocation,
    pub(crate) wasi: WasiCtx,
    pub(crate) table: ResourceTable,
    pub(crate) memory: MemoryCap,
    http: WasiHttpCtx,
    refuse: RefuseHttp,
}

impl State {
    /// What the host holds for a guest outside its linear memory (WASI and
    /// HTTP resources, header fields copied out of the guest) is bounded
    /// by its memory limit too: each `wasi:http` field list holds at most
    /// [`MAX_FIELD_BYTES`], and the resource table holds at most as many
    /// entries as `max_memory_bytes` has field lists' worth (and at least
    /// [`MIN_RESOURCES`], which language runtimes' streams and pollables
    /// need); a guest past either gets an error, as it would from a full
    /// memory.
    pub(crate) fn new(host: Invocation, wasi: WasiCtx, max_memory_bytes: usize) -> Self {
        let mut table = ResourceTable::new();
        table.set_max_capacity(resource_capacity(max_memory_bytes));
        let mut http = WasiHttpCtx::new();
        http.set_field_size_limit(MAX_FIELD_BYTES);
        State {
            host,
            wasi,
            table,
            memory: MemoryCap {
                max_bytes: max_memory_bytes,
                hit: false,
            },
            http,
            refuse: RefuseHttp,
        }
    }

    /// Hands an instance made before its invocation (see `spare`) to
    /// `host`, with `max_memory_bytes` as its memory limit from now on.
    /// The caller has checked that it fits (see `runtime::Spare::fits`).
    pub(crate) fn bind(&mut self, host: Invocation, max_memory_bytes: usize) {
        self.host = host;
        self.memory.max_bytes = max_memory_bytes;
        self.table
            .set_max_capacity(resource_capacity(max_memory_bytes));
    }
}

/// Entries the resource table may hold under a memory limit.
fn resource_capacity(max_memory_bytes: usize) -> usize {
    (max_memory_bytes / MAX_FIELD_BYTES).max(MIN_RESOURCES)
}

impl WasiHttpView for State {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            hooks: &mut self.refuse,
            table: &mut self.table,
            ctx: &mut self.http,
        }
    }
}

/// `wasi:http` as the sandbox offers it: present, because language runtimes
/// import it whether a tool uses it or not (JavaScript's StarlingMonkey
/// does), and refusing every outgoing request with `HttpRequestDenied`. A
/// tool sees an error it can handle (`fetch` rejects), not a trap, and no
/// request leaves the host: nothing here can open a connection.
pub(crate) struct RefuseHttp;

type Outgoing = Box<
    dyn std::future::Future<
            Output = wasmtime_wasi_http::Result<(
                http::Response<WasiBody>,
                Box<dyn std::future::Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
            )>,
        > + Send,
>;

impl WasiHttpHooks for RefuseHttp {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        _options: Option<wasmtime_wasi_http::RequestOptions>,
        _fut: Box<dyn std::future::Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
    ) -> Outgoing {
        tracing::info!(target: "vibe::host", uri = %request.uri(), "refused an outgoing HTTP request");
        Box::new(async { Err(wasmtime_wasi_http::Error::HttpRequestDenied) })
    }
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// Caps linear memory and remembers whether the cap was hit, so a guest that
/// dies of it is reported as such rather than as a bare trap.
pub(crate) struct MemoryCap {
    pub(crate) max_bytes: usize,
    pub(crate) hit: bool,
}

impl wasmtime::ResourceLimiter for MemoryCap {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let allowed = desired <= self.max_bytes;
        self.hit |= !allowed;
        Ok(allowed)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }
}

/// The host side of one invocation: the store as seen through it, what it
/// may touch, and its limits and deadline.
pub(crate) struct Invocation {
    /// The store, as seen through this invocation: every row written through
    /// it records the invocation's row id (provenance).
    store: Arc<dyn MissionStore>,
    scope: Scope,
    limits: Limits,
    /// When the invocation's time is up, host calls included.
    deadline: Instant,
    /// Set when the caller cancels: a store call waiting on a lock gives up.
    cancel: Option<Arc<AtomicBool>>,
    /// No invocation yet: the instance is a spare being made, and a store
    /// call now would run outside any invocation (it traps instead).
    unbound: bool,
}

/// A store call from a tool's start-up code, while its instance was made
/// ahead of any invocation: refused with a trap, so that the instance is
/// not kept and the tool is instantiated inside its invocations, as before.
#[derive(Debug, thiserror::Error)]
#[error("a store call while the instance was being made ahead of its invocation")]
pub(crate) struct CalledWhileUnbound;

/// A host call ran into (or started after) the invocation's deadline: the
/// invocation ends as timed out.
#[derive(Debug, thiserror::Error)]
#[error("the invocation's time ran out during a store call")]
pub(crate) struct DeadlineExceeded;

impl Invocation {
    /// The host side of an invocation that must end by `deadline`, or
    /// when `cancel` is set.
    pub(crate) fn new(
        store: Arc<dyn MissionStore>,
        scope: Scope,
        limits: Limits,
        deadline: Instant,
        cancel: Option<Arc<AtomicBool>>,
    ) -> Self {
        Invocation {
            store,
            scope,
            deadline,
            limits,
            cancel,
            unbound: false,
        }
    }

    /// The host side of an instance made before any invocation: every store
    /// call traps ([`CalledWhileUnbound`]) until [`State::bind`] replaces it.
    pub(crate) fn unbound(store: Arc<dyn MissionStore>, limits: Limits, deadline: Instant) -> Self {
        Invocation {
            unbound: true,
            ..Invocation::new(store, Scope::sealed(), limits, deadline, None)
        }
    }

    /// Whether the invocation was cancelled.
    fn cancelled(&self) -> bool {
        self.cancel
            .as_ref()
            .is_some_and(|flag| flag.load(Ordering::Relaxed))
    }

    /// Runs one host call within the invocation's deadline: reads still
    /// running at the deadline are interrupted, and a call that ends past it
    /// ends the invocation. A panic in the host's implementation becomes
    /// `internal` for the guest instead of taking the host process down.
    /// Each call is traced (`VIBE_LOG=vibe::host=debug`).
    fn guarded<T>(
        &mut self,
        name: &'static str,
        call: impl FnOnce(&mut Self) -> Result<T, WitError>,
    ) -> Reply<T> {
        if self.unbound {
            return Err(wasmtime::Error::new(CalledWhileUnbound));
        }
        if self.cancelled() {
            return Err(wasmtime::Error::new(Cancelled));
        }
        if Instant::now() >= self.deadline {
            return Err(wasmtime::Error::new(DeadlineExceeded));
        }
        let started = Instant::now();
        let deadline = self.deadline;
        let cancel = self.cancel.clone();
        let reply = with_deadline_or_cancel(deadline, cancel, || {
            catch_unwind(AssertUnwindSafe(|| call(self)))
        })
        .unwrap_or_else(|panic| {
            let error = store::StoreError::from_panic("a store call", panic);
            tracing::error!(target: "vibe::host", %error, "host call panicked");
            Err(error.into())
        });
        tracing::debug!(
            target: "vibe::host",
            call = name,
            mission = %self.scope.mission(),
            micros = started.elapsed().as_micros() as u64,
            outcome = match &reply {
                Ok(_) => "ok",
                Err(e) => e.name(),
            },
            "host call"
        );
        if self.cancelled() {
            return Err(wasmtime::Error::new(Cancelled));
        }
        if Instant::now() >= deadline {
            return Err(wasmtime::Error::new(DeadlineExceeded));
        }
        Ok(reply)
    }

    /// A page within this invocation's row cap and byte budget.
    fn page(&self, after_id: Option<i64>, limit: u32) -> Result<Page, WitError> {
        if limit > self.limits.page_rows() {
            return Err(WitError::LimitExceeded(format!(
                "page limit {limit} is above the host's cap of {} rows",
                self.limits.page_rows()
            )));
        }
        Ok(Page::after(after_id, limit).max_bytes(self.limits.page_bytes()))
    }

    fn create_mission_impl(
        &mut self,
        phase: WitPhase,
        metadata: String,
    ) -> Result<String, WitError> {
        self.scope.check_create()?;
        let metadata = self.limits.json("metadata", metadata)?;
        let id = self.store.create_mission(phase.into(), metadata)?;
        self.scope.created(id.clone());
        Ok(id.into())
    }

    fn update_mission_status_impl(&mut self, id: &str, status: WitStatus) -> Result<(), WitError> {
        let id = mission_id(id)?;
        self.scope.check_write(&id)?;
        Ok(self.store.update_mission_status(&id, status.into())?)
    }

    fn get_mission_impl(&mut self, id: &str) -> Result<WitMission, WitError> {
        let id = mission_id(id)?;
        self.scope.check_read(&id)?;
        Ok(self.store.get_mission(&id)?.into())
    }

    fn get_mission_history_impl(&mut self, limit: u32) -> Result<Vec<WitMission>, WitError> {
        self.scope.check_list()?;
        self.page(None, limit)?;
        let missions = self.store.get_mission_history(limit)?;
        Ok(missions.into_iter().map(Into::into).collect())
    }

    fn log_tool_call_impl(&mut self, mission: &str, call: WitNewToolCall) -> Result<i64, WitError> {
        let mission = mission_id(mission)?;
        self.scope.check_write(&mission)?;
        let call = call.into_store(&self.limits)?;
        Ok(self.store.log_tool_call(&mission, call)?.get())
    }

    fn record_decision_impl(
        &mut self,
        mission: &str,
        decision_type: &str,
        rationale: &str,
        agent_name: &str,
        context: Option<String>,
    ) -> Result<i64, WitError> {
        let mission = mission_id(mission)?;
        self.scope.check_write(&mission)?;
        let context = context
            .map(|c| self.limits.json("context", c))
            .transpose()?;
        let decision = NewDecision {
            context,
            ..NewDecision::new(decision_type, rationale, agent_name)
        };
        let id = self.store.record_decision(&mission, decision)?;
        Ok(id.get())
    }

    fn get_tool_history_impl(
        &mut self,
        mission: &str,
        after_id: Option<i64>,
        limit: u32,
    ) -> Result<Vec<WitToolCall>, WitError> {
        let mission = mission_id(mission)?;
        self.scope.check_read(&mission)?;
        let page = self.page(after_id, limit)?;
        let calls = self.store.get_tool_history_page(&mission, page)?;
        Ok(calls.into_iter().map(Into::into).collect())
    }

    fn get_decisions_impl(
        &mut self,
        mission: &str,
        after_id: Option<i64>,
        limit: u32,
    ) -> Result<Vec<WitDecision>, WitError> {
        let mission = mission_id(mission)?;
        self.scope.check_read(&mission)?;
        let page = self.page(after_id, limit)?;
        let decisions = self.store.get_decisions_page(&mission, page)?;
        Ok(decisions.into_iter().map(Into::into).collect())
    }

    fn memory_set_impl(
        &mut self,
        mission: &str,
        key: &str,
        value: String,
        ttl_seconds: Option<u32>,
    ) -> Result<(), WitError> {
        let mission = mission_id(mission)?;
        self.scope.check_write(&mission)?;
        let value = self.limits.json("memory value", value)?;
        Ok(self.store.set_memory(&mission, key, value, ttl_seconds)?)
    }

    fn memory_get_impl(&mut self, mission: &str, key: &str) -> Result<Option<String>, WitError> {
        let mission = mission_id(mission)?;
        self.scope.check_read(&mission)?;
        let value = self.store.get_memory(&mission, key)?;
        Ok(value.map(store::Json::into_string))
    }

    fn memory_delete_impl(&mut self, mission: &str, key: &str) -> Result<bool, WitError> {
        let mission = mission_id(mission)?;
        self.scope.check_write(&mission)?;
        Ok(self.store.delete_memory(&mission, key)?)
    }
}

/// A mission id from the guest, parsed as every id from outside is.
fn mission_id(text: &str) -> Result<MissionId, WitError> {
    Ok(MissionId::parse(text)?)
}

impl vibe::store::types::Host for Invocation {}

impl vibe::store::missions::Host for Invocation {
    fn create_mission(&mut self, phase: WitPhase, metadata: String) -> Reply<String> {
        self.guarded("create-mission", |h| h.create_mission_impl(phase, metadata))
    }
    fn update_mission_status(&mut self, id: String, status: WitStatus) -> Reply<()> {
        self.guarded("update-mission-status", |h| {
            h.update_mission_status_impl(&id, status)
        })
    }
    fn get_mission(&mut self, id: String) -> Reply<WitMission> {
        self.guarded("get-mission", |h| h.get_mission_impl(&id))
    }
    fn get_mission_history(&mut self, limit: u32) -> Reply<Vec<WitMission>> {
        self.guarded("get-mission-history", |h| h.get_mission_history_impl(limit))
    }
}

impl vibe::store::audit::Host for Invocation {
    fn log_tool_call(&mut self, mission: String, call: WitNewToolCall) -> Reply<i64> {
        self.guarded("log-tool-call", |h| h.log_tool_call_impl(&mission, call))
    }
    fn record_decision(
        &mut self,
        mission: String,
        decision_type: String,
        rationale: String,
        agent_name: String,
        context: Option<String>,
    ) -> Reply<i64> {
        self.guarded("record-decision", |h| {
            h.record_decision_impl(&mission, &decision_type, &rationale, &agent_name, context)
        })
    }
    fn get_tool_history(
        &mut self,
        mission: String,
        after_id: Option<i64>,
        limit: u32,
    ) -> Reply<Vec<WitToolCall>> {
        self.guarded("get-tool-history", |h| {
            h.get_tool_history_impl(&mission, after_id, limit)
        })
    }
    fn get_decisions(
        &mut self,
        mission: String,
        after_id: Option<i64>,
        limit: u32,
    ) -> Reply<Vec<WitDecision>> {
        self.guarded("get-decisions", |h| {
            h.get_decisions_impl(&mission, after_id, limit)
        })
    }
}

impl vibe::store::memory::Host for Invocation {
    fn set(
        &mut self,
        mission: String,
        key: String,
        value: String,
        ttl_seconds: Option<u32>,
    ) -> Reply<()> {
        self.guarded("memory.set", |h| {
            h.memory_set_impl(&mission, &key, value, ttl_seconds)
        })
    }
    fn get(&mut self, mission: String, key: String) -> Reply<Option<String>> {
        self.guarded("memory.get", |h| h.memory_get_impl(&mission, &key))
    }
    fn delete(&mut self, mission: String, key: String) -> Reply<bool> {
        self.guarded("memory.delete", |h| h.memory_delete_impl(&mission, &key))
    }
}

// ---- conversions between WIT and store types --------------------------------

impl From<Denied> for WitError {
    fn from(denied: Denied) -> Self {
        WitError::AccessDenied(denied.0)
    }
}

impl WitError {
    /// The variant's name, for traces.
    fn name(&self) -> &'static str {
        match self {
            WitError::MissionNotFound(_) => "mission-not-found",
            WitError::InvalidInput(_) => "invalid-input",
            WitError::AccessDenied(_) => "access-denied",
            WitError::LimitExceeded(_) => "limit-exceeded",
            WitError::Internal(_) => "internal",
        }
    }
}

impl From<store::StoreError> for WitError {
    fn from(err: store::StoreError) -> Self {
        use store::StoreError as E;
        match err {
            E::MissionNotFound(id) => WitError::MissionNotFound(id),
            E::InvalidInput(why) => WitError::InvalidInput(why),
            E::LimitExceeded(why) => WitError::LimitExceeded(why),
            other => WitError::Internal(other.to_string()),
        }
    }
}

impl From<WitPhase> for store::Phase {
    fn from(phase: WitPhase) -> Self {
        match phase {
            WitPhase::Planning => store::Phase::Planning,
            WitPhase::Coding => store::Phase::Coding,
            WitPhase::Testing => store::Phase::Testing,
            WitPhase::Deployment => store::Phase::Deployment,
            WitPhase::Maintenance => store::Phase::Maintenance,
        }
    }
}

impl From<store::Phase> for WitPhase {
    fn from(phase: store::Phase) -> Self {
        match phase {
            store::Phase::Planning => WitPhase::Planning,
            store::Phase::Coding => WitPhase::Coding,
            store::Phase::Testing => WitPhase::Testing,
            store::Phase::Deployment => WitPhase::Deployment,
            store::Phase::Maintenance => WitPhase::Maintenance,
        }
    }
}

impl From<WitStatus> for store::MissionStatus {
    fn from(status: WitStatus) -> Self {
        match status {
            WitStatus::Pending => store::MissionStatus::Pending,
            WitStatus::InProgress => store::MissionStatus::InProgress,
            WitStatus::Completed => store::MissionStatus::Completed,
            WitStatus::Failed => store::MissionStatus::Failed,
        }
    }
}

impl From<store::MissionStatus> for WitStatus {
    fn from(status: store::MissionStatus) -> Self {
        match status {
            store::MissionStatus::Pending => WitStatus::Pending,
            store::MissionStatus::InProgress => WitStatus::InProgress,
            store::MissionStatus::Completed => WitStatus::Completed,
            store::MissionStatus::Failed => WitStatus::Failed,
        }
    }
}

impl From<store::Mission> for WitMission {
    fn from(m: store::Mission) -> Self {
        WitMission {
            id: m.mission_uuid.into(),
            phase: m.phase.into(),
            status: m.status.into(),
            created_at: m.created_at.to_string(),
            completed_at: m.completed_at.map(|at| at.to_string()),
            metadata: m
                .metadata
                .map_or_else(|| "null".to_owned(), store::Json::into_string),
        }
    }
}

impl From<store::ToolCall> for WitToolCall {
    fn from(c: store::ToolCall) -> Self {
        WitToolCall {
            id: c.id.get(),
            mission: c.mission_uuid.into(),
            tool_name: c.tool_name,
            args: c.args.into_string(),
            result: c.result.map(store::Json::into_string),
            timestamp: c.timestamp.to_string(),
            // Another program may have stored a negative duration; it has no
            // u64 form, so it reads as absent.
            duration_ms: c.duration_ms.and_then(|d| u64::try_from(d).ok()),
            success: c.success,
            error_message: c.error_message,
        }
    }
}

impl From<store::Decision> for WitDecision {
    fn from(d: store::Decision) -> Self {
        WitDecision {
            id: d.id.get(),
            mission: d.mission_uuid.into(),
            decision_type: d.decision_type,
            rationale: d.rationale.unwrap_or_default(),
            agent_name: d.agent_name.unwrap_or_default(),
            timestamp: d.timestamp.to_string(),
            context: d.context.map(store::Json::into_string),
        }
    }
}

impl WitNewToolCall {
    fn into_store(self, limits: &Limits) -> Result<store::NewToolCall, store::StoreError> {
        let duration_ms = self
            .duration_ms
            .map(|d| {
                i64::try_from(d).map_err(|_| {
                    store::StoreError::InvalidInput(format!("duration-ms {d} is out of range"))
                })
            })
            .transpose()?;
        Ok(store::NewToolCall {
            args: limits.json("args", self.args)?,
            result: self.result.map(|r| limits.json("result", r)).transpose()?,
            tool_name: self.tool_name,
            success: self.success,
            duration_ms,
            error_message: self.error_message,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A guest's duration goes through the store's one range check: what
    /// `log-tool-call` hands the store is refused before any SQL runs.
    #[test]
    fn a_guest_duration_past_the_range_is_refused() {
        let call = |ms: u64| WitNewToolCall {
            tool_name: "t".into(),
            args: "{}".into(),
            result: None,
            success: true,
            duration_ms: Some(ms),
            error_message: None,
        };
        let limits = Limits::default();
        let year = store::MAX_DURATION_MS as u64;
        assert!(call(year).into_store(&limits).unwrap().validate().is_ok());
        for ms in [year + 1, 1_764_495_000_000_000_000, u64::MAX] {
            let refused = call(ms)
                .into_store(&limits)
                .and_then(|c| c.validate())
                .unwrap_err();
            assert!(refused.to_string().contains("duration"), "{refused}");
        }
    }
}
