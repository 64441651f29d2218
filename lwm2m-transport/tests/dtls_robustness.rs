//! Hostile and unlucky traffic: `ClientHello` floods, rebooted clients, garbage at every stage of a
//! handshake, and arbitrary datagrams (proptest).
#![cfg(feature = "dtls-openssl")]

mod dtls_support;

use std::net::SocketAddr;

use dtls_support::*;
use lwm2m_transport::dtls::*;
use lwm2m_transport::Instant;
use proptest::prelude::*;

/// Runs the cookie exchange of a new client and delivers its `ClientHello` with cookie, dropping
/// the server's answer: a half-open handshake.
fn half_open(
    server: &mut SessionTable<SocketAddr>,
    from: SocketAddr,
    now: Instant,
) -> Result<(), DtlsError> {
    let mut client = client_table();
    client
        .connect(now, server_addr(), &psk_client(IDENTITY, KEY))
        .unwrap();
    let ch1 = client.poll_transmit().unwrap();
    server.handle_datagram(now, from, &ch1.contents).unwrap();
    let hvr = server.poll_transmit().unwrap();
    assert_eq!(hvr.destination, from);
    client
        .handle_datagram(now, server_addr(), &hvr.contents)
        .unwrap();
    let ch2 = client.poll_transmit().unwrap();
    let result = server.handle_datagram(now, from, &ch2.contents);
    while server.poll_transmit().is_some() {}
    result
}

#[test]
fn spoofed_client_hellos_cost_no_state() {
    for_each_backend(|_| {
        let mut server = psk_server_table(Limits::default());
        let mut client = client_table();
        client
            .connect(Instant::ZERO, server_addr(), &psk_client(IDENTITY, KEY))
            .unwrap();
        let ch1 = client.poll_transmit().unwrap().contents;
        for port in 0..5_000u16 {
            let spoofed = SocketAddr::from(([198, 51, 100, (port % 250) as u8], port));
            server
                .handle_datagram(Instant::ZERO, spoofed, &ch1)
                .unwrap();
            // The answer is a small HelloVerifyRequest (no amplification).
            let hvr = server.poll_transmit().unwrap();
            assert!(hvr.contents.len() < ch1.len());
        }
        let stats = server.stats();
        assert_eq!(
            (stats.sessions, stats.half_open, stats.hello_verify_requests),
            (0, 0, 5_000)
        );
        // A cookie issued to one address is worthless from another.
        let mut replayer = client_table();
        replayer
            .connect(Instant::ZERO, server_addr(), &psk_client(IDENTITY, KEY))
            .unwrap();
        let ch1 = replayer.poll_transmit().unwrap();
        server
            .handle_datagram(Instant::ZERO, addr("10.0.0.2:1"), &ch1.contents)
            .unwrap();
        let hvr = server.poll_transmit().unwrap();
        replayer
            .handle_datagram(Instant::ZERO, server_addr(), &hvr.contents)
            .unwrap();
        let ch2 = replayer.poll_transmit().unwrap();
        server
            .handle_datagram(Instant::ZERO, addr("10.0.0.3:1"), &ch2.contents)
            .unwrap();
        assert_eq!(
            server.stats().sessions,
            0,
            "a fresh HelloVerifyRequest instead"
        );
        assert_eq!(server.stats().hello_verify_requests, 5_002);
    });
}

