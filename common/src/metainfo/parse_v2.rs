//! Reading the v2 part of an untrusted torrent (BEP 52): `meta version`, the `file tree`,
//! the `piece layers`, and for a hybrid its agreement with the v1 part. Every problem is
//! an error naming the key path; nothing here panics on any input (fuzz target
//! `metainfo`). The bencode decoder already bounds nesting (32 levels), so the tree walk
//! is bounded too.

use std::collections::{HashMap, HashSet};

use sha2::{Digest, Sha256};

use super::error::{child, MetainfoError};
use super::merkle::{self, Hash32, BLOCK};
use super::model::{Info, Layout};
use super::v2::{pad_after, V2File, V2Info, Version};
use super::validate::{check_component, MAX_PARSE_PIECE_LENGTH, MAX_PATH_BYTES, MAX_TOTAL_LENGTH};

/// Piece-layer hashes the parsed files may hold in all. Files with the same content share
/// a root and a layer, so a small torrent could otherwise make the parser copy one layer
/// for each of a million files.
const MAX_LAYER_BYTES: usize = 256 << 20;

/// Bytes of file paths the parsed files may hold in all, beyond four times the `info`
/// dictionary itself: a file tree shares its directories between files, and copying a
/// deep shared prefix for every file could otherwise turn a small torrent into gigabytes.
const PATH_BYTES_SLACK: usize = 1 << 20;
use crate::bencode::value::{Dict, Value};

/// A torrent's v2 part and its SHA-256 info hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V2Part {
    pub info: V2Info,
    pub info_hash: Hash32,
}

fn bad(path: &str, problem: impl Into<String>) -> MetainfoError {
    MetainfoError::V2 {
        path: path.to_owned(),
        problem: problem.into(),
    }
}

