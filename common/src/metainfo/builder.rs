//! Assembling a new torrent from files already hashed, plus the creator's choices.
//!
//! File order is the byte order of the whole `/`-joined path, the order mktorrent uses,
//! so the same directory gives the same info hash with either tool. (`a-b/c` sorts before
//! `a/b` because `-` is below `/`; sorting component by component would not.)

use super::error::MetainfoError;
use super::model::{FileEntry, Info, Metainfo};
use super::validate::check_component;

/// Sorts files into torrent order: byte order of the `/`-joined path.
pub fn sort_files(files: &mut [FileEntry]) {
    sort_by_torrent_path(files, |f| &f.path);
}

/// Sorts anything that carries a torrent path (its components) into torrent order.
pub fn sort_by_torrent_path<T>(items: &mut [T], path: impl Fn(&T) -> &[String]) {
    items.sort_by_cached_key(|item| path(item).join("/").into_bytes());
}

/// Everything outside `info` that the creator chooses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Publication {
    /// BEP 12 tiers; the first URL of the first tier also becomes `announce`.
    pub tiers: Vec<Vec<String>>,
    /// BEP 19 web seeds.
    pub webseeds: Vec<String>,
    pub comment: Option<String>,
    pub created_by: Option<String>,
    pub creation_date: Option<i64>,
}

impl Publication {
    /// Validates `info` and the URLs and puts the torrent together.
    ///
    /// `announce-list` is written only when there is more than one tracker: with one, it
    /// would repeat `announce`, and mktorrent and libtorrent leave it out too.
    pub fn into_metainfo(self, info: Info) -> Result<Metainfo, MetainfoError> {
        info.validate()?;
        self.check_urls()?;
        let tiers: Vec<Vec<String>> = self.tiers.into_iter().filter(|t| !t.is_empty()).collect();
        let announce = tiers.first().and_then(|t| t.first()).cloned();
        let tracker_count: usize = tiers.iter().map(Vec::len).sum();
        Ok(Metainfo {
            announce,
            announce_list: if tracker_count > 1 { tiers } else { Vec::new() },
            url_list: self.webseeds,
            comment: self.comment,
            created_by: self.created_by,
            creation_date: self.creation_date,
            info,
        })
    }

    /// Checks tracker and web seed URLs, so a creator can fail before hashing.
    pub fn check_urls(&self) -> Result<(), MetainfoError> {
        for url in self.tiers.iter().flatten() {
            check_url(
                url,
                "tracker",
                &["http://", "https://", "udp://"],
                "http://, https:// or udp://",
            )?;
        }
        for url in &self.webseeds {
            check_url(
                url,
                "web seed",
                &["http://", "https://"],
                "http:// or https://",
            )?;
        }
        Ok(())
    }
}

/// Checks a file or directory name the way `info -> name` is checked.
pub fn check_name(name: &str) -> Result<(), MetainfoError> {
    check_component("info -> name", name)
}

/// Splits one `--announce` value into a tier: comma-separated URLs, blanks dropped.
pub fn parse_tier(arg: &str) -> Vec<String> {
    arg.split(',')
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(str::to_owned)
        .collect()
}

fn check_url(
    url: &str,
    what: &'static str,
    allowed: &[&str],
    schemes: &'static str,
) -> Result<(), MetainfoError> {
    let lower = url.to_ascii_lowercase();
    let ok = allowed
        .iter()
        .any(|s| lower.starts_with(s) && lower.len() > s.len())
        && !url.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok {
        Ok(())
    } else {
        Err(MetainfoError::BadUrl {
            url: url.to_owned(),
            what,
            schemes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metainfo::Layout;

    fn entry(path: &str) -> FileEntry {
        FileEntry {
            path: path.split('/').map(str::to_owned).collect(),
            length: 1,
        }
    }

    #[test]
    fn order_is_byte_order_of_the_joined_path() {
        let mut files: Vec<FileEntry> = ["a/b", "a.txt", "a-b/c", "B", ".hidden", "é", "z"]
            .into_iter()
            .map(entry)
            .collect();
        sort_files(&mut files);
        let order: Vec<String> = files.iter().map(|f| f.path.join("/")).collect();
        assert_eq!(order, [".hidden", "B", "a-b/c", "a.txt", "a/b", "z", "é"]);
    }

    fn one_file() -> Info {
        Info {
            name: "f".into(),
            piece_length: 16384,
            pieces: vec![[0; 20]],
            layout: Layout::Single { length: 5 },
            private: false,
            source: None,
        }
    }

    #[test]
    fn announce_list_only_with_several_trackers() {
        let one = Publication {
            tiers: vec![parse_tier("http://a/announce")],
            ..Publication::default()
        };
        let m = one.into_metainfo(one_file()).unwrap();
        assert_eq!(m.announce.as_deref(), Some("http://a/announce"));
        assert!(m.announce_list.is_empty());

        let many = Publication {
            tiers: vec![
                parse_tier("http://a/, udp://b:1,"),
                vec![],
                parse_tier("https://c/"),
            ],
            webseeds: vec!["https://w/".into()],
            ..Publication::default()
        };
        let m = many.into_metainfo(one_file()).unwrap();
        assert_eq!(m.announce.as_deref(), Some("http://a/"));
        assert_eq!(
            m.announce_list,
            vec![vec!["http://a/", "udp://b:1"], vec!["https://c/"]]
        );
        assert_eq!(m.url_list, ["https://w/"]);
    }

    #[test]
    fn bad_urls_are_named() {
        for (tiers, webseeds) in [
            (vec![vec!["ftp://x/".to_string()]], vec![]),
            (vec![vec!["http://".to_string()]], vec![]),
            (vec![vec!["http://a b/".to_string()]], vec![]),
            (vec![], vec!["udp://x/".to_string()]),
        ] {
            let p = Publication {
                tiers,
                webseeds,
                ..Publication::default()
            };
            let err = p.into_metainfo(one_file()).unwrap_err();
            assert!(matches!(err, MetainfoError::BadUrl { .. }), "{err}");
        }
    }

    #[test]
    fn info_is_validated() {
        let mut info = one_file();
        info.pieces.clear();
        let err = Publication::default().into_metainfo(info).unwrap_err();
        assert!(matches!(err, MetainfoError::PieceCount { .. }), "{err}");
    }
}
