//! End to end for the OLA-DMX tab: the real binary in tmux against a child
//! `rvshell sim` and a real olad started here (Dummy port patched to
//! universe 1, network plugins off). The shell starts before olad does, so
//! the tab first says olad is not running and then recovers on its own; keys
//! change slots, and the test reads them back from olad with GetDmx; then
//! olad restarts (forgetting everything) and gets the values back.

use rvshell::ola::client::OlaClient;
use rvshell::ola::daemon::{OladOptions, OladProcess};
use std::time::{Duration, Instant};

mod common;
use common::sim::Sim;
use common::tmux::{Tmux, wait_for_file};

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[test]
fn dmx_tab_recovers_when_olad_appears_and_olad_has_what_was_typed() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    let sim = Sim::start(dir.path(), &["--tag", "dmx-e2e"]);
    let olad_port = free_port();
    let olad_addr = format!("127.0.0.1:{olad_port}");
    let bin = env!("CARGO_BIN_EXE_rvshell");
    let script = format!(
        "RVSHELL_DATA_DIR={d}/data RVSHELL_CONFIG={d}/none.toml '{bin}' --host 127.0.0.1 \
         --port {} --olad {olad_addr} 2> {d}/stderr; echo $? > {d}/rc; sleep 120",
        sim.port
    );
    let tmux = Tmux::start(&script);
    tmux.wait_for("Connected to rvsim");
    // Shift+Tab from the first tab: the last one, OLA-DMX.
    tmux.keys(&["BTab"]);
    tmux.wait_for(&format!("olad is not running at {olad_addr}"));
    tmux.wait_for(&format!("olad {olad_addr} not running"));

    // olad appears; the tab connects on its own.
    let mut olad = rt
        .block_on(OladProcess::start(OladOptions {
            port: Some(olad_port),
            patch_universe: Some(1),
            ..OladOptions::default()
        }))
        .unwrap_or_else(|err| panic!("{err}"));
    tmux.wait_for(&format!("olad {olad_addr} connected"));
    tmux.wait_for(&format!("connected to olad at {olad_addr}"));

    // Channel 3 up by five; the readback from olad confirms each frame.
    tmux.keys(&["Right", "Right"]);
    tmux.wait_for("ch 3 = 0");
    for _ in 0..5 {
        tmux.keys(&["+"]);
    }
    tmux.wait_for("ch 3 = 5 (0x05, 2%)  olad 5");
    // Channel 2: a typed value.
    tmux.keys(&["Left", "1", "2", "8", "Enter"]);
    tmux.wait_for("ch 2 = 128 (0x80, 50%)  olad 128");
    // The last channel to full with Space.
    tmux.keys(&["End", "Space"]);
    tmux.wait_for("ch 512 = 255 (0xff, 100%)  olad 255");

    let read = || {
        rt.block_on(async {
            let client = OlaClient::connect(&olad_addr).await.unwrap();
            let data = client.get_dmx(1).await.unwrap();
            client.close().await.unwrap();
            data.to_vec()
        })
    };
    let mut expected = vec![0u8; 512];
    expected[1] = 128;
    expected[2] = 5;
    expected[511] = 255;
    assert_eq!(read(), expected);

    // olad restarts and forgets every value; the shell reconnects and sends
    // the console's frame again.
    rt.block_on(olad.restart())
        .unwrap_or_else(|err| panic!("{err}"));
    tmux.wait_for(&format!("connected again to olad at {olad_addr}"));
    let start = Instant::now();
    loop {
        let data = read();
        if data == expected {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "olad never got the values back: {data:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    // Twenty quick changes and quit at once: the newest state still
    // reaches olad (held changes go out before the close barrier).
    tmux.keys(&["Home"]);
    tmux.wait_for("ch 1 = 0");
    let mut burst = vec!["+"; 20];
    burst.push("q");
    tmux.keys(&burst);
    let rc = wait_for_file(&dir.path().join("rc"));
    assert_eq!(rc.trim(), "0");
    // The client logs olad's loss as a warning; without --log-file nothing
    // may be written to the terminal behind the screen's back.
    let stderr = std::fs::read_to_string(dir.path().join("stderr")).unwrap();
    assert_eq!(stderr, "", "written to stderr during the session");
    expected[0] = 20;
    assert_eq!(read(), expected);
    olad.stop();
}

#[test]
fn demo_without_olad_installed_says_how_to_get_it_and_the_rest_works() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    let bin = env!("CARGO_BIN_EXE_rvshell");
    // No olad on PATH (the shell itself needs nothing from PATH).
    let script = format!(
        "RVSHELL_DATA_DIR={d}/data RVSHELL_CONFIG={d}/none.toml PATH={d}/empty '{bin}' demo \
         2> {d}/stderr; echo $? > {d}/rc; sleep 120"
    );
    let tmux = Tmux::start(&script);
    tmux.wait_for("Connected to rvsim");
    tmux.wait_for("olad is not installed, so the OLA-DMX tab has no olad");
    tmux.keys(&["BTab"]);
    tmux.wait_for("apt-get install ola");
    tmux.wait_for("olad (none) not installed");
    // Changes are kept, nothing hangs, and the RV side still works.
    tmux.keys(&["+"]);
    tmux.wait_for("send failed (ch 1): olad is not installed");
    tmux.keys(&["M-1"]);
    tmux.wait_for("┌ Playback Control");
    tmux.keys(&["Space"]);
    tmux.wait_for("RETURN \"FRAME = ");
    tmux.keys(&["q"]);
    let rc = wait_for_file(&dir.path().join("rc"));
    assert_eq!(rc.trim(), "0");
}
