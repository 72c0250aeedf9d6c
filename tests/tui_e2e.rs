//! End to end: the real binary in a real pseudo-terminal (a private tmux
//! server), as a user runs it: `rvshell demo`, press Play, read the RETURN
//! on the screen, send Mu from the Raw Event tab, quit with `q`, and check
//! the process exited 0 and the terminal was given back.

use std::process::Command;
use std::time::Duration;

mod common;
use common::tmux::{Tmux, wait_for_file};

/// Never a silent skip: scripts/test installs tmux.
fn require_tmux() {
    let found = Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "this test drives the binary through tmux; install tmux (scripts/test does)"
    );
}

#[test]
fn demo_play_shows_the_frame_and_q_quits_cleanly() {
    require_tmux();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    let bin = env!("CARGO_BIN_EXE_rvshell");
    let script = format!(
        "stty -g > {d}/before; RVSHELL_DATA_DIR={d}/data '{bin}' demo --log-file {d}/log; \
         echo $? > {d}/rc; stty -g > {d}/after; sleep 120"
    );
    let tmux = Tmux::start(&script);
    tmux.wait_for("Connected to rvsim");
    tmux.keys(&["Space"]);
    let screen = tmux.wait_for("RETURN \"FRAME = ");
    assert!(
        screen.contains("→ RETURNEVENT remote-eval * play();"),
        "{screen}"
    );

    // The Raw Event tab: type Mu into the editor and send it with Ctrl+S.
    tmux.keys(&["2"]);
    tmux.wait_for("[RETURNEVENT]");
    tmux.keys(&["C-a", "C-k"]);
    tmux.keys(&["-l", "\"rv\" + \"shell\""]);
    tmux.wait_for("\"rv\" + \"shell\"");
    tmux.keys(&["C-s"]);
    tmux.wait_for("RETURN \"rvshell\"");
    let history = wait_for_file(&dir.path().join("data/history"));
    assert!(
        history.contains("remote-eval\t*\tRETURNEVENT\t\"rv\" + \"shell\""),
        "{history:?}"
    );

    // Leave the editor, then q quits.
    tmux.keys(&["Escape"]);
    std::thread::sleep(Duration::from_millis(100)); // so Esc and q are not read as Alt+q
    tmux.keys(&["q"]);
    let rc = wait_for_file(&dir.path().join("rc"));
    assert_eq!(rc.trim(), "0");
    let before = std::fs::read_to_string(dir.path().join("before")).unwrap();
    let after = wait_for_file(&dir.path().join("after"));
    assert_eq!(before, after, "stty settings differ after exit");
    let modes = tmux.run(&[
        "display-message",
        "-p",
        "-t",
        "e2e",
        "#{alternate_on} #{mouse_any_flag} #{mouse_button_flag}",
    ]);
    assert_eq!(
        modes.trim(),
        "0 0 0",
        "alternate screen / mouse modes left on"
    );
}

/// A fake RV on loopback: greets, then records every byte until EOF.
fn fake_rv() -> (u16, std::sync::mpsc::Receiver<String>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let (mut socket, _) = listener.accept().unwrap();
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        let mut greeted = false;
        loop {
            let n = socket.read(&mut buf).unwrap_or(0);
            if n == 0 {
                break;
            }
            seen.extend_from_slice(&buf[..n]);
            if !greeted && String::from_utf8_lossy(&seen).contains(" rvshell") {
                socket.write_all(b"GREETING 4 fake").unwrap();
                greeted = true;
            }
        }
        let _ = tx.send(String::from_utf8_lossy(&seen).into_owned());
    });
    (port, rx)
}

/// A runtime and the simulator running in it, on a free loopback port.
fn sim_in_process() -> (tokio::runtime::Runtime, rvshell::sim::server::Simulator) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let sim = rt
        .block_on(rvshell::sim::server::Simulator::start(
            rvshell::sim::server::SimConfig::any_port(),
        ))
        .unwrap();
    (rt, sim)
}

#[test]
fn two_rvs_send_to_all_and_quit_signs_off_with_disconnect() {
    require_tmux();
    let (rt, sim) = sim_in_process();
    let (fake_port, fake_bytes) = fake_rv();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    let bin = env!("CARGO_BIN_EXE_rvshell");
    let script = format!(
        "RVSHELL_DATA_DIR={d}/data RVSHELL_CONFIG={d}/none.toml '{bin}' \
         --connect 127.0.0.1:{} --connect 127.0.0.1:{fake_port} --log-file {d}/log; \
         echo $? > {d}/rc; sleep 120",
        sim.local_addr().port()
    );
    let tmux = Tmux::start(&script);
    tmux.wait_for("2/2 connected, sending to 1/2");
    tmux.keys(&["a"]);
    tmux.wait_for("sending to all");
    tmux.keys(&["f"]);
    let screen = tmux.wait_for(&format!(
        "fake@127.0.0.1:{fake_port} → EVENT remote-eval * fullScreenMode(true)"
    ));
    assert!(
        screen.contains(&format!(
            "rvsim@127.0.0.1:{} → EVENT remote-eval *",
            sim.local_addr().port()
        )),
        "{screen}"
    );
    // The simulator got it too (its feedback line may wrap between words).
    let full = rt.block_on(async {
        let config = rvshell::rv::client::Config::new("127.0.0.1", sim.local_addr().port());
        let (client, _) = rvshell::rv::client::RvClient::connect(config)
            .await
            .unwrap();
        let full = client.eval("isFullScreen()").await.unwrap();
        client.close().await;
        full
    });
    assert_eq!(full, "true");
    tmux.keys(&["q"]);
    let rc = wait_for_file(&dir.path().join("rc"));
    assert_eq!(rc.trim(), "0");
    let bytes = fake_bytes
        .recv_timeout(Duration::from_secs(30))
        .expect("the fake RV saw no EOF");
    assert!(
        bytes.contains("MESSAGE 40 EVENT remote-eval * fullScreenMode(true)"),
        "{bytes:?}"
    );
    assert!(bytes.ends_with("MESSAGE 10 DISCONNECT"), "{bytes:?}");
    rt.block_on(sim.shutdown());
}

