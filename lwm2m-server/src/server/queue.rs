//! Queue mode (digest §8, binding `UQ`): a client in queue mode is reachable only for a while
//! after it talks to the server (Register or Update). Requests for it wait in a bounded queue
//! until then, go out one at a time in the order they were made, and expire if it does not wake
//! up in time. Each step is published as [`ServerEvent::QueuedRequest`].

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use lwm2m_model::Path;
use tokio::sync::watch;
use tokio::time::Instant;

use super::dm::Target;
use super::{lock, DmError, RequestStatus, ServerEvent, ServerHandle, Shared};

/// Queue-mode settings of a [`Server`](super::Server).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueConfig {
    /// How many requests may wait for one client (default 32); more fail with
    /// [`DmError::QueueFull`].
    pub capacity: usize,
    /// How long a request may wait for the client to wake up (default 1 hour); then it fails
    /// with [`DmError::QueueExpired`] without being sent.
    pub expiry: Duration,
    /// How long a client stays reachable after a Register or Update (default 93 s,
    /// `MAX_TRANSMIT_WAIT`, which the TS says a queue-mode client waits for requests).
    pub awake_time: Duration,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            capacity: 32,
            expiry: Duration::from_secs(3600),
            awake_time: Duration::from_secs(93),
        }
    }
}

/// The queue of one client.
#[derive(Debug, Default)]
pub(super) struct ClientQueue {
    state: std::sync::Mutex<QueueState>,
    /// Bumped on every change of `state`, to wake the waiting requests.
    changed: watch::Sender<u64>,
}

#[derive(Debug, Default)]
struct QueueState {
    /// The waiting requests' numbers in the order they were made; the first one's turn is
    /// next (or now, while it is out).
    waiting: VecDeque<u64>,
    /// Until when the client is reachable (`None`: asleep).
    awake_until: Option<Instant>,
    /// The registration went away: the waiting requests fail.
    closed: bool,
}

/// Whether the request may go now.
enum Verdict {
    Go,
    Wait,
    Gone,
}

impl ClientQueue {
    fn update<T>(&self, f: impl FnOnce(&mut QueueState) -> T) -> T {
        let value = f(&mut lock(&self.state));
        self.changed
            .send_modify(|version| *version = version.wrapping_add(1));
        value
    }

    fn verdict(&self, request: u64) -> Verdict {
        let state = lock(&self.state);
        if state.closed {
            Verdict::Gone
        } else if state.waiting.front() == Some(&request)
            && state
                .awake_until
                .is_some_and(|until| until > Instant::now())
        {
            Verdict::Go
        } else {
            Verdict::Wait
        }
    }

    fn leave(&self, request: u64) {
        self.update(|state| state.waiting.retain(|r| *r != request));
    }
}

/// The queues of the queue-mode clients, by endpoint name.
#[derive(Debug, Default)]
pub(super) struct Queues {
    clients: std::sync::Mutex<HashMap<Arc<str>, Arc<ClientQueue>>>,
    next_request: AtomicU64,
}

impl Queues {
    fn get(&self, endpoint: &Arc<str>) -> Arc<ClientQueue> {
        let mut clients = lock(&self.clients);
        Arc::clone(clients.entry(Arc::clone(endpoint)).or_default())
    }

    /// The client talked to the server: it is reachable for `awake_time`.
    pub(super) fn wake(&self, endpoint: &Arc<str>, awake_time: Duration) {
        let until = Instant::now() + awake_time;
        self.get(endpoint)
            .update(|state| state.awake_until = Some(until));
    }

    /// The client did not answer: take it as asleep until it talks again.
    fn sleep(&self, endpoint: &Arc<str>) {
        if let Some(queue) = lock(&self.clients).get(endpoint) {
            queue.update(|state| state.awake_until = None);
        }
    }

