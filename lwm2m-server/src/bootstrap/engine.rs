//! [`Bootstrapper`]: the sans-IO bootstrap server. It answers Bootstrap-Requests, runs one
//! session per endpoint (each step waits for the answer to the one before), times sessions out
//! and reports [`BootstrapEvent`]s. The caller moves the bytes: it sends the [`Command`]s it
//! polls and feeds back each answer with [`Bootstrapper::handle_response`].

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use lwm2m_codec::coap::{Code, Message, Type};
use lwm2m_model::Registry;
use lwm2m_transport::{IncomingRequest, Request, Response};

use super::event::{BootstrapEvent, BootstrapFailure, BootstrapStatus, FailureReason};
use super::plan::{plan, Operation, Step};
use super::request::{check_bootstrap_request, BootstrapRefusal};
use crate::store::{BootstrapConfigStore, MemoryBootstrapConfigStore};
use crate::Timestamp;

/// Limits of a [`Bootstrapper`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct BootstrapSettings {
    /// Most sessions running at once; a Bootstrap-Request of a new endpoint beyond it gets 5.03
    /// (default 1024).
    pub max_sessions: usize,
    /// A step without an answer this long fails the session (default 120 s, above CoAP's
    /// 93 s `MAX_TRANSMIT_WAIT`, so the transport normally reports its timeout first).
    pub step_timeout: Duration,
    /// Most endpoints whose [`BootstrapStatus`] is kept; the oldest is forgotten first
    /// (default 10 000).
    pub status_capacity: usize,
}

impl Default for BootstrapSettings {
    fn default() -> Self {
        BootstrapSettings {
            max_sessions: 1024,
            step_timeout: Duration::from_secs(120),
            status_capacity: 10_000,
        }
    }
}

impl BootstrapSettings {
    /// With this session limit (at least 1).
    #[must_use]
    pub fn max_sessions(mut self, max: usize) -> Self {
        self.max_sessions = max.max(1);
        self
    }

    /// With this step timeout.
    #[must_use]
    pub fn step_timeout(mut self, timeout: Duration) -> Self {
        self.step_timeout = timeout;
        self
    }

    /// With this status capacity (at least 1).
    #[must_use]
    pub fn status_capacity(mut self, capacity: usize) -> Self {
        self.status_capacity = capacity.max(1);
        self
    }
}

/// Identifies one session of an endpoint: a restarted session gets a new generation, so late
/// answers to the old one are ignored.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SessionKey {
    /// The endpoint name.
    pub endpoint: Arc<str>,
    /// Counts the sessions of this bootstrapper.
    pub generation: u64,
}

/// A request to send to a client; its answer goes back through
/// [`Bootstrapper::handle_response`].
#[derive(Debug, Clone)]
pub struct Command {
    /// The session.
    pub session: SessionKey,
    /// Where the client is.
    pub peer: SocketAddr,
    /// The step, 1-based.
    pub step: usize,
    /// What it does.
    pub operation: Operation,
    /// The CoAP request (send it CON).
    pub request: Request,
}

/// How a [`Command`] ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepOutcome {
    /// The client answered with this code.
    Answered(Code),
    /// No answer came (the transport's error).
    NoResponse(String),
}

#[derive(Debug)]
struct Session {
    generation: u64,
    peer: SocketAddr,
    steps: Vec<Step>,
    /// Index of the step in flight.
    current: usize,
    deadline: Timestamp,
}

