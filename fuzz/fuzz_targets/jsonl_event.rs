//! Fuzz target: JSON-lines event parsing (`parse_jsonl_line`, the Python-dialect JSON
//! reader and its `str()`/`repr()`).
//!
//! Oracles: attributes are always finite; a document the reader rejects yields the raw
//! stripped line as the message; and a differential check against `serde_json`: every
//! document serde_json accepts (strict JSON, a subset of what `json.loads` accepts) must
//! be accepted, with the same `message`/`source` strings and the same finite numeric
//! attributes (last duplicate wins).
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use trace_sentinel_core::parse::jsonl::{parse_jsonl_line, JsonFields};
use trace_sentinel_pycompat::pyjson::JsonDoc;
use trace_sentinel_pycompat::unicode;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut f = JsonFields::default();
    // Run twice on one reused `JsonFields`: stale state must not leak between lines.
    for _ in 0..2 {
        let kept = parse_jsonl_line(&text, &mut f);
        let raw = unicode::strip(&text);
        assert_eq!(kept, !raw.is_empty());
        if !kept {
            return;
        }
        for (k, v) in f.attributes() {
            assert!(v.is_finite(), "non-finite attribute {k:?} = {v}");
        }
    }
    let raw = unicode::strip(&text);
    let mut doc = JsonDoc::default();
    let ours_ok = match doc.parse(raw) {
        Ok(p) => {
            let mut repr = String::new();
            p.write_repr(p.root(), &mut repr);
            true
        }
        Err(_) => {
            assert_eq!(f.message, raw, "invalid JSON must become the raw line");
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
                Some(Value::String(s)) => assert_eq!(&f.message, s),
                None => assert_eq!(f.message, ""),
                Some(_) => {}
            }
            assert_eq!(f.has_source, obj.contains_key("source"));
            if let Some(Value::String(s)) = obj.get("source") {
                assert_eq!(&f.source, s);
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
            let mut got: Vec<(String, f64)> =
                f.attributes().map(|(k, v)| (k.to_string(), v)).collect();
            want.sort_by(|a, b| a.0.cmp(&b.0));
            got.sort_by(|a, b| a.0.cmp(&b.0));
            assert_eq!(got, want, "attributes of {raw:?}");
        }
        Value::String(s) => assert_eq!(f.message, s.trim_end_matches('\n')),
        _ => {}
    }
});
