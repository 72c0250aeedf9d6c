//! The command line: assembles the subcommands, settles their options, and
//! runs what was asked.
//!
//! `rvshell [NAME [HOST [PORT]]]` stays compatible with RV's Qt example
//! `rvshell <name> <host> [port]` and opens the interactive shell; everything
//! else is a subcommand meant for scripts. Each subcommand's arguments live
//! next to its code in [`crate::cmd`]; the option groups they share are in
//! [`crate::options`].
//!
//! Exit codes: 0 success, 1 the peer answered with an error (an `ERROR:`
//! RETURN, a failed olad request), 2 we could not talk to the peer at all
//! (refused, timed out, bad arguments).

use crate::cmd::shell::{DemoArgs, ShellArgs};
use crate::cmd::{cue, dmx, man, push, rv, shell, sim, watch};
use crate::config::FileConfig;
use crate::options::{Levels, LogArgs, typed};
use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser, Subcommand};
use std::process::ExitCode;

/// Remote-control RV over its network protocol, and drive DMX universes through OLA.
#[derive(Debug, Parser)]
#[command(name = "rvshell", version, about)]
pub struct Cli {
    #[command(flatten)]
    pub shell: ShellArgs,

    #[command(flatten)]
    pub log: LogArgs,

    /// History size from the config file or RVSHELL_HISTORY_SIZE (no flag).
    #[arg(skip)]
    pub history_size: Option<usize>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The one-shot subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Evaluate Mu (or Python with --py) in RV and print the RETURN.
    Eval(rv::EvalArgs),
    /// Send an EVENT (or a RETURNEVENT with --return) to RV.
    Event(rv::EventArgs),
    /// Measure PING/PONG round trips to RV.
    Ping(rv::PingArgs),
    /// Print RV's events as they happen (frame, play/stop, range, sources), one per line.
    Watch(watch::WatchArgs),
    /// Push an image to RV as a new stereo source (left: the image, right: its inverse).
    Push(push::PushArgs),
    /// Run the built-in RV simulator (prints `listening on ADDR:PORT` first).
    Sim(sim::SimArgs),
    /// Send DMX to universes through OLA's olad.
    Dmx(dmx::DmxArgs),
    /// Let RV's playback drive DMX scenes with fades, from a show file.
    Cue(cue::CueArgs),
    /// Open the interactive shell against a built-in RV simulator.
    Demo(DemoArgs),
    /// Print the man page (or write one per command with --dir).
    Man(man::ManArgs),
    /// Print shell completions.
    Completions {
        /// The shell to generate completions for.
        shell: clap_complete::Shell,
    },
}

/// Why the command line cannot be used (beyond what clap itself refuses).
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(
        "{option} was typed before `{command}`, which does not take it; \
         see `rvshell {command} --help`"
    )]
    NotTaken { option: String, command: String },
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
}

impl Cli {
    /// Parses `args` (the first is the program name) and settles every
    /// option: see [`crate::options`] for the order in which the levels of
    /// the command line, the environment and `file` apply.
    pub fn parse_with(
        args: impl IntoIterator<Item = impl Into<std::ffi::OsString> + Clone>,
        file: &FileConfig,
    ) -> Result<Cli, ParseError> {
        let matches = Cli::command()
            .try_get_matches_from(args)
            .map_err(ParseError::Clap)?;
        let mut cli = Cli::from_arg_matches(&matches).map_err(ParseError::Clap)?;
        cli.settle(&matches, file).map_err(ParseError::Cli)?;
        Ok(cli)
    }

