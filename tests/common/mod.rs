//! Helpers shared by the integration tests.

pub mod ola;
pub mod sim;
pub mod tmux;
