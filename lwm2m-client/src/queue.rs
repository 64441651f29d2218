//! Queue mode (binding `UQ`, digest §8.6): after each exchange the client stays reachable for
//! the awake time ([`Timings::awake_time`](crate::Timings::awake_time)), then sleeps: it takes
//! no datagram in and has nothing in flight. It wakes when an Update is due or a notification
//! is ready; the first thing it sends is an Update to every server (so they know it is
//! reachable and send what they queued), and the notifications follow its answer.

use alloc::vec::Vec;
use core::hash::Hash;

use lwm2m_model::BindingMode;
use lwm2m_transport::Instant;

use crate::client::{Client, ClientEvent};

/// Whether the client sleeps and until when it stays awake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct QueueState {
    pub(crate) asleep: bool,
    /// The end of the awake time after the last exchange.
    pub(crate) awake_until: Instant,
}

impl<P: Clone + Eq + Hash + 'static> Client<P> {
    /// Whether the client is asleep (queue mode): it takes no datagram in until it wakes to
    /// send an Update or a notification.
    pub fn is_sleeping(&self) -> bool {
        self.queue.asleep
    }

    /// The binding in server `ssid`'s Server instance.
    pub(crate) fn binding_of(&self, ssid: u16) -> BindingMode {
        self.server_store()
            .and_then(|s| s.iter().find(|(_, s)| s.short_server_id == i64::from(ssid)))
            .and_then(|(_, s)| BindingMode::parse(&s.binding))
            .unwrap_or_default()
    }

    /// Queue mode applies when every server account uses a queue binding (one radio serves
    /// them all: it sleeps only when no server expects it to be reachable).
    pub(crate) fn queue_mode(&self) -> bool {
        !self.registrations.is_empty()
            && self
                .registrations
                .keys()
                .all(|&ssid| self.binding_of(ssid) == BindingMode::UdpQueue)
    }

    /// A datagram went out or came in: the awake time starts again.
    pub(crate) fn note_exchange(&mut self) {
        self.queue.awake_until = self.now + self.timings.awake_time;
    }

    /// When the client falls asleep, if it may (queue mode, awake, the awake time still
    /// running). Once it has run out, what keeps the client awake (an exchange in flight, a
    /// Register being retried) ends with an event that looks again, so no deadline in the past
    /// makes a driver spin.
    pub(crate) fn sleep_deadline(&self) -> Option<Instant> {
        (!self.queue.asleep && self.queue_mode() && self.queue.awake_until > self.now)
            .then_some(self.queue.awake_until)
    }

    /// Asleep: wakes when something must be sent (an Update is due, a notification is ready,
    /// the object list changed); every registered server then gets an Update first. Returns
    /// whether it woke.
    pub(crate) fn drive_wake(&mut self, now: Instant) -> bool {
        if !self.queue.asleep {
            return false;
        }
        let registration_due =
            self.objects_changed || self.registrations.values().any(|r| r.wants_to_send(now));
        let notification_due = self.observation_due().is_some_and(|at| at <= now);
        if !(registration_due || notification_due) && self.queue_mode() {
            return false;
        }
        self.queue.asleep = false;
        self.note_exchange();
        let registered: Vec<u16> = self
            .registrations
            .iter()
            .filter(|(_, r)| r.is_registered())
            .map(|(&ssid, _)| ssid)
            .collect();
        for ssid in registered {
            if let Some(r) = self.registrations.get_mut(&ssid) {
                r.request_update();
            }
        }
        self.events.push_back(ClientEvent::Awake);
        true
    }

    /// Awake in queue mode with the awake time over and nothing in flight: falls asleep.
    pub(crate) fn drive_sleep(&mut self, now: Instant) {
        if self.queue.asleep || now < self.queue.awake_until || !self.queue_mode() {
            return;
        }
        let stats = self.endpoint.stats();
        let idle = stats.outgoing == 0 && stats.incoming == 0 && stats.pending_messages == 0;
        let settled = self
            .registrations
            .values()
            .all(|r| r.is_registered() && !r.in_flight() && !r.wants_to_send(now));
        if idle && settled {
            self.queue.asleep = true;
            self.events.push_back(ClientEvent::Sleeping);
        }
    }
}
