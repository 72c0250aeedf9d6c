//! The Pixels tab: load an image, preview it, push it to RV tile by tile
//! (rv-protocol.md §7.5, §8). Pure state, like the rest of `app/`: decoding,
//! directory listing, conversion and the push itself are [`PixelsCommand`]s
//! the runner (`shell::pixels`) executes in tasks, posting back
//! [`PixelsEvent`]s. The app never holds the decoded image, only what it
//! shows: the size, the format and a small RGB thumbnail for the preview.
//!
//! Loads and pushes carry ids the app allocates; an event whose id is not the
//! current one (a load superseded by a newer one) is ignored.

use super::feedback::LineKind;
use super::input::LineInput;
use super::keymap::Action;
pub use super::keymap::PixelsAction;
use super::{App, Command, Tab, layout};
use crate::rv::pixels::{Depth, Tiling, check_media};
use crate::rv::push::{Progress, PushReport};
use ratatui::layout::{Constraint, Layout, Margin, Rect};
use std::path::PathBuf;

/// What the path field shows for the image built into the binary (the demo's).
pub const BUILTIN_LABEL: &str = "<built-in test chart>";

/// Where an image comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageSource {
    /// A file, as typed (the runner expands a leading `~/`).
    File(PathBuf),
    /// `assets/test-chart.png`, embedded in the binary.
    BuiltIn,
}

impl ImageSource {
    /// How the image is named in the tab and the feedback.
    pub fn label(&self) -> String {
        match self {
            ImageSource::File(path) => path.file_name().map_or_else(
                || path.display().to_string(),
                |n| n.to_string_lossy().into(),
            ),
            ImageSource::BuiltIn => "test-chart.png (built in)".into(),
        }
    }

    /// The stem a unique media name is made from.
    pub fn stem(&self) -> String {
        match self {
            ImageSource::File(path) => path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default(),
            ImageSource::BuiltIn => "test-chart".into(),
        }
    }
}

/// The text fields of the tab.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PixelsField {
    Path,
    /// X tiles, or the tile width in [`TileMode::Size`].
    First,
    /// Y tiles, or the tile height in [`TileMode::Size`].
    Second,
    Media,
}

/// How the two tiling fields are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TileMode {
    /// X tiles by Y tiles, as rvshell cuts the image.
    Grid,
    /// Tiles of W by H pixels, as a renderer sends buckets.
    Size,
}

/// What the runner must do for the Pixels tab.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PixelsCommand {
    /// Decode `source` (in `spawn_blocking`), keep it as image `id`, and post
    /// [`PixelsEvent::Loaded`] with a thumbnail fitting `preview` (width,
    /// height in pixels; two pixel rows per terminal row).
    Load {
        id: u64,
        source: ImageSource,
        preview: (u32, u32),
    },
    /// List the directory of `text` and post [`PixelsEvent::Completions`].
    Complete { text: String },
    /// Convert image `image` at `depth` and push it to contact `contact`,
    /// posting [`PixelsEvent::Progress`] and then [`PixelsEvent::Pushed`].
    Push {
        job: u64,
        contact: usize,
        image: u64,
        tiling: Tiling,
        depth: Depth,
        media: Option<String>,
        stem: String,
    },
    /// Stop push `job` between tiles.
    Cancel { job: u64 },
    /// Make a new thumbnail of image `id` for a resized preview and post
    /// [`PixelsEvent::Thumbnail`].
    Thumbnail { id: u64, preview: (u32, u32) },
}

/// What the runner reports for the Pixels tab.
#[derive(Debug, Clone, PartialEq)]
pub enum PixelsEvent {
    Loaded {
        id: u64,
        result: Result<ImageInfo, String>,
    },
    /// Full replacement texts for the path `text` (directories end in `/`).
    Completions {
        text: String,
        candidates: Vec<String>,
    },
    Progress {
        job: u64,
        progress: Progress,
    },
    Pushed {
        job: u64,
        result: Result<PushReport, String>,
    },
    Thumbnail {
        id: u64,
        preview: (u32, u32),
        result: Result<Thumbnail, String>,
    },
}

/// A small RGB copy of the image for the preview, row-major, top row first.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Thumbnail {
    pub width: u32,
    pub height: u32,
    /// `width * height * 3` bytes.
    pub rgb: Vec<u8>,
}

