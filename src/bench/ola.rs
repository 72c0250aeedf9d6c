//! Throughput and latency measurements against an olad, with the reference
//! clients measured in the same run as baselines (ola-rpc.md §9).
//!
//! Used by `rvshell dmx bench` and by `benches/ola.rs`. Three measurements,
//! each over `frames` full 512-slot frames where frame `i` carries slot `c` =
//! `(i + c) & 0xff` (so every frame differs):
//!
//! - **sequential**: `UpdateDmxData`, wait for the Ack, send the next one;
//!   round-trip median and p99, requests per second.
//! - **pipelined**: `UpdateDmxData` with up to [`PIPELINE_WINDOW`] requests
//!   outstanding; requests per second.
//! - **streamed**: `StreamDmxData` as fast as possible, then one round-trip
//!   barrier; frames per second including the barrier, and a `GetDmx`
//!   readback that must equal the last frame (else frames were lost).
//!
//! Baselines: the OLA Python client (`/usr/bin/python3`, module `ola`:
//! `ClientWrapper` + `SendDmx`, sequential and pipelined), and
//! `ola_streaming_client` fed the same frames as text on stdin. The latter
//! can only talk to olad's default address ([`DEFAULT_ADDR`]), so it is run
//! only when olad is there.
//! A baseline that is not installed is reported as such, not failed.

use crate::ola::client::{ClientConfig, DEFAULT_ADDR, OlaClient, OlaError};
use crate::ola::daemon::{DaemonError, OladOptions, OladProcess};
use crate::ola::join_slots;
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use std::fmt::Write as _;
use std::io::{Read as _, Write as _};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Outstanding requests in the pipelined measurement.
pub const PIPELINE_WINDOW: usize = 32;

/// The Python driver for the OLA Python client (run with `/usr/bin/python3`).
/// Arguments: port, universe, frames, window. Prints `seq_elapsed S`,
/// `rtt_us a,b,c...`, `pipe_elapsed S` and `failures N`.
pub const PYTHON_DRIVER: &str = r#"
import array, socket, sys, time
from ola.ClientWrapper import ClientWrapper

port, universe, n, window = (int(a) for a in sys.argv[1:5])
sock = socket.create_connection(("127.0.0.1", port))
wrapper = ClientWrapper(sock)
client = wrapper.Client()
frames = [array.array("B", [(i + c) & 0xFF for c in range(512)]) for i in range(256)]
st = {"i": 0, "t": 0.0, "fail": 0, "sent": 0, "done": 0}
rtts = []

def seq_done(status):
    rtts.append(time.perf_counter() - st["t"])
    if not status.Succeeded():
        st["fail"] += 1
    st["i"] += 1
    if st["i"] < n:
        seq_send()
    else:
        wrapper.Stop()

def seq_send():
    st["t"] = time.perf_counter()
    client.SendDmx(universe, frames[st["i"] % 256], seq_done)

t0 = time.perf_counter()
seq_send()
wrapper.Run()
seq_elapsed = time.perf_counter() - t0

def pipe_done(status):
    if not status.Succeeded():
        st["fail"] += 1
    st["done"] += 1
    if st["sent"] < n:
        pipe_send()
    elif st["done"] == n:
        wrapper.Stop()

def pipe_send():
    i = st["sent"]
    st["sent"] += 1
    client.SendDmx(universe, frames[i % 256], pipe_done)

t0 = time.perf_counter()
for _ in range(min(window, n)):
    pipe_send()
wrapper.Run()
pipe_elapsed = time.perf_counter() - t0
print("seq_elapsed", seq_elapsed)
print("rtt_us", ",".join("%.1f" % (r * 1e6) for r in rtts))
print("pipe_elapsed", pipe_elapsed)
print("failures", st["fail"])
"#;

/// Frame `i` of a run: slot `c` = `(i + c) & 0xff`.
pub fn bench_frame(i: usize) -> [u8; 512] {
    let mut frame = [0u8; 512];
    for (c, slot) in frame.iter_mut().enumerate() {
        *slot = ((i + c) & 0xff) as u8;
    }
    frame
}

