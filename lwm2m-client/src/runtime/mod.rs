//! The tokio runtime (feature `tokio`, on by default): a [`ClientTask`] owns a UDP socket and a
//! sans-IO [`Client`], and runs its loop — datagrams in, transmits out, a sleep until the next
//! deadline — while the application talks to it through a [`ClientHandle`] and receives
//! [`RuntimeEvent`]s on a channel.
//!
//! One task per client and no thread of its own: a fleet of thousands of simulated devices runs
//! on one tokio runtime, each task holding little more than its client and its socket.
//!
//! ```no_run
//! use lwm2m_client::runtime::run_client;
//! use lwm2m_client::{ClientBuilder, DeviceObject, ServerAccount};
//! use lwm2m_objects::Device;
//! use std::time::Duration;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let device = DeviceObject::new(Device { supported_binding_and_modes: "U".into(), ..Device::default() });
//! let client = ClientBuilder::new("node1")
//!     .server(ServerAccount::new(101, "127.0.0.1:5683".parse()?).lifetime(300))
//!     .object(device)
//!     .build()?;
//! let socket = tokio::net::UdpSocket::bind("0.0.0.0:0").await?;
//! let (handle, mut events, task) = run_client(client, socket);
//! if let Some(event) = events.recv().await {
//!     println!("{:?}", event.event);
//! }
//! handle
//!     .update_object(3, |device: &mut DeviceObject| device.device_mut().battery_level = Some(80))
//!     .await?;
//! handle.shutdown(Duration::from_secs(5)).await?;
//! task.await??;
//! # Ok(())
//! # }
//! ```

use std::collections::BTreeSet;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use lwm2m_model::Path;
use lwm2m_transport::{Clock, Instant};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};

#[cfg(feature = "dtls")]
mod dtls;
#[cfg(feature = "dtls")]
pub use dtls::default_backend as default_dtls_backend;
#[cfg(feature = "http")]
mod firmware;
mod mailbox;

use mailbox::{Command, Mailbox};
use std::sync::Arc;
use tokio::task::JoinHandle;

use crate::client::{Client, ClientEvent};
use crate::object::ObjectHandler;

/// The largest datagram the task receives; CoAP over UDP stays well below (RFC 7252 §4.6).
const RECV_BUFFER: usize = 2048;

/// How many events [`run_client`] buffers for a slow reader before it drops them.
const EVENT_CAPACITY: usize = 64;

/// A [`ClientEvent`] and the client it comes from (the id given to
/// [`ClientTask::events`]; 0 for [`run_client`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeEvent {
    /// The id of the client.
    pub client: usize,
    /// What happened.
    pub event: ClientEvent,
}

/// The client task is gone (it stopped, failed or was aborted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the client task is no longer running")]
pub struct TaskClosed;

/// Why a [`ClientTask`] stopped with an error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RuntimeError {
    /// The socket has no local address (it is not bound).
    #[error("the client socket is not usable: {0}")]
    Socket(#[source] io::Error),
    /// The DTLS session with a server failed: the handshake was refused (a wrong pre-shared
    /// key), timed out, or the session got a fatal alert.
    #[cfg(feature = "dtls")]
    #[error("DTLS with {peer} failed: {source}")]
    Dtls {
        /// The server.
        peer: SocketAddr,
        /// What failed.
        #[source]
        source: lwm2m_transport::dtls::DtlsError,
    },
    /// The pre-shared key of a server is not usable (empty, or longer than DTLS allows).
    #[cfg(feature = "dtls")]
    #[error("the DTLS credentials for {peer} are refused: {source}")]
    DtlsConfig {
        /// The server.
        peer: SocketAddr,
        /// Why.
        #[source]
        source: lwm2m_transport::dtls::ConfigError,
    },
    /// A server's Security instance asks for DTLS (a pre-shared key) but this build has no
    /// DTLS (feature `dtls`).
    #[cfg(not(feature = "dtls"))]
    #[error("{peer} needs DTLS, which this build of lwm2m-client lacks (feature `dtls`)")]
    NoDtls {
        /// The server.
        peer: SocketAddr,
    },
}

