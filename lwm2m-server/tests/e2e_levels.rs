//! Every device-management operation at every level it applies to, over `NoSec`, our client
//! against our server: Read, Write, Discover, Write-Attributes and Observe at object,
//! instance, resource and resource-instance level (`/3/0/6/1`), Create and Delete on the
//! multiple-instance Light Control object, Execute with arguments; each with the decoded
//! values or the typed error the client's code maps to.

mod e2e_support;

use std::net::SocketAddr;
use std::time::Duration;

use e2e_support::{example_device, path, registered, single, spawn, Running, WAIT};
use lwm2m_client::{ClientBuilder, ClientEvent, DeviceObject, ServerAccount, TypedStore};
use lwm2m_model::content::ContentFormat;
use lwm2m_model::{
    AttributeChange, AttributeUpdate, Node, ObjectInstance, Path, Resource, ResourceInstance, Value,
};
use lwm2m_objects::LightControl;
use lwm2m_server::server::{DmError, Server, ServerHandle, WriteMode};
use tokio::time::timeout;

const EP: &str = "e2e-levels";

fn client(server: SocketAddr) -> lwm2m_client::Client<SocketAddr> {
    ClientBuilder::new(EP)
        .server(ServerAccount::new(1, server).lifetime(300))
        .object(DeviceObject::new(example_device()).with_executables(&[4]))
        .object(TypedStore::<LightControl>::new())
        .seed([13; 32])
        .build()
        .unwrap()
}

async fn start() -> (Server, Running) {
    let server = Server::builder()
        .request_timeout(Duration::from_secs(5))
        .bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let mut events = server.handle().event_stream();
    let device = spawn(client(server.local_addr())).await;
    registered(&mut events, EP).await;
    (server, device)
}

fn light(id: u16, on: bool, colour: &str, dimmer: i64) -> ObjectInstance {
    ObjectInstance::with_resources(
        id,
        [
            Resource::single(5850, Value::Boolean(on)),
            Resource::single(5706, Value::String(colour.into())),
            Resource::single(5851, Value::Integer(dimmer)),
        ],
    )
}

fn instance_ids(node: &Node) -> Vec<u16> {
    match node {
        Node::Object(object) => object.instances().map(ObjectInstance::id).collect(),
        other => panic!("not an object: {other:?}"),
    }
}

