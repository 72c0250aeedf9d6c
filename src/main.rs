//! The `rvshell` binary: parse the command line, set up logging, run.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = rvshell::cli::Cli::parse();
    let _log_guard = match rvshell::logging::init(&cli.global) {
        Ok(guard) => guard,
        Err(err) => {
            eprintln!("rvshell: {err:#}");
            return ExitCode::from(2);
        }
    };
    rvshell::cmd::run(cli)
}
