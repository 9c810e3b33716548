//! Fuzz target: the whole engine on arbitrary bytes — split, decode, parse (text or
//! JSON lines), extract, detect with tiny caps, and both output sinks.
//!
//! The first 4 bytes choose the configuration (format, semantic layer, detector, shard
//! mode, threshold, warmup, source and metric caps); the rest is the input. Oracles:
//! the text console is valid UTF-8 with no control character but the line feed; every
//! JSON line is ASCII without control bytes, parses (non-finite scores are the Python
//! literals `Infinity`/`-Infinity`, lone surrogates are `\udXXX` escapes, both as
//! `json.dumps` writes them) and carries the anomaly's exact source and message;
//! feeding the input as one block (the `scan` path) or line by line (the `watch` path)
//! reports the same anomalies.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use trace_sentinel_core::sink::{CallbackSink, ConsoleSink, JsonSink, Sink, Tee};
use trace_sentinel_core::{Anomaly, Config, DetectorKind, Engine, InputFormat, ShardBy};
use trace_sentinel_kernels::split::Lines;

#[path = "../../tests/support/unlone.rs"]
mod unlone;
use unlone::unlone;

/// What is compared between the two feeding paths (the clock-dependent inter-arrival
/// metric and timestamps are excluded: events without a timestamp get "now").
type Seen = Vec<(String, u64, u64, String, String)>;

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

fn record(out: &mut Seen, a: &Anomaly<'_>) {
    if a.metric != "event.interarrival_s" {
        // `a.message` shows a lone surrogate as three U+FFFD (reported); compare with
        // the WTF-8 the JSON output is written from.
        let message = match a.message_wtf8 {
            Some(b) => wtf8_lossy(b),
            None => a.message.to_string(),
        };
        out.push((
            a.metric.to_string(),
            a.value.to_bits(),
            a.score.to_bits(),
            a.source.to_string(),
            message,
        ));
    }
}

fn config(head: &[u8; 4]) -> (Config, InputFormat) {
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

fn check_json(bytes: &[u8], seen: &Seen) {
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
        assert_eq!(o["metric"].as_str(), Some(s.0.as_str()));
        assert_eq!(o["source"].as_str(), Some(s.3.as_str()));
        assert_eq!(o["message"].as_str(), Some(s.4.as_str()));
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((head, body)) = data.split_first_chunk::<4>() else {
        return;
    };
    let (cfg, format) = config(head);

    let mut block = Engine::new(cfg.clone(), format);
    let mut console_bytes: Vec<u8> = Vec::new();
    let mut json_bytes: Vec<u8> = Vec::new();
    let mut seen_block: Seen = Vec::new();
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
    let mut seen_line: Seen = Vec::new();
    {
        let mut sink = CallbackSink(|a: &Anomaly<'_>| record(&mut seen_line, a));
        for line in Lines::new(body) {
            by_line
                .feed_line(line, "fuzz", &mut sink)
                .expect("in-memory sink");
        }
    }
    assert_eq!(seen_block, seen_line, "block and line paths disagree");
    check_console(&console_bytes);
    check_json(&json_bytes, &seen_block);
});
