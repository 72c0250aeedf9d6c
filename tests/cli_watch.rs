//! `rvshell watch` against `rvshell sim`: the events another client causes
//! come out one per line (text or JSON), `--count` ends it, SIGTERM signs off
//! (the handlers removed), and an RV that cannot be reached exits 2.

mod common;

use common::rvshell;
use common::sim::{Sim, terminate};
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

fn watch(dir: &std::path::Path, port: u16, extra: &[&str]) -> Child {
    rvshell(dir)
        .args(["watch", "--port", &port.to_string(), "--contact", "watcher"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn eval(dir: &std::path::Path, port: u16, code: &str) -> String {
    let out = rvshell(dir)
        .args(["eval", "--port", &port.to_string(), code])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// Waits until the simulator lists `watcher` (greeted) and its mode is on:
/// from then on every event reaches it.
fn wait_subscribed(dir: &std::path::Path, port: u16) {
    let start = Instant::now();
    while eval(dir, port, r#"isModeActive("rvshell-events-watcher")"#) != "true" {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "never subscribed"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn json_lines_until_count_events() {
    let dir = tempfile::tempdir().unwrap();
    let sim = Sim::start(dir.path(), &["--no-port-file"]);
    let child = watch(
        dir.path(),
        sim.port,
        &["--json", "--count", "2", "frame-changed"],
    );
    wait_subscribed(dir.path(), sim.port);
    eval(dir.path(), sim.port, "setFrame(3)");
    eval(dir.path(), sim.port, "setFrame(4)");
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    for (line, frame) in lines.iter().zip([3, 4]) {
        assert_eq!(line["event"], "frame-changed");
        assert_eq!(line["frame"], frame);
        assert_eq!(line["contents"], frame.to_string());
        assert_eq!(line["rv"], format!("localhost:{}", sim.port));
        assert!(line["time"].as_str().unwrap().contains('T'));
    }
}

#[test]
fn text_lines_and_sigterm_removes_the_handlers() {
    let dir = tempfile::tempdir().unwrap();
    let sim = Sim::start(dir.path(), &["--no-port-file"]);
    let mut child = watch(dir.path(), sim.port, &[]);
    let stdout = child.stdout.take().unwrap();
    wait_subscribed(dir.path(), sim.port);
    eval(dir.path(), sim.port, "setInPoint(5)");
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let parts: Vec<&str> = line.trim_end().splitn(3, ' ').collect();
    assert_eq!(&parts[1..], ["new-in-point", "5"], "{line:?}");
    assert_eq!(terminate(&mut child).code(), Some(0));
    assert_eq!(
        eval(
            dir.path(),
            sim.port,
            r#"isModeActive("rvshell-events-watcher")"#
        ),
        "false"
    );
}

#[test]
fn an_rv_that_is_not_there_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = rvshell(dir.path())
        .args(["watch", "--port", &port.to_string(), "--timeout", "2"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.starts_with("rvshell watch: "), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn a_bad_event_name_exits_2_before_connecting() {
    let dir = tempfile::tempdir().unwrap();
    let out = rvshell(dir.path())
        .args(["watch", "--port", "1", "frame changed"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("not an RV event name")
    );
}
