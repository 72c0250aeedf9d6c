//! One olad connection's shared state and tasks: the request table and
//! subscriptions ([`Shared`]), the writer (batches, reconnects, and the
//! resync that restores registrations and DMX after a reconnect,
//! ola-rpc.md §7.8), and the reader that matches replies by id and acks
//! olad's pushes (ola-rpc.md §4, §7.4).

use super::*;

/// Outcome of a request as the reader saw it.
pub(super) enum Reply {
    Ok(Bytes),
    Failed(String),
    Cancelled(String),
    NotImplemented,
    Lost(String),
}

pub(super) enum Outgoing {
    /// A complete frame (or several), written if still of the current connection.
    Frame { epoch: u64, bytes: Bytes },
    /// Stop: close the socket, then answer.
    Close(oneshot::Sender<()>),
}

pub(super) struct State {
    pub(super) next_id: u32,
    pub(super) pending: HashMap<u32, oneshot::Sender<Reply>>,
    pub(super) prune_at: usize,
    /// Bumped whenever a connection ends; frames of older epochs are dropped.
    pub(super) epoch: u64,
    pub(super) connected: bool,
    pub(super) closed: bool,
    pub(super) last_error: String,
    pub(super) subscriptions: HashMap<u32, (watch::Sender<Option<DmxFrame>>, u64)>,
    pub(super) sourcing: HashMap<u32, DmxData>,
    /// A frame was streamed (no reply) since the last close: closing must
    /// wait for a barrier first.
    pub(super) streamed: bool,
}

impl State {
    /// A connected client's state, ids starting at `next_id`.
    pub(super) fn new(next_id: u32) -> Self {
        Self {
            next_id,
            pending: HashMap::new(),
            prune_at: 1024,
            epoch: 0,
            connected: true,
            closed: false,
            last_error: String::new(),
            subscriptions: HashMap::new(),
            sourcing: HashMap::new(),
            streamed: false,
        }
    }
}

impl State {
    pub(super) fn alloc_id(&mut self) -> u32 {
        if self.pending.len() >= self.prune_at {
            self.pending.retain(|_, tx| !tx.is_closed());
            self.prune_at = (self.pending.len() * 2).max(1024);
        }
        loop {
            let id = self.next_id;
            self.next_id = self.next_id.wrapping_add(1);
            if !self.pending.contains_key(&id) {
                return id;
            }
        }
    }

    /// Removes the entry of a call that gave up waiting on `id`. Its
    /// receiver is gone, so its sender is closed; an entry that is still
    /// wanted (a later call given the same id after the reply came and the
    /// ids wrapped around) is left alone.
    pub(super) fn forget(&mut self, id: u32) {
        if self.pending.get(&id).is_some_and(|tx| tx.is_closed()) {
            self.pending.remove(&id);
        }
    }

    /// A `RegisterForDmx` UNREGISTER for `universe` with a fresh id, whose
    /// reply nobody waits for. Its entry stays until olad answers, so that
    /// [`OlaClient::close`] sees it unconfirmed and waits for olad to have
    /// applied it.
    pub(super) fn unregister_request(&mut self, universe: u32) -> (u32, Bytes) {
        let id = self.alloc_id();
        let mut buf = BytesMut::with_capacity(48);
        encode_register(&mut buf, id, universe, RegisterAction::Unregister);
        self.pending.insert(id, oneshot::channel().0);
        (id, buf.freeze())
    }

    pub(super) fn fail_all(&mut self, reason: &str) {
        for (_, tx) in self.pending.drain() {
            let _ = tx.send(Reply::Lost(reason.to_owned()));
        }
    }
}

pub(super) struct Shared {
    pub(super) addr: SocketAddr,
    pub(super) config: ClientConfig,
    pub(super) state: Mutex<State>,
    pub(super) events: broadcast::Sender<ClientEvent>,
}

