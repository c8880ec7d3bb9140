//! `make-torrent verify` of a v2 or hybrid torrent (BEP 52): every file's blocks are
//! hashed into its Merkle tree, whose root must be the file's `pieces root`. A file that
//! does not match is named with its first bad piece, found through its piece layer. A
//! hybrid's v1 pieces are hashed in the same pass (its pad files as zeros) and compared
//! too: a hybrid whose two parts describe different data is not a good torrent.

use std::io::Write;
use std::path::Path;

use seedline_common::metainfo::{merkle, V2Info, Version};

use super::error::Error;
use super::hash::DataFile;
use super::hash_v2::hash_files_v2;
use super::progress::Reporter;
use super::verify::{data_path, present};
use super::Outcome;

pub fn verify(
    v2: &V2Info,
    root: &Path,
    explicit: bool,
    threads: usize,
    out: &mut dyn Write,
) -> Result<Outcome, Error> {
    let data_files: Vec<DataFile> = v2
        .files
        .iter()
        .map(|f| DataFile {
            path: data_path(root, &f.path),
            length: f.length,
            pad: false,
        })
        .collect();
    if let Some(outcome) = present(&data_files, root, &v2.name, explicit, out)? {
        return Ok(outcome);
    }
    let total = v2.files.iter().map(|f| f.length).sum();
    let mut reporter = Reporter::stderr(&v2.name, total);
    let hybrid = v2.version == Version::Hybrid;
    let multi = !v2.files.iter().all(|f| f.path.is_empty());
    let hashes = hash_files_v2(
        &data_files,
        v2.piece_length,
        hybrid,
        multi,
        threads,
        &mut reporter,
    )?;
    reporter.finish();
    let mut bad = 0;
    for ((f, leaves), data) in v2.files.iter().zip(&hashes.leaves).zip(&data_files) {
        let Some((root_hash, layer)) = &f.tree else {
            continue;
        };
        let (got_root, got_layer) = merkle::file_tree(leaves, v2.piece_length);
        if got_root == *root_hash {
            continue;
        }
        bad += 1;
        // The first piece whose hash differs; a file of one piece has no layer.
        let piece = match (layer, &got_layer) {
            (Some(want), Some(got)) => want.iter().zip(got).position(|(a, b)| a != b).unwrap_or(0),
            _ => 0,
        };
        let pieces = f.length.div_ceil(v2.piece_length);
        let start = piece as u64 * v2.piece_length;
        let end = (start + v2.piece_length).min(f.length);
        writeln!(
            out,
            "MISMATCH: {}: piece {piece} of {pieces} (counting from 0; bytes {start} to {} of the file) does not match its tree",
            data.path.display(),
            end - 1
        )
        .map_err(Error::Output)?;
    }
    let mut v1_differs = false;
    if hybrid {
        let v1_bad = (hashes.v1_pieces.iter())
            .zip(&v2.v1_pieces)
            .filter(|(a, b)| a != b)
            .count();
        if v1_bad > 0 || hashes.v1_pieces.len() != v2.v1_pieces.len() {
            let total = v2.v1_pieces.len();
            writeln!(
                out,
                "MISMATCH: {v1_bad} of the hybrid's {total} v1 pieces do not match the data"
            )
            .map_err(Error::Output)?;
            v1_differs = true;
        }
    }
    let count = v2.files.len();
    if bad == 0 && !v1_differs {
        writeln!(
            out,
            "OK: all {count} files of {} match their v2 trees in {}",
            v2.name,
            root.display()
        )
        .map_err(Error::Output)?;
        return Ok(Outcome::Done);
    }
    if bad > 0 {
        writeln!(out, "{bad} of {count} files do not match").map_err(Error::Output)?;
    }
    Ok(Outcome::Mismatch)
}
