//! Drawing from state: widgets read `app` state and never touch sockets or bytes.

pub mod dmx_grid;
