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

mod admin;
mod dm;
mod error;
mod events;
mod observe;
mod queue;
mod restore;
mod security;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use lwm2m_codec::coap::Code;
use lwm2m_model::content::Content;
use lwm2m_model::{Path, Registry};
use lwm2m_transport::udp::{Handle, ServerRequest, UdpEndpoint};
use lwm2m_transport::Response;
use tokio::sync::{broadcast, oneshot, watch};
use tokio::task::JoinHandle;

pub use dm::{DiscoveredLink, WriteMode};
pub use error::DmError;
pub use events::EventStream;
pub use observe::ObservationStream;
pub use queue::QueueConfig;
pub use restore::{RestoreFactory, RestoreLayer};
#[cfg(feature = "dtls")]
pub use security::DtlsOptions;

use crate::registration::{
    Registrar, RegistrarBuilder, Registration, RegistrationEvent, RegistrationResponse,
    StagedCommit,
};
use crate::store::{
    BootstrapConfigStore, CredentialStore, MemoryBootstrapConfigStore, MemoryCredentialStore,
    MemoryObservationStore, ObservationStore, RegistrationStore, SharedStore, StoreError,
};
use crate::Timestamp;

/// Something the server reports through [`Server::events`] / [`ServerHandle::events`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ServerEvent {
    /// A registration changed (register, update, de-register, expiry).
    Registration(RegistrationEvent),
    /// A client in queue mode (binding `UQ`) sent a Register or an Update: it is reachable
    /// now, and the requests queued for it go out.
    WokeUp {
        /// The client's endpoint name.
        endpoint: Arc<str>,
    },
    /// A request for a client in queue mode moved on (queued, sent, answered, expired).
    QueuedRequest {
        /// The client's endpoint name.
        endpoint: Arc<str>,
        /// A number that identifies the request among the server's queued requests.
        request: u64,
        /// The operation, e.g. `"Read"`.
        operation: &'static str,
        /// The request's path.
        path: Path,
        /// Where it is now.
        status: RequestStatus,
    },
    /// A notification of an observation made with [`ServerHandle::observe`] (or restored from
    /// the observation store after a restart).
    Notification {
        /// The client's endpoint name.
        endpoint: Arc<str>,
        /// The observed path.
        path: Path,
        /// The decoded value.
        content: Arc<Content>,
    },
}

/// Where a request for a client in queue mode is (see [`ServerEvent::QueuedRequest`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RequestStatus {
    /// Waiting for the client to wake up (Register or Update).
    Queued,
    /// Sent to the client.
    Sent,
    /// The client answered (with any code), or the exchange failed after it was sent.
    Answered,
    /// The client did not wake up before the request expired; it was not sent.
    Expired,
}

impl RequestStatus {
    /// `"queued"`, `"sent"`, `"answered"` or `"expired"`.
    pub fn as_str(self) -> &'static str {
        match self {
            RequestStatus::Queued => "queued",
            RequestStatus::Sent => "sent",
            RequestStatus::Answered => "answered",
            RequestStatus::Expired => "expired",
        }
    }
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
    /// The DTLS configuration is not usable (e.g. a certificate without trust anchors).
    #[error("cannot configure DTLS: {0}")]
    Dtls(String),
    /// A raw public key was given, but the server is built without the `dtls-rpk` feature.
    #[error("DTLS raw public keys need lwm2m-server's `dtls-rpk` feature")]
    RawPublicKeyUnsupported,
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
    credentials: Box<dyn CredentialStore>,
    bootstrap_configs: Box<dyn BootstrapConfigStore>,
    observations: Box<dyn ObservationStore>,
    queue: QueueConfig,
    udp_sockets: usize,
    udp_recv_buffer: Option<usize>,
    #[cfg(feature = "dtls")]
    dtls: Option<DtlsOptions>,
}

impl core::fmt::Debug for ServerBuilder {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ServerBuilder")
            .field("definitions", &self.definitions)
            .field("timeout", &self.timeout)
            .field("event_capacity", &self.event_capacity)
            .field("queue", &self.queue)
            .field("udp_sockets", &self.udp_sockets)
            .field("udp_recv_buffer", &self.udp_recv_buffer)
            .finish_non_exhaustive()
    }
}

impl ServerBuilder {
    /// The registrar (its store and configuration). Its identity check is replaced by the
    /// server's own, which binds identities to endpoints through the credential store.
    #[must_use]
    pub fn registrar(mut self, registrar: RegistrarBuilder) -> Self {
        self.registrar = registrar;
        self
    }

