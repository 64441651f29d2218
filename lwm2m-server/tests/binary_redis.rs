//! The `lwm2m-server` binary with `--store redis://...`: a client registers, the binary stops
//! (SIGTERM) and starts again on the same Redis, and the registration is still there.
#![cfg(feature = "redis")]

mod binary_support;
mod redis_server;
mod support;

use binary_support::{free_tcp, free_udp, wait_for, Binary};
use redis_server::RedisServer;

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
    // The client starts once the binary serves (its first Register is then not lost to a
    // socket that is not bound yet, which would cost it a retransmission back-off).
    wait_for(api, "/api/clients", "").await;
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
