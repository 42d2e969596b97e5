//! `vibe_store.SQLiteStore`: the ARCH-002 API over [`AnyStore`], and the
//! rest of the store in Python style. Every call releases the GIL while the
//! store works (`Python::detach`), so other Python threads run meanwhile.

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::PathBuf;
use std::sync::RwLock;
use std::time::Duration;

use chrono::{DateTime, Utc};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use vibe_store::store::{
    DecisionFilter, ExportFilter, ExportLines, ImportScope, MissionFilter, Timestamp,
    ToolCallFilter, DEFAULT_DB_PATH,
};
use vibe_store::{
    AnyStore, Durability, MissionId, MissionStatus, MissionStore, NewDecision, NewToolCall,
    OpenOptions, Phase, PlaybookRunId, ToolCallId,
};

use crate::errors::{closed, invalid, store_error, store_error_at, OrRaise};
use crate::json::{from_json, from_serialize, to_json, to_json_opt};
use crate::rows;

/// The mission store (ARCH-002's ``SQLiteStore``): one SQLite file,
/// created with its parent folders on first use, or a PostgreSQL database
/// when ``db_path`` is a ``postgres://`` or ``postgresql://`` URL.
///
/// JSON values (``metadata``, ``args``, ``result``, ``context``, memory
/// values, ``metrics``) are stored as ``json.dumps`` writes them and come
/// back as ``json.loads`` reads them; NaN, infinities and values JSON cannot
/// carry raise ``InvalidInputError``.
///
/// Raises (constructor): ``InvalidInputError`` for an unknown durability or
/// a malformed URL; ``ReadOnlyError`` when the folder or file cannot be
/// written; ``DatabaseError`` (kind ``unusable_file``) when the file is not
/// a vibe-store database or is from a newer version; ``DatabaseError``
/// (kind ``storage``) when PostgreSQL cannot be reached.
#[pyclass(name = "SQLiteStore", module = "vibe_store", subclass, frozen)]
pub struct Store {
    /// `None` once closed.
    store: RwLock<Option<AnyStore>>,
    location: String,
    backend: &'static str,
    path: Option<PathBuf>,
}

/// A mission uuid from Python text; refused (`InvalidInputError`) unless it
/// is one.
fn mission_id(text: &str) -> PyResult<MissionId> {
    MissionId::parse(text).or_raise()
}

/// An instant from a `datetime` (naive means UTC) or text in any spelling
/// the store reads.
fn instant(value: Option<&Bound<'_, PyAny>>, what: &str) -> PyResult<Option<DateTime<Utc>>> {
    let Some(value) = value.filter(|v| !v.is_none()) else {
        return Ok(None);
    };
    let text: String = if let Ok(text) = value.extract::<String>() {
        text
    } else if value.hasattr("isoformat")? {
        value.call_method0("isoformat")?.extract()?
    } else {
        return Err(invalid(format!(
            "{what} must be a datetime or text, not {}",
            value.get_type().name()?
        )));
    };
    Timestamp::from_stored(&text)
        .instant()
        .map(Some)
        .ok_or_else(|| invalid(format!("{what} {text:?} is not a time the store reads")))
}

/// `items` as a list of dicts, each made by `row`.
fn dicts<'py, T>(
    py: Python<'py>,
    items: &[T],
    row: fn(Python<'py>, &T) -> PyResult<Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyList>> {
    PyList::new(
        py,
        items
            .iter()
            .map(|item| row(py, item))
            .collect::<PyResult<Vec<_>>>()?,
    )
}

/// What a listing that hands rows to a callback hands it, in order.
fn collected<T>(
    find: impl FnOnce(
        &mut dyn FnMut(T) -> vibe_store::store::Result<()>,
    ) -> vibe_store::store::Result<()>,
) -> vibe_store::store::Result<Vec<T>> {
    let mut items = Vec::new();
    find(&mut |item| {
        items.push(item);
        Ok(())
    })?;
    Ok(items)
}

fn page_limit(limit: Option<i64>, what: &str) -> PyResult<Option<u32>> {
    limit
        .map(|l| {
            u32::try_from(l).map_err(|_| invalid(format!("{what} must be 0 or more, not {l}")))
        })
        .transpose()
}

