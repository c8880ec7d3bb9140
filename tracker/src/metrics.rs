//! Every metric the tracker exports. Labels come from small fixed sets only: endpoint,
//! outcome, failure kind, IP family and role; never an info hash, peer id or address.

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts,
    Registry, TextEncoder,
};

use crate::ops_metrics::OpsMetrics;
use crate::store::StoreGauges;

/// Request endpoints, as label values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Announce,
    Scrape,
    Other,
}

/// Handles for the per-request path, resolved once so a request touches only atomics.
#[derive(Clone)]
pub struct EndpointMetrics {
    pub ok: IntCounter,
    pub failure: IntCounter,
    pub rejected: IntCounter,
    pub duration: Histogram,
}

#[derive(Clone)]
pub struct Metrics {
    pub registry: Registry,
    pub announce: EndpointMetrics,
    pub scrape: EndpointMetrics,
    pub other: EndpointMetrics,
    failures: IntCounterVec,
    pub store: StoreGauges,
    pub connections_open: IntGauge,
    pub connections_total: IntCounter,
    pub connections_idle_closed: IntCounter,
    pub connections_slow_closed: IntCounter,
    pub connections_write_stalled: IntCounter,
    pub connections_address_limited: IntCounter,
    pub peers_expired: IntCounter,
    pub completed: IntCounter,
    /// By [`crate::swarm::NotStored::kind`].
    pub peers_not_stored: IntCounterVec,
    pub sweep_duration: Histogram,
    pub ops: OpsMetrics,
}

const PREFIX: &str = "seedline_tracker";

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new_custom(Some(PREFIX.into()), None).expect("valid prefix");
        let reg =
            |c: Box<dyn prometheus::core::Collector>| registry.register(c).expect("unique metric");
        let requests = IntCounterVec::new(
            Opts::new("requests_total", "Requests by endpoint and outcome (ok, failure = bencoded failure reason, rejected = 4xx)."),
            &["endpoint", "outcome"],
        )
        .expect("metric");
        let duration = HistogramVec::new(
            HistogramOpts::new(
                "request_duration_seconds",
                "Time from request head to reply, by endpoint.",
            )
            .buckets(vec![
                0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005,
                0.01, 0.05, 0.25,
            ]),
            &["endpoint"],
        )
        .expect("metric");
        let failures = IntCounterVec::new(
            Opts::new("failures_total", "Failure replies by reason."),
            &["reason"],
        )
        .expect("metric");
        let peers = prometheus::IntGaugeVec::new(
            Opts::new("peers", "Stored peers by address family and role."),
            &["family", "role"],
        )
        .expect("metric");
        let g = |n: &str, h: &str| IntGauge::new(n, h).expect("metric");
        let c = |n: &str, h: &str| IntCounter::new(n, h).expect("metric");
        let torrents = g(
            "torrents",
            "Torrents in the store: with at least one peer, or registered.",
        );
        let peer_addresses = g(
            "peer_addresses",
            "IPv4 addresses and IPv6 /64s with stored peers, counted for max_peers_per_address_total (0 when that cap is off).",
        );
        let connections_open = g("connections_open", "Open client connections.");
        let connections_total = c("connections_total", "Client connections accepted.");
        let connections_idle_closed = c(
            "connections_idle_closed_total",
            "Connections closed after idle_timeout without traffic.",
        );
        let connections_slow_closed = c(
            "connections_slow_closed_total",
            "Connections closed for not sending a request within header_read_timeout.",
        );
        let connections_write_stalled = c(
            "connections_write_stalled_total",
            "Connections closed because a reply could not be written for write_timeout (the client does not read).",
        );
        let connections_address_limited = c(
            "connections_address_limited_total",
            "Connections closed at accept because their address (IPv6: /64) held max_connections_per_address.",
        );
        let peers_expired = c(
            "peers_expired_total",
            "Peers dropped for not announcing within the peer timeout.",
        );
        let completed = c(
            "downloads_completed_total",
            "Announces with event=completed that counted a download.",
        );
        let peers_not_stored = IntCounterVec::new(
            Opts::new(
                "peers_not_stored_total",
                "New peers answered but not stored, by the cap that kept them out (torrent_full, address_limit, tracker_full, address_total).",
            ),
            &["reason"],
        )
        .expect("metric");
        for r in crate::swarm::NotStored::ALL {
            peers_not_stored.with_label_values(&[r.kind()]);
        }
        let sweep_duration = Histogram::with_opts(
            HistogramOpts::new("sweep_duration_seconds", "Time one expiry sweep took.")
                .buckets(prometheus::exponential_buckets(0.001, 4.0, 8).expect("buckets")),
        )
        .expect("metric");
        let endpoint = |name: &str| EndpointMetrics {
            ok: requests.with_label_values(&[name, "ok"]),
            failure: requests.with_label_values(&[name, "failure"]),
            rejected: requests.with_label_values(&[name, "rejected"]),
            duration: duration.with_label_values(&[name]),
        };
        let store = StoreGauges {
            torrents: torrents.clone(),
            seeders: [
                peers.with_label_values(&["ipv4", "seeder"]),
                peers.with_label_values(&["ipv6", "seeder"]),
            ],
            leechers: [
                peers.with_label_values(&["ipv4", "leecher"]),
                peers.with_label_values(&["ipv6", "leecher"]),
            ],
            addresses: peer_addresses.clone(),
        };
        let m = Self {
            announce: endpoint("announce"),
            scrape: endpoint("scrape"),
            other: endpoint("other"),
            failures: failures.clone(),
            store,
            connections_open: connections_open.clone(),
            connections_total: connections_total.clone(),
            connections_idle_closed: connections_idle_closed.clone(),
            connections_slow_closed: connections_slow_closed.clone(),
            connections_write_stalled: connections_write_stalled.clone(),
            connections_address_limited: connections_address_limited.clone(),
            peers_expired: peers_expired.clone(),
            completed: completed.clone(),
            peers_not_stored: peers_not_stored.clone(),
            sweep_duration: sweep_duration.clone(),
            ops: OpsMetrics::register(&registry),
            registry: registry.clone(),
        };
        reg(Box::new(requests));
        reg(Box::new(duration));
        reg(Box::new(failures));
        reg(Box::new(peers));
        for x in [torrents, peer_addresses, connections_open] {
            reg(Box::new(x));
        }
        for x in [
            connections_total,
            connections_idle_closed,
            connections_slow_closed,
            connections_write_stalled,
            connections_address_limited,
            peers_expired,
            completed,
        ] {
            reg(Box::new(x));
        }
        reg(Box::new(peers_not_stored));
        reg(Box::new(sweep_duration));
        m
    }

    pub fn endpoint(&self, e: Endpoint) -> &EndpointMetrics {
        match e {
            Endpoint::Announce => &self.announce,
            Endpoint::Scrape => &self.scrape,
            Endpoint::Other => &self.other,
        }
    }

    /// Counts a failure reply; `reason` is one of a fixed set of kinds.
    pub fn failure(&self, reason: &'static str) {
        self.failures.with_label_values(&[reason]).inc();
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> Vec<u8> {
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .expect("text encoding");
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
