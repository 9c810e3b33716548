//! The `trace-sentinel` command line as a library: parse flags, run a command, map errors
//! to exit codes (0 success or a follower stopped by SIGTERM, 2 bad input or flags, 130
//! interrupted). The commands are thin drivers over the library's engine. `src/main.rs`
//! is [`run`] over the process's arguments; the Python package's `trace-sentinel`
//! console script calls [`run`] with its own `sys.argv`. Nothing else belongs here: the
//! engine is `trace-sentinel-core`.

/// `eprintln!` that never panics: a closed or full stderr must not crash a run.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

mod cli;
mod cmd;
mod signals;

use clap::Parser;
use cmd::Outcome;
use signals::Signals;
use std::ffi::OsString;
use std::io;
use std::process::ExitCode;
use trace_sentinel_core::Error;

/// Run the command line `args` (the program name first, as in `std::env::args_os`) and
/// return the exit code. Installs the SIGINT/SIGTERM handlers (module `signals`) once a
/// command starts.
pub fn run<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    ExitCode::from(exit_status(args))
}

/// [`run`], with the exit status as a number: 0 success (or a follower stopped by
/// SIGTERM), 2 bad input or flags, 130 interrupted.
pub fn exit_status<I, T>(args: I) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let cli = match cli::Cli::try_parse_from(&args) {
        Ok(c) => c,
        Err(e) => {
            use clap::error::ErrorKind;
            match e.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
                    let _ = e.print();
                    return 0;
                }
                // No subcommand: the usage and the list of commands, on stderr.
                ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                    let _ = e.print();
                }
                _ => say!(
                    "trace-sentinel: error: {}",
                    one_line(&e.render().to_string(), &typed_command(&args))
                ),
            }
            return 2;
        }
    };
    let command = cli.command.name();
    let signals = Signals::install();
    let result = match cli.command {
        cli::Command::Watch(args) => cmd::watch::run(args, &signals),
        cli::Command::Scan(args) => cmd::scan::run(args, &signals),
        cli::Command::Hud(args) => cmd::hud::run(args, &signals),
        cli::Command::Completions(args) => cmd::docs::completions(args),
        cli::Command::Man(args) => cmd::docs::man(args),
        cli::Command::Ship(args) => cmd::nats::ship::run(args, &signals),
        cli::Command::Worker(args) => cmd::nats::worker::run(args, &signals),
        cli::Command::TailAnomalies(args) => cmd::nats::tail::run(args, &signals),
    };
    match result {
        Ok(Outcome::Done(n)) => {
            say!("done — {}", surfaced(n));
            0
        }
        Ok(Outcome::Interrupted(n)) => {
            say!("\nstopped — {}", surfaced(n));
            130
        }
        Ok(Outcome::Terminated(n)) => {
            say!("\nstopped — {}", surfaced(n));
            0
        }
        Ok(Outcome::Printed) => 0,
        Ok(Outcome::Summary { line, code }) => {
            say!("{line}");
            code
        }
        Ok(Outcome::Failed(n)) => {
            say!("done — {}", surfaced(n));
            2
        }
        Err(Error::Output(e)) if e.kind() == io::ErrorKind::BrokenPipe => 0,
        // A bad flag value gets the same hint as clap's own errors.
        Err(e @ Error::Config { flag, .. }) if flag.starts_with('-') => {
            say!(
                "trace-sentinel: error: {e}; {}",
                help_hint(&format!("trace-sentinel {command}"))
            );
            2
        }
        Err(e) => {
            say!("trace-sentinel: error: {e}");
            2
        }
    }
}

/// The end of the summary line: `1 anomaly surfaced`, `N anomalies surfaced`.
fn surfaced(n: u64) -> String {
    if n == 1 {
        "1 anomaly surfaced".to_string()
    } else {
        format!("{n} anomalies surfaced")
    }
}