/// Latency figures of a sequential run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Latency {
    /// Median round trip.
    pub median: Duration,
    /// 99th percentile round trip.
    pub p99: Duration,
    /// Requests per second over the whole run.
    pub rate: f64,
}

/// One client's figures; `None` where a measurement was not possible.
#[derive(Debug, Clone, Default)]
pub struct ClientFigures {
    /// Sequential UpdateDmxData.
    pub sequential: Option<Latency>,
    /// Pipelined UpdateDmxData, requests per second.
    pub pipelined: Option<f64>,
    /// StreamDmxData frames per second (with the closing barrier).
    pub streamed: Option<f64>,
    /// Whether the readback after streaming matched the last frame.
    pub readback_ok: Option<bool>,
    /// Why something is missing, or what went wrong.
    pub notes: Vec<String>,
}

/// Everything measured in one run.
#[derive(Debug, Clone)]
pub struct BenchReport {
    /// Frames per measurement.
    pub frames: usize,
    /// This project's client.
    pub rvshell: ClientFigures,
    /// A bare blocking socket (the protocol floor).
    pub raw: ClientFigures,
    /// The OLA Python client.
    pub python: ClientFigures,
    /// `ola_streaming_client`.
    pub streaming_client: ClientFigures,
}

fn latency(mut rtts: Vec<Duration>, total: Duration) -> Latency {
    rtts.sort_unstable();
    let pick = |q: f64| {
        let idx = ((rtts.len() as f64 - 1.0) * q).round() as usize;
        rtts.get(idx).copied().unwrap_or_default()
    };
    Latency {
        median: pick(0.5),
        p99: pick(0.99),
        rate: rtts.len() as f64 / total.as_secs_f64(),
    }
}

/// Measures this project's client against olad at `addr` on `universe`
/// (which must exist, e.g. patched to a port).
pub async fn measure_rvshell(
    addr: &str,
    universe: u32,
    frames: usize,
) -> Result<ClientFigures, OlaError> {
    let client = OlaClient::connect_with(
        addr,
        ClientConfig {
            reconnect: false,
            ..ClientConfig::default()
        },
    )
    .await?;
    let mut figures = ClientFigures::default();

    // Warm-up, and a clear error if the universe is missing.
    client.update_dmx(universe, &bench_frame(0), None).await?;

    let mut rtts = Vec::with_capacity(frames);
    let started = Instant::now();
    for i in 0..frames {
        let t = Instant::now();
        client.update_dmx(universe, &bench_frame(i), None).await?;
        rtts.push(t.elapsed());
    }
    figures.sequential = Some(latency(rtts, started.elapsed()));

    let started = Instant::now();
    let mut inflight = FuturesUnordered::new();
    let mut next = 0;
    while next < frames || !inflight.is_empty() {
        while next < frames && inflight.len() < PIPELINE_WINDOW {
            let frame = bench_frame(next);
            let client = &client;
            inflight.push(async move { client.update_dmx(universe, &frame, None).await });
            next += 1;
        }
        if let Some(result) = inflight.next().await {
            result?;
        }
    }
    figures.pipelined = Some(frames as f64 / started.elapsed().as_secs_f64());

    let started = Instant::now();
    for i in 0..frames {
        client
            .stream_dmx(universe, &bench_frame(i), Some(100))
            .await?;
    }
    client.flush().await?;
    figures.streamed = Some(frames as f64 / started.elapsed().as_secs_f64());
    let last = bench_frame(frames.saturating_sub(1));
    figures.readback_ok = Some(client.get_dmx(universe).await?.as_ref() == last.as_slice());
    client.close().await?;
    Ok(figures)
}

