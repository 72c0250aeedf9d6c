//! End to end through the Pixels tab: the real binary in a private tmux
//! server against a child `rvshell sim --dump DIR`. Type the path of a small
//! PNG, set 2x2 tiles and a media name, Send, wait for the success line in
//! the feedback, quit with `q`, stop the simulator with SIGTERM (it writes
//! pending dumps on exit) and compare the dumped left view with the image
//! pixel for pixel.

use std::time::Duration;

mod common;
use common::sim::Sim;
use common::tmux::{Tmux, wait_for_file};

#[test]
fn push_a_png_in_2x2_tiles_and_the_simulator_dumps_it_pixel_for_pixel() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Odd sizes, so the last column and row take a remainder; alpha varies.
    let image = image::RgbaImage::from_fn(37, 23, |x, y| {
        image::Rgba([
            (x * 7) as u8,
            (y * 11) as u8,
            ((x + y) * 5) as u8,
            255 - (x * 3) as u8,
        ])
    });
    let png = d.join("e2e.png");
    image.save(&png).unwrap();
    let dump = d.join("dump");
    std::fs::create_dir(&dump).unwrap();
    let mut sim = Sim::start(d, &["--dump", dump.to_str().unwrap()]);

    let bin = env!("CARGO_BIN_EXE_rvshell");
    let script = format!(
        "RVSHELL_DATA_DIR={dd}/data RVSHELL_CONFIG={dd}/none.toml '{bin}' --port {port} \
         --log-file {dd}/log; echo $? > {dd}/rc; sleep 120",
        dd = d.display(),
        port = sim.port,
    );
    let tmux = Tmux::start(&script);
    tmux.wait_for("Connected to");
    tmux.keys(&["3"]);
    tmux.wait_for("no image loaded");
    tmux.keys(&["o"]);
    tmux.keys(&["-l", &png.display().to_string()]);
    tmux.keys(&["Enter"]);
    tmux.wait_for("loaded e2e.png: 37x23, PNG, RGBA 8-bit");
    tmux.keys(&["Escape"]);
    std::thread::sleep(Duration::from_millis(100)); // so Esc and x are not read as Alt+x
    for (field, text) in [("x", "2"), ("y", "2"), ("m", "e2e_shot")] {
        tmux.keys(&[field, "C-u"]);
        tmux.keys(&["-l", text]);
        tmux.keys(&["Enter"]);
    }
    tmux.wait_for("4 tiles");
    tmux.keys(&["s"]);
    let screen = tmux.wait_for("pushed e2e_shot → sourceGroup000000_source in");
    assert!(
        screen.contains("→ push e2e.png 37x23, 2x2 tiles, 8-bit"),
        "{screen}"
    );
    assert!(screen.contains("(4 tiles, 0.0 MB"), "{screen}");

    tmux.keys(&["q"]);
    assert_eq!(wait_for_file(&d.join("rc")).trim(), "0");
    assert!(sim.terminate().success());

    let left = image::open(dump.join("e2e_shot.left.1.png"))
        .unwrap()
        .to_rgba8();
    assert_eq!(left.dimensions(), image.dimensions());
    assert!(left == image, "the dumped left view differs from the image");
    let right = image::open(dump.join("e2e_shot.right.1.png"))
        .unwrap()
        .to_rgba8();
    let inverse: Vec<u8> = image.as_raw().iter().map(|v| 255 - v).collect();
    assert!(
        right.as_raw() == &inverse,
        "the right view is not the inverse"
    );
}

#[test]
fn the_demo_sends_its_built_in_test_chart_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    let bin = env!("CARGO_BIN_EXE_rvshell");
    let script = format!(
        "RVSHELL_DATA_DIR={d}/data RVSHELL_CONFIG={d}/none.toml '{bin}' demo --log-file {d}/log; \
         echo $? > {d}/rc; sleep 120"
    );
    let tmux = Tmux::start(&script);
    tmux.wait_for("loaded test-chart.png (built in): 640x360, PNG, RGBA 8-bit");
    tmux.wait_for("Connected to rvsim");
    tmux.keys(&["3"]);
    tmux.wait_for("<built-in test chart>");
    tmux.keys(&["s"]);
    let screen = tmux.wait_for("→ sourceGroup000000_source in");
    assert!(screen.contains("pushed test-chart-"), "{screen}");
    assert!(screen.contains("(1 tile, 1.8 MB"), "{screen}");
    tmux.keys(&["q"]);
    assert_eq!(wait_for_file(&dir.path().join("rc")).trim(), "0");
}
