//! Command-line definitions (clap).
//!
//! `rvshell [NAME [HOST [PORT]]]` stays compatible with RV's Qt example
//! `rvshell <name> <host> [port]` and opens the interactive shell; everything
//! else is a subcommand meant for scripts.

use clap::{Args, Parser, Subcommand};
use std::ffi::OsStr;
use std::path::PathBuf;
use std::time::Duration;

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

    /// RV port (same as --port; wins over --port and RVSHELL_PORT).
    #[arg(value_name = "PORT")]
    pub port_pos: Option<u16>,

    /// Connect to this RV as well (HOST:PORT); repeat for several RVs. With
    /// --connect the positionals and --host/--port are not used.
    #[arg(long, value_name = "HOST:PORT")]
    pub connect: Vec<String>,

    /// History size from the config file or RVSHELL_HISTORY_SIZE (no flag).
    #[arg(skip)]
    pub history_size: Option<usize>,

    /// RV's port for the shell and every subcommand, as [`parse`] resolved
    /// it (see [`Cli::resolve_port`]); `None`: discover it, else 45124.
    #[arg(skip)]
    pub resolved_port: Option<u16>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

impl Cli {
    /// Sets [`Cli::resolved_port`] from what `matches` (this command line's)
    /// say, else the config file's `port`. Highest first: `--port` after the
    /// subcommand, the positional PORT, `--port` before the subcommand (all
    /// typed on the command line), then RVSHELL_PORT, then `file`.
    ///
    /// RVSHELL_PORT fills `--port` at both levels, so the values alone cannot
    /// tell a typed port from the environment's; clap's value source can.
    pub fn resolve_port(&mut self, matches: &clap::ArgMatches, file: Option<u16>) {
        use clap::parser::ValueSource;
        let sub = matches.subcommand().map(|(_, sub)| sub);
        let at = |level: Option<&clap::ArgMatches>, source: ValueSource| {
            let level = level?;
            match level.try_get_one::<u16>("port") {
                Ok(Some(port)) if level.value_source("port") == Some(source) => Some(*port),
                _ => None,
            }
        };
        self.resolved_port = at(sub, ValueSource::CommandLine)
            .or(self.port_pos)
            .or_else(|| at(Some(matches), ValueSource::CommandLine))
            .or_else(|| at(sub, ValueSource::EnvVariable))
            .or_else(|| at(Some(matches), ValueSource::EnvVariable))
            .or(file);
    }
}

/// Parses the command line and fills in the config file's defaults (see
/// [`crate::config`]); exits with a message on bad arguments or a bad file.
/// `completions` reads no config: it needs none, and must work even while
/// the file is broken.
pub fn parse() -> Cli {
    use clap::{CommandFactory, FromArgMatches};
    let matches = Cli::command().get_matches();
    let mut cli = Cli::from_arg_matches(&matches).unwrap_or_else(|err| err.exit());
    if matches!(cli.command, Some(Command::Completions { .. })) {
        return cli;
    }
    if let Err(err) = crate::config::load().and_then(|file| file.apply(&mut cli, &matches)) {
        eprintln!("rvshell: {err}");
        std::process::exit(2);
    }
    cli
}

/// RV's port, taken by the interactive shell and by every subcommand that
/// talks to RV (not global: `dmx patch --port` is a device's port). Read the
/// port from [`Cli::resolved_port`], which weighs every copy of this option.
#[derive(Debug, Args, Clone, Default)]
pub struct RvPort {
    /// RV's port. Default: the port of the one running RV (or simulator) whose
    /// port file matches --tag, else 45124.
    #[arg(long, env = "RVSHELL_PORT")]
    pub port: Option<u16>,
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
    #[arg(
        long,
        global = true,
        value_name = "SECS",
        default_value = "30",
        value_parser = Seconds
    )]
    pub timeout: Duration,

    /// Ping RV after SECS of silence and drop the connection after four times
    /// that without a sign of life (default: off, as RV's rvshell; RV itself
    /// then drops a vanished client only after 10 minutes).
    #[arg(long, global = true, value_name = "SECS", value_parser = Seconds)]
    pub heartbeat: Option<Duration>,

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

/// The longest time option accepted, in seconds (about 31 years): far beyond
/// any real wait, and small enough that a deadline that far ahead (even four
/// heartbeats) never overflows the clock.
pub const MAX_SECS: u64 = 1_000_000_000;

/// Parses a time option (`--timeout`, `--heartbeat`, `sim --ping-interval`,
/// ...) given in seconds, e.g. `30`, `0.25` or `1e-3`, into a [`Duration`].
///
/// Refused: anything but a positive number, a value that rounds to zero
/// nanoseconds, and more than [`MAX_SECS`]. The message names the option and
/// clap exits with code 2, as for any bad argument.
#[derive(Debug, Clone, Copy, Default)]
pub struct Seconds;

