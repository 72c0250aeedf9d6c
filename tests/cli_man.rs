//! `rvshell man`: the roff page from the clap definitions, naming every
//! subcommand; `--dir` writes one page per command and subcommand.

mod common;

use common::rvshell;

const SUBCOMMANDS: &[&str] = &[
    "eval",
    "event",
    "ping",
    "watch",
    "push",
    "sim",
    "dmx",
    "demo",
    "man",
    "completions",
];

#[test]
fn the_page_is_roff_and_names_every_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    let out = rvshell(dir.path()).arg("man").output().unwrap();
    assert!(out.status.success());
    let page = String::from_utf8(out.stdout).unwrap();
    assert!(page.contains(".TH rvshell 1"), "{}", &page[..300]);
    for sub in SUBCOMMANDS {
        assert!(page.contains(&format!("rvshell\\-{sub}(1)")), "{sub}");
    }
    // The options of the shell itself, as --help lists them.
    for option in ["\\-\\-host", "\\-\\-connect", "\\-\\-olad"] {
        assert!(page.contains(option), "{option}");
    }
}

#[test]
fn dir_writes_one_page_per_command() {
    let dir = tempfile::tempdir().unwrap();
    let pages = dir.path().join("man1");
    let out = rvshell(dir.path())
        .args(["man", "--dir"])
        .arg(&pages)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    for name in [
        "rvshell",
        "rvshell-eval",
        "rvshell-watch",
        "rvshell-dmx",
        "rvshell-dmx-set",
        "rvshell-dmx-monitor",
    ] {
        let page = std::fs::read_to_string(pages.join(format!("{name}.1")))
            .unwrap_or_else(|err| panic!("{name}.1: {err}"));
        assert!(
            page.contains(&format!(".TH {name} 1")),
            "{name}: {}",
            &page[..200]
        );
    }
    let eval = std::fs::read_to_string(pages.join("rvshell-eval.1")).unwrap();
    assert!(eval.contains("\\-\\-json") && eval.contains("\\-\\-port"));
    assert!(!pages.join("rvshell-help.1").exists());
}
