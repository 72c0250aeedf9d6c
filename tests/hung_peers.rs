//! Hung and dying peers: the simulator and olad stopped with SIGSTOP
//! mid-request, and killed with SIGKILL mid-push and mid-stream. Requests
//! time out with a clear message, nothing hangs, and after SIGCONT (or a
//! restart) the next operation works with no manual step.

mod common;

use common::rvshell;
use common::sim::Sim;
use rvshell::ola::daemon::OladProcess;
use std::io::Write;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

/// Sends `signal` to our own child `pid`.
fn signal(pid: u32, signal: libc::c_int) {
    let pid = libc::pid_t::try_from(pid).expect("a pid fits in pid_t");
    // SAFETY: kill(2) takes plain integers; `pid` is a child of this test
    // (started by it and not yet reaped), so it cannot have been reused.
    let sent = unsafe { libc::kill(pid, signal) };
    assert_eq!(
        sent,
        0,
        "kill({pid}, {signal}): {}",
        std::io::Error::last_os_error()
    );
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_stopped_simulator_times_out_with_a_clear_message_and_recovers_on_sigcont() {
    let dir = tempfile::tempdir().unwrap();
    let sim = Sim::start(dir.path(), &["--no-port-file"]);
    let port = sim.port.to_string();
    let eval = |code: &str| {
        rvshell(dir.path())
            .args(["eval", "--port", &port, "--timeout", "1", code])
            .output()
            .unwrap()
    };
    assert_eq!(eval("1").status.code(), Some(0));
    signal(sim.child.id(), libc::SIGSTOP);
    let start = Instant::now();
    let out = eval("frame()");
    let took = start.elapsed();
    signal(sim.child.id(), libc::SIGCONT);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    // The kernel still accepts the connection for a stopped process: the
    // greeting is what times out, and the message says how to read that.
    assert!(err.contains("within 1"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(took < Duration::from_secs(10), "{took:?}");
    // Back: the next request works with no manual step.
    let out = eval("frame()");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn a_simulator_killed_mid_push_ends_the_push_and_a_restarted_one_takes_the_next() {
    let dir = tempfile::tempdir().unwrap();
    let mut sim = Sim::start(dir.path(), &["--no-port-file"]);
    let port = sim.port.to_string();
    // A big image, so the push is still going when the simulator dies.
    let big = dir.path().join("big.png");
    image::RgbaImage::from_fn(3840, 2160, |x, y| {
        image::Rgba([(x % 256) as u8, (y % 256) as u8, ((x + y) % 256) as u8, 255])
    })
    .save(&big)
    .unwrap();
    let push = rvshell(dir.path())
        .args(["push", "--port", &port, "--tiles", "8x8", "--media", "big"])
        .arg(&big)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Kill it once pixels are flowing: the source exists by then.
    let start = Instant::now();
    loop {
        let out = rvshell(dir.path())
            .args(["eval", "--port", &port, "--timeout", "2", "sources()"])
            .output()
            .unwrap();
        if String::from_utf8_lossy(&out.stdout).contains("big") {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the push never started"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    sim.child.kill().unwrap();
    sim.child.wait().unwrap();
    let out = push.wait_with_output().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("stopped after") && err.contains("of 64 tiles"),
        "says how far it got: {err}"
    );
    // A new simulator on the same port: the next push just works.
    let sim2 = rvshell(dir.path())
        .args(["sim", "--no-port-file", "--port", &port])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut sim2 = common::sim::Sim {
        child: sim2,
        port: sim.port,
    };
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(sim2.child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    assert!(line.starts_with("listening on"), "{line}");
    let chart = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/test-chart.png");
    let out = rvshell(dir.path())
        .args(["push", "--port", &port, chart])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let _ = sim2.terminate();
}

async fn olad() -> OladProcess {
    common::ola::olad(Some(1)).await
}

/// `rvshell dmx stream -u 1` to olad at `addr` with a `timeout`, its stdin
/// and stderr piped.
fn dmx_stream(dir: &std::path::Path, addr: &str, timeout: &str) -> std::process::Child {
    rvshell(dir)
        .args([
            "dmx",
            "--olad",
            addr,
            "--timeout",
            timeout,
            "stream",
            "-u",
            "1",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[tokio::test]
async fn a_stopped_olad_times_out_a_stream_and_recovers_on_sigcont() {
    let olad = olad().await;
    let addr = olad.addr().to_string();
    let pid = olad.pid().expect("olad runs");
    let dir = tempfile::tempdir().unwrap();
    let mut stream = dmx_stream(dir.path(), &addr, "1");
    let mut stdin = stream.stdin.take().unwrap();
    writeln!(stdin, "1,2,3").unwrap();
    signal(pid, libc::SIGSTOP);
    for i in 0..50 {
        writeln!(stdin, "{i},{i},{i}").unwrap();
    }
    drop(stdin);
    let start = Instant::now();
    let out = stream.wait_with_output().unwrap();
    let took = start.elapsed();
    signal(pid, libc::SIGCONT);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("olad") && err.contains(&addr), "{err}");
    assert!(took < Duration::from_secs(15), "{took:?}");
    // After SIGCONT: a set and a get work with no manual step.
    let set = rvshell(dir.path())
        .args(["dmx", "--olad", &addr, "set", "-u", "1", "9,8,7"])
        .output()
        .unwrap();
    assert_eq!(set.status.code(), Some(0), "{}", stderr(&set));
    let get = rvshell(dir.path())
        .args(["dmx", "--olad", &addr, "get", "-u", "1"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&get.stdout).starts_with("9,8,7"));
}

#[tokio::test]
async fn olad_killed_mid_stream_ends_it_with_exit_2_and_a_restarted_one_takes_the_next() {
    let mut olad = olad().await;
    let addr = olad.addr().to_string();
    let dir = tempfile::tempdir().unwrap();
    let mut stream = dmx_stream(dir.path(), &addr, "2");
    let mut stdin = stream.stdin.take().unwrap();
    writeln!(stdin, "1,2,3").unwrap();
    std::thread::sleep(Duration::from_millis(100));
    olad.kill();
    // Whatever the stream still writes goes nowhere; its end is reported.
    for i in 0..20 {
        let _ = writeln!(stdin, "{i}");
    }
    drop(stdin);
    let out = stream.wait_with_output().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert!(err.contains(&format!("lost olad at {addr}")), "{err}");
    olad.restart().await.unwrap();
    let set = rvshell(dir.path())
        .args([
            "dmx",
            "--olad",
            &olad.addr().to_string(),
            "set",
            "-u",
            "1",
            "4",
        ])
        .output()
        .unwrap();
    assert_eq!(set.status.code(), Some(0), "{}", stderr(&set));
}

/// house, dim and flash on universe 1; play, stop and frames 50-60 cues; a failsafe.
const SHOW: &str = include_str!("data/link.toml");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_olad_holds_up_the_frames_of_cue_run_but_never_its_cues() {
    let olad = olad().await;
    let addr = olad.addr().to_string();
    let pid = olad.pid().expect("olad runs");
    let dir = tempfile::tempdir().unwrap();
    let show = dir.path().join("show.toml");
    std::fs::write(&show, SHOW).unwrap();
    let sim = Sim::start(dir.path(), &[]);
    let port = sim.port.to_string();
    // A request timeout far longer than the wait for a cue below: a link
    // that waits on olad between cues would miss it.
    let mut run = common::KillOnDrop(
        rvshell(dir.path())
            .args(["cue", "run", show.to_str().unwrap(), "--port", &port])
            .args(["--olad", &addr, "--timeout", "60"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let lines = common::lines_of(run.stdout.take().unwrap());
    let next = || {
        lines
            .recv_timeout(Duration::from_secs(15))
            .expect("a line from cue run in time")
    };
    assert_eq!(next(), "armed: 3 cues on 1 universe");
    let eval = |code: &str| {
        let out = rvshell(dir.path())
            .args(["eval", "--port", &port, code])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
    };
    signal(pid, libc::SIGSTOP);
    eval("setFPS(1.0); play()");
    assert!(next().ends_with(" play-start -> dim (fade 0.3 s)"));
    // The fade's first frame now waits on the stopped olad.
    std::thread::sleep(Duration::from_millis(500));
    eval("stop()");
    assert!(next().ends_with(" play-stop -> house (fade 0.2 s)"));
    signal(pid, libc::SIGCONT);
    // What olad ends up with is the last cue's scene: the frames queued
    // meanwhile were coalesced, the newest sent.
    let get = || {
        let out = rvshell(dir.path())
            .args(["dmx", "--olad", &addr, "get", "-u", "1"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while !get().starts_with("255,255,255,255,0") {
        assert!(Instant::now() < deadline, "olad holds {}", get());
        std::thread::sleep(Duration::from_millis(50));
    }
    let status = common::sim::terminate(&mut run.0);
    assert!(status.success(), "{status:?}");
}
