//! Typed `MESSAGE` payloads (rv-protocol.md §4).
//!
//! ```text
//! EVENT <name> <target> <contents>          no reply
//! RETURNEVENT <name> <target> <contents>    exactly one RETURN comes back, in order
//! RETURN <value>                            the reply; "RETURN " (trailing space) when empty
//! DISCONNECT                                the peer signs off
//! ```
//!
//! RV splits the name and the target off on single spaces; the contents are
//! everything after the space that follows the target, newlines and spaces
//! included. The target is ignored by RV (send `*`). RETURNs carry no id: they
//! are matched to RETURNEVENTs in request order.

use crate::rv::frame::{EncodeError, check_token};
use std::fmt;

/// The sub-type of a `MESSAGE` frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// `EVENT name target contents`: fire an event, no reply.
    Event(Event),
    /// `RETURNEVENT name target contents`: fire an event and get one RETURN back.
    ReturnEvent(Event),
    /// `RETURN value`: the reply to the oldest outstanding RETURNEVENT.
    Return(String),
    /// `DISCONNECT`: the peer is closing the connection.
    Disconnect,
    /// Anything else. RV ignores these; we report them.
    Other(String),
}

/// An event as carried by EVENT and RETURNEVENT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Event name, e.g. `remote-eval`, `remote-pyeval`, `remote-pyexec` (no spaces).
    pub name: String,
    /// Target; ignored by RV, conventionally `*` (no spaces).
    pub target: String,
    /// Free text: Mu or Python code, or any event contents.
    pub contents: String,
}

impl Event {
    /// An event with target `*`.
    pub fn new(name: impl Into<String>, contents: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            target: "*".into(),
            contents: contents.into(),
        }
    }

    /// Checks the name and target are single space-free tokens (§4, §8).
    pub fn validate(&self) -> Result<(), EncodeError> {
        check_token("event name", &self.name)?;
        check_token("event target", &self.target)
    }

    fn parse(rest: &str) -> Self {
        let mut fields = rest.splitn(3, ' ');
        let name = fields.next().unwrap_or_default().to_owned();
        let target = fields.next().unwrap_or_default().to_owned();
        let contents = fields.next().unwrap_or_default().to_owned();
        Self {
            name,
            target,
            contents,
        }
    }
}

impl Message {
    /// Classifies a MESSAGE payload the way RV does (prefix match, §4).
    pub fn parse(text: &str) -> Self {
        if let Some(rest) = text.strip_prefix("RETURNEVENT ") {
            Message::ReturnEvent(Event::parse(rest))
        } else if let Some(rest) = text.strip_prefix("EVENT ") {
            Message::Event(Event::parse(rest))
        } else if let Some(rest) = text.strip_prefix("RETURN ") {
            Message::Return(rest.to_owned())
        } else if text == "RETURN" {
            Message::Return(String::new())
        } else if text.starts_with("DISCONNECT") {
            Message::Disconnect
        } else {
            Message::Other(text.to_owned())
        }
    }

    /// The MESSAGE payload text, refusing names and targets RV would mis-split.
    pub fn to_text(&self) -> Result<String, EncodeError> {
        Ok(match self {
            Message::Event(event) => {
                event.validate()?;
                format!("EVENT {} {} {}", event.name, event.target, event.contents)
            }
            Message::ReturnEvent(event) => {
                event.validate()?;
                format!(
                    "RETURNEVENT {} {} {}",
                    event.name, event.target, event.contents
                )
            }
            Message::Return(value) => format!("RETURN {value}"),
            Message::Disconnect => "DISCONNECT".to_owned(),
            Message::Other(text) if text.is_empty() => {
                return Err(EncodeError::EmptyPayload("MESSAGE"));
            }
            Message::Other(text) => text.clone(),
        })
    }
}

