//! The driver task: owns one [`Endpoint`], one socket and its [`DatagramLayer`], and runs the
//! loop
//!
//! commands → receive a batch → `handle_datagram` each → timers → dispatch events →
//! drain `poll_transmit` through the layer → batched send → sleep until the next deadline.
//!
//! It is a hand-written future rather than a `select!` loop, so one wake-up drains everything
//! that is ready (commands, a batch of datagrams, due timers) before one flush to the socket.

use std::collections::{HashMap, HashSet};
use std::future::{poll_fn, Future};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use lwm2m_codec::coap::Code;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Sleep;

use super::client::{Feed, Notification};
use super::command::{Command, ObserveStart, Reply};
use super::error::{Error, RelationClosed};
use super::layer::{DatagramLayer, Wire};
use super::routes::Routes;
use super::server::{Responder, ServerRequest};
use super::socket::Socket;
use crate::endpoint::Endpoint;
use crate::event::{Event, IncomingId, RelationId, RequestId};
use crate::message::{IncomingRequest, IncomingResponse, Response};
use crate::time::Instant;

/// Rounds of the loop per wake-up before the task yields to others.
const MAX_ROUNDS: usize = 16;
/// Commands taken per round.
const MAX_COMMANDS: usize = 256;
/// Receive batches per round (each up to `quinn_udp::BATCH_SIZE` buffers).
const RECV_BATCHES: usize = 4;
/// Above this many datagrams waiting for the socket, stop reading until the socket drains.
const MAX_WIRE_BACKLOG: usize = 8192;

/// Who waits for the outcome of an outgoing exchange.
enum Waiter {
    Request {
        key: u64,
        reply: Reply<IncomingResponse>,
    },
    /// An observe request before its first response.
    Observe {
        key: u64,
        reply: Reply<ObserveStart>,
        feed: Arc<Feed>,
    },
    /// An established observation.
    Observing {
        key: u64,
        feed: Arc<Feed>,
    },
    Ping {
        key: u64,
        reply: Reply<()>,
    },
    /// The deregistration of a cancelled observation.
    Deregister {
        reply: Option<Reply<IncomingResponse>>,
    },
}

impl Waiter {
    fn key(&self) -> Option<u64> {
        match self {
            Waiter::Request { key, .. }
            | Waiter::Observe { key, .. }
            | Waiter::Observing { key, .. }
            | Waiter::Ping { key, .. } => Some(*key),
            Waiter::Deregister { .. } => None,
        }
    }

    /// Tells whoever waits that the outcome is `error`.
    fn fail(self, error: Error) {
        match self {
            Waiter::Request { reply, .. } | Waiter::Deregister { reply: Some(reply) } => {
                let _ = reply.send(Err(error));
            }
            Waiter::Observe { reply, feed, .. } => {
                feed.close();
                let _ = reply.send(Err(error));
            }
            Waiter::Observing { feed, .. } => match error {
                Error::Exchange(e) => feed.push(Notification::Failed(e)),
                _ => feed.close(),
            },
            Waiter::Ping { reply, .. } => {
                let _ = reply.send(Err(error));
            }
            Waiter::Deregister { reply: None } => {}
        }
    }
}

/// Several-socket mode: this driver's place among its siblings.
pub(crate) struct Sharing {
    pub(crate) index: usize,
    pub(crate) routes: Arc<Routes>,
    pub(crate) siblings: Vec<mpsc::UnboundedSender<Command>>,
    pub(crate) max_owned: usize,
}

