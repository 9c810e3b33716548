//! Fuzz target: Python number and string formatting (`repr(float)`, `%g`, `%f`,
//! `round`, `json.dumps(str)`).
//!
//! Oracles: `repr` round-trips bit for bit; `%.Ng` / `%.Nf` parse back to the value
//! Rust's own exact formatting gives; `round` is idempotent; `json.dumps` output is
//! pure ASCII without control bytes and decodes (serde_json) to the original string.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trace_sentinel_pycompat::pyfmt;

fuzz_target!(|data: &[u8]| {
    if data.len() < 10 {
        return;
    }
    let mut b = [0u8; 8];
    b.copy_from_slice(&data[..8]);
    let x = f64::from_le_bytes(b);
    let prec = usize::from(data[8] % 40);
    let ndigits = i32::from(data[9] as i8) * 3;

    let mut s = String::new();
    pyfmt::write_float_repr(&mut s, x);
    if x.is_finite() {
        let back: f64 = s.parse().unwrap_or(f64::NAN);
        assert_eq!(back.to_bits(), x.to_bits(), "repr {s:?}");
        let mut j = String::new();
        pyfmt::write_json_float(&mut j, x);
        assert_eq!(j, s);
    } else {
        assert!(matches!(s.as_str(), "nan" | "inf" | "-inf"), "{s:?}");
    }

    s.clear();
    pyfmt::write_general(&mut s, x, prec);
    if x.is_finite() {
        let want: f64 = format!("{:.*e}", prec.max(1) - 1, x)
            .parse()
            .unwrap_or(f64::NAN);
        let got: f64 = s.parse().unwrap_or(f64::NAN);
        assert_eq!(got.to_bits(), want.to_bits(), "%.{prec}g of {x:e}: {s:?}");
    }
    s.clear();
    pyfmt::write_fixed(&mut s, x, prec);
    if x.is_finite() {
        let got: f64 = s.parse().unwrap_or(f64::NAN);
        let want: f64 = format!("{:.*}", prec, x).parse().unwrap_or(f64::NAN);
        assert_eq!(got.to_bits(), want.to_bits(), "%.{prec}f of {x:e}: {s:?}");
    }

    let r = pyfmt::round_half_even(x, ndigits);
    if r.is_finite() {
        assert_eq!(
            pyfmt::round_half_even(r, ndigits).to_bits(),
            r.to_bits(),
            "round({x:e}, {ndigits})"
        );
    }

    let text = String::from_utf8_lossy(&data[10..]);
    let mut j = String::new();
    pyfmt::write_json_str(&mut j, &text);
    assert!(j.bytes().all(|c| (0x20..0x7f).contains(&c)), "{j:?}");
    let back: String = serde_json::from_str(&j).unwrap_or_else(|e| panic!("{j:?}: {e}"));
    assert_eq!(back, text);
});
