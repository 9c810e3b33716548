//! Fuzz target: timestamps — `fromtimestamp`, `fromisoformat` (UTF-8 and WTF-8 input)
//! and `isoformat`.
//!
//! Oracles: nothing panics; every parsed or converted timestamp prints an ISO string that
//! parses back to the identical value (Python's `fromisoformat(dt.isoformat()) == dt`);
//! `epoch_seconds` is finite; a converted epoch stays within a microsecond of the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trace_sentinel_pycompat::timestamp::Timestamp;

fn roundtrip(t: Timestamp) {
    let mut iso = String::new();
    t.write_isoformat(&mut iso);
    assert_eq!(
        Timestamp::parse_json_string(&iso),
        Some(t),
        "isoformat {iso:?}"
    );
    assert!(t.epoch_seconds().is_finite());
}

fuzz_target!(|data: &[u8]| {
    if let Some(head) = data.get(..8) {
        let mut b = [0u8; 8];
        b.copy_from_slice(head);
        let x = f64::from_le_bytes(b);
        if let Some(t) = Timestamp::from_epoch_seconds(x) {
            roundtrip(t);
            let back = t.epoch_seconds();
            assert!((back - x).abs() <= 1e-6 + x.abs() * 1e-15, "{x} -> {back}");
        }
        // Small integers and decimal text of the same bytes, as JSON numbers would be.
        let _ = Timestamp::from_epoch_seconds(i64::from_le_bytes(b) as f64);
    }
    if let Some(t) = Timestamp::parse_json_wtf8(data) {
        roundtrip(t);
    }
    if let Ok(s) = std::str::from_utf8(data) {
        let a = Timestamp::parse_json_string(s);
        assert_eq!(
            a,
            Timestamp::parse_json_wtf8(data),
            "UTF-8 and WTF-8 paths differ"
        );
        if let Some(t) = a {
            roundtrip(t);
        }
    }
});
