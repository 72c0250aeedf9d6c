//! The connection engine against a scripted fake RV on loopback.

use futures_util::SinkExt;
use rvshell::rv::client::{
    ClientEvent, Config, ConnState, ConnectError, Heartbeat, Reconnect, RequestError, RvClient,
};
use rvshell::rv::codec::RvCodec;
use rvshell::rv::frame::Frame;
use rvshell::rv::message::Event;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::codec::Framed;

mod common;

use common::fake_rv::{Peer, accept, listener, next, say as reply};

async fn expect_return_event(peer: &mut Peer, contents: &str) {
    let expected = format!("RETURNEVENT remote-eval * {contents}");
    assert_eq!(next(peer).await, Frame::Message(expected));
}

#[tokio::test]
async fn handshake_bytes_are_exactly_rvshells() {
    let (listener, mut config) = listener().await;
    config.contact = "rv-shell-1".into();
    config.app = "rv-shell".into();
    let server = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut greeting = [0u8; 34];
        stream.read_exact(&mut greeting).await.unwrap();
        assert_eq!(&greeting, b"NEWGREETING 19 rv-shell-1 rv-shell");
        stream.write_all(b"GREETING 4 jdoe").await.unwrap();
        let mut off = [0u8; 19];
        stream.read_exact(&mut off).await.unwrap();
        assert_eq!(&off, b"PINGPONGCONTROL 1 0");
        let mut rest = Vec::new();
        stream.read_to_end(&mut rest).await.unwrap();
        rest
    });
    let (client, _events) = RvClient::connect(config).await.unwrap();
    assert_eq!(client.peer().as_deref(), Some("jdoe"));
    assert_eq!(client.contact(), "rv-shell-1");
    client.close().await;
    assert_eq!(server.await.unwrap(), b"MESSAGE 10 DISCONNECT");
}

#[tokio::test]
async fn default_contact_is_unique_and_newgreeting_reply_is_accepted() {
    let (listener, config) = listener().await;
    let other = Config::new("127.0.0.1", 1);
    assert!(config.contact.starts_with("rvshell-"));
    assert_ne!(config.contact, other.contact);
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let mut peer = Framed::new(stream, RvCodec::default());
        next(&mut peer).await;
        peer.send(Frame::NewGreeting {
            contact: "modern".into(),
            app: "rv".into(),
        })
        .await
        .unwrap();
        assert_eq!(next(&mut peer).await, Frame::PingPongControl(false));
        peer
    });
    let (client, mut events) = RvClient::connect(config).await.unwrap();
    assert_eq!(client.peer().as_deref(), Some("modern"));
    assert_eq!(
        events.recv().await,
        Some(ClientEvent::Connected {
            peer: "modern".into(),
            app: "rv".into()
        })
    );
    drop(server.await.unwrap());
}

#[tokio::test]
async fn returns_match_fifo_with_events_and_pings_in_between() {
    let (listener, config) = listener().await;
    let server = tokio::spawn(async move {
        let mut peer = accept(&listener).await;
        expect_return_event(&mut peer, "1").await;
        expect_return_event(&mut peer, "2").await;
        expect_return_event(&mut peer, "3").await;
        peer.send(Frame::Ping).await.unwrap();
        reply(&mut peer, "RETURN one").await;
        reply(&mut peer, "EVENT frame-changed * 12").await;
        reply(&mut peer, "RETURN two\nlines  kept ").await;
        peer.send(Frame::Data {
            header: "DATAEVENT(ev,*,text/plain)".into(),
            payload: "hi".into(),
        })
        .await
        .unwrap();
        reply(&mut peer, "RETURN ").await;
        assert_eq!(next(&mut peer).await, Frame::Pong);
        peer
    });
    let (client, mut events) = RvClient::connect(config).await.unwrap();
    // join! polls in order, and a request is queued on its first poll.
    let (one, two, three) = tokio::join!(client.eval("1"), client.eval("2"), client.eval("3"));
    assert_eq!(one.unwrap(), "one");
    assert_eq!(two.unwrap(), "two\nlines  kept ");
    assert_eq!(three.unwrap(), "");
    let _peer = server.await.unwrap();
    let mut seen = Vec::new();
    while let Ok(event) = events.try_recv() {
        seen.push(event);
    }
    assert!(matches!(seen[0], ClientEvent::Connected { .. }));
    assert_eq!(
        seen[1..],
        [
            ClientEvent::Ping,
            ClientEvent::Event(Event {
                name: "frame-changed".into(),
                target: "*".into(),
                contents: "12".into()
            }),
            ClientEvent::Data {
                header: "DATAEVENT(ev,*,text/plain)".into(),
                payload: "hi".into()
            },
        ]
    );
}

