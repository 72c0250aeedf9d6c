//! `rvshell cue check|run|fire SHOW`: a show file where RV's playback
//! drives DMX scenes with fades (the format: [`crate::cue::show`]).
//!
//! Exit codes: 0 ok (`run`: after Ctrl+C, SIGTERM, SIGHUP or `--count` cues); 1 the
//! show is invalid, or RV or olad answered with an error; 2 RV or olad
//! cannot be reached (or RV is lost for good), or bad arguments.

use crate::clock::LocalTime;
use crate::cmd::watch::stop_signal;
use crate::config::FileConfig;
use crate::cue::link::{self, Link, LinkError, LinkEvent, LinkOptions};
use crate::cue::show::MAX_FADE;
use crate::cue::{DmxOut, Fired, Show, ShowError};
use crate::ola::client::{ClientConfig, OlaClient, OlaError};
use crate::options::{Levels, OladArgs, RvArgs, TimeoutArgs};
use crate::rv::client::{Reconnect, RvClient, SubscribeError};
use clap::{ArgMatches, Args, Subcommand};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Arguments of `rvshell cue`.
#[derive(Debug, Args)]
pub struct CueArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: CueCommand,
}

/// The `cue` subcommands.
#[derive(Debug, Subcommand)]
pub enum CueCommand {
    /// Validate a show file: print a one-line summary, or every error as
    /// SHOW:LINE:COL: message (exit 1).
    Check {
        /// The show file (TOML).
        show: PathBuf,
    },
    /// Run a show: RV's events fire its cues, which fade scenes on olad,
    /// until Ctrl+C, SIGTERM or SIGHUP.
    Run(RunArgs),
    /// Fade a universe to one scene of a show, once (to try a rig by hand).
    Fire(FireArgs),
}

/// Arguments of `rvshell cue run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The show file (TOML).
    pub show: PathBuf,
    /// Do not talk to olad: print each DMX frame that would be sent (its
    /// universe and the channels it changes; frames that change nothing
    /// are not printed). Universes start at zero.
    #[arg(long)]
    pub dry_run: bool,
    /// One JSON object per line: {"armed": {"cues", "universes",
    /// "events"}} first, then {"time", "event", "scene", "universe", "fade",
    /// "cue"} per cue fired ("cue" counts from 1; null for the failsafe),
    /// and with --dry-run {"frame": {"universe", "changed": {"CH": VALUE}}}.
    #[arg(long)]
    pub json: bool,
    /// Stop after this many cues have fired and their fades are done.
    #[arg(long, short = 'c', value_name = "N")]
    pub count: Option<u64>,
    #[command(flatten)]
    pub rv: RvArgs,
    #[command(flatten)]
    pub olad: OladArgs,
}

/// Arguments of `rvshell cue fire`.
#[derive(Debug, Args)]
pub struct FireArgs {
    /// The show file (TOML).
    pub show: PathBuf,
    /// The scene to fade in.
    pub scene: String,
    /// Fade time in seconds (0: a cut).
    #[arg(long, value_name = "SECS", default_value = "0", value_parser = fade_secs)]
    pub fade: Duration,
    #[command(flatten)]
    pub olad: OladArgs,
    #[command(flatten)]
    pub timeout: TimeoutArgs,
}

/// A fade time: seconds from 0 to [`MAX_FADE`], as in a show file.
fn fade_secs(text: &str) -> Result<Duration, String> {
    match text.trim().parse::<f64>() {
        Ok(secs) if secs.is_finite() && (0.0..=MAX_FADE.as_secs_f64()).contains(&secs) => {
            Ok(Duration::from_secs_f64(secs))
        }
        _ => Err(format!(
            "a fade is seconds from 0 to {}, e.g. 2.5",
            MAX_FADE.as_secs()
        )),
    }
}

