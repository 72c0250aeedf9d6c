//! The simulator's pixel canvas: the pixel storage of the image sources made
//! by `newImageSource`, filled by PIXELTILE frames (rv-protocol.md §7), and
//! the `--dump DIR` writer that saves each completed image as a file.
//!
//! ```text
//! MESSAGE 247 RETURNEVENT remote-eval * { let s = newImageSource( "M", 4, 3, 4, 3, 0, 0, 1.0, 4, 8, false, 1, 1, 24.0, nil, string[] {"left", "right"} ); ... }
//! PIXELTILE(media=M,view=left,w=4,h=3,x=0,y=0,f=1) 48 <48 bytes: RGBA8, bottom row first>
//! PIXELTILE(media=M,view=right,w=4,h=3,x=0,y=0,f=1) 48 <48 bytes>
//! MESSAGE 26 EVENT remote-eval * redraw()
//! ```
//!
//! After these frames, `DIR/M.left.1.png` and `DIR/M.right.1.png` hold the
//! two 4x3 views, top row first.
//!
//! # Storage (§7.3)
//!
//! One image per (source, frame, view, layer): `width * height * channels`
//! samples, interleaved R,G,B,A truncated to the source's channel count,
//! rows tightly packed and **bottom-up** (row 0 and `y=0` are the bottom
//! scanline), multi-byte samples in native byte order, exactly as RV keeps
//! them. The sample type follows `newImageSource(bits, float)`: 8 → `u8`,
//! 16 → `u16`, 16 + float → half, 32 → `f32` (RV's `makePixels` has no
//! storage for 32 bits without float; the simulator treats it as float, as
//! [`crate::rv::pixels::Depth::from_source`] does). An image's buffer is
//! allocated on its first tile or on `newImageSourcePixels`, zeroed, and
//! counted against a memory budget ([`CanvasConfig::memory_budget`]).
//!
//! # Validation of a tile (§7.2)
//!
//! RV's `insertCreatePixelBlock` walks *every* source whose media name equals
//! the tile's `media` and calls `insertPixels` on each; the simulator does
//! the same, checking, for each matching source, in this order:
//!
//! 1. some source has that media ([`CanvasError::UnknownMedia`]; RV silently
//!    does nothing);
//! 2. the view is one of the source's declared views; a tile with no view
//!    (absent or `-`) goes to the **first declared view**, as RV's
//!    `findCreatePixels` skips the check for `-` and `pixelPropNames`
//!    substitutes `defaultView()`, the first declared view
//!    ([`CanvasError::BadView`], RV's "Bad view name");
//! 3. the same for layers ([`CanvasError::BadLayer`]);
//! 4. the frame is within the source's range. RV clamps it and silently
//!    overwrites the first or last frame; the simulator rejects it
//!    ([`CanvasError::FrameOutOfRange`]);
//! 5. the tile is at least 1x1 ([`CanvasError::ZeroSize`]; in RV such a
//!    tile fails the size check);
//! 6. the payload is exactly `w*h*channels*bytesPerChannel` bytes
//!    ([`CanvasError::SizeMismatch`], RV's "Received pixels of size X.
//!    Expected Y");
//! 7. the tile lies inside the image. RV has no bounds check and writes out
//!    of bounds; the simulator rejects the tile
//!    ([`CanvasError::OutOfBounds`]);
//! 8. the memory budget allows the new storage ([`CanvasError::OutOfMemory`]);
//! 9. no tile is being received straight into the image
//!    ([`CanvasError::Busy`], below; RV takes tiles one at a time).
//!
//! A tile is written to every matching source only if it passes for all of
//! them (RV writes the sources before the first failing one; all or nothing
//! is easier to reason about). A rejected tile changes nothing; the server
//! logs the error and, like RV, sends nothing back. Tile row `r` goes to
//! image row `y + r`, one slice copy per row.
//!
//! # Tiles received in place
//!
//! A tile for a single source can be checked from its header and payload
//! length alone, before its payload arrives: [`Canvas::check_out`] then
//! takes the image's storage out of the canvas so that the payload is read
//! straight into the tile's rows, with no lock held, and
//! [`Canvas::check_in`] puts it back and records the tile. Meanwhile the
//! image's pixels read as empty, it is not dumped, and other tiles for it
//! are refused. A tile cut short (its connection lost) leaves the bytes
//! that arrived in its rows, and the rest of the image untouched; RV would
//! have dropped it whole (it takes the whole payload first, §7.2), so its
//! pixels count as not received, and an image it had completed is not
//! complete, nor dumped, until they are sent again.
//!
//! # Coverage
//!
//! Each image keeps a byte per pixel, set with `fill` as tiles arrive, and a
//! running count of pixels covered for the first time, so overlapping and
//! repeated tiles are not counted twice. When every pixel has been received
//! at least once the image is **complete** and the map is freed.
//!
//! # Dump files
//!
//! With `rvshell sim --dump DIR`, complete images are written as files by
//! the dump writer of the `dump` submodule (`canvas/dump.rs`, which
//! describes names, formats and timing); the canvas keeps the bookkeeping of what is due
//! ([`Canvas::take_dumps`]).
//!
//! # Modules
//!
//! - `storage`: one image's storage and pixel layout ([`Image`],
//!   [`SampleType`]) and its coverage map.
//! - `validate`: the checks of a tile and [`CanvasError`].
//! - `dump`: the dump files and the writer task ([`DumpWriter`]).

mod dump;
mod storage;
mod validate;

pub use dump::{DumpBatch, DumpError, DumpJob, DumpWriter, f16_to_f32};
use storage::top_down;
pub use storage::{Image, SampleType};
pub use validate::{CanvasError, Edge};
use validate::{resolve_layer, resolve_view};

use crate::rv::pixels::TileHeader;
use crate::rv::reader::RowsMut;
use crate::sim::mu::{Effect, Session, SourceInfo};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// The view part of a dump file name for a source that declares no views.
pub const NO_VIEW_NAME: &str = "default";

