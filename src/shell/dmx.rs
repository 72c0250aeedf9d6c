//! The runner's olad side for the OLA-DMX tab: one connection task that
//! connects (and, while olad is not running, keeps trying with backoff),
//! then follows the client's own reconnects; and one task per
//! [`DmxCommand`], each posting its outcome back as a [`DmxEvent`]. The main
//! loop never awaits olad.
//!
//! `rvshell demo` starts a private olad ([`private_olad`]) when `olad` is
//! installed and points the tab at it.

use crate::app::dmx_console::Frame;
use crate::app::dmx_tab::{DmxCommand, DmxEvent, OladState, PortEntry, UniverseEntry};
use crate::ola::client::{ClientConfig, ClientEvent, OlaClient, OlaError, PortRef};
use crate::ola::daemon::{DaemonError, OladOptions, OladProcess};
use crate::ola::outbox;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;

/// First wait between attempts to reach an olad that is not running.
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
/// Longest wait between those attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// How long quitting waits for olad's close barrier.
const CLOSE_LIMIT: Duration = Duration::from_secs(2);

/// A universe's values from olad, or why not, for the console and the cue
/// link alike.
async fn get_dmx(client: &OlaClient, universe: u32) -> Result<Vec<u8>, String> {
    client
        .get_dmx(universe)
        .await
        .map(|data| data.to_vec())
        .map_err(|e| explain(&e, universe))
}

/// Sends the cue link's frames in the order they were made, one at a time
/// (each waits for olad's Ack, so a fade's frames cannot overtake each
/// other). Frames that queue up behind a slow olad are coalesced to the
/// newest per universe: the link's held state is what matters, and the
/// last frame of a fade is always sent.
async fn send_cues(
    client: watch::Receiver<Option<OlaClient>>,
    mut frames: tokio::sync::mpsc::UnboundedReceiver<(u32, Vec<u8>, u8)>,
    post: Post,
) {
    while let Some(batch) = outbox::next_batch(&mut frames, |(u, ..)| *u, |_, _| {}).await {
        for (universe, data, priority) in batch.items {
            let current = client.borrow().clone();
            let result = match current {
                Some(client) => client
                    .update_dmx(universe, &data, Some(priority))
                    .await
                    .map_err(|e| explain(&e, universe)),
                None => Err("olad is not connected".to_owned()),
            };
            post(DmxEvent::CueSent { universe, result });
        }
    }
}

/// Where the DMX tab's olad is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OladTarget {
    /// Connect to this address (and keep trying while nothing answers).
    Address(String),
    /// `rvshell demo` without OLA installed: no olad at all.
    NotInstalled,
}

/// How events reach the main loop.
pub type Post = Arc<dyn Fn(DmxEvent) + Send + Sync>;

/// The olad connection and the tasks running the tab's commands.
pub struct DmxRunner {
    client: watch::Receiver<Option<OlaClient>>,
    post: Post,
    conn: Option<JoinHandle<()>>,
    readback: Option<JoinHandle<()>>,
    /// The newest UpdateDmxData task (the app keeps at most one in flight),
    /// awaited on close so the final frame cannot overtake it.
    last_send: Option<JoinHandle<()>>,
    /// The cue link's frames, sent one after another by [`send_cues`].
    cues: Option<tokio::sync::mpsc::UnboundedSender<(u32, Vec<u8>, u8)>>,
}

impl DmxRunner {
    /// Starts connecting to `target`; `timeout` bounds each olad request.
    pub fn start(target: OladTarget, timeout: Duration, post: Post) -> Self {
        let (client_tx, client) = watch::channel(None);
        let conn = match target {
            OladTarget::NotInstalled => {
                post(DmxEvent::State(OladState::NotInstalled));
                None
            }
            OladTarget::Address(addr) => {
                let config = ClientConfig {
                    request_timeout: timeout,
                    ..ClientConfig::default()
                };
                Some(tokio::spawn(connection(
                    addr,
                    config,
                    client_tx,
                    post.clone(),
                )))
            }
        };
        Self {
            client,
            post,
            conn,
            readback: None,
            last_send: None,
            cues: None,
        }
    }

