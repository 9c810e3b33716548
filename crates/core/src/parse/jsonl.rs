//! JSON-lines events exactly like the reference's `iter_jsonl`: one stripped line →
//! message, source, timestamp and numeric attributes, with its fallbacks for invalid and
//! non-object JSON. Reuses its buffers across lines (no allocation per line in steady state).
//!
//! Per line (Python): `raw = line.strip()`; empty → skipped; `json.loads(raw)` fails →
//! `Event.from_line(raw)`; not a dict → `Event.from_line(str(obj))` (whose
//! `rstrip("\n")` matters for a JSON string ending in newlines); a dict →
//! `str(obj.get("message", ""))`, `str(obj.get("source", default))`,
//! `_parse_timestamp(obj.get("timestamp"))` and, as attributes, every other key whose
//! value `Event.numeric_attributes` keeps (finite, non-bool `int`/`float`, as `float`),
//! in dict order (first-occurrence position, last value wins).
//!
//! Where the reference itself would crash, this does something sane instead:
//! an integer attribute too large for a float (Python: `OverflowError` in
//! `numeric_attributes`) is dropped; an integer literal over 4300 digits
//! (Python: uncaught `ValueError` from `json.loads`) makes the line invalid JSON; nesting
//! beyond Python's recursion limit (uncaught `RecursionError`) is parsed normally. Lone
//! surrogates in `message`/`source`/attribute names become U+FFFD (see `pyjson`).

use trace_sentinel_pycompat::pyjson::{JsonDoc, KeyIndex, Kind, NodeId, Parsed};
use trace_sentinel_pycompat::timestamp::Timestamp;

/// Objects with up to this many attribute keys de-duplicate by linear search.
const LINEAR_DEDUP_MAX: usize = 12;

/// The fields of one JSON-lines event; reused across lines.
#[derive(Debug, Default, Clone)]
pub struct JsonFields {
    /// `str(obj.get("message", ""))`, or the raw stripped line for invalid JSON, or `str(obj)`.
    /// Lone surrogates appear here as U+FFFD (same length and token count).
    pub message: String,
    /// The message as WTF-8 when it holds lone surrogates (`\ud800` escapes), so the JSON
    /// output can reproduce them exactly; empty otherwise. See [`Self::message_bytes`].
    pub message_wtf8: Vec<u8>,
    /// Whether the object carried a `source` key (else the default source applies).
    pub has_source: bool,
    /// `str(obj["source"])` when `has_source`.
    pub source: String,
    /// Parsed timestamp; `None` → the event gets "now".
    pub timestamp: Option<Timestamp>,
    /// Concatenated attribute keys; ranges in `attrs` index into it.
    pub attr_keys: String,
    /// Finite, non-bool numeric attributes in dict order: (key range in `attr_keys`, value).
    pub attrs: Vec<(std::ops::Range<usize>, f64)>,
    /// Parser arena and de-duplication state, reused across lines.
    scratch: Scratch,
}

#[derive(Debug, Default, Clone)]
struct Scratch {
    doc: JsonDoc,
    /// Key node of each entry in `attrs` (exact WTF-8 comparison for duplicates).
    key_nodes: Vec<NodeId>,
    index: KeyIndex,
}

impl JsonFields {
    /// The message bytes to report: WTF-8 with lone surrogates when there are any, else
    /// the UTF-8 of [`Self::message`].
    pub fn message_bytes(&self) -> &[u8] {
        if self.message_wtf8.is_empty() {
            self.message.as_bytes()
        } else {
            &self.message_wtf8
        }
    }

    /// Numeric attributes in the reference's order.
    pub fn attributes(&self) -> impl Iterator<Item = (&str, f64)> + '_ {
        self.attrs
            .iter()
            .map(|(r, v)| (self.attr_keys.get(r.clone()).unwrap_or(""), *v))
    }
}

