//! The hostile input set (issue 6): deterministic files that attack a log sentinel —
//! deep JSON nesting, 50 000-key objects, 32 MiB strings, non-finite and huge numbers,
//! lone surrogates, NUL bytes, binary noise, ANSI/OSC/C1 escapes, a 256 MiB line, 20
//! million short lines, 300 000 distinct sources, a gzip bomb, an empty file and a file
//! of only line breaks — plus two cardinality attacks on the caps themselves: thousands
//! of sources each with thousands of metrics, and near-1 MiB source names and keys.
//!
//! Shared by `examples/gen_hostile.rs` (the full-size set, on demand) and
//! `tests/hostile.rs` (a scaled-down set generated at test time). Every byte is a pure
//! function of [`SEED`], the file name and the scale: the same scale gives
//! byte-identical files. Sizes that make a file "large" scale linearly (with a floor);
//! structural extremes that are cheap (nesting depth, keys per object) never scale.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

/// Fixed seed of the whole set.
pub const SEED: u64 = 0x7ace_5e47_0006;

/// Nesting depth of `deep.jsonl` (not scaled: cheap and the point of the file).
pub const DEPTH: usize = 200_000;
/// Keys per object in `keys.jsonl` (not scaled).
pub const KEYS: usize = 50_000;
/// Numeric keys per line of `cardinality.jsonl` (not scaled).
pub const CARDINALITY_KEYS: usize = 2_000;
/// Bytes of each source name and attribute key in `longnames.jsonl` (not scaled).
pub const LONG_NAME: usize = 480 << 10;

/// How a file is meant to be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Plain text (`watch FILE`, `scan FILE`).
    Text,
    /// JSON lines (`--jsonl`).
    Jsonl,
    /// Meaningful both ways.
    Both,
}

impl Mode {
    /// Name in the manifest.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Text => "text",
            Mode::Jsonl => "jsonl",
            Mode::Both => "both",
        }
    }

    /// Whether the file should be run without `--jsonl`.
    pub fn text(self) -> bool {
        self != Mode::Jsonl
    }

    /// Whether the file should be run with `--jsonl`.
    pub fn jsonl(self) -> bool {
        self != Mode::Text
    }
}

/// One generated file.
#[derive(Clone, Debug)]
pub struct Item {
    /// File name inside the output directory.
    pub name: &'static str,
    /// How to read it.
    pub mode: Mode,
    /// Size on disk.
    pub bytes: u64,
    /// What it attacks.
    pub what: &'static str,
}

/// Sizes derived from a scale factor (1.0 = the full-size set of the issue).
#[derive(Clone, Copy, Debug)]
pub struct Sizes {
    /// Bytes of the single huge line in `long.log` / `long.jsonl` (256 MiB).
    pub long_line: usize,
    /// Bytes of the huge non-ASCII line in `long_utf8.log` (64 MiB).
    pub long_utf8: usize,
    /// Bytes of each big JSON string in `bigstr.jsonl` (32 MiB).
    pub big_string: usize,
    /// Lines of `many.log` (20 000 000).
    pub short_lines: usize,
    /// Distinct sources in `sources.jsonl` (300 000).
    pub sources: usize,
    /// Bytes of `binary.bin` (64 MiB).
    pub binary: usize,
    /// Line breaks in `newlines.log` (16 Mi).
    pub newlines: usize,
    /// Uncompressed bytes of the single line in `bomb.log.gz` (1 GiB).
    pub bomb: usize,
    /// Lines of `keys.jsonl` with [`KEYS`] keys each (40).
    pub key_lines: usize,
    /// Distinct sources in `cardinality.jsonl`, each with [`CARDINALITY_KEYS`] keys (2000).
    pub cardinality_sources: usize,
    /// Lines of `longnames.jsonl`, each a new [`LONG_NAME`]-byte source and key (400).
    pub long_names: usize,
}

impl Sizes {
    /// Sizes for `scale` (clamped to (0, 1]... or larger, if asked).
    pub fn new(scale: f64) -> Sizes {
        let scale = if scale.is_finite() && scale > 0.0 {
            scale
        } else {
            1.0
        };
        let s = |full: usize, floor: usize| ((full as f64 * scale) as usize).max(floor);
        Sizes {
            long_line: s(256 << 20, 64 << 10),
            long_utf8: s(64 << 20, 16 << 10),
            big_string: s(32 << 20, 16 << 10),
            short_lines: s(20_000_000, 1_000),
            sources: s(300_000, 100),
            binary: s(64 << 20, 64 << 10),
            newlines: s(16 << 20, 1_000),
            bomb: s(1 << 30, 64 << 10),
            key_lines: s(40, 3),
            cardinality_sources: s(2_000, 20),
            long_names: s(400, 8),
        }
    }
}

