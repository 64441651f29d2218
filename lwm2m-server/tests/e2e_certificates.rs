//! End to end over DTLS with certificates (security mode 2): our `lwm2m_client` (tokio
//! runtime, OpenSSL backend) holds a Security instance with its certificate (`/0/x/3`), the CA
//! certificate to trust (`/0/x/4`) and its private key (`/0/x/5`), and registers with our
//! `Server`, which holds a certificate from the same CA and an X.509 credential for the
//! endpoint. Reads and Writes then go over that session. A certificate from an untrusted CA
//! never registers (the client task stops with a typed DTLS error); a trusted certificate
//! whose CN names another endpoint is refused with 4.03; the dimpl backend refuses the mode
//! with a typed configuration error. The PKI is generated at run time.
#![cfg(feature = "dtls")]

mod e2e_support;

use std::net::SocketAddr;
use std::time::Duration;

use e2e_support::{example_device, path, registered, single, spawn, Running};
use lwm2m_client::runtime::{ClientTask, RuntimeError};
use lwm2m_client::{ClientBuilder, ClientEvent, DeviceObject, ServerAccount};
use lwm2m_model::content::ContentFormat;
use lwm2m_model::{Node, Resource, Value};
use lwm2m_server::server::{DtlsOptions, Server, WriteMode};
use lwm2m_server::store::{Credential, SecurityInfo};
use lwm2m_test_support::pki::{Ca, Issued};
use lwm2m_transport::dtls::{Backend, Certificate, CertifiedKey, ConfigError, PrivateKey};
use tokio::net::UdpSocket;
use tokio::time::timeout;

const EP: &str = "urn:dev:e2e-x509";

/// A server with a certificate from `pki`, trusting client certificates from it, with X.509
/// credentials for [`EP`] and `urn:dev:other`.
async fn start(pki: &Ca) -> Server {
    start_with_certificate(pki).await.0
}

/// [`start`], and the server's certificate (DER).
async fn start_with_certificate(pki: &Ca) -> (Server, Vec<u8>) {
    let issued = pki.issue("lwm2m-server");
    let cert = issued.der();
    let own = CertifiedKey::new(
        vec![Certificate::from_der(&cert).unwrap()],
        PrivateKey::from_der(&issued.key().pkcs8_der()).unwrap(),
    )
    .unwrap();
    let anchor = Certificate::from_der(&pki.der()).unwrap();
    let server = Server::builder()
        .request_timeout(Duration::from_secs(5))
        .dtls(DtlsOptions {
            addr: "127.0.0.1:0".parse().unwrap(),
            certificate: Some((own, vec![anchor])),
            raw_public_key: None,
        })
        .bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    for endpoint in [EP, "urn:dev:other"] {
        server
            .handle()
            .put_credential(SecurityInfo {
                endpoint: endpoint.into(),
                credential: Credential::X509,
            })
            .unwrap();
    }
    (server, cert)
}

/// A client named `endpoint` presenting `own` (certificate, PKCS#8 key) and trusting
/// `server_cert`.
fn client(
    endpoint: &str,
    server: SocketAddr,
    own: &Issued,
    server_cert: Vec<u8>,
) -> lwm2m_client::Client<SocketAddr> {
    ClientBuilder::new(endpoint)
        .server(
            ServerAccount::new(1, server)
                .uri(format!("coaps://{server}"))
                .lifetime(300)
                .certificate(own.der(), own.key().pkcs8_der(), server_cert),
        )
        .object(DeviceObject::new(example_device()))
        .seed([9; 32])
        .build()
        .unwrap()
}

