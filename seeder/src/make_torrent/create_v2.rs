//! Creating a v2 or hybrid torrent (`--v2`, `--hybrid`): files in tree order, hashed in
//! one pass (`hash_v2.rs`), their Merkle trees, and the `info` that `common`'s
//! `V2Info` writes the way libtorrent 2.0 does.

use seedline_common::metainfo::{merkle, sort_tree_order, Info, Layout, V2File, V2Info, Version};

use super::error::Error;
use super::hash_v2::hash_files_v2;
use super::progress::Progress;
use super::walk::Walked;

/// What the torrent needs besides its files.
pub struct Options {
    pub version: Version,
    pub name: String,
    pub piece_length: u64,
    pub private: bool,
    pub source: Option<String>,
    pub threads: usize,
}

/// Hashes `walked` and returns its v2 `info` and its v1 view: a hybrid's own v1 part (pad
/// files included), or for a v2-only torrent the same layout, which only names and sizes
/// the files for the summary and the checks a v1 torrent gets.
pub fn build(
    mut walked: Walked,
    o: Options,
    progress: &mut dyn Progress,
) -> Result<(V2Info, Info), Error> {
    sort_tree_order(&mut walked.files, |f| &f.rel);
    // BEP 52 writes a single file as the one entry under the torrent's name, and so a
    // directory holding one file of its own name, whose tree would be the same.
    if o.version == Version::V2
        && walked.is_dir
        && walked.files.len() == 1
        && walked.files[0].rel == [o.name.clone()]
    {
        let dir = walked.files[0]
            .path
            .parent()
            .unwrap_or(&walked.files[0].path);
        return Err(Error::AmbiguousV2 {
            path: dir.to_owned(),
            name: o.name,
        });
    }
    let data = walked.data_files();
    let hybrid = o.version == Version::Hybrid;
    let hashes = hash_files_v2(
        &data,
        o.piece_length,
        hybrid,
        // libtorrent pads no torrent of a single file, even one in a directory.
        walked.files.len() > 1,
        o.threads,
        progress,
    )?;
    let files: Vec<V2File> = walked
        .files
        .iter()
        .zip(&hashes.leaves)
        .map(|(f, leaves)| V2File {
            path: if walked.is_dir {
                f.rel.clone()
            } else {
                Vec::new()
            },
            length: f.length,
            tree: (!leaves.is_empty()).then(|| merkle::file_tree(leaves, o.piece_length)),
        })
        .collect();
    let v1_count = files
        .iter()
        .map(|f| f.length.div_ceil(o.piece_length))
        .sum::<u64>() as usize;
    let v2 = V2Info {
        version: o.version,
        name: o.name,
        piece_length: o.piece_length,
        files,
        v1_pieces: hashes.v1_pieces,
        private: o.private,
        source: o.source,
    };
    let layout = if walked.is_dir {
        Layout::Multi {
            files: v2.v1_files(),
        }
    } else {
        Layout::Single {
            length: walked.total_length(),
        }
    };
    let v1 = Info {
        name: v2.name.clone(),
        piece_length: o.piece_length,
        pieces: if hybrid {
            v2.v1_pieces.clone()
        } else {
            vec![[0; 20]; v1_count]
        },
        layout,
        private: v2.private,
        source: v2.source.clone(),
    };
    Ok((v2, v1))
}

/// What known clients cannot do with such a torrent, for a warning.
pub fn warnings(version: Version, multi_file: bool) -> Vec<&'static str> {
    match version {
        Version::V2 => vec![
            "a v2-only torrent: clients without BitTorrent v2 (Transmission, rTorrent, aria2, libtorrent 1.x) cannot use it; --hybrid serves both",
        ],
        Version::Hybrid if multi_file => vec![
            "a hybrid torrent: Debian 12's aria2 1.36 and Transmission 3.00 cannot load torrents with a `file tree`, and rTorrent 0.9.8 refuses multi-file ones whose pad files repeat a path (see the README's client table)",
        ],
        Version::Hybrid => vec![
            "a hybrid torrent: Debian 12's aria2 1.36 and Transmission 3.00 cannot load torrents with a `file tree` (see the README's client table)",
        ],
    }
}
