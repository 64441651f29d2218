//! Helpers of the HTTPS firmware tests: a test CA issuing server certificates (the workspace's
//! `lwm2m-test-support` PKI, made at run time) and loopback HTTP and HTTPS (rustls) servers of
//! a firmware image on `std::net::TcpListener` threads.
#![allow(dead_code, clippy::missing_panics_doc)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use lwm2m_test_support::pki::{self, KeyPair, Subject};
use openssl::pkey::{PKey, Private};
use openssl::x509::X509;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A fresh EC P-256 key.
pub fn p256() -> PKey<Private> {
    KeyPair::generate().pkey().clone()
}

/// A test CA: its certificate and key.
pub struct Ca {
    pub cert: X509,
    pub key: PKey<Private>,
    pki: pki::Ca,
}

impl Ca {
    pub fn new(cn: &str) -> Ca {
        let pki = pki::Ca::new(cn);
        let own = pki.certificate();
        Ca {
            cert: own.x509().clone(),
            key: own.key().pkey().clone(),
            pki,
        }
    }

    /// A server certificate named `dns[0]` (its CN) for the one IP address in `ips`, with its
    /// PKCS#8 key. The test PKI's `subjectAltName` holds that address and DNS `localhost`, so
    /// a certificate for another host is one for another address.
    pub fn issue(&self, dns: &[&str], ips: &[&str]) -> (Vec<u8>, Vec<u8>) {
        let ([ip], [] | [_]) = (ips, dns) else {
            panic!("the test PKI names one IP address and at most one DNS name: {dns:?} {ips:?}")
        };
        let issued = self
            .pki
            .issue(Subject::new(dns.first().copied().unwrap_or("server")).ip_address(ip));
        (issued.der(), issued.key().pkcs8_der())
    }

    pub fn pem(&self) -> Vec<u8> {
        self.pki.pem()
    }
}

/// Reads an HTTP/1.1 request head (bounded), and returns its request line.
fn read_head(stream: &mut impl Read) -> Option<String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > 8192 || stream.read(&mut byte).ok()? == 0 {
            return None;
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).ok()?;
    head.lines().next().map(str::to_owned)
}

/// Answers a GET of `/fw/image.bin` with `body`; a handshake or request that fails ends the
/// connection quietly (the client refusing the certificate is what some tests expect).
fn answer(stream: &mut (impl Read + Write), body: &[u8]) {
    let Some(request_line) = read_head(stream) else {
        return;
    };
    assert!(
        request_line.starts_with("GET /fw/image.bin "),
        "{request_line}"
    );
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body);
    let _ = stream.flush();
}

fn listener() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    (listener, addr)
}

fn accept(listener: &TcpListener) -> Option<TcpStream> {
    let (stream, _) = listener.accept().ok()?;
    // A client that gave up must not hold the thread forever.
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .ok()?;
    Some(stream)
}

/// An HTTPS server presenting `cert` (DER, with its PKCS#8 `key`) for `connections`
/// connections, each answered with `body`; returns its address.
pub fn https_server(cert: Vec<u8>, key: Vec<u8>, body: Vec<u8>, connections: usize) -> SocketAddr {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(cert)],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key)),
        )
        .unwrap();
    let config = Arc::new(config);
    let (listener, addr) = listener();
    thread::spawn(move || {
        for _ in 0..connections {
            let Some(tcp) = accept(&listener) else {
                continue;
            };
            let connection = rustls::ServerConnection::new(Arc::clone(&config)).unwrap();
            let mut tls = rustls::StreamOwned::new(connection, tcp);
            answer(&mut tls, &body);
            tls.conn.send_close_notify();
            let _ = tls.flush();
        }
    });
    addr
}

/// A plain HTTP server for one connection.
pub fn http_server(body: Vec<u8>) -> SocketAddr {
    let (listener, addr) = listener();
    thread::spawn(move || {
        if let Some(mut tcp) = accept(&listener) {
            answer(&mut tcp, &body);
        }
    });
    addr
}