    /// The registration is gone: requests still waiting fail.
    pub(super) fn remove(&self, endpoint: &str) {
        if let Some(queue) = lock(&self.clients).remove(endpoint) {
            queue.update(|state| state.closed = true);
        }
    }

    pub(super) fn clear(&self) {
        for (_, queue) in lock(&self.clients).drain() {
            queue.update(|state| state.closed = true);
        }
    }
}

/// A queued request's turn: while it lives, no other request goes to the client. Dropping it
/// publishes [`RequestStatus::Answered`] and lets the next request go.
///
/// It exists from the moment the request is queued, so a caller that gives up while waiting
/// (its future dropped) leaves the queue too.
pub(super) struct Turn {
    queue: Arc<ClientQueue>,
    shared: Arc<Shared>,
    endpoint: Arc<str>,
    request: u64,
    operation: &'static str,
    path: Path,
    /// The request went out (else it is not reported as answered).
    sent: bool,
}

impl Turn {
    /// The exchange timed out: the client went back to sleep.
    pub(super) fn timed_out(&self) {
        self.shared.queues.sleep(&self.endpoint);
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        // Reported before the next request may go, so that the events come in order.
        if self.sent {
            self.shared.publish_request(
                &self.endpoint,
                self.request,
                self.operation,
                self.path,
                RequestStatus::Answered,
            );
        }
        self.queue.leave(self.request);
    }
}

impl Shared {
    fn publish_request(
        &self,
        endpoint: &Arc<str>,
        request: u64,
        operation: &'static str,
        path: Path,
        status: RequestStatus,
    ) {
        tracing::debug!(%endpoint, request, operation, %path, status = status.as_str(), "queued request");
        let _ = self.events.send(ServerEvent::QueuedRequest {
            endpoint: Arc::clone(endpoint),
            request,
            operation,
            path,
            status,
        });
    }
}

impl ServerHandle {
    /// For a client in queue mode, waits until it is its request's turn and the client is
    /// awake; `None` for other clients (nothing to wait for).
    pub(super) async fn wait_turn(
        &self,
        target: &Target,
        operation: &'static str,
        path: Path,
    ) -> Result<Option<Turn>, DmError> {
        if !target.queue_mode {
            return Ok(None);
        }
        let shared = &self.shared;
        let config = shared.queue_config;
        let queue = shared.queues.get(&target.endpoint);
        // The number is taken and the request enqueued in one step, so requests go out in the
        // order they were made.
        let request = {
            let mut state = lock(&queue.state);
            if state.waiting.len() >= config.capacity {
                return Err(DmError::QueueFull {
                    endpoint: target.endpoint.to_string(),
                });
            }
            let request = shared.queues.next_request.fetch_add(1, Ordering::Relaxed);
            state.waiting.push_back(request);
            request
        };
        let endpoint = &target.endpoint;
        let mut turn = Turn {
            queue: Arc::clone(&queue),
            shared: Arc::clone(shared),
            endpoint: Arc::clone(endpoint),
            request,
            operation,
            path,
            sent: false,
        };
        shared.publish_request(endpoint, request, operation, path, RequestStatus::Queued);
        let mut changes = queue.changed.subscribe();
        let waited = tokio::time::timeout(config.expiry, async {
            loop {
                match queue.verdict(request) {
                    Verdict::Go => return true,
                    Verdict::Gone => return false,
                    Verdict::Wait => {}
                }
                if changes.changed().await.is_err() {
                    return false;
                }
            }
        })
        .await;
        match waited {
            Ok(true) => {
                shared.publish_request(endpoint, request, operation, path, RequestStatus::Sent);
                turn.sent = true;
                Ok(Some(turn))
            }
            Ok(false) => Err(DmError::UnknownEndpoint(endpoint.to_string())),
            Err(_) => {
                shared.publish_request(endpoint, request, operation, path, RequestStatus::Expired);
                Err(DmError::QueueExpired {
                    endpoint: endpoint.to_string(),
                    path,
                })
            }
        }
    }
}
