//! The bookkeeping behind [`SessionTable`](super::SessionTable): a peer's [`Slot`] (its
//! established session and a handshake that may replace it), the deadlines of all sessions, and
//! the half-open handshake counts.

use std::collections::{BTreeSet, HashMap};

use crate::dtls::backend::Resumption;
use crate::dtls::config::ClientConfig;
use crate::dtls::cookie::COOKIE_LEN;
use crate::dtls::session::Session;
use crate::time::Instant;

/// Which of a peer's two sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Which {
    Current,
    Pending,
}

/// A session with its table bookkeeping.
pub(super) struct Entry {
    pub(super) id: u64,
    pub(super) session: Session,
    pub(super) deadline: Option<Instant>,
    /// The cookie a server handshake was admitted with (recognises retransmitted `ClientHellos`).
    pub(super) cookie: Option<[u8; COOKIE_LEN]>,
    /// Whether it counts against the half-open caps.
    pub(super) counted: bool,
    /// A client session the server said it no longer holds: a new handshake replaces it and
    /// carries the datagrams sent meanwhile.
    pub(super) stale: bool,
}

/// A peer's sessions: the established one, and a handshake that will replace it.
#[derive(Default)]
pub(super) struct Slot {
    // Boxed: a slot rarely holds both, and the map holds one slot per peer (100 000 of them).
    pub(super) current: Option<Box<Entry>>,
    pub(super) pending: Option<Box<Entry>>,
}

impl Slot {
    pub(super) fn get_mut(&mut self, which: Which) -> Option<&mut Entry> {
        match which {
            Which::Current => self.current.as_deref_mut(),
            Which::Pending => self.pending.as_deref_mut(),
        }
    }

    pub(super) fn take(&mut self, which: Which) -> Option<Box<Entry>> {
        match which {
            Which::Current => self.current.take(),
            Which::Pending => self.pending.take(),
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.current.is_none() && self.pending.is_none()
    }
}

pub(super) struct ClientState {
    pub(super) config: ClientConfig,
    pub(super) resumption: Option<Resumption>,
}

/// Deadlines of all sessions, earliest first.
pub(super) struct Timers<P> {
    pub(super) set: BTreeSet<(Instant, u64)>,
    pub(super) peers: HashMap<u64, P>,
}

/// Server handshakes in progress, in total and per source.
pub(super) struct HalfOpen<S> {
    pub(super) total: usize,
    pub(super) by_source: HashMap<S, usize>,
}

impl<S: core::hash::Hash + Eq> HalfOpen<S> {
    pub(super) fn add(&mut self, source: S) {
        self.total += 1;
        *self.by_source.entry(source).or_default() += 1;
    }

    pub(super) fn remove(&mut self, source: &S) {
        self.total = self.total.saturating_sub(1);
        if let Some(n) = self.by_source.get_mut(source) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.by_source.remove(source);
            }
        }
    }
}