/// The v2 part of `info` (`None` for a v1 torrent); `v1` is the parsed v1 part of a
/// hybrid, which must describe the same files.
pub(super) fn parse(
    root: &Dict<'_>,
    info: &Dict<'_>,
    v1: Option<&Info>,
) -> Result<Option<V2Part>, MetainfoError> {
    let Some(version) = info.get(b"meta version") else {
        return Ok(None);
    };
    if !matches!(version, Value::Int(2)) {
        return Err(bad(
            "info -> meta version",
            "must be 2, the only version defined",
        ));
    }
    let name = match info.get(b"name") {
        Some(Value::Bytes(b)) => String::from_utf8(b.to_vec())
            .map_err(|_| MetainfoError::NotUtf8("info -> name".into()))?,
        _ => return Err(bad("info -> name", "must be a byte string")),
    };
    check_component("info -> name", &name)?;
    let piece_length = match info.get(b"piece length") {
        Some(Value::Int(n)) => u64::try_from(*n).unwrap_or(0),
        _ => return Err(bad("info -> piece length", "must be an integer")),
    };
    if piece_length < BLOCK
        || !piece_length.is_power_of_two()
        || piece_length > MAX_PARSE_PIECE_LENGTH
    {
        return Err(bad(
            "info -> piece length",
            format!("is {piece_length}; v2 needs a power of two from 16 KiB to 1 GiB"),
        ));
    }
    let Some(Value::Dict(tree)) = info.get(b"file tree") else {
        return Err(bad("info -> file tree", "must be a dictionary"));
    };
    let mut files = Vec::new();
    let mut budget = PathBudget {
        left: info.raw().len().saturating_mul(4) + PATH_BYTES_SLACK,
        depth_bytes: 0,
    };
    walk(
        tree,
        "info -> file tree",
        &mut Vec::new(),
        &mut budget,
        &mut files,
    )?;
    // Tree order, whatever order the (untrusted) dictionaries came in: the order every
    // v2 reader uses, and a hybrid's v1 list must follow.
    files.sort_by(|a, b| a.0.cmp(&b.0));
    if files.is_empty() {
        return Err(bad("info -> file tree", "holds no file"));
    }
    // A single-file torrent's tree is the one file under the torrent's name. So is a
    // directory's that holds one file of the directory's own name: a v2-only torrent
    // cannot tell them apart (libtorrent reads a single file too), a hybrid's v1 part
    // can (a `files` list).
    let v1_multi = v1.is_some_and(|i| matches!(i.layout, Layout::Multi { .. }));
    if files.len() == 1 && files[0].0 == [name.clone()] && !v1_multi {
        files[0].0.clear();
    }
    files
        .iter()
        .try_fold(0u64, |s, f| s.checked_add(f.1))
        .filter(|&t| t <= MAX_TOTAL_LENGTH)
        .ok_or(MetainfoError::TooLarge {
            limit: MAX_TOTAL_LENGTH,
        })?;
    // One map, so each file's lookup is one hash; each distinct root checked once.
    let layers: HashMap<&[u8], &Value<'_>> = match root.get(b"piece layers") {
        None => HashMap::new(),
        Some(Value::Dict(d)) => d.entries().iter().map(|(k, v)| (*k, v)).collect(),
        Some(_) => return Err(bad("piece layers", "must be a dictionary")),
    };
    let mut checked: HashSet<Hash32> = HashSet::new();
    let mut layer_bytes = 0usize;
    let mut out = Vec::with_capacity(files.len());
    for (path, length, root_hash) in files {
        let tree = match root_hash {
            None => None,
            Some(r) if length <= piece_length => Some((r, None)),
            Some(r) => {
                let at = format!("piece layers -> {}", hex(&r));
                let layer = match layers.get(&r[..]).copied() {
                    Some(Value::Bytes(b)) => *b,
                    Some(_) => return Err(bad(&at, "must be a byte string")),
                    None => {
                        return Err(bad(
                            &at,
                            format!("is missing (the layer of {})", shown(&name, &path)),
                        ))
                    }
                };
                let count = length.div_ceil(piece_length);
                if layer.len() as u64 != count * 32 {
                    return Err(bad(
                        &at,
                        format!(
                            "is {} bytes; a file of {length} bytes has {count} pieces of 32",
                            layer.len()
                        ),
                    ));
                }
                layer_bytes = layer_bytes.saturating_add(layer.len());
                if layer_bytes > MAX_LAYER_BYTES {
                    return Err(bad(
                        "piece layers",
                        format!("add up to more than {MAX_LAYER_BYTES} bytes over all files"),
                    ));
                }
                let hashes: Vec<Hash32> = layer
                    .chunks_exact(32)
                    .map(|c| c.try_into().expect("32 bytes"))
                    .collect();
                if !checked.contains(&r) {
                    if layer_root(&hashes, piece_length) != r {
                        return Err(bad(&at, "does not hash to the file's pieces root"));
                    }
                    checked.insert(r);
                }
                Some((r, Some(hashes)))
            }
        };
        out.push(V2File { path, length, tree });
    }
    let v2 = V2Info {
        version: if v1.is_some() {
            Version::Hybrid
        } else {
            Version::V2
        },
        name,
        piece_length,
        files: out,
        v1_pieces: v1.map(|i| i.pieces.clone()).unwrap_or_default(),
        private: matches!(info.get(b"private"), Some(Value::Int(1))),
        source: match info.get(b"source") {
            None => None,
            Some(Value::Bytes(b)) => Some(
                String::from_utf8(b.to_vec())
                    .map_err(|_| MetainfoError::NotUtf8("info -> source".into()))?,
            ),
            Some(_) => return Err(bad("info -> source", "must be a byte string")),
        },
    };
    if let Some(v1) = v1 {
        agree(&v2, v1)?;
    }
    Ok(Some(V2Part {
        info_hash: Sha256::digest(info.raw()).into(),
        info: v2,
    }))
}

/// What the walk may still copy: path bytes over all files, and the current path's.
struct PathBudget {
    left: usize,
    depth_bytes: usize,
}

