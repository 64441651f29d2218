//! The tokio UDP driver (feature `tokio`, on by default): an [`Endpoint`] on a
//! UDP socket, with an async API for both roles.
//!
//! - [`UdpEndpoint::bind`] (or [`UdpEndpoint::builder`]) starts a driver task per socket. The
//!   task owns the sans-IO endpoint and runs its loop; the rest of the application talks to it
//!   through channels.
//! - Client role: a cloneable [`Handle`] with [`Handle::request`] (many concurrent requests),
//!   [`Handle::observe`] (an [`Observation`] stream of [`Notification`]s, cancelled on drop) and
//!   [`Handle::ping`].
//! - Server role: [`UdpEndpoint::incoming`] streams [`ServerRequest`]s, each with a
//!   [`Responder`] that answers once, or accepts an observe registration and returns a
//!   [`Notifier`].
//! - IO is batched: `recvmmsg` (and GRO) on receive, GSO for runs of equal-sized datagrams to
//!   one peer on send (through quinn-udp), where the operating system has them.
//! - [`Builder::sockets`] binds several sockets to one port with `SO_REUSEPORT`, one driver
//!   and endpoint each, to use every core. The kernel picks the socket of each datagram by a
//!   hash of its addresses, so a peer sticks to one socket; a peer's state lives in the driver
//!   that first saw it, and the few datagrams the kernel delivers elsewhere are forwarded.
//! - A [`DatagramLayer`] sits between socket and endpoint ([`Plain`] for UDP), the seam for a
//!   DTLS session table.
//!
//! The runtime must have IO and time enabled (`tokio::runtime::Builder::enable_all`).
//!
//! ```
//! use lwm2m_codec::coap::Code;
//! use lwm2m_transport::udp::UdpEndpoint;
//! use lwm2m_transport::{Request, Response};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let server = UdpEndpoint::bind("127.0.0.1:0".parse()?).await?;
//! let mut incoming = server.incoming();
//! tokio::spawn(async move {
//!     while let Some(request) = incoming.next().await {
//!         let name = request.request.message().map(|m| m.uri_path().map(|p| p.count()));
//!         let reply = Response::new(Code::CONTENT).with_payload(format!("{name:?}"));
//!         let _ = request.responder.respond(reply);
//!     }
//! });
//!
//! let client = UdpEndpoint::bind("127.0.0.1:0".parse()?).await?;
//! let get = Request::build(Code::GET, |b| { b.uri_path("/3/0/0"); })?;
//! let response = client.handle().request(server.local_addr(), get).await?;
//! assert_eq!(response.code(), Code::CONTENT);
//! assert_eq!(response.body().as_ref(), b"Ok(Ok(3))");
//!
//! client.close().await;
//! server.close().await;
//! # Ok(())
//! # }
//! ```

mod client;
mod command;
mod driver;
#[cfg(any(feature = "dtls-openssl", feature = "dtls-dimpl"))]
mod dtls_layer;
mod error;
mod layer;
mod routes;
mod server;
mod socket;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

pub use client::{Handle, Notification, Observation};
#[cfg(any(feature = "dtls-openssl", feature = "dtls-dimpl"))]
pub use dtls_layer::{
    DtlsEvent, DtlsEvents, DtlsFactory, DtlsLayer, DtlsSettings, DEFAULT_EVENT_CAPACITY,
};
pub use error::{BindError, Error, RelationClosed};
pub use layer::{DatagramLayer, Delivery, LayerFactory, Plain, Wire};
pub use server::{IncomingRequests, Notifier, Responder, ServerRequest};

use crate::config::Config;
use crate::endpoint::Endpoint;
use client::Shared;
use command::Command;
use driver::{Driver, Sharing};
use routes::Routes;
use socket::{Socket, SocketOptions};

/// Settings of a [`UdpEndpoint`], and [`bind`](Self::bind).
///
/// ```
/// use lwm2m_transport::udp::UdpEndpoint;
/// use lwm2m_transport::Config;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let mut config = Config::default();
/// config.transmission.nstart = 8;
/// let endpoint = UdpEndpoint::builder()
///     .config(config)
///     .incoming_capacity(256)
///     .bind("[::1]:0".parse()?)
///     .await?;
/// assert!(endpoint.local_addr().is_ipv6());
/// endpoint.close().await;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Builder<F = fn(usize) -> Plain> {
    config: Config,
    sockets: usize,
    incoming_capacity: usize,
    notification_buffer: usize,
    options: SocketOptions,
    layer: F,
}

