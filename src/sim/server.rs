//! The simulator's server: RV's side of the connection (rv-protocol.md §3, §4, §5).
//!
//! What a client sees, exactly as from RV:
//!
//! ```text
//! <- NEWGREETING 25 rvshell-k3x9q2 rvshell     first frame must be a greeting, or abort
//! -> GREETING 5 rvsim                          RV always answers GREETING (§2.1)
//! <- PINGPONGCONTROL 1 0                       heartbeat off for this connection
//! <- MESSAGE 54 RETURNEVENT remote-eval * play();"FRAME = " + frame();
//! -> MESSAGE 18 RETURN "FRAME = 1"             one RETURN per RETURNEVENT, in order
//! <- MESSAGE 10 DISCONNECT                     closes cleanly
//! ```
//!
//! RV's rules reproduced here:
//! - The first frame must be `GREETING` or `NEWGREETING`; anything else aborts
//!   the socket ("connection aborted because of bad greeting").
//! - Contacts are `name@host`, the host `localhost` for a loopback peer (what
//!   RV's reverse lookup gives, rv-events.md §1) and the peer's IP address
//!   otherwise; a duplicate is refused by dropping the socket without any
//!   reply (§3).
//! - Heartbeat is on for every connection until the client sends
//!   `PINGPONGCONTROL 1 0`: a PING after each `interval` of silence, and an
//!   abort when nothing has arrived for `timeout` (§5; RV's defaults are 15 s
//!   and 600 s). Any frame counts as a sign of life. PINGs are answered.
//! - `remote-eval`, `remote-pyeval` and `remote-pyexec` events run in the
//!   evaluator ([`crate::sim::mu`]); a RETURNEVENT always gets exactly one
//!   RETURN, empty when nothing handles it (§4). EVENTs never get one.
//! - Handlers uploaded with `remote-eval` (rv-events.md §2) run when RV
//!   events fire, and their `remoteSendEvent` sends `MESSAGE n EVENT <event>
//!   <target> <contents>` to the connections named (rv-events.md §1, §4):
//!
//!   ```text
//!   <- MESSAGE .. RETURNEVENT remote-eval * require commands; function: h (void; Event event) ...; true;
//!   -> MESSAGE 11 RETURN true
//!   (another client: setFrame(7))
//!   -> MESSAGE 23 EVENT frame-changed * 7
//!   ```
//!
//!   Every connection gets its EVENTs in the order they were fired, and the
//!   EVENTs a client's own request fired come before that request's RETURN
//!   (RV runs the handlers synchronously during the eval). EVENTs for a
//!   client that has stopped reading are dropped beyond
//!   [`MAX_OUTBOX_BYTES`]. Bindings and user functions belong to the
//!   simulator, not to a connection (RV's runtime is global).
//! - A playback clock fires `frame-changed` once per displayed frame while
//!   playing, at times computed from when playback started (no drift);
//!   [`Simulator::fire_event`] fires any event by name.
//! - A client-sent RETURN is ignored (§4). DATAEVENTs are logged. PIXELTILEs
//!   go to the image sources' pixel storage ([`crate::sim::canvas`]), which
//!   validates them as RV does and also rejects tiles outside the image;
//!   a rejected tile is logged and, as in RV, nothing is sent back (§7.2).
//!   A tile of [`DIRECT_MIN`] bytes or more is checked from its header
//!   alone and received straight into its image's rows
//!   ([`crate::sim::canvas::Canvas::check_out`]); unlike RV, which takes
//!   the whole payload first, a connection lost mid-tile leaves the bytes
//!   that arrived in the image, and the tile counts as not received.
//! - With a dump directory, completed images are written as files off the
//!   async workers ([`Simulator::flush_dumps`] waits for them).
//! - On shutdown every connection is signed off with DISCONNECT, as RV does
//!   when networking stops.
//!
//! Nothing from the network is executed beyond the evaluator's fixed set of commands.

