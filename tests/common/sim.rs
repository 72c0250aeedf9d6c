//! `rvshell sim --port 0` as a child process, for tests that drive the real
//! binaries: its port comes from its first stdout line; it is killed on drop
//! unless stopped.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, ExitStatus, Stdio};

/// A running simulator child.
pub struct Sim {
    pub child: Child,
    pub port: u16,
}

impl Sim {
    /// Starts `rvshell sim --port 0 EXTRA...` as [`super::rvshell`] runs it:
    /// with `TMPDIR=tmp` (its port file goes there, away from other tests)
    /// and none of the developer's settings.
    pub fn start(tmp: &Path, extra: &[&str]) -> Sim {
        let mut child = super::rvshell(tmp)
            .args(["sim", "--port", "0"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .strip_prefix("listening on 127.0.0.1:")
            .unwrap_or_else(|| panic!("first line was {line:?}"))
            .parse()
            .unwrap();
        Sim { child, port }
    }

    /// SIGTERM, as a service manager stops it: it signs off its clients and
    /// writes pending dumps before it exits.
    pub fn terminate(&mut self) -> ExitStatus {
        terminate(&mut self.child)
    }
}

/// Sends SIGTERM to `child` (our own child, by its pid) and waits for it to
/// exit. Uses libc rather than `/bin/kill`, which a fresh machine may lack.
pub fn terminate(child: &mut Child) -> ExitStatus {
    stop_with(child, libc::SIGTERM)
}

/// Sends `signal` to `child` (our own child, by its pid) and waits for it
/// to exit.
pub fn stop_with(child: &mut Child, signal: libc::c_int) -> ExitStatus {
    let pid = libc::pid_t::try_from(child.id()).expect("a pid fits in pid_t");
    // SAFETY: kill(2) takes plain integers; `pid` is our unreaped child, so
    // the number cannot have been reused by another process.
    let sent = unsafe { libc::kill(pid, signal) };
    assert_eq!(
        sent,
        0,
        "kill({pid}, {signal}): {}",
        std::io::Error::last_os_error()
    );
    child.wait().unwrap()
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
