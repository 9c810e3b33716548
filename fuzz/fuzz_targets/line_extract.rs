//! Fuzz target: line splitting, lossy UTF-8 decoding and feature extraction.
//!
//! Oracles: the splitter drops exactly the line-break bytes and yields no empty line;
//! `decode_lossy` equals `String::from_utf8_lossy`; `message.length` is the char count;
//! `message.tokens` equals a naive count of maximal `\w` runs; the ASCII fast paths
//! (`extract_ascii`, block-level `parse_block`) agree with the general path.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trace_sentinel_pycompat::decode::decode_lossy;
use trace_sentinel_core::engine::{InputFormat, LineParser};
use trace_sentinel_core::extract::Extractor;
use trace_sentinel_core::semantic::SparseVec;
use trace_sentinel_kernels::split::{self, Lines};
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

    let mut scratch = String::new();
    let mut sem = Extractor::new(true);
    let mut plain = Extractor::new(false);
    let (mut v1, mut v2) = (SparseVec::default(), SparseVec::default());
    for l in &lines {
        let text = decode_lossy(l, &mut scratch).to_string();
        assert_eq!(text, String::from_utf8_lossy(l));
        let f = sem.extract(&text, &mut v1);
        assert_eq!(f.length, text.chars().count() as f64);
        assert_eq!(f.tokens, naive_words(&text) as f64);
        assert_eq!(plain.extract(&text, &mut v2), f);
        if l.is_ascii() {
            assert_eq!(sem.extract_ascii(l, &mut v2), f);
            assert_eq!(v1, v2, "ASCII fast path changed the semantic vector");
        }
    }

    let mut by_block = LineParser::new(InputFormat::Text, true);
    let mut by_line = LineParser::new(InputFormat::Text, true);
    let mut a: Seen = Vec::new();
    let _ = by_block.parse_block(data, "src", |ev| {
        a.push((
            ev.message.to_vec(),
            ev.length.to_bits(),
            ev.tokens.to_bits(),
        ));
        Ok::<(), ()>(())
    });
    let mut b: Seen = Vec::new();
    for l in &lines {
        by_line.parse(l, "src", |ev| {
            b.push((
                ev.message.to_vec(),
                ev.length.to_bits(),
                ev.tokens.to_bits(),
            ))
        });
    }
    assert_eq!(a, b);
});
