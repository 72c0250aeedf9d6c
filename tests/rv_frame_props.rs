//! Property tests for RV framing: round trip, arbitrary splits, hostile bytes.

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use rvshell::rv::codec::RvCodec;
use rvshell::rv::frame::{Frame, Limits};
use rvshell::rv::message::{Event, Message};
use tokio_util::codec::Decoder;

fn token() -> impl Strategy<Value = String> {
    // Non-empty, no whitespace or controls; includes non-ASCII.
    "[a-zA-Z0-9_.@:/é漢-]{1,12}"
}

fn frame() -> impl Strategy<Value = Frame> {
    prop_oneof![
        (token(), token()).prop_map(|(contact, app)| Frame::NewGreeting { contact, app }),
        token().prop_map(Frame::Greeting),
        ".{1,200}".prop_map(Frame::Message),
        any::<bool>().prop_map(Frame::PingPongControl),
        Just(Frame::Ping),
        Just(Frame::Pong),
        (
            "(PIXELTILE|DATAEVENT)",
            "[a-z0-9=,._-]{0,40}",
            proptest::collection::vec(any::<u8>(), 1..300)
        )
            .prop_map(|(kind, fields, payload)| Frame::Data {
                header: format!("{kind}({fields})"),
                payload: Bytes::from(payload),
            }),
        (token(), token(), ".{0,100}", any::<bool>()).prop_map(|(name, target, contents, rsvp)| {
            let event = Event {
                name,
                target,
                contents,
            };
            let message = if rsvp {
                Message::ReturnEvent(event)
            } else {
                Message::Event(event)
            };
            Frame::Message(message.to_text().unwrap())
        }),
    ]
}

fn encode_all(frames: &[Frame]) -> Vec<u8> {
    let mut buf = BytesMut::new();
    for frame in frames {
        frame.encode(&mut buf).unwrap();
    }
    buf.to_vec()
}

proptest! {
    #[test]
    fn encode_then_parse_round_trips(frame in frame()) {
        let mut buf = BytesMut::from(&encode_all(std::slice::from_ref(&frame))[..]);
        let parsed = Frame::parse(&mut buf, &Limits::default()).unwrap();
        prop_assert_eq!(parsed, Some(frame));
        prop_assert!(buf.is_empty());
    }

    #[test]
    fn any_split_of_a_stream_parses_the_same(
        frames in proptest::collection::vec(frame(), 1..12),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..8),
    ) {
        let bytes = encode_all(&frames);
        let mut cuts: Vec<usize> = cuts.iter().map(|i| i.index(bytes.len() + 1)).collect();
        cuts.push(bytes.len());
        cuts.sort_unstable();
        let mut codec = RvCodec::default();
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        let mut from = 0;
        for cut in cuts {
            buf.extend_from_slice(&bytes[from..cut]);
            from = cut;
            while let Some(frame) = codec.decode(&mut buf).unwrap() {
                got.push(frame);
            }
        }
        prop_assert_eq!(codec.decode_eof(&mut buf).unwrap(), None);
        prop_assert_eq!(got, frames);
    }

    #[test]
    fn arbitrary_bytes_never_panic_nor_grow_past_the_cap(
        chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 1..16),
        prefix in prop_oneof![Just(&b""[..]), Just(&b"MESSAGE "[..]), Just(&b"PIXELTILE(a) "[..]), Just(&b"PING 1"[..])],
    ) {
        let limits = Limits { max_payload: 256, max_header: 32, lenient: false };
        let mut codec = RvCodec::new(limits);
        let mut buf = BytesMut::new();
        buf.extend_from_slice(prefix);
        'feed: for chunk in chunks {
            buf.extend_from_slice(&chunk);
            loop {
                match codec.decode(&mut buf) {
                    Ok(Some(_)) => continue,
                    Ok(None) => break,
                    Err(_) => break 'feed,
                }
            }
            // Whatever is buffered is at most one incomplete frame within the caps.
            prop_assert!(buf.len() <= limits.max_header + 1 + 13 + 1 + limits.max_payload);
            prop_assert!(buf.capacity() <= 64 * 1024);
        }
    }
}
