//! What `make-torrent` prints after creating a torrent, as text or as one JSON object.

use std::io::Write;
use std::path::PathBuf;

use seedline_common::Metainfo;
use serde::Serialize;

use super::error::Error;
use super::format::{pieces, row, size};

/// The result of creating a torrent. Field order is the JSON key order.
#[derive(Debug, Serialize)]
pub struct Summary {
    pub name: String,
    /// The v1 info hash; for a v2-only torrent, the v2 one truncated to 20 bytes (what
    /// trackers and peers use in its place).
    pub info_hash: String,
    /// The SHA-256 info hash of a v2 or hybrid torrent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub info_hash_v2: Option<String>,
    pub magnet: String,
    pub total_size: u64,
    pub piece_length: u64,
    pub piece_count: u64,
    pub file_count: usize,
    pub private: bool,
    /// Where the torrent was written; `null` for a dry run.
    pub torrent: Option<PathBuf>,
    /// The copy in the seeder library, if `--publish` was given.
    pub published: Option<PathBuf>,
}

impl Summary {
    pub fn new(m: &Metainfo, torrent: Option<PathBuf>, published: Option<PathBuf>) -> Self {
        let info_hash = m.info.info_hash();
        Self {
            name: m.info.name.clone(),
            info_hash: info_hash.to_hex(),
            info_hash_v2: None,
            magnet: m.magnet(&info_hash),
            total_size: m.info.total_length(),
            piece_length: m.info.piece_length,
            piece_count: m.info.piece_count(),
            file_count: m.info.files().len(),
            private: m.info.private,
            torrent,
            published,
        }
    }

    /// The summary of a v2 or hybrid torrent: `m` is its v1 view (for a v2-only torrent
    /// only its name, files and sizes count).
    pub fn v2(
        m: &Metainfo,
        v2: &seedline_common::metainfo::V2Info,
        torrent: Option<PathBuf>,
        published: Option<PathBuf>,
    ) -> Self {
        use seedline_common::metainfo::Version;
        let hash = v2.v2_hash();
        let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
        let v1 = (v2.version == Version::Hybrid).then(|| v2.v1_hash());
        let mut s = Self::new(m, torrent, published);
        s.info_hash = v1.map_or_else(|| hex(&hash[..20]), |h| h.to_hex());
        s.info_hash_v2 = Some(hex(&hash));
        s.magnet = m.magnet_v2(v1.as_ref(), &hash);
        s.file_count = v2.files.len();
        s.total_size = v2.files.iter().map(|f| f.length).sum();
        s
    }

    pub fn print(&self, out: &mut dyn Write, json: bool) -> Result<(), Error> {
        if json {
            serde_json::to_writer_pretty(&mut *out, self).map_err(|e| Error::Output(e.into()))?;
            return writeln!(out).map_err(Error::Output);
        }
        row(out, "name", &self.name)?;
        match &self.info_hash_v2 {
            None => row(out, "info hash", &self.info_hash)?,
            Some(v2) => {
                row(out, "v1 hash", &self.info_hash)?;
                row(out, "v2 hash", v2)?;
            }
        }
        row(out, "magnet", &self.magnet)?;
        let files = match self.file_count {
            1 => "1 file".to_owned(),
            n => format!("{n} files"),
        };
        row(
            out,
            "size",
            &format!("{} in {files}", size(self.total_size)),
        )?;
        row(out, "pieces", &pieces(self.piece_count, self.piece_length))?;
        let torrent = match &self.torrent {
            Some(p) => p.display().to_string(),
            None => "not written (dry run)".to_owned(),
        };
        // With --publish alone the one file written is the library's: said once.
        if self.published.is_none() || self.published != self.torrent {
            row(out, "torrent", &torrent)?;
        }
        if let Some(p) = &self.published {
            row(out, "published", &p.display().to_string())?;
        }
        Ok(())
    }
}