impl Default for Builder {
    fn default() -> Builder {
        Builder {
            config: Config::default(),
            sockets: 1,
            incoming_capacity: 1024,
            notification_buffer: 64,
            options: SocketOptions::default(),
            layer: |_| Plain,
        }
    }
}

impl<F: LayerFactory> Builder<F> {
    /// The endpoint configuration (each socket's endpoint gets a copy).
    #[must_use]
    pub fn config(mut self, config: Config) -> Builder<F> {
        self.config = config;
        self
    }

    /// Binds `count` sockets to the address with `SO_REUSEPORT`, each with its own driver task
    /// and endpoint (default 1). Use the number of cores for a busy server.
    ///
    /// The kernel spreads peers over the sockets by a hash of their addresses; a peer stays on
    /// one socket, so its exchanges, duplicate detection and observations stay in one
    /// endpoint. Each endpoint applies the [`Limits`](crate::Limits) on its own.
    #[must_use]
    pub fn sockets(mut self, count: usize) -> Builder<F> {
        self.sockets = count;
        self
    }

    /// How many incoming requests may wait unread in [`IncomingRequests`] before the driver
    /// answers new ones 5.03 (default 1024).
    #[must_use]
    pub fn incoming_capacity(mut self, capacity: usize) -> Builder<F> {
        self.incoming_capacity = capacity.max(1);
        self
    }

    /// How many unread notifications an [`Observation`] keeps (the oldest are dropped first;
    /// default 64).
    #[must_use]
    pub fn notification_buffer(mut self, count: usize) -> Builder<F> {
        self.notification_buffer = count.max(1);
        self
    }

    /// The sockets' receive buffer size (`SO_RCVBUF`), for bursts larger than the system
    /// default absorbs.
    #[must_use]
    pub fn recv_buffer_size(mut self, bytes: usize) -> Builder<F> {
        self.options.recv_buffer = Some(bytes);
        self
    }

    /// The sockets' send buffer size (`SO_SNDBUF`).
    #[must_use]
    pub fn send_buffer_size(mut self, bytes: usize) -> Builder<F> {
        self.options.send_buffer = Some(bytes);
        self
    }

    /// The [`DatagramLayer`] between each socket and its endpoint: `factory(i)` makes the
    /// layer of socket `i`. The default is [`Plain`].
    pub fn layer<G, M>(self, factory: G) -> Builder<G>
    where
        G: FnMut(usize) -> M,
        M: DatagramLayer,
    {
        self.with_factory(factory)
    }

    /// DTLS between each socket and its endpoint ([`DtlsLayer`]), with the roles and limits of
    /// `settings`; the [`DtlsEvents`] report handshakes (with the peer's identity), closes and
    /// failures of every socket. See [`DtlsLayer`] for an example.
    #[cfg(any(feature = "dtls-openssl", feature = "dtls-dimpl"))]
    pub fn dtls(self, settings: DtlsSettings) -> (Builder<DtlsFactory>, DtlsEvents) {
        let (factory, events) = settings.into_factory();
        (self.with_factory(factory), events)
    }

    /// [`dtls`](Self::dtls) as a server only: accepts clients with `config`.
    #[cfg(any(feature = "dtls-openssl", feature = "dtls-dimpl"))]
    pub fn dtls_server(
        self,
        config: crate::dtls::ServerConfig,
    ) -> (Builder<DtlsFactory>, DtlsEvents) {
        self.dtls(DtlsSettings::server(config))
    }

    /// [`dtls`](Self::dtls) as a client only: connects to the peers it sends to with `config`.
    #[cfg(any(feature = "dtls-openssl", feature = "dtls-dimpl"))]
    pub fn dtls_client(
        self,
        config: crate::dtls::ClientConfig,
    ) -> (Builder<DtlsFactory>, DtlsEvents) {
        self.dtls(DtlsSettings::client(config))
    }

    /// Any [`LayerFactory`] (e.g. one whose layers can fail to build).
    pub fn with_factory<G: LayerFactory>(self, factory: G) -> Builder<G> {
        Builder {
            config: self.config,
            sockets: self.sockets,
            incoming_capacity: self.incoming_capacity,
            notification_buffer: self.notification_buffer,
            options: self.options,
            layer: factory,
        }
    }

