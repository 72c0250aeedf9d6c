//! A single-line text field: the Name and Target fields, the go-to-frame
//! field and the search prompt.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Text plus a cursor counted in characters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LineInput {
    text: String,
    cursor: usize,
    /// The text is a current value shown for reference: typing or pasting
    /// replaces it, Backspace or Delete clears it, and moving the cursor
    /// keeps it to edit.
    prefilled: bool,
}

impl LineInput {
    pub fn new(text: impl Into<String>) -> Self {
        let text = text.into();
        let cursor = text.chars().count();
        Self {
            text,
            cursor,
            prefilled: false,
        }
    }

    /// A field showing a current value that the first key typed replaces
    /// (as a selected text would be).
    pub fn prefilled(text: impl Into<String>) -> Self {
        Self {
            prefilled: true,
            ..Self::new(text)
        }
    }

    /// Whether the text is still the value it was opened with, to be
    /// replaced by what is typed.
    pub fn is_prefilled(&self) -> bool {
        self.prefilled
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn cursor(&self) -> usize {
        self.cursor
    }

    pub fn set(&mut self, text: impl Into<String>) {
        *self = Self::new(text);
    }

    fn byte_at(&self, chars: usize) -> usize {
        self.text
            .char_indices()
            .nth(chars)
            .map_or(self.text.len(), |(i, _)| i)
    }

    /// Inserts text at the cursor; line breaks become spaces (the field is one line).
    pub fn insert_str(&mut self, s: &str) {
        if std::mem::take(&mut self.prefilled) {
            self.set("");
        }
        let clean: String = s
            .chars()
            .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
            .filter(|c| !c.is_control())
            .collect();
        let at = self.byte_at(self.cursor);
        self.text.insert_str(at, &clean);
        self.cursor += clean.chars().count();
    }

    /// The character `key` types into a field: a plain or shifted key,
    /// not a Ctrl or Alt one (those edit, or are bindings).
    pub fn typed_char(key: &KeyEvent) -> Option<char> {
        match key.code {
            KeyCode::Char(c)
                if !key
                    .modifiers
                    .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT) =>
            {
                Some(c)
            }
            _ => None,
        }
    }

    /// Applies an editing key; returns false when the key is not an editing key.
    pub fn handle_key(&mut self, key: &KeyEvent) -> bool {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let typing = Self::typed_char(key).is_some();
        if self.prefilled && (typing || matches!(key.code, KeyCode::Backspace | KeyCode::Delete)) {
            self.set("");
            if !typing {
                return true;
            }
        }
        self.prefilled = false;
        match key.code {
            KeyCode::Char('u') if ctrl => {
                let at = self.byte_at(self.cursor);
                self.text.replace_range(..at, "");
                self.cursor = 0;
            }
            KeyCode::Char('a') if ctrl => self.cursor = 0,
            KeyCode::Char('e') if ctrl => self.cursor = self.text.chars().count(),
            KeyCode::Char(c) if typing => {
                let at = self.byte_at(self.cursor);
                self.text.insert(at, c);
                self.cursor += 1;
            }
            KeyCode::Backspace if self.cursor > 0 => {
                self.cursor -= 1;
                let at = self.byte_at(self.cursor);
                self.text.remove(at);
            }
            KeyCode::Delete if self.cursor < self.text.chars().count() => {
                let at = self.byte_at(self.cursor);
                self.text.remove(at);
            }
            KeyCode::Backspace | KeyCode::Delete => {}
            KeyCode::Left => self.cursor = self.cursor.saturating_sub(1),
            KeyCode::Right => self.cursor = (self.cursor + 1).min(self.text.chars().count()),
            KeyCode::Home => self.cursor = 0,
            KeyCode::End => self.cursor = self.text.chars().count(),
            _ => return false,
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn a_prefilled_value_is_replaced_by_typing_and_kept_by_moving() {
        let mut typed = LineInput::prefilled("100");
        assert!(typed.handle_key(&key(KeyCode::Char('7'))));
        assert_eq!(
            (typed.text(), typed.cursor(), typed.is_prefilled()),
            ("7", 1, false)
        );

        let mut cleared = LineInput::prefilled("100");
        assert!(cleared.handle_key(&key(KeyCode::Backspace)));
        assert_eq!((cleared.text(), cleared.is_prefilled()), ("", false));

        let mut pasted = LineInput::prefilled("100");
        pasted.insert_str("42");
        assert_eq!(pasted.text(), "42");

        let mut edited = LineInput::prefilled("100");
        edited.handle_key(&key(KeyCode::Left));
        edited.handle_key(&key(KeyCode::Char('5')));
        assert_eq!(edited.text(), "1050");
    }
}
