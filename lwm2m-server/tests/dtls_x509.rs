//! X.509 over DTLS: a device presents a certificate from the trusted CA whose CN is its
//! endpoint name, and may register as that endpoint only. The PKI is generated at run time
//! (nothing private is committed).
#![cfg(feature = "dtls")]

use std::time::Duration;

use lwm2m_codec::coap::Code;
use lwm2m_server::server::{DtlsOptions, Server};
use lwm2m_server::store::{Credential, SecurityInfo};
use lwm2m_transport::dtls::{
    Certificate, CertifiedKey, ClientConfig, ClientCredentials, PrivateKey, ServerTrust,
};
use lwm2m_transport::udp::UdpEndpoint;
use lwm2m_transport::Request;
use openssl::asn1::Asn1Time;
use openssl::bn::{BigNum, MsbOption};
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::x509::extension::{BasicConstraints, KeyUsage};
use openssl::x509::{X509NameBuilder, X509};

fn key() -> PKey<Private> {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
    PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap()
}

/// A P-256 certificate named `cn`, signed by `issuer` (self-signed CA without one).
fn certificate(cn: &str, key: &PKey<Private>, issuer: Option<(&X509, &PKey<Private>)>) -> X509 {
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_nid(Nid::COMMONNAME, cn).unwrap();
    let name = name.build();
    let mut builder = X509::builder().unwrap();
    builder.set_version(2).unwrap();
    let mut serial = BigNum::new().unwrap();
    serial.rand(64, MsbOption::MAYBE_ZERO, false).unwrap();
    builder
        .set_serial_number(&serial.to_asn1_integer().unwrap())
        .unwrap();
    builder.set_subject_name(&name).unwrap();
    builder
        .set_issuer_name(issuer.map_or(&name, |(ca, _)| ca.subject_name()))
        .unwrap();
    builder.set_pubkey(key).unwrap();
    builder
        .set_not_before(&Asn1Time::days_from_now(0).unwrap())
        .unwrap();
    builder
        .set_not_after(&Asn1Time::days_from_now(1).unwrap())
        .unwrap();
    if issuer.is_none() {
        let ca = BasicConstraints::new().critical().ca().build().unwrap();
        builder.append_extension(ca).unwrap();
        let usage = KeyUsage::new().key_cert_sign().build().unwrap();
        builder.append_extension(usage).unwrap();
    }
    builder
        .sign(issuer.map_or(key, |(_, k)| k), MessageDigest::sha256())
        .unwrap();
    builder.build()
}

fn der(certificate: &X509) -> Certificate {
    Certificate::from_der(&certificate.to_der().unwrap()).unwrap()
}

fn certified(certificate: &X509, key: &PKey<Private>) -> CertifiedKey {
    let private = PrivateKey::from_der(&key.private_key_to_der().unwrap()).unwrap();
    CertifiedKey::new(vec![der(certificate)], private).unwrap()
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
    let ca_key = key();
    let ca = certificate("lwm2m-rs test CA", &ca_key, None);
    let server_key = key();
    let server_cert = certificate("lwm2m-server", &server_key, Some((&ca, &ca_key)));
    let device_key = key();
    let device_cert = certificate("urn:dev:x509", &device_key, Some((&ca, &ca_key)));

    let options = DtlsOptions {
        addr: "127.0.0.1:0".parse().unwrap(),
        certificate: Some((certified(&server_cert, &server_key), vec![der(&ca)])),
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
    let own = certified(&device_cert, &device_key);

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