/// Collects the files below `d` (path, length, pieces root), in tree order.
fn walk(
    d: &Dict<'_>,
    at: &str,
    prefix: &mut Vec<String>,
    budget: &mut PathBudget,
    out: &mut Vec<(Vec<String>, u64, Option<Hash32>)>,
) -> Result<(), MetainfoError> {
    if d.entries().is_empty() {
        return Err(bad(at, "is an empty directory"));
    }
    for (key, value) in d.entries() {
        let name =
            String::from_utf8(key.to_vec()).map_err(|_| MetainfoError::NotUtf8(at.to_owned()))?;
        let here = child(at, &name);
        if name.is_empty() {
            return Err(bad(
                &here,
                "is a file entry beside other names: a file cannot be a directory",
            ));
        }
        check_component(at, &name)?;
        let Value::Dict(node) = value else {
            return Err(bad(&here, "must be a dictionary"));
        };
        let depth_bytes = budget.depth_bytes + name.len() + 1;
        if depth_bytes > MAX_PATH_BYTES {
            return Err(MetainfoError::PathTooLong {
                path: here,
                len: depth_bytes,
                max: MAX_PATH_BYTES,
            });
        }
        let saved = std::mem::replace(&mut budget.depth_bytes, depth_bytes);
        prefix.push(name);
        match node.get(b"") {
            Some(leaf) if node.entries().len() == 1 => {
                let leaf_at = child(&here, "");
                let Value::Dict(leaf) = leaf else {
                    return Err(bad(&leaf_at, "must be a dictionary"));
                };
                let length = match leaf.get(b"length") {
                    Some(Value::Int(n)) if *n >= 0 => *n as u64,
                    _ => {
                        return Err(bad(
                            &child(&leaf_at, "length"),
                            "must be an integer of at least 0",
                        ))
                    }
                };
                let root = match (leaf.get(b"pieces root"), length) {
                    (None, 0) => None,
                    (Some(Value::Bytes(b)), 1..) if b.len() == 32 => {
                        Some(b[..].try_into().expect("32 bytes"))
                    }
                    (Some(_), 0) => {
                        return Err(bad(
                            &child(&leaf_at, "pieces root"),
                            "must be absent for an empty file",
                        ))
                    }
                    _ => {
                        return Err(bad(
                            &child(&leaf_at, "pieces root"),
                            "must be 32 bytes for a file that is not empty",
                        ))
                    }
                };
                budget.left = budget.left.checked_sub(depth_bytes).ok_or_else(|| {
                    bad(
                        "info -> file tree",
                        "holds more path bytes than a torrent of its size may",
                    )
                })?;
                out.push((prefix.clone(), length, root));
            }
            Some(_) => return Err(bad(&here, "is both a file and a directory")),
            None => walk(node, &here, prefix, budget, out)?,
        }
        prefix.pop();
        budget.depth_bytes = saved;
    }
    Ok(())
}

/// The root of a file's tree from its piece layer.
fn layer_root(layer: &[Hash32], piece_length: u64) -> Hash32 {
    // The layer's nodes sit log2(blocks per piece) levels above the leaves.
    merkle::root_from_layer(layer, (piece_length / BLOCK).trailing_zeros())
}

/// A hybrid's v1 files, pad files aside, are the v2 files in the same order, and each
/// unaligned file is followed by the pad that aligns the next.
fn agree(v2: &V2Info, v1: &Info) -> Result<(), MetainfoError> {
    const AT: &str = "info -> files";
    match &v1.layout {
        Layout::Single { length } => {
            if v2.files.len() != 1 || !v2.files[0].path.is_empty() || v2.files[0].length != *length
            {
                return Err(bad("info -> length", "disagrees with the file tree"));
            }
        }
        Layout::Multi { files } => {
            let mut v1_files = files.iter().enumerate().peekable();
            for f in &v2.files {
                let Some((i, e)) = v1_files.next() else {
                    return Err(bad(AT, "has fewer files than the file tree"));
                };
                if e.pad || e.path != f.path || e.length != f.length {
                    return Err(bad(
                        &child(AT, i),
                        "disagrees with the file tree (order, path or length)",
                    ));
                }
                let pad = pad_after(f.length, v2.piece_length);
                if pad > 0 {
                    match v1_files.next() {
                        Some((_, p)) if p.pad && p.length == pad => {}
                        Some((j, _)) => {
                            return Err(bad(
                                &child(AT, j),
                                format!("should be a pad file of {pad} bytes"),
                            ))
                        }
                        // The last file's pad is optional (libtorrent writes it).
                        None => {}
                    }
                }
            }
            if let Some((i, _)) = v1_files.next() {
                return Err(bad(&child(AT, i), "is not in the file tree"));
            }
        }
    }
    Ok(())
}

fn hex(h: &[u8]) -> String {
    h.iter().map(|b| format!("{b:02x}")).collect()
}

fn shown(name: &str, path: &[String]) -> String {
    std::iter::once(name)
        .chain(path.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests;
