//! Attacks on the real `seeder` binary (a separate process, so a crash shows as an exit
//! rather than taking the test harness down): each attack is followed by proof that the
//! process is alive, its admin listener answers and a normal peer still downloads.

use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use seedline_common::wire::{Message, EXTENDED_HANDSHAKE_ID};
use seedline_common::InfoHash;

use crate::daemon_util::{http_get, metric};
use crate::peer_client::Client;
use crate::seed::release;
use crate::util::KillOnDrop;

const BIN: &str = env!("CARGO_BIN_EXE_seeder");

/// The seeder binary serving the test release with its embedded tracker, all on
/// loopback `:0` ports, and the addresses it logged.
pub struct SeederProcess {
    pub child: KillOnDrop,
    pub peer: SocketAddr,
    pub admin: SocketAddr,
    /// The embedded tracker.
    pub tracker: SocketAddr,
    pub ih: InfoHash,
    pub bytes: Vec<u8>,
    pub piece_len: u64,
    _dir: tempfile::TempDir,
}

impl SeederProcess {
    pub fn start(extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (torrent, bytes) = release(dir.path(), true);
        let meta =
            seedline_common::Metainfo::from_bytes(&std::fs::read(&torrent).unwrap()).unwrap();
        let mut cmd = Command::new(BIN);
        cmd.args(["--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"])
            .args(["--embedded-tracker-listen", "127.0.0.1:0"])
            .args(["--embedded-tracker-admin-listen", "127.0.0.1:0"])
            .args(["--log-format", "json", "--log-level", "info"])
            .arg("--torrent")
            .arg(&torrent)
            .arg("--data")
            .arg(dir.path())
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = KillOnDrop::spawn(&mut cmd);
        let lines = stderr_lines(&mut child);
        let (mut peer, mut admin, mut tracker) = (None, None, None);
        let deadline = Instant::now() + Duration::from_secs(30);
        while peer.is_none() || admin.is_none() || tracker.is_none() {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = lines
                .recv_timeout(left)
                .expect("the seeder logs its listeners");
            let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
            let addr = || v["fields"]["addr"].as_str().and_then(|a| a.parse().ok());
            // The embedded tracker logs its own admin listener in the same words.
            let ours = v["target"]
                .as_str()
                .is_some_and(|t| t.starts_with("seedline_seeder"));
            match v["fields"]["message"].as_str() {
                Some("seeding") => peer = addr(),
                Some("embedded tracker listening") => tracker = addr(),
                Some("admin listening (/metrics, /health)") if ours => admin = addr(),
                _ => {}
            }
        }
        Self {
            child,
            peer: peer.unwrap(),
            admin: admin.unwrap(),
            tracker: tracker.unwrap(),
            ih: meta.info_hash,
            bytes,
            piece_len: meta.metainfo.info.piece_length,
            _dir: dir,
        }
    }

    /// Still running, metrics answer, and a fresh peer downloads everything byte-exact.
    pub async fn assert_healthy(&mut self) {
        assert!(
            self.child.child.try_wait().unwrap().is_none(),
            "the seeder process exited"
        );
        let (status, _) = http_get(self.admin, "/health").await;
        assert!(status.contains(" 200 "), "{status}");
        let mut c = Client::handshake(self.peer, self.ih).await;
        let got = c
            .download(self.bytes.len() as u64, self.piece_len, 64)
            .await;
        assert!(got == self.bytes, "a normal peer downloads byte-exact");
    }

    pub async fn metric(&self, prefix: &str) -> f64 {
        metric(&self.metrics_text().await, prefix)
    }

    pub async fn metrics_text(&self) -> String {
        String::from_utf8(http_get(self.admin, "/metrics").await.1).unwrap()
    }

    /// Waits (bounded) until the metric `prefix` reads a value that is `ok`.
    pub async fn metric_becomes(&self, prefix: &str, ok: impl Fn(f64) -> bool) -> bool {
        crate::daemon_util::eventually(|| async { ok(self.metric(prefix).await) }).await
    }

    /// A peer from `source` with a 4 KiB receive buffer, past its handshake (as `id`).
    async fn slow_reader(&self, source: &str, id: u8) -> Client {
        let mut c = Client::connect_from(self.peer, ip(source), Some(4096)).await;
        let ours =
            seedline_common::wire::Handshake::new(self.ih, seedline_common::PeerId([id; 20]));
        c.send_raw(&ours.encode()).await;
        c
    }
}

/// The metric of disconnects for `reason`.
fn disconnects(reason: &str) -> String {
    format!("seedline_seeder_disconnects_total{{reason=\"{reason}\"}}")
}

