//! [`RegistrationTable`]: the registrations in memory, indexed by id, endpoint name and peer
//! address, with their expiry deadlines in an ordered set.

use std::collections::hash_map::Entry;
use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;

use core::time::Duration;

use super::{Registration, RegistrationId};
use crate::Timestamp;

/// The registrations a server holds, with three indexes and an expiry timer structure.
///
/// - by id (`/rd/{id}` of Update and De-register), by endpoint name (a new Register replaces the
///   old registration of the same endpoint; the application addresses clients by name), and by
///   peer address (to recognise who a datagram comes from);
/// - an ordered set of `(deadline, id)` pairs, so the next expiry is found, and a registration's
///   deadline moved, in O(log n).
///
/// The deadline of a registration is its [`expires_at`](Registration::expires_at) plus the
/// table's grace period. Hash maps use the standard library's keyed `SipHash`, so endpoint names
/// chosen by an attacker cannot degrade them.
///
/// When two registrations were made from the same address (a client re-registered under another
/// name), the address maps to the newest one.
#[derive(Debug, Default)]
pub struct RegistrationTable {
    by_id: HashMap<RegistrationId, Registration>,
    by_endpoint: HashMap<Arc<str>, RegistrationId>,
    by_peer: HashMap<SocketAddr, RegistrationId>,
    deadlines: BTreeSet<(Timestamp, RegistrationId)>,
    grace: Duration,
}

/// [`RegistrationTable::insert`] refused a registration because its id is taken by another
/// endpoint's registration; the registration is handed back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("registration id {} is already used by another endpoint", .0.id())]
pub struct IdInUse(pub Box<Registration>);

impl RegistrationTable {
    /// An empty table whose registrations expire `grace` after their lifetime.
    pub fn new(grace: Duration) -> RegistrationTable {
        RegistrationTable {
            grace,
            ..RegistrationTable::default()
        }
    }

    /// The grace period added to every lifetime.
    pub fn grace(&self) -> Duration {
        self.grace
    }

    /// How many registrations there are.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// The registration with this id.
    pub fn get(&self, id: RegistrationId) -> Option<&Registration> {
        self.by_id.get(&id)
    }

    /// The registration of this endpoint.
    pub fn by_endpoint(&self, endpoint: &str) -> Option<&Registration> {
        self.by_endpoint
            .get(endpoint)
            .and_then(|id| self.by_id.get(id))
    }

    /// The registration whose client was last seen at this address.
    pub fn by_peer(&self, peer: SocketAddr) -> Option<&Registration> {
        self.by_peer.get(&peer).and_then(|id| self.by_id.get(id))
    }

    /// Whether this id is in use.
    pub fn contains(&self, id: RegistrationId) -> bool {
        self.by_id.contains_key(&id)
    }

