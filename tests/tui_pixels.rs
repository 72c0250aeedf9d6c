//! The Pixels tab: app state tests (keys and events in, commands out, no
//! terminal, no network) and the runner's own pieces against an in-process
//! simulator (decode, completion, push, cancel).

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use rvshell::app::feedback::LineKind;
use rvshell::app::history::History;
use rvshell::app::pixels::{
    BUILTIN_LABEL, ImageInfo, ImageSource, PixelsCommand, PixelsEvent, PixelsField, Thumbnail,
};
use rvshell::app::{App, AppEvent, Command, NetEvent, Tab};
use rvshell::rv::client::ConnState;
use rvshell::rv::pixels::{Depth, Tiling};
use rvshell::rv::push::Progress;
use rvshell::rv::push::PushReport;
use std::path::PathBuf;
use std::time::Duration;

mod common;

use common::events::{ch, key};

fn ctrl(c: char) -> AppEvent {
    AppEvent::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
}

fn net(event: PixelsEvent) -> AppEvent {
    AppEvent::Net(NetEvent::Pixels(event))
}

fn type_text(app: &mut App, text: &str) -> Vec<Command> {
    let mut out = Vec::new();
    for c in text.chars() {
        out.extend(app.update(ch(c)));
    }
    out
}

/// A connected app on the Pixels tab.
fn pixels_app(connected: bool) -> App {
    let mut app = App::new(vec!["127.0.0.1:45124".into()], History::default());
    if connected {
        app.update(AppEvent::Net(NetEvent::State {
            contact: 0,
            state: ConnState::Connected {
                peer: "rvsim".into(),
            },
        }));
    }
    app.update(ch('3'));
    assert_eq!(app.tab, Tab::Pixels);
    app
}

fn info(width: u32, height: u32) -> ImageInfo {
    ImageInfo {
        width,
        height,
        format: "PNG, RGBA 8-bit".into(),
        thumbnail: Thumbnail {
            width: 2,
            height: 2,
            rgb: vec![255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255],
        },
    }
}

/// Types a path, presses Enter, and answers the load with a `width` x `height` image.
fn load(app: &mut App, path: &str, width: u32, height: u32) -> u64 {
    app.update(ch('o'));
    app.update(ctrl('u'));
    type_text(app, path);
    let commands = app.update(key(KeyCode::Enter));
    let [Command::Pixels(PixelsCommand::Load { id, source, .. })] = commands.as_slice() else {
        panic!("{commands:?}");
    };
    assert_eq!(*source, ImageSource::File(PathBuf::from(path)));
    let id = *id;
    app.update(net(PixelsEvent::Loaded {
        id,
        result: Ok(info(width, height)),
    }));
    id
}

fn last_line(app: &App) -> (LineKind, String) {
    let line = app.feedback.lines().back().expect("a feedback line");
    (line.kind, line.text.clone())
}

fn set_field(app: &mut App, field: char, text: &str) {
    app.update(ch(field));
    app.update(ctrl('u'));
    type_text(app, text);
    app.update(key(KeyCode::Enter));
}

#[test]
fn enter_in_the_path_field_loads_with_a_thumbnail_sized_for_the_preview() {
    let mut app = pixels_app(true);
    app.update(ch('o'));
    assert_eq!(app.pixels.focus, Some(PixelsField::Path));
    // q and s type into the field instead of quitting or sending.
    assert!(type_text(&mut app, "/img/quick shot.png").is_empty());
    assert_eq!(app.pixels.path.text(), "/img/quick shot.png");
    let commands = app.update(key(KeyCode::Enter));
    let preview = rvshell::app::pixels::areas(app.areas().body).preview;
    assert_eq!((preview.width, preview.height), (49, 10), "100x30 layout");
    assert_eq!(
        commands,
        vec![Command::Pixels(PixelsCommand::Load {
            id: 1,
            source: ImageSource::File("/img/quick shot.png".into()),
            preview: (49, 20),
        })]
    );
    assert!(app.pixels.loading.is_some());
    app.update(net(PixelsEvent::Loaded {
        id: 1,
        result: Ok(info(640, 360)),
    }));
    assert!(app.pixels.loading.is_none());
    assert_eq!(
        app.pixels.focus, None,
        "loaded: the keys are shortcuts again"
    );
    let image = app.pixels.image.as_ref().unwrap();
    assert_eq!((image.id, image.info.width), (1, 640));
    assert_eq!(
        last_line(&app),
        (
            LineKind::Info,
            "loaded quick shot.png: 640x360, PNG, RGBA 8-bit".into()
        )
    );
}

