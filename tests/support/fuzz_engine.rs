//! The `engine` fuzz target's run and oracles, shared by `fuzz/fuzz_targets/engine.rs`
//! and the regression replay of `tests/hostile.rs` (both include it with `#[path]`, next
//! to `unlone.rs`), so a checked-in input is replayed against exactly what found it.
//!
//! The first 4 bytes of an input choose the configuration ([`config`]); the rest is fed
//! to the engine twice: as one block (`Engine::feed_block`: the stages `scan`, `watch`
//! and follow mode run, into the console, JSON and recording sinks) and line by line
//! (`Engine::feed_line`, every line [`universal_lines`] finds). Oracles ([`check`]):
//! the text console is valid UTF-8 with no control character but the line feed; every
//! JSON line is ASCII without control bytes, parses (non-finite scores are the Python
//! literals `Infinity`/`-Infinity`, lone surrogates are `\udXXX` escapes, both as
//! `json.dumps` writes them) and carries the anomaly's exact source, message, line
//! number and template; both paths report the same anomalies, with the same line
//! numbers, templates, levels and rarities.

use super::unlone::unlone;
use serde_json::Value;
use trace_sentinel_core::sink::{CallbackSink, ConsoleSink, JsonSink, Sink, Tee};
use trace_sentinel_core::{Anomaly, Config, DetectorKind, Engine, InputFormat, ShardBy};

/// One anomaly as compared between the two feeding paths (the clock-dependent
/// inter-arrival metric and timestamps are left out: events without a timestamp get
/// "now").
#[derive(Debug, PartialEq)]
pub struct Reported {
    metric: String,
    value: u64,
    score: u64,
    source: String,
    message: String,
    line: Option<u64>,
    /// Template id and text (with the template layer).
    template: Option<(u64, String)>,
    level: Option<&'static str>,
    /// Times seen and observations before, for scores by rarity.
    rarity: Option<(u64, u64)>,
}

/// A WTF-8 string as text with each lone surrogate (a 3-byte `ED A0..BF xx` sequence)
/// as one U+FFFD — what the JSON writer's `\udXXX` escape maps to after [`unlone`].
fn wtf8_lossy(b: &[u8]) -> String {
    let mut out = String::new();
    let mut start = 0;
    let mut i = 0;
    while i < b.len() {
        let surrogate = b[i] == 0xED
            && b.get(i + 1).is_some_and(|c| (0xA0..=0xBF).contains(c))
            && b.get(i + 2).is_some_and(|c| (0x80..=0xBF).contains(c));
        if surrogate {
            out.push_str(&String::from_utf8_lossy(&b[start..i]));
            out.push('\u{FFFD}');
            i += 3;
            start = i;
        } else {
            i += 1;
        }
    }
    out.push_str(&String::from_utf8_lossy(&b[start..]));
    out
}

