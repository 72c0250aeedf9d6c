//! Render time of the DMX console grid at 200x60, next to a plain
//! `Paragraph` of the same text rendered in the same run (the floor for
//! putting that many characters into a ratatui buffer).
//!
//! Two paths for each: the widget alone into a reset `Buffer`, and a whole
//! `Terminal::draw` on a `TestBackend` (widget, buffer diff and the backend
//! write; no real terminal I/O). Each frame changes one slot value and moves
//! the cursor, so nothing is cached between frames. The target is
//! under 2 ms per frame.
//!
//! Run: `cargo bench --bench dmx_grid` (add `-- --quick` for fewer frames).

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Text};
use ratatui::widgets::{Paragraph, StatefulWidget, Widget};
use rvshell::app::dmx_console::{DisplayMode, DmxConsole, SLOTS};
use rvshell::ui::dmx_grid::{DmxGrid, DmxGridState};
use std::hint::black_box;
use std::time::{Duration, Instant};

mod common;
use common::{Stats, stats};

const W: u16 = 200;
const H: u16 = 60;

/// A console with every slot lit (so every cell has text), a readback that
/// differs on every 7th slot, and a value being shown in `mode`.
fn console(mode: DisplayMode) -> DmxConsole {
    let mut c = DmxConsole::new(1);
    let mut values = [0u8; SLOTS];
    for (i, v) in values.iter_mut().enumerate() {
        *v = (i * 37 % 255 + 1) as u8;
    }
    c.load(&values);
    let mut readback = values;
    for v in readback.iter_mut().step_by(7) {
        *v = v.wrapping_add(1);
    }
    c.set_readback(&readback);
    c.set_mode(mode);
    c.set_cursor(300);
    c
}

/// One frame's change: a value and the cursor move.
fn step(c: &mut DmxConsole, i: usize) {
    if let Some(f) = c.increment() {
        c.send_ok(f.generation);
    }
    c.set_cursor(i * 13 % SLOTS);
}

/// The grid's text as lines, for the Paragraph baseline.
fn grid_text(c: &DmxConsole) -> Vec<String> {
    let mut buf = Buffer::empty(Rect::new(0, 0, W, H));
    Widget::render(DmxGrid::new(c), buf.area, &mut buf);
    buf.content
        .chunks(usize::from(W))
        .map(|row| row.iter().map(|cell| cell.symbol()).collect())
        .collect()
}

fn measure(frames: usize, mut frame: impl FnMut(usize)) -> Stats {
    for i in 0..frames / 10 {
        frame(i); // warm-up
    }
    let mut samples = Vec::with_capacity(frames);
    for i in 0..frames {
        let t = Instant::now();
        frame(i);
        samples.push(t.elapsed());
    }
    stats(samples)
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn row(name: &str, grid: &Stats, para: &Stats) {
    println!(
        "{name:<40} {:>10.1} {:>10.1} {:>12.1} {:>12.1} {:>7.2}x",
        us(grid.median),
        us(grid.p99),
        us(para.median),
        us(para.p99),
        grid.median.as_secs_f64() / para.median.as_secs_f64(),
    );
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let frames = if quick { 500 } else { 5000 };
    println!("rvshell DMX grid render benchmark: {W}x{H}, {frames} frames per row (µs)\n");
    println!(
        "{:<40} {:>10} {:>10} {:>12} {:>12} {:>8}",
        "case", "grid med", "grid p99", "para med", "para p99", "ratio"
    );
    let area = Rect::new(0, 0, W, H);
    for mode in [DisplayMode::Decimal, DisplayMode::Hex, DisplayMode::Percent] {
        let mut c = console(mode);
        let lines = grid_text(&c);

        // Widget alone into a reset buffer.
        let mut buf = Buffer::empty(area);
        let mut state = DmxGridState::default();
        let grid = measure(frames, |i| {
            step(&mut c, i);
            buf.reset();
            StatefulWidget::render(DmxGrid::new(&c), area, &mut buf, &mut state);
            black_box(&buf);
        });
        let para = measure(frames, |_| {
            buf.reset();
            let text = Text::from(
                lines
                    .iter()
                    .map(|l| Line::raw(l.as_str()))
                    .collect::<Vec<_>>(),
            );
            Paragraph::new(text).render(area, &mut buf);
            black_box(&buf);
        });
        row(&format!("{mode:?}: widget into Buffer"), &grid, &para);

        // A whole Terminal::draw on a TestBackend.
        let mut term = Terminal::new(TestBackend::new(W, H)).expect("test backend");
        let grid = measure(frames, |i| {
            step(&mut c, i);
            term.draw(|f| f.render_stateful_widget(DmxGrid::new(&c), f.area(), &mut state))
                .expect("draw");
        });
        let mut term = Terminal::new(TestBackend::new(W, H)).expect("test backend");
        let mut flip = false;
        let para = measure(frames, |_| {
            // Alternate two texts so the diff has work, as the grid's has.
            flip = !flip;
            let skip = usize::from(flip);
            term.draw(|f| {
                let text = Text::from(
                    lines
                        .iter()
                        .skip(skip)
                        .map(|l| Line::raw(l.as_str()))
                        .collect::<Vec<_>>(),
                );
                f.render_widget(Paragraph::new(text), f.area());
            })
            .expect("draw");
        });
        row(
            &format!("{mode:?}: Terminal::draw (TestBackend)"),
            &grid,
            &para,
        );
    }
    println!("\ntarget: under 2000 µs per frame (issue 5)");
}
