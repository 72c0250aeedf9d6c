//! The runner side of the Pixels tab: executes [`PixelsCommand`]s in tasks
//! and posts [`PixelsEvent`]s back, so the main loop never decodes, lists a
//! directory or waits on RV.
//!
//! - Load: decode in `spawn_blocking` (within [`DecodeLimits`]), keep the
//!   decoded image here (the app only ever sees a thumbnail), post its size,
//!   format and an RGB thumbnail fitted to the preview.
//! - Complete: list the directory of the typed path in `spawn_blocking`.
//! - Push: convert to [`Samples`] at the chosen depth in `spawn_blocking`,
//!   then [`push`] with a [`CancellationToken`] per job; progress is posted
//!   at most every [`PROGRESS_INTERVAL`] (and always for the last tile), so
//!   the screen redraws at most about 20 times a second however small the
//!   tiles are.

use crate::app::pixels::{ImageInfo, ImageSource, PixelsCommand, PixelsEvent, Thumbnail};
use crate::rv::client::RvClient;
use crate::rv::pixels::{DecodeLimits, Depth, Samples, load_image_and_format};
use crate::rv::push::{PushOptions, PushReport, push};
use image::DynamicImage;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// The demo's sample image: `assets/test-chart.png` (made by `examples/test_chart.rs`).
pub const TEST_CHART: &[u8] = include_bytes!("../../assets/test-chart.png");

/// Shortest time between two progress reports of one push.
pub const PROGRESS_INTERVAL: Duration = Duration::from_millis(50);

/// Most completion candidates reported for one Tab.
const MAX_CANDIDATES: usize = 500;

/// How results reach the main loop.
pub type Post = Arc<dyn Fn(PixelsEvent) + Send + Sync>;

/// The image the last successful load decoded, under its load id.
type Slot = Arc<Mutex<Option<(u64, Arc<DynamicImage>)>>>;

/// Executes the Pixels tab's commands.
pub struct PixelsRunner {
    post: Post,
    image: Slot,
    /// The id of the newest load asked for: an older load that finishes
    /// later must not replace the image.
    latest: Arc<AtomicU64>,
    jobs: Arc<Mutex<HashMap<u64, CancellationToken>>>,
}

impl PixelsRunner {
    /// A runner that reports through `post` (the main loop's channel).
    pub fn new(post: Post) -> Self {
        Self {
            post,
            image: Arc::default(),
            latest: Arc::default(),
            jobs: Arc::default(),
        }
    }

    /// Cancels every push in progress (on quit): each stops between tiles,
    /// after the tiles already queued, and reports that it was cancelled.
    pub fn cancel_all(&self) {
        if let Ok(jobs) = self.jobs.lock() {
            for token in jobs.values() {
                token.cancel();
            }
        }
    }

