//! Registration interface behaviour on virtual time: Register, lifetime-driven Updates,
//! back-off while the server is away, re-Register on 4.04, De-register.

mod common;

use std::time::Duration;

use common::*;
use lwm2m_client::ClientEvent;
use lwm2m_codec::coap::Code;
use lwm2m_transport::Instant;

#[test]
fn register_then_updates_before_each_lifetime_ends() {
    let mut h = Harness::new();
    h.run_until(Instant::from_secs(1000));
    let rd = &h.state.rd;
    let register = &rd[0];
    assert!(register.is_register());
    assert!(register.at < Instant::from_secs(1));
    assert_eq!(register.query, ["ep=node1", "lt=300", "lwm2m=1.0", "b=U"]);
    assert_eq!(register.content_format, Some(40));
    assert_eq!(
        String::from_utf8(register.payload.clone()).unwrap(),
        r#"</>;rt="oma.lwm2m";ct=11543,</1/0>,</3/0>,</6>"#
    );
    // Updates every 300 - 93 = 207 s (each one 10 ms one-way late), to the returned location,
    // without parameters or payload while nothing changes.
    let updates: Vec<_> = rd.iter().filter(|r| r.is_update()).collect();
    assert_eq!(updates.len(), 4, "{rd:#?}");
    let mut last = register.at;
    for update in &updates {
        assert_eq!(update.path, ["rd", "5a3f"]);
        assert!(update.query.is_empty() && update.payload.is_empty());
        let gap = update.at - last;
        assert!(
            gap >= Duration::from_secs(207) && gap <= Duration::from_millis(207_100),
            "update gap {gap:?}"
        );
        last = update.at;
    }
    assert!(h.client().is_registered(1));
    assert_eq!(h.client().location(1).as_deref(), Some("/rd/5a3f"));
    let registered = h
        .events()
        .filter(|e| matches!(e, ClientEvent::Registered { ssid: 1, .. }))
        .count();
    let updated = h
        .events()
        .filter(|e| matches!(e, ClientEvent::Updated { ssid: 1 }))
        .count();
    assert_eq!((registered, updated), (1, 4));
}

#[test]
fn server_away_means_back_off_then_register_again() {
    let mut h = Harness::new();
    h.register_all();
    let server = h.state.servers[0];
    // The server vanishes just after the registration.
    h.net.set_up(server, false);
    h.run_until(Instant::from_secs(1500));
    // The Update at ~207 s is never answered: after the CoAP retransmissions (62-93 s) the
    // client is offline until the registration expires at ~300 s, then Registers, and retries
    // Register after 30, 60, 120, 240 s (each attempt also 62-93 s).
    let failures: Vec<(Instant, Instant)> = h
        .state
        .client_events
        .iter()
        .filter_map(|(at, e)| match e {
            ClientEvent::RegistrationFailed { retry_at, .. } => Some((*at, *retry_at)),
            _ => None,
        })
        .collect();
    assert!(failures.len() >= 5, "{failures:?}");
    let (update_failed, expiry) = failures[0];
    assert!(
        update_failed < expiry && expiry <= Instant::from_secs(301),
        "{failures:?}"
    );
    let waits: Vec<u64> = failures
        .iter()
        .map(|(at, retry)| (*retry - *at).as_secs())
        .collect();
    assert_eq!(&waits[1..5], [30, 60, 120, 240]);
    // Each Register attempt starts at the announced retry time.
    for pair in failures.windows(2) {
        let (_, retry) = pair[0];
        let (next_failure, _) = pair[1];
        let attempt = next_failure - retry;
        assert!(
            attempt > Duration::from_secs(40) && attempt < Duration::from_secs(100),
            "{attempt:?}"
        );
    }
    assert!(!h.client().is_registered(1));
    // The server returns: the next attempt registers.
    h.net.set_up(server, true);
    h.run_for(Duration::from_secs(1200));
    assert!(h.client().is_registered(1));
    let registers = h.state.rd.iter().filter(|r| r.is_register()).count();
    assert_eq!(
        registers, 2,
        "only the first and the successful Register reached the server"
    );
}

#[test]
fn update_answered_404_means_register_again_at_once() {
    let mut h = Harness::new();
    h.register_all();
    h.state.policies[0].updates_not_found = 1;
    h.run_until(Instant::from_secs(260));
    let rd = &h.state.rd;
    assert_eq!(rd.len(), 3, "{rd:#?}");
    assert!(rd[1].is_update());
    assert!(rd[2].is_register());
    // The new Register follows the 4.04 within a round trip.
    assert!(rd[2].at - rd[1].at <= Duration::from_millis(25));
    assert_eq!(h.client().location(1).as_deref(), Some("/rd/r2"));
}

