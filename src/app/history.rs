//! The Raw Event tab's history of sent events: capped, newest last, no
//! consecutive duplicates, with a recall cursor that keeps the unsent draft.
//!
//! Persisted as text, one entry a line: `name TAB target TAB kind TAB code`,
//! with `\\`, `\n`, `\t` escaped in every field. Reading and writing the file
//! is the runner's job ([`History::to_text`], [`History::from_text`]).

use std::collections::VecDeque;

/// What the history keeps by default.
pub const DEFAULT_CAP: usize = 500;

/// One sent event, as the Raw Event tab shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub target: String,
    /// RETURNEVENT (true) or EVENT.
    pub rsvp: bool,
    pub code: String,
}

/// The history and its recall position.
#[derive(Debug, Clone)]
pub struct History {
    entries: VecDeque<Entry>,
    cap: usize,
    /// Index of the recalled entry; `None` while editing the draft.
    cursor: Option<usize>,
    /// What was in the fields when recall started.
    draft: Option<Entry>,
}

impl Default for History {
    fn default() -> Self {
        Self::new(DEFAULT_CAP)
    }
}

impl History {
    pub fn new(cap: usize) -> Self {
        Self {
            entries: VecDeque::new(),
            cap: cap.max(1),
            cursor: None,
            draft: None,
        }
    }

    pub fn entries(&self) -> &VecDeque<Entry> {
        &self.entries
    }

    /// Position shown in the UI: `(recalled index from 1, count)`.
    pub fn position(&self) -> Option<(usize, usize)> {
        self.cursor.map(|i| (i + 1, self.entries.len()))
    }

    /// Records a sent event and ends any recall.
    pub fn push(&mut self, entry: Entry) {
        self.cursor = None;
        self.draft = None;
        if self.entries.back() == Some(&entry) {
            return;
        }
        self.entries.push_back(entry);
        while self.entries.len() > self.cap {
            self.entries.pop_front();
        }
    }

    /// One step older; `current` is what the fields hold now (kept as the
    /// draft on the first step). `None` when there is nothing older.
    pub fn older(&mut self, current: Entry) -> Option<Entry> {
        let next = match self.cursor {
            None => self.entries.len().checked_sub(1)?,
            Some(0) => return None,
            Some(i) => i - 1,
        };
        if self.cursor.is_none() {
            self.draft = Some(current);
        }
        self.cursor = Some(next);
        self.entries.get(next).cloned()
    }

    /// One step newer; past the newest entry this returns the draft.
    pub fn newer(&mut self) -> Option<Entry> {
        let i = self.cursor?;
        if i + 1 < self.entries.len() {
            self.cursor = Some(i + 1);
            self.entries.get(i + 1).cloned()
        } else {
            self.cursor = None;
            self.draft.take()
        }
    }

    /// The file form.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for e in &self.entries {
            let kind = if e.rsvp { "RETURNEVENT" } else { "EVENT" };
            out.push_str(&format!(
                "{}\t{}\t{}\t{}\n",
                escape(&e.name),
                escape(&e.target),
                kind,
                escape(&e.code)
            ));
        }
        out
    }

    /// Reads the file form; malformed lines are skipped.
    pub fn from_text(text: &str, cap: usize) -> Self {
        let mut history = Self::new(cap);
        for line in text.lines() {
            let fields: Vec<&str> = line.split('\t').collect();
            if let [name, target, kind, code] = fields[..] {
                history.push(Entry {
                    name: unescape(name),
                    target: unescape(target),
                    rsvp: kind != "EVENT",
                    code: unescape(code),
                });
            }
        }
        history
    }
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}
