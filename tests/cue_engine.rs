//! The pure cue engine in virtual time: fades (curve, cadence, exact last
//! frame), takeover mid-fade, frame-range entry rules, several cues on one
//! event, the contents regex, and the failsafe.

use rvshell::cue::engine::{DmxOut, Engine, FRAME_INTERVAL, Fired};
use rvshell::cue::show::Show;
use rvshell::rv::events::RvEvent;
use std::time::Duration;

/// The README's example, and more scenes and cues after it.
const SHOW: &str = concat!(
    include_str!("data/show.toml"),
    r#"
[scenes.spot]
universe = 2
values = "1=200"
[scenes.half]
universe = 1
values = "1=128"
[[cues]]
on = "frames"
frames = "1008-1020"
scene = "spot"
[[cues]]
on = "new-in-point"
scene = "house"
[[cues]]
on = "new-in-point"
scene = "half"
"#
);

fn engine() -> Engine {
    Engine::new(Show::parse(SHOW, "show.toml").unwrap())
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn event(name: &str, contents: &str) -> RvEvent {
    RvEvent::new(name, contents, "sim:1")
}

fn frame(n: i64) -> RvEvent {
    event("frame-changed", &n.to_string())
}

fn names(fired: &[Fired]) -> Vec<&str> {
    fired.iter().map(|f| f.scene.as_str()).collect()
}

/// Ticks whenever the engine asks, from `now`, until it is idle; returns
/// each frame with its time.
fn run(engine: &mut Engine, now: Duration) -> Vec<(Duration, DmxOut)> {
    let mut out = Vec::new();
    while let Some(due) = engine.next_due() {
        let at = due.max(now);
        out.extend(engine.tick(at).into_iter().map(|f| (at, f)));
        assert!(out.len() < 100_000, "the engine never settles");
    }
    out
}

/// Ticks whenever the engine asks, up to `until` (inclusive).
fn run_until(engine: &mut Engine, now: Duration, until: Duration) -> Vec<(Duration, DmxOut)> {
    let mut out = Vec::new();
    while let Some(due) = engine.next_due() {
        let at = due.max(now);
        if at > until {
            break;
        }
        out.extend(engine.tick(at).into_iter().map(|f| (at, f)));
    }
    out
}

#[test]
fn a_fade_is_linear_at_least_40_frames_a_second_and_ends_exactly_on_the_scene() {
    let mut e = engine();
    e.set_held(1, &[255, 255, 255, 255, 9]);
    let fired = e.on_event(&event("play-start", "1"), ms(1000));
    assert_eq!(names(&fired), ["dim"]);
    assert_eq!(fired[0].fade, Duration::from_secs(2));
    let frames = run(&mut e, ms(1000));
    // The first frame goes out at once, the last exactly at the end.
    assert_eq!(frames.first().unwrap().0, ms(1000));
    assert_eq!(frames.last().unwrap().0, ms(3000));
    assert!(frames.len() >= 80, "{} frames in 2 s", frames.len());
    for pair in frames.windows(2) {
        assert!(
            pair[1].0 - pair[0].0 <= FRAME_INTERVAL,
            "gap {:?}",
            pair[1].0 - pair[0].0
        );
    }
    // Linear from 255 to 25 over 2 s, rounded.
    for (at, f) in &frames {
        let p = (*at - ms(1000)).as_secs_f64() / 2.0;
        let want = (255.0 + (25.0 - 255.0) * p).round() as u8;
        assert!(
            f.data[0].abs_diff(want) <= 1,
            "at {at:?}: {} not {want}",
            f.data[0]
        );
        assert_eq!(f.data.len(), 512);
        assert_eq!(f.data[4], 9, "a channel no scene lists keeps its value");
    }
    let last = &frames.last().unwrap().1;
    assert_eq!(&last.data[..5], &[25, 25, 25, 25, 9]);
    assert_eq!(e.held(1).unwrap()[..4], [25; 4]);
    // Mid-way it is half-way.
    let mid = frames.iter().find(|(at, _)| *at == ms(2000)).unwrap();
    assert_eq!(mid.1.data[0], 140);
}

#[test]
fn a_new_cue_takes_over_from_where_the_fade_is() {
    let mut e = engine();
    e.set_held(1, &[255; 4]);
    e.on_event(&event("play-start", "1"), ms(0));
    let frames = run_until(&mut e, ms(0), ms(1000));
    assert_eq!(frames.last().unwrap().0, ms(1000));
    assert_eq!(frames.last().unwrap().1.data[0], 140);
    // Stop half-way: house fades in from 140, not from 25 nor from 255.
    e.on_event(&event("play-stop", "1"), ms(1000));
    let frames = run(&mut e, ms(1000));
    assert_eq!(frames[0].1.data[0], 140, "no jump at the takeover");
    let fifth = frames.iter().find(|(at, _)| *at == ms(1200)).unwrap();
    assert_eq!(fifth.1.data[0], 163); // 140 + (255 - 140) / 5
    assert_eq!(frames.last().unwrap().0, ms(2000));
    assert_eq!(frames.last().unwrap().1.data[..4], [255; 4]);
}

#[test]
fn a_frame_range_fires_when_entered_from_outside_only() {
    let mut e = engine();
    assert!(e.on_event(&frame(1004), ms(0)).is_empty());
    // Stepping in fires.
    assert_eq!(names(&e.on_event(&frame(1005), ms(10))), ["flash"]);
    // Stepping inside does not.
    assert!(e.on_event(&frame(1006), ms(20)).is_empty());
    assert!(e.on_event(&frame(1007), ms(30)).is_empty());
    // Into an overlapping range: only the range newly entered fires.
    assert_eq!(names(&e.on_event(&frame(1008), ms(40))), ["spot"]);
    // Out, and a jump back in fires again.
    assert!(e.on_event(&frame(2000), ms(50)).is_empty());
    assert_eq!(names(&e.on_event(&frame(1007), ms(60))), ["flash"]);
    // A jump from far below into both ranges fires both, in file order.
    assert!(e.on_event(&frame(1), ms(70)).is_empty());
    assert_eq!(names(&e.on_event(&frame(1009), ms(80))), ["flash", "spot"]);
    // Other events carrying a frame do not count as frame changes.
    assert!(e.on_event(&frame(1), ms(90)).is_empty());
    assert!(e.on_event(&event("play-start", "1007"), ms(100)).len() == 1);
    assert_eq!(names(&e.on_event(&frame(1007), ms(110))), ["flash"]);
    // A cut: one frame, and flash is there.
    let frames = run(&mut e, ms(110));
    let last = &frames.last().unwrap().1;
    assert_eq!(last.data[4], 255);
}

#[test]
fn several_cues_on_one_event_apply_in_file_order() {
    let mut e = engine();
    // house (1-4=255) then half (1=128): channel 1 ends at 128.
    let fired = e.on_event(&event("new-in-point", "10"), ms(0));
    assert_eq!(names(&fired), ["house", "half"]);
    assert_eq!(
        fired.iter().map(|f| f.cue).collect::<Vec<_>>(),
        [Some(5), Some(6)]
    );
    let frames = run(&mut e, ms(0));
    assert_eq!(frames.len(), 1, "two cuts in one tick are one frame");
    assert_eq!(frames[0].1.data[..4], [128, 255, 255, 255]);
    assert_eq!(
        frames[0].1.changed,
        vec![(1, 128), (2, 255), (3, 255), (4, 255)]
    );
}

#[test]
fn the_contents_must_match_the_regex() {
    let mut e = engine();
    let sgc = "source-group-complete";
    assert!(
        e.on_event(&event(sgc, "sourceGroup000001;;modified"), ms(0))
            .is_empty()
    );
    assert!(
        e.on_event(&event(sgc, "sourceGroup000002;;new"), ms(0))
            .is_empty()
    );
    assert!(
        e.on_event(&event(sgc, "xsourceGroup000001;;new"), ms(0))
            .is_empty()
    );
    assert_eq!(
        names(&e.on_event(&event(sgc, "sourceGroup000001;;new"), ms(0))),
        ["house"]
    );
}

#[test]
fn losing_rv_fades_the_failsafe_in_and_frames_enter_afresh() {
    let mut e = engine();
    e.on_event(&event("play-start", "1"), ms(0));
    run(&mut e, ms(0));
    assert_eq!(e.held(1).unwrap()[..4], [25; 4]);
    assert_eq!(names(&e.on_event(&frame(1006), ms(2000))), ["flash"]);
    run(&mut e, ms(2000));
    let fired = e.rv_lost(ms(3000)).unwrap();
    assert_eq!((fired.scene.as_str(), fired.cue), ("house", None));
    assert_eq!(fired.fade, Duration::from_secs(3));
    let frames = run(&mut e, ms(3000));
    assert_eq!(frames.last().unwrap().0, ms(6000));
    assert_eq!(
        frames.last().unwrap().1.data[..5],
        [255, 255, 255, 255, 255]
    );
    // After RV is back, a frame inside the range counts as entering it.
    assert_eq!(names(&e.on_event(&frame(1006), ms(7000))), ["flash"]);
    // A show without a failsafe does nothing.
    let mut bare =
        Engine::new(Show::parse("[scenes.a]\nuniverse = 1\nvalues = \"1\"\n", "s").unwrap());
    assert_eq!(bare.rv_lost(ms(0)), None);
    assert_eq!(bare.next_due(), None);
}

#[test]
fn universes_are_separate_and_idle_engines_send_nothing() {
    let mut e = engine();
    assert_eq!(e.next_due(), None);
    assert!(e.tick(ms(5)).is_empty());
    e.on_event(&frame(1015), ms(0));
    let frames = run(&mut e, ms(0));
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].1.universe, 2);
    assert_eq!(frames[0].1.changed, vec![(1, 200)]);
    assert_eq!(e.held(1).unwrap(), &[0; 512][..]);
}
