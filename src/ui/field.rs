//! A one-line text field: label, then the text scrolled so the cursor stays
//! visible, with a thin cursor bar when focused.

use crate::app::input::LineInput;
use crate::ui::theme;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

/// Draws `label` and `input` into `rect`.
pub(super) fn field(frame: &mut Frame, rect: Rect, label: &str, input: &LineInput, focused: bool) {
    let width = usize::from(rect.width).saturating_sub(label.chars().count());
    let mut spans = vec![Span::styled(label.to_owned(), theme::DIM)];
    spans.extend(field_spans(input, focused, width));
    frame.render_widget(Paragraph::new(Line::from(spans)), rect);
}

/// `input` as spans `width` columns wide (for a field inside a line of
/// other text): scrolled so the cursor stays visible, with a thin cursor bar
/// when focused.
pub(super) fn field_spans(input: &LineInput, focused: bool, width: usize) -> Vec<Span<'static>> {
    let text = input.text();
    // Keep the cursor visible in a narrow field.
    let cursor = input.cursor();
    let skip = cursor.saturating_sub(width.saturating_sub(1));
    let visible: String = text.chars().skip(skip).take(width).collect();
    let style = if focused {
        theme::FIELD_FOCUS
    } else {
        theme::FIELD
    };
    if !focused {
        return vec![Span::styled(format!("{visible:<width$}"), style)];
    }
    if input.is_prefilled() {
        // Shown selected: the first key typed replaces it.
        let rest = width.saturating_sub(visible.chars().count());
        return vec![
            Span::styled(visible, theme::FIELD_SELECTED),
            Span::styled(" ".repeat(rest), style),
        ];
    }
    let at = cursor - skip;
    let before: String = visible.chars().take(at).collect();
    let after: String = visible.chars().skip(at).collect();
    vec![
        Span::styled(before, style),
        Span::styled("▏", style),
        Span::styled(
            format!("{after:<w$}", w = width.saturating_sub(at + 1)),
            style,
        ),
    ]
}
