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
    pub info_hash: String,
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

    pub fn print(&self, out: &mut dyn Write, json: bool) -> Result<(), Error> {
        if json {
            serde_json::to_writer_pretty(&mut *out, self).map_err(|e| Error::Output(e.into()))?;
            return writeln!(out).map_err(Error::Output);
        }
        row(out, "name", &self.name)?;
        row(out, "info hash", &self.info_hash)?;
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
