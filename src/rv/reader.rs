//! Reading frames off a socket, with large data payloads read straight into
//! buffers of their own, or into memory the receiver has waiting for them
//! (rv-protocol.md §2, §7).
//!
//! [`FrameReader`] yields the same frames as [`crate::rv::codec::RvCodec`]
//! under `FramedRead`, with one difference in how the bytes move: a data
//! frame (`PIXELTILE(...)`, `DATAEVENT(...)`) whose payload is at least
//! [`DIRECT_MIN`] bytes is read into a `Vec` that holds nothing but that
//! payload, instead of into the shared read buffer. So:
//!
//! - a receiver can keep a large payload as its own without copying it
//!   ([`bytes::Bytes::try_into_mut`] gives the `Vec` back), and
//! - hands the buffer back with [`FrameReader::recycle`] when done, so the next
//!   large frame lands in memory that is already mapped, instead of faulting in
//!   fresh pages for every tile.
//!
//! A receiver that knows where a payload belongs (a tile's rows in an image)
//! sets a router ([`FrameReader::route`]): given a large data frame's header
//! and length, it may hand over a [`Landing`], and the payload is then read
//! straight into the landing's rows, with vectored reads, and never lies in
//! a buffer of its own. The landing is told how many bytes it got when the
//! reading ends ([`Landing::finish`]): all of them, and the reader yields
//! [`Item::Landed`]; or fewer, when the stream fails or ends mid-payload or
//! the reader is dropped.
//!
//! A large payload's buffer is reserved at most [`RESERVE_AHEAD`] ahead of
//! the bytes that have arrived, so a peer announcing a huge length cannot
//! make us allocate it (the [`Limits`] still cap it).
//!
//! Reading is cancel-safe: everything read is kept in the reader, so a
//! `select!` may drop [`FrameReader::next`] and call it again without losing
//! bytes.

use crate::rv::codec::{CodecError, mid_frame_eof, mid_head_eof};
use crate::rv::frame::{Frame, Limits, Split, parse_or_split};
use bytes::{Buf, Bytes, BytesMut};
use std::io::IoSliceMut;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use tokio::io::AsyncRead;

/// Data payloads at least this large are read into a buffer of their own.
pub const DIRECT_MIN: usize = 256 << 10;

/// How far ahead of the bytes received a large payload's buffer is reserved.
pub const RESERVE_AHEAD: usize = 64 << 20;

/// How much the shared read buffer asks the socket for at a time. Large
/// enough that a stream of small tiles costs few reads (and acknowledgements
/// on loopback: a 16 KiB tile stream took a fifth less CPU to receive than
/// with 64 KiB), small enough to stay in cache.
const READ_CHUNK: usize = 256 << 10;

/// Most rows of a landing handed to one vectored read.
const MAX_READ_ROWS: usize = 64;

/// Memory a large data payload is read straight into (see the module docs).
pub trait Landing: Send {
    /// Where the payload goes: its rows must hold exactly the payload's
    /// length and lie inside the slice, none longer than the stride.
    fn rows(&mut self) -> RowsMut<'_>;

    /// Reading the payload ended with `received` bytes read into its rows,
    /// in order: all of them, or fewer when the stream failed or ended
    /// first, or the reader was dropped. Called exactly once.
    fn finish(self: Box<Self>, received: usize);
}

/// `rows` runs of `row_len` bytes, `stride` bytes apart, the first at
/// `start` in `bytes`: where a [`Landing`]'s payload goes.
#[derive(Debug, Default)]
pub struct RowsMut<'a> {
    /// The memory the rows lie in.
    pub bytes: &'a mut [u8],
    /// Offset of the first row.
    pub start: usize,
    /// Bytes per row.
    pub row_len: usize,
    /// Distance from one row's start to the next.
    pub stride: usize,
    /// Number of rows.
    pub rows: usize,
}

