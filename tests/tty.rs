//! Under a real terminal (a pseudo-terminal from util-linux `script`), `scan`'s progress
//! bar and the anomaly lines never share a row: what the terminal shows at the end is
//! the anomaly lines, each on rows of its own, and no trace of the bar.
//!
//! The transcript is replayed through a small terminal model (printing with deferred
//! line wrap, CR, LF, cursor moves, line and screen erases) and the final screen is
//! checked row by row.

use std::process::Command;

/// Columns of the pseudo-terminal (set with `stty` inside it).
const COLS: usize = 300;

/// The final screen after `bytes` (UTF-8 with ANSI escapes) were written to a terminal
/// of `cols` columns and unbounded height: one string per line, a line that wrapped
/// joined again, trailing blanks trimmed.
fn screen(bytes: &[u8], cols: usize) -> Vec<String> {
    let text = String::from_utf8_lossy(bytes);
    let mut rows: Vec<Vec<char>> = vec![Vec::new()];
    // Whether a row continues the one above (the text wrapped into it).
    let mut wrapped: Vec<bool> = vec![false];
    let (mut row, mut col) = (0usize, 0usize);
    let mut chars = text.chars().peekable();
    let ensure = |rows: &mut Vec<Vec<char>>, wrapped: &mut Vec<bool>, row: usize| {
        while rows.len() <= row {
            rows.push(Vec::new());
            wrapped.push(false);
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '\r' => col = 0,
            '\n' => {
                row += 1;
                col = 0;
                ensure(&mut rows, &mut wrapped, row);
                wrapped[row] = false;
            }
            '\u{1b}' => {
                if chars.peek() != Some(&'[') {
                    continue;
                }
                chars.next();
                let mut param = String::new();
                let mut fin = ' ';
                for d in chars.by_ref() {
                    if d.is_ascii_alphabetic() {
                        fin = d;
                        break;
                    }
                    param.push(d);
                }
                let n: usize = param.trim_start_matches('?').parse().unwrap_or(1).max(1);
                match fin {
                    'A' => row = row.saturating_sub(n),
                    'B' => {
                        row += n;
                        ensure(&mut rows, &mut wrapped, row);
                    }
                    'C' => col = (col + n).min(cols - 1),
                    'D' => col = col.saturating_sub(n),
                    'K' => {
                        let r = &mut rows[row];
                        match param.as_str() {
                            "2" => r.clear(),
                            "1" => r.iter_mut().take(col + 1).for_each(|c| *c = ' '),
                            _ => r.truncate(col),
                        }
                    }
                    'J' => {
                        rows[row].truncate(col);
                        rows.truncate(row + 1);
                        wrapped.truncate(row + 1);
                    }
                    _ => {} // colours, cursor visibility
                }
            }
            c => {
                if col >= cols {
                    row += 1;
                    col = 0;
                    ensure(&mut rows, &mut wrapped, row);
                    wrapped[row] = true;
                }
                let r = &mut rows[row];
                while r.len() <= col {
                    r.push(' ');
                }
                r[col] = c;
                col += 1;
            }
        }
    }
    let mut lines: Vec<String> = Vec::new();
    for (r, cont) in rows.into_iter().zip(wrapped) {
        let text: String = r.into_iter().collect();
        match lines.last_mut() {
            Some(last) if cont => last.push_str(&text),
            _ => lines.push(text),
        }
    }
    lines.iter().map(|l| l.trim_end().to_string()).collect()
}

#[test]
fn the_terminal_model_wraps_and_erases_like_a_terminal() {
    assert_eq!(screen(b"abc\r\x1b[2Kxy\r\n", 10), ["xy", ""]);
    assert_eq!(screen(b"0123456789z", 10), ["0123456789z"]);
    assert_eq!(screen(b"0123456789\r\nz", 10), ["0123456789", "z"]);
    assert_eq!(screen(b"bar\nx\x1b[1A\r\x1b[2Kline\n", 10), ["line", "x"]);
}

/// Run `command` under a pseudo-terminal of [`COLS`] columns; `None` without `script`.
fn under_tty(command: &str) -> Option<Vec<u8>> {
    let ok = Command::new("script")
        .arg("--version")
        .stdin(std::process::Stdio::null())
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("note: util-linux `script` not found; TTY test skipped");
        return None;
    }
    let out = Command::new("script")
        .args([
            "-qec",
            &format!("stty cols {COLS} rows 50; {command}"),
            "/dev/null",
        ])
        .env_remove("NO_COLOR")
        // A terminal session names its terminal; without TERM nothing is drawn.
        .env("TERM", "xterm")
        // `script` copies its input to the terminal and stops early when it is closed.
        .stdin(std::process::Stdio::null())
        .output()
        .expect("script");
    assert!(out.status.success(), "{command}: {out:?}");
    Some(out.stdout)
}

#[test]
fn progress_bar_and_anomalies_never_share_a_row() {
    let bin = env!("CARGO_BIN_EXE_trace-sentinel");
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/datasets/loghub/HDFS_2k.log");
    // Text entries start with their severity (the line itself follows, indented);
    // JSON lines with `{`.
    let text = |r: &str| {
        ["WARNING ", "HIGH ", "CRITICAL ", "    "]
            .iter()
            .any(|p| r.starts_with(p))
    };
    let json = |r: &str| r.starts_with('{');
    for (extra, is_output) in [
        ("", &text as &dyn Fn(&str) -> bool),
        ("--format json", &json),
    ] {
        // `--chunk-size` cuts the file into many chunks, so the bar is drawn and redrawn
        // while anomalies are written.
        let command = format!("{bin} scan {data} --threads 2 --chunk-size 16384 {extra}");
        let Some(transcript) = under_tty(&command) else {
            return;
        };
        let bar_drawn = String::from_utf8_lossy(&transcript).contains('\u{2588}');
        assert!(bar_drawn, "{command}: no bar was drawn");
        let rows = screen(&transcript, COLS);
        let anomalies = rows.iter().filter(|r| is_output(r)).count();
        assert!(anomalies >= 4, "{command}: {rows:#?}");
        for row in rows.iter().filter(|r| !r.is_empty()) {
            assert!(
                is_output(row) || row.starts_with("done — "),
                "{command}: a row mixes the bar and output: {row:?}\n{rows:#?}"
            );
            assert!(
                !row.contains('\u{2588}'),
                "{command}: bar left on screen: {row:?}"
            );
        }
    }
}
