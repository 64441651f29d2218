//! Observations restored after a restart.
//!
//! An observation lives in the client: after the server restarts, the client keeps sending
//! notifications with the token of the original Observe request, which the new transport
//! endpoint does not know (it would answer them with RST, ending the observation). The
//! [`RestoreLayer`] sits between the socket and the endpoint and takes the notifications whose
//! token belongs to an observation loaded from the [`ObservationStore`](crate::store::ObservationStore):
//! it acknowledges them and hands them to the server, which decodes them and publishes them as
//! [`ServerEvent::Notification`](super::ServerEvent::Notification), as before the restart.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use lwm2m_codec::coap::{Code, Message, MessageBuilder, Token, Type};
use lwm2m_model::Path;
use lwm2m_transport::udp::{DatagramLayer, Delivery, LayerFactory, Wire};
use lwm2m_transport::Instant;
use tokio::sync::mpsc;

use super::{lock, ServerEvent, Shared};
use crate::registration::RegistrationId;

/// One observation loaded from the store at start.
#[derive(Debug, Clone)]
pub(super) struct Restored {
    pub(super) registration: RegistrationId,
    pub(super) endpoint: Arc<str>,
    pub(super) path: Path,
    pub(super) content_format: Option<u16>,
    /// The message id of the last notification taken (a retransmission is acknowledged again
    /// but not published twice).
    last_message_id: Option<u16>,
}

impl Restored {
    pub(super) fn new(
        registration: RegistrationId,
        endpoint: Arc<str>,
        path: Path,
        content_format: Option<u16>,
    ) -> Restored {
        Restored {
            registration,
            endpoint,
            path,
            content_format,
            last_message_id: None,
        }
    }
}

/// The restored observations by token, shared by the layers and the server.
#[derive(Debug)]
pub(super) struct RestoredTable {
    by_token: Mutex<HashMap<Token, Restored>>,
    /// Whether `by_token` is non-empty: the layer skips the lock otherwise.
    active: AtomicBool,
    taken: mpsc::UnboundedSender<(SocketAddr, Bytes)>,
}

impl RestoredTable {
    pub(super) fn new(
        restored: HashMap<Token, Restored>,
    ) -> (
        Arc<RestoredTable>,
        mpsc::UnboundedReceiver<(SocketAddr, Bytes)>,
    ) {
        let (taken, receiver) = mpsc::unbounded_channel();
        let table = RestoredTable {
            active: AtomicBool::new(!restored.is_empty()),
            by_token: Mutex::new(restored),
            taken,
        };
        (Arc::new(table), receiver)
    }

    /// The observation of `token`, if restored.
    pub(super) fn get(&self, token: &Token) -> Option<Restored> {
        lock(&self.by_token).get(token).cloned()
    }

    /// Forgets the observations that match `filter`; returns them with their tokens.
    pub(super) fn remove_where(
        &self,
        mut filter: impl FnMut(&Restored) -> bool,
    ) -> Vec<(Token, Restored)> {
        let mut table = lock(&self.by_token);
        let tokens: Vec<Token> = table
            .iter()
            .filter(|(_, restored)| filter(restored))
            .map(|(token, _)| *token)
            .collect();
        let removed = tokens
            .into_iter()
            .filter_map(|token| table.remove(&token).map(|r| (token, r)))
            .collect();
        self.active.store(!table.is_empty(), Ordering::Release);
        removed
    }

