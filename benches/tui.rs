//! TUI benchmarks, each printed next to a baseline measured in the same run.
//!
//! - Render time of each screen at 200x60 into ratatui's `TestBackend`, with a
//!   full feedback log, against a baseline frame that only fills the screen
//!   with one plain paragraph (the cost of ratatui's buffer and diff alone).
//! - Input to command: a key event through `App::update` until the `Send`
//!   command comes out, against the cost of building the key event.
//! - Key to RETURN: `App::update`, the runner's path (spawned task, channel)
//!   through `RvClient` to the in-process simulator and back to
//!   `App::update`, against `RvClient::eval` called directly.
//!
//! Run: `cargo bench --bench tui` (add `-- --quick` for a short run).

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::widgets::Paragraph;
use rvshell::app::dmx_tab::{DmxEvent, OladState};
use rvshell::app::history::History;
use rvshell::app::pixels::{ImageInfo, PixelsCommand, PixelsEvent, Thumbnail};
use rvshell::app::{App, AppEvent, Command, NetEvent};
use rvshell::rv::client::{ClientEvent, Config, ConnState, RvClient};
use rvshell::shell::runner::execute_send;
use rvshell::sim::server::{SimConfig, Simulator};
use std::hint::black_box;
use std::time::{Duration, Instant};

mod common;
use common::{Stats, stats};

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let frames = if quick { 200 } else { 2_000 };
    println!("rvshell TUI benchmark ({frames} frames per screen, 200x60)\n");
    render(frames);
    input(if quick { 20_000 } else { 200_000 });
    key_to_return(if quick { 500 } else { 5_000 });
    idle_cpu(if quick { 3 } else { 10 });
}

/// CPU time of the real `rvshell demo` (simulator, private olad when
/// installed) sitting idle in a terminal (tmux), read from /proc.
fn idle_cpu(seconds: u64) {
    let socket = format!("rvshell-bench-{}", std::process::id());
    let tmux = |args: &[&str]| {
        std::process::Command::new("tmux")
            .args(["-L", &socket])
            .args(args)
            .output()
    };
    let bin = env!("CARGO_BIN_EXE_rvshell");
    let dir = std::env::temp_dir().join(&socket);
    let _ = std::fs::create_dir_all(&dir);
    let command = format!("RVSHELL_DATA_DIR='{}' exec '{bin}' demo", dir.display());
    let started = tmux(&["new-session", "-d", "-x", "200", "-y", "60", &command]);
    if !started.is_ok_and(|o| o.status.success()) {
        println!("\nidle CPU: not measured (tmux is needed to give the shell a terminal)");
        return;
    }
    let pid = tmux(&["display-message", "-p", "#{pane_pid}"])
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse::<u32>().ok());
    let ticks = |pid: u32| -> Option<u64> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
        Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
    };
    // Let it start, connect and draw; then measure.
    std::thread::sleep(Duration::from_secs(3));
    let before = pid.and_then(ticks);
    std::thread::sleep(Duration::from_secs(seconds));
    let after = pid.and_then(ticks);
    let _ = tmux(&["send-keys", "q"]);
    std::thread::sleep(Duration::from_millis(500));
    let _ = tmux(&["kill-server"]);
    let _ = std::fs::remove_dir_all(&dir);
    match (before, after) {
        (Some(before), Some(after)) => {
            // Linux reports CPU time in clock ticks of 1/100 s.
            let used = (after - before) as f64 / 100.0;
            println!(
                "\nidle CPU over {seconds} s: {:.2} s of CPU = {:.2}% (target: under 1%)",
                used,
                used / seconds as f64 * 100.0
            );
        }
        _ => println!("\nidle CPU: not measured (could not read /proc for the shell)"),
    }
}

fn space() -> AppEvent {
    AppEvent::Key(KeyEvent::new(KeyCode::Char(' '), KeyModifiers::NONE))
}

fn connected_app() -> App {
    let mut app = App::new(vec!["127.0.0.1:45124".into()], History::default());
    app.update(AppEvent::Net(NetEvent::State {
        contact: 0,
        state: ConnState::Connected {
            peer: "rvsim".into(),
        },
    }));
    app
}