    /// Starts one command; returns at once.
    pub fn execute(&self, command: PixelsCommand, clients: &[RvClient]) {
        match command {
            PixelsCommand::Load {
                id,
                source,
                preview,
            } => self.load(id, source, preview),
            PixelsCommand::Complete { text } => {
                let post = self.post.clone();
                tokio::spawn(async move {
                    let for_text = text.clone();
                    let candidates = tokio::task::spawn_blocking(move || complete(&for_text))
                        .await
                        .unwrap_or_default();
                    post(PixelsEvent::Completions { text, candidates });
                });
            }
            PixelsCommand::Push {
                job,
                contact,
                image,
                tiling,
                depth,
                media,
                stem,
            } => {
                let fail = |err: String| {
                    (self.post)(PixelsEvent::Pushed {
                        job,
                        result: Err(err),
                    })
                };
                let decoded = self.image.lock().ok().and_then(|slot| {
                    slot.as_ref()
                        .filter(|(id, _)| *id == image)
                        .map(|(_, img)| img.clone())
                });
                let Some(decoded) = decoded else {
                    return fail(
                        "the loaded image is gone; load it again (Enter in the Image field)".into(),
                    );
                };
                let Some(client) = clients.get(contact).cloned() else {
                    return fail(format!("no RV connection number {}", contact + 1));
                };
                let cancel = CancellationToken::new();
                if let Ok(mut jobs) = self.jobs.lock() {
                    jobs.insert(job, cancel.clone());
                }
                let post = self.post.clone();
                let jobs = self.jobs.clone();
                let options = PushOptions {
                    tiling,
                    media,
                    stem,
                    ..PushOptions::default()
                };
                tokio::spawn(async move {
                    let result =
                        run_push(job, &client, decoded, depth, options, &cancel, &post).await;
                    if let Ok(mut jobs) = jobs.lock() {
                        jobs.remove(&job);
                    }
                    post(PixelsEvent::Pushed { job, result });
                });
            }
            PixelsCommand::Thumbnail { id, preview } => {
                let decoded = self.image.lock().ok().and_then(|slot| {
                    slot.as_ref()
                        .filter(|(held, _)| *held == id)
                        .map(|(_, img)| img.clone())
                });
                let post = self.post.clone();
                tokio::spawn(async move {
                    let result = match decoded {
                        Some(image) => {
                            tokio::task::spawn_blocking(move || thumbnail(&image, preview))
                                .await
                                .map_err(|err| format!("making the preview failed: {err}"))
                        }
                        None => Err("the image is no longer loaded".into()),
                    };
                    post(PixelsEvent::Thumbnail {
                        id,
                        preview,
                        result,
                    });
                });
            }
            PixelsCommand::Cancel { job } => {
                if let Ok(jobs) = self.jobs.lock()
                    && let Some(token) = jobs.get(&job)
                {
                    token.cancel();
                }
            }
        }
    }

    fn load(&self, id: u64, source: ImageSource, preview: (u32, u32)) {
        self.latest.fetch_max(id, Ordering::SeqCst);
        let post = self.post.clone();
        let slot = self.image.clone();
        let latest = self.latest.clone();
        tokio::spawn(async move {
            let decoded = tokio::task::spawn_blocking(move || {
                let (image, container) = decode(&source)?;
                let info = describe(&image, &container, preview);
                Ok::<_, String>((image, info))
            })
            .await
            .unwrap_or_else(|err| Err(format!("decoding the image failed: {err}")));
            let result = decoded.map(|(image, info)| {
                if latest.load(Ordering::SeqCst) == id
                    && let Ok(mut slot) = slot.lock()
                {
                    *slot = Some((id, Arc::new(image)));
                }
                info
            });
            post(PixelsEvent::Loaded { id, result });
        });
    }
}

/// Converts and pushes; the error text says how far it got.
async fn run_push(
    job: u64,
    client: &RvClient,
    image: Arc<DynamicImage>,
    depth: Depth,
    options: PushOptions,
    cancel: &CancellationToken,
    post: &Post,
) -> Result<PushReport, String> {
    let samples = tokio::task::spawn_blocking(move || Samples::from_image(&image, depth))
        .await
        .map_err(|err| format!("converting the image failed: {err}; nothing was sent"))?;
    if cancel.is_cancelled() {
        return Err("push cancelled before anything was sent".into());
    }
    let mut throttle = Throttle::new(PROGRESS_INTERVAL);
    push(client, &samples, &options, cancel, |p| {
        if throttle.ready(Instant::now(), p.tiles_done == p.tiles_total) {
            post(PixelsEvent::Progress { job, progress: *p });
        }
    })
    .await
    .map_err(|err| err.to_string())
}

/// Lets a report through at most once per interval; the first and the
/// last (`finished`) always pass, so the gauge starts at once and ends full.
#[derive(Debug, Clone)]
pub struct Throttle {
    interval: Duration,
    last: Option<Instant>,
}

impl Throttle {
    /// At most one report per `interval`.
    pub fn new(interval: Duration) -> Self {
        Self {
            interval,
            last: None,
        }
    }

    /// Whether a report at `now` should go out (and if so, counts it).
    pub fn ready(&mut self, now: Instant, finished: bool) -> bool {
        let due = finished
            || self
                .last
                .is_none_or(|t| now.saturating_duration_since(t) >= self.interval);
        if due {
            self.last = Some(now);
        }
        due
    }
}

