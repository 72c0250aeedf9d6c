//! The simulator's canvas end to end: a real client creates a stereo source
//! with rvshell's Mu block, sends PIXELTILE frames over loopback, and the
//! dumped files equal the expected top-down images pixel for pixel.

use bytes::Bytes;
use rvshell::rv::client::{Config, RvClient};
use rvshell::rv::frame::Frame;
use rvshell::rv::pixels::TileHeader;
use rvshell::sim::canvas::CanvasError;
use rvshell::sim::server::{SimConfig, Simulator};
use std::path::Path;
use std::time::Duration;

mod common;

async fn sim(dump: &Path) -> Simulator {
    Simulator::start(SimConfig {
        dump: Some(dump.to_path_buf()),
        ..SimConfig::any_port()
    })
    .await
    .unwrap()
}

async fn client(sim: &Simulator) -> RvClient {
    let mut config = Config::new("127.0.0.1", sim.local_addr().port());
    config.request_timeout = Duration::from_secs(10);
    RvClient::connect(config).await.unwrap().0
}

/// rvshell's source-creation block (rv-protocol.md §7.5), with any depth.
fn create_block(media: &str, w: u32, h: u32, bits: u32, float: bool) -> String {
    format!(
        r#"{{ let s = newImageSource( "{media}", {w}, {h}, {w}, {h}, 0, 0, 1.0, 4, {bits}, {float}, 1, 1, 24.0, nil, string[] {{"left", "right"}} ); newImageSourcePixels( s, 1, nil, "left"); newImageSourcePixels( s, 1, nil, "right"); }}"#
    )
}

/// A tile frame cut from a bottom-up buffer of `width` pixels of `px` bytes.
fn tile_frame(
    media: &str,
    view: &str,
    bottom_up: &[u8],
    width: u32,
    px: usize,
    (x, y, w, h): (u32, u32, u32, u32),
) -> Frame {
    let row = width as usize * px;
    let mut payload = Vec::with_capacity(w as usize * h as usize * px);
    for r in y..y + h {
        let start = r as usize * row + x as usize * px;
        payload.extend_from_slice(&bottom_up[start..start + w as usize * px]);
    }
    let header = TileHeader {
        media: media.into(),
        view: Some(view.into()),
        layer: None,
        w,
        h,
        x: x.into(),
        y: y.into(),
        f: 1,
        event: None,
    };
    Frame::Data {
        header: header.to_header().unwrap(),
        payload: Bytes::from(payload),
    }
}

/// rvshell's grid (§7.5): column-major, the last column and row take the
/// remainder.
fn grid(width: u32, height: u32, nx: u32, ny: u32) -> Vec<(u32, u32, u32, u32)> {
    let (tw, th) = (width / nx, height / ny);
    let mut tiles = Vec::new();
    for tx in 0..nx {
        for ty in 0..ny {
            let w = if tx == nx - 1 { width - tw * tx } else { tw };
            let h = if ty == ny - 1 { height - th * ty } else { th };
            tiles.push((tw * tx, th * ty, w, h));
        }
    }
    tiles
}

/// A deterministic top-down RGBA8 test image with distinct neighbours.
fn rgba8_image(width: u32, height: u32) -> Vec<u8> {
    let mut out = Vec::new();
    for y in 0..height {
        for x in 0..width {
            out.extend_from_slice(&[
                (x * 7 + y) as u8,
                (y * 11 + x * 3) as u8,
                (x * y) as u8,
                (255 - x - y) as u8,
            ]);
        }
    }
    out
}

fn flip(rows: &[u8], row_bytes: usize) -> Vec<u8> {
    rows.chunks_exact(row_bytes)
        .rev()
        .flatten()
        .copied()
        .collect()
}

