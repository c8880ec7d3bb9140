//! Metrics of the operator features: access lists, admin API, state file, origins,
//! rate limiting and the full-scrape cache. Registered in the tracker's registry.

use prometheus::{IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry};

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
    pub fn register(registry: &Registry) -> Self {
        let cv =
            |n: &str, h: &str, l: &[&str]| IntCounterVec::new(Opts::new(n, h), l).expect("metric");
        let m = Self {
            access_entries: IntGaugeVec::new(
                Opts::new(
                    "access_list_entries",
                    "Access-list entries by source (file, api_registered, api_denied).",
                ),
                &["source"],
            )
            .expect("metric"),
            access_reloads: cv(
                "access_list_reloads_total",
                "Access-list file loads by result; on error the previous list stays.",
                &["result"],
            ),
            api_requests: cv(
                "api_requests_total",
                "Admin API requests by HTTP status.",
                &["status"],
            ),
            state_loads: cv(
                "state_loads_total",
                "State-file loads by result (ok, missing, corrupt: part of the file was skipped).",
                &["result"],
            ),
            state_saves: cv(
                "state_saves_total",
                "State-file saves by result.",
                &["result"],
            ),
            state_last_save: IntGauge::new(
                "state_last_save_timestamp_seconds",
                "Unix time of the last successful state-file save.",
            )
            .expect("metric"),
            origins_sent: IntCounter::new(
                "origin_peers_sent_total",
                "Origin seeders handed out in announce replies: first to leechers, after the leechers to seeders (a magnet client that does not know left yet announces as one).",
            )
            .expect("metric"),
            rate_limited: cv(
                "rate_limited_total",
                "Requests refused by the per-client rate limit, by endpoint.",
                &["endpoint"],
            ),
            rate_limit_untracked: IntCounter::new(
                "rate_limit_untracked_total",
                "Requests served unlimited because the rate limiter's client table was full while another request made room.",
            )
            .expect("metric"),
            rate_limit_clients: IntGauge::new(
                "rate_limit_clients",
                "Clients the rate limiter tracks.",
            )
            .expect("metric"),
            rate_limit_evicted: IntCounter::new(
                "rate_limit_evicted_total",
                "Clients dropped from the full rate-limiter table to make room (refilled first, then least recently seen); counted at each sweep.",
            )
            .expect("metric"),
            full_scrape_builds: IntCounter::new(
                "full_scrape_builds_total",
                "Full-scrape replies built from the store.",
            )
            .expect("metric"),
            full_scrape_cached: IntCounter::new(
                "full_scrape_cache_hits_total",
                "Full-scrape replies served from the cache.",
            )
            .expect("metric"),
        };
        // Known label values exist from the start, so dashboards and alerts see zeros
        // rather than no series at all.
        for source in ["file", "api_registered", "api_denied"] {
            m.access_entries.with_label_values(&[source]);
        }
        for result in ["ok", "error"] {
            m.access_reloads.with_label_values(&[result]);
            m.state_saves.with_label_values(&[result]);
        }
        for result in ["ok", "missing", "corrupt", "error"] {
            m.state_loads.with_label_values(&[result]);
        }
        for endpoint in ["announce", "scrape"] {
            m.rate_limited.with_label_values(&[endpoint]);
        }
        for status in ["200", "201", "400", "401", "404"] {
            m.api_requests.with_label_values(&[status]);
        }
        let reg =
            |c: Box<dyn prometheus::core::Collector>| registry.register(c).expect("unique metric");
        reg(Box::new(m.access_entries.clone()));
        reg(Box::new(m.access_reloads.clone()));
        reg(Box::new(m.api_requests.clone()));
        reg(Box::new(m.state_loads.clone()));
        reg(Box::new(m.state_saves.clone()));
        reg(Box::new(m.state_last_save.clone()));
        reg(Box::new(m.origins_sent.clone()));
        reg(Box::new(m.rate_limited.clone()));
        reg(Box::new(m.rate_limit_untracked.clone()));
        reg(Box::new(m.rate_limit_clients.clone()));
        reg(Box::new(m.rate_limit_evicted.clone()));
        reg(Box::new(m.full_scrape_builds.clone()));
        reg(Box::new(m.full_scrape_cached.clone()));
        m
    }
}
