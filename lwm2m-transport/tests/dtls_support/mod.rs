//! Shared helpers of the DTLS behaviour tests: an in-memory network between session tables,
//! a test PKI generated at run time (nothing private is committed), and a raw OpenSSL client for
//! cases our own client refuses to produce (a foreign cipher suite).
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use lwm2m_test_support::pki::{Ca, Issued, Subject};
use lwm2m_transport::dtls::*;
use lwm2m_transport::Instant;

thread_local! {
    static BACKEND: std::cell::Cell<Backend> = const { std::cell::Cell::new(Backend::OpenSsl) };
}

/// The backend `psk_client` and `psk_server_table` use on this thread.
pub fn backend() -> Backend {
    BACKEND.with(std::cell::Cell::get)
}

/// Every compiled-in backend able to do PSK.
pub fn backends() -> Vec<Backend> {
    let mut all = vec![Backend::OpenSsl];
    if cfg!(feature = "dtls-dimpl") {
        all.push(Backend::Dimpl);
    }
    all
}

/// Makes `psk_client` and `psk_server_table` use `b` on this thread.
pub fn set_backend(b: Backend) {
    BACKEND.with(|c| c.set(b));
}

/// Runs `f` once per backend, with `psk_client` and `psk_server_table` on that backend.
pub fn for_each_backend(mut f: impl FnMut(Backend)) {
    for b in backends() {
        BACKEND.with(|c| c.set(b));
        eprintln!("--- backend {b}");
        f(b);
    }
    BACKEND.with(|c| c.set(Backend::OpenSsl));
}

pub const IDENTITY: &[u8] = b"lwm2m-client-1";
pub const KEY: &[u8] = b"0123456789abcdef";

pub fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

pub fn server_addr() -> SocketAddr {
    addr("10.0.0.1:5684")
}

/// A PSK store with `IDENTITY` -> `KEY` and a few more.
pub fn psk_store() -> HashMap<Vec<u8>, Vec<u8>> {
    let mut map = HashMap::from([(IDENTITY.to_vec(), KEY.to_vec())]);
    for i in 0..8 {
        map.insert(
            format!("dev-{i}").into_bytes(),
            format!("key-of-dev-{i}!!").into_bytes(),
        );
    }
    map
}

pub fn psk_client(identity: &[u8], key: &[u8]) -> ClientConfig {
    let psk = Psk::new(identity, key).unwrap();
    ClientConfig::builder(ClientCredentials::Psk(psk))
        .backend(backend())
        .build()
        .unwrap()
}

pub fn psk_server_table(limits: Limits) -> SessionTable<SocketAddr> {
    let config = ServerConfig::builder()
        .psk_store(psk_store())
        .backend(backend())
        .build()
        .unwrap();
    SessionTable::new(Instant::ZERO, Some(config), limits).unwrap()
}

pub fn client_table() -> SessionTable<SocketAddr> {
    SessionTable::new(Instant::ZERO, None, Limits::default()).unwrap()
}

/// Moves every pending datagram between the server table and the clients (each client table
/// talks to `server_addr()` from its own address) until nothing moves. Returns the server's
/// `handle_datagram` errors.
pub fn pump(
    now: Instant,
    server: &mut SessionTable<SocketAddr>,
    clients: &mut [(SocketAddr, &mut SessionTable<SocketAddr>)],
) -> Vec<DtlsError> {
    let mut errors = Vec::new();
    for _ in 0..1_000 {
        let mut moved = false;
        for (from, client) in clients.iter_mut() {
            while let Some(t) = client.poll_transmit() {
                assert_eq!(t.destination, server_addr());
                if let Err(e) = server.handle_datagram(now, *from, &t.contents) {
                    errors.push(e);
                }
                moved = true;
            }
        }
        while let Some(t) = server.poll_transmit() {
            if let Some((_, client)) = clients.iter_mut().find(|(a, _)| *a == t.destination) {
                let _ = client.handle_datagram(now, server_addr(), &t.contents);
                moved = true;
            }
        }
        if !moved {
            return errors;
        }
    }
    panic!("the exchange did not settle");
}

pub fn events(table: &mut SessionTable<SocketAddr>) -> Vec<Event<SocketAddr>> {
    std::iter::from_fn(|| table.poll_event()).collect()
}

/// A test PKI: a CA, a server and two client certificates under it, and a stranger CA with a
/// client certificate of its own. All P-256, made fresh for each run.
pub struct Pki {
    pub ca: Certificate,
    pub server: CertifiedKey,
    pub client: CertifiedKey,
    pub stranger: CertifiedKey,
    pub stranger_ca: Certificate,
    pub pem: HashMap<&'static str, Vec<u8>>,
}

/// Every test name carries this organization (the subjects the handshakes report show it).
const ORGANIZATION: &str = "lwm2m-rs tests";

