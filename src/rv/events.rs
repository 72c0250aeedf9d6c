//! RV's own events pushed to us: the Mu that installs forwarding handlers in
//! RV, the Mu that removes them, and the typed [`RvEvent`] a forwarded event
//! becomes (rv-events.md).
//!
//! RV never sends a client anything unasked (rv-protocol.md §4). A client
//! that wants RV's `frame-changed`, `play-start`, ... uploads Mu with
//! `remote-eval` that binds a handler to each event; the handler forwards it
//! with `remoteSendEvent` (rv-events.md §1, §2). How this module does it:
//!
//! - **A minor mode of our own**, named after our contact
//!   ([`mode_name`]): `defineMinorMode`, `bind(mode, "global", ...)`,
//!   `activateMode`. Two rvshells, or rvshell and OpenRV's `rvNetwork.py`
//!   (which binds in mode `"default"`), never replace each other's
//!   handlers; signing off is one `deactivateMode` ([`remove_code`]).
//! - **Handlers that `reject()`**, so RV's own UI handlers bound later in the
//!   stack still see every event (rv-events.md §1: a handler that does not
//!   reject swallows the event).
//! - **Forwarded to our connection only**: the handler looks up our
//!   `name@host` in `remoteConnections()` by our contact name followed by
//!   `@` (regex-escaped, rv-events.md §2) and sends to that one.
//! - **What the event needs**, not only `event.contents()`, which is empty
//!   for many events (rv-events.md §3): the frame for `frame-changed`,
//!   `play-start` and `play-stop`; `start end` for `range-changed`; the fps
//!   for `fps-changed`; the contents for everything else (the new frame of
//!   `new-in-point`/`new-out-point`, the node of `after-graph-view-change`,
//!   `group;;action` of `source-group-complete`).
//!
//! A sample exchange for contact `rvshell-k3x9q2`:
//!
//! ```text
//! -> MESSAGE n RETURNEVENT remote-eval * require commands; function: ... true;
//! <- MESSAGE 8 RETURN true                       installed (an ERROR: is a refusal)
//! <- MESSAGE 28 EVENT frame-changed * 12         forwarded as RV fires them
//! <- MESSAGE 25 EVENT play-start * 12
//! -> MESSAGE n EVENT remote-eval * commands.deactivateMode("rvshell-events-rvshell-k3x9q2"); true;
//! -> MESSAGE 10 DISCONNECT
//! ```

use std::time::SystemTime;

/// What `rvshell watch` and the shell subscribe to when not told otherwise.
pub const DEFAULT_EVENTS: &[&str] = &[
    "frame-changed",
    "play-start",
    "play-stop",
    "range-changed",
    "new-in-point",
    "new-out-point",
    "source-group-complete",
    "after-graph-view-change",
];

/// The events whose forwarded contents are a frame number.
const FRAME_EVENTS: &[&str] = &[
    "frame-changed",
    "play-start",
    "play-stop",
    "new-in-point",
    "new-out-point",
];

/// One of RV's events, forwarded to us by the handlers we installed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RvEvent {
    /// The event's name, e.g. `frame-changed`.
    pub name: String,
    /// What the handler sent (see the module docs for each event).
    pub contents: String,
    /// The frame the event carries, for the events that carry one.
    pub frame: Option<i64>,
    /// When it arrived (the wall clock, for printing).
    pub received: SystemTime,
    /// The RV it came from (`host:port`).
    pub rv: String,
}

impl RvEvent {
    /// The event `name` with `contents` as forwarded, arrived now from `rv`.
    pub fn new(
        name: impl Into<String>,
        contents: impl Into<String>,
        rv: impl Into<String>,
    ) -> Self {
        let name = name.into();
        let contents = contents.into();
        let frame = if FRAME_EVENTS.contains(&name.as_str()) {
            contents.trim().parse().ok()
        } else {
            None
        };
        RvEvent {
            name,
            contents,
            frame,
            received: SystemTime::now(),
            rv: rv.into(),
        }
    }
}

/// Why an event name cannot be subscribed to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventNameError {
    /// Empty, or with a character RV's event names never have.
    #[error("{0:?} is not an RV event name (letters, digits and - _ . only, e.g. frame-changed)")]
    Invalid(String),
}

/// Checks an event name: RV's names are words joined by `-` (rv-events.md
/// §3); anything else could not be a binding and would break the Mu string.
pub fn check_event_name(name: &str) -> Result<(), EventNameError> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(EventNameError::Invalid(name.to_owned()))
    }
}

