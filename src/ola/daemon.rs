//! Runs a private `olad` for tests, benchmarks and demos (ola-rpc.md §13).
//!
//! [`OladProcess::start`] finds `olad` on `PATH` (it installs nothing), makes
//! a fresh config directory in which every plugin except Dummy is disabled
//! (so nothing is sent on the network), picks a free loopback port and runs
//!
//! ```text
//! olad -c <dir> --no-http --no-register-with-dns-sd -r <port> -l 2
//! ```
//!
//! olad refuses to run as root, so when we are root the child runs as
//! `nobody:nogroup` through `setpriv`. olad's output goes to `olad.log` in the
//! config directory. The daemon is ready once a TCP connect to its port
//! succeeds. It is stopped by its own PID (SIGTERM, then SIGKILL if it does
//! not exit), never by name, on [`OladProcess::stop`] and on drop; the
//! config directory is removed on drop.
//!
//! With [`OladOptions::patch_universe`] the Dummy device's output port
//! (device alias 1, port 0) is patched to that universe, so `UpdateDmxData`
//! and `GetDmx` work on it straight away.

use crate::ola::client::{ClientConfig, OlaClient, OlaError, PortRef};
use std::fs;
use std::io::{Read, Seek, SeekFrom};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// How long olad gets to exit after SIGTERM before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// Sends SIGTERM to our child, by its PID.
fn terminate(child: &Child) {
    if let Ok(pid) = libc::pid_t::try_from(child.id()) {
        // SAFETY: kill(2) on the PID of a child we spawned and have not
        // reaped yet, so the PID cannot belong to another process.
        unsafe {
            libc::kill(pid, libc::SIGTERM);
        }
    }
}

/// Stops our child: SIGTERM (by PID), up to `grace` to exit, then SIGKILL;
/// reaps it and returns how it exited. Blocks the calling thread.
fn stop_child(mut child: Child, grace: Duration) -> Option<ExitStatus> {
    terminate(&child);
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let _ = child.kill();
    child.wait().ok()
}

/// Plugins disabled in a private olad: every one except Dummy (ola-rpc.md §13).
pub const DISABLED_PLUGINS: &[&str] = &[
    "artnet",
    "dmx4linux",
    "e131",
    "espnet",
    "ftdidmx",
    "gpio",
    "karate",
    "kinet",
    "milinst",
    "opendmx",
    "openpixelcontrol",
    "osc",
    "pathport",
    "renard",
    "sandnet",
    "shownet",
    "spi",
    "stageprofi",
    "uartdmx",
    "usbdmx",
    "usbserial",
    "nanoleaf",
    "spidmx",
];

/// The Dummy device's output port, as olad numbers it.
pub const DUMMY_PORT: PortRef = PortRef {
    device_alias: 1,
    port_id: 0,
    is_output: true,
};

/// Why a private olad could not be started.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// `olad` is not on `PATH`.
    #[error(
        "olad is not installed (not found on PATH); install OLA first, e.g. `apt-get install ola` on Debian or Ubuntu"
    )]
    NotFound,
    /// The config directory could not be prepared.
    #[error("could not prepare olad's config directory {path}: {source}")]
    Setup {
        /// The directory.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// The process could not be spawned.
    #[error("could not run {program}: {source}")]
    Spawn {
        /// The program run (`olad` or `setpriv`).
        program: String,
        /// What failed.
        source: std::io::Error,
    },
    /// olad exited before it accepted connections.
    #[error("olad exited during startup ({status}); the end of its log:\n{log}")]
    Exited {
        /// Its exit status.
        status: String,
        /// The last lines of its log.
        log: String,
    },
    /// olad did not accept connections in time.
    #[error(
        "olad did not accept connections on {addr} within {timeout:?}; the end of its log:\n{log}"
    )]
    NotReady {
        /// The address polled.
        addr: SocketAddr,
        /// How long we waited.
        timeout: Duration,
        /// The last lines of its log.
        log: String,
    },
    /// Patching the Dummy port failed.
    #[error("could not patch olad's Dummy port to universe {universe}: {source}")]
    Patch {
        /// The universe.
        universe: u32,
        /// What olad said.
        source: OlaError,
    },
}

/// How to start a private olad.
#[derive(Debug, Clone)]
pub struct OladOptions {
    /// RPC port; `None` picks a free one.
    pub port: Option<u16>,
    /// Patch the Dummy output port to this universe once olad is up.
    pub patch_universe: Option<u32>,
    /// olad's `-l` log level (2 = warnings; 3 logs every DMX frame).
    pub log_level: u8,
    /// How long to wait for olad to accept connections.
    pub startup_timeout: Duration,
}

