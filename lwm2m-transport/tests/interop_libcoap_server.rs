//! Our client against a real libcoap 4.3 server (`coap-server-notls`, Debian `libcoap3-bin`)
//! on loopback: GET, PUT then GET, observe, and a Block1 upload read back with Block2.
#![cfg(feature = "tokio")]

mod interop;

use std::net::SocketAddr;
use std::time::Duration;

use interop::{libcoap, pattern, wait_until_serving, PeerProcess};
use lwm2m_codec::coap::Code;
use lwm2m_transport::udp::{Handle, Notification, UdpEndpoint};
use lwm2m_transport::Request;
use tokio::time::timeout;

const LIMIT: Duration = Duration::from_secs(20);

/// A libcoap server on a free port that lets clients create up to 10 resources, and a client
/// endpoint that has seen it answer.
async fn libcoap_server() -> (PeerProcess, SocketAddr, UdpEndpoint, Handle) {
    let port = interop::free_port();
    let port_text = port.to_string();
    let mut process = PeerProcess::start(
        &libcoap("coap-server-notls"),
        &["-A", "127.0.0.1", "-p", &port_text, "-d", "10"],
    );
    let peer: SocketAddr = ([127, 0, 0, 1], port).into();
    let client = UdpEndpoint::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let handle = client.handle();
    wait_until_serving(&handle, peer, &mut process).await;
    (process, peer, client, handle)
}

fn request(code: Code, path: &str) -> Request {
    Request::build(code, |b| {
        b.uri_path(path);
    })
    .unwrap()
}

#[tokio::test]
async fn get_of_the_root_returns_the_server_banner() {
    let (_server, peer, client, handle) = libcoap_server().await;
    let response = timeout(LIMIT, handle.request(peer, request(Code::GET, "/")))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(response.code(), Code::CONTENT);
    let body = String::from_utf8_lossy(response.body());
    assert!(
        body.contains("This is a test server made with libcoap"),
        "{body}"
    );
    client.close().await;
}

#[tokio::test]
async fn put_then_get_example_data_returns_what_was_put() {
    let (_server, peer, client, handle) = libcoap_server().await;
    let body = b"lwm2m-rs was here".to_vec();
    let put = Request::build(Code::PUT, |b| {
        b.uri_path("/example_data").content_format(0);
    })
    .unwrap()
    .with_payload(body.clone());
    let changed = timeout(LIMIT, handle.request(peer, put))
        .await
        .unwrap()
        .unwrap();
    assert!(
        changed.code() == Code::CHANGED || changed.code() == Code::CREATED,
        "{:?}",
        changed.code()
    );
    let got = timeout(
        LIMIT,
        handle.request(peer, request(Code::GET, "/example_data")),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(got.code(), Code::CONTENT);
    assert_eq!(got.body().as_ref(), body.as_slice());
    client.close().await;
}

#[tokio::test]
async fn observing_time_delivers_fresh_notifications() {
    let (_server, peer, client, handle) = libcoap_server().await;
    let mut observation = timeout(LIMIT, handle.observe(peer, request(Code::GET, "/time")))
        .await
        .unwrap()
        .unwrap();
    assert!(observation.is_established(), "{:?}", observation.response());
    assert_eq!(observation.response().code(), Code::CONTENT);
    let first_sequence = observation.response().observe().unwrap();
    let mut sequences = vec![first_sequence];
    // /time changes every second; take two notifications.
    while sequences.len() < 3 {
        match timeout(Duration::from_secs(10), observation.next()).await {
            Ok(Some(Notification::Value(value))) => {
                assert_eq!(value.code(), Code::CONTENT);
                assert!(!value.body().is_empty(), "a time string");
                sequences.push(value.observe().unwrap());
            }
            other => panic!("expected a notification, got {other:?}"),
        }
    }
    assert!(
        sequences.windows(2).all(|w| w[0] != w[1]),
        "fresh sequence numbers: {sequences:?}"
    );
    let last = timeout(LIMIT, observation.cancel()).await.unwrap().unwrap();
    assert_eq!(last.code(), Code::CONTENT);
    assert_eq!(last.observe(), None, "the deregistration answer ends it");
    client.close().await;
}

#[tokio::test]
async fn a_large_resource_goes_up_in_block1_and_comes_back_in_block2() {
    let (_server, peer, client, handle) = libcoap_server().await;
    let body = pattern(20 * 1024 + 123);
    let put = Request::build(Code::PUT, |b| {
        b.uri_path("/large").content_format(42);
    })
    .unwrap()
    .with_payload(body.clone());
    let created = timeout(LIMIT, handle.request(peer, put))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(created.code(), Code::CREATED);
    let got = timeout(LIMIT, handle.request(peer, request(Code::GET, "/large")))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.code(), Code::CONTENT);
    assert_eq!(got.body().len(), body.len());
    assert!(got.body().as_ref() == body.as_slice(), "the bytes differ");
    // It did come block-wise: the first block's options are kept.
    let message = got.message().unwrap();
    let block = message.block2().unwrap().expect("a Block2 option");
    assert!(block.more() && block.num() == 0, "{block:?}");
    client.close().await;
}
