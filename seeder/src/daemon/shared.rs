//! State every part of the running seeder reaches: config, metrics, the served torrents,
//! limits, and the choker.

use std::collections::HashMap;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, OnceLock, RwLock};

use seedline_common::per_address::PerAddress;
use seedline_common::{InfoHash, PeerId};
use tokio::sync::Semaphore;

use super::config::Config;
use super::file_cache::FileCache;
use super::metrics::Metrics;
use super::peer::choker::Choker;
use super::peer::handshakes::Handshakes;
use super::peer::memory::PeerMemory;
use super::rate::RateLimiter;
use super::torrent::Torrent;

/// Pieces hashed at once for first uploads, so a burst of new peers cannot turn every
/// core (and the page cache) over to verification.
const VERIFY_PARALLELISM: usize = 2;

/// Addresses whose encrypted handshakes are counted at once, at most (a few MiB).
const MSE_CLIENTS: usize = 65_536;

pub struct Shared {
    pub cfg: Config,
    pub metrics: Metrics,
    pub torrents: RwLock<HashMap<InfoHash, Arc<Torrent>>>,
    /// A hybrid's v2 swarm hash to the hash it is kept by in `torrents`.
    v2_swarms: RwLock<HashMap<InfoHash, InfoHash>>,
    /// The same torrents by `HASH('req2', info hash)`, which names a torrent in an
    /// encrypted handshake (kept with `torrents` by `add_torrent`, `remove_torrent`).
    by_req2: RwLock<HashMap<[u8; 20], InfoHash>>,
    /// The same torrents by name, which is what a webseed URL starts with; several
    /// one-off torrents may share one. Kept with `torrents` as `by_req2` is.
    by_name: RwLock<HashMap<String, Vec<InfoHash>>>,
    /// Encrypted handshakes per address (`encrypted_handshakes_per_minute`).
    pub mse_limiter: Option<seedline_process::rate_limit::RateLimiter>,
    /// Peers past the handshake, over all torrents.
    pub peers: AtomicUsize,
    pub limiter: RateLimiter,
    pub choker: Choker,
    pub peer_id: PeerId,
    /// The port announced to trackers and sent in the extended handshake.
    pub port: u16,
    pub verify_slots: Arc<Semaphore>,
    /// Connections per address, from accept to close.
    pub per_address: Arc<PerAddress>,
    /// Places for connections that have not finished their handshake.
    pub handshakes: Arc<Handshakes>,
    /// Open content files, capped.
    pub files: Arc<FileCache>,
    /// Background verifications run one at a time: each reads a whole torrent.
    pub background_verify: Arc<Semaphore>,
    /// The tracker in this process, if it runs one: it tracks what the library holds.
    pub embedded_tracker: OnceLock<Arc<seedline_tracker::Tracker>>,
}

impl Shared {
    pub fn new(cfg: Config, metrics: Metrics, port: u16) -> Arc<Self> {
        Arc::new(Self {
            limiter: RateLimiter::new(cfg.upload_rate),
            choker: Choker::new(cfg.upload_slots, metrics.clone()),
            peer_id: new_peer_id(),
            port,
            verify_slots: Arc::new(Semaphore::new(VERIFY_PARALLELISM)),
            per_address: PerAddress::new(cfg.max_peers_per_address),
            handshakes: Handshakes::new(cfg.max_handshakes),
            files: FileCache::new(
                cfg.max_open_files,
                cfg.follow_symlinks_outside,
                metrics.open_files.clone(),
            ),
            background_verify: Arc::new(Semaphore::new(1)),
            embedded_tracker: OnceLock::new(),
            torrents: RwLock::new(HashMap::new()),
            v2_swarms: RwLock::new(HashMap::new()),
            by_req2: RwLock::new(HashMap::new()),
            by_name: RwLock::new(HashMap::new()),
            mse_limiter: (cfg.encrypted_handshakes_per_minute > 0).then(|| {
                let n = cfg.encrypted_handshakes_per_minute;
                seedline_process::rate_limit::RateLimiter::new(n, n, MSE_CLIENTS)
            }),
            peers: AtomicUsize::new(0),
            metrics,
            cfg,
        })
    }

    /// The memory account of a new connection to `t`.
    pub fn peer_memory(&self, t: &Torrent) -> PeerMemory {
        PeerMemory::new(
            t.piece_count(),
            self.cfg.max_peer_memory,
            self.metrics.peer_memory.clone(),
        )
    }

    /// Tells the embedded tracker, if any, to track `t` (a torrent the library loaded).
    pub fn track(&self, t: &Torrent) {
        if let Some(tracker) = self.embedded_tracker.get() {
            let swarms = t.swarms();
            for &h in &swarms {
                let linked = swarms.iter().copied().find(|&o| o != h);
                if let Err(e) = tracker.register_torrent(h, Some(t.info.name.clone()), linked) {
                    tracing::error!(torrent = %t.source.display(), error = %e, "embedded tracker cannot track it");
                }
            }
        }
    }

