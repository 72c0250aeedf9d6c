//! RV protocol benchmarks, each printed next to a baseline measured in the same run.
//!
//! - Frame parsing: MB/s for large data frames and frames/s for small MESSAGEs,
//!   against a plain `memchr`-free copy of the same bytes (the memory floor).
//! - RETURNEVENT -> RETURN round trip against the in-process simulator on
//!   loopback, against a raw blocking TCP echo of the same request bytes (the
//!   socket floor). Two rows show where the time goes: a blocking hand-framed
//!   client to the same simulator (the server's share), and a bare tokio socket
//!   writing and reading the same frames with no engine (what any async client
//!   pays). The engine's round trip is timed as the TUI
//!   makes it, awaited in a task on the engine's runtime, and again with one
//!   `block_on` per request, as a one-shot script does. All are timed in
//!   interleaved blocks so that all of them see the same machine state, with
//!   client and server pinned to one CPU and to two; and left to the
//!   scheduler, which places each pair as it likes (times only).
//!
//! Run: `cargo bench --bench rv` (add `-- --quick` for a short run).

use bytes::{Bytes, BytesMut};
use rvshell::rv::client::{Config, RvClient};
use rvshell::rv::frame::{Frame, Limits};
use std::hint::black_box;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

mod common;
use common::{Stats, stats};

const PLAY: &str = r#"play();"FRAME = " + frame();"#;

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let rounds = if quick { 2_000 } else { 20_000 };
    println!("rvshell RV protocol benchmark ({rounds} round trips per row)\n");
    parse_throughput(quick);
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    // Where the threads run decides loopback latency more than anything: a
    // wake-up on the same CPU is a context switch, on another CPU an
    // inter-processor interrupt (several microseconds on this VM). The
    // baseline and rvshell are pinned the same way, both ways.
    println!("client and server on the same CPU:");
    let same = round_trips(rounds, Some(0), Some(0));
    let apart = (cpus > 1).then(|| {
        println!("\nclient on CPU 0, server on CPU 1:");
        round_trips(rounds, Some(0), Some(1))
    });
    // Left to the scheduler, each pair is placed on its own: on this VM the
    // blocking echo pair shares a CPU and the simulator and engine do not,
    // so only the times, not the ratios, say anything here.
    println!(
        "\nno pinning, each pair placed by the scheduler (compare times with the rows above; \
         ratios mix placements):"
    );
    round_trips(rounds, None, None);
    println!(
        "\ntarget: engine median within 1.5x of the raw echo floor: same CPU {}{}",
        verdict(same),
        apart.map_or(String::new(), |r| format!(", separate CPUs {}", verdict(r)))
    );
}

fn verdict(ratio: f64) -> String {
    format!(
        "{ratio:.2}x ({})",
        if ratio <= 1.5 { "met" } else { "NOT met" }
    )
}

fn encode(frames: &[Frame]) -> BytesMut {
    let mut buf = BytesMut::new();
    for frame in frames {
        frame.encode(&mut buf).unwrap();
    }
    buf
}

fn parse_throughput(quick: bool) {
    let limits = Limits::default();
    let repeat = if quick { 20 } else { 200 };
    // Large: 4 MiB PIXELTILEs.
    let tile = Frame::Data {
        header: "PIXELTILE(media=m,view=left,w=1024,h=1024,x=0,y=0,f=1)".into(),
        payload: Bytes::from(vec![7u8; 4 << 20]),
    };
    let big = encode(&vec![tile; 8]);
    let start = Instant::now();
    for _ in 0..repeat {
        let mut buf = big.clone();
        while let Some(frame) = Frame::parse(&mut buf, &limits).unwrap() {
            black_box(frame);
        }
    }
    let parse = start.elapsed();
    let start = Instant::now();
    for _ in 0..repeat {
        black_box(big.to_vec());
    }
    let copy = start.elapsed();
    let mb = (big.len() * repeat) as f64 / 1e6;
    println!(
        "parse, 4 MiB PIXELTILE frames: {:>9.0} MB/s   memcpy floor {:>9.0} MB/s   ratio {:.2}x",
        mb / parse.as_secs_f64(),
        mb / copy.as_secs_f64(),
        parse.as_secs_f64() / copy.as_secs_f64()
    );

    // Small: rvshell's Play button as a MESSAGE, 10,000 back to back.
    let play = Frame::Message(format!("RETURNEVENT remote-eval * {PLAY}"));
    let small = encode(&vec![play; 10_000]);
    let start = Instant::now();
    let mut count = 0usize;
    for _ in 0..repeat {
        let mut buf = small.clone();
        while let Some(frame) = Frame::parse(&mut buf, &limits).unwrap() {
            black_box(frame);
            count += 1;
        }
    }
    let parse = start.elapsed();
    println!(
        "parse, 54-byte MESSAGE frames: {:>9.2} M frames/s ({:.0} ns/frame)\n",
        count as f64 / parse.as_secs_f64() / 1e6,
        parse.as_nanos() as f64 / count as f64
    );
}