impl Shared {
    pub(super) fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave State inconsistent in
        // a way that matters more than losing the client, so keep going.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A subscription to `universe` whose receiver is `rx` is being
    /// dropped. If it is the last one, the universe is unregistered: the
    /// request goes into the writer's queue (under the lock, so a later
    /// `register` cannot overtake it) and the entry is removed, so a
    /// reconnect does not register it again. If the queue is full the
    /// entry stays, with no receiver left; the reader unregisters it at its
    /// next push, and a reconnect skips it.
    pub(super) fn release(
        &self,
        universe: u32,
        rx: &watch::Receiver<Option<DmxFrame>>,
        queue: &mpsc::Sender<Outgoing>,
    ) {
        let mut st = self.lock();
        // A universe's sender lives only in `subscriptions`: if ours is
        // closed, the universe was unregistered (or the client closed), and
        // an entry there now belongs to a later registration.
        if rx.has_changed().is_err() {
            return;
        }
        match st.subscriptions.get(&universe) {
            Some((tx, _)) if tx.receiver_count() <= 1 => {}
            _ => return,
        }
        if !st.connected {
            // olad forgot the registration with the connection.
            st.subscriptions.remove(&universe);
            return;
        }
        let (id, bytes) = st.unregister_request(universe);
        let epoch = st.epoch;
        if queue.try_send(Outgoing::Frame { epoch, bytes }).is_ok() {
            st.subscriptions.remove(&universe);
        } else {
            st.pending.remove(&id);
        }
    }

    pub(super) fn emit(&self, event: ClientEvent) {
        let _ = self.events.send(event);
    }
}

/// Why a connection's write loop ended.
pub(super) enum WriteEnd {
    Lost(String),
    Close(Option<oneshot::Sender<()>>),
}

pub(super) async fn run_writer(
    shared: Arc<Shared>,
    mut rx: mpsc::Receiver<Outgoing>,
    first: TcpStream,
) {
    let mut next = Some(first);
    let mut reconnecting = false;
    loop {
        let stream = match next.take() {
            Some(stream) => stream,
            None => match reconnect(&shared, &mut rx).await {
                Ok(stream) => stream,
                Err(done) => return finish(&shared, done),
            },
        };
        let (rd, wr) = stream.into_split();
        let (ctl_tx, ctl_rx) = mpsc::unbounded_channel();
        let reader = tokio::spawn(run_reader(shared.clone(), rd, ctl_tx));
        let mut batch = BytesMut::new();
        if reconnecting {
            batch = resync(&shared);
        }
        let epoch = shared.lock().epoch;
        let end = write_loop(epoch, &mut rx, wr, ctl_rx, reader, batch).await;
        match end {
            WriteEnd::Close(done) => return finish(&shared, done),
            WriteEnd::Lost(reason) => {
                // The caller hears of it (ClientEvent::Disconnected, or the
                // failed request): a log line, not a warning on stderr.
                tracing::info!(addr = %shared.addr, %reason, "olad connection lost");
                {
                    let mut st = shared.lock();
                    st.epoch += 1;
                    st.connected = false;
                    st.last_error = reason.clone();
                    st.fail_all(&reason);
                    if !shared.config.reconnect {
                        st.closed = true;
                    }
                }
                shared.emit(ClientEvent::Disconnected { reason });
                if !shared.config.reconnect {
                    return finish(&shared, None);
                }
                reconnecting = true;
            }
        }
    }
}

pub(super) fn finish(shared: &Shared, done: Option<oneshot::Sender<()>>) {
    {
        let mut st = shared.lock();
        st.closed = true;
        st.connected = false;
        st.fail_all("the client was closed");
        st.subscriptions.clear();
    }
    shared.emit(ClientEvent::Closed);
    if let Some(done) = done {
        let _ = done.send(());
    }
}

