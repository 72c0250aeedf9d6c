//! `rvshell dmx ...`: one-shot DMX commands against olad.
//!
//! Exit codes: 0 success; 1 olad refused the request (its text is shown);
//! 2 olad could not be reached or did not answer, or the arguments are bad.
//! Every failure prints one line on stderr.

use crate::ola::client::{
    self, ClientConfig, ClientEvent, DmxFrame, MAX_SLOTS, OlaClient, OlaError, PortRef,
};
use crate::ola::join_slots;
use crate::ola::pb::proto::{MergeMode, PortInfo};
use crate::ola::values::{self, Values, apply_changes};
use crate::options::{OladArgs, TimeoutArgs};
use clap::{Args, Subcommand, ValueEnum};
use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use tokio::io::AsyncBufReadExt;
use tokio::sync::{mpsc, oneshot, watch};

/// Send DMX to universes through OLA's olad (address: --olad).
///
/// `--olad` and `--timeout` may be typed before or after the `dmx`
/// subcommand's name (they are global within `dmx`).
#[derive(Debug, Args)]
#[command(mut_arg("olad", |arg| arg.global(true)))]
#[command(mut_arg("timeout", |arg| arg.global(true)))]
pub struct DmxArgs {
    #[command(flatten)]
    pub olad: OladArgs,
    #[command(flatten)]
    pub timeout: TimeoutArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: DmxCommand,
}

/// The `dmx` subcommands.
#[derive(Debug, Subcommand)]
pub enum DmxCommand {
    /// Set slots of a universe and wait for olad's Ack.
    ///
    /// VALUES are comma-separated (or separate arguments). Plain values
    /// `255,0,128` are the whole frame, like `ola_set_dmx`: channels 1, 2,
    /// 3... take them and every later channel becomes 0. `CH=VAL` and `CH-CH=VAL` (channels 1..=512) change only
    /// those channels of the universe's current values; plain values after
    /// them continue at the next channel.
    Set {
        /// Universe number.
        #[arg(short, long)]
        universe: u32,
        /// Source priority 0..=200 (olad's default is 100).
        #[arg(long)]
        priority: Option<u8>,
        /// Values, e.g. `255,0,128` or `1=255` or `10-20=128`.
        #[arg(required = true, value_name = "VALUES")]
        values: Vec<String>,
    },
    /// Print a universe's current values, comma-separated.
    Get {
        /// Universe number.
        #[arg(short, long)]
        universe: u32,
        /// Print {"universe": U, "values": [512 integers]}.
        #[arg(long)]
        json: bool,
    },
    /// Set all 512 channels of a universe to 0.
    Blackout {
        /// Universe number.
        #[arg(short, long)]
        universe: u32,
    },
    /// List the universes olad knows.
    Universes {
        /// Print a JSON list of {"id", "name", "merge_mode", "input_ports",
        /// "output_ports", "rdm_devices"}.
        #[arg(long)]
        json: bool,
    },
    /// List devices and their ports.
    Devices {
        /// Print a JSON list of devices, each with its input and output ports.
        #[arg(long)]
        json: bool,
    },
    /// Patch (or unpatch) a device port to a universe.
    ///
    /// Like `ola_patch -d D -p P -u U`.
    Patch {
        /// Device alias, as `rvshell dmx devices` shows it.
        #[arg(short, long)]
        device: i32,
        /// The device's port number, as `rvshell dmx devices` shows it.
        #[arg(short = 'p', long = "port", value_name = "P")]
        port: u16,
        /// Universe number.
        #[arg(short, long)]
        universe: u32,
        /// The port is an input port (default: output).
        #[arg(long)]
        input: bool,
        /// Unpatch instead of patch.
        #[arg(long)]
        unpatch: bool,
    },
    /// Rename a universe.
    Name {
        /// Universe number.
        #[arg(short, long)]
        universe: u32,
        /// The new name.
        name: String,
    },
    /// Set a universe's merge mode.
    Merge {
        /// Universe number.
        #[arg(short, long)]
        universe: u32,
        /// HTP (highest takes precedence) or LTP (latest takes precedence).
        mode: MergeArg,
    },
    /// Stream frames read from stdin, one comma-separated frame per line.
    ///
    /// Uses StreamDmxData (no per-frame round trip) and ends with a round
    /// trip, so olad has applied every frame when the command returns.
    Stream {
        /// Universe number.
        #[arg(short, long)]
        universe: u32,
        /// Source priority 0..=200 (olad's default is 100).
        #[arg(long)]
        priority: Option<u8>,
    },
    /// Print each change of a universe as it arrives, until interrupted.
    ///
    /// On a terminal: a live view of the 512 slots. Otherwise one
    /// comma-separated line per frame (frames replaced before they could be
    /// printed are skipped; the last one is always printed).
    Monitor {
        /// Universe number.
        #[arg(short, long)]
        universe: u32,
        /// One JSON object per frame and line: {"time", "universe", "values"}.
        #[arg(long)]
        json: bool,
    },
    /// Measure round trips and throughput into a universe (it gets
    /// overwritten), next to the OLA Python client and ola_streaming_client.
    ///
    /// With --private, a private olad (Dummy plugin only, started and stopped
    /// here) is measured instead of the one at --olad.
    Bench {
        /// Universe number (must exist, e.g. patched to a port).
        #[arg(short, long)]
        universe: u32,
        /// Frames per measurement.
        #[arg(long, default_value_t = 10_000)]
        frames: usize,
        /// Measure a private olad instead of the one at --olad.
        #[arg(long)]
        private: bool,
    },
}

