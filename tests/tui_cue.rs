//! The cue link in the shell (`--show`): RV's forwarded events fire the
//! show's cues on the OLA-DMX tab's olad connection, F1-F12 recall the
//! show's scenes in file order, Shift+F stores into the file keeping its
//! comments, `L` turns the link on and off, RV lost fades in the failsafe.
//! Events in, commands out: no network.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use rvshell::app::cue::CueLink;
use rvshell::app::dmx_tab::{DmxCommand, DmxEvent, OladState};
use rvshell::app::history::History;
use rvshell::app::{App, AppEvent, Command, NetEvent};
use rvshell::cue::show::Show;
use rvshell::rv::client::{ClientEvent, ConnState};
use rvshell::rv::events::RvEvent;
use std::time::Duration;

const SHOW: &str = include_str!("data/show.toml");

mod common;

use common::events::{ch, dmx, key};

fn rv(name: &str, contents: &str) -> AppEvent {
    rv_from(0, name, contents)
}

/// An event forwarded by the app's contact `contact`.
fn rv_from(contact: usize, name: &str, contents: &str) -> AppEvent {
    AppEvent::Net(NetEvent::Client {
        contact,
        event: ClientEvent::RvEvent(RvEvent::new(name, contents, "127.0.0.1:45124")),
    })
}

/// A connected shell on the OLA-DMX tab with the example show loaded.
fn shell() -> App {
    shell_on(&["127.0.0.1:45124"])
}

/// [`shell`] connected to an RV at each of `addresses`.
fn shell_on(addresses: &[&str]) -> App {
    let addresses = addresses.iter().map(|a| a.to_string()).collect();
    let mut app = App::new(addresses, History::default());
    for contact in 0..app.contacts.len() {
        app.update(AppEvent::Net(NetEvent::State {
            contact,
            state: ConnState::Connected { peer: "rv".into() },
        }));
        app.update(AppEvent::Net(NetEvent::Client {
            contact,
            event: ClientEvent::Connected {
                peer: "rv".into(),
                app: "rv".into(),
            },
        }));
    }
    let show = Show::parse(SHOW, "show.toml").unwrap();
    app.cue = Some(CueLink::new("show.toml".into(), SHOW.into(), show));
    app.update(dmx(DmxEvent::State(OladState::Connected)));
    app.update(ch('4'));
    app
}

fn cue_frames(commands: &[Command]) -> Vec<(u32, Vec<u8>)> {
    commands
        .iter()
        .filter_map(|c| match c {
            Command::Dmx(DmxCommand::SendCue { universe, data, .. }) => {
                Some((*universe, data.clone()))
            }
            _ => None,
        })
        .collect()
}

