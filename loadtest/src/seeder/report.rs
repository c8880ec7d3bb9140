//! The result of a `loadtest seeder` run: human table and JSON.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::Duration;

use serde::Serialize;

use super::leecher::Outcome;
use super::{SeederArgs, Torrent};

#[derive(Debug, Serialize)]
pub struct Report {
    pub target: String,
    pub peers: usize,
    pub pipeline: usize,
    /// The `reqq` the seed advertised (BEP 10), which caps the pipeline.
    pub seed_reqq: Option<u32>,
    pub torrent_bytes: u64,
    pub elapsed_secs: f64,
    /// Piece data received by all leechers.
    pub bytes_total: u64,
    /// Total bytes over the whole run, in MB/s (10^6).
    pub mb_per_sec: f64,
    pub completed: usize,
    /// Per leecher, MB/s over its own download (complete leechers only).
    pub per_peer_mb_per_sec: Spread,
    /// 1.0 when every leecher got the same rate, 1/n when one got everything.
    pub fairness: f64,
    /// Connect to the seed's handshake, milliseconds.
    pub handshake_ms: Spread,
    pub pieces_bad: u64,
    pub errors: BTreeMap<String, u64>,
    pub target_process: Option<TargetProcess>,
    pub host_busy_percent: Option<f64>,
}

#[derive(Debug, Default, Serialize)]
pub struct Spread {
    pub min: f64,
    pub p50: f64,
    pub max: f64,
}

impl Spread {
    fn of(mut v: Vec<f64>) -> Self {
        if v.is_empty() {
            return Self::default();
        }
        v.sort_by(f64::total_cmp);
        Self {
            min: v[0],
            p50: v[v.len() / 2],
            max: v[v.len() - 1],
        }
    }
}

#[derive(Debug, Serialize)]
pub struct TargetProcess {
    pub cpu_secs: f64,
    pub cpu_secs_per_gib: f64,
    pub rss_kib: Option<u64>,
}

impl Report {
    pub(super) fn new(
        args: &SeederArgs,
        t: &Torrent,
        outcomes: &[Outcome],
        elapsed: Duration,
        cpu: Option<Duration>,
        rss: Option<u64>,
        host: Option<(f64, f64)>,
    ) -> Self {
        let bytes_total: u64 = outcomes.iter().map(|o| o.bytes).sum();
        let secs = elapsed.as_secs_f64().max(1e-9);
        let rates: Vec<f64> = outcomes
            .iter()
            .filter_map(|o| {
                o.download
                    .map(|d| o.bytes as f64 / d.as_secs_f64().max(1e-9) / 1e6)
            })
            .collect();
        let fairness = jain(&rates);
        let mut errors = BTreeMap::new();
        for o in outcomes {
            if let Some(e) = o.error {
                *errors.entry(e.to_string()).or_insert(0) += 1;
            }
        }
        Self {
            target: args.target.to_string(),
            peers: args.peers,
            pipeline: args.pipeline,
            seed_reqq: outcomes.iter().find_map(|o| o.seed_reqq),
            torrent_bytes: t.total,
            elapsed_secs: secs,
            bytes_total,
            mb_per_sec: bytes_total as f64 / secs / 1e6,
            completed: rates.len(),
            per_peer_mb_per_sec: Spread::of(rates),
            fairness,
            handshake_ms: Spread::of(
                outcomes
                    .iter()
                    .filter_map(|o| o.handshake.map(|h| h.as_secs_f64() * 1e3))
                    .collect(),
            ),
            pieces_bad: outcomes.iter().map(|o| o.pieces_bad).sum(),
            errors,
            target_process: cpu.map(|c| TargetProcess {
                cpu_secs: c.as_secs_f64(),
                cpu_secs_per_gib: c.as_secs_f64()
                    / (bytes_total.max(1) as f64 / (1u64 << 30) as f64),
                rss_kib: rss,
            }),
            host_busy_percent: host.map(|h| h.0),
        }
    }

    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }

    pub fn human(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "target     {}  {} leechers x {} bytes, pipeline {} (seed's reqq {})",
            self.target,
            self.peers,
            self.torrent_bytes,
            self.pipeline,
            self.seed_reqq
                .map_or_else(|| "not given".to_owned(), |q| q.to_string())
        );
        let _ = writeln!(
            s,
            "total      {} bytes in {:.2} s = {:.1} MB/s; {} of {} leechers complete",
            self.bytes_total, self.elapsed_secs, self.mb_per_sec, self.completed, self.peers
        );
        let p = &self.per_peer_mb_per_sec;
        let _ = writeln!(
            s,
            "per peer   MB/s min {:.1}  p50 {:.1}  max {:.1}  fairness {:.3}",
            p.min, p.p50, p.max, self.fairness
        );
        let h = &self.handshake_ms;
        let _ = writeln!(
            s,
            "handshake  ms min {:.2}  p50 {:.2}  max {:.2}",
            h.min, h.p50, h.max
        );
        if let Some(tp) = &self.target_process {
            let _ = writeln!(
                s,
                "seeder     {:.2} CPU s = {:.2} CPU s/GiB, RSS {} KiB",
                tp.cpu_secs,
                tp.cpu_secs_per_gib,
                tp.rss_kib.map_or("?".into(), |r| r.to_string())
            );
        }
        let _ = writeln!(s, "bad pieces {}", self.pieces_bad);
        for (k, v) in &self.errors {
            let _ = writeln!(s, "error      {k}: {v}");
        }
        s
    }
}

/// Jain's fairness index of the rates: (sum x)^2 / (n * sum x^2).
fn jain(x: &[f64]) -> f64 {
    let sum: f64 = x.iter().sum();
    let sq: f64 = x.iter().map(|v| v * v).sum();
    if x.is_empty() || sq == 0.0 {
        return 0.0;
    }
    sum * sum / (x.len() as f64 * sq)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fairness_index() {
        assert!((jain(&[5.0, 5.0, 5.0]) - 1.0).abs() < 1e-9);
        assert!((jain(&[9.0, 0.0, 0.0]) - 1.0 / 3.0).abs() < 1e-9);
        assert_eq!(jain(&[]), 0.0);
    }
}
