//! Colours and styles, in one place.

use ratatui::style::{Color, Modifier, Style};

pub const TAB: Style = Style::new().fg(Color::Gray);
pub const TAB_ACTIVE: Style = Style::new()
    .fg(Color::Black)
    .bg(Color::Cyan)
    .add_modifier(Modifier::BOLD);
pub const BORDER: Style = Style::new().fg(Color::DarkGray);
pub const BORDER_FOCUS: Style = Style::new().fg(Color::Cyan);
pub const TITLE: Style = Style::new().add_modifier(Modifier::BOLD);
pub const DIM: Style = Style::new().fg(Color::DarkGray);
pub const KEY: Style = Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD);
pub const ERROR: Style = Style::new().fg(Color::Red);
pub const OK: Style = Style::new().fg(Color::Green);
pub const WARN: Style = Style::new().fg(Color::Yellow);
pub const SENT: Style = Style::new().fg(Color::Blue);
pub const RETURN: Style = Style::new().fg(Color::Green);
pub const INCOMING: Style = Style::new().fg(Color::Magenta);
pub const CONNECTION: Style = Style::new().fg(Color::Gray).add_modifier(Modifier::ITALIC);
pub const BUTTON: Style = Style::new().fg(Color::White);
pub const TOGGLE_ON: Style = Style::new().fg(Color::Black).bg(Color::Green);
pub const FIELD: Style = Style::new().bg(Color::Rgb(40, 40, 40));
pub const FIELD_FOCUS: Style = Style::new().fg(Color::Black).bg(Color::Cyan);
/// A focused field's text that typing replaces.
pub const FIELD_SELECTED: Style = Style::new()
    .fg(Color::Cyan)
    .bg(Color::Black)
    .add_modifier(Modifier::REVERSED);
pub const HIT: Style = Style::new().fg(Color::Black).bg(Color::Yellow);
pub const FRAME: Style = Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD);
