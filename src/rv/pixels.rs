//! Pixels for RV's display-driver path (rv-protocol.md §7): PIXELTILE headers,
//! the pixel format, bottom-up sample buffers, the tile plan, and the stereo
//! inverse.
//!
//! ```text
//! MESSAGE 247 RETURNEVENT remote-eval * { let s = newImageSource( "M", 4, 3, 4, 3, 0, 0, 1.0, 4, 8, false, 1, 1, 24.0, nil, string[] {"left", "right"} ); newImageSourcePixels( s, 1, nil, "left"); newImageSourcePixels( s, 1, nil, "right"); }
//! PIXELTILE(media=M,view=left,w=4,h=3,x=0,y=0,f=1) 48 <48 bytes: RGBA8, bottom row first>
//! PIXELTILE(media=M,view=right,w=4,h=3,x=0,y=0,f=1) 48 <the same bytes, each 255-v>
//! MESSAGE 26 EVENT remote-eval * redraw()
//! ```
//!
//! Facts from RV's code that this module encodes:
//! - Header keys `media`, `view`, `layer`, `w`, `h`, `x`, `y`, `f`, `event`
//!   (not `event-name`, §7.1). RV splits the header on `(`, `)`, `,` and space,
//!   then each pair on `=`, ignoring pairs that do not split into exactly two;
//!   `f` defaults to **0**, so it is always sent (§7.1).
//! - Samples are interleaved RGBA, rows tightly packed and **bottom-up** (`y=0`
//!   is the bottom scanline), multi-byte samples in the host's native byte
//!   order (§7.3).
//! - RV checks only the payload size (`w*h*channels*bytes`), never bounds, so
//!   every tile is clipped to the image here (§7.2).

use crate::rv::client::{Payload, Rows};
use std::fmt;

/// Sample depth of a pushed image (§7.3: bits 8, 16 or 32-bit float).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Depth {
    /// 8-bit unsigned (rvshell's choice).
    U8,
    /// 16-bit unsigned, native byte order.
    U16,
    /// 32-bit float, native byte order (what renderers send).
    F32,
}

impl Depth {
    /// From the bit count given on the command line.
    pub fn from_bits(bits: u32) -> Option<Self> {
        match bits {
            8 => Some(Depth::U8),
            16 => Some(Depth::U16),
            32 => Some(Depth::F32),
            _ => None,
        }
    }

    /// Bits per sample, as `newImageSource` takes it.
    pub fn bits(self) -> u32 {
        match self {
            Depth::U8 => 8,
            Depth::U16 => 16,
            Depth::F32 => 32,
        }
    }

    /// Bytes per sample.
    pub fn bytes(self) -> usize {
        self.bits() as usize / 8
    }

    /// Whether samples are floating point.
    pub fn is_float(self) -> bool {
        self == Depth::F32
    }

    /// The depth RV uses for a source created with `(bits, float)` (§7.3);
    /// half floats are not supported here.
    pub fn from_source(bits: u32, float: bool) -> Option<Self> {
        match (bits, float) {
            (8, _) => Some(Depth::U8),
            (16, false) => Some(Depth::U16),
            (32, _) => Some(Depth::F32),
            _ => None,
        }
    }
}

/// The parameters of one `PIXELTILE(...)` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TileHeader {
    /// Media name given to `newImageSource` (`""` when absent).
    pub media: String,
    /// View name, or `None` for RV's `-` (no view).
    pub view: Option<String>,
    /// Layer name, or `None` for RV's `-` (no layer).
    pub layer: Option<String>,
    /// Tile width in pixels.
    pub w: u32,
    /// Tile height in pixels.
    pub h: u32,
    /// Left edge within the image.
    pub x: i64,
    /// Bottom edge within the image, counted from the bottom (§7.3).
    pub y: i64,
    /// Frame number (RV's default when absent is 0, §7.1).
    pub f: i64,
    /// Event name emitted in RV (default `pixel-block`).
    pub event: Option<String>,
}

/// Why a tile header cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// A value RV would split or drop (§7.1).
    #[error("{key} {value:?} must be non-empty and contain no space, comma, parenthesis or '='")]
    BadValue {
        /// The key.
        key: &'static str,
        /// The value.
        value: String,
    },
}

/// Checks a header value: RV splits on `( ) , space` and drops values with `=`.
pub fn check_value(key: &'static str, value: &str) -> Result<(), HeaderError> {
    let bad = value.is_empty()
        || value
            .chars()
            .any(|c| matches!(c, '(' | ')' | ',' | '=') || c.is_whitespace() || c.is_control());
    if bad {
        Err(HeaderError::BadValue {
            key,
            value: value.to_owned(),
        })
    } else {
        Ok(())
    }
}