/// Measures the protocol floor: a blocking std socket writing pre-framed
/// `UpdateDmxData` requests and reading each 10-byte Ack, no client at all.
pub fn measure_raw_floor(addr: &str, universe: u32, frames: usize) -> ClientFigures {
    use crate::ola::codec::encode_request;
    use crate::ola::pb::proto::DmxData;
    use crate::ola::pb::rpc::Type;
    use std::io::Read as _;
    let mut figures = ClientFigures::default();
    let run = || -> std::io::Result<Latency> {
        let mut sock = std::net::TcpStream::connect(addr)?;
        sock.set_nodelay(true)?;
        let mut reply = [0u8; 10];
        let mut rtts = Vec::with_capacity(frames);
        let mut buf = bytes::BytesMut::new();
        let started = Instant::now();
        for i in 0..frames {
            buf.clear();
            let dmx = DmxData {
                universe: universe as i32,
                data: bytes::Bytes::copy_from_slice(&bench_frame(i)),
                priority: None,
            };
            encode_request(Type::Request, 1, "UpdateDmxData", &dmx, &mut buf)
                .map_err(std::io::Error::other)?;
            let t = Instant::now();
            sock.write_all(&buf)?;
            sock.read_exact(&mut reply)?;
            rtts.push(t.elapsed());
            // An Ack is 10 bytes; anything else (a failure) is longer.
            if reply[4..6] != [0x08, 0x02] {
                return Err(std::io::Error::other("olad did not Ack"));
            }
        }
        Ok(latency(rtts, started.elapsed()))
    };
    match run() {
        Ok(l) => figures.sequential = Some(l),
        Err(err) => figures.notes.push(format!("raw floor not measured: {err}")),
    }
    figures
}

/// How long a baseline client may run before it is killed: far longer than
/// the reference clients need (about 10 k frames/s or better, ola-rpc.md
/// §9), yet finite, since OLA's Python client can wait forever once olad is
/// gone (ola-rpc.md §11).
pub fn child_deadline(frames: usize) -> Duration {
    Duration::from_secs(30).saturating_add(Duration::from_millis(
        u64::try_from(frames).unwrap_or(u64::MAX),
    ))
}

/// Runs `command` with `input` on its stdin, collecting its stdout and
/// stderr, and kills it (by its own PID) if it is still running after
/// `limit`. `Ok(None)` means it was killed. Blocks the calling thread.
fn run_child(
    command: &mut Command,
    input: Vec<u8>,
    limit: Duration,
) -> std::io::Result<Option<Output>> {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    // Feed and drain on threads of their own, so that neither a child that
    // stops reading nor one that writes a lot can hold up the deadline.
    let stdin = child.stdin.take();
    let feeder = std::thread::spawn(move || {
        if let Some(mut stdin) = stdin {
            // Fails once the child is gone; closing stdin is all that matters.
            let _ = stdin.write_all(&input);
        }
    });
    let drain = |pipe: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = drain(child.stdout.take().map(|p| Box::new(p) as _));
    let stderr = drain(child.stderr.take().map(|p| Box::new(p) as _));
    let deadline = Instant::now() + limit;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Ok(Some(status)),
            Ok(None) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(1));
            }
            Ok(None) => break Ok(None),
            Err(err) => break Err(err),
        }
    };
    if !matches!(status, Ok(Some(_))) {
        // Our own child, not yet reaped: its PID is still its own.
        let _ = child.kill();
        let _ = child.wait();
    }
    let _ = feeder.join();
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    Ok(status?.map(|status| Output {
        status,
        stdout,
        stderr,
    }))
}

/// Measures the OLA Python client (if `/usr/bin/python3` has module `ola`).
/// Blocks the calling thread; a run that outlives [`child_deadline`] is
/// killed.
pub fn measure_python(port: u16, universe: u32, frames: usize) -> ClientFigures {
    measure_python_within(port, universe, frames, child_deadline(frames))
}

