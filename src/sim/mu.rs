//! The simulator's evaluator for the code RV clients send in `remote-eval`
//! (Mu), `remote-pyeval` and `remote-pyexec` (Python) events
//! (spec `rv-protocol.md` §4), over a small model of RV's session: a
//! timeline, the full-screen and cache flags, image sources created with
//! `newImageSource` (§7.4), and RV's event bindings, so that a client can
//! upload handlers that forward RV's events to it (`rv-events.md`).
//!
//! It never executes anything but the language and commands listed below:
//! there is no file, process or network access (a handler's
//! `remoteSendEvent` reaches only connected clients, through the server).
//! Input is bounded ([`MAX_CODE_BYTES`], nesting [`MAX_DEPTH`], strings
//! [`MAX_STRING_BYTES`]), running is bounded ([`MAX_STEPS`] statements, loop
//! iterations and calls per evaluation, and [`MAX_TIME`] of wall clock: the
//! simulator serves every client on one thread, so a long job would delay
//! everyone's answers; [`MAX_CALL_DEPTH`] nested calls and
//! handler runs, and a nesting limit that keeps the evaluator within a
//! 2 MiB stack), and no input panics.
//!
//! # Mu (`remote-eval`)
//!
//! Accepted: statements separated by `;` (a trailing `;` is fine), `{ ... }`
//! blocks with block-scoped `let name = expr` bindings, string literals with
//! escapes (`\n \t \r \b \f \v \a \0 \" \' \\ \xHH \uHHHH`), int and float
//! literals, unary `-`, `+` and `-` (`+` on a string and an int, float or bool
//! converts the other side as Mu's `string()` casts do: ints with `%d`,
//! floats with `%f`, bools as `true`/`false`), `true`, `false`, `nil`,
//! `string[] { "a", "b" }`, `//` and `/* */` comments, the constants
//! `CacheOff`, `CacheBuffer`, `CacheGreedy`, and calls of the commands below.
//! Functions of RV's `commands` module may be called bare or qualified
//! (`frame()`, `commands.frame()`); `extra_commands` ones must be qualified,
//! as in RV (`runtime.eval(text, ["commands"])`, §4).
//!
//! For event handlers (`rv-events.md` §2) also:
//!
//! - `require commands;` (accepted, no effect);
//! - `function: name (ret; type param, ...) { body }` with types `void`,
//!   `bool`, `int`, `float`, `string`, `string[]` and `Event`, `return
//!   [expr];`, calls of user functions (also recursive), and a function's
//!   name as a value (for `bind`). Functions persist across evaluations
//!   and connections (RV's runtime is global) and a later definition
//!   replaces an earlier one;
//! - declarations `int n = 0;`, `string contact = nil;`, `string s, t;`
//!   (`string` and `string[]` default to nil, numbers to 0) and assignment
//!   `name = expr;`, type-checked (int converts to float, nil fits string
//!   and string[]);
//! - `if (cond) stmt [else stmt]`, `while (cond) stmt`,
//!   `for_each (x; array) stmt` (conditions must be `bool`);
//! - `==`, `!=`, `<`, `>`, `<=`, `>=` on numbers and strings (`==`/`!=`
//!   also on bools, nil and arrays), `eq`/`neq` (compared by value here;
//!   Mu compares objects by reference, which is the same for the nil tests
//!   handlers make), `&&`, `||` (short-circuit), `!`;
//! - casts `string(x)` (as `+` converts), `int(x)` (floats truncate,
//!   strings are parsed), `float(x)`;
//! - `regex("pattern").match(s)` (Rust `regex` syntax, which covers the
//!   anchors and escapes clients use; a bad pattern is an error);
//! - `event.contents()`, `event.name()`, `event.reject()` on a handler's
//!   `Event`.
//!
//! A handler that throws is logged (a warning) and the event goes on to the
//! next handler as if it had been rejected (RV prints the exception and goes
//! on, `rv-events.md` §4). Handlers fired during an evaluation share its
//! step budget; exceeding it aborts the handler (logged) and then fails the
//! evaluation with `ERROR: remote-eval: ... step limit ...`.
//!
//! Like Mu, the whole text is parsed and type-checked before anything runs,
//! so `play(); nosuch()` is an error that does not start playback. The
//! RETURN payload is the Mu printed form of the last statement's value (a
//! block's value is its last statement's):
//!
//! | input | RETURN payload |
//! | --- | --- |
//! | `play();"FRAME = " + frame();` | `"FRAME = 1"` |
//! | `frame()` | `1` |
//! | `fps()` | `24.0` (floats print like C++ `ostream`, plus `.0` when integral) |
//! | `"fps " + fps()` | `"fps 24.000000"` |
//! | `isPlaying()` | `false` |
//! | `play()` | `void` |
//! | `nil` | `nil` |
//! | `"a\tb\"c\\d"` | `"a\tb\"c\d"` (control characters and `"` are escaped; `\` is not, as in Mu's `StringType::outputQuotedString`) |
//! | `string[] {"a", "b"}` | `string[] {"a", "b"}` (Mu's `DynamicArrayType` form) |
//! | empty text | empty payload |
//! | `frame(1)` | `ERROR: remote-eval: frame() expects 0 arguments, got 1\nERROR: remote-eval: 'frame(1)'\n` |
//!
//! # Python (`remote-pyeval`, `remote-pyexec`)
//!
//! `rv.commands.X(...)` and `rv.extra_commands.X(...)` for the same commands,
//! `rv.commands.CacheBuffer` and friends, `True`, `False`, `None`, ints,
//! floats, `'single'` and `"double"` quoted strings, lists, unary `-`, `+` and
//! `-` with Python's typing rules, `#` comments. `remote-pyeval` takes one
//! expression and answers with `str()` of its value, or nothing for `None`
//! (`rv.commands.frame()` gives `1`, `rv.commands.sources()` gives
//! `['a', 'b']`); an exception gives `<class 'NameError'>: name 'foo' is not
//! defined` (RV's `remotePyEval`). `remote-pyexec` runs statements separated
//! by `;` or newlines and answers nothing; errors are logged.
//! Python builtins (`str`, `len`, ...) and assignments are not available.
//!
//! # Commands
//!
//! `play()`, `stop()`, `isPlaying()`, `frame()`, `setFrame(int)` (clamped to
//! the range), `frameStart()`, `frameEnd()`, `fps()`, `setFPS(float)`,
//! `inc()`, `setInc(int)`, `extra_commands.stepForward1()` and
//! `extra_commands.stepBackward1()` (stop, then step one frame, wrapping
//! within the range as RV's loop mode does), `fullScreenMode(bool)`,
//! `isFullScreen()`, `setCacheMode(int)`, `cacheMode()`, `redraw()`,
//! `newImageSource(...)` and `newImageSourcePixels(...)` (§7.4, see
//! [`Session::sources`] and [`Effect`]), `sources()` (the media names of the
//! sources as a `string[]`; RV's own returns tuples of name, range, fps and
//! flags, which clients of this simulator do not need), `setInPoint(int)`,
//! `setOutPoint(int)`, `inPoint()`, `outPoint()` (clamped within the
//! range and each other; playback and stepping loop between them),
//! `setFrameStart(int)`, `setFrameEnd(int)` (the range; the in and out
//! points reset to it, as they do when sources change it), `viewNode()`,
//! `setViewNode(string)` (`defaultSequence`, `defaultStack`,
//! `defaultLayout`, or a source's group or source node; the session starts
//! on `defaultSequence` and creating a source does not change it, since the
//! default sequence already shows every source).
//!
//! Events and the network (`rv-events.md` §1): `bind(mode, table, event,
//! func, doc)`, `unbind(mode, table, event)`, `defineMinorMode(name,
//! sortKey, order)`, `activateMode(name)`, `deactivateMode(name)`,
//! `isModeActive(name)` (see `mu/events.rs` for modes and the order
//! handlers run in), `remoteConnections()` (`name@host` of each connected
//! client), `remoteContacts()` (the name of every client that connected
//! since start), `remoteLocalContactName()`, `remoteSendEvent(event, target,
//! contents, recipients)` (an [`Effect::SendEvent`] for the server).
//! `activateMode` of an unknown mode is `No mode named X`, like `bind`;
//! `deactivateMode` of one does nothing (a guess at RV; it keeps a
//! client's sign-off harmless after a restart).
//!
//! # Events fired (`rv-events.md` §3)
//!
//! | event | fired by | `contents()` |
//! | --- | --- | --- |
//! | `frame-changed` | `setFrame`, the step commands, `stop`, range or in/out changes that move the frame, and [`Session::tick`] once per displayed frame while playing; only when the frame differs from the last one reported | empty |
//! | `play-start` / `play-stop` | `play` when stopped / `stop` (and the step commands) when playing; `stop` reports the frame reached first | empty |
//! | `fps-changed` | `setFPS` with a new rate | empty |
//! | `range-changed` | `setFrameStart`, `setFrameEnd`, `newImageSource` when the range changes | empty |
//! | `new-in-point` / `new-out-point` | `setInPoint` / `setOutPoint` | the new frame, decimal |
//! | `source-group-complete` | `newImageSource` | `<group>;;new` |
//! | `after-graph-view-change` | `setViewNode` with a new node | the node name |
//!
//! Handlers run synchronously inside the command that fires the event, as
//! in RV, so `string(frame())` in a handler sees the frame of that event.
//! [`Session::fire_event`] fires any event by name.
//!
//! `newImageSource` refuses what RV would refuse or could not display: sizes
//! outside 1..=[`MAX_IMAGE_DIMENSION`], channels outside 1..=4, bits other
//! than 8, 16, 32, `startFrame > endFrame`, a non-positive pixel aspect or
//! fps, empty view or layer names, layer names with `/ @ # * : ;` (RV's
//! `insertPixels` rejects those), more than [`MAX_IMAGE_BYTES`] per image,
//! names longer than [`MAX_NAME_BYTES`] and more than [`MAX_NAMES`] views
//! or layers. `newImageSourcePixels(node, frame, layer, view)` returns
//! `"<node>.image.<frame>[:<view>][;<layer>]"`, RV's pixel property name
//! (`ImageSourceIPNode::pixelPropNames`): the frame is clamped to the
//! source's range, nil or `"-"` picks the first declared view or layer
//! (inferred from `defaultView()`), a layer's `.` becomes `*`. The rvshell
//! Pixels tab's block therefore returns
//! `"sourceGroup000000_source.image.1:right"`.
//!
//! The timeline starts stopped on frame 1 of 1..=100 at 24 fps. While
//! playing, the frame advances by `inc` every `1/fps` seconds from the moment
//! playback started, looping within the in and out points (the whole range
//! unless set); playback never stops by itself. Once sources exist the range is
//! the single source's own range, or `1..=total length` for several sources
//! (RV's default sequence view, approximated).

