//! The `rvshell` binary: parse the command line, set up logging, run.

use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = rvshell::cli::parse();
    let tui = matches!(cli.command, None | Some(rvshell::cli::Command::Demo(_)));
    let _log_guard = match rvshell::logging::init(&cli.log, tui) {
        Ok(guard) => guard,
        Err(err) => {
            eprintln!("rvshell: {err:#}");
            return ExitCode::from(2);
        }
    };
    cli.run()
}