/// The hint every flag error ends with.
fn help_hint(command: &str) -> String {
    format!("see '{command} --help'")
}

/// `trace-sentinel` and the subcommand typed first, if it is one.
fn typed_command(args: &[OsString]) -> String {
    let sub = args.get(1).and_then(|a| a.to_str()).filter(|a| {
        use clap::CommandFactory;
        cli::Cli::command()
            .get_subcommands()
            .any(|c| c.get_name() == *a)
    });
    match sub {
        Some(sub) => format!("trace-sentinel {sub}"),
        None => "trace-sentinel".to_string(),
    }
}

/// A clap error as one line: its message, its tips in parentheses, and where clap offers
/// help, the hint to the `--help` of the command that failed — the one in clap's usage
/// line, else `command` (`unexpected argument '--folow' found (tip: a similar argument
/// exists: '--follow'); see 'trace-sentinel watch --help'`).
fn one_line(rendered: &str, command: &str) -> String {
    let mut message: Vec<&str> = Vec::new();
    let mut tips: Vec<&str> = Vec::new();
    let command_typed = command;
    let mut command = None;
    let mut hint = false;
    let mut in_message = true;
    for line in rendered.lines().map(str::trim) {
        if line.is_empty() {
            in_message = false;
        } else if let Some(tip) = line.strip_prefix("tip: ") {
            tips.push(tip);
        } else if let Some(usage) = line.strip_prefix("Usage: ") {
            // `trace-sentinel watch [OPTIONS] <PATH>...`: the words before the first
            // argument or option.
            let words: Vec<&str> = usage
                .split_whitespace()
                .take_while(|w| !w.starts_with(['[', '<', '-']))
                .collect();
            command = Some(words.join(" "));
        } else if line.starts_with("For more information, try '--help'") {
            hint = true;
        } else if in_message {
            message.push(line);
        }
    }
    let message = message.join(" ");
    let mut out = message
        .strip_prefix("error: ")
        .unwrap_or(&message)
        .to_string();
    for tip in tips {
        out.push_str(&format!(" (tip: {tip})"));
    }
    if hint {
        let command = command.unwrap_or_else(|| command_typed.to_string());
        out.push_str(&format!("; {}", help_hint(&command)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{one_line, surfaced};

    #[test]
    fn one_anomaly_is_singular() {
        assert_eq!(surfaced(0), "0 anomalies surfaced");
        assert_eq!(surfaced(1), "1 anomaly surfaced");
        assert_eq!(surfaced(2), "2 anomalies surfaced");
    }

    #[test]
    fn clap_errors_become_one_line_with_the_help_hint() {
        let cases = [
            (
                "error: unexpected argument '--folow' found\n\n  tip: a similar argument exists: '--follow'\n\nUsage: trace-sentinel watch --follow <PATH>...\n\nFor more information, try '--help'.\n",
                "unexpected argument '--folow' found (tip: a similar argument exists: '--follow'); see 'trace-sentinel watch --help'",
            ),
            (
                "error: unrecognized subcommand 'frob'\n\nUsage: trace-sentinel <COMMAND>\n\nFor more information, try '--help'.\n",
                "unrecognized subcommand 'frob'; see 'trace-sentinel --help'",
            ),
            (
                "error: invalid value 'x' for '--progress <PROGRESS>'\n  [possible values: auto, always, never]\n",
                "invalid value 'x' for '--progress <PROGRESS>' [possible values: auto, always, never]",
            ),
            (
                "error: invalid value 'x' for '--progress <PROGRESS>'\n  [possible values: auto, always, never]\n\nFor more information, try '--help'.\n",
                "invalid value 'x' for '--progress <PROGRESS>' [possible values: auto, always, never]; see 'trace-sentinel --help'",
            ),
            ("", ""),
        ];
        for (rendered, want) in cases {
            assert_eq!(one_line(rendered, "trace-sentinel"), want, "{rendered:?}");
        }
    }
}
