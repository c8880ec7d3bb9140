//! The set of served torrents: one-off torrents from the config and every `.torrent` in
//! the library directory, rescanned so that dropped-in torrents start and removed ones
//! stop without a restart. Torrents whose content is missing are checked again on every
//! scan and served once it is there.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::announce;
use super::shared::Shared;
use super::torrent::{State, Torrent};

/// A torrent file we know of, loaded or not.
enum Entry {
    Loaded(Arc<Torrent>),
    /// Unreadable or invalid; remembered by modification time so it is reported once.
    Broken(Option<SystemTime>),
}

pub struct Library {
    shared: Arc<Shared>,
    tasks: TaskTracker,
    shutdown: CancellationToken,
    entries: HashMap<PathBuf, Entry>,
}

impl Library {
    pub fn new(shared: Arc<Shared>, tasks: TaskTracker, shutdown: CancellationToken) -> Self {
        Self {
            shared,
            tasks,
            shutdown,
            entries: HashMap::new(),
        }
    }

    /// Loads a torrent given on the command line; errors are the caller's to report.
    pub fn add_one_off(&mut self, torrent: &Path, data: &Path) -> Result<(), String> {
        let t = self.load(torrent, data)?;
        self.entries.insert(torrent.to_owned(), Entry::Loaded(t));
        Ok(())
    }

    /// One pass over the library directory; with `content`, also a look at every
    /// torrent's files (waiting for them, or checking they did not change).
    pub fn scan(&mut self, content: bool) {
        if let Some(dir) = self.shared.cfg.library.clone() {
            self.scan_dir(&dir);
        }
        // A broken .torrent never becomes a torrent; it is a state all the same, so an
        // operator sees it on a dashboard and in an alert, not only in a log line.
        let broken = self
            .entries
            .values()
            .filter(|e| matches!(e, Entry::Broken(_)))
            .count();
        self.shared
            .metrics
            .torrents
            .with_label_values(&["broken"])
            .set(broken as i64);
        if !content {
            return;
        }
        for e in self.entries.values() {
            if let Entry::Loaded(t) = e {
                if t.state() == State::Missing {
                    self.start(t);
                } else {
                    self.recheck(t);
                }
            }
        }
    }

    /// A served torrent's files, looked at again: one that went missing or changed size
    /// stops the torrent; one replaced or changed in place (and pieces that could not be
    /// read) is verified again.
    fn recheck(&self, t: &Arc<Torrent>) {
        if let Err(e) = t.recheck_content() {
            tracing::error!(
                torrent = %t.source.display(),
                error = %e,
                "content is missing or has the wrong size; not serving until it is fixed"
            );
            t.set_state(State::Missing);
            *t.content_error.lock().expect("content error lock") = Some(e.to_string());
            return;
        }
        // Trusted torrents hash unproven pieces on their next request anyway, unless
        // they are damaged: then only a full pass can prove them good again.
        if t.take_needs_verify() && (!t.trusted || t.state() == State::Damaged) {
            self.verify_in_background(t);
        }
    }

    /// Hashes the torrent's unproven pieces off the runtime, one torrent at a time.
    fn verify_in_background(&self, t: &Arc<Torrent>) {
        let (t, slots) = (t.clone(), self.shared.background_verify.clone());
        self.tasks.spawn(async move {
            let Ok(_permit) = slots.acquire_owned().await else {
                return;
            };
            let _ = tokio::task::spawn_blocking(move || t.verify_all()).await;
        });
    }

    fn scan_dir(&mut self, dir: &Path) {
        let found: HashMap<PathBuf, Option<SystemTime>> = match std::fs::read_dir(dir) {
            Ok(rd) => rd
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "torrent") && p.is_file())
                .map(|p| {
                    let mtime = std::fs::metadata(&p).and_then(|m| m.modified()).ok();
                    (p, mtime)
                })
                .collect(),
            Err(e) => {
                tracing::error!(library = %dir.display(), error = %e, "cannot read the library");
                return;
            }
        };
        let gone: Vec<PathBuf> = self
            .entries
            .keys()
            .filter(|p| p.parent() == Some(dir) && !found.contains_key(*p))
            .cloned()
            .collect();
        for p in gone {
            if let Some(Entry::Loaded(t)) = self.entries.remove(&p) {
                self.remove(&t);
            }
        }
        let data_dir = self
            .shared
            .cfg
            .data_root
            .clone()
            .unwrap_or_else(|| dir.to_owned());
        for (path, mtime) in found {
            match self.entries.get(&path) {
                Some(Entry::Loaded(_)) => continue,
                Some(Entry::Broken(seen)) if *seen == mtime => continue,
                _ => {}
            }
            let entry = match self.load(&path, &data_dir) {
                Ok(t) => Entry::Loaded(t),
                Err(e) => {
                    tracing::error!("{e}");
                    Entry::Broken(mtime)
                }
            };
            self.entries.insert(path, entry);
        }
    }

    fn load(&self, path: &Path, data_dir: &Path) -> Result<Arc<Torrent>, String> {
        let t = Torrent::load(
            path,
            data_dir,
            self.shared.files.clone(),
            self.shared.cfg.torrent_upload_rate,
            self.shared.cfg.super_seed,
            self.shutdown.child_token(),
            self.shared.metrics.clone(),
        )?;
        if let Err(other) = self.shared.add_torrent(&t) {
            return Err(format!(
                "{} has the same info hash as {}; it is not loaded twice",
                path.display(),
                other.source.display()
            ));
        }
        tracing::info!(
            torrent = %path.display(),
            info_hash = %t.info_hash,
            v2_swarm = ?t.v2_swarm().map(|h| h.to_hex()),
            name = %t.info.name,
            trusted = t.trusted,
            "torrent added"
        );
        // Tracked before its first announce, so an allow-mode embedded tracker takes it.
        self.shared.track(&t);
        self.start(&t);
        let (shared, t2, stop) = (self.shared.clone(), t.clone(), t.token.clone());
        self.tasks.spawn(async move {
            announce::run_swarms(shared.clone(), t2.clone(), stop).await;
            // After its `stopped`, which the embedded tracker must still take.
            shared.untrack(&t2);
        });
        Ok(t)
    }

    /// Serves the torrent if its content is complete: trusted ones at once, others
    /// after (and while) a background verification.
    fn start(&self, t: &Arc<Torrent>) {
        let checked = t.check_content();
        let mut last = t.content_error.lock().expect("content error lock");
        match checked {
            Err(e) => {
                let msg = e.to_string();
                if last.as_deref() != Some(msg.as_str()) {
                    tracing::error!(
                        torrent = %t.source.display(),
                        error = %msg,
                        "content is missing or has the wrong size; not serving until it is fixed"
                    );
                    *last = Some(msg);
                }
                return;
            }
            Ok(()) => {
                if last.take().is_some() {
                    tracing::info!(torrent = %t.source.display(), "content is complete now");
                }
            }
        }
        drop(last);
        if t.state() == State::Checking {
            t.take_needs_verify();
            self.verify_in_background(t);
        }
    }

    fn remove(&self, t: &Arc<Torrent>) {
        self.shared.remove_torrent(&t.info_hash);
        t.token.cancel();
        tracing::info!(torrent = %t.source.display(), info_hash = %t.info_hash, "torrent removed");
    }
}
