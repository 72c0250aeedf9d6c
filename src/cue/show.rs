//! The show file: scenes of DMX values, and the cues that fade them in when
//! RV fires its events. Parsing and validation only; [`super::engine`] runs it.
//!
//! # Format (TOML)
//!
//! ```toml
//! priority = 100            # optional, 0..=200, olad's source priority (default 100)
//! [scenes.house]
//! universe = 1
//! values = "1-4=255"        # the syntax of `rvshell dmx set`; only the channels listed belong to the scene
//! [scenes.dim]
//! universe = 1
//! values = "1-4=25"
//! [scenes.flash]
//! universe = 1
//! values = "5=255"
//! [[cues]]
//! on = "play-start"          # any RV event name
//! scene = "dim"
//! fade = 2.0                 # seconds, 0 = a cut
//! [[cues]]
//! on = "play-stop"
//! scene = "house"
//! fade = 1.0
//! [[cues]]
//! on = "frames"              # the frame enters this inclusive range from outside it
//! frames = "1005-1010"
//! scene = "flash"
//! fade = 0
//! [[cues]]
//! on = "source-group-complete"
//! contents = "^sourceGroup0+1;;new$"   # optional regex the event's contents must match
//! scene = "house"
//! fade = 0.5
//! [failsafe]                 # when the connection to RV is lost
//! scene = "house"
//! fade = 3.0
//! ```
//!
//! - A scene's `values` are those of `rvshell dmx set` ([`crate::ola::values`]):
//!   `255,0,128` (channels 1, 2, 3), `1-4=255`, `5=128,7=0`. Channels a
//!   scene does not list are left as they are.
//! - `on = "frames"` cues need `frames = "FIRST-LAST"` (or one frame) and
//!   fire on `frame-changed`; every other `on` is an RV event name.
//! - `contents` is a regular expression (the `regex` crate's syntax) that
//!   the event's contents must match.
//! - `fade` is in seconds, 0 to [`MAX_FADE`]; it defaults to 0.
//!
//! Every problem found is reported, each as `SHOW:LINE:COL: message`
//! ([`ShowError`]), with the line and column of the key or value at fault.

use crate::ola::values::parse_values;
use crate::rv::events::check_event_name;
use regex::Regex;
use std::collections::BTreeSet;
use std::fmt;
use std::ops::Range;
use std::path::Path;
use std::time::Duration;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// olad's default source priority, used when a show gives none.
pub const DEFAULT_PRIORITY: u8 = 100;

/// The longest fade a show may ask for.
pub const MAX_FADE: Duration = Duration::from_secs(3600);

/// The `on` of a frame-range cue.
pub const FRAMES: &str = "frames";

/// The event a frame-range cue listens to.
pub const FRAME_CHANGED: &str = "frame-changed";

/// A valid show.
#[derive(Debug, Clone)]
pub struct Show {
    /// olad's source priority for every frame sent (0..=200).
    pub priority: u8,
    /// The scenes, sorted by name.
    pub scenes: Vec<Scene>,
    /// The cues, in file order.
    pub cues: Vec<Cue>,
    /// What to fade in when RV is lost.
    pub failsafe: Option<Failsafe>,
}

/// A named set of channel values on one universe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scene {
    /// Its name in the show.
    pub name: String,
    /// The universe it belongs to.
    pub universe: u32,
    /// (channel 1..=512, value), sorted by channel, each channel once.
    pub channels: Vec<(u16, u8)>,
}

/// What makes a cue fire.
#[derive(Debug, Clone)]
pub enum Trigger {
    /// RV's event of this name, whose contents match the regex if given.
    Event {
        /// The event's name.
        name: String,
        /// The regex the contents must match.
        contents: Option<Regex>,
    },
    /// `frame-changed` to a frame in `first..=last` from a frame outside it.
    Frames {
        /// First frame of the range.
        first: i64,
        /// Last frame of the range (inclusive).
        last: i64,
    },
}

/// One cue: when it fires, which scene it fades to, and how fast.
#[derive(Debug, Clone)]
pub struct Cue {
    /// When it fires.
    pub trigger: Trigger,
    /// Index into [`Show::scenes`].
    pub scene: usize,
    /// The fade's length (zero: a cut).
    pub fade: Duration,
}