/// Lines the child writes to stderr, read in a thread so reads can time out; the rest of
/// its output is drained so the child never blocks on a full pipe.
fn stderr_lines(child: &mut KillOnDrop) -> mpsc::Receiver<String> {
    use std::io::BufRead;
    let stderr = child.child.stderr.take().expect("stderr is piped");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            let _ = tx.send(line);
        }
    });
    rx
}

/// Issue 13, finding 1: an extended handshake nested 20 000 lists deep overflowed the
/// decoder's stack and aborted the process (and its embedded tracker).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deeply_nested_extended_handshake_is_refused_not_a_crash() {
    let mut s = SeederProcess::start(&[]);
    for depth in [16_000, 20_000] {
        let mut payload = b"d1:x".to_vec();
        payload.resize(4 + depth, b'l');
        let mut c = Client::handshake(s.peer, s.ih).await;
        c.send(Message::Extended {
            id: EXTENDED_HANDSHAKE_ID,
            payload: &payload,
        })
        .await;
        if depth > 17_000 {
            // Over the extended-message cap: the connection ends.
            c.expect_closed().await;
        } else {
            // Within it: unreadable, which only means no extensions for this peer.
            c.send(Message::KeepAlive).await;
        }
        s.assert_healthy().await;
    }
    // The longer one is over the extended-message cap and ends its connection.
    assert!(
        s.metric_becomes(&disconnects("protocol_error"), |v| v >= 1.0)
            .await,
        "the oversized extended message is a protocol error"
    );
}

fn ip(s: &str) -> std::net::IpAddr {
    s.parse().unwrap()
}

/// Issue 13, finding 5: one host could open every peer slot and never read. Now it gets
/// `max_peers_per_address`; the rest are closed at accept and a normal peer downloads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_cannot_take_every_peer_slot() {
    let mut s = SeederProcess::start(&["--max-peers-per-address", "8"]);
    let mut held = Vec::new();
    for _ in 0..600 {
        held.push(s.slow_reader("127.0.0.50", 7).await);
    }
    assert!(
        s.metric_becomes(&disconnects("address_limit"), |v| v == 592.0)
            .await,
        "592 of 600 refused: {}",
        s.metrics_text().await
    );
    assert!(
        s.metric_becomes("seedline_seeder_peers_connected", |v| v == 8.0)
            .await,
        "the address's 8 connections are peers"
    );
    // What they hold is counted (a read buffer each, at least 4 KiB) and bounded by the
    // budget (512 KiB each beyond two bitfields).
    let held_bytes = s.metric("seedline_seeder_peer_memory_bytes").await;
    assert!(
        (8.0 * 4096.0..=8.0 * 600.0 * 1024.0).contains(&held_bytes),
        "{held_bytes}"
    );
    s.assert_healthy().await;
    drop(held);
}

/// A flood of connections that never send their handshake holds at most
/// `max_handshakes` places, the newest ones: each new connection takes the place of the
/// oldest, so a normal peer is served during the flood, and metrics answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handshake_flood_is_bounded() {
    let mut s =
        SeederProcess::start(&["--max-handshakes", "32", "--max-peers-per-address", "1000"]);
    let mut held = Vec::new();
    for _ in 0..300 {
        held.push(Client::connect_from(s.peer, ip("127.0.0.51"), None).await);
    }
    assert!(
        s.metric_becomes(&disconnects("handshake_evicted"), |v| v == 268.0)
            .await,
        "268 of 300 gave way to newer ones"
    );
    let (status, _) = http_get(s.admin, "/health").await;
    assert!(status.contains(" 200 "), "{status}");
    // The flood still holds 32 places, and a normal peer is served all the same.
    s.assert_healthy().await;
    drop(held);
}

/// A peer that asks for blocks and never reads them is dropped once a write has made no
/// progress for `write_timeout`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_never_reads_is_dropped_at_the_write_timeout() {
    let mut s = SeederProcess::start(&["--write-timeout", "2"]);
    let mut c = s.slow_reader("127.0.0.52", 8).await;
    c.send(Message::Interested).await;
    // 1 900 requests for the same block: 30 MiB of replies, more than any socket buffer.
    let block = seedline_common::wire::BlockRequest {
        index: 0,
        begin: 0,
        length: 16 * 1024,
    };
    // Give the choker a moment to unchoke (it does at once while slots are free).
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut burst = Vec::new();
    for _ in 0..1_900 {
        Message::Request(block).encode(&mut burst);
    }
    c.send_raw(&burst).await;
    assert!(
        s.metric_becomes(&disconnects("write_timeout"), |v| v == 1.0)
            .await,
        "dropped at the write timeout: {}",
        s.metrics_text().await
    );
    s.assert_healthy().await;
}

