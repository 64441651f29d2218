//! Observe (RFC 7641) state for both roles.
//!
//! - Observer side: an `Observation` per established observation (the registering request's id,
//!   token and options, and the newest accepted sequence number with its arrival time), and the
//!   freshness rule [`is_newer`] that drops re-ordered notifications.
//! - Notifier side: a `Relation` per observer (peer, token, request key) with its 24-bit
//!   sequence counter and the one Confirmable notification it may have in flight.
//!
//! The message handling itself is in `endpoint::requester` (observer) and `endpoint::responder`
//! (notifier); this module holds the data and rules.

use core::time::Duration;
use std::collections::HashMap;

use lwm2m_codec::coap::Token;

use crate::endpoint::PeerKey;
use crate::event::{RelationId, RequestId};
use crate::message::Request;
use crate::time::Instant;

/// Observe sequence numbers are 24 bits wide.
pub const SEQUENCE_MODULUS: u32 = 1 << 24;

/// How long after the newest accepted notification any later one counts as fresh, whatever its
/// sequence number (RFC 7641 §3.4).
pub const FRESHNESS_WINDOW: Duration = Duration::from_secs(128);

/// RFC 7641 §3.4: whether a notification `(v2, t2)` is newer than the last accepted `(v1, t1)`.
///
/// ```
/// use lwm2m_transport::{observe::is_newer, Instant};
/// let t = Instant::from_secs(10);
/// assert!(is_newer(5, t, 6, t));
/// assert!(!is_newer(6, t, 5, t));
/// assert!(is_newer(0xFF_FFFF, t, 2, t)); // wrapped around
/// assert!(is_newer(6, t, 5, Instant::from_secs(139))); // more than 128 s later
/// ```
pub fn is_newer(v1: u32, t1: Instant, v2: u32, t2: Instant) -> bool {
    const HALF: u32 = 1 << 23;
    let (v1, v2) = (v1 % SEQUENCE_MODULUS, v2 % SEQUENCE_MODULUS);
    (v1 < v2 && v2 - v1 < HALF) || (v1 > v2 && v1 - v2 > HALF) || t2 > t1 + FRESHNESS_WINDOW
}

/// An established observation on the observer side.
#[derive(Debug)]
pub(crate) struct Observation {
    pub(crate) peer: PeerKey,
    pub(crate) token: Token,
    /// The registering request: its options are reused for cancellation and block fetches.
    pub(crate) request: Request,
    /// Sequence number and arrival time of the newest accepted notification.
    pub(crate) last: Option<(u32, Instant)>,
    /// The internal exchange fetching the remaining blocks of the newest notification.
    pub(crate) fetch: Option<RequestId>,
    /// The internal exchange fetching the remaining blocks of the registration response (never
    /// superseded: the application waits for that response).
    pub(crate) registration_fetch: Option<RequestId>,
}

impl Observation {
    /// The slot that tracks a fetch of this kind.
    pub(crate) fn fetch_slot(&mut self, registration: bool) -> &mut Option<RequestId> {
        if registration {
            &mut self.registration_fetch
        } else {
            &mut self.fetch
        }
    }

    /// Applies the freshness rule and, if fresh, records `(sequence, now)` as the newest.
    pub(crate) fn accept(&mut self, sequence: u32, now: Instant) -> bool {
        let fresh = self
            .last
            .is_none_or(|(v1, t1)| is_newer(v1, t1, sequence, now));
        if fresh {
            self.last = Some((sequence, now));
        }
        fresh
    }
}

/// An observe relation on the notifier side.
#[derive(Debug)]
pub(crate) struct Relation {
    pub(crate) peer: PeerKey,
    pub(crate) token: Token,
    /// Request key of the registration, to share the Block2 cache with follow-up GETs.
    pub(crate) key: u64,
    /// The last sequence number sent.
    pub(crate) sequence: u32,
    /// Message id of the Confirmable notification in flight.
    pub(crate) con_mid: Option<u16>,
    /// Message id of the last Non-confirmable notification (an RST to it ends the relation).
    pub(crate) non_mid: Option<u16>,
    /// When the last Confirmable notification was sent.
    pub(crate) last_con: Option<Instant>,
}

impl Relation {
    /// The next sequence number (monotonic modulo 2^24).
    pub(crate) fn next_sequence(&mut self) -> u32 {
        self.sequence = (self.sequence + 1) % SEQUENCE_MODULUS;
        self.sequence
    }
}

/// Relations by id and by (peer, token).
#[derive(Debug, Default)]
pub(crate) struct Relations {
    pub(crate) map: HashMap<RelationId, Relation>,
    pub(crate) by_token: HashMap<(PeerKey, Token), RelationId>,
}

impl Relations {
    pub(crate) fn insert(&mut self, id: RelationId, relation: Relation) -> Option<RelationId> {
        let previous = self.by_token.insert((relation.peer, relation.token), id);
        self.map.insert(id, relation);
        previous
    }

    pub(crate) fn remove(&mut self, id: RelationId) -> Option<Relation> {
        let relation = self.map.remove(&id)?;
        if self.by_token.get(&(relation.peer, relation.token)) == Some(&id) {
            self.by_token.remove(&(relation.peer, relation.token));
        }
        Some(relation)
    }

    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn freshness_follows_rfc_7641_section_3_4() {
        let t = Instant::from_secs(1000);
        assert!(is_newer(1, t, 2, t));
        assert!(is_newer(1, t, 1 << 23, t));
        assert!(
            !is_newer(1, t, 1 + (1 << 23), t),
            "exactly 2^23 ahead is not newer"
        );
        assert!(!is_newer(2, t, 1, t));
        assert!(!is_newer(7, t, 7, t), "equal is not newer");
        assert!(is_newer((1 << 24) - 1, t, 0, t));
        assert!(!is_newer(0, t, (1 << 24) - 1, t));
        assert!(!is_newer(9, t, 3, t + Duration::from_secs(128)));
        assert!(is_newer(
            9,
            t,
            3,
            t + Duration::from_secs(128) + Duration::from_micros(1)
        ));
    }

    #[test]
    fn sequence_wraps_at_24_bits() {
        let mut r = Relation {
            peer: PeerKey::for_tests(1),
            token: Token::EMPTY,
            key: 0,
            sequence: SEQUENCE_MODULUS - 1,
            con_mid: None,
            non_mid: None,
            last_con: None,
        };
        assert_eq!(r.next_sequence(), 0);
        assert_eq!(r.next_sequence(), 1);
    }
}
