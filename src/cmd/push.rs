//! `rvshell push`: send an image to RV as a new stereo source, tile by tile.

use crate::options::RvArgs;
use crate::rv::client::RvClient;
use crate::rv::pixels::{DecodeLimits, Depth, Samples, Tiling, load_image};
use crate::rv::push::{PushError, PushOptions, check, push};
use clap::Args;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;
use tokio_util::sync::CancellationToken;

/// Arguments of `rvshell push`.
#[derive(Debug, Args)]
pub struct PushArgs {
    /// The image: JPEG, PNG, TIFF, EXR, WebP, BMP, GIF, TGA, PNM, QOI, HDR.
    pub image: PathBuf,
    /// Cut into NX by NY tiles, as rvshell does (columns outer, remainder in the last).
    #[arg(long, value_name = "NXxNY", default_value = "1x1", value_parser = parse_pair)]
    pub tiles: (u32, u32),
    /// Send buckets of W by H pixels instead, top row first, as a renderer does.
    #[arg(long, value_name = "WxH", value_parser = parse_pair, conflicts_with = "tiles")]
    pub tile_size: Option<(u32, u32)>,
    /// Bits per sample: 8, 16, or 32 (float).
    #[arg(long, value_name = "8|16|32", default_value = "8", value_parser = parse_bits)]
    pub bits: Depth,
    /// Media name (default: the file name plus a unique suffix).
    #[arg(long)]
    pub media: Option<String>,
    /// The frame the pixels go to.
    #[arg(long, default_value_t = 1)]
    pub frame: i64,
    /// Resend pixels into an existing media (needs --media); create no source.
    #[arg(long, requires = "media")]
    pub update_only: bool,
    /// Print one JSON object: {"media", "source", "tiles", "bytes", "seconds"}.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub rv: RvArgs,
}

fn parse_pair(text: &str) -> Result<(u32, u32), String> {
    let (a, b) = text
        .split_once(['x', 'X'])
        .ok_or_else(|| format!("{text:?} is not of the form AxB, e.g. 4x3"))?;
    let number = |s: &str| {
        s.trim()
            .parse::<u32>()
            .map_err(|_| format!("{text:?} is not of the form AxB with whole numbers, e.g. 4x3"))
    };
    Ok((number(a)?, number(b)?))
}

fn parse_bits(text: &str) -> Result<Depth, String> {
    text.parse()
        .ok()
        .and_then(Depth::from_bits)
        .ok_or_else(|| format!("{text:?} is not 8, 16 or 32"))
}

fn fail(code: u8, err: impl std::fmt::Display) -> ExitCode {
    eprintln!("rvshell push: {err}");
    ExitCode::from(code)
}

/// Runs `rvshell push`.
pub fn run(args: PushArgs) -> ExitCode {
    let config = crate::cmd::rv::config_for(&args.rv);
    let depth = args.bits;
    let tiling = match args.tile_size {
        Some((w, h)) => Tiling::Buckets { w, h },
        None => Tiling::Grid {
            nx: args.tiles.0,
            ny: args.tiles.1,
        },
    };
    let decode_start = Instant::now();
    let samples = match load_image(&args.image, DecodeLimits::default()) {
        Ok(image) => Samples::from_image(&image, depth),
        Err(err) => return fail(2, err),
    };
    let decode_time = decode_start.elapsed();
    let options = PushOptions {
        tiling,
        media: args.media,
        stem: args
            .image
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default(),
        frame: args.frame,
        update_only: args.update_only,
        ..PushOptions::default()
    };
    // Everything that can be wrong without RV is said before connecting.
    if let Err(err) = check(&samples, &options) {
        return fail(2, err);
    }
    // Two workers: the inverse of a tile is computed while the other is written.
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => return fail(2, err),
    };
    rt.block_on(async move {
        let (client, _events) = match RvClient::connect(config).await {
            Ok(connected) => connected,
            Err(err) => return fail(2, err),
        };
        let cancel = CancellationToken::new();
        let on_interrupt = cancel.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                on_interrupt.cancel();
            }
        });
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new(0);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{bar:40} {pos}/{len} tiles  {msg}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            bar
        });
        let result = push(&client, &samples, &options, &cancel, |p| {
            if let Some(bar) = &bar {
                bar.set_length(p.tiles_total as u64);
                bar.set_position(p.tiles_done as u64);
                let eta = p.eta().map_or(String::new(), |d| format!(", ETA {:.1} s", d.as_secs_f64()));
                bar.set_message(format!("{:.1} MB/s{eta}", p.mb_per_s()));
            }
        })
        .await;
        if let Some(bar) = &bar {
            bar.finish_and_clear();
        }
        client.close().await;
        match result {
            Ok(report) if args.json => {
                let doc = serde_json::json!({
                    "media": report.media,
                    "source": report.node,
                    "tiles": report.tiles,
                    "bytes": report.bytes,
                    "seconds": report.send_time.as_secs_f64(),
                });
                outln!("{doc}");
                ExitCode::SUCCESS
            }
            Ok(report) => {
                outln!("media {}", report.media);
                if let Some(node) = &report.node {
                    outln!("source {node}");
                }
                let secs = report.send_time.as_secs_f64();
                eprintln!(
                    "pushed {} tile{} ({:.1} MB, both eyes) in {:.3} s, {:.0} MB/s; decode+convert {:.3} s, source creation {:.3} s",
                    report.tiles,
                    if report.tiles == 1 { "" } else { "s" },
                    report.bytes as f64 / 1e6,
                    secs,
                    report.bytes as f64 / 1e6 / secs.max(1e-9),
                    decode_time.as_secs_f64(),
                    report.create_time.as_secs_f64(),
                );
                ExitCode::SUCCESS
            }
            Err(err @ (PushError::Refused { .. } | PushError::NoSuchMedia { .. })) => fail(1, err),
            Err(err @ PushError::Cancelled { .. }) => fail(130, err),
            Err(err) => fail(2, err),
        }
    })
}
