//! Criterion benches of each hot kernel, on a deterministic syslog-like corpus: line
//! splitting, UTF-8 + length + tokens, JSON-lines parsing with numeric attributes, the
//! trigram kernels, detector update, and a whole chunk through parse + detect.
//! Every bench checks its answer first, and reports `Throughput::Bytes`.
//! Run: `cargo bench --bench kernels` (results in docs/benchmarks.md).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;
use trace_sentinel_core::detect::ShardSet;
use trace_sentinel_core::engine::{ChunkFeatures, Engine, InputFormat, LineParser};
use trace_sentinel_core::sink::CallbackSink;
use trace_sentinel_core::{Config, Detector, DetectorKind};
use trace_sentinel_kernels::split::Lines;
use trace_sentinel_kernels::trigram::{count_grams, values_from_counts, Classes, Histograms};

/// ~4 MB of syslog-like text (fixed seed).
fn corpus() -> Vec<u8> {
    let mut out = Vec::with_capacity(4 << 20);
    let mut x: u64 = 42;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    while out.len() < 4 << 20 {
        let line = match next() % 4 {
            0 => format!(
                "Nov 27 10:{:02}:{:02} web-0{} sshd[{}]: Accepted publickey for deploy from 10.0.{}.{} port {} ssh2\n",
                next() % 60, next() % 60, next() % 9, next() % 60000, next() % 255, next() % 255, next() % 65535
            ),
            1 => format!(
                "Nov 27 10:{:02}:{:02} app-02 nginx: 10.1.{}.{} - - \"GET /api/v1/items HTTP/1.1\" 200 {}\n",
                next() % 60, next() % 60, next() % 255, next() % 255, next() % 50000
            ),
            2 => format!(
                "Nov 27 10:{:02}:{:02} db-01 app[{}]: request done status=200 duration_ms={} user=alice\n",
                next() % 60, next() % 60, next() % 9999, next() % 400
            ),
            _ => format!("Nov 27 10:{:02}:{:02} cache-03 kernel: eth0: link up, 1000 Mbps, full duplex\n", next() % 60, next() % 60),
        };
        out.extend_from_slice(line.as_bytes());
    }
    out
}

fn jsonl_corpus() -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..40_000u32 {
        out.extend_from_slice(
            format!(
                "{{\"timestamp\": \"2024-05-01T10:{:02}:{:02}.{:03}Z\", \"source\": \"svc-{}\", \"message\": \"GET /api/items/{} done\", \"latency_ms\": {}.{}, \"bytes\": {}, \"ok\": true}}\n",
                (i / 60) % 60, i % 60, i % 1000, i % 4, i, i % 300, i % 10, i * 7 % 100000
            )
            .as_bytes(),
        );
    }
    out
}

