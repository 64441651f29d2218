//! Group commit: the changes of several requests go to the store in one
//! [`RegistrationStore::apply`](crate::store::RegistrationStore::apply) call (one transaction,
//! one flush), before any of their answers goes out.
//!
//! A request changes the in-memory table at once and records, in the open [`Batch`], the state
//! each registration it touched had before. The commit writes the final state of every touched
//! registration (removals first, then puts; a registration made and replaced within the batch is
//! never written). If the store fails, the batch is undone in reverse order, its events and
//! counters are dropped, and every successful answer of the batch becomes 5.00: nothing a client
//! was told happened is missing from the store. Expiries are the exception, as before batching:
//! they stand even when their removal cannot be written (a stored record past its deadline is
//! expired again at the next start).

use std::net::SocketAddr;

use lwm2m_codec::coap::{Message, Type};
use lwm2m_transport::IncomingRequest;

use super::registrar::RequestView;
use super::RegistrationResponse;
use super::{Refusal, Registrar, Registration, RegistrationEvent, RegistrationId};
use crate::store::{RegistrationChange, RegistrationStore, StoreError};
use crate::Timestamp;

/// What the requests handled since the last commit changed, not yet in the store.
#[derive(Debug, Default)]
pub(super) struct Batch {
    /// Every registration a request changed, with its state before that change, in the order
    /// of the changes.
    undo: Vec<(RegistrationId, Before)>,
    /// Registrations removed by expiry.
    expired: Vec<RegistrationId>,
    /// The events of the changes, queued once they are stored.
    events: Vec<RegistrationEvent>,
    pub(super) registered: u64,
    pub(super) updated: u64,
    pub(super) deregistered: u64,
}

/// A registration's state before a change of the batch.
#[derive(Debug)]
enum Before {
    /// It did not exist.
    Absent,
    /// It is the registration the batch's event at this index carries as the old state (the
    /// `replaced` of `Registered`, the `previous` of `Updated`, the `registration` of
    /// `Deregistered`): no copy is kept for an undo that rarely happens.
    InEvent(usize),
}

impl Batch {
    /// Records that `id` was just made (it did not exist before).
    pub(super) fn created(&mut self, id: RegistrationId) {
        self.undo.push((id, Before::Absent));
    }

    /// Queues `event` (held until the batch is stored) and records that `id` changed from the
    /// old state the event carries.
    pub(super) fn changed(&mut self, id: RegistrationId, event: RegistrationEvent) {
        self.undo.push((id, Before::InEvent(self.events.len())));
        self.events.push(event);
    }

    /// Records a registration removed by expiry.
    pub(super) fn expired(&mut self, id: RegistrationId) {
        self.expired.push(id);
    }

    /// Holds an event until the batch is stored.
    pub(super) fn event(&mut self, event: RegistrationEvent) {
        self.events.push(event);
    }
}

/// The state before the change an event reports.
fn old_state(event: &RegistrationEvent) -> Option<&Registration> {
    match event {
        RegistrationEvent::Registered { replaced, .. } => replaced.as_deref(),
        RegistrationEvent::Updated { previous, .. } => Some(previous),
        RegistrationEvent::Deregistered { registration }
        | RegistrationEvent::Expired { registration } => Some(registration),
    }
}

/// A change of a staged batch, owned so that it can be written on another thread.
#[derive(Debug)]
enum OwnedChange {
    Put(Registration),
    Remove(RegistrationId),
}

impl OwnedChange {
    /// The store's order of a batch's changes: removals first (a Register that replaces an old
    /// registration removes it before the new one indexes the endpoint), each id once.
    fn key(&self) -> (bool, RegistrationId) {
        match self {
            OwnedChange::Remove(id) => (false, *id),
            OwnedChange::Put(r) => (true, r.id()),
        }
    }

    fn borrow(&self) -> RegistrationChange<'_> {
        match self {
            OwnedChange::Put(r) => RegistrationChange::Put(r),
            OwnedChange::Remove(id) => RegistrationChange::Remove(*id),
        }
    }
}

/// A batch taken out of the registrar by [`Registrar::stage`], waiting for the outcome of its
/// [`StoreWrite`] (see [`Registrar::complete`]). It holds the batch's events and what undoes it.
#[derive(Debug)]
#[must_use = "a staged batch must be completed, or its events are lost"]
pub struct StagedCommit {
    batch: Batch,
}

