//! The wire format, transport-neutral: the headers a shipped line and a published anomaly
//! carry, how header values are escaped, and the message ids that let the bus drop
//! duplicates (a restarted shipper, a worker replaying a partition after a takeover).
//!
//! A shipped line is one message: the payload is the line's bytes without its terminator
//! (or, for a line longer than the shipper's cap, its first bytes with [`LONG`]), and the
//! headers are [`SOURCE`], [`LINE`] and [`FORMAT`]. A published anomaly is the exact JSON
//! object `watch --format json` prints, with [`SOURCE`], [`LOG_SEQ`] and what the text
//! rendering needs beyond the JSON ([`THRESHOLD`], [`VALUE`], [`SCORE`], [`SEMANTIC`],
//! [`RARITY`], [`TIMED`]). Header names are plain ASCII; a transport maps the message id
//! to its own deduplication key (`Nats-Msg-Id` on NATS JetStream).

use std::borrow::Cow;
use std::fmt::Write as _;

use crate::partition::{fnv1a32, fnv1a64};

/// The event's source label ([`escape`]d).
pub const SOURCE: &str = "Ts-Source";
/// The line's 1-based number in its original file (absent when not known).
pub const LINE: &str = "Ts-Line";
/// How the shipper parsed the line to find its source: `jsonl` or `text`.
pub const FORMAT: &str = "Ts-Format";
/// `<chars> <words>`: the payload is only the first bytes of a longer line, and these
/// measure the whole line (`message.length`, `message.tokens`).
pub const LONG: &str = "Ts-Long";
/// On an anomaly: the stream sequence of the line it was found on.
pub const LOG_SEQ: &str = "Ts-Log-Seq";
/// On an anomaly: the threshold in force (the JSON's explanation quotes it rounded).
pub const THRESHOLD: &str = "Ts-Threshold";
/// On an anomaly: the value, unrounded (shortest round-trip form).
pub const VALUE: &str = "Ts-Value";
/// On an anomaly: the score in sigma, unrounded.
pub const SCORE: &str = "Ts-Score";
/// On an anomaly: `1` for a semantic-novelty anomaly.
pub const SEMANTIC: &str = "Ts-Semantic";
/// On an anomaly scored by rarity: `<seen> <out of>`.
pub const RARITY: &str = "Ts-Rarity";
/// On an anomaly: `1` when the timestamp is the event's own.
pub const TIMED: &str = "Ts-Timed";

/// `value` made safe for a header: `%`, control bytes and a space at either end become
/// `%XX` (upper-case hex); anything else, UTF-8 included, stays.
pub fn escape(value: &str) -> Cow<'_, str> {
    let b = value.as_bytes();
    let needs = |i: usize, c: u8| {
        c < 0x20 || c == 0x7f || c == b'%' || (c == b' ' && (i == 0 || i + 1 == b.len()))
    };
    if !b.iter().enumerate().any(|(i, &c)| needs(i, c)) {
        return Cow::Borrowed(value);
    }
    let mut out = String::with_capacity(value.len() + 8);
    for (i, ch) in value.char_indices() {
        let c = ch as u32;
        if c < 0x80 && needs(i, c as u8) {
            let _ = write!(out, "%{c:02X}");
        } else {
            out.push(ch);
        }
    }
    Cow::Owned(out)
}

/// The value [`escape`] was given; `None` for a malformed escape.
pub fn unescape(value: &str) -> Option<Cow<'_, str>> {
    if !value.contains('%') {
        return Some(Cow::Borrowed(value));
    }
    let b = value.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = value.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok().map(Cow::Owned)
}

/// A tag for the file a line comes from, stable across restarts of the shipper (and the
/// same whether it ships once or follows): a 64-bit hash of the host's name, the path as
/// given (made absolute), and the file's device and inode where a shipper wants them
/// told apart (0 otherwise) — so two hosts shipping files at the same path do not share
/// ids.
pub fn file_tag(host: &str, path_key: &str, dev: u64, ino: u64) -> u64 {
    let mut key = Vec::with_capacity(host.len() + path_key.len() + 18);
    key.extend_from_slice(host.as_bytes());
    key.push(0);
    key.extend_from_slice(path_key.as_bytes());
    key.push(0);
    key.extend_from_slice(&dev.to_le_bytes());
    key.extend_from_slice(&ino.to_le_bytes());
    fnv1a64(&key)
}

