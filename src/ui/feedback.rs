//! The Feedback pane: timestamped log lines, newest at the bottom, with the
//! search prompt and the current match highlighted.

use super::theme;
use super::wrap::wrap;
use crate::app::App;
use crate::app::feedback::LineKind;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

pub fn draw(app: &App, frame: &mut Frame, rect: Rect) {
    let fb = &app.feedback;
    let inner = rect.inner(ratatui::layout::Margin::new(1, 1));
    let (rows, hidden_below) = content(app, inner);
    let mut title = vec![Span::styled(" Feedback ", theme::TITLE)];
    if hidden_below > 0 {
        title.push(Span::styled(
            format!("↓{hidden_below} newer below (End follows) "),
            theme::WARN,
        ));
    }
    let mut block = Block::bordered()
        .border_style(theme::BORDER)
        .title(Line::from(title));
    if let Some(search) = &fb.search {
        let status = if fb.hit.is_none() && !search.query.is_empty() {
            " (no match)"
        } else {
            ""
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
    frame.render_widget(block, rect);
    if fb.is_empty() {
        frame.render_widget(
            Paragraph::new(Span::styled("nothing yet", theme::DIM)),
            inner,
        );
    } else {
        frame.render_widget(Paragraph::new(rows), inner);
    }
}

/// The rows shown in `inner`, and how many newer lines are out of view.
/// Lines wrap; the walk goes up from the scroll position until the pane is
/// full, then, if the older lines ran out, down again so it is never half empty.
fn content(app: &App, inner: Rect) -> (Vec<Line<'static>>, usize) {
    let fb = &app.feedback;
    let rows = usize::from(inner.height);
    let width = usize::from(inner.width);
    if rows == 0 || width == 0 || fb.is_empty() {
        return (Vec::new(), 0);
    }
    let show_from = app.contacts.len() > 1;
    let render = |i: usize| -> Vec<Line<'static>> {
        let Some(l) = fb.lines().get(i) else {
            return Vec::new();
        };
        let wrapped = wrap(styled(l, show_from), width);
        if fb.hit == Some(i) {
            wrapped.into_iter().map(|w| w.style(theme::HIT)).collect()
        } else {
            wrapped
        }
    };
    let bottom = fb.bottom_index();
    let mut out: Vec<Line> = Vec::new();
    for i in (0..=bottom).rev() {
        out.extend(render(i).into_iter().rev());
        if out.len() >= rows {
            break;
        }
    }
    out.truncate(rows);
    out.reverse();
    let mut next = bottom + 1;
    while out.len() < rows && next < fb.len() {
        out.extend(render(next));
        next += 1;
    }
    out.truncate(rows);
    (out, fb.len() - next)
}

/// One log line; `from` is shown only with several contacts (with one, the
/// status line names it and the width is better spent on the message).
fn styled(l: &crate::app::feedback::Line, show_from: bool) -> Line<'static> {
    let style = match l.kind {
        LineKind::Connection => theme::CONNECTION,
        LineKind::Sent => theme::SENT,
        LineKind::Return => theme::RETURN,
        LineKind::Incoming => theme::INCOMING,
        LineKind::Error => theme::ERROR,
        LineKind::Info => Style::default(),
    };
    let mut spans = vec![Span::styled(format!("{} ", l.time), theme::DIM)];
    if show_from && !l.from.is_empty() {
        spans.push(Span::styled(format!("{} ", l.from), theme::DIM));
    }
    spans.push(Span::styled(l.text.clone(), style));
    if let Some(request) = &l.request {
        spans.push(Span::styled(format!("  ← {request}"), theme::DIM));
    }
    Line::from(spans)
}
