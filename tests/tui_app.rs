//! App state tests: events in, commands out. No terminal, no network.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use rvshell::app::feedback::LineKind;
use rvshell::app::history::{Entry, History};
use rvshell::app::layout::Button;
use rvshell::app::{App, AppEvent, Command, Focus, NetEvent, Tab, mu};
use rvshell::rv::client::{ClientEvent, ConnState};
use rvshell::rv::message::Event;
use std::time::Duration;

mod common;

use common::events::{ch, key};

fn ctrl(c: char) -> AppEvent {
    AppEvent::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
}

fn alt(code: KeyCode) -> AppEvent {
    AppEvent::Key(KeyEvent::new(code, KeyModifiers::ALT))
}

fn connected(contact: usize) -> AppEvent {
    AppEvent::Net(NetEvent::State {
        contact,
        state: ConnState::Connected {
            peer: "rvsim".into(),
        },
    })
}

fn app_with(contacts: usize) -> App {
    let addresses = (0..contacts)
        .map(|i| format!("127.0.0.1:{}", 45124 + i))
        .collect();
    let mut app = App::new(addresses, History::default());
    for i in 0..contacts {
        app.update(connected(i));
    }
    app
}

fn type_text(app: &mut App, text: &str) -> Vec<Command> {
    let mut out = Vec::new();
    for c in text.chars() {
        out.extend(app.update(ch(c)));
    }
    out
}

fn send(request: u64, contact: usize, name: &str, code: &str, rsvp: bool) -> Command {
    Command::Send {
        request,
        contact,
        event: Event::new(name, code),
        rsvp,
    }
}

/// Clears the editor (it starts with `play()`).
fn clear_editor(app: &mut App) {
    app.update(key(KeyCode::End));
    for _ in 0..32 {
        app.update(key(KeyCode::Backspace));
    }
    assert_eq!(app.code(), "");
}

#[test]
fn playback_keys_send_exactly_the_mu_of_rvshell() {
    let mut app = app_with(1);
    assert_eq!(
        app.update(ch(' ')),
        vec![send(1, 0, "remote-eval", mu::PLAY, true)]
    );
    assert_eq!(
        app.update(ch(' ')),
        vec![send(2, 0, "remote-eval", mu::STOP, true)]
    );
    assert_eq!(
        app.update(key(KeyCode::Right)),
        vec![send(3, 0, "remote-eval", mu::FORWARD, true)]
    );
    assert_eq!(
        app.update(key(KeyCode::Left)),
        vec![send(4, 0, "remote-eval", mu::BACK, true)]
    );
    assert_eq!(
        app.update(ch('p')),
        vec![send(5, 0, "remote-eval", mu::PLAY, true)]
    );
    assert_eq!(
        app.update(ch('s')),
        vec![send(6, 0, "remote-eval", mu::STOP, true)]
    );
    // Full Screen and Cache are EVENTs that toggle.
    assert_eq!(
        app.update(ch('f')),
        vec![send(7, 0, "remote-eval", "fullScreenMode(true)", false)]
    );
    assert_eq!(
        app.update(ch('f')),
        vec![send(8, 0, "remote-eval", "fullScreenMode(false)", false)]
    );
    assert_eq!(
        app.update(ch('c')),
        vec![send(
            9,
            0,
            "remote-eval",
            "setCacheMode(CacheBuffer)",
            false
        )]
    );
    assert_eq!(
        app.update(ch('c')),
        vec![send(10, 0, "remote-eval", "setCacheMode(CacheOff)", false)]
    );
    // Go to frame: g, digits, Enter.
    assert!(app.update(ch('g')).is_empty());
    assert_eq!(app.focus, Focus::GoTo);
    // Letters are refused; Ctrl+U edits as in every field.
    assert!(type_text(&mut app, "7x").is_empty());
    assert_eq!(app.goto.text(), "7");
    app.update(ctrl('u'));
    assert_eq!(app.goto.text(), "");
    assert!(type_text(&mut app, "42").is_empty());
    assert_eq!(
        app.update(key(KeyCode::Enter)),
        vec![send(
            11,
            0,
            "remote-eval",
            r#"setFrame(42);"FRAME = " + frame();"#,
            true
        )]
    );
    assert_eq!(app.focus, Focus::None);
}

