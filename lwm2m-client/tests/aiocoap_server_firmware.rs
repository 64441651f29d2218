//! Firmware Update against the independent aiocoap LwM2M server of
//! `tests/peers/lwm2m_server.py`, on loopback UDP (`NoSec`): the peer pushes a package to
//! `/5/0/0` (aiocoap cuts it into Block1 blocks itself) or writes a `coap://` Package URI
//! naming its own `/fw` resource (aiocoap serves it in Block2 blocks itself), observes State
//! and Update Result, and executes Update. The tests check every code, the notified states,
//! the Update Result and that the sink holds exactly the image the peer read from disk.
#![cfg(feature = "tokio")]

mod aiocoap_steps;
mod peers;

use lwm2m_client::firmware::{resolve_udp, FirmwareState, MemorySink, UpdateResult};
use lwm2m_client::{ClientBuilder, FirmwareObject, ServerAccount};
use peers::session::{device, expect_step, start, step, text_payload, with, Session, LIMIT, TEXT};
use serde_json::{json, Value};

use aiocoap_steps::firmware::{
    await_text, expect_update, firmware, image, image_file, notified, observe, update_steps, OPAQUE,
};

/// The peer with `steps` and the firmware image `file`, and our client with a Firmware Update
/// object on a [`MemorySink`] that pulls `coap://` URIs.
async fn session(endpoint: &str, file: &std::path::Path, steps: &Value) -> Session {
    let config = json!({
        "steps": steps,
        "image_file": file.to_str().unwrap(),
        "timeout": 120,
    });
    let endpoint = endpoint.to_owned();
    let (mut peer, handle, events, task) = start(&config, move |server| {
        ClientBuilder::new(endpoint)
            .server(ServerAccount::new(101, server).lifetime(300))
            .object(device())
            .object(FirmwareObject::new(MemorySink::new()))
            .firmware_resolver(resolve_udp)
            .build()
            .unwrap()
    })
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

/// Shuts the client down and checks the peer saw the De-register.
async fn finish(session: Session) {
    let (mut peer, handle, _events, task) = session;
    handle
        .shutdown(std::time::Duration::from_secs(5))
        .await
        .unwrap();
    peer.expect("deregister", LIMIT).await;
    peer.expect("done", LIMIT).await;
    peer.finish(LIMIT).await;
    task.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aiocoap_server_pushes_a_150_kib_package_with_block1_and_updates() {
    let data = image(150 * 1024 + 300);
    let file = image_file("push", &data);
    let mut steps = vec![
        observe("observe-state", "/5/0/3", 4),
        observe("observe-result", "/5/0/5", 1),
        with(
            with(step("push-package", "PUT", "/5/0/0"), "cf", OPAQUE),
            "payload_image",
            true,
        ),
    ];
    steps.extend(update_steps());
    let mut session = session("aiocoap-fw-push", &file, &json!(steps)).await;
    let peer = &mut session.0;
    for (name, body) in [("observe-state", b"0"), ("observe-result", b"0")] {
        expect_step(peer, name, "2.05", Some(TEXT), body).await;
    }
    expect_step(peer, "push-package", "2.04", None, b"").await;
    expect_update(peer).await;

    let (sink, applied, writes, state, result) = firmware(&session.1).await;
    assert!(sink == data, "the sink holds exactly the pushed image");
    assert_eq!(
        applied,
        std::slice::from_ref(&data),
        "Update installed that image"
    );
    assert_eq!(
        writes,
        data.len().div_ceil(1024),
        "one write per 1 KiB block"
    );
    assert_eq!(
        (state, result),
        (FirmwareState::Idle, UpdateResult::Success)
    );
    finish(session).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aiocoap_server_serves_a_package_uri_the_client_pulls_with_block2() {
    let data = image(100 * 1024 + 77);
    let file = image_file("pull", &data);
    // The port is known only once the peer listens: the URI names 127.0.0.1 and the peer
    // fills in its port for "{port}".
    let mut steps = vec![
        observe("observe-state", "/5/0/3", 4),
        observe("observe-result", "/5/0/5", 1),
        with(
            text_payload(
                step("write-uri", "PUT", "/5/0/1"),
                "coap://127.0.0.1:{port}/fw",
            ),
            "expand_port",
            true,
        ),
    ];
    steps.extend(update_steps());
    let mut session = session("aiocoap-fw-pull", &file, &json!(steps)).await;
    let peer = &mut session.0;
    for (name, body) in [("observe-state", b"0"), ("observe-result", b"0")] {
        expect_step(peer, name, "2.05", Some(TEXT), body).await;
    }
    expect_step(peer, "write-uri", "2.04", None, b"").await;
    expect_update(peer).await;
    // The client asked for 1 KiB blocks (SZX 6) from its first GET of /fw; aiocoap rendered
    // the resource once and served the later blocks from its cache.
    let gets: Vec<Value> = peer
        .seen
        .iter()
        .filter(|l| l["event"] == "fw_get")
        .map(|l| l["block2"].clone())
        .collect();
    assert_eq!(gets, [json!([0, false, 6])], "{}", peer.context());
    let blocks = data.len().div_ceil(1024);

    let (sink, applied, writes, state, result) = firmware(&session.1).await;
    assert!(sink == data, "the sink holds exactly the served image");
    assert_eq!(
        applied,
        std::slice::from_ref(&data),
        "Update installed that image"
    );
    assert_eq!(writes, blocks, "one write per 1 KiB block");
    assert_eq!(
        (state, result),
        (FirmwareState::Idle, UpdateResult::Success)
    );
    finish(session).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_package_uri_and_a_4_04_from_the_peer_are_result_7() {
    let file = image_file("missing", &image(10));
    let steps = json!([
        text_payload(step("write-bad-uri", "PUT", "/5/0/1"), "coap//no-host"),
        with(step("read-result-bad", "GET", "/5/0/5"), "accept", TEXT),
        with(step("read-state-bad", "GET", "/5/0/3"), "accept", TEXT),
        // An empty URI cancels and resets Update Result.
        text_payload(step("write-empty-uri", "PUT", "/5/0/1"), ""),
        with(step("read-result-reset", "GET", "/5/0/5"), "accept", TEXT),
        observe("observe-result", "/5/0/5", 1),
        with(
            text_payload(
                step("write-missing-uri", "PUT", "/5/0/1"),
                "coap://127.0.0.1:{port}/missing",
            ),
            "expand_port",
            true,
        ),
        await_text("await-invalid", "observe-result", "7"),
        with(step("read-state-missing", "GET", "/5/0/3"), "accept", TEXT),
        with(step("read-result-missing", "GET", "/5/0/5"), "accept", TEXT),
    ]);
    let mut session = session("aiocoap-fw-bad-uri", &file, &steps).await;
    let peer = &mut session.0;
    expect_step(peer, "write-bad-uri", "2.04", None, b"").await;
    expect_step(peer, "read-result-bad", "2.05", Some(TEXT), b"7").await;
    expect_step(peer, "read-state-bad", "2.05", Some(TEXT), b"0").await;
    expect_step(peer, "write-empty-uri", "2.04", None, b"").await;
    expect_step(peer, "read-result-reset", "2.05", Some(TEXT), b"0").await;
    expect_step(peer, "observe-result", "2.05", Some(TEXT), b"0").await;
    expect_step(peer, "write-missing-uri", "2.04", None, b"").await;
    let line = peer.step("await-invalid").await;
    assert_eq!(line["code"], "found", "{}", peer.context());
    expect_step(peer, "read-state-missing", "2.05", Some(TEXT), b"0").await;
    expect_step(peer, "read-result-missing", "2.05", Some(TEXT), b"7").await;
    peer.expect("steps_done", LIMIT).await;
    assert_eq!(
        notified(peer, "observe-result"),
        ["7"],
        "{}",
        peer.context()
    );
    // /missing is no resource of the peer: its Site answered 4.04 without rendering /fw.
    assert!(
        !peer.seen.iter().any(|l| l["event"] == "fw_get"),
        "{}",
        peer.context()
    );
    let (sink, applied, _, state, result) = firmware(&session.1).await;
    assert!(sink.is_empty() && applied.is_empty());
    assert_eq!(
        (state, result),
        (FirmwareState::Idle, UpdateResult::InvalidUri)
    );
    finish(session).await;
}