/// The sans-IO bootstrap server. See the [module](super) docs for the flow.
///
/// ```
/// use lwm2m_codec::coap::{Code, Message, MessageBuilder, Type};
/// use lwm2m_objects::Server;
/// use lwm2m_server::bootstrap::{BootstrapEvent, Bootstrapper, StepOutcome};
/// use lwm2m_server::store::{BootstrapConfig, BootstrapConfigStore, MemoryBootstrapConfigStore};
/// use lwm2m_server::Timestamp;
///
/// let mut store = MemoryBootstrapConfigStore::default();
/// store.put("node1", BootstrapConfig::new().server(0, &Server::default())?)?;
/// let mut bs = Bootstrapper::new(store);
/// let now = Timestamp::from_unix_secs(1_700_000_000);
///
/// let mut request = MessageBuilder::new(Type::Confirmable, Code::POST, 1);
/// request.uri_path("/bs").uri_queries("ep=node1");
/// let bytes = request.to_vec()?;
/// let answer = bs.handle_request(now, "10.0.0.1:5683".parse()?, &Message::parse(&bytes)?);
/// assert_eq!(answer.code(), Code::CHANGED);
///
/// // Delete /, Write /1/0, Finish: answer each with success.
/// while let Some(command) = bs.poll_command() {
///     let code = command.operation.success_code();
///     bs.handle_response(now, &command.session, command.step, StepOutcome::Answered(code));
/// }
/// let events: Vec<_> = std::iter::from_fn(|| bs.poll_event()).collect();
/// assert!(matches!(events.last(), Some(BootstrapEvent::Finished { .. })));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Bootstrapper {
    store: Box<dyn BootstrapConfigStore>,
    registry: Registry,
    settings: BootstrapSettings,
    sessions: HashMap<Arc<str>, Session>,
    generation: u64,
    commands: VecDeque<Command>,
    events: VecDeque<BootstrapEvent>,
    status: HashMap<Arc<str>, BootstrapStatus>,
    /// Endpoints of `status` in the order they were first recorded.
    status_order: VecDeque<Arc<str>>,
}

impl core::fmt::Debug for Bootstrapper {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Bootstrapper")
            .field("settings", &self.settings)
            .field("sessions", &self.sessions.len())
            .finish_non_exhaustive()
    }
}

impl Default for Bootstrapper {
    fn default() -> Self {
        Bootstrapper::new(MemoryBootstrapConfigStore::default())
    }
}

impl Bootstrapper {
    /// A bootstrapper reading configurations from `store`, encoding writes with the core
    /// objects ([`lwm2m_objects::core_registry`]), with the default settings.
    pub fn new(store: impl BootstrapConfigStore + 'static) -> Self {
        Bootstrapper {
            store: Box::new(store),
            registry: lwm2m_objects::core_registry(),
            settings: BootstrapSettings::default(),
            sessions: HashMap::new(),
            generation: 0,
            commands: VecDeque::new(),
            events: VecDeque::new(),
            status: HashMap::new(),
            status_order: VecDeque::new(),
        }
    }

    /// With these settings.
    #[must_use]
    pub fn with_settings(mut self, settings: BootstrapSettings) -> Self {
        self.settings = settings;
        self
    }

    /// With these object definitions for encoding writes (they must include objects 0-2).
    #[must_use]
    pub fn with_registry(mut self, registry: Registry) -> Self {
        self.registry = registry;
        self
    }

    /// The configuration store.
    pub fn store(&self) -> &dyn BootstrapConfigStore {
        &*self.store
    }

    /// The configuration store, to change configurations (running sessions keep theirs).
    pub fn store_mut(&mut self) -> &mut dyn BootstrapConfigStore {
        &mut *self.store
    }

    /// The settings.
    pub fn settings(&self) -> BootstrapSettings {
        self.settings
    }

    /// How many sessions are running.
    pub fn session_count(&self) -> usize {
        self.sessions.len()
    }

    /// Whether `session` is still running (a restart or the end of a session makes its key
    /// stale).
    pub fn is_current(&self, session: &SessionKey) -> bool {
        self.sessions
            .get(&session.endpoint)
            .is_some_and(|s| s.generation == session.generation)
    }

    /// The last known state of an endpoint's bootstrap.
    pub fn status(&self, endpoint: &str) -> Option<&BootstrapStatus> {
        self.status.get(endpoint)
    }