/// Merge modes as typed on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum MergeArg {
    /// Highest takes precedence.
    Htp,
    /// Latest takes precedence.
    Ltp,
}

/// A failure, with its exit code.
#[derive(Debug)]
enum Failure {
    /// olad answered with an error: exit 1.
    Refused(String),
    /// olad unreachable, silent, or bad arguments: exit 2.
    Other(String),
}

impl Failure {
    fn usage(msg: impl Into<String>) -> Self {
        Failure::Other(msg.into())
    }
}

/// Turns a client error into a one-line failure with a hint.
fn explain(err: OlaError, addr: &str, universe: Option<u32>) -> Failure {
    match &err {
        err if err.is_unknown_universe() => {
            let u = universe
                .map(|u| u.to_string())
                .unwrap_or_else(|| "?".into());
            Failure::Refused(format!(
                "universe {u} does not exist on olad at {addr}; create it by patching a port (rvshell dmx patch --device D --port P -u {u}; see rvshell dmx devices)"
            ))
        }
        OlaError::Failed { message, .. }
            if message == "Device doesn't exist" || message == "Port doesn't exist" =>
        {
            Failure::Refused(format!(
                "{} on olad at {addr}; list devices and ports with `rvshell dmx devices`",
                message
                    .trim_end_matches('.')
                    .to_lowercase()
                    .replace("doesn't", "does not")
            ))
        }
        _ if err.is_refusal() => Failure::Refused(format!("{err} (olad at {addr})")),
        OlaError::Closed => Failure::Other(format!(
            "lost olad at {addr}: it closed the connection or went away; what was not \
             acknowledged may not have reached it"
        )),
        _ => Failure::Other(err.to_string()),
    }
}

/// Runs a `dmx` subcommand and returns the exit code.
pub fn run(args: DmxArgs) -> ExitCode {
    let olad = Olad {
        addr: args.olad.olad,
        timeout: args.timeout.timeout,
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("rvshell: cannot start the async runtime: {err}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(dispatch(args.command, &olad)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Refused(msg)) => {
            eprintln!("rvshell: {msg}");
            ExitCode::from(1)
        }
        Err(Failure::Other(msg)) => {
            eprintln!("rvshell: {msg}");
            ExitCode::from(2)
        }
    }
}

/// Where olad is and how long to wait for each reply.
struct Olad {
    addr: String,
    timeout: std::time::Duration,
}

