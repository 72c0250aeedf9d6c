//! Application state and its one entry point, [`App::update`]: an event in
//! (a key, a click, a network report), commands out. No I/O, no terminal, no
//! awaiting: the runner (`shell::runner`) executes the [`Command`]s in tasks and
//! posts their outcome back as [`AppEvent::Net`], so a slow or hung RV can
//! never freeze the screen.
//!
//! Requests carry a [`RequestId`] the app allocates; the RETURN comes back
//! under the same id, which is how the Feedback pane ties each RETURN to the
//! code that asked for it.

pub mod dmx_console;
pub mod dmx_grid_layout;
pub mod dmx_tab;
pub mod feedback;
pub mod history;
pub mod input;
pub mod keymap;
pub mod layout;
pub mod pixels;

use crate::rv::client::{ClientEvent, ConnState};
use crate::rv::message::Event;
use crossterm::event::{KeyEvent, KeyEventKind, MouseButton, MouseEvent, MouseEventKind};
use feedback::{Feedback, Line, LineKind};
use history::{Entry, History};
use input::LineInput;
use keymap::{Action, Context};
use layout::{Areas, Button};
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui_textarea::TextArea;
use std::collections::HashMap;
use std::time::Duration;

/// The Mu the Playback Control buttons send (rv-protocol.md §8, byte for byte).
pub mod mu {
    pub const PLAY: &str = r#"play();"FRAME = " + frame();"#;
    pub const STOP: &str = r#"stop();"FRAME = " + frame();"#;
    pub const FORWARD: &str = r#"extra_commands.stepForward1();"FRAME = " + frame();"#;
    pub const BACK: &str = r#"extra_commands.stepBackward1();"FRAME = " + frame();"#;
    pub const POLL: &str = r#""FRAME = " + frame()"#;
    pub const FULL_SCREEN_ON: &str = "fullScreenMode(true)";
    pub const FULL_SCREEN_OFF: &str = "fullScreenMode(false)";
    pub const CACHE_ON: &str = "setCacheMode(CacheBuffer)";
    pub const CACHE_OFF: &str = "setCacheMode(CacheOff)";

    /// `setFrame(N);"FRAME = " + frame();`
    pub fn set_frame(frame: i64) -> String {
        format!(r#"setFrame({frame});"FRAME = " + frame();"#)
    }
}

/// The names the Raw Event tab's name key cycles through.
pub const EVENT_NAMES: [&str; 3] = ["remote-eval", "remote-pyeval", "remote-pyexec"];

/// How often the frame is polled while playing with Watch on.
pub const POLL_INTERVAL: Duration = Duration::from_millis(250);

/// How often a retry countdown is redrawn.
pub const COUNTDOWN_INTERVAL: Duration = Duration::from_millis(500);

/// The tabs that work today. The Pixels and OLA-DMX tabs join this enum when
/// they are built; nothing shows a tab that does not work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tab {
    Playback,
    RawEvent,
    Pixels,
    Dmx,
}

impl Tab {
    pub const ALL: [Tab; 4] = [Tab::Playback, Tab::RawEvent, Tab::Pixels, Tab::Dmx];

    pub fn index(self) -> usize {
        Self::ALL.iter().position(|t| *t == self).unwrap_or(0)
    }

    pub fn title(self) -> &'static str {
        match self {
            Tab::Playback => "Playback Control",
            Tab::RawEvent => "Raw Event",
            Tab::Pixels => "Pixels",
            Tab::Dmx => "OLA-DMX",
        }
    }

    pub fn context(self) -> Context {
        match self {
            Tab::Playback => Context::Playback,
            Tab::RawEvent => Context::RawEvent,
            Tab::Pixels => Context::Pixels,
            Tab::Dmx => Context::Dmx,
        }
    }
}

/// Identifies one request to one contact.
pub type RequestId = u64;

/// What the network side reports. `contact` indexes [`App::contacts`].
#[derive(Debug, Clone, PartialEq)]
pub enum NetEvent {
    /// The connection state changed.
    State { contact: usize, state: ConnState },
    /// Something the connection reported (connected, lost, incoming messages).
    Client { contact: usize, event: ClientEvent },
    /// The RETURN of RETURNEVENT `request`, or why there is none.
    Reply {
        request: RequestId,
        result: Result<String, String>,
    },
    /// EVENT `request` was written to the socket, or why not.
    Sent {
        request: RequestId,
        result: Result<(), String>,
    },
    /// A Pixels tab job reported.
    Pixels(pixels::PixelsEvent),
    /// olad's connection and the DMX tab's requests.
    Dmx(dmx_tab::DmxEvent),
}

/// Everything `App::update` reacts to.
#[derive(Debug, Clone, PartialEq)]
pub enum AppEvent {
    Key(KeyEvent),
    Mouse(MouseEvent),
    /// New terminal size (columns, rows).
    Resize(u16, u16),
    Paste(String),
    Net(NetEvent),
    /// Sent by the runner every [`App::tick_interval`], only while it is `Some`.
    Tick,
}

