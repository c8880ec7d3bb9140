//! The full-scrape reply, built at most once per `full_scrape_cache` seconds.
//!
//! A full scrape walks every swarm; without a cache a handful of clients polling it
//! would keep the store's shards busy. One request at a time rebuilds a stale reply;
//! the others meanwhile get the stale one rather than wait (only the very first build
//! is waited for).

use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::ops_metrics::OpsMetrics;
use crate::store::Store;

pub struct FullScrape {
    ttl: Duration,
    max: usize,
    cached: RwLock<Option<(Instant, Bytes)>>,
    building: Mutex<()>,
}

impl FullScrape {
    pub fn new(ttl_secs: u32, max: usize) -> Self {
        Self {
            ttl: Duration::from_secs(u64::from(ttl_secs)),
            max,
            cached: RwLock::new(None),
            building: Mutex::new(()),
        }
    }

    fn fresh(&self) -> (Option<Bytes>, bool) {
        match &*self.cached.read().unwrap_or_else(|e| e.into_inner()) {
            Some((at, body)) => (Some(body.clone()), at.elapsed() < self.ttl),
            None => (None, false),
        }
    }

    /// The current reply: the cached one if still fresh, else a new one.
    pub fn get(&self, store: &Store, m: &OpsMetrics) -> Bytes {
        let (body, fresh) = self.fresh();
        let stale = match body {
            Some(b) if fresh => {
                m.full_scrape_cached.inc();
                return b;
            }
            other => other,
        };
        let _building = match (self.building.try_lock(), stale) {
            (Ok(g), _) => g,
            (Err(_), Some(b)) => {
                m.full_scrape_cached.inc();
                return b;
            }
            (Err(_), None) => self.building.lock().unwrap_or_else(|e| e.into_inner()),
        };
        // Someone may have built it while this request waited for the lock.
        if let (Some(b), true) = self.fresh() {
            m.full_scrape_cached.inc();
            return b;
        }
        let mut out = Vec::new();
        store.scrape_all(self.max, &mut out);
        m.full_scrape_builds.inc();
        let body = Bytes::from(out);
        *self.cached.write().unwrap_or_else(|e| e.into_inner()) =
            Some((Instant::now(), body.clone()));
        body
    }
}
