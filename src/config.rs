//! The optional config file: defaults for host, port, contact name, olad
//! address and history size.
//!
//! Precedence, lowest first: built-in defaults, this file, environment
//! variables (`RVSHELL_HOST`, `RVSHELL_PORT`, `RVSHELL_CONTACT`,
//! `RVSHELL_OLAD`, `RVSHELL_HISTORY_SIZE`), the command line.
//!
//! The file is `$RVSHELL_CONFIG` if set, else `config.toml` in the user's
//! config directory (`~/.config/rvshell/` on Linux). A missing file is fine;
//! a file that does not parse, or names a key this version does not know, is
//! an error that names the file and the key.
//!
//! ```toml
//! host = "review-01"
//! port = 45124
//! contact = "dailies-left"
//! olad = "127.0.0.1:9010"
//! history_size = 1000
//! show = "/shows/screening-room.toml"
//! ```

use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The file's contents; every key is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub host: Option<String>,
    pub port: Option<u16>,
    pub contact: Option<String>,
    pub olad: Option<String>,
    pub history_size: Option<usize>,
    /// The shell's show file for the cue link (`--show`).
    pub show: Option<PathBuf>,
}

/// Why the config could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("bad config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("RVSHELL_HISTORY_SIZE={value:?} is not a number of entries")]
    Env { value: String },
}

/// Where the config file is looked for.
pub fn path() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("RVSHELL_CONFIG") {
        return Some(PathBuf::from(path));
    }
    directories::ProjectDirs::from("", "", "rvshell").map(|d| d.config_dir().join("config.toml"))
}

/// Parses a config text; `path` is only for the message.
pub fn parse(path: &Path, text: &str) -> Result<FileConfig, ConfigError> {
    toml::from_str(text).map_err(|err| {
        let mut message = err.message().trim().to_owned();
        if let Some(span) = err.span() {
            let line_no = text[..span.start.min(text.len())].matches('\n').count() + 1;
            let line = text.lines().nth(line_no - 1).unwrap_or_default();
            // Name the key of the offending line, unless the message already does.
            match line.split_once('=') {
                Some((key, _)) if !message.contains(&format!("`{}`", key.trim())) => {
                    message = format!("line {line_no}, key `{}`: {message}", key.trim());
                }
                _ => message = format!("line {line_no}: {message}"),
            }
        }
        ConfigError::Parse {
            path: path.to_owned(),
            message,
        }
    })
}

/// Loads the config file if there is one.
pub fn load() -> Result<FileConfig, ConfigError> {
    let Some(path) = path() else {
        return Ok(FileConfig::default());
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => parse(&path, &text),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(FileConfig::default()),
        Err(source) => Err(ConfigError::Read { path, source }),
    }
}

impl FileConfig {
    /// The history size: `RVSHELL_HISTORY_SIZE` if set, else the file's.
    pub fn history_size(&self) -> Result<Option<usize>, ConfigError> {
        match std::env::var("RVSHELL_HISTORY_SIZE") {
            Ok(value) => value
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| ConfigError::Env { value }),
            Err(_) => Ok(self.history_size),
        }
    }
}
