//! Finding running RVs from their port files, as rvpush does (rv-protocol.md §1).
//!
//! When networking starts, RV writes `<temp dir>/tweak_rv_proc/<pid>_<tag>`
//! holding its port and a newline (`45124\n`); the tag comes from
//! `-networkTag` and may be empty (`<pid>_`). The file is removed when
//! networking stops. `rvshell sim` writes the same file, so discovery finds
//! simulators too. Files of processes that no longer exist (RV crashed) are
//! skipped where the platform lets us tell.

use std::io;
use std::path::{Path, PathBuf};

/// One port file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortFile {
    /// The process id in the file name.
    pub pid: u32,
    /// The tag in the file name (may be empty).
    pub tag: String,
    /// The port in the file.
    pub port: u16,
    /// The file itself.
    pub path: PathBuf,
}

/// The directory RV writes port files to: `<temp dir>/tweak_rv_proc`.
pub fn port_dir() -> PathBuf {
    std::env::temp_dir().join("tweak_rv_proc")
}

/// Port files in `dir` with exactly this tag, in no particular order. A
/// missing directory means no RV is running: an empty list, not an error.
pub fn find_in(dir: &Path, tag: &str) -> io::Result<Vec<PortFile>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(err) => return Err(err),
    };
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some((pid, file_tag)) = name.to_str().and_then(|n| n.split_once('_')) else {
            continue;
        };
        let Ok(pid) = pid.parse::<u32>() else {
            continue;
        };
        if file_tag != tag || !process_alive(pid) {
            continue;
        }
        let path = entry.path();
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let Ok(port) = text.trim().parse::<u16>() else {
            continue;
        };
        found.push(PortFile {
            pid,
            tag: file_tag.to_owned(),
            port,
            path,
        });
    }
    Ok(found)
}

/// Which port to use and why, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortChoice {
    /// Given on the command line or in the environment.
    Explicit(u16),
    /// The one running RV with a matching tag.
    Discovered(PortFile),
    /// None or several found: RV's default.
    Default {
        /// How many matching port files there were.
        candidates: usize,
    },
}

impl PortChoice {
    /// The port to connect to.
    pub fn port(&self) -> u16 {
        match self {
            PortChoice::Explicit(port) => *port,
            PortChoice::Discovered(file) => file.port,
            PortChoice::Default { .. } => crate::rv::DEFAULT_PORT,
        }
    }
}

/// The explicit port if given; otherwise the port of the one RV whose port
/// file in `dir` has this tag; otherwise 45124.
pub fn choose_port_in(dir: &Path, explicit: Option<u16>, tag: &str) -> PortChoice {
    if let Some(port) = explicit {
        return PortChoice::Explicit(port);
    }
    let mut found = find_in(dir, tag).unwrap_or_default();
    if found.len() == 1 {
        return PortChoice::Discovered(found.remove(0));
    }
    PortChoice::Default {
        candidates: found.len(),
    }
}

/// The tags of the running RVs' port files in `dir` (each once, sorted).
pub fn tags_in(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut tags: Vec<String> = entries
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().to_str()?.to_owned();
            let (pid, tag) = name.split_once('_')?;
            let pid = pid.parse::<u32>().ok()?;
            process_alive(pid).then(|| tag.to_owned())
        })
        .collect();
    tags.sort();
    tags.dedup();
    tags
}

/// What a user should know about how the port was chosen in `dir`, when
/// discovery did not find exactly one RV: a tag nobody has (and which tags
/// there are), or several RVs with the tag. `None` when there is nothing
/// to say.
pub fn choice_note_in(dir: &Path, explicit: Option<u16>, tag: &str) -> Option<String> {
    let quoted = |t: &str| format!("{t:?}");
    match choose_port_in(dir, explicit, tag) {
        PortChoice::Explicit(_) | PortChoice::Discovered(_) => None,
        PortChoice::Default { candidates: 0 } => {
            let tags = tags_in(dir);
            if tags.is_empty() && tag.is_empty() {
                return None;
            }
            let found = if tags.is_empty() {
                format!("no RV port files in {}", dir.display())
            } else {
                let list: Vec<String> = tags.iter().map(|t| quoted(t)).collect();
                format!("running RVs have the tags {}", list.join(", "))
            };
            Some(format!(
                "no running RV has the port-file tag {} ({found}); trying port {}",
                quoted(tag),
                crate::rv::DEFAULT_PORT
            ))
        }
        PortChoice::Default { candidates } => Some(format!(
            "{candidates} running RVs have the port-file tag {}; give --port to choose one; \
             trying port {}",
            quoted(tag),
            crate::rv::DEFAULT_PORT
        )),
    }
}

