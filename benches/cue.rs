//! Cue link benchmark, each figure next to a baseline measured in the same
//! run, against the in-process simulator (its own thread) and a private olad.
//!
//! 1. Cue latency: from the simulator firing `play-start` / `play-stop`
//!    (`Simulator::fire_event`) to olad holding the cue's first frame (a
//!    cut), read back by a second client registered for the universe.
//!    Baseline: an RV event's latency (fire, then a subscribed client has
//!    it) plus one `update_dmx` round trip, in interleaved blocks so both
//!    see the same machine. Target: median and p99 within 1.3x the sum.
//! 2. Fade timing: a 10 s fade's frames as olad acknowledged them: frames
//!    per second and the p99 gap. Targets: at least 40 fps, p99 gap under
//!    40 ms.
//!
//! Run: `cargo bench --bench cue` (add `-- --quick` for a short run).

use rvshell::cue::link::{Link, LinkEvent, LinkOptions};
use rvshell::cue::show::Show;
use rvshell::ola::client::{ClientConfig, DmxSubscription, OlaClient};
use rvshell::ola::daemon::{OladOptions, OladProcess};
use rvshell::rv::client::{ClientEvent, Config, RvClient};
use rvshell::sim::server::Simulator;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

mod common;
use common::{Stats, stats};

const SHOW: &str = r#"
[scenes.a]
universe = 1
values = "1=200"
[scenes.b]
universe = 1
values = "1=100"
[scenes.dark]
universe = 1
values = "1-512=0"
[[cues]]
on = "play-start"
scene = "a"
[[cues]]
on = "play-stop"
scene = "b"
[[cues]]
on = "fps-changed"
scene = "dark"
fade = FADE
"#;

const BLOCK: usize = 100;
const LIMIT: Duration = Duration::from_secs(10);

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let cues = if quick { 200 } else { 1_000 };
    let fade = if quick { 2 } else { 10 };
    let (_thread, sim) = common::simulator();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run(sim, cues, fade));
}

