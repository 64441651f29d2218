//! The device-management script shared by the `NoSec` and the DTLS sessions with
//! `tests/peers/lwm2m_server.py`: the peer's step list ([`dm_steps`]) and the assertions on
//! every answer's code, content format and payload bytes ([`drive_dm`]), so both transports
//! are held to exactly the same expectations. [`dtls`] holds the PSK the DTLS sessions share.
#![allow(dead_code, reason = "each test binary uses a different subset")]

#[cfg(feature = "dtls")]
pub mod dtls;
pub mod firmware;

use lwm2m_client::runtime::{ClientHandle, RuntimeEvent};
use lwm2m_client::{ClientEvent, DeviceObject};
use lwm2m_codec::tlv::Kind;
use lwm2m_model::Path;
use serde_json::{json, Value};
use tokio::sync::mpsc;

use crate::peers::session::{
    expect_step, next_event, step, text_payload, tlv_resources, wait_event, with, JSON, LIMIT,
    LINK, MANUFACTURER, TEXT, TLV,
};
use crate::peers::{self, code_and_text, payload, Peer};

/// The lifetime the client of a DM session registers with.
pub const LIFETIME: u32 = 120;

/// The peer's steps once the client registered: reads at object, instance and resource level
/// in every format, writes (replace and partial update), write-attributes, discover, observe,
/// executes, create and delete, and the error answers.
pub fn dm_steps() -> Value {
    json!([
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
    ])
}

/// Asserts the whole DM session of [`dm_steps`] from the Register of `endpoint` (with the
/// objects `/1/0`, `/3/0` and `/3311`, lifetime [`LIFETIME`]) to the last Update, and returns
/// the peer's `register` line (whose location the De-register must name).
#[allow(
    clippy::too_many_lines,
    reason = "one registration walks through every operation in order"
)]
pub async fn drive_dm(
    peer: &mut Peer,
    handle: &ClientHandle,
    events: &mut mpsc::Receiver<RuntimeEvent>,
    endpoint: &str,
) -> Value {
    // The Register, as the peer saw and judged it.
    let register = peer.expect("register", LIMIT).await;
    let context = peer.context();
    assert_eq!(register["code"], "2.01", "{context}");
    assert_eq!(register["problems"], json!([]), "{context}");
    assert_eq!(
        register["query"],
        json!([format!("ep={endpoint}"), "lt=120", "lwm2m=1.0", "b=U"]),
        "{context}"
    );
    assert_eq!(register["cf"], LINK, "{context}");
    assert_eq!(
        register["payload"], r#"</>;rt="oma.lwm2m";ct=11543,</1/0>,</3/0>,</3311>"#,
        "{context}"
    );
    assert_eq!(
        next_event(events).await,
        ClientEvent::Registered {
            ssid: 101,
            location: format!("/{}", register["location"].as_str().unwrap()),
        }
    );

    expect_step(
        peer,
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

    expect_step(peer, "write-utc-offset", "2.04", None, b"").await;
    expect_step(peer, "read-utc-offset", "2.05", Some(TEXT), b"+05:00").await;
    expect_step(peer, "update-instance", "2.04", None, b"").await;
    expect_step(
        peer,
        "read-back-tlv",
        "2.05",
        Some(TLV),
        &[0xC6, 0x0E, b'+', b'0', b'6', b':', b'0', b'0'],
    )
    .await;
    expect_step(peer, "write-attributes", "2.04", None, b"").await;
    expect_step(
        peer,
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

    expect_step(peer, "execute-reboot", "2.04", None, b"").await;
    let executed = wait_event(events, |e| matches!(e, ClientEvent::Executed { .. })).await;
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
    expect_step(peer, "read-dimmer", "2.05", Some(TEXT), b"50").await;
    expect_step(peer, "delete-light", "2.02", None, b"").await;
    expect_step(peer, "write-lifetime", "2.04", None, b"").await;
    expect_step(peer, "execute-update-trigger", "2.04", None, b"").await;
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

    register
}
