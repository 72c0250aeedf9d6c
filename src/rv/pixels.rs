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

#[cfg(test)]
mod tests {
    use super::*;

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
}
