//! Raw public keys (RFC 7250, LwM2M security mode 1): our client and server together (a CoAP
//! exchange over the session, the peer keys both sides report), unknown keys refused on both
//! sides while another session keeps working, `coap-client-gnutls -M` against our server, and
//! the typed error when the crate is built without the `dtls-rpk` feature (system OpenSSL 3.0).
//! All keys are P-256, made fresh for each run.
#![cfg(feature = "dtls-openssl")]

mod dtls_support;

use std::collections::HashSet;

use dtls_support::*;
use lwm2m_test_support::pki::KeyPair;
use lwm2m_transport::dtls::*;

/// A raw-public-key party: its key in our form and its public key (`SubjectPublicKeyInfo` DER).
struct Party {
    key: PrivateKey,
    spki: Vec<u8>,
}

impl Party {
    fn new() -> Party {
        let pair = KeyPair::generate();
        let key = PrivateKey::from_der(&pair.sec1_der()).unwrap();
        let spki = pair.spki_der();
        assert_eq!(key.public_key_der().unwrap(), spki);
        Party { key, spki }
    }

    /// The RFC 5915 `EC PRIVATE KEY` PEM libcoap's `-M` reads.
    #[cfg(feature = "dtls-rpk")]
    fn sec1_pem(&self) -> Vec<u8> {
        let pkey = openssl::pkey::PKey::private_key_from_der(self.key.pkcs8_der()).unwrap();
        pkey.ec_key().unwrap().private_key_to_pem().unwrap()
    }
}

fn rpk_client(own: &Party, server_key: &[u8]) -> Result<ClientConfig, ConfigError> {
    ClientConfig::builder(ClientCredentials::RawPublicKey {
        key: own.key.clone(),
        server_public_key: server_key.to_vec(),
    })
    .build()
}

/// A server accepting PSK (`psk_store()`) and the raw public keys in `trusted`.
fn rpk_server(own: &Party, trusted: &[&Party]) -> Result<ServerConfig, ConfigError> {
    let trusted: HashSet<Vec<u8>> = trusted.iter().map(|p| p.spki.clone()).collect();
    ServerConfig::builder()
        .psk_store(psk_store())
        .raw_public_keys(own.key.clone(), trusted)
        .build()
}

#[cfg(not(feature = "dtls-rpk"))]
#[test]
fn without_the_dtls_rpk_feature_raw_public_keys_are_a_typed_error() {
    let (server, client) = (Party::new(), Party::new());
    let expected = ConfigError::RawPublicKeyUnsupported {
        linked: library_version(),
        compiled: false,
    };
    assert_eq!(rpk_client(&client, &server.spki).unwrap_err(), expected);
    assert_eq!(rpk_server(&server, &[&client]).unwrap_err(), expected);
    assert!(expected.to_string().contains("`dtls-rpk` feature"));
}

#[cfg(feature = "dtls-rpk")]
mod with_rpk {
    use super::*;
    use std::net::SocketAddr;

    use lwm2m_codec::coap::{Code, Message, MessageBuilder, Token, Type};
    use lwm2m_transport::Instant;

    const ANSWER: &[u8] = b"hello from lwm2m-rs over DTLS with raw public keys";

    fn connected(events: &[Event<SocketAddr>]) -> &Handshake {
        match events.first() {
            Some(Event::Connected { handshake, .. }) => handshake,
            other => panic!("expected Connected, got {other:?}"),
        }
    }

    fn failure(events: &[Event<SocketAddr>]) -> &DtlsError {
        match events {
            [Event::Failed { error, .. }] => error,
            other => panic!("expected one Failed, got {other:?}"),
        }
    }

    fn get_request(message_id: u16) -> Vec<u8> {
        let mut b = MessageBuilder::new(Type::Confirmable, Code::GET, message_id);
        b.token(Token::new(&[0xa1, 0xb2]).unwrap())
            .uri_path("3/0/0");
        b.to_vec().unwrap()
    }

    /// Answers the CoAP request in `data` with `ANSWER` on `server`.
    fn answer(server: &mut SessionTable<SocketAddr>, peer: SocketAddr, data: &[u8]) {
        let request = Message::parse(data).unwrap();
        assert_eq!(request.code(), Code::GET);
        let mut response = MessageBuilder::piggybacked_response(&request, Code::CONTENT);
        response.content_format(0).payload(ANSWER);
        server
            .send(Instant::ZERO, &peer, &response.to_vec().unwrap())
            .unwrap();
    }

