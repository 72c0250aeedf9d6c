//! The console's behaviour: moves, edits, typed entry, undo, scenes, fades
//! and the send contract.

use super::*;
use proptest::prelude::*;

fn console() -> DmxConsole {
    DmxConsole::new(1)
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

// ----- cursor -----

#[test]
fn cursor_stays_in_range_at_both_ends() {
    let mut c = console();
    assert_eq!(c.move_left(), None);
    assert_eq!(c.cursor(), 0);
    c.move_up(16);
    assert_eq!(c.cursor(), 0);
    c.end();
    assert_eq!(c.cursor(), 511);
    c.move_right();
    assert_eq!(c.cursor(), 511);
    c.move_down(16);
    assert_eq!(c.cursor(), 511);
    c.home();
    assert_eq!(c.cursor(), 0);
    c.move_right();
    assert_eq!(c.cursor(), 1);
    c.move_left();
    assert_eq!(c.cursor(), 0);
}

#[test]
fn up_and_down_move_by_the_row_width() {
    let mut c = console();
    c.move_down(16);
    assert_eq!(c.cursor(), 16);
    c.move_down(24);
    assert_eq!(c.cursor(), 40);
    c.move_up(32);
    assert_eq!(c.cursor(), 8);
    c.move_up(32);
    assert_eq!(c.cursor(), 8, "first row: up stays put");
    c.move_down(0);
    assert_eq!(c.cursor(), 9, "a zero width counts as one column");
}

#[test]
fn down_into_a_short_last_row_lands_on_the_last_slot() {
    // 24 columns: the last row starts at 504 and holds 504..=511.
    let mut c = console();
    c.set_cursor(490); // row 20, column 10
    c.move_down(24);
    assert_eq!(c.cursor(), 511);
    c.move_down(24);
    assert_eq!(c.cursor(), 511);
    c.set_cursor(485);
    c.move_down(24);
    assert_eq!(c.cursor(), 509);
    c.set_cursor(10_000);
    assert_eq!(c.cursor(), 511);
}

#[test]
fn cursor_moves_send_nothing() {
    let mut c = console();
    assert_eq!(c.move_right(), None);
    assert_eq!(c.move_down(8), None);
    assert_eq!(c.end(), None);
    assert_eq!(c.generation(), 0);
    assert!(!c.needs_send());
}

// ----- values -----

#[test]
fn plus_minus_step_by_one_and_saturate() {
    let mut c = console();
    assert_eq!(c.decrement(), None, "- at 0 changes nothing");
    let f = c.increment().expect("+ sends");
    assert_eq!(f.data[0], 1);
    assert_eq!(f.generation, 1);
    c.decrement();
    assert_eq!(c.value(0), 0);
    c.toggle();
    assert_eq!(c.value(0), 255);
    assert_eq!(c.increment(), None, "+ at 255 changes nothing");
    assert_eq!(c.decrement().map(|f| f.data[0]), Some(254));
}

#[test]
fn page_up_and_down_step_by_16_and_stop_at_the_ends() {
    let mut c = console();
    c.page_up();
    assert_eq!(c.value(0), 16);
    c.page_down();
    c.page_down();
    assert_eq!(c.value(0), 0);
    for _ in 0..15 {
        c.page_up();
    }
    assert_eq!(c.value(0), 240);
    c.page_up();
    assert_eq!(c.value(0), 255, "near the top PgUp stops at 255");
    assert_eq!(c.page_up(), None);
    c.decrement();
    c.decrement();
    c.page_up();
    assert_eq!(c.value(0), 255);
}

#[test]
fn space_toggles_between_0_and_255() {
    let mut c = console();
    c.set_cursor(7);
    assert_eq!(c.toggle().map(|f| f.data[7]), Some(255));
    assert_eq!(c.toggle().map(|f| f.data[7]), Some(0));
    c.increment();
    assert_eq!(
        c.toggle().map(|f| f.data[7]),
        Some(0),
        "any non-zero goes to 0"
    );
}

#[test]
fn blackout_and_full_set_every_slot_and_always_send() {
    let mut c = console();
    let f = c.full().expect("sent");
    assert!(f.data.iter().all(|&v| v == 255));
    let f = c.blackout().expect("sent");
    assert!(f.data.iter().all(|&v| v == 0));
    let g = c.generation();
    let f = c.blackout().expect("a blackout when dark is still sent");
    assert_eq!(f.generation, g + 1);
    assert_eq!(c.undo_len(), 2, "but no undo step for no change");
}

#[test]
fn frames_carry_universe_priority_and_the_whole_state() {
    let mut c = DmxConsole::new(42);
    c.set_cursor(511);
    let f = c.toggle().expect("sent");
    assert_eq!(f.universe, 42);
    assert_eq!(f.priority, DEFAULT_PRIORITY);
    assert_eq!(f.data.len(), SLOTS);
    assert_eq!(f.data[511], 255);
    assert_eq!(&f.data, c.values());
}

// ----- undo -----

#[test]
fn undo_steps_back_one_change_at_a_time() {
    let mut c = console();
    c.increment();
    c.increment();
    c.move_right();
    c.toggle();
    assert_eq!(c.undo().unwrap().map(|f| f.data[1]), Some(0));
    assert_eq!(c.value(0), 2);
    c.undo().unwrap();
    assert_eq!(c.value(0), 1);
    c.undo().unwrap();
    assert_eq!(c.value(0), 0);
    assert_eq!(c.undo(), Err(ConsoleError::NothingToUndo));
    assert_eq!(c.refusal(), Some(&ConsoleError::NothingToUndo));
}

#[test]
fn blackout_and_full_undo_in_one_step() {
    let mut c = console();
    c.set_cursor(3);
    c.page_up();
    c.full();
    c.blackout();
    let f = c.undo().unwrap().expect("sent");
    assert!(f.data.iter().all(|&v| v == 255));
    let f = c.undo().unwrap().expect("sent");
    assert_eq!(f.data[3], 16);
    assert_eq!(f.data.iter().filter(|&&v| v != 0).count(), 1);
}

#[test]
fn undo_history_is_bounded() {
    let mut c = console();
    for _ in 0..UNDO_DEPTH + 10 {
        c.toggle();
    }
    assert_eq!(c.undo_len(), UNDO_DEPTH);
    for _ in 0..UNDO_DEPTH {
        c.undo().unwrap();
    }
    assert_eq!(c.undo(), Err(ConsoleError::NothingToUndo));
}

#[test]
fn undo_while_typing_drops_the_typed_value_only() {
    let mut c = console();
    c.increment();
    c.type_char('9').unwrap();
    assert_eq!(c.undo(), Ok(None));
    assert_eq!(c.entry(), None);
    assert_eq!(c.value(0), 1);
}

// ----- typing -----

#[test]
fn typed_decimal_commits_on_enter() {
    let mut c = console();
    c.type_char('1').unwrap();
    c.type_char('2').unwrap();
    c.type_char('8').unwrap();
    assert_eq!(c.entry(), Some("128"));
    assert_eq!(c.value(0), 0, "nothing changes until commit");
    assert_eq!(c.generation(), 0);
    let f = c.commit_entry().expect("sent");
    assert_eq!(f.data[0], 128);
    assert_eq!(c.entry(), None);
    assert_eq!(c.commit_entry(), None, "nothing to commit");
}

#[test]
fn typed_decimal_out_of_range_is_refused_not_wrapped() {
    let mut c = console();
    c.type_char('2').unwrap();
    c.type_char('5').unwrap();
    let err = c.type_char('6').unwrap_err();
    assert_eq!(
        err.to_string(),
        "256 is out of range: decimal values are 0..=255"
    );
    assert_eq!(c.entry(), Some("256"), "what was typed stays visible");
    // Backspace makes it valid again.
    c.backspace();
    assert_eq!(c.refusal(), None);
    assert_eq!(c.type_char('5'), Ok(()));
    assert_eq!(c.commit_entry().map(|f| f.data[0]), Some(255));
    assert!(matches!(
        c.type_char('x'),
        Err(ConsoleError::NotADigit { ch: 'x', .. })
    ));
    c.cancel_entry();
    c.type_char('0').unwrap();
    c.type_char('0').unwrap();
    c.type_char('7').unwrap();
    assert_eq!(
        c.type_char('1'),
        Err(ConsoleError::TooManyDigits {
            mode: DisplayMode::Decimal
        })
    );
    // 0071 is not shortened to 007: nothing is set.
    assert_eq!(c.commit_entry(), None);
    assert_eq!(c.value(0), 255);
    assert!(matches!(c.refusal(), Some(ConsoleError::NotSet { .. })));
}

/// `3 0 0 Enter` used to set 30: the refused third digit was only noted.
#[test]
fn a_value_over_255_is_refused_as_a_whole_never_shortened() {
    let mut c = console();
    c.type_char('9').unwrap();
    c.commit_entry().unwrap();
    for d in ['3', '0'] {
        c.type_char(d).unwrap();
    }
    assert!(c.type_char('0').is_err());
    assert_eq!(c.commit_entry(), None, "nothing is sent");
    assert_eq!(c.value(0), 9, "the slot keeps its value");
    let why = c.refusal().unwrap().to_string();
    assert!(
        why.starts_with("300 was not set (300 is out of range"),
        "{why}"
    );
    assert_eq!(c.entry(), None);
    // More digits after a refusal stay refused, and are bounded.
    for d in "99999".chars() {
        let _ = c.type_char(d);
    }
    assert_eq!(c.entry(), Some("9999"));
    assert_eq!(c.commit_entry(), None);
    assert_eq!(c.value(0), 9);
}

#[test]
fn typed_hex_values() {
    let mut c = console();
    c.cycle_mode();
    assert_eq!(c.mode(), DisplayMode::Hex);
    assert!(c.is_entry_char('b') && c.is_entry_char('F') && !c.is_entry_char('g'));
    c.type_char('F').unwrap();
    c.type_char('e').unwrap();
    assert_eq!(c.entry(), Some("fe"));
    assert_eq!(
        c.type_char('0').unwrap_err().to_string(),
        "hex values have at most 2 digits"
    );
    assert_eq!(
        c.type_char('g').unwrap_err().to_string(),
        "'g' is not a hex digit"
    );
    assert_eq!(c.entry(), Some("fe0"), "the digit too many shows");
    c.backspace();
    assert_eq!(c.commit_entry().map(|f| f.data[0]), Some(254));
}

#[test]
fn typed_percent_values() {
    let mut c = console();
    c.set_mode(DisplayMode::Percent);
    assert!(!c.is_entry_char('a'));
    c.type_char('5').unwrap();
    c.type_char('0').unwrap();
    assert_eq!(c.commit_entry().map(|f| f.data[0]), Some(128));
    c.type_char('1').unwrap();
    c.type_char('0').unwrap();
    c.type_char('0').unwrap();
    assert_eq!(c.commit_entry().map(|f| f.data[0]), Some(255));
    c.type_char('1').unwrap();
    c.type_char('0').unwrap();
    assert_eq!(
        c.type_char('1').unwrap_err().to_string(),
        "101 is out of range: percent values are 0..=100"
    );
    c.cancel_entry();
    assert_eq!(c.value(0), 255, "Esc changes nothing");
}

#[test]
fn percent_conversions_round_trip() {
    for p in 0..=100u8 {
        assert_eq!(to_percent(from_percent(p)), p);
    }
    assert_eq!(to_percent(255), 100);
    assert_eq!(to_percent(0), 0);
    assert_eq!(to_percent(3), 1);
    assert_eq!(from_percent(200), 255);
}

#[test]
fn moving_commits_a_typed_value_and_esc_cancels() {
    let mut c = console();
    c.type_char('4').unwrap();
    c.type_char('2').unwrap();
    let f = c.move_right().expect("the move commits and sends");
    assert_eq!(f.data[0], 42);
    assert_eq!(c.cursor(), 1);
    c.type_char('9').unwrap();
    c.cancel_entry();
    c.move_right();
    assert_eq!(c.value(1), 0);
    c.type_char('1').unwrap();
    c.backspace();
    assert_eq!(c.entry(), None);
}

#[test]
fn a_committed_value_is_sent_even_when_the_step_after_it_changes_nothing() {
    let mut c = console();
    for ch in ['2', '5', '5'] {
        c.type_char(ch).unwrap();
    }
    let f = c.increment().expect("the commit of 255 is sent");
    assert_eq!(f.data[0], 255);
    assert_eq!(f.generation, c.generation());
    c.move_right();
    c.type_char('0').unwrap();
    assert_eq!(c.page_down(), None, "0 over 0, then PgDn at 0: no change");
    assert!(!c.needs_send());
}

#[test]
fn an_entry_keeps_the_mode_it_was_started_in() {
    let mut c = console();
    c.type_char('9').unwrap();
    c.type_char('9').unwrap();
    // cycle_mode commits the decimal 99 first.
    assert_eq!(c.cycle_mode().map(|f| f.data[0]), Some(99));
    assert_eq!(c.mode(), DisplayMode::Hex);
    c.type_char('1').unwrap();
    assert_eq!(c.increment().map(|f| f.data[0]), Some(2), "0x1 then +");
}

#[test]
fn display_mode_and_numbering_cycle() {
    let mut c = console();
    assert_eq!(c.mode(), DisplayMode::Decimal);
    c.cycle_mode();
    c.cycle_mode();
    assert_eq!(c.mode(), DisplayMode::Percent);
    c.cycle_mode();
    assert_eq!(c.mode(), DisplayMode::Decimal);
    assert_eq!(c.numbering().label(0), 1);
    c.toggle_numbering();
    assert_eq!(c.numbering(), Numbering::ZeroBased);
    assert_eq!(c.numbering().label(0), 0);
    assert_eq!(c.generation(), 0, "display changes send nothing");
}

// ----- priority -----

#[test]
fn priority_bounds() {
    let mut c = console();
    assert_eq!(c.set_priority(100), Ok(None), "unchanged");
    assert_eq!(c.set_priority(0).unwrap().map(|f| f.priority), Some(0));
    assert_eq!(c.set_priority(200).unwrap().map(|f| f.priority), Some(200));
    let err = c.set_priority(201).unwrap_err();
    assert_eq!(err, ConsoleError::PriorityOutOfRange(201));
    assert!(err.to_string().contains("0..=200"));
    assert_eq!(
        c.set_priority(356),
        Err(ConsoleError::PriorityOutOfRange(356))
    );
    assert_eq!(c.priority(), 200);
    assert_eq!(c.undo_len(), 0, "priority is not a value change");
}

// ----- send contract -----

#[test]
fn take_frame_hands_out_each_change_once() {
    let mut c = console();
    assert_eq!(c.take_frame(), None);
    let f = c.increment().expect("sent");
    assert_eq!(c.take_frame(), None, "already handed out");
    assert!(c.is_pending());
    c.send_ok(f.generation);
    assert!(!c.is_pending());
    assert_eq!(c.take_frame(), None);
}

#[test]
fn a_failed_send_keeps_the_frame_pending() {
    let mut c = console();
    let f = c.increment().expect("sent");
    c.send_failed(f.generation, "Universe doesn't exist");
    let failure = c.send_failure().expect("shown");
    assert_eq!(failure.message, "Universe doesn't exist");
    assert_eq!(failure.slot, Some(0));
    let again = c.take_frame().expect("the state is re-sent");
    assert_eq!(again.data, f.data);
    assert_eq!(again.generation, f.generation);
    assert_eq!(c.take_frame(), None, "once per attempt");
    c.send_failed(again.generation, "not connected");
    let third = c
        .take_frame()
        .expect("still pending after a second failure");
    c.send_ok(third.generation);
    assert_eq!(c.send_failure(), None);
    assert!(!c.is_pending());
}

#[test]
fn coalesced_frames_supersede_older_failures() {
    let mut c = console();
    let f1 = c.increment().expect("sent");
    let f2 = c.increment().expect("sent");
    // The runner sent f2 (whole state) and olad acknowledged it; then the
    // older f1's failure comes back: it is ignored.
    c.send_ok(f2.generation);
    c.send_failed(f1.generation, "late");
    assert_eq!(c.send_failure(), None);
    assert_eq!(c.take_frame(), None);
    // A failure of the newest frame after an older ack does count.
    let f3 = c.increment().expect("sent");
    c.send_ok(f2.generation);
    c.send_failed(f3.generation, "timeout");
    assert_eq!(c.take_frame().map(|f| f.data[0]), Some(3));
}

#[test]
fn a_change_after_a_failure_carries_the_failed_change_too() {
    let mut c = console();
    let f1 = c.increment().expect("sent");
    c.send_failed(f1.generation, "not connected");
    c.move_right();
    let f2 = c.increment().expect("sent");
    assert_eq!(&f2.data[..2], &[1, 1]);
    assert_eq!(c.take_frame(), None);
    c.send_ok(f2.generation);
    assert_eq!(
        c.send_failure(),
        None,
        "the newer ack clears the older failure"
    );
}

#[test]
fn resend_hands_out_the_current_state_again() {
    let mut c = console();
    let f = c.toggle().expect("sent");
    c.send_ok(f.generation);
    let again = c.resend();
    assert_eq!(again, f);
}

#[test]
fn bogus_acks_and_failures_are_ignored() {
    let mut c = console();
    c.send_ok(99);
    c.send_failed(99, "from the future");
    assert_eq!(c.send_failure(), None);
    let f = c.increment().expect("sent");
    assert!(
        c.is_pending(),
        "an ack for a generation never handed out does not count"
    );
    c.send_ok(f.generation);
    assert!(!c.is_pending());
}

#[test]
fn switching_universe_drops_the_old_universes_state() {
    let mut c = console();
    let f = c.increment().expect("sent");
    c.send_failed(f.generation, "Universe doesn't exist");
    c.set_readback(&[9]);
    c.set_universe(2);
    assert_eq!(c.universe(), 2);
    assert_eq!(c.send_failure(), None);
    assert_eq!(c.readback(), None);
    assert_eq!(c.take_frame(), None);
    assert_eq!(c.increment().map(|f| f.universe), Some(2));
}

#[test]
fn load_takes_values_without_sending() {
    let mut c = console();
    let f = c.increment().expect("sent");
    c.send_failed(f.generation, "Universe doesn't exist");
    c.load(&[1, 2, 3]);
    assert_eq!(&c.values()[..4], &[1, 2, 3, 0]);
    assert_eq!(c.undo_len(), 0);
    assert_eq!(c.take_frame(), None);
    assert!(!c.is_pending());
    assert_eq!(c.send_failure(), None);
    assert_eq!(c.differing(), 0);
}

#[test]
fn a_refusal_shows_until_the_next_accepted_operation() {
    let mut c = console();
    c.undo().unwrap_err();
    assert!(c.refusal().is_some());
    c.move_right();
    assert_eq!(c.refusal(), None);
    c.set_priority(300).unwrap_err();
    c.increment();
    assert_eq!(c.refusal(), None);
}

// ----- readback -----

#[test]
fn readback_marks_differing_slots() {
    let mut c = console();
    assert!(!c.differs(0), "no readback, no marks");
    let f = c.toggle().expect("sent");
    c.set_readback(&[0; SLOTS]);
    assert!(!c.differs(0), "held back while our frame is in flight");
    c.send_ok(f.generation);
    assert!(
        c.differs(0),
        "olad still has 0: a lost frame or another source"
    );
    c.set_readback(&f.data);
    assert_eq!(c.differing(), 0);
    let mut other = f.data;
    other[100] = 77;
    c.set_readback(&other);
    assert!(c.differs(100));
    assert_eq!(c.differing(), 1);
    assert!(!c.differs(SLOTS), "past the end is never marked");
}

#[test]
fn short_readback_counts_missing_slots_as_zero() {
    let mut c = console();
    c.set_cursor(20);
    let f = c.toggle().expect("sent");
    c.send_ok(f.generation);
    c.set_readback(&[0; 10]);
    assert!(c.differs(20));
    assert!(!c.differs(300));
    assert_eq!(c.differing(), 1);
    c.set_readback(&[5; 600]);
    assert_eq!(c.readback().map(<[u8]>::len), Some(SLOTS), "kept to 512");
}

#[test]
fn a_failed_send_shows_its_differences() {
    let mut c = console();
    c.set_readback(&[0; SLOTS]);
    let f = c.toggle().expect("sent");
    c.send_failed(f.generation, "timeout");
    assert!(c.differs(0));
}

// ----- scenes and fades -----

#[test]
fn scenes_store_and_snap_recall() {
    let mut c = console();
    let t0 = Instant::now();
    assert_eq!(c.recall_scene(0, t0), Err(ConsoleError::EmptyScene(0)));
    assert_eq!(
        c.recall_scene(12, t0).unwrap_err().to_string(),
        "there is no scene F13; scenes are F1..F12"
    );
    assert_eq!(c.store_scene(12), Err(ConsoleError::NoSuchScene(12)));
    c.toggle();
    c.store_scene(2).unwrap();
    assert!(c.scene_stored(2) && !c.scene_stored(0));
    c.blackout();
    let f = c.recall_scene(2, t0).unwrap().expect("snap recall sends");
    assert_eq!(f.data[0], 255);
    assert_eq!(c.last_scene(), Some(2));
    assert_eq!(c.fade(), None);
    // One undo step back to the blackout.
    c.undo().unwrap();
    assert_eq!(c.value(0), 0);
}

#[test]
fn fade_start_middle_end_with_explicit_instants() {
    let mut c = console();
    let t0 = Instant::now();
    c.set_cursor(1);
    c.set_priority(150).unwrap();
    for _ in 0..2 {
        c.page_up(); // slot 1 = 32
    }
    c.set_cursor(0);
    c.toggle(); // slot 0 = 255
    c.store_scene(0).unwrap(); // [255, 32, 0...]
    c.blackout();
    c.set_cursor(2);
    c.toggle(); // now [0, 0, 255, ...]
    c.set_fade_time(secs(2.0)).unwrap();
    assert_eq!(
        c.recall_scene(0, t0),
        Ok(None),
        "nothing changes at the start"
    );
    assert_eq!(c.tick(t0), None);
    assert_eq!(c.fade().map(|f| f.progress), Some(0.0));
    let mid = c.tick(t0 + secs(1.0)).expect("half way");
    assert_eq!(&mid.data[..3], &[128, 16, 128]);
    assert_eq!(mid.priority, 150);
    assert_eq!(c.fade().map(|f| (f.scene, f.progress)), Some((0, 0.5)));
    let quarter = c.tick(t0 + secs(1.5)).expect("three quarters");
    assert_eq!(&quarter.data[..3], &[191, 24, 64]);
    let end = c.tick(t0 + secs(2.0)).expect("end");
    assert_eq!(&end.data[..3], &[255, 32, 0]);
    assert!(end.data[3..].iter().all(|&v| v == 0));
    assert_eq!(c.fade(), None);
    assert_eq!(c.tick(t0 + secs(3.0)), None, "over");
    // The whole recall is one undo step.
    let back = c.undo().unwrap().expect("sent");
    assert_eq!(&back.data[..3], &[0, 0, 255]);
}

#[test]
fn a_late_tick_lands_exactly_on_the_scene() {
    let mut c = console();
    let t0 = Instant::now();
    c.full();
    c.store_scene(5).unwrap();
    c.blackout();
    c.set_fade_time(secs(0.3)).unwrap();
    c.recall_scene(5, t0).unwrap();
    let f = c.tick(t0 + secs(10.0)).expect("jumps to the end");
    assert!(f.data.iter().all(|&v| v == 255));
    assert_eq!(c.fade(), None);
    // A tick before the start counts as the start.
    c.blackout();
    c.recall_scene(5, t0 + secs(20.0)).unwrap();
    assert_eq!(c.tick(t0), None);
}

#[test]
fn a_change_during_a_fade_cancels_it_where_it_stands() {
    let mut c = console();
    let t0 = Instant::now();
    c.full();
    c.store_scene(0).unwrap();
    c.blackout();
    c.set_fade_time(secs(4.0)).unwrap();
    c.recall_scene(0, t0).unwrap();
    c.tick(t0 + secs(1.0)).expect("a quarter"); // 64 everywhere
    c.set_cursor(9);
    let f = c.increment().expect("sent");
    assert_eq!(c.fade(), None);
    assert_eq!(f.data[9], 65);
    assert_eq!(f.data[0], 64);
    assert_eq!(c.tick(t0 + secs(2.0)), None, "the fade is gone");
    // Undo: the increment, then the whole recall.
    c.undo().unwrap();
    assert_eq!(c.value(9), 64);
    c.undo().unwrap();
    assert!(c.values().iter().all(|&v| v == 0));
}

#[test]
fn undo_during_a_fade_cancels_it_and_restores_the_start() {
    let mut c = console();
    let t0 = Instant::now();
    c.full();
    c.store_scene(0).unwrap();
    c.blackout();
    c.set_fade_time(secs(1.0)).unwrap();
    c.recall_scene(0, t0).unwrap();
    c.tick(t0 + secs(0.5));
    let f = c.undo().unwrap().expect("sent");
    assert!(f.data.iter().all(|&v| v == 0));
    assert_eq!(c.fade(), None);
}

#[test]
fn fade_time_bounds() {
    let mut c = console();
    assert_eq!(c.set_fade_time(MAX_FADE), Ok(()));
    let too_long = MAX_FADE + secs(1.0);
    assert_eq!(
        c.set_fade_time(too_long),
        Err(ConsoleError::FadeTooLong(too_long))
    );
    assert_eq!(c.fade_time(), MAX_FADE);
}

#[test]
fn storing_a_scene_during_a_fade_keeps_the_fade() {
    let mut c = console();
    let t0 = Instant::now();
    c.full();
    c.store_scene(0).unwrap();
    c.blackout();
    c.set_fade_time(secs(2.0)).unwrap();
    c.recall_scene(0, t0).unwrap();
    c.tick(t0 + secs(1.0));
    c.store_scene(1).unwrap();
    assert!(c.fade().is_some());
    c.tick(t0 + secs(2.0));
    c.set_fade_time(Duration::ZERO).unwrap();
    c.recall_scene(1, t0).unwrap();
    assert!(c.values().iter().all(|&v| v == 128));
}

// ----- property tests -----

#[derive(Debug, Clone)]
enum Op {
    Left,
    Right,
    Up(usize),
    Down(usize),
    Home,
    End,
    Cursor(usize),
    Plus,
    Minus,
    PgUp,
    PgDn,
    Toggle,
    Blackout,
    Full,
    Undo,
    Type(char),
    Enter,
    Esc,
    Backspace,
    Mode,
    Numbering,
    Priority(u32),
    Store(usize),
    Recall(usize),
    FadeTime(u64),
    Tick(u64),
    Readback(Vec<u8>),
    Take,
    Ok(u64),
    Failed(u64),
    Universe(u32),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        Just(Op::Left),
        Just(Op::Right),
        (0usize..40).prop_map(Op::Up),
        (0usize..40).prop_map(Op::Down),
        Just(Op::Home),
        Just(Op::End),
        (0usize..1000).prop_map(Op::Cursor),
        Just(Op::Plus),
        Just(Op::Minus),
        Just(Op::PgUp),
        Just(Op::PgDn),
        Just(Op::Toggle),
        Just(Op::Blackout),
        Just(Op::Full),
        Just(Op::Undo),
        any::<char>().prop_map(Op::Type),
        proptest::char::range('0', 'f').prop_map(Op::Type),
        Just(Op::Enter),
        Just(Op::Esc),
        Just(Op::Backspace),
        Just(Op::Mode),
        Just(Op::Numbering),
        (0u32..400).prop_map(Op::Priority),
        (0usize..14).prop_map(Op::Store),
        (0usize..14).prop_map(Op::Recall),
        (0u64..5000).prop_map(Op::FadeTime),
        (0u64..6000).prop_map(Op::Tick),
        proptest::collection::vec(any::<u8>(), 0..600).prop_map(Op::Readback),
        Just(Op::Take),
        (0u64..300).prop_map(Op::Ok),
        (0u64..300).prop_map(Op::Failed),
        (0u32..3).prop_map(Op::Universe),
    ]
}

