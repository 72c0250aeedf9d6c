//! The connection engine: one background actor per RV connection, driven
//! through a cloneable [`RvClient`] handle (rv-protocol.md §3, §4, §5, §9).
//!
//! A session on the wire, as this engine runs it:
//!
//! ```text
//! -> NEWGREETING 25 rvshell-k3x9q2 rvshell     greet at once, unique contact (§3)
//! <- GREETING 4 jdoe                           RV's name (NEWGREETING also accepted)
//! -> PINGPONGCONTROL 1 0                       unless heartbeat is on (§5)
//! -> MESSAGE 32 RETURNEVENT remote-eval * frame()
//! <- PING 1 p                                  answered at once, reported as an event
//! -> PONG 1 p
//! <- MESSAGE 8 RETURN 12                       matched FIFO to the oldest RETURNEVENT
//! -> MESSAGE 10 DISCONNECT                     on close; then wait <= 250 ms for EOF (§9)
//! ```
//!
//! Design:
//! - One actor task per connection owns the handshake, the reconnects and
//!   the read half: it reads the socket all the time (so it is always
//!   drained), answers PINGs, completes requests as their answers arrive, and
//!   runs the timer for deadlines and the heartbeat.
//! - Handles never wait for the actor to send. While connected, a handle
//!   writes its request itself, under the lock it shares with the actor, and
//!   records what it waits for under the same lock, so the wire order is the
//!   RETURN FIFO's order and a request costs no task hop. While connecting,
//!   requests wait in order and go out once greeted; while waiting to retry,
//!   they are refused at once.
//! - A writer task owns the slow path of the write half: small frames queued
//!   together go out in one write, data frames as head + payload in one
//!   vectored write without copying the payload. A small frame is written
//!   straight to the socket when nothing is queued before it.
//! - RETURNs carry no id (§4), so pending RETURNEVENTs form a FIFO. A request
//!   that times out fails alone but keeps its place in the FIFO, so its late
//!   RETURN is consumed by it (and reported) instead of being handed to the
//!   next request. A RETURN with nothing pending is reported, not dropped.
//! - An incoming RETURNEVENT is answered with an empty RETURN so the peer never
//!   blocks waiting for us.
//! - When the connection is lost every pending request fails with the reason;
//!   with [`Reconnect`] configured the actor retries with capped exponential
//!   backoff and commands sent meanwhile are refused at once.

use crate::rv::codec::CodecError;
use crate::rv::frame::{EncodeError, Frame, Limits, check_token, encode_data_head};
use crate::rv::message::{Event, Message};
use crate::rv::reader::FrameReader;
use bytes::{Bytes, BytesMut};
use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::{Instant, sleep, timeout};

/// The application name we greet with. Never `rv`: that would make RV start
/// syncing with us (§3).
pub const APP_NAME: &str = "rvshell";

/// How long to wait for the peer's EOF after our DISCONNECT (§9).
pub const CLOSE_GRACE: Duration = Duration::from_millis(250);

/// A fresh contact name, `rvshell-<6 random characters>`, so two shells on one
/// host never collide as duplicate contacts (§3).
pub fn random_contact_name() -> String {
    let suffix: String = std::iter::repeat_with(fastrand::alphanumeric)
        .take(6)
        .collect::<String>()
        .to_ascii_lowercase();
    format!("rvshell-{suffix}")
}

/// Heartbeat settings: ping after `interval` of silence, give up after
/// `timeout` without any frame from the peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Heartbeat {
    /// Silence after which we send `PING 1 p`.
    pub interval: Duration,
    /// Silence after which the connection is declared dead.
    pub timeout: Duration,
}

/// Reconnect policy: capped exponential backoff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reconnect {
    /// First delay.
    pub initial: Duration,
    /// Largest delay.
    pub max: Duration,
}

impl Default for Reconnect {
    fn default() -> Self {
        Self {
            initial: Duration::from_millis(250),
            max: Duration::from_secs(10),
        }
    }
}

/// Everything a connection needs to know.
#[derive(Debug, Clone)]
pub struct Config {
    /// Host name or address of RV.
    pub host: String,
    /// RV's port.
    pub port: u16,
    /// Our contact name (no spaces; avoid `@`).
    pub contact: String,
    /// Our application name (no spaces; never `rv`).
    pub app: String,
    /// `None`: send `PINGPONGCONTROL 1 0` after the handshake, as rvshell does.
    pub heartbeat: Option<Heartbeat>,
    /// Limit for TCP connect plus the peer's greeting.
    pub handshake_timeout: Duration,
    /// Limit for each RETURNEVENT's RETURN, and each PING's PONG.
    pub request_timeout: Duration,
    /// `None`: the first failure or loss ends the client.
    pub reconnect: Option<Reconnect>,
    /// Frame size limits for what the peer sends.
    pub limits: Limits,
}

impl Config {
    /// Defaults: random contact, app `rvshell`, no heartbeat, 10 s handshake,
    /// 30 s requests (TwkQtChat's wait), no reconnect.
    pub fn new(host: impl Into<String>, port: u16) -> Self {
        Self {
            host: host.into(),
            port,
            contact: random_contact_name(),
            app: APP_NAME.to_owned(),
            heartbeat: None,
            handshake_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            reconnect: None,
            limits: Limits::default(),
        }
    }

    /// `host:port` for messages.
    pub fn address(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// The state of a connection, as a watchable value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnState {
    /// Connecting or waiting for the peer's greeting.
    Connecting {
        /// 1 for the first attempt.
        attempt: u32,
    },
    /// Handshake done.
    Connected {
        /// The name from the peer's greeting.
        peer: String,
    },
    /// Lost or refused; the next attempt is scheduled.
    Retrying {
        /// Why the last attempt failed or the connection was lost.
        reason: String,
        /// Delay before the next attempt.
        delay: Duration,
    },
    /// Finished: closed by us, or lost with no reconnect policy.
    Closed {
        /// Why.
        reason: String,
    },
}

/// What the connection reports, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientEvent {
    /// Handshake done.
    Connected {
        /// The name from the peer's greeting.
        peer: String,
        /// The peer's app (`rv` for a plain GREETING).
        app: String,
    },
    /// The connection ended. `retry_in` is set when a reconnect is scheduled.
    Disconnected {
        /// What happened, in words for the user.
        reason: String,
        /// Delay before the next attempt, if any.
        retry_in: Option<Duration>,
    },
    /// An EVENT from the peer.
    Event(Event),
    /// A RETURNEVENT from the peer; it has already been answered with an empty RETURN.
    ReturnEvent(Event),
    /// A RETURN that matched no pending request.
    UnexpectedReturn(String),
    /// The RETURN of a request that had already timed out.
    LateReturn {
        /// The code of the request that timed out.
        request: String,
        /// The RETURN payload.
        value: String,
    },
    /// A MESSAGE of an unknown sub-type.
    OtherMessage(String),
    /// A data frame from the peer (DATAEVENT, PIXELTILE, ...).
    Data {
        /// The frame's header token.
        header: String,
        /// Its payload.
        payload: Bytes,
    },
    /// The peer pinged us (answered already).
    Ping,
    /// The peer sent DISCONNECT.
    PeerSignedOff,
}

