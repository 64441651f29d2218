//! The seam between the socket and the endpoint: a [`DatagramLayer`] maps the datagrams a socket
//! carries to the plaintext CoAP datagrams the [`Endpoint`](crate::Endpoint) reads and writes,
//! keyed by the peer's socket address.
//!
//! Plain UDP uses [`Plain`], the identity. A DTLS session table implements the same trait (one
//! session per peer; handshake flights and retransmissions go out through [`Wire`]), so it slots
//! in without touching the endpoint or the driver.

use std::collections::VecDeque;
use std::net::SocketAddr;

use bytes::Bytes;

use super::error::{BindError, Error};
use crate::time::Instant;

/// Datagrams to put on the socket, in order.
#[derive(Debug, Default)]
pub struct Wire {
    queue: VecDeque<(SocketAddr, Bytes)>,
}

impl Wire {
    /// Queues `datagram` for `destination`.
    #[inline]
    pub fn push(&mut self, destination: SocketAddr, datagram: Bytes) {
        self.queue.push_back((destination, datagram));
    }

    /// Datagrams queued and not sent yet.
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    pub(crate) fn front(&self) -> Option<&(SocketAddr, Bytes)> {
        self.queue.front()
    }

    pub(crate) fn get(&self, index: usize) -> Option<&(SocketAddr, Bytes)> {
        self.queue.get(index)
    }

    pub(crate) fn drop_front(&mut self, count: usize) {
        self.queue.drain(..count.min(self.queue.len()));
    }
}

/// Maps socket datagrams to plaintext datagrams and back, per peer.
///
/// The driver calls it from its single task, so an implementation needs no locking. Every method
/// gets the current time; a layer with timers of its own (DTLS handshake retransmission)
/// reports its next deadline with [`poll_timeout`](Self::poll_timeout).
///
/// A layer with news for the application (a DTLS handshake completed, with the identity the peer
/// proved; a session closed) sends it on a channel the layer holds, created by the factory given
/// to [`Builder::layer`](super::Builder::layer). The endpoint keys peers by socket address, so
/// the application maps an address to its identity from those events.
pub trait DatagramLayer: Send + 'static {
    /// A datagram arrived from `from`. Calls `deliver` with what it carries for the endpoint,
    /// in order: each plaintext datagram (none for a handshake record or garbage), and
    /// [`Delivery::NewSession`] where a new security association with `from` begins. Queues
    /// on `wire` what must be sent in reply at this layer (a handshake flight, an alert).
    fn receive(
        &mut self,
        now: Instant,
        from: SocketAddr,
        datagram: &[u8],
        deliver: &mut dyn FnMut(Delivery<'_>),
        wire: &mut Wire,
    );

    /// The endpoint sends `plaintext` to `to`: queue the datagram(s) that carry it on `wire`
    /// (or hold it until a session is up).
    fn send(&mut self, now: Instant, to: SocketAddr, plaintext: Bytes, wire: &mut Wire);

    /// When [`handle_timeout`](Self::handle_timeout) should run next.
    fn poll_timeout(&self) -> Option<Instant> {
        None
    }

    /// Runs the layer's timers that are due at `now`.
    fn handle_timeout(&mut self, now: Instant, wire: &mut Wire) {
        let _ = (now, wire);
    }

    /// The endpoint is closing: queue on `wire` what tells the peers (a DTLS `close_notify` per
    /// session). Called once, after the endpoint's last datagrams went through
    /// [`send`](Self::send); what fits in the socket's buffer is sent before the driver ends.
    fn close(&mut self, now: Instant, wire: &mut Wire) {
        let _ = (now, wire);
    }

    /// A peer this layer can no longer reach (a DTLS handshake failed): the driver fails the
    /// calls waiting on it with the error at once, rather than letting them retransmit into
    /// their timeout. Polled after every call above until `None`.
    fn poll_failure(&mut self) -> Option<(SocketAddr, Error)> {
        None
    }
}

/// What a [`DatagramLayer`] hands the endpoint from a received datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery<'a> {
    /// A plaintext CoAP datagram.
    Plaintext(&'a [u8]),
    /// A new security association with the sender begins here (a DTLS handshake completed,
    /// perhaps replacing an older session from the same address): the message ids it sends
    /// from now on are new messages, whatever the old association used
    /// ([`Endpoint::new_session`](crate::Endpoint::new_session)).
    NewSession,
}

/// Makes the [`DatagramLayer`] of each socket when a [`Builder`](super::Builder) binds.
///
/// Every `FnMut(usize) -> L` is one (given to [`Builder::layer`](super::Builder::layer));
/// a factory that can fail (a DTLS table needs entropy) implements it directly.
pub trait LayerFactory {
    /// The layer it makes.
    type Layer: DatagramLayer;

    /// The layer of socket `index`.
    fn make(&mut self, index: usize) -> Result<Self::Layer, BindError>;
}

impl<F, L> LayerFactory for F
where
    F: FnMut(usize) -> L,
    L: DatagramLayer,
{
    type Layer = L;

    #[inline]
    fn make(&mut self, index: usize) -> Result<L, BindError> {
        Ok(self(index))
    }
}

/// The identity layer of plain CoAP over UDP: datagrams pass through unchanged (and uncopied).
#[derive(Debug, Clone, Copy, Default)]
pub struct Plain;

impl DatagramLayer for Plain {
    #[inline]
    fn receive(
        &mut self,
        _now: Instant,
        _from: SocketAddr,
        datagram: &[u8],
        deliver: &mut dyn FnMut(Delivery<'_>),
        _wire: &mut Wire,
    ) {
        deliver(Delivery::Plaintext(datagram));
    }

    #[inline]
    fn send(&mut self, _now: Instant, to: SocketAddr, plaintext: Bytes, wire: &mut Wire) {
        wire.push(to, plaintext);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_passes_datagrams_through() {
        let peer: SocketAddr = "127.0.0.1:5683".parse().unwrap();
        let mut wire = Wire::default();
        let mut seen = Vec::new();
        Plain.receive(
            Instant::ZERO,
            peer,
            b"abc",
            &mut |d| {
                if let Delivery::Plaintext(d) = d {
                    seen.push(d.to_vec());
                }
            },
            &mut wire,
        );
        assert_eq!(seen, vec![b"abc".to_vec()]);
        assert!(wire.is_empty());
        let payload = Bytes::from_static(b"xyz");
        Plain.send(Instant::ZERO, peer, payload.clone(), &mut wire);
        assert_eq!(wire.len(), 1);
        let (to, sent) = wire.front().unwrap();
        assert_eq!((*to, sent), (peer, &payload));
        assert_eq!(sent.as_ptr(), payload.as_ptr(), "no copy");
        wire.drop_front(5);
        assert!(wire.is_empty());
        assert_eq!(Plain.poll_timeout(), None);
    }
}
