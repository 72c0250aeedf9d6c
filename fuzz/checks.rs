//! What must hold for every input, one function per fuzz target. Shared by
//! the cargo-fuzz targets (`fuzz_targets/*.rs`) and by the ordinary test
//! suite (`tests/fuzz_corpus.rs`), which replays the saved corpus and every
//! input that once failed (`fuzz/regressions/`), so a crash found by the
//! fuzzer stays fixed on the stable toolchain too.
//!
//! "Does not panic" is only the start: each check also asserts a property
//! (the same frames whatever the split, round trips where an encoder
//! exists, bounded output).
#![allow(dead_code)]

use bytes::BytesMut;
use rvshell::rv::frame::{Frame, Limits};
use rvshell::rv::message::Message;
use rvshell::rv::pixels::TileHeader;
use std::time::Instant;

/// Small enough that a hostile length is refused fast, large enough for
/// real frames.
fn limits(lenient: bool) -> Limits {
    Limits {
        max_payload: 1 << 20,
        max_header: 4096,
        lenient,
    }
}

/// Parses `chunks` fed one after another, as a socket delivers them: every
/// frame, then the error that ended it (if any).
fn frames_of(chunks: &[&[u8]], limits: &Limits) -> (Vec<Frame>, bool) {
    let mut buf = BytesMut::new();
    let mut frames = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        loop {
            match Frame::parse(&mut buf, limits) {
                Ok(Some(frame)) => {
                    assert!(buf.capacity() <= (limits.max_payload + 8192).max(1 << 21));
                    frames.push(frame);
                }
                Ok(None) => break,
                Err(_) => return (frames, true),
            }
        }
    }
    (frames, false)
}

/// The RV frame reader: the same frames (and the same error, at the same
/// place) come out whatever points the stream is split at; every frame
/// re-encodes and parses back to itself; MESSAGE texts parse without panic.
/// The first byte picks strict or lenient parsing, the next two seed the
/// split points.
pub fn rv_frames(data: &[u8]) {
    if data.len() < 3 {
        return;
    }
    let limits = limits(data[0] & 1 == 1);
    let mut rng = fastrand::Rng::with_seed(u64::from(u16::from_le_bytes([data[1], data[2]])));
    let stream = &data[3..];
    let (whole, whole_err) = frames_of(&[stream], &limits);
    let mut chunks = Vec::new();
    let mut at = 0;
    while at < stream.len() {
        let n = rng.usize(1..=(stream.len() - at).min(64));
        chunks.push(&stream[at..at + n]);
        at += n;
    }
    let (split, split_err) = frames_of(&chunks, &limits);
    assert_eq!(whole, split, "the split changed the frames");
    assert_eq!(whole_err, split_err, "the split changed the error");
    for frame in &whole {
        if let Frame::Message(text) = frame {
            let _ = Message::parse(text);
        }
        let mut encoded = BytesMut::new();
        if frame.encode(&mut encoded).is_ok() {
            let again = Frame::parse(&mut encoded, &limits)
                .expect("an encoded frame parses")
                .expect("an encoded frame is whole");
            assert_eq!(&again, frame, "round trip");
            assert!(encoded.is_empty(), "the encoding is exactly one frame");
        }
    }
}

/// The PIXELTILE header parser: never panics, and a header it builds
/// (`to_header`) parses back to the same tile.
pub fn tile_header(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for header in [text.to_owned(), format!("PIXELTILE({text})")] {
        if let Some(tile) = TileHeader::parse(&header)
            && let Ok(built) = tile.to_header()
        {
            assert_eq!(TileHeader::parse(&built), Some(tile.clone()), "{built}");
        }
    }
}

/// GREETING and NEWGREETING with any payload: parsed or refused, never a
/// panic; what parses re-encodes to the same greeting.
pub fn greeting(data: &[u8]) {
    for lenient in [false, true] {
        let limits = limits(lenient);
        for kind in ["GREETING", "NEWGREETING"] {
            let mut buf = BytesMut::new();
            buf.extend_from_slice(format!("{kind} {} ", data.len()).as_bytes());
            buf.extend_from_slice(data);
            let Ok(Some(frame)) = Frame::parse(&mut buf, &limits) else {
                continue;
            };
            let mut encoded = BytesMut::new();
            if frame.encode(&mut encoded).is_ok() {
                let again = Frame::parse(&mut encoded, &limits).unwrap().unwrap();
                assert_eq!(again, frame);
            }
        }
    }
}

