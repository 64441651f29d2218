//! The `lwm2m-client` binary against a scripted server on loopback UDP: it registers, answers
//! a Read, de-registers when `--duration` ends; fleet mode; the DTLS flags; `--help`.
#![cfg(feature = "cli")]

mod udp;

use std::process::Stdio;
use std::time::Duration;

use lwm2m_codec::coap::Code;
use lwm2m_transport::udp::Notification;
use lwm2m_transport::Request;
use tokio::process::Command;
use udp::ScriptedServer;

const BIN: &str = env!("CARGO_BIN_EXE_lwm2m-client");

fn command(args: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    command
        .args(args)
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

#[tokio::test]
async fn help_lists_every_flag() {
    let output = command(&["--help"]).output().await.unwrap();
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    for flag in [
        "--endpoint ",
        "--server",
        "--short-server-id",
        "--lifetime",
        "--binding",
        "--psk-identity",
        "--psk-key",
        "--count",
        "--endpoint-prefix",
        "--duration",
        "--update-interval",
        "--ramp",
        "--help",
        "--version",
    ] {
        assert!(help.contains(flag), "--help does not list {flag}:\n{help}");
    }
    assert!(help.contains("coap://127.0.0.1:5683"), "{help}");
}

#[tokio::test]
async fn registers_answers_and_deregisters_after_the_duration() {
    let mut server = ScriptedServer::start().await;
    let uri = format!("coap://{}", server.addr());
    let child = command(&[
        "--server",
        &uri,
        "--endpoint",
        "bin-dev",
        "--lifetime",
        "60",
        "--binding",
        "UQ",
        "--duration",
        "5",
        "--update-interval",
        "1",
    ])
    .spawn()
    .unwrap();

    let register = server.next_request(20).await;
    assert!(register.is_register(), "{register:?}");
    assert_eq!(register.endpoint(), Some("bin-dev"));
    for q in ["lt=60", "b=UQ", "lwm2m=1.0"] {
        assert!(register.query.iter().any(|x| x == q), "{register:?}");
    }
    let links = String::from_utf8(register.payload.clone()).unwrap();
    for object in ["</1/0>", "</3/0>", "</4/0>", "</5/0>", "</6/0>", "</7/0>"] {
        assert!(links.contains(object), "{links}");
    }
    assert!(
        !links.contains("</0/"),
        "the Security object is never announced: {links}"
    );

    let read = Request::build(Code::GET, |b| {
        b.uri_path("/3/0/0").accept(0);
    })
    .unwrap();
    let response = server
        .endpoint
        .handle()
        .request(register.peer, read)
        .await
        .unwrap();
    assert_eq!(response.code(), Code::CONTENT);
    assert_eq!(response.body().as_ref(), b"lwm2m-rs");

    // The simulated values change every second: an observation of the latitude fires.
    let observe = Request::build(Code::GET, |b| {
        b.uri_path("/6/0/0").accept(0);
    })
    .unwrap();
    let mut observation = server
        .endpoint
        .handle()
        .observe(register.peer, observe)
        .await
        .unwrap();
    assert!(observation.is_established());
    let first: f64 = std::str::from_utf8(observation.response().body())
        .unwrap()
        .parse()
        .unwrap();
    assert!((52.0..53.0).contains(&first), "{first}");
    let notification = tokio::time::timeout(Duration::from_secs(10), observation.next())
        .await
        .expect("a notification within 10 s");
    let Some(Notification::Value(value)) = notification else {
        panic!("{notification:?}");
    };
    let next: f64 = std::str::from_utf8(value.body()).unwrap().parse().unwrap();
    assert!(
        (next - first).abs() > 0.0,
        "the latitude drifts: {first} -> {next}"
    );
    drop(observation);

    let deregister = server.next_request(20).await;
    assert!(deregister.is_deregister(), "{deregister:?}");
    assert_eq!(deregister.path, ["rd", "c1"]);
    let output = tokio::time::timeout(Duration::from_secs(20), child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{log}");
    assert!(log.contains("registered 1/1"), "{log}");
    assert!(log.contains("deregistered 1/1"), "{log}");
}

#[tokio::test]
async fn fleet_mode_registers_every_device() {
    let mut server = ScriptedServer::start().await;
    let uri = format!("coap://{}", server.addr());
    let child = command(&[
        "--server",
        &uri,
        "--count",
        "5",
        "--endpoint-prefix",
        "fleet-",
        "--duration",
        "2",
    ])
    .spawn()
    .unwrap();
    let mut names = Vec::new();
    let mut peers = std::collections::BTreeSet::new();
    while names.len() < 5 {
        let request = server.next_request(20).await;
        assert!(request.is_register(), "{request:?}");
        names.push(request.endpoint().unwrap().to_string());
        peers.insert(request.peer);
    }
    names.sort();
    assert_eq!(
        names,
        ["fleet-1", "fleet-2", "fleet-3", "fleet-4", "fleet-5"]
    );
    assert_eq!(peers.len(), 5, "each device has its own socket");
    let mut deregistered = 0;
    while deregistered < 5 {
        let request = server.next_request(20).await;
        if request.is_deregister() {
            deregistered += 1;
        }
    }
    let output = tokio::time::timeout(Duration::from_secs(20), child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{log}");
    assert!(log.contains("registered 5/5"), "{log}");
    assert!(log.contains("KiB per device"), "{log}");
    assert!(log.contains("deregistered 5/5"), "{log}");
}

#[tokio::test]
async fn dtls_flags_are_validated() {
    // PSK flags need a coaps:// server, and a coaps:// server needs them.
    let output = command(&["--psk-identity", "dev", "--psk-key", "00112233"])
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(log.contains("need a coaps:// server"), "{log}");

    let output = command(&["--server", "coaps://127.0.0.1:5684"])
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("needs --psk-identity"));

    let output = command(&["--psk-identity", "dev", "--psk-key", "0g"])
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("not hexadecimal"));

    let output = command(&["--psk-identity", "dev"]).output().await.unwrap();
    assert_eq!(
        output.status.code(),
        Some(2),
        "--psk-identity needs --psk-key"
    );
}

#[tokio::test]
async fn bad_server_uris_are_refused() {
    let output = command(&["--server", "coap://example.com"])
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("IP address"));
}
