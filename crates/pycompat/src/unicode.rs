//! Python 3.11 Unicode semantics the reference depends on: `re` `\w`, `str.isspace`,
//! `str.isprintable`, `str.lower` (including the Final_Sigma rule) and `str.strip`,
//! plus `len()` and `\w+` match counting. Python 3.11 uses Unicode 14.0, which differs
//! from the Rust standard library's tables, so all properties come from the generated
//! `unicode_tables.rs` (see `scripts/gen-unicode-tables.py`; regenerate with CPython 3.11
//! and verify with its `--check` mode). Nothing here panics on any input.

#[path = "unicode_tables.rs"]
#[rustfmt::skip]
mod tables;

const WORD_BIT: u8 = 1 << 0;
const SPACE_BIT: u8 = 1 << 1;
const PRINTABLE_BIT: u8 = 1 << 2;
const CASED_BIT: u8 = 1 << 3;
const CASE_IGNORABLE_BIT: u8 = 1 << 4;

const CAPITAL_SIGMA: char = '\u{3A3}';
const SMALL_SIGMA: char = '\u{3C3}';
const FINAL_SIGMA: char = '\u{3C2}';

/// Latin-1 fast path, then binary search in a sorted, disjoint `(lo, hi)` range table.
#[inline]
fn lookup(c: char, bit: u8, table: &[(u32, u32)]) -> bool {
    let cp = c as u32;
    match tables::LATIN1.get(cp as usize) {
        Some(flags) => flags & bit != 0,
        None => in_ranges(table, cp),
    }
}

#[inline]
fn in_ranges(table: &[(u32, u32)], cp: u32) -> bool {
    let i = table.partition_point(|&(_, hi)| hi < cp);
    matches!(table.get(i), Some(&(lo, _)) if lo <= cp)
}

/// Python `re` `\w` for `str` patterns: `ch.isalnum() or ch == '_'`.
#[inline]
pub fn is_word(c: char) -> bool {
    lookup(c, WORD_BIT, tables::WORD)
}

/// Python `str.isspace()` for one character.
#[inline]
pub fn is_space(c: char) -> bool {
    lookup(c, SPACE_BIT, tables::SPACE)
}

/// Python `str.isprintable()` for one character.
#[inline]
pub fn is_printable(c: char) -> bool {
    lookup(c, PRINTABLE_BIT, tables::PRINTABLE)
}

/// Unicode `Cased`, as CPython's `_PyUnicode_IsCased`.
#[inline]
fn is_cased(c: char) -> bool {
    lookup(c, CASED_BIT, tables::CASED)
}

/// Unicode `Case_Ignorable`, as CPython's `_PyUnicode_IsCaseIgnorable`.
#[inline]
fn is_case_ignorable(c: char) -> bool {
    lookup(c, CASE_IGNORABLE_BIT, tables::CASE_IGNORABLE)
}

/// Python `s.strip()` (no arguments).
pub fn strip(s: &str) -> &str {
    s.trim_matches(is_space)
}

/// Python `len(s)`: the number of Unicode scalar values (non-continuation bytes).
#[inline]
pub fn char_count(s: &str) -> usize {
    // Per-chunk `u8` accumulators (chunk < 256 bytes) let the loop vectorise 16+ lanes wide.
    s.as_bytes()
        .chunks(255)
        .map(|chunk| {
            let n = chunk
                .iter()
                .fold(0u8, |n, &b| n + u8::from((b as i8) >= -0x40));
            usize::from(n)
        })
        .sum()
}

/// Number of matches of Python `re.finditer(r"\w+", s)`: maximal runs of word chars.
pub fn count_words(s: &str) -> usize {
    let bytes = s.as_bytes();
    let word_byte = |b: u8| tables::LATIN1[usize::from(b)] & WORD_BIT != 0;
    let mut count = 0usize;
    let mut prev = false;
    let mut i = 0usize;
    while let Some(&b) = bytes.get(i) {
        let w = if b < 0x80 {
            i += 1;
            word_byte(b)
        } else {
            // `i` is always at a char boundary here (we advance by whole chars).
            match s.get(i..).and_then(|t| t.chars().next()) {
                Some(c) => {
                    i += c.len_utf8();
                    is_word(c)
                }
                None => {
                    i += 1;
                    false
                }
            }
        };
        count += usize::from(w & !prev);
        prev = w;
    }
    count
}