impl Default for OladOptions {
    fn default() -> Self {
        Self {
            port: None,
            patch_universe: None,
            log_level: 2,
            startup_timeout: Duration::from_secs(10),
        }
    }
}

/// A running private olad. Stopped (by PID) and its directory removed on drop.
#[derive(Debug)]
pub struct OladProcess {
    child: Option<Child>,
    /// The olad executable, as [`find_olad`] found it.
    program: PathBuf,
    dir: PathBuf,
    port: u16,
    options: OladOptions,
}

/// Finds `olad` on `PATH`.
pub fn find_olad() -> Result<PathBuf, DaemonError> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    find_in(&path, "olad").ok_or(DaemonError::NotFound)
}

/// Finds an executable `name` in a `PATH`-style list of directories.
fn find_in(path: &std::ffi::OsStr, name: &str) -> Option<PathBuf> {
    std::env::split_paths(path)
        .map(|dir| dir.join(name))
        .find(|candidate| {
            fs::metadata(candidate)
                .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
                .unwrap_or(false)
        })
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Looks up a numeric id in an /etc/passwd- or /etc/group-style file.
fn lookup_id(file: &str, name: &str) -> Option<u32> {
    let text = fs::read_to_string(file).ok()?;
    text.lines().find_map(|line| {
        let mut fields = line.split(':');
        (fields.next()? == name).then_some(())?;
        fields.nth(1)?.parse().ok()
    })
}

fn free_port() -> std::io::Result<u16> {
    let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?.port())
}

fn prepare_dir() -> Result<PathBuf, DaemonError> {
    let dir = std::env::temp_dir().join(format!(
        "rvshell-olad-{}-{:016x}",
        std::process::id(),
        fastrand::u64(..)
    ));
    let setup = |source| DaemonError::Setup {
        path: dir.clone(),
        source,
    };
    fs::create_dir(&dir).map_err(setup)?;
    let mut files = vec![("ola-dummy.conf".to_owned(), "enabled = true\n")];
    for plugin in DISABLED_PLUGINS {
        files.push((format!("ola-{plugin}.conf"), "enabled = false\n"));
    }
    for (name, body) in &files {
        fs::write(dir.join(name), body).map_err(setup)?;
    }
    if is_root() {
        let uid = lookup_id("/etc/passwd", "nobody").unwrap_or(65534);
        let gid = lookup_id("/etc/group", "nogroup").unwrap_or(65534);
        std::os::unix::fs::chown(&dir, Some(uid), Some(gid)).map_err(setup)?;
        for (name, _) in &files {
            std::os::unix::fs::chown(dir.join(name), Some(uid), Some(gid)).map_err(setup)?;
        }
    }
    Ok(dir)
}

/// The inode of the socket listening on 127.0.0.1:`port` (or any address),
/// from the text of /proc/net/tcp.
fn listening_inode(proc_net_tcp: &str, port: u16) -> Option<u64> {
    let loopback = format!("0100007F:{port:04X}");
    let any = format!("00000000:{port:04X}");
    proc_net_tcp.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (local, state, inode) = (fields.get(1)?, fields.get(3)?, fields.get(9)?);
        let listening = *state == "0A" && (*local == loopback || *local == any);
        listening.then(|| inode.parse().ok()).flatten()
    })
}

fn tail(path: &Path, max_lines: usize) -> String {
    let Ok(mut file) = fs::File::open(path) else {
        return "(no log)".to_owned();
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = file.seek(SeekFrom::Start(len.saturating_sub(16 * 1024)));
    let mut text = String::new();
    let mut bytes = Vec::new();
    if file.read_to_end(&mut bytes).is_ok() {
        text = String::from_utf8_lossy(&bytes).into_owned();
    }
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(max_lines)..].join("\n")
}

impl OladProcess {
    /// Starts olad as described in the [module docs](self) and waits until
    /// it accepts connections (and, if asked, has the Dummy port patched).
    pub async fn start(options: OladOptions) -> Result<Self, DaemonError> {
        let olad = find_olad()?;
        let dir = prepare_dir()?;
        let fixed_port = options.port;
        let mut attempts = 0;
        loop {
            attempts += 1;
            let port = match fixed_port {
                Some(port) => port,
                None => match free_port() {
                    Ok(port) => port,
                    Err(source) => {
                        let _ = fs::remove_dir_all(&dir);
                        return Err(DaemonError::Setup { path: dir, source });
                    }
                },
            };
            let mut process = OladProcess {
                child: None,
                program: olad.clone(),
                dir: dir.clone(),
                port,
                options: options.clone(),
            };
            match process.launch().await {
                Ok(()) => return Ok(process),
                // A port picked by us may have been taken meanwhile: try another.
                Err(DaemonError::Exited { .. }) if fixed_port.is_none() && attempts < 3 => {
                    // Keep the directory for the next attempt.
                    process.dir = PathBuf::new();
                }
                Err(err) => return Err(err),
            }
        }
    }

