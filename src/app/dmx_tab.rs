//! The OLA-DMX tab: the [`DmxConsole`] wired to olad through commands and
//! events, a universe picker, a patch form, and the priority and fade-time
//! fields. Pure state like the rest of `app/`: keys and [`DmxEvent`]s in,
//! [`DmxCommand`]s out; the runner (`shell::dmx`) does the I/O.
//!
//! # Sending (the console's send contract)
//!
//! Every change yields the whole frame. At most one `UpdateDmxData` is in
//! flight; a change made meanwhile is kept in `queued` (newest wins: a frame
//! is a whole state, so nothing is lost by replacing an older one) and sent
//! when the flight lands. A failed send is shown on the slot row and in the
//! feedback pane and stays pending: it is re-sent by the next change, on a
//! retry timer ([`RETRY_INTERVAL`]) and whenever olad (re)connects. While
//! olad is not connected nothing is sent; the values are kept and sent, as
//! one frame, when it is back.

use super::dmx_console::{DmxConsole, Frame};
use super::feedback::LineKind;
use super::input::LineInput;
pub use super::keymap::DmxAction;
use crate::app::dmx_grid_layout::DmxGridState;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::cell::Cell;
use std::time::{Duration, Instant};

/// How often a running fade is advanced (25 Hz, as DMX desks fade).
pub const FADE_TICK: Duration = Duration::from_millis(40);
/// How long after a failed send it is tried again (changes and reconnects
/// re-send sooner).
pub const RETRY_INTERVAL: Duration = Duration::from_secs(1);
/// The universe the console starts on.
pub const DEFAULT_UNIVERSE: u32 = 1;

/// olad's connection as the tab and the status line show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OladState {
    /// `rvshell demo` on a machine without OLA: there is no olad to talk to.
    NotInstalled,
    /// The first connection attempt is under way.
    Connecting,
    Connected,
    /// The connection dropped; the client reconnects with backoff.
    Retrying {
        reason: String,
    },
    /// Nothing answers at the address; the runner keeps trying.
    NotRunning {
        reason: String,
    },
}

impl OladState {
    /// The state in a word or two, for the status line.
    pub fn text(&self) -> &'static str {
        match self {
            OladState::NotInstalled => "not installed",
            OladState::Connecting => "connecting",
            OladState::Connected => "connected",
            OladState::Retrying { .. } => "retrying",
            OladState::NotRunning { .. } => "not running",
        }
    }
}

/// One universe olad knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UniverseEntry {
    pub universe: u32,
    pub name: String,
    /// Output ports patched to it: with none, frames sent there go nowhere.
    pub output_ports: u32,
}

/// One port that can be patched to a universe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortEntry {
    pub device_alias: i32,
    pub device: String,
    pub port_id: i32,
    pub is_output: bool,
    pub description: String,
}

impl PortEntry {
    /// `1 Dummy Device, output 0 (Dummy Port)`.
    pub fn label(&self) -> String {
        let dir = if self.is_output { "output" } else { "input" };
        let mut text = format!(
            "{} {}, {dir} {}",
            self.device_alias, self.device, self.port_id
        );
        if !self.description.is_empty() {
            text.push_str(&format!(" ({})", self.description));
        }
        text
    }
}

/// What the runner must do for the DMX tab.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DmxCommand {
    /// UpdateDmxData with this frame; answer with [`DmxEvent::Sent`].
    /// (Boxed: 512 slots would make every command that big.)
    Send(Box<Frame>),
    /// GetDmx; answer with [`DmxEvent::Loaded`].
    Load(u32),
    /// RegisterForDmx (replacing the previous subscription); answer with
    /// [`DmxEvent::Registered`], then forward pushes as [`DmxEvent::Readback`].
    Register(u32),
    /// GetUniverseInfo; answer with [`DmxEvent::Universes`].
    ListUniverses,
    /// GetCandidatePorts; answer with [`DmxEvent::Ports`].
    ListPorts,
    /// PatchPort, then SetUniverseName when a name is given; answer with
    /// [`DmxEvent::Patched`].
    Patch {
        port: PortEntry,
        universe: u32,
        name: Option<String>,
    },
    /// A frame of the cue link (show file): sent in order with the link's
    /// other frames; answer with [`DmxEvent::CueSent`].
    SendCue {
        universe: u32,
        data: Vec<u8>,
        priority: u8,
    },
    /// GetDmx for the cue link's held state; answer with [`DmxEvent::Held`].
    LoadHeld(u32),
}

