//! Firmware Update pull over CoAP on loopback, with the tokio runtime: the server writes a
//! `coap://` Package URI and the client fetches the package block by block (Block2) from our
//! own transport endpoint and from libcoap's `coap-server-notls`, streaming it into the sink;
//! then the failures (not found, nobody there, the sink full, bad and unsupported URIs).
#![cfg(feature = "tokio")]

mod firmware_support;
mod udp;

use std::net::SocketAddr;
use std::time::Duration;

use firmware_support::{image, store_on_libcoap, Device5, Libcoap};
use lwm2m_client::firmware::{FirmwareState, MemorySink, UpdateResult};
use lwm2m_client::Timings;
use lwm2m_codec::coap::Code;
use lwm2m_transport::udp::UdpEndpoint;
use lwm2m_transport::{Request, Response};

/// A CoAP file server on our transport: `/fw/image.bin` is `body`, anything else 4.04. Returns
/// its address and the endpoint (dropping it stops the server).
async fn file_server(body: Vec<u8>) -> (SocketAddr, UdpEndpoint) {
    let endpoint = UdpEndpoint::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let addr = endpoint.local_addr();
    let mut incoming = endpoint.incoming();
    tokio::spawn(async move {
        while let Some(request) = incoming.next().await {
            let msg = request.request.message().unwrap();
            let path: Vec<String> = msg.uri_path().unwrap().map(String::from).collect();
            let response = if path == ["fw", "image.bin"] {
                Response::build(Code::CONTENT, |b| {
                    b.content_format(42);
                })
                .unwrap()
                .with_payload(body.clone())
            } else {
                Response::new(Code::NOT_FOUND)
            };
            let _ = request.responder.respond(response);
        }
    });
    (addr, endpoint)
}

#[tokio::test]
async fn a_coap_pull_streams_150_kib_block_by_block_then_update_installs_it() {
    let data = image(150 * 1024);
    let (fs, _fs_endpoint) = file_server(data.clone()).await;
    let device = Device5::start(MemorySink::new()).await;
    let uri = format!("coap://{fs}/fw/image.bin");
    assert_eq!(device.write_uri(&uri).await, Code::CHANGED);
    assert_eq!(
        device.settle(30).await,
        (FirmwareState::Downloaded, UpdateResult::Initial)
    );
    assert!(
        device.sink_data().await == data,
        "the sink got exactly the image"
    );
    let writes = device
        .handle
        .with_client(|c, _| {
            let fw = c.object::<lwm2m_client::FirmwareObject>(5).unwrap();
            (
                fw.sink::<MemorySink>().unwrap().writes(),
                c.endpoint().stats().reassembly_bytes,
            )
        })
        .await
        .unwrap();
    assert_eq!(
        writes,
        (150, 0),
        "one write per 1 KiB block, nothing reassembled"
    );
    assert_eq!(device.execute_update().await, Code::CHANGED);
    assert_eq!(
        device.settle(10).await,
        (FirmwareState::Idle, UpdateResult::Success)
    );
    assert_eq!(device.applied().await, [data]);
}

#[tokio::test]
async fn a_coap_404_is_result_7_and_a_full_sink_is_result_2() {
    let (fs, _fs_endpoint) = file_server(image(20_000)).await;
    let device = Device5::start(MemorySink::with_capacity_limit(8_000)).await;
    assert_eq!(
        device.write_uri(&format!("coap://{fs}/missing")).await,
        Code::CHANGED
    );
    assert_eq!(
        device.settle(10).await,
        (FirmwareState::Idle, UpdateResult::InvalidUri)
    );
    assert_eq!(
        device.write_uri(&format!("coap://{fs}/fw/image.bin")).await,
        Code::CHANGED
    );
    assert_eq!(
        device.settle(10).await,
        (FirmwareState::Idle, UpdateResult::NotEnoughFlash)
    );
    assert!(device.sink_data().await.is_empty());
}

