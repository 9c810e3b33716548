//! A JSON reader for the dialect Python's `json.loads` accepts (NaN/Infinity literals,
//! lone surrogate escapes, arbitrary-size integers), plus Python `str()`/`repr()` of
//! the values it reads. No recursion: nesting depth is bounded only by memory.
//!
//! Grammar (CPython 3.11 `_json.c`, `json.loads` with default arguments):
//! whitespace is only ` \t\n\r`; numbers are `-?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?`
//! (anything else after a number is an error in every context); `NaN`, `Infinity`,
//! `-Infinity`; strings are strict (a raw character below U+0020 is an error) with the
//! escapes `\" \\ \/ \b \f \n \r \t \uXXXX`; a `\uD8xx\uDCxx` pair joins, any other
//! surrogate escape stays a lone surrogate; objects keep the last value of a duplicate
//! key at the position of its first occurrence (Python dict semantics); trailing
//! whitespace is allowed and anything else after the value is "Extra data".
//!
//! Strings are kept internally as WTF-8 (generalized UTF-8 in which a lone surrogate is
//! the 3-byte sequence `ED A0..BF xx`), so key comparisons, dict de-duplication and
//! `repr()` (which prints `'\ud800'`) are exact. **The one deviation**: when a string is
//! turned into a Rust `String` (for `str()` of a string, or a key name), each lone
//! surrogate becomes U+FFFD, since Rust strings cannot hold surrogates.
//!
//! Other documented choices where Python would raise instead of returning a value:
//! * an integer literal with more than 4300 digits is rejected like a syntax error
//!   ([`JsonErrorKind::IntTooLong`]; CPython raises a plain `ValueError` there, which
//!   the reference does not catch);
//! * nesting deeper than CPython's recursion limit (~1000) parses fine here and
//!   `str()`/`repr()` of it is the full text CPython would produce with an unlimited
//!   recursion limit (CPython raises `RecursionError`). Both run with explicit stacks.
//!
//! The parser fills a reusable arena ([`JsonDoc`]); after warm-up a line costs no
//! allocation. Strings without escapes and numbers are stored as ranges of the input.

use crate::pyfmt::write_float_repr;
use crate::unicode::is_printable;
use std::collections::HashMap;

/// Python 3.11's default `sys.get_int_max_str_digits()`.
pub const INT_MAX_STR_DIGITS: usize = 4300;

/// Dict sizes up to this use linear key search for de-duplication; larger ones a hash
/// index.
const LINEAR_DEDUP_MAX: usize = 12;

/// Why a document was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JsonErrorKind {
    /// No value where one was required (`Expecting value`).
    ExpectingValue,
    /// An object member does not start with `"`.
    ExpectingPropertyName,
    /// Missing `:` after an object key.
    ExpectingColon,
    /// Missing `,` or closing bracket.
    ExpectingDelimiter,
    /// A raw control character (< U+0020) inside a string.
    InvalidControlCharacter,
    /// A backslash escape other than the JSON ones.
    InvalidEscape,
    /// `\u` not followed by four hex digits.
    InvalidUnicodeEscape,
    /// End of input inside a string.
    UnterminatedString,
    /// Non-whitespace after the top-level value.
    ExtraData,
    /// An integer literal longer than [`INT_MAX_STR_DIGITS`] digits.
    IntTooLong,
}

/// A rejected document: the kind and the byte offset where it was detected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JsonError {
    /// What went wrong.
    pub kind: JsonErrorKind,
    /// Byte offset into the input.
    pub pos: usize,
}

impl std::fmt::Display for JsonError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?} at byte {}", self.kind, self.pos)
    }
}

impl std::error::Error for JsonError {}

/// Index of a value in a parsed document.
pub type NodeId = usize;

/// The Python type of a parsed value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `None` (`null`).
    Null,
    /// `True` / `False`.
    Bool,
    /// `int`.
    Int,
    /// `float` (including `NaN`, `Infinity`, `-Infinity`).
    Float,
    /// `str`.
    Str,
    /// `list`.
    List,
    /// `dict`.
    Dict,
}

#[derive(Clone, Copy, Debug)]
enum Node {
    Null,
    True,
    False,
    NaN,
    Inf,
    NegInf,
    /// Integer token, range of the input.
    Int(usize, usize),
    /// Float token, range of the input.
    Float(usize, usize),
    /// String without escapes: content range of the input (valid UTF-8).
    RawStr(usize, usize),
    /// Unescaped string: range of `strbuf` (WTF-8); `true` if it has lone surrogates.
    EscStr(usize, usize, bool),
    /// `first` index into `kids` and item count.
    Array(usize, usize),
    /// `first` index into `kids` and member count (key and value alternate in `kids`).
    Object(usize, usize),
}

#[derive(Clone, Copy, Debug)]
struct Frame {
    node: NodeId,
    pending_start: usize,
    is_obj: bool,
}

/// Reusable storage for parsing one document at a time.
#[derive(Clone, Debug, Default)]
pub struct JsonDoc {
    nodes: Vec<Node>,
    kids: Vec<NodeId>,
    strbuf: Vec<u8>,
    pending: Vec<NodeId>,
    frames: Vec<Frame>,
}

/// A successfully parsed document: the arena plus the text it points into.
#[derive(Clone, Copy, Debug)]
pub struct Parsed<'a> {
    doc: &'a JsonDoc,
    text: &'a str,
    root: NodeId,
}

fn is_ws(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r')
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while b.get(i).is_some_and(|&c| is_ws(c)) {
        i += 1;
    }
    i
}

fn err<T>(kind: JsonErrorKind, pos: usize) -> Result<T, JsonError> {
    Err(JsonError { kind, pos })
}

