//! OLA benchmark: this project's client against the OLA Python client and
//! `ola_streaming_client`, all against one private olad in one run
//! (ola-rpc.md §9). Run with `cargo bench --bench ola`; set
//! `OLA_BENCH_FRAMES` to change the 10,000 frames per measurement.
//!
//! olad runs on 127.0.0.1:9010 when that port is free (the only address
//! `ola_streaming_client` can reach); otherwise on a free port, and the
//! `ola_streaming_client` baseline is skipped with a note.

use rvshell::ola::bench;
use rvshell::ola::daemon::{OladOptions, OladProcess};
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
    runtime.block_on(async {
        let port = std::net::TcpListener::bind("127.0.0.1:9010")
            .ok()
            .map(|_| 9010);
        let olad = match OladProcess::start(OladOptions {
            port,
            patch_universe: Some(UNIVERSE),
            ..OladOptions::default()
        })
        .await
        {
            Ok(olad) => olad,
            Err(err) => {
                eprintln!("ola bench: {err}");
                return ExitCode::FAILURE;
            }
        };
        let addr = olad.addr().to_string();
        println!("olad {} (pid {:?}) on {addr}", olad_version(), olad.pid());
        match bench::run(&addr, UNIVERSE, frames).await {
            Ok(report) => {
                print!("{}", report.render());
                ExitCode::SUCCESS
            }
            Err(err) => {
                eprintln!("ola bench: {err}\nolad log:\n{}", olad.log_tail(20));
                ExitCode::FAILURE
            }
        }
    })
}

fn olad_version() -> String {
    std::process::Command::new("olad")
        .arg("--version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}
