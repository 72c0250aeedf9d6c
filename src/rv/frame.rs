//! RV's frames: `<TYPE> <LEN> <payload>` (rv-protocol.md §2).
//!
//! Every frame in both directions has the same shape: a type token, one space,
//! the payload length in decimal, one space, then exactly that many payload
//! bytes. There is no terminator; the next frame starts on the next byte.
//!
//! ```text
//! NEWGREETING 19 rv-shell-1 rv-shell           client greets (name, app)
//! GREETING 4 jdoe                              RV answers with its name
//! PINGPONGCONTROL 1 0                          client turns RV's heartbeat off
//! MESSAGE 32 RETURNEVENT remote-eval * play()  a request
//! MESSAGE 7 RETURN                             its (empty) answer, trailing space included
//! PING 1 p / PONG 1 p                          heartbeat
//! PIXELTILE(media=M,view=left,w=4,h=3,x=0,y=0,f=1) 48 <48 raw bytes>
//! ```
//!
//! Quirks handled here:
//! - LEN counts UTF-8 *bytes*, not characters (§2). [`Frame::encode`] counts bytes.
//! - A length of 0 or a non-decimal length desynchronises RV (§2), so encoding
//!   refuses empty payloads and parsing rejects them.
//! - Data frames (`DATAEVENT(...)`, `PIXELTILE(...)`) are any type token that
//!   ends in `)`; a space inside the header breaks RV's framing (§2, §6, §7), so
//!   encoding refuses spaces in headers, names and targets.
//! - What RV accepts though nobody sends it (§13): `PINGPONGCONTROL` with any
//!   non-zero number turns the heartbeat on, on both sides; with
//!   [`Limits::lenient`] (the simulator) a `+` before the length and text
//!   payloads that are not UTF-8 (decoded lossily) are accepted as RV does.
//!   The client stays strict: a peer that garbles its text is reported, not
//!   half-understood. `MESSAGE 0` and unknown type tokens make RV stop
//!   answering while keeping the socket; both sides here drop the
//!   connection instead (kinder to a client waiting on it), with the reason.
//! - Parsing is check-then-parse: the header is validated and the frame's total
//!   size known before anything is allocated, so a hostile length is refused
//!   without reserving the claimed size. An incomplete frame is not an error.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use std::fmt;

/// `PINGPONGCONTROL 1 0`: the exact bytes a controller sends after the handshake.
pub const PINGPONG_OFF: &[u8] = b"PINGPONGCONTROL 1 0";

/// Limits applied while parsing, so a peer cannot make us allocate or scan
/// without bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest payload accepted, in bytes.
    pub max_payload: usize,
    /// Longest type token accepted (data headers included), in bytes.
    pub max_header: usize,
    /// Accept what RV itself accepts though no RV or rvshell sends it
    /// (rv-protocol.md §13): a length with a leading `+`, and text payloads
    /// that are not UTF-8 (decoded lossily, U+FFFD). The simulator is
    /// lenient, like RV; the client is strict, so a garbled peer is reported
    /// rather than half-understood.
    pub lenient: bool,
}

impl Default for Limits {
    /// 512 MiB payloads (a 4K stereo float tile is 128 MiB), 4 KiB headers.
    fn default() -> Self {
        Self {
            max_payload: 512 << 20,
            max_header: 4096,
            lenient: false,
        }
    }
}

/// The longest decimal length token we accept: enough for any `usize` cap.
const MAX_LEN_DIGITS: usize = 12;

/// One frame of RV's protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// `NEWGREETING`: `<contact> <app>`. Sent by every endpoint whose app is not `rv`.
    NewGreeting {
        /// The sender's contact name (no spaces).
        contact: String,
        /// The sender's application name (no spaces; never `rv` for a controller).
        app: String,
    },
    /// `GREETING`: the sender's name only; the receiver records app `rv`.
    Greeting(String),
    /// `MESSAGE`: UTF-8 text; see [`crate::rv::message::Message`] for its sub-types.
    Message(String),
    /// `PINGPONGCONTROL`: `1` turns the receiver's heartbeat on, anything else off.
    PingPongControl(bool),
    /// `PING 1 p`. The payload is ignored on receipt.
    Ping,
    /// `PONG 1 p`. The payload is ignored on receipt.
    Pong,
    /// A data frame, `DATAEVENT(...)` or `PIXELTILE(...)` (or any token ending in `)`).
    Data {
        /// The whole type token, e.g. `PIXELTILE(media=M,view=left,w=4,h=3,x=0,y=0,f=1)`.
        header: String,
        /// The raw payload.
        payload: Bytes,
    },
}

