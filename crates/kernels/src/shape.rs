//! Template shape of a log line: its whitespace tokens with the variable parts masked,
//! each token hashed, the sequence hashed into one key, and the log level the line
//! names. The detect stage turns shapes into template ids; this module only reads bytes.
//!
//! Masking, per whitespace-separated token:
//! * a quoted value (`"..."` or `'...'`, across spaces up to its closing quote, at most
//!   16 tokens) is one variable;
//! * a token that starts with `/` and holds another `/` (a path) is a variable;
//! * a run of `\w` bytes (ASCII letters, digits, `_`) that holds a digit is masked
//!   (numbers, hex, IP addresses, UUIDs, ids like `blk_-42`'s `42`); when more than half
//!   of a token's runs are masked the whole token is a variable (`10.0.0.1`,
//!   `2026-12-06T10:00:00`, `R02-M1-N0-C:J12-U11`); otherwise the token keeps its other
//!   bytes (`sshd[<*>]:`, `web-<*>`).
//!
//! Only a line's first [`MAX_SHAPE_BYTES`] bytes count, and its first [`MAX_TOKENS`]
//! tokens get positions of their own (later ones fold into the last position).
//!
//! A line's shape depends on its digits only through where they are: every digit sits
//! in a masked run. [`ShapeMemo`] uses that to skip the work for lines whose skeleton
//! (the line with each digit read as `0`) it has seen, which is most lines of a log.

use crate::dispatch;
use crate::generic::shape::{ShapeMasks, ALPHA, CLASS, DIGIT, QUOTE};

/// Token positions a shape keeps.
pub const MAX_TOKENS: usize = 32;
/// Bytes of a line its shape is taken from.
pub const MAX_SHAPE_BYTES: usize = 4096;
/// The hash of a wholly variable token (`<*>`); no other token hashes to it.
pub const VAR: u32 = 0;
/// Longest quoted value, in tokens, that is masked as one variable.
const MAX_QUOTED_TOKENS: usize = 16;
/// Level words are looked for among a line's first tokens only.
const LEVEL_TOKENS: u32 = 8;
const BLOCKS: usize = MAX_SHAPE_BYTES / 64;

const K1: u64 = 0x9E37_79B9_7F4A_7C15;
const K2: u64 = 0xC2B2_AE3D_27D4_EB4F;

/// The log level a line names, least severe first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Level {
    /// TRACE, DEBUG, VERBOSE.
    Debug = 1,
    /// INFO, NOTICE.
    Info = 2,
    /// WARN, WARNING.
    Warn = 3,
    /// ERROR, ERR.
    Error = 4,
    /// FATAL, CRITICAL, CRIT, SEVERE, EMERG, ALERT, PANIC.
    Fatal = 5,
}

impl Level {
    /// All levels, least severe first.
    pub const ALL: [Level; 5] = [
        Level::Debug,
        Level::Info,
        Level::Warn,
        Level::Error,
        Level::Fatal,
    ];

    /// Position in [`Level::ALL`].
    pub fn index(self) -> usize {
        self as usize - 1
    }

    /// Upper-case name.
    pub fn name(self) -> &'static str {
        match self {
            Level::Debug => "DEBUG",
            Level::Info => "INFO",
            Level::Warn => "WARN",
            Level::Error => "ERROR",
            Level::Fatal => "FATAL",
        }
    }

    /// The level of a [`Shape::level`] code (0 is none).
    pub fn from_code(code: u8) -> Option<Level> {
        Level::ALL.get(usize::from(code).wrapping_sub(1)).copied()
    }
}

/// A line's template shape.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Shape {
    /// Hash of the masked token sequence.
    pub key: u64,
    /// Positions holding a word (not a wholly variable token), as a bit set.
    pub words: u32,
    /// Token positions (at most [`MAX_TOKENS`]).
    pub positions: u8,
    /// The level the line names: 0 none, else a [`Level`] code.
    pub level: u8,
}

impl Shape {
    /// The level the line names.
    pub fn level(&self) -> Option<Level> {
        Level::from_code(self.level)
    }

    /// Word positions (not wholly variable).
    pub fn word_count(&self) -> u32 {
        self.words.count_ones()
    }
}

