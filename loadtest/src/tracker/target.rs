//! The tracker under test: an `http://IP:PORT[/path]` or `udp://IP:PORT` URL, resolved
//! without DNS.
//!
//! Only literal addresses (and `localhost`) are accepted, so that what is checked against
//! the loopback rule is exactly what is connected to.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// Why a `--target` cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("target {0:?} must start with http:// or udp:// (https is not supported)")]
    Scheme(String),
    #[error("target {0:?} must name an IP address and port, e.g. http://127.0.0.1:6969 or http://[::1]:6969")]
    Address(String),
    #[error("target {0} is not a loopback address; pass --allow-remote to load another host (only ever a host you run)")]
    NotLoopback(SocketAddr),
}

/// Where requests go and what they look like on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub addr: SocketAddr,
    /// The `Host` header value.
    pub host: String,
    /// Path of announce requests, `/announce` unless the URL gives one.
    pub announce_path: String,
    /// BEP 48: the announce path with its last `announce` replaced by `scrape`.
    pub scrape_path: String,
    /// A UDP tracker (BEP 15): `udp://`.
    pub udp: bool,
}

impl Target {
    /// Parses `url`; a non-loopback address is refused unless `allow_remote`.
    pub fn parse(url: &str, allow_remote: bool) -> Result<Self, TargetError> {
        let (rest, udp) = match (url.strip_prefix("http://"), url.strip_prefix("udp://")) {
            (Some(r), _) => (r, false),
            (_, Some(r)) => (r, true),
            _ => return Err(TargetError::Scheme(url.into())),
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        let addr = parse_authority(authority).ok_or_else(|| TargetError::Address(url.into()))?;
        if !addr.ip().is_loopback() && !allow_remote {
            return Err(TargetError::NotLoopback(addr));
        }
        let announce_path = if path.is_empty() || path == "/" {
            "/announce".to_string()
        } else {
            path.to_string()
        };
        let scrape_path = match announce_path.rfind("announce") {
            Some(i) => format!("{}scrape{}", &announce_path[..i], &announce_path[i + 8..]),
            None => "/scrape".to_string(),
        };
        Ok(Self {
            addr,
            host: authority.to_string(),
            announce_path,
            scrape_path,
            udp,
        })
    }
}

fn parse_authority(a: &str) -> Option<SocketAddr> {
    if let Ok(addr) = a.parse::<SocketAddr>() {
        return Some(addr);
    }
    let (host, port) = a.rsplit_once(':')?;
    let port: u16 = port.parse().ok()?;
    let ip = match host {
        "localhost" => IpAddr::V4(Ipv4Addr::LOCALHOST),
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_v4_v6_paths() {
        let t = Target::parse("http://127.0.0.1:6969", false).unwrap();
        assert_eq!(t.addr, "127.0.0.1:6969".parse().unwrap());
        assert_eq!(t.host, "127.0.0.1:6969");
        assert_eq!(t.announce_path, "/announce");
        assert_eq!(t.scrape_path, "/scrape");
        let t = Target::parse("http://[::1]:80/tr/announce.php?x=1", false).unwrap();
        assert_eq!(t.addr, "[::1]:80".parse().unwrap());
        assert_eq!(t.announce_path, "/tr/announce.php?x=1");
        assert_eq!(t.scrape_path, "/tr/scrape.php?x=1");
        let t = Target::parse("http://localhost:1/", false).unwrap();
        assert_eq!(t.addr, "127.0.0.1:1".parse().unwrap());
        assert!(!t.udp);
        let t = Target::parse("udp://[::1]:6969", false).unwrap();
        assert!(t.udp);
        assert_eq!(t.addr, "[::1]:6969".parse().unwrap());
    }

    #[test]
    fn refuses_remote_and_junk() {
        assert_eq!(
            Target::parse("http://10.0.0.1:6969", false),
            Err(TargetError::NotLoopback("10.0.0.1:6969".parse().unwrap()))
        );
        assert!(Target::parse("http://10.0.0.1:6969", true).is_ok());
        assert!(matches!(
            Target::parse("https://127.0.0.1:1", false),
            Err(TargetError::Scheme(_))
        ));
        for bad in ["http://example.com:80", "http://127.0.0.1", "http://:80"] {
            assert!(
                matches!(Target::parse(bad, true), Err(TargetError::Address(_))),
                "{bad}"
            );
        }
    }
}
