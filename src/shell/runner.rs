//! The interactive shell's main loop, for `rvshell [NAME [HOST [PORT]]]` and
//! `rvshell demo` (whose arguments `cmd::shell` turns into [`Settings`]).
//!
//! One channel carries everything that happens (terminal input, connection
//! state, client events, the outcome of every request) to the main task,
//! which alone owns the [`App`]. The app answers with [`Command`]s; each one
//! that touches the network runs in its own task and posts its result back
//! on the channel, so the loop never awaits RV. The screen is redrawn only
//! after something changed, and a timer runs only while the app asks for
//! one ([`App::tick_interval`]): an idle shell sleeps in `recv`.

use super::dmx::{DmxRunner, OladTarget};
use crate::app::cue::CueLink;
use crate::app::history::{DEFAULT_CAP, History};
use crate::app::{App, AppEvent, Command, NetEvent};
use crate::ola::daemon::OladProcess;
use crate::rv::client::{ClientEvent, Config, ConnState, Reconnect, RvClient};
use crate::rv::events;
use crate::rv::message::Event;
use crate::sim::server::{SimConfig, Simulator};
use anyhow::Context as _;
use crossterm::event::{Event as TermEvent, EventStream, MouseEventKind};
use futures_util::StreamExt;
use ratatui::layout::Rect;
use std::path::PathBuf;
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// How long quitting waits for every RV to take our DISCONNECT.
const SIGN_OFF_LIMIT: Duration = Duration::from_secs(2);

/// What reaches the main loop.
enum Incoming {
    App(AppEvent),
    /// The terminal is gone (input ended, SIGHUP, SIGTERM): sign off and exit.
    Stop(String),
}

/// What the shell needs to start: the RVs to connect to and where olad is.
#[derive(Debug, Clone)]
pub struct Settings {
    /// One connection per RV; the first is selected at start. For
    /// [`demo`], the template of the simulator's connection (its host and
    /// port are replaced by the simulator's).
    pub rvs: Vec<Config>,
    /// Lines for the feedback pane at start (how the port was found, ...).
    pub notes: Vec<String>,
    /// The name the user expects RV to greet with (RV's rvshell `NAME`).
    pub expected: Option<String>,
    /// olad's address (for [`demo`]: used when no private olad can start).
    pub olad: String,
    /// The limit for each olad reply.
    pub olad_timeout: Duration,
    /// How many sent events the history keeps; `None`: the default.
    pub history_size: Option<usize>,
    /// A show file for the cue link (`--show`).
    pub show: Option<PathBuf>,
}

/// Reads and checks the show file before the terminal is taken, so its
/// errors (`SHOW:LINE:COL: message`, every one) are read on a plain screen.
fn load_show(path: Option<&PathBuf>) -> anyhow::Result<Option<CueLink>> {
    let Some(path) = path else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read show {}", path.display()))?;
    let show = crate::cue::show::Show::parse(&text, &path.display().to_string())
        .map_err(|err| anyhow::anyhow!("the show does not check:\n{err}"))?;
    Ok(Some(CueLink::new(path.clone(), text, show)))
}

/// Runs the shell against the RVs of `settings` until the user quits.
pub fn run(settings: Settings) -> anyhow::Result<()> {
    let cue = load_show(settings.show.as_ref())?;
    let olad = OladSetup {
        target: OladTarget::Address(settings.olad.clone()),
        process: None,
        note: None,
        timeout: settings.olad_timeout,
    };
    let history_size = settings.history_size.unwrap_or(DEFAULT_CAP);
    runtime()?.block_on(shell(
        settings.rvs,
        None,
        history_size,
        settings.expected,
        olad,
        settings.notes,
        cue,
    ))
}