/// Default [`CanvasConfig::memory_budget`]: 4 GiB, room for a stereo pair of
/// the largest image the evaluator allows (1 GiB per view) with coverage maps.
pub const DEFAULT_MEMORY_BUDGET: u64 = 4 << 30;

/// One image of the canvas, named for logs and reports.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ImageId {
    /// The source node, e.g. `sourceGroup000000_source`.
    pub node: String,
    /// The source's media name.
    pub media: String,
    /// The frame.
    pub frame: i32,
    /// The view (after RV's default-view substitution), `None` when the
    /// source declares none.
    pub view: Option<String>,
    /// The layer (after the default-layer substitution), `None` when the
    /// source declares none.
    pub layer: Option<String>,
}

impl fmt::Display for ImageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "media {:?} ({}) frame {}",
            self.media, self.node, self.frame
        )?;
        if let Some(view) = &self.view {
            write!(f, " view {view:?}")?;
        }
        if let Some(layer) = &self.layer {
            write!(f, " layer {layer:?}")?;
        }
        Ok(())
    }
}

/// What an accepted tile did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InsertOutcome {
    /// Images written: one per source whose media matched.
    pub images: usize,
    /// Pixels received for the first time, summed over those images.
    pub newly_covered: u64,
    /// Images this tile completed.
    pub completed: Vec<ImageId>,
}

/// A tile's image storage, out of the canvas while the tile's payload is
/// received straight into it ([`Canvas::check_out`], [`Canvas::check_in`]).
#[derive(Debug)]
pub struct Checkout {
    slot: Slot,
    x: usize,
    y: usize,
    w: usize,
    h: usize,
    pixel_bytes: usize,
    row_bytes: usize,
    pixels: Vec<u8>,
}

impl Checkout {
    /// The tile's rows in the image: where its payload goes.
    pub fn rows(&mut self) -> RowsMut<'_> {
        RowsMut {
            start: self.y * self.row_bytes + self.x * self.pixel_bytes,
            row_len: self.w * self.pixel_bytes,
            stride: self.row_bytes,
            rows: self.h,
            bytes: &mut self.pixels,
        }
    }

    /// The tile's payload length.
    fn len(&self) -> usize {
        self.w * self.h * self.pixel_bytes
    }
}

/// Counters, for tests and diagnostics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CanvasStats {
    /// Tiles written.
    pub tiles_accepted: u64,
    /// Tiles refused.
    pub tiles_rejected: u64,
    /// Payload bytes of the tiles written.
    pub bytes_accepted: u64,
    /// Why the last refused tile was refused.
    pub last_error: Option<CanvasError>,
    /// Dump files written.
    pub dumps_written: u64,
    /// Dump files that failed.
    pub dump_failures: u64,
    /// Why the last dump failed.
    pub last_dump_error: Option<String>,
}

/// How the canvas behaves.
#[derive(Debug, Clone)]
pub struct CanvasConfig {
    /// Most bytes of pixel storage (and coverage maps) held at once.
    pub memory_budget: u64,
    /// Track images to dump (set when a dump directory is configured).
    pub dumps: bool,
    /// A changed complete image is rewritten this long after its last change...
    pub dump_quiet: Duration,
    /// ...or this long after its first unwritten change, whichever is first.
    pub dump_max_delay: Duration,
}

impl Default for CanvasConfig {
    fn default() -> Self {
        Self {
            memory_budget: DEFAULT_MEMORY_BUDGET,
            dumps: false,
            dump_quiet: Duration::from_millis(250),
            dump_max_delay: Duration::from_secs(1),
        }
    }
}

/// A source as the canvas knows it.
#[derive(Debug)]
struct Source {
    info: SourceInfo,
    sample: SampleType,
    /// `<media>` or, for a later source with the same media, `<media>.<node>`.
    file_prefix: String,
}

/// An image's address: indexes into the source list and its view and layer
/// lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Slot {
    source: usize,
    frame: i32,
    view: Option<usize>,
    layer: Option<usize>,
}

/// A complete image with changes not yet written.
#[derive(Debug, Clone, Copy)]
struct Pending {
    urgent: bool,
    first: Instant,
    last: Instant,
}

/// The image sources' pixel storage. Lives behind the simulator's mutex;
/// every method is quick (slice copies and bookkeeping, no encoding).
#[derive(Debug)]
pub struct Canvas {
    config: CanvasConfig,
    sources: Vec<Source>,
    by_media: HashMap<String, Vec<usize>>,
    images: HashMap<Slot, Image>,
    memory: u64,
    stats: CanvasStats,
    pending: BTreeMap<Slot, Pending>,
    wake: Option<Arc<Notify>>,
}

impl Default for Canvas {
    fn default() -> Self {
        Self::new(CanvasConfig::default())
    }
}

impl Canvas {
    /// An empty canvas.
    pub fn new(config: CanvasConfig) -> Self {
        Self {
            config,
            sources: Vec::new(),
            by_media: HashMap::new(),
            images: HashMap::new(),
            memory: 0,
            stats: CanvasStats::default(),
            pending: BTreeMap::new(),
            wake: None,
        }
    }

    /// Notified when an image needs writing (by the dump writer).
    fn set_wake(&mut self, wake: Arc<Notify>) {
        self.wake = Some(wake);
    }

    /// Registers a source made by `newImageSource`. A node seen before is
    /// ignored.
    pub fn add_source(&mut self, info: &SourceInfo) {
        if self.sources.iter().any(|s| s.info.node == info.node) {
            return;
        }
        // The evaluator accepts only 8, 16 and 32 bits; anything else would
        // be an evaluator bug, stored as bytes like RV's UCHAR fallback.
        let sample = SampleType::from_source(info.bits, info.float).unwrap_or(SampleType::U8);
        let same_media = self.by_media.entry(info.media.clone()).or_default();
        let file_prefix = if same_media.is_empty() {
            dump::file_component(&info.media)
        } else {
            format!(
                "{}.{}",
                dump::file_component(&info.media),
                dump::file_component(&info.node)
            )
        };
        same_media.push(self.sources.len());
        self.sources.push(Source {
            info: info.clone(),
            sample,
            file_prefix,
        });
    }