/// SplitMix64: tiny, fast, deterministic.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator for one file: the set seed mixed with the file name.
    pub fn for_file(name: &str) -> Rng {
        let mut h = SEED;
        for b in name.bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        Rng(h)
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// One item of a non-empty slice.
    pub fn pick<'a, T: ?Sized>(&mut self, items: &[&'a T]) -> &'a T {
        items[self.below(items.len() as u64) as usize]
    }

    /// Fill `buf` with random bytes.
    pub fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let v = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }
}

const WORDS: &[&str] = &[
    "user",
    "login",
    "failed",
    "ok",
    "request",
    "GET",
    "/api/v1/items",
    "200",
    "latency",
    "session",
    "opened",
    "closed",
    "kernel",
    "eth0",
    "link",
    "up",
    "disk",
    "sda1",
    "cron",
    "job",
    "started",
    "finished",
];

/// Terminal attacks: CSI, OSC (BEL and ST terminated), OSC 8 hyperlinks, DCS, C1 as
/// UTF-8 and as raw bytes, DEL, backspace overwrite, BEL, NUL, bidi override.
const ESCAPES: &[&[u8]] = &[
    b"\x1b[2J\x1b[H",
    b"\x1b]0;owned-title\x07",
    b"\x1b]2;st-terminated\x1b\\",
    b"\x1b]8;;http://evil.example/\x1b\\click\x1b]8;;\x1b\\",
    b"\x1bP+q544e\x1b\\",
    b"\x1b[31;1mRED\x1b[0m",
    b"\x1b[6n",
    b"\xc2\x9b31m",
    b"\xc2\x9d0;c1-osc\xc2\x9c",
    b"\x9b2J",
    b"\x7f\x7f",
    b"fake\x08\x08\x08\x08real",
    b"\x07\x07",
    b"\x00",
    b"\xe2\x80\xaeevil\xe2\x80\xac",
    b"\x1b[1000;1000H\x1b[K",
    b"\x1bc",
];

/// The same attacks as JSON string content (escaped, so the line stays valid JSON).
const JSON_ESCAPES: &[&str] = &[
    "\\u001b[2J\\u001b[H",
    "\\u001b]0;owned-title\\u0007",
    "\\u001b]2;st\\u001b\\\\",
    "\\u001b]8;;http://evil.example/\\u001b\\\\click",
    "\\u009b31m",
    "\\u009d0;c1\\u009c",
    "\\u007f",
    "x\\b\\b\\by",
    "\\u0000nul",
    "\\u202eevil",
    "\\u001bc",
    "\\r\\nforged line",
];

/// Writes one file, counting its bytes.
struct Out {
    w: BufWriter<File>,
    n: u64,
}

impl Out {
    fn create(path: &Path) -> io::Result<Out> {
        Ok(Out {
            w: BufWriter::with_capacity(1 << 20, File::create(path)?),
            n: 0,
        })
    }

    fn put(&mut self, b: &[u8]) -> io::Result<()> {
        self.n += b.len() as u64;
        self.w.write_all(b)
    }

    fn line(&mut self, s: &str) -> io::Result<()> {
        self.put(s.as_bytes())?;
        self.put(b"\n")
    }

    fn finish(mut self) -> io::Result<u64> {
        self.w.flush()?;
        Ok(self.n)
    }
}

/// `n` bytes of space-separated words (ASCII), written in pieces.
fn put_words(out: &mut Out, rng: &mut Rng, n: usize) -> io::Result<()> {
    let mut buf = Vec::with_capacity(1 << 16);
    let mut left = n;
    while left > 0 {
        buf.clear();
        while buf.len() < (1 << 16) - 32 && buf.len() < left {
            buf.extend_from_slice(rng.pick(WORDS).as_bytes());
            buf.push(b' ');
        }
        buf.truncate(left);
        out.put(&buf)?;
        left -= buf.len();
    }
    Ok(())
}

fn normal_line(rng: &mut Rng, i: usize) -> String {
    let mut s = format!(
        "2024-01-01T00:00:{:02} host app[{}]:",
        i % 60,
        rng.below(9000)
    );
    for _ in 0..4 + rng.below(3) {
        s.push(' ');
        s.push_str(rng.pick(WORDS));
    }
    s
}