/// `rvshell demo`: the shell against an in-process simulator, and a private
/// olad when OLA is installed.
pub fn demo(settings: Settings) -> anyhow::Result<()> {
    let cue = load_show(settings.show.as_ref())?;
    let history_size = settings.history_size.unwrap_or(DEFAULT_CAP);
    runtime()?.block_on(async {
        let sim = Simulator::start(SimConfig::any_port())
            .await
            .context("cannot start the RV simulator on 127.0.0.1")?;
        let mut config = settings
            .rvs
            .into_iter()
            .next()
            .unwrap_or_else(|| Config::new("127.0.0.1", 0));
        config.host = "127.0.0.1".into();
        config.port = sim.local_addr().port();
        let (target, process, note) = super::dmx::private_olad(&settings.olad).await;
        let olad = OladSetup {
            target,
            process,
            note: Some(note),
            timeout: settings.olad_timeout,
        };
        shell(
            vec![config],
            Some(sim),
            history_size,
            Some("rvsim".into()),
            olad,
            settings.notes,
            cue,
        )
        .await
    })
}

/// The OLA-DMX tab's olad: where it is, the private one `demo` started (if
/// any, stopped on exit), a line for the feedback pane, the request timeout.
struct OladSetup {
    target: OladTarget,
    process: Option<OladProcess>,
    note: Option<String>,
    timeout: Duration,
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Runtime::new().context("cannot start the async runtime")
}

/// The history file: `$RVSHELL_DATA_DIR/history`, else the user's data dir.
pub fn history_path() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("RVSHELL_DATA_DIR") {
        return Some(PathBuf::from(dir).join("history"));
    }
    directories::ProjectDirs::from("", "", "rvshell").map(|d| d.data_dir().join("history"))
}

fn load_history(path: Option<&PathBuf>, cap: usize) -> History {
    let Some(path) = path else {
        return History::new(cap);
    };
    match std::fs::read_to_string(path) {
        Ok(text) => History::from_text(&text, cap),
        Err(err) => {
            if err.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(path = %path.display(), %err, "cannot read the history file");
            }
            History::new(cap)
        }
    }
}

/// Writes history snapshots one at a time, newest last, off the main task.
fn spawn_history_writer(path: Option<PathBuf>) -> mpsc::UnboundedSender<String> {
    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    tokio::spawn(async move {
        while let Some(mut text) = rx.recv().await {
            while let Ok(newer) = rx.try_recv() {
                text = newer;
            }
            let Some(path) = path.clone() else { continue };
            let written = tokio::task::spawn_blocking(move || {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                let tmp = path.with_extension("tmp");
                std::fs::write(&tmp, text)?;
                std::fs::rename(&tmp, &path)
            })
            .await;
            match written {
                Ok(Ok(())) => {}
                Ok(Err(err)) => tracing::warn!(%err, "cannot write the history file"),
                Err(err) => tracing::warn!(%err, "history writer failed"),
            }
        }
    });
    tx
}

/// Writes the show file (a temporary file, then a rename, so a crash never
/// leaves half a show).
async fn save_show(path: PathBuf, text: String) -> Result<PathBuf, String> {
    tokio::task::spawn_blocking(move || {
        let tmp = path.with_extension("toml.tmp");
        std::fs::write(&tmp, text)
            .and_then(|()| std::fs::rename(&tmp, &path))
            .map(|()| path.clone())
            .map_err(|err| format!("{}: {err}", path.display()))
    })
    .await
    .map_err(|err| err.to_string())?
}

/// Forwards one connection's events and state changes to the main loop.
async fn forward(
    contact: usize,
    mut state: watch::Receiver<ConnState>,
    mut events: mpsc::UnboundedReceiver<ClientEvent>,
    tx: mpsc::UnboundedSender<Incoming>,
) {
    let first = state.borrow_and_update().clone();
    let _ = tx.send(Incoming::App(AppEvent::Net(NetEvent::State {
        contact,
        state: first,
    })));
    loop {
        let net = tokio::select! {
            event = events.recv() => match event {
                Some(event) => NetEvent::Client { contact, event },
                None => break,
            },
            changed = state.changed() => {
                if changed.is_err() {
                    break;
                }
                let current = state.borrow_and_update().clone();
                NetEvent::State { contact, state: current }
            }
        };
        if tx.send(Incoming::App(AppEvent::Net(net))).is_err() {
            break;
        }
    }
}