fn kernels(c: &mut Criterion) {
    let text = corpus();
    let lines = text.iter().filter(|b| **b == b'\n').count();
    let jsonl = jsonl_corpus();

    let mut g = c.benchmark_group("kernels");
    g.throughput(Throughput::Bytes(text.len() as u64));
    assert_eq!(Lines::new(&text).count(), lines);
    g.bench_function("split_lines", |b| {
        b.iter(|| Lines::new(black_box(&text)).count())
    });

    let (want_chars, want_words) = Lines::new(&text).fold((0usize, 0usize), |(c, w), l| {
        let s = std::str::from_utf8(l).unwrap();
        (
            c + s.chars().count(),
            w + trace_sentinel_pycompat::unicode::count_words(s),
        )
    });
    g.bench_function("utf8_length_tokens", |b| {
        b.iter(|| {
            let mut acc = (0usize, 0usize);
            for l in Lines::new(black_box(&text)) {
                let s = simdutf8::basic::from_utf8(l).unwrap_or_default();
                let (c, w) = trace_sentinel_core::extract::chars_and_words(s);
                acc = (acc.0 + c, acc.1 + w);
            }
            assert_eq!(acc, (want_chars, want_words));
            acc
        })
    });

    // The vectorizer's kernels on each line: classes, trigram counts, compaction, values.
    let (mut classes, mut counts) = (Classes::new(), Histograms::new());
    let (mut idx, mut cnt, mut val) = (Vec::new(), Vec::new(), Vec::new());
    let mut embed = |l: &[u8], idx: &mut Vec<u8>| {
        classes.of_ascii_body(l);
        count_grams(|_| [b' '; 3], &classes, &mut counts);
        idx.clear();
        cnt.clear();
        val.clear();
        let (_, norm) = counts.take(Some(idx), &mut cnt);
        values_from_counts(&cnt, norm, None, &mut val);
    };
    embed(b"Accepted publickey for deploy", &mut idx);
    assert!(!idx.is_empty());
    g.bench_function("trigram_kernels", |b| {
        b.iter(|| {
            let mut nnz = 0;
            for l in Lines::new(black_box(&text)) {
                embed(l, &mut idx);
                nnz += idx.len();
            }
            nnz
        })
    });

    let mut parser = LineParser::new(InputFormat::Text, false);
    let mut feats = ChunkFeatures::default();
    assert_eq!(parser.extract_chunk(&text, &mut feats), text.len());
    assert_eq!(feats.len(), lines);
    g.bench_function("whole_chunk_parse_extract", |b| {
        b.iter(|| {
            black_box(parser.extract_chunk(black_box(&text), &mut feats));
            feats.len()
        })
    });
    g.bench_function("whole_chunk_detect", |b| {
        b.iter(|| {
            let mut shards = ShardSet::new(Config::default());
            let mut n = 0u64;
            let mut sink = CallbackSink(|_: &trace_sentinel_core::Anomaly<'_>| n += 1);
            shards
                .observe_chunk(
                    &feats,
                    &text,
                    "bench.log",
                    &mut trace_sentinel_core::LineCursor::default(),
                    &mut sink,
                )
                .unwrap();
            assert_eq!(shards.counters().events as usize, lines);
            shards.counters().events
        })
    });
    g.bench_function("whole_chunk_engine", |b| {
        b.iter(|| {
            let mut engine = Engine::new(Config::default(), InputFormat::Text);
            let mut sink = CallbackSink(|_: &trace_sentinel_core::Anomaly<'_>| {});
            engine
                .feed_block(black_box(&text), "bench.log", &mut sink)
                .unwrap();
            engine.shards().counters().events
        })
    });
    g.finish();

    let mut g = c.benchmark_group("kernels_jsonl");
    g.throughput(Throughput::Bytes(jsonl.len() as u64));
    let mut parser = LineParser::new(InputFormat::JsonLines, false);
    let first = Lines::new(&jsonl).next().unwrap();
    let keys = parser
        .parse(first, "bench", |ev| {
            ev.attrs()
                .iter()
                .map(|(k, _)| k.to_string())
                .collect::<Vec<_>>()
        })
        .unwrap();
    assert_eq!(keys, ["latency_ms", "bytes"]);
    g.bench_function("jsonl_parse_extract", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for l in Lines::new(black_box(&jsonl)) {
                n += parser
                    .parse(l, "bench", |ev| ev.attrs().iter().count())
                    .unwrap_or(0);
            }
            n
        })
    });
    g.finish();

    let mut g = c.benchmark_group("detector");
    let values: Vec<f64> = (0..100_000).map(|i| ((i * 7919) % 1000) as f64).collect();
    g.throughput(Throughput::Elements(values.len() as u64));
    for (name, kind) in [
        ("zscore", DetectorKind::Zscore),
        ("ewma", DetectorKind::Ewma { alpha: 0.05 }),
        ("mad", DetectorKind::Mad { window: 256 }),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut d = Detector::new(kind, 30);
                let mut hits = 0;
                for v in &values {
                    hits += d.observe(*v, 3.0).is_some() as u32;
                }
                hits
            })
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).measurement_time(std::time::Duration::from_secs(3));
    targets = kernels
}
criterion_main!(benches);
