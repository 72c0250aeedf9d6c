//! The Playback Control tab: transport buttons, toggles, the current frame
//! in big digits and the go-to-frame field.

use super::field::field;
use super::{bigdigits, theme};
use crate::app::layout::{Areas, Button};
use crate::app::{App, Focus};
use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Paragraph};

pub fn draw(app: &App, frame: &mut Frame, areas: &Areas) {
    let block = Block::bordered()
        .border_style(theme::BORDER)
        .title(Span::styled(" Playback Control ", theme::TITLE));
    frame.render_widget(block, areas.body);
    for (button, rect) in &areas.buttons {
        match button {
            Button::Back | Button::Play | Button::Stop | Button::Forward => {
                transport(app, frame, *button, *rect)
            }
            Button::FullScreen => toggle(frame, *rect, "Full Screen", "f", app.full_screen),
            Button::Cache => toggle(frame, *rect, "Cache", "c", app.cache),
            Button::Poll => toggle(frame, *rect, "Watch frame", "w", app.poll),
            Button::GoTo => goto(app, frame, *rect),
            _ => {}
        }
    }
    big_frame(app, frame, areas.frame);
}

fn transport(app: &App, frame: &mut Frame, button: Button, rect: Rect) {
    let key = match button {
        Button::Back => "←",
        Button::Forward => "→",
        _ => "Space",
    };
    let active = match button {
        Button::Play => app.playing,
        Button::Stop => !app.playing,
        _ => false,
    };
    let border = if active {
        theme::BORDER_FOCUS
    } else {
        theme::BORDER
    };
    let block = Block::bordered()
        .border_type(BorderType::Rounded)
        .border_style(border);
    let mut spans = vec![Span::styled(button.label(), theme::BUTTON)];
    let room = usize::from(rect.width.saturating_sub(2));
    if button.label().chars().count() + 1 + key.chars().count() <= room {
        spans.push(Span::styled(format!(" {key}"), theme::DIM));
    }
    let line = Line::from(spans);
    frame.render_widget(
        Paragraph::new(line)
            .alignment(Alignment::Center)
            .block(block),
        rect,
    );
}

fn toggle(frame: &mut Frame, rect: Rect, label: &str, key: &str, on: bool) {
    let (mark, style) = if on {
        ("[x]", theme::TOGGLE_ON)
    } else {
        ("[ ]", Style::default())
    };
    let line = Line::from(vec![
        Span::styled(format!("{mark} {label}"), style),
        Span::styled(format!(" {key}"), theme::DIM),
    ]);
    frame.render_widget(Paragraph::new(line), rect);
}

fn goto(app: &App, frame: &mut Frame, rect: Rect) {
    let editing = app.focus == Focus::GoTo;
    let hint = if editing { " Enter" } else { " g" };
    // "Go to " and room for ten digits, then the hint.
    let [field_rect, hint_rect] =
        Layout::horizontal([Constraint::Length(16), Constraint::Min(0)]).areas(rect);
    field(frame, field_rect, "Go to ", &app.goto, editing);
    frame.render_widget(Paragraph::new(Span::styled(hint, theme::DIM)), hint_rect);
}

fn big_frame(app: &App, frame: &mut Frame, rect: Rect) {
    let Some(current) = app.frame else {
        let text = vec![
            Line::from(Span::styled("Frame", theme::DIM)),
            Line::from(Span::styled(
                "unknown until RV answers a button",
                theme::DIM,
            )),
        ];
        frame.render_widget(Paragraph::new(text), rect);
        return;
    };
    let digits = current.to_string();
    let label = "Frame ";
    if bigdigits::width(&digits) + label.len() > usize::from(rect.width) {
        let line = Line::from(vec![
            Span::styled(label, theme::DIM),
            Span::styled(digits, theme::FRAME),
        ]);
        frame.render_widget(Paragraph::new(line), rect);
        return;
    }
    let rows = bigdigits::render(&digits);
    let lines: Vec<Line> = rows
        .into_iter()
        .enumerate()
        .map(|(i, row)| {
            let head = if i == 1 { label } else { "      " };
            Line::from(vec![
                Span::styled(head, theme::DIM),
                Span::styled(row, theme::FRAME),
            ])
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), rect);
}
