//! The pure cue engine: `(state, event, time) -> DMX frames to send`. No
//! sockets, no tasks, no clock: the caller passes the time (a
//! [`Duration`] since it started) and sends what [`Engine::tick`] returns.
//!
//! # State
//!
//! Each universe a show touches has one held state of 512 slots
//! ([`Engine::set_held`] seeds it with what olad holds at the start, so
//! channels no scene lists keep their values). Each slot is either steady or
//! fading; a fade goes linearly from the slot's value when the fade started
//! (possibly mid-fade: a new cue takes over from where the old fade is) to
//! the scene's value, and its last frame is exactly the scene's value. The
//! latest cue on a channel wins.
//!
//! # Driving it
//!
//! ```text
//! engine.on_event(&event, now)   -> the cues that fired (fades start)
//! engine.rv_lost(now)            -> the failsafe, if the show has one
//! engine.next_due()              -> when to call tick next (None: idle)
//! engine.tick(now)               -> one frame per universe that changes
//! ```
//!
//! While anything fades, [`Engine::next_due`] asks for a frame every
//! [`FRAME_INTERVAL`] (50 per second), and exactly at the end of each fade.

use crate::cue::show::{FRAME_CHANGED, Show, Trigger};
use crate::ola::client::MAX_SLOTS;
use crate::rv::events::RvEvent;
use std::time::Duration;

/// The time between two frames of a fade (50 frames per second).
pub const FRAME_INTERVAL: Duration = Duration::from_millis(20);

/// A cue (or the failsafe, or a scene fired by hand) that started a fade.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fired {
    /// Index of the cue in the show; `None` for the failsafe or a scene
    /// fired by hand.
    pub cue: Option<usize>,
    /// What fired it: the RV event's name, `failsafe` or `fire`.
    pub trigger: String,
    /// The scene faded in.
    pub scene: String,
    /// Its universe.
    pub universe: u32,
    /// The fade's length.
    pub fade: Duration,
}

/// One frame to send to a universe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DmxOut {
    /// The universe.
    pub universe: u32,
    /// All 512 slots.
    pub data: Vec<u8>,
    /// The channels (1..=512) whose value differs from the frame before,
    /// with their new values.
    pub changed: Vec<(u16, u8)>,
}

/// A fade of one slot.
#[derive(Debug, Clone, Copy)]
struct Fade {
    from: f32,
    to: u8,
    start: Duration,
    len: Duration,
}

impl Fade {
    /// Progress at `now`, 0.0..=1.0.
    fn progress(&self, now: Duration) -> f32 {
        if self.len.is_zero() {
            return 1.0;
        }
        let done = now.saturating_sub(self.start).as_secs_f64() / self.len.as_secs_f64();
        done.min(1.0) as f32
    }

    fn value(&self, now: Duration) -> f32 {
        let p = self.progress(now);
        if p >= 1.0 {
            f32::from(self.to)
        } else {
            self.from + (f32::from(self.to) - self.from) * p
        }
    }

    fn end(&self) -> Duration {
        self.start + self.len
    }
}

/// One universe's held state.
#[derive(Debug, Clone)]
struct Universe {
    universe: u32,
    /// The values of the last frame (or the seed).
    sent: Vec<u8>,
    /// The running fade of each slot.
    fades: Vec<Option<Fade>>,
    /// A fade started since the last frame.
    dirty: bool,
}

impl Universe {
    fn current(&self, slot: usize, now: Duration) -> f32 {
        match self.fades[slot] {
            Some(fade) => fade.value(now),
            None => f32::from(self.sent[slot]),
        }
    }

    fn fading(&self) -> bool {
        self.fades.iter().any(Option::is_some)
    }
}

/// The engine: a show and the held state of its universes.
#[derive(Debug, Clone)]
pub struct Engine {
    show: Show,
    universes: Vec<Universe>,
    /// The frame of the last `frame-changed`; `None` at the start and after
    /// RV was lost (the next frame counts as entering from outside).
    frame: Option<i64>,
    last_tick: Duration,
}

impl Engine {
    /// An engine for `show`, every universe held at zeros until
    /// [`Engine::set_held`].
    pub fn new(show: Show) -> Engine {
        let universes = show
            .universes()
            .into_iter()
            .map(|universe| Universe {
                universe,
                sent: vec![0; MAX_SLOTS],
                fades: vec![None; MAX_SLOTS],
                dirty: false,
            })
            .collect();
        Engine {
            show,
            universes,
            frame: None,
            last_tick: Duration::ZERO,
        }
    }

    /// The show.
    pub fn show(&self) -> &Show {
        &self.show
    }

    /// Seeds `universe`'s held state with `data` (what olad holds; shorter
    /// than 512 means zeros after it). Slots that are fading keep fading.
    pub fn set_held(&mut self, universe: u32, data: &[u8]) {
        if let Some(u) = self.universe_mut(universe) {
            for (slot, value) in u.sent.iter_mut().enumerate() {
                if u.fades[slot].is_none() {
                    *value = data.get(slot).copied().unwrap_or(0);
                }
            }
        }
    }

    /// `universe`'s held state: the values of its last frame.
    pub fn held(&self, universe: u32) -> Option<&[u8]> {
        self.universes
            .iter()
            .find(|u| u.universe == universe)
            .map(|u| u.sent.as_slice())
    }