fn normal_json(rng: &mut Rng, i: usize, source: &str) -> String {
    format!(
        "{{\"timestamp\": {}, \"source\": \"{source}\", \"message\": \"{}\", \"latency\": {}, \"bytes\": {}}}",
        1_700_000_000 + i,
        normal_line(rng, i),
        10 + rng.below(5),
        1000 + rng.below(100)
    )
}

type GenFn = fn(&mut Out, &mut Rng, &Sizes) -> io::Result<()>;

/// Every file of the set: (name, mode, what it attacks, generator).
const FILES: &[(&str, Mode, &str, GenFn)] = &[
    ("empty.log", Mode::Both, "an empty file", gen_empty),
    (
        "newlines.log",
        Mode::Both,
        "only line breaks (LF, CRLF, lone CR)",
        gen_newlines,
    ),
    (
        "nul.log",
        Mode::Text,
        "NUL bytes inside lines, NUL-only lines, a long NUL run",
        gen_nul,
    ),
    (
        "binary.bin",
        Mode::Both,
        "uniformly random bytes",
        gen_binary,
    ),
    (
        "escapes.log",
        Mode::Text,
        "ANSI CSI/OSC/DCS, C1 (UTF-8 and raw), DEL, BS, BEL in messages",
        gen_escapes_text,
    ),
    (
        "long.log",
        Mode::Text,
        "one 256 MiB line between normal lines",
        gen_long_text,
    ),
    (
        "long_utf8.log",
        Mode::Text,
        "one 64 MiB non-ASCII line with invalid UTF-8, multi-byte chars across 1 MiB boundaries",
        gen_long_utf8,
    ),
    ("many.log", Mode::Text, "20 million short lines", gen_many),
    (
        "bomb.log.gz",
        Mode::Text,
        "gzip bomb: 1 GiB of one line without a line break",
        gen_bomb,
    ),
    (
        "deep.jsonl",
        Mode::Jsonl,
        "200 000-level nesting (arrays, objects, in message, unbalanced)",
        gen_deep,
    ),
    (
        "keys.jsonl",
        Mode::Jsonl,
        "objects with 50 000 keys (metric cap), duplicate keys",
        gen_keys,
    ),
    (
        "bigstr.jsonl",
        Mode::Jsonl,
        "32 MiB strings as message, key, source, timestamp; escape-heavy strings",
        gen_bigstr,
    ),
    (
        "numbers.jsonl",
        Mode::Jsonl,
        "1e999, NaN, Infinity, -0, 4300/4301-digit and 10^400 integers, subnormals, overflow",
        gen_numbers,
    ),
    (
        "surrogates.jsonl",
        Mode::Jsonl,
        "lone and reversed surrogates in \\u escapes (message, key, source, timestamp)",
        gen_surrogates,
    ),
    (
        "timestamps.jsonl",
        Mode::Jsonl,
        "crafted timestamps: year 0 / 9999+, negative, 1e300, NaN, garbage, huge offsets",
        gen_timestamps,
    ),
    (
        "sources.jsonl",
        Mode::Jsonl,
        "300 000 distinct sources (source cap)",
        gen_sources,
    ),
    (
        "cardinality.jsonl",
        Mode::Jsonl,
        "2000 distinct sources x 2000 distinct numeric keys (sources times metrics)",
        gen_cardinality,
    ),
    (
        "longnames.jsonl",
        Mode::Jsonl,
        "400 lines (each under 1 MiB), each a new 480 KiB source name and attribute key",
        gen_long_names,
    ),
    (
        "escapes.jsonl",
        Mode::Jsonl,
        "terminal escapes in sources, attribute keys (metric names) and messages",
        gen_escapes_json,
    ),
    (
        "nul.jsonl",
        Mode::Jsonl,
        "raw NUL (invalid JSON) and \\u0000 in keys, sources, messages",
        gen_nul_json,
    ),
    (
        "long.jsonl",
        Mode::Jsonl,
        "one 256 MiB JSON line (a single string message)",
        gen_long_json,
    ),
];

/// Names and modes of every file, without generating anything.
pub fn catalogue() -> Vec<(&'static str, Mode, &'static str)> {
    FILES.iter().map(|&(n, m, w, _)| (n, m, w)).collect()
}

