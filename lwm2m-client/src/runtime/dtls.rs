//! DTLS for the runtime (feature `dtls`): one client [`Session`] per `coaps://` server whose
//! Security instance holds DTLS credentials ([`Client::dtls_credentials`]): a pre-shared key
//! (mode 0), raw public keys (mode 1, OpenSSL with lwm2m-transport's `dtls-rpk`) or
//! certificates (mode 2, OpenSSL). dimpl refuses modes 1 and 2 with a typed
//! [`ConfigError`](lwm2m_transport::dtls::ConfigError). The sans-IO
//! client's datagrams to such a server are encrypted before they reach the socket, and the
//! server's records are decrypted before the client sees them.
//!
//! The same goes for the peer of a `coaps://` firmware download
//! ([`Client::firmware_dtls_credentials`]): the credentials of the Security instance that
//! matches the Package URI. A server's session that fails stops the task; a download's
//! session that fails (a refused handshake: a wrong key) only fails the download, with result
//! 4, and the session of a download is closed once the download ends. A download from a server
//! the client is registered with goes through that server's session.
//!
//! The sessions run on the [`Backend`] of [`default_backend`] unless
//! [`ClientTask::dtls_backend`](super::ClientTask::dtls_backend) says otherwise: OpenSSL with
//! the feature `dtls-openssl` (its `ClientHello` signals RFC 5746 secure renegotiation, which
//! tinydtls servers require), else dimpl (pure Rust, a few KiB per session, but its hello
//! lacks `renegotiation_info`, so tinydtls refuses it with `handshake_failure`).

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::net::SocketAddr;

use bytes::Bytes;
use lwm2m_transport::dtls::{
    Backend, Certificate, CertifiedKey, ClientConfig, ClientCredentials, ConfigError, DtlsError,
    Limits, PrivateKey, Psk, ServerTrust, Session, SessionEvent,
};
use lwm2m_transport::Instant;

use super::RuntimeError;
use crate::client::Client;
use crate::config::DtlsCredentials;
use crate::firmware::FirmwareError;

/// A DTLS server; its session is made on the first datagram (and again after a close).
struct Peer {
    config: Box<ClientConfig>,
    session: Option<Box<Session>>,
    /// Made for a `coaps://` firmware download, not for an LwM2M server.
    firmware: bool,
}

/// The DTLS backend a client task uses unless told otherwise: [`Backend::OpenSsl`] when this
/// crate's feature `dtls-openssl` is on (interoperable with tinydtls peers), else
/// [`Backend::Dimpl`]. It follows this crate's feature, not lwm2m-transport's, so another
/// crate that turns on OpenSSL in the transport does not change the client's choice.
#[must_use]
pub fn default_backend() -> Backend {
    if cfg!(feature = "dtls-openssl") {
        Backend::OpenSsl
    } else {
        Backend::Dimpl
    }
}

/// The DTLS sessions of one client task, by server address.
pub(super) struct DtlsLayer {
    peers: HashMap<SocketAddr, Peer>,
    limits: Limits,
    backend: Backend,
    /// Encrypted datagrams waiting for the socket.
    out: Vec<(SocketAddr, Bytes)>,
    /// Firmware download peers that could not be reached, and why, for the client.
    failed: Vec<(SocketAddr, FirmwareError)>,
}

impl Default for DtlsLayer {
    fn default() -> DtlsLayer {
        DtlsLayer {
            peers: HashMap::new(),
            limits: Limits::default(),
            backend: default_backend(),
            out: Vec::new(),
            failed: Vec::new(),
        }
    }
}

