//! The `lwm2m-client` binary's key and trust flags. With `--private-key` and
//! `--server-public-key` (DTLS raw public keys, security mode 1; feature `dtls-rpk`) it
//! registers with a DTLS registrar that holds its own key and trusts only the device's. With `--firmware-ca` (feature `https`) it pulls an `https://` image from a
//! server whose certificate that CA issued. Built without either feature, the flag fails with
//! a message naming the feature. All keys and certificates are made fresh for each run.
#![cfg(feature = "cli")]

#[cfg(any(feature = "dtls-rpk", feature = "https"))]
mod https_support;
#[cfg(feature = "https")]
mod udp;

use tokio::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_lwm2m-client");

#[cfg(any(feature = "dtls-rpk", feature = "https"))]
use scratch::{spawn, Scratch};

/// A scratch directory and the binary's run in it, for the tests that start it for long.
#[cfg(any(feature = "dtls-rpk", feature = "https"))]
mod scratch {
    use std::path::{Path, PathBuf};
    use std::process::Stdio;

    use tokio::process::{Child, Command};

    use super::BIN;

    /// A scratch directory for one test, removed on drop.
    pub struct Scratch(PathBuf);

    impl Scratch {
        pub fn new(test: &str) -> Scratch {
            let dir =
                std::env::temp_dir().join(format!("lwm2m-bin-keys-{test}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            Scratch(dir)
        }

        pub fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
            let path = self.0.join(name);
            std::fs::write(&path, bytes).unwrap();
            path
        }

        pub fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// The binary with `args`, logs to `log` (killed when dropped).
    pub fn spawn(args: &[&std::ffi::OsStr], log: &Path) -> Child {
        Command::new(BIN)
            .args(args)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(std::fs::File::create(log).unwrap()))
            .kill_on_drop(true)
            .spawn()
            .unwrap()
    }
}

#[tokio::test]
async fn help_documents_the_key_and_trust_flags() {
    let output = Command::new(BIN).arg("--help").output().await.unwrap();
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    for text in [
        "--private-key <PRIVATE_KEY>",
        "--server-public-key <SERVER_PUBLIC_KEY>",
        "--firmware-ca <FILE>",
        "--features dtls-rpk",
        "--features https",
    ] {
        assert!(help.contains(text), "--help lacks {text}:\n{help}");
    }
}

#[cfg(feature = "dtls-rpk")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_registers_over_raw_public_keys() {
    use std::time::Duration;

    use lwm2m_codec::coap::Code;
    use lwm2m_transport::dtls::{PeerIdentity, PrivateKey, ServerConfig};
    use lwm2m_transport::udp::{DtlsEvent, UdpEndpoint};
    use lwm2m_transport::Response;
    use tokio::time::timeout;

    const EP: &str = "urn:dev:bin-rpk";
    const LIMIT: Duration = Duration::from_secs(20);
    let scratch = Scratch::new("rpk");
    let (server_key, device_key) = (https_support::p256(), https_support::p256());
    let device_spki = device_key.public_key_to_der().unwrap();
    // A registrar on lwm2m-transport's DTLS server that trusts only the device's key (the
    // end-to-end test with lwm2m-server is lwm2m-server/tests/e2e_raw_public_keys.rs).
    let trusted = device_spki.clone();
    let config = ServerConfig::builder()
        .raw_public_keys(
            PrivateKey::from_der(&server_key.private_key_to_pkcs8().unwrap()).unwrap(),
            move |spki: &[u8]| spki == trusted.as_slice(),
        )
        .build()
        .unwrap();
    let (builder, mut dtls_events) = UdpEndpoint::builder().dtls_server(config);
    let server = builder.bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let mut incoming = server.incoming();

