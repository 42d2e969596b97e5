//! Spare instances (pre-warmed instances): a tool's next instance, made
//! before its next call. This module is their bookkeeping, which knows no
//! wasmtime; `runtime.rs` makes them (`make_spare`), claims and binds them.
//!
//! Instantiating a component is most of what a warm call of an interpreted
//! tool costs (a Python tool's 14 core modules write about 5,700 function
//! references into their shared table, one code lookup each; `vibe bench`
//! row 12). So once a call has instantiated a tool slowly (at least the
//! runtime's threshold, by default [`DEFAULT_SPARE_THRESHOLD`]), the
//! runtime's `vibe-spares` thread makes the instance the next call will
//! use, and each call that claims one asks for the next: from the second
//! call on, a call finds its instance made. A tool instantiated faster than
//! the threshold inside a call gets none, then or later.
//!
//! Isolation is unchanged: every invocation still gets an instance no
//! invocation ran in, and each spare is used once. What changes is only
//! when its start-up code runs (before the call: a clock read there is
//! earlier), so `runtime.rs` keeps a spare only if that code did nothing
//! else an invocation could tell apart (store calls trap, output, failure,
//! the memory limit, more than [`MAX_MAKING_TIME`]), and uses one only for
//! a call it fits as it would have fitted inline: its start-up time counts
//! against the call's timeout, and it is made under the memory limit of
//! the call that asked for it, so it serves calls whose limit is as high
//! (its start-up ran within that limit, in memory and in the resources it
//! held at any one time). A spare that does not fit a call waits for one
//! it fits.
//!
//! At most `spare_instances` spares wait at once, one per component, each
//! holding a room (a [`SlotGuard`] of the pool's slots for spares); a
//! claimed spare gives its room back at once, because its instance takes
//! the place of its call's own invocation slot. A spare that waited
//! [`EVICT_AFTER`] unclaimed gives way to a newer one; younger spares do
//! not, so tools called in turn, more of them than there is room for, do
//! not evict each other's spares on every call.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::sync::lock;

use super::slots::{SlotGuard, Slots};

/// The shortest instantiation worth a spare, by default. A Rust tool's
/// takes about 15 us and a JavaScript tool's about 30 us, less than making
/// a spare costs the other core; a Python tool's about 1.2 ms (`vibe bench`
/// row 12, release build).
pub(crate) const DEFAULT_SPARE_THRESHOLD: Duration = Duration::from_micros(250);

/// The longest a spare may take to make: far longer than any tool's
/// instantiation should (a Python tool's takes about 1.2 ms in a release
/// build). Start-up code slower than this gets no spares; start-up code
/// just under it may get them, and then holds the making thread that long
/// for each, while its calls pay for the time (it counts against their
/// timeouts).
pub(crate) const MAX_MAKING_TIME: Duration = Duration::from_secs(1);

/// How long a spare waits unclaimed before a newer one may take its room.
pub(crate) const EVICT_AFTER: Duration = Duration::from_secs(5);

/// Where one component's spare stands.
enum Entry<S> {
    /// A spare is being made (or asked for).
    Making,
    /// A spare waits, holding a room, since `since`.
    Ready {
        spare: S,
        room: SlotGuard,
        since: Instant,
    },
    /// Always instantiated inside its calls: it instantiates faster than a
    /// spare is worth, or its start-up code did something an invocation
    /// could tell apart.
    Never,
}

/// The spares of one runtime, by component digest (SHA-256, hex). `S` is
/// what a spare is (in `runtime.rs`, an instance and its store).
pub(crate) struct Spares<S> {
    entries: Mutex<HashMap<String, Entry<S>>>,
    /// Rooms for spares, apart from the invocations' own slots.
    rooms: Slots,
    /// Whether spares are on at all (`spare_instances` > 0).
    on: bool,
    /// The shortest instantiation worth a spare.
    threshold: Duration,
}

