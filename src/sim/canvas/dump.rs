//! The dump files of `rvshell sim --dump DIR`: encoding a complete image
//! of the canvas as a PNG or OpenEXR file, and the writer task that does it
//! off the simulator's lock ([`DumpWriter`]).
//!
//! Each complete image is written as `DIR/<media>.<view>.<frame>.<ext>`,
//! **top row first** like an ordinary image:
//!
//! - `<view>` is the view name, or `default` for a source that declares no
//!   views; a source with layers gets `<media>.<view>.<layer>.<frame>.<ext>`.
//! - A second (third, ...) source with the same media name gets its node in
//!   the name, `<media>.<node>.<view>.<frame>.<ext>`, so the files of
//!   different sources never collide.
//! - `/`, `\` and control characters in names become `_` (on Windows also
//!   `< > : " | ? *`), so a name can never leave `DIR`.
//! - 8- and 16-bit sources give PNG (`.png`): L, LA, RGB or RGBA for 1 to 4
//!   channels, 8 or 16 bits. Float sources (half or 32-bit) give OpenEXR
//!   (`.exr`) with 32-bit float RGB (3 channels) or RGBA (4); 1 channel is
//!   written as RGB with R = G = B, 2 channels as RGBA with R = G = B.
//!
//! A file is written when its image becomes complete, again after later
//! tiles change it (coalesced: [`super::CanvasConfig::dump_quiet`] after the last
//! change, at most [`super::CanvasConfig::dump_max_delay`] after the first), on
//! `redraw()`, on [`crate::sim::server::Simulator::flush_dumps`] and when the
//! simulator shuts down. Incomplete images are never written. Encoding runs
//! on a blocking thread from an `Arc` snapshot of the buffer (copy on write:
//! a tile arriving during an encode copies that one image first), into a
//! temporary file in `DIR` that is then renamed, so a reader never sees a
//! half-written file.

use super::{Canvas, ImageId, SampleType, top_down};
use crate::sim::lock;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::sync::{Notify, mpsc, oneshot};
use tokio_util::sync::CancellationToken;

/// A name made safe as part of a file name: path separators and control
/// characters (and, on Windows, `< > : " | ? *`) become `_`.
pub(super) fn file_component(name: &str) -> String {
    name.chars()
        .map(|c| {
            let bad = matches!(c, '/' | '\\')
                || c.is_control()
                || (cfg!(windows) && matches!(c, '<' | '>' | ':' | '"' | '|' | '?' | '*'));
            if bad { '_' } else { c }
        })
        .collect()
}

/// Images due for writing, from [`Canvas::take_dumps`].
#[derive(Debug)]
pub struct DumpBatch {
    /// Snapshots to write.
    pub jobs: Vec<DumpJob>,
    /// When the next pending image falls due, if any is pending.
    pub next_due: Option<Instant>,
}

/// A snapshot of one complete image, ready to encode off the lock.
#[derive(Debug, Clone)]
pub struct DumpJob {
    /// The file name inside the dump directory.
    pub file_name: String,
    /// The image.
    pub image: ImageId,
    pub(super) width: u32,
    pub(super) height: u32,
    pub(super) channels: u32,
    pub(super) sample: SampleType,
    pub(super) pixels: Arc<Vec<u8>>,
}

/// Why a dump file could not be written.
#[derive(Debug, thiserror::Error)]
pub enum DumpError {
    /// Creating, writing or renaming the file failed.
    #[error(
        "cannot write dump file {path}: {source}; check that the directory exists, is writable and has space"
    )]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The encoder refused the image.
    #[error("cannot encode dump file {path}: {detail}")]
    Encode {
        /// The file.
        path: PathBuf,
        /// The encoder's message.
        detail: String,
    },
    /// The writer task is gone (the simulator is shutting down).
    #[error("the dump writer has stopped; the simulator is shutting down")]
    Stopped,
}

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

