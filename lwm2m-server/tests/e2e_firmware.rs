//! Firmware push end to end: our `Server` writes a 100 KiB package to `/5/0/0` (opaque; the
//! transport sends it block-wise with Block1) to our client carrying a `FirmwareObject` with a
//! `MemorySink`, observes State (`/5/0/3`) and Update Result (`/5/0/5`), executes Update
//! (`/5/0/2`), and sees every state change; the sink got exactly the package's bytes.

mod e2e_support;

use std::net::SocketAddr;
use std::time::Duration;

use e2e_support::{example_device, path, registered, single, spawn, WAIT};
use lwm2m_client::firmware::{FirmwareState, MemorySink, UpdateResult};
use lwm2m_client::{ClientBuilder, ClientEvent, DeviceObject, FirmwareObject, ServerAccount};
use lwm2m_model::content::ContentFormat;
use lwm2m_model::{AttributeChange, AttributeUpdate, Node, Resource, Value};
use lwm2m_server::server::{ObservationStream, Server, WriteMode};
use tokio::time::timeout;

const EP: &str = "e2e-firmware";

/// A deterministic package whose every offset differs from its neighbours.
fn package(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| u8::try_from(i % 251).unwrap() ^ u8::try_from((i >> 10) % 256).unwrap())
        .collect()
}

fn client(server: SocketAddr) -> lwm2m_client::Client<SocketAddr> {
    ClientBuilder::new(EP)
        .server(ServerAccount::new(1, server).lifetime(300))
        .object(DeviceObject::new(example_device()))
        .object(FirmwareObject::new(MemorySink::new()))
        .seed([11; 32])
        .build()
        .unwrap()
}

async fn next_value(observation: &mut ObservationStream) -> Value {
    let content = timeout(WAIT, observation.next())
        .await
        .expect("no notification in time")
        .expect("the observation ended")
        .unwrap();
    single(&content)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(
    clippy::too_many_lines,
    reason = "one push walks through the whole update in order"
)]
async fn a_100_kib_push_reaches_the_sink_and_the_update_is_observed() {
    let server = Server::builder()
        .request_timeout(Duration::from_secs(60))
        .bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let handle = server.handle();
    let mut events = handle.event_stream();
    let mut device = spawn(client(server.local_addr())).await;
    registered(&mut events, EP).await;
    assert!(handle.client(EP).unwrap().object_links().has_object(5));

    // Observe State and Update Result; every change is notified (pmin 0).
    let every_change = AttributeUpdate {
        pmin: Some(AttributeChange::Set(0)),
        ..AttributeUpdate::default()
    };
    let mut state = handle
        .observe(EP, path("/5/0/3"), Some(ContentFormat::Text))
        .await
        .unwrap();
    let mut result = handle
        .observe(EP, path("/5/0/5"), Some(ContentFormat::Text))
        .await
        .unwrap();
    for at in ["/5/0/3", "/5/0/5"] {
        handle
            .write_attributes(EP, path(at), &every_change)
            .await
            .unwrap();
    }
    assert_eq!(single(state.initial()), Value::Integer(0));
    assert_eq!(single(result.initial()), Value::Integer(0));

    // Push the package: one Write, sent block-wise.
    let data = package(100 * 1024);
    let node = Node::Resource(Resource::single(0, Value::Opaque(data.clone())));
    handle
        .write(
            EP,
            path("/5/0/0"),
            &node,
            WriteMode::Replace,
            Some(ContentFormat::Opaque),
        )
        .await
        .unwrap();
    assert_eq!(next_value(&mut state).await, Value::Integer(1));
    assert_eq!(next_value(&mut state).await, Value::Integer(2));
    let (received, writes, firmware_state) = device
        .handle
        .with_client(|client, _| {
            let firmware = client.object::<FirmwareObject>(5).unwrap();
            let sink = firmware.sink::<MemorySink>().unwrap();
            (sink.data().to_vec(), sink.writes(), firmware.state())
        })
        .await
        .unwrap();
    assert!(received == data, "the sink got exactly the package");
    // The transport's default block size is 1 KiB: one sink write per Block1 block.
    assert_eq!(writes, 100, "the package came in 1 KiB blocks");
    assert_eq!(firmware_state, FirmwareState::Downloaded);

    // Execute Update: Updating, then Idle with Success.
    handle.execute(EP, path("/5/0/2"), "").await.unwrap();
    assert_eq!(next_value(&mut state).await, Value::Integer(3));
    assert_eq!(next_value(&mut state).await, Value::Integer(0));
    assert_eq!(next_value(&mut result).await, Value::Integer(1));
    let applied = device
        .handle
        .with_client(|client, _| {
            let firmware = client.object::<FirmwareObject>(5).unwrap();
            let sink = firmware.sink::<MemorySink>().unwrap();
            (sink.applied().to_vec(), firmware.state(), firmware.result())
        })
        .await
        .unwrap();
    assert_eq!(
        applied,
        (vec![data], FirmwareState::Idle, UpdateResult::Success)
    );

    // The client reported the same steps.
    let mut changes = Vec::new();
    while changes.len() < 4 {
        if let ClientEvent::FirmwareStateChanged { state, result } = device
            .wait_for("FirmwareStateChanged", |e| {
                matches!(e, ClientEvent::FirmwareStateChanged { .. })
            })
            .await
        {
            changes.push((state, result));
        }
    }
    assert_eq!(
        changes,
        [
            (FirmwareState::Downloading, UpdateResult::Initial),
            (FirmwareState::Downloaded, UpdateResult::Initial),
            (FirmwareState::Updating, UpdateResult::Initial),
            (FirmwareState::Idle, UpdateResult::Success),
        ]
    );
    // Read back as the server would after the update.
    assert_eq!(
        single(&handle.read(EP, path("/5/0/3"), None).await.unwrap()),
        Value::Integer(0)
    );

    drop((state, result, device));
    server.shutdown().await;
}