impl DmxCommand {
    /// The answer that says this command failed with `err`.
    pub fn failed(&self, err: String) -> DmxEvent {
        match self {
            DmxCommand::Send(frame) => DmxEvent::Sent {
                universe: frame.universe,
                generation: frame.generation,
                result: Err(err),
            },
            DmxCommand::Load(universe) => DmxEvent::Loaded {
                universe: *universe,
                result: Err(err),
            },
            DmxCommand::Register(universe) => DmxEvent::Registered {
                universe: *universe,
                result: Err(err),
            },
            DmxCommand::ListUniverses => DmxEvent::Universes(Err(err)),
            DmxCommand::ListPorts => DmxEvent::Ports(Err(err)),
            DmxCommand::Patch {
                port,
                universe,
                name,
            } => DmxEvent::Patched {
                port: port.clone(),
                universe: *universe,
                name: name.clone(),
                result: Err(err),
            },
            DmxCommand::SendCue { universe, .. } => DmxEvent::CueSent {
                universe: *universe,
                result: Err(err),
            },
            DmxCommand::LoadHeld(universe) => DmxEvent::Held {
                universe: *universe,
                result: Err(err),
            },
        }
    }
}

/// What the runner reports back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DmxEvent {
    State(OladState),
    /// The same client reconnected after losing olad and restored its
    /// registrations and last frames itself; `failed` says what it could
    /// not restore, one line each.
    Reconnected {
        failed: Vec<String>,
    },
    Sent {
        /// The universe the frame went to (the console may have moved on).
        universe: u32,
        generation: u64,
        result: Result<(), String>,
    },
    Loaded {
        universe: u32,
        result: Result<Vec<u8>, String>,
    },
    Registered {
        universe: u32,
        result: Result<(), String>,
    },
    Readback {
        universe: u32,
        data: Vec<u8>,
    },
    Universes(Result<Vec<UniverseEntry>, String>),
    Ports(Result<Vec<PortEntry>, String>),
    /// The answer to [`DmxCommand::SendCue`].
    CueSent {
        universe: u32,
        result: Result<(), String>,
    },
    /// The answer to [`DmxCommand::LoadHeld`].
    Held {
        universe: u32,
        result: Result<Vec<u8>, String>,
    },
    /// The answer to [`DmxCommand::Patch`], with what it asked for.
    Patched {
        port: PortEntry,
        universe: u32,
        name: Option<String>,
        result: Result<(), String>,
    },
}

/// The universe picker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Picker {
    /// `None` while olad is being asked.
    pub entries: Option<Vec<UniverseEntry>>,
    pub error: Option<String>,
    /// Index into the entries; one past the last is "patch a port".
    pub selected: usize,
    /// A universe number typed to go to directly (one olad does not list
    /// yet, e.g. one another program sends to).
    pub typed: String,
}

/// Which field of the patch form has the keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchField {
    Port,
    Universe,
    Name,
}

/// The form that creates a universe by patching a port to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatchForm {
    /// `None` while olad is being asked.
    pub ports: Option<Vec<PortEntry>>,
    pub selected: usize,
    pub universe: LineInput,
    pub name: LineInput,
    pub field: PatchField,
    pub error: Option<String>,
    /// A PatchPort is under way.
    pub busy: bool,
}

/// Which one-line field is being edited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    Priority,
    FadeTime,
}

impl FieldKind {
    /// Whether `c` can be part of the number.
    fn accepts(self, c: char) -> bool {
        match self {
            FieldKind::Priority => c.is_ascii_digit(),
            FieldKind::FadeTime => c.is_ascii_digit() || c == '.',
        }
    }

    fn name(self) -> &'static str {
        match self {
            FieldKind::Priority => "priority",
            FieldKind::FadeTime => "fade time",
        }
    }

    fn takes(self) -> &'static str {
        match self {
            FieldKind::Priority => "digits (0..=200), then Enter; Esc cancels",
            FieldKind::FadeTime => "seconds like 2.5, then Enter; Esc cancels",
        }
    }
}

/// A priority or fade-time entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldEdit {
    pub kind: FieldKind,
    pub input: LineInput,
    pub error: Option<String>,
}

/// The tab's whole state.
#[derive(Debug)]
pub struct DmxTab {
    pub console: DmxConsole,
    /// olad's address, as the runner resolved it.
    pub address: String,
    pub state: OladState,
    /// The universe names olad reported last (for the header).
    pub names: Vec<UniverseEntry>,
    pub picker: Option<Picker>,
    pub patch: Option<PatchForm>,
    pub field: Option<FieldEdit>,
    /// Scroll position and geometry of the last drawn grid. The UI writes it
    /// while drawing (it alone knows the width), the app reads it for up/down
    /// moves and mouse clicks: a `Cell` so drawing can keep taking `&App`.
    pub grid: Cell<DmxGridState>,
    /// The generation of the frame in flight.
    in_flight: Option<u64>,
    /// The newest frame made while another was in flight.
    queued: Option<Frame>,
    /// Send the whole current frame when the wire is free (after a connect).
    want_resend: bool,
    /// When a failed send is tried again, on the [`super::App::now`] clock.
    retry_at: Option<Duration>,
    /// The user changed something on this universe (so a connect re-asserts
    /// our values instead of loading olad's).
    touched: bool,
    /// The last send failure logged, so a refusing olad logs once.
    last_error: Option<String>,
    /// The last state logged about olad not being there.
    last_offline: Option<String>,
    /// Whether we were ever connected (to word the loss line).
    was_connected: bool,
    /// The instant `now == 0` stands for (fades need `Instant`s).
    base: Instant,
    /// Lines for the feedback pane; the app drains them.
    pub(crate) logs: Vec<(LineKind, String)>,
}

