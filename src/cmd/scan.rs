//! `scan`: the parallel batch driver — flags in, [`Scanner`] over the inputs, stats out.

use super::{make_output, persist, Outcome};
use crate::cli::{self, ProgressArg};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};
use trace_sentinel::engine::Engine;
use trace_sentinel::input;
use trace_sentinel::scan::{ScanInput, ScanOptions, Scanner};
use trace_sentinel::sink::Tee;
use trace_sentinel::stats::StatsSink;
use trace_sentinel::Error;

fn progress_bar(mode: ProgressArg, total: Option<u64>) -> ProgressBar {
    let show = match mode {
        ProgressArg::Always => true,
        ProgressArg::Never => false,
        ProgressArg::Auto => std::io::stderr().is_terminal(),
    };
    if !show {
        return ProgressBar::hidden();
    }
    let bar = match total {
        Some(t) => ProgressBar::with_draw_target(Some(t), ProgressDrawTarget::stderr_with_hz(10)),
        None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr_with_hz(10)),
    };
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
pub fn run(args: cli::ScanArgs, interrupted: &AtomicBool) -> Result<Outcome, Error> {
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
    let start = Instant::now();
    let inputs: Vec<ScanInput> = args
        .paths
        .iter()
        .map(|p| ScanInput {
            path: p.clone(),
            source: persist::source_for(p, &args.persist),
        })
        .collect();
    // Total size for the bar: regular uncompressed files only.
    let total: Option<u64> = args
        .paths
        .iter()
        .map(|p| {
            if input::is_stdin(p) || input::is_gzip(p) {
                None
            } else {
                std::fs::metadata(p).ok().map(|m| m.len())
            }
        })
        .sum();
    let semantic = cfg.semantic;
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
    };
    let scanner = Scanner::new(opts, format, semantic)?;
    let mut out = make_output(&args.detect)?;
    let mut sink = Tee(StatsSink::default(), &mut *out);
    let bar = progress_bar(args.progress, total);
    let mut last_tick = Instant::now();
    let mut progress = |bytes: u64, events: u64| {
        if last_tick.elapsed() >= Duration::from_millis(100) {
            last_tick = Instant::now();
            bar.set_position(bytes);
            let secs = start.elapsed().as_secs_f64().max(1e-9);
            bar.set_message(format!("{:.0} lines/s", events as f64 / secs));
        }
    };
    let report = scanner.run(
        &inputs,
        &mut engine.shards,
        &mut sink,
        interrupted,
        &mut progress,
    )?;
    bar.finish_and_clear();
    super::report_limits(
        &engine.shards.counters,
        scanner.oversized_lines(),
        args.detect.max_line_bytes,
    );
    let Tee(stats_sink, _) = sink;
    persist::save_baseline(&engine, &args.persist)?;
    if let Some(path) = &args.stats_json {
        let mut stats = persist::run_stats(
            &engine.shards,
            report.bytes,
            stats_sink,
            start.elapsed(),
            threads,
        );
        stats.stages.insert("read", report.read);
        stats.stages.insert("parse_extract", report.extract);
        stats.stages.insert("detect", report.detect);
        stats
            .counters
            .insert("oversized_lines", scanner.oversized_lines());
        stats.write_to(path)?;
    }
    let n = engine.shards.counters.anomalies;
    Ok(if report.interrupted {
        Outcome::Interrupted(n)
    } else {
        Outcome::Done(n)
    })
}
