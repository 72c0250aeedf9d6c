//! What the network tasks report: connection states, client events, the
//! RETURN of each request (matched to the line that sent it).

use super::*;

impl App {
    pub(super) fn on_net(&mut self, net: NetEvent) -> Vec<Command> {
        match net {
            NetEvent::State { contact, state } => self.on_state(contact, state),
            NetEvent::Client { contact, event } => return self.on_client(contact, event),
            NetEvent::Reply { request, result } => self.on_reply(request, result),
            NetEvent::ShowSaved(result) => match result {
                Ok(path) => self.log(
                    LineKind::Info,
                    "cue".into(),
                    format!("stored into {}", path.display()),
                ),
                Err(err) => self.log(
                    LineKind::Error,
                    "cue".into(),
                    format!("the show file was not written: {err}"),
                ),
            },
            NetEvent::Dmx(dmx_tab::DmxEvent::CueSent { universe, result }) => {
                if let Some(link) = &mut self.cue {
                    let out = link.on_sent(universe, result);
                    return self.cue_out(out);
                }
            }
            NetEvent::Dmx(dmx_tab::DmxEvent::Held { universe, result }) => {
                // What olad holds, read for the link: the console shows it
                // too, so neither undoes the other's channels.
                if let Ok(data) = &result
                    && universe == self.dmx.console.universe()
                {
                    let all: Vec<(u16, u8)> = (1..).zip(data.iter().copied()).collect();
                    self.dmx.console.adopt(&all);
                    self.dmx.console.set_readback(data);
                }
                if let Some(link) = &mut self.cue {
                    let out = link.on_held(universe, result, self.now);
                    return self.cue_out(out);
                }
            }
            NetEvent::Dmx(event) => {
                let olad_back = matches!(
                    event,
                    dmx_tab::DmxEvent::State(dmx_tab::OladState::Connected)
                        | dmx_tab::DmxEvent::Reconnected { .. }
                );
                let mut cue = Vec::new();
                if olad_back && let Some(link) = &mut self.cue {
                    let out = link.on_olad_connected();
                    cue = self.cue_out(out);
                }
                // olad's pushes come as often as its sources send: one is
                // drawn only if it shows (on the DMX tab) and changed.
                self.dirty |= match &event {
                    dmx_tab::DmxEvent::Readback { universe, data } => {
                        self.tab == Tab::Dmx
                            && *universe == self.dmx.console.universe()
                            && self.dmx.console.readback()
                                != Some(&data[..data.len().min(dmx_console::SLOTS)])
                    }
                    _ => true,
                };
                let commands = self.dmx.on_event(event, self.now);
                let mut out = self.dmx_out(commands);
                out.extend(cue);
                return out;
            }
            NetEvent::Sent { request, result } => {
                if let Some(pending) = self.pending.remove(&request)
                    && let Err(err) = result
                {
                    let from = self.contact_label(pending.contact);
                    self.log_failure(from, &pending.code, err);
                }
            }
            NetEvent::Pixels(event) => return self.on_pixels_event(event),
        }
        Vec::new()
    }

    pub(super) fn log_failure(&mut self, from: String, code: &str, err: String) {
        self.feedback.push(Line {
            time: self.clock.clone(),
            kind: LineKind::Error,
            from,
            text: err,
            request: Some(one_line(code)),
        });
        self.dirty = true;
    }

    /// Tracks a connection's state for the contact list and the countdown.
    /// What went wrong is logged from [`ClientEvent::Disconnected`] alone:
    /// the two arrive in either order.
    pub(super) fn on_state(&mut self, contact: usize, state: ConnState) {
        let Some(view) = self.contacts.get_mut(contact) else {
            return;
        };
        if view.state == state {
            return;
        }
        if matches!(state, ConnState::Connected { .. }) {
            view.last_failure = None;
        }
        view.retry_at = match &state {
            ConnState::Retrying { delay, .. } => Some(self.now + *delay),
            _ => None,
        };
        view.state = state;
        self.dirty = true;
    }