use crate::rv::frame::{Frame, Limits};
use crate::rv::message::Message;
use crate::rv::pixels::TileHeader;
use crate::rv::reader::{DIRECT_MIN, FrameReader, Item, Landing, Router, RowsMut};
use crate::sim::canvas::{
    Canvas, CanvasConfig, CanvasError, Checkout, DEFAULT_MEMORY_BUDGET, DumpError, DumpWriter,
    InsertOutcome,
};
use crate::sim::lock;
use crate::sim::mu::{Effect, Session};
use bytes::BytesMut;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// How the simulator behaves.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Address to listen on (127.0.0.1 by default).
    pub bind: SocketAddr,
    /// The name RV greets with.
    pub name: String,
    /// Silence before the simulator pings a client (RV: 15 s).
    pub ping_interval: Duration,
    /// Silence after which a client is dropped (RV: 600 s).
    pub pong_timeout: Duration,
    /// Limits on what clients may send.
    pub limits: Limits,
    /// Directory to write completed images into (`rvshell sim --dump DIR`;
    /// see [`crate::sim::canvas`] for the file names). Created if missing.
    pub dump: Option<PathBuf>,
    /// Most bytes the image sources' pixel storage may hold at once.
    pub canvas_memory: u64,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], crate::rv::DEFAULT_PORT)),
            name: "rvsim".into(),
            ping_interval: Duration::from_secs(15),
            pong_timeout: Duration::from_secs(600),
            // As liberal as RV in what it accepts (rv-protocol.md §13).
            limits: Limits {
                lenient: true,
                ..Limits::default()
            },
            dump: None,
            canvas_memory: DEFAULT_MEMORY_BUDGET,
        }
    }
}

impl SimConfig {
    /// The defaults on 127.0.0.1, on a port the system picks (read it back
    /// with [`Simulator::local_addr`]): for `rvshell demo`, tests and
    /// benchmarks, which must not collide with a real RV.
    pub fn any_port() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            ..Self::default()
        }
    }
}

/// Most bytes waiting to be written to one connection before further
/// EVENTs to it are dropped (a client that stopped reading).
pub const MAX_OUTBOX_BYTES: usize = 64 << 20;

/// State shared by every connection: RV's session (which also holds the
/// connected contacts) and each connection's outbox.
#[derive(Default)]
struct Shared {
    session: Session,
    outboxes: HashMap<String, Arc<Outbox>>,
}

/// What is waiting to be written to one connection: answers and EVENTs,
/// encoded in the order they happened. Frames for other connections are
/// encoded under the `shared` lock, so every connection sees events in the
/// order they were fired.
#[derive(Default)]
struct Outbox {
    bytes: Mutex<BytesMut>,
    ready: Notify,
}

impl Outbox {
    /// Encodes `frame`; an EVENT for a client that has stopped reading is
    /// dropped (logged) once [`MAX_OUTBOX_BYTES`] are waiting.
    fn push(&self, contact: &str, frame: &Frame, droppable: bool) {
        let mut bytes = lock(&self.bytes);
        if droppable && bytes.len() >= MAX_OUTBOX_BYTES {
            tracing::warn!(%contact, "client is not reading; event dropped");
            return;
        }
        if let Err(err) = frame.encode(&mut bytes) {
            tracing::error!(%contact, %err, "frame not sendable");
        }
        drop(bytes);
        self.ready.notify_one();
    }

    /// Everything waiting, leaving the outbox empty.
    fn take(&self) -> BytesMut {
        lock(&self.bytes).split()
    }
}

/// The state one connection works on. Lock order: `shared`, then `canvas`,
/// then an outbox.
#[derive(Clone)]
struct State {
    shared: Arc<Mutex<Shared>>,
    canvas: Arc<Mutex<Canvas>>,
    /// Wakes the playback clock after anything that may start playback or
    /// change its rate.
    clock: Arc<Notify>,
}

/// A running simulator. Dropping it stops accepting; [`Simulator::shutdown`]
/// also signs off every client and writes pending dump files.
pub struct Simulator {
    local_addr: SocketAddr,
    state: State,
    stop: CancellationToken,
    task: Option<tokio::task::JoinHandle<()>>,
    dump_stop: CancellationToken,
    dumper: Option<DumpWriter>,
}

