//! `unlone`: the JSON post-processing shared by `tests/hostile.rs` and the `engine` fuzz
//! target (included with `#[path]`), so strict JSON parsers accept our output.

/// Replace lone-surrogate `\uXXXX` escapes (which `json.dumps` writes for a Python string
/// holding lone surrogates, and strict parsers reject) by `\ufffd`; pairs stay.
pub fn unlone(json: &str) -> String {
    fn hex4(s: &[u8]) -> Option<u32> {
        let t = std::str::from_utf8(s.get(..4)?).ok()?;
        u32::from_str_radix(t, 16).ok()
    }
    let b = json.as_bytes();
    let mut out = String::with_capacity(json.len());
    let mut i = 0;
    let mut plain = 0;
    while i < b.len() {
        if b[i] != b'\\' {
            i += 1;
            continue;
        }
        if b.get(i + 1) != Some(&b'u') {
            i += 2;
            continue;
        }
        let Some(cp) = hex4(&b[i + 2..]) else {
            i += 2;
            continue;
        };
        let low_next = || {
            (b.get(i + 6) == Some(&b'\\') && b.get(i + 7) == Some(&b'u'))
                .then(|| hex4(&b[i + 8..]))
                .flatten()
                .is_some_and(|c| (0xDC00..0xE000).contains(&c))
        };
        if (0xD800..0xDC00).contains(&cp) && low_next() {
            i += 12;
        } else if (0xD800..0xE000).contains(&cp) {
            out.push_str(&json[plain..i]);
            out.push_str("\\ufffd");
            i += 6;
            plain = i;
        } else {
            i += 6;
        }
    }
    out.push_str(&json[plain..]);
    out
}