    /// Whether `datagram` is a notification of a restored observation; if so it is taken (and,
    /// if Confirmable, the empty ACK must be sent back).
    fn take(&self, from: SocketAddr, datagram: &[u8]) -> Taken {
        if !self.active.load(Ordering::Acquire) {
            return Taken::No;
        }
        // Only responses (code classes 2, 4, 5) can be notifications: skip the parse for the rest.
        if !datagram
            .get(1)
            .is_some_and(|code| matches!(code >> 5, 2 | 4 | 5))
        {
            return Taken::No;
        }
        let Ok(message) = Message::parse(datagram) else {
            return Taken::No;
        };
        let code = message.code();
        let confirmable = match message.ty() {
            Type::Confirmable => true,
            Type::NonConfirmable => false,
            _ => return Taken::No,
        };
        if code.is_request() || code.is_empty() || code.is_reserved() {
            return Taken::No;
        }
        let token = message.owned_token();
        let fresh = {
            let mut table = lock(&self.by_token);
            let Some(restored) = table.get_mut(&token) else {
                return Taken::No;
            };
            let fresh = restored.last_message_id != Some(message.message_id());
            restored.last_message_id = Some(message.message_id());
            fresh
        };
        if fresh {
            let _ = self.taken.send((from, Bytes::copy_from_slice(datagram)));
        }
        if confirmable {
            let ack = MessageBuilder::new(Type::Acknowledgement, Code::EMPTY, message.message_id());
            Taken::Acknowledge(ack.to_vec().unwrap_or_default())
        } else {
            Taken::Yes
        }
    }
}

/// What [`RestoredTable::take`] did with a datagram.
#[derive(Debug, PartialEq, Eq)]
enum Taken {
    /// Not a notification of a restored observation: deliver it.
    No,
    /// Taken.
    Yes,
    /// Taken; send this ACK.
    Acknowledge(Vec<u8>),
}

impl Shared {
    /// A notification of a restored observation arrived: decode and publish it.
    pub(super) fn handle_restored(&self, peer: SocketAddr, datagram: &[u8]) {
        let Ok(message) = Message::parse(datagram) else {
            return;
        };
        let Some(restored) = self.restored.get(&message.owned_token()) else {
            return;
        };
        let current = lock(&self.registrar)
            .get(restored.registration)
            .map(crate::registration::Registration::peer);
        if current != Some(peer) {
            tracing::debug!(%peer, endpoint = %restored.endpoint, "a restored observation's token from another address; ignored");
            return;
        }
        if !message.code().is_success() || message.observe().ok().flatten().is_none() {
            // The client ended the observation (an error, or a response without Observe).
            tracing::info!(endpoint = %restored.endpoint, path = %restored.path, code = %message.code(), "restored observation ended by the client");
            self.restored.remove_where(|r| {
                r.registration == restored.registration && r.path == restored.path
            });
            let _ =
                lock(&self.observation_store).remove(restored.registration, &message.owned_token());
            return;
        }
        let format = message
            .content_format()
            .ok()
            .flatten()
            .or(restored.content_format)
            .and_then(lwm2m_model::content::ContentFormat::from_number)
            .unwrap_or(lwm2m_model::content::ContentFormat::Tlv);
        match lwm2m_model::content::decode(
            format,
            &restored.path,
            message.payload(),
            &self.registry,
        ) {
            Ok(content) => {
                let _ = self.events.send(ServerEvent::Notification {
                    endpoint: restored.endpoint,
                    path: restored.path,
                    content: Arc::new(content),
                });
            }
            Err(error) => {
                tracing::warn!(endpoint = %restored.endpoint, path = %restored.path, %error, "a restored observation's notification does not decode");
            }
        }
    }
}

/// A [`DatagramLayer`] that takes the notifications of restored observations before the
/// endpoint sees them, and passes everything else through to `inner`.
#[derive(Debug)]
pub struct RestoreLayer<L> {
    inner: L,
    table: Arc<RestoredTable>,
}

