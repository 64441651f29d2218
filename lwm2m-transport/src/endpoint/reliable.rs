//! The message layer (RFC 7252 §4): messages awaiting an ACK, their retransmission with
//! randomised exponential back-off, and matching of incoming ACK and RST to them.
//!
//! Every Confirmable message this endpoint sends (requests, separate responses, notifications,
//! pings) is tracked here by (peer, message id) until it is acknowledged, reset or given up on;
//! Non-confirmable requests and notifications are tracked too (without timer), so an RST to them
//! is recognised. The owner of each message is told the outcome.

use core::hash::Hash;
use core::time::Duration;

use bytes::Bytes;
use lwm2m_codec::coap::{option, Message};
use rand::RngExt;

use super::dedup::MsgKey;
use super::{Endpoint, PeerKey, Timer};
use crate::error::ExchangeError;
use crate::event::{Event, RelationEnd, RelationId, RequestId};
use crate::time::Instant;
use crate::timers::TimerKey;

/// Who is waiting for the fate of a tracked message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Owner {
    /// A request (or ping) of an outgoing exchange.
    Request(RequestId),
    /// A separate response to an incoming request.
    Response,
    /// A notification (or the first response) of an observe relation.
    Notification(RelationId),
}

/// A message this endpoint sent that an ACK or RST may refer to.
#[derive(Debug)]
pub(crate) struct Pending {
    bytes: Bytes,
    confirmable: bool,
    /// Retransmissions made so far.
    retransmissions: u8,
    /// The current timeout (doubled after each retransmission).
    timeout: Duration,
    timer: Option<TimerKey>,
    pub(crate) owner: Owner,
}

/// Retransmission state a replacement notification inherits (RFC 7641 §4.5.2).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Backoff {
    retransmissions: u8,
    timeout: Duration,
}

