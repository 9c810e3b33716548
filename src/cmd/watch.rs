//! `watch`: read files (or stdin) in order on one thread through the shared engine;
//! with `--follow`, hand over to [`super::follow`].

use super::telemetry::Telemetry;
use super::{classify, make_output, output_error, persist, Outcome};
use crate::cli;
use crate::signals::Signals;
use std::io::{self, Write};
use std::sync::atomic::Ordering;
use std::time::Instant;
use trace_sentinel_core::engine::Engine;
use trace_sentinel_core::input::{self, BlockReader};
use trace_sentinel_core::sink::{Sink, Tee};
use trace_sentinel_core::stats::StageHistogram;
use trace_sentinel_core::Error;

/// Run `watch`.
pub fn run(args: cli::WatchArgs, signals: &Signals) -> Result<Outcome, Error> {
    if args.follow.follow {
        return super::follow::run(args, signals);
    }
    let interrupted = signals.stop_flag();
    let (cfg, format) = args.detect.to_config(false)?;
    persist::validate(&args.persist)?;
    input::check_paths(&args.paths)?;
    persist::check_outputs(args.stats_json.as_deref(), &args.persist)?;
    let start = Instant::now();
    let mut engine = Engine::new(cfg, format);
    engine.set_max_line_bytes(args.detect.max_line_bytes as usize);
    persist::load_baseline(&mut engine, &args.persist)?;
    if args.detect.seed > 0 {
        let primed = engine.prime_benign(args.detect.seed as usize);
        say!("primed baselines with {primed} benign signals");
    }
    let mut out = make_output(&args.detect, false, None)?;
    let mut telemetry = Telemetry::start(&args.metrics, out.deliveries)?;
    let mut sink = Tee(telemetry.counter(), &mut *out.sink);
    let mut reader = BlockReader::with_max_line(args.detect.max_line_bytes as usize);
    let mut stopped = false;
    let mut bytes = 0u64;
    // Time per piece, read and detected: from the end of one piece to the end of the next.
    let mut stage = StageHistogram::default();
    let mut tick = Instant::now();
    let stats_now = |telemetry: &Telemetry, engine: &Engine, bytes, stage: &StageHistogram| {
        let oversized = engine.oversized_lines();
        let mut stats = telemetry.snapshot(engine.shards(), bytes, start.elapsed(), 1, oversized);
        stats.stages.insert("read_detect", stage.clone());
        stats
    };
    for path in &args.paths {
        let source = persist::source_for(path, &args.persist);
        let mut stream = match input::open_stream(path, args.input.binary) {
            Ok(stream) => stream,
            Err(e @ Error::Binary(_)) => {
                say!("trace-sentinel: note: {e}");
                continue;
            }
            Err(e) => return Err(e),
        };
        engine.begin_input();
        reader
            .for_each_piece(&mut stream, |piece| {
                if interrupted.load(Ordering::Relaxed) {
                    stopped = true;
                    return Ok(false);
                }
                bytes += piece.kept().len() as u64;
                engine
                    .feed_piece(piece, &source, &mut sink)
                    .map_err(output_error)?;
                stage.record(tick.elapsed());
                tick = Instant::now();
                if telemetry.due() {
                    let stats = stats_now(&telemetry, &engine, bytes, &stage);
                    telemetry.publish(stats);
                }
                Ok(true)
            })
            .map_err(|e| classify(e, path))?;
        if stopped {
            break;
        }
    }
    sink.flush().map_err(Error::Output)?;
    // The delivery sinks finish here (bounded), so the statistics hold their last word.
    drop(sink);
    drop(out.sink);
    let stats = stats_now(&telemetry, &engine, bytes, &stage);
    telemetry.publish(stats.clone());
    super::report_limits(
        engine.shards(),
        engine.oversized_lines(),
        args.detect.max_line_bytes,
    );
    let _ = io::stderr().flush();
    persist::save_baseline(&engine, &args.persist)?;
    if let Some(path) = &args.stats_json {
        stats.write_to(path)?;
    }
    let n = engine.shards().counters().anomalies;
    Ok(if stopped {
        Outcome::Interrupted(n)
    } else {
        Outcome::Done(n)
    })
}