fn hex4(b: &[u8], i: usize) -> Option<u32> {
    let mut v = 0u32;
    for k in 0..4 {
        let d = (*b.get(i + k)? as char).to_digit(16)?;
        v = v << 4 | d;
    }
    Some(v)
}

/// Append code point `c` (any value up to 0x10FFFF, surrogates included) as WTF-8.
fn push_cp(buf: &mut Vec<u8>, c: u32) {
    if c < 0x80 {
        buf.push(c as u8);
    } else if c < 0x800 {
        buf.extend_from_slice(&[0xC0 | (c >> 6) as u8, 0x80 | (c & 0x3F) as u8]);
    } else if c < 0x10000 {
        buf.extend_from_slice(&[
            0xE0 | (c >> 12) as u8,
            0x80 | ((c >> 6) & 0x3F) as u8,
            0x80 | (c & 0x3F) as u8,
        ]);
    } else {
        buf.extend_from_slice(&[
            0xF0 | (c >> 18) as u8,
            0x80 | ((c >> 12) & 0x3F) as u8,
            0x80 | ((c >> 6) & 0x3F) as u8,
            0x80 | (c & 0x3F) as u8,
        ]);
    }
}

/// Bytes that end a plain run inside a string: `"`, `\` and control characters.
fn is_str_special(c: u8) -> bool {
    c == b'"' || c == b'\\' || c < 0x20
}

/// First index `>= i` holding a special string byte (or `b.len()`): sixteen bytes at a
/// time with SSE2 (part of the x86_64 baseline), then eight by SWAR, then one by one.
fn scan_plain(b: &[u8], mut i: usize) -> usize {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::*;
        while let Some(chunk) = b.get(i..i + 16) {
            // SAFETY: SSE2 is part of the x86_64 baseline; the unaligned load reads the
            // 16 bytes of `chunk`.
            let hits = unsafe {
                let v = _mm_loadu_si128(chunk.as_ptr().cast());
                // v <= 0x1f (unsigned) as max(v, 0x1f) == 0x1f.
                let ctl = _mm_cmpeq_epi8(_mm_max_epu8(v, _mm_set1_epi8(0x1f)), _mm_set1_epi8(0x1f));
                let quote = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8));
                let slash = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8));
                _mm_movemask_epi8(_mm_or_si128(ctl, _mm_or_si128(quote, slash))) as u32
            };
            if hits != 0 {
                return i + hits.trailing_zeros() as usize;
            }
            i += 16;
        }
    }
    scan_plain_swar(b, i)
}

/// [`scan_plain`] eight bytes at a time in a `u64` (and for the last few bytes).
fn scan_plain_swar(b: &[u8], mut i: usize) -> usize {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    while let Some(chunk) = b.get(i..i + 8) {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        let v = u64::from_le_bytes(w);
        // Any byte < 0x20, == '"' or == '\\' (exact for these thresholds).
        let lt = v.wrapping_sub(LO * 0x20) & !v;
        let q = v ^ (LO * u64::from(b'"'));
        let eq_q = q.wrapping_sub(LO) & !q;
        let s = v ^ (LO * u64::from(b'\\'));
        let eq_s = s.wrapping_sub(LO) & !s;
        if (lt | eq_q | eq_s) & HI != 0 {
            break;
        }
        i += 8;
    }
    while let Some(&c) = b.get(i) {
        if is_str_special(c) {
            break;
        }
        i += 1;
    }
    i
}

