//! Duplicate detection (RFC 7252 §4.5): every Confirmable or Non-confirmable message a peer sends
//! is remembered by (peer, message id) for `EXCHANGE_LIFETIME` together with the reply it got, so a
//! retransmission is answered with the same bytes and never processed twice.

use core::time::Duration;
use std::collections::HashMap;

use bytes::Bytes;

use super::peers::PeerKey;
use crate::time::Instant;
use crate::timers::ExpiryQueue;

pub(crate) type MsgKey = (PeerKey, u16);

/// What duplicate detection keys a message by: the peer, its duplicate-detection scope (a new
/// DTLS session with the same address is a new scope, see [`Peers::new_scope`]) and the
/// message id.
///
/// [`Peers::new_scope`]: super::peers::Peers::new_scope
pub(crate) type DedupKey = (PeerKey, u32, u16);

/// Whether a message was seen before.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Seen {
    /// First time: it is now recorded.
    New,
    /// A duplicate, with the reply to re-send if one was sent already.
    Duplicate(Option<Bytes>),
}

#[derive(Debug)]
struct Entry {
    reply: Option<Bytes>,
    stamp: u64,
}

#[derive(Debug)]
pub(crate) struct Dedup {
    map: HashMap<DedupKey, Entry>,
    queue: ExpiryQueue<DedupKey>,
    lifetime: Duration,
    max: usize,
}

impl Dedup {
    pub(crate) fn new(lifetime: Duration, max: usize) -> Dedup {
        Dedup {
            map: HashMap::new(),
            queue: ExpiryQueue::new(),
            lifetime,
            max,
        }
    }

    /// Looks the message up, recording it if it is new (evicting the oldest entry when full).
    pub(crate) fn check(&mut self, now: Instant, key: DedupKey) -> Seen {
        if let Some(entry) = self.map.get(&key) {
            return Seen::Duplicate(entry.reply.clone());
        }
        while self.map.len() >= self.max {
            let Some((_, old, stamp)) = self.queue.pop_front() else {
                break;
            };
            self.remove_if(old, stamp);
        }
        let stamp = self.queue.next_stamp();
        self.queue.push(now + self.lifetime, key, stamp);
        self.map.insert(key, Entry { reply: None, stamp });
        Seen::New
    }

    /// Remembers the reply sent for a recorded message.
    pub(crate) fn set_reply(&mut self, key: DedupKey, reply: Bytes) {
        if let Some(entry) = self.map.get_mut(&key) {
            entry.reply = Some(reply);
        }
    }

    pub(crate) fn expire(&mut self, now: Instant) {
        while let Some((_, key, stamp)) = self.queue.pop_due(now) {
            self.remove_if(key, stamp);
        }
    }

    fn remove_if(&mut self, key: DedupKey, stamp: u64) {
        if self.map.get(&key).is_some_and(|e| e.stamp == stamp) {
            self.map.remove(&key);
        }
    }

    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.queue.next()
    }

    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_are_recognised_with_their_reply_until_they_expire() {
        let mut dedup = Dedup::new(Duration::from_secs(247), 10);
        let key = (PeerKey::for_tests(1), 0, 7);
        assert_eq!(dedup.check(Instant::ZERO, key), Seen::New);
        assert_eq!(dedup.check(Instant::ZERO, key), Seen::Duplicate(None));
        dedup.set_reply(key, Bytes::from_static(b"ack"));
        assert_eq!(
            dedup.check(Instant::from_secs(246), key),
            Seen::Duplicate(Some(Bytes::from_static(b"ack")))
        );
        dedup.expire(Instant::from_secs(247));
        assert_eq!(dedup.len(), 0);
        assert_eq!(dedup.check(Instant::from_secs(247), key), Seen::New);
    }

    #[test]
    fn the_same_message_id_in_a_new_scope_is_a_new_message() {
        let mut dedup = Dedup::new(Duration::from_secs(247), 10);
        let old = (PeerKey::for_tests(1), 0, 7);
        assert_eq!(dedup.check(Instant::ZERO, old), Seen::New);
        dedup.set_reply(old, Bytes::from_static(b"old session's reply"));
        let new = (PeerKey::for_tests(1), 1, 7);
        assert_eq!(dedup.check(Instant::ZERO, new), Seen::New);
        assert_eq!(dedup.check(Instant::ZERO, new), Seen::Duplicate(None));
    }

    #[test]
    fn a_full_table_forgets_the_oldest_entry() {
        let mut dedup = Dedup::new(Duration::from_secs(247), 3);
        let key = |mid| (PeerKey::for_tests(1), 0, mid);
        for mid in 0..4 {
            assert_eq!(
                dedup.check(Instant::from_secs(u64::from(mid)), key(mid)),
                Seen::New
            );
        }
        assert_eq!(dedup.len(), 3);
        assert_eq!(dedup.check(Instant::from_secs(5), key(0)), Seen::New);
        assert_eq!(
            dedup.check(Instant::from_secs(5), key(3)),
            Seen::Duplicate(None)
        );
        // The stale queue item of the evicted entry does not remove its re-insertion early.
        dedup.expire(Instant::from_secs(247));
        assert_eq!(
            dedup.check(Instant::from_secs(247), key(0)),
            Seen::Duplicate(None)
        );
        assert_eq!(
            dedup.next_deadline(),
            Some(Instant::from_secs(249)),
            "key 1 was evicted"
        );
    }
}
