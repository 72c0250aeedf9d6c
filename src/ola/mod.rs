//! OLA's RPC protocol (protobuf over a 4-byte framed TCP stream) and an async olad client.
//!
//! # Layout
//!
//! - [`pb`]: prost messages generated from `assets/ola/*.proto` (ola-rpc.md §3, §5).
//! - [`codec`]: the 4-byte header and `RpcMessage` framing (ola-rpc.md §2).
//! - [`client`]: [`OlaClient`], a full-duplex actor with id-matched replies,
//!   timeouts, acked DMX pushes, a close barrier and reconnection.
//! - [`outbox`]: frames queued behind a slow olad, coalesced per universe.
//! - [`daemon`]: [`OladProcess`], a private, network-silent olad for tests,
//!   benchmarks and demos (ola-rpc.md §13).
//!
//! # Example
//!
//! ```no_run
//! use rvshell::ola::OlaClient;
//!
//! # async fn demo() -> Result<(), rvshell::ola::OlaError> {
//! let olad = OlaClient::connect("127.0.0.1:9010").await?;
//! olad.update_dmx(1, &[255, 0, 128], None).await?; // waits for olad's Ack
//! let mut watch = olad.register(1).await?; // pushes from olad, acked for you
//! for i in 0..=255u8 {
//!     olad.stream_dmx(1, &[i; 512], Some(100)).await?; // no round trip
//! }
//! if let Some(frame) = watch.next().await {
//!     println!("universe {} now {:?}", frame.universe, &frame.data[..4]);
//! }
//! olad.close().await?; // one round trip first: no streamed frame is lost
//! # Ok(())
//! # }
//! ```
//!
//! A sample exchange on the wire (little-endian host; header, then body):
//!
//! ```text
//! client -> olad  1c 00 00 10 | 08 01 10 05 1a 0d "UpdateDmxData" 22 07 08 01 12 03 01 02 03
//! olad -> client  06 00 00 10 | 08 02 10 05 22 00                    (RESPONSE, id 5, empty Ack)
//! client -> olad  1c 00 00 10 | 08 01 10 06 1a 0d "UpdateDmxData" 22 07 08 63 ...
//! olad -> client  1c 00 00 10 | 08 04 10 06 22 16 "Universe doesn't exist"  (RESPONSE_FAILED)
//! ```

pub mod client;
pub mod codec;
pub mod daemon;
pub mod outbox;
pub mod pb;
pub mod values;

/// Slot values as comma-separated decimals, e.g. `255,0,128`: what
/// `rvshell dmx get` and `rvshell dmx monitor` print, and what
/// `ola_streaming_client` reads (one frame a line).
pub fn join_slots(data: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(data.len() * 4);
    for (i, v) in data.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "{v}");
    }
    out
}

pub use client::{ClientConfig, ClientEvent, DmxFrame, DmxSubscription, OlaClient, OlaError};
pub use daemon::{DaemonError, OladOptions, OladProcess};

#[cfg(test)]
mod tests {
    #[test]
    fn slots_are_joined_with_commas() {
        assert_eq!(super::join_slots(&[255, 0, 128]), "255,0,128");
        assert_eq!(super::join_slots(&[7]), "7");
        assert_eq!(super::join_slots(&[]), "");
    }
}
