//! Spare instances: a tool's next instance, made before its next call.
//!
//! Instantiating a component is most of what a warm call of an interpreted
//! tool costs (a Python tool's 14 core modules write about 5,700 function
//! references into their shared table, one code lookup each; `vibe bench`
//! row 12). So from a tool's second call on, each call also starts making
//! the instance its next call will use, on a thread of the runtime's own
//! (`vibe-spares`), while the tool runs: the third call is the first to
//! skip instantiation.
//!
//! Isolation is unchanged: every invocation still gets an instance no
//! invocation has run in, and each spare is used once. What changes is
//! only when its start-up code runs (before the call: a clock it reads is
//! earlier), so a spare is kept only if that code did nothing else an
//! invocation could tell apart:
//!
//! - a store call during instantiation traps (no invocation exists yet to
//!   record it), and the tool is instantiated inside its invocations, as
//!   before, from then on;
//! - so is a tool whose instantiation fails, takes longer than
//!   [`MAKING_DEADLINE`], hits the memory limit, or writes to stdout or
//!   stderr;
//! - a spare is not used for a call whose memory limit it does not fit
//!   (memory already larger, or more resources made by its start-up code
//!   than the limit allows, see `State::fits`): it stays for a call it
//!   fits, and the call instantiates its own, which fails as it always did.
//!
//! Components whose first instantiation inside an invocation took less than
//! the runtime's threshold (by default [`WORTHWHILE`]; a Rust or JavaScript
//! tool's take tens of microseconds) get none, for the runtime's life.
//!
//! A spare is bound to its invocation when claimed ([`State::bind`]): the
//! invocation's store view, grants, limits, deadline and cancel flag, and
//! its output caps. At most [`RuntimeConfig::spare_instances`] spares wait
//! at once, one per component; the least recently made gives way to a new
//! one. A claimed spare's instance takes the place in the pool of the
//! invocation slot its call holds, so its room is free for the next spare
//! at once.
//!
//! [`State::bind`]: super::host::State::bind
//! [`RuntimeConfig::spare_instances`]: super::RuntimeConfig::spare_instances

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc;
use std::sync::{Mutex, Weak};
use std::time::{Duration, Instant};

use wasmtime::Store;

use crate::sync::lock;

use super::host::{AgentTool, AgentToolPre, State};
use super::output::CappedOutput;
use super::slots::{SlotGuard, Slots};

/// The shortest instantiation worth a spare, by default. A Rust tool's
/// takes about 15 us and a JavaScript tool's about 30 us, less than making
/// a spare costs the other core; a Python tool's about 1.2 ms (`vibe bench`
/// row 12).
pub(crate) const WORTHWHILE: Duration = Duration::from_micros(250);

/// How long making a spare may take: far longer than any tool's
/// instantiation should (a Python tool's takes about 1.2 ms in a release
/// build), short enough that start-up code that never ends holds up the
/// making of other tools' spares only this long, once.
pub(crate) const MAKING_DEADLINE: Duration = Duration::from_secs(1);

/// An instance made ahead of its invocation, with what it was made with.
pub(crate) struct Spare {
    pub(crate) store: Store<State>,
    pub(crate) instance: AgentTool,
    pub(crate) stdout: CappedOutput,
    pub(crate) stderr: CappedOutput,
}

/// Where one component's spare stands.
enum Entry {
    /// Called once: the second call starts making a spare.
    Seen,
    /// A spare is being made.
    Making,
    /// A spare waits, holding room in the pool for spares; the number says
    /// when it was made (higher is newer).
    Ready(Spare, SlotGuard, u64),
    /// Always instantiated inside its invocation: it instantiates faster
    /// than a spare is worth, or its start-up code did something an
    /// invocation could tell apart (see the module's doc).
    Never,
}

/// The spares of one runtime, by component digest.
pub(crate) struct Spares {
    entries: Mutex<HashMap<String, Entry>>,
    /// Room in the pool for spares, apart from the invocations' own.
    slots: Slots,
    /// The shortest instantiation worth a spare.
    worthwhile: Duration,
    made: std::sync::atomic::AtomicU64,
    /// The thread that makes spares; `None` when spares are off.
    maker: Option<Mutex<mpsc::Sender<Job>>>,
}

/// What the making thread is asked for: a spare of one component.
struct Job {
    digest: String,
}

/// How a spare is made: the runtime's `Store` set-up, reached without
/// holding the runtime alive.
pub(crate) trait Maker: Send + Sync + 'static {
    /// A store for an instance not yet bound to any invocation, and its
    /// captured outputs.
    fn unbound_store(&self) -> (Store<State>, CappedOutput, CappedOutput, Instant);
    /// The runtime's spares.
    fn spares(&self) -> &Spares;
    /// How to instantiate a component this runtime loaded, by digest: the
    /// runtime's own, whoever's tool the call that asked for a spare ran.
    fn pre(&self, digest: &str) -> Option<AgentToolPre<State>>;
}

