//! One UDP socket with batched IO: `recvmmsg` (and GRO) on receive, GSO on send, through
//! quinn-udp's safe wrappers; `SO_REUSEPORT` and buffer sizes through socket2.
//!
//! Addresses are canonical on the way in (an IPv4-mapped IPv6 source of a dual-stack socket
//! becomes IPv4) and mapped back on the way out, so the endpoint names every IPv4 peer the same
//! way whatever the socket's family.

use std::io::{self, IoSliceMut};
use std::net::{IpAddr, SocketAddr};
use std::task::{Context, Poll};

use quinn_udp::{RecvMeta, Transmit, UdpSocketState, BATCH_SIZE};
use socket2::{Domain, Protocol, Type};
use tokio::io::Interest;

use super::layer::Wire;

/// Room for one received buffer: a GRO-coalesced train of datagrams is at most a maximal UDP
/// datagram long.
const SLOT: usize = 1 << 16;

/// The largest UDP payload; caps the bytes of one GSO send.
const MAX_UDP_PAYLOAD: usize = 65_507;

/// Socket options applied before the socket is bound.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct SocketOptions {
    pub(crate) reuse_port: bool,
    pub(crate) recv_buffer: Option<usize>,
    pub(crate) send_buffer: Option<usize>,
}

/// A bound, non-blocking UDP socket registered with tokio, and its batch buffers.
pub(crate) struct Socket {
    io: tokio::net::UdpSocket,
    state: UdpSocketState,
    local: SocketAddr,
    v6: bool,
    /// `BATCH_SIZE` receive buffers of `SLOT` bytes.
    slots: Box<[u8]>,
    metas: [RecvMeta; BATCH_SIZE],
    /// Consecutive datagrams of one GSO send, copied together.
    gso: Vec<u8>,
}

impl std::fmt::Debug for Socket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Socket")
            .field("local", &self.local)
            .finish_non_exhaustive()
    }
}

impl Socket {
    /// Binds a socket to `addr` (call inside a tokio runtime).
    pub(crate) fn bind(addr: SocketAddr, options: SocketOptions) -> io::Result<Socket> {
        let raw =
            socket2::Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
        if addr.is_ipv6() {
            // Dual stack where the system allows it, whatever its default.
            let _ = raw.set_only_v6(false);
        }
        if options.reuse_port {
            raw.set_reuse_port(true)?;
        }
        if let Some(bytes) = options.recv_buffer {
            raw.set_recv_buffer_size(bytes)?;
        }
        if let Some(bytes) = options.send_buffer {
            raw.set_send_buffer_size(bytes)?;
        }
        raw.bind(&addr.into())?;
        let std_socket: std::net::UdpSocket = raw.into();
        let state = UdpSocketState::new((&std_socket).into())?;
        let io = tokio::net::UdpSocket::from_std(std_socket)?;
        let local = io.local_addr()?;
        let slots = vec![0u8; SLOT * BATCH_SIZE].into_boxed_slice();
        Ok(Socket {
            io,
            state,
            local,
            v6: local.is_ipv6(),
            slots,
            metas: [RecvMeta::default(); BATCH_SIZE],
            gso: Vec::with_capacity(MAX_UDP_PAYLOAD),
        })
    }