fn feedback(app: &App) -> String {
    app.feedback
        .lines()
        .iter()
        .map(|l| l.text.clone())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Ticks from `from` to `to` every 20 ms: every frame sent meanwhile.
fn run(app: &mut App, from: Duration, to: Duration) -> Vec<(u32, Vec<u8>)> {
    let mut frames = Vec::new();
    let mut now = from;
    while now <= to {
        app.now = now;
        frames.extend(cue_frames(&app.update(AppEvent::Tick)));
        now += Duration::from_millis(20);
    }
    frames
}

/// `L` on: the held state is read from olad first.
fn link_on(app: &mut App) {
    let commands = app.update(ch('L'));
    assert_eq!(commands, vec![Command::Dmx(DmxCommand::LoadHeld(1))]);
    let mut held = vec![0u8; 512];
    held[9] = 77; // a channel no scene lists keeps its value
    app.update(dmx(DmxEvent::Held {
        universe: 1,
        result: Ok(held),
    }));
    assert!(app.cue.as_ref().unwrap().on);
}

#[test]
fn play_fades_to_dim_and_stop_to_house_on_the_shells_own_olad() {
    let mut app = shell();
    // Off: events fire nothing.
    app.now = Duration::from_secs(1);
    app.update(rv("play-start", "1"));
    assert!(run(&mut app, Duration::from_secs(1), Duration::from_secs(4)).is_empty());
    link_on(&mut app);
    app.now = Duration::from_secs(10);
    app.update(rv("play-start", "1"));
    assert!(feedback(&app).contains("cue: play-start -> dim (fade 2.0 s)"));
    assert!(
        app.tick_interval()
            .is_some_and(|t| t <= Duration::from_millis(20))
    );
    let frames = run(
        &mut app,
        Duration::from_secs(10),
        Duration::from_millis(12_100),
    );
    assert!(frames.len() >= 80, "40+ frames a second: {}", frames.len());
    let (universe, last) = frames.last().unwrap();
    assert_eq!(*universe, 1);
    assert_eq!(
        &last[..5],
        &[25, 25, 25, 25, 0],
        "the fade ends exactly on dim"
    );
    assert_eq!(last[9], 77, "unlisted channels keep olad's value");
    // Midway the values were between house-or-zero and dim.
    let mid = &frames[frames.len() / 2].1;
    assert!(mid[0] > 0 && mid[0] < 25, "{}", mid[0]);
    // The console shows the universe the link drives.
    assert_eq!(app.dmx.console.readback().map(|r| r[0]), Some(25));

    app.now = Duration::from_secs(20);
    app.update(rv("play-stop", "40"));
    let frames = run(
        &mut app,
        Duration::from_secs(20),
        Duration::from_millis(21_100),
    );
    assert_eq!(&frames.last().unwrap().1[..4], &[255, 255, 255, 255]);
    // L again: off.
    app.update(ch('L'));
    assert!(!app.cue.as_ref().unwrap().on);
}

#[test]
fn rv_lost_fades_in_the_failsafe() {
    let mut app = shell();
    link_on(&mut app);
    app.now = Duration::from_secs(5);
    app.update(AppEvent::Net(NetEvent::Client {
        contact: 0,
        event: ClientEvent::Disconnected {
            reason: "RV closed the connection".into(),
            retry_in: Some(Duration::from_secs(1)),
        },
    }));
    assert!(
        feedback(&app).contains("cue: failsafe -> house (fade 3.0 s)"),
        "{}",
        feedback(&app)
    );
    let frames = run(
        &mut app,
        Duration::from_secs(5),
        Duration::from_millis(8_100),
    );
    assert_eq!(&frames.last().unwrap().1[..4], &[255, 255, 255, 255]);
}

#[test]
fn f_keys_recall_the_shows_scenes_in_file_order() {
    let mut app = shell();
    // File order: house, dim, flash (the show sorts them by name).
    app.now = Duration::from_secs(1);
    // Link off: olad's values are read first, so channels the scene does
    // not list keep them.
    let commands = app.update(key(KeyCode::F(3)));
    assert_eq!(commands, vec![Command::Dmx(DmxCommand::LoadHeld(1))]);
    assert!(!feedback(&app).contains("-> flash"), "{}", feedback(&app));
    let mut held = vec![0u8; 512];
    held[9] = 200;
    app.update(dmx(DmxEvent::Held {
        universe: 1,
        result: Ok(held),
    }));
    assert!(feedback(&app).contains("-> flash"), "{}", feedback(&app));
    let frames = run(
        &mut app,
        Duration::from_secs(1),
        Duration::from_millis(1_500),
    );
    let last = &frames.last().unwrap().1;
    assert_eq!((last[4], last[9]), (255, 200));
    // Read once: the next recall goes at once.
    app.update(key(KeyCode::F(1)));
    assert!(feedback(&app).contains("-> house"), "{}", feedback(&app));
    app.update(key(KeyCode::F(9)));
    assert!(feedback(&app).contains("the show has 3 scenes: F9 recalls none"));
}

#[test]
fn shift_f_stores_into_the_file_keeping_its_comments() {
    let mut app = shell();
    // Set channels 1-4 to 200 on the console (universe 1, house's).
    for _ in 0..4 {
        app.update(ch('2'));
        app.update(ch('0'));
        app.update(ch('0'));
        app.update(key(KeyCode::Enter));
        app.update(key(KeyCode::Right));
    }
    let commands = app.update(AppEvent::Key(KeyEvent::new(
        KeyCode::F(1),
        KeyModifiers::SHIFT,
    )));
    let text = commands
        .iter()
        .find_map(|c| match c {
            Command::SaveShow { path, text } => {
                assert_eq!(path.to_str(), Some("show.toml"));
                Some(text.clone())
            }
            _ => None,
        })
        .unwrap_or_else(|| panic!("no SaveShow in {commands:?}"));
    assert!(
        text.contains(r#"values = "1-4=200"        # the syntax of `rvshell dmx set`"#),
        "the value changed, its comment kept:\n{text}"
    );
    assert!(text.contains("# when the connection to RV is lost"));
    // The rest of the file is untouched.
    assert_eq!(
        text.replace("1-4=200", "1-4=255"),
        SHOW,
        "only the stored value changed"
    );
    // The link uses the stored scene at once.
    let show = app.cue.as_ref().unwrap().show();
    let house = &show.scenes[show.scene("house").unwrap()];
    assert_eq!(house.channels[0], (1, 200));
}

#[test]
fn l_without_a_show_says_how_to_load_one() {
    let mut app = App::new(vec!["127.0.0.1:45124".into()], History::default());
    app.update(ch('4'));
    assert!(app.update(ch('L')).is_empty());
    assert!(feedback(&app).contains("--show"));
}

#[test]
fn a_lost_frame_is_said_once_and_the_held_state_goes_again_when_olad_is_back() {
    let mut app = shell();
    link_on(&mut app);
    app.now = Duration::from_secs(1);
    app.update(key(KeyCode::F(1)));
    run(&mut app, Duration::from_secs(1), Duration::from_secs(2));
    for _ in 0..3 {
        app.update(dmx(DmxEvent::CueSent {
            universe: 1,
            result: Err("olad is not connected".into()),
        }));
    }
    assert_eq!(feedback(&app).matches("was not sent").count(), 1);
    let commands = app.update(dmx(DmxEvent::State(OladState::Connected)));
    let frames = cue_frames(&commands);
    assert_eq!(frames.len(), 1, "{commands:?}");
    assert_eq!(&frames[0].1[..4], &[255, 255, 255, 255]);
}

#[test]
fn the_link_follows_the_rv_selected_when_it_was_turned_on() {
    let mut app = shell_on(&["127.0.0.1:45124", "127.0.0.1:45125"]);
    link_on(&mut app);
    assert!(
        feedback(&app).contains("RV 127.0.0.1:45124 fires the cues"),
        "{}",
        feedback(&app)
    );
    // Selecting the other RV (to send it a command) leaves the lights alone.
    app.selected = 1;
    app.now = Duration::from_secs(1);
    app.update(rv_from(1, "play-start", "1"));
    assert!(!feedback(&app).contains("-> dim"), "{}", feedback(&app));
    app.update(rv_from(0, "play-start", "1"));
    assert!(
        feedback(&app).contains("play-start -> dim"),
        "{}",
        feedback(&app)
    );
    let lost = |contact| {
        AppEvent::Net(NetEvent::Client {
            contact,
            event: ClientEvent::Disconnected {
                reason: "RV closed the connection".into(),
                retry_in: Some(Duration::from_secs(1)),
            },
        })
    };
    app.update(lost(1));
    assert!(
        !feedback(&app).contains("cue: failsafe"),
        "{}",
        feedback(&app)
    );
    app.update(lost(0));
    assert!(feedback(&app).contains("cue: failsafe -> house"));
    // Off and on again: it follows the RV selected now.
    app.update(ch('L'));
    app.update(ch('L'));
    assert!(feedback(&app).contains("RV 127.0.0.1:45125 fires the cues"));
    assert!(app.cue.as_ref().unwrap().follows(1));
}

#[test]
fn the_console_and_the_cues_keep_each_others_channels() {
    let mut app = shell();
    link_on(&mut app);
    // The console took what the link read from olad.
    assert_eq!(app.dmx.console.values()[9], 77);
    app.now = Duration::from_secs(1);
    app.update(rv("play-start", "1"));
    let frames = run(&mut app, Duration::from_secs(1), Duration::from_secs(4));
    assert_eq!(&frames.last().unwrap().1[..4], &[25, 25, 25, 25]);
    // The console shows the cue's values...
    assert_eq!(&app.dmx.console.values()[..4], &[25, 25, 25, 25]);
    // ...so an edit on another channel sends them rather than undoing the cue.
    app.update(key(KeyCode::Right));
    app.update(key(KeyCode::Right));
    app.update(key(KeyCode::Right));
    app.update(key(KeyCode::Right));
    let sent: Vec<_> = app
        .update(ch('+'))
        .into_iter()
        .filter_map(|c| match c {
            Command::Dmx(DmxCommand::Send(frame)) => Some(frame.data),
            _ => None,
        })
        .collect();
    let data = sent.last().expect("the console sent its frame");
    assert_eq!(&data[..5], &[25, 25, 25, 25, 1]);
    assert_eq!(data[9], 77);
    // And the next cue keeps the console's channel 5.
    app.now = Duration::from_secs(5);
    app.update(rv("play-stop", "1"));
    let frames = run(&mut app, Duration::from_secs(5), Duration::from_secs(8));
    let last = &frames.last().unwrap().1;
    assert_eq!(&last[..5], &[255, 255, 255, 255, 1]);
    assert_eq!(last[9], 77);
}