/// `rvshell NAME HOST PORT` as RV's own rvshell takes it, with RVSHELL_PORT
/// exported (to a port nothing listens on): the positional port is used, not
/// refused as conflicting with --port.
#[test]
fn the_positional_port_wins_over_rvshell_port_in_the_environment() {
    require_tmux();
    let (rt, sim) = sim_in_process();
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    let bin = env!("CARGO_BIN_EXE_rvshell");
    let script = format!(
        "RVSHELL_PORT={closed} RVSHELL_DATA_DIR={d}/data RVSHELL_CONFIG={d}/none.toml \
         '{bin}' rvsim 127.0.0.1 {} --log-file {d}/log 2> {d}/err; \
         echo $? > {d}/rc; sleep 120",
        sim.local_addr().port()
    );
    let tmux = Tmux::start(&script);
    tmux.wait_for(&format!(
        "RV rvsim@127.0.0.1:{} connected",
        sim.local_addr().port()
    ));
    tmux.keys(&["q"]);
    let rc = wait_for_file(&dir.path().join("rc"));
    let err = std::fs::read_to_string(dir.path().join("err")).unwrap();
    assert_eq!(rc.trim(), "0", "{err}");
    rt.block_on(sim.shutdown());
}

#[test]
fn without_a_terminal_the_shell_says_so_and_connects_to_nothing() {
    for args in [&["demo"][..], &["--connect", "127.0.0.1:1"][..], &[][..]] {
        let out = Command::new(env!("CARGO_BIN_EXE_rvshell"))
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("needs a terminal"), "{args:?}: {err}");
    }
}

/// Live RV state: a second client plays the simulator and the big frame
/// number on the Playback tab changes with no key pressed.
#[test]
fn another_client_moves_the_frame_on_screen_with_no_key_pressed() {
    require_tmux();
    let (rt, sim) = sim_in_process();
    let port = sim.local_addr().port();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    let bin = env!("CARGO_BIN_EXE_rvshell");
    let script = format!(
        "RVSHELL_DATA_DIR={d}/data RVSHELL_CONFIG={d}/none.toml \
         '{bin}' rvsim 127.0.0.1 {port} --log-file {d}/log; echo $? > {d}/rc; sleep 120"
    );
    let tmux = Tmux::start(&script);
    tmux.wait_for("● live");
    // The big digits of 73 (rows of ▀ █ glyphs) are not on screen before.
    let big = |n: &str| rvshell_bigdigits_row(n);
    assert!(!tmux.screen().contains(&big("73")));
    let driver = rt.block_on(async {
        let (driver, _) = rvshell::rv::client::RvClient::connect(rvshell::rv::client::Config::new(
            "127.0.0.1",
            port,
        ))
        .await
        .unwrap();
        driver.eval("setFrame(73)").await.unwrap();
        driver
    });
    tmux.wait_for(&big("73"));
    rt.block_on(driver.close());
    tmux.keys(&["q"]);
    let rc = wait_for_file(&dir.path().join("rc"));
    assert_eq!(rc.trim(), "0");
    rt.block_on(sim.shutdown());
}

/// The middle row of the big digits the Playback tab draws for `n`.
fn rvshell_bigdigits_row(n: &str) -> String {
    rvshell::ui::big_digits(n)[1].clone()
}

/// Closing the terminal (tmux kills the session: the tty hangs up) stops
/// the demo cleanly, its private olad and simulator with it: once with
/// SIGHUP delivered, once with SIGHUP ignored (as under `nohup`), where
/// only the hung-up tty says so.
#[test]
fn closing_the_terminal_stops_the_demo_and_its_private_olad() {
    require_tmux();
    for nohup in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display();
        let bin = env!("CARGO_BIN_EXE_rvshell");
        let setup =
            format!("mkdir {d}/tmp; export TMPDIR={d}/tmp RVSHELL_DATA_DIR={d}/data RUST_LOG=info");
        let run = format!("'{bin}' demo --log-file {d}/log");
        let script = if nohup {
            format!("trap '' HUP; {setup}; {run}; echo $? > {d}/rc; sleep 120")
        } else {
            format!("{setup}; exec {run}")
        };
        let tmux = Tmux::start(&script);
        tmux.wait_for("Connected to rvsim");
        tmux.run(&["kill-session", "-t", "e2e"]);
        let log = dir.path().join("log");
        let start = std::time::Instant::now();
        let stopped = loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if let Some(line) = text.lines().find(|l| l.contains("shell stopped")) {
                break line.to_owned();
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "nohup {nohup}: the shell never stopped:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        let why = if nohup {
            "the terminal hung up"
        } else {
            "SIGHUP received"
        };
        assert!(stopped.contains(why), "nohup {nohup}: {stopped}");
        if nohup {
            assert_eq!(wait_for_file(&dir.path().join("rc")), "0\n");
        }
        // The private olad stopped and took its directory with it (as the
        // shell ends, just after that line).
        let start = std::time::Instant::now();
        loop {
            let left: Vec<String> = std::fs::read_dir(dir.path().join("tmp"))
                .unwrap()
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|name| name.starts_with("rvshell-olad-"))
                .collect();
            if left.is_empty() {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "nohup {nohup}: left behind: {left:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}
