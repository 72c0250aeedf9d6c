//! The interactive shell's runtime: the only room where the shell awaits.
//!
//! [`crate::app`] holds the shell's state and decides (`App::update(event)
//! -> commands`, no I/O); [`crate::ui`] draws it. This room joins them to the
//! world: [`terminal`] owns the terminal, [`runner`] is the main loop (one
//! channel in, one `App`, redraw when something changed), and the per-tab
//! executors carry out the app's commands on the network tasks: RV requests
//! in [`runner`], image pushes in [`pixels`], olad in [`dmx`].

pub mod dmx;
pub mod pixels;
pub mod runner;
pub mod terminal;
