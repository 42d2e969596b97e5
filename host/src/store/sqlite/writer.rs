//! Group commit: the single write connection, shared by every thread.
//!
//! A writer queues its work. If no other writer is committing, it becomes the
//! leader: it takes everything queued, runs it in one transaction (each write
//! under its own savepoint) and commits once, so one fsync covers the whole
//! batch. Writers that queued while a leader was busy sleep, each on its own
//! slot, and are woken exactly once: either with their result, or to lead
//! the next batch (what queued while the last one committed). No caller
//! returns before the commit that holds its row has finished, so nothing is
//! acknowledged that a crash could lose; under contention, N waiting writers
//! cost one fsync instead of N.
//!
//! One writer alone pays nothing extra: it finds no leader, queues only its
//! own work, and commits it on its own thread.

use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use rusqlite::Connection;

use crate::store::error::{Result, StoreError};
use crate::sync::{lock, wait};

/// Most writes committed together.
const MAX_BATCH: usize = 512;

pub(crate) struct Writer {
    conn: Mutex<Connection>,
    queue: Mutex<Queue>,
    commits: AtomicU64,
    writes: AtomicU64,
}

/// How many writes this store has committed, and in how many transactions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteStats {
    /// Writes committed.
    pub writes: u64,
    /// Transactions that committed them.
    pub commits: u64,
}

#[derive(Default)]
struct Queue {
    waiting: VecDeque<Box<dyn Job>>,
    leader_active: bool,
}

trait Job: Send {
    /// Runs the write inside the open transaction; its error if it failed.
    fn run(&mut self, conn: &Connection) -> Result<()>;
    /// Hands over the outcome once the commit is known, waking the caller.
    fn finish(self: Box<Self>, commit: &Result<()>);
    /// Wakes the caller to lead the next batch.
    fn promote(&self);
}

/// Where a waiting caller sleeps until its write is done or it must lead.
struct Slot<T> {
    state: Mutex<SlotState<T>>,
    wake: Condvar,
}

enum SlotState<T> {
    Queued,
    Lead,
    Done(Result<T>),
    Taken,
}

impl<T> Slot<T> {
    fn set(&self, state: SlotState<T>) {
        *lock(&self.state) = state;
        self.wake.notify_one();
    }

    /// Sleeps until done (`Some`) or asked to lead (`None`).
    fn wait(&self) -> Option<Result<T>> {
        let mut state = lock(&self.state);
        loop {
            match std::mem::replace(&mut *state, SlotState::Taken) {
                SlotState::Done(outcome) => return Some(outcome),
                SlotState::Lead => {
                    *state = SlotState::Queued;
                    return None;
                }
                queued => *state = queued,
            }
            state = wait(&self.wake, state);
        }
    }

    fn take_done(&self) -> Option<Result<T>> {
        let mut state = lock(&self.state);
        match std::mem::replace(&mut *state, SlotState::Taken) {
            SlotState::Done(outcome) => Some(outcome),
            other => {
                *state = other;
                None
            }
        }
    }
}

struct Write<T, F> {
    work: Option<F>,
    outcome: Option<Result<T>>,
    slot: Arc<Slot<T>>,
}

impl<T, F> Job for Write<T, F>
where
    T: Send,
    F: FnOnce(&Connection) -> Result<T> + Send,
{
    fn run(&mut self, conn: &Connection) -> Result<()> {
        let work = self.work.take().expect("a write runs once");
        // A bug in one write must not take down the process or its batch.
        let outcome = catch_unwind(AssertUnwindSafe(|| work(conn)))
            .unwrap_or_else(|panic| Err(StoreError::from_panic("a write", panic)));
        let status = match &outcome {
            Ok(_) => Ok(()),
            Err(e) => Err(e.clone()),
        };
        self.outcome = Some(outcome);
        status
    }

    fn finish(self: Box<Self>, commit: &Result<()>) {
        let outcome = match (commit, self.outcome) {
            (Ok(()), Some(outcome)) => outcome,
            (Err(e), Some(Ok(_))) | (Err(e), None) => Err(e.clone()),
            (Err(_), Some(Err(own))) => Err(own),
            (Ok(()), None) => Err(StoreError::Internal("write was never run".into())),
        };
        self.slot.set(SlotState::Done(outcome));
    }

    fn promote(&self) {
        self.slot.set(SlotState::Lead);
    }
}

