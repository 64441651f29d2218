//! DTLS and identity binding, driven by an independent client: libcoap's
//! `coap-client-openssl` registers over `coaps://` with a PSK from the server's credential
//! store. The proven identity must be the endpoint's: another endpoint name gets 4.03, an
//! unknown identity never completes a handshake, and a secured endpoint cannot register over
//! plain UDP. `cargo xtask install` installs libcoap (Debian package libcoap3-bin).
#![cfg(feature = "dtls")]

mod support;

use lwm2m_codec::coap::Code;
use lwm2m_server::server::{DtlsOptions, Server};
use lwm2m_server::store::{Credential, SecurityInfo};
use support::libcoap::register;
use support::raw::RawDevice;

const IDENTITY: &str = "dtls-device-id";
const KEY: &str = "secret-psk-0123456789";

async fn start() -> Server {
    let server = Server::builder()
        .dtls(DtlsOptions::psk("127.0.0.1:0".parse().unwrap()))
        .bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    server
        .handle()
        .put_credential(SecurityInfo {
            endpoint: "dtls-dev".into(),
            credential: Credential::Psk {
                identity: IDENTITY.into(),
                key: KEY.as_bytes().to_vec(),
            },
        })
        .unwrap();
    server
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn libcoap_registers_over_dtls_with_the_endpoints_psk() {
    let server = start().await;
    let dtls = server.dtls_addr().unwrap();
    let output = register(dtls, "dtls-dev", IDENTITY, KEY).await;
    assert!(output.contains("2.01"), "no 2.01 Created: {output}");
    let registration = server.handle().client("dtls-dev").expect("registered");
    // The Location-Path libcoap printed is the registration's.
    assert!(
        output.contains(registration.id().as_str()),
        "no Location-Path {} in: {output}",
        registration.id()
    );
    assert!(output.contains("Location-Path"), "{output}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_endpoint_name_is_refused_with_4_03() {
    let server = start().await;
    let dtls = server.dtls_addr().unwrap();
    // The PSK is dtls-dev's: registering as someone else is forbidden.
    let output = register(dtls, "impostor", IDENTITY, KEY).await;
    assert!(output.contains("4.03"), "no 4.03 Forbidden: {output}");
    assert!(!output.contains("2.01"), "{output}");
    assert!(server.handle().client("impostor").is_none());
    // Also when the other endpoint has credentials of its own.
    server
        .handle()
        .put_credential(SecurityInfo {
            endpoint: "victim".into(),
            credential: Credential::Psk {
                identity: "victim-id".into(),
                key: b"victim-key".to_vec(),
            },
        })
        .unwrap();
    let output = register(dtls, "victim", IDENTITY, KEY).await;
    assert!(output.contains("4.03"), "no 4.03 Forbidden: {output}");
    assert!(server.handle().client("victim").is_none());
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_identities_and_wrong_keys_never_complete_a_handshake() {
    let server = start().await;
    let dtls = server.dtls_addr().unwrap();
    let output = register(dtls, "dtls-dev", "nobody", KEY).await;
    assert!(
        !output.contains("2.01") && !output.contains("4.03"),
        "{output}"
    );
    let output = register(dtls, "dtls-dev", IDENTITY, "wrong-key").await;
    assert!(
        !output.contains("2.01") && !output.contains("4.03"),
        "{output}"
    );
    assert!(server.handle().client("dtls-dev").is_none());
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secured_endpoint_cannot_register_over_plain_udp() {
    let server = start().await;
    let mut device = RawDevice::bind(server.local_addr()).await;
    let answer = device.register("ep=dtls-dev&lt=300", "</3/0>").await;
    assert_eq!(answer.message().code(), Code::FORBIDDEN);
    // An endpoint without credentials still can (NoSec).
    let answer = device.register("ep=open-dev&lt=300", "</3/0>").await;
    assert_eq!(answer.message().code(), Code::CREATED);
    // Once credentials are removed, the secured endpoint may use NoSec again.
    server.handle().remove_credential("dtls-dev").unwrap();
    let answer = device.register("ep=dtls-dev&lt=300", "</3/0>").await;
    assert_eq!(answer.message().code(), Code::CREATED);
    server.shutdown().await;
}

/// A device on our transport's DTLS client registers, and the server reads from it through
/// the DTLS session (the request goes out on the DTLS endpoint, not in plaintext).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_management_goes_over_the_dtls_session() {
    use lwm2m_model::{Node, Path, Resource, Value};
    use lwm2m_transport::dtls::{ClientConfig, ClientCredentials, Psk};
    use lwm2m_transport::udp::UdpEndpoint;
    use lwm2m_transport::{Request, Response};

    let server = start().await;
    let dtls = server.dtls_addr().unwrap();
    let psk = Psk::new(IDENTITY.as_bytes(), KEY.as_bytes()).unwrap();
    let config = ClientConfig::builder(ClientCredentials::Psk(psk))
        .build()
        .unwrap();
    let (builder, _events) = UdpEndpoint::builder().dtls_client(config);
    let device = builder.bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let mut incoming = device.incoming();
    tokio::spawn(async move {
        while let Some(request) = incoming.next().await {
            let path: Vec<String> = request
                .request
                .message()
                .unwrap()
                .uri_path()
                .unwrap()
                .map(str::to_owned)
                .collect();
            let reply = if path == ["3", "0", "0"] {
                Response::build(Code::CONTENT, |b| {
                    b.content_format(0);
                })
                .unwrap()
                .with_payload(&b"Secure Devices Inc."[..])
            } else {
                Response::new(Code::NOT_FOUND)
            };
            let _ = request.responder.respond(reply);
        }
    });
    let register = Request::build(Code::POST, |b| {
        b.uri_path("/rd")
            .uri_query("ep=dtls-dev")
            .uri_query("lt=300")
            .content_format(40);
    })
    .unwrap()
    .with_payload(&b"</3/0>"[..]);
    let answer = device.handle().request(dtls, register).await.unwrap();
    assert_eq!(answer.code(), Code::CREATED);

    let content = server
        .handle()
        .read("dtls-dev", Path::parse("/3/0/0").unwrap(), None)
        .await
        .unwrap();
    assert_eq!(
        content.node,
        Node::Resource(Resource::single(
            0,
            Value::String("Secure Devices Inc.".into())
        ))
    );
    device.close().await;
    server.shutdown().await;
}