impl DmxTab {
    /// A tab for olad at `address`, on universe 1, not connected yet.
    pub fn new(address: impl Into<String>) -> Self {
        Self {
            console: DmxConsole::new(DEFAULT_UNIVERSE),
            address: address.into(),
            state: OladState::Connecting,
            names: Vec::new(),
            picker: None,
            patch: None,
            field: None,
            grid: Cell::new(DmxGridState::default()),
            in_flight: None,
            queued: None,
            want_resend: false,
            retry_at: None,
            touched: false,
            last_error: None,
            last_offline: None,
            was_connected: false,
            base: Instant::now(),
            logs: Vec::new(),
        }
    }

    pub fn is_connected(&self) -> bool {
        self.state == OladState::Connected
    }

    /// The name olad gave the current universe, if known.
    pub fn universe_name(&self) -> Option<&str> {
        let u = self.console.universe();
        self.names
            .iter()
            .find(|e| e.universe == u)
            .map(|e| e.name.as_str())
    }

    /// Whether a send is waiting for olad's answer.
    pub fn in_flight(&self) -> bool {
        self.in_flight.is_some()
    }

    /// On quit: the newest state olad has not been given yet (a change held
    /// behind the frame in flight, or a failed one), so the runner can send
    /// it before the close barrier. `None` when olad has everything we know
    /// of, or is not connected.
    pub fn final_frame(&mut self) -> Option<Frame> {
        if !self.is_connected() {
            return None;
        }
        self.queued.take().or_else(|| self.console.take_frame())
    }

    /// What the tab needs ticks for: a fade, or a retry of a failed send.
    pub fn tick_interval(&self) -> Option<Duration> {
        if self.console.fade().is_some() {
            Some(FADE_TICK)
        } else if self.retry_at.is_some() && self.is_connected() {
            Some(RETRY_INTERVAL)
        } else {
            None
        }
    }

    /// Whether the keys go to a field of the tab (so `q` types, not quits).
    pub fn in_text(&self) -> bool {
        self.field.is_some()
            || self
                .patch
                .as_ref()
                .is_some_and(|p| p.field != PatchField::Port)
    }

    fn log(&mut self, kind: LineKind, text: impl Into<String>) {
        self.logs.push((kind, text.into()));
    }

    fn instant(&self, now: Duration) -> Instant {
        self.base + now
    }

    /// The line the tab shows when olad is not there, if it is not.
    pub fn offline_text(&self) -> Option<String> {
        match &self.state {
            OladState::Connected => None,
            OladState::Connecting => Some(format!("connecting to olad at {}", self.address)),
            OladState::NotInstalled => Some(
                "olad is not installed, so there is no DMX here; install OLA \
                 (`apt-get install ola` on Debian or Ubuntu) and run `rvshell demo` again"
                    .into(),
            ),
            OladState::NotRunning { .. } => Some(format!(
                "olad is not running at {}; start it (network plugins off on a shared \
                 network) or point --olad at it (retrying on its own)",
                self.address
            )),
            OladState::Retrying { reason } => Some(format!(
                "lost olad at {} ({reason}); reconnecting, your values are kept",
                self.address
            )),
        }
    }

    // ---- sending ----------------------------------------------------------

    /// A change produced `frame` (or nothing).
    fn changed(&mut self, frame: Option<Frame>) -> Vec<DmxCommand> {
        let Some(frame) = frame else {
            return Vec::new();
        };
        self.touched = true;
        if !self.is_connected() {
            let why = if self.state == OladState::NotInstalled {
                "olad is not installed (`apt-get install ola`)".to_owned()
            } else {
                format!("olad is not connected at {}", self.address)
            };
            self.console.send_failed(frame.generation, why.clone());
            self.queued = None;
            if self.last_offline.as_deref() != Some("change") {
                self.last_offline = Some("change".into());
                self.log(
                    LineKind::Error,
                    format!("{why}: DMX changes are kept and sent when it is back"),
                );
            }
            return Vec::new();
        }
        if self.in_flight.is_some() {
            self.queued = Some(frame);
            return Vec::new();
        }
        self.launch(frame)
    }