pub(crate) struct Driver<L> {
    endpoint: Endpoint<SocketAddr>,
    layer: L,
    socket: Socket,
    wire: Wire,
    commands: mpsc::UnboundedReceiver<Command>,
    command_buffer: Vec<Command>,
    /// Given to responders and notifiers so their answers come back here.
    me: mpsc::UnboundedSender<Command>,
    sharing: Option<Sharing>,
    /// Several-socket mode: the peers this driver owns.
    owned: HashSet<SocketAddr>,
    incoming: Option<mpsc::Sender<ServerRequest>>,
    waiters: HashMap<RequestId, Waiter>,
    relations: HashMap<RelationId, watch::Sender<Option<RelationClosed>>>,
    origin: tokio::time::Instant,
    sleep: Pin<Box<Sleep>>,
    sleep_until: Option<Instant>,
    close: Option<oneshot::Sender<()>>,
}

impl<L: DatagramLayer> Driver<L> {
    pub(crate) fn new(
        endpoint: Endpoint<SocketAddr>,
        layer: L,
        socket: Socket,
        commands: mpsc::UnboundedReceiver<Command>,
        me: mpsc::UnboundedSender<Command>,
        sharing: Option<Sharing>,
    ) -> Driver<L> {
        let origin = tokio::time::Instant::now();
        Driver {
            endpoint,
            layer,
            socket,
            wire: Wire::default(),
            commands,
            command_buffer: Vec::with_capacity(MAX_COMMANDS),
            me,
            sharing,
            owned: HashSet::new(),
            incoming: None,
            waiters: HashMap::new(),
            relations: HashMap::new(),
            origin,
            sleep: Box::pin(tokio::time::sleep_until(origin)),
            sleep_until: None,
            close: None,
        }
    }

    /// Runs until a `Close` command (or until every handle to the channel is gone).
    pub(crate) async fn run(mut self) {
        poll_fn(|cx| self.poll_drive(cx)).await;
        self.shutdown();
    }

