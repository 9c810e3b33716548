//! Generated log lines for the behaviour tests (included with `#[path]`).

#![allow(dead_code)]

use std::io::Write;
use std::path::Path;

/// Ordinary access-log lines of `service`, with a little length variety.
pub fn normal_lines(service: &str, n: usize, offset: usize) -> String {
    let paths = ["/", "/login", "/api/v1/items", "/static/app.js", "/health"];
    (offset..offset + n)
        .map(|i| {
            format!(
                "{service} 10.0.{}.{} GET {} 200 {}ms\n",
                i % 4,
                10 + i % 90,
                paths[i % paths.len()],
                10 + (i * 37) % 90
            )
        })
        .collect()
}

/// Append `text` to the file at `path` (created if missing).
pub fn append(path: &Path, text: &str) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

/// Truncate the file at `path` to nothing in place, as copytruncate does.
pub fn truncate(path: &Path) {
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .unwrap()
        .set_len(0)
        .unwrap();
}
