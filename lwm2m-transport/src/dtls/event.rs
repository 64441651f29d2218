//! What a [`SessionTable`](crate::dtls::SessionTable) hands back: datagrams to send
//! ([`Transmit`]) and [`Event`]s, each naming its peer.

use bytes::Bytes;

use super::credentials::Handshake;
use super::error::DtlsError;
use super::session::CloseReason;

/// A datagram to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit<P> {
    /// The peer to send it to.
    pub destination: P,
    /// The DTLS records.
    pub contents: Bytes,
}

/// Something the application must know, from
/// [`SessionTable::poll_event`](crate::dtls::SessionTable::poll_event).
#[derive(Debug, Clone, PartialEq)]
pub enum Event<P> {
    /// A handshake with `peer` completed. With `replaced`, it replaced an earlier session with the
    /// same peer (a rebooted client, or a re-handshake): for LwM2M, a new session means the client
    /// must register again.
    Connected {
        /// The peer.
        peer: P,
        /// Who it is and how it connected.
        handshake: Handshake,
        /// Whether an established session with this peer was dropped for it.
        replaced: bool,
    },
    /// A decrypted application datagram (a CoAP message).
    Data {
        /// The sender.
        peer: P,
        /// The plaintext.
        data: Bytes,
    },
    /// A session closed without error.
    Closed {
        /// The peer.
        peer: P,
        /// Why.
        reason: CloseReason,
    },
    /// A session (or handshake) failed and was removed. An established session with the same
    /// peer, if any, is unaffected.
    Failed {
        /// The peer.
        peer: P,
        /// What went wrong.
        error: DtlsError,
    },
}
