//! Byte-exact frames from ola-rpc.md §3, and property tests for the framing.

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use prost::Message;
use rvshell::ola::codec::{
    CodecError, MAX_BODY, OlaCodec, decode_header, encode_header, encode_message, encode_request,
};
use rvshell::ola::pb::proto::{Ack, DmxData};
use rvshell::ola::pb::rpc::{RpcMessage, Type};
use tokio_util::codec::Decoder;

fn frame(msg: &RpcMessage) -> Vec<u8> {
    let mut buf = BytesMut::new();
    encode_message(msg, &mut buf).unwrap();
    buf.to_vec()
}

fn hex(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

fn decode_all(bytes: &[u8]) -> Vec<RpcMessage> {
    let mut codec = OlaCodec::new();
    let mut buf = BytesMut::from(bytes);
    let mut out = Vec::new();
    while let Some(msg) = codec.decode(&mut buf).unwrap() {
        out.push(msg);
    }
    assert!(buf.is_empty(), "bytes left over: {buf:?}");
    out
}

#[test]
fn stream_dmx_data_frame_matches_spec() {
    let mut buf = BytesMut::new();
    let dmx = DmxData {
        universe: 1,
        data: Bytes::from_static(&[1, 2, 3]),
        priority: Some(100),
    };
    encode_request(Type::StreamRequest, 0, "StreamDmxData", &dmx, &mut buf).unwrap();
    let expected = hex(&[
        &[0x1e, 0x00, 0x00, 0x10],
        &[0x08, 0x0a, 0x10, 0x00, 0x1a, 0x0d],
        b"StreamDmxData",
        &[
            0x22, 0x09, 0x08, 0x01, 0x12, 0x03, 0x01, 0x02, 0x03, 0x18, 0x64,
        ],
    ]);
    assert_eq!(buf.to_vec(), expected);
    assert_eq!(decode_all(&expected).len(), 1);
}

#[test]
fn update_dmx_data_frame_matches_spec() {
    let mut buf = BytesMut::new();
    let dmx = DmxData {
        universe: 1,
        data: Bytes::from_static(&[1, 2, 3]),
        priority: None,
    };
    encode_request(Type::Request, 5, "UpdateDmxData", &dmx, &mut buf).unwrap();
    let expected = hex(&[
        &[0x1c, 0x00, 0x00, 0x10],
        &[0x08, 0x01, 0x10, 0x05, 0x1a, 0x0d],
        b"UpdateDmxData",
        &[0x22, 0x07, 0x08, 0x01, 0x12, 0x03, 0x01, 0x02, 0x03],
    ]);
    assert_eq!(buf.to_vec(), expected);
    let msgs = decode_all(&expected);
    assert_eq!(msgs[0].r#type, Type::Request as i32);
    assert_eq!(msgs[0].id, Some(5));
    assert_eq!(msgs[0].name.as_deref(), Some("UpdateDmxData"));
    let inner = DmxData::decode(msgs[0].buffer.clone().unwrap()).unwrap();
    assert_eq!(inner, dmx);
}

#[test]
fn ack_response_frame_matches_spec() {
    let msg = RpcMessage {
        r#type: Type::Response as i32,
        id: Some(7),
        name: None,
        buffer: Some(Ack {}.encode_to_vec().into()),
    };
    let expected = [0x06, 0x00, 0x00, 0x10, 0x08, 0x02, 0x10, 0x07, 0x22, 0x00];
    assert_eq!(frame(&msg), expected);
    assert_eq!(decode_all(&expected), vec![msg]);
}

#[test]
fn failure_frame_matches_spec() {
    let msg = RpcMessage {
        r#type: Type::ResponseFailed as i32,
        id: Some(9),
        name: None,
        buffer: Some(Bytes::from_static(b"Universe doesn't exist")),
    };
    let expected = hex(&[
        &[0x1c, 0x00, 0x00, 0x10, 0x08, 0x04, 0x10, 0x09, 0x22, 0x16],
        b"Universe doesn't exist",
    ]);
    assert_eq!(frame(&msg), expected);
    assert_eq!(decode_all(&expected), vec![msg]);
}

#[test]
fn not_implemented_frame_matches_spec() {
    let msg = RpcMessage {
        r#type: Type::ResponseNotImplemented as i32,
        id: Some(11),
        name: None,
        buffer: None,
    };
    let expected = [0x04, 0x00, 0x00, 0x10, 0x08, 0x05, 0x10, 0x0b];
    assert_eq!(frame(&msg), expected);
    assert_eq!(decode_all(&expected), vec![msg]);
}

#[test]
fn full_dmx_frames_have_the_sizes_in_the_spec() {
    let data = Bytes::from(vec![0xffu8; 512]);
    let mut buf = BytesMut::new();
    let with_priority = DmxData {
        universe: 1,
        data: data.clone(),
        priority: Some(100),
    };
    encode_request(
        Type::StreamRequest,
        0,
        "StreamDmxData",
        &with_priority,
        &mut buf,
    )
    .unwrap();
    assert_eq!(buf.len(), 545);
    buf.clear();
    let without = DmxData {
        universe: 1,
        data,
        priority: None,
    };
    encode_request(Type::Request, 0, "UpdateDmxData", &without, &mut buf).unwrap();
    assert_eq!(buf.len(), 543);
}

#[test]
fn zero_size_frames_are_skipped() {
    let ack = [0x06, 0x00, 0x00, 0x10, 0x08, 0x02, 0x10, 0x07, 0x22, 0x00];
    let stream = hex(&[&[0x00, 0x00, 0x00, 0x10], &ack, &[0x00, 0x00, 0x00, 0x10]]);
    let msgs = decode_all(&stream);
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0].id, Some(7));
}

