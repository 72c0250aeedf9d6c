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

mod display;
mod scenes;

pub use display::{DisplayMode, Numbering, from_percent, to_percent};
use display::{mode_name, mode_range};
use scenes::Fade;
pub use scenes::FadeView;

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
    /// Enter on a typed value that cannot be set: nothing was set.
    #[error("{text} was not set ({why}); the value is unchanged")]
    NotSet {
        /// What was typed.
        text: String,
        /// Why it cannot be set.
        why: String,
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

    /// Takes `changes` ((channel 1..=512, value)) that another sender on
    /// this connection (the cue link) put into olad, without sending: the
    /// console's next frame carries them instead of undoing them. A value
    /// being typed, the undo history and anything pending stay as they are.
    pub fn adopt(&mut self, changes: &[(u16, u8)]) {
        for &(channel, value) in changes {
            if let Some(slot) = usize::from(channel)
                .checked_sub(1)
                .and_then(|i| self.values.get_mut(i))
            {
                *slot = value;
            }
        }
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

    /// Types one digit of a value at the cursor. A digit that is not one of
    /// the mode's is refused and not kept. A digit that makes the value out
    /// of range, or one too many, is kept (so the cell shows what was typed)
    /// but refused: the value is refused as a whole at Enter, never
    /// shortened to what fitted, until Backspace makes it valid again.
    pub fn type_char(&mut self, c: char) -> Result<(), ConsoleError> {
        let mode = self.entry.as_ref().map_or(self.mode, |e| e.mode);
        if !mode.is_digit(c) {
            return Err(self.refuse(ConsoleError::NotADigit { ch: c, mode }));
        }
        let mut text = self
            .entry
            .as_ref()
            .map_or_else(String::new, |e| e.text.clone());
        // One digit past the most a value has is kept (to say what was
        // typed); more are not.
        if text.len() > mode.max_digits() {
            return Err(self.refuse(ConsoleError::TooManyDigits { mode }));
        }
        text.push(c.to_ascii_lowercase());
        self.entry = Some(Entry { text, mode });
        match self.entry_problem() {
            None => {
                self.refusal = None;
                Ok(())
            }
            Some(err) => Err(self.refuse(err)),
        }
    }

    /// Why the value being typed cannot be set, if it cannot.
    fn entry_problem(&self) -> Option<ConsoleError> {
        let entry = self.entry.as_ref()?;
        let mode = entry.mode;
        if entry.text.len() > mode.max_digits() {
            return Some(ConsoleError::TooManyDigits { mode });
        }
        match u32::from_str_radix(&entry.text, mode.radix()) {
            Ok(v) if v <= mode.max_typed() => None,
            _ => Some(ConsoleError::OutOfRange {
                text: entry.text.clone(),
                mode,
            }),
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
        self.refusal = self.entry_problem();
    }

    /// Esc: drops the typed value; nothing changes.
    pub fn cancel_entry(&mut self) {
        self.entry = None;
    }

    /// Enter: sets the cursor's slot to the typed value (moving the cursor,
    /// changing mode or any value operation commits too).
    ///
    /// A value out of range (or with too many digits) sets nothing: the
    /// refusal says so, and the slot keeps its value.
    pub fn commit_entry(&mut self) -> Option<Frame> {
        if let Some(problem) = self.entry_problem() {
            let text = self.entry.take().map(|e| e.text).unwrap_or_default();
            self.refuse(ConsoleError::NotSet {
                text,
                why: problem.to_string(),
            });
            return None;
        }
        let entry = self.entry.take()?;
        // entry_problem found the digits valid and in range, so this parse
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
}

#[cfg(test)]
mod tests;
