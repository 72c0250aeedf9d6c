//! Helpers shared by the benchmarks.

use rvshell::sim::server::{SimConfig, Simulator};
use tokio::runtime::Runtime;

/// The simulator on a runtime of its own (one worker), as `rvshell sim` runs
/// it, bound to a free loopback port. Keep the runtime alive with it. With
/// `cpu`, its threads run only on that CPU.
#[allow(dead_code)] // each bench uses what it needs
pub fn simulator_on(cpu: Option<usize>) -> (Runtime, Simulator) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .on_thread_start(move || {
            if let Some(cpu) = cpu {
                pin_to(cpu);
            }
        })
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

/// [`simulator_on`] any CPU.
#[allow(dead_code)]
pub fn simulator() -> (Runtime, Simulator) {
    simulator_on(None)
}

/// Restricts the calling thread to one CPU (best effort: ignored where the
/// CPU does not exist).
#[allow(dead_code)]
pub fn pin_to(cpu: usize) {
    // SAFETY: a zeroed cpu_set_t is a valid empty set; CPU_SET and
    // sched_setaffinity only read and write that local set.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}