impl<'a> RowsMut<'a> {
    /// The rows from payload byte `offset` on, at most `max` of them: the
    /// first starts at `offset`, the others are whole rows.
    fn from(self, offset: usize, max: usize) -> impl Iterator<Item = &'a mut [u8]> {
        let (first, skip) = (offset / self.row_len, offset % self.row_len);
        let row_len = self.row_len;
        self.bytes[self.start..]
            .chunks_mut(self.stride)
            .take(self.rows)
            .skip(first)
            .take(max)
            .enumerate()
            .map(move |(i, row)| {
                let skip = if i == 0 { skip } else { 0 };
                &mut row[skip..row_len]
            })
    }

    /// Bytes in all the rows.
    fn len(&self) -> usize {
        self.row_len * self.rows
    }

    /// Whether the rows lie inside `bytes`, none overlapping the next.
    fn fits(&self) -> bool {
        rows_fit(
            self.start,
            self.row_len,
            self.stride,
            self.rows,
            self.bytes.len(),
        )
    }
}

/// Whether `rows` runs of `row_len` bytes, `stride` apart from `start`, lie
/// inside `len` bytes, none overlapping the next (for [`RowsMut`] and the
/// client's rows to write).
pub(crate) fn rows_fit(
    start: usize,
    row_len: usize,
    stride: usize,
    rows: usize,
    len: usize,
) -> bool {
    rows == 0
        || row_len <= stride
            && (rows - 1)
                .checked_mul(stride)
                .and_then(|last| last.checked_add(start)?.checked_add(row_len))
                .is_some_and(|end| end <= len)
}

/// A byte source that can read into several buffers in one call. The
/// provided method reads into the first non-empty one.
pub trait ReadVectored: AsyncRead + Unpin {
    /// Reads into `bufs`, in order; `Ok(0)` at the end of the stream.
    fn poll_read_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let Some(first) = bufs.iter_mut().find(|b| !b.is_empty()) else {
            return Poll::Ready(Ok(0));
        };
        let mut buf = tokio::io::ReadBuf::new(first);
        ready!(self.as_mut().poll_read(cx, &mut buf))?;
        Poll::Ready(Ok(buf.filled().len()))
    }
}

impl ReadVectored for tokio::net::tcp::OwnedReadHalf {
    fn poll_read_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<std::io::Result<usize>> {
        loop {
            let stream: &tokio::net::TcpStream = (*self).as_ref();
            ready!(stream.poll_read_ready(cx))?;
            match self.try_read_vectored(bufs) {
                // Readiness was cleared: poll again to register for the next.
                Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => continue,
                result => return Poll::Ready(result),
            }
        }
    }
}

impl ReadVectored for tokio::io::DuplexStream {}
impl ReadVectored for &[u8] {}

/// Decides where a large data frame's payload goes, from its header and
/// length: a [`Landing`], or `None` for a buffer of its own.
pub type Router = Box<dyn FnMut(&str, usize) -> Option<Box<dyn Landing>> + Send>;

/// What [`FrameReader::next_item`] yields.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// A frame.
    Frame(Frame),
    /// A data frame whose payload went into the [`Landing`] its router
    /// gave, which has been told ([`Landing::finish`]).
    Landed {
        /// The frame's header.
        header: String,
        /// Its payload length.
        len: usize,
    },
}

/// A large data frame whose payload is being read.
struct Direct {
    header: String,
    len: usize,
    to: To,
}

/// Where a large payload goes.
enum To {
    /// A buffer of its own, growing as the bytes arrive.
    Own(Vec<u8>),
    /// A router's landing, `filled` bytes of it so far.
    Landing {
        landing: Box<dyn Landing>,
        filled: usize,
    },
}

impl Direct {
    fn received(&self) -> usize {
        match &self.to {
            To::Own(payload) => payload.len(),
            To::Landing { filled, .. } => *filled,
        }
    }
}

/// Frames from an [`AsyncRead`]; see the module docs.
pub struct FrameReader<R> {
    io: R,
    limits: Limits,
    buf: BytesMut,
    direct: Option<Direct>,
    /// A payload buffer kept for the next large frame.
    spare: Option<Vec<u8>>,
    router: Option<Router>,
    failed: bool,
}

impl<R> FrameReader<R> {
    /// Tells a landing in progress how far it got, and forgets it.
    fn let_go(&mut self) {
        if let Some(Direct {
            to: To::Landing { landing, filled },
            ..
        }) = self.direct.take_if(|d| matches!(d.to, To::Landing { .. }))
        {
            landing.finish(filled);
        }
    }
}

impl<R> Drop for FrameReader<R> {
    fn drop(&mut self) {
        self.let_go();
    }
}

