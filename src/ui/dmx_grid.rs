//! The OLA-DMX tab's 512-slot grid, drawn from a [`DmxConsole`].
//!
//! ```text
//!  universe 1  priority 100  decimal  1-based  fade 2.0s  F3 fading 45%  stored F1 F3
//!       +0  +1  +2  +3  +4  +5  +6  +7
//!    1  255      12!                  64
//!    9      >128
//!  ...
//!  ch 10 = 128 (0x80, 50%)  olad 128  ! 1 slot differs
//! ```
//!
//! - One line per row: the row's first channel on the left (in the chosen
//!   numbering, and in hex in hex mode, as ola_dmxconsole does), then one
//!   4-column cell per slot. A zero shows as blank, as in ola_dmxconsole, so
//!   lit channels stand out.
//! - The row width is the widest of 32, 24, 16 or 8 slots that fits (fewer
//!   only when not even 8 fit). [`DmxGridState::columns`] reports it, for
//!   the console's up/down moves.
//! - The cursor cell is reversed and marked `>`; a value being typed shows
//!   there, underlined. A slot whose olad readback differs from ours gets a `!`
//!   in its cell's first column and a distinct colour, so it shows without
//!   colour too.
//! - A status line under the grid shows a failed send (red; the row of the
//!   failed change also gets an `x` after its channel number), else a
//!   refused input, else the typed value, else the cursor's slot.
//! - The grid scrolls so the cursor stays visible, keeping its position
//!   when it can. Any size renders without panicking; the header, the
//!   column ruler and the status line are dropped, in that order, when
//!   there is no room.

use crate::app::dmx_console::{DisplayMode, DmxConsole, Numbering, SCENES, SLOTS, to_percent};
pub use crate::app::dmx_grid_layout::DmxGridState;
use crate::app::dmx_grid_layout::{CELL, GUTTER, columns_for_width};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, StatefulWidget, Widget};
use std::fmt::Write as _;

/// The marker for a slot whose readback differs.
const DIFFERS_MARK: &str = "!";
/// The marker in the cursor cell's first column (unless it differs).
const CURSOR_MARK: &str = ">";
/// The marker after the channel number of a row with a failed send.
const FAILED_MARK: &str = "x";

/// Styles of the grid (a small theme; the defaults read without colour).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GridStyles {
    /// Header line.
    pub header: Style,
    /// Channel labels and the column ruler.
    pub label: Style,
    /// Ordinary values.
    pub value: Style,
    /// The cursor cell (patched over the others).
    pub cursor: Style,
    /// A value being typed at the cursor.
    pub entry: Style,
    /// Slots whose readback differs.
    pub differs: Style,
    /// A failed send.
    pub failure: Style,
    /// A refused input.
    pub refusal: Style,
    /// The status line otherwise.
    pub status: Style,
}

impl Default for GridStyles {
    fn default() -> Self {
        Self {
            header: Style::new().add_modifier(Modifier::BOLD),
            label: Style::new().fg(Color::DarkGray),
            value: Style::new(),
            cursor: Style::new().add_modifier(Modifier::REVERSED),
            entry: Style::new().add_modifier(Modifier::REVERSED | Modifier::UNDERLINED),
            differs: Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD),
            failure: Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
            refusal: Style::new().fg(Color::Yellow),
            status: Style::new(),
        }
    }
}

/// The 512-slot grid widget. Render it with a [`DmxGridState`] to keep the
/// scroll position between frames (or as a plain [`Widget`], which scrolls
/// just enough to show the cursor).
#[derive(Debug, Clone)]
pub struct DmxGrid<'a> {
    console: &'a DmxConsole,
    block: Option<Block<'a>>,
    styles: GridStyles,
}

impl<'a> DmxGrid<'a> {
    /// A grid over `console`.
    pub fn new(console: &'a DmxConsole) -> Self {
        Self {
            console,
            block: None,
            styles: GridStyles::default(),
        }
    }

    /// Draws the grid inside `block`.
    #[must_use]
    pub fn block(mut self, block: Block<'a>) -> Self {
        self.block = Some(block);
        self
    }
}

