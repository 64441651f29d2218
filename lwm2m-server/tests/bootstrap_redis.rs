//! The bootstrap server on a `RedisStore`: two bootstrap server nodes share one Redis, so a
//! configuration set through one node serves a client that asks the other. The test starts its
//! own `redis-server` on a free loopback port (killed when the test ends); a missing
//! `redis-server` fails the test: `cargo xtask install` installs it.
#![cfg(feature = "redis")]

mod bootstrap_support;

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use lwm2m_objects::{Security, Server as ServerObject};
use lwm2m_server::bootstrap::{BootstrapEvent, BootstrapServer};
use lwm2m_server::registration::RegistrationEvent;
use lwm2m_server::server::{Server, ServerEvent};
use lwm2m_server::store::{BootstrapConfig, RedisStore};
use tokio::time::timeout;

/// A `redis-server` child process; killed (by its pid) on drop.
struct RedisServer {
    child: Child,
    url: String,
}

impl RedisServer {
    fn start() -> RedisServer {
        let found = Command::new("redis-server")
            .arg("--version")
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            found,
            "redis-server is not installed: run `cargo xtask install`"
        );
        // Another process may take the free port first: then the child exits; try another.
        for _ in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .unwrap()
                .port();
            let child = Command::new("redis-server")
                .args(["--port", &port.to_string()])
                .args(["--bind", "127.0.0.1", "--save", "", "--daemonize", "no"])
                .args(["--appendonly", "no"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start redis-server");
            let mut server = RedisServer {
                child,
                url: format!("redis://127.0.0.1:{port}/"),
            };
            if server.ready() {
                return server;
            }
        }
        panic!("redis-server did not come up on any of 5 ports");
    }

    /// Waits (at most 10 s) until a store can be opened; false if the child exited.
    fn ready(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.child.try_wait().unwrap().is_some() {
                return false;
            }
            if RedisStore::open(&self.url).is_ok() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("redis-server at {} did not come up in 10 s", self.url);
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_share_configurations_through_redis() {
    let redis = RedisServer::start();
    let server = Server::builder()
        .bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let mut server_events = server.events();
    let node = |_: u8| async {
        BootstrapServer::builder()
            .store(RedisStore::open(&redis.url).unwrap())
            .bind("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap()
    };
    let (a, b) = (node(1).await, node(2).await);
    let config = BootstrapConfig::new()
        .security(
            1,
            &Security {
                lwm2m_server_uri: format!("coap://{}", server.local_addr()).into(),
                security_mode: 3,
                short_server_id: Some(5),
                ..Security::default()
            },
        )
        .unwrap()
        .server(
            0,
            &ServerObject {
                short_server_id: 5,
                lifetime: 90,
                binding: "U".into(),
                ..ServerObject::default()
            },
        )
        .unwrap();
    a.handle().set_config("shared", config.clone()).unwrap();
    assert_eq!(b.handle().config("shared").unwrap(), Some(config));

    let mut events = b.events();
    let _client = bootstrap_support::spawn_bootstrapping_client("shared", b.local_addr());
    let finished = timeout(Duration::from_secs(15), async {
        loop {
            match events.next().await {
                Some(BootstrapEvent::Finished { endpoint }) => break endpoint,
                Some(BootstrapEvent::Failed { failure, .. }) => panic!("{failure}"),
                Some(_) => {}
                None => panic!("the bootstrap server stopped"),
            }
        }
    })
    .await
    .expect("no bootstrap in time");
    assert_eq!(&*finished, "shared");
    let registered = timeout(Duration::from_secs(15), async {
        loop {
            if let Ok(ServerEvent::Registration(RegistrationEvent::Registered {
                registration,
                ..
            })) = server_events.recv().await
            {
                break registration;
            }
        }
    })
    .await
    .expect("no registration in time");
    assert_eq!(
        (registered.endpoint(), registered.lifetime()),
        ("shared", 90)
    );
    // Node A saw none of it: the session ran on node B alone.
    assert_eq!(a.handle().status("shared"), None);
    a.shutdown().await;
    b.shutdown().await;
    server.shutdown().await;
}
