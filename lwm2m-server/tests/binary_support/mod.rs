//! The `lwm2m-server` binary as a child process, for the tests that run it.
#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::support::http::call;

pub fn free_udp() -> SocketAddr {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

pub fn free_tcp() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// The binary; killed on drop if still running.
pub struct Binary(pub Child);

impl Binary {
    pub fn start(args: &[String]) -> Binary {
        Binary(
            Command::new(env!("CARGO_BIN_EXE_lwm2m-server"))
                .args(args)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        )
    }

    pub fn terminate(mut self) {
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
pub async fn wait_for(api: SocketAddr, target: &str, needle: &str) -> serde_json::Value {
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
