//! The `trace-sentinel` binary: parse flags, run a command, map errors to exit codes
//! (0 success, 2 bad input or flags, 130 interrupted). The commands are thin drivers over
//! the library's engine.

mod cli;

use clap::Parser;
use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use trace_sentinel::engine::Engine;
use trace_sentinel::input::{self, BlockReader};
use trace_sentinel::sink::{ConsoleSink, JsonSink, Sink};
use trace_sentinel::Error;

/// How a run ended.
enum Outcome {
    Done(u64),
    Interrupted(u64),
}

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                let _ = e.print();
                return ExitCode::SUCCESS;
            }
            // One line: clap's first line names the flag and the problem.
            let rendered = e.render().to_string();
            let first = rendered.lines().next().unwrap_or("invalid arguments");
            let first = first.strip_prefix("error: ").unwrap_or(first);
            eprintln!("trace-sentinel: error: {first}");
            return ExitCode::from(2);
        }
    };
    let interrupted = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        // A second signal while shutting down exits at once.
        let _ = signal_hook::flag::register_conditional_shutdown(sig, 130, Arc::clone(&interrupted));
        let _ = signal_hook::flag::register(sig, Arc::clone(&interrupted));
    }
    let result = match cli.command {
        cli::Command::Watch(args) => watch(args, &interrupted),
    };
    match result {
        Ok(Outcome::Done(n)) => {
            eprintln!("done — {n} anomalies surfaced");
            ExitCode::SUCCESS
        }
        Ok(Outcome::Interrupted(n)) => {
            eprintln!("\nstopped — {n} anomalies surfaced");
            ExitCode::from(130)
        }
        Err(Error::Output(e)) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("trace-sentinel: error: {e}");
            ExitCode::from(2)
        }
    }
}

fn use_color() -> bool {
    io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Build the sink the flags ask for.
fn make_sink(format: cli::Format) -> Box<dyn Sink> {
    match format {
        cli::Format::Json => Box::new(JsonSink::new(io::BufWriter::with_capacity(1 << 16, io::stdout()))),
        cli::Format::Text => {
            Box::new(ConsoleSink::new(io::BufWriter::with_capacity(1 << 16, io::stderr()), use_color()))
        }
    }
}

fn watch(args: cli::WatchArgs, interrupted: &AtomicBool) -> Result<Outcome, Error> {
    let (cfg, format) = args.detect.to_config(false)?;
    input::check_paths(&args.paths)?;
    let mut engine = Engine::new(cfg, format);
    if args.detect.seed > 0 {
        let primed = engine.prime_benign(args.detect.seed as usize);
        eprintln!("primed baselines with {primed} benign signals");
    }
    let mut sink = make_sink(args.detect.format);
    let mut reader = BlockReader::new();
    let mut stopped = false;
    for path in &args.paths {
        let source = input::source_name(path);
        let mut stream = input::open_stream(path)?;
        let read = reader.for_each_block(&mut stream, |block| {
            for line in trace_sentinel::split::Lines::new(block) {
                if interrupted.load(Ordering::Relaxed) {
                    stopped = true;
                    return Ok(false);
                }
                engine.feed_line(line, &source, &mut *sink).map_err(output_error)?;
            }
            Ok(true)
        });
        match read {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Other && e.get_ref().is_some_and(|r| r.is::<OutputFailed>()) => {
                let inner = e.into_inner().and_then(|b| b.downcast::<OutputFailed>().ok());
                return Err(Error::Output(inner.map_or_else(|| io::Error::other("output"), |b| b.0)));
            }
            Err(e) => return Err(Error::Input { path: path.clone(), source: e }),
        }
        if stopped {
            break;
        }
    }
    sink.flush().map_err(Error::Output)?;
    let _ = io::stderr().flush();
    let n = engine.sentinel.counters.anomalies;
    Ok(if stopped { Outcome::Interrupted(n) } else { Outcome::Done(n) })
}

/// Marks an output failure travelling through the reader's `io::Error` channel.
#[derive(Debug)]
struct OutputFailed(io::Error);

impl std::fmt::Display for OutputFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for OutputFailed {}

fn output_error(e: io::Error) -> io::Error {
    io::Error::other(OutputFailed(e))
}