/// The store write of a staged batch: the final state of every registration it touched, and
/// the registrar's store. [`run`](Self::run) may block (a durable store flushes); run it on a
/// blocking thread.
#[must_use = "a staged batch is only stored when its write runs"]
pub struct StoreWrite {
    changes: Vec<OwnedChange>,
    store: SharedRegistrationStore,
}

impl core::fmt::Debug for StoreWrite {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("StoreWrite")
            .field("changes", &self.changes.len())
            .finish_non_exhaustive()
    }
}

/// The registrar's store, shared with the [`StoreWrite`]s of staged batches.
pub(super) type SharedRegistrationStore =
    std::sync::Arc<std::sync::Mutex<Box<dyn RegistrationStore>>>;

impl StoreWrite {
    /// How many changes the write holds (0: it does not touch the store).
    pub fn len(&self) -> usize {
        self.changes.len()
    }

    /// Whether the write touches nothing.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// Writes the changes in one [`apply`](RegistrationStore::apply) call (all or none).
    pub fn run(self) -> Result<(), StoreError> {
        if self.changes.is_empty() {
            return Ok(());
        }
        let changes: Vec<_> = self.changes.iter().map(OwnedChange::borrow).collect();
        // A panic inside a store call leaves no half-applied change (apply is all or none).
        let result = self
            .store
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .apply(&changes);
        result
    }
}

/// Why a request of a failed batch was answered 5.00, when another request of the batch got
/// the store's own error.
#[derive(Debug, thiserror::Error)]
#[error("the batch this request was written in failed: {0}")]
struct BatchFailed(String);

