//! The Firmware Update script shared by the `NoSec` and the DTLS sessions with
//! `tests/peers/lwm2m_server.py`: the image and its file, the observe / await steps around a
//! delivery, the Update steps and their assertions, and what the client's sink holds.

use std::path::PathBuf;

use lwm2m_client::firmware::{FirmwareState, MemorySink, UpdateResult};
use lwm2m_client::runtime::ClientHandle;
use lwm2m_client::FirmwareObject;
use serde_json::{json, Value};

use crate::peers::session::{expect_step, step, with, LIMIT, TEXT};
use crate::peers::{self, code_and_text, Peer};

/// Content format of the Package: application/octet-stream.
pub const OPAQUE: u16 = 42;

/// A deterministic image whose every offset differs from its neighbours.
pub fn image(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i % 251) as u8 ^ (i >> 10) as u8)
        .collect()
}

/// Writes `data` to a file of the test's scratch directory for the peer to read.
pub fn image_file(name: &str, data: &[u8]) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("aiocoap-{name}.bin"));
    std::fs::write(&path, data).unwrap();
    path
}

/// Observe `path` (text) in the background, until `count` notifications.
pub fn observe(name: &str, path: &str, count: u32) -> Value {
    with(
        with(
            with(step(name, "GET", path), "accept", TEXT),
            "observe",
            json!({"count": count, "timeout": 90}),
        ),
        "background",
        true,
    )
}

/// Wait until the background observation `observation` notified `text`.
pub fn await_text(name: &str, observation: &str, text: &str) -> Value {
    json!({
        "name": name,
        "method": "AWAIT",
        "observation": observation,
        "payload_hex": peers::hex(text.as_bytes()),
        "timeout": 60,
    })
}

/// The texts the peer was notified of in observation `name`, in order.
pub fn notified(peer: &Peer, name: &str) -> Vec<String> {
    peer.seen
        .iter()
        .filter(|l| l["event"] == "notify" && l["name"] == name)
        .map(|l| {
            let (code, text) = code_and_text(l);
            assert_eq!(code, "2.05", "{l}");
            text
        })
        .collect()
}

/// The sink's bytes, the packages it installed, its write count and State / Update Result.
pub async fn firmware(
    handle: &ClientHandle,
) -> (Vec<u8>, Vec<Vec<u8>>, usize, FirmwareState, UpdateResult) {
    handle
        .with_client(|c, _| {
            let fw = c.object::<FirmwareObject>(5).unwrap();
            let sink = fw.sink::<MemorySink>().unwrap();
            (
                sink.data().to_vec(),
                sink.applied().to_vec(),
                sink.writes(),
                fw.state(),
                fw.result(),
            )
        })
        .await
        .unwrap()
}

/// The steps after the package arrived: wait for Downloaded, read it, Update, wait for Idle
/// with result 1, read it.
pub fn update_steps() -> Vec<Value> {
    vec![
        await_text("await-downloaded", "observe-state", "2"),
        with(step("read-state", "GET", "/5/0/3"), "accept", TEXT),
        step("execute-update", "POST", "/5/0/2"),
        await_text("await-success", "observe-result", "1"),
        await_text("await-idle", "observe-state", "0"),
        with(step("read-result", "GET", "/5/0/5"), "accept", TEXT),
    ]
}

/// Checks the steps of [`update_steps`] and the notifications: State 1, 2, 3, 0 and Update
/// Result 1.
pub async fn expect_update(peer: &mut Peer) {
    let line = peer.step("await-downloaded").await;
    assert_eq!(
        line["code"],
        "found",
        "await-downloaded: {}",
        peer.context()
    );
    expect_step(peer, "read-state", "2.05", Some(TEXT), b"2").await;
    expect_step(peer, "execute-update", "2.04", None, b"").await;
    for name in ["await-success", "await-idle"] {
        let line = peer.step(name).await;
        assert_eq!(line["code"], "found", "{name}: {}", peer.context());
    }
    expect_step(peer, "read-result", "2.05", Some(TEXT), b"1").await;
    peer.expect("steps_done", LIMIT).await;
    let context = peer.context();
    assert_eq!(
        notified(peer, "observe-state"),
        ["1", "2", "3", "0"],
        "{context}"
    );
    assert_eq!(notified(peer, "observe-result"), ["1"], "{context}");
}