impl Widget for DmxGrid<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let mut state = DmxGridState::default();
        StatefulWidget::render(self, area, buf, &mut state);
    }
}

impl StatefulWidget for DmxGrid<'_> {
    type State = DmxGridState;

    fn render(self, area: Rect, buf: &mut Buffer, state: &mut DmxGridState) {
        let area = area.intersection(buf.area);
        let inner = match self.block {
            Some(block) => {
                let inner = block.inner(area);
                block.render(area, buf);
                inner
            }
            None => area,
        };
        let columns = columns_for_width(inner.width);
        state.columns = columns;
        if inner.is_empty() {
            state.grid = Rect::default();
            return;
        }
        let console = self.console;
        let styles = &self.styles;

        // Vertical budget: the grid first, then status, header, ruler.
        let h = inner.height;
        let status = h >= 2;
        let header = h >= 3;
        let ruler = h >= 4;
        let top = u16::from(header) + u16::from(ruler);
        let rows = SLOTS.div_ceil(columns);
        // The grid takes the rows it needs (at most 512, with one column, so
        // the cast is lossless); the status line follows it.
        let grid = Rect {
            x: inner.x,
            y: inner.y + top,
            width: inner.width,
            height: (h - top - u16::from(status)).min(rows as u16),
        };
        state.grid = grid;

        // Scroll: keep the previous first row unless the cursor left the view.
        let visible = usize::from(grid.height).max(1);
        let cursor_row = console.cursor() / columns;
        let mut first = state.first_row.min(rows.saturating_sub(visible));
        if cursor_row < first {
            first = cursor_row;
        } else if cursor_row >= first + visible {
            first = cursor_row + 1 - visible;
        }
        state.first_row = first;

        if header {
            render_header(console, styles, Rect { height: 1, ..inner }, buf);
        }
        if ruler {
            let y = inner.y + u16::from(header);
            render_ruler(
                console.mode(),
                columns,
                styles,
                Rect {
                    y,
                    height: 1,
                    ..inner
                },
                buf,
            );
        }
        render_rows(console, styles, columns, first, grid, buf);
        if status {
            let y = grid.bottom();
            render_status(
                console,
                styles,
                Rect {
                    y,
                    height: 1,
                    ..inner
                },
                buf,
            );
        }
    }
}

/// One-line header: universe, priority, mode, numbering, fade, scenes.
fn render_header(console: &DmxConsole, styles: &GridStyles, area: Rect, buf: &mut Buffer) {
    let mut text = String::with_capacity(96);
    let base = match console.numbering() {
        Numbering::OneBased => "1-based",
        Numbering::ZeroBased => "0-based",
    };
    let _ = write!(
        text,
        "universe {}  priority {}  {}  {}  fade {:.1}s",
        console.universe(),
        console.priority(),
        console.mode().label(),
        base,
        console.fade_time().as_secs_f64(),
    );
    let mut spans = vec![Span::styled(text, styles.header)];
    if let Some(fade) = console.fade() {
        // progress is 0.0..=1.0, so the percentage fits in u8.
        let percent = (fade.progress * 100.0).floor() as u8;
        spans.push(Span::styled(
            format!("  F{} fading {percent}%", fade.scene + 1),
            styles.differs,
        ));
    } else if let Some(scene) = console.last_scene() {
        spans.push(Span::styled(format!("  F{}", scene + 1), styles.header));
    }
    let stored: Vec<String> = (0..SCENES)
        .filter(|&scene| console.scene_stored(scene))
        .map(|scene| format!("F{}", scene + 1))
        .collect();
    if !stored.is_empty() {
        spans.push(Span::styled(
            format!("  stored {}", stored.join(" ")),
            styles.label,
        ));
    }
    buf.set_line(area.x, area.y, &Line::from(spans), area.width);
}