    fn launch(&mut self, frame: Frame) -> Vec<DmxCommand> {
        self.in_flight = Some(frame.generation);
        vec![DmxCommand::Send(Box::new(frame))]
    }

    /// Sends what is due when the wire is free: a queued change, a re-send
    /// after a connect, or (with `retry`) the state of a failed send.
    fn pump(&mut self, retry: bool) -> Vec<DmxCommand> {
        if self.in_flight.is_some() || !self.is_connected() {
            return Vec::new();
        }
        let frame = if self.want_resend {
            self.want_resend = false;
            self.queued = None;
            Some(self.console.resend())
        } else if let Some(frame) = self.queued.take() {
            Some(frame)
        } else if retry {
            self.console.take_frame()
        } else {
            None
        };
        match frame {
            Some(frame) => {
                self.retry_at = None;
                self.launch(frame)
            }
            None => Vec::new(),
        }
    }

    // ---- keys -------------------------------------------------------------

    /// Keys the tab takes before the keymap: the picker, the patch form, a
    /// field being edited, and a value being typed. `None` lets the keymap
    /// have the key.
    pub fn on_key(&mut self, key: &KeyEvent) -> Option<Vec<DmxCommand>> {
        let ctrl_or_alt = key
            .modifiers
            .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
        if ctrl_or_alt {
            return None;
        }
        if self.patch.is_some() {
            return Some(self.patch_key(key));
        }
        if self.picker.is_some() {
            return Some(self.picker_key(key));
        }
        if self.field.is_some() {
            return Some(self.field_key(key));
        }
        match key.code {
            // Digits, and a-f in hex mode; upper-case B and F stay blackout
            // and full in every mode.
            KeyCode::Char(c)
                if (c.is_ascii_digit() || c.is_ascii_lowercase())
                    && self.console.is_entry_char(c) =>
            {
                let _ = self.console.type_char(c);
                Some(Vec::new())
            }
            KeyCode::Enter if self.console.entry().is_some() => {
                let frame = self.console.commit_entry();
                // A refused value is said in the feedback too: the tab's
                // line is cut on a narrow screen and gone at the next key.
                if let Some(refusal @ super::dmx_console::ConsoleError::NotSet { .. }) =
                    self.console.refusal()
                {
                    let text = refusal.to_string();
                    self.log(LineKind::Error, text);
                }
                Some(self.changed(frame))
            }
            KeyCode::Esc if self.console.entry().is_some() => {
                self.console.cancel_entry();
                Some(Vec::new())
            }
            KeyCode::Backspace if self.console.entry().is_some() => {
                self.console.backspace();
                Some(Vec::new())
            }
            _ => None,
        }
    }

    /// Runs one of the tab's keymap actions.
    pub fn act(&mut self, action: DmxAction, now: Duration) -> Vec<DmxCommand> {
        let columns = self.grid.get().columns();
        let c = &mut self.console;
        let frame = match action {
            DmxAction::Left => c.move_left(),
            DmxAction::Right => c.move_right(),
            DmxAction::Up => c.move_up(columns),
            DmxAction::Down => c.move_down(columns),
            DmxAction::Home => c.home(),
            DmxAction::End => c.end(),
            DmxAction::Plus => c.increment(),
            DmxAction::Minus => c.decrement(),
            DmxAction::PageUp => c.page_up(),
            DmxAction::PageDown => c.page_down(),
            DmxAction::Toggle => c.toggle(),
            DmxAction::Blackout => c.blackout(),
            DmxAction::Full => c.full(),
            DmxAction::Undo => c.undo().unwrap_or(None),
            DmxAction::Mode => c.cycle_mode(),
            DmxAction::Numbering => {
                c.toggle_numbering();
                None
            }
            DmxAction::Recall(scene) => {
                let at = self.base + now;
                let frame = self
                    .console
                    .recall_scene(usize::from(scene), at)
                    .unwrap_or(None);
                return self.changed(frame);
            }
            DmxAction::Store(scene) => match c.store_scene(usize::from(scene)) {
                Ok(frame) => {
                    self.log(
                        LineKind::Info,
                        format!(
                            "scene F{} stored; F{0} recalls it over the fade time",
                            scene + 1
                        ),
                    );
                    frame
                }
                Err(_) => None,
            },
            DmxAction::Priority => {
                self.open_field(FieldKind::Priority);
                None
            }
            DmxAction::FadeTime => {
                self.open_field(FieldKind::FadeTime);
                None
            }
            DmxAction::Universes => return self.open_picker(),
            // The app takes it when a show is loaded (`app::cue`).
            DmxAction::Link => None,
        };
        self.changed(frame)
    }