type ClientFn = Box<dyn FnOnce(&mut Client<SocketAddr>, Instant) + Send>;

/// Talks to a running [`ClientTask`]: changes objects, reports changed values, stops it.
///
/// Cheap to clone; every clone reaches the same task. When the last handle is dropped the task
/// de-registers and stops, as after [`shutdown`](Self::shutdown) with the default 5 s bound.
pub struct ClientHandle {
    mailbox: Arc<Mailbox>,
}

impl Clone for ClientHandle {
    fn clone(&self) -> Self {
        self.mailbox.handle_cloned();
        ClientHandle {
            mailbox: Arc::clone(&self.mailbox),
        }
    }
}

impl Drop for ClientHandle {
    fn drop(&mut self) {
        self.mailbox.handle_dropped();
    }
}

impl fmt::Debug for ClientHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientHandle")
            .field("closed", &self.mailbox.is_closed())
            .finish()
    }
}

impl ClientHandle {
    /// Runs `f` on the client inside its task, with the current time, and returns its result.
    /// Whatever it changes is processed right after (observations, Updates).
    pub async fn with_client<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Client<SocketAddr>, Instant) -> R + Send + 'static,
    ) -> Result<R, TaskClosed> {
        let (tx, rx) = oneshot::channel();
        self.send(Box::new(move |client, now| {
            let _ = tx.send(f(client, now));
        }))?;
        rx.await.map_err(|_| TaskClosed)
    }

    /// Runs `f` on the client without waiting for it (fire and forget; a fleet's simulation
    /// loop uses this to avoid a round trip per device).
    pub fn spawn_with_client(
        &self,
        f: impl FnOnce(&mut Client<SocketAddr>, Instant) + Send + 'static,
    ) -> Result<(), TaskClosed> {
        self.send(Box::new(f))
    }

    /// Changes object `object_id` through its concrete type `H` and reports the change
    /// ([`Client::update_object`]): observations of the object fire as their attributes allow.
    /// `Ok(None)`: the client has no such object of type `H`.
    pub async fn update_object<H: ObjectHandler, R: Send + 'static>(
        &self,
        object_id: u16,
        change: impl FnOnce(&mut H) -> R + Send + 'static,
    ) -> Result<Option<R>, TaskClosed> {
        self.with_client(move |client, now| client.update_object(now, object_id, change))
            .await
    }

    /// Reports that the value at `path` changed ([`Client::changed`]).
    pub fn changed(&self, path: Path) -> Result<(), TaskClosed> {
        self.send(Box::new(move |client, now| client.changed(now, path)))
    }

    /// Sends an Update to every registered server ([`Client::trigger_update`]).
    pub fn trigger_update(&self) -> Result<(), TaskClosed> {
        self.send(Box::new(Client::trigger_update))
    }

    /// De-registers from every server, waits for the answers (at most `wait`), and stops the
    /// task. Returns once the task has stopped.
    pub async fn shutdown(&self, wait: Duration) -> Result<(), TaskClosed> {
        let (tx, rx) = oneshot::channel();
        self.mailbox.post(Command::Shutdown(wait, tx))?;
        rx.await.map_err(|_| TaskClosed)
    }

    /// Whether the task has stopped.
    pub fn is_closed(&self) -> bool {
        self.mailbox.is_closed()
    }

    fn send(&self, f: ClientFn) -> Result<(), TaskClosed> {
        self.mailbox.post(Command::With(f))
    }
}

