//! The corpus replay shared by each crate's `fuzz_corpus` test module (included with
//! `#[path]`, so the stable test suites need nothing from this cargo-fuzz workspace).

/// Runs `f` on every file of `fuzz/corpus/<target>/` (relative to the including crate),
/// reporting each file that panics. A missing or empty directory fails, so a renamed
/// target cannot pass vacuously.
pub fn replay(target: &str, f: fn(&[u8])) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let entries = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("corpus {} is missing: {e}", dir.display()));
    let mut files = 0;
    let mut failed = Vec::new();
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        let data = std::fs::read(&path).expect("a readable corpus file");
        files += 1;
        if std::panic::catch_unwind(|| f(&data)).is_err() {
            failed.push(path.display().to_string());
        }
    }
    assert!(files > 0, "corpus {} is empty", dir.display());
    assert!(
        failed.is_empty(),
        "{} of {files} inputs panic: {failed:#?}",
        failed.len()
    );
}
