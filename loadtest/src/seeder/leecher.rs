//! One synthetic leecher: connects, handshakes, and downloads the whole torrent with a
//! pipeline of block requests, checking every piece against the torrent's hash.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use librqbit_utp::{SocketOpts, UtpSocketUdp};

use seedline_common::mse::{self, Cipher, Initiator};
use seedline_common::wire::{
    frame_len, Bitfield, BlockRequest, ExtendedHandshake, Handshake, Message,
    EXTENDED_HANDSHAKE_ID, HANDSHAKE_LEN, MAX_BLOCK_LEN,
};
use seedline_common::PeerId;
use sha1::{Digest, Sha1};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_util::sync::CancellationToken;

use super::{Encryption, Torrent, Transport};
use crate::tracker::population::{source_for, Sources};

/// Largest frame accepted from the seed: a block and its header, with room to spare.
const MAX_FRAME: u32 = 2 * MAX_BLOCK_LEN + 64;

/// Requests a seed takes at once when its extended handshake names no `reqq` (BEP 10:
/// libtorrent's default).
const DEFAULT_REQQ: usize = 250;

/// What one leecher did.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub connect: Option<Duration>,
    /// From connect to the seed's handshake.
    pub handshake: Option<Duration>,
    /// From the handshake to the last block.
    pub download: Option<Duration>,
    pub bytes: u64,
    /// The `reqq` the seed advertised in its extended handshake.
    pub seed_reqq: Option<u32>,
    pub pieces_bad: u64,
    pub error: Option<&'static str>,
}

/// Downloads `t` over `link` until done, `stop`, or `link.stall` without data.
pub async fn run(link: Link, t: &Torrent, pipeline: usize, stop: &CancellationToken) -> Outcome {
    let mut out = Outcome::default();
    let started = Instant::now();
    let result = tokio::select! {
        r = connect_and_download(&link, t, pipeline, &mut out, started) => r,
        () = stop.cancelled() => Err("stopped"),
    };
    if let Err(e) = result {
        out.error = Some(e);
    }
    out
}

/// The source address of leecher `index`: on an IPv4 loopback target each leecher has
/// its own 127.x.y.z, as the tracker generator does, so the seed sees a swarm of hosts
/// rather than one (whose connections its per-address cap would refuse).
fn source(target: SocketAddr, index: usize) -> Option<std::net::IpAddr> {
    match target {
        SocketAddr::V4(v4) if v4.ip().is_loopback() => source_for(Sources::Spread, index),
        _ => None,
    }
}

/// Connects leecher `index` over TCP.
async fn connect(target: SocketAddr, index: usize) -> std::io::Result<TcpStream> {
    match source(target, index) {
        Some(src) => {
            let sock = TcpSocket::new_v4()?;
            sock.bind(SocketAddr::new(src, 0))?;
            sock.connect(target).await
        }
        None => TcpStream::connect(target).await,
    }
}

/// Connects leecher `index` over uTP, from a UDP socket of its own (kept alive by the
/// caller as long as the stream).
async fn connect_utp(
    target: SocketAddr,
    index: usize,
) -> std::io::Result<(Arc<UtpSocketUdp>, librqbit_utp::UtpStream)> {
    let from = match (source(target, index), target) {
        (Some(src), _) => SocketAddr::new(src, 0),
        (None, SocketAddr::V4(_)) => SocketAddr::from(([0, 0, 0, 0], 0)),
        (None, SocketAddr::V6(_)) => SocketAddr::from(([0u16; 8], 0)),
    };
    // Requests go out at once, as with TCP_NODELAY. A choked leecher hears nothing until
    // its turn comes (the seeder's choking rounds, or its BEP 3 keep-alive after 90 s):
    // the crate's default of closing a stream silent for 10 s would end it, where a real
    // client keeps an idle connection for minutes.
    let opts = SocketOpts {
        disable_nagle: true,
        remote_inactivity_timeout: Some(std::time::Duration::from_secs(180)),
        ..SocketOpts::default()
    };
    let sock = UtpSocketUdp::new_udp_with_opts(from, opts, Default::default())
        .await
        .map_err(std::io::Error::other)?;
    let stream = sock.connect(target).await.map_err(std::io::Error::other)?;
    Ok((sock, stream))
}

/// Where and how one leecher connects.
pub struct Link {
    pub target: SocketAddr,
    pub index: usize,
    pub encryption: Encryption,
    pub transport: Transport,
    pub stall: Duration,
}

/// A connection's stream ciphers (RC4 after an encrypted handshake that chose it).
#[derive(Default)]
struct Ciphers {
    recv: Option<Cipher>,
    send: Option<Cipher>,
}

