//! `rvshell sim --port 0` as a child process, for tests that drive the real
//! binaries: its port comes from its first stdout line; it is killed on drop
//! unless stopped.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};

/// A running simulator child.
pub struct Sim {
    pub child: Child,
    pub port: u16,
}

impl Sim {
    /// Starts `rvshell sim --port 0 EXTRA...` with `TMPDIR=tmp` (its port
    /// file goes there, away from other tests).
    pub fn start(tmp: &Path, extra: &[&str]) -> Sim {
        let mut child = Command::new(env!("CARGO_BIN_EXE_rvshell"))
            .args(["sim", "--port", "0"])
            .args(extra)
            .env("TMPDIR", tmp)
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
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        self.child.wait().unwrap()
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
