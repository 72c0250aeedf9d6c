//! The OLA-DMX tab's console: 512 slot values, a cursor, scenes and fades,
//! in the spirit of OLA's curses `ola_dmxconsole`. Pure state: no I/O, no
//! clock, no terminal.
//!
//! # The send contract
//!
//! OLA only outputs DMX when a source sends it (ola-rpc.md §11), so every
//! change must reach olad. The console never sends anything itself; it hands
//! out whole 512-slot [`Frame`]s (what `UpdateDmxData` carries), each stamped
//! with a **generation** number that grows by one per change:
//!
//! 1. Every operation that changes the values (or the priority) returns
//!    `Some(frame)`: the *whole* current state. Send it at once.
//! 2. Frames are whole states, so they coalesce: if a send is still in
//!    flight, the runner may keep only the newest frame it was given and
//!    send that when the wire is free. Nothing is lost by dropping an older
//!    frame that a newer one replaces.
//! 3. Report each outcome: [`DmxConsole::send_ok`] with the frame's
//!    generation on olad's Ack, [`DmxConsole::send_failed`] with the
//!    generation and the error text otherwise. A failure is shown by the
//!    grid and makes the current state pending again: the next
//!    [`DmxConsole::take_frame`] returns it (call it when the connection is
//!    back, or on a retry timer), and the next change returns it anyway. A
//!    failure of a frame older than one already acknowledged is ignored: the
//!    newer frame carried everything.
//! 4. [`DmxConsole::take_frame`] returns the current frame only when it has
//!    not been handed out since the last change or failure, so calling it
//!    often is cheap and never duplicates a send. [`DmxConsole::resend`]
//!    hands out the current frame unconditionally (after a reconnect).
//! 5. While a scene fades, call [`DmxConsole::tick`] with the current
//!    instant at the frame rate you want (25–40 Hz is usual); each tick that
//!    changes a value returns a frame, under the same rules.
//!
//! # Readback
//!
//! [`DmxConsole::set_readback`] takes olad's merged buffer for the universe
//! (RegisterForDmx pushes or GetDmx). [`DmxConsole::differs`] marks slots
//! where olad's value is not ours: another source wins the merge, or a frame
//! was lost. Slots missing from a short buffer count as 0. While one of our
//! frames is in flight the marks are held back, so a readback that simply
//! lags our own frame does not flicker.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Slots in a DMX universe.
pub const SLOTS: usize = 512;
/// The highest priority olad honours (ola-rpc.md §7.2).
pub const MAX_PRIORITY: u8 = 200;
/// olad's default source priority.
pub const DEFAULT_PRIORITY: u8 = 100;
/// How many whole-frame states `u` can step back through.
pub const UNDO_DEPTH: usize = 256;
/// Scenes, on F1..F12.
pub const SCENES: usize = 12;
/// How far PgUp/PgDn move a value.
pub const PAGE_STEP: u8 = 16;
/// The longest fade accepted.
pub const MAX_FADE: Duration = Duration::from_secs(3600);

/// The values of all 512 slots.
pub type Slots = [u8; SLOTS];

/// How values are shown and typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DisplayMode {
    /// 0..=255.
    #[default]
    Decimal,
    /// 00..=ff.
    Hex,
    /// 0..=100 percent of 255 (shown as `FL` at full, as ola_dmxconsole does).
    Percent,
}

impl DisplayMode {
    /// The next mode in the `m` cycle: decimal, hex, percent.
    pub fn next(self) -> Self {
        match self {
            Self::Decimal => Self::Hex,
            Self::Hex => Self::Percent,
            Self::Percent => Self::Decimal,
        }
    }

    /// The mode's name, as the header shows it.
    pub fn label(self) -> &'static str {
        mode_name(self)
    }

    /// How many digits a typed value may have.
    fn max_digits(self) -> usize {
        match self {
            Self::Decimal | Self::Percent => 3,
            Self::Hex => 2,
        }
    }

    /// The largest value that can be typed (255, 0xff, 100 %).
    fn max_typed(self) -> u32 {
        match self {
            Self::Decimal | Self::Hex => 255,
            Self::Percent => 100,
        }
    }

    fn radix(self) -> u32 {
        match self {
            Self::Hex => 16,
            Self::Decimal | Self::Percent => 10,
        }
    }

    /// Whether `c` is a digit in this mode (hex accepts either case).
    pub fn is_digit(self, c: char) -> bool {
        c.is_digit(self.radix())
    }
}

/// Channel numbering shown in the grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Numbering {
    /// Channels 1..=512, as lighting desks count.
    #[default]
    OneBased,
    /// Slots 0..=511, as the wire counts.
    ZeroBased,
}

impl Numbering {
    /// The number shown for slot index `slot` (0..512).
    pub fn label(self, slot: usize) -> usize {
        match self {
            Self::OneBased => slot + 1,
            Self::ZeroBased => slot,
        }
    }

    fn toggled(self) -> Self {
        match self {
            Self::OneBased => Self::ZeroBased,
            Self::ZeroBased => Self::OneBased,
        }
    }
}

/// A value as a percentage of full, rounded (255 → 100, 128 → 50).
pub fn to_percent(value: u8) -> u8 {
    // (v * 100 + 127) / 255 <= (25500 + 127) / 255 = 100: fits in u8.
    ((u32::from(value) * 100 + 127) / 255) as u8
}

/// A percentage (0..=100) as a slot value, rounded; above 100 saturates.
/// Round-trips with [`to_percent`].
pub fn from_percent(percent: u8) -> u8 {
    let p = u32::from(percent.min(100));
    // (p * 255 + 50) / 100 <= (25500 + 50) / 100 = 255: fits in u8.
    ((p * 255 + 50) / 100) as u8
}

/// One whole-universe frame to send with UpdateDmxData.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The universe.
    pub universe: u32,
    /// Source priority, 0..=200.
    pub priority: u8,
    /// The change this frame carries; report it back with
    /// [`DmxConsole::send_ok`] / [`DmxConsole::send_failed`].
    pub generation: u64,
    /// All 512 slots.
    pub data: Slots,
}

/// Why the console refused an operation. Nothing changes when one is returned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConsoleError {
    /// A typed value above the mode's maximum; it is refused, never wrapped.
    #[error("{text} is out of range: {} values are {}", mode_name(*.mode), mode_range(*.mode))]
    OutOfRange {
        /// The digits typed, including the refused one.
        text: String,
        /// The display mode they were typed in.
        mode: DisplayMode,
    },
    /// A character that is not a digit of the mode.
    #[error("'{ch}' is not a {} digit", mode_name(*.mode))]
    NotADigit {
        /// The character.
        ch: char,
        /// The display mode.
        mode: DisplayMode,
    },
    /// More digits than the mode's values have.
    #[error("{} values have at most {} digits", mode_name(*.mode), .mode.max_digits())]
    TooManyDigits {
        /// The display mode.
        mode: DisplayMode,
    },
    /// A priority outside 0..=200.
    #[error(
        "priority {0} is out of range 0..={MAX_PRIORITY} (olad would wrap or clamp it); it stays as it was"
    )]
    PriorityOutOfRange(u32),
    /// A fade longer than [`MAX_FADE`].
    #[error("a fade of {0:?} is too long; the longest is {MAX_FADE:?}")]
    FadeTooLong(Duration),
    /// A scene number outside F1..F12.
    #[error("there is no scene F{}; scenes are F1..F{SCENES}", .0 + 1)]
    NoSuchScene(usize),
    /// Recalling a scene nothing was stored in.
    #[error("scene F{} is empty; store the current values in it first", .0 + 1)]
    EmptyScene(usize),
    /// `u` with an empty undo history.
    #[error("nothing to undo")]
    NothingToUndo,
}

