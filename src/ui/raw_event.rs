//! The Raw Event tab: Name, Target, EVENT/RETURNEVENT, Send, and the code editor.

use super::field::field;
use super::theme;
use crate::app::layout::{Areas, Button};
use crate::app::{App, Focus};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

pub fn draw(app: &App, frame: &mut Frame, areas: &Areas) {
    let mut title = vec![Span::styled(" Raw Event ", theme::TITLE)];
    if let Some((i, n)) = app.history.position() {
        title.push(Span::styled(format!("history {i}/{n} "), theme::WARN));
    }
    let block = Block::bordered()
        .border_style(theme::BORDER)
        .title(Line::from(title));
    frame.render_widget(block, areas.body);
    for (button, rect) in &areas.buttons {
        match button {
            Button::Name => field(frame, *rect, "Name ", &app.name, app.focus == Focus::Name),
            Button::Target => field(
                frame,
                *rect,
                "Target ",
                &app.target,
                app.focus == Focus::Target,
            ),
            Button::Kind => {
                let text = if app.rsvp { "RETURNEVENT" } else { "EVENT" };
                let style = if app.rsvp { theme::OK } else { theme::WARN };
                frame.render_widget(
                    Paragraph::new(Line::from(vec![
                        Span::styled("[", theme::DIM),
                        Span::styled(text, style),
                        Span::styled("]", theme::DIM),
                    ])),
                    *rect,
                );
            }
            Button::Send => {
                frame.render_widget(Paragraph::new(Span::styled("[ Send ]", theme::KEY)), *rect)
            }
            Button::Editor => editor(app, frame, *rect),
            _ => {}
        }
    }
}

fn editor(app: &App, frame: &mut Frame, rect: Rect) {
    let focused = app.focus == Focus::Editor;
    let border = if focused {
        theme::BORDER_FOCUS
    } else {
        theme::BORDER
    };
    let hint = if focused {
        " Esc leaves the editor "
    } else {
        " Enter edits "
    };
    let block = Block::bordered()
        .border_style(border)
        .title(Span::styled(" Code ", theme::TITLE))
        .title_bottom(Line::from(Span::styled(hint, theme::DIM)).right_aligned());
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    frame.render_widget(&app.editor, inner);
}
