//! rvshell: remote control for RV (OpenRV) over its network protocol, and DMX
//! output through OLA's `olad`.
//!
//! # Rooms
//!
//! The map, with what each room may use, is `ARCHITECTURE.md` at the top of
//! the repository (`tests/architecture.rs` enforces it). In short:
//!
//! - Protocol rooms, usable as a library on their own: [`rv`] (RV's wire
//!   protocol and the async connection engine), [`ola`] (OLA's protobuf RPC
//!   and an async olad client); [`sim`], a server that behaves like RV on the
//!   wire; [`bench`](mod@bench), measurements shared by `rvshell dmx bench` and
//!   `benches/`; [`cue`], the show file and cue engine that lets RV's
//!   playback drive DMX scenes. None of them knows the terminal.
//! - The interactive shell: [`app`] (its state, `App::update(event) ->
//!   commands`, no I/O), [`ui`] (drawing `&App`), [`shell`] (the runtime
//!   that owns the terminal and joins `app` to the network; the only place
//!   the shell awaits).
//! - The command line: [`cli`] (assembles the subcommands and settles their
//!   options), [`options`] (the option groups each command flattens),
//!   [`config`] (the config file), [`cmd`] (thin entry points), [`logging`].

pub mod app;
pub mod bench;
pub mod cli;
pub mod clock;
pub mod cmd;
pub mod config;
pub mod cue;
pub mod logging;
pub mod ola;
pub mod options;
pub mod rv;
pub mod shell;
pub mod sim;
pub mod ui;