    // The device key as SEC1 PEM, the server's as a PEM `PUBLIC KEY`.
    let key_file = scratch.write(
        "device.pem",
        &device_key.ec_key().unwrap().private_key_to_pem().unwrap(),
    );
    let server_key_file = scratch.write("server.pub", &server_key.public_key_to_pem().unwrap());
    let uri = format!("coaps://{}", server.local_addr());
    let log = scratch.path().join("client.log");
    let mut child = spawn(
        &[
            "--server".as_ref(),
            uri.as_ref(),
            "--endpoint".as_ref(),
            EP.as_ref(),
            "--private-key".as_ref(),
            key_file.as_os_str(),
            "--server-public-key".as_ref(),
            server_key_file.as_os_str(),
            "--firmware-dir".as_ref(),
            scratch.path().as_os_str(),
            "--duration".as_ref(),
            "30".as_ref(),
        ],
        &log,
    );
    let register = timeout(LIMIT, incoming.next()).await;
    let logs = || std::fs::read_to_string(&log).unwrap_or_default();
    let register = register
        .unwrap_or_else(|_| panic!("no Register within {LIMIT:?}; client log:\n{}", logs()))
        .unwrap();
    let message = register.request.message().unwrap();
    assert!(message.uri_path().unwrap().eq(["rd"]));
    assert!(message
        .uri_query()
        .unwrap()
        .any(|q| q == format!("ep={EP}")));
    let links = String::from_utf8(register.request.body().to_vec()).unwrap();
    assert!(links.contains("</3/0>"), "{links}");
    register
        .responder
        .respond(
            Response::build(Code::CREATED, |b| {
                b.location_path("rd").location_path("7");
            })
            .unwrap(),
        )
        .unwrap();
    match timeout(LIMIT, dtls_events.next()).await.unwrap() {
        Some(DtlsEvent::Connected { handshake, .. }) => match handshake.identity {
            PeerIdentity::RawPublicKey { spki } => assert_eq!(spki, device_spki),
            other => panic!("expected the device's raw key, got {other:?}"),
        },
        other => panic!("expected the handshake, got {other:?}"),
    }
    for _ in 0..100 {
        if logs().contains("registered 1/1") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    child.start_kill().unwrap();
    let _ = child.wait().await;
    assert!(logs().contains("registered 1/1"), "{}", logs());
    server.close().await;
}

#[cfg(not(feature = "dtls-rpk"))]
#[tokio::test]
async fn without_dtls_rpk_the_raw_public_key_flag_names_the_feature() {
    let output = Command::new(BIN)
        .args([
            "--server",
            "coaps://127.0.0.1:5684",
            "--private-key",
            "device.pem",
            "--server-public-key",
            "server.pub",
        ])
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("--features dtls-rpk"), "{stderr}");
}

#[cfg(feature = "https")]
#[tokio::test]
async fn the_binary_pulls_https_firmware_from_a_server_of_its_firmware_ca() {
    use std::time::Duration;

    use lwm2m_codec::coap::Code;
    use lwm2m_transport::Request;

    let scratch = Scratch::new("https");
    let ca = https_support::Ca::new("fleet operator CA");
    let (cert, key) = ca.issue(&["localhost"], &["127.0.0.1"]);
    let image: Vec<u8> = (0..60_000u32).map(|i| (i % 241) as u8).collect();
    let https = https_support::https_server(cert, key, image.clone(), 1);
    let ca_file = scratch.write("ca.pem", &ca.pem());

    let mut server = udp::ScriptedServer::start().await;
    let uri = format!("coap://{}", server.addr());
    let log = scratch.path().join("client.log");
    let mut child = spawn(
        &[
            "--server".as_ref(),
            uri.as_ref(),
            "--endpoint".as_ref(),
            "fw-https".as_ref(),
            "--firmware-ca".as_ref(),
            ca_file.as_os_str(),
            "--firmware-dir".as_ref(),
            scratch.path().as_os_str(),
            "--duration".as_ref(),
            "30".as_ref(),
        ],
        &log,
    );
    let register = server.next_request(20).await;
    assert!(register.is_register(), "{register:?}");
    let client = register.peer;
    let request = |r: Request| {
        let endpoint = server.endpoint.handle();
        async move { endpoint.request(client, r).await.unwrap() }
    };
    let write = Request::build(Code::PUT, |b| {
        b.uri_path("/5/0/1").content_format(0);
    })
    .unwrap()
    .with_payload(format!("https://{https}/fw/image.bin").into_bytes());
    assert_eq!(request(write).await.code(), Code::CHANGED);
    let mut state = String::new();
    for _ in 0..300 {
        let read = Request::build(Code::GET, |b| {
            b.uri_path("/5/0/3").accept(0);
        })
        .unwrap();
        state = String::from_utf8(request(read).await.body().to_vec()).unwrap();
        if state == "2" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    child.start_kill().unwrap();
    let _ = child.wait().await;
    let logs = std::fs::read_to_string(&log).unwrap();
    assert_eq!(state, "2", "State is Downloaded; client log:\n{logs}");
    let file = scratch.path().join("fw-https.bin");
    assert!(
        std::fs::read(&file).unwrap() == image,
        "{} holds the image",
        file.display()
    );
}

#[cfg(not(feature = "https"))]
#[tokio::test]
async fn without_https_the_firmware_ca_flag_names_the_feature() {
    let output = Command::new(BIN)
        .args(["--firmware-ca", "ca.pem"])
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("--features https"), "{stderr}");
}
