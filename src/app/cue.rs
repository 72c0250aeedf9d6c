//! The cue link in the shell: a show file (`--show`) whose cues RV's events
//! fire, run by the same pure engine as `rvshell cue run`
//! ([`crate::cue::engine`]) on the connections the shell already holds: the
//! selected RV's forwarded events come in as `NetEvent`s, frames go out as
//! [`DmxCommand::SendCue`] through the OLA-DMX tab's olad connection.
//!
//! On the OLA-DMX tab, F1-F12 recall the show's scenes in file order (the
//! same fade engine, over the tab's fade time) and Shift+F stores the
//! console's values of a scene's channels back into the file, keeping its
//! comments and layout (`toml_edit`); `L` turns the link on and off. No I/O
//! here: writing the file is a [`super::Command::SaveShow`].

use super::dmx_tab::DmxCommand;
use crate::cue::engine::{DmxOut, Engine, Fired};
use crate::cue::show::Show;
use crate::rv::events::RvEvent;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

/// A loaded show and the link's state.
#[derive(Debug)]
pub struct CueLink {
    /// The show file.
    pub path: PathBuf,
    /// Its text as last read or written (the base of the next store).
    text: String,
    engine: Engine,
    /// Scene index for F1, F2, ... (the show's file order).
    order: Vec<usize>,
    /// Whether RV's events fire cues.
    pub on: bool,
    /// While on, the RV whose events fire the cues (the app's contact
    /// index, and its address): the one selected when the link was turned
    /// on, whichever is selected later.
    pub rv: Option<(usize, String)>,
    /// The last cue fired, as the tab shows it.
    pub last: Option<String>,
    /// The running fade: when it started and ends (on the app's clock).
    fade: Option<(Duration, Duration)>,
    /// Universes whose held state was read from olad.
    loaded: BTreeSet<u32>,
    /// A failed frame was reported; said once until one goes through.
    failing: bool,
    /// F-key recalls (scene index, fade) waiting for olad's values of
    /// their universe, so channels the scene does not list keep them.
    recalls: Vec<(usize, Duration)>,
}

/// What the link asks of the app after an update.
#[derive(Debug, Default, PartialEq)]
pub struct CueOut {
    pub commands: Vec<DmxCommand>,
    /// Lines for the feedback pane (error, text).
    pub lines: Vec<(bool, String)>,
    /// Frames that were sent, so the console can show a universe it has.
    pub frames: Vec<DmxOut>,
}

/// The scene tables' names in the order the file lists them.
fn file_order(text: &str) -> Vec<String> {
    let Ok(doc) = text.parse::<toml_edit::DocumentMut>() else {
        return Vec::new();
    };
    doc.get("scenes")
        .and_then(|s| s.as_table_like())
        .map(|t| t.iter().map(|(k, _)| k.to_owned()).collect())
        .unwrap_or_default()
}

/// `values` in the syntax of `rvshell dmx set`, runs of one value on
/// consecutive channels as `A-B=V`: `1-4=255,7=0`.
pub fn values_text(channels: &[(u16, u8)]) -> String {
    let mut parts = Vec::new();
    let mut i = 0;
    while i < channels.len() {
        let (first, value) = channels[i];
        let mut last = first;
        while i + 1 < channels.len() && channels[i + 1] == (last + 1, value) {
            last += 1;
            i += 1;
        }
        parts.push(if first == last {
            format!("{first}={value}")
        } else {
            format!("{first}-{last}={value}")
        });
        i += 1;
    }
    parts.join(",")
}

fn describe(fired: &Fired) -> String {
    format!(
        "{} -> {} (fade {:.1} s)",
        fired.trigger,
        fired.scene,
        fired.fade.as_secs_f64()
    )
}

impl CueLink {
    /// A link for `show`, parsed from `text` (read from `path`); off until
    /// turned on.
    pub fn new(path: PathBuf, text: String, show: Show) -> CueLink {
        let names = file_order(&text);
        let mut order: Vec<usize> = names.iter().filter_map(|n| show.scene(n)).collect();
        // Any scene the document walk missed still gets a key, after.
        for i in 0..show.scenes.len() {
            if !order.contains(&i) {
                order.push(i);
            }
        }
        CueLink {
            path,
            text,
            engine: Engine::new(show),
            order,
            on: false,
            rv: None,
            last: None,
            fade: None,
            loaded: BTreeSet::new(),
            failing: false,
            recalls: Vec::new(),
        }
    }

    /// The show.
    pub fn show(&self) -> &Show {
        self.engine.show()
    }

    /// The scene name of F-key `n` (0 = F1), if the show has that many.
    pub fn scene_of_key(&self, n: usize) -> Option<&str> {
        let index = *self.order.get(n)?;
        Some(self.engine.show().scenes.get(index)?.name.as_str())
    }

    /// 0.0..=1.0 of the running fade at `now`, if one runs.
    pub fn progress(&self, now: Duration) -> Option<f32> {
        let (start, end) = self.fade?;
        if now >= end || end <= start {
            return None;
        }
        Some(((now - start).as_secs_f64() / (end - start).as_secs_f64()) as f32)
    }

