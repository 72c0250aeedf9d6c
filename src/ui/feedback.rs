//! The Feedback pane: timestamped log lines, newest at the bottom, with the
//! search prompt and the current match highlighted.

use super::theme;
use crate::app::App;
use crate::app::feedback::LineKind;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

pub fn draw(app: &App, frame: &mut Frame, rect: Rect) {
    let fb = &app.feedback;
    let mut title = vec![Span::styled(" Feedback ", theme::TITLE)];
    if fb.scroll > 0 {
        title.push(Span::styled(
            format!("↑{} more below (End follows) ", fb.scroll),
            theme::WARN,
        ));
    }
    let mut block = Block::bordered()
        .border_style(theme::BORDER)
        .title(Line::from(title));
    if let Some(search) = &fb.search {
        let status = if fb.hit.is_some() {
            ""
        } else if search.query.is_empty() {
            ""
        } else {
            " (no match)"
        };
        let cursor = if search.editing { "▏" } else { "" };
        let hint = if search.editing {
            " Enter keeps, Esc clears"
        } else {
            " n/N next/prev"
        };
        block = block.title_bottom(Line::from(vec![
            Span::styled(format!(" /{}{cursor}", search.query), theme::KEY),
            Span::styled(status, theme::ERROR),
            Span::styled(format!("{hint} "), theme::DIM),
        ]));
    }
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let rows = usize::from(inner.height);
    if rows == 0 || fb.is_empty() {
        if fb.is_empty() && rows > 0 {
            frame.render_widget(
                Paragraph::new(Span::styled("nothing yet", theme::DIM)),
                inner,
            );
        }
        return;
    }
    let bottom = fb.bottom_index();
    let top = (bottom + 1).saturating_sub(rows);
    let lines: Vec<Line> = (top..=bottom)
        .filter_map(|i| fb.lines().get(i).map(|l| (i, l)))
        .map(|(i, l)| {
            let style = match l.kind {
                LineKind::Connection => theme::CONNECTION,
                LineKind::Sent => theme::SENT,
                LineKind::Return => theme::RETURN,
                LineKind::Incoming => theme::INCOMING,
                LineKind::Error => theme::ERROR,
                LineKind::Info => Style::default(),
            };
            let mut spans = vec![Span::styled(format!("{} ", l.time), theme::DIM)];
            if !l.from.is_empty() {
                spans.push(Span::styled(format!("{} ", l.from), theme::DIM));
            }
            spans.push(Span::styled(l.text.clone(), style));
            if let Some(request) = &l.request {
                spans.push(Span::styled(format!("  ← {request}"), theme::DIM));
            }
            let line = Line::from(spans);
            if fb.hit == Some(i) {
                line.style(theme::HIT)
            } else {
                line
            }
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}