impl DumpJob {
    /// Encodes the image top row first and writes it to `dir/file_name`
    /// through a temporary file and a rename. Blocking; run it off the
    /// async workers.
    pub fn write(&self, dir: &Path) -> Result<PathBuf, DumpError> {
        let path = dir.join(&self.file_name);
        let temp = dir.join(format!(
            ".{}.{}-{}.tmp",
            self.file_name,
            std::process::id(),
            TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let result = self.write_to(&temp, &path).and_then(|()| {
            std::fs::rename(&temp, &path).map_err(|source| DumpError::Io {
                path: path.clone(),
                source,
            })
        });
        if result.is_err() {
            let _ = std::fs::remove_file(&temp);
        }
        result.map(|()| path)
    }

    fn write_to(&self, temp: &Path, path: &Path) -> Result<(), DumpError> {
        let io = |source| DumpError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = std::fs::File::create(temp).map_err(io)?;
        let mut out = BufWriter::new(file);
        let (data, color) = self.encodable();
        let encoded = if self.sample.is_float() {
            use image::ImageEncoder;
            image::codecs::openexr::OpenExrEncoder::new(&mut out).write_image(
                &data,
                self.width,
                self.height,
                color,
            )
        } else {
            use image::ImageEncoder;
            use image::codecs::png::{CompressionType, FilterType, PngEncoder};
            PngEncoder::new_with_quality(&mut out, CompressionType::Fast, FilterType::Adaptive)
                .write_image(&data, self.width, self.height, color)
        };
        encoded.map_err(|err| match err {
            image::ImageError::IoError(source) => io(source),
            other => DumpError::Encode {
                path: path.to_path_buf(),
                detail: other.to_string(),
            },
        })?;
        out.flush().map_err(io)?;
        Ok(())
    }

    /// The samples top-down, in the layout and color type the encoder takes.
    fn encodable(&self) -> (Vec<u8>, image::ExtendedColorType) {
        use image::ExtendedColorType as C;
        let row_bytes = self.width as usize * self.channels as usize * self.sample.bytes();
        // Stored as an image file holds them, only upside down.
        let color = match (self.sample, self.channels) {
            (SampleType::U8, 1) => Some(C::L8),
            (SampleType::U8, 2) => Some(C::La8),
            (SampleType::U8, 3) => Some(C::Rgb8),
            (SampleType::U8, _) => Some(C::Rgba8),
            (SampleType::U16, 1) => Some(C::L16),
            (SampleType::U16, 2) => Some(C::La16),
            (SampleType::U16, 3) => Some(C::Rgb16),
            (SampleType::U16, _) => Some(C::Rgba16),
            (SampleType::F32, 3) => Some(C::Rgb32F),
            (SampleType::F32, 4) => Some(C::Rgba32F),
            _ => None,
        };
        if let Some(color) = color {
            return (top_down(&self.pixels, row_bytes), color);
        }
        // Anything else: each sample to f32, gray expanded to RGB.
        let (sample, channels) = (self.sample, self.channels);
        let read: fn(&[u8]) -> f32 = match sample {
            SampleType::F16 => |b| f16_to_f32(u16::from_ne_bytes([b[0], b[1]])),
            _ => |b| f32::from_ne_bytes([b[0], b[1], b[2], b[3]]),
        };
        let size = sample.bytes();
        let (out_channels, color) = if channels % 2 == 0 {
            (4, C::Rgba32F)
        } else {
            (3, C::Rgb32F)
        };
        let pixel_count = self.width as usize * self.height as usize;
        let mut out = Vec::with_capacity(pixel_count * out_channels * 4);
        for row in self.pixels.chunks_exact(row_bytes).rev() {
            for px in row.chunks_exact(channels as usize * size) {
                let v = |i: usize| read(&px[i * size..(i + 1) * size]);
                let rgba = match channels {
                    1 => [v(0), v(0), v(0), 1.0],
                    2 => [v(0), v(0), v(0), v(1)],
                    3 => [v(0), v(1), v(2), 1.0],
                    _ => [v(0), v(1), v(2), v(3)],
                };
                for value in &rgba[..out_channels] {
                    out.extend_from_slice(&value.to_ne_bytes());
                }
            }
        }
        (out, color)
    }
}

/// IEEE 754 half to single precision (exact: every half is a float).
pub fn f16_to_f32(half: u16) -> f32 {
    let sign = u32::from(half & 0x8000) << 16;
    let exponent = u32::from((half >> 10) & 0x1f);
    let mantissa = u32::from(half & 0x3ff);
    let bits = match exponent {
        0 if mantissa == 0 => sign,
        0 => {
            // Subnormal: mantissa * 2^-24, exact in f32.
            let magnitude = mantissa as f32 * (1.0 / 16_777_216.0);
            return if sign != 0 { -magnitude } else { magnitude };
        }
        0x1f => sign | 0x7f80_0000 | (mantissa << 13),
        _ => sign | ((exponent + 112) << 23) | (mantissa << 13),
    };
    f32::from_bits(bits)
}

/// Requests to the dump writer.
type FlushReply = oneshot::Sender<Result<usize, DumpError>>;

/// The running dump writer: a task that writes due images one at a time on
/// blocking threads.
#[derive(Debug)]
pub struct DumpWriter {
    flush: mpsc::UnboundedSender<FlushReply>,
    task: tokio::task::JoinHandle<()>,
}

impl DumpWriter {
    /// Starts writing `canvas`'s complete images into `dir` until `stop`,
    /// then writes what is still pending and ends. Turns on dump tracking.
    pub fn spawn(canvas: Arc<Mutex<Canvas>>, dir: PathBuf, stop: CancellationToken) -> Self {
        let wake = Arc::new(Notify::new());
        {
            let mut guard = lock(&canvas);
            guard.config.dumps = true;
            guard.set_wake(wake.clone());
        }
        let (flush, requests) = mpsc::unbounded_channel();
        let task = tokio::spawn(run_writer(canvas, dir, wake, requests, stop));
        Self { flush, task }
    }

    /// Writes every pending image now and returns once that and every
    /// earlier write is done: the number of files this flush wrote, or the
    /// first error (every error is logged and counted in
    /// [`CanvasStats::dump_failures`](super::CanvasStats::dump_failures); when several flushes are served by
    /// one batch, only the first caller gets its error).
    pub async fn flush(&self) -> Result<usize, DumpError> {
        let (reply, done) = oneshot::channel();
        self.flush.send(reply).map_err(|_| DumpError::Stopped)?;
        done.await.map_err(|_| DumpError::Stopped)?
    }

    /// Waits for the task to end (after its `stop` was cancelled).
    pub async fn join(self) {
        let _ = self.task.await;
    }
}

async fn run_writer(
    canvas: Arc<Mutex<Canvas>>,
    dir: PathBuf,
    wake: Arc<Notify>,
    mut requests: mpsc::UnboundedReceiver<FlushReply>,
    stop: CancellationToken,
) {
    let dir = Arc::new(dir);
    let mut next_due: Option<Instant> = None;
    loop {
        let mut replies = Vec::new();
        let mut stopping = false;
        let sleep = async {
            match next_due {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = stop.cancelled() => stopping = true,
            request = requests.recv() => match request {
                Some(reply) => replies.push(reply),
                None => stopping = true,
            },
            _ = wake.notified() => {}
            _ = sleep => {}
        }
        while let Ok(reply) = requests.try_recv() {
            replies.push(reply);
        }
        let everything = stopping || !replies.is_empty();
        let batch = lock(&canvas).take_dumps(Instant::now(), everything);
        next_due = batch.next_due;
        let mut written = 0;
        let mut first_error = None;
        for job in batch.jobs {
            let dir = Arc::clone(&dir);
            let name = job.file_name.clone();
            let image = job.image.clone();
            let result = match tokio::task::spawn_blocking(move || job.write(&dir)).await {
                Ok(result) => result,
                Err(err) => Err(DumpError::Encode {
                    path: PathBuf::from(name),
                    detail: format!("the encoder stopped: {err}"),
                }),
            };
            lock(&canvas).record_dump(&result);
            match result {
                Ok(path) => {
                    written += 1;
                    tracing::info!(%image, path = %path.display(), "dumped image");
                }
                Err(err) => {
                    tracing::error!(%image, %err, "dump failed");
                    first_error.get_or_insert(err);
                }
            }
        }
        for reply in replies {
            let _ = reply.send(match first_error.take() {
                Some(err) => Err(err),
                None => Ok(written),
            });
        }
        if stopping {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::canvas::tests::{canvas_with, source, tile};

    #[test]
    fn sixteen_bit_samples_are_native_endian() {
        let mut c = canvas_with(&source("M", 2, 1, 4, 16, false));
        let values: [u16; 8] = [0x0102, 0xfffe, 0x8000, 1, 0x1234, 0, 65535, 0x00ff];
        let payload: Vec<u8> = values.iter().flat_map(|v| v.to_ne_bytes()).collect();
        c.insert(&tile("M", Some("right"), 0, 0, 2, 1), &payload)
            .unwrap();
        assert_eq!(
            c.image("M", 1, Some("right"), None).unwrap().pixels(),
            payload
        );
        let job = c.take_dumps(Instant::now(), false).jobs.remove(0);
        assert_eq!(job.file_name, "M.right.1.png");
        let dir = tempfile::tempdir().unwrap();
        let png = image::open(job.write(dir.path()).unwrap()).unwrap();
        assert_eq!(png.color(), image::ColorType::Rgba16);
        assert_eq!(png.into_rgba16().as_raw(), &values);
    }

    #[test]
    fn fewer_channels_give_matching_png_types() {
        for (channels, color) in [
            (1, image::ColorType::L8),
            (2, image::ColorType::La8),
            (3, image::ColorType::Rgb8),
        ] {
            let mut c = canvas_with(&source("M", 2, 2, channels, 8, false));
            let payload: Vec<u8> = (0..4 * channels as u8).collect();
            c.insert(&tile("M", None, 0, 0, 2, 2), &payload).unwrap();
            let job = c.take_dumps(Instant::now(), true).jobs.remove(0);
            let dir = tempfile::tempdir().unwrap();
            let img = image::open(job.write(dir.path()).unwrap()).unwrap();
            assert_eq!(img.color(), color);
            let row = 2 * channels as usize;
            let flipped = [&payload[row..], &payload[..row]].concat();
            assert_eq!(img.as_bytes(), flipped, "{channels} channels");
        }
    }

    #[test]
    fn float_sources_dump_exr_top_down() {
        let mut c = canvas_with(&source("F", 2, 2, 4, 32, true));
        let values: Vec<f32> = (0..16).map(|i| i as f32 * 0.25 - 1.0).collect();
        let payload: Vec<u8> = values.iter().flat_map(|v| v.to_ne_bytes()).collect();
        c.insert(&tile("F", Some("left"), 0, 0, 2, 2), &payload)
            .unwrap();
        let job = c.take_dumps(Instant::now(), false).jobs.remove(0);
        assert_eq!(job.file_name, "F.left.1.exr");
        let dir = tempfile::tempdir().unwrap();
        let exr = image::open(job.write(dir.path()).unwrap())
            .unwrap()
            .into_rgba32f();
        let want = [&values[8..], &values[..8]].concat();
        assert_eq!(exr.as_raw(), &want);
    }

    #[test]
    fn half_and_gray_float_sources_expand_to_f32_rgb() {
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x3800), 0.5);
        assert_eq!(f16_to_f32(0x7bff), 65504.0);
        assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
        assert_eq!(f16_to_f32(0x8000).to_bits(), 0x8000_0000);
        assert_eq!(f16_to_f32(0x7c00), f32::INFINITY);
        assert!(f16_to_f32(0x7e00).is_nan());

        let mut c = canvas_with(&source("H", 1, 2, 1, 16, true));
        let payload: Vec<u8> = [0x3c00u16, 0x3800]
            .iter()
            .flat_map(|v| v.to_ne_bytes())
            .collect();
        c.insert(&tile("H", None, 0, 0, 1, 2), &payload).unwrap();
        let job = c.take_dumps(Instant::now(), false).jobs.remove(0);
        assert_eq!(job.file_name, "H.left.1.exr");
        let dir = tempfile::tempdir().unwrap();
        let exr = image::open(job.write(dir.path()).unwrap()).unwrap();
        // Top row first: the second sample (0.5), then the first (1.0).
        assert_eq!(exr.into_rgb32f().as_raw(), &[0.5, 0.5, 0.5, 1.0, 1.0, 1.0]);
    }

    #[test]
    fn snapshot_is_not_changed_by_later_tiles() {
        let mut c = canvas_with(&source("M", 1, 1, 1, 8, false));
        let t = tile("M", None, 0, 0, 1, 1);
        c.insert(&t, &[1]).unwrap();
        let job = c.take_dumps(Instant::now(), false).jobs.remove(0);
        c.insert(&t, &[2]).unwrap();
        assert_eq!(job.pixels.as_slice(), &[1]);
        assert_eq!(c.image("M", 1, None, None).unwrap().pixels(), &[2]);
    }
}