/// Why a byte stream is not a valid frame. Every variant names the offending bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The type token is none of the known types and does not end in `)`.
    #[error("unknown frame type {0}")]
    UnknownType(Snippet),
    /// No space within the header cap.
    #[error("frame header longer than {limit} bytes without a space: {start}")]
    HeaderTooLong {
        /// The cap in force.
        limit: usize,
        /// The first bytes of the header.
        start: Snippet,
    },
    /// The length token is not plain decimal.
    #[error("{frame_type} frame has a non-decimal length {token}")]
    BadLength {
        /// The type token the length belongs to.
        frame_type: Snippet,
        /// The offending length bytes.
        token: Snippet,
    },
    /// A length of zero, which RV never sends and cannot parse.
    #[error("{frame_type} frame has length 0")]
    ZeroLength {
        /// The type token.
        frame_type: Snippet,
    },
    /// A length above [`Limits::max_payload`].
    #[error("{frame_type} frame claims {len} bytes, more than the {limit}-byte limit")]
    TooLarge {
        /// The type token.
        frame_type: Snippet,
        /// The claimed length.
        len: u64,
        /// The cap in force.
        limit: usize,
    },
    /// A text payload (or data header) that is not UTF-8.
    #[error("{frame_type} frame is not valid UTF-8: {start}")]
    NotUtf8 {
        /// The type token.
        frame_type: Snippet,
        /// The first bytes of the payload.
        start: Snippet,
    },
}

/// Why a frame cannot be sent: RV would mis-parse it (§2, §6).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// Empty payloads desynchronise RV's parser.
    #[error("refusing to send an empty {0} payload (RV cannot parse a zero length)")]
    EmptyPayload(&'static str),
    /// A field that must be one space-free token is not.
    #[error("{field} {value:?} must be non-empty and contain no spaces or control characters")]
    BadToken {
        /// Which field.
        field: &'static str,
        /// The offending value.
        value: String,
    },
    /// A data header that RV would not recognise as one.
    #[error("data header {0:?} must look like NAME(...) with no spaces")]
    BadDataHeader(String),
    /// A payload's rows reach past the buffer they are said to lie in.
    #[error("the payload of {0} has rows outside its buffer")]
    RowsOutside(String),
}

/// A short, escaped excerpt of bytes for error messages.
#[derive(Clone, PartialEq, Eq)]
pub struct Snippet(String);

impl Snippet {
    /// Escapes at most 40 bytes of `bytes`, marking truncation with `...`.
    pub fn of(bytes: &[u8]) -> Self {
        const SHOWN: usize = 40;
        let mut text = String::from("\"");
        text.extend(
            bytes[..bytes.len().min(SHOWN)]
                .escape_ascii()
                .map(char::from),
        );
        text.push('"');
        if bytes.len() > SHOWN {
            text.push_str("...");
        }
        Self(text)
    }
}

impl fmt::Display for Snippet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Snippet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Checks a field that RV splits on spaces: non-empty, no whitespace, no controls.
pub fn check_token(field: &'static str, value: &str) -> Result<(), EncodeError> {
    if value.is_empty() || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(EncodeError::BadToken {
            field,
            value: value.to_owned(),
        });
    }
    Ok(())
}

#[derive(Clone, Copy)]
enum Kind {
    NewGreeting,
    Greeting,
    Message,
    PingPongControl,
    Ping,
    Pong,
    Data,
}

fn classify(token: &[u8]) -> Option<Kind> {
    Some(match token {
        b"NEWGREETING" => Kind::NewGreeting,
        b"GREETING" => Kind::Greeting,
        b"MESSAGE" => Kind::Message,
        b"PINGPONGCONTROL" => Kind::PingPongControl,
        b"PING" => Kind::Ping,
        b"PONG" => Kind::Pong,
        // The same bytes `classify_prefix` lets through while the token is
        // incomplete, so a stream split anywhere parses the same (control
        // bytes are never part of a header; found by fuzzing).
        [.., b')'] if is_header_bytes(token) => Kind::Data,
        _ => return None,
    })
}

