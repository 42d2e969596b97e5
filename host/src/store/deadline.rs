//! Deadlines for reads: a caller that must finish by a given instant (the
//! sandbox, for a guest's timeout) sets one for the current thread, and any
//! read query still running past it is interrupted by SQLite's progress
//! handler and fails with [`super::StoreError::Interrupted`].
//!
//! Writes are not interrupted: they are single rows, and a write committed by
//! a batch leader belongs to other callers too.

use std::cell::Cell;
use std::time::Instant;

thread_local! {
    static DEADLINE: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// Runs `f` with reads on this thread bounded by `deadline`.
pub fn with_deadline<T>(deadline: Instant, f: impl FnOnce() -> T) -> T {
    struct Restore(Option<Instant>);
    impl Drop for Restore {
        fn drop(&mut self) {
            DEADLINE.with(|d| d.set(self.0));
        }
    }
    let _restore = Restore(DEADLINE.with(|d| d.replace(Some(deadline))));
    f()
}

/// Whether this thread's deadline, if any, has passed.
pub(crate) fn expired() -> bool {
    DEADLINE.with(|d| d.get().is_some_and(|deadline| Instant::now() >= deadline))
}
