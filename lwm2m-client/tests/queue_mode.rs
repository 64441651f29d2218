//! Queue mode (binding `UQ`) on virtual time: the client sleeps once the awake time after its
//! last exchange is over, does not answer while asleep, and wakes to send an Update first and
//! then its notifications; lifetime-driven Updates wake it too.

mod common;

use std::time::Duration;

use common::*;
use lwm2m_client::{ClientEvent, DeviceObject, ServerAccount, Timings};
use lwm2m_codec::coap::{Code, Message, Type};
use lwm2m_model::BindingMode;
use lwm2m_transport::Instant;

const AWAKE: Duration = Duration::from_secs(20);

fn queue_client(lifetime: u32) -> Harness {
    let setup = Setup {
        servers: vec![ServerAccount::new(1, ())
            .lifetime(lifetime)
            .binding(BindingMode::UdpQueue)],
        timings: Timings {
            awake_time: AWAKE,
            ..Timings::default()
        },
        ..Setup::default()
    };
    let mut h = Harness::with(setup);
    h.net.set_recording(true);
    h.register_all();
    h
}

/// The times of the client's events matching `f`.
fn times(h: &Harness, f: impl Fn(&ClientEvent) -> bool) -> Vec<Instant> {
    h.state
        .client_events
        .iter()
        .filter(|(_, e)| f(e))
        .map(|(at, _)| *at)
        .collect()
}

/// Datagrams the client sent to the server in `[from, to)`.
fn sent_by_client(h: &Harness, from: Instant, to: Instant) -> Vec<Vec<u8>> {
    let client = h.client_addr();
    h.net
        .trace()
        .iter()
        .filter(|t| t.source == client && t.sent >= from && t.sent < to)
        .map(|t| t.datagram.to_vec())
        .collect()
}

#[test]
fn sleeps_ignores_requests_and_wakes_with_an_update_before_the_notification() {
    let mut h = queue_client(3600);
    assert_eq!(h.state.rd[0].query[3], "b=UQ");
    // While awake the server observes the battery level.
    let id = h.start(0, observe("/3/0/9", 0, None));
    assert_eq!(text(&h.wait(id)), "100");
    let last_exchange = h.now();
    assert!(!h.client().is_sleeping());
    h.run_for(AWAKE + Duration::from_secs(5));
    // Asleep one awake time after the observe answer.
    let sleeps = times(&h, |e| matches!(e, ClientEvent::Sleeping));
    assert_eq!(sleeps.len(), 1, "{:?}", h.state.client_events);
    let asleep_at = sleeps[0];
    // (The answer left the client one 10 ms link delay before it reached the server.)
    let awake = asleep_at + Duration::from_millis(10) - last_exchange;
    assert_eq!(awake, AWAKE);
    assert!(h.client().is_sleeping());

    // A request while asleep is not answered.
    let t0 = h.now();
    let read = h.start(0, get("/3/0/9", None));
    h.run_for(Duration::from_secs(10));
    assert!(!h.state.responses.contains_key(&read));
    assert!(sent_by_client(&h, t0, h.now()).is_empty());
    let now = h.now();
    h.server(0).cancel_request(now, read).unwrap();

    // A value change wakes it: an Update first, the notification after its answer.
    let t1 = h.now();
    h.client()
        .update_object::<DeviceObject, _>(t1, 3, |d| d.device_mut().battery_level = Some(50))
        .unwrap();
    h.run_for(Duration::from_secs(2));
    assert!(!h.client().is_sleeping());
    // (The harness records an event when it next polls the network, one step later.)
    let wakes = times(&h, |e| matches!(e, ClientEvent::Awake));
    assert_eq!(wakes.len(), 1);
    assert!(wakes[0] - t1 <= Duration::from_millis(10));
    let out = sent_by_client(&h, t1, h.now());
    let messages: Vec<Message<'_>> = out.iter().map(|d| Message::parse(d).unwrap()).collect();
    assert_eq!(messages.len(), 2, "{messages:?}");
    // 1: the Update (CON POST /rd/5a3f, no query, no payload).
    assert_eq!(
        (messages[0].ty(), messages[0].code()),
        (Type::Confirmable, Code::POST)
    );
    assert!(messages[0].uri_path().unwrap().eq(["rd", "5a3f"]));
    assert!(messages[0].payload().is_empty());
    // 2: the notification, Confirmable, with the new value (and nothing for the request the
    // server sent while the client slept).
    assert_eq!(
        (messages[1].ty(), messages[1].code(), messages[1].payload()),
        (Type::Confirmable, Code::CONTENT, &b"50"[..])
    );
    let update_at = h
        .state
        .rd
        .iter()
        .find(|r| r.is_update())
        .map(|r| r.at)
        .unwrap();
    let notified: Vec<(Instant, String)> = h
        .state
        .notifications
        .iter()
        .filter(|(_, n, _)| *n == id)
        .map(|(at, _, r)| (*at, text(r)))
        .collect();
    assert_eq!(notified.len(), 1);
    assert_eq!(notified[0].1, "50");
    assert!(notified[0].0 > update_at);

    // Asleep again one awake time after the notification's ACK.
    h.run_for(AWAKE + Duration::from_secs(5));
    assert_eq!(times(&h, |e| matches!(e, ClientEvent::Sleeping)).len(), 2);
    assert!(h.client().is_sleeping());
}

