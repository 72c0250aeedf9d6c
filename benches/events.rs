//! Live RV events (rv-events.md) against the simulator on loopback, each
//! figure next to a baseline measured in the same run.
//!
//! - Event latency: from the simulator firing `frame-changed`
//!   (`Simulator::fire_event`, the handlers run and queue the EVENT) to the
//!   subscriber's `ClientEvent::RvEvent`, next to the RETURNEVENT -> RETURN
//!   round trip of the same client (target: median at most 0.6x the round
//!   trip, since an event travels one way).
//! - Playback at 24, 60 and 240 fps for 10 s (`--quick`: 2 s): events
//!   received against events fired (target: none lost) and the subscriber's
//!   CPU time (its own thread, `CLOCK_THREAD_CPUTIME_ID`).
//!
//! The simulator runs as `rvshell sim` does, on a thread of its own; the
//! subscriber on another, single-threaded runtime.

mod common;

use futures_util::{SinkExt, StreamExt};
use rvshell::rv::client::{ClientEvent, Config, RvClient};
use rvshell::rv::codec::RvCodec;
use rvshell::rv::events;
use rvshell::rv::frame::Frame;
use rvshell::sim::server::Simulator;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio_util::codec::Framed;

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let (rounds, seconds) = if quick { (2_000, 2) } else { (20_000, 10) };
    println!("rvshell live-events benchmark (simulator on loopback)\n");
    // Where the scheduler puts the two threads changes every figure more
    // than anything measured, so each placement is pinned and reported.
    for (placement, sim_cpu, client_cpu) in [("same CPU", 0, 0), ("separate CPUs", 0, 1)] {
        common::pin(Some(client_cpu));
        let (_thread, sim, sim_rt) = common::simulator_with_handle(Some(sim_cpu));
        let sim = std::sync::Arc::new(sim);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        println!("{placement}:");
        rt.block_on(latency(&sim, &sim_rt, rounds));
        println!();
    }
    common::pin(None);
    let (_thread, sim, _) = common::simulator_with_handle(None);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    println!("playback (unpinned):");
    for fps in [24, 60, 240] {
        rt.block_on(playback(&sim, fps, seconds));
    }
}

async fn subscriber(sim: &Simulator, contact: &str) -> (RvClient, UnboundedReceiver<ClientEvent>) {
    let mut config = Config::new("127.0.0.1", sim.local_addr().port());
    config.contact = contact.into();
    let (client, events) = RvClient::connect(config).await.unwrap();
    assert_eq!(
        client
            .subscribe(&["frame-changed", "play-start", "play-stop"])
            .await,
        Ok(true)
    );
    (client, events)
}

async fn next_rv_event(
    events: &mut UnboundedReceiver<ClientEvent>,
) -> rvshell::rv::events::RvEvent {
    loop {
        match events.recv().await {
            Some(ClientEvent::RvEvent(event)) => return event,
            Some(_) => continue,
            None => panic!("the subscriber's events ended"),
        }
    }
}

/// Fires `frame-changed` on the simulator's own thread, as its clock does,
/// and returns when it fired.
async fn fire_on_sim_thread(
    sim: &std::sync::Arc<Simulator>,
    sim_rt: &tokio::runtime::Handle,
) -> tokio::sync::oneshot::Receiver<(Instant, Duration)> {
    let (fired, at) = tokio::sync::oneshot::channel();
    let sim = sim.clone();
    sim_rt.spawn(async move {
        let start = Instant::now();
        sim.fire_event("frame-changed", "");
        let _ = fired.send((start, start.elapsed()));
    });
    at
}

