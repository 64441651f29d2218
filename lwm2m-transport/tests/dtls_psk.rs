//! PSK handshakes between two session tables wired through memory.
#![cfg(feature = "dtls-openssl")]

mod dtls_support;

use dtls_support::*;
use lwm2m_transport::dtls::*;
use lwm2m_transport::Instant;

#[test]
fn psk_handshake_and_data_both_ways() {
    for_each_backend(|_| {
        let mut server = psk_server_table(Limits::default());
        let mut client = client_table();
        let me = addr("10.0.0.2:40000");
        let now = Instant::from_secs(1);
        client
            .connect(now, server_addr(), &psk_client(IDENTITY, KEY))
            .unwrap();
        client
            .send(now, &server_addr(), b"queued before connect")
            .unwrap();
        let errors = pump(now, &mut server, &mut [(me, &mut client)]);
        assert!(errors.is_empty(), "{errors:?}");

        let server_events = events(&mut server);
        match &server_events[0] {
            Event::Connected {
                peer,
                handshake,
                replaced,
            } => {
                assert_eq!(*peer, me);
                assert!(!replaced);
                assert_eq!(handshake.role, Role::Server);
                assert_eq!(handshake.cipher_suite, CipherSuite::PskAes128Ccm8);
                assert_eq!(
                    handshake.identity,
                    PeerIdentity::Psk {
                        identity: IDENTITY.to_vec()
                    }
                );
                assert!(!handshake.resumed);
            }
            other => panic!("expected Connected, got {other:?}"),
        }
        assert!(
            matches!(&server_events[1], Event::Data { data, .. } if &data[..] == b"queued before connect")
        );
        let client_events = events(&mut client);
        assert!(
            matches!(&client_events[0], Event::Connected { handshake, .. }
        if handshake.role == Role::Client && handshake.identity.name() == Some("lwm2m-client-1"))
        );

        server.send(now, &me, b"from the server").unwrap();
        client
            .send(now, &server_addr(), b"from the client")
            .unwrap();
        assert!(pump(now, &mut server, &mut [(me, &mut client)]).is_empty());
        assert!(
            matches!(&events(&mut client)[..], [Event::Data { data, .. }] if &data[..] == b"from the server")
        );
        assert!(
            matches!(&events(&mut server)[..], [Event::Data { data, .. }] if &data[..] == b"from the client")
        );
        let stats = server.stats();
        assert_eq!(
            (stats.sessions, stats.established, stats.half_open),
            (1, 1, 0)
        );
        assert_eq!(stats.hello_verify_requests, 1);
        assert_eq!(
            server.handshake(&me).unwrap().identity.name(),
            Some("lwm2m-client-1")
        );
    });
}

/// A client of one backend against a server of the other, both ways.
#[cfg(feature = "dtls-dimpl")]
#[test]
fn the_two_backends_talk_to_each_other() {
    for (server_backend, client_backend) in [
        (Backend::OpenSsl, Backend::Dimpl),
        (Backend::Dimpl, Backend::OpenSsl),
    ] {
        let config = ServerConfig::builder()
            .psk_store(psk_store())
            .backend(server_backend)
            .build()
            .unwrap();
        let mut server = SessionTable::new(Instant::ZERO, Some(config), Limits::default()).unwrap();
        let client_config =
            ClientConfig::builder(ClientCredentials::Psk(Psk::new(IDENTITY, KEY).unwrap()))
                .backend(client_backend)
                .build()
                .unwrap();
        let mut client = client_table();
        let me = addr("10.0.0.2:40000");
        client
            .connect(Instant::ZERO, server_addr(), &client_config)
            .unwrap();
        client.send(Instant::ZERO, &server_addr(), b"ping").unwrap();
        assert!(pump(Instant::ZERO, &mut server, &mut [(me, &mut client)]).is_empty());
        let got = events(&mut server);
        assert!(
            matches!(&got[..], [Event::Connected { handshake, .. }, Event::Data { data, .. }]
                if handshake.identity.name() == Some("lwm2m-client-1") && &data[..] == b"ping"),
            "{server_backend} server, {client_backend} client: {got:?}"
        );
        server.send(Instant::ZERO, &me, b"pong").unwrap();
        assert!(pump(Instant::ZERO, &mut server, &mut [(me, &mut client)]).is_empty());
        let got = events(&mut client);
        assert!(
            matches!(&got[..], [Event::Connected { .. }, Event::Data { data, .. }] if &data[..] == b"pong"),
            "{got:?}"
        );
    }
}

/// dimpl has PSK only: certificates and raw public keys are refused by name.
#[cfg(feature = "dtls-dimpl")]
#[test]
fn dimpl_refuses_certificates_and_raw_public_keys() {
    let pki = Pki::new();
    let unsupported = |mode| ConfigError::Unsupported {
        backend: Backend::Dimpl,
        mode,
    };
    let server = ServerConfig::builder()
        .certificate(pki.server.clone())
        .client_trust_anchors(vec![pki.ca.clone()])
        .backend(Backend::Dimpl)
        .build();
    assert_eq!(server.unwrap_err(), unsupported("certificates"));
    let client = ClientConfig::builder(ClientCredentials::Certificate {
        own: pki.client.clone(),
        trust: ServerTrust::Pinned(pki.server.leaf().clone()),
    })
    .backend(Backend::Dimpl)
    .build();
    assert_eq!(client.unwrap_err(), unsupported("certificates"));
    let rpk = ClientConfig::builder(ClientCredentials::RawPublicKey {
        key: PrivateKey::from_der(&lwm2m_test_support::pki::KeyPair::generate().sec1_der())
            .unwrap(),
        server_public_key: vec![0x30, 0x00],
    })
    .backend(Backend::Dimpl)
    .build();
    assert_eq!(rpk.unwrap_err(), unsupported("raw public keys"));
    assert_eq!(
        unsupported("certificates").to_string(),
        "the dimpl DTLS backend does not support certificates"
    );
}