#[tokio::test]
async fn a_timed_out_request_fails_alone_and_its_late_return_is_reported() {
    let (listener, mut config) = listener().await;
    config.request_timeout = Duration::from_millis(200);
    let server = tokio::spawn(async move {
        let mut peer = accept(&listener).await;
        expect_return_event(&mut peer, "slow()").await;
        expect_return_event(&mut peer, "fast()").await;
        peer
    });
    let (client, mut events) = RvClient::connect(config).await.unwrap();
    let err = client.eval("slow()").await.unwrap_err();
    assert!(matches!(err, RequestError::Timeout { .. }), "{err}");
    assert!(
        err.to_string().contains("did not answer within 0.2 s"),
        "{err}"
    );
    let c = client.clone();
    let fast = tokio::spawn(async move { c.eval("fast()").await });
    let mut peer = server.await.unwrap();
    reply(&mut peer, "RETURN slow-value").await;
    reply(&mut peer, "RETURN fast-value").await;
    reply(&mut peer, "RETURN nobody-asked").await;
    assert_eq!(fast.await.unwrap().unwrap(), "fast-value");
    assert!(matches!(
        events.recv().await,
        Some(ClientEvent::Connected { .. })
    ));
    assert_eq!(
        events.recv().await,
        Some(ClientEvent::LateReturn {
            request: "slow()".into(),
            value: "slow-value".into()
        })
    );
    assert_eq!(
        events.recv().await,
        Some(ClientEvent::UnexpectedReturn("nobody-asked".into()))
    );
}

#[tokio::test]
async fn incoming_returnevent_is_answered_with_an_empty_return() {
    let (listener, config) = listener().await;
    let server = tokio::spawn(async move {
        let mut peer = accept(&listener).await;
        reply(&mut peer, "RETURNEVENT ask-client * what?").await;
        let answer = tokio::time::timeout(Duration::from_secs(5), async {
            let mut buf = [0u8; 17];
            peer.get_mut().read_exact(&mut buf).await.unwrap();
            buf
        })
        .await
        .unwrap();
        assert_eq!(&answer, b"MESSAGE 7 RETURN ");
    });
    let (_client, mut events) = RvClient::connect(config).await.unwrap();
    server.await.unwrap();
    events.recv().await;
    assert_eq!(
        events.recv().await,
        Some(ClientEvent::ReturnEvent(Event {
            name: "ask-client".into(),
            target: "*".into(),
            contents: "what?".into()
        }))
    );
}

#[tokio::test]
async fn peer_disconnect_fails_pending_requests_and_is_reported() {
    let (listener, config) = listener().await;
    let server = tokio::spawn(async move {
        let mut peer = accept(&listener).await;
        expect_return_event(&mut peer, "never()").await;
        reply(&mut peer, "DISCONNECT").await;
        peer
    });
    let (client, mut events) = RvClient::connect(config).await.unwrap();
    let err = client.eval("never()").await.unwrap_err();
    assert!(matches!(err, RequestError::Lost { .. }), "{err}");
    assert!(err.to_string().contains("DISCONNECT"), "{err}");
    events.recv().await;
    assert_eq!(events.recv().await, Some(ClientEvent::PeerSignedOff));
    assert!(matches!(
        events.recv().await,
        Some(ClientEvent::Disconnected { retry_in: None, .. })
    ));
    let mut state = client.watch_state();
    state
        .wait_for(|s| matches!(s, ConnState::Closed { .. }))
        .await
        .unwrap();
    assert_eq!(client.eval("x").await.unwrap_err(), RequestError::Closed);
    drop(server.await.unwrap());
}