async fn connect(olad: &Olad, reconnect: bool) -> Result<OlaClient, Failure> {
    let config = ClientConfig {
        request_timeout: olad.timeout,
        reconnect,
        ..ClientConfig::default()
    };
    OlaClient::connect_with(&olad.addr, config)
        .await
        .map_err(|err| explain(err, &olad.addr, None))
}

async fn dispatch(command: DmxCommand, olad: &Olad) -> Result<(), Failure> {
    let addr = olad.addr.as_str();
    match command {
        DmxCommand::Set {
            universe,
            priority,
            values,
        } => {
            let spec = parse_values(&values.join(","))?;
            check_priority(priority)?;
            let client = connect(olad, false).await?;
            let frame = match spec {
                Values::Plain(frame) => frame,
                Values::Addressed(changes) => {
                    let current = client
                        .get_dmx(universe)
                        .await
                        .map_err(|e| explain(e, addr, Some(universe)))?;
                    apply_changes(&current, &changes)
                }
            };
            client
                .update_dmx(universe, &frame, priority)
                .await
                .map_err(|e| explain(e, addr, Some(universe)))?;
            close(&client, addr).await
        }
        DmxCommand::Get { universe, json } => {
            let client = connect(olad, false).await?;
            let data = client
                .get_dmx(universe)
                .await
                .map_err(|e| explain(e, addr, Some(universe)))?;
            if json {
                let mut values = data.to_vec();
                values.resize(MAX_SLOTS, 0);
                outln!(
                    "{}",
                    serde_json::json!({ "universe": universe, "values": values })
                );
            } else {
                outln!("{}", join_slots(&data));
            }
            close(&client, addr).await
        }
        DmxCommand::Blackout { universe } => {
            let client = connect(olad, false).await?;
            client
                .update_dmx(universe, &[0; MAX_SLOTS], None)
                .await
                .map_err(|e| explain(e, addr, Some(universe)))?;
            close(&client, addr).await
        }
        DmxCommand::Universes { json } => {
            let client = connect(olad, false).await?;
            let universes = client
                .universes()
                .await
                .map_err(|e| explain(e, addr, None))?;
            let mode_name = |mode: i32| match MergeMode::try_from(mode) {
                Ok(MergeMode::Htp) => "HTP",
                Ok(MergeMode::Ltp) => "LTP",
                Err(_) => "?",
            };
            if json {
                let list: Vec<_> = universes
                    .iter()
                    .map(|u| {
                        serde_json::json!({
                            "id": u.universe,
                            "name": u.name,
                            "merge_mode": mode_name(u.merge_mode),
                            "input_ports": u.input_port_count,
                            "output_ports": u.output_port_count,
                            "rdm_devices": u.rdm_devices,
                        })
                    })
                    .collect();
                outln!("{}", serde_json::Value::from(list));
                return close(&client, addr).await;
            }
            let mut out = String::new();
            for u in universes {
                let mode = mode_name(u.merge_mode);
                out.push_str(&format!(
                    "{:>5}  {:<24} {mode}  inputs {}  outputs {}  rdm devices {}\n",
                    u.universe,
                    format!("{:?}", u.name),
                    u.input_port_count,
                    u.output_port_count,
                    u.rdm_devices
                ));
            }
            super::out(&out);
            close(&client, addr).await
        }
        DmxCommand::Devices { json } => {
            let client = connect(olad, false).await?;
            let devices = client
                .devices(None)
                .await
                .map_err(|e| explain(e, addr, None))?;
            if json {
                let list: Vec<_> = devices
                    .iter()
                    .map(|d| {
                        serde_json::json!({
                            "alias": d.device_alias,
                            "id": d.device_id,
                            "name": d.device_name,
                            "plugin": d.plugin_id,
                            "input_ports": d.input_port.iter().map(port_json).collect::<Vec<_>>(),
                            "output_ports": d.output_port.iter().map(port_json).collect::<Vec<_>>(),
                        })
                    })
                    .collect();
                outln!("{}", serde_json::Value::from(list));
                return close(&client, addr).await;
            }
            let mut out = String::new();
            for d in devices {
                out.push_str(&format!(
                    "device {} ({}): {:?}, plugin {}\n",
                    d.device_alias, d.device_id, d.device_name, d.plugin_id
                ));
                for p in &d.input_port {
                    out.push_str(&port_line("input ", p));
                }
                for p in &d.output_port {
                    out.push_str(&port_line("output", p));
                }
            }
            super::out(&out);
            close(&client, addr).await
        }
        DmxCommand::Patch {
            device,
            port,
            universe,
            input,
            unpatch,
        } => {
            let client = connect(olad, false).await?;
            let port = PortRef {
                device_alias: device,
                port_id: i32::from(port),
                is_output: !input,
            };
            let result = if unpatch {
                client.unpatch(port, universe).await
            } else {
                client.patch(port, universe).await
            };
            result.map_err(|e| explain(e, addr, Some(universe)))?;
            close(&client, addr).await
        }
        DmxCommand::Name { universe, name } => {
            let client = connect(olad, false).await?;
            client
                .set_universe_name(universe, &name)
                .await
                .map_err(|e| explain(e, addr, Some(universe)))?;
            close(&client, addr).await
        }
        DmxCommand::Merge { universe, mode } => {
            let client = connect(olad, false).await?;
            let mode = match mode {
                MergeArg::Htp => MergeMode::Htp,
                MergeArg::Ltp => MergeMode::Ltp,
            };
            client
                .set_merge_mode(universe, mode)
                .await
                .map_err(|e| explain(e, addr, Some(universe)))?;
            close(&client, addr).await
        }
        DmxCommand::Stream { universe, priority } => {
            check_priority(priority)?;
            stream(olad, universe, priority).await
        }
        DmxCommand::Monitor { universe, json } => monitor(olad, universe, json).await,
        DmxCommand::Bench {
            universe,
            frames,
            private,
        } => {
            if frames == 0 {
                return Err(Failure::usage("--frames must be at least 1"));
            }
            if private {
                let (about, report) = crate::bench::ola::run_private(universe, frames)
                    .await
                    .map_err(|e| Failure::Other(e.to_string().replace('\n', "; ")))?;
                outln!("{about}");
                super::out(&report.render());
                return Ok(());
            }
            let report = crate::bench::ola::run(addr, universe, frames)
                .await
                .map_err(|e| explain(e, addr, Some(universe)))?;
            super::out(&report.render());
            Ok(())
        }
    }
}

