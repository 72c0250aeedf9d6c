//! Pushing an image to RV as a new stereo image source, tile by tile: what
//! rvshell's Pixels tab and a renderer's display driver do (rv-protocol.md §7.5).
//!
//! ```text
//! -> MESSAGE n RETURNEVENT remote-eval * { let s = newImageSource( "M", W, H, ... string[] {"left", "right"} ); newImageSourcePixels( s, 1, nil, "left"); newImageSourcePixels( s, 1, nil, "right"); }
//! <- MESSAGE n RETURN "sourceGroup000000_source.image.1:right"     wait for it: nothing is sent before
//! -> PIXELTILE(media=M,view=left,w=..,h=..,x=..,y=..,f=1) <tile>    per tile, in plan order
//! -> PIXELTILE(media=M,view=right,...same...) <tile inverted>
//! -> MESSAGE 26 EVENT remote-eval * redraw()                        RV redraws pixel blocks at most once a second (§7.2)
//! ```
//!
//! Tiles are copied into pooled buffers (no per-pixel allocation) and queued
//! behind each other up to [`PushOptions::window_bytes`], so memory stays at
//! the image plus the window; the inverse of a tile is computed while its left
//! eye is being written. Cancelling stops queueing new tiles; the ones already
//! queued are written, and the error says how many tiles went out.

use crate::rv::client::{RequestError, RvClient};
use crate::rv::frame::Frame;
use crate::rv::message::{Event, unquote_mu};
use crate::rv::pixels::{
    HeaderError, Samples, TileHeader, Tiling, TilingError, check_media, invert_into,
    source_creation_mu,
};
use bytes::Bytes;
use std::collections::VecDeque;
use std::pin::Pin;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// What to push, and how.
#[derive(Debug, Clone)]
pub struct PushOptions {
    /// How to cut the image.
    pub tiling: Tiling,
    /// Media name; `None` makes a unique one from `stem`.
    pub media: Option<String>,
    /// Used for the unique media name when `media` is `None`.
    pub stem: String,
    /// The frame the pixels go to (rvshell: 1).
    pub frame: i64,
    /// Send pixels into an existing media (`media` required); create nothing.
    pub update_only: bool,
    /// Tile bytes that may be queued for writing at once (0: one frame at a
    /// time). A window keeps small tiles flowing without a round trip to the
    /// writer per frame; memory stays at the image plus the window.
    pub window_bytes: usize,
}

impl Default for PushOptions {
    fn default() -> Self {
        Self {
            tiling: Tiling::Grid { nx: 1, ny: 1 },
            media: None,
            stem: "image".into(),
            frame: 1,
            update_only: false,
            window_bytes: 64 << 20,
        }
    }
}

/// How far a push has got.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    /// Tiles sent (both eyes).
    pub tiles_done: usize,
    /// Tiles in the plan.
    pub tiles_total: usize,
    /// Payload bytes sent.
    pub bytes_done: u64,
    /// Payload bytes in the push.
    pub bytes_total: u64,
    /// Time since the first tile.
    pub elapsed: Duration,
}

impl Progress {
    /// Throughput so far, in MB/s (10^6 bytes).
    pub fn mb_per_s(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.bytes_done as f64 / secs / 1e6
        } else {
            0.0
        }
    }

    /// Estimated time left, once something has been sent.
    pub fn eta(&self) -> Option<Duration> {
        (self.bytes_done > 0).then(|| {
            let rate = self.bytes_done as f64 / self.elapsed.as_secs_f64().max(1e-9);
            Duration::from_secs_f64((self.bytes_total - self.bytes_done) as f64 / rate)
        })
    }
}

/// What a finished push did.
#[derive(Debug, Clone, PartialEq)]
pub struct PushReport {
    /// The media name the tiles went to.
    pub media: String,
    /// The source node RV returned (e.g. `sourceGroup000000_source`), when it created one.
    pub node: Option<String>,
    /// RV's RETURN to the creation block, verbatim (empty with update-only).
    pub reply: String,
    /// Tiles sent (each as two PIXELTILEs).
    pub tiles: usize,
    /// Payload bytes sent, both eyes.
    pub bytes: u64,
    /// Time for the creation round trip.
    pub create_time: Duration,
    /// Time for the tiles and the redraw.
    pub send_time: Duration,
}