fn measure_python_within(
    port: u16,
    universe: u32,
    frames: usize,
    limit: Duration,
) -> ClientFigures {
    let mut figures = ClientFigures::default();
    let output = run_child(
        Command::new("/usr/bin/python3").args([
            "-c",
            PYTHON_DRIVER,
            &port.to_string(),
            &universe.to_string(),
            &frames.to_string(),
            &PIPELINE_WINDOW.to_string(),
        ]),
        Vec::new(),
        limit,
    );
    let output = match output {
        Ok(Some(output)) => output,
        Ok(None) => {
            figures.notes.push(format!(
                "Python client killed after {limit:?} without finishing (is olad still running?)"
            ));
            return figures;
        }
        Err(err) => {
            figures
                .notes
                .push(format!("Python client not run: /usr/bin/python3: {err}"));
            return figures;
        }
    };
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last = stderr.lines().last().unwrap_or("").to_owned();
        figures.notes.push(format!(
            "Python client not run ({}): {last} (install it with `apt-get install ola-python`)",
            output.status
        ));
        return figures;
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut seq_elapsed = None;
    let mut pipe_elapsed = None;
    let mut rtts = Vec::new();
    for line in stdout.lines() {
        let (key, value) = line.split_once(' ').unwrap_or((line, ""));
        match key {
            "seq_elapsed" => seq_elapsed = value.parse::<f64>().ok(),
            "pipe_elapsed" => pipe_elapsed = value.parse::<f64>().ok(),
            "rtt_us" => {
                rtts = value
                    .split(',')
                    .filter_map(|v| v.parse::<f64>().ok())
                    .map(|us| Duration::from_secs_f64(us / 1e6))
                    .collect()
            }
            "failures" if value != "0" => figures
                .notes
                .push(format!("Python client: {value} requests failed")),
            _ => {}
        }
    }
    if let Some(total) = seq_elapsed
        && !rtts.is_empty()
    {
        figures.sequential = Some(latency(rtts, Duration::from_secs_f64(total)));
    }
    figures.pipelined = pipe_elapsed.map(|s| frames as f64 / s);
    figures
}

/// Measures `ola_streaming_client` (only possible against olad at
/// [`DEFAULT_ADDR`], the one address it knows), then reads the universe back
/// to see whether its last frame arrived. A run that outlives
/// [`child_deadline`] is killed.
pub async fn measure_streaming_client(addr: &str, universe: u32, frames: usize) -> ClientFigures {
    let mut figures = ClientFigures::default();
    if addr != DEFAULT_ADDR {
        figures.notes.push(format!(
            "ola_streaming_client not run: it can only reach olad at {DEFAULT_ADDR}, not {addr}"
        ));
        return figures;
    }
    let limit = child_deadline(frames);
    // About 2 KB of text per frame, and a child to wait for: off the
    // runtime thread.
    let run = tokio::task::spawn_blocking(move || {
        let mut text = String::with_capacity(frames * 2048);
        for i in 0..frames {
            text.push_str(&join_slots(&bench_frame(i)));
            text.push('\n');
        }
        let started = Instant::now();
        let output = run_child(
            Command::new("ola_streaming_client").args(["-u", &universe.to_string()]),
            text.into_bytes(),
            limit,
        );
        (output, started.elapsed())
    })
    .await;
    match run {
        Ok((Ok(Some(output)), elapsed)) if output.status.success() => {
            figures.streamed = Some(frames as f64 / elapsed.as_secs_f64());
        }
        Ok((Ok(Some(output)), _)) => {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let last = stderr.lines().last().unwrap_or("");
            figures.notes.push(format!(
                "ola_streaming_client failed ({}): {last}",
                output.status
            ));
            return figures;
        }
        Ok((Ok(None), _)) => {
            figures.notes.push(format!(
                "ola_streaming_client killed after {limit:?} without finishing"
            ));
            return figures;
        }
        Ok((Err(err), _)) => {
            figures
                .notes
                .push(format!("ola_streaming_client not run: {err}"));
            return figures;
        }
        Err(err) => {
            figures
                .notes
                .push(format!("ola_streaming_client measurement failed: {err}"));
            return figures;
        }
    }
    if let Ok(client) = OlaClient::connect(addr).await {
        let last = bench_frame(frames.saturating_sub(1));
        if let Ok(data) = client.get_dmx(universe).await {
            figures.readback_ok = Some(data.as_ref() == last.as_slice());
        }
        let _ = client.close().await;
    }
    figures
}