/// The scene faded in when the connection to RV is lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failsafe {
    /// Index into [`Show::scenes`].
    pub scene: usize,
    /// The fade's length.
    pub fade: Duration,
}

/// One problem in a show file, at a 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Line, from 1.
    pub line: usize,
    /// Column in characters, from 1.
    pub column: usize,
    /// What is wrong, and what to write instead.
    pub message: String,
}

/// Why a show cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ShowError {
    /// The file could not be read.
    #[error("cannot read show {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file has problems; each line of the message is one
    /// `SHOW:LINE:COL: message`.
    #[error("{}", list(path, diagnostics))]
    Invalid {
        /// The file, as given.
        path: String,
        /// Every problem found, in file order.
        diagnostics: Vec<Diagnostic>,
    },
}

fn list(path: &str, diagnostics: &[Diagnostic]) -> String {
    let lines: Vec<String> = diagnostics
        .iter()
        .map(|d| format!("{path}:{}:{}: {}", d.line, d.column, d.message))
        .collect();
    lines.join("\n")
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.column, self.message)
    }
}

impl Show {
    /// Reads and validates the show file at `path`.
    pub fn load(path: &Path) -> Result<Show, ShowError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ShowError::Read {
            path: name.clone(),
            source,
        })?;
        Show::parse(&text, &name)
    }

    /// Validates show `text`; `path` names it in the errors.
    pub fn parse(text: &str, path: &str) -> Result<Show, ShowError> {
        let mut checker = Checker {
            text,
            found: Vec::new(),
            declared: Vec::new(),
        };
        let show = checker.document();
        match show {
            Some(show) if checker.found.is_empty() => Ok(show),
            _ => {
                checker.found.sort_by_key(|(at, _)| *at);
                let diagnostics = checker
                    .found
                    .iter()
                    .map(|(at, message)| {
                        let (line, column) = line_column(text, *at);
                        Diagnostic {
                            line,
                            column,
                            message: message.clone(),
                        }
                    })
                    .collect();
                Err(ShowError::Invalid {
                    path: path.to_owned(),
                    diagnostics,
                })
            }
        }
    }

    /// The scene named `name`.
    pub fn scene(&self, name: &str) -> Option<usize> {
        self.scenes.iter().position(|s| s.name == name)
    }

    /// The universes the scenes touch, ascending.
    pub fn universes(&self) -> Vec<u32> {
        let set: BTreeSet<u32> = self.scenes.iter().map(|s| s.universe).collect();
        set.into_iter().collect()
    }

    /// The RV events the cues need forwarded (`frames` cues need
    /// `frame-changed`), each once, in cue order.
    pub fn events(&self) -> Vec<String> {
        let mut events: Vec<String> = Vec::new();
        for cue in &self.cues {
            let name = match &cue.trigger {
                Trigger::Event { name, .. } => name.as_str(),
                Trigger::Frames { .. } => FRAME_CHANGED,
            };
            if !events.iter().any(|e| e == name) {
                events.push(name.to_owned());
            }
        }
        events
    }

    /// The one-line summary `rvshell cue check` prints.
    pub fn summary(&self) -> String {
        let universes = self.universes();
        let list: Vec<String> = universes.iter().map(u32::to_string).collect();
        let list = if list.is_empty() {
            String::new()
        } else {
            format!(" ({})", list.join(", "))
        };
        format!(
            "{} scene{}, {} cue{}, {} universe{}{list}{}",
            self.scenes.len(),
            plural(self.scenes.len()),
            self.cues.len(),
            plural(self.cues.len()),
            universes.len(),
            plural(universes.len()),
            if self.failsafe.is_some() {
                ", failsafe"
            } else {
                ""
            }
        )
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// 1-based line and column (in characters) of byte offset `at`.
fn line_column(text: &str, at: usize) -> (usize, usize) {
    let at = at.min(text.len());
    let before = text.get(..at).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[start..].chars().count() + 1;
    (line, column)
}

/// Walks the parsed document, collecting every problem with its offset.
struct Checker<'t> {
    text: &'t str,
    found: Vec<(usize, String)>,
    /// Every scene name written, valid or not (a reference to an invalid
    /// scene is not reported again).
    declared: Vec<String>,
}

