//! The event stream: registrations (registered, updated, woke up, de-registered, expired) and
//! notifications as one `Stream`, and a per-observation `Stream`.

mod support;

use std::time::Duration;

use futures_util::StreamExt;
use lwm2m_codec::coap::Code;
use lwm2m_model::{Node, Path, Value};
use lwm2m_server::registration::{Registrar, RegistrarConfig, RegistrationEvent};
use lwm2m_server::server::{EventStream, Server, ServerEvent};
use support::raw::{location, RawDevice};
use tokio::time::timeout;

async fn next(events: &mut EventStream) -> ServerEvent {
    timeout(Duration::from_secs(10), events.next())
        .await
        .expect("no event within 10 s")
        .expect("the event stream ended")
}

fn kind(event: &ServerEvent) -> String {
    match event {
        ServerEvent::Registration(RegistrationEvent::Registered { registration, .. }) => {
            format!("registered {}", registration.endpoint())
        }
        ServerEvent::Registration(RegistrationEvent::Updated { current, .. }) => {
            format!("updated {}", current.endpoint())
        }
        ServerEvent::Registration(RegistrationEvent::Deregistered { registration }) => {
            format!("de-registered {}", registration.endpoint())
        }
        ServerEvent::Registration(RegistrationEvent::Expired { registration }) => {
            format!("expired {}", registration.endpoint())
        }
        ServerEvent::WokeUp { endpoint } => format!("woke up {endpoint}"),
        ServerEvent::Notification { endpoint, path, .. } => {
            format!("notification {endpoint} {path}")
        }
        other => format!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_events_arrive_in_order_on_one_stream() {
    let config = RegistrarConfig {
        expiry_grace: Duration::ZERO,
        ..RegistrarConfig::default()
    };
    let server = Server::builder()
        .registrar(Registrar::builder().config(config))
        .bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let mut events = server.handle().event_stream();

    let mut queued = RawDevice::bind(server.local_addr()).await;
    let answer = queued.register("ep=sleeper&lt=300&b=UQ", "</3/0>").await;
    assert_eq!(answer.message().code(), Code::CREATED);
    assert_eq!(kind(&next(&mut events).await), "registered sleeper");
    assert_eq!(kind(&next(&mut events).await), "woke up sleeper");
    let rd = location(&answer);
    assert_eq!(queued.update(&rd).await.message().code(), Code::CHANGED);
    assert_eq!(kind(&next(&mut events).await), "updated sleeper");
    assert_eq!(kind(&next(&mut events).await), "woke up sleeper");
    let gone = queued
        .request(|b| {
            b.code(Code::DELETE).uri_path(&rd);
        })
        .await;
    assert_eq!(gone.message().code(), Code::DELETED);
    assert_eq!(kind(&next(&mut events).await), "de-registered sleeper");

    // A one-second lifetime without grace: expired about a second later.
    let mut brief = RawDevice::bind(server.local_addr()).await;
    let answer = brief.register("ep=brief&lt=1", "</3/0>").await;
    assert_eq!(answer.message().code(), Code::CREATED);
    assert_eq!(kind(&next(&mut events).await), "registered brief");
    assert_eq!(kind(&next(&mut events).await), "expired brief");

    // The stream ends with the server.
    server.shutdown().await;
    assert!(timeout(Duration::from_secs(5), events.next())
        .await
        .unwrap()
        .is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_reach_the_observation_stream_and_the_event_stream() {
    let server = Server::builder()
        .request_timeout(Duration::from_secs(5))
        .bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let handle = server.handle();
    let mut events = handle.event_stream();
    let mut device = RawDevice::bind(server.local_addr()).await;
    device.register("ep=watched&lt=300", "</3/0>").await;
    assert_eq!(kind(&next(&mut events).await), "registered watched");

    let observing = {
        let handle = handle.clone();
        tokio::spawn(async move {
            handle
                .observe("watched", Path::parse("/3/0/9").unwrap(), None)
                .await
        })
    };
    let request = device.next_request(Duration::from_secs(5)).await.unwrap();
    assert_eq!(request.path(), "3/0/9");
    assert_eq!(request.message().observe().unwrap(), Some(0));
    let token = request.message().token().to_vec();
    device
        .respond(&request, Code::CONTENT, Some(0), Some(1), b"90")
        .await;
    let mut observation = observing.await.unwrap().unwrap();
    assert_eq!(
        observation.initial().node,
        Node::Resource(lwm2m_model::Resource::single(9, Value::Integer(90)))
    );

    for (sequence, level) in [(2u32, "80"), (3, "70")] {
        device.notify(&token, sequence, 0, level.as_bytes()).await;
        // The observation's own stream (as a `Stream`) ...
        let value = timeout(Duration::from_secs(5), StreamExt::next(&mut observation))
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        let expected: i64 = level.parse().unwrap();
        assert_eq!(
            value.node,
            Node::Resource(lwm2m_model::Resource::single(9, Value::Integer(expected)))
        );
        // ... and the event stream.
        let event = next(&mut events).await;
        assert_eq!(kind(&event), "notification watched /3/0/9");
        let ServerEvent::Notification { content, .. } = event else {
            unreachable!()
        };
        assert_eq!(content.node, value.node);
    }
    server.shutdown().await;
}
