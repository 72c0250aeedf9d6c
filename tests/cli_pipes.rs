//! A reader that went away (`rvshell ... | head`): the commands end quietly
//! with status 0, never a panic (status 101) or an error for what the user
//! asked for; a show ends as after Ctrl+C.

mod common;

use std::process::{Output, Stdio};
use std::time::Duration;

/// Runs `rvshell ARGS` with stdout a pipe whose reader is already gone.
fn with_closed_stdout(tmp: &std::path::Path, args: &[&str]) -> Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    common::rvshell(tmp)
        .args(args)
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap()
}

fn check(out: &Output, what: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{what}: {err}");
    assert!(!err.contains("panicked"), "{what}: {err}");
    assert!(!err.contains("Broken pipe"), "{what}: {err}");
}

#[test]
fn one_shot_commands_end_quietly() {
    let tmp = tempfile::tempdir().unwrap();
    let show = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/show.toml");
    for args in [
        &["completions", "bash"][..],
        &["man"],
        &["cue", "check", show],
    ] {
        check(&with_closed_stdout(tmp.path(), args), &args.join(" "));
    }
}

#[test]
fn commands_talking_to_rv_end_quietly_and_a_show_stops() {
    let tmp = tempfile::tempdir().unwrap();
    let sim = common::sim::Sim::start(tmp.path(), &["--no-port-file"]);
    let port = sim.port.to_string();
    let show = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/show.toml");
    let eval = with_closed_stdout(tmp.path(), &["eval", "--port", &port, "--json", "frame()"]);
    check(&eval, "eval --json");
    // The show's first line ("armed") finds no reader: it stops by itself.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let mut run = common::rvshell(tmp.path())
        .args(["cue", "run", show, "--port", &port, "--dry-run"])
        .stdout(writer)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = run.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = run.kill();
            panic!("cue run kept running with no reader");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0));
}