/// The lines of `body` as Python's universal newlines reads them, empty ones included:
/// `\n`, `\r\n` and a lone `\r` each end one line, and a last line may lack its end.
/// A naive reference for the line numbers the engine gives (its own splitter skips
/// empty lines and counts the terminators it passed).
fn universal_lines(body: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < body.len() {
        match body[i] {
            b'\n' => {
                out.push(&body[start..i]);
                start = i + 1;
            }
            b'\r' => {
                out.push(&body[start..i]);
                if body.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    if start < body.len() {
        out.push(&body[start..]);
    }
    out
}

fn record(out: &mut Vec<Reported>, a: &Anomaly<'_>) {
    if a.metric == "event.interarrival_s" {
        return;
    }
    // `a.message` shows a lone surrogate as three U+FFFD (reported); compare with the
    // WTF-8 the JSON output is written from.
    let message = match a.message_wtf8 {
        Some(b) => wtf8_lossy(b),
        None => a.message.to_string(),
    };
    let c = &a.context;
    out.push(Reported {
        metric: a.metric.to_string(),
        value: a.value.to_bits(),
        score: a.score.to_bits(),
        source: a.source.to_string(),
        message,
        line: c.line,
        template: c.template.map(|t| (t.id, t.text.to_string())),
        level: c.level.map(|l| l.name()),
        rarity: c.rarity.map(|r| (r.seen, r.out_of)),
    });
}

/// The configuration the 4 head bytes choose. `head[0]` is a set of flags: bit 0 JSON
/// lines, bit 1 the semantic layer, bits 2–3 the detector, bit 4 one shard, bit 5
/// inter-arrival times, bit 6 the template layer, bit 7 a total template cap of 1–4.
/// The other bytes pick the threshold, warmup, MAD window and the source, metric and
/// per-shard template caps (1–8 templates: eviction runs all the time).
pub fn config(head: &[u8; 4]) -> (Config, InputFormat) {
    let flags = head[0];
    let format = if flags & 1 != 0 {
        InputFormat::JsonLines
    } else {
        InputFormat::Text
    };
    let detector = match (flags >> 2) & 3 {
        0 => DetectorKind::Zscore,
        1 => DetectorKind::Ewma { alpha: 0.3 },
        _ => DetectorKind::Mad {
            window: 2 + usize::from(head[1] % 7),
        },
    };
    let max_templates_total = if flags & 128 != 0 {
        1 + usize::from(head[2] >> 6)
    } else {
        Config::default().max_templates_total
    };
    // `..Config::default()` keeps this compiling when fields are added.
    #[allow(clippy::needless_update)]
    let cfg = Config {
        threshold: 0.5 + f64::from(head[2] % 8) * 0.5,
        warmup: u64::from(head[3] % 4),
        detector,
        semantic: flags & 2 != 0,
        timed: flags & 32 != 0 || format == InputFormat::JsonLines,
        shard_by: if flags & 16 != 0 {
            ShardBy::None
        } else {
            ShardBy::Source
        },
        max_sources: 1 + usize::from(head[1] >> 4) % 3,
        max_metrics: 1 + usize::from(head[3] >> 2) % 6,
        templates: flags & 64 != 0,
        max_templates: 1 + usize::from(head[2] >> 3) % 8,
        max_templates_total,
        ..Config::default()
    };
    (cfg, format)
}

fn check_console(bytes: &[u8]) {
    let text = std::str::from_utf8(bytes).expect("console output is UTF-8");
    for c in text.chars() {
        let u = c as u32;
        assert!(
            c == '\n' || !(u < 0x20 || (0x7f..0xa0).contains(&u)),
            "control U+{u:04X} on the console: {text:?}"
        );
    }
}

fn check_json(bytes: &[u8], seen: &[Reported]) {
    let text = std::str::from_utf8(bytes).expect("JSON output is UTF-8");
    assert!(text
        .bytes()
        .all(|b| b == b'\n' || (0x20..0x7f).contains(&b)));
    let mut strict = unlone(text);
    for key in ["value", "score"] {
        for lit in ["-Infinity", "Infinity", "NaN"] {
            strict = strict.replace(&format!("\"{key}\": {lit},"), &format!("\"{key}\": null,"));
        }
    }
    let objs: Vec<Value> = strict
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}")))
        .collect();
    let reported: Vec<&Value> = objs
        .iter()
        .filter(|o| o["metric"] != "event.interarrival_s")
        .collect();
    assert_eq!(reported.len(), seen.len());
    for (o, s) in reported.iter().zip(seen) {
        assert_eq!(o["metric"].as_str(), Some(s.metric.as_str()));
        assert_eq!(o["source"].as_str(), Some(s.source.as_str()));
        assert_eq!(o["message"].as_str(), Some(s.message.as_str()));
        assert_eq!(o["line"].as_u64(), s.line);
        match &s.template {
            Some((id, text)) => {
                assert_eq!(o["template_id"].as_u64(), Some(*id));
                assert_eq!(o["template"].as_str(), Some(text.as_str()));
                assert_eq!(o["level"].as_str(), s.level);
            }
            None => assert!(o.get("template_id").is_none(), "{o}"),
        }
    }
}

/// Run `data` (4 configuration bytes, then the input) through both paths and check
/// every oracle (a failed one panics). Returns the anomalies reported (inter-arrival
/// ones aside); `None` when `data` is shorter than the configuration.
pub fn check(data: &[u8]) -> Option<usize> {
    let (head, body) = data.split_first_chunk::<4>()?;
    let (cfg, format) = config(head);

    let mut block = Engine::new(cfg.clone(), format);
    let mut console_bytes: Vec<u8> = Vec::new();
    let mut json_bytes: Vec<u8> = Vec::new();
    let mut seen_block: Vec<Reported> = Vec::new();
    {
        let mut sink = Tee(
            ConsoleSink::new(&mut console_bytes, false),
            Tee(
                JsonSink::new(&mut json_bytes),
                CallbackSink(|a: &Anomaly<'_>| record(&mut seen_block, a)),
            ),
        );
        block
            .feed_block(body, "fuzz", &mut sink)
            .expect("in-memory sinks");
        sink.flush().expect("in-memory sinks");
    }

    let mut by_line = Engine::new(cfg, format);
    let mut seen_line: Vec<Reported> = Vec::new();
    {
        let mut sink = CallbackSink(|a: &Anomaly<'_>| record(&mut seen_line, a));
        for line in universal_lines(body) {
            by_line
                .feed_line(line, "fuzz", &mut sink)
                .expect("in-memory sink");
        }
    }
    assert_eq!(seen_block, seen_line, "block and line paths disagree");
    check_console(&console_bytes);
    check_json(&json_bytes, &seen_block);
    Some(seen_block.len())
}
