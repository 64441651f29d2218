//! Firmware Update pull over `CoAPS` on loopback, with the tokio runtime: the server writes a
//! `coaps://` Package URI and the client fetches the package block by block (Block2) through a
//! DTLS session made with the credentials of the Security instance whose Server URI names the
//! package's host and port (digest §16). The file servers are lwm2m-transport's DTLS PSK server
//! endpoint and libcoap's `coap-server-openssl`. Then the failures: a wrong key (result 4, the
//! task keeps running), no matching Security instance, one without DTLS credentials, and
//! credentials the DTLS library refuses (result 7, nothing sent in clear).
#![cfg(feature = "dtls")]

mod firmware_support;
mod udp;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use firmware_support::{image, Device5};
#[cfg(feature = "dtls-openssl")]
use firmware_support::{store_on_libcoap, Libcoap};
use lwm2m_client::firmware::{resolve_udp, FirmwareState, MemorySink, UpdateResult};
use lwm2m_client::runtime::{run_client, ClientHandle, RuntimeEvent};
use lwm2m_client::{
    ClientBuilder, ClientEvent, DeviceObject, FirmwareObject, ServerAccount, TypedStore,
};
use lwm2m_codec::coap::{option, Code};
use lwm2m_objects::{Device, Security};
use lwm2m_transport::dtls::{Backend, ServerConfig};
use lwm2m_transport::udp::{DtlsEvent, DtlsEvents, UdpEndpoint};
use lwm2m_transport::{Request, Response};
use tokio::sync::mpsc;
use tokio::time::timeout;

const LIMIT: Duration = Duration::from_secs(20);
const IDENTITY: &[u8] = b"fw-node";
const KEY: &[u8] = b"0123456789abcdef";

/// A request the DTLS server answered.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    peer: SocketAddr,
    code: Code,
    path: Vec<String>,
}

/// lwm2m-transport's DTLS PSK server endpoint (`identity` -> `key`), answering the
/// registration interface (so a client may register with it) and serving `image` at
/// `/fw/image.bin` (the endpoint cuts it into Block2 blocks); anything else is 4.04.
struct DtlsPeer {
    endpoint: UdpEndpoint,
    events: DtlsEvents,
    seen: mpsc::UnboundedReceiver<Seen>,
}

impl DtlsPeer {
    async fn start(identity: &[u8], key: &[u8], image: Vec<u8>) -> DtlsPeer {
        let store = HashMap::from([(identity.to_vec(), key.to_vec())]);
        let config = ServerConfig::builder()
            .psk_store(store)
            .backend(Backend::Dimpl)
            .build()
            .unwrap();
        let (builder, events) = UdpEndpoint::builder().dtls_server(config);
        let endpoint = builder.bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let mut incoming = endpoint.incoming();
        let (tx, seen) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Some(request) = incoming.next().await {
                let msg = request.request.message().unwrap();
                let path: Vec<String> = msg.uri_path().unwrap().map(String::from).collect();
                let code = msg.code();
                let response = match (code, path.as_slice()) {
                    (Code::POST, [rd]) if rd == "rd" => Response::build(Code::CREATED, |b| {
                        b.option(option::LOCATION_PATH, b"rd");
                        b.option(option::LOCATION_PATH, b"1");
                    })
                    .unwrap(),
                    (Code::POST, [rd, _]) if rd == "rd" => Response::new(Code::CHANGED),
                    (Code::DELETE, [rd, _]) if rd == "rd" => Response::new(Code::DELETED),
                    (Code::GET, [fw, name]) if fw == "fw" && name == "image.bin" => {
                        Response::build(Code::CONTENT, |b| {
                            b.content_format(42);
                        })
                        .unwrap()
                        .with_payload(image.clone())
                    }
                    _ => Response::new(Code::NOT_FOUND),
                };
                let _ = tx.send(Seen {
                    peer: request.peer,
                    code,
                    path,
                });
                let _ = request.responder.respond(response);
            }
        });
        DtlsPeer {
            endpoint,
            events,
            seen,
        }
    }

    fn addr(&self) -> SocketAddr {
        self.endpoint.local_addr()
    }

    /// The next handshake (or failure) the server reports.
    async fn next_event(&mut self) -> DtlsEvent {
        timeout(LIMIT, self.events.next())
            .await
            .expect("a DTLS event in time")
            .expect("the DTLS server runs")
    }

    /// The GETs of `/fw/image.bin` received so far.
    fn image_gets(&mut self) -> usize {
        let mut n = 0;
        while let Ok(seen) = self.seen.try_recv() {
            if seen.code == Code::GET && seen.path == ["fw", "image.bin"] {
                n += 1;
            }
        }
        n
    }
}