    fn assert_answered(client: &mut SessionTable<SocketAddr>, message_id: u16) {
        let events = events(client);
        let [Event::Data { data, .. }] = &events[..] else {
            panic!("expected the response, got {events:?}");
        };
        let response = Message::parse(data).unwrap();
        assert_eq!(response.code(), Code::CONTENT);
        assert_eq!(response.message_id(), message_id);
        assert_eq!(response.token(), [0xa1, 0xb2]);
        assert_eq!(response.payload(), ANSWER);
    }

    #[test]
    fn our_client_and_server_exchange_coap_and_report_each_others_key() {
        let (server_party, client_party) = (Party::new(), Party::new());
        let mut server = SessionTable::new(
            Instant::ZERO,
            Some(rpk_server(&server_party, &[&client_party]).unwrap()),
            Limits::default(),
        )
        .unwrap();
        let me = addr("10.0.0.2:40000");
        let mut client = client_table();
        client
            .connect(
                Instant::ZERO,
                server_addr(),
                &rpk_client(&client_party, &server_party.spki).unwrap(),
            )
            .unwrap();
        client
            .send(Instant::ZERO, &server_addr(), &get_request(0x1234))
            .unwrap();
        assert!(pump(Instant::ZERO, &mut server, &mut [(me, &mut client)]).is_empty());

        let server_events = events(&mut server);
        let on_server = connected(&server_events);
        assert_eq!(on_server.role, Role::Server);
        assert_eq!(on_server.cipher_suite, CipherSuite::EcdheEcdsaAes128Ccm8);
        assert_eq!(
            on_server.identity,
            PeerIdentity::RawPublicKey {
                spki: client_party.spki.clone()
            }
        );
        assert_eq!(on_server.identity.name(), None);
        let [_, Event::Data { peer, data }] = &server_events[..] else {
            panic!("expected the request, got {server_events:?}");
        };
        assert_eq!(*peer, me);
        answer(&mut server, me, data);
        assert!(pump(Instant::ZERO, &mut server, &mut [(me, &mut client)]).is_empty());

        let client_events = events(&mut client);
        let on_client = connected(&client_events);
        assert_eq!(on_client.role, Role::Client);
        assert_eq!(
            on_client.identity,
            PeerIdentity::RawPublicKey {
                spki: server_party.spki.clone()
            }
        );
        let [_, Event::Data { data, .. }] = &client_events[..] else {
            panic!("expected the response, got {client_events:?}");
        };
        let response = Message::parse(data).unwrap();
        assert_eq!(response.message_id(), 0x1234);
        assert_eq!(response.payload(), ANSWER);
    }

    #[test]
    fn an_unknown_client_key_is_refused_and_other_sessions_keep_working() {
        let (server_party, known, stranger) = (Party::new(), Party::new(), Party::new());
        let mut server = SessionTable::new(
            Instant::ZERO,
            Some(rpk_server(&server_party, &[&known]).unwrap()),
            Limits::default(),
        )
        .unwrap();
        let (a, b, c) = (
            addr("10.0.0.2:40000"),
            addr("10.0.0.3:40000"),
            addr("10.0.0.4:40000"),
        );
        let mut good = client_table();
        good.connect(
            Instant::ZERO,
            server_addr(),
            &rpk_client(&known, &server_party.spki).unwrap(),
        )
        .unwrap();
        let mut psk = client_table();
        psk.connect(Instant::ZERO, server_addr(), &psk_client(IDENTITY, KEY))
            .unwrap();
        pump(
            Instant::ZERO,
            &mut server,
            &mut [(a, &mut good), (c, &mut psk)],
        );
        let established = events(&mut server);
        assert_eq!(established.len(), 2, "{established:?}");
        assert!(connected(&events(&mut psk)).identity.name() == Some("lwm2m-client-1"));
        events(&mut good);

        let mut bad = client_table();
        bad.connect(
            Instant::ZERO,
            server_addr(),
            &rpk_client(&stranger, &server_party.spki).unwrap(),
        )
        .unwrap();
        pump(Instant::ZERO, &mut server, &mut [(b, &mut bad)]);
        assert_eq!(
            failure(&events(&mut server)),
            &DtlsError::Handshake(HandshakeFailure::UnknownRawPublicKey {
                spki: stranger.spki.clone()
            })
        );
        assert!(
            matches!(
                failure(&events(&mut bad)),
                DtlsError::Handshake(HandshakeFailure::PeerAlert(_))
            ),
            "the client learns of the refusal"
        );

        // The established sessions are untouched.
        good.send(Instant::ZERO, &server_addr(), &get_request(7))
            .unwrap();
        psk.send(Instant::ZERO, &server_addr(), &get_request(8))
            .unwrap();
        pump(
            Instant::ZERO,
            &mut server,
            &mut [(a, &mut good), (c, &mut psk)],
        );
        for event in events(&mut server) {
            let Event::Data { peer, data } = event else {
                panic!("unexpected {event:?}");
            };
            answer(&mut server, peer, &data);
        }
        pump(
            Instant::ZERO,
            &mut server,
            &mut [(a, &mut good), (c, &mut psk)],
        );
        assert_answered(&mut good, 7);
        assert_answered(&mut psk, 8);
        assert_eq!(server.stats().sessions, 2);
    }

