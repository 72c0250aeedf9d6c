//! Reading frames off a socket, with large data payloads read straight into
//! buffers of their own (rv-protocol.md §2, §7).
//!
//! [`FrameReader`] yields the same frames as [`crate::rv::codec::RvCodec`]
//! under `FramedRead`, with one difference in how the bytes move: a data
//! frame (`PIXELTILE(...)`, `DATAEVENT(...)`) whose payload is at least
//! [`DIRECT_MIN`] bytes is read into a `Vec` that holds nothing but that
//! payload, instead of into the shared read buffer. So:
//!
//! - a receiver can keep a whole-image tile as its pixel storage without
//!   copying it ([`bytes::Bytes::try_into_mut`] gives the `Vec` back), and
//! - hands the buffer back with [`FrameReader::recycle`] when done, so the next
//!   large frame lands in memory that is already mapped, instead of faulting in
//!   fresh pages for every tile.
//!
//! A large payload's buffer is reserved at most [`RESERVE_AHEAD`] ahead of
//! the bytes that have arrived, so a peer announcing a huge length cannot
//! make us allocate it (the [`Limits`] still cap it).
//!
//! Reading is cancel-safe: everything read is kept in the reader, so a
//! `select!` may drop [`FrameReader::next`] and call it again without losing
//! bytes.

use crate::rv::codec::CodecError;
use crate::rv::frame::{Frame, Limits, split_data_head};
use bytes::{Bytes, BytesMut};
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use tokio::io::AsyncRead;

/// Data payloads at least this large are read into a buffer of their own.
pub const DIRECT_MIN: usize = 256 << 10;

/// How far ahead of the bytes received a large payload's buffer is reserved.
pub const RESERVE_AHEAD: usize = 64 << 20;

/// How much the shared read buffer asks the socket for at a time.
const READ_CHUNK: usize = 64 << 10;

/// Payload buffers kept for reuse.
const SPARES: usize = 2;

/// A large data frame whose payload is being read.
struct Direct {
    header: String,
    len: usize,
    payload: Vec<u8>,
}

/// Frames from an [`AsyncRead`]; see the module docs.
pub struct FrameReader<R> {
    io: R,
    limits: Limits,
    buf: BytesMut,
    direct: Option<Direct>,
    spares: Vec<Vec<u8>>,
    failed: bool,
}

