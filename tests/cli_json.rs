//! `--json` output, parsed and checked field by field: `eval`, `event
//! --return`, `ping` and `push` against `rvshell sim`, `dmx get`,
//! `universes`, `devices` and `monitor` against a private olad. Errors stay
//! one line on stderr with the usual exit codes.

mod common;

use common::rvshell;
use common::sim::Sim;
use rvshell::ola::daemon::{OladOptions, OladProcess};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Output, Stdio};

fn json(out: &Output) -> Value {
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    assert_eq!(text.lines().count(), 1, "one JSON document: {text:?}");
    serde_json::from_str(&text).unwrap()
}

fn rv(dir: &std::path::Path, sim: &Sim, args: &[&str]) -> Output {
    let port = sim.port.to_string();
    let mut all = vec![args[0], "--port", &port];
    all.extend_from_slice(&args[1..]);
    rvshell(dir).args(&all).output().unwrap()
}

#[test]
fn eval_json_decodes_mu_values_and_flags_errors() {
    let dir = tempfile::tempdir().unwrap();
    let sim = Sim::start(dir.path(), &["--no-port-file"]);
    let rv_addr = format!("localhost:{}", sim.port);
    for (code, value) in [
        (r#""FRAME = " + frame()"#, Value::from("FRAME = 1")),
        ("frame()", Value::from(1)),
        ("fps()", Value::from(24.0)),
        ("isPlaying()", Value::from(false)),
        // A void command (stop(), not play(): frame() below must stay 1).
        ("stop()", Value::Null),
    ] {
        let out = rv(dir.path(), &sim, &["eval", "--json", code]);
        assert!(out.status.success(), "{code}: {out:?}");
        let doc = json(&out);
        assert_eq!(doc["rv"], rv_addr.as_str());
        assert_eq!(doc["value"], value, "{code}");
        assert_eq!(doc["error"], false);
        assert!(doc["return"].is_string());
    }
    let out = rv(dir.path(), &sim, &["eval", "--json", "noSuchCommand()"]);
    assert_eq!(out.status.code(), Some(1));
    let doc = json(&out);
    assert_eq!(doc["error"], true);
    assert_eq!(doc["value"], Value::Null);
    assert!(doc["return"].as_str().unwrap().starts_with("ERROR:"));
    // Python: str() of the value.
    let out = rv(
        dir.path(),
        &sim,
        &["eval", "--py", "--json", "rv.commands.frame()"],
    );
    assert_eq!(json(&out)["value"], 1);
    // event --return --json, the same document.
    let out = rv(
        dir.path(),
        &sim,
        &["event", "--return", "--json", "remote-eval", "frame()"],
    );
    assert_eq!(json(&out)["value"], 1);
}

#[test]
fn ping_and_push_json() {
    let dir = tempfile::tempdir().unwrap();
    let sim = Sim::start(dir.path(), &["--no-port-file"]);
    let out = rv(dir.path(), &sim, &["ping", "--json", "--count", "3"]);
    let doc = json(&out);
    assert_eq!(doc["count"], 3);
    let (min, median, max) = (
        doc["min_ms"].as_f64().unwrap(),
        doc["median_ms"].as_f64().unwrap(),
        doc["max_ms"].as_f64().unwrap(),
    );
    assert!(0.0 < min && min <= median && median <= max, "{doc}");

    let chart = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/test-chart.png");
    let out = rv(
        dir.path(),
        &sim,
        &[
            "push", "--json", "--tiles", "2x2", "--media", "chart", chart,
        ],
    );
    assert!(out.status.success(), "{out:?}");
    let doc = json(&out);
    assert_eq!(doc["media"], "chart");
    assert!(doc["source"].as_str().unwrap().contains("source"), "{doc}");
    assert_eq!(doc["tiles"], 4);
    // 640x360 RGBA 8-bit, both eyes.
    assert_eq!(doc["bytes"], 2 * 640 * 360 * 4);
    assert!(doc["seconds"].as_f64().unwrap() >= 0.0);
}

#[tokio::test]
async fn dmx_json() {
    let olad = OladProcess::start(OladOptions {
        patch_universe: Some(1),
        ..OladOptions::default()
    })
    .await
    .unwrap();
    let addr = olad.addr().to_string();
    let dir = tempfile::tempdir().unwrap();
    let dmx = |args: &[&str]| {
        rvshell(dir.path())
            .args(["dmx", "--olad", &addr])
            .args(args)
            .output()
            .unwrap()
    };
    assert!(dmx(&["set", "-u", "1", "1=10", "512=255"]).status.success());
    let doc = json(&dmx(&["get", "-u", "1", "--json"]));
    assert_eq!(doc["universe"], 1);
    let values = doc["values"].as_array().unwrap();
    assert_eq!(values.len(), 512);
    assert_eq!(
        (values[0].clone(), values[511].clone()),
        (10.into(), 255.into())
    );

    let doc = json(&dmx(&["universes", "--json"]));
    let first = &doc.as_array().unwrap()[0];
    assert_eq!(first["id"], 1);
    assert!(first["name"].is_string());
    assert!(["HTP", "LTP"].contains(&first["merge_mode"].as_str().unwrap()));
    assert!(first["output_ports"].as_u64().unwrap() >= 1, "{doc}");
    assert!(first["input_ports"].is_number() && first["rdm_devices"].is_number());

    let doc = json(&dmx(&["devices", "--json"]));
    let devices = doc.as_array().unwrap();
    assert!(!devices.is_empty());
    let patched = devices
        .iter()
        .flat_map(|d| d["output_ports"].as_array().unwrap())
        .any(|p| p["universe"] == 1);
    assert!(patched, "{doc}");

    // monitor --json: one object per frame and line.
    let mut monitor = rvshell(dir.path())
        .args(["dmx", "--olad", &addr, "monitor", "-u", "1", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(monitor.stdout.take().unwrap()).lines();
    let sender = rvshell::ola::client::OlaClient::connect(&addr)
        .await
        .unwrap();
    let reader = std::thread::spawn(move || {
        let line = lines.next().unwrap().unwrap();
        serde_json::from_str::<Value>(&line).unwrap()
    });
    // The monitor registers asynchronously: send until it has printed.
    while !reader.is_finished() {
        sender.update_dmx(1, &[42], None).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let doc = reader.join().unwrap();
    let _ = monitor.kill();
    let _ = monitor.wait();
    assert_eq!(doc["universe"], 1);
    assert!(doc["time"].as_str().unwrap().contains('T'));
    assert_eq!(doc["values"][0], 42);
}

#[tokio::test]
async fn errors_stay_one_line_on_stderr_with_json() {
    let dir = tempfile::tempdir().unwrap();
    let out = rvshell(dir.path())
        .args([
            "dmx",
            "--olad",
            "127.0.0.1:1",
            "--timeout",
            "2",
            "get",
            "-u",
            "1",
            "--json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert_eq!(String::from_utf8(out.stderr).unwrap().lines().count(), 1);
}
