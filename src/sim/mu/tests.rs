//! Tests of the evaluator through its public face (`eval_mu`, `eval_py`,
//! `exec_py`, accessors, effects).

use std::time::{Duration, Instant};

use proptest::prelude::*;

use super::*;

fn ms(t0: Instant, millis: u64) -> Instant {
    t0 + Duration::from_millis(millis)
}

/// The RETURN payload RV gives for a failed remote-eval (§4).
fn mu_error(message: &str, code: &str) -> String {
    format!("ERROR: remote-eval: {message}\nERROR: remote-eval: '{code}'\n")
}

/// Evaluates Mu at `t0` on a fresh session.
fn mu(code: &str) -> String {
    Session::new().eval_mu(code, Instant::now())
}

const PLAY: &str = r#"play();"FRAME = " + frame();"#;
const STOP: &str = r#"stop();"FRAME = " + frame();"#;
const FORWARD: &str = r#"extra_commands.stepForward1();"FRAME = " + frame();"#;
const BACK: &str = r#"extra_commands.stepBackward1();"FRAME = " + frame();"#;

// ---------------------------------------------------------------- defaults

#[test]
fn a_new_session_is_stopped_on_frame_1_of_1_to_100_at_24_fps() {
    let now = Instant::now();
    let mut s = Session::default();
    for (code, want) in [
        ("frame()", "1"),
        ("frameStart()", "1"),
        ("frameEnd()", "100"),
        ("fps()", "24.0"),
        ("isPlaying()", "false"),
        ("inc()", "1"),
        ("isFullScreen()", "false"),
        ("cacheMode()", "0"),
        ("sources()", "string[] {}"),
    ] {
        assert_eq!(s.eval_mu(code, now), want, "{code}");
    }
    assert_eq!(s.frame(now), 1);
    assert!(!s.is_playing());
    assert_eq!(s.fps(), 24.0);
    assert_eq!((s.frame_start(), s.frame_end(), s.inc()), (1, 100, 1));
    assert!(!s.full_screen());
    assert_eq!(s.cache_mode(), CacheMode::Off);
    assert!(s.sources().is_empty());
    assert!(s.take_effects().is_empty());
}

// ------------------------------------------------- playback buttons (§8)