    /// Queue mode: how many requests may wait for a sleeping client, for how long, and how
    /// long a client stays reachable after it talks to the server.
    #[must_use]
    pub fn queue(mut self, config: QueueConfig) -> Self {
        self.queue = config;
        self
    }

    /// Also listen for DTLS (`coaps`) clients. The server then checks every registration
    /// request against the credential store (see [`credential_store`](Self::credential_store)):
    /// the identity a client proved must be the one stored for its endpoint name, else 4.03.
    #[cfg(feature = "dtls")]
    #[must_use]
    pub fn dtls(mut self, options: DtlsOptions) -> Self {
        self.dtls = Some(options);
        self
    }

    /// Where credentials are kept (default: in memory). The server installs its own identity
    /// check in the registrar: an endpoint with credentials may only register over DTLS with
    /// the identity stored for it; one without may only register over plain UDP. They decide who may register over
    /// which transport (see the crate README's security section).
    #[must_use]
    pub fn credential_store(mut self, store: impl CredentialStore + 'static) -> Self {
        self.credentials = Box::new(store);
        self
    }

    /// Where bootstrap configurations are kept (default: in memory).
    #[must_use]
    pub fn bootstrap_config_store(mut self, store: impl BootstrapConfigStore + 'static) -> Self {
        self.bootstrap_configs = Box::new(store);
        self
    }

    /// Where observations are kept (default: in memory). With a durable store, observations
    /// survive a restart: notifications that still arrive are matched to them.
    #[must_use]
    pub fn observation_store(mut self, store: impl ObservationStore + 'static) -> Self {
        self.observations = Box::new(store);
        self
    }