#[test]
fn send_pushes_the_loaded_image_with_the_tiling_depth_and_media() {
    let mut app = pixels_app(true);
    let image = load(&mut app, "/img/a.png", 640, 360);
    app.update(key(KeyCode::Esc));
    assert_eq!(app.pixels.focus, None);
    set_field(&mut app, 'x', "4");
    set_field(&mut app, 'y', "3");
    set_field(&mut app, 'm', "shot_010");
    app.update(ch('d'));
    assert_eq!(app.pixels.depth, Depth::U16);
    let commands = app.update(ch('s'));
    assert_eq!(
        commands,
        vec![Command::Pixels(PixelsCommand::Push {
            job: 2,
            contact: 0,
            image,
            tiling: Tiling::Grid { nx: 4, ny: 3 },
            depth: Depth::U16,
            media: Some("shot_010".into()),
            stem: "a".into(),
        })]
    );
    assert_eq!(
        last_line(&app),
        (
            LineKind::Sent,
            "→ push a.png 640x360, 4x3 tiles, 16-bit".into()
        )
    );
    // A second Send while it runs is refused.
    assert!(app.update(ctrl('s')).is_empty());
    assert!(last_line(&app).1.contains("already running"));

    // Tile-size mode and 32-bit float, no media name: a unique one from the file.
    app.update(net(PixelsEvent::Pushed {
        job: 2,
        result: Err("x".into()),
    }));
    app.update(ch('t'));
    app.update(ch('d'));
    set_field(&mut app, 'm', "");
    let commands = app.update(key(KeyCode::F(5)));
    assert_eq!(
        commands,
        vec![Command::Pixels(PixelsCommand::Push {
            job: 3,
            contact: 0,
            image,
            tiling: Tiling::Buckets { w: 4, h: 3 },
            depth: Depth::F32,
            media: None,
            stem: "a".into(),
        })]
    );
}

#[test]
fn progress_updates_the_gauge_and_esc_cancels_once() {
    let mut app = pixels_app(true);
    load(&mut app, "/img/a.png", 64, 64);
    app.update(key(KeyCode::Esc));
    let commands = app.update(ch('s'));
    let [Command::Pixels(PixelsCommand::Push { job, .. })] = commands.as_slice() else {
        panic!("{commands:?}");
    };
    let job = *job;
    assert_eq!(app.pixels.push.as_ref().unwrap().progress, None);
    let progress = Progress {
        tiles_done: 1,
        tiles_total: 4,
        bytes_done: 8192,
        bytes_total: 32768,
        elapsed: Duration::from_millis(10),
    };
    app.take_dirty();
    app.update(net(PixelsEvent::Progress { job, progress }));
    assert!(app.take_dirty(), "progress redraws");
    assert_eq!(app.pixels.push.as_ref().unwrap().progress, Some(progress));
    // Progress of another job is not ours.
    app.update(net(PixelsEvent::Progress {
        job: job + 7,
        progress: Progress {
            tiles_done: 3,
            ..progress
        },
    }));
    assert_eq!(app.pixels.push.as_ref().unwrap().progress, Some(progress));

    assert_eq!(
        app.update(key(KeyCode::Esc)),
        vec![Command::Pixels(PixelsCommand::Cancel { job })]
    );
    assert!(app.pixels.push.as_ref().unwrap().cancelling);
    assert!(
        app.update(key(KeyCode::Esc)).is_empty(),
        "one cancel is enough"
    );
    let err = "push of a-1 cancelled after 1 of 4 tiles";
    app.update(net(PixelsEvent::Pushed {
        job,
        result: Err(err.into()),
    }));
    assert!(app.pixels.push.is_none());
    assert_eq!(last_line(&app), (LineKind::Error, err.into()));
    assert_eq!(app.pixels.status, Some((false, err.into())));
}

