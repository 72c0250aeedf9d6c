//! The OLA-DMX tab: a line for olad and the fields, the 512-slot grid, and
//! the universe picker / patch form drawn over it.

use super::dmx_grid::DmxGrid;
use super::field::field_spans;
use super::theme;
use super::wrap::wrap;
use crate::app::App;
use crate::app::dmx_tab::{DmxTab, FieldKind, OladState, PatchField, PatchForm, Picker};
use crate::app::layout::Areas;
use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

/// Columns of the priority and fade-time fields (short numbers).
const FIELD_WIDTH: usize = 6;

/// Width of the patch form's box.
const FORM_WIDTH: u16 = 64;

/// Width of the universe picker's box.
const PICKER_WIDTH: u16 = 60;

pub fn draw(app: &App, frame: &mut Frame, areas: &Areas) {
    let dmx = &app.dmx;
    let block = Block::bordered()
        .border_style(theme::BORDER)
        .title(Span::styled(" OLA-DMX ", theme::TITLE))
        .title_bottom(Line::from(Span::styled(
            " 0-9 type, Enter sets  U universe  p priority  t fade  F1-F12 scene, Shift+F stores ",
            theme::DIM,
        )));
    let inner = block.inner(areas.body);
    frame.render_widget(block, areas.body);
    if inner.is_empty() {
        return;
    }
    // olad's absence gets as many lines as it needs (up to 3) to be read whole.
    let line = top_line(dmx);
    let width = usize::from(inner.width.max(1));
    let lines = if dmx.field.is_none() && dmx.offline_text().is_some() {
        line.width().div_ceil(width).clamp(1, 3)
    } else {
        1
    };
    let lines = u16::try_from(lines).unwrap_or(1);
    let cue_rows = u16::from(app.cue.is_some());
    let [top, cue, grid] = Layout::vertical([
        Constraint::Length(lines),
        Constraint::Length(cue_rows),
        Constraint::Min(0),
    ])
    .areas(inner);
    frame.render_widget(Paragraph::new(line).wrap(Wrap { trim: true }), top);
    if let Some(link) = &app.cue {
        frame.render_widget(Paragraph::new(cue_line(link, app.now)), cue);
    }

    let mut state = dmx.grid.get();
    frame.render_stateful_widget(DmxGrid::new(&dmx.console), grid, &mut state);
    dmx.grid.set(state);

    if let Some(form) = &dmx.patch {
        patch_form(form, frame, areas.body);
    } else if let Some(picker) = &dmx.picker {
        picker_box(dmx, picker, frame, areas.body);
    }
}

/// The cue link's line: on or off, the show, the last cue, a fade's progress.
fn cue_line(link: &crate::app::cue::CueLink, now: std::time::Duration) -> Line<'static> {
    let file = link.path.file_name().map_or_else(
        || link.path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let mut spans = vec![if link.on {
        let rv = link
            .rv
            .as_ref()
            .map(|(_, address)| format!(" ({address})"))
            .unwrap_or_default();
        Span::styled(format!("● cue link on{rv}"), theme::OK)
    } else {
        Span::styled("○ cue link off (L)", theme::DIM)
    }];
    spans.push(Span::styled(format!("  {file}"), theme::DIM));
    if let Some(last) = &link.last {
        spans.push(Span::styled("  last: ", theme::DIM));
        spans.push(Span::raw(last.clone()));
    }
    if let Some(progress) = link.progress(now) {
        spans.push(Span::styled(
            format!("  fading {:.0}%", progress * 100.0),
            theme::WARN,
        ));
    }
    Line::from(spans)
}

fn state_style(state: &OladState) -> Style {
    match state {
        OladState::Connected => theme::OK,
        OladState::Connecting => theme::WARN,
        _ => theme::ERROR,
    }
}

/// The field being edited, else olad's absence, else the universe and olad.
fn top_line(dmx: &DmxTab) -> Line<'static> {
    if let Some(field) = &dmx.field {
        let label = match field.kind {
            FieldKind::Priority => "priority (0..=200): ",
            FieldKind::FadeTime => "fade time in seconds: ",
        };
        let mut spans = vec![Span::styled(label, theme::TITLE)];
        spans.extend(field_spans(&field.input, true, FIELD_WIDTH));
        match &field.error {
            Some(err) => spans.push(Span::styled(format!("  {err}"), theme::ERROR)),
            None => spans.push(Span::styled("  Enter sets, Esc cancels", theme::DIM)),
        }
        return Line::from(spans);
    }
    if let Some(text) = dmx.offline_text() {
        return Line::from(Span::styled(text, state_style(&dmx.state)));
    }
    let mut spans = vec![Span::styled(
        format!("universe {}", dmx.console.universe()),
        theme::TITLE,
    )];
    if let Some(name) = dmx.universe_name().filter(|n| !n.is_empty()) {
        spans.push(Span::raw(format!(" {name}")));
    }
    spans.push(Span::styled(format!("  olad {} ", dmx.address), theme::DIM));
    spans.push(Span::styled("connected", theme::OK));
    if dmx.console.is_pending() {
        spans.push(Span::styled("  sending", theme::WARN));
    }
    Line::from(spans)
}

/// A box centred in `area`, at most `width` x `height`.
fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let [row] = Layout::vertical([Constraint::Length(height.min(area.height))])
        .flex(Flex::Center)
        .areas(area);
    let [rect] = Layout::horizontal([Constraint::Length(width.min(area.width))])
        .flex(Flex::Center)
        .areas(row);
    rect
}

