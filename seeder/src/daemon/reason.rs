//! Why a peer connection ended and why a request was refused: one enum each, whose
//! variants name the label values of `disconnects_total{reason}` and
//! `requests_rejected_total{reason}`. Every label lives here and nowhere else.

/// Declares an enum of reasons with each variant's metric label and doc.
macro_rules! reasons {
    ($(#[$meta:meta])* $name:ident { $($(#[$doc:meta])* $v:ident => $label:literal,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$doc])* $v,)*
        }

        impl $name {
            /// Every reason, so metrics can show each from zero.
            pub const ALL: &'static [$name] = &[$($name::$v,)*];

            /// The metric label.
            pub fn label(self) -> &'static str {
                match self {
                    $($name::$v => $label,)*
                }
            }
        }

        /// The label, so a reason is a metric label value as it is.
        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                self.label()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.label())
            }
        }
    };
}

reasons! {
    /// Why a peer connection ended.
    Disconnect {
        /// The first bytes were not a BitTorrent handshake (nor an encrypted one).
        NotBittorrent => "not_bittorrent",
        /// An encrypted (MSE/PE) handshake with `encryption = off`: the client retries
        /// in plain text.
        Encrypted => "encrypted_handshake",
        /// A plain handshake with `encryption = require`.
        PlaintextRefused => "plaintext_refused",
        /// MSE: a Diffie-Hellman key out of range.
        MseBadKey => "mse_bad_key",
        /// MSE: no synchronisation marker within the 512 bytes of padding allowed.
        MseNoSync => "mse_no_sync",
        /// MSE: the verification constant did not decrypt to zeros.
        MseBadVerification => "mse_bad_verification",
        /// MSE: padding or initial payload longer than allowed.
        MseTooLong => "mse_too_long",
        /// MSE: the peer offered no method `encryption` accepts.
        MseNoCommonMethod => "mse_no_common_method",
        /// MSE: the BitTorrent handshake named another torrent than the encrypted one.
        MseInfoHashMismatch => "mse_info_hash_mismatch",
        /// MSE: the address started more than `encrypted_handshakes_per_minute`.
        MseRateLimited => "mse_rate_limited",
        UnknownTorrent => "unknown_torrent",
        HandshakeTimeout => "handshake_timeout",
        /// `max_peers` or `max_peers_per_torrent` reached.
        PeerLimit => "peer_limit",
        /// A malformed message.
        Protocol => "protocol_error",
        /// A request outside the torrent.
        BadRequest => "bad_request",
        /// More queued or refused requests than `max_requests_per_peer`.
        TooManyRequests => "too_many_requests",
        Idle => "idle",
        Closed => "closed",
        Io => "io_error",
        /// Two seeds have nothing to say to each other.
        Seed => "peer_is_seed",
        /// The torrent left the library.
        Removed => "torrent_removed",
        Shutdown => "shutdown",
        /// Closed at accept: the address (IPv6: its /64) already has its connections.
        AddressLimit => "address_limit",
        /// Still in its handshake, the oldest of `max_handshakes` such connections, when
        /// a new one came.
        HandshakeEvicted => "handshake_evicted",
        /// The peer did not read what we sent for `write_timeout`.
        WriteTimeout => "write_timeout",
        /// Cheap messages sent to cost us work: interest flipped again and again, or one
        /// whole bitfield after another (each a pass over every piece).
        Flood => "message_flood",
        /// The connection held more than `max_peer_memory`: replies the peer does not
        /// read.
        MemoryBudget => "memory_budget",
        /// The torrent stopped being served: a piece failed its hash (damaged), or its
        /// files went missing.
        NotServed => "torrent_not_served",
    }
}

reasons! {
    /// Why a block request was refused (answered with `reject` under the Fast extension).
    Rejection {
        Protocol => "protocol_error",
        BadRequest => "bad_request",
        /// We choke the peer (requests in flight when we choked are normal).
        Choked => "choked",
        /// A piece the peer may not have from us (unproven, bad, not offered while
        /// super-seeding).
        NotAvailable => "not_available",
        TooManyRequests => "too_many_requests",
        /// The piece could not be read.
        Disk => "disk_error",
        /// A BEP 52 `hash request` we cannot answer (got `hash reject`).
        Hashes => "hash_request_refused",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_unique_and_snake_case() {
        for all in [
            Disconnect::ALL
                .iter()
                .map(|r| r.label())
                .collect::<Vec<_>>(),
            Rejection::ALL.iter().map(|r| r.label()).collect(),
        ] {
            let mut seen = std::collections::HashSet::new();
            for l in all {
                assert!(seen.insert(l), "{l} twice");
                assert!(
                    l.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                    "{l}"
                );
            }
        }
    }
}
