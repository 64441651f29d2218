//! Building OpenSSL contexts from configurations, and the server and client backends on them.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use openssl::error::ErrorStack;
use openssl::pkey::PKey;
use openssl::ssl::{
    Ssl, SslContext, SslContextBuilder, SslMethod, SslOptions, SslSessionCacheMode, SslStream,
    SslVerifyMode, SslVersion,
};
use openssl::x509::X509;

use super::engine::{OpensslEngine, Pipe};
use super::ffi;
use super::rpk;
use crate::dtls::backend::{ClientBackend, Engine, Output, Resumption, ServerBackend};
use crate::dtls::credentials::{
    Certificate, CertifiedKey, ClientCredentials, PrivateKey, PskStore, RawPublicKeyStore, Role,
    ServerTrust,
};
use crate::dtls::error::{ConfigError, DtlsError};
use crate::dtls::record::{self, ClientHello, Summary};

const PSK_SUITE: &str = "PSK-AES128-CCM8";
const ECDHE_SUITE: &str = "ECDHE-ECDSA-AES128-CCM8";
/// OpenSSL 3.2 moved the `CCM_8` suites to security level 0 (the release that added RFC 7250).
const SECLEVEL_0_FROM: i64 = rpk::RPK_FROM;

/// What callbacks of one `Ssl` need to know or leave behind.
#[derive(Debug, Default)]
pub(super) struct Notes {
    /// The cookie the session table verified (server), which the cookie callbacks hand to and
    /// check for OpenSSL.
    pub(super) cookie: Vec<u8>,
    /// A PSK identity the store did not know (server).
    pub(super) unknown_identity: Option<Vec<u8>>,
    /// A raw public key the verify callback refused (it only gets a shared reference).
    pub(super) unknown_rpk: Mutex<Option<Vec<u8>>>,
}

/// The `Ssl` `ex_data` slot of [`Notes`].
pub(super) fn notes_index() -> Result<openssl::ex_data::Index<Ssl, Notes>, DtlsError> {
    static INDEX: OnceLock<Result<openssl::ex_data::Index<Ssl, Notes>, String>> = OnceLock::new();
    INDEX
        .get_or_init(|| Ssl::new_ex_index::<Notes>().map_err(|e| e.to_string()))
        .clone()
        .map_err(DtlsError::Backend)
}

/// The linked OpenSSL version as `major.minor.patch`.
pub(crate) fn library_version() -> String {
    rpk::version_text(openssl::version::number())
}

fn cipher_list(suites: &[&str]) -> String {
    let mut list = suites.join(":");
    if openssl::version::number() >= SECLEVEL_0_FROM {
        list.push_str(":@SECLEVEL=0");
    }
    list
}

// By value to be used as `map_err(backend)`.
#[allow(clippy::needless_pass_by_value)]
fn backend(e: ErrorStack) -> ConfigError {
    ConfigError::Backend(e.to_string())
}

/// DTLS 1.2 only, P-256 only, no renegotiation, a fixed MTU.
fn base(method: SslMethod, suites: &[&str]) -> Result<SslContextBuilder, ConfigError> {
    let mut b = SslContextBuilder::new(method).map_err(backend)?;
    b.set_min_proto_version(Some(SslVersion::DTLS1_2))
        .map_err(backend)?;
    b.set_max_proto_version(Some(SslVersion::DTLS1_2))
        .map_err(backend)?;
    b.set_options(
        SslOptions::NO_QUERY_MTU | SslOptions::NO_RENEGOTIATION | SslOptions::NO_COMPRESSION,
    );
    b.set_cipher_list(&cipher_list(suites)).map_err(backend)?;
    b.set_groups_list("P-256").map_err(backend)?;
    Ok(b)
}

fn x509(cert: &Certificate) -> Result<X509, ConfigError> {
    X509::from_der(cert.der()).map_err(|e| ConfigError::Certificate(e.to_string()))
}

fn use_certified_key(b: &mut SslContextBuilder, own: &CertifiedKey) -> Result<(), ConfigError> {
    let (leaf, rest) = own.chain.split_first().ok_or(ConfigError::EmptyChain)?;
    let leaf = x509(leaf)?;
    b.set_certificate(&leaf)
        .map_err(|e| ConfigError::Certificate(e.to_string()))?;
    for extra in rest {
        b.add_extra_chain_cert(x509(extra)?)
            .map_err(|e| ConfigError::Certificate(e.to_string()))?;
    }
    let key = PKey::private_key_from_der(own.key.pkcs8_der())
        .map_err(|e| ConfigError::PrivateKey(e.to_string()))?;
    b.set_private_key(&key)
        .map_err(|e| ConfigError::PrivateKey(e.to_string()))?;
    b.check_private_key()
        .map_err(|_| ConfigError::PrivateKey("does not match the certificate".into()))
}

