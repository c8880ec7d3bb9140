//! Key names of one swarm. Every key carries the hash tag `{<info hash in hex>}`, so a
//! swarm's keys share a Redis Cluster slot and one script may use them all; hex, because
//! a raw hash could hold the `}` byte that ends a tag.

use seedline_common::InfoHash;

/// The sets of one family: origins, seeders, leechers, and the per-address counts.
const FAMILY: [&str; 4] = ["o", "s", "l", "h"];

pub struct SwarmKeys {
    /// `sl:{<hex>}:` — every key of the swarm starts with it.
    prefix: String,
}

impl SwarmKeys {
    pub fn new(ih: &InfoHash) -> Self {
        Self {
            prefix: format!("sl:{{{}}}:", ih.to_hex()),
        }
    }

    fn key(&self, name: &str, family: u8) -> String {
        format!("{}{name}{family}", self.prefix)
    }

    /// The swarm's hash (field `d`: completed downloads).
    pub fn counts(&self) -> String {
        format!("{}n", self.prefix)
    }

    /// What `announce.lua` takes: origins, seeders, leechers and holders of the
    /// announcer's family, the three sets of the other family, the swarm's hash.
    pub fn for_announce(&self, v6: bool) -> [String; 8] {
        let (own, other) = if v6 { (6, 4) } else { (4, 6) };
        [
            self.key(FAMILY[0], own),
            self.key(FAMILY[1], own),
            self.key(FAMILY[2], own),
            self.key(FAMILY[3], own),
            self.key(FAMILY[0], other),
            self.key(FAMILY[1], other),
            self.key(FAMILY[2], other),
            self.counts(),
        ]
    }

    /// What `scrape.lua` takes: the three sets of IPv4, of IPv6, the swarm's hash.
    pub fn for_scrape(&self) -> [String; 7] {
        [
            self.key(FAMILY[0], 4),
            self.key(FAMILY[1], 4),
            self.key(FAMILY[2], 4),
            self.key(FAMILY[0], 6),
            self.key(FAMILY[1], 6),
            self.key(FAMILY[2], 6),
            self.counts(),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_of_a_swarm_has_its_hash_tag() {
        let k = SwarmKeys::new(&InfoHash([0x7d; 20]));
        let tag = format!("{{{}}}", "7d".repeat(20));
        for key in k.for_announce(false).iter().chain(&k.for_scrape()) {
            assert!(key.starts_with(&format!("sl:{tag}:")), "{key}");
        }
        assert_eq!(k.for_announce(true)[0], format!("sl:{tag}:o6"));
        assert_eq!(k.for_announce(true)[4], format!("sl:{tag}:o4"));
        assert_eq!(k.for_announce(false)[3], format!("sl:{tag}:h4"));
    }
}
