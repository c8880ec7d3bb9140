//! A real tracker on 127.0.0.1:0 and a minimal HTTP/1.1 client that can also send bytes
//! no well-behaved client would.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use seedline_common::announce_response::Peers;
use seedline_common::{AnnounceRequest, AnnounceResponse, Event, InfoHash, PeerId};
use seedline_process::settings::Settings;
use seedline_tracker::{serve, Config, Listeners, Tracker};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub use seedline_testkit::metric;
use seedline_testkit::{connect_within, socket_from, Served};

/// Every wait in the suite is bounded by this.
pub const WAIT: Duration = Duration::from_secs(10);

pub struct TestServer {
    pub addrs: Vec<SocketAddr>,
    /// The UDP addresses (`udp_listen`), once each.
    pub udp: Vec<SocketAddr>,
    pub admin: SocketAddr,
    pub tracker: Arc<Tracker>,
    pub task: Served<()>,
}

/// A config for tests: loopback, ephemeral ports, no jitter.
pub fn test_config() -> Config {
    Config {
        listen: vec!["127.0.0.1:0".parse().unwrap()],
        admin_listen: "127.0.0.1:0".parse().unwrap(),
        interval_jitter: 0,
        ..Config::default()
    }
}

impl TestServer {
    pub async fn start(cfg: Config) -> Self {
        cfg.validate().expect("test config is valid");
        let listeners = Listeners::bind(&cfg).expect("bind");
        let addrs = listeners.public_addrs();
        let udp = listeners.udp_addrs();
        let admin = listeners.admin_addr().unwrap();
        let tracker = Arc::new(Tracker::new(
            &cfg,
            seedline_tracker::metrics::Metrics::new(),
        ));
        let task = Served::spawn(|token| serve(tracker.clone(), listeners, token));
        Self {
            addrs,
            udp,
            admin,
            tracker,
            task,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addrs[0]
    }

    /// Cancels and waits (bounded) for the server to finish.
    pub async fn stop(self) {
        self.task.stop(WAIT).await;
    }

    pub async fn metrics(&self) -> String {
        let r = get(self.admin, "/metrics").await;
        assert_eq!(r.status, 200);
        String::from_utf8(r.body).unwrap()
    }

    /// Asserts the server still answers.
    pub async fn assert_healthy(&self) {
        let r = get(self.addr(), "/health").await;
        assert_eq!(r.status, 200, "server unhealthy");
    }
}

#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One GET on a fresh connection.
pub async fn get(addr: SocketAddr, target: &str) -> Response {
    get_with(addr, target, &[]).await
}

pub async fn get_with(addr: SocketAddr, target: &str, headers: &[(&str, &str)]) -> Response {
    let mut c = Conn::open(addr).await;
    c.send(target, headers).await;
    c.read_response().await.expect("a response")
}

/// One request of any method on a fresh connection.
pub async fn request(
    addr: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Response {
    let mut c = Conn::open(addr).await;
    c.send_request(method, target, headers, body).await;
    c.read_response().await.expect("a response")
}

/// A keep-alive connection.
pub struct Conn {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    pub async fn open(addr: SocketAddr) -> Self {
        Self::connected(TcpStream::connect(addr)).await
    }

    async fn connected(connect: impl Future<Output = std::io::Result<TcpStream>>) -> Self {
        Self {
            stream: connect_within(WAIT, connect).await,
            buf: Vec::new(),
        }
    }

    /// A connection from a chosen loopback source address (127.0.0.0/8 is all local),
    /// so the tracker sees another client.
    pub async fn open_from(addr: SocketAddr, source: std::net::IpAddr) -> Self {
        Self::connected(socket_from(source).connect(addr)).await
    }

    /// One request and its reply on this connection.
    pub async fn get(&mut self, target: &str) -> Response {
        self.send(target, &[]).await;
        self.read_response().await.expect("a response")
    }

    pub async fn send(&mut self, target: &str, headers: &[(&str, &str)]) {
        self.send_request("GET", target, headers, b"").await;
    }

    pub async fn send_request(
        &mut self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) {
        let mut req = format!("{method} {target} HTTP/1.1\r\nHost: tracker\r\n");
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        if !body.is_empty() || method != "GET" {
            req.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        req.push_str("\r\n");
        let mut bytes = req.into_bytes();
        bytes.extend_from_slice(body);
        self.stream.write_all(&bytes).await.unwrap();
    }

    pub async fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.unwrap();
    }

    /// Reads one response; `None` if the server closed first.
    pub async fn read_response(&mut self) -> Option<Response> {
        tokio::time::timeout(WAIT, self.read_inner())
            .await
            .expect("response in time")
    }

    async fn read_inner(&mut self) -> Option<Response> {
        loop {
            if let Some(end) = find(&self.buf, b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&self.buf[..end]).to_string();
                let mut lines = head.split("\r\n");
                let status: u16 = lines.next()?.split(' ').nth(1)?.parse().ok()?;
                let headers: Vec<(String, String)> = lines
                    .filter_map(|l| {
                        l.split_once(':')
                            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                    })
                    .collect();
                let len: usize = headers
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                    .map(|(_, v)| v.parse().unwrap())
                    .unwrap_or(0);
                while self.buf.len() < end + 4 + len {
                    if !self.fill().await {
                        return None;
                    }
                }
                let body = self.buf[end + 4..end + 4 + len].to_vec();
                self.buf.drain(..end + 4 + len);
                return Some(Response {
                    status,
                    headers,
                    body,
                });
            }
            if !self.fill().await {
                return None;
            }
        }
    }

    async fn fill(&mut self) -> bool {
        let mut tmp = [0u8; 4096];
        match self.stream.read(&mut tmp).await {
            Ok(0) | Err(_) => false,
            Ok(n) => {
                self.buf.extend_from_slice(&tmp[..n]);
                true
            }
        }
    }

    /// True once the server has closed the connection (EOF or reset), within [`WAIT`].
    pub async fn closed_by_server(&mut self) -> bool {
        let mut tmp = [0u8; 1024];
        matches!(
            tokio::time::timeout(WAIT, self.stream.read(&mut tmp)).await,
            Ok(Ok(0)) | Ok(Err(_))
        )
    }
}

fn find(h: &[u8], n: &[u8]) -> Option<usize> {
    h.windows(n.len()).position(|w| w == n)
}

/// An announce request with sensible values; tweak fields as needed.
pub fn announce(ih: u8, peer: u8, port: u16, left: u64, event: Event) -> AnnounceRequest {
    AnnounceRequest {
        info_hash: InfoHash([ih; 20]),
        peer_id: PeerId([peer; 20]),
        port,
        uploaded: 0,
        downloaded: 0,
        left,
        event,
        compact: true,
        no_peer_id: false,
        numwant: None,
        key: None,
        ip: None,
    }
}

pub fn announce_target(r: &AnnounceRequest) -> String {
    let mut q = Vec::new();
    r.write_query(&mut q);
    format!("/announce?{}", String::from_utf8(q).unwrap())
}

/// Polls `f` until it is true or [`WAIT`] passes.
pub async fn eventually<Fut: Future<Output = bool>>(f: impl FnMut() -> Fut) -> bool {
    seedline_testkit::eventually(WAIT, f).await
}

/// The peers of an announce reply, whatever their form.
pub fn reply_peers(body: &[u8]) -> Vec<SocketAddr> {
    match AnnounceResponse::decode(body)
        .expect("announce reply")
        .peers
    {
        Peers::Compact { v4, .. } => v4,
        Peers::Dict(d) => d.into_iter().map(|p| p.0).collect(),
    }
}