impl Thumbnail {
    /// The pixel at (x, y), black outside.
    pub fn pixel(&self, x: u32, y: u32) -> [u8; 3] {
        if x >= self.width || y >= self.height {
            return [0, 0, 0];
        }
        let i = (y as usize * self.width as usize + x as usize) * 3;
        match self.rgb.get(i..i + 3) {
            Some(p) => [p[0], p[1], p[2]],
            None => [0, 0, 0],
        }
    }
}

/// What a load found out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageInfo {
    pub width: u32,
    pub height: u32,
    /// Container and sample format, e.g. `PNG, RGBA 8-bit`.
    pub format: String,
    pub thumbnail: Thumbnail,
}

/// The image the runner holds for us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedImage {
    pub id: u64,
    pub source: ImageSource,
    pub info: ImageInfo,
    /// The preview size (pixels) the thumbnail was made for.
    pub preview: (u32, u32),
}

/// A push on its way.
#[derive(Debug, Clone, PartialEq)]
pub struct RunningPush {
    pub job: u64,
    pub contact: usize,
    /// `test-chart.png, 2x2 tiles, 8-bit`.
    pub what: String,
    /// The latest report; `None` while converting and creating the source.
    pub progress: Option<Progress>,
    pub cancelling: bool,
}

/// Tab-completion cycling: repeated Tab walks `list` without new I/O.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Cycle {
    base: String,
    list: Vec<String>,
    index: Option<usize>,
}

/// The Pixels tab's state.
#[derive(Debug, Clone)]
pub struct PixelsTab {
    pub path: LineInput,
    pub first: LineInput,
    pub second: LineInput,
    pub media: LineInput,
    pub depth: Depth,
    pub mode: TileMode,
    pub focus: Option<PixelsField>,
    pub image: Option<LoadedImage>,
    /// A load under way: its id and source.
    pub loading: Option<(u64, ImageSource)>,
    /// The completion on show, if any.
    cycle: Option<Cycle>,
    pub push: Option<RunningPush>,
    /// The last outcome shown in the tab: (ok, text).
    pub status: Option<(bool, String)>,
    /// The preview size the load under way asked for.
    load_preview: (u32, u32),
    /// A new thumbnail is being made (resizes coalesce behind it).
    thumb_pending: bool,
    next_id: u64,
}

impl Default for PixelsTab {
    fn default() -> Self {
        Self {
            path: LineInput::default(),
            first: LineInput::new("1"),
            second: LineInput::new("1"),
            media: LineInput::default(),
            depth: Depth::U8,
            mode: TileMode::Grid,
            focus: None,
            image: None,
            loading: None,
            cycle: None,
            push: None,
            status: None,
            load_preview: (0, 0),
            thumb_pending: false,
            next_id: 1,
        }
    }
}

impl PixelsTab {
    fn field(&mut self, field: PixelsField) -> &mut LineInput {
        match field {
            PixelsField::Path => &mut self.path,
            PixelsField::First => &mut self.first,
            PixelsField::Second => &mut self.second,
            PixelsField::Media => &mut self.media,
        }
    }

    /// Completion candidates on show.
    pub fn candidates(&self) -> &[String] {
        self.cycle.as_ref().map_or(&[], |c| &c.list)
    }

    /// The selected candidate while cycling.
    pub fn cycled(&self) -> Option<usize> {
        self.cycle.as_ref().and_then(|c| c.index)
    }

    /// The tiling the two fields ask for, or why not.
    pub fn tiling(&self) -> Result<Tiling, String> {
        let (a_name, b_name) = match self.mode {
            TileMode::Grid => ("X tiles", "Y tiles"),
            TileMode::Size => ("tile width", "tile height"),
        };
        let number = |name: &str, text: &str| {
            text.trim()
                .parse::<u32>()
                .map_err(|_| format!("{name} {text:?} is not a whole number; type one, e.g. 2"))
        };
        let a = number(a_name, self.first.text())?;
        let b = number(b_name, self.second.text())?;
        Ok(match self.mode {
            TileMode::Grid => Tiling::Grid { nx: a, ny: b },
            TileMode::Size => Tiling::Buckets { w: a, h: b },
        })
    }
}