impl TileHeader {
    /// Whether RV inserts this tile's pixels: only the `pixel-block` event
    /// (the default) is bound to the handler that does; RV emits any other
    /// name to whatever is bound to it (§7.1, §7.2).
    pub fn inserts_pixels(&self) -> bool {
        self.event.as_deref().is_none_or(|e| e == "pixel-block")
    }

    /// Parses a header the way RV's `Session::pixelBlockEvent` does (§7.1):
    /// unknown keys and malformed pairs are ignored, numbers parse like
    /// `atoi` (garbage is 0), absent keys take RV's defaults. `None` if this
    /// is not a `PIXELTILE(...)` header at all.
    pub fn parse(header: &str) -> Option<Self> {
        let fields = header.strip_prefix("PIXELTILE(")?.strip_suffix(')')?;
        let mut tile = TileHeader {
            media: String::new(),
            view: None,
            layer: None,
            w: 0,
            h: 0,
            x: 0,
            y: 0,
            f: 0,
            event: None,
        };
        for pair in fields.split([',', ' ', '(', ')']).filter(|p| !p.is_empty()) {
            let mut parts = pair.split('=');
            let (Some(key), Some(value), None) = (parts.next(), parts.next(), parts.next()) else {
                continue;
            };
            let dash_none = |v: &str| (v != "-").then(|| v.to_owned());
            match key {
                "media" => tile.media = value.to_owned(),
                "view" => tile.view = dash_none(value),
                "layer" => tile.layer = dash_none(value),
                "w" => tile.w = atoi(value).clamp(0, i64::from(u32::MAX)) as u32,
                "h" => tile.h = atoi(value).clamp(0, i64::from(u32::MAX)) as u32,
                "x" => tile.x = atoi(value),
                "y" => tile.y = atoi(value),
                "f" => tile.f = atoi(value),
                "event" => tile.event = Some(value.to_owned()),
                _ => {}
            }
        }
        Some(tile)
    }

    /// The header token, keys in rvshell's order (media, view, layer, w, h, x,
    /// y, f, event), refusing values RV would mis-split.
    pub fn to_header(&self) -> Result<String, HeaderError> {
        check_value("media", &self.media)?;
        let mut out = format!("PIXELTILE(media={}", self.media);
        for (key, value) in [("view", &self.view), ("layer", &self.layer)] {
            if let Some(value) = value {
                check_value(key, value)?;
                out.push_str(&format!(",{key}={value}"));
            }
        }
        out.push_str(&format!(
            ",w={},h={},x={},y={},f={}",
            self.w, self.h, self.x, self.y, self.f
        ));
        if let Some(event) = &self.event {
            check_value("event", event)?;
            out.push_str(&format!(",event={event}"));
        }
        out.push(')');
        Ok(out)
    }
}

impl fmt::Display for TileHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.to_header() {
            Ok(header) => f.write_str(&header),
            Err(_) => write!(f, "{self:?}"),
        }
    }
}

/// C's `atoi`: optional sign and leading digits; anything else gives 0.
fn atoi(text: &str) -> i64 {
    let text = text.trim_start();
    let (sign, digits) = match text.as_bytes().first() {
        Some(b'-') => (-1, &text[1..]),
        Some(b'+') => (1, &text[1..]),
        _ => (1, text),
    };
    let value = digits
        .bytes()
        .take_while(u8::is_ascii_digit)
        .fold(0i64, |acc, d| {
            acc.saturating_mul(10).saturating_add(i64::from(d - b'0'))
        });
    sign * value
}

/// Limits applied when decoding an image, so a hostile or huge file gets a
/// clear error instead of exhausting memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeLimits {
    /// Largest width or height accepted.
    pub max_dimension: u32,
    /// Largest decoder allocation, in bytes.
    pub max_alloc: u64,
}

impl Default for DecodeLimits {
    /// 16384 pixels a side (RV's own sources stop there too), 2 GiB.
    fn default() -> Self {
        Self {
            max_dimension: 16_384,
            max_alloc: 2 << 30,
        }
    }
}

/// Why an image cannot be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file cannot be opened.
    #[error("cannot open image {path}: {source}")]
    Open {
        /// The path.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file is not an image we can decode.
    #[error("{path} is not a readable image: {reason}")]
    Decode {
        /// The path.
        path: String,
        /// The decoder's message.
        reason: String,
    },
    /// The image has no pixels.
    #[error("{path} is an empty image ({width}x{height}): there is nothing to push")]
    Empty {
        /// The path.
        path: String,
        /// Its width.
        width: u32,
        /// Its height.
        height: u32,
    },
    /// The image is larger than the limits.
    #[error("{path} is too large to push: {reason} (limit {max} pixels a side)")]
    TooLarge {
        /// The path.
        path: String,
        /// The decoder's message.
        reason: String,
        /// The limit.
        max: u32,
    },
}

