//! Invocation slots: a counting semaphore over the pooling allocator's
//! instance slots, so callers beyond the pool's size wait instead of failing.

use std::sync::{Condvar, Mutex};

use crate::sync::{lock, wait};

pub(crate) struct Slots {
    free: Mutex<usize>,
    freed: Condvar,
}

/// A held slot, returned on drop.
pub(crate) struct SlotGuard<'a>(&'a Slots);

impl Slots {
    pub(crate) fn new(count: usize) -> Self {
        Slots {
            free: Mutex::new(count.max(1)),
            freed: Condvar::new(),
        }
    }

    /// Waits for a free slot and takes it.
    pub(crate) fn acquire(&self) -> SlotGuard<'_> {
        let mut free = lock(&self.free);
        while *free == 0 {
            free = wait(&self.freed, free);
        }
        *free -= 1;
        SlotGuard(self)
    }
}

impl Drop for SlotGuard<'_> {
    fn drop(&mut self) {
        *lock(&self.0.free) += 1;
        self.0.freed.notify_one();
    }
}
