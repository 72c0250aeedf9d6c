//! Option groups that several commands share, as flattened clap arguments.
//!
//! Each command includes only the groups it uses, so its `--help` lists
//! only options it reads:
//!
//! | group | options | taken by |
//! | --- | --- | --- |
//! | [`RvArgs`] (RV connection) | `--host` + [`PortArgs`] + [`RvSessionArgs`] + [`TimeoutArgs`] | the shell, `eval`, `event`, `ping`, `push` |
//! | [`PortArgs`] | `--port --tag` | the above, and `sim` |
//! | [`RvSessionArgs`] | `--contact --heartbeat` | the above, and `demo` |
//! | [`TimeoutArgs`] | `--timeout` | RV and olad commands |
//! | [`OladArgs`] | `--olad` | the shell, `demo`, `dmx` |
//! | [`LogArgs`] | `--log-file --log-level` | every command (global) |
//!
//! An option may also be typed before the subcommand's name (`rvshell --port
//! 5 eval x`), as the shell takes it too; it then applies to the subcommand
//! unless the subcommand's own copy is typed as well. The merge rule, highest
//! first: typed after the subcommand's name, typed before it, the environment
//! (`RVSHELL_*`), the config file ([`crate::config`]), the built-in default.
//! An option typed before a subcommand that does not take it is an error
//! (see `cli::parse`), never silently ignored.

use crate::config::FileConfig;
use crate::rv::client::{Config, Heartbeat};
use crate::rv::discover::{self, PortChoice};
use clap::parser::ValueSource;
use clap::{ArgMatches, Args};
use std::ffi::OsStr;
use std::path::PathBuf;
use std::time::Duration;

/// Where RV is, and how we talk to it.
#[derive(Debug, Args, Clone)]
#[command(next_help_heading = "RV connection")]
pub struct RvArgs {
    /// Host where RV listens.
    #[arg(long, env = "RVSHELL_HOST", default_value = "localhost")]
    pub host: String,

    #[command(flatten)]
    pub port: PortArgs,

    #[command(flatten)]
    pub session: RvSessionArgs,

    #[command(flatten)]
    pub timeout: TimeoutArgs,
}

/// RV's port, given or found through RV's port file; `rvshell sim` takes
/// the same pair for the port it listens on and the port file it writes.
#[derive(Debug, Args, Clone, Default)]
pub struct PortArgs {
    /// RV's port. Default: the port of the one running RV (or simulator) whose
    /// port file matches --tag, else 45124.
    #[arg(
        long = "port",
        id = "rv_port",
        env = "RVSHELL_PORT",
        value_name = "PORT"
    )]
    pub port: Option<u16>,

    /// Network tag of the RV to find through its port file (RV's -networkTag).
    #[arg(long, env = "RVSHELL_TAG", default_value = "")]
    pub tag: String,
}

/// How we present ourselves to RV and watch the connection.
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "RV connection")]
pub struct RvSessionArgs {
    /// Our contact name as RV sees it. Default: `rvshell-<random suffix>`.
    #[arg(long, env = "RVSHELL_CONTACT")]
    pub contact: Option<String>,

    /// Ping RV after SECS of silence and drop the connection after four times
    /// that without a sign of life (default: off, as RV's rvshell; RV itself
    /// then drops a vanished client only after 10 minutes).
    #[arg(long, value_name = "SECS", value_parser = Seconds)]
    pub heartbeat: Option<Duration>,
}

/// How long to wait for a peer.
#[derive(Debug, Args, Clone)]
pub struct TimeoutArgs {
    /// Seconds to wait for RV's greeting and each RETURN, and for each olad reply.
    #[arg(long, value_name = "SECS", default_value = "30", value_parser = Seconds)]
    pub timeout: Duration,
}

/// Where olad is.
#[derive(Debug, Args, Clone)]
#[command(next_help_heading = "olad")]
pub struct OladArgs {
    /// olad's RPC address.
    #[arg(long, env = "RVSHELL_OLAD", default_value = "127.0.0.1:9010", value_parser = olad_address)]
    pub olad: String,
}

/// `--olad`: `HOST:PORT`, refused as a bad argument (exit 2) before any
/// connection is tried.
fn olad_address(text: &str) -> Result<String, String> {
    let Some((host, port)) = text.rsplit_once(':') else {
        return Err("expected HOST:PORT, e.g. 127.0.0.1:9010".into());
    };
    if host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .is_empty()
    {
        return Err("the host is empty; expected HOST:PORT, e.g. 127.0.0.1:9010".into());
    }
    match port.parse::<u16>() {
        Ok(port) if port > 0 => Ok(text.to_owned()),
        _ => Err(format!(
            "{port:?} is not a port number (1..=65535); expected HOST:PORT"
        )),
    }
}

/// Where logs go; every command takes these.
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Logging")]
pub struct LogArgs {
    /// Write logs to this file (the terminal belongs to the shell).
    #[arg(long, global = true, value_name = "FILE")]
    pub log_file: Option<PathBuf>,

    /// Log filter, e.g. `info` or `rvshell::rv=debug` (RUST_LOG also works).
    #[arg(long, global = true, value_name = "FILTER")]
    pub log_level: Option<String>,
}

/// The matches of the command an option group was parsed from, and of the
/// command above it (whose copy of an option applies when typed there only).
#[derive(Clone, Copy)]
pub struct Levels<'a> {
    /// The command the group belongs to.
    pub own: &'a ArgMatches,
    /// The command above it; `None` at the top.
    pub parent: Option<&'a ArgMatches>,
}

