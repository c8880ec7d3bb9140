//! A small BitTorrent client built from `seedline-common`'s codecs, for driving the
//! seeder in-process: handshakes, pipelined block downloads, BEP 9 metadata, and raw
//! bytes for hostile-peer tests. Every read is bounded by a timeout.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use seedline_common::wire::{
    BlockRequest, ExtendedHandshake, Handshake, Message, MetadataMessage, HANDSHAKE_LEN,
};
use seedline_common::{InfoHash, PeerId};
use seedline_testkit::{connect_within, socket_from};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub const TIMEOUT: Duration = Duration::from_secs(20);
const BLOCK: u32 = 16 * 1024;
/// Our extended id for `ut_metadata` messages sent to us.
const OUR_METADATA_ID: u8 = 3;

/// A received message, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Got {
    Msg(Vec<u8>),
    Closed,
}

pub struct Client {
    pub stream: TcpStream,
    buf: Vec<u8>,
    pub theirs: Option<Handshake>,
}

impl Client {
    pub async fn connect(addr: SocketAddr) -> Self {
        Self::connected(TcpStream::connect(addr)).await
    }

    /// Connects from `source` (any 127.0.0.0/8 address is local), so the seeder sees
    /// another host; `rcvbuf` shrinks the receive window of a client that will not read.
    pub async fn connect_from(addr: SocketAddr, source: IpAddr, rcvbuf: Option<u32>) -> Self {
        let sock = socket_from(source);
        if let Some(n) = rcvbuf {
            sock.set_recv_buffer_size(n).unwrap();
        }
        Self::connected(sock.connect(addr)).await
    }

    async fn connected(connect: impl Future<Output = std::io::Result<TcpStream>>) -> Self {
        Self {
            stream: connect_within(TIMEOUT, connect).await,
            buf: Vec::new(),
            theirs: None,
        }
    }

    /// Connects and completes the handshake (with the Fast and extension bits).
    pub async fn handshake(addr: SocketAddr, info_hash: InfoHash) -> Self {
        let ours = Handshake::new(info_hash, PeerId(*b"-TC0001-testclient01"));
        Self::handshake_as(addr, ours).await
    }

    /// Completes the handshake `ours` (e.g. with other reserved bits).
    pub async fn handshake_as(addr: SocketAddr, ours: Handshake) -> Self {
        let info_hash = ours.info_hash;
        let mut c = Self::connect(addr).await;
        c.send_raw(&ours.encode()).await;
        c.fill(HANDSHAKE_LEN)
            .await
            .expect("seeder sends its handshake");
        let theirs = Handshake::decode(&c.buf).unwrap().unwrap();
        c.buf.drain(..HANDSHAKE_LEN);
        assert_eq!(theirs.info_hash, info_hash);
        c.theirs = Some(theirs);
        c
    }

    pub async fn send_raw(&mut self, bytes: &[u8]) {
        // The seeder may already have closed on us; later reads tell the test.
        let _ = self.stream.write_all(bytes).await;
    }

    pub async fn send(&mut self, m: Message<'_>) {
        let mut out = Vec::new();
        m.encode(&mut out);
        self.send_raw(&out).await;
    }

    /// Reads until `n` bytes are buffered; `None` if the peer closed first.
    async fn fill(&mut self, n: usize) -> Option<()> {
        while self.buf.len() < n {
            self.buf.reserve(64 * 1024);
            let read = tokio::time::timeout(TIMEOUT, self.stream.read_buf(&mut self.buf))
                .await
                .expect("the seeder answers in time");
            if matches!(read, Ok(0) | Err(_)) {
                return None;
            }
        }
        Some(())
    }

    /// The next whole frame (length prefix included), or `Closed`.
    pub async fn next(&mut self) -> Got {
        if self.fill(4).await.is_none() {
            return Got::Closed;
        }
        let len = u32::from_be_bytes(self.buf[..4].try_into().unwrap()) as usize;
        if self.fill(4 + len).await.is_none() {
            return Got::Closed;
        }
        Got::Msg(self.buf.drain(..4 + len).collect())
    }