    /// A click on the grid moves the cursor there.
    pub fn click(&mut self, x: u16, y: u16) -> Vec<DmxCommand> {
        if self.picker.is_some() || self.patch.is_some() {
            return Vec::new();
        }
        match self.grid.get().slot_at(x, y) {
            Some(slot) => {
                let frame = self.console.set_cursor(slot);
                self.changed(frame)
            }
            None => Vec::new(),
        }
    }

    /// The wheel moves the cursor a row (the grid scrolls with it).
    pub fn wheel(&mut self, up: bool, now: Duration) -> Vec<DmxCommand> {
        self.act(if up { DmxAction::Up } else { DmxAction::Down }, now)
    }

    fn open_field(&mut self, kind: FieldKind) {
        let text = match kind {
            FieldKind::Priority => self.console.priority().to_string(),
            FieldKind::FadeTime => format_secs(self.console.fade_time()),
        };
        self.field = Some(FieldEdit {
            kind,
            input: LineInput::prefilled(text),
            error: None,
        });
    }

    fn field_key(&mut self, key: &KeyEvent) -> Vec<DmxCommand> {
        let Some(field) = &mut self.field else {
            return Vec::new();
        };
        match key.code {
            KeyCode::Esc => {
                self.field = None;
                Vec::new()
            }
            KeyCode::Enter => {
                let kind = field.kind;
                let text = field.input.text().trim().to_owned();
                self.apply_field(kind, &text)
            }
            KeyCode::Char(c) if !field.kind.accepts(c) => {
                // Console keys (f, b, t...) typed by habit must not end up
                // in the number, silently.
                let err = format!("{} takes {}", field.kind.name(), field.kind.takes());
                field.error = Some(err);
                Vec::new()
            }
            _ => {
                let before = field.input.text().to_owned();
                field.input.handle_key(key);
                if field.input.text() != before {
                    field.error = None;
                }
                Vec::new()
            }
        }
    }

    fn apply_field(&mut self, kind: FieldKind, text: &str) -> Vec<DmxCommand> {
        let result = match kind {
            FieldKind::Priority => match text.parse::<u32>() {
                Ok(p) => self
                    .console
                    .set_priority(p)
                    .map_err(|e| e.to_string())
                    .map(|frame| (frame, format!("priority {p}"))),
                Err(_) => Err(format!(
                    "priority {text:?} is not a number; type 0..=200, then Enter"
                )),
            },
            FieldKind::FadeTime => match parse_secs(text) {
                Some(fade) => self
                    .console
                    .set_fade_time(fade)
                    .map_err(|e| e.to_string())
                    .map(|()| (None, format!("fade time {}s", format_secs(fade)))),
                None => Err(format!(
                    "fade time {text:?} is not a number of seconds; type e.g. 2.5, then Enter"
                )),
            },
        };
        match result {
            Ok((frame, note)) => {
                self.field = None;
                self.log(LineKind::Info, note);
                self.changed(frame)
            }
            Err(err) => {
                // The text stays in the field to be corrected.
                if let Some(field) = &mut self.field {
                    field.error = Some(err.clone());
                }
                self.log(LineKind::Error, err);
                Vec::new()
            }
        }
    }

    fn open_picker(&mut self) -> Vec<DmxCommand> {
        let current = self.console.universe();
        let selected = self
            .names
            .iter()
            .position(|e| e.universe == current)
            .unwrap_or(0);
        if !self.is_connected() {
            self.picker = Some(Picker {
                entries: Some(self.names.clone()),
                error: self.offline_text(),
                selected,
                typed: String::new(),
            });
            return Vec::new();
        }
        self.picker = Some(Picker {
            entries: None,
            error: None,
            selected,
            typed: String::new(),
        });
        vec![DmxCommand::ListUniverses]
    }

    fn picker_key(&mut self, key: &KeyEvent) -> Vec<DmxCommand> {
        let connected = self.is_connected();
        let Some(picker) = &mut self.picker else {
            return Vec::new();
        };
        let count = picker.entries.as_ref().map_or(0, Vec::len);
        match key.code {
            KeyCode::Esc => self.picker = None,
            KeyCode::Up | KeyCode::Char('k') => picker.selected = picker.selected.saturating_sub(1),
            KeyCode::Down | KeyCode::Char('j') => {
                picker.selected = (picker.selected + 1).min(count)
            }
            KeyCode::Char('r') if connected => {
                picker.entries = None;
                return vec![DmxCommand::ListUniverses];
            }
            KeyCode::Char('p') => return self.open_patch(),
            KeyCode::Char(c) if c.is_ascii_digit() => {
                let mut typed = picker.typed.clone();
                typed.push(c);
                // Universe numbers are olad's int32: longer input is refused.
                if typed.parse::<u32>().is_ok_and(|u| u <= i32::MAX as u32) {
                    picker.typed = typed;
                }
            }
            KeyCode::Backspace => {
                picker.typed.pop();
            }
            KeyCode::Enter if !picker.typed.is_empty() => {
                let typed = std::mem::take(&mut picker.typed);
                self.picker = None;
                return match typed.parse::<u32>() {
                    Ok(universe) => self.switch_universe(universe),
                    Err(_) => Vec::new(),
                };
            }
            KeyCode::Enter => {
                let chosen = picker
                    .entries
                    .as_ref()
                    .and_then(|e| e.get(picker.selected))
                    .map(|e| e.universe);
                return match chosen {
                    Some(universe) => {
                        self.picker = None;
                        self.switch_universe(universe)
                    }
                    None if picker.entries.is_some() => self.open_patch(),
                    None => Vec::new(),
                };
            }
            _ => {}
        }
        Vec::new()
    }

