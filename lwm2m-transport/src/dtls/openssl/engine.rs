//! One OpenSSL DTLS connection over an in-memory [`Pipe`]: datagrams go in one at a time, every
//! BIO write comes out as one datagram.

use core::time::Duration;
use std::io::{self, Read, Write};

use bytes::Bytes;
use openssl::ssl::{ErrorCode, ShutdownState, SslStream};

use super::context::notes_index;
use super::errors::classify;
use super::ffi;
use crate::dtls::backend::{Engine, EngineEvent, Output, Resumption};
use crate::dtls::credentials::{subject_string, CipherSuite, Handshake, PeerIdentity, Role};
use crate::dtls::error::{DtlsError, HandshakeFailure};
use crate::dtls::record::{self, Records, Summary};

/// Largest plaintext of one record (2^14).
const MAX_PLAINTEXT: usize = 16_384;
/// Record header (13) + `CCM_8` explicit nonce (8) + tag (8).
const RECORD_OVERHEAD: usize = 29;
/// Incoming buffer capacity kept between datagrams; a rare larger one is not kept.
const KEEP_CAPACITY: usize = 2_048;
/// Reads per datagram, far above the records a datagram can hold with data in them.
const MAX_READS: usize = 4_096;

/// The BIO: at most one datagram in, any number out.
#[derive(Debug, Default)]
pub(crate) struct Pipe {
    incoming: Vec<u8>,
    readable: bool,
    outgoing: Vec<Bytes>,
}

impl Read for Pipe {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if !self.readable {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        self.readable = false;
        // A datagram larger than OpenSSL's buffer is truncated, as a socket would.
        let n = self.incoming.len().min(buf.len());
        buf[..n].copy_from_slice(&self.incoming[..n]);
        Ok(n)
    }
}

impl Write for Pipe {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.outgoing.push(Bytes::copy_from_slice(buf));
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Pipe {
    fn put(&mut self, datagram: &[u8]) {
        self.incoming.clear();
        if self.incoming.capacity() > KEEP_CAPACITY && datagram.len() <= KEEP_CAPACITY {
            self.incoming.shrink_to(KEEP_CAPACITY);
        }
        self.incoming.extend_from_slice(datagram);
        self.readable = true;
    }
}

pub(crate) struct OpensslEngine {
    stream: SslStream<Pipe>,
    role: Role,
    established: bool,
    closed: bool,
    /// A client's own PSK identity, reported as the session identity.
    own_psk_identity: Option<Vec<u8>>,
    /// The next unused epoch-0 record sequence number of this side.
    plaintext_seq: u64,
    mtu: usize,
    context: u64,
}

impl OpensslEngine {
    pub(crate) fn new(
        stream: SslStream<Pipe>,
        role: Role,
        own_psk_identity: Option<Vec<u8>>,
        mtu: usize,
    ) -> OpensslEngine {
        OpensslEngine {
            stream,
            role,
            established: false,
            closed: false,
            own_psk_identity,
            plaintext_seq: 0,
            mtu,
            context: 0,
        }
    }

    pub(crate) fn with_context(mut self, context: u64) -> OpensslEngine {
        self.context = context;
        self
    }

    /// Client: sends the `ClientHello`.
    pub(crate) fn start(&mut self, out: &mut Output) -> Result<(), DtlsError> {
        let result = self.drive(out);
        self.flush(out);
        result
    }

    fn drive(&mut self, out: &mut Output) -> Result<(), DtlsError> {
        if self.closed {
            return Err(DtlsError::Closed);
        }
        if !self.established {
            match self.stream.do_handshake() {
                Ok(()) => {
                    self.established = true;
                    out.events.push(EngineEvent::Connected(self.handshake()?));
                }
                Err(e) if wants_io(&e) => return Ok(()),
                Err(e) => return Err(self.failure(&e)),
            }
        }
        self.read_application_data(out)
    }

