//! The session layer's smaller promises: a lone client `Session`, retransmission of a lost
//! flight, data on the old session while a re-handshake runs, and the refusals of the API.
#![cfg(feature = "dtls-openssl")]

mod dtls_support;

use std::time::Duration;

use dtls_support::*;
use lwm2m_transport::dtls::*;
use lwm2m_transport::Instant;

#[test]
fn a_lone_client_session_talks_to_a_table() {
    let mut server = psk_server_table(Limits::default());
    let me = addr("10.0.0.2:40000");
    let mut session = Session::connect(
        Instant::ZERO,
        &psk_client(IDENTITY, KEY),
        &Limits::default(),
    )
    .unwrap();
    assert_eq!(session.role(), Role::Client);
    session.send(Instant::ZERO, b"early").unwrap();
    for _ in 0..10 {
        while let Some(d) = session.poll_transmit() {
            let _ = server.handle_datagram(Instant::ZERO, me, &d);
        }
        while let Some(t) = server.poll_transmit() {
            session.handle_datagram(Instant::ZERO, &t.contents).unwrap();
        }
    }
    assert_eq!(session.state(), SessionState::Established);
    assert!(
        matches!(session.poll_event(), Some(SessionEvent::Connected(h)) if h.cipher_suite == CipherSuite::PskAes128Ccm8)
    );
    assert_eq!(
        session.handshake().unwrap().identity.name(),
        Some("lwm2m-client-1")
    );
    let got: Vec<_> = std::iter::from_fn(|| server.poll_event()).collect();
    assert!(matches!(&got[1], Event::Data { data, .. } if &data[..] == b"early"));
    // Refusals: too large, garbage framing, and anything after close.
    let max = session.max_plaintext();
    assert_eq!(max, DEFAULT_MTU - 29);
    assert_eq!(
        session.send(Instant::ZERO, &vec![0; max + 1]),
        Err(DtlsError::PlaintextTooLarge { len: max + 1, max })
    );
    assert!(matches!(
        session.handle_datagram(Instant::ZERO, &[0xff; 20]),
        Err(DtlsError::Malformed { .. })
    ));
    session.close(Instant::ZERO);
    assert_eq!(
        session.poll_event(),
        Some(SessionEvent::Closed(CloseReason::Local))
    );
    assert_eq!(session.state(), SessionState::Closed);
    assert_eq!(session.send(Instant::ZERO, b"x"), Err(DtlsError::Closed));
    assert_eq!(session.poll_timeout(), None);
}

#[test]
fn a_lost_flight_is_retransmitted_when_the_timer_expires() {
    let mut server = psk_server_table(Limits::default());
    let me = addr("10.0.0.2:40000");
    let mut client = client_table();
    let start = std::time::Instant::now();
    let now = || Instant::from_micros(start.elapsed().as_micros() as u64);
    client
        .connect(now(), server_addr(), &psk_client(IDENTITY, KEY))
        .unwrap();
    let ch1 = client.poll_transmit().unwrap();
    server.handle_datagram(now(), me, &ch1.contents).unwrap();
    client
        .handle_datagram(
            now(),
            server_addr(),
            &server.poll_transmit().unwrap().contents,
        )
        .unwrap();
    let ch2 = client.poll_transmit().unwrap();
    server.handle_datagram(now(), me, &ch2.contents).unwrap();
    // The server's flight is lost.
    let lost: Vec<_> = std::iter::from_fn(|| server.poll_transmit()).collect();
    assert!(!lost.is_empty());
    // OpenSSL's timer runs on the wall clock (1 s initially): wait for the deadline it reports.
    let deadline = server.poll_timeout().unwrap();
    assert!(
        deadline <= now() + Duration::from_millis(1_100),
        "{deadline} vs {}",
        now()
    );
    while now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    server.handle_timeout(now());
    let again: Vec<_> = std::iter::from_fn(|| server.poll_transmit()).collect();
    // The same handshake messages again (OpenSSL may split them over more datagrams).
    assert!(!again.is_empty());
    assert_eq!(
        again
            .iter()
            .map(|t| t.contents[0])
            .collect::<std::collections::BTreeSet<_>>(),
        [22].into()
    );
    for t in again {
        let _ = client.handle_datagram(now(), server_addr(), &t.contents);
    }
    assert!(pump(now(), &mut server, &mut [(me, &mut client)]).is_empty());
    assert_eq!(server.stats().established, 1);
}

