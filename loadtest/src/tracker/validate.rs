//! Checks every reply with the same codecs the tracker encodes with, and names what went
//! wrong so that errors are counted by kind instead of hidden in a rate.

use std::net::SocketAddr;

use seedline_common::announce_response::{PeersView, ReplyView, ResponseError};
use seedline_common::{Event, InfoHash, ScrapeResponse};

/// Kinds of failed requests, in report order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ErrorKind {
    /// The TCP connection could not be opened.
    Connect,
    /// No complete reply within `--timeout`.
    Timeout,
    /// Reset, or closed before the reply was complete.
    Io,
    /// The reply is not HTTP/1.x this client understands.
    Http,
    /// A status other than 200.
    Status,
    /// A bencoded `failure reason`.
    Failure,
    /// The body is not bencode of the expected shape (UDP: not a BEP 15 reply).
    Bencode,
    /// Well-formed, but wrong: more peers than asked, counts that cannot be.
    Invalid,
}

impl ErrorKind {
    pub const ALL: [Self; 8] = [
        Self::Connect,
        Self::Timeout,
        Self::Io,
        Self::Http,
        Self::Status,
        Self::Failure,
        Self::Bencode,
        Self::Invalid,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Connect => "connect",
            Self::Timeout => "timeout",
            Self::Io => "io",
            Self::Http => "http",
            Self::Status => "http_status",
            Self::Failure => "failure_reason",
            Self::Bencode => "bad_bencode",
            Self::Invalid => "invalid_reply",
        }
    }
}

/// A failed request: its kind and a short description (bounded in the report).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub kind: ErrorKind,
    pub detail: String,
}

impl Problem {
    pub fn new(kind: ErrorKind, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: detail.into(),
        }
    }
}

/// What the announce that a reply answers asked for.
#[derive(Debug, Clone, Copy)]
pub struct AnnounceSent {
    pub numwant: u32,
    pub event: Event,
    /// The announcer's address as the tracker sees it, when known.
    pub me: Option<SocketAddr>,
}

/// Legal but notable about a valid announce reply; counted, not an error.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Notes {
    /// The announcer's own address is among the peers. BEP 3 does not forbid it, and
    /// opentracker does it for swarms smaller than `numwant`; Seedline never does.
    pub announcer_in_peers: bool,
}

/// Decodes an announce reply and checks it against the request, without copying its
/// peers out of the buffer.
pub fn check_announce(body: &[u8], sent: &AnnounceSent) -> Result<Notes, Problem> {
    let r = ReplyView::parse(body).map_err(|e| match e {
        ResponseError::Failure(reason) => Problem::new(ErrorKind::Failure, reason),
        ResponseError::Malformed(m) => Problem::new(ErrorKind::Bencode, m),
        ResponseError::Invalid(m) => Problem::new(ErrorKind::Bencode, m),
    })?;
    let invalid = |m: &str| Err(Problem::new(ErrorKind::Invalid, m));
    // BEP 7 allows both families in one reply; `numwant` bounds them together.
    if matches!(r.peers, PeersView::Dict(_)) {
        return invalid("dictionary peers although compact=1 was asked");
    }
    let count = r.peer_count();
    if count > sent.numwant as usize {
        return invalid("more peers than numwant");
    }
    if r.head.interval == 0 {
        return invalid("interval is zero");
    }
    let swarm = u64::from(r.head.complete) + u64::from(r.head.incomplete);
    if sent.event != Event::Stopped && swarm == 0 {
        return invalid("swarm counts leave out the announcer");
    }
    if count as u64 > swarm {
        return invalid("more peers than the swarm counts");
    }
    Ok(Notes {
        announcer_in_peers: sent.me.is_some_and(|me| r.addrs().any(|a| a == me)),
    })
}

