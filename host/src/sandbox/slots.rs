//! Invocation slots: a counting semaphore over the pooling allocator's
//! instance slots, so callers beyond the pool's size wait instead of failing.

use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

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
            free = self
                .freed
                .wait(free)
                .unwrap_or_else(PoisonError::into_inner);
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

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A count is never left half-updated, so a poisoned lock is still sound.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
