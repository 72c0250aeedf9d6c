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
use crate::rv::events::{self, EventNameError, RvEvent};
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
    /// One of RV's own events, forwarded by the handlers
    /// [`RvClient::subscribe`] installed (rv-events.md).
    RvEvent(RvEvent),
    /// The forwarding handlers were installed for these events, after a
    /// (re)connect (see [`RvClient::subscribe`]).
    Subscribed {
        /// The events now forwarded.
        events: Vec<String>,
    },
    /// RV refused to install the forwarding handlers after a (re)connect;
    /// the reason is RV's own words (an `ERROR:` or a Python exception), or
    /// why the install could not be asked.
    SubscribeFailed {
        /// Why.
        reason: String,
    },
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

/// Why [`RvClient::subscribe`] did not install the forwarding handlers.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SubscribeError {
    /// An event name RV could not have.
    #[error(transparent)]
    Name(#[from] EventNameError),
    /// RV answered the install with something other than `true`: RV's
    /// words, e.g. an `ERROR:` from an RV whose Mu lacks a call. Callers
    /// can fall back to polling.
    #[error("RV refused to forward its events: {0}")]
    Refused(String),
    /// The install request itself failed (connection lost, timeout, ...).
    #[error(transparent)]
    Request(#[from] RequestError),
}

mod actor;
mod data;
mod link;
mod writer;

use actor::*;
pub use data::{DataFrame, MAP_ALIGN, Payload, Rows};
use link::*;
use writer::*;

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
            subscription: std::sync::Mutex::new(Vec::new()),
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

    /// Has RV forward `events` (RV's own: `frame-changed`, `play-start`,
    /// ...; see [`events::DEFAULT_EVENTS`]) to this connection, as
    /// [`ClientEvent::RvEvent`]s on the client's event stream, replacing
    /// any earlier set. The handlers live in a minor mode of our own and
    /// `reject()`, so RV's UI and other clients are unaffected (see
    /// [`crate::rv::events`]).
    ///
    /// While connected, installs now and returns RV's verdict (`Ok(true)`).
    /// Otherwise returns `Ok(false)` at once: the install happens when the
    /// session starts,
    /// and is reported as [`ClientEvent::Subscribed`] or
    /// [`ClientEvent::SubscribeFailed`]. Either way the handlers are
    /// installed again after every reconnect, and removed when the client
    /// signs off ([`RvClient::close`]).
    pub async fn subscribe(&self, events: &[impl AsRef<str>]) -> Result<bool, SubscribeError> {
        let events: Vec<String> = events.iter().map(|e| e.as_ref().to_owned()).collect();
        for name in &events {
            events::check_event_name(name)?;
        }
        let reply = {
            let mut route = self.link.lock();
            *self.link.subscribed() = events.clone();
            match &mut *route {
                Route::Live(live) if !events.is_empty() => {
                    let (request, reply) = install_request(&self.contact, &events)?;
                    if live.submit(request) {
                        self.link.wake.notify_one();
                    }
                    reply
                }
                _ => return Ok(false),
            }
        };
        let value = reply.await.map_err(|_| RequestError::Closed)??;
        events::installed(&value).map_err(SubscribeError::Refused)?;
        Ok(true)
    }

    /// Stops RV forwarding its events: turns our handlers off (and keeps
    /// them off after a reconnect).
    pub async fn unsubscribe(&self) -> Result<(), RequestError> {
        let had = std::mem::take(&mut *self.link.subscribed());
        if had.is_empty() {
            return Ok(());
        }
        self.eval(events::remove_code(&self.contact))
            .await
            .map(|_| ())
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

/// The RETURNEVENT that installs the forwarding handlers for `events`,
/// and where its RETURN arrives.
type Install = (Request, oneshot::Receiver<Result<String, RequestError>>);

fn install_request(contact: &str, events: &[String]) -> Result<Install, RequestError> {
    let code = events::install_code(contact, events);
    let text = Message::ReturnEvent(Event::new("remote-eval", code)).to_text()?;
    let (reply, rx) = oneshot::channel();
    let request = Request::ReturnEvent {
        text,
        code: "(install event forwarding)".into(),
        reply,
    };
    Ok((request, rx))
}