    pub(super) fn on_client(&mut self, contact: usize, event: ClientEvent) -> Vec<Command> {
        let from = self.contact_label(contact);
        let mut cue_commands = Vec::new();
        match event {
            // The state itself comes from NetEvent::State (the watch channel
            // is always current; this event may be queued behind a later loss).
            ClientEvent::Connected { peer, app } => {
                if let Some(view) = self.contacts.get_mut(contact) {
                    view.was_connected = true;
                    view.last_failure = None;
                }
                let from = self
                    .contacts
                    .get(contact)
                    .map(|c| format!("{peer}@{}", c.address))
                    .unwrap_or_default();
                self.log(
                    LineKind::Connection,
                    from,
                    format!("Connected to {peer} ({app})"),
                );
            }
            ClientEvent::Disconnected { reason, retry_in } => {
                let Some(view) = self.contacts.get_mut(contact) else {
                    return Vec::new();
                };
                view.live.mode = LiveMode::Waiting;
                let was_connected = std::mem::take(&mut view.was_connected);
                // The link's RV is gone: the show's failsafe.
                if was_connected
                    && let Some(link) = &mut self.cue
                    && link.follows(contact)
                {
                    let out = link.rv_lost(self.now);
                    cue_commands = self.cue_out(out);
                }
                let Some(view) = self.contacts.get_mut(contact) else {
                    return cue_commands;
                };
                // A refused RV is retried forever: log each cause once.
                if !was_connected && view.last_failure.as_ref() == Some(&reason) {
                    return Vec::new();
                }
                view.last_failure = Some(reason.clone());
                let retry = retry_in
                    .map(|d| format!("; retrying in {:.1} s", d.as_secs_f64()))
                    .unwrap_or_default();
                let text = if was_connected {
                    format!("No longer connected: {reason}{retry}")
                } else {
                    format!("{reason}{retry}")
                };
                self.log(LineKind::Connection, from, text);
                if self.contacts.iter().all(|c| !c.is_connected()) {
                    self.poll_in_flight = None;
                }
            }
            ClientEvent::RvEvent(event) => {
                if let Some(link) = &mut self.cue
                    && link.follows(contact)
                {
                    let out = link.on_event(&event, self.now);
                    cue_commands = self.cue_out(out);
                }
                self.on_rv_event(contact, event);
            }
            ClientEvent::Subscribed { events } => {
                if let Some(view) = self.contacts.get_mut(contact) {
                    view.live.mode = LiveMode::Live;
                }
                tracing::info!(events = %events.join(" "), "RV forwards its events");
                self.log(
                    LineKind::Connection,
                    from,
                    "Live: RV forwards its events (frame, play/stop, range, sources)",
                );
                return self.ask_state(contact);
            }
            ClientEvent::SubscribeFailed { reason } => {
                if let Some(view) = self.contacts.get_mut(contact) {
                    view.live.mode = LiveMode::Refused(reason.clone());
                }
                self.log(
                    LineKind::Error,
                    from,
                    format!(
                        "RV does not forward its events ({reason}); the frame shows what \
                         buttons return, and Watch (w) polls it while playing"
                    ),
                );
            }
            ClientEvent::Event(ev) => self.log(
                LineKind::Incoming,
                from,
                format!("EVENT {} {} {}", ev.name, ev.target, one_line(&ev.contents)),
            ),
            ClientEvent::ReturnEvent(ev) => self.log(
                LineKind::Incoming,
                from,
                format!(
                    "RETURNEVENT {} {} {}",
                    ev.name,
                    ev.target,
                    one_line(&ev.contents)
                ),
            ),
            ClientEvent::UnexpectedReturn(value) => self.log(
                LineKind::Incoming,
                from,
                format!(
                    "RETURN {} (no request was waiting for it)",
                    one_line(&value)
                ),
            ),
            ClientEvent::LateReturn { request, value } => {
                self.note_frame(&value);
                self.feedback.push(Line {
                    time: self.clock.clone(),
                    kind: LineKind::Incoming,
                    from,
                    text: format!(
                        "RETURN {} (late: the request had timed out)",
                        one_line(&value)
                    ),
                    request: Some(one_line(&request)),
                });
                self.dirty = true;
            }
            ClientEvent::OtherMessage(text) => self.log(LineKind::Incoming, from, one_line(&text)),
            ClientEvent::Data { header, payload } => self.log(
                LineKind::Incoming,
                from,
                format!("{header} ({} bytes)", payload.len()),
            ),
            ClientEvent::Ping => {}
            ClientEvent::PeerSignedOff => {
                self.log(LineKind::Connection, from, "RV signed off (DISCONNECT)")
            }
        }
        cue_commands
    }

