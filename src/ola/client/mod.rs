//! An async, full-duplex client for olad's RPC port.
//!
//! # Shape
//!
//! [`OlaClient`] is a cheap, cloneable handle. Behind it run two tokio tasks
//! per connection:
//!
//! - the **writer** owns the socket's write half. It takes ready-made frames
//!   from a bounded queue, batches whatever is queued into one buffer and
//!   hands it to a single `write_all`, so a header is never split from its
//!   body (ola-rpc.md §2). It also reconnects when olad goes away.
//! - the **reader** owns the read half and *always* drains the socket: a
//!   client that stops reading gets dropped by olad, and a dropped DMX sink
//!   can crash olad (ola-rpc.md §7.9). It never waits on a consumer: replies
//!   go to one-shot channels, DMX pushes to `watch` channels (latest value
//!   wins), acks to an unbounded queue for the writer.
//!
//! # Ids, replies, timeouts (ola-rpc.md §4, §7.4)
//!
//! Each request gets the next `u32` id (wrapping, skipping ids still in
//! flight, so two requests in flight never share an id). Replies are matched by
//! id, not by order. olad says nothing at all when it cannot parse a
//! request, so every request has a timeout ([`ClientConfig::request_timeout`]).
//! `RESPONSE_FAILED` becomes [`OlaError::Failed`] with olad's text,
//! `RESPONSE_NOT_IMPLEMENTED` becomes [`OlaError::NotImplemented`].
//!
//! # Pushes (ola-rpc.md §7.8)
//!
//! After [`OlaClient::register`], olad sends `REQUEST UpdateDmxData` for every
//! change of the universe, with its own ids. The reader answers each with a
//! `RESPONSE` carrying an empty `Ack` and the same id (olad leaks memory for
//! every unanswered push), and answers unknown methods with
//! `RESPONSE_NOT_IMPLEMENTED`:
//!
//! ```text
//! olad -> client  1d 02 00 10 | 08 01 10 00 1a 0d "UpdateDmxData" 22 87 04 08 01 12 80 04 ...
//! client -> olad  06 00 00 10 | 08 02 10 00 22 00
//! ```
//!
//! Dropping the last [`DmxSubscription`] to a universe unregisters it
//! (`RegisterForDmx` with `UNREGISTER`), so olad stops pushing it and it is
//! not registered again after a reconnect.
//!
//! # Closing (ola-rpc.md §7.7)
//!
//! olad discards whatever is still unread in a socket once it sees the peer
//! close, so streamed frames sent just before a close are lost.
//! [`OlaClient::close`] first makes one round trip (a barrier: olad handles a
//! connection's messages in order) when frames were streamed or requests are
//! unanswered, then closes. Dropping every handle closes the connection
//! without that barrier.
//!
//! # Reconnecting
//!
//! When the connection drops, requests in flight fail with
//! [`OlaError::Disconnected`], new ones with [`OlaError::NotConnected`], and
//! the writer reconnects with capped exponential backoff. Once connected it
//! registers every subscription again and re-sends the last frame this
//! client sent to each universe (olad forgets both when a client goes), then
//! reports [`ClientEvent::Reconnected`]. A restarted olad may not have the
//! universe yet (patches come back later, if at all), so each re-send is
//! wrapped in a RegisterForDmx/unregister pair, which creates it.

use crate::ola::codec::{self, CodecError, OlaCodec};
use crate::ola::pb::proto::{
    Ack, DeviceInfo, DeviceInfoReply, DeviceInfoRequest, DmxData, MergeMode, MergeModeRequest,
    OptionalUniverseRequest, PatchAction, PatchPortRequest, PluginInfo, PluginListReply,
    PluginListRequest, PortPriorityRequest, RegisterAction, RegisterDmxRequest, UniverseInfo,
    UniverseInfoReply, UniverseNameRequest, UniverseRequest,
};
use crate::ola::pb::rpc::{RpcMessage, Type};
use bytes::{Bytes, BytesMut};
use prost::Message;
use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio::task::JoinHandle;

mod conn;

use conn::*;

/// olad's default RPC address (ola-rpc.md §1).
pub const DEFAULT_ADDR: &str = "127.0.0.1:9010";

/// The most slots a DMX universe has.
pub const MAX_SLOTS: usize = 512;

