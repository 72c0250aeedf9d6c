//! The status line (connection state, key hints) and the contact list.

use super::theme;
use crate::app::keymap;
use crate::app::{App, ContactView};
use crate::rv::client::ConnState;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, List, ListItem, Paragraph};

fn state_style(contact: &ContactView) -> Style {
    match contact.state {
        ConnState::Connected { .. } => theme::OK,
        ConnState::Connecting { .. } => theme::WARN,
        ConnState::Retrying { .. } | ConnState::Closed { .. } => theme::ERROR,
    }
}

pub fn draw(app: &App, frame: &mut Frame, rect: Rect) {
    let mut first = Vec::new();
    match app.contacts.get(app.selected) {
        Some(contact) => {
            first.push(Span::styled("RV ", theme::DIM));
            first.push(Span::raw(contact.label()));
            first.push(Span::raw(" "));
            first.push(Span::styled(
                contact.state_text(app.now),
                state_style(contact),
            ));
        }
        None => first.push(Span::styled("no RV configured", theme::ERROR)),
    }
    if app.contacts.len() > 1 {
        let connected = app.contacts.iter().filter(|c| c.is_connected()).count();
        let to = if app.send_to_all {
            "sending to all".to_owned()
        } else {
            format!("sending to {}/{}", app.selected + 1, app.contacts.len())
        };
        first.push(Span::styled(
            format!("  {connected}/{} connected, {to}", app.contacts.len()),
            theme::DIM,
        ));
    }
    first.extend(super::dmx_tab::status_spans(app));
    let pending = app.pending_count();
    if pending > 0 {
        first.push(Span::styled(format!("  {pending} waiting"), theme::WARN));
    }
    // Last, so a narrow terminal cuts it first.
    first.push(Span::styled(
        match app.heartbeat {
            Some(every) => format!("  heartbeat {}s", every.as_secs_f64()),
            None => "  heartbeat off".to_owned(),
        },
        theme::DIM,
    ));
    let mut second = Vec::new();
    for (key, hint) in keymap::hints(app.tab.context()) {
        second.push(Span::styled(key, theme::KEY));
        second.push(Span::styled(format!(" {hint}  "), theme::DIM));
    }
    frame.render_widget(
        Paragraph::new(vec![Line::from(first), Line::from(second)]),
        rect,
    );
}

pub fn contacts(app: &App, frame: &mut Frame, rect: Rect) {
    let title = if app.send_to_all {
        " Contacts (all) "
    } else {
        " Contacts "
    };
    let items: Vec<ListItem> = app
        .contacts
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let mark = if i == app.selected || app.send_to_all {
                "▶ "
            } else {
                "  "
            };
            ListItem::new(vec![
                Line::from(vec![Span::raw(mark), Span::raw(c.label())]),
                Line::from(vec![
                    Span::raw("  "),
                    Span::styled(c.state_text(app.now), state_style(c)),
                ]),
            ])
        })
        .collect();
    let block = Block::bordered()
        .border_style(theme::BORDER)
        .title(Span::styled(title, theme::TITLE))
        .title_bottom(Line::from(Span::styled(" [ ] select, a all ", theme::DIM)));
    frame.render_widget(List::new(items).block(block), rect);
}
