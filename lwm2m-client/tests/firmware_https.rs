//! Firmware Update pull over HTTPS (feature `https`) from a server whose certificate an
//! operator CA issued: a test CA and server certificates (for 127.0.0.1 / localhost, and for
//! another host) are made with OpenSSL at run time, and a rustls server on a loopback
//! `TcpListener` thread serves the image. With the CA given through `HttpsTrust` the image
//! arrives byte-exact and Update installs it; without it, or with a certificate for another
//! host, the TLS handshake fails: Update Result 4, and the client goes on working.
#![cfg(feature = "https")]

mod firmware_support;
mod udp;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use firmware_support::{image, Device5};
use lwm2m_client::firmware::http::{download_with, HttpsTrust, TrustError};
use lwm2m_client::firmware::{resolve_udp, FirmwareError, FirmwareState, MemorySink, UpdateResult};
use lwm2m_client::runtime::ClientTask;
use lwm2m_client::{ClientBuilder, DeviceObject, FirmwareObject, ServerAccount};
use lwm2m_codec::coap::Code;
use lwm2m_objects::Device;
use openssl::asn1::{Asn1Integer, Asn1Time};
use openssl::bn::BigNum;
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::x509::extension::{
    BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName,
};
use openssl::x509::{X509Name, X509};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use udp::ScriptedServer;

fn p256() -> PKey<Private> {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
    PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap()
}

fn name(cn: &str) -> X509Name {
    let mut name = X509Name::builder().unwrap();
    name.append_entry_by_nid(Nid::COMMONNAME, cn).unwrap();
    name.build()
}

fn serial(n: u32) -> Asn1Integer {
    BigNum::from_u32(n).unwrap().to_asn1_integer().unwrap()
}

/// A test CA: its certificate and key.
struct Ca {
    cert: X509,
    key: PKey<Private>,
}

impl Ca {
    fn new(cn: &str) -> Ca {
        let key = p256();
        let mut b = X509::builder().unwrap();
        b.set_version(2).unwrap();
        b.set_serial_number(&serial(1)).unwrap();
        b.set_subject_name(&name(cn)).unwrap();
        b.set_issuer_name(&name(cn)).unwrap();
        b.set_pubkey(&key).unwrap();
        b.set_not_before(&Asn1Time::days_from_now(0).unwrap())
            .unwrap();
        b.set_not_after(&Asn1Time::days_from_now(2).unwrap())
            .unwrap();
        b.append_extension(BasicConstraints::new().critical().ca().build().unwrap())
            .unwrap();
        b.append_extension(
            KeyUsage::new()
                .critical()
                .key_cert_sign()
                .crl_sign()
                .build()
                .unwrap(),
        )
        .unwrap();
        b.sign(&key, MessageDigest::sha256()).unwrap();
        Ca {
            cert: b.build(),
            key,
        }
    }

    /// A server certificate for `dns` names and `ips`, with its PKCS#8 key.
    fn issue(&self, dns: &[&str], ips: &[&str]) -> (Vec<u8>, Vec<u8>) {
        let key = p256();
        let mut b = X509::builder().unwrap();
        b.set_version(2).unwrap();
        b.set_serial_number(&serial(2)).unwrap();
        b.set_subject_name(&name(dns.first().copied().unwrap_or("server")))
            .unwrap();
        b.set_issuer_name(self.cert.subject_name()).unwrap();
        b.set_pubkey(&key).unwrap();
        b.set_not_before(&Asn1Time::days_from_now(0).unwrap())
            .unwrap();
        b.set_not_after(&Asn1Time::days_from_now(1).unwrap())
            .unwrap();
        let mut san = SubjectAlternativeName::new();
        for d in dns {
            san.dns(d);
        }
        for ip in ips {
            san.ip(ip);
        }
        let context = b.x509v3_context(Some(&self.cert), None);
        let san = san.build(&context).unwrap();
        b.append_extension(san).unwrap();
        b.append_extension(ExtendedKeyUsage::new().server_auth().build().unwrap())
            .unwrap();
        b.sign(&self.key, MessageDigest::sha256()).unwrap();
        (
            b.build().to_der().unwrap(),
            key.private_key_to_pkcs8().unwrap(),
        )
    }