    /// Points the console at `universe`: olad's values are loaded and the
    /// readback follows the new universe.
    pub fn switch_universe(&mut self, universe: u32) -> Vec<DmxCommand> {
        let old = self.console.universe();
        if universe != old && self.queued.is_none() && self.console.needs_send() {
            // A change the old universe has not had (a failed send waiting
            // for its retry) still goes there: a queued frame carries its
            // universe. Without olad it cannot, and that is said.
            if self.is_connected() {
                self.queued = self.console.take_frame();
            } else {
                self.log(
                    LineKind::Error,
                    format!(
                        "The last change to universe {old} never reached olad (it is away) \
                         and is dropped with the switch"
                    ),
                );
            }
        }
        self.console.set_universe(universe);
        // A change held for the old universe (behind a send in flight, or
        // taken above) goes out as soon as the wire is free.
        self.want_resend = false;
        self.retry_at = None;
        self.touched = false;
        let name = self
            .universe_name()
            .map(|n| format!(" ({n})"))
            .unwrap_or_default();
        self.log(
            LineKind::Info,
            format!("DMX console on universe {universe}{name}"),
        );
        if self
            .names
            .iter()
            .any(|e| e.universe == universe && e.output_ports == 0)
        {
            self.log(
                LineKind::Error,
                format!(
                    "Universe {universe} has no output port patched: frames sent there go \
                     nowhere until one is; U then p patches a port"
                ),
            );
        }
        if self.is_connected() {
            let mut commands = vec![DmxCommand::Load(universe), DmxCommand::Register(universe)];
            commands.extend(self.pump(false));
            commands
        } else {
            Vec::new()
        }
    }

    fn open_patch(&mut self) -> Vec<DmxCommand> {
        self.picker = None;
        let next_free = (1..)
            .find(|u| !self.names.iter().any(|e| e.universe == *u))
            .unwrap_or(1);
        self.patch = Some(PatchForm {
            ports: None,
            selected: 0,
            universe: LineInput::new(next_free.to_string()),
            name: LineInput::default(),
            field: PatchField::Port,
            error: if self.is_connected() {
                None
            } else {
                self.offline_text()
            },
            busy: false,
        });
        if self.is_connected() {
            vec![DmxCommand::ListPorts]
        } else {
            Vec::new()
        }
    }

    fn patch_key(&mut self, key: &KeyEvent) -> Vec<DmxCommand> {
        let connected = self.is_connected();
        let Some(form) = &mut self.patch else {
            return Vec::new();
        };
        match key.code {
            KeyCode::Esc => {
                self.patch = None;
                return Vec::new();
            }
            KeyCode::Tab | KeyCode::BackTab => {
                let forward =
                    key.code == KeyCode::Tab && !key.modifiers.contains(KeyModifiers::SHIFT);
                form.field = match (form.field, forward) {
                    (PatchField::Port, true) | (PatchField::Name, false) => PatchField::Universe,
                    (PatchField::Universe, true) | (PatchField::Port, false) => PatchField::Name,
                    (PatchField::Name, true) | (PatchField::Universe, false) => PatchField::Port,
                };
                return Vec::new();
            }
            KeyCode::Enter => {}
            _ => {
                match form.field {
                    PatchField::Port => {
                        let count = form.ports.as_ref().map_or(0, Vec::len);
                        match key.code {
                            KeyCode::Up | KeyCode::Char('k') => {
                                form.selected = form.selected.saturating_sub(1)
                            }
                            KeyCode::Down | KeyCode::Char('j') => {
                                form.selected = (form.selected + 1).min(count.saturating_sub(1))
                            }
                            _ => {}
                        }
                    }
                    PatchField::Universe => {
                        form.universe.handle_key(key);
                    }
                    PatchField::Name => {
                        form.name.handle_key(key);
                    }
                }
                return Vec::new();
            }
        }
        // Enter: patch.
        if form.busy {
            return Vec::new();
        }
        if !connected {
            form.error = Some("olad is not connected; nothing was patched".into());
            return Vec::new();
        }
        let Some(port) = form
            .ports
            .as_ref()
            .and_then(|p| p.get(form.selected))
            .cloned()
        else {
            form.error = Some(
                "no port to patch: olad lists no free port (is a plugin with devices enabled?)"
                    .into(),
            );
            return Vec::new();
        };
        let text = form.universe.text().trim().to_owned();
        let Some(universe) = text.parse::<u32>().ok().filter(|u| *u <= i32::MAX as u32) else {
            form.error = Some(format!(
                "universe {text:?} is not a number in 0..=2147483647"
            ));
            form.field = PatchField::Universe;
            return Vec::new();
        };
        let name = Some(form.name.text().trim().to_owned()).filter(|n| !n.is_empty());
        form.busy = true;
        form.error = None;
        vec![DmxCommand::Patch {
            port,
            universe,
            name,
        }]
    }