/// Where a frame sits in a buffer, found without allocating: known as soon
/// as its type and length tokens are in, before its payload has arrived.
struct Located {
    kind: Kind,
    /// Length of the type token.
    token_len: usize,
    /// Offset of the payload.
    payload_start: usize,
    /// Offset one past the payload.
    end: usize,
}

/// Finds the head of the frame at the start of `buf`: `Ok(None)` while its
/// type or length token is incomplete.
fn locate(buf: &[u8], limits: &Limits) -> Result<Option<Located>, ParseError> {
    let scan = &buf[..buf.len().min(limits.max_header + 1)];
    let Some(token_len) = scan.iter().position(|&b| b == b' ') else {
        if buf.len() > limits.max_header {
            return Err(ParseError::HeaderTooLong {
                limit: limits.max_header,
                start: Snippet::of(buf),
            });
        }
        // A known type can be rejected early, before its space arrives.
        return match classify_prefix(buf) {
            true => Ok(None),
            false => Err(ParseError::UnknownType(Snippet::of(buf))),
        };
    };
    let token = &buf[..token_len];
    let kind = classify(token).ok_or_else(|| ParseError::UnknownType(Snippet::of(token)))?;
    let mut len_start = token_len + 1;
    // Qt's toInt, which RV uses, takes a sign (§13).
    if limits.lenient && buf.get(len_start) == Some(&b'+') {
        len_start += 1;
    }
    let rest = &buf[len_start..];
    let digits = rest
        .iter()
        .take(MAX_LEN_DIGITS + 1)
        .position(|&b| !b.is_ascii_digit());
    let bad_length = |len_token: &[u8]| ParseError::BadLength {
        frame_type: Snippet::of(token),
        token: Snippet::of(len_token),
    };
    let len_len = match digits {
        None if rest.len() > MAX_LEN_DIGITS => return Err(bad_length(&rest[..=MAX_LEN_DIGITS])),
        None => return Ok(None),
        Some(n) if rest[n] != b' ' || n == 0 => {
            return Err(bad_length(&rest[..=n]));
        }
        Some(n) => n,
    };
    // At most 12 ASCII digits: the parse cannot fail or overflow a u64.
    let len: u64 = rest[..len_len]
        .iter()
        .fold(0, |acc, &d| acc * 10 + u64::from(d - b'0'));
    if len == 0 {
        return Err(ParseError::ZeroLength {
            frame_type: Snippet::of(token),
        });
    }
    if len > limits.max_payload as u64 {
        return Err(ParseError::TooLarge {
            frame_type: Snippet::of(token),
            len,
            limit: limits.max_payload,
        });
    }
    let payload_start = len_start + len_len + 1;
    // len <= max_payload (a usize), so this cast is lossless.
    let end = payload_start + len as usize;
    Ok(Some(Located {
        kind,
        token_len,
        payload_start,
        end,
    }))
}

/// Bytes a data header may hold: printable ASCII and UTF-8 beyond it.
fn is_header_bytes(token: &[u8]) -> bool {
    token.iter().all(|b| b.is_ascii_graphic() || *b >= 0x80)
}

/// Whether `partial` (no space yet) could still become a valid type token.
fn classify_prefix(partial: &[u8]) -> bool {
    const KNOWN: [&[u8]; 6] = [
        b"NEWGREETING",
        b"GREETING",
        b"MESSAGE",
        b"PINGPONGCONTROL",
        b"PING",
        b"PONG",
    ];
    // A data header may start with anything printable; only reject what can
    // never become a header: control bytes.
    KNOWN.iter().any(|k| k.starts_with(partial)) || is_header_bytes(partial)
}

fn text(kind_token: &[u8], payload: &[u8]) -> Result<String, ParseError> {
    String::from_utf8(payload.to_vec()).map_err(|_| ParseError::NotUtf8 {
        frame_type: Snippet::of(kind_token),
        start: Snippet::of(payload),
    })
}

/// A text payload: strict UTF-8, or lossily decoded where `lenient`, as
/// RV's `QString::fromUtf8` does (§13).
fn payload_text(kind_token: &[u8], payload: &[u8], lenient: bool) -> Result<String, ParseError> {
    if lenient {
        Ok(String::from_utf8_lossy(payload).into_owned())
    } else {
        text(kind_token, payload)
    }
}

