//! Helpers for the OLA client tests.
#![allow(dead_code)]

use rvshell::ola::client::ClientEvent;

/// The next event that is not a `Reconnecting` attempt.
pub async fn settled(events: &mut tokio::sync::broadcast::Receiver<ClientEvent>) -> ClientEvent {
    loop {
        match events.recv().await.unwrap() {
            ClientEvent::Reconnecting { .. } => continue,
            other => return other,
        }
    }
}
