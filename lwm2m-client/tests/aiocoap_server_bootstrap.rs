//! Bootstrap against an independent peer: `tests/peers/lwm2m_server.py` plays the
//! Bootstrap-Server (answers `POST /bs?ep=`, sends Delete /, Writes a Security and a Server
//! instance in TLV it encodes itself, Bootstrap-Discover / and Finish) and then the LwM2M server
//! it configured, with which our client must register.
#![cfg(feature = "tokio")]

mod peers;

use std::time::Duration;

use lwm2m_client::runtime::run_client;
use lwm2m_client::{BootstrapConfig, ClientBuilder, ClientEvent};
use peers::session::{
    device, expect_step, next_event, port, step, wait_event, with, LIMIT, LINK, MANUFACTURER, TEXT,
    TLV,
};
use serde_json::json;
use tokio::net::UdpSocket;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aiocoap_bootstrap_server_configures_our_client() {
    let steps = json!([
        with(step("read-server-account", "GET", "/1/1"), "accept", TLV),
        with(step("read-security", "GET", "/0/1"), "accept", TLV),
        with(step("read-manufacturer", "GET", "/3/0/0"), "accept", TEXT),
    ]);
    let config = json!({
        "bootstrap": {"ssid": 123, "lifetime": 90, "security_instance": 1, "server_instance": 1},
        "steps": steps,
        "timeout": 60,
    });
    let mut peer = peers::spawn("lwm2m_server.py", &[&config.to_string()]);
    let listening = peer.expect("listening", LIMIT).await;
    let client = ClientBuilder::new("aiocoap-bs")
        .bootstrap_server(BootstrapConfig::udp(port(&listening, "bs_port")))
        .object(device())
        .build()
        .unwrap();
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let (handle, mut events, task) = run_client(client, socket);

    let request = peer.expect("bootstrap_request", LIMIT).await;
    assert_eq!(
        (&request["query"], &request["code"]),
        (&json!(["ep=aiocoap-bs"]), &json!("2.04")),
        "{}",
        peer.context()
    );
    assert_eq!(next_event(&mut events).await, ClientEvent::BootstrapStarted);
    expect_step(&mut peer, "bs-delete", "2.02", None, b"").await;
    expect_step(&mut peer, "bs-write-security", "2.04", None, b"").await;
    expect_step(&mut peer, "bs-write-server", "2.04", None, b"").await;
    // Bootstrap-Discover /: the Bootstrap-Server account /0/0 (kept by Delete /), the written
    // accounts with their Short Server ID, and the Device.
    expect_step(
        &mut peer,
        "bs-discover",
        "2.05",
        Some(LINK),
        br#"lwm2m="1.0",</0/0>,</0/1>;ssid=123,</1/1>;ssid=123,</3/0>"#,
    )
    .await;
    expect_step(&mut peer, "bs-finish", "2.04", None, b"").await;
    assert_eq!(
        wait_event(&mut events, |e| !matches!(e, ClientEvent::Written { .. })).await,
        ClientEvent::BootstrapFinished
    );

    // The client then registers with the server the peer configured.
    let register = peer.expect("register", LIMIT).await;
    let context = peer.context();
    assert_eq!(register["code"], "2.01", "{context}");
    assert_eq!(
        register["query"],
        json!(["ep=aiocoap-bs", "lt=90", "lwm2m=1.0", "b=U"]),
        "{context}"
    );
    assert_eq!(
        register["payload"], r#"</>;rt="oma.lwm2m";ct=11543,</1/1>,</3/0>"#,
        "{context}"
    );
    assert_eq!(
        wait_event(&mut events, |e| matches!(e, ClientEvent::Registered { .. })).await,
        ClientEvent::Registered {
            ssid: 123,
            location: format!("/{}", register["location"].as_str().unwrap()),
        }
    );
    // The Server instance holds exactly what was written: SSID 123, lifetime 90, storing
    // false, binding U.
    expect_step(
        &mut peer,
        "read-server-account",
        "2.05",
        Some(TLV),
        &[
            0xC1, 0x00, 123, 0xC1, 0x01, 90, 0xC1, 0x06, 0x00, 0xC1, 0x07, b'U',
        ],
    )
    .await;
    // The Security object is invisible to a management server.
    expect_step(&mut peer, "read-security", "4.04", None, b"").await;
    expect_step(
        &mut peer,
        "read-manufacturer",
        "2.05",
        Some(TEXT),
        MANUFACTURER.as_bytes(),
    )
    .await;
    peer.expect("steps_done", LIMIT).await;

    handle.shutdown(Duration::from_secs(5)).await.unwrap();
    let deregister = peer.expect("deregister", LIMIT).await;
    assert_eq!(deregister["location"], register["location"]);
    peer.expect("done", LIMIT).await;
    peer.finish(LIMIT).await;
    task.await.unwrap().unwrap();
}
