//! Helpers shared by the integration tests.

pub mod events;
pub mod fake_rv;
pub mod ola;
pub mod proxy;
pub mod sim;
pub mod tmux;

use std::path::Path;
use std::process::Command;

/// Every environment variable rvshell reads for its defaults, plus RUST_LOG
/// (a developer's filter would add lines to stderr).
pub const RVSHELL_ENV: [&str; 9] = [
    "RVSHELL_HOST",
    "RVSHELL_PORT",
    "RVSHELL_CONTACT",
    "RVSHELL_TAG",
    "RVSHELL_OLAD",
    "RVSHELL_HISTORY_SIZE",
    "RVSHELL_DATA_DIR",
    "RVSHELL_CONFIG",
    "RUST_LOG",
];

/// The real binary, isolated from whoever runs the tests: none of the
/// developer's `RVSHELL_*` variables, no config file (`RVSHELL_CONFIG` names
/// a file that does not exist in `tmp`), and `TMPDIR=tmp`, so port-file
/// discovery sees only what the test writes there. What a test needs it
/// adds back explicitly.
#[allow(dead_code)] // each test binary uses what it needs
pub fn rvshell(tmp: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rvshell"));
    for var in RVSHELL_ENV {
        cmd.env_remove(var);
    }
    cmd.env("RVSHELL_CONFIG", tmp.join("no-config.toml"))
        .env("TMPDIR", tmp);
    cmd
}

/// The lines a child writes to `out`, as they come (without their line
/// ends), read by a thread of their own so a test can wait with a deadline
/// (`recv_timeout`). The channel closes at end of file.
#[allow(dead_code)] // each test binary uses what it needs
pub fn lines_of(out: impl std::io::Read + Send + 'static) -> std::sync::mpsc::Receiver<String> {
    use std::io::BufRead;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// A child process killed (and reaped) when the test lets go of it, even
/// when the test fails half-way: no stray `rvshell` outlives its test.
#[allow(dead_code)] // each test binary uses what it needs
pub struct KillOnDrop(pub std::process::Child);

impl std::ops::Deref for KillOnDrop {
    type Target = std::process::Child;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl std::ops::DerefMut for KillOnDrop {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
