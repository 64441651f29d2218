//! Firmware Update pull over HTTP (feature `http`), with the tokio runtime: a plain
//! `std::net::TcpListener` HTTP/1.1 server on 127.0.0.1 serves the image; the client streams
//! it into the sink. Then the failures: a connection cut mid-body, 404, nobody listening, a
//! full sink.
#![cfg(feature = "http")]

mod firmware_support;
mod udp;

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener};
use std::thread;

use firmware_support::{image, Device5};
use lwm2m_client::firmware::{FirmwareState, MemorySink, UpdateResult};
use lwm2m_codec::coap::Code;

/// How the test server answers.
#[derive(Clone)]
enum Serve {
    /// 200 with the whole body.
    Whole(Vec<u8>),
    /// 200 announcing the whole body, then only its first `cut` bytes and a closed connection.
    Cut(Vec<u8>, usize),
    /// 404.
    NotFound,
}

/// Answers `connections` requests on a loopback port, then stops; returns the port's address.
fn http_server(serve: Serve, connections: usize) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        for stream in listener.incoming().take(connections) {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            reader.read_line(&mut request_line).unwrap();
            assert!(
                request_line.starts_with("GET /fw/image.bin "),
                "{request_line}"
            );
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
                    break;
                }
            }
            let (head, body): (String, &[u8]) = match &serve {
                Serve::Whole(body) => (
                    format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    ),
                    body,
                ),
                Serve::Cut(body, cut) => (
                    format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    ),
                    &body[..*cut],
                ),
                Serve::NotFound => (
                    "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                        .into(),
                    &[][..],
                ),
            };
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(body);
            let _ = stream.flush();
        }
    });
    addr
}

#[tokio::test]
async fn an_http_pull_streams_200_kib_into_the_sink_then_update_installs_it() {
    let data = image(200 * 1024);
    let addr = http_server(Serve::Whole(data.clone()), 1);
    let device = Device5::start(MemorySink::new()).await;
    let uri = format!("http://{addr}/fw/image.bin");
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
async fn a_connection_cut_mid_body_is_result_4() {
    let data = image(100 * 1024);
    let addr = http_server(Serve::Cut(data, 40 * 1024), 1);
    let device = Device5::start(MemorySink::new()).await;
    let uri = format!("http://{addr}/fw/image.bin");
    assert_eq!(device.write_uri(&uri).await, Code::CHANGED);
    assert_eq!(
        device.settle(30).await,
        (FirmwareState::Idle, UpdateResult::ConnectionLost)
    );
    assert!(device.sink_data().await.is_empty(), "the sink was aborted");
}

#[tokio::test]
async fn http_404_is_result_7_and_nobody_listening_is_result_4() {
    let addr = http_server(Serve::NotFound, 1);
    let device = Device5::start(MemorySink::new()).await;
    assert_eq!(
        device
            .write_uri(&format!("http://{addr}/fw/image.bin"))
            .await,
        Code::CHANGED
    );
    assert_eq!(
        device.settle(30).await,
        (FirmwareState::Idle, UpdateResult::InvalidUri)
    );
    // A port that was free a moment ago: connection refused.
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    assert_eq!(
        device
            .write_uri(&format!("http://{closed}/fw/image.bin"))
            .await,
        Code::CHANGED
    );
    assert_eq!(
        device.settle(30).await,
        (FirmwareState::Idle, UpdateResult::ConnectionLost)
    );
}

#[tokio::test]
async fn a_sink_that_runs_out_of_room_during_an_http_pull_is_result_2() {
    let addr = http_server(Serve::Whole(image(100 * 1024)), 1);
    let device = Device5::start(MemorySink::with_capacity_limit(30 * 1024)).await;
    assert_eq!(
        device
            .write_uri(&format!("http://{addr}/fw/image.bin"))
            .await,
        Code::CHANGED
    );
    assert_eq!(
        device.settle(30).await,
        (FirmwareState::Idle, UpdateResult::NotEnoughFlash)
    );
}
