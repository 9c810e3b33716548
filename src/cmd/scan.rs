//! `scan`: the parallel batch driver — flags in, [`Scanner`] over the inputs, stats out.

use super::telemetry::Telemetry;
use super::{make_output, persist, Outcome};
use crate::cli::{self, ProgressArg};
use crate::signals::Signals;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::{Duration, Instant};
use trace_sentinel_core::detect::ShardSet;
use trace_sentinel_core::engine::Engine;
use trace_sentinel_core::input;
use trace_sentinel_core::scan::{ScanEvent, ScanInput, ScanOptions, ScanReport, Scanner};
use trace_sentinel_core::sink::Tee;
use trace_sentinel_core::stats::RunStats;
use trace_sentinel_core::Error;

/// The statistics of a scan so far: the run's, with the stage latencies.
fn scan_stats(
    telemetry: &Telemetry,
    shards: &ShardSet,
    report: &ScanReport,
    elapsed: Duration,
    threads: usize,
    oversized: u64,
) -> RunStats {
    let mut stats = telemetry.snapshot(shards, report.bytes, elapsed, threads, oversized);
    stats.stages.insert("read", report.read.clone());
    stats.stages.insert("parse_extract", report.extract.clone());
    stats.stages.insert("detect", report.detect.clone());
    stats
}

/// Standard error as a terminal that always draws: indicatif's own stderr target hides
/// itself when stderr is not a terminal, but `--progress always` means always (a CI
/// log, `script`, a pager). Plain ANSI cursor moves; writes that fail are ignored.
#[derive(Debug)]
struct ForcedStderr;

impl ForcedStderr {
    /// Move the cursor `n` cells (ANSI CSI `n` + `direction`); nothing for 0.
    fn cursor(&self, n: usize, direction: char) -> std::io::Result<()> {
        if n == 0 {
            Ok(())
        } else {
            self.put(&format!("\x1b[{n}{direction}"))
        }
    }

    fn put(&self, s: &str) -> std::io::Result<()> {
        use std::io::Write;
        let _ = std::io::stderr().write_all(s.as_bytes());
        Ok(())
    }
}

impl indicatif::TermLike for ForcedStderr {
    fn width(&self) -> u16 {
        100
    }
    fn move_cursor_up(&self, n: usize) -> std::io::Result<()> {
        self.cursor(n, 'A')
    }
    fn move_cursor_down(&self, n: usize) -> std::io::Result<()> {
        self.cursor(n, 'B')
    }
    fn move_cursor_right(&self, n: usize) -> std::io::Result<()> {
        self.cursor(n, 'C')
    }
    fn move_cursor_left(&self, n: usize) -> std::io::Result<()> {
        self.cursor(n, 'D')
    }
    fn write_line(&self, s: &str) -> std::io::Result<()> {
        self.put(&format!("{s}\n"))
    }
    fn write_str(&self, s: &str) -> std::io::Result<()> {
        self.put(s)
    }
    fn clear_line(&self) -> std::io::Result<()> {
        self.put("\r\x1b[2K")
    }
    fn flush(&self) -> std::io::Result<()> {
        use std::io::Write;
        let _ = std::io::stderr().flush();
        Ok(())
    }
}