    #[test]
    fn a_client_refuses_a_server_key_other_than_the_expected_one() {
        let (server_party, client_party, expected) = (Party::new(), Party::new(), Party::new());
        let mut server = SessionTable::new(
            Instant::ZERO,
            Some(rpk_server(&server_party, &[&client_party]).unwrap()),
            Limits::default(),
        )
        .unwrap();
        let me = addr("10.0.0.2:40000");
        let mut client = client_table();
        client
            .connect(
                Instant::ZERO,
                server_addr(),
                &rpk_client(&client_party, &expected.spki).unwrap(),
            )
            .unwrap();
        pump(Instant::ZERO, &mut server, &mut [(me, &mut client)]);
        assert_eq!(
            failure(&events(&mut client)),
            &DtlsError::Handshake(HandshakeFailure::UnknownRawPublicKey {
                spki: server_party.spki.clone()
            })
        );
        assert!(matches!(
            failure(&events(&mut server)),
            DtlsError::Handshake(HandshakeFailure::PeerAlert(_))
        ));
        assert_eq!(server.stats().sessions, 0);
    }

    #[test]
    fn a_rehandshake_resumes_and_keeps_the_raw_key_identity() {
        let (server_party, client_party) = (Party::new(), Party::new());
        let mut server = SessionTable::new(
            Instant::ZERO,
            Some(rpk_server(&server_party, &[&client_party]).unwrap()),
            Limits::default(),
        )
        .unwrap();
        let me = addr("10.0.0.2:40000");
        let mut client = client_table();
        client
            .connect(
                Instant::ZERO,
                server_addr(),
                &rpk_client(&client_party, &server_party.spki).unwrap(),
            )
            .unwrap();
        pump(Instant::ZERO, &mut server, &mut [(me, &mut client)]);
        assert!(!connected(&events(&mut server)).resumed);
        events(&mut client);

        let later = Instant::from_secs(30);
        client.rehandshake(later, &server_addr()).unwrap();
        assert!(pump(later, &mut server, &mut [(me, &mut client)]).is_empty());
        let on_client = events(&mut client);
        assert!(connected(&on_client).resumed, "{on_client:?}");
        assert_eq!(
            connected(&on_client).identity,
            PeerIdentity::RawPublicKey {
                spki: server_party.spki.clone()
            }
        );
        let on_server = events(&mut server);
        assert!(connected(&on_server).resumed);
        assert_eq!(
            server.handshake(&me).unwrap().identity,
            PeerIdentity::RawPublicKey {
                spki: client_party.spki.clone()
            }
        );
        client.send(later, &server_addr(), &get_request(9)).unwrap();
        pump(later, &mut server, &mut [(me, &mut client)]);
        let [Event::Data { data, .. }] = &events(&mut server)[..] else {
            panic!("expected the request after resumption");
        };
        assert_eq!(Message::parse(data).unwrap().message_id(), 9);
    }

