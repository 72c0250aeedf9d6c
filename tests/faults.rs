//! Real network faults between rvshell and the simulator, injected by a
//! proxy the tests own (`common::proxy`): latency with jitter, a bandwidth
//! cap, writes split at random points, a cut mid-push, a stall longer than
//! the timeout. Nothing may hang, nothing may be mismatched, and every
//! failure must say what happened.

mod common;

use common::proxy::{Dir, Proxy};
use rvshell::rv::client::{ClientEvent, Config, ConnState, Reconnect, RequestError, RvClient};
use rvshell::rv::pixels::{Depth, Samples, Tiling};
use rvshell::rv::push::{PushError, PushOptions, PushReport, push};
use rvshell::sim::server::{SimConfig, Simulator};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

async fn sim() -> Simulator {
    Simulator::start(SimConfig::any_port()).await.unwrap()
}

fn through(proxy: &Proxy, contact: &str) -> Config {
    let mut config = Config::new("127.0.0.1", proxy.addr().port());
    config.contact = contact.into();
    config.handshake_timeout = Duration::from_secs(20);
    config.request_timeout = Duration::from_secs(30);
    config
}

/// An image whose every pixel differs from its neighbours, so a misplaced
/// or lost tile shows.
fn pattern(width: u32, height: u32) -> Samples {
    let image = image::RgbaImage::from_fn(width, height, |x, y| {
        image::Rgba([
            (x % 251) as u8,
            (y % 241) as u8,
            ((x / 7 + y * 3) % 256) as u8,
            255 - (x % 13) as u8,
        ])
    });
    Samples::from_image(&image::DynamicImage::ImageRgba8(image), Depth::U8)
}

