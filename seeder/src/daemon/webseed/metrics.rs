//! The webseed listener's metrics, `seedline_seeder_http_*`.

use prometheus::{IntCounter, IntCounterVec, IntGauge};
use seedline_process::metrics::Registrar;

/// Status codes the listener answers with, as labels.
pub const STATUSES: [&str; 11] = [
    "200", "206", "304", "400", "404", "405", "409", "412", "416", "431", "503",
];

/// Why a response ended before its last byte, as labels.
pub const ABORTS: [&str; 3] = ["disk", "not_servable", "changed"];

#[derive(Clone)]
pub struct HttpMetrics {
    pub requests: IntCounterVec,
    pub bytes: IntCounter,
    pub connections: IntGauge,
    pub connections_total: IntCounter,
    pub refused: IntCounterVec,
    pub closed: IntCounterVec,
    pub aborted: IntCounterVec,
}

impl HttpMetrics {
    pub fn new(r: &Registrar) -> Self {
        Self {
            requests: r.counters(
                "http_requests_total",
                "Webseed HTTP requests answered, by status.",
                "status",
                &STATUSES,
            ),
            bytes: r.counter(
                "http_bytes_total",
                "Content bytes handed to webseed HTTP connections (response bodies).",
            ),
            connections: r.gauge("http_connections", "Webseed HTTP connections open now."),
            connections_total: r.counter(
                "http_connections_total",
                "Webseed HTTP connections accepted, including those refused at once.",
            ),
            refused: r.counters(
                "http_connections_refused_total",
                "Webseed HTTP connections closed at accept: per_address (http_max_connections_per_address).",
                "reason",
                &["per_address"],
            ),
            closed: r.counters(
                "http_connections_closed_total",
                "Webseed HTTP connections ended by a deadline: idle (http_idle_timeout), slow_head (http_header_timeout), write_stalled (write_timeout).",
                "reason",
                &["idle", "slow_head", "write_stalled"],
            ),
            aborted: r.counters(
                "http_responses_aborted_total",
                "Responses cut off before their last byte (the client sees a short body): disk (a read failed), not_servable (a piece failed its hash or the torrent stopped being served), changed (the file changed on disk while it was read).",
                "reason",
                &ABORTS,
            ),
        }
    }
}