async fn attribute(handle: &ServerHandle, at: Path, name: &str) -> Option<String> {
    let links = handle.discover(EP, at).await.unwrap();
    let link = links
        .iter()
        .find(|l| l.path == at)
        .unwrap_or_else(|| panic!("{at} not in {links:?}"));
    link.attributes
        .iter()
        .find(|(n, _)| n == name)
        .and_then(|(_, v)| v.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_at_every_level_in_every_format() {
    let (server, device) = start().await;
    let handle = server.handle();

    // Object: the one Device instance.
    let object = handle.read(EP, path("/3"), None).await.unwrap();
    assert_eq!(instance_ids(&object.node), [0]);
    // Instance, in TLV and JSON alike.
    for format in [ContentFormat::Tlv, ContentFormat::Json] {
        let instance = handle.read(EP, path("/3/0"), Some(format)).await.unwrap();
        let Node::ObjectInstance(instance) = &instance.node else {
            panic!("{instance:?}")
        };
        assert_eq!(instance.value(9), Some(&Value::Integer(100)));
        assert_eq!(
            instance.resource(6).and_then(|r| r.instance(1)),
            Some(&Value::Integer(5))
        );
    }
    // Resource, in TLV, JSON and text.
    for format in [ContentFormat::Tlv, ContentFormat::Json, ContentFormat::Text] {
        let serial = handle.read(EP, path("/3/0/2"), Some(format)).await.unwrap();
        assert_eq!(
            single(&serial),
            Value::String("345000123".into()),
            "{format:?}"
        );
    }
    // A multiple-instance resource and one of its instances.
    let sources = handle.read(EP, path("/3/0/6"), None).await.unwrap();
    assert_eq!(
        sources.node,
        Node::Resource(Resource::multiple(
            6,
            [(0, Value::Integer(1)), (1, Value::Integer(5))]
        ))
    );
    for format in [ContentFormat::Tlv, ContentFormat::Text] {
        let usb = handle
            .read(EP, path("/3/0/6/1"), Some(format))
            .await
            .unwrap();
        assert_eq!(
            usb.node,
            Node::ResourceInstance(ResourceInstance {
                id: 1,
                value: Value::Integer(5)
            }),
            "{format:?}"
        );
    }
    // What is not there.
    for missing in ["/3/1", "/3/0/6/7", "/3/0/15", "/42"] {
        let error = handle.read(EP, path(missing), None).await.unwrap_err();
        assert!(
            matches!(error, DmError::NotFound(_)),
            "{missing}: {error:?}"
        );
    }

    drop(device);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(
    clippy::too_many_lines,
    reason = "one client session walks through the operations in order"
)]
async fn create_write_and_delete_on_a_multiple_instance_object() {
    let (server, mut device) = start().await;
    let handle = server.handle();

    // Create two instances; the object lists both.
    let first = handle
        .create(EP, path("/3311"), light(0, true, "red", 10), None)
        .await
        .unwrap();
    let second = handle
        .create(
            EP,
            path("/3311"),
            light(1, false, "blue", 20),
            Some(ContentFormat::Json),
        )
        .await
        .unwrap();
    assert_eq!((first, second), (path("/3311/0"), path("/3311/1")));
    let created = device
        .wait_for("Created", |e| matches!(e, ClientEvent::Created { .. }))
        .await;
    assert!(
        matches!(&created, ClientEvent::Created { path: p, .. } if *p == path("/3311/0")),
        "{created:?}"
    );
    let object = handle.read(EP, path("/3311"), None).await.unwrap();
    assert_eq!(instance_ids(&object.node), [0, 1]);
    // Creating an existing instance again is refused.
    let again = handle
        .create(EP, path("/3311"), light(1, true, "x", 0), None)
        .await
        .unwrap_err();
    assert!(matches!(again, DmError::BadRequest(_)), "{again:?}");

    // Write: replace an instance, partially update one, one resource.
    handle
        .write(
            EP,
            path("/3311/0"),
            &Node::ObjectInstance(light(0, false, "green", 30)),
            WriteMode::Replace,
            None,
        )
        .await
        .unwrap();
    let partial = ObjectInstance::with_resources(1, [Resource::single(5851, Value::Integer(55))]);
    handle
        .write(
            EP,
            path("/3311/1"),
            &Node::ObjectInstance(partial),
            WriteMode::Update,
            Some(ContentFormat::Json),
        )
        .await
        .unwrap();
    handle
        .write(
            EP,
            path("/3311/0/5706"),
            &Node::Resource(Resource::single(5706, Value::String("white".into()))),
            WriteMode::Replace,
            Some(ContentFormat::Text),
        )
        .await
        .unwrap();
    let object = handle.read(EP, path("/3311"), None).await.unwrap();
    let Node::Object(object) = &object.node else {
        panic!("{object:?}")
    };
    let zero = object.instance(0).unwrap();
    assert_eq!(zero.value(5850), Some(&Value::Boolean(false)));
    assert_eq!(zero.value(5706), Some(&Value::String("white".into())));
    assert_eq!(zero.value(5851), Some(&Value::Integer(30)));
    let one = object.instance(1).unwrap();
    assert_eq!(one.value(5706), Some(&Value::String("blue".into())), "kept");
    assert_eq!(one.value(5851), Some(&Value::Integer(55)), "updated");

    // A read-only resource and resource instance cannot be written; the object level is not a
    // Write target at all.
    let read_only = handle
        .write(
            EP,
            path("/3/0/6/1"),
            &Node::ResourceInstance(ResourceInstance {
                id: 1,
                value: Value::Integer(2),
            }),
            WriteMode::Replace,
            None,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            read_only,
            DmError::MethodNotAllowed(_) | DmError::BadRequest(_)
        ),
        "{read_only:?}"
    );
    let object_level = handle
        .write(
            EP,
            path("/3311"),
            &Node::ObjectInstance(light(0, true, "a", 1)),
            WriteMode::Replace,
            None,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(object_level, DmError::InvalidPath { .. }),
        "{object_level:?}"
    );

    // Delete one instance: it is gone, the other stays.
    handle.delete(EP, path("/3311/0")).await.unwrap();
    let object = handle.read(EP, path("/3311"), None).await.unwrap();
    assert_eq!(instance_ids(&object.node), [1]);
    let gone = handle.delete(EP, path("/3311/0")).await.unwrap_err();
    assert_eq!(gone, DmError::NotFound(path("/3311/0")));

    drop(device);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(
    clippy::too_many_lines,
    reason = "one client session walks through the operations in order"
)]
async fn discover_write_attributes_and_observe_at_every_level() {
    let (server, device) = start().await;
    let handle = server.handle();
    handle
        .create(EP, path("/3311"), light(0, true, "red", 10), None)
        .await
        .unwrap();

    // Discover: the object lists its instance and resources, the instance its resources, the
    // resource itself (with `dim` for a multiple one).
    let links = handle.discover(EP, path("/3311")).await.unwrap();
    for expected in ["/3311", "/3311/0", "/3311/0/5850", "/3311/0/5706"] {
        assert!(
            links.iter().any(|l| l.path == path(expected)),
            "{expected}: {links:?}"
        );
    }
    let links = handle.discover(EP, path("/3/0")).await.unwrap();
    assert!(links.iter().any(|l| l.path == path("/3/0/4")), "{links:?}");
    assert_eq!(
        attribute(&handle, path("/3/0/6"), "dim").await.as_deref(),
        Some("2")
    );

    // Write-Attributes at object, instance and resource level, each with its own pmax; the
    // Discover of each level reports it.
    let levels = [("/3311", "5"), ("/3311/0", "4"), ("/3311/0/5851", "3")];
    for (at, pmax) in levels {
        let update = AttributeUpdate {
            pmax: Some(AttributeChange::Set(pmax.parse().unwrap())),
            ..AttributeUpdate::default()
        };
        handle
            .write_attributes(EP, path(at), &update)
            .await
            .unwrap();
        assert_eq!(
            attribute(&handle, path(at), "pmax").await.as_deref(),
            Some(pmax),
            "{at}"
        );
    }
    // A resource gets `gt`/`lt`/`st` (numeric), an instance may not.
    let numeric = AttributeUpdate {
        pmin: Some(AttributeChange::Set(0)),
        st: Some(AttributeChange::Set(5.0)),
        ..AttributeUpdate::default()
    };
    handle
        .write_attributes(EP, path("/3311/0/5851"), &numeric)
        .await
        .unwrap();
    assert_eq!(
        attribute(&handle, path("/3311/0/5851"), "st")
            .await
            .as_deref(),
        Some("5")
    );
    let refused = handle
        .write_attributes(EP, path("/3311/0"), &numeric)
        .await
        .unwrap_err();
    assert!(matches!(refused, DmError::BadRequest(_)), "{refused:?}");
    // Cancelling an attribute removes it.
    let cancel = AttributeUpdate {
        st: Some(AttributeChange::Unset),
        ..AttributeUpdate::default()
    };
    handle
        .write_attributes(EP, path("/3311/0/5851"), &cancel)
        .await
        .unwrap();
    assert_eq!(attribute(&handle, path("/3311/0/5851"), "st").await, None);

    // Observe the object, the instance, the resource and a resource instance (the last with
    // its own pmax 1 on its resource).
    let pmax1 = AttributeUpdate {
        pmax: Some(AttributeChange::Set(1)),
        ..AttributeUpdate::default()
    };
    handle
        .write_attributes(EP, path("/3/0/6"), &pmax1)
        .await
        .unwrap();
    let mut object = handle.observe(EP, path("/3311"), None).await.unwrap();
    let mut instance = handle.observe(EP, path("/3311/0"), None).await.unwrap();
    let mut resource = handle
        .observe(EP, path("/3311/0/5851"), None)
        .await
        .unwrap();
    let mut element = handle.observe(EP, path("/3/0/6/1"), None).await.unwrap();
    assert_eq!(instance_ids(&object.initial().node), [0]);
    assert!(matches!(instance.initial().node, Node::ObjectInstance(_)));
    assert_eq!(single(resource.initial()), Value::Integer(10));
    assert_eq!(
        element.initial().node,
        Node::ResourceInstance(ResourceInstance {
            id: 1,
            value: Value::Integer(5)
        })
    );
    // A Write changes the dimmer: the resource, instance and object observations each see
    // the new value; the resource instance is notified at its pmax.
    handle
        .write(
            EP,
            path("/3311/0/5851"),
            &Node::Resource(Resource::single(5851, Value::Integer(77))),
            WriteMode::Replace,
            None,
        )
        .await
        .unwrap();
    let changed = timeout(WAIT, resource.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(single(&changed), Value::Integer(77));
    let changed = timeout(WAIT, instance.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let Node::ObjectInstance(changed) = &changed.node else {
        panic!("{changed:?}")
    };
    assert_eq!(changed.value(5851), Some(&Value::Integer(77)));
    let changed = timeout(WAIT, object.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let Node::Object(changed) = &changed.node else {
        panic!("{changed:?}")
    };
    assert_eq!(
        changed.instance(0).and_then(|i| i.value(5851)),
        Some(&Value::Integer(77))
    );
    let periodic = timeout(WAIT, element.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(
        periodic.node,
        Node::ResourceInstance(ResourceInstance {
            id: 1,
            value: Value::Integer(5)
        })
    );
    for at in ["/3311", "/3311/0", "/3311/0/5851", "/3/0/6/1"] {
        assert!(handle.cancel_observation(EP, path(at)), "{at}");
    }

    drop(device);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn execute_with_arguments() {
    let (server, mut device) = start().await;
    let handle = server.handle();
    handle
        .execute(EP, path("/3/0/4"), "0='in-5s',1")
        .await
        .unwrap();
    let executed = device
        .wait_for("Executed", |e| matches!(e, ClientEvent::Executed { .. }))
        .await;
    assert_eq!(
        executed,
        ClientEvent::Executed {
            ssid: 1,
            path: path("/3/0/4"),
            arguments: vec![(0, Some("in-5s".into())), (1, None)],
        }
    );
    // A space is not a value character of the TS's argument syntax: refused before sending.
    let spaced = handle
        .execute(EP, path("/3/0/4"), "0='in five'")
        .await
        .unwrap_err();
    assert!(matches!(spaced, DmError::InvalidRequest(_)), "{spaced:?}");
    // Execute on an instance or a readable resource is refused.
    let instance = handle.execute(EP, path("/3/0"), "").await.unwrap_err();
    assert!(
        matches!(
            instance,
            DmError::InvalidPath { .. } | DmError::MethodNotAllowed(_)
        ),
        "{instance:?}"
    );
    let readable = handle.execute(EP, path("/3/0/9"), "").await.unwrap_err();
    assert_eq!(readable, DmError::MethodNotAllowed(path("/3/0/9")));

    drop(device);
    server.shutdown().await;
}
