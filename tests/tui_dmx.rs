//! The OLA-DMX tab's app state: keys and olad events in, commands out, with
//! the exact frames. No terminal (except where a click needs a drawn grid),
//! no network.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use rvshell::app::dmx_console::{Frame, SLOTS};
use rvshell::app::dmx_tab::{
    DmxCommand, DmxEvent, FADE_TICK, OladState, PortEntry, RETRY_INTERVAL, UniverseEntry,
};
use rvshell::app::history::History;
use rvshell::app::{App, AppEvent, Command, Tab};
use std::time::Duration;

const ADDR: &str = "127.0.0.1:9010";

mod common;

use common::events::{ch, dmx, key};

fn state(state: OladState) -> AppEvent {
    dmx(DmxEvent::State(state))
}

/// The answer to a send to universe 1, where [`app`] starts.
fn sent(generation: u64, result: Result<(), &str>) -> AppEvent {
    sent_to(1, generation, result)
}

fn sent_to(universe: u32, generation: u64, result: Result<(), &str>) -> AppEvent {
    dmx(DmxEvent::Sent {
        universe,
        generation,
        result: result.map_err(str::to_owned),
    })
}

/// The DMX tab, not connected yet.
fn offline_app() -> App {
    let mut app = App::new(vec!["127.0.0.1:45124".into()], History::default());
    app.dmx.address = ADDR.into();
    // Shift+Tab from the first tab goes to the last one, OLA-DMX.
    app.update(key(KeyCode::BackTab));
    assert_eq!(app.tab, Tab::Dmx);
    app
}

/// The DMX tab connected to olad, universe 1 loaded as all zeros.
fn app() -> App {
    let mut app = offline_app();
    let commands = app.update(state(OladState::Connected));
    assert_eq!(
        commands,
        vec![
            Command::Dmx(DmxCommand::Register(1)),
            Command::Dmx(DmxCommand::Load(1)),
            Command::Dmx(DmxCommand::ListUniverses),
        ]
    );
    app.update(dmx(DmxEvent::Loaded {
        universe: 1,
        result: Ok(vec![0; SLOTS]),
    }));
    app
}

/// The one frame sent by `commands`.
fn frame(commands: &[Command]) -> Frame {
    match commands {
        [Command::Dmx(DmxCommand::Send(frame))] => (**frame).clone(),
        other => panic!("expected one Send, got {other:?}"),
    }
}

fn slots(pairs: &[(usize, u8)]) -> [u8; SLOTS] {
    let mut data = [0; SLOTS];
    for &(slot, value) in pairs {
        data[slot] = value;
    }
    data
}

