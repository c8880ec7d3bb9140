//! Fuzz entry points for the tracker's decoders of untrusted bytes: raw HTTP/1.1 requests
//! served end to end, the state file and the access-list file.
//!
//! They are ordinary functions so that `fuzz/` (cargo-fuzz, nightly) and the stable test
//! suite, which replays every committed corpus file through them, run the same code.
//! [`serve_public_io`] serves a public connection on any byte stream (the fuzzer uses an
//! in-memory pipe) the way `server` serves a TCP connection, minus the shutdown drain.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use seedline_common::bencode::value;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::runtime::Runtime;

use crate::config::Config;
use crate::metrics::Metrics;
use crate::state_file::{self, Writer};
use crate::tracker::Tracker;
use seedline_process::idle_io::IdleIo;

/// Serves one public HTTP/1.1 connection on `io` until the peer closes it or it times
/// out, with the limits `server` applies to a TCP connection. Unlike `server`, requests
/// that arrived before the client closed its side are still answered.
pub async fn serve_public_io<I>(tracker: Arc<Tracker>, io: I, peer: SocketAddr) -> hyper::Result<()>
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let cfg = tracker.config();
    let limits = crate::server::deadlines(cfg, &tracker.metrics);
    let io = TokioIo::new(IdleIo::new(io, limits));
    let max_buf = cfg.max_request_head;
    let t = tracker.clone();
    let svc = service_fn(move |req| {
        let reply = crate::swarm_store::ready_now(t.handle_public(&req, peer));
        std::future::ready(Ok::<_, Infallible>(reply))
    });
    http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(None)
        .keep_alive(true)
        // The fuzzer closes its side right after the request; a client that waits for
        // the reply instead would get the same bytes.
        .half_close(true)
        .max_buf_size(max_buf)
        .serve_connection(io, svc)
        .await
}

/// A connection still open this long after the client closed its side is a bug.
const CLOSE_WITHIN: Duration = Duration::from_secs(10);

/// `tracker_request` target: `data` is everything a client sends on one connection
/// before closing its side. Every reply must be well-formed HTTP/1.1, never a 5xx, and a
/// bencoded body must be strict bencode.
pub fn tracker_request(data: &[u8]) {
    let (rt, tracker) = fixture();
    // Behind a proxy every request carries its header; direct clients send none.
    let proxied = [&b"x-forwarded-for:"[..], b"x-real-ip:"]
        .iter()
        .any(|h| data.windows(h.len()).any(|w| w.eq_ignore_ascii_case(h)));
    let peer = match proxied {
        true => SocketAddr::from(([10, 0, 0, 1], 40000)),
        false => SocketAddr::from(([192, 0, 2, 9], 40000)),
    };
    let reply = rt.block_on(async {
        let (client, server) = tokio::io::duplex(64 * 1024);
        // Not spawned: a panic in the handler must reach the fuzzer (and the replay test).
        let conn = serve_public_io(tracker.clone(), server, peer);
        let (mut rd, mut wr) = tokio::io::split(client);
        let write = async {
            // The server may close early (a bad request): later bytes go nowhere.
            let _ = wr.write_all(data).await;
            let _ = wr.shutdown().await;
        };
        let mut reply = Vec::new();
        let read = rd.read_to_end(&mut reply);
        let all = async { tokio::join!(conn, write, read) };
        let (_, (), read) = tokio::time::timeout(CLOSE_WITHIN, all)
            .await
            .expect("the connection ends once the client has closed its side");
        read.expect("an in-memory pipe does not fail");
        reply
    });
    // httparse skips empty lines before the request line.
    check_first_reply(&reply, data.trim_ascii_start().starts_with(b"HEAD "));
}

/// Checks the first response of `reply`, the one whose start is known for sure.
fn check_first_reply(reply: &[u8], head_request: bool) {
    if reply.is_empty() {
        return;
    }
    let end = find(reply, b"\r\n\r\n").expect("a complete response head") + 4;
    let head = std::str::from_utf8(&reply[..end]).expect("an ASCII response head");
    let status = head.split("\r\n").next().unwrap_or_default();
    // An HTTP/1.0 request gets an HTTP/1.0 reply.
    let code = status
        .strip_prefix("HTTP/1.1 ")
        .or_else(|| status.strip_prefix("HTTP/1.0 "))
        .and_then(|s| s.get(..3))
        .unwrap_or_else(|| panic!("bad status line {status:?}"));
    assert!(!code.starts_with('5'), "server error: {status}");
    let header = |name: &str| {
        head.split("\r\n").find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    };
    if head_request || header("content-type") != Some("text/plain") {
        return;
    }
    let len: usize = header("content-length")
        .and_then(|v| v.parse().ok())
        .expect("a bencoded reply has a length");
    let body = reply.get(end..end + len).expect("the whole body arrived");
    if let Err(e) = value::decode(body) {
        panic!("reply body is not strict bencode ({e}): {body:?}");
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// One tracker and one current-thread runtime for the whole process, so each input
/// costs a request rather than a tracker. Swarms persist between inputs, as they do
/// between a real tracker's requests.
fn fixture() -> &'static (Runtime, Arc<Tracker>) {
    static FIXTURE: OnceLock<(Runtime, Arc<Tracker>)> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let cfg = Config {
            listen: vec![SocketAddr::from(([127, 0, 0, 1], 0))],
            admin_listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            interval_jitter: 0,
            // Reach the proxy-header and `ip` parameter paths too.
            trusted_proxies: vec!["10.0.0.0/8".parse().expect("a network")],
            allow_ip_param: true,
            keep_peer_ids: true,
            full_scrape: true,
            origin_peer_id_prefixes: vec!["-SL".into()],
            // Bounded memory over millions of inputs with random info hashes.
            max_torrents: 10_000,
            max_peers_per_torrent: 1_000,
            ..Config::default()
        };
        seedline_process::settings::Settings::validate(&cfg).expect("fuzz config is valid");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("a runtime");
        (rt, Arc::new(Tracker::new(&cfg, Metrics::new())))
    })
}