/// Column offsets above the cells: `+0 +1 ...` (hex in hex mode).
fn render_ruler(
    mode: DisplayMode,
    columns: usize,
    styles: &GridStyles,
    area: Rect,
    buf: &mut Buffer,
) {
    let mut text = String::with_capacity(usize::from(GUTTER) + columns * usize::from(CELL));
    text.push_str("    ");
    for column in 0..columns {
        let mut cell = [b' '; 4];
        let hex = mode == DisplayMode::Hex;
        let digits = if column >= if hex { 16 } else { 10 } {
            2
        } else {
            1
        };
        write_number(&mut cell, column, hex);
        cell[3 - digits] = b'+';
        text.push_str(ascii(&cell));
    }
    buf.set_stringn(area.x, area.y, &text, usize::from(area.width), styles.label);
}

/// The visible rows of slots.
fn render_rows(
    console: &DmxConsole,
    styles: &GridStyles,
    columns: usize,
    first: usize,
    grid: Rect,
    buf: &mut Buffer,
) {
    let mode = console.mode();
    let numbering = console.numbering();
    let failed_row = console
        .send_failure()
        .map(|f| f.slot.unwrap_or(console.cursor()) / columns);
    let right = grid.right();
    for (i, row) in (first..SLOTS.div_ceil(columns))
        .take(usize::from(grid.height))
        .enumerate()
    {
        // i < grid.height, a u16.
        let y = grid.y + i as u16;
        let row_start = row * columns;
        let label = numbering.label(row_start);
        let mut gutter = [b' '; 4];
        write_number(&mut gutter[..3], label, mode == DisplayMode::Hex);
        buf.set_stringn(
            grid.x,
            y,
            ascii(&gutter[..3]),
            usize::from(grid.width),
            styles.label,
        );
        if failed_row == Some(row) && grid.width > 3 {
            buf.set_stringn(grid.x + 3, y, FAILED_MARK, 1, styles.failure);
        }
        for column in 0..columns {
            let slot = row_start + column;
            if slot >= SLOTS {
                break;
            }
            // column < columns <= width / 4, so this fits in u16.
            let x = grid.x + GUTTER + column as u16 * CELL;
            if x >= right {
                break;
            }
            let room = usize::from(right - x);
            let differs = console.differs(slot);
            let mut style = if differs {
                styles.differs
            } else {
                styles.value
            };
            let mut cell = [b' '; 4];
            if differs {
                cell[0] = DIFFERS_MARK.as_bytes()[0];
            }
            if slot == console.cursor() {
                if let Some(entry) = console.entry() {
                    style = style.patch(styles.entry);
                    let typed = entry.as_bytes();
                    let n = typed.len().min(3);
                    cell[1..4].fill(b'_');
                    cell[4 - n..].copy_from_slice(&typed[..n]);
                } else {
                    style = style.patch(styles.cursor);
                    if !differs {
                        cell[0] = CURSOR_MARK.as_bytes()[0];
                    }
                    cell[1..].copy_from_slice(&value_text(mode, console.value(slot)));
                }
            } else {
                cell[1..].copy_from_slice(&value_text(mode, console.value(slot)));
            }
            buf.set_stringn(x, y, ascii(&cell), room.min(usize::from(CELL)), style);
        }
    }
}

/// The status line: a failed send, a refusal, the typed value, or the
/// cursor's slot.
fn render_status(console: &DmxConsole, styles: &GridStyles, area: Rect, buf: &mut Buffer) {
    let (text, style) = if let Some(failure) = console.send_failure() {
        let place = failure.slot.map_or_else(String::new, |slot| {
            format!(" (ch {})", channel_text(console, slot))
        });
        (
            format!(
                "x send failed{place}: {}; values kept, will re-send",
                failure.message
            ),
            styles.failure,
        )
    } else if let Some(refusal) = console.refusal() {
        (format!("refused: {refusal}"), styles.refusal)
    } else if let Some(entry) = console.entry() {
        (
            format!(
                "ch {} <- {entry} ({}): Enter sets, Esc cancels",
                channel_text(console, console.cursor()),
                console.mode().label()
            ),
            styles.status,
        )
    } else {
        let slot = console.cursor();
        let v = console.value(slot);
        let mut text = format!(
            "ch {} = {v} (0x{v:02x}, {}%)",
            channel_text(console, slot),
            to_percent(v)
        );
        if let Some(readback) = console.readback() {
            let theirs = readback.get(slot).copied().unwrap_or(0);
            let _ = write!(text, "  olad {theirs}");
            let n = console.differing();
            if n > 0 {
                let s = if n == 1 {
                    "slot differs"
                } else {
                    "slots differ"
                };
                let _ = write!(text, "  {DIFFERS_MARK} {n} {s}");
            }
        }
        (text, styles.status)
    };
    buf.set_stringn(area.x, area.y, &text, usize::from(area.width), style);
}

