//! The peer table: a cheap [`PeerKey`] per peer address, the per-peer message-id counter and
//! NSTART queue, and eviction of peers that have been idle for `EXCHANGE_LIFETIME` (so a message id
//! is never reused towards a peer within that time).

use core::hash::Hash;
use core::time::Duration;
use std::collections::{HashMap, VecDeque};

use crate::event::RequestId;
use crate::time::Instant;
use crate::timers::ExpiryQueue;

/// Internal handle of a peer: every other table is keyed by it instead of by the address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct PeerKey(u64);

impl PeerKey {
    #[cfg(test)]
    pub(crate) const fn for_tests(n: u64) -> PeerKey {
        PeerKey(n)
    }
}

#[derive(Debug)]
pub(crate) struct PeerState<P> {
    pub(crate) addr: P,
    next_mid: u16,
    /// Exchanges holding one of the NSTART slots.
    pub(crate) active: usize,
    /// Exchanges waiting for a slot, oldest first.
    pub(crate) queue: VecDeque<RequestId>,
    /// Entries of other tables that refer to this peer; only a peer without any is evicted.
    refs: usize,
    last_activity: Instant,
    /// Whether the idle queue holds an item for this peer.
    idle_queued: bool,
    /// The duplicate-detection scope of the messages it sends (see [`Peers::new_scope`]).
    scope: u32,
}

#[derive(Debug)]
pub(crate) struct Peers<P> {
    by_addr: HashMap<P, PeerKey>,
    states: HashMap<PeerKey, PeerState<P>>,
    idle: ExpiryQueue<PeerKey>,
    next_key: u64,
    lifetime: Duration,
    max: usize,
}

impl<P: Clone + Eq + Hash> Peers<P> {
    pub(crate) fn new(lifetime: Duration, max: usize) -> Peers<P> {
        Peers {
            by_addr: HashMap::new(),
            states: HashMap::new(),
            idle: ExpiryQueue::new(),
            next_key: 0,
            lifetime,
            max,
        }
    }

    pub(crate) fn lookup(&self, addr: &P) -> Option<PeerKey> {
        self.by_addr.get(addr).copied()
    }

    /// The key of `addr`, creating its state (message ids from `first_mid`) if needed. `None` when
    /// the table is full and no idle peer can be evicted.
    pub(crate) fn get_or_insert(
        &mut self,
        now: Instant,
        addr: &P,
        first_mid: u16,
    ) -> Option<PeerKey> {
        if let Some(&key) = self.by_addr.get(addr) {
            self.touch(now, key);
            return Some(key);
        }
        if self.states.len() >= self.max && !self.evict_one() {
            return None;
        }
        self.next_key += 1;
        let key = PeerKey(self.next_key);
        self.by_addr.insert(addr.clone(), key);
        self.states.insert(
            key,
            PeerState {
                addr: addr.clone(),
                next_mid: first_mid,
                active: 0,
                queue: VecDeque::new(),
                refs: 0,
                last_activity: now,
                idle_queued: false,
                scope: 0,
            },
        );
        self.queue_idle(key);
        Some(key)
    }

    /// The duplicate-detection scope of `key`'s messages (0 for an unknown peer).
    pub(crate) fn scope(&self, key: PeerKey) -> u32 {
        self.states.get(&key).map_or(0, |state| state.scope)
    }

    /// A new security association with `addr` (a new DTLS session): the message ids it sends
    /// from now on are new messages, whatever ids the old association used. Without a new
    /// scope, a client that reconnects from the same address and port within
    /// `EXCHANGE_LIFETIME` would have its requests taken for duplicates of the old session's
    /// (dropped, or answered with the old session's cached reply).
    pub(crate) fn new_scope(&mut self, addr: &P) {
        if let Some(state) = self
            .by_addr
            .get(addr)
            .and_then(|key| self.states.get_mut(key))
        {
            state.scope = state.scope.wrapping_add(1);
        }
    }

    pub(crate) fn get(&self, key: PeerKey) -> Option<&PeerState<P>> {
        self.states.get(&key)
    }

    pub(crate) fn get_mut(&mut self, key: PeerKey) -> Option<&mut PeerState<P>> {
        self.states.get_mut(&key)
    }

    pub(crate) fn addr(&self, key: PeerKey) -> Option<&P> {
        self.states.get(&key).map(|s| &s.addr)
    }

    /// The next message id towards this peer (a counter from a random start, RFC 7252 §4.4).
    pub(crate) fn next_mid(&mut self, now: Instant, key: PeerKey) -> u16 {
        self.touch(now, key);
        match self.states.get_mut(&key) {
            Some(state) => {
                let mid = state.next_mid;
                state.next_mid = mid.wrapping_add(1);
                mid
            }
            None => 0,
        }
    }

