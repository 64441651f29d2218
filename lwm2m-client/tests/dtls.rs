//! DTLS with a pre-shared key: the tokio runtime registers over `coaps://` with a small LwM2M
//! registrar built on lwm2m-transport's DTLS server endpoint (it accepts `POST /rd`, answers
//! 2.01 with a Location-Path, then sends a Read and checks the answer), and a wrong key stops
//! the client task with a typed DTLS error.
#![cfg(feature = "dtls")]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use lwm2m_client::runtime::{ClientHandle, ClientTask, RuntimeError, RuntimeEvent};
use lwm2m_client::{ClientBuilder, ClientEvent, DeviceObject, ServerAccount};
use lwm2m_codec::coap::{option, Code};
use lwm2m_objects::Device;
use lwm2m_transport::dtls::{Alert, Backend, DtlsError, HandshakeFailure, Limits, ServerConfig};
use lwm2m_transport::udp::{DtlsEvent, DtlsEvents, IncomingRequests, UdpEndpoint};
use lwm2m_transport::{Request, Response};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::time::timeout;

const LIMIT: Duration = Duration::from_secs(20);
const IDENTITY: &[u8] = b"dtls-node";
const KEY: &[u8] = b"0123456789abcdef";

/// A DTLS PSK server endpoint knowing `IDENTITY` -> `KEY`.
async fn registrar() -> (UdpEndpoint, DtlsEvents, IncomingRequests) {
    let store = HashMap::from([(IDENTITY.to_vec(), KEY.to_vec())]);
    let config = ServerConfig::builder()
        .psk_store(store)
        .backend(Backend::Dimpl)
        .build()
        .unwrap();
    let (builder, events) = UdpEndpoint::builder().dtls_server(config);
    let server = builder.bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let incoming = server.incoming();
    (server, events, incoming)
}

/// The client task (its handle too: dropping the last one stops the task) and its events.
fn client(
    server: SocketAddr,
    key: &[u8],
) -> (ClientTask, ClientHandle, mpsc::Receiver<RuntimeEvent>) {
    let device = DeviceObject::new(Device {
        manufacturer: Some("lwm2m-rs".into()),
        supported_binding_and_modes: "U".into(),
        ..Device::default()
    });
    let client = ClientBuilder::new("dtls-node")
        .server(
            ServerAccount::new(101, server)
                .uri(format!("coaps://{server}"))
                .lifetime(300)
                .psk(IDENTITY, key),
        )
        .object(device)
        .build()
        .unwrap();
    assert_eq!(
        client.psk_credentials(&server),
        Some((IDENTITY.to_vec(), key.to_vec())),
        "the PSK is in the Security object"
    );
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.set_nonblocking(true).unwrap();
    let socket = UdpSocket::from_std(socket).unwrap();
    let (task, handle) = ClientTask::new(client, socket);
    let mut limits = Limits::default();
    limits.handshake_timeout = Duration::from_secs(5);
    let (tx, rx) = mpsc::channel(16);
    (task.dtls_limits(limits).events(0, tx), handle, rx)
}

#[tokio::test]
async fn registers_over_dtls_psk_and_answers_a_read() {
    let (server, mut dtls_events, mut incoming) = registrar().await;
    let to = server.local_addr();
    let (task, _handle, mut events) = client(to, KEY);
    let running = tokio::spawn(task.run());

    // The Register arrives through the DTLS session, from the PSK identity.
    let register = timeout(LIMIT, incoming.next()).await.unwrap().unwrap();
    let message = register.request.message().unwrap();
    assert_eq!(message.code(), Code::POST);
    assert!(message.uri_path().unwrap().eq(["rd"]));
    assert!(message.uri_query().unwrap().any(|q| q == "ep=dtls-node"));
    let client_addr = register.peer;
    let created = Response::build(Code::CREATED, |b| {
        b.option(option::LOCATION_PATH, b"rd");
        b.option(option::LOCATION_PATH, b"d1");
    })
    .unwrap();
    register.responder.respond(created).unwrap();
    match timeout(LIMIT, dtls_events.next()).await.unwrap() {
        Some(DtlsEvent::Connected { handshake, .. }) => {
            assert_eq!(handshake.identity.name(), Some("dtls-node"));
        }
        other => panic!("expected the handshake, got {other:?}"),
    }
    let registered = timeout(LIMIT, events.recv()).await.unwrap().unwrap();
    assert_eq!(
        registered.event,
        ClientEvent::Registered {
            ssid: 101,
            location: "/rd/d1".into()
        }
    );

    // A Read from the server over the same session.
    let read = Request::build(Code::GET, |b| {
        b.uri_path("/3/0/0");
    })
    .unwrap();
    let answer = timeout(LIMIT, server.handle().request(client_addr, read))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(answer.code(), Code::CONTENT);
    assert_eq!(answer.content_format(), Some(0));
    assert_eq!(answer.body().as_ref(), b"lwm2m-rs");

    running.abort();
    server.close().await;
}

#[tokio::test]
async fn a_wrong_key_stops_the_task_with_a_dtls_error() {
    let (server, _dtls_events, _incoming) = registrar().await;
    let to = server.local_addr();
    let (task, _handle, _events) = client(to, b"fedcba9876543210");
    let outcome = timeout(LIMIT, task.run())
        .await
        .expect("the task must stop within the limit");
    match outcome {
        Err(RuntimeError::Dtls { peer, source }) => {
            assert_eq!(peer, to);
            // The server's Finished check fails and it says so: decrypt_error (51).
            assert_eq!(
                source,
                DtlsError::Handshake(HandshakeFailure::PeerAlert(Alert(51)))
            );
        }
        other => panic!("expected a DTLS error, got {other:?}"),
    }
    server.close().await;
}

/// The binary with `--psk-identity`/`--psk-key` (hex) registers over `coaps://`.
#[cfg(feature = "cli")]
#[tokio::test]
async fn the_binary_registers_with_a_hex_psk() {
    let (server, mut dtls_events, mut incoming) = registrar().await;
    let uri = format!("coaps://{}", server.local_addr());
    // `KEY` in hexadecimal.
    let hex_key = "30313233343536373839616263646566";
    assert_eq!(hex_key.len(), KEY.len() * 2);
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_lwm2m-client"))
        .args([
            "--server",
            &uri,
            "--endpoint",
            "dtls-node",
            "--psk-identity",
            "dtls-node",
            "--psk-key",
            hex_key,
            "--duration",
            "20",
        ])
        .env("RUST_LOG", "warn")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let register = timeout(LIMIT, incoming.next()).await.unwrap().unwrap();
    let message = register.request.message().unwrap();
    assert!(message.uri_path().unwrap().eq(["rd"]));
    assert!(message.uri_query().unwrap().any(|q| q == "ep=dtls-node"));
    register
        .responder
        .respond(Response::new(Code::CREATED))
        .unwrap();
    match timeout(LIMIT, dtls_events.next()).await.unwrap() {
        Some(DtlsEvent::Connected { handshake, .. }) => {
            assert_eq!(handshake.identity.name(), Some("dtls-node"));
        }
        other => panic!("expected the handshake, got {other:?}"),
    }
    child.kill().await.unwrap();
    server.close().await;
}
