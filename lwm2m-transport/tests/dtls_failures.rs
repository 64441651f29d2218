//! Handshake failures, each a typed error on both sides, with another session carrying on.
#![cfg(feature = "dtls-openssl")]

mod dtls_support;

use std::net::SocketAddr;

use dtls_support::*;
use lwm2m_transport::dtls::*;
use lwm2m_transport::Instant;

const BYSTANDER: &str = "10.0.0.9:50000";

/// A server with one established bystander session.
fn server_with_bystander(
    server: SessionTable<SocketAddr>,
) -> (SessionTable<SocketAddr>, SessionTable<SocketAddr>) {
    let mut server = server;
    let mut bystander = client_table();
    bystander
        .connect(
            Instant::ZERO,
            server_addr(),
            &psk_client(b"dev-7", b"key-of-dev-7!!"),
        )
        .unwrap();
    assert!(pump(
        Instant::ZERO,
        &mut server,
        &mut [(addr(BYSTANDER), &mut bystander)]
    )
    .is_empty());
    events(&mut server);
    events(&mut bystander);
    (server, bystander)
}

/// The bystander still exchanges data both ways.
fn bystander_still_works(
    server: &mut SessionTable<SocketAddr>,
    bystander: &mut SessionTable<SocketAddr>,
) {
    bystander
        .send(Instant::ZERO, &server_addr(), b"still here")
        .unwrap();
    server
        .send(Instant::ZERO, &addr(BYSTANDER), b"me too")
        .unwrap();
    assert!(pump(Instant::ZERO, server, &mut [(addr(BYSTANDER), bystander)]).is_empty());
    assert!(
        matches!(&events(server)[..], [Event::Data { data, .. }] if &data[..] == b"still here")
    );
    assert!(matches!(&events(bystander)[..], [Event::Data { data, .. }] if &data[..] == b"me too"));
}

fn failure(events: &[Event<SocketAddr>]) -> &DtlsError {
    match events {
        [Event::Failed { error, .. }] => error,
        other => panic!("expected one Failed event, got {other:?}"),
    }
}

#[test]
fn wrong_psk_fails_fast_on_both_sides() {
    for_each_backend(|_| {
        let (mut server, mut bystander) =
            server_with_bystander(psk_server_table(Limits::default()));
        let me = addr("10.0.0.2:40000");
        let mut client = client_table();
        client
            .connect(
                Instant::ZERO,
                server_addr(),
                &psk_client(IDENTITY, b"not the right key"),
            )
            .unwrap();
        let errors = pump(Instant::ZERO, &mut server, &mut [(me, &mut client)]);
        assert_eq!(errors, [DtlsError::Handshake(HandshakeFailure::BadKey)]);
        assert_eq!(
            failure(&events(&mut server)),
            &DtlsError::Handshake(HandshakeFailure::BadKey)
        );
        assert_eq!(
            failure(&events(&mut client)),
            &DtlsError::Handshake(HandshakeFailure::PeerAlert(Alert::DECRYPT_ERROR))
        );
        assert_eq!(server.stats().sessions, 1);
        assert_eq!(server.stats().half_open, 0);
        bystander_still_works(&mut server, &mut bystander);
    });
}

#[test]
fn unknown_identity_is_named() {
    for_each_backend(|_| {
        let (mut server, mut bystander) =
            server_with_bystander(psk_server_table(Limits::default()));
        let me = addr("10.0.0.2:40000");
        let mut client = client_table();
        client
            .connect(Instant::ZERO, server_addr(), &psk_client(b"who-am-i", KEY))
            .unwrap();
        let errors = pump(Instant::ZERO, &mut server, &mut [(me, &mut client)]);
        let expected = DtlsError::Handshake(HandshakeFailure::UnknownPskIdentity {
            identity: b"who-am-i".to_vec(),
        });
        assert_eq!(errors, std::slice::from_ref(&expected));
        assert_eq!(failure(&events(&mut server)), &expected);
        assert_eq!(
            failure(&events(&mut client)),
            &DtlsError::Handshake(HandshakeFailure::PeerAlert(Alert::UNKNOWN_PSK_IDENTITY))
        );
        assert_eq!(server.stats().sessions, 1);
        bystander_still_works(&mut server, &mut bystander);
    });
}