    /// Applies an evaluator side effect: a new source, an allocation
    /// (find-or-create, like RV's `findCreatePixels`) or a redraw.
    pub fn apply(&mut self, effect: &Effect, session: &Session) -> Result<(), CanvasError> {
        match effect {
            Effect::Redraw => {
                self.redraw();
                Ok(())
            }
            Effect::SourceCreated { node } => match session.source(node) {
                Some(info) => {
                    self.add_source(info);
                    Ok(())
                }
                None => Err(CanvasError::UnknownNode { node: node.clone() }),
            },
            Effect::PixelsAllocated {
                node,
                frame,
                layer,
                view,
            } => self
                .allocate(node, *frame, view.as_deref(), layer.as_deref())
                .map(|_| ()),
            // For the connections, not the pixels.
            Effect::SendEvent { .. } => Ok(()),
        }
    }

    /// `newImageSourcePixels`: creates the (zeroed) storage of one image if
    /// it does not exist. The frame is clamped to the source's range and a
    /// missing view or layer is the first declared one, as in RV.
    pub fn allocate(
        &mut self,
        node: &str,
        frame: i32,
        view: Option<&str>,
        layer: Option<&str>,
    ) -> Result<ImageId, CanvasError> {
        let index = self
            .sources
            .iter()
            .position(|s| s.info.node == node)
            .ok_or_else(|| CanvasError::UnknownNode { node: node.into() })?;
        let source = &self.sources[index];
        let frame = frame.clamp(source.info.start_frame, source.info.end_frame);
        let slot = Slot {
            source: index,
            frame,
            view: resolve_view(&source.info, view)?,
            layer: resolve_layer(&source.info, layer)?,
        };
        if !self.images.contains_key(&slot) {
            let needed = storage_bytes(source);
            self.check_budget(&source.info.media, needed)?;
            self.create(slot);
        }
        Ok(self.id(slot))
    }

    /// Validates a tile as RV does, plus bounds, size and frame checks
    /// (see the module docs), and writes it into every source with its
    /// media. On error nothing is written.
    pub fn insert(
        &mut self,
        header: &TileHeader,
        payload: &[u8],
    ) -> Result<InsertOutcome, CanvasError> {
        self.insert_at(header, payload, Instant::now())
    }

    fn insert_at(
        &mut self,
        tile: &TileHeader,
        payload: &[u8],
        now: Instant,
    ) -> Result<InsertOutcome, CanvasError> {
        let result = self
            .check_insert(tile, payload.len())
            .map(|slots| self.write(tile, slots, payload, now));
        self.count(&result, payload.len());
        result
    }

    fn count(&mut self, result: &Result<InsertOutcome, CanvasError>, len: usize) {
        match result {
            Ok(_) => {
                self.stats.tiles_accepted += 1;
                self.stats.bytes_accepted += len as u64;
            }
            Err(err) => {
                self.stats.tiles_rejected += 1;
                self.stats.last_error = Some(err.clone());
            }
        }
    }

    /// The images a tile of `len` payload bytes goes to, once it passed
    /// every check for all of them.
    fn check_insert(&self, tile: &TileHeader, len: usize) -> Result<Vec<Slot>, CanvasError> {
        let targets = self
            .by_media
            .get(&tile.media)
            .filter(|list| !list.is_empty())
            .ok_or_else(|| CanvasError::UnknownMedia {
                media: tile.media.clone(),
            })?;
        let mut slots = Vec::with_capacity(targets.len());
        let mut needed = 0u64;
        for &index in targets {
            let source = &self.sources[index];
            let slot = validate::validate(index, source, tile, len)?;
            match self.images.get(&slot) {
                None => needed += storage_bytes(source),
                Some(image) if image.receiving => {
                    return Err(CanvasError::Busy {
                        image: self.id(slot),
                    });
                }
                Some(_) => {}
            }
            slots.push(slot);
        }
        self.check_budget(&tile.media, needed)?;
        Ok(slots)
    }

    /// Writes a checked tile into its images.
    fn write(
        &mut self,
        tile: &TileHeader,
        slots: Vec<Slot>,
        payload: &[u8],
        now: Instant,
    ) -> InsertOutcome {
        // Checked: x, y >= 0, x + w <= width, y + h <= height, all fit usize.
        let (x, y) = (tile.x as usize, tile.y as usize);
        let (w, h) = (tile.w as usize, tile.h as usize);
        let mut outcome = InsertOutcome::default();
        for slot in slots {
            if !self.images.contains_key(&slot) {
                self.create(slot);
            }
            let Some(image) = self.images.get_mut(&slot) else {
                continue;
            };
            let was_complete = image.is_complete();
            let written = image.write_tile(x, y, w, h, payload);
            self.written(slot, was_complete, written, now, &mut outcome);
        }
        outcome
    }

    /// Records a tile written into an image: its newly covered pixels, and
    /// whether it completed the image; marks the image for dumping.
    fn written(
        &mut self,
        slot: Slot,
        was_complete: bool,
        (fresh, completed): (u64, bool),
        now: Instant,
        outcome: &mut InsertOutcome,
    ) {
        outcome.images += 1;
        outcome.newly_covered += fresh;
        if completed {
            // The coverage map is gone.
            let map_bytes = self.images.get(&slot).map_or(0, Image::pixel_count);
            self.memory = self.memory.saturating_sub(map_bytes);
            outcome.completed.push(self.id(slot));
            self.mark(slot, true, now);
        } else if was_complete {
            self.mark(slot, false, now);
        }
    }