/// Has RV forward its events to the Playback tab; the install itself is
/// reported by the connection (after every connect), so only an outcome
/// the connection does not report is posted here.
async fn subscribe(contact: usize, client: RvClient, tx: mpsc::UnboundedSender<Incoming>) {
    let event = match client.subscribe(events::DEFAULT_EVENTS).await {
        Ok(false) => return,
        Ok(true) => ClientEvent::Subscribed {
            events: events::DEFAULT_EVENTS
                .iter()
                .map(|e| e.to_string())
                .collect(),
        },
        Err(err) => ClientEvent::SubscribeFailed {
            reason: err.to_string(),
        },
    };
    let _ = tx.send(Incoming::App(AppEvent::Net(NetEvent::Client {
        contact,
        event,
    })));
}

/// Reads the terminal; mouse motion is dropped here (nothing uses it).
fn spawn_terminal_reader(tx: mpsc::UnboundedSender<Incoming>) {
    tokio::spawn(async move {
        let mut stream = EventStream::new();
        loop {
            let event = match stream.next().await {
                Some(Ok(event)) => event,
                Some(Err(err)) => {
                    let _ = tx.send(Incoming::Stop(format!("terminal input failed: {err}")));
                    return;
                }
                None => {
                    let _ = tx.send(Incoming::Stop("terminal input ended".into()));
                    return;
                }
            };
            let app_event = match event {
                TermEvent::Key(key) => AppEvent::Key(key),
                TermEvent::Mouse(mouse) => match mouse.kind {
                    MouseEventKind::Moved | MouseEventKind::Drag(_) | MouseEventKind::Up(_) => {
                        continue;
                    }
                    _ => AppEvent::Mouse(mouse),
                },
                TermEvent::Resize(w, h) => AppEvent::Resize(w, h),
                TermEvent::Paste(text) => AppEvent::Paste(text),
                TermEvent::FocusGained | TermEvent::FocusLost => continue,
            };
            if tx.send(Incoming::App(app_event)).is_err() {
                return;
            }
        }
    });
}

fn spawn_signal_watch(tx: mpsc::UnboundedSender<Incoming>) {
    use tokio::signal::unix::{SignalKind, signal};
    tokio::spawn(async move {
        let (Ok(mut term), Ok(mut hup)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::hangup()),
        ) else {
            return;
        };
        let mut check = tokio::time::interval(Duration::from_secs(1));
        let why = loop {
            tokio::select! {
                _ = term.recv() => break "SIGTERM received",
                _ = hup.recv() => break "SIGHUP received",
                _ = check.tick() => if super::terminal::hung_up() {
                    break "the terminal hung up";
                },
            }
        };
        let _ = tx.send(Incoming::Stop(why.to_owned()));
    });
}

/// `HH:MM:SS` now, in the local time zone.
fn local_clock() -> String {
    crate::clock::LocalTime::of(std::time::SystemTime::now()).hms()
}

