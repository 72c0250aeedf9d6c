//! The engine's event subscription (rv-events.md) against a scripted fake RV
//! on loopback: the install, forwarded events interleaved with RETURNs, a
//! refused install, the re-install after a reconnect, and the sign-off.

use futures_util::StreamExt;
use rvshell::rv::client::{ClientEvent, Config, Reconnect, RvClient, SubscribeError};
use rvshell::rv::events::{install_code, remove_code};
use rvshell::rv::frame::Frame;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::mpsc::UnboundedReceiver;

mod common;

use common::fake_rv::{accept, next, say};

/// A fake RV's listener, and a client config for it greeting as `contact`.
async fn listener(contact: &str) -> (TcpListener, Config) {
    let (listener, mut config) = common::fake_rv::listener().await;
    config.contact = contact.into();
    (listener, config)
}

async fn event(events: &mut UnboundedReceiver<ClientEvent>) -> ClientEvent {
    loop {
        let event = tokio::time::timeout(Duration::from_secs(5), events.recv())
            .await
            .expect("no client event within 5 s")
            .expect("event stream ended");
        if !matches!(event, ClientEvent::Connected { .. }) {
            return event;
        }
    }
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn events_arrive_between_returns_and_the_fifo_stays_exact() {
    let (listener, config) = listener("rvshell-ev1").await;
    let wanted = names(&["frame-changed", "play-start"]);
    let install = format!(
        "RETURNEVENT remote-eval * {}",
        install_code("rvshell-ev1", &wanted)
    );
    let server = tokio::spawn(async move {
        let mut peer = accept(&listener).await;
        assert_eq!(next(&mut peer).await, Frame::Message(install));
        say(&mut peer, "RETURN true").await;
        // A request in flight; RV's events come before its RETURN.
        assert_eq!(
            next(&mut peer).await,
            Frame::Message("RETURNEVENT remote-eval * frame()".into())
        );
        say(&mut peer, "EVENT frame-changed * 7").await;
        say(&mut peer, "EVENT play-start * 7").await;
        say(&mut peer, "EVENT something-else * x").await;
        say(&mut peer, "RETURN 7").await;
        // Sign-off: our handlers off, then DISCONNECT.
        let off = format!("EVENT remote-eval * {}", remove_code("rvshell-ev1"));
        assert_eq!(next(&mut peer).await, Frame::Message(off));
        assert_eq!(next(&mut peer).await, Frame::Message("DISCONNECT".into()));
    });
    let (client, mut events) = RvClient::connect(config).await.unwrap();
    assert_eq!(client.subscribe(&wanted).await, Ok(true));
    assert_eq!(client.eval("frame()").await.unwrap(), "7");
    match event(&mut events).await {
        ClientEvent::RvEvent(e) => {
            assert_eq!((e.name.as_str(), e.frame), ("frame-changed", Some(7)));
            assert_eq!(e.rv, client.address());
        }
        other => panic!("{other:?}"),
    }
    match event(&mut events).await {
        ClientEvent::RvEvent(e) => assert_eq!(e.name, "play-start"),
        other => panic!("{other:?}"),
    }
    // Not subscribed: a plain EVENT, as before.
    match event(&mut events).await {
        ClientEvent::Event(e) => assert_eq!(e.name, "something-else"),
        other => panic!("{other:?}"),
    }
    client.close().await;
    server.await.unwrap();
}

#[tokio::test]
async fn a_refused_install_is_reported_with_rvs_words() {
    let (listener, config) = listener("rvshell-ev2").await;
    let server = tokio::spawn(async move {
        let mut peer = accept(&listener).await;
        assert!(matches!(next(&mut peer).await, Frame::Message(_)));
        say(
            &mut peer,
            "RETURN ERROR: remote-eval: defineMinorMode not found",
        )
        .await;
        // Refused: nothing to remove at sign-off... but the set is kept for a
        // reconnect, so the removal still goes out (harmless for RV).
        while let Ok(Some(Ok(frame))) =
            tokio::time::timeout(Duration::from_secs(5), peer.next()).await
        {
            if frame == Frame::Message("DISCONNECT".into()) {
                break;
            }
        }
    });
    let (client, _events) = RvClient::connect(config).await.unwrap();
    match client.subscribe(&["frame-changed"]).await {
        Err(SubscribeError::Refused(why)) => {
            assert_eq!(why, "ERROR: remote-eval: defineMinorMode not found")
        }
        other => panic!("{other:?}"),
    }
    client.close().await;
    server.await.unwrap();
}

#[tokio::test]
async fn bad_event_names_are_refused_before_anything_is_sent() {
    let (listener, config) = listener("rvshell-ev3").await;
    let server = tokio::spawn(async move {
        let mut peer = accept(&listener).await;
        // Only the sign-off: no install went out.
        assert_eq!(next(&mut peer).await, Frame::Message("DISCONNECT".into()));
    });
    let (client, _events) = RvClient::connect(config).await.unwrap();
    assert!(matches!(
        client.subscribe(&["frame changed"]).await,
        Err(SubscribeError::Name(_))
    ));
    client.close().await;
    server.await.unwrap();
}

#[tokio::test]
async fn the_handlers_are_installed_again_after_a_reconnect() {
    let (listener, mut config) = listener("rvshell-ev4").await;
    config.reconnect = Some(Reconnect {
        initial: Duration::from_millis(20),
        max: Duration::from_millis(100),
    });
    let wanted = names(&["frame-changed"]);
    let install = format!(
        "RETURNEVENT remote-eval * {}",
        install_code("rvshell-ev4", &wanted)
    );
    let server = tokio::spawn(async move {
        let mut first = accept(&listener).await;
        assert_eq!(next(&mut first).await, Frame::Message(install.clone()));
        say(&mut first, "RETURN true").await;
        drop(first); // RV goes away
        let mut second = accept(&listener).await;
        assert_eq!(next(&mut second).await, Frame::Message(install));
        say(&mut second, "RETURN true").await;
        say(&mut second, "EVENT frame-changed * 3").await;
        second
    });
    let (client, mut events) = RvClient::connect(config).await.unwrap();
    assert_eq!(client.subscribe(&wanted).await, Ok(true));
    loop {
        match event(&mut events).await {
            ClientEvent::Disconnected { .. } => continue,
            ClientEvent::Subscribed { events: e } => {
                assert_eq!(e, wanted);
                break;
            }
            other => panic!("{other:?}"),
        }
    }
    match event(&mut events).await {
        ClientEvent::RvEvent(e) => assert_eq!(e.frame, Some(3)),
        other => panic!("{other:?}"),
    }
    let _peer = server.await.unwrap();
    drop(client);
}
