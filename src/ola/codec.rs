//! Framing of OLA RPC messages: a 4-byte header, then one serialized
//! [`RpcMessage`].
//!
//! # Wire format (ola-rpc.md §2, §3)
//!
//! ```text
//! +--------------------------------+-----------------------------+
//! | header: u32 in host byte order | body: RpcMessage (protobuf) |
//! |  bits 31..28 version (= 1)     |  `size` bytes               |
//! |  bits 27..0  size of the body  |                             |
//! +--------------------------------+-----------------------------+
//! ```
//!
//! The header is a native-order `u32` (olad memcpys it), so on every common
//! (little-endian) host the version nibble is the high nibble of the *fourth*
//! byte. A sample exchange, an `UpdateDmxData` request with id 5 for universe
//! 1 and its `Ack`:
//!
//! ```text
//! client -> olad  1c 00 00 10 | 08 01 10 05 1a 0d "UpdateDmxData" 22 07 08 01 12 03 01 02 03
//! olad -> client  06 00 00 10 | 08 02 10 05 22 00
//! ```
//!
//! Rules this module enforces:
//!
//! - Bodies are at most [`MAX_BODY`] (1 MiB), both ways. A larger size or a
//!   version other than 1 from the peer is a [`CodecError`]; the connection
//!   must then be closed, because there is no way to find the next frame
//!   (no resync).
//! - A header announcing 0 bytes is consumed and skipped, as olad does.
//! - [`encode_request`] and [`encode_message`] append header and body to one
//!   buffer, so the caller can hand a whole frame (or a batch of frames) to a
//!   single `write_all`. olad wedges or spins if a header arrives split across
//!   reads (ola-rpc.md §2), so a frame must never be written in pieces.
//! - The decoder never reserves more than the 4 header bytes plus the body
//!   size it has validated against the cap, so hostile input cannot make it
//!   allocate more than about 1 MiB.

use crate::ola::pb::rpc::{RpcMessage, Type};
use bytes::{Buf, BufMut, Bytes, BytesMut};
use prost::Message;
use prost::encoding::{WireType, encode_key, encode_varint, encoded_len_varint, key_len};
use tokio_util::codec::{Decoder, Encoder};

/// The only protocol version olad speaks (the header's top 4 bits).
pub const PROTOCOL_VERSION: u32 = 1;

/// Largest body olad accepts (and we accept): 1 MiB (ola-rpc.md §2).
pub const MAX_BODY: usize = 1 << 20;

/// Size of the frame header in bytes.
pub const HEADER_LEN: usize = 4;

const SIZE_MASK: u32 = 0x0FFF_FFFF;

