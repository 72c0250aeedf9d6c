//! `rvshell dmx ...` end to end, against a private olad per test.

use assert_cmd::Command;
use rvshell::bench::ola::bench_frame;
use rvshell::ola::client::OlaClient;
use rvshell::ola::daemon::OladProcess;
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Duration;

mod common;

async fn olad() -> OladProcess {
    common::ola::olad(Some(1)).await
}

fn rvshell(olad: &OladProcess) -> Command {
    let mut cmd = Command::cargo_bin("rvshell").unwrap();
    cmd.env_remove("RVSHELL_OLAD")
        // `--olad` after `dmx`: before a subcommand, the top-level parser
        // (with its NAME HOST PORT positionals) would not see `dmx` as one.
        .args(["dmx", "--olad", &olad.addr().to_string()])
        .timeout(Duration::from_secs(60));
    cmd
}

fn stdout_of(cmd: &mut Command) -> String {
    let out = cmd.assert().success().get_output().stdout.clone();
    String::from_utf8(out).unwrap()
}

fn stderr_line(cmd: &mut Command, code: i32) -> String {
    let out = cmd.assert().code(code).get_output().clone();
    assert!(out.stdout.is_empty(), "stdout: {:?}", out.stdout);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "one line on stderr: {stderr:?}");
    stderr
}

#[tokio::test]
async fn set_get_and_blackout() {
    let olad = olad().await;
    rvshell(&olad)
        .args(["set", "-u", "1", "255,0,128"])
        .assert()
        .success();
    assert_eq!(
        stdout_of(rvshell(&olad).args(["get", "-u", "1"])),
        "255,0,128\n"
    );
    // Addressed forms change only those channels.
    rvshell(&olad)
        .args(["set", "-u", "1", "2=7", "5-6=9"])
        .assert()
        .success();
    assert_eq!(
        stdout_of(rvshell(&olad).args(["get", "-u", "1"])),
        "255,7,128,0,9,9\n"
    );
    rvshell(&olad)
        .args(["set", "-u", "1", "--priority", "150", "1,2,3"])
        .assert()
        .success();
    rvshell(&olad)
        .args(["blackout", "-u", "1"])
        .assert()
        .success();
    let zeros = vec!["0"; 512].join(",") + "\n";
    assert_eq!(stdout_of(rvshell(&olad).args(["get", "-u", "1"])), zeros);
}

#[tokio::test]
async fn failures_print_one_line_and_exit_non_zero() {
    let olad = olad().await;
    let addr = olad.addr().to_string();
    let err = stderr_line(rvshell(&olad).args(["set", "-u", "99", "1"]), 1);
    assert!(
        err.starts_with(&format!(
            "rvshell: universe 99 does not exist on olad at {addr}; create it by patching a port (rvshell dmx patch"
        )),
        "{err}"
    );
    let err = stderr_line(rvshell(&olad).args(["get", "-u", "99"]), 1);
    assert!(err.contains("universe 99 does not exist"), "{err}");
    let err = stderr_line(
        rvshell(&olad).args(["patch", "--device", "9", "--port", "0", "-u", "2"]),
        1,
    );
    assert!(err.contains("device does not exist"), "{err}");
    let err = stderr_line(rvshell(&olad).args(["set", "-u", "1", "300"]), 2);
    assert!(err.contains("0..=255"), "{err}");
    let err = stderr_line(
        rvshell(&olad).args(["set", "-u", "1", "--priority", "201", "1"]),
        2,
    );
    assert!(err.contains("0..=200"), "{err}");
    // Nothing listens on a port we just freed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = stderr_line(
        Command::cargo_bin("rvshell").unwrap().args([
            "dmx",
            "--olad",
            &format!("127.0.0.1:{port}"),
            "get",
            "-u",
            "1",
        ]),
        2,
    );
    assert!(
        err.starts_with(&format!(
            "rvshell: could not connect to olad at 127.0.0.1:{port}"
        )),
        "{err}"
    );
}