impl Simulator {
    /// Binds and starts accepting connections; with [`SimConfig::dump`],
    /// creates the directory if needed and starts the dump writer.
    pub async fn start(config: SimConfig) -> std::io::Result<Self> {
        if let Some(dir) = &config.dump {
            std::fs::create_dir_all(dir).map_err(|err| {
                std::io::Error::new(
                    err.kind(),
                    format!("cannot create dump directory {}: {err}", dir.display()),
                )
            })?;
        }
        let listener = TcpListener::bind(config.bind).await?;
        let local_addr = listener.local_addr()?;
        let mut shared = Shared::default();
        shared.session.set_local_contact_name(&config.name);
        let state = State {
            shared: Arc::new(Mutex::new(shared)),
            canvas: Arc::new(Mutex::new(Canvas::new(CanvasConfig {
                memory_budget: config.canvas_memory,
                ..CanvasConfig::default()
            }))),
            clock: Arc::new(Notify::new()),
        };
        let dump_stop = CancellationToken::new();
        let dumper = config
            .dump
            .clone()
            .map(|dir| DumpWriter::spawn(state.canvas.clone(), dir, dump_stop.clone()));
        let stop = CancellationToken::new();
        tokio::spawn(playback_clock(state.clone(), stop.clone()));
        let task = tokio::spawn(accept_loop(
            listener,
            Arc::new(config),
            state.clone(),
            stop.clone(),
        ));
        tracing::info!(%local_addr, "simulator listening");
        Ok(Self {
            local_addr,
            state,
            stop,
            task: Some(task),
            dump_stop,
            dumper,
        })
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Runs `f` on the image sources' pixels (see [`Canvas::image`] and
    /// [`Canvas::stats`]).
    pub fn with_canvas<T>(&self, f: impl FnOnce(&Canvas) -> T) -> T {
        f(&lock(&self.state.canvas))
    }

    /// Writes every complete image with unwritten changes now and returns
    /// once all dump writes are done: the number of files this flush wrote,
    /// or the first error. `Ok(0)` without a dump directory.
    pub async fn flush_dumps(&self) -> Result<usize, DumpError> {
        match &self.dumper {
            Some(dumper) => dumper.flush().await,
            None => Ok(0),
        }
    }

    /// The contacts currently connected, as `name@host` (host `localhost`
    /// for a loopback peer, else the peer's IP address), sorted.
    pub fn contacts(&self) -> Vec<String> {
        let mut contacts = lock(&self.state.shared).session.connections().to_vec();
        contacts.sort();
        contacts
    }

    /// Fires RV event `name` with `contents` through the bindings exactly
    /// as the session does when its state changes (rv-events.md §3): the
    /// bound handlers run now, and the EVENT frames they send are queued
    /// for their connections before this returns. For benchmarks and tests
    /// ("sim fires -> client receives").
    pub fn fire_event(&self, name: &str, contents: &str) {
        let mut shared = lock(&self.state.shared);
        shared
            .session
            .fire_event(name, contents, std::time::Instant::now());
        apply_effects(&self.state, &mut shared);
        drop(shared);
        self.state.clock.notify_one();
    }

    /// How many times RV event `name` has fired so far (from the clock,
    /// commands or [`Simulator::fire_event`]).
    pub fn events_fired(&self, name: &str) -> u64 {
        lock(&self.state.shared).session.fired_count(name)
    }

    /// Signs off every client with DISCONNECT, closes, writes the pending
    /// dump files, and waits.
    pub async fn shutdown(mut self) {
        self.stop.cancel();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        self.dump_stop.cancel();
        if let Some(dumper) = self.dumper.take() {
            dumper.join().await;
        }
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        self.stop.cancel();
        self.dump_stop.cancel();
    }
}

async fn accept_loop(
    listener: TcpListener,
    config: Arc<SimConfig>,
    state: State,
    stop: CancellationToken,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    connections.spawn(serve(stream, peer, config.clone(), state.clone(), stop.clone()));
                }
                Err(err) => {
                    tracing::warn!(%err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    while connections.join_next().await.is_some() {}
}

/// Runs the playback clock: while playing, wakes once per displayed frame
/// (at times computed from the moment playback started, so late wake-ups
/// never accumulate into drift) and fires `frame-changed` for the frame
/// now shown (rv-events.md §3). A wake-up late by more than a frame fires
/// once, for the frame shown then, as a player that drops frames does.
async fn playback_clock(state: State, stop: CancellationToken) {
    loop {
        let due = {
            let mut shared = lock(&state.shared);
            let now = std::time::Instant::now();
            shared.session.tick(now);
            apply_effects(&state, &mut shared);
            shared.session.next_frame_at(now)
        };
        let sleep = async {
            match due {
                Some(due) => tokio::time::sleep_until(Instant::from_std(due)).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = state.clock.notified() => {}
            _ = sleep => {}
        }
    }
}

/// The contact name RV shows for a peer: `name@host`, with the host
/// `localhost` for a loopback peer (what RV's reverse lookup gives), else
/// the peer's address (rv-events.md §1).
fn contact_name(name: &str, peer: SocketAddr) -> String {
    let ip = peer.ip();
    let loopback = ip.is_loopback()
        || matches!(ip, std::net::IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()));
    if loopback {
        format!("{name}@localhost")
    } else {
        format!("{name}@{ip}")
    }
}

/// Removes the contact and its outbox when the connection ends, however
/// it ends.
struct ContactGuard {
    shared: Arc<Mutex<Shared>>,
    contact: String,
}

impl Drop for ContactGuard {
    fn drop(&mut self) {
        let mut shared = lock(&self.shared);
        shared.session.remove_connection(&self.contact);
        shared.outboxes.remove(&self.contact);
    }
}

async fn serve(
    stream: TcpStream,
    peer: SocketAddr,
    config: Arc<SimConfig>,
    state: State,
    stop: CancellationToken,
) {
    let shared = &state.shared;
    let _ = stream.set_nodelay(true);
    let (read_half, mut write_half) = stream.into_split();
    let mut frames = FrameReader::new(read_half, config.limits);
    let mut out = BytesMut::new();
    let stopped = stop.cancelled();
    tokio::pin!(stopped);

    let name = tokio::select! {
        _ = &mut stopped => return,
        _ = tokio::time::sleep(config.pong_timeout) => {
            tracing::warn!(%peer, "connection timed out waiting for a greeting");
            return;
        }
        first = frames.next() => match first {
            Some(Ok(Frame::NewGreeting { contact, .. })) => contact,
            Some(Ok(Frame::Greeting(name))) => name,
            other => {
                tracing::warn!(%peer, first = ?other.map(|f| f.map(|f| f.type_name().to_owned())), "connection aborted because of bad greeting");
                return;
            }
        },
    };
    let contact = contact_name(&name, peer);
    let outbox = Arc::new(Outbox::default());
    {
        let mut shared = lock(shared);
        if !shared.session.add_connection(&contact) {
            tracing::error!("RvNetwork: '{contact}' is already connected.");
            return;
        }
        shared.outboxes.insert(contact.clone(), outbox.clone());
    }
    let _guard = ContactGuard {
        shared: shared.clone(),
        contact: contact.clone(),
    };
    if send(
        &mut write_half,
        &mut out,
        &Frame::Greeting(config.name.clone()),
    )
    .await
    .is_err()
    {
        return;
    }
    tracing::info!(%contact, "connected");
    frames.route(tile_router(&state, &contact));

    let mut last_heard = Instant::now();
    let mut heartbeat = true;
    // Moved only when a PING is due sooner than it is set for, not per frame.
    let ping = tokio::time::sleep_until(last_heard + config.ping_interval);
    tokio::pin!(ping);
    'session: loop {
        let first = tokio::select! {
            // Frames first: a busy client is served before anything else
            // is looked at (the runtime's budget still yields in between).
            biased;
            item = frames.next_item() => item,
            _ = &mut stopped => {
                let _ = write_half.write_all(&outbox.take()).await;
                let _ = send(&mut write_half, &mut out, &Frame::Message("DISCONNECT".into())).await;
                break;
            }
            _ = outbox.ready.notified() => {
                // EVENTs other connections' requests (or the clock) fired.
                if write_half.write_all(&outbox.take()).await.is_err() { break; }
                continue;
            }
            _ = &mut ping, if heartbeat => {
                let due = last_heard + config.ping_interval;
                if Instant::now() < due {
                    ping.as_mut().reset(due);
                    continue;
                }
                if last_heard.elapsed() > config.pong_timeout {
                    tracing::warn!(%contact, "connection aborted because response was too slow");
                    break;
                }
                ping.as_mut().reset(Instant::now() + config.ping_interval);
                if send(&mut write_half, &mut out, &Frame::Ping).await.is_err() { break; }
                continue;
            }
        };
        let Some(first) = first else {
            tracing::info!(%contact, "disconnected");
            break;
        };
        last_heard = Instant::now();
        // Everything already read is handled before the answers go out
        // together, so pipelined requests cost one write.
        let mut next = Some(first);
        while let Some(item) = next.take() {
            let frame = match item {
                Ok(Item::Frame(frame)) => frame,
                // The landing has written and logged the tile.
                Ok(Item::Landed { .. }) => {
                    next = frames.next_buffered_item();
                    continue;
                }
                Err(err) => {
                    // RV would stop answering and keep the socket open
                    // (rv-protocol.md §13); closing is kinder to a client
                    // waiting for an answer.
                    tracing::warn!(%contact, %err, "closing connection (RV would stop answering it)");
                    // The frames before it were handled: their answers go out.
                    let _ = write_half.write_all(&outbox.take()).await;
                    break 'session;
                }
            };
            match handle(&state, &contact, &outbox, &mut frames, frame) {
                Handled::Reply(reply) => outbox.push(&contact, &reply, false),
                Handled::Nothing => {}
                Handled::HeartbeatOff => heartbeat = false,
                Handled::HeartbeatOn => {
                    heartbeat = true;
                    ping.as_mut().reset(last_heard + config.ping_interval);
                }
                Handled::SignedOff => {
                    tracing::info!(%contact, "signed off");
                    let _ = write_half.write_all(&outbox.take()).await;
                    break 'session;
                }
            }
            next = frames.next_buffered_item();
        }
        let pending = outbox.take();
        if !pending.is_empty() && write_half.write_all(&pending).await.is_err() {
            break;
        }
    }
}

/// What handling one frame asks of the connection.
enum Handled {
    Reply(Frame),
    Nothing,
    HeartbeatOff,
    HeartbeatOn,
    SignedOff,
}

/// Handles one frame after the greeting.
fn handle(
    state: &State,
    contact: &str,
    outbox: &Outbox,
    frames: &mut FrameReader<OwnedReadHalf>,
    frame: Frame,
) -> Handled {
    match frame {
        Frame::Ping => Handled::Reply(Frame::Pong),
        Frame::Pong | Frame::Greeting(_) | Frame::NewGreeting { .. } => Handled::Nothing,
        Frame::PingPongControl(true) => Handled::HeartbeatOn,
        Frame::PingPongControl(false) => Handled::HeartbeatOff,
        Frame::Message(text) => match Message::parse(&text) {
            Message::ReturnEvent(event) => {
                run_event(state, &event.name, &event.contents, Some((contact, outbox)));
                Handled::Nothing
            }
            Message::Event(event) => {
                run_event(state, &event.name, &event.contents, None);
                Handled::Nothing
            }
            Message::Disconnect => Handled::SignedOff,
            Message::Return(_) | Message::Other(_) => Handled::Nothing,
        },
        Frame::Data { header, payload } => {
            match TileHeader::parse(&header) {
                // Bound to nothing here (§7.1, §7.2).
                Some(tile) if !tile.inserts_pixels() => {
                    tracing::info!(%contact, %header, "pixel tile for an event with no handler")
                }
                Some(tile) => {
                    let result = lock(&state.canvas).insert(&tile, &payload);
                    log_tile(contact, &header, result);
                    // A large payload owns its buffer (see FrameReader):
                    // it comes back for the next one.
                    if payload.len() >= DIRECT_MIN
                        && let Ok(buffer) = payload.try_into_mut()
                    {
                        frames.recycle(buffer.into());
                    }
                }
                None => tracing::info!(%contact, %header, bytes = payload.len(), "data event"),
            }
            Handled::Nothing
        }
    }
}

/// Logs what became of a tile.
fn log_tile(contact: &str, header: &str, result: Result<InsertOutcome, CanvasError>) {
    match result {
        Ok(outcome) => {
            for image in &outcome.completed {
                tracing::info!(%contact, %image, "image complete");
            }
        }
        // RV prints the error and sends nothing back (§7.2).
        Err(err) => tracing::error!(%contact, %header, %err, "bad pixel block received"),
    }
}

/// Sends large PIXELTILE payloads straight into their image's rows when the
/// canvas can take them so ([`Canvas::check_out`]); the others are read
/// whole and inserted, which reports why a tile is refused.
fn tile_router(state: &State, contact: &str) -> Router {
    let (state, contact) = (state.clone(), contact.to_owned());
    Box::new(move |header, len| {
        let tile = TileHeader::parse(header).filter(TileHeader::inserts_pixels)?;
        let checkout = lock(&state.canvas).check_out(&tile, len)?;
        Some(Box::new(TileLanding {
            state: state.clone(),
            contact: contact.clone(),
            header: header.to_owned(),
            checkout: Some(checkout),
        }))
    })
}

/// A tile received straight into its image's storage, which goes back to
/// the canvas when the reading ends, however it ends.
struct TileLanding {
    state: State,
    contact: String,
    header: String,
    checkout: Option<Checkout>,
}

impl TileLanding {
    fn check_in(&mut self, received: usize) {
        if let Some(checkout) = self.checkout.take() {
            let result = lock(&self.state.canvas).check_in(checkout, received);
            log_tile(&self.contact, &self.header, result);
        }
    }
}

impl Landing for TileLanding {
    fn rows(&mut self) -> RowsMut<'_> {
        self.checkout
            .as_mut()
            .map(Checkout::rows)
            .unwrap_or_default()
    }

