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
