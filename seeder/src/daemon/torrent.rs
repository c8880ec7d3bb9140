//! One served torrent: its metainfo, its content on disk, and which pieces are proven.
//!
//! A piece is served only once its SHA-1 matched. Torrents our own `make-torrent` wrote
//! are advertised whole at once (seed mode) and each piece is hashed just before its first
//! block leaves; other torrents are hashed in the background and advertised as pieces
//! pass. A file that changes on disk (see `storage`) sends its pieces back to unproven,
//! so they are hashed again before another block of them leaves; pieces that could not
//! be read are tried again.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;

use seedline_common::metainfo::hash_tree::HashRefusal;
use seedline_common::metainfo::merkle::Hash32;
use seedline_common::metainfo::{Info, Metainfo};
use seedline_common::wire::Bitfield;
use seedline_common::wire::{Handshake, HashRequest};
use seedline_common::InfoHash;
use sha1::{Digest, Sha1};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::file_cache::FileCache;
use super::metrics::Metrics;
use super::rate::RateLimiter;
use super::storage::{ContentError, OpenSpan, Storage};
use super::super_seed::SuperSeed;
use super::webseed::resolve::FileIndex;
use v2::{NodeHasher, V2Served};

/// What our `make-torrent` writes in `created by`, whatever its version.
const CREATED_BY_PREFIX: &str = "seedline make-torrent ";

/// Where a torrent is in its life, as a metric label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Checking,
    Seeding,
    Missing,
    /// A piece does not match its hash: not served (and not announced) until a full
    /// pass finds every piece good again. Clients given a bad piece's `have` would ask
    /// for it forever and stall at 99%, since a piece once advertised cannot be taken
    /// back.
    Damaged,
}

impl State {
    pub const ALL: [State; 4] = [
        State::Checking,
        State::Seeding,
        State::Missing,
        State::Damaged,
    ];

    pub fn label(self) -> &'static str {
        match self {
            State::Checking => "checking",
            State::Seeding => "seeding",
            State::Missing => "missing",
            State::Damaged => "damaged",
        }
    }

    /// Whether peers are let in.
    pub fn is_served(self) -> bool {
        matches!(self, State::Checking | State::Seeding)
    }
}

const UNKNOWN: u8 = 0;
const GOOD: u8 = 1;
const BAD: u8 = 2;

/// Pieces are hashed in reads of this size, so verifying never holds a whole piece.
const HASH_CHUNK: usize = 256 * 1024;

pub struct Torrent {
    /// The hash the torrent is known by here: v1's, or for a v2-only torrent the
    /// truncated v2 hash.
    pub info_hash: InfoHash,
    /// The SHA-256 info hash of a v2 or hybrid torrent (BEP 52).
    pub info_hash_v2: Option<Hash32>,
    /// The Merkle trees of a v2 or hybrid torrent: its pieces are proven against them
    /// too, and `hash request`s answered from them.
    v2: Option<V2Served>,
    pub info: Info,
    /// The `info` dictionary as published, for BEP 9.
    pub info_bytes: Vec<u8>,
    /// Tracker tiers from the torrent, before any `--tracker` override.
    pub tiers: Vec<Vec<String>>,
    /// The `.torrent` file this came from, for logs.
    pub source: PathBuf,
    pub storage: Storage,
    /// Written by our own `make-torrent`: advertised whole, verified on first upload.
    pub trusted: bool,
    /// `creation date`, seconds since the Unix epoch: the webseed's `Last-Modified`.
    pub created: Option<i64>,
    /// The files' total length, summed once: every request needs a piece's range.
    total_length: u64,
    pieces: Vec<AtomicU8>,
    /// Some pieces went back to unproven (content changed, or a read failed): a
    /// background pass should hash them again.
    needs_verify: AtomicBool,
    /// Bumped by every content change, before pieces are forgotten: a hash or a read
    /// that began before a change must not count (review of session 22).
    generation: AtomicU64,
    /// Bumped whenever pieces become servable, so connections can send `have`.
    pub progress: watch::Sender<u32>,
    pub peers: AtomicUsize,
    pub uploaded: AtomicU64,
    pub limiter: RateLimiter,
    /// Present when the torrent is super-seeded (BEP 16).
    pub super_seed: Option<SuperSeed>,
    /// Cancelled when the torrent is removed from the library: its peers disconnect.
    pub token: CancellationToken,
    /// Cancelled when the torrent turns damaged: its peers disconnect. Replaced by a
    /// fresh one when it is served again.
    serving: std::sync::Mutex<CancellationToken>,
    state: std::sync::Mutex<State>,
    /// The last content problem logged, so a rescan repeats it only when it changes.
    pub content_error: std::sync::Mutex<Option<String>>,
    /// Files by path, for the webseed listener; built on its first request.
    file_index: std::sync::OnceLock<FileIndex>,
    metrics: Metrics,
}

