//! The `rvshell` binary: parse the command line, set up logging, run.

use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = rvshell::cli::parse();
    let _log_guard = match rvshell::logging::init(&cli.global) {
        Ok(guard) => guard,
        Err(err) => {
            eprintln!("rvshell: {err:#}");
            return ExitCode::from(2);
        }
    };
    rvshell::cmd::run(cli)
}