impl CueArgs {
    /// Settles the options of the `cue` subcommand typed (see
    /// [`crate::options`]): `cue` is the matches of `cue`, `top` those of
    /// the whole command line.
    pub fn settle(
        &mut self,
        rv_top: &RvArgs,
        olad_top: &OladArgs,
        cue: &ArgMatches,
        top: &ArgMatches,
        file: &FileConfig,
    ) {
        let Some((_, own)) = cue.subcommand() else {
            return;
        };
        let levels = Levels {
            own,
            parent: Some(top),
        };
        match &mut self.command {
            CueCommand::Check { .. } => {}
            CueCommand::Run(args) => {
                args.rv.merge(Some(rv_top), levels, file);
                args.olad.merge(Some(olad_top), levels, file);
            }
            CueCommand::Fire(args) => {
                args.olad.merge(Some(olad_top), levels, file);
                args.timeout.merge(Some(&rv_top.timeout), levels);
            }
        }
    }
}

/// A failure, with its exit code.
enum Failure {
    /// The show is invalid, or a peer answered with an error: exit 1.
    Refused(String),
    /// A peer cannot be reached, or bad arguments: exit 2.
    Other(String),
}

impl Failure {
    fn exit(self) -> ExitCode {
        let (message, code) = match self {
            Failure::Refused(message) => (message, 1),
            Failure::Other(message) => (message, 2),
        };
        // A show's errors are printed as they are (SHOW:LINE:COL: ...).
        if !message.is_empty() {
            eprintln!("{message}");
        }
        ExitCode::from(code)
    }
}

fn ola_failure(err: &OlaError, message: String) -> Failure {
    if err.is_refusal() {
        Failure::Refused(message)
    } else {
        Failure::Other(message)
    }
}

impl From<LinkError> for Failure {
    fn from(err: LinkError) -> Self {
        let message = format!("rvshell cue: {err}");
        match &err {
            LinkError::ReadDmx { source, .. } => ola_failure(source, message),
            LinkError::Subscribe(SubscribeError::Refused(_)) | LinkError::Refused(_) => {
                Failure::Refused(message)
            }
            LinkError::UnknownScene(_) => Failure::Other(message),
            LinkError::Subscribe(_) | LinkError::RvEnded(_) => Failure::Other(message),
        }
    }
}

/// Reads and validates the show; its errors are exit 1, an unreadable
/// file exit 2.
fn load(path: &Path) -> Result<Show, Failure> {
    Show::load(path).map_err(|err| match err {
        ShowError::Invalid { .. } => Failure::Refused(err.to_string()),
        ShowError::Read { .. } => Failure::Other(format!("rvshell cue: {err}")),
    })
}

/// Runs `rvshell cue ...` and returns the exit code.
pub fn run(args: CueArgs) -> ExitCode {
    let outcome = match args.command {
        CueCommand::Check { show } => load(&show).map(|show| outln!("{}", show.summary())),
        CueCommand::Run(args) => block_on(run_show(args)),
        CueCommand::Fire(args) => block_on(fire(args)),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.exit(),
    }
}

fn block_on(job: impl Future<Output = Result<(), Failure>>) -> Result<(), Failure> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|err| Failure::Other(format!("rvshell: cannot start the async runtime: {err}")))?
        .block_on(job)
}

async fn connect_olad(
    olad: &OladArgs,
    timeout: Duration,
    reconnect: bool,
) -> Result<OlaClient, Failure> {
    let config = ClientConfig {
        request_timeout: timeout,
        reconnect,
        ..ClientConfig::default()
    };
    OlaClient::connect_with(&olad.olad, config)
        .await
        .map_err(|err| {
            // Name the address once: most connection errors already do.
            let text = err.to_string();
            let message = if text.contains(&olad.olad) {
                format!("rvshell cue: {text}")
            } else {
                format!("rvshell cue: olad at {}: {text}", olad.olad)
            };
            ola_failure(&err, message)
        })
}

