//! Firmware Update pull over HTTPS (feature `https`) from a server whose certificate an
//! operator CA issued: a test CA and server certificates (for 127.0.0.1 / localhost, and for
//! another host) are made with OpenSSL at run time, and a rustls server on a loopback
//! `TcpListener` thread serves the image. With the CA given through `HttpsTrust` the image
//! arrives byte-exact and Update installs it; without it, or with a certificate for another
//! host, the TLS handshake fails: Update Result 4, and the client goes on working.
#![cfg(feature = "https")]

mod firmware_support;
mod https_support;
mod udp;

use firmware_support::{image, Device5};
use https_support::{http_server, https_server, Ca};
use lwm2m_client::firmware::http::{download_with, HttpsTrust, TrustError};
use lwm2m_client::firmware::{resolve_udp, FirmwareError, FirmwareState, MemorySink, UpdateResult};
use lwm2m_client::runtime::ClientTask;
use lwm2m_client::{ClientBuilder, DeviceObject, FirmwareObject, ServerAccount};
use lwm2m_codec::coap::Code;
use lwm2m_objects::Device;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use udp::ScriptedServer;

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
        format!("{:?}", more.without_public_roots()),
        "HttpsTrust { cas: 3, public_roots: false }"
    );

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
