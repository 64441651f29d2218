//! CoAP over DTLS on the tokio driver: [`DtlsLayer`], a [`DatagramLayer`] over a
//! [`SessionTable`] keyed by socket address, its settings, factory and events.

use std::collections::VecDeque;
use std::net::SocketAddr;

use bytes::Bytes;
use tokio::sync::mpsc;

use super::error::{BindError, Error};
use super::layer::{DatagramLayer, Delivery, LayerFactory, Wire};
use crate::dtls::{
    ClientConfig, CloseReason, DtlsError, Event, Handshake, Limits, ServerConfig, SessionTable,
    TableStats,
};
use crate::time::Instant;

/// Events of a [`DtlsEvents`] channel kept unread before newer ones are dropped (by default).
pub const DEFAULT_EVENT_CAPACITY: usize = 4096;

/// What a [`DtlsLayer`] reports about its sessions.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum DtlsEvent {
    /// A handshake with `peer` completed. With `replaced`, it replaced an established session
    /// with the same address (a rebooted client): for LwM2M the client must register again.
    Connected {
        /// The peer's socket address, as the endpoint and [`ServerRequest::peer`](super::ServerRequest) name it.
        peer: SocketAddr,
        /// Who the peer proved to be, and the suite.
        handshake: Handshake,
        /// Whether an established session with this address was dropped for it.
        replaced: bool,
    },
    /// A session closed without error (`close_notify`, idle timeout).
    Closed {
        /// The peer.
        peer: SocketAddr,
        /// Why.
        reason: CloseReason,
    },
    /// A handshake or session failed and was removed.
    Failed {
        /// The peer.
        peer: SocketAddr,
        /// What went wrong.
        error: DtlsError,
    },
}

impl DtlsEvent {
    /// The peer the event is about.
    pub fn peer(&self) -> SocketAddr {
        match self {
            DtlsEvent::Connected { peer, .. }
            | DtlsEvent::Closed { peer, .. }
            | DtlsEvent::Failed { peer, .. } => *peer,
        }
    }
}

/// The receiving end of a DTLS layer's [`DtlsEvent`]s (all sockets of one endpoint share it).
///
/// It holds at most the capacity given to [`DtlsSettings::event_capacity`]; while it is full
/// (nobody reads), newer events are dropped. Dropping it loses nothing else.
#[derive(Debug)]
pub struct DtlsEvents {
    receiver: mpsc::Receiver<DtlsEvent>,
}

impl DtlsEvents {
    /// The next event; `None` once every driver has stopped.
    pub async fn next(&mut self) -> Option<DtlsEvent> {
        self.receiver.recv().await
    }

    /// The next event if one is waiting.
    pub fn try_next(&mut self) -> Option<DtlsEvent> {
        self.receiver.try_recv().ok()
    }
}

impl futures_core::Stream for DtlsEvents {
    type Item = DtlsEvent;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<DtlsEvent>> {
        self.receiver.poll_recv(cx)
    }
}

/// Which roles a [`DtlsLayer`] plays, and its table's limits.
///
/// ```
/// use lwm2m_transport::dtls::{ClientConfig, ClientCredentials, Limits, Psk};
/// use lwm2m_transport::udp::DtlsSettings;
/// let psk = Psk::new(b"dev-1", b"0123456789abcdef")?;
/// let mut limits = Limits::default();
/// limits.max_sessions = 100;
/// let settings = DtlsSettings::client(ClientConfig::builder(ClientCredentials::Psk(psk)).build()?)
///     .limits(limits);
/// # let _ = settings;
/// # Ok::<(), lwm2m_transport::dtls::ConfigError>(())
/// ```
#[derive(Debug, Clone)]
pub struct DtlsSettings {
    server: Option<ServerConfig>,
    client: Option<ClientConfig>,
    limits: Limits,
    event_capacity: usize,
}

impl DtlsSettings {
    /// Accepts DTLS clients with `config`.
    pub fn server(config: ServerConfig) -> DtlsSettings {
        DtlsSettings {
            server: Some(config),
            client: None,
            limits: Limits::default(),
            event_capacity: DEFAULT_EVENT_CAPACITY,
        }
    }

    /// Connects to DTLS servers with `config` (and accepts no clients).
    pub fn client(config: ClientConfig) -> DtlsSettings {
        DtlsSettings {
            server: None,
            client: Some(config),
            limits: Limits::default(),
            event_capacity: DEFAULT_EVENT_CAPACITY,
        }
    }

    /// Also connects to peers without a session with `config` (both roles on one socket).
    #[must_use]
    pub fn with_client(mut self, config: ClientConfig) -> DtlsSettings {
        self.client = Some(config);
        self
    }

