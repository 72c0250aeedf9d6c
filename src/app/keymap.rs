//! The one keymap table. It drives key dispatch ([`lookup`]), the status-line
//! hints of the active tab ([`hints`]) and the `?` help overlay ([`KEYMAP`]
//! grouped by [`Context`]), so the three can never disagree.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Where a binding applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Context {
    /// Everywhere.
    Global,
    /// The Playback Control tab.
    Playback,
    /// The Raw Event tab.
    RawEvent,
    /// The Pixels tab.
    Pixels,
    /// The OLA-DMX tab.
    Dmx,
}

impl Context {
    /// Every context, in the help overlay's order.
    pub const ALL: [Context; 5] = [
        Context::Global,
        Context::Playback,
        Context::RawEvent,
        Context::Pixels,
        Context::Dmx,
    ];

    /// The heading used in the help overlay.
    pub fn title(self) -> &'static str {
        match self {
            Context::Global => "Everywhere",
            Context::Playback => "Playback Control",
            Context::RawEvent => "Raw Event",
            Context::Pixels => "Pixels",
            Context::Dmx => "OLA-DMX",
        }
    }
}

/// Everything a key (or a click) can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Quit,
    Help,
    NextTab,
    PrevTab,
    GoTab(usize),
    /// Leave the focused text field (or close the help overlay).
    Escape,
    ScrollUp,
    ScrollDown,
    PageUp,
    PageDown,
    ScrollTop,
    ScrollBottom,
    Search,
    SearchNext,
    SearchPrev,
    NextContact,
    PrevContact,
    ToggleSendToAll,
    PlayStop,
    Play,
    Stop,
    StepForward,
    StepBackward,
    FullScreen,
    Cache,
    SetFrame,
    TogglePoll,
    Send,
    CycleName,
    ToggleKind,
    HistoryPrev,
    HistoryNext,
    NextField,
    EditCode,
    /// The Pixels tab's own actions.
    Pixels(PixelsAction),
    /// A key of the OLA-DMX tab.
    Dmx(DmxAction),
}

/// The Pixels tab's keymap actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PixelsAction {
    /// Focus the path field.
    Open,
    /// Complete the path (path field), next field (other fields), next tab (no field).
    Tab,
    /// Load the path (path field), leave the field (other fields), open the path field (no field).
    Enter,
    FocusFirst,
    FocusSecond,
    FocusMedia,
    CycleDepth,
    ToggleMode,
    Send,
    /// Cancel a running push, else leave the field, else the global Esc.
    Escape,
}

/// What a key of the OLA-DMX tab's keymap rows asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DmxAction {
    Left,
    Right,
    Up,
    Down,
    Home,
    End,
    Plus,
    Minus,
    PageUp,
    PageDown,
    Toggle,
    Blackout,
    Full,
    Undo,
    Mode,
    Numbering,
    /// Scene F1..F12 (0-based), over the fade time.
    Recall(u8),
    /// Store the current values in scene F1..F12 (0-based).
    Store(u8),
    Priority,
    FadeTime,
    Universes,
    /// Turn the cue link (a show given with --show) on or off.
    Link,
}

/// One key: a code and its modifiers. For character keys Shift is ignored
/// when matching (terminals disagree on whether `?` or `N` carry it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeySpec {
    pub code: KeyCode,
    pub mods: KeyModifiers,
}

const fn key(code: KeyCode) -> KeySpec {
    KeySpec {
        code,
        mods: KeyModifiers::NONE,
    }
}

const fn ch(c: char) -> KeySpec {
    key(KeyCode::Char(c))
}

const fn ctrl(code: KeyCode) -> KeySpec {
    KeySpec {
        code,
        mods: KeyModifiers::CONTROL,
    }
}

const fn shift(code: KeyCode) -> KeySpec {
    KeySpec {
        code,
        mods: KeyModifiers::SHIFT,
    }
}

const fn alt(code: KeyCode) -> KeySpec {
    KeySpec {
        code,
        mods: KeyModifiers::ALT,
    }
}