//! # Example
//!
//! ```
//! use std::time::{Duration, Instant};
//! use rvshell::sim::mu::Session;
//!
//! let mut rv = Session::new();
//! let t0 = Instant::now();
//! assert_eq!(rv.eval_mu(r#"play();"FRAME = " + frame();"#, t0), r#""FRAME = 1""#);
//! let later = t0 + Duration::from_millis(500); // 12 frames at 24 fps
//! assert_eq!(rv.eval_py("rv.commands.frame()", later), "13");
//! assert_eq!(
//!     rv.eval_mu("nosuch", later),
//!     "ERROR: remote-eval: unknown identifier nosuch\nERROR: remote-eval: 'nosuch'\n"
//! );
//! ```

mod events;
mod lang;
mod python;
mod syntax;
#[cfg(test)]
mod tests;

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use lang::{MAX_CALL_DEPTH, MAX_STEPS, MAX_TIME};

/// Longest code text evaluated, in bytes; longer text is an error.
pub const MAX_CODE_BYTES: usize = 64 * 1024;
/// Deepest nesting of brackets, blocks, unary minus and postfix chains.
pub const MAX_DEPTH: usize = 64;
/// Longest string value that evaluation may build, in bytes.
pub const MAX_STRING_BYTES: usize = 1024 * 1024;
/// Most user functions one session holds.
pub const MAX_FUNCTIONS: usize = 4096;
/// Most image sources one session holds.
pub const MAX_SOURCES: usize = 4096;
/// Largest width, height, uncrop width or uncrop height of an image source.
pub const MAX_IMAGE_DIMENSION: i32 = 16384;
/// Longest media, view or layer name of an image source, in bytes (it has to
/// fit in a PIXELTILE header, §7.1).
pub const MAX_NAME_BYTES: usize = 1024;
/// Most views, and most layers, one image source declares.
pub const MAX_NAMES: usize = 64;
/// Largest pixel storage of one frame, layer and view of an image source
/// (`width * height * channels * bytes per channel`), in bytes.
pub const MAX_IMAGE_BYTES: u64 = 1 << 30;

/// RV's cache modes (`setCacheMode`, `cacheMode`; Mu constants `CacheOff` = 0,
/// `CacheBuffer` = 1, `CacheGreedy` = 2).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CacheMode {
    /// No caching (`CacheOff`), RV's default.
    #[default]
    Off,
    /// Look-ahead buffer cache (`CacheBuffer`).
    Buffer,
    /// Cache everything (`CacheGreedy`).
    Greedy,
}

impl CacheMode {
    /// The Mu constant's value.
    pub fn as_int(self) -> i32 {
        match self {
            CacheMode::Off => 0,
            CacheMode::Buffer => 1,
            CacheMode::Greedy => 2,
        }
    }

    /// The mode for a Mu constant's value.
    pub fn from_int(value: i32) -> Option<Self> {
        match value {
            0 => Some(CacheMode::Off),
            1 => Some(CacheMode::Buffer),
            2 => Some(CacheMode::Greedy),
            _ => None,
        }
    }
}

