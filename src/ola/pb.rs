//! prost messages for OLA's RPC envelope and its client/server messages.
//!
//! Generated at build time (by `build.rs`, with protox and prost-build) from
//! `assets/ola/Rpc.proto` and `assets/ola/Ola.proto`, which were written from
//! the field tables in ola-rpc.md §3 and §5. All messages are proto2: required
//! fields are plain values, optional ones are `Option`s, enum-typed fields are
//! `i32` (use the enums' `try_from` to interpret them).
//!
//! Byte compatibility: prost encodes fields in declaration order, which equals
//! field-number order in every message a client sends, so the bytes match
//! libola's and the Python client's (ola-rpc.md §3).

/// The `ola.rpc` envelope: [`rpc::RpcMessage`] and its [`rpc::Type`].
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod rpc {
    include!(concat!(env!("OUT_DIR"), "/ola.rpc.rs"));
}

/// The `ola.proto` messages and enums (`DmxData`, `PatchPortRequest`, ...).
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod proto {
    include!(concat!(env!("OUT_DIR"), "/ola.proto.rs"));
}