impl<R: ReadVectored> FrameReader<R> {
    /// Reads from `io`, enforcing `limits`.
    pub fn new(io: R, limits: Limits) -> Self {
        Self::with_buffer(io, limits, BytesMut::new())
    }

    /// As [`FrameReader::new`], starting with bytes already read from `io`.
    pub fn with_buffer(io: R, limits: Limits, buf: BytesMut) -> Self {
        Self {
            io,
            limits,
            buf,
            direct: None,
            spare: None,
            router: None,
            failed: false,
        }
    }

    /// Sets the router that may send large payloads straight to a
    /// [`Landing`] (see the module docs); read with
    /// [`FrameReader::next_item`] to see them arrive.
    pub fn route(&mut self, router: Router) {
        self.router = Some(router);
    }

    /// The next frame; `None` at a clean end of stream (between frames).
    /// An error ends the stream: RV's framing cannot resynchronise.
    /// Payloads that went to a [`Landing`] are skipped.
    pub async fn next(&mut self) -> Option<Result<Frame, CodecError>> {
        loop {
            match self.next_item().await? {
                Ok(Item::Frame(frame)) => return Some(Ok(frame)),
                Ok(Item::Landed { .. }) => {}
                Err(err) => return Some(Err(err)),
            }
        }
    }

    /// The next frame, or payload landed; see [`FrameReader::next`].
    pub async fn next_item(&mut self) -> Option<Result<Item, CodecError>> {
        std::future::poll_fn(|cx| self.poll_next(cx)).await
    }

    /// The next frame if it is already complete in what has been read,
    /// without touching the socket: a receiver drains these before it
    /// writes its answers, so answers to pipelined requests go out together.
    /// Payloads that went to a [`Landing`] are skipped.
    pub fn next_buffered(&mut self) -> Option<Result<Frame, CodecError>> {
        loop {
            match self.next_buffered_item()? {
                Ok(Item::Frame(frame)) => return Some(Ok(frame)),
                Ok(Item::Landed { .. }) => {}
                Err(err) => return Some(Err(err)),
            }
        }
    }

    /// As [`FrameReader::next_buffered`], with payloads landed.
    pub fn next_buffered_item(&mut self) -> Option<Result<Item, CodecError>> {
        if self.failed || self.direct.is_some() {
            return None;
        }
        let result = self.parse().transpose()?;
        self.end_on_error(&result);
        Some(result)
    }

    /// Gives a payload buffer back for the next large frame. One is kept,
    /// of [`DIRECT_MIN`] to [`RESERVE_AHEAD`] bytes, so an idle connection
    /// holds at most that much; others are dropped.
    pub fn recycle(&mut self, mut buffer: Vec<u8>) {
        if (DIRECT_MIN..=RESERVE_AHEAD).contains(&buffer.capacity()) {
            buffer.clear();
            self.spare = Some(buffer);
        }
    }

    /// Polls for the next frame or landed payload (see
    /// [`FrameReader::next_item`]).
    pub fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Item, CodecError>>> {
        if self.failed {
            return Poll::Ready(None);
        }
        let result = ready!(self.poll_frame(cx));
        if let Some(result) = &result {
            self.end_on_error(result);
        } else {
            self.failed = true;
        }
        Poll::Ready(result)
    }

    /// After an error nothing more is read, and a landing is let go at once.
    fn end_on_error(&mut self, result: &Result<Item, CodecError>) {
        if result.is_err() {
            self.failed = true;
            self.let_go();
        }
    }

    /// Parses a frame from the read buffer, starting a direct read when a
    /// large data frame's head is in.
    fn parse(&mut self) -> Result<Option<Item>, CodecError> {
        let (header, len) = match parse_or_split(&mut self.buf, &self.limits, DIRECT_MIN)? {
            None => return Ok(None),
            Some(Split::Frame(frame)) => return Ok(Some(Item::Frame(frame))),
            Some(Split::DataHead { header, len }) => (header, len),
        };
        let have = self.buf.len().min(len);
        let landing = self.router.as_mut().and_then(|route| route(&header, len));
        let to = match landing {
            Some(mut landing) => {
                let rows = landing.rows();
                if rows.len() != len || !rows.fits() {
                    let holds = rows.len();
                    landing.finish(0);
                    return Err(std::io::Error::other(format!(
                        "{header}: the memory given for its {len} payload bytes holds {holds}"
                    ))
                    .into());
                }
                let mut left = have;
                for row in rows.from(0, usize::MAX) {
                    if left == 0 {
                        break;
                    }
                    let n = row.len().min(left);
                    row[..n].copy_from_slice(&self.buf[..n]);
                    self.buf.advance(n);
                    left -= n;
                }
                To::Landing {
                    landing,
                    filled: have,
                }
            }
            None => {
                let mut payload = self.spare.take().unwrap_or_default();
                payload.reserve(have.max(len.min(RESERVE_AHEAD)));
                payload.extend_from_slice(&self.buf.split_to(have));
                To::Own(payload)
            }
        };
        self.direct = Some(Direct { header, len, to });
        Ok(self.finish_direct())
    }