/// Reconnects with capped backoff. Frames queued meanwhile belong to the old
/// connection and are dropped (their callers were already told). Returns
/// `Err` when asked to close (with the closer to answer) or when every
/// handle is gone.
pub(super) async fn reconnect(
    shared: &Shared,
    rx: &mut mpsc::Receiver<Outgoing>,
) -> Result<TcpStream, Option<oneshot::Sender<()>>> {
    let mut delay = shared.config.backoff_initial;
    let mut attempt = 0u32;
    loop {
        attempt = attempt.saturating_add(1);
        shared.emit(ClientEvent::Reconnecting { attempt, delay });
        let sleep = tokio::time::sleep(delay);
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                _ = &mut sleep => break,
                msg = rx.recv() => match msg {
                    None => return Err(None),
                    Some(Outgoing::Close(done)) => return Err(Some(done)),
                    Some(Outgoing::Frame { .. }) => {}
                },
            }
        }
        match open(shared.addr, shared.config.request_timeout).await {
            Ok(stream) => return Ok(stream),
            Err(err) => {
                tracing::debug!(addr = %shared.addr, %err, ?delay, "reconnect failed");
                delay = (delay * 2).min(shared.config.backoff_max);
            }
        }
    }
}

/// After a reconnect: registers every subscription again and re-sends the
/// last frame of every universe this client sourced, as ordinary requests
/// written before anything else; a task reports the outcome as
/// [`ClientEvent::Reconnected`]. Returns the frames to write first.
pub(super) fn resync(shared: &Arc<Shared>) -> BytesMut {
    #[derive(Clone, Copy, PartialEq)]
    enum Step {
        Resubscribe,
        Resend,
        /// A temporary registration around a re-send, see below.
        Scaffold,
    }
    let mut batch = BytesMut::new();
    let mut waits: Vec<(Step, u32, oneshot::Receiver<Reply>)> = Vec::new();
    {
        let mut st = shared.lock();
        st.connected = true;
        // A subscription whose receivers are all gone is not restored.
        st.subscriptions
            .retain(|_, (tx, _)| tx.receiver_count() > 0);
        let mut subs: Vec<u32> = st.subscriptions.keys().copied().collect();
        subs.sort_unstable();
        let mut sources: Vec<(u32, DmxData)> =
            st.sourcing.iter().map(|(u, d)| (*u, d.clone())).collect();
        sources.sort_unstable_by_key(|(u, _)| *u);
        let mut push = |st: &mut State, step, universe, msg: &dyn Fn(&mut BytesMut, u32)| {
            let id = st.alloc_id();
            msg(&mut batch, id);
            let (tx, rx) = oneshot::channel();
            st.pending.insert(id, tx);
            waits.push((step, universe, rx));
        };
        let register = |universe: u32, action: RegisterAction| {
            move |buf: &mut BytesMut, id: u32| encode_register(buf, id, universe, action)
        };
        for &universe in &subs {
            let reg = register(universe, RegisterAction::Register);
            push(&mut st, Step::Resubscribe, universe, &reg);
        }
        for (universe, dmx) in sources {
            // A restarted olad may not have the universe yet (its port
            // patches come back later, or not at all after a crash).
            // RegisterForDmx creates it (ola-rpc.md §6), and as a source we
            // keep it alive; the registration is dropped again right after,
            // unless it is a real subscription. olad handles all of this in
            // order, so the frame lands.
            let scaffold = !subs.contains(&universe);
            if scaffold {
                let reg = register(universe, RegisterAction::Register);
                push(&mut st, Step::Scaffold, universe, &reg);
            }
            let send = |buf: &mut BytesMut, id: u32| {
                // At most 512 slots: always within the size cap.
                let _ = codec::encode_request(Type::Request, id, "UpdateDmxData", &dmx, buf);
            };
            push(&mut st, Step::Resend, universe, &send);
            if scaffold {
                let unreg = register(universe, RegisterAction::Unregister);
                push(&mut st, Step::Scaffold, universe, &unreg);
            }
        }
    }
    let shared = shared.clone();
    tokio::spawn(async move {
        let mut resubscribed = Vec::new();
        let mut resent = Vec::new();
        let mut failed = Vec::new();
        for (step, universe, rx) in waits {
            let what = match step {
                Step::Resubscribe => "re-register",
                Step::Resend => "re-send the last frame to",
                Step::Scaffold => "prepare",
            };
            let problem = match tokio::time::timeout(shared.config.request_timeout, rx).await {
                Ok(Ok(Reply::Ok(_))) => {
                    match step {
                        Step::Resubscribe => resubscribed.push(universe),
                        Step::Resend => resent.push(universe),
                        Step::Scaffold => {}
                    }
                    continue;
                }
                Ok(Ok(Reply::Failed(text) | Reply::Cancelled(text) | Reply::Lost(text))) => text,
                Ok(Ok(Reply::NotImplemented)) => "not implemented".to_owned(),
                Ok(Err(_)) | Err(_) => "no answer".to_owned(),
            };
            failed.push(format!("could not {what} universe {universe}: {problem}"));
        }
        shared.emit(ClientEvent::Reconnected {
            resubscribed,
            resent,
            failed,
        });
    });
    batch
}