/// Decodes an image file (JPEG, PNG, TIFF, EXR, ... whatever the `image`
/// crate reads, detected from the content), within `limits`.
pub fn load_image(
    path: &std::path::Path,
    limits: DecodeLimits,
) -> Result<image::DynamicImage, LoadError> {
    load_image_and_format(path, limits).map(|(image, _)| image)
}

/// As [`load_image`], also naming the file's format as detected from its
/// content (`None` if it has no name the `image` crate knows).
pub fn load_image_and_format(
    path: &std::path::Path,
    limits: DecodeLimits,
) -> Result<(image::DynamicImage, Option<image::ImageFormat>), LoadError> {
    let shown = path.display().to_string();
    let reader = image::ImageReader::open(path)
        .map_err(|source| LoadError::Open {
            path: shown.clone(),
            source,
        })?
        .with_guessed_format()
        .map_err(|source| LoadError::Open {
            path: shown.clone(),
            source,
        })?;
    let mut reader = reader;
    let mut decode_limits = image::Limits::default();
    decode_limits.max_image_width = Some(limits.max_dimension);
    decode_limits.max_image_height = Some(limits.max_dimension);
    decode_limits.max_alloc = Some(limits.max_alloc);
    reader.limits(decode_limits);
    let format = reader.format();
    let image = reader.decode().map_err(|err| match err {
        image::ImageError::Limits(reason) => LoadError::TooLarge {
            path: shown.clone(),
            reason: reason.to_string(),
            max: limits.max_dimension,
        },
        other => LoadError::Decode {
            path: shown.clone(),
            reason: other.to_string(),
        },
    })?;
    if image.width() == 0 || image.height() == 0 {
        return Err(LoadError::Empty {
            path: shown,
            width: image.width(),
            height: image.height(),
        });
    }
    Ok((image, format))
}

/// An image as RV wants its pixels (§7.3): RGBA interleaved, rows tightly
/// packed and bottom-up, samples of [`Depth`] in native byte order.
#[derive(Clone, PartialEq)]
pub struct Samples {
    width: u32,
    height: u32,
    depth: Depth,
    /// Shared, so full-width tiles go out as slices of it without a copy.
    data: bytes::Bytes,
}

impl std::fmt::Debug for Samples {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Samples({}x{} {:?}, {} bytes)",
            self.width,
            self.height,
            self.depth,
            self.data.len()
        )
    }
}

/// RGBA: rvshell always creates 4-channel sources.
pub const CHANNELS: usize = 4;

impl Samples {
    /// Converts a decoded image, once: to RGBA at `depth`, flipped bottom-up.
    pub fn from_image(image: &image::DynamicImage, depth: Depth) -> Self {
        let (width, height) = (image.width(), image.height());
        let mut data = match depth {
            Depth::U8 => image.to_rgba8().into_raw(),
            Depth::U16 => ne_bytes(image.to_rgba16().into_raw(), u16::to_ne_bytes),
            Depth::F32 => ne_bytes(image.to_rgba32f().into_raw(), f32::to_ne_bytes),
        };
        flip_rows(&mut data, width as usize * CHANNELS * depth.bytes());
        Self {
            width,
            height,
            depth,
            data: data.into(),
        }
    }

