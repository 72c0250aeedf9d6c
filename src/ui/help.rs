//! The `?` overlay, generated from the keymap table.

use super::theme;
use crate::app::App;
use crate::app::keymap::{self, HelpLine, KEYMAP};
use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

pub fn draw(app: &App, frame: &mut Frame, area: Rect) {
    let width = area.width.saturating_sub(4).min(84);
    let key_col = KEYMAP
        .iter()
        .map(|b| keymap::keys_label(b).chars().count())
        .max()
        .unwrap_or(0)
        .min(usize::from(width / 3));
    let lines: Vec<Line> = keymap::help_lines(app.tab.context())
        .into_iter()
        .map(|line| match line {
            HelpLine::Heading(context) => Line::from(Span::styled(context.title(), theme::TITLE)),
            HelpLine::Binding(binding) => Line::from(vec![
                Span::styled(
                    format!(" {:<key_col$} ", keymap::keys_label(binding)),
                    theme::KEY,
                ),
                Span::raw(binding.desc),
            ]),
            HelpLine::Blank => Line::raw(""),
        })
        .collect();
    let height = area
        .height
        .saturating_sub(2)
        .min(u16::try_from(lines.len() + 2).unwrap_or(u16::MAX));
    // Lines are not wrapped (a narrow terminal cuts them), so the app knows
    // how far the overlay scrolls; never past its last line.
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
