//! The write half: the [`Outbox`] the handles write through (small frames
//! straight to the socket when nothing is queued) and the writer task that
//! owns the slow path (batched small frames, data frames as vectored writes).

use super::*;

/// What the writer task sends: a frame, data frames, or the unsent tail of a
/// fast-path write.
pub(super) enum Out {
    Frame(Frame),
    Data(Vec<DataFrame>),
    Raw(Bytes),
}

pub(super) struct WriteJob {
    pub(super) out: Out,
    pub(super) done: Option<oneshot::Sender<Result<(), RequestError>>>,
}

/// The actor's way out. A small frame is written straight to the socket when
/// nothing is queued (one less task hop on the request path); anything else,
/// and whatever the socket does not take at once, goes through the writer
/// task in order.
pub(super) struct Outbox {
    pub(super) socket: Arc<OwnedWriteHalf>,
    pub(super) queue: mpsc::UnboundedSender<WriteJob>,
    /// Jobs handed to the writer and not yet fully written.
    pub(super) in_flight: Arc<AtomicUsize>,
    pub(super) scratch: BytesMut,
}

impl Outbox {
    pub(super) fn start(
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

    pub(super) fn send(
        &mut self,
        frame: Frame,
        done: Option<oneshot::Sender<Result<(), RequestError>>>,
    ) {
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

    pub(super) fn queue_job(
        &mut self,
        out: Out,
        done: Option<oneshot::Sender<Result<(), RequestError>>>,
    ) {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        let _ = self.queue.send(WriteJob { out, done });
    }
}

/// Most slices handed to one vectored write (Linux's IOV_MAX is 1024).
pub(super) const MAX_IOVECS: usize = 1024;

/// Writes everything in `bufs`, waiting for the socket as needed.
pub(super) async fn write_all_shared(
    socket: &OwnedWriteHalf,
    bufs: &mut [&[u8]],
) -> std::io::Result<()> {
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
pub(super) const SCRATCH: usize = 256 << 10;

/// Rows shorter than this are gathered into the scratch buffer rather than
/// written as one slice each: below it, the kernel's cost per slice of a
/// vectored write is more than the copy.
pub(super) const GATHER_ROWS_BELOW: usize = 4096;

/// Writes data frames (each with its encoded head) after `before`, the
/// small frames batched ahead of them: heads and payloads that lie in memory
/// as slices of vectored writes, mapped payloads and short rows made a piece
/// at a time in `scratch`, written whenever it is full.
pub(super) async fn write_data<'a>(
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
    pub(super) async fn flush(
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
pub(super) async fn write_loop(
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
