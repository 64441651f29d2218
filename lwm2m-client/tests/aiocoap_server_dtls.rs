//! Our client against the independent aiocoap LwM2M server of `tests/peers/lwm2m_server.py`
//! over DTLS with a pre-shared key: the peer listens on `coaps://` with aiocoap's
//! `tinydtls_server` transport (`DTLSSocket` 0.2.3, tinydtls 0.8.6, `TLS_PSK_WITH_AES_128_CCM_8`).
//!
//! With the OpenSSL backend (feature `dtls-openssl`, the runtime's default then) the client
//! registers over `coaps://` and the peer reads, writes and observes it, every exchange inside
//! the DTLS session; a wrong key stops the task with `RuntimeError::Dtls` before any Register
//! reaches the peer.
//!
//! The dimpl backend (`Backend::Dimpl`) is still refused: tinydtls 0.8.6 answers every DTLS 1.2
//! `ClientHello` without the RFC 5746 `renegotiation_info` extension (or the
//! `TLS_EMPTY_RENEGOTIATION_INFO_SCSV` suite) with a fatal `handshake_failure` alert, and dimpl
//! 0.9's hello carries neither. `tests/peers/dtls_hello_probe.py` sends the same PSK hello with
//! and without the extension to show that this, and nothing else, is what the peer refuses.
//! When dimpl's hello gains the extension, that test's assertion on the client's error fails.
#![cfg(feature = "dtls")]

mod aiocoap_steps;
mod peers;

use std::net::SocketAddr;
use std::time::Duration;

use aiocoap_steps::dtls::{account, limits, with_dtls, IDENTITY, KEY};

use lwm2m_client::runtime::{ClientTask, RuntimeError};
use lwm2m_client::ClientBuilder;
use lwm2m_transport::dtls::{Alert, Backend, DtlsError, HandshakeFailure};
use peers::session::{device, port, LIMIT};
use peers::Peer;
use serde_json::{json, Value};
use tokio::net::UdpSocket;

/// TLS alert `handshake_failure`.
const HANDSHAKE_FAILURE: u8 = 40;

/// The peer's configuration: a `coaps://` server knowing `IDENTITY` -> `KEY`.
fn dtls_config(steps: &Value, timeout: u64) -> Value {
    with_dtls(json!({"steps": steps, "timeout": timeout}))
}

/// Our client with one `coaps://` account at `server` whose PSK is `key`.
fn dtls_client(server: SocketAddr, key: &[u8]) -> lwm2m_client::Client<SocketAddr> {
    ClientBuilder::new(IDENTITY)
        .server(
            account(101, server)
                .lifetime(300)
                .psk(IDENTITY.as_bytes(), key),
        )
        .object(device())
        .build()
        .unwrap()
}

/// The probe's report of what the DTLS server at `server` answers to a PSK `ClientHello`
/// with or without `renegotiation_info`.
async fn probe(server: SocketAddr, renegotiation_info: bool) -> Value {
    let flag = if renegotiation_info { "1" } else { "0" };
    let mut probe = peers::spawn("dtls_hello_probe.py", &[&server.port().to_string(), flag]);
    let line = probe.expect("probe", LIMIT).await;
    probe.finish(LIMIT).await;
    line
}

/// Runs the client task for `client` with `backend` until it stops (within [`LIMIT`]).
async fn run_until_stopped(
    client: lwm2m_client::Client<SocketAddr>,
    backend: Backend,
) -> Result<(), RuntimeError> {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let (task, _handle) = ClientTask::new(client, socket);
    tokio::time::timeout(
        LIMIT,
        task.dtls_backend(backend).dtls_limits(limits()).run(),
    )
    .await
    .expect("the task must stop within the limit")
}

/// The peer's last report when no Register reached it: it timed out waiting.
async fn expect_no_register(peer: &mut Peer) {
    let last = peer.next(LIMIT).await;
    assert_eq!(
        last,
        json!({"event": "error", "message": "session timed out"}),
        "{}",
        peer.context()
    );
    assert!(
        peer.seen.iter().all(|line| line["event"] != "register"),
        "{}",
        peer.context()
    );
}

