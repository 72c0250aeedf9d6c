//! The Feedback pane's model: a capped log of timestamped lines, a scroll
//! position measured from the newest line (0 follows new lines), and a search.

use std::collections::VecDeque;

/// How many lines the pane keeps.
pub const MAX_LINES: usize = 5000;

/// What a line reports; the UI picks its colour from this.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    /// Connection state changes (grey in rvshell).
    Connection,
    /// Something we sent.
    Sent,
    /// A RETURN for one of our requests.
    Return,
    /// An incoming EVENT / RETURNEVENT / unexpected or late RETURN / other message.
    Incoming,
    /// A failure: refused send, lost request, timeout.
    Error,
    /// Notes from the shell itself.
    Info,
}

/// One line of the pane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// `HH:MM:SS`, local time.
    pub time: String,
    pub kind: LineKind,
    /// The contact it concerns (`rvsim@127.0.0.1:45124`), empty for the shell's own notes.
    pub from: String,
    pub text: String,
    /// The code of the request this line answers (shown dimmed after a RETURN).
    pub request: Option<String>,
}

/// An active or finished search.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Search {
    pub query: String,
    /// The prompt is open and takes the keys.
    pub editing: bool,
}

/// The log and its view state.
#[derive(Debug, Default)]
pub struct Feedback {
    lines: VecDeque<Line>,
    /// Lines scrolled back from the newest; 0 follows new lines.
    pub scroll: usize,
    pub search: Option<Search>,
    /// Index (into [`Feedback::lines`]) of the current search match.
    pub hit: Option<usize>,
}

impl Feedback {
    /// Appends a line; a scrolled-back view stays on the same lines.
    pub fn push(&mut self, line: Line) {
        self.lines.push_back(line);
        if self.scroll > 0 {
            self.scroll += 1;
        }
        if self.lines.len() > MAX_LINES {
            self.lines.pop_front();
            self.hit = self.hit.and_then(|h| h.checked_sub(1));
            self.scroll = self.scroll.min(self.lines.len().saturating_sub(1));
        }
    }

    pub fn lines(&self) -> &VecDeque<Line> {
        &self.lines
    }

    pub fn len(&self) -> usize {
        self.lines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// Scrolls back (positive) or forward (negative), clamped.
    pub fn scroll_by(&mut self, delta: isize) {
        let max = self.lines.len().saturating_sub(1);
        self.scroll = self.scroll.saturating_add_signed(delta).min(max);
    }

    pub fn scroll_to_top(&mut self) {
        self.scroll = self.lines.len().saturating_sub(1);
    }

    pub fn scroll_to_bottom(&mut self) {
        self.scroll = 0;
    }

    /// The index of the line shown at the bottom of the view.
    pub fn bottom_index(&self) -> usize {
        self.lines.len().saturating_sub(1 + self.scroll)
    }

    /// Moves to the next match of the query: `older` searches towards the top.
    /// Returns false when nothing matches.
    pub fn find(&mut self, older: bool) -> bool {
        let Some(query) = self.search.as_ref().map(|s| s.query.to_lowercase()) else {
            return false;
        };
        if query.is_empty() || self.lines.is_empty() {
            return false;
        }
        let n = self.lines.len();
        let start = self.hit.unwrap_or(if older { n } else { 0 });
        let matches = |i: usize| {
            let line = &self.lines[i];
            line.text.to_lowercase().contains(&query)
                || line.from.to_lowercase().contains(&query)
                || line
                    .request
                    .as_ref()
                    .is_some_and(|r| r.to_lowercase().contains(&query))
        };
        let found = if older {
            (0..start)
                .rev()
                .find(|&i| matches(i))
                .or_else(|| (start..n).rev().find(|&i| matches(i)))
        } else {
            (start + 1..n)
                .find(|&i| matches(i))
                .or_else(|| (0..=start.min(n - 1)).find(|&i| matches(i)))
        };
        match found {
            Some(i) => {
                self.hit = Some(i);
                self.scroll = n - 1 - i;
                true
            }
            None => {
                self.hit = None;
                false
            }
        }
    }
}
