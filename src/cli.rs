//! Command-line definitions (clap).
//!
//! `rvshell [NAME [HOST [PORT]]]` stays compatible with RV's Qt example
//! `rvshell <name> <host> [port]` and opens the interactive shell; everything
//! else is a subcommand meant for scripts.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// Remote-control RV over its network protocol, and drive DMX universes through OLA.
#[derive(Debug, Parser)]
#[command(name = "rvshell", version, about)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(flatten)]
    pub rv_port: RvPort,

    /// Expected RV contact name (informational; RV's GREETING gives the real one).
    #[arg(value_name = "NAME")]
    pub name: Option<String>,

    /// RV host (same as --host).
    #[arg(value_name = "HOST")]
    pub host_pos: Option<String>,

    /// RV port (same as --port).
    #[arg(value_name = "PORT", conflicts_with = "port")]
    pub port_pos: Option<u16>,

    /// Connect to this RV as well (HOST:PORT); repeat for several RVs. With
    /// --connect the positionals and --host/--port are not used.
    #[arg(long, value_name = "HOST:PORT")]
    pub connect: Vec<String>,

    /// History size from the config file or RVSHELL_HISTORY_SIZE (no flag).
    #[arg(skip)]
    pub history_size: Option<usize>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Parses the command line and fills in the config file's defaults (see
/// [`crate::config`]); exits with a message on bad arguments or a bad file.
pub fn parse() -> Cli {
    use clap::{CommandFactory, FromArgMatches};
    let matches = Cli::command().get_matches();
    let mut cli = Cli::from_arg_matches(&matches).unwrap_or_else(|err| err.exit());
    if let Err(err) = crate::config::load().and_then(|file| file.apply(&mut cli, &matches)) {
        eprintln!("rvshell: {err}");
        std::process::exit(2);
    }
    cli
}

/// RV's port, taken by the interactive shell and by every subcommand that
/// talks to RV (not global: `dmx patch --port` is a device's port).
#[derive(Debug, Args, Clone, Default)]
pub struct RvPort {
    /// RV's port. Default: the port of the one running RV (or simulator) whose
    /// port file matches --tag, else 45124.
    #[arg(long, env = "RVSHELL_PORT")]
    pub port: Option<u16>,
}

impl RvPort {
    /// This port, else `fallback` (the one given before the subcommand).
    pub fn or(&self, fallback: &RvPort) -> Option<u16> {
        self.port.or(fallback.port)
    }
}

/// Options shared by every mode and subcommand.
#[derive(Debug, Args, Clone)]
pub struct GlobalArgs {
    /// Host where RV listens.
    #[arg(long, global = true, env = "RVSHELL_HOST", default_value = "localhost")]
    pub host: String,

    /// Our contact name as RV sees it. Default: `rvshell-<random suffix>`.
    #[arg(long, global = true, env = "RVSHELL_CONTACT")]
    pub contact: Option<String>,

    /// Network tag of the RV to find through its port file (RV's -networkTag).
    #[arg(long, global = true, env = "RVSHELL_TAG", default_value = "")]
    pub tag: String,

    /// Seconds to wait for RV's greeting and each RETURN, and for each olad reply.
    #[arg(long, global = true, value_name = "SECS", default_value_t = 30.0)]
    pub timeout: f64,

    /// Ping RV after SECS of silence and drop the connection after four times
    /// that without a sign of life (default: off, as RV's rvshell; RV itself
    /// then drops a vanished client only after 10 minutes).
    #[arg(long, global = true, value_name = "SECS")]
    pub heartbeat: Option<f64>,

    /// olad's RPC address.
    #[arg(
        long,
        global = true,
        env = "RVSHELL_OLAD",
        default_value = "127.0.0.1:9010"
    )]
    pub olad: String,

    /// Write logs to this file (the terminal belongs to the shell).
    #[arg(long, global = true, value_name = "FILE")]
    pub log_file: Option<PathBuf>,

    /// Log filter, e.g. `info` or `rvshell::rv=debug` (RUST_LOG also works).
    #[arg(long, global = true, value_name = "FILTER")]
    pub log_level: Option<String>,
}

/// The one-shot subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Evaluate Mu (or Python with --py) in RV and print the RETURN.
    Eval(crate::cmd::rv::EvalArgs),
    /// Send an EVENT (or a RETURNEVENT with --return) to RV.
    Event(crate::cmd::rv::EventArgs),
    /// Measure PING/PONG round trips to RV.
    Ping(crate::cmd::rv::PingArgs),
    /// Push an image to RV as a new stereo source (left: the image, right: its inverse).
    Push(crate::cmd::push::PushArgs),
    /// Run the built-in RV simulator (prints `listening on ADDR:PORT` first).
    Sim(crate::cmd::sim::SimArgs),
    /// Send DMX to universes through OLA's olad.
    Dmx(crate::cmd::dmx::DmxArgs),
    /// Open the interactive shell against a built-in RV simulator.
    Demo,
    /// Print shell completions.
    Completions {
        /// The shell to generate completions for.
        shell: clap_complete::Shell,
    },
}