/// Runs an encrypted handshake (MSE/PE) for `t`, our BitTorrent handshake `hello` as
/// its initial payload; the ciphers and the plain bytes received past it.
async fn encrypt<S: AsyncRead + AsyncWrite + Unpin>(
    s: &mut S,
    t: &Torrent,
    link: &Link,
    hello: &[u8],
) -> Result<(Ciphers, Vec<u8>), &'static str> {
    let provide = if link.encryption == Encryption::Rc4 {
        mse::RC4
    } else {
        mse::PLAINTEXT
    };
    let mut private = [0u8; mse::PRIVATE_LEN];
    private[..8].copy_from_slice(&(link.index as u64 + 1).to_be_bytes());
    private[8..16].copy_from_slice(&rand::random::<u64>().to_be_bytes());
    let mut out = Vec::new();
    let mut a = Initiator::new(&private, &[], t.info_hash, provide, hello, &mut out);
    let mut chunk = [0u8; 4096];
    loop {
        s.write_all(&out).await.map_err(|_| "io_error")?;
        out.clear();
        let n = tokio::time::timeout(link.stall, s.read(&mut chunk))
            .await
            .map_err(|_| "handshake_timeout")?
            .map_err(|_| "io_error")?;
        if n == 0 {
            return Err("closed_in_handshake");
        }
        if let Some(e) = a
            .receive(&chunk[..n], &mut out)
            .map_err(|_| "bad_encryption")?
        {
            let c = match e.ciphers {
                Some((recv, send)) => Ciphers {
                    recv: Some(recv),
                    send: Some(send),
                },
                None => Ciphers::default(),
            };
            return Ok((c, e.received));
        }
    }
}

async fn connect_and_download(
    link: &Link,
    t: &Torrent,
    pipeline: usize,
    out: &mut Outcome,
    started: Instant,
) -> Result<(), &'static str> {
    let (target, index, stall) = (link.target, link.index, link.stall);
    match link.transport {
        Transport::Tcp => {
            let s = tokio::time::timeout(stall, connect(target, index))
                .await
                .map_err(|_| "connect_timeout")?
                .map_err(|_| "connect_failed")?;
            let _ = s.set_nodelay(true);
            out.connect = Some(started.elapsed());
            download(s, link, t, pipeline, out, started).await
        }
        Transport::Utp => {
            let (_sock, s) = tokio::time::timeout(stall, connect_utp(target, index))
                .await
                .map_err(|_| "connect_timeout")?
                .map_err(|_| "connect_failed")?;
            out.connect = Some(started.elapsed());
            download(s, link, t, pipeline, out, started).await
        }
    }
}

async fn download<S: AsyncRead + AsyncWrite + Unpin>(
    mut s: S,
    link: &Link,
    t: &Torrent,
    pipeline: usize,
    out: &mut Outcome,
    started: Instant,
) -> Result<(), &'static str> {
    let (index, stall) = (link.index, link.stall);
    let mut id = *b"-SL0LT0-000000000000";
    id[8..].copy_from_slice(format!("{index:012}").as_bytes());
    let hello = Handshake::new(t.info_hash, PeerId(id)).encode();
    // Received and decrypted, not yet parsed.
    let mut buf = Vec::with_capacity(256 * 1024);
    let mut ciphers = Ciphers::default();
    if link.encryption == Encryption::None {
        s.write_all(&hello).await.map_err(|_| "io_error")?;
    } else {
        let (c, received) = encrypt(&mut s, t, link, &hello).await?;
        ciphers = c;
        buf = received;
    }
    let mut chunk = [0u8; 64 * 1024];
    while buf.len() < HANDSHAKE_LEN {
        read_into(&mut s, &mut ciphers, &mut chunk, &mut buf, stall)
            .await
            .map_err(|e| match e {
                "stalled" => "handshake_timeout",
                _ => "closed_in_handshake",
            })?;
    }
    let theirs = Handshake::decode(&buf[..HANDSHAKE_LEN])
        .ok()
        .flatten()
        .ok_or("bad_handshake")?;
    buf.drain(..HANDSHAKE_LEN);
    if theirs.info_hash != t.info_hash {
        return Err("wrong_info_hash");
    }
    out.handshake = Some(started.elapsed());
    let dl_start = Instant::now();
    let fast = theirs.supports_fast();
    let mut st = State::new(t, index, pipeline, fast);
    let mut wbuf = Vec::new();
    let mut sent_interested = false;
    loop {
        // Parse every whole frame in the buffer.
        let mut used = 0;
        // `frame_len` answers once the length prefix is in; wait for the whole frame.
        while let Some(len) = frame_len(&buf[used..], MAX_FRAME).map_err(|_| "bad_frame")? {
            if buf.len() - used < len {
                break;
            }
            let (msg, _) = Message::decode(&buf[used..used + len], MAX_FRAME)
                .map_err(|_| "bad_message")?
                .ok_or("bad_message")?;
            st.on_message(msg, t, out)?;
            used += len;
        }
        buf.drain(..used);
        if st.done() {
            out.download = Some(dl_start.elapsed());
            return Ok(());
        }
        wbuf.clear();
        if !sent_interested && st.seed_has_any() {
            Message::Interested.encode(&mut wbuf);
            sent_interested = true;
        }
        if st.unchoked {
            st.fill(&mut wbuf);
        }
        if !wbuf.is_empty() {
            if let Some(c) = &mut ciphers.send {
                c.apply(&mut wbuf);
            }
            s.write_all(&wbuf).await.map_err(|_| "io_error")?;
        }
        read_into(&mut s, &mut ciphers, &mut chunk, &mut buf, stall).await?;
    }
}

