//! The `lwm2m-server` binary with its own DTLS credentials from files: a certificate, its key
//! and a client CA (X.509, security mode 2), or a raw key (RPK, security mode 1, feature
//! `dtls-rpk`). Our `lwm2m_client` (tokio runtime, OpenSSL backend) registers over DTLS once
//! the endpoint's credential is put through the HTTP API, is listed by `GET /api/clients` and
//! answers a Read of /3/0; a client certificate from another CA never registers. Flags that
//! cannot work (a certificate without its key or without a client CA, a missing or garbled
//! file, a key of another certificate, a raw key in a build without `dtls-rpk`) stop the binary
//! with a non-zero exit and a message naming the flag and the file, before anything binds. With
//! `dtls-rpk`, one key serves certificate and raw-public-key clients at once (a raw key other
//! than the certificate's is refused). The PKI and keys are generated at run time.
#![cfg(all(feature = "dtls", feature = "redb"))]

mod binary_support;
mod e2e_support;
mod support;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use binary_support::{free_tcp, free_udp, wait_for, Binary};
use e2e_support::{example_device, spawn, Running};
use lwm2m_client::runtime::RuntimeError;
use lwm2m_client::{ClientBuilder, DeviceObject, ServerAccount};
use lwm2m_test_support::pki::{Ca, Issued, KeyPair};
use serde_json::json;
use support::http::call;
use tokio::time::timeout;

const EP: &str = "urn:dev:bin-x509";

/// (certificate DER, PKCS#8 key DER), as a client's Security instance holds them.
fn security_der(issued: &Issued) -> (Vec<u8>, Vec<u8>) {
    (issued.der(), issued.key().pkcs8_der())
}

fn write(dir: &Path, name: &str, contents: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

fn arg(path: &Path) -> String {
    path.display().to_string()
}

/// The server's files in `dir`: its chain, its key (PKCS#8 PEM) and the client CA bundle.
struct ServerFiles {
    /// The server key's `SubjectPublicKeyInfo` (DER).
    #[cfg_attr(
        not(feature = "dtls-rpk"),
        allow(dead_code, reason = "raw-public-key clients trust it")
    )]
    spki: Vec<u8>,
    certificate: PathBuf,
    private_key: PathBuf,
    client_ca: PathBuf,
}

impl ServerFiles {
    fn new(dir: &Path, pki: &Ca) -> ServerFiles {
        let server = pki.issue("lwm2m-server");
        // The chain file holds the leaf and the CA, as an operator's fullchain.pem would.
        let mut chain = server.pem();
        chain.extend(pki.pem());
        ServerFiles {
            spki: server.key().spki_der(),
            certificate: write(dir, "server-chain.pem", &chain),
            private_key: write(dir, "server-key.pem", &server.key().pkcs8_pem()),
            client_ca: write(dir, "client-ca.pem", &pki.pem()),
        }
    }

    fn flags(&self) -> Vec<String> {
        vec![
            "--dtls-certificate".into(),
            arg(&self.certificate),
            "--dtls-private-key".into(),
            arg(&self.private_key),
            "--dtls-client-ca".into(),
            arg(&self.client_ca),
        ]
    }
}

/// The binary on free loopback ports with a data directory in `dir` and `extra` flags; its
/// stdout lines (the log) arrive on the receiver.
struct Started {
    binary: Binary,
    dtls: SocketAddr,
    api: SocketAddr,
    log: mpsc::Receiver<String>,
}

fn start(dir: &Path, extra: &[String]) -> Started {
    let (coap, dtls, api) = (free_udp(), free_udp(), free_tcp());
    let mut args = vec![
        "--coap-addr".to_owned(),
        coap.to_string(),
        "--dtls-addr".into(),
        dtls.to_string(),
        "--http-addr".into(),
        api.to_string(),
        "--data-dir".into(),
        arg(&dir.join("data")),
    ];
    args.extend_from_slice(extra);
    let mut child = Command::new(env!("CARGO_BIN_EXE_lwm2m-server"))
        .args(&args)
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, log) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    Started {
        binary: Binary(child),
        dtls,
        api,
        log,
    }
}

impl Started {
    /// The first log line containing `needle` (within 20 s).
    fn log_line(&self, needle: &str) -> String {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.log.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return line,
                Ok(_) => {}
                Err(e) => panic!("no log line with {needle:?}: {e}"),
            }
        }
    }
}

