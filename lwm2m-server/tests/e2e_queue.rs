//! Queue mode on both sides: our `lwm2m_client` registers with binding `UQ` and really sleeps
//! once its awake time is over; our `Server` queues the requests made for it meanwhile. A Read
//! made while the client sleeps goes out only after the client's next Update, and its caller
//! sees it queued, sent and answered (with the client's value).

mod e2e_support;

use std::net::SocketAddr;
use std::time::Duration;

use e2e_support::{example_device, next_event, path, registered, spawn, WAIT};
use lwm2m_client::{ClientBuilder, ClientEvent, DeviceObject, ServerAccount, Timings};
use lwm2m_model::{BindingMode, Node, Resource, Value};
use lwm2m_server::registration::RegistrationEvent;
use lwm2m_server::server::{EventStream, QueueConfig, RequestStatus, Server, ServerEvent};
use tokio::time::timeout;

const EP: &str = "e2e-sleeper";
const AWAKE: Duration = Duration::from_millis(800);

fn client(server: SocketAddr) -> lwm2m_client::Client<SocketAddr> {
    ClientBuilder::new(EP)
        .server(
            ServerAccount::new(1, server)
                .lifetime(3600)
                .binding(BindingMode::UdpQueue),
        )
        .object(DeviceObject::new(example_device()))
        .timings(Timings {
            awake_time: AWAKE,
            ..Timings::default()
        })
        .seed([5; 32])
        .build()
        .unwrap()
}

/// The next queued-request status for `EP`.
async fn status(events: &mut EventStream) -> (u64, RequestStatus) {
    next_event(events, "QueuedRequest", |e| match e {
        ServerEvent::QueuedRequest {
            endpoint,
            request,
            operation,
            path: at,
            status,
        } if &*endpoint == EP => {
            assert_eq!((operation, at), ("Read", path("/3/0/9")));
            Some((request, status))
        }
        _ => None,
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_made_while_the_client_sleeps_is_answered_after_its_update() {
    let server = Server::builder()
        .request_timeout(Duration::from_secs(5))
        .queue(QueueConfig {
            awake_time: AWAKE,
            ..QueueConfig::default()
        })
        .bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let handle = server.handle();
    let mut events = handle.event_stream();
    let mut device = spawn(client(server.local_addr())).await;
    registered(&mut events, EP).await;
    assert!(handle.client(EP).unwrap().is_queue_mode());

    // The client falls asleep one awake time after its Register; give the server's window
    // the same time to close.
    device
        .wait_for("Sleeping", |e| matches!(e, ClientEvent::Sleeping))
        .await;
    tokio::time::sleep(AWAKE / 2).await;

    // A Read now waits in the queue: nothing is sent while the client sleeps.
    let reading = {
        let handle = handle.clone();
        tokio::spawn(async move { handle.read(EP, path("/3/0/9"), None).await })
    };
    let (request, queued) = status(&mut events).await;
    assert_eq!(queued, RequestStatus::Queued);
    let early = timeout(Duration::from_millis(1500), status(&mut events)).await;
    assert!(early.is_err(), "sent while asleep: {early:?}");
    assert!(!reading.is_finished());

    // The client wakes up with an Update; the queued Read follows it.
    device.handle.trigger_update().unwrap();
    let mut woke = false;
    let mut updated = false;
    let sent = loop {
        let event = timeout(WAIT, events.next()).await.unwrap().unwrap();
        match event {
            ServerEvent::Registration(RegistrationEvent::Updated { current, .. }) => {
                assert_eq!(current.endpoint(), EP);
                updated = true;
            }
            ServerEvent::WokeUp { endpoint } if &*endpoint == EP => woke = true,
            ServerEvent::QueuedRequest {
                request: id,
                status,
                ..
            } => break (id, status),
            _ => {}
        }
    };
    assert!(updated, "the Update came first");
    assert!(woke, "the server saw the client wake up");
    assert_eq!(sent, (request, RequestStatus::Sent));
    assert_eq!(
        status(&mut events).await,
        (request, RequestStatus::Answered)
    );
    let content = timeout(WAIT, reading).await.unwrap().unwrap().unwrap();
    assert_eq!(
        content.node,
        Node::Resource(Resource::single(9, Value::Integer(100)))
    );
    // The client's side of the story: it woke up, then its Update was answered.
    device
        .wait_for("Awake", |e| matches!(e, ClientEvent::Awake))
        .await;
    device
        .wait_for("Updated", |e| matches!(e, ClientEvent::Updated { .. }))
        .await;

    drop(device);
    server.shutdown().await;
}