#[test]
fn client_hello_flood_from_one_host_hits_the_half_open_cap() {
    let mut limits = Limits::default();
    limits.max_half_open_per_source = 4;
    limits.max_half_open = 6;
    limits.handshake_timeout = secs(10);
    let mut server = psk_server_table(limits);
    let flooder = |port| SocketAddr::from(([203, 0, 113, 7], port));
    for port in 1..=4 {
        half_open(&mut server, flooder(port), Instant::ZERO).unwrap();
    }
    for port in 5..=20 {
        assert_eq!(
            half_open(&mut server, flooder(port), Instant::ZERO),
            Err(DtlsError::Limit(Limit::HalfOpenPerSource { limit: 4 }))
        );
    }
    assert_eq!(server.stats().half_open, 4);
    // Another host still gets in, up to the global cap.
    half_open(&mut server, addr("192.0.2.1:1"), Instant::ZERO).unwrap();
    half_open(&mut server, addr("192.0.2.2:1"), Instant::ZERO).unwrap();
    assert_eq!(
        half_open(&mut server, addr("192.0.2.3:1"), Instant::ZERO),
        Err(DtlsError::Limit(Limit::HalfOpen { limit: 6 }))
    );
    // When the half-open handshakes time out, the room comes back and a real client connects.
    server.handle_timeout(Instant::from_secs(10));
    assert_eq!(server.stats().half_open, 0);
    assert_eq!(server.stats().sessions, 0);
    let timeouts = events(&mut server)
        .iter()
        .filter(|e| {
            matches!(
                e,
                Event::Failed {
                    error: DtlsError::Handshake(HandshakeFailure::Timeout { .. }),
                    ..
                }
            )
        })
        .count();
    assert_eq!(timeouts, 6);
    while server.poll_transmit().is_some() {}
    let mut client = client_table();
    let now = Instant::from_secs(11);
    client
        .connect(now, server_addr(), &psk_client(IDENTITY, KEY))
        .unwrap();
    assert!(pump(now, &mut server, &mut [(flooder(99), &mut client)]).is_empty());
    assert_eq!(server.stats().established, 1);
}

#[test]
fn max_sessions_is_enforced() {
    let mut limits = Limits::default();
    limits.max_sessions = 2;
    let mut server = psk_server_table(limits);
    for i in 0..2u8 {
        let mut c = client_table();
        c.connect(Instant::ZERO, server_addr(), &psk_client(IDENTITY, KEY))
            .unwrap();
        assert!(pump(
            Instant::ZERO,
            &mut server,
            &mut [(SocketAddr::from(([10, 1, 0, i], 1)), &mut c)]
        )
        .is_empty());
    }
    assert_eq!(
        half_open(&mut server, addr("10.1.0.9:1"), Instant::ZERO),
        Err(DtlsError::Limit(Limit::Sessions { limit: 2 }))
    );
}