#[test]
fn the_old_session_carries_data_while_a_rehandshake_runs() {
    let mut server = psk_server_table(Limits::default());
    let me = addr("10.0.0.2:40000");
    let mut client = client_table();
    client
        .connect(Instant::ZERO, server_addr(), &psk_client(IDENTITY, KEY))
        .unwrap();
    pump(Instant::ZERO, &mut server, &mut [(me, &mut client)]);
    events(&mut server);
    events(&mut client);
    let now = Instant::from_secs(1);
    client.rehandshake(now, &server_addr()).unwrap();
    // The new ClientHello reaches the server, the answer is still on its way...
    let ch1 = client.poll_transmit().unwrap();
    server.handle_datagram(now, me, &ch1.contents).unwrap();
    let hvr = server.poll_transmit().unwrap();
    client
        .handle_datagram(now, server_addr(), &hvr.contents)
        .unwrap();
    let ch2 = client.poll_transmit().unwrap();
    server.handle_datagram(now, me, &ch2.contents).unwrap();
    let flight: Vec<_> = std::iter::from_fn(|| server.poll_transmit()).collect();
    assert_eq!(server.stats().sessions, 2);
    // ...and meanwhile both sides still talk through the established session.
    client
        .send(now, &server_addr(), b"ping over the old keys")
        .unwrap();
    server.send(now, &me, b"pong over the old keys").unwrap();
    let to_server: Vec<_> = std::iter::from_fn(|| client.poll_transmit()).collect();
    let to_client: Vec<_> = std::iter::from_fn(|| server.poll_transmit()).collect();
    for t in to_server {
        server.handle_datagram(now, me, &t.contents).unwrap();
    }
    for t in to_client {
        client
            .handle_datagram(now, server_addr(), &t.contents)
            .unwrap();
    }
    assert!(
        matches!(&events(&mut server)[..], [Event::Data { data, .. }] if &data[..] == b"ping over the old keys")
    );
    assert!(
        matches!(&events(&mut client)[..], [Event::Data { data, .. }] if &data[..] == b"pong over the old keys")
    );
    // Then the new handshake completes and replaces the old session on both sides.
    for t in flight {
        let _ = client.handle_datagram(now, server_addr(), &t.contents);
    }
    assert!(pump(now, &mut server, &mut [(me, &mut client)]).is_empty());
    assert!(matches!(
        &events(&mut server)[..],
        [Event::Connected { replaced: true, .. }]
    ));
    assert!(matches!(
        &events(&mut client)[..],
        [Event::Connected { replaced: true, .. }]
    ));
    assert_eq!(server.stats().sessions, 1);
}

#[test]
fn tables_refuse_what_they_cannot_do() {
    // A table without a server configuration does not answer ClientHellos.
    let mut client_only = client_table();
    let mut other = client_table();
    other
        .connect(Instant::ZERO, server_addr(), &psk_client(IDENTITY, KEY))
        .unwrap();
    let ch1 = other.poll_transmit().unwrap();
    assert_eq!(
        client_only.handle_datagram(Instant::ZERO, addr("10.0.0.5:1"), &ch1.contents),
        Err(DtlsError::NotAccepting)
    );
    assert_eq!(client_only.poll_transmit(), None);
    assert_eq!(
        client_only.rehandshake(Instant::ZERO, &server_addr()),
        Err(DtlsError::NoSession)
    );
    assert_eq!(
        client_only.send(Instant::ZERO, &server_addr(), b"x"),
        Err(DtlsError::NoSession)
    );
    // Oversized datagrams are dropped unread.
    let mut limits = Limits::default();
    limits.max_datagram_len = 100;
    let mut small = psk_server_table(limits);
    assert_eq!(
        small.handle_datagram(Instant::ZERO, addr("10.0.0.5:1"), &[22; 101]),
        Err(DtlsError::DatagramTooLarge { len: 101, max: 100 })
    );
    assert_eq!(small.stats().dropped, 1);
    // Plaintext queued before the handshake is capped.
    let mut limits = Limits::default();
    limits.max_queued_plaintext = 2;
    let mut session = Session::connect(Instant::ZERO, &psk_client(IDENTITY, KEY), &limits).unwrap();
    session.send(Instant::ZERO, b"1").unwrap();
    session.send(Instant::ZERO, b"2").unwrap();
    assert_eq!(
        session.send(Instant::ZERO, b"3"),
        Err(DtlsError::Limit(Limit::QueuedPlaintext { limit: 2 }))
    );
}

#[test]
fn close_all_says_goodbye_to_every_peer() {
    for_each_backend(|_| {
        let mut server = psk_server_table(Limits::default());
        let peers = [addr("10.0.0.2:40000"), addr("10.0.0.3:40000")];
        let mut clients = [client_table(), client_table()];
        for (peer, client) in peers.iter().zip(clients.iter_mut()) {
            client
                .connect(Instant::ZERO, server_addr(), &psk_client(IDENTITY, KEY))
                .unwrap();
            pump(Instant::ZERO, &mut server, &mut [(*peer, &mut *client)]);
            let _ = events(client);
        }
        assert_eq!(server.stats().established, 2);
        let _ = events(&mut server);
        server.close_all(Instant::ZERO);
        assert_eq!(server.stats().sessions, 0);
        let closed = events(&mut server)
            .iter()
            .filter(|e| {
                matches!(
                    e,
                    Event::Closed {
                        reason: CloseReason::Local,
                        ..
                    }
                )
            })
            .count();
        assert_eq!(closed, 2);
        let [a, b] = &mut clients;
        pump(
            Instant::ZERO,
            &mut server,
            &mut [(peers[0], a), (peers[1], b)],
        );
        for client in &mut clients {
            assert!(matches!(
                &events(client)[..],
                [Event::Closed {
                    reason: CloseReason::PeerClosed,
                    ..
                }]
            ));
            assert_eq!(client.stats().sessions, 0);
        }
    });
}