impl DtlsLayer {
    pub(super) fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
    }

    /// The backend of the sessions made from now on (a server already contacted keeps its
    /// configuration).
    pub(super) fn set_backend(&mut self, backend: Backend) {
        self.backend = backend;
    }

    /// Whether `peer` talks DTLS: a known DTLS server, or one whose Security instance (read
    /// the first time) holds credentials, or the peer of a `coaps://` firmware download.
    /// `NoSec` servers are not remembered, so a `NoSec` client keeps no DTLS state at all. A
    /// key the DTLS library refuses stops the task for a server, and fails the download
    /// (result 7, as for no credentials at all) for a download's peer.
    fn is_secure(
        &mut self,
        client: &Client<SocketAddr>,
        peer: SocketAddr,
    ) -> Result<bool, RuntimeError> {
        if let Entry::Vacant(slot) = self.peers.entry(peer) {
            let (credentials, firmware) = match client.dtls_credentials(&peer) {
                Some(credentials) => (credentials, false),
                None => match client.firmware_dtls_credentials(&peer) {
                    Some(credentials) => (credentials, true),
                    None => return Ok(false),
                },
            };
            let config = transport_credentials(&credentials).and_then(|credentials| {
                ClientConfig::builder(credentials)
                    .backend(self.backend)
                    .build()
            });
            match config {
                Ok(config) => {
                    slot.insert(Peer {
                        config: Box::new(config),
                        session: None,
                        firmware,
                    });
                }
                Err(e) if firmware => self.failed.push((
                    peer,
                    FirmwareError::InvalidUri(format!(
                        "the DTLS credentials for {peer} are refused: {e}"
                    )),
                )),
                Err(e) => return Err(RuntimeError::DtlsConfig { peer, source: e }),
            }
        }
        Ok(true)
    }

    /// The firmware download peers that could not be reached since the last call.
    pub(super) fn take_failed(&mut self) -> Vec<(SocketAddr, FirmwareError)> {
        std::mem::take(&mut self.failed)
    }

    /// Closes the sessions of firmware downloads that ended (`close_notify` goes out with
    /// the next transmits). A download's peer that has become a server the client registers
    /// with keeps its session, as a server's.
    pub(super) fn retire(&mut self, client: &Client<SocketAddr>, now: Instant) {
        let mut ended = Vec::new();
        for (peer, state) in self.peers.iter_mut().filter(|(_, s)| s.firmware) {
            if client.dtls_credentials(peer).is_some() {
                state.firmware = false;
            } else if client.firmware_dtls_credentials(peer).is_none() {
                ended.push(*peer);
            }
        }
        for peer in ended {
            if let Some(Peer {
                session: Some(mut session),
                ..
            }) = self.peers.remove(&peer)
            {
                session.close(now);
                while let Some(datagram) = session.poll_transmit() {
                    self.out.push((peer, datagram));
                }
                tracing::debug!(%peer, "firmware download over: DTLS session closed");
            }
        }
    }

    /// A session error: the task's error for a server, a failed download for a download's
    /// peer (whose state is dropped, so the next download starts afresh).
    fn fail(&mut self, peer: SocketAddr, error: DtlsError) -> Result<(), RuntimeError> {
        let firmware = self.peers.get(&peer).is_some_and(|p| p.firmware);
        if !firmware {
            return Err(dtls(peer, error));
        }
        self.peers.remove(&peer);
        tracing::debug!(%peer, %error, "DTLS for the firmware download failed");
        // A handshake that fails (wrong key, no answer) is a connection that could not be
        // kept up: result 4.
        self.failed.push((
            peer,
            FirmwareError::ConnectionLost(format!("DTLS with {peer}: {error}")),
        ));
        Ok(())
    }

    /// Sends `datagram` to `peer`: `Ok(Some(datagram))` back when the peer is `NoSec` (the
    /// caller sends it as is), `Ok(None)` when it was handed to the DTLS session.
    pub(super) fn outgoing(
        &mut self,
        client: &Client<SocketAddr>,
        now: Instant,
        peer: SocketAddr,
        datagram: Bytes,
    ) -> Result<Option<Bytes>, RuntimeError> {
        if !self.is_secure(client, peer)? {
            return Ok(Some(datagram));
        }
        let limits = self.limits.clone();
        let Some(Peer {
            config, session, ..
        }) = self.peers.get_mut(&peer)
        else {
            // A download's peer whose credentials were refused: nothing goes out in clear.
            return Ok(None);
        };
        let sent = match session {
            Some(s) => s.send(now, &datagram),
            None => Session::connect(now, config, &limits).and_then(|mut fresh| {
                let sent = fresh.send(now, &datagram);
                *session = Some(Box::new(fresh));
                sent
            }),
        };
        if let Err(error) = sent {
            self.fail(peer, error)?;
        }
        Ok(None)
    }

    /// A datagram from `peer`: the decrypted application datagrams for the client, or the
    /// datagram itself for a `NoSec` peer. A failed handshake (a wrong key) stops the task.
    pub(super) fn incoming(
        &mut self,
        client: &Client<SocketAddr>,
        now: Instant,
        peer: SocketAddr,
        datagram: &[u8],
    ) -> Result<Incoming, RuntimeError> {
        if !self.is_secure(client, peer)? {
            return Ok(Incoming {
                new_session: false,
                data: vec![Bytes::copy_from_slice(datagram)],
            });
        }
        let Some(Peer {
            session: Some(session),
            ..
        }) = self.peers.get_mut(&peer)
        else {
            // No session: a stray record from before a restart; the server resends.
            return Ok(Incoming::default());
        };
        if let Err(error) = session.handle_datagram(now, datagram) {
            // A malformed or unexpected record is dropped; a failure shows up as an event.
            tracing::debug!(%peer, %error, "DTLS datagram dropped");
        }
        self.drain(peer)
    }

    /// Runs the sessions' timers (handshake retransmissions, timeouts).
    pub(super) fn handle_timeout(
        &mut self,
        now: Instant,
    ) -> Result<Vec<(SocketAddr, Bytes)>, RuntimeError> {
        let due: Vec<SocketAddr> = self
            .peers
            .iter_mut()
            .filter_map(|(peer, state)| match &mut state.session {
                Some(s) if s.poll_timeout().is_some_and(|at| at <= now) => {
                    s.handle_timeout(now);
                    Some(*peer)
                }
                _ => None,
            })
            .collect();
        let mut data = Vec::new();
        for peer in due {
            // A handshake completes on a received datagram, never on a timer.
            data.extend(self.drain(peer)?.data.into_iter().map(|d| (peer, d)));
        }
        Ok(data)
    }

    /// The earliest session deadline.
    pub(super) fn poll_timeout(&self) -> Option<Instant> {
        self.peers
            .values()
            .filter_map(|state| state.session.as_ref().and_then(|s| s.poll_timeout()))
            .min()
    }

    /// The encrypted datagrams to send.
    pub(super) fn take_transmits(&mut self) -> Vec<(SocketAddr, Bytes)> {
        self.collect_transmits();
        std::mem::take(&mut self.out)
    }

    fn collect_transmits(&mut self) {
        for (peer, state) in &mut self.peers {
            if let Some(s) = &mut state.session {
                while let Some(datagram) = s.poll_transmit() {
                    self.out.push((*peer, datagram));
                }
            }
        }
    }

    /// The session's events: application data out, a failure as the task's error, a close
    /// drops the session (the next datagram makes a new one).
    fn drain(&mut self, peer: SocketAddr) -> Result<Incoming, RuntimeError> {
        self.collect_transmits();
        let Some(Peer { session, .. }) = self.peers.get_mut(&peer) else {
            return Ok(Incoming::default());
        };
        let mut data = Vec::new();
        let mut new_session = false;
        let mut closed = false;
        let mut failed = None;
        if let Some(s) = session.as_mut() {
            while let Some(event) = s.poll_event() {
                match event {
                    SessionEvent::Data(d) => data.push(d),
                    SessionEvent::Connected(handshake) => {
                        tracing::debug!(%peer, suite = ?handshake.cipher_suite, "DTLS session established");
                        // A session delivers data only once connected, so this comes first.
                        new_session = true;
                    }
                    SessionEvent::Closed(reason) => {
                        tracing::debug!(%peer, ?reason, "DTLS session closed");
                        closed = true;
                    }
                    SessionEvent::Failed(error) => {
                        failed = Some(error);
                        break;
                    }
                }
            }
        }
        if closed {
            *session = None;
        }
        if let Some(error) = failed {
            self.fail(peer, error)?;
        }
        Ok(Incoming { new_session, data })
    }
}

