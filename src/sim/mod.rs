//! A headless server that behaves like RV on the wire, for demos and tests.

pub mod canvas;
pub mod mu;
pub mod server;
