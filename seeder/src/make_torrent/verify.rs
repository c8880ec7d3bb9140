//! `make-torrent verify`: re-hash data and compare it with a `.torrent`.
//!
//! Missing files and files of the wrong size are reported first, without hashing: every
//! piece after them would fail and say nothing new. Otherwise all pieces are hashed and
//! the first bad one is reported with the files it covers, which is where to look.

use std::fs;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use super::error::Error;
use super::hash::{hash_files, DataFile};
use super::load::load_torrent;
use super::progress::Reporter;
use super::Outcome;

/// Runs `make-torrent verify`. `data` is the file or directory the torrent describes;
/// by default its name next to the torrent file.
pub fn verify(
    torrent: &Path,
    data: Option<&Path>,
    threads: usize,
    out: &mut dyn Write,
) -> Result<Outcome, Error> {
    let parsed = load_torrent(torrent)?;
    let info = &parsed.metainfo.info;
    let root = match data {
        Some(p) => p.to_owned(),
        None => torrent
            .parent()
            .unwrap_or_else(|| Path::new("."))
            .join(&info.name),
    };
    if let Some(v2) = &parsed.v2 {
        return super::verify_v2::verify(&v2.info, &root, data.is_some(), threads, out);
    }
    // BEP 47 pad files are zeros in the piece stream, never looked for on disk.
    let data_files: Vec<DataFile> = info
        .files()
        .iter()
        .map(|f| DataFile {
            path: data_path(&root, f.path),
            length: f.length,
            pad: f.pad,
        })
        .collect();
    let on_disk: Vec<DataFile> = data_files.iter().filter(|f| !f.pad).cloned().collect();
    if let Some(outcome) = present(&on_disk, &root, &info.name, data.is_some(), out)? {
        return Ok(outcome);
    }

    let mut reporter = Reporter::stderr(&info.name, info.total_length());
    let hashes = hash_files(&data_files, info.piece_length, threads, &mut reporter)?;
    reporter.finish();
    let bad: Vec<u64> = (0..info.piece_count())
        .filter(|&i| hashes[i as usize] != info.pieces[i as usize])
        .collect();
    let count = info.piece_count();
    let Some(&first) = bad.first() else {
        writeln!(
            out,
            "OK: all {count} pieces of {} match the data in {}",
            info.name,
            root.display()
        )
        .map_err(Error::Output)?;
        return Ok(Outcome::Done);
    };
    let range = info.piece_range(first);
    writeln!(
        out,
        "MISMATCH: piece {first} of {count} (counting from 0; bytes {} to {}) does not match; it covers:",
        range.start,
        range.end - 1
    )
    .map_err(Error::Output)?;
    for i in info.files_in_piece(first) {
        if !data_files[i].pad {
            writeln!(out, "  {}", data_files[i].path.display()).map_err(Error::Output)?;
        }
    }
    writeln!(out, "{} of {count} pieces do not match", bad.len()).map_err(Error::Output)?;
    Ok(Outcome::Mismatch)
}

/// Reports files that are missing or of the wrong size (`Some(Mismatch)`), or fails when
/// nothing of the torrent is at `root` (a wrong PATH, `explicit` when given); `None` when
/// every file is there to hash.
pub(super) fn present(
    data_files: &[DataFile],
    root: &Path,
    name: &str,
    explicit: bool,
    out: &mut dyn Write,
) -> Result<Option<Outcome>, Error> {
    let problems = check_files(data_files)?;
    // Nothing of the torrent where PATH points: a wrong PATH (often the directory that
    // holds the content), not bad data. Usage error, with the likely fix.
    if problems.len() == data_files.len() && data_files.iter().all(|f| !f.path.exists()) {
        let inside = root.join(name);
        let hint = if explicit && inside.exists() {
            format!("; did you mean {}?", inside.display())
        } else {
            String::new()
        };
        return Err(Error::WrongDataPath {
            path: root.to_owned(),
            name: name.to_owned(),
            hint,
        });
    }
    if !problems.is_empty() {
        for p in &problems {
            writeln!(out, "MISMATCH: {p}").map_err(Error::Output)?;
        }
        return Ok(Some(Outcome::Mismatch));
    }

    Ok(None)
}

/// Files that are missing, not regular files, or of another size than the torrent says.
fn check_files(files: &[DataFile]) -> Result<Vec<String>, Error> {
    let mut problems = Vec::new();
    for f in files {
        let shown = f.path.display();
        match fs::metadata(&f.path) {
            Err(e) if e.kind() == ErrorKind::NotFound => {
                problems.push(format!("{shown} is missing"))
            }
            Err(e) => return Err(Error::io(&f.path, e)),
            Ok(m) if !m.is_file() => problems.push(format!("{shown} is not a regular file")),
            Ok(m) if m.len() != f.length => problems.push(format!(
                "{shown} is {} bytes, but the torrent says {}",
                m.len(),
                f.length
            )),
            Ok(_) => {}
        }
    }
    Ok(problems)
}

/// Where a file of the torrent lives below `root` (`root` itself for a single file).
pub(super) fn data_path(root: &Path, components: &[String]) -> PathBuf {
    components.iter().fold(root.to_owned(), |p, c| p.join(c))
}
