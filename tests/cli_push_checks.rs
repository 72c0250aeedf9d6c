//! `rvshell push` says what is wrong with its arguments before it touches
//! the network, and `--update-only` for a media RV has no source for is an
//! error (exit 1), not a silent success.

mod common;

use common::rvshell;
use common::sim::Sim;

const CHART: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/test-chart.png");

#[test]
fn a_tiling_that_does_not_fit_is_refused_before_connecting() {
    let dir = tempfile::tempdir().unwrap();
    // Nothing listens on this port: a connection attempt would say so.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    let out = rvshell(dir.path())
        .args(["push", "--port", &port, "--tiles", "1000x1", CHART])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        !err.contains("refused") && !err.contains("connect"),
        "{err}"
    );
    assert!(err.contains("640"), "names the image's size: {err}");
}

#[test]
fn update_only_for_a_media_rv_has_not_got_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let sim = Sim::start(dir.path(), &["--no-port-file"]);
    let port = sim.port.to_string();
    let push = |extra: &[&str]| {
        rvshell(dir.path())
            .args(["push", "--port", &port, "--media", "plate"])
            .args(extra)
            .arg(CHART)
            .output()
            .unwrap()
    };
    let out = push(&["--update-only"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("no source for media plate"), "{err}");
    assert!(err.contains("without --update-only"), "{err}");
    // Once it exists, an update goes through.
    assert!(push(&[]).status.success());
    assert!(push(&["--update-only"]).status.success());
}