type Table<'i> = DeTable<'i>;
type Value<'i> = Spanned<DeValue<'i>>;

impl Checker<'_> {
    fn error(&mut self, span: Range<usize>, message: impl Into<String>) {
        self.found.push((span.start, message.into()));
    }

    /// The whole document; `None` when it is not TOML at all.
    fn document(&mut self) -> Option<Show> {
        let (doc, errors) = DeTable::parse_recoverable(self.text);
        if !errors.is_empty() {
            for err in errors {
                let at = err.span().map_or(0, |s| s.start);
                let message = err.message().trim().replace('\n', "; ");
                self.found.push((at, format!("not valid TOML: {message}")));
            }
            return None;
        }
        let doc = doc.into_inner();
        self.known_keys(
            &doc,
            &["priority", "scenes", "cues", "failsafe"],
            "the show",
        );
        let priority = match entry(&doc, "priority") {
            None => DEFAULT_PRIORITY,
            Some((_, value)) => self.priority(value),
        };
        let scenes = match entry(&doc, "scenes") {
            None => Vec::new(),
            Some((_, value)) => self.scenes(value),
        };
        let cues = match entry(&doc, "cues") {
            None => Vec::new(),
            Some((_, value)) => self.cues(value, &scenes),
        };
        let failsafe = entry(&doc, "failsafe").and_then(|(key, value)| {
            let table = self.table(value, "[failsafe]")?;
            self.known_keys(table, &["scene", "fade"], "[failsafe]");
            let scene = self.scene_ref(table, key.span(), &scenes, "[failsafe]")?;
            let fade = self.fade(table)?;
            Some(Failsafe { scene, fade })
        });
        Some(Show {
            priority,
            scenes,
            cues,
            failsafe,
        })
    }

    fn known_keys(&mut self, table: &Table<'_>, known: &[&str], what: &str) {
        for (key, _) in table.iter() {
            if !known.contains(&key.get_ref().as_ref()) {
                self.error(
                    key.span(),
                    format!(
                        "unknown key {:?} in {what}; expected one of: {}",
                        key.get_ref(),
                        known.join(", ")
                    ),
                );
            }
        }
    }

    fn table<'a, 'i>(&mut self, value: &'a Value<'i>, what: &str) -> Option<&'a Table<'i>> {
        let table = value.get_ref().as_table();
        if table.is_none() {
            self.error(
                value.span(),
                format!(
                    "{what} must be a table, not a {}",
                    value.get_ref().type_str()
                ),
            );
        }
        table
    }

    fn string<'a>(&mut self, value: &'a Value<'_>, what: &str) -> Option<&'a str> {
        let text = value.get_ref().as_str();
        if text.is_none() {
            self.error(
                value.span(),
                format!(
                    "{what} must be a string, not a {}",
                    value.get_ref().type_str()
                ),
            );
        }
        text
    }

    fn integer(&mut self, value: &Value<'_>, what: &str) -> Option<i64> {
        let number = value
            .get_ref()
            .as_integer()
            .and_then(|n| i64::from_str_radix(n.as_str(), n.radix()).ok());
        if number.is_none() {
            self.error(value.span(), format!("{what} must be a whole number"));
        }
        number
    }

    fn priority(&mut self, value: &Value<'_>) -> u8 {
        match self.integer(value, "priority") {
            Some(p) if (0..=i64::from(crate::ola::client::MAX_PRIORITY)).contains(&p) => {
                u8::try_from(p).unwrap_or(DEFAULT_PRIORITY)
            }
            Some(p) => {
                self.error(
                    value.span(),
                    format!("priority {p} is out of range: olad takes 0..=200"),
                );
                DEFAULT_PRIORITY
            }
            None => DEFAULT_PRIORITY,
        }
    }

    fn scenes(&mut self, value: &Value<'_>) -> Vec<Scene> {
        let Some(table) = self.table(value, "scenes") else {
            return Vec::new();
        };
        let mut scenes = Vec::new();
        for (key, value) in table.iter() {
            let name = key.get_ref().to_string();
            self.declared.push(name.clone());
            let what = format!("[scenes.{name}]");
            let Some(scene) = self.table(value, &what) else {
                continue;
            };
            self.known_keys(scene, &["universe", "values"], &what);
            let universe = match entry(scene, "universe") {
                None => {
                    self.error(key.span(), format!("{what} lacks `universe = N`"));
                    None
                }
                Some((_, value)) => match self.integer(value, "universe") {
                    Some(u) if (0..=i64::from(i32::MAX)).contains(&u) => u32::try_from(u).ok(),
                    Some(u) => {
                        self.error(
                            value.span(),
                            format!("universe {u} is out of range: 0..={}", i32::MAX),
                        );
                        None
                    }
                    None => None,
                },
            };
            let channels = match entry(scene, "values") {
                None => {
                    self.error(key.span(), format!("{what} lacks `values = \"...\"`"));
                    None
                }
                Some((_, value)) => self.values(value),
            };
            if let (Some(universe), Some(channels)) = (universe, channels) {
                scenes.push(Scene {
                    name,
                    universe,
                    channels,
                });
            }
        }
        scenes.sort_by(|a, b| a.name.cmp(&b.name));
        scenes
    }

    fn values(&mut self, value: &Value<'_>) -> Option<Vec<(u16, u8)>> {
        let text = self.string(value, "values")?;
        match parse_values(text) {
            Ok(values) => {
                let mut slots = std::collections::BTreeMap::new();
                for (channel, v) in values.channels() {
                    // Channels are 1..=512, checked by the parser.
                    slots.insert(u16::try_from(channel).unwrap_or(u16::MAX), v);
                }
                Some(slots.into_iter().collect())
            }
            Err(err) => {
                self.error(value.span(), format!("bad values: {err}"));
                None
            }
        }
    }

    fn cues(&mut self, value: &Value<'_>, scenes: &[Scene]) -> Vec<Cue> {
        let Some(array) = value.get_ref().as_array() else {
            self.error(value.span(), "cues must be written as [[cues]] tables");
            return Vec::new();
        };
        let mut cues = Vec::new();
        for (i, value) in array.iter().enumerate() {
            let what = format!("cue {}", i + 1);
            let Some(table) = self.table(value, &what) else {
                continue;
            };
            if let Some(cue) = self.cue(table, value.span(), &what, scenes) {
                cues.push(cue);
            }
        }
        cues
    }

    fn cue(
        &mut self,
        table: &Table<'_>,
        span: Range<usize>,
        what: &str,
        scenes: &[Scene],
    ) -> Option<Cue> {
        self.known_keys(table, &["on", "scene", "fade", "frames", "contents"], what);
        let on = match entry(table, "on") {
            None => {
                self.error(span.clone(), format!("{what} lacks `on = \"EVENT\"`"));
                None
            }
            Some((_, value)) => match self.string(value, "on") {
                Some(name) if name != FRAMES => match check_event_name(name) {
                    Ok(()) => Some(name.to_owned()),
                    Err(err) => {
                        self.error(value.span(), err.to_string());
                        None
                    }
                },
                other => other.map(str::to_owned),
            },
        };
        let frames = entry(table, "frames").and_then(|(key, value)| {
            if on.as_deref().is_some_and(|on| on != FRAMES) {
                self.error(
                    key.span(),
                    format!("`frames` belongs to cues with on = \"{FRAMES}\""),
                );
                return None;
            }
            let text = self.string(value, "frames")?;
            let range = frame_range(text);
            if range.is_none() {
                self.error(
                    value.span(),
                    format!(
                        "bad frame range {text:?}: write FIRST-LAST (first <= last) or one frame, e.g. \"1005-1010\""
                    ),
                );
            }
            range
        });
        let contents = entry(table, "contents").and_then(|(_, value)| {
            let text = self.string(value, "contents")?;
            match Regex::new(text) {
                Ok(regex) => Some(regex),
                Err(err) => {
                    let detail = err.to_string();
                    let last = detail
                        .lines()
                        .rfind(|l| !l.trim().is_empty())
                        .unwrap_or("")
                        .trim()
                        .trim_start_matches("error: ");
                    self.error(value.span(), format!("bad regex {text:?}: {last}"));
                    None
                }
            }
        });
        let scene = self.scene_ref(table, span.clone(), scenes, what);
        let fade = self.fade(table);
        let trigger = match on?.as_str() {
            FRAMES => {
                if entry(table, "frames").is_none() {
                    self.error(
                        span,
                        format!("{what} (on = \"{FRAMES}\") lacks `frames = \"FIRST-LAST\"`"),
                    );
                }
                if let Some((key, _)) = entry(table, "contents") {
                    self.error(key.span(), "`contents` does not apply to frames cues");
                }
                let (first, last) = frames?;
                Trigger::Frames { first, last }
            }
            name => Trigger::Event {
                name: name.to_owned(),
                contents,
            },
        };
        Some(Cue {
            trigger,
            scene: scene?,
            fade: fade?,
        })
    }

    /// The `scene = "NAME"` of `table`, which must name a scene.
    fn scene_ref(
        &mut self,
        table: &Table<'_>,
        span: Range<usize>,
        scenes: &[Scene],
        what: &str,
    ) -> Option<usize> {
        let Some((_, value)) = entry(table, "scene") else {
            self.error(span, format!("{what} lacks `scene = \"NAME\"`"));
            return None;
        };
        let name = self.string(value, "scene")?;
        let found = scenes.iter().position(|s| s.name == name);
        if found.is_none() && !self.declared.iter().any(|d| d == name) {
            let names: Vec<&str> = self.declared.iter().map(String::as_str).collect();
            self.error(
                value.span(),
                format!(
                    "unknown scene {name:?}; the scenes are: {}",
                    if names.is_empty() {
                        "(none)".to_owned()
                    } else {
                        names.join(", ")
                    }
                ),
            );
        }
        found
    }

    /// The `fade = SECS` of `table` (0 when absent).
    fn fade(&mut self, table: &Table<'_>) -> Option<Duration> {
        let Some((_, value)) = entry(table, "fade") else {
            return Some(Duration::ZERO);
        };
        let secs = match value.get_ref() {
            DeValue::Integer(n) => i64::from_str_radix(n.as_str(), n.radix())
                .ok()
                .map(|n| n as f64),
            DeValue::Float(f) => f.as_str().parse::<f64>().ok(),
            _ => None,
        };
        match secs {
            Some(s) if s.is_finite() && (0.0..=MAX_FADE.as_secs_f64()).contains(&s) => {
                Some(Duration::from_secs_f64(s))
            }
            _ => {
                self.error(
                    value.span(),
                    format!(
                        "fade must be seconds from 0 to {}, e.g. 2.5",
                        MAX_FADE.as_secs()
                    ),
                );
                None
            }
        }
    }
}

