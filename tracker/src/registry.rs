//! Registering torrents: what the admin API's `PUT`/`DELETE /api/torrents/{hash}` do, and
//! what an embedding process (the seeder's in-process tracker) calls directly.

use seedline_common::InfoHash;

use crate::tracker::Tracker;

/// Why a torrent could not be registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("registration limit reached (max_torrents = {0})")]
pub struct RegistrationLimit(pub usize);

impl Tracker {
    /// Registers `ih` (with a display name, and linked to the other swarm of the same
    /// release, see [`crate::access::Entry::linked`]): in `allow` mode it is tracked from
    /// now on, in any mode its entry and count are kept while it has no peers. Returns
    /// whether it is new; registrations are capped at `max_torrents`.
    pub fn register_torrent(
        &self,
        ih: InfoHash,
        name: Option<String>,
        linked: Option<InfoHash>,
    ) -> Result<bool, RegistrationLimit> {
        let cap = self.config().max_torrents;
        if self.access.registration(&ih).is_none() && self.access.registered_len() >= cap {
            return Err(RegistrationLimit(cap));
        }
        let new = self.access.register(ih, name, linked);
        self.store.ensure(ih);
        self.registrations_changed();
        Ok(new)
    }

    /// Unregisters `ih`; returns whether it was registered. In `allow` mode it is no
    /// longer served and its swarm goes; elsewhere the swarm lives on like any
    /// unregistered one, while it has peers.
    pub fn unregister_torrent(&self, ih: &InfoHash) -> bool {
        if self.access.unregister(ih).is_none() {
            return false;
        }
        if self.access.check(ih).is_err() {
            self.store.drop_swarm(ih);
        } else if !self.access.keeps(ih) {
            self.store.remove_if_empty(ih);
        }
        self.registrations_changed();
        true
    }

    /// After an access-list change: gauges now, the state file soon.
    pub fn registrations_changed(&self) {
        self.refresh_access_gauges();
        self.state_changed();
    }
}