    fn read_application_data(&mut self, out: &mut Output) -> Result<(), DtlsError> {
        let mut buf = [0u8; MAX_PLAINTEXT];
        for _ in 0..MAX_READS {
            match self.stream.ssl_read(&mut buf) {
                Ok(n) => {
                    if n > 0 {
                        out.events
                            .push(EngineEvent::Data(Bytes::copy_from_slice(&buf[..n])));
                    }
                }
                Err(e) if e.code() == ErrorCode::ZERO_RETURN => {
                    self.closed = true;
                    out.events.push(EngineEvent::PeerClosed);
                    // Answer with our close_notify; the session is over either way.
                    let _ = self.stream.shutdown();
                    return Ok(());
                }
                Err(e) if wants_io(&e) => return Ok(()),
                Err(e) => return Err(self.failure(&e)),
            }
        }
        Ok(())
    }

    fn failure(&mut self, error: &openssl::ssl::Error) -> DtlsError {
        self.closed = true;
        let notes = notes_index()
            .ok()
            .and_then(|index| self.stream.ssl().ex_data(index));
        let failure = classify(error, self.stream.ssl(), notes);
        if self.established {
            match failure {
                HandshakeFailure::PeerAlert(alert) => DtlsError::PeerAlert(alert),
                other => DtlsError::Protocol(other.to_string()),
            }
        } else {
            DtlsError::Handshake(failure)
        }
    }

    /// Moves what OpenSSL wrote to `out`, noting the plaintext record numbers used.
    fn flush(&mut self, out: &mut Output) {
        for datagram in self.stream.get_mut().outgoing.drain(..) {
            for (_, header, _) in Records::new(&datagram).flatten() {
                if header.epoch == 0 {
                    self.plaintext_seq = self.plaintext_seq.max(header.sequence + 1);
                }
            }
            out.transmits.push(datagram);
        }
    }

    /// OpenSSL drops a record that does not decrypt without a word (RFC 6347 §4.1.2.7), so a
    /// Finished under the wrong key would leave the handshake waiting until it times out. When a
    /// datagram carried an encrypted handshake record and OpenSSL is still waiting for the
    /// Finished that follows the peer's `ChangeCipherSpec`, that Finished did not decrypt: the
    /// keys differ. The server then ends the handshake at once with a plaintext `decrypt_error`
    /// alert (its own epoch is still 0), so the client learns it too.
    fn check_finished(&mut self, summary: Summary, out: &mut Output) -> Result<(), DtlsError> {
        if self.established
            || self.closed
            || !summary.encrypted_handshake
            || self.stream.ssl().state_string() != "TRCCS"
        {
            return Ok(());
        }
        self.closed = true;
        if self.role == Role::Server {
            out.transmits.push(record::fatal_alert(
                self.plaintext_seq,
                crate::dtls::Alert::DECRYPT_ERROR.0,
            ));
            self.plaintext_seq += 1;
        }
        Err(DtlsError::Handshake(HandshakeFailure::BadKey))
    }

