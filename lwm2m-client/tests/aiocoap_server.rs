//! Our client against an independent LwM2M server: `tests/peers/lwm2m_server.py`, a scripted
//! server written with aiocoap (from the interop venv), on loopback UDP (`NoSec`). The peer
//! checks the Register, then sends device-management requests and reports each answer's code,
//! content format and payload bytes, which these tests assert exactly.
#![cfg(feature = "tokio")]

mod peers;

use std::net::SocketAddr;
use std::time::Duration;

use lwm2m_client::runtime::{run_client, ClientHandle, RuntimeEvent};
use lwm2m_client::{
    BootstrapConfig, ClientBuilder, ClientEvent, DeviceObject, ServerAccount, TypedStore,
};
use lwm2m_codec::tlv::{records, Kind};
use lwm2m_model::Path;
use lwm2m_objects::{Device, LightControl};
use peers::{code_and_text, payload, Peer};
use serde_json::{json, Value};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

const MANUFACTURER: &str = "Peer Test Devices Ltd";
const TEXT: u16 = 0;
const LINK: u16 = 40;
const JSON: u16 = 11543;
const TLV: u16 = 11542;
const LIMIT: Duration = Duration::from_secs(20);

fn device() -> DeviceObject {
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
fn port(line: &Value, field: &str) -> SocketAddr {
    let port = line[field].as_u64().expect("a port");
    SocketAddr::from(([127, 0, 0, 1], u16::try_from(port).unwrap()))
}

async fn next_event(events: &mut mpsc::Receiver<RuntimeEvent>) -> ClientEvent {
    tokio::time::timeout(LIMIT, events.recv())
        .await
        .expect("no client event in time")
        .expect("the client task stopped")
        .event
}

/// Waits for an event matching `wanted`, skipping others.
async fn wait_event(
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

/// Starts the peer with `config` and our client (built by `build` for the peer's address) on
/// a loopback socket.
async fn start(
    config: &Value,
    build: impl FnOnce(SocketAddr) -> lwm2m_client::Client<SocketAddr>,
) -> (
    Peer,
    ClientHandle,
    mpsc::Receiver<RuntimeEvent>,
    tokio::task::JoinHandle<Result<(), lwm2m_client::runtime::RuntimeError>>,
) {
    let mut peer = Peer::spawn("lwm2m_server.py", &[&config.to_string()]);
    let listening = peer.expect("listening", LIMIT).await;
    let client = build(port(&listening, "port"));
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let (handle, events, task) = run_client(client, socket);
    (peer, handle, events, task)
}

fn step(name: &str, method: &str, path: &str) -> Value {
    json!({"name": name, "method": method, "path": path})
}

fn with(mut step: Value, key: &str, value: impl Into<Value>) -> Value {
    step[key] = value.into();
    step
}

fn text_payload(step: Value, text: &str) -> Value {
    with(
        with(step, "cf", TEXT),
        "payload_hex",
        peers::hex(text.as_bytes()),
    )
}

/// Asserts the step `name` answered `code` with content format `cf` and `body`.
async fn expect_step(peer: &mut Peer, name: &str, code: &str, cf: Option<u16>, body: &[u8]) {
    let line = peer.step(name).await;
    let context = peer.context();
    assert_eq!(line["code"], code, "{name}: {context}");
    assert_eq!(line["cf"], json!(cf), "{name}: {context}");
    assert_eq!(payload(&line), body, "{name}: {context}");
}

/// The top-level resources of a TLV object instance `/3/0`, by resource id.
fn tlv_resources(bytes: &[u8]) -> Vec<(u16, Kind, Vec<u8>)> {
    let mut out = Vec::new();
    for record in records(bytes) {
        let record = record.expect("valid TLV");
        out.push((record.id, record.kind, record.value.to_vec()));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(
    clippy::too_many_lines,
    reason = "one registration walks through every operation in order"
)]
async fn aiocoap_server_registers_and_manages_our_client() {
    let steps = json!([
        with(step("read-manufacturer", "GET", "/3/0/0"), "accept", TEXT),
        with(step("read-device", "GET", "/3/0"), "accept", TLV),
        text_payload(step("write-utc-offset", "PUT", "/3/0/14"), "+05:00"),
        with(step("read-utc-offset", "GET", "/3/0/14"), "accept", TEXT),
        // Partial update of the instance: one TLV resource, UTC Offset "+06:00".
        with(
            with(step("update-instance", "POST", "/3/0"), "cf", TLV),
            "payload_hex",
            "c60e2b30363a3030",
        ),
        with(step("read-back-tlv", "GET", "/3/0/14"), "accept", TLV),
        with(
            step("write-attributes", "PUT", "/3/0/9"),
            "query",
            json!(["pmin=1", "pmax=2"]),
        ),
        with(step("discover-battery", "GET", "/3/0/9"), "accept", LINK),
        with(step("discover-device", "GET", "/3/0"), "accept", LINK),
        with(step("read-json", "GET", "/3/0"), "accept", JSON),
        with(step("read-accept-unsupported", "GET", "/3/0"), "accept", 50),
        with(
            with(step("observe-battery", "GET", "/3/0/9"), "accept", TEXT),
            "observe",
            json!({"count": 3, "timeout": 15}),
        ),
        step("execute-reboot", "POST", "/3/0/4"),
        // Light Control instance 3: On/Off true, Dimmer 50 (16-bit resource ids).
        with(
            with(step("create-light", "POST", "/3311"), "cf", TLV),
            "payload_hex",
            "080308e116da01e116db32",
        ),
        with(step("read-dimmer", "GET", "/3311/3/5851"), "accept", TEXT),
        step("delete-light", "DELETE", "/3311/3"),
        // A new lifetime is announced in an Update; Registration Update Trigger sends one.
        text_payload(step("write-lifetime", "PUT", "/1/0/1"), "300"),
        step("execute-update-trigger", "POST", "/1/0/8"),
        step("read-deleted", "GET", "/3311/3"),
        step("read-unknown-object", "GET", "/99"),
        // Current Time (13) is a writable Time resource: "abc" is no number.
        text_payload(step("write-text-to-time", "PUT", "/3/0/13"), "abc"),
        // Battery Level (9) is read-only.
        text_payload(step("write-read-only", "PUT", "/3/0/9"), "50"),
        with(
            with(step("write-unsupported-format", "PUT", "/3/0/14"), "cf", 50),
            "payload_hex",
            peers::hex(b"{}"),
        ),
        step("execute-readable", "POST", "/3/0/0"),
        with(
            step("bad-attributes", "PUT", "/3/0/9"),
            "query",
            json!(["gt=10", "lt=20"]),
        ),
    ]);
    let config = json!({"steps": steps, "timeout": 90});
    let (mut peer, handle, mut events, task) = start(&config, |server| {
        ClientBuilder::new("aiocoap-dm")
            .server(ServerAccount::new(101, server).lifetime(120))
            .object(device())
            .object(TypedStore::<LightControl>::new())
            .build()
            .unwrap()
    })
    .await;

    // The Register, as the peer saw and judged it.
    let register = peer.expect("register", LIMIT).await;
    let context = peer.context();
    assert_eq!(register["code"], "2.01", "{context}");
    assert_eq!(register["problems"], json!([]), "{context}");
    assert_eq!(
        register["query"],
        json!(["ep=aiocoap-dm", "lt=120", "lwm2m=1.0", "b=U"]),
        "{context}"
    );
    assert_eq!(register["cf"], LINK, "{context}");
    assert_eq!(
        register["payload"], r#"</>;rt="oma.lwm2m";ct=11543,</1/0>,</3/0>,</3311>"#,
        "{context}"
    );
    assert_eq!(
        next_event(&mut events).await,
        ClientEvent::Registered {
            ssid: 101,
            location: format!("/{}", register["location"].as_str().unwrap()),
        }
    );

    expect_step(
        &mut peer,
        "read-manufacturer",
        "2.05",
        Some(TEXT),
        MANUFACTURER.as_bytes(),
    )
    .await;

    let device = peer.step("read-device").await;
    assert_eq!(
        (device["code"].as_str(), device["cf"].as_u64()),
        (Some("2.05"), Some(u64::from(TLV))),
        "{}",
        peer.context()
    );
    let resources = tlv_resources(&payload(&device));
    let single = |id: u16| {
        resources
            .iter()
            .find(|(rid, kind, _)| *rid == id && *kind == Kind::Resource)
            .map_or_else(
                || panic!("no resource {id} in {resources:?}"),
                |(_, _, value)| value.clone(),
            )
    };
    assert_eq!(single(0), MANUFACTURER.as_bytes());
    assert_eq!(single(1), b"PT-1");
    assert_eq!(single(2), b"0001");
    assert_eq!(single(9), [77]);
    assert_eq!(single(14), b"+01:00");
    assert_eq!(single(16), b"U");
    // Error Code (11) is a multiple resource with the single instance 0 = "no error".
    let error_code = resources
        .iter()
        .find(|(id, _, _)| *id == 11)
        .expect("Error Code");
    assert_eq!(
        (error_code.1, error_code.2.as_slice()),
        (Kind::MultipleResource, &[0x41, 0x00, 0x00][..])
    );
    // The first record is exactly the manufacturer string with an 8-bit length.
    let bytes = payload(&device);
    assert_eq!(bytes[..3], [0xC8, 0x00, 21]);

    expect_step(&mut peer, "write-utc-offset", "2.04", None, b"").await;
    expect_step(&mut peer, "read-utc-offset", "2.05", Some(TEXT), b"+05:00").await;
    expect_step(&mut peer, "update-instance", "2.04", None, b"").await;
    expect_step(
        &mut peer,
        "read-back-tlv",
        "2.05",
        Some(TLV),
        &[0xC6, 0x0E, b'+', b'0', b'6', b':', b'0', b'0'],
    )
    .await;
    expect_step(&mut peer, "write-attributes", "2.04", None, b"").await;
    expect_step(
        &mut peer,
        "discover-battery",
        "2.05",
        Some(LINK),
        b"</3/0/9>;pmin=1;pmax=2",
    )
    .await;
    let discovered = peer.step("discover-device").await;
    let (code, links) = code_and_text(&discovered);
    assert_eq!(
        (code.as_str(), discovered["cf"].as_u64()),
        ("2.05", Some(u64::from(LINK)))
    );
    // The instance, its resources (executables included, Error Code with its dimension) and
    // the attributes written on Battery Level.
    assert_eq!(
        links,
        "</3/0>,</3/0/0>,</3/0/1>,</3/0/2>,</3/0/4>,</3/0/5>,</3/0/9>;pmin=1;pmax=2,\
         </3/0/11>;dim=1,</3/0/12>,</3/0/14>,</3/0/16>",
        "{}",
        peer.context()
    );
    let json_read = peer.step("read-json").await;
    let (code, body) = code_and_text(&json_read);
    assert_eq!(
        (code.as_str(), json_read["cf"].as_u64()),
        ("2.05", Some(u64::from(JSON)))
    );
    let body: Value = serde_json::from_str(&body).expect("a JSON body");
    assert_eq!(body["bn"], "/3/0/", "{body}");
    let entry = |name: &str| {
        body["e"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["n"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no {name} in {body}"))
    };
    assert_eq!(entry("0"), json!({"n": "0", "sv": MANUFACTURER}));
    assert_eq!(entry("9"), json!({"n": "9", "v": 77}));
    assert_eq!(entry("14"), json!({"n": "14", "sv": "+06:00"}));
    let refused = peer.step("read-accept-unsupported").await;
    assert_eq!(refused["code"], "4.06", "{}", peer.context());

    // Observe: the first answer carries 77; the value changes right after it, so the first
    // notification waits for pmin (1 s), and the next ones come every pmax (2 s).
    let first = peer.step("observe-battery").await;
    assert_eq!(code_and_text(&first), ("2.05".into(), "77".into()));
    assert_eq!(first["observed"], true, "{}", peer.context());
    handle
        .update_object(3, |d: &mut DeviceObject| {
            d.device_mut().battery_level = Some(42);
        })
        .await
        .unwrap()
        .expect("the Device object");
    let mut times = Vec::new();
    for _ in 0..3 {
        let notify = peer.expect("notify", LIMIT).await;
        assert_eq!(
            code_and_text(&notify),
            ("2.05".into(), "42".into()),
            "{}",
            peer.context()
        );
        times.push(notify["t"].as_f64().unwrap());
    }
    let context = peer.context();
    assert!(times[0] >= 0.9, "pmin not honoured: {times:?}; {context}");
    for gap in std::iter::once(times[0]).chain(times.windows(2).map(|w| w[1] - w[0])) {
        assert!(
            (0.9..=2.9).contains(&gap),
            "notifications {times:?} do not honour pmin=1/pmax=2; {context}"
        );
    }

    expect_step(&mut peer, "execute-reboot", "2.04", None, b"").await;
    let executed = wait_event(&mut events, |e| matches!(e, ClientEvent::Executed { .. })).await;
    assert_eq!(
        executed,
        ClientEvent::Executed {
            ssid: 101,
            path: Path::resource(3, 0, 4).unwrap(),
            arguments: vec![],
        }
    );

    let created = peer.step("create-light").await;
    assert_eq!(
        (created["code"].as_str(), created["location"].as_str()),
        (Some("2.01"), Some("3311/3")),
        "{}",
        peer.context()
    );
    expect_step(&mut peer, "read-dimmer", "2.05", Some(TEXT), b"50").await;
    expect_step(&mut peer, "delete-light", "2.02", None, b"").await;
    expect_step(&mut peer, "write-lifetime", "2.04", None, b"").await;
    expect_step(&mut peer, "execute-update-trigger", "2.04", None, b"").await;
    for (name, code) in [
        ("read-deleted", "4.04"),
        ("read-unknown-object", "4.04"),
        ("write-text-to-time", "4.00"),
        ("write-read-only", "4.05"),
        ("write-unsupported-format", "4.15"),
        ("execute-readable", "4.05"),
        ("bad-attributes", "4.00"),
    ] {
        let line = peer.step(name).await;
        assert_eq!(line["code"], code, "{name}: {}", peer.context());
    }
    peer.expect("steps_done", LIMIT).await;
    // The new instance and its removal changed the object links, the lifetime changed, and
    // the trigger was executed: each sent an Update with what changed.
    let mut updates = Vec::new();
    for _ in 0..4 {
        updates.push(peer.expect("update", LIMIT).await);
    }
    assert_eq!(
        updates
            .iter()
            .map(|u| (u["query"].clone(), u["payload"].as_str().unwrap()))
            .collect::<Vec<_>>(),
        [
            (
                json!([]),
                r#"</>;rt="oma.lwm2m";ct=11543,</1/0>,</3/0>,</3311/3>"#
            ),
            (
                json!([]),
                r#"</>;rt="oma.lwm2m";ct=11543,</1/0>,</3/0>,</3311>"#
            ),
            (json!(["lt=300"]), ""),
            (json!([]), ""),
        ],
        "{}",
        peer.context()
    );

    // De-register on shutdown, seen by the peer.
    handle.shutdown(Duration::from_secs(5)).await.unwrap();
    let deregister = peer.expect("deregister", LIMIT).await;
    assert_eq!(deregister["location"], register["location"]);
    peer.expect("done", LIMIT).await;
    peer.finish(LIMIT).await;
    task.await.unwrap().unwrap();
}

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
    let mut peer = Peer::spawn("lwm2m_server.py", &[&config.to_string()]);
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

/// Sets Battery Level to `level` through the runtime handle (as the device's firmware would).
async fn set_battery(handle: &ClientHandle, level: i64) {
    handle
        .update_object(3, move |d: &mut DeviceObject| {
            d.device_mut().battery_level = Some(level);
        })
        .await
        .unwrap()
        .expect("the Device object");
}

/// The value of single resource `id` in an Object Instance TLV answer.
fn tlv_integer(bytes: &[u8], id: u16) -> i64 {
    records(bytes)
        .map(|r| r.expect("valid TLV"))
        .find(|r| r.id == id && r.kind == Kind::Resource)
        .unwrap_or_else(|| panic!("no resource {id} in {bytes:02x?}"))
        .as_integer()
        .expect("an integer")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aiocoap_server_observes_thresholds_and_a_whole_instance() {
    let steps = json!([
        with(
            step("write-thresholds", "PUT", "/3/0/9"),
            "query",
            json!(["gt=60", "lt=40"]),
        ),
        with(
            with(step("observe-battery", "GET", "/3/0/9"), "accept", TEXT),
            "observe",
            json!({"count": 2, "timeout": 15}),
        ),
        with(
            with(step("observe-device", "GET", "/3/0"), "accept", TLV),
            "observe",
            json!({"count": 1, "timeout": 15}),
        ),
    ]);
    let config = json!({"steps": steps, "timeout": 60});
    let (mut peer, handle, mut events, task) = start(&config, |server| {
        ClientBuilder::new("aiocoap-observe")
            .server(ServerAccount::new(7, server).lifetime(60))
            .object(device())
            .build()
            .unwrap()
    })
    .await;
    let register = peer.expect("register", LIMIT).await;
    assert_eq!(register["code"], "2.01", "{}", peer.context());
    expect_step(&mut peer, "write-thresholds", "2.04", None, b"").await;

    // 77 -> 70 stays above gt=60: no notification. 55 crosses it, 45 stays between the
    // thresholds, 35 crosses lt=40: exactly 55 and 35 are notified.
    let first = peer.step("observe-battery").await;
    assert_eq!(code_and_text(&first), ("2.05".into(), "77".into()));
    assert_eq!(
        wait_event(&mut events, |e| matches!(
            e,
            ClientEvent::ObservationStarted { .. }
        ))
        .await,
        ClientEvent::ObservationStarted {
            ssid: 7,
            path: Path::resource(3, 0, 9).unwrap()
        }
    );
    for level in [70, 55, 45, 35] {
        set_battery(&handle, level).await;
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    for expected in ["55", "35"] {
        let notify = peer.expect("notify", LIMIT).await;
        assert_eq!(
            code_and_text(&notify),
            ("2.05".into(), expected.into()),
            "{}",
            peer.context()
        );
    }

    // The whole instance, in TLV; a change of any resource notifies it.
    let device = peer.step("observe-device").await;
    assert_eq!(
        (&device["code"], &device["cf"], &device["observed"]),
        (&json!("2.05"), &json!(TLV), &json!(true)),
        "{}",
        peer.context()
    );
    assert_eq!(tlv_integer(&payload(&device), 9), 35);
    set_battery(&handle, 33).await;
    let notify = peer.expect("notify", LIMIT).await;
    assert_eq!(notify["name"], "observe-device", "{}", peer.context());
    assert_eq!(notify["cf"], json!(TLV));
    let body = payload(&notify);
    assert_eq!(tlv_integer(&body, 9), 33);
    assert_eq!(
        records(&body).next().unwrap().unwrap().value,
        MANUFACTURER.as_bytes()
    );
    peer.expect("steps_done", LIMIT).await;

    handle.shutdown(Duration::from_secs(5)).await.unwrap();
    peer.expect("deregister", LIMIT).await;
    peer.expect("done", LIMIT).await;
    peer.finish(LIMIT).await;
    task.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_answered_not_found_makes_our_client_register_again() {
    let steps = json!([with(
        step("read-manufacturer", "GET", "/3/0/0"),
        "accept",
        TEXT
    )]);
    let config = json!({"steps": steps, "forget_updates": 1, "registrations": 2, "timeout": 60});
    let (mut peer, handle, mut events, task) = start(&config, |server| {
        ClientBuilder::new("aiocoap-forgotten")
            .server(ServerAccount::new(9, server).lifetime(60))
            .object(device())
            .build()
            .unwrap()
    })
    .await;
    let first = peer.expect("register", LIMIT).await;
    assert_eq!(first["location"], "rd/peer1", "{}", peer.context());
    assert!(matches!(
        next_event(&mut events).await,
        ClientEvent::Registered { ssid: 9, .. }
    ));

    // The peer answers the Update 4.04: the client registers again, from scratch.
    handle.trigger_update().unwrap();
    let update = peer.expect("update", LIMIT).await;
    assert_eq!(update["code"], "4.04", "{}", peer.context());
    let second = peer.expect("register", LIMIT).await;
    assert_eq!(
        (&second["code"], &second["location"], &second["query"]),
        (
            &json!("2.01"),
            &json!("rd/peer2"),
            &json!(["ep=aiocoap-forgotten", "lt=60", "lwm2m=1.0", "b=U"])
        ),
        "{}",
        peer.context()
    );
    assert_eq!(
        wait_event(&mut events, |e| matches!(e, ClientEvent::Registered { .. })).await,
        ClientEvent::Registered {
            ssid: 9,
            location: "/rd/peer2".into()
        }
    );
    expect_step(
        &mut peer,
        "read-manufacturer",
        "2.05",
        Some(TEXT),
        MANUFACTURER.as_bytes(),
    )
    .await;
    peer.expect("steps_done", LIMIT).await;

    // The De-register goes to the new location.
    handle.shutdown(Duration::from_secs(5)).await.unwrap();
    let deregister = peer.expect("deregister", LIMIT).await;
    assert_eq!(deregister["location"], "rd/peer2");
    peer.expect("done", LIMIT).await;
    peer.finish(LIMIT).await;
    task.await.unwrap().unwrap();
}
