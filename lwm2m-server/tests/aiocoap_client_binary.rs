//! The `lwm2m-server` binary driven by the scripted aiocoap LwM2M client of
//! `tests/peers/lwm2m_client.py`: the malformed registrations get their codes, the valid one is
//! listed by the HTTP API, and a Read through the HTTP API returns the peer's Device values.
// The binary exists only with its embedded store.
#![cfg(feature = "redb")]

mod peers;

use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::process::Stdio;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::process::Command;

const LIMIT: Duration = Duration::from_secs(20);
const ENDPOINT: &str = "aiocoap-bin-node";

/// A loopback address whose port was free a moment ago.
fn free(udp: bool) -> SocketAddr {
    if udp {
        UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
    } else {
        TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
    }
}

/// `GET target` on the HTTP API: the status and the body (`None` while nothing listens).
async fn get(api: SocketAddr, target: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(api).await.ok()?;
    let head = format!("GET {target} HTTP/1.1\r\nHost: {api}\r\nConnection: close\r\n\r\n");
    stream.write_all(head.as_bytes()).await.ok()?;
    let mut text = String::new();
    stream.read_to_string(&mut text).await.ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, body.to_owned()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aiocoap_client_registers_with_the_binary_and_is_read_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let (coap, api) = (free(true), free(false));
    let _server = Command::new(env!("CARGO_BIN_EXE_lwm2m-server"))
        .arg("--coap-addr")
        .arg(coap.to_string())
        .arg("--http-addr")
        .arg(api.to_string())
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start the lwm2m-server binary");
    // The HTTP API answers once the server is up (its CoAP socket is bound before).
    let mut up = false;
    for _ in 0..200 {
        if get(api, "/api/clients").await.is_some() {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(up, "the binary's HTTP API never answered on {api}");

    let mut peer = peers::spawn(
        "lwm2m_client.py",
        &[&format!("coap://{coap}"), ENDPOINT, "hold"],
    );
    for (name, code) in [
        ("register-without-ep", "4.00"),
        ("register-bad-lt", "4.00"),
        ("register-bad-links", "4.00"),
        ("update-unknown", "4.04"),
        ("register", "2.01"),
    ] {
        let line = peer.expect("request", LIMIT).await;
        assert_eq!(
            (&line["name"], &line["code"]),
            (&json!(name), &json!(code)),
            "{}",
            peer.context()
        );
    }
    peer.expect("holding", LIMIT).await;

    let (status, body) = get(api, "/api/clients").await.expect("the client list");
    assert_eq!(status, 200, "{body}");
    let clients: Value = serde_json::from_str(&body).unwrap();
    let clients = clients.as_array().expect("a list");
    assert_eq!(clients.len(), 1, "only the valid Register counts: {body}");
    assert_eq!(clients[0]["endpoint"], ENDPOINT);
    assert_eq!(clients[0]["lifetime"], 60);
    assert_eq!(clients[0]["objects"], "</1/0>,</3/0>");

    // A Read through the HTTP API: the peer's TLV answer, as LwM2M JSON.
    let (status, body) = get(api, &format!("/api/clients/{ENDPOINT}/3/0"))
        .await
        .expect("the read");
    assert_eq!(status, 200, "{body}");
    let device: Value = serde_json::from_str(&body).unwrap();
    let entries = device["e"].as_array().expect("JSON entries");
    for expected in [
        json!({"n": "0", "sv": "Open Mobile Alliance"}),
        json!({"n": "1", "sv": "Lightweight M2M Client"}),
        json!({"n": "9", "v": 100}),
        json!({"n": "14", "sv": "+02:00"}),
        json!({"n": "6/1", "v": 5}),
    ] {
        assert!(entries.contains(&expected), "{expected} not in {body}");
    }
    let served = peer.expect("served", LIMIT).await;
    assert_eq!(
        (&served["path"], &served["accept"]),
        (&json!("3/0"), &json!(11542)),
        "{served}"
    );
}
