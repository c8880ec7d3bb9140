//! The full-scrape reply, built at most once per `full_scrape_cache` seconds.
//!
//! A full scrape walks every swarm; without a cache a handful of clients polling it
//! would keep the store's shards locked. Requests that arrive while it is being built
//! wait for that one build instead of starting their own.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::ops_metrics::OpsMetrics;
use crate::store::Store;

pub struct FullScrape {
    ttl: Duration,
    max: usize,
    slot: Mutex<Option<(Instant, Bytes)>>,
}

impl FullScrape {
    pub fn new(ttl_secs: u32, max: usize) -> Self {
        Self {
            ttl: Duration::from_secs(u64::from(ttl_secs)),
            max,
            slot: Mutex::new(None),
        }
    }

    /// The current reply: the cached one if still fresh, else a new one.
    pub fn get(&self, store: &Store, m: &OpsMetrics) -> Bytes {
        let mut slot = self.slot.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((at, body)) = slot.as_ref() {
            if at.elapsed() < self.ttl {
                m.full_scrape_cached.inc();
                return body.clone();
            }
        }
        let mut out = Vec::new();
        store.scrape_all(self.max, &mut out);
        m.full_scrape_builds.inc();
        let body = Bytes::from(out);
        *slot = Some((Instant::now(), body.clone()));
        body
    }
}