fn mode_name(mode: DisplayMode) -> &'static str {
    match mode {
        DisplayMode::Decimal => "decimal",
        DisplayMode::Hex => "hex",
        DisplayMode::Percent => "percent",
    }
}

fn mode_range(mode: DisplayMode) -> &'static str {
    match mode {
        DisplayMode::Decimal => "0..=255",
        DisplayMode::Hex => "00..=ff",
        DisplayMode::Percent => "0..=100",
    }
}

/// A send that olad (or the connection) refused, shown until a later frame
/// is acknowledged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendFailure {
    /// The generation of the frame that failed.
    pub generation: u64,
    /// What went wrong, as the client reported it.
    pub message: String,
    /// The slot the failed change was made on (None for whole-frame changes
    /// such as blackout, scene recall or priority).
    pub slot: Option<usize>,
}

/// A fade towards a recalled scene, as the grid shows it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FadeView {
    /// The scene being faded in (0 = F1).
    pub scene: usize,
    /// The fade's length.
    pub duration: Duration,
    /// 0.0..=1.0, as of the last [`DmxConsole::tick`].
    pub progress: f32,
}

#[derive(Debug, Clone)]
struct Fade {
    scene: usize,
    from: Box<Slots>,
    to: Box<Slots>,
    start: Instant,
    duration: Duration,
    progress: f32,
}

/// A value being typed at the cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    text: String,
    mode: DisplayMode,
}

/// The console's state. See the module docs for the send contract.
#[derive(Debug, Clone)]
pub struct DmxConsole {
    universe: u32,
    priority: u8,
    values: Slots,
    cursor: usize,
    mode: DisplayMode,
    numbering: Numbering,
    entry: Option<Entry>,
    undo: VecDeque<Box<Slots>>,
    scenes: Vec<Option<Box<Slots>>>,
    last_scene: Option<usize>,
    fade_time: Duration,
    fade: Option<Fade>,
    readback: Option<Vec<u8>>,
    /// Grows by one per change of values or priority.
    generation: u64,
    /// The newest generation handed to the runner.
    handed_out: u64,
    /// The newest generation olad acknowledged.
    acked: u64,
    /// The slot of the last single-slot change (None after a whole-frame
    /// change), so a failed send can be shown on that slot's row.
    last_slot: Option<usize>,
    failure: Option<SendFailure>,
    refusal: Option<ConsoleError>,
}

impl DmxConsole {
    /// A console for `universe`: all slots 0, priority 100, cursor on the
    /// first slot. Nothing is pending: the console sends only what the user
    /// changes (or [`DmxConsole::resend`]).
    pub fn new(universe: u32) -> Self {
        Self {
            universe,
            priority: DEFAULT_PRIORITY,
            values: [0; SLOTS],
            cursor: 0,
            mode: DisplayMode::default(),
            numbering: Numbering::default(),
            entry: None,
            undo: VecDeque::new(),
            scenes: vec![None; SCENES],
            last_scene: None,
            fade_time: Duration::ZERO,
            fade: None,
            readback: None,
            generation: 0,
            handed_out: 0,
            acked: 0,
            last_slot: None,
            failure: None,
            refusal: None,
        }
    }

    // ----- reading the state -------------------------------------------------

    /// The universe the frames go to.
    pub fn universe(&self) -> u32 {
        self.universe
    }
    /// The source priority sent with each frame.
    pub fn priority(&self) -> u8 {
        self.priority
    }
    /// All slot values.
    pub fn values(&self) -> &Slots {
        &self.values
    }
    /// One slot's value (0 for an index past the end).
    pub fn value(&self, slot: usize) -> u8 {
        self.values.get(slot).copied().unwrap_or(0)
    }
    /// The cursor's slot index, always 0..512.
    pub fn cursor(&self) -> usize {
        self.cursor
    }
    /// The display mode.
    pub fn mode(&self) -> DisplayMode {
        self.mode
    }
    /// The channel numbering.
    pub fn numbering(&self) -> Numbering {
        self.numbering
    }
    /// The digits typed so far at the cursor, if a value is being typed.
    pub fn entry(&self) -> Option<&str> {
        self.entry.as_ref().map(|e| e.text.as_str())
    }
    /// The last refused operation, until the next accepted one.
    pub fn refusal(&self) -> Option<&ConsoleError> {
        self.refusal.as_ref()
    }
    /// The last failed send, until a later frame is acknowledged.
    pub fn send_failure(&self) -> Option<&SendFailure> {
        self.failure.as_ref()
    }
    /// olad's last reported buffer for the universe.
    pub fn readback(&self) -> Option<&[u8]> {
        self.readback.as_deref()
    }
    /// The generation of the newest change.
    pub fn generation(&self) -> u64 {
        self.generation
    }
    /// Whether some change has not been acknowledged by olad yet.
    pub fn is_pending(&self) -> bool {
        self.generation > self.acked
    }
    /// Whether [`DmxConsole::take_frame`] would return a frame.
    pub fn needs_send(&self) -> bool {
        self.generation > self.handed_out
    }
    /// How many states `u` can step back through.
    pub fn undo_len(&self) -> usize {
        self.undo.len()
    }
    /// Whether scene `scene` (0 = F1) holds values.
    pub fn scene_stored(&self, scene: usize) -> bool {
        matches!(self.scenes.get(scene), Some(Some(_)))
    }
    /// The scene recalled last (0 = F1), if any.
    pub fn last_scene(&self) -> Option<usize> {
        self.last_scene
    }
    /// The fade time used by [`DmxConsole::recall_scene`].
    pub fn fade_time(&self) -> Duration {
        self.fade_time
    }
    /// The running fade, if any.
    pub fn fade(&self) -> Option<FadeView> {
        self.fade.as_ref().map(|f| FadeView {
            scene: f.scene,
            duration: f.duration,
            progress: f.progress,
        })
    }

    /// Whether olad's value for `slot` differs from ours. False without a
    /// readback, and while one of our frames is in flight (the readback may
    /// just lag it).
    pub fn differs(&self, slot: usize) -> bool {
        let Some(readback) = &self.readback else {
            return false;
        };
        if slot >= SLOTS || self.in_flight() {
            return false;
        }
        readback.get(slot).copied().unwrap_or(0) != self.values[slot]
    }

    /// How many slots [`DmxConsole::differs`] marks.
    pub fn differing(&self) -> usize {
        (0..SLOTS).filter(|&slot| self.differs(slot)).count()
    }

    fn in_flight(&self) -> bool {
        self.handed_out > self.acked
    }

    /// The current state as a frame, without handing it out.
    pub fn frame(&self) -> Frame {
        Frame {
            universe: self.universe,
            priority: self.priority,
            generation: self.generation,
            data: self.values,
        }
    }

    // ----- the send contract -------------------------------------------------

    /// The current frame if it has not been handed out since the last change
    /// or failed send; `None` otherwise. See the module docs.
    pub fn take_frame(&mut self) -> Option<Frame> {
        self.needs_send().then(|| self.hand_out())
    }

    /// The current frame, handed out even if it was already (after a
    /// reconnect, or to re-assert our values over a lost frame).
    pub fn resend(&mut self) -> Frame {
        self.hand_out()
    }

    fn hand_out(&mut self) -> Frame {
        self.handed_out = self.generation;
        self.frame()
    }

    /// olad acknowledged the frame of `generation`: it and every older one
    /// are delivered. Clears a failure of that or an older generation.
    pub fn send_ok(&mut self, generation: u64) {
        let generation = generation.min(self.generation);
        self.acked = self.acked.max(generation);
        self.handed_out = self.handed_out.max(self.acked);
        if self
            .failure
            .as_ref()
            .is_some_and(|f| f.generation <= generation)
        {
            self.failure = None;
        }
    }

