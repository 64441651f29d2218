//! The tokio driver of the [`Bootstrapper`]: [`BootstrapServer`] owns a UDP endpoint of its own,
//! answers Bootstrap-Requests, sends each session's commands and feeds back the answers; a
//! cloneable [`BootstrapHandle`] reads statuses, subscribes to events and manages the
//! configurations.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use lwm2m_model::Registry;
use lwm2m_transport::udp::{BindError, Handle, ServerRequest, UdpEndpoint};
use tokio::sync::{mpsc, oneshot};
use tokio::task::{AbortHandle, JoinHandle};

use super::engine::{BootstrapSettings, Bootstrapper, Command, SessionKey, StepOutcome};
use super::event::{BootstrapEvent, BootstrapStatus};
use super::stream::{BootstrapEvents, Subscribers};
use crate::store::{BootstrapConfig, BootstrapConfigStore, MemoryBootstrapConfigStore, StoreError};
use crate::Timestamp;

/// Settings of a [`BootstrapServer`]; start it with [`bind`](Self::bind).
pub struct BootstrapServerBuilder {
    store: Box<dyn BootstrapConfigStore>,
    settings: BootstrapSettings,
    registry: Option<Registry>,
    event_capacity: usize,
}

impl core::fmt::Debug for BootstrapServerBuilder {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("BootstrapServerBuilder")
            .field("settings", &self.settings)
            .field("event_capacity", &self.event_capacity)
            .finish_non_exhaustive()
    }
}

impl BootstrapServerBuilder {
    /// Where the configurations come from (default: an empty in-memory store). The
    /// `lwm2m-server` binary uses its redb store; a `RedisStore` works the same way.
    #[must_use]
    pub fn store(mut self, store: impl BootstrapConfigStore + 'static) -> Self {
        self.store = Box::new(store);
        self
    }

    /// Session limit, step timeout, status capacity.
    #[must_use]
    pub fn settings(mut self, settings: BootstrapSettings) -> Self {
        self.settings = settings;
        self
    }

    /// Object definitions for encoding writes (default: [`lwm2m_objects::core_registry`]).
    #[must_use]
    pub fn registry(mut self, registry: Registry) -> Self {
        self.registry = Some(registry);
        self
    }

    /// How many events a slow subscriber may lag behind before it misses some (default 1024).
    #[must_use]
    pub fn event_capacity(mut self, capacity: usize) -> Self {
        self.event_capacity = capacity.max(1);
        self
    }

    /// Binds the UDP socket and starts the server task on the current tokio runtime.
    pub async fn bind(self, addr: SocketAddr) -> Result<BootstrapServer, BindError> {
        let mut engine = Bootstrapper::new(self.store).with_settings(self.settings);
        if let Some(registry) = self.registry {
            engine = engine.with_registry(registry);
        }
        let endpoint = UdpEndpoint::bind(addr).await?;
        let local_addr = endpoint.local_addr();
        let shared = Arc::new(Shared {
            engine: Mutex::new(engine),
            subscribers: Subscribers::new(self.event_capacity),
        });
        let (stop, stopped) = oneshot::channel();
        // Listening before `bind` returns: a request arriving before the task first runs would
        // otherwise be answered 5.03 by the endpoint, and a client backs off for a long time.
        let incoming = endpoint.incoming();
        let task = tokio::spawn(run(endpoint, incoming, Arc::clone(&shared), stopped));
        Ok(BootstrapServer {
            handle: BootstrapHandle { shared, local_addr },
            stop: Some(stop),
            task: Some(task),
        })
    }
}

#[derive(Debug)]
struct Shared {
    engine: Mutex<Bootstrapper>,
    subscribers: Subscribers,
}

impl Shared {
    fn engine(&self) -> MutexGuard<'_, Bootstrapper> {
        // Every engine call is one step: a panic inside one leaves no half-made change.
        self.engine.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn answer(&self, request: ServerRequest) {
        let ServerRequest {
            peer,
            request,
            responder,
            ..
        } = request;
        let response = self
            .engine()
            .handle_incoming(Timestamp::now(), peer, &request);
        let _ = responder.respond(response);
    }

    /// Takes the engine's pending commands and events.
    fn drain(&self) -> (Vec<Command>, Vec<BootstrapEvent>) {
        let mut engine = self.engine();
        let commands = std::iter::from_fn(|| engine.poll_command()).collect();
        let events = std::iter::from_fn(|| engine.poll_event()).collect();
        (commands, events)
    }

    fn publish(&self, events: Vec<BootstrapEvent>) {
        for event in events {
            log(&event);
            self.subscribers.publish(&event);
        }
    }
}

fn log(event: &BootstrapEvent) {
    match event {
        BootstrapEvent::Started {
            endpoint,
            peer,
            steps,
            default_config,
        } => tracing::info!(%endpoint, %peer, steps, default_config, "bootstrap started"),
        BootstrapEvent::StepSucceeded {
            endpoint,
            step,
            operation,
        } => tracing::debug!(%endpoint, step, %operation, "bootstrap step done"),
        BootstrapEvent::Failed { endpoint, failure } => {
            tracing::warn!(%endpoint, %failure, "bootstrap failed");
        }
        BootstrapEvent::Finished { endpoint } => tracing::info!(%endpoint, "bootstrap finished"),
        BootstrapEvent::Refused { peer, refusal } => {
            tracing::debug!(%peer, code = %refusal.code(), %refusal, "bootstrap request refused");
        }
    }
}