    /// Checks a tile of `len` payload bytes as [`Canvas::insert`] does and
    /// takes its image's storage out, for the payload to be received
    /// straight into it; [`Canvas::check_in`] puts it back. Meanwhile the
    /// image's pixels are empty, it is not dumped, and other tiles for it
    /// are refused ([`CanvasError::Busy`]). `None` when the tile is refused
    /// (insert it the ordinary way to have the error counted and reported),
    /// when its media has several sources, or when the image is receiving
    /// already.
    pub fn check_out(&mut self, tile: &TileHeader, len: usize) -> Option<Checkout> {
        let slots = self.check_insert(tile, len).ok()?;
        let [slot] = slots[..] else {
            return None;
        };
        if !self.images.contains_key(&slot) {
            self.create(slot);
        }
        let image = self.images.get_mut(&slot)?;
        image.receiving = true;
        // A dump being encoded holds the pixels: they are copied first, as
        // any write does.
        let pixels = Arc::unwrap_or_clone(std::mem::take(&mut image.pixels));
        // Checked: x, y >= 0, x + w <= width, y + h <= height, all fit usize.
        Some(Checkout {
            slot,
            x: tile.x as usize,
            y: tile.y as usize,
            w: tile.w as usize,
            h: tile.h as usize,
            pixel_bytes: image.pixel_bytes(),
            row_bytes: image.row_bytes(),
            pixels,
        })
    }

    /// Puts a checked-out image's storage back, with `received` bytes of
    /// the tile written into it. A whole tile is counted and recorded as
    /// [`Canvas::insert`] does; a short one is a [`CanvasError::Truncated`]:
    /// its pixels count as not received, so an image it had completed is
    /// incomplete again, and not dumped, until they are sent again.
    pub fn check_in(
        &mut self,
        checkout: Checkout,
        received: usize,
    ) -> Result<InsertOutcome, CanvasError> {
        self.check_in_at(checkout, received, Instant::now())
    }

    fn check_in_at(
        &mut self,
        checkout: Checkout,
        received: usize,
        now: Instant,
    ) -> Result<InsertOutcome, CanvasError> {
        let expected = checkout.len();
        let Checkout {
            slot,
            x,
            y,
            w,
            h,
            pixels,
            ..
        } = checkout;
        let image = self
            .images
            .get_mut(&slot)
            .expect("images are never removed while the canvas lives");
        image.pixels = Arc::new(pixels);
        image.receiving = false;
        let was_complete = image.is_complete();
        let result = if received == expected {
            let written = image.cover(x, y, w, h);
            let mut outcome = InsertOutcome::default();
            self.written(slot, was_complete, written, now, &mut outcome);
            Ok(outcome)
        } else {
            // Some of the tile's pixels changed: it is no longer received.
            // With none received nothing changed, and a dump that is due
            // stays due.
            if received > 0 {
                self.memory += image.uncover(x, y, w, h);
                self.pending.remove(&slot);
            }
            Err(CanvasError::Truncated {
                image: self.id(slot),
                got: received as u64,
                expected: expected as u64,
            })
        };
        // A dump held back while the tile was received is due now.
        if self.pending.contains_key(&slot)
            && let Some(notify) = &self.wake
        {
            notify.notify_one();
        }
        self.count(&result, received);
        result
    }

    fn check_budget(&self, media: &str, needed: u64) -> Result<(), CanvasError> {
        if needed > 0 && self.memory.saturating_add(needed) > self.config.memory_budget {
            return Err(CanvasError::OutOfMemory {
                media: media.into(),
                needed,
                used: self.memory,
                budget: self.config.memory_budget,
            });
        }
        Ok(())
    }

    /// Allocates a zeroed image (the budget was checked by the caller).
    fn create(&mut self, slot: Slot) {
        let source = &self.sources[slot.source];
        let info = &source.info;
        let pixels = info.width as usize * info.height as usize;
        let image = Image {
            width: info.width,
            height: info.height,
            channels: info.channels,
            sample: source.sample,
            pixels: Arc::new(vec![
                0;
                pixels * info.channels as usize * source.sample.bytes()
            ]),
            coverage: Some(vec![0; pixels]),
            covered: 0,
            writes: 0,
            receiving: false,
        };
        self.memory += storage_bytes(source);
        self.images.insert(slot, image);
    }

    /// Records that a complete image needs writing.
    fn mark(&mut self, slot: Slot, urgent: bool, now: Instant) {
        if !self.config.dumps {
            return;
        }
        let mut wake = false;
        self.pending
            .entry(slot)
            .and_modify(|p| {
                wake = urgent && !p.urgent;
                p.urgent |= urgent;
                p.last = now;
            })
            .or_insert_with(|| {
                wake = true;
                Pending {
                    urgent,
                    first: now,
                    last: now,
                }
            });
        if wake && let Some(notify) = &self.wake {
            notify.notify_one();
        }
    }

    /// `redraw()`: every complete image with unwritten changes is written
    /// now rather than after the quiet period.
    pub fn redraw(&mut self) {
        let mut wake = false;
        for pending in self.pending.values_mut() {
            wake |= !pending.urgent;
            pending.urgent = true;
        }
        if wake && let Some(notify) = &self.wake {
            notify.notify_one();
        }
    }

    /// Takes the images due for writing at `now` (all pending ones when
    /// `everything`) as snapshots, and says when the next one falls due.
    pub fn take_dumps(&mut self, now: Instant, everything: bool) -> DumpBatch {
        let quiet = self.config.dump_quiet;
        let max_delay = self.config.dump_max_delay;
        let due_at = |p: &Pending| (p.last + quiet).min(p.first + max_delay);
        // An image receiving a tile waits for it: checking it in wakes the
        // writer again.
        let waiting = |images: &HashMap<Slot, Image>, slot: &Slot| {
            images.get(slot).is_some_and(|i| i.receiving)
        };
        let due: Vec<Slot> = self
            .pending
            .iter()
            .filter(|(slot, p)| {
                !waiting(&self.images, slot) && (everything || p.urgent || due_at(p) <= now)
            })
            .map(|(slot, _)| *slot)
            .collect();
        let mut jobs = Vec::with_capacity(due.len());
        for slot in due {
            self.pending.remove(&slot);
            if let Some(job) = self.job(slot) {
                jobs.push(job);
            }
        }
        let next_due = self
            .pending
            .iter()
            .filter(|(slot, _)| !waiting(&self.images, slot))
            .map(|(_, p)| due_at(p))
            .min();
        DumpBatch { jobs, next_due }
    }