    /// Tells the embedded tracker, if any, to stop tracking `t` (removed from the
    /// library), unless a torrent loaded since serves the same hash.
    pub fn untrack(&self, t: &Torrent) {
        if let Some(tracker) = self.embedded_tracker.get() {
            // Under the lock a load takes to insert (and then tracks): a torrent loaded
            // meanwhile is either seen here or registered again after this.
            let torrents = self.torrents.read().expect("torrents lock");
            if !torrents.contains_key(&t.info_hash) {
                for h in t.swarms() {
                    tracker.unregister_torrent(&h);
                }
            }
        }
    }

    /// The torrent served in swarm `h` (a hybrid is in two).
    pub fn torrent(&self, h: &InfoHash) -> Option<Arc<Torrent>> {
        let torrents = self.torrents.read().expect("torrents lock");
        if let Some(t) = torrents.get(h) {
            return Some(t.clone());
        }
        let key = *self.v2_swarms.read().expect("v2 lock").get(h)?;
        torrents.get(&key).cloned()
    }

    /// Adds `t`, unless a torrent in one of its swarms is there: then that one.
    pub fn add_torrent(&self, t: &Arc<Torrent>) -> Result<(), Arc<Torrent>> {
        let mut map = self.torrents.write().expect("torrents lock");
        let mut v2_swarms = self.v2_swarms.write().expect("v2 lock");
        for h in t.swarms() {
            let key = v2_swarms.get(&h).unwrap_or(&h);
            if let Some(other) = map.get(key) {
                return Err(other.clone());
            }
        }
        map.insert(t.info_hash, t.clone());
        if let Some(v2) = t.v2_swarm() {
            v2_swarms.insert(v2, t.info_hash);
        }
        let mut by_req2 = self.by_req2.write().expect("req2 lock");
        for h in t.swarms() {
            by_req2.insert(seedline_common::mse::req2(&h), h);
        }
        drop(by_req2);
        drop(v2_swarms);
        let mut names = self.by_name.write().expect("names lock");
        let same = names.entry(t.info.name.clone()).or_default();
        same.push(t.info_hash);
        same.sort_unstable();
        Ok(())
    }

    pub fn remove_torrent(&self, h: &InfoHash) {
        let removed = self.torrents.write().expect("torrents lock").remove(h);
        if let Some(t) = removed {
            let mut by_req2 = self.by_req2.write().expect("req2 lock");
            for s in t.swarms() {
                by_req2.remove(&seedline_common::mse::req2(&s));
            }
            drop(by_req2);
            if let Some(v2) = t.v2_swarm() {
                self.v2_swarms.write().expect("v2 lock").remove(&v2);
            }
            let mut names = self.by_name.write().expect("names lock");
            if let Some(same) = names.get_mut(&t.info.name) {
                same.retain(|x| x != h);
                if same.is_empty() {
                    names.remove(&t.info.name);
                }
            }
        }
    }

    /// The swarm whose `HASH('req2', info hash)` is `r`.
    pub fn by_req2(&self, r: &[u8; 20]) -> Option<InfoHash> {
        self.by_req2.read().expect("req2 lock").get(r).copied()
    }

    /// The torrents named `name`, in info hash order.
    pub fn torrents_named(&self, name: &str) -> Vec<Arc<Torrent>> {
        let hashes = match self.by_name.read().expect("names lock").get(name) {
            Some(h) => h.clone(),
            None => return Vec::new(),
        };
        hashes.iter().filter_map(|h| self.torrent(h)).collect()
    }

    pub fn all_torrents(&self) -> Vec<Arc<Torrent>> {
        self.torrents
            .read()
            .expect("torrents lock")
            .values()
            .cloned()
            .collect()
    }
}

/// The Azureus-style client prefix of this version's peer ids, e.g. `-SL0100-`; the
/// embedded tracker recognises the origin by it.
pub fn peer_id_prefix() -> [u8; 8] {
    let mut p = *b"-SL0000-";
    p[3] = env!("CARGO_PKG_VERSION_MAJOR").as_bytes()[0];
    p[4] = env!("CARGO_PKG_VERSION_MINOR").as_bytes()[0];
    p
}

/// The prefix and 12 random printable bytes, new for every run.
fn new_peer_id() -> PeerId {
    use rand::Rng;
    let mut id = [0u8; 20];
    id[..8].copy_from_slice(&peer_id_prefix());
    const ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut rng = rand::rng();
    for b in &mut id[8..] {
        *b = ALPHABET[rng.random_range(0..ALPHABET.len())];
    }
    PeerId(id)
}