fn feedback(app: &App) -> String {
    app.feedback
        .lines()
        .iter()
        .map(|l| format!("{:?} {}", l.kind, l.text))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn every_change_sends_the_whole_frame_and_one_send_is_in_flight() {
    let mut app = app();
    assert!(
        app.update(key(KeyCode::Right)).is_empty(),
        "moves send nothing"
    );
    app.update(key(KeyCode::Right));
    let first = frame(&app.update(ch('+')));
    assert_eq!(
        first,
        Frame {
            universe: 1,
            priority: 100,
            generation: 1,
            data: slots(&[(2, 1)]),
        }
    );
    // Two more changes while the first is in flight: held back, coalesced.
    assert!(app.update(ch('+')).is_empty());
    assert!(app.update(key(KeyCode::PageUp)).is_empty());
    let next = frame(&app.update(sent(1, Ok(()))));
    assert_eq!(next.generation, 3, "only the newest state goes out");
    assert_eq!(next.data, slots(&[(2, 18)]));
    assert!(
        app.update(sent(3, Ok(()))).is_empty(),
        "nothing left to send"
    );
    assert!(!app.dmx.console.is_pending());
}

#[test]
fn keys_follow_ola_dmxconsole() {
    let mut app = app();
    let mut generation = 0;
    let mut press = |app: &mut App, e: AppEvent| -> [u8; SLOTS] {
        let f = frame(&app.update(e));
        generation += 1;
        assert_eq!(f.generation, generation);
        app.update(sent(generation, Ok(())));
        f.data
    };
    assert_eq!(press(&mut app, ch(' ')), slots(&[(0, 255)]));
    assert_eq!(press(&mut app, ch('-')), slots(&[(0, 254)]));
    assert_eq!(press(&mut app, key(KeyCode::PageDown)), slots(&[(0, 238)]));
    app.update(key(KeyCode::End));
    assert_eq!(press(&mut app, ch(' ')), slots(&[(0, 238), (511, 255)]));
    app.update(key(KeyCode::Home));
    app.update(key(KeyCode::Down)); // one row of the default 8 columns
    assert_eq!(app.dmx.console.cursor(), 8);
    // Typing a value: digits, then Enter.
    for c in ['1', '2', '7'] {
        assert!(app.update(ch(c)).is_empty(), "typing sends nothing yet");
    }
    assert_eq!(
        press(&mut app, key(KeyCode::Enter)),
        slots(&[(0, 238), (8, 127), (511, 255)])
    );
    assert_eq!(press(&mut app, ch('b')), [0; SLOTS]);
    assert_eq!(press(&mut app, ch('f')), [255; SLOTS]);
    assert_eq!(press(&mut app, ch('u')), [0; SLOTS], "undo the full");
    // Typed digits are a value here, not a tab switch.
    assert_eq!(app.tab, Tab::Dmx);
}

#[test]
fn hex_mode_types_a_to_f_as_digits_and_upper_case_stays_blackout_and_full() {
    let mut app = app();
    assert!(app.update(ch('m')).is_empty());
    assert_eq!(
        app.dmx.console.mode(),
        rvshell::app::dmx_console::DisplayMode::Hex
    );
    assert!(app.update(ch('b')).is_empty(), "b is a hex digit now");
    assert!(app.update(ch('f')).is_empty());
    assert_eq!(app.dmx.console.entry(), Some("bf"));
    let f = frame(&app.update(key(KeyCode::Enter)));
    assert_eq!(f.data, slots(&[(0, 0xbf)]));
    app.update(sent(f.generation, Ok(())));
    let f = frame(&app.update(ch('F')));
    assert_eq!(f.data, [255; SLOTS], "F is full in hex mode");
    app.update(sent(f.generation, Ok(())));
    let f = frame(&app.update(ch('B')));
    assert_eq!(f.data, [0; SLOTS], "B is blackout in hex mode");
}

#[test]
fn readback_marks_slots_where_olad_differs() {
    let mut app = app();
    let f = frame(&app.update(ch(' ')));
    app.update(sent(f.generation, Ok(())));
    app.update(dmx(DmxEvent::Readback {
        universe: 1,
        data: f.data.to_vec(),
    }));
    assert_eq!(app.dmx.console.differing(), 0);
    // Another source drives slot 5 on our universe.
    app.update(dmx(DmxEvent::Readback {
        universe: 1,
        data: slots(&[(0, 255), (5, 40)]).to_vec(),
    }));
    assert!(app.dmx.console.differs(5));
    assert_eq!(app.dmx.console.differing(), 1);
    // Pushes for another universe are not ours.
    app.update(dmx(DmxEvent::Readback {
        universe: 2,
        data: vec![9; SLOTS],
    }));
    assert_eq!(app.dmx.console.differing(), 1);
}

#[test]
fn a_failed_send_stays_pending_and_is_resent() {
    let mut app = app();
    app.update(key(KeyCode::Right));
    app.update(key(KeyCode::Right));
    let f = frame(&app.update(ch('+')));
    assert!(
        app.update(sent(f.generation, Err("olad refused UpdateDmxData: boom")))
            .is_empty(),
        "no tight retry loop"
    );
    let failure = app.dmx.console.send_failure().expect("shown on the grid");
    assert_eq!(failure.slot, Some(2));
    assert!(
        feedback(&app).contains(
            "Error DMX send to universe 1 failed: olad refused UpdateDmxData: boom; values kept"
        ),
        "{}",
        feedback(&app)
    );
    assert_eq!(app.tick_interval(), Some(RETRY_INTERVAL));
    app.now += RETRY_INTERVAL;
    let again = frame(&app.update(AppEvent::Tick));
    assert_eq!(again, f, "the same state, re-sent");
    app.update(sent(f.generation, Ok(())));
    assert_eq!(app.dmx.console.send_failure(), None);
    assert_eq!(app.tick_interval(), None, "idle again");
}

#[test]
fn a_change_after_a_failure_carries_the_failed_one() {
    let mut app = app();
    let f = frame(&app.update(ch('+')));
    app.update(sent(f.generation, Err("timeout")));
    let next = frame(&app.update(ch('+')));
    assert_eq!(next.data, slots(&[(0, 2)]));
    app.update(sent(next.generation, Ok(())));
    assert!(!app.dmx.console.is_pending());
    assert_eq!(app.dmx.console.send_failure(), None);
}

#[test]
fn olad_lost_keeps_values_and_the_reconnect_resends_them() {
    let mut app = app();
    let f = frame(&app.update(ch('+')));
    app.update(sent(f.generation, Ok(())));
    app.update(state(OladState::Retrying {
        reason: "connection reset by peer".into(),
    }));
    assert!(
        feedback(&app).contains(
            "Connection No longer connected to olad at 127.0.0.1:9010: connection reset by peer; reconnecting"
        ),
        "{}",
        feedback(&app)
    );
    assert!(
        app.dmx
            .offline_text()
            .is_some_and(|t| t.contains("lost olad at 127.0.0.1:9010"))
    );
    assert!(
        app.update(ch('+')).is_empty(),
        "nothing goes out while down"
    );
    assert_eq!(app.dmx.console.value(0), 2, "the change is kept");
    assert!(app.dmx.console.send_failure().is_some());
    let commands = app.update(state(OladState::Connected));
    assert_eq!(commands[0], Command::Dmx(DmxCommand::Register(1)));
    let resent = frame(&commands[1..2]);
    assert_eq!(resent.data, slots(&[(0, 2)]));
    assert_eq!(commands[2], Command::Dmx(DmxCommand::ListUniverses));
    assert_eq!(app.dmx.offline_text(), None);
}

#[test]
fn a_client_that_restored_itself_is_not_registered_again() {
    let mut app = app();
    let f = frame(&app.update(ch('+')));
    app.update(sent(f.generation, Ok(())));
    app.update(state(OladState::Retrying {
        reason: "connection reset by peer".into(),
    }));
    // The client re-registered and re-sent its last frame on its own: no
    // second registration (that would unregister and register again), and
    // no second copy of that frame.
    let commands = app.update(dmx(DmxEvent::Reconnected { failed: vec![] }));
    assert_eq!(commands, [Command::Dmx(DmxCommand::ListUniverses)]);
    assert!(feedback(&app).contains("connected again to olad at 127.0.0.1:9010"));
    assert_eq!(app.dmx.offline_text(), None);

    // A change made while olad was away never reached the client: it goes.
    app.update(state(OladState::Retrying {
        reason: "connection reset by peer".into(),
    }));
    assert!(app.update(ch('+')).is_empty());
    let commands = app.update(dmx(DmxEvent::Reconnected { failed: vec![] }));
    assert_eq!(frame(&commands[0..1]).data, slots(&[(0, 2)]));
    assert_eq!(commands[1..], [Command::Dmx(DmxCommand::ListUniverses)]);
    app.update(sent(frame(&commands[0..1]).generation, Ok(())));

    // What it could not restore is said, and the tab restores it.
    app.update(state(OladState::Retrying {
        reason: "connection reset by peer".into(),
    }));
    let commands = app.update(dmx(DmxEvent::Reconnected {
        failed: vec!["could not re-register universe 1: no answer".into()],
    }));
    assert_eq!(commands[0], Command::Dmx(DmxCommand::Register(1)));
    assert!(
        feedback(&app).contains("could not re-register universe 1: no answer"),
        "{}",
        feedback(&app)
    );
}

#[test]
fn olad_not_running_is_said_and_recovers_on_its_own() {
    let mut app = offline_app();
    app.update(state(OladState::NotRunning {
        reason: "Connection refused (os error 111)".into(),
    }));
    assert_eq!(
        app.dmx.offline_text().as_deref(),
        Some(
            "olad is not running at 127.0.0.1:9010; start it (network plugins off on a shared network) or point --olad at it (retrying on its own)"
        )
    );
    // Retries of the same cause log once.
    app.update(state(OladState::Connecting));
    app.update(state(OladState::NotRunning {
        reason: "Connection refused (os error 111)".into(),
    }));
    let lines = feedback(&app);
    assert_eq!(lines.matches("olad is not running").count(), 1, "{lines}");
    // Typed before olad came: kept, and sent once it is there.
    app.update(ch(' '));
    let commands = app.update(state(OladState::Connected));
    assert_eq!(frame(&commands[1..2]).data, slots(&[(0, 255)]));
}

#[test]
fn the_universe_picker_lists_switches_and_patches() {
    let mut app = app();
    assert_eq!(
        app.update(ch('U')),
        vec![Command::Dmx(DmxCommand::ListUniverses)]
    );
    app.update(dmx(DmxEvent::Universes(Ok(vec![
        UniverseEntry {
            universe: 1,
            name: "Dummy".into(),
            output_ports: 1,
        },
        UniverseEntry {
            universe: 7,
            name: "Stage left".into(),
            output_ports: 1,
        },
    ]))));
    app.update(key(KeyCode::Down));
    assert_eq!(
        app.update(key(KeyCode::Enter)),
        vec![
            Command::Dmx(DmxCommand::Load(7)),
            Command::Dmx(DmxCommand::Register(7)),
        ]
    );
    assert!(app.dmx.picker.is_none());
    assert_eq!(app.dmx.console.universe(), 7);
    assert_eq!(app.dmx.universe_name(), Some("Stage left"));
    app.update(dmx(DmxEvent::Loaded {
        universe: 7,
        result: Ok(vec![10, 20]),
    }));
    assert_eq!(&app.dmx.console.values()[..3], &[10, 20, 0]);
    let f = frame(&app.update(ch('+')));
    assert_eq!((f.universe, f.data[0]), (7, 11));
    app.update(sent(f.generation, Ok(())));

    // Patch a port to make universe 3, named.
    app.update(ch('U'));
    app.update(dmx(DmxEvent::Universes(Ok(vec![UniverseEntry {
        universe: 7,
        name: "Stage left".into(),
        output_ports: 1,
    }]))));
    assert_eq!(
        app.update(ch('p')),
        vec![Command::Dmx(DmxCommand::ListPorts)]
    );
    let port = PortEntry {
        device_alias: 2,
        device: "Dummy Device".into(),
        port_id: 0,
        is_output: true,
        description: "Dummy Port".into(),
    };
    app.update(dmx(DmxEvent::Ports(Ok(vec![port.clone()]))));
    app.update(key(KeyCode::Tab)); // universe field (pre-filled with 1, the first free)
    app.update(key(KeyCode::Backspace));
    app.update(ch('3'));
    app.update(key(KeyCode::Tab)); // name
    for c in "Wash q".chars() {
        assert!(app.update(ch(c)).is_empty(), "q types into the field");
    }
    assert!(!app.quitting);
    let patch = DmxCommand::Patch {
        port: port.clone(),
        universe: 3,
        name: Some("Wash q".into()),
    };
    assert_eq!(app.update(key(KeyCode::Enter)), vec![Command::Dmx(patch)]);
    // Typing on while olad is asked changes nothing that was sent.
    app.update(ch('!'));
    app.update(key(KeyCode::Esc));
    assert_eq!(
        app.update(dmx(DmxEvent::Patched {
            port,
            universe: 3,
            name: Some("Wash q".into()),
            result: Ok(()),
        })),
        vec![
            Command::Dmx(DmxCommand::Load(3)),
            Command::Dmx(DmxCommand::Register(3)),
        ]
    );
    assert!(app.dmx.patch.is_none());
    assert_eq!(app.dmx.console.universe(), 3);
    assert!(feedback(&app).contains("patched 2 Dummy Device, output 0 (Dummy Port) to universe 3"));
    assert_eq!(app.dmx.universe_name(), Some("Wash q"));
}

#[test]
fn a_refused_patch_keeps_the_form_and_what_was_typed() {
    let mut app = app();
    app.update(ch('U'));
    app.update(dmx(DmxEvent::Universes(Ok(Vec::new()))));
    app.update(key(KeyCode::Enter)); // the only row: patch a port
    app.update(dmx(DmxEvent::Ports(Ok(vec![PortEntry {
        device_alias: 1,
        device: "Dummy Device".into(),
        port_id: 0,
        is_output: true,
        description: String::new(),
    }]))));
    app.update(key(KeyCode::Tab));
    app.update(key(KeyCode::Tab));
    app.update(ch('X'));
    let commands = app.update(key(KeyCode::Enter));
    let [Command::Dmx(patch)] = &commands[..] else {
        panic!("{commands:?}")
    };
    app.update(dmx(
        patch.failed("olad refused PatchPort: Port doesn't exist".into())
    ));
    let form = app.dmx.patch.as_ref().expect("still open");
    assert_eq!(form.name.text(), "X");
    assert!(!form.busy);
    assert!(feedback(&app).contains("cannot patch universe 1: olad refused PatchPort"));
}

#[test]
fn priority_field_sends_and_refuses_out_of_range() {
    let mut app = app();
    app.update(ch('p'));
    app.update(key(KeyCode::Backspace));
    app.update(key(KeyCode::Backspace));
    app.update(key(KeyCode::Backspace));
    for c in "250".chars() {
        app.update(ch(c));
    }
    assert!(app.update(key(KeyCode::Enter)).is_empty());
    assert!(app.dmx.field.is_some(), "kept open with the text");
    assert!(feedback(&app).contains("priority 250 is out of range 0..=200"));
    app.update(key(KeyCode::Backspace));
    app.update(key(KeyCode::Backspace));
    app.update(ch('0'));
    app.update(ch('0'));
    let f = frame(&app.update(key(KeyCode::Enter)));
    assert_eq!((f.priority, f.data), (200, [0; SLOTS]));
    assert!(app.dmx.field.is_none());
}

/// The prompts open with the current value, which what is typed replaces:
/// `p 3 0 Enter` is priority 30, not 10030; from a 1.5 s fade, `t 3 Enter`
/// is 3 s, not 1.53.
#[test]
fn priority_and_fade_prompts_replace_the_current_value_and_refuse_letters() {
    let mut app = app();
    app.update(ch('p'));
    assert_eq!(app.dmx.field.as_ref().unwrap().input.text(), "100");
    app.update(ch('3'));
    app.update(ch('0'));
    let f = frame(&app.update(key(KeyCode::Enter)));
    assert_eq!(f.priority, 30);
    app.update(sent(f.generation, Ok(())));

    for (keys, fade) in [("1.5", 1.5), ("3", 3.0)] {
        app.update(ch('t'));
        for c in keys.chars() {
            app.update(ch(c));
        }
        app.update(key(KeyCode::Enter));
        assert!(app.dmx.field.is_none(), "{keys}: {}", feedback(&app));
        assert_eq!(app.dmx.console.fade_time().as_secs_f64(), fade);
    }

    // Console keys typed by habit do not become part of the number.
    app.update(ch('p'));
    for c in "2f0b".chars() {
        app.update(ch(c));
    }
    let field = app.dmx.field.as_ref().unwrap();
    assert_eq!(field.input.text(), "20");
    assert_eq!(
        field.error.as_deref(),
        Some("priority takes digits (0..=200), then Enter; Esc cancels")
    );
    // Editing goes on, and the note goes once the text changes.
    app.update(key(KeyCode::Backspace));
    app.update(key(KeyCode::Backspace));
    let field = app.dmx.field.as_ref().unwrap();
    assert_eq!((field.input.text(), field.error.as_deref()), ("", None));
    app.update(ch('2'));
    app.update(ch('0'));
    let f = frame(&app.update(key(KeyCode::Enter)));
    assert_eq!(f.priority, 20);
    assert_eq!(f.data, [0; SLOTS], "neither full nor blackout happened");
}

#[test]
fn scenes_fade_with_ticks_only_while_fading() {
    let mut app = app();
    let f = frame(&app.update(ch('F')));
    app.update(sent(f.generation, Ok(())));
    app.update(AppEvent::Key(KeyEvent::new(
        KeyCode::F(1),
        KeyModifiers::SHIFT,
    )));
    assert!(app.dmx.console.scene_stored(0));
    let f = frame(&app.update(ch('B')));
    app.update(sent(f.generation, Ok(())));
    app.update(ch('t'));
    app.update(key(KeyCode::Backspace));
    app.update(ch('2'));
    app.update(key(KeyCode::Enter));
    assert_eq!(app.dmx.console.fade_time(), Duration::from_secs(2));
    assert_eq!(app.tick_interval(), None);
    assert!(
        app.update(key(KeyCode::F(1))).is_empty(),
        "a fade starts dark"
    );
    assert_eq!(app.tick_interval(), Some(FADE_TICK));
    app.now += Duration::from_secs(1);
    let mid = frame(&app.update(AppEvent::Tick));
    assert_eq!(mid.data, [128; SLOTS]);
    app.now += Duration::from_secs(1);
    app.take_dirty();
    assert!(app.update(AppEvent::Tick).is_empty(), "held: one in flight");
    assert!(app.take_dirty(), "a held step still shows");
    let end = frame(&app.update(sent(mid.generation, Ok(()))));
    assert_eq!(end.data, [255; SLOTS]);
    app.update(sent(end.generation, Ok(())));
    assert_eq!(app.tick_interval(), None, "the fade is over: no ticks");
}

#[test]
fn a_click_moves_the_cursor_and_the_wheel_moves_a_row() {
    let mut app = app();
    app.update(AppEvent::Resize(100, 30));
    let mut terminal = Terminal::new(TestBackend::new(100, 30)).unwrap();
    terminal.draw(|f| rvshell::ui::draw(&app, f)).unwrap();
    let grid = app.dmx.grid.get();
    let columns = grid.columns();
    assert_eq!(columns, 16);
    // Find the cell of slot 20 by scanning the body.
    let (x, y) = (0..30u16)
        .flat_map(|y| (0..100u16).map(move |x| (x, y)))
        .find(|&(x, y)| grid.slot_at(x, y) == Some(20))
        .expect("slot 20 is on screen");
    let click = |kind| {
        AppEvent::Mouse(MouseEvent {
            kind,
            column: x,
            row: y,
            modifiers: KeyModifiers::NONE,
        })
    };
    assert!(
        app.update(click(MouseEventKind::Down(MouseButton::Left)))
            .is_empty()
    );
    assert_eq!(app.dmx.console.cursor(), 20);
    app.update(click(MouseEventKind::ScrollDown));
    assert_eq!(app.dmx.console.cursor(), 36);
    app.update(click(MouseEventKind::ScrollUp));
    assert_eq!(app.dmx.console.cursor(), 20);
}

#[test]
fn not_installed_says_how_to_get_olad() {
    let mut app = offline_app();
    app.update(state(OladState::NotInstalled));
    assert!(
        app.dmx
            .offline_text()
            .is_some_and(|t| t.contains("apt-get install ola"))
    );
    assert!(feedback(&app).contains("apt-get install ola"));
    assert!(app.update(ch('+')).is_empty());
    assert!(
        app.update(ch('U')).is_empty(),
        "the picker opens without olad"
    );
    assert!(app.dmx.picker.is_some());
}

#[test]
fn quit_still_works_from_the_dmx_tab() {
    let mut app = app();
    assert_eq!(app.update(ch('q')), vec![Command::Quit]);
}

#[test]
fn four_and_alt_four_open_the_dmx_tab_and_typing_four_in_the_editor_does_not() {
    let mut app = App::new(vec!["127.0.0.1:45124".into()], History::default());
    app.update(ch('4'));
    assert_eq!(app.tab, Tab::Dmx);
    app.update(ch('2'));
    assert_eq!(app.tab, Tab::Dmx, "digits type a value in the DMX tab");
    assert_eq!(app.dmx.console.entry(), Some("2"));
    app.update(AppEvent::Key(KeyEvent::new(
        KeyCode::Char('2'),
        KeyModifiers::ALT,
    )));
    assert_eq!(app.tab, Tab::RawEvent, "the editor has the keys now");
    app.update(ch('4'));
    assert_eq!(app.tab, Tab::RawEvent);
    assert!(app.code().ends_with('4'));
    app.update(AppEvent::Key(KeyEvent::new(
        KeyCode::Char('4'),
        KeyModifiers::ALT,
    )));
    assert_eq!(app.tab, Tab::Dmx);
}

#[test]
fn a_value_being_typed_survives_olads_values_arriving() {
    let mut app = offline_app();
    app.update(state(OladState::Connected));
    app.update(ch('7'));
    app.update(dmx(DmxEvent::Loaded {
        universe: 1,
        result: Ok(vec![200; SLOTS]),
    }));
    assert_eq!(app.dmx.console.entry(), Some("7"));
    let f = frame(&app.update(key(KeyCode::Enter)));
    assert_eq!(f.data, slots(&[(0, 7)]));
}

#[test]
fn quitting_hands_the_runner_the_newest_unsent_state() {
    let mut app = app();
    assert_eq!(app.dmx.final_frame(), None, "nothing changed");
    let first = frame(&app.update(ch('+')));
    app.update(ch('+')); // held behind the first
    assert_eq!(app.update(ch('q')), vec![Command::Quit]);
    let last = app.dmx.final_frame().expect("the held change");
    assert_eq!(last.data, slots(&[(0, 2)]));
    assert!(last.generation > first.generation);
    assert_eq!(app.dmx.final_frame(), None, "handed out once");
}

#[test]
fn the_picker_goes_to_a_typed_universe_number() {
    let mut app = app();
    app.update(ch('U'));
    app.update(dmx(DmxEvent::Universes(Ok(vec![UniverseEntry {
        universe: 1,
        name: "Dummy".into(),
        output_ports: 1,
    }]))));
    for c in "420".chars() {
        assert!(app.update(ch(c)).is_empty());
    }
    app.update(key(KeyCode::Backspace));
    assert_eq!(
        app.update(key(KeyCode::Enter)),
        vec![
            Command::Dmx(DmxCommand::Load(42)),
            Command::Dmx(DmxCommand::Register(42)),
        ]
    );
    assert_eq!(app.dmx.console.universe(), 42);
    // Past olad's int32 the digit is refused.
    app.update(ch('U'));
    for c in "99999999999".chars() {
        app.update(ch(c));
    }
    assert_eq!(
        app.dmx.picker.as_ref().map(|p| p.typed.as_str()),
        Some("999999999")
    );
}

/// Opens the universe picker listing 1 and 7 and picks 7.
fn pick_universe_7(app: &mut App) -> Vec<Command> {
    app.update(ch('U'));
    app.update(dmx(DmxEvent::Universes(Ok(vec![
        UniverseEntry {
            universe: 1,
            name: "Dummy".into(),
            output_ports: 1,
        },
        UniverseEntry {
            universe: 7,
            name: "Stage left".into(),
            output_ports: 1,
        },
    ]))));
    app.update(key(KeyCode::Down));
    app.update(key(KeyCode::Enter))
}

#[test]
fn a_change_held_behind_a_send_still_reaches_its_universe_after_a_switch() {
    let mut app = app();
    let first = frame(&app.update(ch('+')));
    // In flight: the next change waits.
    assert!(app.update(ch('+')).is_empty());
    let commands = pick_universe_7(&mut app);
    assert_eq!(
        commands,
        vec![
            Command::Dmx(DmxCommand::Load(7)),
            Command::Dmx(DmxCommand::Register(7)),
        ]
    );
    let held = frame(&app.update(sent(first.generation, Ok(()))));
    assert_eq!((held.universe, held.data), (1, slots(&[(0, 2)])));
}

#[test]
fn a_failed_change_is_sent_to_its_universe_on_a_switch_not_dropped() {
    let mut app = app();
    let first = frame(&app.update(ch('+')));
    app.update(sent(first.generation, Err("Universe doesn't exist")));
    let commands = pick_universe_7(&mut app);
    assert_eq!(
        commands[..2],
        [
            Command::Dmx(DmxCommand::Load(7)),
            Command::Dmx(DmxCommand::Register(7)),
        ]
    );
    let again = frame(&commands[2..]);
    assert_eq!((again.universe, again.data), (1, slots(&[(0, 1)])));
    // Failing there again, it is said to be dropped, for universe 1; no
    // retry is promised or made.
    assert!(
        app.update(sent_to(1, again.generation, Err("Universe doesn't exist")))
            .is_empty()
    );
    assert!(
        feedback(&app).contains(
            "DMX send to universe 1 failed: Universe doesn't exist; that change is dropped \
             (the console is on universe 7 now)"
        ),
        "{}",
        feedback(&app)
    );
    app.now += Duration::from_secs(10);
    assert!(app.update(AppEvent::Tick).is_empty(), "no retry");
}

#[test]
fn a_change_made_without_olad_is_said_to_be_dropped_on_a_switch() {
    let mut app = app();
    app.update(state(OladState::Retrying {
        reason: "connection reset by peer".into(),
    }));
    app.update(ch('+'));
    assert!(pick_universe_7(&mut app).is_empty());
    assert!(
        feedback(&app).contains("The last change to universe 1 never reached olad"),
        "{}",
        feedback(&app)
    );
}

#[test]
fn every_command_has_a_failure_answer_that_names_what_failed() {
    let port = PortEntry {
        device_alias: 2,
        device: "Dummy Device".into(),
        port_id: 0,
        is_output: true,
        description: "Dummy Port".into(),
    };
    let frame = Frame {
        universe: 4,
        priority: 100,
        generation: 9,
        data: [0; SLOTS],
    };
    let err = || Err("down".to_owned());
    for (command, answer) in [
        (
            DmxCommand::Send(Box::new(frame)),
            DmxEvent::Sent {
                universe: 4,
                generation: 9,
                result: err(),
            },
        ),
        (
            DmxCommand::Load(4),
            DmxEvent::Loaded {
                universe: 4,
                result: Err("down".into()),
            },
        ),
        (
            DmxCommand::Register(4),
            DmxEvent::Registered {
                universe: 4,
                result: err(),
            },
        ),
        (
            DmxCommand::ListUniverses,
            DmxEvent::Universes(Err("down".into())),
        ),
        (DmxCommand::ListPorts, DmxEvent::Ports(Err("down".into()))),
        (
            DmxCommand::Patch {
                port: port.clone(),
                universe: 4,
                name: None,
            },
            DmxEvent::Patched {
                port: port.clone(),
                universe: 4,
                name: None,
                result: err(),
            },
        ),
    ] {
        assert_eq!(command.failed("down".into()), answer);
    }
}

#[test]
fn olad_pushes_redraw_only_when_they_show_and_change() {
    let mut app = app();
    let push = |value| {
        dmx(DmxEvent::Readback {
            universe: 1,
            data: slots(&[(0, value)]).to_vec(),
        })
    };
    app.take_dirty();
    app.update(push(10));
    assert!(app.take_dirty(), "a new readback on the DMX tab");
    app.update(push(10));
    assert!(!app.take_dirty(), "the same values again");
    app.update(dmx(DmxEvent::Readback {
        universe: 2,
        data: vec![1],
    }));
    assert!(!app.take_dirty(), "another universe");
    app.update(key(KeyCode::Tab)); // from the last tab to the first
    assert_eq!(app.tab, Tab::Playback);
    app.take_dirty();
    app.update(push(20));
    assert!(!app.take_dirty(), "not shown on another tab");
    assert_eq!(
        app.dmx.console.readback().map(|r| r[0]),
        Some(20),
        "but kept"
    );
}

/// A universe with no output port: frames sent there go nowhere, and the
/// tab says so when it is picked, with the key that patches one.
#[test]
fn picking_a_universe_without_an_output_port_says_frames_go_nowhere() {
    let mut app = app();
    app.update(ch('U'));
    app.update(dmx(DmxEvent::Universes(Ok(vec![
        UniverseEntry {
            universe: 1,
            name: "Dummy".into(),
            output_ports: 1,
        },
        UniverseEntry {
            universe: 9,
            name: "Inputs only".into(),
            output_ports: 0,
        },
    ]))));
    app.update(key(KeyCode::Down));
    app.update(key(KeyCode::Enter));
    assert_eq!(app.dmx.console.universe(), 9);
    let lines = feedback(&app);
    assert!(
        lines.contains("Universe 9 has no output port patched: frames sent there go nowhere"),
        "{lines}"
    );
    assert!(lines.contains("U then p patches a port"), "{lines}");
    // A patched universe says nothing of the kind.
    app.update(ch('U'));
    app.update(dmx(DmxEvent::Universes(Ok(vec![UniverseEntry {
        universe: 1,
        name: "Dummy".into(),
        output_ports: 1,
    }]))));
    app.update(key(KeyCode::Up));
    app.update(key(KeyCode::Enter));
    assert_eq!(app.dmx.console.universe(), 1);
    assert_eq!(feedback(&app).matches("no output port patched").count(), 1);
}

#[test]
fn a_refused_value_is_said_in_the_feedback_too() {
    let mut app = app();
    for c in "300".chars() {
        app.update(ch(c));
    }
    let commands = app.update(key(KeyCode::Enter));
    assert!(commands.is_empty(), "{commands:?}");
    let text = feedback(&app);
    assert!(
        text.lines()
            .any(|l| l.starts_with("Error") && l.contains("300") && l.contains("0..=255")),
        "{text}"
    );
    // A value that is set logs nothing of the kind.
    for c in "200".chars() {
        app.update(ch(c));
    }
    frame(&app.update(key(KeyCode::Enter)));
    assert_eq!(feedback(&app).matches("0..=255").count(), 1);
}
