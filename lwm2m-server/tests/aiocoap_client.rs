//! Our server driven by an independent client: `tests/peers/lwm2m_client.py`, a scripted LwM2M
//! client written with aiocoap (from the interop venv), on loopback UDP. The peer reports the
//! codes our server gave its malformed and valid registration requests; this test reads and
//! observes the peer through `ServerHandle` and checks the decoded values and the bytes the peer
//! received; Discover, Write-Attributes and Execute reach the peer as they should, and its
//! error codes come back as typed errors.

mod peers;

use std::time::Duration;

use lwm2m_model::content::{Content, ContentFormat};
use lwm2m_model::{AttributeChange, AttributeUpdate, Node, Path, Resource, Value};
use lwm2m_server::registration::RegistrationEvent;
use lwm2m_server::server::{DiscoveredLink, DmError, Server, ServerEvent, WriteMode};
use serde_json::json;
use tokio::sync::broadcast;
use tokio::time::timeout;

const LIMIT: Duration = Duration::from_secs(20);
const ENDPOINT: &str = "aiocoap-node";

fn path(text: &str) -> Path {
    Path::parse(text).unwrap()
}

/// The next registration event, skipping notifications.
async fn registration_event(events: &mut broadcast::Receiver<ServerEvent>) -> RegistrationEvent {
    loop {
        let event = timeout(LIMIT, events.recv())
            .await
            .expect("no registration event in time")
            .expect("the event stream ended");
        if let ServerEvent::Registration(event) = event {
            return event;
        }
    }
}

