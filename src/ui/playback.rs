//! The Playback Control tab: transport buttons, toggles, the current frame
//! in big digits and the go-to-frame field.

use super::field::field;
use super::{bigdigits, theme};
use crate::app::layout::{Areas, Button};
use crate::app::{App, Focus, LiveMode, LiveState};
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
        Button::Play => app.shown_playing(),
        Button::Stop => !app.shown_playing(),
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

/// The big frame number, and under it what the selected RV's events say
/// (or how the frame is learnt when it does not forward them).
fn big_frame(app: &App, frame: &mut Frame, rect: Rect) {
    let rows = bigdigits::render("0").len() as u16;
    // Right of the digits when there is room (the usual case: the area is
    // as tall as the digits), else below them.
    let digits_width = app
        .shown_frame()
        .map_or(30, |f| 6 + bigdigits::width(&f.to_string()) as u16 + 3);
    let live_rect = if rect.width >= digits_width + 20 {
        let [_, right] =
            Layout::horizontal([Constraint::Length(digits_width), Constraint::Min(0)]).areas(rect);
        Some(right)
    } else if rect.height >= rows + 2 {
        let [_, _, below] = Layout::vertical([
            Constraint::Length(rows),
            Constraint::Length(1),
            Constraint::Min(1),
        ])
        .areas(rect);
        Some(below)
    } else {
        None
    };
    digits(app, frame, rect);
    if let Some(live_rect) = live_rect {
        live_lines(app, frame, live_rect);
    }
}

fn live_lines(app: &App, frame: &mut Frame, rect: Rect) {
    let Some(live) = app.live() else {
        return;
    };
    let mut lines = Vec::new();
    let mode = match &live.mode {
        LiveMode::Live => Span::styled("● live", theme::FRAME),
        LiveMode::Waiting => Span::styled("○ waiting for RV's events", theme::DIM),
        LiveMode::Refused(_) => Span::styled(
            if app.poll {
                "○ no live events: polling (w)"
            } else {
                "○ no live events: w polls the frame"
            },
            theme::DIM,
        ),
    };
    let mut first = vec![mode];
    if live.mode == LiveMode::Live {
        let mut parts = Vec::new();
        if let Some(playing) = live.playing {
            parts.push(if playing { "playing" } else { "stopped" }.to_owned());
        }
        if let Some(fps) = live.fps {
            parts.push(format!("{fps:.3} fps").replace(".000 fps", " fps"));
        }
        if let Some(view) = &live.view {
            parts.push(view.clone());
        }
        // Whole parts only, as many as fit: "playing" matters more than
        // the view's name.
        let mut used = first.iter().map(|s| s.width()).sum::<usize>();
        for part in parts {
            used += 3 + part.chars().count();
            if used > usize::from(rect.width) {
                break;
            }
            first.push(Span::styled(" · ", theme::DIM));
            first.push(Span::raw(part));
        }
    }
    lines.push(Line::from(first));
    if live.mode == LiveMode::Live
        && let Some(bar) = position_bar(live, usize::from(rect.width))
    {
        lines.push(Line::from(Span::styled(bar, theme::DIM)));
    }
    frame.render_widget(Paragraph::new(lines), rect);
}

/// `in 5 [====|------] 90 out`: where the frame is between the in and out
/// points (the range when they are unknown), in `width` columns.
fn position_bar(live: &LiveState, width: usize) -> Option<String> {
    let (start, end) = match (live.in_point, live.out_point, live.range) {
        (Some(i), Some(o), _) => (i, o),
        (_, _, Some(range)) => range,
        _ => return None,
    };
    let head = format!("in {start} [");
    let tail = format!("] {end} out");
    let inner = width.checked_sub(head.len() + tail.len())?;
    if inner < 3 || end < start {
        return None;
    }
    let frame = live.frame.unwrap_or(start).clamp(start, end);
    let span = (end - start).max(1) as f64;
    let at = (((frame - start) as f64 / span) * (inner - 1) as f64).round() as usize;
    let bar: String = (0..inner)
        .map(|i| match i.cmp(&at) {
            std::cmp::Ordering::Less => '=',
            std::cmp::Ordering::Equal => '|',
            std::cmp::Ordering::Greater => '-',
        })
        .collect();
    Some(format!("{head}{bar}{tail}"))
}

fn digits(app: &App, frame: &mut Frame, rect: Rect) {
    let Some(current) = app.shown_frame() else {
        let text = vec![
            Line::from(Span::styled("Frame", theme::DIM)),
            Line::from(Span::styled("unknown: RV has not said yet", theme::DIM)),
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
