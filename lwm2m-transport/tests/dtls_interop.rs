//! Interop on loopback with independent DTLS stacks: libcoap's `coap-client-openssl` and
//! `coap-client-gnutls` (PSK and certificates) against a session table on a real UDP socket
//! answering CoAP, and our client against `coap-server-openssl`. Needs Debian's `libcoap3-bin`.
//! libcoap's tools exit 0 even when the handshake or the request failed, so these tests assert
//! on what they print. The PSK cases run once per backend (OpenSSL, and dimpl when compiled in).
#![cfg(feature = "dtls-openssl")]

mod dtls_support;

use std::net::{SocketAddr, UdpSocket};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dtls_support::*;
use lwm2m_codec::coap::{Code, Message, MessageBuilder, Token, Type};
use lwm2m_transport::dtls::*;
use lwm2m_transport::Clock;

const ANSWER: &str = "hello from lwm2m-rs over DTLS";

fn tool(name: &str) -> String {
    let path = format!("/usr/bin/{name}");
    assert!(
        std::path::Path::new(&path).exists(),
        "{path} is missing: apt-get install -y libcoap3-bin"
    );
    path
}

/// Sends every pending transmit of `table` on `socket`.
fn flush(table: &mut SessionTable<SocketAddr>, socket: &UdpSocket) {
    while let Some(t) = table.poll_transmit() {
        let _ = socket.send_to(&t.contents, t.destination);
    }
}

