//! Scenes (F1-F12: store the current values, recall them) and the fade
//! towards a recalled scene, advanced by [`DmxConsole::tick`].

use super::*;

/// A fade towards a recalled scene, as the grid shows it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FadeView {
    /// The scene being faded in (0 = F1).
    pub scene: usize,
    /// The fade's length.
    pub duration: Duration,
    /// 0.0..=1.0, as of the last [`DmxConsole::tick`].
    pub progress: f32,
}

#[derive(Debug, Clone)]
pub(super) struct Fade {
    pub(super) scene: usize,
    pub(super) from: Box<Slots>,
    pub(super) to: Box<Slots>,
    pub(super) start: Instant,
    pub(super) duration: Duration,
    pub(super) progress: f32,
}

impl DmxConsole {
    /// Whether scene `scene` (0 = F1) holds values.
    pub fn scene_stored(&self, scene: usize) -> bool {
        matches!(self.scenes.get(scene), Some(Some(_)))
    }
    /// The scene recalled last (0 = F1), if any.
    pub fn last_scene(&self) -> Option<usize> {
        self.last_scene
    }
    /// The fade time used by [`DmxConsole::recall_scene`].
    pub fn fade_time(&self) -> Duration {
        self.fade_time
    }
    /// The running fade, if any.
    pub fn fade(&self) -> Option<FadeView> {
        self.fade.as_ref().map(|f| FadeView {
            scene: f.scene,
            duration: f.duration,
            progress: f.progress,
        })
    }

    /// Sets the fade time for scene recalls (0 = snap; at most [`MAX_FADE`]).
    pub fn set_fade_time(&mut self, fade: Duration) -> Result<(), ConsoleError> {
        if fade > MAX_FADE {
            return Err(self.refuse(ConsoleError::FadeTooLong(fade)));
        }
        self.refusal = None;
        self.fade_time = fade;
        Ok(())
    }

    /// Stores the current values in scene `scene` (0 = F1). A typed value is
    /// committed first; a running fade is not disturbed (the scene gets the
    /// values of the last tick).
    pub fn store_scene(&mut self, scene: usize) -> Result<Option<Frame>, ConsoleError> {
        if scene >= SCENES {
            return Err(self.refuse(ConsoleError::NoSuchScene(scene)));
        }
        let frame = self.commit_entry();
        self.refusal = None;
        self.scenes[scene] = Some(Box::new(self.values));
        Ok(frame)
    }

    /// Recalls scene `scene` (0 = F1) over the fade time, starting at `now`.
    ///
    /// With a zero fade time the scene's values apply at once (one undo step,
    /// always sent). Otherwise a fade starts from the current values: it is
    /// one undo step, and [`DmxConsole::tick`] produces its frames, ending
    /// exactly on the scene's values. Any value change during a fade (or a
    /// new recall, or undo) cancels it where it stands.
    pub fn recall_scene(
        &mut self,
        scene: usize,
        now: Instant,
    ) -> Result<Option<Frame>, ConsoleError> {
        let Some(slot) = self.scenes.get(scene) else {
            return Err(self.refuse(ConsoleError::NoSuchScene(scene)));
        };
        let Some(target) = slot.as_deref().copied() else {
            return Err(self.refuse(ConsoleError::EmptyScene(scene)));
        };
        let committed = self.commit_entry();
        self.last_scene = Some(scene);
        self.last_slot = None;
        if self.fade_time.is_zero() {
            return Ok(self.apply(target, true));
        }
        self.refusal = None;
        if target != self.values {
            if self.undo.len() == UNDO_DEPTH {
                self.undo.pop_front();
            }
            self.undo.push_back(Box::new(self.values));
        }
        self.fade = Some(Fade {
            scene,
            from: Box::new(self.values),
            to: Box::new(target),
            start: now,
            duration: self.fade_time,
            progress: 0.0,
        });
        Ok(committed)
    }

    /// Advances a running fade to `now`: the interpolated frame (linear per
    /// slot, rounded) when a value changed, `None` otherwise. At or after the
    /// fade's end the values are exactly the scene's and the fade is over.
    /// An instant before the fade's start counts as its start.
    pub fn tick(&mut self, now: Instant) -> Option<Frame> {
        let fade = self.fade.as_mut()?;
        let elapsed = now.saturating_duration_since(fade.start);
        let new = if elapsed >= fade.duration {
            let to = *fade.to;
            self.fade = None;
            to
        } else {
            let t = elapsed.as_secs_f64() / fade.duration.as_secs_f64();
            fade.progress = t as f32;
            let mut new = [0u8; SLOTS];
            for (out, (&a, &b)) in new.iter_mut().zip(fade.from.iter().zip(fade.to.iter())) {
                let v = f64::from(a) + (f64::from(b) - f64::from(a)) * t;
                // v lies between a and b, both 0..=255, so the cast is lossless.
                *out = v.round() as u8;
            }
            new
        };
        if new == self.values {
            return None;
        }
        self.values = new;
        self.generation += 1;
        Some(self.hand_out())
    }
}