#[test]
fn untrusted_client_certificate_is_refused() {
    let pki = Pki::new();
    let server =
        SessionTable::new(Instant::ZERO, Some(pki.server_config()), Limits::default()).unwrap();
    let (mut server, mut bystander) = server_with_bystander(server);
    let me = addr("10.0.0.2:40000");
    let mut client = client_table();
    let trust = ServerTrust::Anchors {
        anchors: vec![pki.ca.clone()],
        host: None,
    };
    client
        .connect(
            Instant::ZERO,
            server_addr(),
            &cert_client(&pki.stranger, trust),
        )
        .unwrap();
    let errors = pump(Instant::ZERO, &mut server, &mut [(me, &mut client)]);
    assert!(
        matches!(&errors[..], [DtlsError::Handshake(HandshakeFailure::UntrustedCertificate { reason })]
        if reason.contains("issuer")),
        "{errors:?}"
    );
    assert!(matches!(
        failure(&events(&mut server)),
        DtlsError::Handshake(HandshakeFailure::UntrustedCertificate { .. })
    ));
    assert!(matches!(
        failure(&events(&mut client)),
        DtlsError::Handshake(HandshakeFailure::PeerAlert(_))
    ));
    bystander_still_works(&mut server, &mut bystander);
}

#[test]
fn untrusted_server_certificate_is_refused_by_the_client() {
    let pki = Pki::new();
    let server =
        SessionTable::new(Instant::ZERO, Some(pki.server_config()), Limits::default()).unwrap();
    let (mut server, mut bystander) = server_with_bystander(server);
    let me = addr("10.0.0.2:40000");
    let mut client = client_table();
    let trust = ServerTrust::Anchors {
        anchors: vec![pki.stranger_ca.clone()],
        host: None,
    };
    client
        .connect(
            Instant::ZERO,
            server_addr(),
            &cert_client(&pki.client, trust),
        )
        .unwrap();
    pump(Instant::ZERO, &mut server, &mut [(me, &mut client)]);
    assert!(matches!(
        failure(&events(&mut client)),
        DtlsError::Handshake(HandshakeFailure::UntrustedCertificate { .. })
    ));
    assert_eq!(
        failure(&events(&mut server)),
        &DtlsError::Handshake(HandshakeFailure::PeerAlert(Alert::UNKNOWN_CA))
    );
    // A wrong host name is an untrusted certificate too.
    let other = addr("10.0.0.3:40000");
    let mut named = client_table();
    let trust = ServerTrust::Anchors {
        anchors: vec![pki.ca.clone()],
        host: Some("lwm2m.example.com".into()),
    };
    named
        .connect(
            Instant::ZERO,
            server_addr(),
            &cert_client(&pki.client, trust),
        )
        .unwrap();
    pump(Instant::ZERO, &mut server, &mut [(other, &mut named)]);
    assert!(matches!(
        failure(&events(&mut named)),
        DtlsError::Handshake(HandshakeFailure::UntrustedCertificate { .. })
    ));
    events(&mut server);
    bystander_still_works(&mut server, &mut bystander);
}

#[test]
fn a_cipher_suite_outside_the_two_is_refused() {
    let (mut server, mut bystander) = server_with_bystander(psk_server_table(Limits::default()));
    let me = addr("10.0.0.2:40000");
    let mut raw = RawClient::psk("PSK-AES128-GCM-SHA256", IDENTITY, KEY);
    let mut errors = Vec::new();
    let mut client_error = raw.step(None);
    for _ in 0..10 {
        let outgoing = raw.take();
        if outgoing.is_empty() {
            break;
        }
        for d in outgoing {
            if let Err(e) = server.handle_datagram(Instant::ZERO, me, &d) {
                errors.push(e);
            }
        }
        while let Some(t) = server.poll_transmit() {
            if t.destination == me {
                client_error = client_error.or(raw.step(Some(&t.contents)));
            }
        }
    }
    assert_eq!(
        errors,
        [DtlsError::Handshake(HandshakeFailure::NoSharedCipher)]
    );
    assert_eq!(
        failure(&events(&mut server)),
        &DtlsError::Handshake(HandshakeFailure::NoSharedCipher)
    );
    let client_error = client_error.expect("the client saw the alert");
    assert!(
        client_error.to_string().contains("handshake failure"),
        "{client_error}"
    );
    assert_eq!(server.stats().sessions, 1);
    bystander_still_works(&mut server, &mut bystander);
}

