//! One image's storage (rv-protocol.md §7.3): its sample type, its pixels
//! laid out as RV keeps them (interleaved channels, rows tightly packed and
//! bottom-up, native byte order), the copy of a tile into its rows, and the
//! coverage map that tells when every pixel has been received.

use std::sync::Arc;

/// The type of one sample, from `newImageSource(bits, float)` (§7.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SampleType {
    /// 8-bit unsigned.
    U8,
    /// 16-bit unsigned, native byte order.
    U16,
    /// 16-bit IEEE half float, native byte order.
    F16,
    /// 32-bit IEEE float, native byte order.
    F32,
}

impl SampleType {
    /// The sample type RV stores for `(bits, float)`; `None` for other bit
    /// counts (the evaluator accepts only 8, 16 and 32).
    pub fn from_source(bits: u32, float: bool) -> Option<Self> {
        match (bits, float) {
            (8, _) => Some(SampleType::U8),
            (16, false) => Some(SampleType::U16),
            (16, true) => Some(SampleType::F16),
            (32, _) => Some(SampleType::F32),
            _ => None,
        }
    }

    /// Bytes per sample.
    pub fn bytes(self) -> usize {
        match self {
            SampleType::U8 => 1,
            SampleType::U16 | SampleType::F16 => 2,
            SampleType::F32 => 4,
        }
    }

    /// Whether samples are floating point (dumped as OpenEXR).
    pub fn is_float(self) -> bool {
        matches!(self, SampleType::F16 | SampleType::F32)
    }
}

/// One image's pixels and coverage.
#[derive(Debug)]
pub struct Image {
    pub(super) width: u32,
    pub(super) height: u32,
    pub(super) channels: u32,
    pub(super) sample: SampleType,
    pub(super) pixels: Arc<Vec<u8>>,
    /// One byte per pixel, non-zero once received; `None` once complete.
    pub(super) coverage: Option<Vec<u8>>,
    pub(super) covered: u64,
    pub(super) writes: u64,
    /// A tile is being received straight into `pixels`, which are out
    /// ([`Canvas::check_out`]).
    pub(super) receiving: bool,
}

impl Image {
    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// Interleaved channels (1 to 4).
    pub fn channels(&self) -> u32 {
        self.channels
    }

    /// The sample type.
    pub fn sample(&self) -> SampleType {
        self.sample
    }

    /// The samples as RV holds them: bottom row first, native byte order.
    /// Empty while a tile is received straight into them.
    pub fn pixels(&self) -> &[u8] {
        &self.pixels
    }

    /// The samples top row first, as an ordinary image file holds them.
    pub fn top_down(&self) -> Vec<u8> {
        top_down(&self.pixels, self.row_bytes())
    }

    /// Whether every pixel has been received at least once.
    pub fn is_complete(&self) -> bool {
        self.coverage.is_none()
    }

    /// Pixels received at least once.
    pub fn covered_pixels(&self) -> u64 {
        self.covered
    }

    /// `width * height`.
    pub fn pixel_count(&self) -> u64 {
        u64::from(self.width) * u64::from(self.height)
    }

    /// Tiles written into this image.
    pub fn tiles_written(&self) -> u64 {
        self.writes
    }

    pub(super) fn pixel_bytes(&self) -> usize {
        self.channels as usize * self.sample.bytes()
    }

    pub(super) fn row_bytes(&self) -> usize {
        self.width as usize * self.pixel_bytes()
    }

    /// Copies a validated, in-bounds tile; returns the newly covered pixels
    /// and whether this completed the image.
    pub(super) fn write_tile(
        &mut self,
        x: usize,
        y: usize,
        w: usize,
        h: usize,
        payload: &[u8],
    ) -> (u64, bool) {
        let px = self.pixel_bytes();
        let row_bytes = self.row_bytes();
        let tile_row = w * px;
        let pixels = Arc::make_mut(&mut self.pixels);
        let rows = pixels[y * row_bytes..].chunks_exact_mut(row_bytes);
        for (dst, src) in rows.zip(payload.chunks_exact(tile_row)) {
            dst[x * px..x * px + tile_row].copy_from_slice(src);
        }
        self.cover(x, y, w, h)
    }

    /// Records that the tile at (x, y) was cut short: its pixels count as
    /// not received. Returns the bytes of the coverage map made again when
    /// the image was complete.
    pub(super) fn uncover(&mut self, x: usize, y: usize, w: usize, h: usize) -> u64 {
        let (width, count) = (self.width as usize, self.pixel_count());
        let remade = if self.coverage.is_none() { count } else { 0 };
        let map = self.coverage.get_or_insert_with(|| vec![1; count as usize]);
        for row in map[y * width..].chunks_exact_mut(width).take(h) {
            let span = &mut row[x..x + w];
            self.covered -= span.iter().filter(|&&b| b != 0).count() as u64;
            span.fill(0);
        }
        remade
    }

    /// Records a tile written at (x, y); see [`Image::write_tile`].
    pub(super) fn cover(&mut self, x: usize, y: usize, w: usize, h: usize) -> (u64, bool) {
        let width = self.width as usize;
        self.writes += 1;
        let Some(map) = self.coverage.as_mut() else {
            return (0, false);
        };
        let mut fresh = 0u64;
        for row in map[y * width..].chunks_exact_mut(width).take(h) {
            let span = &mut row[x..x + w];
            let new = span.iter().filter(|&&b| b == 0).count();
            if new > 0 {
                span.fill(1);
                fresh += new as u64;
            }
        }
        self.covered += fresh;
        let completed = self.covered == self.pixel_count();
        if completed {
            self.coverage = None;
        }
        (fresh, completed)
    }
}

pub(super) fn top_down(pixels: &[u8], row_bytes: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(pixels.len());
    for row in pixels.chunks_exact(row_bytes).rev() {
        out.extend_from_slice(row);
    }
    out
}