impl KeySpec {
    /// Whether `event` is this key.
    pub fn matches(&self, event: &KeyEvent) -> bool {
        let mut mods = event.modifiers;
        let mut code = event.code;
        if let KeyCode::Char(c) = code {
            mods.remove(KeyModifiers::SHIFT);
            // Ctrl+letter arrives lowercase on most terminals, uppercase on some.
            if mods.contains(KeyModifiers::CONTROL) {
                code = KeyCode::Char(c.to_ascii_lowercase());
            }
        }
        if code == KeyCode::BackTab {
            mods.remove(KeyModifiers::SHIFT);
        }
        code == self.code && mods == self.mods
    }

    /// How the key is written in hints and help.
    pub fn label(&self) -> String {
        let mut out = String::new();
        if self.mods.contains(KeyModifiers::CONTROL) {
            out.push_str("Ctrl+");
        }
        if self.mods.contains(KeyModifiers::ALT) {
            out.push_str("Alt+");
        }
        if self.mods.contains(KeyModifiers::SHIFT) {
            out.push_str("Shift+");
        }
        match self.code {
            KeyCode::Char(' ') => out.push_str("Space"),
            KeyCode::Char(c) if self.mods.is_empty() => out.push(c),
            KeyCode::Char(c) => out.push(c.to_ascii_uppercase()),
            KeyCode::Left => out.push('←'),
            KeyCode::Right => out.push('→'),
            KeyCode::Up => out.push('↑'),
            KeyCode::Down => out.push('↓'),
            KeyCode::PageUp => out.push_str("PgUp"),
            KeyCode::PageDown => out.push_str("PgDn"),
            KeyCode::Home => out.push_str("Home"),
            KeyCode::End => out.push_str("End"),
            KeyCode::Enter => out.push_str("Enter"),
            KeyCode::Esc => out.push_str("Esc"),
            KeyCode::Tab => out.push_str("Tab"),
            KeyCode::BackTab => out.push_str("Shift+Tab"),
            KeyCode::F(n) => out.push_str(&format!("F{n}")),
            other => out.push_str(&format!("{other:?}")),
        }
        out
    }
}

/// One row of the table.
#[derive(Debug, Clone, Copy)]
pub struct Binding {
    pub context: Context,
    pub keys: &'static [KeySpec],
    pub action: Action,
    /// What it does, for the help overlay.
    pub desc: &'static str,
    /// Short label for the status line; `None` keeps it out of the hints.
    pub hint: Option<&'static str>,
    /// Active while a text field has the focus (keys with modifiers, Esc, F-keys).
    pub in_text: bool,
}

const fn bind(
    context: Context,
    keys: &'static [KeySpec],
    action: Action,
    desc: &'static str,
    hint: Option<&'static str>,
    in_text: bool,
) -> Binding {
    Binding {
        context,
        keys,
        action,
        desc,
        hint,
        in_text,
    }
}

use Action as A;
use Context::{Dmx as D, Global as G, Pixels as X, Playback as P, RawEvent as R};
use DmxAction as DA;
use PixelsAction as PA;

