//! The tokio server runtime: [`Server`] binds a UDP endpoint, answers the registration interface
//! with the [`Registrar`], runs its expiry timer, and publishes [`ServerEvent`]s; a cloneable
//! [`ServerHandle`] runs device-management operations on registered clients by endpoint name
//! (see [`dm`](ServerHandle::read)).
//!
//! ```
//! use lwm2m_server::server::Server;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let server = Server::builder().bind("127.0.0.1:0".parse()?).await?;
//! let handle = server.handle();
//! assert!(handle.clients().is_empty());
//! let error = handle.read("nobody", lwm2m_model::Path::parse("/3/0")?, None).await.unwrap_err();
//! assert!(matches!(error, lwm2m_server::server::DmError::UnknownEndpoint(_)));
//! server.shutdown().await;
//! # Ok(())
//! # }
//! ```

mod dm;
mod error;
mod observe;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use lwm2m_codec::coap::Code;
use lwm2m_model::content::Content;
use lwm2m_model::{Path, Registry};
use lwm2m_transport::udp::{Handle, ServerRequest, UdpEndpoint};
use lwm2m_transport::Response;
use tokio::sync::{broadcast, oneshot};
use tokio::task::JoinHandle;

pub use dm::{DiscoveredLink, WriteMode};
pub use error::DmError;
pub use observe::ObservationStream;

use crate::registration::{Registrar, RegistrarBuilder, Registration, RegistrationEvent};
use crate::Timestamp;

/// Something the server reports through [`Server::events`] / [`ServerHandle::events`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ServerEvent {
    /// A registration changed (register, update, de-register, expiry).
    Registration(RegistrationEvent),
    /// A notification of an observation made with [`ServerHandle::observe`].
    Notification {
        /// The client's endpoint name.
        endpoint: Arc<str>,
        /// The observed path.
        path: Path,
        /// The decoded value.
        content: Arc<Content>,
    },
}

/// The server could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The UDP socket cannot be bound.
    #[error(transparent)]
    Bind(#[from] lwm2m_transport::udp::BindError),
    /// The registrar cannot start (its store cannot be read).
    #[error(transparent)]
    Registrar(#[from] crate::registration::RegistrarError),
    /// The object definitions directory cannot be loaded.
    #[error("cannot load object definitions: {0}")]
    Definitions(String),
}

/// Settings of a [`Server`]; start it with [`bind`](Self::bind).
pub struct ServerBuilder {
    registrar: RegistrarBuilder,
    definitions: Option<PathBuf>,
    timeout: Duration,
    event_capacity: usize,
}

impl core::fmt::Debug for ServerBuilder {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ServerBuilder")
            .field("definitions", &self.definitions)
            .field("timeout", &self.timeout)
            .field("event_capacity", &self.event_capacity)
            .finish_non_exhaustive()
    }
}

impl ServerBuilder {
    /// The registrar (its store, configuration and identity check).
    #[must_use]
    pub fn registrar(mut self, registrar: RegistrarBuilder) -> Self {
        self.registrar = registrar;
        self
    }

    /// A directory of OMA object definition XML files, read at start, whose objects are added to
    /// (or replace those of) [`lwm2m_objects::core_registry`] for decoding payloads.
    #[must_use]
    pub fn object_definitions(mut self, dir: impl Into<PathBuf>) -> Self {
        self.definitions = Some(dir.into());
        self
    }

    /// How long a device-management request may take before it fails with
    /// [`DmError::Timeout`] (default 30 s; CoAP retransmissions happen within it).
    #[must_use]
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How many [`ServerEvent`]s a slow subscriber may lag behind before it misses some
    /// (default 1024).
    #[must_use]
    pub fn event_capacity(mut self, capacity: usize) -> Self {
        self.event_capacity = capacity.max(1);
        self
    }