/// Why a push failed. Each says how far it got.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// The tiling does not fit the image.
    #[error(transparent)]
    Tiling(#[from] TilingError),
    /// The media name cannot be sent.
    #[error(transparent)]
    Media(#[from] HeaderError),
    /// `--update-only` needs to know which media.
    #[error("update-only needs the media name of an existing source (--media NAME)")]
    UpdateNeedsMedia,
    /// The creation request failed; no pixels were sent.
    #[error("creating source {media} in RV failed: {source}; no pixels were sent")]
    Create {
        /// The media name.
        media: String,
        /// Why.
        source: RequestError,
    },
    /// RV answered the creation request with an error; no pixels were sent.
    #[error("RV refused to create source {media}: {}; no pixels were sent", reply.trim_end())]
    Refused {
        /// The media name.
        media: String,
        /// RV's RETURN.
        reply: String,
    },
    /// A tile could not be sent.
    #[error("push of {media} stopped after {done} of {total} tiles ({bytes} bytes): {source}")]
    Send {
        /// The media name.
        media: String,
        /// Tiles fully sent.
        done: usize,
        /// Tiles in the plan.
        total: usize,
        /// Bytes sent.
        bytes: u64,
        /// Why.
        source: RequestError,
    },
    /// Cancelled between tiles.
    #[error("push of {media} cancelled after {done} of {total} tiles")]
    Cancelled {
        /// The media name.
        media: String,
        /// Tiles fully sent.
        done: usize,
        /// Tiles in the plan.
        total: usize,
    },
}

/// Creates the source (unless update-only) and sends every tile, reporting
/// progress after each; stops between tiles when `cancel` fires.
pub async fn push(
    client: &RvClient,
    samples: &Samples,
    options: &PushOptions,
    cancel: &CancellationToken,
    mut progress: impl FnMut(&Progress),
) -> Result<PushReport, PushError> {
    let tiles = options.tiling.plan(samples.width(), samples.height())?;
    let media = match (&options.media, options.update_only) {
        (Some(media), _) => media.clone(),
        (None, true) => return Err(PushError::UpdateNeedsMedia),
        (None, false) => crate::rv::pixels::unique_media_name(&options.stem),
    };
    check_media(&media)?;
    let depth = samples.depth();

    let started = Instant::now();
    let (reply, node) = if options.update_only {
        (String::new(), None)
    } else {
        let block = source_creation_mu(
            &media,
            samples.width(),
            samples.height(),
            depth,
            options.frame,
        );
        let reply = client
            .send_return_event(Event::new("remote-eval", block))
            .await
            .map_err(|source| PushError::Create {
                media: media.clone(),
                source,
            })?;
        if reply.starts_with("ERROR") {
            return Err(PushError::Refused { media, reply });
        }
        let node = unquote_mu(&reply)
            .split_once(".image.")
            .map(|(node, _)| node.to_owned());
        (reply, node)
    };
    let create_time = started.elapsed();

    let pixel_bytes = (crate::rv::pixels::CHANNELS * depth.bytes()) as u64;
    let bytes_total: u64 = tiles
        .iter()
        .map(|t| 2 * u64::from(t.w) * u64::from(t.h) * pixel_bytes)
        .sum();
    let mut state = Progress {
        tiles_done: 0,
        tiles_total: tiles.len(),
        bytes_done: 0,
        bytes_total,
        elapsed: Duration::ZERO,
    };
    progress(&state);
    let sending = Instant::now();
    let failed = |state: &Progress, source| PushError::Send {
        media: media.clone(),
        done: state.tiles_done,
        total: state.tiles_total,
        bytes: state.bytes_done,
        source,
    };
    // Frames queued but not yet written, oldest first; their buffers come
    // back to `pool` once written.
    let mut in_flight: VecDeque<InFlight> = VecDeque::new();
    let mut in_flight_bytes = 0usize;
    let mut pool = TilePool::take();
    let mut settle = async |in_flight: &mut VecDeque<InFlight>,
                            in_flight_bytes: &mut usize,
                            pool: &mut Vec<Vec<u8>>,
                            state: &mut Progress|
           -> Result<(), PushError> {
        let Some(frame) = in_flight.pop_front() else {
            return Ok(());
        };
        frame.ack.await.map_err(|source| failed(state, source))?;
        *in_flight_bytes -= frame.payload.len();
        state.bytes_done += frame.payload.len() as u64;
        if frame.completes_tile {
            state.tiles_done += 1;
            state.elapsed = sending.elapsed();
            progress(state);
        }
        if pool.len() < 4
            && let Ok(buffer) = frame.payload.try_into_mut()
        {
            pool.push(Vec::from(buffer));
        }
        Ok(())
    };
    let mut queued = 0;
    for tile in &tiles {
        if cancel.is_cancelled() {
            break;
        }
        let header = |view: &str| {
            TileHeader {
                media: media.clone(),
                view: Some(view.to_owned()),
                layer: None,
                w: tile.w,
                h: tile.h,
                x: i64::from(tile.x),
                y: i64::from(tile.y),
                f: options.frame,
                event: None,
            }
            .to_header()
        };
        let (left_header, right_header) = (header("left")?, header("right")?);
        let left = match samples.tile_payload(*tile) {
            Some(rows) => rows,
            None => {
                let mut left = pool.pop().unwrap_or_default();
                samples.copy_tile(*tile, &mut left);
                Bytes::from(left)
            }
        };
        let ack = client
            .queue_frame(Frame::Data {
                header: left_header,
                payload: left.clone(),
            })
            .await
            .map_err(|source| failed(&state, source))?;
        in_flight_bytes += left.len();
        in_flight.push_back(InFlight {
            ack: Box::pin(ack),
            payload: left.clone(),
            completes_tile: false,
        });
        // The inverse is computed while the left eye is being written.
        let mut right = pool.pop().unwrap_or_default();
        invert_into(depth, &left, &mut right);
        let right = Bytes::from(right);
        let ack = client
            .queue_frame(Frame::Data {
                header: right_header,
                payload: right.clone(),
            })
            .await
            .map_err(|source| failed(&state, source))?;
        in_flight_bytes += right.len();
        in_flight.push_back(InFlight {
            ack: Box::pin(ack),
            payload: right,
            completes_tile: true,
        });
        drop(left);
        queued += 1;
        while in_flight_bytes > options.window_bytes && !in_flight.is_empty() {
            settle(&mut in_flight, &mut in_flight_bytes, &mut pool, &mut state).await?;
        }
    }
    while !in_flight.is_empty() {
        settle(&mut in_flight, &mut in_flight_bytes, &mut pool, &mut state).await?;
    }
    TilePool::give_back(pool);
    if queued < tiles.len() {
        return Err(PushError::Cancelled {
            media,
            done: state.tiles_done,
            total: state.tiles_total,
        });
    }
    client
        .send_event(Event::new("remote-eval", "redraw()"))
        .await
        .map_err(|source| failed(&state, source))?;
    Ok(PushReport {
        media,
        node,
        reply,
        tiles: tiles.len(),
        bytes: state.bytes_done,
        create_time,
        send_time: sending.elapsed(),
    })
}

/// Tile buffers kept between pushes, so a renderer streaming frames, or a
/// user pressing Send again, reuses memory instead of faulting in fresh
/// pages for every tile. Bounded, so a shell kept open all day does not hold
/// on to much after a large push.
struct TilePool;

/// At most this many bytes of buffers are kept between pushes.
const POOL_KEEP: usize = 128 << 20;

static POOL: std::sync::Mutex<Vec<Vec<u8>>> = std::sync::Mutex::new(Vec::new());

impl TilePool {
    /// The buffers left by earlier pushes (empty if another push holds them).
    fn take() -> Vec<Vec<u8>> {
        POOL.try_lock()
            .map(|mut kept| std::mem::take(&mut *kept))
            .unwrap_or_default()
    }

    /// Keeps the largest buffers up to [`POOL_KEEP`] for the next push.
    fn give_back(mut buffers: Vec<Vec<u8>>) {
        buffers.sort_by_key(|b| std::cmp::Reverse(b.capacity()));
        let mut kept_bytes = 0;
        buffers.retain(|b| {
            kept_bytes += b.capacity();
            kept_bytes <= POOL_KEEP
        });
        if let Ok(mut kept) = POOL.try_lock() {
            *kept = buffers;
        }
    }
}

/// A tile queued for writing.
struct InFlight {
    ack: Pin<Box<dyn Future<Output = Result<(), RequestError>> + Send>>,
    payload: Bytes,
    /// The right eye: its tile is complete once it is written.
    completes_tile: bool,
}