    /// The session table's caps and timeouts (each socket's table gets a copy).
    #[must_use]
    pub fn limits(mut self, limits: Limits) -> DtlsSettings {
        self.limits = limits;
        self
    }

    /// How many unread [`DtlsEvent`]s are kept (default [`DEFAULT_EVENT_CAPACITY`]).
    #[must_use]
    pub fn event_capacity(mut self, capacity: usize) -> DtlsSettings {
        self.event_capacity = capacity.max(1);
        self
    }

    /// The layer factory for [`Builder::with_factory`](super::Builder::with_factory) and the events
    /// channel its layers report on.
    pub fn into_factory(self) -> (DtlsFactory, DtlsEvents) {
        let (sender, receiver) = mpsc::channel(self.event_capacity);
        (
            DtlsFactory {
                settings: self,
                events: sender,
            },
            DtlsEvents { receiver },
        )
    }
}

/// Makes one [`DtlsLayer`] per socket; from [`DtlsSettings::into_factory`].
#[derive(Debug, Clone)]
pub struct DtlsFactory {
    settings: DtlsSettings,
    events: mpsc::Sender<DtlsEvent>,
}

impl LayerFactory for DtlsFactory {
    type Layer = DtlsLayer;

    fn make(&mut self, _index: usize) -> Result<DtlsLayer, BindError> {
        Ok(DtlsLayer::new(
            self.settings.server.clone(),
            self.settings.client.clone(),
            self.settings.limits.clone(),
            self.events.clone(),
        )?)
    }
}

/// A [`DatagramLayer`] that runs DTLS 1.2 sessions between the socket and the endpoint, over a
/// [`SessionTable`] keyed by socket address.
///
/// - Server role (with a [`ServerConfig`]): a peer's `ClientHello` creates its session (after the
///   stateless cookie exchange); its decrypted datagrams go to the endpoint.
/// - Client role (with a [`ClientConfig`]): the endpoint's first datagram to a peer without a
///   session starts a handshake; the datagram (and the next ones, up to
///   [`Limits::max_queued_plaintext`]) waits in the handshake and goes out once it completes.
///   A handshake that fails makes the calls waiting on that peer fail at once with
///   [`Error::Dtls`] instead of running into their CoAP timeout.
/// - Handshakes completed (with the [`PeerIdentity`](crate::dtls::PeerIdentity) the peer
///   proved), sessions closed and failures arrive on [`DtlsEvents`], so an LwM2M server can bind
///   the socket address of each request to an authenticated identity.
///
/// [`Builder::dtls`](super::Builder::dtls) (or `dtls_server` / `dtls_client`) sets it up:
///
/// ```
/// use std::collections::HashMap;
/// use lwm2m_codec::coap::Code;
/// use lwm2m_transport::dtls::{ClientConfig, ClientCredentials, Psk, ServerConfig};
/// use lwm2m_transport::udp::{DtlsEvent, UdpEndpoint};
/// use lwm2m_transport::{Request, Response};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let store = HashMap::from([(b"dev-1".to_vec(), b"0123456789abcdef".to_vec())]);
/// let (builder, mut server_events) =
///     UdpEndpoint::builder().dtls_server(ServerConfig::builder().psk_store(store).build()?);
/// let server = builder.bind("127.0.0.1:0".parse()?).await?;
/// let mut incoming = server.incoming();
/// tokio::spawn(async move {
///     while let Some(r) = incoming.next().await {
///         let _ = r.responder.respond(Response::new(Code::CONTENT).with_payload("secret"));
///     }
/// });
///
/// let psk = Psk::new(b"dev-1", b"0123456789abcdef")?;
/// let (builder, _client_events) = UdpEndpoint::builder()
///     .dtls_client(ClientConfig::builder(ClientCredentials::Psk(psk)).build()?);
/// let client = builder.bind("127.0.0.1:0".parse()?).await?;
/// let get = Request::build(Code::GET, |b| { b.uri_path("/x"); })?;
/// let response = client.handle().request(server.local_addr(), get).await?;
/// assert_eq!(response.body().as_ref(), b"secret");
///
/// let Some(DtlsEvent::Connected { handshake, .. }) = server_events.next().await else {
///     panic!("expected a handshake");
/// };
/// assert_eq!(handshake.identity.name(), Some("dev-1"));
/// client.close().await;
/// server.close().await;
/// # Ok(())
/// # }
/// ```
///
pub struct DtlsLayer {
    table: SessionTable<SocketAddr>,
    client: Option<ClientConfig>,
    events: mpsc::Sender<DtlsEvent>,
    failures: VecDeque<(SocketAddr, Error)>,
    /// Plaintext datagrams dropped: no session and no way to make one, or a full queue.
    dropped: u64,
}

