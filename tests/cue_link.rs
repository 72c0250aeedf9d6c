//! The cue link against the in-process simulator and a real private olad
//! (one of each per test): play and stop, frame ranges, RV lost and back,
//! olad restarted mid-show. Values are read back from olad with `get_dmx`.
//!
//! Waits are bounded loops on what olad holds or on the link's reports;
//! the limits only bound a hang. To show a cue did *not* fire, a test has
//! RV fire a later event and checks it is the next report: RV's events
//! reach the link in the order they were fired.

use rvshell::cue::link::{Link, LinkEvent, LinkOptions};
use rvshell::cue::show::Show;
use rvshell::ola::client::{ClientConfig, OlaClient};
use rvshell::ola::daemon::OladProcess;
use rvshell::rv::client::{Config, Reconnect, RvClient};
use rvshell::sim::server::{SimConfig, Simulator};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// house, dim and flash on universe 1; play, stop and frames 50-60 cues; a failsafe.
const SHOW: &str = include_str!("data/link.toml");

const LIMIT: Duration = Duration::from_secs(20);

async fn sim_at(bind: SocketAddr) -> Simulator {
    Simulator::start(SimConfig {
        bind,
        ..SimConfig::default()
    })
    .await
    .unwrap()
}

mod common;

async fn olad() -> OladProcess {
    common::ola::olad(Some(1)).await
}

fn rv_config(addr: SocketAddr) -> Config {
    let mut config = Config::new("127.0.0.1", addr.port());
    config.handshake_timeout = Duration::from_secs(5);
    config.request_timeout = Duration::from_secs(5);
    config
}

/// A user's connection to RV, for play(), stop(), setFrame().
async fn control(sim: &Simulator) -> RvClient {
    RvClient::connect(rv_config(sim.local_addr()))
        .await
        .unwrap()
        .0
}

struct Running {
    reports: mpsc::UnboundedReceiver<LinkEvent>,
    stop: CancellationToken,
    task: JoinHandle<Result<(), rvshell::cue::LinkError>>,
}

/// Starts the link on [`SHOW`] with fresh, reconnecting clients; returns
/// once armed.
async fn start_link(sim: &Simulator, olad: &OladProcess) -> Running {
    let mut running = start_show(sim, olad, SHOW).await;
    match next_report(&mut running.reports).await {
        LinkEvent::Armed {
            cues,
            universes,
            events,
        } => {
            assert_eq!((cues, universes), (3, vec![1]));
            assert_eq!(events, ["play-start", "play-stop", "frame-changed"]);
        }
        other => panic!("{other:?}"),
    }
    running
}

/// Starts the link on `show` with fresh, reconnecting clients.
async fn start_show(sim: &Simulator, olad: &OladProcess, show: &str) -> Running {
    let show = Show::parse(show, "show.toml").unwrap();
    let mut config = rv_config(sim.local_addr());
    config.reconnect = Some(Reconnect {
        initial: Duration::from_millis(50),
        max: Duration::from_millis(200),
    });
    let (rv, events) = RvClient::connect(config).await.unwrap();
    let ola = OlaClient::connect_with(
        &olad.addr().to_string(),
        ClientConfig {
            reconnect: true,
            ..ClientConfig::default()
        },
    )
    .await
    .unwrap();
    let (tx, reports) = mpsc::unbounded_channel();
    let stop = CancellationToken::new();
    let link = Link::new(show, rv, Some(ola), tx);
    let task = tokio::spawn(link.run(events, stop.clone(), LinkOptions::default()));
    Running {
        reports,
        stop,
        task,
    }
}

/// The next report that is not a frame.
async fn next_report(reports: &mut mpsc::UnboundedReceiver<LinkEvent>) -> LinkEvent {
    loop {
        let event = tokio::time::timeout(LIMIT, reports.recv())
            .await
            .expect("no report in time")
            .expect("the link ended");
        if !matches!(event, LinkEvent::Frame(_)) {
            return event;
        }
    }
}

/// The scene of the next report, which must be a fired cue.
async fn next_fired(reports: &mut mpsc::UnboundedReceiver<LinkEvent>) -> String {
    match next_report(reports).await {
        LinkEvent::Fired { fired, .. } => fired.scene,
        other => panic!("expected a cue, got {other:?}"),
    }
}