/// Generate the files (all of them, or those named in `only`) into `dir` and write
/// `MANIFEST.tsv` (name, mode, bytes, description).
pub fn generate(dir: &Path, scale: f64, only: Option<&[String]>) -> io::Result<Vec<Item>> {
    std::fs::create_dir_all(dir)?;
    let sizes = Sizes::new(scale);
    let mut items = Vec::new();
    for &(name, mode, what, f) in FILES {
        if only.is_some_and(|o| !o.iter().any(|x| x == name)) {
            continue;
        }
        let mut out = Out::create(&dir.join(name))?;
        let mut rng = Rng::for_file(name);
        f(&mut out, &mut rng, &sizes)?;
        let bytes = out.finish()?;
        items.push(Item {
            name,
            mode,
            bytes,
            what,
        });
    }
    let mut manifest = String::from("# name\tmode\tbytes\twhat\n");
    for it in &items {
        manifest.push_str(&format!(
            "{}\t{}\t{}\t{}\n",
            it.name,
            it.mode.as_str(),
            it.bytes,
            it.what
        ));
    }
    std::fs::write(dir.join("MANIFEST.tsv"), manifest)?;
    Ok(items)
}

fn gen_empty(_: &mut Out, _: &mut Rng, _: &Sizes) -> io::Result<()> {
    Ok(())
}

fn gen_newlines(out: &mut Out, rng: &mut Rng, z: &Sizes) -> io::Result<()> {
    let mut buf = Vec::with_capacity(1 << 16);
    let mut left = z.newlines;
    while left > 0 {
        buf.clear();
        while buf.len() < 1 << 16 && left > 0 {
            buf.extend_from_slice(match rng.below(3) {
                0 => b"\n" as &[u8],
                1 => b"\r\n",
                _ => b"\r",
            });
            left -= 1;
        }
        out.put(&buf)?;
    }
    Ok(())
}

fn gen_nul(out: &mut Out, rng: &mut Rng, _: &Sizes) -> io::Result<()> {
    for i in 0..400 {
        let l = normal_line(rng, i);
        match i % 7 {
            0 => out.put(b"\0")?,
            1 => out.put(b"\0\0\0\0\0\0\0\0")?,
            2 => {
                out.put(l.as_bytes())?;
                out.put(b"\0")?;
            }
            3 => {
                out.put(b"\0")?;
                out.put(l.as_bytes())?;
            }
            _ => {
                let (a, b) = l.split_at(l.len() / 2);
                out.put(a.as_bytes())?;
                out.put(b"\0")?;
                out.put(b.as_bytes())?;
            }
        }
        out.put(b"\n")?;
    }
    out.put(&vec![0u8; 256 << 10])?;
    out.put(b"\nafter the NUL run\n\0")
}

fn gen_binary(out: &mut Out, rng: &mut Rng, z: &Sizes) -> io::Result<()> {
    let mut buf = vec![0u8; 1 << 16];
    let mut left = z.binary;
    while left > 0 {
        let n = left.min(buf.len());
        rng.fill(&mut buf[..n]);
        out.put(&buf[..n])?;
        left -= n;
    }
    Ok(())
}

fn gen_escapes_text(out: &mut Out, rng: &mut Rng, _: &Sizes) -> io::Result<()> {
    for i in 0..600 {
        let l = normal_line(rng, i);
        if i >= 100 && i % 3 == 0 {
            let e = rng.pick(ESCAPES);
            out.put(e)?;
            out.put(l.as_bytes())?;
            out.put(e)?;
            if i % 9 == 0 {
                // Long enough to be a length anomaly, so the line is reported.
                for _ in 0..40 {
                    out.put(rng.pick(ESCAPES))?;
                }
            }
        } else {
            out.put(l.as_bytes())?;
        }
        out.put(b"\n")?;
    }
    Ok(())
}

fn gen_long_text(out: &mut Out, rng: &mut Rng, z: &Sizes) -> io::Result<()> {
    for i in 0..500 {
        out.line(&normal_line(rng, i))?;
    }
    put_words(out, rng, z.long_line)?;
    out.put(b"\n")?;
    for i in 0..50 {
        out.line(&normal_line(rng, i))?;
    }
    Ok(())
}

