//! The simulator behaves like RV on the wire: greeting rules, duplicates,
//! heartbeat, RETURN rules, sign-off.

use futures_util::{SinkExt, StreamExt};
use rvshell::rv::client::{ClientEvent, Config, ConnectError, RvClient};
use rvshell::rv::codec::RvCodec;
use rvshell::rv::frame::Frame;
use rvshell::rv::message::Event;
use rvshell::sim::server::{SimConfig, Simulator};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::codec::Framed;

async fn sim_with(config: SimConfig) -> Simulator {
    Simulator::start(SimConfig {
        bind: SimConfig::any_port().bind,
        ..config
    })
    .await
    .unwrap()
}

async fn sim() -> Simulator {
    sim_with(SimConfig::default()).await
}

fn config(sim: &Simulator) -> Config {
    let mut config = Config::new("127.0.0.1", sim.local_addr().port());
    config.request_timeout = Duration::from_secs(5);
    config
}

fn wire(frames: &[Frame]) -> Vec<u8> {
    let mut buf = bytes::BytesMut::new();
    for frame in frames {
        frame.encode(&mut buf).unwrap();
    }
    buf.to_vec()
}

async fn next(peer: &mut Framed<TcpStream, RvCodec>) -> Option<Frame> {
    tokio::time::timeout(Duration::from_secs(5), peer.next())
        .await
        .expect("no frame within 5 s")
        .map(|f| f.unwrap())
}

async fn raw_client(sim: &Simulator, greeting: &[u8]) -> Framed<TcpStream, RvCodec> {
    let mut stream = TcpStream::connect(sim.local_addr()).await.unwrap();
    stream.write_all(greeting).await.unwrap();
    Framed::new(stream, RvCodec::default())
}

#[tokio::test]
async fn greets_back_with_greeting_and_answers_every_returnevent() {
    let sim = sim().await;
    let mut peer = raw_client(&sim, b"NEWGREETING 19 rv-shell-1 rv-shell").await;
    assert_eq!(next(&mut peer).await, Some(Frame::Greeting("rvsim".into())));
    // rvNetwork.py sends PINGPONGCONTROL right behind its greeting; then an EVENT
    // (no RETURN), an unknown event (empty RETURN), a client RETURN (ignored).
    let burst = wire(&[
        Frame::PingPongControl(false),
        Frame::Message("EVENT remote-eval * redraw()".into()),
        Frame::Message("RETURNEVENT nobody-listens * x".into()),
        Frame::Message("RETURN abc".into()),
        Frame::Ping,
    ]);
    peer.get_mut().write_all(&burst).await.unwrap();
    assert_eq!(
        next(&mut peer).await,
        Some(Frame::Message("RETURN ".into()))
    );
    assert_eq!(next(&mut peer).await, Some(Frame::Pong));
    assert_eq!(sim.contacts(), vec!["rv-shell-1@localhost".to_owned()]);
    peer.send(Frame::Message("DISCONNECT".into()))
        .await
        .unwrap();
    assert_eq!(
        next(&mut peer).await,
        None,
        "DISCONNECT closes the connection"
    );
}

#[tokio::test]
async fn old_style_greeting_is_accepted_too() {
    let sim = sim().await;
    let mut peer = raw_client(&sim, b"GREETING 6 oldone").await;
    assert_eq!(next(&mut peer).await, Some(Frame::Greeting("rvsim".into())));
}

#[tokio::test]
async fn a_first_frame_that_is_not_a_greeting_aborts_the_socket() {
    let sim = sim().await;
    let mut stream = TcpStream::connect(sim.local_addr()).await.unwrap();
    stream.write_all(b"MESSAGE 10 DISCONNECT").await.unwrap();
    let mut rest = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut rest)).await;
    assert!(matches!(read, Ok(Ok(0)) | Ok(Err(_))), "{read:?}");
    assert!(rest.is_empty());
}

#[tokio::test]
async fn garbage_first_bytes_abort_the_socket() {
    let sim = sim().await;
    let mut stream = TcpStream::connect(sim.local_addr()).await.unwrap();
    stream.write_all(b"GET / HTTP/1.1\r\n\r\n").await.unwrap();
    let mut rest = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut rest)).await;
    assert!(matches!(read, Ok(Ok(0)) | Ok(Err(_))), "{read:?}");
    // The simulator keeps serving others.
    let (client, _events) = RvClient::connect(config(&sim)).await.unwrap();
    client.close().await;
}