/// A session with a full feedback log and a known frame.
fn busy_app() -> App {
    let mut app = connected_app();
    for i in 0..5_000 {
        app.update(AppEvent::Net(NetEvent::Client {
            contact: 0,
            event: ClientEvent::Event(rvshell::rv::message::Event::new(
                "frame-changed",
                format!(
                    "frame {i} of a rather long incoming event line that wraps at narrow widths"
                ),
            )),
        }));
    }
    app.update(space());
    app.update(AppEvent::Net(NetEvent::Reply {
        request: 1,
        result: Ok(r#""FRAME = 123456""#.into()),
    }));
    app.update(AppEvent::Resize(200, 60));
    app
}

fn time_frames(frames: usize, mut draw: impl FnMut(&mut Terminal<TestBackend>)) -> Stats {
    let mut terminal = Terminal::new(TestBackend::new(200, 60)).unwrap();
    let mut samples = Vec::with_capacity(frames);
    for _ in 0..frames {
        // A full redraw each time: clear the previous buffer so nothing is skipped.
        terminal.clear().unwrap();
        let start = Instant::now();
        draw(&mut terminal);
        samples.push(start.elapsed());
    }
    stats(samples)
}

fn render(frames: usize) {
    let text: String = (0..60)
        .map(|i| format!("line {i:>3} {}\n", "x".repeat(180)))
        .collect();
    let baseline = time_frames(frames, |t| {
        t.draw(|f| f.render_widget(Paragraph::new(text.as_str()), f.area()))
            .unwrap();
    });
    println!(
        "{:<28} {:>10} {:>10} {:>8}",
        "screen", "median", "p99", "x base"
    );
    let row = |name: &str, s: &Stats| {
        println!(
            "{:<28} {:>8.0}us {:>8.0}us {:>7.2}x",
            name,
            s.median.as_secs_f64() * 1e6,
            s.p99.as_secs_f64() * 1e6,
            s.median.as_secs_f64() / baseline.median.as_secs_f64()
        );
    };
    row("baseline: one paragraph", &baseline);
    let mut app = busy_app();
    let playback = time_frames(frames, |t| {
        t.draw(|f| rvshell::ui::draw(&app, f)).unwrap();
    });
    row("Playback Control", &playback);
    app.update(AppEvent::Key(KeyEvent::new(
        KeyCode::Char('2'),
        KeyModifiers::NONE,
    )));
    let raw = time_frames(frames, |t| {
        t.draw(|f| rvshell::ui::draw(&app, f)).unwrap();
    });
    row("Raw Event", &raw);
    // Pixels: a preview filling its area at 200x60, and a push running.
    app.update(AppEvent::Key(KeyEvent::new(
        KeyCode::Char('3'),
        KeyModifiers::NONE,
    )));
    app.update(AppEvent::Key(KeyEvent::new(
        KeyCode::Char('o'),
        KeyModifiers::NONE,
    )));
    let commands = app.update(AppEvent::Key(KeyEvent::new(
        KeyCode::Enter,
        KeyModifiers::NONE,
    )));
    assert!(commands.is_empty(), "an empty path loads nothing");
    let commands = app.pixels_demo();
    let Some(Command::Pixels(PixelsCommand::Load { id, preview, .. })) = commands.first() else {
        panic!("{commands:?}");
    };
    let (w, h) = *preview;
    let rgb = (0..w * h)
        .flat_map(|i| [(i % 251) as u8, (i / 7 % 253) as u8, 90])
        .collect();
    app.update(AppEvent::Net(NetEvent::Pixels(PixelsEvent::Loaded {
        id: *id,
        result: Ok(ImageInfo {
            width: w * 8,
            height: h * 8,
            format: "PNG, RGBA 8-bit".into(),
            thumbnail: Thumbnail {
                width: w,
                height: h,
                rgb,
            },
        }),
    })));
    app.update(AppEvent::Key(KeyEvent::new(
        KeyCode::Esc,
        KeyModifiers::NONE,
    )));
    app.update(AppEvent::Key(KeyEvent::new(
        KeyCode::Char('s'),
        KeyModifiers::NONE,
    )));
    let pixels = time_frames(frames, |t| {
        t.draw(|f| rvshell::ui::draw(&app, f)).unwrap();
    });
    row("Pixels (preview, push)", &pixels);
    app.update(AppEvent::Key(KeyEvent::new(
        KeyCode::F(1),
        KeyModifiers::NONE,
    )));
    let help = time_frames(frames, |t| {
        t.draw(|f| rvshell::ui::draw(&app, f)).unwrap();
    });
    row("help overlay", &help);
    // OLA-DMX: every slot lit, olad's readback differing in places.
    app.update(AppEvent::Key(KeyEvent::new(
        KeyCode::Esc,
        KeyModifiers::NONE,
    )));
    app.update(AppEvent::Key(KeyEvent::new(
        KeyCode::Char('4'),
        KeyModifiers::NONE,
    )));
    app.update(AppEvent::Net(NetEvent::Dmx(DmxEvent::State(
        OladState::Connected,
    ))));
    let lit: Vec<u8> = (0..512).map(|i| (i * 7 % 256) as u8).collect();
    app.update(AppEvent::Net(NetEvent::Dmx(DmxEvent::Loaded {
        universe: 1,
        result: Ok(lit.clone()),
    })));
    let mut olad = lit;
    for slot in olad.iter_mut().step_by(37) {
        *slot = slot.wrapping_add(1);
    }
    app.update(AppEvent::Net(NetEvent::Dmx(DmxEvent::Readback {
        universe: 1,
        data: olad,
    })));
    let dmx = time_frames(frames, |t| {
        t.draw(|f| rvshell::ui::draw(&app, f)).unwrap();
    });
    row("OLA-DMX (512 slots lit)", &dmx);
    println!();
}

fn input(rounds: usize) {
    let start = Instant::now();
    for _ in 0..rounds {
        black_box(space());
    }
    let base = start.elapsed() / rounds as u32;
    let mut app = connected_app();
    let mut samples = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let start = Instant::now();
        let commands = app.update(space());
        samples.push(start.elapsed());
        // Answer it so the pending map and the log stay at steady state.
        if let Some(Command::Send { request, .. }) = commands.first() {
            app.update(AppEvent::Net(NetEvent::Reply {
                request: *request,
                result: Ok(r#""FRAME = 1""#.into()),
            }));
        }
    }
    let s = stats(samples);
    println!(
        "key -> Send command (App::update)  median {:.2}us  p99 {:.2}us  (building the key event: {:.3}us)\n",
        s.median.as_secs_f64() * 1e6,
        s.p99.as_secs_f64() * 1e6,
        base.as_secs_f64() * 1e6
    );
}

fn key_to_return(rounds: usize) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let sim = Simulator::start(SimConfig::any_port()).await.unwrap();
        let config = Config::new("127.0.0.1", sim.local_addr().port());
        let (client, _events) = RvClient::connect(config).await.unwrap();
        let mut app = connected_app();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let mut via_app = Vec::with_capacity(rounds);
        for _ in 0..rounds {
            let start = Instant::now();
            for command in app.update(space()) {
                if let Command::Send {
                    request,
                    contact,
                    event,
                    rsvp,
                } = command
                {
                    let tx = tx.clone();
                    let post = move |net| {
                        let _ = tx.send(AppEvent::Net(net));
                    };
                    execute_send(
                        std::slice::from_ref(&client),
                        post,
                        request,
                        contact,
                        event,
                        rsvp,
                    );
                }
            }
            let reply = rx.recv().await.unwrap();
            app.update(reply);
            via_app.push(start.elapsed());
        }
        let mut direct = Vec::with_capacity(rounds);
        for _ in 0..rounds {
            let start = Instant::now();
            black_box(
                client
                    .eval(r#"play();"FRAME = " + frame();"#)
                    .await
                    .unwrap(),
            );
            direct.push(start.elapsed());
        }
        let a = stats(via_app);
        let d = stats(direct);
        println!(
            "key -> RETURN shown (simulator)    median {:.1}us  p99 {:.1}us",
            a.median.as_secs_f64() * 1e6,
            a.p99.as_secs_f64() * 1e6
        );
        println!(
            "baseline: RvClient::eval           median {:.1}us  p99 {:.1}us  ({:.2}x)",
            d.median.as_secs_f64() * 1e6,
            d.p99.as_secs_f64() * 1e6,
            a.median.as_secs_f64() / d.median.as_secs_f64()
        );
        client.close().await;
        sim.shutdown().await;
    });
}
