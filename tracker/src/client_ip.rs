//! Which address an announce comes from.
//!
//! The socket address, unless the connection comes from a trusted reverse proxy: then
//! the rightmost `X-Forwarded-For` hop that is not itself a trusted proxy (everything to
//! its left was written by the client and may be forged), or else `X-Real-IP`.

use std::net::{IpAddr, SocketAddr};

use hyper::header::HeaderMap;
use ipnet::IpNet;
use seedline_common::peer::canonical_ip;

/// A trusted proxy sent no usable client address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ProxyError {
    #[error("request came through a proxy without X-Forwarded-For or X-Real-IP")]
    MissingHeader,
    #[error("proxy sent an X-Forwarded-For or X-Real-IP that is not an IP address")]
    BadHeader,
}

impl ProxyError {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::MissingHeader => "proxy_header_missing",
            Self::BadHeader => "proxy_header_invalid",
        }
    }
}

/// The trusted proxy networks.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    pub fn new(nets: Vec<IpNet>) -> Self {
        Self(nets)
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical_ip(ip);
        self.0.iter().any(|n| n.contains(&ip))
    }

    /// The client's IP for a request that arrived on a connection from `peer`.
    pub fn client_ip(&self, peer: SocketAddr, headers: &HeaderMap) -> Result<IpAddr, ProxyError> {
        let direct = canonical_ip(peer.ip());
        if self.0.is_empty() || !self.contains(direct) {
            return Ok(direct);
        }
        let mut leftmost = None;
        let mut seen_xff = false;
        // Several header lines are one list, in order; walk it from the right.
        let lines: Vec<_> = headers.get_all("x-forwarded-for").iter().collect();
        for line in lines.iter().rev() {
            seen_xff = true;
            let text = line.to_str().map_err(|_| ProxyError::BadHeader)?;
            for hop in text.rsplit(',') {
                let hop = hop.trim();
                if hop.is_empty() {
                    continue;
                }
                let ip = parse_hop(hop).ok_or(ProxyError::BadHeader)?;
                if !self.contains(ip) {
                    return Ok(ip);
                }
                leftmost = Some(ip);
            }
        }
        if let Some(ip) = leftmost {
            // Every hop was a proxy of ours: the first one is as close to the client as
            // we can know.
            return Ok(ip);
        }
        if seen_xff {
            return Err(ProxyError::BadHeader);
        }
        match headers.get("x-real-ip") {
            Some(v) => {
                let text = v.to_str().map_err(|_| ProxyError::BadHeader)?;
                parse_hop(text.trim()).ok_or(ProxyError::BadHeader)
            }
            None => Err(ProxyError::MissingHeader),
        }
    }
}

/// A hop is an address, optionally with a port (`1.2.3.4:80`, `[::1]:80`).
fn parse_hop(s: &str) -> Option<IpAddr> {
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(canonical_ip(ip));
    }
    s.parse::<SocketAddr>().ok().map(|a| canonical_ip(a.ip()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn trusted() -> TrustedProxies {
        TrustedProxies::new(vec![
            "10.0.0.0/8".parse().unwrap(),
            "::1/128".parse().unwrap(),
        ])
    }

    #[test]
    fn table() {
        let proxy: SocketAddr = "10.1.1.1:4000".parse().unwrap();
        let stranger: SocketAddr = "203.0.113.9:4000".parse().unwrap();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let cases: Vec<(SocketAddr, HeaderMap, Result<IpAddr, ProxyError>)> = vec![
            (
                stranger,
                headers(&[("x-forwarded-for", "1.1.1.1")]),
                Ok(ip("203.0.113.9")),
            ),
            (
                proxy,
                headers(&[("x-forwarded-for", "1.1.1.1")]),
                Ok(ip("1.1.1.1")),
            ),
            (
                proxy,
                headers(&[("x-forwarded-for", "6.6.6.6, 1.1.1.1, 10.2.2.2")]),
                Ok(ip("1.1.1.1")),
            ),
            (
                proxy,
                headers(&[
                    ("x-forwarded-for", "6.6.6.6"),
                    ("x-forwarded-for", "1.1.1.1"),
                ]),
                Ok(ip("1.1.1.1")),
            ),
            (
                proxy,
                headers(&[("x-forwarded-for", "10.9.9.9, 10.2.2.2")]),
                Ok(ip("10.9.9.9")),
            ),
            (
                proxy,
                headers(&[("x-forwarded-for", "1.1.1.1:555")]),
                Ok(ip("1.1.1.1")),
            ),
            (
                proxy,
                headers(&[("x-forwarded-for", "[2001:db8::1]:555")]),
                Ok(ip("2001:db8::1")),
            ),
            (
                proxy,
                headers(&[("x-forwarded-for", "::ffff:1.2.3.4")]),
                Ok(ip("1.2.3.4")),
            ),
            (
                proxy,
                headers(&[("x-real-ip", "2.2.2.2")]),
                Ok(ip("2.2.2.2")),
            ),
            (
                proxy,
                headers(&[("x-forwarded-for", "3.3.3.3"), ("x-real-ip", "2.2.2.2")]),
                Ok(ip("3.3.3.3")),
            ),
            (proxy, headers(&[]), Err(ProxyError::MissingHeader)),
            (
                proxy,
                headers(&[("x-forwarded-for", "not-an-ip")]),
                Err(ProxyError::BadHeader),
            ),
            (
                proxy,
                headers(&[("x-forwarded-for", " , ")]),
                Err(ProxyError::BadHeader),
            ),
            (
                proxy,
                headers(&[("x-real-ip", "localhost")]),
                Err(ProxyError::BadHeader),
            ),
            (
                "[::1]:1".parse().unwrap(),
                headers(&[("x-forwarded-for", "4.4.4.4")]),
                Ok(ip("4.4.4.4")),
            ),
            (
                "[::ffff:10.0.0.1]:1".parse().unwrap(),
                headers(&[("x-real-ip", "5.5.5.5")]),
                Ok(ip("5.5.5.5")),
            ),
        ];
        for (peer, h, want) in cases {
            assert_eq!(trusted().client_ip(peer, &h), want, "{peer} {h:?}");
        }
        assert_eq!(
            TrustedProxies::default().client_ip(proxy, &headers(&[])),
            Ok(ip("10.1.1.1"))
        );
    }
}
