//! The swarm-store interface: what the core asks of wherever swarms live, on the request
//! path. The in-memory [`Store`] (a sharded map in this process) implements it;
//! a store on another engine (Redis, for several tracker instances sharing swarms)
//! implements it too. Every method returns a future so that such a store can await its
//! round trips; the in-memory one does its work before returning a ready future, so it
//! pays nothing for the shape, and no swarm guard is ever held across an `.await`.
//!
//! Peers are picked by the store and handed to the front end's [`PeerSink`]: the
//! in-memory store while it holds the swarm's guard, a remote one as its reply arrives.
//!
//! Registrations, the state file and expiry stay with the concrete store for now: the
//! in-memory store is swept by the tracker (`server.rs`), while a shared store expires
//! entries itself and shares registrations between instances.

use std::future::{ready, Future};
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use seedline_common::{InfoHash, ScrapeStats};

use crate::sink::PeerSink;
use crate::store::{AnnounceEffect, ReplyParams, Store, StoreError};
use crate::swarm::PeerAnnounce;

pub trait SwarmStore: Send + Sync {
    /// Applies one announce to `ih`'s swarm and hands the reply, at most `p.numwant`
    /// peers of the announcer's family, to `sink`.
    fn announce<S: PeerSink + Send>(
        &self,
        ih: InfoHash,
        a: &PeerAnnounce,
        p: &ReplyParams,
        sink: &mut S,
    ) -> impl Future<Output = Result<AnnounceEffect, StoreError>> + Send;

    /// The counts of each of `hashes`, in order; `None` for a torrent the store does
    /// not hold.
    fn scrape(
        &self,
        hashes: &[InfoHash],
    ) -> impl Future<Output = Result<Vec<Option<ScrapeStats>>, StoreError>> + Send;
}

impl SwarmStore for Store {
    fn announce<S: PeerSink + Send>(
        &self,
        ih: InfoHash,
        a: &PeerAnnounce,
        p: &ReplyParams,
        sink: &mut S,
    ) -> impl Future<Output = Result<AnnounceEffect, StoreError>> + Send {
        ready(Store::announce(self, ih, a, p, &mut rand::rng(), sink))
    }

    fn scrape(
        &self,
        hashes: &[InfoHash],
    ) -> impl Future<Output = Result<Vec<Option<ScrapeStats>>, StoreError>> + Send {
        ready(Ok(hashes.iter().map(|h| self.stats(h)).collect()))
    }
}

/// The value of a future built only on the in-memory store, which is ready at its first
/// poll: the HTTP front end answers without handing hyper an async state machine, which
/// cost 3-4% more instructions per announce than this (`caps-instructions.sh`). A front
/// end for a store that awaits (the scale-out issue) awaits instead.
pub(crate) fn ready_now<F: Future>(f: F) -> F::Output {
    match pin!(f).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => unreachable!("the in-memory store never makes a request wait"),
    }
}