/// Decodes a scrape reply and checks that it lists only torrents that were asked for.
pub fn check_scrape(body: &[u8], asked: &[InfoHash]) -> Result<(), Problem> {
    let r =
        ScrapeResponse::decode(body).map_err(|e| match e.strip_prefix("tracker failure: ") {
            Some(reason) => Problem::new(ErrorKind::Failure, reason),
            None => Problem::new(ErrorKind::Bencode, e),
        })?;
    if r.files.keys().any(|h| !asked.contains(h)) {
        return Err(Problem::new(
            ErrorKind::Invalid,
            "scrape lists a torrent that was not asked for",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use seedline_common::announce_response::{Peers, ReplyHead};
    use seedline_common::AnnounceResponse;
    use seedline_common::ScrapeStats;

    fn reply(complete: u32, incomplete: u32, v4: Vec<SocketAddr>) -> Vec<u8> {
        let r = AnnounceResponse {
            head: ReplyHead {
                interval: 1800,
                complete,
                incomplete,
                ..Default::default()
            },
            peers: Peers::Compact { v4, v6: vec![] },
            warning: None,
        };
        let mut out = Vec::new();
        r.encode(&mut out);
        out
    }

    fn sent(numwant: u32) -> AnnounceSent {
        AnnounceSent {
            numwant,
            event: Event::None,
            me: Some("127.1.0.1:1024".parse().unwrap()),
        }
    }

    fn kind<T: std::fmt::Debug>(r: Result<T, Problem>) -> ErrorKind {
        r.unwrap_err().kind
    }

    #[test]
    fn accepts_a_good_reply() {
        let peers = vec!["127.1.0.2:1024".parse().unwrap()];
        assert_eq!(
            check_announce(&reply(1, 1, peers), &sent(50)),
            Ok(Notes::default())
        );
    }

    #[test]
    fn catches_bad_replies() {
        let two: Vec<SocketAddr> = vec![
            "127.1.0.2:1024".parse().unwrap(),
            "127.1.0.3:1024".parse().unwrap(),
        ];
        assert_eq!(
            kind(check_announce(b"d8:intervali", &sent(50))),
            ErrorKind::Bencode
        );
        assert_eq!(kind(check_announce(b"", &sent(50))), ErrorKind::Bencode);
        assert_eq!(
            kind(check_announce(b"d8:intervali5e5:peers5:abcdee", &sent(50))),
            ErrorKind::Bencode
        );
        let f = check_announce(b"d14:failure reason9:slow downe", &sent(50)).unwrap_err();
        assert_eq!(f, Problem::new(ErrorKind::Failure, "slow down"));
        assert_eq!(
            kind(check_announce(&reply(2, 1, two.clone()), &sent(1))),
            ErrorKind::Invalid
        );
        assert_eq!(
            kind(check_announce(&reply(0, 0, vec![]), &sent(50))),
            ErrorKind::Invalid
        );
        assert_eq!(
            kind(check_announce(&reply(1, 0, two), &sent(50))),
            ErrorKind::Invalid
        );
        let me = vec!["127.1.0.1:1024".parse().unwrap()];
        let n = check_announce(&reply(1, 1, me), &sent(50)).unwrap();
        assert!(n.announcer_in_peers);
        // A stopped peer has left: an empty swarm is the right answer.
        let stopped = AnnounceSent {
            event: Event::Stopped,
            ..sent(50)
        };
        assert_eq!(
            check_announce(&reply(0, 0, vec![]), &stopped),
            Ok(Notes::default())
        );
    }

    #[test]
    fn scrape_replies() {
        let (a, b) = (InfoHash([1; 20]), InfoHash([2; 20]));
        let mut r = ScrapeResponse::default();
        r.files.insert(a, ScrapeStats::default());
        let mut out = Vec::new();
        r.encode(&mut out);
        assert_eq!(check_scrape(&out, &[a, b]), Ok(()));
        assert_eq!(kind(check_scrape(&out, &[b])), ErrorKind::Invalid);
        assert_eq!(kind(check_scrape(b"d5:filesd", &[a])), ErrorKind::Bencode);
        assert_eq!(
            kind(check_scrape(b"d14:failure reason1:xe", &[a])),
            ErrorKind::Failure
        );
    }
}