impl JsonDoc {
    /// Parse `text` as Python's `json.loads(text)` would. The returned view borrows this
    /// arena and the text.
    pub fn parse<'a>(&'a mut self, text: &'a str) -> Result<Parsed<'a>, JsonError> {
        self.nodes.clear();
        self.kids.clear();
        self.strbuf.clear();
        self.pending.clear();
        self.frames.clear();
        let b = text.as_bytes();
        let mut i = skip_ws(b, 0);
        'value: loop {
            // Parse one value at `i`.
            match b.get(i).copied() {
                Some(b'{') => {
                    let id = self.push_node(Node::Object(0, 0));
                    self.frames.push(Frame {
                        node: id,
                        pending_start: self.pending.len(),
                        is_obj: true,
                    });
                    i = skip_ws(b, i + 1);
                    if b.get(i) == Some(&b'}') {
                        i += 1;
                        self.close_frame();
                    } else {
                        i = self.parse_key(b, i)?;
                        continue 'value;
                    }
                }
                Some(b'[') => {
                    let id = self.push_node(Node::Array(0, 0));
                    self.frames.push(Frame {
                        node: id,
                        pending_start: self.pending.len(),
                        is_obj: false,
                    });
                    i = skip_ws(b, i + 1);
                    if b.get(i) == Some(&b']') {
                        i += 1;
                        self.close_frame();
                    } else {
                        continue 'value;
                    }
                }
                Some(b'"') => {
                    let (id, end) = self.parse_string(b, i)?;
                    self.pending.push(id);
                    i = end;
                }
                Some(c) => {
                    let (node, end) = Self::parse_scalar(b, i, c)?;
                    let id = self.push_node(node);
                    self.pending.push(id);
                    i = end;
                }
                None => return err(JsonErrorKind::ExpectingValue, i),
            }
            // A value is complete: close containers or move to the next member.
            loop {
                let Some(top) = self.frames.last().copied() else {
                    break 'value;
                };
                i = skip_ws(b, i);
                match b.get(i).copied() {
                    Some(b',') => {
                        i = skip_ws(b, i + 1);
                        if top.is_obj {
                            i = self.parse_key(b, i)?;
                        }
                        continue 'value;
                    }
                    Some(b'}') if top.is_obj => {
                        i += 1;
                        self.close_frame();
                    }
                    Some(b']') if !top.is_obj => {
                        i += 1;
                        self.close_frame();
                    }
                    _ => return err(JsonErrorKind::ExpectingDelimiter, i),
                }
            }
        }
        i = skip_ws(b, i);
        if i != b.len() {
            return err(JsonErrorKind::ExtraData, i);
        }
        let root = self.pending.first().copied().unwrap_or(0);
        if self.nodes.is_empty() {
            self.nodes.push(Node::Null);
        }
        Ok(Parsed {
            doc: self,
            text,
            root,
        })
    }

    fn push_node(&mut self, n: Node) -> NodeId {
        self.nodes.push(n);
        self.nodes.len() - 1
    }

    fn close_frame(&mut self) {
        let Some(f) = self.frames.pop() else { return };
        let first = self.kids.len();
        let start = f.pending_start.min(self.pending.len());
        self.kids.extend_from_slice(&self.pending[start..]);
        self.pending.truncate(start);
        let n = self.kids.len() - first;
        if let Some(node) = self.nodes.get_mut(f.node) {
            *node = if f.is_obj {
                Node::Object(first, n / 2)
            } else {
                Node::Array(first, n)
            };
        }
        self.pending.push(f.node);
    }

    /// Key string, `:` and the whitespace before the value; returns the value position.
    fn parse_key(&mut self, b: &[u8], i: usize) -> Result<usize, JsonError> {
        if b.get(i) != Some(&b'"') {
            return err(JsonErrorKind::ExpectingPropertyName, i);
        }
        let (id, end) = self.parse_string(b, i)?;
        self.pending.push(id);
        let j = skip_ws(b, end);
        if b.get(j) != Some(&b':') {
            return err(JsonErrorKind::ExpectingColon, j);
        }
        Ok(skip_ws(b, j + 1))
    }

    /// String starting at the quote `b[i]`; returns its node and the index after it.
    fn parse_string(&mut self, b: &[u8], i: usize) -> Result<(NodeId, usize), JsonError> {
        let start = i + 1;
        let mut j = scan_plain(b, start);
        match b.get(j) {
            None => return err(JsonErrorKind::UnterminatedString, i),
            Some(b'"') => return Ok((self.push_node(Node::RawStr(start, j)), j + 1)),
            Some(b'\\') => {}
            Some(_) => return err(JsonErrorKind::InvalidControlCharacter, j),
        }
        let sb = self.strbuf.len();
        self.strbuf.extend_from_slice(&b[start..j]);
        let mut lone = false;
        loop {
            match b.get(j).copied() {
                None => return err(JsonErrorKind::UnterminatedString, i),
                Some(b'"') => {
                    let id = self.push_node(Node::EscStr(sb, self.strbuf.len(), lone));
                    return Ok((id, j + 1));
                }
                Some(b'\\') => {
                    let c = match b.get(j + 1).copied() {
                        None => return err(JsonErrorKind::UnterminatedString, i),
                        Some(c) => c,
                    };
                    let simple = match c {
                        b'"' => Some(b'"'),
                        b'\\' => Some(b'\\'),
                        b'/' => Some(b'/'),
                        b'b' => Some(8),
                        b'f' => Some(12),
                        b'n' => Some(b'\n'),
                        b'r' => Some(b'\r'),
                        b't' => Some(b'\t'),
                        b'u' => None,
                        _ => return err(JsonErrorKind::InvalidEscape, j),
                    };
                    if let Some(s) = simple {
                        self.strbuf.push(s);
                        j += 2;
                    } else {
                        let Some(mut cp) = hex4(b, j + 2) else {
                            return err(JsonErrorKind::InvalidUnicodeEscape, j);
                        };
                        j += 6;
                        if (0xD800..0xDC00).contains(&cp)
                            && b.get(j) == Some(&b'\\')
                            && b.get(j + 1) == Some(&b'u')
                        {
                            let Some(c2) = hex4(b, j + 2) else {
                                return err(JsonErrorKind::InvalidUnicodeEscape, j);
                            };
                            if (0xDC00..0xE000).contains(&c2) {
                                cp = 0x10000 + ((cp - 0xD800) << 10 | (c2 - 0xDC00));
                                j += 6;
                            }
                        }
                        if (0xD800..0xE000).contains(&cp) {
                            lone = true;
                        }
                        push_cp(&mut self.strbuf, cp);
                    }
                }
                Some(_) => return err(JsonErrorKind::InvalidControlCharacter, j),
            }
            let k = scan_plain(b, j);
            self.strbuf.extend_from_slice(&b[j..k]);
            j = k;
        }
    }

    /// Literals and numbers (`c` is `b[i]`).
    fn parse_scalar(b: &[u8], i: usize, c: u8) -> Result<(Node, usize), JsonError> {
        let rest = &b[i..];
        let lit = |s: &[u8], n: Node| -> Result<(Node, usize), JsonError> {
            if rest.starts_with(s) {
                Ok((n, i + s.len()))
            } else {
                err(JsonErrorKind::ExpectingValue, i)
            }
        };
        match c {
            b'n' => lit(b"null", Node::Null),
            b't' => lit(b"true", Node::True),
            b'f' => lit(b"false", Node::False),
            b'N' => lit(b"NaN", Node::NaN),
            b'I' => lit(b"Infinity", Node::Inf),
            b'-' if rest.get(1) == Some(&b'I') => lit(b"-Infinity", Node::NegInf),
            b'-' | b'0'..=b'9' => Self::parse_number(b, i),
            _ => err(JsonErrorKind::ExpectingValue, i),
        }
    }

    fn parse_number(b: &[u8], start: usize) -> Result<(Node, usize), JsonError> {
        let digit = |k: usize| b.get(k).is_some_and(u8::is_ascii_digit);
        let mut i = start;
        if b.get(i) == Some(&b'-') {
            i += 1;
        }
        let int_start = i;
        match b.get(i) {
            Some(b'1'..=b'9') => {
                i += 1;
                while digit(i) {
                    i += 1;
                }
            }
            Some(b'0') => i += 1,
            _ => return err(JsonErrorKind::ExpectingValue, start),
        }
        let int_digits = i - int_start;
        let mut is_float = false;
        if b.get(i) == Some(&b'.') && digit(i + 1) {
            is_float = true;
            i += 2;
            while digit(i) {
                i += 1;
            }
        }
        if matches!(b.get(i), Some(b'e' | b'E')) {
            let mut k = i + 1;
            if matches!(b.get(k), Some(b'+' | b'-')) {
                k += 1;
            }
            if digit(k) {
                while digit(k) {
                    k += 1;
                }
                is_float = true;
                i = k;
            }
        }
        if is_float {
            Ok((Node::Float(start, i), i))
        } else if int_digits > INT_MAX_STR_DIGITS {
            err(JsonErrorKind::IntTooLong, start)
        } else {
            Ok((Node::Int(start, i), i))
        }
    }
}

