//! Group commit: the single write connection, shared by every thread.
//!
//! A writer queues its work. If no other writer is committing, it becomes the
//! leader: it takes everything queued, runs it in one transaction (each write
//! under its own savepoint) and commits once: one fsync for the whole batch.
//! Writers that queued while a leader was busy sleep on a condition variable;
//! when the leader finishes it wakes them all at once, and each either finds
//! its result waiting or becomes the next leader for what queued meanwhile.
//! No caller returns before the commit that holds its row has finished, so
//! nothing is acknowledged that a crash could lose; under contention, N
//! waiting writers cost one fsync instead of N.
//!
//! One writer alone pays nothing extra: it finds no leader, queues only its
//! own work, and commits it on its own thread.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use rusqlite::Connection;

use super::error::{Result, StoreError};

/// Most writes committed together.
const MAX_BATCH: usize = 512;

pub(crate) struct Writer {
    conn: Mutex<Connection>,
    state: Mutex<Queue>,
    /// Signalled when a leader has finished a batch.
    batch_done: Condvar,
}

#[derive(Default)]
struct Queue {
    waiting: Vec<Box<dyn Job>>,
    leader_active: bool,
}

trait Job: Send {
    /// Runs the write inside the open transaction; its error if it failed.
    fn run(&mut self, conn: &Connection) -> Result<()>;
    /// Hands over the outcome once the commit is known.
    fn finish(self: Box<Self>, commit: &Result<()>);
}

type Slot<T> = Arc<Mutex<Option<Result<T>>>>;

struct Write<T, F> {
    work: Option<F>,
    outcome: Option<Result<T>>,
    slot: Slot<T>,
}

impl<T, F> Job for Write<T, F>
where
    T: Send,
    F: FnOnce(&Connection) -> Result<T> + Send,
{
    fn run(&mut self, conn: &Connection) -> Result<()> {
        let work = self.work.take().expect("a write runs once");
        // A bug in one write must not take down the process or its batch.
        let outcome = catch_unwind(AssertUnwindSafe(|| work(conn))).unwrap_or_else(|panic| {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            Err(StoreError::Internal(format!("write panicked: {what}")))
        });
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
        *lock(&self.slot) = Some(outcome);
    }
}

impl Writer {
    pub(crate) fn new(conn: Connection) -> Self {
        Writer {
            conn: Mutex::new(conn),
            state: Mutex::new(Queue::default()),
            batch_done: Condvar::new(),
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
        let slot: Slot<T> = Arc::new(Mutex::new(None));
        let mut state = lock(&self.state);
        state.waiting.push(Box::new(Write {
            work: Some(work),
            outcome: None,
            slot: slot.clone(),
        }));
        loop {
            if let Some(done) = lock(&slot).take() {
                return done;
            }
            state = if state.leader_active {
                self.batch_done
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner)
            } else {
                self.lead_one_batch(state)
            };
        }
    }

    /// Takes what is queued (up to [`MAX_BATCH`]), commits it with the state
    /// unlocked so others can keep queueing, and wakes every waiter.
    fn lead_one_batch<'a>(&'a self, mut state: MutexGuard<'a, Queue>) -> MutexGuard<'a, Queue> {
        state.leader_active = true;
        let n = state.waiting.len().min(MAX_BATCH);
        let batch: Vec<Box<dyn Job>> = state.waiting.drain(..n).collect();
        drop(state);
        commit_batch(&lock(&self.conn), batch);
        let mut state = lock(&self.state);
        state.leader_active = false;
        self.batch_done.notify_all();
        state
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

fn run_batch(conn: &Connection, batch: &mut [Box<dyn Job>]) -> Result<()> {
    conn.execute_batch("BEGIN IMMEDIATE")?;
    if let [only] = batch {
        // Alone, a failed write simply rolls the transaction back.
        if only.run(conn).is_err() {
            if !conn.is_autocommit() {
                conn.execute_batch("ROLLBACK")?;
            }
            return Ok(());
        }
    } else {
        for job in batch.iter_mut() {
            conn.execute_batch("SAVEPOINT write")?;
            match job.run(conn) {
                Ok(()) => conn.execute_batch("RELEASE write")?,
                // Some failures (disk full, I/O) make SQLite abandon the whole
                // transaction: then every write in the batch fails with it.
                Err(e) if conn.is_autocommit() => return Err(e),
                Err(_) => conn.execute_batch("ROLLBACK TO write; RELEASE write")?,
            }
        }
    }
    conn.execute_batch("COMMIT")?;
    Ok(())
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding these locks leaves nothing half-done that a later
    // holder could trip on: jobs catch their own panics, and SQLite rolls
    // back an unfinished transaction.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
