//! The `lwm2m-server` binary with `--store redis://...`: a client registers, the binary stops
//! (SIGTERM) and starts again on the same Redis, and the registration is still there.
#![cfg(feature = "redis")]

mod redis_server;
mod support;

use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use redis_server::RedisServer;
use support::http::call;

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

/// The binary; killed on drop if still running.
struct Binary(Child);

impl Binary {
    fn start(args: &[String]) -> Binary {
        Binary(
            Command::new(env!("CARGO_BIN_EXE_lwm2m-server"))
                .args(args)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        )
    }

    fn terminate(mut self) {
        let killed = Command::new("kill")
            .arg("-TERM")
            .arg(self.0.id().to_string())
            .status()
            .unwrap();
        assert!(killed.success());
        let exit = self.0.wait().unwrap();
        assert!(exit.success(), "{exit:?}");
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Polls `GET target` until it answers 200 with a body containing `needle`.
async fn wait_for(api: SocketAddr, target: &str, needle: &str) -> serde_json::Value {
    let start = Instant::now();
    loop {
        if tokio::net::TcpStream::connect(api).await.is_ok() {
            let (status, body) = call(api, "GET", target, "").await;
            if status == 200 && body.contains(needle) {
                return serde_json::from_str(&body).unwrap();
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{target} never showed {needle}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registrations_survive_a_restart_in_redis() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let coap = free_udp();
    let api = free_tcp();
    let args: Vec<String> = vec![
        "--store".into(),
        redis.url(),
        "--coap-addr".into(),
        coap.to_string(),
        "--http-addr".into(),
        api.to_string(),
        "--data-dir".into(),
        dir.path().join("data").display().to_string(),
    ];
    let binary = Binary::start(&args);
    let client = support::spawn("redis-client", coap);
    let before = wait_for(api, "/api/clients/redis-client", "redis-client").await;
    binary.terminate();
    // The client goes quiet; what the second binary shows comes from Redis.
    drop(client);

    let binary = Binary::start(&args);
    let after = wait_for(api, "/api/clients/redis-client", "redis-client").await;
    assert_eq!(after["id"], before["id"]);
    assert_eq!(after["registered_at_ms"], before["registered_at_ms"]);
    assert_eq!(after["lifetime"], 300);
    // Nothing went to the embedded store.
    assert!(!dir.path().join("data/registrations.redb").exists());
    binary.terminate();

    // A bad store is refused at start.
    let mut bad = args.clone();
    bad[1] = "mysql://x".into();
    let mut child = Binary::start(&bad);
    let exit = child.0.wait().unwrap();
    assert!(!exit.success());
}