/// Append Python `s.lower()` to `out`.
pub fn lower_into(s: &str, out: &mut String) {
    if s.is_ascii() {
        let start = out.len();
        out.push_str(s);
        if let Some(tail) = out.get_mut(start..) {
            tail.make_ascii_lowercase();
        }
        return;
    }
    out.reserve(s.len());
    let bytes = s.as_bytes();
    let mut i = 0usize;
    while i < bytes.len() {
        // Copy the ASCII run starting at `i` in bulk; it ends at a char boundary.
        let rest = bytes.get(i..).unwrap_or(&[]);
        let run = rest
            .iter()
            .position(|b| !b.is_ascii())
            .unwrap_or(rest.len());
        if run > 0 {
            let start = out.len();
            out.push_str(s.get(i..i + run).unwrap_or(""));
            if let Some(tail) = out.get_mut(start..) {
                tail.make_ascii_lowercase();
            }
            i += run;
        }
        let Some(c) = s.get(i..).and_then(|t| t.chars().next()) else {
            break;
        };
        if c == CAPITAL_SIGMA {
            out.push(sigma_lower(s, i));
        } else {
            push_lower(c, out);
        }
        i += c.len_utf8();
    }
}

/// CPython `handle_capital_sigma`: final sigma iff
/// `\p{cased}\p{case-ignorable}* U+03A3 !(\p{case-ignorable}*\p{cased})`.
///
/// Both scans stop at the first non-case-ignorable char, and U+03A3 is not
/// case-ignorable, so all scans over a string together stay linear.
fn sigma_lower(s: &str, at: usize) -> char {
    let before = s.get(..at).unwrap_or("");
    let after = s.get(at + CAPITAL_SIGMA.len_utf8()..).unwrap_or("");
    let preceded_by_cased = matches!(
        before.chars().rev().find(|&c| !is_case_ignorable(c)),
        Some(c) if is_cased(c)
    );
    let final_sigma = preceded_by_cased
        && !matches!(
            after.chars().find(|&c| !is_case_ignorable(c)),
            Some(c) if is_cased(c)
        );
    if final_sigma {
        FINAL_SIGMA
    } else {
        SMALL_SIGMA
    }
}