impl core::fmt::Debug for DtlsLayer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("DtlsLayer")
            .field("table", &self.table)
            .field("client", &self.client.is_some())
            .field("dropped", &self.dropped)
            .finish_non_exhaustive()
    }
}

impl DtlsLayer {
    /// A layer with its own session table; `server` accepts clients, `client` connects to
    /// peers the endpoint sends to without a session. Events go to `events` (dropped when it
    /// is full or closed).
    pub fn new(
        server: Option<ServerConfig>,
        client: Option<ClientConfig>,
        limits: Limits,
        events: mpsc::Sender<DtlsEvent>,
    ) -> Result<DtlsLayer, DtlsError> {
        // The driver's clock starts at zero when it is created, right after its layer.
        let table = SessionTable::new(Instant::ZERO, server, limits)?;
        Ok(DtlsLayer {
            table,
            client,
            events,
            failures: VecDeque::new(),
            dropped: 0,
        })
    }

    /// The session table's counters.
    pub fn stats(&self) -> TableStats {
        self.table.stats()
    }

    /// Plaintext datagrams from the endpoint that could not be sent (no session with the peer
    /// and no client configuration, or the handshake's queue was full).
    pub fn dropped_plaintext(&self) -> u64 {
        self.dropped
    }

    /// Moves the table's output to the wire and its events to the channel (data to `deliver`).
    fn drain(&mut self, wire: &mut Wire, deliver: &mut dyn FnMut(Delivery<'_>)) {
        while let Some(transmit) = self.table.poll_transmit() {
            wire.push(transmit.destination, transmit.contents);
        }
        while let Some(event) = self.table.poll_event() {
            let event = match event {
                Event::Data { data, .. } => {
                    deliver(Delivery::Plaintext(&data));
                    continue;
                }
                Event::Connected {
                    peer,
                    handshake,
                    replaced,
                } => {
                    // Before any data of the new session reaches the endpoint.
                    deliver(Delivery::NewSession);
                    DtlsEvent::Connected {
                        peer,
                        handshake,
                        replaced,
                    }
                }
                Event::Closed { peer, reason } => DtlsEvent::Closed { peer, reason },
                Event::Failed { peer, error } => {
                    // Calls waiting on a peer fail only if nothing can carry them any more (a
                    // failed re-handshake beside a working session leaves them be).
                    if self.table.handshake(&peer).is_none() {
                        let failure = Error::Dtls {
                            peer,
                            error: error.clone(),
                        };
                        self.failures.push_back((peer, failure));
                    }
                    DtlsEvent::Failed { peer, error }
                }
            };
            let _ = self.events.try_send(event);
        }
    }
}

impl DatagramLayer for DtlsLayer {
    fn receive(
        &mut self,
        now: Instant,
        from: SocketAddr,
        datagram: &[u8],
        deliver: &mut dyn FnMut(Delivery<'_>),
        wire: &mut Wire,
    ) {
        // Errors are also events (a broken session) or a dropped datagram (garbage, no
        // session): nothing more to do with them here.
        let _ = self.table.handle_datagram(now, from, datagram);
        self.drain(wire, deliver);
    }

    fn send(&mut self, now: Instant, to: SocketAddr, plaintext: Bytes, wire: &mut Wire) {
        let mut result = self.table.send(now, &to, &plaintext);
        if matches!(result, Err(DtlsError::NoSession)) {
            if let Some(config) = &self.client {
                result = self
                    .table
                    .connect(now, to, config)
                    .and_then(|()| self.table.send(now, &to, &plaintext));
                if let Err(error) = &result {
                    self.failures.push_back((
                        to,
                        Error::Dtls {
                            peer: to,
                            error: error.clone(),
                        },
                    ));
                }
            }
        }
        if result.is_err() {
            // The endpoint retransmits confirmable messages; a later try may find a session.
            self.dropped += 1;
        }
        self.drain(wire, &mut |_| {});
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.table.poll_timeout()
    }

    fn handle_timeout(&mut self, now: Instant, wire: &mut Wire) {
        self.table.handle_timeout(now);
        self.drain(wire, &mut |_| {});
    }

    fn close(&mut self, now: Instant, wire: &mut Wire) {
        self.table.close_all(now);
        self.drain(wire, &mut |_| {});
    }

    fn poll_failure(&mut self) -> Option<(SocketAddr, Error)> {
        self.failures.pop_front()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dtls::{ClientCredentials, Psk};

    fn layer(client: bool) -> (DtlsLayer, mpsc::Receiver<DtlsEvent>) {
        let (sender, receiver) = mpsc::channel(8);
        let config = client.then(|| {
            let psk = Psk::new(b"dev-1", b"0123456789abcdef").unwrap();
            ClientConfig::builder(ClientCredentials::Psk(psk))
                .build()
                .unwrap()
        });
        let layer = DtlsLayer::new(None, config, Limits::default(), sender).unwrap();
        (layer, receiver)
    }

    #[test]
    fn a_client_layer_starts_a_handshake_and_holds_the_plaintext() {
        let (mut layer, _events) = layer(true);
        let peer: SocketAddr = "127.0.0.1:5684".parse().unwrap();
        let mut wire = Wire::default();
        layer.send(Instant::ZERO, peer, Bytes::from_static(b"coap"), &mut wire);
        assert_eq!(wire.len(), 1, "the ClientHello");
        let (to, hello) = wire.front().unwrap();
        assert_eq!(*to, peer);
        // A DTLS 1.x handshake record (content type 22) whose message is a ClientHello (1).
        assert_eq!((hello[0], hello[13]), (22, 1));
        assert!(
            !hello.windows(4).any(|w| w == b"coap"),
            "plaintext held back"
        );
        assert_eq!(layer.dropped_plaintext(), 0);
        assert!(layer.poll_failure().is_none());
        assert!(layer.poll_timeout().is_some(), "retransmission timer armed");
    }

    /// What a layer handed up, as owned values.
    #[derive(Debug, PartialEq)]
    enum Up {
        Plaintext(Vec<u8>),
        NewSession,
    }

    /// Carries datagrams between a client and a server layer until both are quiet; returns
    /// what the server delivered, in order.
    fn shuttle(
        client: &mut DtlsLayer,
        server: &mut DtlsLayer,
        client_addr: SocketAddr,
        server_addr: SocketAddr,
        mut wire: Wire,
    ) -> Vec<Up> {
        let mut up = Vec::new();
        for _ in 0..32 {
            let mut back = Wire::default();
            while let Some((_, datagram)) = wire.front().cloned() {
                wire.drop_front(1);
                server.receive(
                    Instant::ZERO,
                    client_addr,
                    &datagram,
                    &mut |d| {
                        up.push(match d {
                            Delivery::Plaintext(p) => Up::Plaintext(p.to_vec()),
                            Delivery::NewSession => Up::NewSession,
                        });
                    },
                    &mut back,
                );
            }
            if back.is_empty() {
                break;
            }
            while let Some((_, datagram)) = back.front().cloned() {
                back.drop_front(1);
                client.receive(
                    Instant::ZERO,
                    server_addr,
                    &datagram,
                    &mut |_| {},
                    &mut wire,
                );
            }
        }
        up
    }

    #[test]
    fn a_new_session_is_announced_before_its_first_plaintext() {
        let (mut client, _client_events) = layer(true);
        let (sender, _server_events) = mpsc::channel(8);
        let store =
            std::collections::HashMap::from([(b"dev-1".to_vec(), b"0123456789abcdef".to_vec())]);
        let config = ServerConfig::builder().psk_store(store).build().unwrap();
        let mut server = DtlsLayer::new(Some(config), None, Limits::default(), sender).unwrap();
        let (client_addr, server_addr): (SocketAddr, SocketAddr) = (
            "127.0.0.1:40000".parse().unwrap(),
            "127.0.0.1:5684".parse().unwrap(),
        );
        let mut wire = Wire::default();
        client.send(
            Instant::ZERO,
            server_addr,
            Bytes::from_static(b"coap"),
            &mut wire,
        );
        let up = shuttle(&mut client, &mut server, client_addr, server_addr, wire);
        assert_eq!(up, [Up::NewSession, Up::Plaintext(b"coap".to_vec())]);
        // More data in the same session: no new scope.
        let mut wire = Wire::default();
        client.send(
            Instant::ZERO,
            server_addr,
            Bytes::from_static(b"more"),
            &mut wire,
        );
        let up = shuttle(&mut client, &mut server, client_addr, server_addr, wire);
        assert_eq!(up, [Up::Plaintext(b"more".to_vec())]);
    }

    #[test]
    fn a_server_only_layer_drops_plaintext_for_unknown_peers_and_garbage() {
        let (mut layer, mut events) = layer(false);
        let peer: SocketAddr = "127.0.0.1:40000".parse().unwrap();
        let mut wire = Wire::default();
        layer.send(Instant::ZERO, peer, Bytes::from_static(b"coap"), &mut wire);
        assert!(wire.is_empty());
        assert_eq!(layer.dropped_plaintext(), 1);
        let mut delivered = 0;
        layer.receive(
            Instant::ZERO,
            peer,
            b"\x17\xfe\xfdgarbage",
            &mut |_| delivered += 1,
            &mut wire,
        );
        assert_eq!(delivered, 0);
        assert!(wire.is_empty());
        assert!(events.try_recv().is_err());
        assert!(layer.poll_failure().is_none());
    }
}
