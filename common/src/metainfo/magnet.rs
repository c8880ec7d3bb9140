//! Magnet links (BEP 9): `xt` (the v1 info hash `urn:btih:`, the v2 one `urn:btmh:`, or
//! both for a hybrid), `dn`, `tr` per tracker, `ws` per web seed.

use super::model::Metainfo;
use crate::id::InfoHash;

impl Metainfo {
    /// The magnet link for this torrent, given its info hash. Trackers appear once each,
    /// tier by tier, in order.
    pub fn magnet(&self, info_hash: &InfoHash) -> String {
        let mut trackers: Vec<String> = Vec::new();
        for url in self.tiers().into_iter().flatten() {
            if !trackers.contains(&url) {
                trackers.push(url);
            }
        }
        magnet_link(info_hash, &self.info.name, &trackers, &self.url_list)
    }

    /// The magnet link of a v2 torrent (`v1` is `None`) or a hybrid: `urn:btmh:` is the
    /// SHA-256 info hash as a multihash (`0x12` SHA2-256, `0x20` bytes).
    pub fn magnet_v2(&self, v1: Option<&InfoHash>, v2: &[u8; 32]) -> String {
        let hex: String = v2.iter().map(|b| format!("{b:02x}")).collect();
        let btmh = format!("urn:btmh:1220{hex}");
        let link = self.magnet(v1.unwrap_or(&InfoHash([0; 20])));
        let rest = &link[link.find("&dn=").expect("a name")..];
        match v1 {
            Some(h) => format!("magnet:?xt=urn:btih:{}&xt={btmh}{rest}", h.to_hex()),
            None => format!("magnet:?xt={btmh}{rest}"),
        }
    }
}

/// Builds `magnet:?xt=urn:btih:<hex>&dn=<name>&tr=<url>...&ws=<url>...`, percent-encoding
/// every value so URLs with their own `&` or `?` survive.
pub fn magnet_link(
    info_hash: &InfoHash,
    name: &str,
    trackers: &[String],
    webseeds: &[String],
) -> String {
    let mut s = format!("magnet:?xt=urn:btih:{}&dn=", info_hash.to_hex());
    percent_encode(&mut s, name);
    for (key, values) in [("tr", trackers), ("ws", webseeds)] {
        for v in values {
            s.push('&');
            s.push_str(key);
            s.push('=');
            percent_encode(&mut s, v);
        }
    }
    s
}

/// RFC 3986: everything but the unreserved characters is escaped, byte by byte.
fn percent_encode(out: &mut String, value: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in value.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden() {
        let hash: InfoHash = "7421d848890fe54f2c289e7261ceea48b2337146".parse().unwrap();
        let link = magnet_link(
            &hash,
            "My release ü",
            &[
                "http://t.example/announce?k=a&b".into(),
                "udp://u.example:6969".into(),
            ],
            &["https://cdn.example/f/".into()],
        );
        assert_eq!(
            link,
            "magnet:?xt=urn:btih:7421d848890fe54f2c289e7261ceea48b2337146\
             &dn=My%20release%20%C3%BC\
             &tr=http%3A%2F%2Ft.example%2Fannounce%3Fk%3Da%26b\
             &tr=udp%3A%2F%2Fu.example%3A6969\
             &ws=https%3A%2F%2Fcdn.example%2Ff%2F"
        );
    }

    #[test]
    fn bare() {
        let link = magnet_link(&InfoHash([0xab; 20]), "x", &[], &[]);
        assert_eq!(
            link,
            format!("magnet:?xt=urn:btih:{}&dn=x", "ab".repeat(20))
        );
    }
}