async fn latency(sim: &std::sync::Arc<Simulator>, sim_rt: &tokio::runtime::Handle, rounds: usize) {
    let (client, mut events) = subscriber(sim, "bench-latency").await;
    // Warm up both paths.
    for _ in 0..200 {
        sim.fire_event("frame-changed", "");
        next_rv_event(&mut events).await;
        client.eval("1").await.unwrap();
    }
    let mut one_way = Vec::with_capacity(rounds);
    let mut round_trip = Vec::with_capacity(rounds);
    let mut in_sim = Vec::with_capacity(rounds);
    // Interleaved, so both see the same machine.
    for _ in 0..rounds {
        // Timed from the moment the simulator fires, on its own thread (as
        // its playback clock does), to the subscriber's event.
        let fired = fire_on_sim_thread(sim, sim_rt).await;
        next_rv_event(&mut events).await;
        let received = Instant::now();
        let (fired, handlers) = fired.await.unwrap();
        one_way.push(received.duration_since(fired));
        in_sim.push(handlers);
        let start = Instant::now();
        client.eval("1").await.unwrap();
        round_trip.push(start.elapsed());
    }
    // The same, read by a bare tokio socket with no engine: the bound any
    // client pays here (the simulator's writer, loopback, a thread wake-up).
    let mut bare = raw_subscriber(sim).await;
    let mut floor = Vec::with_capacity(rounds);
    for i in 0..rounds + 200 {
        let fired = fire_on_sim_thread(sim, sim_rt).await;
        let frame = bare.next().await.unwrap().unwrap();
        let received = Instant::now();
        assert!(matches!(frame, Frame::Message(ref m) if m.starts_with("EVENT frame-changed")));
        let (fired, _) = fired.await.unwrap();
        if i >= 200 {
            floor.push(received.duration_since(fired));
        }
    }
    let floor = common::stats(floor);
    let event = common::stats(one_way);
    let trip = common::stats(round_trip);
    let handlers = common::stats(in_sim);
    let ratio = event.median.as_secs_f64() / trip.median.as_secs_f64();
    println!("event latency ({rounds} events, interleaved with as many round trips)");
    println!(
        "  (a fire_event called from the subscriber's thread would add the hop to the \
         simulator's thread that the round trip also pays)"
    );
    println!(
        "  sim fires frame-changed -> RvEvent   median {:>7.1} us   p99 {:>7.1} us   {ratio:.2}x round trip",
        us(event.median),
        us(event.p99)
    );
    println!(
        "    of which the simulator runs the Mu handler and queues the EVENT: median {:.1} us",
        us(handlers.median)
    );
    println!(
        "  bare tokio socket, no engine          median {:>7.1} us   p99 {:>7.1} us   {:.2}x round trip",
        us(floor.median),
        us(floor.p99),
        floor.median.as_secs_f64() / trip.median.as_secs_f64()
    );
    println!(
        "  baseline: eval(\"1\") RETURNEVENT->RETURN median {:>7.1} us   p99 {:>7.1} us",
        us(trip.median),
        us(trip.p99)
    );
    let verdict = if ratio <= 0.6 { "met" } else { "NOT met" };
    println!("  target: median at most 0.6x the round trip: {verdict}");
    client.close().await;
}

async fn playback(sim: &Simulator, fps: u32, seconds: u64) {
    let (client, mut events) = subscriber(sim, &format!("bench-play-{fps}")).await;
    client
        .eval(format!(
            "stop(); setFrameStart(1); setFrameEnd(10000000); setFrame(1); setFPS({fps}.0)"
        ))
        .await
        .unwrap();
    // Nothing of the set-up is counted: drain it behind a marker.
    sim.fire_event("play-start", "marker");
    while next_rv_event(&mut events).await.name != "play-start" {}
    let fired_before = sim.events_fired("frame-changed");
    let cpu_before = thread_cpu();
    client.eval("play()").await.unwrap();
    let mut received = 0u64;
    let until = tokio::time::Instant::now() + Duration::from_secs(seconds);
    loop {
        tokio::select! {
            event = next_rv_event(&mut events) => {
                if event.name == "frame-changed" {
                    received += 1;
                }
            }
            _ = tokio::time::sleep_until(until) => break,
        }
    }
    client.eval("stop()").await.unwrap();
    // Everything fired before play-stop arrives before it.
    loop {
        let event = next_rv_event(&mut events).await;
        match event.name.as_str() {
            "frame-changed" => received += 1,
            "play-stop" => break,
            _ => {}
        }
    }
    let cpu = thread_cpu() - cpu_before;
    let fired = sim.events_fired("frame-changed") - fired_before;
    let lost = fired.saturating_sub(received);
    println!(
        "{fps:>3} fps for {seconds} s: frame-changed fired {fired:>5}, received {received:>5}, lost {lost} \
         ({:.1} fired/s); subscriber CPU {:.1} ms = {:.2}% of one core",
        fired as f64 / seconds as f64,
        cpu.as_secs_f64() * 1e3,
        cpu.as_secs_f64() / seconds as f64 * 100.0
    );
    client.close().await;
}

/// A subscriber without the engine: greeting, heartbeat off and the install
/// written and read by hand.
async fn raw_subscriber(sim: &Simulator) -> Framed<TcpStream, RvCodec> {
    let stream = TcpStream::connect(sim.local_addr()).await.unwrap();
    stream.set_nodelay(true).unwrap();
    let mut peer = Framed::new(stream, RvCodec::default());
    peer.send(Frame::NewGreeting {
        contact: "bench-bare".into(),
        app: "rvshell".into(),
    })
    .await
    .unwrap();
    peer.send(Frame::PingPongControl(false)).await.unwrap();
    assert!(matches!(peer.next().await, Some(Ok(Frame::Greeting(_)))));
    let install = events::install_code("bench-bare", &["frame-changed".to_owned()]);
    peer.send(Frame::Message(format!(
        "RETURNEVENT remote-eval * {install}"
    )))
    .await
    .unwrap();
    assert_eq!(
        peer.next().await.unwrap().unwrap(),
        Frame::Message("RETURN true".into())
    );
    peer
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// CPU time of the calling thread (the subscriber's runtime runs on it).
fn thread_cpu() -> Duration {
    // SAFETY: clock_gettime writes into the timespec we own.
    let mut ts: libc::timespec = unsafe { std::mem::zeroed() };
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}
