//! Validation of a tile against a source (the rules listed in the
//! `canvas` module docs, rv-protocol.md §7.2) and the errors a refused tile
//! or allocation is reported with ([`CanvasError`]).

use super::{ImageId, Slot, Source};
use crate::rv::pixels::TileHeader;
use crate::sim::mu::SourceInfo;
use std::fmt;

/// An image edge, for [`CanvasError::OutOfBounds`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edge {
    /// `x < 0`.
    Left,
    /// `x + w > width`.
    Right,
    /// `y < 0` (y counts from the bottom, §7.3).
    Bottom,
    /// `y + h > height`.
    Top,
}

impl fmt::Display for Edge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Edge::Left => "left",
            Edge::Right => "right",
            Edge::Bottom => "bottom",
            Edge::Top => "top",
        })
    }
}

/// Why a tile (or a `newImageSourcePixels` allocation) was refused. Nothing
/// was written, but for a tile cut short ([`CanvasError::Truncated`]); RV
/// sends nothing back for a bad tile and neither does the simulator, which
/// logs the error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CanvasError {
    /// No source has this media name.
    #[error(
        "no image source has media {media:?}; create one with newImageSource before sending its tiles (tile dropped)"
    )]
    UnknownMedia {
        /// The tile's media.
        media: String,
    },
    /// The view is not declared by the source.
    #[error(
        "Bad view name: {view:?} for media {media:?}, which declares views {declared:?}; send one of those, or no view for the first (tile dropped)"
    )]
    BadView {
        /// The tile's media.
        media: String,
        /// The tile's view.
        view: String,
        /// The views the source declared.
        declared: Vec<String>,
    },
    /// The layer is not declared by the source.
    #[error(
        "Bad layer name: {layer:?} for media {media:?}, which declares layers {declared:?}; send one of those, or no layer for the first (tile dropped)"
    )]
    BadLayer {
        /// The tile's media.
        media: String,
        /// The tile's layer.
        layer: String,
        /// The layers the source declared.
        declared: Vec<String>,
    },
    /// The frame is outside the source's range.
    #[error(
        "frame {frame} is outside media {media:?}'s range {start}..={end}; RV would overwrite frame {clamped} instead (tile dropped)"
    )]
    FrameOutOfRange {
        /// The tile's media.
        media: String,
        /// The tile's frame (`f`, 0 when absent, §7.1).
        frame: i64,
        /// First frame of the source.
        start: i32,
        /// Last frame of the source.
        end: i32,
        /// The frame RV would have written.
        clamped: i32,
    },
    /// The tile has no pixels.
    #[error(
        "tile of {w}x{h} pixels for media {media:?} is empty; send w and h of at least 1 (tile dropped)"
    )]
    ZeroSize {
        /// The tile's media.
        media: String,
        /// Tile width.
        w: u32,
        /// Tile height.
        h: u32,
    },
    /// The payload is not `w*h*channels*bytesPerChannel` bytes.
    #[error(
        "Received pixels of size {got}. Expected {expected} (media {media:?}: {w}x{h} tile of {channels} channels, {bytes_per_channel} bytes each) (tile dropped)"
    )]
    SizeMismatch {
        /// The tile's media.
        media: String,
        /// Payload bytes received.
        got: u64,
        /// Payload bytes expected.
        expected: u128,
        /// Tile width.
        w: u32,
        /// Tile height.
        h: u32,
        /// The source's channel count.
        channels: u32,
        /// The source's bytes per sample.
        bytes_per_channel: u32,
    },
    /// The tile reaches outside the image.
    #[error(
        "tile {w}x{h} at x={x},y={y} crosses the {edge} edge of media {media:?} ({width}x{height}, y counted from the bottom); RV does no bounds check, so clip tiles to the image (tile dropped)"
    )]
    OutOfBounds {
        /// The tile's media.
        media: String,
        /// The first edge crossed (left, right, bottom, top in that order).
        edge: Edge,
        /// Tile left.
        x: i64,
        /// Tile bottom.
        y: i64,
        /// Tile width.
        w: u32,
        /// Tile height.
        h: u32,
        /// Image width.
        width: u32,
        /// Image height.
        height: u32,
    },
    /// The canvas memory budget would be exceeded.
    #[error(
        "pixel storage for media {media:?} needs {needed} more bytes but the simulator's canvas holds {used} of its {budget}-byte budget; restart the simulator or send smaller images"
    )]
    OutOfMemory {
        /// The media whose storage was needed.
        media: String,
        /// Bytes the new storage needs.
        needed: u64,
        /// Bytes in use.
        used: u64,
        /// The budget.
        budget: u64,
    },
    /// Another connection's tile is being received straight into the image
    /// (see the module docs). That lasts until the tile is in or its
    /// connection ends: a peer that stalls mid-tile with the heartbeat off
    /// keeps the image busy until it goes.
    #[error(
        "{image} is receiving a tile from another connection; send one image's tiles over one connection (tile dropped)"
    )]
    Busy {
        /// The image.
        image: ImageId,
    },
    /// The connection ended in the middle of a tile received straight into
    /// its image: the bytes that arrived were written, the rest of the tile
    /// is stale, and the tile's pixels count as not received.
    #[error(
        "connection closed after {got} of the {expected} bytes of a tile for {image}; its pixels must be sent again"
    )]
    Truncated {
        /// The image.
        image: ImageId,
        /// Payload bytes received.
        got: u64,
        /// Payload bytes expected.
        expected: u64,
    },
    /// `newImageSourcePixels` named a node the canvas does not know.
    #[error("no image source node {node:?}")]
    UnknownNode {
        /// The node name.
        node: String,
    },
}