/// RV turns the heartbeat on for any non-zero number (Qt's `toInt`, §13):
/// `1`, `2`, `01`, `-1`; anything else (`0`, `00`, text) is off.
fn pingpong_on(payload: &[u8]) -> bool {
    std::str::from_utf8(payload)
        .ok()
        .and_then(|t| t.trim().parse::<i64>().ok())
        .is_some_and(|n| n != 0)
}

/// The total length of the frame at the front of `buf` once its header is
/// complete and valid (`None` before that, or if it is invalid: [`Frame::parse`]
/// reports the error).
pub fn frame_len(buf: &[u8], limits: &Limits) -> Option<usize> {
    locate(buf, limits).ok().flatten().map(|at| at.end)
}

/// What [`parse_or_split`] found at the front of a buffer.
#[derive(Debug, PartialEq)]
pub enum Split {
    /// A whole frame, consumed.
    Frame(Frame),
    /// The head of a data frame of at least the asked payload size,
    /// consumed; its payload follows (some of it may be in the buffer).
    DataHead {
        /// The data frame's header token.
        header: String,
        /// Its payload length.
        len: usize,
    },
}

/// As [`Frame::parse`], except that a data frame of at least `min_payload`
/// bytes has only its head consumed, so that the payload can be read
/// straight into a buffer of its own. The head is located once either way.
/// `Ok(None)`, with nothing consumed, while the frame (or that head) is
/// incomplete; the same errors as [`Frame::parse`].
pub fn parse_or_split(
    buf: &mut BytesMut,
    limits: &Limits,
    min_payload: usize,
) -> Result<Option<Split>, ParseError> {
    let Some(at) = locate(buf, limits)? else {
        return Ok(None);
    };
    if matches!(at.kind, Kind::Data) && at.end - at.payload_start >= min_payload {
        let header = text(&buf[..at.token_len], &buf[..at.token_len])?;
        buf.advance(at.payload_start);
        return Ok(Some(Split::DataHead {
            header,
            len: at.end - at.payload_start,
        }));
    }
    Ok(Frame::take(buf, at, limits.lenient)?.map(Split::Frame))
}

impl Frame {
    /// Parses one frame from the front of `buf`, consuming it. Returns
    /// `Ok(None)` and consumes nothing while the frame is incomplete.
    pub fn parse(buf: &mut BytesMut, limits: &Limits) -> Result<Option<Frame>, ParseError> {
        match locate(buf, limits)? {
            Some(at) => Frame::take(buf, at, limits.lenient),
            None => Ok(None),
        }
    }

    /// The located frame, consumed once all of it is in `buf`.
    fn take(buf: &mut BytesMut, at: Located, lenient: bool) -> Result<Option<Frame>, ParseError> {
        if buf.len() < at.end {
            return Ok(None);
        }
        let mut raw = buf.split_to(at.end);
        let token = &raw[..at.token_len];
        let frame = match at.kind {
            Kind::NewGreeting => {
                let payload = payload_text(token, &raw[at.payload_start..], lenient)?;
                let mut fields = payload.split(' ');
                let contact = fields.next().unwrap_or_default().to_owned();
                let app = fields.next().unwrap_or_default().to_owned();
                Frame::NewGreeting { contact, app }
            }
            Kind::Greeting => {
                Frame::Greeting(payload_text(token, &raw[at.payload_start..], lenient)?)
            }
            Kind::Message => {
                Frame::Message(payload_text(token, &raw[at.payload_start..], lenient)?)
            }
            Kind::PingPongControl => Frame::PingPongControl(pingpong_on(&raw[at.payload_start..])),
            Kind::Ping => Frame::Ping,
            Kind::Pong => Frame::Pong,
            Kind::Data => {
                let header = text(token, token)?;
                raw.advance(at.payload_start);
                Frame::Data {
                    header,
                    payload: raw.freeze(),
                }
            }
        };
        Ok(Some(frame))
    }

    /// Appends the complete frame to `dst`.
    pub fn encode(&self, dst: &mut BytesMut) -> Result<(), EncodeError> {
        if let Some(payload) = self.encode_head(dst)? {
            dst.extend_from_slice(payload);
        }
        Ok(())
    }

