//! The tokio runtime against a scripted server on loopback UDP: register, a Read and a Write
//! from the server, a value change reported through the handle, and a bounded De-register.
#![cfg(feature = "tokio")]

mod udp;

use std::time::Duration;

use lwm2m_client::runtime::{run_client, RuntimeEvent};
use lwm2m_client::{ClientBuilder, ClientEvent, DeviceObject, ServerAccount};
use lwm2m_codec::coap::Code;
use lwm2m_model::Path;
use lwm2m_objects::Device;
use lwm2m_transport::udp::Notification;
use lwm2m_transport::Request;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use udp::ScriptedServer;

fn device() -> DeviceObject {
    DeviceObject::new(Device {
        manufacturer: Some("lwm2m-rs".into()),
        utc_offset: Some("+01:00".into()),
        supported_binding_and_modes: "U".into(),
        ..Device::default()
    })
}

async fn next_event(events: &mut mpsc::Receiver<RuntimeEvent>) -> ClientEvent {
    tokio::time::timeout(Duration::from_secs(10), events.recv())
        .await
        .expect("no client event in time")
        .expect("the client task stopped")
        .event
}

async fn get(server: &ScriptedServer, client: std::net::SocketAddr, path: &str) -> (Code, Vec<u8>) {
    let request = Request::build(Code::GET, |b| {
        b.uri_path(path).accept(0);
    })
    .unwrap();
    let response = server
        .endpoint
        .handle()
        .request(client, request)
        .await
        .unwrap();
    (response.code(), response.body().to_vec())
}

#[tokio::test]
async fn registers_answers_read_and_write_and_deregisters() {
    let mut server = ScriptedServer::start().await;
    let client = ClientBuilder::new("rt-node")
        .server(ServerAccount::new(101, server.addr()).lifetime(120))
        .object(device())
        .build()
        .unwrap();
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let client_addr = socket.local_addr().unwrap();
    let (handle, mut events, task) = run_client(client, socket);

    let register = server.next_request(10).await;
    assert!(register.is_register());
    assert_eq!(register.peer, client_addr);
    assert_eq!(register.endpoint(), Some("rt-node"));
    assert!(register.query.contains(&"lt=120".to_string()));
    assert_eq!(
        next_event(&mut events).await,
        ClientEvent::Registered {
            ssid: 101,
            location: "/rd/c1".into()
        }
    );

    // Read of the manufacturer, as text.
    assert_eq!(
        get(&server, client_addr, "/3/0/0").await,
        (Code::CONTENT, b"lwm2m-rs".to_vec())
    );

    // Write of the UTC offset, then read back.
    let write = Request::build(Code::PUT, |b| {
        b.uri_path("/3/0/14").content_format(0);
    })
    .unwrap()
    .with_payload(&b"+02:00"[..]);
    let response = server
        .endpoint
        .handle()
        .request(client_addr, write)
        .await
        .unwrap();
    assert_eq!(response.code(), Code::CHANGED);
    assert_eq!(
        next_event(&mut events).await,
        ClientEvent::Written {
            ssid: 101,
            path: Path::resource(3, 0, 14).unwrap()
        }
    );
    assert_eq!(
        get(&server, client_addr, "/3/0/14").await,
        (Code::CONTENT, b"+02:00".to_vec())
    );

    // A change made through the handle is what the server reads next.
    let old = handle
        .update_object(3, |d: &mut DeviceObject| {
            d.device_mut().battery_level.replace(42)
        })
        .await
        .unwrap();
    assert_eq!(old, Some(None));
    assert_eq!(
        get(&server, client_addr, "/3/0/9").await,
        (Code::CONTENT, b"42".to_vec())
    );
    let utc = handle
        .with_client(|c, _| {
            c.object::<DeviceObject>(3)
                .and_then(|d| d.device().utc_offset.clone())
        })
        .await
        .unwrap();
    assert_eq!(utc.as_deref(), Some("+02:00"));

    handle.shutdown(Duration::from_secs(5)).await.unwrap();
    let deregister = server.next_request(5).await;
    assert!(deregister.is_deregister());
    assert_eq!(deregister.path, ["rd", "c1"]);
    assert_eq!(
        next_event(&mut events).await,
        ClientEvent::Deregistered { ssid: 101 }
    );
    task.await.unwrap().unwrap();
    assert!(handle.is_closed());
    assert!(handle.trigger_update().is_err());
}