/// A client `endpoint` on `server` (coaps) with a DTLS account built by `account`.
fn client(
    endpoint: &str,
    server: SocketAddr,
    account: impl FnOnce(ServerAccount<SocketAddr>) -> ServerAccount<SocketAddr>,
) -> lwm2m_client::Client<SocketAddr> {
    ClientBuilder::new(endpoint)
        .server(account(
            ServerAccount::new(1, server)
                .uri(format!("coaps://{server}"))
                .lifetime(300),
        ))
        .object(DeviceObject::new(example_device()))
        .seed([5; 32])
        .build()
        .unwrap()
}

/// Asserts `endpoint` is listed and a Read of its /3/0 over the HTTP API returns the device.
async fn listed_and_read(api: SocketAddr, endpoint: &str) {
    let clients = wait_for(api, "/api/clients", endpoint).await;
    let listed = clients.as_array().unwrap();
    assert!(
        listed.iter().any(|c| c["endpoint"] == endpoint),
        "{clients}"
    );
    let (status, body) = call(api, "GET", &format!("/api/clients/{endpoint}/3/0"), "").await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("Open Mobile Alliance"), "{body}");
    assert!(body.contains("345000123"), "{body}");
}

/// Waits for a client task to stop; its result.
async fn stopped(device: &mut Running) -> Result<(), RuntimeError> {
    let task = device.task.take().unwrap();
    timeout(Duration::from_secs(30), task)
        .await
        .expect("the client task must stop")
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_client_registers_with_the_binary_and_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Ca::new("binary test CA");
    let files = ServerFiles::new(dir.path(), &pki);
    let started = start(dir.path(), &files.flags());
    let modes = started.log_line("DTLS modes");
    assert!(modes.contains("PSK, X.509"), "{modes}");
    let api = started.api;
    wait_for(api, "/api/clients", "[").await;
    let (status, body) = call(
        api,
        "PUT",
        &format!("/api/credentials/{EP}"),
        &json!({"mode": "x509"}).to_string(),
    )
    .await;
    assert_eq!(status, 204, "{body}");

    let ca = pki.der();
    let (cert, private) = security_der(&pki.issue(EP));
    let device = spawn(client(EP, started.dtls, |account| {
        account.certificate(cert, private, ca)
    }))
    .await;
    listed_and_read(api, EP).await;
    drop(device);
    started.binary.terminate();
}

/// The server's files from `--config`; a client certificate with the right CN from a CA the
/// server does not trust: the handshake fails, nothing is registered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_certificate_from_another_ca_never_registers() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Ca::new("binary test CA");
    let files = ServerFiles::new(dir.path(), &pki);
    // The same files from the TOML configuration this time.
    let config = format!(
        "dtls_certificate = {:?}\ndtls_private_key = {:?}\ndtls_client_ca = [{:?}]\n",
        arg(&files.certificate),
        arg(&files.private_key),
        arg(&files.client_ca)
    );
    let config = write(dir.path(), "server.toml", config.as_bytes());
    let started = start(dir.path(), &["--config".into(), arg(&config)]);
    let modes = started.log_line("DTLS modes");
    assert!(modes.contains("PSK, X.509"), "{modes}");
    let api = started.api;
    wait_for(api, "/api/clients", "[").await;
    let x509 = json!({"mode": "x509"}).to_string();
    let (status, _) = call(api, "PUT", &format!("/api/credentials/{EP}"), &x509).await;
    assert_eq!(status, 204);

    // Same CN, but signed by a CA the server was not told to trust.
    let rogue = Ca::new("rogue CA");
    let (cert, private) = security_der(&rogue.issue(EP));
    let ca = pki.der();
    let mut device = spawn(client(EP, started.dtls, |account| {
        account.certificate(cert, private, ca)
    }))
    .await;
    match stopped(&mut device).await {
        Err(RuntimeError::Dtls { peer, source }) => assert_eq!(peer, started.dtls, "{source}"),
        other => panic!("expected a DTLS error, got {other:?}"),
    }
    let (status, body) = call(api, "GET", "/api/clients", "").await;
    assert_eq!((status, body.as_str()), (200, "[]"));
    assert_eq!(
        call(api, "GET", &format!("/api/clients/{EP}"), "").await.0,
        404
    );
    drop(device);
    started.binary.terminate();
}

