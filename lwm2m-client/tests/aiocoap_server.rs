//! Our client against an independent LwM2M server: `tests/peers/lwm2m_server.py`, a scripted
//! server written with aiocoap (from the interop venv), on loopback UDP (`NoSec`). The peer
//! checks the Register, then sends device-management requests and reports each answer's code,
//! content format and payload bytes, which these tests assert exactly. The step list and the
//! assertions live in `tests/aiocoap_steps`, shared with the DTLS session of
//! `aiocoap_server_dtls_dm.rs`.
#![cfg(feature = "tokio")]

mod aiocoap_steps;
mod peers;

use std::time::Duration;

use aiocoap_steps::{dm_steps, drive_dm, LIFETIME};
use lwm2m_client::{ClientBuilder, ServerAccount, TypedStore};
use lwm2m_objects::LightControl;
use peers::session::{device, start, LIMIT};
use serde_json::json;

const ENDPOINT: &str = "aiocoap-dm";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aiocoap_server_registers_and_manages_our_client() {
    let config = json!({"steps": dm_steps(), "timeout": 90});
    let (mut peer, handle, mut events, task) = start(&config, |server| {
        ClientBuilder::new(ENDPOINT)
            .server(ServerAccount::new(101, server).lifetime(LIFETIME))
            .object(device())
            .object(TypedStore::<LightControl>::new())
            .build()
            .unwrap()
    })
    .await;

    let register = drive_dm(&mut peer, &handle, &mut events, ENDPOINT).await;

    // De-register on shutdown, seen by the peer.
    handle.shutdown(Duration::from_secs(5)).await.unwrap();
    let deregister = peer.expect("deregister", LIMIT).await;
    assert_eq!(deregister["location"], register["location"]);
    peer.expect("done", LIMIT).await;
    peer.finish(LIMIT).await;
    task.await.unwrap().unwrap();
}