/// Can `b` begin a level word (or the bracket before one)?
static LEVEL_START: [bool; 256] = {
    let mut t = [false; 256];
    let starts = b"TDVINWEFCSAPtdvinwefcsap[<(";
    let mut i = 0;
    while i < starts.len() {
        t[starts[i] as usize] = true;
        i += 1;
    }
    t
};

/// Little-endian value of at most eight bytes, without a copy.
#[inline(always)]
fn load_le(bytes: &[u8]) -> u64 {
    let n = bytes.len();
    if n >= 8 {
        u64::from_le_bytes(bytes[..8].try_into().expect("eight bytes"))
    } else if n >= 4 {
        let lo = u32::from_le_bytes(bytes[..4].try_into().expect("four bytes"));
        let hi = u32::from_le_bytes(bytes[n - 4..].try_into().expect("four bytes"));
        u64::from(lo) | (u64::from(hi) << ((n - 4) * 8))
    } else if n > 0 {
        let (a, b, c) = (
            u64::from(bytes[0]),
            u64::from(bytes[n / 2]),
            u64::from(bytes[n - 1]),
        );
        a | (b << ((n / 2) * 8)) | (c << ((n - 1) * 8))
    } else {
        0
    }
}

/// The level `word` (letters only, 3 to 8 of them) names: upper, lower or Title case.
fn level_word(word: &[u8]) -> Option<Level> {
    const fn pack(w: &[u8]) -> u64 {
        let mut v = 0u64;
        let mut i = 0;
        while i < w.len() {
            v |= (w[i] as u64) << (8 * i);
            i += 1;
        }
        v
    }
    const WORDS: [(u64, Level); 16] = [
        (pack(b"TRACE"), Level::Debug),
        (pack(b"DEBUG"), Level::Debug),
        (pack(b"VERBOSE"), Level::Debug),
        (pack(b"INFO"), Level::Info),
        (pack(b"NOTICE"), Level::Info),
        (pack(b"WARN"), Level::Warn),
        (pack(b"WARNING"), Level::Warn),
        (pack(b"ERROR"), Level::Error),
        (pack(b"ERR"), Level::Error),
        (pack(b"FATAL"), Level::Fatal),
        (pack(b"CRIT"), Level::Fatal),
        (pack(b"CRITICAL"), Level::Fatal),
        (pack(b"SEVERE"), Level::Fatal),
        (pack(b"EMERG"), Level::Fatal),
        (pack(b"ALERT"), Level::Fatal),
        (pack(b"PANIC"), Level::Fatal),
    ];
    let upper_tail = word[1..].iter().all(u8::is_ascii_uppercase);
    let lower_tail = word[1..].iter().all(u8::is_ascii_lowercase);
    if !(lower_tail || upper_tail && word[0].is_ascii_uppercase()) {
        return None; // camelCase words are not levels
    }
    let up = load_le(word) & !0x2020_2020_2020_2020;
    WORDS.iter().find(|&&(w, _)| w == up).map(|&(_, l)| l)
}

/// The level a raw token names: the word alone, or in `[]`, `<>` or `()`, or followed
/// by `:` or `,`.
fn token_level(tok: &[u8]) -> Option<Level> {
    let start = usize::from(matches!(tok[0], b'[' | b'<' | b'('));
    let mut end = start;
    while end < tok.len() && end - start <= 8 && tok[end].is_ascii_alphabetic() {
        end += 1;
    }
    if !(3..=8).contains(&(end - start))
        || tok.len() - end > 2
        || !tok[end..]
            .iter()
            .all(|b| matches!(b, b']' | b'>' | b')' | b':' | b','))
    {
        return None;
    }
    level_word(&tok[start..end])
}

/// Hash of literal bytes, eight at a time.
#[inline(always)]
fn hash_bytes(bytes: &[u8]) -> u64 {
    let mut h = (bytes.len() as u64).wrapping_mul(K2) ^ 0x243F_6A88_85A3_08D3;
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        h = (h ^ u64::from_le_bytes(c.try_into().expect("eight bytes")))
            .wrapping_mul(K1)
            .rotate_left(31);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        h = (h ^ load_le(rest)).wrapping_mul(K1).rotate_left(31);
    }
    h
}