/// Why a connection attempt failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConnectError {
    /// Name resolution failed.
    #[error("cannot resolve {addr}: {reason}")]
    Resolve {
        /// The address.
        addr: String,
        /// The resolver's message.
        reason: String,
    },
    /// TCP connect failed.
    #[error(
        "cannot connect to RV at {addr}: {reason}; is RV running with networking on (rv -network), or `rvshell sim`?"
    )]
    Connect {
        /// The address.
        addr: String,
        /// The OS message.
        reason: String,
    },
    /// No greeting in time.
    #[error(
        "no GREETING from {addr} within {secs} s; if RV shows a 'wants to connect' dialog, allow it"
    )]
    HandshakeTimeout {
        /// The address.
        addr: String,
        /// The limit.
        secs: f64,
    },
    /// The peer closed without greeting: RV's way of refusing.
    #[error(
        "RV at {addr} closed the connection without a GREETING: contact name {contact:?} is already connected, or the connection was denied"
    )]
    Rejected {
        /// The address.
        addr: String,
        /// Our contact name.
        contact: String,
    },
    /// The peer sent something other than a greeting first.
    #[error("{addr} is not speaking RV's protocol: {detail}")]
    Protocol {
        /// The address.
        addr: String,
        /// What arrived.
        detail: String,
    },
    /// Our configuration cannot be sent.
    #[error(transparent)]
    Config(#[from] EncodeError),
}

/// Why a request failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RequestError {
    /// Not connected right now; nothing was sent.
    #[error("not connected to RV at {addr} ({state}); nothing was sent")]
    NotConnected {
        /// The address.
        addr: String,
        /// The state, in words.
        state: String,
    },
    /// The connection went away before the answer arrived.
    #[error("connection to RV at {addr} lost before the answer: {reason}")]
    Lost {
        /// The address.
        addr: String,
        /// Why.
        reason: String,
    },
    /// No answer in time.
    #[error(
        "RV at {addr} did not answer within {secs} s (it may be busy; the answer will be reported if it comes)"
    )]
    Timeout {
        /// The address.
        addr: String,
        /// The limit.
        secs: f64,
    },
    /// The request cannot be sent as given.
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// The client has been closed.
    #[error("the connection to RV has been closed")]
    Closed,
}

/// A request from a handle. While connected, the handle carries it out
/// itself under the link's lock; while connecting, it waits in the link.
enum Request {
    ReturnEvent {
        /// The MESSAGE text, already encoded and checked.
        text: String,
        /// The code, for reporting a late RETURN.
        code: String,
        reply: oneshot::Sender<Result<String, RequestError>>,
    },
    Send {
        frame: Frame,
        done: oneshot::Sender<Result<(), RequestError>>,
    },
    SendData {
        frames: Vec<DataFrame>,
        done: oneshot::Sender<Result<(), RequestError>>,
    },
    Ping {
        reply: oneshot::Sender<Result<Duration, RequestError>>,
    },
}

impl Request {
    /// Fails the request without sending anything.
    fn refuse(self, err: RequestError) {
        match self {
            Request::ReturnEvent { reply, .. } => {
                let _ = reply.send(Err(err));
            }
            Request::Send { done, .. } | Request::SendData { done, .. } => {
                let _ = done.send(Err(err));
            }
            Request::Ping { reply } => {
                let _ = reply.send(Err(err));
            }
        }
    }
}

/// Asks the actor to sign off.
struct Close {
    done: oneshot::Sender<()>,
}

/// What the handles and the actor share: where a request goes right now.
///
/// While connected, a handle writes its request to the socket itself (no hop
/// through the actor task) and records what it waits for, both under the
/// lock, so the order of the RETURN FIFO is the order on the wire. The actor
/// reads the socket and completes what arrives.
struct Link {
    route: std::sync::Mutex<Route>,
    /// Wakes the actor when a request's deadline comes before its timer.
    wake: tokio::sync::Notify,
    addr: String,
}

enum Route {
    /// Connecting: requests wait for the session, in order.
    Waiting(VecDeque<Request>),
    /// Connected: requests go out at once.
    Live(Live),
    /// Waiting to retry after a failure: requests are refused at once.
    Down(String),
    /// Closed for good.
    Closed,
}

impl Link {
    fn lock(&self) -> std::sync::MutexGuard<'_, Route> {
        // Nothing under this lock can leave it half-changed.
        self.route
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Carries out a request, queues it, or refuses it, by the route.
    fn submit(&self, request: Request) -> Result<(), RequestError> {
        let mut route = self.lock();
        match &mut *route {
            Route::Live(live) => {
                if live.submit(request) {
                    self.wake.notify_one();
                }
            }
            Route::Waiting(queue) => queue.push_back(request),
            Route::Down(reason) => {
                return Err(RequestError::NotConnected {
                    addr: self.addr.clone(),
                    state: format!("retrying after: {reason}"),
                });
            }
            Route::Closed => return Err(RequestError::Closed),
        }
        Ok(())
    }

    /// Switches the route; requests that were waiting are refused with
    /// `reason` (they were never sent).
    fn reroute(&self, next: Route, reason: &str) -> Option<Live> {
        let old = std::mem::replace(&mut *self.lock(), next);
        match old {
            Route::Live(live) => Some(live),
            Route::Waiting(queue) => {
                for request in queue {
                    request.refuse(RequestError::NotConnected {
                        addr: self.addr.clone(),
                        state: reason.to_owned(),
                    });
                }
                None
            }
            Route::Down(_) | Route::Closed => None,
        }
    }
}

/// A connected session's requests in flight.
struct Live {
    outbox: Outbox,
    pending: VecDeque<Pending>,
    pings: VecDeque<PendingPing>,
    request_timeout: Duration,
    /// When the actor's timer fires, if it is armed: a request due before
    /// then must wake the actor.
    timer_at: Option<Instant>,
}