impl Torrent {
    /// Reads and parses a `.torrent`; its content is `data_dir/<name>`.
    pub fn load(
        path: &Path,
        data_dir: &Path,
        files: Arc<FileCache>,
        rate: u64,
        super_seed: bool,
        token: CancellationToken,
        metrics: Metrics,
    ) -> Result<Arc<Self>, String> {
        let bytes =
            std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let parsed = Metainfo::from_bytes(&bytes)
            .map_err(|e| format!("{} is not a valid torrent: {e}", path.display()))?;
        let info_hash_v2 = parsed.v2.as_ref().map(|v| v.info_hash);
        let m = parsed.metainfo;
        // A v2-only torrent's `info` is its v2 files with the pads v2 implies: the piece
        // space its peers share (see `Metainfo::from_bytes`).
        let v2 = parsed
            .v2
            .map(|v| V2Served::new(&m.info, v.info))
            .transpose()
            .map_err(|e| format!("{} cannot be served: {e}", path.display()))?;
        let trusted = m
            .created_by
            .as_deref()
            .is_some_and(|c| c.starts_with(CREATED_BY_PREFIX));
        let mut storage = Storage::new(&m.info, data_dir, files);
        let mut total_length = m.info.total_length();
        let count = if m.info.pieces.is_empty() {
            // v2 only: libtorrent pads the last file to a whole piece as it pads every
            // other, and asks for that padding.
            total_length = total_length.next_multiple_of(m.info.piece_length);
            storage = storage.pad_to(total_length);
            total_length / m.info.piece_length
        } else {
            m.info.pieces.len() as u64
        };
        let piece_count =
            u32::try_from(count).map_err(|_| format!("{} has too many pieces", path.display()))?;
        let pieces = (0..piece_count).map(|_| AtomicU8::new(UNKNOWN)).collect();
        metrics
            .torrents
            .with_label_values(&[State::Missing.label()])
            .inc();
        Ok(Arc::new(Self {
            info_hash: parsed.info_hash,
            info_hash_v2,
            v2,
            total_length,
            storage,
            tiers: m.tiers(),
            info: m.info,
            info_bytes: parsed.info_bytes,
            source: path.to_owned(),
            trusted,
            created: m.creation_date,
            pieces,
            needs_verify: AtomicBool::new(false),
            generation: AtomicU64::new(0),
            progress: watch::Sender::new(0),
            peers: AtomicUsize::new(0),
            uploaded: AtomicU64::new(0),
            limiter: RateLimiter::new(rate),
            super_seed: super_seed.then(|| SuperSeed::new(piece_count)),
            token,
            serving: std::sync::Mutex::new(CancellationToken::new()),
            state: std::sync::Mutex::new(State::Missing),
            content_error: std::sync::Mutex::new(None),
            file_index: std::sync::OnceLock::new(),
            metrics,
        }))
    }

    /// A hybrid's v2 swarm: its truncated SHA-256 info hash, which trackers, handshakes
    /// and encrypted handshakes use for it (BEP 52).
    pub fn v2_swarm(&self) -> Option<InfoHash> {
        let h = self.info_hash_v2?;
        let short = InfoHash(h[..20].try_into().expect("20 of 32 bytes"));
        (short != self.info_hash).then_some(short)
    }

