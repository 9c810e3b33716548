//! `completions` and `man`: documents generated from the flag definitions themselves, so
//! they cannot drift from `--help`. Packaging runs them at build time
//! (`scripts/build-deb.sh`); they also work on an installed binary.

use super::Outcome;
use crate::cli::{Cli, CompletionsArgs, ManArgs, ShellArg};
use clap::CommandFactory;
use std::io::{self, Write};
use trace_sentinel_core::Error;

/// The binary's name, as completions register it.
const BIN: &str = "trace-sentinel";

/// DESCRIPTION of trace-sentinel(1).
const MAIN_DESCRIPTION: &str = "trace-sentinel reads log lines (plain text or JSON lines) \
and turns each into metrics: message length and token count, numeric attributes, \
inter-arrival time and, with --semantic, the novelty of the message text. Each metric \
of each source keeps an online baseline (z-score, EWMA or MAD); a value is scored \
against it before it updates it, and one more than --threshold sigma away is reported \
as an anomaly with a severity and an explanation.\n\n\
watch reads files or stdin in order, or follows files through rotation with durable \
checkpoints (--follow --state); scan reads them on all cores with the same results; \
hud serves a live dashboard. Anomalies go to stderr or stdout (--format), and can be \
sent to a webhook (--webhook) and to Prometheus Alertmanager (--alertmanager); \
--metrics-addr serves Prometheus metrics. The packaged systemd unit \
trace-sentinel@.service follows one log per instance.";

/// Write `bytes` to stdout; a closed pipe is not an error.
fn print(bytes: &[u8]) -> Result<Outcome, Error> {
    let mut out = io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => Ok(Outcome::Printed),
        Err(e) => Err(Error::Output(e)),
    }
}

/// `trace-sentinel completions SHELL`.
pub fn completions(args: CompletionsArgs) -> Result<Outcome, Error> {
    use clap_complete::Shell;
    let shell = match args.shell {
        ShellArg::Bash => Shell::Bash,
        ShellArg::Zsh => Shell::Zsh,
        ShellArg::Fish => Shell::Fish,
    };
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), BIN, &mut script);
    if shell == Shell::Bash {
        script = fix_bash_states(&script);
    }
    print(&script)
}

/// clap_complete's bash script names the state of a subcommand of a hyphenated binary
/// one way where it sets it (`trace__sentinel__subcmd__watch`) and another in the arms
/// that complete it (`trace__subcmd__sentinel__subcmd__watch`), so nothing after a
/// command would complete (clap-rs/clap#6421). Spell the arms as the state is set.
fn fix_bash_states(script: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(script);
    text.replace("trace__subcmd__sentinel", "trace__sentinel")
        .into_bytes()
}

/// The commands that have a page of their own (every visible one but `help`).
pub fn page_commands() -> Vec<String> {
    let mut cmd = Cli::command();
    cmd.build();
    cmd.get_subcommands()
        .filter(|c| !c.is_hide_set() && c.get_name() != "help")
        .map(|c| c.get_name().to_string())
        .collect()
}

/// `trace-sentinel man [COMMAND]`: the roff source of trace-sentinel(1) or of
/// trace-sentinel-COMMAND(1).
pub fn man(args: ManArgs) -> Result<Outcome, Error> {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    let commands = page_commands();
    let page = match &args.command {
        None => cmd.clone().long_about(MAIN_DESCRIPTION),
        Some(name) => match cmd.find_subcommand(name) {
            Some(sub) if commands.contains(name) => sub.clone(),
            _ => {
                return Err(Error::Config {
                    flag: "COMMAND",
                    reason: format!(
                        "'{name}' has no manual page (one of: {})",
                        commands.join(", ")
                    ),
                })
            }
        },
    };
    let mut roff = Vec::new();
    clap_mangen::Man::new(page)
        .manual("trace-sentinel")
        .render(&mut roff)
        .map_err(Error::Output)?;
    let see_also: Vec<String> = commands
        .iter()
        .filter(|c| Some(*c) != args.command.as_ref())
        .map(|c| format!("{BIN}-{c}"))
        .chain(args.command.is_some().then(|| BIN.to_string()))
        .map(|page| format!(".BR {page} (1)"))
        .collect();
    let extra = format!(
        ".SH \"EXIT STATUS\"\n\
         0 on success (also when stdout is closed early, and for a \\fB--follow\\fR run or \
         the HUD stopped by SIGTERM); 2 for bad flags or values, an unusable input, \
         snapshot or address, or a failed write, with one line \
         \\fBtrace-sentinel: error: ...\\fR on stderr; 130 when stopped by SIGINT.\n\
         .SH FILES\n\
         .TP\n\
         .I /usr/lib/systemd/system/trace-sentinel@.service\n\
         systemd template unit following the log named by the instance \
         (\\fBsystemd-escape --path\\fR), with its state in \
         \\fI/var/lib/trace-sentinel/INSTANCE\\fR.\n\
         .TP\n\
         .I /etc/default/trace-sentinel\n\
         flags the unit passes to every instance (TRACE_SENTINEL_ARGS).\n\
         .SH \"SEE ALSO\"\n{}\n\
         .PP\n\
         The full documentation: /usr/share/doc/trace-sentinel/ (cli.md, production.md).\n",
        see_also.join(",\n")
    );
    roff.extend_from_slice(extra.as_bytes());
    print(&roff)
}