impl Live {
    /// Sends a request; true if its deadline needs the actor's timer moved.
    fn submit(&mut self, request: Request) -> bool {
        match request {
            Request::ReturnEvent { text, code, reply } => {
                let deadline = Instant::now() + self.request_timeout;
                self.pending.push_back(Pending {
                    code,
                    deadline,
                    reply: Some(reply),
                });
                self.outbox.send(Frame::Message(text), None);
                self.timer_at.is_none_or(|at| at > deadline)
            }
            Request::Send { frame, done } => {
                self.outbox.send(frame, Some(done));
                false
            }
            Request::SendData { frames, done } => {
                self.outbox.queue_job(Out::Data(frames), Some(done));
                false
            }
            Request::Ping { reply } => {
                let sent = Instant::now();
                let deadline = sent + self.request_timeout;
                self.pings.push_back(PendingPing {
                    sent,
                    deadline,
                    reply: Some(reply),
                });
                self.outbox.send(Frame::Ping, None);
                self.timer_at.is_none_or(|at| at > deadline)
            }
        }
    }

    /// The earliest deadline of a request still waiting for its answer.
    fn next_deadline(&self) -> Option<Instant> {
        let requests = self.pending.iter().filter(|p| p.reply.is_some());
        let pings = self.pings.iter().filter(|p| p.reply.is_some());
        requests
            .map(|p| p.deadline)
            .chain(pings.map(|p| p.deadline))
            .min()
    }

    /// Fails every request past its deadline (each keeps its FIFO slot).
    fn expire(&mut self, now: Instant, addr: &str) {
        let timeout = || RequestError::Timeout {
            addr: addr.to_owned(),
            secs: self.request_timeout.as_secs_f64(),
        };
        for p in self.pending.iter_mut().filter(|p| p.deadline <= now) {
            if let Some(reply) = p.reply.take() {
                let _ = reply.send(Err(timeout()));
            }
        }
        for p in self.pings.iter_mut().filter(|p| p.deadline <= now) {
            if let Some(reply) = p.reply.take() {
                let _ = reply.send(Err(timeout()));
            }
        }
    }

    /// Fails everything still waiting: the connection is gone.
    fn fail_all(&mut self, err: &RequestError) {
        for p in self.pending.drain(..) {
            if let Some(reply) = p.reply {
                let _ = reply.send(Err(err.clone()));
            }
        }
        for p in self.pings.drain(..) {
            if let Some(reply) = p.reply {
                let _ = reply.send(Err(err.clone()));
            }
        }
    }
}

/// A cloneable handle on one connection. Dropping every handle closes it
/// gracefully, as [`RvClient::close`] does.
#[derive(Clone)]
pub struct RvClient {
    link: Arc<Link>,
    /// Only ever sent [`Close`]; its closing tells the actor every handle is gone.
    close: mpsc::Sender<Close>,
    state: watch::Receiver<ConnState>,
    contact: String,
    address: String,
}

impl fmt::Debug for RvClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RvClient")
            .field("contact", &self.contact)
            .field("address", &self.address)
            .finish()
    }
}

impl RvClient {
    /// Starts the connection actor and returns at once; progress is reported
    /// through the state and the events. Use this with [`Config::reconnect`]
    /// for a long-lived connection.
    pub fn spawn(
        config: Config,
    ) -> Result<(Self, mpsc::UnboundedReceiver<ClientEvent>), ConnectError> {
        Self::start(config, None)
    }

    /// Connects and completes the handshake, or fails with why. The first
    /// attempt is not retried; once connected, [`Config::reconnect`] applies.
    pub async fn connect(
        config: Config,
    ) -> Result<(Self, mpsc::UnboundedReceiver<ClientEvent>), ConnectError> {
        let (first_tx, first_rx) = oneshot::channel();
        let (client, events) = Self::start(config, Some(first_tx))?;
        match first_rx.await {
            Ok(Ok(())) => Ok((client, events)),
            Ok(Err(err)) => Err(err),
            Err(_) => Err(ConnectError::Protocol {
                addr: client.address.clone(),
                detail: "connection task ended before the handshake".into(),
            }),
        }
    }

    fn start(
        config: Config,
        first_outcome: Option<oneshot::Sender<Result<(), ConnectError>>>,
    ) -> Result<(Self, mpsc::UnboundedReceiver<ClientEvent>), ConnectError> {
        check_token("contact name", &config.contact)?;
        check_token("application name", &config.app)?;
        let (close, close_rx) = mpsc::channel(1);
        let (events, event_rx) = mpsc::unbounded_channel();
        let (state_tx, state) = watch::channel(ConnState::Connecting { attempt: 1 });
        let link = Arc::new(Link {
            route: std::sync::Mutex::new(Route::Waiting(VecDeque::new())),
            wake: tokio::sync::Notify::new(),
            addr: config.address(),
        });
        let client = Self {
            link: link.clone(),
            close,
            state,
            contact: config.contact.clone(),
            address: config.address(),
        };
        let actor = Actor {
            config,
            link,
            close: close_rx,
            events,
            state: state_tx,
            first_outcome,
        };
        tokio::spawn(actor.run());
        Ok((client, event_rx))
    }

    /// Our contact name.
    pub fn contact(&self) -> &str {
        &self.contact
    }

    /// `host:port` of the peer.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The current state.
    pub fn state(&self) -> ConnState {
        self.state.borrow().clone()
    }

    /// A receiver that sees every state change.
    pub fn watch_state(&self) -> watch::Receiver<ConnState> {
        self.state.clone()
    }

    /// The peer's name, when connected.
    pub fn peer(&self) -> Option<String> {
        match &*self.state.borrow() {
            ConnState::Connected { peer } => Some(peer.clone()),
            _ => None,
        }
    }

    /// `remote-eval` of Mu code; returns the RETURN payload verbatim.
    pub async fn eval(&self, code: impl Into<String>) -> Result<String, RequestError> {
        self.send_return_event(Event::new("remote-eval", code))
            .await
    }

    /// `remote-pyeval` of a Python expression; returns the RETURN payload verbatim.
    pub async fn pyeval(&self, code: impl Into<String>) -> Result<String, RequestError> {
        self.send_return_event(Event::new("remote-pyeval", code))
            .await
    }