    /// Every universe's held state, as frames to send again (after olad
    /// came back).
    pub fn all_held(&self) -> Vec<DmxOut> {
        self.universes
            .iter()
            .map(|u| DmxOut {
                universe: u.universe,
                data: u.sent.clone(),
                changed: Vec::new(),
            })
            .collect()
    }

    fn universe_mut(&mut self, universe: u32) -> Option<&mut Universe> {
        self.universes.iter_mut().find(|u| u.universe == universe)
    }

    /// Applies RV's `event` at `now`: every cue it fires starts its fade, in
    /// file order (so a later cue wins a channel both list). Returns the
    /// cues fired.
    pub fn on_event(&mut self, event: &RvEvent, now: Duration) -> Vec<Fired> {
        let entered = |first: i64, last: i64, frame: Option<i64>, before: Option<i64>| {
            let inside = |f: Option<i64>| f.is_some_and(|f| (first..=last).contains(&f));
            inside(frame) && !inside(before)
        };
        let frame = (event.name == FRAME_CHANGED)
            .then_some(event.frame)
            .flatten();
        let fired: Vec<usize> = self
            .show
            .cues
            .iter()
            .enumerate()
            .filter(|(_, cue)| match &cue.trigger {
                Trigger::Event { name, contents } => {
                    *name == event.name
                        && contents
                            .as_ref()
                            .is_none_or(|r| r.is_match(&event.contents))
                }
                Trigger::Frames { first, last } => {
                    frame.is_some() && entered(*first, *last, frame, self.frame)
                }
            })
            .map(|(i, _)| i)
            .collect();
        if frame.is_some() {
            self.frame = frame;
        }
        fired
            .into_iter()
            .map(|i| {
                let cue = &self.show.cues[i];
                let (scene, fade) = (cue.scene, cue.fade);
                let mut fired = self.start(scene, fade, now, &event.name);
                fired.cue = Some(i);
                fired
            })
            .collect()
    }

    /// The connection to RV was lost at `now`: the failsafe fades in (if the
    /// show has one), and the next frame RV reports counts as entering from
    /// outside every range.
    pub fn rv_lost(&mut self, now: Duration) -> Option<Fired> {
        self.frame = None;
        let failsafe = self.show.failsafe?;
        Some(self.start(failsafe.scene, failsafe.fade, now, "failsafe"))
    }

    /// Fades scene number `scene` of the show in over `fade` from `now`, as
    /// a cue would (`rvshell cue fire`). `None` if there is no such scene.
    pub fn fire(&mut self, scene: usize, fade: Duration, now: Duration) -> Option<Fired> {
        (scene < self.show.scenes.len()).then(|| self.start(scene, fade, now, "fire"))
    }

    fn start(&mut self, scene: usize, fade: Duration, now: Duration, trigger: &str) -> Fired {
        let scene = self.show.scenes[scene].clone();
        if let Some(u) = self.universe_mut(scene.universe) {
            for &(channel, to) in &scene.channels {
                let slot = usize::from(channel) - 1;
                let from = u.current(slot, now);
                u.fades[slot] = Some(Fade {
                    from,
                    to,
                    start: now,
                    len: fade,
                });
            }
            u.dirty = true;
        }
        Fired {
            cue: None,
            trigger: trigger.to_owned(),
            scene: scene.name,
            universe: scene.universe,
            fade,
        }
    }

    /// When [`Engine::tick`] should next be called: at once after a cue
    /// fired (`Some(ZERO)`), every [`FRAME_INTERVAL`] while a fade runs, and
    /// exactly when a fade ends; `None` when nothing changes.
    pub fn next_due(&self) -> Option<Duration> {
        if self.universes.iter().any(|u| u.dirty) {
            return Some(Duration::ZERO);
        }
        let mut due: Option<Duration> = None;
        for u in &self.universes {
            for fade in u.fades.iter().flatten() {
                let at = (self.last_tick + FRAME_INTERVAL).min(fade.end());
                due = Some(due.map_or(at, |d| d.min(at)));
            }
        }
        due
    }

    /// The frames to send at `now`: one for each universe where a cue fired
    /// since the last tick or a fade runs. A fade that ends by `now` gives
    /// exactly the scene's values and stops.
    pub fn tick(&mut self, now: Duration) -> Vec<DmxOut> {
        self.last_tick = now;
        let mut out = Vec::new();
        for u in &mut self.universes {
            if !u.dirty && !u.fading() {
                continue;
            }
            u.dirty = false;
            let mut changed = Vec::new();
            for slot in 0..MAX_SLOTS {
                let Some(fade) = u.fades[slot] else {
                    continue;
                };
                let value = if fade.progress(now) >= 1.0 {
                    u.fades[slot] = None;
                    fade.to
                } else {
                    // 0.0..=255.0: between two u8 values.
                    fade.value(now).round().clamp(0.0, 255.0) as u8
                };
                if u.sent[slot] != value {
                    u.sent[slot] = value;
                    // slot < 512, so slot + 1 fits in u16.
                    changed.push((slot as u16 + 1, value));
                }
            }
            out.push(DmxOut {
                universe: u.universe,
                data: u.sent.clone(),
                changed,
            });
        }
        out
    }
}