/// A slot's channel number for the status line: in hex mode in hex (as the
/// grid labels are) with the decimal number after it.
fn channel_text(console: &DmxConsole, slot: usize) -> String {
    let label = console.numbering().label(slot);
    if console.mode() == DisplayMode::Hex {
        format!("0x{label:x} ({label})")
    } else {
        label.to_string()
    }
}

/// A value as 3 right-aligned ASCII characters; 0 is blank.
fn value_text(mode: DisplayMode, value: u8) -> [u8; 3] {
    let mut out = [b' '; 3];
    if value == 0 {
        return out;
    }
    match mode {
        DisplayMode::Decimal => write_number(&mut out, usize::from(value), false),
        DisplayMode::Hex => {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out[1] = HEX[usize::from(value >> 4)];
            out[2] = HEX[usize::from(value & 0xf)];
        }
        DisplayMode::Percent => match to_percent(value) {
            100 => out[1..].copy_from_slice(b"FL"),
            p => write_number(&mut out, usize::from(p), false),
        },
    }
    out
}

/// Writes `n` right-aligned into `out` (decimal or lowercase hex), keeping
/// the lowest digits if it does not fit.
fn write_number(out: &mut [u8], mut n: usize, hex: bool) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let radix = if hex { 16 } else { 10 };
    for place in out.iter_mut().rev() {
        *place = DIGITS[n % radix];
        n /= radix;
        if n == 0 {
            break;
        }
    }
}

