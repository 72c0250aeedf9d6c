//! Helpers for the OLA client tests.
#![allow(dead_code)]

use rvshell::ola::client::ClientEvent;
use rvshell::ola::daemon::{OladOptions, OladProcess};

/// A private olad (network plugins off), with the Dummy port patched to
/// `universe` if given; panics with the daemon's words if it cannot start.
pub async fn olad(universe: Option<u32>) -> OladProcess {
    match OladProcess::start(OladOptions {
        patch_universe: universe,
        ..OladOptions::default()
    })
    .await
    {
        Ok(olad) => olad,
        Err(err) => panic!("{err}"),
    }
}

/// The next event that is not a `Reconnecting` attempt.
pub async fn settled(events: &mut tokio::sync::broadcast::Receiver<ClientEvent>) -> ClientEvent {
    loop {
        match events.recv().await.unwrap() {
            ClientEvent::Reconnecting { .. } => continue,
            other => return other,
        }
    }
}
