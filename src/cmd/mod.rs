//! Command drivers: each wires inputs to the engine and the engine to sinks. Shared
//! plumbing (sink construction, output-error transport) lives here.

pub mod docs;
pub mod follow;
#[cfg(feature = "hud")]
pub mod hud;
pub mod nats;
pub mod persist;
pub mod scan;
pub mod telemetry;
pub mod watch;

use crate::cli;
use indicatif::ProgressBar;
use std::io::{self, IsTerminal, Write};
use trace_sentinel_core::sink::{ConsoleSink, JsonSink, Sink, Tee};
use trace_sentinel_core::stats::DeliveryProbe;
use trace_sentinel_core::Error;

/// How a run ended.
pub enum Outcome {
    /// Finished; anomalies reported.
    Done(u64),
    /// Stopped by SIGINT/SIGTERM; anomalies reported.
    Interrupted(u64),
    /// A long-running service stopped cleanly by SIGTERM (exit 0); anomalies reported.
    Terminated(u64),
    /// A command that prints a document (completions, a man page): exit 0, nothing more
    /// said.
    Printed,
    /// A command that says its own last line (`ship`, `worker`): `line` on stderr, then
    /// exit `code` (0, or 130 when interrupted).
    #[cfg_attr(not(feature = "nats"), allow(dead_code))]
    Summary {
        /// The last line.
        line: String,
        /// The exit code.
        code: u8,
    },
    /// Finished, but an input failed part-way (already reported on stderr): exit 2.
    Failed(u64),
}

/// Colour only on a terminal and never with `NO_COLOR` set.
pub fn use_color() -> bool {
    io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Build the sink the flags ask for; with a visible progress `bar`, its lines are written
/// with the bar hidden ([`AboveBar`]).
pub fn make_sink(format: cli::Format, bar: Option<&ProgressBar>) -> Box<dyn Sink> {
    let bar = bar.filter(|b| !b.is_hidden());
    let out: Box<dyn Write> = match (format, bar) {
        (cli::Format::Json, None) => Box::new(io::stdout()),
        (cli::Format::Json, Some(bar)) => Box::new(AboveBar::new(bar.clone(), io::stdout())),
        (cli::Format::Text, None) => Box::new(io::stderr()),
        (cli::Format::Text, Some(bar)) => Box::new(AboveBar::new(bar.clone(), io::stderr())),
    };
    let out = io::BufWriter::with_capacity(1 << 16, out);
    match format {
        cli::Format::Json => Box::new(JsonSink::new(out)),
        cli::Format::Text => Box::new(ConsoleSink::new(out, use_color())),
    }
}

/// A terminal writer shared with a progress bar: complete lines are written with the bar
/// cleared and drawn again below them (indicatif's `suspend`), so output and bar never
/// share a row; the start of an unfinished line waits for its end (or for `flush`).
pub struct AboveBar<W: Write> {
    bar: ProgressBar,
    out: W,
    pending: Vec<u8>,
}

impl<W: Write> AboveBar<W> {
    /// Write to `out` around `bar`.
    pub fn new(bar: ProgressBar, out: W) -> Self {
        AboveBar {
            bar,
            out,
            pending: Vec::new(),
        }
    }

    /// Write the first `n` pending bytes with the bar hidden.
    fn release(&mut self, n: usize) -> io::Result<()> {
        let AboveBar { bar, out, pending } = self;
        bar.suspend(|| {
            out.write_all(&pending[..n])?;
            out.flush()
        })?;
        pending.drain(..n);
        Ok(())
    }
}

impl<W: Write> Write for AboveBar<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.pending.extend_from_slice(buf);
        if let Some(end) = self.pending.iter().rposition(|&b| b == b'\n') {
            self.release(end + 1)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if !self.pending.is_empty() {
            self.release(self.pending.len())?;
        }
        self.out.flush()
    }
}

/// The delivery sinks `--webhook` and `--alertmanager` ask for, as one sink (`None`
/// without either), and the probes that read their counts.
pub struct Deliveries {
    pub sink: Option<Box<dyn Sink + Send>>,
    pub probes: Vec<DeliveryProbe>,
}

/// The `--webhook` and `--alertmanager` sinks, holding anomalies back until flushed when
/// `hold` is set; `generator_url` is the alerts' `generatorURL`. They report failures
/// while running and what they lost when they finish, on stderr.
#[cfg(feature = "webhook")]
pub fn deliveries(
    args: &cli::DetectArgs,
    hold: bool,
    generator_url: Option<String>,
) -> Result<Deliveries, Error> {
    use trace_sentinel_webhook::{
        AlertmanagerSink, DeliverySink, DeliveryStats, Render, WebhookSink,
    };
    fn wire<R: Render + 'static>(
        sink: DeliverySink<R>,
        probes: &mut Vec<DeliveryProbe>,
    ) -> Box<dyn Sink + Send> {
        probes.extend(sink.probes());
        Box::new(
            sink.on_warning(|w| say!("trace-sentinel: warning: {w}"))
                .on_loss(|s: &DeliveryStats| {
                    say!(
                        "trace-sentinel: {} {}: {}",
                        s.sink,
                        s.target,
                        s.counts.summary()
                    )
                }),
        )
    }
    let mut probes = Vec::new();
    let mut sinks: Vec<Box<dyn Sink + Send>> = Vec::new();
    if let Some(mut opts) = args.webhook.to_options()? {
        opts.delivery.hold_until_flush = hold;
        sinks.push(wire(WebhookSink::new(opts)?, &mut probes));
    }
    if let Some(mut opts) = args.alerts.to_options()? {
        opts.delivery.hold_until_flush = hold;
        opts.generator_url = generator_url;
        sinks.push(wire(AlertmanagerSink::new(opts)?, &mut probes));
    }
    let sink = sinks
        .into_iter()
        .reduce(|a, b| Box::new(Tee(a, b)) as Box<dyn Sink + Send>);
    Ok(Deliveries { sink, probes })
}