/// Runs every measurement against olad at `addr` (`host:port`) on
/// `universe`, which must exist (e.g. patched to a port).
pub async fn run(addr: &str, universe: u32, frames: usize) -> Result<BenchReport, OlaError> {
    let rvshell = measure_rvshell(addr, universe, frames).await?;
    let raw = {
        let addr = addr.to_owned();
        tokio::task::spawn_blocking(move || measure_raw_floor(&addr, universe, frames))
            .await
            .unwrap_or_default()
    };
    let port = addr
        .rsplit_once(':')
        .and_then(|(_, p)| p.parse().ok())
        .unwrap_or(9010);
    let python = tokio::task::spawn_blocking(move || measure_python(port, universe, frames))
        .await
        .unwrap_or_default();
    let streaming_client = measure_streaming_client(addr, universe, frames).await;
    Ok(BenchReport {
        frames,
        rvshell,
        raw,
        python,
        streaming_client,
    })
}

/// Why a benchmark on a private olad failed.
#[derive(Debug, thiserror::Error)]
pub enum PrivateBenchError {
    /// The private olad did not start.
    #[error(transparent)]
    Daemon(#[from] DaemonError),
    /// A measurement failed; olad's log tail is attached.
    #[error("{source}; the end of olad's log:\n{log}")]
    Client {
        /// The failure.
        source: OlaError,
        /// The last lines of olad's log.
        log: String,
    },
}

/// Starts a private olad (on [`DEFAULT_ADDR`] when that port is free, so that
/// `ola_streaming_client` can be measured too; otherwise on a free port),
/// patches its Dummy port to `universe`, runs [`run`] and stops it. Returns
/// a one-line description of the olad and the report.
pub async fn run_private(
    universe: u32,
    frames: usize,
) -> Result<(String, BenchReport), PrivateBenchError> {
    let port = std::net::TcpListener::bind(DEFAULT_ADDR)
        .and_then(|free| free.local_addr())
        .ok()
        .map(|free| free.port());
    let mut olad = OladProcess::start(OladOptions {
        port,
        patch_universe: Some(universe),
        ..OladOptions::default()
    })
    .await?;
    let addr = olad.addr().to_string();
    // The very olad that runs, not another one found on PATH.
    let program = olad.program().to_owned();
    let version = tokio::task::spawn_blocking(move || {
        run_child(
            Command::new(program).arg("--version"),
            Vec::new(),
            Duration::from_secs(10),
        )
    })
    .await
    .ok()
    .and_then(Result::ok)
    .flatten()
    .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    .unwrap_or_default();
    let about = format!(
        "private olad ({version}, pid {}) on {addr}, Dummy port patched to universe {universe}",
        olad.pid().unwrap_or(0)
    );
    let result = run(&addr, universe, frames).await;
    let report = result.map_err(|source| PrivateBenchError::Client {
        source,
        log: olad.log_tail(20),
    })?;
    olad.shutdown().await;
    Ok((about, report))
}

fn us(d: Duration) -> String {
    format!("{:.1} us", d.as_secs_f64() * 1e6)
}

fn ratio(ours: Option<f64>, theirs: Option<f64>) -> String {
    match (ours, theirs) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}x", a / b),
        _ => "-".to_owned(),
    }
}

fn rate(r: Option<f64>) -> String {
    r.map(|r| format!("{:.0}/s", r))
        .unwrap_or_else(|| "-".into())
}

