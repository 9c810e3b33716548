//! Followed files for the HUD (`--follow`): replay the last `backfill` lines of each
//! file through the feed, then hand every appended block of complete lines to the
//! monitor, through rotation and truncation, using the crate's follower
//! ([`trace_sentinel_follow::Follower`]).
//!
//! The follower is created first and its starting offsets read back from its
//! checkpoints; the backfill is the `backfill` lines that end exactly there, so no line
//! is lost or seen twice between history and live data.

use crate::error::HudError;
use crate::file_input::FileInput;
use crate::monitor::Monitor;
use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::Path;
use std::time::Duration;
use trace_sentinel_core::engine::InputFormat;
use trace_sentinel_core::input::{self, BlockReader};
use trace_sentinel_follow::{FollowOptions, FollowSpec, Follower};
use trace_sentinel_kernels::split::is_line_break;

/// Longest wait between two checks for a stop request.
const MAX_WAIT: Duration = Duration::from_millis(250);
/// Most bytes of history scanned for the backfill, per file.
pub const MAX_BACKFILL_BYTES: u64 = 64 << 20;

/// Where the last `n` non-empty lines ending at `end` start, scanning back at most
/// `max_bytes` (then the first line start found within that span).
pub fn backfill_start<F: FileExt>(file: &F, end: u64, n: usize, max_bytes: u64) -> io::Result<u64> {
    if n == 0 {
        return Ok(end);
    }
    let floor = end.saturating_sub(max_bytes);
    let mut buf = vec![0u8; 64 * 1024];
    let mut pos = end;
    let mut count = 0;
    let mut in_line = false;
    let mut last_start = end;
    while pos > floor {
        let len = (pos - floor).min(buf.len() as u64) as usize;
        pos -= len as u64;
        file.read_exact_at(&mut buf[..len], pos)?;
        for i in (0..len).rev() {
            if is_line_break(buf[i]) {
                if in_line {
                    count += 1;
                    last_start = pos + i as u64 + 1;
                    if count == n {
                        return Ok(last_start);
                    }
                    in_line = false;
                }
            } else {
                in_line = true;
            }
        }
    }
    // Reached the start of the file (a line starting at 0 counts) or the scan limit.
    Ok(if floor == 0 { 0 } else { last_start })
}

/// Feed the `backfill` lines that end at the follower's starting offset of `path`.
fn replay_history(
    monitor: &mut Monitor,
    path: &Path,
    dev_ino: (u64, u64),
    end: u64,
    backfill: usize,
    source: &str,
    format: InputFormat,
) -> Result<bool, HudError> {
    let read_err = |e| HudError::Read {
        path: path.to_path_buf(),
        source: e,
    };
    let Ok(mut file) = File::open(path) else {
        return Ok(true);
    };
    let meta = file.metadata().map_err(read_err)?;
    if (meta.dev(), meta.ino()) != dev_ino {
        // Rotated in between: the follower reads the new file from its start.
        return Ok(true);
    }
    let start = backfill_start(&file, end, backfill, MAX_BACKFILL_BYTES).map_err(read_err)?;
    monitor.set_line_cursor(trace_sentinel_follow::lines_before(&file, start));
    file.seek(SeekFrom::Start(start)).map_err(read_err)?;
    let mut more = true;
    BlockReader::new()
        .for_each_piece(&mut (&mut file).take(end - start), |piece| {
            more = monitor.feed_piece(piece, source, format);
            Ok(more)
        })
        .map_err(read_err)?;
    Ok(more)
}

/// Follow `files` until a stop is requested.
pub fn run(monitor: &mut Monitor, files: &[FileInput], backfill: usize) -> Result<(), HudError> {
    let specs: Vec<FollowSpec> = files
        .iter()
        .map(|f| FollowSpec {
            path: f.path.clone(),
            source: input::source_name(&f.path),
        })
        .collect();
    let formats: HashMap<String, InputFormat> = specs
        .iter()
        .zip(files)
        .map(|(s, f)| (s.source.clone(), f.format))
        .collect();
    let mut follower = Follower::new(&specs, &[], FollowOptions::default());
    monitor.set_running(true);
    let checkpoints = follower.checkpoints();
    for ((spec, f), cp) in specs.iter().zip(files).zip(&checkpoints) {
        let Some(cur) = &cp.current else { continue };
        let more = replay_history(
            monitor,
            &spec.path,
            (cur.dev, cur.ino),
            cur.offset,
            backfill,
            &spec.source,
            f.format,
        )?;
        if !more {
            return Ok(());
        }
    }
    loop {
        if monitor.stopping() {
            return Ok(());
        }
        let more = follower
            .poll(&mut |piece, source, line| {
                let format = formats.get(source).copied().unwrap_or(InputFormat::Text);
                monitor.set_line_cursor(line);
                if monitor.feed_piece(piece, source, format) {
                    Ok(())
                } else {
                    Err(io::Error::new(io::ErrorKind::Interrupted, "stopping"))
                }
            })
            .or_else(|e| match e.kind() {
                io::ErrorKind::Interrupted => Ok(false),
                _ => Err(HudError::Follow(e.to_string())),
            })?;
        for notice in follower.take_notices() {
            monitor.notice(&notice);
        }
        if !more {
            follower.wait(follower.next_timeout().min(MAX_WAIT));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start(text: &[u8], n: usize) -> usize {
        let dir = tempfile::Builder::new()
            .prefix("ts-hud-backfill-")
            .tempdir()
            .unwrap();
        let p = dir.path().join(format!("f{n}-{}", text.len()));
        std::fs::write(&p, text).unwrap();
        let f = File::open(&p).unwrap();
        backfill_start(&f, text.len() as u64, n, 1 << 20).unwrap() as usize
    }

    #[test]
    fn finds_the_last_n_lines() {
        let text = b"one\ntwo\r\n\nthree\nfour\n";
        assert_eq!(&text[start(text, 1)..], b"four\n");
        assert_eq!(&text[start(text, 2)..], b"three\nfour\n");
        assert_eq!(&text[start(text, 3)..], b"two\r\n\nthree\nfour\n");
        assert_eq!(start(text, 4), 0);
        assert_eq!(start(text, 99), 0);
        assert_eq!(start(text, 0), text.len());
        assert_eq!(start(b"", 5), 0);
    }

    #[test]
    fn scan_limit_keeps_whole_lines() {
        let mut text = Vec::new();
        for i in 0..100 {
            text.extend_from_slice(format!("line {i:03}\n").as_bytes());
        }
        let dir = tempfile::Builder::new()
            .prefix("ts-hud-backfill-cap-")
            .tempdir()
            .unwrap();
        let p = dir.path().join("cap");
        std::fs::write(&p, &text).unwrap();
        let f = File::open(&p).unwrap();
        // 25 bytes reach back into the third-to-last line: only whole lines are kept.
        let s = backfill_start(&f, text.len() as u64, 50, 25).unwrap() as usize;
        assert_eq!(&text[s..], b"line 098\nline 099\n");
    }
}
