//! Real CoAP clients against our endpoint as a server, on loopback: aiocoap 0.4 (through its
//! Python API, from the interop venv) and libcoap 4.3's `coap-client-notls`. GET, observe, and a
//! 100 KiB Block1 upload whose bytes the server checks.
#![cfg(feature = "tokio")]

mod interop;

use std::net::SocketAddr;
use std::time::Duration;

use interop::{libcoap, pattern, run_peer, script, text, venv_python};
use lwm2m_codec::coap::Code;
use lwm2m_transport::udp::{RelationClosed, ServerRequest, UdpEndpoint};
use lwm2m_transport::Response;
use tokio::sync::mpsc;
use tokio::time::timeout;

const LIMIT: Duration = Duration::from_secs(30);
const UPLOAD: usize = 100 * 1024;
const HELLO: &str = "hello from lwm2m-rs";

/// What the server saw.
struct Seen {
    uploads: mpsc::UnboundedReceiver<Vec<u8>>,
    relations: mpsc::UnboundedReceiver<RelationClosed>,
}

/// Our server on a free loopback port: `/hello`, an observable `/counter` that counts every
/// 100 ms in Confirmable notifications, and `/upload` (PUT) that reports the bytes it received.
async fn our_server() -> (UdpEndpoint, SocketAddr, Seen) {
    let server = UdpEndpoint::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let addr = server.local_addr();
    let mut incoming = server.incoming();
    let (upload_tx, uploads) = mpsc::unbounded_channel();
    let (relation_tx, relations) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut count = 0u32;
        while let Some(ServerRequest {
            request, responder, ..
        }) = incoming.next().await
        {
            let path: Vec<String> = request
                .message()
                .unwrap()
                .uri_path()
                .unwrap()
                .map(str::to_owned)
                .collect();
            match path.join("/").as_str() {
                "hello" => responder
                    .respond(Response::new(Code::CONTENT).with_payload(HELLO))
                    .unwrap(),
                "counter" if request.is_observe_registration() => {
                    // One value per line: libcoap prints payloads back to back.
                    let first = Response::new(Code::CONTENT).with_payload("0\n");
                    let mut notifier = responder.accept_observation(first).await.unwrap();
                    let relation_tx = relation_tx.clone();
                    tokio::spawn(async move {
                        for n in 1u32.. {
                            tokio::select! {
                                end = notifier.closed() => {
                                    let _ = relation_tx.send(end);
                                    return;
                                }
                                () = tokio::time::sleep(Duration::from_millis(100)) => {}
                            }
                            // Confirmable, so an observer that forgot the observation answers RST
                            // (aiocoap ignores unknown Non-confirmable responses).
                            let value = Response::new(Code::CONTENT)
                                .with_payload(format!("{n}\n"))
                                .with_confirmable(true);
                            if notifier.notify(value).is_err() {
                                let _ = relation_tx.send(notifier.end().unwrap());
                                return;
                            }
                        }
                    });
                }
                "counter" => {
                    count += 1;
                    responder
                        .respond(Response::new(Code::CONTENT).with_payload(count.to_string()))
                        .unwrap();
                }
                "upload" if request.code() == Code::PUT => {
                    let body = request.body().to_vec();
                    let reply = format!("received {} bytes", body.len());
                    let _ = upload_tx.send(body);
                    responder
                        .respond(Response::new(Code::CHANGED).with_payload(reply))
                        .unwrap();
                }
                _ => responder.respond(Response::new(Code::NOT_FOUND)).unwrap(),
            }
        }
    });
    (server, addr, Seen { uploads, relations })
}

/// The integers of the lines of `stdout` that start with `prefix`.
fn numbers_after(stdout: &str, prefix: &str) -> Vec<u32> {
    stdout
        .lines()
        .filter_map(|line| line.strip_prefix(prefix))
        .map(|rest| rest.trim().parse().expect("a number"))
        .collect()
}