impl fmt::Display for Message {
    /// The payload as it goes on the wire (for logs and the feedback pane).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Message::Event(e) => write!(f, "EVENT {} {} {}", e.name, e.target, e.contents),
            Message::ReturnEvent(e) => {
                write!(f, "RETURNEVENT {} {} {}", e.name, e.target, e.contents)
            }
            Message::Return(value) => write!(f, "RETURN {value}"),
            Message::Disconnect => f.write_str("DISCONNECT"),
            Message::Other(text) => f.write_str(text),
        }
    }
}

/// A RETURN's value, decoded where it has one of Mu's printed forms of a
/// plain value (`"text"`, `12`, `-1.5`, `true`).
#[derive(Debug, Clone, PartialEq)]
pub enum MuValue {
    String(String),
    Int(i64),
    Float(f64),
    Bool(bool),
}

/// Decodes a Mu RETURN ([`MuValue`]); `None` for anything else (`void`,
/// `nil`, lists, errors, an empty RETURN).
pub fn decode_mu(value: &str) -> Option<MuValue> {
    let text = value.strip_suffix('\n').unwrap_or(value);
    if text.len() >= 2 && text.starts_with('"') && text.ends_with('"') {
        return Some(MuValue::String(unquote_mu(text)));
    }
    decode_scalar(text, "true", "false")
}

/// Decodes a `remote-pyeval` RETURN (Python's `str()` of the value): ints,
/// floats, `True`/`False`; any other text is the string itself (`str()` of
/// a string is the string); `None` for an empty RETURN (Python's None).
pub fn decode_python(value: &str) -> Option<MuValue> {
    if value.is_empty() {
        return None;
    }
    decode_scalar(value, "True", "False").or_else(|| Some(MuValue::String(value.to_owned())))
}

fn decode_scalar(text: &str, yes: &str, no: &str) -> Option<MuValue> {
    if text == yes {
        return Some(MuValue::Bool(true));
    }
    if text == no {
        return Some(MuValue::Bool(false));
    }
    if let Ok(int) = text.parse::<i64>() {
        return Some(MuValue::Int(int));
    }
    let numeric = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E'));
    match text.parse::<f64>() {
        Ok(float) if numeric && float.is_finite() => Some(MuValue::Float(float)),
        _ => None,
    }
}