/// The bar `mode` asks for; `total` (the bytes to read, when known) is only worked out
/// when a bar is drawn.
fn progress_bar(mode: ProgressArg, total: impl FnOnce() -> Option<u64>) -> ProgressBar {
    let target = match mode {
        ProgressArg::Never => return ProgressBar::hidden(),
        ProgressArg::Auto if !std::io::stderr().is_terminal() => return ProgressBar::hidden(),
        ProgressArg::Auto => ProgressDrawTarget::stderr_with_hz(10),
        ProgressArg::Always if std::io::stderr().is_terminal() => {
            ProgressDrawTarget::stderr_with_hz(10)
        }
        ProgressArg::Always => ProgressDrawTarget::term_like_with_hz(Box::new(ForcedStderr), 10),
    };
    let total = total();
    let bar = ProgressBar::with_draw_target(total, target);
    let template = if total.is_some() {
        "{bar:30} {bytes}/{total_bytes} {binary_bytes_per_sec} {msg} ETA {eta}"
    } else {
        "{spinner} {bytes} {binary_bytes_per_sec} {msg}"
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar
}

/// Run `scan`.
pub fn run(args: cli::ScanArgs, signals: &Signals) -> Result<Outcome, Error> {
    let (cfg, format) = args.detect.to_config(false)?;
    persist::validate(&args.persist)?;
    let threads = match args.threads {
        None => ScanOptions::default().threads,
        Some(n) if (1..=1024).contains(&n) => n as usize,
        Some(n) => {
            return Err(Error::Config {
                flag: "--threads",
                reason: format!("{n} (must be 1..=1024)"),
            })
        }
    };
    input::check_paths(&args.paths)?;
    persist::check_outputs(args.stats_json.as_deref(), &args.persist)?;
    let start = Instant::now();
    let inputs: Vec<ScanInput> = args
        .paths
        .iter()
        .map(|p| ScanInput {
            path: p.clone(),
            source: persist::source_for(p, &args.persist),
        })
        .collect();
    // Total size for the bar: regular uncompressed files only (each is opened to sniff
    // for compression, so only when a bar is drawn).
    let total = || -> Option<u64> {
        args.paths
            .iter()
            .map(|p| {
                if input::is_stdin(p) || input::is_compressed_input(p) {
                    None
                } else {
                    std::fs::metadata(p).ok().map(|m| m.len())
                }
            })
            .sum()
    };
    let mut engine = Engine::new(cfg, format);
    persist::load_baseline(&mut engine, &args.persist)?;
    if args.detect.seed > 0 {
        let primed = engine.prime_benign(args.detect.seed as usize);
        say!("primed baselines with {primed} benign signals");
    }
    let opts = ScanOptions {
        threads,
        chunk_size: args.chunk_size.max(1),
        in_flight: 0,
        max_line_bytes: args.detect.max_line_bytes as usize,
        binary: args.input.binary,
    };
    let scanner = Scanner::new(opts, format, engine.shards().config())?;
    let bar = progress_bar(args.progress, total);
    let mut out = make_output(&args.detect, false, Some(&bar))?;
    let mut telemetry = Telemetry::start(&args.metrics, out.deliveries)?;
    let mut sink = Tee(telemetry.counter(), &mut *out.sink);
    // The first report draws at once (so even a short run shows the bar under
    // `--progress always`); later ones at most every 100 ms.
    let mut last_tick: Option<Instant> = None;
    let mut progress = |event: ScanEvent<'_>| match event {
        ScanEvent::Progress { report, shards } => {
            if last_tick.is_none_or(|t| t.elapsed() >= Duration::from_millis(100)) {
                last_tick = Some(Instant::now());
                bar.set_position(report.bytes);
                let secs = start.elapsed().as_secs_f64().max(1e-9);
                let events = shards.counters().events;
                bar.set_message(format!("{:.0} lines/s", events as f64 / secs));
            }
            if telemetry.due() {
                let oversized = scanner.oversized_lines();
                let stats = scan_stats(
                    &telemetry,
                    shards,
                    report,
                    start.elapsed(),
                    threads,
                    oversized,
                );
                telemetry.publish(stats);
            }
        }
        ScanEvent::Skipped(e) => bar.suspend(|| say!("trace-sentinel: note: {e}")),
        ScanEvent::Failed(e) => bar.suspend(|| say!("trace-sentinel: error: {e}")),
    };
    let report = scanner.run(
        &inputs,
        engine.shards_mut(),
        &mut sink,
        signals.stop_flag(),
        &mut progress,
    )?;
    bar.finish_and_clear();
    // The delivery sinks finish here (bounded), so the statistics hold their last word.
    drop(sink);
    drop(out.sink);
    let stats = scan_stats(
        &telemetry,
        engine.shards(),
        &report,
        start.elapsed(),
        threads,
        scanner.oversized_lines(),
    );
    telemetry.publish(stats.clone());
    super::report_limits(
        engine.shards(),
        scanner.oversized_lines(),
        args.detect.max_line_bytes,
    );
    persist::save_baseline(&engine, &args.persist)?;
    if let Some(path) = &args.stats_json {
        stats.write_to(path)?;
    }
    let n = engine.shards().counters().anomalies;
    Ok(if report.interrupted {
        Outcome::Interrupted(n)
    } else if !report.failed.is_empty() {
        // Each failed input was reported as it happened; the run still finished.
        Outcome::Failed(n)
    } else {
        Outcome::Done(n)
    })
}
