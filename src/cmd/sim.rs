//! `rvshell sim`: run the RV simulator in the foreground.

use crate::options::{PortArgs, Seconds};
use crate::rv::discover::OwnPortFile;
use crate::sim::server::{SimConfig, Simulator};
use clap::Args;
use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Arguments of `rvshell sim` (`--port 0` picks a free port).
#[derive(Debug, Args)]
#[command(mut_arg("rv_port", |arg| arg.help(
    "Port to listen on, 0 for any free one (printed first: `listening on ADDR:PORT`) \
     [default: the first free of 45124..=45134, as RV does]"
)))]
#[command(mut_arg("tag", |arg| arg.help(
    "The network tag of the port file the simulator writes (RV's -networkTag), \
     so that clients with the same --tag find it"
)))]
pub struct SimArgs {
    #[command(flatten)]
    pub port: PortArgs,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: IpAddr,
    /// The name the simulator greets with (RV's -networkUser).
    #[arg(long, default_value = "rvsim")]
    pub name: String,
    /// Seconds of silence before the simulator pings a client (RV: 15).
    #[arg(long, value_name = "SECS", default_value = "15", value_parser = Seconds)]
    pub ping_interval: Duration,
    /// Seconds of silence after which a client is dropped (RV: 600).
    #[arg(long, value_name = "SECS", default_value = "600", value_parser = Seconds)]
    pub pong_timeout: Duration,
    /// Do not write a port file in `<temp dir>/tweak_rv_proc`.
    #[arg(long)]
    pub no_port_file: bool,
    /// Write each completed image of a pushed source into DIR (created if
    /// missing) as MEDIA.VIEW.FRAME.png, or .exr for float sources,
    /// top row first; rewritten when later tiles change it and on redraw().
    #[arg(long, value_name = "DIR")]
    pub dump: Option<PathBuf>,
}

/// Runs the simulator until Ctrl+C, SIGTERM or SIGHUP.
pub fn run(args: SimArgs) -> ExitCode {
    let port = args.port.port;
    let config = SimConfig {
        bind: SocketAddr::new(args.bind, 0),
        name: args.name,
        ping_interval: args.ping_interval,
        pong_timeout: args.pong_timeout,
        dump: args.dump.clone(),
        ..SimConfig::default()
    };
    if let Some(dir) = &args.dump
        && let Err(err) = std::fs::create_dir_all(dir)
    {
        eprintln!(
            "rvshell sim: cannot create dump directory {}: {err}; choose a writable directory with --dump",
            dir.display()
        );
        return ExitCode::from(2);
    }
    // One thread serves every connection, as RV's event loop does; dump
    // files are written on the runtime's blocking threads.
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("rvshell sim: {err}");
            return ExitCode::from(2);
        }
    };
    rt.block_on(async move {
        let sim = match start(config, port).await {
            Ok(sim) => sim,
            Err(err) => {
                eprintln!("rvshell sim: {err}");
                return ExitCode::from(2);
            }
        };
        let stop = StopSignal::install();
        let addr = sim.local_addr();
        let _port_file = if args.no_port_file {
            None
        } else {
            match OwnPortFile::create(addr.port(), &args.port.tag) {
                Ok(file) => Some(file),
                Err(err) => {
                    eprintln!("rvshell sim: cannot write port file: {err} (continuing)");
                    None
                }
            }
        };
        let mut stdout = std::io::stdout();
        let _ = writeln!(stdout, "listening on {addr}");
        if let Some(dir) = &args.dump {
            let _ = writeln!(stdout, "dumping completed images to {}", dir.display());
        }
        let _ = stdout.flush();
        stop.wait().await;
        sim.shutdown().await;
        ExitCode::SUCCESS
    })
}

/// Binds the requested port; without one, RV's default and, as RV does, the
/// next ten ports if it is taken (rv-protocol.md §1).
async fn start(config: SimConfig, port: Option<u16>) -> Result<Simulator, String> {
    let ports: Vec<u16> = match port {
        Some(port) => vec![port],
        None => (0..=10).map(|i| crate::rv::DEFAULT_PORT + i).collect(),
    };
    start_on(config, &ports).await
}

/// Binds the first of `ports` that is not in use. Only "address in use"
/// moves on to the next port: any other error (no such address, no
/// permission) would fail the same way on every port, so it ends the search.
async fn start_on(config: SimConfig, ports: &[u16]) -> Result<Simulator, String> {
    let mut last = String::new();
    for port in ports {
        let mut attempt = config.clone();
        attempt.bind.set_port(*port);
        match Simulator::start(attempt).await {
            Ok(sim) => return Ok(sim),
            Err(err) => {
                last = format!("cannot listen on {}:{port}: {err}", config.bind.ip());
                if err.kind() != std::io::ErrorKind::AddrInUse {
                    return Err(last);
                }
            }
        }
    }
    if let [first, .., end] = ports {
        last.push_str(&format!(" (tried ports {first}-{end})"));
    }
    Err(last)
}

/// SIGINT/SIGTERM/SIGHUP handlers (SIGHUP: the terminal it runs in
/// closed), installed before the simulator says it is
/// listening, so a supervisor that stops it right after the first line gets a
/// clean shutdown rather than the default action.
struct StopSignal {
    #[cfg(unix)]
    interrupt: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    terminate: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    hangup: Option<tokio::signal::unix::Signal>,
}

impl StopSignal {
    fn install() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Self {
                interrupt: signal(SignalKind::interrupt()).ok(),
                terminate: signal(SignalKind::terminate()).ok(),
                hangup: signal(SignalKind::hangup()).ok(),
            }
        }
        #[cfg(not(unix))]
        {
            Self {}
        }
    }

    async fn wait(mut self) {
        #[cfg(unix)]
        {
            async fn next(signal: &mut Option<tokio::signal::unix::Signal>) {
                match signal {
                    Some(signal) => {
                        signal.recv().await;
                    }
                    None => std::future::pending().await,
                }
            }
            tokio::select! {
                _ = next(&mut self.interrupt) => {}
                _ = next(&mut self.terminate) => {}
                _ = next(&mut self.hangup) => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_port_in_use_moves_on_to_the_next() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let taken = taken.local_addr().unwrap().port();
        let sim = start_on(SimConfig::any_port(), &[taken, 0]).await.unwrap();
        assert_ne!(sim.local_addr().port(), taken);
        sim.shutdown().await;

        let err = start_on(SimConfig::any_port(), &[taken, taken])
            .await
            .err()
            .unwrap();
        assert!(
            err.starts_with(&format!("cannot listen on 127.0.0.1:{taken}: ")),
            "{err}"
        );
        assert!(
            err.ends_with(&format!(" (tried ports {taken}-{taken})")),
            "{err}"
        );
    }

    #[tokio::test]
    async fn another_error_ends_the_search_at_the_first_port() {
        // A dump directory that cannot be created: not "address in use".
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("file");
        std::fs::write(&file, "").unwrap();
        let config = SimConfig {
            dump: Some(file.join("dumps")),
            ..SimConfig::any_port()
        };
        let err = start_on(config, &[0, 0]).await.err().unwrap();
        assert!(err.starts_with("cannot listen on 127.0.0.1:0: "), "{err}");
        assert!(!err.contains("tried ports"), "{err}");
    }
}