#[test]
fn a_finished_push_reports_media_node_time_and_rate() {
    let mut app = pixels_app(true);
    load(&mut app, "/img/a.png", 64, 64);
    let commands = app.update(ctrl('s'));
    let [Command::Pixels(PixelsCommand::Push { job, .. })] = commands.as_slice() else {
        panic!("{commands:?}");
    };
    app.update(net(PixelsEvent::Pushed {
        job: *job,
        result: Ok(PushReport {
            media: "a-1".into(),
            node: Some("sourceGroup000000_source".into()),
            reply: r#""sourceGroup000000_source.image.1:right""#.into(),
            tiles: 4,
            bytes: 2_000_000,
            create_time: Duration::from_millis(100),
            send_time: Duration::from_millis(400),
        }),
    }));
    assert_eq!(
        last_line(&app),
        (
            LineKind::Return,
            "pushed a-1 → sourceGroup000000_source in 0.50 s (4 tiles, 2.0 MB, 5.0 MB/s)".into()
        )
    );
    assert!(app.pixels.push.is_none());
}

#[test]
fn send_while_disconnected_is_refused_and_keeps_every_field() {
    let mut app = pixels_app(true);
    load(&mut app, "/img/a.png", 64, 64);
    app.update(key(KeyCode::Esc));
    set_field(&mut app, 'x', "2");
    set_field(&mut app, 'm', "keep_me");
    app.update(AppEvent::Net(NetEvent::State {
        contact: 0,
        state: ConnState::Retrying {
            reason: "connection reset".into(),
            delay: Duration::from_secs(2),
        },
    }));
    assert!(app.update(ch('s')).is_empty());
    let (kind, text) = last_line(&app);
    assert_eq!(kind, LineKind::Error);
    assert!(
        text.contains("not connected to RV at 127.0.0.1:45124"),
        "{text}"
    );
    assert_eq!(app.pixels.path.text(), "/img/a.png");
    assert_eq!(app.pixels.first.text(), "2");
    assert_eq!(app.pixels.media.text(), "keep_me");
    assert!(
        matches!(app.pixels.status, Some((false, _))),
        "the tab says it too"
    );
    // Editing a field clears the tab's complaint (the feedback pane keeps it).
    app.update(ch('m'));
    app.update(ch('2'));
    assert_eq!(app.pixels.status, None);
    assert_eq!(last_line(&app).0, LineKind::Error);
    assert!(app.pixels.image.is_some());
    assert!(app.pixels.push.is_none());
}

#[test]
fn bad_input_of_every_kind_says_what_to_do_and_sends_nothing() {
    let mut app = pixels_app(true);
    // Nothing loaded yet.
    assert!(app.update(ch('s')).is_empty());
    assert!(last_line(&app).1.starts_with("no image loaded"));
    // Enter on an empty path.
    app.update(ch('o'));
    assert!(app.update(key(KeyCode::Enter)).is_empty());
    assert!(last_line(&app).1.starts_with("no image path"));
    app.update(key(KeyCode::Esc));

    load(&mut app, "/img/a.png", 640, 360);
    app.update(key(KeyCode::Esc));
    for (field, text, expected) in [
        (
            'x',
            "0",
            "0x1 tiles: tile counts and sizes must be at least 1",
        ),
        (
            'x',
            "641",
            "641x1 tiles is more tiles than pixels in a 640x360 image",
        ),
        ('x', "two", "X tiles \"two\" is not a whole number"),
        ('x', "-1", "X tiles \"-1\" is not a whole number"),
    ] {
        set_field(&mut app, field, text);
        assert!(app.update(ch('s')).is_empty(), "{text}");
        let (kind, line) = last_line(&app);
        assert_eq!(kind, LineKind::Error);
        assert!(line.contains(expected), "{line}");
        assert!(line.contains("your fields are kept"), "{line}");
        assert_eq!(app.pixels.first.text(), text, "the field stays as typed");
    }
    set_field(&mut app, 'x', "1");
    set_field(&mut app, 'y', "361");
    assert!(app.update(ch('s')).is_empty());
    assert!(last_line(&app).1.contains("1x361 tiles is more tiles"));
    set_field(&mut app, 'y', "1");
    set_field(&mut app, 'm', "my shot");
    assert!(app.update(ch('s')).is_empty());
    assert!(last_line(&app).1.contains("media name \"my shot\""));
    assert_eq!(app.pixels.media.text(), "my shot");
    set_field(&mut app, 'm', "");

    // A load in progress: Send waits for it.
    app.update(ch('o'));
    app.update(ctrl('u'));
    type_text(&mut app, "/img/b.png");
    let commands = app.update(key(KeyCode::Enter));
    assert_eq!(commands.len(), 1);
    assert!(app.update(ctrl('s')).is_empty());
    assert!(last_line(&app).1.contains("b.png is still loading"));

    // A failed load keeps the previous image and what was typed.
    app.update(net(PixelsEvent::Loaded {
        id: 2,
        result: Err("/img/b.png is not a readable image: bad header".into()),
    }));
    assert_eq!(
        last_line(&app),
        (
            LineKind::Error,
            "/img/b.png is not a readable image: bad header; a.png is still loaded".into()
        )
    );
    assert_eq!(app.pixels.path.text(), "/img/b.png");
    assert_eq!(app.pixels.focus, Some(PixelsField::Path), "to correct it");
    assert_eq!(app.pixels.image.as_ref().unwrap().id, 1);
    // Send still pushes a.png.
    let commands = app.update(ctrl('s'));
    assert!(
        matches!(
            commands.as_slice(),
            [Command::Pixels(PixelsCommand::Push { image: 1, .. })]
        ),
        "{commands:?}"
    );
}

