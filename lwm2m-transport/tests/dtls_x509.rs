//! Certificate handshakes (mutual X.509, P-256, certificates made at test time), PSK and
//! certificate clients on one server, and session resumption.
#![cfg(feature = "dtls-openssl")]

mod dtls_support;

use dtls_support::*;
use lwm2m_transport::dtls::*;
use lwm2m_transport::Instant;

fn connected(events: &[Event<std::net::SocketAddr>]) -> &Handshake {
    match events.first() {
        Some(Event::Connected { handshake, .. }) => handshake,
        other => panic!("expected Connected, got {other:?}"),
    }
}

#[test]
fn mutual_x509_handshake_reports_both_subjects() {
    let pki = Pki::new();
    let mut server =
        SessionTable::new(Instant::ZERO, Some(pki.server_config()), Limits::default()).unwrap();
    let mut client = client_table();
    let me = addr("10.0.0.2:40000");
    let trust = ServerTrust::Anchors {
        anchors: vec![pki.ca.clone()],
        host: Some("127.0.0.1".into()),
    };
    client
        .connect(
            Instant::ZERO,
            server_addr(),
            &cert_client(&pki.client, trust),
        )
        .unwrap();
    client
        .send(Instant::ZERO, &server_addr(), b"POST /rd")
        .unwrap();
    assert!(pump(Instant::ZERO, &mut server, &mut [(me, &mut client)]).is_empty());

    let server_events = events(&mut server);
    let on_server = connected(&server_events);
    assert_eq!(on_server.cipher_suite, CipherSuite::EcdheEcdsaAes128Ccm8);
    match &on_server.identity {
        PeerIdentity::Certificate {
            subject,
            common_name,
            der,
        } => {
            assert_eq!(common_name.as_deref(), Some("urn:dev:client-1"));
            assert_eq!(subject, "CN=urn:dev:client-1, O=lwm2m-rs tests");
            assert_eq!(der, pki.client.leaf().der());
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(&server_events[1], Event::Data { data, .. } if &data[..] == b"POST /rd"));
    let client_events = events(&mut client);
    assert_eq!(
        connected(&client_events).identity.name(),
        Some("lwm2m-server")
    );

    server.send(Instant::ZERO, &me, b"2.01 Created").unwrap();
    assert!(pump(Instant::ZERO, &mut server, &mut [(me, &mut client)]).is_empty());
    assert!(
        matches!(&events(&mut client)[..], [Event::Data { data, .. }] if &data[..] == b"2.01 Created")
    );
}

#[test]
fn pinned_server_certificate_is_accepted_and_another_is_not() {
    let pki = Pki::new();
    let mut server =
        SessionTable::new(Instant::ZERO, Some(pki.server_config()), Limits::default()).unwrap();
    let me = addr("10.0.0.2:40000");
    let mut client = client_table();
    let pinned = ServerTrust::Pinned(pki.server.leaf().clone());
    client
        .connect(
            Instant::ZERO,
            server_addr(),
            &cert_client(&pki.client, pinned),
        )
        .unwrap();
    pump(Instant::ZERO, &mut server, &mut [(me, &mut client)]);
    assert_eq!(
        connected(&events(&mut client)).identity.name(),
        Some("lwm2m-server")
    );

    let other = addr("10.0.0.3:40000");
    let mut wrong = client_table();
    let pinned = ServerTrust::Pinned(pki.client.leaf().clone());
    wrong
        .connect(
            Instant::ZERO,
            server_addr(),
            &cert_client(&pki.client, pinned),
        )
        .unwrap();
    pump(Instant::ZERO, &mut server, &mut [(other, &mut wrong)]);
    assert!(matches!(
        &events(&mut wrong)[..],
        [Event::Failed {
            error: DtlsError::Handshake(HandshakeFailure::UntrustedCertificate { .. }),
            ..
        }]
    ));
}

#[test]
fn psk_and_certificate_clients_share_one_server() {
    let pki = Pki::new();
    let mut server =
        SessionTable::new(Instant::ZERO, Some(pki.server_config()), Limits::default()).unwrap();
    let (a, b) = (addr("10.0.0.2:40000"), addr("10.0.0.3:40000"));
    let mut psk = client_table();
    let mut x509 = client_table();
    psk.connect(
        Instant::ZERO,
        server_addr(),
        &psk_client(b"dev-3", b"key-of-dev-3!!"),
    )
    .unwrap();
    let trust = ServerTrust::Anchors {
        anchors: vec![pki.ca.clone()],
        host: None,
    };
    x509.connect(
        Instant::ZERO,
        server_addr(),
        &cert_client(&pki.client, trust),
    )
    .unwrap();
    assert!(pump(
        Instant::ZERO,
        &mut server,
        &mut [(a, &mut psk), (b, &mut x509)]
    )
    .is_empty());
    assert_eq!(
        server.handshake(&a).unwrap().cipher_suite,
        CipherSuite::PskAes128Ccm8
    );
    assert_eq!(server.handshake(&a).unwrap().identity.name(), Some("dev-3"));
    assert_eq!(
        server.handshake(&b).unwrap().cipher_suite,
        CipherSuite::EcdheEcdsaAes128Ccm8
    );
    assert_eq!(
        server.handshake(&b).unwrap().identity.name(),
        Some("urn:dev:client-1")
    );
    assert_eq!(server.stats().established, 2);
}

#[test]
fn rehandshake_resumes_psk_and_certificate_sessions() {
    let pki = Pki::new();
    let mut server =
        SessionTable::new(Instant::ZERO, Some(pki.server_config()), Limits::default()).unwrap();
    let (a, b) = (addr("10.0.0.2:40000"), addr("10.0.0.3:40000"));
    let mut psk = client_table();
    let mut x509 = client_table();
    psk.connect(Instant::ZERO, server_addr(), &psk_client(IDENTITY, KEY))
        .unwrap();
    let trust = ServerTrust::Anchors {
        anchors: vec![pki.ca.clone()],
        host: None,
    };
    x509.connect(
        Instant::ZERO,
        server_addr(),
        &cert_client(&pki.client, trust),
    )
    .unwrap();
    pump(
        Instant::ZERO,
        &mut server,
        &mut [(a, &mut psk), (b, &mut x509)],
    );
    events(&mut server);
    events(&mut psk);
    events(&mut x509);

    let later = Instant::from_secs(30);
    psk.rehandshake(later, &server_addr()).unwrap();
    x509.rehandshake(later, &server_addr()).unwrap();
    assert!(pump(later, &mut server, &mut [(a, &mut psk), (b, &mut x509)]).is_empty());
    for client in [&mut psk, &mut x509] {
        match &events(client)[..] {
            [Event::Connected {
                handshake,
                replaced: true,
                ..
            }] => assert!(handshake.resumed),
            other => panic!("{other:?}"),
        }
    }
    let server_events = events(&mut server);
    assert_eq!(server_events.len(), 2);
    for e in &server_events {
        assert!(
            matches!(e, Event::Connected { handshake, replaced: true, .. } if handshake.resumed),
            "{e:?}"
        );
    }
    // The resumed sessions carry data, and the identities survive resumption.
    assert_eq!(
        server.handshake(&a).unwrap().identity.name(),
        Some("lwm2m-client-1")
    );
    assert_eq!(
        server.handshake(&b).unwrap().identity.name(),
        Some("urn:dev:client-1")
    );
    psk.send(later, &server_addr(), b"after resumption")
        .unwrap();
    pump(later, &mut server, &mut [(a, &mut psk), (b, &mut x509)]);
    assert!(
        matches!(&events(&mut server)[..], [Event::Data { data, .. }] if &data[..] == b"after resumption")
    );
    assert_eq!(server.stats().sessions, 2);
}

fn pki_key_der() -> Vec<u8> {
    // The RFC 5915 ECPrivateKey form of the LwM2M 1.0 examples.
    lwm2m_test_support::pki::KeyPair::generate().sec1_der()
}

#[test]
fn bad_credentials_are_config_errors() {
    let pki = Pki::new();
    assert_eq!(
        ServerConfig::builder().build().unwrap_err(),
        ConfigError::NoCredentials
    );
    assert_eq!(
        ServerConfig::builder()
            .certificate(pki.server.clone())
            .build()
            .unwrap_err(),
        ConfigError::NoClientTrustAnchors
    );
    let mismatched = CertifiedKey::new(
        vec![pki.server.leaf().clone()],
        PrivateKey::from_der(&pki_key_der()).unwrap(),
    )
    .unwrap();
    assert!(matches!(
        ServerConfig::builder()
            .certificate(mismatched)
            .client_trust_anchors(vec![pki.ca.clone()])
            .build(),
        Err(ConfigError::PrivateKey(_))
    ));
    assert_eq!(
        ServerConfig::builder()
            .psk_store(psk_store())
            .mtu(100)
            .build()
            .unwrap_err(),
        ConfigError::Mtu(100)
    );
    let pem = Certificate::chain_from_pem(&pki.pem["server.pem"]).unwrap();
    assert_eq!(pem[0], *pki.server.leaf());
    assert!(PrivateKey::from_pem(&pki.pem["client.key"]).is_ok());
}
