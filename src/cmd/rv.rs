//! `rvshell eval`, `rvshell event`, `rvshell ping`: one request to RV, for scripts.

use crate::options::RvArgs;
use crate::rv::client::{Config, RvClient};
use crate::rv::message::{Event, MuValue, decode_mu, decode_python, unquote_mu};
use anyhow::Context;
use clap::Args;
use std::io::{Read, Write};
use std::process::ExitCode;
use std::time::Duration;

/// Arguments of `rvshell eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Evaluate Python (`remote-pyeval`) instead of Mu (`remote-eval`). A
    /// Python exception (`<class 'X'>: message`) exits 1, as a Mu `ERROR:` does.
    #[arg(long)]
    pub py: bool,
    /// Print a quoted Mu string result unquoted and unescaped.
    #[arg(long, conflicts_with = "json")]
    pub unquote: bool,
    /// Print one JSON object: {"rv", "return", "value", "error"} (see the README).
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub rv: RvArgs,
    /// The code; `-` reads it from stdin.
    pub code: String,
}

/// Arguments of `rvshell event`.
#[derive(Debug, Args)]
pub struct EventArgs {
    /// Send a RETURNEVENT and print the RETURN.
    #[arg(long = "return")]
    pub rsvp: bool,
    /// With --return: print one JSON object, as `eval --json` does.
    #[arg(long, requires = "rsvp")]
    pub json: bool,
    #[command(flatten)]
    pub rv: RvArgs,
    /// Event target (ignored by RV).
    #[arg(long, default_value = "*")]
    pub target: String,
    /// Event name, e.g. remote-eval, remote-pyexec, or your own.
    pub name: String,
    /// Event contents; `-` reads them from stdin.
    #[arg(default_value = "")]
    pub contents: String,
}

/// Arguments of `rvshell ping`.
#[derive(Debug, Args)]
pub struct PingArgs {
    /// How many round trips to measure.
    #[arg(long, short = 'c', default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    pub count: u32,
    /// Print one JSON object: {"count", "min_ms", "median_ms", "max_ms"}.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub rv: RvArgs,
}

/// The connection settings of `rv`, after saying on stderr how the port
/// was found when that needs saying (a `--tag` nobody has, several RVs).
pub fn config_for(rv: &RvArgs) -> Config {
    if let Some(note) = rv.port_note() {
        eprintln!("rvshell: {note}");
    }
    rv.client_config()
}

fn read_arg(value: String) -> anyhow::Result<String> {
    if value != "-" {
        return Ok(value);
    }
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .context("cannot read stdin")?;
    Ok(text)
}

/// Exit code 2 with one line on stderr.
fn fail(err: impl std::fmt::Display) -> ExitCode {
    eprintln!("rvshell: {err}");
    ExitCode::from(2)
}

fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

/// How a RETURN is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Output {
    /// Verbatim, or with Mu's quoting removed.
    Text { unquote: bool },
    /// One JSON object; `py`: the value is Python's `str()`, not Mu's form.
    Json { py: bool },
}

/// The JSON document of a RETURN: `rv` (`host:port`), `return` (verbatim),
/// `value` (decoded, or null), `error` (an `ERROR:` or a Python exception).
fn return_json(rv: &str, value: &str, py: bool) -> serde_json::Value {
    let decoded = if py {
        decode_python(value)
    } else {
        decode_mu(value)
    };
    let error = is_failure(value);
    let decoded = match decoded {
        _ if error => serde_json::Value::Null,
        Some(MuValue::String(text)) => text.into(),
        Some(MuValue::Int(int)) => int.into(),
        Some(MuValue::Float(float)) => float.into(),
        Some(MuValue::Bool(flag)) => flag.into(),
        None => serde_json::Value::Null,
    };
    serde_json::json!({ "rv": rv, "return": value, "value": decoded, "error": error })
}

/// Mu's `ERROR:` lines, or the `<class 'X'>: message` that `remote-pyeval`
/// returns for a Python exception (rv-protocol.md §4).
fn is_failure(value: &str) -> bool {
    value.starts_with("ERROR:") || is_python_exception(value)
}

