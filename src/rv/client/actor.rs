//! The connection actor: handshake, reconnects, the read half (always
//! drained), PING answers, RETURN matching, deadlines, heartbeat and sign-off
//! (rv-protocol.md §3, §4, §5, §9).

use super::*;

/// How a live session ended.
pub(super) enum SessionEnd {
    /// Lost: reconnect if allowed.
    Lost(String),
    /// Closed on request: stop for good.
    Closed(Option<oneshot::Sender<()>>),
}

pub(super) struct Actor {
    pub(super) config: Config,
    pub(super) link: Arc<Link>,
    pub(super) close: mpsc::Receiver<Close>,
    pub(super) events: mpsc::UnboundedSender<ClientEvent>,
    pub(super) state: watch::Sender<ConnState>,
    /// Told the outcome of the first handshake, for [`RvClient::connect`].
    pub(super) first_outcome: Option<oneshot::Sender<Result<(), ConnectError>>>,
}

/// A connection that has completed its handshake.
pub(super) struct Greeted {
    pub(super) frames: FrameReader<OwnedReadHalf>,
    pub(super) write_half: OwnedWriteHalf,
    pub(super) peer: String,
    pub(super) app: String,
}

/// How a backoff wait ended.
pub(super) enum Idle {
    Elapsed,
    Close(Option<oneshot::Sender<()>>),
}

impl Actor {
    pub(super) async fn run(mut self) {
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
            // A first handshake that failed ends the client. One that
            // succeeded is reported once the session is live (in `session`),
            // so what a caller does right after `connect` goes straight out.
            if let Err(err) = &handshake
                && let Some(first) = self.first_outcome.take()
            {
                let _ = first.send(Err(err.clone()));
                self.finish(err.to_string());
                return;
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

    pub(super) fn finish(&mut self, reason: String) {
        self.link.reroute(Route::Closed, &reason);
        self.state.send_replace(ConnState::Closed { reason });
        self.close.close();
    }

    pub(super) fn emit(&self, event: ClientEvent) {
        // A consumer that dropped its receiver has opted out of events.
        let _ = self.events.send(event);
    }

    /// Waits out a backoff delay (requests are refused meanwhile by the
    /// route). Returns the close acknowledgement if asked to close (or every
    /// handle dropped).
    pub(super) async fn idle(&mut self, wait: Duration) -> Idle {
        tokio::select! {
            _ = sleep(wait) => Idle::Elapsed,
            close = self.close.recv() => Idle::Close(close.map(|c| c.done)),
        }
    }

    /// TCP connect, NEWGREETING, wait for GREETING/NEWGREETING.
    pub(super) async fn handshake(&mut self) -> Result<Greeted, ConnectError> {
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

    pub(super) async fn tcp_connect(&self) -> Result<TcpStream, ConnectError> {
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
    pub(super) async fn session(
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
            let subscribed = self.link.subscribed().clone();
            if !subscribed.is_empty() {
                self.install(&mut live, subscribed);
            }
            *route = Route::Live(live);
        }
        if let Some(first) = self.first_outcome.take() {
            let _ = first.send(Ok(()));
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
                // Our event handlers off first (rv-events.md §1), then sign
                // off (§9): DISCONNECT, let the writer flush, wait for EOF.
                if !self.link.subscribed().is_empty() {
                    let code = events::remove_code(&self.config.contact);
                    if let Ok(text) = Message::Event(Event::new("remote-eval", code)).to_text() {
                        live.outbox.send(Frame::Message(text), None);
                    }
                }
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

    /// Installs the forwarding handlers of `subscribed` at the start of a
    /// session (ahead of nothing but the requests made while connecting);
    /// the outcome is reported as an event when RV answers.
    pub(super) fn install(&self, live: &mut Live, subscribed: Vec<String>) {
        let (request, reply) = match install_request(&self.config.contact, &subscribed) {
            Ok(install) => install,
            Err(err) => {
                self.emit(ClientEvent::SubscribeFailed {
                    reason: err.to_string(),
                });
                return;
            }
        };
        live.submit(request);
        let events = self.events.clone();
        tokio::spawn(async move {
            let outcome = match reply.await {
                Ok(Ok(value)) => events::installed(&value),
                Ok(Err(err)) => Err(err.to_string()),
                Err(_) => Err("the connection closed before RV answered".to_owned()),
            };
            let _ = events.send(match outcome {
                Ok(()) => ClientEvent::Subscribed { events: subscribed },
                Err(reason) => ClientEvent::SubscribeFailed { reason },
            });
        });
    }

    /// Handles one incoming frame; `Some` ends the session.
    pub(super) fn on_frame(&self, frame: Frame) -> Option<SessionEnd> {
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
                Message::Event(event) => {
                    if self.link.subscribed().contains(&event.name) {
                        let forwarded = RvEvent::new(event.name, event.contents, &self.link.addr);
                        self.emit(ClientEvent::RvEvent(forwarded));
                    } else {
                        self.emit(ClientEvent::Event(event));
                    }
                }
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

pub(super) fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(86_400 * 365)
}
