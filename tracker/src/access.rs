//! Which torrents the tracker serves: the access mode, the list file, and the torrents
//! registered (or denied) through the admin API.
//!
//! The check runs on every announce and scrape before anything is stored, so a refused
//! torrent costs no memory. In `open` mode it is a single branch.

use std::collections::HashSet;
use std::sync::{Arc, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use dashmap::DashMap;
use seedline_common::InfoHash;
use serde::{Deserialize, Serialize};

/// How the access list is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Every torrent is tracked.
    Open,
    /// Only listed or API-registered torrents are tracked.
    Allow,
    /// Every torrent except listed or API-denied ones is tracked.
    Deny,
}

/// Why a torrent was refused; the message is the client's `failure reason`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("torrent not registered with this tracker")]
    NotRegistered,
    #[error("torrent is not allowed on this tracker")]
    Denied,
}

impl Refused {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::NotRegistered => "not_registered",
            Self::Denied => "denied",
        }
    }
}

/// What the admin API knows about a registered or denied torrent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// A label for operators, e.g. the release's file name.
    pub name: Option<String>,
    /// Unix seconds when it was registered.
    pub added: u64,
    /// Another swarm of the same release: a hybrid torrent (BEP 52) is announced under
    /// its v1 and its truncated v2 info hash, and each is registered linked to the other.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "hex_hash")]
    pub linked: Option<InfoHash>,
}

impl Entry {
    pub fn now(name: Option<String>) -> Self {
        let added = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Self {
            name,
            added,
            linked: None,
        }
    }

    pub fn linked_to(mut self, other: Option<InfoHash>) -> Self {
        self.linked = other;
        self
    }
}