/// A framing error. After any of these the byte stream cannot be trusted any
/// more and the connection has to be closed.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// The header's version nibble is not 1.
    #[error(
        "OLA RPC header carries protocol version {0}, expected 1; the peer does not speak OLA RPC (is this olad's RPC port?)"
    )]
    BadVersion(u8),
    /// The header announces (or we were asked to send) a body over 1 MiB.
    #[error("OLA RPC message body of {0} bytes exceeds the 1 MiB limit")]
    TooLarge(usize),
    /// The body is not a valid `RpcMessage`.
    #[error("malformed OLA RPC message: {0}")]
    Decode(#[from] prost::DecodeError),
    /// Reading or writing the socket failed.
    #[error("I/O error on the OLA RPC connection: {0}")]
    Io(#[from] std::io::Error),
}

/// Builds the 4-byte header for a body of `body_len` bytes (native order).
pub fn encode_header(body_len: usize) -> Result<[u8; HEADER_LEN], CodecError> {
    if body_len > MAX_BODY {
        return Err(CodecError::TooLarge(body_len));
    }
    // body_len <= MAX_BODY < 2^28, so it fits the 28-bit size field.
    let word = (PROTOCOL_VERSION << 28) | (body_len as u32 & SIZE_MASK);
    Ok(word.to_ne_bytes())
}

/// Reads a 4-byte header and returns the body size it announces.
pub fn decode_header(header: [u8; HEADER_LEN]) -> Result<usize, CodecError> {
    let word = u32::from_ne_bytes(header);
    let version = (word >> 28) as u8;
    if version as u32 != PROTOCOL_VERSION {
        return Err(CodecError::BadVersion(version));
    }
    let size = (word & SIZE_MASK) as usize;
    if size > MAX_BODY {
        return Err(CodecError::TooLarge(size));
    }
    Ok(size)
}

/// Appends one complete frame (header and body) for `msg` to `dst`.
pub fn encode_message(msg: &RpcMessage, dst: &mut BytesMut) -> Result<(), CodecError> {
    let len = msg.encoded_len();
    let header = encode_header(len)?;
    dst.reserve(HEADER_LEN + len);
    dst.put_slice(&header);
    msg.encode_raw(dst);
    Ok(())
}

/// Appends one complete frame for a call: an `RpcMessage` of kind `kind`
/// (`Request` or `StreamRequest`) with `id`, method `name` and `inner`
/// serialized into its `buffer`, without building the envelope first.
///
/// The bytes are exactly those of [`encode_message`] for the equivalent
/// `RpcMessage` (fields 1, 2, 3, 4 in order, `buffer` always present, even
/// when empty, as libola sends it; ola-rpc.md §3).
pub fn encode_request(
    kind: Type,
    id: u32,
    name: &str,
    inner: &impl Message,
    dst: &mut BytesMut,
) -> Result<(), CodecError> {
    let inner_len = inner.encoded_len();
    let kind = kind as i32 as u64;
    let body_len = key_len(1)
        + encoded_len_varint(kind)
        + key_len(2)
        + encoded_len_varint(u64::from(id))
        + key_len(3)
        + encoded_len_varint(name.len() as u64)
        + name.len()
        + key_len(4)
        + encoded_len_varint(inner_len as u64)
        + inner_len;
    let header = encode_header(body_len)?;
    dst.reserve(HEADER_LEN + body_len);
    dst.put_slice(&header);
    encode_key(1, WireType::Varint, dst);
    encode_varint(kind, dst);
    encode_key(2, WireType::Varint, dst);
    encode_varint(u64::from(id), dst);
    encode_key(3, WireType::LengthDelimited, dst);
    encode_varint(name.len() as u64, dst);
    dst.put_slice(name.as_bytes());
    encode_key(4, WireType::LengthDelimited, dst);
    encode_varint(inner_len as u64, dst);
    inner.encode_raw(dst);
    Ok(())
}

/// A tokio-util codec for OLA RPC frames, usable with `FramedRead` /
/// `FramedWrite`. Decoding yields [`RpcMessage`]s; frames with a 0-byte body
/// are skipped. After an error the decoder's state is undefined: close the
/// connection.
#[derive(Debug, Default)]
pub struct OlaCodec {
    /// Body size announced by a header already consumed from the buffer.
    pending_body: Option<usize>,
}

impl OlaCodec {
    /// A codec at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Like [`Decoder::decode`] but returns the raw body bytes of the next
    /// frame instead of parsing them (0-byte bodies are skipped).
    pub fn decode_body(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, CodecError> {
        loop {
            let len = match self.pending_body {
                Some(len) => len,
                None => {
                    let Some(header) = src.get(..HEADER_LEN) else {
                        return Ok(None);
                    };
                    let mut word = [0u8; HEADER_LEN];
                    word.copy_from_slice(header);
                    let len = decode_header(word)?;
                    src.advance(HEADER_LEN);
                    self.pending_body = Some(len);
                    len
                }
            };
            if src.len() < len {
                // len <= MAX_BODY, checked by decode_header.
                src.reserve(len - src.len());
                return Ok(None);
            }
            self.pending_body = None;
            if len == 0 {
                continue;
            }
            return Ok(Some(src.split_to(len).freeze()));
        }
    }
}

impl Decoder for OlaCodec {
    type Item = RpcMessage;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<RpcMessage>, CodecError> {
        match self.decode_body(src)? {
            Some(body) => Ok(Some(RpcMessage::decode(body)?)),
            None => Ok(None),
        }
    }
}

impl Encoder<&RpcMessage> for OlaCodec {
    type Error = CodecError;

    fn encode(&mut self, item: &RpcMessage, dst: &mut BytesMut) -> Result<(), CodecError> {
        encode_message(item, dst)
    }
}

impl Encoder<RpcMessage> for OlaCodec {
    type Error = CodecError;

    fn encode(&mut self, item: RpcMessage, dst: &mut BytesMut) -> Result<(), CodecError> {
        encode_message(&item, dst)
    }
}
