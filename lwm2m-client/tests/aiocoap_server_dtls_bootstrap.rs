//! Bootstrap into a DTLS account against the aiocoap peer of `tests/peers/lwm2m_server.py`:
//! its Bootstrap-Server (on `coap://`) writes a Security instance naming its LwM2M server on
//! `coaps://` (aiocoap's `tinydtls_server` transport) with a pre-shared key, and a Server
//! instance; the client then registers with that server through a DTLS session made with the
//! written key (OpenSSL backend) and is managed over it.
//!
//! Twice: with the Bootstrap-Server on `coap://`, and on `coaps://` too, where the client
//! reaches it with the PSK of its `BootstrapConfig::credentials` (stored in the
//! Bootstrap-Server's Security instance).
#![cfg(feature = "dtls-openssl")]

mod aiocoap_steps;
mod peers;

use std::time::Duration;

use aiocoap_steps::dtls::{limits, with_dtls, IDENTITY, KEY};
use lwm2m_client::runtime::ClientTask;
use lwm2m_client::{BootstrapConfig, ClientBuilder, ClientEvent, DtlsCredentials, TypedStore};
use lwm2m_objects::Security;
use peers::session::{
    device, expect_step, next_event, port, step, wait_event, with, LIMIT, LINK, MANUFACTURER, TEXT,
    TLV,
};
use serde_json::json;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

const ENDPOINT: &str = "aiocoap-bs-dtls";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aiocoap_bootstrap_server_provisions_a_psk_account_the_client_registers_with_over_dtls() {
    bootstrap_then_dtls(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_coaps_bootstrap_server_is_reached_with_the_bootstrap_account_psk() {
    bootstrap_then_dtls(true).await;
}

#[allow(
    clippy::too_many_lines,
    reason = "one session from the Bootstrap-Request to the De-register"
)]
async fn bootstrap_then_dtls(bootstrap_over_dtls: bool) {
    let steps = json!([
        with(step("read-server-account", "GET", "/1/1"), "accept", TLV),
        with(step("read-security", "GET", "/0/1"), "accept", TLV),
        with(step("read-manufacturer", "GET", "/3/0/0"), "accept", TEXT),
    ]);
    let config = with_dtls(json!({
        "bootstrap": {
            "ssid": 123, "lifetime": 90, "security_instance": 1, "server_instance": 1,
            "dtls": bootstrap_over_dtls,
        },
        "steps": steps,
        "timeout": 60,
    }));
    let mut peer = peers::spawn("lwm2m_server.py", &[&config.to_string()]);
    let listening = peer.expect("listening", LIMIT).await;
    let server = port(&listening, "port");
    let bs_port = port(&listening, "bs_port");
    let bootstrap = if bootstrap_over_dtls {
        BootstrapConfig::new(bs_port, format!("coaps://{bs_port}"), |uri| {
            lwm2m_client::parse_coap_uri(uri).ok()
        })
        .credentials(DtlsCredentials::Psk {
            identity: IDENTITY.as_bytes().to_vec(),
            key: KEY.to_vec(),
        })
    } else {
        BootstrapConfig::udp(bs_port)
    };
    let client = ClientBuilder::new(ENDPOINT)
        .bootstrap_server(bootstrap)
        .object(device())
        .build()
        .unwrap();
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let (task, handle) = ClientTask::new(client, socket);
    let (events_tx, mut events) = mpsc::channel(64);
    let task = tokio::spawn(task.events(0, events_tx).dtls_limits(limits()).run());

    let request = peer.expect("bootstrap_request", LIMIT).await;
    assert_eq!(
        (&request["query"], &request["code"]),
        (&json!([format!("ep={ENDPOINT}")]), &json!("2.04")),
        "{}",
        peer.context()
    );
    assert_eq!(next_event(&mut events).await, ClientEvent::BootstrapStarted);
    expect_step(&mut peer, "bs-delete", "2.02", None, b"").await;
    expect_step(&mut peer, "bs-write-security", "2.04", None, b"").await;
    expect_step(&mut peer, "bs-write-server", "2.04", None, b"").await;
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

    // The written account: the coaps:// server with the PSK, which is what the DTLS session
    // of the Register uses.
    let written = handle
        .with_client(|c, _| {
            let security = c.object::<TypedStore<Security>>(0).unwrap();
            security.get(1).cloned().expect("the written /0/1")
        })
        .await
        .unwrap();
    assert_eq!(
        (
            written.lwm2m_server_uri.as_str(),
            written.bootstrap_server,
            written.security_mode,
            written.public_key_or_identity.as_slice(),
            written.secret_key.as_slice(),
            written.short_server_id,
        ),
        (
            format!("coaps://{server}").as_str(),
            false,
            0,
            IDENTITY.as_bytes(),
            KEY,
            Some(123),
        )
    );

    // The Register reached the peer's tinydtls server, so it came through a DTLS session with
    // the written key (the peer listens on nothing else).
    let register = peer.expect("register", LIMIT).await;
    let context = peer.context();
    assert_eq!(register["code"], "2.01", "{context}");
    assert_eq!(register["problems"], json!([]), "{context}");
    assert_eq!(
        register["query"],
        json!([format!("ep={ENDPOINT}"), "lt=90", "lwm2m=1.0", "b=U"]),
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
    // Managed over the DTLS session: the Server instance holds exactly what was written
    // (SSID 123, lifetime 90, storing false, binding U), the Security object is invisible.
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
    tokio::time::timeout(LIMIT, task)
        .await
        .expect("the task stops after the De-register")
        .unwrap()
        .unwrap();
}