/// An optional info hash as 40 hex digits in JSON (the shared store's entries).
mod hex_hash {
    use seedline_common::InfoHash;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(h: &Option<InfoHash>, s: S) -> Result<S::Ok, S::Error> {
        match h {
            Some(h) => s.serialize_str(&h.to_hex()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<InfoHash>, D::Error> {
        let hex: Option<String> = Option::deserialize(d)?;
        hex.map(|h| h.parse().map_err(serde::de::Error::custom))
            .transpose()
    }
}

type HashSetIh = HashSet<InfoHash, hashbrown::DefaultHashBuilder>;

pub struct Access {
    mode: Mode,
    /// The `--access-list` file's hashes: allowed in `allow` mode, denied in `deny` mode.
    file: RwLock<Arc<HashSetIh>>,
    registered: DashMap<InfoHash, Entry>,
    denied: DashMap<InfoHash, Entry>,
}

impl Access {
    pub fn new(mode: Mode) -> Self {
        Self {
            mode,
            file: RwLock::new(Arc::default()),
            registered: DashMap::new(),
            denied: DashMap::new(),
        }
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Whether announces and scrapes for `ih` are served.
    pub fn check(&self, ih: &InfoHash) -> Result<(), Refused> {
        match self.mode {
            Mode::Open => Ok(()),
            Mode::Allow if self.registered.contains_key(ih) || self.in_file(ih) => Ok(()),
            Mode::Allow => Err(Refused::NotRegistered),
            Mode::Deny if self.denied.contains_key(ih) || self.in_file(ih) => Err(Refused::Denied),
            Mode::Deny => Ok(()),
        }
    }

    /// Whether the store keeps `ih`'s entry (and its `downloaded` count) while it has no
    /// peers: registered torrents are tracked for good, the others only while alive.
    pub fn keeps(&self, ih: &InfoHash) -> bool {
        self.registered.contains_key(ih) || (self.mode == Mode::Allow && self.in_file(ih))
    }

    fn in_file(&self, ih: &InfoHash) -> bool {
        self.file.read().expect("access list lock").contains(ih)
    }

    /// Replaces the file's hashes; returns how many there are now.
    pub fn set_file_list(&self, list: HashSetIh) -> usize {
        let n = list.len();
        *self.file.write().expect("access list lock") = Arc::new(list);
        n
    }

    pub fn file_len(&self) -> usize {
        self.file.read().expect("access list lock").len()
    }

    /// Registers `ih`, linked to `linked` if given (see [`Entry::linked`]); returns
    /// whether it is new. An existing entry keeps its date, and its name and link unless
    /// new ones are given.
    pub fn register(&self, ih: InfoHash, name: Option<String>, linked: Option<InfoHash>) -> bool {
        let mut new = false;
        self.registered
            .entry(ih)
            .and_modify(|e| {
                if name.is_some() {
                    e.name.clone_from(&name);
                }
                if linked.is_some() {
                    e.linked = linked;
                }
            })
            .or_insert_with(|| {
                new = true;
                Entry::now(name.clone()).linked_to(linked)
            });
        new
    }

    /// Registered torrents less the linked pairs among them: releases, counting a
    /// hybrid's two swarms once.
    pub fn registered_releases(&self) -> usize {
        let pairs = self
            .registered
            .iter()
            .filter(|e| {
                e.linked
                    .is_some_and(|l| l < *e.key() && self.registered.contains_key(&l))
            })
            .count();
        self.registered.len() - pairs
    }

    pub fn unregister(&self, ih: &InfoHash) -> Option<Entry> {
        self.registered.remove(ih).map(|(_, e)| e)
    }

    pub fn registration(&self, ih: &InfoHash) -> Option<Entry> {
        self.registered.get(ih).map(|e| e.clone())
    }

    pub fn registered_len(&self) -> usize {
        self.registered.len()
    }

    /// Every API registration, for the state file and listings.
    pub fn registrations(&self) -> Vec<(InfoHash, Entry)> {
        copy_out(&self.registered)
    }

    /// Denies `ih` (used in `deny` mode); returns whether it is new.
    pub fn deny(&self, ih: InfoHash, name: Option<String>) -> bool {
        self.denied.insert(ih, Entry::now(name)).is_none()
    }

    pub fn undeny(&self, ih: &InfoHash) -> Option<Entry> {
        self.denied.remove(ih).map(|(_, e)| e)
    }

    pub fn denial(&self, ih: &InfoHash) -> Option<Entry> {
        self.denied.get(ih).map(|e| e.clone())
    }

    pub fn denied_len(&self) -> usize {
        self.denied.len()
    }

    pub fn denials(&self) -> Vec<(InfoHash, Entry)> {
        copy_out(&self.denied)
    }

    /// Makes the API lists exactly these (a shared store's copy, after a reconnect may
    /// have missed changes).
    pub fn replace_api(&self, registered: Vec<(InfoHash, Entry)>, denied: Vec<(InfoHash, Entry)>) {
        for (map, entries) in [(&self.registered, registered), (&self.denied, denied)] {
            let keep: HashSetIh = entries.iter().map(|(ih, _)| *ih).collect();
            map.retain(|ih, _| keep.contains(ih));
            for (ih, e) in entries {
                map.insert(ih, e);
            }
        }
    }

    /// Adds or replaces one API entry as a shared store holds it.
    pub fn put_api_entry(&self, denied: bool, ih: InfoHash, e: Entry) {
        let map = if denied {
            &self.denied
        } else {
            &self.registered
        };
        map.insert(ih, e);
    }

    /// Restores saved API entries without touching their dates.
    pub fn restore(&self, registered: Vec<(InfoHash, Entry)>, denied: Vec<(InfoHash, Entry)>) {
        for (ih, e) in registered {
            self.registered.insert(ih, e);
        }
        for (ih, e) in denied {
            self.denied.insert(ih, e);
        }
    }
}

/// Every entry of an API list, copied so no shard stays locked.
fn copy_out(map: &DashMap<InfoHash, Entry>) -> Vec<(InfoHash, Entry)> {
    map.iter().map(|e| (*e.key(), e.value().clone())).collect()
}

/// A line of the access-list file that is not an info hash.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct ListError {
    pub line: usize,
    pub reason: String,
}

/// Parses an access-list file: one 40-hex-digit info hash per line; blank lines and
/// anything after `#` are ignored. The whole file is refused if any line is bad, so a
/// half-written or mistyped file never replaces a good list.
pub fn parse_list(text: &str) -> Result<HashSetIh, ListError> {
    let mut set = HashSetIh::default();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let ih: InfoHash = line.parse().map_err(|_| ListError {
            line: i + 1,
            reason: format!("{line:?} is not a 40-hex-digit info hash"),
        })?;
        set.insert(ih);
    }
    Ok(set)
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "0123456789abcdef0123456789abcdef01234567";
    const B: &str = "89ABCDEF0123456789ABCDEF0123456789ABCDEF";

    fn ih(s: &str) -> InfoHash {
        s.parse().unwrap()
    }

    #[test]
    fn list_file_with_comments_and_case() {
        let set = parse_list(&format!("# releases\n{A}  # ubuntu\n\n  {B}\n{A}\n")).unwrap();
        assert_eq!(set.len(), 2);
        assert!(set.contains(&ih(B)));
        let e = parse_list(&format!("{A}\nnot-a-hash\n")).unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.to_string().contains("not-a-hash"), "{e}");
        assert!(parse_list(&A[..39]).is_err());
        assert!(parse_list("").unwrap().is_empty());
    }

    #[test]
    fn modes() {
        let (a, b) = (ih(A), ih(B));
        let open = Access::new(Mode::Open);
        assert_eq!(open.check(&a), Ok(()));
        assert!(!open.keeps(&a));

        let allow = Access::new(Mode::Allow);
        assert_eq!(allow.check(&a), Err(Refused::NotRegistered));
        allow.set_file_list([a].into_iter().collect());
        assert_eq!(allow.check(&a), Ok(()));
        assert!(allow.keeps(&a));
        assert!(allow.register(b, Some("b.iso".into()), None));
        assert!(!allow.register(b, None, None));
        assert_eq!(
            allow.registration(&b).unwrap().name.as_deref(),
            Some("b.iso")
        );
        assert_eq!(allow.check(&b), Ok(()));
        allow.unregister(&b);
        assert_eq!(allow.check(&b), Err(Refused::NotRegistered));

        let deny = Access::new(Mode::Deny);
        assert_eq!(deny.check(&a), Ok(()));
        deny.set_file_list([a].into_iter().collect());
        assert_eq!(deny.check(&a), Err(Refused::Denied));
        assert!(!deny.keeps(&a), "a deny list keeps nothing");
        deny.deny(b, None);
        assert_eq!(deny.check(&b), Err(Refused::Denied));
        deny.undeny(&b);
        assert_eq!(deny.check(&b), Ok(()));
    }
}