/// The entry `name` of `table`, with its key.
fn entry<'a, 'i>(
    table: &'a Table<'i>,
    name: &str,
) -> Option<(&'a Spanned<std::borrow::Cow<'i, str>>, &'a Value<'i>)> {
    table.iter().find(|(key, _)| key.get_ref().as_ref() == name)
}

/// `FIRST-LAST` or `FRAME`, whole non-negative frames, first <= last.
fn frame_range(text: &str) -> Option<(i64, i64)> {
    let number = |t: &str| -> Option<i64> {
        let t = t.trim();
        if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        t.parse().ok()
    };
    let (first, last) = match text.split_once('-') {
        Some((a, b)) => (number(a)?, number(b)?),
        None => {
            let f = number(text)?;
            (f, f)
        }
    };
    (first <= last).then_some((first, last))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_columns_count_characters_from_one() {
        let text = "a\nbé = 1\n";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 2), (2, 1));
        assert_eq!(line_column(text, text.find('=').unwrap()), (2, 4));
    }

    #[test]
    fn frame_ranges() {
        assert_eq!(frame_range("1005-1010"), Some((1005, 1010)));
        assert_eq!(frame_range(" 7 "), Some((7, 7)));
        assert_eq!(frame_range("10-5"), None);
        assert_eq!(frame_range("a-5"), None);
        assert_eq!(frame_range("-5"), None);
        assert_eq!(frame_range(""), None);
    }
}
