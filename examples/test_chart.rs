//! Writes `assets/test-chart.png`, the sample image the demo and the tests push:
//! SMPTE-style colour bars, a greyscale ramp, RGB ramps, a 16-pixel grid and a
//! marker in the top-left corner (so a flipped image is obvious).
//!
//! Run: `cargo run --example test_chart [WIDTHxHEIGHT] [PATH]`.

use image::{Rgba, RgbaImage};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let size = args.next().unwrap_or_else(|| "640x360".into());
    let path = args
        .next()
        .unwrap_or_else(|| "assets/test-chart.png".into());
    let (w, h) = size
        .split_once('x')
        .and_then(|(w, h)| Some((w.parse().ok()?, h.parse().ok()?)))
        .ok_or("size must be WIDTHxHEIGHT")?;
    chart(w, h).save(&path)?;
    println!("wrote {path} ({w}x{h})");
    Ok(())
}

fn chart(w: u32, h: u32) -> RgbaImage {
    const BARS: [[u8; 3]; 7] = [
        [192, 192, 192],
        [192, 192, 0],
        [0, 192, 192],
        [0, 192, 0],
        [192, 0, 192],
        [192, 0, 0],
        [0, 0, 192],
    ];
    RgbaImage::from_fn(w, h, |x, y| {
        let fx = x as f32 / (w.max(2) - 1) as f32;
        let ramp = (fx * 255.0).round() as u8;
        let band = y * 8 / h.max(1);
        let mut rgb = match band {
            0..=3 => BARS[(x * 7 / w.max(1)) as usize % 7],
            4 => [ramp, ramp, ramp],
            5 => [ramp, 0, 0],
            6 => [0, ramp, 0],
            _ => [0, 0, ramp],
        };
        if x % 16 == 0 || y % 16 == 0 {
            rgb = rgb.map(|v| v / 2 + 64);
        }
        // Orientation marker: a white square, top-left.
        if x < w / 10 && y < h / 10 {
            rgb = [255, 255, 255];
        }
        let alpha = if band == 7 { 255 - ramp / 2 } else { 255 };
        Rgba([rgb[0], rgb[1], rgb[2], alpha])
    })
}
