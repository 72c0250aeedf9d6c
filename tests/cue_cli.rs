//! `rvshell cue check|run|fire` end to end: the real binary against
//! `rvshell sim` and a private olad.

use assert_cmd::Command;
use rvshell::ola::client::OlaClient;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

mod common;

/// The binary, hermetic ([`common::rvshell`]), with a limit that only
/// bounds a hang.
fn rvshell(tmp: &Path) -> Command {
    let mut cmd = Command::from_std(common::rvshell(tmp));
    cmd.timeout(Duration::from_secs(60));
    cmd
}

fn write(tmp: &Path, name: &str, text: &str) -> String {
    let path = tmp.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

#[test]
fn check_prints_a_summary_of_a_valid_show() {
    let tmp = tempfile::tempdir().unwrap();
    let show = write(tmp.path(), "show.toml", include_str!("data/show.toml"));
    let out = rvshell(tmp.path())
        .args(["cue", "check", &show])
        .assert()
        .success();
    assert_eq!(
        String::from_utf8_lossy(&out.get_output().stdout),
        "3 scenes, 4 cues, 1 universe (1), failsafe\n"
    );
}

#[test]
fn check_prints_every_error_with_line_and_column_and_exits_1() {
    let tmp = tempfile::tempdir().unwrap();
    let show = write(
        tmp.path(),
        "bad.toml",
        r#"priority = 201
[scenes.house]
universe = 1
values = "1-4=255,600=1"
[[cues]]
on = "play-start"
scene = "hous"
fade = 1
speed = 2
[[cues]]
on = "frames"
frames = "10-x"
scene = "house"
[[cues]]
on = "source-group-complete"
contents = "[new"
scene = "house"
"#,
    );
    let out = rvshell(tmp.path())
        .args(["cue", "check", &show])
        .assert()
        .code(1);
    let output = out.get_output();
    assert!(output.stdout.is_empty());
    let p = &show;
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        format!(
            "{p}:1:12: priority 201 is out of range: olad takes 0..=200\n\
             {p}:4:10: bad values: bad channel \"600\": channels are 1..=512\n\
             {p}:7:9: unknown scene \"hous\"; the scenes are: house\n\
             {p}:9:1: unknown key \"speed\" in cue 1; expected one of: on, scene, fade, frames, contents\n\
             {p}:12:10: bad frame range \"10-x\": write FIRST-LAST (first <= last) or one frame, e.g. \"1005-1010\"\n\
             {p}:16:12: bad regex \"[new\": unclosed character class\n"
        )
    );
}

#[test]
fn check_of_a_missing_file_exits_2() {
    let tmp = tempfile::tempdir().unwrap();
    let out = rvshell(tmp.path())
        .args(["cue", "check", "nowhere.toml"])
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        err.starts_with("rvshell cue: cannot read show nowhere.toml"),
        "{err}"
    );
}

/// The show of `tests/cue_link.rs`: play-start fades to dim in 0.3 s,
/// frames 50-60 cut to flash.
const SHOW: &str = include_str!("data/link.toml");

