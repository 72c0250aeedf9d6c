//! The cue link: runs the [`Engine`] on RV's events and sends its frames to
//! olad, on clients it is given (so the interactive shell can run it on the
//! connections it already holds). It prints nothing: everything that
//! happens is reported as a [`LinkEvent`] on a channel.
//!
//! What [`Link::run`] does, in order:
//!
//! ```text
//! olad  GetDmx per universe            the held state (channels no scene lists keep theirs)
//! RV    subscribe(show.events())       handlers installed (again after every reconnect)
//!       -> LinkEvent::Armed
//! loop  RV event  -> cues fire         -> LinkEvent::Fired, fades start
//!       timer     -> engine.tick       -> UpdateDmxData per frame -> LinkEvent::Frame
//!       RV lost   -> failsafe fades in -> LinkEvent::RvLost, LinkEvent::Failsafe
//!       RV back   (the client re-subscribes by itself) -> LinkEvent::RvBack
//!       olad lost -> values kept       -> LinkEvent::OladLost
//!       olad back -> held state sent again -> LinkEvent::OladBack
//! ```
//!
//! Frames go out with `UpdateDmxData` (acknowledged), one at a time, from a
//! task of their own ([`outbox`]): a hung olad holds up the frames, never
//! the cues; frames that queue up behind it are coalesced to the newest per
//! universe, so the state olad ends up with is always the engine's. While
//! olad is away they fail at once; the engine keeps the state, and
//! everything is sent again once the olad client reports it reconnected
//! (the client itself also re-sends the last frame it was given).

use crate::cue::engine::{DmxOut, Engine, Fired};
use crate::cue::show::Show;
use crate::ola::client::{self as ola, OlaClient, OlaError};
use crate::ola::outbox;
use crate::rv::client::{self as rv, RvClient, SubscribeError};
use std::time::{Duration, SystemTime};
use tokio::sync::{broadcast, mpsc};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// What the link reports, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkEvent {
    /// The held state is read and RV forwards the cues' events.
    Armed {
        /// Number of cues.
        cues: usize,
        /// The universes the show touches.
        universes: Vec<u32>,
        /// The RV events subscribed to.
        events: Vec<String>,
    },
    /// A cue fired (or a scene was fired by hand).
    Fired {
        /// When (wall clock).
        at: SystemTime,
        /// What fired.
        fired: Fired,
    },
    /// The connection to RV was lost.
    RvLost {
        /// Why, in the client's words.
        reason: String,
    },
    /// The failsafe started to fade in.
    Failsafe {
        /// When (wall clock).
        at: SystemTime,
        /// The failsafe's scene and fade.
        fired: Fired,
    },
    /// RV is back and forwards the cues' events again.
    RvBack,
    /// The connection to olad was lost; frames are kept.
    OladLost {
        /// Why.
        reason: String,
    },
    /// olad is back; the held state was sent again.
    OladBack,
    /// A frame was sent to olad and acknowledged (or, without olad,
    /// would have been sent).
    Frame(DmxOut),
    /// A frame could not be sent (reported once until a frame goes out
    /// again).
    SendFailed {
        /// The universe.
        universe: u32,
        /// olad's or the client's words.
        error: String,
        /// olad itself refused the frame (rather than not being reachable).
        refused: bool,
    },
}

/// Why the link stopped or could not start.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// olad could not give a universe's current values.
    #[error("cannot read universe {universe} from olad: {source}")]
    ReadDmx {
        /// The universe.
        universe: u32,
        /// The client's error.
        source: OlaError,
    },
    /// RV would not forward its events.
    #[error(transparent)]
    Subscribe(#[from] SubscribeError),
    /// RV refused the event handlers after a reconnect.
    #[error("RV refused to forward its events: {0}")]
    Refused(String),
    /// The connection to RV ended for good (no reconnect configured, or the
    /// client was closed).
    #[error("the connection to RV ended: {0}")]
    RvEnded(String),
    /// The show has no scene of this name.
    #[error("the show has no scene {0:?}")]
    UnknownScene(String),
}

/// Options of [`Link::run`].
#[derive(Debug, Clone, Default)]
pub struct LinkOptions {
    /// Stop once this many cues fired and their fades are done.
    pub max_cues: Option<u64>,
}

