//! The `trace-sentinel` binary: parse flags, run a command, map errors to exit codes
//! (0 success or a follower stopped by SIGTERM, 2 bad input or flags, 130 interrupted).
//! The commands are thin drivers over the library's engine.

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
use std::io;
use std::process::ExitCode;
use trace_sentinel_core::Error;

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                let _ = e.print();
                return ExitCode::SUCCESS;
            }
            // One line: clap's message (up to its blank line / usage block), joined.
            let rendered = e.render().to_string();
            let message: Vec<&str> = rendered
                .lines()
                .take_while(|l| !l.trim().is_empty() && !l.starts_with("Usage:"))
                .map(str::trim)
                .collect();
            let message = message.join(" ");
            let message = message.strip_prefix("error: ").unwrap_or(&message);
            say!("trace-sentinel: error: {message}");
            return ExitCode::from(2);
        }
    };
    let signals = Signals::install();
    let result = match cli.command {
        cli::Command::Watch(args) => cmd::watch::run(args, &signals),
        cli::Command::Scan(args) => cmd::scan::run(args, &signals),
        cli::Command::Hud(args) => cmd::hud::run(args, &signals),
    };
    match result {
        Ok(Outcome::Done(n)) => {
            say!("done — {n} anomalies surfaced");
            ExitCode::SUCCESS
        }
        Ok(Outcome::Interrupted(n)) => {
            say!("\nstopped — {n} anomalies surfaced");
            ExitCode::from(130)
        }
        Ok(Outcome::Terminated(n)) => {
            say!("\nstopped — {n} anomalies surfaced");
            ExitCode::SUCCESS
        }
        Err(Error::Output(e)) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            say!("trace-sentinel: error: {e}");
            ExitCode::from(2)
        }
    }
}
