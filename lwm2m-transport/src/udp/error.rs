//! Errors of the UDP driver: [`BindError`] (the endpoint could not start) and [`Error`] (an
//! async call did not get its result).

use std::io;
use std::net::SocketAddr;

use crate::error::{EndpointError, ExchangeError};
use crate::event::RelationEnd;

/// Why [`Builder::bind`](super::Builder::bind) failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BindError {
    /// A socket could not be created, configured or bound.
    #[error("cannot bind UDP socket {addr}: {source}")]
    Io {
        /// The address asked for.
        addr: SocketAddr,
        /// What the operating system said.
        source: io::Error,
    },
    /// The endpoint configuration was rejected, or no entropy could seed it.
    #[error("cannot create the CoAP endpoint: {0}")]
    Endpoint(#[from] EndpointError),
    /// [`Builder::sockets`](super::Builder::sockets) was zero.
    #[error("at least one socket is needed")]
    NoSockets,
    /// A DTLS session table could not be created (no entropy for its cookie secret).
    #[cfg(any(feature = "dtls-openssl", feature = "dtls-dimpl"))]
    #[error("cannot create the DTLS session table: {0}")]
    Dtls(#[from] crate::dtls::DtlsError),
}

/// How an observe relation of this endpoint (notifier side) ended, as
/// [`Notifier::closed`](super::Notifier::closed) reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RelationClosed {
    /// The observer or the network ended it.
    Peer(RelationEnd),
    /// The application ended it: a non-2.xx notification, or the `Notifier` was dropped.
    Finished,
    /// The UDP endpoint was closed.
    EndpointClosed,
}

/// Why an async call of the UDP driver did not produce its result.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The exchange failed on the network: timeout, RST, broken block-wise transfer.
    #[error("the exchange failed: {0}")]
    Exchange(#[from] ExchangeError),
    /// The endpoint refused the call (a table is full, the message cannot be encoded, ...).
    #[error("the endpoint refused the call: {0}")]
    Endpoint(#[from] EndpointError),
    /// The observe relation a notification was meant for has ended.
    #[error("the observe relation has ended ({0:?})")]
    RelationEnded(RelationClosed),
    /// The UDP endpoint was closed (or dropped) before the result came.
    #[error("the UDP endpoint is closed")]
    Closed,
    /// The DTLS handshake with the peer failed (wrong key, untrusted certificate, timeout), so
    /// the exchange could not be carried.
    #[cfg(any(feature = "dtls-openssl", feature = "dtls-dimpl"))]
    #[error("DTLS with {peer} failed: {error}")]
    Dtls {
        /// The peer.
        peer: SocketAddr,
        /// What went wrong.
        error: crate::dtls::DtlsError,
    },
}