    /// Binds the socket(s) (port 0 picks a free port, shared by all sockets) and starts the
    /// driver task(s) on the current tokio runtime.
    #[allow(
        clippy::unused_async,
        reason = "async so that it runs inside the runtime the sockets register with"
    )]
    pub async fn bind(mut self, addr: SocketAddr) -> Result<UdpEndpoint, BindError> {
        if self.sockets == 0 {
            return Err(BindError::NoSockets);
        }
        self.config
            .validate()
            .map_err(|e| BindError::Endpoint(crate::error::EndpointError::Config(e.to_string())))?;
        let options = SocketOptions {
            reuse_port: self.sockets > 1,
            ..self.options
        };
        let bind_error = |addr, source| BindError::Io { addr, source };
        let first = Socket::bind(addr, options).map_err(|e| bind_error(addr, e))?;
        let local_addr = first.local_addr();
        let mut sockets = vec![first];
        for _ in 1..self.sockets {
            let socket =
                Socket::bind(local_addr, options).map_err(|e| bind_error(local_addr, e))?;
            sockets.push(socket);
        }
        let mut endpoints = Vec::with_capacity(sockets.len());
        for _ in &sockets {
            endpoints.push(Endpoint::with_entropy(self.config.clone())?);
        }
        let channels: Vec<_> = sockets.iter().map(|_| mpsc::unbounded_channel()).collect();
        let senders: Vec<mpsc::UnboundedSender<Command>> =
            channels.iter().map(|(tx, _)| tx.clone()).collect();
        let routes = (self.sockets > 1).then(|| {
            let max = self.config.limits.max_peers.saturating_mul(self.sockets);
            Arc::new(Routes::new(self.sockets, max))
        });
        let mut tasks = Vec::with_capacity(sockets.len());
        let parts = sockets.into_iter().zip(endpoints).zip(channels);
        for (index, ((socket, endpoint), (me, commands))) in parts.enumerate() {
            let sharing = routes.as_ref().map(|routes| Sharing {
                index,
                routes: Arc::clone(routes),
                siblings: senders.clone(),
                max_owned: self.config.limits.max_peers,
            });
            let layer = self.layer.make(index)?;
            let driver = Driver::new(endpoint, layer, socket, commands, me, sharing);
            tasks.push(tokio::spawn(driver.run()));
        }
        let shared = Shared::new(senders, routes, local_addr, self.notification_buffer);
        Ok(UdpEndpoint {
            handle: Handle {
                shared: Arc::new(shared),
            },
            incoming_capacity: self.incoming_capacity,
            tasks,
        })
    }
}

/// A CoAP endpoint on UDP socket(s), run by driver task(s). See the [module](self) docs.
///
/// Dropping it stops the drivers (like [`close`](Self::close), without waiting).
#[derive(Debug)]
pub struct UdpEndpoint {
    handle: Handle,
    incoming_capacity: usize,
    tasks: Vec<JoinHandle<()>>,
}

impl UdpEndpoint {
    /// Binds one socket to `addr` with the default [`Config`] and starts its driver.
    pub async fn bind(addr: SocketAddr) -> Result<UdpEndpoint, BindError> {
        Builder::default().bind(addr).await
    }

    /// Settings beyond the defaults.
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// The local address (with the port the system picked for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.handle.local_addr()
    }

    /// A handle to send requests with (cheap to clone, usable from any task).
    pub fn handle(&self) -> Handle {
        self.handle.clone()
    }

    /// The stream of requests peers send. Until it is called (and after the stream is dropped)
    /// the driver answers requests 5.03 itself; calling it again replaces the previous stream,
    /// which ends.
    pub fn incoming(&self) -> IncomingRequests {
        let (sender, receiver) = mpsc::channel(self.incoming_capacity);
        for driver in &self.handle.shared.drivers {
            let _ = driver.send(Command::Listen {
                sender: sender.clone(),
            });
        }
        IncomingRequests { receiver }
    }

    /// Stops the drivers: pending requests fail with [`Error::Closed`], observation streams and
    /// the incoming stream end, notifiers report [`RelationClosed::EndpointClosed`], and
    /// datagrams already queued are sent. Returns when every driver task has finished.
    pub async fn close(mut self) {
        let mut done = Vec::new();
        for driver in &self.handle.shared.drivers {
            let (tx, rx) = oneshot::channel();
            if driver.send(Command::Close { done: tx }).is_ok() {
                done.push(rx);
            }
        }
        for rx in done {
            let _ = rx.await;
        }
        for task in std::mem::take(&mut self.tasks) {
            let _ = task.await;
        }
    }
}

impl Drop for UdpEndpoint {
    fn drop(&mut self) {
        if self.tasks.is_empty() {
            return;
        }
        for driver in &self.handle.shared.drivers {
            let (done, _) = oneshot::channel();
            let _ = driver.send(Command::Close { done });
        }
    }
}