    fn now(&self) -> Instant {
        let elapsed = tokio::time::Instant::now().saturating_duration_since(self.origin);
        Instant::from_micros(u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX))
    }

    fn to_tokio(&self, at: Instant) -> tokio::time::Instant {
        let offset = Duration::from_micros(at.as_micros());
        // Past tokio's range (centuries away): a year from now is as good as never.
        self.origin
            .checked_add(offset)
            .unwrap_or_else(|| tokio::time::Instant::now() + Duration::from_secs(365 * 86_400))
    }

    fn poll_drive(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        for _ in 0..MAX_ROUNDS {
            let now = self.now();
            let mut busy = self.poll_commands(cx, now);
            if self.close.is_some() {
                return Poll::Ready(());
            }
            if self.wire.len() < MAX_WIRE_BACKLOG {
                busy |= self.poll_receive(cx, now);
            }
            busy |= self.run_timers(now);
            self.dispatch_events(now);
            self.collect_transmits(now);
            let _ = self.socket.poll_flush(cx, &mut self.wire);
            if !busy && !self.poll_timer(cx, now) {
                return Poll::Pending;
            }
        }
        // Still busy: let other tasks run, then continue.
        cx.waker().wake_by_ref();
        Poll::Pending
    }

    // ----- inputs --------------------------------------------------------------------------

    fn poll_commands(&mut self, cx: &mut Context<'_>, now: Instant) -> bool {
        let mut buffer = std::mem::take(&mut self.command_buffer);
        let received = match self.commands.poll_recv_many(cx, &mut buffer, MAX_COMMANDS) {
            // Every sender is gone: nobody can ask for anything any more.
            Poll::Ready(0) => {
                if self.close.is_none() {
                    let (done, _) = oneshot::channel();
                    self.close = Some(done);
                }
                0
            }
            Poll::Ready(count) => count,
            Poll::Pending => 0,
        };
        for command in buffer.drain(..) {
            if self.close.is_some() {
                // Dropping the command answers its caller `Closed`.
                continue;
            }
            self.command(now, command);
        }
        self.command_buffer = buffer;
        received > 0
    }

    fn command(&mut self, now: Instant, command: Command) {
        match command {
            Command::Request {
                peer,
                request,
                key,
                reply,
            } => {
                self.claim(peer);
                match self.endpoint.start_request(now, peer, request) {
                    Ok(id) => {
                        self.waiters.insert(id, Waiter::Request { key, reply });
                    }
                    Err(e) => {
                        let _ = reply.send(Err(Error::Endpoint(e)));
                    }
                }
            }
            Command::Observe {
                peer,
                request,
                key,
                reply,
                feed,
            } => {
                self.claim(peer);
                match self.endpoint.start_request(now, peer, request) {
                    Ok(id) => {
                        self.waiters
                            .insert(id, Waiter::Observe { key, reply, feed });
                    }
                    Err(e) => {
                        feed.close();
                        let _ = reply.send(Err(Error::Endpoint(e)));
                    }
                }
            }
            Command::Ping { peer, key, reply } => {
                self.claim(peer);
                match self.endpoint.ping(now, peer) {
                    Ok(id) => {
                        self.waiters.insert(id, Waiter::Ping { key, reply });
                    }
                    Err(e) => {
                        let _ = reply.send(Err(Error::Endpoint(e)));
                    }
                }
            }
            Command::Cancel { key } => self.cancel(now, key),
            Command::CancelObservation { id, reply } => self.deregister(now, id, reply),
            Command::Respond { id, response } => {
                // An unknown id: the request expired, or the endpoint already answered it.
                let _ = self.endpoint.respond(now, id, response);
            }
            Command::Acknowledge { id } => {
                let _ = self.endpoint.acknowledge(id);
            }
            Command::Accept {
                id,
                response,
                reply,
            } => self.accept(now, id, response, reply),
            Command::Notify { relation, response } => {
                let ends = !response.code().is_success();
                if self.endpoint.notify(now, relation, response).is_err() || ends {
                    self.relation_closed(relation, RelationClosed::Finished);
                }
            }
            Command::CancelRelation { relation } => {
                let _ = self.endpoint.cancel_relation(relation);
                self.relations.remove(&relation);
            }
            Command::Forwarded { from, datagram } => {
                self.claim(from);
                let Driver {
                    endpoint,
                    layer,
                    wire,
                    ..
                } = self;
                layer.receive(
                    now,
                    from,
                    &datagram,
                    &mut |plain| endpoint.handle_datagram(now, from, plain),
                    wire,
                );
            }
            Command::Listen { sender } => self.incoming = Some(sender),
            Command::Close { done } => self.close = Some(done),
        }
    }

    /// Several-socket mode: records that this driver owns `peer` (the handle routed it here, or
    /// another socket forwarded its datagram).
    fn claim(&mut self, peer: SocketAddr) {
        if let Some(sharing) = &self.sharing {
            if self.owned.len() < sharing.max_owned {
                self.owned.insert(peer);
            }
        }
    }

    /// A request, observe or ping future was dropped: abandon its exchange.
    fn cancel(&mut self, now: Instant, key: u64) {
        let Some(id) = self
            .waiters
            .iter()
            .find(|(_, waiter)| waiter.key() == Some(key))
            .map(|(id, _)| *id)
        else {
            return;
        };
        if let Some(Waiter::Observing { feed, .. }) = self.waiters.get(&id) {
            feed.close();
            self.deregister(now, id, None);
        } else {
            self.waiters.remove(&id);
            let _ = self.endpoint.cancel_request(now, id);
        }
    }

    /// Cancels an established observation reactively.
    fn deregister(&mut self, now: Instant, id: RequestId, reply: Option<Reply<IncomingResponse>>) {
        if let Some(Waiter::Observing { feed, .. } | Waiter::Observe { feed, .. }) =
            self.waiters.remove(&id)
        {
            feed.close();
        }
        match self.endpoint.cancel_observation(now, id) {
            Ok(cancel) => {
                self.waiters.insert(cancel, Waiter::Deregister { reply });
            }
            Err(e) => {
                if let Some(reply) = reply {
                    let _ = reply.send(Err(Error::Endpoint(e)));
                }
            }
        }
    }

    fn accept(
        &mut self,
        now: Instant,
        id: IncomingId,
        response: Response,
        reply: Reply<(RelationId, watch::Receiver<Option<RelationClosed>>)>,
    ) {
        match self.endpoint.accept_observation(now, id, response.clone()) {
            Ok(relation) => {
                let (state, receiver) = watch::channel(None);
                if reply.send(Ok((relation, receiver))).is_ok() {
                    self.relations.insert(relation, state);
                } else {
                    let _ = self.endpoint.cancel_relation(relation);
                }
            }
            Err(e) => {
                // Refused as an observation: the response still answers the request.
                let _ = self.endpoint.respond(now, id, response);
                let _ = reply.send(Err(Error::Endpoint(e)));
            }
        }
    }

    fn poll_receive(&mut self, cx: &mut Context<'_>, now: Instant) -> bool {
        let mut busy = false;
        for _ in 0..RECV_BATCHES {
            let Driver {
                endpoint,
                layer,
                socket,
                wire,
                sharing,
                owned,
                ..
            } = self;
            let polled = socket.poll_recv(cx, |from, datagram| {
                if let Some(sharing) = sharing {
                    if !owned.contains(&from) {
                        let owner = sharing.routes.owner(from, sharing.index);
                        if owner != sharing.index {
                            if let Some(sibling) = sharing.siblings.get(owner) {
                                let datagram = bytes::Bytes::copy_from_slice(datagram);
                                let _ = sibling.send(Command::Forwarded { from, datagram });
                                return;
                            }
                        } else if owned.len() < sharing.max_owned {
                            owned.insert(from);
                        }
                    }
                }
                layer.receive(
                    now,
                    from,
                    datagram,
                    &mut |plain| endpoint.handle_datagram(now, from, plain),
                    wire,
                );
            });
            match polled {
                Poll::Ready(Ok(_)) => busy = true,
                // A broken socket: nothing to read now; the caller's timers and commands go on.
                Poll::Ready(Err(_)) | Poll::Pending => break,
            }
        }
        busy
    }

    /// Runs the endpoint's and the layer's due timers; `true` if any was due.
    fn run_timers(&mut self, now: Instant) -> bool {
        let due = |deadline: Option<Instant>| deadline.is_some_and(|at| at <= now);
        let endpoint_due = due(self.endpoint.poll_timeout());
        let layer_due = due(self.layer.poll_timeout());
        if endpoint_due {
            self.endpoint.handle_timeout(now);
        }
        if layer_due {
            self.layer.handle_timeout(now, &mut self.wire);
        }
        endpoint_due || layer_due
    }

    /// Arms the sleep for the next deadline; `true` if it has already passed.
    fn poll_timer(&mut self, cx: &mut Context<'_>, now: Instant) -> bool {
        let deadline = match (self.endpoint.poll_timeout(), self.layer.poll_timeout()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let Some(deadline) = deadline else {
            self.sleep_until = None;
            return false;
        };
        if deadline <= now {
            return true;
        }
        if self.sleep_until != Some(deadline) {
            let at = self.to_tokio(deadline);
            self.sleep.as_mut().reset(at);
            self.sleep_until = Some(deadline);
        }
        self.sleep.as_mut().poll(cx).is_ready()
    }

    // ----- outputs -------------------------------------------------------------------------

    fn collect_transmits(&mut self, now: Instant) {
        while let Some(transmit) = self.endpoint.poll_transmit() {
            self.layer
                .send(now, transmit.destination, transmit.contents, &mut self.wire);
        }
    }

    fn dispatch_events(&mut self, now: Instant) {
        while let Some(event) = self.endpoint.poll_event() {
            match event {
                Event::Request { id, peer, request } => {
                    self.deliver_request(now, id, peer, request);
                }
                Event::Response { id, response, .. } => self.on_response(now, id, response),
                Event::Notification { id, response, .. } => {
                    if let Some(Waiter::Observing { feed, .. } | Waiter::Observe { feed, .. }) =
                        self.waiters.get(&id)
                    {
                        feed.push(Notification::Value(response));
                    }
                }
                Event::ObservationEnded { id, response, .. } => match self.waiters.remove(&id) {
                    Some(Waiter::Observing { feed, .. }) => {
                        feed.push(Notification::Ended(response));
                    }
                    Some(Waiter::Observe { reply, feed, .. }) => {
                        feed.close();
                        let start = ObserveStart {
                            id,
                            response,
                            established: false,
                        };
                        let _ = reply.send(Ok(start));
                    }
                    Some(other) => {
                        self.waiters.insert(id, other);
                    }
                    None => {}
                },
                Event::RequestFailed { id, error, .. } => {
                    if let Some(waiter) = self.waiters.remove(&id) {
                        waiter.fail(Error::Exchange(error));
                    }
                }
                Event::Pong { id, .. } => {
                    if let Some(Waiter::Ping { reply, .. }) = self.waiters.remove(&id) {
                        let _ = reply.send(Ok(()));
                    }
                }
                Event::RelationEnded {
                    relation, reason, ..
                } => self.relation_closed(relation, RelationClosed::Peer(reason)),
            }
        }
    }

    fn deliver_request(
        &mut self,
        now: Instant,
        id: IncomingId,
        peer: SocketAddr,
        request: IncomingRequest,
    ) {
        if let Some(sender) = &self.incoming {
            let item = ServerRequest {
                peer,
                request,
                responder: Responder::new(id, self.me.clone()),
            };
            match sender.try_send(item) {
                Ok(()) => return,
                Err(refused) => {
                    if matches!(refused, mpsc::error::TrySendError::Closed(_)) {
                        self.incoming = None;
                    }
                    refused.into_inner().responder.disarm();
                }
            }
        }
        let _ = self
            .endpoint
            .respond(now, id, Response::new(Code::SERVICE_UNAVAILABLE));
    }

    fn on_response(&mut self, now: Instant, id: RequestId, response: IncomingResponse) {
        match self.waiters.remove(&id) {
            Some(Waiter::Request { reply, .. } | Waiter::Deregister { reply: Some(reply) }) => {
                let _ = reply.send(Ok(response));
            }
            Some(Waiter::Observe { key, reply, feed }) => {
                let established = response.code().is_success() && response.observe().is_some();
                if established {
                    self.waiters.insert(
                        id,
                        Waiter::Observing {
                            key,
                            feed: Arc::clone(&feed),
                        },
                    );
                } else {
                    feed.close();
                }
                let start = ObserveStart {
                    id,
                    response,
                    established,
                };
                if reply.send(Ok(start)).is_err() && established {
                    // Nobody will read the notifications.
                    self.deregister(now, id, None);
                }
            }
            Some(Waiter::Deregister { reply: None }) | None => {}
            Some(other) => {
                self.waiters.insert(id, other);
            }
        }
    }

    fn relation_closed(&mut self, relation: RelationId, how: RelationClosed) {
        if let Some(state) = self.relations.remove(&relation) {
            state.send_replace(Some(how));
        }
    }

    // ----- shutdown ------------------------------------------------------------------------

    /// Tells every waiter the endpoint closed, ends the streams, and sends what is queued.
    fn shutdown(&mut self) {
        self.commands.close();
        while let Ok(command) = self.commands.try_recv() {
            if let Command::Close { done } = command {
                let _ = done.send(());
            }
        }
        for (_, waiter) in self.waiters.drain() {
            waiter.fail(Error::Closed);
        }
        for (_, state) in self.relations.drain() {
            state.send_replace(Some(RelationClosed::EndpointClosed));
        }
        self.incoming = None;
        let now = self.now();
        self.collect_transmits(now);
        let mut cx = Context::from_waker(Waker::noop());
        let _ = self.socket.poll_flush(&mut cx, &mut self.wire);
        if let Some(done) = self.close.take() {
            let _ = done.send(());
        }
    }
}