/// What [`Spares::claim`] gives a call.
pub(crate) struct Claim<S> {
    /// The spare it may use.
    pub(crate) spare: Option<S>,
    /// Whether the caller should ask the making thread for the next spare.
    pub(crate) make_next: bool,
}

impl<S> Spares<S> {
    /// Rooms for `capacity` spares at once (none: spares off); spares only
    /// for components instantiated in `threshold` or more.
    pub(crate) fn new(capacity: usize, threshold: Duration) -> Self {
        Spares {
            entries: Mutex::new(HashMap::new()),
            rooms: Slots::new(capacity),
            on: capacity > 0,
            threshold,
        }
    }

    /// Takes the spare of component `digest` if one waits and `fits` the
    /// call; then the next should be made. A spare that does not fit stays
    /// for a call it fits. The caller holds an invocation slot, whose place
    /// in the pool the spare's instance takes: its room is free at once.
    pub(crate) fn claim(&self, digest: &str, fits: impl FnOnce(&S) -> bool) -> Claim<S> {
        let nothing = Claim {
            spare: None,
            make_next: false,
        };
        let mut entries = lock(&self.entries);
        let Some(entry) = entries.get_mut(digest) else {
            return nothing;
        };
        match entry {
            Entry::Ready { spare, .. } if fits(spare) => {}
            _ => return nothing,
        }
        let Entry::Ready { spare, room, .. } = std::mem::replace(entry, Entry::Making) else {
            unreachable!("matched above")
        };
        drop(entries);
        drop(room);
        Claim {
            spare: Some(spare),
            make_next: true,
        }
    }

    /// Notes that a call instantiated component `digest` itself, in `took`.
    /// Returns whether a spare should be made now: the first time a slow
    /// instantiation is seen. A fast one means never (a waiting spare is
    /// dropped).
    pub(crate) fn instantiated(&self, digest: &str, took: Duration) -> bool {
        if !self.on {
            return false;
        }
        let mut entries = lock(&self.entries);
        if took < self.threshold {
            let dropped = entries.insert(digest.to_owned(), Entry::Never);
            drop(entries);
            drop(dropped);
            return false;
        }
        if entries.contains_key(digest) {
            return false;
        }
        entries.insert(digest.to_owned(), Entry::Making);
        true
    }

    /// A room for the spare of component `digest` about to be made: a free
    /// one, or that of the spare that waited longest, if it waited at least
    /// [`EVICT_AFTER`]. `None` if there is none, or if the spare is no longer
    /// wanted; then none is being made (the next slow call asks again).
    pub(crate) fn room(&self, digest: &str) -> Option<SlotGuard> {
        let mut entries = lock(&self.entries);
        if !matches!(entries.get(digest), Some(Entry::Making)) {
            return None;
        }
        if let Some(room) = self.rooms.try_acquire() {
            return Some(room);
        }
        let oldest = entries
            .iter()
            .filter_map(|(digest, entry)| match entry {
                Entry::Ready { since, .. } if since.elapsed() >= EVICT_AFTER => {
                    Some((*since, digest.clone()))
                }
                _ => None,
            })
            .min()
            .map(|(_, digest)| digest);
        let Some(oldest) = oldest else {
            entries.remove(digest);
            return None;
        };
        // It goes back to unseen: its next slow call asks for a spare again.
        let evicted = entries.remove(&oldest);
        drop(entries);
        drop(evicted);
        self.rooms.try_acquire().or_else(|| {
            lock(&self.entries).remove(digest);
            None
        })
    }

    /// Files what making component `digest`'s spare gave: the spare and its
    /// room, or `None` when its start-up code ruled spares out. A spare no
    /// longer wanted (the component was found fast meanwhile) is dropped.
    pub(crate) fn file(&self, digest: &str, made: Option<(S, SlotGuard)>) {
        let mut entries = lock(&self.entries);
        let filed = match made {
            Some((spare, room)) => Entry::Ready {
                spare,
                room,
                since: Instant::now(),
            },
            None => Entry::Never,
        };
        let replaced = match entries.get(digest) {
            Some(Entry::Making) => entries.insert(digest.to_owned(), filed),
            _ => Some(filed),
        };
        drop(entries);
        drop(replaced);
    }

