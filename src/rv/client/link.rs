//! What the handles and the actor share: the route a request takes right
//! now ([`Link`]), and a live session's requests in flight ([`Live`]): the
//! RETURN FIFO, the pings, their deadlines.

use super::*;

/// A request from a handle. While connected, the handle carries it out
/// itself under the link's lock; while connecting, it waits in the link.
pub(super) enum Request {
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
    pub(super) fn refuse(self, err: RequestError) {
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
pub(super) struct Close {
    pub(super) done: oneshot::Sender<()>,
}

/// What the handles and the actor share: where a request goes right now.
///
/// While connected, a handle writes its request to the socket itself (no hop
/// through the actor task) and records what it waits for, both under the
/// lock, so the order of the RETURN FIFO is the order on the wire. The actor
/// reads the socket and completes what arrives.
pub(super) struct Link {
    pub(super) route: std::sync::Mutex<Route>,
    /// Wakes the actor when a request's deadline comes before its timer.
    pub(super) wake: tokio::sync::Notify,
    pub(super) addr: String,
    /// RV's events the client subscribed to ([`RvClient::subscribe`]);
    /// taken after the route's lock when both are needed.
    pub(super) subscription: std::sync::Mutex<Vec<String>>,
}

pub(super) enum Route {
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
    /// The subscribed event names.
    pub(super) fn subscribed(&self) -> std::sync::MutexGuard<'_, Vec<String>> {
        // Nothing under this lock can leave it half-changed.
        self.subscription
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(super) fn lock(&self) -> std::sync::MutexGuard<'_, Route> {
        // Nothing under this lock can leave it half-changed.
        self.route
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Carries out a request, queues it, or refuses it, by the route.
    pub(super) fn submit(&self, request: Request) -> Result<(), RequestError> {
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
    pub(super) fn reroute(&self, next: Route, reason: &str) -> Option<Live> {
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
pub(super) struct Live {
    pub(super) outbox: Outbox,
    pub(super) pending: VecDeque<Pending>,
    pub(super) pings: VecDeque<PendingPing>,
    pub(super) request_timeout: Duration,
    /// When the actor's timer fires, if it is armed: a request due before
    /// then must wake the actor.
    pub(super) timer_at: Option<Instant>,
}

impl Live {
    /// Sends a request; true if its deadline needs the actor's timer moved.
    pub(super) fn submit(&mut self, request: Request) -> bool {
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
    pub(super) fn next_deadline(&self) -> Option<Instant> {
        let requests = self.pending.iter().filter(|p| p.reply.is_some());
        let pings = self.pings.iter().filter(|p| p.reply.is_some());
        requests
            .map(|p| p.deadline)
            .chain(pings.map(|p| p.deadline))
            .min()
    }

    /// Fails every request past its deadline (each keeps its FIFO slot).
    pub(super) fn expire(&mut self, now: Instant, addr: &str) {
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
    pub(super) fn fail_all(&mut self, err: &RequestError) {
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

/// One outstanding RETURNEVENT.
pub(super) struct Pending {
    pub(super) code: String,
    pub(super) deadline: Instant,
    /// `None` once the request timed out: the slot stays to absorb its late RETURN.
    pub(super) reply: Option<oneshot::Sender<Result<String, RequestError>>>,
}

pub(super) struct PendingPing {
    pub(super) sent: Instant,
    pub(super) deadline: Instant,
    /// `None` for heartbeat pings, and for user pings that timed out.
    pub(super) reply: Option<oneshot::Sender<Result<Duration, RequestError>>>,
}