    /// The direct read's frame, once all of its payload is in.
    fn finish_direct(&mut self) -> Option<Item> {
        let direct = self.direct.take_if(|d| d.received() == d.len)?;
        Some(match direct.to {
            To::Own(payload) => Item::Frame(Frame::Data {
                header: direct.header,
                payload: Bytes::from(payload),
            }),
            To::Landing { landing, filled } => {
                landing.finish(filled);
                Item::Landed {
                    header: direct.header,
                    len: direct.len,
                }
            }
        })
    }

    fn poll_frame(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Item, CodecError>>> {
        loop {
            if let Some(direct) = &mut self.direct {
                let left = direct.len - direct.received();
                let n = match &mut direct.to {
                    To::Own(payload) => {
                        // Reserve ahead of the bytes received, never the whole claim.
                        if payload.capacity() == payload.len() {
                            let ahead = left.min(RESERVE_AHEAD.max(payload.len()));
                            payload.reserve_exact(ahead);
                        }
                        let mut limited = bytes::BufMut::limit(payload, left);
                        ready!(tokio_util::io::poll_read_buf(
                            Pin::new(&mut self.io),
                            cx,
                            &mut limited
                        ))?
                    }
                    To::Landing { landing, filled } => {
                        let mut slices: Vec<IoSliceMut<'_>> = landing
                            .rows()
                            .from(*filled, MAX_READ_ROWS)
                            .map(IoSliceMut::new)
                            .collect();
                        let n = ready!(Pin::new(&mut self.io).poll_read_vectored(cx, &mut slices))?;
                        *filled += n;
                        n
                    }
                };
                if n == 0 {
                    let got = direct.received();
                    let total = direct.len;
                    let header = direct.header.clone();
                    return Poll::Ready(Some(Err(mid_frame_eof(format!(
                        "{header}: {got} of {total} payload bytes received"
                    )))));
                }
                if let Some(item) = self.finish_direct() {
                    return Poll::Ready(Some(Ok(item)));
                }
                continue;
            }
            match self.parse() {
                Ok(Some(frame)) => return Poll::Ready(Some(Ok(frame))),
                Ok(None) if self.direct.is_some() => continue,
                Ok(None) => {}
                Err(err) => return Poll::Ready(Some(Err(err))),
            }
            if self.buf.capacity() - self.buf.len() < READ_CHUNK / 2 {
                self.buf.reserve(READ_CHUNK);
            }
            let n = ready!(tokio_util::io::poll_read_buf(
                Pin::new(&mut self.io),
                cx,
                &mut self.buf
            ))?;
            if n == 0 {
                if self.buf.is_empty() {
                    return Poll::Ready(None);
                }
                return Poll::Ready(Some(Err(mid_head_eof(&self.buf))));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn encode(frames: &[Frame]) -> Vec<u8> {
        let mut buf = BytesMut::new();
        for frame in frames {
            frame.encode(&mut buf).unwrap();
        }
        buf.to_vec()
    }

    fn sample_frames(big: usize) -> Vec<Frame> {
        vec![
            Frame::NewGreeting {
                contact: "c".into(),
                app: "a".into(),
            },
            Frame::Message("RETURNEVENT remote-eval * frame()".into()),
            Frame::Data {
                header: "PIXELTILE(media=m,w=1,h=1,x=0,y=0,f=1)".into(),
                payload: Bytes::from((0..big).map(|i| i as u8).collect::<Vec<_>>()),
            },
            Frame::Ping,
            Frame::Data {
                header: "DATAEVENT(e,t,type)".into(),
                payload: Bytes::from_static(b"small"),
            },
            Frame::Message("EVENT x * \u{e9}t\u{e9}".into()),
        ]
    }

    /// Reads everything from `bytes` delivered in `chunks`-sized reads.
    async fn read_all(bytes: Vec<u8>, chunk: usize, limits: Limits) -> Vec<Result<Frame, String>> {
        let (mut tx, rx) = tokio::io::duplex(chunk.max(1));
        let writer = tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            for piece in bytes.chunks(chunk.max(1)) {
                if tx.write_all(piece).await.is_err() {
                    break;
                }
            }
        });
        let mut reader = FrameReader::new(rx, limits);
        let mut out = Vec::new();
        while let Some(item) = reader.next().await {
            let stop = item.is_err();
            out.push(item.map_err(|e| e.to_string()));
            if let Some(Ok(Frame::Data { payload, .. })) = out.last()
                && let Ok(buffer) = payload.clone().try_into_mut()
            {
                reader.recycle(buffer.into());
            }
            if stop {
                break;
            }
        }
        writer.abort();
        out
    }

    #[tokio::test]
    async fn large_and_small_frames_come_out_as_sent_at_any_read_size() {
        let frames = sample_frames(DIRECT_MIN + 12_345);
        let bytes = encode(&frames);
        for chunk in [1, 7, 4096, 65_536, bytes.len()] {
            let got = read_all(bytes.clone(), chunk, Limits::default()).await;
            let got: Vec<Frame> = got.into_iter().map(Result::unwrap).collect();
            assert_eq!(got, frames, "read size {chunk}");
        }
    }

    #[tokio::test]
    async fn a_large_payload_owns_its_buffer_and_spares_are_reused() {
        let frames = vec![
            Frame::Data {
                header: "PIXELTILE(media=m,w=1,h=1,x=0,y=0,f=1)".into(),
                payload: Bytes::from(vec![1u8; DIRECT_MIN]),
            };
            3
        ];
        let (mut tx, rx) = tokio::io::duplex(1 << 20);
        let bytes = encode(&frames);
        tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            tx.write_all(&bytes).await.unwrap();
        });
        let mut reader = FrameReader::new(rx, Limits::default());
        let mut capacities = Vec::new();
        while let Some(frame) = reader.next().await {
            let Frame::Data { payload, .. } = frame.unwrap() else {
                panic!("not data")
            };
            assert_eq!(payload.len(), DIRECT_MIN);
            // The payload is the whole allocation: it converts back without a copy.
            let buffer: Vec<u8> = payload.try_into_mut().expect("unique").into();
            capacities.push(buffer.capacity());
            // A recognisable spare: the next payload must land in it.
            reader.recycle(Vec::with_capacity(DIRECT_MIN * 3 + capacities.len()));
        }
        assert_eq!(capacities[1..], [DIRECT_MIN * 3 + 1, DIRECT_MIN * 3 + 2]);
    }