    /// Turns the link on, following `rv` (the app's contact index and its
    /// address), or off. On: read every universe of the show from olad
    /// first (channels no scene lists keep what they had).
    pub fn toggle(&mut self, olad_connected: bool, rv: Option<(usize, String)>) -> CueOut {
        self.on = !self.on;
        self.rv = if self.on { rv } else { None };
        let mut out = CueOut::default();
        let state = if self.on { "on" } else { "off" };
        let following = match &self.rv {
            Some((_, address)) => format!("; RV {address} fires the cues"),
            None => String::new(),
        };
        out.lines.push((
            false,
            format!(
                "Cue link {state}: {} ({}){following}",
                self.path.display(),
                self.engine.show().summary()
            ),
        ));
        if self.on && olad_connected {
            out.commands = self.load_commands();
        }
        out
    }

    fn load_commands(&mut self) -> Vec<DmxCommand> {
        self.engine
            .show()
            .universes()
            .into_iter()
            .filter(|u| !self.loaded.contains(u))
            .map(DmxCommand::LoadHeld)
            .collect()
    }

    /// olad's values of a universe, for the held state; F-key recalls
    /// that waited for them fire now.
    pub fn on_held(
        &mut self,
        universe: u32,
        result: Result<Vec<u8>, String>,
        now: Duration,
    ) -> CueOut {
        let mut out = CueOut::default();
        let ok = result.is_ok();
        match result {
            Ok(data) => {
                self.engine.set_held(universe, &data);
                self.loaded.insert(universe);
            }
            Err(err) => out.lines.push((
                true,
                format!("cue link: cannot read universe {universe} from olad: {err}"),
            )),
        }
        let (waiting, others): (Vec<_>, Vec<_>) = std::mem::take(&mut self.recalls)
            .into_iter()
            .partition(|&(scene, _)| self.engine.show().scenes[scene].universe == universe);
        self.recalls = others;
        if ok {
            let fired = waiting
                .into_iter()
                .filter_map(|(scene, fade)| self.engine.fire(scene, fade, now))
                .collect();
            let started = self.started(fired, now);
            out.lines.extend(started.lines);
            out.commands.extend(started.commands);
        } else if !waiting.is_empty() {
            out.lines.push((
                true,
                format!(
                    "cue link: {} scene recall{} on universe {universe} not done",
                    waiting.len(),
                    if waiting.len() == 1 { "" } else { "s" }
                ),
            ));
        }
        out
    }

    /// The console sent `data` to `universe`: the held state takes it, so
    /// the next cue or scene keeps the channels it does not list as the
    /// console left them.
    pub fn console_sent(&mut self, universe: u32, data: &[u8]) {
        self.engine.set_held(universe, data);
    }

    /// olad is (back) connected: read what is missing, and send the held
    /// state again, so a finished fade's last frame is not lost.
    pub fn on_olad_connected(&mut self) -> CueOut {
        let mut out = CueOut::default();
        if !self.on {
            return out;
        }
        out.commands = self.load_commands();
        for frame in self.engine.all_held() {
            out.commands.push(self.send(&frame));
        }
        out
    }

    fn send(&self, frame: &DmxOut) -> DmxCommand {
        DmxCommand::SendCue {
            universe: frame.universe,
            data: frame.data.clone(),
            priority: self.engine.show().priority,
        }
    }

    /// The outcome of a frame.
    pub fn on_sent(&mut self, universe: u32, result: Result<(), String>) -> CueOut {
        let mut out = CueOut::default();
        match result {
            Ok(()) => self.failing = false,
            Err(err) if !self.failing => {
                self.failing = true;
                out.lines.push((
                    true,
                    format!(
                        "cue link: a frame for universe {universe} was not sent ({err}); \
                         the link keeps its values and sends them again when olad is back"
                    ),
                ));
            }
            Err(_) => {}
        }
        out
    }

    fn started(&mut self, fired: Vec<Fired>, now: Duration) -> CueOut {
        let mut out = CueOut::default();
        for f in &fired {
            let text = describe(f);
            out.lines.push((false, format!("cue: {text}")));
            self.last = Some(text);
            self.fade = Some((now, now + f.fade));
        }
        out
    }

    /// Whether the events of the app's contact `contact` fire the cues.
    pub fn follows(&self, contact: usize) -> bool {
        self.on && self.rv.as_ref().is_some_and(|(c, _)| *c == contact)
    }

    /// One of the followed RV's events.
    pub fn on_event(&mut self, event: &RvEvent, now: Duration) -> CueOut {
        if !self.on {
            return CueOut::default();
        }
        let fired = self.engine.on_event(event, now);
        self.started(fired, now)
    }

    /// The followed RV is gone: the failsafe.
    pub fn rv_lost(&mut self, now: Duration) -> CueOut {
        if !self.on {
            return CueOut::default();
        }
        let fired = self.engine.rv_lost(now).into_iter().collect();
        self.started(fired, now)
    }