    fn settle(&mut self, matches: &ArgMatches, file: &FileConfig) -> Result<(), CliError> {
        if matches!(self.command, Some(Command::Completions { .. })) {
            return Ok(());
        }
        let top = Levels::top(matches);
        self.shell.rv.merge(None, top, file);
        self.shell.olad.merge(None, top, file);
        if self.shell.show.show.is_none() {
            self.shell.show.show = file.show.clone();
        }
        self.history_size = file.history_size()?;
        let Some((name, sub)) = matches.subcommand() else {
            return Ok(());
        };
        refuse_untaken(matches, name)?;
        let levels = Levels {
            own: sub,
            parent: Some(matches),
        };
        let (rv_top, olad_top, show_top) = (&self.shell.rv, &self.shell.olad, &self.shell.show);
        match &mut self.command {
            Some(Command::Eval(args)) => args.rv.merge(Some(rv_top), levels, file),
            Some(Command::Event(args)) => args.rv.merge(Some(rv_top), levels, file),
            Some(Command::Ping(args)) => args.rv.merge(Some(rv_top), levels, file),
            Some(Command::Push(args)) => args.rv.merge(Some(rv_top), levels, file),
            Some(Command::Watch(args)) => args.rv.merge(Some(rv_top), levels, file),
            Some(Command::Sim(args)) => args.port.merge(Some(&rv_top.port), levels, file),
            Some(Command::Dmx(args)) => {
                args.olad.merge(Some(olad_top), levels, file);
                args.timeout.merge(Some(&rv_top.timeout), levels);
            }
            Some(Command::Cue(args)) => args.settle(rv_top, olad_top, sub, matches, file),
            Some(Command::Demo(args)) => {
                if args.show.show.is_none() {
                    // Typed before `demo`, else the config file's.
                    args.show.show = show_top.show.clone();
                }
                args.session.merge(Some(&rv_top.session), levels, file);
                args.timeout.merge(Some(&rv_top.timeout), levels);
                args.olad.merge(Some(olad_top), levels, file);
            }
            Some(Command::Completions { .. } | Command::Man(_)) | None => {}
        }
        Ok(())
    }

    /// Runs what the command line asks for and returns the process exit code.
    pub fn run(self) -> ExitCode {
        match self.command {
            Some(Command::Eval(args)) => rv::eval(args),
            Some(Command::Event(args)) => rv::event(args),
            Some(Command::Ping(args)) => rv::ping(args),
            Some(Command::Push(args)) => push::run(args),
            Some(Command::Watch(args)) => watch::run(args),
            Some(Command::Sim(args)) => sim::run(args),
            Some(Command::Dmx(args)) => dmx::run(args),
            Some(Command::Cue(args)) => cue::run(args),
            Some(Command::Completions { shell }) => {
                let mut script = Vec::new();
                clap_complete::generate(shell, &mut Cli::command(), "rvshell", &mut script);
                crate::cmd::out(&String::from_utf8_lossy(&script));
                ExitCode::SUCCESS
            }
            Some(Command::Man(args)) => man::run(args, Cli::command()),
            Some(Command::Demo(args)) => shell::demo(&args, self.history_size),
            None => shell::run(&self.shell, self.history_size),
        }
    }
}

/// An option the shell takes, typed before a subcommand that does not take
/// it (`rvshell --olad X eval ...`), is refused rather than ignored.
fn refuse_untaken(matches: &ArgMatches, name: &str) -> Result<(), CliError> {
    let top = Cli::command();
    let Some(sub) = top.find_subcommand(name) else {
        return Ok(());
    };
    // What the subcommand takes, down to the nested subcommand typed
    // (`cue run` takes RV's options, `cue check` none).
    let mut taken: Vec<&clap::Id> = sub.get_arguments().map(|a| a.get_id()).collect();
    let (mut level, mut typed_at) = (sub, matches.subcommand().map(|(_, m)| m));
    while let Some((nested, below)) = typed_at.and_then(ArgMatches::subcommand) {
        let Some(next) = level.find_subcommand(nested) else {
            break;
        };
        taken.extend(next.get_arguments().map(|a| a.get_id()));
        (level, typed_at) = (next, Some(below));
    }
    for arg in top.get_arguments() {
        let id = arg.get_id().as_str();
        if arg.is_positional() || arg.is_global_set() || !typed(matches, id) {
            continue;
        }
        if !taken.contains(&arg.get_id()) {
            let option = arg
                .get_long()
                .map_or_else(|| id.to_owned(), |long| format!("--{long}"));
            return Err(CliError::NotTaken {
                option,
                command: name.to_owned(),
            });
        }
    }
    Ok(())
}

