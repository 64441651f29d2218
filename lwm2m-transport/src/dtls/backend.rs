//! The seam between the session layer and a DTLS library. [`Engine`] is one DTLS connection over
//! in-memory datagrams; [`ServerBackend`] and [`ClientBackend`] create engines from a built
//! configuration. Two backends implement them: OpenSSL (`super::openssl`) and dimpl
//! (`super::dimpl`); nothing above this module names a library's types.

use core::time::Duration;

use bytes::Bytes;

use super::credentials::Handshake;
use super::error::DtlsError;
use super::record::{ClientHello, Summary};

/// What an engine produced while handling an input.
#[derive(Debug, Default)]
pub(crate) struct Output {
    /// Datagrams for the peer, in order.
    pub(crate) transmits: Vec<Bytes>,
    /// What happened, in order.
    pub(crate) events: Vec<EngineEvent>,
}

/// Something an engine reports.
#[derive(Debug)]
pub(crate) enum EngineEvent {
    /// The handshake completed.
    Connected(Handshake),
    /// A decrypted application datagram.
    Data(Bytes),
    /// The peer sent `close_notify`.
    PeerClosed,
}

/// State that lets a client resume its session with a server (abbreviated handshake).
#[derive(Clone)]
pub(crate) enum Resumption {
    /// An OpenSSL session and the id of the client context that produced it (a session may only
    /// be resumed through the context it came from).
    #[cfg(feature = "dtls-openssl")]
    Openssl {
        session: openssl::ssl::SslSession,
        context: u64,
    },
}

impl core::fmt::Debug for Resumption {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Resumption(..)")
    }
}

/// One DTLS connection. Every method leaves the datagrams to send in `out`, also when it fails
/// (a failing handshake usually still has an alert to send).
pub(crate) trait Engine: Send {
    /// Handles one datagram from the peer (already validated as records, see `summary`).
    fn handle_datagram(
        &mut self,
        datagram: &[u8],
        summary: Summary,
        out: &mut Output,
    ) -> Result<(), DtlsError>;

    /// Lets the library retransmit if its retransmission timer expired.
    fn handle_timeout(&mut self, out: &mut Output) -> Result<(), DtlsError>;

    /// Time until the library wants [`Engine::handle_timeout`], if a timer runs.
    fn timeout(&self) -> Option<Duration>;

    /// Encrypts one application datagram (the handshake must be complete).
    fn send(&mut self, plaintext: &[u8], out: &mut Output) -> Result<(), DtlsError>;

    /// Sends `close_notify`.
    fn close(&mut self, out: &mut Output);

    /// The largest plaintext one datagram can carry.
    fn max_plaintext(&self) -> usize;

    /// Prepares an established session to be dropped silently, keeping whatever lets its peer
    /// resume it (OpenSSL's session cache entry).
    fn evict(&mut self) {}

    /// State to resume this session later (client side, after the handshake).
    fn resumption(&self) -> Option<Resumption>;
}

/// Creates server engines for `ClientHellos` whose cookie the session table already verified.
pub(crate) trait ServerBackend: Send + Sync {
    /// A server engine that has processed `hello` (carried by `datagram`, with the verified
    /// `cookie`) and put its first flight in `out`.
    fn accept(
        &self,
        hello: &ClientHello<'_>,
        datagram: &[u8],
        summary: Summary,
        cookie: &[u8],
        out: &mut Output,
    ) -> Result<Box<dyn Engine>, DtlsError>;
}

/// Creates client engines for one set of client credentials.
pub(crate) trait ClientBackend: Send + Sync {
    /// A client engine that has put its `ClientHello` in `out`.
    fn connect(
        &self,
        resume: Option<&Resumption>,
        out: &mut Output,
    ) -> Result<Box<dyn Engine>, DtlsError>;
}
