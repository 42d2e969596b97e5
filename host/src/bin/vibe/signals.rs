//! SIGHUP, SIGINT and SIGTERM as a polite stop: the first one sets a flag that
//! cancels what is running, so its rows end `cancelled` before the process
//! exits; a second one while stopping ends the process at once.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::flag;

use crate::Exit;

/// Whether a stop was asked for, and by which signal.
#[derive(Clone)]
pub(crate) struct Stop {
    asked: Arc<AtomicBool>,
    signal: Arc<AtomicUsize>,
}

impl Stop {
    /// Installs the handlers for this process.
    pub(crate) fn install() -> std::io::Result<Stop> {
        let stop = Stop {
            asked: Arc::new(AtomicBool::new(false)),
            signal: Arc::new(AtomicUsize::new(0)),
        };
        // SIGHUP too: a terminal that closes (an operator's SSH session
        // dropped) must not leave a call's row `running`.
        for (signal, exit) in [
            (SIGHUP, Exit::HungUp),
            (SIGINT, Exit::Interrupted),
            (SIGTERM, Exit::Terminated),
        ] {
            // Registered first, so it sees the flag as the earlier signal
            // left it: set means this is the second one.
            flag::register_conditional_shutdown(signal, exit as i32, stop.asked.clone())?;
            flag::register_usize(signal, stop.signal.clone(), signal as usize)?;
            flag::register(signal, stop.asked.clone())?;
        }
        Ok(stop)
    }

    /// The flag a [`vibe_store::sandbox::Request`] is cancelled by.
    pub(crate) fn flag(&self) -> Arc<AtomicBool> {
        self.asked.clone()
    }

    /// The signal that asked for the stop, if one did.
    pub(crate) fn signal(&self) -> Option<(&'static str, Exit)> {
        match self.signal.load(Ordering::Relaxed) as i32 {
            SIGHUP => Some(("SIGHUP", Exit::HungUp)),
            SIGINT => Some(("SIGINT", Exit::Interrupted)),
            SIGTERM => Some(("SIGTERM", Exit::Terminated)),
            _ => None,
        }
    }
}
