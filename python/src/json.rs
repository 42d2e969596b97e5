//! JSON columns as Python values, through Python's own `json` module: what
//! goes in is `json.dumps(value, allow_nan=False)` (the text ARCH-002's
//! implementation stores, so other readers of the file see the same
//! bytes), what comes out is `json.loads(text)` (integers exact at any size,
//! key order kept).

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyDict;
use vibe_store::Json;

use crate::errors::{invalid, OrRaise};

fn json_function<'py>(py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
    static MODULE: PyOnceLock<Py<PyModule>> = PyOnceLock::new();
    let module = MODULE.get_or_try_init(py, || Ok::<_, PyErr>(py.import("json")?.unbind()))?;
    module.bind(py).getattr(name)
}

/// `value` as the JSON text the store keeps for `field`. A value JSON
/// cannot carry (a NaN or an infinity, a set, an object of another class, a
/// cycle) is refused with `InvalidInputError` naming the field.
pub fn to_json(field: &str, value: &Bound<'_, PyAny>) -> PyResult<Json> {
    let py = value.py();
    static DUMPS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let dumps =
        DUMPS.get_or_try_init(py, || Ok::<_, PyErr>(json_function(py, "dumps")?.unbind()))?;
    let kwargs = PyDict::new(py);
    kwargs.set_item("allow_nan", false)?;
    let text = dumps
        .bind(py)
        .call((value,), Some(&kwargs))
        .map_err(|e| invalid(format!("{field} is not JSON: {e}")))?;
    // Keys json.dumps turns into text (1 and "1", None and "null") can
    // collide into one object's duplicate keys, which readers resolve
    // differently: refused, read back once with a hook that says so.
    static CHECK: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let check = CHECK.get_or_try_init(py, || {
        Ok::<_, PyErr>(
            py.import("vibe_store._errors")?
                .getattr("_check_unique_keys")?
                .unbind(),
        )
    })?;
    check
        .bind(py)
        .call1((field, &text))
        .map_err(|e| invalid(format!("{field} is not JSON: {e}")))?;
    let text: String = text.extract()?;
    Json::parse(field, text).or_raise()
}

/// `value`, or `None` for Python's `None`.
pub fn to_json_opt(field: &str, value: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Json>> {
    match value {
        Some(v) if !v.is_none() => to_json(field, v).map(Some),
        _ => Ok(None),
    }
}

/// Stored JSON text as a Python value.
pub fn from_json<'py>(py: Python<'py>, json: &Json) -> PyResult<Bound<'py, PyAny>> {
    from_text(py, json.as_str())
}

/// JSON text as a Python value.
pub fn from_text<'py>(py: Python<'py>, text: &str) -> PyResult<Bound<'py, PyAny>> {
    static LOADS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let loads =
        LOADS.get_or_try_init(py, || Ok::<_, PyErr>(json_function(py, "loads")?.unbind()))?;
    loads.bind(py).call1((text,))
}

/// A `serde::Serialize` report (a chain report, a stats row) as Python
/// values.
pub fn from_serialize<'py>(
    py: Python<'py>,
    value: &impl serde::Serialize,
) -> PyResult<Bound<'py, PyAny>> {
    let text = serde_json::to_string(value)
        .map_err(|e| pyo3::exceptions::PyRuntimeError::new_err(e.to_string()))?;
    from_text(py, &text)
}
