//! Snapshots of the OLA-DMX tab at 100x30 and 60x20, driven by synthetic
//! events (no olad), drawn into ratatui's `TestBackend`.

use crossterm::event::KeyCode;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use rvshell::app::dmx_console::SLOTS;
use rvshell::app::dmx_tab::{DmxCommand, DmxEvent, OladState, PortEntry, UniverseEntry};
use rvshell::app::history::History;
use rvshell::app::{App, AppEvent, Command, NetEvent};

/// Large, the default terminal (80x24), and small.
const SIZES: [(u16, u16); 3] = [(100, 30), (80, 24), (60, 20)];

mod common;

use common::events::{ch, dmx, key};

fn draw(app: &mut App, width: u16, height: u16) -> Terminal<TestBackend> {
    app.update(AppEvent::Resize(width, height));
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| rvshell::ui::draw(app, f)).unwrap();
    terminal
}

fn snapshot_all(name: &str, make: impl Fn() -> App) {
    for (w, h) in SIZES {
        let mut app = make();
        let terminal = draw(&mut app, w, h);
        insta::assert_snapshot!(format!("{name}_{w}x{h}"), terminal.backend());
    }
}

/// The DMX tab, olad not heard from yet.
fn base() -> App {
    let mut app = App::new(vec!["127.0.0.1:45124".into()], History::default());
    app.clock = "10:15:00".into();
    app.dmx.address = "127.0.0.1:9010".into();
    app.update(AppEvent::Net(NetEvent::State {
        contact: 0,
        state: rvshell::rv::client::ConnState::Connected {
            peer: "rvsim".into(),
        },
    }));
    app.update(key(KeyCode::BackTab));
    app
}

/// Sends every frame the app asks for and acks it.
fn run(app: &mut App, event: AppEvent) {
    let mut pending = app.update(event);
    while let Some(command) = pending.pop() {
        if let Command::Dmx(DmxCommand::Send(frame)) = command {
            pending.extend(app.update(dmx(DmxEvent::Sent {
                universe: frame.universe,
                generation: frame.generation,
                result: Ok(()),
            })));
        }
    }
}

/// Connected to olad on universe 1 ("Dummy"), a few channels up, one slot
/// that olad has differently.
fn connected() -> App {
    let mut app = base();
    app.update(dmx(DmxEvent::State(OladState::Connected)));
    app.update(dmx(DmxEvent::Universes(Ok(vec![
        UniverseEntry {
            universe: 1,
            name: "Dummy".into(),
            output_ports: 1,
        },
        UniverseEntry {
            universe: 2,
            name: "Stage left".into(),
            output_ports: 1,
        },
    ]))));
    app.update(dmx(DmxEvent::Loaded {
        universe: 1,
        result: Ok(vec![0; SLOTS]),
    }));
    run(&mut app, ch(' '));
    run(&mut app, key(KeyCode::Right));
    for _ in 0..8 {
        run(&mut app, key(KeyCode::PageUp));
    }
    run(&mut app, key(KeyCode::Right));
    for c in "42".chars() {
        run(&mut app, ch(c));
    }
    run(&mut app, key(KeyCode::Enter));
    let mut olad = app.dmx.console.values().to_vec();
    olad[9] = 99; // another source
    app.update(dmx(DmxEvent::Readback {
        universe: 1,
        data: olad,
    }));
    app
}

#[test]
fn connected_with_values() {
    snapshot_all("dmx_connected", connected);
}

#[test]
fn hex_mode_with_a_failed_send() {
    snapshot_all("dmx_failed_send", || {
        let mut app = connected();
        app.update(ch('m'));
        let commands = app.update(ch('+'));
        let Some(Command::Dmx(DmxCommand::Send(frame))) = commands.first() else {
            panic!("expected a send, got {commands:?}");
        };
        app.update(dmx(DmxEvent::Sent {
            universe: frame.universe,
            generation: frame.generation,
            result: Err("universe 1 does not exist on olad; patch a port to it (U, then p)".into()),
        }));
        app
    });
}

#[test]
fn universe_picker() {
    snapshot_all("dmx_picker", || {
        let mut app = connected();
        app.update(ch('U'));
        app.update(dmx(DmxEvent::Universes(Ok(vec![
            UniverseEntry {
                universe: 1,
                name: "Dummy".into(),
                output_ports: 1,
            },
            UniverseEntry {
                universe: 2,
                name: "Stage left".into(),
                output_ports: 1,
            },
        ]))));
        app.update(key(KeyCode::Down));
        app
    });
}