/// The message id of a shipped line, into `out` (cleared first): the file's tag, the
/// line's position in it (its number, or where numbers are not known, its ordinal in this
/// run prefixed by `n`) and a 32-bit hash of its bytes — so a line shipped again (a
/// restarted shipper) has the same id, and a rotated file's lines whose numbers repeat
/// do not (another inode, or other bytes).
pub fn line_msg_id(out: &mut String, tag: u64, line: Option<u64>, ordinal: u64, bytes: &[u8]) {
    out.clear();
    out.push_str("l-");
    crate::token::push_hex64(out, tag);
    match line {
        Some(n) => {
            let _ = write!(out, "-{n}");
        }
        None => {
            let _ = write!(out, "-n{ordinal}");
        }
    }
    let _ = write!(out, "-{:08x}", fnv1a32(bytes));
}

/// The message id of an anomaly, into `out` (cleared first): the log stream's name and
/// the stream sequence of the line, the anomaly's ordinal among that line's anomalies,
/// and a hash of the source and metric — the same for every worker that scores that line
/// from the same state, so a replay after a takeover is dropped as a duplicate.
pub fn anomaly_msg_id(
    out: &mut String,
    stream: &str,
    seq: u64,
    ordinal: u32,
    source: &str,
    metric: &str,
) {
    out.clear();
    let mut key = Vec::with_capacity(source.len() + metric.len() + 1);
    key.extend_from_slice(source.as_bytes());
    key.push(0);
    key.extend_from_slice(metric.as_bytes());
    let _ = write!(out, "a-{:08x}-{seq}-{ordinal}-", fnv1a32(stream.as_bytes()));
    crate::token::push_hex64(out, fnv1a64(&key));
}

/// `<chars> <words>` for [`LONG`].
pub fn long_value(chars: u64, words: u64) -> String {
    format!("{chars} {words}")
}

/// Two numbers separated by a space ([`LONG`], [`RARITY`]).
pub fn parse_pair(value: &str) -> Option<(u64, u64)> {
    let (a, b) = value.split_once(' ')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_values_round_trip() {
        let cases = [
            ("app", "app"),
            ("", ""),
            ("a b", "a b"),
            (" a ", "%20a%20"),
            ("50%", "50%25"),
            ("l1\r\nl2", "l1%0D%0Al2"),
            ("é\u{7f}", "é%7F"),
        ];
        for (raw, escaped) in cases {
            assert_eq!(escape(raw), escaped, "{raw:?}");
            assert_eq!(unescape(escaped).as_deref(), Some(raw), "{escaped:?}");
        }
        for bad in ["%", "%4", "%zz", "%FF"] {
            assert_eq!(unescape(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn ids_are_stable_and_distinct() {
        let mut a = String::new();
        let mut b = String::new();
        line_msg_id(&mut a, 1, Some(5), 9, b"x");
        line_msg_id(&mut b, 1, Some(5), 10, b"x");
        assert_eq!(a, b, "the ordinal only counts where the number is unknown");
        line_msg_id(&mut b, 1, Some(5), 9, b"y");
        assert_ne!(a, b);
        line_msg_id(&mut b, 2, Some(5), 9, b"x");
        assert_ne!(a, b);
        line_msg_id(&mut b, 1, None, 9, b"x");
        assert!(b.contains("-n9-"), "{b}");
        anomaly_msg_id(&mut a, "LOGS", 7, 0, "api", "message.length");
        anomaly_msg_id(&mut b, "LOGS", 7, 0, "api", "message.length");
        assert_eq!(a, b);
        anomaly_msg_id(&mut b, "LOGS", 7, 1, "api", "message.length");
        assert_ne!(a, b);
        anomaly_msg_id(&mut b, "LOGS", 7, 0, "api", "message.tokens");
        assert_ne!(a, b);
        anomaly_msg_id(&mut b, "OTHER", 7, 0, "api", "message.length");
        assert_ne!(a, b);
        assert!(a.bytes().all(|c| c.is_ascii_graphic()));
        assert_eq!(parse_pair("3 4"), Some((3, 4)));
        assert_eq!(parse_pair("3"), None);
    }
}
