//! `watch`: read files (or stdin) in order on one thread through the shared engine.

use super::{classify, make_output, output_error, Outcome};
use crate::cli;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use trace_sentinel::engine::Engine;
use trace_sentinel::input::{self, BlockReader};
use trace_sentinel::Error;

/// Run `watch`.
pub fn run(args: cli::WatchArgs, interrupted: &AtomicBool) -> Result<Outcome, Error> {
    let (cfg, format) = args.detect.to_config(false)?;
    input::check_paths(&args.paths)?;
    let mut engine = Engine::new(cfg, format);
    if args.detect.seed > 0 {
        let primed = engine.prime_benign(args.detect.seed as usize);
        eprintln!("primed baselines with {primed} benign signals");
    }
    let mut sink = make_output(&args.detect)?;
    let mut reader = BlockReader::new();
    let mut stopped = false;
    for path in &args.paths {
        let source = input::source_name(path);
        let mut stream = input::open_stream(path)?;
        reader
            .for_each_block(&mut stream, |block| {
                if interrupted.load(Ordering::Relaxed) {
                    stopped = true;
                    return Ok(false);
                }
                engine
                    .feed_block(block, &source, &mut *sink)
                    .map_err(output_error)?;
                Ok(true)
            })
            .map_err(|e| classify(e, path))?;
        if stopped {
            break;
        }
    }
    sink.flush().map_err(Error::Output)?;
    let _ = io::stderr().flush();
    let n = engine.sentinel.counters.anomalies;
    Ok(if stopped {
        Outcome::Interrupted(n)
    } else {
        Outcome::Done(n)
    })
}