pub(super) async fn write_loop(
    epoch: u64,
    rx: &mut mpsc::Receiver<Outgoing>,
    mut wr: OwnedWriteHalf,
    mut ctl_rx: mpsc::UnboundedReceiver<Bytes>,
    reader: JoinHandle<String>,
    mut batch: BytesMut,
) -> WriteEnd {
    let reader_abort = reader.abort_handle();
    let mut reader = Some(reader);
    let end = loop {
        if batch.is_empty() {
            tokio::select! {
                biased;
                ctl = ctl_rx.recv() => match ctl {
                    Some(bytes) => batch.extend_from_slice(&bytes),
                    None => {
                        let reason = match reader.take() {
                            Some(handle) => handle.await.unwrap_or_else(|e| e.to_string()),
                            None => "reader stopped".to_owned(),
                        };
                        break WriteEnd::Lost(reason);
                    }
                },
                msg = rx.recv() => match msg {
                    None => break WriteEnd::Close(None),
                    Some(Outgoing::Close(done)) => break WriteEnd::Close(Some(done)),
                    Some(Outgoing::Frame { epoch: e, bytes }) => {
                        if e == epoch {
                            batch.extend_from_slice(&bytes);
                        }
                    }
                },
            }
        }
        // Gather whatever else is ready into the same write.
        let mut closing = None;
        while batch.len() < MAX_BATCH {
            if let Ok(bytes) = ctl_rx.try_recv() {
                batch.extend_from_slice(&bytes);
                continue;
            }
            match rx.try_recv() {
                Ok(Outgoing::Frame { epoch: e, bytes }) => {
                    if e == epoch {
                        batch.extend_from_slice(&bytes);
                    }
                }
                Ok(Outgoing::Close(done)) => {
                    closing = Some(WriteEnd::Close(Some(done)));
                    break;
                }
                Err(mpsc::error::TryRecvError::Empty) => break,
                Err(mpsc::error::TryRecvError::Disconnected) => {
                    closing = Some(WriteEnd::Close(None));
                    break;
                }
            }
        }
        if !batch.is_empty() {
            if let Err(err) = wr.write_all(&batch).await {
                break WriteEnd::Lost(format!("write to olad failed: {err}"));
            }
            batch.clear();
        }
        if let Some(end) = closing {
            break end;
        }
    };
    if matches!(end, WriteEnd::Close(_)) {
        let _ = wr.shutdown().await;
    }
    reader_abort.abort();
    end
}