/// A build without the `webhook` feature refuses `--webhook` and `--alertmanager`.
#[cfg(not(feature = "webhook"))]
pub fn deliveries(
    args: &cli::DetectArgs,
    _hold: bool,
    _generator_url: Option<String>,
) -> Result<Deliveries, Error> {
    let flag = if args.webhook.webhook.is_some() {
        "--webhook"
    } else if !args.alerts.alertmanager.is_empty() {
        "--alertmanager"
    } else {
        return Ok(Deliveries {
            sink: None,
            probes: Vec::new(),
        });
    };
    Err(Error::Config {
        flag,
        reason: "this build of trace-sentinel has no HTTP delivery (the `webhook` feature is off)"
            .into(),
    })
}

/// `hud` in a build without the `hud` feature: refused with exit 2.
#[cfg(not(feature = "hud"))]
pub mod hud {
    use super::Outcome;
    use crate::cli::hud::HudArgs;
    use crate::signals::Signals;
    use trace_sentinel_core::Error;

    /// Refuse to run.
    pub fn run(_: HudArgs, _: &Signals) -> Result<Outcome, Error> {
        Err(Error::Config {
            flag: "the hud command",
            reason: "this build of trace-sentinel has no dashboard (the `hud` feature is off)"
                .into(),
        })
    }
}

/// The `--format` sink teed into the delivery sinks, and the probes of those.
pub struct Output {
    pub sink: Box<dyn Sink>,
    pub deliveries: Vec<DeliveryProbe>,
}

/// The `--format` sink, teed into the delivery sinks (`--webhook`, `--alertmanager`),
/// which hold anomalies back until the sink is flushed when `hold` is set (follow mode
/// with `--state` flushes after each durable checkpoint, so a crash cannot make a
/// receiver get an anomaly twice). A visible progress `bar` is hidden while lines are
/// written (see [`make_sink`]).
pub fn make_output(
    args: &cli::DetectArgs,
    hold: bool,
    bar: Option<&ProgressBar>,
) -> Result<Output, Error> {
    let out = make_sink(args.format, bar);
    let d = deliveries(args, hold, None)?;
    Ok(Output {
        sink: match d.sink {
            Some(delivery) => Box::new(Tee(out, delivery)),
            None => out,
        },
        deliveries: d.probes,
    })
}

/// Marks an output failure travelling through a reader's `io::Error` channel, so it is
/// reported as an output error rather than an input error.
#[derive(Debug)]
pub struct OutputFailed(pub io::Error);

impl std::fmt::Display for OutputFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for OutputFailed {}

/// Wrap a sink error for transport through an input callback.
pub fn output_error(e: io::Error) -> io::Error {
    io::Error::other(OutputFailed(e))
}

/// Turn an error from an input callback back into the right library error.
pub fn classify(e: io::Error, path: &std::path::Path) -> Error {
    if e.get_ref().is_some_and(|r| r.is::<OutputFailed>()) {
        let inner = e
            .into_inner()
            .and_then(|b| b.downcast::<OutputFailed>().ok());
        return Error::Output(inner.map_or_else(|| io::Error::other("output failed"), |b| b.0));
    }
    Error::Input {
        path: path.to_path_buf(),
        source: e,
    }
}

/// Say once, at the end of a run, which configured limits were hit (each a single line on
/// stderr): over-long lines, sources past `--max-sources`, metrics past the metric cap,
/// inter-arrival sources past the table bound; with `--templates`, the template summary.
pub fn report_limits(
    shards: &trace_sentinel_core::detect::ShardSet,
    oversized: u64,
    max_line_bytes: i64,
) {
    let c = shards.counters();
    if oversized > 0 {
        say!(
            "note: {oversized} line(s) longer than --max-line-bytes {max_line_bytes} were measured whole but kept as their first {max_line_bytes} bytes"
        );
    }
    if c.overflow_events > 0 || c.interarrival_untracked > 0 {
        say!(
            "note: --max-sources reached: {} event(s) from later sources shared the overflow shard, {} inter-arrival value(s) of untracked sources not computed",
            c.overflow_events, c.interarrival_untracked
        );
    }
    if c.metrics_dropped > 0 {
        say!(
            "note: {} metric value(s) ignored: a shard reached the 4096-metric cap",
            c.metrics_dropped
        );
    }
    if let Some(report) = persist::template_report(shards) {
        say!("{report}");
    }
}