/// [`choose_port_in`] over [`port_dir`].
pub fn choose_port(explicit: Option<u16>, tag: &str) -> PortChoice {
    choose_port_in(&port_dir(), explicit, tag)
}

/// A port file we wrote; removed when dropped.
#[derive(Debug)]
pub struct OwnPortFile {
    path: PathBuf,
}

impl OwnPortFile {
    /// Writes `<dir>/<our pid>_<tag>` holding `port` and a newline.
    pub fn create_in(dir: &Path, port: u16, tag: &str) -> io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(format!("{}_{tag}", std::process::id()));
        std::fs::write(&path, format!("{port}\n"))?;
        Ok(Self { path })
    }

    /// [`OwnPortFile::create_in`] in [`port_dir`].
    pub fn create(port: u16, tag: &str) -> io::Result<Self> {
        Self::create_in(&port_dir(), port, tag)
    }

    /// Where the file is.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for OwnPortFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(target_os = "linux")]
fn process_alive(pid: u32) -> bool {
    Path::new("/proc").join(pid.to_string()).exists()
}

#[cfg(not(target_os = "linux"))]
fn process_alive(_pid: u32) -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_live_files_by_exact_tag() {
        let dir = tempfile::tempdir().unwrap();
        let me = std::process::id();
        std::fs::write(dir.path().join(format!("{me}_")), "45125\n").unwrap();
        std::fs::write(dir.path().join(format!("{me}_show_a")), "45200\n").unwrap();
        std::fs::write(dir.path().join(format!("{me}_bad")), "not a port\n").unwrap();
        std::fs::write(dir.path().join("notapid_x"), "1\n").unwrap();
        // A pid that cannot exist on Linux (above pid_max).
        std::fs::write(dir.path().join("4294967295_"), "45999\n").unwrap();

        let untagged = find_in(dir.path(), "").unwrap();
        assert_eq!(untagged.len(), 1);
        assert_eq!(untagged[0].port, 45125);
        assert_eq!(untagged[0].pid, me);
        let tagged = find_in(dir.path(), "show_a").unwrap();
        assert_eq!(
            tagged.iter().map(|f| f.port).collect::<Vec<_>>(),
            vec![45200]
        );
        assert!(find_in(dir.path(), "bad").unwrap().is_empty());
        assert!(find_in(&dir.path().join("missing"), "").unwrap().is_empty());
    }

    #[test]
    fn the_note_names_the_tags_that_are_there() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            choice_note_in(dir.path(), None, ""),
            None,
            "nothing running"
        );
        let note = choice_note_in(dir.path(), None, "show").unwrap();
        assert!(note.contains("no RV port files in"), "{note}");
        let _a = OwnPortFile::create_in(dir.path(), 45300, "show_a").unwrap();
        std::fs::write(dir.path().join("1_"), "45301\n").unwrap();
        let note = choice_note_in(dir.path(), None, "show_b").unwrap();
        assert!(
            note.starts_with(r#"no running RV has the port-file tag "show_b" (running RVs have the tags "", "show_a")"#),
            "{note}"
        );
        assert_eq!(choice_note_in(dir.path(), None, "show_a"), None);
        assert_eq!(choice_note_in(dir.path(), Some(5), "show_b"), None);
        std::fs::write(dir.path().join("1_show_a"), "45302\n").unwrap();
        let note = choice_note_in(dir.path(), None, "show_a").unwrap();
        assert!(
            note.starts_with("2 running RVs have the port-file tag"),
            "{note}"
        );
    }

    #[test]
    fn chooses_explicit_then_single_discovered_then_default() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(choose_port_in(dir.path(), Some(7), "").port(), 7);
        assert_eq!(
            choose_port_in(dir.path(), None, ""),
            PortChoice::Default { candidates: 0 }
        );
        let file = OwnPortFile::create_in(dir.path(), 45300, "t").unwrap();
        assert_eq!(std::fs::read_to_string(file.path()).unwrap(), "45300\n");
        assert_eq!(choose_port_in(dir.path(), None, "t").port(), 45300);
        assert_eq!(choose_port_in(dir.path(), None, "other").port(), 45124);
        // A second live file with the same tag makes the choice ambiguous.
        std::fs::write(dir.path().join("1_t"), "45301\n").unwrap();
        assert_eq!(
            choose_port_in(dir.path(), None, "t"),
            PortChoice::Default { candidates: 2 }
        );
        let path = file.path().to_owned();
        drop(file);
        assert!(!path.exists());
    }
}
