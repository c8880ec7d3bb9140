//! Saving the tracker's state to the state file and loading it back.
//!
//! Saves are atomic (write a temporary file beside it, fsync, rename, fsync the
//! directory), so a crash mid-save leaves the previous file. A file that loads with
//! damage is moved aside before anything overwrites it, so nothing is lost silently.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio_util::sync::CancellationToken;

use crate::state_file::{self, Writer};
use crate::tracker::Tracker;

/// Encodes the current state; one store shard is locked at a time.
pub fn snapshot(t: &Tracker) -> Vec<u8> {
    let mut w = Writer::new();
    w.registered(&t.access.registrations());
    w.denied(&t.access.denials());
    w.begin_torrents();
    t.store
        .for_each_saved(t.config().persist_peers, |ih, s| w.torrent(&ih, &s));
    w.finish()
}

/// Saves the state to `path`; returns the bytes written.
pub fn save(t: &Tracker, path: &Path) -> io::Result<usize> {
    let buf = snapshot(t);
    write_atomic(path, &buf)?;
    Ok(buf.len())
}

/// The temporary file a save writes before renaming it over `path`.
fn tmp_path(path: &Path) -> io::Result<PathBuf> {
    let name = path.file_name().ok_or_else(|| {
        io::Error::new(io::ErrorKind::InvalidInput, "state_file has no file name")
    })?;
    Ok(path.with_file_name(format!(".{}.tmp", name.to_string_lossy())))
}

/// Writes `data` to a temporary file, syncs it and renames it over `path`: a crash at
/// any point leaves the old file or the new one, whole. A failed save (a full disk)
/// removes its temporary file and leaves the old one as it was.
fn write_atomic(path: &Path, data: &[u8]) -> io::Result<()> {
    let tmp = tmp_path(path)?;
    let written = (|| {
        let mut f = File::create(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, path)
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    File::open(dir)?.sync_all()
}

/// Saves off the request workers, with logs and metrics; true on success.
pub async fn save_now(t: &Arc<Tracker>, path: &Path) -> bool {
    let (t2, p2) = (t.clone(), path.to_path_buf());
    let started = std::time::Instant::now();
    // At normal priority: the idle policy would also give the save the idle I/O class,
    // and the last save at shutdown must finish within systemd's stop timeout.
    let res = tokio::task::spawn_blocking(move || save(&t2, &p2)).await;
    let saves = &t.metrics.ops.state_saves;
    match res {
        Ok(Ok(bytes)) => {
            saves.with_label_values(&["ok"]).inc();
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            t.metrics.ops.state_last_save.set(now as i64);
            tracing::debug!(path = %path.display(), bytes, took = ?started.elapsed(), "state saved");
            true
        }
        Ok(Err(e)) => {
            saves.with_label_values(&["error"]).inc();
            tracing::error!(path = %path.display(), error = %e, "cannot save state");
            false
        }
        Err(e) => {
            saves.with_label_values(&["error"]).inc();
            tracing::error!(error = %e, "state save task failed");
            false
        }
    }
}

/// Loads `path` into a fresh tracker. A missing file is a first start; a damaged one is
/// reported, moved aside, and whatever is sound in it is loaded.
pub fn load(t: &Tracker, path: &Path) {
    // Left by a save that was killed before its rename; the file itself is whole.
    if let Ok(tmp) = tmp_path(path) {
        if fs::remove_file(&tmp).is_ok() {
            tracing::info!(path = %tmp.display(), "removed the temporary file of an interrupted save");
        }
    }
    let loads = &t.metrics.ops.state_loads;
    let buf = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            loads.with_label_values(&["missing"]).inc();
            tracing::info!(path = %path.display(), "no state file yet; starting empty");
            return;
        }
        Err(e) => {
            loads.with_label_values(&["error"]).inc();
            tracing::error!(path = %path.display(), error = %e, "cannot read state file; starting empty");
            return;
        }
    };
    let d = state_file::decode(&buf);
    let (registered, denied) = (d.state.registered.len(), d.state.denied.len());
    let registered_hashes: Vec<_> = d.state.registered.iter().map(|(ih, _)| *ih).collect();
    t.access.restore(d.state.registered, d.state.denied);
    for ih in registered_hashes {
        t.store.ensure(ih);
    }
    let mut torrents = 0usize;
    let mut peers = 0usize;
    for (ih, s) in d.state.torrents {
        let n = s.peers.len();
        if t.store.restore(ih, s, t.now()) {
            torrents += 1;
            peers += n;
        }
    }
    t.refresh_access_gauges();
    if d.problems.is_empty() {
        loads.with_label_values(&["ok"]).inc();
    } else {
        loads.with_label_values(&["corrupt"]).inc();
        let aside = aside_name(path);
        for p in &d.problems {
            tracing::error!(path = %path.display(), problem = %p, "state file damaged");
        }
        match fs::rename(path, &aside) {
            Ok(()) => {
                tracing::warn!(kept = %aside.display(), "damaged state file moved aside; the sound parts were loaded")
            }
            Err(e) => tracing::error!(error = %e, "cannot move the damaged state file aside"),
        }
    }
    tracing::info!(registered, denied, torrents, peers, "state loaded");
}

fn aside_name(path: &Path) -> PathBuf {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".damaged-{now}"));
    PathBuf::from(name)
}

/// Saves every `state_save_interval` seconds, and a second after an API change, until
/// `shutdown`; the final save is the caller's, after connections have drained.
pub async fn save_loop(t: Arc<Tracker>, path: PathBuf, shutdown: CancellationToken) {
    let every = Duration::from_secs(u64::from(t.config().state_save_interval));
    let mut tick = seedline_process::shutdown::every(every);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
            _ = t.state_change() => {
                // Let a burst of API calls settle into one save.
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
        }
        save_now(&t, &path).await;
    }
}