    /// Every swarm this torrent is served in: one, or two for a hybrid (v1 first).
    pub fn swarms(&self) -> Vec<InfoHash> {
        std::iter::once(self.info_hash)
            .chain(self.v2_swarm())
            .collect()
    }

    /// The info hash to answer `theirs` with, and whether that is the v2 swarm. A v2
    /// peer that opened with a hybrid's v1 hash is moved to the v2 swarm (BEP 52's
    /// upgrade): libtorrent, which knows the origin from both swarms, accepts the v2 hash
    /// back on either, while an echo of v1 fails when its peer entry went v2 meanwhile.
    pub fn answer(&self, theirs: &Handshake) -> (InfoHash, bool) {
        match self.v2_swarm() {
            Some(v2) if theirs.info_hash == v2 || theirs.supports_v2() => (v2, true),
            Some(_) => (self.info_hash, false),
            None => (self.info_hash, self.info_hash_v2.is_some()),
        }
    }

    pub fn piece_count(&self) -> u32 {
        self.pieces.len() as u32
    }

    /// The byte range of piece `index` in the files' concatenated stream, in O(1)
    /// (`Info::piece_range` sums the file lengths each time).
    pub fn piece_range(&self, index: u32) -> std::ops::Range<u64> {
        let len = self.info.piece_length;
        let start = u64::from(index) * len;
        start..(start + len).min(self.total_length)
    }

    /// The files by path (see `webseed::resolve`).
    pub fn file_index(&self) -> &FileIndex {
        self.file_index.get_or_init(|| FileIndex::new(&self.info))
    }

    pub fn state(&self) -> State {
        *self.state.lock().expect("state lock")
    }

    /// Moves to `new`. Leaving the served states fires [`Self::serving_token`] (peers
    /// disconnect, announcers withdraw); coming back gives a fresh one.
    pub fn set_state(&self, new: State) {
        self.set_state_if(|_| true, new);
    }

    /// Moves to `new` if the state now passes `from`, checked under the same lock (a
    /// scan may set `Missing` meanwhile); returns whether it moved.
    fn set_state_if(&self, from: impl Fn(State) -> bool, new: State) -> bool {
        let mut s = self.state.lock().expect("state lock");
        if *s == new || !from(*s) {
            return false;
        }
        self.metrics.torrents.with_label_values(&[s.label()]).dec();
        self.metrics
            .torrents
            .with_label_values(&[new.label()])
            .inc();
        let mut serving = self.serving.lock().expect("serving lock");
        if new.is_served() && serving.is_cancelled() {
            *serving = CancellationToken::new();
        } else if !new.is_served() {
            serving.cancel();
        }
        *s = new;
        true
    }

    /// Whether peers are let in at all.
    pub fn is_serving(&self) -> bool {
        self.state().is_served()
    }

    /// Fires when the torrent stops being served (content missing or damaged).
    pub fn serving_token(&self) -> CancellationToken {
        self.serving.lock().expect("serving lock").clone()
    }

    /// A piece that was, or may have been, advertised failed its hash (`index`), or a
    /// full pass found `bad` pieces: stop serving, drop the peers, and have the library
    /// hash every unproven piece again. Only a served torrent turns damaged.
    fn damaged(&self, what: &str) {
        if !self.set_state_if(State::is_served, State::Damaged) {
            return;
        }
        self.needs_verify.store(true, Ordering::Release);
        tracing::error!(
            torrent = %self.source.display(),
            problem = what,
            "content does not match the torrent: not served (damaged) until every piece is right again"
        );
    }

    /// Whether `index` may be advertised: proven good, or trusted and not proven bad.
    pub fn advertised(&self, index: u32) -> bool {
        match self
            .pieces
            .get(index as usize)
            .map(|p| p.load(Ordering::Acquire))
        {
            Some(GOOD) => true,
            Some(UNKNOWN) => self.trusted,
            _ => false,
        }
    }

    /// Whether `index` was hashed and matched.
    pub fn is_verified(&self, index: u32) -> bool {
        self.pieces
            .get(index as usize)
            .is_some_and(|p| p.load(Ordering::Acquire) == GOOD)
    }