    /// One store for everything: registrations (the registrar's store), observations,
    /// credentials and bootstrap configurations, shared through a [`SharedStore`].
    #[must_use]
    pub fn store<S>(self, store: S) -> Self
    where
        S: RegistrationStore + ObservationStore + CredentialStore + BootstrapConfigStore + 'static,
    {
        let shared = SharedStore::new(store);
        let registrar = self.registrar.store(shared.clone());
        ServerBuilder { registrar, ..self }
            .observation_store(shared.clone())
            .credential_store(shared.clone())
            .bootstrap_config_store(shared)
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

    /// How many UDP sockets the CoAP endpoint binds to its port with `SO_REUSEPORT`, each read
    /// by its own driver task (default 1; 0 counts as 1). The kernel spreads clients over them
    /// by address, so on a multi-core machine the transport's work (parsing, duplicate
    /// detection, retransmissions) runs in parallel; registrations still go through one
    /// registrar and one store.
    #[must_use]
    pub fn udp_sockets(mut self, count: usize) -> Self {
        self.udp_sockets = count.max(1);
        self
    }

    /// The receive buffer (`SO_RCVBUF`) of each CoAP socket, for bursts of datagrams larger
    /// than the system default absorbs (default: the system's; Linux caps it at
    /// `net.core.rmem_max`).
    #[must_use]
    pub fn udp_recv_buffer(mut self, bytes: usize) -> Self {
        self.udp_recv_buffer = Some(bytes);
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
        let credentials: security::Credentials = Arc::new(Mutex::new(self.credentials));
        let origin = Arc::new(Mutex::new(security::Origin::Plain));
        let check = security::CredentialCheck {
            origin: Arc::clone(&origin),
            credentials: Arc::clone(&credentials),
        };
        let registrar = self
            .registrar
            .identity_check(check)
            .build(Timestamp::now())?;
        #[cfg(feature = "dtls")]
        let secure = match self.dtls {
            Some(options) => {
                Some(security::SecureEndpoint::bind(options, Arc::clone(&credentials)).await?)
            }
            None => None,
        };
        #[cfg(not(feature = "dtls"))]
        let secure: Option<security::SecureEndpoint> = None;
        let restored = restore_observations(&registrar, &*self.observations);
        let (restored, taken) = restore::RestoredTable::new(restored);
        let mut transport = UdpEndpoint::builder().sockets(self.udp_sockets);
        if let Some(bytes) = self.udp_recv_buffer {
            transport = transport.recv_buffer_size(bytes);
        }
        let endpoint = transport
            .with_factory(RestoreFactory::new(
                |_| lwm2m_transport::udp::Plain,
                Arc::clone(&restored),
            ))
            .bind(addr)
            .await?;
        let (events, _) = broadcast::channel(self.event_capacity);
        let shared = Arc::new(Shared {
            registrar: Mutex::new(registrar),
            registry,
            transport: endpoint.handle(),
            events: events.clone(),
            timeout: self.timeout,
            observations: Mutex::new(HashMap::new()),
            stopped: watch::channel(false).0,
            credentials,
            origin,
            dtls_peers: Mutex::new(HashMap::new()),
            secure_transport: secure_handle(secure.as_ref()),
            bootstrap_configs: Mutex::new(self.bootstrap_configs),
            observation_store: Mutex::new(self.observations),
            queues: queue::Queues::default(),
            queue_config: self.queue,
            restored,
            stopping: AtomicBool::new(false),
            open: Mutex::new(Answers::default()),
        });
        // Registrations restored from the store expired while the server was down: report them.
        shared.publish_registrar_events();
        let (stop, stopped) = oneshot::channel();
        // Listen before `bind` returns, so that no request finds the endpoint without a listener.
        let incoming = endpoint.incoming();
        let task = tokio::spawn(run(
            endpoint,
            incoming,
            secure,
            taken,
            Arc::clone(&shared),
            stopped,
        ));
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
struct Shared {
    registrar: Mutex<Registrar>,
    registry: Registry,
    transport: Handle,
    events: broadcast::Sender<ServerEvent>,
    timeout: Duration,
    /// Cancel switches of the running observations by (endpoint, path).
    observations: Mutex<CancelSwitches>,
    /// Set when the server task ends: event streams end with it.
    stopped: watch::Sender<bool>,
    credentials: security::Credentials,
    /// How the registration request being handled arrived (read by the identity check).
    origin: Arc<Mutex<security::Origin>>,
    /// The DTLS sessions' identities by peer address.
    dtls_peers: Mutex<HashMap<SocketAddr, security::Origin>>,
    /// The DTLS endpoint's handle, for requests to clients registered over DTLS.
    secure_transport: Option<Handle>,
    bootstrap_configs: Mutex<Box<dyn BootstrapConfigStore>>,
    observation_store: Mutex<Box<dyn ObservationStore>>,
    queues: queue::Queues,
    queue_config: QueueConfig,
    /// Observations loaded from the store at start, until the client or the server ends them.
    restored: Arc<restore::RestoredTable>,
    /// The server is stopping: observations that end now stay in the store.
    stopping: AtomicBool,
    /// Requests handled into the registrar's open batch, answered once it is written.
    open: Mutex<Answers>,
}

impl Shared {
    /// The transport to reach `peer` through: DTLS if it has a session, else plain UDP.
    fn transport_for(&self, peer: SocketAddr) -> &Handle {
        match &self.secure_transport {
            Some(secure) if lock(&self.dtls_peers).contains_key(&peer) => secure,
            _ => &self.transport,
        }
    }
}

impl core::fmt::Debug for Shared {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Shared")
            .field("registrar", &self.registrar)
            .field("transport", &self.transport)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
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
            match &event {
                RegistrationEvent::Registered {
                    replaced: Some(old),
                    ..
                } => self.forget_observations(old.id()),
                RegistrationEvent::Deregistered { registration }
                | RegistrationEvent::Expired { registration } => {
                    self.forget_observations(registration.id());
                }
                _ => {}
            }
            let woke_up = match &event {
                RegistrationEvent::Registered { registration, .. } => registration
                    .is_queue_mode()
                    .then(|| registration.endpoint_arc().clone()),
                RegistrationEvent::Updated { current, .. } => current
                    .is_queue_mode()
                    .then(|| current.endpoint_arc().clone()),
                RegistrationEvent::Deregistered { registration }
                | RegistrationEvent::Expired { registration } => {
                    self.queues.remove(registration.endpoint());
                    None
                }
            };
            if let Some(endpoint) = &woke_up {
                self.queues.wake(endpoint, self.queue_config.awake_time);
            }
            let _ = self.events.send(ServerEvent::Registration(event));
            if let Some(endpoint) = woke_up {
                tracing::debug!(%endpoint, "queue-mode client woke up");
                let _ = self.events.send(ServerEvent::WokeUp { endpoint });
            }
        }
    }

    /// Drops every stored and restored observation of a registration that is gone.
    fn forget_observations(&self, registration: crate::registration::RegistrationId) {
        self.restored
            .remove_where(|restored| restored.registration == registration);
        if let Err(error) = lock(&self.observation_store).remove_all(registration) {
            tracing::warn!(%registration, %error, "cannot remove the stored observations");
        }
    }

    fn cancel_all(&self, endpoint: &str) {
        lock(&self.observations).retain(|(ep, _), _| &**ep != endpoint);
    }

    fn handle_request(&self, request: ServerRequest, origin: security::Origin) {
        self.handle_requests(vec![request], origin);
    }

    /// Handles the requests that were waiting together, all from one origin: those on `/rd`
    /// go into the registrar's open batch and wait in [`Shared::open`] for it to be written
    /// (see [`Pipeline`]), the others are answered 4.04 at once.
    fn handle_requests(&self, requests: Vec<ServerRequest>, origin: security::Origin) {
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
            let answers = {
                let mut registrar = lock(&self.registrar);
                // Set under the registrar lock: the identity check reads it for these requests.
                *lock(&self.origin) = origin;
                registrar.handle_incoming_open(
                    Timestamp::now(),
                    registration.iter().map(|r| (r.peer, &r.request)),
                )
            };
            let mut open = lock(&self.open);
            open.requests.extend(registration);
            open.answers.extend(answers);
        }
        // Expiries found while handling them.
        self.publish_registrar_events();
    }
}