impl<P: Clone + Eq + Hash> Endpoint<P> {
    /// The first timeout: uniformly random between `ACK_TIMEOUT` and
    /// `ACK_TIMEOUT` × `ACK_RANDOM_FACTOR`.
    #[allow(
        clippy::cast_precision_loss,
        reason = "timeouts below 2^52 µs convert exactly; the float only scales the jitter"
    )]
    pub(super) fn initial_timeout(&mut self) -> Duration {
        let t = &self.config.transmission;
        let base = u64::try_from(t.ack_timeout.as_micros()).unwrap_or(u64::MAX);
        // Float to integer `as` saturates, so this cannot overflow.
        let spread = (base as f64 * (t.ack_random_factor - 1.0)) as u64;
        let jitter = self.rng.random_range(0..=spread);
        Duration::from_micros(base.saturating_add(jitter))
    }

    /// Sends a message and tracks it; a Confirmable one is retransmitted until acknowledged.
    pub(super) fn send_tracked(
        &mut self,
        now: Instant,
        pk: PeerKey,
        mid: u16,
        bytes: Bytes,
        confirmable: bool,
        owner: Owner,
    ) {
        self.send_tracked_with(now, pk, mid, bytes, confirmable, owner, None);
    }

    /// [`Self::send_tracked`], continuing the back-off of a message it replaces.
    #[allow(
        clippy::too_many_arguments,
        reason = "an internal helper with one call site each"
    )]
    pub(super) fn send_tracked_with(
        &mut self,
        now: Instant,
        pk: PeerKey,
        mid: u16,
        bytes: Bytes,
        confirmable: bool,
        owner: Owner,
        inherit: Option<Backoff>,
    ) {
        let key = (pk, mid);
        let (retransmissions, timeout, timer) = if confirmable {
            let (retransmissions, timeout) = match inherit {
                Some(b) => (b.retransmissions, b.timeout),
                None => (0, self.initial_timeout()),
            };
            let timer = self.timers.insert(now + timeout, Timer::Retransmit(key));
            (retransmissions, timeout, Some(timer))
        } else {
            (0, Duration::ZERO, None)
        };
        if let Some(old) = self.pending.insert(
            key,
            Pending {
                bytes: bytes.clone(),
                confirmable,
                retransmissions,
                timeout,
                timer,
                owner,
            },
        ) {
            // A message id reused within EXCHANGE_LIFETIME (only after 65 536 messages to one
            // peer): the older message is forgotten.
            self.cancel_timer(old.timer);
            self.peers.release(pk);
        }
        self.peers.retain(pk);
        self.transmit(pk, bytes);
    }

    /// Stops tracking a message; returns its back-off state and owner.
    pub(super) fn untrack(&mut self, key: MsgKey) -> Option<(Owner, Backoff)> {
        let pending = self.pending.remove(&key)?;
        self.cancel_timer(pending.timer);
        self.peers.release(key.0);
        Some((
            pending.owner,
            Backoff {
                retransmissions: pending.retransmissions,
                timeout: pending.timeout,
            },
        ))
    }

    /// Stops tracking a message if `owner` owns it.
    pub(super) fn untrack_owned(&mut self, key: MsgKey, owner: Owner) -> Option<Backoff> {
        if self.pending.get(&key).is_some_and(|p| p.owner == owner) {
            self.untrack(key).map(|(_, backoff)| backoff)
        } else {
            None
        }
    }

    pub(super) fn on_retransmit_timer(&mut self, now: Instant, at: Instant, key: MsgKey) {
        let max = self.config.transmission.max_retransmit;
        let Some(pending) = self.pending.get_mut(&key) else {
            return;
        };
        pending.timer = None;
        if pending.retransmissions < max {
            pending.retransmissions += 1;
            pending.timeout = pending.timeout.saturating_mul(2);
            // Measured from the scheduled deadline, so a late wake-up does not stretch the
            // back-off.
            let deadline = at + pending.timeout;
            let bytes = pending.bytes.clone();
            let timer = self.timers.insert(deadline, Timer::Retransmit(key));
            if let Some(pending) = self.pending.get_mut(&key) {
                pending.timer = Some(timer);
            }
            self.transmit(key.0, bytes);
            return;
        }
        let Some((owner, _)) = self.untrack(key) else {
            return;
        };
        match owner {
            Owner::Request(id) => self.fail(
                now,
                id,
                ExchangeError::Timeout {
                    transmissions: max.saturating_add(1),
                },
            ),
            Owner::Response => {}
            Owner::Notification(relation) if self.config.keep_relations_on_timeout => {
                if let Some(r) = self.relations.map.get_mut(&relation) {
                    r.con_mid = None;
                    let peer = r.peer;
                    if let Some(peer) = self.addr(peer) {
                        self.events
                            .push_back(Event::NotificationTimedOut { relation, peer });
                    }
                }
            }
            Owner::Notification(relation) => {
                self.end_relation(relation, Some(RelationEnd::Timeout));
            }
        }
    }

    /// An ACK: completes the Confirmable message it acknowledges, which may carry a piggy-backed
    /// response.
    pub(super) fn on_ack(&mut self, now: Instant, pk: PeerKey, msg: &Message<'_>) {
        let key = (pk, msg.message_id());
        let Some(pending) = self.pending.get(&key) else {
            return;
        };
        if !pending.confirmable {
            return;
        }
        let owner = pending.owner;
        if !msg.code().is_empty() {
            // A piggy-backed response must carry the request's token (RFC 7252 §5.3.2), and
            // one with an unknown critical option is rejected (§5.4.1): keep retransmitting.
            let Owner::Request(id) = owner else {
                return;
            };
            if !self.token_matches(id, msg)
                || msg.first_unknown_critical(option::is_known).is_some()
            {
                return;
            }
        }
        self.untrack(key);
        match owner {
            Owner::Request(id) => {
                if msg.code().is_empty() {
                    self.on_empty_ack(now, id);
                } else {
                    self.on_response(now, id, msg);
                }
            }
            Owner::Response => {}
            Owner::Notification(relation) => {
                if let Some(r) = self.relations.map.get_mut(&relation) {
                    if r.con_mid == Some(key.1) {
                        r.con_mid = None;
                    }
                }
            }
        }
    }

    /// An RST: the peer rejected the message it refers to.
    pub(super) fn on_reset(&mut self, now: Instant, pk: PeerKey, mid: u16) {
        let Some((owner, _)) = self.untrack((pk, mid)) else {
            return;
        };
        match owner {
            Owner::Request(id) => self.on_request_reset(now, id),
            Owner::Response => {}
            Owner::Notification(relation) => {
                self.end_relation(relation, Some(RelationEnd::Reset));
            }
        }
    }
}