    /// Whether a spare of component `digest` waits.
    pub(crate) fn ready(&self, digest: &str) -> bool {
        matches!(lock(&self.entries).get(digest), Some(Entry::Ready { .. }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SLOW: Duration = Duration::from_millis(1);
    const FAST: Duration = Duration::from_micros(10);

    fn spares(capacity: usize) -> Spares<u32> {
        Spares::new(capacity, Duration::from_micros(250))
    }

    /// Makes a spare `n` of `digest` as the making thread would.
    fn make(spares: &Spares<u32>, digest: &str, n: u32) -> bool {
        match spares.room(digest) {
            Some(room) => {
                spares.file(digest, Some((n, room)));
                true
            }
            None => false,
        }
    }

    #[test]
    fn a_slow_instantiation_asks_for_one_spare_and_each_claim_for_the_next() {
        let s = spares(1);
        assert!(s.claim("a", |_| true).spare.is_none());
        assert!(s.instantiated("a", SLOW));
        assert!(!s.instantiated("a", SLOW), "already being made");
        assert!(make(&s, "a", 1));
        let claim = s.claim("a", |_| true);
        assert_eq!((claim.spare, claim.make_next), (Some(1), true));
        // Its room is free at once: the next is made with room for one.
        assert!(make(&s, "a", 2));
        assert_eq!(s.claim("a", |_| true).spare, Some(2));
    }

    #[test]
    fn a_fast_instantiation_means_never_and_drops_a_waiting_spare() {
        let s = spares(1);
        assert!(!s.instantiated("a", FAST));
        assert!(!s.instantiated("a", SLOW));
        assert!(s.claim("a", |_| true).spare.is_none());
        assert!(s.instantiated("b", SLOW));
        assert!(make(&s, "b", 1));
        assert!(!s.instantiated("b", FAST));
        assert!(!s.ready("b"));
        // Its room came back with it.
        assert!(s.instantiated("c", SLOW));
        assert!(make(&s, "c", 1));
    }

    #[test]
    fn a_spare_that_does_not_fit_waits_for_a_call_it_fits() {
        let s = spares(1);
        s.instantiated("a", SLOW);
        make(&s, "a", 7);
        let claim = s.claim("a", |n| *n > 7);
        assert!(claim.spare.is_none() && !claim.make_next);
        assert!(s.ready("a"));
        assert_eq!(s.claim("a", |n| *n == 7).spare, Some(7));
    }

    #[test]
    fn start_up_that_rules_spares_out_means_never_and_frees_the_room() {
        let s = spares(1);
        s.instantiated("a", SLOW);
        let room = s.room("a").unwrap();
        drop(room);
        s.file("a", None);
        assert!(!s.instantiated("a", SLOW));
        assert!(s.instantiated("b", SLOW));
        assert!(make(&s, "b", 1));
    }

    #[test]
    fn a_young_spare_keeps_its_room_and_a_spare_no_longer_wanted_is_not_made() {
        let s = spares(1);
        s.instantiated("a", SLOW);
        make(&s, "a", 1);
        s.instantiated("b", SLOW);
        assert!(!make(&s, "b", 1), "a's spare is younger than EVICT_AFTER");
        assert!(s.ready("a") && !s.ready("b"));
        // b went back to unseen: its next slow call asks again.
        assert!(s.instantiated("b", SLOW));
        // Found fast while being made: no room taken, nothing filed.
        s.instantiated("b", FAST);
        assert!(s.room("b").is_none());
        s.file("b", None);
        assert!(!s.ready("b"));
    }

    #[test]
    fn spares_off_asks_for_none() {
        let s = spares(0);
        assert!(!s.instantiated("a", SLOW));
        assert!(s.claim("a", |_| true).spare.is_none());
    }
}
