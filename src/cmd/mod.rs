//! Thin entry points of the commands: each takes its parsed arguments,
//! calls into a room ([`crate::rv`], [`crate::ola`], [`crate::sim`],
//! [`crate::shell`]) and turns the outcome into output and an exit code.
//!
//! Exit codes: 0 success, 1 the peer answered with an error (an `ERROR:`
//! RETURN, a failed olad request), 2 we could not talk to the peer at all
//! (refused, timed out, bad arguments).

pub mod cue;
pub mod dmx;
pub mod man;
pub mod push;
pub mod rv;
pub mod shell;
pub mod sim;
pub mod watch;