/// The keymap. Earlier rows win when two rows match the same key in one context;
/// tab rows are checked before global rows.
pub const KEYMAP: &[Binding] = &[
    // Playback Control
    bind(
        P,
        &[ch(' ')],
        A::PlayStop,
        "play, or stop when playing",
        Some("play/stop"),
        false,
    ),
    bind(P, &[ch('p')], A::Play, "play", None, false),
    bind(P, &[ch('s')], A::Stop, "stop", None, false),
    bind(
        P,
        &[key(KeyCode::Left)],
        A::StepBackward,
        "back one frame",
        Some("back"),
        false,
    ),
    bind(
        P,
        &[key(KeyCode::Right)],
        A::StepForward,
        "forward one frame",
        Some("fwd"),
        false,
    ),
    bind(
        P,
        &[ch('f')],
        A::FullScreen,
        "toggle full screen (EVENT)",
        Some("full"),
        false,
    ),
    bind(
        P,
        &[ch('c')],
        A::Cache,
        "toggle cache (EVENT)",
        Some("cache"),
        false,
    ),
    bind(
        P,
        &[ch('g')],
        A::SetFrame,
        "go to frame: type it, Enter sends",
        Some("goto"),
        false,
    ),
    bind(
        P,
        &[ch('w')],
        A::TogglePoll,
        "watch the frame while playing (4 polls a second)",
        Some("watch"),
        false,
    ),
    // Raw Event
    bind(
        R,
        &[
            ctrl(KeyCode::Char('s')),
            ctrl(KeyCode::Enter),
            key(KeyCode::F(5)),
        ],
        A::Send,
        "send the event",
        Some("send"),
        true,
    ),
    bind(
        R,
        &[ctrl(KeyCode::Char('n'))],
        A::CycleName,
        "next name: remote-eval, remote-pyeval, remote-pyexec",
        Some("name"),
        true,
    ),
    bind(
        R,
        &[ctrl(KeyCode::Char('t'))],
        A::ToggleKind,
        "toggle EVENT / RETURNEVENT",
        Some("kind"),
        true,
    ),
    bind(
        R,
        &[alt(KeyCode::Up), ctrl(KeyCode::Up)],
        A::HistoryPrev,
        "recall an older sent event",
        Some("history"),
        true,
    ),
    bind(
        R,
        &[alt(KeyCode::Down), ctrl(KeyCode::Down)],
        A::HistoryNext,
        "recall a newer sent event (back to the draft)",
        None,
        true,
    ),
    bind(
        R,
        &[key(KeyCode::Tab)],
        A::NextField,
        "next field: code, name, target",
        Some("field"),
        true,
    ),
    bind(
        R,
        &[key(KeyCode::Enter), ch('e'), ch('i')],
        A::EditCode,
        "edit the code (when no field has the focus)",
        None,
        false,
    ),
    // Pixels
    bind(
        X,
        &[ctrl(KeyCode::Char('s')), key(KeyCode::F(5))],
        A::Pixels(PA::Send),
        "send the loaded image to the selected RV",
        Some("send"),
        true,
    ),
    bind(
        X,
        &[ch('s')],
        A::Pixels(PA::Send),
        "send (when no field has the focus)",
        None,
        false,
    ),
    bind(
        X,
        &[key(KeyCode::Esc)],
        A::Pixels(PA::Escape),
        "cancel a running push; else leave the field",
        Some("cancel"),
        true,
    ),
    bind(
        X,
        &[key(KeyCode::Tab)],
        A::Pixels(PA::Tab),
        "complete the image path (again: next); else next field",
        Some("complete"),
        true,
    ),
    bind(
        X,
        &[key(KeyCode::Enter)],
        A::Pixels(PA::Enter),
        "image path: load it (the field is left once loaded); other fields: done",
        Some("load"),
        true,
    ),
    bind(
        X,
        &[ch('o')],
        A::Pixels(PA::Open),
        "type an image path",
        Some("image"),
        false,
    ),
    bind(
        X,
        &[ch('x')],
        A::Pixels(PA::FocusFirst),
        "edit X tiles (tile width)",
        Some("x/y tiles"),
        false,
    ),
    bind(
        X,
        &[ch('y')],
        A::Pixels(PA::FocusSecond),
        "edit Y tiles (tile height)",
        None,
        false,
    ),
    bind(
        X,
        &[ch('d')],
        A::Pixels(PA::CycleDepth),
        "bit depth: 8, 16, 32 float",
        Some("depth"),
        false,
    ),
    bind(
        X,
        &[ch('t')],
        A::Pixels(PA::ToggleMode),
        "tiling: X by Y tiles / tiles of W by H pixels",
        Some("tiling"),
        false,
    ),
    bind(
        X,
        &[ch('m')],
        A::Pixels(PA::FocusMedia),
        "edit the media name (empty: unique, from the file)",
        Some("media"),
        false,
    ),
    // OLA-DMX (digits and, in hex mode, a-f type a value; Enter sets it)
    bind(
        D,
        &[key(KeyCode::Left)],
        A::Dmx(DA::Left),
        "cursor left (commits a typed value)",
        Some("move"),
        false,
    ),
    bind(
        D,
        &[key(KeyCode::Right)],
        A::Dmx(DA::Right),
        "cursor right",
        None,
        false,
    ),
    bind(
        D,
        &[key(KeyCode::Up)],
        A::Dmx(DA::Up),
        "cursor up a row",
        None,
        false,
    ),
    bind(
        D,
        &[key(KeyCode::Down)],
        A::Dmx(DA::Down),
        "cursor down a row",
        None,
        false,
    ),
    bind(
        D,
        &[key(KeyCode::Home)],
        A::Dmx(DA::Home),
        "first channel",
        None,
        false,
    ),
    bind(
        D,
        &[key(KeyCode::End)],
        A::Dmx(DA::End),
        "last channel",
        None,
        false,
    ),
    bind(
        D,
        &[ch('+'), ch('=')],
        A::Dmx(DA::Plus),
        "value up by 1 (sent at once)",
        Some("value"),
        false,
    ),
    bind(
        D,
        &[ch('-')],
        A::Dmx(DA::Minus),
        "value down by 1",
        None,
        false,
    ),
    bind(
        D,
        &[key(KeyCode::PageUp)],
        A::Dmx(DA::PageUp),
        "value up by 16",
        None,
        false,
    ),
    bind(
        D,
        &[key(KeyCode::PageDown)],
        A::Dmx(DA::PageDown),
        "value down by 16",
        None,
        false,
    ),
    bind(
        D,
        &[ch(' ')],
        A::Dmx(DA::Toggle),
        "value 0 <-> 255",
        Some("0/255"),
        false,
    ),
    bind(
        D,
        &[ch('b'), ch('B')],
        A::Dmx(DA::Blackout),
        "blackout: every channel 0 (B also in hex mode)",
        Some("blackout"),
        false,
    ),
    bind(
        D,
        &[ch('f'), ch('F')],
        A::Dmx(DA::Full),
        "full: every channel 255 (F also in hex mode)",
        Some("full"),
        false,
    ),
    bind(
        D,
        &[ch('u')],
        A::Dmx(DA::Undo),
        "undo the last change",
        Some("undo"),
        false,
    ),
    bind(
        D,
        &[ch('m')],
        A::Dmx(DA::Mode),
        "display mode: decimal, hex, percent",
        Some("mode"),
        false,
    ),
    bind(
        D,
        &[ch('n')],
        A::Dmx(DA::Numbering),
        "channel numbers from 0 or from 1",
        None,
        false,
    ),
    bind(
        D,
        &[ch('p')],
        A::Dmx(DA::Priority),
        "set the source priority (0..=200)",
        Some("priority"),
        false,
    ),
    bind(
        D,
        &[ch('t')],
        A::Dmx(DA::FadeTime),
        "set the scene fade time in seconds",
        Some("fade"),
        false,
    ),
    bind(
        D,
        &[ch('U')],
        A::Dmx(DA::Universes),
        "pick a universe, or patch a port to make one",
        Some("universe"),
        false,
    ),
    bind(
        D,
        &[ch('L')],
        A::Dmx(DA::Link),
        "cue link on/off (the show of --show)",
        None,
        false,
    ),
    bind(
        D,
        &[key(KeyCode::F(1))],
        A::Dmx(DA::Recall(0)),
        "recall scene F1..F12 over the fade time",
        Some("scene"),
        false,
    ),
    bind(
        D,
        &[key(KeyCode::F(2))],
        A::Dmx(DA::Recall(1)),
        "",
        None,
        false,
    ),
    bind(
        D,
        &[key(KeyCode::F(3))],
        A::Dmx(DA::Recall(2)),
        "",
        None,
        false,
    ),
    bind(
        D,
        &[key(KeyCode::F(4))],
        A::Dmx(DA::Recall(3)),
        "",
        None,
        false,
    ),
    bind(
        D,
        &[key(KeyCode::F(5))],
        A::Dmx(DA::Recall(4)),
        "",
        None,
        false,
    ),
    bind(
        D,
        &[key(KeyCode::F(6))],
        A::Dmx(DA::Recall(5)),
        "",
        None,
        false,
    ),
    bind(
        D,
        &[key(KeyCode::F(7))],
        A::Dmx(DA::Recall(6)),
        "",
        None,
        false,
    ),
    bind(
        D,
        &[key(KeyCode::F(8))],
        A::Dmx(DA::Recall(7)),
        "",
        None,
        false,
    ),
    bind(
        D,
        &[key(KeyCode::F(9))],
        A::Dmx(DA::Recall(8)),
        "",
        None,
        false,
    ),
    bind(
        D,
        &[key(KeyCode::F(10))],
        A::Dmx(DA::Recall(9)),
        "",
        None,
        false,
    ),
    bind(
        D,
        &[key(KeyCode::F(11))],
        A::Dmx(DA::Recall(10)),
        "",
        None,
        false,
    ),
    bind(
        D,
        &[key(KeyCode::F(12))],
        A::Dmx(DA::Recall(11)),
        "",
        None,
        false,
    ),
    bind(
        D,
        &[shift(KeyCode::F(1)), key(KeyCode::F(13))],
        A::Dmx(DA::Store(0)),
        "store the values in scene F1..F12 (F13..F24 too)",
        None,
        false,
    ),
    bind(
        D,
        &[shift(KeyCode::F(2)), key(KeyCode::F(14))],
        A::Dmx(DA::Store(1)),
        "",
        None,
        false,
    ),
    bind(
        D,
        &[shift(KeyCode::F(3)), key(KeyCode::F(15))],
        A::Dmx(DA::Store(2)),
        "",
        None,
        false,
    ),
    bind(
        D,
        &[shift(KeyCode::F(4)), key(KeyCode::F(16))],
        A::Dmx(DA::Store(3)),
        "",
        None,
        false,
    ),
    bind(
        D,
        &[shift(KeyCode::F(5)), key(KeyCode::F(17))],
        A::Dmx(DA::Store(4)),
        "",
        None,
        false,
    ),
    bind(
        D,
        &[shift(KeyCode::F(6)), key(KeyCode::F(18))],
        A::Dmx(DA::Store(5)),
        "",
        None,
        false,
    ),
    bind(
        D,
        &[shift(KeyCode::F(7)), key(KeyCode::F(19))],
        A::Dmx(DA::Store(6)),
        "",
        None,
        false,
    ),
    bind(
        D,
        &[shift(KeyCode::F(8)), key(KeyCode::F(20))],
        A::Dmx(DA::Store(7)),
        "",
        None,
        false,
    ),
    bind(
        D,
        &[shift(KeyCode::F(9)), key(KeyCode::F(21))],
        A::Dmx(DA::Store(8)),
        "",
        None,
        false,
    ),
    bind(
        D,
        &[shift(KeyCode::F(10)), key(KeyCode::F(22))],
        A::Dmx(DA::Store(9)),
        "",
        None,
        false,
    ),
    bind(
        D,
        &[shift(KeyCode::F(11)), key(KeyCode::F(23))],
        A::Dmx(DA::Store(10)),
        "",
        None,
        false,
    ),
    bind(
        D,
        &[shift(KeyCode::F(12)), key(KeyCode::F(24))],
        A::Dmx(DA::Store(11)),
        "",
        None,
        false,
    ),
    // Everywhere
    bind(
        G,
        &[ch('q')],
        A::Quit,
        "quit; signs off from every RV",
        Some("quit"),
        false,
    ),
    bind(
        G,
        &[ctrl(KeyCode::Char('c'))],
        A::Quit,
        "quit, also from a text field",
        None,
        true,
    ),
    bind(G, &[ch('?')], A::Help, "this help", Some("help"), false),
    bind(
        G,
        &[key(KeyCode::F(1))],
        A::Help,
        "this help, also in a text field (OLA-DMX: scene F1)",
        None,
        true,
    ),
    bind(
        G,
        &[key(KeyCode::Esc)],
        A::Escape,
        "leave the text field, close the help or the search",
        None,
        true,
    ),
    bind(G, &[key(KeyCode::Tab)], A::NextTab, "next tab", None, false),
    bind(
        G,
        &[key(KeyCode::BackTab)],
        A::PrevTab,
        "previous tab",
        None,
        true,
    ),
    bind(
        G,
        &[ch('1')],
        A::GoTab(0),
        "Playback Control tab (on OLA-DMX, digits type values: Alt+1-4 or Tab)",
        None,
        false,
    ),
    bind(G, &[ch('2')], A::GoTab(1), "Raw Event tab", None, false),
    bind(G, &[ch('3')], A::GoTab(2), "Pixels tab", None, false),
    bind(G, &[ch('4')], A::GoTab(3), "OLA-DMX tab", None, false),
    bind(
        G,
        &[alt(KeyCode::Char('1'))],
        A::GoTab(0),
        "Playback Control tab, also from a text field",
        None,
        true,
    ),
    bind(
        G,
        &[alt(KeyCode::Char('2'))],
        A::GoTab(1),
        "Raw Event tab, also from a text field",
        None,
        true,
    ),
    bind(
        G,
        &[alt(KeyCode::Char('3'))],
        A::GoTab(2),
        "Pixels tab, also from a text field",
        None,
        true,
    ),
    bind(
        G,
        &[alt(KeyCode::Char('4'))],
        A::GoTab(3),
        "OLA-DMX tab, also from a text field",
        None,
        true,
    ),
    bind(
        G,
        &[key(KeyCode::PageUp)],
        A::PageUp,
        "scroll the feedback up a page",
        None,
        true,
    ),
    bind(
        G,
        &[key(KeyCode::PageDown)],
        A::PageDown,
        "scroll the feedback down a page",
        None,
        true,
    ),
    bind(
        G,
        &[key(KeyCode::Up), ch('k')],
        A::ScrollUp,
        "scroll the feedback up a line",
        None,
        false,
    ),
    bind(
        G,
        &[key(KeyCode::Down), ch('j')],
        A::ScrollDown,
        "scroll the feedback down a line",
        None,
        false,
    ),
    bind(
        G,
        &[key(KeyCode::Home)],
        A::ScrollTop,
        "feedback: oldest line",
        None,
        false,
    ),
    bind(
        G,
        &[key(KeyCode::End)],
        A::ScrollBottom,
        "feedback: follow the newest line",
        None,
        false,
    ),
    bind(
        G,
        &[ch('/')],
        A::Search,
        "search the feedback",
        Some("search"),
        false,
    ),
    bind(
        G,
        &[ch('n')],
        A::SearchNext,
        "next match (older)",
        None,
        false,
    ),
    bind(
        G,
        &[ch('N')],
        A::SearchPrev,
        "previous match (newer)",
        None,
        false,
    ),
    bind(
        G,
        &[ch(']')],
        A::NextContact,
        "select the next RV contact",
        None,
        false,
    ),
    bind(
        G,
        &[ch('[')],
        A::PrevContact,
        "select the previous RV contact",
        None,
        false,
    ),
    bind(
        G,
        &[ch('a')],
        A::ToggleSendToAll,
        "send to the selected RV / to all RVs",
        None,
        false,
    ),
];

