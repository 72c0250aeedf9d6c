//! Snapshots of every screen at 100x30 and 60x20, driven by synthetic events
//! through `App::update` (no network), drawn into ratatui's `TestBackend`.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use rvshell::app::history::History;
use rvshell::app::{App, AppEvent, NetEvent};
use rvshell::rv::client::{ClientEvent, ConnState};
use rvshell::rv::message::Event;
use std::time::Duration;

/// Large, the default terminal (80x24), and small.
const SIZES: [(u16, u16); 3] = [(100, 30), (80, 24), (60, 20)];

mod common;

use common::events::{ch, key};

fn draw(app: &mut App, width: u16, height: u16) -> Terminal<TestBackend> {
    app.update(AppEvent::Resize(width, height));
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| rvshell::ui::draw(app, f)).unwrap();
    terminal
}

/// A connected shell after a Play and a step, the way a session starts.
fn session(contacts: usize) -> App {
    let addresses = (0..contacts)
        .map(|i| format!("127.0.0.1:{}", 45124 + i))
        .collect();
    let mut app = App::new(addresses, History::default());
    app.clock = "10:15:00".into();
    for contact in 0..contacts {
        app.update(AppEvent::Net(NetEvent::State {
            contact,
            state: ConnState::Connected {
                peer: "rvsim".into(),
            },
        }));
        app.update(AppEvent::Net(NetEvent::Client {
            contact,
            event: ClientEvent::Connected {
                peer: "rvsim".into(),
                app: "rv".into(),
            },
        }));
    }
    app.clock = "10:15:02".into();
    app.update(ch(' '));
    app.update(AppEvent::Net(NetEvent::Reply {
        request: 1,
        result: Ok(r#""FRAME = 1""#.into()),
    }));
    app.update(ch(' '));
    app.update(AppEvent::Net(NetEvent::Reply {
        request: 2,
        result: Ok(r#""FRAME = 1042""#.into()),
    }));
    app.update(ch('c'));
    app.update(AppEvent::Net(NetEvent::Sent {
        request: 3,
        result: Ok(()),
    }));
    app.update(AppEvent::Net(NetEvent::Client {
        contact: 0,
        event: ClientEvent::Event(Event::new("frame-changed", "1042")),
    }));
    app
}

fn snapshot_all(name: &str, mut app: App) {
    for (w, h) in SIZES {
        let terminal = draw(&mut app, w, h);
        insta::assert_snapshot!(format!("{name}_{w}x{h}"), terminal.backend());
    }
}

#[test]
fn playback_tab() {
    snapshot_all("playback", session(1));
}

#[test]
fn playback_go_to_frame_field() {
    let mut app = session(1);
    app.update(ch('g'));
    app.update(ch('7'));
    snapshot_all("playback_goto", app);
}

#[test]
fn the_go_to_field_draws_its_cursor_where_it_is() {
    let mut app = session(1);
    app.update(ch('g'));
    for c in "123".chars() {
        app.update(ch(c));
    }
    app.update(key(KeyCode::Left));
    app.update(key(KeyCode::Left));
    let screen = format!("{:?}", draw(&mut app, 100, 30).backend());
    assert!(screen.contains("Go to 1▏23"), "{screen}");
}

#[test]
fn raw_event_tab() {
    let mut app = session(1);
    app.update(ch('2'));
    for c in "\ncommands.sources()".chars() {
        if c == '\n' {
            app.update(key(KeyCode::Enter));
        } else {
            app.update(ch(c));
        }
    }
    app.update(AppEvent::Key(KeyEvent::new(
        KeyCode::Char('s'),
        KeyModifiers::CONTROL,
    )));
    app.update(AppEvent::Net(NetEvent::Reply {
        request: 4,
        result: Ok("[ \"sourceGroup000000_source\" ]".into()),
    }));
    snapshot_all("raw_event", app);
}

#[test]
fn help_scrolls_exactly_to_its_last_line() {
    use rvshell::app::keymap::{Context, KEYMAP, help_layout};
    let mut app = session(1);
    app.update(AppEvent::Resize(100, 30));
    app.update(ch('?'));
    for _ in 0..30 {
        app.update(key(KeyCode::PageDown));
    }
    assert_eq!(
        usize::from(app.help_scroll),
        help_layout(Context::Playback, 100).rows.len() - (30 - 4)
    );
    // The DMX tab's bindings come last on the Playback tab's help.
    let last = KEYMAP
        .iter()
        .rev()
        .find(|b| b.context == Context::Dmx && !b.desc.is_empty())
        .unwrap();
    let terminal = draw(&mut app, 100, 30);
    let buffer = terminal.backend().buffer();
    let rows: Vec<String> = (0..30)
        .map(|y| (0..100).map(|x| buffer[(x, y)].symbol()).collect())
        .collect();
    // The last line sits just above the overlay's bottom border (the end
    // of the last description, which may wrap).
    let border = rows
        .iter()
        .position(|r| r.contains("any other key closes"))
        .unwrap();
    let end = last.desc.rsplit(' ').next().unwrap();
    assert!(rows[border - 1].contains(end), "{rows:#?}");
}

#[test]
fn help_overlay() {
    let mut app = session(1);
    app.update(ch('?'));
    snapshot_all("help", app);
}

#[test]
fn retrying_after_a_refusal() {
    let mut app = App::new(vec!["10.0.0.5:45124".into()], History::default());
    app.clock = "09:00:00".into();
    let reason = "cannot connect to RV at 10.0.0.5:45124: Connection refused (os error 111); \
                  is RV running with networking on (rv -network), or `rvshell sim`?";
    app.update(AppEvent::Net(NetEvent::Client {
        contact: 0,
        event: ClientEvent::Disconnected {
            reason: reason.into(),
            retry_in: Some(Duration::from_secs(4)),
        },
    }));
    app.update(AppEvent::Net(NetEvent::State {
        contact: 0,
        state: ConnState::Retrying {
            reason: reason.into(),
            delay: Duration::from_secs(4),
        },
    }));
    app.update(ch(' '));
    snapshot_all("retrying", app);
}

#[test]
fn several_contacts() {
    let mut app = session(3);
    app.update(AppEvent::Net(NetEvent::State {
        contact: 2,
        state: ConnState::Retrying {
            reason: "connection reset".into(),
            delay: Duration::from_millis(500),
        },
    }));
    app.update(ch(']'));
    snapshot_all("contacts", app);
}

#[test]
fn search_in_feedback() {
    let mut app = session(1);
    app.update(ch('/'));
    for c in "frame = 1\n".chars() {
        if c == '\n' {
            app.update(key(KeyCode::Enter));
        } else {
            app.update(ch(c));
        }
    }
    snapshot_all("search", app);
}

#[test]
fn too_small_terminals_never_panic() {
    let mut app = session(2);
    for (w, h) in [
        (59, 20),
        (60, 19),
        (20, 5),
        (1, 1),
        (0, 0),
        (200, 3),
        (3, 200),
    ] {
        let terminal = draw(&mut app, w, h);
        if w >= 40 && h >= 2 {
            let text = format!("{:?}", terminal.backend());
            assert!(text.contains("terminal too small"), "{w}x{h}: {text}");
        }
    }
    app.update(ch('?'));
    app.update(ch('2'));
    for (w, h) in [(10, 4), (0, 0)] {
        draw(&mut app, w, h);
    }
    let terminal = draw(&mut session(1), 40, 12);
    insta::assert_snapshot!("too_small_40x12", terminal.backend());
}

#[test]
fn status_line_shows_the_heartbeat() {
    let mut app = session(1);
    let status = |terminal: &Terminal<TestBackend>| {
        let buffer = terminal.backend().buffer();
        let row = buffer.area.height - 2;
        (0..buffer.area.width)
            .map(|x| buffer[(x, row)].symbol().to_owned())
            .collect::<String>()
    };
    assert!(status(&draw(&mut app, 140, 30)).contains("heartbeat off"));
    app.heartbeat = Some(std::time::Duration::from_secs(15));
    let line = status(&draw(&mut app, 140, 30));
    assert!(line.contains("heartbeat 15s"), "{line}");
}

/// The Playback tab live: RV forwards its events; the state query answered,
/// then playback runs (the frame, playing, fps, view and the in/out bar).
#[test]
fn playback_live() {
    let mut app = session(1);
    let commands = app.update(AppEvent::Net(NetEvent::Client {
        contact: 0,
        event: ClientEvent::Subscribed {
            events: vec!["frame-changed".into(), "play-start".into()],
        },
    }));
    let Some(rvshell::app::Command::Send { request, .. }) = commands.first() else {
        panic!("{commands:?}")
    };
    app.update(AppEvent::Net(NetEvent::Reply {
        request: *request,
        result: Ok(r#""1001;false;24.000000;1001;1100;1010;1090;sourceGroup000000""#.into()),
    }));
    for (name, contents) in [("play-start", "1001"), ("frame-changed", "1050")] {
        app.update(AppEvent::Net(NetEvent::Client {
            contact: 0,
            event: ClientEvent::RvEvent(rvshell::rv::events::RvEvent::new(
                name,
                contents,
                "127.0.0.1:45124",
            )),
        }));
    }
    for (w, h) in SIZES {
        let terminal = draw(&mut app, w, h);
        insta::assert_snapshot!(format!("playback_live_{w}x{h}"), terminal.backend());
    }
}
