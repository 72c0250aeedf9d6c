//! The real binary: `rvshell sim` in a child process, `rvshell eval|event|ping`
//! against it. Each test has its own TMPDIR, so port-file discovery is
//! isolated, and none of the developer's `RVSHELL_*` variables or config file.

use assert_cmd::Command;
use std::path::Path;
use std::time::Duration;

mod common;

/// The shared simulator child, with a TMPDIR of its own so port-file
/// discovery sees only this simulator.
struct Sim {
    child: common::sim::Sim,
    port: u16,
    tmp: tempfile::TempDir,
}

impl Sim {
    fn start(tag: &str) -> Sim {
        Self::start_with(tag, &[])
    }

    fn start_with(tag: &str, extra: &[&str]) -> Sim {
        let tmp = tempfile::tempdir().unwrap();
        let mut args = vec!["--tag", tag];
        args.extend_from_slice(extra);
        let child = common::sim::Sim::start(tmp.path(), &args);
        let port = child.port;
        Sim { child, port, tmp }
    }

    fn cmd(&self) -> Command {
        rvshell(self.tmp.path())
    }

    fn run(&self, args: &[&str]) -> std::process::Output {
        self.cmd().args(args).output().unwrap()
    }

    fn port_arg(&self) -> String {
        self.port.to_string()
    }

    /// SIGTERM, as a service manager would stop it.
    fn terminate(mut self) -> std::process::ExitStatus {
        self.child.terminate()
    }
}

/// The binary, hermetic ([`common::rvshell`]: no `RVSHELL_*` variables, no
/// config file, `TMPDIR=tmp`), with a limit that only bounds a hang.
fn rvshell(tmp: &Path) -> Command {
    let mut cmd = Command::from_std(common::rvshell(tmp));
    cmd.timeout(Duration::from_secs(30));
    cmd
}

fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn sim_help_describes_its_port_as_the_one_it_listens_on() {
    let tmp = tempfile::tempdir().unwrap();
    let out = rvshell(tmp.path())
        .args(["sim", "--help"])
        .output()
        .unwrap();
    let help = stdout(&out);
    assert!(
        help.contains("Port to listen on, 0 for any free one"),
        "{help}"
    );
    assert!(!help.contains("RV's port"), "{help}");
}

