//! A soak (not part of the tests): the library pieces the shell uses,
//! connected to a simulator and a private olad for MINUTES (default 10):
//!
//! - RV's events at 60 fps (the simulator playing, `frame-changed` forwarded);
//! - a DMX fade every second (the cue engine, frames at 50 a second);
//! - an `eval` every 100 ms;
//! - a 1920x1080 stereo push every 10 s.
//!
//! Reports memory (VmRSS) and open file descriptors at the start, each
//! minute and the end, events received against fired, and every error seen
//! (none expected). Run with `scripts/soak [MINUTES]`.

use rvshell::cue::engine::Engine;
use rvshell::cue::show::Show;
use rvshell::ola::client::OlaClient;
use rvshell::ola::daemon::{OladOptions, OladProcess};
use rvshell::rv::client::{ClientEvent, Config, RvClient};
use rvshell::rv::pixels::{Depth, Samples, Tiling};
use rvshell::rv::push::{PushOptions, push};
use rvshell::sim::server::{SimConfig, Simulator};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

const SHOW: &str = r#"
[scenes.up]
universe = 1
values = "1-16=255"
[scenes.down]
universe = 1
values = "1-16=0"
"#;

fn rss_kib() -> u64 {
    proc_status("VmRSS:")
}

fn proc_status(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

#[derive(Default)]
struct Counts {
    events: AtomicU64,
    evals: AtomicU64,
    frames: AtomicU64,
    pushes: AtomicU64,
    errors: AtomicU64,
}

fn error(counts: &Counts, what: String) {
    counts.errors.fetch_add(1, Ordering::Relaxed);
    eprintln!("soak: ERROR {what}");
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let minutes: f64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10.0);
    let length = Duration::from_secs_f64(minutes * 60.0);
    let sim = Arc::new(
        Simulator::start(SimConfig::any_port())
            .await
            .expect("the simulator starts"),
    );
    let olad = OladProcess::start(OladOptions {
        patch_universe: Some(1),
        ..OladOptions::default()
    })
    .await
    .expect("a private olad starts (is OLA installed?)");
    let port = sim.local_addr().port();
    let config = |name: &str| {
        let mut c = Config::new("127.0.0.1", port);
        c.contact = name.into();
        c
    };
    let counts = Arc::new(Counts::default());
    let stop = CancellationToken::new();

    // RV at 60 fps, its frames forwarded.
    let (watcher, mut events) = RvClient::connect(config("soak-watch")).await.unwrap();
    watcher.subscribe(&["frame-changed"]).await.unwrap();
    let (driver, _) = RvClient::connect(config("soak-drive")).await.unwrap();
    driver
        .eval("setFrameStart(1); setFrameEnd(100000000); setFrame(1); setFPS(60.0)")
        .await
        .unwrap();
    let fired_before = sim.events_fired("frame-changed");
    driver.eval("play()").await.unwrap();
    let start = Instant::now();
    let rss_start = rss_kib();
    let fds_start = fds();
    println!(
        "soak for {minutes} min: RSS {:.1} MiB, {fds_start} fds at the start",
        rss_start as f64 / 1024.0
    );

    let mut tasks = Vec::new();
    tasks.push(tokio::spawn({
        let counts = counts.clone();
        let stop = stop.clone();
        async move {
            loop {
                tokio::select! {
                    _ = stop.cancelled() => break,
                    event = events.recv() => match event {
                        Some(ClientEvent::RvEvent(_)) => {
                            counts.events.fetch_add(1, Ordering::Relaxed);
                        }
                        Some(ClientEvent::Disconnected { reason, .. }) => {
                            error(&counts, format!("watcher lost RV: {reason}"));
                        }
                        Some(_) => {}
                        None => break,
                    },
                }
            }
        }
    }));
    // An eval every 100 ms.
    tasks.push(tokio::spawn({
        let counts = counts.clone();
        let stop = stop.clone();
        let driver = driver.clone();
        async move {
            let mut tick = tokio::time::interval(Duration::from_millis(100));
            while !stop.is_cancelled() {
                tick.tick().await;
                match driver.eval("frame()").await {
                    Ok(_) => counts.evals.fetch_add(1, Ordering::Relaxed),
                    Err(err) => {
                        error(&counts, format!("eval: {err}"));
                        0
                    }
                };
            }
        }
    }));
    // A DMX fade every second, frames at 50 a second.
    tasks.push(tokio::spawn({
        let counts = counts.clone();
        let stop = stop.clone();
        let addr = olad.addr().to_string();
        async move {
            let ola = OlaClient::connect(&addr).await.unwrap();
            let mut engine = Engine::new(Show::parse(SHOW, "soak").unwrap());
            engine.set_held(1, &[0; 512]);
            let t0 = Instant::now();
            let mut tick = tokio::time::interval(Duration::from_millis(20));
            let mut next_fade = Duration::ZERO;
            let mut up = true;
            while !stop.is_cancelled() {
                tick.tick().await;
                let now = t0.elapsed();
                if now >= next_fade {
                    let scene = engine.show().scene(if up { "up" } else { "down" }).unwrap();
                    engine.fire(scene, Duration::from_millis(900), now);
                    up = !up;
                    next_fade += Duration::from_secs(1);
                }
                for frame in engine.tick(now) {
                    match ola.update_dmx(frame.universe, &frame.data, None).await {
                        Ok(()) => counts.frames.fetch_add(1, Ordering::Relaxed),
                        Err(err) => {
                            error(&counts, format!("DMX frame: {err}"));
                            0
                        }
                    };
                }
            }
            let _ = ola.close().await;
        }
    }));
    // A 1920x1080 push every 10 s.
    tasks.push(tokio::spawn({
        let counts = counts.clone();
        let stop = stop.clone();
        let (pusher, _) = RvClient::connect(config("soak-push")).await.unwrap();
        async move {
            let image = image::RgbaImage::from_fn(1920, 1080, |x, y| {
                image::Rgba([(x % 256) as u8, (y % 256) as u8, 128, 255])
            });
            let samples = Samples::from_image(&image::DynamicImage::ImageRgba8(image), Depth::U8);
            let mut tick = tokio::time::interval(Duration::from_secs(10));
            let mut n = 0;
            while !stop.is_cancelled() {
                tick.tick().await;
                n += 1;
                let options = PushOptions {
                    media: Some(format!("soak{}", n % 3)),
                    update_only: n > 3,
                    tiling: Tiling::Grid { nx: 4, ny: 4 },
                    ..PushOptions::default()
                };
                match push(
                    &pusher,
                    &samples,
                    &options,
                    &CancellationToken::new(),
                    |_| {},
                )
                .await
                {
                    Ok(_) => counts.pushes.fetch_add(1, Ordering::Relaxed),
                    Err(err) => {
                        error(&counts, format!("push: {err}"));
                        0
                    }
                };
            }
            pusher.close().await;
        }
    }));

    let mut minute = 0;
    // Memory after the first minute: the images and the simulator's canvas
    // are all allocated by then; growth after it would be a leak.
    let mut rss_warm = None;
    while start.elapsed() < length {
        tokio::time::sleep(Duration::from_secs(1)).await;
        if start.elapsed() >= Duration::from_secs(60 * (minute + 1)) {
            minute += 1;
            rss_warm.get_or_insert(rss_kib());
            println!(
                "  {minute:>3} min: RSS {:.1} MiB, {} fds, {} events, {} evals, {} DMX frames, {} pushes, {} errors",
                rss_kib() as f64 / 1024.0,
                fds(),
                counts.events.load(Ordering::Relaxed),
                counts.evals.load(Ordering::Relaxed),
                counts.frames.load(Ordering::Relaxed),
                counts.pushes.load(Ordering::Relaxed),
                counts.errors.load(Ordering::Relaxed),
            );
        }
    }
    driver.eval("stop()").await.unwrap();
    // Everything fired before the stop has arrived by now or is lost.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let fired = sim.events_fired("frame-changed") - fired_before;
    stop.cancel();
    for task in tasks {
        let _ = task.await;
    }
    let received = counts.events.load(Ordering::Relaxed);
    let rss_end = rss_kib();
    // The simulator closes its end of a client's connection once it reads
    // the client's close: give the last ones a moment before counting.
    let mut fds_end = fds();
    for _ in 0..20 {
        if fds_end <= fds_start {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        fds_end = fds();
    }
    let warm = rss_warm.unwrap_or(rss_start);
    println!(
        "end after {:.1} min: RSS {:.1} MiB ({:+.1} MiB since the first minute, {:+.1} since the start), \
         {fds_end} fds ({:+}), peak RSS {:.1} MiB",
        start.elapsed().as_secs_f64() / 60.0,
        rss_end as f64 / 1024.0,
        (rss_end as f64 - warm as f64) / 1024.0,
        (rss_end as f64 - rss_start as f64) / 1024.0,
        fds_end as i64 - fds_start as i64,
        proc_status("VmHWM:") as f64 / 1024.0
    );
    println!(
        "frame-changed fired {fired}, received {received} (lost {}); {} evals, {} DMX frames, {} pushes; {} errors",
        fired.saturating_sub(received),
        counts.evals.load(Ordering::Relaxed),
        counts.frames.load(Ordering::Relaxed),
        counts.pushes.load(Ordering::Relaxed),
        counts.errors.load(Ordering::Relaxed),
    );
    watcher.close().await;
    driver.close().await;
    drop(olad);
}
