//! Invocation slots: a counting semaphore over the pooling allocator's
//! instance slots, so callers beyond the pool's size wait instead of failing.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use crate::sync::{lock, wait, wait_timeout};

/// How often a call waiting for a slot looks at its cancel flag.
const CANCEL_POLL: Duration = Duration::from_millis(10);

pub(crate) struct Slots(Arc<Count>);

struct Count {
    free: Mutex<usize>,
    freed: Condvar,
}

/// A held slot, returned on drop. It owns its claim, so it can be handed
/// to the thread that tears the instance down.
pub(crate) struct SlotGuard(Arc<Count>);

impl Slots {
    pub(crate) fn new(count: usize) -> Self {
        Slots(Arc::new(Count {
            free: Mutex::new(count.max(1)),
            freed: Condvar::new(),
        }))
    }

    /// Takes a free slot if there is one.
    pub(crate) fn try_acquire(&self) -> Option<SlotGuard> {
        let mut free = lock(&self.0.free);
        (*free > 0).then(|| {
            *free -= 1;
            SlotGuard(self.0.clone())
        })
    }

    /// Waits for a free slot and takes it.
    pub(crate) fn acquire(&self) -> SlotGuard {
        self.acquire_unless(None)
            .expect("a wait with no cancel flag ends with a slot")
    }

    /// Waits for a free slot and takes it; `None` once `cancel` is set
    /// while it waits (looked at every [`CANCEL_POLL`]). A free slot is
    /// taken whatever the flag says.
    pub(crate) fn acquire_unless(&self, cancel: Option<&AtomicBool>) -> Option<SlotGuard> {
        let mut free = lock(&self.0.free);
        while *free == 0 {
            free = match cancel {
                Some(cancel) if cancel.load(Ordering::Relaxed) => return None,
                Some(_) => wait_timeout(&self.0.freed, free, CANCEL_POLL),
                None => wait(&self.0.freed, free),
            };
        }
        *free -= 1;
        Some(SlotGuard(self.0.clone()))
    }
}

impl Drop for SlotGuard {
    fn drop(&mut self) {
        *lock(&self.0.free) += 1;
        self.0.freed.notify_one();
    }
}