#[test]
fn a_resize_asks_for_a_new_thumbnail_one_at_a_time() {
    let mut app = pixels_app(true);
    let id = load(&mut app, "/img/a.png", 640, 360);
    assert_eq!(app.pixels.image.as_ref().unwrap().preview, (49, 20));
    // Same size: nothing to do.
    assert!(app.update(AppEvent::Resize(100, 30)).is_empty());
    assert_eq!(
        app.update(AppEvent::Resize(200, 60)),
        vec![Command::Pixels(PixelsCommand::Thumbnail {
            id,
            preview: (99, 54)
        })]
    );
    // Resizes while it is made coalesce: the answer triggers the next one.
    assert!(app.update(AppEvent::Resize(120, 40)).is_empty());
    let bigger = Thumbnail {
        width: 99,
        height: 56,
        rgb: vec![9; 99 * 56 * 3],
    };
    let commands = app.update(net(PixelsEvent::Thumbnail {
        id,
        preview: (99, 54),
        result: Ok(bigger.clone()),
    }));
    assert_eq!(app.pixels.image.as_ref().unwrap().info.thumbnail, bigger);
    assert_eq!(
        commands,
        vec![Command::Pixels(PixelsCommand::Thumbnail {
            id,
            preview: (59, 32)
        })]
    );
    // A failure keeps the old thumbnail (the preview scales it).
    assert!(
        app.update(net(PixelsEvent::Thumbnail {
            id,
            preview: (59, 32),
            result: Err("the image is no longer loaded".into()),
        }))
        .is_empty()
    );
    assert_eq!(app.pixels.image.as_ref().unwrap().info.thumbnail, bigger);
    // Too small for a preview: no request.
    assert!(app.update(AppEvent::Resize(30, 10)).is_empty());
}

#[test]
fn a_superseded_load_is_ignored() {
    let mut app = pixels_app(true);
    app.update(ch('o'));
    type_text(&mut app, "/img/a.png");
    app.update(key(KeyCode::Enter));
    app.update(ctrl('u'));
    type_text(&mut app, "/img/b.png");
    app.update(key(KeyCode::Enter));
    app.update(net(PixelsEvent::Loaded {
        id: 1,
        result: Ok(info(10, 10)),
    }));
    assert!(
        app.pixels.image.is_none(),
        "load 1 was superseded by load 2"
    );
    assert!(app.pixels.loading.is_some());
    app.update(net(PixelsEvent::Loaded {
        id: 2,
        result: Ok(info(20, 20)),
    }));
    assert_eq!(app.pixels.image.as_ref().unwrap().info.width, 20);
}