/// The simulator's Mu, everything the wire can send it: the text as a
/// `remote-eval`, then RV's events fired (running whatever handlers it
/// bound). Always an answer, bounded in size; the session stays usable.
pub fn sim_mu(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut session = rvshell::sim::mu::Session::new();
    session.add_connection("fuzz@localhost");
    let now = Instant::now();
    let answer = session.eval_mu(&text, now);
    assert!(
        answer.len() <= 8 << 20,
        "an answer of {} bytes",
        answer.len()
    );
    for event in ["frame-changed", "play-start", "source-group-complete"] {
        session.fire_event(event, "x", now);
    }
    let _ = session.take_effects();
    // Still serving: a plain request answers as it should.
    assert_eq!(session.eval_mu("1 + 1", now), "2");
}

/// The simulator's Python subset: `remote-pyeval` and `remote-pyexec`.
pub fn sim_python(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut session = rvshell::sim::mu::Session::new();
    let now = Instant::now();
    let answer = session.eval_py(&text, now);
    assert!(
        answer.len() <= 8 << 20,
        "an answer of {} bytes",
        answer.len()
    );
    session.exec_py(&text, now);
    assert_eq!(session.eval_py("1 + 1", now), "2");
}

/// OLA's RPC stream: the 4-byte framing and the `RpcMessage` envelope.
/// Bodies never exceed the cap; an envelope that decodes re-encodes and
/// decodes to itself.
pub fn ola_rpc(data: &[u8]) {
    use prost::Message as _;
    use rvshell::ola::codec::{MAX_BODY, OlaCodec, encode_message};
    use rvshell::ola::pb::rpc::RpcMessage;
    let mut codec = OlaCodec::new();
    let mut buf = BytesMut::from(data);
    while let Ok(Some(body)) = codec.decode_body(&mut buf) {
        assert!(body.len() <= MAX_BODY);
        let Ok(msg) = RpcMessage::decode(body) else {
            continue;
        };
        let mut out = BytesMut::new();
        if encode_message(&msg, &mut out).is_ok() {
            let mut again = OlaCodec::new();
            let body = again.decode_body(&mut out).unwrap().unwrap();
            assert_eq!(RpcMessage::decode(body).unwrap(), msg);
        }
    }
}

/// The config file: parsed or refused with a message naming the file.
pub fn config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = std::path::Path::new("fuzz.toml");
    if let Err(err) = rvshell::config::parse(path, text) {
        assert!(err.to_string().contains("fuzz.toml"), "{err}");
    }
}