#[tokio::test]
async fn aiocoap_gets_observes_and_uploads() {
    let (server, addr, mut seen) = our_server().await;
    let base = format!("coap://{addr}");
    let output = run_peer(
        &venv_python(),
        &[
            script("aiocoap_client.py").to_str().unwrap(),
            &base,
            "3",
            &UPLOAD.to_string(),
        ],
        LIMIT,
    )
    .await;
    let (stdout, stderr) = text(&output);
    let context = format!("stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(
        stdout.contains(&format!("GET 2.05 Content {HELLO}")),
        "{context}"
    );
    let observe = stdout
        .lines()
        .find(|l| l.starts_with("OBSERVE "))
        .unwrap_or_else(|| panic!("no observe line; {context}"));
    assert!(observe.starts_with("OBSERVE 2.05 Content "), "{context}");
    assert!(observe.ends_with(" 0"), "first state 0; {context}");
    let notified = numbers_after(&stdout, "NOTIFY ");
    assert_eq!(notified.len(), 3, "{context}");
    assert!(notified.windows(2).all(|w| w[0] < w[1]), "{context}");
    assert!(
        stdout.contains(&format!("PUT 2.04 Changed received {UPLOAD} bytes")),
        "{context}"
    );
    assert!(stdout.contains("DONE"), "{context}");
    let body = timeout(LIMIT, seen.uploads.recv()).await.unwrap().unwrap();
    assert!(body == pattern(UPLOAD), "the uploaded bytes differ");
    // aiocoap's cancel (or its RST to the next notification) ends the relation.
    let end = timeout(LIMIT, seen.relations.recv())
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(end, RelationClosed::Peer(_)), "{end:?}");
    server.close().await;
}

#[tokio::test]
async fn libcoap_client_gets() {
    let (server, addr, _seen) = our_server().await;
    let output = run_peer(
        &libcoap("coap-client-notls"),
        &["-m", "get", "-B", "10", &format!("coap://{addr}/hello")],
        LIMIT,
    )
    .await;
    let (stdout, stderr) = text(&output);
    assert_eq!(stdout.trim(), HELLO, "stderr: {stderr}");
    server.close().await;
}

#[tokio::test]
async fn libcoap_client_observes() {
    let (server, addr, mut seen) = our_server().await;
    // Observe for 2 s: the first state and about 19 notifications, one per line.
    let output = run_peer(
        &libcoap("coap-client-notls"),
        &[
            "-m",
            "get",
            "-s",
            "2",
            "-B",
            "10",
            &format!("coap://{addr}/counter"),
        ],
        LIMIT,
    )
    .await;
    let (stdout, stderr) = text(&output);
    let values: Vec<u32> = stdout
        .lines()
        .filter_map(|line| line.trim().parse().ok())
        .collect();
    assert!(values.len() >= 5, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert_eq!(values.first(), Some(&0), "{stdout}");
    assert!(values.windows(2).all(|w| w[0] < w[1]), "{stdout}");
    // On exit libcoap deregisters (or answers the next notification with RST).
    let end = timeout(LIMIT, seen.relations.recv())
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(end, RelationClosed::Peer(_)), "{end:?}");
    server.close().await;
}

#[tokio::test]
async fn libcoap_client_uploads_100_kib_in_block1() {
    let (server, addr, mut seen) = our_server().await;
    let body = pattern(UPLOAD);
    let file = std::env::temp_dir().join(format!(
        "lwm2m-transport-interop-{}-{}.bin",
        std::process::id(),
        addr.port()
    ));
    std::fs::write(&file, &body).unwrap();
    let output = run_peer(
        &libcoap("coap-client-notls"),
        &[
            "-m",
            "put",
            "-b",
            "1024",
            "-B",
            "20",
            "-f",
            file.to_str().unwrap(),
            &format!("coap://{addr}/upload"),
        ],
        LIMIT,
    )
    .await;
    let _ = std::fs::remove_file(&file);
    let (stdout, stderr) = text(&output);
    assert!(
        stdout.contains(&format!("received {UPLOAD} bytes")),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    let received = timeout(LIMIT, seen.uploads.recv()).await.unwrap().unwrap();
    assert_eq!(received.len(), UPLOAD);
    assert!(received == body, "the uploaded bytes differ");
    server.close().await;
}
