//! End to end over DTLS with raw public keys (RFC 7250, security mode 1): our `lwm2m_client`
//! (tokio runtime, OpenSSL backend) holds its P-256 key and the server's public key, and
//! registers with our `Server`, which holds its own key and a `Credential::RawPublicKey` for
//! the endpoint. Reads and Writes then go over that session. A key stored for no endpoint
//! never completes a DTLS handshake (the server's credential store is asked during the
//! handshake; the client stops with a typed DTLS error) while the other sessions carry on; a
//! key stored for another endpoint completes it but its Register is refused with 4.03. All keys
//! are made fresh for each run.
#![cfg(feature = "dtls-rpk")]

mod e2e_support;

use std::net::SocketAddr;
use std::time::Duration;

use e2e_support::{example_device, path, registered, single, spawn};
use lwm2m_client::runtime::RuntimeError;
use lwm2m_client::{ClientBuilder, ClientEvent, DeviceObject, ServerAccount};
use lwm2m_model::content::ContentFormat;
use lwm2m_model::{Node, Resource, Value};
use lwm2m_server::server::{DtlsOptions, Server, WriteMode};
use lwm2m_server::store::{Credential, SecurityInfo};
use lwm2m_test_support::pki::KeyPair;
use lwm2m_transport::dtls::{DtlsError, HandshakeFailure, PrivateKey};

const EP: &str = "urn:dev:e2e-rpk";
const OTHER: &str = "urn:dev:other";
/// An endpoint with no credential, whose client holds a key no credential holds.
const STRANGER: &str = "urn:dev:stranger";

/// Fresh P-256 keys: the server's own, [`EP`]'s and [`OTHER`]'s.
fn fresh_keys() -> [KeyPair; 3] {
    std::array::from_fn(|_| KeyPair::generate())
}

/// A server with its own raw key, and raw-public-key credentials for [`EP`] and [`OTHER`].
async fn start(own: &KeyPair, device: &KeyPair, other: &KeyPair) -> Server {
    let options = DtlsOptions::psk("127.0.0.1:0".parse().unwrap())
        .with_raw_public_key(PrivateKey::from_der(&own.pkcs8_der()).unwrap());
    let server = Server::builder()
        .request_timeout(Duration::from_secs(5))
        .dtls(options)
        .bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    for (endpoint, keys) in [(EP, device), (OTHER, other)] {
        server
            .handle()
            .put_credential(SecurityInfo {
                endpoint: endpoint.into(),
                credential: Credential::RawPublicKey {
                    public_key: keys.spki_der(),
                },
            })
            .unwrap();
    }
    server
}

/// A client named `endpoint` with `keys`, trusting the server key `server_spki`.
fn client(
    endpoint: &str,
    server: SocketAddr,
    keys: &KeyPair,
    server_spki: &[u8],
) -> lwm2m_client::Client<SocketAddr> {
    ClientBuilder::new(endpoint)
        .server(
            ServerAccount::new(1, server)
                .uri(format!("coaps://{server}"))
                .lifetime(300)
                .raw_public_key(keys.spki_der(), keys.pkcs8_der(), server_spki),
        )
        .object(DeviceObject::new(example_device()))
        .seed([7; 32])
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_raw_public_key_client_registers_reads_and_writes() {
    let [own, device_keys, other] = fresh_keys();
    let server = start(&own, &device_keys, &other).await;
    let dtls = server.dtls_addr().unwrap();
    let handle = server.handle();
    let mut events = handle.event_stream();
    let mut device = spawn(client(EP, dtls, &device_keys, &own.spki_der())).await;
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

    let offset = Node::Resource(Resource::single(14, Value::String("+01:00".into())));
    handle
        .write(EP, path("/3/0/14"), &offset, WriteMode::Replace, None)
        .await
        .unwrap();
    let read_back = handle.read(EP, path("/3/0/14"), None).await.unwrap();
    assert_eq!(single(&read_back), Value::String("+01:00".into()));
    drop(device);
    server.shutdown().await;
}

/// A key no credential holds: the server refuses it in the handshake itself, so the client
/// stops with a typed DTLS handshake error and nothing registers; a registered client's session
/// is unaffected, and a known key still registers afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_key_never_completes_a_handshake() {
    let [own, device_keys, other] = fresh_keys();
    let server = start(&own, &device_keys, &other).await;
    let dtls = server.dtls_addr().unwrap();
    let handle = server.handle();
    let mut events = handle.event_stream();
    let _device = spawn(client(EP, dtls, &device_keys, &own.spki_der())).await;
    registered(&mut events, EP).await;

    let stranger = KeyPair::generate();
    let mut intruder = spawn(client(STRANGER, dtls, &stranger, &own.spki_der())).await;
    let task = intruder.task.take().unwrap();
    let outcome = tokio::time::timeout(Duration::from_secs(30), task)
        .await
        .expect("the client task must stop")
        .unwrap();
    match outcome {
        // The server's alert ends the handshake: no session, so no Register was ever sent.
        Err(RuntimeError::Dtls {
            peer,
            source: DtlsError::Handshake(HandshakeFailure::PeerAlert(_)),
        }) => assert_eq!(peer, dtls),
        other => panic!("expected a refused DTLS handshake, got {other:?}"),
    }
    assert!(handle.client(STRANGER).is_none());
    let endpoints: Vec<String> = handle
        .clients()
        .iter()
        .map(|r| r.endpoint().to_owned())
        .collect();
    assert_eq!(endpoints, [EP]);

    // The registered client's session still carries requests.
    let manufacturer = handle.read(EP, path("/3/0/0"), None).await.unwrap();
    assert_eq!(
        single(&manufacturer),
        Value::String("Open Mobile Alliance".into())
    );
    // And a known key still completes a handshake and registers.
    let _other = spawn(client(OTHER, dtls, &other, &own.spki_der())).await;
    registered(&mut events, OTHER).await;
    assert!(handle.client(OTHER).is_some());
    server.shutdown().await;
}

/// The key stored for [`OTHER`], presented by a client named [`EP`]: 4.03, never registered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_endpoints_key_is_refused() {
    let [own, device_keys, other] = fresh_keys();
    let server = start(&own, &device_keys, &other).await;
    let dtls = server.dtls_addr().unwrap();
    let handle = server.handle();
    let mut device = spawn(client(EP, dtls, &other, &own.spki_der())).await;
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
    assert!(handle.client(OTHER).is_none());
    drop(device);
    server.shutdown().await;
}

/// A client pinning a key the server does not hold stops with a typed DTLS error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_server_key_is_a_dtls_error() {
    let [own, device_keys, other] = fresh_keys();
    let server = start(&own, &device_keys, &other).await;
    let dtls = server.dtls_addr().unwrap();
    let handle = server.handle();
    let mut device = spawn(client(
        EP,
        dtls,
        &device_keys,
        &KeyPair::generate().spki_der(),
    ))
    .await;
    let task = device.task.take().unwrap();
    let outcome = tokio::time::timeout(Duration::from_secs(30), task)
        .await
        .expect("the client task must stop")
        .unwrap();
    match outcome {
        Err(RuntimeError::Dtls { peer, .. }) => assert_eq!(peer, dtls),
        other => panic!("expected a DTLS error, got {other:?}"),
    }
    assert!(handle.clients().is_empty());
    server.shutdown().await;
}