/// Prints a RETURN payload verbatim (plus a newline if it lacks one), or
/// as JSON; exit 1 for a failure ([`is_failure`]).
fn print_return(rv: &str, value: &str, output: Output) -> ExitCode {
    let text = match output {
        Output::Text { unquote: true } => unquote_mu(value),
        Output::Text { unquote: false } => value.to_owned(),
        Output::Json { py } => return_json(rv, value, py).to_string(),
    };
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes());
    if !text.ends_with('\n') {
        let _ = stdout.write_all(b"\n");
    }
    let _ = stdout.flush();
    if is_failure(value) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// `<class 'ZeroDivisionError'>: division by zero`, as RV's `remotePyEval`
/// answers an exception.
fn is_python_exception(value: &str) -> bool {
    value
        .strip_prefix("<class '")
        .and_then(|rest| rest.split_once("'>: "))
        .is_some_and(|(class, _)| {
            !class.is_empty()
                && class
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '_' || c == '.')
        })
}

/// Sends one event and prints the RETURN when `rsvp`.
async fn one_event(config: Config, event: Event, rsvp: bool, output: Output) -> ExitCode {
    let rv = config.address();
    let (client, _events) = match RvClient::connect(config).await {
        Ok(connected) => connected,
        Err(err) => return fail(err),
    };
    let code = if rsvp {
        match client.send_return_event(event).await {
            Ok(value) => print_return(&rv, &value, output),
            Err(err) => fail(err),
        }
    } else {
        match client.send_event(event).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => fail(err),
        }
    };
    client.close().await;
    code
}

/// `rvshell eval`.
pub fn eval(args: EvalArgs) -> ExitCode {
    let code = match read_arg(args.code) {
        Ok(code) => code,
        Err(err) => return fail(format!("{err:#}")),
    };
    let config = config_for(&args.rv);
    let name = if args.py {
        "remote-pyeval"
    } else {
        "remote-eval"
    };
    match runtime() {
        Ok(rt) => rt.block_on(one_event(
            config,
            Event::new(name, code),
            true,
            if args.json {
                Output::Json { py: args.py }
            } else {
                Output::Text {
                    unquote: args.unquote,
                }
            },
        )),
        Err(err) => fail(err),
    }
}

/// `rvshell event`.
pub fn event(args: EventArgs) -> ExitCode {
    let contents = match read_arg(args.contents) {
        Ok(contents) => contents,
        Err(err) => return fail(format!("{err:#}")),
    };
    let config = config_for(&args.rv);
    let event = Event {
        name: args.name,
        target: args.target,
        contents,
    };
    if let Err(err) = event.validate() {
        return fail(err);
    }
    match runtime() {
        Ok(rt) => {
            let py = event.name == "remote-pyeval";
            let output = if args.json {
                Output::Json { py }
            } else {
                Output::Text { unquote: false }
            };
            rt.block_on(one_event(config, event, args.rsvp, output))
        }
        Err(err) => fail(err),
    }
}

/// `rvshell ping`.
pub fn ping(args: PingArgs) -> ExitCode {
    let config = config_for(&args.rv);
    let address = config.address();
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(err) => return fail(err),
    };
    rt.block_on(async move {
        let (client, _events) = match RvClient::connect(config).await {
            Ok(connected) => connected,
            Err(err) => return fail(err),
        };
        let peer = client.peer().unwrap_or_default();
        let mut times = Vec::with_capacity(args.count as usize);
        for _ in 0..args.count {
            match client.ping().await {
                Ok(rtt) => times.push(rtt),
                Err(err) => {
                    client.close().await;
                    return fail(err);
                }
            }
        }
        client.close().await;
        times.sort_unstable();
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        if args.json {
            let doc = serde_json::json!({
                "count": times.len(),
                "min_ms": ms(times[0]),
                "median_ms": ms(times[times.len() / 2]),
                "max_ms": ms(times[times.len() - 1]),
            });
            outln!("{doc}");
            return ExitCode::SUCCESS;
        }
        outln!(
            "{} PING/PONG round trips to {peer} at {address}: min {:.3} ms, median {:.3} ms, max {:.3} ms",
            times.len(),
            ms(times[0]),
            ms(times[times.len() / 2]),
            ms(times[times.len() - 1]),
        );
        ExitCode::SUCCESS
    })
}
