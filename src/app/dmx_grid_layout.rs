//! Where the OLA-DMX grid's slots are on screen: the row width for a given
//! width and the scroll position and place of the last drawing, for the
//! console's up/down moves and for mouse clicks. The grid widget
//! ([`crate::ui::dmx_grid`]) fills it in as it draws.

use crate::app::dmx_console::SLOTS;
use ratatui::layout::Rect;

/// Row widths tried, widest first.
const WIDTHS: [usize; 4] = [32, 24, 16, 8];
/// Columns of one slot cell: a marker and a 3-character value.
pub const CELL: u16 = 4;
/// Columns of the channel label gutter: 3 digits and a separator.
pub const GUTTER: u16 = 4;

/// Scroll position and layout of the last render (for up/down and mouse
/// hit-testing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DmxGridState {
    pub(crate) first_row: usize,
    pub(crate) columns: usize,
    pub(crate) grid: Rect,
}

impl DmxGridState {
    /// Slots per row chosen at the last render (8 before the first render).
    /// Pass it to [`crate::app::dmx_console::DmxConsole::move_up`] and
    /// [`crate::app::dmx_console::DmxConsole::move_down`].
    pub fn columns(&self) -> usize {
        if self.columns == 0 { 8 } else { self.columns }
    }

    /// The first row shown.
    pub fn first_row(&self) -> usize {
        self.first_row
    }

    /// The slot drawn at terminal cell (`x`, `y`), if any (for mouse clicks).
    pub fn slot_at(&self, x: u16, y: u16) -> Option<usize> {
        let g = self.grid;
        if y < g.y || y >= g.bottom() || x < g.x + GUTTER || x >= g.right() {
            return None;
        }
        let column = usize::from((x - g.x - GUTTER) / CELL);
        if column >= self.columns {
            return None;
        }
        let slot = (self.first_row + usize::from(y - g.y)) * self.columns + column;
        (slot < SLOTS).then_some(slot)
    }
}

/// Slots per row for a grid `width` columns wide (including the gutter):
/// the widest of 32, 24, 16, 8 that fits, or as many as fit (at least 1).
pub fn columns_for_width(width: u16) -> usize {
    let fit = usize::from(width.saturating_sub(GUTTER) / CELL);
    WIDTHS
        .iter()
        .copied()
        .find(|&w| w <= fit)
        .unwrap_or_else(|| fit.max(1))
}
