//! Observe (digest §10.3): [`ServerHandle::observe`] and the [`ObservationStream`] of decoded
//! notifications.

use std::sync::Arc;

use lwm2m_model::content::{Content, ContentFormat};
use lwm2m_model::Path;
use lwm2m_transport::udp::{Notification, Observation};
use tokio::sync::{mpsc, oneshot};

use super::dm::{Options, Target};
use super::{lock, DmError, ServerEvent, ServerHandle, Shared};
use lwm2m_codec::coap::{Code, Token};
use std::sync::atomic::Ordering;

use crate::store::Observation as StoredObservation;
use crate::Timestamp;

/// The notifications of one observation, decoded (read them with [`next`](Self::next) or as a
/// [`Stream`](futures_core::Stream)). It ends when the client ends the observation,
/// when [`ServerHandle::cancel_observation`] cancels it, or when the client's registration goes
/// away; dropping it cancels the observation.
#[derive(Debug)]
pub struct ObservationStream {
    endpoint: Arc<str>,
    path: Path,
    initial: Content,
    receiver: mpsc::Receiver<Result<Content, DmError>>,
}

impl ObservationStream {
    /// The client's endpoint name.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The observed path.
    pub fn path(&self) -> Path {
        self.path
    }

    /// The value in the answer to the observe request.
    pub fn initial(&self) -> &Content {
        &self.initial
    }

    /// The next notification; `None` once the observation is over. An `Err` (a payload that
    /// does not decode, or the client ending the observation with an error code) is followed by
    /// further items only in the decode case.
    pub async fn next(&mut self) -> Option<Result<Content, DmError>> {
        self.receiver.recv().await
    }
}

impl futures_core::Stream for ObservationStream {
    type Item = Result<Content, DmError>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        self.receiver.poll_recv(cx)
    }
}

impl ServerHandle {
    /// Observes `path` (Observe, digest §10.3) in `format` (default as for
    /// [`read`](Self::read)). Set `pmin`/`pmax` first with
    /// [`write_attributes`](Self::write_attributes). Observing a path that is already observed
    /// replaces the earlier observation.
    pub async fn observe(
        &self,
        endpoint: &str,
        path: Path,
        format: Option<ContentFormat>,
    ) -> Result<ObservationStream, DmError> {
        let target = self.target(endpoint)?;
        if path.is_root() {
            return Err(DmError::InvalidPath {
                path,
                operation: "Observe",
            });
        }
        let format = Self::value_format(&target, format);
        let options = Options {
            accept: Some(format),
            ..Options::default()
        };
        let request = Self::request(&target, Code::GET, &path, options)?;
        let timeout = DmError::Timeout {
            endpoint: target.endpoint.to_string(),
            path,
        };
        let turn = self.wait_turn(&target, "Observe", path).await?;
        let peer = self.current_peer(&target)?;
        let answer = tokio::time::timeout(
            self.shared.timeout,
            self.shared.transport_for(peer).observe(peer, request),
        )
        .await;
        if let (Some(turn), Err(_) | Ok(Err(_))) = (&turn, &answer) {
            turn.timed_out();
        }
        drop(turn);
        let observation = answer
            .map_err(|_| timeout)?
            .map_err(|e| Self::transport_error(&target, &path, e))?;
        let code = observation.response().code();
        if !code.is_success() {
            return Err(DmError::from_code(code, path));
        }
        let initial = self.decode(observation.response(), &path, format)?;
        let (sender, receiver) = mpsc::channel(64);
        if observation.is_established() {
            let token = observation
                .response()
                .message()
                .map(|m| m.owned_token())
                .map_err(|e| DmError::InvalidRequest(e.to_string()))?;
            self.store_observation(&target, path, token, format);
            let (cancel, cancelled) = oneshot::channel();
            lock(&self.shared.observations).insert((Arc::clone(&target.endpoint), path), cancel);
            let relay = Relay {
                handle: self.clone(),
                target,
                path,
                format,
                sender,
                token,
            };
            tokio::spawn(relay.run(observation, cancelled));
        }
        Ok(ObservationStream {
            endpoint: Arc::from(endpoint),
            path,
            initial,
            receiver,
        })
    }

