//! Two of our servers and one of our clients, with Access Control instances (digest §14):
//! server A (ssid 101) may read and write `/3/0`, server B (ssid 102) may only read it. B's
//! Write is refused with 4.01 Unauthorized and changes nothing; A's succeeds and B reads the
//! new value.

mod e2e_support;

use lwm2m_objects::ResourceInstances;
use std::net::SocketAddr;
use std::time::Duration;

use e2e_support::{example_device, path, registered, single, spawn};
use lwm2m_client::{ClientBuilder, DeviceObject, ServerAccount};
use lwm2m_model::{Node, Resource, Value};
use lwm2m_objects::AccessControl;
use lwm2m_server::server::{DmError, Server, WriteMode};

const EP: &str = "e2e-acl";
const READ: i64 = 1;
const WRITE: i64 = 2;

fn ac(object: i64, instance: i64, acl: &[(u16, i64)], owner: i64) -> AccessControl {
    AccessControl {
        object_id: object,
        object_instance_id: instance,
        acl: Some(acl.iter().copied().collect::<ResourceInstances<_>>()),
        access_control_owner: owner,
    }
}

fn client(a: SocketAddr, b: SocketAddr) -> lwm2m_client::Client<SocketAddr> {
    ClientBuilder::new(EP)
        .server(ServerAccount::new(101, a).lifetime(300))
        .server(ServerAccount::new(102, b).lifetime(300))
        .object(DeviceObject::new(example_device()).with_executables(&[4]))
        .access_control(0, ac(1, 0, &[(101, READ | WRITE)], 101))
        .access_control(1, ac(1, 1, &[(102, READ | WRITE)], 102))
        .access_control(2, ac(3, 0, &[(101, READ | WRITE), (102, READ)], 101))
        .seed([3; 32])
        .build()
        .unwrap()
}

async fn start() -> Server {
    Server::builder()
        .request_timeout(Duration::from_secs(5))
        .bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_server_gets_what_its_acl_allows() {
    let a = start().await;
    let b = start().await;
    let (ha, hb) = (a.handle(), b.handle());
    let (mut ea, mut eb) = (ha.event_stream(), hb.event_stream());
    let device = spawn(client(a.local_addr(), b.local_addr())).await;
    registered(&mut ea, EP).await;
    registered(&mut eb, EP).await;

    // Both read the device.
    for handle in [&ha, &hb] {
        let content = handle.read(EP, path("/3/0/0"), None).await.unwrap();
        assert_eq!(
            single(&content),
            Value::String("Open Mobile Alliance".into())
        );
    }

    // B may not write: 4.01, and the value is unchanged.
    let offset = |text: &str| Node::Resource(Resource::single(14, Value::String(text.into())));
    let refused = hb
        .write(
            EP,
            path("/3/0/14"),
            &offset("+05:00"),
            WriteMode::Replace,
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(refused, DmError::Unauthorized(path("/3/0/14")));
    assert_eq!(
        single(&ha.read(EP, path("/3/0/14"), None).await.unwrap()),
        Value::String("+01:00".into())
    );

    // A may: B reads what A wrote.
    ha.write(
        EP,
        path("/3/0/14"),
        &offset("+03:00"),
        WriteMode::Replace,
        None,
    )
    .await
    .unwrap();
    assert_eq!(
        single(&hb.read(EP, path("/3/0/14"), None).await.unwrap()),
        Value::String("+03:00".into())
    );

    // Neither has the Execute right (4) on /3/0.
    for handle in [&ha, &hb] {
        assert_eq!(
            handle.execute(EP, path("/3/0/4"), "").await.unwrap_err(),
            DmError::Unauthorized(path("/3/0/4"))
        );
    }

    // Each server reads its own Server instance only.
    let own = ha.read(EP, path("/1/0/0"), None).await.unwrap();
    assert_eq!(single(&own), Value::Integer(101));
    assert_eq!(
        ha.read(EP, path("/1/1"), None).await.unwrap_err(),
        DmError::Unauthorized(path("/1/1"))
    );
    let own = hb.read(EP, path("/1/1/0"), None).await.unwrap();
    assert_eq!(single(&own), Value::Integer(102));

    drop(device);
    a.shutdown().await;
    b.shutdown().await;
}