#[tokio::test]
async fn stereo_rgba8_push_dumps_exact_top_down_pngs() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim(dir.path()).await;
    let rv = client(&sim).await;
    let (width, height) = (33u32, 21u32);
    let node = rv
        .eval(create_block("shot.v1", width, height, 8, false))
        .await
        .unwrap();
    assert_eq!(node, r#""sourceGroup000000_source.image.1:right""#);

    let top_down = rgba8_image(width, height);
    let left = flip(&top_down, width as usize * 4);
    let right: Vec<u8> = left.iter().map(|v| 255 - v).collect();
    let tiles = grid(width, height, 4, 3);
    assert_eq!(tiles[11], (24, 14, 9, 7), "uneven last tile");
    for &t in &tiles {
        rv.send_frame(tile_frame("shot.v1", "left", &left, width, 4, t))
            .await
            .unwrap();
        rv.send_frame(tile_frame("shot.v1", "right", &right, width, 4, t))
            .await
            .unwrap();
    }
    // A RETURNEVENT is answered after everything before it was handled.
    assert_eq!(rv.eval("redraw()").await.unwrap(), "void");
    sim.flush_dumps().await.unwrap();

    let png = image::open(dir.path().join("shot.v1.left.1.png")).unwrap();
    assert_eq!(png.color(), image::ColorType::Rgba8);
    assert_eq!(png.into_rgba8().into_raw(), top_down);
    let png = image::open(dir.path().join("shot.v1.right.1.png"))
        .unwrap()
        .into_rgba8();
    let inverse: Vec<u8> = top_down.iter().map(|v| 255 - v).collect();
    assert_eq!(png.into_raw(), inverse);
    let stats = sim.with_canvas(|c| c.stats().clone());
    assert_eq!(stats.tiles_accepted, 24);
    assert_eq!(stats.tiles_rejected, 0);
    assert_eq!(stats.dumps_written, 2);
    assert!(sim.with_canvas(|c| {
        c.image("shot.v1", 1, Some("left"), None)
            .unwrap()
            .is_complete()
    }));

    // A later tile changes the image: the file is written again.
    let mut changed = left.clone();
    changed[..4].copy_from_slice(&[1, 2, 3, 4]); // bottom-left pixel
    rv.send_frame(tile_frame(
        "shot.v1",
        "left",
        &changed,
        width,
        4,
        (0, 0, 1, 1),
    ))
    .await
    .unwrap();
    rv.eval("redraw()").await.unwrap();
    sim.flush_dumps().await.unwrap();
    assert_eq!(sim.with_canvas(|c| c.stats().dumps_written), 3);
    let png = image::open(dir.path().join("shot.v1.left.1.png"))
        .unwrap()
        .into_rgba8();
    assert_eq!(png.into_raw(), flip(&changed, width as usize * 4));
    rv.close().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn float_source_dumps_exr_and_sixteen_bit_dumps_png16() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim(dir.path()).await;
    let rv = client(&sim).await;
    let (width, height) = (5u32, 3u32);
    rv.eval(create_block("F", width, height, 32, true))
        .await
        .unwrap();
    rv.eval(create_block("S", width, height, 16, false))
        .await
        .unwrap();
    let floats: Vec<f32> = (0..width * height * 4)
        .map(|i| i as f32 / 7.0 - 2.0)
        .collect();
    let float_bytes: Vec<u8> = floats.iter().flat_map(|v| v.to_ne_bytes()).collect();
    let shorts: Vec<u16> = (0..width * height * 4).map(|i| (i * 4099) as u16).collect();
    let short_bytes: Vec<u8> = shorts.iter().flat_map(|v| v.to_ne_bytes()).collect();
    for t in grid(width, height, 2, 2) {
        rv.send_frame(tile_frame("F", "left", &float_bytes, width, 16, t))
            .await
            .unwrap();
        rv.send_frame(tile_frame("S", "right", &short_bytes, width, 8, t))
            .await
            .unwrap();
    }
    rv.eval("redraw()").await.unwrap();
    sim.flush_dumps().await.unwrap();

    let exr = image::open(dir.path().join("F.left.1.exr"))
        .unwrap()
        .into_rgba32f();
    let row = width as usize * 4;
    let want: Vec<f32> = floats.chunks_exact(row).rev().flatten().copied().collect();
    assert_eq!(exr.into_raw(), want);
    let png = image::open(dir.path().join("S.right.1.png")).unwrap();
    assert_eq!(png.color(), image::ColorType::Rgba16);
    let want: Vec<u16> = shorts.chunks_exact(row).rev().flatten().copied().collect();
    assert_eq!(png.into_rgba16().into_raw(), want);
    // The views that received nothing are not written.
    assert!(!dir.path().join("F.right.1.exr").exists());
    assert!(!dir.path().join("S.left.1.png").exists());
    sim.shutdown().await;
}