/// Waits for the client task to stop; its result.
async fn stopped(device: &mut Running) -> Result<(), RuntimeError> {
    let task = device.task.take().unwrap();
    timeout(Duration::from_secs(30), task)
        .await
        .expect("the client task must stop")
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_client_registers_reads_and_writes() {
    let pki = Ca::new("e2e CA");
    let server = start(&pki).await;
    let dtls = server.dtls_addr().unwrap();
    let handle = server.handle();
    let mut events = handle.event_stream();
    // The CA certificate as /0/x/4: the server's certificate is validated against it.
    let ca = pki.der();
    let mut device = spawn(client(EP, dtls, &pki.issue(EP), ca)).await;
    registered(&mut events, EP).await;
    device
        .wait_for("Registered", |e| {
            matches!(e, ClientEvent::Registered { .. })
        })
        .await;
    assert!(handle.client(EP).unwrap().object_links().has_object(3));

    let tlv = handle
        .read(EP, path("/3/0"), Some(ContentFormat::Tlv))
        .await
        .unwrap();
    let Node::ObjectInstance(instance) = &tlv.node else {
        panic!("{tlv:?}")
    };
    assert_eq!(
        instance.value(0),
        Some(&Value::String("Open Mobile Alliance".into()))
    );

    let offset = Node::Resource(Resource::single(14, Value::String("-05:00".into())));
    handle
        .write(EP, path("/3/0/14"), &offset, WriteMode::Replace, None)
        .await
        .unwrap();
    let read_back = handle.read(EP, path("/3/0/14"), None).await.unwrap();
    assert_eq!(single(&read_back), Value::String("-05:00".into()));
    drop(device);
    server.shutdown().await;
}

/// The server's own certificate as /0/x/4 (pinned, not a CA) works too; another one does not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pinned_server_certificate_is_accepted() {
    let pki = Ca::new("e2e CA");
    let (server, server_cert) = start_with_certificate(&pki).await;
    let dtls = server.dtls_addr().unwrap();
    let handle = server.handle();
    let mut events = handle.event_stream();
    // Pin a certificate the server does not present: no registration.
    let elsewhere = pki.issue("lwm2m-server").der();
    let mut device = spawn(client(EP, dtls, &pki.issue(EP), elsewhere)).await;
    match stopped(&mut device).await {
        Err(RuntimeError::Dtls { peer, .. }) => assert_eq!(peer, dtls),
        other => panic!("expected a DTLS error, got {other:?}"),
    }
    assert!(handle.client(EP).is_none());
    drop(device);
    // The certificate the server presents: registered.
    let mut device = spawn(client(EP, dtls, &pki.issue(EP), server_cert)).await;
    registered(&mut events, EP).await;
    device
        .wait_for("Registered", |e| {
            matches!(e, ClientEvent::Registered { .. })
        })
        .await;
    assert!(handle.client(EP).is_some());
    drop(device);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_certificate_never_registers() {
    let pki = Ca::new("e2e CA");
    let server = start(&pki).await;
    let dtls = server.dtls_addr().unwrap();
    let handle = server.handle();
    let rogue = Ca::new("rogue CA");
    let mut device = spawn(client(EP, dtls, &rogue.issue(EP), pki.der())).await;
    match stopped(&mut device).await {
        Err(RuntimeError::Dtls { peer, source }) => assert_eq!(peer, dtls, "{source}"),
        other => panic!("expected a DTLS error, got {other:?}"),
    }
    assert!(handle.client(EP).is_none());
    assert!(handle.clients().is_empty());
    server.shutdown().await;
}

/// A trusted certificate whose CN is another endpoint: 4.03, never registered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_endpoints_certificate_is_refused() {
    let pki = Ca::new("e2e CA");
    let server = start(&pki).await;
    let dtls = server.dtls_addr().unwrap();
    let handle = server.handle();
    let ca = pki.der();
    let mut device = spawn(client(EP, dtls, &pki.issue("urn:dev:other"), ca)).await;
    let failed = device
        .wait_for("RegistrationFailed", |e| {
            matches!(e, ClientEvent::RegistrationFailed { .. })
        })
        .await;
    let ClientEvent::RegistrationFailed { reason, .. } = failed else {
        unreachable!()
    };
    assert!(reason.contains("4.03"), "{reason}");
    assert!(handle.client(EP).is_none());
    assert!(handle.client("urn:dev:other").is_none());
    drop(device);
    server.shutdown().await;
}

/// dimpl has no certificates: the task stops with a typed configuration error before sending.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dimpl_backend_refuses_certificates() {
    let pki = Ca::new("e2e CA");
    let server = start(&pki).await;
    let dtls = server.dtls_addr().unwrap();
    let device = client(EP, dtls, &pki.issue(EP), pki.der());
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let (task, _handle) = ClientTask::new(device, socket);
    let outcome = timeout(
        Duration::from_secs(10),
        task.dtls_backend(Backend::Dimpl).run(),
    )
    .await
    .expect("the task must stop");
    match outcome {
        Err(RuntimeError::DtlsConfig { peer, source }) => {
            assert_eq!(peer, dtls);
            assert!(
                matches!(
                    source,
                    ConfigError::Unsupported {
                        backend: Backend::Dimpl,
                        ..
                    }
                ),
                "{source:?}"
            );
        }
        other => panic!("expected a configuration error, got {other:?}"),
    }
    assert!(server.handle().clients().is_empty());
    server.shutdown().await;
}