/// Requests whose answers wait for their batch to be written, and those answers.
#[derive(Debug, Default)]
struct Answers {
    requests: Vec<ServerRequest>,
    answers: Vec<RegistrationResponse>,
}

impl Answers {
    fn len(&self) -> usize {
        self.requests.len()
    }

    /// Sends every answer.
    fn send(self) {
        for (request, answer) in self.requests.into_iter().zip(self.answers) {
            if let Some(refusal) = answer.refusal() {
                let peer = request.peer;
                tracing::debug!(%peer, code = %answer.code(), %refusal, "registration request refused");
            }
            let _ = request.responder.respond(answer.to_response());
        }
    }
}

/// The pipelined group commit: while one batch is written (and flushed) on a blocking thread,
/// the run loop handles the next requests into the registrar's open batch; when the write ends,
/// its answers go out and the open batch is written next. Answers never leave before their
/// batch is stored.
#[derive(Default)]
struct Pipeline {
    writing: Option<Writing>,
}

/// A batch being written.
struct Writing {
    staged: StagedCommit,
    answers: Answers,
    write: JoinHandle<Result<(), StoreError>>,
}

impl Pipeline {
    /// Starts writing the open batch if nothing is being written and it holds changes or
    /// waiting answers.
    fn start(&mut self, shared: &Shared) {
        if self.writing.is_some() {
            return;
        }
        let (staged, write) = {
            let mut registrar = lock(&shared.registrar);
            let mut open = lock(&shared.open);
            if open.len() == 0 && !registrar.has_open_changes() {
                return;
            }
            let (staged, write) = registrar.stage();
            (staged, (write, core::mem::take(&mut *open)))
        };
        let (write, answers) = write;
        if write.is_empty() {
            // Only refusals or changes undone within the batch: nothing to wait for.
            let mut answers = answers;
            lock(&shared.registrar).complete(staged, Ok(()), &mut answers.answers, &mut []);
            answers.send();
            shared.publish_registrar_events();
            return;
        }
        self.writing = Some(Writing {
            staged,
            answers,
            write: tokio::task::spawn_blocking(move || write.run()),
        });
    }

    /// Waits for the batch being written (forever if none).
    async fn written(&mut self) -> Result<(), StoreError> {
        match self.writing.as_mut() {
            Some(writing) => match (&mut writing.write).await {
                Ok(outcome) => outcome,
                Err(error) => Err(StoreError::backend("write registrations", error)),
            },
            None => std::future::pending().await,
        }
    }

    /// Ends the write with its outcome: publishes or undoes it, sends its answers.
    fn finish(&mut self, shared: &Shared, outcome: Result<(), StoreError>) {
        let Some(Writing {
            staged,
            mut answers,
            write: _,
        }) = self.writing.take()
        else {
            return;
        };
        {
            let mut registrar = lock(&shared.registrar);
            let mut open = lock(&shared.open);
            registrar.complete(staged, outcome, &mut answers.answers, &mut open.answers);
        }
        answers.send();
        shared.publish_registrar_events();
    }

