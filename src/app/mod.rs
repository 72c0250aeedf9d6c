//! Application state and its one entry point, [`App::update`]: an event in
//! (a key, a click, a network report), commands out. No I/O, no terminal, no
//! awaiting: the runner (`shell::runner`) executes the [`Command`]s in tasks and
//! posts their outcome back as [`AppEvent::Net`], so a slow or hung RV can
//! never freeze the screen.
//!
//! Requests carry a [`RequestId`] the app allocates; the RETURN comes back
//! under the same id, which is how the Feedback pane ties each RETURN to the
//! code that asked for it.

pub mod cue;
pub mod dmx_console;
pub mod dmx_grid_layout;
pub mod dmx_tab;
pub mod feedback;
pub mod history;
pub mod input;
pub mod keymap;
pub mod layout;
pub mod pixels;

mod keys;
mod mouse;
mod net;
mod send;

use crate::rv::client::{ClientEvent, ConnState};
use crate::rv::events::{self, RvEvent};
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
    /// The show file was written, or why not.
    ShowSaved(Result<std::path::PathBuf, String>),
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
    /// Write the show file (a scene stored with Shift+F); answer with
    /// [`NetEvent::ShowSaved`].
    SaveShow {
        path: std::path::PathBuf,
        text: String,
    },
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

/// How the Playback tab learns an RV's state.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum LiveMode {
    /// Not (yet) subscribed: waiting for the connection and RV's answer.
    #[default]
    Waiting,
    /// RV forwards its events to us (rv-events.md): no polling.
    Live,
    /// RV refused to install the handlers (its words); the Watch toggle
    /// polls the frame instead.
    Refused(String),
}

/// One RV's playback state as its forwarded events keep it (all `None`
/// until known).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LiveState {
    pub mode: LiveMode,
    pub frame: Option<i64>,
    pub playing: Option<bool>,
    pub fps: Option<f64>,
    /// The frame range, first and last frame.
    pub range: Option<(i64, i64)>,
    pub in_point: Option<i64>,
    pub out_point: Option<i64>,
    /// The viewed node (the current source or view).
    pub view: Option<String>,
}

/// One RV connection as the screen shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ContactView {
    /// `host:port`.
    pub address: String,
    pub state: ConnState,
    /// What its forwarded events say (see [`LiveState`]).
    pub live: LiveState,
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
    /// The state query after a subscription ([`crate::rv::events::STATE_QUERY`]).
    State,
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
    /// The cue link, when a show was given (`--show`).
    pub cue: Option<cue::CueLink>,

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
                live: LiveState::default(),
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
            cue: None,
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
        let cue = self
            .cue
            .as_ref()
            .and_then(cue::CueLink::next_due)
            .map(|due| due.saturating_sub(self.now).max(Duration::from_millis(1)));
        [rv, self.dmx.tick_interval(), cue]
            .into_iter()
            .flatten()
            .min()
    }

    /// Polls the frame only as the fallback: Watch on, playing, and the
    /// selected RV does not forward its events.
    fn polling(&self) -> bool {
        self.poll
            && self.playing
            && self.live().is_none_or(|live| live.mode != LiveMode::Live)
            && self.contacts.iter().any(ContactView::is_connected)
    }

    /// Applies what the cue link asks: lines to the feedback pane, frames
    /// shown on the console when it shows their universe, commands out.
    fn cue_out(&mut self, out: cue::CueOut) -> Vec<Command> {
        for (error, text) in out.lines {
            let kind = if error {
                LineKind::Error
            } else {
                LineKind::Info
            };
            self.log(kind, "cue".into(), text);
        }
        for frame in &out.frames {
            if frame.universe == self.dmx.console.universe() {
                // The console takes the cue's channels, so its next send
                // carries them rather than undoing the cue.
                self.dmx.console.adopt(&frame.changed);
                self.dmx.console.set_readback(&frame.data);
                self.dirty |= self.tab == Tab::Dmx;
            }
        }
        if !out.commands.is_empty() && self.tab == Tab::Dmx {
            self.dirty = true;
        }
        out.commands.into_iter().map(Command::Dmx).collect()
    }

    /// The selected RV's live state.
    pub fn live(&self) -> Option<&LiveState> {
        self.contacts.get(self.selected).map(|c| &c.live)
    }

    /// The frame the Playback tab shows: the selected RV's live frame when
    /// it forwards its events, else the last `"FRAME = N"` RETURN.
    pub fn shown_frame(&self) -> Option<i64> {
        match self.live() {
            Some(live) if live.mode == LiveMode::Live && live.frame.is_some() => live.frame,
            _ => self.frame,
        }
    }

    /// Whether the selected RV plays, by the same rule as [`App::shown_frame`].
    pub fn shown_playing(&self) -> bool {
        match self.live() {
            Some(LiveState {
                mode: LiveMode::Live,
                playing: Some(playing),
                ..
            }) => *playing,
            _ => self.playing,
        }
    }

    /// How far the help overlay scrolls: until its last line is at the
    /// bottom of the overlay (its border and a line of margin each way).
    fn help_scroll_max(&self) -> u16 {
        let rows = keymap::help_layout(self.tab.context(), self.size.width).rows;
        let lines = u16::try_from(rows.len()).unwrap_or(u16::MAX);
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
        let commands = self.dispatch(event);
        // What the console sends is what olad holds for the cue link too:
        // the next cue keeps the channels its scene does not list.
        if let Some(link) = &mut self.cue {
            for command in &commands {
                if let Command::Dmx(dmx_tab::DmxCommand::Send(frame)) = command {
                    link.console_sent(frame.universe, &frame.data);
                }
            }
        }
        commands
    }

    fn dispatch(&mut self, event: AppEvent) -> Vec<Command> {
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