/// The action bound to `event` in `context`, looking at the tab's rows first.
/// With `in_text`, only rows active in text fields are considered.
pub fn lookup(context: Context, event: &KeyEvent, in_text: bool) -> Option<Action> {
    let rows = KEYMAP
        .iter()
        .filter(|b| b.context == context)
        .chain(KEYMAP.iter().filter(|b| b.context == Context::Global));
    rows.filter(|b| !in_text || b.in_text)
        .find(|b| b.keys.iter().any(|k| k.matches(event)))
        .map(|b| b.action)
}

/// Status-line hints for a tab: `(key label, short description)`, the tab's
/// first, then the global ones.
pub fn hints(context: Context) -> Vec<(String, &'static str)> {
    KEYMAP
        .iter()
        .filter(|b| b.context == context)
        .chain(KEYMAP.iter().filter(|b| b.context == Context::Global))
        .filter_map(|b| {
            let hint = b.hint?;
            let first = b.keys.first()?;
            Some((first.label(), hint))
        })
        .collect()
}

/// All the keys of a binding, for the help overlay: `Ctrl+S, Ctrl+Enter`.
pub fn keys_label(binding: &Binding) -> String {
    binding
        .keys
        .iter()
        .map(KeySpec::label)
        .collect::<Vec<_>>()
        .join(", ")
}
/// A line of the `?` overlay.
#[derive(Debug, Clone, Copy)]
pub enum HelpLine {
    /// A context's heading.
    Heading(Context),
    /// A binding and its description (bindings without one continue the
    /// row above, like F2..F12, and get no line).
    Binding(&'static Binding),
    /// Between contexts.
    Blank,
}

/// A row of the `?` overlay as drawn: descriptions wrapped to its width.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HelpRow {
    /// A context's heading.
    Heading(Context),
    /// Keys (empty on a description's continuation rows) and text.
    Binding {
        /// The keys, on the first row of a binding.
        keys: String,
        /// The description, or the part of it on this row.
        text: String,
    },
    /// Between contexts.
    Blank,
}

