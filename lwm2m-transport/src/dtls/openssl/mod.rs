//! The OpenSSL backend: one `SslContext` per configuration, one `SslStream` over an in-memory
//! datagram [`Pipe`](engine::Pipe) per session.
//!
//! OpenSSL's DTLS timers follow the wall clock (`DTLSv1_get_timeout`), so with this backend
//! retransmission happens when real time has passed, whatever instants the caller passes in;
//! handshake and idle timeouts are this layer's own and follow the caller's instants.

mod context;
mod engine;
mod errors;
mod ffi;
mod rpk;

pub(crate) use context::{library_version, OpensslClient, OpensslServer};
