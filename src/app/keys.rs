//! Keys: the help overlay, search, go-to-frame, and the keymap's actions
//! ([`App::act`]).

use super::*;

impl App {
    pub(super) fn on_key(&mut self, key: KeyEvent) -> Vec<Command> {
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

    pub(super) fn on_help_key(&mut self, key: &KeyEvent) {
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

    pub(super) fn on_search_key(&mut self, key: &KeyEvent) -> Vec<Command> {
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
    pub(super) fn refresh_search(&mut self) {
        if let Some(search) = &mut self.feedback.search {
            search.query = self.search_input.text().to_owned();
        }
        self.feedback.hit = None;
        if !self.feedback.find(true) {
            self.feedback.scroll_to_bottom();
        }
    }

    pub(super) fn on_goto_key(&mut self, key: &KeyEvent) -> Vec<Command> {
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

    pub(super) fn send_goto(&mut self) -> Vec<Command> {
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
            Err(err) => {
                let why = if matches!(
                    err.kind(),
                    std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow
                ) {
                    format!("{text} is too large for a frame number")
                } else {
                    format!("{text:?} is not a frame number; type digits, then Enter")
                };
                self.log(
                    LineKind::Error,
                    String::new(),
                    format!("go to frame: {why}"),
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
                if let Some(commands) = self.cue_act(action) {
                    return commands;
                }
                let commands = self.dmx.act(action, self.now);
                return self.dmx_out(commands);
            }
        }
        Vec::new()
    }

    /// The keys the cue link takes on the OLA-DMX tab when a show is
    /// loaded: `L`, and F1-F12 / Shift+F for the show's scenes. `None`
    /// leaves the key to the console.
    fn cue_act(&mut self, action: crate::app::keymap::DmxAction) -> Option<Vec<Command>> {
        use crate::app::keymap::DmxAction as DA;
        let olad = self.dmx.is_connected();
        let rv = self
            .contacts
            .get(self.selected)
            .map(|c| (self.selected, c.address.clone()));
        let Some(link) = &mut self.cue else {
            if action == DA::Link {
                self.log(
                    LineKind::Error,
                    "cue".into(),
                    "no show loaded: start the shell with --show SHOW.toml (or show = \"...\" \
                     in the config file)",
                );
                return Some(Vec::new());
            }
            return None;
        };
        let out = match action {
            DA::Link => link.toggle(olad, rv),
            DA::Recall(n) => {
                let fade = self.dmx.console.fade_time();
                link.recall(usize::from(n), fade, self.now)
            }
            DA::Store(n) => {
                let universe = self.dmx.console.universe();
                let values = *self.dmx.console.values();
                return Some(match link.store(usize::from(n), universe, &values) {
                    Ok(text) => {
                        let path = link.path.clone();
                        let scene = link.scene_of_key(usize::from(n)).unwrap_or("?").to_owned();
                        self.log(
                            LineKind::Info,
                            "cue".into(),
                            format!("scene {scene} (F{}) takes the console's values", n + 1),
                        );
                        vec![Command::SaveShow { path, text }]
                    }
                    Err(err) => {
                        self.log(LineKind::Error, "cue".into(), format!("not stored: {err}"));
                        Vec::new()
                    }
                });
            }
            _ => return None,
        };
        Some(self.cue_out(out))
    }

    /// Wraps the DMX tab's commands and moves its log lines to the feedback pane.
    pub(super) fn dmx_out(&mut self, commands: Vec<dmx_tab::DmxCommand>) -> Vec<Command> {
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

    pub(super) fn feedback_page(&self) -> isize {
        let rows = self.areas().feedback.height.saturating_sub(2).max(1);
        isize::from(i16::try_from(rows).unwrap_or(i16::MAX))
    }

    pub(super) fn set_tab(&mut self, tab: Tab) {
        self.tab = tab;
        self.set_focus(match tab {
            Tab::RawEvent => Focus::Editor,
            Tab::Playback | Tab::Pixels | Tab::Dmx => Focus::None,
        });
    }

    pub(super) fn set_focus(&mut self, focus: Focus) {
        self.focus = focus;
        self.sync_editor_style();
    }

    /// The editor shows its cursor only while it has the keys.
    pub(super) fn sync_editor_style(&mut self) {
        let style = if self.focus == Focus::Editor {
            Style::default().add_modifier(Modifier::REVERSED)
        } else {
            Style::default()
        };
        self.editor.set_cursor_style(style);
    }

    pub(super) fn quit(&mut self) -> Vec<Command> {
        self.quitting = true;
        self.dirty = true;
        self.log(LineKind::Info, String::new(), "signing off from every RV");
        vec![Command::Quit]
    }
}