/// The task that drives one [`Client`] on one UDP socket. Create it with [`new`](Self::new),
/// optionally route its events with [`events`](Self::events), then `.await` [`run`](Self::run)
/// (or `tokio::spawn` it). [`run_client`] does all of that.
pub struct ClientTask {
    /// Boxed so that the task's future stays small however the client grows.
    client: Box<Client<SocketAddr>>,
    socket: UdpSocket,
    mailbox: Arc<Mailbox>,
    events: Option<(usize, mpsc::Sender<RuntimeEvent>)>,
    clock: Clock,
    dropped_events: u64,
    /// The DTLS sessions with `coaps://` servers; made when the first one is needed, so a
    /// `NoSec` client (a fleet device) carries none.
    #[cfg(feature = "dtls")]
    dtls: Option<Box<dtls::DtlsLayer>>,
    /// The CAs of `https://` firmware downloads.
    #[cfg(feature = "http")]
    https_trust: crate::firmware::http::HttpsTrust,
}

impl fmt::Debug for ClientTask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientTask")
            .field("client", &self.client)
            .field("socket", &self.socket.local_addr().ok())
            .finish_non_exhaustive()
    }
}

impl Drop for ClientTask {
    /// A task dropped without running to the end (aborted) fails the requests still waiting.
    fn drop(&mut self) {
        drop(self.mailbox.close());
    }
}

/// The wait for a De-register when the last [`ClientHandle`] is dropped.
const DEFAULT_SHUTDOWN_WAIT: Duration = Duration::from_secs(5);

impl ClientTask {
    /// A task for `client` on `socket` (bound, unconnected: the client may talk to several
    /// servers), and the handle that controls it. The client's time origin is now, so its
    /// first Register goes out as soon as the task runs.
    pub fn new(client: Client<SocketAddr>, socket: UdpSocket) -> (ClientTask, ClientHandle) {
        let mailbox = Arc::new(Mailbox::new());
        let task = ClientTask {
            client: Box::new(client),
            socket,
            mailbox: Arc::clone(&mailbox),
            events: None,
            clock: Clock::new(),
            dropped_events: 0,
            #[cfg(feature = "dtls")]
            dtls: None,
            #[cfg(feature = "http")]
            https_trust: crate::firmware::http::HttpsTrust::default(),
        };
        (task, ClientHandle { mailbox })
    }

    /// Sends the client's events, tagged with `id`, to `sender` (several tasks may share one
    /// channel). Without it they are only logged. An event that finds the channel full is
    /// dropped (and counted in the log), so a slow reader never stalls the client.
    #[must_use]
    pub fn events(mut self, id: usize, sender: mpsc::Sender<RuntimeEvent>) -> Self {
        self.events = Some((id, sender));
        self
    }

    /// The caps and timeouts of the DTLS sessions (the handshake timeout above all: a server
    /// that never answers the handshake fails the task after it). Default: [`Limits::default`].
    ///
    /// [`Limits::default`]: lwm2m_transport::dtls::Limits
    #[cfg(feature = "dtls")]
    #[must_use]
    pub fn dtls_limits(mut self, limits: lwm2m_transport::dtls::Limits) -> Self {
        self.dtls
            .get_or_insert_with(Box::default)
            .set_limits(limits);
        self
    }

    /// The DTLS library of the task's sessions. Default: [`default_dtls_backend`], OpenSSL
    /// with the feature `dtls-openssl` (on with `cli`), else dimpl. OpenSSL's hello signals
    /// RFC 5746 secure renegotiation, which tinydtls servers (aiocoap, Wakaama-era peers)
    /// require; dimpl's does not, so they refuse it, but a dimpl session takes a few KiB
    /// where an OpenSSL one takes 50 to 120 KiB. A backend whose transport feature is off
    /// stops the task at the first `coaps://` datagram with [`RuntimeError::DtlsConfig`].
    #[cfg(feature = "dtls")]
    #[must_use]
    pub fn dtls_backend(mut self, backend: lwm2m_transport::dtls::Backend) -> Self {
        self.dtls
            .get_or_insert_with(Box::default)
            .set_backend(backend);
        self
    }

    /// The certificate authorities `https://` firmware downloads trust (feature `http`).
    /// Default: the Mozilla roots.
    #[cfg(feature = "http")]
    #[must_use]
    pub fn https_trust(mut self, trust: crate::firmware::http::HttpsTrust) -> Self {
        self.https_trust = trust;
        self
    }