    /// The frame of `generation` was not delivered (`error` says why). The
    /// failure is shown, and the current state becomes pending again for
    /// [`DmxConsole::take_frame`]. Ignored if a newer frame was already
    /// acknowledged.
    pub fn send_failed(&mut self, generation: u64, error: impl Into<String>) {
        if generation <= self.acked || generation > self.generation {
            return;
        }
        self.failure = Some(SendFailure {
            generation,
            message: error.into(),
            slot: self.last_slot,
        });
        self.handed_out = self.acked;
    }

    // ----- universe, priority, readback ---------------------------------------

    /// Points the console at another universe. The values stay; the readback,
    /// any failure and any pending state are dropped (they belonged to the
    /// old universe), and nothing is sent until the next change. Load the new
    /// universe's values with [`DmxConsole::load`] if you want them.
    pub fn set_universe(&mut self, universe: u32) {
        if universe == self.universe {
            return;
        }
        self.universe = universe;
        self.readback = None;
        self.failure = None;
        self.fade = None;
        self.acked = self.generation;
        self.handed_out = self.generation;
    }

    /// Replaces every value with `values` as read from olad (GetDmx), without
    /// sending: olad already has them, so nothing is pending afterwards (a
    /// shown send failure is cleared too). Clears the undo history (it
    /// belonged to other values), a typed value and any fade; slots past the
    /// end of a short buffer become 0.
    pub fn load(&mut self, values: &[u8]) {
        self.failure = None;
        self.acked = self.generation;
        self.handed_out = self.generation;
        let mut slots = [0; SLOTS];
        let n = values.len().min(SLOTS);
        slots[..n].copy_from_slice(&values[..n]);
        self.entry = None;
        self.fade = None;
        self.undo.clear();
        self.values = slots;
        self.readback = Some(values[..n].to_vec());
    }

    /// Sets the source priority (0..=200; anything else is refused, since
    /// olad would wrap or clamp it, ola-rpc.md §7.2). A change is sent.
    pub fn set_priority(&mut self, priority: u32) -> Result<Option<Frame>, ConsoleError> {
        let Some(p) = u8::try_from(priority).ok().filter(|p| *p <= MAX_PRIORITY) else {
            return Err(self.refuse(ConsoleError::PriorityOutOfRange(priority)));
        };
        self.refusal = None;
        if p == self.priority {
            return Ok(None);
        }
        self.priority = p;
        self.generation += 1;
        self.last_slot = None;
        Ok(Some(self.hand_out()))
    }

    /// olad's merged buffer for the universe (up to 512 bytes are kept).
    pub fn set_readback(&mut self, values: &[u8]) {
        let n = values.len().min(SLOTS);
        match &mut self.readback {
            Some(buf) => {
                buf.clear();
                buf.extend_from_slice(&values[..n]);
            }
            None => self.readback = Some(values[..n].to_vec()),
        }
    }

    // ----- cursor --------------------------------------------------------------

    /// Cursor one slot left (stays on slot 0). Commits a typed value.
    pub fn move_left(&mut self) -> Option<Frame> {
        let frame = self.begin_move();
        self.cursor = self.cursor.saturating_sub(1);
        frame
    }

    /// Cursor one slot right (stays on the last slot). Commits a typed value.
    pub fn move_right(&mut self) -> Option<Frame> {
        let frame = self.begin_move();
        self.cursor = (self.cursor + 1).min(SLOTS - 1);
        frame
    }

    /// Cursor one row of `columns` up; stays put on the first row.
    /// Commits a typed value.
    pub fn move_up(&mut self, columns: usize) -> Option<Frame> {
        let frame = self.begin_move();
        let columns = columns.max(1);
        if self.cursor >= columns {
            self.cursor -= columns;
        }
        frame
    }

    /// Cursor one row of `columns` down; from the row above a short last
    /// row it lands on the last slot, and on the last row it stays put.
    /// Commits a typed value.
    pub fn move_down(&mut self, columns: usize) -> Option<Frame> {
        let frame = self.begin_move();
        let columns = columns.max(1);
        let last_row_start = (SLOTS - 1) / columns * columns;
        if self.cursor < last_row_start {
            self.cursor = (self.cursor + columns).min(SLOTS - 1);
        }
        frame
    }

    /// Cursor to the first slot. Commits a typed value.
    pub fn home(&mut self) -> Option<Frame> {
        let frame = self.begin_move();
        self.cursor = 0;
        frame
    }

    /// Cursor to the last slot. Commits a typed value.
    pub fn end(&mut self) -> Option<Frame> {
        let frame = self.begin_move();
        self.cursor = SLOTS - 1;
        frame
    }

    /// Cursor to `slot` (clamped to 0..512), e.g. from a mouse click.
    /// Commits a typed value.
    pub fn set_cursor(&mut self, slot: usize) -> Option<Frame> {
        let frame = self.begin_move();
        self.cursor = slot.min(SLOTS - 1);
        frame
    }

    /// A cursor move commits a typed value and clears an old refusal.
    fn begin_move(&mut self) -> Option<Frame> {
        self.refusal = None;
        self.commit_entry()
    }

    // ----- values ----------------------------------------------------------------

    /// `+`: the cursor's value up by one (stays at 255).
    pub fn increment(&mut self) -> Option<Frame> {
        self.adjust(1)
    }
    /// `-`: the cursor's value down by one (stays at 0).
    pub fn decrement(&mut self) -> Option<Frame> {
        self.adjust(-1)
    }
    /// PgUp: the cursor's value up by 16 (stops at 255).
    pub fn page_up(&mut self) -> Option<Frame> {
        self.adjust(i16::from(PAGE_STEP))
    }
    /// PgDn: the cursor's value down by 16 (stops at 0).
    pub fn page_down(&mut self) -> Option<Frame> {
        self.adjust(-i16::from(PAGE_STEP))
    }

    fn adjust(&mut self, delta: i16) -> Option<Frame> {
        // A committed value must reach the runner even if the step then
        // changes nothing (typed 255, then `+`).
        let committed = self.commit_entry();
        let old = self.values[self.cursor];
        // clamp(0, 255) proves the cast below is lossless.
        let new = (i16::from(old) + delta).clamp(0, 255) as u8;
        self.set_slot(self.cursor, new).or(committed)
    }

    /// Space: the cursor's value to 255 if it is 0, otherwise to 0.
    pub fn toggle(&mut self) -> Option<Frame> {
        let committed = self.commit_entry();
        let new = if self.values[self.cursor] == 0 {
            255
        } else {
            0
        };
        self.set_slot(self.cursor, new).or(committed)
    }

    /// `b`: every slot to 0, undone in one step. Always sent, even when
    /// already dark, so it re-asserts a blackout over a lost frame.
    pub fn blackout(&mut self) -> Option<Frame> {
        let committed = self.commit_entry();
        self.last_slot = None;
        self.apply([0; SLOTS], true).or(committed)
    }

    /// `f`: every slot to 255, undone in one step. Always sent.
    pub fn full(&mut self) -> Option<Frame> {
        let committed = self.commit_entry();
        self.last_slot = None;
        self.apply([255; SLOTS], true).or(committed)
    }

    /// `u`: back to the state before the last change (a bounded history of
    /// [`UNDO_DEPTH`] states). Cancels a fade. A typed value still being
    /// entered is dropped instead (that is its undo).
    pub fn undo(&mut self) -> Result<Option<Frame>, ConsoleError> {
        if self.entry.take().is_some() {
            self.refusal = None;
            return Ok(None);
        }
        let Some(previous) = self.undo.pop_back() else {
            return Err(self.refuse(ConsoleError::NothingToUndo));
        };
        self.refusal = None;
        self.fade = None;
        self.last_slot = None;
        self.values = *previous;
        self.generation += 1;
        Ok(Some(self.hand_out()))
    }

