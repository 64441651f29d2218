//! The `lwm2m-server` binary with `bootstrap_addr` (from its TOML file): a client that knows
//! only the bootstrap server is bootstrapped from the configuration in the binary's redb store,
//! then registers with the binary's LwM2M server, which lists it over HTTP.
#![cfg(feature = "redb")]

mod bootstrap_support;

use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use lwm2m_objects::{Security, Server};
use lwm2m_server::store::{BootstrapConfig, BootstrapConfigStore, RedbStore};
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

/// The binary's process, killed if the test ends early.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `GET target`; the status and body.
async fn get(addr: SocketAddr, target: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(addr).await.ok()?;
    let request = format!("GET {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await.ok()?;
    let status = response.split(' ').nth(1)?.parse().ok()?;
    Some((status, response.split_once("\r\n\r\n")?.1.to_owned()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_bootstraps_a_client_to_itself() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let (coap, bs, api) = (free_udp(), free_udp(), free_tcp());
    {
        // The operator's configuration, stored before the binary starts.
        let mut store = RedbStore::open(data.join("registrations.redb")).unwrap();
        let config = BootstrapConfig::new()
            .security(
                1,
                &Security {
                    lwm2m_server_uri: format!("coap://{coap}").into(),
                    security_mode: 3,
                    short_server_id: Some(7),
                    ..Security::default()
                },
            )
            .unwrap()
            .server(
                0,
                &Server {
                    short_server_id: 7,
                    lifetime: 120,
                    binding: "U".into(),
                    ..Server::default()
                },
            )
            .unwrap();
        store.put_default_config(config).unwrap();
    }
    let toml = dir.path().join("server.toml");
    std::fs::write(
        &toml,
        format!("bootstrap_addr = \"{bs}\"\nhttp_addr = \"{api}\"\n"),
    )
    .unwrap();
    let mut child = Running(
        Command::new(env!("CARGO_BIN_EXE_lwm2m-server"))
            .arg("--coap-addr")
            .arg(coap.to_string())
            .arg("--data-dir")
            .arg(&data)
            .arg("--config")
            .arg(&toml)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );

    let _client = bootstrap_support::spawn_bootstrapping_client("bin-bs", bs);
    let start = Instant::now();
    let listed = loop {
        if let Some((200, body)) = get(api, "/api/clients").await {
            if body.contains("\"bin-bs\"") {
                break body;
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "never bootstrapped and registered"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let clients: serde_json::Value = serde_json::from_str(&listed).unwrap();
    assert_eq!(clients[0]["lifetime"], 120);

    let killed = Command::new("kill")
        .arg("-TERM")
        .arg(child.0.id().to_string())
        .status()
        .unwrap();
    assert!(killed.success());
    let exit = child.0.wait().unwrap();
    assert!(exit.success(), "{exit:?}");
}