    fn job(&self, slot: Slot) -> Option<DumpJob> {
        let image = self.images.get(&slot).filter(|i| i.is_complete())?;
        Some(DumpJob {
            file_name: self.file_name(slot),
            image: self.id(slot),
            width: image.width,
            height: image.height,
            channels: image.channels,
            sample: image.sample,
            pixels: Arc::clone(&image.pixels),
        })
    }

    /// `<prefix>.<view>[.<layer>].<frame>.<png|exr>` (see the module docs).
    fn file_name(&self, slot: Slot) -> String {
        let source = &self.sources[slot.source];
        let info = &source.info;
        let view = slot.view.map_or(NO_VIEW_NAME, |i| info.views[i].as_str());
        let mut name = format!("{}.{}", source.file_prefix, dump::file_component(view));
        if let Some(layer) = slot.layer {
            name.push('.');
            name.push_str(&dump::file_component(&info.layers[layer]));
        }
        let ext = if source.sample.is_float() {
            "exr"
        } else {
            "png"
        };
        name.push_str(&format!(".{}.{ext}", slot.frame));
        name
    }

    fn id(&self, slot: Slot) -> ImageId {
        let info = &self.sources[slot.source].info;
        ImageId {
            node: info.node.clone(),
            media: info.media.clone(),
            frame: slot.frame,
            view: slot.view.map(|i| info.views[i].clone()),
            layer: slot.layer.map(|i| info.layers[i].clone()),
        }
    }

    /// Finds the slot of the first source with `media`, resolving view and
    /// layer as a tile does.
    fn find_slot(
        &self,
        media: &str,
        frame: i32,
        view: Option<&str>,
        layer: Option<&str>,
    ) -> Option<Slot> {
        let index = *self.by_media.get(media)?.first()?;
        let info = &self.sources[index].info;
        Some(Slot {
            source: index,
            frame,
            view: resolve_view(info, view).ok()?,
            layer: resolve_layer(info, layer).ok()?,
        })
    }

    /// The image of the first source with `media`, at `frame`, `view` and
    /// `layer` (`None`: the first declared one, as for a tile), if it has
    /// storage.
    pub fn image(
        &self,
        media: &str,
        frame: i32,
        view: Option<&str>,
        layer: Option<&str>,
    ) -> Option<&Image> {
        self.images.get(&self.find_slot(media, frame, view, layer)?)
    }

    /// The dump file name of that image (whether or not it exists yet).
    pub fn dump_file_name(
        &self,
        media: &str,
        frame: i32,
        view: Option<&str>,
        layer: Option<&str>,
    ) -> Option<String> {
        Some(self.file_name(self.find_slot(media, frame, view, layer)?))
    }

    /// Every image with storage, in no particular order.
    pub fn images(&self) -> Vec<(ImageId, &Image)> {
        self.images
            .iter()
            .map(|(slot, image)| (self.id(*slot), image))
            .collect()
    }

    /// The sources, in creation order.
    pub fn sources(&self) -> impl Iterator<Item = &SourceInfo> {
        self.sources.iter().map(|s| &s.info)
    }

    /// Counters.
    pub fn stats(&self) -> &CanvasStats {
        &self.stats
    }

    /// Bytes of pixel storage and coverage maps held.
    pub fn memory_used(&self) -> u64 {
        self.memory
    }

    /// Complete images with changes not yet written.
    pub fn pending_dumps(&self) -> usize {
        self.pending.len()
    }

    fn record_dump(&mut self, result: &Result<PathBuf, DumpError>) {
        match result {
            Ok(_) => self.stats.dumps_written += 1,
            Err(err) => {
                self.stats.dump_failures += 1;
                self.stats.last_dump_error = Some(err.to_string());
            }
        }
    }
}