fn add_anchors(b: &mut SslContextBuilder, anchors: &[Certificate]) -> Result<(), ConfigError> {
    for anchor in anchors {
        b.cert_store_mut()
            .add_cert(x509(anchor)?)
            .map_err(|e| ConfigError::Certificate(e.to_string()))?;
    }
    Ok(())
}

fn new_stream(ssl: Ssl) -> Result<SslStream<Pipe>, DtlsError> {
    SslStream::new(ssl, Pipe::default()).map_err(|e| DtlsError::Backend(e.to_string()))
}

#[allow(clippy::needless_pass_by_value)]
fn library(e: ErrorStack) -> DtlsError {
    DtlsError::Backend(e.to_string())
}

/// The server backend: one context serving PSK and certificate clients.
pub(crate) struct OpensslServer {
    ctx: SslContext,
    mtu: usize,
}

impl OpensslServer {
    pub(crate) fn new(
        psk_store: Option<Arc<dyn PskStore>>,
        certificate: Option<&CertifiedKey>,
        client_anchors: &[Certificate],
        raw_public_keys: Option<(&PrivateKey, Arc<dyn RawPublicKeyStore>)>,
        mtu: usize,
        session_cache_size: usize,
    ) -> Result<OpensslServer, ConfigError> {
        if raw_public_keys.is_some() {
            rpk::supported()?;
        }
        let index = notes_index().map_err(|e| ConfigError::Backend(e.to_string()))?;
        let mut suites = Vec::new();
        if psk_store.is_some() {
            suites.push(PSK_SUITE);
        }
        if certificate.is_some() || raw_public_keys.is_some() {
            suites.push(ECDHE_SUITE);
        }
        let mut b = base(SslMethod::dtls_server(), &suites)?;
        b.set_options(SslOptions::COOKIE_EXCHANGE | SslOptions::CIPHER_SERVER_PREFERENCE);
        // Resumption of certificate sessions needs a session id context.
        b.set_session_id_context(b"lwm2m-rs/dtls")
            .map_err(backend)?;
        // Sessions of ticket-less clients live on here after eviction, until resumed or expired.
        b.set_session_cache_mode(SslSessionCacheMode::SERVER);
        b.set_session_cache_size(i32::try_from(session_cache_size).unwrap_or(i32::MAX));
        b.set_cookie_generate_cb(move |ssl, buf| {
            let cookie = ssl.ex_data(index).map_or(&[][..], |n| &n.cookie[..]);
            let slot = buf.get_mut(..cookie.len()).filter(|_| !cookie.is_empty());
            let slot = slot.ok_or_else(ErrorStack::get)?;
            slot.copy_from_slice(cookie);
            Ok(cookie.len())
        });
        b.set_cookie_verify_cb(move |ssl, cookie| {
            ssl.ex_data(index).is_some_and(|n| {
                !n.cookie.is_empty()
                    && n.cookie.len() == cookie.len()
                    && openssl::memcmp::eq(&n.cookie, cookie)
            })
        });
        if let Some(store) = psk_store {
            b.set_psk_server_callback(move |ssl, identity, psk_out| {
                let identity = identity.unwrap_or_default();
                match store.psk(identity) {
                    Some(key) if !key.is_empty() && key.len() <= psk_out.len() => {
                        psk_out[..key.len()].copy_from_slice(&key);
                        Ok(key.len())
                    }
                    _ => {
                        if let Some(notes) = ssl.ex_data_mut(index) {
                            notes.unknown_identity = Some(identity.to_vec());
                        }
                        // Zero tells OpenSSL the identity is unknown: it sends unknown_psk_identity.
                        Ok(0)
                    }
                }
            });
        }
        if let Some(own) = certificate {
            use_certified_key(&mut b, own)?;
            add_anchors(&mut b, client_anchors)?;
            // OpenSSL requests no certificate on PSK suites, so PSK clients are unaffected.
            b.set_verify(SslVerifyMode::PEER | SslVerifyMode::FAIL_IF_NO_PEER_CERT);
        }
        if let Some((own, trusted)) = raw_public_keys {
            // Replaces the verify mode above with the same mode and a callback.
            rpk::server(&mut b, own, trusted, certificate)?;
        }
        Ok(OpensslServer {
            ctx: b.build(),
            mtu,
        })
    }
}

impl ServerBackend for OpensslServer {
    fn accept(
        &self,
        hello: &ClientHello<'_>,
        datagram: &[u8],
        summary: Summary,
        cookie: &[u8],
        out: &mut Output,
    ) -> Result<Box<dyn Engine>, DtlsError> {
        let mut ssl = Ssl::new(&self.ctx).map_err(library)?;
        ssl.set_mtu(self.mtu as u32).map_err(library)?;
        ssl.set_ex_data(
            notes_index()?,
            Notes {
                cookie: cookie.to_vec(),
                ..Notes::default()
            },
        );
        ssl.set_accept_state();
        let mut engine = OpensslEngine::new(new_stream(ssl)?, Role::Server, None, self.mtu);
        // OpenSSL has no entry point for a handshake whose cookie exchange happened elsewhere, so
        // it is shown the first ClientHello (the same without cookie) and its HelloVerifyRequest
        // is dropped: the client already has ours, with the same cookie. The first hello gets an
        // older record number so the replay window still admits the real one.
        let first = record::first_client_hello(hello, hello.header.sequence.saturating_sub(1));
        let first_summary = record::validate(&first).unwrap_or_default();
        engine.handle_datagram(&first, first_summary, &mut Output::default())?;
        engine.handle_datagram(datagram, summary, out)?;
        Ok(Box::new(engine))
    }
}