/// An image source made by `newImageSource` (spec §7.4).
#[derive(Clone, Debug, PartialEq)]
pub struct SourceInfo {
    /// Node name returned to the client, `sourceGroup%06d_source`.
    pub node: String,
    /// The media name; PIXELTILE `media=` must equal it (§7.1).
    pub media: String,
    /// Data window width in pixels.
    pub width: u32,
    /// Data window height in pixels.
    pub height: u32,
    /// Display window width.
    pub uncrop_width: u32,
    /// Display window height.
    pub uncrop_height: u32,
    /// Data window offset in the display window.
    pub uncrop_x: i32,
    /// Data window offset in the display window.
    pub uncrop_y: i32,
    /// Pixel aspect ratio.
    pub pixel_aspect: f64,
    /// Interleaved channels, 1 to 4 (`"RGBA"` truncated, §7.3).
    pub channels: u32,
    /// Bits per channel: 8, 16 or 32.
    pub bits: u32,
    /// Floating-point samples (16 → half, 32 → float; ignored for 8, §7.3).
    pub float: bool,
    /// First frame.
    pub start_frame: i32,
    /// Last frame (`>= start_frame`).
    pub end_frame: i32,
    /// Frames per second.
    pub fps: f64,
    /// Declared layer names (may be empty).
    pub layers: Vec<String>,
    /// Declared view names (may be empty).
    pub views: Vec<String>,
}

impl SourceInfo {
    /// Bytes of one frame, layer and view: `width * height * channels *
    /// bits / 8`, the size RV expects of a full-image tile (§7.2).
    pub fn image_bytes(&self) -> u64 {
        u64::from(self.width)
            * u64::from(self.height)
            * u64::from(self.channels)
            * u64::from(self.bits / 8)
    }

    /// Number of frames in the source's range.
    pub fn frame_count(&self) -> i64 {
        i64::from(self.end_frame) - i64::from(self.start_frame) + 1
    }
}

/// A side effect of evaluated code for the server or the pixel canvas,
/// drained with [`Session::take_effects`] in the order they happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// `redraw()` was called.
    Redraw,
    /// `newImageSource` created this node; see [`Session::sources`].
    SourceCreated {
        /// The node name.
        node: String,
    },
    /// `newImageSourcePixels` asked for pixel storage. Like RV's
    /// `findCreatePixels` it may repeat for storage that already exists.
    PixelsAllocated {
        /// The node name.
        node: String,
        /// The frame, clamped to the source's range as RV does.
        frame: i32,
        /// The layer, `None` for nil or `"-"`.
        layer: Option<String>,
        /// The view, `None` for nil or `"-"`.
        view: Option<String>,
    },
    /// `remoteSendEvent` (rv-events.md §1): send `message` as a MESSAGE
    /// frame to every connection whose `name@host` is one of `recipients`,
    /// or to every connection when `recipients` is `None` (nil).
    SendEvent {
        /// The contacts to send to; `None` broadcasts.
        recipients: Option<Vec<String>>,
        /// `EVENT <event> <target> <contents>`.
        message: String,
    },
}

/// A runtime value: the Mu types the commands use.
#[derive(Clone, Debug, PartialEq)]
enum Value {
    Void,
    Nil,
    Bool(bool),
    Int(i32),
    Float(f32),
    Str(String),
    StrArray(Vec<String>),
    /// A user function (`function: name (...)`), as passed to `bind`.
    Func(Arc<syntax::FnDef>),
    /// The `Event` a handler receives.
    Event(Arc<events::EventData>),
    /// `regex(pattern)`; `None` while type-checking.
    Regex(MuRegex),
}

/// A compiled Mu `regex`.
#[derive(Clone, Debug)]
struct MuRegex {
    pattern: String,
    compiled: Option<Arc<regex::Regex>>,
}

impl PartialEq for MuRegex {
    fn eq(&self, other: &Self) -> bool {
        self.pattern == other.pattern
    }
}

/// The static type of a command's result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ty {
    Void,
    Bool,
    Int,
    Float,
    Str,
    StrArray,
}

impl Ty {
    /// A value of this type, used while type-checking Mu without running it.
    fn placeholder(self) -> Value {
        match self {
            Ty::Void => Value::Void,
            Ty::Bool => Value::Bool(false),
            Ty::Int => Value::Int(0),
            Ty::Float => Value::Float(0.0),
            Ty::Str => Value::Str(String::new()),
            Ty::StrArray => Value::StrArray(Vec::new()),
        }
    }
}

/// A command parameter's type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Param {
    Int,
    Float,
    Bool,
    Str,
    /// A string or nil.
    OptStr,
    /// A string array or nil.
    OptStrArray,
    /// A `(void; Event)` function.
    Func,
}

impl Param {
    fn mu_name(self) -> &'static str {
        match self {
            Param::Int => "int",
            Param::Float => "float",
            Param::Bool => "bool",
            Param::Str | Param::OptStr => "string",
            Param::OptStrArray => "string[]",
            Param::Func => "(void; Event)",
        }
    }
}

/// The RV module a command lives in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Module {
    Commands,
    ExtraCommands,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cmd {
    Play,
    Stop,
    IsPlaying,
    Frame,
    SetFrame,
    FrameStart,
    FrameEnd,
    Fps,
    SetFps,
    Inc,
    SetInc,
    StepForward1,
    StepBackward1,
    FullScreenMode,
    IsFullScreen,
    SetCacheMode,
    CacheMode,
    Redraw,
    NewImageSource,
    NewImageSourcePixels,
    Sources,
    SetInPoint,
    SetOutPoint,
    InPoint,
    OutPoint,
    SetFrameStart,
    SetFrameEnd,
    ViewNode,
    SetViewNode,
    Bind,
    Unbind,
    DefineMinorMode,
    ActivateMode,
    DeactivateMode,
    IsModeActive,
    RemoteConnections,
    RemoteContacts,
    RemoteLocalContactName,
    RemoteSendEvent,
}

/// A command's signature.
#[derive(Debug, PartialEq)]
struct CmdSpec {
    cmd: Cmd,
    module: Module,
    name: &'static str,
    params: &'static [(&'static str, Param)],
    ret: Ty,
}

impl CmdSpec {
    /// `int frame` style parameter list, for messages.
    fn signature(&self) -> String {
        self.params
            .iter()
            .map(|(n, p)| format!("{} {n}", p.mu_name()))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

const fn spec(
    cmd: Cmd,
    module: Module,
    name: &'static str,
    params: &'static [(&'static str, Param)],
    ret: Ty,
) -> CmdSpec {
    CmdSpec {
        cmd,
        module,
        name,
        params,
        ret,
    }
}

use Module::{Commands as C, ExtraCommands as X};