/// The minor mode our handlers live in: one per contact, so clients never
/// replace each other's bindings (rv-events.md §1).
pub fn mode_name(contact: &str) -> String {
    format!("rvshell-events-{contact}")
}

/// `text` as a Mu string literal: quoted, `\` and `"` escaped, control
/// characters as escapes.
fn mu_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `text` with the regex metacharacters escaped, so our contact name
/// matches itself only.
fn regex_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A short hash of the contact, so the handler functions of two contacts
/// never share a name in RV's global Mu namespace (FNV-1a, 32 bits).
fn contact_tag(contact: &str) -> String {
    let mut hash: u32 = 0x811c_9dc5;
    for byte in contact.bytes() {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    format!("{hash:08x}")
}

/// The Mu expression a handler for `event` sends (see the module docs).
fn payload(event: &str) -> &'static str {
    match event {
        "frame-changed" | "play-start" | "play-stop" => "string(commands.frame())",
        "range-changed" => "string(commands.frameStart()) + \" \" + string(commands.frameEnd())",
        "fps-changed" => "string(commands.fps())",
        _ => "event.contents()",
    }
}

/// The Mu that installs forwarding handlers for `events` in a minor mode of
/// `contact`'s own; RV answers `true`. Installing again (after a reconnect)
/// rebinds, which replaces (rv-events.md §1). Event names must pass
/// [`check_event_name`].
pub fn install_code(contact: &str, events: &[String]) -> String {
    let mode = mu_string(&mode_name(contact));
    let tag = contact_tag(contact);
    let pattern = mu_string(&format!("^{}@", regex_escape(contact)));
    let mut code = String::from("require commands;\n");
    for (i, event) in events.iter().enumerate() {
        code.push_str(&format!(
            "function: rvshell_fwd_{tag}_{i} (void; Event event)\n\
             {{\n    \
                 string contact = nil;\n    \
                 for_each (c; commands.remoteConnections())\n        \
                     if (regex({pattern}).match(c)) contact = c;\n    \
                 if (contact neq nil)\n        \
                     commands.remoteSendEvent({name}, \"*\", {payload}, string[] {{contact}});\n    \
                 event.reject();\n\
             }}\n",
            name = mu_string(event),
            payload = payload(event),
        ));
    }
    code.push_str(&format!("commands.defineMinorMode({mode}, 0, 0);\n"));
    for (i, event) in events.iter().enumerate() {
        code.push_str(&format!(
            "commands.bind({mode}, \"global\", {name}, rvshell_fwd_{tag}_{i}, {doc});\n",
            name = mu_string(event),
            doc = mu_string(&format!("rvshell: forward {event}")),
        ));
    }
    code.push_str(&format!("commands.activateMode({mode});\ntrue;\n"));
    code
}

/// The Mu that turns our handlers off (sent as an EVENT before DISCONNECT).
pub fn remove_code(contact: &str) -> String {
    format!(
        "commands.deactivateMode({}); true;",
        mu_string(&mode_name(contact))
    )
}

/// Whether a RETURN to [`install_code`] says the handlers are in place:
/// RV answers `true`; anything else (an `ERROR:` for an RV whose Mu lacks a
/// call, say) is RV's reason for refusing.
pub fn installed(value: &str) -> Result<(), String> {
    if value.trim() == "true" {
        Ok(())
    } else if value.trim().is_empty() {
        Err("RV answered nothing (is remote-eval handled?)".to_owned())
    } else {
        // RV's ERROR: echoes the whole code on its second line: the first
        // says what is wrong.
        let first = value.trim().lines().next().unwrap_or_default();
        let mut reason: String = first.chars().take(200).collect();
        if reason.len() < first.len() {
            reason.push('…');
        }
        Err(reason)
    }
}

/// The Mu that asks RV for the state the events then keep current; see
/// [`parse_state`].
pub const STATE_QUERY: &str = "string(commands.frame()) + \";\" + string(commands.isPlaying()) \
    + \";\" + string(commands.fps()) + \";\" + string(commands.frameStart()) + \";\" \
    + string(commands.frameEnd()) + \";\" + string(commands.inPoint()) + \";\" \
    + string(commands.outPoint()) + \";\" + commands.viewNode();";

/// RV's playback state, as [`STATE_QUERY`] reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct PlaybackState {
    pub frame: i64,
    pub playing: bool,
    pub fps: f64,
    pub start: i64,
    pub end: i64,
    pub in_point: i64,
    pub out_point: i64,
    /// The viewed node.
    pub view: String,
}