/// A location (`str` or `os.PathLike`) as text: a path or a URL.
fn location_text(value: &Bound<'_, PyAny>) -> PyResult<String> {
    if let Ok(text) = value.extract::<String>() {
        return Ok(text);
    }
    let path: PathBuf = value.extract()?;
    path.into_os_string()
        .into_string()
        .map_err(|p| invalid(format!("the database path {p:?} is not valid UTF-8")))
}

fn new_tool_call(
    tool_name: String,
    args: &Bound<'_, PyAny>,
    result: Option<&Bound<'_, PyAny>>,
    success: bool,
    duration_ms: Option<i64>,
    error_message: Option<String>,
) -> PyResult<NewToolCall> {
    if args.is_none() {
        return Err(invalid(
            "args is required (a JSON value; None is not one a tool call carries)",
        ));
    }
    let mut call = NewToolCall::success(tool_name, to_json("args", args)?);
    call.result = to_json_opt("result", result)?;
    call.success = success;
    call.duration_ms = duration_ms;
    call.error_message = error_message;
    Ok(call)
}

impl Store {
    /// A handle on the store, or `DatabaseError` (kind `closed`) once
    /// `close()` was called.
    pub(crate) fn handle(&self) -> PyResult<AnyStore> {
        let guard = self.store.read().unwrap_or_else(|e| e.into_inner());
        guard.clone().ok_or_else(closed)
    }
}

#[pymethods]
impl Store {
    /// Opens (creating and migrating as needed) the store.
    ///
    /// ``durability``: ``"full"`` (every acknowledged write survives power
    /// loss; the default, or ``VIBE_DURABILITY``) or ``"normal"`` (survives a
    /// crash of the process). ``busy_timeout_ms``: how long a write waits
    /// for another writer's lock (default 30,000). ``read_only``: nothing is
    /// created or changed; writes raise ``ReadOnlyError``.
    #[new]
    #[pyo3(signature = (db_path = None, *, durability = None, busy_timeout_ms = None, read_only = false))]
    fn new(
        py: Python<'_>,
        db_path: Option<&Bound<'_, PyAny>>,
        durability: Option<&str>,
        busy_timeout_ms: Option<u64>,
        read_only: bool,
    ) -> PyResult<Self> {
        let location = match db_path {
            Some(p) => location_text(p)?,
            None => DEFAULT_DB_PATH.to_owned(),
        };
        let durability = match durability {
            Some(d) => d.to_owned(),
            None => std::env::var("VIBE_DURABILITY").unwrap_or_else(|_| "full".into()),
        };
        let mut options =
            OpenOptions::default().durability(durability.parse::<Durability>().or_raise()?);
        if let Some(ms) = busy_timeout_ms {
            options = options.busy_timeout(Duration::from_millis(ms));
        }
        if read_only {
            options = options.read_only();
        }
        let store = py
            .detach(|| AnyStore::open_with(&location, options))
            .or_raise()?;
        let path = store.as_sqlite().map(|_| PathBuf::from(&location));
        Ok(Store {
            location: store.location(),
            backend: store.backend(),
            store: RwLock::new(Some(store)),
            path,
        })
    }