/// What the runner must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Send `event` to contact `contact`: a RETURNEVENT when `rsvp` (answer
    /// comes back as [`NetEvent::Reply`]), else an EVENT ([`NetEvent::Sent`]).
    Send {
        request: RequestId,
        contact: usize,
        event: Event,
        rsvp: bool,
    },
    /// Write the history file with this text.
    SaveHistory(String),
    /// Talk to olad for the DMX tab.
    Dmx(dmx_tab::DmxCommand),
    /// Sign off from every RV (DISCONNECT) and exit.
    Quit,
    /// A Pixels tab job: load, complete, push, cancel.
    Pixels(pixels::PixelsCommand),
}

/// Which text field has the keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    None,
    Editor,
    Name,
    Target,
    GoTo,
}

/// One RV connection as the screen shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactView {
    /// `host:port`.
    pub address: String,
    pub state: ConnState,
    /// The last failure already logged, so retries of one cause log once.
    last_failure: Option<String>,
    /// Set by the Connected event, so the next Disconnected reads "No longer connected".
    was_connected: bool,
    /// When the next attempt is due, on the [`App::now`] clock.
    retry_at: Option<Duration>,
}

impl ContactView {
    /// `peer@host:port` once connected, else `host:port`.
    pub fn label(&self) -> String {
        match &self.state {
            ConnState::Connected { peer } => format!("{peer}@{}", self.address),
            _ => self.address.clone(),
        }
    }

    pub fn is_connected(&self) -> bool {
        matches!(self.state, ConnState::Connected { .. })
    }

    /// The state in words at time `now` ([`App::now`]): connecting /
    /// connected / retrying in Ns (counting down) / closed.
    pub fn state_text(&self, now: Duration) -> String {
        match &self.state {
            ConnState::Connecting { attempt: 1 } => "connecting".into(),
            ConnState::Connecting { attempt } => format!("connecting (attempt {attempt})"),
            ConnState::Connected { .. } => "connected".into(),
            ConnState::Retrying { reason, delay } => {
                let why = if reason.contains("refused") {
                    "refused, "
                } else {
                    ""
                };
                let left = self
                    .retry_at
                    .map_or(*delay, |at| at.saturating_sub(now))
                    .as_secs_f64()
                    .ceil();
                format!("{why}retrying in {left:.0} s")
            }
            ConnState::Closed { .. } => "closed".into(),
        }
    }
}

/// Where a request came from, to route its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    Button,
    Raw,
    Poll,
}

#[derive(Debug, Clone)]
struct Pending {
    contact: usize,
    code: String,
    origin: Origin,
}

/// The whole application state. The main task alone owns it.
pub struct App {
    /// The RV connections' heartbeat interval (`None`: off, as rvshell); shown
    /// in the status line. The runner sets it from the connection settings.
    pub heartbeat: Option<std::time::Duration>,
    pub tab: Tab,
    pub focus: Focus,
    pub help: bool,
    pub help_scroll: u16,
    /// Terminal size, from the last resize.
    pub size: Rect,
    pub contacts: Vec<ContactView>,
    pub selected: usize,
    pub send_to_all: bool,
    pub feedback: Feedback,
    pub search_input: LineInput,
    /// `HH:MM:SS` stamped on new feedback lines; the runner sets it (tests leave it fixed).
    pub clock: String,
    /// Monotonic time since start, for countdowns; the runner sets it before each update.
    pub now: Duration,

    /// Frame from the last `"FRAME = N"` RETURN.
    pub frame: Option<i64>,
    pub playing: bool,
    pub full_screen: bool,
    pub cache: bool,
    pub poll: bool,
    pub goto: LineInput,
    poll_in_flight: Option<RequestId>,

    pub editor: TextArea<'static>,
    pub name: LineInput,
    pub target: LineInput,
    /// RETURNEVENT (true, the default) or EVENT.
    pub rsvp: bool,
    pub history: History,

    pub pixels: pixels::PixelsTab,
    /// The OLA-DMX tab.
    pub dmx: dmx_tab::DmxTab,

    pending: HashMap<RequestId, Pending>,
    next_request: RequestId,
    pub quitting: bool,
    dirty: bool,
}

impl App {
    /// A new app for these RV addresses (`host:port` each), with a loaded history.
    pub fn new(addresses: Vec<String>, history: History) -> Self {
        let contacts = addresses
            .into_iter()
            .map(|address| ContactView {
                address,
                state: ConnState::Connecting { attempt: 1 },
                last_failure: None,
                was_connected: false,
                retry_at: None,
            })
            .collect();
        let mut app = Self {
            tab: Tab::Playback,
            focus: Focus::None,
            help: false,
            help_scroll: 0,
            size: Rect::new(0, 0, 100, 30),
            contacts,
            selected: 0,
            send_to_all: false,
            feedback: Feedback::default(),
            search_input: LineInput::default(),
            clock: "00:00:00".into(),
            now: Duration::ZERO,
            frame: None,
            playing: false,
            full_screen: false,
            cache: false,
            poll: false,
            goto: LineInput::default(),
            poll_in_flight: None,
            editor: new_editor("play()"),
            name: LineInput::new(EVENT_NAMES[0]),
            target: LineInput::new("*"),
            rsvp: true,
            history,
            pixels: pixels::PixelsTab::default(),
            dmx: dmx_tab::DmxTab::new(crate::ola::client::DEFAULT_ADDR),
            heartbeat: None,
            pending: HashMap::new(),
            next_request: 1,
            quitting: false,
            dirty: true,
        };
        app.sync_editor_style();
        app
    }

