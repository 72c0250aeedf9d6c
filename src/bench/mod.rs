//! Measurements shared by a subcommand and by `benches/`: the same code
//! produces `rvshell dmx bench`'s report and `cargo bench --bench ola`'s.
//!
//! A room of its own so that the protocol rooms hold protocol only; it uses
//! them as any client would ([`crate::ola`]'s client and private olad).

pub mod ola;