fn gen_long_utf8(out: &mut Out, rng: &mut Rng, z: &Sizes) -> io::Result<()> {
    const PIECES: &[&[u8]] = &[
        "日本語のログ ".as_bytes(),
        "ΣΑΣ σς ".as_bytes(),
        "😀👍🏽 ".as_bytes(),
        "é\u{301} ".as_bytes(),
        b"\xff\xfe ",
        b"\xe2\x82 ",
        b"\xed\xa0\x80 ",
        b"\xf0\x9f\x98 ",
        b"\x80\x80 ",
        b"plain ascii words ",
    ];
    for i in 0..300 {
        out.line(&normal_line(rng, i))?;
    }
    // A 4-byte character straddles every 1 MiB boundary of the line (a prefix cut
    // there must not split it) — placed by writing up to 2 bytes before it.
    let mut written = 0usize;
    let mut buf = Vec::with_capacity(1 << 16);
    while written < z.long_utf8 {
        buf.clear();
        while buf.len() < 1 << 15 {
            let next_mib = (written + buf.len()) / (1 << 20) * (1 << 20) + (1 << 20);
            let gap = next_mib - (written + buf.len());
            if (2..=24).contains(&gap) {
                buf.extend(std::iter::repeat_n(b'.', gap - 2));
                buf.extend_from_slice("😀".as_bytes());
                continue;
            }
            buf.extend_from_slice(rng.pick(PIECES));
        }
        let n = buf.len().min(z.long_utf8 - written);
        out.put(&buf[..n])?;
        written += n;
    }
    out.put(b"\n")?;
    for i in 0..50 {
        out.line(&normal_line(rng, i))?;
    }
    Ok(())
}

fn gen_many(out: &mut Out, rng: &mut Rng, z: &Sizes) -> io::Result<()> {
    const SHORT: &[&str] = &[
        "a", "ok", "b c", "x1", "GET /", "up", "z z z", "-", "0", "é",
    ];
    let mut buf = Vec::with_capacity(1 << 16);
    for i in 0..z.short_lines {
        if i % 1_000_003 == 999_999 {
            buf.extend_from_slice(normal_line(rng, i).repeat(8).as_bytes());
        } else {
            buf.extend_from_slice(rng.pick(SHORT).as_bytes());
        }
        buf.push(b'\n');
        if buf.len() >= (1 << 16) - 512 {
            out.put(&buf)?;
            buf.clear();
        }
    }
    out.put(&buf)
}

fn gen_bomb(out: &mut Out, _: &mut Rng, z: &Sizes) -> io::Result<()> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(b"bomb start ")?;
    let block = vec![b'A'; 1 << 20];
    let mut left = z.bomb;
    while left > 0 {
        let n = left.min(block.len());
        enc.write_all(&block[..n])?;
        left -= n;
    }
    enc.write_all(b" bomb end")?;
    let gz = enc.finish()?;
    out.put(&gz)
}

fn gen_deep(out: &mut Out, rng: &mut Rng, _: &Sizes) -> io::Result<()> {
    let n = DEPTH;
    for i in 0..60 {
        out.line(&normal_json(rng, i, "deep"))?;
    }
    let open_a = "[".repeat(n);
    let close_a = "]".repeat(n);
    // Bare nested arrays: valid JSON, not an object → message is its repr.
    out.line(&format!("{open_a}{close_a}"))?;
    // Nested arrays as the message, next to a numeric attribute.
    out.line(&format!(
        "{{\"message\": {open_a}{close_a}, \"latency\": 1000}}"
    ))?;
    // Nested objects as an attribute value (not numeric: ignored).
    let open_o = "{\"a\":".repeat(n);
    let close_o = "}".repeat(n);
    out.line(&format!(
        "{{\"message\": \"deep attr\", \"x\": {open_o}1{close_o}, \"latency\": 12}}"
    ))?;
    // Mixed nesting with strings and numbers at every level.
    let mut mixed = String::with_capacity(n * 12);
    for k in 0..n / 4 {
        mixed.push_str(if k % 2 == 0 { "[\"s\",1," } else { "{\"k\":" });
    }
    mixed.push_str("null");
    for k in (0..n / 4).rev() {
        mixed.push(if k % 2 == 0 { ']' } else { '}' });
    }
    out.line(&format!("{{\"message\": {mixed}, \"bytes\": 5}}"))?;
    // Unbalanced: invalid JSON → the raw line is the message.
    out.line(&format!("{{\"message\": {open_a}"))?;
    out.line(&close_a)?;
    out.line(&open_o)?;
    for i in 60..120 {
        out.line(&normal_json(rng, i, "deep"))?;
    }
    Ok(())
}