#[tokio::test]
async fn a_duplicate_contact_is_dropped_without_reply() {
    let sim = sim().await;
    let mut first = config(&sim);
    first.contact = "same-name".into();
    let second = first.clone();
    let (client, _events) = RvClient::connect(first).await.unwrap();
    let err = RvClient::connect(second).await.unwrap_err();
    assert!(matches!(err, ConnectError::Rejected { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("\"same-name\" is already connected"),
        "{err}"
    );
    // Once the first signs off, the name is free again.
    client.close().await;
    let mut again = config(&sim);
    again.contact = "same-name".into();
    for _ in 0..50 {
        if sim.contacts().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (client, _events) = RvClient::connect(again).await.unwrap();
    client.close().await;
}

#[tokio::test]
async fn heartbeat_is_on_until_pingpongcontrol_turns_it_off_and_back_on() {
    let sim = sim_with(SimConfig {
        ping_interval: Duration::from_millis(100),
        pong_timeout: Duration::from_secs(30),
        ..SimConfig::default()
    })
    .await;
    let mut peer = raw_client(&sim, b"NEWGREETING 9 hb tester").await;
    assert_eq!(next(&mut peer).await, Some(Frame::Greeting("rvsim".into())));
    assert_eq!(next(&mut peer).await, Some(Frame::Ping));
    peer.send(Frame::Pong).await.unwrap();
    assert_eq!(next(&mut peer).await, Some(Frame::Ping));
    peer.send(Frame::PingPongControl(false)).await.unwrap();
    peer.send(Frame::Ping).await.unwrap();
    assert_eq!(next(&mut peer).await, Some(Frame::Pong));
    // Heartbeat off: silence now, not another PING.
    let quiet = tokio::time::timeout(Duration::from_millis(400), peer.next()).await;
    assert!(
        quiet.is_err(),
        "unexpected frame after PINGPONGCONTROL 1 0: {quiet:?}"
    );
    // And on again: PINGs after silence resume.
    peer.send(Frame::PingPongControl(true)).await.unwrap();
    assert_eq!(next(&mut peer).await, Some(Frame::Ping));
}

#[tokio::test]
async fn a_silent_client_is_dropped_after_the_pong_timeout() {
    let sim = sim_with(SimConfig {
        ping_interval: Duration::from_millis(50),
        pong_timeout: Duration::from_millis(200),
        ..SimConfig::default()
    })
    .await;
    let mut stream = TcpStream::connect(sim.local_addr()).await.unwrap();
    stream
        .write_all(b"NEWGREETING 10 silent app")
        .await
        .unwrap();
    // Read (and never answer) until the simulator gives up on us.
    let mut all = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut all)).await;
    assert!(read.is_ok(), "simulator never dropped the silent client");
    assert!(
        all.starts_with(b"GREETING 5 rvsimPING 1 p"),
        "{:?}",
        String::from_utf8_lossy(&all)
    );
}

#[tokio::test]
async fn shutdown_signs_off_every_client() {
    let sim = sim().await;
    let (a, mut a_events) = RvClient::connect(config(&sim)).await.unwrap();
    let (b, mut b_events) = RvClient::connect(config(&sim)).await.unwrap();
    assert_ne!(a.contact(), b.contact());
    assert_eq!(sim.contacts().len(), 2);
    sim.shutdown().await;
    for events in [&mut a_events, &mut b_events] {
        assert!(matches!(
            events.recv().await,
            Some(ClientEvent::Connected { .. })
        ));
        assert_eq!(events.recv().await, Some(ClientEvent::PeerSignedOff));
    }
}

#[tokio::test]
async fn data_events_are_accepted_and_the_stream_stays_in_sync() {
    let sim = sim().await;
    let (client, _events) = RvClient::connect(config(&sim)).await.unwrap();
    client
        .send_frame(Frame::Data {
            header: "DATAEVENT(my-event,unused,application/octet-stream)".into(),
            payload: vec![0u8, 32, 10, 255].into(),
        })
        .await
        .unwrap();
    let value = client
        .send_return_event(Event::new("remote-pyexec", "rv.commands.redraw()"))
        .await
        .unwrap();
    assert_eq!(value, "");
    client.close().await;
}

#[tokio::test]
async fn answers_to_requests_before_a_bad_frame_still_go_out() {
    let sim = sim().await;
    let mut peer = raw_client(&sim, b"NEWGREETING 5 c app").await;
    assert_eq!(next(&mut peer).await, Some(Frame::Greeting("rvsim".into())));
    let mut burst = wire(&[
        Frame::PingPongControl(false),
        Frame::Message("RETURNEVENT remote-eval * 1 + 2".into()),
    ]);
    burst.extend_from_slice(b"BOGUS 1 x");
    peer.get_mut().write_all(&burst).await.unwrap();
    assert_eq!(
        next(&mut peer).await,
        Some(Frame::Message("RETURN 3".into()))
    );
    assert_eq!(next(&mut peer).await, None, "then the connection closes");
}

#[tokio::test]
async fn a_pixel_tile_for_another_event_is_not_inserted() {
    let sim = sim().await;
    let (client, _events) = RvClient::connect(config(&sim)).await.unwrap();
    let created = client
        .eval(
            r#"{ let s = newImageSource( "m", 1, 1, 1, 1, 0, 0, 1.0, 4, 8, false, 1, 1, 24.0, nil, string[] {"left"} ); newImageSourcePixels( s, 1, nil, "left"); }"#,
        )
        .await
        .unwrap();
    assert!(!created.starts_with("ERROR"), "{created}");
    for event in ["event=my-handler,", "event=pixel-block,", ""] {
        client
            .send_frame(Frame::Data {
                header: format!("PIXELTILE({event}media=m,view=left,w=1,h=1,x=0,y=0,f=1)"),
                payload: vec![7u8; 4].into(),
            })
            .await
            .unwrap();
    }
    client.eval("frame()").await.unwrap();
    let accepted = sim.with_canvas(|c| c.stats().tiles_accepted);
    assert_eq!(
        accepted, 2,
        "only pixel-block (named or by default) inserts"
    );
    client.close().await;
}

/// rv-protocol.md §13: the simulator keeps a client RV would keep: a length
/// written `+N`, a MESSAGE that is not UTF-8 (answered, decoded lossily),
/// and `PINGPONGCONTROL` with any non-zero number (heartbeat on: it pings).
#[tokio::test]
async fn takes_what_rv_takes_from_a_client() {
    let sim = sim_with(SimConfig {
        ping_interval: Duration::from_millis(50),
        ..SimConfig::default()
    })
    .await;
    let mut stream = TcpStream::connect(sim.local_addr()).await.unwrap();
    stream
        .write_all(b"NEWGREETING 10 lenient rv")
        .await
        .unwrap();
    // Heartbeat off first, so only the sign-on is read before the tests.
    stream.write_all(b"PINGPONGCONTROL 1 0").await.unwrap();
    let code = b"RETURNEVENT remote-eval * frame()";
    stream
        .write_all(format!("MESSAGE +{} ", code.len()).as_bytes())
        .await
        .unwrap();
    stream.write_all(code).await.unwrap();
    // "\xff" in a string literal: not UTF-8, RV answers all the same.
    let bad = b"RETURNEVENT remote-eval * \"\xff\"";
    stream
        .write_all(format!("MESSAGE {} ", bad.len()).as_bytes())
        .await
        .unwrap();
    stream.write_all(bad).await.unwrap();
    let mut peer = Framed::new(stream, RvCodec::default());
    assert_eq!(next(&mut peer).await, Some(Frame::Greeting("rvsim".into())));
    assert_eq!(
        next(&mut peer).await,
        Some(Frame::Message("RETURN 1".into()))
    );
    assert_eq!(
        next(&mut peer).await,
        Some(Frame::Message("RETURN \"\u{fffd}\"".into()))
    );
    // Any non-zero number turns the heartbeat back on: a PING comes.
    peer.get_mut()
        .write_all(b"PINGPONGCONTROL 1 2")
        .await
        .unwrap();
    assert_eq!(next(&mut peer).await, Some(Frame::Ping));
    sim.shutdown().await;
}