impl<R: AsyncRead + Unpin> FrameReader<R> {
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
            spares: Vec::new(),
            failed: false,
        }
    }

    /// The next frame; `None` at a clean end of stream (between frames).
    /// An error ends the stream: RV's framing cannot resynchronise.
    pub async fn next(&mut self) -> Option<Result<Frame, CodecError>> {
        std::future::poll_fn(|cx| self.poll_next(cx)).await
    }

    /// The next frame if it is already complete in what has been read,
    /// without touching the socket: a receiver drains these before it
    /// writes its answers, so answers to pipelined requests go out together.
    pub fn next_buffered(&mut self) -> Option<Result<Frame, CodecError>> {
        if self.failed || self.direct.is_some() {
            return None;
        }
        match self.parse() {
            Ok(Some(frame)) => Some(Ok(frame)),
            Ok(None) => None,
            Err(err) => Some(Err(err)),
        }
    }

    /// Gives a payload buffer back for the next large frame. Buffers smaller
    /// than [`DIRECT_MIN`] and those beyond a couple are dropped.
    pub fn recycle(&mut self, mut buffer: Vec<u8>) {
        if buffer.capacity() >= DIRECT_MIN && self.spares.len() < SPARES {
            buffer.clear();
            self.spares.push(buffer);
        }
    }

    /// Drops the kept payload buffers.
    pub fn release_spares(&mut self) {
        self.spares.clear();
    }

    /// Polls for the next frame (see [`FrameReader::next`]).
    pub fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Frame, CodecError>>> {
        if self.failed {
            return Poll::Ready(None);
        }
        let result = ready!(self.poll_frame(cx));
        if !matches!(result, Some(Ok(_))) {
            self.failed = true;
        }
        Poll::Ready(result)
    }

    /// Parses a frame from the read buffer, starting a direct read when a
    /// large data frame's head is in.
    fn parse(&mut self) -> Result<Option<Frame>, CodecError> {
        if let Some((header, len)) = split_data_head(&mut self.buf, &self.limits, DIRECT_MIN)? {
            let mut payload = self.take_spare(len);
            let have = self.buf.len().min(len);
            payload.reserve(have.max(len.min(RESERVE_AHEAD)));
            payload.extend_from_slice(&self.buf.split_to(have));
            self.direct = Some(Direct {
                header,
                len,
                payload,
            });
            return Ok(self.finish_direct());
        }
        Ok(Frame::parse(&mut self.buf, &self.limits)?)
    }

    /// The direct read's frame, once all of its payload is in.
    fn finish_direct(&mut self) -> Option<Frame> {
        let direct = self.direct.take_if(|d| d.payload.len() == d.len)?;
        Some(Frame::Data {
            header: direct.header,
            payload: Bytes::from(direct.payload),
        })
    }

    /// The smallest kept buffer that can hold `len` bytes, else the largest
    /// kept one (it grows as the bytes arrive).
    fn take_spare(&mut self, len: usize) -> Vec<u8> {
        let fits = (0..self.spares.len())
            .filter(|&i| self.spares[i].capacity() >= len)
            .min_by_key(|&i| self.spares[i].capacity());
        let pick =
            fits.or_else(|| (0..self.spares.len()).max_by_key(|&i| self.spares[i].capacity()));
        pick.map(|i| self.spares.swap_remove(i)).unwrap_or_default()
    }

    fn poll_frame(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Frame, CodecError>>> {
        loop {
            if let Some(direct) = &mut self.direct {
                let left = direct.len - direct.payload.len();
                // Reserve ahead of the bytes received, never the whole claim.
                let spare = direct.payload.capacity() - direct.payload.len();
                if spare == 0 {
                    let ahead = left.min(RESERVE_AHEAD.max(direct.payload.len()));
                    direct.payload.reserve_exact(ahead);
                }
                let mut limited = bytes::BufMut::limit(&mut direct.payload, left);
                let n = ready!(tokio_util::io::poll_read_buf(
                    Pin::new(&mut self.io),
                    cx,
                    &mut limited
                ))?;
                if n == 0 {
                    let got = direct.payload.len();
                    let total = direct.len;
                    let header = direct.header.clone();
                    return Poll::Ready(Some(Err(mid_frame_eof(format!(
                        "{header}: {got} of {total} payload bytes received"
                    )))));
                }
                if let Some(frame) = self.finish_direct() {
                    return Poll::Ready(Some(Ok(frame)));
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
                return Poll::Ready(Some(Err(mid_frame_eof(format!(
                    "{} bytes of it received: {}",
                    self.buf.len(),
                    crate::rv::frame::Snippet::of(&self.buf)
                )))));
            }
        }
    }
}

fn mid_frame_eof(detail: String) -> CodecError {
    std::io::Error::new(
        std::io::ErrorKind::UnexpectedEof,
        format!("connection closed in the middle of a frame ({detail})"),
    )
    .into()
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
    fn the_smallest_spare_that_fits_is_taken() {
        let (_tx, rx) = tokio::io::duplex(16);
        let mut reader = FrameReader::new(rx, Limits::default());
        for cap in [DIRECT_MIN * 4, DIRECT_MIN * 2, DIRECT_MIN * 3] {
            reader.recycle(Vec::with_capacity(cap));
        }
        // SPARES is 2: the third was dropped.
        assert_eq!(reader.take_spare(DIRECT_MIN).capacity(), DIRECT_MIN * 2);
        assert_eq!(
            reader.take_spare(DIRECT_MIN * 8).capacity(),
            DIRECT_MIN * 4,
            "else the largest"
        );
        assert_eq!(reader.take_spare(1).capacity(), 0, "none left");
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
        let spare_capacity = reader.direct.as_ref().map_or(0, |d| d.payload.capacity());
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