/// Distinguishes client contexts, so a session is only resumed through its own context.
static NEXT_CONTEXT: AtomicU64 = AtomicU64::new(1);

/// The client backend for one set of credentials.
pub(crate) struct OpensslClient {
    ctx: SslContext,
    id: u64,
    mtu: usize,
    sni: Option<String>,
    host_check: Option<String>,
    psk_identity: Option<Vec<u8>>,
}

impl OpensslClient {
    pub(crate) fn new(
        credentials: &ClientCredentials,
        server_name: Option<String>,
        mtu: usize,
    ) -> Result<OpensslClient, ConfigError> {
        let mut psk_identity = None;
        let mut host_check = None;
        let b = match credentials {
            ClientCredentials::Psk(psk) => {
                let mut b = base(SslMethod::dtls_client(), &[PSK_SUITE])?;
                let psk = psk.clone();
                psk_identity = Some(psk.identity().to_vec());
                b.set_psk_client_callback(move |_, _hint, identity_out, psk_out| {
                    let id = psk.identity();
                    let key = psk.key();
                    let (Some(id_slot), Some(key_slot)) = (
                        identity_out.get_mut(..=id.len()),
                        psk_out.get_mut(..key.len()),
                    ) else {
                        return Err(ErrorStack::get());
                    };
                    id_slot[..id.len()].copy_from_slice(id);
                    id_slot[id.len()] = 0;
                    key_slot.copy_from_slice(key);
                    Ok(key.len())
                });
                b
            }
            ClientCredentials::Certificate { own, trust } => {
                let mut b = base(SslMethod::dtls_client(), &[ECDHE_SUITE])?;
                use_certified_key(&mut b, own)?;
                match trust {
                    ServerTrust::Anchors { anchors, host } => {
                        add_anchors(&mut b, anchors)?;
                        b.set_verify(SslVerifyMode::PEER);
                        host_check.clone_from(host);
                    }
                    ServerTrust::Pinned(pinned) => {
                        let pinned = pinned.der().to_vec();
                        b.set_verify_callback(SslVerifyMode::PEER, move |_, store| {
                            // Chain errors do not matter: only the leaf must be the pinned one.
                            store.error_depth() > 0
                                || store
                                    .current_cert()
                                    .and_then(|c| c.to_der().ok())
                                    .is_some_and(|der| der == pinned)
                        });
                    }
                }
                b
            }
            ClientCredentials::RawPublicKey {
                key,
                server_public_key,
            } => {
                rpk::supported()?;
                let mut b = base(SslMethod::dtls_client(), &[ECDHE_SUITE])?;
                rpk::client(&mut b, key, server_public_key)?;
                b
            }
        };
        let sni = server_name.filter(|n| n.parse::<IpAddr>().is_err());
        Ok(OpensslClient {
            ctx: b.build(),
            id: NEXT_CONTEXT.fetch_add(1, Ordering::Relaxed),
            mtu,
            sni,
            host_check,
            psk_identity,
        })
    }
}

impl ClientBackend for OpensslClient {
    fn connect(
        &self,
        resume: Option<&Resumption>,
        out: &mut Output,
    ) -> Result<Box<dyn Engine>, DtlsError> {
        let mut ssl = Ssl::new(&self.ctx).map_err(library)?;
        ssl.set_mtu(self.mtu as u32).map_err(library)?;
        ssl.set_ex_data(notes_index()?, Notes::default());
        if let Some(name) = &self.sni {
            ssl.set_hostname(name).map_err(library)?;
        }
        if let Some(host) = &self.host_check {
            let param = ssl.param_mut();
            match host.parse::<IpAddr>() {
                Ok(ip) => param.set_ip(ip),
                Err(_) => param.set_host(host),
            }
            .map_err(|e| DtlsError::Config(ConfigError::ServerName(format!("{host}: {e}"))))?;
        }
        if let Some(Resumption::Openssl { session, context }) = resume {
            if *context == self.id {
                ffi::set_session(&mut ssl, session).map_err(library)?;
            }
        }
        ssl.set_connect_state();
        let mut engine = OpensslEngine::new(
            new_stream(ssl)?,
            Role::Client,
            self.psk_identity.clone(),
            self.mtu,
        )
        .with_context(self.id);
        engine.start(out)?;
        Ok(Box::new(engine))
    }
}
