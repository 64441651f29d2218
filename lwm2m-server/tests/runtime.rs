//! End to end on loopback UDP: a real `lwm2m_client::Client` registers with the `Server`, which
//! then manages it through the typed async API.

mod support;

use std::time::Duration;

use lwm2m_client::ClientEvent;
use lwm2m_model::content::ContentFormat;
use lwm2m_model::{AttributeChange, AttributeUpdate, Node, ObjectInstance, Path, Resource, Value};
use lwm2m_server::registration::RegistrationEvent;
use lwm2m_server::server::{DmError, Server, ServerEvent, WriteMode};
use tokio::sync::broadcast;
use tokio::time::timeout;

fn path(text: &str) -> Path {
    Path::parse(text).unwrap()
}

async fn registered(events: &mut broadcast::Receiver<ServerEvent>) -> String {
    loop {
        let event = timeout(Duration::from_secs(10), events.recv())
            .await
            .expect("no registration within 10 s")
            .unwrap();
        if let ServerEvent::Registration(RegistrationEvent::Registered { registration, .. }) = event
        {
            return registration.endpoint().to_owned();
        }
    }
}

fn single(content: &lwm2m_model::content::Content) -> Value {
    match &content.node {
        Node::Resource(r) => r.as_single().cloned().unwrap(),
        other => panic!("not a single resource: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(
    clippy::too_many_lines,
    reason = "one client session walks through every operation in order"
)]
async fn device_management_end_to_end() {
    let server = Server::builder()
        .request_timeout(Duration::from_secs(5))
        .bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let mut events = server.events();
    let handle = server.handle();
    let mut client = support::spawn("node-e2e", server.local_addr());
    assert_eq!(registered(&mut events).await, "node-e2e");
    let registration = handle.client("node-e2e").unwrap();
    assert!(registration.object_links().has_object(3311));
    assert_eq!(handle.clients().len(), 1);

    // Read /3/0 (JSON, which the client advertised) and check the manufacturer.
    let device = handle.read("node-e2e", path("/3/0"), None).await.unwrap();
    let Node::ObjectInstance(instance) = &device.node else {
        panic!("{device:?}")
    };
    assert_eq!(
        instance.value(0),
        Some(&Value::String("Open Mobile Alliance".into()))
    );
    // The same in TLV and in plain text.
    let tlv = handle
        .read("node-e2e", path("/3/0/0"), Some(ContentFormat::Tlv))
        .await
        .unwrap();
    assert_eq!(single(&tlv), Value::String("Open Mobile Alliance".into()));
    let text = handle
        .read("node-e2e", path("/3/0/9"), Some(ContentFormat::Text))
        .await
        .unwrap();
    assert_eq!(single(&text), Value::Integer(100));

    // Write the lifetime of the Server object and read it back.
    let lifetime = Node::Resource(Resource::single(1, Value::Integer(600)));
    handle
        .write(
            "node-e2e",
            path("/1/0/1"),
            &lifetime,
            WriteMode::Replace,
            None,
        )
        .await
        .unwrap();
    let read_back = handle.read("node-e2e", path("/1/0/1"), None).await.unwrap();
    assert_eq!(single(&read_back), Value::Integer(600));

    // Execute Reboot; the client reports it.
    handle
        .execute("node-e2e", path("/3/0/4"), "")
        .await
        .unwrap();
    let executed = timeout(Duration::from_secs(5), async {
        while let Some(event) = client.events.recv().await {
            if let ClientEvent::Executed { path, .. } = event {
                return path;
            }
        }
        panic!("client stopped")
    })
    .await
    .unwrap();
    assert_eq!(executed, path("/3/0/4"));

    // Create a Light Control instance, read it, delete it.
    let light = ObjectInstance::with_resources(
        0,
        [
            Resource::single(5850, Value::Boolean(true)),
            Resource::single(5706, Value::String("red".into())),
        ],
    );
    let created = handle
        .create("node-e2e", path("/3311"), light, None)
        .await
        .unwrap();
    assert_eq!(created, path("/3311/0"));
    let colour = handle
        .read("node-e2e", path("/3311/0/5706"), None)
        .await
        .unwrap();
    assert_eq!(single(&colour), Value::String("red".into()));
    handle.delete("node-e2e", created).await.unwrap();
    let gone = handle.read("node-e2e", created, None).await.unwrap_err();
    assert!(
        matches!(gone, DmError::NotFound(p) if p == created),
        "{gone:?}"
    );

    // Discover the device instance.
    let links = handle.discover("node-e2e", path("/3/0")).await.unwrap();
    assert!(links.iter().any(|l| l.path == path("/3/0/0")), "{links:?}");
    assert!(links.iter().any(|l| l.path == path("/3/0/4")), "{links:?}");

    // Observe the battery level with pmin 1, pmax 2: a notification comes within pmax.
    let attributes = AttributeUpdate {
        pmin: Some(AttributeChange::Set(1)),
        pmax: Some(AttributeChange::Set(2)),
        ..AttributeUpdate::default()
    };
    handle
        .write_attributes("node-e2e", path("/3/0/9"), &attributes)
        .await
        .unwrap();
    let discovered = handle.discover("node-e2e", path("/3/0/9")).await.unwrap();
    let pmax = discovered[0]
        .attributes
        .iter()
        .find(|(name, _)| name == "pmax")
        .cloned();
    assert_eq!(pmax, Some(("pmax".to_owned(), Some("2".to_owned()))));
    let mut observation = handle
        .observe("node-e2e", path("/3/0/9"), None)
        .await
        .unwrap();
    assert_eq!(single(observation.initial()), Value::Integer(100));
    let notification = timeout(Duration::from_secs(6), observation.next())
        .await
        .expect("no notification within pmax")
        .unwrap()
        .unwrap();
    assert_eq!(single(&notification), Value::Integer(100));
    // The notification was published as an event too.
    let published = timeout(Duration::from_secs(2), async {
        loop {
            if let Ok(ServerEvent::Notification { endpoint, path, .. }) = events.recv().await {
                return (endpoint, path);
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(&*published.0, "node-e2e");
    assert_eq!(published.1, path("/3/0/9"));
    assert!(handle.cancel_observation("node-e2e", path("/3/0/9")));
    assert!(!handle.cancel_observation("node-e2e", path("/3/0/9")));
    let end = timeout(Duration::from_secs(5), observation.next())
        .await
        .unwrap();
    assert!(end.is_none(), "{end:?}");

    // Typed errors.
    let unknown = handle.read("nobody", path("/3/0"), None).await.unwrap_err();
    assert_eq!(unknown, DmError::UnknownEndpoint("nobody".into()));
    let missing = handle
        .read("node-e2e", path("/3/7"), None)
        .await
        .unwrap_err();
    assert!(matches!(missing, DmError::NotFound(_)), "{missing:?}");
    let no_object = handle
        .read("node-e2e", path("/42/0"), None)
        .await
        .unwrap_err();
    assert!(matches!(no_object, DmError::NotFound(_)), "{no_object:?}");
    let not_executable = handle
        .execute("node-e2e", path("/3/0/0"), "")
        .await
        .unwrap_err();
    assert!(
        matches!(not_executable, DmError::MethodNotAllowed(_)),
        "{not_executable:?}"
    );
    let root = handle.read("node-e2e", Path::ROOT, None).await.unwrap_err();
    assert!(matches!(root, DmError::InvalidPath { .. }), "{root:?}");
    let bad_args = handle
        .execute("node-e2e", path("/3/0/4"), "x=1")
        .await
        .unwrap_err();
    assert!(
        matches!(bad_args, DmError::InvalidRequest(_)),
        "{bad_args:?}"
    );

    drop(client);
    server.shutdown().await;
}

#[tokio::test]
async fn an_unanswered_request_times_out() {
    let server = Server::builder()
        .request_timeout(Duration::from_millis(300))
        .bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let mut events = server.events();
    let handle = server.handle();
    let client = support::spawn("sleepy", server.local_addr());
    registered(&mut events).await;
    // The client goes silent (its thread sees the stop at its next wake-up), its registration
    // stays.
    drop(client);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let error = handle.read("sleepy", path("/3/0"), None).await.unwrap_err();
    assert_eq!(
        error,
        DmError::Timeout {
            endpoint: "sleepy".into(),
            path: path("/3/0")
        }
    );
    server.shutdown().await;
}