#[tokio::test]
async fn bad_tiles_are_rejected_and_the_connection_keeps_working() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim(dir.path()).await;
    let rv = client(&sim).await;
    let (width, height) = (4u32, 3u32);
    rv.eval(create_block("M", width, height, 8, false))
        .await
        .unwrap();
    let image: Vec<u8> = (0..width * height * 4).map(|i| i as u8).collect();
    let good = tile_frame("M", "left", &image, width, 4, (0, 0, 4, 3));

    let short = Frame::Data {
        header: "PIXELTILE(media=M,view=left,w=4,h=3,x=0,y=0,f=1)".into(),
        payload: Bytes::from(vec![0u8; 47]),
    };
    let outside = Frame::Data {
        header: "PIXELTILE(media=M,view=left,w=2,h=2,x=3,y=2,f=1)".into(),
        payload: Bytes::from(vec![0u8; 16]),
    };
    let unknown = Frame::Data {
        header: "PIXELTILE(media=nope,view=left,w=1,h=1,x=0,y=0,f=1)".into(),
        payload: Bytes::from(vec![0u8; 4]),
    };
    rv.send_frame(short).await.unwrap();
    rv.send_frame(outside).await.unwrap();
    // A DATAEVENT is still only logged, not taken for a tile.
    rv.send_frame(Frame::Data {
        header: "DATAEVENT(my-event,unused,my/type)".into(),
        payload: Bytes::from_static(b"data"),
    })
    .await
    .unwrap();
    rv.send_frame(unknown).await.unwrap();
    assert_eq!(rv.eval("frame()").await.unwrap(), "1");
    let stats = sim.with_canvas(|c| c.stats().clone());
    assert_eq!((stats.tiles_accepted, stats.tiles_rejected), (0, 3));
    assert_eq!(
        stats.last_error,
        Some(CanvasError::UnknownMedia {
            media: "nope".into()
        })
    );
    let image_state = sim.with_canvas(|c| {
        let left = c.image("M", 1, Some("left"), None).unwrap();
        (left.covered_pixels(), left.pixels().iter().all(|b| *b == 0))
    });
    assert_eq!(image_state, (0, true), "nothing written by the bad tiles");

    rv.send_frame(good).await.unwrap();
    rv.eval("redraw()").await.unwrap();
    sim.flush_dumps().await.unwrap();
    let png = image::open(dir.path().join("M.left.1.png"))
        .unwrap()
        .into_rgba8();
    assert_eq!(png.into_raw(), flip(&image, width as usize * 4));
    let stats = sim.with_canvas(|c| c.stats().clone());
    assert_eq!((stats.tiles_accepted, stats.tiles_rejected), (1, 3));
    assert_eq!(stats.dumps_written, 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn completed_images_are_written_without_redraw_and_on_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim(dir.path()).await;
    let rv = client(&sim).await;
    rv.eval(create_block("A", 2, 2, 8, false)).await.unwrap();
    let image: Vec<u8> = (0..16).collect();
    rv.send_frame(tile_frame("A", "left", &image, 2, 4, (0, 0, 2, 2)))
        .await
        .unwrap();
    // Completion alone writes the file: no redraw, no flush.
    rv.eval("frame()").await.unwrap();
    until(&sim, |c| c.stats().dumps_written > 0).await;
    let path = dir.path().join("A.left.1.png");
    assert_eq!(
        image::open(&path).unwrap().into_rgba8().into_raw(),
        flip(&image, 8)
    );
    // A change with no redraw and no flush is still written at shutdown.
    let changed: Vec<u8> = image.iter().map(|v| v + 100).collect();
    rv.send_frame(tile_frame("A", "left", &changed, 2, 4, (0, 0, 2, 2)))
        .await
        .unwrap();
    rv.eval("frame()").await.unwrap();
    rv.close().await;
    sim.shutdown().await;
    assert_eq!(
        image::open(&path).unwrap().into_rgba8().into_raw(),
        flip(&changed, 8)
    );
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, vec!["A.left.1.png"], "no temporary files left");
}