    /// Runs one command in a task; its outcome comes back as an event.
    pub fn execute(&mut self, command: DmxCommand) {
        let client = self.client.borrow().clone();
        let post = self.post.clone();
        let Some(client) = client else {
            // The app sends only while connected; a race with a loss lands here.
            post(command.failed("olad is not connected".to_owned()));
            return;
        };
        match command {
            DmxCommand::SendCue {
                universe,
                data,
                priority,
            } => {
                let cues = self.cues.get_or_insert_with(|| {
                    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
                    tokio::spawn(send_cues(self.client.clone(), rx, post.clone()));
                    tx
                });
                let _ = cues.send((universe, data, priority));
            }
            DmxCommand::LoadHeld(universe) => {
                tokio::spawn(async move {
                    let result = get_dmx(&client, universe).await;
                    post(DmxEvent::Held { universe, result });
                });
            }
            DmxCommand::Send(frame) => {
                self.last_send = Some(tokio::spawn(async move {
                    let result = client
                        .update_dmx(frame.universe, &frame.data, Some(frame.priority))
                        .await
                        .map_err(|e| explain(&e, frame.universe));
                    post(DmxEvent::Sent {
                        universe: frame.universe,
                        generation: frame.generation,
                        result,
                    });
                }));
            }
            DmxCommand::Load(universe) => {
                tokio::spawn(async move {
                    let result = get_dmx(&client, universe).await;
                    post(DmxEvent::Loaded { universe, result });
                });
            }
            DmxCommand::Register(universe) => {
                // Aborting the old task drops its subscription, which
                // unregisters the old universe with olad.
                if let Some(old) = self.readback.take() {
                    old.abort();
                }
                self.readback = Some(tokio::spawn(async move {
                    let mut sub = match client.register(universe).await {
                        Ok(sub) => {
                            post(DmxEvent::Registered {
                                universe,
                                result: Ok(()),
                            });
                            sub
                        }
                        Err(err) => {
                            post(DmxEvent::Registered {
                                universe,
                                result: Err(err.to_string()),
                            });
                            return;
                        }
                    };
                    // The subscription keeps only the latest frame: pushes
                    // that arrive while this task is behind become one event.
                    while let Some(frame) = sub.next().await {
                        post(DmxEvent::Readback {
                            universe,
                            data: frame.data.to_vec(),
                        });
                    }
                }));
            }
            DmxCommand::ListUniverses => {
                tokio::spawn(async move {
                    let result = client
                        .universes()
                        .await
                        .map(|list| {
                            list.into_iter()
                                .filter_map(|u| {
                                    Some(UniverseEntry {
                                        universe: u32::try_from(u.universe).ok()?,
                                        name: u.name,
                                        output_ports: u32::try_from(u.output_port_count)
                                            .unwrap_or(0),
                                    })
                                })
                                .collect()
                        })
                        .map_err(|e| e.to_string());
                    post(DmxEvent::Universes(result));
                });
            }
            DmxCommand::ListPorts => {
                tokio::spawn(async move {
                    let result = client
                        .candidate_ports(None)
                        .await
                        .map(|devices| {
                            let mut ports = Vec::new();
                            for d in devices {
                                for (list, is_output) in
                                    [(&d.output_port, true), (&d.input_port, false)]
                                {
                                    for p in list {
                                        ports.push(PortEntry {
                                            device_alias: d.device_alias,
                                            device: d.device_name.clone(),
                                            port_id: p.port_id,
                                            is_output,
                                            description: p.description.clone(),
                                        });
                                    }
                                }
                            }
                            ports
                        })
                        .map_err(|e| e.to_string());
                    post(DmxEvent::Ports(result));
                });
            }
            DmxCommand::Patch {
                port,
                universe,
                name,
            } => {
                tokio::spawn(async move {
                    let port_ref = PortRef {
                        device_alias: port.device_alias,
                        port_id: port.port_id,
                        is_output: port.is_output,
                    };
                    let mut result = client
                        .patch(port_ref, universe)
                        .await
                        .map_err(|e| e.to_string());
                    if result.is_ok()
                        && let Some(name) = &name
                    {
                        result = client
                            .set_universe_name(universe, name)
                            .await
                            .map_err(|e| format!("patched, but naming it failed: {e}"));
                    }
                    post(DmxEvent::Patched {
                        port,
                        universe,
                        name,
                        result,
                    });
                });
            }
        }
    }