    /// Answers a request that came to the bootstrap server. A valid Bootstrap-Request of an
    /// endpoint with a configuration (or with the default one) gets 2.04 and starts a session
    /// (replacing a running one of the same endpoint): send the answer before the commands
    /// [`poll_command`](Self::poll_command) then returns. Anything else gets the code of its
    /// [`BootstrapRefusal`] and a [`BootstrapEvent::Refused`].
    pub fn handle_request(
        &mut self,
        now: Timestamp,
        peer: SocketAddr,
        request: &Message<'_>,
    ) -> Response {
        let checked = check_bootstrap_request(
            request,
            request.ty() == Type::Confirmable,
            request.payload().len(),
        );
        self.answer(now, peer, checked)
    }

    /// [`handle_request`](Self::handle_request) for a request as the transport delivers it
    /// (options and body apart; a Block1 upload whole).
    pub fn handle_incoming(
        &mut self,
        now: Timestamp,
        peer: SocketAddr,
        request: &IncomingRequest,
    ) -> Response {
        let checked = match request.message() {
            Ok(options) => {
                check_bootstrap_request(&options, request.is_confirmable(), request.body().len())
            }
            Err(e) => Err(BootstrapRefusal::Malformed(e.to_string())),
        };
        self.answer(now, peer, checked)
    }

    fn answer(
        &mut self,
        now: Timestamp,
        peer: SocketAddr,
        checked: Result<String, BootstrapRefusal>,
    ) -> Response {
        match checked.and_then(|endpoint| self.start(now, peer, endpoint)) {
            Ok(()) => Response::new(Code::CHANGED),
            Err(refusal) => {
                let code = refusal.code();
                self.events
                    .push_back(BootstrapEvent::Refused { peer, refusal });
                Response::new(code)
            }
        }
    }

    fn start(
        &mut self,
        now: Timestamp,
        peer: SocketAddr,
        endpoint: String,
    ) -> Result<(), BootstrapRefusal> {
        let (config, default_config) = self
            .store
            .config_for(&endpoint)
            .map_err(|e| BootstrapRefusal::Store {
                endpoint: endpoint.clone(),
                message: e.to_string(),
            })?
            .ok_or_else(|| BootstrapRefusal::UnknownEndpoint {
                endpoint: endpoint.clone(),
            })?;
        let steps = plan(&config, &self.registry).map_err(|e| BootstrapRefusal::InvalidConfig {
            endpoint: endpoint.clone(),
            message: e.to_string(),
        })?;
        let endpoint: Arc<str> = match self.sessions.get_key_value(endpoint.as_str()) {
            Some((key, _)) => Arc::clone(key),
            None if self.sessions.len() >= self.settings.max_sessions => {
                return Err(BootstrapRefusal::Busy {
                    limit: self.settings.max_sessions,
                })
            }
            None => endpoint.into(),
        };
        if let Some(old) = self.sessions.remove(&endpoint) {
            self.fail(now, &endpoint, &old, FailureReason::Restarted);
        }
        self.generation += 1;
        let session = Session {
            generation: self.generation,
            peer,
            steps,
            current: 0,
            deadline: now.saturating_add(self.settings.step_timeout),
        };
        let steps = session.steps.len();
        self.events.push_back(BootstrapEvent::Started {
            endpoint: Arc::clone(&endpoint),
            peer,
            steps,
            default_config,
        });
        self.set_status(
            &endpoint,
            BootstrapStatus::Running {
                peer,
                done: 0,
                steps,
            },
        );
        self.queue(&endpoint, &session);
        self.sessions.insert(endpoint, session);
        Ok(())
    }

    fn queue(&mut self, endpoint: &Arc<str>, session: &Session) {
        if let Some(step) = session.steps.get(session.current) {
            self.commands.push_back(Command {
                session: SessionKey {
                    endpoint: Arc::clone(endpoint),
                    generation: session.generation,
                },
                peer: session.peer,
                step: session.current + 1,
                operation: step.operation,
                request: step.request.clone(),
            });
        }
    }

