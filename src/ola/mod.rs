//! OLA's RPC protocol (protobuf over a 4-byte framed TCP stream) and an async olad client.

pub mod codec;
pub mod pb;
