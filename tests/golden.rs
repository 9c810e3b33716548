//! Golden tests: our binary against outputs recorded from the reference implementation
//! (trace-sentinel 0.2.0, Python) by `scripts/regen-golden.sh`.
//!
//! Every case in `tests/golden/` is `NAME.log` or `NAME.jsonl` (input), `NAME.args` (one
//! line of flags) and `NAME.expected.jsonl` (the reference's `--format json` output, with
//! `"timestamp": "<now>"` where the event's timestamp defaulted to the clock). We run
//! `trace-sentinel watch NAME.EXT --format json --binary ARGS` with cwd = `tests/golden`
//! (`--binary`: the reference reads every input as text, NUL bytes included) and
//! compare line by line, field by field (serde_json), then byte for byte after
//! substituting `<now>` timestamps. Needs no Python.
//!
//! `GOLDEN_CASE=name1,name2 cargo test --test golden` runs only the named cases.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const NOW: &str = "<now>";
/// Differences reported per case before the rest are only counted.
const MAX_REPORTS_PER_CASE: usize = 8;

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("golden")
}

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_trace-sentinel")
}

struct Case {
    name: String,
    input: String,
    args: Vec<String>,
    expected: String,
}

fn load_cases() -> Vec<Case> {
    let dir = golden_dir();
    let filter: Option<Vec<String>> = std::env::var("GOLDEN_CASE")
        .ok()
        .filter(|s| !s.is_empty())
        .map(|s| s.split(',').map(|x| x.trim().to_string()).collect());
    let mut cases = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("tests/golden exists") {
        let path = entry.unwrap().path();
        let Some(fname) = path.file_name().and_then(|f| f.to_str()) else {
            continue;
        };
        let Some(name) = fname.strip_suffix(".args") else {
            continue;
        };
        if let Some(f) = &filter {
            if !f.iter().any(|n| n == name) {
                continue;
            }
        }
        let input = ["log", "jsonl"]
            .iter()
            .map(|ext| format!("{name}.{ext}"))
            .find(|f| dir.join(f).is_file())
            .unwrap_or_else(|| panic!("case {name}: no {name}.log or {name}.jsonl"));
        let args_line = std::fs::read_to_string(&path).unwrap();
        let args = args_line.split_whitespace().map(str::to_string).collect();
        let expected = std::fs::read_to_string(dir.join(format!("{name}.expected.jsonl")))
            .unwrap_or_else(|e| panic!("case {name}: {name}.expected.jsonl: {e}"));
        cases.push(Case {
            name: name.to_string(),
            input,
            args,
            expected,
        });
    }
    cases.sort_by(|a, b| a.name.cmp(&b.name));
    cases
}

fn run_in_golden(args: &[&str]) -> Output {
    Command::new(bin())
        .current_dir(golden_dir())
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin()))
}

fn run_case(case: &Case, format: &str) -> Output {
    let mut argv: Vec<&str> = vec!["watch", &case.input, "--format", format, "--binary"];
    argv.extend(case.args.iter().map(String::as_str));
    run_in_golden(&argv)
}

fn command_line(case: &Case, format: &str) -> String {
    format!(
        "(cd tests/golden && trace-sentinel watch {} --format {format} --binary {})",
        case.input,
        case.args.join(" ")
    )
}

// ------------------------------------------------------------------ JSON comparison

