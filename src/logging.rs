//! Logging set-up: `tracing` to a file when asked (the terminal belongs to the
//! shell), otherwise warnings and errors to stderr, except in the interactive
//! shell, where a line on stderr would land in the middle of the screen: there
//! logs go nowhere unless `--log-file` is given (the feedback pane shows what
//! the user needs).

use crate::options::LogArgs;
use anyhow::Context;
use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber. Keep the returned guard alive until exit so
/// buffered lines reach the file. `tui`: the interactive shell owns the
/// terminal, so without a log file nothing is written.
pub fn init(args: &LogArgs, tui: bool) -> anyhow::Result<Option<WorkerGuard>> {
    let filter = match &args.log_level {
        Some(level) => {
            EnvFilter::try_new(level).with_context(|| format!("bad --log-level {level:?}"))?
        }
        None => EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")),
    };
    match &args.log_file {
        Some(path) => {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| format!("cannot open log file {}", path.display()))?;
            let (writer, guard) = tracing_appender::non_blocking(file);
            tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_writer(writer)
                .with_ansi(false)
                .init();
            Ok(Some(guard))
        }
        None if tui => Ok(None),
        None => {
            tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_writer(std::io::stderr)
                .init();
            Ok(None)
        }
    }
}
