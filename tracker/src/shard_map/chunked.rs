//! A vector in fixed-size chunks: it grows without ever moving or copying what it holds.
//!
//! A growing `Vec` reallocates, and each reallocation frees the old block: with 256
//! shards growing side by side, those freed blocks were 4 MiB of resident free memory at
//! 100 000 torrents (glibc's `malloc_stats`), more than the dense entries saved. Chunks
//! of 2 KiB are allocated once and freed only when emptied, and at most one per shard
//! is part full.

use std::ops::{Index, IndexMut};

/// Entries per chunk: 2 KiB of 64-byte torrent entries.
const CHUNK: usize = 32;

pub struct Chunked<T> {
    /// Every chunk has capacity `CHUNK` and all but the last are full. The last may be
    /// empty: a chunk emptied by a removal stays as a spare until the next removal
    /// reaches into the chunk before it, so a map sitting at a multiple of `CHUNK`
    /// entries does not allocate and free 2 KiB on every join and leave.
    chunks: Vec<Vec<T>>,
}

impl<T> Default for Chunked<T> {
    fn default() -> Self {
        Self { chunks: Vec::new() }
    }
}

impl<T> Chunked<T> {
    pub fn len(&self) -> usize {
        match self.chunks.last() {
            Some(last) => (self.chunks.len() - 1) * CHUNK + last.len(),
            None => 0,
        }
    }

    /// Appends `value`; returns its position.
    pub fn push(&mut self, value: T) -> usize {
        let pos = self.len();
        match self.chunks.last_mut() {
            Some(last) if last.len() < CHUNK => last.push(value),
            _ => {
                let mut chunk = Vec::with_capacity(CHUNK);
                chunk.push(value);
                self.chunks.push(chunk);
            }
        }
        pos
    }

    /// Removes the value at `pos`, moving the last one into its place.
    ///
    /// # Panics
    /// If `pos` is past the end, like `Vec::swap_remove`.
    pub fn swap_remove(&mut self, pos: usize) -> T {
        // Before anything moves: a bad `pos` must not cost the last value.
        assert!(pos < self.len(), "swap_remove past the end");
        if self.chunks.last().is_some_and(Vec::is_empty) {
            // The spare goes: the chunk before it is about to have room.
            self.chunks.pop();
        }
        let last = self
            .chunks
            .last_mut()
            .expect("swap_remove on an empty Chunked");
        let tail = last.pop().expect("only the last chunk may be part full");
        if pos == self.len() {
            tail
        } else {
            std::mem::replace(&mut self[pos], tail)
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.chunks.iter().flatten()
    }

    /// Lets go of the spare chunk, and of the chunk list's spare capacity once it is
    /// mostly spare (not at every sweep, so a list that grows and shrinks around one
    /// size is not reallocated).
    pub fn shrink(&mut self) {
        if self.chunks.last().is_some_and(Vec::is_empty) {
            self.chunks.pop();
        }
        if self.chunks.capacity() > 2 * self.chunks.len() + 4 {
            self.chunks.shrink_to_fit();
        }
    }

    /// Bytes of heap held: every chunk whole, and the list of chunks.
    #[cfg(test)]
    pub fn heap_bytes(&self) -> usize {
        self.chunks.len() * CHUNK * std::mem::size_of::<T>()
            + self.chunks.capacity() * std::mem::size_of::<Vec<T>>()
    }
}

impl<T> Index<usize> for Chunked<T> {
    type Output = T;

    fn index(&self, pos: usize) -> &T {
        &self.chunks[pos / CHUNK][pos % CHUNK]
    }
}

impl<T> IndexMut<usize> for Chunked<T> {
    fn index_mut(&mut self, pos: usize) -> &mut T {
        &mut self.chunks[pos / CHUNK][pos % CHUNK]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Joining and leaving at a chunk boundary reuses the spare chunk instead of allocating.
    #[test]
    fn a_boundary_keeps_one_spare_chunk() {
        let mut c = Chunked::default();
        for i in 0..CHUNK + 1 {
            c.push(i);
        }
        for _ in 0..3 {
            c.swap_remove(0);
            assert_eq!((c.len(), c.chunks.len()), (CHUNK, 2));
            let spare = c.chunks[1].as_ptr();
            c.push(7);
            assert_eq!(c.chunks[1].as_ptr(), spare, "the spare was reused");
        }
        c.swap_remove(0);
        c.swap_remove(0);
        assert_eq!(
            (c.len(), c.chunks.len()),
            (CHUNK - 1, 1),
            "at most one spare"
        );
    }

    /// Pushes and removals anywhere keep the order `Vec::swap_remove` gives, across
    /// chunk boundaries, and an emptied chunk goes.
    #[test]
    fn behaves_like_a_vec_with_swap_remove() {
        let mut c = Chunked::default();
        let mut v = Vec::new();
        for i in 0..(3 * CHUNK + 5) {
            assert_eq!(c.push(i), v.len());
            v.push(i);
        }
        for pos in [0, CHUNK, 2 * CHUNK + 1, usize::MAX, 7] {
            let pos = pos.min(v.len() - 1);
            assert_eq!(c.swap_remove(pos), v.swap_remove(pos));
            assert_eq!(c.iter().copied().collect::<Vec<_>>(), v);
        }
        while !v.is_empty() {
            assert_eq!(c.swap_remove(0), v.swap_remove(0));
            assert_eq!(c.len(), v.len());
        }
        assert_eq!(c.chunks.len(), 1, "one spare chunk stays");
        c.shrink();
        assert!(c.chunks.is_empty());
        assert_eq!(
            c.heap_bytes(),
            c.chunks.capacity() * std::mem::size_of::<Vec<usize>>()
        );
    }
}