/// Context-free Python `ch.lower()` for one char.
fn push_lower(c: char, out: &mut String) {
    let cp = c as u32;
    if let Ok(i) = tables::LOWER_MULTI.binary_search_by_key(&cp, |&(k, _)| k) {
        if let Some(&(_, mapped)) = tables::LOWER_MULTI.get(i) {
            out.push_str(mapped);
            return;
        }
    }
    let runs = tables::LOWER_RUNS;
    let i = runs.partition_point(|&(_, hi, _, _)| hi < cp);
    if let Some(&(lo, _, stride, delta)) = runs.get(i) {
        if lo <= cp && (cp - lo).checked_rem(stride) == Some(0) {
            if let Some(mapped) = char::from_u32(cp.wrapping_add_signed(delta)) {
                out.push(mapped);
                return;
            }
        }
    }
    out.push(c);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lower(s: &str) -> String {
        let mut out = String::from("prefix:");
        lower_into(s, &mut out);
        out.split_off("prefix:".len())
    }

    #[test]
    fn tables_are_sorted_disjoint_and_latin1_consistent() {
        let all: [(&[(u32, u32)], u8); 5] = [
            (tables::WORD, WORD_BIT),
            (tables::SPACE, SPACE_BIT),
            (tables::PRINTABLE, PRINTABLE_BIT),
            (tables::CASED, CASED_BIT),
            (tables::CASE_IGNORABLE, CASE_IGNORABLE_BIT),
        ];
        for (table, bit) in all {
            for w in table.windows(2) {
                assert!(w[0].0 <= w[0].1 && w[0].1 + 1 < w[1].0, "{w:?}");
            }
            for cp in 0u32..256 {
                let flag = tables::LATIN1[cp as usize] & bit != 0;
                assert_eq!(flag, in_ranges(table, cp), "bit {bit} U+{cp:04X}");
            }
        }
        for w in tables::LOWER_RUNS.windows(2) {
            assert!(w[0].0 <= w[0].1 && w[0].1 < w[1].0, "{w:?}");
        }
        assert!(tables::LOWER_RUNS.iter().all(|r| r.2 > 0));
    }

    #[test]
    fn count_words_edges() {
        // (input, Python `sum(1 for _ in re.finditer(r"\w+", s))`, Python `len(s)`)
        let cases: &[(&str, usize, usize)] = &[
            ("", 0, 0),
            ("a", 1, 1),
            ("a b", 2, 3),
            ("__init__", 1, 8),
            ("\u{e9}\u{301}", 1, 2),
            ("e\u{301}", 1, 2),
            ("e\u{301}x", 2, 3),
            (
                "\u{65e5}\u{672c}\u{8a9e} \u{30c6}\u{30ad}\u{30b9}\u{30c8}",
                2,
                8,
            ),
            ("\u{661}\u{662}\u{663} \u{664}\u{665}", 2, 6),
            ("\u{bd} \u{216b} \u{b2}", 3, 5),
            ("foo-bar_baz 42", 3, 14),
            ("\u{1f600}a\u{1f600}", 1, 3),
            ("\u{d55c}\u{ad6d}\u{c5b4} \u{d14d}\u{c2a4}\u{d2b8}", 2, 7),
            ("\u{e20}\u{e32}\u{e29}\u{e32}\u{e44}\u{e17}\u{e22}", 1, 7),
            (
                "\u{e2a}\u{e27}\u{e31}\u{e2a}\u{e14}\u{e35}\u{e04}\u{e23}\u{e31}\u{e1a}",
                4,
                10,
            ),
            (
                "\u{939}\u{93f}\u{928}\u{94d}\u{926}\u{940} \u{92d}\u{93e}\u{937}\u{93e}",
                5,
                11,
            ),
            ("\u{928}\u{92e}\u{938}\u{94d}\u{924}\u{947}", 2, 6),
            (
                "\u{645}\u{64e}\u{631}\u{652}\u{62d}\u{64e}\u{628}\u{64b}\u{627} \
                 \u{628}\u{650}\u{643}\u{64f}\u{645}",
                8,
                15,
            ),
            ("  a  ", 1, 5),
            ("a\u{a0}b", 2, 3),
            ("x\u{200b}y", 2, 3),
            ("\u{663}x_", 1, 3),
            ("\u{216b}\u{bd}", 1, 2),
            ("\u{1d7d8}\u{1d7d9}", 1, 2),
            ("a'b", 2, 3),
            ("\u{b7}", 0, 1),
            ("\u{fb01} \u{fb02}", 2, 3),
        ];
        for &(s, words, len) in cases {
            assert_eq!(count_words(s), words, "count_words({s:?})");
            assert_eq!(char_count(s), len, "char_count({s:?})");
        }
    }

    #[test]
    fn strip_edges() {
        let cases: &[(&str, &str)] = &[
            ("\x1c a \x1f", "a"),
            ("\u{3000}x\u{a0}", "x"),
            ("\u{200b}x", "\u{200b}x"),
            ("", ""),
            ("   ", ""),
            ("\u{85}a\u{2028}", "a"),
            ("\t\n\x0b\x0c\r x \u{180e}", "x \u{180e}"),
            ("\u{2000}\u{200a}\u{202f}\u{205f}z\u{a0}", "z"),
        ];
        for &(s, want) in cases {
            assert_eq!(strip(s), want, "strip({s:?})");
        }
    }

    #[test]
    fn lower_edges() {
        let cases: &[(&str, &str)] = &[
            ("\u{130}", "i\u{307}"),
            ("\u{391}\u{3a3}", "\u{3b1}\u{3c2}"),
            ("\u{391}\u{3a3} \u{392}", "\u{3b1}\u{3c2} \u{3b2}"),
            ("\u{3a3}", "\u{3c3}"),
            ("\u{391}\u{3a3}.", "\u{3b1}\u{3c2}."),
            ("\u{391}\u{3a3}'\u{392}", "\u{3b1}\u{3c3}'\u{3b2}"),
            ("\u{1e9e}", "\u{df}"),
            ("\u{1c4}", "\u{1c6}"),
            ("\u{1c5}", "\u{1c6}"),
            ("\u{ff21}\u{ff22}\u{ff23}", "\u{ff41}\u{ff42}\u{ff43}"),
            ("\u{3a3}\u{3a3}", "\u{3c3}\u{3c2}"),
            ("\u{391}'\u{3a3}", "\u{3b1}'\u{3c2}"),
            ("'\u{3a3}", "'\u{3c3}"),
            ("\u{391}\u{3a3}'", "\u{3b1}\u{3c2}'"),
            ("\u{391}\u{3a3}\u{301}", "\u{3b1}\u{3c2}\u{301}"),
            ("\u{391}\u{3a3}\u{391}", "\u{3b1}\u{3c3}\u{3b1}"),
            ("A\u{ad}\u{3a3}", "a\u{ad}\u{3c2}"),
            ("\u{391}\u{3a3}\u{ad}\u{391}", "\u{3b1}\u{3c3}\u{ad}\u{3b1}"),
            (
                "\u{1f48}\u{394}\u{3a5}\u{3a3}\u{3a3}\u{395}\u{38e}\u{3a3}",
                "\u{1f40}\u{3b4}\u{3c5}\u{3c3}\u{3c3}\u{3b5}\u{3cd}\u{3c2}",
            ),
            ("1\u{3a3}", "1\u{3c3}"),
            ("a\u{3a3}1", "a\u{3c2}1"),
            ("\u{3a3}A", "\u{3c3}a"),
            ("\u{3a9}", "\u{3c9}"),
            ("\u{212a}", "k"),
            ("\u{212b}", "\u{e5}"),
            ("\u{1c8}", "\u{1c9}"),
            ("\u{216b}", "\u{217b}"),
            ("\u{24b6}", "\u{24d0}"),
            ("\u{10400}", "\u{10428}"),
            ("\u{1f88}", "\u{1f80}"),
            ("\u{391}\u{3a3}.\u{392}", "\u{3b1}\u{3c3}.\u{3b2}"),
            ("\u{391}\u{3a3}:\u{392}", "\u{3b1}\u{3c3}:\u{3b2}"),
            ("HELLO World", "hello world"),
            ("", ""),
        ];
        for &(s, want) in cases {
            assert_eq!(lower(s), want, "lower({s:?})");
        }
    }

    #[test]
    fn char_property_edges() {
        // (char, Python re `\w`)
        let word: &[(char, bool)] = &[
            ('a', true),
            ('_', true),
            ('\u{301}', false),
            ('\u{bd}', true),
            ('\u{216b}', true),
            ('\u{b2}', true),
            ('\u{663}', true),
            ('\u{aa}', true),
            ('\u{b5}', true),
            ('\u{ba}', true),
            ('\u{d7}', false),
            ('\u{f7}', false),
            ('\u{2c6}', true),
            ('\u{345}', false),
            ('\u{640}', true),
            ('\u{3007}', true),
            ('\u{200c}', false),
            ('\u{b7}', false),
        ];
        for &(c, want) in word {
            assert_eq!(is_word(c), want, "is_word({c:?})");
        }
        // (char, Python str.isspace())
        let space: &[(char, bool)] = &[
            ('\x1c', true),
            ('\x1f', true),
            ('\u{85}', true),
            ('\u{a0}', true),
            ('\u{1680}', true),
            ('\u{180e}', false),
            ('\u{2028}', true),
            ('\u{200b}', false),
            ('\u{3000}', true),
            ('\u{feff}', false),
            (' ', true),
            ('\u{2007}', true),
            ('\u{202f}', true),
        ];
        for &(c, want) in space {
            assert_eq!(is_space(c), want, "is_space({c:?})");
        }
        // (char, Python str.isprintable())
        let printable: &[(char, bool)] = &[
            (' ', true),
            ('\x7f', false),
            ('\u{a0}', false),
            ('\u{ad}', false),
            ('a', true),
            ('\u{378}', false),
            ('\u{200b}', false),
            ('\u{2028}', false),
            ('\u{3000}', false),
            ('\u{e000}', false),
            ('\u{10ffff}', false),
            ('\u{1f600}', true),
            ('\u{301}', true),
            ('\n', false),
            ('\u{feff}', false),
            ('\u{e9}', true),
            ('\u{e0001}', false),
            ('\u{e0100}', true),
        ];
        for &(c, want) in printable {
            assert_eq!(is_printable(c), want, "is_printable({c:?})");
        }
    }

    #[test]
    fn lower_appends_and_sigma_scan_is_linear() {
        let mut out = String::from("X");
        lower_into("AB", &mut out);
        lower_into("\u{130}", &mut out);
        assert_eq!(out, "Xabi\u{307}");
        // Many sigmas separated by long case-ignorable runs must not blow up.
        let s = format!("A{}", "\u{3a3}''''''''".repeat(20_000));
        let mut out = String::new();
        lower_into(&s, &mut out);
        assert_eq!(char_count(&out), char_count(&s));
    }

    /// Dump for `scripts/gen-unicode-tables.py --check` (compares against CPython 3.11).
    /// Needs `TS_UNICODE_CHECK_DIR`; run via the script, not directly.
    #[test]
    #[ignore]
    fn python_check_dump() {
        use std::fmt::Write as _;
        use std::path::Path;
        let Ok(dir) = std::env::var("TS_UNICODE_CHECK_DIR") else {
            return;
        };
        let dir = Path::new(&dir);
        let hex = |s: &str| {
            s.bytes().fold(String::new(), |mut h, b| {
                let _ = write!(h, "{b:02x}");
                h
            })
        };
        let bit = |b: bool| if b { '1' } else { '0' };
        let mut dump = String::new();
        for c in (0u32..=0x10FFFF).filter_map(char::from_u32) {
            let sigma: String = [
                format!("{c}\u{3a3}"),
                format!("A{c}\u{3a3}"),
                format!("A\u{3a3}{c}"),
                format!("A\u{3a3}{c}b"),
            ]
            .iter()
            .map(|p| bit(lower(p).contains('\u{3c2}')))
            .collect();
            let _ = writeln!(
                dump,
                "{:X} {}{}{}{}{} {} {}",
                c as u32,
                bit(is_word(c)),
                bit(is_space(c)),
                bit(is_printable(c)),
                bit(is_cased(c)),
                bit(is_case_ignorable(c)),
                sigma,
                hex(&lower(&c.to_string())),
            );
        }
        std::fs::write(dir.join("codepoints.rust"), dump).unwrap();

        let input = std::fs::read_to_string(dir.join("strings.hex")).unwrap();
        let mut out = String::new();
        for line in input.lines() {
            let bytes: Vec<u8> = (0..line.len() / 2)
                .map(|i| u8::from_str_radix(&line[2 * i..2 * i + 2], 16).unwrap())
                .collect();
            let s = String::from_utf8(bytes).unwrap();
            let _ = writeln!(
                out,
                "{} {} {} {}",
                count_words(&s),
                char_count(&s),
                hex(&lower(&s)),
                hex(strip(&s)),
            );
        }
        std::fs::write(dir.join("strings.rust"), out).unwrap();
    }
}