fn gen_keys(out: &mut Out, rng: &mut Rng, z: &Sizes) -> io::Result<()> {
    for i in 0..40 {
        out.line(&normal_json(rng, i, "keys"))?;
    }
    let mut line = String::with_capacity(KEYS * 16);
    for l in 0..z.key_lines {
        line.clear();
        line.push_str("{\"message\": \"wide\", \"source\": \"keys\"");
        for k in 0..KEYS {
            // Half the keys are shared by every line (baselines warm up), half are new
            // on every line (cardinality injection).
            if k % 2 == 0 {
                line.push_str(&format!(", \"k{k}\": {}", rng.below(100)));
            } else {
                line.push_str(&format!(", \"l{l}_{k}\": {k}.5"));
            }
        }
        // Duplicates of early keys: last value wins, first position kept.
        line.push_str(", \"k0\": \"str\", \"k2\": 1e999, \"k4\": 7}");
        out.line(&line)?;
    }
    Ok(())
}

fn gen_bigstr(out: &mut Out, rng: &mut Rng, z: &Sizes) -> io::Result<()> {
    for i in 0..60 {
        out.line(&normal_json(rng, i, "big"))?;
    }
    let n = z.big_string;
    let plain: String = "abcdefgh ".repeat(n / 9 + 1)[..n].to_string();
    out.line(&format!(
        "{{\"source\": \"big\", \"message\": \"{plain}\", \"latency\": 11}}"
    ))?;
    // Every character escaped: the unescaped copy is built in the parser's buffer.
    let esc = "\\u00e9".repeat(n / 6);
    out.line(&format!(
        "{{\"source\": \"big\", \"message\": \"{esc}\", \"latency\": 12}}"
    ))?;
    out.line(&format!(
        "{{\"source\": \"big\", \"message\": \"big key\", \"{plain}\": 1}}"
    ))?;
    out.line(&format!(
        "{{\"source\": \"{plain}\", \"message\": \"big source\", \"latency\": 13}}"
    ))?;
    out.line(&format!(
        "{{\"source\": \"big\", \"message\": \"big ts\", \"timestamp\": \"2024-01-01T00:00:00{plain}\"}}"
    ))?;
    // A big list of numbers as the message: str() of it is long.
    let mut nums = String::with_capacity(n + 16);
    nums.push('[');
    while nums.len() < n {
        nums.push_str(&format!("{},", rng.below(1_000_000) as f64 / 7.0));
    }
    nums.push_str("0]");
    out.line(&format!("{{\"source\": \"big\", \"message\": {nums}}}"))?;
    // Unterminated big string: invalid JSON → raw line.
    out.line(&format!("{{\"message\": \"{plain}"))?;
    for i in 60..100 {
        out.line(&normal_json(rng, i, "big"))?;
    }
    Ok(())
}

fn gen_numbers(out: &mut Out, rng: &mut Rng, _: &Sizes) -> io::Result<()> {
    let digits4300 = "9".repeat(4300);
    let digits4301 = "9".repeat(4301);
    let pow400 = format!("1{}", "0".repeat(400));
    let weird: Vec<String> = vec![
        "NaN".into(),
        "Infinity".into(),
        "-Infinity".into(),
        "1e999".into(),
        "-1e999".into(),
        "-0".into(),
        "-0.0".into(),
        "0e0".into(),
        "1e-400".into(),
        "5e-324".into(),
        "2.2250738585072014e-308".into(),
        "1.7976931348623157e308".into(),
        "-1.7976931348623157e308".into(),
        "1.7976931348623159e308".into(),
        "18446744073709551616".into(),
        "-9223372036854775809".into(),
        digits4300.clone(),
        format!("-{digits4300}"),
        digits4301,
        pow400,
        "123456789012345678901234567890e-10".into(),
        "0.1e1".into(),
        "true".into(),
        "null".into(),
        "\"12\"".into(),
    ];
    for i in 0..3000 {
        let v = if i % 10 == 9 {
            rng.pick(&weird.iter().map(String::as_str).collect::<Vec<_>>())
                .to_string()
        } else {
            format!("{}", 100 + rng.below(20))
        };
        out.line(&format!(
            "{{\"timestamp\": {}, \"source\": \"num\", \"message\": \"n {i}\", \"x\": {v}, \"y\": {}}}",
            1_700_000_000 + i,
            if i % 2 == 0 { "1e308" } else { "-1e308" }
        ))?;
    }
    for v in &weird {
        out.line(v)?;
        out.line(&format!("[{v}, {v}]"))?;
        out.line(&format!(
            "{{\"message\": {v}, \"source\": {v}, \"timestamp\": {v}}}"
        ))?;
    }
    Ok(())
}

