//! Cue link: RV's playback drives DMX scenes with fades.
//!
//! - [`show`]: the show file (scenes, cues, failsafe), parsed and validated
//!   with every error located (`SHOW:LINE:COL: message`).
//! - [`engine`]: the pure core, `(state, event, time) -> DMX frames`, with
//!   virtual time passed in.

pub mod engine;
pub mod show;

pub use engine::{DmxOut, Engine, Fired};
pub use show::{Show, ShowError};
