//! Firmware Update against the aiocoap LwM2M server of `tests/peers/lwm2m_server.py` over
//! DTLS with a pre-shared key (its `tinydtls_server` transport; client on the OpenSSL
//! backend): the peer pushes a multi-block package to `/5/0/0` in Block1 blocks, or writes a
//! `coaps://` Package URI naming its own `/fw` resource on its DTLS port, which the client
//! pulls in Block2 blocks with the credentials of the Security instance naming that port.
//! Then the peer executes Update. As in `aiocoap_server_firmware.rs` (`NoSec`), the tests check
//! every code, the notified states, the Update Result and that the sink holds exactly the image
//! the peer read from disk.
#![cfg(feature = "dtls-openssl")]

mod aiocoap_steps;
mod peers;

use std::path::Path;
use std::time::Duration;

use aiocoap_steps::dtls::{account, limits, with_dtls};
use lwm2m_client::firmware::{resolve_udp, FirmwareState, MemorySink, UpdateResult};
use lwm2m_client::runtime::ClientHandle;
use lwm2m_client::{ClientBuilder, FirmwareObject};
use peers::session::{
    device, expect_step, start_task, step, text_payload, with, Session, LIMIT, TEXT,
};
use peers::Peer;
use serde_json::{json, Value};

use aiocoap_steps::firmware::{
    expect_update, firmware, image, image_file, observe, update_steps, OPAQUE,
};

/// The peer on `coaps://` with `steps` and the firmware image `file`, and our client with a
/// Firmware Update object on a [`MemorySink`], registered through the DTLS session.
async fn session(endpoint: &str, file: &Path, steps: &Value) -> Session {
    let config = with_dtls(json!({
        "steps": steps,
        "image_file": file.to_str().unwrap(),
        "timeout": 120,
    }));
    let endpoint = endpoint.to_owned();
    let (mut peer, handle, events, task) = start_task(
        &config,
        move |server| {
            ClientBuilder::new(endpoint)
                .server(account(101, server).lifetime(300))
                .object(device())
                .object(FirmwareObject::new(MemorySink::new()))
                .firmware_resolver(resolve_udp)
                .build()
                .unwrap()
        },
        |task| task.dtls_limits(limits()),
    )
    .await;
    let register = peer.expect("register", LIMIT).await;
    assert_eq!(register["code"], "2.01", "{}", peer.context());
    assert!(
        register["payload"].as_str().unwrap().contains("</5/0>"),
        "{}",
        peer.context()
    );
    (peer, handle, events, task)
}

/// Observe State and Update Result, `deliver` the package, wait for Downloaded, read it,
/// Update, wait for Idle with result 1, read it.
fn firmware_steps(deliver: &Value) -> Value {
    let mut steps = vec![
        observe("observe-state", "/5/0/3", 4),
        observe("observe-result", "/5/0/5", 1),
        deliver.clone(),
    ];
    steps.extend(update_steps());
    Value::Array(steps)
}

/// Checks every step of [`firmware_steps`] (the delivery step is `deliver`) and the
/// notifications: State 0, 1, 2, 3, 0 and Update Result 0, 1.
async fn expect_firmware_steps(peer: &mut Peer, deliver: &str) {
    for (name, body) in [("observe-state", b"0"), ("observe-result", b"0")] {
        expect_step(peer, name, "2.05", Some(TEXT), body).await;
    }
    expect_step(peer, deliver, "2.04", None, b"").await;
    expect_update(peer).await;
}

/// Checks the sink holds exactly `data` in `writes` writes, Update installed it and the
/// object is back to Idle with result 1.
async fn expect_installed(handle: &ClientHandle, data: &[u8], writes: usize) {
    let (sink, applied, written, state, result) = firmware(handle).await;
    assert!(sink == data, "the sink holds exactly the image");
    assert_eq!(applied, [data.to_vec()], "Update installed that image");
    assert_eq!(written, writes, "one write per 1 KiB block");
    assert_eq!(
        (state, result),
        (FirmwareState::Idle, UpdateResult::Success)
    );
}

/// Shuts the client down and checks the peer saw the De-register (over the DTLS session).
async fn finish(session: Session) {
    let (mut peer, handle, _events, task) = session;
    handle.shutdown(Duration::from_secs(5)).await.unwrap();
    peer.expect("deregister", LIMIT).await;
    peer.expect("done", LIMIT).await;
    peer.finish(LIMIT).await;
    tokio::time::timeout(LIMIT, task)
        .await
        .expect("the task stops after the De-register")
        .unwrap()
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aiocoap_server_pushes_a_multi_block_package_with_block1_over_tinydtls() {
    let data = image(40 * 1024 + 300);
    let file = image_file("dtls-push", &data);
    let push = with(
        with(step("push-package", "PUT", "/5/0/0"), "cf", OPAQUE),
        "payload_image",
        true,
    );
    let mut session = session("aiocoap-fw-push-dtls", &file, &firmware_steps(&push)).await;
    expect_firmware_steps(&mut session.0, "push-package").await;
    expect_installed(&session.1, &data, data.len().div_ceil(1024)).await;
    finish(session).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aiocoap_server_serves_a_coaps_package_uri_the_client_pulls_with_block2() {
    let data = image(30 * 1024 + 77);
    let file = image_file("dtls-pull", &data);
    // The URI names the peer's DTLS port (filled in by the peer for "{port}"), which is also
    // the port of the client's Security instance: its PSK secures the download.
    let pull = with(
        text_payload(
            step("write-uri", "PUT", "/5/0/1"),
            "coaps://127.0.0.1:{port}/fw",
        ),
        "expand_port",
        true,
    );
    let mut session = session("aiocoap-fw-pull-dtls", &file, &firmware_steps(&pull)).await;
    expect_firmware_steps(&mut session.0, "write-uri").await;
    // The client asked for 1 KiB blocks (SZX 6) from its first GET of /fw; aiocoap rendered
    // the resource once and served the later blocks from its cache.
    let peer = &session.0;
    let gets: Vec<Value> = peer
        .seen
        .iter()
        .filter(|l| l["event"] == "fw_get")
        .map(|l| l["block2"].clone())
        .collect();
    assert_eq!(gets, [json!([0, false, 6])], "{}", peer.context());
    expect_installed(&session.1, &data, data.len().div_ceil(1024)).await;
    finish(session).await;
}
