//! Information reporting and registration recovery against the scripted aiocoap LwM2M server
//! of `tests/peers/lwm2m_server.py`: `gt`/`lt` thresholds, an observed Object Instance in TLV,
//! and a new Register after the peer answers an Update 4.04.
#![cfg(feature = "tokio")]

mod peers;

use std::time::Duration;

use lwm2m_client::{ClientBuilder, ClientEvent, ServerAccount};
use lwm2m_codec::tlv::records;
use lwm2m_model::Path;
use peers::session::{
    device, expect_step, next_event, set_battery, start, step, tlv_integer, wait_event, with,
    LIMIT, MANUFACTURER, TEXT, TLV,
};
use peers::{code_and_text, payload};
use serde_json::json;

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