    /// Whether anything changed since the last call (the runner redraws only then).
    pub fn take_dirty(&mut self) -> bool {
        std::mem::take(&mut self.dirty)
    }

    /// How often the runner should send [`AppEvent::Tick`]; `None` when idle.
    /// Ticks run only while something moves: the frame is being watched, or
    /// a retry countdown is on screen.
    pub fn tick_interval(&self) -> Option<Duration> {
        let rv = if self.polling() {
            Some(POLL_INTERVAL)
        } else if self.counting_down() {
            Some(COUNTDOWN_INTERVAL)
        } else {
            None
        };
        match (rv, self.dmx.tick_interval()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn polling(&self) -> bool {
        self.poll && self.playing && self.contacts.iter().any(ContactView::is_connected)
    }

    /// How far the help overlay scrolls: until its last line is at the
    /// bottom of the overlay (its border and a line of margin each way).
    fn help_scroll_max(&self) -> u16 {
        let lines = u16::try_from(keymap::help_lines(self.tab.context()).len()).unwrap_or(u16::MAX);
        lines.saturating_sub(self.size.height.saturating_sub(4))
    }

    fn counting_down(&self) -> bool {
        self.contacts
            .iter()
            .any(|c| matches!(c.state, ConnState::Retrying { .. }))
    }

    /// The screen geometry for the current size and tab.
    pub fn areas(&self) -> Areas {
        layout::areas(self.size, self.tab, self.contacts.len())
    }

    /// The code in the editor.
    pub fn code(&self) -> String {
        self.editor.lines().join("\n")
    }

    /// Whether the keys go to a text field (so `q` types a q).
    pub fn in_text(&self) -> bool {
        matches!(self.focus, Focus::Editor | Focus::Name | Focus::Target)
            || self.searching()
            || self.pixels_in_text()
            || (self.tab == Tab::Dmx && self.dmx.in_text())
    }

    /// Whether the search prompt is open.
    pub fn searching(&self) -> bool {
        self.feedback.search.as_ref().is_some_and(|s| s.editing)
    }

    /// Requests still waiting for their answer.
    pub fn pending_count(&self) -> usize {
        self.pending.len()
    }

    /// Reacts to one event.
    pub fn update(&mut self, event: AppEvent) -> Vec<Command> {
        match event {
            // A key always redraws (`on_key`); ticks and the network only
            // on change.
            AppEvent::Key(key) => self.on_key(key),
            AppEvent::Mouse(mouse) => self.on_mouse(mouse),
            AppEvent::Resize(w, h) => {
                self.size = Rect::new(0, 0, w, h);
                self.dirty = true;
                self.pixels_resized()
            }
            AppEvent::Paste(text) => {
                self.on_paste(&text);
                Vec::new()
            }
            AppEvent::Net(net) => self.on_net(net),
            AppEvent::Tick => self.on_tick(),
        }
    }

    /// A note from the shell itself in the Feedback pane (startup lines).
    pub fn note(&mut self, text: impl Into<String>) {
        self.log(LineKind::Info, String::new(), text);
    }

    fn log(&mut self, kind: LineKind, from: String, text: impl Into<String>) {
        self.feedback.push(Line {
            time: self.clock.clone(),
            kind,
            from,
            text: text.into(),
            request: None,
        });
        self.dirty = true;
    }

    fn contact_label(&self, contact: usize) -> String {
        self.contacts
            .get(contact)
            .map(ContactView::label)
            .unwrap_or_default()
    }

    // ---- keys -------------------------------------------------------------

    fn on_key(&mut self, key: KeyEvent) -> Vec<Command> {
        if key.kind == KeyEventKind::Release {
            return Vec::new();
        }
        self.dirty = true;
        if self.help {
            return match keymap::lookup(Context::Global, &key, true) {
                Some(Action::Quit)
                    if key
                        .modifiers
                        .contains(crossterm::event::KeyModifiers::CONTROL) =>
                {
                    self.quit()
                }
                _ => {
                    self.on_help_key(&key);
                    Vec::new()
                }
            };
        }
        if self.searching() {
            return self.on_search_key(&key);
        }
        if self.focus == Focus::GoTo {
            return self.on_goto_key(&key);
        }
        if self.tab == Tab::Dmx
            && let Some(commands) = self.dmx.on_key(&key)
        {
            return self.dmx_out(commands);
        }
        let in_text = self.in_text();
        if let Some(action) = keymap::lookup(self.tab.context(), &key, in_text) {
            return self.act(action);
        }
        if self.tab == Tab::Pixels {
            return self.pixels_text_key(&key);
        }
        match self.focus {
            Focus::Editor => {
                self.editor.input(key);
            }
            Focus::Name => {
                self.name.handle_key(&key);
            }
            Focus::Target => {
                self.target.handle_key(&key);
            }
            Focus::None | Focus::GoTo => self.dirty = false,
        }
        Vec::new()
    }

    fn on_help_key(&mut self, key: &KeyEvent) {
        use crossterm::event::KeyCode;
        match key.code {
            KeyCode::Up | KeyCode::Char('k') => {
                self.help_scroll = self.help_scroll.saturating_sub(1)
            }
            KeyCode::Down | KeyCode::Char('j') => {
                self.help_scroll = self
                    .help_scroll
                    .saturating_add(1)
                    .min(self.help_scroll_max());
            }
            KeyCode::PageUp => self.help_scroll = self.help_scroll.saturating_sub(10),
            KeyCode::PageDown => {
                self.help_scroll = self
                    .help_scroll
                    .saturating_add(10)
                    .min(self.help_scroll_max());
            }
            _ => {
                self.help = false;
                self.help_scroll = 0;
            }
        }
    }

    fn on_search_key(&mut self, key: &KeyEvent) -> Vec<Command> {
        use crossterm::event::{KeyCode, KeyModifiers};
        if key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL) {
            return self.quit();
        }
        match key.code {
            KeyCode::Esc => {
                self.feedback.search = None;
                self.feedback.hit = None;
            }
            KeyCode::Enter => {
                if let Some(search) = &mut self.feedback.search {
                    search.editing = false;
                }
                if self.search_input.text().is_empty() {
                    self.feedback.search = None;
                }
            }
            _ => {
                if self.search_input.handle_key(key) {
                    self.refresh_search();
                }
            }
        }
        Vec::new()
    }

    /// Incremental search: the newest match of the query as typed so far.
    fn refresh_search(&mut self) {
        if let Some(search) = &mut self.feedback.search {
            search.query = self.search_input.text().to_owned();
        }
        self.feedback.hit = None;
        if !self.feedback.find(true) {
            self.feedback.scroll_to_bottom();
        }
    }

    fn on_goto_key(&mut self, key: &KeyEvent) -> Vec<Command> {
        use crossterm::event::KeyCode;
        match key.code {
            KeyCode::Esc => {
                self.focus = Focus::None;
                Vec::new()
            }
            KeyCode::Enter => self.send_goto(),
            _ if LineInput::typed_char(key).is_some_and(|c| !(c.is_ascii_digit() || c == '-')) => {
                if let Some(action) = keymap::lookup(Context::Global, key, true) {
                    return self.act(action);
                }
                Vec::new()
            }
            _ => {
                if !self.goto.handle_key(key)
                    && let Some(action) = keymap::lookup(Context::Global, key, true)
                {
                    return self.act(action);
                }
                Vec::new()
            }
        }
    }

    fn send_goto(&mut self) -> Vec<Command> {
        let text = self.goto.text().trim().to_owned();
        match text.parse::<i64>() {
            Ok(frame) => {
                let commands = self.send(
                    Origin::Button,
                    Event::new("remote-eval", mu::set_frame(frame)),
                    true,
                );
                // Refused (not connected): the field stays open with the number.
                if !commands.is_empty() {
                    self.focus = Focus::None;
                }
                commands
            }
            Err(_) => {
                self.log(
                    LineKind::Error,
                    String::new(),
                    format!("go to frame: {text:?} is not a frame number; type digits, then Enter"),
                );
                Vec::new()
            }
        }
    }

    /// Runs one keymap action (keys and clicks both end here).
    pub fn act(&mut self, action: Action) -> Vec<Command> {
        self.dirty = true;
        match action {
            Action::Quit => return self.quit(),
            Action::Help => {
                self.help = true;
                self.help_scroll = 0;
            }
            Action::NextTab => self.set_tab(Tab::ALL[(self.tab.index() + 1) % Tab::ALL.len()]),
            Action::PrevTab => {
                self.set_tab(Tab::ALL[(self.tab.index() + Tab::ALL.len() - 1) % Tab::ALL.len()])
            }
            Action::GoTab(i) => {
                if let Some(tab) = Tab::ALL.get(i) {
                    self.set_tab(*tab);
                }
            }
            Action::Escape => {
                if self.feedback.search.is_some() {
                    self.feedback.search = None;
                    self.feedback.hit = None;
                } else {
                    self.set_focus(Focus::None);
                }
            }
            Action::ScrollUp => self.feedback.scroll_by(1),
            Action::ScrollDown => self.feedback.scroll_by(-1),
            Action::PageUp => self.feedback.scroll_by(self.feedback_page()),
            Action::PageDown => self.feedback.scroll_by(-self.feedback_page()),
            Action::ScrollTop => self.feedback.scroll_to_top(),
            Action::ScrollBottom => self.feedback.scroll_to_bottom(),
            Action::Search => {
                self.search_input = LineInput::default();
                self.feedback.search = Some(feedback::Search {
                    query: String::new(),
                    editing: true,
                });
                self.feedback.hit = None;
            }
            Action::SearchNext => {
                self.feedback.find(true);
            }
            Action::SearchPrev => {
                self.feedback.find(false);
            }
            Action::NextContact => {
                if !self.contacts.is_empty() {
                    self.selected = (self.selected + 1) % self.contacts.len();
                }
            }
            Action::PrevContact => {
                if !self.contacts.is_empty() {
                    self.selected = (self.selected + self.contacts.len() - 1) % self.contacts.len();
                }
            }
            Action::ToggleSendToAll => self.send_to_all = !self.send_to_all,
            Action::PlayStop => {
                return if self.playing {
                    self.act(Action::Stop)
                } else {
                    self.act(Action::Play)
                };
            }
            Action::Play => {
                let commands = self.button(mu::PLAY);
                if !commands.is_empty() {
                    self.playing = true;
                }
                return commands;
            }
            Action::Stop => {
                let commands = self.button(mu::STOP);
                if !commands.is_empty() {
                    self.playing = false;
                }
                return commands;
            }
            Action::StepForward => return self.button(mu::FORWARD),
            Action::StepBackward => return self.button(mu::BACK),
            Action::FullScreen => {
                let code = if self.full_screen {
                    mu::FULL_SCREEN_OFF
                } else {
                    mu::FULL_SCREEN_ON
                };
                let commands = self.send(Origin::Button, Event::new("remote-eval", code), false);
                if !commands.is_empty() {
                    self.full_screen = !self.full_screen;
                }
                return commands;
            }
            Action::Cache => {
                let code = if self.cache {
                    mu::CACHE_OFF
                } else {
                    mu::CACHE_ON
                };
                let commands = self.send(Origin::Button, Event::new("remote-eval", code), false);
                if !commands.is_empty() {
                    self.cache = !self.cache;
                }
                return commands;
            }
            Action::SetFrame => {
                self.goto = LineInput::default();
                self.focus = Focus::GoTo;
            }
            Action::TogglePoll => self.poll = !self.poll,
            Action::Send => return self.send_raw(),
            Action::CycleName => {
                let next = EVENT_NAMES
                    .iter()
                    .position(|n| *n == self.name.text())
                    .map_or(0, |i| (i + 1) % EVENT_NAMES.len());
                self.name.set(EVENT_NAMES[next]);
            }
            Action::ToggleKind => self.rsvp = !self.rsvp,
            Action::HistoryPrev => {
                let current = self.raw_entry();
                if let Some(entry) = self.history.older(current) {
                    self.load_entry(entry);
                }
            }
            Action::HistoryNext => {
                if let Some(entry) = self.history.newer() {
                    self.load_entry(entry);
                }
            }
            Action::NextField => {
                let next = match self.focus {
                    Focus::Editor => Focus::Name,
                    Focus::Name => Focus::Target,
                    _ => Focus::Editor,
                };
                self.set_focus(next);
            }
            Action::EditCode => self.set_focus(Focus::Editor),
            Action::Pixels(action) => return self.pixels_act(action),
            Action::Dmx(action) => {
                let commands = self.dmx.act(action, self.now);
                return self.dmx_out(commands);
            }
        }
        Vec::new()
    }

    /// Wraps the DMX tab's commands and moves its log lines to the feedback pane.
    fn dmx_out(&mut self, commands: Vec<dmx_tab::DmxCommand>) -> Vec<Command> {
        let logs = std::mem::take(&mut self.dmx.logs);
        // A tick with nothing to send or say changed nothing on screen.
        self.dirty |= !logs.is_empty() || !commands.is_empty();
        if !logs.is_empty() {
            let from = format!("olad@{}", self.dmx.address);
            for (kind, text) in logs {
                self.log(kind, from.clone(), text);
            }
        }
        commands.into_iter().map(Command::Dmx).collect()
    }

    fn feedback_page(&self) -> isize {
        let rows = self.areas().feedback.height.saturating_sub(2).max(1);
        isize::from(i16::try_from(rows).unwrap_or(i16::MAX))
    }

    fn set_tab(&mut self, tab: Tab) {
        self.tab = tab;
        self.set_focus(match tab {
            Tab::RawEvent => Focus::Editor,
            Tab::Playback | Tab::Pixels | Tab::Dmx => Focus::None,
        });
    }

    fn set_focus(&mut self, focus: Focus) {
        self.focus = focus;
        self.sync_editor_style();
    }

    /// The editor shows its cursor only while it has the keys.
    fn sync_editor_style(&mut self) {
        let style = if self.focus == Focus::Editor {
            Style::default().add_modifier(Modifier::REVERSED)
        } else {
            Style::default()
        };
        self.editor.set_cursor_style(style);
    }

    fn quit(&mut self) -> Vec<Command> {
        self.quitting = true;
        self.dirty = true;
        self.log(LineKind::Info, String::new(), "signing off from every RV");
        vec![Command::Quit]
    }

    // ---- sending ----------------------------------------------------------

    fn button(&mut self, code: &str) -> Vec<Command> {
        self.send(Origin::Button, Event::new("remote-eval", code), true)
    }

    fn raw_entry(&self) -> Entry {
        Entry {
            name: self.name.text().to_owned(),
            target: self.target.text().to_owned(),
            rsvp: self.rsvp,
            code: self.code(),
        }
    }

    fn load_entry(&mut self, entry: Entry) {
        self.name.set(entry.name);
        self.target.set(entry.target);
        self.rsvp = entry.rsvp;
        self.editor = new_editor(&entry.code);
        self.sync_editor_style();
    }

    fn send_raw(&mut self) -> Vec<Command> {
        let entry = self.raw_entry();
        if entry.code.trim().is_empty() {
            self.log(
                LineKind::Error,
                String::new(),
                "nothing to send: the code is empty",
            );
            return Vec::new();
        }
        let event = Event {
            name: entry.name.clone(),
            target: entry.target.clone(),
            contents: entry.code.clone(),
        };
        let mut commands = self.send(Origin::Raw, event, entry.rsvp);
        if !commands.is_empty() {
            self.history.push(entry);
            commands.push(Command::SaveHistory(self.history.to_text()));
        }
        commands
    }

    /// Checks and sends one event to the selected contact (or to every
    /// connected one). A refusal is logged and returns no command; nothing
    /// the user typed is touched either way.
    fn send(&mut self, origin: Origin, event: Event, rsvp: bool) -> Vec<Command> {
        for (what, value) in [("name", &event.name), ("target", &event.target)] {
            if value.is_empty() || value.chars().any(char::is_whitespace) {
                self.log(
                    LineKind::Error,
                    String::new(),
                    format!(
                        "not sent: event {what} {value:?} must be one word without spaces \
                         (RV splits the message at spaces); your text is kept"
                    ),
                );
                return Vec::new();
            }
        }
        // The frame poll asks the selected RV only, whatever "send to all" says.
        let to_all = self.send_to_all && origin != Origin::Poll;
        let targets: Vec<usize> = if to_all {
            (0..self.contacts.len())
                .filter(|&i| self.contacts[i].is_connected())
                .collect()
        } else {
            self.contacts
                .get(self.selected)
                .filter(|c| c.is_connected())
                .map(|_| self.selected)
                .into_iter()
                .collect()
        };
        if targets.is_empty() {
            if origin != Origin::Poll {
                let reason = match self.contacts.get(self.selected) {
                    Some(c) if !self.send_to_all => {
                        format!(
                            "not connected to RV at {} ({})",
                            c.address,
                            c.state_text(self.now)
                        )
                    }
                    _ => "no RV is connected".into(),
                };
                let kept = if origin == Origin::Raw {
                    "; your text is kept"
                } else {
                    ""
                };
                self.log(
                    LineKind::Error,
                    String::new(),
                    format!("{reason}: nothing was sent{kept}"),
                );
            }
            return Vec::new();
        }
        let kind = if rsvp { "RETURNEVENT" } else { "EVENT" };
        let mut commands = Vec::new();
        for contact in targets {
            let request = self.next_request;
            self.next_request += 1;
            if origin != Origin::Poll {
                let from = self.contact_label(contact);
                self.log(
                    LineKind::Sent,
                    from,
                    format!(
                        "→ {kind} {} {} {}",
                        event.name,
                        event.target,
                        one_line(&event.contents)
                    ),
                );
            } else {
                self.poll_in_flight = Some(request);
            }
            self.pending.insert(
                request,
                Pending {
                    contact,
                    code: event.contents.clone(),
                    origin,
                },
            );
            commands.push(Command::Send {
                request,
                contact,
                event: event.clone(),
                rsvp,
            });
        }
        commands
    }

    fn on_tick(&mut self) -> Vec<Command> {
        // A fade step changes the values shown, whether or not it can be
        // sent now (olad away, a send in flight).
        self.dirty |= self.dmx.console.fade().is_some();
        let dmx = self.dmx.on_tick(self.now);
        let mut commands = self.dmx_out(dmx);
        if self.counting_down() {
            self.dirty = true;
        }
        if !self.polling() || self.poll_in_flight.is_some() {
            return commands;
        }
        commands.extend(self.send(Origin::Poll, Event::new("remote-eval", mu::POLL), true));
        commands
    }

    // ---- network ----------------------------------------------------------

    fn on_net(&mut self, net: NetEvent) -> Vec<Command> {
        match net {
            NetEvent::State { contact, state } => self.on_state(contact, state),
            NetEvent::Client { contact, event } => self.on_client(contact, event),
            NetEvent::Reply { request, result } => self.on_reply(request, result),
            NetEvent::Dmx(event) => {
                // olad's pushes come as often as its sources send: one is
                // drawn only if it shows (on the DMX tab) and changed.
                self.dirty |= match &event {
                    dmx_tab::DmxEvent::Readback { universe, data } => {
                        self.tab == Tab::Dmx
                            && *universe == self.dmx.console.universe()
                            && self.dmx.console.readback()
                                != Some(&data[..data.len().min(dmx_console::SLOTS)])
                    }
                    _ => true,
                };
                let commands = self.dmx.on_event(event, self.now);
                return self.dmx_out(commands);
            }
            NetEvent::Sent { request, result } => {
                if let Some(pending) = self.pending.remove(&request)
                    && let Err(err) = result
                {
                    let from = self.contact_label(pending.contact);
                    self.log_failure(from, &pending.code, err);
                }
            }
            NetEvent::Pixels(event) => return self.on_pixels_event(event),
        }
        Vec::new()
    }

    fn log_failure(&mut self, from: String, code: &str, err: String) {
        self.feedback.push(Line {
            time: self.clock.clone(),
            kind: LineKind::Error,
            from,
            text: err,
            request: Some(one_line(code)),
        });
        self.dirty = true;
    }

    /// Tracks a connection's state for the contact list and the countdown.
    /// What went wrong is logged from [`ClientEvent::Disconnected`] alone:
    /// the two arrive in either order.
    fn on_state(&mut self, contact: usize, state: ConnState) {
        let Some(view) = self.contacts.get_mut(contact) else {
            return;
        };
        if view.state == state {
            return;
        }
        if matches!(state, ConnState::Connected { .. }) {
            view.last_failure = None;
        }
        view.retry_at = match &state {
            ConnState::Retrying { delay, .. } => Some(self.now + *delay),
            _ => None,
        };
        view.state = state;
        self.dirty = true;
    }

    fn on_client(&mut self, contact: usize, event: ClientEvent) {
        let from = self.contact_label(contact);
        match event {
            // The state itself comes from NetEvent::State (the watch channel
            // is always current; this event may be queued behind a later loss).
            ClientEvent::Connected { peer, app } => {
                if let Some(view) = self.contacts.get_mut(contact) {
                    view.was_connected = true;
                    view.last_failure = None;
                }
                let from = self
                    .contacts
                    .get(contact)
                    .map(|c| format!("{peer}@{}", c.address))
                    .unwrap_or_default();
                self.log(
                    LineKind::Connection,
                    from,
                    format!("Connected to {peer} ({app})"),
                );
            }
            ClientEvent::Disconnected { reason, retry_in } => {
                let Some(view) = self.contacts.get_mut(contact) else {
                    return;
                };
                let was_connected = std::mem::take(&mut view.was_connected);
                // A refused RV is retried forever: log each cause once.
                if !was_connected && view.last_failure.as_ref() == Some(&reason) {
                    return;
                }
                view.last_failure = Some(reason.clone());
                let retry = retry_in
                    .map(|d| format!("; retrying in {:.1} s", d.as_secs_f64()))
                    .unwrap_or_default();
                let text = if was_connected {
                    format!("No longer connected: {reason}{retry}")
                } else {
                    format!("{reason}{retry}")
                };
                self.log(LineKind::Connection, from, text);
                if self.contacts.iter().all(|c| !c.is_connected()) {
                    self.poll_in_flight = None;
                }
            }
            ClientEvent::Event(ev) => self.log(
                LineKind::Incoming,
                from,
                format!("EVENT {} {} {}", ev.name, ev.target, one_line(&ev.contents)),
            ),
            ClientEvent::ReturnEvent(ev) => self.log(
                LineKind::Incoming,
                from,
                format!(
                    "RETURNEVENT {} {} {}",
                    ev.name,
                    ev.target,
                    one_line(&ev.contents)
                ),
            ),
            ClientEvent::UnexpectedReturn(value) => self.log(
                LineKind::Incoming,
                from,
                format!(
                    "RETURN {} (no request was waiting for it)",
                    one_line(&value)
                ),
            ),
            ClientEvent::LateReturn { request, value } => {
                self.note_frame(&value);
                self.feedback.push(Line {
                    time: self.clock.clone(),
                    kind: LineKind::Incoming,
                    from,
                    text: format!(
                        "RETURN {} (late: the request had timed out)",
                        one_line(&value)
                    ),
                    request: Some(one_line(&request)),
                });
                self.dirty = true;
            }
            ClientEvent::OtherMessage(text) => self.log(LineKind::Incoming, from, one_line(&text)),
            ClientEvent::Data { header, payload } => self.log(
                LineKind::Incoming,
                from,
                format!("{header} ({} bytes)", payload.len()),
            ),
            ClientEvent::Ping => {}
            ClientEvent::PeerSignedOff => {
                self.log(LineKind::Connection, from, "RV signed off (DISCONNECT)")
            }
        }
    }

    fn on_reply(&mut self, request: RequestId, result: Result<String, String>) {
        let Some(pending) = self.pending.remove(&request) else {
            return;
        };
        if self.poll_in_flight == Some(request) {
            self.poll_in_flight = None;
        }
        let from = self.contact_label(pending.contact);
        match result {
            Ok(value) => {
                let changed = self.note_frame(&value);
                if pending.origin == Origin::Poll {
                    self.dirty |= changed;
                    return;
                }
                self.feedback.push(Line {
                    time: self.clock.clone(),
                    kind: LineKind::Return,
                    from,
                    text: format!("RETURN {}", one_line(&value)),
                    request: Some(one_line(&pending.code)),
                });
                self.dirty = true;
            }
            Err(err) => self.log_failure(from, &pending.code, err),
        }
    }

    /// Takes the frame from a `"FRAME = N"` RETURN; true when it changed.
    fn note_frame(&mut self, value: &str) -> bool {
        let Some(frame) = parse_frame(value) else {
            return false;
        };
        let changed = self.frame != Some(frame);
        self.frame = Some(frame);
        changed
    }

    // ---- mouse and paste --------------------------------------------------

    fn on_mouse(&mut self, mouse: MouseEvent) -> Vec<Command> {
        let areas = self.areas();
        let at = ratatui::layout::Position {
            x: mouse.column,
            y: mouse.row,
        };
        match mouse.kind {
            MouseEventKind::Down(MouseButton::Left) => {
                if self.help {
                    self.help = false;
                    self.dirty = true;
                    return Vec::new();
                }
                if let Some(rect) = areas.contacts
                    && rect.contains(at)
                {
                    // Two rows per contact inside the border.
                    let index = usize::from(mouse.row.saturating_sub(rect.y + 1) / 2);
                    if mouse.row > rect.y && index < self.contacts.len() {
                        self.selected = index;
                        self.send_to_all = false;
                        self.dirty = true;
                    }
                    return Vec::new();
                }
                if let Some(tab) = areas.tab_at(mouse.column, mouse.row) {
                    self.dirty = true;
                    self.set_tab(tab);
                    return Vec::new();
                }
                if self.tab == Tab::Pixels
                    && let Some(commands) = self.pixels_click(areas.body, at)
                {
                    return commands;
                }
                if let Some(button) = areas.button_at(mouse.column, mouse.row) {
                    return self.click(button);
                }
                if self.tab == Tab::Dmx && areas.body.contains(at) {
                    self.dirty = true;
                    let commands = self.dmx.click(mouse.column, mouse.row);
                    return self.dmx_out(commands);
                }
                Vec::new()
            }
            MouseEventKind::ScrollUp | MouseEventKind::ScrollDown if self.help => {
                self.help_scroll = if mouse.kind == MouseEventKind::ScrollUp {
                    self.help_scroll.saturating_sub(3)
                } else {
                    self.help_scroll
                        .saturating_add(3)
                        .min(self.help_scroll_max())
                };
                self.dirty = true;
                Vec::new()
            }
            MouseEventKind::ScrollUp | MouseEventKind::ScrollDown
                if areas.button_at(mouse.column, mouse.row) == Some(Button::Editor) =>
            {
                self.editor.input(mouse);
                self.dirty = true;
                Vec::new()
            }
            MouseEventKind::ScrollUp | MouseEventKind::ScrollDown
                if self.tab == Tab::Dmx && areas.body.contains(at) =>
            {
                let up = mouse.kind == MouseEventKind::ScrollUp;
                self.dirty = true;
                let commands = self.dmx.wheel(up, self.now);
                self.dmx_out(commands)
            }
            MouseEventKind::ScrollUp | MouseEventKind::ScrollDown
                if areas.feedback.contains(at) =>
            {
                let delta = if mouse.kind == MouseEventKind::ScrollUp {
                    3
                } else {
                    -3
                };
                self.feedback.scroll_by(delta);
                self.dirty = true;
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    fn click(&mut self, button: Button) -> Vec<Command> {
        self.dirty = true;
        match button {
            Button::Back => self.act(Action::StepBackward),
            Button::Play => self.act(Action::Play),
            Button::Stop => self.act(Action::Stop),
            Button::Forward => self.act(Action::StepForward),
            Button::FullScreen => self.act(Action::FullScreen),
            Button::Cache => self.act(Action::Cache),
            Button::Poll => self.act(Action::TogglePoll),
            Button::GoTo => self.act(Action::SetFrame),
            Button::Name => {
                self.set_focus(Focus::Name);
                Vec::new()
            }
            Button::Target => {
                self.set_focus(Focus::Target);
                Vec::new()
            }
            Button::Kind => self.act(Action::ToggleKind),
            Button::Send => self.act(Action::Send),
            Button::Editor => {
                self.set_focus(Focus::Editor);
                Vec::new()
            }
        }
    }

    fn on_paste(&mut self, text: &str) {
        self.dirty = true;
        if self.searching() {
            self.search_input.insert_str(text);
            self.refresh_search();
            return;
        }
        if self.tab == Tab::Pixels && self.pixels_paste(text) {
            return;
        }
        match self.focus {
            Focus::Name => self.name.insert_str(text),
            Focus::Target => self.target.insert_str(text),
            Focus::GoTo => self.goto.insert_str(text.trim()),
            Focus::Editor => {
                self.editor.insert_str(unix_newlines(text));
            }
            Focus::None if self.tab == Tab::RawEvent => {
                self.set_focus(Focus::Editor);
                self.editor.insert_str(unix_newlines(text));
            }
            Focus::None => self.dirty = false,
        }
    }
}

/// A fresh editor holding `code`.
fn new_editor(code: &str) -> TextArea<'static> {
    let mut editor = TextArea::new(code.lines().map(str::to_owned).collect());
    editor.set_cursor_line_style(Style::default());
    editor.move_cursor(ratatui_textarea::CursorMove::Bottom);
    editor.move_cursor(ratatui_textarea::CursorMove::End);
    editor
}

/// Pasted text with its line breaks as `\n`: terminals send a paste's
/// newlines as CR, which the editor would keep inside one line.
fn unix_newlines(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\r', "\n")
}

/// Multi-line text shown on one feedback line.
fn one_line(text: &str) -> String {
    text.replace("\r\n", "⏎").replace(['\n', '\r'], "⏎")
}

/// The N of `"FRAME = N"` (quoted or not) in a RETURN.
pub fn parse_frame(value: &str) -> Option<i64> {
    let rest = value.split("FRAME = ").nth(1)?;
    let end = rest
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_digit() || (i == 0 && c == '-')))
        .map_or(rest.len(), |(i, _)| i);
    rest[..end].parse().ok()
}
