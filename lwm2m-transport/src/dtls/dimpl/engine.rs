//! One dimpl DTLS 1.2 PSK connection behind the crate's [`Engine`] trait.

use core::time::Duration;
use std::sync::Arc;
use std::time::Instant as WallClock;

use bytes::Bytes;
use dimpl::{Config, Dtls, Output as DimplOutput};

use super::take_lookup;
use crate::dtls::backend::{Engine, EngineEvent, Output, Resumption};
use crate::dtls::credentials::{CipherSuite, Handshake, PeerIdentity, Role};
use crate::dtls::error::{Alert, DtlsError, HandshakeFailure};
use crate::dtls::record::{self, Records, Summary};

/// Largest plaintext of one record (2^14).
const MAX_PLAINTEXT: usize = 16_384;
/// Record header (13) + `CCM_8` explicit nonce (8) + tag (8).
const RECORD_OVERHEAD: usize = 29;
/// Initial size of the `poll_output` buffer; it grows when dimpl asks (application data up to
/// 2^14).
const OUTPUT_BUF: usize = 2_048;
/// Outputs drained per call, far above what one datagram or timer can cause.
const MAX_OUTPUTS: usize = 4_096;

// The flags are independent facts about the handshake, not states of one machine.
#[allow(clippy::struct_excessive_bools)]
pub(crate) struct DimplEngine {
    dtls: Dtls,
    role: Role,
    established: bool,
    closed: bool,
    /// The PSK identity: a client's own; the one a server looked up.
    identity: Option<Vec<u8>>,
    /// A server's look-up found no key for `identity`.
    unknown_identity: bool,
    /// This side sent its `ChangeCipherSpec` (client) or processed the `ClientKeyExchange`
    /// (server): the peer's Finished is due.
    finished_due: bool,
    /// The peer's `ChangeCipherSpec` arrived while its Finished was due (an encrypted handshake
    /// record after it that leaves the handshake unfinished did not decrypt).
    peer_ccs: bool,
    deadline: Option<WallClock>,
    /// The wall clock of the last call into dimpl: [`Engine::timeout`] measures from it rather
    /// than reading the clock a second time per record.
    last_tick: WallClock,
    /// The next unused epoch-0 record sequence number of this side.
    plaintext_seq: u64,
    mtu: usize,
}

std::thread_local! {
    /// `poll_output`'s buffer, shared by this thread's engines and kept between calls: zeroing a
    /// fresh one per record cost more than the record's header handling, and one per session
    /// would cost each session 2 KiB.
    static OUTPUT: core::cell::Cell<Vec<u8>> = const { core::cell::Cell::new(Vec::new()) };
}

impl DimplEngine {
    pub(crate) fn new(
        config: &Arc<Config>,
        role: Role,
        identity: Option<Vec<u8>>,
        mtu: usize,
    ) -> DimplEngine {
        let now = WallClock::now();
        let mut dtls = Dtls::new_12_psk(Arc::clone(config), now);
        if role == Role::Client {
            dtls.set_active(true);
        }
        DimplEngine {
            dtls,
            role,
            established: false,
            closed: false,
            identity,
            unknown_identity: false,
            finished_due: false,
            peer_ccs: false,
            deadline: None,
            last_tick: now,
            plaintext_seq: 0,
            mtu,
        }
    }

    /// Client: produces the `ClientHello`.
    pub(crate) fn start(&mut self, out: &mut Output) -> Result<(), DtlsError> {
        let result = self.tick();
        self.finish_call(result, out)
    }

    /// Server: the first datagram (the `ClientHello` with the table's cookie).
    pub(crate) fn feed(
        &mut self,
        datagram: &[u8],
        summary: Summary,
        out: &mut Output,
    ) -> Result<(), DtlsError> {
        self.handle_datagram(datagram, summary, out)
    }

    /// Advances dimpl's logical clock to now. Must precede every `handle_packet`: a dimpl server
    /// panics on a `ClientHello` before its first `handle_timeout` (it draws its random there).
    fn tick(&mut self) -> Result<(), dimpl::Error> {
        self.last_tick = WallClock::now();
        self.dtls.handle_timeout(self.last_tick)
    }

    /// [`Self::tick`] for a record of an established session: DTLS 1.2 starts no flight after
    /// the handshake, so dimpl's clock only matters when its own timer is due; skipping it
    /// spares dimpl a timer and progress scan per record.
    fn tick_established(&mut self) -> Result<(), dimpl::Error> {
        let now = WallClock::now();
        if self.deadline.is_some_and(|at| at > now) {
            self.last_tick = now;
            return Ok(());
        }
        self.tick()
    }

