//! One input file of the HUD and the line format it is read with.

use std::path::{Path, PathBuf};
use trace_sentinel_core::engine::InputFormat;

/// One input file and how its lines are parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileInput {
    /// The path (`-` is stdin).
    pub path: PathBuf,
    /// Its line format.
    pub format: InputFormat,
}

impl FileInput {
    /// `path` as JSON lines when `jsonl` is set or its name ends in `.jsonl` (optionally
    /// `.jsonl.gz`), else plain text.
    pub fn new(path: PathBuf, jsonl: bool) -> Self {
        let format = if jsonl || has_jsonl_name(&path) {
            InputFormat::JsonLines
        } else {
            InputFormat::Text
        };
        FileInput { path, format }
    }
}

fn has_jsonl_name(path: &Path) -> bool {
    let name = path.to_string_lossy().to_ascii_lowercase();
    name.ends_with(".jsonl") || name.ends_with(".jsonl.gz")
}
