//! The DMX value syntax of `rvshell dmx set` and of a show file's scenes
//! (see [`crate::cue::show`]): comma-separated items, each one of
//!
//! ```text
//! 255,0,128      plain values: channels 1, 2, 3 ... (after an addressed
//!                item, plain values continue at the next channel)
//! 5=128          channel 5 (1..=512) gets 128
//! 1-4=255        channels 1 to 4 get 255
//! ```
//!
//! Only plain values describe a whole frame (`ola_set_dmx` style); any
//! addressed item makes the set a list of changes over the current values.

use crate::ola::client::MAX_SLOTS;

/// What a value list asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Values {
    /// Only plain values: exactly this frame.
    Plain(Vec<u8>),
    /// Some `CH=VAL` / `CH-CH=VAL`: (first channel, last channel, value),
    /// 1-based, applied over the current values.
    Addressed(Vec<(usize, usize, u8)>),
}

impl Values {
    /// Every channel the list sets, 1-based, with its value, in the order
    /// written (a channel listed twice appears twice; the later wins).
    pub fn channels(&self) -> Vec<(usize, u8)> {
        match self {
            Values::Plain(frame) => frame.iter().enumerate().map(|(i, &v)| (i + 1, v)).collect(),
            Values::Addressed(changes) => changes
                .iter()
                .flat_map(|&(first, last, v)| (first..=last).map(move |c| (c, v)))
                .collect(),
        }
    }
}

/// Why a value list cannot be used; the text is the message for the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValuesError {
    /// Two commas in a row, or a list that is empty.
    #[error("empty value in {0:?}: separate values with single commas")]
    Empty(String),
    /// A value outside 0..=255 or not a number.
    #[error("bad DMX value {0:?}: values are whole numbers 0..=255")]
    Value(String),
    /// A channel outside 1..=512 or not a number.
    #[error("bad channel {0:?}: channels are 1..=512")]
    Channel(String),
    /// `B-A=` with B > A.
    #[error("bad channel range {0:?}: the first channel must not exceed the last")]
    Range(String),
    /// Plain values past channel 512.
    #[error(
        "too many values: {given} given, and value {item} would go to channel {channel}; \
         a universe has 512 channels"
    )]
    TooMany {
        /// How many values (comma-separated items) were given.
        given: usize,
        /// The first item that reaches past channel 512 (1-based).
        item: usize,
        /// The channel it would go to.
        channel: usize,
    },
}

/// One DMX value, 0..=255.
pub fn parse_value(text: &str) -> Result<u8, ValuesError> {
    text.trim()
        .parse::<u8>()
        .map_err(|_| ValuesError::Value(text.trim().to_owned()))
}

fn parse_channel(text: &str) -> Result<usize, ValuesError> {
    match text.trim().parse::<usize>() {
        Ok(c) if (1..=MAX_SLOTS).contains(&c) => Ok(c),
        _ => Err(ValuesError::Channel(text.trim().to_owned())),
    }
}

/// Parses a value list (see the module docs).
pub fn parse_values(text: &str) -> Result<Values, ValuesError> {
    let mut changes = Vec::new();
    let mut addressed = false;
    let mut next = 1usize;
    let given = text.split(',').count();
    for (index, item) in text.split(',').enumerate() {
        let item = item.trim();
        if item.is_empty() {
            return Err(ValuesError::Empty(text.to_owned()));
        }
        let (first, last, value) = match item.split_once('=') {
            None => (next, next, parse_value(item)?),
            Some((channels, value)) => {
                addressed = true;
                let value = parse_value(value)?;
                match channels.split_once('-') {
                    None => {
                        let c = parse_channel(channels)?;
                        (c, c, value)
                    }
                    Some((a, b)) => {
                        let (a, b) = (parse_channel(a)?, parse_channel(b)?);
                        if a > b {
                            return Err(ValuesError::Range(channels.to_owned()));
                        }
                        (a, b, value)
                    }
                }
            }
        };
        if last > MAX_SLOTS {
            return Err(ValuesError::TooMany {
                given,
                item: index + 1,
                channel: last,
            });
        }
        changes.push((first, last, value));
        next = last + 1;
    }
    if addressed {
        Ok(Values::Addressed(changes))
    } else {
        Ok(Values::Plain(
            changes.into_iter().map(|(_, _, v)| v).collect(),
        ))
    }
}

/// Applies addressed changes over the current values (extended with zeros
/// as far as the highest channel changed).
pub fn apply_changes(current: &[u8], changes: &[(usize, usize, u8)]) -> Vec<u8> {
    let top = changes.iter().map(|&(_, last, _)| last).max().unwrap_or(0);
    let mut frame = current.to_vec();
    if frame.len() < top {
        frame.resize(top, 0);
    }
    for &(first, last, value) in changes {
        // Channels are 1..=512 and frame.len() >= last, checked above.
        for slot in &mut frame[first - 1..last] {
            *slot = value;
        }
    }
    frame
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(text: &str) -> Values {
        match parse_values(text) {
            Ok(spec) => spec,
            Err(err) => panic!("{text}: {err:?}"),
        }
    }

    fn error(text: &str) -> String {
        match parse_values(text) {
            Err(err) => err.to_string(),
            other => panic!("{text}: expected an error, got {other:?}"),
        }
    }

    #[test]
    fn plain_values_are_the_frame() {
        assert_eq!(spec("255,0,128"), Values::Plain(vec![255, 0, 128]));
        assert_eq!(spec(" 1 , 2 "), Values::Plain(vec![1, 2]));
        let full = vec!["7"; 512].join(",");
        assert_eq!(spec(&full), Values::Plain(vec![7; 512]));
        assert_eq!(spec("9,8").channels(), vec![(1, 9), (2, 8)]);
    }

    #[test]
    fn addressed_values_patch_the_current_frame() {
        let changes = spec("3=9,10-12=200,1");
        assert_eq!(
            changes,
            Values::Addressed(vec![(3, 3, 9), (10, 12, 200), (13, 13, 1)])
        );
        assert_eq!(
            changes.channels(),
            vec![(3, 9), (10, 200), (11, 200), (12, 200), (13, 1)]
        );
        let Values::Addressed(changes) = changes else {
            unreachable!()
        };
        let frame = apply_changes(&[5, 5, 5, 5], &changes);
        assert_eq!(frame, vec![5, 5, 9, 5, 0, 0, 0, 0, 0, 200, 200, 200, 1]);
        // Untouched channels beyond the change keep their current values.
        let frame = apply_changes(&[1; 20], &[(2, 2, 0)]);
        assert_eq!(frame.len(), 20);
        assert_eq!(frame[1], 0);
        assert_eq!(frame[2], 1);
    }

    #[test]
    fn bad_values_are_explained() {
        assert!(error("300").contains("0..=255"));
        assert!(error("1,,2").contains("empty value"));
        assert!(error("0=5").contains("channels are 1..=512"));
        assert!(error("513=5").contains("channels are 1..=512"));
        assert!(error("5-2=1").contains("must not exceed"));
        assert!(error("x").contains("\"x\""));
        let too_many = vec!["1"; 513].join(",");
        let err = error(&too_many);
        assert_eq!(
            err,
            "too many values: 513 given, and value 513 would go to channel 513; \
             a universe has 512 channels",
            "says how many, never echoes them all"
        );
        assert!(error("510=1,2,3,4").contains("value 4 would go to channel 513"));
        assert!(error("512=1,2").contains("512 channels"));
    }
}