/// What one received datagram carries for the client.
#[derive(Debug, Default)]
pub(super) struct Incoming {
    /// A new session with the peer connected (before `data`).
    pub(super) new_session: bool,
    /// Plaintext datagrams, in order.
    pub(super) data: Vec<Bytes>,
}

/// The transport's credentials for a Security instance's: the keys and certificates are
/// checked here (a malformed one is a [`ConfigError`]).
fn transport_credentials(credentials: &DtlsCredentials) -> Result<ClientCredentials, ConfigError> {
    Ok(match credentials {
        DtlsCredentials::Psk { identity, key } => ClientCredentials::Psk(Psk::new(identity, key)?),
        DtlsCredentials::RawPublicKey {
            server_public_key,
            secret_key,
            ..
        } => ClientCredentials::RawPublicKey {
            key: PrivateKey::from_der(secret_key)?,
            server_public_key: server_public_key.clone(),
        },
        DtlsCredentials::Certificate {
            certificate,
            server_certificate,
            secret_key,
        } => {
            let key = PrivateKey::from_der(secret_key)?;
            let own = CertifiedKey::new(vec![Certificate::from_der(certificate)?], key)?;
            let server = Certificate::from_der(server_certificate)?;
            ClientCredentials::Certificate {
                own,
                trust: server_trust(server),
            }
        }
    })
}