/// The `?` overlay on a screen `screen_width` wide: its width, the keys
/// column's width, and its rows.
#[derive(Debug, Clone)]
pub struct HelpLayout {
    /// Width of the overlay, borders included.
    pub width: u16,
    /// Width of the keys column.
    pub key_col: usize,
    /// The rows, descriptions wrapped under themselves.
    pub rows: Vec<HelpRow>,
}

/// The `?` overlay's layout: as wide as its widest line within the screen
/// (two columns of margin each side), descriptions wrapped between words.
/// Shared by the drawing and by the app, which must know how far it
/// scrolls.
pub fn help_layout(active: Context, screen_width: u16) -> HelpLayout {
    let lines = help_lines(active);
    let key_col = KEYMAP
        .iter()
        .map(|b| keys_label(b).chars().count())
        .max()
        .unwrap_or(0);
    let widest = lines
        .iter()
        .map(|line| match line {
            HelpLine::Binding(binding) => key_col + 2 + binding.desc.chars().count(),
            HelpLine::Heading(context) => context.title().chars().count(),
            HelpLine::Blank => 0,
        })
        .max()
        .unwrap_or(0);
    let width = screen_width
        .saturating_sub(4)
        .min(u16::try_from(widest + 2).unwrap_or(u16::MAX));
    let key_col = key_col.min(usize::from(width / 3));
    let text_width = usize::from(width).saturating_sub(key_col + 4).max(10);
    let mut rows = Vec::new();
    for line in lines {
        match line {
            HelpLine::Heading(context) => rows.push(HelpRow::Heading(context)),
            HelpLine::Binding(binding) => {
                for (i, text) in wrap(binding.desc, text_width).into_iter().enumerate() {
                    let keys = if i == 0 {
                        keys_label(binding)
                    } else {
                        String::new()
                    };
                    rows.push(HelpRow::Binding { keys, text });
                }
            }
            HelpLine::Blank => rows.push(HelpRow::Blank),
        }
    }
    HelpLayout {
        width,
        key_col,
        rows,
    }
}

