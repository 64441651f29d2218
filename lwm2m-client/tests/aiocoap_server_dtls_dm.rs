//! The device-management session of `aiocoap_server.rs` (the same steps, codes and payload
//! bytes, from `tests/aiocoap_steps`) over DTLS with a pre-shared key: the aiocoap peer of
//! `tests/peers/lwm2m_server.py` listens on `coaps://` with its `tinydtls_server` transport and
//! sends every request through the client's DTLS session (client on the OpenSSL backend).
#![cfg(feature = "dtls-openssl")]

mod aiocoap_steps;
mod peers;

use std::time::Duration;

use aiocoap_steps::dtls::{account, limits, with_dtls};
use aiocoap_steps::{dm_steps, drive_dm, LIFETIME};
use lwm2m_client::runtime::default_dtls_backend;
use lwm2m_client::{ClientBuilder, TypedStore};
use lwm2m_objects::LightControl;
use lwm2m_transport::dtls::Backend;
use peers::session::{device, start_task, LIMIT};
use serde_json::json;

const ENDPOINT: &str = "aiocoap-dm-dtls";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aiocoap_server_manages_our_client_over_tinydtls_like_over_nosec() {
    assert_eq!(default_dtls_backend(), Backend::OpenSsl);
    let config = with_dtls(json!({"steps": dm_steps(), "timeout": 90}));
    let (mut peer, handle, mut events, task) = start_task(
        &config,
        |server| {
            ClientBuilder::new(ENDPOINT)
                .server(account(101, server).lifetime(LIFETIME))
                .object(device())
                .object(TypedStore::<LightControl>::new())
                .build()
                .unwrap()
        },
        |task| task.dtls_limits(limits()),
    )
    .await;

    let register = drive_dm(&mut peer, &handle, &mut events, ENDPOINT).await;

    // The De-register goes over the same session.
    handle.shutdown(Duration::from_secs(5)).await.unwrap();
    let deregister = peer.expect("deregister", LIMIT).await;
    assert_eq!(deregister["location"], register["location"]);
    peer.expect("done", LIMIT).await;
    tokio::time::timeout(LIMIT, task)
        .await
        .expect("the task stops after the De-register")
        .unwrap()
        .unwrap();
    peer.finish(LIMIT).await;
}