    fn handshake(&self) -> Result<Handshake, DtlsError> {
        let ssl = self.stream.ssl();
        let name = ssl
            .current_cipher()
            .and_then(openssl::ssl::SslCipherRef::standard_name)
            .unwrap_or("none");
        let cipher_suite = CipherSuite::from_iana_name(name).ok_or_else(|| {
            DtlsError::Handshake(HandshakeFailure::Protocol {
                reason: format!("negotiated an unexpected cipher suite {name}"),
            })
        })?;
        let identity = match cipher_suite {
            CipherSuite::PskAes128Ccm8 => PeerIdentity::Psk {
                identity: match self.role {
                    Role::Server => ssl.psk_identity().unwrap_or_default().to_vec(),
                    Role::Client => self.own_psk_identity.clone().unwrap_or_default(),
                },
            },
            CipherSuite::EcdheEcdsaAes128Ccm8 if peer_raw_key(ssl).is_some() => {
                PeerIdentity::RawPublicKey {
                    spki: peer_raw_key(ssl).unwrap_or_default(),
                }
            }
            CipherSuite::EcdheEcdsaAes128Ccm8 => {
                let cert = ssl
                    .peer_certificate()
                    .ok_or(DtlsError::Handshake(HandshakeFailure::NoCertificate))?;
                let common_name = cert
                    .subject_name()
                    .entries_by_nid(openssl::nid::Nid::COMMONNAME)
                    .next()
                    .and_then(|e| e.data().to_string().ok());
                PeerIdentity::Certificate {
                    subject: subject_string(cert.subject_name()),
                    common_name,
                    der: cert
                        .to_der()
                        .map_err(|e| DtlsError::Backend(e.to_string()))?,
                }
            }
        };
        Ok(Handshake {
            role: self.role,
            identity,
            cipher_suite,
            resumed: ssl.session_reused(),
        })
    }
}

/// The peer's raw public key (RFC 7250), if it used one; never without the `dtls-rpk` feature.
fn peer_raw_key(ssl: &openssl::ssl::SslRef) -> Option<Vec<u8>> {
    #[cfg(feature = "dtls-rpk")]
    {
        ffi::peer_rpk(ssl)
    }
    #[cfg(not(feature = "dtls-rpk"))]
    {
        let _ = ssl;
        None
    }
}

fn wants_io(error: &openssl::ssl::Error) -> bool {
    matches!(error.code(), ErrorCode::WANT_READ | ErrorCode::WANT_WRITE)
        && error
            .io_error()
            .is_none_or(|e| e.kind() == io::ErrorKind::WouldBlock)
}

impl Engine for OpensslEngine {
    fn handle_datagram(
        &mut self,
        datagram: &[u8],
        summary: Summary,
        out: &mut Output,
    ) -> Result<(), DtlsError> {
        self.stream.get_mut().put(datagram);
        let result = self.drive(out);
        // Whatever OpenSSL did not read of this datagram (it stopped on an error) is dropped.
        self.stream.get_mut().readable = false;
        self.flush(out);
        result?;
        self.check_finished(summary, out)
    }

    fn handle_timeout(&mut self, out: &mut Output) -> Result<(), DtlsError> {
        if self.closed {
            return Ok(());
        }
        let result = match ffi::handle_timeout(self.stream.ssl()) {
            Err(()) => {
                self.closed = true;
                Err(DtlsError::Handshake(HandshakeFailure::Timeout {
                    after: Duration::ZERO,
                }))
            }
            Ok(_) => Ok(()),
        };
        self.flush(out);
        result
    }

    fn timeout(&self) -> Option<Duration> {
        if self.closed {
            return None;
        }
        ffi::get_timeout(self.stream.ssl())
    }

    fn send(&mut self, plaintext: &[u8], out: &mut Output) -> Result<(), DtlsError> {
        if self.closed || !self.established {
            return Err(DtlsError::Closed);
        }
        let max = self.max_plaintext();
        if plaintext.len() > max {
            return Err(DtlsError::PlaintextTooLarge {
                len: plaintext.len(),
                max,
            });
        }
        let result = match self.stream.ssl_write(plaintext) {
            Ok(_) => Ok(()),
            Err(e) => Err(self.failure(&e)),
        };
        self.flush(out);
        result
    }

    fn close(&mut self, out: &mut Output) {
        if !self.closed {
            self.closed = true;
            let _ = self.stream.shutdown();
            self.flush(out);
        }
    }

    fn max_plaintext(&self) -> usize {
        self.mtu.saturating_sub(RECORD_OVERHEAD).min(MAX_PLAINTEXT)
    }

    fn evict(&mut self) {
        // Freeing an `SSL` that sent no close_notify removes its session from the server's
        // cache as a "bad" session; marking the shutdown done keeps it there (and keeps its
        // ticket-less clients able to resume). Nothing is sent.
        self.stream
            .set_shutdown(ShutdownState::SENT | ShutdownState::RECEIVED);
    }

    fn resumption(&self) -> Option<Resumption> {
        if !self.established || self.role != Role::Client {
            return None;
        }
        let session = self.stream.ssl().session()?.to_owned();
        Some(Resumption::Openssl {
            session,
            context: self.context,
        })
    }
}