    /// Every registration, in no particular order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &Registration> {
        self.by_id.values()
    }

    /// When `registration` is removed if it is not updated: its expiry plus the grace period.
    pub fn deadline_of(&self, registration: &Registration) -> Timestamp {
        registration.expires_at() + self.grace
    }

    /// The earliest deadline, if any registration exists.
    pub fn next_deadline(&self) -> Option<Timestamp> {
        self.deadlines.first().map(|(t, _)| *t)
    }

    /// Adds a registration, or replaces the one with the same id and endpoint. An existing
    /// registration of the same endpoint under another id is removed and returned (a new
    /// Register replaces the old registration).
    pub fn insert(&mut self, registration: Registration) -> Result<Option<Registration>, IdInUse> {
        let id = registration.id();
        if let Some(existing) = self.by_id.get(&id) {
            if existing.endpoint() != registration.endpoint() {
                return Err(IdInUse(Box::new(registration)));
            }
        }
        // The same registration again (an Update): its old index entries go first.
        self.unlink(id);
        let replaced = match self.by_endpoint.get(registration.endpoint()) {
            Some(&other) => self.unlink(other),
            None => None,
        };
        self.link(registration);
        Ok(replaced)
    }

    /// Changes the registration with this id in place with `f`, which must keep its id and
    /// endpoint name (an Update), then moves its deadline and makes its (possibly new) address
    /// map to it. Cheaper than [`insert`](Self::insert): no index entry is rebuilt that did not
    /// change.
    pub(crate) fn update(
        &mut self,
        id: RegistrationId,
        f: impl FnOnce(&mut Registration),
    ) -> Option<&Registration> {
        let grace = self.grace;
        let registration = self.by_id.get_mut(&id)?;
        let (old_deadline, old_peer) = (registration.expires_at() + grace, registration.peer());
        f(registration);
        debug_assert_eq!(registration.id(), id);
        let (deadline, peer) = (registration.expires_at() + grace, registration.peer());
        if deadline != old_deadline {
            self.deadlines.remove(&(old_deadline, id));
            self.deadlines.insert((deadline, id));
        }
        if peer != old_peer {
            if let Entry::Occupied(e) = self.by_peer.entry(old_peer) {
                if *e.get() == id {
                    e.remove();
                }
            }
        }
        self.by_peer.insert(peer, id);
        self.by_id.get(&id)
    }

    /// Removes a registration.
    pub fn remove(&mut self, id: RegistrationId) -> Option<Registration> {
        self.unlink(id)
    }

    /// Removes and returns one registration whose deadline is at or before `now`.
    pub fn pop_expired(&mut self, now: Timestamp) -> Option<Registration> {
        let &(deadline, id) = self.deadlines.first()?;
        if deadline > now {
            return None;
        }
        self.unlink(id)
    }

    fn link(&mut self, registration: Registration) {
        let id = registration.id();
        self.deadlines.insert((self.deadline_of(&registration), id));
        self.by_endpoint
            .insert(Arc::clone(registration.endpoint_arc()), id);
        self.by_peer.insert(registration.peer(), id);
        self.by_id.insert(id, registration);
    }

    fn unlink(&mut self, id: RegistrationId) -> Option<Registration> {
        let registration = self.by_id.remove(&id)?;
        self.deadlines
            .remove(&(self.deadline_of(&registration), id));
        if let Entry::Occupied(e) = self
            .by_endpoint
            .entry(Arc::clone(registration.endpoint_arc()))
        {
            if *e.get() == id {
                e.remove();
            }
        }
        if let Entry::Occupied(e) = self.by_peer.entry(registration.peer()) {
            if *e.get() == id {
                e.remove();
            }
        }
        Some(registration)
    }

    /// Bytes the indexes and registrations take, estimated from capacities (hash tables keep
    /// one control byte per bucket; B-tree nodes hold up to 11 entries). For memory reports.
    pub fn estimated_memory(&self) -> usize {
        fn map<K, V>(m: &HashMap<K, V>) -> usize {
            // hashbrown keeps a power-of-two number of buckets, 7/8 of which are usable.
            let buckets = (m.capacity() * 8 / 7).next_power_of_two();
            buckets * (size_of::<(K, V)>() + 1)
        }
        let tree_entry = size_of::<(Timestamp, RegistrationId)>();
        let tree = self.deadlines.len() * tree_entry * 3 / 2;
        let heap: usize = self.by_id.values().map(Registration::heap_size).sum();
        map(&self.by_id) + map(&self.by_endpoint) + map(&self.by_peer) + tree + heap
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registration::CompactObjectLinks;
    use lwm2m_model::RegisterParams;

    fn reg(id: &str, endpoint: &str, peer: &str, lt: u32, at: u64) -> Registration {
        let mut params = RegisterParams::new(endpoint).unwrap();
        params.lifetime = lt;
        Registration::new(
            RegistrationId::parse(id).unwrap(),
            params,
            CompactObjectLinks::default(),
            peer.parse().unwrap(),
            Timestamp::from_unix_secs(at),
        )
    }

    fn id(text: &str) -> RegistrationId {
        RegistrationId::parse(text).unwrap()
    }

    #[test]
    fn indexes_follow_insert_replace_and_remove() {
        let mut table = RegistrationTable::new(Duration::from_secs(10));
        assert!(table.is_empty());
        assert_eq!(
            table.insert(reg("a", "ep1", "10.0.0.1:1", 100, 0)).unwrap(),
            None
        );
        assert_eq!(
            table.insert(reg("b", "ep2", "10.0.0.2:1", 50, 0)).unwrap(),
            None
        );
        assert_eq!(table.len(), 2);
        assert_eq!(table.by_endpoint("ep1").unwrap().id(), id("a"));
        assert_eq!(
            table.by_peer("10.0.0.2:1".parse().unwrap()).unwrap().id(),
            id("b")
        );
        assert_eq!(table.next_deadline(), Some(Timestamp::from_unix_secs(60)));

        // A new registration of ep1 from another address replaces the old one.
        let replaced = table
            .insert(reg("c", "ep1", "10.0.0.3:1", 100, 5))
            .unwrap()
            .unwrap();
        assert_eq!(replaced.id(), id("a"));
        assert_eq!(table.len(), 2);
        assert!(table.get(id("a")).is_none());
        assert!(table.by_peer("10.0.0.1:1".parse().unwrap()).is_none());
        assert_eq!(table.by_endpoint("ep1").unwrap().id(), id("c"));

        // Re-inserting the same id (an Update) moves the deadline and the address.
        let mut updated = table.get(id("b")).unwrap().clone();
        updated.apply_update(
            &lwm2m_model::UpdateParams::default(),
            None,
            "10.0.0.9:9".parse().unwrap(),
            Timestamp::from_unix_secs(30),
        );
        assert_eq!(table.insert(updated).unwrap(), None);
        assert!(table.by_peer("10.0.0.2:1".parse().unwrap()).is_none());
        assert_eq!(
            table.by_peer("10.0.0.9:9".parse().unwrap()).unwrap().id(),
            id("b")
        );
        assert_eq!(table.next_deadline(), Some(Timestamp::from_unix_secs(90)));

        // An id held by another endpoint is refused.
        let clash = table
            .insert(reg("b", "ep3", "10.0.0.4:1", 1, 0))
            .unwrap_err();
        assert_eq!(clash.0.endpoint(), "ep3");
        assert_eq!(table.len(), 2);

        assert_eq!(table.remove(id("b")).unwrap().endpoint(), "ep2");
        assert!(table.remove(id("b")).is_none());
        assert!(table.by_endpoint("ep2").is_none());
        assert_eq!(table.len(), 1);
        assert!(table.estimated_memory() > 0);
    }

    #[test]
    fn expiry_in_deadline_order() {
        let mut table = RegistrationTable::new(Duration::from_secs(1));
        table.insert(reg("a", "a", "10.0.0.1:1", 30, 0)).unwrap();
        table.insert(reg("b", "b", "10.0.0.2:1", 10, 0)).unwrap();
        table.insert(reg("c", "c", "10.0.0.3:1", 20, 0)).unwrap();
        assert_eq!(table.pop_expired(Timestamp::from_unix_secs(10)), None);
        let t = Timestamp::from_unix_secs(21);
        assert_eq!(table.pop_expired(t).unwrap().endpoint(), "b");
        assert_eq!(table.pop_expired(t).unwrap().endpoint(), "c");
        assert_eq!(table.pop_expired(t), None);
        assert_eq!(table.next_deadline(), Some(Timestamp::from_unix_secs(31)));
    }

    #[test]
    fn shared_peer_maps_to_the_newest() {
        let mut table = RegistrationTable::new(Duration::ZERO);
        table.insert(reg("a", "a", "10.0.0.1:1", 30, 0)).unwrap();
        table.insert(reg("b", "b", "10.0.0.1:1", 30, 0)).unwrap();
        let peer = "10.0.0.1:1".parse().unwrap();
        assert_eq!(table.by_peer(peer).unwrap().endpoint(), "b");
        // Removing the older one keeps the newer one's address entry.
        table.remove(id("a"));
        assert_eq!(table.by_peer(peer).unwrap().endpoint(), "b");
    }
}
