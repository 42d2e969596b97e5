//! Progress of a long copy or export on stderr: rows done, their rate, the
//! time left.

use std::time::{Duration, Instant};

/// Rows done so far, their rate and the time left, on stderr: on a
/// terminal one line redrawn at most five times a second; otherwise (a log)
/// a line a second.
pub struct Progress {
    verb: &'static str,
    total: u64,
    done: u64,
    started: Instant,
    drawn: Option<Instant>,
    terminal: bool,
}

impl Progress {
    pub fn new(verb: &'static str, total: u64, terminal: bool) -> Self {
        Progress {
            verb,
            total,
            done: 0,
            started: Instant::now(),
            drawn: None,
            terminal,
        }
    }

    pub fn advance(&mut self, rows: u64) {
        self.done += rows;
        let every = if self.terminal { 200 } else { 1000 };
        if self
            .drawn
            .is_none_or(|at| at.elapsed() >= Duration::from_millis(every))
        {
            self.draw();
            self.drawn = Some(Instant::now());
        }
    }

    fn draw(&self) {
        let secs = self.started.elapsed().as_secs_f64().max(1e-6);
        let rate = self.done as f64 / secs;
        let left = self.total.saturating_sub(self.done) as f64 / rate.max(1e-9);
        let line = format!(
            "{} {}/{} rows, {:.0} rows/s, ETA {:.0}s",
            self.verb, self.done, self.total, rate, left
        );
        if self.terminal {
            eprint!("\r\x1b[2K{line}");
        } else {
            eprintln!("{line}");
        }
    }

    pub fn finish(self) {
        self.draw();
        if self.terminal {
            eprintln!();
        }
    }
}
