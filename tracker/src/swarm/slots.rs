//! A list's peer storage: the first peers in place, in the 16 bytes that otherwise hold
//! the pointer and length of a boxed slice, and a boxed slice once they do not fit.
//!
//! Most torrents have one or two peers, and a boxed slice of one 8-byte IPv4 peer is a
//! 32-byte heap block with glibc (its header and the minimum size). Two IPv4 peers fit
//! in place; an IPv6 peer (20 bytes) never does, so its list always boxes. Measured at
//! 1 M peers over 100 000 Zipf torrents: 22.3 bytes a peer instead of 24.0.
//!
//! Which of the two is in use is not stored: a list of at most [`Slots::INLINE`] peers
//! is always in place, a longer one always boxed. The owner keeps the length, so every
//! function that needs to know is `unsafe` and takes it.

use std::fmt;
use std::mem::{size_of, ManuallyDrop};

use super::peer_list::{CompactAddr, Peer};

/// Peers of a list, in place or boxed by its length; see the module's note.
pub union Slots<A: CompactAddr> {
    inline: A::Inline,
    /// `len` of these are peers, the rest capacity (defaults).
    heap: ManuallyDrop<Box<[Peer<A>]>>,
}

impl<A: CompactAddr> Default for Slots<A> {
    /// No peers: in place.
    fn default() -> Self {
        Self {
            inline: A::Inline::default(),
        }
    }
}

impl<A: CompactAddr> fmt::Debug for Slots<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Which field is in use depends on the owner's length: the owner prints peers.
        f.write_str("Slots")
    }
}

impl<A: CompactAddr> Slots<A> {
    /// Peers kept in place.
    pub const INLINE: usize = size_of::<A::Inline>() / size_of::<Peer<A>>();

    /// The `len` peers.
    ///
    /// # Safety
    /// `len` is the number of peers the slots hold: 0 for new slots, then what
    /// [`Self::push`] and [`Self::pop`] made it.
    pub unsafe fn peers(&self, len: usize) -> &[Peer<A>] {
        if len <= Self::INLINE {
            // SAFETY: at most `INLINE` peers are in place (the caller's `len`).
            let inline = unsafe { &self.inline };
            &inline.as_ref()[..len]
        } else {
            // SAFETY: more than `INLINE` peers are boxed.
            let heap = unsafe { &self.heap };
            &heap[..len]
        }
    }

    /// The `len` peers, to change in place.
    ///
    /// # Safety
    /// As for [`Self::peers`].
    pub unsafe fn peers_mut(&mut self, len: usize) -> &mut [Peer<A>] {
        if len <= Self::INLINE {
            // SAFETY: as in `peers`.
            let inline = unsafe { &mut self.inline };
            &mut inline.as_mut()[..len]
        } else {
            // SAFETY: as in `peers`.
            let heap = unsafe { &mut self.heap };
            &mut heap[..len]
        }
    }

    /// Room for peers before the next push allocates.
    ///
    /// # Safety
    /// As for [`Self::peers`].
    pub unsafe fn capacity(&self, len: usize) -> usize {
        if len <= Self::INLINE {
            Self::INLINE
        } else {
            // SAFETY: as in `peers`.
            unsafe { &self.heap }.len()
        }
    }

    /// Appends `peer` to the `len` peers held.
    ///
    /// # Safety
    /// As for [`Self::peers`]; the slots hold `len + 1` peers after.
    pub unsafe fn push(&mut self, len: usize, peer: Peer<A>) {
        if len < Self::INLINE {
            // SAFETY: `len + 1 <= INLINE` peers stay in place.
            unsafe { &mut self.inline }.as_mut()[len] = peer;
            return;
        }
        if len == Self::INLINE || {
            // SAFETY: `len > INLINE`: boxed.
            len == unsafe { &self.heap }.len()
        } {
            // SAFETY: `len` is the count held, as the caller promised.
            let mut grown = resized(unsafe { self.peers(len) }, len + (len / 4).max(1));
            grown[len] = peer;
            if len > Self::INLINE {
                // SAFETY: boxed, and replaced just below without being read again.
                unsafe { ManuallyDrop::drop(&mut self.heap) };
            }
            self.heap = ManuallyDrop::new(grown);
            return;
        }
        // SAFETY: boxed with room at `len`.
        let heap = unsafe { &mut self.heap };
        heap[len] = peer;
    }

    /// Removes and returns the last of the `len` peers held (`len > 0`).
    ///
    /// # Safety
    /// As for [`Self::peers`]; the slots hold `len - 1` peers after.
    pub unsafe fn pop(&mut self, len: usize) -> Peer<A> {
        let left = len - 1;
        if len <= Self::INLINE {
            // SAFETY: in place; the slot left behind is spare room.
            return std::mem::take(&mut unsafe { &mut self.inline }.as_mut()[left]);
        }
        // SAFETY: `len > INLINE`: boxed.
        let heap = unsafe { &mut self.heap };
        let peer = std::mem::take(&mut heap[left]);
        if left <= Self::INLINE {
            let mut inline = A::Inline::default();
            inline.as_mut()[..left].copy_from_slice(&heap[..left]);
            // SAFETY: boxed until here, and overwritten at once: never read again.
            unsafe { ManuallyDrop::drop(heap) };
            self.inline = inline;
        } else if heap.len() > 2 * left.max(4) {
            **heap = resized(&heap[..left], left + left / 4);
        }
        peer
    }

    /// Frees the box, if the `len` peers are boxed; the slots are not used again.
    ///
    /// # Safety
    /// As for [`Self::peers`], and nothing reads the slots after.
    pub unsafe fn free(&mut self, len: usize) {
        if len > Self::INLINE {
            // SAFETY: boxed, and the caller's last use.
            unsafe { ManuallyDrop::drop(&mut self.heap) };
        }
    }
}

/// `peers` in a slice of `cap` slots (at least its length), the rest defaults.
fn resized<T: Copy + Default>(peers: &[T], cap: usize) -> Box<[T]> {
    let mut v = Vec::with_capacity(cap.max(peers.len()));
    v.extend_from_slice(peers);
    v.resize(v.capacity(), T::default());
    v.into_boxed_slice()
}
