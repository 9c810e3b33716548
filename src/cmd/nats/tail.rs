//! `tail-anomalies`: print the anomaly stream the workers publish, in the formats of
//! `watch`: `--format json` writes each message's JSON object (the very bytes `watch
//! --format json` prints) to stdout, `--format text` rebuilds each anomaly from its JSON
//! and headers and writes the usual text entries to stderr. Without `--follow` it stops
//! at the last anomaly there was when it started.

use super::common::{connect, nats, patiently, STARTUP_PATIENCE};
use crate::cli::nats::TailArgs;
use crate::cli::Format;
use crate::cmd::{make_sink, Outcome};
use crate::signals::Signals;
use std::io::{self, Write};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use trace_sentinel_bus::layout::check_subject_prefix;
use trace_sentinel_core::sink::Sink;
use trace_sentinel_core::{
    Anomaly, Error, Level, LineContext, Rarity, Severity, TemplateRef, Timestamp,
};
use trace_sentinel_nats::streams;
use trace_sentinel_nats::tail::{AnomalyMessage, AnomalyReader};
use trace_sentinel_pycompat::pyjson::{JsonDoc, Kind};

/// Run `tail-anomalies`.
pub fn run(args: TailArgs, signals: &Signals) -> Result<Outcome, Error> {
    trace_sentinel_nats::check_url(&args.nats).map_err(|e| Error::Config {
        flag: "--nats",
        reason: e.to_string(),
    })?;
    check_subject_prefix(&args.anomalies).map_err(|reason| Error::Config {
        flag: "--anomalies",
        reason,
    })?;
    let conn = connect(&args.nats, "trace-sentinel tail-anomalies")?;
    let stop = signals.stop_flag();
    let mut said = false;
    let stream = loop {
        let Some(found) = patiently(stop, || {
            streams::find_anomaly_stream(&conn, &args.anomalies)
        })?
        else {
            break None;
        };
        if let Some(name) = found {
            break Some(name);
        }
        if !args.follow {
            break None;
        }
        if !said {
            say!(
                "trace-sentinel: note: no stream holds {}.> yet; waiting for the first worker to create it",
                args.anomalies
            );
            said = true;
        }
        if stop.load(Ordering::Relaxed) {
            break None;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    let mut printed = 0u64;
    if let Some(stream) = stream {
        let Some(mut reader) = patiently(stop, || {
            AnomalyReader::open(&conn, &stream, &args.anomalies, args.follow)
        })?
        else {
            return Ok(if signals.terminated() {
                Outcome::Terminated(0)
            } else {
                Outcome::Interrupted(0)
            });
        };
        let mut out = make_sink(args.format, None);
        let mut stdout = io::BufWriter::new(io::stdout().lock());
        let mut doc = JsonDoc::default();
        // A transient failure (a node of the cluster going away) is said once and read
        // through; one that lasts longer than a startup's patience ends the command.
        let mut failing_since: Option<Instant> = None;
        while !stop.load(Ordering::Relaxed) && !reader.finished() {
            let next = match reader.next(Duration::from_millis(200)) {
                Ok(m) => {
                    failing_since = None;
                    m
                }
                Err(e) if e.is_transient() => {
                    let since = *failing_since.get_or_insert_with(|| {
                        say!("trace-sentinel: warning: {e} (retrying)");
                        Instant::now()
                    });
                    if since.elapsed() > STARTUP_PATIENCE {
                        return Err(nats(e));
                    }
                    std::thread::sleep(Duration::from_millis(200));
                    continue;
                }
                Err(e) => return Err(nats(e)),
            };
            let Some(m) = next else {
                out.flush().map_err(Error::Output)?;
                stdout.flush().map_err(Error::Output)?;
                continue;
            };
            match args.format {
                Format::Json => {
                    stdout.write_all(&m.body).map_err(Error::Output)?;
                    stdout.write_all(b"\n").map_err(Error::Output)?;
                }
                Format::Text => print_text(&m, &mut doc, &mut *out)?,
            }
            printed += 1;
        }
        out.flush().map_err(Error::Output)?;
        stdout.flush().map_err(Error::Output)?;
    }
    let stopped = stop.load(Ordering::Relaxed);
    Ok(if stopped && !signals.terminated() {
        Outcome::Interrupted(printed)
    } else if stopped {
        Outcome::Terminated(printed)
    } else {
        Outcome::Done(printed)
    })
}

/// Rebuild the anomaly from its JSON object and headers and write its text entry.
fn print_text(m: &AnomalyMessage, doc: &mut JsonDoc, out: &mut dyn Sink) -> Result<(), Error> {
    let text = String::from_utf8_lossy(&m.body);
    let Ok(parsed) = doc.parse(&text) else {
        say!(
            "trace-sentinel: note: anomaly {} is not a JSON object; skipped",
            m.seq
        );
        return Ok(());
    };
    let root = parsed.root();
    if parsed.kind(root) != Kind::Dict {
        say!(
            "trace-sentinel: note: anomaly {} is not a JSON object; skipped",
            m.seq
        );
        return Ok(());
    }
    let mut timestamp = None;
    let (mut source, mut metric, mut message) = ("", "", String::new());
    let mut wtf8 = None;
    let (mut value, mut score, mut severity) = (0.0, 0.0, Severity::Warning);
    let (mut line, mut template_id, mut template, mut level) = (None, None, None, None);
    for (k, v) in parsed.members(root) {
        let str_of = |id| parsed.str_utf8(id).unwrap_or("");
        match parsed.str_utf8(k).unwrap_or("") {
            "timestamp" => timestamp = Timestamp::parse_json_string(str_of(v)),
            "source" => source = str_of(v),
            "metric" => metric = str_of(v),
            "value" => value = parsed.as_float(v).unwrap_or(0.0),
            "score" => score = parsed.as_float(v).unwrap_or(0.0),
            "severity" => {
                severity = match str_of(v) {
                    "critical" => Severity::Critical,
                    "high" => Severity::High,
                    _ => Severity::Warning,
                }
            }
            "message" => {
                let raw = parsed.str_wtf8(v).unwrap_or_default();
                trace_sentinel_pycompat::pyjson::push_wtf8_lossy(&mut message, raw);
                if parsed.str_has_surrogates(v) {
                    wtf8 = Some(raw);
                }
            }
            "line" => line = parsed.as_float(v).map(|f| f as u64),
            "template_id" => template_id = parsed.as_float(v).map(|f| f as u64),
            "template" => template = parsed.str_utf8(v),
            "level" => {
                level = parsed
                    .str_utf8(v)
                    .and_then(|n| Level::ALL.into_iter().find(|l| l.name() == n))
            }
            _ => {}
        }
    }
    let Some(timestamp) = timestamp.or_else(|| Timestamp::from_epoch_seconds(0.0)) else {
        return Ok(());
    };
    let a = Anomaly {
        metric,
        value: m.value.unwrap_or(value),
        score: m.score.unwrap_or(score),
        severity,
        threshold: m.threshold.unwrap_or(3.0),
        semantic: m.semantic,
        timestamp,
        source: m.source.as_deref().unwrap_or(source),
        message: &message,
        message_wtf8: wtf8,
        context: LineContext {
            line,
            template: template_id
                .zip(template)
                .map(|(id, text)| TemplateRef { id, text }),
            level,
            rarity: m.rarity.map(|(seen, out_of)| Rarity { seen, out_of }),
            timed: m.timed,
        },
    };
    out.emit(&a).map_err(Error::Output)
}
