//! Helpers shared by the benchmarks.

use rvshell::sim::server::{SimConfig, Simulator};
use tokio::runtime::Runtime;

/// The simulator on a runtime of its own (one worker), as `rvshell sim` runs
/// it, bound to a free loopback port. Keep the runtime alive with it.
pub fn simulator() -> (Runtime, Simulator) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let sim = rt
        .block_on(Simulator::start(SimConfig {
            bind: "127.0.0.1:0".parse().unwrap(),
            ..SimConfig::default()
        }))
        .unwrap();
    (rt, sim)
}
