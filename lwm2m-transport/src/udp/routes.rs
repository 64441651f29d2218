//! Peer ownership in several-socket mode.
//!
//! With `SO_REUSEPORT`, the kernel hashes each datagram's addresses to pick the socket that
//! receives it: a peer sticks to one socket, but which one cannot be known before its first
//! datagram, and a request we send first may be answered on another socket. So every peer has
//! one owning driver, the first one that touched it (by receiving from it, or by being chosen
//! to send to it); a driver receiving a datagram of a peer it does not own forwards it to the
//! owner. After the first contact the kernel keeps routing the peer to the same socket, so
//! forwarding is the exception.
//!
//! The table is bounded (the endpoint's `max_peers` per socket); when full, a new peer is served
//! by whichever socket receives its datagrams, without ownership.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{PoisonError, RwLock};

/// Which driver owns which peer.
#[derive(Debug)]
pub(crate) struct Routes {
    table: RwLock<HashMap<SocketAddr, usize>>,
    sockets: usize,
    max: usize,
}

impl Routes {
    pub(crate) fn new(sockets: usize, max: usize) -> Routes {
        Routes {
            table: RwLock::new(HashMap::new()),
            sockets: sockets.max(1),
            max,
        }
    }

    /// The owner of `peer`, which becomes `proposed` if it has none (and the table has room).
    pub(crate) fn owner(&self, peer: SocketAddr, proposed: usize) -> usize {
        if let Some(&owner) = self
            .table
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&peer)
        {
            return owner;
        }
        let mut table = self.table.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(&owner) = table.get(&peer) {
            return owner;
        }
        if table.len() < self.max {
            table.insert(peer, proposed);
        }
        proposed
    }

    /// The driver a request to a peer nobody owns yet goes through: spread by port.
    pub(crate) fn proposal(&self, peer: SocketAddr) -> usize {
        usize::from(peer.port()) % self.sockets
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_claim_wins_and_the_table_is_bounded() {
        let routes = Routes::new(3, 2);
        let a: SocketAddr = "127.0.0.1:1000".parse().unwrap();
        let b: SocketAddr = "127.0.0.1:1001".parse().unwrap();
        let c: SocketAddr = "127.0.0.1:1002".parse().unwrap();
        assert_eq!(routes.owner(a, 2), 2);
        assert_eq!(routes.owner(a, 0), 2, "a stays with its first owner");
        assert_eq!(routes.owner(b, 1), 1);
        assert_eq!(routes.owner(c, 0), 0, "full: served where it lands");
        assert_eq!(routes.owner(c, 1), 1, "and not recorded");
        assert_eq!(routes.proposal(b), 1001 % 3);
    }
}
