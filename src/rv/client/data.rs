//! Data frames (`PIXELTILE(...)`, `DATAEVENT(...)`) and where their payload
//! lies, for [`RvClient::queue_data`](super::RvClient::queue_data): written
//! from memory, or made row by row as it goes out (rv-protocol.md §7).

use super::*;

/// A data frame (`PIXELTILE(...)`, `DATAEVENT(...)`) for
/// [`RvClient::queue_data`]: its payload is written from where it lies.
#[derive(Debug, Clone)]
pub struct DataFrame {
    /// The header, e.g. `PIXELTILE(media=m,view=left,w=4,h=3,x=0,y=0,f=1)`.
    pub header: String,
    /// The payload.
    pub payload: Payload,
}

/// Where a data frame's payload lies.
#[derive(Debug, Clone)]
pub enum Payload {
    /// One run of bytes.
    Whole(Bytes),
    /// Runs inside a bigger buffer (a tile's rows inside a whole image),
    /// written as slices of a vectored write; rows of less than 4 KiB are
    /// gathered a piece at a time, as for `Mapped`, since the kernel's cost
    /// per slice is then more than the copy.
    Rows(Rows),
    /// The bytes of `rows` passed through `map` as they are written (a
    /// stereo eye's inverse): made a piece at a time into a small buffer
    /// that the kernel copies from while it is still in cache, so they never
    /// lie in memory whole. `map` gets a piece of a run and writes the same
    /// number of bytes. Pieces begin and end only at run boundaries and at
    /// multiples of [`MAP_ALIGN`] bytes into the payload, so with runs a
    /// whole number of samples long, no sample of up to [`MAP_ALIGN`] bytes
    /// is ever split.
    Mapped {
        /// The bytes to map.
        rows: Rows,
        /// The mapping, from a piece of a run to the bytes to send for it.
        map: fn(&[u8], &mut [u8]),
    },
}

/// A [`Payload::Mapped`] is cut into pieces only at multiples of this many
/// bytes (and at run boundaries).
pub const MAP_ALIGN: usize = 64;

/// `rows` runs of `row_len` bytes, `stride` bytes apart, the first at
/// `start` in `bytes`.
#[derive(Debug, Clone)]
pub struct Rows {
    /// The buffer the rows lie in.
    pub bytes: Bytes,
    /// Offset of the first row.
    pub start: usize,
    /// Bytes per row.
    pub row_len: usize,
    /// Distance from one row's start to the next.
    pub stride: usize,
    /// Number of rows.
    pub rows: usize,
}

impl Rows {
    /// Bytes in all the rows.
    pub fn len(&self) -> usize {
        self.row_len * self.rows
    }

    /// Whether there are no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the rows lie inside `bytes`, none overlapping the next.
    pub fn fits(&self) -> bool {
        crate::rv::reader::rows_fit(
            self.start,
            self.row_len,
            self.stride,
            self.rows,
            self.bytes.len(),
        )
    }

    /// The rows, in order.
    pub fn runs(&self) -> impl Iterator<Item = &[u8]> {
        (0..self.rows).map(move |r| &self.bytes[self.start + r * self.stride..][..self.row_len])
    }

    /// Writes `map` of the bytes `offset..offset + out.len()` into `out`,
    /// a piece of a run at a time.
    pub(super) fn map_to(&self, offset: usize, out: &mut [u8], map: impl Fn(&[u8], &mut [u8])) {
        let (first, skip) = match self.row_len {
            0 => return,
            len => (offset / len, offset % len),
        };
        let mut out = out;
        for r in first..self.rows {
            if out.is_empty() {
                break;
            }
            let skip = if r == first { skip } else { 0 };
            let run = &self.bytes[self.start + r * self.stride + skip..][..self.row_len - skip];
            let n = run.len().min(out.len());
            let (piece, rest) = out.split_at_mut(n);
            map(&run[..n], piece);
            out = rest;
        }
    }
}

impl Payload {
    /// Payload bytes.
    pub fn len(&self) -> usize {
        match self {
            Payload::Whole(bytes) => bytes.len(),
            Payload::Rows(rows) | Payload::Mapped { rows, .. } => rows.len(),
        }
    }

    /// Whether there are no payload bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Writes payload bytes `offset..offset + out.len()` into `out`: copied,
    /// or mapped. For a [`Payload::Mapped`], `offset` and `out.len()` must
    /// keep its pieces aligned (multiples of [`MAP_ALIGN`], or up to the end).
    pub fn copy_to(&self, offset: usize, out: &mut [u8]) {
        match self {
            Payload::Whole(bytes) => out.copy_from_slice(&bytes[offset..offset + out.len()]),
            Payload::Rows(rows) => rows.map_to(offset, out, |run, out| out.copy_from_slice(run)),
            Payload::Mapped { rows, map } => rows.map_to(offset, out, map),
        }
    }
}