#[test]
fn bad_version_is_an_error() {
    let mut codec = OlaCodec::new();
    let mut buf = BytesMut::from(&[0x06u8, 0x00, 0x00, 0x20, 0, 0, 0, 0, 0, 0][..]);
    assert!(matches!(
        codec.decode(&mut buf),
        Err(CodecError::BadVersion(2))
    ));
    let mut buf = BytesMut::from(&[0x06u8, 0x00, 0x00, 0x00][..]);
    assert!(matches!(
        OlaCodec::new().decode(&mut buf),
        Err(CodecError::BadVersion(0))
    ));
}

#[test]
fn oversize_is_an_error_both_ways() {
    let header = (1u32 << 28 | (MAX_BODY as u32 + 1)).to_ne_bytes();
    let mut buf = BytesMut::from(&header[..]);
    assert!(matches!(
        OlaCodec::new().decode(&mut buf),
        Err(CodecError::TooLarge(n)) if n == MAX_BODY + 1
    ));
    // The limit itself is fine, and the decoder waits for the body.
    let header = (1u32 << 28 | MAX_BODY as u32).to_ne_bytes();
    let mut buf = BytesMut::from(&header[..]);
    assert!(OlaCodec::new().decode(&mut buf).unwrap().is_none());
    assert!(matches!(
        encode_header(MAX_BODY + 1),
        Err(CodecError::TooLarge(_))
    ));
    let big = RpcMessage {
        r#type: Type::Request as i32,
        id: Some(1),
        name: Some("X".into()),
        buffer: Some(vec![0u8; MAX_BODY].into()),
    };
    let mut out = BytesMut::new();
    assert!(matches!(
        encode_message(&big, &mut out),
        Err(CodecError::TooLarge(_))
    ));
    assert!(out.is_empty(), "nothing may be written for a refused frame");
}

#[test]
fn header_layout_is_native_order_with_version_in_top_nibble() {
    let header = encode_header(6).unwrap();
    assert_eq!(u32::from_ne_bytes(header), 0x1000_0006);
    if cfg!(target_endian = "little") {
        assert_eq!(header, [0x06, 0x00, 0x00, 0x10]);
    }
    assert_eq!(decode_header(header).unwrap(), 6);
}

fn arb_message() -> impl Strategy<Value = RpcMessage> {
    (
        1i32..=10,
        proptest::option::of(any::<u32>()),
        proptest::option::of("[A-Za-z]{0,20}"),
        proptest::option::of(proptest::collection::vec(any::<u8>(), 0..600)),
    )
        .prop_map(|(kind, id, name, buffer)| RpcMessage {
            r#type: kind,
            id,
            name,
            buffer: buffer.map(Bytes::from),
        })
}

proptest! {
    #[test]
    fn header_round_trips(len in 0usize..=MAX_BODY) {
        prop_assert_eq!(decode_header(encode_header(len).unwrap()).unwrap(), len);
    }

    #[test]
    fn any_header_word_decodes_or_errors(word in any::<u32>()) {
        match decode_header(word.to_ne_bytes()) {
            Ok(len) => {
                prop_assert_eq!(word >> 28, 1);
                prop_assert!(len <= MAX_BODY);
            }
            Err(CodecError::BadVersion(v)) => prop_assert_ne!(v as u32, 1),
            Err(CodecError::TooLarge(n)) => prop_assert!(n > MAX_BODY),
            Err(other) => prop_assert!(false, "unexpected error {other}"),
        }
    }

    #[test]
    fn encode_request_equals_envelope_encoding(
        stream in any::<bool>(),
        id in any::<u32>(),
        name in "[A-Za-z]{0,30}",
        universe in any::<i32>(),
        data in proptest::collection::vec(any::<u8>(), 0..600),
        priority in proptest::option::of(any::<i32>()),
    ) {
        let kind = if stream { Type::StreamRequest } else { Type::Request };
        let inner = DmxData { universe, data: data.into(), priority };
        let mut fast = BytesMut::new();
        encode_request(kind, id, &name, &inner, &mut fast).unwrap();
        let envelope = RpcMessage {
            r#type: kind as i32,
            id: Some(id),
            name: Some(name),
            buffer: Some(inner.encode_to_vec().into()),
        };
        prop_assert_eq!(fast.to_vec(), frame(&envelope));
    }

    #[test]
    fn frames_split_anywhere_decode_to_the_same_messages(
        msgs in proptest::collection::vec(arb_message(), 1..8),
        cuts in proptest::collection::vec(any::<proptest::sample::Index>(), 0..12),
    ) {
        let mut wire = BytesMut::new();
        for msg in &msgs {
            encode_message(msg, &mut wire).unwrap();
        }
        let wire = wire.freeze();
        let mut points: Vec<usize> = cuts.iter().map(|c| c.index(wire.len() + 1)).collect();
        points.sort_unstable();
        points.push(wire.len());
        let mut codec = OlaCodec::new();
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        let mut start = 0;
        for end in points {
            buf.extend_from_slice(&wire[start..end]);
            start = end;
            while let Some(msg) = codec.decode(&mut buf).unwrap() {
                got.push(msg);
            }
        }
        prop_assert_eq!(got, msgs);
        prop_assert!(buf.is_empty());
    }

    #[test]
    fn arbitrary_bytes_never_panic_or_overallocate(
        chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 0..16),
    ) {
        let mut codec = OlaCodec::new();
        let mut buf = BytesMut::new();
        'outer: for chunk in chunks {
            buf.extend_from_slice(&chunk);
            loop {
                match codec.decode(&mut buf) {
                    Ok(Some(_)) => continue,
                    Ok(None) => break,
                    Err(_) => break 'outer,
                }
            }
            prop_assert!(buf.capacity() <= MAX_BODY + 4 + 1024, "capacity {}", buf.capacity());
        }
    }
}
