//! `rvshell [NAME [HOST [PORT]]]` and `rvshell demo`: the arguments of the
//! interactive shell, turned into [`crate::shell::runner::Settings`].

use crate::options::{OladArgs, RvArgs, RvSessionArgs, TimeoutArgs};
use crate::rv::client::Config;
use crate::shell::runner::{self, Settings};
use anyhow::Context as _;
use clap::Args;
use std::process::ExitCode;

/// The shell's own arguments (RV's rvshell syntax, `--connect`).
#[derive(Debug, Args, Clone)]
pub struct ShellArgs {
    /// Expected RV contact name (informational; RV's GREETING gives the real one).
    #[arg(value_name = "NAME")]
    pub name: Option<String>,

    /// RV host (same as --host).
    #[arg(value_name = "HOST")]
    pub host_pos: Option<String>,

    /// RV port (same as --port; wins over --port and RVSHELL_PORT).
    #[arg(value_name = "PORT")]
    pub port_pos: Option<u16>,

    #[command(flatten)]
    pub rv: RvArgs,

    #[command(flatten)]
    pub olad: OladArgs,

    /// Connect to this RV as well (HOST:PORT); repeat for several RVs. With
    /// --connect the positionals and --host/--port are not used.
    #[arg(long, value_name = "HOST:PORT", help_heading = "RV connection")]
    pub connect: Vec<String>,

    #[command(flatten)]
    pub show: ShowArg,
}

/// The cue link's show file, for the shell and the demo.
#[derive(Debug, Args, Clone, Default)]
pub struct ShowArg {
    /// A show file (TOML, see `rvshell cue`): RV's playback fires its cues
    /// on the OLA-DMX tab's olad (L turns the link on), F1-F12 recall its
    /// scenes, Shift+F stores into it.
    #[arg(long, value_name = "SHOW")]
    pub show: Option<std::path::PathBuf>,
}

/// Arguments of `rvshell demo`.
#[derive(Debug, Args, Clone)]
pub struct DemoArgs {
    #[command(flatten)]
    pub session: RvSessionArgs,

    #[command(flatten)]
    pub timeout: TimeoutArgs,

    /// olad's RPC address, used when no private olad can be started.
    #[command(flatten)]
    pub olad: OladArgs,

    #[command(flatten)]
    pub show: ShowArg,
}

/// `rvshell [NAME [HOST [PORT]]] [--connect HOST:PORT ...]`.
pub fn run(args: &ShellArgs, history_size: Option<usize>) -> ExitCode {
    let settings = match configs(args) {
        Ok(rvs) => Settings {
            rvs,
            notes: args.rv.port_note().into_iter().collect(),
            expected: args.name.clone(),
            olad: args.olad.olad.clone(),
            olad_timeout: args.rv.timeout.timeout,
            history_size,
            show: args.show.show.clone(),
        },
        Err(err) => return fail(err),
    };
    finish(runner::run(settings))
}

/// `rvshell demo`.
pub fn demo(args: &DemoArgs, history_size: Option<usize>) -> ExitCode {
    let mut template = Config::new("127.0.0.1", 0);
    args.session.apply(&mut template);
    template.request_timeout = args.timeout.timeout;
    template.handshake_timeout = args.timeout.timeout;
    finish(runner::demo(Settings {
        rvs: vec![template],
        notes: Vec::new(),
        expected: None,
        olad: args.olad.olad.clone(),
        olad_timeout: args.timeout.timeout,
        history_size,
        show: args.show.show.clone(),
    }))
}

fn finish(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => fail(err),
    }
}

fn fail(err: anyhow::Error) -> ExitCode {
    eprintln!("rvshell: {err:#}");
    ExitCode::from(2)
}

/// The connection settings the command line asks for: each `--connect`, or
/// else the one RV of the positionals and `--host/--port/--tag`.
fn configs(args: &ShellArgs) -> anyhow::Result<Vec<Config>> {
    if !args.connect.is_empty() {
        return args
            .connect
            .iter()
            .map(|spec| {
                let (host, port) = parse_host_port(spec)?;
                let mut rv = args.rv.clone();
                rv.host = host;
                rv.port.port = Some(port);
                Ok(rv.client_config())
            })
            .collect();
    }
    let mut rv = args.rv.clone();
    if let Some(host) = &args.host_pos {
        rv.host = host.clone();
    }
    if let Some(port) = args.port_pos {
        rv.port.port = Some(port);
    }
    Ok(vec![rv.client_config()])
}

/// `HOST:PORT` or `[V6]:PORT`.
pub fn parse_host_port(spec: &str) -> anyhow::Result<(String, u16)> {
    let (host, port) = spec
        .rsplit_once(':')
        .with_context(|| format!("--connect {spec:?}: expected HOST:PORT, e.g. localhost:45124"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    anyhow::ensure!(!host.is_empty(), "--connect {spec:?}: the host is empty");
    let port = port
        .parse()
        .with_context(|| format!("--connect {spec:?}: {port:?} is not a port number"))?;
    Ok((host.to_owned(), port))
}
