//! OLA's RPC protocol (protobuf over a 4-byte framed TCP stream) and an async olad client.

pub mod client;
pub mod codec;
pub mod daemon;
pub mod pb;

pub use client::{ClientConfig, ClientEvent, DmxFrame, DmxSubscription, OlaClient, OlaError};
pub use daemon::{DaemonError, OladOptions, OladProcess};
pub mod bench;
