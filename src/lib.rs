//! rvshell: remote control for RV (OpenRV) over its network protocol, and DMX
//! output through OLA's `olad`.
//!
//! # Layout
//!
//! - [`rv`]: RV's wire protocol (frames, codec, typed messages) and the
//!   connection engine that runs as a background tokio task.
//! - [`ola`]: OLA's protobuf RPC protocol and an async olad client.
//! - [`sim`]: a headless server that behaves like RV on the wire.
//! - [`cli`] and [`cmd`]: the command line and the one-shot subcommands;
//!   [`config`]: the optional config file.
//! - [`app`]: the interactive shell's state, `App::update(event) -> commands`
//!   (no I/O); [`ui`]: drawing it; [`tui`]: the terminal itself. The runner
//!   that joins them to the network is `cmd::tui`.
//!
//! The protocol modules never depend on the terminal UI; they can be used as a
//! library on their own.

pub mod app;
pub mod bench;
pub mod cli;
pub mod cmd;
pub mod config;
pub mod logging;
pub mod ola;
pub mod options;
pub mod rv;
pub mod shell;
pub mod sim;
pub mod ui;
