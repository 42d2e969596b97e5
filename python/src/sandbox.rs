//! `vibe_store.Runtime`: WebAssembly tools run for a mission, as `vibe run`
//! runs them (the same rows), with the GIL released while a tool runs.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use pyo3::prelude::*;
use vibe_store::sandbox::{
    default_cache_dir, Grants, Limits, Request, Runtime as Host, RuntimeConfig, Tool as HostTool,
};
use vibe_store::MissionId;

use crate::errors::{error, OrRaise};
use crate::json::{from_json, to_json};
use crate::store::Store;

/// A loaded component (``Runtime.load``).
#[pyclass(name = "Tool", module = "vibe_store", frozen)]
pub struct Tool {
    tool: Arc<HostTool>,
}

#[pymethods]
impl Tool {
    /// The tool's name (from its description, else its file name).
    #[getter]
    fn name(&self) -> &str {
        self.tool.name()
    }

    /// The component's SHA-256, in hex.
    #[getter]
    fn sha256(&self) -> &str {
        self.tool.digest()
    }

    /// ``name``, ``description``, ``input_schema``, ``output_schema``
    /// when the tool describes itself.
    #[getter]
    fn description<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        let Some(d) = self.tool.description() else {
            return Ok(None);
        };
        let dict = pyo3::types::PyDict::new(py);
        dict.set_item("name", &d.name)?;
        dict.set_item("description", &d.description)?;
        dict.set_item("input_schema", from_json(py, &d.input_schema)?)?;
        dict.set_item(
            "output_schema",
            d.output_schema
                .as_ref()
                .map(|s| from_json(py, s))
                .transpose()?,
        )?;
        Ok(Some(dict.into_any()))
    }

    fn __repr__(&self) -> String {
        format!(
            "Tool({:?}, sha256={:?})",
            self.tool.name(),
            self.tool.digest()
        )
    }
}

/// What one invocation did; its ``tool_calls`` row is ``invocation_id``.
#[pyclass(name = "RunReport", module = "vibe_store", frozen, get_all)]
pub struct RunReport {
    /// `"ok"`, or how it failed: `tool_error`, `timeout`, `memory_limit`,
    /// `stack_overflow`, `trap`, `exit`, `invalid_output`, `load_error`,
    /// `host_error`, `cancelled`.
    outcome: String,
    /// Whether the tool returned output.
    ok: bool,
    /// The tool's output (a Python value), or `None` when it failed.
    output: Py<PyAny>,
    /// Why it failed, or `None`.
    error: Option<String>,
    /// The id of the invocation's `tool_calls` row.
    invocation_id: i64,
    /// Wall-clock time of the run, in milliseconds.
    duration_ms: f64,
    /// What the tool wrote to stdout (capped).
    stdout: String,
    /// What the tool wrote to stderr (capped).
    stderr: String,
}

#[pymethods]
impl RunReport {
    fn __repr__(&self) -> String {
        format!(
            "RunReport(outcome={:?}, invocation_id={}, duration_ms={:.3})",
            self.outcome, self.invocation_id, self.duration_ms
        )
    }
}

/// The sandbox host: runs WebAssembly components compiled against
/// ``wit/`` for a mission, bounded in time and memory, with only the grants
/// given, every invocation a row written before the tool runs.
#[pyclass(name = "Runtime", module = "vibe_store", frozen)]
pub struct Runtime {
    host: Host,
}