fn subject(common_name: &str) -> Subject<'_> {
    Subject::new(common_name).organization(ORGANIZATION)
}

/// `issued` in our form, its key as the RFC 5915 DER of the LwM2M 1.0 examples.
fn certified(issued: &Issued) -> CertifiedKey {
    CertifiedKey::new(
        vec![Certificate::from_der(&issued.der()).unwrap()],
        PrivateKey::from_der(&issued.key().sec1_der()).unwrap(),
    )
    .unwrap()
}

impl Pki {
    pub fn new() -> Pki {
        let ca = Ca::new(subject("lwm2m-rs test CA"));
        let server = ca.issue(subject("lwm2m-server").ip_address("127.0.0.1"));
        let client = ca.issue(subject("urn:dev:client-1"));
        let stranger_ca = Ca::new(subject("stranger CA"));
        let stranger = stranger_ca.issue(subject("urn:dev:stranger"));
        let pem = HashMap::from([
            ("ca.pem", ca.pem()),
            ("server.pem", server.pem()),
            ("server.key", server.key().pkcs8_pem()),
            ("client.pem", client.pem()),
            ("client.key", client.key().pkcs8_pem()),
            ("stranger.pem", stranger.pem()),
            ("stranger.key", stranger.key().pkcs8_pem()),
        ]);
        Pki {
            ca: Certificate::from_der(&ca.der()).unwrap(),
            server: certified(&server),
            client: certified(&client),
            stranger: certified(&stranger),
            stranger_ca: Certificate::from_der(&stranger_ca.der()).unwrap(),
            pem,
        }
    }

    /// A server accepting PSK (`psk_store()`) and certificates chaining to the CA.
    pub fn server_config(&self) -> ServerConfig {
        ServerConfig::builder()
            .psk_store(psk_store())
            .certificate(self.server.clone())
            .client_trust_anchors(vec![self.ca.clone()])
            .build()
            .unwrap()
    }

    /// Writes the PEM files into a fresh directory under the system temp dir.
    pub fn write(&self, tag: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("lwm2m-dtls-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (name, pem) in &self.pem {
            std::fs::write(dir.join(name), pem).unwrap();
        }
        dir
    }
}

/// A certificate client presenting `own`.
pub fn cert_client(own: &CertifiedKey, trust: ServerTrust) -> ClientConfig {
    ClientConfig::builder(ClientCredentials::Certificate {
        own: own.clone(),
        trust,
    })
    .build()
    .unwrap()
}

pub fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// A deterministic xorshift generator for garbage.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

/// A DTLS client made directly with the openssl crate, outside this crate's configuration (to
/// offer cipher suites our client never would).
pub struct RawClient {
    stream: openssl::ssl::SslStream<RawPipe>,
}

#[derive(Default, Debug)]
struct RawPipe {
    incoming: std::collections::VecDeque<Vec<u8>>,
    outgoing: Vec<Vec<u8>>,
}

impl std::io::Read for RawPipe {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let d = self
            .incoming
            .pop_front()
            .ok_or(std::io::ErrorKind::WouldBlock)?;
        let n = d.len().min(buf.len());
        buf[..n].copy_from_slice(&d[..n]);
        Ok(n)
    }
}

impl std::io::Write for RawPipe {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.outgoing.push(buf.to_vec());
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl RawClient {
    /// A PSK client offering only `ciphers` (OpenSSL names).
    pub fn psk(ciphers: &str, identity: &'static [u8], key: &'static [u8]) -> RawClient {
        use openssl::ssl::*;
        let mut b = SslContextBuilder::new(SslMethod::dtls_client()).unwrap();
        b.set_cipher_list(ciphers).unwrap();
        b.set_psk_client_callback(move |_, _, id_out, psk_out| {
            id_out[..identity.len()].copy_from_slice(identity);
            id_out[identity.len()] = 0;
            psk_out[..key.len()].copy_from_slice(key);
            Ok(key.len())
        });
        let ctx = b.build();
        let mut ssl = Ssl::new(&ctx).unwrap();
        ssl.set_connect_state();
        ssl.set_mtu(1200).unwrap();
        RawClient {
            stream: SslStream::new(ssl, RawPipe::default()).unwrap(),
        }
    }

    /// Feeds a datagram (if any), runs the handshake; returns the error OpenSSL reported, if any
    /// other than "wants more".
    pub fn step(&mut self, datagram: Option<&[u8]>) -> Option<openssl::ssl::Error> {
        if let Some(d) = datagram {
            self.stream.get_mut().incoming.push_back(d.to_vec());
        }
        match self.stream.do_handshake() {
            Ok(()) => None,
            Err(e) if e.code() == openssl::ssl::ErrorCode::WANT_READ => None,
            Err(e) => Some(e),
        }
    }

    pub fn take(&mut self) -> Vec<Vec<u8>> {
        std::mem::take(&mut self.stream.get_mut().outgoing)
    }
}