fn gen_surrogates(out: &mut Out, rng: &mut Rng, _: &Sizes) -> io::Result<()> {
    const S: &[&str] = &[
        "\\ud800",
        "\\udfff",
        "\\udc00\\ud800",
        "\\ud83d\\ude00",
        "\\ud83d",
        "\\ude00x",
        "\\ud800\\ud800\\udc00",
        "\\udbff\\udfff",
        "\\ud800\\u0041",
        "\\uDBFF",
        "\\ud800\\",
        "\\ud800\\u12",
        "\\ud800\\uzzzz",
        "\\u0000\\ud800",
    ];
    for i in 0..2000 {
        let a = rng.pick(S);
        let b = rng.pick(S);
        let c = rng.pick(S);
        let line = match i % 5 {
            0 => format!(
                "{{\"message\": \"m{a}{b}\", \"source\": \"s{c}\", \"v\": {}}}",
                rng.below(10)
            ),
            1 => format!("{{\"k{a}\": 1, \"k{b}\": 2, \"k{a}\": 3, \"message\": \"{c}\"}}"),
            2 => format!("{{\"timestamp\": \"2024-01-0{a}T00:00:00\", \"message\": \"t\"}}"),
            3 => format!("{{\"timestamp\": \"2024-01-02{a}03:04{b}\", \"source\": \"{c}\"}}"),
            _ => format!("[\"{a}\", \"{b}{c}\", {{\"{a}\": \"{b}\"}}]"),
        };
        out.line(&line)?;
    }
    Ok(())
}

fn gen_timestamps(out: &mut Out, rng: &mut Rng, _: &Sizes) -> io::Result<()> {
    const TS: &[&str] = &[
        "0",
        "-1",
        "-62135596800",
        "-62135596801",
        "253402300799.999999",
        "253402300800",
        "1e300",
        "-1e300",
        "NaN",
        "Infinity",
        "-Infinity",
        "9223372036854775807",
        "9223372036854775808",
        "-9223372036854775809",
        "1e19",
        "5e-324",
        "-0.0",
        "1.9999995",
        "true",
        "null",
        "[1]",
        "{}",
        "\"0000-01-01T00:00:00\"",
        "\"0001-01-01T00:00:00\"",
        "\"9999-12-31T23:59:59.999999\"",
        "\"9999-12-31T23:59:59.999999-23:59\"",
        "\"0001-01-01T00:00:00+23:59\"",
        "\"10000-01-01T00:00:00\"",
        "\"99999-99-99\"",
        "\"-001-01-01\"",
        "\"2024-02-30\"",
        "\"2024-13-01\"",
        "\"2024-W53-1\"",
        "\"2024-W00-1\"",
        "\"2026-W53-7\"",
        "\"9999-W52-7\"",
        "\"0000-W01-1\"",
        "\"2024-01-01T24:00:00\"",
        "\"2024-01-01T23:59:60\"",
        "\"2024-01-01T00:00:00+24:00\"",
        "\"2024-01-01T00:00:00-23:59:59.999999\"",
        "\"2024-01-01T00:00:00+99:99\"",
        "\"2024-01-01T00:00:00.1234567891234\"",
        "\"2024-01-01T00:00:00ZZZ\"",
        "\"ZZZZZZZZZZZZZZZZZZZZZZ\"",
        "\"2024-01-01T00:00:00\\u0000garbage\"",
        "\"garbage\"",
        "\"\"",
        "\"1704164645\"",
        "\"２０２４-01-01\"",
        "\"2024-01-01T00:00:00\\u00e9\"",
    ];
    for i in 0..3000 {
        let ts = if i % 3 == 0 {
            rng.pick(TS).to_string()
        } else {
            format!("{}", 1_700_000_000 + i)
        };
        out.line(&format!(
            "{{\"timestamp\": {ts}, \"source\": \"ts{}\", \"message\": \"tick {i}\", \"v\": {}}}",
            i % 3,
            rng.below(10)
        ))?;
    }
    Ok(())
}