#[tokio::test]
async fn nobody_at_the_coap_uri_is_result_4() {
    let mut timings = Timings::default();
    timings.transport.transmission.ack_timeout = Duration::from_millis(50);
    timings.transport.transmission.max_retransmit = 1;
    let device = Device5::with_timings(MemorySink::new(), timings).await;
    // A port nobody listens on: the GET is never answered.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let uri = format!("coap://{}/fw.bin", silent.local_addr().unwrap());
    assert_eq!(device.write_uri(&uri).await, Code::CHANGED);
    assert_eq!(
        device.settle(10).await,
        (FirmwareState::Idle, UpdateResult::ConnectionLost)
    );
}

#[tokio::test]
async fn bad_and_unsupported_uris_set_results_7_and_9_and_a_busy_write_is_4_00() {
    let device = Device5::start(MemorySink::new()).await;
    assert_eq!(device.write_uri("coap//no-host").await, Code::CHANGED);
    assert_eq!(
        device.status().await,
        (FirmwareState::Idle, UpdateResult::InvalidUri)
    );
    assert_eq!(device.write_uri("ftp://127.0.0.1/fw").await, Code::CHANGED);
    assert_eq!(
        device.status().await,
        (FirmwareState::Idle, UpdateResult::UnsupportedProtocol)
    );
    // CoAPS is listed in /5/0/8 with DTLS, but no Security instance names 127.0.0.1:5684:
    // result 7 (tests/firmware_coaps.rs has the rest); without DTLS it is not listed: 9.
    assert_eq!(
        device.write_uri("coaps://127.0.0.1/fw").await,
        Code::CHANGED
    );
    assert_eq!(
        device.status().await,
        (
            FirmwareState::Idle,
            if cfg!(feature = "dtls") {
                UpdateResult::InvalidUri
            } else {
                UpdateResult::UnsupportedProtocol
            }
        )
    );
    // Update outside Downloaded: 4.05.
    assert_eq!(device.execute_update().await, Code::METHOD_NOT_ALLOWED);
    // A download that hangs (nobody answers) blocks a second URI with 4.00 until reset.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let uri = format!("coap://{}/fw.bin", silent.local_addr().unwrap());
    assert_eq!(device.write_uri(&uri).await, Code::CHANGED);
    assert_eq!(device.status().await.0, FirmwareState::Downloading);
    assert_eq!(device.write_uri(&uri).await, Code::BAD_REQUEST);
    assert_eq!(device.write_uri("").await, Code::CHANGED);
    assert_eq!(
        device.status().await,
        (FirmwareState::Idle, UpdateResult::Initial)
    );
    // /5/0/8 lists what this build pulls: CoAP (0), and CoAPS, HTTP, HTTPS (1, 2, 3) with
    // the features.
    let read = Request::build(Code::GET, |b| {
        b.uri_path("/5/0/8").accept(11543);
    })
    .unwrap();
    let response = device
        .server
        .endpoint
        .handle()
        .request(device.addr, read)
        .await
        .unwrap();
    let json = String::from_utf8(response.body().to_vec()).unwrap();
    assert!(json.contains(r#""n":"0","v":0"#), "{json}");
    assert_eq!(json.contains(r#""v":1"#), cfg!(feature = "dtls"), "{json}");
    assert_eq!(json.contains(r#""v":2"#), cfg!(feature = "http"), "{json}");
    assert_eq!(json.contains(r#""v":3"#), cfg!(feature = "https"), "{json}");
}

#[tokio::test]
async fn a_coap_pull_from_libcoap_coap_server_notls() {
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _server = Libcoap::start(
        "coap-server-notls",
        &["-A", "127.0.0.1", "-p", &port.to_string(), "-d", "10"],
    );
    let libcoap_addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let data = image(64 * 1024);
    store_on_libcoap(libcoap_addr, &data).await;

    let device = Device5::start(MemorySink::new()).await;
    assert_eq!(
        device.write_uri(&format!("coap://{libcoap_addr}/fw")).await,
        Code::CHANGED
    );
    assert_eq!(
        device.settle(30).await,
        (FirmwareState::Downloaded, UpdateResult::Initial)
    );
    assert!(
        device.sink_data().await == data,
        "the sink got libcoap's bytes"
    );
}