impl Writer {
    pub(crate) fn new(conn: Connection) -> Self {
        Writer {
            conn: Mutex::new(conn),
            queue: Mutex::new(Queue::default()),
            commits: AtomicU64::new(0),
            writes: AtomicU64::new(0),
        }
    }

    /// Runs `work` in a write transaction and returns once it is committed.
    /// If `work` fails, none of its changes are kept and its error is
    /// returned; other writes in the same batch are unaffected.
    pub(crate) fn write<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let slot = Arc::new(Slot {
            state: Mutex::new(SlotState::Queued),
            wake: Condvar::new(),
        });
        let lead_now = {
            let mut queue = lock(&self.queue);
            queue.waiting.push_back(Box::new(Write {
                work: Some(work),
                outcome: None,
                slot: slot.clone(),
            }));
            !std::mem::replace(&mut queue.leader_active, true)
        };
        if !lead_now {
            if let Some(done) = slot.wait() {
                return done;
            }
        }
        // Leading: commit batches until our own write is among the committed,
        // then pass the lead to the first writer still waiting, if any.
        loop {
            let batch: Vec<Box<dyn Job>> = {
                let mut queue = lock(&self.queue);
                let n = queue.waiting.len().min(MAX_BATCH);
                queue.waiting.drain(..n).collect()
            };
            self.writes.fetch_add(batch.len() as u64, Ordering::Relaxed);
            self.commits.fetch_add(1, Ordering::Relaxed);
            commit_batch(&lock(&self.conn), batch);
            if let Some(done) = slot.take_done() {
                let mut queue = lock(&self.queue);
                match queue.waiting.front() {
                    Some(next) => next.promote(),
                    None => queue.leader_active = false,
                }
                return done;
            }
        }
    }

    pub(crate) fn stats(&self) -> WriteStats {
        WriteStats {
            writes: self.writes.load(Ordering::Relaxed),
            commits: self.commits.load(Ordering::Relaxed),
        }
    }

    /// Runs `f` with the write connection outside any transaction (for
    /// maintenance such as migrations). Queued writes wait.
    pub(crate) fn with_connection<T>(&self, f: impl FnOnce(&Connection) -> T) -> T {
        f(&lock(&self.conn))
    }
}

fn commit_batch(conn: &Connection, mut batch: Vec<Box<dyn Job>>) {
    let commit = run_batch(conn, &mut batch);
    if commit.is_err() && !conn.is_autocommit() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    for job in batch {
        job.finish(&commit);
    }
}

/// Runs a parameterless statement through the connection's statement cache.
/// Transaction control runs once or twice per write and per read; parsing it
/// each time would cost as much as a small insert.
pub(super) fn exec_cached(conn: &Connection, sql: &str) -> Result<()> {
    conn.prepare_cached(sql)?.execute([])?;
    Ok(())
}

fn run_batch(conn: &Connection, batch: &mut [Box<dyn Job>]) -> Result<()> {
    let exec = |sql: &str| exec_cached(conn, sql);
    exec("BEGIN IMMEDIATE")?;
    if let [only] = batch {
        // Alone, a failed write simply rolls the transaction back.
        if only.run(conn).is_err() {
            if !conn.is_autocommit() {
                exec("ROLLBACK")?;
            }
            return Ok(());
        }
    } else {
        for job in batch.iter_mut() {
            exec("SAVEPOINT write")?;
            match job.run(conn) {
                Ok(()) => exec("RELEASE write")?,
                // Some failures (disk full, I/O) make SQLite abandon the whole
                // transaction: then every write in the batch fails with it.
                Err(e) if conn.is_autocommit() => return Err(e),
                Err(_) => {
                    exec("ROLLBACK TO write")?;
                    exec("RELEASE write")?;
                }
            }
        }
    }
    exec("COMMIT")
}
