//! The client side of the sessions with `lwm2m_server.py`: our client on a loopback socket,
//! the peer's step descriptions, and assertions on its report lines.

use std::net::SocketAddr;
use std::time::Duration;

use lwm2m_client::runtime::{ClientHandle, ClientTask, RuntimeError, RuntimeEvent};
use lwm2m_client::{Client, ClientEvent, DeviceObject};
use lwm2m_codec::tlv::{records, Kind};
use lwm2m_objects::Device;
use serde_json::{json, Value};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::{payload, Peer};

pub const MANUFACTURER: &str = "Peer Test Devices Ltd";
pub const TEXT: u16 = 0;
pub const LINK: u16 = 40;
pub const JSON: u16 = 11543;
pub const TLV: u16 = 11542;
pub const LIMIT: Duration = Duration::from_secs(20);

/// The Device object every session's client carries.
pub fn device() -> DeviceObject {
    DeviceObject::new(Device {
        manufacturer: Some(MANUFACTURER.into()),
        model_number: Some("PT-1".into()),
        serial_number: Some("0001".into()),
        battery_level: Some(77),
        utc_offset: Some("+01:00".into()),
        supported_binding_and_modes: "U".into(),
        ..Device::default()
    })
}

/// The `listening` line's port on 127.0.0.1.
pub fn port(line: &Value, field: &str) -> SocketAddr {
    let port = line[field].as_u64().expect("a port");
    SocketAddr::from(([127, 0, 0, 1], u16::try_from(port).unwrap()))
}

/// The client's next event, waiting at most [`LIMIT`].
pub async fn next_event(events: &mut mpsc::Receiver<RuntimeEvent>) -> ClientEvent {
    tokio::time::timeout(LIMIT, events.recv())
        .await
        .expect("no client event in time")
        .expect("the client task stopped")
        .event
}

/// Waits for an event matching `wanted`, skipping others.
pub async fn wait_event(
    events: &mut mpsc::Receiver<RuntimeEvent>,
    wanted: impl Fn(&ClientEvent) -> bool,
) -> ClientEvent {
    loop {
        let event = next_event(events).await;
        if wanted(&event) {
            return event;
        }
    }
}

/// What [`start`] returns: the peer, the client's handle, its events and its task.
pub type Session = (
    Peer,
    ClientHandle,
    mpsc::Receiver<RuntimeEvent>,
    JoinHandle<Result<(), RuntimeError>>,
);

/// Starts the peer with `config` and our client (built by `build` for the peer's address) on
/// a loopback socket.
pub async fn start(
    config: &Value,
    build: impl FnOnce(SocketAddr) -> Client<SocketAddr>,
) -> Session {
    start_task(config, build, |task| task).await
}

/// [`start`] with the client task set up by `configure` (a DTLS backend, DTLS limits) before
/// it is spawned.
pub async fn start_task(
    config: &Value,
    build: impl FnOnce(SocketAddr) -> Client<SocketAddr>,
    configure: impl FnOnce(ClientTask) -> ClientTask,
) -> Session {
    let mut peer = super::spawn("lwm2m_server.py", &[&config.to_string()]);
    let listening = peer.expect("listening", LIMIT).await;
    let client = build(port(&listening, "port"));
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let (task, handle) = ClientTask::new(client, socket);
    let (events_tx, events) = mpsc::channel(64);
    let task = tokio::spawn(configure(task.events(0, events_tx)).run());
    (peer, handle, events, task)
}

/// A step of the peer's script: `method` on `path`.
pub fn step(name: &str, method: &str, path: &str) -> Value {
    json!({"name": name, "method": method, "path": path})
}

/// `step` with `key` set to `value` (`accept`, `cf`, `payload_hex`, `query`, `observe`).
pub fn with(mut step: Value, key: &str, value: impl Into<Value>) -> Value {
    step[key] = value.into();
    step
}

/// `step` carrying `text` as a text/plain payload.
pub fn text_payload(step: Value, text: &str) -> Value {
    with(
        with(step, "cf", TEXT),
        "payload_hex",
        super::hex(text.as_bytes()),
    )
}

/// Asserts the step `name` answered `code` with content format `cf` and `body`.
pub async fn expect_step(peer: &mut Peer, name: &str, code: &str, cf: Option<u16>, body: &[u8]) {
    let line = peer.step(name).await;
    let context = peer.context();
    assert_eq!(line["code"], code, "{name}: {context}");
    assert_eq!(line["cf"], json!(cf), "{name}: {context}");
    assert_eq!(payload(&line), body, "{name}: {context}");
}

/// The top-level resources of a TLV object instance `/3/0`, by resource id.
pub fn tlv_resources(bytes: &[u8]) -> Vec<(u16, Kind, Vec<u8>)> {
    let mut out = Vec::new();
    for record in records(bytes) {
        let record = record.expect("valid TLV");
        out.push((record.id, record.kind, record.value.to_vec()));
    }
    out
}

/// Sets Battery Level to `level` through the runtime handle (as the device's firmware would).
pub async fn set_battery(handle: &ClientHandle, level: i64) {
    handle
        .update_object(3, move |d: &mut DeviceObject| {
            d.device_mut().battery_level = Some(level);
        })
        .await
        .unwrap()
        .expect("the Device object");
}

/// The value of single resource `id` in an Object Instance TLV answer.
pub fn tlv_integer(bytes: &[u8], id: u16) -> i64 {
    records(bytes)
        .map(|r| r.expect("valid TLV"))
        .find(|r| r.id == id && r.kind == Kind::Resource)
        .unwrap_or_else(|| panic!("no resource {id} in {bytes:02x?}"))
        .as_integer()
        .expect("an integer")
}