/// RV's view rule: `None` is the first declared view (or none when none
/// are declared); a named view must be declared.
pub(super) fn resolve_view(
    info: &SourceInfo,
    view: Option<&str>,
) -> Result<Option<usize>, CanvasError> {
    match view {
        None => Ok((!info.views.is_empty()).then_some(0)),
        Some(v) => match info.views.iter().position(|d| d == v) {
            Some(i) => Ok(Some(i)),
            None => Err(CanvasError::BadView {
                media: info.media.clone(),
                view: v.into(),
                declared: info.views.clone(),
            }),
        },
    }
}

/// The same rule for layers.
pub(super) fn resolve_layer(
    info: &SourceInfo,
    layer: Option<&str>,
) -> Result<Option<usize>, CanvasError> {
    match layer {
        None => Ok((!info.layers.is_empty()).then_some(0)),
        Some(l) => match info.layers.iter().position(|d| d == l) {
            Some(i) => Ok(Some(i)),
            None => Err(CanvasError::BadLayer {
                media: info.media.clone(),
                layer: l.into(),
                declared: info.layers.clone(),
            }),
        },
    }
}

/// Checks one tile against one source (the rules of the module docs, in
/// order) and returns the image it goes to.
pub(super) fn validate(
    index: usize,
    source: &Source,
    tile: &TileHeader,
    len: usize,
) -> Result<Slot, CanvasError> {
    let info = &source.info;
    let media = || info.media.clone();
    let view = resolve_view(info, tile.view.as_deref())?;
    let layer = resolve_layer(info, tile.layer.as_deref())?;
    let frame = match i32::try_from(tile.f) {
        Ok(f) if (info.start_frame..=info.end_frame).contains(&f) => f,
        _ => {
            return Err(CanvasError::FrameOutOfRange {
                media: media(),
                frame: tile.f,
                start: info.start_frame,
                end: info.end_frame,
                clamped: tile
                    .f
                    .clamp(i64::from(info.start_frame), i64::from(info.end_frame))
                    as i32,
            });
        }
    };
    if tile.w == 0 || tile.h == 0 {
        return Err(CanvasError::ZeroSize {
            media: media(),
            w: tile.w,
            h: tile.h,
        });
    }
    let bytes = source.sample.bytes() as u32;
    let expected =
        u128::from(tile.w) * u128::from(tile.h) * u128::from(info.channels) * u128::from(bytes);
    if len as u128 != expected {
        return Err(CanvasError::SizeMismatch {
            media: media(),
            got: len as u64,
            expected,
            w: tile.w,
            h: tile.h,
            channels: info.channels,
            bytes_per_channel: bytes,
        });
    }
    let (x, y) = (i128::from(tile.x), i128::from(tile.y));
    let edge = if x < 0 {
        Some(Edge::Left)
    } else if x + i128::from(tile.w) > i128::from(info.width) {
        Some(Edge::Right)
    } else if y < 0 {
        Some(Edge::Bottom)
    } else if y + i128::from(tile.h) > i128::from(info.height) {
        Some(Edge::Top)
    } else {
        None
    };
    if let Some(edge) = edge {
        return Err(CanvasError::OutOfBounds {
            media: media(),
            edge,
            x: tile.x,
            y: tile.y,
            w: tile.w,
            h: tile.h,
            width: info.width,
            height: info.height,
        });
    }
    Ok(Slot {
        source: index,
        frame,
        view,
        layer,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::canvas::tests::{canvas_with, err, source, tile};

    #[test]
    fn rejects_unknown_media_undeclared_view_and_layer_with_exact_texts() {
        let mut info = source("M", 4, 3, 4, 8, false);
        info.layers = vec!["diffuse".into()];
        let mut c = canvas_with(&info);
        let px = [0u8; 4];
        assert_eq!(
            err(&mut c, &tile("N", Some("left"), 0, 0, 1, 1), &px),
            "no image source has media \"N\"; create one with newImageSource before sending its tiles (tile dropped)"
        );
        assert_eq!(
            err(&mut c, &tile("M", Some("centre"), 0, 0, 1, 1), &px),
            "Bad view name: \"centre\" for media \"M\", which declares views [\"left\", \"right\"]; send one of those, or no view for the first (tile dropped)"
        );
        let mut t = tile("M", Some("left"), 0, 0, 1, 1);
        t.layer = Some("spec".into());
        assert_eq!(
            err(&mut c, &t, &px),
            "Bad layer name: \"spec\" for media \"M\", which declares layers [\"diffuse\"]; send one of those, or no layer for the first (tile dropped)"
        );
        // A source without views refuses a named view.
        let mut plain = source("P", 2, 2, 1, 8, false);
        plain.node = "sourceGroup000001_source".into();
        plain.views.clear();
        c.add_source(&plain);
        assert_eq!(
            err(&mut c, &tile("P", Some("left"), 0, 0, 1, 1), &[0]),
            "Bad view name: \"left\" for media \"P\", which declares views []; send one of those, or no view for the first (tile dropped)"
        );
        assert!(c.insert(&tile("P", None, 0, 0, 1, 1), &[7]).is_ok());
        let stats = c.stats();
        assert_eq!((stats.tiles_accepted, stats.tiles_rejected), (1, 4));
        assert!(matches!(
            stats.last_error,
            Some(CanvasError::BadView { .. })
        ));
        assert!(
            c.image("M", 1, Some("left"), None).is_none(),
            "nothing allocated"
        );
    }

    #[test]
    fn rejects_wrong_size_zero_size_and_frames_out_of_range() {
        let mut info = source("M", 4, 3, 4, 8, false);
        info.end_frame = 5;
        info.start_frame = 2;
        let mut c = canvas_with(&info);
        let mut t = tile("M", Some("left"), 0, 0, 4, 3);
        t.f = 2;
        assert_eq!(
            err(&mut c, &t, &[0u8; 47]),
            "Received pixels of size 47. Expected 48 (media \"M\": 4x3 tile of 4 channels, 1 bytes each) (tile dropped)"
        );
        let mut zero = tile("M", Some("left"), 0, 0, 0, 3);
        zero.f = 2;
        assert_eq!(
            err(&mut c, &zero, &[0u8; 4]),
            "tile of 0x3 pixels for media \"M\" is empty; send w and h of at least 1 (tile dropped)"
        );
        zero.w = 2;
        zero.h = 0;
        assert!(matches!(
            c.insert(&zero, &[0u8; 4]),
            Err(CanvasError::ZeroSize { w: 2, h: 0, .. })
        ));
        for (f, clamped) in [(1, 2), (6, 5), (0, 2), (i64::MAX, 5)] {
            t.f = f;
            assert_eq!(
                err(&mut c, &t, &[0u8; 48]),
                format!(
                    "frame {f} is outside media \"M\"'s range 2..=5; RV would overwrite frame {clamped} instead (tile dropped)"
                )
            );
        }
        assert!(c.images().is_empty());
        assert_eq!(c.memory_used(), 0);
    }

    #[test]
    fn rejects_tiles_crossing_each_edge() {
        let mut c = canvas_with(&source("M", 4, 3, 1, 8, false));
        let text = |edge: &str, x: i64, y: i64, w: u32, h: u32| {
            format!(
                "tile {w}x{h} at x={x},y={y} crosses the {edge} edge of media \"M\" (4x3, y counted from the bottom); RV does no bounds check, so clip tiles to the image (tile dropped)"
            )
        };
        for (edge, x, y, w, h) in [
            ("left", -1, 0, 2, 2),
            ("right", 3, 0, 2, 2),
            ("bottom", 0, -1, 2, 2),
            ("top", 0, 2, 2, 2),
            ("right", i64::MAX, 0, 1, 1),
            ("top", 0, 0, 1, 4),
        ] {
            let payload = vec![1u8; (w * h) as usize];
            assert_eq!(
                err(&mut c, &tile("M", None, x, y, w, h), &payload),
                text(edge, x, y, w, h)
            );
        }
        assert!(c.images().is_empty());
        // Touching every edge from inside is fine.
        assert!(c.insert(&tile("M", None, 0, 0, 4, 3), &[1; 12]).is_ok());
    }
}