#[test]
fn eval_prints_the_frame_line_of_rvshells_play_button() {
    let sim = Sim::start("");
    let out = sim.run(&[
        "eval",
        "--port",
        &sim.port_arg(),
        r#"play();"FRAME = " + frame();"#,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let n = text
        .strip_prefix("\"FRAME = ")
        .and_then(|rest| rest.strip_suffix("\"\n"))
        .unwrap_or_else(|| panic!("unexpected output {text:?}"));
    assert!(n.parse::<i64>().is_ok(), "{text:?}");
}

#[test]
fn eval_finds_the_simulator_through_its_port_file() {
    let sim = Sim::start("cli-discovery");
    let out = sim.run(&[
        "eval",
        "--tag",
        "cli-discovery",
        "--unquote",
        r#""FRAME = " + frame()"#,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).starts_with("FRAME = "), "{}", stdout(&out));
}

/// `--tag` with no matching port file names the tags that are there.
#[test]
fn a_tag_nobody_has_names_the_tags_there_are() {
    let sim = Sim::start("show-a");
    // Discovery falls back to 45124, whatever runs there: only the note,
    // the first line on stderr, matters here.
    let out = sim.run(&["eval", "--tag", "show-b", "--timeout", "2", "frame()"]);
    let err = stderr(&out);
    let first = err.lines().next().unwrap_or_default();
    assert_eq!(
        first,
        r#"rvshell: no running RV has the port-file tag "show-b" (running RVs have the tags "show-a"); trying port 45124"#,
        "{err}"
    );
}

#[test]
fn eval_reads_code_from_stdin_and_python_with_py() {
    let sim = Sim::start("");
    let out = sim
        .cmd()
        .args(["eval", "--port", &sim.port_arg(), "-"])
        .write_stdin("setFrame(7);\nframe()")
        .output()
        .unwrap();
    assert_eq!(stdout(&out), "7\n", "{}", stderr(&out));
    let out = sim.run(&[
        "eval",
        "--py",
        "--port",
        &sim.port_arg(),
        "rv.commands.frame()",
    ]);
    assert_eq!(stdout(&out), "7\n", "{}", stderr(&out));
}

#[test]
fn an_error_return_exits_1_and_is_printed() {
    let sim = Sim::start("");
    let out = sim.run(&["eval", "--port", &sim.port_arg(), "noSuchCommand()"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).starts_with("ERROR: remote-eval: "),
        "{}",
        stdout(&out)
    );
}

#[test]
fn a_python_exception_exits_1_and_is_printed() {
    let sim = Sim::start("");
    let out = sim.run(&[
        "eval",
        "--py",
        "--port",
        &sim.port_arg(),
        "rv.commands.nosuch()",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(stdout(&out).starts_with("<class '"), "{}", stdout(&out));
    // A value that merely looks like a class is a value.
    let out = sim.run(&[
        "eval",
        "--py",
        "--port",
        &sim.port_arg(),
        "\"<class 'int'>\"",
    ]);
    assert_eq!(stdout(&out), "<class 'int'>\n");
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn event_sends_fire_and_forget_and_return_prints() {
    let sim = Sim::start("");
    let port = sim.port_arg();
    let out = sim.run(&["event", "--port", &port, "remote-eval", "setFrame(42)"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "");
    let out = sim.run(&[
        "event",
        "--return",
        "--port",
        &port,
        "remote-eval",
        "frame()",
    ]);
    assert_eq!(stdout(&out), "42\n", "{}", stderr(&out));
    let out = sim.run(&[
        "event",
        "--port",
        &port,
        "--target",
        "a b",
        "remote-eval",
        "x",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("event target \"a b\""),
        "{}",
        stderr(&out)
    );
}

#[test]
fn ping_prints_min_median_max() {
    let sim = Sim::start("");
    let out = sim.run(&["ping", "--count", "5", "--port", &sim.port_arg()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.starts_with("5 PING/PONG round trips to rvsim at "),
        "{text}"
    );
    for word in ["min ", "median ", "max "] {
        assert!(text.contains(word), "{text}");
    }
}

#[test]
fn refused_connection_exits_2_with_one_clear_line() {
    let tmp = tempfile::tempdir().unwrap();
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let out = rvshell(tmp.path())
        .args([
            "eval",
            "--host",
            "127.0.0.1",
            "--port",
            &closed.to_string(),
            "frame()",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("rvshell: cannot connect to RV at 127.0.0.1:"),
        "{err}"
    );
    assert_eq!(stdout(&out), "");
}

#[test]
fn handshake_timeout_exits_2_and_mentions_the_dialog() {
    let tmp = tempfile::tempdir().unwrap();
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port().to_string();
    let out = rvshell(tmp.path())
        .args([
            "eval",
            "--timeout",
            "0.3",
            "--host",
            "127.0.0.1",
            "--port",
            &port,
            "frame()",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("wants to connect"),
        "{}",
        stderr(&out)
    );
    drop(silent);
}

/// SIGTERM (a service manager) and SIGHUP (its terminal closed) both stop
/// the simulator cleanly, its port file removed.
#[test]
fn sim_removes_its_port_file_on_sigterm_and_sighup() {
    for signal in [libc::SIGTERM, libc::SIGHUP] {
        let mut sim = Sim::start("cleanup");
        let dir = sim.tmp.path().join("tweak_rv_proc");
        let files: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().collect();
        assert_eq!(files.len(), 1);
        let name = files[0].file_name().into_string().unwrap();
        assert!(name.ends_with("_cleanup"), "{name}");
        assert_eq!(
            std::fs::read_to_string(files[0].path()).unwrap(),
            format!("{}\n", sim.port)
        );
        let path = files[0].path();
        let status = common::sim::stop_with(&mut sim.child.child, signal);
        assert!(status.success(), "signal {signal}: {status:?}");
        assert!(!path.exists(), "signal {signal}");
    }
}

#[test]
fn completions_are_generated() {
    let tmp = tempfile::tempdir().unwrap();
    let out = rvshell(tmp.path())
        .args(["completions", "bash"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).contains("rvshell"));
}

/// Completions need no config: a broken file (or RVSHELL_HISTORY_SIZE) must
/// not stop `rvshell completions bash`, while `eval` still refuses it.
#[test]
fn completions_ignore_a_broken_config_file() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("broken.toml");
    std::fs::write(&config, "hots = \"review-01\"\n").unwrap();
    let out = rvshell(tmp.path())
        .env("RVSHELL_CONFIG", &config)
        .env("RVSHELL_HISTORY_SIZE", "lots")
        .args(["completions", "bash"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("rvshell"));
    let out = rvshell(tmp.path())
        .env("RVSHELL_CONFIG", &config)
        .args(["eval", "1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("hots"), "{}", stderr(&out));
}

#[test]
fn bad_timeout_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let out = rvshell(tmp.path())
        .args(["eval", "--timeout=-1", "frame()"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--timeout"), "{}", stderr(&out));
}

/// Out-of-range times are bad arguments (exit 2, one line naming the option
/// and the limit), never a panic, and never a zero-second limit.
#[test]
fn time_options_refuse_values_too_large_or_rounding_to_zero() {
    let tmp = tempfile::tempdir().unwrap();
    let cases: [(&[&str], &str); 8] = [
        (
            &["eval", "--timeout", "1e30", "frame()"],
            "--timeout must be at most 1000000000 seconds",
        ),
        (
            &["eval", "--timeout", "1e-10", "frame()"],
            "--timeout must be at least one nanosecond",
        ),
        (
            &["--timeout", "1e30", "ping"],
            "--timeout must be at most 1000000000 seconds",
        ),
        (
            &["eval", "--heartbeat", "5e18", "frame()"],
            "--heartbeat must be at most 1000000000 seconds",
        ),
        (
            &["eval", "--heartbeat", "1e-10", "frame()"],
            "--heartbeat must be at least one nanosecond",
        ),
        (
            &["sim", "--port", "0", "--ping-interval", "1e30"],
            "--ping-interval must be at most 1000000000 seconds",
        ),
        (
            &["sim", "--port", "0", "--pong-timeout", "1e-10"],
            "--pong-timeout must be at least one nanosecond",
        ),
        (
            &["dmx", "--timeout", "1e30", "get", "-u", "1"],
            "--timeout must be at most 1000000000 seconds",
        ),
    ];
    for (args, expected) in cases {
        let out = rvshell(tmp.path()).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains(expected), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert_eq!(stdout(&out), "", "{args:?}");
    }
}

#[test]
fn push_prints_media_and_source_and_the_simulator_dumps_both_eyes() {
    let dump = tempfile::tempdir().unwrap();
    let sim = Sim::start_with("", &["--dump", dump.path().to_str().unwrap()]);
    let chart = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/test-chart.png");
    let out = sim.run(&[
        "push",
        "--port",
        &sim.port_arg(),
        "--tiles",
        "3x2",
        "--media",
        "chart",
        chart,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "media chart\nsource sourceGroup000000_source\n"
    );
    assert!(
        stderr(&out).contains("pushed 6 tiles ("),
        "{}",
        stderr(&out)
    );
    let one = sim.run(&["push", "--port", &sim.port_arg(), "--media", "one", chart]);
    assert!(stderr(&one).contains("pushed 1 tile ("), "{}", stderr(&one));
    // Shutdown writes whatever is pending.
    assert!(sim.terminate().success());
    let left = image::open(dump.path().join("chart.left.1.png"))
        .unwrap()
        .to_rgba8();
    assert!(left == image::open(chart).unwrap().to_rgba8());
    let right = image::open(dump.path().join("chart.right.1.png"))
        .unwrap()
        .to_rgba8();
    assert_eq!(
        right.get_pixel(0, 0).0,
        [0, 0, 0, 0],
        "inverse of the white, opaque marker"
    );
}

#[test]
fn push_refuses_bad_input_with_one_line_and_exit_2() {
    let sim = Sim::start("");
    let port = sim.port_arg();
    let dir = tempfile::tempdir().unwrap();
    let corrupt = dir.path().join("corrupt.jpg");
    std::fs::write(&corrupt, b"\xff\xd8\xff\xe0\x00\x10JFIF\x00 truncated").unwrap();
    let chart = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/test-chart.png");
    let missing = dir.path().join("missing.jpg");
    let cases: [(&[&str], &str); 5] = [
        (&[missing.to_str().unwrap()], "cannot open image"),
        (&[corrupt.to_str().unwrap()], "is not a readable image"),
        (
            &["--tiles", "0x2", chart],
            "tile counts and sizes must be at least 1",
        ),
        (
            &["--tiles", "641x1", chart],
            "more tiles than pixels in a 640x360 image",
        ),
        (&["--bits", "12", chart], "is not 8, 16 or 32"),
    ];
    for (args, expected) in cases {
        let mut all = vec!["push", "--port", &port];
        all.extend_from_slice(args);
        let out = sim.run(&all);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = stderr(&out);
        assert!(err.contains(expected), "{args:?}: {err}");
        assert_eq!(stdout(&out), "", "{args:?}");
    }
}

#[test]
fn heartbeat_option_keeps_rvs_heartbeat_on_and_refuses_bad_values() {
    use std::io::{Read, Write};
    // A fake RV: greet, then record what the client sends next.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let fake = std::thread::spawn(move || {
        let (mut socket, _) = listener.accept().unwrap();
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        while !seen.ends_with(b"rvshell") {
            let n = socket.read(&mut buf).unwrap();
            assert!(n > 0, "client left before greeting");
            seen.extend_from_slice(&buf[..n]);
        }
        socket.write_all(b"GREETING 4 fake").unwrap();
        let mut after = Vec::new();
        while !after.ends_with(b"frame()") {
            let n = socket.read(&mut buf).unwrap();
            assert!(n > 0, "client left before its request");
            after.extend_from_slice(&buf[..n]);
        }
        socket.write_all(b"MESSAGE 9 RETURN 12").unwrap();
        String::from_utf8(after).unwrap()
    });
    let tmp = tempfile::tempdir().unwrap();
    let out = rvshell(tmp.path())
        .args([
            "eval",
            "--heartbeat",
            "5",
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "frame()",
        ])
        .output()
        .unwrap();
    assert_eq!(stdout(&out), "12\n", "{}", stderr(&out));
    // With a heartbeat of our own, RV's stays on: no PINGPONGCONTROL 1 0.
    let request = "RETURNEVENT remote-eval * frame()";
    assert_eq!(
        fake.join().unwrap(),
        format!("MESSAGE {} {request}", request.len())
    );

    let out = rvshell(tmp.path())
        .args(["eval", "--heartbeat=0", "frame()"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--heartbeat must be a positive number"),
        "{}",
        stderr(&out)
    );
}

/// Every `"RVSHELL_..."` string literal in the sources (the variables the
/// binary reads) is one the test command clears, so a developer's setting
/// can never send a test's traffic to a real RV.
#[test]
fn the_test_command_clears_every_variable_rvshell_reads() {
    fn scan(dir: &Path, names: &mut std::collections::BTreeSet<String>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                scan(&path, names);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                for (at, _) in text.match_indices("\"RVSHELL_") {
                    let name = text[at + 1..]
                        .chars()
                        .take_while(|c| c.is_ascii_uppercase() || *c == '_')
                        .collect();
                    names.insert(name);
                }
            }
        }
    }
    let mut names = std::collections::BTreeSet::new();
    scan(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut names,
    );
    assert!(names.contains("RVSHELL_PORT"), "{names:?}");
    let tmp = tempfile::tempdir().unwrap();
    let cmd = common::rvshell(tmp.path());
    let envs: std::collections::HashMap<_, _> = cmd
        .get_envs()
        .map(|(k, v)| (k.to_str().unwrap().to_owned(), v.map(|v| v.to_owned())))
        .collect();
    for name in &names {
        let Some(value) = envs.get(name) else {
            panic!("the test command does not clear {name}");
        };
        if name == "RVSHELL_CONFIG" {
            let path = Path::new(value.as_ref().unwrap());
            assert!(path.starts_with(tmp.path()) && !path.exists(), "{path:?}");
        } else {
            assert_eq!(value, &None, "{name}");
        }
    }
    assert_eq!(
        envs.get("TMPDIR").unwrap().as_deref(),
        Some(tmp.path().as_os_str())
    );
}
