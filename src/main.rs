//! The `trace-sentinel` binary: the command line of `src/lib.rs` over the process's
//! arguments. Everything it does lives in [`trace_sentinel_cli::run`].

fn main() -> std::process::ExitCode {
    trace_sentinel_cli::run(std::env::args_os())
}