/// The tab's geometry inside its body (border included), shared by the UI
/// and by the app (which sizes the thumbnail for the preview).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PixelsAreas {
    pub path: Rect,
    pub first: Rect,
    pub second: Rect,
    pub depth: Rect,
    pub media: Rect,
    pub send: Rect,
    pub preview: Rect,
    pub info: Rect,
}

/// Computes [`PixelsAreas`] for the tab body.
pub fn areas(body: Rect) -> PixelsAreas {
    let inner = body.inner(Margin::new(1, 1));
    let [path, fields, rest] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(0),
    ])
    .areas(inner);
    let [first, second, depth, media, send] = Layout::horizontal([
        Constraint::Length(12),
        Constraint::Length(12),
        Constraint::Length(14),
        Constraint::Min(8),
        Constraint::Length(8),
    ])
    .spacing(1)
    .areas(fields);
    let [preview, info] = Layout::horizontal([Constraint::Percentage(50), Constraint::Min(0)])
        .spacing(1)
        .areas(rest);
    PixelsAreas {
        path,
        first,
        second,
        depth,
        media,
        send,
        preview,
        info,
    }
}

/// A path without the quotes a shell or a file manager put around it.
fn unquote(text: &str) -> &str {
    for quote in ['\'', '"'] {
        if let Some(inner) = text
            .strip_prefix(quote)
            .and_then(|rest| rest.strip_suffix(quote))
        {
            return inner;
        }
    }
    text
}

/// The longest common prefix of `items`, by characters.
fn common_prefix(items: &[String]) -> String {
    let Some(first) = items.first() else {
        return String::new();
    };
    let mut len = first.len();
    for item in &items[1..] {
        len = first
            .char_indices()
            .zip(item.chars())
            .take_while(|((i, a), b)| *i < len && a == b)
            .last()
            .map_or(0, |((i, a), _)| i + a.len_utf8());
    }
    first[..len].to_owned()
}

/// Bytes in megabytes (10^6), one decimal.
fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

/// The depth as the selector shows it.
pub fn depth_label(depth: Depth) -> &'static str {
    match depth {
        Depth::U8 => "8-bit",
        Depth::U16 => "16-bit",
        Depth::F32 => "32 float",
    }
}

impl App {
    /// Whether a Pixels field has the keys.
    pub(super) fn pixels_in_text(&self) -> bool {
        self.tab == Tab::Pixels && self.pixels.focus.is_some()
    }

    /// `rvshell demo`: the built-in test chart, loading at once.
    pub fn pixels_demo(&mut self) -> Vec<Command> {
        self.pixels.path.set(BUILTIN_LABEL);
        self.pixels_load(ImageSource::BuiltIn)
    }

    /// The thumbnail size (pixels) that fills the Pixels tab's preview at
    /// the current terminal size; `None` when there is no room for one.
    fn preview_wanted(&self) -> Option<(u32, u32)> {
        let body = layout::areas(self.size, Tab::Pixels, self.contacts.len()).body;
        let preview = areas(body).preview;
        (preview.width >= 4 && preview.height >= 2)
            .then(|| (u32::from(preview.width), u32::from(preview.height) * 2))
    }

    /// After a resize (or a load): a new thumbnail when the preview size
    /// changed, one request at a time.
    pub(super) fn pixels_resized(&mut self) -> Vec<Command> {
        let Some(wanted) = self.preview_wanted() else {
            return Vec::new();
        };
        let Some(image) = &self.pixels.image else {
            return Vec::new();
        };
        if self.pixels.thumb_pending || image.preview == wanted {
            return Vec::new();
        }
        self.pixels.thumb_pending = true;
        vec![Command::Pixels(PixelsCommand::Thumbnail {
            id: image.id,
            preview: wanted,
        })]
    }