type Outcome = (SessionKey, usize, StepOutcome);

/// The server task: requests in, commands out, answers back, timeouts, until stopped.
async fn run(
    endpoint: UdpEndpoint,
    mut incoming: lwm2m_transport::udp::IncomingRequests,
    shared: Arc<Shared>,
    mut stop: oneshot::Receiver<()>,
) {
    let transport = endpoint.handle();
    let (done, mut outcomes) = mpsc::unbounded_channel::<Outcome>();
    // The command in flight of each session; a restarted or ended session's is aborted.
    let mut in_flight: HashMap<SessionKey, AbortHandle> = HashMap::new();
    loop {
        let deadline = shared.engine().poll_timeout();
        let sleep = deadline.map_or(Duration::from_secs(3600), |at| {
            at.saturating_duration_since(Timestamp::now())
        });
        tokio::select! {
            _ = &mut stop => break,
            request = incoming.next() => match request {
                Some(request) => shared.answer(request),
                None => break,
            },
            Some((session, step, outcome)) = outcomes.recv() => {
                shared.engine().handle_response(Timestamp::now(), &session, step, outcome);
            }
            () = tokio::time::sleep(sleep) => shared.engine().handle_timeout(Timestamp::now()),
        }
        let (commands, events) = shared.drain();
        for command in commands {
            let key = command.session.clone();
            let task = tokio::spawn(send(transport.clone(), command, done.clone()));
            if let Some(old) = in_flight.insert(key, task.abort_handle()) {
                old.abort();
            }
        }
        {
            let engine = shared.engine();
            in_flight.retain(|key, task| {
                let current = engine.is_current(key) && !task.is_finished();
                if !current {
                    task.abort();
                }
                current
            });
        }
        shared.publish(events);
    }
    for task in in_flight.values() {
        task.abort();
    }
    shared.subscribers.close();
    endpoint.close().await;
}

async fn send(transport: Handle, command: Command, done: mpsc::UnboundedSender<Outcome>) {
    let outcome = match transport.request(command.peer, command.request).await {
        Ok(response) => StepOutcome::Answered(response.code()),
        Err(error) => StepOutcome::NoResponse(error.to_string()),
    };
    let _ = done.send((command.session, command.step, outcome));
}

/// A running bootstrap server. See the [module](super) docs.
///
/// Dropping it stops the server task without waiting; [`shutdown`](Self::shutdown) waits.
#[derive(Debug)]
pub struct BootstrapServer {
    handle: BootstrapHandle,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl BootstrapServer {
    /// A builder with the defaults: an empty in-memory store, [`BootstrapSettings::default`].
    pub fn builder() -> BootstrapServerBuilder {
        BootstrapServerBuilder {
            store: Box::new(MemoryBootstrapConfigStore::default()),
            settings: BootstrapSettings::default(),
            registry: None,
            event_capacity: 1024,
        }
    }

    /// The UDP address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.handle.local_addr
    }

    /// A handle (cheap to clone).
    pub fn handle(&self) -> BootstrapHandle {
        self.handle.clone()
    }

    /// A new subscription to the server's events.
    pub fn events(&self) -> BootstrapEvents {
        self.handle.events()
    }

    /// Stops the server: running sessions are abandoned (their clients retry later), the
    /// socket closes, event streams end. The store is dropped once every handle is gone.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for BootstrapServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A cloneable handle on a running [`BootstrapServer`]: events, statuses, configurations.
/// Configuration changes apply to the next Bootstrap-Request; running sessions keep theirs.
#[derive(Debug, Clone)]
pub struct BootstrapHandle {
    shared: Arc<Shared>,
    local_addr: SocketAddr,
}

impl BootstrapHandle {
    /// The UDP address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// A new subscription to the server's events.
    pub fn events(&self) -> BootstrapEvents {
        self.shared.subscribers.subscribe()
    }

    /// The last known state of an endpoint's bootstrap.
    pub fn status(&self, endpoint: &str) -> Option<BootstrapStatus> {
        self.shared.engine().status(endpoint).cloned()
    }

    /// How many sessions are running.
    pub fn session_count(&self) -> usize {
        self.shared.engine().session_count()
    }

    /// An endpoint's own configuration.
    pub fn config(&self, endpoint: &str) -> Result<Option<BootstrapConfig>, StoreError> {
        self.shared.engine().store().get(endpoint)
    }

    /// Sets an endpoint's configuration; returns the old one.
    pub fn set_config(
        &self,
        endpoint: &str,
        config: BootstrapConfig,
    ) -> Result<Option<BootstrapConfig>, StoreError> {
        self.shared.engine().store_mut().put(endpoint, config)
    }

    /// Removes an endpoint's configuration; returns it.
    pub fn remove_config(&self, endpoint: &str) -> Result<Option<BootstrapConfig>, StoreError> {
        self.shared.engine().store_mut().remove(endpoint)
    }

    /// The default configuration, for endpoints without one of their own.
    pub fn default_config(&self) -> Result<Option<BootstrapConfig>, StoreError> {
        self.shared.engine().store().default_config()
    }

    /// Sets the default configuration; returns the old one.
    pub fn set_default_config(
        &self,
        config: BootstrapConfig,
    ) -> Result<Option<BootstrapConfig>, StoreError> {
        self.shared.engine().store_mut().put_default_config(config)
    }
}