#[tokio::test]
async fn universes_devices_patch_name_merge() {
    let olad = olad().await;
    rvshell(&olad)
        .args(["name", "-u", "1", "stage left"])
        .assert()
        .success();
    rvshell(&olad)
        .args(["merge", "-u", "1", "htp"])
        .assert()
        .success();
    let universes = stdout_of(rvshell(&olad).arg("universes"));
    assert!(universes.contains("\"stage left\""), "{universes}");
    assert!(universes.contains("HTP"), "{universes}");
    let devices = stdout_of(rvshell(&olad).arg("devices"));
    assert!(
        devices.contains("device 1 (1-1): \"Dummy Device\""),
        "{devices}"
    );
    assert!(
        devices.contains("output port 0: \"Dummy Port\", universe 1"),
        "{devices}"
    );
    rvshell(&olad)
        .args([
            "patch",
            "--device",
            "1",
            "--port",
            "0",
            "-u",
            "1",
            "--unpatch",
        ])
        .assert()
        .success();
    let devices = stdout_of(rvshell(&olad).arg("devices"));
    assert!(devices.contains("not patched"), "{devices}");
    rvshell(&olad)
        .args(["patch", "-d", "1", "-p", "0", "-u", "5"])
        .assert()
        .success();
    rvshell(&olad)
        .args(["set", "-u", "5", "4,5"])
        .assert()
        .success();
    assert_eq!(stdout_of(rvshell(&olad).args(["get", "-u", "5"])), "4,5\n");
}

#[tokio::test]
async fn stream_applies_every_frame_before_exiting() {
    let olad = olad().await;
    let mut input = String::new();
    for i in 0..2000usize {
        let frame: Vec<String> = (0..512).map(|c| ((i + c) & 0xff).to_string()).collect();
        input.push_str(&frame.join(","));
        input.push('\n');
    }
    rvshell(&olad)
        .args(["stream", "-u", "1"])
        .write_stdin(input)
        .assert()
        .success();
    let last: Vec<String> = (0..512).map(|c| ((1999 + c) & 0xff).to_string()).collect();
    assert_eq!(
        stdout_of(rvshell(&olad).args(["get", "-u", "1"])),
        last.join(",") + "\n"
    );
    // A bad line stops the stream with its line number, after the good ones.
    let err = stderr_line(
        rvshell(&olad)
            .args(["stream", "-u", "1"])
            .write_stdin("1,2\n\n3,999\n4\n"),
        2,
    );
    assert!(err.contains("stdin line 3"), "{err}");
    assert_eq!(stdout_of(rvshell(&olad).args(["get", "-u", "1"])), "1,2\n");
    // Streaming into a universe that does not exist is reported, not silent.
    let err = stderr_line(
        rvshell(&olad)
            .args(["stream", "-u", "77"])
            .write_stdin("1\n"),
        1,
    );
    assert!(err.contains("universe 77 does not exist"), "{err}");
}