#[tokio::test]
async fn peer_vanishing_mid_frame_is_a_lost_connection_with_a_reason() {
    let (listener, config) = listener().await;
    let server = tokio::spawn(async move {
        let mut peer = accept(&listener).await;
        expect_return_event(&mut peer, "x").await;
        peer.get_mut()
            .write_all(b"MESSAGE 20 RETURN par")
            .await
            .unwrap();
        drop(peer);
    });
    let (client, _events) = RvClient::connect(config).await.unwrap();
    let err = client.eval("x").await.unwrap_err();
    server.await.unwrap();
    let text = err.to_string();
    assert!(text.contains("in the middle of a frame"), "{text}");
}

#[tokio::test]
async fn garbage_from_the_peer_ends_the_session_with_a_protocol_error() {
    let (listener, config) = listener().await;
    let server = tokio::spawn(async move {
        let mut peer = accept(&listener).await;
        expect_return_event(&mut peer, "x").await;
        peer.get_mut().write_all(b"HTTP/1.1 400 Bad").await.unwrap();
        peer
    });
    let (client, _events) = RvClient::connect(config).await.unwrap();
    let err = client.eval("x").await.unwrap_err().to_string();
    assert!(err.contains(r#"unknown frame type "HTTP/1.1""#), "{err}");
    drop(server.await.unwrap());
}

#[tokio::test]
async fn silent_peer_gives_a_handshake_timeout_that_mentions_the_dialog() {
    let (listener, mut config) = listener().await;
    config.handshake_timeout = Duration::from_millis(200);
    let server = tokio::spawn(async move { listener.accept().await.unwrap() });
    let err = RvClient::connect(config).await.unwrap_err();
    assert!(matches!(err, ConnectError::HandshakeTimeout { .. }));
    assert!(
        err.to_string().contains("'wants to connect' dialog"),
        "{err}"
    );
    drop(server.await.unwrap());
}

#[tokio::test]
async fn a_peer_that_drops_us_after_the_greeting_is_a_rejection() {
    let (listener, config) = listener().await;
    let contact = config.contact.clone();
    let server = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 8];
        stream.read_exact(&mut buf).await.unwrap();
    });
    let err = RvClient::connect(config).await.unwrap_err();
    server.await.unwrap();
    assert!(matches!(err, ConnectError::Rejected { .. }), "{err}");
    assert!(err.to_string().contains(&contact), "{err}");
    assert!(err.to_string().contains("already connected"), "{err}");
}

#[tokio::test]
async fn refused_connection_is_a_clear_error() {
    let (listener, config) = listener().await;
    drop(listener);
    let err = RvClient::connect(config).await.unwrap_err();
    assert!(matches!(err, ConnectError::Connect { .. }), "{err}");
    assert!(err.to_string().contains("rvshell sim"), "{err}");
}