/// `state_file` target: the decoder never panics, and whatever it recovers re-encodes to
/// a file that decodes to the same state without problems. Sections are checksummed,
/// which a fuzzer cannot forge, so `data` is also read as one section body under a
/// valid header and checksum (its first byte is the tag).
pub fn state_file(data: &[u8]) {
    round_trip(data);
    if let Some((&tag, payload)) = data.split_first() {
        round_trip(&sealed(tag, payload));
    }
}

fn round_trip(file: &[u8]) {
    let d = state_file::decode(file);
    let again = state_file::decode(&state_file::encode(&d.state));
    assert!(again.problems.is_empty(), "{:?}", again.problems);
    assert_eq!(again.state, d.state);
}

/// A state file holding one section (`tag`, `payload`) with a correct checksum, then
/// the end marker.
fn sealed(tag: u8, payload: &[u8]) -> Vec<u8> {
    use sha1::{Digest, Sha1};
    // An empty file is the header and the end marker (tag, length, checksum).
    let empty = Writer::new().finish();
    let header = &empty[..empty.len() - (1 + 8 + 20)];
    let mut out = header.to_vec();
    let start = out.len();
    out.push(tag);
    out.extend_from_slice(&(payload.len() as u64).to_be_bytes());
    out.extend_from_slice(payload);
    let sum = Sha1::digest(&out[start..]);
    out.extend_from_slice(&sum);
    out.extend_from_slice(&empty[header.len()..]);
    out
}

/// `access_list` target: a list file that parses lists the same hashes when written
/// back one per line.
pub fn access_list(data: &[u8]) {
    // The tracker reads the file as UTF-8 and refuses it otherwise.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(set) = crate::access::parse_list(text) else {
        return;
    };
    let written: String = set.iter().map(|h| format!("{h}\n")).collect();
    let again = crate::access::parse_list(&written).expect("written list parses");
    assert_eq!(again, set);
}

/// `swarm_ops` target: every 3 bytes of `data` are one announce to one swarm, so lists
/// move between peers kept in place and boxed, past the position index, and IPv6 comes
/// and goes (`swarm::slots` is one of the modules allowed `unsafe`). First byte: IPv6
/// (bit 7) and host (bits 0-6); second: the port; third: the event (bits 0-1), seeder
/// (bit 2), origin (bit 3), and 0xff drops the swarm. The stored addresses must match a
/// model, and the swarm's invariants hold after every step.
pub fn swarm_ops(data: &[u8]) {
    use std::collections::HashSet;
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

    use crate::swarm::{PeerAnnounce, Swarm};
    use seedline_common::{Event, PeerId};

    let keep_ids = data.first().is_some_and(|b| b & 1 == 1);
    let mut swarm = Swarm::default();
    let mut model = HashSet::new();
    for (now, op) in (0u32..).zip(data.chunks_exact(3)) {
        let (host, port, what) = (op[0], op[1], op[2]);
        if what == 0xff {
            swarm = Swarm::default();
            model.clear();
            continue;
        }
        let ip = if host & 0x80 == 0 {
            IpAddr::V4(Ipv4Addr::new(10, 0, 0, host))
        } else {
            IpAddr::V6(Ipv6Addr::new(
                0x2001,
                0xdb8,
                0,
                u16::from(host & 0x7f),
                0,
                0,
                0,
                1,
            ))
        };
        let addr = SocketAddr::new(ip, 1024 + u16::from(port));
        let event = [
            Event::None,
            Event::Started,
            Event::Completed,
            Event::Stopped,
        ][usize::from(what & 3)];
        let announce = PeerAnnounce {
            addr,
            peer_id: PeerId([port; 20]),
            event,
            seeder: what & 4 != 0,
            origin: what & 8 != 0,
            origin_by_address: what & 8 != 0,
            now,
        };
        swarm.announce(&announce, usize::MAX, keep_ids, &());
        if event == Event::Stopped {
            model.remove(&addr);
        } else {
            model.insert(addr);
        }
        swarm.check_invariants();
        let stored: HashSet<SocketAddr> = swarm.addrs().map(|(a, _)| a).collect();
        assert_eq!(stored, model);
        assert_eq!(swarm.peer_count(), model.len());
    }
}