/// Make a line of Python `json.dumps` output parseable by serde_json without losing
/// information: bare `NaN`/`Infinity`/`-Infinity` become marker strings, and every
/// surrogate escape (`\ud800`, paired or lone) becomes literal text (`\\ud800`).
/// Applied to both sides, so the comparison stays exact.
fn to_parsable(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + 16);
    let mut rest = line;
    let mut in_str = false;
    while let Some(c) = rest.chars().next() {
        if in_str {
            if c == '\\' {
                if rest.as_bytes().get(1) == Some(&b'u') {
                    if let Some(hex) = rest.get(2..6) {
                        if let Ok(cp) = u32::from_str_radix(hex, 16) {
                            if (0xD800..=0xDFFF).contains(&cp) {
                                out.push_str("\\\\u");
                                out.push_str(hex);
                                rest = &rest[6..];
                                continue;
                            }
                        }
                    }
                }
                let n = 1 + rest[1..].chars().next().map_or(0, char::len_utf8);
                out.push_str(&rest[..n]);
                rest = &rest[n..];
                continue;
            }
            if c == '"' {
                in_str = false;
            }
        } else if c == '"' {
            in_str = true;
        } else if let Some(tok) = ["-Infinity", "Infinity", "NaN"]
            .iter()
            .find(|t| rest.starts_with(**t))
        {
            write!(out, "\"\\u0000nonfinite:{tok}\"").unwrap();
            rest = &rest[tok.len()..];
            continue;
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// Split a flat JSON object (as produced by `json.dumps` of `Anomaly.as_dict()`) into
/// its raw `(key, value-text)` pairs, in order. `None` if it is not such an object.
fn raw_fields(line: &str) -> Option<Vec<(String, String)>> {
    let s = line.strip_prefix('{')?.strip_suffix('}')?;
    let b = s.as_bytes();
    let mut fields = Vec::new();
    let mut i = 0;
    let scan_string = |mut j: usize| -> Option<usize> {
        // b[j] == '"'; returns index just past the closing quote
        j += 1;
        while j < b.len() {
            match b[j] {
                b'\\' => j += 2,
                b'"' => return Some(j + 1),
                _ => j += 1,
            }
        }
        None
    };
    while i < b.len() {
        if b[i] != b'"' {
            return None;
        }
        let kend = scan_string(i)?;
        let key = s[i..kend].to_string();
        let rest = s.get(kend..)?;
        let rest = rest.strip_prefix(": ")?;
        i = kend + 2;
        let vend = if rest.starts_with('"') {
            scan_string(i)?
        } else {
            i + rest.find(", \"").unwrap_or(rest.len())
        };
        fields.push((key, s[i..vend].to_string()));
        i = vend;
        if i < b.len() {
            if !s[i..].starts_with(", ") {
                return None;
            }
            i += 2;
        }
    }
    Some(fields)
}

fn parse_line(line: &str) -> Result<BTreeMap<String, Value>, String> {
    let v: Value = serde_json::from_str(&to_parsable(line)).map_err(|e| e.to_string())?;
    match v {
        Value::Object(m) => Ok(m.into_iter().collect()),
        other => Err(format!("not a JSON object: {other}")),
    }
}

/// Values are equal when they are the same JSON value; numbers must also agree in
/// kind (integer vs float) and in the sign of zero.
fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            x.is_f64() == y.is_f64()
                && match (x.as_f64(), y.as_f64()) {
                    (Some(p), Some(q)) => p.to_bits() == q.to_bits() || (p.is_nan() && q.is_nan()),
                    _ => x == y,
                }
        }
        _ => a == b,
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.ffffff]+00:00`, as Python's `datetime.now(timezone.utc).isoformat()`.
fn is_utc_isoformat(s: &str) -> bool {
    let b = s.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| r.clone().all(|i| b.get(i).is_some_and(u8::is_ascii_digit));
    let base_ok = b.len() >= 25
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && b[10] == b'T'
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19);
    if !base_ok {
        return false;
    }
    let tail = &s[19..];
    let tail = match tail.strip_prefix('.') {
        Some(t) if t.len() >= 6 && t.as_bytes()[..6].iter().all(u8::is_ascii_digit) => &t[6..],
        Some(_) => return false,
        None => tail,
    };
    if tail != "+00:00" {
        return false;
    }
    let num = |r: std::ops::Range<usize>| s[r].parse::<u32>().unwrap();
    let (mo, d, h, mi, se) = (num(5..7), num(8..10), num(11..13), num(14..16), num(17..19));
    (1..=12).contains(&mo) && (1..=31).contains(&d) && h < 24 && mi < 60 && se < 60
}

/// Seconds since the Unix epoch of a string accepted by `is_utc_isoformat`.
fn iso_epoch_seconds(s: &str) -> i64 {
    let num = |r: std::ops::Range<usize>| s[r].parse::<i64>().unwrap();
    let (y, m, d) = (num(0..4), num(5..7), num(8..10));
    // days from civil (Howard Hinnant)
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = if y2 >= 0 { y2 } else { y2 - 399 } / 400;
    let yoe = y2 - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146097 + doe - 719468;
    days * 86400 + num(11..13) * 3600 + num(14..16) * 60 + num(17..19)
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A "<now>" timestamp must be an ISO-8601 UTC timestamp of (roughly) the test run.
fn check_now_timestamp(got: &str, started: i64) -> Result<(), String> {
    if !is_utc_isoformat(got) {
        return Err(format!(
            "expected an ISO-8601 UTC timestamp like 2026-11-27T04:40:09.123456+00:00, got {got:?}"
        ));
    }
    let t = iso_epoch_seconds(got);
    if t < started - 5 || t > unix_now() + 5 {
        return Err(format!("timestamp {got:?} is not the time of the run"));
    }
    Ok(())
}

fn excerpt(s: &str) -> String {
    const MAX: usize = 300;
    if s.len() <= MAX {
        return s.to_string();
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes)", &s[..end], s.len())
}

/// Compare one case's output with its expected file; returns a report of differences.
fn compare(case: &Case, got_stdout: &str, started: i64) -> Vec<String> {
    let mut reports = Vec::new();
    let exp_lines: Vec<&str> = case.expected.lines().collect();
    let got_lines: Vec<&str> = got_stdout.lines().collect();
    if !got_stdout.is_empty() && !got_stdout.ends_with('\n') {
        reports.push("output does not end with a newline".to_string());
    }
    let mut extra = 0usize;
    for (idx, exp) in exp_lines.iter().enumerate() {
        let lineno = idx + 1;
        let Some(got) = got_lines.get(idx) else {
            reports.push(format!(
                "line {lineno}: missing (got {} lines, expected {}); expected: {}",
                got_lines.len(),
                exp_lines.len(),
                excerpt(exp)
            ));
            break;
        };
        let mut line_reports = Vec::new();
        let e = parse_line(exp)
            .unwrap_or_else(|err| panic!("{}: bad expected line {lineno}: {err}", case.name));
        let g = match parse_line(got) {
            Ok(g) => g,
            Err(err) => {
                reports.push(format!(
                    "line {lineno}: not valid JSON ({err}): {}",
                    excerpt(got)
                ));
                continue;
            }
        };
        let exp_now = e.get("timestamp").and_then(Value::as_str) == Some(NOW);
        for (key, ev) in &e {
            match g.get(key) {
                None => line_reports.push(format!(
                    "field {key:?} missing; expected {}",
                    excerpt(&ev.to_string())
                )),
                Some(gv) if key == "timestamp" && exp_now => match gv.as_str() {
                    Some(ts) => {
                        if let Err(msg) = check_now_timestamp(ts, started) {
                            line_reports.push(format!("field \"timestamp\": {msg}"));
                        }
                    }
                    None => line_reports
                        .push(format!("field \"timestamp\": expected a string, got {gv}")),
                },
                Some(gv) if !same_value(ev, gv) => line_reports.push(format!(
                    "field {key:?}: expected {} got {}",
                    excerpt(&ev.to_string()),
                    excerpt(&gv.to_string())
                )),
                Some(_) => {}
            }
        }
        for key in g.keys().filter(|k| !e.contains_key(*k)) {
            if key == "line" {
                if let Err(msg) = check_line_key(case, &g) {
                    line_reports.push(msg);
                }
            } else {
                line_reports.push(format!("unexpected field {key:?}"));
            }
        }
        if !g.contains_key("line") {
            line_reports.push("field \"line\" missing".to_string());
        }
        // The reference's keys come first, byte for byte; `line` follows them.
        let got = strip_line_key(got);
        let got = got.as_str();
        // byte-for-byte (after substituting the clock timestamp)
        let got_norm = if exp_now {
            match raw_fields(got) {
                Some(fields) if fields.first().map(|f| f.0.as_str()) == Some("\"timestamp\"") => {
                    let ts_raw = &fields[0].1;
                    got.replacen(
                        &format!("\"timestamp\": {ts_raw}"),
                        "\"timestamp\": \"<now>\"",
                        1,
                    )
                }
                _ => got.to_string(),
            }
        } else {
            got.to_string()
        };
        if line_reports.is_empty() && got_norm != *exp {
            // same values, different bytes: find the raw field that differs
            match (raw_fields(exp), raw_fields(&got_norm)) {
                (Some(ef), Some(gf)) if ef.len() == gf.len() => {
                    for ((ek, evr), (gk, gvr)) in ef.iter().zip(gf.iter()) {
                        if ek != gk {
                            line_reports
                                .push(format!("bytes: key order/spelling: expected {ek} got {gk}"));
                            break;
                        }
                        if evr != gvr {
                            line_reports.push(format!(
                                "bytes: field {ek}: expected {} got {}",
                                excerpt(evr),
                                excerpt(gvr)
                            ));
                        }
                    }
                    if line_reports.is_empty() {
                        line_reports.push(format!(
                            "bytes differ: expected {} got {}",
                            excerpt(exp),
                            excerpt(&got_norm)
                        ));
                    }
                }
                _ => line_reports.push(format!(
                    "bytes differ: expected {} got {}",
                    excerpt(exp),
                    excerpt(&got_norm)
                )),
            }
        }
        if !line_reports.is_empty() {
            if reports.len() >= MAX_REPORTS_PER_CASE {
                extra += 1;
                continue;
            }
            let mut r = format!("line {lineno}:");
            for lr in line_reports {
                write!(r, "\n      {lr}").unwrap();
            }
            reports.push(r);
        }
    }
    if got_lines.len() > exp_lines.len() {
        reports.push(format!(
            "{} extra output line(s) after line {}; first: {}",
            got_lines.len() - exp_lines.len(),
            exp_lines.len(),
            excerpt(got_lines[exp_lines.len()])
        ));
    }
    if extra > 0 {
        reports.push(format!("… and {extra} more differing line(s)"));
    }
    reports
}

/// `got` without its trailing `, "line": N` (the key our output adds after the
/// reference's).
fn strip_line_key(got: &str) -> String {
    match got.rfind(", \"line\": ") {
        Some(i)
            if got.ends_with('}')
                && got[i + 10..got.len() - 1]
                    .bytes()
                    .all(|b| b.is_ascii_digit()) =>
        {
            format!("{}}}", &got[..i])
        }
        _ => got.to_string(),
    }
}

/// `s` with the escaped surrogate pairs [`to_parsable`] keeps (`\\ud83d\\ude80`) joined
/// back into their characters.
fn join_surrogate_pairs(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("\\u") {
        out.push_str(&rest[..i]);
        let pair = rest
            .get(i + 2..i + 6)
            .zip(rest.get(i + 8..i + 12))
            .filter(|_| rest.get(i + 6..i + 8) == Some("\\u"));
        let joined = pair.and_then(|(hi, lo)| {
            let (hi, lo) = (
                u32::from_str_radix(hi, 16).ok()?,
                u32::from_str_radix(lo, 16).ok()?,
            );
            ((0xD800..0xDC00).contains(&hi) && (0xDC00..0xE000).contains(&lo))
                .then(|| char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)))
                .flatten()
        });
        match joined {
            Some(c) => {
                out.push(c);
                rest = &rest[i + 12..];
            }
            None => {
                out.push_str(&rest[i..i + 2]);
                rest = &rest[i + 2..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The input's lines as Python's universal newlines split them (empty ones kept).
fn input_lines(bytes: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => {
                out.push(&bytes[start..i]);
                start = i + 1;
            }
            b'\r' => {
                out.push(&bytes[start..i]);
                if bytes.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    if start < bytes.len() {
        out.push(&bytes[start..]);
    }
    out
}

/// `line` names the input line the anomaly came from: for plain text the line itself
/// is the message; for JSON lines it is a line of the input that holds the message.
fn check_line_key(case: &Case, g: &BTreeMap<String, Value>) -> Result<(), String> {
    let n = g["line"].as_u64().ok_or("field \"line\" is not a number")?;
    let bytes = std::fs::read(golden_dir().join(&case.input)).map_err(|e| e.to_string())?;
    let lines = input_lines(&bytes);
    let text = n
        .checked_sub(1)
        .and_then(|i| lines.get(i as usize))
        .map(|l| String::from_utf8_lossy(l).into_owned())
        .ok_or(format!(
            "field \"line\": {n} is past the input's {} lines",
            lines.len()
        ))?;
    let message = join_surrogate_pairs(g["message"].as_str().unwrap_or_default());
    let ok = if case.input.ends_with(".log") {
        text == message
    } else {
        !text.trim().is_empty()
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "field \"line\": line {n} is {:?}, not the message {:?}",
            excerpt(&text),
            excerpt(&message)
        ))
    }
}

// ------------------------------------------------------------------ tests

#[test]
fn golden_cases_are_present() {
    if std::env::var("GOLDEN_CASE").is_ok_and(|s| !s.is_empty()) {
        return;
    }
    let cases = load_cases();
    assert!(
        cases.len() >= 14,
        "expected at least 14 golden cases, found {}",
        cases.len()
    );
    for c in &cases {
        assert!(
            !c.expected.trim().is_empty(),
            "case {}: expected output is empty",
            c.name
        );
    }
}

#[test]
fn golden_json_output_matches_reference() {
    let cases = load_cases();
    assert!(!cases.is_empty(), "no golden cases selected");
    let mut failures = String::new();
    let mut passed = 0;
    for case in &cases {
        let started = unix_now();
        let out = run_case(case, "json");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let mut reports = Vec::new();
        if !out.status.success() {
            reports.push(format!(
                "exit status {:?}; stderr: {}",
                out.status.code(),
                excerpt(String::from_utf8_lossy(&out.stderr).trim())
            ));
        }
        if std::str::from_utf8(&out.stdout).is_err() {
            reports.push("stdout is not valid UTF-8".to_string());
        }
        reports.extend(compare(case, &stdout, started));
        if reports.is_empty() {
            passed += 1;
            eprintln!(
                "golden {:<24} ok ({} anomalies)",
                case.name,
                case.expected.lines().count()
            );
        } else {
            eprintln!("golden {:<24} FAILED", case.name);
            writeln!(
                failures,
                "\n=== case {} — {}",
                case.name,
                command_line(case, "json")
            )
            .unwrap();
            for r in reports {
                writeln!(failures, "  {r}").unwrap();
            }
        }
    }
    if !failures.is_empty() {
        panic!(
            "{} of {} golden cases failed:{failures}\n(regenerate expectations only from the reference: scripts/regen-golden.sh)",
            cases.len() - passed,
            cases.len()
        );
    }
}

/// Python's `ConsoleSink._sanitize`: C0 controls, DEL and C1 controls become U+FFFD.
fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| {
            let u = c as u32;
            if u < 0x20 || u == 0x7F || (0x80..0xA0).contains(&u) {
                '\u{FFFD}'
            } else {
                c
            }
        })
        .collect()
}

fn has_control(s: &str) -> Option<char> {
    s.chars().find(|&c| {
        let u = c as u32;
        (u < 0x20 && c != '\n') || u == 0x7F || (0x80..0xA0).contains(&u)
    })
}

/// `text` as the console shows it: sanitized, cut to `width` characters with `…`.
fn excerpt_of(text: &str, width: usize) -> String {
    let clean = sanitize(text);
    if clean.chars().count() <= width {
        clean
    } else {
        let mut cut: String = clean.chars().take(width - 1).collect();
        cut.push('…');
        cut
    }
}

/// `--format text`: one entry per anomalous line on stderr — `[TS] SEVERITY
/// source:line  metrics`, then the line itself indented — with every anomaly of the JSON
/// run, no control bytes, then `done — N anomalies surfaced`.
fn check_text_format(case_name: &str) {
    let case = load_all_case(case_name);
    let out = run_case(&case, "text");
    assert!(
        out.status.success(),
        "{}: exit {:?}: {}",
        command_line(&case, "text"),
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stdout.is_empty(),
        "{}: --format text printed to stdout: {}",
        case.name,
        excerpt(&String::from_utf8_lossy(&out.stdout))
    );
    let stderr = String::from_utf8(out.stderr).expect("stderr is UTF-8");
    if let Some(c) = has_control(&stderr) {
        panic!(
            "{}: --format text output contains control character {c:?}",
            case.name
        );
    }
    // The anomalies, from our own JSON run (it carries the line numbers), grouped by line.
    let json = run_case(&case, "json");
    let anomalies: Vec<BTreeMap<String, Value>> = String::from_utf8(json.stdout)
        .unwrap()
        .lines()
        .map(|l| parse_line(l).unwrap())
        .collect();
    assert!(!anomalies.is_empty(), "{}: no anomalies", case.name);
    let mut groups: Vec<Vec<&BTreeMap<String, Value>>> = Vec::new();
    for a in &anomalies {
        match groups.last_mut() {
            Some(g) if g[0]["line"] == a["line"] && g[0]["source"] == a["source"] => g.push(a),
            _ => groups.push(vec![a]),
        }
    }
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(
        lines.len(),
        2 * groups.len() + 1,
        "{}: expected {} entries of two lines and the summary; last: {:?}",
        case.name,
        groups.len(),
        lines.last()
    );
    assert_eq!(
        lines[lines.len() - 1],
        format!("done — {} anomalies surfaced", anomalies.len()),
        "{}: summary line",
        case.name
    );
    let rank = |s: &str| {
        ["warning", "high", "critical"]
            .iter()
            .position(|x| *x == s)
            .unwrap()
    };
    let timed = case.input.ends_with(".jsonl");
    for (i, g) in groups.iter().enumerate() {
        let (head, body) = (lines[2 * i], lines[2 * i + 1]);
        let field = |a: &BTreeMap<String, Value>, k: &str| a[k].as_str().unwrap().to_string();
        let mut rest = head;
        if timed {
            let ts = field(g[0], "timestamp");
            rest = rest
                .strip_prefix(&format!("[{ts}] "))
                .unwrap_or_else(|| panic!("{} entry {i}: no [{ts}] prefix: {head}", case.name));
        }
        let severity = g
            .iter()
            .map(|a| field(a, "severity"))
            .max_by_key(|s| rank(s))
            .unwrap();
        let want = format!(
            "{} {}:{}  ",
            severity.to_uppercase(),
            sanitize(&field(g[0], "source")),
            g[0]["line"]
        );
        assert!(
            rest.starts_with(&want),
            "{} entry {i}: {head:?} does not start with {want:?}",
            case.name
        );
        for a in g {
            let metric = sanitize(&field(a, "metric"));
            // (A non-finite score is written as text by the harness: only the metric then.)
            let sigma = a["score"]
                .as_f64()
                .map_or(String::new(), |x| format!("{:.1}σ", x.abs()));
            assert!(
                rest.contains(&metric) && rest.contains(&sigma),
                "{} entry {i}: {head:?} lacks {metric} {sigma}",
                case.name
            );
        }
        let message = field(g[0], "message");
        assert_eq!(
            body,
            format!("    {}", excerpt_of(&message, 196)),
            "{} entry {i}: the line",
            case.name
        );
    }
}