/// The cell texts are built from ASCII bytes only.
fn ascii(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::dmx_console::{DmxConsole, Numbering};
    use proptest::prelude::*;
    use std::time::{Duration, Instant};

    /// Renders `console` into a fresh buffer of `width` x `height`.
    fn render(console: &DmxConsole, width: u16, height: u16) -> (Buffer, DmxGridState) {
        let mut buf = Buffer::empty(Rect::new(0, 0, width, height));
        let mut state = DmxGridState::default();
        StatefulWidget::render(DmxGrid::new(console), buf.area, &mut buf, &mut state);
        (buf, state)
    }

    /// The buffer's text, one quoted line per row (trailing spaces kept).
    fn text(buf: &Buffer) -> String {
        let width = usize::from(buf.area.width);
        let mut out = String::new();
        for row in buf.content.chunks(width.max(1)) {
            out.push('"');
            for cell in row {
                out.push_str(cell.symbol());
            }
            out.push_str("\"\n");
        }
        out
    }

    /// A console with some values, the cursor on `cursor`, and olad's
    /// readback differing on slot 3 (and agreeing elsewhere).
    fn sample(cursor: usize) -> DmxConsole {
        let mut c = DmxConsole::new(1);
        c.toggle(); // slot 0 = 255
        c.set_cursor(2);
        for _ in 0..12 {
            c.increment(); // slot 2 = 12
        }
        c.set_cursor(9);
        for _ in 0..8 {
            c.page_up(); // slot 9 = 128
        }
        c.set_cursor(300);
        for _ in 0..4 {
            c.page_up(); // slot 300 = 64
        }
        let f = c.set_cursor(cursor);
        assert_eq!(f, None);
        let generation = c.generation();
        c.send_ok(generation);
        let mut readback = *c.values();
        readback[3] = 7;
        c.set_readback(&readback);
        c
    }

    #[test]
    fn small_layout_exact() {
        let c = sample(9);
        let (buf, state) = render(&c, 40, 6);
        let expected = Buffer::with_lines([
            "universe 1  priority 100  decimal  1-bas",
            "      +0  +1  +2  +3  +4  +5  +6  +7    ",
            "  1  255      12!                       ",
            "  9     >128                            ",
            " 17                                     ",
            "ch 10 = 128 (0x80, 50%)  olad 128  ! 1 s",
        ]);
        assert_eq!(text(&buf), text(&expected));
        assert_eq!(state.columns(), 8);
        assert_eq!(state.first_row(), 0);
        // The cursor cell (slot 9: row 1, column 1) is reversed; the
        // differing slot 3 has its own style; others are plain.
        let cursor = buf[(8, 3)].style();
        assert!(cursor.add_modifier.contains(Modifier::REVERSED));
        assert_eq!(buf[(4, 3)].style().add_modifier, Modifier::empty());
        assert_eq!(buf[(16, 2)].symbol(), "!");
        assert_eq!(buf[(16, 2)].style().fg, Some(Color::Yellow));
        assert_eq!(buf[(4, 2)].style().fg, Some(Color::Reset));
        assert_eq!(buf[(0, 2)].style().fg, Some(Color::DarkGray));
    }

    #[test]
    fn columns_follow_the_width() {
        assert_eq!(columns_for_width(0), 1);
        assert_eq!(columns_for_width(8), 1);
        assert_eq!(columns_for_width(20), 4);
        assert_eq!(columns_for_width(36), 8);
        assert_eq!(columns_for_width(60), 8);
        assert_eq!(columns_for_width(68), 16);
        assert_eq!(columns_for_width(100), 24);
        assert_eq!(columns_for_width(132), 32);
        assert_eq!(columns_for_width(200), 32);
        let c = sample(0);
        assert_eq!(render(&c, 100, 10).1.columns(), 24);
        assert_eq!(DmxGridState::default().columns(), 8);
    }

    #[test]
    fn the_grid_scrolls_to_the_cursor_and_keeps_its_place() {
        let mut c = sample(300);
        let mut buf = Buffer::empty(Rect::new(0, 0, 40, 8)); // 8 columns, 5 grid rows
        let mut state = DmxGridState::default();
        StatefulWidget::render(DmxGrid::new(&c), buf.area, &mut buf, &mut state);
        // Row 37 (slots 296..304) is the last visible row, at y = 6.
        assert_eq!(state.first_row(), 33);
        assert_eq!(text(&buf).lines().nth(6).map(|l| &l[..4]), Some("\"297"));
        assert_eq!(state.slot_at(4 + 4 * 4, 6), Some(300));
        c.move_up(8);
        StatefulWidget::render(DmxGrid::new(&c), buf.area, &mut buf, &mut state);
        assert_eq!(state.first_row(), 33, "still visible: no scroll");
        c.home();
        StatefulWidget::render(DmxGrid::new(&c), buf.area, &mut buf, &mut state);
        assert_eq!(state.first_row(), 0);
        assert_eq!(state.slot_at(0, 3), None, "the gutter is not a slot");
        assert_eq!(state.slot_at(4, 2), Some(0));
        c.end();
        StatefulWidget::render(DmxGrid::new(&c), buf.area, &mut buf, &mut state);
        assert_eq!(state.first_row(), 59);
        assert_eq!(state.slot_at(4 + 7 * 4, 6), Some(511));
        assert_eq!(state.slot_at(4, 7), None, "the status line is not a slot");
    }

    #[test]
    fn typed_value_refusal_and_failure_show() {
        let mut c = sample(9);
        c.type_char('4').unwrap();
        let (buf, _) = render(&c, 40, 6);
        assert_eq!(
            text(&buf).lines().nth(3),
            Some(format!("\"{:<40}\"", "  9      __4").as_str())
        );
        assert!(
            buf[(10, 3)]
                .style()
                .add_modifier
                .contains(Modifier::UNDERLINED)
        );
        assert!(text(&buf).contains("ch 10 <- 4 (decimal): Enter sets, Esc"));
        c.type_char('0').unwrap();
        c.type_char('0').unwrap_err();
        let (buf, _) = render(&c, 60, 6);
        assert!(
            text(&buf).contains("refused: 400 is out of range: decimal values are 0..=255"),
            "{}",
            text(&buf)
        );
        c.backspace();
        let f = c.commit_entry().expect("sent");
        c.send_failed(f.generation, "Universe doesn't exist");
        let (buf, _) = render(&c, 80, 6);
        let shown = text(&buf);
        assert!(
            shown.contains("x send failed (ch 10): Universe doesn't exist; values kept"),
            "{shown}"
        );
        let (buf, _) = render(&c, 40, 6);
        assert_eq!(buf[(3, 3)].symbol(), "x", "the failed row is marked");
        assert_eq!(buf[(3, 3)].style().fg, Some(Color::Red));
        assert_eq!(buf[(3, 2)].symbol(), " ");
    }

    #[test]
    fn modes_and_numbering_change_the_text() {
        let mut c = sample(0);
        c.set_mode(DisplayMode::Hex);
        c.toggle_numbering();
        let (buf, _) = render(&c, 40, 6);
        let lines: Vec<String> = text(&buf).lines().map(str::to_owned).collect();
        assert_eq!(lines[1], "\"      +0  +1  +2  +3  +4  +5  +6  +7    \"");
        assert_eq!(lines[2], "\"  0 > ff      0c!                       \"");
        assert_eq!(lines[3], "\"  8       80                            \"");
        c.set_mode(DisplayMode::Percent);
        c.toggle_numbering();
        assert_eq!(c.numbering(), Numbering::OneBased);
        let (buf, _) = render(&c, 40, 6);
        let lines: Vec<String> = text(&buf).lines().map(str::to_owned).collect();
        assert_eq!(lines[2], "\"  1 > FL       5!                       \"");
        assert_eq!(lines[3], "\"  9       50                            \"");
    }

    #[test]
    fn hex_labels_in_hex_mode() {
        let mut c = sample(511);
        c.set_mode(DisplayMode::Hex);
        let (buf, _) = render(&c, 36, 4);
        // 8 columns, 2 grid rows at the bottom of the universe; 1-based hex.
        assert_eq!(
            text(&buf).lines().nth(2),
            Some(format!("\"{:<36}\"", format!("{:<32}>", "1f9")).as_str())
        );
    }

    #[test]
    fn fade_progress_shows_in_the_header() {
        let mut c = sample(0);
        let t0 = Instant::now();
        c.store_scene(2).unwrap();
        c.blackout();
        c.set_fade_time(Duration::from_secs(2)).unwrap();
        c.recall_scene(2, t0).unwrap();
        c.tick(t0 + Duration::from_millis(900));
        let (buf, _) = render(&c, 80, 6);
        assert!(
            text(&buf).contains("fade 2.0s  F3 fading 45%  stored F3"),
            "{}",
            text(&buf)
        );
        c.store_scene(11).unwrap();
        c.tick(t0 + Duration::from_secs(2));
        let (buf, _) = render(&c, 80, 6);
        assert!(
            text(&buf).contains("fade 2.0s  F3  stored F3 F12"),
            "{}",
            text(&buf)
        );
    }

    #[test]
    fn tiny_sizes_render_what_fits() {
        let c = sample(0);
        for (w, h) in [(0, 0), (1, 1), (0, 5), (5, 0), (3, 1), (7, 2), (4, 3)] {
            let (buf, state) = render(&c, w, h);
            assert_eq!(buf.area.area(), u32::from(w) * u32::from(h));
            assert!(state.columns() >= 1);
        }
        let (buf, _) = render(&c, 8, 1);
        assert_eq!(text(&buf), "\"  1 >255\"\n");
        let (buf, _) = render(&c, 12, 2);
        assert_eq!(text(&buf), "\"  1 >255    \"\n\"ch 1 = 255 (\"\n");
    }

    #[test]
    fn a_block_draws_around_the_grid() {
        let c = sample(0);
        let mut buf = Buffer::empty(Rect::new(0, 0, 42, 8));
        let mut state = DmxGridState::default();
        StatefulWidget::render(
            DmxGrid::new(&c).block(Block::bordered().title("DMX")),
            buf.area,
            &mut buf,
            &mut state,
        );
        assert_eq!(buf[(0, 0)].symbol(), "┌");
        assert_eq!(buf[(1, 3)].symbol(), " ");
        assert_eq!(buf[(6, 3)].symbol(), "2", "slot 0 is inside the border");
        assert_eq!(state.columns(), 8);
        assert_eq!(state.slot_at(6, 3), Some(0));
        assert_eq!(state.slot_at(0, 3), None);
    }

    #[test]
    fn rendering_into_a_sub_area_stays_inside_it() {
        let c = sample(0);
        let mut buf = Buffer::empty(Rect::new(0, 0, 50, 10));
        Widget::render(DmxGrid::new(&c), Rect::new(5, 2, 40, 6), &mut buf);
        for y in 0..10u16 {
            for x in 0..50u16 {
                let inside = (5..45).contains(&x) && (2..8).contains(&y);
                if !inside {
                    assert_eq!(buf[(x, y)].symbol(), " ", "({x}, {y}) drawn outside");
                }
            }
        }
        // An area past the buffer's edge is clipped, not a panic.
        Widget::render(DmxGrid::new(&c), Rect::new(45, 8, 40, 6), &mut buf);
    }

    /// The sample, with olad's readback also differing on slot 302, next
    /// to the cursor on 300, so both show at 60x20.
    fn snapshot_console(mode: DisplayMode) -> DmxConsole {
        let mut c = sample(300);
        let mut readback = c.readback().map(<[u8]>::to_vec).unwrap_or_default();
        readback[302] = 200;
        c.set_readback(&readback);
        c.set_mode(mode);
        c
    }

    #[test]
    fn snapshots_200x60() {
        for mode in [DisplayMode::Decimal, DisplayMode::Hex, DisplayMode::Percent] {
            let c = snapshot_console(mode);
            let (buf, _) = render(&c, 200, 60);
            insta::assert_snapshot!(format!("grid_200x60_{}", mode_name(mode)), text(&buf));
        }
    }

    #[test]
    fn snapshots_60x20() {
        for mode in [DisplayMode::Decimal, DisplayMode::Hex, DisplayMode::Percent] {
            let c = snapshot_console(mode);
            let (buf, _) = render(&c, 60, 20);
            insta::assert_snapshot!(format!("grid_60x20_{}", mode_name(mode)), text(&buf));
        }
    }

    fn mode_name(mode: DisplayMode) -> &'static str {
        match mode {
            DisplayMode::Decimal => "decimal",
            DisplayMode::Hex => "hex",
            DisplayMode::Percent => "percent",
        }
    }

    proptest! {
        #[test]
        fn any_size_renders_without_panic_and_shows_the_cursor(
            width in 0u16..260,
            height in 0u16..80,
            cursor in 0usize..512,
            mode in 0u8..3,
            typing in any::<bool>(),
        ) {
            let mut c = sample(cursor);
            c.set_mode(match mode {
                0 => DisplayMode::Decimal,
                1 => DisplayMode::Hex,
                _ => DisplayMode::Percent,
            });
            if typing {
                c.type_char('1').unwrap();
            }
            let (buf, state) = render(&c, width, height);
            prop_assert!(state.columns() >= 1);
            let columns = state.columns();
            let grid = state.grid;
            let cursor_row = cursor / columns;
            if grid.height > 0 {
                prop_assert!(state.first_row() <= cursor_row);
                prop_assert!(cursor_row < state.first_row() + usize::from(grid.height));
                // The cursor cell is drawn reversed when it fits on screen.
                let x = grid.x + GUTTER + (cursor % columns) as u16 * CELL + 1;
                if x < grid.right() {
                    let y = grid.y + (cursor_row - state.first_row()) as u16;
                    prop_assert!(buf[(x, y)].style().add_modifier.contains(Modifier::REVERSED));
                    prop_assert_eq!(state.slot_at(x, y), Some(cursor));
                }
            }
        }
    }
}