#[test]
fn patch_form() {
    snapshot_all("dmx_patch", || {
        let mut app = connected();
        app.update(ch('U'));
        app.update(dmx(DmxEvent::Universes(Ok(Vec::new()))));
        app.update(ch('p'));
        app.update(dmx(DmxEvent::Ports(Ok(vec![
            PortEntry {
                device_alias: 1,
                device: "Dummy Device".into(),
                port_id: 0,
                is_output: true,
                description: "Dummy Port".into(),
            },
            PortEntry {
                device_alias: 3,
                device: "ArtNet [10.0.0.5]".into(),
                port_id: 2,
                is_output: true,
                description: String::new(),
            },
        ]))));
        app.update(key(KeyCode::Tab));
        app
    });
}

/// olad's reasons can be longer than the box: they wrap inside it, whole.
#[test]
fn long_errors_wrap_in_the_picker_and_the_patch_form() {
    const REASON: &str = "olad refused PatchPort: Port 0 of device 1 (Dummy Device) is already \
                          patched to universe 7 and cannot be patched twice; end of reason";
    snapshot_all("dmx_patch_refused", || {
        let mut app = connected();
        app.update(ch('U'));
        app.update(dmx(DmxEvent::Universes(Ok(Vec::new()))));
        app.update(ch('p'));
        app.update(dmx(DmxEvent::Ports(Ok(vec![PortEntry {
            device_alias: 1,
            device: "Dummy Device".into(),
            port_id: 0,
            is_output: true,
            description: String::new(),
        }]))));
        app.update(key(KeyCode::Tab));
        let commands = app.update(key(KeyCode::Enter));
        let [Command::Dmx(patch)] = &commands[..] else {
            panic!("{commands:?}")
        };
        app.update(dmx(patch.failed(REASON.into())));
        app
    });
    snapshot_all("dmx_picker_refused", || {
        let mut app = connected();
        app.update(ch('U'));
        app.update(dmx(DmxEvent::Universes(Err(REASON.into()))));
        app
    });
}

#[test]
fn fade_time_field() {
    snapshot_all("dmx_fade_field", || {
        let mut app = connected();
        app.update(ch('t'));
        app.update(ch('.'));
        app.update(ch('5'));
        app
    });
}

#[test]
fn olad_not_running() {
    snapshot_all("dmx_olad_not_running", || {
        let mut app = base();
        app.update(dmx(DmxEvent::State(OladState::NotRunning {
            reason: "Connection refused (os error 111)".into(),
        })));
        app
    });
}

#[test]
fn olad_not_installed() {
    snapshot_all("dmx_olad_not_installed", || {
        let mut app = base();
        app.update(dmx(DmxEvent::State(OladState::NotInstalled)));
        app
    });
}

#[test]
fn dmx_help_overlay() {
    snapshot_all("dmx_help", || {
        let mut app = connected();
        app.update(ch('?'));
        app
    });
}

#[test]
fn the_number_fields_refuse_letters_and_draw_with_the_cursor_anywhere() {
    for field in ['p', 't'] {
        let mut app = connected();
        app.update(ch(field));
        for c in "1Bühne é".chars() {
            app.update(ch(c));
        }
        for _ in 0..8 {
            draw(&mut app, 100, 30);
            app.update(key(KeyCode::Left));
        }
        let screen = format!("{:?}", draw(&mut app, 100, 30).backend().buffer());
        assert!(
            !screen.contains('ü') && !screen.contains('é'),
            "{field}: letters shown"
        );
        assert!(
            screen.contains(" takes "),
            "{field}: no note on the refusal"
        );
        assert_eq!(app.dmx.field.as_ref().unwrap().input.text(), "1");
    }
}

#[test]
fn small_sizes_never_panic() {
    for make in [connected as fn() -> App, base] {
        for (w, h) in [
            (0, 0),
            (1, 1),
            (20, 5),
            (59, 19),
            (60, 20),
            (61, 21),
            (80, 24),
        ] {
            for overlay in [None, Some('U'), Some('p'), Some('t')] {
                let mut app = make();
                if let Some(c) = overlay {
                    app.update(ch(c));
                }
                if overlay == Some('U') {
                    app.update(dmx(DmxEvent::Universes(Ok((1..40)
                        .map(|universe| UniverseEntry {
                            universe,
                            name: format!("a long universe name number {universe}"),
                            output_ports: 1,
                        })
                        .collect()))));
                }
                draw(&mut app, w, h);
            }
        }
    }
}
