//! A fault-injecting TCP proxy the tests own (these kernels have no
//! `tc netem`): between a client and an upstream server on loopback, it
//! can add latency with jitter, cap the bandwidth, deliver byte by byte or
//! in random pieces, stall, cut a connection after N bytes in either
//! direction, and refuse new connections until told to pass again.
//!
//! Faults are set on the [`Proxy`] at any time and apply to every
//! connection from then on (a stall or a cut also to those open).
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// Which way bytes go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    /// Client to upstream.
    Up,
    /// Upstream to client.
    Down,
}

/// What the proxy does to the bytes it forwards.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Added to every piece forwarded, plus or minus `jitter`.
    pub latency: Duration,
    pub jitter: Duration,
    /// Bytes per second per direction; `None`: as fast as loopback.
    pub bandwidth: Option<u64>,
    /// Largest piece written at once (1: byte by byte); `None`: what was read.
    pub piece: Option<usize>,
    /// Pieces of a random size between 1 and `piece` instead of exactly it.
    pub random_pieces: bool,
    /// Close every connection once this many bytes went this way.
    pub cut_after: Option<(Dir, u64)>,
    /// Forward nothing while set (bytes wait).
    pub stalled: bool,
    /// Refuse new connections (accept and close them at once).
    pub refusing: bool,
}

/// A running proxy; stops when dropped.
pub struct Proxy {
    addr: SocketAddr,
    faults: watch::Sender<Faults>,
    task: tokio::task::JoinHandle<()>,
    /// Bytes forwarded so far, up and down, over every connection.
    pub counts: Arc<Mutex<(u64, u64)>>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Proxy {
    /// Listens on a free loopback port and forwards to `upstream`.
    pub async fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (faults, watch) = watch::channel(Faults::default());
        let counts = Arc::new(Mutex::new((0, 0)));
        let task = tokio::spawn({
            let counts = counts.clone();
            async move {
                while let Ok((client, _)) = listener.accept().await {
                    if watch.borrow().refusing {
                        drop(client);
                        continue;
                    }
                    let Ok(server) = TcpStream::connect(upstream).await else {
                        continue;
                    };
                    let _ = client.set_nodelay(true);
                    let _ = server.set_nodelay(true);
                    let (client_read, client_write) = client.into_split();
                    let (server_read, server_write) = server.into_split();
                    let (closed_tx, closed) = watch::channel(false);
                    tokio::spawn(pump(
                        client_read,
                        server_write,
                        Dir::Up,
                        watch.clone(),
                        counts.clone(),
                        closed_tx.clone(),
                        closed.clone(),
                    ));
                    tokio::spawn(pump(
                        server_read,
                        client_write,
                        Dir::Down,
                        watch.clone(),
                        counts.clone(),
                        closed_tx,
                        closed,
                    ));
                }
            }
        });
        Proxy {
            addr,
            faults,
            task,
            counts,
        }
    }

    /// Where clients connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Changes the faults (see [`Faults`]).
    pub fn set(&self, change: impl FnOnce(&mut Faults)) {
        self.faults.send_modify(change);
    }
}

/// Forwards one direction of one connection under the current faults;
/// ends both directions when one ends or is cut. A reader stamps each chunk
/// with when it may arrive (now + latency +- jitter, never before the chunk
/// before it: TCP keeps order); a writer delivers it then, paced by the
/// bandwidth, in pieces, holding it through a stall.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    dir: Dir,
    mut faults: watch::Receiver<Faults>,
    counts: Arc<Mutex<(u64, u64)>>,
    closed_tx: watch::Sender<bool>,
    mut closed: watch::Receiver<bool>,
) {
    // Bounded: a slow link pushes back on the sender, as TCP does, instead
    // of the proxy soaking everything up at loopback speed.
    let (chunks_tx, mut chunks) = tokio::sync::mpsc::channel::<(tokio::time::Instant, Vec<u8>)>(2);
    let reader = {
        let faults = faults.clone();
        let mut closed = closed.clone();
        tokio::spawn(async move {
            let mut rng = fastrand::Rng::with_seed(7 + dir as u64);
            let mut last_due = tokio::time::Instant::now();
            let mut buf = vec![0u8; 64 << 10];
            loop {
                let n = tokio::select! {
                    read = from.read(&mut buf) => match read {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    },
                    _ = closed.wait_for(|c| *c) => break,
                };
                let f = faults.borrow().clone();
                let mut delay = f.latency.as_secs_f64();
                if !f.jitter.is_zero() {
                    delay += f.jitter.as_secs_f64() * (rng.f64() * 2.0 - 1.0);
                }
                let due = (tokio::time::Instant::now() + Duration::from_secs_f64(delay.max(0.0)))
                    .max(last_due);
                last_due = due;
                if chunks_tx.send((due, buf[..n].to_vec())).await.is_err() {
                    break;
                }
            }
        })
    };
    let mut rng = fastrand::Rng::with_seed(11 + dir as u64);
    let mut sent: u64 = 0;
    // When the link is free again, for the bandwidth cap.
    let mut free_at = tokio::time::Instant::now();
    'conn: loop {
        let (due, chunk) = tokio::select! {
            chunk = chunks.recv() => match chunk {
                Some(chunk) => chunk,
                None => break,
            },
            _ = closed.wait_for(|c| *c) => break,
        };
        tokio::time::sleep_until(due).await;
        let mut at = 0;
        while at < chunk.len() {
            // Wait out a stall (bytes are held, not lost).
            if faults.wait_for(|f| !f.stalled).await.is_err() {
                break 'conn;
            }
            let f = faults.borrow().clone();
            let mut piece = chunk.len() - at;
            if let Some(max) = f.piece {
                let max = max.max(1);
                piece = piece.min(if f.random_pieces {
                    rng.usize(1..=max)
                } else {
                    max
                });
            }
            if let Some((cut_dir, limit)) = f.cut_after
                && cut_dir == dir
            {
                let left = limit.saturating_sub(sent);
                if left == 0 {
                    break 'conn;
                }
                piece = piece.min(usize::try_from(left).unwrap_or(usize::MAX));
            }
            if let Some(rate) = f.bandwidth {
                let now = tokio::time::Instant::now();
                free_at = free_at.max(now) + Duration::from_secs_f64(piece as f64 / rate as f64);
                tokio::time::sleep_until(free_at).await;
            }
            if to.write_all(&chunk[at..at + piece]).await.is_err() {
                break 'conn;
            }
            at += piece;
            sent += piece as u64;
            let mut c = counts.lock().unwrap();
            match dir {
                Dir::Up => c.0 += piece as u64,
                Dir::Down => c.1 += piece as u64,
            }
        }
    }
    reader.abort();
    let _ = to.shutdown().await;
    let _ = closed_tx.send(true);
}
