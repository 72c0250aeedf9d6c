//! RV's network protocol (rv-protocol.md): frames, codec, typed messages, and
//! the connection engine that runs as a background tokio task.

pub mod client;
pub mod codec;
pub mod discover;
pub mod events;
pub mod frame;
pub mod message;
pub mod pixels;
pub mod push;
pub mod reader;

/// RV's default network port (rv-protocol.md §1).
pub const DEFAULT_PORT: u16 = 45124;
