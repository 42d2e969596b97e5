//! [`MissionStore`]: the operations the sandbox needs, as a trait.
//!
//! The sandbox holds an `Arc<dyn MissionStore>` and nothing else of the
//! store, so a second backend (for deployments that outgrow one machine) can
//! be added without touching the sandbox. [`SqliteStore`] is the one backend
//! today; its inherent methods are the same operations.

use std::sync::Arc;

use super::error::Result;
use super::json::Json;
use super::model::{
    Decision, InvocationEnd, InvocationStart, Mission, MissionStatus, NewToolCall, Page, Phase,
    ToolCall,
};
use super::sqlite::SqliteStore;

/// The store operations a sandboxed tool can reach, each validated by the
/// backend exactly as [`SqliteStore`] validates them, plus the invocation
/// rows the sandbox writes around each run.
///
/// Values cross by value: the sandbox builds them for one call, so nothing
/// is copied on the way to the backend.
pub trait MissionStore: Send + Sync + 'static {
    /// A handle on the same store whose writes are recorded as made by the
    /// tool running in `invocation` (provenance).
    fn within_invocation(&self, invocation: i64) -> Arc<dyn MissionStore>;
    /// Writes an invocation's row before the tool runs; returns its id.
    fn begin_invocation(&self, mission: &str, start: &InvocationStart) -> Result<i64>;
    /// Writes how an invocation ended into its row.
    fn end_invocation(&self, invocation: i64, end: &InvocationEnd) -> Result<()>;
    /// Writes the row of an invocation that began and ended at once.
    fn record_invocation(
        &self,
        mission: &str,
        start: &InvocationStart,
        end: &InvocationEnd,
    ) -> Result<i64>;

    fn create_mission(&self, phase: Phase, metadata: Json) -> Result<String>;
    fn update_mission_status(&self, mission: &str, status: MissionStatus) -> Result<()>;
    fn get_mission(&self, mission: &str) -> Result<Mission>;
    fn get_mission_history(&self, limit: u32) -> Result<Vec<Mission>>;
    fn log_tool_call(&self, mission: &str, call: NewToolCall) -> Result<i64>;
    fn record_decision(
        &self,
        mission: &str,
        decision_type: &str,
        rationale: &str,
        agent_name: &str,
        context: Option<Json>,
    ) -> Result<i64>;
    fn get_tool_history_page(&self, mission: &str, page: Page) -> Result<Vec<ToolCall>>;
    fn get_decisions_page(&self, mission: &str, page: Page) -> Result<Vec<Decision>>;
    fn set_memory(
        &self,
        mission: &str,
        key: &str,
        value: Json,
        ttl_seconds: Option<u32>,
    ) -> Result<()>;
    fn get_memory(&self, mission: &str, key: &str) -> Result<Option<Json>>;
    fn delete_memory(&self, mission: &str, key: &str) -> Result<bool>;
}

impl MissionStore for SqliteStore {
    fn within_invocation(&self, invocation: i64) -> Arc<dyn MissionStore> {
        Arc::new(SqliteStore::within_invocation(self, invocation))
    }
    fn begin_invocation(&self, mission: &str, start: &InvocationStart) -> Result<i64> {
        SqliteStore::begin_invocation(self, mission, start)
    }
    fn end_invocation(&self, invocation: i64, end: &InvocationEnd) -> Result<()> {
        SqliteStore::end_invocation(self, invocation, end)
    }
    fn record_invocation(
        &self,
        mission: &str,
        start: &InvocationStart,
        end: &InvocationEnd,
    ) -> Result<i64> {
        SqliteStore::record_invocation(self, mission, start, end)
    }
    fn create_mission(&self, phase: Phase, metadata: Json) -> Result<String> {
        SqliteStore::create_mission(self, phase, metadata)
    }
    fn update_mission_status(&self, mission: &str, status: MissionStatus) -> Result<()> {
        SqliteStore::update_mission_status(self, mission, status)
    }
    fn get_mission(&self, mission: &str) -> Result<Mission> {
        SqliteStore::get_mission(self, mission)
    }
    fn get_mission_history(&self, limit: u32) -> Result<Vec<Mission>> {
        SqliteStore::get_mission_history(self, limit)
    }
    fn log_tool_call(&self, mission: &str, call: NewToolCall) -> Result<i64> {
        SqliteStore::log_owned_tool_call(self, mission, call)
    }
    fn record_decision(
        &self,
        mission: &str,
        decision_type: &str,
        rationale: &str,
        agent_name: &str,
        context: Option<Json>,
    ) -> Result<i64> {
        SqliteStore::record_decision(self, mission, decision_type, rationale, agent_name, context)
    }
    fn get_tool_history_page(&self, mission: &str, page: Page) -> Result<Vec<ToolCall>> {
        SqliteStore::get_tool_history_page(self, mission, page)
    }
    fn get_decisions_page(&self, mission: &str, page: Page) -> Result<Vec<Decision>> {
        SqliteStore::get_decisions_page(self, mission, page)
    }
    fn set_memory(
        &self,
        mission: &str,
        key: &str,
        value: Json,
        ttl_seconds: Option<u32>,
    ) -> Result<()> {
        SqliteStore::set_memory(self, mission, key, value, ttl_seconds)
    }
    fn get_memory(&self, mission: &str, key: &str) -> Result<Option<Json>> {
        SqliteStore::get_memory(self, mission, key)
    }
    fn delete_memory(&self, mission: &str, key: &str) -> Result<bool> {
        SqliteStore::delete_memory(self, mission, key)
    }
}
