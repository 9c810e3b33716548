//! A user-supplied embedding for the semantic layer. A real deployment would call a
//! sentence-transformer, an ONNX model or an embeddings endpoint here; this example uses
//! a tiny bag-of-words embedding (hashed lower-case words, 64 dimensions, L2-normalised)
//! so it runs offline. The novelty scoring around it is unchanged.
//!
//! ```sh
//! cargo run --example custom_embedder                  # datasets/loghub/Apache_2k.log
//! cargo run --example custom_embedder -- app.log
//! ```

use trace_sentinel_core::{Embedder, Event, Sentinel};

/// Words (letters only, lower-cased) hashed into 64 signed buckets.
struct WordEmbedder;

impl Embedder for WordEmbedder {
    fn embed(&mut self, text: &str, out: &mut Vec<f64>) {
        out.resize(64, 0.0);
        for word in text
            .split(|c: char| !c.is_alphabetic())
            .filter(|w| w.len() > 1)
        {
            // FNV-1a: stable across runs and platforms.
            let h = word
                .to_lowercase()
                .bytes()
                .fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
                    (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
                });
            out[(h % 64) as usize] += if h & (1 << 32) == 0 { 1.0 } else { -1.0 };
        }
        let norm = out.iter().map(|v| v * v).sum::<f64>().sqrt();
        if norm > 0.0 {
            out.iter_mut().for_each(|v| *v /= norm);
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).unwrap_or_else(|| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/datasets/loghub/Apache_2k.log").into()
    });
    let text = String::from_utf8_lossy(&std::fs::read(&path)?).into_owned();

    // `.embedder(..)` turns the semantic layer on with this embedding instead of the
    // built-in hashing vectorizer. A closure `|text: &str| -> Vec<f64>` works as well.
    let mut sentinel = Sentinel::builder()
        .threshold(3.5)
        .embedder(WordEmbedder)
        .build()?;

    let events = text
        .lines()
        .map(|l| l.trim_end_matches('\r'))
        .filter(|l| !l.is_empty())
        .map(|l| Event::from_line(l, "syslog"));
    let mut novel = 0;
    for a in sentinel.watch(events) {
        if a.semantic {
            novel += 1;
            println!("{:>5.1}σ  {}", a.score, a.message);
        }
    }
    println!("{novel} semantically novel lines");
    Ok(())
}
