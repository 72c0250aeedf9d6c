//! Sending: the Playback buttons, the Raw Event editor, and the one path
//! every request takes to the runner ([`Command::Send`]), with its
//! pending-request bookkeeping.

use super::*;

impl App {
    pub(super) fn button(&mut self, code: &str) -> Vec<Command> {
        self.send(Origin::Button, Event::new("remote-eval", code), true)
    }

    pub(super) fn raw_entry(&self) -> Entry {
        Entry {
            name: self.name.text().to_owned(),
            target: self.target.text().to_owned(),
            rsvp: self.rsvp,
            code: self.code(),
        }
    }

    pub(super) fn load_entry(&mut self, entry: Entry) {
        self.name.set(entry.name);
        self.target.set(entry.target);
        self.rsvp = entry.rsvp;
        self.editor = new_editor(&entry.code);
        self.sync_editor_style();
    }

    pub(super) fn send_raw(&mut self) -> Vec<Command> {
        let entry = self.raw_entry();
        if entry.code.trim().is_empty() {
            self.log(
                LineKind::Error,
                String::new(),
                "nothing to send: the code is empty",
            );
            return Vec::new();
        }
        let event = Event {
            name: entry.name.clone(),
            target: entry.target.clone(),
            contents: entry.code.clone(),
        };
        let mut commands = self.send(Origin::Raw, event, entry.rsvp);
        if !commands.is_empty() {
            self.history.push(entry);
            commands.push(Command::SaveHistory(self.history.to_text()));
        }
        commands
    }

    /// Checks and sends one event to the selected contact (or to every
    /// connected one). A refusal is logged and returns no command; nothing
    /// the user typed is touched either way.
    pub(super) fn send(&mut self, origin: Origin, event: Event, rsvp: bool) -> Vec<Command> {
        for (what, value) in [("name", &event.name), ("target", &event.target)] {
            let why = if value.is_empty() {
                format!(
                    "not sent: the event {what} is empty; type one (the target is usually *); \
                     your text is kept"
                )
            } else if value.chars().any(char::is_whitespace) {
                format!(
                    "not sent: event {what} {value:?} must be one word without spaces \
                     (RV splits the message at spaces); your text is kept"
                )
            } else {
                continue;
            };
            self.log(LineKind::Error, String::new(), why);
            return Vec::new();
        }
        // The frame poll asks the selected RV only, whatever "send to all" says.
        let to_all = self.send_to_all && origin != Origin::Poll;
        let targets: Vec<usize> = if to_all {
            let (up, down): (Vec<usize>, Vec<usize>) =
                (0..self.contacts.len()).partition(|&i| self.contacts[i].is_connected());
            if !up.is_empty() && !down.is_empty() && origin != Origin::Poll {
                let skipped: Vec<String> = down
                    .iter()
                    .map(|&i| {
                        let c = &self.contacts[i];
                        format!("{} ({})", c.address, c.state_text(self.now))
                    })
                    .collect();
                self.log(
                    LineKind::Error,
                    String::new(),
                    format!(
                        "sending to {} of {} RVs; skipped, not connected: {}",
                        up.len(),
                        self.contacts.len(),
                        skipped.join(", ")
                    ),
                );
            }
            up
        } else {
            self.contacts
                .get(self.selected)
                .filter(|c| c.is_connected())
                .map(|_| self.selected)
                .into_iter()
                .collect()
        };
        if targets.is_empty() {
            if origin != Origin::Poll {
                let reason = match self.contacts.get(self.selected) {
                    Some(c) if !self.send_to_all => {
                        format!(
                            "not connected to RV at {} ({})",
                            c.address,
                            c.state_text(self.now)
                        )
                    }
                    _ => "no RV is connected".into(),
                };
                let kept = if origin == Origin::Raw {
                    "; your text is kept"
                } else {
                    ""
                };
                self.log(
                    LineKind::Error,
                    String::new(),
                    format!("{reason}: nothing was sent{kept}"),
                );
            }
            return Vec::new();
        }
        let kind = if rsvp { "RETURNEVENT" } else { "EVENT" };
        let mut commands = Vec::new();
        for contact in targets {
            let request = self.next_request;
            self.next_request += 1;
            if origin != Origin::Poll {
                let from = self.contact_label(contact);
                self.log(
                    LineKind::Sent,
                    from,
                    format!(
                        "→ {kind} {} {} {}",
                        event.name,
                        event.target,
                        one_line(&event.contents)
                    ),
                );
            } else {
                self.poll_in_flight = Some(request);
            }
            self.pending.insert(
                request,
                Pending {
                    contact,
                    code: event.contents.clone(),
                    origin,
                },
            );
            commands.push(Command::Send {
                request,
                contact,
                event: event.clone(),
                rsvp,
            });
        }
        commands
    }

    pub(super) fn on_tick(&mut self) -> Vec<Command> {
        // A fade step changes the values shown, whether or not it can be
        // sent now (olad away, a send in flight).
        self.dirty |= self.dmx.console.fade().is_some();
        let dmx = self.dmx.on_tick(self.now);
        let mut commands = self.dmx_out(dmx);
        if let Some(link) = &mut self.cue {
            let out = link.tick(self.now);
            commands.extend(self.cue_out(out));
        }
        if self.counting_down() {
            self.dirty = true;
        }
        if !self.polling() || self.poll_in_flight.is_some() {
            return commands;
        }
        commands.extend(self.send(Origin::Poll, Event::new("remote-eval", mu::POLL), true));
        commands
    }
}
