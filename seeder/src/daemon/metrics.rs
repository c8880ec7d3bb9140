//! Every metric the seeder exports, named `seedline_seeder_*`. Labels come from small
//! fixed sets (reason, outcome, state); never an info hash, peer id or address.

use prometheus::{IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Registry};
use seedline_process::metrics::Registrar;

use super::reason::{Disconnect, Rejection};

#[derive(Clone)]
pub struct Metrics {
    pub registry: Registry,
    pub uploaded_bytes: IntCounter,
    pub blocks_served: IntCounter,
    pub metadata_pieces_served: IntCounter,
    pub hashes_served: IntCounter,
    pub super_seed_offers: IntCounter,
    pub peers_connected: IntGauge,
    pub peers_unchoked: IntGauge,
    pub connections_total: IntCounter,
    pub connections_by_transport: IntCounterVec,
    pub utp_connections: IntGauge,
    pub utp_syns_dropped: IntCounter,
    /// Connections past their handshake, by how the stream is carried.
    pub connections_encrypted: IntCounterVec,
    /// Connections past their handshake, by the swarm they joined.
    pub connections_by_swarm: IntCounterVec,
    pub disconnects: IntCounterVec,
    pub requests_rejected: IntCounterVec,
    pub torrents: IntGaugeVec,
    pub announces: IntCounterVec,
    pub registrations: IntCounterVec,
    pub disk_read_errors: IntCounter,
    pub pieces_verified: IntCounterVec,
    pub content_changes: IntCounter,
    pub open_files: IntGauge,
    pub peer_memory: IntGauge,
    /// The webseed listener's.
    pub http: super::webseed::metrics::HttpMetrics,
}

const PREFIX: &str = "seedline_seeder";

impl Metrics {
    pub fn new() -> Self {
        let r = Registrar::new(PREFIX);
        let rejections: Vec<&str> = Rejection::ALL.iter().map(|w| w.label()).collect();
        let disconnects: Vec<&str> = Disconnect::ALL.iter().map(|w| w.label()).collect();
        Self {
            uploaded_bytes: r.counter("uploaded_bytes_total", "Piece data bytes sent to peers."),
            blocks_served: r.counter(
                "blocks_served_total",
                "Blocks (piece messages) sent to peers.",
            ),
            metadata_pieces_served: r.counter(
                "metadata_pieces_served_total",
                "BEP 9 metadata pieces sent (magnet links resolved against us).",
            ),
            hashes_served: r.counter(
                "hashes_served_total",
                "BEP 52 `hashes` answers sent (v2 peers that came by magnet link fetch the piece layers so).",
            ),
            super_seed_offers: r.counter(
                "super_seed_offers_total",
                "Pieces offered to a peer with `have` while super-seeding (BEP 16).",
            ),
            peers_connected: r.gauge("peers_connected", "Peers past the handshake, now."),
            peers_unchoked: r.gauge("peers_unchoked", "Peers allowed to request, now."),
            connections_total: r.counter(
                "connections_total",
                "Accepted connections (TCP and uTP), including those refused at once.",
            ),
            connections_by_transport: r.counters(
                "connections_transport_total",
                "Connections served (past the per-address cap), by transport: tcp or utp.",
                "transport",
                &crate::daemon::peer::transport::TRANSPORTS,
            ),
            utp_connections: r.gauge(
                "utp_connections",
                "uTP connections being served now (at most max_utp_connections).",
            ),
            utp_syns_dropped: r.counter(
                "utp_syns_dropped_total",
                "uTP connection requests refused with a reset because utp_backlog requests were already waiting.",
            ),
            connections_encrypted: r.counters(
                "connections_encryption_total",
                "Connections past their handshake, by encryption: none (a plain handshake), rc4, or plaintext (an encrypted handshake that chose plain text).",
                "method",
                &crate::daemon::peer::encryption::METHODS,
            ),
            connections_by_swarm: r.counters(
                "connections_swarm_total",
                "Connections past their handshake, by swarm: v1 (SHA-1 info hash) or v2 (a v2 or hybrid torrent's truncated SHA-256 info hash, BEP 52).",
                "swarm",
                &["v1", "v2"],
            ),
            disconnects: r.counters(
                "disconnects_total",
                "Closed peer connections by reason.",
                "reason",
                &disconnects,
            ),
            requests_rejected: r.counters(
                "requests_rejected_total",
                "Block requests not served, by reason.",
                "reason",
                &rejections,
            ),
            torrents: r.gauges(
                "torrents",
                "Torrents by state (checking, seeding, missing; broken: a .torrent in the library that cannot be read or is invalid).",
                "state",
                &["checking", "seeding", "missing", "damaged", "broken"],
            ),
            announces: r.counters(
                "announces_total",
                "Announces to trackers by outcome (ok, failure, error).",
                "outcome",
                &["ok", "failure", "error"],
            ),
            registrations: r.counters(
                "tracker_registrations_total",
                "Registrations with the tracker admin API by outcome (ok, refused, error).",
                "outcome",
                &["ok", "refused", "error"],
            ),
            disk_read_errors: r.counter(
                "disk_read_errors_total",
                "Failed or short reads of content.",
            ),
            pieces_verified: r.counters(
                "pieces_verified_total",
                "Pieces hashed against the torrent, by result (good, bad).",
                "result",
                &["good", "bad"],
            ),
            content_changes: r.counter(
                "content_changes_total",
                "Content files found changed on disk (size, modification time or inode) since they were verified; their pieces are verified again before they are served.",
            ),
            open_files: r.gauge(
                "open_files",
                "Content files open (at most max_open_files).",
            ),
            peer_memory: r.gauge(
                "peer_memory_bytes",
                "Bytes held for connected peers: read buffers, unread replies, queued requests, blocks being sent, bitfields (each peer at most max_peer_memory beyond its torrent's bitfields).",
            ),
            http: super::webseed::metrics::HttpMetrics::new(&r),
            registry: r.registry(),
        }
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