    // ---- network ----------------------------------------------------------

    /// Reacts to a report from the runner.
    pub fn on_event(&mut self, event: DmxEvent, now: Duration) -> Vec<DmxCommand> {
        match event {
            // The cue link's, answered by the app (`app::cue`).
            DmxEvent::CueSent { .. } | DmxEvent::Held { .. } => Vec::new(),
            DmxEvent::State(state) => self.on_state(state, true),
            DmxEvent::Reconnected { failed } => {
                for line in &failed {
                    self.log(LineKind::Error, line.clone());
                }
                // The client kept our subscription and re-sent our last
                // frame; registering again would only churn, unless it
                // could not restore something.
                self.on_state(OladState::Connected, !failed.is_empty())
            }
            DmxEvent::Sent {
                universe,
                generation,
                result,
            } => {
                if self.in_flight == Some(generation) {
                    self.in_flight = None;
                }
                match result {
                    // A change carried over from the universe the console
                    // has left: nothing keeps it for a retry any more.
                    Err(err) if universe != self.console.universe() => {
                        self.log(
                            LineKind::Error,
                            format!(
                                "DMX send to universe {universe} failed: {err}; that change \
                                 is dropped (the console is on universe {} now)",
                                self.console.universe()
                            ),
                        );
                        self.pump(false)
                    }
                    Ok(()) => {
                        self.console.send_ok(generation);
                        self.last_error = None;
                        if self.console.send_failure().is_none() {
                            self.retry_at = None;
                        }
                        self.pump(false)
                    }
                    Err(err) => {
                        self.console.send_failed(generation, err.clone());
                        if self.last_error.as_ref() != Some(&err) {
                            self.last_error = Some(err.clone());
                            self.log(
                                LineKind::Error,
                                format!(
                                    "DMX send to universe {universe} failed: {err}; values kept, \
                                     re-sent on the next change or in {} s",
                                    RETRY_INTERVAL.as_secs()
                                ),
                            );
                        }
                        if self.console.send_failure().is_some() {
                            self.retry_at = Some(now + RETRY_INTERVAL);
                        }
                        self.pump(false)
                    }
                }
            }
            DmxEvent::Loaded { universe, result } => {
                if universe != self.console.universe() {
                    return Vec::new();
                }
                match result {
                    // olad's values, unless the user has already changed
                    // something or is typing a value (never thrown away).
                    Ok(values) if !self.touched && self.console.entry().is_none() => {
                        self.console.load(&values)
                    }
                    Ok(values) => self.console.set_readback(&values),
                    Err(err) => self.log(
                        LineKind::Error,
                        format!("cannot read universe {universe} from olad: {err}"),
                    ),
                }
                Vec::new()
            }
            DmxEvent::Registered { universe, result } => {
                if let Err(err) = result {
                    self.log(
                        LineKind::Error,
                        format!(
                            "no live readback of universe {universe}: {err}; \
                             values are still sent"
                        ),
                    );
                }
                Vec::new()
            }
            DmxEvent::Readback { universe, data } => {
                if universe == self.console.universe() {
                    self.console.set_readback(&data);
                }
                Vec::new()
            }
            DmxEvent::Universes(result) => {
                match result {
                    Ok(entries) => {
                        self.names = entries.clone();
                        if let Some(picker) = &mut self.picker {
                            picker.selected = picker.selected.min(entries.len());
                            picker.entries = Some(entries);
                            picker.error = None;
                        }
                    }
                    Err(err) => {
                        self.log(LineKind::Error, format!("cannot list universes: {err}"));
                        if let Some(picker) = &mut self.picker {
                            picker.entries = Some(self.names.clone());
                            picker.error = Some(err);
                        }
                    }
                }
                Vec::new()
            }
            DmxEvent::Ports(result) => {
                if let Some(form) = &mut self.patch {
                    match result {
                        Ok(ports) => {
                            form.selected = form.selected.min(ports.len().saturating_sub(1));
                            if ports.is_empty() {
                                form.error = Some("olad lists no free port to patch".into());
                            }
                            form.ports = Some(ports);
                        }
                        Err(err) => {
                            form.ports = Some(Vec::new());
                            form.error = Some(format!("cannot list ports: {err}"));
                        }
                    }
                }
                Vec::new()
            }
            DmxEvent::Patched {
                port,
                universe,
                name,
                result,
            } => match result {
                Ok(()) => {
                    // What was asked for, not the form (it may have changed
                    // or closed meanwhile).
                    let name = name.unwrap_or_default();
                    self.patch = None;
                    self.log(
                        LineKind::Info,
                        format!("patched {} to universe {universe}", port.label()),
                    );
                    let outputs = u32::from(port.is_output);
                    match self.names.iter_mut().find(|e| e.universe == universe) {
                        Some(entry) => entry.output_ports += outputs,
                        None => self.names.push(UniverseEntry {
                            universe,
                            name,
                            output_ports: outputs,
                        }),
                    }
                    self.switch_universe(universe)
                }
                Err(err) => {
                    self.log(
                        LineKind::Error,
                        format!("cannot patch universe {universe}: {err}"),
                    );
                    if let Some(form) = &mut self.patch {
                        form.busy = false;
                        form.error = Some(err);
                    }
                    Vec::new()
                }
            },
        }
    }

