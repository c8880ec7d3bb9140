//! The announce and scrape paths: a parsed query checked against the access list and
//! the origins, applied to the store, and the reply written in one pass.

use std::net::{IpAddr, SocketAddr};

use bytes::Bytes;
use rand::Rng;
use seedline_common::peer::canonical_ip;
use seedline_common::{AnnounceRequest, ScrapeRequest};

use crate::http::{failed, Failed};
use crate::store::ReplyParams;
use crate::swarm::{peer_addr, PeerAnnounce, PeerForm};
use crate::tracker::Tracker;

impl Tracker {
    pub(crate) fn announce(
        &self,
        client: IpAddr,
        peer: SocketAddr,
        query: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), Failed> {
        let a = AnnounceRequest::parse_query(query).map_err(|e| failed(e.kind(), e))?;
        self.access
            .check(&a.info_hash)
            .map_err(|e| failed(e.kind(), e))?;
        // `ip_param_from` is about the connection: a request relayed by a proxy is
        // never believed, whatever the proxy's address (config refuses an overlap too).
        let direct = canonical_ip(peer.ip());
        let ip = match a.ip {
            Some(ip)
                if self.cfg.allow_ip_param
                    || (client == direct
                        && !self.proxies.contains(direct)
                        && self.cfg.ip_param_from.iter().any(|n| n.contains(&direct))) =>
            {
                canonical_ip(ip)
            }
            _ => client,
        };
        let mut rng = rand::rng();
        let jitter = if self.cfg.interval_jitter > 0 {
            rng.random_range(0..=self.cfg.interval_jitter)
        } else {
            0
        };
        let params = ReplyParams {
            interval: self.cfg.interval + jitter,
            min_interval: Some(self.cfg.min_interval),
            external_ip: Some(client),
            numwant: a
                .numwant
                .unwrap_or(self.cfg.numwant_default)
                .min(self.cfg.numwant_max) as usize,
            form: if a.compact {
                PeerForm::Compact
            } else {
                PeerForm::Dict {
                    peer_id: !a.no_peer_id,
                }
            },
        };
        let addr = peer_addr(ip, a.port);
        let (origin, origin_by_address) = self.origins.recognise(&addr, &a.peer_id);
        let pa = PeerAnnounce {
            addr,
            peer_id: a.peer_id,
            event: a.event,
            seeder: a.is_seeder(),
            origin,
            origin_by_address,
            now: self.now(),
        };
        let effect = self
            .store
            .announce(a.info_hash, &pa, &params, &mut rng, out)
            .map_err(|e| failed(e.kind(), e))?;
        if effect.origins_sent > 0 {
            self.metrics
                .ops
                .origins_sent
                .inc_by(effect.origins_sent as u64);
        }
        if effect.completed {
            self.metrics.completed.inc();
        }
        if let Some(why) = effect.not_stored {
            self.metrics
                .peers_not_stored
                .with_label_values(&[why.kind()])
                .inc();
        }
        Ok(())
    }

    /// Writes a scrape reply into `out`, or returns a cached full scrape.
    pub(crate) fn scrape(&self, query: &[u8], out: &mut Vec<u8>) -> Result<Option<Bytes>, Failed> {
        let mut s = ScrapeRequest::parse_query(query, self.cfg.scrape_max_hashes)
            .map_err(|e| failed(e.kind(), e))?;
        if !s.info_hashes.is_empty() {
            // Refused torrents are left out like unknown ones; refused alone, they fail.
            let mut refused = None;
            s.info_hashes.retain(|h| match self.access.check(h) {
                Ok(()) => true,
                Err(e) => {
                    refused = Some(e);
                    false
                }
            });
            if let (true, Some(e)) = (s.info_hashes.is_empty(), refused) {
                return Err(failed(e.kind(), e));
            }
            self.store.scrape(&s.info_hashes, out);
            Ok(None)
        } else if self.cfg.full_scrape {
            Ok(Some(self.full_scrape.get(&self.store, &self.metrics.ops)))
        } else {
            Err(failed(
                "full_scrape_disabled",
                "full scrape is disabled; pass info_hash",
            ))
        }
    }
}