/// A token's hash, built from its literal segments and masked runs.
#[derive(Clone, Copy)]
struct TokenHash(u64);

impl TokenHash {
    const MARK: u64 = 0x5851_F42D_4C95_7F2D;

    #[inline(always)]
    fn new() -> Self {
        TokenHash(0x1319_8A2E_0370_7344)
    }
    #[inline(always)]
    fn literal(&mut self, bytes: &[u8]) {
        if !bytes.is_empty() {
            self.0 = (self.0 ^ hash_bytes(bytes))
                .wrapping_mul(K2)
                .rotate_left(23);
        }
    }
    #[inline(always)]
    fn masked_run(&mut self) {
        self.0 = (self.0 ^ Self::MARK).wrapping_mul(K2).rotate_left(23);
    }
    #[inline(always)]
    fn finish(self) -> u32 {
        let h = (self.0 ^ (self.0 >> 29)).wrapping_mul(K1);
        match (h ^ (h >> 32)) as u32 {
            VAR => 1,
            h => h,
        }
    }
    #[inline(always)]
    fn of_word(bytes: &[u8]) -> u32 {
        let mut h = TokenHash::new();
        h.literal(bytes);
        h.finish()
    }
}

/// Mask of the low `n` bits (`n <= 64`).
#[inline(always)]
fn low(n: u32) -> u64 {
    if n >= 64 {
        !0
    } else {
        (1u64 << n) - 1
    }
}

/// Scratch for shaping lines: the class masks of one line, by 64-byte block.
pub struct Shaper {
    space: [u64; BLOCKS],
    digit: [u64; BLOCKS],
    word: [u64; BLOCKS],
}

impl Default for Shaper {
    fn default() -> Self {
        Shaper {
            space: [0; BLOCKS],
            digit: [0; BLOCKS],
            word: [0; BLOCKS],
        }
    }
}

impl std::fmt::Debug for Shaper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Shaper")
    }
}

/// Where the tokenizer stands within one line.
struct Walk {
    shape: Shape,
    key: u64,
    seen: u32,
    skip_to: usize,
    fold: Option<u32>,
}

impl Shaper {
    /// The shape of `line` with its token hashes written to `tokens` (cleared first; at
    /// most [`MAX_TOKENS`] entries).
    pub fn shape(&mut self, line: &[u8], tokens: &mut Vec<u32>) -> Shape {
        tokens.clear();
        let line = &line[..line.len().min(MAX_SHAPE_BYTES)];
        let nblocks = line.len().div_ceil(64);
        for (b, chunk) in line.chunks(64).enumerate() {
            let ShapeMasks { space, digit, word } = dispatch::shape_masks(chunk);
            self.space[b] = space;
            self.digit[b] = digit;
            self.word[b] = word;
        }
        let mut w = Walk {
            shape: Shape::default(),
            key: K2,
            seen: 0,
            skip_to: 0,
            fold: None,
        };
        // Token starts and ends come from the whitespace mask, block by block; a token
        // that runs past a block stays open until a later block ends it.
        let mut open = usize::MAX;
        let mut carry = 0u64; // the previous block ended inside a token
        for b in 0..nblocks {
            let base = b * 64;
            let solid = !self.space[b];
            let before = (solid << 1) | carry;
            let mut starts = solid & !before;
            let mut ends = self.space[b] & before;
            carry = solid >> 63;
            loop {
                let (s, e) = if open != usize::MAX {
                    if ends == 0 {
                        break;
                    }
                    let e = base + ends.trailing_zeros() as usize;
                    ends &= ends - 1;
                    (std::mem::replace(&mut open, usize::MAX), e)
                } else {
                    if starts == 0 {
                        break;
                    }
                    let sb = starts.trailing_zeros();
                    starts &= starts - 1;
                    let after = ends & !low(sb);
                    if after == 0 {
                        open = base + sb as usize;
                        break;
                    }
                    let eb = after.trailing_zeros();
                    ends &= !low(eb + 1);
                    (base + sb as usize, base + eb as usize)
                };
                self.token(line, s, e, &mut w, tokens);
            }
        }
        if open != usize::MAX {
            self.token(line, open, line.len(), &mut w, tokens);
        }
        if let Some(f) = w.fold {
            tokens[MAX_TOKENS - 1] = f;
            w.shape.words |= 1 << (MAX_TOKENS - 1);
            w.key = tokens.iter().fold(K2, |k, &h| mix_key(k, h));
        }
        w.shape.positions = tokens.len() as u8;
        let k = w.key ^ (tokens.len() as u64).wrapping_mul(K2);
        w.shape.key = k ^ (k >> 31);
        w.shape
    }