fn row(name: &str, s: &Stats, floor: Option<&Stats>) {
    let ratio = floor.map_or(String::new(), |f| {
        format!(
            "   {:.2}x floor",
            s.median.as_secs_f64() / f.median.as_secs_f64()
        )
    });
    println!(
        "{name:<44} median {:>7.1} us   p99 {:>7.1} us   {:>8.0}/s{ratio}",
        s.median.as_secs_f64() * 1e6,
        s.p99.as_secs_f64() * 1e6,
        s.rate
    );
}

fn timed(rounds: usize, mut one: impl FnMut()) -> Stats {
    for _ in 0..rounds / 10 {
        one();
    }
    let mut samples = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let t = Instant::now();
        one();
        samples.push(t.elapsed());
    }
    stats(samples)
}

/// Round trips timed together, one after another.
const BLOCK: usize = 500;

/// Runs one block of a kind of round trip, adding its timings.
type Block<'a> = &'a mut dyn FnMut(&mut Vec<Duration>);

/// A block of `BLOCK` round trips of `one`, each timed.
fn timed_block(mut one: impl FnMut()) -> impl FnMut(&mut Vec<Duration>) {
    move |samples| {
        for _ in 0..BLOCK {
            let t = Instant::now();
            one();
            samples.push(t.elapsed());
        }
    }
}