#[tokio::test]
async fn reconnects_with_backoff_and_refuses_sends_while_down() {
    let (listener, mut config) = listener().await;
    config.reconnect = Some(Reconnect {
        initial: Duration::from_millis(300),
        max: Duration::from_millis(600),
    });
    let (client, mut events) = RvClient::spawn(config).unwrap();
    let peer = accept(&listener).await;
    assert!(matches!(
        events.recv().await,
        Some(ClientEvent::Connected { .. })
    ));
    drop(peer);
    match events.recv().await {
        Some(ClientEvent::Disconnected { retry_in, reason }) => {
            assert_eq!(retry_in, Some(Duration::from_millis(300)));
            assert!(reason.contains("closed the connection"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    let err = client.eval("while down").await.unwrap_err();
    assert!(matches!(err, RequestError::NotConnected { .. }), "{err}");
    assert!(err.to_string().contains("nothing was sent"), "{err}");
    let mut peer = accept(&listener).await;
    assert!(matches!(
        events.recv().await,
        Some(ClientEvent::Connected { .. })
    ));
    let c = client.clone();
    let answer = tokio::spawn(async move { c.eval("again").await });
    expect_return_event(&mut peer, "again").await;
    reply(&mut peer, "RETURN back").await;
    assert_eq!(answer.await.unwrap().unwrap(), "back");
    client.close().await;
    assert_eq!(next(&mut peer).await, Frame::Message("DISCONNECT".into()));
}

#[tokio::test]
async fn heartbeat_pings_after_silence_and_gives_up_on_a_dead_peer() {
    let (listener, mut config) = listener().await;
    config.heartbeat = Some(Heartbeat {
        interval: Duration::from_millis(100),
        timeout: Duration::from_millis(400),
    });
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let mut peer = Framed::new(stream, RvCodec::default());
        next(&mut peer).await;
        peer.send(Frame::Greeting("quiet".into())).await.unwrap();
        // No PINGPONGCONTROL with heartbeat on: the first frame is our PING.
        assert_eq!(next(&mut peer).await, Frame::Ping);
        peer.send(Frame::Pong).await.unwrap();
        assert_eq!(next(&mut peer).await, Frame::Ping);
        // Now play dead: never answer again.
        peer
    });
    let (client, mut events) = RvClient::connect(config).await.unwrap();
    let _peer = server.await.unwrap();
    events.recv().await;
    match events.recv().await {
        Some(ClientEvent::Disconnected { reason, .. }) => {
            assert!(reason.contains("heartbeat"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    drop(client);
}

#[tokio::test]
async fn user_ping_measures_a_round_trip() {
    let (listener, config) = listener().await;
    let server = tokio::spawn(async move {
        let mut peer = accept(&listener).await;
        assert_eq!(next(&mut peer).await, Frame::Ping);
        peer.send(Frame::Pong).await.unwrap();
        peer
    });
    let (client, _events) = RvClient::connect(config).await.unwrap();
    let rtt = client.ping().await.unwrap();
    assert!(rtt < Duration::from_secs(5));
    drop(server.await.unwrap());
}

#[tokio::test]
async fn bad_requests_are_refused_before_sending() {
    let (listener, config) = listener().await;
    let server = tokio::spawn(async move {
        let mut peer = accept(&listener).await;
        // The only thing that arrives is the valid request after the bad ones.
        expect_return_event(&mut peer, "ok()").await;
        reply(&mut peer, "RETURN fine").await;
        peer
    });
    let (client, _events) = RvClient::connect(config).await.unwrap();
    let bad = Event {
        name: "remote eval".into(),
        target: "*".into(),
        contents: "x".into(),
    };
    assert!(matches!(
        client.send_return_event(bad).await,
        Err(RequestError::Encode(_))
    ));
    let empty = Frame::Message(String::new());
    assert!(matches!(
        client.send_frame(empty).await,
        Err(RequestError::Encode(_))
    ));
    assert_eq!(client.eval("ok()").await.unwrap(), "fine");
    drop(server.await.unwrap());
}

#[tokio::test]
async fn data_frames_go_out_intact_behind_queued_messages() {
    let (listener, config) = listener().await;
    let payload: Vec<u8> = (0..300_000u32).map(|i| (i * 7) as u8).collect();
    let expected = payload.clone();
    let server = tokio::spawn(async move {
        let mut peer = accept(&listener).await;
        assert_eq!(
            next(&mut peer).await,
            Frame::Message("EVENT a * first".into())
        );
        match next(&mut peer).await {
            Frame::Data { header, payload } => {
                assert_eq!(header, "PIXELTILE(media=m,view=left,w=1,h=1,x=0,y=0,f=1)");
                assert_eq!(payload.as_ref(), &expected[..]);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            next(&mut peer).await,
            Frame::Message("EVENT a * after".into())
        );
    });
    let (client, _events) = RvClient::connect(config).await.unwrap();
    let (a, b, c) = tokio::join!(
        client.send_event(Event::new("a", "first")),
        client.send_frame(Frame::Data {
            header: "PIXELTILE(media=m,view=left,w=1,h=1,x=0,y=0,f=1)".into(),
            payload: payload.into(),
        }),
        client.send_event(Event::new("a", "after")),
    );
    a.unwrap();
    b.unwrap();
    c.unwrap();
    server.await.unwrap();
}

#[tokio::test]
async fn frames_rv_sends_in_the_same_write_as_its_greeting_are_not_lost() {
    let (listener, config) = listener().await;
    let server = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut greeting = vec![0u8; 1024];
        let _ = stream.read(&mut greeting).await.unwrap();
        // The greeting, an EVENT and a large DATAEVENT in one write.
        let mut burst = bytes::BytesMut::new();
        Frame::Greeting("jdoe".into()).encode(&mut burst).unwrap();
        Frame::Message("EVENT frame-changed * 7".into())
            .encode(&mut burst)
            .unwrap();
        Frame::Data {
            header: "DATAEVENT(blob,*,bytes)".into(),
            payload: vec![9u8; 1 << 20].into(),
        }
        .encode(&mut burst)
        .unwrap();
        stream.write_all(&burst).await.unwrap();
        let mut rest = Vec::new();
        stream.read_to_end(&mut rest).await.unwrap();
    });
    let (client, mut events) = RvClient::connect(config).await.unwrap();
    let mut seen = Vec::new();
    while seen.len() < 2 {
        match tokio::time::timeout(Duration::from_secs(5), events.recv())
            .await
            .expect("events within 5 s")
            .expect("client alive")
        {
            ClientEvent::Event(event) => seen.push(format!("{} {}", event.name, event.contents)),
            ClientEvent::Data { header, payload } => {
                assert!(payload.iter().all(|&b| b == 9));
                seen.push(format!("{header} {}", payload.len()));
            }
            _ => {}
        }
    }
    assert_eq!(seen, ["frame-changed 7", "DATAEVENT(blob,*,bytes) 1048576"]);
    client.close().await;
    server.await.unwrap();
}

#[tokio::test]
async fn requests_made_while_connecting_go_out_in_order_once_greeted() {
    let (listener, config) = listener().await;
    let (client, _events) = RvClient::spawn(config).unwrap();
    let (stream, _) = listener.accept().await.unwrap();
    let mut peer = Framed::new(stream, RvCodec::default());
    assert!(matches!(next(&mut peer).await, Frame::NewGreeting { .. }));
    // Not greeted yet: these wait, in the order they were made.
    assert!(matches!(client.state(), ConnState::Connecting { .. }));
    let written = client
        .queue_frame(Frame::Message("EVENT first * 1".into()))
        .await
        .unwrap();
    let c = client.clone();
    let answer = tokio::spawn(async move { c.eval("second()").await });
    tokio::task::yield_now().await;
    let pinged = {
        let c = client.clone();
        tokio::spawn(async move { c.ping().await })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    peer.send(Frame::Greeting("fakerv".into())).await.unwrap();
    assert_eq!(next(&mut peer).await, Frame::PingPongControl(false));
    assert_eq!(
        next(&mut peer).await,
        Frame::Message("EVENT first * 1".into())
    );
    expect_return_event(&mut peer, "second()").await;
    assert_eq!(next(&mut peer).await, Frame::Ping);
    written.await.unwrap();
    reply(&mut peer, "RETURN 2").await;
    peer.send(Frame::Pong).await.unwrap();
    assert_eq!(answer.await.unwrap().unwrap(), "2");
    pinged.await.unwrap().unwrap();
}

#[tokio::test]
async fn requests_from_many_handles_keep_their_order_and_their_answers() {
    let (listener, config) = listener().await;
    let server = tokio::spawn(async move {
        let mut peer = accept(&listener).await;
        // Answer each RETURNEVENT with its own code: a mismatched FIFO
        // would hand a caller someone else's answer.
        for _ in 0..200 {
            match next(&mut peer).await {
                Frame::Message(text) => {
                    let code = text.strip_prefix("RETURNEVENT remote-eval * ").unwrap();
                    reply(&mut peer, &format!("RETURN {code}")).await;
                }
                other => panic!("{other:?}"),
            }
        }
        peer
    });
    let (client, _events) = RvClient::connect(config).await.unwrap();
    let mut tasks = Vec::new();
    for task in 0..8 {
        let c = client.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..25 {
                let code = format!("t{task}i{i}");
                assert_eq!(c.eval(code.clone()).await.unwrap(), code);
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    drop(server.await.unwrap());
}

#[tokio::test(start_paused = true)]
async fn a_request_after_a_quiet_spell_still_times_out() {
    // The timer is left armed for old deadlines and parked once it fires
    // with nothing due: a later request must arm it again.
    let (listener, mut config) = listener().await;
    config.request_timeout = Duration::from_secs(1);
    let server = tokio::spawn(async move {
        let mut peer = accept(&listener).await;
        expect_return_event(&mut peer, "quick()").await;
        reply(&mut peer, "RETURN 1").await;
        expect_return_event(&mut peer, "never()").await;
        peer
    });
    let (client, _events) = RvClient::connect(config).await.unwrap();
    assert_eq!(client.eval("quick()").await.unwrap(), "1");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let started = tokio::time::Instant::now();
    let err = tokio::time::timeout(Duration::from_secs(10), client.eval("never()"))
        .await
        .expect("the request never timed out")
        .unwrap_err();
    assert!(matches!(err, RequestError::Timeout { .. }), "{err}");
    assert_eq!(started.elapsed().as_secs(), 1);
    drop(server.await.unwrap());
}

#[test]
fn requests_fail_as_closed_when_the_engine_s_runtime_goes_away() {
    // The engine runs on one runtime, the caller on another; shutting the
    // engine's runtime down must not leave the caller waiting forever.
    let engine_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let (listener, config) = engine_rt.block_on(listener());
    let (client, peer) = engine_rt.block_on(async {
        let accepting = tokio::spawn(async move { accept(&listener).await });
        let (client, _events) = RvClient::connect(config).await.unwrap();
        (client, accepting.await.unwrap())
    });
    let caller_rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let waiting = caller_rt.spawn({
        let c = client.clone();
        async move { c.eval("unanswered()").await }
    });
    caller_rt.block_on(async { tokio::time::sleep(Duration::from_millis(50)).await });
    drop(engine_rt);
    let err = caller_rt
        .block_on(async { tokio::time::timeout(Duration::from_secs(5), waiting).await })
        .expect("the request hung after its engine stopped")
        .unwrap()
        .unwrap_err();
    assert_eq!(err, RequestError::Closed);
    assert_eq!(
        caller_rt.block_on(client.eval("later()")),
        Err(RequestError::Closed)
    );
    drop(peer);
}

/// A peer that stops reading leaves our writer waiting for room forever;
/// neither a lost session (heartbeat) nor `close()` may wait for it.
#[tokio::test]
async fn a_peer_that_stops_reading_neither_hangs_close_nor_the_reconnect() {
    for closing in [true, false] {
        let (listener, mut config) = listener().await;
        config.heartbeat = Some(Heartbeat {
            interval: Duration::from_millis(100),
            timeout: Duration::from_millis(300),
        });
        config.reconnect = (!closing).then_some(Reconnect {
            initial: Duration::from_millis(50),
            max: Duration::from_millis(50),
        });
        let server = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let mut peer = Framed::new(stream, RvCodec::default());
            next(&mut peer).await;
            peer.send(Frame::Greeting("stuck".into())).await.unwrap();
            // From here on nothing is read: the socket's buffers fill up.
            (peer, listener)
        });
        let (client, mut events) = RvClient::connect(config).await.unwrap();
        let (_peer, listener) = server.await.unwrap();
        // Far more than loopback buffers hold.
        let sender = client.clone();
        let write = tokio::spawn(async move {
            sender
                .send_frame(Frame::Data {
                    header: "PIXELTILE(media=m,view=left,w=1,h=1,x=0,y=0,f=1)".into(),
                    payload: vec![0u8; 64 << 20].into(),
                })
                .await
        });
        if closing {
            tokio::time::timeout(Duration::from_secs(5), client.close())
                .await
                .expect("close() hung: the peer stopped reading");
        } else {
            // The heartbeat gives up on the peer; the engine goes back to
            // connecting instead of waiting on its writer.
            let retried = tokio::time::timeout(Duration::from_secs(5), async {
                while let Some(event) = events.recv().await {
                    if let ClientEvent::Disconnected { retry_in, .. } = event {
                        return retry_in;
                    }
                }
                None
            })
            .await;
            assert!(
                matches!(retried, Ok(Some(_))),
                "no retry after the heartbeat gave up: {retried:?}"
            );
            drop(listener);
        }
        let result = tokio::time::timeout(Duration::from_secs(5), write)
            .await
            .expect("the stuck write was never answered")
            .unwrap();
        assert!(result.is_err(), "{result:?}");
    }
}