/// The highest priority olad honours; larger values wrap (ola-rpc.md §7.2).
pub const MAX_PRIORITY: u8 = 200;

/// Largest batch of queued frames the writer gathers into one `write_all`.
const MAX_BATCH: usize = 64 * 1024;

/// Errors from [`OlaClient`].
#[derive(Debug, thiserror::Error)]
pub enum OlaError {
    /// The TCP connection to olad could not be made.
    #[error(
        "could not connect to olad at {addr}: {source}; is olad running? (start it, its network plugins off on a shared network, or point --olad at it)"
    )]
    Connect {
        /// olad's address.
        addr: String,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The connection is down (the client is reconnecting).
    #[error("not connected to olad at {addr} ({reason}); the client is reconnecting, try again")]
    NotConnected {
        /// olad's address.
        addr: SocketAddr,
        /// Why the last connection ended.
        reason: String,
    },
    /// The connection went away before the reply arrived. The request may or
    /// may not have been applied.
    #[error("connection to olad at {addr} lost before {method} was answered ({reason})")]
    Disconnected {
        /// olad's address.
        addr: SocketAddr,
        /// The method called.
        method: &'static str,
        /// Why the connection ended.
        reason: String,
    },
    /// No reply within the request timeout. olad says nothing when it cannot
    /// parse a request (ola-rpc.md §7.4).
    #[error(
        "olad at {addr} did not answer {method} within {timeout:?}; it may be overloaded, or it could not parse the request (see olad's log)"
    )]
    Timeout {
        /// olad's address.
        addr: SocketAddr,
        /// The method called.
        method: &'static str,
        /// The timeout that expired.
        timeout: Duration,
    },
    /// olad answered `RESPONSE_FAILED` with this text.
    #[error("olad refused {method}: {message}")]
    Failed {
        /// The method called.
        method: &'static str,
        /// olad's text, e.g. "Universe doesn't exist".
        message: String,
    },
    /// olad answered `RESPONSE_CANCEL` (olad 0.10.9 never does).
    #[error("olad cancelled {method}: {message}")]
    Cancelled {
        /// The method called.
        method: &'static str,
        /// olad's text.
        message: String,
    },
    /// olad does not know this method.
    #[error("olad does not implement {method} (is it an older olad?)")]
    NotImplemented {
        /// The method called.
        method: &'static str,
    },
    /// olad's reply could not be decoded.
    #[error("could not decode olad's reply to {method}: {source}")]
    BadReply {
        /// The method called.
        method: &'static str,
        /// The decoding error.
        source: prost::DecodeError,
    },
    /// A DMX frame longer than 512 slots.
    #[error("a DMX frame has at most 512 slots, got {0}")]
    TooManySlots(usize),
    /// A priority olad would not take as given.
    #[error(
        "priority {0} is out of range: olad accepts 0..={max} (larger values wrap around)",
        max = MAX_PRIORITY
    )]
    InvalidPriority(u8),
    /// A universe number that does not fit olad's int32.
    #[error("universe {0} is out of range (0..=2147483647)")]
    InvalidUniverse(u32),
    /// A request that does not fit in one frame.
    #[error("request {method} is too large to send: {source}")]
    Encode {
        /// The method called.
        method: &'static str,
        /// The framing error.
        source: CodecError,
    },
    /// `StreamDmxData` called as a request: olad would apply it, never answer,
    /// and leak an entry (ola-rpc.md §7.5).
    #[error("StreamDmxData gets no reply from olad; send it with stream_dmx")]
    StreamingMethod,
    /// [`OlaClient::close`] was called, or the client's task ended.
    #[error("the olad client is closed")]
    Closed,
}

impl OlaError {
    /// Whether olad refused the call because the universe does not exist
    /// (its exact words, ola-rpc.md §6).
    pub fn is_unknown_universe(&self) -> bool {
        matches!(self, OlaError::Failed { message, .. } if message == "Universe doesn't exist")
    }

    /// Whether olad itself refused the request (as opposed to the request
    /// never being answered, or never being sent).
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            OlaError::Failed { .. } | OlaError::Cancelled { .. } | OlaError::NotImplemented { .. }
        )
    }
}

