//! Where the HUD's events come from and how each source is driven: file replay (once, or
//! looped with `repeat`, optionally paced; inputs that look binary skipped unless
//! `binary`), stdin, journald, and followed files. Every source
//! hands blocks of complete lines to the [`Monitor`]; this module owns the reading loops,
//! the `running` flag and the source's label, not the detection.

use crate::error::HudError;
use crate::journald::{self, Journal};
use crate::monitor::Monitor;
use std::io::{self, Read};
use std::path::PathBuf;
use std::time::Duration;
use trace_sentinel_core::engine::InputFormat;
use trace_sentinel_core::input::{self, BlockReader};
use trace_sentinel_core::LineCursor;

/// Pause between two passes of a looped replay (the reference's 0.5 s).
pub const LOOP_PAUSE: Duration = Duration::from_millis(500);
/// How long a source whose child process was stopped by a signal waits for the HUD's
/// own stop request before reporting the child's end as a failure.
const STOP_GRACE: Duration = Duration::from_secs(1);

pub use crate::file_input::FileInput;

/// What the HUD reads.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// Replay files in order, once; again and again with `repeat`.
    Replay {
        /// The files.
        files: Vec<FileInput>,
        /// Start over after each pass (`--loop`).
        repeat: bool,
        /// Read files that look binary as text instead of skipping them (`--binary`).
        binary: bool,
    },
    /// Read standard input to its end.
    Stdin {
        /// Line format.
        format: InputFormat,
    },
    /// Follow the system journal after replaying the last `backfill` entries.
    Journald {
        /// Entries of history to replay first.
        backfill: usize,
    },
    /// Follow files (through rotation) after replaying their last `backfill` lines.
    Follow {
        /// The files.
        files: Vec<FileInput>,
        /// Lines of history to replay first, per file.
        backfill: usize,
    },
}

impl Source {
    /// The label the dashboard shows as `mode`.
    pub fn mode(&self) -> String {
        let names = |files: &[FileInput]| {
            let first = files
                .first()
                .map(|f| input::source_name(&f.path))
                .unwrap_or_default();
            match files.len() {
                0 | 1 => first,
                n => format!("{first} +{}", n - 1),
            }
        };
        match self {
            Source::Replay { files, .. } => format!("REPLAY · {}", names(files)),
            Source::Stdin { .. } => "STDIN".to_string(),
            Source::Journald { .. } => "LIVE · JOURNALD".to_string(),
            Source::Follow { files, .. } => format!("FOLLOW · {}", names(files)),
        }
    }

    /// Whether events carry real arrival times (inter-arrival is meaningful): follow,
    /// stdin and journald, and JSON lines (their own timestamps).
    pub fn timed(&self) -> bool {
        match self {
            Source::Replay { files, .. } => {
                files.iter().any(|f| f.format == InputFormat::JsonLines)
            }
            Source::Stdin { format } => *format == InputFormat::JsonLines,
            Source::Journald { .. } | Source::Follow { .. } => true,
        }
    }

    /// Check what can be checked before serving: files exist and are readable,
    /// `journalctl` is installed.
    pub fn preflight(&self) -> Result<(), HudError> {
        match self {
            Source::Replay { files, .. } | Source::Follow { files, .. } => {
                let paths: Vec<PathBuf> = files.iter().map(|f| f.path.clone()).collect();
                input::check_paths(&paths).map_err(HudError::Input)
            }
            Source::Stdin { .. } => Ok(()),
            Source::Journald { .. } => journald::find_program(journald::JOURNALCTL)
                .map(|_| ())
                .ok_or(HudError::JournalctlMissing),
        }
    }