    /// Runs the client until it is shut down (through a handle, or when every handle is
    /// dropped). A socket without a local address is logged and returned as an error. Socket send and receive errors are logged and survived: UDP loses datagrams
    /// anyway, and the client retransmits.
    pub async fn run(mut self) -> Result<(), RuntimeError> {
        let name = self.client.endpoint_name().to_owned();
        let local = match self.socket.local_addr() {
            Ok(local) => local,
            Err(error) => {
                tracing::error!(endpoint = %name, %error, "the client socket is not usable");
                return Err(RuntimeError::Socket(error));
            }
        };
        tracing::debug!(endpoint = %name, %local, "client task started");
        // Set once shutting down: when to give up, the servers still to answer, who to tell.
        let mut stopping: Option<(
            tokio::time::Instant,
            BTreeSet<u16>,
            Option<oneshot::Sender<()>>,
        )> = None;
        loop {
            if let Err(error) = self.flush().await {
                tracing::error!(endpoint = %name, %error, "client task failed");
                return Err(error);
            }
            if let Some((_, waiting, _)) = &mut stopping {
                self.drain_events(Some(waiting));
                if waiting.is_empty() {
                    break;
                }
            } else {
                self.drain_events(None);
            }
            let next = self
                .next_deadline()
                .map(|at| tokio::time::Instant::from_std(self.clock.to_std(at)));
            let give_up = stopping.as_ref().map(|(at, _, _)| *at);
            tokio::select! {
                ready = self.socket.readable() => match ready {
                    Ok(()) => {
                        if let Err(error) = self.receive() {
                            tracing::error!(endpoint = %name, %error, "client task failed");
                            return Err(error);
                        }
                    }
                    Err(error) => tracing::debug!(endpoint = %name, %error, "socket not readable"),
                },
                () = sleep_until(next) => {
                    if let Err(error) = self.handle_timeout() {
                        tracing::error!(endpoint = %name, %error, "client task failed");
                        return Err(error);
                    }
                }
                () = self.mailbox.wait(), if stopping.is_none() => {
                    let Some((wait, answer)) = self.run_commands() else {
                        continue;
                    };
                    let waiting: BTreeSet<u16> = self
                        .client
                        .server_ids()
                        .filter(|&ssid| self.client.is_registered(ssid))
                        .collect();
                    tracing::debug!(endpoint = %name, servers = waiting.len(), "de-registering");
                    self.client.shutdown(self.clock.now());
                    stopping = Some((tokio::time::Instant::now() + wait, waiting, answer));
                }
                () = sleep_until(give_up) => {
                    tracing::warn!(endpoint = %name, "no answer to De-register in time; stopping anyway");
                    break;
                }
            }
        }
        if self.dropped_events > 0 {
            tracing::debug!(endpoint = %name, dropped = self.dropped_events, "events dropped on a full channel");
        }
        if let Some((_, _, Some(answer))) = stopping {
            let _ = answer.send(());
        }
        // Later shutdown requests are answered too: the task has stopped, as they asked.
        for command in self.mailbox.close() {
            if let Command::Shutdown(_, answer) = command {
                let _ = answer.send(());
            }
        }
        tracing::debug!(endpoint = %name, "client task stopped");
        Ok(())
    }

    /// Runs the queued commands up to a shutdown; returns the shutdown's wait and whom to tell
    /// (no one when the last handle went away).
    fn run_commands(&mut self) -> Option<(Duration, Option<oneshot::Sender<()>>)> {
        while let Some(command) = self.mailbox.take() {
            match command {
                Command::With(f) => f(&mut self.client, self.clock.now()),
                Command::Shutdown(wait, answer) => return Some((wait, Some(answer))),
            }
        }
        self.mailbox
            .orphaned()
            .then_some((DEFAULT_SHUTDOWN_WAIT, None))
    }