/// Settings for [`OlaClient::connect_with`].
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// How long to wait for each reply (and for the TCP connect).
    pub request_timeout: Duration,
    /// Reconnect when olad goes away. If false, the client closes instead.
    pub reconnect: bool,
    /// First delay between reconnect attempts; doubled after each failure.
    pub backoff_initial: Duration,
    /// Largest delay between reconnect attempts.
    pub backoff_max: Duration,
    /// Frames that may wait for the writer before callers are slowed down.
    pub queue_depth: usize,
    /// The first request id (0, like libola and the Python client). Ids
    /// wrap around after `u32::MAX`.
    pub first_id: u32,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(5),
            reconnect: true,
            backoff_initial: Duration::from_millis(50),
            backoff_max: Duration::from_secs(2),
            queue_depth: 4096,
            first_id: 0,
        }
    }
}

/// Something that happened to the connection, from [`OlaClient::events`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientEvent {
    /// The connection to olad ended; the client is reconnecting (unless
    /// reconnecting is off).
    Disconnected {
        /// Why it ended.
        reason: String,
    },
    /// The next reconnect attempt starts after `delay` (doubling from
    /// [`ClientConfig::backoff_initial`] up to [`ClientConfig::backoff_max`]).
    Reconnecting {
        /// 1 for the first attempt after the loss.
        attempt: u32,
        /// The wait before this attempt.
        delay: Duration,
    },
    /// A new connection is up, and the subscriptions and last frames were
    /// restored as listed.
    Reconnected {
        /// Universes registered for DMX again.
        resubscribed: Vec<u32>,
        /// Universes whose last frame from this client was sent again.
        resent: Vec<u32>,
        /// What could not be restored, one line each.
        failed: Vec<String>,
    },
    /// The client was closed; no more events follow.
    Closed,
}

/// One DMX frame pushed by olad for a registered universe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DmxFrame {
    /// The universe.
    pub universe: u32,
    /// The merged slot values (may be shorter than 512, ola-rpc.md §7.1).
    pub data: Bytes,
    /// The universe's active priority, when olad sends it.
    pub priority: Option<i32>,
    /// Number of pushes received for this universe so far (1 for the first).
    /// Gaps between consecutive values seen by a subscriber are frames that
    /// were replaced by newer ones before the subscriber looked.
    pub seq: u64,
}

/// A subscription to one universe's DMX, from [`OlaClient::register`].
/// Latest value wins: a slow consumer sees the newest frame, never a backlog.
///
/// Dropping the last subscription to a universe unregisters it: olad stops
/// pushing its frames, and a reconnect does not register it again.
#[derive(Debug)]
pub struct DmxSubscription {
    universe: u32,
    rx: watch::Receiver<Option<DmxFrame>>,
    /// The client, to unregister on drop without keeping it alive.
    shared: Weak<Shared>,
    queue: mpsc::WeakSender<Outgoing>,
}

impl Drop for DmxSubscription {
    fn drop(&mut self) {
        // Without a live handle the connection is closing anyway.
        if let (Some(shared), Some(queue)) = (self.shared.upgrade(), self.queue.upgrade()) {
            shared.release(self.universe, &self.rx, &queue);
        }
    }
}

impl DmxSubscription {
    /// The universe this subscription is for.
    pub fn universe(&self) -> u32 {
        self.universe
    }

    /// Waits for the next frame newer than the last one returned. `None` once
    /// the universe is unregistered or the client is closed.
    pub async fn next(&mut self) -> Option<DmxFrame> {
        loop {
            self.rx.changed().await.ok()?;
            if let Some(frame) = self.rx.borrow_and_update().clone() {
                return Some(frame);
            }
        }
    }

    /// The subscription as a [`futures_util::Stream`] of frames (same
    /// latest-value semantics as [`DmxSubscription::next`]).
    pub fn into_stream(self) -> impl futures_util::Stream<Item = DmxFrame> + Send + 'static {
        futures_util::stream::unfold(self, |mut sub| async move {
            sub.next().await.map(|frame| (frame, sub))
        })
    }
}

/// Identifies one port of one device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortRef {
    /// The device's alias (as `ola_dev_info` shows it, e.g. 1 for Dummy).
    pub device_alias: i32,
    /// The port number on the device.
    pub port_id: i32,
    /// Output port (sends DMX out) or input port.
    pub is_output: bool,
}

