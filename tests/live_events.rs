//! The engine's event subscription against the simulator (rv-events.md):
//! the real install Mu runs there, events follow playback, several
//! subscribers coexist, a sign-off leaves the subscriber's mode inactive,
//! and a restarted simulator gets the handlers back with nobody asking.

use rvshell::rv::client::{ClientEvent, Config, Reconnect, RvClient};
use rvshell::rv::events::{self, RvEvent};
use rvshell::sim::server::{SimConfig, Simulator};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::sync::mpsc::UnboundedReceiver;

async fn sim_on(addr: SocketAddr) -> Simulator {
    Simulator::start(SimConfig {
        bind: addr,
        ..SimConfig::default()
    })
    .await
    .unwrap()
}

fn config(sim: &Simulator, contact: &str) -> Config {
    let mut config = Config::new("127.0.0.1", sim.local_addr().port());
    config.contact = contact.into();
    config.request_timeout = Duration::from_secs(10);
    config.handshake_timeout = Duration::from_secs(10);
    config
}

/// A client subscribed to `names`, the install confirmed by RV.
async fn subscriber(
    sim: &Simulator,
    contact: &str,
    names: &[&str],
) -> (RvClient, UnboundedReceiver<ClientEvent>) {
    let (client, events) = RvClient::connect(config(sim, contact)).await.unwrap();
    assert_eq!(client.subscribe(names).await, Ok(true));
    (client, events)
}

/// The next forwarded event (other client events skipped).
async fn next_rv_event(events: &mut UnboundedReceiver<ClientEvent>) -> RvEvent {
    loop {
        let event = tokio::time::timeout(Duration::from_secs(10), events.recv())
            .await
            .expect("no RV event within 10 s")
            .expect("the client's events ended");
        if let ClientEvent::RvEvent(event) = event {
            return event;
        }
    }
}

#[tokio::test]
async fn another_clients_set_frame_arrives_as_frame_changed() {
    let sim = sim_on("127.0.0.1:0".parse().unwrap()).await;
    let (watcher, mut events) = subscriber(&sim, "watcher-1", events::DEFAULT_EVENTS).await;
    let (other, _) = RvClient::connect(config(&sim, "driver-1")).await.unwrap();
    other.eval("setFrame(7)").await.unwrap();
    let event = next_rv_event(&mut events).await;
    assert_eq!(event.name, "frame-changed");
    assert_eq!(event.frame, Some(7));
    assert_eq!(event.rv, watcher.address());
    other.close().await;
    watcher.close().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn play_then_stop_arrive_in_order_and_the_last_frame_is_rvs() {
    let sim = sim_on("127.0.0.1:0".parse().unwrap()).await;
    let (watcher, mut events) = subscriber(
        &sim,
        "watcher-2",
        &["frame-changed", "play-start", "play-stop"],
    )
    .await;
    let (driver, _) = RvClient::connect(config(&sim, "driver-2")).await.unwrap();
    driver.eval("setFPS(240.0); play()").await.unwrap();
    assert_eq!(next_rv_event(&mut events).await.name, "play-start");
    // A few frames go by as the simulator plays.
    let mut last = None;
    for _ in 0..3 {
        let event = next_rv_event(&mut events).await;
        assert_eq!(event.name, "frame-changed");
        last = event.frame;
    }
    driver.eval("stop()").await.unwrap();
    let mut stop = None;
    while stop.is_none() {
        let event = next_rv_event(&mut events).await;
        match event.name.as_str() {
            "frame-changed" => last = event.frame,
            "play-stop" => stop = Some(event),
            other => panic!("unexpected {other}"),
        }
    }
    let stop = stop.unwrap();
    let frame: i64 = driver.eval("frame()").await.unwrap().parse().unwrap();
    assert_eq!(stop.frame, Some(frame), "play-stop carries the frame");
    assert!(last.is_some_and(|l| l <= frame), "{last:?} then {frame}");
    driver.close().await;
    watcher.close().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn two_subscribers_both_receive_and_a_sign_off_removes_only_its_own() {
    let sim = sim_on("127.0.0.1:0".parse().unwrap()).await;
    let (first, mut first_events) = subscriber(&sim, "watcher-a", &["frame-changed"]).await;
    let (second, mut second_events) = subscriber(&sim, "watcher-b", &["frame-changed"]).await;
    let (driver, _) = RvClient::connect(config(&sim, "driver-3")).await.unwrap();
    driver.eval("setFrame(11)").await.unwrap();
    assert_eq!(next_rv_event(&mut first_events).await.frame, Some(11));
    assert_eq!(next_rv_event(&mut second_events).await.frame, Some(11));

    first.close().await;
    let active = |contact: &str| format!("isModeActive(\"{}\")", events::mode_name(contact));
    // The DISCONNECT follows the deactivation on the same socket, so by the
    // time the simulator has dropped `watcher-a` its mode is off.
    for _ in 0..200 {
        if !sim.contacts().iter().any(|c| c.starts_with("watcher-a@")) {
            break;
        }
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(driver.eval(active("watcher-a")).await.unwrap(), "false");
    assert_eq!(driver.eval(active("watcher-b")).await.unwrap(), "true");
    driver.eval("setFrame(12)").await.unwrap();
    assert_eq!(next_rv_event(&mut second_events).await.frame, Some(12));
    driver.close().await;
    second.close().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn a_restarted_simulator_gets_the_handlers_back_by_itself() {
    let sim = sim_on("127.0.0.1:0".parse().unwrap()).await;
    let addr = sim.local_addr();
    let mut config = config(&sim, "watcher-r");
    config.reconnect = Some(Reconnect {
        initial: Duration::from_millis(20),
        max: Duration::from_millis(200),
    });
    let (watcher, mut events) = RvClient::connect(config).await.unwrap();
    assert_eq!(watcher.subscribe(&["frame-changed"]).await, Ok(true));
    sim.shutdown().await;
    // RV restarts on the same port: a new session, a new Mu runtime.
    let sim = sim_on(addr).await;
    loop {
        let event = tokio::time::timeout(Duration::from_secs(10), events.recv())
            .await
            .expect("no re-install within 10 s")
            .expect("events ended");
        match event {
            ClientEvent::Subscribed { events } => {
                assert_eq!(events, ["frame-changed"]);
                break;
            }
            ClientEvent::SubscribeFailed { reason } => panic!("{reason}"),
            _ => {}
        }
    }
    let (driver, _) = RvClient::connect(Config {
        contact: "driver-r".into(),
        ..Config::new("127.0.0.1", addr.port())
    })
    .await
    .unwrap();
    driver.eval("setFrame(5)").await.unwrap();
    assert_eq!(next_rv_event(&mut events).await.frame, Some(5));
    driver.close().await;
    watcher.close().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn the_state_query_answers_on_the_simulator() {
    let sim = sim_on("127.0.0.1:0".parse().unwrap()).await;
    let (client, _) = RvClient::connect(config(&sim, "asker")).await.unwrap();
    client.eval("setFrame(9)").await.unwrap();
    let state = events::parse_state(&client.eval(events::STATE_QUERY).await.unwrap())
        .expect("the state query parses");
    assert_eq!(state.frame, 9);
    assert!(!state.playing);
    assert!(state.start <= 9 && 9 <= state.end);
    client.close().await;
    sim.shutdown().await;
}
