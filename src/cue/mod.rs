//! Cue link: RV's playback drives DMX scenes with fades.
//!
//! - [`show`]: the show file (scenes, cues, failsafe), parsed and validated
//!   with every error located (`SHOW:LINE:COL: message`).
//! - [`engine`]: the pure core, `(state, event, time) -> DMX frames`, with
//!   virtual time passed in.
//! - [`link`]: the async runner that joins the engine to an [`RvClient`]'s
//!   event subscription and an [`OlaClient`], on clients it is given, and
//!   reports what happens on a channel ([`link::LinkEvent`]).
//!
//! Used by `rvshell cue`, and through the same [`link::Link`] by anything
//! that already holds an RV and an olad connection.
//!
//! [`RvClient`]: crate::rv::client::RvClient
//! [`OlaClient`]: crate::ola::client::OlaClient

pub mod engine;
pub mod link;
pub mod show;

pub use engine::{DmxOut, Engine, Fired};
pub use link::{Link, LinkError, LinkEvent, LinkOptions};
pub use show::{Show, ShowError};
