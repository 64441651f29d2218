//! The two timer structures behind [`Endpoint::poll_timeout`](crate::Endpoint::poll_timeout):
//! [`Timers`], an ordered map for deadlines that differ per entry (retransmissions, response
//! waits), and [`ExpiryQueue`], a FIFO for tables whose entries share one lifetime (duplicate
//! detection, caches), where insertion order is expiry order.

use std::collections::{BTreeMap, VecDeque};

use crate::time::Instant;

/// Identifies one armed timer; keep it to cancel the timer.
pub(crate) type TimerKey = (Instant, u64);

/// Deadlines in an ordered map: insert, cancel and "earliest" are all O(log n).
#[derive(Debug)]
pub(crate) struct Timers<T> {
    map: BTreeMap<TimerKey, T>,
    seq: u64,
}

impl<T> Timers<T> {
    pub(crate) fn new() -> Timers<T> {
        Timers {
            map: BTreeMap::new(),
            seq: 0,
        }
    }

    /// Arms a timer for `at`.
    pub(crate) fn insert(&mut self, at: Instant, timer: T) -> TimerKey {
        self.seq += 1;
        let key = (at, self.seq);
        self.map.insert(key, timer);
        key
    }

    /// Cancels a timer (no-op if it already fired).
    pub(crate) fn remove(&mut self, key: TimerKey) -> Option<T> {
        self.map.remove(&key)
    }

    /// The earliest deadline.
    pub(crate) fn next(&self) -> Option<Instant> {
        self.map.first_key_value().map(|(k, _)| k.0)
    }

    /// Removes and returns the earliest timer if it is due at `now`.
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<(TimerKey, T)> {
        let entry = self.map.first_entry()?;
        if entry.key().0 > now {
            return None;
        }
        Some(entry.remove_entry())
    }

    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }
}

/// A FIFO of `(deadline, key, stamp)`. The owning table stores the stamp with its entry, so an
/// item left behind by an entry that was removed early (or replaced) is recognised and skipped.
#[derive(Debug)]
pub(crate) struct ExpiryQueue<K> {
    items: VecDeque<(Instant, K, u64)>,
    stamp: u64,
}

impl<K: Copy> ExpiryQueue<K> {
    pub(crate) fn new() -> ExpiryQueue<K> {
        ExpiryQueue {
            items: VecDeque::new(),
            stamp: 0,
        }
    }

    /// A fresh stamp for a new entry.
    pub(crate) fn next_stamp(&mut self) -> u64 {
        self.stamp += 1;
        self.stamp
    }

    /// Queues `key` to be checked at `at`. Callers push in non-decreasing `at` order per
    /// lifetime, so the front is the earliest.
    pub(crate) fn push(&mut self, at: Instant, key: K, stamp: u64) {
        self.items.push_back((at, key, stamp));
    }

    /// The front deadline (possibly of a stale item: a spurious wake-up is harmless).
    pub(crate) fn next(&self) -> Option<Instant> {
        self.items.front().map(|i| i.0)
    }

    /// Pops the front item if it is due.
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<(Instant, K, u64)> {
        if self.items.front()?.0 > now {
            return None;
        }
        self.items.pop_front()
    }

    /// Pops the front item whatever its deadline (eviction of the oldest).
    pub(crate) fn pop_front(&mut self) -> Option<(Instant, K, u64)> {
        self.items.pop_front()
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }
}

/// The earliest of some optional deadlines.
pub(crate) fn earliest(deadlines: impl IntoIterator<Item = Option<Instant>>) -> Option<Instant> {
    deadlines.into_iter().flatten().min()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timers_pop_in_deadline_order_and_cancel() {
        let mut t = Timers::new();
        let a = t.insert(Instant::from_secs(3), 'a');
        t.insert(Instant::from_secs(1), 'b');
        t.insert(Instant::from_secs(1), 'c');
        assert_eq!(t.next(), Some(Instant::from_secs(1)));
        assert_eq!(t.remove(a), Some('a'));
        assert_eq!(t.pop_due(Instant::ZERO), None);
        assert_eq!(t.pop_due(Instant::from_secs(5)).map(|x| x.1), Some('b'));
        assert_eq!(t.pop_due(Instant::from_secs(5)).map(|x| x.1), Some('c'));
        assert_eq!(t.pop_due(Instant::from_secs(5)), None);
        assert_eq!(t.len(), 0);
    }

    #[test]
    fn expiry_queue_is_fifo() {
        let mut q = ExpiryQueue::new();
        let s = q.next_stamp();
        q.push(Instant::from_secs(1), 7u8, s);
        q.push(Instant::from_secs(2), 8u8, q.stamp);
        assert_eq!(q.next(), Some(Instant::from_secs(1)));
        assert_eq!(q.pop_due(Instant::ZERO), None);
        assert_eq!(
            q.pop_due(Instant::from_secs(1)),
            Some((Instant::from_secs(1), 7, s))
        );
        assert_eq!(q.pop_front().map(|i| i.1), Some(8));
        assert_eq!(q.len(), 0);
        assert_eq!(
            earliest([None, Some(Instant::from_secs(4)), Some(Instant::ZERO)]),
            Some(Instant::ZERO)
        );
    }
}
