//! Helpers shared by the benchmarks.

use rvshell::sim::server::{SimConfig, Simulator};
use std::time::Duration;

/// The thread a simulator runs on; dropping it stops the thread's runtime.
pub struct SimThread {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for SimThread {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The simulator as `rvshell sim` runs it: on a single-threaded runtime of
/// its own thread, bound to a free loopback port. Keep the thread alive
/// with it. With `cpu`, the thread runs only on that CPU; without, on the
/// CPUs of the calling thread.
#[allow(dead_code)] // each bench uses what it needs
pub fn simulator_on(cpu: Option<usize>) -> (SimThread, Simulator) {
    let (thread, sim, _) = simulator_with_handle(cpu);
    (thread, sim)
}

/// [`simulator_on`], plus a handle on the simulator's runtime, to run code
/// on its thread (e.g. to time something from the simulator's side).
#[allow(dead_code)]
pub fn simulator_with_handle(cpu: Option<usize>) -> (SimThread, Simulator, tokio::runtime::Handle) {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (started, sim) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        if cpu.is_some() {
            pin(cpu);
        }
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let sim = Simulator::start(SimConfig::any_port()).await.unwrap();
            started
                .send((sim, tokio::runtime::Handle::current()))
                .unwrap();
            let _ = stopped.await;
        });
    });
    let (sim, handle) = sim.recv().unwrap();
    let guard = SimThread {
        stop: Some(stop),
        thread: Some(thread),
    };
    (guard, sim, handle)
}

/// [`simulator_on`] any CPU.
#[allow(dead_code)]
pub fn simulator() -> (SimThread, Simulator) {
    simulator_on(None)
}

/// Restricts the calling thread to one CPU, or with `None` lets it run on
/// every CPU again (best effort: ignored where the CPU does not exist).
/// Threads it creates afterwards start with the same CPUs.
#[allow(dead_code)]
pub fn pin(cpu: Option<usize>) {
    // Not `available_parallelism`: it counts only the CPUs this thread may
    // use, which after a pin is one.
    // SAFETY: sysconf only reads a system setting.
    let online = usize::try_from(unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) }).unwrap_or(1);
    let cpus = match cpu {
        Some(cpu) => cpu..cpu + 1,
        None => 0..online.max(1),
    };
    // SAFETY: a zeroed cpu_set_t is a valid empty set; CPU_SET and
    // sched_setaffinity only read and write that local set.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        for cpu in cpus {
            libc::CPU_SET(cpu, &mut set);
        }
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