    async fn launch(&mut self) -> Result<(), DaemonError> {
        let olad = self.program.as_path();
        let log_path = self.log_path();
        let setup = |source| DaemonError::Setup {
            path: self.dir.clone(),
            source,
        };
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(setup)?;
        let log_err = log.try_clone().map_err(setup)?;
        let port = self.port.to_string();
        let level = self.options.log_level.to_string();
        let dir = self.dir.to_string_lossy().into_owned();
        let olad_args = [
            "-c",
            dir.as_str(),
            "--no-http",
            "--no-register-with-dns-sd",
            "-r",
            port.as_str(),
            "-l",
            level.as_str(),
        ];
        let (program, mut command) = if is_root() {
            let mut cmd = Command::new("setpriv");
            cmd.args(["--reuid=nobody", "--regid=nogroup", "--clear-groups"])
                .arg(olad)
                .args(olad_args);
            ("setpriv", cmd)
        } else {
            let mut cmd = Command::new(olad);
            cmd.args(olad_args);
            ("olad", cmd)
        };
        command
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .env("HOME", &self.dir);
        let child = command.spawn().map_err(|source| DaemonError::Spawn {
            program: program.to_owned(),
            source,
        })?;
        self.child = Some(child);
        self.wait_ready().await?;
        if let Some(universe) = self.options.patch_universe {
            self.patch(universe).await?;
        }
        Ok(())
    }

    async fn wait_ready(&mut self) -> Result<(), DaemonError> {
        let addr = self.addr();
        let timeout = self.options.startup_timeout;
        let started = Instant::now();
        loop {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                self.child = None;
                return Err(DaemonError::Exited {
                    status: status.to_string(),
                    log: tail(&self.log_path(), 20),
                });
            }
            // Someone else may hold the port (a picked port is free only
            // when picked); then our olad exits with a bind error soon.
            if tokio::net::TcpStream::connect(addr).await.is_ok() && self.owns_port() {
                return Ok(());
            }
            if started.elapsed() > timeout {
                self.shutdown().await;
                return Err(DaemonError::NotReady {
                    addr,
                    timeout,
                    log: tail(&self.log_path(), 20),
                });
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Whether the socket listening on our port belongs to our child
    /// (Linux: its inode in /proc/net/tcp is one of the child's fds).
    /// Without /proc, assumes it does.
    fn owns_port(&self) -> bool {
        let Some(pid) = self.pid() else {
            return false;
        };
        let Ok(tcp) = fs::read_to_string("/proc/net/tcp") else {
            return true;
        };
        let Some(inode) = listening_inode(&tcp, self.port) else {
            return false;
        };
        let Ok(fds) = fs::read_dir(format!("/proc/{pid}/fd")) else {
            return true;
        };
        let wanted = format!("socket:[{inode}]");
        fds.flatten().any(|fd| {
            fs::read_link(fd.path())
                .map(|target| target.as_os_str() == wanted.as_str())
                .unwrap_or(false)
        })
    }

    async fn patch(&self, universe: u32) -> Result<(), DaemonError> {
        let patch_err = |source| DaemonError::Patch { universe, source };
        let client = OlaClient::connect_with(
            &self.addr().to_string(),
            ClientConfig {
                reconnect: false,
                ..ClientConfig::default()
            },
        )
        .await
        .map_err(patch_err)?;
        let result = client.patch(DUMMY_PORT, universe).await;
        let _ = client.close().await;
        result.map_err(patch_err)
    }

    /// olad's RPC address (`127.0.0.1:<port>`).
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, self.port))
    }

    /// olad's RPC port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The olad executable that is run (found on `PATH` by [`find_olad`]).
    pub fn program(&self) -> &Path {
        &self.program
    }

    /// olad's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The private config directory.
    pub fn config_dir(&self) -> &Path {
        &self.dir
    }

    /// The file olad logs to.
    pub fn log_path(&self) -> PathBuf {
        self.dir.join("olad.log")
    }

    /// The last `lines` lines of olad's log.
    pub fn log_tail(&self, lines: usize) -> String {
        tail(&self.log_path(), lines)
    }

    /// Whether olad is still running (false once it exited, e.g. crashed).
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Kills olad with SIGKILL (by PID) and reaps it: a crash, as far as
    /// clients can tell.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops olad with SIGTERM (by PID), waits up to 5 s, then SIGKILLs it.
    /// Blocks the calling thread meanwhile (olad normally exits at once);
    /// in async code prefer [`OladProcess::shutdown`]. Returns how olad
    /// exited (`None` if it was not running).
    pub fn stop(&mut self) -> Option<ExitStatus> {
        stop_child(self.child.take()?, STOP_GRACE)
    }

    /// Like [`OladProcess::stop`], without blocking the async runtime: the
    /// same wait runs on tokio's blocking pool (and still completes if this
    /// future is dropped).
    pub async fn shutdown(&mut self) -> Option<ExitStatus> {
        let child = self.child.take()?;
        tokio::task::spawn_blocking(move || stop_child(child, STOP_GRACE))
            .await
            .ok()
            .flatten()
    }

    /// Starts olad again on the same port with the same config directory
    /// (stopping it first if it still runs), and re-applies the patch.
    pub async fn restart(&mut self) -> Result<(), DaemonError> {
        self.shutdown().await;
        let deadline = Instant::now() + self.options.startup_timeout;
        loop {
            match self.launch().await {
                // The port may linger briefly after a kill; retry until the deadline.
                Err(DaemonError::Exited { .. }) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                other => return other,
            }
        }
    }
}