    /// A new connection state. On `Connected`, `restore` registers the
    /// universe again and re-sends our values (a fresh client has neither);
    /// without it, only changes the client never had are sent.
    fn on_state(&mut self, state: OladState, restore: bool) -> Vec<DmxCommand> {
        if state == self.state {
            return Vec::new();
        }
        let was = std::mem::replace(&mut self.state, state.clone());
        match state {
            OladState::Connected => {
                self.last_offline = None;
                let again = if self.was_connected { "again " } else { "" };
                self.was_connected = true;
                self.log(
                    LineKind::Connection,
                    format!("connected {again}to olad at {}", self.address),
                );
                let universe = self.console.universe();
                let mut commands = Vec::new();
                if restore {
                    commands.push(DmxCommand::Register(universe));
                }
                if self.touched && restore {
                    // Our values win: olad forgot them, or never had them.
                    self.want_resend = true;
                    commands.extend(self.pump(false));
                } else if self.touched {
                    // The client re-sent the last frame it had; only what
                    // never reached it (changes made while olad was away, a
                    // send cut off) goes now.
                    commands.extend(self.pump(true));
                } else {
                    commands.push(DmxCommand::Load(universe));
                }
                if self.picker.as_ref().is_some_and(|p| p.error.is_some()) {
                    commands.extend(self.open_picker());
                } else {
                    // The universe names, for the header and the picker.
                    commands.push(DmxCommand::ListUniverses);
                }
                commands
            }
            OladState::Retrying { reason } => {
                if was == OladState::Connected {
                    self.log(
                        LineKind::Connection,
                        format!(
                            "No longer connected to olad at {}: {reason}; reconnecting",
                            self.address
                        ),
                    );
                }
                Vec::new()
            }
            OladState::NotRunning { reason } => {
                if self.last_offline.as_ref() != Some(&reason) {
                    self.last_offline = Some(reason.clone());
                    self.log(
                        LineKind::Connection,
                        format!(
                            "olad is not running at {} ({reason}); start it (network plugins \
                             off on a shared network) or point --olad at it; retrying",
                            self.address
                        ),
                    );
                }
                Vec::new()
            }
            OladState::NotInstalled => {
                self.log(
                    LineKind::Connection,
                    "olad is not installed: the OLA-DMX tab needs OLA \
                     (`apt-get install ola` on Debian or Ubuntu)",
                );
                Vec::new()
            }
            OladState::Connecting => Vec::new(),
        }
    }

    /// The tab's share of the app's tick: advance a fade, retry a failed send.
    pub fn on_tick(&mut self, now: Duration) -> Vec<DmxCommand> {
        let mut commands = Vec::new();
        if self.console.fade().is_some() {
            let frame = self.console.tick(self.instant(now));
            commands.extend(self.changed(frame));
        }
        if self.retry_at.is_some_and(|at| now >= at) {
            commands.extend(self.pump(true));
        }
        commands
    }
}

/// `2.5` for 2.5 s, `0` for none.
pub fn format_secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{s:.0}")
    } else {
        format!("{s:.1}")
    }
}

/// Seconds as typed (`2`, `2.5`, `0.25s`); `None` unless a finite, non-negative number.
pub fn parse_secs(text: &str) -> Option<Duration> {
    let text = text.trim().trim_end_matches('s').trim();
    let secs: f64 = text.parse().ok()?;
    (secs.is_finite() && (0.0..=1e6).contains(&secs)).then(|| Duration::from_secs_f64(secs))
}