    /// Any digit among bytes `s..e`?
    #[inline(always)]
    fn digits_in(&self, s: usize, e: usize) -> bool {
        let (bs, be) = (s / 64, (e - 1) / 64);
        if bs == be {
            return (self.digit[bs] >> (s % 64)) & low((e - s) as u32) != 0;
        }
        (bs..=be).any(|b| {
            let mut m = self.digit[b];
            if b == bs {
                m &= !low((s % 64) as u32);
            }
            if b == be {
                m &= low((e - b * 64) as u32);
            }
            m != 0
        })
    }

    /// First position in `from..limit` whose bit in `masks` equals `set`, else `limit`.
    #[inline(always)]
    fn next(masks: &[u64; BLOCKS], from: usize, limit: usize, set: bool) -> usize {
        let mut i = from;
        while i < limit {
            let b = i / 64;
            let m = if set { masks[b] } else { !masks[b] } & !low((i % 64) as u32);
            if m != 0 {
                return (b * 64 + m.trailing_zeros() as usize).min(limit);
            }
            i = (b + 1) * 64;
        }
        limit
    }

    #[inline(always)]
    fn token(&self, line: &[u8], s: usize, e: usize, w: &mut Walk, tokens: &mut Vec<u32>) {
        if s < w.skip_to {
            return; // inside a quoted value
        }
        let raw = &line[s..e];
        let first = raw[0];
        if w.seen < LEVEL_TOKENS {
            w.seen += 1;
            if w.shape.level == 0 && LEVEL_START[usize::from(first)] && raw.len() >= 3 {
                if let Some(l) = token_level(raw) {
                    w.shape.level = l as u8;
                }
            }
        }
        let has_digit = self.digits_in(s, e);
        let h = if CLASS[usize::from(first)] == QUOTE {
            if raw.len() < 2 || raw[raw.len() - 1] != first {
                let mut at = e;
                for _ in 0..MAX_QUOTED_TOKENS {
                    let s2 = Self::next(&self.space, at, line.len(), false);
                    if s2 == line.len() {
                        break;
                    }
                    let e2 = Self::next(&self.space, s2, line.len(), true);
                    if line[e2 - 1] == first {
                        w.skip_to = e2;
                        break;
                    }
                    at = e2;
                }
            }
            VAR
        } else if first == b'/' && raw[1..].contains(&b'/') {
            VAR
        } else if !has_digit {
            TokenHash::of_word(raw)
        } else {
            self.mixed(line, s, e)
        };
        if tokens.len() < MAX_TOKENS {
            w.shape.words |= u32::from(h != VAR) << tokens.len();
            tokens.push(h);
            w.key = mix_key(w.key, h);
        } else {
            let last = w.fold.get_or_insert(tokens[MAX_TOKENS - 1]);
            *last = (last.rotate_left(5) ^ h).wrapping_mul(0x9E37_79B9) | 1;
        }
    }

    /// A token holding digits: mask the `\w` runs that hold one; a variable if more
    /// than half of its runs are masked.
    #[inline(always)]
    fn mixed(&self, line: &[u8], s: usize, e: usize) -> u32 {
        let (mut runs, mut masked) = (0u32, 0u32);
        let mut h = TokenHash::new();
        let (mut i, mut lit) = (s, s);
        loop {
            let rs = Self::next(&self.word, i, e, true);
            if rs == e {
                break;
            }
            let re = Self::next(&self.word, rs, e, false);
            runs += 1;
            if self.digits_in(rs, re) {
                masked += 1;
                h.literal(&line[lit..rs]);
                h.masked_run();
                lit = re;
            }
            i = re;
        }
        if masked * 2 > runs {
            return VAR;
        }
        h.literal(&line[lit..e]);
        h.finish()
    }
}