impl Registrar {
    /// Handles several requests as one batch: each is answered as
    /// [`handle_request`](Self::handle_request) would, and all their changes are written to the
    /// store in one [`apply`](crate::store::RegistrationStore::apply) call (one transaction and
    /// one flush for a durable store) before this returns. Send the answers only then: every
    /// 2.01, 2.04 and 2.02 among them is already stored. If the store fails, every change of the
    /// batch is undone and each of those answers is a 5.00 instead.
    ///
    /// A driver calls this with every request that arrived while the previous batch was being
    /// written (group commit): under load, one flush serves many clients.
    ///
    /// ```
    /// use lwm2m_codec::coap::{Code, Message, MessageBuilder, Type};
    /// use lwm2m_server::registration::Registrar;
    /// use lwm2m_server::store::MemoryRegistrationStore;
    /// use lwm2m_server::Timestamp;
    ///
    /// let store = MemoryRegistrationStore::new();
    /// let mut registrar = Registrar::builder().store(store.clone()).build(Timestamp::UNIX_EPOCH)?;
    /// let bytes: Vec<Vec<u8>> = (0..3u16)
    ///     .map(|n| {
    ///         let query = format!("ep=node{n}&lt=300");
    ///         let mut b = MessageBuilder::new(Type::Confirmable, Code::POST, n);
    ///         b.uri_path("/rd").uri_queries(&query).payload(b"</3/0>");
    ///         b.to_vec()
    ///     })
    ///     .collect::<Result<_, _>>()?;
    /// let messages = bytes.iter().map(|b| Message::parse(b)).collect::<Result<Vec<_>, _>>()?;
    /// let peer = "10.0.0.1:5683".parse()?;
    /// let answers = registrar.handle_request_batch(
    ///     Timestamp::from_unix_secs(10),
    ///     messages.iter().map(|m| (peer, m)),
    /// );
    /// assert!(answers.iter().all(|a| a.code() == Code::CREATED));
    /// assert_eq!(store.len(), 3);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn handle_request_batch<'m, 'b: 'm>(
        &mut self,
        now: Timestamp,
        requests: impl IntoIterator<Item = (SocketAddr, &'m Message<'b>)>,
    ) -> Vec<RegistrationResponse> {
        let mut answers: Vec<_> = requests
            .into_iter()
            .map(|(peer, message)| {
                let view = RequestView {
                    message: *message,
                    payload: message.payload(),
                    confirmable: message.ty() == Type::Confirmable,
                };
                self.handle(now, peer, &view)
            })
            .collect();
        self.finish(&mut answers);
        answers
    }

    /// [`handle_request_batch`](Self::handle_request_batch) for requests delivered by the
    /// transport's endpoint (a Block1 body arrives whole).
    pub fn handle_incoming_batch<'r>(
        &mut self,
        now: Timestamp,
        requests: impl IntoIterator<Item = (SocketAddr, &'r IncomingRequest)>,
    ) -> Vec<RegistrationResponse> {
        let mut answers: Vec<_> = requests
            .into_iter()
            .map(|(peer, request)| self.handle_incoming_unstored(now, peer, request))
            .collect();
        self.finish(&mut answers);
        answers
    }

    /// Handles requests into the open batch without committing it: the answers hold until the
    /// batch is written ([`stage`](Self::stage), [`StoreWrite::run`], [`complete`](Self::complete)).
    pub fn handle_request_open<'m, 'b: 'm>(
        &mut self,
        now: Timestamp,
        requests: impl IntoIterator<Item = (SocketAddr, &'m Message<'b>)>,
    ) -> Vec<RegistrationResponse> {
        requests
            .into_iter()
            .map(|(peer, message)| {
                let view = RequestView {
                    message: *message,
                    payload: message.payload(),
                    confirmable: message.ty() == Type::Confirmable,
                };
                self.handle(now, peer, &view)
            })
            .collect()
    }

    /// [`handle_request_open`](Self::handle_request_open) for requests delivered by the
    /// transport's endpoint.
    pub fn handle_incoming_open<'r>(
        &mut self,
        now: Timestamp,
        requests: impl IntoIterator<Item = (SocketAddr, &'r IncomingRequest)>,
    ) -> Vec<RegistrationResponse> {
        requests
            .into_iter()
            .map(|(peer, request)| self.handle_incoming_unstored(now, peer, request))
            .collect()
    }

    /// [`handle_timeout`](Self::handle_timeout) without the commit: the expiries are reported
    /// at once and their removal from the store goes with the open batch.
    pub fn expire_open(&mut self, now: Timestamp) {
        self.expire(now);
    }

    /// Whether the open batch holds changes (a [`stage`](Self::stage) would write something).
    pub fn has_open_changes(&self) -> bool {
        !(self.batch.undo.is_empty() && self.batch.expired.is_empty())
    }

    /// Commits the open batch; if that fails, turns its successful answers into 5.00.
    pub(super) fn finish(&mut self, answers: &mut [RegistrationResponse]) {
        if let Err(error) = self.commit() {
            self.fail_answers(error, answers, &mut []);
        }
    }

    /// Turns every successful answer into the 5.00 of a failed batch.
    fn fail_answers(
        &mut self,
        error: StoreError,
        answers: &mut [RegistrationResponse],
        later: &mut [RegistrationResponse],
    ) {
        let text = error.to_string();
        let mut error = Some(error);
        for answer in answers
            .iter_mut()
            .chain(later.iter_mut())
            .filter(|a| a.code().is_success())
        {
            let error = error.take().unwrap_or_else(|| {
                StoreError::backend("write registrations", BatchFailed(text.clone()))
            });
            *answer = self.refuse(Refusal::Store(error));
        }
    }

    /// Writes the open batch to the store. On failure every change but the expiries is undone
    /// and the batch's events and counters are dropped.
    pub(super) fn commit(&mut self) -> Result<(), StoreError> {
        let (staged, write) = self.stage();
        let outcome = write.run();
        self.settle(staged, outcome)
    }

    /// Takes the open batch out of the registrar for a pipelined commit: the [`StoreWrite`]
    /// (the final state of every registration the batch touched, copied) can run on another
    /// thread while the registrar handles the next requests into a new open batch. Hand the
    /// outcome to [`complete`](Self::complete) before staging again, and send the batch's
    /// answers only then.
    ///
    /// Until `complete`, the registrar must not commit anything else (no
    /// [`handle_request`](Self::handle_request), [`handle_incoming`](Self::handle_incoming),
    /// [`handle_timeout`](Self::handle_timeout) or batch call): use
    /// [`handle_incoming_open`](Self::handle_incoming_open) and
    /// [`expire_open`](Self::expire_open), whose changes wait in the open batch.
    ///
    /// ```
    /// use lwm2m_codec::coap::{Code, Message, MessageBuilder, Type};
    /// use lwm2m_server::registration::Registrar;
    /// use lwm2m_server::store::MemoryRegistrationStore;
    /// use lwm2m_server::Timestamp;
    ///
    /// let store = MemoryRegistrationStore::new();
    /// let mut registrar = Registrar::builder().store(store.clone()).build(Timestamp::UNIX_EPOCH)?;
    /// let mut register = MessageBuilder::new(Type::Confirmable, Code::POST, 1);
    /// register.uri_path("/rd").uri_queries("ep=node1").payload(b"</3/0>");
    /// let bytes = register.to_vec()?;
    /// let message = Message::parse(&bytes)?;
    /// let peer = "10.0.0.1:5683".parse()?;
    /// let now = Timestamp::from_unix_secs(10);
    /// let mut answers = registrar.handle_request_open(now, [(peer, &message)]);
    /// let (staged, write) = registrar.stage();
    /// // On a blocking thread, while the registrar handles the next requests:
    /// let outcome = std::thread::spawn(move || write.run()).join().unwrap();
    /// registrar.complete(staged, outcome, &mut answers, &mut []);
    /// assert_eq!(answers[0].code(), Code::CREATED);
    /// assert_eq!(store.len(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn stage(&mut self) -> (StagedCommit, StoreWrite) {
        let batch = core::mem::take(&mut self.batch);
        let mut changes = Vec::with_capacity(batch.undo.len() + batch.expired.len());
        changes.extend(batch.expired.iter().copied().map(OwnedChange::Remove));
        for (id, before) in &batch.undo {
            match (self.table.get(*id), before) {
                (Some(now), _) => changes.push(OwnedChange::Put(now.clone())),
                // Made and removed within the batch: the store never had it.
                (None, Before::Absent) => {}
                (None, Before::InEvent(_)) => changes.push(OwnedChange::Remove(*id)),
            }
        }
        changes.sort_unstable_by_key(OwnedChange::key);
        changes.dedup_by_key(|c| c.key());
        let write = StoreWrite {
            // A batch that changed nothing (only refusals) needs no write.
            changes: if batch.undo.is_empty() && batch.expired.is_empty() {
                Vec::new()
            } else {
                changes
            },
            store: std::sync::Arc::clone(&self.store),
        };
        (StagedCommit { batch }, write)
    }

    /// Ends a pipelined commit with the outcome of its [`StoreWrite::run`]: on success the
    /// batch's events and counters are published and `answers` (the batch's) stand. On failure
    /// the open batch (the requests handled since the stage, whose answers are `later`) and the
    /// staged batch are undone, newest first, and every successful answer in `answers` and
    /// `later` becomes 5.00. Send `answers` now; `later` go out after the next commit.
    pub fn complete(
        &mut self,
        staged: StagedCommit,
        outcome: Result<(), StoreError>,
        answers: &mut [RegistrationResponse],
        later: &mut [RegistrationResponse],
    ) {
        if outcome.is_err() {
            // The open batch was built on the staged one: it is undone first.
            let open = core::mem::take(&mut self.batch);
            self.undo(open);
        }
        if let Err(error) = self.settle(staged, outcome) {
            self.fail_answers(error, answers, later);
        }
    }

    /// Publishes a written batch, or undoes a failed one and returns the error.
    fn settle(
        &mut self,
        staged: StagedCommit,
        outcome: Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        if let Err(error) = outcome {
            if !staged.batch.expired.is_empty() {
                self.stats.store_errors += 1;
            }
            self.undo(staged.batch);
            return Err(error);
        }
        self.publish(staged.batch);
        Ok(())
    }

    /// Sets every registration the batch changed back to its state before the batch (its
    /// expiries stand) and drops its events and counters.
    fn undo(&mut self, batch: Batch) {
        // Each entry sets one registration back to what it was before one change; replayed
        // newest first, they restore the table as it was before the batch.
        for (id, before) in batch.undo.into_iter().rev() {
            self.table.remove(id);
            let old = match before {
                Before::Absent => None,
                Before::InEvent(i) => batch.events.get(i).and_then(old_state),
            };
            if let Some(old) = old {
                // It held this id and endpoint before, so it cannot clash.
                let _ = self.table.insert(old.clone());
            }
        }
    }

    fn publish(&mut self, batch: Batch) {
        // The undo entries point into the events; they go first.
        drop(batch.undo);
        self.stats.registered += batch.registered;
        self.stats.updated += batch.updated;
        self.stats.deregistered += batch.deregistered;
        for event in batch.events {
            self.push_event(event);
        }
    }
}
