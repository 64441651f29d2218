//! The driver task: owns one [`Endpoint`], one socket and its [`DatagramLayer`], and runs the
//! loop
//!
//! commands → receive a batch → `handle_datagram` each → timers → dispatch events →
//! drain `poll_transmit` through the layer → batched send → sleep until the next deadline.
//!
//! It is a hand-written future rather than a `select!` loop, so one wake-up drains everything
//! that is ready (commands, a batch of datagrams, due timers) before one flush to the socket.
//!
//! `commands` carries out what the API asks; `events` hands the endpoint's events to whoever
//! waits for them.

mod commands;
mod events;

use std::collections::{HashMap, HashSet};
use std::future::{poll_fn, Future};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Sleep;

use super::command::Command;
use super::error::{Error, RelationClosed};
use super::layer::{DatagramLayer, Delivery, Wire};
use super::routes::Routes;
use super::server::ServerRequest;
use super::socket::Socket;
use crate::endpoint::Endpoint;
use crate::event::{RelationId, RequestId};
use crate::time::Instant;
use events::Waiter;

/// Rounds of the loop per wake-up before the task yields to others.
const MAX_ROUNDS: usize = 16;
/// Commands taken per round.
const MAX_COMMANDS: usize = 256;
/// Receive batches per round (each up to `quinn_udp::BATCH_SIZE` buffers).
const RECV_BATCHES: usize = 4;
/// Above this many datagrams waiting for the socket, stop reading until the socket drains.
const MAX_WIRE_BACKLOG: usize = 8192;

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
            let reading = self.wire.len() < MAX_WIRE_BACKLOG;
            if reading {
                busy |= self.poll_receive(cx, now);
            }
            busy |= self.run_timers(now);
            self.dispatch_events(now);
            self.collect_transmits(now);
            self.layer_failures(now);
            let _ = self.socket.poll_flush(cx, &mut self.wire);
            // A round that did not read armed no read waker: once the flush has brought the
            // backlog under the limit, go round again so the socket is read (or its waker
            // armed). While the backlog stays over it, the flush's write waker wakes the task.
            busy |= !reading && self.wire.len() < MAX_WIRE_BACKLOG;
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
                    &mut |delivery| match delivery {
                        Delivery::Plaintext(plain) => endpoint.handle_datagram(now, from, plain),
                        Delivery::NewSession => endpoint.new_session(&from),
                    },
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

    /// Fails at once the calls waiting on peers the layer gave up on.
    fn layer_failures(&mut self, now: Instant) {
        while let Some((peer, error)) = self.layer.poll_failure() {
            let ids: Vec<RequestId> = self
                .waiters
                .iter()
                .filter(|(_, w)| w.pending_peer() == Some(peer))
                .map(|(id, _)| *id)
                .collect();
            for id in ids {
                if let Some(waiter) = self.waiters.remove(&id) {
                    let _ = self.endpoint.cancel_request(now, id);
                    waiter.fail(error.clone());
                }
            }
        }
    }

    // ----- outputs -------------------------------------------------------------------------

    fn collect_transmits(&mut self, now: Instant) {
        while let Some(transmit) = self.endpoint.poll_transmit() {
            self.layer
                .send(now, transmit.destination, transmit.contents, &mut self.wire);
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
        self.layer.close(now, &mut self.wire);
        let mut cx = Context::from_waker(Waker::noop());
        let _ = self.socket.poll_flush(&mut cx, &mut self.wire);
        if let Some(done) = self.close.take() {
            let _ = done.send(());
        }
    }
}