/// One read from the seed, decrypted if the stream is, appended to `buf`.
async fn read_into<S: AsyncRead + Unpin>(
    s: &mut S,
    ciphers: &mut Ciphers,
    chunk: &mut [u8],
    buf: &mut Vec<u8>,
    stall: Duration,
) -> Result<(), &'static str> {
    let n = tokio::time::timeout(stall, s.read(chunk))
        .await
        .map_err(|_| "stalled")?
        .map_err(|_| "io_error")?;
    if n == 0 {
        return Err("closed_by_seed");
    }
    if let Some(c) = &mut ciphers.recv {
        c.apply(&mut chunk[..n]);
    }
    buf.extend_from_slice(&chunk[..n]);
    Ok(())
}

/// Which blocks are wanted, asked for and received, and the pieces being assembled.
struct State {
    have: Bitfield,
    unchoked: bool,
    /// Both sides set the Fast bit (BEP 6): a choke no longer cancels requests, only a
    /// reject does, and blocks already asked for may still arrive after the choke.
    fast: bool,
    /// Requests kept outstanding: `--pipeline`, lowered to the seed's `reqq` as real
    /// clients do (a seed may drop a peer that asks for more).
    depth: usize,
    pipeline: usize,
    /// Blocks not yet requested, in download order (each leecher starts elsewhere, so a
    /// crowd asks for different pieces as a swarm would).
    todo: std::collections::VecDeque<BlockRequest>,
    outstanding: Vec<BlockRequest>,
    /// Pieces being assembled, checked against their hash when complete.
    pieces: Vec<Option<PieceBuf>>,
    remaining_pieces: usize,
}

struct PieceBuf {
    data: Vec<u8>,
    received: u64,
}

impl State {
    fn new(t: &Torrent, index: usize, pipeline: usize, fast: bool) -> Self {
        let count = t.piece_count();
        let start = if count == 0 {
            0
        } else {
            (index * 7919) % count
        };
        let mut todo = std::collections::VecDeque::new();
        for k in 0..count {
            let p = (start + k) % count;
            let len = t.piece_len(p);
            let mut begin = 0;
            while begin < len {
                let l = (len - begin).min(u64::from(MAX_BLOCK_LEN));
                todo.push_back(BlockRequest {
                    index: p as u32,
                    begin: begin as u32,
                    length: l as u32,
                });
                begin += l;
            }
        }
        Self {
            have: Bitfield::new(count as u32),
            unchoked: false,
            fast,
            depth: pipeline.min(DEFAULT_REQQ),
            pipeline,
            todo,
            outstanding: Vec::new(),
            pieces: (0..count).map(|_| None).collect(),
            remaining_pieces: count,
        }
    }

    fn done(&self) -> bool {
        self.remaining_pieces == 0
    }

    fn seed_has_any(&self) -> bool {
        self.have.count() > 0
    }