#[pymethods]
impl Runtime {
    /// ``max_concurrent`` invocations at once (1 to 1,024; more wait);
    /// ``max_memory_mb``: the most linear memory any invocation may be
    /// given (1 to 4,096 MiB); ``cache_dir``: compiled components (default
    /// ``VIBE_CACHE_DIR`` or ``~/.cache/vibe-store/components``).
    /// Raises ``InvalidInputError`` (out of range), ``ToolLoadError``
    /// (kind ``engine``).
    #[new]
    #[pyo3(signature = (store, *, max_concurrent = 64, max_memory_mb = 1024, cache_dir = None))]
    fn new(
        py: Python<'_>,
        store: &Bound<'_, Store>,
        max_concurrent: u32,
        max_memory_mb: usize,
        cache_dir: Option<PathBuf>,
    ) -> PyResult<Self> {
        let mut config = RuntimeConfig::default()
            .max_concurrent(max_concurrent)
            .or_raise()?
            .max_memory_mb(max_memory_mb)
            .or_raise()?;
        if let Some(dir) = cache_dir.or_else(default_cache_dir) {
            config = config.cache_dir(dir);
        }
        let store = store.get().handle()?;
        let host = py.detach(|| Host::new(store, config)).or_raise()?;
        Ok(Runtime { host })
    }

    /// Loads and compiles (or finds in the cache) a component.
    /// Raises ``ToolLoadError``.
    fn load(&self, py: Python<'_>, path: PathBuf) -> PyResult<Tool> {
        let tool = py
            .detach(|| self.host.load(&path))
            .map_err(|e| error(vibe_store::Error::from(e)))?;
        Ok(Tool { tool })
    }

    /// Runs the tool once for ``mission_uuid`` with ``input``. A tool's
    /// failure (its error, a timeout, a trap, a component that does not
    /// load when given by path) is a report with ``ok`` false, recorded in
    /// its row; exceptions are for what leaves no invocation:
    /// ``MissionNotFoundError``, ``InvalidInputError`` (input that is not
    /// JSON, a limit out of range). ``timeout_ms``: wall-clock limit
    /// (default 10,000); ``memory_mb``: linear memory limit (default 64).
    #[pyo3(signature = (tool, mission_uuid, input, *, timeout_ms = None, memory_mb = None, create_missions = false, read_all_missions = false, name = None, caller = None))]
    #[allow(clippy::too_many_arguments)]
    fn run(
        &self,
        py: Python<'_>,
        tool: &Bound<'_, PyAny>,
        mission_uuid: &str,
        input: &Bound<'_, PyAny>,
        timeout_ms: Option<u64>,
        memory_mb: Option<usize>,
        create_missions: bool,
        read_all_missions: bool,
        name: Option<String>,
        caller: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<RunReport> {
        let mission = MissionId::parse(mission_uuid).or_raise()?;
        let mut limits = Limits::default();
        if let Some(ms) = timeout_ms {
            limits = limits.timeout(Duration::from_millis(ms)).or_raise()?;
        }
        if let Some(mb) = memory_mb {
            limits = limits.memory_mb(mb).or_raise()?;
        }
        let mut grants = Grants::none();
        if create_missions {
            grants = grants.with_create_missions();
        }
        if read_all_missions {
            grants = grants.with_read_all_missions();
        }
        let mut request = Request::new(mission, to_json("input", input)?)
            .grants(grants)
            .limits(limits);
        if let Some(name) = name {
            request = request.name(name);
        }
        if let Some(caller) = caller.filter(|c| !c.is_none()) {
            request = request.caller(to_json("caller", caller)?);
        }
        let report = if let Ok(tool) = tool.cast::<Tool>() {
            let tool = tool.get().tool.clone();
            py.detach(|| self.host.run(&tool, &request))
        } else {
            let path: PathBuf = tool.extract()?;
            py.detach(|| self.host.run_file(&path, &request))
        }
        .or_raise()?;
        let (outcome, ok, output, error) = match &report.outcome {
            Ok(output) => ("ok".to_owned(), true, from_json(py, output)?.unbind(), None),
            Err(failure) => (
                failure.kind.to_string(),
                false,
                py.None(),
                Some(failure.message.clone()),
            ),
        };
        Ok(RunReport {
            outcome,
            ok,
            output,
            error,
            invocation_id: report.call_id.into(),
            duration_ms: report.duration.as_secs_f64() * 1000.0,
            stdout: report.stdout,
            stderr: report.stderr,
        })
    }
}