    /// Wraps bottom-up RGBA samples already in RV's layout; `None` when the
    /// length does not match the size.
    pub fn from_raw(width: u32, height: u32, depth: Depth, data: Vec<u8>) -> Option<Self> {
        let expected = width as usize * height as usize * CHANNELS * depth.bytes();
        (data.len() == expected).then(|| Self {
            width,
            height,
            depth,
            data: data.into(),
        })
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// Sample depth.
    pub fn depth(&self) -> Depth {
        self.depth
    }

    /// All samples, bottom row first.
    pub fn bytes(&self) -> &[u8] {
        &self.data
    }

    /// Bytes in one row.
    pub fn row_bytes(&self) -> usize {
        self.width as usize * CHANNELS * self.depth.bytes()
    }

    /// The payload of `tile` where it lies, without copying: its rows,
    /// bottom first; one run for a full-width tile. The tile must lie inside
    /// the image.
    pub fn tile_rows(&self, tile: Tile) -> Payload {
        let rows = self.rows_of(tile);
        if tile.x == 0 && tile.w == self.width {
            return Payload::Whole(rows.bytes.slice(rows.start..rows.start + rows.len()));
        }
        Payload::Rows(rows)
    }

    /// The stereo right eye of `tile` ([`invert_into`]), made from its rows
    /// as it is written: it never lies in memory whole.
    pub fn tile_inverse(&self, tile: Tile) -> Payload {
        Payload::Mapped {
            rows: self.rows_of(tile),
            map: inverter(self.depth),
        }
    }

    fn rows_of(&self, tile: Tile) -> Rows {
        let pixel = CHANNELS * self.depth.bytes();
        Rows {
            bytes: self.data.clone(),
            start: tile.y as usize * self.row_bytes() + tile.x as usize * pixel,
            row_len: tile.w as usize * pixel,
            stride: self.row_bytes(),
            rows: tile.h as usize,
        }
    }
}

fn ne_bytes<T: Copy, const N: usize>(samples: Vec<T>, to_bytes: fn(T) -> [u8; N]) -> Vec<u8> {
    let mut out = Vec::with_capacity(samples.len() * N);
    for sample in samples {
        out.extend_from_slice(&to_bytes(sample));
    }
    out
}

/// Reverses the order of rows in place (top-down <-> bottom-up).
fn flip_rows(data: &mut [u8], row: usize) {
    if row == 0 {
        return;
    }
    let rows = data.len() / row;
    for r in 0..rows / 2 {
        let (top, bottom) = data.split_at_mut((rows - 1 - r) * row);
        top[r * row..(r + 1) * row].swap_with_slice(&mut bottom[..row]);
    }
}

/// The stereo right eye: every sample inverted, alpha included, as rvshell
/// does (§7.5): `255 - v`, `65535 - v`, or `1.0 - v`. Written into `out`.
pub fn invert_into(depth: Depth, samples: &[u8], out: &mut Vec<u8>) {
    out.clear();
    out.resize(samples.len(), 0);
    inverter(depth)(samples, out);
}

/// The function that writes the inverse of whole samples of `depth` into
/// a slice of the same length (see [`invert_into`]).
pub fn inverter(depth: Depth) -> fn(&[u8], &mut [u8]) {
    match depth {
        Depth::U8 => |samples, out| {
            for (o, v) in out.iter_mut().zip(samples) {
                *o = 255 - v;
            }
        },
        Depth::U16 => |samples, out| {
            invert_samples(samples, out, |v: [u8; 2]| {
                (u16::MAX - u16::from_ne_bytes(v)).to_ne_bytes()
            })
        },
        Depth::F32 => |samples, out| {
            invert_samples(samples, out, |v: [u8; 4]| {
                (1.0 - f32::from_ne_bytes(v)).to_ne_bytes()
            })
        },
    }
}

/// Applies `invert` to each `N`-byte sample, in a loop the compiler
/// vectorises.
fn invert_samples<const N: usize>(
    samples: &[u8],
    out: &mut [u8],
    invert: impl Fn([u8; N]) -> [u8; N],
) {
    for (o, v) in out.chunks_exact_mut(N).zip(samples.chunks_exact(N)) {
        let v: [u8; N] = v.try_into().expect("chunks_exact gives N bytes");
        o.copy_from_slice(&invert(v));
    }
}

/// A tile's place in the image, in RV's coordinates (`y` from the bottom).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tile {
    /// Left edge.
    pub x: u32,
    /// Bottom edge.
    pub y: u32,
    /// Width.
    pub w: u32,
    /// Height.
    pub h: u32,
}

/// How to cut an image into tiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tiling {
    /// `nx` by `ny` tiles as rvshell cuts them: columns outer, rows inner;
    /// `W/nx` by `H/ny`, the last column and row taking the remainder (§7.5).
    Grid {
        /// Columns.
        nx: u32,
        /// Rows.
        ny: u32,
    },
    /// Buckets of `w` by `h` as a renderer sends them: the top row of buckets
    /// first, left to right; edge buckets clipped to the image.
    Buckets {
        /// Bucket width.
        w: u32,
        /// Bucket height.
        h: u32,
    },
}

/// Why a tiling does not fit an image.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TilingError {
    /// Zero tiles, or a zero-sized bucket.
    #[error("{0}: tile counts and sizes must be at least 1")]
    Zero(String),
    /// More tiles than pixels across or down.
    #[error("{tiling} is more tiles than pixels in a {width}x{height} image")]
    TooMany {
        /// The tiling asked for.
        tiling: String,
        /// Image width.
        width: u32,
        /// Image height.
        height: u32,
    },
    /// An empty image.
    #[error("the image is empty ({width}x{height})")]
    Empty {
        /// Image width.
        width: u32,
        /// Image height.
        height: u32,
    },
}

impl std::fmt::Display for Tiling {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Tiling::Grid { nx, ny } => write!(f, "{nx}x{ny} tiles"),
            Tiling::Buckets { w, h } => write!(f, "{w}x{h} buckets"),
        }
    }
}