#[test]
fn rebooted_client_reconnects_at_once_and_the_old_session_lives_until_then() {
    for_each_backend(|_| {
        let mut server = psk_server_table(Limits::default());
        let me = addr("10.0.0.2:40000");
        let mut before = client_table();
        before
            .connect(Instant::ZERO, server_addr(), &psk_client(IDENTITY, KEY))
            .unwrap();
        pump(Instant::ZERO, &mut server, &mut [(me, &mut before)]);
        events(&mut server);
        // The device reboots: its state is gone, no close_notify. It comes back from the same
        // address and port with another identity.
        drop(before);
        let mut after = client_table();
        let now = Instant::from_secs(5);
        after
            .connect(now, server_addr(), &psk_client(b"dev-2", b"key-of-dev-2!!"))
            .unwrap();
        let ch1 = after.poll_transmit().unwrap();
        server.handle_datagram(now, me, &ch1.contents).unwrap();
        after
            .handle_datagram(
                now,
                server_addr(),
                &server.poll_transmit().unwrap().contents,
            )
            .unwrap();
        let ch2 = after.poll_transmit().unwrap();
        server.handle_datagram(now, me, &ch2.contents).unwrap();
        // Mid-handshake both exist, and the old association still serves the address.
        assert_eq!(server.stats().sessions, 2);
        assert_eq!(
            server.handshake(&me).unwrap().identity.name(),
            Some("lwm2m-client-1")
        );
        server.send(now, &me, b"to the old session").unwrap();
        assert!(pump(now, &mut server, &mut [(me, &mut after)]).is_empty());
        match &events(&mut server)[..] {
            [Event::Connected {
                handshake,
                replaced: true,
                ..
            }] => {
                assert_eq!(handshake.identity.name(), Some("dev-2"));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(server.stats().sessions, 1);
        assert_eq!(
            server.handshake(&me).unwrap().identity.name(),
            Some("dev-2")
        );
        // The new client never saw the old session's data; the new session carries data both ways.
        let client_events = events(&mut after);
        assert!(
            matches!(
                &client_events[..],
                [Event::Connected {
                    replaced: false,
                    ..
                }]
            ),
            "{client_events:?}"
        );
        server.send(now, &me, b"welcome back").unwrap();
        after.send(now, &server_addr(), b"register").unwrap();
        pump(now, &mut server, &mut [(me, &mut after)]);
        assert!(
            matches!(&events(&mut after)[..], [Event::Data { data, .. }] if &data[..] == b"welcome back")
        );
        assert!(
            matches!(&events(&mut server)[..], [Event::Data { data, .. }] if &data[..] == b"register")
        );
    });
}

/// Random datagrams, and well-framed records with random contents, for one stage.
fn garbage(rng: &mut dtls_support::Rng) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for _ in 0..20 {
        let len = (rng.next() % 200) as usize;
        out.push(rng.bytes(len));
    }
    for (content_type, epoch) in [(23u8, 1u16), (22, 1), (23, 0), (20, 3)] {
        let len = 1 + (rng.next() % 80) as usize;
        let body = rng.bytes(len);
        let mut record = vec![content_type, 0xFE, 0xFD];
        record.extend_from_slice(&epoch.to_be_bytes());
        record.extend_from_slice(&rng.bytes(6));
        record.extend_from_slice(&(body.len() as u16).to_be_bytes());
        record.extend_from_slice(&body);
        out.push(record);
    }
    out
}

#[test]
fn garbage_at_every_stage_neither_panics_nor_breaks_the_handshake() {
    for_each_backend(|_| {
        let mut rng = dtls_support::Rng(0x9E37_79B9_7F4A_7C15);
        let mut server = psk_server_table(Limits::default());
        let me = addr("10.0.0.2:40000");
        let mut client = client_table();
        let now = Instant::ZERO;
        let mut spray = |server: &mut SessionTable<SocketAddr>,
                         client: &mut SessionTable<SocketAddr>| {
            for g in garbage(&mut rng) {
                let _ = server.handle_datagram(now, me, &g);
                let _ = client.handle_datagram(now, server_addr(), &g);
            }
            // Garbage draws no answer but HelloVerifyRequests (random bytes rarely form a hello)
            // and, for encrypted records while the server holds no session for the peer, the
            // 15-byte "no such session" alert (never larger than what provoked it).
            while let Some(t) = server.poll_transmit() {
                let lost_session =
                    t.contents[..] == [21, 0xFE, 0xFD, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 10];
                assert!(
                    t.contents[0] == 22 || lost_session,
                    "{:?} {:?}",
                    t.contents,
                    events(server)
                );
            }
            while client.poll_transmit().is_some() {}
        };
        // Before anything, from an unknown peer: typed drops.
        let mut g = vec![0x17u8, 0xFE, 0xFD, 0, 1, 0, 0, 0, 0, 0, 1, 0, 16];
        g.extend_from_slice(&[0; 16]);
        assert_eq!(
            server.handle_datagram(now, me, &g),
            Err(DtlsError::NoSession)
        );
        assert!(matches!(
            server.handle_datagram(now, me, &[1, 2, 3]),
            Err(DtlsError::Malformed { offset: 0, .. })
        ));
        spray(&mut server, &mut client);

        client
            .connect(now, server_addr(), &psk_client(IDENTITY, KEY))
            .unwrap();
        // Before every flight (CH1, HVR, CH2, server flight, client flight, Finished), garbage.
        let mut stages = 0;
        loop {
            let to_server: Vec<_> = std::iter::from_fn(|| client.poll_transmit()).collect();
            let to_client: Vec<_> = std::iter::from_fn(|| server.poll_transmit()).collect();
            if to_server.is_empty() && to_client.is_empty() {
                break;
            }
            stages += 1;
            spray(&mut server, &mut client);
            for t in to_server {
                let _ = server.handle_datagram(now, me, &t.contents);
            }
            for t in to_client {
                let _ = client.handle_datagram(now, server_addr(), &t.contents);
            }
        }
        assert!(stages >= 5, "{stages} {:?}", events(&mut client));
        pump(now, &mut server, &mut [(me, &mut client)]);
        let server_events = events(&mut server);
        assert!(
            matches!(&server_events[..], [Event::Connected { .. }]),
            "{server_events:?}"
        );
        spray(&mut server, &mut client);
        client
            .send(now, &server_addr(), b"after the storm")
            .unwrap();
        pump(now, &mut server, &mut [(me, &mut client)]);
        assert!(
            matches!(&events(&mut server)[..], [Event::Data { data, .. }] if &data[..] == b"after the storm")
        );
        assert_eq!(server.stats().established, 1);
    });
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_datagrams_never_panic_the_server(
        datagrams in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..400), 1..8),
        framed in proptest::collection::vec((20u8..=23, 0u16..3, proptest::collection::vec(any::<u8>(), 0..120)), 0..6),
        port in 1u16..4,
    ) {
        for_each_backend(|_| {
        let mut server = psk_server_table(Limits::default());
        let from = SocketAddr::from(([10, 9, 9, 9], port));
        for d in &datagrams {
            let _ = server.handle_datagram(Instant::ZERO, from, d);
        }
        for (content_type, epoch, body) in &framed {
            let mut record = vec![*content_type, 0xFE, 0xFD];
            record.extend_from_slice(&epoch.to_be_bytes());
            record.extend_from_slice(&[0, 0, 0, 0, 0, 1]);
            record.extend_from_slice(&(body.len() as u16).to_be_bytes());
            record.extend_from_slice(body);
            let _ = server.handle_datagram(Instant::ZERO, from, &record);
        }
        server.handle_timeout(Instant::from_secs(3_600));
        assert_eq!(server.stats().half_open, 0);
        });
    }

    #[test]
    fn arbitrary_datagrams_never_panic_an_established_session(
        datagrams in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 1..6),
        framed in proptest::collection::vec((20u8..=23, 0u16..3, proptest::collection::vec(any::<u8>(), 0..60)), 0..6),
    ) {
        for_each_backend(|_| {
        let mut server = psk_server_table(Limits::default());
        let me = addr("10.0.0.2:40000");
        let mut client = client_table();
        client.connect(Instant::ZERO, server_addr(), &psk_client(IDENTITY, KEY)).unwrap();
        pump(Instant::ZERO, &mut server, &mut [(me, &mut client)]);
        for d in &datagrams {
            let _ = server.handle_datagram(Instant::ZERO, me, d);
            let _ = client.handle_datagram(Instant::ZERO, server_addr(), d);
        }
        for (content_type, epoch, body) in &framed {
            let mut record = vec![*content_type, 0xFE, 0xFD];
            record.extend_from_slice(&epoch.to_be_bytes());
            record.extend_from_slice(&[0, 0, 0, 0, 0, 9]);
            record.extend_from_slice(&(body.len() as u16).to_be_bytes());
            record.extend_from_slice(body);
            let _ = server.handle_datagram(Instant::ZERO, me, &record);
            let _ = client.handle_datagram(Instant::ZERO, server_addr(), &record);
        }
        // Plaintext alerts in epoch 0 are dropped by an established session (old epoch).
        assert_eq!(server.stats().established, 1);
        client.send(Instant::ZERO, &server_addr(), b"ok").unwrap();
        pump(Instant::ZERO, &mut server, &mut [(me, &mut client)]);
        let got = events(&mut server).into_iter().any(|e| matches!(e, Event::Data { data, .. } if &data[..] == b"ok"));
        assert!(got);
        });
    }
}