#[tokio::test]
async fn monitor_prints_other_clients_frames() {
    let olad = olad().await;
    let bin = assert_cmd::cargo::cargo_bin("rvshell");
    let mut child = std::process::Command::new(bin)
        .args([
            "dmx",
            "--olad",
            &olad.addr().to_string(),
            "monitor",
            "-u",
            "1",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let lines = std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        line
    });
    let sender = OlaClient::connect(&olad.addr().to_string()).await.unwrap();
    // The monitor registers asynchronously; send until it has printed.
    let mut value = 0u8;
    while !lines.is_finished() {
        value = value.wrapping_add(1);
        sender.update_dmx(1, &[value, 42], None).await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let line = lines.join().unwrap();
    assert!(line.ends_with(",42\n"), "{line:?}");
    child.kill().unwrap();
    child.wait().unwrap();
}

#[tokio::test]
async fn a_stalled_monitor_stdout_does_not_stop_it_draining_olad() {
    let mut olad = olad().await;
    let bin = assert_cmd::cargo::cargo_bin("rvshell");
    let mut child = std::process::Command::new(bin)
        .args([
            "dmx",
            "--olad",
            &olad.addr().to_string(),
            "monitor",
            "-u",
            "1",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let last = bench_frame(99_999)
        .iter()
        .map(u8::to_string)
        .collect::<Vec<_>>()
        .join(",")
        + "\n";
    let (printed, first_line) = std::sync::mpsc::channel::<()>();
    let (go, wait) = std::sync::mpsc::channel::<()>();
    // Reads the first line, then nothing until `go`: the pipe fills up and
    // the monitor's stdout stalls. Then reads until the last frame's line.
    let reader = std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        printed.send(()).unwrap();
        wait.recv().unwrap();
        loop {
            line.clear();
            if reader.read_line(&mut line).unwrap() == 0 {
                return false;
            }
            if line == last {
                return true;
            }
        }
    });
    let sender = OlaClient::connect(&olad.addr().to_string()).await.unwrap();
    // The monitor registers asynchronously; send until it has printed.
    let mut value = 0u8;
    while first_line.try_recv().is_err() {
        assert!(value < 250, "the monitor printed nothing");
        value += 1;
        sender.update_dmx(1, &[value, 42], None).await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // About 55 MB of pushes to the monitor while nobody reads its stdout:
    // far more than the socket buffers hold, so olad drops it (or crashes,
    // ola-rpc.md §7.9) unless the monitor keeps reading.
    // At most about 20,000 frames a second (11 MB/s): what any monitor
    // decodes easily, even on a loaded machine, where a sender flat out
    // could starve it of CPU and overrun olad's buffer for it regardless
    // of stdout.
    for i in 0..100_000 {
        sender.stream_dmx(1, &bench_frame(i), None).await.unwrap();
        if i % 200 == 199 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    sender.close().await.unwrap();
    assert!(olad.is_running(), "olad died:\n{}", olad.log_tail(20));
    let log = std::fs::read_to_string(olad.log_path()).unwrap();
    assert!(!log.contains("Failed to send full RPC message"), "{log}");
    // Once stdout moves again, the monitor prints the newest frame.
    go.send(()).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !reader.is_finished() {
        assert!(
            std::time::Instant::now() < deadline,
            "the monitor never printed the last frame"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(reader.join().unwrap(), "the monitor's stdout ended early");
    child.kill().unwrap();
    child.wait().unwrap();
}

#[tokio::test]
async fn bench_reports_figures_and_a_matching_readback() {
    let olad = olad().await;
    let out = stdout_of(rvshell(&olad).args(["bench", "-u", "1", "--frames", "300"]));
    let row = out
        .lines()
        .find(|l| l.starts_with("rvshell "))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(row.ends_with("match"), "{out}");
    assert!(out.contains("raw socket floor"), "{out}");
    // ola_streaming_client only reaches 127.0.0.1:9010; this olad is elsewhere.
    assert!(out.contains("ola_streaming_client not run"), "{out}");
    // Every client measured ends on frame 299 (slot c = (299 + c) & 0xff).
    let last: Vec<String> = (0..512).map(|c| ((299 + c) & 0xff).to_string()).collect();
    assert_eq!(
        stdout_of(rvshell(&olad).args(["get", "-u", "1"])),
        last.join(",") + "\n"
    );
}

#[test]
fn bench_on_a_private_olad() {
    let out = Command::cargo_bin("rvshell")
        .unwrap()
        .args(["dmx", "bench", "--private", "-u", "3", "--frames", "100"])
        .timeout(Duration::from_secs(120))
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).unwrap();
    assert!(out.starts_with("private olad ("), "{out}");
    // The version of the very olad that runs: olad names itself by the path
    // it was run as.
    let olad = rvshell::ola::daemon::find_olad().unwrap();
    let version = format!("private olad (OLA {} version: ", olad.display());
    assert!(out.starts_with(&version), "{out}");
    assert!(out.contains("patched to universe 3"), "{out}");
    let row = out.lines().find(|l| l.starts_with("rvshell ")).unwrap();
    assert!(row.ends_with("match"), "{out}");
}