/// Drains the socket until it closes or breaks; returns why it ended.
pub(super) async fn run_reader(
    shared: Arc<Shared>,
    mut rd: OwnedReadHalf,
    ctl: mpsc::UnboundedSender<Bytes>,
) -> String {
    let mut buf = BytesMut::with_capacity(64 * 1024);
    let mut codec = OlaCodec::new();
    loop {
        loop {
            match codec.decode_body(&mut buf) {
                Ok(Some(body)) => match RpcMessage::decode(body) {
                    Ok(msg) => dispatch(&shared, msg, &ctl),
                    Err(err) => return format!("protocol error from olad: {err}"),
                },
                Ok(None) => break,
                Err(err) => return format!("protocol error from olad: {err}"),
            }
        }
        if buf.capacity() - buf.len() < 4096 {
            buf.reserve(64 * 1024);
        }
        match rd.read_buf(&mut buf).await {
            Ok(0) => return "olad closed the connection".to_owned(),
            Ok(_) => {}
            Err(err) => return format!("read from olad failed: {err}"),
        }
    }
}

pub(super) fn dispatch(shared: &Shared, msg: RpcMessage, ctl: &mpsc::UnboundedSender<Bytes>) {
    let id = msg.id.unwrap_or(0);
    let kind = Type::try_from(msg.r#type);
    let reply = match kind {
        Ok(Type::Response) => Reply::Ok(msg.buffer.unwrap_or_default()),
        Ok(Type::ResponseFailed) => Reply::Failed(text(msg.buffer)),
        Ok(Type::ResponseCancel) => Reply::Cancelled(text(msg.buffer)),
        Ok(Type::ResponseNotImplemented) => Reply::NotImplemented,
        Ok(Type::Request) => {
            let name = msg.name.as_deref().unwrap_or("");
            let answer = if name == "UpdateDmxData" {
                deliver_push(shared, msg.buffer.unwrap_or_default(), ctl);
                RpcMessage {
                    r#type: Type::Response as i32,
                    id: Some(id),
                    name: None,
                    buffer: Some(Bytes::new()),
                }
            } else {
                tracing::debug!(name, "olad called an unknown client method");
                RpcMessage {
                    r#type: Type::ResponseNotImplemented as i32,
                    id: Some(id),
                    name: None,
                    buffer: None,
                }
            };
            let mut out = BytesMut::with_capacity(16);
            if codec::encode_message(&answer, &mut out).is_ok() {
                let _ = ctl.send(out.freeze());
            }
            return;
        }
        _ => {
            tracing::debug!(kind = msg.r#type, id, "ignoring message from olad");
            return;
        }
    };
    let waiter = shared.lock().pending.remove(&id);
    match waiter {
        Some(tx) => {
            let _ = tx.send(reply);
        }
        None => tracing::debug!(id, "reply for no outstanding request (timed out?)"),
    }
}

pub(super) fn text(buffer: Option<Bytes>) -> String {
    String::from_utf8_lossy(&buffer.unwrap_or_default()).into_owned()
}

pub(super) fn deliver_push(shared: &Shared, body: Bytes, ctl: &mpsc::UnboundedSender<Bytes>) {
    let dmx = match DmxData::decode(body) {
        Ok(dmx) => dmx,
        Err(err) => {
            tracing::warn!(%err, "undecodable DMX push from olad");
            return;
        }
    };
    let Ok(universe) = u32::try_from(dmx.universe) else {
        return;
    };
    let mut st = shared.lock();
    if let Some((tx, _)) = st.subscriptions.get(&universe)
        && tx.receiver_count() == 0
    {
        // Every subscription is gone, but the writer's queue was full when
        // the last one went (see `Shared::release`): unregister now, ahead
        // of anything queued (the writer sends control frames first).
        st.subscriptions.remove(&universe);
        let (_, bytes) = st.unregister_request(universe);
        let _ = ctl.send(bytes);
        return;
    }
    if let Some((tx, seq)) = st.subscriptions.get_mut(&universe) {
        *seq += 1;
        tx.send_replace(Some(DmxFrame {
            universe,
            data: dmx.data,
            priority: dmx.priority,
            seq: *seq,
        }));
    }
}