    #[test]
    fn one_spare_is_kept_and_only_of_a_bounded_size() {
        let (_tx, rx) = tokio::io::duplex(16);
        let mut reader = FrameReader::new(rx, Limits::default());
        reader.recycle(Vec::with_capacity(DIRECT_MIN * 2));
        reader.recycle(Vec::with_capacity(DIRECT_MIN * 3));
        assert_eq!(
            reader.spare.as_ref().map(Vec::capacity),
            Some(DIRECT_MIN * 3),
            "the latest is kept"
        );
        for dropped in [DIRECT_MIN - 1, RESERVE_AHEAD + 1] {
            reader.spare = None;
            reader.recycle(Vec::with_capacity(dropped));
            assert!(reader.spare.is_none(), "{dropped} bytes kept");
        }
    }

    #[tokio::test]
    async fn a_peer_vanishing_mid_payload_is_an_error_that_says_how_far() {
        let mut bytes = encode(&sample_frames(DIRECT_MIN * 2));
        let cut = bytes.len() - 200;
        bytes.truncate(cut);
        let got = read_all(bytes, 65_536, Limits::default()).await;
        let err = got.last().unwrap().as_ref().unwrap_err();
        assert!(
            err.contains("middle of a frame") && err.contains("PIXELTILE"),
            "{err}"
        );
        assert_eq!(got.len(), 3, "two frames, then the error");
    }

