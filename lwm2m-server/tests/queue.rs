//! Queue mode: requests for a `UQ` client that is asleep wait until it sends an Update, then go
//! out in order; the queue is bounded and its entries expire; the caller sees queued, sent and
//! answered. The client is a raw CoAP socket that stays silent until the test says otherwise.

mod support;

use std::time::Duration;

use lwm2m_codec::coap::Code;
use lwm2m_model::content::ContentFormat;
use lwm2m_model::{Node, Path, Resource, Value};
use lwm2m_server::server::{
    DmError, EventStream, QueueConfig, RequestStatus, Server, ServerEvent, ServerHandle,
};
use support::raw::{location, RawDevice};
use tokio::task::JoinHandle;
use tokio::time::timeout;

fn path(text: &str) -> Path {
    Path::parse(text).unwrap()
}

async fn start(config: QueueConfig) -> Server {
    Server::builder()
        .request_timeout(Duration::from_secs(5))
        .queue(config)
        .bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

/// The next queued-request event: (request number, path, status).
async fn next_status(events: &mut EventStream) -> (u64, Path, RequestStatus) {
    loop {
        let event = timeout(Duration::from_secs(10), events.next())
            .await
            .expect("no queued-request event within 10 s")
            .unwrap();
        if let ServerEvent::QueuedRequest {
            request,
            path,
            status,
            ..
        } = event
        {
            return (request, path, status);
        }
    }
}

fn read(handle: &ServerHandle, target: &str) -> JoinHandle<Result<Value, DmError>> {
    let handle = handle.clone();
    let target = path(target);
    tokio::spawn(async move {
        let content = handle
            .read("sleeper", target, Some(ContentFormat::Text))
            .await?;
        match content.node {
            Node::Resource(resource) => Ok(resource.as_single().cloned().unwrap()),
            other => panic!("{other:?}"),
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(
    clippy::too_many_lines,
    reason = "one sleep/wake cycle checked step by step"
)]
async fn requests_wait_for_the_update_and_go_out_in_order() {
    let server = start(QueueConfig {
        capacity: 3,
        expiry: Duration::from_secs(60),
        awake_time: Duration::from_secs(2),
    })
    .await;
    let handle = server.handle();
    let mut events = handle.event_stream();
    let mut device = RawDevice::bind(server.local_addr()).await;
    let answer = device.register("ep=sleeper&lt=300&b=UQ", "</3/0>").await;
    assert_eq!(answer.message().code(), Code::CREATED);
    let rd = location(&answer);
    assert!(handle.client("sleeper").unwrap().is_queue_mode());
    // The client goes to sleep once its awake time is over.
    tokio::time::sleep(Duration::from_millis(2300)).await;

    // Three reads, made in this order; each is queued before the next is made.
    let targets = ["/3/0/0", "/3/0/1", "/3/0/2"];
    let mut reads = Vec::new();
    let mut numbers = Vec::new();
    for target in targets {
        reads.push(read(&handle, target));
        let (number, queued_path, status) = next_status(&mut events).await;
        assert_eq!((queued_path, status), (path(target), RequestStatus::Queued));
        numbers.push(number);
    }
    // The queue holds three: a fourth fails at once.
    let full = read(&handle, "/3/0/3").await.unwrap().unwrap_err();
    assert_eq!(
        full,
        DmError::QueueFull {
            endpoint: "sleeper".into()
        }
    );
    // Nothing is sent while the client sleeps.
    assert!(
        device
            .next_request(Duration::from_millis(500))
            .await
            .is_none(),
        "a request reached a sleeping client"
    );

    // The client wakes up with an Update: the requests arrive one by one, in order.
    assert_eq!(device.update(&rd).await.message().code(), Code::CHANGED);
    for (i, target) in targets.iter().enumerate() {
        let request = device
            .next_request(Duration::from_secs(5))
            .await
            .unwrap_or_else(|| panic!("request {i} did not arrive"));
        assert_eq!(format!("/{}", request.path()), *target);
        // The next one is not sent before this one is answered.
        let (number, _, status) = next_status(&mut events).await;
        assert_eq!((number, status), (numbers[i], RequestStatus::Sent));
        device
            .respond(
                &request,
                Code::CONTENT,
                Some(0),
                None,
                format!("value{i}").as_bytes(),
            )
            .await;
        let (number, _, status) = next_status(&mut events).await;
        assert_eq!((number, status), (numbers[i], RequestStatus::Answered));
    }
    for (i, read) in reads.into_iter().enumerate() {
        assert_eq!(
            read.await.unwrap().unwrap(),
            Value::String(format!("value{i}"))
        );
    }

    // While it is awake, a request goes out at once (still reported).
    assert_eq!(device.update(&rd).await.message().code(), Code::CHANGED);
    let quick = read(&handle, "/3/0/9");
    let request = device.next_request(Duration::from_secs(5)).await.unwrap();
    assert_eq!(request.path(), "3/0/9");
    device
        .respond(&request, Code::CONTENT, Some(0), None, b"42")
        .await;
    assert_eq!(quick.await.unwrap().unwrap(), Value::Integer(42));
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_requests_expire_and_follow_a_new_address() {
    let server = start(QueueConfig {
        capacity: 8,
        expiry: Duration::from_millis(700),
        awake_time: Duration::from_millis(100),
    })
    .await;
    let handle = server.handle();
    let mut events = handle.event_stream();
    let mut device = RawDevice::bind(server.local_addr()).await;
    let answer = device.register("ep=sleeper&lt=300&b=UQ", "</3/0>").await;
    let rd = location(&answer);
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Nobody wakes up: the request expires unsent.
    let expired = read(&handle, "/3/0/0").await.unwrap().unwrap_err();
    assert_eq!(
        expired,
        DmError::QueueExpired {
            endpoint: "sleeper".into(),
            path: path("/3/0/0")
        }
    );
    assert_eq!(next_status(&mut events).await.2, RequestStatus::Queued);
    assert_eq!(next_status(&mut events).await.2, RequestStatus::Expired);
    assert!(device
        .next_request(Duration::from_millis(200))
        .await
        .is_none());

    // The client wakes up from another address (NAT rebinding): the request goes there.
    let pending = read(&handle, "/3/0/1");
    assert_eq!(next_status(&mut events).await.2, RequestStatus::Queued);
    let mut moved = RawDevice::bind(server.local_addr()).await;
    assert_eq!(moved.update(&rd).await.message().code(), Code::CHANGED);
    let request = moved.next_request(Duration::from_secs(5)).await.unwrap();
    assert_eq!(request.path(), "3/0/1");
    moved
        .respond(&request, Code::CONTENT, Some(0), None, b"moved")
        .await;
    assert_eq!(
        pending.await.unwrap().unwrap(),
        Value::String("moved".into())
    );
    // A client without queue mode never waits.
    let mut awake = RawDevice::bind(server.local_addr()).await;
    awake.register("ep=awake&lt=300", "</3/0>").await;
    let handle2 = handle.clone();
    let direct = tokio::spawn(async move {
        handle2
            .read("awake", path("/3/0/9"), Some(ContentFormat::Text))
            .await
    });
    let request = awake.next_request(Duration::from_secs(5)).await.unwrap();
    awake
        .respond(&request, Code::CONTENT, Some(0), None, b"7")
        .await;
    assert_eq!(
        direct.await.unwrap().unwrap().node,
        Node::Resource(Resource::single(9, Value::Integer(7)))
    );
    server.shutdown().await;
}

/// Our `lwm2m-client` registers with binding `UQ`: the server reports it awake and serves
/// requests while it is (it never sleeps, so nothing waits long).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_client_in_queue_mode_is_served_while_awake() {
    let server = start(QueueConfig::default()).await;
    let handle = server.handle();
    let mut events = handle.event_stream();
    let _client = support::spawn_with(
        "uq-client",
        server.local_addr(),
        lwm2m_model::BindingMode::UdpQueue,
    );
    loop {
        let event = timeout(Duration::from_secs(10), events.next())
            .await
            .expect("the client did not wake up within 10 s")
            .unwrap();
        if let ServerEvent::WokeUp { endpoint } = event {
            assert_eq!(&*endpoint, "uq-client");
            break;
        }
    }
    assert!(handle.client("uq-client").unwrap().is_queue_mode());
    let content = handle
        .read("uq-client", path("/3/0/9"), None)
        .await
        .unwrap();
    assert_eq!(
        content.node,
        Node::Resource(Resource::single(9, Value::Integer(100)))
    );
    let (_, read_path, status) = next_status(&mut events).await;
    assert_eq!((read_path, status), (path("/3/0/9"), RequestStatus::Queued));
    assert_eq!(next_status(&mut events).await.2, RequestStatus::Sent);
    assert_eq!(next_status(&mut events).await.2, RequestStatus::Answered);
    server.shutdown().await;
}
