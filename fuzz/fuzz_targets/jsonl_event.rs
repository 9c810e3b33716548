//! Fuzz target: JSON-lines event parsing (`Event::from_json_line`, which is `--jsonl`'s
//! parser, the Python-dialect JSON reader and its `str()`/`repr()`).
//!
//! Oracles: attributes are always finite; a document the reader rejects yields the raw
//! stripped line as the message; and a differential check against `serde_json`: every
//! document serde_json accepts (strict JSON, a subset of what `json.loads` accepts) must
//! be accepted, with the same `message`/`source` strings and the same finite numeric
//! attributes (last duplicate wins); the engine's reused line parser reads the same
//! source and attributes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use trace_sentinel_core::engine::{InputFormat, LineParser};
use trace_sentinel_core::Event;
use trace_sentinel_pycompat::pyjson::JsonDoc;
use trace_sentinel_pycompat::unicode;

/// A default source no JSON string equals (a NUL is escaped in JSON text).
const NO_SOURCE: &str = "\u{0}none";

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let raw = unicode::strip(&text);
    let Some(ev) = Event::from_json_line(&text, NO_SOURCE) else {
        assert!(raw.is_empty());
        return;
    };
    assert!(!raw.is_empty());
    for (k, v) in &ev.attributes {
        assert!(v.is_finite(), "non-finite attribute {k:?} = {v}");
    }
    // The engine's parser, reused after another line, reads the same event: no state of
    // the line before leaks.
    let mut parser = LineParser::new(InputFormat::JsonLines, false);
    parser.parse(
        br#"{"message": "m", "source": "s", "a": 1, "b": 2}"#,
        NO_SOURCE,
        |_| (),
    );
    let reused = parser.parse(data, NO_SOURCE, |r| {
        let attrs: Vec<(String, f64)> = r.attrs().iter().map(|(k, v)| (k.to_string(), v)).collect();
        (r.source().to_string(), attrs)
    });
    assert_eq!(reused, Some((ev.source.clone(), ev.attributes.clone())));
    let mut doc = JsonDoc::default();
    let ours_ok = match doc.parse(raw) {
        Ok(p) => {
            let mut repr = String::new();
            p.write_repr(p.root(), &mut repr);
            true
        }
        Err(_) => {
            assert_eq!(ev.message, raw, "invalid JSON must become the raw line");
            false
        }
    };
    let Ok(v) = serde_json::from_str::<Value>(raw) else {
        return;
    };
    assert!(ours_ok, "serde_json accepts {raw:?} but we reject it");
    match &v {
        Value::Object(obj) => {
            match obj.get("message") {
                Some(Value::String(s)) => assert_eq!(&ev.message, s),
                None => assert_eq!(ev.message, ""),
                Some(_) => {}
            }
            match obj.get("source") {
                None => assert_eq!(ev.source, NO_SOURCE),
                Some(Value::String(s)) => assert_eq!(&ev.source, s),
                Some(_) => assert_ne!(ev.source, NO_SOURCE),
            }
            let mut want: Vec<(String, f64)> = obj
                .iter()
                .filter(|(k, _)| !matches!(k.as_str(), "message" | "source" | "timestamp"))
                .filter_map(|(k, v)| match v {
                    Value::Number(n) => {
                        n.as_f64().filter(|x| x.is_finite()).map(|x| (k.clone(), x))
                    }
                    _ => None,
                })
                .collect();
            let mut got = ev.attributes.clone();
            want.sort_by(|a, b| a.0.cmp(&b.0));
            got.sort_by(|a, b| a.0.cmp(&b.0));
            assert_eq!(got, want, "attributes of {raw:?}");
        }
        Value::String(s) => assert_eq!(ev.message, s.trim_end_matches('\n')),
        _ => {}
    }
});
