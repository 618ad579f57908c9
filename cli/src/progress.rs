//! Progress on standard error when it is a terminal (never on a pipe, never with --quiet): bytes
//! with rate and time left where the total is known up front, counts while scanning.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A progress line, or nothing.
pub struct Progress {
    bar: Option<ProgressBar>,
}

fn enabled(quiet: bool) -> bool {
    !quiet && std::io::stderr().is_terminal()
}

impl Progress {
    /// Progress towards `total` bytes (`None`: the total is not known, as for a deflated ZIP).
    pub fn bytes(total: Option<u64>, quiet: bool) -> Progress {
        if !enabled(quiet) {
            return Progress { bar: None };
        }
        let bar = match total {
            Some(total) => ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr())
                .with_style(
                    ProgressStyle::with_template(
                        "{bytes:>10} / {total_bytes} ({percent}%)  {binary_bytes_per_sec}  {eta} left",
                    )
                    .expect("a valid template"),
                ),
            None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()).with_style(
                ProgressStyle::with_template("{bytes:>10}  {binary_bytes_per_sec}")
                    .expect("a valid template"),
            ),
        };
        Progress { bar: Some(bar) }
    }

    /// A counter of entries and bytes found while scanning (the total is not known yet).
    pub fn scan(quiet: bool) -> Progress {
        if !enabled(quiet) {
            return Progress { bar: None };
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr())
            .with_style(ProgressStyle::with_template("scanning: {msg}").expect("a valid template"));
        bar.enable_steady_tick(Duration::from_millis(200));
        Progress { bar: Some(bar) }
    }

    /// True when something is drawn.
    pub fn is_shown(&self) -> bool {
        self.bar.is_some()
    }

    /// The bar itself, for a thread that updates it.
    pub fn handle(&self) -> Option<ProgressBar> {
        self.bar.clone()
    }

    /// `done` bytes (or units) so far.
    pub fn set(&self, done: u64) {
        if let Some(bar) = &self.bar {
            bar.set_position(done);
        }
    }

    /// Replaces the message (scan counters).
    pub fn message(&self, text: String) {
        if let Some(bar) = &self.bar {
            bar.set_message(text);
        }
    }

    /// Ends the line, leaving the final figures on screen.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        // On an error the line is cleared so that the message is not mixed with it.
        if let Some(bar) = &self.bar {
            if !bar.is_finished() {
                bar.finish_and_clear();
            }
        }
    }
}

/// `1536` as `1.5 KiB`.
pub fn human(n: u64) -> String {
    indicatif::BinaryBytes(n).to_string()
}