#[test]
fn sim_refuses_a_dump_directory_it_cannot_create() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, b"x").unwrap();
    let target = file.join("dumps");
    let out = assert_cmd::Command::new(assert_cmd::cargo::cargo_bin!("rvshell"))
        .args(["sim", "--port", "0", "--no-port-file", "--dump"])
        .arg(&target)
        .timeout(Duration::from_secs(30))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with(&format!(
            "rvshell sim: cannot create dump directory {}: ",
            target.display()
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains("choose a writable directory with --dump"),
        "{stderr}"
    );
}

/// Kills the child simulator (by its own handle) if a test fails early.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[cfg(unix)]
#[tokio::test]
async fn rvshell_sim_dump_writes_pending_images_when_terminated() {
    use std::io::{BufRead, BufReader};
    let tmp = tempfile::tempdir().unwrap();
    let dump = tmp.path().join("new").join("dumps");
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin!("rvshell"))
        .args(["sim", "--port", "0", "--no-port-file", "--dump"])
        .arg(&dump)
        .env("TMPDIR", tmp.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut child = KillOnDrop(child);
    let mut lines = BufReader::new(stdout).lines();
    let first = lines.next().unwrap().unwrap();
    let port: u16 = first
        .strip_prefix("listening on 127.0.0.1:")
        .unwrap_or_else(|| panic!("first line was {first:?}"))
        .parse()
        .unwrap();
    assert_eq!(
        lines.next().unwrap().unwrap(),
        format!("dumping completed images to {}", dump.display())
    );
    assert!(dump.is_dir(), "the dump directory is created");

    let mut config = Config::new("127.0.0.1", port);
    config.request_timeout = Duration::from_secs(10);
    let rv = RvClient::connect(config).await.unwrap().0;
    rv.eval(create_block("cli", 2, 2, 8, false)).await.unwrap();
    // The first tile completes the image: it is written at once.
    let first: Vec<u8> = (100..116).collect();
    rv.send_frame(tile_frame("cli", "left", &first, 2, 4, (0, 0, 2, 2)))
        .await
        .unwrap();
    rv.eval("frame()").await.unwrap();
    let path = dump.join("cli.left.1.png");
    let written = |pixels: &[u8]| {
        image::open(&path)
            .map(|png| png.into_rgba8().into_raw() == flip(pixels, 8))
            .unwrap_or(false)
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !written(&first) {
        assert!(
            std::time::Instant::now() < deadline,
            "first image never written"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // A change to a complete image waits for quiet (250 ms) before it is
    // rewritten; SIGTERM lands well inside that wait.
    let second: Vec<u8> = (200..216).collect();
    rv.send_frame(tile_frame("cli", "left", &second, 2, 4, (0, 0, 2, 2)))
        .await
        .unwrap();
    rv.eval("frame()").await.unwrap();
    rv.close().await;

    // SIGTERM: the simulator writes what is pending before it exits.
    assert!(common::sim::terminate(&mut child.0).success());
    assert!(
        written(&second),
        "the pending change was written on SIGTERM"
    );
}

/// A bare connection that greets, reads the answer (so that closing it
/// ends the stream cleanly rather than resetting it) and turns the
/// heartbeat off, for writing frames cut short.
async fn raw_peer(sim: &Simulator, contact: &str) -> tokio::net::TcpStream {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(sim.local_addr())
        .await
        .unwrap();
    let mut hello = bytes::BytesMut::new();
    for frame in [
        Frame::NewGreeting {
            contact: contact.into(),
            app: "test".into(),
        },
        Frame::PingPongControl(false),
    ] {
        frame.encode(&mut hello).unwrap();
    }
    stream.write_all(&hello).await.unwrap();
    let mut greeting = bytes::BytesMut::new();
    Frame::Greeting("rvsim".into())
        .encode(&mut greeting)
        .unwrap();
    let mut got = vec![0; greeting.len()];
    stream.read_exact(&mut got).await.unwrap();
    assert_eq!(got, greeting);
    stream
}

fn row_len(width: u32) -> usize {
    width as usize * 4
}

/// Waits until `done` holds for the simulator's canvas; fails the test
/// after 5 s.
async fn until(sim: &Simulator, done: impl Fn(&rvshell::sim::canvas::Canvas) -> bool) {
    let wait = async {
        while !sim.with_canvas(&done) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(5), wait)
        .await
        .expect("the canvas got there within 5 s");
}

/// A large tile (received straight into its rows) whose peer vanishes
/// half-way: its other pixels, the other view and the other clients are
/// untouched, and the tile counts as not received until sent again.
#[tokio::test]
async fn a_peer_vanishing_mid_tile_leaves_the_rest_and_others_are_served() {
    use tokio::io::AsyncWriteExt;
    let dir = tempfile::tempdir().unwrap();
    let sim = sim(dir.path()).await;
    let rv = client(&sim).await;
    let (width, height) = (512u32, 256u32);
    let row = width as usize * 4;
    rv.eval(create_block("M", width, height, 8, false))
        .await
        .unwrap();
    let image: Vec<u8> = (0..row_len(width) * height as usize)
        .map(|i| (i * 7 % 251) as u8)
        .collect();
    for view in ["left", "right"] {
        rv.send_frame(tile_frame(
            "M",
            view,
            &image,
            width,
            4,
            (0, 0, width, height),
        ))
        .await
        .unwrap();
    }
    rv.eval("redraw()").await.unwrap();
    sim.flush_dumps().await.unwrap();
    let dumps = || sim.with_canvas(|c| c.stats().dumps_written);
    assert_eq!(dumps(), 2);

    // 256x256 at x=128: 256 KiB, half of it sent.
    let (x, w, h) = (128usize, 256usize, 256usize);
    let len = w * h * 4;
    let mut peer = raw_peer(&sim, "vanishing").await;
    let mut bytes =
        format!("PIXELTILE(media=M,view=left,w={w},h={h},x={x},y=0,f=1) {len} ").into_bytes();
    bytes.extend(vec![0xab; len / 2]);
    peer.write_all(&bytes).await.unwrap();
    drop(peer);
    until(&sim, |c| c.stats().tiles_rejected == 1).await;

    let (last_error, left, right, complete, covered) = sim.with_canvas(|c| {
        let left = c.image("M", 1, Some("left"), None).unwrap();
        let right = c.image("M", 1, Some("right"), None).unwrap();
        (
            c.stats().last_error.clone(),
            left.pixels().to_vec(),
            right.pixels().to_vec(),
            left.is_complete(),
            left.covered_pixels(),
        )
    });
    assert!(
        matches!(last_error, Some(CanvasError::Truncated { got, expected, .. })
            if got == len as u64 / 2 && expected == len as u64),
        "{last_error:?}"
    );
    let mut expected = image.clone();
    for r in 0..h / 2 {
        expected[r * row + x * 4..][..w * 4].fill(0xab);
    }
    assert!(left == expected, "only the tile's arrived bytes changed");
    assert!(right == image, "the other view is untouched");
    assert!(!complete);
    assert_eq!(covered, (width * height) as u64 - (w * h) as u64);
    rv.eval("redraw()").await.unwrap();
    assert_eq!(
        sim.flush_dumps().await.unwrap(),
        0,
        "not dumped half-written"
    );

    // The simulator still serves its clients, and the tile sent again
    // completes the image.
    let again = tile_frame(
        "M",
        "left",
        &image,
        width,
        4,
        (x as u32, 0, w as u32, h as u32),
    );
    rv.send_frame(again).await.unwrap();
    rv.eval("redraw()").await.unwrap();
    sim.flush_dumps().await.unwrap();
    assert_eq!(dumps(), 3);
    let png = image::open(dir.path().join("M.left.1.png"))
        .unwrap()
        .into_rgba8();
    assert!(png.into_raw() == flip(&image, row));
    sim.shutdown().await;
}

/// A large tile whose peer vanishes right after its header changed no pixel:
/// a complete image stays complete, and a dump it was due still happens.
#[tokio::test]
async fn a_peer_vanishing_after_a_tile_header_changes_nothing() {
    use tokio::io::AsyncWriteExt;
    let dir = tempfile::tempdir().unwrap();
    let sim = sim(dir.path()).await;
    let rv = client(&sim).await;
    let (width, height) = (512u32, 256u32);
    rv.eval(create_block("M", width, height, 8, false))
        .await
        .unwrap();
    let image: Vec<u8> = (0..row_len(width) * height as usize)
        .map(|i| (i * 3 % 253) as u8)
        .collect();
    let whole = |view| tile_frame("M", view, &image, width, 4, (0, 0, width, height));
    rv.send_frame(whole("left")).await.unwrap();
    rv.send_frame(whole("right")).await.unwrap();
    rv.eval("frame()").await.unwrap();
    // Completing both views writes them at once; new pixels for a complete
    // view make a dump due after the quiet period.
    until(&sim, |c| c.stats().dumps_written == 2).await;
    rv.send_frame(whole("left")).await.unwrap();
    rv.eval("frame()").await.unwrap();

    let len = 256 * 256 * 4;
    let mut peer = raw_peer(&sim, "vanishing").await;
    let head = format!("PIXELTILE(media=M,view=left,w=256,h=256,x=0,y=0,f=1) {len} ");
    peer.write_all(head.as_bytes()).await.unwrap();
    drop(peer);
    until(&sim, |c| c.stats().tiles_rejected == 1).await;

    let (complete, covered, left) = sim.with_canvas(|c| {
        let left = c.image("M", 1, Some("left"), None).unwrap();
        (
            left.is_complete(),
            left.covered_pixels(),
            left.pixels().to_vec(),
        )
    });
    assert!(complete, "no pixel changed, so the image is still whole");
    assert_eq!(covered, u64::from(width * height));
    assert!(left == image);
    // The dump that was due is still written (by the flush, or by its timer
    // if that came first).
    sim.flush_dumps().await.unwrap();
    until(&sim, |c| c.stats().dumps_written == 3).await;
    sim.shutdown().await;
}

/// While a large tile is received into an image, another connection's tile
/// for it is refused (and said so), and the first tile still lands whole.
#[tokio::test]
async fn a_tile_for_an_image_receiving_another_is_refused_cleanly() {
    use tokio::io::AsyncWriteExt;
    let dir = tempfile::tempdir().unwrap();
    let sim = sim(dir.path()).await;
    let rv = client(&sim).await;
    let (width, height) = (512u32, 256u32);
    rv.eval(create_block("M", width, height, 8, false))
        .await
        .unwrap();
    let image: Vec<u8> = (0..row_len(width) * height as usize)
        .map(|i| (i * 7 % 251) as u8)
        .collect();
    let Frame::Data { header, payload } =
        tile_frame("M", "left", &image, width, 4, (0, 0, width, height))
    else {
        unreachable!()
    };
    let mut slow = raw_peer(&sim, "slow").await;
    let mut first = format!("{header} {} ", payload.len()).into_bytes();
    first.extend_from_slice(&payload[..1000]);
    slow.write_all(&first).await.unwrap();
    until(&sim, |c| {
        c.image("M", 1, Some("left"), None)
            .is_some_and(|i| i.pixels().is_empty())
    })
    .await;

    rv.send_frame(tile_frame("M", "left", &image, width, 4, (0, 0, 4, 4)))
        .await
        .unwrap();
    assert_eq!(rv.eval("frame()").await.unwrap(), "1");
    let stats = sim.with_canvas(|c| c.stats().clone());
    assert!(
        matches!(stats.last_error, Some(CanvasError::Busy { .. })),
        "{:?}",
        stats.last_error
    );

    slow.write_all(&payload[1000..]).await.unwrap();
    until(&sim, |c| c.stats().tiles_accepted == 1).await;
    let left = sim.with_canvas(|c| {
        let left = c.image("M", 1, Some("left"), None).unwrap();
        (left.is_complete(), left.pixels() == &payload[..])
    });
    assert_eq!(left, (true, true));
    sim.shutdown().await;
}
