//! A scripted fake RV on loopback, for tests of the connection engine: it
//! listens, completes RV's side of the handshake, and reads and writes
//! whole frames with a deadline.
#![allow(dead_code)]

use futures_util::{SinkExt, StreamExt};
use rvshell::rv::client::Config;
use rvshell::rv::codec::RvCodec;
use rvshell::rv::frame::Frame;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::codec::Framed;

/// The fake RV's end of one connection.
pub type Peer = Framed<TcpStream, RvCodec>;

/// A listener on a free loopback port, and a client config for it with 5 s
/// handshake and request timeouts.
pub async fn listener() -> (TcpListener, Config) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut config = Config::new("127.0.0.1", port);
    config.handshake_timeout = Duration::from_secs(5);
    config.request_timeout = Duration::from_secs(5);
    (listener, config)
}

/// Accepts one client and completes RV's side of the handshake: rvshell's
/// NEWGREETING in, RV's GREETING out, the client's PINGPONGCONTROL 0 in.
pub async fn accept(listener: &TcpListener) -> Peer {
    let (stream, _) = listener.accept().await.unwrap();
    let mut peer = Framed::new(stream, RvCodec::default());
    match next(&mut peer).await {
        Frame::NewGreeting { app, .. } => assert_eq!(app, "rvshell"),
        other => panic!("expected NEWGREETING, got {other:?}"),
    }
    peer.send(Frame::Greeting("fakerv".into())).await.unwrap();
    assert_eq!(next(&mut peer).await, Frame::PingPongControl(false));
    peer
}

/// The client's next frame; panics after 5 s, at end of stream or on a bad
/// frame.
pub async fn next(peer: &mut Peer) -> Frame {
    tokio::time::timeout(Duration::from_secs(5), peer.next())
        .await
        .expect("peer waited 5 s for a frame")
        .expect("client closed")
        .expect("bad frame from client")
}

/// Sends `MESSAGE text` to the client.
pub async fn say(peer: &mut Peer, text: &str) {
    peer.send(Frame::Message(text.into())).await.unwrap();
}