#[test]
fn refused_register_is_retried_with_back_off() {
    let mut h = Harness::new();
    h.state.policies[0].refuse_registers = 2;
    h.run_until(Instant::from_secs(200));
    let registers: Vec<Instant> = h
        .state
        .rd
        .iter()
        .filter(|r| r.is_register())
        .map(|r| r.at)
        .collect();
    assert_eq!(registers.len(), 3);
    assert!(registers[1] - registers[0] >= Duration::from_secs(30));
    assert!(registers[2] - registers[1] >= Duration::from_secs(60));
    assert!(h.client().is_registered(1));
    assert!(h.events().any(
        |e| matches!(e, ClientEvent::RegistrationFailed { reason, .. } if reason.contains("4.03"))
    ));
}

#[test]
fn shutdown_deregisters() {
    let mut h = Harness::new();
    h.register_all();
    let now = h.now();
    h.client().shutdown(now);
    h.run_for(Duration::from_secs(5));
    let last = h.state.rd.last().unwrap();
    assert!(last.is_deregister());
    assert_eq!(last.path, ["rd", "5a3f"]);
    assert!(h
        .events()
        .any(|e| matches!(e, ClientEvent::Deregistered { ssid: 1 })));
    assert!(!h.client().is_registered(1));
    // It stays quiet afterwards, and registers again on restart.
    h.run_for(Duration::from_secs(1000));
    assert!(h.state.rd.last().unwrap().is_deregister());
    let now = h.now();
    h.client().restart(now);
    h.register_all();
}

#[test]
fn lifetime_write_sends_an_update_with_only_lt() {
    let mut h = Harness::new();
    h.register_all();
    let response = h.request(0, req(Code::PUT, "/1/0/1", Some(TEXT), &[], b"600"));
    assert_eq!(response.code(), Code::CHANGED);
    h.run_for(Duration::from_secs(1));
    let last = h.state.rd.last().unwrap();
    assert!(last.is_update());
    assert_eq!(last.query, ["lt=600"]);
    assert!(last.payload.is_empty());
    // The next Update comes 600 - 93 s later.
    let at = last.at;
    h.run_for(Duration::from_secs(600));
    let next = h.state.rd.last().unwrap();
    assert!(next.is_update() && next.query.is_empty());
    let gap = next.at - at;
    assert!(
        gap >= Duration::from_secs(507) && gap < Duration::from_secs(508),
        "{gap:?}"
    );
}

#[test]
fn create_and_delete_send_updates_with_the_new_object_list() {
    let mut h = Harness::new();
    h.register_all();
    // Location /6/0 with Latitude, Longitude, Timestamp.
    let payload = hex("08 00 12 C4 00 42 42 00 00 C4 01 40 C0 00 00 C4 05 00 00 00 01");
    let response = h.request(0, req(Code::POST, "/6", Some(TLV), &[], &payload));
    assert_eq!(response.code(), Code::CREATED);
    h.run_for(Duration::from_secs(1));
    let last = h.state.rd.last().unwrap().clone();
    assert!(last.is_update());
    assert_eq!(last.content_format, Some(40));
    assert_eq!(
        String::from_utf8(last.payload).unwrap(),
        r#"</>;rt="oma.lwm2m";ct=11543,</1/0>,</3/0>,</6/0>"#
    );
    let response = h.request(0, req(Code::DELETE, "/6/0", None, &[], b""));
    assert_eq!(response.code(), Code::DELETED);
    h.run_for(Duration::from_secs(1));
    let last = h.state.rd.last().unwrap().clone();
    assert_eq!(
        String::from_utf8(last.payload).unwrap(),
        r#"</>;rt="oma.lwm2m";ct=11543,</1/0>,</3/0>,</6>"#
    );
}

#[test]
fn update_trigger_and_disable() {
    let mut setup = Setup::default();
    setup.servers[0].disable_timeout = Some(120);
    let mut h = Harness::with(setup);
    h.register_all();
    let before = h.state.rd.len();
    let response = h.request(0, req(Code::POST, "/1/0/8", None, &[], b""));
    assert_eq!(response.code(), Code::CHANGED);
    h.run_for(Duration::from_secs(1));
    assert_eq!(h.state.rd.len(), before + 1);
    assert!(h.state.rd.last().unwrap().is_update());
    // Disable: De-register now, Register again after the 120 s Disable Timeout.
    let response = h.request(0, req(Code::POST, "/1/0/4", None, &[], b""));
    assert_eq!(response.code(), Code::CHANGED);
    let disabled_at = h.now();
    h.run_for(Duration::from_secs(1));
    assert!(h.state.rd.last().unwrap().is_deregister());
    assert!(!h.client().is_registered(1));
    h.run_for(Duration::from_secs(125));
    let last = h.state.rd.last().unwrap();
    assert!(last.is_register());
    assert!(last.at - disabled_at >= Duration::from_secs(120));
    assert!(h.client().is_registered(1));
}