#[test]
fn tab_completes_the_common_prefix_then_cycles_through_the_candidates() {
    let mut app = pixels_app(true);
    app.update(ch('o'));
    type_text(&mut app, "/img/sh");
    assert_eq!(
        app.update(key(KeyCode::Tab)),
        vec![Command::Pixels(PixelsCommand::Complete {
            text: "/img/sh".into()
        })]
    );
    let candidates = vec![
        "/img/shot_010.exr".to_owned(),
        "/img/shot_020.exr".to_owned(),
        "/img/shots/".to_owned(),
    ];
    app.update(net(PixelsEvent::Completions {
        text: "/img/sh".into(),
        candidates: candidates.clone(),
    }));
    assert_eq!(app.pixels.path.text(), "/img/shot");
    assert_eq!(app.pixels.candidates(), candidates);
    // Repeated Tab walks the list without asking the runner again.
    for expected in [0, 1, 2, 0] {
        assert!(app.update(key(KeyCode::Tab)).is_empty());
        assert_eq!(app.pixels.path.text(), candidates[expected]);
        assert_eq!(app.pixels.cycled(), Some(expected));
    }
    // Typing ends the cycle; the next Tab asks again.
    type_text(&mut app, "x");
    assert!(app.pixels.candidates().is_empty());
    assert_eq!(
        app.update(key(KeyCode::Tab)),
        vec![Command::Pixels(PixelsCommand::Complete {
            text: "/img/shot_010.exrx".into()
        })]
    );
    // Nothing matches: said in the tab, the text stays.
    app.update(net(PixelsEvent::Completions {
        text: "/img/shot_010.exrx".into(),
        candidates: Vec::new(),
    }));
    assert_eq!(app.pixels.path.text(), "/img/shot_010.exrx");
    assert_eq!(
        app.pixels.status,
        Some((false, "nothing matches /img/shot_010.exrx".into()))
    );
    // One candidate completes it; a stale answer (text changed since) is ignored.
    app.update(ctrl('u'));
    type_text(&mut app, "/img/c");
    app.update(net(PixelsEvent::Completions {
        text: "/img/old".into(),
        candidates: vec!["/img/older.png".into()],
    }));
    assert_eq!(app.pixels.path.text(), "/img/c");
    app.update(net(PixelsEvent::Completions {
        text: "/img/c".into(),
        candidates: vec!["/img/chart.png".into()],
    }));
    assert_eq!(app.pixels.path.text(), "/img/chart.png");
}

#[test]
fn tab_moves_between_fields_and_leaves_the_tab_when_no_field_has_the_focus() {
    let mut app = pixels_app(true);
    app.update(ch('x'));
    assert_eq!(app.pixels.focus, Some(PixelsField::First));
    app.update(key(KeyCode::Tab));
    assert_eq!(app.pixels.focus, Some(PixelsField::Second));
    app.update(key(KeyCode::Tab));
    assert_eq!(app.pixels.focus, Some(PixelsField::Media));
    app.update(key(KeyCode::Tab));
    assert_eq!(app.pixels.focus, Some(PixelsField::Path));
    app.update(key(KeyCode::Esc));
    assert_eq!(app.pixels.focus, None);
    app.update(key(KeyCode::Tab));
    assert_ne!(app.tab, Tab::Pixels, "Tab goes to the next tab");
}

#[test]
fn q_quits_outside_fields_and_types_inside_them() {
    let mut app = pixels_app(true);
    app.update(ch('m'));
    assert!(type_text(&mut app, "qsdt").is_empty());
    assert_eq!(app.pixels.media.text(), "qsdt");
    assert_eq!(app.pixels.depth, Depth::U8);
    app.update(key(KeyCode::Enter));
    assert_eq!(app.update(ch('q')), vec![Command::Quit]);
}

#[test]
fn paste_goes_to_the_focused_field_or_replaces_the_path() {
    let mut app = pixels_app(true);
    app.update(ch('m'));
    app.update(AppEvent::Paste("shot_010".into()));
    assert_eq!(app.pixels.media.text(), "shot_010");
    app.update(key(KeyCode::Enter));
    // No field focused: a dropped file's path replaces the path.
    app.update(ch('o'));
    type_text(&mut app, "/old");
    app.update(key(KeyCode::Esc));
    app.update(AppEvent::Paste("'/img/my shot.png'\n".into()));
    assert_eq!(app.pixels.focus, Some(PixelsField::Path));
    assert_eq!(app.pixels.path.text(), "'/img/my shot.png'");
    // Enter loads it without the quotes.
    let commands = app.update(key(KeyCode::Enter));
    assert!(
        matches!(
            commands.as_slice(),
            [Command::Pixels(PixelsCommand::Load { source: ImageSource::File(path), .. })]
                if path == &PathBuf::from("/img/my shot.png")
        ),
        "{commands:?}"
    );
}

