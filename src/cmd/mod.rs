//! The one-shot subcommands, and the dispatcher `main` calls.
//!
//! Exit codes: 0 success, 1 the peer answered with an error (an `ERROR:`
//! RETURN, a failed olad request), 2 we could not talk to the peer at all
//! (refused, timed out, bad arguments).

pub mod dmx;
pub mod push;
pub mod rv;
pub mod sim;

use crate::cli::{Cli, Command};
use clap::CommandFactory;
use std::process::ExitCode;

/// Runs what the command line asks for and returns the process exit code.
pub fn run(cli: Cli) -> ExitCode {
    let port = cli.resolved_port;
    match cli.command {
        Some(Command::Eval(args)) => rv::eval(args, &cli.global, port),
        Some(Command::Event(args)) => rv::event(args, &cli.global, port),
        Some(Command::Ping(args)) => rv::ping(args, &cli.global, port),
        Some(Command::Push(args)) => push::run(args, &cli.global, port),
        Some(Command::Sim(args)) => sim::run(args, &cli.global, port),
        Some(Command::Dmx(args)) => dmx::run(args, &cli.global),
        Some(Command::Completions { shell }) => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "rvshell",
                &mut std::io::stdout(),
            );
            ExitCode::SUCCESS
        }
        Some(Command::Demo) => crate::shell::runner::demo(&cli.global, cli.history_size),
        None => crate::shell::runner::run(&cli),
    }
}