#[cfg(feature = "dtls-openssl")]
mod openssl {
    use lwm2m_client::runtime::default_dtls_backend;
    use lwm2m_client::ClientEvent;
    use lwm2m_model::Path;
    use peers::code_and_text;
    use peers::session::{
        expect_step, next_event, set_battery, start_task, step, text_payload, wait_event, with,
        MANUFACTURER, TEXT,
    };

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn aiocoap_server_reads_writes_and_observes_our_client_over_tinydtls() {
        assert_eq!(default_dtls_backend(), Backend::OpenSsl);
        let steps = json!([
            with(step("read-manufacturer", "GET", "/3/0/0"), "accept", TEXT),
            text_payload(step("write-utc-offset", "PUT", "/3/0/14"), "+05:00"),
            with(step("read-utc-offset", "GET", "/3/0/14"), "accept", TEXT),
            with(
                with(step("observe-battery", "GET", "/3/0/9"), "accept", TEXT),
                "observe",
                json!({"count": 1, "timeout": 15}),
            ),
        ]);
        // The default backend: nothing set but the limits.
        let (mut peer, handle, mut events, task) = start_task(
            &dtls_config(&steps, 60),
            |server| dtls_client(server, KEY),
            |task| task.dtls_limits(limits()),
        )
        .await;

        // The Register came through the DTLS session and the peer found nothing wrong in it.
        let register = peer.expect("register", LIMIT).await;
        let context = peer.context();
        assert_eq!(register["code"], "2.01", "{context}");
        assert_eq!(register["problems"], json!([]), "{context}");
        assert_eq!(
            register["query"],
            json!([format!("ep={IDENTITY}"), "lt=300", "lwm2m=1.0", "b=U"]),
            "{context}"
        );
        assert_eq!(
            next_event(&mut events).await,
            ClientEvent::Registered {
                ssid: 101,
                location: format!("/{}", register["location"].as_str().unwrap()),
            }
        );

        expect_step(
            &mut peer,
            "read-manufacturer",
            "2.05",
            Some(TEXT),
            MANUFACTURER.as_bytes(),
        )
        .await;
        expect_step(&mut peer, "write-utc-offset", "2.04", None, b"").await;
        expect_step(&mut peer, "read-utc-offset", "2.05", Some(TEXT), b"+05:00").await;

        let first = peer.step("observe-battery").await;
        assert_eq!(
            (code_and_text(&first), first["observed"].as_bool()),
            (("2.05".into(), "77".into()), Some(true)),
            "{}",
            peer.context()
        );
        assert_eq!(
            wait_event(&mut events, |e| matches!(
                e,
                ClientEvent::ObservationStarted { .. }
            ))
            .await,
            ClientEvent::ObservationStarted {
                ssid: 101,
                path: Path::resource(3, 0, 9).unwrap()
            }
        );
        set_battery(&handle, 42).await;
        let notify = peer.expect("notify", LIMIT).await;
        assert_eq!(
            (code_and_text(&notify), notify["cf"].as_u64()),
            (("2.05".into(), "42".into()), Some(u64::from(TEXT))),
            "{}",
            peer.context()
        );
        peer.expect("steps_done", LIMIT).await;

        // The De-register goes over the same session.
        handle.shutdown(Duration::from_secs(5)).await.unwrap();
        let deregister = peer.expect("deregister", LIMIT).await;
        assert_eq!(deregister["location"], register["location"]);
        peer.expect("done", LIMIT).await;
        tokio::time::timeout(LIMIT, task)
            .await
            .expect("the task stops after the De-register")
            .unwrap()
            .unwrap();
        peer.finish(LIMIT).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_wrong_key_is_refused_by_tinydtls_with_a_typed_error_and_no_register() {
        let mut peer = peers::spawn(
            "lwm2m_server.py",
            &[&dtls_config(&json!([]), 8).to_string()],
        );
        let listening = peer.expect("listening", LIMIT).await;
        let server = port(&listening, "port");

        let outcome = run_until_stopped(
            dtls_client(server, b"fedcba9876543210"),
            default_dtls_backend(),
        )
        .await;
        match outcome {
            Err(RuntimeError::Dtls { peer: to, source }) => {
                assert_eq!(to, server);
                // tinydtls drops a Finished it cannot verify without an alert, so the client
                // gives up after its handshake timeout.
                assert!(
                    matches!(
                        source,
                        DtlsError::Handshake(HandshakeFailure::Timeout { after })
                            if after >= limits().handshake_timeout
                    ),
                    "a handshake timeout, got {source:?}"
                );
            }
            other => panic!("expected a DTLS error, got {other:?}; {}", peer.context()),
        }
        expect_no_register(&mut peer).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aiocoap_tinydtls_refuses_the_dimpl_hello_which_lacks_renegotiation_info() {
    // Long enough for the probes and our client; then the peer gives up waiting for a
    // Register and says so.
    let mut peer = peers::spawn(
        "lwm2m_server.py",
        &[&dtls_config(&json!([]), 8).to_string()],
    );
    let listening = peer.expect("listening", LIMIT).await;
    let server = port(&listening, "port");

    // The peer's DTLS server works: a PSK CCM_8 hello with renegotiation_info gets its
    // ServerHello (handshake type 2); the same hello without it gets a fatal (2)
    // handshake_failure.
    let with = probe(server, true).await;
    assert_eq!(
        (
            with["record_type"].as_u64(),
            with["handshake_type"].as_u64()
        ),
        (Some(22), Some(2)),
        "{with}; {}",
        peer.context()
    );
    let without = probe(server, false).await;
    assert_eq!(
        without["alert"],
        json!([2, HANDSHAKE_FAILURE]),
        "{without}; {}",
        peer.context()
    );

    // Our client on dimpl, with the key the peer knows, is refused the same way before any
    // PSK is used: the task stops with the typed DTLS error naming the peer's alert.
    let outcome = run_until_stopped(dtls_client(server, KEY), Backend::Dimpl).await;
    match outcome {
        Err(RuntimeError::Dtls { peer: to, source }) => {
            assert_eq!(to, server);
            assert_eq!(
                source,
                DtlsError::Handshake(HandshakeFailure::PeerAlert(Alert(HANDSHAKE_FAILURE)))
            );
        }
        other => panic!("expected a DTLS error, got {other:?}; {}", peer.context()),
    }
    expect_no_register(&mut peer).await;
}