impl Tiling {
    /// How many tiles a `width` x `height` image gets, or why it cannot be
    /// cut this way; without building the plan (a 16384x16384 grid would be
    /// a quarter-billion tiles).
    pub fn count(self, width: u32, height: u32) -> Result<usize, TilingError> {
        if width == 0 || height == 0 {
            return Err(TilingError::Empty { width, height });
        }
        match self {
            Tiling::Grid { nx, ny } | Tiling::Buckets { w: nx, h: ny } if nx == 0 || ny == 0 => {
                Err(TilingError::Zero(self.to_string()))
            }
            Tiling::Grid { nx, ny } if nx > width || ny > height => Err(TilingError::TooMany {
                tiling: self.to_string(),
                width,
                height,
            }),
            Tiling::Grid { nx, ny } => Ok(nx as usize * ny as usize),
            Tiling::Buckets { w, h } => {
                Ok(width.div_ceil(w) as usize * height.div_ceil(h) as usize)
            }
        }
    }

    /// The tiles of a `width` x `height` image, in sending order, each inside the image.
    pub fn plan(self, width: u32, height: u32) -> Result<Vec<Tile>, TilingError> {
        let count = self.count(width, height)?;
        match self {
            Tiling::Grid { nx, ny } => {
                let (tw, th) = (width / nx, height / ny);
                let mut tiles = Vec::with_capacity(count);
                for tx in 0..nx {
                    for ty in 0..ny {
                        let (x, y) = (tw * tx, th * ty);
                        let w = if tx == nx - 1 { width - x } else { tw };
                        let h = if ty == ny - 1 { height - y } else { th };
                        tiles.push(Tile { x, y, w, h });
                    }
                }
                Ok(tiles)
            }
            Tiling::Buckets { w: bw, h: bh } => {
                let mut tiles = Vec::with_capacity(count);
                let mut top = 0;
                while top < height {
                    let h = bh.min(height - top);
                    let y = height - top - h;
                    let mut x = 0;
                    while x < width {
                        let w = bw.min(width - x);
                        tiles.push(Tile { x, y, w, h });
                        x += w;
                    }
                    top += h;
                }
                Ok(tiles)
            }
        }
    }
}

/// rvshell's source-creation block (§7.5), byte for byte, for a 4-channel
/// source with views `left` and `right` at frame `frame`. `media` must have
/// passed [`check_media`].
pub fn source_creation_mu(
    media: &str,
    width: u32,
    height: u32,
    depth: Depth,
    frame: i64,
) -> String {
    format!(
        "{{ let s = newImageSource( \"{media}\", {width}, {height}, {width}, {height}, 0, 0, 1.0, 4, {bits}, {float}, {frame}, {frame}, 24.0, nil, string[] {{\"left\", \"right\"}} ); newImageSourcePixels( s, {frame}, nil, \"left\"); newImageSourcePixels( s, {frame}, nil, \"right\"); }}",
        bits = depth.bits(),
        float = depth.is_float(),
    )
}

/// Checks a media name: usable in a PIXELTILE header (§7.1) and inside a Mu
/// string literal (no `"` or `\\`).
pub fn check_media(media: &str) -> Result<(), HeaderError> {
    check_value("media", media)?;
    if media.contains(['"', '\\']) {
        return Err(HeaderError::BadValue {
            key: "media",
            value: media.to_owned(),
        });
    }
    Ok(())
}