/// Parses the RETURN of [`STATE_QUERY`] (a quoted Mu string).
pub fn parse_state(value: &str) -> Option<PlaybackState> {
    let text = crate::rv::message::unquote_mu(value.trim());
    let mut parts = text.splitn(8, ';');
    let mut next = || parts.next().map(str::trim);
    Some(PlaybackState {
        frame: next()?.parse().ok()?,
        playing: match next()? {
            "true" => true,
            "false" => false,
            _ => return None,
        },
        fps: next()?.parse().ok()?,
        start: next()?.parse().ok()?,
        end: next()?.parse().ok()?,
        in_point: next()?.parse().ok()?,
        out_point: next()?.parse().ok()?,
        view: next()?.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_install_code_is_the_documented_mu() {
        let code = install_code(
            "rvshell-k3x9q2",
            &["frame-changed".into(), "range-changed".into()],
        );
        let tag = contact_tag("rvshell-k3x9q2");
        let expected = format!(
            r#"require commands;
function: rvshell_fwd_{tag}_0 (void; Event event)
{{
    string contact = nil;
    for_each (c; commands.remoteConnections())
        if (regex("^rvshell-k3x9q2@").match(c)) contact = c;
    if (contact neq nil)
        commands.remoteSendEvent("frame-changed", "*", string(commands.frame()), string[] {{contact}});
    event.reject();
}}
function: rvshell_fwd_{tag}_1 (void; Event event)
{{
    string contact = nil;
    for_each (c; commands.remoteConnections())
        if (regex("^rvshell-k3x9q2@").match(c)) contact = c;
    if (contact neq nil)
        commands.remoteSendEvent("range-changed", "*", string(commands.frameStart()) + " " + string(commands.frameEnd()), string[] {{contact}});
    event.reject();
}}
commands.defineMinorMode("rvshell-events-rvshell-k3x9q2", 0, 0);
commands.bind("rvshell-events-rvshell-k3x9q2", "global", "frame-changed", rvshell_fwd_{tag}_0, "rvshell: forward frame-changed");
commands.bind("rvshell-events-rvshell-k3x9q2", "global", "range-changed", rvshell_fwd_{tag}_1, "rvshell: forward range-changed");
commands.activateMode("rvshell-events-rvshell-k3x9q2");
true;
"#
        );
        assert_eq!(code, expected);
    }

    #[test]
    fn contacts_with_metacharacters_match_themselves_only() {
        let code = install_code("a.b\"c", &["play-start".into()]);
        assert!(code.contains(r#"regex("^a\\.b\"c@")"#), "{code}");
        assert!(code.contains(r#"defineMinorMode("rvshell-events-a.b\"c", 0, 0)"#));
        assert_ne!(contact_tag("a-b"), contact_tag("a_b"));
    }

    #[test]
    fn forwarded_events_carry_their_frame() {
        let event = RvEvent::new("frame-changed", "12", "h:1");
        assert_eq!(event.frame, Some(12));
        assert_eq!(RvEvent::new("new-in-point", " -3", "h:1").frame, Some(-3));
        assert_eq!(RvEvent::new("play-start", "", "h:1").frame, None);
        assert_eq!(
            RvEvent::new("source-group-complete", "12", "h:1").frame,
            None
        );
    }

    #[test]
    fn event_names_are_words_joined_by_dashes() {
        assert!(check_event_name("frame-changed").is_ok());
        assert!(check_event_name("my_event.2").is_ok());
        for bad in ["", "a b", "a\"b", "x;y", &"x".repeat(129)] {
            assert!(check_event_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn an_install_is_refused_with_rvs_words() {
        assert_eq!(installed("true"), Ok(()));
        assert_eq!(installed("true\n"), Ok(()));
        assert_eq!(
            installed("ERROR: remote-eval: No mode named x"),
            Err("ERROR: remote-eval: No mode named x".into())
        );
        assert!(installed("").is_err());
        let echoed = format!(
            "ERROR: remote-eval: bad\nERROR: remote-eval: '{}'",
            "x".repeat(5000)
        );
        assert_eq!(installed(&echoed), Err("ERROR: remote-eval: bad".into()));
    }

    #[test]
    fn the_state_query_answer_parses() {
        let state = parse_state(r#""12;true;24.000000;1;100;5;90;sourceGroup000000""#).unwrap();
        assert_eq!(state.frame, 12);
        assert!(state.playing);
        assert_eq!(state.fps, 24.0);
        assert_eq!((state.start, state.end), (1, 100));
        assert_eq!((state.in_point, state.out_point), (5, 90));
        assert_eq!(state.view, "sourceGroup000000");
        assert!(parse_state(r#""12;maybe;24;1;100;5;90;x""#).is_none());
        assert!(parse_state("ERROR: nope").is_none());
    }
}