/// Where the link's frames go: olad, through a sender task of their own,
/// or nowhere (a dry run reports them at once).
struct Output {
    ola: Option<OlaClient>,
    /// The sender task's queue (`None` in a dry run).
    queue: Option<mpsc::UnboundedSender<DmxOut>>,
    /// What the sender task did with each frame.
    done: mpsc::UnboundedReceiver<Sent>,
    /// Frames queued whose fate has not come back yet.
    outstanding: usize,
    reports: mpsc::UnboundedSender<LinkEvent>,
    /// A send failed and nothing went out since.
    failing: bool,
}

/// The sender task's word on a frame: it went to olad (standing for
/// `superseded` older queued frames), and olad's answer.
struct Sent {
    frame: DmxOut,
    superseded: usize,
    result: Result<(), OlaError>,
}

impl Output {
    fn new(
        ola: Option<OlaClient>,
        priority: u8,
        reports: mpsc::UnboundedSender<LinkEvent>,
    ) -> Output {
        let (done_tx, done) = mpsc::unbounded_channel();
        let queue = ola.clone().map(|ola| {
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(send_frames(ola, priority, rx, done_tx));
            tx
        });
        Output {
            ola,
            queue,
            done,
            outstanding: 0,
            reports,
            failing: false,
        }
    }

    fn report(&self, event: LinkEvent) {
        // Nobody listening is no reason to stop the show.
        let _ = self.reports.send(event);
    }

    /// Reads each universe's current values into the engine.
    async fn seed(&self, engine: &mut Engine) -> Result<(), LinkError> {
        let Some(ola) = &self.ola else {
            return Ok(());
        };
        for universe in engine.show().universes() {
            let data = ola
                .get_dmx(universe)
                .await
                .map_err(|source| LinkError::ReadDmx { universe, source })?;
            engine.set_held(universe, &data);
        }
        Ok(())
    }

    /// Queues `frames` for olad (a dry run reports them at once); never
    /// waits on olad.
    fn send(&mut self, frames: Vec<DmxOut>) {
        for frame in frames {
            match &self.queue {
                Some(queue) => match queue.send(frame) {
                    Ok(()) => self.outstanding += 1,
                    // Only if the sender task died: say so, never drop.
                    Err(lost) => self.report(LinkEvent::SendFailed {
                        universe: lost.0.universe,
                        error: "the frame sender stopped".into(),
                        refused: false,
                    }),
                },
                None => self.report(LinkEvent::Frame(frame)),
            }
        }
    }

    /// The sender task's next word, or never in a dry run or with nothing
    /// queued.
    async fn next_sent(&mut self) -> Sent {
        if self.outstanding == 0 {
            return std::future::pending().await;
        }
        match self.done.recv().await {
            Some(sent) => sent,
            // The task outlives every frame it was given.
            None => std::future::pending().await,
        }
    }

    /// Reports what became of a frame.
    fn on_sent(&mut self, sent: Sent) {
        let Sent {
            frame,
            superseded,
            result,
        } = sent;
        self.outstanding = self.outstanding.saturating_sub(1 + superseded);
        match result {
            Ok(()) => {
                self.failing = false;
                self.report(LinkEvent::Frame(frame));
            }
            Err(err) => {
                if !self.failing {
                    self.failing = true;
                    self.report(LinkEvent::SendFailed {
                        universe: frame.universe,
                        error: err.to_string(),
                        refused: err.is_refusal(),
                    });
                }
            }
        }
    }

    /// Waits until every queued frame was sent (or failed), reporting each.
    async fn drain(&mut self) {
        while self.outstanding > 0 {
            match self.done.recv().await {
                Some(sent) => self.on_sent(sent),
                None => break,
            }
        }
    }
}

/// Sends the queued frames to olad one at a time, each acknowledged, the
/// newest per universe when they queue up behind a slow olad
/// ([`outbox`]); a coalesced frame lists every channel any of the frames
/// it stands for changed.
async fn send_frames(
    ola: OlaClient,
    priority: u8,
    mut queue: mpsc::UnboundedReceiver<DmxOut>,
    done: mpsc::UnboundedSender<Sent>,
) {
    while let Some(batch) = outbox::next_batch(&mut queue, |f| f.universe, merge).await {
        // The batch's superseded frames are counted with its first frame:
        // the link needs only the total.
        let mut superseded = batch.superseded;
        for frame in batch.items {
            let result = ola
                .update_dmx(frame.universe, &frame.data, Some(priority))
                .await;
            let sent = Sent {
                frame,
                superseded: std::mem::take(&mut superseded),
                result,
            };
            if done.send(sent).is_err() {
                return;
            }
        }
    }
}