async fn run_show(args: RunArgs) -> Result<(), Failure> {
    let show = load(&args.show)?;
    let mut config = args.rv.client_config();
    // A show outlives an RV restart: reconnect, and the handlers are
    // installed again by the connection itself.
    config.reconnect = Some(Reconnect::default());
    let (rv, events) = RvClient::connect(config)
        .await
        .map_err(|err| Failure::Other(format!("rvshell cue: {err}")))?;
    let ola = if args.dry_run {
        None
    } else {
        Some(connect_olad(&args.olad, args.rv.timeout.timeout, true).await?)
    };
    let (reports, mut incoming) = mpsc::unbounded_channel();
    let stop = CancellationToken::new();
    let link = Link::new(show, rv.clone(), ola.clone(), reports);
    let options = LinkOptions {
        max_cues: args.count,
    };
    let task = tokio::spawn(link.run(events, stop.clone(), options));
    let signal = stop_signal();
    tokio::pin!(signal);
    let mut out = Printer::new(args.json, args.dry_run);
    loop {
        tokio::select! {
            report = incoming.recv() => match report {
                Some(report) => {
                    out.print(&report);
                    if out.gone {
                        stop.cancel();
                    }
                }
                None => break,
            },
            _ = &mut signal, if !stop.is_cancelled() => stop.cancel(),
        }
    }
    let result = task
        .await
        .map_err(|err| Failure::Other(format!("rvshell cue: the link failed: {err}")))?;
    rv.close().await;
    if let Some(ola) = ola {
        let _ = ola.close().await;
    }
    result.map_err(Failure::from)
}

async fn fire(args: FireArgs) -> Result<(), Failure> {
    let show = load(&args.show)?;
    if show.scene(&args.scene).is_none() {
        let names: Vec<&str> = show.scenes.iter().map(|s| s.name.as_str()).collect();
        return Err(Failure::Other(format!(
            "rvshell cue: {} has no scene {:?}; its scenes are: {}",
            args.show.display(),
            args.scene,
            names.join(", ")
        )));
    }
    let ola = connect_olad(&args.olad, args.timeout.timeout, false).await?;
    let (reports, mut incoming) = mpsc::unbounded_channel();
    let result = link::fire(show, &args.scene, args.fade, ola.clone(), reports).await;
    let mut failed = None;
    while let Ok(report) = incoming.try_recv() {
        match report {
            LinkEvent::Fired { at, fired } => outln!("{}", format_fired(at, &fired, false)),
            LinkEvent::SendFailed { error, refused, .. } if failed.is_none() => {
                failed = Some((error, refused));
            }
            _ => {}
        }
    }
    result?;
    let closed = ola.close().await;
    match failed {
        Some((error, true)) => Err(Failure::Refused(format!("rvshell cue: {error}"))),
        Some((error, false)) => Err(Failure::Other(format!("rvshell cue: {error}"))),
        None => closed.map_err(|err| ola_failure(&err, format!("rvshell cue: {err}"))),
    }
}

/// Prints the reports of a run: cues (and, in a dry run, frames) on
/// stdout, connection news on stderr.
struct Printer {
    json: bool,
    /// Print the frames (a dry run; a live run's go to olad, 50 a second
    /// while fading, and `rvshell dmx monitor` shows them).
    frames: bool,
    stdout: std::io::Stdout,
    /// stdout failed: nothing more is printed, and the run stops.
    gone: bool,
}

impl Printer {
    fn new(json: bool, frames: bool) -> Printer {
        Printer {
            json,
            frames,
            stdout: std::io::stdout(),
            gone: false,
        }
    }

    fn line(&mut self, line: &str) {
        if self.gone {
            return;
        }
        if let Err(err) = writeln!(self.stdout, "{line}").and_then(|()| self.stdout.flush()) {
            // The reader went away (`| head -1`): the show ends as after
            // Ctrl+C, signed off and with its fades sent.
            self.gone = true;
            if err.kind() != std::io::ErrorKind::BrokenPipe {
                eprintln!("rvshell cue: cannot write to stdout: {err}; stopping");
            }
        }
    }