/// The show file: refused with every problem at a line and column inside
/// the text, or accepted with the invariants the engine relies on; storing
/// each scene's own values back into the text (the shell's Shift+F) gives
/// the same show; and the engine, firing every cue, reports each cue it
/// fires, sends whole 512-slot frames whose `changed` lists exactly what
/// changed, and once every fade is over holds exactly the values of the
/// last scene to touch each channel.
pub fn show(data: &[u8]) {
    use rvshell::cue::show::{MAX_FADE, Show, ShowError};
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let show = match Show::parse(text, "fuzz.toml") {
        Ok(show) => show,
        Err(ShowError::Invalid { path, diagnostics }) => {
            assert_eq!(path, "fuzz.toml");
            assert!(!diagnostics.is_empty(), "refused with no reason");
            let lines = text.matches('\n').count() + 1;
            for d in &diagnostics {
                assert!((1..=lines).contains(&d.line), "{d} is past the text");
                let line = text.split('\n').nth(d.line - 1).unwrap_or("");
                assert!(
                    (1..=line.chars().count() + 1).contains(&d.column),
                    "{d} is past its line"
                );
                assert!(!d.message.trim().is_empty() && !d.message.contains('\n'));
            }
            return;
        }
        Err(err) => panic!("parse gave {err}"),
    };
    assert!(show.priority <= 200);
    assert!(show.scenes.windows(2).all(|w| w[0].name < w[1].name));
    for scene in &show.scenes {
        assert!(scene.channels.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(scene.channels.iter().all(|&(c, _)| (1..=512).contains(&c)));
    }
    let scenes = show.scenes.len();
    for cue in &show.cues {
        assert!(cue.scene < scenes && cue.fade <= MAX_FADE);
        if let rvshell::cue::show::Trigger::Frames { first, last } = cue.trigger {
            assert!(0 <= first && first <= last);
        }
    }
    if let Some(failsafe) = show.failsafe {
        assert!(failsafe.scene < scenes && failsafe.fade <= MAX_FADE);
    }
    for event in show.events() {
        assert!(rvshell::rv::events::check_event_name(&event).is_ok());
    }
    assert!(!show.summary().is_empty());
    show_store(text, &show);
    show_engine(&show);
}

/// Shift+F with the scene's own values: the stored text parses to the same
/// show.
fn show_store(text: &str, show: &rvshell::cue::show::Show) {
    use rvshell::app::cue::CueLink;
    use rvshell::cue::show::Show;
    let mut link = CueLink::new("fuzz.toml".into(), text.to_owned(), show.clone());
    let mut n = 0;
    while let Some(name) = link.scene_of_key(n).map(str::to_owned) {
        let scene = &show.scenes[show.scene(&name).unwrap()];
        let mut values = vec![0u8; 512];
        for &(c, v) in &scene.channels {
            values[usize::from(c) - 1] = v;
        }
        let stored = link
            .store(n, scene.universe, &values)
            .unwrap_or_else(|err| panic!("storing scene {name} fails: {err}"));
        let again = Show::parse(&stored, "fuzz.toml").unwrap();
        assert_eq!(
            again.scenes, show.scenes,
            "storing {name} changed the scenes"
        );
        assert_eq!(again.cues.len(), show.cues.len());
        assert_eq!(again.priority, show.priority);
        assert_eq!(again.failsafe, show.failsafe);
        n += 1;
    }
}

/// Every cue fired (by its event where one can be made, else by hand),
/// then the fades run to their end.
fn show_engine(show: &rvshell::cue::show::Show) {
    use rvshell::cue::engine::Engine;
    use rvshell::cue::show::{MAX_FADE, Trigger};
    use rvshell::rv::events::RvEvent;
    use std::collections::BTreeMap;
    use std::time::{Duration, SystemTime};

    let mut engine = Engine::new(show.clone());
    let mut expected: BTreeMap<u32, Vec<u8>> = show
        .universes()
        .into_iter()
        .map(|u| (u, vec![0u8; 512]))
        .collect();
    let mut sent = expected.clone();
    let mut apply = |scene: usize| {
        let scene = &show.scenes[scene];
        let slots = expected.get_mut(&scene.universe).unwrap();
        for &(c, v) in &scene.channels {
            slots[usize::from(c) - 1] = v;
        }
    };
    let event = |name: &str, contents: String, frame: Option<i64>| RvEvent {
        name: name.to_owned(),
        contents,
        frame,
        received: SystemTime::UNIX_EPOCH,
        rv: "fuzz:45124".to_owned(),
    };
    let mut now = Duration::ZERO;
    for (i, cue) in show.cues.iter().enumerate() {
        now += Duration::from_millis(7);
        let fired = match &cue.trigger {
            Trigger::Frames { first, .. } => {
                // From outside every range, then into this one.
                engine.rv_lost(now);
                if let Some(f) = show.failsafe {
                    apply(f.scene);
                }
                engine.on_event(
                    &event("frame-changed", first.to_string(), Some(*first)),
                    now,
                )
            }
            Trigger::Event { name, contents } => {
                if contents.as_ref().is_some_and(|re| !re.is_match("")) {
                    engine.fire(cue.scene, cue.fade, now);
                    apply(cue.scene);
                    continue;
                }
                engine.on_event(&event(name, String::new(), None), now)
            }
        };
        assert!(
            fired.iter().any(|f| f.cue == Some(i)),
            "cue {i} did not fire on its own event"
        );
        // Every cue that fired on this event, in order.
        for f in &fired {
            apply(show.cues[f.cue.expect("a cue")].scene);
        }
        // A few frames of the fade.
        for _ in 0..3 {
            let Some(due) = engine.next_due() else { break };
            now = now.max(due);
            check_frames(&engine.tick(now), &mut sent);
        }
    }
    now += MAX_FADE + Duration::from_secs(1);
    check_frames(&engine.tick(now), &mut sent);
    assert_eq!(engine.next_due(), None, "fades left after the longest fade");
    for (universe, slots) in &expected {
        assert_eq!(
            engine.held(*universe),
            Some(&slots[..]),
            "universe {universe}"
        );
    }
}

/// Whole frames, and `changed` is exactly the difference from the frame
/// before.
fn check_frames(
    frames: &[rvshell::cue::engine::DmxOut],
    sent: &mut std::collections::BTreeMap<u32, Vec<u8>>,
) {
    for frame in frames {
        assert_eq!(frame.data.len(), 512);
        let before = sent
            .get_mut(&frame.universe)
            .expect("a universe of the show");
        let diff: Vec<(u16, u8)> = (0..512)
            .filter(|&i| before[i] != frame.data[i])
            .map(|i| (i as u16 + 1, frame.data[i]))
            .collect();
        assert_eq!(frame.changed, diff);
        before.copy_from_slice(&frame.data);
    }
}

/// The Raw Event tab's history file: any text loads (malformed lines
/// skipped) into at most `cap` entries with no two equal neighbours, and
/// saving what loaded and loading it again gives the same entries. The
/// first byte picks the cap; the rest, split at NUL bytes into name,
/// target and code (any characters, tabs and newlines included), must
/// survive a save and a load exactly.
pub fn history(data: &[u8]) {
    use rvshell::app::history::{Entry, History};
    let Some((&cap, rest)) = data.split_first() else {
        return;
    };
    let cap = usize::from(cap % 16) + 1;
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let loaded = History::from_text(text, cap);
    let entries: Vec<&Entry> = loaded.entries().iter().collect();
    assert!(entries.len() <= cap);
    assert!(entries.windows(2).all(|w| w[0] != w[1]));
    let again = History::from_text(&loaded.to_text(), cap);
    assert_eq!(again.entries(), loaded.entries());

    let mut written = History::new(cap);
    for (i, fields) in text.split('\0').collect::<Vec<_>>().chunks(3).enumerate() {
        written.push(Entry {
            name: fields[0].to_owned(),
            target: fields.get(1).copied().unwrap_or("*").to_owned(),
            rsvp: i % 2 == 0,
            code: fields.get(2).copied().unwrap_or("").to_owned(),
        });
    }
    let read = History::from_text(&written.to_text(), cap);
    assert_eq!(read.entries(), written.entries());
}

/// RV's RETURN values and event contents as the client reads them: Mu's
/// and Python's printed values (`decode_mu`, `decode_python`), a quoted
/// Mu string (`unquote_mu`), the playback state (`parse_state`) and an
/// event's frame (`RvEvent::new`): never a panic on any text; a string Mu
/// quoted is read back exactly (for text without backslashes, which Mu
/// writes as they are); a state written as RV writes it is read back
/// exactly, its numbers taken from the input's first 48 bytes.
pub fn rv_values(data: &[u8]) {
    use rvshell::rv::events::{PlaybackState, RvEvent, parse_state};
    use rvshell::rv::message::{MuValue, decode_mu, decode_python, unquote_mu};
    let text = String::from_utf8_lossy(data);
    let text = text.as_ref();
    match decode_mu(text) {
        Some(MuValue::String(s)) => {
            assert_eq!(s, unquote_mu(text.strip_suffix('\n').unwrap_or(text)));
        }
        Some(MuValue::Float(f)) => assert!(f.is_finite()),
        _ => {}
    }
    let _ = decode_python(text);
    let _ = parse_state(text);
    for name in ["frame-changed", "play-start", "range-changed", "new-source"] {
        let event = RvEvent::new(name, text, "fuzz:45124");
        if let Some(frame) = event.frame {
            assert_eq!(text.trim().parse::<i64>().ok(), Some(frame));
        }
    }
    if !text.contains('\\') {
        let quoted = mu_quote(text);
        assert_eq!(unquote_mu(&quoted), text);
        assert_eq!(decode_mu(&quoted), Some(MuValue::String(text.to_owned())));
    }
    if data.len() >= 48 {
        let int = |i: usize| i64::from_le_bytes(data[i * 8..i * 8 + 8].try_into().unwrap());
        let fps = f64::from_bits(int(5) as u64);
        let view = String::from_utf8_lossy(&data[48..]).trim().to_owned();
        if fps.is_finite() && !view.contains('\\') {
            let state = PlaybackState {
                frame: int(0),
                playing: int(1) & 1 == 1,
                fps,
                start: int(2),
                end: int(3),
                in_point: int(4),
                out_point: int(4).wrapping_add(int(0)),
                view,
            };
            let written = format!(
                "{};{};{};{};{};{};{};{}",
                state.frame,
                state.playing,
                state.fps,
                state.start,
                state.end,
                state.in_point,
                state.out_point,
                state.view
            );
            assert_eq!(parse_state(&mu_quote(&written)), Some(state), "{written}");
        }
    }
}

/// Mu's quoting of a string result (`StringType::outputQuotedString`):
/// `"`, newline, backspace, CR and tab escaped, other control characters
/// as `\uXXXX`, a backslash as it is.
fn mu_quote(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\u{8}' => out.push_str("\\b"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_ascii_control() => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