#[test]
fn the_demo_starts_with_the_built_in_chart_and_typing_replaces_its_label() {
    let mut app = pixels_app(true);
    let commands = app.pixels_demo();
    assert!(
        matches!(
            commands.as_slice(),
            [Command::Pixels(PixelsCommand::Load {
                source: ImageSource::BuiltIn,
                ..
            })]
        ),
        "{commands:?}"
    );
    assert_eq!(app.pixels.path.text(), BUILTIN_LABEL);
    app.update(net(PixelsEvent::Loaded {
        id: 1,
        result: Ok(info(640, 360)),
    }));
    // Send works at once.
    let commands = app.update(ch('s'));
    assert!(
        matches!(
            commands.as_slice(),
            [Command::Pixels(PixelsCommand::Push { image: 1, .. })]
        ),
        "{commands:?}"
    );
    // Enter on the label reloads the chart; a typed character replaces it.
    app.update(ch('o'));
    let commands = app.update(key(KeyCode::Enter));
    assert!(matches!(
        commands.as_slice(),
        [Command::Pixels(PixelsCommand::Load {
            source: ImageSource::BuiltIn,
            ..
        })]
    ));
    type_text(&mut app, "/x");
    assert_eq!(app.pixels.path.text(), "/x");
}

// ---- the runner ------------------------------------------------------------

mod runner {
    use super::*;
    use rvshell::rv::client::RvClient;
    use rvshell::shell::pixels::{PixelsRunner, complete};
    use rvshell::sim::server::{SimConfig, Simulator};
    use tokio::sync::mpsc;

    fn runner() -> (PixelsRunner, mpsc::UnboundedReceiver<PixelsEvent>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let runner = PixelsRunner::new(std::sync::Arc::new(move |event| {
            let _ = tx.send(event);
        }));
        (runner, rx)
    }

    #[test]
    fn progress_is_throttled_but_the_first_and_last_reports_pass() {
        use rvshell::shell::pixels::{PROGRESS_INTERVAL, Throttle};
        let mut throttle = Throttle::new(PROGRESS_INTERVAL);
        let t0 = std::time::Instant::now();
        let ms = |n| t0 + Duration::from_millis(n);
        assert!(
            throttle.ready(t0, false),
            "the first report starts the gauge"
        );
        assert!(!throttle.ready(ms(10), false));
        assert!(!throttle.ready(ms(49), false));
        assert!(throttle.ready(ms(50), false), "20 per second");
        assert!(!throttle.ready(ms(60), false));
        assert!(throttle.ready(ms(61), true), "the last tile always shows");
        // 1000 tiles within one second: at most 21 reports (20 plus the last).
        let mut throttle = Throttle::new(PROGRESS_INTERVAL);
        let passed = (0..1000u64)
            .filter(|&i| throttle.ready(ms(i), i == 999))
            .count();
        assert_eq!(passed, 21);
    }

