//! The config file: defaults < file < environment < command line, and bad
//! files rejected with the file and the key named. Runs the real binary
//! (`rvshell eval`) against an in-process simulator.

use assert_cmd::Command;
use rvshell::sim::server::{SimConfig, Simulator};
use std::path::Path;

fn rvshell(config: &Path, tmp: &Path) -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin!("rvshell"));
    for var in [
        "RVSHELL_HOST",
        "RVSHELL_PORT",
        "RVSHELL_CONTACT",
        "RVSHELL_OLAD",
        "RVSHELL_TAG",
        "RVSHELL_HISTORY_SIZE",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("RVSHELL_CONFIG", config)
        .env("TMPDIR", tmp)
        .arg("--timeout")
        .arg("5");
    cmd
}

#[test]
fn file_then_environment_then_command_line() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let sim = rt
        .block_on(Simulator::start(SimConfig::any_port()))
        .unwrap();
    let port = sim.local_addr().port();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "host = \"127.0.0.1\"\nport = {port}\ncontact = \"from-file\"\nhistory_size = 10\n"
        ),
    )
    .unwrap();

    // The file alone is enough to reach the simulator.
    rvshell(&config, dir.path())
        .args(["eval", "--unquote", r#""ok""#])
        .assert()
        .success()
        .stdout("ok\n");
    // The environment beats the file: port 1 is refused.
    rvshell(&config, dir.path())
        .env("RVSHELL_PORT", "1")
        .args(["eval", "1"])
        .assert()
        .code(2);
    // The command line beats the environment.
    rvshell(&config, dir.path())
        .env("RVSHELL_PORT", "1")
        .args(["eval", "--port", &port.to_string(), "--unquote", r#""ok""#])
        .assert()
        .success();
    rt.block_on(sim.shutdown());
}

/// RVSHELL_PORT fills in --port both before and after the subcommand; a port
/// typed at either level still beats it, and after the subcommand beats
/// before it.
#[test]
fn a_typed_port_beats_rvshell_port_before_or_after_the_subcommand() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let sim = rt
        .block_on(Simulator::start(SimConfig::any_port()))
        .unwrap();
    let port = sim.local_addr().port().to_string();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "host = \"127.0.0.1\"\nport = 1\n").unwrap();
    let ok = r#""ok""#;
    for (env, args) in [
        (
            Some("1"),
            ["--port", &port, "eval", "--unquote", ok].as_slice(),
        ),
        (
            Some("1"),
            &["--port", "1", "eval", "--port", &port, "--unquote", ok],
        ),
        (None, &["--port", &port, "eval", "--unquote", ok]),
        (
            None,
            &["--port", "1", "eval", "--port", &port, "--unquote", ok],
        ),
    ] {
        let mut cmd = rvshell(&config, dir.path());
        if let Some(env) = env {
            cmd.env("RVSHELL_PORT", env);
        }
        cmd.args(args).assert().success().stdout("ok\n");
    }
    // And a port typed after the subcommand is not overridden by one before.
    rvshell(&config, dir.path())
        .args(["--port", &port, "eval", "--port", "1", "1"])
        .assert()
        .code(2);
    rt.block_on(sim.shutdown());
}

#[test]
fn a_bad_file_names_the_file_and_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    for (text, key) in [
        ("hots = \"review-01\"\n", "hots"),
        ("port = \"forty\"\n", "port"),
        ("port = 70000\n", "port"),
        ("history_size = -3\n", "history_size"),
    ] {
        std::fs::write(&config, text).unwrap();
        let out = rvshell(&config, dir.path())
            .args(["eval", "1"])
            .assert()
            .code(2)
            .get_output()
            .stderr
            .clone();
        let err = String::from_utf8_lossy(&out);
        assert!(err.contains(&config.display().to_string()), "{text}: {err}");
        assert!(err.contains(key), "{text}: {err}");
        assert_eq!(err.lines().count(), 1, "one line: {err}");
    }
}

#[test]
fn a_bad_history_size_in_the_environment_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("missing.toml");
    let out = rvshell(&config, dir.path())
        .env("RVSHELL_HISTORY_SIZE", "lots")
        .args(["eval", "1"])
        .assert()
        .code(2)
        .get_output()
        .stderr
        .clone();
    assert!(String::from_utf8_lossy(&out).contains("RVSHELL_HISTORY_SIZE=\"lots\""));
}

#[test]
fn config_text_parses_every_key() {
    let parsed = rvshell::config::parse(
        Path::new("c.toml"),
        "host = \"h\"\nport = 1\ncontact = \"c\"\nolad = \"127.0.0.1:9\"\nhistory_size = 5\n",
    )
    .unwrap();
    assert_eq!(parsed.host.as_deref(), Some("h"));
    assert_eq!(parsed.port, Some(1));
    assert_eq!(parsed.contact.as_deref(), Some("c"));
    assert_eq!(parsed.olad.as_deref(), Some("127.0.0.1:9"));
    assert_eq!(parsed.history_size, Some(5));
}
