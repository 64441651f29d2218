//! End to end over DTLS with a pre-shared key: our `lwm2m_client` (tokio runtime, its default
//! DTLS backend) holds a Security instance in PSK mode with a `coaps://` URI and registers with our
//! `Server` (OpenSSL DTLS backend), whose credential store holds the same key for the
//! endpoint. Every device-management operation then goes over that session. A wrong key never
//! registers and stops the client task with a typed DTLS error;
//! another endpoint's identity is refused with 4.03.
//!
//! Certificates are in `tests/e2e_certificates.rs`.
#![cfg(feature = "dtls")]

mod e2e_support;

use std::net::SocketAddr;
use std::time::Duration;

use e2e_support::{example_device, notification, path, registered, single, spawn, Running, WAIT};
use lwm2m_client::runtime::RuntimeError;
use lwm2m_client::{ClientBuilder, ClientEvent, DeviceObject, ServerAccount};
use lwm2m_model::content::ContentFormat;
use lwm2m_model::{AttributeChange, AttributeUpdate, Node, Resource, Value};
use lwm2m_server::server::{DtlsOptions, Server, WriteMode};
use lwm2m_server::store::{Credential, SecurityInfo};
use tokio::time::timeout;

const EP: &str = "e2e-dtls";
const IDENTITY: &str = "e2e-dtls-identity";
const KEY: &[u8] = b"e2e-secret-0123456789";

async fn start() -> Server {
    let server = Server::builder()
        .request_timeout(Duration::from_secs(5))
        .dtls(DtlsOptions::psk("127.0.0.1:0".parse().unwrap()))
        .bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    server
        .handle()
        .put_credential(SecurityInfo {
            endpoint: EP.into(),
            credential: Credential::Psk {
                identity: IDENTITY.into(),
                key: KEY.to_vec(),
            },
        })
        .unwrap();
    server
}

fn client(server: SocketAddr, key: &[u8]) -> lwm2m_client::Client<SocketAddr> {
    client_named(EP, server, key)
}

fn client_named(
    endpoint: &str,
    server: SocketAddr,
    key: &[u8],
) -> lwm2m_client::Client<SocketAddr> {
    ClientBuilder::new(endpoint)
        .server(
            ServerAccount::new(1, server)
                .uri(format!("coaps://{server}"))
                .lifetime(300)
                .psk(IDENTITY, key),
        )
        .object(DeviceObject::new(example_device()).with_executables(&[4]))
        .seed([7; 32])
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_over_dtls_psk() {
    let server = start().await;
    let dtls = server.dtls_addr().unwrap();
    let handle = server.handle();
    let mut events = handle.event_stream();
    let mut device: Running = spawn(client(dtls, KEY)).await;
    registered(&mut events, EP).await;
    let registration = handle.client(EP).unwrap();
    // It registered through the DTLS port, not the plain one.
    assert_ne!(dtls, server.local_addr());
    assert!(registration.object_links().has_object(3));
    device
        .wait_for("Registered", |e| {
            matches!(e, ClientEvent::Registered { .. })
        })
        .await;

    // Read /3/0 in TLV and in JSON: the same decoded instance.
    let tlv = handle
        .read(EP, path("/3/0"), Some(ContentFormat::Tlv))
        .await
        .unwrap();
    let json = handle
        .read(EP, path("/3/0"), Some(ContentFormat::Json))
        .await
        .unwrap();
    let Node::ObjectInstance(instance) = &tlv.node else {
        panic!("{tlv:?}")
    };
    assert_eq!(
        instance.value(0),
        Some(&Value::String("Open Mobile Alliance".into()))
    );
    assert_eq!(instance.value(9), Some(&Value::Integer(100)));
    assert_eq!(tlv.node, json.node);

    // Write the UTC offset and read it back.
    let offset = Node::Resource(Resource::single(14, Value::String("+02:00".into())));
    handle
        .write(EP, path("/3/0/14"), &offset, WriteMode::Replace, None)
        .await
        .unwrap();
    let read_back = handle.read(EP, path("/3/0/14"), None).await.unwrap();
    assert_eq!(single(&read_back), Value::String("+02:00".into()));

    // Execute Reboot; the client reports it.
    handle.execute(EP, path("/3/0/4"), "").await.unwrap();
    let executed = device
        .wait_for("Executed", |e| matches!(e, ClientEvent::Executed { .. }))
        .await;
    assert!(
        matches!(executed, ClientEvent::Executed { path: p, .. } if p == path("/3/0/4")),
        "{executed:?}"
    );

    // Observe the battery level with pmin 0 / pmax 60 and gt 50: the drop below 50 is
    // notified (a crossing), over the same session.
    let attributes = AttributeUpdate {
        pmin: Some(AttributeChange::Set(0)),
        pmax: Some(AttributeChange::Set(60)),
        gt: Some(AttributeChange::Set(50.0)),
        ..AttributeUpdate::default()
    };
    handle
        .write_attributes(EP, path("/3/0/9"), &attributes)
        .await
        .unwrap();
    let mut observation = handle.observe(EP, path("/3/0/9"), None).await.unwrap();
    assert_eq!(single(observation.initial()), Value::Integer(100));
    device
        .handle
        .update_object::<DeviceObject, _>(3, |d| d.device_mut().battery_level = Some(42))
        .await
        .unwrap()
        .unwrap();
    let notified = timeout(WAIT, observation.next())
        .await
        .expect("no notification for the crossing")
        .unwrap()
        .unwrap();
    assert_eq!(single(&notified), Value::Integer(42));
    assert_eq!(
        notification(&mut events, EP, path("/3/0/9")).await,
        Node::Resource(Resource::single(9, Value::Integer(42)))
    );

    drop(observation);
    drop(device);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_key_never_registers() {
    let server = start().await;
    let dtls = server.dtls_addr().unwrap();
    let handle = server.handle();
    let mut device = spawn(client(dtls, b"not-the-right-key-000")).await;
    let task = device.task.take().unwrap();
    let outcome = timeout(Duration::from_secs(30), task)
        .await
        .expect("the client task must stop")
        .unwrap();
    match outcome {
        Err(RuntimeError::Dtls { peer, source }) => {
            assert_eq!(peer, dtls, "{source}");
        }
        other => panic!("expected a DTLS error, got {other:?}"),
    }
    assert!(handle.client(EP).is_none());
    assert!(handle.clients().is_empty());
    server.shutdown().await;
}

/// The right key of another endpoint: the handshake succeeds, the Register as this endpoint is
/// refused with 4.03 Forbidden (the proven identity is not this endpoint's), and the client
/// reports the failure and stays unregistered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_endpoints_identity_is_refused() {
    let server = start().await;
    let dtls = server.dtls_addr().unwrap();
    let handle = server.handle();
    let mut device = spawn(client_named("e2e-impostor", dtls, KEY)).await;
    let failed = device
        .wait_for("RegistrationFailed", |e| {
            matches!(e, ClientEvent::RegistrationFailed { .. })
        })
        .await;
    let ClientEvent::RegistrationFailed { ssid, reason, .. } = failed else {
        unreachable!()
    };
    assert_eq!(ssid, 1);
    assert!(reason.contains("4.03"), "{reason}");
    assert!(handle.client("e2e-impostor").is_none());
    assert!(handle.client(EP).is_none());
    drop(device);
    server.shutdown().await;
}
