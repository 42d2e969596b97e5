//! The native half of the `vibe_store` Python package (`vibe_store._native`):
//! the store and the sandbox host of the vibe-store crate as Python classes.
//! The Python half (`vibe_store/__init__.py`) re-exports these and defines
//! the exceptions; `vibe_store/_native.pyi` gives every signature.

mod errors;
mod json;
mod rows;
mod sandbox;
mod store;

use pyo3::prelude::*;

/// The instant `text` names, in the store's form
/// (`2026-11-27T01:39:01.123456Z`), or `None` when it is not a time the
/// store reads (the spellings of `docs/guarantees.md`).
#[pyfunction]
fn parse_time(text: &str) -> Option<String> {
    vibe_store::store::Timestamp::from_stored(text)
        .instant()
        .map(vibe_store::store::format_timestamp)
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<store::Store>()?;
    m.add_function(wrap_pyfunction!(parse_time, m)?)?;
    m.add_class::<sandbox::Runtime>()?;
    m.add_class::<sandbox::Tool>()?;
    m.add_class::<sandbox::RunReport>()?;
    m.add("DEFAULT_DB_PATH", vibe_store::store::DEFAULT_DB_PATH)?;
    m.add("SQLITE_VERSION", rusqlite::version())?;
    Ok(())
}