impl<L: DatagramLayer> DatagramLayer for RestoreLayer<L> {
    fn receive(
        &mut self,
        now: Instant,
        from: SocketAddr,
        datagram: &[u8],
        deliver: &mut dyn FnMut(Delivery<'_>),
        wire: &mut Wire,
    ) {
        let table = &self.table;
        let mut acks = Vec::new();
        self.inner.receive(
            now,
            from,
            datagram,
            &mut |delivery| {
                let Delivery::Plaintext(plaintext) = delivery else {
                    return deliver(delivery);
                };
                match table.take(from, plaintext) {
                    Taken::No => deliver(delivery),
                    Taken::Yes => {}
                    Taken::Acknowledge(ack) => acks.push(ack),
                }
            },
            wire,
        );
        for ack in acks {
            self.inner.send(now, from, Bytes::from(ack), wire);
        }
    }

    fn send(&mut self, now: Instant, to: SocketAddr, plaintext: Bytes, wire: &mut Wire) {
        self.inner.send(now, to, plaintext, wire);
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.inner.poll_timeout()
    }

    fn handle_timeout(&mut self, now: Instant, wire: &mut Wire) {
        self.inner.handle_timeout(now, wire);
    }

    fn poll_failure(&mut self) -> Option<(SocketAddr, lwm2m_transport::udp::Error)> {
        self.inner.poll_failure()
    }
}

/// Makes a [`RestoreLayer`] around each layer of `inner`.
#[derive(Debug)]
pub struct RestoreFactory<F> {
    inner: F,
    table: Arc<RestoredTable>,
}

impl<F> RestoreFactory<F> {
    pub(super) fn new(inner: F, table: Arc<RestoredTable>) -> RestoreFactory<F> {
        RestoreFactory { inner, table }
    }
}

impl<F: LayerFactory> LayerFactory for RestoreFactory<F> {
    type Layer = RestoreLayer<F::Layer>;

    fn make(&mut self, index: usize) -> Result<Self::Layer, lwm2m_transport::udp::BindError> {
        Ok(RestoreLayer {
            inner: self.inner.make(index)?,
            table: Arc::clone(&self.table),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> (
        Arc<RestoredTable>,
        mpsc::UnboundedReceiver<(SocketAddr, Bytes)>,
    ) {
        let restored = Restored::new(
            "abc".parse().unwrap(),
            Arc::from("node"),
            "/3/0/9".parse().unwrap(),
            Some(0),
        );
        RestoredTable::new(HashMap::from([(Token::from_u64(0xCAFE), restored)]))
    }

    fn notification(ty: Type, token: u64, message_id: u16) -> Vec<u8> {
        let mut builder = MessageBuilder::new(ty, Code::CONTENT, message_id);
        builder
            .token(Token::from_u64(token))
            .observe(7)
            .payload(b"42");
        builder.to_vec().unwrap()
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_datagrams_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..80)) {
            let (table, _taken) = table();
            let taken = table.take("127.0.0.1:5683".parse().unwrap(), &bytes);
            // Whatever it is, only something that parses as a message can be taken.
            proptest::prop_assert!(taken == Taken::No || Message::parse(&bytes).is_ok());
        }
    }

    #[test]
    fn takes_only_notifications_with_a_restored_token() {
        let (table, mut taken) = table();
        let peer: SocketAddr = "127.0.0.1:5683".parse().unwrap();
        assert_eq!(
            table.take(peer, &notification(Type::NonConfirmable, 0xCAFE, 1)),
            Taken::Yes
        );
        let Taken::Acknowledge(ack) = table.take(peer, &notification(Type::Confirmable, 0xCAFE, 2))
        else {
            panic!("a Confirmable notification is acknowledged")
        };
        let ack = Message::parse(&ack).unwrap();
        assert_eq!(
            (ack.ty(), ack.code(), ack.message_id()),
            (Type::Acknowledgement, Code::EMPTY, 2)
        );
        // A retransmission is acknowledged again but handed over once.
        assert!(matches!(
            table.take(peer, &notification(Type::Confirmable, 0xCAFE, 2)),
            Taken::Acknowledge(_)
        ));
        assert_eq!(taken.try_recv().unwrap().0, peer);
        assert!(taken.try_recv().is_ok());
        assert!(taken.try_recv().is_err());
        // Other tokens, requests and garbage pass.
        assert_eq!(
            table.take(peer, &notification(Type::NonConfirmable, 0xBEEF, 3)),
            Taken::No
        );
        let mut get = MessageBuilder::new(Type::Confirmable, Code::GET, 4);
        get.token(Token::from_u64(0xCAFE));
        assert_eq!(table.take(peer, &get.to_vec().unwrap()), Taken::No);
        assert_eq!(table.take(peer, b"\xff\x00"), Taken::No);
        // Once removed, the token passes too.
        assert_eq!(
            table.remove_where(|r| r.path.to_string() == "/3/0/9").len(),
            1
        );
        assert_eq!(
            table.take(peer, &notification(Type::NonConfirmable, 0xCAFE, 5)),
            Taken::No
        );
    }
}
