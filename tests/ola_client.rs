//! The OLA client against a scripted peer on loopback: id matching, pushes
//! and their acks, timeouts, protocol errors, the close barrier. The real-olad
//! behaviour is covered in `ola_olad.rs`.

use bytes::{Bytes, BytesMut};
use futures_util::{SinkExt, StreamExt};
use prost::Message;
use rvshell::ola::client::{ClientConfig, ClientEvent, OlaClient, OlaError};
use rvshell::ola::codec::OlaCodec;
use rvshell::ola::pb::proto::{DmxData, PluginListReply, UniverseRequest};
use rvshell::ola::pb::rpc::{RpcMessage, Type};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::codec::Framed;

mod common;
use common::ola::settled;

async fn listener() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    (listener, addr)
}

async fn accept(listener: &TcpListener) -> Framed<TcpStream, OlaCodec> {
    let (sock, _) = listener.accept().await.unwrap();
    Framed::new(sock, OlaCodec::new())
}

fn config() -> ClientConfig {
    ClientConfig {
        request_timeout: Duration::from_secs(5),
        reconnect: false,
        ..ClientConfig::default()
    }
}

fn response(id: u32, body: Bytes) -> RpcMessage {
    RpcMessage {
        r#type: Type::Response as i32,
        id: Some(id),
        name: None,
        buffer: Some(body),
    }
}

fn dmx_reply(universe: i32, data: &[u8]) -> Bytes {
    DmxData {
        universe,
        data: Bytes::copy_from_slice(data),
        priority: None,
    }
    .encode_to_vec()
    .into()
}

#[tokio::test]
async fn replies_are_matched_by_id_not_order() {
    let (l, addr) = listener().await;
    let client = OlaClient::connect_with(&addr, config()).await.unwrap();
    let mut server = accept(&l).await;
    let a = tokio::spawn({
        let c = client.clone();
        async move { c.get_dmx(1).await }
    });
    let first = server.next().await.unwrap().unwrap();
    let b = tokio::spawn({
        let c = client.clone();
        async move { c.get_dmx(2).await }
    });
    let second = server.next().await.unwrap().unwrap();
    assert_eq!(first.name.as_deref(), Some("GetDmx"));
    assert_ne!(first.id, second.id);
    let universe_of = |m: &RpcMessage| {
        UniverseRequest::decode(m.buffer.clone().unwrap())
            .unwrap()
            .universe
    };
    assert_eq!(universe_of(&first), 1);
    // Answer the second first.
    server
        .send(response(second.id.unwrap(), dmx_reply(2, &[2, 2])))
        .await
        .unwrap();
    server
        .send(response(first.id.unwrap(), dmx_reply(1, &[1])))
        .await
        .unwrap();
    assert_eq!(a.await.unwrap().unwrap().to_vec(), vec![1]);
    assert_eq!(b.await.unwrap().unwrap().to_vec(), vec![2, 2]);
}

#[tokio::test]
async fn ids_wrap_and_are_sequential() {
    let (l, addr) = listener().await;
    let client = OlaClient::connect_with(
        &addr,
        ClientConfig {
            first_id: u32::MAX - 1,
            ..config()
        },
    )
    .await
    .unwrap();
    let mut server = accept(&l).await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        let c = client.clone();
        let call = tokio::spawn(async move { c.update_dmx(1, &[1], None).await });
        let req = server.next().await.unwrap().unwrap();
        ids.push(req.id.unwrap());
        server
            .send(response(req.id.unwrap(), Bytes::new()))
            .await
            .unwrap();
        call.await.unwrap().unwrap();
    }
    assert_eq!(ids, vec![u32::MAX - 1, u32::MAX, 0]);
}

