//! The app's input events as the shell's tests send them.
#![allow(dead_code)]

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use rvshell::app::dmx_tab::DmxEvent;
use rvshell::app::{AppEvent, NetEvent};

/// A key pressed with no modifier.
pub fn key(code: KeyCode) -> AppEvent {
    AppEvent::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

/// A character typed.
pub fn ch(c: char) -> AppEvent {
    key(KeyCode::Char(c))
}

/// An event from the OLA-DMX tab's olad connection.
pub fn dmx(event: DmxEvent) -> AppEvent {
    AppEvent::Net(NetEvent::Dmx(event))
}