/// Each block of piece `index` as the seeder answers it: `Some(data)` or `None` for a
/// reject. The client must be unchoked and speak the Fast extension.
async fn fetch_piece(c: &mut Client, index: u32, len: u64) -> Vec<Option<Vec<u8>>> {
    use seedline_common::wire::BlockRequest;
    let blocks: Vec<BlockRequest> = (0..len.div_ceil(16_384))
        .map(|b| BlockRequest {
            index,
            begin: (b * 16_384) as u32,
            length: (len - b * 16_384).min(16_384) as u32,
        })
        .collect();
    for b in &blocks {
        c.send(Message::Request(*b)).await;
    }
    let mut got = vec![None; blocks.len()];
    let mut answered = 0;
    while answered < blocks.len() {
        let crate::peer_client::Got::Msg(frame) = c.next().await else {
            panic!("closed while fetching");
        };
        match Message::decode(&frame, u32::MAX).unwrap().unwrap().0 {
            Message::Piece { begin, data, .. } => {
                got[begin as usize / 16_384] = Some(data.to_vec());
                answered += 1;
            }
            Message::Reject(_) => answered += 1,
            _ => {}
        }
    }
    got
}

/// Issue 13, finding 6, and issue 14, item 2: a byte flipped in place in served
/// content (same size) was served as it was, and clients then ban the origin; once
/// refused, the piece stayed advertised and stalled every client at 99%. The change is
/// seen at the next read and its pieces are hashed again: good ones are served, the bad
/// one makes the torrent damaged (peers dropped, no new ones, a state and a metric), and
/// once the byte is back the whole torrent is served again, byte-exact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn content_changed_in_place_is_never_served() {
    use std::os::unix::fs::FileExt;
    let mut s = SeederProcess::start(&["--rescan-interval", "1"]);
    // Prove every piece good by downloading everything once.
    s.assert_healthy().await;
    let listed = |n: u32| {
        let (tracker, ih) = (s.tracker, s.ih);
        crate::daemon_util::eventually(move || async move {
            crate::daemon_util::scrape(tracker, ih)
                .await
                .is_some_and(|st| st.complete == n)
        })
    };
    assert!(listed(1).await, "the origin is announced");
    let file = s._dir.path().join("rel/sub/b.bin");
    let f = std::fs::OpenOptions::new().write(true).open(&file).unwrap();
    // b.bin starts at byte 100 000 of the release; with 64 KiB pieces, byte 131 077 is
    // in piece 2. Piece 1 ends in b.bin too: it is hashed again, found good, served.
    let at = 131_077 - 100_000;
    let original = s.bytes[131_077];
    f.write_all_at(&[original ^ 0xff], at as u64).unwrap();
    let piece =
        |p: u32| &s.bytes[p as usize * 65_536..((p as usize + 1) * 65_536).min(s.bytes.len())];

    let mut c = Client::handshake(s.peer, s.ih).await;
    c.send(Message::Interested).await;
    c.until(|m| matches!(m, Message::Unchoke)).await;
    // The read that finds the change is refused; piece 1 is then hashed again, found
    // good and served.
    let mut served = 0;
    for _ in 0..2 {
        let got = fetch_piece(&mut c, 1, piece(1).len() as u64).await;
        for (b, data) in got.iter().enumerate() {
            if let Some(d) = data {
                assert!(d[..] == piece(1)[b * 16_384..][..d.len()], "block {b}");
                served += 1;
            }
        }
    }
    assert!(served >= 4, "piece 1 is still served: {served} blocks");
    // Asking for the changed piece: no byte of it comes back, and the torrent turns
    // damaged, which ends the connection.
    c.send(Message::Request(seedline_common::wire::BlockRequest {
        index: 2,
        begin: 0,
        length: 16_384,
    }))
    .await;
    while let crate::peer_client::Got::Msg(frame) = c.next().await {
        assert!(
            !matches!(
                Message::decode(&frame, u32::MAX).unwrap().unwrap().0,
                Message::Piece { .. }
            ),
            "a block of the changed piece was served"
        );
    }
    assert!(s.metric("seedline_seeder_content_changes_total").await >= 1.0);
    assert_eq!(
        s.metric("seedline_seeder_torrents{state=\"damaged\"}")
            .await,
        1.0
    );
    assert!(
        s.metric_becomes(&disconnects("torrent_not_served"), |v| v == 1.0)
            .await,
        "its peer was dropped"
    );
    assert!(listed(0).await, "withdrawn from the tracker (stopped)");

    // The data is right again: the next look at the files (every rescan_interval) sees
    // the change, every piece is hashed again, and the torrent is served whole.
    f.write_all_at(&[original], at as u64).unwrap();
    assert!(
        s.metric_becomes("seedline_seeder_torrents{state=\"seeding\"}", |v| v == 1.0)
            .await,
        "served again once restored"
    );
    assert!(listed(1).await, "announced again");
    s.assert_healthy().await;
}
