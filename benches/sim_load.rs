//! The simulator under load, each figure next to a baseline of the same run:
//!
//! - 1,000 simultaneous clients, each greeting and answering `frame()`:
//!   how long it takes and the simulator process's memory (VmRSS) before and
//!   with them all connected.
//! - A client whose uploaded Mu never ends (`while (true) {}`, cut off by the
//!   step limit) and another client's `frame()` meanwhile: its round trip
//!   median, p99 and max, next to the same client's without the endless job.
//!
//! The simulator runs as `rvshell sim` does, on its own thread.

mod common;

use rvshell::rv::client::{Config, RvClient};
use std::time::{Duration, Instant};

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let (clients, rounds) = if quick { (200, 200) } else { (1000, 2000) };
    let (_thread, sim) = common::simulator();
    let port = sim.local_addr().port();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    println!("rvshell simulator under load\n");
    rt.block_on(many_clients(port, clients));
    rt.block_on(endless_neighbour(port, rounds));
}

async fn many_clients(port: u16, count: usize) {
    let before = rss_kib();
    let start = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..count {
        tasks.push(tokio::spawn(async move {
            let mut config = Config::new("127.0.0.1", port);
            config.contact = format!("load-{i}");
            config.handshake_timeout = Duration::from_secs(60);
            config.request_timeout = Duration::from_secs(60);
            let (client, _) = RvClient::connect(config).await.unwrap();
            client.eval("frame()").await.unwrap();
            client
        }));
    }
    let mut held = Vec::new();
    for task in tasks {
        held.push(task.await.unwrap());
    }
    let took = start.elapsed();
    let with = rss_kib();
    println!(
        "{count} clients connected, greeted and answered frame() in {:.2} s; \
         process RSS {:.1} MiB before, {:.1} MiB with them ({:.1} KiB a client, both ends)",
        took.as_secs_f64(),
        before as f64 / 1024.0,
        with as f64 / 1024.0,
        with.saturating_sub(before) as f64 / count as f64
    );
    for client in held {
        client.close().await;
    }
}

async fn round_trips(client: &RvClient, rounds: usize) -> common::Stats {
    let mut times = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let start = Instant::now();
        client.eval("frame()").await.unwrap();
        times.push(start.elapsed());
    }
    common::stats(times)
}

async fn endless_neighbour(port: u16, rounds: usize) {
    let config = |name: &str| {
        let mut c = Config::new("127.0.0.1", port);
        c.contact = name.into();
        c.request_timeout = Duration::from_secs(60);
        c
    };
    let (asker, _) = RvClient::connect(config("asker")).await.unwrap();
    let (hog, _) = RvClient::connect(config("hog")).await.unwrap();
    let alone = round_trips(&asker, rounds).await;
    // How long one endless job takes to hit the step limit.
    let start = Instant::now();
    let answer = hog.eval("while (true) {}").await.unwrap();
    let one_job = start.elapsed();
    assert!(answer.starts_with("ERROR:"), "{answer}");
    let stop = tokio_util::sync::CancellationToken::new();
    let hogging = tokio::spawn({
        let stop = stop.clone();
        let hog = hog.clone();
        async move {
            let mut jobs = 0u64;
            while !stop.is_cancelled() {
                let _ = hog.eval("while (true) {}").await;
                jobs += 1;
            }
            jobs
        }
    });
    let mut times = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let start = Instant::now();
        asker.eval("frame()").await.unwrap();
        times.push(start.elapsed());
    }
    let max = *times.iter().max().unwrap();
    let beside = common::stats(times);
    stop.cancel();
    let jobs = hogging.await.unwrap();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "\nan endless job (while (true) {{}}) runs {:.1} ms before a limit answers ERROR:",
        ms(one_job)
    );
    println!(
        "frame() alone:                median {:>7.3} ms  p99 {:>7.3} ms",
        ms(alone.median),
        ms(alone.p99)
    );
    println!(
        "frame() beside endless jobs:  median {:>7.3} ms  p99 {:>7.3} ms  max {:>7.3} ms  ({jobs} jobs meanwhile)",
        ms(beside.median),
        ms(beside.p99),
        ms(max)
    );
    asker.close().await;
    hog.close().await;
}