/// The client's check, before connecting. Its text starts "priority N is
/// out of range", so the flag reads as `--priority N is out of range ...`.
fn check_priority(priority: Option<u8>) -> Result<(), Failure> {
    match priority.map(client::check_priority).transpose() {
        Ok(_) => Ok(()),
        Err(err) => Err(Failure::usage(format!("--{err}"))),
    }
}

async fn close(client: &OlaClient, addr: &str) -> Result<(), Failure> {
    client.close().await.map_err(|e| explain(e, addr, None))
}

/// A port as `dmx devices --json` prints it: `universe` is null when not
/// patched.
fn port_json(p: &PortInfo) -> serde_json::Value {
    let universe = match p.universe {
        Some(u) if p.active.unwrap_or(true) => Some(u),
        _ => None,
    };
    serde_json::json!({
        "port": p.port_id,
        "description": p.description,
        "universe": universe,
        "rdm": p.supports_rdm.unwrap_or(false),
    })
}

fn port_line(kind: &str, p: &PortInfo) -> String {
    let patched = match p.universe {
        Some(u) if p.active.unwrap_or(true) => format!("universe {u}"),
        _ => "not patched".to_owned(),
    };
    format!(
        "  {kind} port {}: {:?}, {patched}{}\n",
        p.port_id,
        p.description,
        if p.supports_rdm.unwrap_or(false) {
            ", RDM"
        } else {
            ""
        }
    )
}