fn picker_box(dmx: &DmxTab, picker: &Picker, frame: &mut Frame, area: Rect) {
    let mut lines = Vec::new();
    if let Some(err) = &picker.error {
        // Wrapped to the box, which shrinks to the area.
        let inner = usize::from(PICKER_WIDTH.min(area.width)).saturating_sub(2);
        lines.extend(wrap(Line::styled(err.clone(), theme::ERROR), inner));
    }
    let error_rows = lines.len();
    match &picker.entries {
        None => lines.push(Line::from(Span::styled(
            "asking olad for its universes...",
            theme::DIM,
        ))),
        Some(entries) => {
            if entries.is_empty() {
                lines.push(Line::from(Span::styled(
                    "olad has no universes yet",
                    theme::DIM,
                )));
            }
            for (i, e) in entries.iter().enumerate() {
                let current = if e.universe == dmx.console.universe() {
                    " *"
                } else {
                    ""
                };
                let text = format!("{:>5}  {}{current}", e.universe, e.name);
                lines.push(select_line(text, i == picker.selected));
            }
            lines.push(select_line(
                "  +    patch a port to make a universe (p)".into(),
                picker.selected >= entries.len(),
            ));
        }
    }
    let mut go = vec![Span::styled("go to universe: ", theme::DIM)];
    if picker.typed.is_empty() {
        go.push(Span::styled("type its number", theme::DIM));
    } else {
        go.push(Span::styled(picker.typed.clone(), theme::FIELD_FOCUS));
        go.push(Span::styled("  Enter goes there", theme::DIM));
    }
    lines.push(Line::from(go));
    let height = u16::try_from(lines.len() + 2).unwrap_or(u16::MAX);
    let rect = centered(area, PICKER_WIDTH, height);
    let block = Block::bordered()
        .border_style(theme::BORDER_FOCUS)
        .title(Span::styled(" Universes ", theme::TITLE))
        .title_bottom(Line::from(Span::styled(
            " ↑↓ choose, Enter switch, r refresh, Esc close ",
            theme::DIM,
        )));
    // Keep the selected row in view on a short screen.
    let visible = usize::from(rect.height.saturating_sub(2)).max(1);
    let scroll = (picker.selected + 1 + error_rows).saturating_sub(visible);
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .scroll((u16::try_from(scroll).unwrap_or(0), 0)),
        rect,
    );
}

fn select_line(text: String, selected: bool) -> Line<'static> {
    if selected {
        Line::from(Span::styled(format!("▶{text}"), theme::FIELD_FOCUS))
    } else {
        Line::from(Span::raw(format!(" {text}")))
    }
}

fn patch_form(form: &PatchForm, frame: &mut Frame, area: Rect) {
    let mut lines = Vec::new();
    let port_title = if form.field == PatchField::Port {
        theme::KEY
    } else {
        theme::TITLE
    };
    lines.push(Line::from(Span::styled("Port (↑↓):", port_title)));
    match &form.ports {
        None => lines.push(Line::from(Span::styled(
            "  asking olad for free ports...",
            theme::DIM,
        ))),
        Some(ports) => {
            for (i, port) in ports.iter().enumerate() {
                lines.push(select_line(port.label(), i == form.selected));
            }
        }
    }
    // The form's inner width (the box shrinks to the area).
    let inner = usize::from(FORM_WIDTH.min(area.width)).saturating_sub(2);
    for (label, input, field) in [
        ("Universe: ", &form.universe, PatchField::Universe),
        ("Name (optional): ", &form.name, PatchField::Name),
    ] {
        let width = inner.saturating_sub(label.len());
        let mut spans = vec![Span::styled(label, theme::TITLE)];
        spans.extend(field_spans(input, form.field == field, width));
        lines.push(Line::from(spans));
    }
    if form.busy {
        lines.push(Line::from(Span::styled("patching...", theme::WARN)));
    }
    if let Some(err) = &form.error {
        lines.extend(wrap(Line::styled(err.clone(), theme::ERROR), inner));
    }
    let height = u16::try_from(lines.len() + 2).unwrap_or(u16::MAX);
    let rect = centered(area, FORM_WIDTH, height);
    let block = Block::bordered()
        .border_style(theme::BORDER_FOCUS)
        .title(Span::styled(" Patch a port to a universe ", theme::TITLE))
        .title_bottom(Line::from(Span::styled(
            " Tab field, Enter patch, Esc cancel ",
            theme::DIM,
        )));
    frame.render_widget(Clear, rect);
    frame.render_widget(Paragraph::new(lines).block(block), rect);
}

/// `olad ADDR state` for the status line.
/// [`status_spans`] without the address, for a narrow status line.
pub fn short_status_spans(app: &App) -> Vec<Span<'static>> {
    let dmx = &app.dmx;
    vec![
        Span::styled("  olad ", theme::DIM),
        Span::styled(dmx.state.text(), state_style(&dmx.state)),
    ]
}

pub fn status_spans(app: &App) -> Vec<Span<'static>> {
    let dmx = &app.dmx;
    vec![
        Span::styled("  olad ", theme::DIM),
        Span::raw(dmx.address.clone()),
        Span::raw(" "),
        Span::styled(dmx.state.text(), state_style(&dmx.state)),
    ]
}