    fn fail(
        &mut self,
        now: Timestamp,
        endpoint: &Arc<str>,
        session: &Session,
        reason: FailureReason,
    ) {
        let Some(step) = session.steps.get(session.current) else {
            return;
        };
        let failure = BootstrapFailure {
            step: session.current + 1,
            operation: step.operation,
            reason,
        };
        self.set_status(
            endpoint,
            BootstrapStatus::Failed {
                at: now,
                failure: failure.clone(),
            },
        );
        self.events.push_back(BootstrapEvent::Failed {
            endpoint: Arc::clone(endpoint),
            failure,
        });
    }

    fn set_status(&mut self, endpoint: &Arc<str>, status: BootstrapStatus) {
        if self.status.insert(Arc::clone(endpoint), status).is_none() {
            self.status_order.push_back(Arc::clone(endpoint));
            while self.status.len() > self.settings.status_capacity {
                let Some(oldest) = self.status_order.pop_front() else {
                    break;
                };
                self.status.remove(&oldest);
            }
        }
    }

    /// The next request to send, if any.
    pub fn poll_command(&mut self) -> Option<Command> {
        self.commands.pop_front()
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<BootstrapEvent> {
        self.events.pop_front()
    }

    /// Feeds back how the command of `session`'s step `step` (1-based) ended. The next step's
    /// command follows a success; a wrong code or no answer fails the session. Outcomes of
    /// stale sessions or steps are ignored.
    pub fn handle_response(
        &mut self,
        now: Timestamp,
        session: &SessionKey,
        step: usize,
        outcome: StepOutcome,
    ) {
        let Some((endpoint, mut running)) = self.sessions.remove_entry(&session.endpoint) else {
            return;
        };
        if running.generation != session.generation || running.current + 1 != step {
            self.sessions.insert(endpoint, running);
            return;
        }
        let operation = match running.steps.get(running.current) {
            Some(s) => s.operation,
            None => return,
        };
        let reason = match outcome {
            StepOutcome::Answered(code) if code == operation.success_code() => None,
            StepOutcome::Answered(code) => Some(FailureReason::Rejected(code)),
            StepOutcome::NoResponse(error) => Some(FailureReason::NoResponse(error)),
        };
        if let Some(reason) = reason {
            self.fail(now, &endpoint, &running, reason);
            return;
        }
        self.events.push_back(BootstrapEvent::StepSucceeded {
            endpoint: Arc::clone(&endpoint),
            step,
            operation,
        });
        running.current += 1;
        if running.current >= running.steps.len() {
            self.set_status(&endpoint, BootstrapStatus::Finished { at: now });
            self.events.push_back(BootstrapEvent::Finished { endpoint });
            return;
        }
        running.deadline = now.saturating_add(self.settings.step_timeout);
        self.set_status(
            &endpoint,
            BootstrapStatus::Running {
                peer: running.peer,
                done: running.current,
                steps: running.steps.len(),
            },
        );
        self.queue(&endpoint, &running);
        self.sessions.insert(endpoint, running);
    }

    /// When [`handle_timeout`](Self::handle_timeout) should next be called.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        self.sessions.values().map(|s| s.deadline).min()
    }

    /// Fails every session whose step has waited past the step timeout.
    pub fn handle_timeout(&mut self, now: Timestamp) {
        let expired: Vec<Arc<str>> = self
            .sessions
            .iter()
            .filter(|(_, s)| s.deadline <= now)
            .map(|(ep, _)| Arc::clone(ep))
            .collect();
        for endpoint in expired {
            if let Some(session) = self.sessions.remove(&endpoint) {
                self.fail(now, &endpoint, &session, FailureReason::Timeout);
            }
        }
    }
}

#[cfg(test)]
mod tests;