#[test]
fn lifetime_updates_wake_the_client() {
    // Lifetime 100 s: an Update every 50 s; the client sleeps 20 s after each.
    let mut h = queue_client(100);
    let registered = h.now();
    h.run_until(registered + Duration::from_secs(175));
    let updates: Vec<Instant> = h
        .state
        .rd
        .iter()
        .filter(|r| r.is_update())
        .map(|r| r.at)
        .collect();
    assert_eq!(updates.len(), 3, "{:?}", h.state.rd);
    let sleeps = times(&h, |e| matches!(e, ClientEvent::Sleeping));
    let wakes = times(&h, |e| matches!(e, ClientEvent::Awake));
    assert_eq!(
        (sleeps.len(), wakes.len()),
        (4, 3),
        "{:?}",
        h.state.client_events
    );
    for (i, update) in updates.iter().enumerate() {
        // Asleep before each Update, awake for it, asleep again after the awake time.
        assert!(sleeps[i] < wakes[i] && wakes[i] <= *update);
        assert!(sleeps[i + 1] > *update);
        let awake = sleeps[i + 1] - *update;
        assert!(
            awake >= AWAKE && awake < AWAKE + Duration::from_millis(100),
            "{awake:?}"
        );
    }
    assert!(h.client().is_registered(1));
}

#[test]
fn pmax_wakes_the_client_for_a_notification() {
    let mut h = queue_client(3600);
    assert_eq!(
        h.request(0, write_attributes("/3/0/9", &["pmax=60"]))
            .code(),
        Code::CHANGED
    );
    let id = h.start(0, observe("/3/0/9", 0, None));
    h.wait(id);
    let t0 = h.now();
    h.run_until(t0 + Duration::from_secs(70));
    let notified: Vec<Instant> = h
        .state
        .notifications
        .iter()
        .filter(|(_, n, _)| *n == id)
        .map(|(at, _, _)| *at)
        .collect();
    assert_eq!(notified.len(), 1);
    let update = h.state.rd.iter().find(|r| r.is_update()).unwrap().at;
    // Asleep at 20 s, awake at pmax (60 s) with an Update, then the notification.
    let offset = update - t0;
    assert!(
        offset >= Duration::from_secs(60) && offset < Duration::from_millis(60_100),
        "{offset:?}"
    );
    assert!(notified[0] > update);
    assert_eq!(
        times(&h, |e| matches!(e, ClientEvent::Sleeping)).len(),
        1,
        "{:?}",
        h.state.client_events
    );
}

#[test]
fn no_sleep_and_no_busy_loop_while_the_server_is_away() {
    let mut h = queue_client(3600);
    let server = h.state.servers[0];
    h.net.set_up(server, false);
    // Lifetime 3600 s: the Update at ~3507 s goes unanswered; the client stays awake while
    // it retries, and never asks to be woken again at the same instant (which would make a
    // driver spin): a few hundred network steps cover the hour.
    let mut steps = 0u32;
    let spun = h.run_while(Instant::from_secs(4000), |_| {
        steps += 1;
        steps > 5_000
    });
    assert!(!spun, "the client keeps asking to be woken: {steps} steps");
    let failed = times(&h, |e| matches!(e, ClientEvent::RegistrationFailed { .. }));
    assert!(!failed.is_empty(), "{:?}", h.state.client_events);
    assert!(!h.client().is_sleeping());
}

#[test]
fn shutdown_while_asleep_deregisters() {
    let mut h = queue_client(3600);
    h.run_for(AWAKE + Duration::from_secs(5));
    assert!(h.client().is_sleeping());
    let now = h.now();
    h.client().shutdown(now);
    h.run_for(Duration::from_secs(5));
    assert!(h.state.rd.iter().any(RdRequest::is_deregister));
    assert!(h
        .events()
        .any(|e| matches!(e, ClientEvent::Deregistered { ssid: 1 })));
    assert!(!h.client().is_sleeping());
}
