//! Drawing: `draw(&App, &mut Frame)` and one module per part of the screen.
//! Reads the app only; the geometry comes from [`crate::app::layout`], the
//! same rectangles the app hit-tests clicks against.

mod bigdigits;
/// The big digits the Playback tab draws (three rows), for tests that read the screen.
pub use bigdigits::render as big_digits;
pub mod dmx_grid;
mod dmx_tab;
mod feedback;
mod field;
mod help;
mod pixels;
mod playback;
mod raw_event;
mod status;
mod theme;
mod wrap;

use crate::app::layout::{self, Areas};
use crate::app::{App, Tab};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

/// Draws the whole screen.
pub fn draw(app: &App, frame: &mut Frame) {
    let area = frame.area();
    let areas = layout::areas(area, app.tab, app.contacts.len());
    if areas.too_small {
        too_small(frame, area);
        return;
    }
    tab_bar(app, frame, &areas);
    match app.tab {
        Tab::Playback => playback::draw(app, frame, &areas),
        Tab::RawEvent => raw_event::draw(app, frame, &areas),
        Tab::Pixels => pixels::draw(app, frame, &areas),
        Tab::Dmx => dmx_tab::draw(app, frame, &areas),
    }
    feedback::draw(app, frame, areas.feedback);
    if let Some(rect) = areas.contacts {
        status::contacts(app, frame, rect);
    }
    status::draw(app, frame, areas.status);
    if app.help {
        help::draw(app, frame, area);
    }
}

fn too_small(frame: &mut Frame, area: Rect) {
    let text = format!(
        "terminal too small: {}x{}, rvshell needs {}x{}",
        area.width,
        area.height,
        layout::MIN_WIDTH,
        layout::MIN_HEIGHT
    );
    frame.render_widget(
        Paragraph::new(text)
            .style(theme::ERROR)
            .wrap(Wrap { trim: true }),
        area,
    );
}

fn tab_bar(app: &App, frame: &mut Frame, areas: &Areas) {
    let buf = frame.buffer_mut();
    for (tab, rect) in &areas.tabs {
        let style = if *tab == app.tab {
            theme::TAB_ACTIVE
        } else {
            theme::TAB
        };
        buf.set_line(
            rect.x,
            rect.y,
            &Line::from(Span::styled(layout::tab_title(*tab), style)),
            rect.width,
        );
    }
    if let Some((_, last)) = areas.tabs.last() {
        let x = last.right() + 1;
        if x < areas.tab_bar.right() {
            let note = Span::styled(" rvshell", theme::DIM);
            buf.set_line(
                x,
                areas.tab_bar.y,
                &Line::from(note),
                areas.tab_bar.right() - x,
            );
        }
    }
}