impl<'a> Parsed<'a> {
    /// The top-level value.
    pub fn root(&self) -> NodeId {
        self.root
    }

    fn node(&self, id: NodeId) -> Node {
        self.doc.nodes.get(id).copied().unwrap_or(Node::Null)
    }

    fn kid(&self, k: usize) -> NodeId {
        self.doc.kids.get(k).copied().unwrap_or(usize::MAX)
    }

    /// Python type of a value.
    pub fn kind(&self, id: NodeId) -> Kind {
        match self.node(id) {
            Node::Null => Kind::Null,
            Node::True | Node::False => Kind::Bool,
            Node::Int(..) => Kind::Int,
            Node::Float(..) | Node::NaN | Node::Inf | Node::NegInf => Kind::Float,
            Node::RawStr(..) | Node::EscStr(..) => Kind::Str,
            Node::Array(..) => Kind::List,
            Node::Object(..) => Kind::Dict,
        }
    }

    /// Object members in source order, duplicates included: `(key, value)`. Empty for
    /// non-objects. Use [`Parsed::dict_items`] for Python dict semantics.
    pub fn members(&self, id: NodeId) -> impl Iterator<Item = (NodeId, NodeId)> + '_ {
        let (first, len) = match self.node(id) {
            Node::Object(f, n) => (f, n),
            _ => (0, 0),
        };
        (0..len).map(move |k| (self.kid(first + 2 * k), self.kid(first + 2 * k + 1)))
    }

    /// List items in order. Empty for non-lists.
    pub fn list_items(&self, id: NodeId) -> impl Iterator<Item = NodeId> + '_ {
        let (first, len) = match self.node(id) {
            Node::Array(f, n) => (f, n),
            _ => (0, 0),
        };
        (first..first + len).map(move |k| self.kid(k))
    }

    /// The dict a Python object would hold: for each distinct key (first-occurrence
    /// order) its last value. Appends `(key, value)` pairs to `out`.
    pub fn dict_items(&self, id: NodeId, out: &mut Vec<(NodeId, NodeId)>) {
        let mut index = KeyIndex::default();
        self.dict_items_with(id, out, &mut index);
    }

    fn dict_items_with(&self, id: NodeId, out: &mut Vec<(NodeId, NodeId)>, index: &mut KeyIndex) {
        let base = out.len();
        index.clear();
        for (k, v) in self.members(id) {
            let key = self.str_wtf8(k).unwrap_or_default();
            let n = out.len() - base;
            let found = if n <= LINEAR_DEDUP_MAX {
                out.iter()
                    .skip(base)
                    .position(|&(kn, _)| self.str_wtf8(kn).unwrap_or_default() == key)
                    .map(|p| p + base)
            } else {
                if !index.active {
                    for (j, &(kn, _)) in out.iter().enumerate().skip(base) {
                        index.insert(self.str_wtf8(kn).unwrap_or_default(), j);
                    }
                    index.active = true;
                }
                index.find(key, |j| {
                    out.get(j)
                        .and_then(|p| self.str_wtf8(p.0))
                        .unwrap_or_default()
                })
            };
            match found.and_then(|j| out.get_mut(j)) {
                Some(entry) => entry.1 = v,
                None => {
                    out.push((k, v));
                    if index.active {
                        index.insert(key, out.len() - 1);
                    }
                }
            }
        }
    }

    /// A string value as WTF-8 bytes (valid UTF-8 unless it has lone surrogates).
    pub fn str_wtf8(&self, id: NodeId) -> Option<&'a [u8]> {
        match self.node(id) {
            Node::RawStr(s, e) => self.text.as_bytes().get(s..e),
            Node::EscStr(s, e, _) => self.doc.strbuf.get(s..e),
            _ => None,
        }
    }

    /// A string value as `&str` when it has no lone surrogates (no re-validation for
    /// strings without escapes).
    pub fn str_utf8(&self, id: NodeId) -> Option<&'a str> {
        match self.node(id) {
            Node::RawStr(s, e) => self.text.get(s..e),
            Node::EscStr(s, e, false) => std::str::from_utf8(self.doc.strbuf.get(s..e)?).ok(),
            _ => None,
        }
    }

    /// Whether a string value contains lone surrogates.
    pub fn str_has_surrogates(&self, id: NodeId) -> bool {
        matches!(self.node(id), Node::EscStr(_, _, true))
    }

    /// Python `float(v)` for an `int` or `float` value (`bool` excluded): `None` for
    /// other types and where `float(int)` raises `OverflowError`. `-0` (an int) is `0.0`.
    pub fn as_float(&self, id: NodeId) -> Option<f64> {
        match self.node(id) {
            Node::NaN => Some(f64::NAN),
            Node::Inf => Some(f64::INFINITY),
            Node::NegInf => Some(f64::NEG_INFINITY),
            Node::Float(s, e) => self.text.get(s..e)?.parse::<f64>().ok(),
            Node::Int(s, e) => {
                let t = self.text.get(s..e)?;
                if t.len() <= 16 {
                    // Fast path: |v| < 10**16 converts like float(int) via `as`
                    // (round to nearest even); also maps `-0` to `0.0`.
                    let (neg, digits) = match t.strip_prefix('-') {
                        Some(d) => (true, d),
                        None => (false, t),
                    };
                    let v = digits
                        .bytes()
                        .fold(0u64, |acc, c| acc * 10 + u64::from(c.wrapping_sub(b'0')));
                    let x = v as f64;
                    return Some(if neg && v != 0 { -x } else { x });
                }
                let x = t.parse::<f64>().ok()?;
                x.is_finite().then_some(x)
            }
            _ => None,
        }
    }

    /// Append Python `str(v)`: a string as itself (lone surrogates → U+FFFD), anything
    /// else as `repr(v)`.
    pub fn write_str(&self, id: NodeId, out: &mut String) {
        if let Some(s) = self.str_utf8(id) {
            out.push_str(s);
        } else if let Some(b) = self.str_wtf8(id) {
            push_wtf8_lossy(out, b);
        } else {
            self.write_repr(id, out);
        }
    }

    /// Append Python `repr(v)` (`str()` of a container), iteratively: nesting depth
    /// costs heap, not stack.
    pub fn write_repr(&self, id: NodeId, out: &mut String) {
        struct Open {
            start: usize,
            next: usize,
            end: usize,
            is_dict: bool,
        }
        let mut stack: Vec<Open> = Vec::new();
        // Entries of the open containers, innermost last: `(key, value)`.
        let mut items: Vec<(NodeId, NodeId)> = Vec::new();
        let mut index = KeyIndex::default();
        let mut open = |v: NodeId,
                        out: &mut String,
                        stack: &mut Vec<Open>,
                        items: &mut Vec<(NodeId, NodeId)>| {
            match self.node(v) {
                Node::Array(first, len) if len > 0 => {
                    out.push('[');
                    let start = items.len();
                    items.extend((first..first + len).map(|k| (usize::MAX, self.kid(k))));
                    stack.push(Open {
                        start,
                        next: start,
                        end: items.len(),
                        is_dict: false,
                    });
                }
                Node::Object(_, len) if len > 0 => {
                    out.push('{');
                    let start = items.len();
                    self.dict_items_with(v, items, &mut index);
                    stack.push(Open {
                        start,
                        next: start,
                        end: items.len(),
                        is_dict: true,
                    });
                }
                _ => self.write_scalar_repr(v, out),
            }
        };
        open(id, out, &mut stack, &mut items);
        while let Some(top) = stack.last_mut() {
            if top.next < top.end {
                if top.next > top.start {
                    out.push_str(", ");
                }
                let (k, v) = items
                    .get(top.next)
                    .copied()
                    .unwrap_or((usize::MAX, usize::MAX));
                top.next += 1;
                if top.is_dict {
                    self.write_scalar_repr(k, out);
                    out.push_str(": ");
                }
                open(v, out, &mut stack, &mut items);
            } else {
                out.push(if top.is_dict { '}' } else { ']' });
                let start = top.start;
                stack.pop();
                items.truncate(start);
            }
        }
    }

    fn write_scalar_repr(&self, id: NodeId, out: &mut String) {
        match self.node(id) {
            Node::Null => out.push_str("None"),
            Node::True => out.push_str("True"),
            Node::False => out.push_str("False"),
            Node::NaN => out.push_str("nan"),
            Node::Inf => out.push_str("inf"),
            Node::NegInf => out.push_str("-inf"),
            Node::Int(s, e) => {
                let t = self.text.get(s..e).unwrap_or("0");
                out.push_str(if t == "-0" { "0" } else { t });
            }
            Node::Float(..) => write_float_repr(out, self.as_float(id).unwrap_or(f64::NAN)),
            Node::RawStr(..) | Node::EscStr(..) => {
                write_str_repr(out, self.str_wtf8(id).unwrap_or_default())
            }
            // Only reached for empty containers (`write_repr` opens the others).
            Node::Array(..) => out.push_str("[]"),
            Node::Object(..) => out.push_str("{}"),
        }
    }
}

