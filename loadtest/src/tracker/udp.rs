//! One UDP client slot (BEP 15): a socket on the worker's source address, a connection
//! id renewed every minute as clients do, and one request in flight. A request whose
//! reply does not come within the timeout is lost (counted as a timeout); a late reply
//! to it is skipped by its transaction id.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use seedline_common::udp::{self, Reply, Request};
use seedline_common::{AnnounceRequest, Event, InfoHash};
use tokio::net::UdpSocket;
use tokio::time::Instant;

use super::conn::IoCounts;
use super::validate::{AnnounceSent, ErrorKind, Notes, Problem};

/// A client uses a connection id for at most this long (BEP 15: one minute).
const ID_LIFETIME: Duration = Duration::from_secs(60);
const BUF: usize = 64 * 1024;

pub struct UdpConn {
    target: SocketAddr,
    source: Option<IpAddr>,
    sock: Option<UdpSocket>,
    id: Option<(u64, Instant)>,
    txn: u32,
    packet: Vec<u8>,
    buf: Vec<u8>,
    pub counts: IoCounts,
}

impl UdpConn {
    pub fn new(target: SocketAddr, source: Option<IpAddr>, seed: u32) -> Self {
        Self {
            target,
            source,
            sock: None,
            id: None,
            txn: seed,
            packet: Vec::with_capacity(2048),
            buf: vec![0; BUF],
            counts: IoCounts::default(),
        }
    }

    /// Announces `r` and checks the reply; when it was complete, and what it notes.
    pub async fn announce(
        &mut self,
        r: &AnnounceRequest,
        sent: &AnnounceSent,
        timeout: Duration,
    ) -> Result<(Instant, Notes), Problem> {
        let deadline = Instant::now() + timeout;
        let connection_id = self.connection_id(deadline).await?;
        let transaction_id = self.next_txn();
        self.packet.clear();
        Request::Announce(udp::Announce {
            connection_id,
            transaction_id,
            info_hash: r.info_hash,
            peer_id: r.peer_id,
            downloaded: r.downloaded,
            left: r.left,
            uploaded: r.uploaded,
            event: r.event,
            ip: None,
            key: 0,
            num_want: r.numwant,
            port: r.port,
            url_data: b"",
        })
        .write(&mut self.packet);
        let (n, done) = self.exchange(transaction_id, deadline).await?;
        let v6 = self.target.is_ipv6();
        match Reply::parse(&self.buf[..n], v6) {
            Ok(Reply::Announce {
                interval,
                leechers,
                seeders,
                peers,
                ..
            }) => {
                let peers = udp::peers(peers, v6);
                let invalid = |m: &str| Err(Problem::new(ErrorKind::Invalid, m));
                if peers.len() > sent.numwant as usize {
                    return invalid("more peers than numwant");
                }
                if interval == 0 {
                    return invalid("interval is zero");
                }
                let swarm = u64::from(seeders) + u64::from(leechers);
                if sent.event != Event::Stopped && swarm == 0 {
                    return invalid("swarm counts leave out the announcer");
                }
                let notes = Notes {
                    announcer_in_peers: sent.me.is_some_and(|me| peers.contains(&me)),
                };
                Ok((done, notes))
            }
            other => Err(wrong(other)),
        }
    }

    /// Scrapes `hashes` and checks that every one has its entry.
    pub async fn scrape(
        &mut self,
        hashes: &[InfoHash],
        timeout: Duration,
    ) -> Result<Instant, Problem> {
        let deadline = Instant::now() + timeout;
        let connection_id = self.connection_id(deadline).await?;
        let transaction_id = self.next_txn();
        let flat: Vec<u8> = hashes.iter().flat_map(|h| *h.as_bytes()).collect();
        self.packet.clear();
        Request::Scrape(udp::Scrape::of(connection_id, transaction_id, &flat))
            .write(&mut self.packet);
        let (n, done) = self.exchange(transaction_id, deadline).await?;
        match Reply::parse(&self.buf[..n], self.target.is_ipv6()) {
            Ok(Reply::Scrape { entries, .. }) if entries.len() == 12 * hashes.len() => Ok(done),
            Ok(Reply::Scrape { .. }) => Err(Problem::new(
                ErrorKind::Invalid,
                "scrape entries do not match the hashes",
            )),
            other => Err(wrong(other)),
        }
    }

    fn next_txn(&mut self) -> u32 {
        self.txn = self.txn.wrapping_add(1);
        self.txn
    }

    /// The connection id, from a connect exchange when there is none younger than a
    /// minute.
    async fn connection_id(&mut self, deadline: Instant) -> Result<u64, Problem> {
        if let Some((id, at)) = self.id {
            if at.elapsed() < ID_LIFETIME {
                return Ok(id);
            }
        }
        let transaction_id = self.next_txn();
        self.packet.clear();
        Request::Connect { transaction_id }.write(&mut self.packet);
        let (n, _) = self.exchange(transaction_id, deadline).await?;
        match Reply::parse(&self.buf[..n], self.target.is_ipv6()) {
            Ok(Reply::Connect { connection_id, .. }) => {
                self.id = Some((connection_id, Instant::now()));
                self.counts.connects += 1;
                Ok(connection_id)
            }
            other => Err(wrong(other)),
        }
    }

    /// Sends the packet, then reads until the reply with `txn` or the deadline.
    async fn exchange(&mut self, txn: u32, deadline: Instant) -> Result<(usize, Instant), Problem> {
        if self.sock.is_none() {
            let local = SocketAddr::new(
                self.source.unwrap_or(if self.target.is_ipv6() {
                    IpAddr::from([0u16; 8])
                } else {
                    IpAddr::from([0u8; 4])
                }),
                0,
            );
            let sock = UdpSocket::bind(local)
                .await
                .map_err(|e| Problem::new(ErrorKind::Connect, e.to_string()))?;
            sock.connect(self.target)
                .await
                .map_err(|e| Problem::new(ErrorKind::Connect, e.to_string()))?;
            self.sock = Some(sock);
        }
        let sock = self.sock.as_ref().expect("bound above");
        sock.send(&self.packet)
            .await
            .map_err(|e| Problem::new(ErrorKind::Io, e.to_string()))?;
        self.counts.bytes_out += self.packet.len() as u64;
        loop {
            let n = match tokio::time::timeout_at(deadline, sock.recv(&mut self.buf)).await {
                Err(_) => return Err(Problem::new(ErrorKind::Timeout, "no reply: lost")),
                Ok(Err(e)) => return Err(Problem::new(ErrorKind::Io, e.to_string())),
                Ok(Ok(n)) => n,
            };
            self.counts.bytes_in += n as u64;
            let done = Instant::now();
            match Reply::parse(&self.buf[..n], self.target.is_ipv6()) {
                Ok(r) if r.transaction_id() != txn => continue,
                Ok(Reply::Error { message, .. }) => {
                    // A rejected id is renewed at the next request.
                    self.id = None;
                    return Err(Problem::new(
                        ErrorKind::Failure,
                        String::from_utf8_lossy(message),
                    ));
                }
                Ok(_) => return Ok((n, done)),
                Err(e) => return Err(Problem::new(ErrorKind::Bencode, e.to_string())),
            }
        }
    }
}

fn wrong(r: Result<Reply<'_>, udp::ReplyError>) -> Problem {
    match r {
        Ok(r) => Problem::new(ErrorKind::Invalid, format!("unexpected reply {r:?}")),
        Err(e) => Problem::new(ErrorKind::Bencode, e.to_string()),
    }
}
