//! `make-torrent show`: everything a `.torrent` says, as text or as one JSON object.

use std::io::Write;
use std::path::Path;

use seedline_common::metainfo::Parsed;
use serde::Serialize;

use super::error::Error;
use super::format::{pieces, row, size, utc};
use super::load::load_torrent;

/// What `show` reports. Field order is the JSON key order.
#[derive(Debug, Serialize)]
pub struct Report {
    pub name: String,
    /// The v1 info hash; a v2-only torrent's v2 hash truncated to 20 bytes.
    pub info_hash: String,
    /// `v2` (BEP 52 only) or `hybrid`; absent for a v1 torrent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meta_version: Option<&'static str>,
    /// The SHA-256 info hash of a v2 or hybrid torrent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub info_hash_v2: Option<String>,
    pub total_size: u64,
    pub piece_length: u64,
    pub piece_count: u64,
    pub private: bool,
    pub source: Option<String>,
    pub comment: Option<String>,
    pub created_by: Option<String>,
    /// Seconds since the Unix epoch, as stored.
    pub creation_date: Option<i64>,
    /// BEP 12 tiers, in order.
    pub trackers: Vec<Vec<String>>,
    pub webseeds: Vec<String>,
    pub files: Vec<FileLine>,
    pub magnet: String,
}

/// One file, with its path as a client saves it (`name/dir/file`, or `name`).
#[derive(Debug, Serialize)]
pub struct FileLine {
    pub path: String,
    pub length: u64,
}

impl Report {
    pub fn new(parsed: &Parsed) -> Self {
        let m = &parsed.metainfo;
        let info = &m.info;
        use seedline_common::metainfo::Version;
        let v2 = parsed.v2.as_ref();
        let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
        // Pad files are not content: a hybrid lists the files its v2 tree has.
        let real: Vec<_> = info.files().into_iter().filter(|f| !f.pad).collect();
        Self {
            name: info.name.clone(),
            info_hash: parsed.info_hash.to_hex(),
            meta_version: v2.map(|v| match v.info.version {
                Version::V2 => "v2",
                Version::Hybrid => "hybrid",
            }),
            info_hash_v2: v2.map(|v| hex(&v.info_hash)),
            total_size: real.iter().map(|f| f.length).sum(),
            piece_length: info.piece_length,
            piece_count: info.piece_count(),
            private: info.private,
            source: info.source.clone(),
            comment: m.comment.clone(),
            created_by: m.created_by.clone(),
            creation_date: m.creation_date,
            trackers: m.tiers(),
            webseeds: m.url_list.clone(),
            files: real
                .iter()
                .map(|f| FileLine {
                    path: f.display_path(&info.name),
                    length: f.length,
                })
                .collect(),
            magnet: match v2 {
                None => m.magnet(&parsed.info_hash),
                Some(v) => {
                    let v1 = (v.info.version == Version::Hybrid).then_some(&parsed.info_hash);
                    m.magnet_v2(v1, &v.info_hash)
                }
            },
        }
    }

    pub fn print(&self, out: &mut dyn Write, json: bool) -> Result<(), Error> {
        if json {
            serde_json::to_writer_pretty(&mut *out, self).map_err(|e| Error::Output(e.into()))?;
            return writeln!(out).map_err(Error::Output);
        }
        let or_dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
        row(out, "name", &self.name)?;
        match &self.info_hash_v2 {
            None => row(out, "info hash", &self.info_hash)?,
            Some(v2) => {
                let version = self.meta_version.unwrap_or("v2");
                row(out, "version", version)?;
                row(
                    out,
                    if version == "v2" {
                        "v2 hash/20"
                    } else {
                        "v1 hash"
                    },
                    &self.info_hash,
                )?;
                row(out, "v2 hash", v2)?;
            }
        }
        row(out, "size", &size(self.total_size))?;
        row(out, "pieces", &pieces(self.piece_count, self.piece_length))?;
        row(out, "private", if self.private { "yes" } else { "no" })?;
        row(out, "source", &or_dash(&self.source))?;
        row(out, "comment", &or_dash(&self.comment))?;
        row(out, "created by", &or_dash(&self.created_by))?;
        row(out, "created on", &or_dash(&self.creation_date.map(utc)))?;
        row(out, "trackers", &self.trackers_text())?;
        let webseeds = if self.webseeds.is_empty() {
            "-".into()
        } else {
            self.webseeds.join("\n")
        };
        row(out, "web seeds", &webseeds)?;
        let width = self
            .files
            .iter()
            .map(|f| f.length.to_string().len())
            .max()
            .unwrap_or(1);
        let files: Vec<String> = std::iter::once(format!("{}", self.files.len()))
            .chain(
                self.files
                    .iter()
                    .map(|f| format!("{:>width$}  {}", f.length, f.path)),
            )
            .collect();
        row(out, "files", &files.join("\n"))?;
        row(out, "magnet", &self.magnet)
    }

    /// `tier 1: url` with the other URLs of a tier aligned under the first.
    fn trackers_text(&self) -> String {
        if self.trackers.is_empty() {
            return "-".into();
        }
        let mut lines = Vec::new();
        for (i, tier) in self.trackers.iter().enumerate() {
            let label = format!("tier {}: ", i + 1);
            for (j, url) in tier.iter().enumerate() {
                let lead = if j == 0 {
                    label.clone()
                } else {
                    " ".repeat(label.len())
                };
                lines.push(format!("{lead}{url}"));
            }
        }
        lines.join("\n")
    }
}

/// Runs `make-torrent show`.
pub fn show(torrent: &Path, json: bool, out: &mut dyn Write) -> Result<(), Error> {
    Report::new(&load_torrent(torrent)?).print(out, json)
}
