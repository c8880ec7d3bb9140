//! The UDP tracker client (BEP 15, BEP 41): connect, then announce, each retransmitted
//! after 15 × 2^n seconds as the BEP says, for a few rounds only; past them the
//! announcer's own back-off takes over. A fresh connection id per announce: an origin
//! announces every half hour, so caching one for its minute would save nothing.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use seedline_common::announce_response::{AnnounceResponse, Peers, ReplyHead};
use seedline_common::udp::{self, Reply, Request};
use seedline_common::AnnounceRequest;
use tokio::net::UdpSocket;

use super::announce::AnnounceError;

/// Retransmissions after the first send: 15, 30 and 60 s of waiting, 105 s in all.
const RETRIES: u32 = 2;
const FIRST_WAIT: Duration = Duration::from_secs(15);
/// Larger than any reply a tracker sends over one datagram.
const MAX_REPLY: usize = 64 * 1024;

/// Announces `req` to the tracker at `url` (`udp://host:port[/path]`).
pub async fn announce(url: &str, req: &AnnounceRequest) -> Result<AnnounceResponse, AnnounceError> {
    let (authority, path) = split(url).ok_or_else(|| AnnounceError::BadUrl(url.to_owned()))?;
    let target = tokio::net::lookup_host(authority)
        .await
        .map_err(AnnounceError::Connect)?
        .next()
        .ok_or_else(|| AnnounceError::BadUrl(url.to_owned()))?;
    let local: SocketAddr = if target.is_ipv6() {
        "[::]:0".parse().expect("address")
    } else {
        "0.0.0.0:0".parse().expect("address")
    };
    let sock = UdpSocket::bind(local)
        .await
        .map_err(AnnounceError::Connect)?;
    sock.connect(target).await.map_err(AnnounceError::Connect)?;
    let mut buf = vec![0u8; MAX_REPLY];

    let txn: u32 = rand::random();
    let mut packet = Vec::new();
    Request::Connect {
        transaction_id: txn,
    }
    .write(&mut packet);
    let connection_id = match exchange(&sock, &packet, txn, &mut buf, target.is_ipv6()).await? {
        Reply::Connect { connection_id, .. } => connection_id,
        other => return Err(unexpected(&other)),
    };

    let txn: u32 = rand::random();
    packet.clear();
    Request::Announce(udp::Announce {
        connection_id,
        transaction_id: txn,
        info_hash: req.info_hash,
        peer_id: req.peer_id,
        downloaded: req.downloaded,
        left: req.left,
        uploaded: req.uploaded,
        event: req.event,
        // BEP 15's field holds an IPv4 address only.
        ip: match req.ip {
            Some(IpAddr::V4(v4)) => Some(v4),
            _ => None,
        },
        key: req.key.map_or(0, |k| key_u32(k.as_bytes())),
        num_want: req.numwant,
        port: req.port,
        url_data: path.as_bytes(),
    })
    .write(&mut packet);
    let v6 = target.is_ipv6();
    match exchange(&sock, &packet, txn, &mut buf, v6).await? {
        Reply::Announce {
            interval,
            leechers,
            seeders,
            peers,
            ..
        } => {
            let peers = udp::peers(peers, v6);
            Ok(AnnounceResponse {
                head: ReplyHead {
                    interval,
                    complete: seeders,
                    incomplete: leechers,
                    ..ReplyHead::default()
                },
                peers: if v6 {
                    Peers::Compact {
                        v4: Vec::new(),
                        v6: peers,
                    }
                } else {
                    Peers::Compact {
                        v4: peers,
                        v6: Vec::new(),
                    }
                },
                warning: None,
            })
        }
        other => Err(unexpected(&other)),
    }
}

/// Sends `packet` until a reply with `txn` arrives, waiting 15 × 2^n s after the n-th
/// send; replies with other transaction ids (late answers to earlier sends) are skipped.
/// An error reply is the tracker's failure.
async fn exchange<'b>(
    sock: &UdpSocket,
    packet: &[u8],
    txn: u32,
    buf: &'b mut [u8],
    v6: bool,
) -> Result<Reply<'b>, AnnounceError> {
    let mut wait = FIRST_WAIT;
    for _ in 0..=RETRIES {
        sock.send(packet).await.map_err(AnnounceError::Connect)?;
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let n = match tokio::time::timeout_at(deadline, sock.recv(buf)).await {
                Err(_) => break,
                // An ICMP "port unreachable" for an earlier send: nothing listens there.
                Ok(Err(e)) => return Err(AnnounceError::Connect(e)),
                Ok(Ok(n)) => n,
            };
            if Reply::parse(&buf[..n], v6).is_ok_and(|r| r.transaction_id() == txn) {
                return match Reply::parse(&buf[..n], v6).expect("parsed above") {
                    Reply::Error { message, .. } => Err(AnnounceError::Failure(
                        String::from_utf8_lossy(message).into_owned(),
                    )),
                    r => Ok(r),
                };
            }
        }
        wait *= 2;
    }
    Err(AnnounceError::Timeout(
        FIRST_WAIT * ((1 << (RETRIES + 1)) - 1),
    ))
}

fn unexpected(r: &Reply<'_>) -> AnnounceError {
    AnnounceError::Http(format!("unexpected UDP tracker reply {r:?}"))
}

/// `udp://host:port/path?query` → (`host:port`, `/path?query`).
fn split(url: &str) -> Option<(&str, &str)> {
    let rest = url.strip_prefix("udp://")?;
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    (!authority.is_empty()).then_some((authority, path))
}

/// BEP 15's key is 32 bits; ours is a short ASCII token (hex digits): its bytes folded.
fn key_u32(k: &[u8]) -> u32 {
    k.iter()
        .fold(0u32, |acc, &b| acc.rotate_left(5) ^ u32::from(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_address_and_bep41_path() {
        assert_eq!(
            split("udp://t.example:6969/announce"),
            Some(("t.example:6969", "/announce"))
        );
        assert_eq!(split("udp://[::1]:80"), Some(("[::1]:80", "")));
        assert_eq!(split("udp:///x"), None);
        assert_eq!(split("http://a/announce"), None);
    }
}