    fn finish(mut self: Box<Self>, received: usize) {
        self.check_in(received);
    }
}

impl Drop for TileLanding {
    /// Never left out of the canvas, even if not finished.
    fn drop(&mut self) {
        self.check_in(0);
    }
}

/// Writes one frame now (greeting, heartbeat, sign-off).
async fn send(
    socket: &mut OwnedWriteHalf,
    out: &mut BytesMut,
    frame: &Frame,
) -> std::io::Result<()> {
    frame.encode(out).map_err(std::io::Error::other)?;
    let result = socket.write_all(out).await;
    out.clear();
    result
}

/// Runs one event through RV's default handlers (rv-protocol.md §4),
/// hands its effects to the canvas and the connections, and for a
/// RETURNEVENT queues the RETURN on `reply`'s outbox. All of it happens
/// under the shared lock, so the EVENTs the request's handlers sent to its
/// own client go out before its RETURN (RV runs them synchronously during
/// the eval, rv-events.md §4).
fn run_event(state: &State, name: &str, contents: &str, reply: Option<(&str, &Outbox)>) {
    let now = std::time::Instant::now();
    let mut shared = lock(&state.shared);
    let value = shared
        .session
        .handle_event(name, contents, now)
        .unwrap_or_else(|| {
            tracing::debug!(event = name, "no handler bound");
            String::new()
        });
    apply_effects(state, &mut shared);
    if let Some((contact, outbox)) = reply {
        outbox.push(contact, &Frame::Message(format!("RETURN {value}")), false);
    }
    drop(shared);
    state.clock.notify_one();
}

/// Drains the session's effects: `remoteSendEvent` messages go to the
/// matching connections' outboxes (rv-events.md §1: every recipient equal
/// to a connection's `name@host`, all of them for nil, nothing and no
/// error for an unknown one), the rest to the canvas.
fn apply_effects(state: &State, shared: &mut Shared) {
    let effects = shared.session.take_effects();
    if effects.is_empty() {
        return;
    }
    let mut canvas = None;
    for effect in effects {
        tracing::debug!(?effect, "session effect");
        match effect {
            Effect::SendEvent {
                recipients,
                message,
            } => {
                let frame = Frame::Message(message);
                for (contact, outbox) in &shared.outboxes {
                    let wanted = recipients
                        .as_ref()
                        .is_none_or(|r| r.iter().any(|c| c == contact));
                    if wanted {
                        outbox.push(contact, &frame, true);
                    }
                }
            }
            effect => {
                let canvas = canvas.get_or_insert_with(|| lock(&state.canvas));
                if let Err(err) = canvas.apply(&effect, &shared.session) {
                    tracing::error!(?effect, %err, "pixel storage not allocated");
                }
            }
        }
    }
}