    /// Feeds the client every datagram waiting on the socket. The buffer lives on the stack of
    /// this synchronous call, not in the task: a fleet of idle clients holds no receive buffers.
    fn receive(&mut self) -> Result<(), RuntimeError> {
        let mut buf = [0u8; RECV_BUFFER];
        // Bounded, so one busy socket cannot starve the rest of the loop.
        for _ in 0..64 {
            match self.socket.try_recv_from(&mut buf) {
                Ok((len, peer)) => {
                    let datagram = buf.get(..len).unwrap_or_default();
                    self.deliver(peer, datagram)?;
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => break,
                Err(error) => {
                    tracing::debug!(endpoint = %self.client.endpoint_name(), %error, "receive failed");
                    break;
                }
            }
        }
        Ok(())
    }

    /// A datagram from `peer` for the client (decrypted first for a DTLS server).
    #[cfg(feature = "dtls")]
    fn deliver(&mut self, peer: SocketAddr, datagram: &[u8]) -> Result<(), RuntimeError> {
        let now = self.clock.now();
        let Some(layer) = self.dtls.as_mut() else {
            self.client.handle_datagram(now, peer, datagram);
            return Ok(());
        };
        let incoming = layer.incoming(&self.client, now, peer, datagram)?;
        if incoming.new_session {
            self.client.new_session(&peer);
        }
        for plain in incoming.data {
            self.client.handle_datagram(now, peer, &plain);
        }
        Ok(())
    }

    /// A datagram from `peer` for the client.
    #[cfg(not(feature = "dtls"))]
    #[allow(clippy::unnecessary_wraps, reason = "the same signature as with DTLS")]
    fn deliver(&mut self, peer: SocketAddr, datagram: &[u8]) -> Result<(), RuntimeError> {
        self.client
            .handle_datagram(self.clock.now(), peer, datagram);
        Ok(())
    }

    /// The next deadline of the client and of its DTLS sessions.
    fn next_deadline(&self) -> Option<Instant> {
        let client = self.client.poll_timeout();
        #[cfg(feature = "dtls")]
        {
            [client, self.dtls.as_ref().and_then(|d| d.poll_timeout())]
                .into_iter()
                .flatten()
                .min()
        }
        #[cfg(not(feature = "dtls"))]
        {
            client
        }
    }

    /// Time passed: the DTLS sessions' timers, then the client's.
    #[allow(clippy::unnecessary_wraps, reason = "fails only with DTLS")]
    fn handle_timeout(&mut self) -> Result<(), RuntimeError> {
        let now = self.clock.now();
        #[cfg(feature = "dtls")]
        if let Some(layer) = self.dtls.as_mut() {
            for (peer, plain) in layer.handle_timeout(now)? {
                self.client.handle_datagram(now, peer, &plain);
            }
        }
        self.client.handle_timeout(now);
        Ok(())
    }

    /// Sends everything the client has queued (through DTLS for a `coaps://` server or
    /// firmware download).
    async fn flush(&mut self) -> Result<(), RuntimeError> {
        #[cfg(feature = "dtls")]
        self.report_dtls_failures();
        while let Some(transmit) = self.client.poll_transmit() {
            let destination = transmit.destination;
            #[cfg(feature = "dtls")]
            let contents = {
                let now = self.clock.now();
                if self.dtls.is_none()
                    && (self.client.dtls_credentials(&destination).is_some()
                        || self
                            .client
                            .firmware_dtls_credentials(&destination)
                            .is_some())
                {
                    self.dtls = Some(Box::default());
                }
                let outgoing = match self.dtls.as_mut() {
                    Some(layer) => {
                        layer.outgoing(&self.client, now, destination, transmit.contents)?
                    }
                    None => Some(transmit.contents),
                };
                // A download's session that could not start fails the download, which may
                // queue notifications: the loop sends them.
                self.report_dtls_failures();
                match outgoing {
                    Some(plain) => plain,
                    None => continue,
                }
            };
            #[cfg(not(feature = "dtls"))]
            let contents = {
                if self.client.dtls_credentials(&destination).is_some() {
                    return Err(RuntimeError::NoDtls { peer: destination });
                }
                if self
                    .client
                    .firmware_dtls_credentials(&destination)
                    .is_some()
                {
                    // Only a FirmwareObject told to list CoAPS gets here: never in clear.
                    self.client.firmware_transport_failed(
                        self.clock.now(),
                        &destination,
                        crate::firmware::FirmwareError::UnsupportedProtocol(
                            "coaps: this build of lwm2m-client has no DTLS (feature `dtls`)".into(),
                        ),
                    );
                    continue;
                }
                transmit.contents
            };
            self.send(destination, &contents).await;
        }
        #[cfg(feature = "dtls")]
        if let Some(layer) = self.dtls.as_mut() {
            layer.retire(&self.client, self.clock.now());
            for (destination, record) in layer.take_transmits() {
                self.send(destination, &record).await;
            }
        }
        Ok(())
    }

    /// Fails the firmware downloads whose DTLS session could not be made or kept up.
    #[cfg(feature = "dtls")]
    fn report_dtls_failures(&mut self) {
        let Some(layer) = self.dtls.as_mut() else {
            return;
        };
        let failed = layer.take_failed();
        if failed.is_empty() {
            return;
        }
        let now = self.clock.now();
        for (peer, error) in failed {
            tracing::warn!(endpoint = %self.client.endpoint_name(), %peer, %error, "firmware download failed");
            self.client.firmware_transport_failed(now, &peer, error);
        }
    }

    async fn send(&mut self, destination: SocketAddr, datagram: &[u8]) {
        // Only the socket is borrowed across the await: the client is not `Sync`.
        let sent = self.socket.send_to(datagram, destination).await;
        if let Err(error) = sent {
            tracing::debug!(
                endpoint = %self.client.endpoint_name(),
                %destination,
                %error,
                "send failed"
            );
        }
    }

    /// Hands the client's events on; while stopping, crosses off the servers that answered.
    fn drain_events(&mut self, mut waiting: Option<&mut BTreeSet<u16>>) {
        while let Some(event) = self.client.poll_event() {
            log_event(self.client.endpoint_name(), &event);
            #[cfg(feature = "http")]
            if let ClientEvent::FirmwareDownloadRequested { download, uri } = &event {
                let (mailbox, trust) = (Arc::clone(&self.mailbox), self.https_trust.clone());
                firmware::spawn_http_download(mailbox, trust, *download, uri.clone());
            }
            if let (Some(waiting), ClientEvent::Deregistered { ssid }) =
                (waiting.as_deref_mut(), &event)
            {
                waiting.remove(ssid);
            }
            if let Some((id, sender)) = &self.events {
                let tagged = RuntimeEvent { client: *id, event };
                if sender.try_send(tagged).is_err() {
                    self.dropped_events += 1;
                }
            }
        }
    }
}

/// Sleeps until `at`, or forever without a deadline.
async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

fn log_event(endpoint: &str, event: &ClientEvent) {
    match event {
        ClientEvent::Registered { ssid, location } => {
            tracing::debug!(endpoint, ssid, location = %location, "registered");
        }
        ClientEvent::RegistrationFailed {
            ssid,
            reason,
            retry_at,
        } => tracing::warn!(endpoint, ssid, %reason, retry_at = %retry_at, "registration failed"),
        other => tracing::debug!(endpoint, event = ?other, "client event"),
    }
}

/// Spawns a [`ClientTask`] for `client` on `socket` on the current tokio runtime: the handle,
/// the client's events (tagged with id 0; at most 64 waiting, the rest dropped), and the task.
///
/// # Panics
///
/// Outside a tokio runtime (like `tokio::spawn`).
pub fn run_client(
    client: Client<SocketAddr>,
    socket: UdpSocket,
) -> (
    ClientHandle,
    mpsc::Receiver<RuntimeEvent>,
    JoinHandle<Result<(), RuntimeError>>,
) {
    let (events_tx, events_rx) = mpsc::channel(EVENT_CAPACITY);
    let (task, handle) = ClientTask::new(client, socket);
    let task = tokio::spawn(task.events(0, events_tx).run());
    (handle, events_rx, task)
}