fn gen_sources(out: &mut Out, rng: &mut Rng, z: &Sizes) -> io::Result<()> {
    let mut buf = Vec::with_capacity(1 << 16);
    for i in 0..z.sources {
        // Mostly new sources; every 16th line revisits an early one (live shards).
        let src = if i % 16 == 15 {
            format!("host-{:06}", rng.below(64))
        } else {
            format!("host-{i:06}")
        };
        let line = format!(
            "{{\"timestamp\": {}, \"source\": \"{src}\", \"message\": \"svc heartbeat {i}\", \"q\": {}}}\n",
            1_700_000_000 + i as u64,
            rng.below(50)
        );
        buf.extend_from_slice(line.as_bytes());
        if buf.len() >= 1 << 16 {
            out.put(&buf)?;
            buf.clear();
        }
    }
    out.put(&buf)
}

fn gen_cardinality(out: &mut Out, rng: &mut Rng, z: &Sizes) -> io::Result<()> {
    let mut line = String::with_capacity(CARDINALITY_KEYS * 16);
    for s in 0..z.cardinality_sources {
        line.clear();
        line.push_str(&format!(
            "{{\"source\": \"card-{s:05}\", \"message\": \"m\", \"timestamp\": {}",
            1_700_000_000 + s
        ));
        for k in 0..CARDINALITY_KEYS {
            line.push_str(&format!(", \"k{k}\": {}", rng.below(100)));
        }
        line.push('}');
        out.line(&line)?;
    }
    Ok(())
}

fn gen_long_names(out: &mut Out, rng: &mut Rng, z: &Sizes) -> io::Result<()> {
    let pad_s = "s".repeat(LONG_NAME);
    let pad_k = "k".repeat(LONG_NAME);
    for i in 0..z.long_names {
        out.line(&format!(
            "{{\"source\": \"{i:06}{pad_s}\", \"message\": \"m\", \"{i:06}{pad_k}\": {}, \"timestamp\": {}}}",
            rng.below(100),
            1_700_000_000 + i
        ))?;
    }
    Ok(())
}

fn gen_escapes_json(out: &mut Out, rng: &mut Rng, _: &Sizes) -> io::Result<()> {
    for i in 0..600 {
        if i < 100 || i % 2 == 0 {
            out.line(&normal_json(rng, i, "esc"))?;
            continue;
        }
        let e1 = rng.pick(JSON_ESCAPES);
        let e2 = rng.pick(JSON_ESCAPES);
        let e3 = rng.pick(JSON_ESCAPES);
        let big = if i % 5 == 1 {
            100_000
        } else {
            10 + rng.below(5)
        };
        let line = match i % 3 {
            0 => format!(
                "{{\"timestamp\": {}, \"source\": \"esc{e1}\", \"message\": \"{e2} {}\", \"latency\": {big}}}",
                1_700_000_000 + i,
                e3.repeat(20)
            ),
            1 => format!(
                "{{\"timestamp\": {}, \"source\": \"esc\", \"message\": \"m{e2}\", \"lat{e1}ency\": {big}, \"latency\": {big}}}",
                1_700_000_000 + i
            ),
            _ => format!(
                "{{\"source\": \"{e1}\", \"message\": \"{e2}\", \"{e3}\": {big}}}"
            ),
        };
        out.line(&line)?;
    }
    // Raw (unescaped) escapes make a line invalid JSON: it becomes a raw message.
    for e in ESCAPES {
        out.put(b"{\"message\": \"")?;
        out.put(e)?;
        out.put(b"\"}\n")?;
    }
    Ok(())
}

fn gen_nul_json(out: &mut Out, rng: &mut Rng, _: &Sizes) -> io::Result<()> {
    for i in 0..300 {
        match i % 6 {
            0 => out.put(b"{\"message\": \"a\0b\", \"v\": 1}\n")?,
            1 => out.put(b"\0{\"v\": 1}\n")?,
            2 => out.line(&format!(
                "{{\"source\": \"s\\u0000{}\", \"\\u0000k\": {}, \"message\": \"\\u0000\"}}",
                i % 4,
                rng.below(9)
            ))?,
            3 => out.put(b"\0\0\0\n")?,
            _ => out.line(&normal_json(rng, i, "nul"))?,
        }
    }
    Ok(())
}

fn gen_long_json(out: &mut Out, rng: &mut Rng, z: &Sizes) -> io::Result<()> {
    for i in 0..200 {
        out.line(&normal_json(rng, i, "long"))?;
    }
    out.put(b"{\"source\": \"long\", \"latency\": 12, \"message\": \"")?;
    put_words(out, rng, z.long_line)?;
    out.put(b"\"}\n")?;
    for i in 200..230 {
        out.line(&normal_json(rng, i, "long"))?;
    }
    Ok(())
}
