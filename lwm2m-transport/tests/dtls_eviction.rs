//! Idle-session eviction for servers holding very many clients: evicted sessions leave the
//! table, the client's next record draws an epoch-0 alert, and the client re-handshakes at once
//! (resuming with OpenSSL) and resends what the server had not answered.
#![cfg(feature = "dtls-openssl")]

mod dtls_support;

use std::time::Duration;

use dtls_support::*;
use lwm2m_transport::dtls::*;
use lwm2m_transport::Instant;

fn connected(events: &[Event<std::net::SocketAddr>]) -> Vec<&Handshake> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Connected { handshake, .. } => Some(handshake),
            _ => None,
        })
        .collect()
}

fn data(events: &[Event<std::net::SocketAddr>]) -> Vec<Vec<u8>> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Data { data, .. } => Some(data.to_vec()),
            _ => None,
        })
        .collect()
}

#[test]
fn an_idle_session_is_evicted_and_the_client_comes_back_transparently() {
    for_each_backend(|backend| {
        let mut limits = Limits::default();
        limits.evict_idle_after = Some(Duration::from_secs(30));
        let mut server = psk_server_table(limits);
        let mut client = client_table();
        let me = addr("10.0.0.2:40000");
        let t0 = Instant::ZERO;
        client
            .connect(t0, server_addr(), &psk_client(IDENTITY, KEY))
            .unwrap();
        client.send(t0, &server_addr(), b"register").unwrap();
        pump(t0, &mut server, &mut [(me, &mut client)]);
        assert_eq!(data(&events(&mut server)), vec![b"register".to_vec()]);
        server.send(t0, &me, b"created").unwrap();
        pump(t0, &mut server, &mut [(me, &mut client)]);
        assert_eq!(data(&events(&mut client)), vec![b"created".to_vec()]);
        assert_eq!(server.stats().established, 1);

        // Not yet idle long enough: nothing happens.
        let t1 = Instant::from_secs(29);
        server.handle_timeout(t1);
        assert_eq!(server.stats().established, 1);
        // The table's deadline is the eviction.
        assert_eq!(server.poll_timeout(), Some(Instant::from_secs(30)));
        let t2 = Instant::from_secs(30);
        server.handle_timeout(t2);
        let stats = server.stats();
        assert_eq!(
            (stats.sessions, stats.established, stats.evicted),
            (0, 0, 1)
        );
        assert_eq!(
            events(&mut server),
            vec![Event::Closed {
                peer: me,
                reason: CloseReason::Evicted
            }]
        );
        assert!(
            server.poll_transmit().is_none(),
            "no close_notify: the client keeps its session"
        );

        // The client wakes up and sends; the server has no session and says so.
        let t3 = Instant::from_secs(100);
        client.send(t3, &server_addr(), b"update").unwrap();
        client.send(t3, &server_addr(), b"notify").unwrap();
        let errors = pump(t3, &mut server, &mut [(me, &mut client)]);
        assert!(errors.contains(&DtlsError::NoSession), "{errors:?}");
        assert_eq!(client.stats().rehandshakes, 1);
        let got = events(&mut server);
        let handshakes = connected(&got);
        assert_eq!(handshakes.len(), 1, "{got:?}");
        assert_eq!(handshakes[0].identity.name(), Some("lwm2m-client-1"));
        // OpenSSL resumed the evicted session from its cache; dimpl has no resumption.
        assert_eq!(handshakes[0].resumed, backend == Backend::OpenSsl);
        assert_eq!(
            data(&got),
            vec![b"update".to_vec(), b"notify".to_vec()],
            "the unanswered datagrams went through the new session"
        );
        let client_events = events(&mut client);
        assert!(
            client_events
                .iter()
                .any(|e| matches!(e, Event::Connected { replaced: true, .. })),
            "{client_events:?}"
        );
        // Both ways work on the new session.
        server.send(t3, &me, b"ack").unwrap();
        client.send(t3, &server_addr(), b"more").unwrap();
        pump(t3, &mut server, &mut [(me, &mut client)]);
        assert_eq!(data(&events(&mut client)), vec![b"ack".to_vec()]);
        assert_eq!(data(&events(&mut server)), vec![b"more".to_vec()]);
        assert_eq!(client.stats().rehandshakes, 1);
    });
}