    /// Records traffic with the peer (it postpones eviction).
    pub(crate) fn touch(&mut self, now: Instant, key: PeerKey) {
        if let Some(state) = self.states.get_mut(&key) {
            state.last_activity = now;
            if state.refs == 0 && !state.idle_queued {
                self.queue_idle(key);
            }
        }
    }

    /// Another table entry now refers to the peer.
    pub(crate) fn retain(&mut self, key: PeerKey) {
        if let Some(state) = self.states.get_mut(&key) {
            state.refs += 1;
        }
    }

    /// A table entry referring to the peer is gone.
    pub(crate) fn release(&mut self, key: PeerKey) {
        if let Some(state) = self.states.get_mut(&key) {
            state.refs = state.refs.saturating_sub(1);
            if state.refs == 0 && !state.idle_queued {
                self.queue_idle(key);
            }
        }
    }

    fn queue_idle(&mut self, key: PeerKey) {
        if let Some(state) = self.states.get_mut(&key) {
            state.idle_queued = true;
            self.idle.push(state.last_activity + self.lifetime, key, 0);
        }
    }

    /// Removes peers idle for `EXCHANGE_LIFETIME`.
    pub(crate) fn expire(&mut self, now: Instant) {
        while let Some((_, key, _)) = self.idle.pop_due(now) {
            let Some(state) = self.states.get_mut(&key) else {
                continue;
            };
            state.idle_queued = false;
            if state.refs > 0 {
                continue;
            }
            if state.last_activity + self.lifetime <= now {
                self.remove(key);
            } else {
                self.queue_idle(key);
            }
        }
    }

    /// Evicts the peer idle the longest; `false` if every peer is in use.
    fn evict_one(&mut self) -> bool {
        while let Some((_, key, _)) = self.idle.pop_front() {
            let Some(state) = self.states.get_mut(&key) else {
                continue;
            };
            state.idle_queued = false;
            if state.refs == 0 {
                self.remove(key);
                return true;
            }
        }
        false
    }

    fn remove(&mut self, key: PeerKey) {
        if let Some(state) = self.states.remove(&key) {
            self.by_addr.remove(&state.addr);
        }
    }

    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.idle.next()
    }

    pub(crate) fn len(&self) -> usize {
        self.states.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_ids_count_up_and_wrap() {
        let mut peers = Peers::new(Duration::from_secs(247), 4);
        let k = peers.get_or_insert(Instant::ZERO, &"a", 0xFFFF).unwrap();
        assert_eq!(peers.next_mid(Instant::ZERO, k), 0xFFFF);
        assert_eq!(peers.next_mid(Instant::ZERO, k), 0);
        assert_eq!(peers.lookup(&"a"), Some(k));
        assert_eq!(peers.addr(k), Some(&"a"));
    }

    #[test]
    fn idle_peers_expire_after_the_lifetime_and_busy_ones_stay() {
        let life = Duration::from_secs(10);
        let mut peers = Peers::new(life, 4);
        let a = peers.get_or_insert(Instant::ZERO, &"a", 0).unwrap();
        let b = peers.get_or_insert(Instant::ZERO, &"b", 0).unwrap();
        peers.retain(b);
        peers.touch(Instant::from_secs(5), a);
        peers.expire(Instant::from_secs(10));
        assert_eq!(peers.len(), 2, "a was active at 5 s");
        peers.expire(Instant::from_secs(15));
        assert_eq!(peers.lookup(&"a"), None);
        assert_eq!(peers.lookup(&"b"), Some(b));
        peers.release(b);
        peers.expire(Instant::from_secs(100));
        assert_eq!(peers.len(), 0);
    }

    #[test]
    fn a_full_table_evicts_the_longest_idle_peer() {
        let mut peers = Peers::new(Duration::from_secs(10), 2);
        let a = peers.get_or_insert(Instant::ZERO, &"a", 0).unwrap();
        peers.retain(a);
        peers.get_or_insert(Instant::from_secs(1), &"b", 0).unwrap();
        assert!(peers
            .get_or_insert(Instant::from_secs(2), &"c", 0)
            .is_some());
        assert_eq!(peers.lookup(&"b"), None);
        assert!(peers.lookup(&"a").is_some());
        let c = peers.lookup(&"c").unwrap();
        peers.retain(c);
        assert_eq!(peers.get_or_insert(Instant::from_secs(3), &"d", 0), None);
    }
}
