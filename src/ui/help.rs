//! The `?` overlay, generated from the keymap table.

use super::theme;
use crate::app::App;
use crate::app::keymap::{self, HelpRow};
use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

pub fn draw(app: &App, frame: &mut Frame, area: Rect) {
    let layout = keymap::help_layout(app.tab.context(), area.width);
    let (width, key_col) = (layout.width, layout.key_col);
    let lines: Vec<Line> = layout
        .rows
        .into_iter()
        .map(|row| match row {
            HelpRow::Heading(context) => Line::from(Span::styled(context.title(), theme::TITLE)),
            HelpRow::Binding { keys, text } => Line::from(vec![
                Span::styled(format!(" {keys:<key_col$} "), theme::KEY),
                Span::raw(text),
            ]),
            HelpRow::Blank => Line::raw(""),
        })
        .collect();
    let height = area
        .height
        .saturating_sub(2)
        .min(u16::try_from(lines.len() + 2).unwrap_or(u16::MAX));
    // The rows are wrapped by `keymap::help_layout`, which the app also
    // uses to know how far the overlay scrolls; never past its last line.
    let last_top = u16::try_from(lines.len())
        .unwrap_or(u16::MAX)
        .saturating_sub(height.saturating_sub(2));
    let [row] = Layout::vertical([Constraint::Length(height)])
        .flex(Flex::Center)
        .areas(area);
    let [rect] = Layout::horizontal([Constraint::Length(width)])
        .flex(Flex::Center)
        .areas(row);
    let block = Block::bordered()
        .border_style(theme::BORDER_FOCUS)
        .title(Span::styled(" Keys ", theme::TITLE))
        .title_bottom(Line::from(Span::styled(
            " ↑↓ scroll, any other key closes ",
            theme::DIM,
        )));
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .scroll((app.help_scroll.min(last_top), 0)),
        rect,
    );
}
