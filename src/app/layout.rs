//! Screen geometry, computed from the terminal size alone. The UI draws into
//! these rectangles and [`crate::app::App`] hit-tests mouse clicks against
//! the very same ones, so a click always lands on what was drawn there.

use super::Tab;
use ratatui::layout::{Constraint, Layout, Rect};

/// Below this the screen shows "terminal too small".
pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 20;

/// Something clickable inside a tab.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Button {
    Back,
    Play,
    Stop,
    Forward,
    FullScreen,
    Cache,
    Poll,
    GoTo,
    Name,
    Target,
    Kind,
    Send,
    Editor,
}

impl Button {
    /// The label drawn on it (toggles and fields add their state).
    pub fn label(self) -> &'static str {
        match self {
            Button::Back => "◀◀ Back",
            Button::Play => "▶ Play",
            Button::Stop => "■ Stop",
            Button::Forward => "Fwd ▶▶",
            Button::FullScreen => "Full Screen",
            Button::Cache => "Cache",
            Button::Poll => "Watch frame",
            Button::GoTo => "Go to frame",
            Button::Name => "Name",
            Button::Target => "Target",
            Button::Kind => "Kind",
            Button::Send => "Send",
            Button::Editor => "Code",
        }
    }
}

/// The whole screen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Areas {
    pub too_small: bool,
    pub tab_bar: Rect,
    pub tabs: Vec<(Tab, Rect)>,
    /// The active tab, border included.
    pub body: Rect,
    /// Clickable things of the active tab.
    pub buttons: Vec<(Button, Rect)>,
    /// Big frame number (Playback tab).
    pub frame: Rect,
    pub feedback: Rect,
    /// The contact list, when there is more than one contact.
    pub contacts: Option<Rect>,
    /// Two lines: connection state, key hints.
    pub status: Rect,
}

impl Areas {
    /// The button under a point.
    pub fn button_at(&self, col: u16, row: u16) -> Option<Button> {
        let p = ratatui::layout::Position { x: col, y: row };
        self.buttons
            .iter()
            .find(|(_, r)| r.contains(p))
            .map(|(b, _)| *b)
    }

    /// The tab under a point.
    pub fn tab_at(&self, col: u16, row: u16) -> Option<Tab> {
        let p = ratatui::layout::Position { x: col, y: row };
        self.tabs
            .iter()
            .find(|(_, r)| r.contains(p))
            .map(|(t, _)| *t)
    }
}

/// Title as drawn in the tab bar.
pub fn tab_title(tab: Tab) -> String {
    format!(" {} {} ", tab.index() + 1, tab.title())
}

/// Computes every area for a terminal of `size` showing `active`.
pub fn areas(size: Rect, active: Tab, contacts: usize) -> Areas {
    if size.width < MIN_WIDTH || size.height < MIN_HEIGHT {
        return Areas {
            too_small: true,
            ..Areas::default()
        };
    }
    let [tab_bar, main, status] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(2),
    ])
    .areas(size);

    let mut tabs = Vec::new();
    let mut x = tab_bar.x;
    for tab in Tab::ALL {
        let w = u16::try_from(tab_title(tab).chars().count()).unwrap_or(u16::MAX);
        let w = w.min(tab_bar.right().saturating_sub(x));
        tabs.push((tab, Rect::new(x, tab_bar.y, w, 1)));
        x = x.saturating_add(w).saturating_add(1);
    }

    let body_height = match active {
        Tab::Playback if main.height >= 24 => 11,
        Tab::Playback => 9,
        Tab::RawEvent | Tab::Pixels => (main.height * 11 / 20).max(9),
        // The grid wants every row it can get; the feedback keeps 5.
        Tab::Dmx => (main.height * 2 / 3).max(9),
    }
    .min(main.height.saturating_sub(5));
    let [body, lower] =
        Layout::vertical([Constraint::Length(body_height), Constraint::Min(0)]).areas(main);
    let (feedback, contacts) = if contacts > 1 {
        let [f, c] = Layout::horizontal([Constraint::Min(0), Constraint::Length(36)]).areas(lower);
        (f, Some(c))
    } else {
        (lower, None)
    };

    let mut areas = Areas {
        too_small: false,
        tab_bar,
        tabs,
        body,
        buttons: Vec::new(),
        frame: Rect::default(),
        feedback,
        contacts,
        status,
    };
    let inner = body.inner(ratatui::layout::Margin::new(1, 1));
    match active {
        Tab::Playback => playback(inner, &mut areas),
        Tab::RawEvent => raw_event(inner, &mut areas),
        // The Pixels tab's geometry is `app::pixels::areas`.
        Tab::Pixels => {}
        // The DMX tab hit-tests its grid itself (`DmxGridState::slot_at`).
        Tab::Dmx => {}
    }
    areas
}

fn playback(inner: Rect, areas: &mut Areas) {
    // Blank rows between the groups only when there is room for them.
    let gap = u16::from(inner.height >= 9);
    let [transport, _, toggles, _, frame] = Layout::vertical([
        Constraint::Length(3),
        Constraint::Length(gap),
        Constraint::Length(1),
        Constraint::Length(gap),
        Constraint::Length(3),
    ])
    .areas(inner);
    let cells: [Rect; 4] = Layout::horizontal([Constraint::Ratio(1, 4); 4])
        .spacing(1)
        .areas(transport);
    for (button, rect) in [Button::Back, Button::Play, Button::Stop, Button::Forward]
        .into_iter()
        .zip(cells)
    {
        areas.buttons.push((button, rect));
    }
    let cells: [Rect; 3] = Layout::horizontal([Constraint::Ratio(1, 3); 3])
        .spacing(1)
        .areas(toggles);
    for (button, rect) in [Button::FullScreen, Button::Cache, Button::Poll]
        .into_iter()
        .zip(cells)
    {
        areas.buttons.push((button, rect));
    }
    let [big, goto] = Layout::horizontal([Constraint::Min(0), Constraint::Length(24)]).areas(frame);
    areas.frame = big;
    areas
        .buttons
        .push((Button::GoTo, Rect { height: 1, ..goto }));
}

fn raw_event(inner: Rect, areas: &mut Areas) {
    let [fields, editor] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(inner);
    let cells: [Rect; 4] = Layout::horizontal([
        Constraint::Min(20),
        Constraint::Length(12),
        Constraint::Length(13),
        Constraint::Length(8),
    ])
    .spacing(1)
    .areas(fields);
    for (button, rect) in [Button::Name, Button::Target, Button::Kind, Button::Send]
        .into_iter()
        .zip(cells)
    {
        areas.buttons.push((button, rect));
    }
    areas.buttons.push((Button::Editor, editor));
}