fn single(content: &Content) -> Value {
    match &content.node {
        Node::Resource(r) => r.as_single().cloned().expect("a single resource"),
        other => panic!("not a single resource: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(
    clippy::too_many_lines,
    reason = "one peer session: bad requests, register, reads, observe, update, de-register"
)]
async fn aiocoap_client_registers_answers_and_notifies() {
    let server = Server::builder()
        .request_timeout(Duration::from_secs(5))
        .bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let handle = server.handle();
    let mut events = server.events();
    let uri = format!("coap://{}", server.local_addr());
    let mut peer = peers::spawn("lwm2m_client.py", &[&uri, ENDPOINT]);

    // Malformed registrations, as the peer saw them answered.
    for (name, code) in [
        ("register-without-ep", "4.00"),
        ("register-bad-lt", "4.00"),
        ("register-bad-links", "4.00"),
        ("update-unknown", "4.04"),
    ] {
        let line = peer.expect("request", LIMIT).await;
        assert_eq!(line["name"], name, "{}", peer.context());
        assert_eq!(line["code"], code, "{name}: {}", peer.context());
    }
    let register = peer.expect("request", LIMIT).await;
    assert_eq!(
        (&register["name"], &register["code"]),
        (&json!("register"), &json!("2.01")),
        "{}",
        peer.context()
    );
    let RegistrationEvent::Registered { registration, .. } = registration_event(&mut events).await
    else {
        panic!("the first registration event is not Registered")
    };
    assert_eq!(registration.endpoint(), ENDPOINT);
    assert_eq!(registration.lifetime(), 60);
    assert_eq!(
        registration.location().trim_start_matches('/'),
        register["location"].as_str().unwrap()
    );
    assert!(registration.object_links().has_object(3));
    // Only the valid Register made a registration.
    let clients: Vec<String> = handle
        .clients()
        .iter()
        .map(|r| r.endpoint().to_owned())
        .collect();
    assert_eq!(clients, [ENDPOINT]);

    // Read /3/0: the TS Device instance, decoded with the core definitions.
    let device = handle.read(ENDPOINT, path("/3/0"), None).await.unwrap();
    let Node::ObjectInstance(instance) = &device.node else {
        panic!("{device:?}")
    };
    assert_eq!(
        instance.value(0),
        Some(&Value::String("Open Mobile Alliance".into()))
    );
    assert_eq!(
        instance.value(1),
        Some(&Value::String("Lightweight M2M Client".into()))
    );
    assert_eq!(instance.value(2), Some(&Value::String("345000123".into())));
    assert_eq!(instance.value(3), Some(&Value::String("1.0".into())));
    assert_eq!(instance.value(9), Some(&Value::Integer(100)));
    assert_eq!(instance.value(10), Some(&Value::Integer(15)));
    assert_eq!(instance.value(13), Some(&Value::Time(0x5182_428F)));
    assert_eq!(instance.value(14), Some(&Value::String("+02:00".into())));
    assert_eq!(instance.value(16), Some(&Value::String("U".into())));
    let multiple = |id: u16| -> Vec<(u16, Value)> {
        let resource: &Resource = instance.resource(id).expect("a multiple resource");
        resource
            .instances()
            .expect("instances")
            .iter()
            .map(|(k, v)| (*k, v.clone()))
            .collect()
    };
    assert_eq!(
        multiple(6),
        [(0, Value::Integer(1)), (1, Value::Integer(5))]
    );
    assert_eq!(
        multiple(7),
        [(0, Value::Integer(3800)), (1, Value::Integer(5000))]
    );
    assert_eq!(
        multiple(8),
        [(0, Value::Integer(125)), (1, Value::Integer(900))]
    );
    assert_eq!(multiple(11), [(0, Value::Integer(0))]);
    let served = peer.expect("served", LIMIT).await;
    assert_eq!(
        served,
        json!({"event": "served", "method": "GET", "path": "3/0", "accept": 11542, "observe": null})
    );

    // The manufacturer as text and as TLV.
    for format in [ContentFormat::Text, ContentFormat::Tlv] {
        let manufacturer = handle
            .read(ENDPOINT, path("/3/0/0"), Some(format))
            .await
            .unwrap();
        assert_eq!(
            single(&manufacturer),
            Value::String("Open Mobile Alliance".into()),
            "{format:?}"
        );
        let served = peer.expect("served", LIMIT).await;
        assert_eq!(served["accept"], json!(format.number()), "{served}");
    }

    // Observe the battery: the first value, then the peer's three notifications.
    let mut observation = handle
        .observe(ENDPOINT, path("/3/0/9"), None)
        .await
        .unwrap();
    assert_eq!(single(observation.initial()), Value::Integer(100));
    let served = peer.expect("served", LIMIT).await;
    assert_eq!(
        (&served["path"], &served["observe"]),
        (&json!("3/0/9"), &json!(0)),
        "{served}"
    );
    let mut levels = Vec::new();
    for _ in 0..3 {
        let notification = timeout(LIMIT, observation.next())
            .await
            .expect("no notification in time")
            .expect("the observation ended")
            .expect("a notification that decodes");
        levels.push(single(&notification));
    }
    assert_eq!(
        levels,
        [Value::Integer(99), Value::Integer(98), Value::Integer(97)]
    );
    // aiocoap renders each notification from the observe request again.
    for _ in 0..3 {
        let served = peer.expect("served", LIMIT).await;
        assert_eq!(
            (&served["path"], &served["accept"]),
            (&json!("3/0/9"), &json!(11542)),
            "{served}"
        );
    }

    // A Write: the peer reports the exact TLV bytes it received.
    handle
        .write(
            ENDPOINT,
            path("/3/0/14"),
            &Node::Resource(Resource::single(14, "+05:00")),
            WriteMode::Replace,
            None,
        )
        .await
        .unwrap();
    let written = peer.expect("written", LIMIT).await;
    assert_eq!(
        (&written["cf"], &written["payload_hex"]),
        (&json!(11542), &json!("c60e2b30353a3030")),
        "{written}"
    );

    // Discover: the links and their attributes as the peer wrote them.
    let links = handle.discover(ENDPOINT, path("/3/0")).await.unwrap();
    let attribute = |name: &str, value: &str| (name.to_owned(), Some(value.to_owned()));
    assert_eq!(
        links,
        [
            DiscoveredLink {
                path: path("/3/0"),
                attributes: vec![]
            },
            DiscoveredLink {
                path: path("/3/0/0"),
                attributes: vec![]
            },
            DiscoveredLink {
                path: path("/3/0/4"),
                attributes: vec![]
            },
            DiscoveredLink {
                path: path("/3/0/9"),
                attributes: vec![attribute("pmin", "10"), attribute("pmax", "60")],
            },
            DiscoveredLink {
                path: path("/3/0/11"),
                attributes: vec![attribute("dim", "1")]
            },
        ]
    );
    let served = peer.expect("served", LIMIT).await;
    assert_eq!(
        (&served["path"], &served["accept"]),
        (&json!("3/0"), &json!(40)),
        "{served}"
    );

    // Write-Attributes and Execute, as the peer received them.
    let attributes = AttributeUpdate {
        pmin: Some(AttributeChange::Set(1)),
        pmax: Some(AttributeChange::Set(2)),
        ..AttributeUpdate::default()
    };
    handle
        .write_attributes(ENDPOINT, path("/3/0/9"), &attributes)
        .await
        .unwrap();
    let line = peer.expect("attributes", LIMIT).await;
    assert_eq!(line["query"], json!(["pmin=1", "pmax=2"]), "{line}");
    handle
        .execute(ENDPOINT, path("/3/0/4"), "0='now'")
        .await
        .unwrap();
    let line = peer.expect("executed", LIMIT).await;
    assert_eq!(line["payload"], "0='now'", "{line}");

    // The peer's error codes become typed errors.
    let error = handle
        .read(ENDPOINT, path("/3/0/1"), None)
        .await
        .unwrap_err();
    assert!(
        matches!(error, DmError::NotFound(p) if p == path("/3/0/1")),
        "{error:?}"
    );
    let error = handle
        .execute(ENDPOINT, path("/3/0/0"), "")
        .await
        .unwrap_err();
    assert!(matches!(error, DmError::MethodNotAllowed(_)), "{error:?}");
    let error = handle
        .read(ENDPOINT, path("/3/0"), Some(ContentFormat::Json))
        .await
        .unwrap_err();
    assert!(matches!(error, DmError::NotAcceptable(_)), "{error:?}");
    let served = peer.expect("served", LIMIT).await;
    assert_eq!(served["accept"], json!(11543), "{served}");

    // The signal to the peer: it updates, then de-registers.
    let manufacturer = handle
        .read(ENDPOINT, path("/3/0/0"), Some(ContentFormat::Text))
        .await
        .unwrap();
    assert_eq!(
        single(&manufacturer),
        Value::String("Open Mobile Alliance".into())
    );
    let RegistrationEvent::Updated { previous, current } = registration_event(&mut events).await
    else {
        panic!("the next registration event is not Updated")
    };
    assert_eq!((previous.lifetime(), current.lifetime()), (60, 120));
    assert_eq!(current.id(), registration.id());
    let RegistrationEvent::Deregistered { registration: gone } =
        registration_event(&mut events).await
    else {
        panic!("the next registration event is not Deregistered")
    };
    assert_eq!(gone.id(), registration.id());
    for (name, code) in [
        ("update", "2.04"),
        ("deregister", "2.02"),
        ("update-after-deregister", "4.04"),
    ] {
        let line = peer.expect("request", LIMIT).await;
        assert_eq!(line["name"], name, "{}", peer.context());
        assert_eq!(line["code"], code, "{name}: {}", peer.context());
    }
    peer.expect("done", LIMIT).await;
    peer.finish(LIMIT).await;
    assert!(handle.clients().is_empty());
    // The registration's observation ended with it.
    let end = timeout(LIMIT, observation.next())
        .await
        .expect("the stream ends");
    assert!(end.is_none(), "{end:?}");
    server.shutdown().await;
}
