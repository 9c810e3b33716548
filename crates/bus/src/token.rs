//! Subject-safe source tokens: a source label becomes one subject token (`logs.3.<token>`,
//! `anomalies.<token>`) by a documented, reversible encoding, and back.
//!
//! Bytes `A`–`Z`, `a`–`z`, `0`–`9`, `-` and `_` stand for themselves; every other byte of
//! the label's UTF-8 is `~` followed by two upper-case hex digits (`.` is `~2E`, `~` is
//! `~7E`, a space `~20`, `é` `~C3~A9`). The empty label is `~`. A token is thus a
//! non-empty run of `[A-Za-z0-9_~-]`: no `.`, `*`, `>` or white space, valid in every NATS
//! subject and in a Kafka topic name. A label whose token would be longer than
//! [`MAX_TOKEN`] bytes is `~~` and 16 hex digits of a 64-bit FNV-1a hash of the label
//! instead; that form is not reversible (the original label travels in a header).
//! This module knows nothing of any transport.

/// Longest token written out in full, in bytes.
pub const MAX_TOKEN: usize = 128;

fn plain(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// The subject token of `source`, appended to `out`.
pub fn encode_into(source: &str, out: &mut String) {
    if source.is_empty() {
        out.push('~');
        return;
    }
    let escaped = source.bytes().filter(|&b| !plain(b)).count();
    if source.len() + 2 * escaped > MAX_TOKEN {
        out.push_str("~~");
        push_hex64(out, crate::partition::fnv1a64(source.as_bytes()));
        return;
    }
    for b in source.bytes() {
        if plain(b) {
            out.push(b as char);
        } else {
            out.push('~');
            out.push(HEX[usize::from(b >> 4)] as char);
            out.push(HEX[usize::from(b & 15)] as char);
        }
    }
}

/// The subject token of `source`.
///
/// ```
/// use trace_sentinel_bus::token::{decode, encode};
/// assert_eq!(encode("api.gateway"), "api~2Egateway");
/// assert_eq!(decode("api~2Egateway").as_deref(), Some("api.gateway"));
/// ```
pub fn encode(source: &str) -> String {
    let mut s = String::with_capacity(source.len() + 2);
    encode_into(source, &mut s);
    s
}

/// Append `v` as 16 lower-case hex digits.
pub(crate) fn push_hex64(out: &mut String, v: u64) {
    for shift in (0..16).rev() {
        out.push(HEX[((v >> (shift * 4)) & 15) as usize].to_ascii_lowercase() as char);
    }
}

fn unhex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// The source a token stands for; `None` for a hashed token (`~~…`) or anything
/// [`encode`] cannot have written.
pub fn decode(token: &str) -> Option<String> {
    if token == "~" {
        return Some(String::new());
    }
    if token.is_empty() || token.starts_with("~~") {
        return None;
    }
    let b = token.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'~' {
            let hi = unhex(*b.get(i + 1)?)?;
            let lo = unhex(*b.get(i + 2)?)?;
            let byte = hi << 4 | lo;
            if plain(byte) {
                return None; // not canonical: encode never escapes these
            }
            out.push(byte);
            i += 3;
        } else if plain(b[i]) {
            out.push(b[i]);
            i += 1;
        } else {
            return None;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip() {
        let cases = [
            ("", "~"),
            ("app", "app"),
            ("Apache_2k.log", "Apache_2k~2Elog"),
            ("a b", "a~20b"),
            ("x.*>", "x~2E~2A~3E"),
            ("~", "~7E"),
            ("é", "~C3~A9"),
            ("tab\tnl\n", "tab~09nl~0A"),
            ("-_", "-_"),
        ];
        for (source, token) in cases {
            assert_eq!(encode(source), token, "{source:?}");
            assert_eq!(decode(token).as_deref(), Some(source), "{token:?}");
        }
    }

    #[test]
    fn long_labels_are_hashed_and_tokens_stay_subject_safe() {
        let long = "a.".repeat(100);
        let t = encode(&long);
        assert!(t.starts_with("~~") && t.len() == 18, "{t}");
        assert_eq!(decode(&t), None);
        assert_ne!(encode(&"a.".repeat(101)), t);
        let fits = "x".repeat(MAX_TOKEN);
        assert_eq!(encode(&fits), fits);
        let mut x = 7u64;
        let mut next = || trace_sentinel_testrand::xorshift64(&mut x);
        for _ in 0..2000 {
            let n = (next() % 12) as usize;
            let s: String = (0..n)
                .map(|_| char::from_u32((next() % 0x3000) as u32).unwrap_or('?'))
                .collect();
            let t = encode(&s);
            assert!(!t.is_empty());
            assert!(t
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_~".contains(&b)));
            assert_eq!(decode(&t).as_deref(), Some(s.as_str()));
        }
    }

    #[test]
    fn malformed_tokens_are_refused() {
        for bad in ["", "a.b", "~4", "~zz", "~41", "a b", "~~0123", "~FF"] {
            assert_eq!(decode(bad), None, "{bad:?}");
        }
    }
}