    /// Writes everything still open and sends every answer (at shutdown).
    async fn drain(&mut self, shared: &Shared) {
        for _ in 0..2 {
            if self.writing.is_some() {
                let outcome = self.written().await;
                self.finish(shared, outcome);
            }
            self.start(shared);
        }
        if self.writing.is_some() {
            let outcome = self.written().await;
            self.finish(shared, outcome);
        }
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

/// Most requests waiting for one registrar batch (one store transaction): more wait in the
/// transport's queue until the batch being written is done.
const MAX_BATCH: usize = 1024;

/// The server task: requests in, registrar timers, until stopped.
async fn run(
    endpoint: UdpEndpoint,
    mut incoming: lwm2m_transport::udp::IncomingRequests,
    mut secure: Option<security::SecureEndpoint>,
    mut taken: tokio::sync::mpsc::UnboundedReceiver<(SocketAddr, bytes::Bytes)>,
    shared: Arc<Shared>,
    mut stop: oneshot::Receiver<()>,
) {
    let mut pipeline = Pipeline::default();
    loop {
        pipeline.start(&shared);
        let room = MAX_BATCH.saturating_sub(lock(&shared.open).len());
        let deadline = lock(&shared.registrar).poll_timeout();
        let sleep = deadline.map_or(Duration::from_secs(3600), |at| {
            at.saturating_duration_since(Timestamp::now())
        });
        tokio::select! {
            _ = &mut stop => break,
            outcome = pipeline.written() => pipeline.finish(&shared, outcome),
            request = incoming.next(), if room > 0 => match request {
                Some(request) => {
                    // Whatever else is waiting joins this batch (group commit).
                    let mut requests = vec![request];
                    while requests.len() < room {
                        match incoming.try_next() {
                            Ok(Some(request)) => requests.push(request),
                            _ => break,
                        }
                    }
                    shared.handle_requests(requests, security::Origin::Plain);
                }
                None => break,
            },
            open = async {
                match secure.as_mut() {
                    Some(secure) => secure.next(&shared).await,
                    None => std::future::pending().await,
                }
            } => if !open {
                secure = None;
            },
            Some((peer, datagram)) = taken.recv() => shared.handle_restored(peer, &datagram),
            () = tokio::time::sleep(sleep) => {
                // The removals go with the open batch.
                lock(&shared.registrar).expire_open(Timestamp::now());
                shared.publish_registrar_events();
            }
        }
    }
    // Every request handled is answered once its batch is stored.
    pipeline.drain(&shared).await;
    // Observations stay in the store and in the clients: close the endpoint before the relays
    // end, so that none of them tells its client to stop.
    shared.stopping.store(true, Ordering::Release);
    if let Some(secure) = secure {
        secure.close().await;
    }
    endpoint.close().await;
    lock(&shared.observations).clear();
    shared.queues.clear();
    shared.stopped.send_replace(true);
}

fn secure_handle(secure: Option<&security::SecureEndpoint>) -> Option<Handle> {
    #[cfg(feature = "dtls")]
    {
        secure.map(|secure| secure.endpoint.handle())
    }
    #[cfg(not(feature = "dtls"))]
    {
        secure.map(|secure| match *secure {})
    }
}

/// The stored observations of the registrations the registrar loaded, by token.
fn restore_observations(
    registrar: &Registrar,
    store: &dyn ObservationStore,
) -> HashMap<lwm2m_codec::coap::Token, restore::Restored> {
    let mut restored = HashMap::new();
    for registration in registrar.registrations().iter() {
        match store.list(registration.id()) {
            Ok(observations) => {
                for observation in observations {
                    restored.insert(
                        observation.token,
                        restore::Restored::new(
                            registration.id(),
                            Arc::clone(registration.endpoint_arc()),
                            observation.path,
                            observation.content_format,
                        ),
                    );
                }
            }
            Err(error) => tracing::warn!(
                endpoint = registration.endpoint(),
                %error,
                "cannot load the observations of a registration"
            ),
        }
    }
    if !restored.is_empty() {
        tracing::info!(
            observations = restored.len(),
            "observations restored from the store"
        );
    }
    restored
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
            credentials: Box::new(MemoryCredentialStore::default()),
            bootstrap_configs: Box::new(MemoryBootstrapConfigStore::default()),
            observations: Box::new(MemoryObservationStore::default()),
            queue: QueueConfig::default(),
            udp_sockets: 1,
            udp_recv_buffer: None,
            #[cfg(feature = "dtls")]
            dtls: None,
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

    /// The UDP address of the DTLS endpoint, if the server has one.
    pub fn dtls_addr(&self) -> Option<SocketAddr> {
        self.handle
            .shared
            .secure_transport
            .as_ref()
            .map(Handle::local_addr)
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

    /// A new subscription to the server's events as a [`Stream`](futures_core::Stream) that
    /// ends when the server stops.
    pub fn event_stream(&self) -> EventStream {
        EventStream::new(
            self.shared.events.subscribe(),
            self.shared.stopped.subscribe(),
        )
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