#[inline(always)]
fn mix_key(key: u64, token: u32) -> u64 {
    (key ^ u64::from(token)).wrapping_mul(K1).rotate_left(27)
}

/// The shape of one line, with scratch of its own (for occasional lines; a loop over
/// many lines keeps a [`Shaper`] or a [`ShapeMemo`]).
pub fn shape_of(line: &[u8]) -> Shape {
    Shaper::default().shape(line, &mut Vec::with_capacity(MAX_TOKENS))
}

/// `w` (eight bytes) with every ASCII digit read as `0`.
#[inline(always)]
fn zero_digits(w: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let low7 = w & !HIGH;
    let ge0 = low7.wrapping_add(ONES * (0x80 - 0x30)) & HIGH;
    let gt9 = low7.wrapping_add(ONES * (0x80 - 0x3a)) & HIGH;
    let digit = ge0 & !gt9 & !(w & HIGH);
    w & !((digit >> 7).wrapping_mul(0xff) & 0x0f0f_0f0f_0f0f_0f0f)
}

/// Hash of a line's first [`MAX_SHAPE_BYTES`] bytes with every digit read as `0`.
#[inline]
pub fn skeleton_hash(line: &[u8]) -> u64 {
    let line = &line[..line.len().min(MAX_SHAPE_BYTES)];
    let mut h = (line.len() as u64).wrapping_mul(K1) ^ 0x0452_821E_638D_0137;
    let mut chunks = line.chunks_exact(16);
    for c in &mut chunks {
        let (a, b) = c.split_at(8);
        let a = u64::from_le_bytes(a.try_into().expect("eight bytes"));
        let b = u64::from_le_bytes(b.try_into().expect("eight bytes"));
        h = (h ^ zero_digits(a)).wrapping_mul(K1).rotate_left(29) ^ zero_digits(b).wrapping_mul(K2);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let (a, b) = rest.split_at(rest.len().min(8));
        h = (h ^ zero_digits(load_le(a)))
            .wrapping_mul(K1)
            .rotate_left(29)
            ^ zero_digits(load_le(b)).wrapping_mul(K2);
    }
    h ^ (h >> 32)
}

/// Entries of a [`ShapeMemo`].
const MEMO_SLOTS: usize = 1 << 14;

/// A direct-mapped memo of shapes by skeleton: per worker, reused across lines.
/// Most lines of a log differ from an earlier one only in their digits; those take a
/// hash of the line and a table lookup instead of the tokenizer.
pub struct ShapeMemo {
    skeletons: Box<[u64]>,
    shapes: Box<[Shape]>,
    shaper: Shaper,
    tokens: Vec<u32>,
}

impl Default for ShapeMemo {
    fn default() -> Self {
        ShapeMemo {
            skeletons: vec![0; MEMO_SLOTS].into_boxed_slice(),
            shapes: vec![Shape::default(); MEMO_SLOTS].into_boxed_slice(),
            shaper: Shaper::default(),
            tokens: Vec::with_capacity(MAX_TOKENS),
        }
    }
}

impl std::fmt::Debug for ShapeMemo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ShapeMemo")
    }
}

impl ShapeMemo {
    /// The shape of `line` (equal to [`Shaper::shape`]'s).
    #[inline]
    pub fn shape(&mut self, line: &[u8]) -> Shape {
        let sk = skeleton_hash(line) | 1; // 0 marks an empty slot
        let slot = (sk ^ (sk >> 29)) as usize & (MEMO_SLOTS - 1);
        if self.skeletons[slot] != sk {
            self.shapes[slot] = self.shaper.shape(line, &mut self.tokens);
            self.skeletons[slot] = sk;
        }
        self.shapes[slot]
    }
}

/// Bytes of a template's text ([`template_text`]); past them it ends in `…`.
pub const MAX_TEMPLATE_TEXT: usize = 512;

