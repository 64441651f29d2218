//! The dimpl backend: pure-Rust DTLS 1.2 with `TLS_PSK_WITH_AES_128_CCM_8` only, one
//! [`dimpl::Dtls`] per session over the session table's datagrams.
//!
//! The session table already did the cookie exchange statelessly. dimpl has no entry point for a
//! handshake whose cookie exchange happened elsewhere, and without its own cookie exchange it
//! numbers its messages as if there had been none (its `ServerHello` would carry `message_seq` 0,
//! which the client ignores as a stale message). So a new server session is shown the first
//! `ClientHello` (the same without cookie), answers with a `HelloVerifyRequest` that is dropped,
//! and then gets the real one. dimpl checks its cookie with the configuration's HMAC provider,
//! over the `client_random`; this backend's provider ([`TableCookies`]) answers that one HMAC, for
//! the `client_random` of the `ClientHello` being admitted and only while it is, with the cookie
//! the table already verified, and passes every other HMAC (the PRF) to `RustCrypto`. dimpl keeps a
//! logical clock that it panics without (a server that handles a packet before its first
//! `handle_timeout`), so every call into it is preceded by `handle_timeout(now)`: see
//! [`engine::DimplEngine`]. Its retransmission timer follows the wall clock, like OpenSSL's.

mod engine;

use std::cell::{Cell, RefCell};
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, OnceLock};

use dimpl::crypto::{CryptoProvider, Dtls12CipherSuite, HmacProvider};
use dimpl::{Config, CryptoError, HashAlgorithm, PskResolver};

use crate::dtls::backend::{ClientBackend, Engine, Output, Resumption, ServerBackend};
use crate::dtls::credentials::{Psk, PskStore, Role};
use crate::dtls::error::{ConfigError, DtlsError};
use crate::dtls::record::{self, ClientHello, Summary};

use engine::DimplEngine;

/// What the last PSK look-up on this thread asked and found. dimpl calls the resolver from
/// inside `handle_packet` on the calling thread and does not report the client's identity, so
/// the engine clears this before each call and reads it after: the identity comes from dimpl's
/// own parse of the `ClientKeyExchange`, not from a second parse that could disagree with it.
#[derive(Debug, Clone)]
pub(super) struct Lookup {
    pub(super) identity: Vec<u8>,
    pub(super) known: bool,
}

thread_local! {
    static LAST_LOOKUP: RefCell<Option<Lookup>> = const { RefCell::new(None) };
    /// `(client_random, cookie)` of the `ClientHello` being admitted on this thread.
    static ADMITTED: Cell<Option<([u8; 32], [u8; 32])>> = const { Cell::new(None) };
}

/// `RustCrypto`'s HMAC, except for the cookie of the `ClientHello` being admitted (see the module
/// documentation).
#[derive(Debug)]
struct TableCookies;

static TABLE_COOKIES: TableCookies = TableCookies;

fn rust_crypto() -> &'static CryptoProvider {
    static PROVIDER: OnceLock<CryptoProvider> = OnceLock::new();
    PROVIDER.get_or_init(dimpl::crypto::rust_crypto::default_provider)
}

/// `RustCrypto` cut down to `TLS_PSK_WITH_AES_128_CCM_8`: no ECDHE groups, no DTLS 1.3 suites.
/// dimpl validates a provider in every `Config::build` by exercising each of its suites and
/// key-exchange groups (ECDH key generation, signature checks): 6.5 ms with the full provider,
/// which made every client configuration (and a bench that built one per handshake) slow. This
/// one validates in microseconds and offers the peer nothing more than it could negotiate anyway.
fn psk_only() -> &'static CryptoProvider {
    static PROVIDER: OnceLock<CryptoProvider> = OnceLock::new();
    PROVIDER.get_or_init(|| {
        let full = rust_crypto();
        let suites: Vec<_> = full
            .cipher_suites
            .iter()
            .copied()
            .filter(|cs| cs.suite() == Dtls12CipherSuite::PSK_AES128_CCM_8)
            .collect();
        CryptoProvider {
            // Built once per process: a slice of one reference, kept for its life.
            cipher_suites: Vec::leak(suites),
            kx_groups: &[],
            dtls13_cipher_suites: full.dtls13_cipher_suites.get(..1).unwrap_or_default(),
            ..full.clone()
        }
    })
}

impl HmacProvider for TableCookies {
    fn hmac(
        &self,
        hash: HashAlgorithm,
        key: &[u8],
        data: &[u8],
        out: &mut [u8],
    ) -> Result<usize, CryptoError> {
        if hash == HashAlgorithm::SHA256 {
            if let (Some((random, cookie)), Some(slot)) = (ADMITTED.get(), out.get_mut(..32)) {
                if data == random {
                    slot.copy_from_slice(&cookie);
                    return Ok(32);
                }
            }
        }
        rust_crypto().hmac_provider.hmac(hash, key, data, out)
    }
}