    pub(super) fn pixels_act(&mut self, action: PixelsAction) -> Vec<Command> {
        self.dirty = true;
        let focus = self.pixels.focus;
        match action {
            PixelsAction::Open => self.pixels_focus(Some(PixelsField::Path)),
            PixelsAction::FocusFirst => self.pixels_focus(Some(PixelsField::First)),
            PixelsAction::FocusSecond => self.pixels_focus(Some(PixelsField::Second)),
            PixelsAction::FocusMedia => self.pixels_focus(Some(PixelsField::Media)),
            PixelsAction::CycleDepth => {
                self.pixels.depth = match self.pixels.depth {
                    Depth::U8 => Depth::U16,
                    Depth::U16 => Depth::F32,
                    Depth::F32 => Depth::U8,
                }
            }
            PixelsAction::ToggleMode => {
                self.pixels.mode = match self.pixels.mode {
                    TileMode::Grid => TileMode::Size,
                    TileMode::Size => TileMode::Grid,
                }
            }
            PixelsAction::Tab => match focus {
                Some(PixelsField::Path) => return self.pixels_complete(),
                Some(field) => {
                    let next = match field {
                        PixelsField::First => PixelsField::Second,
                        PixelsField::Second => PixelsField::Media,
                        _ => PixelsField::Path,
                    };
                    self.pixels_focus(Some(next));
                }
                None => return self.act(Action::NextTab),
            },
            PixelsAction::Enter => match focus {
                Some(PixelsField::Path) => return self.pixels_load_path(),
                Some(_) => self.pixels_focus(None),
                None => self.pixels_focus(Some(PixelsField::Path)),
            },
            PixelsAction::Send => return self.pixels_send(),
            PixelsAction::Escape => {
                // A cancel already asked for: Esc does its usual job again.
                if let Some(push) = self.pixels.push.as_mut().filter(|p| !p.cancelling) {
                    push.cancelling = true;
                    let job = push.job;
                    self.log(LineKind::Info, String::new(), "cancelling the push…");
                    return vec![Command::Pixels(PixelsCommand::Cancel { job })];
                }
                if focus.is_some() {
                    self.pixels_focus(None);
                } else {
                    return self.act(Action::Escape);
                }
            }
        }
        Vec::new()
    }

    /// A left click in the tab body: focus a field, cycle the depth, Send.
    /// `None` when the click is on nothing of ours.
    pub(super) fn pixels_click(
        &mut self,
        body: Rect,
        at: ratatui::layout::Position,
    ) -> Option<Vec<Command>> {
        let a = areas(body);
        let action = if a.path.contains(at) {
            PixelsAction::Open
        } else if a.first.contains(at) {
            PixelsAction::FocusFirst
        } else if a.second.contains(at) {
            PixelsAction::FocusSecond
        } else if a.media.contains(at) {
            PixelsAction::FocusMedia
        } else if a.depth.contains(at) {
            PixelsAction::CycleDepth
        } else if a.send.contains(at) {
            PixelsAction::Send
        } else {
            return None;
        };
        Some(self.pixels_act(action))
    }

    fn pixels_focus(&mut self, field: Option<PixelsField>) {
        self.pixels.focus = field;
        self.pixels.cycle = None;
    }

    /// A key no binding took, while a Pixels field has the focus.
    pub(super) fn pixels_text_key(&mut self, key: &crossterm::event::KeyEvent) -> Vec<Command> {
        let Some(field) = self.pixels.focus else {
            self.dirty = false;
            return Vec::new();
        };
        use crossterm::event::KeyCode;
        // The demo's label is a placeholder: typing replaces it.
        if field == PixelsField::Path
            && self.pixels.path.text() == BUILTIN_LABEL
            && matches!(key.code, KeyCode::Char(_) | KeyCode::Backspace)
        {
            self.pixels.path.set("");
        }
        let before = self.pixels.field(field).text().to_owned();
        self.pixels.field(field).handle_key(key);
        if self.pixels.field(field).text() != before {
            // What the last message complained about may be fixed now; the
            // feedback pane keeps it.
            if matches!(self.pixels.status, Some((false, _))) {
                self.pixels.status = None;
            }
            if field == PixelsField::Path {
                self.pixels.cycle = None;
            }
        }
        Vec::new()
    }

    /// Pasted text goes to the focused field. With no field focused it
    /// replaces the path (a file dropped on the terminal pastes its path).
    pub(super) fn pixels_paste(&mut self, text: &str) -> bool {
        let field = match self.pixels.focus {
            Some(field) => field,
            None => {
                self.pixels_focus(Some(PixelsField::Path));
                self.pixels.path.set("");
                PixelsField::Path
            }
        };
        if field == PixelsField::Path && self.pixels.path.text() == BUILTIN_LABEL {
            self.pixels.path.set("");
        }
        self.pixels
            .field(field)
            .insert_str(text.trim_end_matches(['\n', '\r']));
        self.pixels.cycle = None;
        true
    }