/// Every command the evaluator knows, shared by Mu and Python.
const COMMANDS: &[CmdSpec] = &[
    spec(Cmd::Play, C, "play", &[], Ty::Void),
    spec(Cmd::Stop, C, "stop", &[], Ty::Void),
    spec(Cmd::IsPlaying, C, "isPlaying", &[], Ty::Bool),
    spec(Cmd::Frame, C, "frame", &[], Ty::Int),
    spec(
        Cmd::SetFrame,
        C,
        "setFrame",
        &[("frame", Param::Int)],
        Ty::Void,
    ),
    spec(Cmd::FrameStart, C, "frameStart", &[], Ty::Int),
    spec(Cmd::FrameEnd, C, "frameEnd", &[], Ty::Int),
    spec(Cmd::Fps, C, "fps", &[], Ty::Float),
    spec(Cmd::SetFps, C, "setFPS", &[("fps", Param::Float)], Ty::Void),
    spec(Cmd::Inc, C, "inc", &[], Ty::Int),
    spec(Cmd::SetInc, C, "setInc", &[("inc", Param::Int)], Ty::Void),
    spec(Cmd::StepForward1, X, "stepForward1", &[], Ty::Void),
    spec(Cmd::StepBackward1, X, "stepBackward1", &[], Ty::Void),
    spec(
        Cmd::FullScreenMode,
        C,
        "fullScreenMode",
        &[("on", Param::Bool)],
        Ty::Void,
    ),
    spec(Cmd::IsFullScreen, C, "isFullScreen", &[], Ty::Bool),
    spec(
        Cmd::SetCacheMode,
        C,
        "setCacheMode",
        &[("mode", Param::Int)],
        Ty::Void,
    ),
    spec(Cmd::CacheMode, C, "cacheMode", &[], Ty::Int),
    spec(Cmd::Redraw, C, "redraw", &[], Ty::Void),
    spec(
        Cmd::NewImageSource,
        C,
        "newImageSource",
        &[
            ("mediaName", Param::Str),
            ("width", Param::Int),
            ("height", Param::Int),
            ("uncropWidth", Param::Int),
            ("uncropHeight", Param::Int),
            ("uncropX", Param::Int),
            ("uncropY", Param::Int),
            ("pixelAspect", Param::Float),
            ("channels", Param::Int),
            ("bitsPerChannel", Param::Int),
            ("floatingPoint", Param::Bool),
            ("startFrame", Param::Int),
            ("endFrame", Param::Int),
            ("fps", Param::Float),
            ("layers", Param::OptStrArray),
            ("views", Param::OptStrArray),
        ],
        Ty::Str,
    ),
    spec(
        Cmd::NewImageSourcePixels,
        C,
        "newImageSourcePixels",
        &[
            ("sourceName", Param::Str),
            ("frame", Param::Int),
            ("layer", Param::OptStr),
            ("view", Param::OptStr),
        ],
        Ty::Str,
    ),
    spec(Cmd::Sources, C, "sources", &[], Ty::StrArray),
    spec(
        Cmd::SetInPoint,
        C,
        "setInPoint",
        &[("frame", Param::Int)],
        Ty::Void,
    ),
    spec(
        Cmd::SetOutPoint,
        C,
        "setOutPoint",
        &[("frame", Param::Int)],
        Ty::Void,
    ),
    spec(Cmd::InPoint, C, "inPoint", &[], Ty::Int),
    spec(Cmd::OutPoint, C, "outPoint", &[], Ty::Int),
    spec(
        Cmd::SetFrameStart,
        C,
        "setFrameStart",
        &[("frame", Param::Int)],
        Ty::Void,
    ),
    spec(
        Cmd::SetFrameEnd,
        C,
        "setFrameEnd",
        &[("frame", Param::Int)],
        Ty::Void,
    ),
    spec(Cmd::ViewNode, C, "viewNode", &[], Ty::Str),
    spec(
        Cmd::SetViewNode,
        C,
        "setViewNode",
        &[("node", Param::Str)],
        Ty::Void,
    ),
    spec(
        Cmd::Bind,
        C,
        "bind",
        &[
            ("modeName", Param::Str),
            ("tableName", Param::Str),
            ("event", Param::Str),
            ("func", Param::Func),
            ("docString", Param::OptStr),
        ],
        Ty::Void,
    ),
    spec(
        Cmd::Unbind,
        C,
        "unbind",
        &[
            ("modeName", Param::Str),
            ("tableName", Param::Str),
            ("event", Param::Str),
        ],
        Ty::Void,
    ),
    spec(
        Cmd::DefineMinorMode,
        C,
        "defineMinorMode",
        &[
            ("name", Param::Str),
            ("sortKey", Param::Int),
            ("order", Param::Int),
        ],
        Ty::Void,
    ),
    spec(
        Cmd::ActivateMode,
        C,
        "activateMode",
        &[("name", Param::Str)],
        Ty::Void,
    ),
    spec(
        Cmd::DeactivateMode,
        C,
        "deactivateMode",
        &[("name", Param::Str)],
        Ty::Void,
    ),
    spec(
        Cmd::IsModeActive,
        C,
        "isModeActive",
        &[("name", Param::Str)],
        Ty::Bool,
    ),
    spec(
        Cmd::RemoteConnections,
        C,
        "remoteConnections",
        &[],
        Ty::StrArray,
    ),
    spec(Cmd::RemoteContacts, C, "remoteContacts", &[], Ty::StrArray),
    spec(
        Cmd::RemoteLocalContactName,
        C,
        "remoteLocalContactName",
        &[],
        Ty::Str,
    ),
    spec(
        Cmd::RemoteSendEvent,
        C,
        "remoteSendEvent",
        &[
            ("event", Param::Str),
            ("target", Param::Str),
            ("contents", Param::OptStr),
            ("recipients", Param::OptStrArray),
        ],
        Ty::Void,
    ),
];

/// Int constants of the `commands` module.
const CONSTANTS: &[(&str, i32)] = &[("CacheOff", 0), ("CacheBuffer", 1), ("CacheGreedy", 2)];

fn find_command(module: Module, name: &str) -> Option<&'static CmdSpec> {
    COMMANDS
        .iter()
        .find(|c| c.module == module && c.name == name)
}

fn find_constant(module: Module, name: &str) -> Option<i32> {
    if module != Module::Commands {
        return None;
    }
    CONSTANTS.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
}

/// A command rejected its argument values, e.g. `channels` outside 1..=4.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("{0}")]
struct CommandError(String);

impl From<events::ModeError> for CommandError {
    fn from(err: events::ModeError) -> Self {
        CommandError(err.to_string())
    }
}

fn bad<T>(msg: impl Into<String>) -> Result<T, CommandError> {
    Err(CommandError(msg.into()))
}

/// Argument accessors over arguments already checked against the command's
/// parameters; a mismatch is reported rather than trusted.
fn arg_int(args: &[Value], i: usize) -> Result<i32, CommandError> {
    match args.get(i) {
        Some(Value::Int(v)) => Ok(*v),
        _ => bad(format!("internal error: argument {} is not an int", i + 1)),
    }
}

fn arg_float(args: &[Value], i: usize) -> Result<f32, CommandError> {
    match args.get(i) {
        Some(Value::Float(v)) => Ok(*v),
        _ => bad(format!("internal error: argument {} is not a float", i + 1)),
    }
}

fn arg_bool(args: &[Value], i: usize) -> Result<bool, CommandError> {
    match args.get(i) {
        Some(Value::Bool(v)) => Ok(*v),
        _ => bad(format!("internal error: argument {} is not a bool", i + 1)),
    }
}

