//! X.509 over DTLS: a device presents a certificate from the trusted CA whose CN is its
//! endpoint name, and may register as that endpoint only. The PKI is generated at run time
//! (nothing private is committed).
#![cfg(feature = "dtls")]

use std::time::Duration;

use lwm2m_codec::coap::Code;
use lwm2m_server::server::{DtlsOptions, Server};
use lwm2m_server::store::{Credential, SecurityInfo};
use lwm2m_test_support::pki::{Ca, Issued};
use lwm2m_transport::dtls::{
    Certificate, CertifiedKey, ClientConfig, ClientCredentials, PrivateKey, ServerTrust,
};
use lwm2m_transport::udp::UdpEndpoint;
use lwm2m_transport::Request;

fn der(certificate: &Issued) -> Certificate {
    Certificate::from_der(&certificate.der()).unwrap()
}

/// `issued` in our form, its key as the RFC 5915 DER of the LwM2M 1.0 examples.
fn certified(issued: &Issued) -> CertifiedKey {
    let private = PrivateKey::from_der(&issued.key().sec1_der()).unwrap();
    CertifiedKey::new(vec![der(issued)], private).unwrap()
}

/// Registers as `ep` with the certificate `own`; returns the response code.
async fn register(
    dtls: std::net::SocketAddr,
    own: CertifiedKey,
    server: Certificate,
    ep: &str,
) -> Code {
    let config = ClientConfig::builder(ClientCredentials::Certificate {
        own,
        trust: ServerTrust::Pinned(server),
    })
    .build()
    .unwrap();
    let (builder, _events) = UdpEndpoint::builder().dtls_client(config);
    let device = builder.bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let query = format!("ep={ep}");
    let register = Request::build(Code::POST, |b| {
        b.uri_path("/rd").uri_query(&query).content_format(40);
    })
    .unwrap()
    .with_payload(&b"</3/0>"[..]);
    let answer = tokio::time::timeout(
        Duration::from_secs(20),
        device.handle().request(dtls, register),
    )
    .await
    .expect("no answer within 20 s")
    .unwrap();
    device.close().await;
    answer.code()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_registers_as_its_common_name_only() {
    let ca = Ca::new("lwm2m-rs test CA");
    let server_cert = ca.issue("lwm2m-server");
    let device_cert = ca.issue("urn:dev:x509");

    let options = DtlsOptions {
        addr: "127.0.0.1:0".parse().unwrap(),
        certificate: Some((certified(&server_cert), vec![der(ca.certificate())])),
        raw_public_key: None,
    };
    let server = Server::builder()
        .dtls(options)
        .bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let handle = server.handle();
    for endpoint in ["urn:dev:x509", "urn:dev:other"] {
        handle
            .put_credential(SecurityInfo {
                endpoint: endpoint.into(),
                credential: Credential::X509,
            })
            .unwrap();
    }
    let dtls = server.dtls_addr().unwrap();
    let own = certified(&device_cert);

    // Another X.509 endpoint's name: 4.03.
    let code = register(dtls, own.clone(), der(&server_cert), "urn:dev:other").await;
    assert_eq!(code, Code::FORBIDDEN);
    assert!(handle.client("urn:dev:other").is_none());
    // Its own CN: registered.
    let code = register(dtls, own, der(&server_cert), "urn:dev:x509").await;
    assert_eq!(code, Code::CREATED);
    assert!(handle.client("urn:dev:x509").is_some());
    server.shutdown().await;
}