#[tokio::test]
async fn failures_and_not_implemented_become_errors() {
    let (l, addr) = listener().await;
    let client = OlaClient::connect_with(&addr, config()).await.unwrap();
    let mut server = accept(&l).await;
    let c = client.clone();
    let call = tokio::spawn(async move { c.update_dmx(9, &[1], None).await });
    let req = server.next().await.unwrap().unwrap();
    server
        .send(RpcMessage {
            r#type: Type::ResponseFailed as i32,
            id: req.id,
            name: None,
            buffer: Some(Bytes::from_static(b"Universe doesn't exist")),
        })
        .await
        .unwrap();
    let err = call.await.unwrap().unwrap_err();
    assert_eq!(
        err.to_string(),
        "olad refused UpdateDmxData: Universe doesn't exist"
    );
    let c = client.clone();
    let call = tokio::spawn(async move { c.plugins().await });
    let req = server.next().await.unwrap().unwrap();
    server
        .send(RpcMessage {
            r#type: Type::ResponseNotImplemented as i32,
            id: req.id,
            name: None,
            buffer: None,
        })
        .await
        .unwrap();
    assert!(matches!(
        call.await.unwrap(),
        Err(OlaError::NotImplemented {
            method: "GetPlugins"
        })
    ));
}

#[tokio::test]
async fn pushes_are_acked_and_delivered_without_stalling_replies() {
    let (l, addr) = listener().await;
    let client = OlaClient::connect_with(&addr, config()).await.unwrap();
    let mut server = accept(&l).await;
    let c = client.clone();
    let reg = tokio::spawn(async move { c.register(3).await });
    let req = server.next().await.unwrap().unwrap();
    assert_eq!(req.name.as_deref(), Some("RegisterForDmx"));
    server
        .send(response(req.id.unwrap(), Bytes::new()))
        .await
        .unwrap();
    let mut sub = reg.await.unwrap().unwrap();

    // A GetDmx whose reply comes after a burst of pushes (as olad does when
    // a sink also sends, ola-rpc.md §4).
    let c = client.clone();
    let get = tokio::spawn(async move { c.get_dmx(3).await });
    let get_req = server.next().await.unwrap().unwrap();
    for push_id in 0..50u32 {
        server
            .send(RpcMessage {
                r#type: Type::Request as i32,
                id: Some(push_id),
                name: Some("UpdateDmxData".into()),
                buffer: Some(
                    DmxData {
                        universe: 3,
                        data: Bytes::from(vec![push_id as u8; 4]),
                        priority: Some(100),
                    }
                    .encode_to_vec()
                    .into(),
                ),
            })
            .await
            .unwrap();
    }
    server
        .send(response(get_req.id.unwrap(), dmx_reply(3, &[49; 4])))
        .await
        .unwrap();
    assert_eq!(get.await.unwrap().unwrap().to_vec(), vec![49; 4]);
    // Every push is acked with an empty Ack and its own id, in order.
    for push_id in 0..50u32 {
        let ack = server.next().await.unwrap().unwrap();
        assert_eq!(ack, response(push_id, Bytes::new()));
    }
    // Latest value wins.
    let latest = sub.next().await.unwrap();
    assert_eq!(latest.data.to_vec(), vec![49; 4]);
    assert_eq!(latest.seq, 50);
    assert_eq!(latest.priority, Some(100));
}

#[tokio::test]
async fn dropping_the_last_subscription_sends_unregister() {
    let (l, addr) = listener().await;
    let client = OlaClient::connect_with(&addr, config()).await.unwrap();
    let mut server = accept(&l).await;
    let action = |m: &RpcMessage| {
        let req =
            rvshell::ola::pb::proto::RegisterDmxRequest::decode(m.buffer.clone().unwrap()).unwrap();
        (m.name.clone().unwrap(), req.universe, req.action)
    };
    let mut subs = Vec::new();
    for _ in 0..2 {
        let c = client.clone();
        let reg = tokio::spawn(async move { c.register(3).await });
        let req = server.next().await.unwrap().unwrap();
        assert_eq!(action(&req), ("RegisterForDmx".into(), 3, 1));
        server
            .send(response(req.id.unwrap(), Bytes::new()))
            .await
            .unwrap();
        subs.push(reg.await.unwrap().unwrap());
    }
    // One of two subscriptions gone: nothing is sent.
    subs.pop();
    let c = client.clone();
    let get = tokio::spawn(async move { c.get_dmx(3).await });
    let req = server.next().await.unwrap().unwrap();
    assert_eq!(req.name.as_deref(), Some("GetDmx"));
    server
        .send(response(req.id.unwrap(), dmx_reply(3, &[1])))
        .await
        .unwrap();
    get.await.unwrap().unwrap();
    // The last one gone: UNREGISTER.
    subs.pop();
    let req = server.next().await.unwrap().unwrap();
    assert_eq!(action(&req), ("RegisterForDmx".into(), 3, 2));
    // A register whose caller gives up before the Ack unregisters too.
    let c = client.clone();
    let reg = tokio::spawn(async move { c.register(4).await });
    let req = server.next().await.unwrap().unwrap();
    assert_eq!(action(&req), ("RegisterForDmx".into(), 4, 1));
    reg.abort();
    let req = server.next().await.unwrap().unwrap();
    assert_eq!(action(&req), ("RegisterForDmx".into(), 4, 2));
}