/// Bytes one image of this source holds: pixels plus its coverage map.
fn storage_bytes(source: &Source) -> u64 {
    let pixels = u64::from(source.info.width) * u64::from(source.info.height);
    pixels * u64::from(source.info.channels) * source.sample.bytes() as u64 + pixels
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use proptest::prelude::*;

    pub(super) fn source(
        media: &str,
        w: u32,
        h: u32,
        channels: u32,
        bits: u32,
        float: bool,
    ) -> SourceInfo {
        SourceInfo {
            node: format!("sourceGroup{:06}_source", 0),
            media: media.into(),
            width: w,
            height: h,
            uncrop_width: w,
            uncrop_height: h,
            uncrop_x: 0,
            uncrop_y: 0,
            pixel_aspect: 1.0,
            channels,
            bits,
            float,
            start_frame: 1,
            end_frame: 1,
            fps: 24.0,
            layers: Vec::new(),
            views: vec!["left".into(), "right".into()],
        }
    }

    pub(super) fn tile(
        media: &str,
        view: Option<&str>,
        x: i64,
        y: i64,
        w: u32,
        h: u32,
    ) -> TileHeader {
        TileHeader {
            media: media.into(),
            view: view.map(String::from),
            layer: None,
            w,
            h,
            x,
            y,
            f: 1,
            event: None,
        }
    }

    pub(super) fn canvas_with(info: &SourceInfo) -> Canvas {
        let mut canvas = Canvas::new(CanvasConfig {
            dumps: true,
            ..CanvasConfig::default()
        });
        canvas.add_source(info);
        canvas
    }

    fn insert_at(
        canvas: &mut Canvas,
        t: &TileHeader,
        payload: &[u8],
        now: Instant,
    ) -> Result<InsertOutcome, CanvasError> {
        canvas.insert_at(t, payload, now)
    }

    pub(super) fn err(canvas: &mut Canvas, t: &TileHeader, payload: &[u8]) -> String {
        canvas.insert(t, payload).unwrap_err().to_string()
    }

    #[test]
    fn no_view_goes_to_the_first_declared_view() {
        let mut c = canvas_with(&source("M", 1, 1, 1, 8, false));
        c.insert(&tile("M", None, 0, 0, 1, 1), &[9]).unwrap();
        assert_eq!(c.image("M", 1, Some("left"), None).unwrap().pixels(), &[9]);
        assert!(c.image("M", 1, Some("right"), None).is_none());
        assert_eq!(
            c.dump_file_name("M", 1, None, None).unwrap(),
            "M.left.1.png"
        );
    }

    #[test]
    fn coverage_counts_overlapping_and_repeated_tiles_once() {
        let mut c = canvas_with(&source("M", 5, 4, 1, 8, false));
        let put = |c: &mut Canvas, x, y, w, h| {
            let payload = vec![1u8; (w * h) as usize];
            c.insert(&tile("M", Some("left"), x, y, w, h), &payload)
                .unwrap()
        };
        assert_eq!(put(&mut c, 0, 0, 3, 3).newly_covered, 9);
        assert_eq!(put(&mut c, 0, 0, 3, 3).newly_covered, 0, "repeat");
        assert_eq!(
            put(&mut c, 2, 2, 3, 2).newly_covered,
            5,
            "overlaps one pixel"
        );
        let outcome = put(&mut c, 0, 0, 5, 1);
        assert_eq!((outcome.newly_covered, outcome.completed.len()), (2, 0));
        let image = c.image("M", 1, Some("left"), None).unwrap();
        assert_eq!((image.covered_pixels(), image.is_complete()), (16, false));
        let outcome = put(&mut c, 3, 0, 2, 4);
        assert_eq!((outcome.newly_covered, outcome.completed.len()), (2, 0));
        let outcome = put(&mut c, 0, 3, 2, 1);
        assert_eq!(outcome.newly_covered, 2);
        assert_eq!(
            outcome.completed,
            vec![ImageId {
                node: "sourceGroup000000_source".into(),
                media: "M".into(),
                frame: 1,
                view: Some("left".into()),
                layer: None,
            }]
        );
        let image = c.image("M", 1, Some("left"), None).unwrap();
        assert_eq!(image.covered_pixels(), image.pixel_count());
        assert!(image.is_complete());
        assert_eq!(image.tiles_written(), 6);
    }

    #[test]
    fn tile_rows_land_bottom_up_and_dump_top_down() {
        // 2x2 RGBA8, four distinct pixels, sent as two 1-row tiles.
        let mut c = canvas_with(&source("M", 2, 2, 4, 8, false));
        let bottom = [1, 2, 3, 4, 5, 6, 7, 8];
        let top = [9, 10, 11, 12, 13, 14, 15, 16];
        c.insert(&tile("M", Some("left"), 0, 1, 2, 1), &top)
            .unwrap();
        let done = c
            .insert(&tile("M", Some("left"), 0, 0, 2, 1), &bottom)
            .unwrap();
        assert_eq!(done.completed.len(), 1);
        let image = c.image("M", 1, Some("left"), None).unwrap();
        assert_eq!(image.pixels(), [bottom, top].concat());
        assert_eq!(image.top_down(), [top, bottom].concat());

        let batch = c.take_dumps(Instant::now(), false);
        assert_eq!(batch.jobs.len(), 1, "completion writes at once");
        assert_eq!(batch.next_due, None);
        let dir = tempfile::tempdir().unwrap();
        let path = batch.jobs[0].write(dir.path()).unwrap();
        assert_eq!(path, dir.path().join("M.left.1.png"));
        let png = image::open(&path).unwrap().into_rgba8();
        assert_eq!(png.dimensions(), (2, 2));
        assert_eq!(png.as_raw(), &[top, bottom].concat());
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary file left behind");
    }

    /// Writes `value` into every byte of a checkout's rows, `rows` of them.
    fn land(checkout: &mut Checkout, value: u8, rows: usize) -> usize {
        let target = checkout.rows();
        for r in 0..rows {
            target.bytes[target.start + r * target.stride..][..target.row_len].fill(value);
        }
        rows * target.row_len
    }

    #[test]
    fn a_checked_out_tile_lands_in_place_while_the_image_waits() {
        let mut c = canvas_with(&source("A", 4, 3, 1, 8, false));
        let whole: Vec<u8> = (1..=12).collect();
        c.insert(&tile("A", None, 0, 0, 4, 3), &whole).unwrap();
        // A dump snapshot holds the pixels while the tile comes in.
        let snapshot = c.take_dumps(Instant::now(), true).jobs.remove(0);

        let t = tile("A", None, 1, 1, 2, 2);
        let mut checkout = c.check_out(&t, 4).unwrap();
        assert_eq!(checkout.len(), 4);
        assert!(c.image("A", 1, None, None).unwrap().pixels().is_empty());
        assert!(c.check_out(&t, 4).is_none(), "one tile at a time");
        assert_eq!(
            err(&mut c, &t, &[0; 4]),
            "media \"A\" (sourceGroup000000_source) frame 1 view \"left\" is receiving a tile from another connection; send one image's tiles over one connection (tile dropped)"
        );
        c.redraw();
        let batch = c.take_dumps(Instant::now(), true);
        assert!(batch.jobs.is_empty() && batch.next_due.is_none());

        let received = land(&mut checkout, 9, 2);
        let outcome = c.check_in(checkout, received).unwrap();
        assert_eq!((outcome.images, outcome.newly_covered), (1, 0));
        let image = c.image("A", 1, None, None).unwrap();
        assert_eq!(image.pixels(), &[1, 2, 3, 4, 5, 9, 9, 8, 9, 9, 9, 12][..]);
        assert!(image.is_complete());
        assert_eq!(
            snapshot.pixels.as_slice(),
            &whole[..],
            "copied, not changed"
        );
        assert_eq!(c.take_dumps(Instant::now(), true).jobs.len(), 1);
        assert_eq!(c.stats().tiles_accepted, 2);
        assert_eq!(c.stats().tiles_rejected, 1, "the busy one");
    }

    #[test]
    fn a_tile_cut_short_leaves_the_rest_and_counts_as_not_received() {
        let mut c = canvas_with(&source("A", 4, 3, 1, 8, false));
        let whole: Vec<u8> = (1..=12).collect();
        c.insert(&tile("A", None, 0, 0, 4, 3), &whole).unwrap();
        let memory = c.memory_used();
        let t = tile("A", None, 1, 1, 2, 2);
        let mut checkout = c.check_out(&t, 4).unwrap();
        let received = land(&mut checkout, 9, 1);
        assert_eq!(
            c.check_in(checkout, received).unwrap_err().to_string(),
            "connection closed after 2 of the 4 bytes of a tile for media \"A\" (sourceGroup000000_source) frame 1 view \"left\"; its pixels must be sent again"
        );
        let image = c.image("A", 1, None, None).unwrap();
        // Only the tile's own pixels changed.
        assert_eq!(image.pixels(), &[1, 2, 3, 4, 5, 9, 9, 8, 9, 10, 11, 12][..]);
        assert!(!image.is_complete(), "not dumped until sent again");
        assert_eq!(image.covered_pixels(), 12 - 4);
        assert_eq!(c.memory_used(), memory + 12, "the coverage map is back");
        assert!(c.take_dumps(Instant::now(), true).jobs.is_empty());

        let outcome = c.insert(&t, &[7; 4]).unwrap();
        assert_eq!(outcome.newly_covered, 4);
        assert_eq!(outcome.completed.len(), 1);
        assert_eq!(c.memory_used(), memory);
        assert_eq!(c.take_dumps(Instant::now(), true).jobs.len(), 1);
    }

    #[test]
    fn only_a_valid_tile_of_a_single_source_is_checked_out() {
        let first = source("M", 2, 1, 1, 8, false);
        let mut second = source("M", 2, 1, 1, 8, false);
        second.node = "sourceGroup000001_source".into();
        let mut single = source("S", 2, 2, 1, 8, false);
        single.node = "sourceGroup000002_source".into();
        let mut c = canvas_with(&first);
        c.add_source(&single);
        assert!(
            c.check_out(&tile("S", None, 0, 0, 2, 2), 3).is_none(),
            "size"
        );
        assert!(
            c.check_out(&tile("S", None, 1, 0, 2, 2), 4).is_none(),
            "bounds"
        );
        assert!(
            c.check_out(&tile("T", None, 0, 0, 2, 2), 4).is_none(),
            "media"
        );
        assert_eq!(c.stats().tiles_rejected, 0, "insert reports those");
        c.add_source(&second);
        assert!(c.check_out(&tile("M", None, 0, 0, 2, 1), 2).is_none());
        // A fresh image is made for the tile, zeroed.
        let mut checkout = c.check_out(&tile("S", None, 0, 1, 2, 1), 2).unwrap();
        let received = land(&mut checkout, 4, 1);
        c.check_in(checkout, received).unwrap();
        let image = c.image("S", 1, None, None).unwrap();
        assert_eq!(image.pixels(), &[0, 0, 4, 4]);
        assert_eq!(image.covered_pixels(), 2);
    }

    #[test]
    fn every_source_with_the_media_is_written_or_none_is() {
        let small = source("M", 2, 1, 1, 8, false);
        let mut big = source("M", 4, 1, 1, 8, false);
        big.node = "sourceGroup000001_source".into();
        let mut c = canvas_with(&small);
        c.add_source(&big);
        let outcome = c.insert(&tile("M", None, 0, 0, 2, 1), &[5, 6]).unwrap();
        assert_eq!((outcome.images, outcome.completed.len()), (2, 1));
        // Fits the big source, not the small one: refused for both.
        assert!(matches!(
            c.insert(&tile("M", None, 2, 0, 2, 1), &[7, 8]),
            Err(CanvasError::OutOfBounds {
                edge: Edge::Right,
                width: 2,
                ..
            })
        ));
        let names: Vec<_> = c
            .take_dumps(Instant::now(), true)
            .jobs
            .into_iter()
            .map(|j| j.file_name)
            .collect();
        assert_eq!(
            names,
            vec!["M.left.1.png"],
            "only the small one is complete"
        );
        let (_, second) = c
            .images()
            .into_iter()
            .find(|(id, _)| id.node == "sourceGroup000001_source")
            .unwrap();
        assert_eq!(second.pixels(), &[5, 6, 0, 0]);
    }

    #[test]
    fn a_second_source_with_the_same_media_gets_its_node_in_the_file_name() {
        let first = source("M", 1, 1, 1, 8, false);
        let mut second = first.clone();
        second.node = "sourceGroup000001_source".into();
        let mut c = canvas_with(&first);
        c.add_source(&second);
        c.add_source(&second); // a repeated node is ignored
        let outcome = c.insert(&tile("M", None, 0, 0, 1, 1), &[4]).unwrap();
        assert_eq!((outcome.images, outcome.completed.len()), (2, 2));
        let mut names: Vec<_> = c
            .take_dumps(Instant::now(), false)
            .jobs
            .into_iter()
            .map(|j| j.file_name)
            .collect();
        names.sort();
        assert_eq!(
            names,
            vec!["M.left.1.png", "M.sourceGroup000001_source.left.1.png"]
        );
    }

    #[test]
    fn layers_and_missing_views_shape_the_file_name() {
        let mut info = source("a/b\\c", 1, 1, 1, 8, false);
        info.views.clear();
        info.layers = vec!["diffuse".into(), "spec".into()];
        let mut c = canvas_with(&info);
        let mut t = tile("a/b\\c", None, 0, 0, 1, 1);
        t.layer = Some("spec".into());
        c.insert(&t, &[1]).unwrap();
        assert_eq!(
            c.take_dumps(Instant::now(), false).jobs[0].file_name,
            "a_b_c.default.spec.1.png"
        );
        assert_eq!(
            c.dump_file_name("a/b\\c", 1, None, None).unwrap(),
            "a_b_c.default.diffuse.1.png"
        );
    }

    #[test]
    fn changes_to_complete_images_are_coalesced_until_quiet_or_redraw() {
        let mut c = canvas_with(&source("M", 2, 1, 1, 8, false));
        let t0 = Instant::now();
        let t = tile("M", None, 0, 0, 2, 1);
        insert_at(&mut c, &t, &[1, 2], t0).unwrap();
        assert_eq!(c.take_dumps(t0, false).jobs.len(), 1);
        // Three changes 100 ms apart: nothing due until 250 ms after the last.
        for i in 0..3u64 {
            insert_at(&mut c, &t, &[3, 4], t0 + Duration::from_millis(100 * i)).unwrap();
        }
        let batch = c.take_dumps(t0 + Duration::from_millis(300), false);
        assert!(batch.jobs.is_empty());
        assert_eq!(batch.next_due, Some(t0 + Duration::from_millis(450)));
        let batch = c.take_dumps(t0 + Duration::from_millis(450), false);
        assert_eq!(batch.jobs.len(), 1);
        assert_eq!(batch.jobs[0].pixels.as_slice(), &[3, 4]);
        assert_eq!(batch.next_due, None);
        // A stream that never goes quiet is written after at most 1 s.
        for i in 0..12u64 {
            insert_at(
                &mut c,
                &t,
                &[5, 6],
                t0 + Duration::from_millis(1000 + 100 * i),
            )
            .unwrap();
        }
        assert_eq!(
            c.take_dumps(t0 + Duration::from_millis(2000), false)
                .jobs
                .len(),
            1
        );
        // redraw() makes pending changes due at once.
        insert_at(&mut c, &t, &[7, 8], t0 + Duration::from_millis(3000)).unwrap();
        assert!(
            c.take_dumps(t0 + Duration::from_millis(3000), false)
                .jobs
                .is_empty()
        );
        c.redraw();
        assert_eq!(
            c.take_dumps(t0 + Duration::from_millis(3000), false)
                .jobs
                .len(),
            1
        );
        assert_eq!(c.pending_dumps(), 0);
        // Incomplete images are never due, not even on redraw.
        let mut c = canvas_with(&source("M", 2, 1, 1, 8, false));
        c.insert(&tile("M", None, 0, 0, 1, 1), &[1]).unwrap();
        c.redraw();
        assert!(c.take_dumps(Instant::now(), true).jobs.is_empty());
    }

    #[test]
    fn allocation_is_find_or_create_and_respects_the_budget() {
        let info = source("M", 4, 4, 4, 8, false); // 64 + 16 bytes per image
        let mut c = Canvas::new(CanvasConfig {
            memory_budget: 100,
            ..CanvasConfig::default()
        });
        c.add_source(&info);
        let node = "sourceGroup000000_source";
        let id = c.allocate(node, 9, None, None).unwrap();
        assert_eq!((id.frame, id.view.as_deref()), (1, Some("left")));
        assert_eq!(c.memory_used(), 80);
        c.allocate(node, 1, Some("left"), None).unwrap();
        assert_eq!(c.memory_used(), 80, "existing storage is found");
        assert_eq!(
            c.allocate(node, 1, Some("right"), None)
                .unwrap_err()
                .to_string(),
            "pixel storage for media \"M\" needs 80 more bytes but the simulator's canvas holds 80 of its 100-byte budget; restart the simulator or send smaller images"
        );
        assert!(matches!(
            c.insert(&tile("M", Some("right"), 0, 0, 1, 1), &[0; 4]),
            Err(CanvasError::OutOfMemory { .. })
        ));
        assert!(matches!(
            c.allocate("nosuch", 1, None, None),
            Err(CanvasError::UnknownNode { .. })
        ));
        // Completing an image frees its coverage map.
        c.insert(&tile("M", Some("left"), 0, 0, 4, 4), &[3; 64])
            .unwrap();
        assert_eq!(c.memory_used(), 64);
        let image = c.image("M", 1, None, None).unwrap();
        assert!(image.is_complete());
    }

    #[test]
    fn effects_from_the_evaluator_create_sources_and_storage() {
        let mut session = Session::new();
        let now = std::time::Instant::now();
        session.eval_mu(
            r#"{ let s = newImageSource( "M", 3, 2, 3, 2, 0, 0, 1.0, 4, 8, false, 1, 1, 24.0, nil, string[] {"left", "right"} ); newImageSourcePixels( s, 1, nil, "left"); newImageSourcePixels( s, 1, nil, "right"); }"#,
            now,
        );
        session.eval_mu("redraw()", now);
        let mut c = Canvas::default();
        for effect in session.take_effects() {
            c.apply(&effect, &session).unwrap();
        }
        assert_eq!(c.sources().count(), 1);
        assert_eq!(c.images().len(), 2);
        let left = c.image("M", 1, Some("left"), None).unwrap();
        assert_eq!((left.covered_pixels(), left.pixels()), (0, &[0u8; 24][..]));
    }

    proptest! {
        /// Any sequence of in-bounds tiles: the pixels equal a naive model
        /// (last write wins) and the coverage count equals the union's area.
        #[test]
        fn pixels_and_coverage_match_a_naive_model(
            tiles in proptest::collection::vec((0u32..7, 0u32..5, 1u32..8, 1u32..6, any::<u8>()), 1..20)
        ) {
            let (width, height) = (7u32, 5u32);
            let mut c = canvas_with(&source("M", width, height, 2, 8, false));
            let mut model = vec![0u8; (width * height * 2) as usize];
            let mut seen = vec![false; (width * height) as usize];
            for (x, y, w, h, v) in tiles {
                let (w, h) = (w.min(width - x), h.min(height - y));
                let payload: Vec<u8> = (0..w * h * 2).map(|i| v.wrapping_add(i as u8)).collect();
                c.insert(&tile("M", None, x.into(), y.into(), w, h), &payload).unwrap();
                for r in 0..h {
                    for col in 0..w {
                        let p = ((y + r) * width + x + col) as usize;
                        seen[p] = true;
                        let t = ((r * w + col) * 2) as usize;
                        model[p * 2..p * 2 + 2].copy_from_slice(&payload[t..t + 2]);
                    }
                }
            }
            let image = c.image("M", 1, None, None).unwrap();
            prop_assert_eq!(image.pixels(), model.as_slice());
            let covered = seen.iter().filter(|s| **s).count() as u64;
            prop_assert_eq!(image.covered_pixels(), covered);
            prop_assert_eq!(image.is_complete(), covered == u64::from(width * height));
        }
    }
}