/// Times several round-trip kinds side by side: blocks of `BLOCK` rounds of
/// each in turn, so that all of them see the same machine state (this VM
/// switches between a fast and a slow loopback now and then). Each kind runs
/// one block per call, adding its timings.
fn interleaved<const N: usize>(rounds: usize, mut kinds: [Block<'_>; N]) -> [Stats; N] {
    for kind in kinds.iter_mut() {
        kind(&mut Vec::new());
    }
    let mut samples: [Vec<Duration>; N] = std::array::from_fn(|_| Vec::with_capacity(rounds));
    while samples[0].len() < rounds {
        for (kind, samples) in kinds.iter_mut().zip(samples.iter_mut()) {
            kind(samples);
        }
    }
    samples.map(stats)
}

/// Round trips with the client thread on `client_cpu` and the servers'
/// threads on `server_cpu` (`None`: wherever the scheduler puts them);
/// returns the engine's ratio to the floor.
fn round_trips(rounds: usize, client_cpu: Option<usize>, server_cpu: Option<usize>) -> f64 {
    // Threads inherit their creator's CPUs: set the client's first.
    common::pin(client_cpu);
    let request = encode(&[Frame::Message(format!("RETURNEVENT remote-eval * {PLAY}"))]).to_vec();

    // The simulator's evaluator alone, without any network.
    let mut session = rvshell::sim::mu::Session::new();
    let eval = timed(rounds, || {
        black_box(session.eval_mu(PLAY, std::time::Instant::now()));
    });
    row("simulator's Mu evaluation alone (no I/O)", &eval, None);

    // Floor: a blocking echo server thread; send the request, read as many bytes back.
    let echo = TcpListener::bind("127.0.0.1:0").unwrap();
    let echo_addr = echo.local_addr().unwrap();
    std::thread::spawn(move || {
        common::pin(server_cpu);
        let (mut s, _) = echo.accept().unwrap();
        s.set_nodelay(true).unwrap();
        let mut buf = [0u8; 4096];
        while let Ok(n) = s.read(&mut buf) {
            if n == 0 || s.write_all(&buf[..n]).is_err() {
                break;
            }
        }
    });
    let mut echo = TcpStream::connect(echo_addr).unwrap();
    echo.set_nodelay(true).unwrap();
    let mut back = vec![0u8; request.len()];
    let mut floor = timed_block(|| {
        echo.write_all(&request).unwrap();
        echo.read_exact(&mut back).unwrap();
    });

    // The simulator on its own runtime thread, as `rvshell sim` runs it.
    let (_sim_rt, sim) = common::simulator_on(server_cpu);
    let port = sim.local_addr().port();

    // Hand-framed blocking client to the simulator: the server's share of the time.
    // A hand-made client's greeting, heartbeat off, as the engine's.
    let hello = |contact: &str| {
        encode(&[
            Frame::NewGreeting {
                contact: contact.into(),
                app: "raw".into(),
            },
            Frame::PingPongControl(false),
        ])
    };
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_nodelay(true).unwrap();
    s.write_all(&hello("bench")).unwrap();
    let mut greeting = [0u8; 16]; // "GREETING 5 rvsim"
    s.read_exact(&mut greeting).unwrap();
    let mut buf = [0u8; 256];
    let mut raw_sim = timed_block(|| {
        s.write_all(&request).unwrap();
        // "MESSAGE NN RETURN \"FRAME = N\"": read until a complete frame is in.
        let mut have = 0;
        loop {
            have += s.read(&mut buf[have..]).unwrap();
            if rvshell::rv::frame::frame_len(&buf[..have], &Limits::default())
                .is_some_and(|len| len <= have)
            {
                break;
            }
        }
    });

    // rvshell's engine: RvClient::eval on a current-thread runtime.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = rt.block_on(async {
        let (client, _events) = RvClient::connect(Config::new("127.0.0.1", port))
            .await
            .unwrap();
        client
    });
    // Awaited in a task on the engine's runtime, as the TUI sends its
    // requests: the time from the call to the answer.
    let mut engine = |samples: &mut Vec<Duration>| {
        let client = client.clone();
        samples.extend(rt.block_on(async move {
            tokio::spawn(async move {
                let mut times = Vec::with_capacity(BLOCK);
                for _ in 0..BLOCK {
                    let t = Instant::now();
                    black_box(client.eval(PLAY).await.unwrap());
                    times.push(t.elapsed());
                }
                times
            })
            .await
            .unwrap()
        }));
    };
    // The least any async client pays: a bare tokio socket on the same
    // runtime, write the request and read until a frame is in, no engine.
    let bare_socket = rt.block_on(async {
        let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .unwrap();
        s.set_nodelay(true).unwrap();
        s.write_all(&hello("bare")).await.unwrap();
        s.read_exact(&mut [0u8; 16]).await.unwrap();
        s
    });
    let bare_socket = std::sync::Arc::new(tokio::sync::Mutex::new(bare_socket));
    let mut bare = |samples: &mut Vec<Duration>| {
        let (socket, request) = (bare_socket.clone(), request.clone());
        samples.extend(rt.block_on(async move {
            tokio::spawn(async move {
                let mut s = socket.lock().await;
                let mut buf = [0u8; 256];
                let mut times = Vec::with_capacity(BLOCK);
                for _ in 0..BLOCK {
                    let t = Instant::now();
                    s.write_all(&request).await.unwrap();
                    let mut have = 0;
                    loop {
                        have += s.read(&mut buf[have..]).await.unwrap();
                        if rvshell::rv::frame::frame_len(&buf[..have], &Limits::default())
                            .is_some_and(|len| len <= have)
                        {
                            break;
                        }
                    }
                    times.push(t.elapsed());
                }
                times
            })
            .await
            .unwrap()
        }));
    };
    // One `block_on` per request, as a one-shot script does: adds the
    // runtime's own entry and exit to every round trip.
    let mut per_call = timed_block(|| {
        rt.block_on(async {
            black_box(client.eval(PLAY).await.unwrap());
        })
    });
    let [floor, raw_sim, bare, engine, per_call] = interleaved(
        rounds,
        [
            &mut floor,
            &mut raw_sim,
            &mut bare,
            &mut engine,
            &mut per_call,
        ],
    );
    row("raw blocking TCP echo (floor)", &floor, None);
    row(
        "blocking hand-framed client -> simulator",
        &raw_sim,
        Some(&floor),
    );
    row(
        "bare tokio socket -> simulator (no engine)",
        &bare,
        Some(&floor),
    );
    row(
        "RvClient::eval -> simulator (rvshell engine)",
        &engine,
        Some(&floor),
    );
    row(
        "  the same, one block_on per request",
        &per_call,
        Some(&floor),
    );
    rt.block_on(client.close());
    drop(sim);
    engine.median.as_secs_f64() / floor.median.as_secs_f64()
}