fn load_all_case(name: &str) -> Case {
    let dir = golden_dir();
    let input = ["log", "jsonl"]
        .iter()
        .map(|ext| format!("{name}.{ext}"))
        .find(|f| dir.join(f).is_file())
        .unwrap_or_else(|| panic!("no golden case {name}"));
    let args_line = std::fs::read_to_string(dir.join(format!("{name}.args"))).unwrap();
    Case {
        name: name.to_string(),
        input,
        args: args_line.split_whitespace().map(str::to_string).collect(),
        expected: std::fs::read_to_string(dir.join(format!("{name}.expected.jsonl"))).unwrap(),
    }
}

#[test]
fn text_format_plain_text_case() {
    check_text_format("text_basic");
}

#[test]
fn text_format_sanitizes_sources_and_metric_names() {
    // ANSI escapes / NUL / BEL in sources and attribute keys must reach the terminal
    // as U+FFFD, like the reference ConsoleSink.
    check_text_format("jsonl_attrs");
}

fn assert_usage_error(args: &[&str]) {
    let out = run_in_golden(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "trace-sentinel {}: expected exit code 2, got {:?}; stderr: {stderr}",
        args.join(" "),
        out.status.code()
    );
    let msg = stderr.strip_suffix('\n').unwrap_or(&stderr);
    assert!(
        !msg.trim().is_empty() && !msg.contains('\n'),
        "trace-sentinel {}: expected a one-line message on stderr, got {:?}",
        args.join(" "),
        stderr
    );
    assert!(
        out.stdout.is_empty(),
        "trace-sentinel {}: nothing expected on stdout, got {:?}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn missing_file_is_a_usage_error() {
    assert_usage_error(&["watch", "no-such-file.log"]);
    assert_usage_error(&["watch", "no-such-file.jsonl", "--jsonl", "--format", "json"]);
}

#[test]
fn directory_is_a_usage_error() {
    assert_usage_error(&["watch", "."]);
    assert_usage_error(&["watch", "..", "--jsonl"]);
}

#[test]
fn zero_threshold_is_a_usage_error() {
    assert_usage_error(&["watch", "text_basic.log", "--threshold", "0"]);
    assert_usage_error(&["watch", "text_basic.log", "--threshold", "-1.5"]);
}

#[test]
fn negative_warmup_is_a_usage_error() {
    assert_usage_error(&["watch", "text_basic.log", "--warmup", "-1"]);
}

#[test]
fn alpha_out_of_range_is_a_usage_error() {
    assert_usage_error(&["watch", "text_basic.log", "--alpha", "2"]);
    assert_usage_error(&[
        "watch",
        "text_basic.log",
        "--detector",
        "ewma",
        "--alpha",
        "2",
    ]);
    assert_usage_error(&[
        "watch",
        "text_basic.log",
        "--detector",
        "ewma",
        "--alpha",
        "0",
    ]);
}

#[test]
fn window_too_small_is_a_usage_error() {
    assert_usage_error(&["watch", "text_basic.log", "--window", "0"]);
    assert_usage_error(&[
        "watch",
        "text_basic.log",
        "--detector",
        "mad",
        "--window",
        "0",
    ]);
}

// ------------------------------------------------------------------ self-tests of the harness

#[test]
fn harness_parses_python_json_dumps() {
    let line = r#"{"timestamp": "<now>", "source": "a\ud800b", "metric": "m", "value": -0.0, "score": -Infinity, "severity": "critical", "explanation": "x", "message": "\ud83d\ude00 NaN"}"#;
    let m = parse_line(line).unwrap();
    assert_eq!(m["source"], Value::String("a\\ud800b".into()));
    assert_eq!(m["score"], Value::String("\u{0}nonfinite:-Infinity".into()));
    assert_eq!(m["message"], Value::String("\\ud83d\\ude00 NaN".into()));
    let fields = raw_fields(line).unwrap();
    assert_eq!(fields.len(), 8);
    assert_eq!(fields[3], ("\"value\"".to_string(), "-0.0".to_string()));
    assert_eq!(
        fields[4],
        ("\"score\"".to_string(), "-Infinity".to_string())
    );
    let a = parse_line(r#"{"value": 0.0}"#).unwrap();
    let b = parse_line(r#"{"value": -0.0}"#).unwrap();
    let c = parse_line(r#"{"value": 0}"#).unwrap();
    assert!(!same_value(&a["value"], &b["value"]));
    assert!(!same_value(&a["value"], &c["value"]));
    assert!(is_utc_isoformat("2026-11-27T04:40:09.123456+00:00"));
    assert!(is_utc_isoformat("2026-11-27T04:40:09+00:00"));
    assert!(!is_utc_isoformat("2026-11-27T04:40:09.123456Z"));
    assert!(!is_utc_isoformat("2026-11-27 04:40:09.123456+00:00"));
    assert_eq!(iso_epoch_seconds("1970-01-02T00:00:01+00:00"), 86401);
    assert_eq!(iso_epoch_seconds("2000-03-01T00:00:00+00:00"), 951868800);
}