/// A port's priority setting, for [`OlaClient::set_port_priority`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortPriority {
    /// Use the priority of the incoming data.
    Inherit,
    /// Use this fixed priority (0..=200).
    Static(u8),
}

/// A handle to one olad connection. Clone it freely; every clone talks over
/// the same connection. See the [module docs](self) for the design.
#[derive(Clone)]
pub struct OlaClient {
    tx: mpsc::Sender<Outgoing>,
    shared: Arc<Shared>,
}

impl fmt::Debug for OlaClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OlaClient")
            .field("addr", &self.shared.addr)
            .finish_non_exhaustive()
    }
}

async fn open(addr: SocketAddr, timeout: Duration) -> std::io::Result<TcpStream> {
    let stream = tokio::time::timeout(timeout, TcpStream::connect(addr))
        .await
        .map_err(|_| {
            std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("no answer within {timeout:?}"),
            )
        })??;
    stream.set_nodelay(true)?;
    Ok(stream)
}

impl OlaClient {
    /// Connects to olad at `addr` (e.g. `127.0.0.1:9010`) with default settings.
    pub async fn connect(addr: &str) -> Result<Self, OlaError> {
        Self::connect_with(addr, ClientConfig::default()).await
    }

    /// Connects to olad at `addr` with `config`. Fails if the first
    /// connection cannot be made; later losses are handled by reconnecting.
    pub async fn connect_with(addr: &str, config: ClientConfig) -> Result<Self, OlaError> {
        let connect_err = |source| OlaError::Connect {
            addr: addr.to_owned(),
            source,
        };
        // olad listens on IPv4 loopback only (ola-rpc.md §1): for a name
        // like `localhost`, try the IPv4 addresses first.
        let mut candidates: Vec<SocketAddr> = tokio::net::lookup_host(addr)
            .await
            .map_err(connect_err)?
            .collect();
        candidates.sort_by_key(|a| !a.is_ipv4());
        let mut last_err = std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "the address resolves to nothing",
        );
        let mut connected = None;
        for candidate in candidates {
            match open(candidate, config.request_timeout).await {
                Ok(stream) => {
                    connected = Some((candidate, stream));
                    break;
                }
                Err(err) => last_err = err,
            }
        }
        let (sock, stream) = connected.ok_or_else(|| connect_err(last_err))?;
        let first_id = config.first_id;
        let (tx, rx) = mpsc::channel(config.queue_depth.max(1));
        let (events, _) = broadcast::channel(64);
        let shared = Arc::new(Shared {
            addr: sock,
            config,
            state: Mutex::new(State::new(first_id)),
            events,
        });
        tokio::spawn(run_writer(shared.clone(), rx, stream));
        Ok(Self { tx, shared })
    }

    /// olad's address.
    pub fn addr(&self) -> SocketAddr {
        self.shared.addr
    }

    /// Whether the connection is up right now.
    pub fn is_connected(&self) -> bool {
        self.shared.lock().connected
    }

    /// Connection events from now on (disconnects, reconnects, close).
    pub fn events(&self) -> broadcast::Receiver<ClientEvent> {
        self.shared.events.subscribe()
    }

    /// Calls `method` with `request` and decodes the reply as `Resp`. The
    /// typed methods below are built on this; use it for methods they lack.
    pub async fn call<Resp: Message + Default>(
        &self,
        method: &'static str,
        request: &impl Message,
    ) -> Result<Resp, OlaError> {
        let body = self.call_raw(method, request).await?;
        Resp::decode(body).map_err(|source| OlaError::BadReply { method, source })
    }

    /// Calls `method` and returns the raw reply body.
    pub async fn call_raw(
        &self,
        method: &'static str,
        request: &impl Message,
    ) -> Result<Bytes, OlaError> {
        if method == "StreamDmxData" {
            return Err(OlaError::StreamingMethod);
        }
        let (reply_tx, reply_rx) = oneshot::channel();
        let (id, epoch, bytes) = {
            let mut st = self.shared.lock();
            self.check_open(&st)?;
            let id = st.alloc_id();
            let mut buf = BytesMut::new();
            codec::encode_request(Type::Request, id, method, request, &mut buf)
                .map_err(|source| OlaError::Encode { method, source })?;
            st.pending.insert(id, reply_tx);
            (id, st.epoch, buf.freeze())
        };
        self.tx
            .send(Outgoing::Frame { epoch, bytes })
            .await
            .map_err(|_| OlaError::Closed)?;
        let timeout = self.shared.config.request_timeout;
        let reply = match tokio::time::timeout(timeout, reply_rx).await {
            Ok(Ok(reply)) => reply,
            Ok(Err(_)) => return Err(OlaError::Closed),
            Err(_) => {
                // Drop our own entry only: a scan of the whole map per
                // timeout is quadratic when olad stalls with many calls in
                // flight. Other abandoned entries are pruned in bulk by
                // `alloc_id`.
                self.shared.lock().forget(id);
                return Err(OlaError::Timeout {
                    addr: self.shared.addr,
                    method,
                    timeout,
                });
            }
        };
        match reply {
            Reply::Ok(body) => Ok(body),
            Reply::Failed(message) => Err(OlaError::Failed { method, message }),
            Reply::Cancelled(message) => Err(OlaError::Cancelled { method, message }),
            Reply::NotImplemented => Err(OlaError::NotImplemented { method }),
            Reply::Lost(reason) => Err(OlaError::Disconnected {
                addr: self.shared.addr,
                method,
                reason,
            }),
        }
    }

    fn check_open(&self, st: &State) -> Result<(), OlaError> {
        if st.closed {
            return Err(OlaError::Closed);
        }
        if !st.connected {
            return Err(OlaError::NotConnected {
                addr: self.shared.addr,
                reason: st.last_error.clone(),
            });
        }
        Ok(())
    }

    /// Sets a universe's DMX and waits for olad's Ack. `priority` (0..=200)
    /// is left out of the message when `None`; olad then uses 100. Fails with
    /// "Universe doesn't exist" unless a port is patched to the universe or
    /// some client uses it (ola-rpc.md §6).
    pub async fn update_dmx(
        &self,
        universe: u32,
        data: &[u8],
        priority: Option<u8>,
    ) -> Result<(), OlaError> {
        let dmx = dmx_data(universe, data, priority)?;
        let result = self.call::<Ack>("UpdateDmxData", &dmx).await;
        // Remember it for re-sending after a reconnect, unless olad refused
        // it (then it never was this universe's state).
        if !matches!(&result, Err(err) if err.is_refusal() || matches!(err, OlaError::Closed)) {
            self.shared.lock().sourcing.insert(universe, dmx);
        }
        result.map(|_| ())
    }

    /// Streams a DMX frame (`StreamDmxData` as STREAM_REQUEST): olad never
    /// answers, and silently drops frames for universes that do not exist.
    /// Returns once the frame is queued; [`OlaClient::flush`] or
    /// [`OlaClient::close`] wait until olad has applied it.
    pub async fn stream_dmx(
        &self,
        universe: u32,
        data: &[u8],
        priority: Option<u8>,
    ) -> Result<(), OlaError> {
        let dmx = dmx_data(universe, data, priority)?;
        let (epoch, bytes) = {
            let mut st = self.shared.lock();
            if st.closed {
                return Err(OlaError::Closed);
            }
            // Kept even while disconnected: it is re-sent on reconnect.
            st.sourcing.insert(universe, dmx.clone());
            self.check_open(&st)?;
            st.streamed = true;
            let id = st.alloc_id();
            let mut buf = BytesMut::with_capacity(560);
            codec::encode_request(Type::StreamRequest, id, "StreamDmxData", &dmx, &mut buf)
                .map_err(|source| OlaError::Encode {
                    method: "StreamDmxData",
                    source,
                })?;
            (st.epoch, buf.freeze())
        };
        self.tx
            .send(Outgoing::Frame { epoch, bytes })
            .await
            .map_err(|_| OlaError::Closed)
    }

    /// Reads a universe's merged DMX (may be shorter than 512 slots).
    pub async fn get_dmx(&self, universe: u32) -> Result<Bytes, OlaError> {
        let reply: DmxData = self
            .call(
                "GetDmx",
                &UniverseRequest {
                    universe: universe_i32(universe)?,
                },
            )
            .await?;
        Ok(reply.data)
    }

    /// All universes olad knows.
    pub async fn universes(&self) -> Result<Vec<UniverseInfo>, OlaError> {
        let reply: UniverseInfoReply = self
            .call(
                "GetUniverseInfo",
                &OptionalUniverseRequest { universe: None },
            )
            .await?;
        Ok(reply.universe)
    }

    /// One universe's information.
    pub async fn universe(&self, universe: u32) -> Result<UniverseInfo, OlaError> {
        let reply: UniverseInfoReply = self
            .call(
                "GetUniverseInfo",
                &OptionalUniverseRequest {
                    universe: Some(universe_i32(universe)?),
                },
            )
            .await?;
        reply
            .universe
            .into_iter()
            .next()
            .ok_or_else(|| OlaError::Failed {
                method: "GetUniverseInfo",
                message: "Universe doesn't exist".into(),
            })
    }

    /// Renames a universe.
    pub async fn set_universe_name(&self, universe: u32, name: &str) -> Result<(), OlaError> {
        let req = UniverseNameRequest {
            universe: universe_i32(universe)?,
            name: name.to_owned(),
        };
        let _: Ack = self.call("SetUniverseName", &req).await?;
        Ok(())
    }

    /// Sets a universe's merge mode (HTP or LTP).
    pub async fn set_merge_mode(&self, universe: u32, mode: MergeMode) -> Result<(), OlaError> {
        let req = MergeModeRequest {
            universe: universe_i32(universe)?,
            merge_mode: mode as i32,
        };
        let _: Ack = self.call("SetMergeMode", &req).await?;
        Ok(())
    }

    /// Registers for a universe's DMX and returns a subscription that sees
    /// every change (latest value wins). olad creates the universe if it does
    /// not exist. Several subscriptions to one universe share one
    /// registration, which ends when the last of them is dropped.
    pub async fn register(&self, universe: u32) -> Result<DmxSubscription, OlaError> {
        let wire = universe_i32(universe)?;
        // Made before the request, so that a failure, or this future being
        // dropped halfway, unregisters again through its Drop.
        let sub = {
            let mut st = self.shared.lock();
            self.check_open(&st)?;
            let (tx, _) = st
                .subscriptions
                .entry(universe)
                .or_insert_with(|| (watch::channel(None).0, 0));
            DmxSubscription {
                universe,
                rx: tx.subscribe(),
                shared: Arc::downgrade(&self.shared),
                queue: self.tx.downgrade(),
            }
        };
        let req = RegisterDmxRequest {
            universe: wire,
            action: RegisterAction::Register as i32,
        };
        self.call::<Ack>("RegisterForDmx", &req).await?;
        Ok(sub)
    }

    /// Stops the DMX pushes for a universe; its subscriptions end.
    pub async fn unregister(&self, universe: u32) -> Result<(), OlaError> {
        let req = RegisterDmxRequest {
            universe: universe_i32(universe)?,
            action: RegisterAction::Unregister as i32,
        };
        self.shared.lock().subscriptions.remove(&universe);
        let _: Ack = self.call("RegisterForDmx", &req).await?;
        Ok(())
    }

    /// Devices with their ports; `plugin` filters by plugin id (None = all).
    pub async fn devices(&self, plugin: Option<i32>) -> Result<Vec<DeviceInfo>, OlaError> {
        let reply: DeviceInfoReply = self
            .call("GetDeviceInfo", &DeviceInfoRequest { plugin_id: plugin })
            .await?;
        Ok(reply.device)
    }

    /// Devices with their *unpatched* ports that could be patched (to
    /// `universe`, if given).
    pub async fn candidate_ports(
        &self,
        universe: Option<u32>,
    ) -> Result<Vec<DeviceInfo>, OlaError> {
        let universe = universe.map(universe_i32).transpose()?;
        let reply: DeviceInfoReply = self
            .call("GetCandidatePorts", &OptionalUniverseRequest { universe })
            .await?;
        Ok(reply.device)
    }

    /// Patches a port to a universe (creating the universe).
    pub async fn patch(&self, port: PortRef, universe: u32) -> Result<(), OlaError> {
        self.patch_action(port, universe, PatchAction::Patch).await
    }

    /// Unpatches a port from a universe.
    pub async fn unpatch(&self, port: PortRef, universe: u32) -> Result<(), OlaError> {
        self.patch_action(port, universe, PatchAction::Unpatch)
            .await
    }

    async fn patch_action(
        &self,
        port: PortRef,
        universe: u32,
        action: PatchAction,
    ) -> Result<(), OlaError> {
        let req = PatchPortRequest {
            universe: universe_i32(universe)?,
            device_alias: port.device_alias,
            port_id: port.port_id,
            action: action as i32,
            is_output: port.is_output,
        };
        let _: Ack = self.call("PatchPort", &req).await?;
        Ok(())
    }

    /// The loaded plugins.
    pub async fn plugins(&self) -> Result<Vec<PluginInfo>, OlaError> {
        let reply: PluginListReply = self.call("GetPlugins", &PluginListRequest {}).await?;
        Ok(reply.plugin)
    }

    /// Sets a port's priority mode (and static priority).
    pub async fn set_port_priority(
        &self,
        port: PortRef,
        priority: PortPriority,
    ) -> Result<(), OlaError> {
        let (mode, value) = match priority {
            PortPriority::Inherit => (0, None),
            PortPriority::Static(p) => (1, Some(i32::from(check_priority(p)?))),
        };
        let req = PortPriorityRequest {
            device_alias: port.device_alias,
            is_output: port.is_output,
            port_id: port.port_id,
            priority_mode: mode,
            priority: value,
        };
        let _: Ack = self.call("SetPortPriority", &req).await?;
        Ok(())
    }

    /// Waits until olad has handled everything sent before this call (one
    /// round trip; olad handles a connection's messages in order).
    pub async fn flush(&self) -> Result<(), OlaError> {
        let _: PluginListReply = self.call("GetPlugins", &PluginListRequest {}).await?;
        Ok(())
    }

    /// Flushes if frames were streamed or requests are unanswered (so none
    /// is lost, ola-rpc.md §7.7), then closes the connection. Every handle is
    /// closed afterwards. The flush error, if any, is returned after closing.
    /// When everything sent was answered, olad has applied it already: no
    /// barrier round trip.
    pub async fn close(&self) -> Result<(), OlaError> {
        let unconfirmed = {
            let mut st = self.shared.lock();
            if st.closed {
                return Ok(());
            }
            std::mem::take(&mut st.streamed) || !st.pending.is_empty()
        };
        let flushed = match unconfirmed {
            true => match self.flush().await {
                Err(OlaError::Closed) => return Ok(()),
                other => other,
            },
            false => Ok(()),
        };
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Outgoing::Close(tx)).await.is_ok() {
            let _ = rx.await;
        }
        flushed
    }
}