fn arg_opt_str(args: &[Value], i: usize) -> Result<Option<&str>, CommandError> {
    match args.get(i) {
        Some(Value::Str(s)) => Ok(Some(s)),
        Some(Value::Nil) => Ok(None),
        _ => bad(format!(
            "internal error: argument {} is not a string",
            i + 1
        )),
    }
}

fn arg_str(args: &[Value], i: usize) -> Result<&str, CommandError> {
    match arg_opt_str(args, i)? {
        Some(s) => Ok(s),
        None => bad(format!("argument {} must be a string, not nil", i + 1)),
    }
}

fn arg_opt_array(args: &[Value], i: usize) -> Result<Vec<String>, CommandError> {
    match args.get(i) {
        Some(Value::StrArray(v)) => Ok(v.clone()),
        Some(Value::Nil) => Ok(Vec::new()),
        _ => bad(format!(
            "internal error: argument {} is not a string[]",
            i + 1
        )),
    }
}

/// The playback state.
#[derive(Clone, Debug)]
struct Timeline {
    start: i32,
    end: i32,
    /// In and out points: playback and stepping loop within them.
    in_point: i32,
    out_point: i32,
    fps: f32,
    inc: i32,
    /// The current frame when stopped; the frame playback started from when
    /// playing.
    frame: i32,
    /// When playback started.
    playing_since: Option<Instant>,
}

impl Timeline {
    fn new() -> Self {
        Timeline {
            start: 1,
            end: 100,
            in_point: 1,
            out_point: 100,
            fps: 24.0,
            inc: 1,
            frame: 1,
            playing_since: None,
        }
    }

    /// Wraps `frame` into the in..=out points, as RV's loop mode does.
    fn wrap(&self, frame: i128) -> i32 {
        let len = i128::from(self.out_point) - i128::from(self.in_point) + 1;
        let wrapped =
            i128::from(self.in_point) + (frame - i128::from(self.in_point)).rem_euclid(len);
        // `wrapped` lies in in_point..=out_point, both i32.
        i32::try_from(wrapped).unwrap_or(self.in_point)
    }

    fn frame(&self, now: Instant) -> i32 {
        let Some(since) = self.playing_since else {
            return self.frame;
        };
        let elapsed = now.saturating_duration_since(since).as_secs_f64();
        let len =
            u128::try_from(i128::from(self.out_point) - i128::from(self.in_point) + 1).unwrap_or(1);
        // Float-to-int casts saturate; only the position within the loop matters.
        let steps = ((elapsed * f64::from(self.fps)).floor() as u128 % len) as i128;
        self.wrap(i128::from(self.frame) + steps * i128::from(self.inc))
    }

    /// Freezes the current frame as the new starting point, so a change of
    /// fps, inc or range takes effect from `now`.
    fn reanchor(&mut self, now: Instant) {
        self.frame = self.frame(now);
        if self.playing_since.is_some() {
            self.playing_since = Some(now);
        }
    }

    /// Sets the range; the in and out points become the whole range.
    /// Whether the range changed.
    fn set_range(&mut self, start: i32, end: i32, now: Instant) -> bool {
        self.reanchor(now);
        let changed = (self.start, self.end) != (start, end);
        self.start = start;
        self.end = end;
        self.in_point = start;
        self.out_point = end;
        self.frame = self.frame.clamp(start, end);
        changed
    }

    /// When the frame shown after `now` changes, while playing.
    fn next_frame_at(&self, now: Instant) -> Option<Instant> {
        let since = self.playing_since?;
        let elapsed = now.saturating_duration_since(since).as_secs_f64();
        let fps = f64::from(self.fps);
        let next = ((elapsed * fps).floor() + 1.0) / fps;
        // A little after the boundary, so the frame computed there has
        // moved on whatever the rounding.
        Duration::try_from_secs_f64(next)
            .ok()
            .and_then(|d| since.checked_add(d + Duration::from_micros(50)))
    }
}

/// The viewed node of a new session (RV's default sequence of all sources).
pub const DEFAULT_VIEW_NODE: &str = "defaultSequence";
/// The view nodes every session has.
const DEFAULT_VIEWS: &[&str] = &["defaultSequence", "defaultStack", "defaultLayout"];

/// The source group of a source node: `sourceGroup000000_source` is in
/// `sourceGroup000000`.
fn group_name(node: &str) -> &str {
    node.strip_suffix("_source").unwrap_or(node)
}

/// RV-side session state that evaluated code reads and changes.
#[derive(Clone, Debug)]
pub struct Session {
    programs: lang::Programs,
    timeline: Timeline,
    full_screen: bool,
    cache_mode: CacheMode,
    sources: Vec<SourceInfo>,
    effects: Vec<Effect>,
    /// User functions by name; they persist across evaluations (RV's Mu
    /// runtime is global).
    functions: HashMap<String, Arc<syntax::FnDef>>,
    /// Modes and their event bindings.
    modes: events::Modes,
    /// Events fired and not yet dispatched to their handlers.
    fired: VecDeque<(String, String)>,
    /// How many times each event has been fired, for benchmarks that
    /// compare what a subscriber received with what was fired.
    fired_counts: HashMap<String, u64>,
    /// The frame last reported with `frame-changed`.
    shown_frame: i32,
    view_node: String,
    /// Connected clients as `name@host`, in connection order.
    connections: Vec<String>,
    /// Names of every client that ever connected, in first-seen order.
    contacts: Vec<String>,
    local_name: String,
    /// Compiled `regex(...)` patterns.
    regexes: HashMap<String, Arc<regex::Regex>>,
    /// Wall-clock time one evaluation (or handler run) may take.
    time_limit: std::time::Duration,
}

impl Default for Session {
    fn default() -> Self {
        Self::new()
    }
}

impl Session {
    /// A session as RV starts: no sources, stopped on frame 1 of 1..=100 at
    /// 24 fps, windowed, cache off.
    pub fn new() -> Self {
        Session {
            programs: lang::Programs::default(),
            timeline: Timeline::new(),
            full_screen: false,
            cache_mode: CacheMode::Off,
            sources: Vec::new(),
            effects: Vec::new(),
            functions: HashMap::new(),
            modes: events::Modes::default(),
            fired: VecDeque::new(),
            fired_counts: HashMap::new(),
            shown_frame: 1,
            view_node: DEFAULT_VIEW_NODE.into(),
            connections: Vec::new(),
            contacts: Vec::new(),
            local_name: "rvsim".into(),
            regexes: HashMap::new(),
            time_limit: MAX_TIME,
        }
    }

    /// Sets the wall-clock time one evaluation (or handler run) may take
    /// ([`MAX_TIME`] by default). Tests of the other limits lift it, so a
    /// loaded machine cannot change which limit answers.
    pub fn set_time_limit(&mut self, limit: std::time::Duration) {
        self.time_limit = limit;
    }

    /// Fires an event as RV's session does (rv-events.md §3): runs the
    /// handlers bound to `name` in the `"global"` tables of the major mode
    /// and the active minor modes, until one does not `reject()` it. Each
    /// handler runs with its own [`MAX_STEPS`] budget; one that fails is
    /// logged and the event goes on as if it had rejected it. Messages the
    /// handlers send are left in [`Session::take_effects`].
    pub fn fire_event(&mut self, name: &str, contents: &str, now: Instant) {
        self.fire(name, contents);
        lang::dispatch(self, now, None);
    }

