//! [`PeerAddress`]: what the session table needs from a peer key besides equality: stable bytes
//! to bind a `HelloVerifyRequest` cookie to, and the source that half-open limits are counted per.

use core::fmt::Debug;
use core::hash::Hash;
use std::net::{IpAddr, SocketAddr};

/// A peer key for [`SessionTable`](crate::dtls::SessionTable): normally a [`SocketAddr`].
///
/// ```
/// use std::net::SocketAddr;
/// use lwm2m_transport::dtls::PeerAddress;
/// let a: SocketAddr = "192.0.2.1:5684".parse().unwrap();
/// let b: SocketAddr = "192.0.2.1:40000".parse().unwrap();
/// assert_eq!(a.source(), b.source()); // one host, two ports: one source
/// assert_ne!(a.cookie_bytes().as_ref(), b.cookie_bytes().as_ref());
/// ```
pub trait PeerAddress: Clone + Eq + Hash + Debug + Send + 'static {
    /// What half-open handshakes are counted per: the host part of the address.
    type Source: Clone + Eq + Hash + Debug + Send + 'static;
    /// The byte form cookies are computed over.
    type Bytes: AsRef<[u8]>;

    /// The source of this peer.
    fn source(&self) -> Self::Source;

    /// Bytes that identify the peer exactly (two different peers must never give the same bytes).
    fn cookie_bytes(&self) -> Self::Bytes;
}

impl PeerAddress for SocketAddr {
    type Source = IpAddr;
    type Bytes = [u8; 19];

    fn source(&self) -> IpAddr {
        self.ip()
    }

    fn cookie_bytes(&self) -> [u8; 19] {
        let mut out = [0; 19];
        match self.ip() {
            IpAddr::V4(ip) => {
                out[0] = 4;
                out[1..5].copy_from_slice(&ip.octets());
            }
            IpAddr::V6(ip) => {
                out[0] = 6;
                out[1..17].copy_from_slice(&ip.octets());
            }
        }
        out[17..].copy_from_slice(&self.port().to_be_bytes());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v4_and_v6_never_collide() {
        let v4: SocketAddr = "1.2.3.4:5".parse().unwrap();
        let v6: SocketAddr = "[::102:304]:5".parse().unwrap();
        assert_ne!(v4.cookie_bytes(), v6.cookie_bytes());
        assert_eq!(v4.cookie_bytes()[..5], [4, 1, 2, 3, 4]);
    }
}
