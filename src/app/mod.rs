//! Application state: pure, no I/O, no terminal.

pub mod dmx_console;