    /// Binds the UDP socket and starts the server task on the current tokio runtime.
    pub async fn bind(self, addr: SocketAddr) -> Result<Server, StartError> {
        let mut registry = lwm2m_objects::core_registry();
        if let Some(dir) = &self.definitions {
            let extra =
                Registry::load_dir(dir).map_err(|e| StartError::Definitions(e.to_string()))?;
            for definition in extra.objects() {
                registry
                    .insert(definition.clone())
                    .map_err(|e| StartError::Definitions(e.to_string()))?;
            }
        }
        let registrar = self.registrar.build(Timestamp::now())?;
        let endpoint = UdpEndpoint::bind(addr).await?;
        let (events, _) = broadcast::channel(self.event_capacity);
        let shared = Arc::new(Shared {
            registrar: Mutex::new(registrar),
            registry,
            transport: endpoint.handle(),
            events: events.clone(),
            timeout: self.timeout,
            observations: Mutex::new(HashMap::new()),
        });
        // Registrations restored from the store expired while the server was down: report them.
        shared.publish_registrar_events();
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(run(endpoint, Arc::clone(&shared), stopped));
        Ok(Server {
            handle: ServerHandle { shared },
            stop: Some(stop),
            task: Some(task),
            local_addr: None,
        }
        .with_addr())
    }
}

/// The state the server task and every [`ServerHandle`] share.
#[derive(Debug)]
struct Shared {
    registrar: Mutex<Registrar>,
    registry: Registry,
    transport: Handle,
    events: broadcast::Sender<ServerEvent>,
    timeout: Duration,
    /// Cancel switches of the running observations by (endpoint, path).
    observations: Mutex<CancelSwitches>,
}

/// The cancel switch of each running observation, by endpoint name and path.
type CancelSwitches = HashMap<(Arc<str>, Path), oneshot::Sender<()>>;

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves consistent data (every change is one call).
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    fn publish_registrar_events(&self) {
        let mut drained = Vec::new();
        {
            let mut registrar = lock(&self.registrar);
            while let Some(event) = registrar.poll_event() {
                drained.push(event);
            }
        }
        for event in drained {
            log_event(&event);
            if !matches!(event, RegistrationEvent::Updated { .. }) {
                // The client's observations are void once its registration is gone or replaced.
                self.cancel_all(event.registration().endpoint());
            }
            let _ = self.events.send(ServerEvent::Registration(event));
        }
    }

    fn cancel_all(&self, endpoint: &str) {
        lock(&self.observations).retain(|(ep, _), _| &**ep != endpoint);
    }

    /// Answers the requests that were waiting together: those on `/rd` as one registrar batch
    /// (one store transaction, written before any of them is answered), the others 4.04.
    fn handle_requests(&self, requests: Vec<ServerRequest>) {
        let mut registration = Vec::with_capacity(requests.len());
        for request in requests {
            let is_rd = request
                .request
                .message()
                .is_ok_and(|m| Registrar::is_registration_request(&m));
            if is_rd {
                registration.push(request);
            } else {
                let _ = request.responder.respond(Response::new(Code::NOT_FOUND));
            }
        }
        if !registration.is_empty() {
            let answers = lock(&self.registrar).handle_incoming_batch(
                Timestamp::now(),
                registration.iter().map(|r| (r.peer, &r.request)),
            );
            for (request, answer) in registration.into_iter().zip(answers) {
                if let Some(refusal) = answer.refusal() {
                    let peer = request.peer;
                    tracing::debug!(%peer, code = %answer.code(), %refusal, "registration request refused");
                }
                let _ = request.responder.respond(answer.to_response());
            }
        }
        self.publish_registrar_events();
    }
}