proptest! {
    #[test]
    fn arbitrary_operations_never_panic_and_keep_invariants(
        ops in proptest::collection::vec(op(), 0..200)
    ) {
        let t0 = Instant::now();
        let mut c = console();
        let mut clock = t0;
        let mut last_gen = 0;
        // The newest generation the runner has been given.
        let mut received = 0;
        for op in ops {
            let frame = match op {
                Op::Left => c.move_left(),
                Op::Right => c.move_right(),
                Op::Up(n) => c.move_up(n),
                Op::Down(n) => c.move_down(n),
                Op::Home => c.home(),
                Op::End => c.end(),
                Op::Cursor(n) => c.set_cursor(n),
                Op::Plus => c.increment(),
                Op::Minus => c.decrement(),
                Op::PgUp => c.page_up(),
                Op::PgDn => c.page_down(),
                Op::Toggle => c.toggle(),
                Op::Blackout => c.blackout(),
                Op::Full => c.full(),
                Op::Undo => c.undo().unwrap_or(None),
                Op::Type(ch) => {
                    let _ = c.type_char(ch);
                    None
                }
                Op::Enter => c.commit_entry(),
                Op::Esc => {
                    c.cancel_entry();
                    None
                }
                Op::Backspace => {
                    c.backspace();
                    None
                }
                Op::Mode => c.cycle_mode(),
                Op::Numbering => {
                    c.toggle_numbering();
                    None
                }
                Op::Priority(p) => c.set_priority(p).unwrap_or(None),
                Op::Store(s) => c.store_scene(s).unwrap_or(None),
                Op::Recall(s) => c.recall_scene(s, clock).unwrap_or(None),
                Op::FadeTime(ms) => {
                    let _ = c.set_fade_time(Duration::from_millis(ms));
                    None
                }
                Op::Tick(ms) => {
                    clock += Duration::from_millis(ms);
                    c.tick(clock)
                }
                Op::Readback(v) => {
                    c.set_readback(&v);
                    None
                }
                Op::Take => c.take_frame(),
                Op::Ok(g) => {
                    c.send_ok(g);
                    None
                }
                Op::Failed(g) => {
                    c.send_failed(g, "x");
                    None
                }
                Op::Universe(u) => {
                    c.set_universe(u);
                    // Deliberately nothing to send to the new universe.
                    received = c.generation();
                    None
                }
            };
            prop_assert!(c.cursor() < SLOTS);
            prop_assert!(c.priority() <= MAX_PRIORITY);
            prop_assert!(c.undo_len() <= UNDO_DEPTH);
            prop_assert!(c.generation() >= last_gen);
            if let Some(f) = &frame {
                received = f.generation;
                // Every frame handed out is the whole current state.
                prop_assert_eq!(&f.data, c.values());
                prop_assert_eq!(f.generation, c.generation());
                prop_assert_eq!(f.universe, c.universe());
            }
            // Nothing lost: the runner has the newest state, or
            // take_frame will give it.
            prop_assert!(received == c.generation() || c.needs_send());
            if c.generation() > last_gen {
                prop_assert!(c.is_pending());
            }
            last_gen = c.generation();
            if let Some(progress) = c.fade().map(|f| f.progress) {
                prop_assert!((0.0..=1.0).contains(&progress));
            }
        }
    }
}