/// The cue link on an RV connection and (unless a dry run) an olad one.
pub struct Link {
    engine: Engine,
    rv: RvClient,
    output: Output,
}

impl Link {
    /// A link running `show` on `rv` and `ola` (`None`: a dry run, frames
    /// are only reported), reporting on `reports`. Give `rv` a reconnect
    /// policy ([`rv::Config::reconnect`]) and `ola` reconnecting
    /// ([`ola::ClientConfig::reconnect`]) for a show that survives either
    /// peer going away. `reports` is unbounded and gets a
    /// [`LinkEvent::Frame`] per frame (50 a second while fading): read it,
    /// or drop its receiver.
    pub fn new(
        show: Show,
        rv: RvClient,
        ola: Option<OlaClient>,
        reports: mpsc::UnboundedSender<LinkEvent>,
    ) -> Link {
        let output = Output::new(ola, show.priority, reports);
        Link {
            engine: Engine::new(show),
            rv,
            output,
        }
    }

    /// Runs the show on `events` (the RV client's event stream, or a copy of
    /// it) until `stop` is cancelled, [`LinkOptions::max_cues`] cues have
    /// fired and faded, or RV is gone for good. Subscribes `rv` to the
    /// events the cues need, replacing any earlier subscription of that
    /// client.
    pub async fn run(
        mut self,
        mut events: mpsc::UnboundedReceiver<rv::ClientEvent>,
        stop: CancellationToken,
        options: LinkOptions,
    ) -> Result<(), LinkError> {
        let start = Instant::now();
        self.output.seed(&mut self.engine).await?;
        let wanted = self.engine.show().events();
        let mut armed = false;
        // A show of a failsafe only needs no events (and an empty
        // subscription would never be confirmed).
        if wanted.is_empty() || self.rv.subscribe(&wanted).await? {
            self.arm(&wanted);
            armed = true;
        }
        let mut ola_events = self.output.ola.as_ref().map(OlaClient::events);
        let mut rv_up = true;
        let mut fired = 0u64;
        loop {
            if options.max_cues.is_some_and(|max| fired >= max) && self.engine.next_due().is_none()
            {
                self.output.drain().await;
                return Ok(());
            }
            let due = self.engine.next_due().map(|d| start + d);
            tokio::select! {
                _ = stop.cancelled() => {
                    self.output.drain().await;
                    return Ok(());
                }
                _ = sleep_until(due) => {}
                sent = self.output.next_sent() => self.output.on_sent(sent),
                event = events.recv() => match event {
                    None => return Err(LinkError::RvEnded("the client was closed".into())),
                    Some(rv::ClientEvent::RvEvent(event)) => {
                        let now = start.elapsed();
                        for cue in self.engine.on_event(&event, now) {
                            fired += 1;
                            self.output.report(LinkEvent::Fired { at: event.received, fired: cue });
                        }
                    }
                    Some(rv::ClientEvent::Disconnected { reason, retry_in }) => {
                        if rv_up {
                            rv_up = false;
                            self.output.report(LinkEvent::RvLost { reason: reason.clone() });
                            if let Some(cue) = self.engine.rv_lost(start.elapsed()) {
                                self.output.report(LinkEvent::Failsafe { at: SystemTime::now(), fired: cue });
                            }
                        }
                        if retry_in.is_none() {
                            // The failsafe still fades in before we go.
                            let frames = self.engine.tick(start.elapsed());
                            self.output.send(frames);
                            self.finish_fades(start).await;
                            self.output.drain().await;
                            return Err(LinkError::RvEnded(reason));
                        }
                    }
                    Some(rv::ClientEvent::Subscribed { .. }) => {
                        if !armed {
                            armed = true;
                            self.arm(&wanted);
                        } else if !rv_up {
                            self.output.report(LinkEvent::RvBack);
                        }
                        rv_up = true;
                    }
                    Some(rv::ClientEvent::SubscribeFailed { reason }) => {
                        return Err(LinkError::Refused(reason));
                    }
                    Some(_) => {}
                },
                event = ola_event(&mut ola_events) => match event {
                    Some(ola::ClientEvent::Disconnected { reason }) => {
                        self.output.report(LinkEvent::OladLost { reason });
                    }
                    Some(ola::ClientEvent::Reconnected { .. }) => {
                        let frames = self.engine.all_held();
                        self.output.failing = false;
                        self.output.send(frames);
                        self.output.report(LinkEvent::OladBack);
                    }
                    Some(_) => {}
                    None => ola_events = None,
                },
            }
            if let Some(due) = self.engine.next_due() {
                let now = start.elapsed();
                if due <= now {
                    let frames = self.engine.tick(now);
                    self.output.send(frames);
                }
            }
        }
    }