impl Drop for OladProcess {
    fn drop(&mut self) {
        let _ = self.stop();
        if !self.dir.as_os_str().is_empty() {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_olad_says_how_to_install_it() {
        assert_eq!(
            find_in(std::ffi::OsStr::new("/nonexistent:/also/not"), "olad"),
            None
        );
        let msg = DaemonError::NotFound.to_string();
        assert!(msg.contains("apt-get install ola"), "{msg}");
        // A directory entry that is not executable does not count.
        let dir = std::env::temp_dir().join(format!("rvshell-find-{}", fastrand::u64(..)));
        fs::create_dir(&dir).unwrap();
        fs::write(dir.join("olad"), "").unwrap();
        assert_eq!(find_in(dir.as_os_str(), "olad"), None);
        fs::set_permissions(dir.join("olad"), fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(find_in(dir.as_os_str(), "olad"), Some(dir.join("olad")));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn config_dir_disables_every_plugin_but_dummy() {
        let dir = prepare_dir().unwrap();
        assert_eq!(
            fs::read_to_string(dir.join("ola-dummy.conf")).unwrap(),
            "enabled = true\n"
        );
        for plugin in DISABLED_PLUGINS {
            let conf = fs::read_to_string(dir.join(format!("ola-{plugin}.conf"))).unwrap();
            assert_eq!(conf, "enabled = false\n", "{plugin}");
        }
        assert_eq!(DISABLED_PLUGINS.len(), 23);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn stopping_sends_sigterm_then_sigkill_after_the_grace_period() {
        use std::io::BufRead;
        use std::os::unix::process::ExitStatusExt;
        let child = Command::new("sleep").arg("30").spawn().unwrap();
        let status = stop_child(child, Duration::from_secs(5)).unwrap();
        assert_eq!(status.signal(), Some(libc::SIGTERM));
        // One that ignores SIGTERM (said once the trap is set).
        let mut child = Command::new("sh")
            .args(["-c", "trap '' TERM; echo ready; exec sleep 30"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line, "ready\n");
        let started = Instant::now();
        let status = stop_child(child, Duration::from_millis(300)).unwrap();
        assert_eq!(status.signal(), Some(libc::SIGKILL));
        assert!(started.elapsed() >= Duration::from_millis(300));
    }

    #[test]
    fn listening_inode_finds_the_listener() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:2332 00000000:0000 0A 00000000:00000000 00:00000000 00000000 65534        0 123456 1 0000000000000000 100 0 0 10 0
   1: 0100007F:2332 0100007F:D3A8 01 00000000:00000000 00:00000000 00000000 65534        0 777 1 0000000000000000 20 4 30 10 -1
";
        assert_eq!(listening_inode(table, 9010), Some(123456));
        assert_eq!(listening_inode(table, 9011), None);
    }

    #[test]
    fn id_lookup_reads_passwd_format() {
        let file = std::env::temp_dir().join(format!("rvshell-passwd-{}", fastrand::u64(..)));
        fs::write(
            &file,
            "root:x:0:0::/root:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n",
        )
        .unwrap();
        let path = file.to_string_lossy().into_owned();
        assert_eq!(lookup_id(&path, "nobody"), Some(65534));
        assert_eq!(lookup_id(&path, "root"), Some(0));
        assert_eq!(lookup_id(&path, "nob"), None);
        fs::remove_file(&file).unwrap();
    }
}
