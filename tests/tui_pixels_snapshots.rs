//! Snapshots of the Pixels tab at 100x30 and 60x20 (empty, image loaded with
//! its preview, completion candidates, push running with the gauge, an
//! error), driven by synthetic events through `App::update`; the preview's
//! half-block colours checked cell by cell; small sizes never panic.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::Color;
use rvshell::app::history::History;
use rvshell::app::pixels::{ImageInfo, PixelsEvent, Thumbnail};
use rvshell::app::{App, AppEvent, NetEvent};
use rvshell::rv::client::{ClientEvent, ConnState};
use rvshell::rv::push::Progress;
use std::time::Duration;

/// Large, the default terminal (80x24), and small.
const SIZES: [(u16, u16); 3] = [(100, 30), (80, 24), (60, 20)];

mod common;

use common::events::{ch, key};

fn net(event: PixelsEvent) -> AppEvent {
    AppEvent::Net(NetEvent::Pixels(event))
}

fn draw(app: &mut App, width: u16, height: u16) -> Terminal<TestBackend> {
    app.update(AppEvent::Resize(width, height));
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| rvshell::ui::draw(app, f)).unwrap();
    terminal
}

fn snapshot_all(name: &str, mut app: App) {
    for (w, h) in SIZES {
        let terminal = draw(&mut app, w, h);
        insta::assert_snapshot!(format!("{name}_{w}x{h}"), terminal.backend());
    }
}

/// A connected shell on the Pixels tab.
fn session() -> App {
    let mut app = App::new(vec!["127.0.0.1:45124".into()], History::default());
    app.clock = "10:15:00".into();
    app.update(AppEvent::Net(NetEvent::State {
        contact: 0,
        state: ConnState::Connected {
            peer: "rvsim".into(),
        },
    }));
    app.update(AppEvent::Net(NetEvent::Client {
        contact: 0,
        event: ClientEvent::Connected {
            peer: "rvsim".into(),
            app: "rv".into(),
        },
    }));
    app.clock = "10:15:02".into();
    app.update(ch('3'));
    app
}

/// A 16x9 colour chart thumbnail of a 640x360 image.
fn chart_info() -> ImageInfo {
    let (w, h) = (16u32, 9u32);
    let mut rgb = Vec::new();
    for y in 0..h {
        for x in 0..w {
            rgb.extend_from_slice(&[(x * 16) as u8, (y * 28) as u8, 200]);
        }
    }
    ImageInfo {
        width: 640,
        height: 360,
        format: "PNG, RGBA 8-bit".into(),
        thumbnail: Thumbnail {
            width: w,
            height: h,
            rgb,
        },
    }
}

fn loaded() -> App {
    let mut app = session();
    app.update(ch('o'));
    for c in "/shots/chart.png".chars() {
        app.update(ch(c));
    }
    app.update(key(KeyCode::Enter));
    app.update(net(PixelsEvent::Loaded {
        id: 1,
        result: Ok(chart_info()),
    }));
    app.update(key(KeyCode::Esc));
    app
}

#[test]
fn empty() {
    snapshot_all("pixels_empty", session());
}

#[test]
fn image_loaded_with_preview() {
    let mut app = loaded();
    app.update(ch('x'));
    app.update(key(KeyCode::Backspace));
    app.update(ch('2'));
    app.update(key(KeyCode::Tab));
    app.update(key(KeyCode::Backspace));
    app.update(ch('2'));
    app.update(key(KeyCode::Enter));
    snapshot_all("pixels_loaded", app);
}

#[test]
fn completion_candidates() {
    let mut app = loaded();
    app.update(ch('o'));
    app.update(AppEvent::Key(KeyEvent::new(
        KeyCode::Char('u'),
        KeyModifiers::CONTROL,
    )));
    for c in "/shots/s".chars() {
        app.update(ch(c));
    }
    app.update(key(KeyCode::Tab));
    app.update(net(PixelsEvent::Completions {
        text: "/shots/s".into(),
        candidates: vec![
            "/shots/shot_010.exr".into(),
            "/shots/shot_020.exr".into(),
            "/shots/shot_030.exr".into(),
            "/shots/stills/".into(),
        ],
    }));
    app.update(key(KeyCode::Tab));
    snapshot_all("pixels_completion", app);
}