#[test]
fn handshake_timeout_and_idle_eviction_follow_the_callers_clock() {
    let mut limits = Limits::default();
    limits.handshake_timeout = secs(20);
    limits.idle_timeout = secs(600);
    let mut server = psk_server_table(limits);
    let me = addr("10.0.0.2:40000");
    let mut client = client_table();
    client
        .connect(Instant::ZERO, server_addr(), &psk_client(IDENTITY, KEY))
        .unwrap();
    // Deliver the cookie exchange and the ClientHello with cookie, then lose everything.
    let ch1 = client.poll_transmit().unwrap();
    server
        .handle_datagram(Instant::ZERO, me, &ch1.contents)
        .unwrap();
    let hvr = server.poll_transmit().unwrap();
    client
        .handle_datagram(Instant::ZERO, server_addr(), &hvr.contents)
        .unwrap();
    let ch2 = client.poll_transmit().unwrap();
    server
        .handle_datagram(Instant::ZERO, me, &ch2.contents)
        .unwrap();
    assert_eq!(server.stats().half_open, 1);
    let deadline = server.poll_timeout().unwrap();
    assert!(deadline <= Instant::from_secs(20));
    let mut now = Instant::ZERO;
    while server.stats().half_open > 0 {
        now = server.poll_timeout().unwrap();
        server.handle_timeout(now);
    }
    assert_eq!(now, Instant::from_secs(20));
    assert_eq!(
        failure(&events(&mut server)),
        &DtlsError::Handshake(HandshakeFailure::Timeout { after: secs(20) })
    );
    assert_eq!(server.stats().sessions, 0);
    // The lost flight of that handshake never reaches the next client.
    while server.poll_transmit().is_some() {}

    // A fresh handshake, then silence: evicted after the idle timeout, with close_notify.
    let mut client = client_table();
    let t0 = Instant::from_secs(100);
    client
        .connect(t0, server_addr(), &psk_client(IDENTITY, KEY))
        .unwrap();
    assert!(pump(t0, &mut server, &mut [(me, &mut client)]).is_empty());
    events(&mut server);
    events(&mut client);
    let idle = server.poll_timeout().unwrap();
    assert_eq!(idle, t0 + secs(600));
    server.handle_timeout(idle);
    assert!(matches!(
        &events(&mut server)[..],
        [Event::Closed {
            reason: CloseReason::Idle,
            ..
        }]
    ));
    pump(idle, &mut server, &mut [(me, &mut client)]);
    assert!(matches!(
        &events(&mut client)[..],
        [Event::Closed {
            reason: CloseReason::PeerClosed,
            ..
        }]
    ));
    assert_eq!(server.stats().sessions, 0);
}

#[test]
fn close_notify_ends_the_session_on_both_sides() {
    for_each_backend(|_| {
        let mut server = psk_server_table(Limits::default());
        let me = addr("10.0.0.2:40000");
        let mut client = client_table();
        client
            .connect(Instant::ZERO, server_addr(), &psk_client(IDENTITY, KEY))
            .unwrap();
        pump(Instant::ZERO, &mut server, &mut [(me, &mut client)]);
        events(&mut server);
        events(&mut client);
        client.close(Instant::ZERO, &server_addr());
        assert!(matches!(
            &events(&mut client)[..],
            [Event::Closed {
                reason: CloseReason::Local,
                ..
            }]
        ));
        pump(Instant::ZERO, &mut server, &mut [(me, &mut client)]);
        assert!(matches!(
            &events(&mut server)[..],
            [Event::Closed {
                reason: CloseReason::PeerClosed,
                ..
            }]
        ));
        assert_eq!(server.stats().sessions, 0);
        assert_eq!(
            server.send(Instant::ZERO, &me, b"x"),
            Err(DtlsError::NoSession)
        );
        assert_eq!(
            client.send(Instant::ZERO, &server_addr(), b"x"),
            Err(DtlsError::NoSession)
        );
    });
}