/// How `/0/x/4` is trusted: a self-issued certificate (a CA, or a self-signed server) is a
/// trust anchor (path validation, no host name check: LwM2M binds the server by its URI and
/// this certificate); any other is pinned (the server must present exactly it).
fn server_trust(server: Certificate) -> ServerTrust {
    if self_issued(server.der()) {
        ServerTrust::Anchors {
            anchors: vec![server],
            host: None,
        }
    } else {
        ServerTrust::Pinned(server)
    }
}

#[cfg(feature = "dtls-openssl")]
fn self_issued(der: &[u8]) -> bool {
    openssl::x509::X509::from_der(der)
        .is_ok_and(|c| c.issued(&c) == openssl::x509::X509VerifyResult::OK)
}

/// Without OpenSSL there are no certificates at all (the configuration is refused anyway).
#[cfg(not(feature = "dtls-openssl"))]
fn self_issued(_der: &[u8]) -> bool {
    false
}

fn dtls(peer: SocketAddr, source: DtlsError) -> RuntimeError {
    RuntimeError::Dtls { peer, source }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_psk_maps_to_the_transports() {
        let psk = DtlsCredentials::Psk {
            identity: b"id".to_vec(),
            key: b"key".to_vec(),
        };
        assert_eq!(
            transport_credentials(&psk).unwrap(),
            ClientCredentials::Psk(Psk::new(b"id", b"key").unwrap())
        );
        let empty = DtlsCredentials::Psk {
            identity: Vec::new(),
            key: b"key".to_vec(),
        };
        assert!(matches!(
            transport_credentials(&empty),
            Err(ConfigError::PskIdentity { len: 0 })
        ));
    }

    #[test]
    fn malformed_keys_and_certificates_are_refused() {
        let certificate = DtlsCredentials::Certificate {
            certificate: vec![0x30, 0x03, 0x02, 0x01, 0x00],
            server_certificate: vec![0x30],
            secret_key: b"not a key".to_vec(),
        };
        assert!(transport_credentials(&certificate).is_err());
        let rpk = DtlsCredentials::RawPublicKey {
            public_key: vec![0x30],
            server_public_key: vec![0x30],
            secret_key: b"not a key".to_vec(),
        };
        assert!(transport_credentials(&rpk).is_err());
    }

    #[test]
    fn security_modes_round_trip() {
        for mode in 0..=2 {
            let c = DtlsCredentials::from_security(mode, b"a", b"b", b"c").unwrap();
            assert_eq!(c.security_mode(), mode);
        }
        assert!(DtlsCredentials::from_security(3, b"", b"", b"").is_none());
        assert!(DtlsCredentials::from_security(9, b"", b"", b"").is_none());
    }
}