    #[tokio::test]
    async fn a_huge_announced_length_is_refused_or_reserved_only_ahead() {
        let limits = Limits {
            max_payload: 1 << 30,
            max_header: 4096,
            lenient: false,
        };
        // Claims 1 GiB, sends 1 MiB, then vanishes: the buffer stays near what arrived.
        let mut bytes = b"PIXELTILE(media=m) 1073741824 ".to_vec();
        bytes.extend(vec![0u8; 1 << 20]);
        let (mut tx, rx) = tokio::io::duplex(1 << 16);
        tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            tx.write_all(&bytes).await.unwrap();
        });
        let mut reader = FrameReader::new(rx, limits);
        assert!(reader.next().await.unwrap().is_err());
        let spare_capacity = match reader.direct.as_ref().map(|d| &d.to) {
            Some(To::Own(payload)) => payload.capacity(),
            _ => 0,
        };
        assert!(
            spare_capacity <= RESERVE_AHEAD + (1 << 20),
            "{spare_capacity}"
        );

        let over = b"PIXELTILE(media=m) 1073741825 x".to_vec();
        let got = read_all(over, 64, limits).await;
        assert!(
            got[0].as_ref().unwrap_err().contains("1073741825"),
            "{got:?}"
        );
    }

    #[tokio::test]
    async fn malformed_bytes_end_the_stream_with_the_parser_error() {
        let got = read_all(b"PING 1 pBOGUS 1 x".to_vec(), 3, Limits::default()).await;
        assert_eq!(got[0], Ok(Frame::Ping));
        assert!(got[1].as_ref().unwrap_err().contains("BOGUS"), "{got:?}");
        assert_eq!(got.len(), 2);
    }

    #[tokio::test]
    async fn buffered_frames_are_drained_without_reading() {
        let bytes = encode(&[Frame::Ping, Frame::Pong, Frame::Ping]);
        let (mut tx, rx) = tokio::io::duplex(1024);
        {
            use tokio::io::AsyncWriteExt;
            tx.write_all(&bytes).await.unwrap();
        }
        let mut reader = FrameReader::new(rx, Limits::default());
        assert_eq!(reader.next().await.unwrap().unwrap(), Frame::Ping);
        assert_eq!(reader.next_buffered().unwrap().unwrap(), Frame::Pong);
        assert_eq!(reader.next_buffered().unwrap().unwrap(), Frame::Ping);
        assert!(reader.next_buffered().is_none());
    }

    /// Lands payloads in strided rows of its own buffer, and reports how it
    /// finished.
    struct TestLanding {
        buf: Vec<u8>,
        done: std::sync::mpsc::Sender<(usize, Vec<u8>)>,
    }

    /// 300 rows of 1000 bytes, 1100 apart, from byte 7.
    const ROWS: (usize, usize, usize, usize) = (7, 1000, 1100, 300);

    impl Landing for TestLanding {
        fn rows(&mut self) -> RowsMut<'_> {
            let (start, row_len, stride, rows) = ROWS;
            RowsMut {
                bytes: &mut self.buf,
                start,
                row_len,
                stride,
                rows,
            }
        }

        fn finish(self: Box<Self>, received: usize) {
            let this = *self;
            this.done.send((received, this.buf)).unwrap();
        }
    }

    /// A reader of `rx` that lands PIXELTILE payloads of `len` bytes in a
    /// [`TestLanding`] whose buffer is `buffer` bytes; the receiver gets
    /// each landing's end.
    fn routed<R: ReadVectored>(
        rx: R,
        buffer: usize,
    ) -> (FrameReader<R>, std::sync::mpsc::Receiver<(usize, Vec<u8>)>) {
        let (done, ends) = std::sync::mpsc::channel();
        let mut reader = FrameReader::new(rx, Limits::default());
        reader.route(Box::new(move |header, _| {
            header.starts_with("PIXELTILE").then(|| {
                Box::new(TestLanding {
                    buf: vec![0; buffer],
                    done: done.clone(),
                }) as Box<dyn Landing>
            })
        }));
        (reader, ends)
    }

    fn landed_rows(payload: &[u8]) -> Vec<u8> {
        let (start, row_len, stride, _) = ROWS;
        let mut buf = vec![0; start + 300 * stride];
        for (r, row) in payload.chunks(row_len).enumerate() {
            buf[start + r * stride..][..row.len()].copy_from_slice(row);
        }
        buf
    }

    #[tokio::test]
    async fn a_routed_payload_lands_in_its_rows_at_any_read_size() {
        let payload: Vec<u8> = (0..300_000).map(|i| (i % 251) as u8).collect();
        let mut frames = sample_frames(DIRECT_MIN + 1);
        frames[2] = Frame::Data {
            header: "PIXELTILE(media=m,w=1,h=1,x=0,y=0,f=1)".into(),
            payload: Bytes::from(payload.clone()),
        };
        let bytes = encode(&frames);
        for chunk in [1, 7, 4096, 65_536, bytes.len()] {
            let (mut tx, rx) = tokio::io::duplex(chunk);
            let writing = bytes.clone();
            tokio::spawn(async move {
                use tokio::io::AsyncWriteExt;
                for piece in writing.chunks(chunk) {
                    tx.write_all(piece).await.unwrap();
                }
            });
            let (mut reader, ends) = routed(rx, 7 + 300 * 1100);
            let mut items = Vec::new();
            while let Some(item) = reader.next_item().await {
                items.push(item.unwrap());
            }
            let mut expected: Vec<Item> = frames.iter().cloned().map(Item::Frame).collect();
            expected[2] = Item::Landed {
                header: "PIXELTILE(media=m,w=1,h=1,x=0,y=0,f=1)".into(),
                len: 300_000,
            };
            assert_eq!(items, expected, "read size {chunk}");
            let (received, buf) = ends.try_recv().unwrap();
            assert_eq!(received, 300_000);
            assert!(buf == landed_rows(&payload), "read size {chunk}");
        }
    }

    #[tokio::test]
    async fn a_landing_cut_short_is_told_how_far_it_got() {
        let head = b"PIXELTILE(media=m) 300000 ".to_vec();
        // The peer vanishes after 123456 bytes.
        let mut bytes = head.clone();
        bytes.extend((0..123_456).map(|i| (i % 7) as u8));
        let (mut reader, ends) = routed(&bytes[..], 7 + 300 * 1100);
        let err = reader.next_item().await.unwrap().unwrap_err().to_string();
        assert!(err.contains("123456 of 300000"), "{err}");
        let (received, buf) = ends.try_recv().unwrap();
        assert_eq!(received, 123_456);
        assert!(buf == landed_rows(&bytes[head.len()..]));
        assert!(reader.next_item().await.is_none());

        // Dropped mid-payload (its connection closed): the same.
        let (mut tx, rx) = tokio::io::duplex(1 << 20);
        {
            use tokio::io::AsyncWriteExt;
            tx.write_all(&bytes[..head.len() + 5000]).await.unwrap();
        }
        let (mut reader, ends) = routed(rx, 7 + 300 * 1100);
        let pending = futures_util::FutureExt::now_or_never(reader.next_item());
        assert!(pending.is_none(), "still waiting for bytes");
        drop(reader);
        assert_eq!(ends.try_recv().unwrap().0, 5000);

        // A landing that cannot hold the payload ends the stream at once.
        let (mut reader, ends) = routed(&bytes[..], 7 + 299 * 1100);
        let err = reader.next_item().await.unwrap().unwrap_err().to_string();
        assert!(err.contains("memory given"), "{err}");
        assert_eq!(ends.try_recv().unwrap().0, 0);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// The reader and the codec agree on any stream cut at any read sizes.
        #[test]
        fn agrees_with_frame_parse(
            sizes in proptest::collection::vec(1usize..(DIRECT_MIN + 5000), 1..4),
            chunk in 1usize..100_000,
        ) {
            let frames: Vec<Frame> = sizes
                .iter()
                .enumerate()
                .map(|(i, &n)| Frame::Data {
                    header: format!("PIXELTILE(media=m{i})"),
                    payload: Bytes::from(vec![i as u8; n]),
                })
                .chain([Frame::Message("RETURN 1".into())])
                .collect();
            let bytes = encode(&frames);
            let mut whole = BytesMut::from(&bytes[..]);
            let mut parsed = Vec::new();
            while let Some(f) = Frame::parse(&mut whole, &Limits::default()).unwrap() {
                parsed.push(f);
            }
            let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
            let got = rt.block_on(read_all(bytes, chunk, Limits::default()));
            let got: Vec<Frame> = got.into_iter().map(Result::unwrap).collect();
            prop_assert_eq!(got, parsed);
        }
    }
}
