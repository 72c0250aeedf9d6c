//! The mouse (tabs, buttons, fields, the feedback pane's wheel) and
//! bracketed paste.

use super::*;

impl App {
    pub(super) fn on_mouse(&mut self, mouse: MouseEvent) -> Vec<Command> {
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

    pub(super) fn click(&mut self, button: Button) -> Vec<Command> {
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

    pub(super) fn on_paste(&mut self, text: &str) {
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