/// Clears [`ADMITTED`] when dropped, so no later HMAC on this thread sees it.
struct Admitting;

impl Admitting {
    fn start(random: &[u8; 32], cookie: &[u8]) -> Admitting {
        let mut c = [0; 32];
        if let Some(src) = cookie.get(..32) {
            c.copy_from_slice(src);
        }
        ADMITTED.set(Some((*random, c)));
        Admitting
    }
}

impl Drop for Admitting {
    fn drop(&mut self) {
        ADMITTED.set(None);
    }
}

pub(super) fn take_lookup() -> Option<Lookup> {
    LAST_LOOKUP.with(RefCell::take)
}

/// The server's store behind dimpl's resolver trait. dimpl asks its resolvers to be unwind-safe;
/// nothing here catches unwinds, so asserting it changes nothing.
struct StoreResolver(AssertUnwindSafe<Arc<dyn PskStore>>);

impl PskResolver for StoreResolver {
    fn resolve(&self, identity: &[u8]) -> Option<Vec<u8>> {
        let key = self.0.psk(identity).filter(|k| !k.is_empty());
        LAST_LOOKUP.with(|l| {
            *l.borrow_mut() = Some(Lookup {
                identity: identity.to_vec(),
                known: key.is_some(),
            });
        });
        key
    }
}

/// A client's own key (it is only ever asked for its own identity).
struct OwnKey(Vec<u8>);

impl PskResolver for OwnKey {
    fn resolve(&self, _identity: &[u8]) -> Option<Vec<u8>> {
        Some(self.0.clone())
    }
}

fn config_error(e: &dimpl::Error) -> ConfigError {
    ConfigError::Backend(format!("dimpl: {e}"))
}

/// Settings both roles share: DTLS 1.2 PSK `CCM_8` only, the MTU.
fn builder(mtu: usize) -> dimpl::ConfigBuilder {
    Config::builder()
        .mtu(mtu)
        .use_server_cookie(false)
        .dtls12_cipher_suites(&[Dtls12CipherSuite::PSK_AES128_CCM_8])
        .dtls13_cipher_suites(&[])
}

/// The server backend: one dimpl configuration shared by all sessions.
pub(crate) struct DimplServer {
    config: Arc<Config>,
    mtu: usize,
}

impl DimplServer {
    pub(crate) fn new(store: Arc<dyn PskStore>, mtu: usize) -> Result<DimplServer, ConfigError> {
        let resolver = Arc::new(StoreResolver(AssertUnwindSafe(store)));
        let provider = CryptoProvider {
            hmac_provider: &TABLE_COOKIES,
            ..psk_only().clone()
        };
        let config = builder(mtu)
            .use_server_cookie(true)
            .with_crypto_provider(provider)
            .with_psk_server(None, resolver)
            .build()
            .map_err(|e| config_error(&e))?;
        Ok(DimplServer {
            config: Arc::new(config),
            mtu,
        })
    }
}

impl ServerBackend for DimplServer {
    fn accept(
        &self,
        hello: &ClientHello<'_>,
        datagram: &[u8],
        summary: Summary,
        cookie: &[u8],
        out: &mut Output,
    ) -> Result<Box<dyn Engine>, DtlsError> {
        let mut engine = DimplEngine::new(&self.config, Role::Server, None, self.mtu);
        let _admitting = Admitting::start(hello.random, cookie);
        // The first hello gets an older record number so the replay window admits the real one.
        let first = record::first_client_hello(hello, hello.header.sequence.saturating_sub(1));
        let first_summary = record::validate(&first).unwrap_or_default();
        engine.feed(&first, first_summary, &mut Output::default())?;
        engine.feed(datagram, summary, out)?;
        Ok(Box::new(engine))
    }
}

/// The client backend for one PSK.
pub(crate) struct DimplClient {
    config: Arc<Config>,
    identity: Vec<u8>,
    mtu: usize,
}

impl DimplClient {
    pub(crate) fn new(psk: &Psk, mtu: usize) -> Result<DimplClient, ConfigError> {
        let config = builder(mtu)
            .with_crypto_provider(psk_only().clone())
            .with_psk_client(
                psk.identity().to_vec(),
                Arc::new(OwnKey(psk.key().to_vec())),
            )
            .build()
            .map_err(|e| config_error(&e))?;
        Ok(DimplClient {
            config: Arc::new(config),
            identity: psk.identity().to_vec(),
            mtu,
        })
    }
}

impl ClientBackend for DimplClient {
    fn connect(
        &self,
        _resume: Option<&Resumption>,
        out: &mut Output,
    ) -> Result<Box<dyn Engine>, DtlsError> {
        let mut engine = DimplEngine::new(
            &self.config,
            Role::Client,
            Some(self.identity.clone()),
            self.mtu,
        );
        engine.start(out)?;
        Ok(Box::new(engine))
    }
}