#[tokio::test]
async fn shutdown_is_bounded_when_the_server_is_gone() {
    let mut server = ScriptedServer::start().await;
    let addr = server.addr();
    let client = ClientBuilder::new("rt-lonely")
        .server(ServerAccount::new(1, addr))
        .object(device())
        .build()
        .unwrap();
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let (handle, mut events, task) = run_client(client, socket);
    assert!(server.next_request(10).await.is_register());
    assert!(matches!(
        next_event(&mut events).await,
        ClientEvent::Registered { ssid: 1, .. }
    ));
    // The server goes away: the De-register is never answered.
    server.endpoint.close().await;
    let started = std::time::Instant::now();
    tokio::time::timeout(
        Duration::from_secs(5),
        handle.shutdown(Duration::from_millis(500)),
    )
    .await
    .expect("shutdown is bounded")
    .unwrap();
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(400), "waited {waited:?}");
    task.await.unwrap().unwrap();
}

#[tokio::test]
async fn dropping_every_handle_deregisters() {
    let mut server = ScriptedServer::start().await;
    let client = ClientBuilder::new("rt-dropped")
        .server(ServerAccount::new(7, server.addr()))
        .object(device())
        .build()
        .unwrap();
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let (handle, mut events, task) = run_client(client, socket);
    assert!(server.next_request(10).await.is_register());
    // Registered (a client still registering has nothing to de-register).
    assert!(matches!(
        next_event(&mut events).await,
        ClientEvent::Registered { ssid: 7, .. }
    ));
    drop(handle);
    assert!(server.next_request(10).await.is_deregister());
    task.await.unwrap().unwrap();
}

#[tokio::test]
async fn changes_through_the_handle_notify_observers() {
    let mut server = ScriptedServer::start().await;
    let client = ClientBuilder::new("rt-observed")
        .server(ServerAccount::new(3, server.addr()))
        .object(device())
        .build()
        .unwrap();
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let client_addr = socket.local_addr().unwrap();
    let (handle, mut events, task) = run_client(client, socket);
    assert!(server.next_request(10).await.is_register());
    assert!(matches!(
        next_event(&mut events).await,
        ClientEvent::Registered { ssid: 3, .. }
    ));
    handle
        .update_object(3, |d: &mut DeviceObject| {
            d.device_mut().battery_level = Some(90);
        })
        .await
        .unwrap();
    let observe = Request::build(Code::GET, |b| {
        b.uri_path("/3/0/9").accept(0);
    })
    .unwrap();
    let mut observation = server
        .endpoint
        .handle()
        .observe(client_addr, observe)
        .await
        .unwrap();
    assert!(observation.is_established());
    assert_eq!(observation.response().body().as_ref(), b"90");
    assert_eq!(
        next_event(&mut events).await,
        ClientEvent::ObservationStarted {
            ssid: 3,
            path: Path::resource(3, 0, 9).unwrap()
        }
    );

    // Each update through the handle notifies.
    handle
        .update_object(3, |d: &mut DeviceObject| {
            d.device_mut().battery_level = Some(89);
        })
        .await
        .unwrap();
    let value = |n: Option<Notification>| match n {
        Some(Notification::Value(v)) => v.body().to_vec(),
        other => panic!("{other:?}"),
    };
    let next = tokio::time::timeout(Duration::from_secs(10), observation.next())
        .await
        .unwrap();
    assert_eq!(value(next), b"89");
    handle
        .update_object(3, |d: &mut DeviceObject| {
            d.device_mut().battery_level = Some(88);
        })
        .await
        .unwrap();
    let next = tokio::time::timeout(Duration::from_secs(10), observation.next())
        .await
        .unwrap();
    assert_eq!(value(next), b"88");
    drop(observation);
    handle.shutdown(Duration::from_secs(5)).await.unwrap();
    task.await.unwrap().unwrap();
}