    fn pixels_complete(&mut self) -> Vec<Command> {
        let text = self.pixels.path.text().to_owned();
        if let Some(cycle) = &mut self.pixels.cycle {
            let current = cycle
                .index
                .and_then(|i| cycle.list.get(i))
                .unwrap_or(&cycle.base);
            let next = cycle.index.map_or(0, |i| (i + 1) % cycle.list.len().max(1));
            if *current == text
                && let Some(chosen) = cycle.list.get(next).cloned()
            {
                cycle.index = Some(next);
                self.pixels.path.set(chosen);
                return Vec::new();
            }
        }
        self.pixels.cycle = None;
        if text == BUILTIN_LABEL {
            return Vec::new();
        }
        vec![Command::Pixels(PixelsCommand::Complete { text })]
    }

    fn pixels_load_path(&mut self) -> Vec<Command> {
        let text = unquote(self.pixels.path.text().trim()).to_owned();
        self.pixels.cycle = None;
        if text.is_empty() {
            self.pixels_error("no image path: type the path of an image file, then Enter".into());
            return Vec::new();
        }
        let source = if text == BUILTIN_LABEL {
            ImageSource::BuiltIn
        } else {
            ImageSource::File(PathBuf::from(text))
        };
        self.pixels_load(source)
    }

    fn pixels_load(&mut self, source: ImageSource) -> Vec<Command> {
        let id = self.pixels.next_id;
        self.pixels.next_id += 1;
        self.pixels.loading = Some((id, source.clone()));
        self.dirty = true;
        let preview = self.preview_wanted().unwrap_or((64, 36));
        self.pixels.load_preview = preview;
        vec![Command::Pixels(PixelsCommand::Load {
            id,
            source,
            preview,
        })]
    }

    /// An error in the feedback pane and in the tab; no field is touched.
    fn pixels_error(&mut self, text: String) {
        self.pixels.status = Some((false, text.clone()));
        self.log(LineKind::Error, String::new(), text);
    }

    fn pixels_send(&mut self) -> Vec<Command> {
        if let Some(push) = &self.pixels.push {
            let text = format!(
                "a push is already running ({}); wait for it or press Esc to cancel it",
                push.what
            );
            self.pixels_error(text);
            return Vec::new();
        }
        if let Some((_, source)) = &self.pixels.loading {
            let text = format!(
                "{} is still loading; press Send again when it shows",
                source.label()
            );
            self.pixels_error(text);
            return Vec::new();
        }
        let Some(image) = self.pixels.image.clone() else {
            self.pixels_error(
                "no image loaded: type a path in the Image field (o), press Enter, then Send"
                    .into(),
            );
            return Vec::new();
        };
        let tiling = match self.pixels.tiling() {
            Ok(tiling) => tiling,
            Err(err) => {
                self.pixels_error(format!("not sent: {err}; your fields are kept"));
                return Vec::new();
            }
        };
        if let Err(err) = tiling.count(image.info.width, image.info.height) {
            self.pixels_error(format!("not sent: {err}; your fields are kept"));
            return Vec::new();
        }
        let media = self.pixels.media.text().trim().to_owned();
        if !media.is_empty() && check_media(&media).is_err() {
            self.pixels_error(format!(
                "not sent: media name {media:?} must have no spaces, commas, parentheses, \
                 '=', quotes or backslashes; your fields are kept"
            ));
            return Vec::new();
        }
        let contact = self.selected;
        let Some(view) = self.contacts.get(contact) else {
            self.pixels_error("not sent: no RV is configured".into());
            return Vec::new();
        };
        if !view.is_connected() {
            let text = format!(
                "not sent: not connected to RV at {} ({}); your fields are kept",
                view.address,
                view.state_text(self.now)
            );
            self.pixels_error(text);
            return Vec::new();
        }
        let job = self.pixels.next_id;
        self.pixels.next_id += 1;
        let what = format!(
            "{} {}x{}, {}, {}",
            image.source.label(),
            image.info.width,
            image.info.height,
            tiling,
            depth_label(self.pixels.depth)
        );
        let from = self.contact_label(contact);
        self.log(LineKind::Sent, from, format!("→ push {what}"));
        self.pixels.status = None;
        self.pixels.push = Some(RunningPush {
            job,
            contact,
            what,
            progress: None,
            cancelling: false,
        });
        vec![Command::Pixels(PixelsCommand::Push {
            job,
            contact,
            image: image.id,
            tiling,
            depth: self.pixels.depth,
            media: (!media.is_empty()).then_some(media),
            stem: image.source.stem(),
        })]
    }