    fn set_slot(&mut self, slot: usize, value: u8) -> Option<Frame> {
        self.last_slot = Some(slot);
        let mut new = self.values;
        new[slot] = value;
        self.apply(new, false)
    }

    /// The one place values change by a user action: cancels a fade, records
    /// an undo step when something changed, and hands out the frame.
    fn apply(&mut self, new: Slots, always_send: bool) -> Option<Frame> {
        self.refusal = None;
        self.fade = None;
        let changed = new != self.values;
        if changed {
            if self.undo.len() == UNDO_DEPTH {
                self.undo.pop_front();
            }
            self.undo.push_back(Box::new(self.values));
            self.values = new;
        }
        if changed || always_send {
            self.generation += 1;
            Some(self.hand_out())
        } else {
            None
        }
    }

    fn refuse(&mut self, err: ConsoleError) -> ConsoleError {
        self.refusal = Some(err.clone());
        err
    }

    // ----- typing a value ----------------------------------------------------------

    /// Whether `c` would start or continue a typed value in the current mode
    /// (digits; in hex mode also `a`-`f`, so a dispatcher should route those
    /// letters here rather than to blackout/full while in hex mode).
    pub fn is_entry_char(&self, c: char) -> bool {
        let mode = self.entry.as_ref().map_or(self.mode, |e| e.mode);
        mode.is_digit(c)
    }

    /// Types one digit of a value at the cursor. Refused (and the entry left
    /// as it was) when `c` is not a digit of the mode, when there would be
    /// too many digits, or when the value would be out of range.
    pub fn type_char(&mut self, c: char) -> Result<(), ConsoleError> {
        let mode = self.entry.as_ref().map_or(self.mode, |e| e.mode);
        if !mode.is_digit(c) {
            return Err(self.refuse(ConsoleError::NotADigit { ch: c, mode }));
        }
        let mut text = self
            .entry
            .as_ref()
            .map_or_else(String::new, |e| e.text.clone());
        if text.len() >= mode.max_digits() {
            return Err(self.refuse(ConsoleError::TooManyDigits { mode }));
        }
        text.push(c.to_ascii_lowercase());
        match u32::from_str_radix(&text, mode.radix()) {
            Ok(v) if v <= mode.max_typed() => {
                self.refusal = None;
                self.entry = Some(Entry { text, mode });
                Ok(())
            }
            _ => Err(self.refuse(ConsoleError::OutOfRange { text, mode })),
        }
    }

    /// Backspace: removes the last typed digit (the entry ends when empty).
    pub fn backspace(&mut self) {
        if let Some(entry) = &mut self.entry {
            entry.text.pop();
            if entry.text.is_empty() {
                self.entry = None;
            }
        }
    }

    /// Esc: drops the typed value; nothing changes.
    pub fn cancel_entry(&mut self) {
        self.entry = None;
    }

    /// Enter: sets the cursor's slot to the typed value (moving the cursor,
    /// changing mode or any value operation commits too).
    pub fn commit_entry(&mut self) -> Option<Frame> {
        let entry = self.entry.take()?;
        // type_char only stores digits within the mode's range, so this parse
        // cannot fail; a failure would leave the values unchanged.
        let typed = u32::from_str_radix(&entry.text, entry.mode.radix()).ok()?;
        let value = match entry.mode {
            DisplayMode::Decimal | DisplayMode::Hex => u8::try_from(typed).ok()?,
            DisplayMode::Percent => from_percent(u8::try_from(typed).ok()?),
        };
        self.set_slot(self.cursor, value)
    }

    // ----- display -------------------------------------------------------------------

    /// `m`: next display mode (a typed value is committed first).
    pub fn cycle_mode(&mut self) -> Option<Frame> {
        let frame = self.commit_entry();
        self.mode = self.mode.next();
        frame
    }

    /// Sets the display mode (a typed value is committed first).
    pub fn set_mode(&mut self, mode: DisplayMode) -> Option<Frame> {
        let frame = self.commit_entry();
        self.mode = mode;
        frame
    }

    /// `n`: 0- or 1-based channel numbers.
    pub fn toggle_numbering(&mut self) {
        self.numbering = self.numbering.toggled();
    }

    // ----- scenes and fades ------------------------------------------------------------

    /// Sets the fade time for scene recalls (0 = snap; at most [`MAX_FADE`]).
    pub fn set_fade_time(&mut self, fade: Duration) -> Result<(), ConsoleError> {
        if fade > MAX_FADE {
            return Err(self.refuse(ConsoleError::FadeTooLong(fade)));
        }
        self.refusal = None;
        self.fade_time = fade;
        Ok(())
    }

    /// Stores the current values in scene `scene` (0 = F1). A typed value is
    /// committed first; a running fade is not disturbed (the scene gets the
    /// values of the last tick).
    pub fn store_scene(&mut self, scene: usize) -> Result<Option<Frame>, ConsoleError> {
        if scene >= SCENES {
            return Err(self.refuse(ConsoleError::NoSuchScene(scene)));
        }
        let frame = self.commit_entry();
        self.refusal = None;
        self.scenes[scene] = Some(Box::new(self.values));
        Ok(frame)
    }

    /// Recalls scene `scene` (0 = F1) over the fade time, starting at `now`.
    ///
    /// With a zero fade time the scene's values apply at once (one undo step,
    /// always sent). Otherwise a fade starts from the current values: it is
    /// one undo step, and [`DmxConsole::tick`] produces its frames, ending
    /// exactly on the scene's values. Any value change during a fade (or a
    /// new recall, or undo) cancels it where it stands.
    pub fn recall_scene(
        &mut self,
        scene: usize,
        now: Instant,
    ) -> Result<Option<Frame>, ConsoleError> {
        let Some(slot) = self.scenes.get(scene) else {
            return Err(self.refuse(ConsoleError::NoSuchScene(scene)));
        };
        let Some(target) = slot.as_deref().copied() else {
            return Err(self.refuse(ConsoleError::EmptyScene(scene)));
        };
        let committed = self.commit_entry();
        self.last_scene = Some(scene);
        self.last_slot = None;
        if self.fade_time.is_zero() {
            return Ok(self.apply(target, true));
        }
        self.refusal = None;
        if target != self.values {
            if self.undo.len() == UNDO_DEPTH {
                self.undo.pop_front();
            }
            self.undo.push_back(Box::new(self.values));
        }
        self.fade = Some(Fade {
            scene,
            from: Box::new(self.values),
            to: Box::new(target),
            start: now,
            duration: self.fade_time,
            progress: 0.0,
        });
        Ok(committed)
    }