    #[test]
    fn certificate_and_raw_key_clients_share_one_server_key() {
        let pki = Pki::new();
        let server_key = PrivateKey::from_pem(&pki.pem["server.key"]).unwrap();
        let server_spki = server_key.public_key_der().unwrap();
        let device = Party::new();
        let config = ServerConfig::builder()
            .certificate(pki.server.clone())
            .client_trust_anchors(vec![pki.ca.clone()])
            .raw_public_keys(server_key, HashSet::from([device.spki.clone()]))
            .build()
            .unwrap();
        let mut server = SessionTable::new(Instant::ZERO, Some(config), Limits::default()).unwrap();
        let (a, b) = (addr("10.0.0.2:40000"), addr("10.0.0.3:40000"));
        let mut rpk = client_table();
        rpk.connect(
            Instant::ZERO,
            server_addr(),
            &rpk_client(&device, &server_spki).unwrap(),
        )
        .unwrap();
        let mut x509 = client_table();
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
            &mut [(a, &mut rpk), (b, &mut x509)]
        )
        .is_empty());
        assert_eq!(
            server.handshake(&a).unwrap().identity,
            PeerIdentity::RawPublicKey {
                spki: device.spki.clone()
            }
        );
        assert_eq!(
            server.handshake(&b).unwrap().identity.name(),
            Some("urn:dev:client-1")
        );
        assert_eq!(
            connected(&events(&mut x509)).identity.name(),
            Some("lwm2m-server")
        );
        assert_eq!(
            connected(&events(&mut rpk)).identity,
            PeerIdentity::RawPublicKey { spki: server_spki }
        );
    }

    #[test]
    fn bad_raw_public_key_settings_are_config_errors() {
        let (server_party, client_party) = (Party::new(), Party::new());
        assert!(matches!(
            rpk_client(&client_party, b"not a key"),
            Err(ConfigError::PublicKey(_))
        ));
        // A certificate and a raw public key must share the context's one key.
        let pki = Pki::new();
        let mismatched = ServerConfig::builder()
            .certificate(pki.server.clone())
            .client_trust_anchors(vec![pki.ca.clone()])
            .raw_public_keys(server_party.key.clone(), HashSet::new())
            .build();
        assert!(
            matches!(mismatched, Err(ConfigError::PrivateKey(ref m)) if m.contains("differs")),
            "{mismatched:?}"
        );
        #[cfg(feature = "dtls-dimpl")]
        {
            let refused = ServerConfig::builder()
                .raw_public_keys(server_party.key.clone(), |_: &[u8]| true)
                .backend(Backend::Dimpl)
                .build();
            assert!(matches!(
                refused,
                Err(ConfigError::Unsupported {
                    backend: Backend::Dimpl,
                    ..
                })
            ));
        }
        assert!(library_version().starts_with('3'));
    }

    /// The `coap-client-gnutls -M` cases: an independent RFC 7250 implementation (`GnuTLS`) against
    /// our server on a real loopback socket.
    mod gnutls {
        use super::*;
        use std::net::UdpSocket;
        use std::process::{Command, Stdio};
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::{Arc, Mutex};
        use std::time::Duration;

        use lwm2m_transport::Clock;

        const PROGRAM: &str = "/usr/bin/coap-client-gnutls";

        #[derive(Debug, Clone, PartialEq)]
        enum Seen {
            Connected(PeerIdentity),
            Failed(DtlsError),
        }

        struct Server {
            addr: SocketAddr,
            stop: Arc<AtomicBool>,
            seen: Arc<Mutex<Vec<Seen>>>,
            thread: Option<std::thread::JoinHandle<()>>,
        }

        impl Server {
            fn start(config: ServerConfig) -> Server {
                let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
                socket
                    .set_read_timeout(Some(Duration::from_millis(20)))
                    .unwrap();
                let addr = socket.local_addr().unwrap();
                let stop = Arc::new(AtomicBool::new(false));
                let seen = Arc::new(Mutex::new(Vec::new()));
                let (stop2, seen2) = (stop.clone(), seen.clone());
                let thread = std::thread::spawn(move || {
                    let clock = Clock::new();
                    let mut table =
                        SessionTable::new(clock.now(), Some(config), Limits::default()).unwrap();
                    let mut buf = vec![0u8; 20_000];
                    // Bounded: 60 s at most, whatever happens.
                    let deadline = std::time::Instant::now() + Duration::from_secs(60);
                    while !stop2.load(Ordering::Relaxed) && std::time::Instant::now() < deadline {
                        if let Ok((n, peer)) = socket.recv_from(&mut buf) {
                            let _ = table.handle_datagram(clock.now(), peer, &buf[..n]);
                        }
                        if table.poll_timeout().is_some_and(|t| t <= clock.now()) {
                            table.handle_timeout(clock.now());
                        }
                        while let Some(event) = table.poll_event() {
                            match event {
                                Event::Connected { handshake, .. } => {
                                    seen2
                                        .lock()
                                        .unwrap()
                                        .push(Seen::Connected(handshake.identity));
                                }
                                Event::Failed { error, .. } => {
                                    seen2.lock().unwrap().push(Seen::Failed(error));
                                }
                                Event::Data { peer, data } => {
                                    let Ok(request) = Message::parse(&data) else {
                                        continue;
                                    };
                                    if request.ty() != Type::Confirmable {
                                        continue;
                                    }
                                    let mut response = MessageBuilder::piggybacked_response(
                                        &request,
                                        Code::CONTENT,
                                    );
                                    response.content_format(0).payload(ANSWER);
                                    let bytes = response.to_vec().unwrap();
                                    let _ = table.send(clock.now(), &peer, &bytes);
                                }
                                Event::Closed { .. } => {}
                            }
                        }
                        while let Some(t) = table.poll_transmit() {
                            let _ = socket.send_to(&t.contents, t.destination);
                        }
                    }
                });
                Server {
                    addr,
                    stop,
                    seen,
                    thread: Some(thread),
                }
            }
        }

        impl Drop for Server {
            fn drop(&mut self) {
                self.stop.store(true, Ordering::Relaxed);
                if let Some(t) = self.thread.take() {
                    let _ = t.join();
                }
            }
        }

        /// Runs `coap-client-gnutls -M key_file` (waiting at most `secs`); returns what it printed.
        fn gnutls_get(server: &Server, key_file: &std::path::Path, secs: u32) -> String {
            assert!(
                std::path::Path::new(PROGRAM).exists(),
                "{PROGRAM} is missing: cargo xtask install (apt-get install -y libcoap3-bin)"
            );
            let uri = format!("coaps://127.0.0.1:{}/3/0/0", server.addr.port());
            let out = Command::new(PROGRAM)
                .args(["-m", "get", "-B", &secs.to_string(), "-M"])
                .arg(key_file)
                .arg(uri)
                .stdin(Stdio::null())
                .output()
                .unwrap();
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        }

        #[test]
        fn coap_client_gnutls_with_a_raw_public_key_against_our_server() {
            let (server_party, device, stranger) = (Party::new(), Party::new(), Party::new());
            let dir = std::env::temp_dir().join(format!("lwm2m-dtls-rpk-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            let (device_file, stranger_file) = (dir.join("device.pem"), dir.join("stranger.pem"));
            std::fs::write(&device_file, device.sec1_pem()).unwrap();
            std::fs::write(&stranger_file, stranger.sec1_pem()).unwrap();
            let server = Server::start(rpk_server(&server_party, &[&device]).unwrap());

            let printed = gnutls_get(&server, &device_file, 10);
            assert!(
                printed.contains(std::str::from_utf8(ANSWER).unwrap()),
                "coap-client-gnutls printed: {printed}"
            );
            assert_eq!(
                server.seen.lock().unwrap().first(),
                Some(&Seen::Connected(PeerIdentity::RawPublicKey {
                    spki: device.spki.clone()
                }))
            );

            let printed = gnutls_get(&server, &stranger_file, 3);
            assert!(
                !printed.contains(std::str::from_utf8(ANSWER).unwrap()),
                "{printed}"
            );
            let seen = server.seen.lock().unwrap().clone();
            assert!(
                seen.contains(&Seen::Failed(DtlsError::Handshake(
                    HandshakeFailure::UnknownRawPublicKey {
                        spki: stranger.spki.clone()
                    }
                ))),
                "{seen:?}"
            );
            // The stranger never connected: one session in all.
            assert_eq!(
                seen.iter()
                    .filter(|s| matches!(s, Seen::Connected(_)))
                    .count(),
                1
            );
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
