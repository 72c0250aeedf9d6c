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

/// One part of the status line: its forms from the fullest to the
/// shortest, and how much it matters (0 most). When the line is too wide,
/// the parts that matter least are shortened first, then dropped; the
/// order on screen stays.
struct Part {
    rank: u8,
    forms: Vec<Vec<Span<'static>>>,
}

fn width(spans: &[Span]) -> usize {
    spans.iter().map(|s| s.width()).sum()
}

/// Fits `parts` into `room` columns (see [`Part`]).
fn fit(parts: Vec<Part>, room: usize) -> Vec<Span<'static>> {
    // Which form each part shows; `forms.len()` means dropped.
    let mut form = vec![0usize; parts.len()];
    let total = |form: &[usize]| -> usize {
        parts
            .iter()
            .zip(form)
            .filter_map(|(p, &f)| p.forms.get(f).map(|spans| width(spans)))
            .sum()
    };
    let mut order: Vec<usize> = (0..parts.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(parts[i].rank));
    // Shorten, least important first; the most important part keeps a form.
    'shrink: for &i in &order {
        while total(&form) > room {
            let last = if parts[i].rank == 0 {
                parts[i].forms.len() - 1
            } else {
                parts[i].forms.len()
            };
            if form[i] >= last {
                continue 'shrink;
            }
            form[i] += 1;
        }
        break;
    }
    // Then give back what still fits, most important first (dropping a
    // long part may leave room for a shorter one after it).
    let mut by_rank: Vec<usize> = (0..parts.len()).collect();
    by_rank.sort_by_key(|&i| parts[i].rank);
    for &i in &by_rank {
        while form[i] > 0 {
            form[i] -= 1;
            if total(&form) > room {
                form[i] += 1;
                break;
            }
        }
    }
    parts
        .into_iter()
        .zip(form)
        .filter_map(|(p, f)| p.forms.into_iter().nth(f))
        .flatten()
        .collect()
}

pub fn draw(app: &App, frame: &mut Frame, rect: Rect) {
    let room = usize::from(rect.width);
    let mut parts = Vec::new();
    match app.contacts.get(app.selected) {
        Some(contact) => {
            let state = Span::styled(contact.state_text(app.now), state_style(contact));
            parts.push(Part {
                rank: 0,
                forms: vec![
                    vec![
                        Span::styled("RV ", theme::DIM),
                        Span::raw(contact.label()),
                        Span::raw(" "),
                        state.clone(),
                    ],
                    vec![
                        Span::raw(contact.address.clone()),
                        Span::raw(" "),
                        state.clone(),
                    ],
                    vec![state],
                ],
            });
        }
        None => parts.push(Part {
            rank: 0,
            forms: vec![vec![Span::styled("no RV configured", theme::ERROR)]],
        }),
    }
    if app.contacts.len() > 1 {
        let connected = app.contacts.iter().filter(|c| c.is_connected()).count();
        let n = app.contacts.len();
        let (to, short) = if app.send_to_all {
            ("sending to all".to_owned(), "→all".to_owned())
        } else {
            (
                format!("sending to {}/{n}", app.selected + 1),
                format!("→{}/{n}", app.selected + 1),
            )
        };
        parts.push(Part {
            rank: 1,
            forms: vec![
                vec![Span::styled(
                    format!("  {connected}/{n} connected, {to}"),
                    theme::DIM,
                )],
                vec![Span::styled(
                    format!("  {connected}/{n} up {short}"),
                    theme::DIM,
                )],
            ],
        });
    }
    let dmx = super::dmx_tab::status_spans(app);
    parts.push(Part {
        rank: 2,
        forms: vec![dmx.clone(), super::dmx_tab::short_status_spans(app)],
    });
    let pending = app.pending_count();
    if pending > 0 {
        parts.push(Part {
            rank: 1,
            forms: vec![
                vec![Span::styled(format!("  {pending} waiting"), theme::WARN)],
                vec![Span::styled(format!("  {pending}…"), theme::WARN)],
            ],
        });
    }
    let beat = match app.heartbeat {
        Some(every) => format!("{}s", every.as_secs_f64()),
        None => "off".to_owned(),
    };
    parts.push(Part {
        rank: 3,
        forms: vec![
            vec![Span::styled(format!("  heartbeat {beat}"), theme::DIM)],
            vec![Span::styled(format!("  hb {beat}"), theme::DIM)],
        ],
    });
    let first = fit(parts, room);
    let second = hint_spans(app, room);
    frame.render_widget(
        Paragraph::new(vec![Line::from(first), Line::from(second)]),
        rect,
    );
}

/// The key hints that fit in `room` columns, in keymap order; quit and help
/// always stay (last), so `?` is there to find the rest.
fn hint_spans(app: &App, room: usize) -> Vec<Span<'static>> {
    let (mut hints, always): (Vec<_>, Vec<_>) = keymap::hints(app.tab.context())
        .into_iter()
        .partition(|(_, hint)| !matches!(*hint, "quit" | "help"));
    hints.extend(always);
    let spans = |(key, hint): &(String, &str)| {
        vec![
            Span::styled(key.clone(), theme::KEY),
            Span::styled(format!(" {hint}  "), theme::DIM),
        ]
    };
    let keep = hints.len().saturating_sub(2);
    let tail: Vec<Span> = hints[keep..].iter().flat_map(spans).collect();
    let mut used = width(&tail);
    let mut head = Vec::new();
    for hint in &hints[..keep] {
        let these = spans(hint);
        // The trailing two spaces of the last hint shown may be cut.
        if used + width(&these) > room + 2 {
            break;
        }
        used += width(&these);
        head.extend(these);
    }
    head.extend(tail);
    head
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