    /// Sends a RETURNEVENT and waits for its RETURN.
    pub async fn send_return_event(&self, event: Event) -> Result<String, RequestError> {
        event.validate()?;
        let message = Message::ReturnEvent(event);
        let text = message.to_text()?;
        let Message::ReturnEvent(event) = message else {
            unreachable!("built as a RETURNEVENT above")
        };
        let (reply, rx) = oneshot::channel();
        self.link.submit(Request::ReturnEvent {
            text,
            code: event.contents,
            reply,
        })?;
        rx.await.map_err(|_| RequestError::Closed)?
    }

    /// Sends an EVENT; returns once it has been written to the socket.
    pub async fn send_event(&self, event: Event) -> Result<(), RequestError> {
        let text = Message::Event(event).to_text()?;
        self.send_frame(Frame::Message(text)).await
    }

    /// Sends any frame; returns once it has been written to the socket.
    pub async fn send_frame(&self, frame: Frame) -> Result<(), RequestError> {
        self.queue_frame(frame).await?.await
    }

    /// Queues a frame behind everything queued before it and returns at once
    /// with a future that resolves when the frame has been written, so a
    /// sender can keep several frames in flight (pixel tiles).
    pub async fn queue_frame(
        &self,
        frame: Frame,
    ) -> Result<impl Future<Output = Result<(), RequestError>> + use<>, RequestError> {
        frame.encode_head(&mut BytesMut::new())?;
        let (done, rx) = oneshot::channel();
        self.link.submit(Request::Send { frame, done })?;
        Ok(async move { rx.await.map_err(|_| RequestError::Closed)? })
    }

    /// Queues data frames whose payloads are written straight from shared
    /// buffers (a tile's rows out of the whole image), in one go behind
    /// everything queued before; returns a future that resolves once all of
    /// them have been written. Headers and payload sizes are checked first:
    /// on error nothing is queued.
    pub async fn queue_data(
        &self,
        frames: Vec<DataFrame>,
    ) -> Result<impl Future<Output = Result<(), RequestError>> + use<>, RequestError> {
        for frame in &frames {
            crate::rv::frame::check_data_frame(&frame.header, frame.payload.len())?;
            if let Payload::Rows(rows) | Payload::Mapped { rows, .. } = &frame.payload
                && !rows.fits()
            {
                return Err(EncodeError::RowsOutside(frame.header.clone()).into());
            }
        }
        let (done, rx) = oneshot::channel();
        self.link.submit(Request::SendData { frames, done })?;
        Ok(async move { rx.await.map_err(|_| RequestError::Closed)? })
    }

    /// Sends `PING 1 p` and measures the time until a PONG.
    pub async fn ping(&self) -> Result<Duration, RequestError> {
        let (reply, rx) = oneshot::channel();
        self.link.submit(Request::Ping { reply })?;
        rx.await.map_err(|_| RequestError::Closed)?
    }

    /// Signs off: DISCONNECT, wait up to 250 ms for the peer's EOF, close.
    /// Pending requests fail. Idempotent.
    pub async fn close(&self) {
        let (done, rx) = oneshot::channel();
        if self.close.send(Close { done }).await.is_ok() {
            let _ = rx.await;
        }
    }
}

/// One outstanding RETURNEVENT.
struct Pending {
    code: String,
    deadline: Instant,
    /// `None` once the request timed out: the slot stays to absorb its late RETURN.
    reply: Option<oneshot::Sender<Result<String, RequestError>>>,
}

struct PendingPing {
    sent: Instant,
    deadline: Instant,
    /// `None` for heartbeat pings, and for user pings that timed out.
    reply: Option<oneshot::Sender<Result<Duration, RequestError>>>,
}

/// A data frame (`PIXELTILE(...)`, `DATAEVENT(...)`) for
/// [`RvClient::queue_data`]: its payload is written from where it lies.
#[derive(Debug, Clone)]
pub struct DataFrame {
    /// The header, e.g. `PIXELTILE(media=m,view=left,w=4,h=3,x=0,y=0,f=1)`.
    pub header: String,
    /// The payload.
    pub payload: Payload,
}

/// Where a data frame's payload lies.
#[derive(Debug, Clone)]
pub enum Payload {
    /// One run of bytes.
    Whole(Bytes),
    /// Runs inside a bigger buffer (a tile's rows inside a whole image),
    /// written as slices of a vectored write; rows of less than 4 KiB are
    /// gathered a piece at a time, as for `Mapped`, since the kernel's cost
    /// per slice is then more than the copy.
    Rows(Rows),
    /// The bytes of `rows` passed through `map` as they are written (a
    /// stereo eye's inverse): made a piece at a time into a small buffer
    /// that the kernel copies from while it is still in cache, so they never
    /// lie in memory whole. `map` gets a piece of a run and writes the same
    /// number of bytes. Pieces begin and end only at run boundaries and at
    /// multiples of [`MAP_ALIGN`] bytes into the payload, so with runs a
    /// whole number of samples long, no sample of up to [`MAP_ALIGN`] bytes
    /// is ever split.
    Mapped {
        /// The bytes to map.
        rows: Rows,
        /// The mapping, from a piece of a run to the bytes to send for it.
        map: fn(&[u8], &mut [u8]),
    },
}

/// A [`Payload::Mapped`] is cut into pieces only at multiples of this many
/// bytes (and at run boundaries).
pub const MAP_ALIGN: usize = 64;

/// `rows` runs of `row_len` bytes, `stride` bytes apart, the first at
/// `start` in `bytes`.
#[derive(Debug, Clone)]
pub struct Rows {
    /// The buffer the rows lie in.
    pub bytes: Bytes,
    /// Offset of the first row.
    pub start: usize,
    /// Bytes per row.
    pub row_len: usize,
    /// Distance from one row's start to the next.
    pub stride: usize,
    /// Number of rows.
    pub rows: usize,
}

impl Rows {
    /// Bytes in all the rows.
    pub fn len(&self) -> usize {
        self.row_len * self.rows
    }

    /// Whether there are no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the rows lie inside `bytes`, none overlapping the next.
    pub fn fits(&self) -> bool {
        crate::rv::reader::rows_fit(
            self.start,
            self.row_len,
            self.stride,
            self.rows,
            self.bytes.len(),
        )
    }

    /// The rows, in order.
    pub fn runs(&self) -> impl Iterator<Item = &[u8]> {
        (0..self.rows).map(move |r| &self.bytes[self.start + r * self.stride..][..self.row_len])
    }