/// Appends a framed `RegisterForDmx` request. Universes in `subscriptions`
/// and `sourcing` passed `universe_i32`, so the cast is lossless.
fn encode_register(buf: &mut BytesMut, id: u32, universe: u32, action: RegisterAction) {
    let req = RegisterDmxRequest {
        universe: universe as i32,
        action: action as i32,
    };
    // A few bytes: always within the size cap.
    let _ = codec::encode_request(Type::Request, id, "RegisterForDmx", &req, buf);
}

fn universe_i32(universe: u32) -> Result<i32, OlaError> {
    i32::try_from(universe).map_err(|_| OlaError::InvalidUniverse(universe))
}

/// Checks a source or port priority: olad takes 0..=[`MAX_PRIORITY`] and
/// wraps larger values around (ola-rpc.md §7.2), so they are refused here.
pub fn check_priority(priority: u8) -> Result<u8, OlaError> {
    if priority > MAX_PRIORITY {
        return Err(OlaError::InvalidPriority(priority));
    }
    Ok(priority)
}

fn dmx_data(universe: u32, data: &[u8], priority: Option<u8>) -> Result<DmxData, OlaError> {
    if data.len() > MAX_SLOTS {
        return Err(OlaError::TooManySlots(data.len()));
    }
    let priority = priority.map(check_priority).transpose()?;
    Ok(DmxData {
        universe: universe_i32(universe)?,
        data: Bytes::copy_from_slice(data),
        priority: priority.map(i32::from),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(next_id: u32) -> State {
        State::new(next_id)
    }

    #[test]
    fn ids_in_flight_are_skipped_and_ids_wrap() {
        let mut st = state(u32::MAX);
        let (tx_max, _rx_max) = oneshot::channel();
        st.pending.insert(u32::MAX, tx_max);
        let (tx0, _rx0) = oneshot::channel();
        st.pending.insert(0, tx0);
        let (tx1, _rx1) = oneshot::channel();
        st.pending.insert(1, tx1);
        // MAX, 0 and 1 are in flight: the next free id is 2.
        assert_eq!(st.alloc_id(), 2);
        assert_eq!(st.alloc_id(), 3);
    }

    #[test]
    fn abandoned_entries_are_pruned() {
        let mut st = state(0);
        let mut keep = Vec::new();
        for id in 0..2000u32 {
            let (tx, rx) = oneshot::channel();
            st.pending.insert(id + 10_000, tx);
            if id % 2 == 0 {
                keep.push(rx);
            }
        }
        st.alloc_id();
        assert_eq!(st.pending.len(), 1000);
        assert!(st.prune_at >= 2000);
    }

    #[tokio::test]
    async fn a_timed_out_call_removes_its_own_entry_and_nothing_else() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let client = OlaClient::connect_with(
            &addr,
            ClientConfig {
                request_timeout: Duration::from_millis(200),
                reconnect: false,
                ..ClientConfig::default()
            },
        )
        .await
        .unwrap();
        // A peer that never answers.
        let _peer = listener.accept().await.unwrap();
        // Another call's abandoned entry: pruning those is alloc_id's job (in
        // bulk), not a scan of the whole map on every timeout.
        let (abandoned, _) = oneshot::channel();
        client.shared.lock().pending.insert(999_999, abandoned);
        let err = client.get_dmx(1).await.unwrap_err();
        assert!(matches!(err, OlaError::Timeout { .. }), "{err:?}");
        let st = client.shared.lock();
        assert_eq!(st.pending.keys().collect::<Vec<_>>(), vec![&999_999]);
    }

    #[test]
    fn forgetting_an_id_spares_an_entry_still_waited_for() {
        let mut st = state(0);
        let (tx, rx) = oneshot::channel::<Reply>();
        st.pending.insert(5, tx);
        st.forget(5);
        assert!(st.pending.contains_key(&5));
        drop(rx);
        st.forget(5);
        assert!(st.pending.is_empty());
    }

    #[test]
    fn a_push_for_a_subscription_nobody_receives_unregisters_it() {
        let shared = Shared {
            addr: SocketAddr::from(([127, 0, 0, 1], 9010)),
            config: ClientConfig::default(),
            state: Mutex::new(state(7)),
            events: broadcast::channel(1).0,
        };
        // What `Shared::release` leaves behind when the writer's queue is full.
        shared
            .lock()
            .subscriptions
            .insert(3, (watch::channel(None).0, 0));
        let (ctl, mut ctl_rx) = mpsc::unbounded_channel();
        let push = DmxData {
            universe: 3,
            data: Bytes::from_static(&[1]),
            priority: None,
        };
        deliver_push(&shared, push.encode_to_vec().into(), &ctl);
        assert!(shared.lock().subscriptions.is_empty());
        let mut frame = BytesMut::from(&ctl_rx.try_recv().unwrap()[..]);
        let body = OlaCodec::new().decode_body(&mut frame).unwrap().unwrap();
        let msg = RpcMessage::decode(body).unwrap();
        assert_eq!(msg.name.as_deref(), Some("RegisterForDmx"));
        assert_eq!(msg.id, Some(7));
        let req = RegisterDmxRequest::decode(msg.buffer.unwrap()).unwrap();
        assert_eq!(
            (req.universe, req.action),
            (3, RegisterAction::Unregister as i32)
        );
    }

    #[test]
    fn dmx_validation() {
        assert!(matches!(
            dmx_data(1, &[0; 513], None),
            Err(OlaError::TooManySlots(513))
        ));
        assert!(matches!(
            dmx_data(1, &[0; 512], Some(201)),
            Err(OlaError::InvalidPriority(201))
        ));
        assert!(matches!(
            dmx_data(1 << 31, &[], None),
            Err(OlaError::InvalidUniverse(_))
        ));
        let ok = dmx_data(3, &[1, 2], Some(200)).unwrap();
        assert_eq!(ok.priority, Some(200));
        assert_eq!(ok.universe, 3);
        assert_eq!(dmx_data(3, &[], None).unwrap().priority, None);
    }
}
