//! Metrics of the operator features: access lists, admin API, state file, origins,
//! rate limiting and the full-scrape cache. Registered in the tracker's registry.

use prometheus::{IntCounter, IntCounterVec, IntGauge, IntGaugeVec};
use seedline_process::metrics::Registrar;

#[derive(Clone)]
pub struct OpsMetrics {
    /// Entries by source: `file`, `api_registered`, `api_denied`.
    pub access_entries: IntGaugeVec,
    /// Reloads of the access-list file by result: `ok`, `error`.
    pub access_reloads: IntCounterVec,
    /// Admin API requests by HTTP status code.
    pub api_requests: IntCounterVec,
    /// State-file loads and saves by result.
    pub state_loads: IntCounterVec,
    pub state_saves: IntCounterVec,
    pub state_last_save: IntGauge,
    pub origins_sent: IntCounter,
    pub rate_limited: IntCounterVec,
    pub rate_limit_untracked: IntCounter,
    pub rate_limit_clients: IntGauge,
    pub rate_limit_evicted: IntCounter,
    pub full_scrape_builds: IntCounter,
    pub full_scrape_cached: IntCounter,
}

impl OpsMetrics {
    pub fn register(r: &Registrar) -> Self {
        let results = &["ok", "error"];
        Self {
            access_entries: r.gauges(
                "access_list_entries",
                "Access-list entries by source (file, api_registered, api_denied).",
                "source",
                &["file", "api_registered", "api_denied"],
            ),
            access_reloads: r.counters(
                "access_list_reloads_total",
                "Access-list file loads by result; on error the previous list stays.",
                "result",
                results,
            ),
            api_requests: r.counters(
                "api_requests_total",
                "Admin API requests by HTTP status.",
                "status",
                &["200", "201", "400", "401", "404"],
            ),
            state_loads: r.counters(
                "state_loads_total",
                "State-file loads by result (ok, missing, corrupt: part of the file was skipped).",
                "result",
                &["ok", "missing", "corrupt", "error"],
            ),
            state_saves: r.counters(
                "state_saves_total",
                "State-file saves by result.",
                "result",
                results,
            ),
            state_last_save: r.gauge(
                "state_last_save_timestamp_seconds",
                "Unix time of the last successful state-file save.",
            ),
            origins_sent: r.counter(
                "origin_peers_sent_total",
                "Origin seeders handed out in announce replies: first to leechers, after the leechers to seeders (a magnet client that does not know left yet announces as one).",
            ),
            rate_limited: r.counters(
                "rate_limited_total",
                "Requests refused by the per-client rate limit, by endpoint.",
                "endpoint",
                &["announce", "scrape"],
            ),
            rate_limit_untracked: r.counter(
                "rate_limit_untracked_total",
                "Requests served unlimited because the rate limiter's client table was full while another request made room.",
            ),
            rate_limit_clients: r.gauge(
                "rate_limit_clients",
                "Clients the rate limiter tracks.",
            ),
            rate_limit_evicted: r.counter(
                "rate_limit_evicted_total",
                "Clients dropped from the full rate-limiter table to make room (refilled first, then least recently seen); counted at each sweep.",
            ),
            full_scrape_builds: r.counter(
                "full_scrape_builds_total",
                "Full-scrape replies built from the store.",
            ),
            full_scrape_cached: r.counter(
                "full_scrape_cache_hits_total",
                "Full-scrape replies served from the cache.",
            ),
        }
    }
}
