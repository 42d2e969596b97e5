//! The store's errors as Python exceptions. The classes are Python's own
//! (`vibe_store/_errors.py`), so they can inherit from the built-in
//! exception a Python caller already catches (`LookupError`, `ValueError`,
//! `PermissionError`); this module picks one by the error's kind.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyType;
use vibe_store::{Error, ErrorKind, StoreError};

/// The exception class for `kind`, and the `kind` string it carries.
fn class_for(error: &StoreError) -> (&'static str, &'static str) {
    match error {
        StoreError::MissionNotFound(_) => ("MissionNotFoundError", "not_found"),
        _ => by_kind(error.kind()),
    }
}

fn by_kind(kind: ErrorKind) -> (&'static str, &'static str) {
    match kind {
        ErrorKind::NotFound => ("NotFoundError", "not_found"),
        ErrorKind::InvalidInput => ("InvalidInputError", "invalid_input"),
        ErrorKind::Limit => ("LimitExceededError", "limit"),
        ErrorKind::Denied => ("ReadOnlyError", "denied"),
        ErrorKind::Busy => ("BusyError", "busy"),
        ErrorKind::Interrupted => ("DatabaseError", "interrupted"),
        ErrorKind::StorageFull => ("DatabaseError", "storage_full"),
        ErrorKind::UnusableFile => ("DatabaseError", "unusable_file"),
        ErrorKind::Unreadable => ("DatabaseError", "unreadable"),
        ErrorKind::Storage => ("DatabaseError", "storage"),
        ErrorKind::Load => ("ToolLoadError", "load"),
        ErrorKind::Engine => ("ToolLoadError", "engine"),
        _ => ("DatabaseError", "internal"),
    }
}

/// `vibe_store._errors.<name>`, looked up once per class.
fn class<'py>(py: Python<'py>, name: &'static str) -> PyResult<Bound<'py, PyType>> {
    static MODULE: PyOnceLock<Py<PyModule>> = PyOnceLock::new();
    let module = MODULE.get_or_try_init(py, || {
        Ok::<_, PyErr>(py.import("vibe_store._errors")?.unbind())
    })?;
    Ok(module.bind(py).getattr(name)?.cast_into()?)
}

fn raise(name: &'static str, kind: &'static str, message: String) -> PyErr {
    Python::attach(|py| match class(py, name) {
        Ok(class) => match class.call1((message, kind)) {
            Ok(instance) => PyErr::from_value(instance),
            Err(e) => e,
        },
        Err(e) => e,
    })
}

/// A store error as the Python exception of its kind.
pub fn store_error(error: StoreError) -> PyErr {
    let (name, kind) = class_for(&error);
    raise(name, kind, error.to_string())
}

/// A store error as its Python exception, its message after `place`
/// (`line 3: ...`).
pub fn store_error_at(error: StoreError, place: &str) -> PyErr {
    let (name, kind) = class_for(&error);
    raise(name, kind, format!("{place}: {error}"))
}

/// Any vibe-store error as the Python exception of its kind.
pub fn error(error: Error) -> PyErr {
    match error {
        Error::Store(e) => store_error(e),
        other => {
            let (name, kind) = by_kind(other.kind());
            raise(name, kind, other.to_string())
        }
    }
}

/// Refused input found by the bindings themselves (a value that is not
/// JSON, a name of the wrong type).
pub fn invalid(message: impl Into<String>) -> PyErr {
    raise("InvalidInputError", "invalid_input", message.into())
}

/// A call on a store after its `close()`.
pub fn closed() -> PyErr {
    raise("DatabaseError", "closed", "the store is closed".into())
}

/// `Result<T, StoreError>` into `PyResult<T>`.
pub trait OrRaise<T> {
    /// The value, or the error as its Python exception.
    fn or_raise(self) -> PyResult<T>;
}

impl<T> OrRaise<T> for Result<T, StoreError> {
    fn or_raise(self) -> PyResult<T> {
        self.map_err(store_error)
    }
}

impl<T> OrRaise<T> for Result<T, Error> {
    fn or_raise(self) -> PyResult<T> {
        self.map_err(error)
    }
}