    /// Writes `map` of the bytes `offset..offset + out.len()` into `out`,
    /// a piece of a run at a time.
    fn map_to(&self, offset: usize, out: &mut [u8], map: impl Fn(&[u8], &mut [u8])) {
        let (first, skip) = match self.row_len {
            0 => return,
            len => (offset / len, offset % len),
        };
        let mut out = out;
        for r in first..self.rows {
            if out.is_empty() {
                break;
            }
            let skip = if r == first { skip } else { 0 };
            let run = &self.bytes[self.start + r * self.stride + skip..][..self.row_len - skip];
            let n = run.len().min(out.len());
            let (piece, rest) = out.split_at_mut(n);
            map(&run[..n], piece);
            out = rest;
        }
    }
}

impl Payload {
    /// Payload bytes.
    pub fn len(&self) -> usize {
        match self {
            Payload::Whole(bytes) => bytes.len(),
            Payload::Rows(rows) | Payload::Mapped { rows, .. } => rows.len(),
        }
    }

    /// Whether there are no payload bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Writes payload bytes `offset..offset + out.len()` into `out`: copied,
    /// or mapped. For a [`Payload::Mapped`], `offset` and `out.len()` must
    /// keep its pieces aligned (multiples of [`MAP_ALIGN`], or up to the end).
    pub fn copy_to(&self, offset: usize, out: &mut [u8]) {
        match self {
            Payload::Whole(bytes) => out.copy_from_slice(&bytes[offset..offset + out.len()]),
            Payload::Rows(rows) => rows.map_to(offset, out, |run, out| out.copy_from_slice(run)),
            Payload::Mapped { rows, map } => rows.map_to(offset, out, map),
        }
    }
}

/// What the writer task sends: a frame, data frames, or the unsent tail of a
/// fast-path write.
enum Out {
    Frame(Frame),
    Data(Vec<DataFrame>),
    Raw(Bytes),
}

struct WriteJob {
    out: Out,
    done: Option<oneshot::Sender<Result<(), RequestError>>>,
}

/// How a live session ended.
enum SessionEnd {
    /// Lost: reconnect if allowed.
    Lost(String),
    /// Closed on request: stop for good.
    Closed(Option<oneshot::Sender<()>>),
}

struct Actor {
    config: Config,
    link: Arc<Link>,
    close: mpsc::Receiver<Close>,
    events: mpsc::UnboundedSender<ClientEvent>,
    state: watch::Sender<ConnState>,
    /// Told the outcome of the first handshake, for [`RvClient::connect`].
    first_outcome: Option<oneshot::Sender<Result<(), ConnectError>>>,
}

/// A connection that has completed its handshake.
struct Greeted {
    frames: FrameReader<OwnedReadHalf>,
    write_half: OwnedWriteHalf,
    peer: String,
    app: String,
}

/// How a backoff wait ended.
enum Idle {
    Elapsed,
    Close(Option<oneshot::Sender<()>>),
}

impl Actor {
    async fn run(mut self) {
        let mut attempt = 1u32;
        let mut delay = self.config.reconnect.map(|r| r.initial);
        loop {
            self.state.send_replace(ConnState::Connecting { attempt });
            if attempt > 1 {
                // Requests wait for this attempt, as for the first.
                self.link
                    .reroute(Route::Waiting(VecDeque::new()), "connecting");
            }
            let handshake = self.handshake().await;
            if let Some(first) = self.first_outcome.take() {
                let failure = handshake.as_ref().err().cloned();
                let _ = first.send(handshake.as_ref().map(|_| ()).map_err(Clone::clone));
                if let Some(err) = failure {
                    self.finish(err.to_string());
                    return;
                }
            }
            let outcome = match handshake {
                Ok(Greeted {
                    frames,
                    write_half,
                    peer,
                    app,
                }) => {
                    attempt = 1;
                    delay = self.config.reconnect.map(|r| r.initial);
                    self.state
                        .send_replace(ConnState::Connected { peer: peer.clone() });
                    self.emit(ClientEvent::Connected { peer, app });
                    self.session(frames, write_half).await
                }
                Err(err) => SessionEnd::Lost(err.to_string()),
            };
            let reason = match outcome {
                SessionEnd::Closed(done) => {
                    self.finish("closed".into());
                    if let Some(done) = done {
                        let _ = done.send(());
                    }
                    return;
                }
                SessionEnd::Lost(reason) => reason,
            };
            let (Some(policy), Some(wait)) = (self.config.reconnect, delay) else {
                self.emit(ClientEvent::Disconnected {
                    reason: reason.clone(),
                    retry_in: None,
                });
                self.finish(reason);
                return;
            };
            self.link.reroute(
                Route::Down(reason.clone()),
                &format!("retrying after: {reason}"),
            );
            self.emit(ClientEvent::Disconnected {
                reason: reason.clone(),
                retry_in: Some(wait),
            });
            self.state.send_replace(ConnState::Retrying {
                reason: reason.clone(),
                delay: wait,
            });
            if let Idle::Close(done) = self.idle(wait).await {
                self.finish("closed".into());
                if let Some(done) = done {
                    let _ = done.send(());
                }
                return;
            }
            attempt += 1;
            delay = Some((wait * 2).min(policy.max));
        }
    }

    fn finish(&mut self, reason: String) {
        self.link.reroute(Route::Closed, &reason);
        self.state.send_replace(ConnState::Closed { reason });
        self.close.close();
    }

    fn emit(&self, event: ClientEvent) {
        // A consumer that dropped its receiver has opted out of events.
        let _ = self.events.send(event);
    }

    /// Waits out a backoff delay (requests are refused meanwhile by the
    /// route). Returns the close acknowledgement if asked to close (or every
    /// handle dropped).
    async fn idle(&mut self, wait: Duration) -> Idle {
        tokio::select! {
            _ = sleep(wait) => Idle::Elapsed,
            close = self.close.recv() => Idle::Close(close.map(|c| c.done)),
        }
    }

