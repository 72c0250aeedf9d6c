//! The show file's validation: every error, with its line and column, and
//! what a valid show gives.

use rvshell::cue::show::{Show, ShowError, Trigger};
use std::time::Duration;

/// The example of the README and `cue::show`'s docs.
const EXAMPLE: &str = include_str!("data/show.toml");

fn errors(text: &str) -> String {
    match Show::parse(text, "bad.toml") {
        Err(err @ ShowError::Invalid { .. }) => err.to_string(),
        other => panic!("expected errors, got {other:?}"),
    }
}

#[test]
fn the_example_is_valid() {
    let show = Show::parse(EXAMPLE, "show.toml").unwrap();
    assert_eq!(show.priority, 100);
    assert_eq!(show.scenes.len(), 3);
    assert_eq!(show.cues.len(), 4);
    assert_eq!(show.universes(), [1]);
    assert_eq!(
        show.events(),
        [
            "play-start",
            "play-stop",
            "frame-changed",
            "source-group-complete"
        ]
    );
    let flash = show.scene("flash").unwrap();
    assert_eq!(show.scenes[flash].channels, [(5, 255)]);
    let house = show.scene("house").unwrap();
    assert_eq!(
        show.scenes[house].channels,
        [(1, 255), (2, 255), (3, 255), (4, 255)]
    );
    assert!(matches!(
        show.cues[2].trigger,
        Trigger::Frames {
            first: 1005,
            last: 1010
        }
    ));
    assert_eq!(show.cues[0].fade, Duration::from_secs(2));
    assert_eq!(show.failsafe.unwrap().scene, house);
    assert_eq!(show.summary(), "3 scenes, 4 cues, 1 universe (1), failsafe");
}

#[test]
fn an_empty_show_is_valid_and_needs_no_events() {
    let show = Show::parse("", "empty.toml").unwrap();
    assert_eq!(show.summary(), "0 scenes, 0 cues, 0 universes");
    assert!(show.events().is_empty());
    assert_eq!(show.priority, 100);
}

#[test]
fn every_error_is_reported_with_line_and_column() {
    let text = r#"priority = 300
colour = "red"
[scenes.house]
universe = 1
values = "1-4=256"
dimmer = 3
[scenes.dim]
universe = 1
values = "4-1=25"
[[cues]]
on = "play-start"
scene = "dimm"
[[cues]]
on = "frames"
frames = "1010-1005"
scene = "house"
[[cues]]
on = "source-group-complete"
contents = "^sourceGroup(0+1"
scene = "dim"
fade = -1
[[cues]]
on = "play stop"
scene = "dim"
[failsafe]
scene = "nowhere"
"#;
    insta::assert_snapshot!(errors(text), @r#"
    bad.toml:1:12: priority 300 is out of range: olad takes 0..=200
    bad.toml:2:1: unknown key "colour" in the show; expected one of: priority, scenes, cues, failsafe
    bad.toml:5:10: bad values: bad DMX value "256": values are whole numbers 0..=255
    bad.toml:6:1: unknown key "dimmer" in [scenes.house]; expected one of: universe, values
    bad.toml:9:10: bad values: bad channel range "4-1": the first channel must not exceed the last
    bad.toml:12:9: unknown scene "dimm"; the scenes are: dim, house
    bad.toml:15:10: bad frame range "1010-1005": write FIRST-LAST (first <= last) or one frame, e.g. "1005-1010"
    bad.toml:19:12: bad regex "^sourceGroup(0+1": unclosed group
    bad.toml:21:8: fade must be seconds from 0 to 3600, e.g. 2.5
    bad.toml:23:6: "play stop" is not an RV event name (letters, digits and - _ . only, e.g. frame-changed)
    bad.toml:26:9: unknown scene "nowhere"; the scenes are: dim, house
    "#);
}

#[test]
fn missing_and_misplaced_keys_are_reported() {
    let text = r#"priority = "high"
[scenes.a]
values = "1"
[scenes.b]
universe = 1
[[cues]]
scene = "a"
[[cues]]
on = "frames"
scene = "a"
[[cues]]
on = "play-start"
frames = "1-2"
scene = "a"
"#;
    insta::assert_snapshot!(errors(text), @r#"
    bad.toml:1:12: priority must be a whole number
    bad.toml:2:9: [scenes.a] lacks `universe = N`
    bad.toml:4:9: [scenes.b] lacks `values = "..."`
    bad.toml:6:1: cue 1 lacks `on = "EVENT"`
    bad.toml:8:1: cue 2 (on = "frames") lacks `frames = "FIRST-LAST"`
    bad.toml:13:1: `frames` belongs to cues with on = "frames"
    "#);
}

#[test]
fn toml_syntax_errors_are_located_too() {
    insta::assert_snapshot!(errors("[scenes.a]\nuniverse = \n"),
        @"bad.toml:2:12: not valid TOML: string values must be quoted, expected literal string"
    );
}

#[test]
fn the_readme_and_the_module_docs_show_this_example() {
    let readme = include_str!("../README.md");
    assert!(readme.contains(EXAMPLE), "README.md's show differs");
    let docs: String = include_str!("../src/cue/show.rs")
        .lines()
        .filter_map(|l| l.strip_prefix("//! ").or((l == "//!").then_some("")))
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(docs.contains(EXAMPLE), "cue::show's docs differ");
}
