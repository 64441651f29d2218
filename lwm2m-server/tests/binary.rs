//! Starts the real `lwm2m-server` binary on free ports, registers a client, and sees it through
//! the HTTP API; then stops the binary with SIGTERM.

mod support;

use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn free_udp() -> SocketAddr {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

fn free_tcp() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// One HTTP/1.1 request; returns the status code and the body.
async fn http(addr: SocketAddr, method: &str, target: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(addr).await.ok()?;
    let request =
        format!("{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await.ok()?;
    let status = response.split(' ').nth(1)?.parse().ok()?;
    let body = response.split_once("\r\n\r\n")?.1.to_owned();
    Some((status, body))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_lists_a_registered_client_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let coap = free_udp();
    let api = free_tcp();
    // The HTTP address comes from the config file, the rest from flags.
    let config = dir.path().join("server.toml");
    std::fs::write(&config, format!("http_addr = \"{api}\"\n")).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_lwm2m-server"))
        .arg("--coap-addr")
        .arg(coap.to_string())
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .arg("--config")
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();

    let _client = support::spawn("bin-client", coap);
    let start = Instant::now();
    let listed = loop {
        if let Some((200, body)) = http(api, "GET", "/api/clients").await {
            if body.contains("\"bin-client\"") {
                break body;
            }
        }
        assert!(start.elapsed() < Duration::from_secs(20), "never listed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let clients: serde_json::Value = serde_json::from_str(&listed).unwrap();
    assert_eq!(clients[0]["endpoint"], "bin-client");
    assert_eq!(clients[0]["lifetime"], 300);

    let (status, body) = http(api, "GET", "/api/clients/bin-client/3/0/0")
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("Open Mobile Alliance"), "{body}");
    let (status, _) = http(api, "GET", "/api/clients/nobody").await.unwrap();
    assert_eq!(status, 404);
    let (status, _) = http(api, "POST", "/api/clients/bin-client/3/0/4")
        .await
        .unwrap();
    assert_eq!(status, 204);

    // SIGTERM: a graceful stop, and the store file is there.
    let killed = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(killed.success());
    let exit = child.wait().unwrap();
    assert!(exit.success(), "{exit:?}");
    assert!(dir.path().join("data/registrations.redb").exists());
}
