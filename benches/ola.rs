//! OLA benchmark: this project's client next to a raw-socket floor, the OLA
//! Python client and `ola_streaming_client`, all against one private olad in
//! one run (ola-rpc.md §9). Run with `cargo bench --bench ola`; set
//! `OLA_BENCH_FRAMES` to change the 10,000 frames per measurement.
//!
//! olad runs on 127.0.0.1:9010 when that port is free (the only address
//! `ola_streaming_client` can reach); otherwise on a free port, and the
//! `ola_streaming_client` baseline is skipped with a note.

use rvshell::bench::ola as bench;
use std::process::ExitCode;

const UNIVERSE: u32 = 1;

fn main() -> ExitCode {
    let frames = std::env::var("OLA_BENCH_FRAMES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("ola bench: cannot start tokio: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(bench::run_private(UNIVERSE, frames)) {
        Ok((about, report)) => {
            println!("{about}");
            print!("{}", report.render());
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("ola bench: {err}");
            ExitCode::FAILURE
        }
    }
}