#[tokio::test]
async fn stream_dmx_data_is_never_sent_as_a_request() {
    let (l, addr) = listener().await;
    let client = OlaClient::connect_with(&addr, config()).await.unwrap();
    let mut server = accept(&l).await;
    let dmx = DmxData {
        universe: 1,
        data: Bytes::from_static(&[1]),
        priority: None,
    };
    let err = client
        .call::<rvshell::ola::pb::proto::Ack>("StreamDmxData", &dmx)
        .await
        .unwrap_err();
    assert!(matches!(err, OlaError::StreamingMethod), "{err:?}");
    // Nothing reached the peer; the next message is the stream frame.
    client.stream_dmx(1, &[1], None).await.unwrap();
    let msg = server.next().await.unwrap().unwrap();
    assert_eq!(msg.r#type, Type::StreamRequest as i32);
}

#[tokio::test]
async fn push_ack_bytes_match_the_spec() {
    let (l, addr) = listener().await;
    let _client = OlaClient::connect_with(&addr, config()).await.unwrap();
    let (mut sock, _) = l.accept().await.unwrap();
    // A push for a universe nobody registered is still acked.
    let mut push = BytesMut::new();
    rvshell::ola::codec::encode_request(
        Type::Request,
        7,
        "UpdateDmxData",
        &DmxData {
            universe: 1,
            data: Bytes::from_static(&[1, 2, 3]),
            priority: None,
        },
        &mut push,
    )
    .unwrap();
    sock.write_all(&push).await.unwrap();
    let mut ack = [0u8; 10];
    sock.read_exact(&mut ack).await.unwrap();
    // The spec's bytes (ola-rpc.md §3) are those of a little-endian host;
    // the header is in host order (§2).
    let expected = [0x06, 0x00, 0x00, 0x10, 0x08, 0x02, 0x10, 0x07, 0x22, 0x00];
    if cfg!(target_endian = "little") {
        assert_eq!(ack, expected);
    }
    assert_eq!(ack[4..], expected[4..]);
}

#[tokio::test]
async fn unknown_server_methods_get_not_implemented() {
    let (l, addr) = listener().await;
    let _client = OlaClient::connect_with(&addr, config()).await.unwrap();
    let mut server = accept(&l).await;
    server
        .send(RpcMessage {
            r#type: Type::Request as i32,
            id: Some(11),
            name: Some("SomethingNew".into()),
            buffer: Some(Bytes::new()),
        })
        .await
        .unwrap();
    let reply = server.next().await.unwrap().unwrap();
    assert_eq!(
        reply,
        RpcMessage {
            r#type: Type::ResponseNotImplemented as i32,
            id: Some(11),
            name: None,
            buffer: None,
        }
    );
}

#[tokio::test(start_paused = true)]
async fn silent_peer_times_out() {
    let (l, addr) = listener().await;
    let client = OlaClient::connect_with(
        &addr,
        ClientConfig {
            request_timeout: Duration::from_secs(3),
            ..config()
        },
    )
    .await
    .unwrap();
    let mut server = accept(&l).await;
    let started = tokio::time::Instant::now();
    let c = client.clone();
    let call = tokio::spawn(async move { c.get_dmx(1).await });
    let req = server.next().await.unwrap().unwrap();
    let err = call.await.unwrap().unwrap_err();
    assert!(
        matches!(
            err,
            OlaError::Timeout {
                method: "GetDmx",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(started.elapsed() >= Duration::from_secs(3));
    // A late reply to the timed-out request is ignored; the next request works.
    server
        .send(response(req.id.unwrap(), dmx_reply(1, &[0])))
        .await
        .unwrap();
    let c = client.clone();
    let call = tokio::spawn(async move { c.get_dmx(1).await });
    let req2 = server.next().await.unwrap().unwrap();
    assert_ne!(req2.id, req.id);
    server
        .send(response(req2.id.unwrap(), dmx_reply(1, &[8])))
        .await
        .unwrap();
    assert_eq!(call.await.unwrap().unwrap().to_vec(), vec![8]);
}

#[tokio::test]
async fn a_bad_version_from_the_peer_closes_the_connection() {
    let (l, addr) = listener().await;
    let client = OlaClient::connect_with(&addr, config()).await.unwrap();
    let mut events = client.events();
    let (mut sock, _) = l.accept().await.unwrap();
    let c = client.clone();
    let call = tokio::spawn(async move { c.get_dmx(1).await });
    let mut buf = [0u8; 64];
    let _ = sock.read(&mut buf).await.unwrap();
    sock.write_all(&[0x06, 0x00, 0x00, 0x20, 1, 2, 3, 4, 5, 6])
        .await
        .unwrap();
    let err = call.await.unwrap().unwrap_err();
    assert!(
        matches!(&err, OlaError::Disconnected { reason, .. } if reason.contains("protocol version 2")),
        "{err:?}"
    );
    let ev = events.recv().await.unwrap();
    assert!(
        matches!(&ev, ClientEvent::Disconnected { reason } if reason.contains("protocol error")),
        "{ev:?}"
    );
    // Reconnecting is off, so the client is closed now.
    assert_eq!(events.recv().await.unwrap(), ClientEvent::Closed);
    assert!(matches!(client.get_dmx(1).await, Err(OlaError::Closed)));
    // And the socket was closed on our side.
    let n = sock.read(&mut buf).await.unwrap_or(0);
    assert_eq!(n, 0);
}

#[tokio::test]
async fn an_oversized_frame_from_the_peer_closes_the_connection() {
    let (l, addr) = listener().await;
    let client = OlaClient::connect_with(&addr, config()).await.unwrap();
    let mut events = client.events();
    let (mut sock, _) = l.accept().await.unwrap();
    let header = ((1u32 << 28) | (2 << 20)).to_ne_bytes();
    sock.write_all(&header).await.unwrap();
    let ev = events.recv().await.unwrap();
    assert!(
        matches!(&ev, ClientEvent::Disconnected { reason } if reason.contains("exceeds the 1 MiB limit")),
        "{ev:?}"
    );
}

#[tokio::test]
async fn close_sends_a_barrier_after_the_streamed_frames_and_waits_for_it() {
    let (l, addr) = listener().await;
    let client = OlaClient::connect_with(&addr, config()).await.unwrap();
    let mut server = accept(&l).await;
    for i in 0..100u8 {
        client.stream_dmx(1, &[i], None).await.unwrap();
    }
    let c = client.clone();
    let close = tokio::spawn(async move { c.close().await });
    for i in 0..100u8 {
        let msg = server.next().await.unwrap().unwrap();
        assert_eq!(msg.r#type, Type::StreamRequest as i32);
        assert_eq!(msg.name.as_deref(), Some("StreamDmxData"));
        let dmx = DmxData::decode(msg.buffer.unwrap()).unwrap();
        assert_eq!(dmx.data.to_vec(), vec![i]);
    }
    let barrier = server.next().await.unwrap().unwrap();
    assert_eq!(barrier.r#type, Type::Request as i32);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(
        !close.is_finished(),
        "close returned before the barrier's reply"
    );
    server
        .send(response(
            barrier.id.unwrap(),
            PluginListReply { plugin: vec![] }.encode_to_vec().into(),
        ))
        .await
        .unwrap();
    close.await.unwrap().unwrap();
    // Then the socket is closed.
    assert!(server.next().await.is_none());
    assert!(matches!(
        client.stream_dmx(1, &[0], None).await,
        Err(OlaError::Closed)
    ));
}

#[tokio::test(start_paused = true)]
async fn reconnect_backoff_doubles_up_to_the_cap() {
    let (l, addr) = listener().await;
    let client = OlaClient::connect_with(
        &addr,
        ClientConfig {
            reconnect: true,
            backoff_initial: Duration::from_millis(10),
            backoff_max: Duration::from_millis(100),
            ..config()
        },
    )
    .await
    .unwrap();
    let mut events = client.events();
    let server = accept(&l).await;
    // olad goes away entirely: connection and listener.
    drop(server);
    drop(l);
    assert!(matches!(
        events.recv().await.unwrap(),
        ClientEvent::Disconnected { .. }
    ));
    let mut delays = Vec::new();
    for _ in 0..7 {
        match events.recv().await.unwrap() {
            ClientEvent::Reconnecting { attempt, delay } => {
                assert_eq!(attempt as usize, delays.len() + 1);
                delays.push(delay.as_millis());
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(delays, vec![10, 20, 40, 80, 100, 100, 100]);
    // Meanwhile calls fail at once, saying why.
    let err = client.get_dmx(1).await.unwrap_err();
    assert!(matches!(err, OlaError::NotConnected { .. }), "{err:?}");
    assert!(err.to_string().contains("reconnecting"), "{err}");
    // olad is back: the client reconnects on its own.
    let l = TcpListener::bind(&addr).await.unwrap();
    let mut server = accept(&l).await;
    assert!(matches!(
        settled(&mut events).await,
        ClientEvent::Reconnected { .. }
    ));
    let c = client.clone();
    let call = tokio::spawn(async move { c.get_dmx(1).await });
    let req = server.next().await.unwrap().unwrap();
    server
        .send(response(req.id.unwrap(), dmx_reply(1, &[3])))
        .await
        .unwrap();
    assert_eq!(call.await.unwrap().unwrap().to_vec(), vec![3]);
}

#[tokio::test]
async fn the_client_reconnects_and_restores_its_state() {
    let (l, addr) = listener().await;
    let client = OlaClient::connect_with(
        &addr,
        ClientConfig {
            reconnect: true,
            backoff_initial: Duration::from_millis(10),
            ..config()
        },
    )
    .await
    .unwrap();
    let mut events = client.events();
    let mut server = accept(&l).await;
    let c = client.clone();
    let reg = tokio::spawn(async move { c.register(5).await });
    let req = server.next().await.unwrap().unwrap();
    server
        .send(response(req.id.unwrap(), Bytes::new()))
        .await
        .unwrap();
    let _sub = reg.await.unwrap().unwrap();
    client.stream_dmx(2, &[7, 7], Some(150)).await.unwrap();
    let streamed = server.next().await.unwrap().unwrap();
    assert_eq!(streamed.r#type, Type::StreamRequest as i32);
    drop(server);
    assert!(matches!(
        events.recv().await.unwrap(),
        ClientEvent::Disconnected { .. }
    ));
    let mut server = accept(&l).await;
    let action = |m: &RpcMessage| {
        rvshell::ola::pb::proto::RegisterDmxRequest::decode(m.buffer.clone().unwrap()).unwrap()
    };
    let reregister = server.next().await.unwrap().unwrap();
    assert_eq!(reregister.name.as_deref(), Some("RegisterForDmx"));
    assert_eq!(
        (action(&reregister).universe, action(&reregister).action),
        (5, 1)
    );
    // Universe 2 is only sourced: registered around the re-send so that a
    // fresh olad has it, then unregistered.
    let scaffold = server.next().await.unwrap().unwrap();
    assert_eq!(
        (action(&scaffold).universe, action(&scaffold).action),
        (2, 1)
    );
    let resend = server.next().await.unwrap().unwrap();
    assert_eq!(resend.name.as_deref(), Some("UpdateDmxData"));
    let dmx = DmxData::decode(resend.buffer.clone().unwrap()).unwrap();
    assert_eq!(
        (dmx.universe, dmx.data.to_vec(), dmx.priority),
        (2, vec![7, 7], Some(150))
    );
    let unscaffold = server.next().await.unwrap().unwrap();
    assert_eq!(
        (action(&unscaffold).universe, action(&unscaffold).action),
        (2, 2)
    );
    for ok in [&reregister, &scaffold, &unscaffold] {
        server
            .send(response(ok.id.unwrap(), Bytes::new()))
            .await
            .unwrap();
    }
    server
        .send(RpcMessage {
            r#type: Type::ResponseFailed as i32,
            id: resend.id,
            name: None,
            buffer: Some(Bytes::from_static(b"Universe doesn't exist")),
        })
        .await
        .unwrap();
    assert_eq!(
        settled(&mut events).await,
        ClientEvent::Reconnected {
            resubscribed: vec![5],
            resent: vec![],
            failed: vec![
                "could not re-send the last frame to universe 2: Universe doesn't exist".into()
            ],
        }
    );
}

fn arb_message() -> impl proptest::strategy::Strategy<Value = RpcMessage> {
    use proptest::prelude::*;
    (
        -2i32..=12,
        proptest::option::of(any::<u32>()),
        proptest::option::of(prop_oneof![
            Just("UpdateDmxData".to_owned()),
            "[A-Za-z]{0,12}"
        ]),
        proptest::option::of(proptest::collection::vec(any::<u8>(), 0..64)),
    )
        .prop_map(|(kind, id, name, buffer)| RpcMessage {
            r#type: kind,
            // Keep clear of the id the final check uses (1); no id reads as 0.
            id: id.map(|i| i | 0x8000_0000),
            name,
            buffer: buffer.map(Bytes::from),
        })
}

proptest::proptest! {
    #![proptest_config(proptest::test_runner::Config::with_cases(48))]

    /// Any well-framed messages from the peer (unknown types, stray replies,
    /// pushes with garbage bodies, unknown methods) leave the client working.
    #[test]
    fn well_framed_junk_never_breaks_the_client(
        junk in proptest::collection::vec(arb_message(), 0..20),
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async move {
            let (l, addr) = listener().await;
            let client = OlaClient::connect_with(&addr, ClientConfig { first_id: 1, ..config() })
                .await
                .unwrap();
            let c = client.clone();
            let mut server = accept(&l).await;
            for msg in junk {
                server.send(msg).await.unwrap();
            }
            let call = tokio::spawn(async move { c.get_dmx(1).await.map(|d| d.to_vec()) });
            // Skip the client's answers to junk requests; find the GetDmx.
            let req = loop {
                let msg = server.next().await.unwrap().unwrap();
                if msg.name.as_deref() == Some("GetDmx") {
                    break msg;
                }
                proptest::prop_assert!(msg.r#type == Type::Response as i32
                    || msg.r#type == Type::ResponseNotImplemented as i32, "{msg:?}");
            };
            server.send(response(req.id.unwrap(), dmx_reply(1, &[1, 2]))).await.unwrap();
            proptest::prop_assert_eq!(call.await.unwrap().unwrap(), vec![1, 2]);
            proptest::prop_assert!(client.is_connected());
            Ok(())
        })?;
    }
}

#[tokio::test]
async fn close_needs_no_barrier_when_everything_was_answered() {
    let (l, addr) = listener().await;
    let client = OlaClient::connect_with(&addr, config()).await.unwrap();
    let mut server = accept(&l).await;
    let c = client.clone();
    let read = tokio::spawn(async move { c.get_dmx(1).await });
    let request = server.next().await.unwrap().unwrap();
    server
        .send(response(request.id.unwrap(), dmx_reply(1, &[9])))
        .await
        .unwrap();
    assert_eq!(read.await.unwrap().unwrap().to_vec(), vec![9]);
    // Answered, so applied: close goes straight to closing the socket.
    client.close().await.unwrap();
    assert!(server.next().await.is_none(), "a barrier was sent");
}

#[tokio::test]
async fn close_waits_for_an_unanswered_request_with_a_barrier() {
    let (l, addr) = listener().await;
    let client = OlaClient::connect_with(&addr, config()).await.unwrap();
    let mut server = accept(&l).await;
    let c = client.clone();
    let update = tokio::spawn(async move { c.update_dmx(1, &[7], None).await });
    let request = server.next().await.unwrap().unwrap();
    assert_eq!(request.name.as_deref(), Some("UpdateDmxData"));
    let c = client.clone();
    let close = tokio::spawn(async move { c.close().await });
    let barrier = server.next().await.unwrap().unwrap();
    assert_eq!(barrier.name.as_deref(), Some("GetPlugins"));
    // olad answers in order: the update, then the barrier.
    server
        .send(response(request.id.unwrap(), Bytes::new()))
        .await
        .unwrap();
    server
        .send(response(
            barrier.id.unwrap(),
            PluginListReply { plugin: vec![] }.encode_to_vec().into(),
        ))
        .await
        .unwrap();
    update.await.unwrap().unwrap();
    close.await.unwrap().unwrap();
    assert!(server.next().await.is_none());
}