#[test]
fn the_mu_constants_match_the_spec_bytes() {
    // rv-protocol.md §8 gives the wire frame lengths with target `*`.
    let frame = |code: &str, kind: &str| {
        let text = format!("{kind} remote-eval * {code}");
        format!("MESSAGE {} {text}", text.len())
    };
    assert_eq!(
        frame(mu::PLAY, "RETURNEVENT"),
        r#"MESSAGE 54 RETURNEVENT remote-eval * play();"FRAME = " + frame();"#
    );
    assert!(frame(mu::STOP, "RETURNEVENT").starts_with("MESSAGE 54 "));
    assert!(frame(mu::FORWARD, "RETURNEVENT").starts_with("MESSAGE 77 "));
    assert!(frame(mu::BACK, "RETURNEVENT").starts_with("MESSAGE 78 "));
    assert!(frame(mu::FULL_SCREEN_ON, "EVENT").starts_with("MESSAGE 40 "));
    assert!(frame(mu::CACHE_ON, "EVENT").starts_with("MESSAGE 45 "));
}

#[test]
fn clicking_buttons_sends_the_same_commands_as_keys() {
    let mut app = app_with(1);
    app.update(AppEvent::Resize(100, 30));
    let areas = app.areas();
    let center = |b: Button| {
        let (_, r) = areas.buttons.iter().find(|(x, _)| *x == b).unwrap();
        (r.x + r.width / 2, r.y + r.height / 2)
    };
    let click = |(column, row): (u16, u16)| {
        AppEvent::Mouse(MouseEvent {
            kind: MouseEventKind::Down(MouseButton::Left),
            column,
            row,
            modifiers: KeyModifiers::NONE,
        })
    };
    assert_eq!(
        app.update(click(center(Button::Play))),
        vec![send(1, 0, "remote-eval", mu::PLAY, true)]
    );
    assert_eq!(
        app.update(click(center(Button::Forward))),
        vec![send(2, 0, "remote-eval", mu::FORWARD, true)]
    );
    assert_eq!(
        app.update(click(center(Button::Cache))),
        vec![send(3, 0, "remote-eval", mu::CACHE_ON, false)]
    );
    // The tab bar is clickable too.
    let (_, raw) = *areas
        .tabs
        .iter()
        .find(|(t, _)| *t == Tab::RawEvent)
        .unwrap();
    assert!(app.update(click((raw.x + 1, raw.y))).is_empty());
    assert_eq!(app.tab, Tab::RawEvent);
}