/// Parse one decoded line (newline already removed). Returns `false` when the stripped
/// line is empty (the reference skips it); otherwise fills `out`.
pub fn parse_jsonl_line(line: &str, out: &mut JsonFields) -> bool {
    let raw = trace_sentinel_pycompat::unicode::strip(line);
    if raw.is_empty() {
        return false;
    }
    let JsonFields {
        message,
        message_wtf8,
        has_source,
        source,
        timestamp,
        attr_keys,
        attrs,
        scratch,
    } = out;
    message.clear();
    message_wtf8.clear();
    *has_source = false;
    source.clear();
    *timestamp = None;
    attr_keys.clear();
    attrs.clear();
    let Scratch {
        doc,
        key_nodes,
        index,
    } = scratch;
    key_nodes.clear();
    index.clear();

    let p = match doc.parse(raw) {
        Ok(p) => p,
        Err(_) => {
            message.push_str(raw);
            return true;
        }
    };
    let root = p.root();
    if p.kind(root) != Kind::Dict {
        if p.str_has_surrogates(root) {
            let b = p.str_wtf8(root).unwrap_or_default();
            let keep = b.len() - b.iter().rev().take_while(|c| **c == b'\n').count();
            message_wtf8.extend_from_slice(&b[..keep]);
        }
        p.write_str(root, message);
        let keep = message.trim_end_matches('\n').len();
        message.truncate(keep);
        return true;
    }

    let (mut msg, mut src, mut ts) = (None, None, None);
    for (k, v) in p.members(root) {
        let key = p.str_wtf8(k).unwrap_or_default();
        match key {
            b"message" => msg = Some(v),
            b"source" => src = Some(v),
            b"timestamp" => ts = Some(v),
            _ => {
                // NaN marks "present but not a finite number" (dropped at the end).
                let val = match p.as_float(v) {
                    Some(x) if x.is_finite() && p.kind(v) != Kind::Bool => x,
                    _ => f64::NAN,
                };
                let found = if key_nodes.len() <= LINEAR_DEDUP_MAX {
                    key_nodes
                        .iter()
                        .position(|&kn| p.str_wtf8(kn).unwrap_or_default() == key)
                } else {
                    if !index.active {
                        for (j, &kn) in key_nodes.iter().enumerate() {
                            index.insert(p.str_wtf8(kn).unwrap_or_default(), j);
                        }
                        index.active = true;
                    }
                    index.find(key, |j| {
                        key_nodes
                            .get(j)
                            .and_then(|&kn| p.str_wtf8(kn))
                            .unwrap_or_default()
                    })
                };
                match found {
                    Some(j) => {
                        if let Some(a) = attrs.get_mut(j) {
                            a.1 = val;
                        }
                    }
                    None => {
                        let start = attr_keys.len();
                        p.write_str(k, attr_keys);
                        attrs.push((start..attr_keys.len(), val));
                        key_nodes.push(k);
                        if index.active {
                            index.insert(key, key_nodes.len() - 1);
                        }
                    }
                }
            }
        }
    }
    attrs.retain(|(_, v)| v.is_finite());
    if let Some(v) = msg {
        if p.str_has_surrogates(v) {
            message_wtf8.extend_from_slice(p.str_wtf8(v).unwrap_or_default());
        }
        p.write_str(v, message);
    }
    if let Some(v) = src {
        *has_source = true;
        p.write_str(v, source);
    }
    *timestamp = ts.and_then(|v| parse_timestamp(&p, v));
    true
}