impl Spares {
    /// Room for `capacity` spares at once; none (and no thread) for 0.
    pub(crate) fn new<M: Maker>(capacity: usize, worthwhile: Duration, maker: Weak<M>) -> Self {
        let sender = (capacity > 0).then(|| {
            let (sender, jobs) = mpsc::channel::<Job>();
            std::thread::Builder::new()
                .name("vibe-spares".into())
                .spawn(move || {
                    // Ends when the runtime (and with it the sender) is gone.
                    while let Ok(job) = jobs.recv() {
                        let Some(runtime) = maker.upgrade() else { break };
                        let digest = job.digest.clone();
                        let made = catch_unwind(AssertUnwindSafe(|| make(&*runtime, job)));
                        if made.is_err() {
                            tracing::error!(target: "vibe::sandbox", component = %digest, "making a spare instance panicked: no spare instances");
                            lock(&runtime.spares().entries).insert(digest, Entry::Never);
                        }
                    }
                })
                .expect("spawn the spares thread");
            Mutex::new(sender)
        });
        Spares {
            entries: Mutex::new(HashMap::new()),
            slots: Slots::new(capacity),
            worthwhile,
            made: std::sync::atomic::AtomicU64::new(0),
            maker: sender,
        }
    }

    /// Takes the spare of component `digest` if one waits and `fits` the
    /// call, and starts making the next (from the component's second call
    /// on). A spare that does not fit stays for a call it fits.
    ///
    /// The caller holds an invocation slot, whose place in the pool the
    /// spare's instance takes: the spare's own room is free again at once,
    /// for the next spare.
    pub(crate) fn claim(
        &self,
        digest: &str,
        fits: impl FnOnce(&mut Spare) -> bool,
    ) -> Option<Spare> {
        let maker = self.maker.as_ref()?;
        let mut entries = lock(&self.entries);
        let Some(entry) = entries.get_mut(digest) else {
            entries.insert(digest.to_owned(), Entry::Seen);
            return None;
        };
        match entry {
            Entry::Ready(spare, ..) => {
                if !fits(spare) {
                    return None;
                }
            }
            Entry::Making | Entry::Never => return None,
            Entry::Seen => {}
        }
        let taken = match std::mem::replace(entry, Entry::Making) {
            Entry::Ready(spare, room, _) => {
                drop(room);
                Some(spare)
            }
            _ => None,
        };
        drop(entries);
        let job = Job {
            digest: digest.to_owned(),
        };
        if lock(maker).send(job).is_err() {
            // The thread is gone (it cannot be, while the runtime lives).
            lock(&self.entries).insert(digest.to_owned(), Entry::Seen);
        }
        taken
    }

    /// Notes how long instantiating component `digest` inside an invocation
    /// took: a component that instantiates faster than the runtime's
    /// threshold gets no spares (making them would cost more than it saves).
    pub(crate) fn instantiated(&self, digest: &str, took: Duration) {
        if took >= self.worthwhile {
            return;
        }
        // Two first calls at once leave it `Making`: the spare being made is
        // dropped when it is done (see `make`).
        if let Some(entry @ (Entry::Seen | Entry::Making)) = lock(&self.entries).get_mut(digest) {
            *entry = Entry::Never;
        }
    }

    /// Whether a spare of component `digest` waits for its next call.
    pub(crate) fn ready(&self, digest: &str) -> bool {
        matches!(lock(&self.entries).get(digest), Some(Entry::Ready(..)))
    }

    /// A claim on room for one more spare: a free one, or the oldest
    /// waiting spare's, which is dropped (on this thread: the caller is the
    /// making thread).
    fn room(&self) -> Option<SlotGuard> {
        if let Some(slot) = self.slots.try_acquire() {
            return Some(slot);
        }
        let oldest = {
            let mut entries = lock(&self.entries);
            let digest = entries
                .iter()
                .filter_map(|(digest, entry)| match entry {
                    Entry::Ready(_, _, made) => Some((*made, digest.clone())),
                    _ => None,
                })
                .min()
                .map(|(_, digest)| digest)?;
            entries.insert(digest, Entry::Seen)
        };
        drop(oldest);
        self.slots.try_acquire()
    }
}

/// Makes one spare and files it (or the reason the component gets none).
fn make<M: Maker + ?Sized>(runtime: &M, job: Job) {
    let spares = runtime.spares();
    let Some(slot) = spares.room() else {
        lock(&spares.entries).insert(job.digest, Entry::Seen);
        return;
    };
    let Some(pre) = runtime.pre(&job.digest) else {
        lock(&spares.entries).insert(job.digest, Entry::Never);
        return;
    };
    let (mut store, stdout, stderr, deadline) = runtime.unbound_store();
    let made = super::runtime::bounded(deadline, None, pre.instantiate_async(&mut store));
    let memory = &store.data().memory;
    let clean = !memory.hit && stdout.is_untouched() && stderr.is_untouched();
    let filed = match made {
        Ok(instance) if clean => {
            let made = spares
                .made
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let spare = Spare {
                store,
                instance,
                stdout,
                stderr,
            };
            Entry::Ready(spare, slot, made)
        }
        Ok(_) => {
            tracing::debug!(target: "vibe::sandbox", component = %job.digest, "its start-up code wrote output or hit the memory limit: no spare instances");
            Entry::Never
        }
        Err(error) => {
            tracing::debug!(target: "vibe::sandbox", component = %job.digest, error = %format!("{error:#}"), "instantiating ahead of a call failed: no spare instances");
            Entry::Never
        }
    };
    let mut entries = lock(&spares.entries);
    // Found not worth a spare while this one was being made: drop it.
    let replaced = match entries.get(&job.digest) {
        Some(Entry::Never) => Some(filed),
        _ => entries.insert(job.digest, filed),
    };
    drop(entries);
    drop(replaced);
}
