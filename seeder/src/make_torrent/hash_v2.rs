//! Hashing for v2 and hybrid torrents (BEP 52) on all cores, in one pass over the data:
//! SHA-256 of every 16 KiB block of every file (the leaves of its Merkle tree) and, for a
//! hybrid, SHA-1 of every v1 piece, which starts on a file boundary there (pad files fill
//! the rest of a file's last piece with zeros).
//!
//! Jobs are runs of whole pieces within one file, handed out through an atomic counter;
//! each thread reads its job in [`READ_BLOCK`] reads and hashes each block with both
//! algorithms while it is in the CPU cache. Memory is 32 bytes per block (a 4 GiB file:
//! 8 MiB of leaves) and 20 per piece.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

use seedline_common::metainfo::merkle::{self, Hash32, BLOCK};
use sha1::{Digest, Sha1};

use super::error::Error;
use super::hash::{check_sizes, on_workers, shrank, DataFile, JOB_BYTES, READ_BLOCK};
use super::progress::Progress;

/// Each file's leaf hashes (empty for an empty file), and a hybrid's v1 pieces.
pub struct V2Hashes {
    pub leaves: Vec<Vec<Hash32>>,
    pub v1_pieces: Vec<[u8; 20]>,
}

/// One job: pieces `first..last` of file `file`.
struct Job {
    file: usize,
    first: u64,
    last: u64,
}

/// Hashes `files` (in torrent order) in pieces of `piece_length` on `threads` threads;
/// with `hybrid`, v1 pieces too, each file's last one padded with zeros when `padded`
/// (a hybrid's pad files; a torrent of one file has none, its last piece is short).
pub fn hash_files_v2(
    files: &[DataFile],
    piece_length: u64,
    hybrid: bool,
    padded: bool,
    threads: usize,
    progress: &mut dyn Progress,
) -> Result<V2Hashes, Error> {
    assert!(piece_length >= BLOCK && piece_length.is_power_of_two());
    for f in files.iter().filter(|f| f.length == 0) {
        File::open(&f.path).map_err(|e| Error::io(&f.path, e))?;
    }
    let per_job = (JOB_BYTES / piece_length).max(1);
    let mut jobs = Vec::new();
    // Where each file's first v1 piece is: every file starts on a piece boundary.
    let mut piece_start = Vec::with_capacity(files.len());
    let mut pieces = 0u64;
    for (i, f) in files.iter().enumerate() {
        piece_start.push(pieces);
        let n = f.length.div_ceil(piece_length);
        let mut first = 0;
        while first < n {
            let last = (first + per_job).min(n);
            jobs.push(Job {
                file: i,
                first,
                last,
            });
            first = last;
        }
        pieces += n;
    }
    let shared = Shared {
        files,
        piece_length,
        hybrid,
        padded,
        jobs: &jobs,
        next: AtomicU64::new(0),
        hashed: AtomicU64::new(0),
        failed: AtomicBool::new(false),
        leaves: files
            .iter()
            .map(|f| Mutex::new(vec![[0; 32]; f.length.div_ceil(BLOCK) as usize]))
            .collect(),
        v1: Mutex::new(vec![[0; 20]; if hybrid { pieces as usize } else { 0 }]),
        piece_start,
    };
    on_workers(
        threads.clamp(1, jobs.len().max(1)),
        || shared.work(),
        &shared.failed,
        &shared.hashed,
        progress,
    )?;
    progress.set_position(files.iter().map(|f| f.length).sum());
    check_sizes(files)?;
    Ok(V2Hashes {
        leaves: shared
            .leaves
            .into_iter()
            .map(|l| l.into_inner().expect("no worker panicked"))
            .collect(),
        v1_pieces: shared.v1.into_inner().expect("no worker panicked"),
    })
}

struct Shared<'s> {
    files: &'s [DataFile],
    piece_length: u64,
    hybrid: bool,
    padded: bool,
    jobs: &'s [Job],
    next: AtomicU64,
    hashed: AtomicU64,
    failed: AtomicBool,
    leaves: Vec<Mutex<Vec<Hash32>>>,
    v1: Mutex<Vec<[u8; 20]>>,
    piece_start: Vec<u64>,
}

impl Shared<'_> {
    fn work(&self) -> Result<(), Error> {
        let mut buf = vec![0u8; READ_BLOCK];
        let mut open: Option<(usize, File)> = None;
        let zeros = vec![0u8; self.piece_length.min(1 << 20) as usize];
        loop {
            let i = self.next.fetch_add(1, Ordering::Relaxed) as usize;
            if i >= self.jobs.len() || self.failed.load(Ordering::Relaxed) {
                return Ok(());
            }
            let job = &self.jobs[i];
            let entry = &self.files[job.file];
            if open.as_ref().is_none_or(|(f, _)| *f != job.file) {
                let file = File::open(&entry.path).map_err(|e| Error::io(&entry.path, e))?;
                open = Some((job.file, file));
            }
            let file = &open.as_ref().expect("just opened").1;
            let start = job.first * self.piece_length;
            let end = (job.last * self.piece_length).min(entry.length);
            let mut leaves = Vec::with_capacity((end - start).div_ceil(BLOCK) as usize);
            let mut pieces = Vec::new();
            let mut sha1 = Sha1::new();
            let mut pos = start;
            while pos < end {
                let n = (end - pos).min(READ_BLOCK as u64) as usize;
                read_exact_at(file, entry, &mut buf[..n], pos)?;
                // Piece boundaries fall on block boundaries (pieces are whole blocks).
                for block in buf[..n].chunks(BLOCK as usize) {
                    leaves.push(merkle::leaf(block));
                    pos += block.len() as u64;
                    if !self.hybrid {
                        continue;
                    }
                    sha1.update(block);
                    if pos.is_multiple_of(self.piece_length) || pos == end {
                        // A file's last piece is padded with zeros (its pad file).
                        let mut pad = if self.padded {
                            (self.piece_length - pos % self.piece_length) % self.piece_length
                        } else {
                            0
                        };
                        while pad > 0 {
                            let k = pad.min(zeros.len() as u64) as usize;
                            sha1.update(&zeros[..k]);
                            pad -= k as u64;
                        }
                        pieces.push(std::mem::take(&mut sha1).finalize().into());
                    }
                }
                self.hashed.fetch_add(n as u64, Ordering::Relaxed);
            }
            let first_leaf = (start / BLOCK) as usize;
            self.leaves[job.file].lock().expect("no worker panicked")
                [first_leaf..first_leaf + leaves.len()]
                .copy_from_slice(&leaves);
            if self.hybrid {
                let at = (self.piece_start[job.file] + job.first) as usize;
                self.v1.lock().expect("no worker panicked")[at..at + pieces.len()]
                    .copy_from_slice(&pieces);
            }
        }
    }
}

fn read_exact_at(
    file: &File,
    entry: &DataFile,
    mut buf: &mut [u8],
    mut pos: u64,
) -> Result<(), Error> {
    while !buf.is_empty() {
        match file.read_at(buf, pos) {
            Ok(0) => return Err(shrank(entry)),
            Ok(n) => {
                pos += n as u64;
                buf = &mut buf[n..];
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::io(&entry.path, e)),
        }
    }
    Ok(())
}