    pub(super) fn on_pixels_event(&mut self, event: PixelsEvent) -> Vec<Command> {
        match event {
            PixelsEvent::Loaded { id, result } => {
                let Some((loading, source)) = self.pixels.loading.clone() else {
                    return Vec::new();
                };
                if loading != id {
                    return Vec::new();
                }
                self.pixels.loading = None;
                self.dirty = true;
                match result {
                    Ok(info) => {
                        let text = format!(
                            "loaded {}: {}x{}, {}",
                            source.label(),
                            info.width,
                            info.height,
                            info.format
                        );
                        // The tab shows the image itself; no status line needed.
                        self.pixels.status = None;
                        self.log(LineKind::Info, String::new(), text);
                        self.pixels.image = Some(LoadedImage {
                            id,
                            source,
                            info,
                            preview: self.pixels.load_preview,
                        });
                        // Done with the path: keys are shortcuts again (s sends).
                        if self.pixels.focus == Some(PixelsField::Path) {
                            self.pixels_focus(None);
                        }
                        // Resized while it loaded: a thumbnail for the new size.
                        self.pixels.thumb_pending = false;
                        return self.pixels_resized();
                    }
                    Err(err) => {
                        let kept = match &self.pixels.image {
                            Some(old) => format!("; {} is still loaded", old.source.label()),
                            None => String::new(),
                        };
                        self.pixels_error(format!("{err}{kept}"));
                    }
                }
            }
            PixelsEvent::Completions { text, candidates } => {
                if self.pixels.path.text() != text || self.pixels.focus != Some(PixelsField::Path) {
                    return Vec::new();
                }
                self.dirty = true;
                if candidates.is_empty() {
                    self.pixels.cycle = None;
                    self.pixels.status = Some((false, format!("nothing matches {text}")));
                    return Vec::new();
                }
                if let [only] = candidates.as_slice() {
                    self.pixels.cycle = None;
                    self.pixels.path.set(only.clone());
                    return Vec::new();
                }
                let prefix = common_prefix(&candidates);
                let base = if prefix.len() > text.len() {
                    self.pixels.path.set(prefix.clone());
                    prefix
                } else {
                    text
                };
                self.pixels.cycle = Some(Cycle {
                    base,
                    list: candidates,
                    index: None,
                });
            }
            PixelsEvent::Progress { job, progress } => {
                if let Some(push) = &mut self.pixels.push
                    && push.job == job
                {
                    push.progress = Some(progress);
                    self.dirty = true;
                }
            }
            PixelsEvent::Pushed { job, result } => {
                let Some(push) = self.pixels.push.take_if(|p| p.job == job) else {
                    return Vec::new();
                };
                let from = self.contact_label(push.contact);
                match result {
                    Ok(done) => {
                        let rate = done.bytes as f64 / 1e6 / done.send_time.as_secs_f64().max(1e-9);
                        let node = done.node.as_deref().unwrap_or("(no new source)");
                        let total = (done.create_time + done.send_time).as_secs_f64();
                        let text = format!(
                            "pushed {} → {node} in {total:.2} s ({} tile{}, {}, {rate:.1} MB/s)",
                            done.media,
                            done.tiles,
                            if done.tiles == 1 { "" } else { "s" },
                            mb(done.bytes),
                        );
                        self.pixels.status = Some((true, text.clone()));
                        self.log(LineKind::Return, from, text);
                    }
                    Err(err) => {
                        self.pixels.status = Some((false, err.clone()));
                        self.log(LineKind::Error, from, err);
                    }
                }
            }
            PixelsEvent::Thumbnail {
                id,
                preview,
                result,
            } => {
                self.pixels.thumb_pending = false;
                if let Some(image) = self.pixels.image.as_mut().filter(|i| i.id == id) {
                    // A failure keeps the old thumbnail: the preview is scaled.
                    if let Ok(thumbnail) = result {
                        image.info.thumbnail = thumbnail;
                        self.dirty = true;
                    }
                    image.preview = preview;
                }
                return self.pixels_resized();
            }
        }
        Vec::new()
    }
}