    fn arm(&self, events: &[String]) {
        self.output.report(LinkEvent::Armed {
            cues: self.engine.show().cues.len(),
            universes: self.engine.show().universes(),
            events: events.to_vec(),
        });
    }

    /// Runs the fades to their end, reporting what the sender does
    /// meanwhile.
    async fn finish_fades(&mut self, start: Instant) {
        finish_fades(&mut self.engine, &mut self.output, start).await;
    }
}

/// Makes `newer` stand for `older` too: its `changed` lists every channel
/// either changed, at `newer`'s values.
fn merge(newer: &mut DmxOut, older: DmxOut) {
    for (channel, _) in older.changed {
        if !newer.changed.iter().any(|(c, _)| *c == channel) {
            let value = newer.data[usize::from(channel) - 1];
            newer.changed.push((channel, value));
        }
    }
    newer.changed.sort_unstable_by_key(|(c, _)| *c);
}

/// Fades `scene` of `show` in over `fade` on `ola`, from the universe's
/// current values, with the same engine as the cues (`rvshell cue fire`);
/// returns once the last frame is acknowledged. Reports the firing, each
/// frame and any failure on `reports`.
pub async fn fire(
    show: Show,
    scene: &str,
    fade: Duration,
    ola: OlaClient,
    reports: mpsc::UnboundedSender<LinkEvent>,
) -> Result<(), LinkError> {
    let index = show
        .scene(scene)
        .ok_or_else(|| LinkError::UnknownScene(scene.to_owned()))?;
    let universe = show.scenes[index].universe;
    let priority = show.priority;
    let mut engine = Engine::new(show);
    let data = ola
        .get_dmx(universe)
        .await
        .map_err(|source| LinkError::ReadDmx { universe, source })?;
    engine.set_held(universe, &data);
    let mut output = Output::new(Some(ola), priority, reports);
    let start = Instant::now();
    if let Some(fired) = engine.fire(index, fade, Duration::ZERO) {
        output.report(LinkEvent::Fired {
            at: SystemTime::now(),
            fired,
        });
    }
    finish_fades(&mut engine, &mut output, start).await;
    output.drain().await;
    Ok(())
}

/// Ticks `engine` until its fades are over, queueing the frames on
/// `output` and reporting what became of them meanwhile.
async fn finish_fades(engine: &mut Engine, output: &mut Output, start: Instant) {
    while let Some(due) = engine.next_due() {
        tokio::select! {
            _ = sleep_until(Some(start + due)) => {
                let frames = engine.tick(start.elapsed());
                output.send(frames);
            }
            sent = output.next_sent() => output.on_sent(sent),
        }
    }
}

/// Sleeps until `due`, or forever when there is nothing to do.
async fn sleep_until(due: Option<Instant>) {
    match due {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// The next olad client event, or never without olad.
async fn ola_event(
    events: &mut Option<broadcast::Receiver<ola::ClientEvent>>,
) -> Option<ola::ClientEvent> {
    let Some(rx) = events else {
        return std::future::pending().await;
    };
    loop {
        match rx.recv().await {
            Ok(event) => return Some(event),
            Err(broadcast::error::RecvError::Lagged(_)) => continue,
            Err(broadcast::error::RecvError::Closed) => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_coalesced_frame_lists_what_either_frame_changed_at_the_newest_values() {
        let frame = |values: [u8; 3], changed: Vec<(u16, u8)>| {
            let mut data = vec![0; 512];
            data[..3].copy_from_slice(&values);
            DmxOut {
                universe: 1,
                data,
                changed,
            }
        };
        let older = frame([10, 20, 0], vec![(1, 10), (2, 20)]);
        let mut newer = frame([11, 20, 5], vec![(1, 11), (3, 5)]);
        merge(&mut newer, older);
        assert_eq!(newer.changed, [(1, 11), (2, 20), (3, 5)]);
        assert_eq!(newer.data[..3], [11, 20, 5]);
    }
}
