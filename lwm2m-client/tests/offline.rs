//! Notifications stored while the server is unreachable (`/1/x/6` Notification Storing When
//! Disabled or Offline), on virtual time: a Confirmable notification times out, the client
//! probes the server with Updates, and once one is answered the newest value of each
//! observation goes out on the same observation; with storing off, the changes made while
//! offline are dropped.

mod common;

use std::time::Duration;

use common::*;
use lwm2m_client::{ClientEvent, DeviceObject, ServerAccount, Timings};
use lwm2m_codec::coap::Code;
use lwm2m_transport::{Config, Instant, RequestId};

fn harness(storing: bool) -> Harness {
    let mut account = ServerAccount::new(1, ()).lifetime(3600);
    account.notification_storing = storing;
    let setup = Setup {
        servers: vec![account],
        timings: Timings {
            transport: Config {
                confirmable_notifications: true,
                ..Config::default()
            },
            ..Timings::default()
        },
        ..Setup::default()
    };
    let mut h = Harness::with(setup);
    h.register_all();
    h
}

fn set_battery(h: &mut Harness, level: i64) {
    let now = h.now();
    h.client()
        .update_object::<DeviceObject, _>(now, 3, |d| d.device_mut().battery_level = Some(level))
        .unwrap();
}

fn notifications(h: &Harness, id: RequestId) -> Vec<(Instant, String)> {
    h.state
        .notifications
        .iter()
        .filter(|(_, n, _)| *n == id)
        .map(|(at, _, r)| (*at, text(r)))
        .collect()
}

/// Observes the battery level, takes the server away, and changes the level three times
/// while it is away (the first change's Confirmable notification times out); returns the
/// observation and when the server came back.
fn outage(h: &mut Harness) -> (RequestId, Instant) {
    let id = h.start(0, observe("/3/0/9", 0, None));
    assert_eq!(text(&h.wait(id)), "100");
    let server = h.state.servers[0];
    h.net.set_up(server, false);
    set_battery(h, 90);
    h.run_for(Duration::from_secs(100));
    set_battery(h, 80);
    h.run_for(Duration::from_secs(60));
    set_battery(h, 70);
    h.run_for(Duration::from_secs(10));
    // The notification timed out and the Update sent to probe the server did too: the
    // registration is kept (its lifetime runs for an hour) and the Update is retried.
    assert!(h.client().is_registered(1));
    assert_eq!(h.client().observation_count(), 1);
    assert!(h
        .events()
        .any(|e| matches!(e, ClientEvent::RegistrationFailed { ssid: 1, .. })));
    assert!(notifications(h, id).is_empty());
    h.net.set_up(server, true);
    (id, h.now())
}

#[test]
fn stored_notification_is_sent_after_the_server_answers_an_update() {
    let mut h = harness(true);
    let (id, back) = outage(&mut h);
    h.run_for(Duration::from_secs(300));
    let update = h
        .state
        .rd
        .iter()
        .find(|r| r.is_update() && r.at >= back)
        .map(|r| r.at)
        .expect("an Update reached the server");
    // Only the newest value, once, after the Update; on the same observation (token).
    let n = notifications(&h, id);
    assert_eq!(n.len(), 1, "{n:?}");
    assert_eq!(n[0].1, "70");
    assert!(n[0].0 > update);
    assert!(h
        .events()
        .any(|e| matches!(e, ClientEvent::Updated { ssid: 1 })));
    // Later changes flow as usual.
    set_battery(&mut h, 60);
    h.run_for(Duration::from_secs(1));
    let n = notifications(&h, id);
    assert_eq!(n.last().map(|(_, p)| p.as_str()), Some("60"));
    // Nothing was registered anew.
    assert_eq!(h.state.rd.iter().filter(|r| r.is_register()).count(), 1);
}

#[test]
fn without_storing_the_changes_made_offline_are_dropped() {
    let mut h = harness(false);
    let (id, _) = outage(&mut h);
    h.run_for(Duration::from_secs(300));
    assert!(h.client().is_registered(1));
    assert!(notifications(&h, id).is_empty());
    // The observation lives on: the next change is notified.
    set_battery(&mut h, 60);
    h.run_for(Duration::from_secs(1));
    let n = notifications(&h, id);
    assert_eq!(n.len(), 1);
    assert_eq!(n[0].1, "60");
    assert_eq!(h.request(0, get("/3/0/9", None)).code(), Code::CONTENT);
}
