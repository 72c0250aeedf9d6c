//! Helpers shared by the benchmarks.

use rvshell::sim::server::{SimConfig, Simulator};
use std::time::Duration;
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

/// Median, 99th percentile and rate of a set of timings.
#[allow(dead_code)]
pub struct Stats {
    pub median: Duration,
    pub p99: Duration,
    /// Timings per second of their sum.
    pub rate: f64,
}

/// The [`Stats`] of `samples` (not empty).
#[allow(dead_code)]
pub fn stats(mut samples: Vec<Duration>) -> Stats {
    samples.sort_unstable();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    let total: Duration = samples.iter().sum();
    Stats {
        median: at(0.5),
        p99: at(0.99),
        rate: samples.len() as f64 / total.as_secs_f64(),
    }
}