#[test]
fn a_return_is_tied_to_the_request_that_asked() {
    let mut app = app_with(1);
    app.update(ch(' '));
    app.update(key(KeyCode::Right));
    // Answers come back by id, in any order.
    app.update(AppEvent::Net(NetEvent::Reply {
        request: 2,
        result: Ok(r#""FRAME = 17""#.into()),
    }));
    let last = app.feedback.lines().back().unwrap().clone();
    assert_eq!(last.kind, LineKind::Return);
    assert_eq!(last.text, r#"RETURN "FRAME = 17""#);
    assert_eq!(last.request.as_deref(), Some(mu::FORWARD));
    assert_eq!(last.from, "rvsim@127.0.0.1:45124");
    assert_eq!(app.frame, Some(17));
    app.update(AppEvent::Net(NetEvent::Reply {
        request: 1,
        result: Err("RV did not answer".into()),
    }));
    let last = app.feedback.lines().back().unwrap().clone();
    assert_eq!(last.kind, LineKind::Error);
    assert_eq!(last.request.as_deref(), Some(mu::PLAY));
    assert_eq!(app.frame, Some(17));
    assert_eq!(app.pending_count(), 0);
}

#[test]
fn incoming_messages_are_logged_with_their_contact() {
    let mut app = app_with(1);
    let net = |event| AppEvent::Net(NetEvent::Client { contact: 0, event });
    app.update(net(ClientEvent::Event(Event::new("frame-changed", "12"))));
    app.update(net(ClientEvent::UnexpectedReturn("7".into())));
    app.update(net(ClientEvent::LateReturn {
        request: mu::PLAY.into(),
        value: r#""FRAME = 3""#.into(),
    }));
    let texts: Vec<String> = app
        .feedback
        .lines()
        .iter()
        .map(|l| l.text.clone())
        .collect();
    assert!(texts.contains(&"EVENT frame-changed * 12".to_owned()));
    assert!(texts.iter().any(|t| t.starts_with("RETURN 7 (no request")));
    assert!(
        texts
            .iter()
            .any(|t| t.starts_with(r#"RETURN "FRAME = 3" (late"#))
    );
    assert_eq!(app.frame, Some(3));
}

#[test]
fn a_send_while_disconnected_is_refused_and_keeps_the_text() {
    let mut app = App::new(vec!["127.0.0.1:1".into()], History::default());
    app.update(AppEvent::Net(NetEvent::State {
        contact: 0,
        state: ConnState::Retrying {
            reason: "Connection refused".into(),
            delay: Duration::from_secs(2),
        },
    }));
    app.update(ch('2'));
    assert_eq!(app.tab, Tab::RawEvent);
    assert_eq!(app.focus, Focus::Editor);
    clear_editor(&mut app);
    type_text(&mut app, "sources()");
    app.update(key(KeyCode::Enter));
    type_text(&mut app, "q");
    assert!(app.update(ctrl('s')).is_empty());
    assert_eq!(app.code(), "sources()\nq");
    let last = app.feedback.lines().back().unwrap();
    assert_eq!(last.kind, LineKind::Error);
    assert!(
        last.text.contains("not connected to RV at 127.0.0.1:1"),
        "{}",
        last.text
    );
    assert!(last.text.contains("nothing was sent; your text is kept"));
    assert!(app.history.entries().is_empty());
    // Playback buttons are refused the same way.
    app.update(ch('1'));
    assert!(app.update(ch(' ')).is_empty());
    assert!(!app.playing);
}

#[test]
fn names_and_targets_with_spaces_are_refused() {
    let mut app = app_with(1);
    app.update(ch('2'));
    app.update(key(KeyCode::Tab));
    assert_eq!(app.focus, Focus::Name);
    type_text(&mut app, " x");
    assert_eq!(app.name.text(), "remote-eval x");
    assert!(app.update(ctrl('s')).is_empty());
    let last = app.feedback.lines().back().unwrap();
    assert!(
        last.text.contains("name \"remote-eval x\""),
        "{}",
        last.text
    );
    assert!(last.text.contains("spaces"));
    assert_eq!(app.code(), "play()");
}

#[test]
fn raw_event_sends_name_target_kind_and_records_history() {
    let mut app = app_with(1);
    app.update(ch('2'));
    // Default: RETURNEVENT remote-eval * play()
    let out = app.update(ctrl('s'));
    assert_eq!(out[0], send(1, 0, "remote-eval", "play()", true));
    let Command::SaveHistory(text) = &out[1] else {
        panic!("expected SaveHistory, got {out:?}")
    };
    let saved = History::from_text(text, 10);
    assert_eq!(saved.entries().len(), 1);
    // Ctrl+N cycles the name, Ctrl+T makes it an EVENT, the target can be typed.
    app.update(ctrl('n'));
    assert_eq!(app.name.text(), "remote-pyeval");
    app.update(ctrl('n'));
    assert_eq!(app.name.text(), "remote-pyexec");
    app.update(ctrl('t'));
    assert!(!app.rsvp);
    app.update(key(KeyCode::Tab));
    app.update(key(KeyCode::Tab));
    assert_eq!(app.focus, Focus::Target);
    app.update(key(KeyCode::Backspace));
    type_text(&mut app, "viewer");
    let out = app.update(ctrl('s'));
    assert_eq!(
        out[0],
        Command::Send {
            request: 2,
            contact: 0,
            event: Event {
                name: "remote-pyexec".into(),
                target: "viewer".into(),
                contents: "play()".into()
            },
            rsvp: false
        }
    );
    assert_eq!(app.history.entries().len(), 2);
}

#[test]
fn history_recall_walks_back_and_returns_to_the_draft() {
    let mut app = app_with(1);
    app.update(ch('2'));
    for code in ["one()", "two()"] {
        clear_editor(&mut app);
        type_text(&mut app, code);
        app.update(ctrl('s'));
    }
    clear_editor(&mut app);
    type_text(&mut app, "draft");
    app.update(alt(KeyCode::Up));
    assert_eq!(app.code(), "two()");
    app.update(AppEvent::Key(KeyEvent::new(
        KeyCode::Up,
        KeyModifiers::CONTROL,
    )));
    assert_eq!(app.code(), "one()");
    app.update(alt(KeyCode::Up));
    assert_eq!(app.code(), "one()", "nothing older");
    app.update(alt(KeyCode::Down));
    assert_eq!(app.code(), "two()");
    app.update(alt(KeyCode::Down));
    assert_eq!(app.code(), "draft");
    // Plain arrows still move inside the editor.
    app.update(key(KeyCode::Up));
    assert_eq!(app.code(), "draft");
}

#[test]
fn history_file_round_trips_multiline_code_and_caps() {
    let mut history = History::new(2);
    for code in ["a\tb", "line1\nline2\\n", "third"] {
        history.push(Entry {
            name: "remote-eval".into(),
            target: "*".into(),
            rsvp: code != "third",
            code: code.into(),
        });
    }
    let loaded = History::from_text(&history.to_text(), 10);
    let codes: Vec<&str> = loaded.entries().iter().map(|e| e.code.as_str()).collect();
    assert_eq!(codes, ["line1\nline2\\n", "third"]);
    assert!(!loaded.entries()[1].rsvp);
}

#[test]
fn search_finds_matches_and_n_moves_between_them() {
    let mut app = app_with(1);
    for value in ["alpha", "beta", "alphabet", "gamma"] {
        app.update(AppEvent::Net(NetEvent::Client {
            contact: 0,
            event: ClientEvent::UnexpectedReturn(value.into()),
        }));
    }
    let index_of = |app: &App, text: &str| {
        app.feedback
            .lines()
            .iter()
            .position(|l| l.text.starts_with(&format!("RETURN {text} ")))
    };
    app.update(ch('/'));
    assert!(app.in_text());
    type_text(&mut app, "ALPHA");
    assert_eq!(app.feedback.hit, index_of(&app, "alphabet"));
    app.update(key(KeyCode::Enter));
    assert!(!app.in_text());
    app.update(ch('n'));
    assert_eq!(app.feedback.hit, index_of(&app, "alpha"));
    app.update(AppEvent::Key(KeyEvent::new(
        KeyCode::Char('N'),
        KeyModifiers::SHIFT,
    )));
    assert_eq!(app.feedback.hit, index_of(&app, "alphabet"));
    // The hit is scrolled into view at the bottom of the pane.
    assert_eq!(app.feedback.bottom_index(), app.feedback.hit.unwrap());
    app.update(key(KeyCode::Esc));
    assert_eq!(app.feedback.hit, None);
    assert!(app.feedback.search.is_none());
}

#[test]
fn quit_signs_off_but_q_in_a_text_field_is_text() {
    let mut app = app_with(1);
    app.update(ch('2'));
    assert!(type_text(&mut app, "q").is_empty());
    assert!(app.code().ends_with('q'));
    assert!(!app.quitting);
    assert_eq!(app.update(ctrl('c')), vec![Command::Quit]);
    let mut app = app_with(1);
    assert_eq!(app.update(ch('q')), vec![Command::Quit]);
    assert!(app.quitting);
}

#[test]
fn idle_means_no_tick_and_polling_keeps_one_request_in_flight() {
    let mut app = app_with(1);
    assert_eq!(app.tick_interval(), None);
    app.update(ch('w'));
    assert!(app.poll);
    assert_eq!(app.tick_interval(), None, "not playing yet");
    app.update(ch(' '));
    assert!(app.tick_interval().is_some());
    assert_eq!(
        app.update(AppEvent::Tick),
        vec![send(2, 0, "remote-eval", r#""FRAME = " + frame()"#, true)]
    );
    assert!(app.update(AppEvent::Tick).is_empty(), "one poll in flight");
    let before = app.feedback.len();
    app.update(AppEvent::Net(NetEvent::Reply {
        request: 2,
        result: Ok(r#""FRAME = 9""#.into()),
    }));
    assert_eq!(app.frame, Some(9));
    assert_eq!(
        app.feedback.len(),
        before,
        "polls do not flood the feedback"
    );
    // A poll whose answer changes nothing does not redraw; a new frame does.
    app.take_dirty();
    assert_eq!(app.update(AppEvent::Tick).len(), 1);
    assert!(
        !app.take_dirty(),
        "sending a poll changes nothing on screen"
    );
    app.update(AppEvent::Net(NetEvent::Reply {
        request: 3,
        result: Ok(r#""FRAME = 9""#.into()),
    }));
    assert!(!app.take_dirty(), "the same frame again");
    assert_eq!(app.update(AppEvent::Tick).len(), 1);
    app.update(AppEvent::Net(NetEvent::Reply {
        request: 4,
        result: Ok(r#""FRAME = 10""#.into()),
    }));
    assert!(app.take_dirty(), "a new frame redraws");
    assert_eq!(app.frame, Some(10));
    // Nothing changes for a mouse move: no redraw.
    app.take_dirty();
    app.update(AppEvent::Mouse(MouseEvent {
        kind: MouseEventKind::Moved,
        column: 3,
        row: 3,
        modifiers: KeyModifiers::NONE,
    }));
    assert!(!app.take_dirty());
}

#[test]
fn the_frame_poll_asks_the_selected_rv_only_even_when_sending_to_all() {
    let mut app = app_with(2);
    app.update(ch('a'));
    assert!(app.send_to_all);
    app.update(ch('w'));
    assert_eq!(app.update(ch(' ')).len(), 2, "play goes to both");
    assert_eq!(
        app.update(AppEvent::Tick),
        vec![send(3, 0, "remote-eval", r#""FRAME = " + frame()"#, true)]
    );
    assert!(app.send_to_all, "the setting is untouched");
}

#[test]
fn several_contacts_selected_or_all() {
    let mut app = app_with(3);
    app.update(AppEvent::Net(NetEvent::State {
        contact: 1,
        state: ConnState::Retrying {
            reason: "lost".into(),
            delay: Duration::from_secs(1),
        },
    }));
    app.update(ch(']'));
    assert_eq!(app.selected, 1);
    assert!(app.update(ch(' ')).is_empty(), "contact 2 is not connected");
    app.update(ch(']'));
    assert_eq!(
        app.update(ch(' ')),
        vec![send(1, 2, "remote-eval", mu::PLAY, true)]
    );
    app.update(ch('a'));
    let out = app.update(ch('s'));
    let contacts: Vec<usize> = out
        .iter()
        .map(|c| match c {
            Command::Send { contact, .. } => *contact,
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(contacts, [0, 2]);
}

#[test]
fn a_refused_rv_is_logged_once_per_cause() {
    // The client's event and its state change reach the app in either
    // order; the log says the same either way.
    let refused = |state_first: bool| {
        let mut app = App::new(vec!["127.0.0.1:1".into()], History::default());
        for delay in [1, 2, 4] {
            let event = AppEvent::Net(NetEvent::Client {
                contact: 0,
                event: ClientEvent::Disconnected {
                    reason: "cannot connect: Connection refused".into(),
                    retry_in: Some(Duration::from_secs(delay)),
                },
            });
            let state = AppEvent::Net(NetEvent::State {
                contact: 0,
                state: ConnState::Retrying {
                    reason: "cannot connect: Connection refused".into(),
                    delay: Duration::from_secs(delay),
                },
            });
            if state_first {
                app.update(state);
                app.update(event);
            } else {
                app.update(event);
                app.update(state);
            }
        }
        app
    };
    let text = |app: &App| app.feedback.lines().back().unwrap().text.clone();
    assert_eq!(text(&refused(true)), text(&refused(false)));
    assert_eq!(refused(true).feedback.len(), 1);
    let mut app = refused(false);
    assert_eq!(app.feedback.len(), 1);
    assert_eq!(
        app.contacts[0].state_text(app.now),
        "refused, retrying in 4 s"
    );
    // The countdown ticks while retrying, and follows the app's clock.
    assert!(app.tick_interval().is_some());
    app.now = Duration::from_millis(2_500);
    app.take_dirty();
    assert!(app.update(AppEvent::Tick).is_empty());
    assert!(app.take_dirty(), "a countdown tick redraws");
    assert_eq!(
        app.contacts[0].state_text(app.now),
        "refused, retrying in 2 s"
    );
    app.update(AppEvent::Net(NetEvent::State {
        contact: 0,
        state: ConnState::Connecting { attempt: 4 },
    }));
    assert_eq!(app.tick_interval(), None);
}

#[test]
fn the_keymap_has_no_conflicts_within_a_context() {
    use rvshell::app::keymap::KEYMAP;
    for (i, a) in KEYMAP.iter().enumerate() {
        for b in &KEYMAP[i + 1..] {
            if a.context != b.context {
                continue;
            }
            for key in a.keys {
                assert!(
                    !b.keys.contains(key),
                    "{} is bound twice in {:?}: {:?} and {:?}",
                    key.label(),
                    a.context,
                    a.action,
                    b.action
                );
            }
        }
    }
}

#[test]
fn help_opens_from_anywhere_and_any_key_closes_it() {
    let mut app = app_with(1);
    app.update(ch('?'));
    assert!(app.help);
    assert!(
        app.update(ch('q')).is_empty(),
        "q closes the help, not the shell"
    );
    assert!(!app.help);
    app.update(ch('2'));
    app.update(ch('?'));
    assert!(!app.help, "? is text in the editor");
    assert!(app.code().ends_with('?'));
    app.update(key(KeyCode::F(1)));
    assert!(app.help);
    assert_eq!(app.update(ctrl('c')), vec![Command::Quit]);
}

#[test]
fn paste_goes_to_the_focused_field() {
    let mut app = app_with(1);
    app.update(ch('2'));
    clear_editor(&mut app);
    app.update(AppEvent::Paste("let x = 1;\nx".into()));
    assert_eq!(app.code(), "let x = 1;\nx");
    // Terminals paste line breaks as CR (or CRLF): lines all the same.
    clear_editor(&mut app);
    app.update(AppEvent::Paste(
        "setFrame(42);\r\"FRAME = \" + frame();\r\n1".into(),
    ));
    assert_eq!(app.code(), "setFrame(42);\n\"FRAME = \" + frame();\n1");
    app.update(key(KeyCode::Tab));
    app.update(AppEvent::Paste("-pyexec\n".into()));
    assert_eq!(app.name.text(), "remote-eval-pyexec ", "one line");
    // Outside any field on the Raw Event tab, a paste lands in the editor.
    app.update(key(KeyCode::Esc));
    app.update(AppEvent::Paste("!".into()));
    assert_eq!(app.focus, Focus::Editor);
    assert!(app.code().ends_with('!'));
}

#[test]
fn the_mouse_wheel_scrolls_the_feedback() {
    let mut app = app_with(1);
    app.update(AppEvent::Resize(100, 30));
    for i in 0..50 {
        app.update(AppEvent::Net(NetEvent::Client {
            contact: 0,
            event: ClientEvent::UnexpectedReturn(i.to_string()),
        }));
    }
    let feedback = app.areas().feedback;
    let wheel = |kind| {
        AppEvent::Mouse(MouseEvent {
            kind,
            column: feedback.x + 2,
            row: feedback.y + 2,
            modifiers: KeyModifiers::NONE,
        })
    };
    app.update(wheel(MouseEventKind::ScrollUp));
    assert_eq!(app.feedback.scroll, 3);
    app.update(wheel(MouseEventKind::ScrollDown));
    app.update(wheel(MouseEventKind::ScrollDown));
    assert_eq!(app.feedback.scroll, 0);
    app.update(key(KeyCode::Home));
    assert_eq!(app.feedback.bottom_index(), 0);
    app.update(key(KeyCode::End));
    assert_eq!(app.feedback.scroll, 0);
}

#[test]
fn a_bad_frame_number_is_reported_not_sent() {
    let mut app = app_with(1);
    app.update(ch('g'));
    app.update(ch('-'));
    assert!(app.update(key(KeyCode::Enter)).is_empty());
    let last = app.feedback.lines().back().unwrap();
    assert_eq!(last.kind, LineKind::Error);
    assert!(last.text.contains("not a frame number"), "{}", last.text);
    assert_eq!(app.focus, Focus::GoTo, "the field stays open to fix it");
}

#[test]
fn a_go_to_refused_while_disconnected_keeps_the_field_and_its_number() {
    let mut app = App::new(vec!["127.0.0.1:45124".into()], History::default());
    app.update(ch('g'));
    type_text(&mut app, "42");
    // Not connected yet: nothing can be sent.
    assert!(app.update(key(KeyCode::Enter)).is_empty());
    assert_eq!(app.focus, Focus::GoTo, "the field stays open");
    assert_eq!(app.goto.text(), "42", "the number is kept");
    // Once connected, Enter sends it.
    app.update(connected(0));
    assert_eq!(
        app.update(key(KeyCode::Enter)),
        vec![send(
            1,
            0,
            "remote-eval",
            r#"setFrame(42);"FRAME = " + frame();"#,
            true
        )]
    );
    assert_eq!(app.focus, Focus::None);
}

#[test]
fn clicking_a_contact_selects_it() {
    let mut app = app_with(3);
    app.update(AppEvent::Resize(100, 30));
    app.update(ch('a'));
    let rect = app
        .areas()
        .contacts
        .expect("a contact list with 3 contacts");
    let click = |row| {
        AppEvent::Mouse(MouseEvent {
            kind: MouseEventKind::Down(MouseButton::Left),
            column: rect.x + 3,
            row,
            modifiers: KeyModifiers::NONE,
        })
    };
    app.update(click(rect.y + 1 + 2 * 2 + 1));
    assert_eq!(app.selected, 2);
    assert!(!app.send_to_all);
    app.update(click(rect.y + 1));
    assert_eq!(app.selected, 0);
    app.update(click(rect.y + 1 + 2 * 5));
    assert_eq!(app.selected, 0, "below the list: no change");
}

fn client(contact: usize, event: ClientEvent) -> AppEvent {
    AppEvent::Net(NetEvent::Client { contact, event })
}

fn forwarded(name: &str, contents: &str) -> ClientEvent {
    ClientEvent::RvEvent(rvshell::rv::events::RvEvent::new(
        name,
        contents,
        "127.0.0.1:45124",
    ))
}

#[test]
fn live_events_drive_the_selected_rvs_playback_state_without_polling() {
    use rvshell::app::LiveMode;
    let mut app = app_with(2);
    app.update(connected(0));
    app.update(connected(1));
    // Subscribed: the tab asks for the whole state once.
    let commands = app.update(client(
        0,
        ClientEvent::Subscribed {
            events: vec!["frame-changed".into()],
        },
    ));
    let Some(Command::Send {
        request,
        contact: 0,
        event,
        rsvp: true,
    }) = commands.first()
    else {
        panic!("{commands:?}")
    };
    assert_eq!(event.contents, rvshell::rv::events::STATE_QUERY);
    app.update(AppEvent::Net(NetEvent::Reply {
        request: *request,
        result: Ok(r#""5;false;24.0;1;100;10;90;sourceGroup000000""#.into()),
    }));
    let live = app.live().unwrap();
    assert_eq!(live.mode, LiveMode::Live);
    assert_eq!((live.in_point, live.out_point), (Some(10), Some(90)));
    assert_eq!(app.shown_frame(), Some(5));
    // A flood of frames: the latest wins, nothing is logged per frame.
    let lines = app.feedback.len();
    app.update(client(0, forwarded("play-start", "5")));
    for frame in 6..=200 {
        app.update(client(0, forwarded("frame-changed", &frame.to_string())));
    }
    assert_eq!(app.shown_frame(), Some(200));
    assert!(app.shown_playing());
    assert_eq!(app.feedback.len(), lines + 1, "only play-start is logged");
    // Watch on while live: no polling tick for the frame.
    app.update(ch('w'));
    app.playing = true;
    assert!(app.update(AppEvent::Tick).is_empty());
    // The other RV's events keep its own state; the tab shows the selected one.
    app.update(client(1, forwarded("frame-changed", "77")));
    assert_eq!(app.shown_frame(), Some(200));
    app.update(ch(']'));
    assert_eq!(app.contacts[1].live.frame, Some(77));
    // A refused install says so; the frame then comes from RETURNs.
    app.update(client(
        1,
        ClientEvent::SubscribeFailed {
            reason: "ERROR: no bind".into(),
        },
    ));
    assert!(matches!(app.live().unwrap().mode, LiveMode::Refused(_)));
    assert_eq!(app.shown_frame(), app.frame);
    // ... and Watch falls back to polling it.
    let polled = app.update(AppEvent::Tick);
    assert!(
        matches!(&polled[..], [Command::Send { contact: 1, event, .. }] if event.contents == mu::POLL),
        "{polled:?}"
    );
}

fn last_text(app: &App) -> String {
    app.feedback.lines().back().unwrap().text.clone()
}

#[test]
fn a_frame_number_that_is_too_large_is_called_that() {
    let mut app = app_with(1);
    app.update(ch('g'));
    type_text(&mut app, "99999999999999999999");
    assert!(app.update(key(KeyCode::Enter)).is_empty());
    let text = last_text(&app);
    assert!(text.contains("is too large for a frame number"), "{text}");
    assert!(!text.contains("is not a frame number"), "{text}");
}

#[test]
fn an_empty_target_is_called_empty() {
    let mut app = app_with(1);
    app.update(ch('2'));
    // Name, then target.
    app.update(key(KeyCode::Tab));
    app.update(key(KeyCode::Tab));
    app.update(ctrl('u'));
    assert!(app.update(ctrl('s')).is_empty());
    let text = last_text(&app);
    assert!(text.contains("the event target is empty"), "{text}");
    assert!(!text.contains("one word"), "{text}");
}

#[test]
fn sending_to_all_says_which_rvs_were_skipped() {
    let mut app = app_with(3);
    app.update(AppEvent::Net(NetEvent::State {
        contact: 1,
        state: ConnState::Retrying {
            reason: "connection refused".into(),
            delay: Duration::from_secs(4),
        },
    }));
    app.update(ch('a'));
    let commands = app.update(ch(' '));
    assert_eq!(commands.len(), 2, "the two connected RVs");
    let skipped = app
        .feedback
        .lines()
        .iter()
        .map(|l| l.text.clone())
        .find(|t| t.contains("skipped"))
        .expect("a line names the skipped RV");
    assert!(
        skipped.contains("sending to 2 of 3 RVs; skipped, not connected: 127.0.0.1:45125"),
        "{skipped}"
    );
}