    fn on_message(
        &mut self,
        msg: Message<'_>,
        t: &Torrent,
        out: &mut Outcome,
    ) -> Result<(), &'static str> {
        match msg {
            Message::Bitfield(b) => {
                self.have = Bitfield::from_payload(b, t.piece_count() as u32)
                    .map_err(|_| "bad_bitfield")?;
            }
            Message::HaveAll => self.have = Bitfield::full(t.piece_count() as u32),
            Message::Have(i) => {
                self.have.set(i);
            }
            Message::Unchoke => self.unchoked = true,
            Message::Extended {
                id: EXTENDED_HANDSHAKE_ID,
                payload,
            } => {
                let reqq = ExtendedHandshake::decode(payload).ok().and_then(|h| h.reqq);
                if let Some(q) = reqq.and_then(|q| u32::try_from(q).ok()).filter(|&q| q > 0) {
                    self.depth = self.pipeline.min(q as usize);
                    out.seed_reqq = Some(q);
                }
            }
            Message::Choke => {
                self.unchoked = false;
                // Without the Fast extension a choke drops every pending request. With
                // it, each dropped request is rejected, and a block the seed was already
                // reading may still come: treating it as unrequested would be our bug.
                if !self.fast {
                    for r in self.outstanding.drain(..).rev() {
                        self.todo.push_front(r);
                    }
                }
            }
            Message::Reject(r) => {
                if let Some(pos) = self.outstanding.iter().position(|q| *q == r) {
                    self.outstanding.swap_remove(pos);
                    self.todo.push_back(r);
                }
            }
            Message::Piece { index, begin, data } => {
                let r = BlockRequest {
                    index,
                    begin,
                    length: data.len() as u32,
                };
                let pos = self
                    .outstanding
                    .iter()
                    .position(|q| *q == r)
                    .ok_or("unrequested_block")?;
                self.outstanding.swap_remove(pos);
                out.bytes += data.len() as u64;
                let p = index as usize;
                let plen = t.piece_len(p);
                let buf = self.pieces[p].get_or_insert_with(|| PieceBuf {
                    data: vec![0; plen as usize],
                    received: 0,
                });
                buf.data[begin as usize..begin as usize + data.len()].copy_from_slice(data);
                buf.received += data.len() as u64;
                if buf.received == plen {
                    let buf = self.pieces[p].take().expect("piece buffer");
                    if Sha1::digest(&buf.data).as_slice() != t.hashes[p] {
                        out.pieces_bad += 1;
                        return Err("bad_piece");
                    }
                    self.remaining_pieces -= 1;
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Requests blocks the seed has until `depth` are outstanding.
    fn fill(&mut self, wbuf: &mut Vec<u8>) {
        let mut skipped = 0;
        while self.outstanding.len() < self.depth && skipped < self.todo.len() {
            let Some(r) = self.todo.pop_front() else {
                break;
            };
            if self.have.has(r.index) {
                Message::Request(r).encode(wbuf);
                self.outstanding.push(r);
            } else {
                self.todo.push_back(r);
                skipped += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use seedline_common::InfoHash;

    /// One piece of two blocks, with its real hash.
    fn torrent() -> (Torrent, Vec<u8>) {
        let data = vec![7u8; 2 * MAX_BLOCK_LEN as usize];
        let t = Torrent {
            info_hash: InfoHash([1; 20]),
            piece_length: data.len() as u64,
            total: data.len() as u64,
            hashes: vec![Sha1::digest(&data).into()],
        };
        (t, data)
    }

    fn requested(fast: bool) -> (State, Torrent, Vec<u8>, Outcome) {
        let (t, data) = torrent();
        let mut st = State::new(&t, 0, 16, fast);
        let mut out = Outcome::default();
        st.on_message(Message::HaveAll, &t, &mut out).unwrap();
        st.on_message(Message::Unchoke, &t, &mut out).unwrap();
        st.fill(&mut Vec::new());
        assert_eq!(st.outstanding.len(), 2);
        (st, t, data, out)
    }

    fn block(data: &[u8], n: u32) -> Message<'_> {
        let b = (n * MAX_BLOCK_LEN) as usize;
        Message::Piece {
            index: 0,
            begin: n * MAX_BLOCK_LEN,
            data: &data[b..b + MAX_BLOCK_LEN as usize],
        }
    }

    #[test]
    fn a_fast_seeds_choke_leaves_requests_to_its_rejects() {
        let (mut st, t, data, mut out) = requested(true);
        st.on_message(Message::Choke, &t, &mut out).unwrap();
        // The block the seed was reading when it choked still counts.
        st.on_message(block(&data, 0), &t, &mut out).unwrap();
        let second = st.outstanding[0];
        st.on_message(Message::Reject(second), &t, &mut out)
            .unwrap();
        assert!(st.outstanding.is_empty());
        assert_eq!(st.todo.iter().copied().collect::<Vec<_>>(), vec![second]);
        // Asked again after the unchoke, and only once.
        st.on_message(Message::Unchoke, &t, &mut out).unwrap();
        st.fill(&mut Vec::new());
        st.on_message(block(&data, 1), &t, &mut out).unwrap();
        assert!(st.done());
        assert_eq!(out.bytes, data.len() as u64);
    }

    #[test]
    fn a_plain_seeds_choke_drops_every_request() {
        let (mut st, t, data, mut out) = requested(false);
        st.on_message(Message::Choke, &t, &mut out).unwrap();
        assert!(st.outstanding.is_empty());
        assert_eq!(st.todo.len(), 2);
        assert_eq!(
            st.on_message(block(&data, 0), &t, &mut out),
            Err("unrequested_block")
        );
    }
}