    #[test]
    fn completion_lists_matching_entries_with_slashes_on_directories() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display().to_string();
        std::fs::create_dir(dir.path().join("shots")).unwrap();
        std::fs::write(dir.path().join("shot_010.exr"), b"").unwrap();
        std::fs::write(dir.path().join("plate.png"), b"").unwrap();
        std::fs::write(dir.path().join(".shot_hidden"), b"").unwrap();
        assert_eq!(
            complete(&format!("{d}/sh")),
            vec![format!("{d}/shot_010.exr"), format!("{d}/shots/")]
        );
        assert_eq!(
            complete(&format!("{d}/.sh")),
            vec![format!("{d}/.shot_hidden")]
        );
        assert_eq!(complete(&format!("{d}/zzz")), Vec::<String>::new());
        assert_eq!(complete(&format!("{d}/no/such/dir/")), Vec::<String>::new());
    }

    // One thread: a push starts only when the test awaits, so the cancels
    // below land before its first tile however fast pushes get (on more
    // threads a tiny push could finish first). Cancelling between tiles is
    // tested on the push itself (rv_push.rs).
    #[tokio::test]
    async fn load_then_push_reports_progress_and_the_result() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("grad.png");
        let img = image::RgbaImage::from_fn(40, 30, |x, y| {
            image::Rgba([x as u8 * 6, y as u8 * 8, 128, 255])
        });
        img.save(&path).unwrap();
        let sim = Simulator::start(SimConfig::any_port()).await.unwrap();
        let config = rvshell::rv::client::Config::new("127.0.0.1", sim.local_addr().port());
        let (client, _events) = RvClient::connect(config).await.unwrap();
        let clients = vec![client];
        let (runner, mut rx) = runner();

        runner.execute(
            PixelsCommand::Load {
                id: 1,
                source: ImageSource::File(path.clone()),
                preview: (20, 10),
            },
            &clients,
        );
        let Some(PixelsEvent::Loaded { id: 1, result }) = rx.recv().await else {
            panic!("no load result");
        };
        let info = result.unwrap();
        assert_eq!((info.width, info.height), (40, 30));
        assert_eq!(info.format, "PNG, RGBA 8-bit");
        // Fitted into 20x10 with the aspect kept.
        assert!(info.thumbnail.width <= 20 && info.thumbnail.height <= 10);
        assert_eq!(
            info.thumbnail.rgb.len(),
            (info.thumbnail.width * info.thumbnail.height * 3) as usize
        );

        runner.execute(
            PixelsCommand::Push {
                job: 2,
                contact: 0,
                image: 1,
                tiling: Tiling::Grid { nx: 2, ny: 2 },
                depth: Depth::U8,
                media: Some("grad".into()),
                stem: "grad".into(),
            },
            &clients,
        );
        let mut last = None;
        let done = loop {
            match rx.recv().await.unwrap() {
                PixelsEvent::Progress { job: 2, progress } => {
                    assert_eq!(progress.tiles_total, 4);
                    last = Some(progress);
                }
                PixelsEvent::Pushed { job: 2, result } => break result.unwrap(),
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(
            last.map(|p| p.tiles_done),
            Some(4),
            "the last tile is always reported"
        );
        assert_eq!(done.media, "grad");
        assert_eq!(done.node.as_deref(), Some("sourceGroup000000_source"));
        assert_eq!((done.tiles, done.bytes), (4, 2 * 40 * 30 * 4));

        // A thumbnail for a bigger preview, from the image the runner holds.
        runner.execute(
            PixelsCommand::Thumbnail {
                id: 1,
                preview: (20, 100),
            },
            &clients,
        );
        let Some(PixelsEvent::Thumbnail {
            id: 1,
            preview: (20, 100),
            result,
        }) = rx.recv().await
        else {
            panic!("no thumbnail");
        };
        let thumb = result.unwrap();
        assert_eq!((thumb.width, thumb.height), (20, 15));

        // A push of an image id the runner does not hold fails with a message.
        runner.execute(
            PixelsCommand::Push {
                job: 3,
                contact: 0,
                image: 9,
                tiling: Tiling::Grid { nx: 1, ny: 1 },
                depth: Depth::U8,
                media: None,
                stem: "x".into(),
            },
            &clients,
        );
        let Some(PixelsEvent::Pushed { job: 3, result }) = rx.recv().await else {
            panic!("no push result");
        };
        assert!(result.unwrap_err().contains("load it again"));

        // Cancelled at once: stops before or between tiles, and says so.
        runner.execute(
            PixelsCommand::Push {
                job: 4,
                contact: 0,
                image: 1,
                tiling: Tiling::Grid { nx: 40, ny: 30 },
                depth: Depth::F32,
                media: None,
                stem: "grad".into(),
            },
            &clients,
        );
        runner.execute(PixelsCommand::Cancel { job: 4 }, &clients);
        let err = loop {
            match rx.recv().await.unwrap() {
                PixelsEvent::Progress { job: 4, .. } => {}
                PixelsEvent::Pushed { job: 4, result } => break result.unwrap_err(),
                other => panic!("{other:?}"),
            }
        };
        assert!(err.contains("cancelled"), "{err}");

        // Quitting cancels every push in progress.
        for job in [5, 6] {
            runner.execute(
                PixelsCommand::Push {
                    job,
                    contact: 0,
                    image: 1,
                    tiling: Tiling::Grid { nx: 40, ny: 30 },
                    depth: Depth::F32,
                    media: None,
                    stem: "grad".into(),
                },
                &clients,
            );
        }
        runner.cancel_all();
        let mut ended = Vec::new();
        while ended.len() < 2 {
            match rx.recv().await.unwrap() {
                PixelsEvent::Progress { .. } => {}
                PixelsEvent::Pushed { job, result } => {
                    let err = result.unwrap_err();
                    assert!(err.contains("cancelled"), "job {job}: {err}");
                    ended.push(job);
                }
                other => panic!("{other:?}"),
            }
        }
        ended.sort();
        assert_eq!(ended, [5, 6]);
        for client in &clients {
            client.close().await;
        }
        sim.shutdown().await;
    }

    #[tokio::test]
    async fn load_errors_are_messages_and_the_built_in_chart_decodes() {
        let dir = tempfile::tempdir().unwrap();
        let corrupt = dir.path().join("corrupt.png");
        std::fs::write(&corrupt, b"\x89PNG\r\n\x1a\n truncated").unwrap();
        let (runner, mut rx) = runner();
        let cases = [
            (dir.path().join("missing.png"), "cannot open image"),
            (corrupt, "is not a readable image"),
            (dir.path().to_path_buf(), "is a directory"),
        ];
        for (i, (path, expected)) in cases.into_iter().enumerate() {
            let id = i as u64 + 1;
            runner.execute(
                PixelsCommand::Load {
                    id,
                    source: ImageSource::File(path),
                    preview: (20, 10),
                },
                &[],
            );
            let Some(PixelsEvent::Loaded { id: got, result }) = rx.recv().await else {
                panic!("no load result");
            };
            assert_eq!(got, id);
            let err = result.unwrap_err();
            assert!(err.contains(expected), "{err}");
        }
        runner.execute(
            PixelsCommand::Load {
                id: 10,
                source: ImageSource::BuiltIn,
                preview: (64, 36),
            },
            &[],
        );
        let Some(PixelsEvent::Loaded { id: 10, result }) = rx.recv().await else {
            panic!("no load result");
        };
        let info = result.unwrap();
        assert_eq!((info.width, info.height), (640, 360));
        assert_eq!((info.thumbnail.width, info.thumbnail.height), (64, 36));
        // Not connected to anything: the push says so.
        runner.execute(
            PixelsCommand::Push {
                job: 11,
                contact: 0,
                image: 10,
                tiling: Tiling::Grid { nx: 1, ny: 1 },
                depth: Depth::U8,
                media: None,
                stem: "x".into(),
            },
            &[],
        );
        let Some(PixelsEvent::Pushed { job: 11, result }) = rx.recv().await else {
            panic!("no push result");
        };
        assert!(result.unwrap_err().contains("no RV connection number 1"));
    }
}

