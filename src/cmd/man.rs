//! `rvshell man [--dir DIR]`: the roff man pages, generated from the same
//! clap definitions as `--help`, so they cannot drift from it.
//!
//! Without `--dir`, prints `rvshell(1)` (`man -l <(rvshell man)` shows it).
//! With it, writes one page per command and subcommand: `rvshell.1`,
//! `rvshell-eval.1`, `rvshell-dmx-set.1`, ...

use clap::Args;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Arguments of `rvshell man`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write one page per command into DIR (created if missing) instead of
    /// printing rvshell(1).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// Runs `rvshell man` on the command line's definition `root`.
pub fn run(args: ManArgs, root: clap::Command) -> ExitCode {
    let root = root.name("rvshell");
    let result = match &args.dir {
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(root).render(&mut page).map(|()| {
                super::out(&String::from_utf8_lossy(&page));
            })
        }
        Some(dir) => write_pages(root, dir).map(|count| {
            eprintln!("rvshell man: wrote {count} pages to {}", dir.display());
        }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("rvshell man: {err}");
            ExitCode::from(2)
        }
    }
}

/// Writes the page of `root` and of every subcommand below it (not `help`).
/// Returns how many pages were written.
pub fn write_pages(root: clap::Command, dir: &Path) -> std::io::Result<usize> {
    std::fs::create_dir_all(dir)?;
    let mut root = root;
    root.build();
    let mut count = 0;
    write_tree(&root, "rvshell", dir, &mut count)?;
    Ok(count)
}

fn write_tree(
    cmd: &clap::Command,
    name: &str,
    dir: &Path,
    count: &mut usize,
) -> std::io::Result<()> {
    let page = cmd.clone().name(name.to_owned());
    let mut file = std::fs::File::create(dir.join(format!("{name}.1")))?;
    clap_mangen::Man::new(page).render(&mut file)?;
    *count += 1;
    for sub in cmd.get_subcommands() {
        if sub.get_name() == "help" {
            continue;
        }
        write_tree(sub, &format!("{name}-{}", sub.get_name()), dir, count)?;
    }
    Ok(())
}
