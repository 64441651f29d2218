//! Expiry with our clients on real time: two clients register with a 2 s lifetime on a server
//! without grace period. The one that keeps sending its Updates stays registered; the one
//! that loses power (no De-register) expires about a lifetime later, and the server then
//! answers a request for it with `UnknownEndpoint`.

mod e2e_support;

use std::net::SocketAddr;
use std::time::Duration;

use e2e_support::{example_device, path, registered, spawn, WAIT};
use lwm2m_client::{ClientBuilder, ClientEvent, DeviceObject, ServerAccount};
use lwm2m_server::registration::{Registrar, RegistrarConfig, RegistrationEvent};
use lwm2m_server::server::{DmError, Server, ServerEvent};
use tokio::time::{timeout, Instant};

const LIFETIME: u32 = 2;

fn client(endpoint: &str, server: SocketAddr, seed: u8) -> lwm2m_client::Client<SocketAddr> {
    ClientBuilder::new(endpoint)
        .server(ServerAccount::new(1, server).lifetime(LIFETIME))
        .object(DeviceObject::new(example_device()))
        .seed([seed; 32])
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_client_expires_and_an_updating_one_stays() {
    let server = Server::builder()
        .request_timeout(Duration::from_secs(5))
        .registrar(Registrar::builder().config(RegistrarConfig {
            expiry_grace: Duration::ZERO,
            ..RegistrarConfig::default()
        }))
        .bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let handle = server.handle();
    let mut events = handle.event_stream();
    let mut alive = spawn(client("e2e-alive", server.local_addr(), 1)).await;
    registered(&mut events, "e2e-alive").await;
    let mut lost = spawn(client("e2e-lost", server.local_addr(), 2)).await;
    registered(&mut events, "e2e-lost").await;
    lost.wait_for("Registered", |e| {
        matches!(e, ClientEvent::Registered { .. })
    })
    .await;
    lost.power_off();
    let silent_since = Instant::now();

    // Watch the events for three lifetimes: the lost client expires once, the other one
    // updates and never expires.
    let mut expired = Vec::new();
    let mut updates = 0;
    let window = Duration::from_secs(3 * u64::from(LIFETIME));
    while let Ok(event) =
        timeout(window.saturating_sub(silent_since.elapsed()), events.next()).await
    {
        match event.expect("the event stream ended") {
            ServerEvent::Registration(RegistrationEvent::Expired { registration }) => {
                expired.push((registration.endpoint().to_owned(), silent_since.elapsed()));
            }
            ServerEvent::Registration(RegistrationEvent::Updated { current, .. }) => {
                assert_eq!(current.endpoint(), "e2e-alive");
                updates += 1;
            }
            _ => {}
        }
    }
    assert_eq!(expired.len(), 1, "{expired:?}");
    assert_eq!(expired[0].0, "e2e-lost");
    // Not before its lifetime (counted from its Register, just before `silent_since`) is
    // nearly over, and not much later.
    let after = expired[0].1;
    assert!(
        after >= Duration::from_millis(1500)
            && after <= Duration::from_secs(u64::from(LIFETIME) + 2),
        "expired after {after:?}"
    );
    assert!(updates >= 2, "{updates} Updates in {window:?}");
    alive
        .wait_for("Updated", |e| matches!(e, ClientEvent::Updated { .. }))
        .await;

    // The lost client is gone, the other one is listed and managed.
    let endpoints: Vec<String> = handle
        .clients()
        .iter()
        .map(|r| r.endpoint().to_owned())
        .collect();
    assert_eq!(endpoints, ["e2e-alive"]);
    assert_eq!(
        handle
            .read("e2e-lost", path("/3/0/9"), None)
            .await
            .unwrap_err(),
        DmError::UnknownEndpoint("e2e-lost".into())
    );
    let battery = timeout(WAIT, handle.read("e2e-alive", path("/3/0/9"), None))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        e2e_support::single(&battery),
        lwm2m_model::Value::Integer(100)
    );

    drop(alive);
    server.shutdown().await;
}