    /// Advances a running fade to `now`: the interpolated frame (linear per
    /// slot, rounded) when a value changed, `None` otherwise. At or after the
    /// fade's end the values are exactly the scene's and the fade is over.
    /// An instant before the fade's start counts as its start.
    pub fn tick(&mut self, now: Instant) -> Option<Frame> {
        let fade = self.fade.as_mut()?;
        let elapsed = now.saturating_duration_since(fade.start);
        let new = if elapsed >= fade.duration {
            let to = *fade.to;
            self.fade = None;
            to
        } else {
            let t = elapsed.as_secs_f64() / fade.duration.as_secs_f64();
            fade.progress = t as f32;
            let mut new = [0u8; SLOTS];
            for (out, (&a, &b)) in new.iter_mut().zip(fade.from.iter().zip(fade.to.iter())) {
                let v = f64::from(a) + (f64::from(b) - f64::from(a)) * t;
                // v lies between a and b, both 0..=255, so the cast is lossless.
                *out = v.round() as u8;
            }
            new
        };
        if new == self.values {
            return None;
        }
        self.values = new;
        self.generation += 1;
        Some(self.hand_out())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn console() -> DmxConsole {
        DmxConsole::new(1)
    }

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    // ----- cursor -----

    #[test]
    fn cursor_stays_in_range_at_both_ends() {
        let mut c = console();
        assert_eq!(c.move_left(), None);
        assert_eq!(c.cursor(), 0);
        c.move_up(16);
        assert_eq!(c.cursor(), 0);
        c.end();
        assert_eq!(c.cursor(), 511);
        c.move_right();
        assert_eq!(c.cursor(), 511);
        c.move_down(16);
        assert_eq!(c.cursor(), 511);
        c.home();
        assert_eq!(c.cursor(), 0);
        c.move_right();
        assert_eq!(c.cursor(), 1);
        c.move_left();
        assert_eq!(c.cursor(), 0);
    }

    #[test]
    fn up_and_down_move_by_the_row_width() {
        let mut c = console();
        c.move_down(16);
        assert_eq!(c.cursor(), 16);
        c.move_down(24);
        assert_eq!(c.cursor(), 40);
        c.move_up(32);
        assert_eq!(c.cursor(), 8);
        c.move_up(32);
        assert_eq!(c.cursor(), 8, "first row: up stays put");
        c.move_down(0);
        assert_eq!(c.cursor(), 9, "a zero width counts as one column");
    }

    #[test]
    fn down_into_a_short_last_row_lands_on_the_last_slot() {
        // 24 columns: the last row starts at 504 and holds 504..=511.
        let mut c = console();
        c.set_cursor(490); // row 20, column 10
        c.move_down(24);
        assert_eq!(c.cursor(), 511);
        c.move_down(24);
        assert_eq!(c.cursor(), 511);
        c.set_cursor(485);
        c.move_down(24);
        assert_eq!(c.cursor(), 509);
        c.set_cursor(10_000);
        assert_eq!(c.cursor(), 511);
    }

    #[test]
    fn cursor_moves_send_nothing() {
        let mut c = console();
        assert_eq!(c.move_right(), None);
        assert_eq!(c.move_down(8), None);
        assert_eq!(c.end(), None);
        assert_eq!(c.generation(), 0);
        assert!(!c.needs_send());
    }

    // ----- values -----

    #[test]
    fn plus_minus_step_by_one_and_saturate() {
        let mut c = console();
        assert_eq!(c.decrement(), None, "- at 0 changes nothing");
        let f = c.increment().expect("+ sends");
        assert_eq!(f.data[0], 1);
        assert_eq!(f.generation, 1);
        c.decrement();
        assert_eq!(c.value(0), 0);
        c.toggle();
        assert_eq!(c.value(0), 255);
        assert_eq!(c.increment(), None, "+ at 255 changes nothing");
        assert_eq!(c.decrement().map(|f| f.data[0]), Some(254));
    }

    #[test]
    fn page_up_and_down_step_by_16_and_stop_at_the_ends() {
        let mut c = console();
        c.page_up();
        assert_eq!(c.value(0), 16);
        c.page_down();
        c.page_down();
        assert_eq!(c.value(0), 0);
        for _ in 0..15 {
            c.page_up();
        }
        assert_eq!(c.value(0), 240);
        c.page_up();
        assert_eq!(c.value(0), 255, "near the top PgUp stops at 255");
        assert_eq!(c.page_up(), None);
        c.decrement();
        c.decrement();
        c.page_up();
        assert_eq!(c.value(0), 255);
    }

    #[test]
    fn space_toggles_between_0_and_255() {
        let mut c = console();
        c.set_cursor(7);
        assert_eq!(c.toggle().map(|f| f.data[7]), Some(255));
        assert_eq!(c.toggle().map(|f| f.data[7]), Some(0));
        c.increment();
        assert_eq!(
            c.toggle().map(|f| f.data[7]),
            Some(0),
            "any non-zero goes to 0"
        );
    }

    #[test]
    fn blackout_and_full_set_every_slot_and_always_send() {
        let mut c = console();
        let f = c.full().expect("sent");
        assert!(f.data.iter().all(|&v| v == 255));
        let f = c.blackout().expect("sent");
        assert!(f.data.iter().all(|&v| v == 0));
        let g = c.generation();
        let f = c.blackout().expect("a blackout when dark is still sent");
        assert_eq!(f.generation, g + 1);
        assert_eq!(c.undo_len(), 2, "but no undo step for no change");
    }

    #[test]
    fn frames_carry_universe_priority_and_the_whole_state() {
        let mut c = DmxConsole::new(42);
        c.set_cursor(511);
        let f = c.toggle().expect("sent");
        assert_eq!(f.universe, 42);
        assert_eq!(f.priority, DEFAULT_PRIORITY);
        assert_eq!(f.data.len(), SLOTS);
        assert_eq!(f.data[511], 255);
        assert_eq!(&f.data, c.values());
    }

    // ----- undo -----

    #[test]
    fn undo_steps_back_one_change_at_a_time() {
        let mut c = console();
        c.increment();
        c.increment();
        c.move_right();
        c.toggle();
        assert_eq!(c.undo().unwrap().map(|f| f.data[1]), Some(0));
        assert_eq!(c.value(0), 2);
        c.undo().unwrap();
        assert_eq!(c.value(0), 1);
        c.undo().unwrap();
        assert_eq!(c.value(0), 0);
        assert_eq!(c.undo(), Err(ConsoleError::NothingToUndo));
        assert_eq!(c.refusal(), Some(&ConsoleError::NothingToUndo));
    }

    #[test]
    fn blackout_and_full_undo_in_one_step() {
        let mut c = console();
        c.set_cursor(3);
        c.page_up();
        c.full();
        c.blackout();
        let f = c.undo().unwrap().expect("sent");
        assert!(f.data.iter().all(|&v| v == 255));
        let f = c.undo().unwrap().expect("sent");
        assert_eq!(f.data[3], 16);
        assert_eq!(f.data.iter().filter(|&&v| v != 0).count(), 1);
    }

    #[test]
    fn undo_history_is_bounded() {
        let mut c = console();
        for _ in 0..UNDO_DEPTH + 10 {
            c.toggle();
        }
        assert_eq!(c.undo_len(), UNDO_DEPTH);
        for _ in 0..UNDO_DEPTH {
            c.undo().unwrap();
        }
        assert_eq!(c.undo(), Err(ConsoleError::NothingToUndo));
    }

    #[test]
    fn undo_while_typing_drops_the_typed_value_only() {
        let mut c = console();
        c.increment();
        c.type_char('9').unwrap();
        assert_eq!(c.undo(), Ok(None));
        assert_eq!(c.entry(), None);
        assert_eq!(c.value(0), 1);
    }

    // ----- typing -----

    #[test]
    fn typed_decimal_commits_on_enter() {
        let mut c = console();
        c.type_char('1').unwrap();
        c.type_char('2').unwrap();
        c.type_char('8').unwrap();
        assert_eq!(c.entry(), Some("128"));
        assert_eq!(c.value(0), 0, "nothing changes until commit");
        assert_eq!(c.generation(), 0);
        let f = c.commit_entry().expect("sent");
        assert_eq!(f.data[0], 128);
        assert_eq!(c.entry(), None);
        assert_eq!(c.commit_entry(), None, "nothing to commit");
    }

    #[test]
    fn typed_decimal_out_of_range_is_refused_not_wrapped() {
        let mut c = console();
        c.type_char('2').unwrap();
        c.type_char('5').unwrap();
        let err = c.type_char('6').unwrap_err();
        assert_eq!(
            err.to_string(),
            "256 is out of range: decimal values are 0..=255"
        );
        assert_eq!(c.entry(), Some("25"), "the refused digit is not kept");
        assert_eq!(c.type_char('5'), Ok(()));
        assert_eq!(c.commit_entry().map(|f| f.data[0]), Some(255));
        c.type_char('9').unwrap();
        c.type_char('9').unwrap();
        c.type_char('9').unwrap_err();
        c.type_char('0').unwrap_err();
        assert!(matches!(
            c.type_char('x'),
            Err(ConsoleError::NotADigit { ch: 'x', .. })
        ));
        c.cancel_entry();
        c.type_char('0').unwrap();
        c.type_char('0').unwrap();
        c.type_char('7').unwrap();
        assert_eq!(
            c.type_char('1'),
            Err(ConsoleError::TooManyDigits {
                mode: DisplayMode::Decimal
            })
        );
        assert_eq!(c.commit_entry().map(|f| f.data[0]), Some(7));
    }

    #[test]
    fn typed_hex_values() {
        let mut c = console();
        c.cycle_mode();
        assert_eq!(c.mode(), DisplayMode::Hex);
        assert!(c.is_entry_char('b') && c.is_entry_char('F') && !c.is_entry_char('g'));
        c.type_char('F').unwrap();
        c.type_char('e').unwrap();
        assert_eq!(c.entry(), Some("fe"));
        assert_eq!(
            c.type_char('0').unwrap_err().to_string(),
            "hex values have at most 2 digits"
        );
        assert_eq!(
            c.type_char('g').unwrap_err().to_string(),
            "'g' is not a hex digit"
        );
        assert_eq!(c.commit_entry().map(|f| f.data[0]), Some(254));
    }

    #[test]
    fn typed_percent_values() {
        let mut c = console();
        c.set_mode(DisplayMode::Percent);
        assert!(!c.is_entry_char('a'));
        c.type_char('5').unwrap();
        c.type_char('0').unwrap();
        assert_eq!(c.commit_entry().map(|f| f.data[0]), Some(128));
        c.type_char('1').unwrap();
        c.type_char('0').unwrap();
        c.type_char('0').unwrap();
        assert_eq!(c.commit_entry().map(|f| f.data[0]), Some(255));
        c.type_char('1').unwrap();
        c.type_char('0').unwrap();
        assert_eq!(
            c.type_char('1').unwrap_err().to_string(),
            "101 is out of range: percent values are 0..=100"
        );
        c.cancel_entry();
        assert_eq!(c.value(0), 255, "Esc changes nothing");
    }

    #[test]
    fn percent_conversions_round_trip() {
        for p in 0..=100u8 {
            assert_eq!(to_percent(from_percent(p)), p);
        }
        assert_eq!(to_percent(255), 100);
        assert_eq!(to_percent(0), 0);
        assert_eq!(to_percent(3), 1);
        assert_eq!(from_percent(200), 255);
    }

    #[test]
    fn moving_commits_a_typed_value_and_esc_cancels() {
        let mut c = console();
        c.type_char('4').unwrap();
        c.type_char('2').unwrap();
        let f = c.move_right().expect("the move commits and sends");
        assert_eq!(f.data[0], 42);
        assert_eq!(c.cursor(), 1);
        c.type_char('9').unwrap();
        c.cancel_entry();
        c.move_right();
        assert_eq!(c.value(1), 0);
        c.type_char('1').unwrap();
        c.backspace();
        assert_eq!(c.entry(), None);
    }

    #[test]
    fn a_committed_value_is_sent_even_when_the_step_after_it_changes_nothing() {
        let mut c = console();
        for ch in ['2', '5', '5'] {
            c.type_char(ch).unwrap();
        }
        let f = c.increment().expect("the commit of 255 is sent");
        assert_eq!(f.data[0], 255);
        assert_eq!(f.generation, c.generation());
        c.move_right();
        c.type_char('0').unwrap();
        assert_eq!(c.page_down(), None, "0 over 0, then PgDn at 0: no change");
        assert!(!c.needs_send());
    }

    #[test]
    fn an_entry_keeps_the_mode_it_was_started_in() {
        let mut c = console();
        c.type_char('9').unwrap();
        c.type_char('9').unwrap();
        // cycle_mode commits the decimal 99 first.
        assert_eq!(c.cycle_mode().map(|f| f.data[0]), Some(99));
        assert_eq!(c.mode(), DisplayMode::Hex);
        c.type_char('1').unwrap();
        assert_eq!(c.increment().map(|f| f.data[0]), Some(2), "0x1 then +");
    }

    #[test]
    fn display_mode_and_numbering_cycle() {
        let mut c = console();
        assert_eq!(c.mode(), DisplayMode::Decimal);
        c.cycle_mode();
        c.cycle_mode();
        assert_eq!(c.mode(), DisplayMode::Percent);
        c.cycle_mode();
        assert_eq!(c.mode(), DisplayMode::Decimal);
        assert_eq!(c.numbering().label(0), 1);
        c.toggle_numbering();
        assert_eq!(c.numbering(), Numbering::ZeroBased);
        assert_eq!(c.numbering().label(0), 0);
        assert_eq!(c.generation(), 0, "display changes send nothing");
    }

    // ----- priority -----

    #[test]
    fn priority_bounds() {
        let mut c = console();
        assert_eq!(c.set_priority(100), Ok(None), "unchanged");
        assert_eq!(c.set_priority(0).unwrap().map(|f| f.priority), Some(0));
        assert_eq!(c.set_priority(200).unwrap().map(|f| f.priority), Some(200));
        let err = c.set_priority(201).unwrap_err();
        assert_eq!(err, ConsoleError::PriorityOutOfRange(201));
        assert!(err.to_string().contains("0..=200"));
        assert_eq!(
            c.set_priority(356),
            Err(ConsoleError::PriorityOutOfRange(356))
        );
        assert_eq!(c.priority(), 200);
        assert_eq!(c.undo_len(), 0, "priority is not a value change");
    }

    // ----- send contract -----

    #[test]
    fn take_frame_hands_out_each_change_once() {
        let mut c = console();
        assert_eq!(c.take_frame(), None);
        let f = c.increment().expect("sent");
        assert_eq!(c.take_frame(), None, "already handed out");
        assert!(c.is_pending());
        c.send_ok(f.generation);
        assert!(!c.is_pending());
        assert_eq!(c.take_frame(), None);
    }

    #[test]
    fn a_failed_send_keeps_the_frame_pending() {
        let mut c = console();
        let f = c.increment().expect("sent");
        c.send_failed(f.generation, "Universe doesn't exist");
        let failure = c.send_failure().expect("shown");
        assert_eq!(failure.message, "Universe doesn't exist");
        assert_eq!(failure.slot, Some(0));
        let again = c.take_frame().expect("the state is re-sent");
        assert_eq!(again.data, f.data);
        assert_eq!(again.generation, f.generation);
        assert_eq!(c.take_frame(), None, "once per attempt");
        c.send_failed(again.generation, "not connected");
        let third = c
            .take_frame()
            .expect("still pending after a second failure");
        c.send_ok(third.generation);
        assert_eq!(c.send_failure(), None);
        assert!(!c.is_pending());
    }

    #[test]
    fn coalesced_frames_supersede_older_failures() {
        let mut c = console();
        let f1 = c.increment().expect("sent");
        let f2 = c.increment().expect("sent");
        // The runner sent f2 (whole state) and olad acknowledged it; then the
        // older f1's failure comes back: it is ignored.
        c.send_ok(f2.generation);
        c.send_failed(f1.generation, "late");
        assert_eq!(c.send_failure(), None);
        assert_eq!(c.take_frame(), None);
        // A failure of the newest frame after an older ack does count.
        let f3 = c.increment().expect("sent");
        c.send_ok(f2.generation);
        c.send_failed(f3.generation, "timeout");
        assert_eq!(c.take_frame().map(|f| f.data[0]), Some(3));
    }

    #[test]
    fn a_change_after_a_failure_carries_the_failed_change_too() {
        let mut c = console();
        let f1 = c.increment().expect("sent");
        c.send_failed(f1.generation, "not connected");
        c.move_right();
        let f2 = c.increment().expect("sent");
        assert_eq!(&f2.data[..2], &[1, 1]);
        assert_eq!(c.take_frame(), None);
        c.send_ok(f2.generation);
        assert_eq!(
            c.send_failure(),
            None,
            "the newer ack clears the older failure"
        );
    }

    #[test]
    fn resend_hands_out_the_current_state_again() {
        let mut c = console();
        let f = c.toggle().expect("sent");
        c.send_ok(f.generation);
        let again = c.resend();
        assert_eq!(again, f);
    }

    #[test]
    fn bogus_acks_and_failures_are_ignored() {
        let mut c = console();
        c.send_ok(99);
        c.send_failed(99, "from the future");
        assert_eq!(c.send_failure(), None);
        let f = c.increment().expect("sent");
        assert!(
            c.is_pending(),
            "an ack for a generation never handed out does not count"
        );
        c.send_ok(f.generation);
        assert!(!c.is_pending());
    }

    #[test]
    fn switching_universe_drops_the_old_universes_state() {
        let mut c = console();
        let f = c.increment().expect("sent");
        c.send_failed(f.generation, "Universe doesn't exist");
        c.set_readback(&[9]);
        c.set_universe(2);
        assert_eq!(c.universe(), 2);
        assert_eq!(c.send_failure(), None);
        assert_eq!(c.readback(), None);
        assert_eq!(c.take_frame(), None);
        assert_eq!(c.increment().map(|f| f.universe), Some(2));
    }

    #[test]
    fn load_takes_values_without_sending() {
        let mut c = console();
        let f = c.increment().expect("sent");
        c.send_failed(f.generation, "Universe doesn't exist");
        c.load(&[1, 2, 3]);
        assert_eq!(&c.values()[..4], &[1, 2, 3, 0]);
        assert_eq!(c.undo_len(), 0);
        assert_eq!(c.take_frame(), None);
        assert!(!c.is_pending());
        assert_eq!(c.send_failure(), None);
        assert_eq!(c.differing(), 0);
    }

    #[test]
    fn a_refusal_shows_until_the_next_accepted_operation() {
        let mut c = console();
        c.undo().unwrap_err();
        assert!(c.refusal().is_some());
        c.move_right();
        assert_eq!(c.refusal(), None);
        c.set_priority(300).unwrap_err();
        c.increment();
        assert_eq!(c.refusal(), None);
    }

    // ----- readback -----

    #[test]
    fn readback_marks_differing_slots() {
        let mut c = console();
        assert!(!c.differs(0), "no readback, no marks");
        let f = c.toggle().expect("sent");
        c.set_readback(&[0; SLOTS]);
        assert!(!c.differs(0), "held back while our frame is in flight");
        c.send_ok(f.generation);
        assert!(
            c.differs(0),
            "olad still has 0: a lost frame or another source"
        );
        c.set_readback(&f.data);
        assert_eq!(c.differing(), 0);
        let mut other = f.data;
        other[100] = 77;
        c.set_readback(&other);
        assert!(c.differs(100));
        assert_eq!(c.differing(), 1);
        assert!(!c.differs(SLOTS), "past the end is never marked");
    }

    #[test]
    fn short_readback_counts_missing_slots_as_zero() {
        let mut c = console();
        c.set_cursor(20);
        let f = c.toggle().expect("sent");
        c.send_ok(f.generation);
        c.set_readback(&[0; 10]);
        assert!(c.differs(20));
        assert!(!c.differs(300));
        assert_eq!(c.differing(), 1);
        c.set_readback(&[5; 600]);
        assert_eq!(c.readback().map(<[u8]>::len), Some(SLOTS), "kept to 512");
    }

    #[test]
    fn a_failed_send_shows_its_differences() {
        let mut c = console();
        c.set_readback(&[0; SLOTS]);
        let f = c.toggle().expect("sent");
        c.send_failed(f.generation, "timeout");
        assert!(c.differs(0));
    }

    // ----- scenes and fades -----

    #[test]
    fn scenes_store_and_snap_recall() {
        let mut c = console();
        let t0 = Instant::now();
        assert_eq!(c.recall_scene(0, t0), Err(ConsoleError::EmptyScene(0)));
        assert_eq!(
            c.recall_scene(12, t0).unwrap_err().to_string(),
            "there is no scene F13; scenes are F1..F12"
        );
        assert_eq!(c.store_scene(12), Err(ConsoleError::NoSuchScene(12)));
        c.toggle();
        c.store_scene(2).unwrap();
        assert!(c.scene_stored(2) && !c.scene_stored(0));
        c.blackout();
        let f = c.recall_scene(2, t0).unwrap().expect("snap recall sends");
        assert_eq!(f.data[0], 255);
        assert_eq!(c.last_scene(), Some(2));
        assert_eq!(c.fade(), None);
        // One undo step back to the blackout.
        c.undo().unwrap();
        assert_eq!(c.value(0), 0);
    }

    #[test]
    fn fade_start_middle_end_with_explicit_instants() {
        let mut c = console();
        let t0 = Instant::now();
        c.set_cursor(1);
        c.set_priority(150).unwrap();
        for _ in 0..2 {
            c.page_up(); // slot 1 = 32
        }
        c.set_cursor(0);
        c.toggle(); // slot 0 = 255
        c.store_scene(0).unwrap(); // [255, 32, 0...]
        c.blackout();
        c.set_cursor(2);
        c.toggle(); // now [0, 0, 255, ...]
        c.set_fade_time(secs(2.0)).unwrap();
        assert_eq!(
            c.recall_scene(0, t0),
            Ok(None),
            "nothing changes at the start"
        );
        assert_eq!(c.tick(t0), None);
        assert_eq!(c.fade().map(|f| f.progress), Some(0.0));
        let mid = c.tick(t0 + secs(1.0)).expect("half way");
        assert_eq!(&mid.data[..3], &[128, 16, 128]);
        assert_eq!(mid.priority, 150);
        assert_eq!(c.fade().map(|f| (f.scene, f.progress)), Some((0, 0.5)));
        let quarter = c.tick(t0 + secs(1.5)).expect("three quarters");
        assert_eq!(&quarter.data[..3], &[191, 24, 64]);
        let end = c.tick(t0 + secs(2.0)).expect("end");
        assert_eq!(&end.data[..3], &[255, 32, 0]);
        assert!(end.data[3..].iter().all(|&v| v == 0));
        assert_eq!(c.fade(), None);
        assert_eq!(c.tick(t0 + secs(3.0)), None, "over");
        // The whole recall is one undo step.
        let back = c.undo().unwrap().expect("sent");
        assert_eq!(&back.data[..3], &[0, 0, 255]);
    }

    #[test]
    fn a_late_tick_lands_exactly_on_the_scene() {
        let mut c = console();
        let t0 = Instant::now();
        c.full();
        c.store_scene(5).unwrap();
        c.blackout();
        c.set_fade_time(secs(0.3)).unwrap();
        c.recall_scene(5, t0).unwrap();
        let f = c.tick(t0 + secs(10.0)).expect("jumps to the end");
        assert!(f.data.iter().all(|&v| v == 255));
        assert_eq!(c.fade(), None);
        // A tick before the start counts as the start.
        c.blackout();
        c.recall_scene(5, t0 + secs(20.0)).unwrap();
        assert_eq!(c.tick(t0), None);
    }

    #[test]
    fn a_change_during_a_fade_cancels_it_where_it_stands() {
        let mut c = console();
        let t0 = Instant::now();
        c.full();
        c.store_scene(0).unwrap();
        c.blackout();
        c.set_fade_time(secs(4.0)).unwrap();
        c.recall_scene(0, t0).unwrap();
        c.tick(t0 + secs(1.0)).expect("a quarter"); // 64 everywhere
        c.set_cursor(9);
        let f = c.increment().expect("sent");
        assert_eq!(c.fade(), None);
        assert_eq!(f.data[9], 65);
        assert_eq!(f.data[0], 64);
        assert_eq!(c.tick(t0 + secs(2.0)), None, "the fade is gone");
        // Undo: the increment, then the whole recall.
        c.undo().unwrap();
        assert_eq!(c.value(9), 64);
        c.undo().unwrap();
        assert!(c.values().iter().all(|&v| v == 0));
    }

    #[test]
    fn undo_during_a_fade_cancels_it_and_restores_the_start() {
        let mut c = console();
        let t0 = Instant::now();
        c.full();
        c.store_scene(0).unwrap();
        c.blackout();
        c.set_fade_time(secs(1.0)).unwrap();
        c.recall_scene(0, t0).unwrap();
        c.tick(t0 + secs(0.5));
        let f = c.undo().unwrap().expect("sent");
        assert!(f.data.iter().all(|&v| v == 0));
        assert_eq!(c.fade(), None);
    }

    #[test]
    fn fade_time_bounds() {
        let mut c = console();
        assert_eq!(c.set_fade_time(MAX_FADE), Ok(()));
        let too_long = MAX_FADE + secs(1.0);
        assert_eq!(
            c.set_fade_time(too_long),
            Err(ConsoleError::FadeTooLong(too_long))
        );
        assert_eq!(c.fade_time(), MAX_FADE);
    }

    #[test]
    fn storing_a_scene_during_a_fade_keeps_the_fade() {
        let mut c = console();
        let t0 = Instant::now();
        c.full();
        c.store_scene(0).unwrap();
        c.blackout();
        c.set_fade_time(secs(2.0)).unwrap();
        c.recall_scene(0, t0).unwrap();
        c.tick(t0 + secs(1.0));
        c.store_scene(1).unwrap();
        assert!(c.fade().is_some());
        c.tick(t0 + secs(2.0));
        c.set_fade_time(Duration::ZERO).unwrap();
        c.recall_scene(1, t0).unwrap();
        assert!(c.values().iter().all(|&v| v == 128));
    }

    // ----- property tests -----

    #[derive(Debug, Clone)]
    enum Op {
        Left,
        Right,
        Up(usize),
        Down(usize),
        Home,
        End,
        Cursor(usize),
        Plus,
        Minus,
        PgUp,
        PgDn,
        Toggle,
        Blackout,
        Full,
        Undo,
        Type(char),
        Enter,
        Esc,
        Backspace,
        Mode,
        Numbering,
        Priority(u32),
        Store(usize),
        Recall(usize),
        FadeTime(u64),
        Tick(u64),
        Readback(Vec<u8>),
        Take,
        Ok(u64),
        Failed(u64),
        Universe(u32),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            Just(Op::Left),
            Just(Op::Right),
            (0usize..40).prop_map(Op::Up),
            (0usize..40).prop_map(Op::Down),
            Just(Op::Home),
            Just(Op::End),
            (0usize..1000).prop_map(Op::Cursor),
            Just(Op::Plus),
            Just(Op::Minus),
            Just(Op::PgUp),
            Just(Op::PgDn),
            Just(Op::Toggle),
            Just(Op::Blackout),
            Just(Op::Full),
            Just(Op::Undo),
            any::<char>().prop_map(Op::Type),
            proptest::char::range('0', 'f').prop_map(Op::Type),
            Just(Op::Enter),
            Just(Op::Esc),
            Just(Op::Backspace),
            Just(Op::Mode),
            Just(Op::Numbering),
            (0u32..400).prop_map(Op::Priority),
            (0usize..14).prop_map(Op::Store),
            (0usize..14).prop_map(Op::Recall),
            (0u64..5000).prop_map(Op::FadeTime),
            (0u64..6000).prop_map(Op::Tick),
            proptest::collection::vec(any::<u8>(), 0..600).prop_map(Op::Readback),
            Just(Op::Take),
            (0u64..300).prop_map(Op::Ok),
            (0u64..300).prop_map(Op::Failed),
            (0u32..3).prop_map(Op::Universe),
        ]
    }

