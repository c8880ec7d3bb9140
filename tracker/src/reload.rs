//! Loading the access-list file, at start, on SIGHUP, and when it changes on disk.
//!
//! A reload is all or nothing: a file that does not parse leaves the previous list in
//! place and says why, and a changed file is read only once it has stopped changing, so
//! a half-saved edit never opens or closes the tracker. Operators should still replace
//! the file by renaming a complete one over it. Swarms a new list refuses are dropped,
//! but their download counts are kept in case the torrent comes back.

use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use seedline_common::InfoHash;
use tokio_util::sync::CancellationToken;

use crate::access::parse_list;
use crate::tracker::Tracker;

/// Far above any real list (25 million hashes), far below a memory problem.
const MAX_FILE: u64 = 1 << 30;

/// Reads and parses an access-list file; the error names the file and the line.
pub fn read_list(path: &Path) -> Result<HashSet<InfoHash, hashbrown::DefaultHashBuilder>, String> {
    let fail = |e: String| format!("access list {}: {e}", path.display());
    let mut text = String::new();
    std::fs::File::open(path)
        .map_err(|e| fail(e.to_string()))?
        .take(MAX_FILE + 1)
        .read_to_string(&mut text)
        .map_err(|e| fail(e.to_string()))?;
    if text.len() as u64 > MAX_FILE {
        return Err(fail(format!("larger than {MAX_FILE} bytes")));
    }
    parse_list(&text).map_err(|e| fail(e.to_string()))
}

/// Loads the file into the tracker and drops swarms the new list refuses; true if the
/// list was replaced.
pub fn reload(t: &Tracker, path: &Path) -> bool {
    let results = &t.metrics.ops.access_reloads;
    match read_list(path) {
        Ok(list) => {
            let entries = t.access.set_file_list(list);
            let dropped = t.store.purge_refused();
            results.with_label_values(&["ok"]).inc();
            t.refresh_access_gauges();
            tracing::info!(path = %path.display(), entries, swarms_dropped = dropped, "access list loaded");
            true
        }
        Err(e) => {
            results.with_label_values(&["error"]).inc();
            tracing::error!(error = %e, "access list not loaded; keeping the previous one");
            false
        }
    }
}

/// What identifies a version of the file: replaced (new inode), resized or touched.
fn fingerprint(path: &Path) -> Option<(SystemTime, u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path).ok()?;
    Some((m.modified().ok()?, m.len(), m.ino()))
}

/// Reloads on SIGHUP and, every `poll` seconds (0: never), when the file changed.
pub async fn reload_loop(t: Arc<Tracker>, path: PathBuf, shutdown: CancellationToken) {
    use tokio::signal::unix::{signal, SignalKind};
    let mut hup = match signal(SignalKind::hangup()) {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::warn!(error = %e, "no SIGHUP handler; the access list reloads on change only");
            None
        }
    };
    let poll = u64::from(t.config().access_list_poll);
    let mut tick = tokio::time::interval(Duration::from_secs(poll.max(1)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut seen = fingerprint(&path);
    // A change is read once the file has stayed the same for a whole poll, so a file
    // still being written (`cat new > list`) is not taken half-done.
    let mut settling = None;
    loop {
        let hup_recv = async {
            match hup.as_mut() {
                Some(h) => h.recv().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = hup_recv => {
                tracing::info!("SIGHUP: reloading the access list");
            }
            _ = tick.tick(), if poll > 0 => {
                let now = fingerprint(&path);
                if now == seen {
                    settling = None;
                    continue;
                }
                if settling != Some(now) {
                    settling = Some(now);
                    continue;
                }
            }
        }
        settling = None;
        seen = fingerprint(&path);
        let (t2, p2) = (t.clone(), path.clone());
        let _ = tokio::task::spawn_blocking(move || reload(&t2, &p2)).await;
    }
}