    /// The SQLite file. Raises ``AttributeError`` on PostgreSQL.
    #[getter]
    fn db_path<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        match &self.path {
            Some(path) => py.import("pathlib")?.getattr("Path")?.call1((path,)),
            None => Err(pyo3::exceptions::PyAttributeError::new_err(
                "a PostgreSQL store has no file; its location is in .location",
            )),
        }
    }

    /// The file's path, or the URL without its password.
    #[getter]
    fn location(&self) -> String {
        self.location.clone()
    }

    /// `"sqlite"` or `"postgres"`.
    #[getter]
    fn backend(&self) -> &'static str {
        self.backend
    }

    /// The schema version the database is at (``PRAGMA user_version``).
    #[getter]
    fn schema_version(&self, py: Python<'_>) -> PyResult<u32> {
        let store = self.handle()?;
        py.detach(|| store.schema_version()).or_raise()
    }

    /// Creates or migrates the schema; opening already did. Idempotent.
    fn init_db(&self, py: Python<'_>) -> PyResult<()> {
        let store = self.handle()?;
        py.detach(|| store.init_db()).or_raise().map(drop)
    }

    /// Creates a ``pending`` mission; returns its uuid (UUID4, 36
    /// characters). ``phase`` is one of PLANNING, CODING, TESTING,
    /// DEPLOYMENT, MAINTENANCE (any letter case); ``metadata`` ``None``
    /// is stored as ``{}``.
    ///
    /// Raises ``InvalidInputError`` for an unknown phase or metadata that
    /// is not JSON.
    #[pyo3(signature = (phase, metadata = None))]
    fn create_mission(
        &self,
        py: Python<'_>,
        phase: &str,
        metadata: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<String> {
        let store = self.handle()?;
        let phase = phase.parse::<Phase>().or_raise()?;
        let metadata = match metadata {
            Some(m) if !m.is_none() => to_json("metadata", m)?,
            _ => vibe_store::Json::parse("metadata", "{}").or_raise()?,
        };
        let id = py
            .detach(|| store.create_mission(phase, metadata))
            .or_raise()?;
        Ok(id.as_str().to_owned())
    }

    /// Sets the status (pending, in_progress, completed, failed);
    /// completed and failed stamp ``completed_at``.
    ///
    /// Raises ``MissionNotFoundError``, ``InvalidInputError`` (unknown
    /// status, or a move the store refuses, such as out of a terminal
    /// status).
    fn update_mission_status(
        &self,
        py: Python<'_>,
        mission_uuid: &str,
        status: &str,
    ) -> PyResult<()> {
        let store = self.handle()?;
        let mission = mission_id(mission_uuid)?;
        let status = status.parse::<MissionStatus>().or_raise()?;
        py.detach(|| store.update_mission_status(&mission, status))
            .or_raise()
    }

    /// One mission. Raises ``MissionNotFoundError``.
    fn get_mission<'py>(
        &self,
        py: Python<'py>,
        mission_uuid: &str,
    ) -> PyResult<Bound<'py, PyDict>> {
        let store = self.handle()?;
        let mission = mission_id(mission_uuid)?;
        let m = py.detach(|| store.get_mission(&mission)).or_raise()?;
        rows::mission(py, &m)
    }

    /// The ``limit`` newest missions, newest first (``limit`` 0 to 1,000;
    /// more raises ``LimitExceededError``).
    #[pyo3(signature = (limit = 10))]
    fn get_mission_history<'py>(
        &self,
        py: Python<'py>,
        limit: i64,
    ) -> PyResult<Bound<'py, PyList>> {
        let store = self.handle()?;
        let limit = page_limit(Some(limit), "limit")?.unwrap_or(10);
        let missions = py.detach(|| store.get_mission_history(limit)).or_raise()?;
        dicts(py, &missions, rows::mission)
    }

    /// Missions newest first, filtered: created at or after ``since``
    /// and before ``until``, ``search`` text in the uuid or metadata; page
    /// on with ``before_id`` = the last row's ``id``.
    #[pyo3(signature = (*, status = None, phase = None, since = None, until = None, search = None, before_id = None, limit = 50))]
    #[allow(clippy::too_many_arguments)]
    fn find_missions<'py>(
        &self,
        py: Python<'py>,
        status: Option<&str>,
        phase: Option<&str>,
        since: Option<&Bound<'py, PyAny>>,
        until: Option<&Bound<'py, PyAny>>,
        search: Option<String>,
        before_id: Option<i64>,
        limit: i64,
    ) -> PyResult<Bound<'py, PyList>> {
        let store = self.handle()?;
        let mut filter = MissionFilter::newest(page_limit(Some(limit), "limit")?.unwrap_or(50));
        filter.status = status
            .map(str::parse::<MissionStatus>)
            .transpose()
            .or_raise()?;
        filter.phase = phase.map(str::parse::<Phase>).transpose().or_raise()?;
        filter.since = instant(since, "since")?;
        filter.until = instant(until, "until")?;
        filter.search = search;
        filter.before_id = before_id;
        let missions = py.detach(|| store.find_missions(&filter)).or_raise()?;
        dicts(py, &missions, rows::mission)
    }

    /// Records one tool call (chained, durable when this returns);
    /// returns its row id. ``duration_ms`` in milliseconds (0 to one year).
    ///
    /// Raises ``MissionNotFoundError``; ``InvalidInputError`` (a name of 1
    /// to 256 bytes required, JSON that is not JSON, a negative duration);
    /// ``LimitExceededError`` (a JSON value over 1 MiB).
    #[pyo3(signature = (mission_uuid, tool_name, args, result = None, success = true, duration_ms = None, error_message = None))]
    #[allow(clippy::too_many_arguments)]
    fn log_tool_call(
        &self,
        py: Python<'_>,
        mission_uuid: &str,
        tool_name: String,
        args: &Bound<'_, PyAny>,
        result: Option<&Bound<'_, PyAny>>,
        success: bool,
        duration_ms: Option<i64>,
        error_message: Option<String>,
    ) -> PyResult<i64> {
        let store = self.handle()?;
        let mission = mission_id(mission_uuid)?;
        let call = new_tool_call(tool_name, args, result, success, duration_ms, error_message)?;
        let id = py
            .detach(|| store.log_tool_call(&mission, call))
            .or_raise()?;
        Ok(id.into())
    }

    /// Records many calls in one transaction, all or none (see
    /// ``ToolCallInput`` for each mapping's keys); returns their ids in
    /// order. Raises as ``log_tool_call``, naming the call refused.
    fn log_tool_calls(
        &self,
        py: Python<'_>,
        mission_uuid: &str,
        calls: &Bound<'_, PyAny>,
    ) -> PyResult<Vec<i64>> {
        let store = self.handle()?;
        let mission = mission_id(mission_uuid)?;
        let mut batch = Vec::new();
        for (i, call) in calls.try_iter()?.enumerate() {
            let call = call?;
            let get = |key: &str| -> PyResult<Option<Bound<'_, PyAny>>> {
                match call.get_item(key) {
                    Ok(v) if !v.is_none() => Ok(Some(v)),
                    Ok(_) => Ok(None),
                    Err(e) if e.is_instance_of::<pyo3::exceptions::PyKeyError>(py) => Ok(None),
                    Err(e) => Err(e),
                }
            };
            let tool_name: String = get("tool_name")?
                .ok_or_else(|| invalid(format!("call {i} has no tool_name")))?
                .extract()?;
            let args = get("args")?.ok_or_else(|| invalid(format!("call {i} has no args")))?;
            let success = get("success")?
                .map(|s| s.extract::<bool>())
                .transpose()?
                .unwrap_or(true);
            let duration_ms = get("duration_ms")?
                .map(|d| d.extract::<i64>())
                .transpose()?;
            let error_message = get("error_message")?
                .map(|e| e.extract::<String>())
                .transpose()?;
            let result = get("result")?;
            batch.push(new_tool_call(
                tool_name,
                &args,
                result.as_ref(),
                success,
                duration_ms,
                error_message,
            )?);
        }
        let ids = py
            .detach(|| store.log_tool_calls(&mission, batch))
            .or_raise()?;
        Ok(ids.into_iter().map(i64::from).collect())
    }

    /// Every tool call of the mission, oldest first. Raises
    /// ``MissionNotFoundError``.
    fn get_tool_history<'py>(
        &self,
        py: Python<'py>,
        mission_uuid: &str,
    ) -> PyResult<Bound<'py, PyList>> {
        let store = self.handle()?;
        let mission = mission_id(mission_uuid)?;
        let calls = py.detach(|| store.get_tool_history(&mission)).or_raise()?;
        dicts(py, &calls, rows::tool_call)
    }

    /// Tool calls oldest first, of one mission or all, filtered by tool
    /// name (any of ``tools``), success and time; page on with ``after_id``
    /// = the last row's ``id``.
    #[pyo3(signature = (mission_uuid = None, *, tools = None, success = None, since = None, until = None, after_id = None, limit = None))]
    #[allow(clippy::too_many_arguments)]
    fn find_tool_calls<'py>(
        &self,
        py: Python<'py>,
        mission_uuid: Option<&str>,
        tools: Option<Vec<String>>,
        success: Option<bool>,
        since: Option<&Bound<'py, PyAny>>,
        until: Option<&Bound<'py, PyAny>>,
        after_id: Option<i64>,
        limit: Option<i64>,
    ) -> PyResult<Bound<'py, PyList>> {
        let store = self.handle()?;
        let mut filter = ToolCallFilter::default();
        filter.mission = mission_uuid.map(mission_id).transpose()?;
        filter.tools = tools.unwrap_or_default();
        filter.success = success;
        filter.since = instant(since, "since")?;
        filter.until = instant(until, "until")?;
        filter.after_id = after_id;
        filter.limit = page_limit(limit, "limit")?;
        let calls = py
            .detach(|| collected(|f| store.find_tool_calls(&filter, f)))
            .or_raise()?;
        dicts(py, &calls, rows::tool_call)
    }

    /// One tool call by row id. Raises ``NotFoundError``.
    fn get_tool_call<'py>(&self, py: Python<'py>, id: i64) -> PyResult<Bound<'py, PyDict>> {
        let store = self.handle()?;
        let call = py
            .detach(|| store.get_tool_call(ToolCallId::from(id)))
            .or_raise()?;
        rows::tool_call(py, &call)
    }

    /// Records a decision (chained, durable when this returns); returns
    /// its row id. Raises ``MissionNotFoundError``, ``InvalidInputError``.
    #[pyo3(signature = (mission_uuid, decision_type, rationale, agent_name, context = None))]
    fn record_decision(
        &self,
        py: Python<'_>,
        mission_uuid: &str,
        decision_type: String,
        rationale: String,
        agent_name: String,
        context: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<i64> {
        let store = self.handle()?;
        let mission = mission_id(mission_uuid)?;
        let mut decision = NewDecision::new(decision_type, rationale, agent_name);
        decision.context = to_json_opt("context", context)?;
        let id = py
            .detach(|| store.record_decision(&mission, decision))
            .or_raise()?;
        Ok(id.into())
    }

    /// Every decision of the mission, oldest first.
    fn get_decisions<'py>(
        &self,
        py: Python<'py>,
        mission_uuid: &str,
    ) -> PyResult<Bound<'py, PyList>> {
        let store = self.handle()?;
        let mission = mission_id(mission_uuid)?;
        let decisions = py.detach(|| store.get_decisions(&mission)).or_raise()?;
        dicts(py, &decisions, rows::decision)
    }

    /// Decisions oldest first, filtered like ``find_tool_calls``.
    #[pyo3(signature = (mission_uuid = None, *, types = None, agents = None, since = None, until = None, after_id = None, limit = None))]
    #[allow(clippy::too_many_arguments)]
    fn find_decisions<'py>(
        &self,
        py: Python<'py>,
        mission_uuid: Option<&str>,
        types: Option<Vec<String>>,
        agents: Option<Vec<String>>,
        since: Option<&Bound<'py, PyAny>>,
        until: Option<&Bound<'py, PyAny>>,
        after_id: Option<i64>,
        limit: Option<i64>,
    ) -> PyResult<Bound<'py, PyList>> {
        let store = self.handle()?;
        let mut filter = DecisionFilter::default();
        filter.mission = mission_uuid.map(mission_id).transpose()?;
        filter.types = types.unwrap_or_default();
        filter.agents = agents.unwrap_or_default();
        filter.since = instant(since, "since")?;
        filter.until = instant(until, "until")?;
        filter.after_id = after_id;
        filter.limit = page_limit(limit, "limit")?;
        let decisions = py
            .detach(|| collected(|f| store.find_decisions(&filter, f)))
            .or_raise()?;
        dicts(py, &decisions, rows::decision)
    }

    /// Per-tool counts and durations, of one mission or all.
    #[pyo3(signature = (mission_uuid = None))]
    fn tool_stats<'py>(
        &self,
        py: Python<'py>,
        mission_uuid: Option<&str>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let store = self.handle()?;
        let mission = mission_uuid.map(mission_id).transpose()?;
        let stats = py
            .detach(|| store.tool_stats(mission.as_ref()))
            .or_raise()?;
        from_serialize(py, &stats)
    }

    /// Sets the mission's memory entry ``key`` (replacing it), expiring
    /// after ``ttl_seconds`` (0 to 2**32-1) when given.
    #[pyo3(signature = (mission_uuid, key, value, ttl_seconds = None))]
    fn set_memory(
        &self,
        py: Python<'_>,
        mission_uuid: &str,
        key: &str,
        value: &Bound<'_, PyAny>,
        ttl_seconds: Option<i64>,
    ) -> PyResult<()> {
        let store = self.handle()?;
        let mission = mission_id(mission_uuid)?;
        let value = to_json("value", value)?;
        let ttl = ttl_seconds
            .map(|t| {
                u32::try_from(t).map_err(|_| {
                    invalid(format!(
                        "ttl_seconds {t} is out of range; it must be 0 to {}",
                        u32::MAX
                    ))
                })
            })
            .transpose()?;
        py.detach(|| store.set_memory(&mission, key, value, ttl))
            .or_raise()
    }

    /// The value under ``key``, or ``None`` if there is none or it
    /// expired.
    fn get_memory<'py>(
        &self,
        py: Python<'py>,
        mission_uuid: &str,
        key: &str,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        let store = self.handle()?;
        let mission = mission_id(mission_uuid)?;
        let value = py.detach(|| store.get_memory(&mission, key)).or_raise()?;
        value.map(|v| from_json(py, &v)).transpose()
    }

    /// Deletes ``key``; whether there was one.
    fn delete_memory(&self, py: Python<'_>, mission_uuid: &str, key: &str) -> PyResult<bool> {
        let store = self.handle()?;
        let mission = mission_id(mission_uuid)?;
        py.detach(|| store.delete_memory(&mission, key)).or_raise()
    }

    /// Every entry of the mission that has not expired, by key.
    fn list_memory<'py>(
        &self,
        py: Python<'py>,
        mission_uuid: &str,
    ) -> PyResult<Bound<'py, PyList>> {
        let store = self.handle()?;
        let mission = mission_id(mission_uuid)?;
        let entries = py.detach(|| store.list_memory(&mission)).or_raise()?;
        dicts(py, &entries, rows::memory)
    }

    /// Starts a playbook run; returns its id.
    #[pyo3(signature = (mission_uuid, playbook_name, phase = None))]
    fn start_playbook_run(
        &self,
        py: Python<'_>,
        mission_uuid: &str,
        playbook_name: &str,
        phase: Option<&str>,
    ) -> PyResult<i64> {
        let store = self.handle()?;
        let mission = mission_id(mission_uuid)?;
        let phase = phase.map(str::parse::<Phase>).transpose().or_raise()?;
        let id = py
            .detach(|| store.start_playbook_run(&mission, playbook_name, phase))
            .or_raise()?;
        Ok(id.into())
    }

    /// Completes a run once. Raises ``NotFoundError``,
    /// ``InvalidInputError`` (already completed).
    #[pyo3(signature = (run_id, success, metrics = None, error_message = None))]
    fn complete_playbook_run(
        &self,
        py: Python<'_>,
        run_id: i64,
        success: bool,
        metrics: Option<&Bound<'_, PyAny>>,
        error_message: Option<&str>,
    ) -> PyResult<()> {
        let store = self.handle()?;
        let metrics = to_json_opt("metrics", metrics)?;
        py.detach(|| {
            store.complete_playbook_run(
                PlaybookRunId::from(run_id),
                success,
                metrics,
                error_message,
            )
        })
        .or_raise()
    }

    /// The mission's playbook runs, oldest first.
    fn get_playbook_runs<'py>(
        &self,
        py: Python<'py>,
        mission_uuid: &str,
    ) -> PyResult<Bound<'py, PyList>> {
        let store = self.handle()?;
        let mission = mission_id(mission_uuid)?;
        let runs = py.detach(|| store.get_playbook_runs(&mission)).or_raise()?;
        dicts(py, &runs, rows::playbook_run)
    }

    /// Recomputes hash chains (one mission's, or every mission's) and
    /// reports rows edited, deleted, inserted out of chain or moved, as
    /// ``vibe verify`` does.
    #[pyo3(signature = (mission_uuid = None))]
    fn verify<'py>(
        &self,
        py: Python<'py>,
        mission_uuid: Option<&str>,
    ) -> PyResult<Bound<'py, PyList>> {
        let store = self.handle()?;
        let mission = mission_uuid.map(mission_id).transpose()?;
        let reports = py
            .detach(|| {
                let mut reports = Vec::new();
                match &mission {
                    Some(m) => reports.push(store.verify_chain(m)?),
                    None => store.verify_chains(&mut |r| {
                        reports.push(r);
                        Ok(())
                    })?,
                }
                Ok::<_, vibe_store::StoreError>(reports)
            })
            .or_raise()?;
        let list = PyList::empty(py);
        for report in &reports {
            let item = from_serialize(py, report)?;
            item.set_item("intact", report.intact())?;
            list.append(item)?;
        }
        Ok(list)
    }

    /// Writes missions with all their rows, one JSON line each (the
    /// format of ``vibe export``), to ``path``, flushed to disk.
    #[pyo3(signature = (path, *, missions = None, since = None))]
    fn export_jsonl<'py>(
        &self,
        py: Python<'py>,
        path: PathBuf,
        missions: Option<Vec<String>>,
        since: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let store = self.handle()?;
        let mut filter = ExportFilter::default();
        filter.missions = missions
            .unwrap_or_default()
            .iter()
            .map(|m| mission_id(m))
            .collect::<PyResult<_>>()?;
        filter.since = instant(since, "since")?;
        let (written, rows, skipped) = py
            .detach(|| {
                let io = |e: std::io::Error| vibe_store::StoreError::Io {
                    path: path.clone(),
                    source: std::sync::Arc::new(e),
                };
                let mut out = BufWriter::new(File::create(&path).map_err(io)?);
                let (mut written, mut rows) = (0u64, 0u64);
                let skipped = store.export_jsonl(&filter, &mut |_, line, n| {
                    out.write_all(line.as_bytes())
                        .and_then(|_| out.write_all(b"\n"))
                        .map_err(io)?;
                    written += 1;
                    rows += n;
                    Ok(())
                })?;
                out.flush().map_err(io)?;
                out.get_ref().sync_all().map_err(io)?;
                Ok::<_, vibe_store::StoreError>((written, rows, skipped))
            })
            .or_raise()?;
        let summary = PyDict::new(py);
        summary.set_item("missions", written)?;
        summary.set_item("rows", rows)?;
        summary.set_item("skipped", from_serialize(py, &skipped)?)?;
        Ok(summary)
    }

    /// Imports a file ``export_jsonl`` or ``vibe export`` wrote, each
    /// line all or nothing, every row checked as a live write is. Stops at
    /// the first line refused, raising its error (``line N: ...``); lines
    /// before it stay imported.
    fn import_jsonl<'py>(&self, py: Python<'py>, path: PathBuf) -> PyResult<Bound<'py, PyDict>> {
        let store = self.handle()?;
        let (new, present) = py
            .detach(|| {
                let file = File::open(&path).map_err(|e| {
                    (
                        None,
                        vibe_store::StoreError::Io {
                            path: path.clone(),
                            source: std::sync::Arc::new(e),
                        },
                    )
                })?;
                let mut lines = ExportLines::new(BufReader::new(file));
                let mut scope = ImportScope::default();
                let (mut new, mut present) = (0u64, 0u64);
                while let Some((number, line)) = lines.next_line() {
                    match line.and_then(|l| store.import_jsonl_in(&l, &mut scope)) {
                        Ok((_, true)) => new += 1,
                        Ok((_, false)) => present += 1,
                        Err(e) => return Err((Some(number), e)),
                    }
                }
                Ok((new, present))
            })
            .map_err(|(line, e)| match line {
                Some(n) => store_error_at(e, &format!("line {n}")),
                None => store_error(e),
            })?;
        let summary = PyDict::new(py);
        summary.set_item("imported", new)?;
        summary.set_item("already_present", present)?;
        Ok(summary)
    }

    /// For the benchmark: ``n`` ``log_tool_call``s made from Rust on this
    /// store (JSON given as text), the call Python's is compared with.
    #[allow(clippy::too_many_arguments)]
    fn _log_tool_calls_from_rust(
        &self,
        py: Python<'_>,
        mission_uuid: &str,
        tool_name: &str,
        args: &str,
        result: &str,
        duration_ms: i64,
        n: u32,
    ) -> PyResult<()> {
        let store = self.handle()?;
        let mission = mission_id(mission_uuid)?;
        let args = vibe_store::Json::parse("args", args).or_raise()?;
        let result = vibe_store::Json::parse("result", result).or_raise()?;
        py.detach(|| {
            for _ in 0..n {
                let mut call = NewToolCall::success(tool_name, args.clone());
                call.result = Some(result.clone());
                call.duration_ms = Some(duration_ms);
                store.log_tool_call(&mission, call)?;
            }
            Ok::<(), vibe_store::StoreError>(())
        })
        .or_raise()
    }

    /// Releases this object's hold on the database (idempotent); later
    /// calls raise ``DatabaseError`` (kind ``closed``), calls running
    /// finish first. Connections close when nothing else holds the store
    /// (a ``Runtime`` made from it keeps it open).
    fn close(&self) {
        self.store.write().unwrap_or_else(|e| e.into_inner()).take();
    }

    /// Whether `close()` was called.
    #[getter]
    fn closed(&self) -> bool {
        self.store
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .is_none()
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    /// Closes the store; exceptions propagate.
    #[pyo3(signature = (*_args))]
    fn __exit__(&self, _args: &Bound<'_, pyo3::types::PyTuple>) -> bool {
        self.close();
        false
    }

    fn __repr__(&self) -> String {
        format!("SQLiteStore({:?})", self.location)
    }
}