    /// Reads messages until `pred` matches one; panics if the connection closes.
    pub async fn until(&mut self, mut pred: impl FnMut(&Message<'_>) -> bool) -> Vec<u8> {
        loop {
            match self.next().await {
                Got::Closed => panic!("connection closed while waiting"),
                Got::Msg(frame) => {
                    let (m, _) = Message::decode(&frame, u32::MAX).unwrap().unwrap();
                    if pred(&m) {
                        return frame;
                    }
                }
            }
        }
    }

    /// Reads until the seeder closes the connection; panics if it stays open.
    pub async fn expect_closed(&mut self) {
        loop {
            if self.next().await == Got::Closed {
                return;
            }
        }
    }

    /// Downloads the whole torrent with `depth` requests in flight.
    pub async fn download(&mut self, total: u64, piece_len: u64, depth: usize) -> Vec<u8> {
        self.send(Message::Interested).await;
        self.until(|m| matches!(m, Message::Unchoke)).await;
        let mut data = vec![0u8; total as usize];
        self.fetch(blocks_of(0..total, piece_len), piece_len, depth, &mut data)
            .await;
        data
    }

    /// Downloads piece `index` into its place in `data` (the whole torrent's bytes);
    /// the peer must already be unchoked.
    pub async fn download_piece(&mut self, index: u32, piece_len: u64, data: &mut [u8]) {
        let start = u64::from(index) * piece_len;
        let end = (start + piece_len).min(data.len() as u64);
        self.fetch(blocks_of(start..end, piece_len), piece_len, 16, data)
            .await;
    }

    async fn fetch(
        &mut self,
        blocks: Vec<BlockRequest>,
        piece_len: u64,
        depth: usize,
        data: &mut [u8],
    ) {
        let mut sent = 0;
        let mut received = 0;
        while received < blocks.len() {
            while sent < blocks.len() && sent - received < depth {
                self.send(Message::Request(blocks[sent])).await;
                sent += 1;
            }
            let frame = self.until(|m| matches!(m, Message::Piece { .. })).await;
            let Ok(Some((
                Message::Piece {
                    index,
                    begin,
                    data: d,
                },
                _,
            ))) = Message::decode(&frame, u32::MAX)
            else {
                unreachable!()
            };
            let at = (u64::from(index) * piece_len + u64::from(begin)) as usize;
            data[at..at + d.len()].copy_from_slice(d);
            received += 1;
        }
    }

    /// Resolves the info dictionary over BEP 9, as a magnet-link client does.
    pub async fn fetch_metadata(&mut self) -> Vec<u8> {
        let mut hs = ExtendedHandshake::default();
        hs.m.insert("ut_metadata".into(), i64::from(OUR_METADATA_ID));
        let mut payload = Vec::new();
        hs.encode(&mut payload);
        self.send(Message::Extended {
            id: 0,
            payload: &payload,
        })
        .await;
        let frame = self
            .until(|m| matches!(m, Message::Extended { id: 0, .. }))
            .await;
        let Ok(Some((Message::Extended { payload, .. }, _))) = Message::decode(&frame, u32::MAX)
        else {
            unreachable!()
        };
        let theirs = ExtendedHandshake::decode(payload).unwrap();
        let their_id = theirs
            .id_of("ut_metadata")
            .expect("seeder offers ut_metadata");
        let size = theirs.metadata_size.expect("metadata_size") as usize;
        let mut info = Vec::new();
        let mut piece = 0;
        while info.len() < size {
            let mut req = Vec::new();
            MetadataMessage::Request { piece }.encode(&mut req);
            self.send(Message::Extended {
                id: their_id,
                payload: &req,
            })
            .await;
            let frame = self
                .until(|m| {
                    matches!(
                        m,
                        Message::Extended {
                            id: OUR_METADATA_ID,
                            ..
                        }
                    )
                })
                .await;
            let Ok(Some((Message::Extended { payload, .. }, _))) =
                Message::decode(&frame, u32::MAX)
            else {
                unreachable!()
            };
            match MetadataMessage::decode(payload).unwrap() {
                MetadataMessage::Data {
                    data, total_size, ..
                } => {
                    assert_eq!(total_size as usize, size);
                    info.extend_from_slice(data);
                }
                other => panic!("metadata piece {piece}: {other:?}"),
            }
            piece += 1;
        }
        info
    }
}

/// The block requests covering the byte range `range` of the torrent.
fn blocks_of(range: std::ops::Range<u64>, piece_len: u64) -> Vec<BlockRequest> {
    let mut blocks = Vec::new();
    let mut off = range.start;
    while off < range.end {
        let index = (off / piece_len) as u32;
        let begin = (off % piece_len) as u32;
        let piece_end = ((u64::from(index) + 1) * piece_len).min(range.end);
        let length = (piece_end - off).min(u64::from(BLOCK)) as u32;
        blocks.push(BlockRequest {
            index,
            begin,
            length,
        });
        off += u64::from(length);
    }
    blocks
}