/// Parses `set`'s values (see [`DmxCommand::Set`] and [`crate::ola::values`]).
fn parse_values(text: &str) -> Result<Values, Failure> {
    values::parse_values(text).map_err(|err| Failure::usage(err.to_string()))
}

/// Parses one line of `stream` input: plain comma-separated values.
fn parse_frame_line(line: &str) -> Result<Vec<u8>, String> {
    let mut frame = Vec::with_capacity(MAX_SLOTS);
    for item in line.split(',') {
        let value = values::parse_value(item).map_err(|err| err.to_string())?;
        if frame.len() == MAX_SLOTS {
            return Err("more than 512 values".to_owned());
        }
        frame.push(value);
    }
    Ok(frame)
}

async fn stream(olad: &Olad, universe: u32, priority: Option<u8>) -> Result<(), Failure> {
    let addr = olad.addr.as_str();
    let client = connect(olad, false).await?;
    // olad drops streamed frames for a missing universe without a word, so
    // check first.
    client
        .universe(universe)
        .await
        .map_err(|e| explain(e, addr, Some(universe)))?;
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    let mut number = 0usize;
    let outcome = loop {
        let line = match lines.next_line().await {
            Ok(Some(line)) => line,
            Ok(None) => break Ok(()),
            Err(err) => break Err(Failure::usage(format!("reading stdin failed: {err}"))),
        };
        number += 1;
        if line.trim().is_empty() {
            continue;
        }
        let frame = match parse_frame_line(&line) {
            Ok(frame) => frame,
            Err(msg) => break Err(Failure::usage(format!("stdin line {number}: {msg}"))),
        };
        if let Err(err) = client.stream_dmx(universe, &frame, priority).await {
            break Err(explain(err, addr, Some(universe)));
        }
    };
    // close() makes one round trip first, so olad has applied every frame
    // sent before the connection goes (ola-rpc.md §7.7).
    let closed = close(&client, addr).await;
    outcome?;
    closed
}

/// How long a finished `monitor` waits for its writer thread to print what
/// it has, should stdout still be stalled.
const WRITER_GRACE: std::time::Duration = std::time::Duration::from_secs(1);

async fn monitor(olad: &Olad, universe: u32, json: bool) -> Result<(), Failure> {
    let addr = olad.addr.as_str();
    let client = connect(olad, true).await?;
    let mut events = client.events();
    let mut sub = client
        .register(universe)
        .await
        .map_err(|e| explain(e, addr, Some(universe)))?;
    // stdout and stderr may stall (a pager, Ctrl-S). The client's reader
    // runs on this thread and must keep draining olad's socket all the same
    // (ola-rpc.md §7.9), so a thread of its own does the writing, always of
    // the newest frame; this task only hands frames over.
    let (latest, frames) = watch::channel(None);
    let (notices, notice_rx) = mpsc::unbounded_channel();
    let (done, writer_done) = oneshot::channel::<()>();
    let format = if json {
        Format::Json { universe }
    } else if std::io::stdout().is_terminal() {
        // A live view starts with what olad holds now, not a blank
        // screen until the next change.
        if let Ok(data) = client.get_dmx(universe).await {
            latest.send_replace(Some(DmxFrame {
                universe,
                data,
                priority: None,
                seq: 0,
            }));
        }
        Format::Grid(Header {
            universe,
            addr: addr.to_owned(),
        })
    } else {
        Format::Lines
    };
    let writer = std::thread::Builder::new()
        .name("dmx-monitor-out".into())
        .spawn({
            let runtime = tokio::runtime::Handle::current();
            move || {
                write_frames(&runtime, format, frames, notice_rx);
                drop(done);
            }
        });
    if let Err(err) = writer {
        let _ = client.close().await;
        return Err(Failure::Other(format!(
            "cannot start the thread that prints frames: {err}"
        )));
    }
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let mut events_open = true;
    let outcome = loop {
        tokio::select! {
            _ = &mut ctrl_c => break Ok(()),
            // The writer stopped: stdout went away (e.g. `| head`).
            _ = latest.closed() => break Ok(()),
            frame = sub.next() => match frame {
                Some(frame) => {
                    latest.send_replace(Some(frame));
                }
                None => break Err(Failure::Other(format!(
                    "the subscription to universe {universe} ended (olad at {addr} went away)"
                ))),
            },
            event = events.recv(), if events_open => match event {
                Ok(ClientEvent::Disconnected { reason }) => {
                    let _ = notices.send(format!("lost olad at {addr} ({reason}); reconnecting"));
                }
                Ok(ClientEvent::Reconnected { failed, .. }) => {
                    if failed.is_empty() {
                        let _ = notices
                            .send(format!("reconnected to olad at {addr}; monitoring again"));
                    }
                    for line in failed {
                        let _ = notices.send(format!("after reconnecting: {line}"));
                    }
                }
                Ok(ClientEvent::Closed | ClientEvent::Reconnecting { .. }) => {}
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => events_open = false,
            },
        }
    };
    drop(sub);
    let _ = client.close().await;
    // No socket to drain any more: let the writer print the last frame and
    // any notice, unless stdout stays stalled (the thread then ends with
    // the process).
    drop(latest);
    drop(notices);
    let _ = tokio::time::timeout(WRITER_GRACE, writer_done).await;
    outcome
}