    /// Advances the playback clock to `now`: fires `frame-changed` when the
    /// frame shown has changed since it was last reported.
    pub fn tick(&mut self, now: Instant) {
        self.note_frame(now);
        lang::dispatch(self, now, None);
    }

    /// While playing, when the next frame is due (for a clock that calls
    /// [`Session::tick`] once per displayed frame); `None` when stopped.
    /// Computed from the moment playback started, so it never drifts.
    pub fn next_frame_at(&self, now: Instant) -> Option<Instant> {
        self.timeline.next_frame_at(now)
    }

    /// Records a connected client (`name@host`, rv-events.md §1); false if
    /// that contact is already connected (RV refuses duplicates).
    pub fn add_connection(&mut self, contact: &str) -> bool {
        if self.connections.iter().any(|c| c == contact) {
            return false;
        }
        self.connections.push(contact.to_owned());
        let name = contact.rsplit_once('@').map_or(contact, |(n, _)| n);
        if !self.contacts.iter().any(|c| c == name) {
            self.contacts.push(name.to_owned());
        }
        true
    }

    /// Forgets a connection that ended.
    pub fn remove_connection(&mut self, contact: &str) {
        self.connections.retain(|c| c != contact);
    }

    /// The connected clients as `name@host`, in connection order
    /// (`remoteConnections()`).
    pub fn connections(&self) -> &[String] {
        &self.connections
    }

    /// Sets RV's own contact name (`remoteLocalContactName()`).
    pub fn set_local_contact_name(&mut self, name: &str) {
        name.clone_into(&mut self.local_name);
    }

    /// The viewed node (`viewNode()`).
    pub fn view_node(&self) -> &str {
        &self.view_node
    }

    /// In and out points.
    pub fn in_out(&self) -> (i32, i32) {
        (self.timeline.in_point, self.timeline.out_point)
    }

    /// Defines (or redefines) a user function; it persists.
    fn define_function(&mut self, def: Arc<syntax::FnDef>) -> Result<(), lang::MuError> {
        if self.functions.len() >= MAX_FUNCTIONS && !self.functions.contains_key(&def.name) {
            return Err(lang::MuError::TooManyFunctions);
        }
        self.functions.insert(def.name.clone(), def);
        Ok(())
    }

    /// A compiled `regex(pattern)`, cached (bounded: cleared when full).
    fn regex(&mut self, pattern: &str) -> Result<Arc<regex::Regex>, lang::MuError> {
        if let Some(re) = self.regexes.get(pattern) {
            return Ok(re.clone());
        }
        let re = regex::RegexBuilder::new(pattern)
            .size_limit(1 << 20)
            .build()
            .map_err(|err| lang::MuError::Regex {
                pattern: pattern.to_owned(),
                message: err.to_string(),
            })?;
        let re = Arc::new(re);
        if self.regexes.len() >= 256 {
            self.regexes.clear();
        }
        self.regexes.insert(pattern.to_owned(), re.clone());
        Ok(re)
    }

    /// Queues an event for the handlers; they run when the command that
    /// fired it returns to the evaluator.
    fn fire(&mut self, name: &str, contents: &str) {
        *self.fired_counts.entry(name.to_owned()).or_default() += 1;
        self.fired.push_back((name.to_owned(), contents.to_owned()));
    }

    /// How many times event `name` has been fired in this session.
    pub fn fired_count(&self, name: &str) -> u64 {
        self.fired_counts.get(name).copied().unwrap_or(0)
    }

    /// Fires `frame-changed` if the frame at `now` differs from the one
    /// last reported (RV's `setFrameInternal` fires only on a change).
    fn note_frame(&mut self, now: Instant) {
        let frame = self.timeline.frame(now);
        if frame != self.shown_frame {
            self.shown_frame = frame;
            self.fire("frame-changed", "");
        }
    }

    /// Sets the range, firing `range-changed` when it changed (and
    /// `frame-changed` when the frame had to move into it).
    fn set_range(&mut self, start: i32, end: i32, now: Instant) {
        if self.timeline.set_range(start, end, now) {
            self.fire("range-changed", "");
        }
        self.note_frame(now);
    }

    /// Nodes `setViewNode` accepts: the default views and every source's
    /// group and source node.
    fn node_exists(&self, node: &str) -> bool {
        DEFAULT_VIEWS.contains(&node)
            || self
                .sources
                .iter()
                .any(|s| s.node == node || group_name(&s.node) == node)
    }

    /// Stops playback if it runs: the frame reached is reported, then
    /// `play-stop`.
    fn stop(&mut self, now: Instant) {
        let t = &mut self.timeline;
        if t.playing_since.is_none() {
            return;
        }
        t.frame = t.frame(now);
        t.playing_since = None;
        self.note_frame(now);
        self.fire("play-stop", "");
    }

    /// Evaluates `remote-eval` contents and returns the RETURN payload: the
    /// Mu printed form of the last value, or
    /// `ERROR: remote-eval: <message>\nERROR: remote-eval: '<code>'\n` (§4).
    pub fn eval_mu(&mut self, code: &str, now: Instant) -> String {
        lang::eval(self, code, now)
    }

    /// Evaluates `remote-pyeval` contents and returns the RETURN payload:
    /// `str()` of the value, nothing for `None`, or `<class 'X'>: message`
    /// (§4, RV's `remotePyEval`).
    pub fn eval_py(&mut self, code: &str, now: Instant) -> String {
        python::eval(self, code, now)
    }

    /// Runs `remote-pyexec` contents; RV never sets a return value for these
    /// (§4). Errors stop the run at the failing statement and are logged.
    pub fn exec_py(&mut self, code: &str, now: Instant) {
        if let Err(e) = python::exec(self, code, now) {
            tracing::info!(error = %e, "remote-pyexec failed");
        }
    }

    /// Handles a remote event by name as RV's default bindings do (§4):
    /// `remote-eval` and `remote-pyeval` give their RETURN payload,
    /// `remote-pyexec` runs and gives an empty one. Any other name has no
    /// handler here: `None`, and a RETURNEVENT then gets an empty RETURN.
    pub fn handle_event(&mut self, name: &str, contents: &str, now: Instant) -> Option<String> {
        match name {
            "remote-eval" => Some(self.eval_mu(contents, now)),
            "remote-pyeval" => Some(self.eval_py(contents, now)),
            "remote-pyexec" => {
                self.exec_py(contents, now);
                Some(String::new())
            }
            _ => None,
        }
    }

    /// The image sources, in creation order.
    pub fn sources(&self) -> &[SourceInfo] {
        &self.sources
    }

    /// The source with this node name.
    pub fn source(&self, node: &str) -> Option<&SourceInfo> {
        self.sources.iter().find(|s| s.node == node)
    }

    /// Side effects since the last call, in order.
    pub fn take_effects(&mut self) -> Vec<Effect> {
        std::mem::take(&mut self.effects)
    }