    /// Appends everything but a data frame's payload to `dst`, and returns that
    /// payload so large tiles can be written without copying (vectored write).
    /// For every other frame the whole frame goes into `dst` and `None` is returned.
    pub fn encode_head(&self, dst: &mut BytesMut) -> Result<Option<&Bytes>, EncodeError> {
        let (token, payload): (&str, &[u8]) = match self {
            Frame::NewGreeting { contact, app } => {
                check_token("contact name", contact)?;
                check_token("application name", app)?;
                put_head(dst, "NEWGREETING", contact.len() + 1 + app.len());
                dst.put_slice(contact.as_bytes());
                dst.put_u8(b' ');
                dst.put_slice(app.as_bytes());
                return Ok(None);
            }
            Frame::Greeting(name) => {
                check_token("contact name", name)?;
                ("GREETING", name.as_bytes())
            }
            Frame::Message(text) => {
                if text.is_empty() {
                    return Err(EncodeError::EmptyPayload("MESSAGE"));
                }
                ("MESSAGE", text.as_bytes())
            }
            Frame::PingPongControl(on) => ("PINGPONGCONTROL", if *on { b"1" } else { b"0" }),
            Frame::Ping => ("PING", b"p"),
            Frame::Pong => ("PONG", b"p"),
            Frame::Data { header, payload } => {
                encode_data_head(dst, header, payload.len())?;
                return Ok(Some(payload));
            }
        };
        put_head(dst, token, payload.len());
        dst.put_slice(payload);
        Ok(None)
    }

    /// The frame's type token, for logs.
    pub fn type_name(&self) -> &str {
        match self {
            Frame::NewGreeting { .. } => "NEWGREETING",
            Frame::Greeting(_) => "GREETING",
            Frame::Message(_) => "MESSAGE",
            Frame::PingPongControl(_) => "PINGPONGCONTROL",
            Frame::Ping => "PING",
            Frame::Pong => "PONG",
            Frame::Data { header, .. } => header.split('(').next().unwrap_or(header),
        }
    }
}

/// Checks a data header: `NAME(...)`, printable, no spaces.
pub fn check_data_header(header: &str) -> Result<(), EncodeError> {
    let shaped = header.len() > 2
        && header.ends_with(')')
        && header.find('(').is_some_and(|open| open > 0)
        && !header.chars().any(|c| c.is_whitespace() || c.is_control());
    if shaped {
        Ok(())
    } else {
        Err(EncodeError::BadDataHeader(header.to_owned()))
    }
}

/// Appends the head of a data frame, `HEADER LEN `, refusing what RV would
/// mis-parse: a badly shaped header or an empty payload. Its payload of
/// `len` bytes must follow.
pub fn encode_data_head(dst: &mut BytesMut, header: &str, len: usize) -> Result<(), EncodeError> {
    check_data_frame(header, len)?;
    put_head(dst, header, len);
    Ok(())
}

/// What [`encode_data_head`] refuses, checked without encoding.
pub fn check_data_frame(header: &str, len: usize) -> Result<(), EncodeError> {
    check_data_header(header)?;
    if len == 0 {
        return Err(EncodeError::EmptyPayload("data"));
    }
    Ok(())
}