    /// Cancels the observation of `path` made with [`observe`](Self::observe) (the client is
    /// told with a GET with Observe = 1), or restored after a restart (forgotten: the client's
    /// next notification gets RST). Returns whether there was one.
    pub fn cancel_observation(&self, endpoint: &str, path: Path) -> bool {
        let forgotten = self.forget_restored(endpoint, path);
        let cancel = lock(&self.shared.observations).remove(&(Arc::from(endpoint), path));
        cancel.is_some_and(|cancel| cancel.send(()).is_ok()) || forgotten
    }

    /// Drops the restored observations of `path` on `endpoint` (from the store too).
    fn forget_restored(&self, endpoint: &str, path: Path) -> bool {
        let removed = self
            .shared
            .restored
            .remove_where(|r| &*r.endpoint == endpoint && r.path == path);
        let mut store = lock(&self.shared.observation_store);
        for (token, restored) in &removed {
            let _ = store.remove(restored.registration, token);
        }
        !removed.is_empty()
    }

    /// Keeps a new observation in the store (replacing a restored one of the same path).
    fn store_observation(&self, target: &Target, path: Path, token: Token, format: ContentFormat) {
        self.forget_restored(&target.endpoint, path);
        let observation = StoredObservation {
            registration: target.registration,
            token,
            path,
            content_format: Some(format.number()),
            created_at: Timestamp::now(),
        };
        if let Err(error) = lock(&self.shared.observation_store).put(observation) {
            tracing::warn!(endpoint = %target.endpoint, %path, %error, "cannot store an observation");
        }
    }
}

/// Moves the notifications of one observation from the transport to its stream and the events.
struct Relay {
    handle: ServerHandle,
    target: Target,
    path: Path,
    format: ContentFormat,
    sender: mpsc::Sender<Result<Content, DmError>>,
    token: Token,
}

impl Relay {
    async fn run(self, mut observation: Observation, mut cancelled: oneshot::Receiver<()>) {
        loop {
            tokio::select! {
                // Sent or dropped (the registration went away): either way, stop observing.
                _ = &mut cancelled => {
                    let _ = observation.cancel().await;
                    break;
                }
                () = self.sender.closed() => break,
                item = observation.next() => match item {
                    Some(Notification::Value(response)) => {
                        let decoded = self.handle.decode(&response, &self.path, self.format);
                        if let Ok(content) = &decoded {
                            let _ = self.handle.shared.events.send(ServerEvent::Notification {
                                endpoint: Arc::clone(&self.target.endpoint),
                                path: self.path,
                                content: Arc::new(content.clone()),
                            });
                        }
                        let _ = self.sender.send(decoded).await;
                    }
                    Some(Notification::Ended(response)) => {
                        if !response.code().is_success() {
                            let error = DmError::from_code(response.code(), self.path);
                            let _ = self.sender.send(Err(error)).await;
                        }
                        break;
                    }
                    Some(Notification::Failed(error)) => {
                        let error = ServerHandle::transport_error(&self.target, &self.path, error.into());
                        let _ = self.sender.send(Err(error)).await;
                        break;
                    }
                    Some(_) | None => break,
                },
            }
        }
        let shared = &self.handle.shared;
        if !shared.stopping.load(Ordering::Acquire) {
            // Over for good (not just the server stopping): the store forgets it.
            let removed =
                lock(&shared.observation_store).remove(self.target.registration, &self.token);
            if let Err(error) = removed {
                tracing::warn!(endpoint = %self.target.endpoint, %error, "cannot remove a stored observation");
            }
        }
        forget_finished(shared);
    }
}

/// Drops the cancel switches of observations whose relay has ended.
fn forget_finished(shared: &Shared) {
    lock(&shared.observations).retain(|_, cancel| !cancel.is_closed());
}