    pub(super) fn on_reply(&mut self, request: RequestId, result: Result<String, String>) {
        let Some(pending) = self.pending.remove(&request) else {
            return;
        };
        if self.poll_in_flight == Some(request) {
            self.poll_in_flight = None;
        }
        let from = self.contact_label(pending.contact);
        match result {
            Ok(value) if pending.origin == Origin::State => {
                self.on_state_answer(pending.contact, &value);
            }
            Err(_) if pending.origin == Origin::State => {}
            Ok(value) => {
                let changed = self.note_frame(&value);
                if pending.origin == Origin::Poll {
                    self.dirty |= changed;
                    return;
                }
                self.feedback.push(Line {
                    time: self.clock.clone(),
                    kind: LineKind::Return,
                    from,
                    text: format!("RETURN {}", one_line(&value)),
                    request: Some(one_line(&pending.code)),
                });
                self.dirty = true;
            }
            Err(err) => self.log_failure(from, &pending.code, err),
        }
    }

    /// Takes the frame from a `"FRAME = N"` RETURN; true when it changed.
    pub(super) fn note_frame(&mut self, value: &str) -> bool {
        let Some(frame) = parse_frame(value) else {
            return false;
        };
        let changed = self.frame != Some(frame);
        self.frame = Some(frame);
        changed
    }

    /// One of RV's forwarded events: the selected RV's state changes at
    /// once (the runner draws once per wake-up, so a flood of frames is
    /// coalesced to the latest); the frame itself is not logged (RV sends
    /// one per frame played), the other events are.
    fn on_rv_event(&mut self, contact: usize, event: RvEvent) {
        let Some(view) = self.contacts.get_mut(contact) else {
            return;
        };
        let live = &mut view.live;
        if event.frame.is_some() && event.name != "new-in-point" && event.name != "new-out-point" {
            live.frame = event.frame;
        }
        match event.name.as_str() {
            "play-start" => live.playing = Some(true),
            "play-stop" => live.playing = Some(false),
            "new-in-point" => live.in_point = event.frame,
            "new-out-point" => live.out_point = event.frame,
            "fps-changed" => live.fps = event.contents.trim().parse().ok(),
            "after-graph-view-change" => live.view = Some(event.contents.clone()),
            "range-changed" => {
                let mut parts = event.contents.split_whitespace().map(str::parse::<i64>);
                if let (Some(Ok(start)), Some(Ok(end))) = (parts.next(), parts.next()) {
                    live.range = Some((start, end));
                }
            }
            _ => {}
        }
        if contact == self.selected {
            self.dirty = true;
        }
        if event.name != "frame-changed" {
            let from = self.contact_label(contact);
            self.log(
                LineKind::Incoming,
                from,
                format!("RV {} {}", event.name, one_line(&event.contents)),
            );
        }
    }

    /// Asks a newly subscribed RV for the state its events then keep current.
    fn ask_state(&mut self, contact: usize) -> Vec<Command> {
        let request = self.next_request;
        self.next_request += 1;
        let event = Event::new("remote-eval", events::STATE_QUERY);
        self.pending.insert(
            request,
            Pending {
                contact,
                code: event.contents.clone(),
                origin: Origin::State,
            },
        );
        vec![Command::Send {
            request,
            contact,
            event,
            rsvp: true,
        }]
    }

    /// The answer to [`App::ask_state`]; an RV that cannot answer it keeps
    /// what its events say.
    fn on_state_answer(&mut self, contact: usize, value: &str) {
        let Some(state) = events::parse_state(value) else {
            return;
        };
        let Some(view) = self.contacts.get_mut(contact) else {
            return;
        };
        let live = &mut view.live;
        live.frame = Some(state.frame);
        live.playing = Some(state.playing);
        live.fps = Some(state.fps);
        live.range = Some((state.start, state.end));
        live.in_point = Some(state.in_point);
        live.out_point = Some(state.out_point);
        live.view = Some(state.view).filter(|v| !v.is_empty());
        if contact == self.selected {
            self.dirty = true;
        }
    }
}