async fn run(sim: Simulator, cues: usize, fade_secs: u64) {
    let olad = OladProcess::start(OladOptions {
        patch_universe: Some(1),
        ..OladOptions::default()
    })
    .await
    .unwrap_or_else(|err| panic!("{err}"));
    let addr = olad.addr().to_string();
    println!("rvshell cue link benchmark ({cues} cues, a {fade_secs} s fade)\n");

    let port = sim.local_addr().port();
    let show = Show::parse(&SHOW.replace("FADE", &fade_secs.to_string()), "bench").unwrap();
    let (rv, events) = RvClient::connect(Config::new("127.0.0.1", port))
        .await
        .unwrap();
    let ola = OlaClient::connect_with(&addr, ClientConfig::default())
        .await
        .unwrap();
    let (tx, mut reports) = mpsc::unbounded_channel();
    let stop = CancellationToken::new();
    let link = tokio::spawn(Link::new(show, rv.clone(), Some(ola.clone()), tx).run(
        events,
        stop.clone(),
        LinkOptions::default(),
    ));
    match reports.recv().await {
        Some(LinkEvent::Armed { .. }) => {}
        other => panic!("not armed: {other:?}"),
    }

    // The baseline's parts: a subscriber of an event no cue uses, and a
    // source sending zeros (HTP: the link's values still show).
    let (watcher, mut watched) = RvClient::connect(Config::new("127.0.0.1", port))
        .await
        .unwrap();
    assert_eq!(watcher.subscribe(&["new-in-point"]).await, Ok(true));
    let source = OlaClient::connect(&addr).await.unwrap();
    let observer = OlaClient::connect(&addr).await.unwrap();
    let mut universe = observer.register(1).await.unwrap();

    let (mut event_times, mut dmx_times, mut cue_times) = (Vec::new(), Vec::new(), Vec::new());
    let mut n = 0usize;
    while cue_times.len() < cues {
        for _ in 0..BLOCK {
            let t0 = Instant::now();
            sim.fire_event("new-in-point", "7");
            loop {
                match tokio::time::timeout(LIMIT, watched.recv()).await {
                    Ok(Some(ClientEvent::RvEvent(_))) => break,
                    Ok(Some(_)) => continue,
                    other => panic!("no event: {other:?}"),
                }
            }
            event_times.push(t0.elapsed());
            let t0 = Instant::now();
            source.update_dmx(1, &[0; 512], None).await.unwrap();
            dmx_times.push(t0.elapsed());
        }
        for _ in 0..BLOCK {
            let (event, want) = if n.is_multiple_of(2) {
                ("play-start", 200)
            } else {
                ("play-stop", 100)
            };
            n += 1;
            let t0 = Instant::now();
            sim.fire_event(event, "");
            until(&mut universe, |data| data.first() == Some(&want)).await;
            cue_times.push(t0.elapsed());
        }
        while reports.try_recv().is_ok() {}
    }
    let event = stats(event_times);
    let dmx = stats(dmx_times);
    let cue = stats(cue_times);
    let (base_median, base_p99) = (event.median + dmx.median, event.p99 + dmx.p99);
    println!("cue latency                                   median        p99");
    row("RV event (fire -> subscriber has it)", &event);
    row("update_dmx round trip", &dmx);
    println!(
        "  {:<42} {:>9.1} us {:>9.1} us",
        "baseline: the sum",
        us(base_median),
        us(base_p99)
    );
    row("cue (fire -> olad holds the frame)", &cue);
    let ratio = (
        cue.median.as_secs_f64() / base_median.as_secs_f64(),
        cue.p99.as_secs_f64() / base_p99.as_secs_f64(),
    );
    println!(
        "  ratio to the baseline: median {:.2}x, p99 {:.2}x (target <= 1.3x: {})\n",
        ratio.0,
        ratio.1,
        met(ratio.0 <= 1.3 && ratio.1 <= 1.3)
    );

    // The fade: frames as olad acknowledged them.
    let t0 = Instant::now();
    sim.fire_event("fps-changed", "");
    let mut times = Vec::new();
    loop {
        match tokio::time::timeout(LIMIT, reports.recv()).await {
            Ok(Some(LinkEvent::Frame(frame))) => {
                times.push(Instant::now());
                // The last frame comes exactly at the end.
                if t0.elapsed() >= Duration::from_secs(fade_secs)
                    && frame.data.iter().all(|&v| v == 0)
                {
                    break;
                }
            }
            Ok(Some(_)) => {}
            other => panic!("the fade stopped: {other:?}"),
        }
    }
    let took = t0.elapsed();
    let gaps: Vec<Duration> = times.windows(2).map(|w| w[1] - w[0]).collect();
    let gap = stats(gaps.clone());
    let max = gaps.iter().max().copied().unwrap_or_default();
    let fps = (times.len() - 1) as f64 / (times[times.len() - 1] - times[0]).as_secs_f64();
    println!(
        "fade over {fade_secs} s ({} frames in {:.2} s)",
        times.len(),
        took.as_secs_f64()
    );
    println!(
        "  frames per second: {fps:.1} (target >= 40: {})",
        met(fps >= 40.0)
    );
    println!(
        "  gap between frames: median {:.1} ms, p99 {:.1} ms, max {:.1} ms (target p99 < 40 ms: {})",
        ms(gap.median),
        ms(gap.p99),
        ms(max),
        met(gap.p99 < Duration::from_millis(40))
    );

    stop.cancel();
    let _ = link.await;
    rv.close().await;
    watcher.close().await;
    let _ = ola.close().await;
    let _ = source.close().await;
    let _ = observer.close().await;
}

async fn until(universe: &mut DmxSubscription, done: impl Fn(&[u8]) -> bool) {
    loop {
        match tokio::time::timeout(LIMIT, universe.next()).await {
            Ok(Some(frame)) if done(&frame.data) => return,
            Ok(Some(_)) => {}
            other => panic!("olad never held the cue's frame: {other:?}"),
        }
    }
}

fn row(name: &str, s: &Stats) {
    println!(
        "  {name:<42} {:>9.1} us {:>9.1} us",
        us(s.median),
        us(s.p99)
    );
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn met(ok: bool) -> &'static str {
    if ok { "met" } else { "NOT met" }
}