/// Waits until olad holds `want` in channels 1..=want.len() of universe 1.
async fn until_olad_holds(olad: &OladProcess, want: &[u8]) {
    let client = OlaClient::connect(&olad.addr().to_string()).await.unwrap();
    let deadline = tokio::time::Instant::now() + LIMIT;
    loop {
        if let Ok(data) = client.get_dmx(1).await
            && data.len() >= want.len()
            && &data[..want.len()] == want
        {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "olad never held {want:?}: {:?}",
            client
                .get_dmx(1)
                .await
                .map(|d| d[..want.len().min(d.len())].to_vec())
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = client.close().await;
}

async fn eval(rv: &RvClient, code: &str) {
    rv.eval(code).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn play_fades_to_dim_and_stop_to_house() {
    let olad = olad().await;
    let sim = sim_at("127.0.0.1:0".parse().unwrap()).await;
    let user = control(&sim).await;
    // One frame a second: playback stays far from the frames cue.
    eval(&user, "setFPS(1.0)").await;
    let mut link = start_link(&sim, &olad).await;
    eval(&user, "play()").await;
    assert_eq!(next_fired(&mut link.reports).await, "dim");
    until_olad_holds(&olad, &[25, 25, 25, 25, 0]).await;
    eval(&user, "stop()").await;
    assert_eq!(next_fired(&mut link.reports).await, "house");
    until_olad_holds(&olad, &[255, 255, 255, 255, 0]).await;
    link.stop.cancel();
    link.task.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entering_a_frame_range_fires_once_and_stepping_inside_does_not() {
    let olad = olad().await;
    let sim = sim_at("127.0.0.1:0".parse().unwrap()).await;
    let user = control(&sim).await;
    let mut link = start_link(&sim, &olad).await;
    // The simulator's range is 1-100, so the cue's range is 50-60 here
    // (the README's 1005-1010 works the same on a longer sequence).
    eval(&user, "setFrame(55)").await;
    assert_eq!(next_fired(&mut link.reports).await, "flash");
    until_olad_holds(&olad, &[0, 0, 0, 0, 255]).await;
    eval(&user, "setFrame(56)").await;
    eval(&user, "setFrame(60)").await;
    eval(&user, "stepBackward1()").await;
    // The next cue to fire is this play-stop, not flash again.
    sim.fire_event("play-stop", "");
    assert_eq!(next_fired(&mut link.reports).await, "house");
    // Out and back in fires again.
    eval(&user, "setFrame(61)").await;
    eval(&user, "setFrame(50)").await;
    assert_eq!(next_fired(&mut link.reports).await, "flash");
    link.stop.cancel();
    link.task.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn losing_rv_fades_the_failsafe_in_and_rv_back_fires_again() {
    let olad = olad().await;
    let sim = sim_at("127.0.0.1:0".parse().unwrap()).await;
    let addr = sim.local_addr();
    let user = control(&sim).await;
    eval(&user, "setFPS(1.0)").await;
    let mut link = start_link(&sim, &olad).await;
    eval(&user, "play()").await;
    assert_eq!(next_fired(&mut link.reports).await, "dim");
    until_olad_holds(&olad, &[25, 25, 25, 25]).await;
    user.close().await;
    sim.shutdown().await;
    assert!(matches!(
        next_report(&mut link.reports).await,
        LinkEvent::RvLost { .. }
    ));
    match next_report(&mut link.reports).await {
        LinkEvent::Failsafe { fired, .. } => assert_eq!(fired.scene, "house"),
        other => panic!("{other:?}"),
    }
    until_olad_holds(&olad, &[255, 255, 255, 255]).await;
    // The simulator back on the same port: the link subscribes again by
    // itself, and the next play fires.
    let sim = sim_at(addr).await;
    assert_eq!(next_report(&mut link.reports).await, LinkEvent::RvBack);
    let user = control(&sim).await;
    eval(&user, "setFPS(1.0)").await;
    eval(&user, "play()").await;
    assert_eq!(next_fired(&mut link.reports).await, "dim");
    until_olad_holds(&olad, &[25, 25, 25, 25]).await;
    link.stop.cancel();
    link.task.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn olad_restarted_mid_show_gets_the_current_state_back() {
    let mut olad = olad().await;
    let sim = sim_at("127.0.0.1:0".parse().unwrap()).await;
    let user = control(&sim).await;
    eval(&user, "setFPS(1.0)").await;
    let mut link = start_link(&sim, &olad).await;
    eval(&user, "setFrame(55)").await;
    assert_eq!(next_fired(&mut link.reports).await, "flash");
    // Restart olad while the dim fade runs: it comes back empty, and the
    // link's state (dim over flash) is there again once it is back.
    eval(&user, "play()").await;
    assert_eq!(next_fired(&mut link.reports).await, "dim");
    olad.restart().await.unwrap();
    loop {
        match next_report(&mut link.reports).await {
            LinkEvent::OladBack => break,
            LinkEvent::OladLost { .. } | LinkEvent::SendFailed { .. } => {}
            other => panic!("{other:?}"),
        }
    }
    until_olad_holds(&olad, &[25, 25, 25, 25, 255]).await;
    link.stop.cancel();
    link.task.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_show_of_a_failsafe_only_arms_at_once_and_fades_it_in() {
    let olad = olad().await;
    let sim = sim_at("127.0.0.1:0".parse().unwrap()).await;
    let show = "[scenes.safe]\nuniverse = 1\nvalues = \"7=70\"\n[failsafe]\nscene = \"safe\"\n";
    let mut link = start_show(&sim, &olad, show).await;
    assert_eq!(
        next_report(&mut link.reports).await,
        LinkEvent::Armed {
            cues: 0,
            universes: vec![1],
            events: vec![]
        }
    );
    sim.shutdown().await;
    assert!(matches!(
        next_report(&mut link.reports).await,
        LinkEvent::RvLost { .. }
    ));
    assert!(matches!(
        next_report(&mut link.reports).await,
        LinkEvent::Failsafe { .. }
    ));
    until_olad_holds(&olad, &[0, 0, 0, 0, 0, 0, 70]).await;
    link.stop.cancel();
    link.task.await.unwrap().unwrap();
}