    /// TCP connect, NEWGREETING, wait for GREETING/NEWGREETING.
    async fn handshake(&mut self) -> Result<Greeted, ConnectError> {
        let addr = self.config.address();
        let limit = self.config.handshake_timeout;
        let timed_out = || ConnectError::HandshakeTimeout {
            addr: addr.clone(),
            secs: limit.as_secs_f64(),
        };
        let deadline = Instant::now() + limit;
        let stream = timeout(limit, self.tcp_connect())
            .await
            .map_err(|_| timed_out())??;
        let _ = stream.set_nodelay(true);
        let (read_half, mut write_half) = stream.into_split();
        let mut greeting = BytesMut::new();
        Frame::NewGreeting {
            contact: self.config.contact.clone(),
            app: self.config.app.clone(),
        }
        .encode(&mut greeting)?;
        write_half
            .write_all(&greeting)
            .await
            .map_err(|err| ConnectError::Connect {
                addr: addr.clone(),
                reason: err.to_string(),
            })?;
        // The same reader goes on into the session: anything RV sent right
        // behind its greeting belongs to it.
        let mut frames = FrameReader::new(read_half, self.config.limits);
        let first = tokio::time::timeout_at(deadline, frames.next())
            .await
            .map_err(|_| timed_out())?;
        let (peer, app) = match first {
            Some(Ok(Frame::Greeting(name))) => (name, "rv".to_owned()),
            Some(Ok(Frame::NewGreeting { contact, app })) => (contact, app),
            None | Some(Err(CodecError::Io(_))) => {
                return Err(ConnectError::Rejected {
                    addr,
                    contact: self.config.contact.clone(),
                });
            }
            Some(Ok(other)) => {
                return Err(ConnectError::Protocol {
                    addr,
                    detail: format!("expected a GREETING, got {}", other.type_name()),
                });
            }
            Some(Err(err)) => {
                return Err(ConnectError::Protocol {
                    addr,
                    detail: err.to_string(),
                });
            }
        };
        if self.config.heartbeat.is_none() {
            let mut off = BytesMut::new();
            Frame::PingPongControl(false).encode(&mut off)?;
            write_half
                .write_all(&off)
                .await
                .map_err(|err| ConnectError::Connect {
                    addr,
                    reason: err.to_string(),
                })?;
        }
        Ok(Greeted {
            frames,
            write_half,
            peer,
            app,
        })
    }

    async fn tcp_connect(&self) -> Result<TcpStream, ConnectError> {
        let addr = self.config.address();
        let resolved: Vec<_> =
            tokio::net::lookup_host((self.config.host.as_str(), self.config.port))
                .await
                .map_err(|err| ConnectError::Resolve {
                    addr: addr.clone(),
                    reason: err.to_string(),
                })?
                .collect();
        let mut last = String::from("no addresses");
        for candidate in resolved {
            match TcpStream::connect(candidate).await {
                Ok(stream) => return Ok(stream),
                Err(err) => last = err.to_string(),
            }
        }
        Err(ConnectError::Connect { addr, reason: last })
    }

    /// Runs a connected session until it is lost or closed.
    async fn session(
        &mut self,
        mut frames: FrameReader<OwnedReadHalf>,
        write_half: OwnedWriteHalf,
    ) -> SessionEnd {
        // The actor reads the socket itself and never blocks on a write
        // (those go through the outbox), so the socket is always drained.
        let (write_failed_tx, mut write_failed) = oneshot::channel::<String>();
        let (outbox, mut writer) =
            Outbox::start(write_half, write_failed_tx, self.config.address());
        let mut live = Live {
            outbox,
            pending: VecDeque::new(),
            pings: VecDeque::new(),
            request_timeout: self.config.request_timeout,
            timer_at: None,
        };
        {
            // Requests made while connecting go first, in order; under one
            // lock, so none can slip in between.
            let mut route = self.link.lock();
            if let Route::Waiting(queue) = &mut *route {
                for request in queue.drain(..) {
                    live.submit(request);
                }
            }
            *route = Route::Live(live);
        }
        let mut last_heard = Instant::now();
        let addr = self.config.address();

        // One timer for request deadlines and the heartbeat. It is moved
        // only to an earlier time than it is set for, or when it fires:
        // deadlines only grow, so a request sent while it is armed leaves it
        // alone and the request path never touches the timer wheel. A
        // request due before it (or with it unarmed) wakes the actor.
        let timer = tokio::time::sleep_until(far_future());
        tokio::pin!(timer);
        // When the timer is set to fire; `None` while it is parked.
        let mut armed: Option<Instant> = None;
        // Kept across iterations: registering a waiter costs a lock.
        let link = self.link.clone();
        let woken = link.wake.notified();
        tokio::pin!(woken);
        let end = loop {
            let heartbeat_at;
            {
                let mut route = self.link.lock();
                let Route::Live(live) = &mut *route else {
                    break SessionEnd::Lost("the connection was rerouted".into());
                };
                heartbeat_at = self.config.heartbeat.map(|hb| {
                    if live.pings.is_empty() {
                        last_heard + hb.interval
                    } else {
                        last_heard + hb.timeout
                    }
                });
                let wake = match (live.next_deadline(), heartbeat_at) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                if let Some(at) = wake
                    && armed.is_none_or(|armed| armed > at)
                {
                    timer.as_mut().reset(at);
                    armed = Some(at);
                }
                live.timer_at = armed;
            }
            tokio::select! {
                // Incoming frames first: they are what a request waits for.
                biased;
                item = frames.next() => match item {
                    None => break SessionEnd::Lost("RV closed the connection".into()),
                    Some(Err(err)) => break SessionEnd::Lost(err.to_string()),
                    Some(Ok(frame)) => {
                        last_heard = Instant::now();
                        if let Some(end) = self.on_frame(frame) {
                            break end;
                        }
                    }
                },
                reason = &mut write_failed => {
                    break SessionEnd::Lost(reason.unwrap_or_else(|_| "writer stopped".into()));
                }
                close = self.close.recv() => break SessionEnd::Closed(close.map(|c| c.done)),
                // A request due before the timer: loop to move it.
                () = &mut woken => woken.set(link.wake.notified()),
                _ = &mut timer, if armed.is_some() => {
                    let now = Instant::now();
                    // Parked until the next iteration sets the new earliest deadline.
                    timer.as_mut().reset(far_future());
                    armed = None;
                    let mut route = self.link.lock();
                    let Route::Live(live) = &mut *route else { continue };
                    live.expire(now, &addr);
                    if let (Some(hb), Some(at)) = (self.config.heartbeat, heartbeat_at)
                        && now >= at
                    {
                        if now >= last_heard + hb.timeout {
                            break SessionEnd::Lost(format!("no sign of life from RV for {} s (heartbeat)", hb.timeout.as_secs_f64()));
                        }
                        if live.pings.is_empty() {
                            live.pings.push_back(PendingPing { sent: now, deadline: now + hb.timeout, reply: None });
                            live.outbox.send(Frame::Ping, None);
                        }
                    }
                }
            }
        };

        let reason = match &end {
            SessionEnd::Lost(reason) => reason.clone(),
            SessionEnd::Closed(_) => "closed by us".to_owned(),
        };
        // From here on requests are refused (or wait for the next attempt,
        // which `run` sets up); nothing more goes out on this socket.
        let next = match (&end, self.config.reconnect) {
            (SessionEnd::Lost(_), Some(_)) => Route::Down(reason.clone()),
            _ => Route::Closed,
        };
        // Only the actor takes a session's route away, so it is still live.
        if let Some(mut live) = self.link.reroute(next, &reason) {
            if let SessionEnd::Closed(_) = end {
                // Sign off (§9): DISCONNECT, let the writer flush, wait for EOF.
                let (done, flushed) = oneshot::channel();
                live.outbox
                    .send(Frame::Message("DISCONNECT".into()), Some(done));
                let _ = timeout(CLOSE_GRACE, flushed).await;
                let _ = timeout(CLOSE_GRACE, async {
                    while let Some(Ok(_)) = frames.next().await {}
                })
                .await;
            }
            live.fail_all(&RequestError::Lost { addr, reason });
        }
        // The writer ends once its queue is gone (with the route above),
        // unless the peer stopped reading: it would wait for room forever.
        // A lost session's bytes are lost anyway; a closing one had its grace.
        if matches!(end, SessionEnd::Lost(_)) {
            writer.abort();
        }
        if timeout(CLOSE_GRACE, &mut writer).await.is_err() {
            writer.abort();
            let _ = writer.await;
        }
        end
    }

