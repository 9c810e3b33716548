//! docs/cli.md cannot drift from the binary: every command of `trace-sentinel --help` has
//! a section, every flag of `trace-sentinel CMD --help` is documented in a table row of
//! that command's section or of a shared section naming the command (`## Title (watch,
//! scan)`), no documented flag is missing from `--help`, and every `--flag` mentioned
//! anywhere on the page exists.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

/// Flags never listed per command (every command has them).
const GLOBAL: [&str; 2] = ["--help", "--version"];

fn help(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_trace-sentinel"))
        .args(args)
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success(), "{args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// Every `--name` token in `text`.
fn flags_in(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let b = text.as_bytes();
    let mut i = 0;
    while let Some(pos) = text[i..].find("--") {
        let start = i + pos;
        let before_ok =
            start == 0 || !(b[start - 1].is_ascii_alphanumeric() || b[start - 1] == b'-');
        let mut end = start + 2;
        while end < b.len() && (b[end].is_ascii_alphanumeric() || b[end] == b'-') {
            end += 1;
        }
        let name = &text[start..end];
        if before_ok && name.len() > 2 && b[start + 2].is_ascii_lowercase() {
            out.insert(name.trim_end_matches('-').to_string());
        }
        i = end.max(start + 2);
    }
    out
}

/// Flags declared by the option lines of a `--help` text (not those quoted in
/// descriptions).
fn declared_flags(help: &str) -> BTreeSet<String> {
    help.lines()
        .filter_map(|l| {
            let t = l.trim_start();
            let t = match t.strip_prefix('-') {
                Some(rest) if !rest.starts_with('-') => rest.split_once(", ")?.1,
                _ => t,
            };
            t.starts_with("--")
                .then(|| flags_in(t.split_whitespace().next()?).pop_first())?
        })
        .filter(|f| !GLOBAL.contains(&f.as_str()))
        .collect()
}

/// Subcommands listed by the top-level `--help`.
fn commands() -> Vec<String> {
    let h = help(&[]);
    let mut in_cmds = false;
    let mut out = Vec::new();
    for l in h.lines() {
        if l.starts_with("Commands:") {
            in_cmds = true;
            continue;
        }
        if in_cmds {
            if !l.starts_with("  ") {
                break;
            }
            let name = l.split_whitespace().next().unwrap_or("");
            if name != "help" {
                out.push(name.to_string());
            }
        }
    }
    out
}

/// `## ` sections of the page: (heading, body).
fn sections(doc: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in doc.lines() {
        if let Some(h) = line.strip_prefix("## ") {
            out.push((h.to_string(), String::new()));
        } else if let Some((_, body)) = out.last_mut() {
            body.push_str(line);
            body.push('\n');
        }
    }
    out
}

/// The commands a section documents flags for: `` `trace-sentinel X` `` or `(x, y)`.
fn scope(heading: &str) -> Vec<String> {
    if let Some(cmd) = heading
        .strip_prefix("`trace-sentinel ")
        .and_then(|h| h.strip_suffix('`'))
    {
        return vec![cmd.to_string()];
    }
    match (heading.rfind('('), heading.ends_with(')')) {
        (Some(open), true) => heading[open + 1..heading.len() - 1]
            .split(',')
            .map(|c| c.trim().to_string())
            .collect(),
        _ => Vec::new(),
    }
}

/// Flags in the first cell of the section's table rows.
fn table_flags(body: &str) -> BTreeSet<String> {
    body.lines()
        .filter(|l| l.starts_with("| `"))
        .filter_map(|l| l.split('|').nth(1))
        .flat_map(flags_in)
        .collect()
}

#[test]
fn cli_reference_matches_help() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/cli.md"))
        .expect("docs/cli.md");
    let cmds = commands();
    assert!(cmds.iter().any(|c| c == "watch") && cmds.iter().any(|c| c == "scan"));
    let secs = sections(&doc);
    let mut documented: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (heading, body) in &secs {
        for cmd in scope(heading) {
            assert!(
                cmds.contains(&cmd),
                "docs/cli.md section '{heading}' names unknown command '{cmd}'"
            );
            documented.entry(cmd).or_default().extend(table_flags(body));
        }
    }
    let mut all_flags = BTreeSet::new();
    for cmd in &cmds {
        assert!(
            secs.iter()
                .any(|(h, _)| h == &format!("`trace-sentinel {cmd}`")),
            "docs/cli.md has no section '## `trace-sentinel {cmd}`'"
        );
        let text = help(&[cmd]);
        let declared = declared_flags(&text);
        // Every option line of the help was understood (a command may have none).
        let option_lines = text
            .lines()
            .map(str::trim_start)
            .filter(|l| {
                let b = l.as_bytes();
                b.len() > 1 && b[0] == b'-' && (b[1] == b'-' || b[1].is_ascii_alphabetic())
            })
            .filter(|l| !GLOBAL.iter().any(|g| l.contains(g)))
            .count();
        assert_eq!(
            declared.len(),
            option_lines,
            "{cmd}: flags parsed from --help: {declared:?}"
        );
        let docs = documented.remove(cmd).unwrap_or_default();
        let missing: Vec<_> = declared.difference(&docs).collect();
        let stale: Vec<_> = docs.difference(&declared).collect();
        assert!(
            missing.is_empty() && stale.is_empty(),
            "docs/cli.md vs `trace-sentinel {cmd} --help`: undocumented {missing:?}, not accepted {stale:?}"
        );
        all_flags.extend(declared);
    }
    let unknown: Vec<_> = flags_in(&doc)
        .into_iter()
        .filter(|f| !all_flags.contains(f) && !GLOBAL.contains(&f.as_str()))
        .collect();
    assert!(
        unknown.is_empty(),
        "docs/cli.md mentions flags no command has: {unknown:?}"
    );
}

#[test]
fn flag_parsing_helpers() {
    assert_eq!(
        flags_in("use --a-b, `--c <N>` not x--y or -- or --Z"),
        ["--a-b", "--c"].iter().map(|s| s.to_string()).collect()
    );
    let h =
        "Options:\n  -f, --follow\n          With --state: x\n      --state <DIR>\n  -h, --help\n";
    assert_eq!(
        declared_flags(h),
        ["--follow", "--state"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    );
    assert_eq!(
        scope("Detection flags (watch, scan, hud)"),
        ["watch", "scan", "hud"]
    );
    assert_eq!(scope("`trace-sentinel scan`"), ["scan"]);
    assert!(scope("Exit codes and streams").is_empty());
}