/// Undoes Mu's quoting of a string result (`StringType::outputQuotedString`):
/// `"FRAME = 12"` becomes `FRAME = 12`. Mu escapes only `"`, `\n`, `\b`,
/// `\r`, `\t` and other control characters as `\uXXXX`; it writes a
/// backslash as it is, so any other backslash is kept. (NUL, which Mu shows
/// as `^@`, cannot be told apart from the text `^@` and is left alone.)
/// Anything that is not one quoted string (ints, `void`, errors) is returned
/// unchanged.
pub fn unquote_mu(value: &str) -> String {
    let Some(inner) = value
        .strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'))
        .filter(|_| value.len() >= 2)
    else {
        return value.to_owned();
    };
    let mut out = String::with_capacity(inner.len());
    let mut rest = inner;
    while let Some(at) = rest.find('\\') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let (unescaped, used) = match after.as_bytes().first() {
            Some(b'n') => (Some('\n'), 1),
            Some(b'b') => (Some('\u{8}'), 1),
            Some(b'r') => (Some('\r'), 1),
            Some(b't') => (Some('\t'), 1),
            Some(b'"') => (Some('"'), 1),
            Some(b'u') => (
                after
                    .get(1..5)
                    .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                    .and_then(char::from_u32),
                5,
            ),
            _ => (None, 0),
        };
        match unescaped {
            Some(c) => {
                out.push(c);
                rest = &after[used..];
            }
            None => {
                out.push('\\');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_sub_type() {
        assert_eq!(
            Message::parse("RETURNEVENT remote-eval * play();\n\"FRAME = \" + frame();"),
            Message::ReturnEvent(Event {
                name: "remote-eval".into(),
                target: "*".into(),
                contents: "play();\n\"FRAME = \" + frame();".into()
            })
        );
        assert_eq!(
            Message::parse("EVENT my-event red green blue"),
            Message::Event(Event {
                name: "my-event".into(),
                target: "red".into(),
                contents: "green blue".into()
            })
        );
        assert_eq!(Message::parse("RETURN "), Message::Return(String::new()));
        assert_eq!(
            Message::parse("RETURN \"FRAME = 1\""),
            Message::Return("\"FRAME = 1\"".into())
        );
        assert_eq!(
            Message::parse("RETURN  two  spaces\n"),
            Message::Return(" two  spaces\n".into())
        );
        assert_eq!(Message::parse("DISCONNECT"), Message::Disconnect);
        assert_eq!(
            Message::parse("HELLO there"),
            Message::Other("HELLO there".into())
        );
        assert_eq!(
            Message::parse("EVENT lonely"),
            Message::Event(Event {
                name: "lonely".into(),
                target: String::new(),
                contents: String::new()
            })
        );
    }

    #[test]
    fn text_round_trips_and_matches_rvshell_bytes() {
        let play =
            Message::ReturnEvent(Event::new("remote-eval", r#"play();"FRAME = " + frame();"#));
        let text = play.to_text().unwrap();
        assert_eq!(
            text,
            r#"RETURNEVENT remote-eval * play();"FRAME = " + frame();"#
        );
        assert_eq!(text.len(), 54);
        assert_eq!(Message::parse(&text), play);
        let cache = Message::Event(Event::new("remote-eval", "setCacheMode(CacheBuffer)"));
        assert_eq!(cache.to_text().unwrap().len(), 45);
        assert_eq!(Message::Return(String::new()).to_text().unwrap(), "RETURN ");
        assert_eq!(Message::Disconnect.to_text().unwrap(), "DISCONNECT");
    }

    #[test]
    fn refuses_spaces_in_names_and_targets() {
        let mut event = Event::new("remote eval", "x");
        assert!(Message::Event(event.clone()).to_text().is_err());
        event.name = "remote-eval".into();
        event.target = "a b".into();
        assert!(Message::ReturnEvent(event.clone()).to_text().is_err());
        event.target = String::new();
        assert!(Message::ReturnEvent(event).to_text().is_err());
    }

    #[test]
    fn unquote_undoes_mu_string_quoting_only() {
        assert_eq!(unquote_mu(r#""FRAME = 12""#), "FRAME = 12");
        assert_eq!(unquote_mu(r#""a\nb\t\"c\"\r\b""#), "a\nb\t\"c\"\r\u{8}");
        assert_eq!(
            unquote_mu(r#""bell\u0007 esc\u001b""#),
            "bell\u{7} esc\u{1b}"
        );
        // Mu writes backslashes as they are: a Windows path survives.
        assert_eq!(unquote_mu(r#""C:\shots\x\u12""#), r"C:\shots\x\u12");
        assert_eq!(unquote_mu(r#""trailing\""#), "trailing\\");
        assert_eq!(unquote_mu("12"), "12");
        assert_eq!(unquote_mu("\""), "\"");
        assert_eq!(unquote_mu("void"), "void");
        assert_eq!(unquote_mu(""), "");
    }

    #[test]
    fn mu_values_decode_from_their_printed_forms() {
        assert_eq!(decode_mu("12"), Some(MuValue::Int(12)));
        assert_eq!(decode_mu("-3"), Some(MuValue::Int(-3)));
        assert_eq!(decode_mu("24.0"), Some(MuValue::Float(24.0)));
        assert_eq!(decode_mu("true"), Some(MuValue::Bool(true)));
        assert_eq!(
            decode_mu(r#""FRAME = 1\n""#),
            Some(MuValue::String("FRAME = 1\n".into()))
        );
        for other in [
            "void",
            "nil",
            "",
            "inf",
            "nan",
            r#"string[] {"a"}"#,
            "ERROR: x",
        ] {
            assert_eq!(decode_mu(other), None, "{other:?}");
        }
        assert_eq!(decode_python("True"), Some(MuValue::Bool(true)));
        assert_eq!(decode_python("1.5"), Some(MuValue::Float(1.5)));
        assert_eq!(decode_python("abc"), Some(MuValue::String("abc".into())));
        assert_eq!(decode_python(""), None);
    }
}