    proptest! {
        #[test]
        fn arbitrary_operations_never_panic_and_keep_invariants(
            ops in proptest::collection::vec(op(), 0..200)
        ) {
            let t0 = Instant::now();
            let mut c = console();
            let mut clock = t0;
            let mut last_gen = 0;
            // The newest generation the runner has been given.
            let mut received = 0;
            for op in ops {
                let frame = match op {
                    Op::Left => c.move_left(),
                    Op::Right => c.move_right(),
                    Op::Up(n) => c.move_up(n),
                    Op::Down(n) => c.move_down(n),
                    Op::Home => c.home(),
                    Op::End => c.end(),
                    Op::Cursor(n) => c.set_cursor(n),
                    Op::Plus => c.increment(),
                    Op::Minus => c.decrement(),
                    Op::PgUp => c.page_up(),
                    Op::PgDn => c.page_down(),
                    Op::Toggle => c.toggle(),
                    Op::Blackout => c.blackout(),
                    Op::Full => c.full(),
                    Op::Undo => c.undo().unwrap_or(None),
                    Op::Type(ch) => {
                        let _ = c.type_char(ch);
                        None
                    }
                    Op::Enter => c.commit_entry(),
                    Op::Esc => {
                        c.cancel_entry();
                        None
                    }
                    Op::Backspace => {
                        c.backspace();
                        None
                    }
                    Op::Mode => c.cycle_mode(),
                    Op::Numbering => {
                        c.toggle_numbering();
                        None
                    }
                    Op::Priority(p) => c.set_priority(p).unwrap_or(None),
                    Op::Store(s) => c.store_scene(s).unwrap_or(None),
                    Op::Recall(s) => c.recall_scene(s, clock).unwrap_or(None),
                    Op::FadeTime(ms) => {
                        let _ = c.set_fade_time(Duration::from_millis(ms));
                        None
                    }
                    Op::Tick(ms) => {
                        clock += Duration::from_millis(ms);
                        c.tick(clock)
                    }
                    Op::Readback(v) => {
                        c.set_readback(&v);
                        None
                    }
                    Op::Take => c.take_frame(),
                    Op::Ok(g) => {
                        c.send_ok(g);
                        None
                    }
                    Op::Failed(g) => {
                        c.send_failed(g, "x");
                        None
                    }
                    Op::Universe(u) => {
                        c.set_universe(u);
                        // Deliberately nothing to send to the new universe.
                        received = c.generation();
                        None
                    }
                };
                prop_assert!(c.cursor() < SLOTS);
                prop_assert!(c.priority() <= MAX_PRIORITY);
                prop_assert!(c.undo_len() <= UNDO_DEPTH);
                prop_assert!(c.generation() >= last_gen);
                if let Some(f) = &frame {
                    received = f.generation;
                    // Every frame handed out is the whole current state.
                    prop_assert_eq!(&f.data, c.values());
                    prop_assert_eq!(f.generation, c.generation());
                    prop_assert_eq!(f.universe, c.universe());
                }
                // Nothing lost: the runner has the newest state, or
                // take_frame will give it.
                prop_assert!(received == c.generation() || c.needs_send());
                if c.generation() > last_gen {
                    prop_assert!(c.is_pending());
                }
                last_gen = c.generation();
                if let Some(progress) = c.fade().map(|f| f.progress) {
                    prop_assert!((0.0..=1.0).contains(&progress));
                }
            }
        }
    }
}
