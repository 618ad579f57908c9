//! Progress on standard error when it is a terminal: bytes, rate and time left (the total is known
//! before the first byte).

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// A progress line redrawn at most five times a second.
pub struct Progress {
    total: u64,
    started: Instant,
    last: Instant,
    enabled: bool,
}

impl Progress {
    /// Shows progress towards `total` bytes unless `quiet` or standard error is not a terminal.
    pub fn new(total: u64, quiet: bool) -> Progress {
        let now = Instant::now();
        Progress {
            total,
            started: now,
            last: now,
            enabled: !quiet && std::io::stderr().is_terminal(),
        }
    }

    /// Reports that `done` bytes are out.
    pub fn update(&mut self, done: u64) {
        if !self.enabled || self.last.elapsed() < Duration::from_millis(200) {
            return;
        }
        self.last = Instant::now();
        self.draw(done);
    }

    /// Draws the final line and moves to the next.
    pub fn finish(&mut self, done: u64) {
        if self.enabled {
            self.draw(done);
            eprintln!();
        }
    }

    fn draw(&self, done: u64) {
        let secs = self.started.elapsed().as_secs_f64().max(1e-3);
        let rate = done as f64 / secs;
        let left = if rate > 0.0 {
            (self.total.saturating_sub(done)) as f64 / rate
        } else {
            0.0
        };
        let pct = if self.total > 0 {
            done as f64 * 100.0 / self.total as f64
        } else {
            100.0
        };
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r{} / {} ({pct:.1}%)  {}/s  {:.0}s left   ",
            human(done),
            human(self.total),
            human(rate as u64),
            left
        );
        let _ = err.flush();
    }
}

/// `1536` as `1.5 KiB`.
pub fn human(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}