/// A Security instance for a firmware repository at `uri` (no Server instance: the client
/// never registers there; a server or the bootstrap writes such instances).
fn repository(uri: &str, mode: i64, identity: &[u8], key: &[u8]) -> Security {
    Security {
        lwm2m_server_uri: uri.into(),
        bootstrap_server: false,
        security_mode: mode,
        public_key_or_identity: identity.to_vec(),
        secret_key: key.to_vec(),
        short_server_id: Some(77),
        ..Security::default()
    }
}

impl Device5 {
    /// Puts `security` at `/0/9`.
    async fn set_security(&self, security: Security) {
        self.handle
            .update_object(0, move |store: &mut TypedStore<Security>| {
                store.insert(9, security);
            })
            .await
            .unwrap()
            .expect("the client has a Security object");
    }
}

/// The State / Update Result changes in `events` so far.
fn states(events: &mut mpsc::Receiver<RuntimeEvent>) -> Vec<(FirmwareState, UpdateResult)> {
    let mut seen = Vec::new();
    while let Ok(event) = events.try_recv() {
        if let ClientEvent::FirmwareStateChanged { state, result } = event.event {
            seen.push((state, result));
        }
    }
    seen
}

/// What the sink and the object hold once the process left Downloading / Updating: State,
/// Update Result, the bytes, the number of writes, the installed packages.
type Settled = (FirmwareState, UpdateResult, Vec<u8>, usize, Vec<Vec<u8>>);