impl BenchReport {
    /// A plain-text table: figures per client and our ratio to each baseline.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{} frames of 512 slots per measurement; ratios are rvshell / baseline",
            self.frames
        );
        let seq = |f: &ClientFigures| f.sequential;
        let rows: [(&str, &ClientFigures); 4] = [
            ("rvshell", &self.rvshell),
            ("raw socket floor", &self.raw),
            ("python ola", &self.python),
            ("ola_streaming_client", &self.streaming_client),
        ];
        let _ = writeln!(
            out,
            "{:<22} {:>12} {:>12} {:>12} {:>14} {:>14} {:>9}",
            "client", "seq median", "seq p99", "seq rate", "pipelined", "streamed", "readback"
        );
        for (name, f) in rows {
            let (median, p99, seq_rate) = match seq(f) {
                Some(l) => (us(l.median), us(l.p99), rate(Some(l.rate))),
                None => ("-".into(), "-".into(), "-".into()),
            };
            let readback = match f.readback_ok {
                Some(true) => "match",
                Some(false) => "LOST",
                None => "-",
            };
            let _ = writeln!(
                out,
                "{name:<22} {median:>12} {p99:>12} {seq_rate:>12} {:>14} {:>14} {readback:>9}",
                rate(f.pipelined),
                rate(f.streamed),
            );
        }
        let ours = &self.rvshell;
        let _ = writeln!(
            out,
            "ratio vs python:        seq rate {}, pipelined {}",
            ratio(
                ours.sequential.map(|l| l.rate),
                self.python.sequential.map(|l| l.rate)
            ),
            ratio(ours.pipelined, self.python.pipelined),
        );
        let _ = writeln!(
            out,
            "ratio vs raw floor:     seq rate {}",
            ratio(
                ours.sequential.map(|l| l.rate),
                self.raw.sequential.map(|l| l.rate)
            ),
        );
        let _ = writeln!(
            out,
            "ratio vs ola_streaming_client: streamed {}",
            ratio(ours.streamed, self.streaming_client.streamed)
        );
        for (name, f) in rows {
            for note in &f.notes {
                let _ = writeln!(out, "note ({name}): {note}");
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_child_past_its_deadline_is_killed() {
        let started = Instant::now();
        // Never reads its stdin, never exits, and is fed more than a pipe holds.
        let output = run_child(
            Command::new("sleep").arg("30"),
            vec![b'1'; 4 << 20],
            Duration::from_millis(300),
        )
        .unwrap();
        assert!(output.is_none());
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn a_child_within_its_deadline_gives_its_output() {
        // More than a pipe holds, both ways: feeding and draining overlap.
        let input: Vec<u8> = (0..4u32 << 20).map(|i| i as u8).collect();
        let output = run_child(
            &mut Command::new("cat"),
            input.clone(),
            Duration::from_secs(30),
        )
        .unwrap()
        .unwrap();
        assert!(output.status.success());
        assert!(output.stdout == input);
        let output = run_child(
            Command::new("sh").args(["-c", "echo oops >&2; exit 3"]),
            Vec::new(),
            Duration::from_secs(30),
        )
        .unwrap()
        .unwrap();
        assert_eq!(output.status.code(), Some(3));
        assert_eq!(output.stderr, b"oops\n");
    }

    #[test]
    fn a_python_client_waiting_on_a_silent_olad_is_killed() {
        // Accepts connections (the backlog does) and never answers.
        let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = silent.local_addr().unwrap().port();
        let started = Instant::now();
        let figures = measure_python_within(port, 1, 10, Duration::from_secs(2));
        assert!(started.elapsed() < Duration::from_secs(20));
        assert!(figures.sequential.is_none());
        assert_eq!(figures.notes.len(), 1, "{:?}", figures.notes);
        // Killed, or (without OLA's Python module) not run at all.
        assert!(
            figures.notes[0].starts_with("Python client killed after 2s")
                || figures.notes[0].starts_with("Python client not run"),
            "{:?}",
            figures.notes
        );
    }

    #[test]
    fn a_missing_program_is_an_error() {
        let err = run_child(
            &mut Command::new("/nonexistent/ola_streaming_client"),
            Vec::new(),
            Duration::from_secs(1),
        )
        .unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    }
}
