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
//! Nothing is copied here: a left eye is written straight from the image's
//! rows, and a right eye is made from them as it is written, a piece at a
//! time ([`crate::rv::client::Payload::Mapped`]), so it never lies in memory
//! whole. Tiles go to the writer in batches of about 1 MiB (one command for
//! many small tiles), queued behind each other up to
//! [`PushOptions::window_bytes`]; memory stays at the image. Cancelling
//! stops gathering new tiles; the ones already gathered are written, and the
//! error says how many tiles went out.

use crate::rv::client::{DataFrame, RequestError, RvClient};
use crate::rv::message::{Event, unquote_mu};
use crate::rv::pixels::{
    HeaderError, Samples, TileHeader, Tiling, TilingError, check_media, source_creation_mu,
};
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
    /// writer per frame. Queued tiles are referenced, not copied.
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
    /// `update_only` for a media RV has no source for; nothing was sent.
    #[error(
        "RV has no source for media {media}, so there is nothing to update; \
         push without --update-only to create it"
    )]
    NoSuchMedia {
        /// The media name.
        media: String,
    },
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

/// Checks what can be checked before talking to RV: the tiling fits the
/// image, the media name can be sent, `update_only` names a media.
pub fn check(samples: &Samples, options: &PushOptions) -> Result<(), PushError> {
    options.tiling.plan(samples.width(), samples.height())?;
    match (&options.media, options.update_only) {
        (Some(media), _) => check_media(media)?,
        (None, true) => return Err(PushError::UpdateNeedsMedia),
        (None, false) => {}
    }
    Ok(())
}

/// Whether RV's `sources()` answer lists `media`: the simulator answers a
/// `string[]` of media names, RV tuples whose first field is the media
/// name; either way the name appears quoted (media names hold no `"`).
fn lists_media(sources: &str, media: &str) -> bool {
    sources.contains(&format!("\"{media}\""))
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
    check(samples, options)?;
    let tiles = options.tiling.plan(samples.width(), samples.height())?;
    let media = match &options.media {
        Some(media) => media.clone(),
        None => crate::rv::pixels::unique_media_name(&options.stem),
    };
    let depth = samples.depth();

    let started = Instant::now();
    let (reply, node) = if options.update_only {
        // Pixels for a media RV has no source for would go nowhere: ask first.
        let sources = client
            .send_return_event(Event::new("remote-eval", "sources()"))
            .await
            .map_err(|source| PushError::Create {
                media: media.clone(),
                source,
            })?;
        if !lists_media(&sources, &media) {
            return Err(PushError::NoSuchMedia { media });
        }
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
    let state = Progress {
        tiles_done: 0,
        tiles_total: tiles.len(),
        bytes_done: 0,
        bytes_total,
        elapsed: Duration::ZERO,
    };
    progress(&state);
    let failed = |state: &Progress, source| PushError::Send {
        media: media.clone(),
        done: state.tiles_done,
        total: state.tiles_total,
        bytes: state.bytes_done,
        source,
    };
    let mut sent = Sent {
        in_flight: VecDeque::new(),
        in_flight_bytes: 0,
        state,
        started: Instant::now(),
        progress,
    };
    let batch_target = options.window_bytes.min(BATCH_BYTES);
    let mut batch = Batch::default();
    let mut queued = 0;
    for tile in &tiles {
        if cancel.is_cancelled() {
            break;
        }
        // Batches already written are counted at once.
        while sent
            .settle(false)
            .await
            .map_err(|source| failed(&sent.state, source))?
        {}
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
        // The right eye completes the tile.
        for (header, payload, completes) in [
            (left_header, samples.tile_rows(*tile), 0),
            (right_header, samples.tile_inverse(*tile), 1),
        ] {
            batch.bytes += payload.len();
            batch.tiles += completes;
            batch.frames.push(DataFrame { header, payload });
            if batch.bytes >= batch_target {
                sent.queue(client, &mut batch)
                    .await
                    .map_err(|source| failed(&sent.state, source))?;
            }
        }
        queued += 1;
        while sent.in_flight_bytes > options.window_bytes {
            sent.settle(true)
                .await
                .map_err(|source| failed(&sent.state, source))?;
        }
    }
    // The last batch; also when cancelled, so that every tile counted as
    // queued is complete on the wire.
    sent.queue(client, &mut batch)
        .await
        .map_err(|source| failed(&sent.state, source))?;
    while sent
        .settle(true)
        .await
        .map_err(|source| failed(&sent.state, source))?
    {}
    let Sent {
        state,
        started: sending,
        ..
    } = sent;
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

/// Frames are queued for writing in batches of about this many payload
/// bytes (one command and one vectored write for many small tiles).
const BATCH_BYTES: usize = 1 << 20;

/// Tiles gathered for one [`RvClient::queue_data`].
#[derive(Default)]
struct Batch {
    frames: Vec<DataFrame>,
    /// Payload bytes gathered.
    bytes: usize,
    /// Right eyes gathered: tiles this batch completes.
    tiles: usize,
}

/// What a push has queued and not yet seen written, and its progress.
struct Sent<P> {
    in_flight: VecDeque<InFlight>,
    in_flight_bytes: usize,
    state: Progress,
    /// When the first tile was queued.
    started: Instant,
    progress: P,
}

impl<P: FnMut(&Progress)> Sent<P> {
    /// Queues what `batch` has gathered (if anything) and empties it.
    async fn queue(&mut self, client: &RvClient, batch: &mut Batch) -> Result<(), RequestError> {
        if batch.frames.is_empty() {
            return Ok(());
        }
        let frames = std::mem::take(&mut batch.frames);
        let ack = client.queue_data(frames).await?;
        self.in_flight_bytes += batch.bytes;
        self.in_flight.push_back(InFlight {
            ack: Box::pin(ack),
            bytes: std::mem::take(&mut batch.bytes),
            tiles: std::mem::take(&mut batch.tiles),
        });
        Ok(())
    }

    /// Settles the oldest batch: waits until it is written (with `wait`
    /// false, only takes it if it already is), counts it and reports
    /// progress. Whether one was settled.
    async fn settle(&mut self, wait: bool) -> Result<bool, RequestError> {
        let Some(front) = self.in_flight.front_mut() else {
            return Ok(false);
        };
        if wait {
            (&mut front.ack).await?;
        } else {
            match futures_util::FutureExt::now_or_never(&mut front.ack) {
                Some(written) => written?,
                None => return Ok(false),
            }
        }
        let batch = self.in_flight.pop_front().expect("the front batch exists");
        self.in_flight_bytes -= batch.bytes;
        self.state.bytes_done += batch.bytes as u64;
        if batch.tiles > 0 {
            self.state.tiles_done += batch.tiles;
            self.state.elapsed = self.started.elapsed();
            (self.progress)(&self.state);
        }
        Ok(true)
    }
}

/// A batch queued for writing.
struct InFlight {
    ack: Pin<Box<dyn Future<Output = Result<(), RequestError>> + Send>>,
    /// Payload bytes.
    bytes: usize,
    /// Tiles it completes.
    tiles: usize,
}