/// `~/x` as `$HOME/x`; anything else as typed.
fn expand(text: &str) -> PathBuf {
    if let Some(rest) = text.strip_prefix("~/")
        && let Some(home) = std::env::var_os("HOME")
    {
        return PathBuf::from(home).join(rest);
    }
    if text == "~"
        && let Some(home) = std::env::var_os("HOME")
    {
        return PathBuf::from(home);
    }
    PathBuf::from(text)
}

/// Decodes the image and names its container format.
fn decode(source: &ImageSource) -> Result<(DynamicImage, String), String> {
    match source {
        ImageSource::BuiltIn => {
            image::load_from_memory_with_format(TEST_CHART, image::ImageFormat::Png)
                .map(|img| (img, "PNG".to_owned()))
                .map_err(|err| format!("the built-in test chart does not decode: {err}"))
        }
        ImageSource::File(path) => {
            let path = expand(&path.to_string_lossy());
            if path.is_dir() {
                return Err(format!(
                    "{} is a directory; type or Tab-complete an image file inside it",
                    path.display()
                ));
            }
            let (image, format) =
                load_image_and_format(&path, DecodeLimits::default()).map_err(|e| e.to_string())?;
            let container = format.map_or_else(
                || "unknown format".to_owned(),
                |f| format!("{f:?}").to_uppercase(),
            );
            Ok((image, container))
        }
    }
}

/// Size, format and a thumbnail no larger than `preview` (aspect kept).
fn describe(image: &DynamicImage, container: &str, preview: (u32, u32)) -> ImageInfo {
    let color = match image.color() {
        image::ColorType::L8 => "gray 8-bit",
        image::ColorType::La8 => "gray + alpha 8-bit",
        image::ColorType::Rgb8 => "RGB 8-bit",
        image::ColorType::Rgba8 => "RGBA 8-bit",
        image::ColorType::L16 => "gray 16-bit",
        image::ColorType::La16 => "gray + alpha 16-bit",
        image::ColorType::Rgb16 => "RGB 16-bit",
        image::ColorType::Rgba16 => "RGBA 16-bit",
        image::ColorType::Rgb32F => "RGB 32-bit float",
        image::ColorType::Rgba32F => "RGBA 32-bit float",
        _ => "other samples",
    };
    ImageInfo {
        width: image.width(),
        height: image.height(),
        format: format!("{container}, {color}"),
        thumbnail: thumbnail(image, preview),
    }
}

/// An RGB copy no larger than `preview` (aspect kept); small images as they are.
fn thumbnail(image: &DynamicImage, preview: (u32, u32)) -> Thumbnail {
    let (pw, ph) = (preview.0.max(1), preview.1.max(1));
    let small = if image.width() <= pw && image.height() <= ph {
        image.to_rgb8()
    } else {
        image.thumbnail(pw, ph).to_rgb8()
    };
    Thumbnail {
        width: small.width(),
        height: small.height(),
        rgb: small.into_raw(),
    }
}

/// Completion candidates for a typed path: every entry of its directory whose
/// name starts with the last component, as full replacement texts (the
/// directory part kept as typed, `/` after directories), sorted. Hidden
/// entries only when the typed name starts with a dot.
pub fn complete(text: &str) -> Vec<String> {
    let (dir_typed, prefix) = match text.rfind('/') {
        Some(i) => (&text[..=i], &text[i + 1..]),
        None if text == "~" => return vec!["~/".into()],
        None => ("", text),
    };
    let dir = if dir_typed.is_empty() {
        PathBuf::from(".")
    } else {
        expand(dir_typed)
    };
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut out: Vec<String> = entries
        .flatten()
        .filter_map(|entry| {
            // A name that is not UTF-8 cannot be typed back; leave it out.
            let name = entry.file_name().into_string().ok()?;
            if !name.starts_with(prefix) || (name.starts_with('.') && !prefix.starts_with('.')) {
                return None;
            }
            let is_dir = std::fs::metadata(entry.path()).is_ok_and(|m| m.is_dir());
            Some(format!(
                "{dir_typed}{name}{}",
                if is_dir { "/" } else { "" }
            ))
        })
        .take(MAX_CANDIDATES * 4)
        .collect();
    out.sort();
    out.truncate(MAX_CANDIDATES);
    out
}