    /// Handles one incoming frame; `Some` ends the session.
    fn on_frame(&self, frame: Frame) -> Option<SessionEnd> {
        let mut route = self.link.lock();
        let Route::Live(live) = &mut *route else {
            return Some(SessionEnd::Lost("the connection was rerouted".into()));
        };
        match frame {
            Frame::Ping => {
                live.outbox.send(Frame::Pong, None);
                self.emit(ClientEvent::Ping);
            }
            Frame::Pong => {
                if let Some(ping) = live.pings.pop_front()
                    && let Some(reply) = ping.reply
                {
                    let _ = reply.send(Ok(ping.sent.elapsed()));
                }
            }
            Frame::Message(text) => match Message::parse(&text) {
                Message::Return(value) => match live.pending.pop_front() {
                    Some(Pending {
                        reply: Some(reply), ..
                    }) => {
                        let _ = reply.send(Ok(value));
                    }
                    Some(Pending { code, .. }) => self.emit(ClientEvent::LateReturn {
                        request: code,
                        value,
                    }),
                    None => self.emit(ClientEvent::UnexpectedReturn(value)),
                },
                Message::Event(event) => self.emit(ClientEvent::Event(event)),
                Message::ReturnEvent(event) => {
                    live.outbox.send(Frame::Message("RETURN ".into()), None);
                    self.emit(ClientEvent::ReturnEvent(event));
                }
                Message::Disconnect => {
                    self.emit(ClientEvent::PeerSignedOff);
                    return Some(SessionEnd::Lost("RV signed off (DISCONNECT)".into()));
                }
                Message::Other(text) => self.emit(ClientEvent::OtherMessage(text)),
            },
            Frame::Data { header, payload } => self.emit(ClientEvent::Data { header, payload }),
            Frame::Greeting(_) | Frame::NewGreeting { .. } | Frame::PingPongControl(_) => {
                tracing::debug!(frame = frame.type_name(), "ignored after handshake");
            }
        }
        None
    }
}

impl Drop for Actor {
    fn drop(&mut self) {
        // However the actor ends (even with its runtime shutting down), no
        // request may be left waiting for an answer nobody will read:
        // dropping the route's senders fails them as closed.
        self.link.reroute(Route::Closed, "closed");
    }
}

fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(86_400 * 365)
}

/// The actor's way out. A small frame is written straight to the socket when
/// nothing is queued (one less task hop on the request path); anything else,
/// and whatever the socket does not take at once, goes through the writer
/// task in order.
struct Outbox {
    socket: Arc<OwnedWriteHalf>,
    queue: mpsc::UnboundedSender<WriteJob>,
    /// Jobs handed to the writer and not yet fully written.
    in_flight: Arc<AtomicUsize>,
    scratch: BytesMut,
}

impl Outbox {
    fn start(
        socket: OwnedWriteHalf,
        failed: oneshot::Sender<String>,
        addr: String,
    ) -> (Self, tokio::task::JoinHandle<()>) {
        let socket = Arc::new(socket);
        let (queue, jobs) = mpsc::unbounded_channel();
        let in_flight = Arc::new(AtomicUsize::new(0));
        let writer = tokio::spawn(write_loop(
            socket.clone(),
            jobs,
            in_flight.clone(),
            failed,
            addr,
        ));
        let outbox = Self {
            socket,
            queue,
            in_flight,
            scratch: BytesMut::with_capacity(4096),
        };
        (outbox, writer)
    }

    fn send(&mut self, frame: Frame, done: Option<oneshot::Sender<Result<(), RequestError>>>) {
        let small = !matches!(frame, Frame::Data { .. });
        if small && self.in_flight.load(Ordering::Acquire) == 0 {
            self.scratch.clear();
            if let Err(err) = frame.encode(&mut self.scratch) {
                if let Some(done) = done {
                    let _ = done.send(Err(err.into()));
                }
                return;
            }
            // On WouldBlock or a real error nothing was written: the writer
            // task waits for the socket, or reports the error.
            let written = self.socket.try_write(&self.scratch).unwrap_or_default();
            if written == self.scratch.len() {
                if let Some(done) = done {
                    let _ = done.send(Ok(()));
                }
                return;
            }
            let rest = self.scratch.split_off(written).freeze();
            self.queue_job(Out::Raw(rest), done);
            return;
        }
        self.queue_job(Out::Frame(frame), done);
    }

    fn queue_job(&mut self, out: Out, done: Option<oneshot::Sender<Result<(), RequestError>>>) {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        let _ = self.queue.send(WriteJob { out, done });
    }
}

/// Most slices handed to one vectored write (Linux's IOV_MAX is 1024).
const MAX_IOVECS: usize = 1024;

/// Writes everything in `bufs`, waiting for the socket as needed.
async fn write_all_shared(socket: &OwnedWriteHalf, bufs: &mut [&[u8]]) -> std::io::Result<()> {
    let mut bufs = bufs;
    while !bufs.is_empty() {
        socket.writable().await?;
        let slices: Vec<std::io::IoSlice<'_>> = bufs
            .iter()
            .take(MAX_IOVECS)
            .map(|b| std::io::IoSlice::new(b))
            .collect();
        let mut n = match socket.try_write_vectored(&slices) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => n,
            Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(err) => return Err(err),
        };
        while let Some(first) = bufs.first_mut() {
            if n >= first.len() {
                n -= first.len();
                bufs = &mut bufs[1..];
            } else {
                *first = &first[n..];
                break;
            }
        }
    }
    Ok(())
}