#[test]
fn clicks_focus_the_fields_cycle_the_depth_and_send() {
    use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
    let mut app = pixels_app(true);
    let a = rvshell::app::pixels::areas(app.areas().body);
    let click = |r: ratatui::layout::Rect| {
        AppEvent::Mouse(MouseEvent {
            kind: MouseEventKind::Down(MouseButton::Left),
            column: r.x + 1,
            row: r.y,
            modifiers: KeyModifiers::NONE,
        })
    };
    app.update(click(a.second));
    assert_eq!(app.pixels.focus, Some(PixelsField::Second));
    app.update(click(a.media));
    assert_eq!(app.pixels.focus, Some(PixelsField::Media));
    app.update(click(a.depth));
    assert_eq!(app.pixels.depth, Depth::U16);
    app.update(click(a.path));
    assert_eq!(app.pixels.focus, Some(PixelsField::Path));
    type_text(&mut app, "/img/a.png");
    app.update(key(KeyCode::Enter));
    app.update(net(PixelsEvent::Loaded {
        id: 1,
        result: Ok(info(8, 8)),
    }));
    let commands = app.update(click(a.send));
    assert!(
        matches!(
            commands.as_slice(),
            [Command::Pixels(PixelsCommand::Push {
                depth: Depth::U16,
                ..
            })]
        ),
        "{commands:?}"
    );
}