    /// Drive `monitor` with this source until it ends or a stop is requested.
    pub fn run(&self, monitor: &mut Monitor) -> Result<(), HudError> {
        match self {
            Source::Replay {
                files,
                repeat,
                binary,
            } => replay(monitor, files, *repeat, *binary),
            Source::Stdin { format } => {
                monitor.set_running(true);
                monitor.set_line_cursor(LineCursor::default());
                let r = pump(monitor, &mut io::stdin().lock(), "<stdin>", *format);
                match r {
                    Ok(true) => monitor.set_finished(),
                    Ok(false) => {}
                    Err(e) => {
                        return Err(HudError::Read {
                            path: PathBuf::from("-"),
                            source: e,
                        })
                    }
                }
                Ok(())
            }
            Source::Journald { backfill } => run_journal(monitor, *backfill),
            Source::Follow { files, backfill } => crate::follow::run(monitor, files, *backfill),
        }
    }
}

/// Feed `reader` to its end through `monitor`; `Ok(false)` when stopped.
pub fn pump<R: Read + ?Sized>(
    monitor: &mut Monitor,
    reader: &mut R,
    source: &str,
    format: InputFormat,
) -> io::Result<bool> {
    let mut blocks = BlockReader::new();
    let mut more = true;
    blocks.for_each_piece(reader, |piece| {
        more = monitor.feed_piece(piece, source, format);
        Ok(more)
    })?;
    Ok(more)
}

/// Replay `files` once (the source is then finished), or with `repeat` again and again,
/// running throughout. A file that looks binary is skipped with a notice (once).
fn replay(
    monitor: &mut Monitor,
    files: &[FileInput],
    repeat: bool,
    binary: bool,
) -> Result<(), HudError> {
    let mut skipped: Vec<&std::path::Path> = Vec::new();
    monitor.set_running(true);
    loop {
        for f in files {
            let mut stream = match input::open_stream(&f.path, binary) {
                Ok(stream) => stream,
                Err(e @ trace_sentinel_core::Error::Binary(_)) => {
                    if !skipped.contains(&f.path.as_path()) {
                        skipped.push(&f.path);
                        monitor.notice(&e.to_string());
                    }
                    continue;
                }
                Err(e) => return Err(HudError::Input(e)),
            };
            let name = input::source_name(&f.path);
            monitor.set_line_cursor(LineCursor::default());
            let more = pump(monitor, &mut stream, &name, f.format).map_err(|e| HudError::Read {
                path: f.path.clone(),
                source: e,
            })?;
            if !more {
                return Ok(());
            }
        }
        if !repeat {
            monitor.set_finished();
            return Ok(());
        }
        if !monitor.sleep(LOOP_PAUSE) {
            return Ok(());
        }
    }
}

fn run_journal(monitor: &mut Monitor, backfill: usize) -> Result<(), HudError> {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    let mut journal = Journal::spawn(backfill)?;
    let Some(mut out) = journal.stdout() else {
        return Err(HudError::Journalctl("no output pipe".into()));
    };
    let journal = Arc::new(Mutex::new(journal));
    let done = Arc::new(AtomicBool::new(false));
    // Kills the child when the HUD stops, which ends the blocking read below.
    let watcher = {
        let (journal, done, shared) = (
            Arc::clone(&journal),
            Arc::clone(&done),
            Arc::clone(monitor.shared()),
        );
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                if shared.stopping() {
                    lock(&journal).kill();
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };
    monitor.set_running(true);
    let mut mapped = Vec::new();
    let mut blocks = BlockReader::new();
    let read = blocks.for_each_block(&mut out, |block| {
        mapped.clear();
        for line in trace_sentinel_kernels::split::Lines::new(block) {
            journald::map_entry(line, &mut mapped);
        }
        Ok(monitor.feed_block(&mapped, "journald", InputFormat::JsonLines))
    });
    done.store(true, Ordering::Relaxed);
    let _ = watcher.join();
    if monitor.stopping() {
        return Ok(());
    }
    read.map_err(|e| HudError::Read {
        path: PathBuf::from(journald::JOURNALCTL),
        source: e,
    })?;
    let finished = lock(&journal).finish();
    // A stop signal sent to the whole process group ends `journalctl` first: that is the
    // HUD being stopped, not the source failing, once the stop request follows.
    if finished.is_err() && lock(&journal).stopped_by_signal() && !monitor.sleep(STOP_GRACE) {
        return Ok(());
    }
    finished
}

fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