    /// The frame shown at `now`.
    pub fn frame(&self, now: Instant) -> i32 {
        self.timeline.frame(now)
    }

    /// Whether playback is running.
    pub fn is_playing(&self) -> bool {
        self.timeline.playing_since.is_some()
    }

    /// Playback frames per second (a Mu `float`).
    pub fn fps(&self) -> f64 {
        f64::from(self.timeline.fps)
    }

    /// Playback increment: 1 forwards, -1 backwards.
    pub fn inc(&self) -> i32 {
        self.timeline.inc
    }

    /// First frame of the range.
    pub fn frame_start(&self) -> i32 {
        self.timeline.start
    }

    /// Last frame of the range.
    pub fn frame_end(&self) -> i32 {
        self.timeline.end
    }

    /// Whether full-screen mode is on.
    pub fn full_screen(&self) -> bool {
        self.full_screen
    }

    /// The cache mode.
    pub fn cache_mode(&self) -> CacheMode {
        self.cache_mode
    }

    /// Runs a command on arguments already matched to its parameters.
    fn run(&mut self, cmd: Cmd, args: &[Value], now: Instant) -> Result<Value, CommandError> {
        let t = &mut self.timeline;
        Ok(match cmd {
            Cmd::Play => {
                if t.playing_since.is_none() {
                    t.playing_since = Some(now);
                    self.fire("play-start", "");
                }
                Value::Void
            }
            Cmd::Stop => {
                self.stop(now);
                Value::Void
            }
            Cmd::IsPlaying => Value::Bool(t.playing_since.is_some()),
            Cmd::Frame => Value::Int(t.frame(now)),
            Cmd::SetFrame => {
                t.reanchor(now);
                t.frame = arg_int(args, 0)?.clamp(t.start, t.end);
                self.note_frame(now);
                Value::Void
            }
            Cmd::FrameStart => Value::Int(t.start),
            Cmd::FrameEnd => Value::Int(t.end),
            Cmd::Fps => Value::Float(t.fps),
            Cmd::SetFps => {
                let fps = arg_float(args, 0)?;
                if !(fps.is_finite() && fps > 0.0) {
                    return bad(format!("fps must be a positive number, got {fps}"));
                }
                t.reanchor(now);
                let changed = t.fps != fps;
                t.fps = fps;
                if changed {
                    self.fire("fps-changed", "");
                }
                Value::Void
            }
            Cmd::Inc => Value::Int(t.inc),
            Cmd::SetInc => {
                t.reanchor(now);
                t.inc = arg_int(args, 0)?;
                Value::Void
            }
            Cmd::StepForward1 | Cmd::StepBackward1 => {
                let step = if cmd == Cmd::StepForward1 { 1 } else { -1 };
                self.stop(now);
                let t = &mut self.timeline;
                t.frame = t.wrap(i128::from(t.frame(now)) + step);
                self.note_frame(now);
                Value::Void
            }
            Cmd::FullScreenMode => {
                self.full_screen = arg_bool(args, 0)?;
                Value::Void
            }
            Cmd::IsFullScreen => Value::Bool(self.full_screen),
            Cmd::SetCacheMode => {
                let mode = arg_int(args, 0)?;
                let Some(mode) = CacheMode::from_int(mode) else {
                    return bad(format!(
                        "unknown cache mode {mode}; use CacheOff (0), CacheBuffer (1) or CacheGreedy (2)"
                    ));
                };
                self.cache_mode = mode;
                Value::Void
            }
            Cmd::CacheMode => Value::Int(self.cache_mode.as_int()),
            Cmd::Redraw => {
                self.effects.push(Effect::Redraw);
                Value::Void
            }
            Cmd::NewImageSource => Value::Str(self.new_image_source(args, now)?),
            Cmd::NewImageSourcePixels => self.new_image_source_pixels(args)?,
            Cmd::Sources => Value::StrArray(self.sources.iter().map(|s| s.media.clone()).collect()),
            Cmd::InPoint => Value::Int(t.in_point),
            Cmd::OutPoint => Value::Int(t.out_point),
            Cmd::SetInPoint | Cmd::SetOutPoint => {
                t.reanchor(now);
                let frame = arg_int(args, 0)?;
                let (name, point) = if cmd == Cmd::SetInPoint {
                    t.in_point = frame.clamp(t.start, t.out_point);
                    ("new-in-point", t.in_point)
                } else {
                    t.out_point = frame.clamp(t.in_point, t.end);
                    ("new-out-point", t.out_point)
                };
                self.fire(name, &point.to_string());
                self.note_frame(now);
                Value::Void
            }
            Cmd::SetFrameStart | Cmd::SetFrameEnd => {
                let frame = arg_int(args, 0)?;
                let (start, end) = if cmd == Cmd::SetFrameStart {
                    (frame, t.end.max(frame))
                } else {
                    (t.start.min(frame), frame)
                };
                self.set_range(start, end, now);
                Value::Void
            }
            Cmd::ViewNode => Value::Str(self.view_node.clone()),
            Cmd::SetViewNode => {
                let Some(node) = arg_opt_str(args, 0)? else {
                    return bad("node must be a string, not nil");
                };
                if !self.node_exists(node) {
                    return bad(format!("no node named {node}"));
                }
                if node != self.view_node {
                    node.clone_into(&mut self.view_node);
                    self.fire("after-graph-view-change", node);
                }
                Value::Void
            }
            Cmd::Bind => {
                let func = match args.get(3) {
                    Some(Value::Func(f)) => f.clone(),
                    _ => return bad("internal error: argument 4 is not a function"),
                };
                if func.ret != syntax::TypeName::Void
                    || func
                        .params
                        .iter()
                        .map(|(t, _)| *t)
                        .ne([syntax::TypeName::Event])
                {
                    return bad(format!(
                        "{} is {}; an event handler must be (void; Event)",
                        func.name,
                        func.signature()
                    ));
                }
                let [mode, table, event] = [0, 1, 2].map(|i| arg_str(args, i));
                self.modes.bind(mode?, table?, event?, func)?;
                Value::Void
            }
            Cmd::Unbind => {
                let [mode, table, event] = [0, 1, 2].map(|i| arg_str(args, i));
                self.modes.unbind(mode?, table?, event?)?;
                Value::Void
            }
            Cmd::DefineMinorMode => {
                let name = arg_str(args, 0)?;
                self.modes
                    .define(name, arg_int(args, 1)?, arg_int(args, 2)?)?;
                Value::Void
            }
            Cmd::ActivateMode | Cmd::DeactivateMode => {
                self.modes
                    .set_active(arg_str(args, 0)?, cmd == Cmd::ActivateMode)?;
                Value::Void
            }
            Cmd::IsModeActive => Value::Bool(self.modes.is_active(arg_str(args, 0)?)),
            Cmd::RemoteConnections => Value::StrArray(self.connections.clone()),
            Cmd::RemoteContacts => Value::StrArray(self.contacts.clone()),
            Cmd::RemoteLocalContactName => Value::Str(self.local_name.clone()),
            Cmd::RemoteSendEvent => {
                let event = arg_str(args, 0)?;
                let target = arg_str(args, 1)?;
                let contents = arg_opt_str(args, 2)?.unwrap_or("");
                let recipients = match args.get(3) {
                    Some(Value::StrArray(r)) => Some(r.clone()),
                    _ => None,
                };
                self.effects.push(Effect::SendEvent {
                    recipients,
                    message: format!("EVENT {event} {target} {contents}"),
                });
                Value::Void
            }
        })
    }

