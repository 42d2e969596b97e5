//! Waiting for another process's lock: how long, and saying so.
//!
//! SQLite calls a busy handler while another connection holds the lock it
//! needs. Ours sleeps with a short backoff, tells whoever opened the store
//! (once per wait, after a second) that it is waiting, and gives up at the
//! store's busy timeout. SQLite's handler is a plain function, so what it
//! needs (the path, the timeout, the notice) travels in a thread-local set
//! around each store operation; the writer's batch leader runs other
//! callers' writes, but always of the same store.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Called once per wait, when a lock held by another process has been
/// waited on for a second.
pub type LockWaitNotice = fn(&Path);

/// How long a wait lasts before the notice.
pub const NOTICE_AFTER: Duration = Duration::from_secs(1);

struct Wait {
    path: PathBuf,
    timeout: Duration,
    notice: Option<LockWaitNotice>,
    started: Option<Instant>,
    noticed: bool,
}

thread_local! {
    static WAIT: RefCell<Option<Wait>> = const { RefCell::new(None) };
}

/// Runs `f` with this thread's lock waits bounded by `timeout` and
/// announced through `notice`.
pub(crate) fn with_wait<T>(
    path: &Path,
    timeout: Duration,
    notice: Option<LockWaitNotice>,
    f: impl FnOnce() -> T,
) -> T {
    struct Restore(Option<Wait>);
    impl Drop for Restore {
        fn drop(&mut self) {
            WAIT.with(|w| *w.borrow_mut() = self.0.take());
        }
    }
    let previous = WAIT.with(|w| {
        w.borrow_mut().replace(Wait {
            path: path.to_owned(),
            timeout,
            notice,
            started: None,
            noticed: false,
        })
    });
    let _restore = Restore(previous);
    f()
}

/// SQLite's busy handler: `attempt` is 0 for the first call of a wait.
/// Returns whether to try again.
pub(crate) fn handler(attempt: i32) -> bool {
    const BACKOFF_MS: [u64; 8] = [1, 2, 5, 10, 15, 20, 25, 50];
    WAIT.with(|w| {
        let mut w = w.borrow_mut();
        let now = Instant::now();
        let (waited, timeout) = match w.as_mut() {
            Some(wait) => {
                if attempt == 0 || wait.started.is_none() {
                    wait.started = Some(now);
                    wait.noticed = false;
                }
                let waited = now - wait.started.unwrap_or(now);
                if waited >= NOTICE_AFTER && !wait.noticed {
                    wait.noticed = true;
                    if let Some(notice) = wait.notice {
                        notice(&wait.path);
                    }
                }
                (waited, wait.timeout)
            }
            // Outside any store operation: at most the default timeout,
            // counted in steps of the longest backoff.
            None => (
                Duration::from_millis(BACKOFF_MS[BACKOFF_MS.len() - 1] * attempt.max(0) as u64),
                crate::store::options::DEFAULT_BUSY_TIMEOUT,
            ),
        };
        // A guest's store call gives up at the invocation's deadline too.
        if waited >= timeout || crate::store::deadline::expired() {
            return false;
        }
        let step = BACKOFF_MS[(attempt.max(0) as usize).min(BACKOFF_MS.len() - 1)];
        let left = timeout - waited;
        std::thread::sleep(Duration::from_millis(step).min(left));
        true
    })
}