impl<'a> Levels<'a> {
    /// The top level: nothing above.
    pub fn top(own: &'a ArgMatches) -> Self {
        Levels { own, parent: None }
    }

    /// Whether `id` was typed on the command line at this level.
    fn typed_here(&self, id: &str) -> bool {
        typed(self.own, id)
    }

    fn typed_above(&self, id: &str) -> bool {
        self.parent.is_some_and(|parent| typed(parent, id))
    }

    fn set_by_env(&self, id: &str) -> bool {
        source(self.own, id) == Some(ValueSource::EnvVariable)
    }

    /// Settles one option: `own` keeps what was typed at its level, else
    /// takes what was typed above (`above`), else keeps the environment's,
    /// else takes the config file's (`file`), else keeps the default.
    pub fn pick<T: Clone>(&self, own: &mut T, above: Option<&T>, id: &str, file: Option<T>) {
        if self.typed_here(id) {
            return;
        }
        if let Some(above) = above
            && self.typed_above(id)
        {
            *own = above.clone();
            return;
        }
        if self.set_by_env(id) {
            return;
        }
        if let Some(file) = file {
            *own = file;
        }
    }
}

fn source(matches: &ArgMatches, id: &str) -> Option<ValueSource> {
    match matches.try_contains_id(id) {
        Ok(true) => matches.value_source(id),
        _ => None,
    }
}

/// Whether `id` was typed on the command line of `matches`' level.
pub fn typed(matches: &ArgMatches, id: &str) -> bool {
    source(matches, id) == Some(ValueSource::CommandLine)
}

impl RvArgs {
    /// Settles every option of the group (see the module docs).
    pub fn merge(&mut self, above: Option<&RvArgs>, levels: Levels, file: &FileConfig) {
        levels.pick(
            &mut self.host,
            above.map(|a| &a.host),
            "host",
            file.host.clone(),
        );
        self.port.merge(above.map(|a| &a.port), levels, file);
        self.session.merge(above.map(|a| &a.session), levels, file);
        self.timeout.merge(above.map(|a| &a.timeout), levels);
    }

    /// What the user should know about how the port was found, when
    /// discovery did not find exactly one RV (see
    /// [`discover::choice_note_in`]).
    pub fn port_note(&self) -> Option<String> {
        discover::choice_note_in(&discover::port_dir(), self.port.port, &self.port.tag)
    }

    /// The connection settings these options describe; without `--port`,
    /// the port of the running RV whose port file matches `--tag`.
    pub fn client_config(&self) -> Config {
        let choice = discover::choose_port(self.port.port, &self.port.tag);
        if let PortChoice::Discovered(file) = &choice {
            tracing::info!(port = file.port, path = %file.path.display(), "found RV through its port file");
        }
        let mut config = Config::new(self.host.clone(), choice.port());
        self.session.apply(&mut config);
        config.request_timeout = self.timeout.timeout;
        config.handshake_timeout = self.timeout.timeout;
        config
    }
}

impl PortArgs {
    /// Settles `--port` and `--tag`.
    pub fn merge(&mut self, above: Option<&PortArgs>, levels: Levels, file: &FileConfig) {
        levels.pick(
            &mut self.port,
            above.map(|a| &a.port),
            "rv_port",
            file.port.map(Some),
        );
        levels.pick(&mut self.tag, above.map(|a| &a.tag), "tag", None);
    }
}

impl RvSessionArgs {
    /// Settles `--contact` and `--heartbeat`.
    pub fn merge(&mut self, above: Option<&RvSessionArgs>, levels: Levels, file: &FileConfig) {
        levels.pick(
            &mut self.contact,
            above.map(|a| &a.contact),
            "contact",
            file.contact.clone().map(Some),
        );
        levels.pick(
            &mut self.heartbeat,
            above.map(|a| &a.heartbeat),
            "heartbeat",
            None,
        );
    }

    /// Puts the contact name and the heartbeat into `config`.
    pub fn apply(&self, config: &mut Config) {
        if let Some(contact) = &self.contact {
            config.contact = contact.clone();
        }
        if let Some(interval) = self.heartbeat {
            // `Seconds` caps the value, so four times it is a valid time.
            let timeout = interval * 4;
            config.heartbeat = Some(Heartbeat { interval, timeout });
        }
    }
}

impl TimeoutArgs {
    /// Settles `--timeout`.
    pub fn merge(&mut self, above: Option<&TimeoutArgs>, levels: Levels) {
        levels.pick(
            &mut self.timeout,
            above.map(|a| &a.timeout),
            "timeout",
            None,
        );
    }
}

impl OladArgs {
    /// Settles `--olad`.
    pub fn merge(&mut self, above: Option<&OladArgs>, levels: Levels, file: &FileConfig) {
        levels.pick(
            &mut self.olad,
            above.map(|a| &a.olad),
            "olad",
            file.olad.clone(),
        );
    }
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

    #[test]
    fn olad_addresses_are_host_and_port() {
        assert_eq!(olad_address("127.0.0.1:9010").unwrap(), "127.0.0.1:9010");
        assert_eq!(olad_address("[::1]:9010").unwrap(), "[::1]:9010");
        assert!(olad_address("nonsense").unwrap_err().contains("HOST:PORT"));
        assert!(olad_address(":9010").unwrap_err().contains("host is empty"));
        assert!(olad_address("host:0").unwrap_err().contains("not a port"));
        assert!(olad_address("host:x").unwrap_err().contains("not a port"));
    }
}
