//! The metainfo model: what a v1 `.torrent` says, as plain owned values.
//!
//! Keys we do not model are dropped when parsing; that is harmless because the info
//! hash of a parsed torrent is taken over its raw bytes (see [`super::parse`]).

use std::ops::Range;

/// A v1 torrent: the `info` dictionary plus what sits around it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metainfo {
    /// `announce`: the first tracker, for clients without BEP 12.
    pub announce: Option<String>,
    /// `announce-list` (BEP 12): tiers of trackers, tried in order.
    pub announce_list: Vec<Vec<String>>,
    /// `url-list` (BEP 19): web seeds.
    pub url_list: Vec<String>,
    pub comment: Option<String>,
    pub created_by: Option<String>,
    /// Seconds since the Unix epoch.
    pub creation_date: Option<i64>,
    pub info: Info,
}

impl Metainfo {
    /// Trackers by tier: `announce-list` if present, else `announce` as the only tier
    /// (BEP 12: a client that understands `announce-list` ignores `announce`).
    pub fn tiers(&self) -> Vec<Vec<String>> {
        if !self.announce_list.is_empty() {
            self.announce_list.clone()
        } else {
            self.announce.iter().map(|a| vec![a.clone()]).collect()
        }
    }
}

/// The `info` dictionary: what the info hash covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Info {
    /// The file name (single file) or the top directory name (several files).
    pub name: String,
    pub piece_length: u64,
    /// One SHA-1 per piece, in order.
    pub pieces: Vec<[u8; 20]>,
    pub layout: Layout,
    /// BEP 27: peers only from the trackers listed, no DHT or PEX.
    pub private: bool,
    /// `source`: tells otherwise identical torrents for different sites apart.
    pub source: Option<String>,
}

/// One file, or a directory of files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layout {
    /// `length`: the torrent is the single file `name`.
    Single { length: u64 },
    /// `files`: the torrent is the directory `name` holding these files, in this order.
    Multi { files: Vec<FileEntry> },
}

/// One entry of `info -> files`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEntry {
    /// Path components below the torrent's directory, never empty.
    pub path: Vec<String>,
    pub length: u64,
    /// A BEP 47 pad file (`attr` holds `p`): zeros that align the next file to a piece,
    /// never stored on disk; a hybrid torrent's pad files may repeat one path.
    pub pad: bool,
}

/// A file of a torrent with its place in the concatenated piece stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileRef<'a> {
    /// Components below `name`; empty for a single-file torrent (the file is `name`).
    pub path: &'a [String],
    pub length: u64,
    /// Where the file starts in the concatenation of all files.
    pub offset: u64,
    /// A BEP 47 pad file: zeros, not stored.
    pub pad: bool,
}

impl FileRef<'_> {
    /// The path relative to where the torrent is saved: `name/dir/file`, or `name`.
    pub fn display_path(&self, name: &str) -> String {
        let mut s = name.to_owned();
        for c in self.path {
            s.push('/');
            s.push_str(c);
        }
        s
    }
}

impl Info {
    /// Every file with its offset, in torrent order.
    pub fn files(&self) -> Vec<FileRef<'_>> {
        match &self.layout {
            Layout::Single { length } => vec![FileRef {
                path: &[],
                length: *length,
                offset: 0,
                pad: false,
            }],
            Layout::Multi { files } => {
                let mut offset = 0;
                let mut out = Vec::with_capacity(files.len());
                for f in files {
                    out.push(FileRef {
                        path: &f.path,
                        length: f.length,
                        offset,
                        pad: f.pad,
                    });
                    offset += f.length;
                }
                out
            }
        }
    }

    /// The sum of all file lengths.
    pub fn total_length(&self) -> u64 {
        match &self.layout {
            Layout::Single { length } => *length,
            Layout::Multi { files } => files.iter().map(|f| f.length).sum(),
        }
    }

    /// The number of pieces the files need (the last one may be short).
    pub fn piece_count(&self) -> u64 {
        self.total_length().div_ceil(self.piece_length)
    }

    /// The byte range of piece `index` in the concatenated stream.
    pub fn piece_range(&self, index: u64) -> Range<u64> {
        let start = index * self.piece_length;
        start..(start + self.piece_length).min(self.total_length())
    }

    /// Indices (into [`Info::files`]) of the non-empty files that piece `index` covers.
    pub fn files_in_piece(&self, index: u64) -> Vec<usize> {
        let piece = self.piece_range(index);
        self.files()
            .iter()
            .enumerate()
            .filter(|(_, f)| {
                f.length > 0 && f.offset < piece.end && piece.start < f.offset + f.length
            })
            .map(|(i, _)| i)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(lengths: &[u64], piece_length: u64) -> Info {
        let files = lengths
            .iter()
            .enumerate()
            .map(|(i, &length)| FileEntry {
                path: vec![format!("f{i}")],
                length,
                pad: false,
            })
            .collect();
        Info {
            name: "t".into(),
            piece_length,
            pieces: vec![],
            layout: Layout::Multi { files },
            private: false,
            source: None,
        }
    }

    #[test]
    fn pieces_and_files() {
        let i = info(&[10, 0, 6, 16], 16);
        assert_eq!(i.total_length(), 32);
        assert_eq!(i.piece_count(), 2);
        assert_eq!(i.piece_range(1), 16..32);
        // Piece 0 covers f0 and f2 but not the empty f1.
        assert_eq!(i.files_in_piece(0), vec![0, 2]);
        assert_eq!(i.files_in_piece(1), vec![3]);
        let offsets: Vec<u64> = i.files().iter().map(|f| f.offset).collect();
        assert_eq!(offsets, [0, 10, 10, 16]);
        assert_eq!(i.files()[2].display_path("t"), "t/f2");

        let short = info(&[17], 16);
        assert_eq!(short.piece_range(1), 16..17);
    }

    #[test]
    fn tiers_fall_back_to_announce() {
        let mut m = Metainfo {
            announce: Some("http://a/".into()),
            announce_list: vec![],
            url_list: vec![],
            comment: None,
            created_by: None,
            creation_date: None,
            info: info(&[1], 16),
        };
        assert_eq!(m.tiers(), vec![vec!["http://a/".to_string()]]);
        m.announce_list = vec![vec!["http://b/".into()], vec!["http://c/".into()]];
        assert_eq!(m.tiers().len(), 2);
    }
}