/// The text of the template `line` starts: its masked tokens ([`masked_tokens`]) joined
/// by single spaces, cut to at most [`MAX_TEMPLATE_TEXT`] bytes and a closing `…`, so
/// that a template's memory does not grow with its line. Allocates.
pub fn template_text(line: &[u8]) -> String {
    let mut text = String::new();
    for token in masked_tokens(line) {
        let sep = usize::from(!text.is_empty());
        if sep == 1 {
            text.push(' ');
        }
        if text.len() + token.len() <= MAX_TEMPLATE_TEXT {
            text.push_str(&token);
            continue;
        }
        let room = MAX_TEMPLATE_TEXT.saturating_sub(text.len());
        let mut cut = room.min(token.len());
        while !token.is_char_boundary(cut) {
            cut -= 1;
        }
        text.push_str(&token[..cut]);
        text.push('…');
        break;
    }
    // Templates live long: keep no spare capacity.
    text.shrink_to_fit();
    text
}

/// The masked text of `line`'s tokens, for showing a template: `<*>` for variables,
/// `…` once for tokens past the last position. Allocates.
pub fn masked_tokens(line: &[u8]) -> Vec<String> {
    let line = &line[..line.len().min(MAX_SHAPE_BYTES)];
    let is_space = |b: u8| CLASS[usize::from(b)] == crate::generic::shape::SPACE;
    let is_w = |b: u8| CLASS[usize::from(b)] & (ALPHA | DIGIT) != 0;
    let mut out = Vec::new();
    let mut i = 0;
    let mut skip_to = 0;
    while i < line.len() {
        while i < line.len() && is_space(line[i]) {
            i += 1;
        }
        if i == line.len() {
            break;
        }
        let s = i;
        while i < line.len() && !is_space(line[i]) {
            i += 1;
        }
        if s < skip_to {
            continue;
        }
        let raw = &line[s..i];
        let text = if CLASS[usize::from(raw[0])] == QUOTE {
            if raw.len() < 2 || raw[raw.len() - 1] != raw[0] {
                // Find the closing quote among the next tokens, as the shape does.
                let mut j = i;
                for _ in 0..MAX_QUOTED_TOKENS {
                    while j < line.len() && is_space(line[j]) {
                        j += 1;
                    }
                    if j == line.len() {
                        break;
                    }
                    while j < line.len() && !is_space(line[j]) {
                        j += 1;
                    }
                    if line[j - 1] == raw[0] {
                        skip_to = j;
                        break;
                    }
                }
            }
            "<*>".to_string()
        } else if raw[0] == b'/' && raw[1..].contains(&b'/') {
            "<*>".to_string()
        } else {
            let mut runs = Vec::new();
            let mut k = 0;
            while k < raw.len() {
                if is_w(raw[k]) {
                    let rs = k;
                    while k < raw.len() && is_w(raw[k]) {
                        k += 1;
                    }
                    runs.push((rs, k, raw[rs..k].iter().any(u8::is_ascii_digit)));
                } else {
                    k += 1;
                }
            }
            let masked = runs.iter().filter(|r| r.2).count();
            if masked * 2 > runs.len() {
                "<*>".to_string()
            } else {
                let mut t = Vec::with_capacity(raw.len());
                let mut lit = 0;
                for &(rs, re, d) in &runs {
                    if d {
                        t.extend_from_slice(&raw[lit..rs]);
                        t.extend_from_slice(b"<*>");
                        lit = re;
                    }
                }
                t.extend_from_slice(&raw[lit..]);
                String::from_utf8_lossy(&t).into_owned()
            }
        };
        if out.len() < MAX_TOKENS {
            out.push(text);
        } else if out.len() == MAX_TOKENS {
            out.push("…".to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The byte-by-byte oracle of [`Shaper::shape`]: the same rules, written plainly.
    fn oracle(line: &[u8]) -> (Shape, Vec<u32>) {
        let line = &line[..line.len().min(MAX_SHAPE_BYTES)];
        let is_space = |b: u8| CLASS[usize::from(b)] == crate::generic::shape::SPACE;
        let is_w = |b: u8| CLASS[usize::from(b)] & (ALPHA | DIGIT) != 0;
        let mut raw_tokens = Vec::new();
        let mut i = 0;
        while i < line.len() {
            while i < line.len() && is_space(line[i]) {
                i += 1;
            }
            if i == line.len() {
                break;
            }
            let s = i;
            while i < line.len() && !is_space(line[i]) {
                i += 1;
            }
            raw_tokens.push((s, i));
        }
        let mut shape = Shape::default();
        let mut hashes = Vec::new();
        let mut idx = 0;
        let mut seen = 0;
        while idx < raw_tokens.len() {
            let (s, e) = raw_tokens[idx];
            idx += 1;
            let raw = &line[s..e];
            if seen < LEVEL_TOKENS
                && shape.level == 0
                && raw.len() >= 3
                && LEVEL_START[usize::from(raw[0])]
            {
                if let Some(l) = token_level(raw) {
                    shape.level = l as u8;
                }
            }
            seen += 1;
            let h = if CLASS[usize::from(raw[0])] == QUOTE {
                if raw.len() < 2 || raw[raw.len() - 1] != raw[0] {
                    for k in 0..MAX_QUOTED_TOKENS {
                        let Some(&(_, e2)) = raw_tokens.get(idx + k) else {
                            break;
                        };
                        if line[e2 - 1] == raw[0] {
                            idx += k + 1;
                            break;
                        }
                    }
                }
                VAR
            } else if raw[0] == b'/' && raw[1..].contains(&b'/') {
                VAR
            } else {
                let mut runs = Vec::new();
                let mut k = 0;
                while k < raw.len() {
                    if is_w(raw[k]) {
                        let rs = k;
                        while k < raw.len() && is_w(raw[k]) {
                            k += 1;
                        }
                        runs.push((rs, k, raw[rs..k].iter().any(u8::is_ascii_digit)));
                    } else {
                        k += 1;
                    }
                }
                let masked = runs.iter().filter(|r| r.2).count();
                if masked * 2 > runs.len() {
                    VAR
                } else {
                    let mut h = TokenHash::new();
                    let mut lit = 0;
                    for &(rs, re, d) in &runs {
                        if d {
                            h.literal(&raw[lit..rs]);
                            h.masked_run();
                            lit = re;
                        }
                    }
                    h.literal(&raw[lit..]);
                    h.finish()
                }
            };
            if hashes.len() < MAX_TOKENS {
                if h != VAR {
                    shape.words |= 1 << hashes.len();
                }
                hashes.push(h);
            } else {
                let last = &mut hashes[MAX_TOKENS - 1];
                *last = (last.rotate_left(5) ^ h).wrapping_mul(0x9E37_79B9) | 1;
                shape.words |= 1 << (MAX_TOKENS - 1);
            }
        }
        shape.positions = hashes.len() as u8;
        let k =
            hashes.iter().fold(K2, |k, &h| mix_key(k, h)) ^ (hashes.len() as u64).wrapping_mul(K2);
        shape.key = k ^ (k >> 31);
        (shape, hashes)
    }

    fn shape_of(line: &[u8]) -> (Shape, Vec<u32>) {
        let mut t = Vec::new();
        let s = Shaper::default().shape(line, &mut t);
        (s, t)
    }

    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    #[test]
    fn shaper_equals_the_oracle_on_random_lines() {
        let alphabet = b"ab cZ09/\"'_-.:[]\t=xERROR\xc3\xa9 ";
        let mut rng = Rng(0x1234_5678_9abc_def0);
        let mut memo = ShapeMemo::default();
        for round in 0..30_000 {
            let len = (rng.next() % if round % 10 == 0 { 5000 } else { 200 }) as usize;
            let line: Vec<u8> = (0..len)
                .map(|_| alphabet[(rng.next() >> 40) as usize % alphabet.len()])
                .collect();
            let want = oracle(&line);
            assert_eq!(
                shape_of(&line),
                want,
                "{:?}",
                String::from_utf8_lossy(&line)
            );
            assert_eq!(memo.shape(&line), want.0);
        }
    }

    #[test]
    fn template_text_is_bounded() {
        assert_eq!(
            template_text(b"GET /a/b 200 took 12 ms"),
            "GET <*> <*> took <*> ms"
        );
        let long: Vec<u8> = (0..40)
            .flat_map(|i| {
                let mut t = vec![b'a' + (i % 26) as u8; 100];
                t.push(b' ');
                t
            })
            .collect();
        let t = template_text(&long);
        assert!(t.len() <= MAX_TEMPLATE_TEXT + '…'.len_utf8(), "{}", t.len());
        assert!(t.ends_with('…'));
        assert!(t.starts_with(&"a".repeat(100)));
        // A cut never splits a character.
        let wide = "é".repeat(400);
        let t = template_text(wide.as_bytes());
        assert!(t.len() <= MAX_TEMPLATE_TEXT + '…'.len_utf8() && t.ends_with('…'));
    }

    #[test]
    fn variables_are_masked() {
        let (a, ta) = shape_of(b"Accepted password for root from 10.0.0.1 port 5555 ssh2");
        let (b, tb) = shape_of(b"Accepted password for root from 192.168.1.77 port 22 ssh2");
        assert_eq!((a, &ta), (b, &tb));
        assert_eq!(ta[5], VAR);
        assert_eq!(
            masked_tokens(
                b"from 10.0.0.1 port 22 sshd[123]: blk_-42 /var/log/x \"a b\" R02-M1-N0-C:J12-U11"
            ),
            [
                "from",
                "<*>",
                "port",
                "<*>",
                "sshd[<*>]:",
                "blk_-<*>",
                "<*>",
                "<*>",
                "<*>"
            ]
        );
    }

    #[test]
    fn quoted_values_span_spaces() {
        let (a, _) = shape_of(br#"GET "a b c" done"#);
        let (b, _) = shape_of(br#"GET "x" done"#);
        assert_eq!(a.key, b.key);
        assert_eq!(a.positions, 3);
        assert_eq!(shape_of(br#"say "hello world"#).0.positions, 3);
    }

    #[test]
    fn levels_are_found_in_the_first_tokens() {
        let lvl = |s: &str| shape_of(s.as_bytes()).0.level();
        assert_eq!(
            lvl("2015-10-18 18:01:47,978 INFO [main] x"),
            Some(Level::Info)
        );
        assert_eq!(
            lvl("[Sun Dec 04 04:47:44 2005] [error] mod_jk"),
            Some(Level::Error)
        );
        assert_eq!(lvl("RAS KERNEL FATAL data TLB error"), Some(Level::Fatal));
        assert_eq!(
            lvl("sshd[1]: error: Received disconnect"),
            Some(Level::Error)
        );
        assert_eq!(lvl("Warning: low disk"), Some(Level::Warn));
        assert_eq!(lvl("a b c d e f g h ERROR late"), None);
        assert_eq!(lvl("reportError happened"), None);
        assert_eq!(lvl("ErRoR mixed"), None);
    }

    #[test]
    fn digits_do_not_change_a_shape() {
        let mut rng = Rng(7);
        for _ in 0..5000 {
            let len = (rng.next() % 120) as usize;
            let line: Vec<u8> = (0..len)
                .map(|_| b"a1 :.-9x/_"[(rng.next() >> 33) as usize % 10])
                .collect();
            let zeroed: Vec<u8> = line
                .iter()
                .map(|&c| if c.is_ascii_digit() { b'0' } else { c })
                .collect();
            assert_eq!(shape_of(&line), shape_of(&zeroed));
            assert_eq!(skeleton_hash(&line), skeleton_hash(&zeroed));
        }
    }

    #[test]
    fn zero_digits_replaces_exactly_the_digits() {
        for b in 0..=255u8 {
            let w = u64::from_le_bytes([b, b'a', b, 0xff, b'9', b'0', b'/', b':']);
            let want: Vec<u8> = w
                .to_le_bytes()
                .iter()
                .map(|&x| if x.is_ascii_digit() { b'0' } else { x })
                .collect();
            assert_eq!(zero_digits(w).to_le_bytes().to_vec(), want);
        }
    }

    #[test]
    fn long_lines_fold_and_edges_hold() {
        let long: String = (0..100)
            .map(|i| format!("w{} ", ['a', 'b'][i % 2]))
            .collect();
        let (s, t) = shape_of(long.as_bytes());
        assert_eq!((s.positions as usize, t.len()), (MAX_TOKENS, MAX_TOKENS));
        assert_eq!(shape_of(b"").0.positions, 0);
        assert_eq!(shape_of(b" \t\r ").0.positions, 0);
        assert_eq!(shape_of(b"\"").0.positions, 1);
    }
}