/// Runs `cue run --dry-run --count 2 [EXTRA]` against `rvshell sim`: once
/// armed, jumps into the frame range, then plays. Returns stdout's lines.
fn dry_run(extra: &[&str]) -> Vec<String> {
    let tmp = tempfile::tempdir().unwrap();
    let show = write(tmp.path(), "show.toml", SHOW);
    let sim = common::sim::Sim::start(tmp.path(), &[]);
    let port = sim.port.to_string();
    let mut run = common::rvshell(tmp.path())
        .args([
            "cue",
            "run",
            "--dry-run",
            "--count",
            "2",
            "--port",
            &port,
            &show,
        ])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(run.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    let eval = |code: &str| {
        rvshell(tmp.path())
            .args(["eval", "--port", &port, code])
            .assert()
            .success();
    };
    eval("setFrame(55)");
    eval("play()");
    let mut lines = vec![first.trim_end().to_owned()];
    lines.extend(stdout.lines().map(Result::unwrap));
    assert!(run.wait().unwrap().success());
    lines
}

#[test]
fn run_dry_run_prints_the_cues_and_the_frames_it_would_send() {
    let lines = dry_run(&[]);
    assert_eq!(lines[0], "armed: 3 cues on 1 universe");
    let cues: Vec<&String> = lines.iter().filter(|l| l.contains(" -> ")).collect();
    assert_eq!(cues.len(), 2, "{lines:#?}");
    assert!(
        cues[0].ends_with(" frame-changed -> flash (fade 0.0 s)"),
        "{}",
        cues[0]
    );
    assert!(
        cues[1].ends_with(" play-start -> dim (fade 0.3 s)"),
        "{}",
        cues[1]
    );
    // The frames, applied in order, end on flash and dim.
    let mut state = [0u8; 513];
    for line in lines.iter().filter_map(|l| l.strip_prefix("universe 1: ")) {
        for change in line.split(' ') {
            let (c, v) = change.split_once('=').unwrap();
            state[c.parse::<usize>().unwrap()] = v.parse().unwrap();
        }
    }
    assert_eq!(state[1..=5], [25, 25, 25, 25, 255], "{lines:#?}");
    // The fade went through values between 0 and 25.
    assert!(
        lines.iter().any(|l| l.starts_with("universe 1: 1=1")),
        "{lines:#?}"
    );
}

#[test]
fn run_json_prints_one_object_per_line() {
    let lines = dry_run(&["--json"]);
    let values: Vec<serde_json::Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect();
    assert_eq!(values[0]["armed"]["cues"], 3);
    assert_eq!(
        values[0]["armed"]["events"],
        serde_json::json!(["play-start", "play-stop", "frame-changed"])
    );
    let cues: Vec<&serde_json::Value> =
        values.iter().filter(|v| v.get("scene").is_some()).collect();
    assert_eq!(cues[0]["scene"], "flash");
    assert_eq!(cues[1]["event"], "play-start");
    assert_eq!(cues[1]["fade"], 0.3);
    let last = values
        .iter()
        .rev()
        .find(|v| v.get("frame").is_some())
        .unwrap();
    assert_eq!(last["frame"]["universe"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fire_fades_a_universe_to_a_scene_on_olad() {
    let olad = common::ola::olad(Some(1)).await;
    let tmp = tempfile::tempdir().unwrap();
    let show = write(tmp.path(), "show.toml", SHOW);
    let addr = olad.addr().to_string();
    let client = OlaClient::connect(&addr).await.unwrap();
    client.update_dmx(1, &[9; 8], None).await.unwrap();
    let path = tmp.path().to_owned();
    let (show2, addr2) = (show.clone(), addr.clone());
    let out = tokio::task::spawn_blocking(move || {
        rvshell(&path)
            .args([
                "cue", "fire", &show2, "dim", "--fade", "0.2", "--olad", &addr2,
            ])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone()
    })
    .await
    .unwrap();
    let out = String::from_utf8_lossy(&out).into_owned();
    assert!(
        out.trim_end().ends_with(" fire -> dim (fade 0.2 s)"),
        "{out}"
    );
    // The scene's channels, and the others as they were.
    assert_eq!(
        client.get_dmx(1).await.unwrap()[..8],
        [25, 25, 25, 25, 9, 9, 9, 9]
    );
    // An unknown scene is a bad argument; a universe olad lacks, a refusal.
    let path = tmp.path().to_owned();
    let bad = write(
        tmp.path(),
        "u9.toml",
        "[scenes.x]\nuniverse = 9\nvalues = \"1\"\n",
    );
    let codes = tokio::task::spawn_blocking(move || {
        let unknown = rvshell(&path)
            .args(["cue", "fire", &show, "nope", "--olad", &addr])
            .output()
            .unwrap();
        let missing = rvshell(&path)
            .args(["cue", "fire", &bad, "x", "--olad", &addr])
            .output()
            .unwrap();
        // Nothing listens on port 1: one line, naming the address once.
        let refused = rvshell(&path)
            .args(["cue", "fire", &show, "house", "--olad", "127.0.0.1:1"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&refused.stderr).into_owned();
        assert_eq!(err.matches("127.0.0.1:1").count(), 1, "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        (
            unknown.status.code(),
            missing.status.code(),
            refused.status.code(),
        )
    })
    .await
    .unwrap();
    assert_eq!(codes, (Some(2), Some(1), Some(2)));
    client.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_drives_olad_until_sigterm() {
    let olad = common::ola::olad(Some(1)).await;
    let tmp = tempfile::tempdir().unwrap();
    let show = write(tmp.path(), "show.toml", SHOW);
    let sim = common::sim::Sim::start(tmp.path(), &[]);
    let port = sim.port.to_string();
    let mut run = common::rvshell(tmp.path())
        .args(["cue", "run", &show, "--port", &port])
        .args(["--olad", &olad.addr().to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(run.stdout.take().unwrap());
    let (path, port2) = (tmp.path().to_owned(), port.clone());
    let (lines, mut stdout) = tokio::task::spawn_blocking(move || {
        let mut lines = Vec::new();
        for _ in 0..2 {
            let mut line = String::new();
            stdout.read_line(&mut line).unwrap();
            lines.push(line.trim_end().to_owned());
            if lines.len() == 1 {
                rvshell(&path)
                    .args(["eval", "--port", &port2, "setFPS(1.0); play()"])
                    .assert()
                    .success();
            }
        }
        (lines, stdout)
    })
    .await
    .unwrap();
    assert_eq!(lines[0], "armed: 3 cues on 1 universe");
    assert!(
        lines[1].ends_with(" play-start -> dim (fade 0.3 s)"),
        "{lines:?}"
    );
    let client = OlaClient::connect(&olad.addr().to_string()).await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while client.get_dmx(1).await.unwrap()[..4] != [25; 4] {
        assert!(std::time::Instant::now() < deadline, "olad never held dim");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let status = tokio::task::spawn_blocking(move || common::sim::terminate(&mut run))
        .await
        .unwrap();
    assert!(status.success(), "{status:?}");
    // The fade's frames went to olad, not to the screen (only --dry-run
    // prints them).
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    assert_eq!(rest, "", "printed after the cue");
    client.close().await.unwrap();
}