/// Runs the shell until the user quits.
async fn shell(
    configs: Vec<Config>,
    sim: Option<Simulator>,
    history_size: usize,
    expected: Option<String>,
    olad: OladSetup,
    mut notes: Vec<String>,
    cue: Option<CueLink>,
) -> anyhow::Result<()> {
    let OladSetup {
        target: olad_target,
        process: mut olad_process,
        note: olad_note,
        timeout: olad_timeout,
    } = olad;
    // The terminal first: without one there is no point connecting to RV.
    use std::io::IsTerminal;
    anyhow::ensure!(
        std::io::stdin().is_terminal() && std::io::stdout().is_terminal(),
        "the interactive shell needs a terminal; for scripts use the subcommands (rvshell --help)"
    );
    let mut terminal = super::terminal::Terminal::enter().context("cannot set up the terminal")?;
    let (tx, mut rx) = mpsc::unbounded_channel::<Incoming>();
    let mut clients = Vec::new();
    let mut addresses = Vec::new();
    let heartbeat = configs
        .first()
        .and_then(|c| c.heartbeat)
        .map(|hb| hb.interval);
    for (contact, mut config) in configs.into_iter().enumerate() {
        config.reconnect = Some(Reconnect::default());
        addresses.push(config.address());
        // RV's "wants to connect" dialog shows our contact name: say it
        // here. The demo's own simulator asks nobody, and "Connected to
        // rvsim" follows at once: one line says it.
        if sim.is_none() {
            let name = expected.as_deref().unwrap_or("RV");
            notes.push(format!(
                "Connecting to {name} at {} as {}",
                config.address(),
                config.contact
            ));
        }
        let (client, events) = RvClient::spawn(config).context("cannot start the RV connection")?;
        tokio::spawn(forward(contact, client.watch_state(), events, tx.clone()));
        tokio::spawn(subscribe(contact, client.clone(), tx.clone()));
        clients.push(client);
    }
    let path = history_path();
    let history = load_history(path.as_ref(), history_size);
    let history_tx = spawn_history_writer(path);
    let mut app = App::new(addresses, history);
    if let Some(link) = cue {
        notes.push(format!(
            "Show {} loaded ({}); L on the OLA-DMX tab turns the cue link on",
            link.path.display(),
            link.show().summary()
        ));
        app.cue = Some(link);
    }
    app.heartbeat = heartbeat;
    app.clock = local_clock();
    for note in notes {
        app.note(note);
    }
    let pixels = {
        let tx = tx.clone();
        super::pixels::PixelsRunner::new(std::sync::Arc::new(move |event| {
            let _ = tx.send(Incoming::App(AppEvent::Net(NetEvent::Pixels(event))));
        }))
    };
    if let Some(note) = olad_note {
        app.note(note);
    }
    app.dmx.address = match &olad_target {
        OladTarget::Address(addr) => addr.clone(),
        OladTarget::NotInstalled => "(none)".into(),
    };
    let post: super::dmx::Post = {
        let tx = tx.clone();
        std::sync::Arc::new(move |event| {
            let _ = tx.send(Incoming::App(AppEvent::Net(NetEvent::Dmx(event))));
        })
    };
    let mut dmx = DmxRunner::start(olad_target, olad_timeout, post);

    let size = terminal.inner.size()?;
    app.size = Rect::new(0, 0, size.width, size.height);
    // The demo's Pixels tab starts with the built-in test chart loading
    // (after the size is known: the thumbnail is made for the preview).
    if sim.is_some() {
        for command in app.pixels_demo() {
            if let Command::Pixels(command) = command {
                pixels.execute(command, &clients);
            }
        }
    }
    spawn_terminal_reader(tx.clone());
    spawn_signal_watch(tx.clone());

    let mut ticker: Option<(Duration, tokio::time::Interval)> = None;
    let started = tokio::time::Instant::now();
    let mut stop_reason = None;
    'run: loop {
        if app.take_dirty()
            && let Err(err) = terminal.inner.draw(|f| crate::ui::draw(&app, f))
        {
            // Still sign off below: RV should not see us vanish.
            stop_reason = Some(format!("cannot draw: {err}"));
            break 'run;
        }
        let wanted = app.tick_interval();
        if wanted != ticker.as_ref().map(|(period, _)| *period) {
            ticker = wanted.map(|period| {
                let mut interval = tokio::time::interval(period);
                interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
                (period, interval)
            });
        }
        let first = match &mut ticker {
            Some((_, interval)) => tokio::select! {
                incoming = rx.recv() => incoming,
                _ = interval.tick() => Some(Incoming::App(AppEvent::Tick)),
            },
            None => rx.recv().await,
        };
        let Some(first) = first else { break };
        // The feedback lines' time of day, once per wake-up.
        app.clock = local_clock();
        // Handle everything already queued before drawing again.
        let mut next = Some(first);
        while let Some(incoming) = next {
            let event = match incoming {
                Incoming::App(event) => event,
                Incoming::Stop(reason) => {
                    stop_reason = Some(reason);
                    break 'run;
                }
            };
            app.now = started.elapsed();
            for command in app.update(event) {
                match command {
                    Command::Send {
                        request,
                        contact,
                        event,
                        rsvp,
                    } => {
                        let tx = tx.clone();
                        let post = move |net| {
                            let _ = tx.send(Incoming::App(AppEvent::Net(net)));
                        };
                        execute_send(&clients, post, request, contact, event, rsvp);
                    }
                    Command::SaveHistory(text) => {
                        let _ = history_tx.send(text);
                    }
                    Command::SaveShow { path, text } => {
                        let tx = tx.clone();
                        tokio::spawn(async move {
                            let saved = save_show(path, text).await;
                            let _ =
                                tx.send(Incoming::App(AppEvent::Net(NetEvent::ShowSaved(saved))));
                        });
                    }
                    Command::Pixels(command) => pixels.execute(command, &clients),
                    Command::Dmx(command) => dmx.execute(command),
                    Command::Quit => break 'run,
                }
            }
            next = rx.try_recv().ok();
        }
    }
    if let Some(reason) = &stop_reason {
        tracing::info!(%reason, "shell stopping");
    }
    if app.take_dirty() && !super::terminal::hung_up() {
        let _ = terminal.inner.draw(|f| crate::ui::draw(&app, f));
    }
    // Pushes stop between tiles rather than at whatever frame the sign-off
    // lands behind.
    pixels.cancel_all();
    let sign_off = futures_util::future::join_all(clients.iter().map(RvClient::close));
    let (signed_off, ()) = tokio::join!(
        tokio::time::timeout(SIGN_OFF_LIMIT, sign_off),
        dmx.close(app.dmx.final_frame())
    );
    if signed_off.is_err() {
        tracing::warn!("some RV did not take our DISCONNECT in time");
    }
    // Our children before the terminal: printing to a terminal that hung
    // up panics, and the panic hook exits at once.
    if let Some(olad) = &mut olad_process {
        olad.shutdown().await;
    }
    if let Some(sim) = sim {
        sim.shutdown().await;
    }
    tracing::info!("signed off; olad and the simulator stopped");
    drop(terminal);
    match stop_reason {
        Some(reason) if reason.starts_with("cannot draw") => anyhow::bail!(reason),
        Some(reason) => tracing::info!(%reason, "shell stopped"),
        None => {}
    }
    Ok(())
}

/// Carries out a [`Command::Send`] in a task and hands its outcome to
/// `post` (a `Reply` or `Sent` for the request): the main loop never waits
/// on RV.
pub fn execute_send(
    clients: &[RvClient],
    post: impl FnOnce(NetEvent) + Send + 'static,
    request: u64,
    contact: usize,
    event: Event,
    rsvp: bool,
) {
    let Some(client) = clients.get(contact).cloned() else {
        post(NetEvent::Reply {
            request,
            result: Err(format!("no RV connection number {}", contact + 1)),
        });
        return;
    };
    tokio::spawn(async move {
        let net = if rsvp {
            let result = client
                .send_return_event(event)
                .await
                .map_err(|e| e.to_string());
            NetEvent::Reply { request, result }
        } else {
            let result = client.send_event(event).await.map_err(|e| e.to_string());
            NetEvent::Sent { request, result }
        };
        post(net);
    });
}