#[test]
fn push_running_with_the_gauge() {
    let mut app = loaded();
    app.update(ch('d'));
    for (field, n) in [('x', '4'), ('y', '2')] {
        app.update(ch(field));
        app.update(key(KeyCode::Backspace));
        app.update(ch(n));
        app.update(key(KeyCode::Enter));
    }
    app.update(ch('s'));
    app.update(net(PixelsEvent::Progress {
        job: 2,
        progress: Progress {
            tiles_done: 3,
            tiles_total: 8,
            bytes_done: 2_764_800,
            bytes_total: 7_372_800,
            elapsed: Duration::from_millis(250),
        },
    }));
    snapshot_all("pixels_pushing", app);
}

#[test]
fn an_error() {
    let mut app = loaded();
    app.update(ch('o'));
    app.update(AppEvent::Key(KeyEvent::new(
        KeyCode::Char('u'),
        KeyModifiers::CONTROL,
    )));
    for c in "/shots/broken.exr".chars() {
        app.update(ch(c));
    }
    app.update(key(KeyCode::Enter));
    app.update(net(PixelsEvent::Loaded {
        id: 2,
        result: Err("/shots/broken.exr is not a readable image: unexpected end of file".into()),
    }));
    app.update(key(KeyCode::Esc));
    app.update(ch('x'));
    app.update(key(KeyCode::Backspace));
    app.update(ch('0'));
    app.update(key(KeyCode::Enter));
    app.update(ch('s'));
    snapshot_all("pixels_error", app);
}

/// Each cell is `▀` with the upper pixel as foreground and the lower one as
/// background: a thumbnail the exact size of the preview maps one to one.
#[test]
fn the_preview_is_half_blocks_upper_pixel_fg_lower_pixel_bg() {
    let mut app = session();
    app.update(AppEvent::Resize(100, 30));
    let preview = rvshell::app::pixels::areas(app.areas().body).preview;
    let (w, h) = (u32::from(preview.width), u32::from(preview.height) * 2);
    let color = |x: u32, y: u32| [(x * 5) as u8, (y * 12) as u8, 7];
    let mut rgb = Vec::new();
    for y in 0..h {
        for x in 0..w {
            rgb.extend_from_slice(&color(x, y));
        }
    }
    app.update(ch('o'));
    app.update(ch('a'));
    app.update(key(KeyCode::Enter));
    app.update(net(PixelsEvent::Loaded {
        id: 1,
        result: Ok(ImageInfo {
            width: w,
            height: h,
            format: "PNG".into(),
            thumbnail: Thumbnail {
                width: w,
                height: h,
                rgb,
            },
        }),
    }));
    let terminal = draw(&mut app, 100, 30);
    let buffer = terminal.backend().buffer();
    let rgb = |c: [u8; 3]| Color::Rgb(c[0], c[1], c[2]);
    for row in 0..preview.height {
        for col in 0..preview.width {
            let cell = &buffer[(preview.x + col, preview.y + row)];
            let (x, y) = (u32::from(col), u32::from(row) * 2);
            assert_eq!(cell.symbol(), "▀", "({col}, {row})");
            assert_eq!(cell.fg, rgb(color(x, y)), "({col}, {row}) upper");
            assert_eq!(cell.bg, rgb(color(x, y + 1)), "({col}, {row}) lower");
        }
    }
}

#[test]
fn small_and_odd_sizes_never_panic() {
    let mut app = loaded();
    app.update(ch('s'));
    for (w, h) in [
        (60, 20),
        (61, 21),
        (59, 20),
        (20, 5),
        (1, 1),
        (0, 0),
        (200, 3),
        (3, 200),
        (250, 80),
    ] {
        draw(&mut app, w, h);
    }
    // A degenerate image and thumbnail draw nothing, without panicking.
    let mut app = session();
    app.update(ch('o'));
    app.update(ch('a'));
    app.update(key(KeyCode::Enter));
    app.update(net(PixelsEvent::Loaded {
        id: 1,
        result: Ok(ImageInfo {
            width: 1,
            height: 100_000,
            format: "PNG".into(),
            thumbnail: Thumbnail {
                width: 1,
                height: 3,
                rgb: vec![1, 2, 3],
            },
        }),
    }));
    for (w, h) in [(100, 30), (60, 20), (0, 0)] {
        draw(&mut app, w, h);
    }
}