fn put_head(dst: &mut BytesMut, token: &str, len: usize) {
    use std::fmt::Write;
    dst.reserve(token.len() + MAX_LEN_DIGITS + 2);
    dst.put_slice(token.as_bytes());
    // Writing into a BytesMut cannot fail.
    let _ = write!(dst, " {len} ");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(bytes: &[u8]) -> Result<Vec<Frame>, ParseError> {
        let mut buf = BytesMut::from(bytes);
        let mut frames = Vec::new();
        while let Some(frame) = Frame::parse(&mut buf, &Limits::default())? {
            frames.push(frame);
        }
        assert!(buf.is_empty(), "left over: {:?}", buf);
        Ok(frames)
    }

    fn encoded(frame: &Frame) -> Vec<u8> {
        let mut buf = BytesMut::new();
        frame.encode(&mut buf).unwrap();
        buf.to_vec()
    }

    #[test]
    fn golden_frames_encode_and_parse() {
        let cases: Vec<(Frame, &[u8])> = vec![
            (
                Frame::NewGreeting {
                    contact: "rv-shell-1".into(),
                    app: "rv-shell".into(),
                },
                b"NEWGREETING 19 rv-shell-1 rv-shell",
            ),
            (Frame::Greeting("jdoe".into()), b"GREETING 4 jdoe"),
            (
                Frame::Message(r#"RETURNEVENT remote-eval * play();"FRAME = " + frame();"#.into()),
                br#"MESSAGE 54 RETURNEVENT remote-eval * play();"FRAME = " + frame();"#,
            ),
            (Frame::PingPongControl(false), b"PINGPONGCONTROL 1 0"),
            (Frame::PingPongControl(true), b"PINGPONGCONTROL 1 1"),
            (Frame::Ping, b"PING 1 p"),
            (Frame::Pong, b"PONG 1 p"),
            (Frame::Message("RETURN ".into()), b"MESSAGE 7 RETURN "),
            (Frame::Message("DISCONNECT".into()), b"MESSAGE 10 DISCONNECT"),
            (
                Frame::Data {
                    header: "PIXELTILE(media=M,view=left,w=2,h=1,x=0,y=0,f=1)".into(),
                    payload: Bytes::from_static(&[0, 1, 2, 3, 255, 254, 253, 252]),
                },
                b"PIXELTILE(media=M,view=left,w=2,h=1,x=0,y=0,f=1) 8 \x00\x01\x02\x03\xff\xfe\xfd\xfc",
            ),
            (
                Frame::Data {
                    header: "DATAEVENT(my-event,unused,my/type)".into(),
                    payload: Bytes::from_static(b"\x00 \n\xff"),
                },
                b"DATAEVENT(my-event,unused,my/type) 4 \x00 \n\xff",
            ),
            (
                Frame::Message("RETURNEVENT remote-eval * h\u{e9}llo\nw\u{f6}rld frame()".into()),
                b"MESSAGE 47 RETURNEVENT remote-eval * h\xc3\xa9llo\nw\xc3\xb6rld frame()",
            ),
        ];
        for (frame, bytes) in &cases {
            assert_eq!(encoded(frame), *bytes, "encoding {frame:?}");
            assert_eq!(parse_all(bytes).unwrap(), vec![frame.clone()]);
        }
        // All of them back to back parse as a stream.
        let stream: Vec<u8> = cases.iter().flat_map(|(_, b)| b.to_vec()).collect();
        let frames: Vec<Frame> = cases.into_iter().map(|(f, _)| f).collect();
        assert_eq!(parse_all(&stream).unwrap(), frames);
    }

    #[test]
    fn pingpongcontrol_off_constant_matches_encoder() {
        assert_eq!(encoded(&Frame::PingPongControl(false)), PINGPONG_OFF);
    }

    #[test]
    fn newgreeting_ignores_fields_after_app() {
        let frames = parse_all(b"NEWGREETING 9 a b extra").unwrap();
        assert_eq!(
            frames,
            vec![Frame::NewGreeting {
                contact: "a".into(),
                app: "b".into()
            }]
        );
    }

    #[test]
    fn incomplete_is_not_an_error_and_consumes_nothing() {
        let whole = b"MESSAGE 10 DISCONNECT";
        for cut in 0..whole.len() {
            let mut buf = BytesMut::from(&whole[..cut]);
            assert_eq!(
                Frame::parse(&mut buf, &Limits::default()),
                Ok(None),
                "cut {cut}"
            );
            assert_eq!(buf.len(), cut);
        }
    }

    #[test]
    fn errors_name_the_offending_bytes() {
        let err = |bytes: &[u8]| parse_all(bytes).unwrap_err().to_string();
        assert_eq!(err(b"HELLO 3 abc"), r#"unknown frame type "HELLO""#);
        assert_eq!(err(b"MESSAGE 0 "), r#""MESSAGE" frame has length 0"#);
        assert_eq!(
            err(b"MESSAGE 1x "),
            r#""MESSAGE" frame has a non-decimal length "1x""#
        );
        assert_eq!(
            err(b"MESSAGE -1 "),
            r#""MESSAGE" frame has a non-decimal length "-""#
        );
        assert_eq!(
            err(b"MESSAGE  5"),
            r#""MESSAGE" frame has a non-decimal length " ""#
        );
        assert_eq!(
            err(b"MESSAGE 9999999999999 "),
            r#""MESSAGE" frame has a non-decimal length "9999999999999""#
        );
        assert_eq!(
            err(b"MESSAGE 2 \xff\xfe"),
            r#""MESSAGE" frame is not valid UTF-8: "\xff\xfe""#
        );
        assert!(err(b"\x00\x01garbage").starts_with(r#"unknown frame type "\x00\x01garbage""#));
    }

    #[test]
    fn oversized_lengths_are_refused_without_waiting_for_the_bytes() {
        let limits = Limits {
            max_payload: 100,
            max_header: 16,
            lenient: false,
        };
        let mut buf = BytesMut::from(&b"MESSAGE 101 "[..]);
        let err = Frame::parse(&mut buf, &limits).unwrap_err();
        assert_eq!(
            err.to_string(),
            r#""MESSAGE" frame claims 101 bytes, more than the 100-byte limit"#
        );
        assert!(buf.capacity() < 1000);
        let mut buf = BytesMut::from(&b"PIXELTILE(media=abcdefghijk)"[..]);
        let err = Frame::parse(&mut buf, &limits).unwrap_err();
        assert!(
            matches!(err, ParseError::HeaderTooLong { limit: 16, .. }),
            "{err}"
        );
    }

    #[test]
    fn a_space_in_a_data_header_is_an_unknown_type_on_parse_and_refused_on_encode() {
        // RV's parser stops the token at the first space: `PIXELTILE(media=a` does not end in `)`.
        assert!(matches!(
            parse_all(b"PIXELTILE(media=a b) 1 x"),
            Err(ParseError::UnknownType(_))
        ));
        let frame = Frame::Data {
            header: "PIXELTILE(media=a b)".into(),
            payload: Bytes::from_static(b"x"),
        };
        assert!(matches!(
            frame.encode(&mut BytesMut::new()),
            Err(EncodeError::BadDataHeader(_))
        ));
    }

    #[test]
    fn encoding_refuses_what_rv_would_misparse() {
        let refuse = |frame: Frame| frame.encode(&mut BytesMut::new()).unwrap_err();
        assert_eq!(
            refuse(Frame::Message(String::new())),
            EncodeError::EmptyPayload("MESSAGE")
        );
        assert!(matches!(
            refuse(Frame::Data {
                header: "DATAEVENT(a,b,c)".into(),
                payload: Bytes::new()
            }),
            EncodeError::EmptyPayload("data")
        ));
        for (contact, app) in [
            ("a b", "app"),
            ("", "app"),
            ("a", "my app"),
            ("a", ""),
            ("a\n", "x"),
        ] {
            assert!(matches!(
                refuse(Frame::NewGreeting {
                    contact: contact.into(),
                    app: app.into()
                }),
                EncodeError::BadToken { .. }
            ));
        }
        for header in ["DATAEVENT", "(a)", "DATAEVENT(a", "DATA EVENT(a)", "X(\t)"] {
            assert!(matches!(
                refuse(Frame::Data {
                    header: header.into(),
                    payload: Bytes::from_static(b"x")
                }),
                EncodeError::BadDataHeader(_)
            ));
        }
    }

    #[test]
    fn large_data_frames_split_at_their_head_and_others_parse_whole() {
        let limits = Limits::default();
        let mut buf = BytesMut::from(&b"DATAEVENT(e,t,x) 6 abc"[..]);
        // Big enough to split: only the head goes, as soon as it is in.
        assert_eq!(
            parse_or_split(&mut buf, &limits, 6).unwrap(),
            Some(Split::DataHead {
                header: "DATAEVENT(e,t,x)".into(),
                len: 6
            })
        );
        assert_eq!(&buf[..], b"abc");
        // Smaller payloads and other frames parse whole, once complete.
        let mut buf = BytesMut::from(&b"DATAEVENT(e,t,x) 6 abc"[..]);
        assert_eq!(parse_or_split(&mut buf, &limits, 7).unwrap(), None);
        buf.extend_from_slice(b"defPING 1 p");
        assert_eq!(
            parse_or_split(&mut buf, &limits, 7).unwrap(),
            Some(Split::Frame(Frame::Data {
                header: "DATAEVENT(e,t,x)".into(),
                payload: Bytes::from_static(b"abcdef")
            }))
        );
        assert_eq!(
            parse_or_split(&mut buf, &limits, 0).unwrap(),
            Some(Split::Frame(Frame::Ping))
        );
        assert!(buf.is_empty());
        let mut bad = BytesMut::from(&b"NOSUCH 1 x"[..]);
        assert!(parse_or_split(&mut bad, &limits, 0).is_err());
    }

    #[test]
    fn frame_len_is_known_once_the_header_is() {
        let limits = Limits::default();
        assert_eq!(frame_len(b"MESSAGE 10 DISC", &limits), Some(21));
        assert_eq!(frame_len(b"MESSAGE 10", &limits), None);
        assert_eq!(frame_len(b"MESSAGE 99999999999 ", &limits), None);
        let small = Limits {
            max_payload: 5,
            max_header: 16,
            lenient: false,
        };
        assert_eq!(frame_len(b"MESSAGE 6 ", &small), None);
    }

    #[test]
    fn encode_head_leaves_data_payload_out() {
        let payload = Bytes::from_static(b"abcdef");
        let frame = Frame::Data {
            header: "DATAEVENT(e,t,ct)".into(),
            payload: payload.clone(),
        };
        let mut head = BytesMut::new();
        let rest = frame.encode_head(&mut head).unwrap();
        assert_eq!(&head[..], b"DATAEVENT(e,t,ct) 6 ");
        assert_eq!(rest, Some(&payload));
    }

    /// rv-protocol.md §13: what RV accepts though nobody sends it.
    #[test]
    fn lenient_parsing_takes_what_rv_takes_and_strict_refuses_it() {
        let strict = Limits::default();
        let lenient = Limits {
            lenient: true,
            ..Limits::default()
        };
        let parse =
            |bytes: &[u8], limits: &Limits| Frame::parse(&mut BytesMut::from(bytes), limits);
        // A signed length.
        assert_eq!(
            parse(b"MESSAGE +5 hello", &lenient),
            Ok(Some(Frame::Message("hello".into())))
        );
        assert!(matches!(
            parse(b"MESSAGE +5 hello", &strict),
            Err(ParseError::BadLength { .. })
        ));
        assert!(parse(b"MESSAGE ++5 hello", &lenient).is_err());
        assert!(parse(b"MESSAGE -5 hello", &lenient).is_err());
        // Text that is not UTF-8.
        assert_eq!(
            parse(b"MESSAGE 4 a\xff\xfeb", &lenient),
            Ok(Some(Frame::Message("a\u{fffd}\u{fffd}b".into())))
        );
        assert!(matches!(
            parse(b"MESSAGE 4 a\xff\xfeb", &strict),
            Err(ParseError::NotUtf8 { .. })
        ));
        // Any non-zero number turns the heartbeat on, on both sides.
        for limits in [&strict, &lenient] {
            for (bytes, on) in [
                (&b"PINGPONGCONTROL 1 1"[..], true),
                (b"PINGPONGCONTROL 1 2", true),
                (b"PINGPONGCONTROL 2 01", true),
                (b"PINGPONGCONTROL 2 -1", true),
                (b"PINGPONGCONTROL 1 0", false),
                (b"PINGPONGCONTROL 2 00", false),
                (b"PINGPONGCONTROL 1 x", false),
            ] {
                assert_eq!(
                    parse(bytes, limits),
                    Ok(Some(Frame::PingPongControl(on))),
                    "{:?}",
                    String::from_utf8_lossy(bytes)
                );
            }
        }
        // Still refused by both: a zero length, an unknown type.
        for limits in [&strict, &lenient] {
            assert!(parse(b"MESSAGE 0 ", limits).is_err());
            assert!(parse(b"HELLO 5 world", limits).is_err());
        }
    }

    /// Found by fuzzing (fuzz/regressions/rv_frames): a data header with a
    /// control byte was taken whole but refused when it arrived in pieces.
    #[test]
    fn a_header_with_control_bytes_is_refused_however_it_arrives() {
        let bytes = b"PIXELTILE(a\x0cb) 1 x";
        let limits = Limits::default();
        assert!(matches!(
            Frame::parse(&mut BytesMut::from(&bytes[..]), &limits),
            Err(ParseError::UnknownType(_))
        ));
        assert!(matches!(
            Frame::parse(&mut BytesMut::from(&bytes[..13]), &limits),
            Err(ParseError::UnknownType(_))
        ));
    }
}
