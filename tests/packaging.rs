//! What the package ships, checked without installing it: the systemd unit passes
//! `systemd-analyze verify` and its command line runs this binary as a follower with
//! checkpoints and metrics; the completion scripts and man pages cover every command and
//! flag. (`scripts/check-deb.sh`, run by `.ci/run`, builds the .deb and installs it.)

#[path = "support/prometheus.rs"]
mod prometheus;
#[path = "support/running.rs"]
mod running;
#[path = "support/scratch.rs"]
mod scratch;

use running::Running;
use scratch::scratch;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_trace-sentinel");

fn unit_text() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/packaging/trace-sentinel@.service"
    ))
    .unwrap()
}

fn run(args: &[&str]) -> String {
    let out = Command::new(BIN).args(args).output().unwrap();
    assert!(out.status.success(), "{args:?}: {out:?}");
    assert!(out.stderr.is_empty(), "{args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn systemd_unit_verifies() {
    let Some(analyze) = prometheus::tool(
        "SYSTEMD_ANALYZE",
        &["systemd-analyze"],
        "systemd",
        "systemd_unit_verifies",
    ) else {
        return;
    };
    // The unit as installed, but running this build (verify checks the program exists).
    let tmp = scratch("unit");
    let unit = tmp.path().join("trace-sentinel@.service");
    std::fs::write(&unit, unit_text().replace("/usr/bin/trace-sentinel", BIN)).unwrap();
    // --man=no: the man pages it names are installed with the package, not here.
    let out = Command::new(analyze)
        .args(["verify", "--man=no"])
        .arg(&unit)
        .output()
        .unwrap();
    assert!(
        out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
        "{out:?}"
    );
    let text = unit_text();
    for hardening in [
        "DynamicUser=yes",
        "ProtectSystem=strict",
        "NoNewPrivileges=yes",
        "BindReadOnlyPaths=/var/log",
        "StateDirectory=trace-sentinel/%i",
    ] {
        assert!(text.lines().any(|l| l == hardening), "{hardening}");
    }
}

/// The unit's `ExecStart=` with systemd's substitutions made: `%I` the log path without
/// its leading `/`, `%i` an instance name, the variables from the environment files.
fn exec_start(log: &Path, state_root: &Path, metrics_addr: &str) -> Vec<String> {
    let text = unit_text();
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .expect("an ExecStart line");
    let instance = log
        .to_str()
        .unwrap()
        .trim_start_matches('/')
        .replace('/', "-");
    line.split_whitespace()
        .filter(|w| *w != "$TRACE_SENTINEL_ARGS") // empty by default
        .map(|w| {
            w.replace(
                "/var/lib/trace-sentinel/",
                &format!("{}/", state_root.display()),
            )
            .replace("%I", log.to_str().unwrap().trim_start_matches('/'))
            .replace("%i", &instance)
            .replace("${METRICS_ADDR}", metrics_addr)
        })
        .collect()
}

#[test]
fn systemd_unit_command_line_follows_with_state_and_metrics() {
    let tmp = scratch("unit-run");
    let log = tmp.path().join("app.log");
    std::fs::write(&log, "").unwrap();
    let argv = exec_start(&log, tmp.path(), "127.0.0.1:0");
    assert_eq!(argv[0], "/usr/bin/trace-sentinel");
    assert!(
        argv.iter().all(|w| !w.contains('%') && !w.contains('$')),
        "{argv:?}"
    );
    // Killed and reaped when dropped, also if an assertion fails.
    let args: Vec<&str> = argv[1..].iter().map(String::as_str).collect();
    let run = Running::start(&args, Stdio::null());
    let addr = run.metrics_addr();
    let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    for i in 0..50 {
        writeln!(f, "GET /item/{i} 200").unwrap();
    }
    drop(f);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, body) = prometheus::http_get(&addr, "/metrics").unwrap();
        if body.contains("trace_sentinel_events_total 50\n") {
            break;
        }
        assert!(Instant::now() < deadline, "{body}");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(run.stop(), Some(0));
    let instance = log
        .to_str()
        .unwrap()
        .trim_start_matches('/')
        .replace('/', "-");
    assert!(tmp
        .path()
        .join(instance)
        .join("follow-state.json")
        .is_file());
}

#[test]
fn completions_cover_every_command_and_flag() {
    let bash = run(&["completions", "bash"]);
    let zsh = run(&["completions", "zsh"]);
    let fish = run(&["completions", "fish"]);
    for (shell, script) in [("bash", &bash), ("zsh", &zsh), ("fish", &fish)] {
        for word in [
            "watch",
            "scan",
            "hud",
            "completions",
            "alertmanager",
            "alert-label",
            "alert-resolve-after",
            "metrics-addr",
            "webhook-header",
        ] {
            assert!(script.contains(word), "{shell}: {word}");
        }
    }
    assert!(zsh.starts_with("#compdef trace-sentinel"));
    // The bash script parses, and completes commands and flags.
    let tmp = scratch("completion");
    let script = tmp.path().join("trace-sentinel.bash");
    std::fs::write(&script, &bash).unwrap();
    // The function `complete -p` names, called as bash calls it: command, word, previous.
    let probe = format!(
        "source {}\n\
         f=$(complete -p trace-sentinel | sed -E 's/.*-F ([^ ]+).*/\\1/')\n\
         COMP_WORDS=(trace-sentinel wat); COMP_CWORD=1\n\
         \"$f\" trace-sentinel wat trace-sentinel; echo \"${{COMPREPLY[*]}}\"\n\
         COMP_WORDS=(trace-sentinel scan --metr); COMP_CWORD=2\n\
         \"$f\" trace-sentinel --metr scan; echo \"${{COMPREPLY[*]}}\"\n",
        script.display()
    );
    let out = Command::new("bash").arg("-c").arg(probe).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines, ["watch", "--metrics-addr"], "{text}");
    // Unknown shells are refused like any bad value.
    let out = Command::new(BIN)
        .args(["completions", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn man_pages_cover_every_command_and_flag() {
    let main = run(&["man"]);
    assert!(main.contains(".TH trace-sentinel 1"), "{main}");
    for cmd in ["watch", "scan", "hud", "completions", "man"] {
        assert!(
            main.contains(&format!("trace\\-sentinel\\-{cmd}(1)")),
            "{cmd} missing from the main page"
        );
        let page = run(&["man", cmd]);
        assert!(
            page.contains(&format!(".TH trace-sentinel-{cmd} 1")),
            "{cmd}: {page}"
        );
        assert!(page.contains(".SH \"SEE ALSO\""), "{cmd}");
    }
    let watch = run(&["man", "watch"]);
    for flag in ["alertmanager", "alert\\-label", "metrics\\-addr", "follow"] {
        assert!(watch.contains(&format!("\\-\\-{flag}")), "{flag}");
    }
    let out = Command::new(BIN).args(["man", "nope"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("trace-sentinel: error: ") && err.contains("'nope' has no manual page"),
        "{err}"
    );
    // A closed pipe is not an error.
    let mut child = Command::new(BIN)
        .args(["man", "watch"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    assert_eq!(child.wait().unwrap().code(), Some(0));
}
