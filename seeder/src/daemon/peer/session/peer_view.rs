//! What the session learned from the peer that outlives one message, and the counters
//! that end a flood.

use seedline_common::wire::Bitfield;

use crate::daemon::reason::Disconnect;

#[derive(Default)]
pub(super) struct PeerView {
    /// The id the peer wants `ut_metadata` under, from its extended handshake.
    pub metadata_id: Option<u8>,
    pub have: Option<Bitfield>,
    /// Requests refused in a row (choked, or for pieces it may not have): a few are
    /// races, a stream of them is abuse, and every one costs a `reject` in the outbox.
    pub refused_in_row: usize,
    have_nones: u32,
    /// Interest changes since a block was last sent to the peer. A super-seed's
    /// leecher changes its mind at every offered piece and gets the piece in between; a
    /// flood of changes gets nothing (a request it slips in is dropped by the choke its
    /// own `not_interested` causes).
    interest_changes: u32,
    /// The session's `blocks_sent` when `interest_changes` was last reset.
    blocks_seen: u64,
}

impl PeerView {
    /// Counts one `have_none` or `have_all`; `Err` past `max`. Each costs a pass over
    /// every piece (a new bitfield, and super-seeding recounts rarity) for five bytes. A
    /// `bitfield` costs the same pass but carries a bit per piece, so its cost follows
    /// its size, and aria2 sends a dozen in one download: not counted.
    pub fn have_none(&mut self, max: u32) -> Result<(), Disconnect> {
        self.have_nones += 1;
        if self.have_nones > max {
            tracing::debug!(count = self.have_nones, "have_none again and again");
            return Err(Disconnect::Flood);
        }
        Ok(())
    }

    /// Counts one change of interest; `Err` past `max` of them without a block sent in
    /// between (`blocks_sent`: the session's count).
    pub fn interest_changed(&mut self, blocks_sent: u64, max: u32) -> Result<(), Disconnect> {
        if blocks_sent != self.blocks_seen {
            self.blocks_seen = blocks_sent;
            self.interest_changes = 0;
        }
        self.interest_changes += 1;
        if self.interest_changes > max {
            tracing::debug!(count = self.interest_changes, "interest changed too often");
            return Err(Disconnect::Flood);
        }
        Ok(())
    }

    /// Whether the peer has every piece (two seeds have nothing to say to each other).
    pub fn is_seed(&self) -> bool {
        self.have
            .as_ref()
            .is_some_and(|b| b.is_full() && !b.is_empty())
    }
}