    fn pem(&self) -> Vec<u8> {
        self.cert.to_pem().unwrap()
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
fn https_server(cert: Vec<u8>, key: Vec<u8>, body: Vec<u8>, connections: usize) -> SocketAddr {
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
fn http_server(body: Vec<u8>) -> SocketAddr {
    let (listener, addr) = listener();
    thread::spawn(move || {
        if let Some(mut tcp) = accept(&listener) {
            answer(&mut tcp, &body);
        }
    });
    addr
}

/// A registered client (runtime on loopback) with a Firmware Update object, whose task
/// trusts `trust` for HTTPS downloads.
async fn device(trust: HttpsTrust) -> Device5 {
    let mut server = ScriptedServer::start().await;
    let client = ClientBuilder::new("fw-https-node")
        .server(ServerAccount::new(101, server.addr()).lifetime(300))
        .object(DeviceObject::new(Device {
            supported_binding_and_modes: "U".into(),
            ..Device::default()
        }))
        .object(FirmwareObject::new(MemorySink::new()))
        .firmware_resolver(resolve_udp)
        .build()
        .unwrap();
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    let (events_tx, events) = mpsc::channel(64);
    let (task, handle) = ClientTask::new(client, socket);
    drop(tokio::spawn(
        task.https_trust(trust).events(0, events_tx).run(),
    ));
    let register = server.next_request(10).await;
    assert!(register.is_register(), "{register:?}");
    Device5 {
        server,
        handle,
        addr,
        events,
    }
}

/// Downloads `uri` on a blocking thread with `trust`, returning the body or the error.
async fn fetch(trust: HttpsTrust, uri: String) -> Result<Vec<u8>, FirmwareError> {
    tokio::task::spawn_blocking(move || {
        let mut got = Vec::new();
        download_with(&trust, &uri, |data| {
            got.extend_from_slice(data);
            Ok(())
        })
        .map(|()| got)
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn an_https_pull_with_the_operator_ca_streams_the_image_then_update_installs_it() {
    let ca = Ca::new("operator CA");
    let (cert, key) = ca.issue(&["localhost"], &["127.0.0.1"]);
    let data = image(150 * 1024);
    let addr = https_server(cert, key, data.clone(), 1);
    // Besides the Mozilla roots, as the binary's `--firmware-ca` does.
    let trust = HttpsTrust::default().with_ca_pem(&ca.pem()).unwrap();
    assert_eq!((trust.ca_count(), trust.public_roots()), (1, true));
    let device = device(trust).await;
    let uri = format!("https://{addr}/fw/image.bin");
    assert_eq!(device.write_uri(&uri).await, Code::CHANGED);
    assert_eq!(
        device.settle(30).await,
        (FirmwareState::Downloaded, UpdateResult::Initial)
    );
    assert!(
        device.sink_data().await == data,
        "the sink got exactly the image"
    );
    assert_eq!(device.execute_update().await, Code::CHANGED);
    assert_eq!(
        device.settle(10).await,
        (FirmwareState::Idle, UpdateResult::Success)
    );
    assert_eq!(device.applied().await, [data]);
}

#[tokio::test]
async fn only_the_operator_ca_given_as_der_is_enough() {
    let ca = Ca::new("operator CA");
    let (cert, key) = ca.issue(&["localhost"], &["127.0.0.1"]);
    let data = image(40 * 1024);
    let addr = https_server(cert, key, data.clone(), 1);
    let trust = HttpsTrust::default()
        .with_ca_der(ca.cert.to_der().unwrap())
        .unwrap()
        .without_public_roots();
    assert_eq!((trust.ca_count(), trust.public_roots()), (1, false));
    let got = fetch(trust, format!("https://{addr}/fw/image.bin")).await;
    assert!(got.unwrap() == data, "the body arrives byte-exact");
}

#[tokio::test]
async fn without_the_operator_ca_the_pull_is_result_4_and_the_client_goes_on() {
    let ca = Ca::new("operator CA");
    let (cert, key) = ca.issue(&["localhost"], &["127.0.0.1"]);
    let addr = https_server(cert, key, image(10 * 1024), 2);
    let uri = format!("https://{addr}/fw/image.bin");

    // The download itself: the TLS failure is a lost connection naming the certificate.
    let error = fetch(HttpsTrust::default(), uri.clone()).await.unwrap_err();
    let FirmwareError::ConnectionLost(text) = &error else {
        panic!("expected ConnectionLost, got {error:?}")
    };
    assert!(text.contains("UnknownIssuer"), "{text}");
    assert_eq!(error.result(), UpdateResult::ConnectionLost);

    // The same through the runtime: result 4, nothing kept.
    let device = device(HttpsTrust::default()).await;
    assert_eq!(device.write_uri(&uri).await, Code::CHANGED);
    assert_eq!(
        device.settle(30).await,
        (FirmwareState::Idle, UpdateResult::ConnectionLost)
    );
    assert!(device.sink_data().await.is_empty(), "the sink was aborted");

    // The client still answers and still downloads (plain HTTP).
    let data = image(20 * 1024);
    let plain = http_server(data.clone());
    assert_eq!(
        device
            .write_uri(&format!("http://{plain}/fw/image.bin"))
            .await,
        Code::CHANGED
    );
    assert_eq!(
        device.settle(30).await,
        (FirmwareState::Downloaded, UpdateResult::Initial)
    );
    assert!(device.sink_data().await == data);
}

#[tokio::test]
async fn a_certificate_for_another_host_is_result_4() {
    let ca = Ca::new("operator CA");
    let (cert, key) = ca.issue(&["firmware.example.net"], &["192.0.2.7"]);
    let addr = https_server(cert, key, image(10 * 1024), 2);
    let uri = format!("https://{addr}/fw/image.bin");
    let trust = HttpsTrust::default().with_ca_pem(&ca.pem()).unwrap();

    let error = fetch(trust.clone(), uri.clone()).await.unwrap_err();
    let FirmwareError::ConnectionLost(text) = &error else {
        panic!("expected ConnectionLost, got {error:?}")
    };
    assert!(text.contains("not valid for name"), "{text}");

    let device = device(trust).await;
    assert_eq!(device.write_uri(&uri).await, Code::CHANGED);
    assert_eq!(
        device.settle(30).await,
        (FirmwareState::Idle, UpdateResult::ConnectionLost)
    );
    assert!(device.sink_data().await.is_empty(), "the sink was aborted");
}

#[test]
fn ca_files_are_checked_when_given() {
    let (a, b) = (Ca::new("CA a"), Ca::new("CA b"));
    // A bundle of two CAs, with a key block between them that is skipped.
    let mut bundle = a.pem();
    bundle.extend_from_slice(&a.key.private_key_to_pem_pkcs8().unwrap());
    bundle.extend_from_slice(&b.pem());
    let trust = HttpsTrust::default().with_ca_pem(&bundle).unwrap();
    assert_eq!(trust.ca_count(), 2);
    // Cloning shares them; adding to a clone leaves the original alone.
    let more = trust.clone().with_ca_der(a.cert.to_der().unwrap()).unwrap();
    assert_eq!((trust.ca_count(), more.ca_count()), (2, 3));

    assert_eq!(
        HttpsTrust::default()
            .with_ca_pem(&a.key.private_key_to_pem_pkcs8().unwrap())
            .unwrap_err(),
        TrustError::NoCertificate
    );
    assert_eq!(
        HttpsTrust::default().with_ca_pem(b"").unwrap_err(),
        TrustError::NoCertificate
    );
    assert!(matches!(
        HttpsTrust::default().with_ca_der(b"not a certificate".to_vec()),
        Err(TrustError::Certificate { index: 0, .. })
    ));
    // A CERTIFICATE block whose content is not X.509: the second one of the file.
    let mut broken = a.pem();
    broken.extend_from_slice(b"-----BEGIN CERTIFICATE-----\nAAECAw==\n-----END CERTIFICATE-----\n");
    assert!(matches!(
        HttpsTrust::default().with_ca_pem(&broken),
        Err(TrustError::Certificate { index: 1, .. })
    ));
    // A block that never ends.
    assert!(HttpsTrust::default()
        .with_ca_pem(b"-----BEGIN CERTIFICATE-----\nAAECAw==\n")
        .is_err());
}
