//! The `lwm2m-client` binary's Firmware Update object: a scripted server on loopback pushes an
//! image with Block1, the binary writes it to `--firmware-dir/<endpoint>.bin`, and Execute
//! Update "installs" it (State back to 0, Update Result 1), logging each step.
#![cfg(feature = "cli")]

mod udp;

use std::process::Stdio;
use std::time::Duration;

use lwm2m_codec::coap::Code;
use lwm2m_transport::Request;
use tokio::process::Command;
use udp::ScriptedServer;

const BIN: &str = env!("CARGO_BIN_EXE_lwm2m-client");

async fn read_text(server: &ScriptedServer, client: std::net::SocketAddr, path: &str) -> String {
    let request = Request::build(Code::GET, |b| {
        b.uri_path(path).accept(0);
    })
    .unwrap();
    let response = server
        .endpoint
        .handle()
        .request(client, request)
        .await
        .unwrap();
    String::from_utf8(response.body().to_vec()).unwrap()
}

#[tokio::test]
async fn the_binary_writes_a_pushed_image_to_its_firmware_dir_and_installs_it() {
    let dir = std::env::temp_dir().join(format!("lwm2m-fw-bin-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let log_path = dir.join("client.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let mut server = ScriptedServer::start().await;
    let uri = format!("coap://{}", server.addr());
    let mut child = Command::new(BIN)
        .args(["--server", &uri, "--endpoint", "fw-bin", "--duration", "20"])
        .arg("--firmware-dir")
        .arg(&dir)
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(log))
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let register = server.next_request(20).await;
    assert!(register.is_register(), "{register:?}");
    let client = register.peer;

    let image: Vec<u8> = (0..40_000u32).map(|i| (i % 253) as u8).collect();
    let push = Request::build(Code::PUT, |b| {
        b.uri_path("/5/0/0").content_format(42);
    })
    .unwrap()
    .with_payload(image.clone());
    let answer = server
        .endpoint
        .handle()
        .request(client, push)
        .await
        .unwrap();
    assert_eq!(answer.code(), Code::CHANGED);
    assert_eq!(read_text(&server, client, "/5/0/3").await, "2");
    let file = dir.join("fw-bin.bin");
    assert!(
        std::fs::read(&file).unwrap() == image,
        "{} holds the image",
        file.display()
    );

    let update = Request::build(Code::POST, |b| {
        b.uri_path("/5/0/2");
    })
    .unwrap();
    let answer = server
        .endpoint
        .handle()
        .request(client, update)
        .await
        .unwrap();
    assert_eq!(answer.code(), Code::CHANGED);
    let mut settled = false;
    for _ in 0..100 {
        if read_text(&server, client, "/5/0/3").await == "0" {
            settled = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(settled, "State went back to Idle");
    assert_eq!(read_text(&server, client, "/5/0/5").await, "1");

    child.start_kill().unwrap();
    let _ = child.wait().await;
    let logs = std::fs::read_to_string(&log_path).unwrap();
    assert!(logs.contains("installing the firmware image"), "{logs}");
    assert!(logs.contains("firmware update"), "{logs}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn help_documents_the_firmware_dir_flag() {
    let output = Command::new(BIN).arg("--help").output().await.unwrap();
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    assert!(help.contains("--firmware-dir <FIRMWARE_DIR>"), "{help}");
    assert!(help.contains("lwm2m-client-firmware"), "{help}");
}
