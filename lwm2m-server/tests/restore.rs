//! Observations survive a restart: a server with the embedded store (or Redis) observes a
//! client, stops, and a new server on the same store and port matches the client's next
//! notifications (same token) to the stored observation and publishes them on its event stream.
#![cfg(all(feature = "redb", feature = "redis"))]

mod redis_server;
mod support;

use std::net::SocketAddr;
use std::path::Path as FsPath;
use std::time::Duration;

use lwm2m_codec::coap::{Code, Type};
use lwm2m_model::{Node, Path, Resource, Value};
use lwm2m_server::registration::RegistrationId;
use lwm2m_server::server::{EventStream, Server, ServerEvent};
use lwm2m_server::store::{ObservationStore, RedbStore, RedisStore};
use redis_server::RedisServer;
use support::raw::RawDevice;
use tokio::time::timeout;

/// The tests restart servers on the ports they had; run one at a time, so that no other test's
/// server takes a port in between (the transport binds with `SO_REUSEPORT`).
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Opens the store once the previous server has let go of it (its last handle is dropped a
/// moment after `shutdown` returns).
async fn open_store(path: &FsPath) -> RedbStore {
    for _ in 0..100 {
        if let Ok(store) = RedbStore::open(path) {
            return store;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the store is still held by the stopped server")
}

/// Where the servers of a test keep their state.
enum Store<'a> {
    Redb(&'a FsPath),
    Redis(String),
}

async fn start(store: &Store<'_>, addr: SocketAddr) -> Server {
    let builder = Server::builder().request_timeout(Duration::from_secs(5));
    let builder = match store {
        Store::Redb(path) => builder.store(open_store(path).await),
        Store::Redis(url) => builder.store(RedisStore::open(url).unwrap()),
    };
    builder.bind(addr).await.unwrap()
}

/// How many observations of `registration` the store holds (once the servers let go of it).
async fn stored(store: &Store<'_>, registration: RegistrationId) -> usize {
    match store {
        Store::Redb(path) => open_store(path).await.list(registration).unwrap().len(),
        Store::Redis(url) => RedisStore::open(url)
            .unwrap()
            .list(registration)
            .unwrap()
            .len(),
    }
}

async fn notification(events: &mut EventStream) -> (String, Path, Node) {
    loop {
        let event = timeout(Duration::from_secs(5), events.next())
            .await
            .expect("no notification within 5 s")
            .unwrap();
        if let ServerEvent::Notification {
            endpoint,
            path,
            content,
        } = event
        {
            return (endpoint.to_string(), path, content.node.clone());
        }
    }
}

fn battery(level: i64) -> Node {
    Node::Resource(Resource::single(9, Value::Integer(level)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_after_a_restart_reach_the_stored_observation() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("lwm2m.redb");
    restart_with(&Store::Redb(&file)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_after_a_restart_reach_the_stored_observation_in_redis() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let redis = RedisServer::start();
    restart_with(&Store::Redis(redis.url())).await;
}

async fn restart_with(store: &Store<'_>) {
    let server = start(store, "127.0.0.1:0".parse().unwrap()).await;
    let addr = server.local_addr();
    let mut device = RawDevice::bind(addr).await;
    let answer = device.register("ep=keeper&lt=300", "</3/0>").await;
    assert_eq!(
        answer.message().code(),
        Code::CREATED,
        "{:?}",
        String::from_utf8_lossy(answer.message().payload())
    );
    let registration = server.handle().client("keeper").unwrap().id();

    // Observe /3/0/9; the device answers and notifies once.
    let observing = {
        let handle = server.handle();
        tokio::spawn(async move {
            handle
                .observe("keeper", Path::parse("/3/0/9").unwrap(), None)
                .await
        })
    };
    let request = device.next_request(Duration::from_secs(5)).await.unwrap();
    let token = request.message().token().to_vec();
    device
        .respond(&request, Code::CONTENT, Some(0), Some(1), b"90")
        .await;
    let stream = observing.await.unwrap().unwrap();
    let mut events = server.handle().event_stream();
    device.notify(&token, 2, 0, b"85").await;
    assert_eq!(
        notification(&mut events).await,
        ("keeper".into(), Path::parse("/3/0/9").unwrap(), battery(85))
    );

    // The server stops (the observation stream is still held: nothing cancels it) ...
    server.shutdown().await;
    drop(stream);
    drop(events);
    // ... and no cancellation reached the device.
    assert!(device
        .next_request(Duration::from_millis(300))
        .await
        .is_none());

    // A new server on the same file and port.
    let server = start(store, addr).await;
    let handle = server.handle();
    assert_eq!(handle.client("keeper").unwrap().id(), registration);
    let mut events = handle.event_stream();
    device.notify(&token, 3, 0, b"80").await;
    assert_eq!(
        notification(&mut events).await,
        ("keeper".into(), Path::parse("/3/0/9").unwrap(), battery(80))
    );
    // A Confirmable one is acknowledged (not reset) and published once.
    assert_eq!(
        device.notify_confirmable(&token, 4, 0, b"75").await,
        Some(Type::Acknowledgement)
    );
    assert_eq!(notification(&mut events).await.2, battery(75));
    // A token the server never used still gets RST.
    assert_eq!(
        device.notify_confirmable(&[9, 9, 9], 1, 0, b"1").await,
        Some(Type::Reset)
    );

    // Cancelling the restored observation forgets it: the next notification gets RST, and the
    // store no longer holds it.
    assert!(handle.cancel_observation("keeper", Path::parse("/3/0/9").unwrap()));
    assert_eq!(
        device.notify_confirmable(&token, 5, 0, b"70").await,
        Some(Type::Reset)
    );
    server.shutdown().await;
    drop(handle);
    assert_eq!(stored(store, registration).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_register_voids_the_stored_observations() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("lwm2m.redb");
    let store = Store::Redb(&file);
    let server = start(&store, "127.0.0.1:0".parse().unwrap()).await;
    let addr = server.local_addr();
    let mut device = RawDevice::bind(addr).await;
    let answer = device.register("ep=again&lt=300", "</3/0>").await;
    assert_eq!(answer.message().code(), Code::CREATED);
    let first = server.handle().client("again").unwrap().id();
    let observing = {
        let handle = server.handle();
        tokio::spawn(async move {
            handle
                .observe("again", Path::parse("/3/0/9").unwrap(), None)
                .await
        })
    };
    let request = device.next_request(Duration::from_secs(5)).await.unwrap();
    let token = request.message().token().to_vec();
    device
        .respond(&request, Code::CONTENT, Some(0), Some(1), b"90")
        .await;
    let _stream = observing.await.unwrap().unwrap();
    server.shutdown().await;

    let server = start(&store, addr).await;
    // The device registers again (it rebooted): its old observation is void.
    let answer = device.register("ep=again&lt=300", "</3/0>").await;
    assert_eq!(
        answer.message().code(),
        Code::CREATED,
        "{:?} {:?}",
        answer.message(),
        String::from_utf8_lossy(answer.message().payload())
    );
    assert_ne!(server.handle().client("again").unwrap().id(), first);
    assert_eq!(
        device.notify_confirmable(&token, 2, 0, b"1").await,
        Some(Type::Reset)
    );
    server.shutdown().await;
    assert_eq!(stored(&store, first).await, 0);
}