    fn print(&mut self, report: &LinkEvent) {
        let line = match report {
            LinkEvent::Armed {
                cues,
                universes,
                events,
            } => {
                if self.json {
                    serde_json::json!({"armed": {"cues": cues, "universes": universes, "events": events}})
                        .to_string()
                } else {
                    format!(
                        "armed: {cues} cue{} on {} universe{}",
                        plural(*cues),
                        universes.len(),
                        plural(universes.len())
                    )
                }
            }
            LinkEvent::Fired { at, fired } | LinkEvent::Failsafe { at, fired } => {
                format_fired(*at, fired, self.json)
            }
            LinkEvent::Frame(frame) => match format_frame(frame, self.json) {
                Some(line) if self.frames => line,
                _ => return,
            },
            LinkEvent::RvLost { reason } => {
                eprintln!(
                    "rvshell cue: lost RV: {reason}; the failsafe (if any) fades in, reconnecting"
                );
                return;
            }
            LinkEvent::RvBack => {
                eprintln!("rvshell cue: RV is back; cues armed again");
                return;
            }
            LinkEvent::OladLost { reason } => {
                eprintln!(
                    "rvshell cue: lost olad: {reason}; values are kept and sent again once it is back"
                );
                return;
            }
            LinkEvent::OladBack => {
                eprintln!("rvshell cue: olad is back; current values sent again");
                return;
            }
            LinkEvent::SendFailed {
                universe, error, ..
            } => {
                eprintln!("rvshell cue: cannot send universe {universe}: {error}");
                return;
            }
        };
        self.line(&line);
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// `HH:MM:SS.mmm play-start -> dim (fade 2.0 s)`, or a JSON object.
pub fn format_fired(at: SystemTime, fired: &Fired, json: bool) -> String {
    let time = LocalTime::of(at);
    if json {
        serde_json::json!({
            "time": time.rfc3339(),
            "event": fired.trigger,
            "scene": fired.scene,
            "universe": fired.universe,
            "fade": fired.fade.as_secs_f64(),
            "cue": fired.cue.map(|i| i + 1),
        })
        .to_string()
    } else {
        format!(
            "{} {} -> {} (fade {:.1} s)",
            time.hms_millis(),
            fired.trigger,
            fired.scene,
            fired.fade.as_secs_f64()
        )
    }
}

/// `universe 1: 1=25 2=25`, or a JSON object; `None` for a frame that
/// changes nothing.
pub fn format_frame(frame: &DmxOut, json: bool) -> Option<String> {
    if frame.changed.is_empty() {
        return None;
    }
    Some(if json {
        let changed: serde_json::Map<String, serde_json::Value> = frame
            .changed
            .iter()
            .map(|(c, v)| (c.to_string(), (*v).into()))
            .collect();
        serde_json::json!({"frame": {"universe": frame.universe, "changed": changed}}).to_string()
    } else {
        let changed: Vec<String> = frame
            .changed
            .iter()
            .map(|(c, v)| format!("{c}={v}"))
            .collect();
        format!("universe {}: {}", frame.universe, changed.join(" "))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    fn fired() -> Fired {
        Fired {
            cue: Some(0),
            trigger: "play-start".into(),
            scene: "dim".into(),
            universe: 1,
            fade: Duration::from_secs(2),
        }
    }

    #[test]
    fn fired_lines() {
        let at = UNIX_EPOCH + Duration::from_millis(1_796_665_474_123);
        let line = format_fired(at, &fired(), false);
        assert!(
            line.ends_with(".123 play-start -> dim (fade 2.0 s)"),
            "{line}"
        );
        assert_eq!(line.find(' '), Some(12), "{line}");
        let value: serde_json::Value =
            serde_json::from_str(&format_fired(at, &fired(), true)).unwrap();
        assert_eq!(value["scene"], "dim");
        assert_eq!(value["event"], "play-start");
        assert_eq!(value["fade"], 2.0);
        assert_eq!(value["cue"], 1);
    }

    #[test]
    fn frame_lines_list_the_changed_channels() {
        let mut frame = DmxOut {
            universe: 2,
            data: vec![0; 512],
            changed: vec![(1, 25), (4, 0)],
        };
        assert_eq!(format_frame(&frame, false).unwrap(), "universe 2: 1=25 4=0");
        let value: serde_json::Value =
            serde_json::from_str(&format_frame(&frame, true).unwrap()).unwrap();
        assert_eq!(value["frame"]["changed"]["1"], 25);
        frame.changed.clear();
        assert_eq!(format_frame(&frame, false), None);
    }
}
