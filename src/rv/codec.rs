//! A tokio-util codec over [`Frame`] (rv-protocol.md §2).
//!
//! ```no_run
//! use futures_util::{SinkExt, StreamExt};
//! use rvshell::rv::{codec::RvCodec, frame::Frame};
//! use tokio_util::codec::Framed;
//! # async fn demo(stream: tokio::net::TcpStream) -> Result<(), rvshell::rv::codec::CodecError> {
//! let mut framed = Framed::new(stream, RvCodec::default());
//! framed.send(Frame::Ping).await?;
//! while let Some(frame) = framed.next().await {
//!     println!("{:?}", frame?);
//! }
//! # Ok(()) }
//! ```
//!
//! A parse error is fatal for the connection: RV's framing has no way to
//! resynchronise, so the stream ends after it.
//!
//! The client and the simulator read with [`crate::rv::reader::FrameReader`]
//! instead, which reads large pixel payloads into buffers of their own.

use crate::rv::frame::{EncodeError, Frame, Limits, ParseError};
use bytes::BytesMut;
use tokio_util::codec::{Decoder, Encoder};

/// Decodes and encodes RV frames, enforcing [`Limits`].
#[derive(Debug, Clone, Copy, Default)]
pub struct RvCodec {
    limits: Limits,
}

/// Errors from [`RvCodec`].
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// The peer sent bytes that are not a valid frame.
    #[error("protocol error: {0}")]
    Parse(#[from] ParseError),
    /// We were asked to send something RV would mis-parse.
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// The socket failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// The error for a stream that ends inside a frame; `detail` says how far
/// the frame got.
pub(crate) fn mid_frame_eof(detail: String) -> CodecError {
    std::io::Error::new(
        std::io::ErrorKind::UnexpectedEof,
        format!("connection closed in the middle of a frame ({detail})"),
    )
    .into()
}

/// [`mid_frame_eof`] for a stream that ended with `buffered` bytes of a
/// frame's head read.
pub(crate) fn mid_head_eof(buffered: &[u8]) -> CodecError {
    mid_frame_eof(format!(
        "{} bytes of it received: {}",
        buffered.len(),
        crate::rv::frame::Snippet::of(buffered)
    ))
}

impl RvCodec {
    /// A codec with the given limits.
    pub fn new(limits: Limits) -> Self {
        Self { limits }
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }
}

impl Decoder for RvCodec {
    type Item = Frame;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, CodecError> {
        Ok(Frame::parse(src, &self.limits)?)
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, CodecError> {
        match self.decode(src)? {
            Some(frame) => Ok(Some(frame)),
            None if src.is_empty() => Ok(None),
            None => Err(mid_head_eof(src)),
        }
    }
}

impl Encoder<Frame> for RvCodec {
    type Error = CodecError;

    fn encode(&mut self, frame: Frame, dst: &mut BytesMut) -> Result<(), CodecError> {
        Ok(frame.encode(dst)?)
    }
}

impl Encoder<&Frame> for RvCodec {
    type Error = CodecError;

    fn encode(&mut self, frame: &Frame, dst: &mut BytesMut) -> Result<(), CodecError> {
        Ok(frame.encode(dst)?)
    }
}