/// The reference's `_parse_timestamp(value)`.
fn parse_timestamp(p: &Parsed<'_>, v: NodeId) -> Option<Timestamp> {
    match p.kind(v) {
        Kind::Int | Kind::Float => p.as_float(v).and_then(Timestamp::from_epoch_seconds),
        Kind::Str => match p.str_utf8(v) {
            Some(s) => Timestamp::parse_json_string(s),
            None => Timestamp::parse_json_wtf8(p.str_wtf8(v)?),
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Row = (
        &'static str,
        Option<(
            &'static str,
            Option<&'static str>,
            Option<&'static str>,
            &'static [(&'static str, f64)],
        )>,
    );

    fn check(rows: &[Row]) {
        // One reused `JsonFields` for all rows, like the driver.
        let mut f = JsonFields::default();
        for &(line, want) in rows {
            let got = parse_jsonl_line(line, &mut f);
            let Some((message, source, ts, attrs)) = want else {
                assert!(!got, "{line:?} should be skipped");
                continue;
            };
            assert!(got, "{line:?} should not be skipped");
            assert_eq!(f.message, message, "message of {line:?}");
            assert_eq!(f.has_source, source.is_some(), "has_source of {line:?}");
            assert_eq!(f.source, source.unwrap_or(""), "source of {line:?}");
            let iso = f.timestamp.map(|t| {
                let mut s = String::new();
                t.write_isoformat(&mut s);
                s
            });
            assert_eq!(iso.as_deref(), ts, "timestamp of {line:?}");
            let got_attrs: Vec<(&str, u64)> =
                f.attributes().map(|(k, v)| (k, v.to_bits())).collect();
            let want_attrs: Vec<(&str, u64)> =
                attrs.iter().map(|&(k, v)| (k, v.to_bits())).collect();
            assert_eq!(got_attrs, want_attrs, "attributes of {line:?}");
        }
    }

    /// Expectations from the reference (Python 3.11.7, trace_sentinel 0.2.0 `iter_jsonl`
    /// logic; lone surrogates in message/source/keys shown as U+FFFD).
    #[test]
    fn jsonl_lines_match_reference() {
        let rows: &[Row] = &[
            ("{\"message\":\"hello\",\"source\":\"web\",\"timestamp\":\"2024-01-02T03:04:05Z\",\"latency\":12.5,\"count\":3}", Some(("hello", Some("web"), Some("2024-01-02T03:04:05+00:00"), &[("latency", 12.5), ("count", 3.0)]))),
            ("[1,2]", Some(("[1, 2]", None, None, &[]))),
            ("\"str\"", Some(("str", None, None, &[]))),
            ("42", Some(("42", None, None, &[]))),
            ("null", Some(("None", None, None, &[]))),
            ("true", Some(("True", None, None, &[]))),
            ("false", Some(("False", None, None, &[]))),
            ("[]", Some(("[]", None, None, &[]))),
            ("{}", Some(("", None, None, &[]))),
            ("\"\"", Some(("", None, None, &[]))),
            ("[null, true, false, \"a\", []]", Some(("[None, True, False, 'a', []]", None, None, &[]))),
            ("{\"message\": {\"a\": [1, \"x'y\"]}}", Some(("{'a': [1, \"x'y\"]}", None, None, &[]))),
            ("{\"message\": [\"it's\", \"say \\\"hi\\\"\", \"both ' \\\"\"]}", Some(("[\"it's\", 'say \"hi\"', 'both \\' \"']", None, None, &[]))),
            ("{\"message\":\"m\",\"a\":NaN,\"b\":Infinity,\"c\":true,\"e\":12345678901234567890123,\"f\":-0,\"a2\":1,\"g\":-Infinity,\"h\":null,\"i\":\"7\",\"j\":[1],\"k\":{}}", Some(("m", None, None, &[("e", 1.2345678901234568e+22), ("f", 0.0), ("a2", 1.0)]))),
            ("{\"a\":1,\"b\":2,\"a\":3}", Some(("", None, None, &[("a", 3.0), ("b", 2.0)]))),
            ("{\"a\":1,\"b\":2,\"a\":\"x\"}", Some(("", None, None, &[("b", 2.0)]))),
            ("{\"a\":\"x\",\"b\":2,\"a\":1}", Some(("", None, None, &[("a", 1.0), ("b", 2.0)]))),
            ("{\"a\":1,\"a\":NaN}", Some(("", None, None, &[]))),
            ("{\"a\":NaN,\"b\":1,\"a\":2}", Some(("", None, None, &[("a", 2.0), ("b", 1.0)]))),
            ("{\"message\":\"m1\",\"message\":\"m2\"}", Some(("m2", None, None, &[]))),
            ("{\"mess\\u0061ge\":\"esc\",\"\\u0073ource\":\"s\"}", Some(("esc", Some("s"), None, &[]))),
            ("{\"message\":\"m\",\"message\":{\"x\":1}}", Some(("{'x': 1}", None, None, &[]))),
            ("{\"source\": null}", Some(("", Some("None"), None, &[]))),
            ("{\"source\": true}", Some(("", Some("True"), None, &[]))),
            ("{\"source\": \"s\", \"source\": \"t\"}", Some(("", Some("t"), None, &[]))),
            ("{\"source\": \"\"}", Some(("", Some(""), None, &[]))),
            ("\u{1c} {\"a\":1} \u{1c}", Some(("", None, None, &[("a", 1.0)]))),
            ("  \u{9}  ", None),
            ("", None),
            ("\u{1c}", None),
            ("\u{1f}\u{1e}\u{1d}\u{1c}\u{b}\u{c}", None),
            ("\u{9}{\"a\": 2}\u{9}", Some(("", None, None, &[("a", 2.0)]))),
            ("{\"a\":1", Some(("{\"a\":1", None, None, &[]))),
            ("{'a':1}", Some(("{'a':1}", None, None, &[]))),
            ("{\"a\":01}", Some(("{\"a\":01}", None, None, &[]))),
            ("{\"a\":1,}", Some(("{\"a\":1,}", None, None, &[]))),
            ("{\"a\" 1}", Some(("{\"a\" 1}", None, None, &[]))),
            ("{\"a\":1} x", Some(("{\"a\":1} x", None, None, &[]))),
            ("{\"a\":1}{}", Some(("{\"a\":1}{}", None, None, &[]))),
            ("{\"a\":1}  ", Some(("", None, None, &[("a", 1.0)]))),
            ("[1,]", Some(("[1,]", None, None, &[]))),
            ("01", Some(("01", None, None, &[]))),
            ("1.", Some(("1.", None, None, &[]))),
            ("-", Some(("-", None, None, &[]))),
            ("nul", Some(("nul", None, None, &[]))),
            ("\u{feff}{\"a\":1}", Some(("\u{feff}{\"a\":1}", None, None, &[]))),
            ("NaN x", Some(("NaN x", None, None, &[]))),
            ("{\"a\":\"\u{1}\"}", Some(("{\"a\":\"\u{1}\"}", None, None, &[]))),
            ("{\"a\":\"\\x\"}", Some(("{\"a\":\"\\x\"}", None, None, &[]))),
            ("{\"a\":\"\\u12\"}", Some(("{\"a\":\"\\u12\"}", None, None, &[]))),
            ("{\"a\":\"\\ud800\\uzzzz\"}", Some(("{\"a\":\"\\ud800\\uzzzz\"}", None, None, &[]))),
            ("plain text line", Some(("plain text line", None, None, &[]))),
            ("{\"message\": \"a\\u0000b\"}", Some(("a\u{0}b", None, None, &[]))),
            ("{\"a\":1,\u{a}\"b\":2}", Some(("", None, None, &[("a", 1.0), ("b", 2.0)]))),
            ("\"abc\\n\\n\"", Some(("abc", None, None, &[]))),
            ("\"abc\\n \\n\"", Some(("abc\u{a} ", None, None, &[]))),
            ("\"\\nabc\"", Some(("\u{a}abc", None, None, &[]))),
            ("\"tab\\t\"", Some(("tab\u{9}", None, None, &[]))),
            ("{\"message\":\"keep\\n\"}", Some(("keep\u{a}", None, None, &[]))),
            ("[\"\\ud800\", \"\\udbff\\udfff\", \"\\udc00\\ud800\"]", Some(("['\\ud800', '\\U0010ffff', '\\udc00\\ud800']", None, None, &[]))),
            ("{\"\\ud800\":1,\"\\udbff\":2,\"\\ud800\":3}", Some(("", None, None, &[("\u{fffd}", 3.0), ("\u{fffd}", 2.0)]))),
            ("{\"k\\u00e9\":1,\"k\u{e9}\":2}", Some(("", None, None, &[("k\u{e9}", 2.0)]))),
            ("{\"\":1}", Some(("", None, None, &[("", 1.0)]))),
            ("{\"a\":[1,{\"b\":NaN}],\"c\":1}", Some(("", None, None, &[("c", 1.0)]))),
            ("{\"message\":{\"a\":1,\"b\":2,\"a\":3}}", Some(("{'a': 3, 'b': 2}", None, None, &[]))),
            ("{\"message\":{\"k\":{\"k\":{\"k\":[{}]}}}}", Some(("{'k': {'k': {'k': [{}]}}}", None, None, &[]))),
            ("{\"timestamp\": 1704164645}", Some(("", None, Some("2024-01-02T03:04:05+00:00"), &[]))),
            ("{\"timestamp\": -1.5}", Some(("", None, Some("1969-12-31T23:59:58.500000+00:00"), &[]))),
            ("{\"timestamp\": 1e300}", Some(("", None, None, &[]))),
            ("{\"timestamp\": NaN}", Some(("", None, None, &[]))),
            ("{\"timestamp\": Infinity}", Some(("", None, None, &[]))),
            ("{\"timestamp\": true}", Some(("", None, None, &[]))),
            ("{\"timestamp\": null}", Some(("", None, None, &[]))),
            ("{\"timestamp\": 0.0000005}", Some(("", None, Some("1970-01-01T00:00:00+00:00"), &[]))),
            ("{\"timestamp\": 1.9999995}", Some(("", None, Some("1970-01-01T00:00:01.999999+00:00"), &[]))),
            ("{\"timestamp\": -62135596800}", Some(("", None, Some("0001-01-01T00:00:00+00:00"), &[]))),
            ("{\"timestamp\": -62135596801}", Some(("", None, None, &[]))),
            ("{\"timestamp\": 253402300799.999}", Some(("", None, Some("9999-12-31T23:59:59.998993+00:00"), &[]))),
            ("{\"timestamp\": 12345678901234567890123}", Some(("", None, None, &[]))),
            ("{\"timestamp\": 9999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999}", Some(("", None, None, &[]))),
            ("{\"timestamp\": [1]}", Some(("", None, None, &[]))),
            ("{\"timestamp\": {\"a\": 1}}", Some(("", None, None, &[]))),
            ("{\"timestamp\": \"2024-01-02T03:04:05Z\"}", Some(("", None, Some("2024-01-02T03:04:05+00:00"), &[]))),
            ("{\"timestamp\": \"2024-01-02 03:04:05.123+05:30\"}", Some(("", None, Some("2024-01-02T03:04:05.123000+05:30"), &[]))),
            ("{\"timestamp\": \"20240102T030405\"}", Some(("", None, Some("2024-01-02T03:04:05"), &[]))),
            ("{\"timestamp\": \"2024-W01-1\"}", Some(("", None, Some("2024-01-01T00:00:00"), &[]))),
            ("{\"timestamp\": \"2024-01-02T03:04:05.1234567\"}", Some(("", None, Some("2024-01-02T03:04:05.123456"), &[]))),
            ("{\"timestamp\": \"2024-13-01\"}", Some(("", None, None, &[]))),
            ("{\"timestamp\": \"\"}", Some(("", None, None, &[]))),
            ("{\"timestamp\": \"garbage\"}", Some(("", None, None, &[]))),
            ("{\"timestamp\": \"2024-01-02T03:04:05-05:30:15.5\"}", Some(("", None, Some("2024-01-02T03:04:05-05:30:15.500000"), &[]))),
            ("{\"timestamp\": \"2024-01-02\\ud80003:04\"}", Some(("", None, Some("2024-01-02T03:04:00"), &[]))),
            ("{\"timestamp\": \"2024-01-02T03:04\\ud800\"}", Some(("", None, None, &[]))),
            ("{\"timestamp\": \"2024-01-02T03:04:05\\u0000\"}", Some(("", None, Some("2024-01-02T03:04:05"), &[]))),
            ("{\"tim\\u0065stamp\": \"2024-01-02\"}", Some(("", None, Some("2024-01-02T00:00:00"), &[]))),
            ("{\"timestamp\": \"2024-01-02\", \"timestamp\": 5}", Some(("", None, Some("1970-01-01T00:00:05+00:00"), &[]))),
        ];
        check(rows);
    }

    /// Rows whose expected text depends on exact Python `str.isprintable`/`str.isspace`
    /// (`trace_sentinel_pycompat::unicode`).
    #[test]
    fn jsonl_unicode_rows_match_reference() {
        let rows: &[Row] = &[
            ("{\"message\": [\"\\u0000\\u001f\\u007f\\u0080\\u00a0\\u00ad\\u200b\\u2028\\ue000\\udb40\\udc01\\ud83d\\ude00\"]}", Some(("['\\x00\\x1f\\x7f\\x80\\xa0\\xad\\u200b\\u2028\\ue000\\U000e0001\u{1f600}']", None, None, &[]))),
            ("\u{a0}\u{2028} {\"a\": 3} \u{3000}\u{85}", Some(("", None, None, &[("a", 3.0)]))),
            ("\u{200b}{\"a\": 3}", Some(("\u{200b}{\"a\": 3}", None, None, &[]))),
            ("{\"message\": \"\\u00a0 x \\u00a0\"}", Some(("\u{a0} x \u{a0}", None, None, &[]))),
            ("[\"\\u00a0\", \"\\u0378\", \"\\ud83d\\ude00\", \"\\udb40\\udc01\", \"\\u0085\", \"\\u00e9\"]", Some(("['\\xa0', '\\u0378', '\u{1f600}', '\\U000e0001', '\\x85', '\u{e9}']", None, None, &[]))),
        ];
        check(rows);
    }

    /// Rows whose expected text contains Python float reprs (`trace_sentinel_pycompat::pyfmt`).
    #[test]
    fn jsonl_float_rows_match_reference() {
        let rows: &[Row] = &[
            ("1e5", Some(("100000.0", None, None, &[]))),
            ("-0.0", Some(("-0.0", None, None, &[]))),
            ("1.5", Some(("1.5", None, None, &[]))),
            ("[1.5, -0.0, 1e16, 1e-05, 0.0001, 123456789012345678.0, NaN, Infinity, -Infinity, 1e999]", Some(("[1.5, -0.0, 1e+16, 1e-05, 0.0001, 1.2345678901234568e+17, nan, inf, -inf, inf]", None, None, &[]))),
            ("{\"message\": 2.5, \"source\": 1e22, \"v\": 0.1, \"w\": 1e-7, \"x\": 1e16, \"y\": 5e-324}", Some(("2.5", Some("1e+22"), None, &[("v", 0.1), ("w", 1e-07), ("x", 1e+16), ("y", 5e-324)]))),
            ("{\"source\": 5}", Some(("", Some("5"), None, &[]))),
            ("{\"message\": [1.0, {\"k\": 1.5}]}", Some(("[1.0, {'k': 1.5}]", None, None, &[]))),
            ("{\"message\":\"m\",\"a\":NaN,\"b\":Infinity,\"c\":true,\"d\":1e999,\"e\":12345678901234567890123,\"f\":-0,\"a2\":1}", Some(("m", None, None, &[("e", 1.2345678901234568e+22), ("f", 0.0), ("a2", 1.0)]))),
            ("{\"d\":1.7976931348623159e308, \"e\": 1e400, \"f\": -1e-400, \"g\": 0.30000000000000004}", Some(("", None, None, &[("f", -0.0), ("g", 0.30000000000000004)]))),
        ];
        check(rows);
    }

    fn parse(line: &str, f: &mut JsonFields) -> bool {
        parse_jsonl_line(line, f)
    }

    #[test]
    fn deep_nesting() {
        let n = 200_000;
        let mut f = JsonFields::default();
        let text = format!("{}{}", "[".repeat(n), "]".repeat(n));
        assert!(parse(&text, &mut f));
        assert_eq!(f.message, text); // Python: RecursionError (reference crashes)
        let text = format!(
            "{{\"message\": {}{}, \"a\": 1}}",
            "[".repeat(n),
            "]".repeat(n)
        );
        assert!(parse(&text, &mut f));
        assert_eq!(f.message.len(), 2 * n);
        assert_eq!(f.attributes().collect::<Vec<_>>(), vec![("a", 1.0)]);
        // Unbalanced: invalid JSON → the raw line.
        let text = format!("{{\"a\": {}", "[".repeat(n));
        assert!(parse(&text, &mut f));
        assert_eq!(f.message, text);
        assert_eq!(f.attrs.len(), 0);
    }

    #[test]
    fn fifty_thousand_keys() {
        let n = 50_000;
        let mut text = String::from("{");
        for i in 0..n {
            text.push_str(&format!("\"k{i}\":{i}.5,"));
        }
        // Re-assign k0 to a string (dropped), k1 to a new number (keeps position 1).
        text.push_str("\"k0\":\"x\",\"k1\":7,\"message\":\"m\"}");
        let mut f = JsonFields::default();
        for _ in 0..2 {
            assert!(parse(&text, &mut f));
            assert_eq!(f.message, "m");
            assert_eq!(f.attrs.len(), n - 1);
            let a: Vec<_> = f.attributes().take(3).collect();
            assert_eq!(a, vec![("k1", 7.0), ("k2", 2.5), ("k3", 3.5)]);
            assert_eq!(f.attributes().last(), Some(("k49999", 49999.5)));
        }
    }

    #[test]
    fn big_string_message() {
        let body = "y".repeat(32 << 20);
        let line = format!("{{\"message\": \"{body}\\u00e9\", \"n\": 1}}");
        let mut f = JsonFields::default();
        assert!(parse(&line, &mut f));
        assert_eq!(f.message.len(), body.len() + 2);
        assert!(f.message.ends_with('\u{e9}'));
        assert_eq!(f.attributes().collect::<Vec<_>>(), vec![("n", 1.0)]);
    }

    #[test]
    fn nul_and_control_bytes() {
        let mut f = JsonFields::default();
        // Raw NUL inside a string: invalid JSON → raw line (NUL is not whitespace).
        let line = "{\"a\":\"x\u{0}y\"}";
        assert!(parse(line, &mut f));
        assert_eq!(f.message, line);
        assert!(parse("\u{0}", &mut f));
        assert_eq!(f.message, "\u{0}");
        assert!(parse(
            "{\"message\":\"x\\u0000y\",\"source\":\"\\u0000\"}",
            &mut f
        ));
        assert_eq!(f.message, "x\u{0}y");
        assert_eq!(f.source, "\u{0}");
    }

    #[test]
    fn deliberate_deviations() {
        let mut f = JsonFields::default();
        // Integer literal over 4300 digits: Python raises ValueError (uncaught by the
        // reference); treated as invalid JSON.
        let line = format!("{{\"a\": {}}}", "1".repeat(4301));
        assert!(parse(&line, &mut f));
        assert_eq!(f.message, line);
        // An int attribute too big for a float: Python's numeric_attributes raises
        // OverflowError; dropped.
        let line = format!("{{\"a\": {}, \"b\": 2}}", "9".repeat(400));
        assert!(parse(&line, &mut f));
        assert_eq!(f.attributes().collect::<Vec<_>>(), vec![("b", 2.0)]);
        // Lone surrogate in a top-level string → U+FFFD.
        assert!(parse("\"a\\udc00\"", &mut f));
        assert_eq!(f.message, "a\u{fffd}");
    }
}
