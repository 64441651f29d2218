//! Information reporting on virtual time: pmin/pmax scheduling, thresholds, cancellation.

mod common;

use std::time::Duration;

use common::*;
use lwm2m_client::{ClientEvent, DeviceObject, ServerAccount};
use lwm2m_codec::coap::{Code, Message, Type};
use lwm2m_transport::{Instant, RequestId};

fn registered() -> Harness {
    let mut h = Harness::new();
    h.register_all();
    h
}

fn set_battery(h: &mut Harness, level: i64) {
    let now = h.now();
    h.client()
        .update_object::<DeviceObject, _>(now, 3, |d| d.device_mut().battery_level = Some(level))
        .unwrap();
}

/// The notifications of observation `id` so far: (time, payload text).
fn notifications(h: &Harness, id: RequestId) -> Vec<(Instant, String)> {
    h.state
        .notifications
        .iter()
        .filter(|(_, n, _)| *n == id)
        .map(|(at, _, r)| (*at, String::from_utf8_lossy(r.body()).into_owned()))
        .collect()
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

#[test]
fn pmin_and_pmax_schedule_notifications() {
    let mut h = registered();
    assert_eq!(
        h.request(0, write_attributes("/3/0/9", &["pmin=10", "pmax=60"]))
            .code(),
        Code::CHANGED
    );
    let id = h.start(0, observe("/3/0/9", 0, None));
    let first = h.wait(id);
    assert_eq!(
        (first.code(), first.observe(), text(&first)),
        (Code::CONTENT, Some(1), "100".into())
    );
    let t0 = h.now();
    // A change after pmin: notified at once.
    h.run_until(t0 + Duration::from_secs(30));
    set_battery(&mut h, 87);
    // A change inside the quiet period: notified when pmin has passed.
    h.run_until(t0 + Duration::from_secs(35));
    set_battery(&mut h, 80);
    // Nothing more: pmax brings one 60 s after the last, and again 60 s later.
    h.run_until(t0 + Duration::from_secs(170));
    let n = notifications(&h, id);
    let offsets: Vec<f64> = n.iter().map(|(at, _)| secs(*at - t0)).collect();
    let payloads: Vec<&str> = n.iter().map(|(_, p)| p.as_str()).collect();
    assert_eq!(payloads, ["87", "80", "80", "80"], "{offsets:?}");
    // Each arrives one 10 ms link delay after it was due.
    for (got, want) in offsets.iter().zip([30.01, 40.01, 100.01, 160.01]) {
        assert!((got - want).abs() < 0.005, "{offsets:?}");
    }
}

#[test]
fn server_default_periods_apply_without_attributes() {
    let setup = Setup {
        servers: vec![ServerAccount::new(1, ())
            .lifetime(300)
            .default_periods(Some(5), Some(20))],
        ..Setup::default()
    };
    let mut h = Harness::with(setup);
    h.register_all();
    let id = h.start(0, observe("/3/0/9", 0, Some(TLV)));
    let first = h.wait(id);
    assert_eq!(first.body().as_ref(), hex("C1 09 64"));
    let t0 = h.now();
    set_battery(&mut h, 99);
    h.run_until(t0 + Duration::from_secs(50));
    let offsets: Vec<f64> = notifications(&h, id)
        .iter()
        .map(|(at, _)| secs(*at - t0))
        .collect();
    // pmin 5 holds back the immediate change; then pmax every 20 s.
    assert_eq!(offsets.len(), 3, "{offsets:?}");
    assert!(
        (offsets[0] - 5.0).abs() < 0.05
            && (offsets[1] - 25.0).abs() < 0.05
            && (offsets[2] - 45.0).abs() < 0.05,
        "{offsets:?}"
    );
    let n = &h.state.notifications[0].2;
    assert_eq!(
        (n.content_format(), n.body().as_ref()),
        (Some(TLV), &hex("C1 09 63")[..])
    );
}

#[test]
fn thresholds_follow_the_ts_battery_example() {
    let mut h = registered();
    assert_eq!(
        h.request(0, write_attributes("/3/0/9", &["gt=45", "st=10"]))
            .code(),
        Code::CHANGED
    );
    let id = h.start(0, observe("/3/0/9", 0, None));
    h.wait(id);
    // 100 -> 20 crosses gt; 35 steps 15; 38 steps 3 (silent); 50 crosses gt; 40 crosses back.
    for level in [20, 35, 38, 50, 40] {
        h.run_for(Duration::from_secs(1));
        set_battery(&mut h, level);
    }
    h.run_for(Duration::from_secs(1));
    let payloads: Vec<String> = notifications(&h, id).into_iter().map(|(_, p)| p).collect();
    assert_eq!(payloads, ["20", "35", "50", "40"]);
}

#[test]
fn instance_and_object_observations_carry_the_whole_content() {
    let mut h = registered();
    let instance = h.start(0, observe("/3/0", 0, None));
    let first = h.wait(instance);
    assert_eq!(
        (first.content_format(), first.body().as_ref()),
        (Some(TLV), &hex(DEVICE_TLV)[..])
    );
    let object = h.start(0, observe("/3", 0, Some(JSON)));
    let first = h.wait(object);
    assert!(text(&first).starts_with(r#"{"bn":"/3/","e":[{"n":"0/0","sv":"Open Mobile Alliance"}"#));
    set_battery(&mut h, 42);
    h.run_for(Duration::from_secs(1));
    let n = notifications(&h, object);
    assert_eq!(n.len(), 1);
    assert!(n[0].1.contains(r#"{"n":"0/9","v":42}"#), "{}", n[0].1);
    let n: Vec<_> = h
        .state
        .notifications
        .iter()
        .filter(|(_, id, _)| *id == instance)
        .collect();
    assert_eq!(n.len(), 1);
    assert!(n[0].2.body().windows(3).any(|w| w == hex("C1 09 2A")));
    // A Write by the server is a change too.
    h.request(0, req(Code::PUT, "/3/0/14", Some(TEXT), &[], b"+05:00"));
    h.run_for(Duration::from_secs(1));
    assert_eq!(notifications(&h, object).len(), 2);
    assert_eq!(h.client().observation_count(), 2);
}

#[test]
fn notification_bytes_and_cancel_by_rst() {
    let mut h = registered();
    // Observe with token CAFE injected as raw bytes (test vector), then a change.
    let reply = h.exchange(0, &hex("42 01 00 08 CA FE 60 51 33 01 30 01 39"));
    assert_eq!(reply, hex("62 45 00 08 CA FE 61 01 60 FF 31 30 30"));
    assert_eq!(h.client().observation_count(), 1);
    let client_addr = h.client_addr();
    let mark = h.net.trace().len();
    set_battery(&mut h, 87);
    h.run_for(Duration::from_secs(1));
    let sent: Vec<_> = h.net.trace()[mark..]
        .iter()
        .filter(|t| t.source == client_addr)
        .collect();
    let msg = Message::parse(&sent[0].datagram).unwrap();
    // NON 2.05 Observe=2 CF=0 "87", as the vector (message id chosen by the client).
    assert_eq!(
        (msg.ty(), msg.code(), msg.token()),
        (Type::NonConfirmable, Code::CONTENT, &[0xCA, 0xFE][..])
    );
    assert_eq!(
        (msg.observe(), msg.content_format(), msg.payload()),
        (Ok(Some(2)), Ok(Some(0)), &b"87"[..])
    );
    let mut expected = hex("52 45");
    expected.extend(&sent[0].datagram[2..4]);
    expected.extend(hex("CA FE 61 02 60 FF 38 37"));
    assert_eq!(sent[0].datagram.as_ref(), expected);
    // The scripted server knows no such token and answers RST: the observation is gone.
    assert_eq!(h.client().observation_count(), 0);
    assert!(h
        .events()
        .any(|e| matches!(e, ClientEvent::ObservationEnded { ssid: 1, .. })));
    let mark = h.net.trace().len();
    set_battery(&mut h, 70);
    h.run_for(Duration::from_secs(100));
    assert!(
        !h.net.trace()[mark..].iter().any(|t| t.source == client_addr
            && Message::parse(&t.datagram).is_ok_and(|m| m.code() == Code::CONTENT))
    );
}

#[test]
fn cancel_by_forgetting_and_by_observe_1() {
    let mut h = registered();
    let a = h.start(0, observe("/3/0/9", 0, None));
    h.wait(a);
    let b = h.start(0, observe("/3/0/13", 0, None));
    h.wait(b);
    assert_eq!(h.client().observation_count(), 2);
    // Passive: the server forgets `a`; its next notification is answered with RST.
    let now = h.now();
    h.server(0).forget_observation(now, a).unwrap();
    set_battery(&mut h, 50);
    h.run_for(Duration::from_secs(1));
    assert_eq!(h.client().observation_count(), 1);
    // Reactive: GET with Observe = 1 is answered like a Read, without Observe.
    let now = h.now();
    let cancel = h.server(0).cancel_observation(now, b).unwrap();
    let r = h.wait(cancel);
    assert_eq!(
        (r.code(), r.observe(), text(&r)),
        (Code::CONTENT, None, "1367491215".to_string())
    );
    assert_eq!(h.client().observation_count(), 0);
    let ended = h
        .events()
        .filter(|e| matches!(e, ClientEvent::ObservationEnded { .. }))
        .count();
    assert_eq!(ended, 2);
}

#[test]
fn observe_errors_and_deleted_targets() {
    let mut h = Harness::with(Setup {
        lights: true,
        ..Setup::default()
    });
    h.register_all();
    for (path, accept, expected) in [
        ("/3/0/99", None, Code::NOT_FOUND),
        ("/3/0/4", None, Code::METHOD_NOT_ALLOWED),
        ("/0/0", None, Code::NOT_FOUND),
        ("/3/0", Some(TEXT), Code::NOT_ACCEPTABLE),
        ("/", None, Code::METHOD_NOT_ALLOWED),
    ] {
        let id = h.start(0, observe(path, 0, accept));
        let r = h.wait(id);
        assert_eq!((r.code(), r.observe()), (expected, None), "{path}");
    }
    assert_eq!(h.client().observation_count(), 0);
    // An observed instance that is deleted ends its observation with 4.04.
    let create = req(
        Code::POST,
        "/3311",
        Some(TLV),
        &[],
        &hex("08 01 04 E1 16 DA 01"),
    );
    assert_eq!(h.request(0, create).code(), Code::CREATED);
    let id = h.start(0, observe("/3311/1", 0, None));
    h.wait(id);
    assert_eq!(
        h.request(0, req(Code::DELETE, "/3311/1", None, &[], b""))
            .code(),
        Code::DELETED
    );
    h.run_for(Duration::from_secs(1));
    assert_eq!(h.state.ended.len(), 1);
    assert_eq!(h.state.ended[0].1.code(), Code::NOT_FOUND);
    assert_eq!(h.client().observation_count(), 0);
}

#[test]
fn a_new_register_voids_observations() {
    let mut h = registered();
    let id = h.start(0, observe("/3/0/9", 0, None));
    h.wait(id);
    h.state.policies[0].updates_not_found = 1;
    h.run_until(Instant::from_secs(260));
    assert!(h.state.rd.last().unwrap().is_register());
    assert_eq!(h.client().observation_count(), 0);
    set_battery(&mut h, 1);
    h.run_for(Duration::from_secs(1));
    assert!(notifications(&h, id).is_empty());
}