/// The lines of the `?` overlay: the active tab's context first, then the
/// rest, each a heading and a line per described binding, a blank line
/// between them.
pub fn help_lines(active: Context) -> Vec<HelpLine> {
    let contexts = std::iter::once(active).chain(Context::ALL.into_iter().filter(|&c| c != active));
    let mut lines = Vec::new();
    for context in contexts {
        if !lines.is_empty() {
            lines.push(HelpLine::Blank);
        }
        lines.push(HelpLine::Heading(context));
        lines.extend(
            KEYMAP
                .iter()
                .filter(|b| b.context == context && !b.desc.is_empty())
                .map(HelpLine::Binding),
        );
    }
    lines
}

/// `text` in lines of at most `width` characters, broken between words (a
/// word longer than a line is cut).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let len = line.chars().count();
        if len > 0 && len + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
        while line.chars().count() > width {
            let rest: String = line.chars().skip(width).collect();
            line = line.chars().take(width).collect();
            lines.push(std::mem::replace(&mut line, rest));
        }
    }
    lines.push(line);
    lines
}

#[cfg(test)]
mod wrap_tests {
    use super::wrap;

    #[test]
    fn descriptions_wrap_between_words() {
        assert_eq!(
            wrap("send the loaded image to the selected RV", 16),
            ["send the loaded", "image to the", "selected RV"]
        );
        assert_eq!(wrap("short", 16), ["short"]);
        assert_eq!(wrap("abcdefghij", 4), ["abcd", "efgh", "ij"]);
    }
}
