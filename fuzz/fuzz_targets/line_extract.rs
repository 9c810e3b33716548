//! Fuzz target: line splitting, lossy UTF-8 decoding and feature extraction.
//!
//! Oracles: the splitter drops exactly the line-break bytes and yields no empty line;
//! `decode_lossy` equals `String::from_utf8_lossy`; `message.length` is the char count;
//! `message.tokens` equals a naive count of maximal `\w` runs; block-level
//! `parse_block` agrees with line-by-line `parse`; the chunk path (`extract_chunk` then
//! `observe_chunk`, the fused ASCII kernel on pure-ASCII text) reports what feeding the
//! lines one by one reports; the dispatched kernels agree with the generic ones.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trace_sentinel_core::detect::ShardSet;
use trace_sentinel_core::engine::{ChunkFeatures, InputFormat, LineParser};
use trace_sentinel_core::sink::CallbackSink;
use trace_sentinel_core::{Anomaly, Config};
use trace_sentinel_kernels::split::{self, Lines};
use trace_sentinel_kernels::{generic, spans, words};
use trace_sentinel_pycompat::decode::decode_lossy;
use trace_sentinel_pycompat::unicode;

fn naive_words(s: &str) -> usize {
    let mut n = 0;
    let mut prev = false;
    for c in s.chars() {
        let w = unicode::is_word(c);
        if w && !prev {
            n += 1;
        }
        prev = w;
    }
    n
}

type Seen = Vec<(Vec<u8>, u64, u64)>;

/// Every anomaly's metric, value and score (timestamps of plain text are "now").
fn anomalies(
    semantic: bool,
    feed: impl FnOnce(&mut ShardSet, &mut dyn FnMut(&Anomaly<'_>)),
) -> Vec<(String, u64, u64)> {
    let cfg = Config {
        warmup: 2,
        semantic,
        ..Config::default()
    };
    let mut set = ShardSet::new(cfg);
    let mut out = Vec::new();
    feed(&mut set, &mut |a| {
        out.push((a.metric.to_string(), a.value.to_bits(), a.score.to_bits()))
    });
    out
}

fuzz_target!(|data: &[u8]| {
    let lines: Vec<&[u8]> = Lines::new(data).collect();
    let kept = data.iter().filter(|b| !split::is_line_break(**b)).count();
    assert_eq!(lines.iter().map(|l| l.len()).sum::<usize>(), kept);
    for l in &lines {
        assert!(!l.is_empty());
        assert!(!l.iter().any(|&b| split::is_line_break(b)));
    }
    let done = split::complete_prefix_len(data);
    assert!(done == 0 || split::is_line_break(data[done - 1]));
    assert!(!data[done..].iter().any(|&b| split::is_line_break(b)));
    assert_eq!(split::count_line_breaks(data), data.len() - kept);
    assert_eq!(
        words::count_ascii_words(data),
        generic::words::count_ascii_words(data)
    );
    let (mut a_spans, mut g_spans) = (Vec::new(), Vec::new());
    let a = spans::ascii_line_spans(data, &mut a_spans, usize::MAX);
    let g = generic::spans::line_spans(data, &mut g_spans, usize::MAX);
    assert_eq!(a, g);
    if a.is_some() {
        assert_eq!(a_spans, g_spans);
    }

    let mut scratch = String::new();
    let mut parser = LineParser::new(InputFormat::Text, true);
    for l in &lines {
        let text = decode_lossy(l, &mut scratch).to_string();
        assert_eq!(text, String::from_utf8_lossy(l));
        let (length, tokens) = parser
            .parse(l, "src", |ev| (ev.length(), ev.tokens()))
            .expect("a non-empty line is an event");
        assert_eq!(length, text.chars().count() as f64);
        assert_eq!(tokens, naive_words(&text) as f64);
    }

    let mut by_block = LineParser::new(InputFormat::Text, true);
    let mut by_line = LineParser::new(InputFormat::Text, true);
    let mut a: Seen = Vec::new();
    let _ = by_block.parse_block(data, "src", |ev| {
        a.push((
            ev.message().to_vec(),
            ev.length().to_bits(),
            ev.tokens().to_bits(),
        ));
        Ok::<(), ()>(())
    });
    let mut b: Seen = Vec::new();
    for l in &lines {
        by_line.parse(l, "src", |ev| {
            b.push((
                ev.message().to_vec(),
                ev.length().to_bits(),
                ev.tokens().to_bits(),
            ))
        });
    }
    assert_eq!(a, b);

    for semantic in [false, true] {
        let chunked = anomalies(semantic, |set, f| {
            let mut parser = LineParser::new(InputFormat::Text, semantic);
            let mut features = ChunkFeatures::default();
            let mut cursor = trace_sentinel_core::LineCursor::default();
            let mut rest = data;
            while !rest.is_empty() {
                let taken = parser.extract_chunk(rest, &mut features);
                set.observe_chunk(
                    &features,
                    &rest[..taken],
                    "src",
                    &mut cursor,
                    &mut CallbackSink(|x: &Anomaly<'_>| f(x)),
                )
                .expect("in-memory sink");
                rest = &rest[taken..];
            }
        });
        let one_by_one = anomalies(semantic, |set, f| {
            let mut parser = LineParser::new(InputFormat::Text, semantic);
            for l in &lines {
                parser.parse(l, "src", |ev| {
                    set.observe(ev, &mut CallbackSink(|x: &Anomaly<'_>| f(x)))
                        .expect("in-memory sink")
                });
            }
        });
        assert_eq!(chunked, one_by_one, "semantic {semantic}");
    }
});
