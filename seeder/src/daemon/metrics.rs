//! Every metric the seeder exports, named `seedline_seeder_*`. Labels come from small
//! fixed sets (reason, outcome, state); never an info hash, peer id or address.

use prometheus::{
    Encoder, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry, TextEncoder,
};

#[derive(Clone)]
pub struct Metrics {
    pub registry: Registry,
    pub uploaded_bytes: IntCounter,
    pub blocks_served: IntCounter,
    pub metadata_pieces_served: IntCounter,
    pub super_seed_offers: IntCounter,
    pub peers_connected: IntGauge,
    pub peers_unchoked: IntGauge,
    pub connections_total: IntCounter,
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
}

const PREFIX: &str = "seedline_seeder";

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new_custom(Some(PREFIX.into()), None).expect("valid prefix");
        let counter = |name: &str, help: &str| {
            let c = IntCounter::new(name, help).expect("metric");
            registry
                .register(Box::new(c.clone()))
                .expect("unique metric");
            c
        };
        let gauge = |name: &str, help: &str| {
            let g = IntGauge::new(name, help).expect("metric");
            registry
                .register(Box::new(g.clone()))
                .expect("unique metric");
            g
        };
        let counter_vec = |name: &str, help: &str, label: &str| {
            let c = IntCounterVec::new(Opts::new(name, help), &[label]).expect("metric");
            registry
                .register(Box::new(c.clone()))
                .expect("unique metric");
            c
        };
        let torrents = IntGaugeVec::new(
            Opts::new(
                "torrents",
                "Torrents by state (checking, seeding, missing; broken: a .torrent in the library that cannot be read or is invalid).",
            ),
            &["state"],
        )
        .expect("metric");
        registry
            .register(Box::new(torrents.clone()))
            .expect("unique metric");
        let m = Self {
            uploaded_bytes: counter("uploaded_bytes_total", "Piece data bytes sent to peers."),
            blocks_served: counter(
                "blocks_served_total",
                "Blocks (piece messages) sent to peers.",
            ),
            metadata_pieces_served: counter(
                "metadata_pieces_served_total",
                "BEP 9 metadata pieces sent (magnet links resolved against us).",
            ),
            super_seed_offers: counter(
                "super_seed_offers_total",
                "Pieces offered to a peer with `have` while super-seeding (BEP 16).",
            ),
            peers_connected: gauge("peers_connected", "Peers past the handshake, now."),
            peers_unchoked: gauge("peers_unchoked", "Peers allowed to request, now."),
            connections_total: counter("connections_total", "Accepted TCP connections."),
            disconnects: counter_vec(
                "disconnects_total",
                "Closed peer connections by reason.",
                "reason",
            ),
            requests_rejected: counter_vec(
                "requests_rejected_total",
                "Block requests not served, by reason.",
                "reason",
            ),
            torrents,
            announces: counter_vec(
                "announces_total",
                "Announces to trackers by outcome (ok, failure, error).",
                "outcome",
            ),
            registrations: counter_vec(
                "tracker_registrations_total",
                "Registrations with the tracker admin API by outcome (ok, refused, error).",
                "outcome",
            ),
            disk_read_errors: counter(
                "disk_read_errors_total",
                "Failed or short reads of content.",
            ),
            pieces_verified: counter_vec(
                "pieces_verified_total",
                "Pieces hashed against the torrent, by result (good, bad).",
                "result",
            ),
            content_changes: counter(
                "content_changes_total",
                "Content files found changed on disk (size, modification time or inode) since they were verified; their pieces are verified again before they are served.",
            ),
            open_files: gauge(
                "open_files",
                "Content files open (at most max_open_files).",
            ),
            peer_memory: gauge(
                "peer_memory_bytes",
                "Bytes held for connected peers: read buffers, unread replies, queued requests, blocks being sent, bitfields (each peer at most max_peer_memory beyond its torrent's bitfields).",
            ),
            registry,
        };
        // Known outcomes exist from the start, so alerts see zeros, not missing series.
        for outcome in ["ok", "failure", "error"] {
            m.announces.with_label_values(&[outcome]);
        }
        for outcome in ["ok", "refused", "error"] {
            m.registrations.with_label_values(&[outcome]);
        }
        for result in ["good", "bad"] {
            m.pieces_verified.with_label_values(&[result]);
        }
        for state in ["checking", "seeding", "missing", "damaged", "broken"] {
            m.torrents.with_label_values(&[state]);
        }
        for why in super::reason::Rejection::ALL {
            m.requests_rejected.with_label_values(&[why.label()]);
        }
        for why in super::reason::Disconnect::ALL {
            m.disconnects.with_label_values(&[why.label()]);
        }
        m
    }

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