/// A CoAP-over-DTLS server on 127.0.0.1 answering every request with `ANSWER`, in a thread;
/// records the identities that connected.
struct Server {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    identities: Arc<Mutex<Vec<String>>>,
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
        let identities = Arc::new(Mutex::new(Vec::new()));
        let (stop2, ids) = (stop.clone(), identities.clone());
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
                            let name = handshake.identity.name().unwrap_or("?").to_owned();
                            ids.lock()
                                .unwrap()
                                .push(format!("{name} {}", handshake.cipher_suite.iana_name()));
                        }
                        Event::Data { peer, data } => {
                            let Ok(request) = Message::parse(&data) else {
                                continue;
                            };
                            if request.ty() != Type::Confirmable || !request.code().is_request() {
                                continue;
                            }
                            let mut response =
                                MessageBuilder::piggybacked_response(&request, Code::CONTENT);
                            response.content_format(0).payload(ANSWER.as_bytes());
                            let bytes = response.to_vec().unwrap();
                            table.send(clock.now(), &peer, &bytes).unwrap();
                        }
                        _ => {}
                    }
                }
                flush(&mut table, &socket);
            }
        });
        Server {
            addr,
            stop,
            identities,
            thread: Some(thread),
        }
    }

    fn uri(&self) -> String {
        format!("coaps://127.0.0.1:{}/x", self.addr.port())
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

/// Runs a libcoap client and returns what it printed (stdout and stderr).
fn run(program: &str, args: &[&str]) -> String {
    run_for(program, 10, args)
}

/// [`run`] giving up after `secs` seconds (for the cases meant to fail).
fn run_for(program: &str, secs: u32, args: &[&str]) -> String {
    let out = Command::new(tool(program))
        .args(["-m", "get", "-B", &secs.to_string()])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn psk_server_config() -> ServerConfig {
    ServerConfig::builder()
        .psk_store(psk_store())
        .backend(backend())
        .build()
        .unwrap()
}

#[test]
fn libcoap_openssl_and_gnutls_clients_with_psk() {
    for_each_backend(|_| {
        let server = Server::start(psk_server_config());
        for program in ["coap-client-openssl", "coap-client-gnutls"] {
            let printed = run(
                program,
                &[
                    "-u",
                    "lwm2m-client-1",
                    "-k",
                    "0123456789abcdef",
                    &server.uri(),
                ],
            );
            assert!(printed.contains(ANSWER), "{program} printed: {printed}");
        }
        // A wrong key gets no answer.
        let printed = run_for(
            "coap-client-openssl",
            3,
            &[
                "-u",
                "lwm2m-client-1",
                "-k",
                "wrong-key-123456",
                &server.uri(),
            ],
        );
        assert!(!printed.contains(ANSWER), "{printed}");
        let ids = server.identities.lock().unwrap().clone();
        assert_eq!(
            ids,
            [
                "lwm2m-client-1 TLS_PSK_WITH_AES_128_CCM_8",
                "lwm2m-client-1 TLS_PSK_WITH_AES_128_CCM_8"
            ]
        );
    });
}

#[test]
fn libcoap_openssl_and_gnutls_clients_with_certificates() {
    let pki = Pki::new();
    let dir = pki.write("interop");
    let server = Server::start(pki.server_config());
    let file = |name: &str| dir.join(name).to_str().unwrap().to_owned();
    for program in ["coap-client-openssl", "coap-client-gnutls"] {
        let printed = run(
            program,
            &[
                "-c",
                &file("client.pem"),
                "-j",
                &file("client.key"),
                "-R",
                &file("ca.pem"),
                &server.uri(),
            ],
        );
        assert!(printed.contains(ANSWER), "{program} printed: {printed}");
    }
    // A client certificate from another CA is refused.
    let printed = run_for(
        "coap-client-openssl",
        3,
        &[
            "-c",
            &file("stranger.pem"),
            "-j",
            &file("stranger.key"),
            "-R",
            &file("ca.pem"),
            &server.uri(),
        ],
    );
    assert!(!printed.contains(ANSWER), "{printed}");
    let ids = server.identities.lock().unwrap().clone();
    assert_eq!(
        ids,
        [
            "urn:dev:client-1 TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8",
            "urn:dev:client-1 TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8"
        ]
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// Two consecutive free UDP ports on loopback (libcoap's server takes P and P + 1).
fn free_port_pair() -> u16 {
    for _ in 0..50 {
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = a.local_addr().unwrap().port();
        if port < u16::MAX && UdpSocket::bind(("127.0.0.1", port + 1)).is_ok() {
            return port;
        }
    }
    panic!("no free port pair");
}

/// GETs `path` from `server` over DTLS with our client; returns the response payload.
fn get(
    server: SocketAddr,
    config: &ClientConfig,
    path: &str,
    wait: Duration,
) -> Result<String, String> {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(20)))
        .unwrap();
    let clock = Clock::new();
    let mut table = SessionTable::new(clock.now(), None, Limits::default()).unwrap();
    table
        .connect(clock.now(), server, config)
        .map_err(|e| e.to_string())?;
    let mut request = MessageBuilder::new(Type::Confirmable, Code::GET, 0x1234);
    request.token(Token::new(&[7, 7]).unwrap()).uri_path(path);
    table
        .send(clock.now(), &server, &request.to_vec().unwrap())
        .map_err(|e| e.to_string())?;
    let mut buf = vec![0u8; 20_000];
    let deadline = std::time::Instant::now() + wait;
    while std::time::Instant::now() < deadline {
        flush(&mut table, &socket);
        if let Ok((n, from)) = socket.recv_from(&mut buf) {
            let _ = table.handle_datagram(clock.now(), from, &buf[..n]);
        }
        if table.poll_timeout().is_some_and(|t| t <= clock.now()) {
            table.handle_timeout(clock.now());
        }
        while let Some(event) = table.poll_event() {
            match event {
                Event::Data { data, .. } => {
                    let response = Message::parse(&data).map_err(|e| e.to_string())?;
                    if response.code() != Code::CONTENT || response.token() != [7, 7] {
                        return Err(format!("unexpected response {:?}", response.code()));
                    }
                    table.close(clock.now(), &server);
                    flush(&mut table, &socket);
                    return Ok(String::from_utf8_lossy(response.payload()).into_owned());
                }
                Event::Failed { error, .. } => return Err(error.to_string()),
                _ => {}
            }
        }
    }
    Err("timed out".into())
}

#[test]
fn our_client_against_libcoap_server_with_psk() {
    for_each_backend(|_| {
        let port = free_port_pair();
        let mut child = Command::new(tool("coap-server-openssl"))
            .args([
                "-A",
                "127.0.0.1",
                "-p",
                &port.to_string(),
                "-k",
                "secretPSK",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(300));
        let server = SocketAddr::from(([127, 0, 0, 1], port + 1));
        let config = psk_client(b"any-identity", b"secretPSK");
        let wait = Duration::from_secs(15);
        let root = get(server, &config, "/", wait);
        let time = get(server, &config, "/time", wait);
        // libcoap's server drops a Finished that does not decrypt without an alert: no answer.
        let wrong = get(
            server,
            &psk_client(b"any-identity", b"not-the-key"),
            "/",
            Duration::from_secs(3),
        );
        child.kill().unwrap();
        child.wait().unwrap();
        let root = root.unwrap();
        assert!(
            root.contains("This is a test server made with libcoap"),
            "{root}"
        );
        let time = time.unwrap();
        assert!(
            !time.is_empty() && time.chars().any(|c| c.is_ascii_digit()),
            "{time:?}"
        );
        assert_eq!(wrong, Err("timed out".to_owned()));
    });
}
