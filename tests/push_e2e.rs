//! End to end: `push` through the simulator's canvas to its dumped files,
//! pixel for pixel, for an odd size, several tilings and every depth.

use rvshell::rv::client::{Config, RvClient};
use rvshell::rv::pixels::{Depth, Samples, Tiling};
use rvshell::rv::push::{PushOptions, push};
use rvshell::sim::server::{SimConfig, Simulator};
use tokio_util::sync::CancellationToken;

fn source_image(width: u32, height: u32) -> image::DynamicImage {
    image::DynamicImage::ImageRgba8(image::RgbaImage::from_fn(width, height, |x, y| {
        image::Rgba([
            (x * 3 + y) as u8,
            (y * 5) as u8,
            (x ^ (y * 7)) as u8,
            (200 + (x + y) % 50) as u8,
        ])
    }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dumped_views_equal_the_image_and_its_inverse() {
    // Odd sizes; wide enough that float tiles of the 3x2 grid have rows of
    // more than 4 KiB (written as slices of the image, not gathered), and
    // tiles big enough for the simulator to read them straight into the
    // image's rows.
    let (width, height) = (1111, 201);
    let dir = tempfile::tempdir().unwrap();
    let sim = Simulator::start(SimConfig {
        dump: Some(dir.path().to_owned()),
        ..SimConfig::any_port()
    })
    .await
    .unwrap();
    let (client, _events) = RvClient::connect(Config::new("127.0.0.1", sim.local_addr().port()))
        .await
        .unwrap();
    let img = source_image(width, height);
    let cancel = CancellationToken::new();
    for depth in [Depth::U8, Depth::U16, Depth::F32] {
        let samples = Samples::from_image(&img, depth);
        for tiling in [
            Tiling::Grid { nx: 1, ny: 1 },
            Tiling::Grid { nx: 3, ny: 2 },
            Tiling::Grid { nx: 7, ny: 5 },
            Tiling::Buckets { w: 64, h: 64 },
        ] {
            let media = format!(
                "e2e-{}-{}",
                depth.bits(),
                tiling.to_string().replace(' ', "_")
            );
            let options = PushOptions {
                tiling,
                media: Some(media.clone()),
                ..PushOptions::default()
            };
            let report = push(&client, &samples, &options, &cancel, |_| {})
                .await
                .unwrap();
            assert!(report.node.is_some(), "{report:?}");
            // The simulator handles frames in order: once this RETURN is back,
            // every tile has been inserted.
            client.eval("frame()").await.unwrap();
            sim.flush_dumps().await.unwrap();
            let ext = if depth.is_float() { "exr" } else { "png" };
            let read = |view: &str| {
                let path = dir.path().join(format!("{media}.{view}.1.{ext}"));
                image::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            };
            let (left, right) = (read("left"), read("right"));
            let case = format!("{depth:?} {tiling}");
            match depth {
                Depth::U8 => {
                    let want = img.to_rgba8();
                    assert!(left.to_rgba8() == want, "{case}: left differs");
                    let inv: Vec<u8> = want.as_raw().iter().map(|v| 255 - v).collect();
                    assert!(right.to_rgba8().into_raw() == inv, "{case}: right differs");
                }
                Depth::U16 => {
                    let want = img.to_rgba16();
                    assert!(left.to_rgba16() == want, "{case}: left differs");
                    let inv: Vec<u16> = want.as_raw().iter().map(|v| 65535 - v).collect();
                    assert!(right.to_rgba16().into_raw() == inv, "{case}: right differs");
                }
                Depth::F32 => {
                    let want = img.to_rgba32f();
                    assert!(left.to_rgba32f() == want, "{case}: left differs");
                    let inv: Vec<f32> = want.as_raw().iter().map(|v| 1.0 - v).collect();
                    assert!(
                        right.to_rgba32f().into_raw() == inv,
                        "{case}: right differs"
                    );
                }
            }
        }
    }
    client.close().await;
    sim.shutdown().await;
}