    /// F-key `n`: fade to the show's scene over `fade`, link on or off.
    pub fn recall(&mut self, n: usize, fade: Duration, now: Duration) -> CueOut {
        let Some(&index) = self.order.get(n) else {
            return CueOut {
                lines: vec![(
                    true,
                    format!(
                        "the show has {} scenes: F{} recalls none",
                        self.order.len(),
                        n + 1
                    ),
                )],
                ..CueOut::default()
            };
        };
        // Channels the scene does not list keep what olad holds: read it
        // first unless the link already follows this universe.
        let universe = self.engine.show().scenes[index].universe;
        if !self.loaded.contains(&universe) {
            let first = !self
                .recalls
                .iter()
                .any(|&(scene, _)| self.engine.show().scenes[scene].universe == universe);
            self.recalls.push((index, fade));
            return CueOut {
                commands: if first {
                    vec![DmxCommand::LoadHeld(universe)]
                } else {
                    Vec::new()
                },
                ..CueOut::default()
            };
        }
        let fired = self.engine.fire(index, fade, now).into_iter().collect();
        self.started(fired, now)
    }

    /// When the next frame is due, if a fade runs.
    pub fn next_due(&self) -> Option<Duration> {
        self.engine.next_due()
    }

    /// Advances fades to `now`: the frames to send.
    pub fn tick(&mut self, now: Duration) -> CueOut {
        let frames = self.engine.tick(now);
        let mut out = CueOut::default();
        for frame in &frames {
            out.commands.push(self.send(frame));
        }
        if self.progress(now).is_none() {
            self.fade = None;
        }
        out.frames = frames;
        out
    }

    /// Shift+F `n`: the scene of F-key `n` takes the console's values of
    /// its channels (`values`: the console's 512 slots on `universe`). The
    /// file's text with the scene's `values` replaced, comments and layout
    /// kept; the engine takes the new scene at once.
    pub fn store(&mut self, n: usize, universe: u32, values: &[u8]) -> Result<String, String> {
        let name = self
            .scene_of_key(n)
            .ok_or_else(|| {
                format!(
                    "the show has {} scenes: F{} has none to store into",
                    self.order.len(),
                    n + 1
                )
            })?
            .to_owned();
        let show = self.engine.show();
        let index = show.scene(&name).ok_or("the scene went away")?;
        let scene = &show.scenes[index];
        if scene.universe != universe {
            return Err(format!(
                "scene {name} is on universe {}; the console shows {universe} (U switches)",
                scene.universe
            ));
        }
        let channels: Vec<(u16, u8)> = scene
            .channels
            .iter()
            .map(|&(c, _)| (c, values.get(usize::from(c) - 1).copied().unwrap_or(0)))
            .collect();
        let mut doc = self
            .text
            .parse::<toml_edit::DocumentMut>()
            .map_err(|err| format!("{} no longer parses: {err}", self.path.display()))?;
        let table = doc
            .get_mut("scenes")
            .and_then(|s| s.get_mut(&name))
            .and_then(|t| t.as_table_like_mut())
            .ok_or_else(|| format!("scene {name} is not a table in {}", self.path.display()))?;
        let old = table.get("values").and_then(|v| v.as_value()).cloned();
        let mut value = toml_edit::Value::from(values_text(&channels));
        // Keep the comments and spacing around the old value.
        if let Some(old) = old {
            *value.decor_mut() = old.decor().clone();
        }
        table.insert("values", toml_edit::Item::Value(value));
        let text = doc.to_string();
        let show = Show::parse(&text, &self.path.display().to_string())
            .map_err(|err| format!("the stored show does not check: {err}"))?;
        let held: Vec<DmxOut> = self.engine.all_held();
        let (on, rv) = (self.on, self.rv.take());
        *self = CueLink::new(self.path.clone(), text.clone(), show);
        (self.on, self.rv) = (on, rv);
        for frame in held {
            self.engine.set_held(frame.universe, &frame.data);
            self.loaded.insert(frame.universe);
        }
        Ok(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_written_in_runs() {
        assert_eq!(
            values_text(&[(1, 255), (2, 255), (3, 255), (4, 255)]),
            "1-4=255"
        );
        assert_eq!(values_text(&[(1, 5), (2, 6), (4, 6)]), "1=5,2=6,4=6");
        assert_eq!(values_text(&[]), "");
    }

    #[test]
    fn f_keys_follow_the_files_order_not_the_names() {
        let text = "[scenes.zebra]\nuniverse = 1\nvalues = \"1=1\"\n\n[scenes.apple]\nuniverse = 1\nvalues = \"2=2\"\n";
        let show = Show::parse(text, "t.toml").unwrap();
        let link = CueLink::new("t.toml".into(), text.into(), show);
        assert_eq!(link.scene_of_key(0), Some("zebra"));
        assert_eq!(link.scene_of_key(1), Some("apple"));
        assert_eq!(link.scene_of_key(2), None);
    }
}
