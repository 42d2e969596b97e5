//! Deadlines for reads: a caller that must finish by a given instant (the
//! sandbox, for a guest's timeout) sets one for the current thread, and any
//! read query still running past it is interrupted by SQLite's progress
//! handler and fails with [`super::StoreError::Interrupted`]; a write
//! waiting for another connection's lock gives up. A cancel flag set with
//! the deadline ends them the same way, the moment it is set.
//!
//! Writes are not interrupted once they hold the lock: they are single
//! rows, and a write committed by a batch leader belongs to other callers
//! too.

use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

thread_local! {
    static DEADLINE: Cell<Option<Instant>> = const { Cell::new(None) };
    static CANCEL: RefCell<Option<Arc<AtomicBool>>> = const { RefCell::new(None) };
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

/// Runs `f` as [`with_deadline`] does, and also ends its reads and lock
/// waits as soon as `cancel` is set.
pub(crate) fn with_deadline_or_cancel<T>(
    deadline: Instant,
    cancel: Option<Arc<AtomicBool>>,
    f: impl FnOnce() -> T,
) -> T {
    struct Restore(Option<Arc<AtomicBool>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            CANCEL.with(|c| *c.borrow_mut() = self.0.take());
        }
    }
    let _restore = Restore(CANCEL.with(|c| c.replace(cancel)));
    with_deadline(deadline, f)
}

/// Whether this thread's deadline, if any, has passed, or its cancel flag,
/// if any, is set.
pub(crate) fn expired() -> bool {
    DEADLINE.with(|d| d.get().is_some_and(|deadline| Instant::now() >= deadline))
        || CANCEL.with(|c| {
            c.borrow()
                .as_ref()
                .is_some_and(|flag| flag.load(Ordering::Relaxed))
        })
}