/// Only the raw key: DTLS starts on an empty store, logs the server's SPKI, and a client holding
/// the key stored for its endpoint registers; a key stored for no endpoint never completes a
/// handshake.
#[cfg(feature = "dtls-rpk")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_raw_public_key_client_registers_with_the_binary_and_is_read() {
    const RPK_EP: &str = "urn:dev:bin-rpk";
    let dir = tempfile::tempdir().unwrap();
    let own = KeyPair::generate();
    let own_spki = own.spki_der();
    // An EC PRIVATE KEY (SEC1) PEM file, the form `openssl ecparam -genkey` writes.
    let key_file = write(dir.path(), "server-rpk.pem", &own.sec1_pem());
    let started = start(
        dir.path(),
        &["--dtls-raw-public-key".into(), arg(&key_file)],
    );
    let line = started.log_line("raw public key of this server");
    assert!(line.contains(&hex::encode(&own_spki)), "{line}");
    let modes = started.log_line("DTLS modes");
    assert!(modes.contains("PSK, RPK"), "{modes}");
    let api = started.api;
    wait_for(api, "/api/clients", "[").await;

    let device_key = KeyPair::generate();
    let device_spki = device_key.spki_der();
    let rpk = json!({"mode": "rpk", "public_key": hex::encode(&device_spki)});
    let (status, body) = call(
        api,
        "PUT",
        &format!("/api/credentials/{RPK_EP}"),
        &rpk.to_string(),
    )
    .await;
    assert_eq!(status, 204, "{body}");

    // A key no credential holds: the handshake itself is refused, nothing registered.
    let stranger = KeyPair::generate();
    let mut refused = spawn(client(RPK_EP, started.dtls, |account| {
        account.raw_public_key(
            stranger.spki_der(),
            stranger.pkcs8_der(),
            own_spki.as_slice(),
        )
    }))
    .await;
    let task = refused.task.take().unwrap();
    let outcome = tokio::time::timeout(Duration::from_secs(30), task)
        .await
        .expect("the refused client task must stop")
        .unwrap();
    assert!(
        matches!(outcome, Err(RuntimeError::Dtls { .. })),
        "expected a refused DTLS handshake, got {outcome:?}"
    );
    drop(refused);
    assert_eq!(call(api, "GET", "/api/clients", "").await.1, "[]");

    let device = spawn(client(RPK_EP, started.dtls, |account| {
        account.raw_public_key(device_spki, device_key.pkcs8_der(), own_spki.as_slice())
    }))
    .await;
    listed_and_read(api, RPK_EP).await;
    drop(device);
    started.binary.terminate();
}

/// Certificates and raw keys at once: the raw key must be the certificate's key (OpenSSL holds
/// one key per context), and then an X.509 client and an RPK client both register.
#[cfg(feature = "dtls-rpk")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_key_serves_certificate_and_raw_public_key_clients() {
    const RPK_EP: &str = "urn:dev:bin-rpk-too";
    let dir = tempfile::tempdir().unwrap();
    let pki = Ca::new("binary test CA");
    let files = ServerFiles::new(dir.path(), &pki);
    let mut flags = files.flags();
    flags.extend(["--dtls-raw-public-key".into(), arg(&files.private_key)]);
    let started = start(dir.path(), &flags);
    let line = started.log_line("raw public key of this server");
    assert!(line.contains(&hex::encode(&files.spki)), "{line}");
    let modes = started.log_line("DTLS modes");
    assert!(modes.contains("PSK, X.509, RPK"), "{modes}");
    let api = started.api;
    wait_for(api, "/api/clients", "[").await;

    let device_key = KeyPair::generate();
    let device_spki = device_key.spki_der();
    for (endpoint, credential) in [
        (EP, json!({"mode": "x509"})),
        (
            RPK_EP,
            json!({"mode": "rpk", "public_key": hex::encode(&device_spki)}),
        ),
    ] {
        let target = format!("/api/credentials/{endpoint}");
        let (status, body) = call(api, "PUT", &target, &credential.to_string()).await;
        assert_eq!(status, 204, "{body}");
    }
    let ca = pki.der();
    let (cert, private) = security_der(&pki.issue(EP));
    let x509 = spawn(client(EP, started.dtls, |account| {
        account.certificate(cert, private, ca)
    }))
    .await;
    listed_and_read(api, EP).await;
    let server_spki = files.spki.clone();
    let rpk = spawn(client(RPK_EP, started.dtls, |account| {
        account.raw_public_key(device_spki, device_key.pkcs8_der(), server_spki)
    }))
    .await;
    listed_and_read(api, RPK_EP).await;
    drop((x509, rpk));
    started.binary.terminate();
}