    pub fn bitfield(&self) -> Bitfield {
        let mut b = Bitfield::new(self.piece_count());
        for i in 0..self.piece_count() {
            if self.advertised(i) {
                b.set(i);
            }
        }
        b
    }

    /// Fills `buf` with content at `offset`; a file found changed on disk sends its
    /// pieces back to unproven and fails the read.
    pub fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
        self.storage
            .read_at(offset, buf, &|bytes| self.content_changed(bytes))
    }

    /// The file holding the byte at `offset`, opened for a read from it (the webseed
    /// sends from it with `sendfile`); [`Self::after_read`] must follow the read.
    pub fn open_at(&self, offset: u64) -> std::io::Result<OpenSpan> {
        self.storage.open_at(offset)
    }

    /// Checks the file read from `open` did not change: if it did, its pieces go back to
    /// unproven and this fails.
    pub fn after_read(&self, open: &OpenSpan) -> std::io::Result<()> {
        self.storage
            .after_read(open, &|bytes| self.content_changed(bytes))
    }

    /// Forgets which pieces overlapping `bytes` were proven: they are hashed again before
    /// they are served (trusted torrents on the next request, others in the background).
    fn content_changed(&self, bytes: Range<u64>) {
        let len = self.info.piece_length;
        let first = (bytes.start / len) as usize;
        let last = bytes.end.div_ceil(len).min(self.pieces.len() as u64) as usize;
        self.generation.fetch_add(1, Ordering::AcqRel);
        for p in &self.pieces[first..last.max(first)] {
            p.store(UNKNOWN, Ordering::Release);
        }
        self.needs_verify.store(true, Ordering::Release);
        self.metrics.content_changes.inc();
        tracing::warn!(
            torrent = %self.source.display(),
            pieces = ?(first..last),
            "content changed on disk; its pieces are verified again before they are served"
        );
    }

    /// Changes only when content changed on disk; see [`Self::read_at`].
    pub fn content_generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Whether some pieces went back to unproven since the last call.
    pub fn take_needs_verify(&self) -> bool {
        self.needs_verify.swap(false, Ordering::AcqRel)
    }

    /// Checks the files again (sizes, and whether they are still the files first read)
    /// without changing the state of a torrent being served.
    pub fn recheck_content(&self) -> Result<(), ContentError> {
        self.storage.check(&|bytes| self.content_changed(bytes))
    }

    /// Checks that the content is there with the right sizes and moves to `Checking`
    /// (or straight to `Seeding` for trusted torrents). Returns whether it can be served.
    pub fn check_content(&self) -> Result<(), ContentError> {
        match self.recheck_content() {
            Ok(()) => {
                // A piece proven bad stays so until its file changes: content that came
                // back as it was (moved away and back) is still damaged.
                let bad = self.pieces.iter().any(|p| p.load(Ordering::Acquire) == BAD);
                self.set_state(if bad {
                    State::Damaged
                } else if self.trusted {
                    State::Seeding
                } else {
                    State::Checking
                });
                Ok(())
            }
            Err(e) => {
                self.set_state(State::Missing);
                Err(e)
            }
        }
    }

    /// Hashes piece `index` if that was not done yet (blocking: call from a blocking
    /// thread). Returns whether the piece is good.
    pub fn ensure_verified(&self, index: u32) -> std::io::Result<bool> {
        let Some(slot) = self.pieces.get(index as usize) else {
            return Ok(false);
        };
        match slot.load(Ordering::Acquire) {
            GOOD => return Ok(true),
            BAD => return Ok(false),
            _ => {}
        }
        let generation = self.content_generation();
        let good = self.hash_piece(index)?;
        if generation != self.content_generation() {
            // The content changed while it was hashed: this verdict is about old bytes.
            return Err(std::io::Error::other(
                "content changed while it was verified",
            ));
        }
        slot.store(if good { GOOD } else { BAD }, Ordering::Release);
        let result = if good { "good" } else { "bad" };
        self.metrics
            .pieces_verified
            .with_label_values(&[result])
            .inc();
        if !good {
            tracing::error!(
                torrent = %self.source.display(),
                piece = index,
                "piece does not match the torrent's hash; it will not be served"
            );
            // While checking, only proven pieces were advertised, and the pass ends
            // with its own verdict; a seeding torrent may have advertised this one.
            if self.state() == State::Seeding {
                self.damaged(&format!("piece {index} does not match its hash"));
            }
        }
        Ok(good)
    }

    /// Whether piece `index` hashes to what the torrent says: its SHA-1 (v1 and hybrid),
    /// and its node in its file's Merkle tree (v2 and hybrid; a hybrid whose halves
    /// disagree is served to neither swarm). One read feeds both.
    fn hash_piece(&self, index: u32) -> std::io::Result<bool> {
        let range = self.piece_range(index);
        let mut buf = vec![0u8; HASH_CHUNK.min((range.end - range.start) as usize)];
        let mut sha1 = self
            .info
            .pieces
            .get(index as usize)
            .map(|h| (Sha1::new(), h));
        let mut node = match &self.v2 {
            Some(v2) => match v2.piece_node(index) {
                Some(n) => Some(NodeHasher::new(n)),
                None => return Ok(false),
            },
            None => None,
        };
        if sha1.is_none() && node.is_none() {
            return Ok(false);
        }
        let mut pos = range.start;
        while pos < range.end {
            let n = ((range.end - pos) as usize).min(buf.len());
            self.read_at(pos, &mut buf[..n])?;
            if let Some((h, _)) = &mut sha1 {
                h.update(&buf[..n]);
            }
            if let Some(h) = &mut node {
                h.update(&buf[..n]);
            }
            pos += n as u64;
        }
        let sha1_ok = sha1.is_none_or(|(h, want)| <[u8; 20]>::from(h.finalize()) == *want);
        Ok(sha1_ok && node.is_none_or(NodeHasher::matches))
    }

    /// The answer to a BEP 52 `hash request`.
    pub fn hashes(&self, req: &HashRequest) -> Result<Vec<Hash32>, HashRefusal> {
        match &self.v2 {
            Some(v2) => v2.hashes(req),
            None => Err(HashRefusal::OutOfTree),
        }
    }

    /// Hashes every piece not yet proven, announcing progress; blocking. Stops early when
    /// the torrent is removed.
    pub fn verify_all(&self) {
        let total = self.piece_count();
        let mut next_log = total / 10;
        let mut good = 0u32;
        for i in 0..total {
            if self.token.is_cancelled() {
                return;
            }
            match self.ensure_verified(i) {
                Ok(true) => {
                    good += 1;
                    self.progress.send_modify(|n| *n += 1);
                }
                Ok(false) => {}
                Err(e) => {
                    // Left unproven and tried again on the next pass.
                    self.needs_verify.store(true, Ordering::Release);
                    self.metrics.disk_read_errors.inc();
                    tracing::error!(torrent = %self.source.display(), piece = i, error = %e, "cannot read piece");
                }
            }
            if i + 1 >= next_log && i + 1 < total {
                tracing::info!(
                    torrent = %self.source.display(),
                    checked = i + 1,
                    total,
                    "verifying"
                );
                next_log += (total / 10).max(1);
            }
        }
        let bad = self
            .pieces
            .iter()
            .filter(|p| p.load(Ordering::Acquire) == BAD)
            .count();
        tracing::info!(
            torrent = %self.source.display(),
            good,
            bad,
            // A piece counted good may have changed and turned bad since.
            unread = (total as usize).saturating_sub(good as usize + bad),
            "verified"
        );
        if bad > 0 {
            self.damaged(&format!("{bad} pieces do not match their hashes"));
            return;
        }
        // A re-verification of a torrent found missing meanwhile must not revive it.
        let was = self.state();
        if self.set_state_if(
            |s| matches!(s, State::Checking | State::Damaged),
            State::Seeding,
        ) && was == State::Damaged
        {
            tracing::info!(torrent = %self.source.display(), "every piece matches again; serving");
        }
    }
}

impl Drop for Torrent {
    fn drop(&mut self) {
        let s = *self.state.get_mut().expect("state lock");
        self.metrics.torrents.with_label_values(&[s.label()]).dec();
    }
}

mod v2;

#[cfg(test)]
mod tests;