    pub(crate) fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Receives a batch of datagrams and hands each (source, bytes) to `each`. `Ready(Ok(0))`
    /// never happens: `Pending` means nothing is waiting (the waker is registered).
    pub(crate) fn poll_recv(
        &mut self,
        cx: &mut Context<'_>,
        mut each: impl FnMut(SocketAddr, &[u8]),
    ) -> Poll<io::Result<usize>> {
        loop {
            match self.io.poll_recv_ready(cx) {
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
            let Socket {
                io,
                state,
                slots,
                metas,
                ..
            } = self;
            let io: &tokio::net::UdpSocket = io;
            let mut chunks = slots.chunks_mut(SLOT);
            let mut bufs: [IoSliceMut<'_>; BATCH_SIZE] =
                std::array::from_fn(|_| IoSliceMut::new(chunks.next().unwrap_or_default()));
            let received = io.try_io(Interest::READABLE, || {
                state.recv(io.into(), &mut bufs, metas)
            });
            match received {
                Ok(count) => {
                    let slots = self.slots.chunks(SLOT);
                    for (meta, slot) in self.metas.iter().zip(slots).take(count) {
                        let from = canonical(meta.addr);
                        let data = slot.get(..meta.len).unwrap_or(&[]);
                        // A GRO train holds datagrams of `stride` bytes (the last may be shorter).
                        for datagram in data.chunks(meta.stride.max(1)) {
                            each(from, datagram);
                        }
                    }
                    return Poll::Ready(Ok(count));
                }
                // Readiness was stale: poll again to register the waker.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                // An ICMP error reported on the socket concerns one earlier datagram; the
                // endpoint's retransmission deals with the loss.
                Err(e) if is_transient(&e) => {}
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }

    /// Sends queued datagrams until the queue is empty (`Ready`) or the socket buffer is full
    /// (`Pending`, the waker is registered). Runs of datagrams to one destination with one size
    /// go out as one GSO send.
    pub(crate) fn poll_flush(&mut self, cx: &mut Context<'_>, wire: &mut Wire) -> Poll<()> {
        while let Some((destination, first)) = wire.front() {
            let destination = self.outgoing(*destination);
            let size = first.len();
            let max_segments = self
                .state
                .max_gso_segments()
                .min(MAX_UDP_PAYLOAD / size.max(1))
                .max(1);
            let mut count = 1;
            while count < max_segments {
                match wire.get(count) {
                    Some((to, next)) if self.outgoing(*to) == destination && next.len() <= size => {
                        count += 1;
                        if next.len() < size {
                            // A shorter datagram can only end a GSO train.
                            break;
                        }
                    }
                    _ => break,
                }
            }
            let contents: &[u8] = if count == 1 {
                first
            } else {
                self.gso.clear();
                for index in 0..count {
                    if let Some((_, datagram)) = wire.get(index) {
                        self.gso.extend_from_slice(datagram);
                    }
                }
                &self.gso
            };
            let transmit = Transmit {
                destination,
                ecn: None,
                contents,
                segment_size: (count > 1).then_some(size),
                src_ip: None,
            };
            let Socket { io, state, .. } = &*self;
            match io.try_io(Interest::WRITABLE, || state.send(io.into(), &transmit)) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    match self.io.poll_send_ready(cx) {
                        Poll::Ready(_) => {}
                        Poll::Pending => return Poll::Pending,
                    }
                }
                // Sent; or lost, which quinn-udp reports only as WouldBlock: other send errors
                // are the network's loss, repaired by retransmission.
                _ => wire.drop_front(count),
            }
        }
        Poll::Ready(())
    }

    /// The address to send to: IPv4 peers of an IPv6 socket as IPv4-mapped addresses.
    fn outgoing(&self, to: SocketAddr) -> SocketAddr {
        match to {
            SocketAddr::V4(v4) if self.v6 => {
                SocketAddr::new(IpAddr::V6(v4.ip().to_ipv6_mapped()), v4.port())
            }
            other => other,
        }
    }
}

/// An IPv4-mapped IPv6 address as the IPv4 address it is; other addresses unchanged (an IPv6
/// address keeps its scope id, which a link-local peer needs).
pub(crate) fn canonical(addr: SocketAddr) -> SocketAddr {
    match addr {
        SocketAddr::V6(v6) => match v6.ip().to_ipv4_mapped() {
            Some(v4) => SocketAddr::new(IpAddr::V4(v4), v6.port()),
            None => addr,
        },
        SocketAddr::V4(_) => addr,
    }
}

/// Errors a UDP socket reports for an earlier datagram (ICMP), not for the socket itself.
fn is_transient(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::HostUnreachable
            | io::ErrorKind::NetworkUnreachable
            | io::ErrorKind::Interrupted
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn canonical_unmaps_ipv4_mapped_addresses() {
        let mapped: SocketAddr = "[::ffff:127.0.0.1]:5683".parse().unwrap();
        assert_eq!(canonical(mapped), "127.0.0.1:5683".parse().unwrap());
        let v6: SocketAddr = "[::1]:5683".parse().unwrap();
        assert_eq!(canonical(v6), v6);
        let scoped = SocketAddr::V6(std::net::SocketAddrV6::new(
            "fe80::1".parse().unwrap(),
            5683,
            0,
            3,
        ));
        assert_eq!(canonical(scoped), scoped, "the scope id stays");
    }

    #[tokio::test]
    async fn a_gso_train_arrives_as_separate_datagrams() {
        let mut a = Socket::bind("127.0.0.1:0".parse().unwrap(), SocketOptions::default()).unwrap();
        let mut b = Socket::bind("[::]:0".parse().unwrap(), SocketOptions::default()).unwrap();
        let to_b = SocketAddr::new("127.0.0.1".parse().unwrap(), b.local_addr().port());
        let mut wire = Wire::default();
        // Five of one size (one GSO train), then a shorter one ending it, then another size.
        for i in 0..5u8 {
            wire.push(to_b, Bytes::from(vec![i; 100]));
        }
        wire.push(to_b, Bytes::from(vec![5; 40]));
        wire.push(to_b, Bytes::from(vec![6; 300]));
        std::future::poll_fn(|cx| a.poll_flush(cx, &mut wire)).await;
        assert!(wire.is_empty());
        let mut got: Vec<(SocketAddr, Vec<u8>)> = Vec::new();
        while got.len() < 7 {
            std::future::poll_fn(|cx| b.poll_recv(cx, |from, d| got.push((from, d.to_vec()))))
                .await
                .unwrap();
        }
        let sizes: Vec<usize> = got.iter().map(|(_, d)| d.len()).collect();
        assert_eq!(sizes, [100, 100, 100, 100, 100, 40, 300]);
        for (i, (from, d)) in got.iter().enumerate() {
            assert_eq!(*from, a.local_addr(), "the IPv4 source, unmapped");
            assert!(d.iter().all(|&byte| usize::from(byte) == i));
        }
    }
}
