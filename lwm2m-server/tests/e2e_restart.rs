//! A server restart loses nothing, with our clients: two of them register with a server on the
//! embedded store (or Redis) and each is observed; the server shuts down and a new one starts
//! on the same store and port. Both registrations are listed with their ids, and each
//! client's next notification (a value change, sent to the same address) arrives on the new
//! server's event stream, matched to the stored observation.
#![cfg(all(feature = "redb", feature = "redis"))]

mod e2e_support;
mod redis_server;

use std::net::SocketAddr;
use std::path::Path as FsPath;
use std::time::Duration;

use e2e_support::{example_device, notification, path, registered, single, spawn, Running};
use lwm2m_client::{ClientBuilder, DeviceObject, ServerAccount};
use lwm2m_model::{AttributeChange, AttributeUpdate, Node, Resource, Value};
use lwm2m_server::server::Server;
use lwm2m_server::store::{RedbStore, RedisStore};
use redis_server::RedisServer;

/// The tests restart servers on the ports they had; one at a time, so that no other test's
/// server takes the port in between.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const CLIENTS: [&str; 2] = ["e2e-keeper-1", "e2e-keeper-2"];

enum Store<'a> {
    Redb(&'a FsPath),
    Redis(String),
}

/// Opens the redb file once the previous server has let go of it.
async fn open_redb(path: &FsPath) -> RedbStore {
    for _ in 0..100 {
        if let Ok(store) = RedbStore::open(path) {
            return store;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the store is still held by the stopped server")
}

async fn start(store: &Store<'_>, addr: SocketAddr) -> Server {
    let builder = Server::builder().request_timeout(Duration::from_secs(5));
    let builder = match store {
        Store::Redb(file) => builder.store(open_redb(file).await),
        Store::Redis(url) => builder.store(RedisStore::open(url).unwrap()),
    };
    builder.bind(addr).await.unwrap()
}

fn client(endpoint: &str, server: SocketAddr, seed: u8) -> lwm2m_client::Client<SocketAddr> {
    ClientBuilder::new(endpoint)
        .server(ServerAccount::new(1, server).lifetime(300))
        .object(DeviceObject::new(example_device()))
        .seed([seed; 32])
        .build()
        .unwrap()
}

fn battery(level: i64) -> Node {
    Node::Resource(Resource::single(9, Value::Integer(level)))
}

async fn set_battery(device: &Running, level: i64) {
    device
        .handle
        .update_object::<DeviceObject, _>(3, move |d| d.device_mut().battery_level = Some(level))
        .await
        .unwrap()
        .unwrap();
}

async fn restart_with(store: &Store<'_>) {
    let server = start(store, "127.0.0.1:0".parse().unwrap()).await;
    let addr = server.local_addr();
    let handle = server.handle();
    let mut events = handle.event_stream();
    let mut devices = Vec::new();
    for (seed, endpoint) in (1u8..).zip(CLIENTS) {
        devices.push(spawn(client(endpoint, addr, seed)).await);
        registered(&mut events, endpoint).await;
    }
    let ids: Vec<_> = CLIENTS
        .iter()
        .map(|ep| handle.client(ep).unwrap().id())
        .collect();

    // Observe each battery level (pmin 0: every change is notified) and see one notification.
    let attributes = AttributeUpdate {
        pmin: Some(AttributeChange::Set(0)),
        ..AttributeUpdate::default()
    };
    let mut streams = Vec::new();
    for (endpoint, device) in CLIENTS.iter().zip(&devices) {
        handle
            .write_attributes(endpoint, path("/3/0/9"), &attributes)
            .await
            .unwrap();
        let stream = handle
            .observe(endpoint, path("/3/0/9"), None)
            .await
            .unwrap();
        assert_eq!(single(stream.initial()), Value::Integer(100));
        streams.push(stream);
        set_battery(device, 90).await;
        assert_eq!(
            notification(&mut events, endpoint, path("/3/0/9")).await,
            battery(90)
        );
    }

    // The server stops (holding the observation streams: nothing cancels them) ...
    server.shutdown().await;
    drop(streams);
    drop(events);
    drop(handle);

    // ... and a new one starts on the same store and port.
    let server = start(store, addr).await;
    let handle = server.handle();
    let mut listed: Vec<_> = handle
        .clients()
        .iter()
        .map(|r| (r.endpoint().to_owned(), r.id()))
        .collect();
    listed.sort();
    let expected: Vec<_> = CLIENTS
        .iter()
        .map(|ep| (*ep).to_owned())
        .zip(ids.iter().copied())
        .collect();
    assert_eq!(listed, expected);

    // Each client's next notification reaches the new server's event stream.
    let mut events = handle.event_stream();
    for ((endpoint, device), level) in CLIENTS.iter().zip(&devices).zip([80, 70]) {
        set_battery(device, level).await;
        assert_eq!(
            notification(&mut events, endpoint, path("/3/0/9")).await,
            battery(level)
        );
    }
    // And the restored registrations are managed as before.
    for endpoint in CLIENTS {
        let content = handle.read(endpoint, path("/3/0/0"), None).await.unwrap();
        assert_eq!(
            single(&content),
            Value::String("Open Mobile Alliance".into())
        );
    }

    drop(devices);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registrations_and_observations_survive_a_restart_on_redb() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("lwm2m.redb");
    restart_with(&Store::Redb(&file)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registrations_and_observations_survive_a_restart_on_redis() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let redis = RedisServer::start();
    restart_with(&Store::Redis(redis.url())).await;
}