    /// Drains dimpl's output, then turns `result` into this layer's error.
    fn finish_call(
        &mut self,
        result: Result<(), dimpl::Error>,
        out: &mut Output,
    ) -> Result<(), DtlsError> {
        let drained = self.drain(out);
        match result {
            Err(e) => {
                let error = self.failure(&e);
                if let DtlsError::Handshake(failure) = &error {
                    self.alert_key_failure(failure, out);
                }
                Err(error)
            }
            Ok(()) => drained,
        }
    }

    fn drain(&mut self, out: &mut Output) -> Result<(), DtlsError> {
        let mut buf = OUTPUT.take();
        if buf.is_empty() {
            buf.resize(OUTPUT_BUF, 0);
        }
        let result = self.drain_into(&mut buf, out);
        OUTPUT.set(buf);
        result
    }

    fn drain_into(&mut self, buf: &mut Vec<u8>, out: &mut Output) -> Result<(), DtlsError> {
        for _ in 0..MAX_OUTPUTS {
            match self.dtls.poll_output(buf) {
                DimplOutput::Packet(p) => {
                    for (_, header, _) in Records::new(p).flatten() {
                        if header.epoch == 0 {
                            self.plaintext_seq = self.plaintext_seq.max(header.sequence + 1);
                            if header.content_type == record::CHANGE_CIPHER_SPEC {
                                self.finished_due = true;
                            }
                        }
                    }
                    out.transmits.push(Bytes::copy_from_slice(p));
                }
                DimplOutput::BufferTooSmall { needed } => {
                    if needed <= buf.len() || needed > 4 * MAX_PLAINTEXT {
                        return Err(DtlsError::Backend(format!(
                            "dimpl asked for an output buffer of {needed} bytes"
                        )));
                    }
                    buf.resize(needed, 0);
                }
                DimplOutput::Timeout(at) => {
                    self.deadline = Some(at);
                    return Ok(());
                }
                DimplOutput::Connected if !self.established => {
                    self.established = true;
                    out.events.push(EngineEvent::Connected(self.handshake()?));
                }
                DimplOutput::ApplicationData(data) => {
                    out.events
                        .push(EngineEvent::Data(Bytes::copy_from_slice(data)));
                }
                DimplOutput::CloseNotify if !self.closed => {
                    self.closed = true;
                    out.events.push(EngineEvent::PeerClosed);
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn handshake(&self) -> Result<Handshake, DtlsError> {
        let identity = self.identity.clone().ok_or_else(|| {
            DtlsError::Handshake(HandshakeFailure::Protocol {
                reason: "dimpl completed a PSK handshake without a PSK look-up".into(),
            })
        })?;
        Ok(Handshake {
            role: self.role,
            identity: PeerIdentity::Psk { identity },
            cipher_suite: CipherSuite::PskAes128Ccm8,
            resumed: false,
        })
    }

    fn failure(&mut self, error: &dimpl::Error) -> DtlsError {
        self.closed = true;
        let failure = match error {
            dimpl::Error::SecurityError(dimpl::SecurityError::FatalAlert { description }) => {
                HandshakeFailure::PeerAlert(Alert(*description))
            }
            dimpl::Error::SecurityError(
                dimpl::SecurityError::ClientFinishedVerificationFailed
                | dimpl::SecurityError::ServerFinishedVerificationFailed,
            ) => self.bad_key(),
            // A Finished that does not decrypt: the keys differ.
            dimpl::Error::CryptoError(_) if !self.established && self.peer_ccs => self.bad_key(),
            dimpl::Error::SecurityError(
                dimpl::SecurityError::NoMutuallyAcceptableCipherSuite
                | dimpl::SecurityError::NoCommonCipherSuite,
            ) => HandshakeFailure::NoSharedCipher,
            dimpl::Error::PskError(_) => HandshakeFailure::UnknownPskIdentity {
                identity: self.identity.clone().unwrap_or_default(),
            },
            dimpl::Error::Timeout(_) => HandshakeFailure::Timeout {
                after: Duration::ZERO,
            },
            dimpl::Error::ConnectionClosed => return DtlsError::Closed,
            other => HandshakeFailure::Protocol {
                reason: format!("dimpl: {other}"),
            },
        };
        if self.established {
            match failure {
                HandshakeFailure::PeerAlert(alert) => DtlsError::PeerAlert(alert),
                other => DtlsError::Protocol(other.to_string()),
            }
        } else {
            DtlsError::Handshake(failure)
        }
    }

    /// The Finished check failed: an unknown identity (dimpl went on with a random key) or a
    /// wrong key.
    fn bad_key(&self) -> HandshakeFailure {
        if self.unknown_identity {
            HandshakeFailure::UnknownPskIdentity {
                identity: self.identity.clone().unwrap_or_default(),
            }
        } else {
            HandshakeFailure::BadKey
        }
    }

    /// dimpl drops a record that does not decrypt without a word, so a Finished under the wrong
    /// key would leave the handshake waiting until it times out. When the peer's
    /// `ChangeCipherSpec` came and a datagram with an encrypted handshake record (its Finished)
    /// still leaves the handshake open, the keys differ. The server then ends the handshake at
    /// once with a plaintext alert (its own epoch is still 0), so the client learns it too:
    /// `unknown_psk_identity` when the store had no key, else `decrypt_error`.
    fn check_finished(&mut self, summary: Summary, out: &mut Output) -> Result<(), DtlsError> {
        if self.established || self.closed || !summary.encrypted_handshake || !self.peer_ccs {
            return Ok(());
        }
        self.closed = true;
        let failure = self.bad_key();
        self.alert_key_failure(&failure, out);
        Err(DtlsError::Handshake(failure))
    }

    /// A server tells the client why its Finished failed, in a plaintext alert (epoch 0 is all
    /// both sides share).
    fn alert_key_failure(&mut self, failure: &HandshakeFailure, out: &mut Output) {
        let alert = match failure {
            HandshakeFailure::UnknownPskIdentity { .. } => Alert::UNKNOWN_PSK_IDENTITY,
            HandshakeFailure::BadKey => Alert::DECRYPT_ERROR,
            _ => return,
        };
        if self.role == Role::Server {
            out.transmits
                .push(record::fatal_alert(self.plaintext_seq, alert.0));
            self.plaintext_seq += 1;
        }
    }
}

impl Engine for DimplEngine {
    fn handle_datagram(
        &mut self,
        datagram: &[u8],
        summary: Summary,
        out: &mut Output,
    ) -> Result<(), DtlsError> {
        if self.closed {
            return Err(DtlsError::Closed);
        }
        // A server's own CCS comes after the client's Finished, so the `ClientKeyExchange`
        // (the PSK look-up) is what makes the Finished due; it is in the datagram with the CCS.
        let due = self.finished_due || (self.role == Role::Server && self.identity.is_some());
        let carries_ccs = || {
            Records::new(datagram)
                .flatten()
                .any(|(_, h, _)| h.content_type == record::CHANGE_CIPHER_SPEC && h.epoch == 0)
        };
        let mut result = if self.established {
            self.tick_established()
        } else {
            self.tick()
        };
        if result.is_ok() {
            let _ = take_lookup();
            result = self.dtls.handle_packet(datagram);
            if let Some(lookup) = take_lookup() {
                if self.role == Role::Server && self.identity.is_none() {
                    self.unknown_identity = !lookup.known;
                    self.identity = Some(lookup.identity);
                }
            }
        }
        // Once established the flag is never read again: no scan of every application record.
        let due = due || (self.role == Role::Server && self.identity.is_some());
        if !self.established && due && carries_ccs() {
            self.peer_ccs = true;
        }
        self.finish_call(result, out)?;
        self.check_finished(summary, out)
    }

    fn handle_timeout(&mut self, out: &mut Output) -> Result<(), DtlsError> {
        if self.closed {
            return Ok(());
        }
        let result = self.tick();
        self.finish_call(result, out)
    }

    fn timeout(&self) -> Option<Duration> {
        if self.closed {
            return None;
        }
        self.deadline
            .map(|at| at.saturating_duration_since(self.last_tick))
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
        let mut result = self.tick_established();
        if result.is_ok() {
            result = self.dtls.send_application_data(plaintext).map(|_| ());
        }
        self.finish_call(result, out)
    }

    fn close(&mut self, out: &mut Output) {
        if !self.closed {
            let _ = self.tick();
            let _ = self.dtls.close();
            let _ = self.drain(out);
            self.closed = true;
        }
    }

    fn max_plaintext(&self) -> usize {
        self.mtu.saturating_sub(RECORD_OVERHEAD).min(MAX_PLAINTEXT)
    }

    fn resumption(&self) -> Option<Resumption> {
        // dimpl has no session resumption.
        None
    }
}