    /// Sends `last` (the newest state not yet given to olad, if any), then
    /// closes the olad connection behind a barrier (ola-rpc.md §7.7), so every
    /// frame sent is applied, and stops the tasks. Bounded by `CLOSE_LIMIT`
    /// each, so a hung olad cannot hold up quitting.
    pub async fn close(&mut self, last: Option<Frame>) {
        if let Some(task) = self.conn.take() {
            task.abort();
        }
        if let Some(task) = self.readback.take() {
            task.abort();
        }
        if let Some(task) = self.last_send.take()
            && tokio::time::timeout(CLOSE_LIMIT, task).await.is_err()
        {
            tracing::warn!("olad did not answer the DMX frame in flight in time");
        }
        let client = self.client.borrow().clone();
        if let Some(client) = client {
            if let Some(frame) = last {
                let send = client.update_dmx(frame.universe, &frame.data, Some(frame.priority));
                match tokio::time::timeout(CLOSE_LIMIT, send).await {
                    Ok(Ok(())) => {}
                    Ok(Err(err)) => tracing::warn!(%err, "the last DMX frame was not taken"),
                    Err(_) => tracing::warn!("olad did not take the last DMX frame in time"),
                }
            }
            match tokio::time::timeout(CLOSE_LIMIT, client.close()).await {
                Ok(Ok(())) => {}
                Ok(Err(err)) => tracing::warn!(%err, "closing the olad connection"),
                Err(_) => tracing::warn!("olad did not answer the close barrier in time"),
            }
        }
    }
}

/// A failure in words, with what to do about an unknown universe.
fn explain(err: &OlaError, universe: u32) -> String {
    match err {
        err if err.is_unknown_universe() => {
            format!("universe {universe} does not exist on olad; patch a port to it (U, then p)")
        }
        _ => err.to_string(),
    }
}

/// Connects, retrying with backoff while olad is not there; then reports
/// the client's own disconnects and reconnects until it closes.
async fn connection(
    addr: String,
    config: ClientConfig,
    client_tx: watch::Sender<Option<OlaClient>>,
    post: Post,
) {
    let mut backoff = FIRST_BACKOFF;
    loop {
        match OlaClient::connect_with(&addr, config.clone()).await {
            Ok(client) => {
                let mut events = client.events();
                let _ = client_tx.send(Some(client.clone()));
                post(DmxEvent::State(OladState::Connected));
                loop {
                    match events.recv().await {
                        Ok(ClientEvent::Disconnected { reason }) => {
                            post(DmxEvent::State(OladState::Retrying { reason }));
                        }
                        Ok(ClientEvent::Reconnected { failed, .. }) => {
                            post(DmxEvent::Reconnected { failed });
                        }
                        Ok(ClientEvent::Reconnecting { .. }) => {}
                        Err(broadcast::error::RecvError::Lagged(_)) => {
                            let state = if client.is_connected() {
                                OladState::Connected
                            } else {
                                OladState::Retrying {
                                    reason: "connection lost".into(),
                                }
                            };
                            post(DmxEvent::State(state));
                        }
                        Ok(ClientEvent::Closed) | Err(broadcast::error::RecvError::Closed) => {
                            return;
                        }
                    }
                }
            }
            Err(err) => {
                let reason = match &err {
                    OlaError::Connect { source, .. } => source.to_string(),
                    other => other.to_string(),
                };
                post(DmxEvent::State(OladState::NotRunning { reason }));
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

/// For `rvshell demo`: a private olad (free port, network plugins off, the
/// Dummy port patched to universe 1) when olad is installed. Returns where
/// the tab should look, the process (stopped on drop), and a line for the
/// feedback pane.
pub async fn private_olad(fallback: &str) -> (OladTarget, Option<OladProcess>, String) {
    let options = OladOptions {
        patch_universe: Some(1),
        ..OladOptions::default()
    };
    match OladProcess::start(options).await {
        Ok(olad) => {
            let addr = olad.addr().to_string();
            let note = format!(
                "Started a private olad at {addr} (Dummy device patched to universe 1, \
                 network plugins off); it stops when you quit"
            );
            (OladTarget::Address(addr), Some(olad), note)
        }
        Err(DaemonError::NotFound) => (
            OladTarget::NotInstalled,
            None,
            "olad is not installed, so the OLA-DMX tab has no olad; install OLA \
             (`apt-get install ola` on Debian or Ubuntu) to try it"
                .into(),
        ),
        Err(err) => (
            OladTarget::Address(fallback.to_owned()),
            None,
            format!("could not start a private olad ({err}); trying olad at {fallback}"),
        ),
    }
}
