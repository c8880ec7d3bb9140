//! Every metric the tracker exports. Labels come from small fixed sets only: endpoint,
//! outcome, failure kind, IP family and role; never an info hash, peer id or address.

use prometheus::{Histogram, IntCounter, IntCounterVec, IntGauge, Registry};
use seedline_common::udp;
use seedline_process::metrics::Registrar;

use crate::ops_metrics::OpsMetrics;
use crate::redis_store::RedisMetrics;
use crate::store::StoreGauges;

/// Request endpoints, as label values (with the protocol: `http` or `udp`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Announce,
    Scrape,
    Other,
    /// UDP's connect (BEP 15).
    Connect,
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
    pub udp_connect: EndpointMetrics,
    pub udp_announce: EndpointMetrics,
    pub udp_scrape: EndpointMetrics,
    /// UDP datagrams dropped unanswered, by reason.
    pub udp_dropped: IntCounterVec,
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
    /// The shared store's requests (zero with the in-memory store).
    pub redis: RedisMetrics,
}

const PREFIX: &str = "seedline_tracker";

impl Metrics {
    pub fn new() -> Self {
        let r = Registrar::new(PREFIX);
        let requests = r.counters_by(
            "requests_total",
            "Requests by protocol (http, udp), endpoint and outcome (ok, failure = a failure reason or UDP error packet, rejected = 4xx).",
            &["protocol", "endpoint", "outcome"],
        );
        let duration = r.histograms_by(
            "request_duration_seconds",
            "Time from request head (UDP: datagram) to reply, by protocol and endpoint.",
            &["protocol", "endpoint"],
            vec![
                0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005,
                0.01, 0.05, 0.25,
            ],
        );
        let peers = r.gauges_by(
            "peers",
            "Stored peers by address family and role.",
            &["family", "role"],
        );
        let endpoint = |protocol: &str, name: &str| EndpointMetrics {
            ok: requests.with_label_values(&[protocol, name, "ok"]),
            failure: requests.with_label_values(&[protocol, name, "failure"]),
            rejected: requests.with_label_values(&[protocol, name, "rejected"]),
            duration: duration.with_label_values(&[protocol, name]),
        };
        let store = StoreGauges {
            torrents: r.gauge(
                "torrents",
                "Torrents in the store: with at least one peer, or registered.",
            ),
            seeders: [
                peers.with_label_values(&["ipv4", "seeder"]),
                peers.with_label_values(&["ipv6", "seeder"]),
            ],
            leechers: [
                peers.with_label_values(&["ipv4", "leecher"]),
                peers.with_label_values(&["ipv6", "leecher"]),
            ],
            addresses: r.gauge(
                "peer_addresses",
                "IPv4 addresses and IPv6 /64s with stored peers, counted for max_peers_per_address_total (0 when that cap is off).",
            ),
        };
        // The request errors of `seedline_common::udp`, and a reply the kernel refused.
        let udp_dropped: Vec<&str> = udp::RequestError::KINDS
            .into_iter()
            .chain(["send_failed", "store_busy"])
            .collect();
        let not_stored: Vec<&str> = crate::swarm::NotStored::ALL
            .iter()
            .map(|n| n.kind())
            .collect();
        Self {
            announce: endpoint("http", "announce"),
            scrape: endpoint("http", "scrape"),
            other: endpoint("http", "other"),
            udp_connect: endpoint("udp", "connect"),
            udp_announce: endpoint("udp", "announce"),
            udp_scrape: endpoint("udp", "scrape"),
            udp_dropped: r.counters(
                "udp_dropped_total",
                "UDP datagrams dropped without an answer, by reason (a request error from an unknown sender, a connect without the protocol id, a send that failed, store_busy: store_max_in_flight requests already waiting for the shared store).",
                "reason",
                &udp_dropped,
            ),
            failures: r.counters_by("failures_total", "Failure replies by reason.", &["reason"]),
            store,
            connections_open: r.gauge("connections_open", "Open client connections."),
            connections_total: r.counter("connections_total", "Client connections accepted."),
            connections_idle_closed: r.counter(
                "connections_idle_closed_total",
                "Connections closed after idle_timeout without traffic.",
            ),
            connections_slow_closed: r.counter(
                "connections_slow_closed_total",
                "Connections closed for not sending a request within header_read_timeout.",
            ),
            connections_write_stalled: r.counter(
                "connections_write_stalled_total",
                "Connections closed because a reply could not be written for write_timeout (the client does not read).",
            ),
            connections_address_limited: r.counter(
                "connections_address_limited_total",
                "Connections closed at accept because their address (IPv6: /64) held max_connections_per_address.",
            ),
            peers_expired: r.counter(
                "peers_expired_total",
                "Peers dropped for not announcing within the peer timeout.",
            ),
            completed: r.counter(
                "downloads_completed_total",
                "Announces with event=completed that counted a download.",
            ),
            peers_not_stored: r.counters(
                "peers_not_stored_total",
                "New peers answered but not stored, by the cap that kept them out (torrent_full, address_limit, tracker_full, address_total).",
                "reason",
                &not_stored,
            ),
            sweep_duration: r.histogram(
                "sweep_duration_seconds",
                "CPU time of one expiry sweep (it runs under the idle policy, so on a busy core its wall time is longer).",
                prometheus::exponential_buckets(0.001, 4.0, 8).expect("buckets"),
            ),
            ops: OpsMetrics::register(&r),
            redis: {
                let latency = r.histograms_by(
                    "store_request_duration_seconds",
                    "Round trips to the shared store (Redis), by operation (announce: one script; scrape: all hashes of a request).",
                    &["op"],
                    vec![
                        0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05,
                        0.1, 0.25, 0.5, 1.0,
                    ],
                );
                RedisMetrics {
                    announce: latency.with_label_values(&["announce"]),
                    scrape: latency.with_label_values(&["scrape"]),
                    errors: r.counters(
                        "store_errors_total",
                        "Failed requests to the shared store, by kind (timeout, connection: refused, dropped or being re-established, server: an error reply such as OOM, reply: not what the script returns, other).",
                        "kind",
                        &crate::redis_store::ERROR_KINDS,
                    ),
                    link: crate::redis_store::LinkMetrics {
                        reconnects: r.counter(
                            "store_reconnects_total",
                            "Connections to the shared store made again after one was lost (or never made at first).",
                        ),
                        connected: r.gauge(
                            "store_connected",
                            "1 while this instance is connected to the shared store.",
                        ),
                    },
                }
            },
            registry: r.registry(),
        }
    }

    pub fn endpoint(&self, e: Endpoint) -> &EndpointMetrics {
        match e {
            Endpoint::Announce => &self.announce,
            Endpoint::Scrape => &self.scrape,
            Endpoint::Other | Endpoint::Connect => &self.other,
        }
    }

    /// The UDP front end's handles for `e`.
    pub fn udp_endpoint(&self, e: Endpoint) -> &EndpointMetrics {
        match e {
            Endpoint::Announce => &self.udp_announce,
            Endpoint::Scrape => &self.udp_scrape,
            Endpoint::Connect | Endpoint::Other => &self.udp_connect,
        }
    }

    /// Counts a failure reply; `reason` is one of a fixed set of kinds.
    pub fn failure(&self, reason: &'static str) {
        self.failures.with_label_values(&[reason]).inc();
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> Vec<u8> {
        seedline_process::admin::render(&self.registry)
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