impl Seconds {
    /// The value of `text`, or why it is refused (the sentence after the
    /// option's name).
    pub fn parse(text: &str) -> Result<Duration, String> {
        let secs: f64 = match text.trim().parse() {
            Ok(secs) if f64::is_finite(secs) && secs > 0.0 => secs,
            _ => {
                return Err(format!(
                    "must be a positive number of seconds, not {text:?}"
                ));
            }
        };
        if secs > MAX_SECS as f64 {
            return Err(format!(
                "must be at most {MAX_SECS} seconds (about 31 years), not {text:?}"
            ));
        }
        match Duration::try_from_secs_f64(secs) {
            Ok(duration) if !duration.is_zero() => Ok(duration),
            _ => Err(format!(
                "must be at least one nanosecond (1e-9 seconds), not {text:?}"
            )),
        }
    }
}

impl clap::builder::TypedValueParser for Seconds {
    type Value = Duration;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<Duration, clap::Error> {
        let name = arg
            .and_then(|arg| arg.get_long())
            .map_or_else(|| "the value".to_owned(), |long| format!("--{long}"));
        Self::parse(&value.to_string_lossy()).map_err(|why| {
            clap::Error::raw(
                clap::error::ErrorKind::ValueValidation,
                format!("{name} {why}\n"),
            )
            .with_cmd(cmd)
        })
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_accept_positive_times_in_range() {
        assert_eq!(Seconds::parse("30"), Ok(Duration::from_secs(30)));
        assert_eq!(Seconds::parse("0.25"), Ok(Duration::from_millis(250)));
        assert_eq!(Seconds::parse("1e-9"), Ok(Duration::from_nanos(1)));
        assert_eq!(Seconds::parse("1e9"), Ok(Duration::from_secs(MAX_SECS)));
    }

    #[test]
    fn seconds_refuse_what_is_not_a_usable_time() {
        for text in [
            "0", "-1", "nan", "inf", "-inf", "", "soon", "1e-10", "1e30", "1e9.5",
        ] {
            assert!(Seconds::parse(text).is_err(), "{text:?}");
        }
        let err = Seconds::parse("1e-10").unwrap_err();
        assert!(err.contains("at least one nanosecond"), "{err}");
        let err = Seconds::parse("1e30").unwrap_err();
        assert!(err.contains("at most 1000000000 seconds"), "{err}");
    }

    #[test]
    fn the_longest_time_fits_four_heartbeats_ahead_of_now() {
        let longest = Duration::from_secs(MAX_SECS).checked_mul(4).unwrap();
        assert!(std::time::Instant::now().checked_add(longest).is_some());
        assert!(tokio::time::Instant::now().checked_add(longest).is_some());
    }

    fn resolved(args: &[&str], file: Option<u16>) -> Option<u16> {
        use clap::{CommandFactory, FromArgMatches};
        let matches = Cli::command().try_get_matches_from(args).unwrap();
        let mut cli = Cli::from_arg_matches(&matches).unwrap();
        cli.resolve_port(&matches, file);
        cli.resolved_port
    }

    /// What is typed wins at either level (RVSHELL_PORT and the file only
    /// fill in, which tests/tui_config.rs checks against the real binary).
    #[test]
    fn the_port_typed_after_the_subcommand_wins_then_the_positional_then_before() {
        let file = Some(9);
        assert_eq!(
            resolved(&["rvshell", "--port", "5", "eval", "x"], file),
            Some(5)
        );
        assert_eq!(
            resolved(&["rvshell", "eval", "--port", "6", "x"], file),
            Some(6)
        );
        assert_eq!(
            resolved(
                &["rvshell", "--port", "5", "eval", "--port", "6", "x"],
                file
            ),
            Some(6)
        );
        assert_eq!(
            resolved(&["rvshell", "jdoe", "h", "7", "--port", "5"], file),
            Some(7)
        );
        assert_eq!(
            resolved(&["rvshell", "--port", "5", "dmx", "universes"], file),
            Some(5)
        );
        assert_eq!(
            resolved(
                &[
                    "rvshell", "--port", "5", "dmx", "patch", "-d", "1", "-p", "3", "-u", "1"
                ],
                file
            ),
            Some(5)
        );
        if std::env::var_os("RVSHELL_PORT").is_none() {
            assert_eq!(resolved(&["rvshell", "eval", "x"], file), file);
            assert_eq!(resolved(&["rvshell", "completions", "bash"], None), None);
        }
    }

    #[test]
    fn time_options_parse_into_durations() {
        use clap::Parser;
        let cli = Cli::try_parse_from(["rvshell", "--timeout", "0.5", "--heartbeat", "2", "ping"])
            .unwrap();
        assert_eq!(cli.global.timeout, Duration::from_millis(500));
        assert_eq!(cli.global.heartbeat, Some(Duration::from_secs(2)));
        let cli = Cli::try_parse_from(["rvshell", "ping"]).unwrap();
        assert_eq!(cli.global.timeout, Duration::from_secs(30));
        assert_eq!(cli.global.heartbeat, None);
        let err = Cli::try_parse_from(["rvshell", "ping", "--timeout", "1e30"]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::ValueValidation);
        assert_eq!(err.exit_code(), 2);
    }
}