/// Pushes `samples` as media `media` in 4x4 tiles.
async fn push_grid(
    client: &RvClient,
    samples: &Samples,
    media: &str,
) -> Result<PushReport, PushError> {
    let options = PushOptions {
        media: Some(media.into()),
        tiling: Tiling::Grid { nx: 4, ny: 4 },
        ..PushOptions::default()
    };
    push(client, samples, &options, &CancellationToken::new(), |_| {}).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eval_round_trips_work_with_latency_and_jitter() {
    let sim = sim().await;
    let proxy = Proxy::start(sim.local_addr()).await;
    proxy.set(|f| {
        f.latency = Duration::from_millis(50);
        f.jitter = Duration::from_millis(20);
    });
    let (client, _) = RvClient::connect(through(&proxy, "latency")).await.unwrap();
    let start = Instant::now();
    for i in 0..5 {
        assert_eq!(
            client.eval(format!("{i} + 1")).await.unwrap(),
            (i + 1).to_string()
        );
    }
    // Each way at least 30 ms: the latency was really there.
    assert!(start.elapsed() >= Duration::from_millis(5 * 60));
    client.close().await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn returns_stay_matched_while_events_interleave_and_writes_split() {
    let sim = sim().await;
    let proxy = Proxy::start(sim.local_addr()).await;
    // Every write in both directions cut at random points, 1 to 7 bytes.
    proxy.set(|f| {
        f.piece = Some(7);
        f.random_pieces = true;
    });
    let (client, mut events) = RvClient::connect(through(&proxy, "splitter"))
        .await
        .unwrap();
    assert_eq!(client.subscribe(&["frame-changed"]).await, Ok(true));
    // Each request moves the frame (an EVENT fired before its RETURN) and
    // answers with its own number: any mismatch shows.
    let mut requests = Vec::new();
    for i in 1..=40i64 {
        let client = client.clone();
        requests.push(tokio::spawn(async move {
            let value = client
                .eval(format!("setFrame({}); {i}", i % 90 + 2))
                .await
                .unwrap();
            assert_eq!(value, i.to_string(), "request {i} got another's RETURN");
        }));
    }
    for request in requests {
        request.await.unwrap();
    }
    let mut forwarded = 0;
    while let Ok(Some(event)) =
        tokio::time::timeout(Duration::from_millis(500), events.recv()).await
    {
        if let ClientEvent::RvEvent(e) = event {
            assert_eq!(e.name, "frame-changed");
            forwarded += 1;
        }
    }
    assert!(
        forwarded >= 30,
        "{forwarded} frame-changed events came through"
    );
    client.close().await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_4k_push_arrives_pixel_exact_through_a_capped_link() {
    let sim = sim().await;
    let proxy = Proxy::start(sim.local_addr()).await;
    // 100 Mbit/s: 66 MB of 4K stereo in about 5 s. The same cap at
    // 10 Mbit/s works the same way but takes 53 s, too long for the suite.
    proxy.set(|f| f.bandwidth = Some(100_000_000 / 8));
    let (client, _) = RvClient::connect(through(&proxy, "capped")).await.unwrap();
    let samples = pattern(3840, 2160);
    let start = Instant::now();
    let report = push_grid(&client, &samples, "capped4k").await.unwrap();
    let took = start.elapsed();
    assert_eq!(report.tiles, 16);
    assert!(
        took >= Duration::from_secs(4),
        "the cap was not applied: {took:?}"
    );
    // The push is done when its last bytes are written; the simulator has
    // them a moment later (still behind the cap).
    let exact = || {
        sim.with_canvas(|canvas| {
            let left = canvas.image("capped4k", 1, Some("left"), None)?;
            let right = canvas.image("capped4k", 1, Some("right"), None)?;
            Some(left.is_complete() && right.is_complete() && left.pixels() == samples.bytes())
        })
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while exact() != Some(true) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        exact(),
        Some(true),
        "both eyes arrived, the left pixel-exact"
    );
    client.close().await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_mid_push_says_how_far_it_got_and_the_client_comes_back() {
    let sim = sim().await;
    let proxy = Proxy::start(sim.local_addr()).await;
    let mut config = through(&proxy, "cutter");
    config.reconnect = Some(Reconnect {
        initial: Duration::from_millis(50),
        max: Duration::from_millis(200),
    });
    let (client, _) = RvClient::connect(config).await.unwrap();
    // 66 MB: far more than loopback's socket buffers hold, so the cut
    // lands mid-push and not after the client has handed everything over.
    let samples = pattern(3840, 2160);
    proxy.set(|f| f.cut_after = Some((Dir::Up, 8 << 20)));
    proxy.set(|f| f.refusing = true);
    let err = push_grid(&client, &samples, "cut").await.unwrap_err();
    match &err {
        PushError::Send { done, total, .. } => {
            assert_eq!(*total, 16);
            assert!(*done < 16, "{err}");
        }
        other => panic!("{other}"),
    }
    let text = err.to_string();
    assert!(
        text.contains("stopped after") && text.contains("of 16 tiles"),
        "{text}"
    );
    // While the proxy refuses, the client keeps trying; once it passes
    // again, the connection comes back by itself.
    let mut state = client.watch_state();
    tokio::time::timeout(
        Duration::from_secs(20),
        state.wait_for(|s| matches!(s, ConnState::Retrying { .. })),
    )
    .await
    .expect("the loss is seen within 20 s")
    .unwrap();
    proxy.set(|f| {
        f.cut_after = None;
        f.refusing = false;
    });
    tokio::time::timeout(
        Duration::from_secs(20),
        state.wait_for(|s| matches!(s, ConnState::Connected { .. })),
    )
    .await
    .expect("reconnected within 20 s")
    .unwrap();
    assert_eq!(client.eval("1").await.unwrap(), "1");
    client.close().await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stall_longer_than_the_timeout_times_out_and_nothing_hangs() {
    let sim = sim().await;
    let proxy = Proxy::start(sim.local_addr()).await;
    let mut config = through(&proxy, "staller");
    config.request_timeout = Duration::from_millis(500);
    let (client, _) = RvClient::connect(config).await.unwrap();
    assert_eq!(client.eval("1").await.unwrap(), "1");
    proxy.set(|f| f.stalled = true);
    let start = Instant::now();
    let err = client.eval("2").await.unwrap_err();
    assert!(matches!(err, RequestError::Timeout { .. }), "{err}");
    assert!(err.to_string().contains("0.5"), "names the limit: {err}");
    assert!(start.elapsed() < Duration::from_secs(5));
    // The stall ends: the late RETURN is absorbed by the timed-out request,
    // and the next request gets its own.
    proxy.set(|f| f.stalled = false);
    assert_eq!(client.eval("3").await.unwrap(), "3");
    let closed = tokio::time::timeout(Duration::from_secs(5), client.close()).await;
    assert!(closed.is_ok(), "close hung");
    sim.shutdown().await;
}