/// A media name unique to this push: the file stem (characters RV would
/// mis-split replaced by `_`) and a time-and-random suffix.
pub fn unique_media_name(stem: &str) -> String {
    let clean: String = stem
        .chars()
        .take(64)
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let suffix: String = std::iter::repeat_with(fastrand::alphanumeric)
        .take(4)
        .collect();
    let stem = if clean.is_empty() {
        "image".to_owned()
    } else {
        clean
    };
    format!("{stem}-{millis}-{}", suffix.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_image_is_refused_with_its_name() {
        let dir = tempfile::tempdir().unwrap();
        let mut refused = 0;
        // Formats whose headers can say 0x0; a decoder that refuses them
        // itself is fine too, as long as nothing 0x0 gets through.
        for (name, bytes) in [
            ("empty.ppm", b"P6\n0 0\n255\n".to_vec()),
            ("empty.pgm", b"P5\n0 0\n255\n".to_vec()),
            ("empty.tga", {
                let mut tga = vec![0u8; 18];
                tga[2] = 2;
                tga[16] = 24;
                tga
            }),
        ] {
            let path = dir.path().join(name);
            std::fs::write(&path, bytes).unwrap();
            match load_image(&path, DecodeLimits::default()) {
                Ok(image) => panic!("{name}: {}x{} loaded", image.width(), image.height()),
                Err(err @ LoadError::Empty { .. }) => {
                    refused += 1;
                    let text = err.to_string();
                    assert!(text.contains(name) && text.contains("0x0"), "{text}");
                }
                Err(err) => assert!(err.to_string().contains(name), "{err}"),
            }
        }
        eprintln!("{refused} of 3 decoded as 0x0 and refused by the check");
    }

    proptest::proptest! {
        /// The count the Pixels tab shows is the number of tiles the push sends.
        #[test]
        fn count_is_the_plans_length(
            width in 0u32..300,
            height in 0u32..300,
            a in 0u32..320,
            b in 0u32..320,
            grid: bool,
        ) {
            let tiling = if grid {
                Tiling::Grid { nx: a, ny: b }
            } else {
                Tiling::Buckets { w: a, h: b }
            };
            match (tiling.count(width, height), tiling.plan(width, height)) {
                (Ok(n), Ok(tiles)) => proptest::prop_assert_eq!(n, tiles.len()),
                (Err(a), Err(b)) => proptest::prop_assert_eq!(a.to_string(), b.to_string()),
                (count, plan) => proptest::prop_assert!(false, "{:?} vs {:?}", count, plan.map(|t| t.len())),
            }
        }
    }

    #[test]
    fn header_golden_bytes_match_rvshell() {
        let tile = TileHeader {
            media: "2026-11-21-4:33:45:439".into(),
            view: Some("left".into()),
            layer: None,
            w: 4,
            h: 3,
            x: 0,
            y: 0,
            f: 1,
            event: None,
        };
        let header = tile.to_header().unwrap();
        assert_eq!(
            header,
            "PIXELTILE(media=2026-11-21-4:33:45:439,view=left,w=4,h=3,x=0,y=0,f=1)"
        );
        assert_eq!(TileHeader::parse(&header), Some(tile));
    }

    #[test]
    fn parse_follows_rvs_rules() {
        let tile = TileHeader::parse(
            "PIXELTILE(h=2,event=my-block,x=-3,junk,a=b=c,w=5x,layer=-,view=,media=m)",
        )
        .unwrap();
        assert_eq!(tile.media, "m");
        assert_eq!((tile.w, tile.h, tile.x, tile.y), (5, 2, -3, 0));
        assert_eq!(tile.f, 0, "f defaults to 0");
        assert_eq!(tile.layer, None);
        assert_eq!(tile.view, Some(String::new()));
        assert_eq!(tile.event.as_deref(), Some("my-block"));
        assert_eq!(TileHeader::parse("DATAEVENT(a,b,c)"), None);
        let empty = TileHeader::parse("PIXELTILE()").unwrap();
        assert_eq!((empty.media.as_str(), empty.w, empty.f), ("", 0, 0));
    }

    #[test]
    fn to_header_refuses_values_rv_would_split() {
        for media in ["", "a b", "a,b", "a(b", "a)b", "a=b"] {
            let tile = TileHeader {
                media: media.into(),
                view: None,
                layer: None,
                w: 1,
                h: 1,
                x: 0,
                y: 0,
                f: 1,
                event: None,
            };
            assert!(tile.to_header().is_err(), "{media:?}");
        }
    }

    #[test]
    fn depth_maps_bits_and_sources() {
        assert_eq!(Depth::from_bits(16).map(Depth::bytes), Some(2));
        assert_eq!(Depth::from_bits(12), None);
        assert_eq!(Depth::from_source(32, true), Some(Depth::F32));
        assert_eq!(Depth::from_source(16, true), None);
        assert!(Depth::F32.is_float() && !Depth::U16.is_float());
    }

    fn rgba(width: u32, height: u32, pixels: &[[u8; 4]]) -> image::DynamicImage {
        let raw: Vec<u8> = pixels.iter().flatten().copied().collect();
        image::DynamicImage::ImageRgba8(image::RgbaImage::from_raw(width, height, raw).unwrap())
    }

    #[test]
    fn samples_are_bottom_up_as_rvshell_sends_them() {
        // rv-protocol.md §12: a 4x3 red image, one green pixel at the right end of
        // its bottom row, goes out bottom row first.
        let red = [255, 0, 0, 255];
        let green = [0, 255, 0, 255];
        let mut pixels = vec![red; 12];
        pixels[11] = green;
        let samples = Samples::from_image(&rgba(4, 3, &pixels), Depth::U8);
        assert_eq!(
            &samples.bytes()[..16],
            &[
                255, 0, 0, 255, 255, 0, 0, 255, 255, 0, 0, 255, 0, 255, 0, 255
            ]
        );
        let mut right = Vec::new();
        invert_into(Depth::U8, &samples.bytes()[..4], &mut right);
        assert_eq!(right, [0, 255, 255, 0], "alpha inverted too");
    }

    #[test]
    fn deeper_samples_are_native_endian_and_invert_per_sample() {
        let img = rgba(1, 2, &[[0, 128, 255, 255], [10, 20, 30, 40]]);
        let s16 = Samples::from_image(&img, Depth::U16);
        assert_eq!(s16.row_bytes(), 8);
        // Bottom row first: the second source row.
        let first: Vec<u16> = s16.bytes()[..8]
            .chunks(2)
            .map(|c| u16::from_ne_bytes([c[0], c[1]]))
            .collect();
        assert_eq!(first, [10 * 257, 20 * 257, 30 * 257, 40 * 257]);
        let mut inv = Vec::new();
        invert_into(Depth::U16, &s16.bytes()[8..], &mut inv);
        let inv16: Vec<u16> = inv
            .chunks(2)
            .map(|c| u16::from_ne_bytes([c[0], c[1]]))
            .collect();
        assert_eq!(inv16, [65535, 65535 - 128 * 257, 0, 0]);
        let f = Samples::from_image(&img, Depth::F32);
        let top: Vec<f32> = f.bytes()[16..]
            .chunks(4)
            .map(|c| f32::from_ne_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        assert_eq!(top, [0.0, 128.0 / 255.0, 1.0, 1.0]);
        invert_into(Depth::F32, &f.bytes()[16..], &mut inv);
        let inv: Vec<f32> = inv
            .chunks(4)
            .map(|c| f32::from_ne_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        assert_eq!(inv, [1.0, 1.0 - 128.0 / 255.0, 0.0, 0.0]);
    }

    fn gathered(payload: &Payload) -> Vec<u8> {
        let mut out = vec![0; payload.len()];
        payload.copy_to(0, &mut out);
        out
    }

    #[test]
    fn tile_rows_are_the_right_rows_and_columns_without_a_copy() {
        let data: Vec<u8> = (0..5 * 3 * 4).map(|i| i as u8).collect();
        let samples = Samples::from_raw(5, 3, Depth::U8, data).unwrap();
        let part = samples.tile_rows(Tile {
            x: 3,
            y: 1,
            w: 2,
            h: 2,
        });
        // Rows 1 and 2 (20 bytes each), pixels 3..5 (bytes 12..20).
        let expected: Vec<u8> = [32..40, 52..60]
            .into_iter()
            .flatten()
            .map(|i| i as u8)
            .collect();
        assert_eq!(gathered(&part), expected);
        assert_eq!(part.len(), 16);
        assert!(matches!(
            part,
            Payload::Rows(Rows {
                rows: 2,
                row_len: 8,
                stride: 20,
                ..
            })
        ));
        assert!(Samples::from_raw(5, 3, Depth::U8, vec![0; 59]).is_none());
        // A full-width tile is one run: a slice of the samples.
        let full = samples.tile_rows(Tile {
            x: 0,
            y: 1,
            w: 5,
            h: 2,
        });
        let Payload::Whole(bytes) = &full else {
            panic!("not one run")
        };
        assert_eq!(bytes.as_ptr(), samples.bytes()[20..].as_ptr());
        assert_eq!(
            gathered(&full),
            (20..60).map(|i| i as u8).collect::<Vec<_>>()
        );
    }

    #[test]
    fn a_tiles_inverse_made_in_aligned_pieces_equals_inverting_its_rows() {
        use crate::rv::client::MAP_ALIGN;
        for depth in [Depth::U8, Depth::U16, Depth::F32] {
            let (width, height) = (37, 9);
            let len = width * height * CHANNELS * depth.bytes();
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 % 251) as u8).collect();
            let samples = Samples::from_raw(width as u32, height as u32, depth, bytes).unwrap();
            for tile in [
                Tile {
                    x: 5,
                    y: 2,
                    w: 21,
                    h: 6,
                },
                Tile {
                    x: 0,
                    y: 0,
                    w: 37,
                    h: 9,
                },
            ] {
                let mut expected = Vec::new();
                invert_into(depth, &gathered(&samples.tile_rows(tile)), &mut expected);
                let inverse = samples.tile_inverse(tile);
                assert_eq!(inverse.len(), expected.len());
                for piece in [MAP_ALIGN, 3 * MAP_ALIGN, 64 * MAP_ALIGN] {
                    let mut got = vec![0; inverse.len()];
                    for (i, out) in got.chunks_mut(piece).enumerate() {
                        inverse.copy_to(i * piece, out);
                    }
                    assert!(got == expected, "{depth:?} {tile:?} in pieces of {piece}");
                }
            }
        }
    }

    #[test]
    fn grid_plan_matches_rvshell_order_and_remainders() {
        let tiles = Tiling::Grid { nx: 3, ny: 2 }.plan(10, 5).unwrap();
        let expected = [
            Tile {
                x: 0,
                y: 0,
                w: 3,
                h: 2,
            },
            Tile {
                x: 0,
                y: 2,
                w: 3,
                h: 3,
            },
            Tile {
                x: 3,
                y: 0,
                w: 3,
                h: 2,
            },
            Tile {
                x: 3,
                y: 2,
                w: 3,
                h: 3,
            },
            Tile {
                x: 6,
                y: 0,
                w: 4,
                h: 2,
            },
            Tile {
                x: 6,
                y: 2,
                w: 4,
                h: 3,
            },
        ];
        assert_eq!(tiles, expected);
    }

    #[test]
    fn bucket_plan_goes_top_down_and_clips() {
        let tiles = Tiling::Buckets { w: 4, h: 4 }.plan(6, 5).unwrap();
        assert_eq!(
            tiles,
            [
                Tile {
                    x: 0,
                    y: 1,
                    w: 4,
                    h: 4
                },
                Tile {
                    x: 4,
                    y: 1,
                    w: 2,
                    h: 4
                },
                Tile {
                    x: 0,
                    y: 0,
                    w: 4,
                    h: 1
                },
                Tile {
                    x: 4,
                    y: 0,
                    w: 2,
                    h: 1
                },
            ]
        );
    }

    #[test]
    fn plans_cover_every_pixel_exactly_once() {
        for (w, h) in [(333, 201), (1, 1), (64, 7)] {
            for tiling in [
                Tiling::Grid { nx: 1, ny: 1 },
                Tiling::Grid {
                    nx: 1.max(w / 50),
                    ny: 1.max(h / 40),
                },
                Tiling::Buckets { w: 64, h: 64 },
                Tiling::Buckets { w: 1000, h: 3 },
            ] {
                let mut hits = vec![0u8; (w * h) as usize];
                for t in tiling.plan(w, h).unwrap() {
                    assert!(
                        t.w > 0 && t.h > 0 && t.x + t.w <= w && t.y + t.h <= h,
                        "{t:?}"
                    );
                    for y in t.y..t.y + t.h {
                        for x in t.x..t.x + t.w {
                            hits[(y * w + x) as usize] += 1;
                        }
                    }
                }
                assert!(hits.iter().all(|&n| n == 1), "{tiling} on {w}x{h}");
            }
        }
    }

    #[test]
    fn bad_tilings_are_refused_clearly() {
        assert_eq!(
            Tiling::Grid { nx: 0, ny: 2 }
                .plan(10, 10)
                .unwrap_err()
                .to_string(),
            "0x2 tiles: tile counts and sizes must be at least 1"
        );
        assert_eq!(
            Tiling::Grid { nx: 11, ny: 1 }
                .plan(10, 10)
                .unwrap_err()
                .to_string(),
            "11x1 tiles is more tiles than pixels in a 10x10 image"
        );
        assert!(Tiling::Buckets { w: 0, h: 8 }.plan(10, 10).is_err());
    }

    #[test]
    fn source_creation_block_is_rvshells_byte_for_byte() {
        let block = source_creation_mu("2026-11-21-4:33:45:439", 4, 3, Depth::U8, 1);
        let frame = format!(
            "MESSAGE {} RETURNEVENT remote-eval * {block}",
            "RETURNEVENT remote-eval * ".len() + block.len()
        );
        assert_eq!(
            frame,
            r#"MESSAGE 247 RETURNEVENT remote-eval * { let s = newImageSource( "2026-11-21-4:33:45:439", 4, 3, 4, 3, 0, 0, 1.0, 4, 8, false, 1, 1, 24.0, nil, string[] {"left", "right"} ); newImageSourcePixels( s, 1, nil, "left"); newImageSourcePixels( s, 1, nil, "right"); }"#
        );
        assert!(
            source_creation_mu("m", 2, 2, Depth::F32, 1).contains(", 4, 32, true, 1, 1, 24.0,")
        );
    }

    #[test]
    fn media_names_are_unique_and_safe() {
        let a = unique_media_name("my shot (v2)=final");
        let b = unique_media_name("my shot (v2)=final");
        assert_ne!(a, b);
        assert!(a.starts_with("my_shot__v2__final-"), "{a}");
        check_media(&a).unwrap();
        assert!(check_media("a\"b").is_err());
        assert!(check_media("a\\b").is_err());
    }

    #[test]
    fn loading_reports_missing_corrupt_and_oversized_files() {
        let dir = tempfile::tempdir().unwrap();
        let missing =
            load_image(&dir.path().join("nope.jpg"), DecodeLimits::default()).unwrap_err();
        assert!(
            missing.to_string().starts_with("cannot open image "),
            "{missing}"
        );
        let corrupt = dir.path().join("bad.jpg");
        std::fs::write(&corrupt, b"\xff\xd8\xff\xe0 this is not really a jpeg").unwrap();
        let err = load_image(&corrupt, DecodeLimits::default()).unwrap_err();
        assert!(err.to_string().contains("is not a readable image"), "{err}");
        let big = dir.path().join("big.png");
        rgba(40, 2, &vec![[1, 2, 3, 4]; 80]).save(&big).unwrap();
        let limits = DecodeLimits {
            max_dimension: 32,
            ..DecodeLimits::default()
        };
        let err = load_image(&big, limits).unwrap_err();
        assert!(matches!(err, LoadError::TooLarge { .. }), "{err}");
        assert_eq!(
            load_image(&big, DecodeLimits::default()).unwrap().width(),
            40
        );
    }
}