#[test]
fn the_live_cap_evicts_the_least_recently_active_session() {
    for_each_backend(|_| {
        let mut limits = Limits::default();
        limits.max_live_sessions = 2;
        let mut server = psk_server_table(limits);
        let peers = [
            addr("10.0.0.2:40000"),
            addr("10.0.0.3:40000"),
            addr("10.0.0.4:40000"),
        ];
        let mut clients: Vec<_> = peers.iter().map(|_| client_table()).collect();
        for (i, peer) in peers.iter().enumerate() {
            let now = Instant::from_secs(i as u64);
            clients[i]
                .connect(now, server_addr(), &psk_client(IDENTITY, KEY))
                .unwrap();
            pump(now, &mut server, &mut [(*peer, &mut clients[i])]);
            if i == 1 {
                // The first client is active again, so the second is now the least recent.
                let later = Instant::from_millis(1_500);
                clients[0].send(later, &server_addr(), b"hi").unwrap();
                pump(later, &mut server, &mut [(peers[0], &mut clients[0])]);
            }
        }
        let stats = server.stats();
        assert_eq!((stats.established, stats.evicted), (2, 1));
        let closed: Vec<_> = events(&mut server)
            .into_iter()
            .filter(|e| matches!(e, Event::Closed { .. }))
            .collect();
        assert_eq!(
            closed,
            vec![Event::Closed {
                peer: peers[1],
                reason: CloseReason::Evicted
            }]
        );
        assert!(server.handshake(&peers[0]).is_some());
        assert!(server.handshake(&peers[1]).is_none());
        assert!(server.handshake(&peers[2]).is_some());
    });
}

#[test]
fn a_client_whose_server_restarted_handshakes_again() {
    for_each_backend(|_| {
        let mut server = psk_server_table(Limits::default());
        let mut client = client_table();
        let me = addr("10.0.0.2:40000");
        let now = Instant::ZERO;
        client
            .connect(now, server_addr(), &psk_client(IDENTITY, KEY))
            .unwrap();
        pump(now, &mut server, &mut [(me, &mut client)]);
        assert_eq!(client.stats().established, 1);
        // The server restarts with an empty table (and, with OpenSSL, an empty session cache).
        let mut server = psk_server_table(Limits::default());
        client.send(now, &server_addr(), b"still there?").unwrap();
        pump(now, &mut server, &mut [(me, &mut client)]);
        let got = events(&mut server);
        assert_eq!(connected(&got).len(), 1, "{got:?}");
        assert!(!connected(&got)[0].resumed);
        assert_eq!(data(&got), vec![b"still there?".to_vec()]);
        assert_eq!(client.stats().rehandshakes, 1);
    });
}

#[test]
fn a_spoofed_alert_does_not_break_a_working_session() {
    for_each_backend(|_| {
        let mut server = psk_server_table(Limits::default());
        let mut client = client_table();
        let me = addr("10.0.0.2:40000");
        let now = Instant::ZERO;
        client
            .connect(now, server_addr(), &psk_client(IDENTITY, KEY))
            .unwrap();
        pump(now, &mut server, &mut [(me, &mut client)]);
        let _ = events(&mut server);
        // Someone forges the server's "no session" alert: the client re-handshakes, the server
        // (which still has the session) accepts the new handshake, and data keeps flowing.
        let alert = [21, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 10];
        client.handle_datagram(now, server_addr(), &alert).unwrap();
        client.send(now, &server_addr(), b"after").unwrap();
        pump(now, &mut server, &mut [(me, &mut client)]);
        let got = events(&mut server);
        assert_eq!(data(&got), vec![b"after".to_vec()]);
        assert_eq!(server.stats().established, 1);
        assert_eq!(client.stats().established, 1);
    });
}

#[test]
fn a_failed_re_handshake_after_a_lost_session_leaves_no_session() {
    for_each_backend(|backend| {
        let mut server = psk_server_table(Limits::default());
        let mut client = client_table();
        let me = addr("10.0.0.2:40000");
        let now = Instant::ZERO;
        client
            .connect(now, server_addr(), &psk_client(IDENTITY, KEY))
            .unwrap();
        pump(now, &mut server, &mut [(me, &mut client)]);
        let _ = events(&mut client);
        // The server restarts and no longer knows this client's identity.
        let stranger = std::collections::HashMap::from([(b"other".to_vec(), KEY.to_vec())]);
        let config = ServerConfig::builder()
            .psk_store(stranger)
            .backend(backend)
            .build()
            .unwrap();
        let mut server = SessionTable::new(now, Some(config), Limits::default()).unwrap();
        client.send(now, &server_addr(), b"update").unwrap();
        pump(now, &mut server, &mut [(me, &mut client)]);
        let got = events(&mut client);
        assert!(
            got.iter().any(|e| matches!(e, Event::Failed { .. })),
            "{got:?}"
        );
        assert_eq!(client.stats().sessions, 0, "the stale session went too");
        assert_eq!(
            client.send(now, &server_addr(), b"x"),
            Err(DtlsError::NoSession)
        );
    });
}