/// Decode one code point from WTF-8 at `b[i..]`: `(code point, length)`. Invalid bytes
/// decode as U+FFFD of length 1 (cannot happen for parser output).
fn next_cp(b: &[u8], i: usize) -> (u32, usize) {
    let c0 = b.get(i).copied().unwrap_or(0);
    let cont = |k: usize| b.get(i + k).map(|&c| u32::from(c & 0x3F));
    let r = match c0 {
        0x00..=0x7F => Some((u32::from(c0), 1)),
        0xC0..=0xDF => cont(1).map(|a| ((u32::from(c0 & 0x1F) << 6) | a, 2)),
        0xE0..=0xEF => match (cont(1), cont(2)) {
            (Some(a), Some(c)) => Some(((u32::from(c0 & 0x0F) << 12) | a << 6 | c, 3)),
            _ => None,
        },
        0xF0..=0xF7 => match (cont(1), cont(2), cont(3)) {
            (Some(a), Some(c), Some(d)) => {
                Some(((u32::from(c0 & 0x07) << 18) | a << 12 | c << 6 | d, 4))
            }
            _ => None,
        },
        _ => None,
    };
    r.unwrap_or((0xFFFD, 1))
}

/// Append WTF-8 bytes as a Rust string, each lone surrogate becoming U+FFFD.
pub fn push_wtf8_lossy(out: &mut String, b: &[u8]) {
    let mut i = 0;
    while i < b.len() {
        // Find the next surrogate (ED A0..BF xx).
        let mut j = i;
        while j < b.len() && !(b[j] == 0xED && b.get(j + 1).is_some_and(|&c| c >= 0xA0)) {
            j += 1;
        }
        match std::str::from_utf8(&b[i..j]) {
            Ok(s) => out.push_str(s),
            Err(_) => out.push_str(&String::from_utf8_lossy(&b[i..j])),
        }
        if j < b.len() {
            out.push('\u{FFFD}');
            j += 3;
        }
        i = j;
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn push_hex(out: &mut String, prefix: &str, v: u32, digits: u32) {
    out.push_str(prefix);
    for k in (0..digits).rev() {
        out.push(HEX[((v >> (4 * k)) & 0xF) as usize] as char);
    }
}

/// Append Python `repr()` of a string given as WTF-8 (lone surrogates print as
/// `\udXXX`, exactly like CPython).
pub fn write_str_repr(out: &mut String, b: &[u8]) {
    let has_sq = b.contains(&b'\'');
    let has_dq = b.contains(&b'"');
    let quote = if has_sq && !has_dq { '"' } else { '\'' };
    out.push(quote);
    let mut i = 0;
    while i < b.len() {
        // Fast path: a run of printable ASCII that needs no escaping.
        let c0 = b[i];
        if (0x20..0x7F).contains(&c0) && c0 != b'\\' && c0 as char != quote {
            let mut j = i + 1;
            while j < b.len()
                && (0x20..0x7F).contains(&b[j])
                && b[j] != b'\\'
                && b[j] as char != quote
            {
                j += 1;
            }
            if let Ok(s) = std::str::from_utf8(&b[i..j]) {
                out.push_str(s);
            }
            i = j;
            continue;
        }
        let (cp, n) = next_cp(b, i);
        i += n;
        match cp {
            0x5C => out.push_str("\\\\"),
            0x09 => out.push_str("\\t"),
            0x0A => out.push_str("\\n"),
            0x0D => out.push_str("\\r"),
            _ if cp == quote as u32 => {
                out.push('\\');
                out.push(quote);
            }
            _ if cp < 0x20 || cp == 0x7F => push_hex(out, "\\x", cp, 2),
            _ if cp < 0x7F => out.push(cp as u8 as char),
            _ => match char::from_u32(cp) {
                Some(ch) if is_printable(ch) => out.push(ch),
                _ if cp <= 0xFF => push_hex(out, "\\x", cp, 2),
                _ if cp <= 0xFFFF => push_hex(out, "\\u", cp, 4),
                _ => push_hex(out, "\\U", cp, 8),
            },
        }
    }
    out.push(quote);
}

/// A reusable hash index from key bytes to entry positions, used to de-duplicate large
/// objects in linear time. Keyed by a randomly seeded 64-bit hash, with collision
/// chains, so crafted keys cannot degrade it.
#[derive(Clone, Debug, Default)]
pub struct KeyIndex {
    heads: HashMap<u64, usize, ahash::RandomState>,
    chain: Vec<(usize, usize)>,
    /// Whether the index currently covers the entries (callers build it lazily).
    pub active: bool,
}

impl KeyIndex {
    /// Forget all entries (keeps capacity).
    pub fn clear(&mut self) {
        self.heads.clear();
        self.chain.clear();
        self.active = false;
    }

    /// Record that `key` is stored at entry `pos`.
    pub fn insert(&mut self, key: &[u8], pos: usize) {
        let h = self.heads.hasher().hash_one(key);
        let link = self.chain.len();
        let prev = self.heads.insert(h, link).unwrap_or(usize::MAX);
        self.chain.push((pos, prev));
    }

    /// Entry position holding `key`; `key_of(pos)` returns the key bytes of an entry.
    pub fn find<'k>(&self, key: &[u8], key_of: impl Fn(usize) -> &'k [u8]) -> Option<usize> {
        let h = self.heads.hasher().hash_one(key);
        let mut link = *self.heads.get(&h)?;
        while let Some(&(pos, prev)) = self.chain.get(link) {
            if key_of(pos) == key {
                return Some(pos);
            }
            link = prev;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_scans_agree_with_the_byte_rule() {
        let mut x = 0x2545_f491_4f6c_dd1d_u64;
        for round in 0..2000 {
            let len = (round % 70) as usize;
            let b: Vec<u8> = (0..len)
                .map(|_| {
                    trace_sentinel_testrand::xorshift64(&mut x);
                    // Mostly plain bytes (ASCII and high), sometimes a special one.
                    match x % 23 {
                        0 => b'"',
                        1 => b'\\',
                        2 => (x >> 8) as u8 % 0x20,
                        _ => 0x20 + (x >> 8) as u8 % 0xe0,
                    }
                })
                .collect();
            for start in 0..=len {
                let want = (start..len).find(|&k| is_str_special(b[k])).unwrap_or(len);
                assert_eq!(scan_plain(&b, start), want, "{b:?} from {start}");
                assert_eq!(scan_plain_swar(&b, start), want, "{b:?} from {start}");
            }
        }
    }

    fn repr_of(text: &str) -> Result<String, JsonError> {
        let mut doc = JsonDoc::default();
        let p = doc.parse(text)?;
        let mut s = String::new();
        p.write_repr(p.root(), &mut s);
        Ok(s)
    }

    /// `repr(json.loads(text))` from Python 3.11.7.
    #[test]
    fn repr_matches_python() {
        let cases: &[(&str, &str)] = &[
            ("null", "None"),
            ("true", "True"),
            ("false", "False"),
            ("0", "0"),
            ("-0", "0"),
            ("-1", "-1"),
            (
                "123456789012345678901234567890",
                "123456789012345678901234567890",
            ),
            ("[]", "[]"),
            ("{}", "{}"),
            ("[[]]", "[[]]"),
            ("[{}]", "[{}]"),
            ("{\"a\":{}}", "{'a': {}}"),
            (" [ 1 , 2 ] ", "[1, 2]"),
            ("\u{9}{\"a\" :\u{d}\u{a}1}\u{a}", "{'a': 1}"),
            ("\"a'b\"", "\"a'b\""),
            ("\"a\\\"b\"", "'a\"b'"),
            ("\"a'b\\\"c\"", "'a\\'b\"c'"),
            ("\"\\\\\"", "'\\\\'"),
            ("\"\\/\"", "'/'"),
            ("\"\\b\\f\\n\\r\\t\"", "'\\x08\\x0c\\n\\r\\t'"),
            ("\"\\u0041\\u00e9\\u20ac\"", "'A\u{e9}\u{20ac}'"),
            ("\"\\ud83d\\ude00\"", "'\u{1f600}'"),
            ("\"\\ud800\"", "'\\ud800'"),
            ("\"\\udc00\"", "'\\udc00'"),
            ("\"\\ud800\\ud800\\udc00\"", "'\\ud800\u{10000}'"),
            ("\"\\ud800\\u0041\"", "'\\ud800A'"),
            ("\"\\uD83D\\uDE00\"", "'\u{1f600}'"),
            ("\"\u{7f}\"", "'\\x7f'"),
            ("\"\u{e9}\u{20ac}\u{1f600}\"", "'\u{e9}\u{20ac}\u{1f600}'"),
            ("{\"b\":1,\"a\":2,\"b\":3}", "{'b': 3, 'a': 2}"),
            ("{\"a\":[{\"a\":1,\"a\":2}],\"a\":null}", "{'a': None}"),
            (
                "[\"x\", [\"y\", [\"z\"]], {\"k\": [true, false, null]}]",
                "['x', ['y', ['z']], {'k': [True, False, None]}]",
            ),
            ("{\"\\u0061\":1,\"a\":2}", "{'a': 2}"),
            (
                "{\"\\ud800\":1,\"\\udc00\":2,\"\\ud800\":3}",
                "{'\\ud800': 3, '\\udc00': 2}",
            ),
            ("NaN", "nan"),
            ("[NaN]", "[nan]"),
            ("Infinity", "inf"),
            ("-Infinity", "-inf"),
            ("[-Infinity]", "[-inf]"),
        ];
        for &(text, want) in cases {
            assert_eq!(
                repr_of(text).as_deref(),
                Ok(want),
                "repr(json.loads({text:?}))"
            );
        }
    }

    /// Texts for which `json.loads` raises `JSONDecodeError` in Python 3.11.7.
    #[test]
    fn rejects_what_python_rejects() {
        let cases: &[&str] = &[
            "",
            "   ",
            "[",
            "{",
            "[1",
            "{\"a\"",
            "{\"a\":",
            "{\"a\":1",
            "[1,]",
            "{\"a\":1,}",
            "{,}",
            "[,1]",
            "{\"a\" 1}",
            "{1:1}",
            "{'a':1}",
            "[1 2]",
            "{\"a\":1 \"b\":2}",
            "\"abc",
            "\"\\\"",
            "\"\\x\"",
            "\"\\u\"",
            "\"\\u12\"",
            "\"\\u12g4\"",
            "\"\\ud800\\u\"",
            "\"\\ud800\\uzzzz\"",
            "\"\u{0}\"",
            "\"\u{1f}\"",
            "\"a\u{a}b\"",
            "01",
            "-01",
            "1.",
            ".5",
            "1e",
            "1e+",
            "1.e5",
            "+1",
            "--1",
            "-",
            "-I",
            "-Inf",
            "-NaN",
            "nan",
            "inf",
            "NaNN",
            "nul",
            "truex",
            "true false",
            "1 2",
            "[] []",
            "{}x",
            "\u{feff}1",
            "\u{b}1",
            "1\u{b}",
            "[1]\u{0}",
            "\u{a0}1",
        ];
        let mut doc = JsonDoc::default();
        for &text in cases {
            assert!(doc.parse(text).is_err(), "{text:?} should be rejected");
        }
    }

    #[test]
    fn str_of_values() {
        let mut doc = JsonDoc::default();
        for (text, want) in [
            ("\"plain\"", "plain"),
            ("\"a\\ud800b\"", "a\u{fffd}b"), // documented deviation (Python: lone surrogate)
            ("\"\\u0000\"", "\u{0}"),
            ("-0", "0"),
            ("true", "True"),
            ("[\"a\"]", "['a']"),
        ] {
            let p = doc.parse(text).unwrap();
            let mut s = String::new();
            p.write_str(p.root(), &mut s);
            assert_eq!(s, want, "str(json.loads({text:?}))");
        }
    }

    #[test]
    fn float_conversion_like_python() {
        let mut doc = JsonDoc::default();
        let cases: &[(&str, Option<f64>)] = &[
            ("-0", Some(0.0)),
            ("-0.0", Some(-0.0)),
            ("12345678901234567890123", Some(1.2345678901234568e22)),
            // float(int) rounds half to even: 2**53 + 1 -> 2**53
            ("9007199254740993", Some(9007199254740992.0)),
            ("1e999", Some(f64::INFINITY)),
            ("true", None),
            ("\"1\"", None),
            ("null", None),
        ];
        for &(text, want) in cases {
            let p = doc.parse(text).unwrap();
            let got = p.as_float(p.root());
            assert_eq!(
                got.map(f64::to_bits),
                want.map(f64::to_bits),
                "float({text})"
            );
        }
        // float(int) raises OverflowError at 2**1024 - 2**970 (rounds up to 2**1024).
        let big = "179769313486231580793728971405303415079934132710037826936173778980444968292764750946649017977587207096330286416692887910946555547851940402630657488671505820681908902000708383676273854845817711531764475730270069855571366959622842914819860834936475292719074168444365510704342711559699508093042880177904174497792";
        let p = doc.parse(big).unwrap();
        assert_eq!(p.as_float(p.root()), None);
        let max = "179769313486231570814527423731704356798070567525844996598917476803157260780028538760589558632766878171540458953514382464234321326889464182768467546703537516986049910576551282076245490090389328944075868508455133942304583236903222948165808559332123348274797826204144723168738177180919299881250404026184124858368";
        let p = doc.parse(max).unwrap();
        assert_eq!(p.as_float(p.root()), Some(f64::MAX));
    }

    #[test]
    fn int_digit_limit() {
        let mut doc = JsonDoc::default();
        let ok = "7".repeat(INT_MAX_STR_DIGITS);
        let p = doc.parse(&ok).unwrap();
        let mut s = String::new();
        p.write_str(p.root(), &mut s);
        assert_eq!(s, ok);
        let neg = format!("-{ok}");
        assert!(doc.parse(&neg).is_ok());
        let too_long = "7".repeat(INT_MAX_STR_DIGITS + 1);
        let e = doc.parse(&too_long).unwrap_err();
        assert_eq!(e.kind, JsonErrorKind::IntTooLong);
        // Floats have no digit limit.
        let f = format!("{}.5", "1".repeat(5000));
        let p = doc.parse(&f).unwrap();
        assert_eq!(p.as_float(p.root()), Some(f64::INFINITY));
    }

    #[test]
    fn deep_nesting_without_recursion() {
        let n = 200_000;
        let text = format!("{}{}", "[".repeat(n), "]".repeat(n));
        assert_eq!(repr_of(&text).unwrap(), text);
        let text = format!("{}1{}", "{\"a\":[".repeat(n), "]}".repeat(n));
        let want = format!("{}1{}", "{'a': [".repeat(n), "]}".repeat(n));
        assert_eq!(repr_of(&text).unwrap(), want);
        assert!(repr_of(&"[".repeat(n)).is_err());
        assert!(repr_of(&format!("{}{}", "[".repeat(n), "]".repeat(n - 1))).is_err());
        assert!(repr_of(&format!("{}{}", "[".repeat(n), "]".repeat(n + 1))).is_err());
    }

    #[test]
    fn large_dicts_dedup_linearly() {
        let n = 50_000;
        let mut text = String::from("{");
        for i in 0..n {
            text.push_str(&format!("\"k{i}\":{i},"));
        }
        text.push_str("\"k0\":\"last\",\"k1\\u0030\":true}");
        let mut doc = JsonDoc::default();
        let p = doc.parse(&text).unwrap();
        let mut items = Vec::new();
        p.dict_items(p.root(), &mut items);
        assert_eq!(items.len(), n);
        let key = |id| p.str_wtf8(id).unwrap();
        assert_eq!(key(items[0].0), b"k0");
        assert_eq!(p.str_wtf8(items[0].1), Some(&b"last"[..]));
        assert_eq!(key(items[10].0), b"k10");
        assert_eq!(p.kind(items[10].1), Kind::Bool);
        assert_eq!(key(items[n - 1].0), format!("k{}", n - 1).as_bytes());
        let mut s = String::new();
        p.write_repr(p.root(), &mut s);
        assert!(s.starts_with("{'k0': 'last', 'k1': 1, 'k2': 2, "));
        assert!(s.contains(", 'k10': True, 'k11': 11, "));
    }

    #[test]
    fn big_strings() {
        let body = "x".repeat(32 << 20);
        let text = format!("\"{body}\\n{body}\"");
        let mut doc = JsonDoc::default();
        let p = doc.parse(&text).unwrap();
        let mut s = String::new();
        p.write_str(p.root(), &mut s);
        assert_eq!(s.len(), 2 * body.len() + 1);
        assert_eq!(s.as_bytes()[body.len()], b'\n');
        // A raw control character at the very end of a long run is still rejected.
        let bad = format!("\"{body}\u{1}\"");
        assert_eq!(
            doc.parse(&bad).unwrap_err().kind,
            JsonErrorKind::InvalidControlCharacter
        );
    }

    #[test]
    fn str_repr_quoting_and_escapes() {
        let mut s = String::new();
        write_str_repr(&mut s, "it's".as_bytes());
        assert_eq!(s, "\"it's\"");
        s.clear();
        write_str_repr(&mut s, b"\xed\xa0\x80\xed\xbf\xbf");
        assert_eq!(s, "'\\ud800\\udfff'");
        s.clear();
        push_wtf8_lossy(&mut s, b"a\xed\xa0\x80b");
        assert_eq!(s, "a\u{fffd}b");
    }
}
