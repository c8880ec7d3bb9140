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
        self.around(info)
    }

    /// The trackers, web seeds and the rest around `info`, which is not checked: the v1
    /// view of a hybrid torrent, whose pad files repeat paths (`.pad/N`) as libtorrent
    /// writes them, which a v1 torrent may not.
    pub fn around(self, info: Info) -> Result<Metainfo, MetainfoError> {
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

    /// What a publisher should hear about before hashing, though the torrent is valid: no
    /// tracker at all (only DHT and magnet peers will find it), or an HTTP tracker URL
    /// without a path.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.tiers.iter().flatten().next().is_none() {
            out.push(
                "no tracker (-a URL): clients will find peers only through DHT or a magnet link's trackers"
                    .to_owned(),
            );
        }
        for url in self.tiers.iter().flatten().filter(|u| lacks_path(u)) {
            out.push(format!(
                "tracker {url:?} has no path; HTTP trackers usually announce at /announce"
            ));
        }
        out
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
    if !ok {
        return Err(MetainfoError::BadUrl {
            url: url.to_owned(),
            what,
            schemes,
        });
    }
    let unusable = |problem| {
        Err(MetainfoError::UnusableUrl {
            url: url.to_owned(),
            what,
            problem,
        })
    };
    let rest = &url[url.find("://").map_or(0, |i| i + 3)..];
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    // The port follows the last ':' outside an IPv6 literal's brackets.
    let (host, port) = match host_port.rfind(':') {
        Some(i) if !host_port[i..].contains(']') => (&host_port[..i], Some(&host_port[i + 1..])),
        _ => (host_port, None),
    };
    if host.is_empty() || host == "[]" {
        return unusable("it has no host");
    }
    if host.contains(':') && !host.starts_with('[') {
        return unusable(
            "an IPv6 address must be in brackets (http://[2001:db8::1]:6969/announce)",
        );
    }
    match port {
        Some(p)
            if !p.bytes().all(|b| b.is_ascii_digit())
                || p.parse::<u16>().map_or(true, |n| n == 0) =>
        {
            return unusable("its port is not a number from 1 to 65535")
        }
        None if lower.starts_with("udp://") => {
            return unusable("a UDP tracker needs a port (udp://host:port)")
        }
        _ => {}
    }
    Ok(())
}

/// Whether an HTTP tracker URL has no path: clients announce to the URL as given, so
/// that is almost always a forgotten `/announce` (legal, so a warning, not an error).
fn lacks_path(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    if lower.starts_with("udp://") {
        return false;
    }
    let rest = &url[url.find("://").map_or(0, |i| i + 3)..];
    matches!(
        rest.find(['/', '?', '#']).map(|i| &rest[i..]),
        None | Some("/")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metainfo::Layout;

    fn entry(path: &str) -> FileEntry {
        FileEntry {
            path: path.split('/').map(str::to_owned).collect(),
            length: 1,
            pad: false,
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

    /// Issue 14: `http://host:99999/announce` and a tracker URL without a path were
    /// accepted without a word.
    #[test]
    fn unusable_urls_say_why() {
        let bad = [
            ("http://host:99999/announce", "port"),
            ("http://host:0/announce", "port"),
            ("http://host:x/announce", "port"),
            ("http://host:+80/announce", "port"),
            ("http://2001:db8::1/announce", "brackets"),
            ("http://2001:db8::1:6969/announce", "brackets"),
            ("udp://host/announce", "needs a port"),
            ("http://:80/announce", "no host"),
        ];
        for (url, why) in bad {
            let p = Publication {
                tiers: vec![vec![url.to_string()]],
                ..Publication::default()
            };
            let err = p.check_urls().unwrap_err().to_string();
            assert!(err.contains(why), "{url}: {err}");
        }
        for url in [
            "http://host:6969/announce",
            "https://tracker.example.org/announce?passkey=1",
            "udp://tracker.example.org:1337",
            "udp://[2001:db8::1]:1337/announce",
            "http://[2001:db8::1]/announce",
            "http://user@host:80/a",
        ] {
            let p = Publication {
                tiers: vec![vec![url.to_string()]],
                webseeds: vec!["https://cdn.example.org".into()],
                ..Publication::default()
            };
            p.check_urls().unwrap_or_else(|e| panic!("{url}: {e}"));
        }
        let warn = |tiers: Vec<&str>| {
            Publication {
                tiers: vec![tiers.into_iter().map(str::to_owned).collect()],
                ..Publication::default()
            }
            .warnings()
        };
        assert!(warn(vec!["http://host:6969"])[0].contains("has no path"));
        assert!(warn(vec!["https://host/"])[0].contains("has no path"));
        assert!(warn(vec!["http://host/announce", "udp://h:1"]).is_empty());
        assert!(warn(vec![])[0].contains("no tracker"));
    }

    #[test]
    fn info_is_validated() {
        let mut info = one_file();
        info.pieces.clear();
        let err = Publication::default().into_metainfo(info).unwrap_err();
        assert!(matches!(err, MetainfoError::PieceCount { .. }), "{err}");
    }
}
