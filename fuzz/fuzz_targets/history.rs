//! cargo-fuzz target: see `fuzz/checks.rs` (`checks::history`) for what must hold.
#![no_main]

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::history(data));