/// How the monitor prints frames.
enum Format {
    /// The live view on a terminal.
    Grid(Header),
    /// One comma-separated line per frame.
    Lines,
    /// One JSON object per frame and line.
    Json { universe: u32 },
}

/// What the live view's first line names.
struct Header {
    universe: u32,
    addr: String,
}

/// The monitor's writer thread: prints the newest frame each time there is
/// one (a live grid with `header`, else one line per frame) and the
/// notices on stderr, until both senders are gone or stdout fails.
fn write_frames(
    runtime: &tokio::runtime::Handle,
    format: Format,
    mut frames: watch::Receiver<Option<DmxFrame>>,
    mut notices: mpsc::UnboundedReceiver<String>,
) {
    enum Next {
        Notice(String),
        Frame(Option<DmxFrame>),
    }
    let mut stdout = std::io::stdout().lock();
    if let Format::Grid(h) = &format {
        let written = writeln!(
            stdout,
            "\x1b[2J\x1b[Huniverse {} on olad at {}: waiting for data (Ctrl-C to quit)",
            h.universe, h.addr
        )
        .and_then(|()| stdout.flush());
        if written.is_err() {
            return;
        }
    }
    loop {
        // Nothing here needs the runtime's drivers: a channel wait only.
        let next = runtime.block_on(async {
            tokio::select! {
                biased;
                Some(line) = notices.recv() => Some(Next::Notice(line)),
                Ok(()) = frames.changed() => Some(Next::Frame(frames.borrow_and_update().clone())),
                else => None,
            }
        });
        match next {
            None => return,
            Some(Next::Notice(line)) => {
                let _ = writeln!(std::io::stderr(), "rvshell: {line}");
            }
            Some(Next::Frame(None)) => {}
            Some(Next::Frame(Some(frame))) => {
                let text = match &format {
                    Format::Grid(h) => {
                        // The terminal's size now: it may have been resized.
                        let (columns, lines) = crossterm::terminal::size().unwrap_or((80, 24));
                        render_grid(
                            h.universe,
                            &h.addr,
                            &frame.data,
                            frame.seq,
                            frame.priority,
                            slots_per_row(columns),
                            usize::from(lines),
                        )
                    }
                    Format::Lines => format!("{}\n", join_slots(&frame.data)),
                    Format::Json { universe } => {
                        let time = crate::clock::LocalTime::of(std::time::SystemTime::now());
                        let doc = serde_json::json!({
                            "time": time.rfc3339(),
                            "universe": universe,
                            "values": frame.data.to_vec(),
                        });
                        format!("{doc}\n")
                    }
                };
                if stdout
                    .write_all(text.as_bytes())
                    .and_then(|()| stdout.flush())
                    .is_err()
                {
                    // The reader went away (e.g. `| head`): done.
                    return;
                }
            }
        }
    }
}