#[test]
fn play_button_returns_the_frame_and_the_timeline_advances_at_fps() {
    let t0 = Instant::now();
    let mut s = Session::new();
    assert_eq!(s.eval_mu(PLAY, t0), r#""FRAME = 1""#);
    assert!(s.is_playing());
    // 24 fps: 0.5 s later, 12 frames on.
    assert_eq!(s.eval_mu(PLAY, ms(t0, 500)), r#""FRAME = 13""#);
    assert_eq!(s.frame(ms(t0, 1000)), 25);
    assert_eq!(s.eval_mu(STOP, ms(t0, 1000)), r#""FRAME = 25""#);
    assert!(!s.is_playing());
    assert_eq!(s.eval_mu("frame()", ms(t0, 9000)), "25");
}

#[test]
fn play_while_playing_keeps_the_original_start() {
    let t0 = Instant::now();
    let mut s = Session::new();
    s.eval_mu("play()", t0);
    s.eval_mu("play()", ms(t0, 500));
    assert_eq!(s.frame(ms(t0, 1000)), 25);
}

#[test]
fn playback_loops_within_the_range() {
    let t0 = Instant::now();
    let mut s = Session::new();
    s.eval_mu("play()", t0);
    // 99 frames after frame 1 is frame 100 (4.125 s at 24 fps).
    assert_eq!(s.frame(ms(t0, 4125)), 100);
    // The 100th step wraps back to frame 1.
    assert_eq!(s.frame(ms(t0, 4167)), 1);
    assert_eq!(s.frame(ms(t0, 4167 + 500)), 13);
    // An hour in, still inside the range.
    let f = s.frame(t0 + Duration::from_secs(3600));
    assert!((1..=100).contains(&f));
    // An instant before playback started counts as no time.
    assert_eq!(
        s.frame(t0.checked_sub(Duration::from_secs(1)).unwrap_or(t0)),
        1
    );
}

#[test]
fn step_buttons_stop_then_step_one_frame_wrapping() {
    let t0 = Instant::now();
    let mut s = Session::new();
    assert_eq!(s.eval_mu(FORWARD, t0), r#""FRAME = 2""#);
    assert_eq!(s.eval_mu(BACK, t0), r#""FRAME = 1""#);
    assert_eq!(s.eval_mu(BACK, t0), r#""FRAME = 100""#);
    assert_eq!(s.eval_mu(FORWARD, t0), r#""FRAME = 1""#);
    // Stepping while playing stops playback first.
    s.eval_mu("play()", t0);
    assert_eq!(s.eval_mu(FORWARD, ms(t0, 500)), r#""FRAME = 14""#);
    assert!(!s.is_playing());
    assert_eq!(
        s.eval_mu(r#""FRAME = " + frame();"#, ms(t0, 5000)),
        r#""FRAME = 14""#
    );
}

#[test]
fn full_screen_and_cache_buttons() {
    let now = Instant::now();
    let mut s = Session::new();
    assert_eq!(s.eval_mu("fullScreenMode(true)", now), "void");
    assert!(s.full_screen());
    assert_eq!(s.eval_mu("isFullScreen()", now), "true");
    s.eval_mu("fullScreenMode(false)", now);
    assert!(!s.full_screen());
    assert_eq!(s.eval_mu("setCacheMode(CacheBuffer)", now), "void");
    assert_eq!(s.cache_mode(), CacheMode::Buffer);
    assert_eq!(s.eval_mu("cacheMode()", now), "1");
    s.eval_mu("setCacheMode(commands.CacheGreedy)", now);
    assert_eq!(s.cache_mode(), CacheMode::Greedy);
    s.eval_mu("setCacheMode(CacheOff)", now);
    assert_eq!(s.cache_mode(), CacheMode::Off);
    assert_eq!(
        s.eval_mu("setCacheMode(7)", now),
        mu_error(
            "setCacheMode: unknown cache mode 7; use CacheOff (0), CacheBuffer (1) or CacheGreedy (2)",
            "setCacheMode(7)"
        )
    );
    assert_eq!(s.cache_mode(), CacheMode::Off);
    for m in [CacheMode::Off, CacheMode::Buffer, CacheMode::Greedy] {
        assert_eq!(CacheMode::from_int(m.as_int()), Some(m));
    }
}

// ------------------------------------------------------- other commands

#[test]
fn set_frame_clamps_to_the_range() {
    let now = Instant::now();
    let mut s = Session::new();
    for (code, want) in [
        ("setFrame(42); frame()", "42"),
        ("setFrame(0); frame()", "1"),
        ("setFrame(-5); frame()", "1"),
        ("setFrame(1000); frame()", "100"),
        ("commands.setFrame(7); commands.frame()", "7"),
    ] {
        assert_eq!(s.eval_mu(code, now), want, "{code}");
    }
}

#[test]
fn set_frame_while_playing_continues_from_the_new_frame() {
    let t0 = Instant::now();
    let mut s = Session::new();
    s.eval_mu("play()", t0);
    s.eval_mu("setFrame(50)", ms(t0, 1000));
    assert!(s.is_playing());
    assert_eq!(s.frame(ms(t0, 1500)), 62);
}

#[test]
fn set_fps_takes_effect_from_now() {
    let t0 = Instant::now();
    let mut s = Session::new();
    s.eval_mu("play()", t0);
    assert_eq!(s.eval_mu("setFPS(12); fps()", ms(t0, 1000)), "12.0");
    // 24 frames in the first second, then 12 in the next.
    assert_eq!(s.frame(ms(t0, 2000)), 37);
    assert_eq!(s.eval_mu("setFPS(23.976); fps()", t0), "23.976");
    assert_eq!(s.eval_mu(r#""fps " + fps()"#, t0), r#""fps 23.976000""#);
    assert!((s.fps() - 23.976).abs() < 1e-5);
    for bad in ["setFPS(0)", "setFPS(-1.5)"] {
        let got = s.eval_mu(bad, t0);
        assert!(
            got.starts_with("ERROR: remote-eval: setFPS: fps must be a positive number, got "),
            "{got}"
        );
    }
    assert!((s.fps() - 23.976).abs() < 1e-5);
}

#[test]
fn set_inc_minus_one_plays_backwards_as_play_control_py_does() {
    let t0 = Instant::now();
    let mut s = Session::new();
    s.eval_mu("setFrame(3)", t0);
    assert_eq!(s.eval_mu("setInc(-1); play(); inc()", t0), "-1");
    assert_eq!(s.inc(), -1);
    // 24 fps backwards from 3: 2, 1, then wraps to 100.
    assert_eq!(s.frame(ms(t0, 42)), 2);
    assert_eq!(s.frame(ms(t0, 125)), 100);
    assert_eq!(s.eval_mu("setInc(1); inc()", ms(t0, 125)), "1");
    assert_eq!(s.frame(ms(t0, 125 + 1000)), 24);
}

#[test]
fn redraw_emits_an_effect_and_effects_drain_in_order() {
    let now = Instant::now();
    let mut s = Session::new();
    assert_eq!(s.eval_mu("redraw(); redraw()", now), "void");
    assert_eq!(s.take_effects(), vec![Effect::Redraw, Effect::Redraw]);
    assert!(s.take_effects().is_empty());
}

// --------------------------------------------------------- printed forms

#[test]
fn printed_forms_follow_mu() {
    for (code, want) in [
        ("12", "12"),
        ("-12", "-12"),
        ("1 + 2 - 5", "-2"),
        ("24.0", "24.0"),
        ("24.", "24.0"),
        ("1.5", "1.5"),
        ("-0.25", "-0.25"),
        ("0.0001", "0.0001"),
        ("1e6", "1e+06.0"),
        // A Mu float is 32-bit: 123456.7 is 123456.703125, printed with
        // six significant digits and, not being integral, without ".0".
        ("123456.7", "123457"),
        ("100000.0", "100000.0"),
        ("1.5e-7", "1.5e-07"),
        ("1 + 2.5", "3.5"),
        ("true", "true"),
        ("false", "false"),
        ("nil", "nil"),
        ("play()", "void"),
        ("\"\"", "\"\""),
        (r#""FRAME = " + 12"#, r#""FRAME = 12""#),
        (r#""a\nb\tc\rd\be""#, r#""a\nb\tc\rd\be""#),
        (r#""q\"q""#, r#""q\"q""#),
        (r#""back\\slash""#, r#""back\slash""#),
        (r#""nul\0x""#, r#""nul^@x""#),
        (r#""\x01\u001f\x7f""#, r#""\u0001\u001f\u007f""#),
        ("\"h\u{e9}llo \u{4e16}\"", "\"h\u{e9}llo \u{4e16}\""),
        (r#"string[] {"a", "b"}"#, r#"string[] {"a", "b"}"#),
        (r#"string[] {}"#, r#"string[] {}"#),
        (r#"string[] {"x\ty",}"#, r#"string[] {"x\ty"}"#),
        ("", ""),
        (";;", ""),
    ] {
        assert_eq!(mu(code), want, "{code}");
    }
}

#[test]
fn long_arrays_print_truncated_as_mu_does() {
    let array = |n: usize| {
        let items: Vec<String> = (0..n).map(|i| format!("\"{i}\"")).collect();
        format!("string[] {{{}}}", items.join(", "))
    };
    let truncated = format!("{}, ...truncated...}}", array(82).trim_end_matches('}'));
    assert_eq!(mu(&array(100)), truncated);
    // DynamicArrayType tests `i > 80 && size > 81` after writing element i,
    // so exactly 82 elements also get the marker, and 81 print in full.
    assert_eq!(mu(&array(82)), truncated);
    assert_eq!(mu(&array(81)), array(81));
}

#[test]
fn plus_converts_to_string_as_mu_casts_do() {
    for (code, want) in [
        (r#""a" + 1 + 2"#, r#""a12""#),
        (r#"1 + 2 + "a""#, r#""3a""#),
        (r#""a" + -7"#, r#""a-7""#),
        (r#""a" + 1.5"#, r#""a1.500000""#),
        (r#""a" + true"#, r#""atrue""#),
        (r#""a" + nil"#, r#""anil""#),
        (r#"nil + "a""#, r#""nila""#),
        (r#""a" + "b""#, r#""ab""#),
        ("2147483647 + 1", "-2147483648"),
    ] {
        assert_eq!(mu(code), want, "{code}");
    }
}

// --------------------------------------------------------- blocks, let

#[test]
fn blocks_and_let_bindings_are_block_scoped() {
    for (code, want) in [
        (r#"{ let s = "x"; s + "y"; }"#, r#""xy""#),
        (r#"let s = "x"; s"#, r#""x""#),
        ("let s = 1", "void"),
        ("{ let a = 1; { let a = 2; a; } }", "2"),
        ("{ let a = 1; { let a = 2; }; a }", "1"),
        ("{ let a = frame(); a + 1 }", "2"),
        ("{}", "void"),
        ("{ 1; } 2", "2"),
        ("{ 1; }", "1"),
        ("{ { { 3 } } }", "3"),
    ] {
        assert_eq!(mu(code), want, "{code}");
    }
    assert_eq!(
        mu("{ let s = 1; }; s"),
        mu_error("unknown identifier s", "{ let s = 1; }; s")
    );
    assert_eq!(
        mu("let a = 1; let a = 2"),
        mu_error(
            "a is already declared in this scope",
            "let a = 1; let a = 2"
        )
    );
    assert_eq!(
        mu("let a = play()"),
        mu_error("cannot bind a void value to a", "let a = play()")
    );
}

// ------------------------------------------------------------- errors

#[test]
fn every_mu_error_has_the_rv_error_shape_and_a_clear_message() {
    for (code, message) in [
        ("x", "unknown identifier x"),
        ("foo.bar", "unknown identifier foo.bar"),
        ("commands.Nope", "unknown identifier commands.Nope"),
        ("frame(1)", "frame() expects 0 arguments, got 1"),
        (
            "setFrame()",
            "setFrame() expects 1 argument (int frame), got 0",
        ),
        (
            r#"setFrame("a")"#,
            "setFrame() argument 1 (frame) must be int, got string",
        ),
        (
            "setFrame(1.5)",
            "setFrame() argument 1 (frame) must be int, got float",
        ),
        (
            "fullScreenMode(1)",
            "fullScreenMode() argument 1 (on) must be bool, got int",
        ),
        (
            "setFPS(nil)",
            "setFPS() argument 1 (fps) must be float, got nil",
        ),
        (
            "play(",
            "syntax error at line 1, char 6: expected an expression, found end of input",
        ),
        (
            "play() stop()",
            "syntax error at line 1, char 8: expected ';', found identifier stop",
        ),
        (
            "play());",
            "syntax error at line 1, char 7: expected ';', found ')'",
        ),
        (
            "play() }",
            "syntax error at line 1, char 8: expected ';' or end of input, found '}'",
        ),
        (
            "\"abc",
            "syntax error at line 1, char 1: unterminated string literal",
        ),
        (
            "\"a\nb\"",
            "syntax error at line 1, char 1: unterminated string literal",
        ),
        (
            "frame();\n  @",
            "syntax error at line 2, char 3: unexpected character '@'",
        ),
        (
            r#""\q""#,
            "syntax error at line 1, char 3: bad escape sequence \\q in string literal",
        ),
        (
            "/* open",
            "syntax error at line 1, char 1: unterminated /* comment",
        ),
        (
            "let = 3",
            "syntax error at line 1, char 5: expected a variable name after let, found '='",
        ),
        ("string[] {1}", "string[] elements must be string, got int"),
        (
            "int[] {1}",
            "syntax error at line 1, char 4: expected ';', found '['",
        ),
        (
            "99999999999",
            "integer literal 99999999999 does not fit in a Mu int",
        ),
        (
            "99999999999999999999",
            "syntax error at line 1, char 1: integer literal does not fit in a Mu int",
        ),
        (r#""a" - 1"#, "cannot apply - to string and int"),
        ("true + 1", "cannot apply + to bool and int"),
        (r#""a" + play()"#, "cannot apply + to string and void"),
        (
            r#""a" + sources()"#,
            "cannot apply + to string and string[]",
        ),
        (r#"-"a""#, "cannot negate a string"),
        (
            r#""a"()"#,
            "only named functions can be called, as in play() or extra_commands.stepForward1()",
        ),
        (
            "frame().x",
            "the simulator does not support member access on values",
        ),
    ] {
        assert_eq!(mu(code), mu_error(message, code), "{code}");
    }
}

#[test]
fn unknown_functions_are_named_and_the_known_ones_listed() {
    for (code, name) in [
        ("foo()", "foo"),
        ("stepForward1()", "stepForward1"),
        ("commands.stepForward1()", "commands.stepForward1"),
        ("extra_commands.play()", "extra_commands.play"),
        ("system(\"rm -rf /\")", "system"),
        ("runtime.eval(\"1\")", "runtime.eval"),
    ] {
        let got = mu(code);
        let prefix = format!(
            "ERROR: remote-eval: unknown function {name}(); the simulator knows play, stop, "
        );
        assert!(got.starts_with(&prefix), "{got}");
        assert!(
            got.contains(", extra_commands.stepForward1, extra_commands.stepBackward1, "),
            "{got}"
        );
        assert!(
            got.ends_with(&format!(
                ", sources, setInPoint, setOutPoint, inPoint, outPoint, setFrameStart, setFrameEnd, viewNode, setViewNode, bind, unbind, defineMinorMode, activateMode, deactivateMode, isModeActive, remoteConnections, remoteContacts, remoteLocalContactName, remoteSendEvent\nERROR: remote-eval: '{code}'\n"
            )),
            "{got}"
        );
    }
}

#[test]
fn nothing_runs_when_any_part_fails_to_check() {
    let now = Instant::now();
    let mut s = Session::new();
    let got = s.eval_mu("play(); redraw(); nosuch()", now);
    assert!(got.starts_with("ERROR: remote-eval: unknown function nosuch()"));
    assert!(!s.is_playing());
    assert!(s.take_effects().is_empty());
    let got = s.eval_mu("setFrame(5); setFrame(\"6\")", now);
    assert!(got.starts_with("ERROR: remote-eval: setFrame() argument 1"));
    assert_eq!(s.frame(now), 1);
}

#[test]
fn a_program_sent_again_is_checked_and_run_the_same_way() {
    // Programs are parsed and checked once, then kept: a second sending
    // must still run every effect, and a failing one must still fail
    // before anything runs.
    let now = Instant::now();
    let mut s = Session::new();
    for round in 1..=3 {
        assert_eq!(s.eval_mu("redraw(); setFrame(frame() + 1)", now), "void");
        assert_eq!(s.frame(now), 1 + round, "round {round}");
        assert_eq!(s.take_effects().len(), 1, "round {round}");
        let got = s.eval_mu("play(); redraw(); nosuch()", now);
        assert!(got.starts_with("ERROR: remote-eval: unknown function nosuch()"));
        assert!(!s.is_playing(), "round {round}");
        assert!(s.take_effects().is_empty(), "round {round}");
    }
}

#[test]
fn a_runtime_error_stops_at_the_failing_command_like_a_mu_exception() {
    let now = Instant::now();
    let mut s = Session::new();
    let code = "setFrame(9); setFPS(0); setFrame(10)";
    assert_eq!(
        s.eval_mu(code, now),
        mu_error("setFPS: fps must be a positive number, got 0", code)
    );
    assert_eq!(s.frame(now), 9);
    // The session still works afterwards.
    assert_eq!(s.eval_mu(PLAY, now), r#""FRAME = 9""#);
}

#[test]
fn the_code_is_echoed_verbatim_in_errors() {
    let code = "frame();\n\tbogus  ";
    assert_eq!(mu(code), mu_error("unknown identifier bogus", code));
}

#[test]
fn input_size_nesting_and_string_growth_are_bounded() {
    let long = "1;".repeat(MAX_CODE_BYTES / 2 + 1);
    assert_eq!(
        mu(&long),
        mu_error(
            &format!(
                "the code is {} bytes; the simulator evaluates at most {MAX_CODE_BYTES}",
                long.len()
            ),
            &long
        )
    );
    let ok_depth = format!(
        "{}1{}",
        "(".repeat(MAX_DEPTH - 1),
        ")".repeat(MAX_DEPTH - 1)
    );
    assert_eq!(mu(&ok_depth), "1");
    for deep in [
        format!("{}1{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH)),
        format!("{}1", "-".repeat(60_000)),
        "(".repeat(60_000),
        "{".repeat(60_000),
        "string[] {".repeat(6_000),
        format!("a{}", ".b".repeat(30_000)),
        format!("f{}", "()".repeat(30_000)),
    ] {
        let got = mu(&deep);
        assert!(
            got.starts_with("ERROR: remote-eval: syntax error at line 1, char ")
                && got.contains(&format!(": nesting deeper than {MAX_DEPTH} levels\n")),
            "{}",
            &got[..got.len().min(200)]
        );
    }
    // A long flat chain is not nesting and evaluates without recursion.
    let chain = format!("{}1", "1+".repeat(20_000));
    assert_eq!(mu(&chain), "20001");
    // Strings cannot be doubled past the cap.
    let mut code = String::from("let a0 = \"xxxxxxxxxxxxxxxx\";");
    for i in 1..40 {
        code.push_str(&format!("let a{i} = a{} + a{};", i - 1, i - 1));
    }
    assert_eq!(
        mu(&code),
        mu_error(
            &format!("a string would grow past {MAX_STRING_BYTES} bytes"),
            &code
        )
    );
}

// ------------------------------------------------- newImageSource (§7.4)

/// The block rvshell's Pixels tab sends (spec §12).
const RVSHELL_PIXELS: &str = r#"{ let s = newImageSource( "2026-11-21-4:33:45:439", 4, 3, 4, 3, 0, 0, 1.0, 4, 8, false, 1, 1, 24.0, nil, string[] {"left", "right"} ); newImageSourcePixels( s, 1, nil, "left"); newImageSourcePixels( s, 1, nil, "right"); }"#;

fn new_source(args: &str) -> String {
    format!("newImageSource({args})")
}

const GOOD_ARGS: &str = r#""m", 4, 3, 4, 3, 0, 0, 1.0, 4, 8, false, 1, 10, 24.0, nil, nil"#;

#[test]
fn rvshell_pixels_block_creates_a_source_and_allocates_both_views() {
    let now = Instant::now();
    let mut s = Session::new();
    assert_eq!(
        s.eval_mu(RVSHELL_PIXELS, now),
        r#""sourceGroup000000_source.image.1:right""#
    );
    let node = "sourceGroup000000_source".to_string();
    assert_eq!(
        s.take_effects(),
        vec![
            Effect::SourceCreated { node: node.clone() },
            Effect::PixelsAllocated {
                node: node.clone(),
                frame: 1,
                layer: None,
                view: Some("left".into())
            },
            Effect::PixelsAllocated {
                node: node.clone(),
                frame: 1,
                layer: None,
                view: Some("right".into())
            },
        ]
    );
    let want = SourceInfo {
        node: node.clone(),
        media: "2026-11-21-4:33:45:439".into(),
        width: 4,
        height: 3,
        uncrop_width: 4,
        uncrop_height: 3,
        uncrop_x: 0,
        uncrop_y: 0,
        pixel_aspect: 1.0,
        channels: 4,
        bits: 8,
        float: false,
        start_frame: 1,
        end_frame: 1,
        fps: 24.0,
        layers: vec![],
        views: vec!["left".into(), "right".into()],
    };
    assert_eq!(s.sources(), std::slice::from_ref(&want));
    assert_eq!(s.source(&node), Some(&want));
    assert_eq!(want.image_bytes(), 48);
    assert_eq!(want.frame_count(), 1);
    assert_eq!(
        s.eval_mu("sources()", now),
        r#"string[] {"2026-11-21-4:33:45:439"}"#
    );
    // The range follows the only source.
    assert_eq!(s.eval_mu("frameStart(); frameEnd()", now), "1");
    assert_eq!((s.frame_start(), s.frame_end()), (1, 1));
}

#[test]
fn node_names_count_from_zero_and_the_range_becomes_the_sequence() {
    let now = Instant::now();
    let mut s = Session::new();
    assert_eq!(
        s.eval_mu(&new_source(GOOD_ARGS), now),
        r#""sourceGroup000000_source""#
    );
    assert_eq!((s.frame_start(), s.frame_end()), (1, 10));
    let second = new_source(
        r#""n", 2, 2, 2, 2, 0, 0, 1.0, 3, 16, true, 101, 105, 30.0, string[] {"a"}, nil"#,
    );
    assert_eq!(s.eval_mu(&second, now), r#""sourceGroup000001_source""#);
    assert_eq!((s.frame_start(), s.frame_end()), (1, 15));
    assert_eq!(s.eval_mu("sources()", now), r#"string[] {"m", "n"}"#);
    let n = &s.sources()[1];
    assert_eq!((n.channels, n.bits, n.float, n.fps), (3, 16, true, 30.0));
    assert_eq!(n.image_bytes(), 2 * 2 * 3 * 2);
    assert_eq!(
        s.take_effects(),
        vec![
            Effect::SourceCreated {
                node: "sourceGroup000000_source".into()
            },
            Effect::SourceCreated {
                node: "sourceGroup000001_source".into()
            },
        ]
    );
}

#[test]
fn pixel_property_names_follow_rv() {
    let now = Instant::now();
    let mut s = Session::new();
    let make = new_source(
        r#""m", 4, 3, 4, 3, 0, 0, 1.0, 4, 32, true, 1, 10, 24.0, string[] {"diffuse.r", "spec"}, string[] {"left", "right"}"#,
    );
    s.eval_mu(&make, now);
    s.take_effects();
    let node = "sourceGroup000000_source";
    for (args, want, frame, layer, view) in [
        ("5, nil, nil", "5:left;diffuse*r", 5, None, None),
        ("50, nil, nil", "10:left;diffuse*r", 10, None, None),
        ("-3, \"spec\", nil", "1:left;spec", 1, Some("spec"), None),
        (
            "2, nil, \"right\"",
            "2:right;diffuse*r",
            2,
            None,
            Some("right"),
        ),
        ("2, \"-\", \"-\"", "2:left;diffuse*r", 2, None, None),
    ] {
        let code = format!("newImageSourcePixels(\"{node}\", {args})");
        assert_eq!(
            s.eval_mu(&code, now),
            format!("\"{node}.image.{want}\""),
            "{code}"
        );
        assert_eq!(
            s.take_effects(),
            vec![Effect::PixelsAllocated {
                node: node.into(),
                frame,
                layer: layer.map(String::from),
                view: view.map(String::from),
            }]
        );
    }
    // No views or layers declared: the bare frame.
    let mut s = Session::new();
    s.eval_mu(&new_source(GOOD_ARGS), now);
    assert_eq!(
        s.eval_mu(
            &format!("newImageSourcePixels(\"{node}\", 3, nil, nil)"),
            now
        ),
        format!("\"{node}.image.3\"")
    );
}

#[test]
fn new_image_source_pixels_rejects_undeclared_names_and_unknown_nodes() {
    let now = Instant::now();
    let mut s = Session::new();
    s.eval_mu(RVSHELL_PIXELS, now);
    s.take_effects();
    let code = r#"newImageSourcePixels("sourceGroup000000_source", 1, nil, "middle")"#;
    assert_eq!(
        s.eval_mu(code, now),
        mu_error(
            r#"newImageSourcePixels: Bad view name: "middle" (declared views: ["left", "right"])"#,
            code
        )
    );
    let code = r#"newImageSourcePixels("sourceGroup000000_source", 1, "beauty", nil)"#;
    assert_eq!(
        s.eval_mu(code, now),
        mu_error(
            r#"newImageSourcePixels: Bad layer name: "beauty" (declared layers: [])"#,
            code
        )
    );
    // Names are quoted so the error stays on one line.
    let code = r#"newImageSourcePixels("sourceGroup000000_source", 1, nil, "a\nb")"#;
    assert_eq!(
        s.eval_mu(code, now),
        mu_error(
            r#"newImageSourcePixels: Bad view name: "a\nb" (declared views: ["left", "right"])"#,
            code
        )
    );
    assert_eq!(
        s.eval_mu(
            r#"newImageSourcePixels("sourceGroup000009_source", 1, nil, nil)"#,
            now
        ),
        "nil"
    );
    assert_eq!(
        s.eval_mu("newImageSourcePixels(nil, 1, nil, nil)", now),
        "nil"
    );
    assert!(s.take_effects().is_empty());
}

#[test]
fn new_image_source_validates_its_arguments_and_changes_nothing_on_error() {
    let now = Instant::now();
    let cases = [
        (
            r#""m", 0, 3, 4, 3, 0, 0, 1.0, 4, 8, false, 1, 1, 24.0, nil, nil"#,
            "width must be between 1 and 16384, got 0",
        ),
        (
            r#""m", 4, -3, 4, 3, 0, 0, 1.0, 4, 8, false, 1, 1, 24.0, nil, nil"#,
            "height must be between 1 and 16384, got -3",
        ),
        (
            r#""m", 20000, 3, 4, 3, 0, 0, 1.0, 4, 8, false, 1, 1, 24.0, nil, nil"#,
            "width must be between 1 and 16384, got 20000",
        ),
        (
            r#""m", 4, 3, 0, 3, 0, 0, 1.0, 4, 8, false, 1, 1, 24.0, nil, nil"#,
            "uncropWidth must be between 1 and 16384, got 0",
        ),
        (
            r#""m", 4, 3, 4, 0, 0, 0, 1.0, 4, 8, false, 1, 1, 24.0, nil, nil"#,
            "uncropHeight must be between 1 and 16384, got 0",
        ),
        (
            r#""m", 4, 3, 4, 3, 0, 0, 0.0, 4, 8, false, 1, 1, 24.0, nil, nil"#,
            "pixelAspect must be positive, got 0",
        ),
        (
            r#""m", 4, 3, 4, 3, 0, 0, 1.0, 0, 8, false, 1, 1, 24.0, nil, nil"#,
            "channels must be 1 to 4 (RGBA), got 0",
        ),
        (
            r#""m", 4, 3, 4, 3, 0, 0, 1.0, 5, 8, false, 1, 1, 24.0, nil, nil"#,
            "channels must be 1 to 4 (RGBA), got 5",
        ),
        (
            r#""m", 4, 3, 4, 3, 0, 0, 1.0, 4, 12, false, 1, 1, 24.0, nil, nil"#,
            "bitsPerChannel must be 8, 16 or 32, got 12",
        ),
        (
            r#""m", 4, 3, 4, 3, 0, 0, 1.0, 4, 8, false, 5, 4, 24.0, nil, nil"#,
            "startFrame 5 is after endFrame 4",
        ),
        (
            r#""m", 4, 3, 4, 3, 0, 0, 1.0, 4, 8, false, 1, 1, 0.0, nil, nil"#,
            "fps must be positive, got 0",
        ),
        (
            r#""m", 4, 3, 4, 3, 0, 0, 1.0, 4, 8, false, 1, 1, 24.0, string[] {""}, nil"#,
            r#"bad layer name "": layer names must be non-empty and free of / @ # * : ;"#,
        ),
        (
            r#""m", 4, 3, 4, 3, 0, 0, 1.0, 4, 8, false, 1, 1, 24.0, string[] {"a:b"}, nil"#,
            r#"bad layer name "a:b": layer names must be non-empty and free of / @ # * : ;"#,
        ),
        (
            r#""m", 4, 3, 4, 3, 0, 0, 1.0, 4, 8, false, 1, 1, 24.0, nil, string[] {"left", ""}"#,
            r#"bad view name "": view names must be non-empty"#,
        ),
        (
            r#"nil, 4, 3, 4, 3, 0, 0, 1.0, 4, 8, false, 1, 1, 24.0, nil, nil"#,
            "mediaName must be a string, not nil",
        ),
        (
            r#""m", 16384, 16384, 4, 3, 0, 0, 1.0, 4, 32, true, 1, 1, 24.0, nil, nil"#,
            "one frame would need 4294967296 bytes; the simulator allows at most 1073741824",
        ),
    ];
    let long_name = "x".repeat(MAX_NAME_BYTES + 1);
    let long_media =
        format!(r#""{long_name}", 4, 3, 4, 3, 0, 0, 1.0, 4, 8, false, 1, 1, 24.0, nil, nil"#);
    let long_view = format!(
        r#""m", 4, 3, 4, 3, 0, 0, 1.0, 4, 8, false, 1, 1, 24.0, nil, string[] {{"{long_name}"}}"#
    );
    let many: Vec<String> = (0..=MAX_NAMES).map(|i| format!("\"v{i}\"")).collect();
    let many_views = format!(
        r#""m", 4, 3, 4, 3, 0, 0, 1.0, 4, 8, false, 1, 1, 24.0, nil, string[] {{{}}}"#,
        many.join(", ")
    );
    let long_message = format!(
        "a name of {} bytes given; media, view and layer names may have at most {MAX_NAME_BYTES}",
        MAX_NAME_BYTES + 1
    );
    let many_message = format!(
        "0 layers and {} views given; the simulator allows at most {MAX_NAMES} of each",
        MAX_NAMES + 1
    );
    let extra = [
        (long_media.as_str(), long_message.as_str()),
        (long_view.as_str(), long_message.as_str()),
        (many_views.as_str(), many_message.as_str()),
    ];
    for (args, message) in cases.into_iter().chain(extra) {
        let mut s = Session::new();
        let code = new_source(args);
        assert_eq!(
            s.eval_mu(&code, now),
            mu_error(&format!("newImageSource: {message}"), &code),
            "{args}"
        );
        assert!(s.sources().is_empty());
        assert!(s.take_effects().is_empty());
        assert_eq!((s.frame_start(), s.frame_end()), (1, 100));
    }
}

#[test]
fn new_image_source_checks_argument_count_and_types() {
    let code = new_source(r#""m", 4, 3, 4, 3, 0, 0, 1.0, 4, 8, false, 1, 1, 24.0, nil"#);
    let got = mu(&code);
    assert!(
        got.starts_with(
            "ERROR: remote-eval: newImageSource() expects 16 arguments (string mediaName, int width, "
        ) && got.contains(", string[] layers, string[] views), got 15\n"),
        "{got}"
    );
    let code = new_source(r#""m", "4", 3, 4, 3, 0, 0, 1.0, 4, 8, false, 1, 1, 24.0, nil, nil"#);
    assert_eq!(
        mu(&code),
        mu_error(
            "newImageSource() argument 2 (width) must be int, got string",
            &code
        )
    );
    // Ints pass where floats are expected.
    let code = new_source(r#""m", 4, 3, 4, 3, 0, 0, 1, 4, 8, false, 1, 1, 24, nil, nil"#);
    assert_eq!(mu(&code), r#""sourceGroup000000_source""#);
}

#[test]
fn the_source_count_is_capped() {
    let now = Instant::now();
    let mut s = Session::new();
    let code = new_source(GOOD_ARGS);
    for _ in 0..MAX_SOURCES {
        s.eval_mu(&code, now);
    }
    assert_eq!(s.sources().len(), MAX_SOURCES);
    assert_eq!(
        s.eval_mu(&code, now),
        mu_error(
            &format!(
                "newImageSource: the simulator holds at most {MAX_SOURCES} sources; restart it for more"
            ),
            &code
        )
    );
    assert_eq!(s.sources().len(), MAX_SOURCES);
}

// ---------------------------------------------------------------- Python

#[test]
fn python_eval_answers_with_str_of_the_value() {
    let t0 = Instant::now();
    let mut s = Session::new();
    for (code, want) in [
        ("rv.commands.frame()", "1"),
        ("rv.commands.isPlaying()", "False"),
        ("rv.commands.fps()", "24.0"),
        ("rv.commands.sources()", "[]"),
        ("rv.commands.play()", ""),
        ("rv.commands.isPlaying()", "True"),
        ("rv.commands.stop()", ""),
        ("rv.commands.setFrame(10)", ""),
        ("rv.commands.frame()", "10"),
        ("rv.extra_commands.stepForward1()", ""),
        (" rv.commands.frame() \n", "11"),
        ("rv.commands.setFrame(True)", ""),
        ("rv.commands.frame()", "1"),
        ("rv.commands.CacheBuffer", "1"),
        ("rv.commands.setCacheMode(rv.commands.CacheGreedy)", ""),
        ("rv.commands.cacheMode()", "2"),
        ("rv.commands.fullScreenMode(True)", ""),
        ("rv.commands.isFullScreen()", "True"),
        ("rv.commands.setFPS(30)", ""),
        ("rv.commands.fps()", "30.0"),
        ("rv.commands.setFPS(23.976)", ""),
        ("rv.commands.fps()", "23.97599983215332"),
        ("rv.commands.setInc(-1)", ""),
        ("rv.commands.inc()", "-1"),
        ("'a' + \"b\"", "ab"),
        (
            "[1, 'a', None, True, 2.5, [\"it's\"]]",
            "[1, 'a', None, True, 2.5, [\"it's\"]]",
        ),
        ("[1] + [2]", "[1, 2]"),
        ("-5 + 2", "-3"),
        ("1 + 2.5", "3.5"),
        ("True + 1", "2"),
        ("(1)", "1"),
        ("None", ""),
        ("rv.commands.frame", "<built-in function frame>"),
        ("rv", "<module 'rv'>"),
        ("rv.extra_commands", "<module 'rv.extra_commands'>"),
        ("rv.commands.frame() # comment", "1"),
        ("rv.commands.redraw()", ""),
    ] {
        assert_eq!(s.eval_py(code, t0), want, "{code}");
    }
    assert!(s.full_screen());
    assert_eq!(s.cache_mode(), CacheMode::Greedy);
    assert_eq!(s.take_effects(), vec![Effect::Redraw]);
}

#[test]
fn python_and_mu_share_one_session() {
    let t0 = Instant::now();
    let mut s = Session::new();
    s.eval_py("rv.commands.play()", t0);
    assert_eq!(
        s.eval_mu(r#""FRAME = " + frame()"#, ms(t0, 500)),
        r#""FRAME = 13""#
    );
    assert_eq!(s.eval_py("rv.commands.frame()", ms(t0, 1000)), "25");
}

#[test]
fn python_new_image_source_takes_lists_and_none() {
    let now = Instant::now();
    let mut s = Session::new();
    let code = "rv.commands.newImageSource('img', 4, 3, 4, 3, 0, 0, 1.0, 4, 8, False, 1, 1, 24.0, None, ['left', 'right'])";
    assert_eq!(s.eval_py(code, now), "sourceGroup000000_source");
    assert_eq!(
        s.eval_py(
            "rv.commands.newImageSourcePixels('sourceGroup000000_source', 1, None, 'left')",
            now
        ),
        "sourceGroup000000_source.image.1:left"
    );
    assert_eq!(
        s.eval_py(
            "rv.commands.newImageSourcePixels('nope', 1, None, None)",
            now
        ),
        ""
    );
    assert_eq!(s.eval_py("rv.commands.sources()", now), "['img']");
    assert_eq!(s.take_effects().len(), 2);
    assert_eq!(
        s.eval_py("rv.commands.newImageSource('img', 4, 3, 4, 3, 0, 0, 1.0, 4, 8, False, 1, 1, 24.0, None, ['left', 1])", now),
        "<class 'TypeError'>: newImageSource() argument 16 (views) must be a list of str or None, not list"
    );
    assert_eq!(
        s.eval_py("rv.commands.newImageSource('img', 4, 3, 4, 3, 0, 0, 1.0, 9, 8, False, 1, 1, 24.0, None, None)", now),
        "<class 'Exception'>: newImageSource: channels must be 1 to 4 (RGBA), got 9"
    );
    assert_eq!(s.sources().len(), 1);
}

#[test]
fn python_errors_use_the_right_exception_class() {
    for (code, want) in [
        ("foo", "<class 'NameError'>: name 'foo' is not defined"),
        (
            "commands.frame()",
            "<class 'NameError'>: name 'commands' is not defined",
        ),
        (
            "rv.commands.fullScreenMode(true)",
            "<class 'NameError'>: name 'true' is not defined",
        ),
        (
            "rv.foo",
            "<class 'AttributeError'>: module 'rv' has no attribute 'foo'",
        ),
        (
            "rv.commands.foo()",
            "<class 'AttributeError'>: module 'rv.commands' has no attribute 'foo'",
        ),
        (
            "rv.commands.stepForward1()",
            "<class 'AttributeError'>: module 'rv.commands' has no attribute 'stepForward1'",
        ),
        (
            "rv.extra_commands.play()",
            "<class 'AttributeError'>: module 'rv.extra_commands' has no attribute 'play'",
        ),
        (
            "rv.commands.frame().real",
            "<class 'AttributeError'>: 'int' object has no attribute 'real'",
        ),
        (
            "rv.commands.frame(1)",
            "<class 'TypeError'>: frame() takes 0 positional arguments but 1 was given",
        ),
        (
            "rv.commands.setFrame(1, 2)",
            "<class 'TypeError'>: setFrame() takes 1 positional argument but 2 were given",
        ),
        (
            "rv.commands.setFrame()",
            "<class 'TypeError'>: setFrame() missing 1 required positional argument: 'frame'",
        ),
        (
            "rv.commands.newImageSourcePixels('x', 1)",
            "<class 'TypeError'>: newImageSourcePixels() missing 2 required positional arguments: 'layer' and 'view'",
        ),
        (
            "rv.commands.setFrame('a')",
            "<class 'TypeError'>: setFrame() argument 1 (frame) must be int, not str",
        ),
        (
            "rv.commands.setFrame(1.5)",
            "<class 'TypeError'>: setFrame() argument 1 (frame) must be int, not float",
        ),
        (
            "rv.commands.fullScreenMode(1)",
            "<class 'TypeError'>: fullScreenMode() argument 1 (on) must be bool, not int",
        ),
        (
            "rv.commands.setFrame(99999999999)",
            "<class 'OverflowError'>: Python int too large to convert to C int",
        ),
        (
            "rv.commands.frame()()",
            "<class 'TypeError'>: 'int' object is not callable",
        ),
        (
            "rv()",
            "<class 'TypeError'>: 'module' object is not callable",
        ),
        (
            "'FRAME = ' + rv.commands.frame()",
            "<class 'TypeError'>: can only concatenate str (not \"int\") to str",
        ),
        (
            "1 + 'a'",
            "<class 'TypeError'>: unsupported operand type(s) for +: 'int' and 'str'",
        ),
        (
            "'a' - 'b'",
            "<class 'TypeError'>: unsupported operand type(s) for -: 'str' and 'str'",
        ),
        (
            "[1] + 1",
            "<class 'TypeError'>: can only concatenate list (not \"int\") to list",
        ),
        (
            "-'a'",
            "<class 'TypeError'>: bad operand type for unary -: 'str'",
        ),
        (
            "rv.commands.setFPS(0)",
            "<class 'Exception'>: setFPS: fps must be a positive number, got 0",
        ),
        (
            "rv.commands.frame(",
            "<class 'SyntaxError'>: invalid syntax (<string>, line 1)",
        ),
        (
            "rv.commands.play(); rv.commands.frame()",
            "<class 'SyntaxError'>: invalid syntax (<string>, line 1)",
        ),
        (
            "",
            "<class 'SyntaxError'>: invalid syntax (<string>, line 0)",
        ),
        (
            "'abc",
            "<class 'SyntaxError'>: unterminated string literal (detected at line 1) (<string>, line 1)",
        ),
        (
            "(1,\n'abc",
            "<class 'SyntaxError'>: unterminated string literal (detected at line 2) (<string>, line 2)",
        ),
        (
            "1 2",
            "<class 'SyntaxError'>: invalid syntax (<string>, line 1)",
        ),
        (
            "x = 1",
            "<class 'SyntaxError'>: invalid syntax (<string>, line 1)",
        ),
        (
            "{1}",
            "<class 'SyntaxError'>: invalid syntax (<string>, line 1)",
        ),
        (
            "99999999999999999999",
            "<class 'OverflowError'>: int literal too large for the simulator (64-bit ints only)",
        ),
        (
            "9223372036854775807 + 1",
            "<class 'OverflowError'>: integer result too large for the simulator (64-bit ints only)",
        ),
    ] {
        assert_eq!(Session::new().eval_py(code, Instant::now()), want, "{code}");
    }
    let deep = format!("{}1{}", "(".repeat(100), ")".repeat(100));
    assert_eq!(
        Session::new().eval_py(&deep, Instant::now()),
        format!(
            "<class 'SyntaxError'>: too many nested parentheses (more than {MAX_DEPTH}) (<string>, line 1)"
        )
    );
    let long = "1+".repeat(MAX_CODE_BYTES);
    assert_eq!(
        Session::new().eval_py(&long, Instant::now()),
        format!(
            "<class 'ValueError'>: the code is {} bytes; the simulator evaluates at most {MAX_CODE_BYTES}",
            long.len()
        )
    );
}

#[test]
fn python_evaluates_left_to_right_so_earlier_calls_take_effect_before_an_error() {
    let now = Instant::now();
    let mut s = Session::new();
    assert_eq!(
        s.eval_py("[rv.commands.play(), nosuch]", now),
        "<class 'NameError'>: name 'nosuch' is not defined"
    );
    assert!(s.is_playing());
}

#[test]
fn python_exec_runs_statements_for_their_effects() {
    let t0 = Instant::now();
    let mut s = Session::new();
    s.exec_py(
        "rv.commands.setFrame(5); rv.commands.setFPS(12)\n\n# comment\nrv.commands.play()\n",
        t0,
    );
    assert!(s.is_playing());
    assert_eq!(s.fps(), 12.0);
    assert_eq!(s.frame(ms(t0, 1000)), 17);

    // An exception stops at the failing statement.
    let mut s = Session::new();
    let err = python::exec(
        &mut s,
        "rv.commands.setFrame(7)\nnosuch\nrv.commands.setFrame(9)",
        t0,
    );
    assert_eq!(
        err.map_err(|e| e.to_string()),
        Err("<class 'NameError'>: name 'nosuch' is not defined".to_string())
    );
    assert_eq!(s.frame(t0), 7);

    // A syntax error anywhere runs nothing.
    let mut s = Session::new();
    s.exec_py("rv.commands.setFrame(7)\nrv.commands.setFrame(", t0);
    assert_eq!(s.frame(t0), 1);
    assert_eq!(python::exec(&mut s, "", t0), Ok(()));
}

#[test]
fn events_dispatch_by_name_as_rv_binds_them() {
    let now = Instant::now();
    let mut s = Session::new();
    assert_eq!(
        s.handle_event("remote-eval", "frame()", now),
        Some("1".to_string())
    );
    assert_eq!(
        s.handle_event("remote-pyeval", "rv.commands.frame()", now),
        Some("1".to_string())
    );
    assert_eq!(
        s.handle_event("remote-pyexec", "rv.commands.setFrame(4)", now),
        Some(String::new())
    );
    assert_eq!(s.frame(now), 4);
    assert_eq!(s.handle_event("frame-changed", "setFrame(9)", now), None);
    assert_eq!(s.handle_event("remote-evalx", "setFrame(9)", now), None);
    assert_eq!(s.frame(now), 4);
}

// -------------------------------------------------------------- no panics

fn assert_mu_shape(code: &str, got: &str) {
    if let Some(rest) = got.strip_prefix("ERROR: remote-eval: ") {
        let tail = format!("\nERROR: remote-eval: '{code}'\n");
        assert!(rest.ends_with(&tail), "{got:?}");
        assert!(!rest[..rest.len() - tail.len()].contains('\n'), "{got:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_text_never_panics(code in ".{0,200}") {
        let now = Instant::now();
        let mut s = Session::new();
        let got = s.eval_mu(&code, now);
        assert_mu_shape(&code, &got);
        s.eval_py(&code, now);
        s.exec_py(&code, now);
    }

    #[test]
    fn token_soup_never_panics(
        parts in prop::collection::vec(
            prop::sample::select(vec![
                "play()", "stop()", "frame()", "setFrame(", "setFPS(", "fps()", "newImageSource(",
                "newImageSourcePixels(", "sources()", "extra_commands.", "stepForward1()", "rv.", "commands.",
                "let ", "s", " = ", "{", "}", "(", ")", "[", "]", "string[] {", ",", ";", "\n", "+", "-",
                "\"a\"", "'b'", "1", "-2147483648", "2147483647", "1.5", "1e39", "true", "True", "nil",
                "None", "CacheBuffer", "\"\\u00e9\"", "\"", "\\", "/*", "//", "#", ".", "=", "é",
            ]),
            0..40,
        )
    ) {
        let code: String = parts.concat();
        let now = Instant::now();
        let mut s = Session::new();
        let got = s.eval_mu(&code, now);
        assert_mu_shape(&code, &got);
        s.eval_py(&code, now);
        s.exec_py(&code, now);
        // Whatever ran, the session still answers.
        let f = s.frame(now);
        prop_assert!((s.frame_start()..=s.frame_end()).contains(&f));
    }

    #[test]
    fn deeply_nested_input_is_refused_without_overflowing(
        depth in 0usize..20_000,
        opener in prop::sample::select(vec!["(", "{", "-", "string[] {", "[", "f(", "a."]),
    ) {
        let code = format!("{}1", opener.repeat(depth));
        let now = Instant::now();
        let mut s = Session::new();
        let got = s.eval_mu(&code, now);
        assert_mu_shape(&code, &got);
        if depth > MAX_DEPTH + 1 {
            prop_assert!(got.starts_with("ERROR: remote-eval: "));
        }
        s.eval_py(&code, now);
        s.exec_py(&code, now);
    }

    #[test]
    fn the_frame_stays_in_range_at_any_time(
        start_ms in 0u64..10_000_000,
        fps in 0.001f32..10_000.0,
        inc in -5i32..=5,
        frame in -1000i32..1000,
    ) {
        let t0 = Instant::now();
        let mut s = Session::new();
        let code = format!("setFPS({fps:?}); setInc({inc}); setFrame({frame}); play()");
        prop_assert_eq!(s.eval_mu(&code, t0), "void");
        let f = s.frame(ms(t0, start_ms));
        prop_assert!((1..=100).contains(&f));
    }
}

#[test]
fn a_bad_escape_of_a_control_character_stays_on_one_line() {
    let code = "\"\\\n\"";
    let got = Session::new().eval_mu(code, Instant::now());
    assert_mu_shape(code, &got);
    assert!(got.contains(r"bad escape sequence \\n"), "{got:?}");
}

#[test]
fn python_lists_are_bounded_like_strings() {
    let now = Instant::now();
    let mut s = Session::new();
    // 60 sources with 1000-byte media names: sources() prints 60 KB.
    for i in 0..60 {
        let media = format!("{i:02}{}", "m".repeat(998));
        let made = s.eval_py(
            &format!("rv.commands.newImageSource('{media}', 1, 1, 1, 1, 0, 0, 1.0, 4, 8, False, 1, 1, 24.0, None, None)"),
            now,
        );
        assert!(!made.starts_with("<class"), "{made}");
    }
    let sum = |n: usize| vec!["rv.commands.sources()"; n].join(" + ");
    let grown = s.eval_py(&sum(10), now);
    assert!(grown.starts_with("['00m"), "ten copies fit");
    let refused = format!("<class 'MemoryError'>: a list would grow past {MAX_STRING_BYTES} bytes");
    assert_eq!(s.eval_py(&sum(20), now), refused);
    // A list literal is bounded the same way.
    let nested = |n: usize| format!("[{}]", vec!["rv.commands.sources()"; n].join(", "));
    assert!(s.eval_py(&nested(10), now).starts_with("[['00m"), "ten fit");
    assert_eq!(s.eval_py(&nested(20), now), refused);
}

// ------------------------------------------ Mu for event handlers (rv-events.md)

/// The Mu the rvshell engine uploads to subscribe contact `rvshell-k3x9q2`
/// to frame-changed and range-changed (verbatim; `tests/sim_events.rs`
/// sends the same file over the wire).
const CLIENT_UPLOAD: &str = include_str!("testdata/rvshell_client_upload.mu");

/// The `remoteSendEvent` messages in the effects, with their recipients.
fn sent(s: &mut Session) -> Vec<(Option<Vec<String>>, String)> {
    s.take_effects()
        .into_iter()
        .filter_map(|e| match e {
            Effect::SendEvent {
                recipients,
                message,
            } => Some((recipients, message)),
            _ => None,
        })
        .collect()
}

/// Just the messages.
fn messages(s: &mut Session) -> Vec<String> {
    sent(s).into_iter().map(|(_, m)| m).collect()
}

fn connected(contacts: &[&str]) -> Session {
    let mut s = Session::new();
    for c in contacts {
        assert!(s.add_connection(c));
    }
    s
}

#[test]
fn the_client_upload_runs_and_forwards_frame_and_range_changes_to_its_contact() {
    let now = Instant::now();
    let mut s = connected(&["other@localhost", "rvshell-k3x9q2@localhost"]);
    assert_eq!(s.eval_mu(CLIENT_UPLOAD, now), "true");
    assert!(sent(&mut s).is_empty());
    assert_eq!(
        s.eval_mu("isModeActive(\"rvshell-events-rvshell-k3x9q2\")", now),
        "true"
    );
    assert_eq!(s.eval_mu("setFrame(7)", now), "void");
    assert_eq!(
        sent(&mut s),
        [(
            Some(vec!["rvshell-k3x9q2@localhost".to_owned()]),
            "EVENT frame-changed * 7".to_owned()
        )]
    );
    s.eval_mu("setFrame(7)", now);
    assert!(sent(&mut s).is_empty(), "no change, no event");
    s.eval_mu("setFrameEnd(50)", now);
    assert_eq!(messages(&mut s), ["EVENT range-changed * 1 50"]);
    // Signing off stops the events.
    assert_eq!(
        s.eval_mu(
            r#"commands.deactivateMode("rvshell-events-rvshell-k3x9q2"); true;"#,
            now
        ),
        "true"
    );
    s.eval_mu("setFrame(9)", now);
    assert!(sent(&mut s).is_empty());
}

#[test]
fn a_handler_finds_no_contact_when_its_client_is_gone() {
    let now = Instant::now();
    let mut s = connected(&["rvshell-k3x9q2@localhost"]);
    s.eval_mu(CLIENT_UPLOAD, now);
    s.remove_connection("rvshell-k3x9q2@localhost");
    s.eval_mu("setFrame(3)", now);
    assert!(sent(&mut s).is_empty());
}

/// The rvNetwork.py form (rv-events.md §2) for contact `py.client`: mode
/// "default", the event's contents forwarded.
fn rv_network_bind(name: &str, event: &str) -> String {
    include_str!("testdata/rv_network_bind.mu")
        .replace("HANDLER", name)
        .replace("EVENT-NAME", event)
}

#[test]
fn the_rv_network_py_form_binds_in_default_and_forwards_contents() {
    let now = Instant::now();
    let mut s = connected(&["py.client@localhost"]);
    assert_eq!(
        s.eval_mu(&rv_network_bind("h1", "new-in-point"), now),
        "true"
    );
    assert_eq!(
        s.eval_mu(&rv_network_bind("h2", "new-out-point"), now),
        "true"
    );
    assert_eq!(
        s.eval_mu(
            "setInPoint(10); setOutPoint(20); inPoint() + outPoint()",
            now
        ),
        "30"
    );
    assert_eq!(
        messages(&mut s),
        ["EVENT new-in-point * 10", "EVENT new-out-point * 20"]
    );
    // Play loops within the in and out points.
    s.eval_mu("setFrame(20); extra_commands.stepForward1()", now);
    assert_eq!(s.frame(now), 10);
}

#[test]
fn events_carry_their_values_and_fire_only_on_change() {
    let now = Instant::now();
    let mut s = Session::new();
    let forward = |event: &str, payload: &str| {
        format!(
            r#"function: f_{id} (void; Event event) {{ commands.remoteSendEvent("{event}", "*", {payload}, nil); event.reject(); }}
bind("default", "global", "{event}", f_{id}, "");"#,
            id = event.replace('-', "_")
        )
    };
    for (event, payload) in [
        ("frame-changed", "string(frame())"),
        ("play-start", "string(frame())"),
        ("play-stop", "string(frame())"),
        ("fps-changed", "string(fps())"),
        (
            "range-changed",
            "string(frameStart()) + \" \" + string(frameEnd())",
        ),
        ("new-in-point", "event.contents()"),
        ("new-out-point", "event.contents()"),
        ("source-group-complete", "event.contents()"),
        ("after-graph-view-change", "event.contents()"),
    ] {
        let code = forward(event, payload);
        assert_eq!(s.eval_mu(&code, now), "void", "{code}");
    }
    s.eval_mu("setFPS(30); setFPS(30)", now);
    assert_eq!(messages(&mut s), ["EVENT fps-changed * 30.000000"]);
    s.eval_mu("setInPoint(5); setOutPoint(8)", now);
    assert_eq!(
        messages(&mut s),
        ["EVENT new-in-point * 5", "EVENT new-out-point * 8"]
    );
    s.eval_mu("setFrameStart(2)", now);
    assert_eq!(
        messages(&mut s),
        ["EVENT range-changed * 2 100", "EVENT frame-changed * 2"],
        "the frame moves into the new range"
    );
    s.eval_mu(
        r#"newImageSource("M", 2, 2, 2, 2, 0, 0, 1.0, 4, 8, false, 1, 10, 24.0, nil, nil)"#,
        now,
    );
    assert_eq!(
        messages(&mut s),
        [
            "EVENT range-changed * 1 10",
            "EVENT source-group-complete * sourceGroup000000;;new"
        ]
    );
    assert_eq!(s.eval_mu("viewNode()", now), r#""defaultSequence""#);
    s.eval_mu(r#"setViewNode("sourceGroup000000")"#, now);
    assert_eq!(
        messages(&mut s),
        ["EVENT after-graph-view-change * sourceGroup000000"]
    );
    assert!(
        s.eval_mu(r#"setViewNode("nosuch")"#, now)
            .contains("no node named nosuch")
    );
    // Step commands, and stop reporting the frame reached before play-stop.
    s.eval_mu(
        "extra_commands.stepForward1(); extra_commands.stepBackward1()",
        now,
    );
    assert_eq!(
        messages(&mut s),
        ["EVENT frame-changed * 3", "EVENT frame-changed * 2"]
    );
    s.eval_mu("play(); play()", now);
    assert_eq!(messages(&mut s), ["EVENT play-start * 2"]);
    s.eval_mu("stop(); stop()", ms(now, 100)); // 30 fps: 3 frames on
    assert_eq!(
        messages(&mut s),
        ["EVENT frame-changed * 5", "EVENT play-stop * 5"]
    );
}

#[test]
fn the_clock_reports_each_displayed_frame_at_times_anchored_to_the_start() {
    for fps in [24, 60, 240] {
        let t0 = Instant::now();
        let mut s = Session::new();
        s.eval_mu(
            &format!(
                r#"function: f (void; Event event) {{ remoteSendEvent("frame-changed", "*", string(frame()), nil); }}
bind("default", "global", "frame-changed", f, "");
setFrameEnd(100000); setFPS({fps}); play();"#
            ),
            t0,
        );
        assert!(sent(&mut s).is_empty());
        let mut now = t0;
        let mut frames = Vec::new();
        for _ in 0..2 * fps {
            let Some(due) = s.next_frame_at(now) else {
                panic!("playing, so a frame is due");
            };
            assert!(due > now);
            now = due;
            s.tick(now);
            frames.extend(messages(&mut s));
        }
        // Two seconds: every frame once, in order, none bunched or skipped.
        let want: Vec<String> = (2..=2 * fps + 1)
            .map(|f| format!("EVENT frame-changed * {f}"))
            .collect();
        assert_eq!(frames, want, "{fps} fps");
        let drift = now.duration_since(t0).as_secs_f64() - 2.0;
        assert!((0.0..0.001).contains(&drift), "{fps} fps: drift {drift}");
        // Woken late, the clock reports the frame shown then, once.
        s.tick(ms(now, 1000));
        assert_eq!(
            messages(&mut s),
            [format!("EVENT frame-changed * {}", 3 * fps + 1)]
        );
        s.eval_mu("stop()", ms(now, 1000));
        assert_eq!(s.next_frame_at(now), None);
    }
}

#[test]
fn handlers_run_in_mode_order_until_one_does_not_reject() {
    let now = Instant::now();
    let mut s = Session::new();
    let code = r#"
function: say (void; string what) { remoteSendEvent("ran", "*", what, nil); }
function: d (void; Event event) { say("default"); event.reject(); }
function: a (void; Event event) { say("a:" + event.name() + ":" + event.contents()); }
function: b (void; Event event) { say("b"); event.reject(); }
defineMinorMode("a", 2, 0); defineMinorMode("b", 1, 0);
bind("default", "global", "e", d, "");
bind("a", "global", "e", a, "");
bind("b", "global", "e", b, "");
bind("b", "other-table", "e", d, "");
activateMode("a"); activateMode("b");
"#;
    assert_eq!(s.eval_mu(code, now), "void");
    s.fire_event("e", "x y", now);
    assert_eq!(
        messages(&mut s),
        [
            "EVENT ran * default",
            "EVENT ran * b",
            "EVENT ran * a:e:x y"
        ]
    );
    // Rebinding replaces; unbind removes.
    s.eval_mu(
        r#"bind("b", "global", "e", d, "again"); unbind("a", "global", "e")"#,
        now,
    );
    s.fire_event("e", "", now);
    assert_eq!(
        messages(&mut s),
        ["EVENT ran * default", "EVENT ran * default"]
    );
}

#[test]
fn bind_needs_an_existing_mode_and_an_event_handler() {
    let now = Instant::now();
    let mut s = Session::new();
    s.eval_mu("function: h (void; Event event) { }", now);
    let got = s.eval_mu(r#"bind("nosuch", "global", "e", h, "")"#, now);
    assert!(
        got.starts_with("ERROR: remote-eval: bind: No mode named nosuch\n"),
        "{got}"
    );
    let got = s.eval_mu(
        r#"function: g (int; int x) { return x + 1; } bind("default", "global", "e", g, "")"#,
        now,
    );
    assert!(
        got.contains("g is (int; int x); an event handler must be (void; Event)"),
        "{got}"
    );
    assert_eq!(s.eval_mu("g(41)", now), "42", "functions persist");
    assert_eq!(
        s.eval_mu(
            r#"defineMinorMode("m", 0, 0); defineMinorMode("m", 1, 1); isModeActive("m")"#,
            now
        ),
        "false"
    );
    assert!(
        s.eval_mu(r#"activateMode("nosuch")"#, now)
            .contains("No mode named nosuch")
    );
    assert_eq!(s.eval_mu(r#"deactivateMode("nosuch"); true"#, now), "true");
}

#[test]
fn a_failing_handler_is_logged_and_the_event_goes_on() {
    let now = Instant::now();
    let mut s = Session::new();
    s.eval_mu(
        r#"function: bad (void; Event event) { int("not a number"); }
function: good (void; Event event) { remoteSendEvent("ok", "*", "", nil); }
defineMinorMode("m", 0, 0); activateMode("m");
bind("default", "global", "e", bad, ""); bind("m", "global", "e", good, "");"#,
        now,
    );
    s.fire_event("e", "", now);
    assert_eq!(messages(&mut s), ["EVENT ok * "]);
    // A handler that fails inside an eval does not fail the eval.
    s.eval_mu(
        r#"bind("default", "global", "frame-changed", bad, "")"#,
        now,
    );
    assert_eq!(s.eval_mu("setFrame(4); frame()", now), "4");
}

#[test]
fn loops_and_recursion_are_bounded() {
    let now = Instant::now();
    let mut s = Session::new();
    let code = "while (true) {}";
    // Whichever limit comes first: steps, or time (the debug build is slow).
    let got = s.eval_mu(code, now);
    let steps = mu_error(
        &format!(
            "the code ran more than {MAX_STEPS} steps (the simulator's step limit); is there an endless loop?"
        ),
        code,
    );
    let time = mu_error(
        &format!(
            "the code ran longer than {} ms (the simulator's time limit per request, so that \
             other clients are served meanwhile); is there an endless loop?",
            MAX_TIME.as_millis()
        ),
        code,
    );
    assert!(got == steps || got == time, "{got}");
    // Each limit alone.
    s.set_time_limit(Duration::from_secs(600));
    assert_eq!(s.eval_mu(code, now), steps);
    s.set_time_limit(Duration::ZERO);
    assert_eq!(s.eval_mu(code, now), time);
    // The other limits, whatever the machine's load.
    s.set_time_limit(Duration::from_secs(600));
    let code = "function: r (int; int n) { return r(n + 1); } r(0)";
    assert_eq!(
        s.eval_mu(code, now),
        mu_error(
            &format!(
                "calls nested deeper than {MAX_CALL_DEPTH} (the simulator's recursion depth limit)"
            ),
            code
        )
    );
    // A handler that loops is aborted and the session goes on.
    s.eval_mu(
        r#"function: spin (void; Event event) { while (true) {} }
bind("default", "global", "e", spin, "");"#,
        now,
    );
    s.fire_event("e", "", now);
    assert_eq!(s.eval_mu("frame()", now), "1");
    // A handler that fires its own event recurses until the depth limit.
    s.eval_mu(
        r#"function: again (void; Event event) { setFrame(frame() + 1); }
bind("default", "global", "frame-changed", again, "");"#,
        now,
    );
    assert_eq!(
        s.eval_mu("setFrame(2); frame()", now),
        (2 + MAX_CALL_DEPTH).to_string()
    );
}

#[test]
fn deep_recursion_fits_in_a_small_stack() {
    // Tokio's workers have 2 MiB stacks; the limits must stop any code
    // well before that (1.5 MiB here, in a debug build, whose frames are
    // the largest), however it nests: through blocks, sums, calls or
    // handlers that fire events.
    let blocks = |n: usize| format!("{}{}", "{ ".repeat(n), "} ".repeat(n));
    let sum = |n: usize| format!("{}n{}", "1 + (".repeat(n), ")".repeat(n));
    let shapes = [
        format!(
            "function: r (int; int n) {{ {} return r(n + 1); }} r(0)",
            blocks(MAX_DEPTH - 4)
        ),
        format!(
            "function: r (int; int n) {{ return r({}); }} r(0)",
            sum(MAX_DEPTH / 2 - 4)
        ),
        "function: r (int; int n) { { { { if (n >= 0) { { return r(n + 1) + 1; } } } } } return 0; } r(0)"
            .to_owned(),
        "function: h (void; Event event) { { { { setFrame(frame() + 1); } } } } \
         bind(\"default\", \"global\", \"frame-changed\", h, \"\"); setFrame(2); frame()"
            .to_owned(),
    ];
    for code in shapes {
        let got = std::thread::Builder::new()
            .stack_size(3 << 19)
            .spawn(move || {
                let mut s = Session::new();
                s.set_time_limit(Duration::from_secs(600));
                s.eval_mu(&code, Instant::now())
            })
            .unwrap()
            .join()
            .unwrap();
        assert!(
            got.contains("recursion depth limit") || got.parse::<i32>().is_ok(),
            "{got}"
        );
    }
}

#[test]
fn mu_statements_and_operators() {
    let now = Instant::now();
    let mut s = Session::new();
    for (code, want) in [
        ("int n = 0; while (n < 10) n = n + 1; n", "10"),
        ("int n = 0, m = 2; if (n == 0) m = 3; else m = 4; m", "3"),
        ("if (1 > 2) 1; else if (2 >= 2) 5;", "void"),
        ("string s; s eq nil", "true"),
        (
            r#"string s = "a"; s neq nil && !(s == "b") || false"#,
            "true",
        ),
        ("1 != 1 || 2 <= 1", "false"),
        (
            r#"int n = 0; for_each (x; string[] {"a", "b" + "c"}) n = n + 1; n"#,
            "2",
        ),
        (
            r#"string out = ""; for_each (x; string[] {"a", "b"}) { out = out + x; } out"#,
            r#""ab""#,
        ),
        (r#"int("42") + int(2.9) + int(true)"#, "45"),
        (
            "string(1) + string(2.5) + string(false)",
            r#""12.500000false""#,
        ),
        (r#"float("1.5")"#, "1.5"),
        (r#"regex("^a\\.b@").match("a.b@host")"#, "true"),
        (r#"regex("^a\\.b@").match("axb@host")"#, "false"),
        (
            "function: twice (int; int x) { return x + x; } twice(twice(3))",
            "12",
        ),
        ("require commands; commands.frame()", "1"),
        ("remoteLocalContactName()", r#""rvsim""#),
        ("remoteConnections()", "string[] {}"),
    ] {
        assert_eq!(s.eval_mu(code, now), want, "{code}");
    }
    for (code, message) in [
        (r#"regex("(").match("x")"#, "bad regex"),
        ("if (1) 2;", "a condition must be bool, got int"),
        (r#"int n = "a";"#, "n is int, cannot hold string"),
        ("int n = 0; n = nil;", "n is int, cannot hold nil"),
        ("for_each (x; 3) x;", "for_each needs a string[], got int"),
        (r#"int("x")"#, "cannot convert \"x\" to int"),
        ("1 < \"a\"", "cannot apply < to int and string"),
        (
            "function: f (int; int x) { } f(1)",
            "f ended without returning its int",
        ),
        (
            "function: f (void; int x) { } f()",
            "f (void; int x) called with 0 arguments",
        ),
        ("nosuch = 1", "unknown identifier nosuch"),
        ("frame().match(1)", "int has no method match()"),
    ] {
        let got = s.eval_mu(code, now);
        assert!(
            got.starts_with("ERROR: remote-eval: ") && got.contains(message),
            "{code}: {got}"
        );
    }
    // Type errors inside a function body are found before anything runs.
    let got = s.eval_mu("play(); function: f (void; Event e) { 1 + play(); }", now);
    assert!(got.contains("cannot apply + to int and void"), "{got}");
    assert!(!s.is_playing());
}

#[test]
fn remote_contacts_and_connections() {
    let now = Instant::now();
    let mut s = connected(&["a@localhost", "b@10.0.0.5"]);
    assert!(!s.add_connection("a@localhost"), "duplicates are refused");
    s.remove_connection("a@localhost");
    s.set_local_contact_name("rv-host");
    assert_eq!(
        s.eval_mu("remoteConnections()", now),
        r#"string[] {"b@10.0.0.5"}"#
    );
    assert_eq!(s.eval_mu("remoteContacts()", now), r#"string[] {"a", "b"}"#);
    assert_eq!(s.eval_mu("remoteLocalContactName()", now), r#""rv-host""#);
    s.eval_mu(r#"remoteSendEvent("x", "*", nil, nil); remoteSendEvent("y", "t", "c d", string[] {"nobody"})"#, now);
    assert_eq!(
        sent(&mut s),
        [
            (None, "EVENT x * ".to_owned()),
            (Some(vec!["nobody".to_owned()]), "EVENT y t c d".to_owned())
        ]
    );
}