/// Payload bytes the writer makes (mapped payloads) or gathers (short rows)
/// go through a buffer of this size, small enough to stay in cache until
/// the kernel copies it out.
const SCRATCH: usize = 256 << 10;

/// Rows shorter than this are gathered into the scratch buffer rather than
/// written as one slice each: below it, the kernel's cost per slice of a
/// vectored write is more than the copy.
const GATHER_ROWS_BELOW: usize = 4096;

/// Writes data frames (each with its encoded head) after `before`, the
/// small frames batched ahead of them: heads and payloads that lie in memory
/// as slices of vectored writes, mapped payloads and short rows made a piece
/// at a time in `scratch`, written whenever it is full.
async fn write_data<'a>(
    socket: &OwnedWriteHalf,
    before: &'a [u8],
    frames: impl Iterator<Item = (&'a DataFrame, &'a [u8])>,
    scratch: &mut [u8],
) -> std::io::Result<()> {
    /// A slice of the next write: borrowed, or a range of `scratch`.
    enum Piece<'a> {
        Slice(&'a [u8]),
        Scratch(std::ops::Range<usize>),
    }
    async fn flush(
        socket: &OwnedWriteHalf,
        pieces: &mut Vec<Piece<'_>>,
        scratch: &[u8],
    ) -> std::io::Result<()> {
        let mut slices: Vec<&[u8]> = pieces
            .drain(..)
            .map(|piece| match piece {
                Piece::Slice(slice) => slice,
                Piece::Scratch(range) => &scratch[range],
            })
            .collect();
        write_all_shared(socket, &mut slices).await
    }
    let mut pieces = vec![Piece::Slice(before)];
    let mut used = 0;
    for (frame, head) in frames {
        pieces.push(Piece::Slice(head));
        let payload = &frame.payload;
        match payload {
            Payload::Whole(bytes) => {
                pieces.push(Piece::Slice(bytes));
                continue;
            }
            Payload::Rows(rows) if rows.row_len >= GATHER_ROWS_BELOW => {
                pieces.extend(rows.runs().map(Piece::Slice));
                continue;
            }
            Payload::Rows(_) | Payload::Mapped { .. } => {}
        }
        let mut offset = 0;
        while offset < payload.len() {
            let (left, room) = (payload.len() - offset, scratch.len() - used);
            // Whole pieces of MAP_ALIGN bytes, but for the last one.
            let n = if left <= room {
                left
            } else {
                room / MAP_ALIGN * MAP_ALIGN
            };
            if n == 0 {
                flush(socket, &mut pieces, scratch).await?;
                used = 0;
                continue;
            }
            payload.copy_to(offset, &mut scratch[used..used + n]);
            match pieces.last_mut() {
                Some(Piece::Scratch(range)) if range.end == used => range.end += n,
                _ => pieces.push(Piece::Scratch(used..used + n)),
            }
            used += n;
            offset += n;
        }
    }
    flush(socket, &mut pieces, scratch).await
}

/// The writer task. Small frames queued together go out in one write; data
/// payloads are written straight from their buffer (vectored write, no
/// copy), or made in a small buffer as they are written ([`write_data`]).
async fn write_loop(
    socket: Arc<OwnedWriteHalf>,
    mut jobs: mpsc::UnboundedReceiver<WriteJob>,
    in_flight: Arc<AtomicUsize>,
    failed: oneshot::Sender<String>,
    addr: String,
) {
    const BATCH: usize = 64 * 1024;
    let mut head = BytesMut::with_capacity(BATCH);
    let mut scratch = vec![0; SCRATCH];
    let mut acks = Vec::new();
    while let Some(job) = jobs.recv().await {
        let mut next = Some(job);
        let mut taken = 0;
        let mut result = Ok(());
        while let Some(job) = next.take() {
            taken += 1;
            let WriteJob { out, done } = job;
            // Data goes out at once, with the small frames batched before
            // it; the job's buffers are dropped before it is acknowledged,
            // so the sender can reuse them.
            let wrote_data = match out {
                Out::Raw(bytes) => {
                    head.extend_from_slice(&bytes);
                    false
                }
                Out::Frame(frame) => match frame.encode_head(&mut head) {
                    Ok(Some(payload)) => {
                        result = write_all_shared(&socket, &mut [&head[..], &payload[..]]).await;
                        true
                    }
                    Ok(None) => false,
                    Err(err) => {
                        if let Some(done) = done {
                            let _ = done.send(Err(err.into()));
                        }
                        continue;
                    }
                },
                Out::Data(frames) => {
                    let mut heads = Vec::with_capacity(frames.len());
                    for frame in &frames {
                        let start = head.len();
                        // Checked by `queue_data`; cannot fail here.
                        let _ = encode_data_head(&mut head, &frame.header, frame.payload.len());
                        heads.push(start..head.len());
                    }
                    let before = heads.first().map_or(head.len(), |h| h.start);
                    let heads = heads.into_iter().map(|range| &head[range]);
                    let frames = frames.iter().zip(heads);
                    result = write_data(&socket, &head[..before], frames, &mut scratch).await;
                    true
                }
            };
            if wrote_data {
                head.clear();
                if result.is_err() {
                    acks.extend(done);
                    break;
                }
                // Everything batched so far went out with it: acknowledge
                // now, so a later failure cannot report these as lost.
                in_flight.fetch_sub(taken, Ordering::AcqRel);
                taken = 0;
                for done in acks.drain(..).chain(done) {
                    let _ = done.send(Ok(()));
                }
            } else {
                acks.extend(done);
            }
            if head.len() < BATCH {
                next = jobs.try_recv().ok();
            }
        }
        if result.is_ok() && !head.is_empty() {
            result = write_all_shared(&socket, &mut [&head[..]]).await;
        }
        head.clear();
        match result {
            Ok(()) => {
                in_flight.fetch_sub(taken, Ordering::AcqRel);
                for done in acks.drain(..) {
                    let _ = done.send(Ok(()));
                }
            }
            Err(err) => {
                let reason = format!("write to RV failed: {err}");
                for done in acks.drain(..) {
                    let _ = done.send(Err(RequestError::Lost {
                        addr: addr.clone(),
                        reason: reason.clone(),
                    }));
                }
                let _ = failed.send(reason);
                return;
            }
        }
    }
}
