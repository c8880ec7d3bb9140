//! Hashing progress on standard error: a live bar on a terminal, and a few plain lines
//! otherwise, so logs from scripts and CI stay readable.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use indicatif::{HumanBytes, ProgressBar, ProgressStyle};

/// Receives the number of bytes hashed so far.
pub trait Progress {
    fn set_position(&mut self, hashed: u64);
}

/// A line at most this often when standard error is not a terminal.
const LINE_INTERVAL: Duration = Duration::from_secs(10);

/// Reports hashing of `total` bytes to standard error.
pub struct Reporter {
    kind: Kind,
    label: String,
    total: u64,
    started: Instant,
}

enum Kind {
    Bar(ProgressBar),
    Lines { last_line: Instant },
}

impl Reporter {
    /// A bar when standard error is a terminal, plain lines otherwise.
    pub fn stderr(label: &str, total: u64) -> Self {
        let now = Instant::now();
        let kind = if std::io::stderr().is_terminal() {
            let bar = ProgressBar::new(total);
            bar.set_style(
                ProgressStyle::with_template(
                    "{msg} [{bar:30}] {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} ETA {eta}",
                )
                .expect("the template is valid")
                .progress_chars("=> "),
            );
            bar.set_message(format!("hashing {label}"));
            Kind::Bar(bar)
        } else {
            eprintln!("hashing {label}: {}", HumanBytes(total));
            Kind::Lines { last_line: now }
        };
        Self {
            kind,
            label: label.to_owned(),
            total,
            started: now,
        }
    }

    /// Clears the bar, or prints the closing line with the average speed.
    pub fn finish(self) {
        let elapsed = self.started.elapsed();
        match self.kind {
            Kind::Bar(bar) => bar.finish_and_clear(),
            Kind::Lines { .. } => {
                let rate = self.total as f64 / elapsed.as_secs_f64().max(1e-9);
                let mut err = std::io::stderr().lock();
                // Nothing sensible to do if standard error is gone.
                let _ = writeln!(
                    err,
                    "hashed {}: {} in {:.1} s ({}/s)",
                    self.label,
                    HumanBytes(self.total),
                    elapsed.as_secs_f64(),
                    HumanBytes(rate as u64),
                );
            }
        }
    }
}

impl Progress for Reporter {
    fn set_position(&mut self, hashed: u64) {
        match &mut self.kind {
            Kind::Bar(bar) => bar.set_position(hashed),
            Kind::Lines { last_line } => {
                if last_line.elapsed() >= LINE_INTERVAL && hashed < self.total {
                    *last_line = Instant::now();
                    let percent = hashed * 100 / self.total.max(1);
                    eprintln!(
                        "hashing {}: {percent}% ({} of {})",
                        self.label,
                        HumanBytes(hashed),
                        HumanBytes(self.total)
                    );
                }
            }
        }
    }
}

/// Discards progress (tests, and callers that report on their own).
pub struct Silent;

impl Progress for Silent {
    fn set_position(&mut self, _: u64) {}
}
