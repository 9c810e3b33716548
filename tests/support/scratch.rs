//! Scratch directories for the integration tests, removed when dropped (also when the
//! test fails).

use tempfile::TempDir;

/// A new empty directory in the system's temporary directory, named `ts-<tag>-…`.
#[allow(dead_code)]
pub fn scratch(tag: &str) -> TempDir {
    tempfile::Builder::new()
        .prefix(&format!("ts-{tag}-"))
        .tempdir()
        .expect("create scratch dir")
}

/// [`scratch`] in cargo's target directory, for inputs too large for a `/tmp` that may
/// live in memory.
#[allow(dead_code)]
pub fn scratch_in_target(tag: &str) -> TempDir {
    tempfile::Builder::new()
        .prefix(&format!("ts-{tag}-"))
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("create scratch dir")
}