/// How many slots a row of the live view holds in `columns`: a multiple of
/// 8 (so channel numbers line up: 1, 9, 17, ...), at least 8, each slot 4
/// columns after the 4 of the row's first channel.
fn slots_per_row(columns: u16) -> usize {
    let fit = usize::from(columns).saturating_sub(4) / 4;
    (fit / 8 * 8).clamp(8, MAX_SLOTS)
}

/// The live view: a header, then rows of `per_row` slots, each with its
/// first channel, in at most `height` lines. When every row does not fit,
/// rows of zeros are left out first, then the last rows; a last line says
/// what is not shown. Ends by clearing the rest of the screen (rows left
/// from a narrower layout before a resize).
fn render_grid(
    universe: u32,
    addr: &str,
    data: &[u8],
    seq: u64,
    priority: Option<i32>,
    per_row: usize,
    height: usize,
) -> String {
    let mut out = String::with_capacity(3000);
    out.push_str("\x1b[H");
    let priority = priority
        .map(|p| format!("  priority {p}"))
        .unwrap_or_default();
    out.push_str(&format!(
        "universe {universe}  olad {addr}  frame {seq}  {} slots{priority}  Ctrl-C quits\x1b[K\n",
        data.len()
    ));
    let per_row = per_row.max(1);
    let rows = MAX_SLOTS.div_ceil(per_row);
    let all: Vec<usize> = (0..rows).collect();
    let (shown, note) = if rows < height {
        (all, None)
    } else {
        // Room for the header and the note.
        let room = height.saturating_sub(2).max(1);
        let lit: Vec<usize> = all
            .into_iter()
            .filter(|&row| {
                let end = ((row + 1) * per_row).min(MAX_SLOTS);
                data.get(row * per_row..end.min(data.len()))
                    .is_some_and(|slots| slots.iter().any(|&v| v != 0))
            })
            .collect();
        let zeros = rows - lit.len();
        let cut = lit.len().saturating_sub(room);
        let mut parts = Vec::new();
        if zeros > 0 {
            parts.push(format!("{zeros} rows of zeros"));
        }
        if cut > 0 {
            parts.push(format!("{cut} more rows"));
        }
        let note = format!(
            "({} not shown; a taller terminal shows every row)",
            parts.join(" and ")
        );
        (lit.into_iter().take(room).collect(), Some(note))
    };
    for row in shown {
        out.push_str(&format!("{:>3}:", row * per_row + 1));
        for col in 0..per_row.min(MAX_SLOTS - row * per_row) {
            match data.get(row * per_row + col) {
                Some(v) => out.push_str(&format!(" {v:>3}")),
                None => out.push_str("   ."),
            }
        }
        out.push_str("\x1b[K\n");
    }
    if let Some(note) = note {
        out.push_str(&note);
        out.push_str("\x1b[K");
    }
    out.push_str("\x1b[J");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The parsing itself is tested in `ola::values`; here, that a bad
    /// list is a usage error (exit 2) with the parser's words.
    #[test]
    fn bad_values_are_usage_errors() {
        assert_eq!(
            parse_values("1=2").unwrap(),
            Values::Addressed(vec![(1, 1, 2)])
        );
        match parse_values("300") {
            Err(Failure::Other(msg)) => assert!(msg.contains("0..=255"), "{msg}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn stream_lines() {
        assert_eq!(parse_frame_line("1,2,3").unwrap(), vec![1, 2, 3]);
        assert!(parse_frame_line("1,256").unwrap_err().contains("256"));
        // The same words as `set` for the same bad value.
        assert_eq!(
            parse_frame_line("1, x ").unwrap_err(),
            values::parse_values("x").unwrap_err().to_string()
        );
        assert!(
            parse_frame_line(&vec!["0"; 513].join(","))
                .unwrap_err()
                .contains("512")
        );
    }

    #[test]
    fn priority_is_checked_like_the_client_does() {
        assert!(check_priority(None).is_ok());
        assert!(check_priority(Some(client::MAX_PRIORITY)).is_ok());
        match check_priority(Some(client::MAX_PRIORITY + 1)) {
            Err(Failure::Other(msg)) => assert_eq!(
                msg,
                "--priority 201 is out of range: olad accepts 0..=200 (larger values wrap around)"
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn failures_map_to_exit_codes_and_hints() {
        let refused = explain(
            OlaError::Failed {
                method: "UpdateDmxData",
                message: "Universe doesn't exist".into(),
            },
            "127.0.0.1:9010",
            Some(99),
        );
        match refused {
            Failure::Refused(msg) => assert!(
                msg.starts_with(
                    "universe 99 does not exist on olad at 127.0.0.1:9010; create it by patching a port (rvshell dmx patch"
                ),
                "{msg}"
            ),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            explain(OlaError::Closed, "a", None),
            Failure::Other(_)
        ));
        assert!(matches!(
            explain(OlaError::NotImplemented { method: "X" }, "a", None),
            Failure::Refused(_)
        ));
    }

    #[test]
    fn grid_shows_every_slot() {
        for per_row in [8, 16, 48, 512] {
            let grid = render_grid(1, "a", &[255; 512], 3, Some(100), per_row, 600);
            assert_eq!(grid.matches(" 255").count(), 512, "{per_row}");
            assert!(grid.contains("frame 3"));
            let short = render_grid(1, "a", &[1, 2], 1, None, per_row, 600);
            assert_eq!(short.matches("   .").count(), 510, "{per_row}");
        }
    }

    #[test]
    fn the_grid_fits_an_80x24_terminal_showing_the_rows_that_are_lit() {
        let mut data = [0u8; 512];
        data[..20].fill(200); // rows 1 and 17
        data[300] = 7; // row 289
        let grid = render_grid(1, "127.0.0.1:9010", &data, 12, Some(100), 16, 24);
        let lines: Vec<&str> = grid.split('\n').collect();
        assert!(lines.len() <= 24, "{}", lines.len());
        let header = lines[0]
            .trim_start_matches("\x1b[H")
            .trim_end_matches("\x1b[K");
        assert!(header.len() <= 80, "{header}");
        assert!(lines[1].starts_with("  1: 200"), "{}", lines[1]);
        assert!(lines[2].starts_with(" 17: 200"), "{}", lines[2]);
        assert!(lines[3].starts_with("289:"), "{}", lines[3]);
        assert!(
            lines[4].starts_with("(29 rows of zeros not shown"),
            "{}",
            lines[4]
        );
        assert!(grid.ends_with("\x1b[J"), "clears rows left from before");
        // Lit rows beyond the room: the first ones, and the count of the rest.
        let grid = render_grid(1, "a", &[9; 512], 1, None, 16, 24);
        assert_eq!(grid.matches("   9").count(), 22 * 16);
        assert!(grid.contains("(10 more rows not shown"), "{grid}");
        // A tall terminal shows every row and no note.
        let grid = render_grid(1, "a", &data, 1, None, 16, 60);
        assert_eq!(grid.matches('\n').count(), 33, "the header and 32 rows");
        assert!(!grid.contains("not shown"));
    }

    #[test]
    fn rows_follow_the_terminal_width() {
        assert_eq!(slots_per_row(80), 16);
        assert_eq!(slots_per_row(60), 8);
        assert_eq!(slots_per_row(200), 48);
        assert_eq!(slots_per_row(10), 8, "never fewer than 8");
        assert_eq!(slots_per_row(u16::MAX), 512);
        // Every row fits the width it was made for.
        for columns in [40u16, 80, 132, 200] {
            let grid = render_grid(1, "a", &[255; 512], 1, None, slots_per_row(columns), 600);
            for line in grid.lines().skip(1) {
                let visible = line.trim_end_matches("\x1b[K").len();
                assert!(
                    visible <= usize::from(columns).max(36),
                    "{columns}: {visible}"
                );
            }
        }
    }
}
