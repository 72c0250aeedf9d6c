//! The fuzz targets' checks (`fuzz/checks.rs`) over the saved corpus
//! (`fuzz/corpus/<target>/`) and every input that once failed
//! (`fuzz/regressions/<target>/`), on the stable toolchain: what the fuzzer
//! found stays fixed without nightly.

#[path = "../fuzz/checks.rs"]
mod checks;

use std::path::Path;

fn replay(target: &str, check: fn(&[u8])) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut count = 0;
    for dir in ["corpus", "regressions"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir).join(target)) else {
            continue;
        };
        for entry in entries.flatten() {
            let data = std::fs::read(entry.path()).unwrap();
            let result = std::panic::catch_unwind(|| check(&data));
            assert!(result.is_ok(), "{target}: {} fails", entry.path().display());
            count += 1;
        }
    }
    assert!(
        count > 0,
        "{target}: no saved inputs in fuzz/corpus or fuzz/regressions"
    );
}

#[test]
fn rv_frames() {
    replay("rv_frames", checks::rv_frames);
}

#[test]
fn tile_header() {
    replay("tile_header", checks::tile_header);
}

#[test]
fn greeting() {
    replay("greeting", checks::greeting);
}

#[test]
fn sim_mu() {
    replay("sim_mu", checks::sim_mu);
}

#[test]
fn sim_python() {
    replay("sim_python", checks::sim_python);
}

#[test]
fn ola_rpc() {
    replay("ola_rpc", checks::ola_rpc);
}

#[test]
fn config() {
    replay("config", checks::config);
}

#[test]
fn show() {
    replay("show", checks::show);
}

#[test]
fn history() {
    replay("history", checks::history);
}

#[test]
fn rv_values() {
    replay("rv_values", checks::rv_values);
}