async fn settle(handle: &ClientHandle) -> Settled {
    for _ in 0..1_000 {
        let now = handle
            .with_client(|c, _| {
                let fw = c.object::<FirmwareObject>(5).unwrap();
                let sink = fw.sink::<MemorySink>().unwrap();
                (
                    fw.state(),
                    fw.result(),
                    sink.data().to_vec(),
                    sink.writes(),
                    sink.applied().to_vec(),
                )
            })
            .await
            .unwrap();
        if !matches!(now.0, FirmwareState::Downloading | FirmwareState::Updating) {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the update process did not settle");
}

/// A client with a Firmware Update object registered (over DTLS PSK) with the server at
/// `addr`; its handle, address and events. The server has seen the handshake and the Register.
async fn registered_with(
    server: &mut DtlsPeer,
) -> (ClientHandle, SocketAddr, mpsc::Receiver<RuntimeEvent>) {
    let addr = server.addr();
    let client = ClientBuilder::new("fw-node")
        .server(
            ServerAccount::new(101, addr)
                .uri(format!("coaps://{addr}"))
                .lifetime(300)
                .psk(IDENTITY, KEY),
        )
        .object(DeviceObject::new(Device {
            supported_binding_and_modes: "U".into(),
            ..Device::default()
        }))
        .object(FirmwareObject::new(MemorySink::new()))
        .firmware_resolver(resolve_udp)
        .build()
        .unwrap();
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let client_addr = socket.local_addr().unwrap();
    let (handle, mut events, _task) = run_client(client, socket);
    match server.next_event().await {
        DtlsEvent::Connected { handshake, .. } => {
            assert_eq!(handshake.identity.name(), Some("fw-node"));
        }
        other => panic!("expected the handshake, got {other:?}"),
    }
    let registered = timeout(LIMIT, events.recv()).await.unwrap().unwrap();
    assert!(
        matches!(registered.event, ClientEvent::Registered { ssid: 101, .. }),
        "{registered:?}"
    );
    (handle, client_addr, events)
}

/// The client registers with the DTLS server, which also serves the package: the download
/// goes through the registration's session (one handshake in all).
#[tokio::test]
async fn a_coaps_pull_from_the_registered_server_reuses_its_session_then_update_installs_it() {
    let data = image(5_000);
    let mut server = DtlsPeer::start(IDENTITY, KEY, data.clone()).await;
    let addr = server.addr();
    let (handle, client_addr, mut events) = registered_with(&mut server).await;
    let server_handle = server.endpoint.handle();
    let send = |request: Request| {
        let handle = server_handle.clone();
        async move {
            timeout(LIMIT, handle.request(client_addr, request))
                .await
                .expect("the client answers in time")
                .unwrap()
                .code()
        }
    };
    let uri = format!("coaps://{addr}/fw/image.bin");
    let write = Request::build(Code::PUT, |b| {
        b.uri_path("/5/0/1").content_format(0);
    })
    .unwrap()
    .with_payload(uri.into_bytes());
    assert_eq!(send(write).await, Code::CHANGED);
    let (state, result, bytes, writes, _) = settle(&handle).await;
    assert_eq!(
        (state, result),
        (FirmwareState::Downloaded, UpdateResult::Initial)
    );
    assert!(bytes == data, "the sink holds exactly the image");
    assert_eq!(writes, 5, "five 1 KiB Block2 blocks, one sink write each");
    // The endpoint answers the later blocks' GETs from the first answer's body: the
    // application sees the first GET only.
    assert_eq!(server.image_gets(), 1, "the package was fetched");

    let update = Request::build(Code::POST, |b| {
        b.uri_path("/5/0/2");
    })
    .unwrap();
    assert_eq!(send(update).await, Code::CHANGED);
    let (state, result, _, _, applied) = settle(&handle).await;
    assert_eq!(
        (state, result),
        (FirmwareState::Idle, UpdateResult::Success)
    );
    assert_eq!(applied, [data], "Update installed the downloaded image");
    assert_eq!(
        states(&mut events),
        [
            (FirmwareState::Downloading, UpdateResult::Initial),
            (FirmwareState::Downloaded, UpdateResult::Initial),
            (FirmwareState::Updating, UpdateResult::Initial),
            (FirmwareState::Idle, UpdateResult::Success),
        ]
    );
    // The registration's session carried the download: no second handshake.
    assert!(
        timeout(Duration::from_millis(300), server.events.next())
            .await
            .is_err(),
        "no other DTLS event"
    );
    server.endpoint.close().await;
}

/// The client registers with a `NoSec` server; the package is on another host, a DTLS
/// repository named by a Security instance of its own: the runtime opens a session for the
/// download with that instance's PSK, and closes it once the download is over.
#[tokio::test]
async fn a_coaps_pull_from_a_repository_opens_a_session_with_its_security_instance() {
    let data = image(5_000);
    let mut repo = DtlsPeer::start(IDENTITY, KEY, data.clone()).await;
    let mut device = Device5::start(MemorySink::new()).await;
    device
        .set_security(repository(
            &format!("coaps://{}", repo.addr()),
            0,
            IDENTITY,
            KEY,
        ))
        .await;
    let uri = format!("coaps://{}/fw/image.bin", repo.addr());
    assert_eq!(device.write_uri(&uri).await, Code::CHANGED);
    assert_eq!(
        device.settle(30).await,
        (FirmwareState::Downloaded, UpdateResult::Initial)
    );
    assert!(device.sink_data().await == data, "the sink holds the image");
    match repo.next_event().await {
        DtlsEvent::Connected {
            handshake, peer, ..
        } => {
            assert_eq!(peer, device.addr);
            assert_eq!(handshake.identity.name(), Some("fw-node"));
        }
        other => panic!("expected the handshake, got {other:?}"),
    }
    assert_eq!(repo.image_gets(), 1);
    let writes = device
        .handle
        .with_client(|c, _| {
            let fw = c.object::<FirmwareObject>(5).unwrap();
            fw.sink::<MemorySink>().unwrap().writes()
        })
        .await
        .unwrap();
    assert_eq!(writes, 5, "five 1 KiB Block2 blocks");
    // The download is over: the client says close_notify.
    match repo.next_event().await {
        DtlsEvent::Closed { peer, .. } => assert_eq!(peer, device.addr),
        other => panic!("expected the session to close, got {other:?}"),
    }
    assert_eq!(device.execute_update().await, Code::CHANGED);
    assert_eq!(
        device.settle(10).await,
        (FirmwareState::Idle, UpdateResult::Success)
    );
    assert_eq!(device.applied().await, [data]);
    assert_eq!(
        states(&mut device.events),
        [
            (FirmwareState::Downloading, UpdateResult::Initial),
            (FirmwareState::Downloaded, UpdateResult::Initial),
            (FirmwareState::Updating, UpdateResult::Initial),
            (FirmwareState::Idle, UpdateResult::Success),
        ]
    );
    repo.endpoint.close().await;
}

/// The repository knows another key: the handshake fails, the download ends with result 4
/// (connection lost) and the state goes back to Idle; the client task keeps running, and once
/// the Security instance holds the right key the next download succeeds.
#[tokio::test]
async fn a_wrong_psk_is_result_4_and_the_task_keeps_running() {
    let data = image(3_000);
    let right = b"fedcba9876543210";
    let mut repo = DtlsPeer::start(IDENTITY, right, data.clone()).await;
    let device = Device5::start(MemorySink::new()).await;
    let security_uri = format!("coaps://{}", repo.addr());
    device
        .set_security(repository(&security_uri, 0, IDENTITY, KEY))
        .await;
    let uri = format!("coaps://{}/fw/image.bin", repo.addr());
    assert_eq!(device.write_uri(&uri).await, Code::CHANGED);
    assert_eq!(
        device.settle(30).await,
        (FirmwareState::Idle, UpdateResult::ConnectionLost)
    );
    assert!(
        matches!(repo.next_event().await, DtlsEvent::Failed { .. }),
        "the repository saw the handshake fail"
    );
    assert_eq!(repo.image_gets(), 0, "no GET got through");
    assert!(!device.handle.is_closed(), "the client task runs on");

    device
        .set_security(repository(&security_uri, 0, IDENTITY, right))
        .await;
    assert_eq!(device.write_uri(&uri).await, Code::CHANGED);
    assert_eq!(
        device.settle(30).await,
        (FirmwareState::Downloaded, UpdateResult::Initial)
    );
    assert!(device.sink_data().await == data);
    repo.endpoint.close().await;
}

/// Without a Security instance naming the host and port, with a `NoSec` one, or with a key
/// the DTLS library refuses, the write succeeds, the download fails with result 7 (invalid
/// URI) and the state stays Idle; nothing reaches the repository's port in clear.
#[tokio::test]
async fn no_usable_security_instance_is_result_7_and_nothing_is_sent() {
    let device = Device5::start(MemorySink::new()).await;
    let watcher = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let port = watcher.local_addr().unwrap().port();
    let uri = format!("coaps://127.0.0.1:{port}/fw.bin");
    let security_uri = format!("coaps://127.0.0.1:{port}");

    // No instance names 127.0.0.1:<port> (one names another port).
    device
        .set_security(repository(
            &format!("coaps://127.0.0.1:{}", port.wrapping_add(1)),
            0,
            IDENTITY,
            KEY,
        ))
        .await;
    assert_eq!(device.write_uri(&uri).await, Code::CHANGED);
    assert_eq!(
        device.settle(10).await,
        (FirmwareState::Idle, UpdateResult::InvalidUri)
    );
    // One that does, but NoSec (mode 3).
    device
        .set_security(repository(&security_uri, 3, b"", b""))
        .await;
    assert_eq!(device.write_uri(&uri).await, Code::CHANGED);
    assert_eq!(
        device.settle(10).await,
        (FirmwareState::Idle, UpdateResult::InvalidUri)
    );
    // A PSK with an empty identity: the DTLS library refuses it.
    device
        .set_security(repository(&security_uri, 0, b"", KEY))
        .await;
    assert_eq!(device.write_uri(&uri).await, Code::CHANGED);
    assert_eq!(
        device.settle(10).await,
        (FirmwareState::Idle, UpdateResult::InvalidUri)
    );
    let mut buf = [0u8; 2048];
    assert!(
        timeout(Duration::from_millis(500), watcher.recv_from(&mut buf))
            .await
            .is_err(),
        "nothing was sent to the repository"
    );
    assert!(!device.handle.is_closed(), "the client task runs on");
}

/// libcoap's `coap-server-openssl` as an independent DTLS peer: the image is stored on it with
/// a Block1 PUT over plain CoAP (`-d` allows creating resources), then pulled over `CoAPS` from
/// its DTLS port (its UDP port + 1) with the PSK it was started with (`-k`).
#[cfg(feature = "dtls-openssl")]
#[tokio::test]
async fn a_coaps_pull_from_libcoap_coap_server_openssl() {
    let (port, psk) = (free_port_pair(), "secretPSK");
    let _server = Libcoap::start(
        "coap-server-openssl",
        &[
            "-A",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-d",
            "10",
            "-k",
            psk,
        ],
    );
    let plain: SocketAddr = ([127, 0, 0, 1], port).into();
    let secure: SocketAddr = ([127, 0, 0, 1], port + 1).into();
    let data = image(20 * 1024);
    store_on_libcoap(plain, &data).await;

    let device = Device5::start(MemorySink::new()).await;
    device
        .set_security(repository(
            &format!("coaps://{secure}"),
            0,
            IDENTITY,
            psk.as_bytes(),
        ))
        .await;
    assert_eq!(
        device.write_uri(&format!("coaps://{secure}/fw")).await,
        Code::CHANGED
    );
    assert_eq!(
        device.settle(60).await,
        (FirmwareState::Downloaded, UpdateResult::Initial)
    );
    assert!(
        device.sink_data().await == data,
        "the sink got libcoap's bytes"
    );
}

/// A loopback UDP port whose successor is free too (libcoap puts DTLS on port + 1).
#[cfg(feature = "dtls-openssl")]
fn free_port_pair() -> u16 {
    for _ in 0..100 {
        let first = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = first.local_addr().unwrap().port();
        if port < u16::MAX && std::net::UdpSocket::bind(("127.0.0.1", port + 1)).is_ok() {
            return port;
        }
    }
    panic!("no two consecutive free UDP ports on loopback");
}