/// Runs the binary with `extra` flags (and a data directory in `dir`) until it exits; asserts
/// it failed without creating its store, and returns what it printed on stderr.
fn refused(dir: &Path, extra: &[String]) -> String {
    let data = dir.join("data");
    let output = Command::new(env!("CARGO_BIN_EXE_lwm2m-server"))
        .args([
            "--coap-addr",
            "127.0.0.1:0",
            "--http-addr",
            "127.0.0.1:0",
            "--data-dir",
        ])
        .arg(&data)
        .args(extra)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        !output.status.success(),
        "exit {:?}: {stderr}",
        output.status
    );
    assert!(
        !data.exists(),
        "the store was opened before the flags were checked"
    );
    stderr
}

#[test]
fn a_certificate_without_its_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let files = ServerFiles::new(dir.path(), &Ca::new("CA"));
    let stderr = refused(
        dir.path(),
        &["--dtls-certificate".into(), arg(&files.certificate)],
    );
    assert!(stderr.contains("needs --dtls-private-key"), "{stderr}");
    assert!(stderr.contains(&arg(&files.certificate)), "{stderr}");
}

#[test]
fn a_certificate_without_a_client_ca_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let files = ServerFiles::new(dir.path(), &Ca::new("CA"));
    let stderr = refused(
        dir.path(),
        &[
            "--dtls-certificate".into(),
            arg(&files.certificate),
            "--dtls-private-key".into(),
            arg(&files.private_key),
        ],
    );
    assert!(
        stderr.contains("needs at least one --dtls-client-ca"),
        "{stderr}"
    );
}

#[test]
fn an_unreadable_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let files = ServerFiles::new(dir.path(), &Ca::new("CA"));
    let missing = dir.path().join("no-such-ca.pem");
    let mut flags = files.flags();
    flags[5] = arg(&missing);
    let stderr = refused(dir.path(), &flags);
    assert!(stderr.contains("--dtls-client-ca"), "{stderr}");
    assert!(stderr.contains(&arg(&missing)), "{stderr}");
    assert!(stderr.contains("cannot read"), "{stderr}");
}

#[test]
fn a_garbled_certificate_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let files = ServerFiles::new(dir.path(), &Ca::new("CA"));
    let garbled = write(
        dir.path(),
        "garbled.pem",
        b"-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n",
    );
    let mut flags = files.flags();
    flags[1] = arg(&garbled);
    let stderr = refused(dir.path(), &flags);
    assert!(stderr.contains("--dtls-certificate"), "{stderr}");
    assert!(stderr.contains(&arg(&garbled)), "{stderr}");
    assert!(stderr.contains("not a usable certificate"), "{stderr}");
}

#[test]
fn a_key_of_another_certificate_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let files = ServerFiles::new(dir.path(), &Ca::new("CA"));
    let other = write(
        dir.path(),
        "other-key.pem",
        &KeyPair::generate().pkcs8_pem(),
    );
    let mut flags = files.flags();
    flags[3] = arg(&other);
    let stderr = refused(dir.path(), &flags);
    assert!(
        stderr.contains("does not fit --dtls-certificate"),
        "{stderr}"
    );
    assert!(stderr.contains(&arg(&other)), "{stderr}");
    assert!(stderr.contains(&arg(&files.certificate)), "{stderr}");
}

#[cfg(feature = "dtls-rpk")]
#[test]
fn a_raw_key_other_than_the_certificate_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let files = ServerFiles::new(dir.path(), &Ca::new("CA"));
    let other = write(
        dir.path(),
        "other-key.pem",
        &KeyPair::generate().pkcs8_pem(),
    );
    let mut flags = files.flags();
    flags.extend(["--dtls-raw-public-key".into(), arg(&other)]);
    let stderr = refused(dir.path(), &flags);
    assert!(
        stderr.contains("is not the key of --dtls-certificate"),
        "{stderr}"
    );
    assert!(stderr.contains(&arg(&other)), "{stderr}");
}

#[cfg(not(feature = "dtls-rpk"))]
#[test]
fn a_raw_key_needs_the_dtls_rpk_feature() {
    let dir = tempfile::tempdir().unwrap();
    let key_file = write(dir.path(), "rpk.pem", &KeyPair::generate().pkcs8_pem());
    let stderr = refused(
        dir.path(),
        &["--dtls-raw-public-key".into(), arg(&key_file)],
    );
    assert!(stderr.contains("--features dtls-rpk"), "{stderr}");
    assert!(stderr.contains(&arg(&key_file)), "{stderr}");
}
