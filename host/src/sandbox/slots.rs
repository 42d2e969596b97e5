//! Invocation slots: a counting semaphore over the pooling allocator's
//! instance slots, so callers beyond the pool's size wait instead of failing.

use std::sync::{Arc, Condvar, Mutex};

use crate::sync::{lock, wait};

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
        let mut free = lock(&self.0.free);
        while *free == 0 {
            free = wait(&self.0.freed, free);
        }
        *free -= 1;
        SlotGuard(self.0.clone())
    }
}

impl Drop for SlotGuard {
    fn drop(&mut self) {
        *lock(&self.0.free) += 1;
        self.0.freed.notify_one();
    }
}