/// Why [`Cli::parse_with`] failed.
#[derive(Debug)]
pub enum ParseError {
    /// Refused by clap (its own message, usage and exit code).
    Clap(clap::Error),
    /// Parsed, but the options cannot be settled.
    Cli(CliError),
}

/// Parses the process's command line and fills in the config file's
/// defaults (see [`crate::config`]); exits with a message on bad arguments
/// or a bad file. `completions` reads no config: it needs none, and must
/// work even while the file is broken.
pub fn parse() -> Cli {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let first = Cli::try_parse_from(&args).unwrap_or_else(|err| err.exit());
    let file = if matches!(first.command, Some(Command::Completions { .. })) {
        Ok(FileConfig::default())
    } else {
        crate::config::load()
    };
    let parsed = file
        .map_err(|err| ParseError::Cli(err.into()))
        .and_then(|file| Cli::parse_with(&args, &file));
    match parsed {
        Ok(cli) => cli,
        Err(ParseError::Clap(err)) => err.exit(),
        Err(ParseError::Cli(err)) => {
            eprintln!("rvshell: {err}");
            std::process::exit(2);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn parsed(args: &[&str], file: &FileConfig) -> Cli {
        let mut all = vec!["rvshell"];
        all.extend_from_slice(args);
        match Cli::parse_with(all, file) {
            Ok(cli) => cli,
            Err(ParseError::Clap(err)) => panic!("{args:?}: {err}"),
            Err(ParseError::Cli(err)) => panic!("{args:?}: {err}"),
        }
    }

    fn eval_port(args: &[&str], file: &FileConfig) -> Option<u16> {
        match parsed(args, file).command {
            Some(Command::Eval(eval)) => eval.rv.port.port,
            other => panic!("{other:?}"),
        }
    }

    fn no_env(var: &str) -> bool {
        std::env::var_os(var).is_none()
    }

    /// What is typed wins at either level, the subcommand's own copy first
    /// (RVSHELL_PORT and the file only fill in, which tests/tui_config.rs
    /// checks against the real binary).
    #[test]
    fn the_port_typed_after_the_subcommand_wins_then_before_then_the_file() {
        let file = FileConfig {
            port: Some(9),
            ..FileConfig::default()
        };
        assert_eq!(eval_port(&["--port", "5", "eval", "x"], &file), Some(5));
        assert_eq!(eval_port(&["eval", "--port", "6", "x"], &file), Some(6));
        assert_eq!(
            eval_port(&["--port", "5", "eval", "--port", "6", "x"], &file),
            Some(6)
        );
        if no_env("RVSHELL_PORT") {
            assert_eq!(eval_port(&["eval", "x"], &file), Some(9));
            assert_eq!(eval_port(&["eval", "x"], &FileConfig::default()), None);
        }
    }

    #[test]
    fn the_shells_positional_port_wins_over_its_option() {
        let cli = parsed(&["jdoe", "h", "7", "--port", "5"], &FileConfig::default());
        assert_eq!(cli.shell.port_pos, Some(7));
        assert_eq!(cli.shell.rv.port.port, Some(5));
        assert_eq!(cli.shell.host_pos.as_deref(), Some("h"));
    }

    #[test]
    fn options_typed_before_the_subcommand_apply_to_it() {
        let file = FileConfig::default();
        let cli = parsed(
            &["--host", "h", "--contact", "me", "--timeout", "2", "ping"],
            &file,
        );
        let Some(Command::Ping(ping)) = cli.command else {
            panic!()
        };
        assert_eq!(ping.rv.host, "h");
        assert_eq!(ping.rv.session.contact.as_deref(), Some("me"));
        assert_eq!(ping.rv.timeout.timeout, Duration::from_secs(2));
        for args in [
            &["--olad", "a:1", "dmx", "get", "-u", "1"][..],
            &["dmx", "--olad", "a:1", "get", "-u", "1"],
            &["dmx", "get", "--olad", "a:1", "-u", "1"],
            &["--olad", "b:2", "dmx", "get", "--olad", "a:1", "-u", "1"],
        ] {
            let Some(Command::Dmx(dmx)) = parsed(args, &file).command else {
                panic!()
            };
            assert_eq!(dmx.olad.olad, "a:1", "{args:?}");
        }
        let Some(Command::Dmx(dmx)) =
            parsed(&["--timeout", "3", "dmx", "universes"], &file).command
        else {
            panic!()
        };
        assert_eq!(dmx.timeout.timeout, Duration::from_secs(3));
    }

    #[test]
    fn options_typed_before_cue_apply_to_its_subcommand() {
        let file = FileConfig::default();
        let cli = parsed(
            &["--olad", "a:1", "--port", "7", "cue", "run", "s.toml"],
            &file,
        );
        let Some(Command::Cue(cue)) = cli.command else {
            panic!()
        };
        let cue::CueCommand::Run(run) = cue.command else {
            panic!()
        };
        assert_eq!(run.olad.olad, "a:1");
        assert_eq!(run.rv.port.port, Some(7));
        let cli = parsed(
            &[
                "--timeout",
                "3",
                "cue",
                "fire",
                "s.toml",
                "dim",
                "--olad",
                "b:2",
            ],
            &file,
        );
        let Some(Command::Cue(cue)) = cli.command else {
            panic!()
        };
        let cue::CueCommand::Fire(fire) = cue.command else {
            panic!()
        };
        assert_eq!(fire.olad.olad, "b:2");
        assert_eq!(fire.timeout.timeout, Duration::from_secs(3));
    }

    #[test]
    fn the_config_file_fills_what_nothing_typed_gives() {
        let file = FileConfig {
            host: Some("filehost".into()),
            olad: Some("file:9".into()),
            contact: Some("filecontact".into()),
            ..FileConfig::default()
        };
        if no_env("RVSHELL_HOST") && no_env("RVSHELL_CONTACT") {
            let Some(Command::Eval(eval)) = parsed(&["eval", "x"], &file).command else {
                panic!()
            };
            assert_eq!(eval.rv.host, "filehost");
            assert_eq!(eval.rv.session.contact.as_deref(), Some("filecontact"));
            let Some(Command::Eval(eval)) =
                parsed(&["--host", "typed", "eval", "x"], &file).command
            else {
                panic!()
            };
            assert_eq!(eval.rv.host, "typed");
        }
        if no_env("RVSHELL_OLAD") {
            let Some(Command::Dmx(dmx)) = parsed(&["dmx", "universes"], &file).command else {
                panic!()
            };
            assert_eq!(dmx.olad.olad, "file:9");
        }
    }

    #[test]
    fn an_option_typed_before_a_subcommand_that_does_not_take_it_is_refused() {
        let file = FileConfig::default();
        for (args, option) in [
            (&["--olad", "x:1", "eval", "1"][..], "--olad"),
            (&["--heartbeat", "1", "sim"], "--heartbeat"),
            (&["--contact", "me", "sim"], "--contact"),
            (&["--host", "h", "dmx", "universes"], "--host"),
            (
                &[
                    "--port", "5", "dmx", "patch", "-d", "1", "-p", "3", "-u", "1",
                ],
                "--port",
            ),
            (&["--connect", "a:1", "ping"], "--connect"),
            (&["--olad", "x:1", "cue", "check", "s.toml"], "--olad"),
            (&["--host", "h", "cue", "fire", "s.toml", "a"], "--host"),
        ] {
            let mut all = vec!["rvshell"];
            all.extend_from_slice(args);
            match Cli::parse_with(all, &file) {
                Err(ParseError::Cli(err)) => {
                    let text = err.to_string();
                    assert!(text.starts_with(option), "{args:?}: {text}");
                }
                other => panic!("{args:?}: {other:?}"),
            }
        }
    }

    /// Every subcommand's `--help` lists the options it uses and no other.
    #[test]
    fn each_subcommand_offers_only_the_options_it_uses() {
        const RV: &[&str] = &[
            "--host",
            "--port",
            "--tag",
            "--contact",
            "--heartbeat",
            "--timeout",
        ];
        const OLAD: &[&str] = &["--olad"];
        let cases: &[(&[&str], &[&str], &[&str])] = &[
            (&["eval"], RV, OLAD),
            (&["event"], RV, OLAD),
            (&["ping"], RV, OLAD),
            (&["push"], RV, OLAD),
            (&["watch"], RV, OLAD),
            (
                &["sim"],
                &["--port", "--tag"],
                &["--olad", "--heartbeat", "--contact", "--host", "--timeout"],
            ),
            (
                &["demo"],
                &["--contact", "--heartbeat", "--timeout", "--olad"],
                &["--host", "--port", "--tag"],
            ),
            (
                &["dmx"],
                &["--olad", "--timeout"],
                &["--host", "--port", "--tag", "--contact", "--heartbeat"],
            ),
            (
                &["dmx", "set"],
                &["--olad", "--timeout"],
                &["--host", "--contact", "--heartbeat", "--tag"],
            ),
            (
                &["dmx", "patch"],
                &["--olad", "--timeout", "--port"],
                &["--host", "--contact", "--tag"],
            ),
            (
                &["cue", "check"],
                &[],
                &["--host", "--port", "--olad", "--timeout"],
            ),
            (&["cue", "run"], &[RV, OLAD].concat(), &[]),
            (
                &["cue", "fire"],
                &["--olad", "--timeout"],
                &["--host", "--port", "--tag", "--contact", "--heartbeat"],
            ),
            (
                &["completions"],
                &[],
                &["--host", "--port", "--olad", "--timeout", "--contact"],
            ),
            (
                &["man"],
                &["--dir"],
                &["--host", "--port", "--olad", "--timeout", "--contact"],
            ),
        ];
        let mut root = Cli::command();
        root.build();
        for (path, wanted, unwanted) in cases {
            let mut cmd = &mut root;
            for name in *path {
                cmd = cmd.find_subcommand_mut(name).unwrap();
            }
            let longs: Vec<String> = cmd
                .get_arguments()
                .filter(|a| !a.is_hide_set())
                .filter_map(|a| a.get_long().map(|l| format!("--{l}")))
                .collect();
            for option in *wanted {
                assert!(
                    longs.iter().any(|l| l == option),
                    "{path:?} lacks {option}: {longs:?}"
                );
            }
            for option in *unwanted {
                assert!(
                    !longs.iter().any(|l| l == option),
                    "{path:?} offers {option}: {longs:?}"
                );
            }
            let help = cmd.render_long_help().to_string();
            for option in *unwanted {
                assert!(
                    !help.contains(&format!("{option} ")),
                    "{path:?} help shows {option}"
                );
            }
        }
        for top in RV.iter().chain(OLAD).chain(&["--connect"]) {
            assert!(
                root.get_arguments()
                    .any(|a| a.get_long() == Some(&top[2..])),
                "the shell lacks {top}"
            );
        }
    }

    #[test]
    fn time_options_parse_into_durations() {
        let file = FileConfig::default();
        let cli = parsed(&["--timeout", "0.5", "--heartbeat", "2", "ping"], &file);
        let Some(Command::Ping(ping)) = cli.command else {
            panic!()
        };
        assert_eq!(ping.rv.timeout.timeout, Duration::from_millis(500));
        assert_eq!(ping.rv.session.heartbeat, Some(Duration::from_secs(2)));
        let Some(Command::Ping(ping)) = parsed(&["ping"], &file).command else {
            panic!()
        };
        assert_eq!(ping.rv.timeout.timeout, Duration::from_secs(30));
        assert_eq!(ping.rv.session.heartbeat, None);
        match Cli::parse_with(["rvshell", "ping", "--timeout", "1e30"], &file) {
            Err(ParseError::Clap(err)) => {
                assert_eq!(err.kind(), clap::error::ErrorKind::ValueValidation);
                assert_eq!(err.exit_code(), 2);
            }
            other => panic!("{other:?}"),
        }
    }
}