    /// `newImageSource` (§7.4): validates like RV, records the source and
    /// returns its node name.
    fn new_image_source(&mut self, args: &[Value], now: Instant) -> Result<String, CommandError> {
        let Some(media) = arg_opt_str(args, 0)? else {
            return bad("mediaName must be a string, not nil");
        };
        let dim = |i: usize, name: &str| -> Result<u32, CommandError> {
            let v = arg_int(args, i)?;
            if (1..=MAX_IMAGE_DIMENSION).contains(&v) {
                Ok(v.unsigned_abs())
            } else {
                bad(format!(
                    "{name} must be between 1 and {MAX_IMAGE_DIMENSION}, got {v}"
                ))
            }
        };
        let (width, height) = (dim(1, "width")?, dim(2, "height")?);
        let (uncrop_width, uncrop_height) = (dim(3, "uncropWidth")?, dim(4, "uncropHeight")?);
        let (uncrop_x, uncrop_y) = (arg_int(args, 5)?, arg_int(args, 6)?);
        let pixel_aspect = arg_float(args, 7)?;
        if !(pixel_aspect.is_finite() && pixel_aspect > 0.0) {
            return bad(format!("pixelAspect must be positive, got {pixel_aspect}"));
        }
        let channels = arg_int(args, 8)?;
        if !(1..=4).contains(&channels) {
            return bad(format!("channels must be 1 to 4 (RGBA), got {channels}"));
        }
        let bits = arg_int(args, 9)?;
        if ![8, 16, 32].contains(&bits) {
            return bad(format!("bitsPerChannel must be 8, 16 or 32, got {bits}"));
        }
        let float = arg_bool(args, 10)?;
        let (start_frame, end_frame) = (arg_int(args, 11)?, arg_int(args, 12)?);
        if start_frame > end_frame {
            return bad(format!(
                "startFrame {start_frame} is after endFrame {end_frame}"
            ));
        }
        let fps = arg_float(args, 13)?;
        if !(fps.is_finite() && fps > 0.0) {
            return bad(format!("fps must be positive, got {fps}"));
        }
        let layers = arg_opt_array(args, 14)?;
        let views = arg_opt_array(args, 15)?;
        if layers.len() > MAX_NAMES || views.len() > MAX_NAMES {
            return bad(format!(
                "{} layers and {} views given; the simulator allows at most {MAX_NAMES} of each",
                layers.len(),
                views.len()
            ));
        }
        if let Some(long) = std::iter::once(media)
            .chain(layers.iter().map(String::as_str))
            .chain(views.iter().map(String::as_str))
            .find(|n| n.len() > MAX_NAME_BYTES)
        {
            return bad(format!(
                "a name of {} bytes given; media, view and layer names may have at most {MAX_NAME_BYTES}",
                long.len()
            ));
        }
        for layer in &layers {
            if layer.is_empty() || layer.contains(['/', '@', '#', '*', ':', ';']) {
                return bad(format!(
                    "bad layer name {layer:?}: layer names must be non-empty and free of / @ # * : ;"
                ));
            }
        }
        if let Some(view) = views.iter().find(|v| v.is_empty()) {
            return bad(format!(
                "bad view name {view:?}: view names must be non-empty"
            ));
        }
        let info = SourceInfo {
            node: format!("sourceGroup{:06}_source", self.sources.len()),
            media: media.to_string(),
            width,
            height,
            uncrop_width,
            uncrop_height,
            uncrop_x,
            uncrop_y,
            pixel_aspect: f64::from(pixel_aspect),
            channels: channels.unsigned_abs(),
            bits: bits.unsigned_abs(),
            float,
            start_frame,
            end_frame,
            fps: f64::from(fps),
            layers,
            views,
        };
        if info.image_bytes() > MAX_IMAGE_BYTES {
            return bad(format!(
                "one frame would need {} bytes; the simulator allows at most {MAX_IMAGE_BYTES}",
                info.image_bytes()
            ));
        }
        if self.sources.len() >= MAX_SOURCES {
            return bad(format!(
                "the simulator holds at most {MAX_SOURCES} sources; restart it for more"
            ));
        }
        let node = info.node.clone();
        self.sources.push(info);
        let (start, end) = match self.sources.as_slice() {
            [only] => (only.start_frame, only.end_frame),
            all => {
                let total: i64 = all.iter().map(SourceInfo::frame_count).sum();
                (1, i32::try_from(total).unwrap_or(i32::MAX))
            }
        };
        self.effects
            .push(Effect::SourceCreated { node: node.clone() });
        self.set_range(start, end, now);
        self.fire(
            "source-group-complete",
            &format!("{};;new", group_name(&node)),
        );
        Ok(node)
    }

    /// `newImageSourcePixels` (§7.4). Returns `"<node>.image.<prop>"` where
    /// `<prop>` is RV's pixel property name (`ImageSourceIPNode::
    /// pixelPropNames`): the frame clamped to the source's range, then
    /// `:<view>` and `;<layer>` (a layer's `.` becomes `*`). A nil view or
    /// layer falls back to the first declared one, and is left out when none
    /// is declared. Nil for an unknown node.
    fn new_image_source_pixels(&mut self, args: &[Value]) -> Result<Value, CommandError> {
        let Some(node) = arg_opt_str(args, 0)? else {
            return Ok(Value::Nil);
        };
        let frame = arg_int(args, 1)?;
        let dash = |s: Option<&str>| s.filter(|s| *s != "-").map(str::to_string);
        let layer = dash(arg_opt_str(args, 2)?);
        let view = dash(arg_opt_str(args, 3)?);
        let Some(src) = self.sources.iter().find(|s| s.node == node) else {
            return Ok(Value::Nil);
        };
        if let Some(v) = view.as_ref().filter(|v| !src.views.contains(v)) {
            return bad(format!(
                "Bad view name: {v:?} (declared views: {:?})",
                src.views
            ));
        }
        if let Some(l) = layer.as_ref().filter(|l| !src.layers.contains(l)) {
            return bad(format!(
                "Bad layer name: {l:?} (declared layers: {:?})",
                src.layers
            ));
        }
        let frame = frame.clamp(src.start_frame, src.end_frame);
        let mut prop = frame.to_string();
        if let Some(v) = view.as_ref().or(src.views.first()) {
            prop.push(':');
            prop.push_str(v);
        }
        if let Some(l) = layer.as_ref().or(src.layers.first()) {
            prop.push(';');
            prop.push_str(&l.replace('.', "*"));
        }
        let path = format!("{}.image.{prop}", src.node);
        self.effects.push(Effect::PixelsAllocated {
            node: src.node.clone(),
            frame,
            layer,
            view,
        });
        Ok(Value::Str(path))
    }
}