fn log_event(event: &RegistrationEvent) {
    match event {
        RegistrationEvent::Registered {
            registration,
            replaced,
        } => tracing::info!(
            endpoint = registration.endpoint(),
            id = %registration.id(),
            peer = %registration.peer(),
            lifetime = registration.lifetime(),
            objects = %registration.object_links(),
            replaced = replaced.is_some(),
            "registered"
        ),
        RegistrationEvent::Updated { current, .. } => tracing::info!(
            endpoint = current.endpoint(),
            id = %current.id(),
            peer = %current.peer(),
            "registration updated"
        ),
        RegistrationEvent::Deregistered { registration } => tracing::info!(
            endpoint = registration.endpoint(),
            id = %registration.id(),
            "de-registered"
        ),
        RegistrationEvent::Expired { registration } => tracing::info!(
            endpoint = registration.endpoint(),
            id = %registration.id(),
            "registration expired"
        ),
    }
}

/// Most requests answered with one registrar batch (one store transaction).
const MAX_BATCH: usize = 1024;

/// The server task: requests in, registrar timers, until stopped.
async fn run(endpoint: UdpEndpoint, shared: Arc<Shared>, mut stop: oneshot::Receiver<()>) {
    let mut incoming = endpoint.incoming();
    loop {
        let deadline = lock(&shared.registrar).poll_timeout();
        let sleep = deadline.map_or(Duration::from_secs(3600), |at| {
            at.saturating_duration_since(Timestamp::now())
        });
        tokio::select! {
            _ = &mut stop => break,
            request = incoming.next() => match request {
                Some(request) => {
                    // Whatever else is waiting joins this batch (group commit).
                    let mut requests = vec![request];
                    while requests.len() < MAX_BATCH {
                        match incoming.try_next() {
                            Ok(Some(request)) => requests.push(request),
                            _ => break,
                        }
                    }
                    shared.handle_requests(requests);
                }
                None => break,
            },
            () = tokio::time::sleep(sleep) => {
                lock(&shared.registrar).handle_timeout(Timestamp::now());
                shared.publish_registrar_events();
            }
        }
    }
    lock(&shared.observations).clear();
    endpoint.close().await;
}

/// A running LwM2M server. See the [module](self) docs.
///
/// Dropping it stops the server task without waiting; [`shutdown`](Self::shutdown) waits.
#[derive(Debug)]
pub struct Server {
    handle: ServerHandle,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
    local_addr: Option<SocketAddr>,
}

impl Server {
    /// A builder with the defaults (no store, 30 s request timeout).
    pub fn builder() -> ServerBuilder {
        ServerBuilder {
            registrar: Registrar::builder(),
            definitions: None,
            timeout: Duration::from_secs(30),
            event_capacity: 1024,
        }
    }

    fn with_addr(mut self) -> Self {
        self.local_addr = Some(self.handle.shared.transport.local_addr());
        self
    }

    /// The UDP address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
            .unwrap_or_else(|| self.handle.shared.transport.local_addr())
    }

    /// A handle for device management (cheap to clone).
    pub fn handle(&self) -> ServerHandle {
        self.handle.clone()
    }

    /// A new subscription to the server's events.
    pub fn events(&self) -> broadcast::Receiver<ServerEvent> {
        self.handle.events()
    }

    /// Stops the server: no more requests are answered, observations end, the socket closes.
    /// Registrations stay in the store (nobody is de-registered); the store is dropped, which
    /// closes it, once every [`ServerHandle`] is gone.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A cloneable handle on a running [`Server`]: registrations, events and device management.
#[derive(Debug, Clone)]
pub struct ServerHandle {
    shared: Arc<Shared>,
}

impl ServerHandle {
    /// A new subscription to the server's events.
    pub fn events(&self) -> broadcast::Receiver<ServerEvent> {
        self.shared.events.subscribe()
    }

    /// The current registrations (a snapshot), in no particular order.
    pub fn clients(&self) -> Vec<Registration> {
        lock(&self.shared.registrar)
            .registrations()
            .iter()
            .cloned()
            .collect()
    }

    /// The registration of an endpoint, if it is registered.
    pub fn client(&self, endpoint: &str) -> Option<Registration> {
        lock(&self.shared.registrar).by_endpoint(endpoint).cloned()
    }

    /// The object definitions payloads are decoded with.
    pub fn registry(&self) -> &Registry {
        &self.shared.registry
    }
}
