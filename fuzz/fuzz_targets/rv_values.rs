//! cargo-fuzz target: see `fuzz/checks.rs` (`checks::rv_values`) for what must hold.
#![no_main]

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::rv_values(data));
