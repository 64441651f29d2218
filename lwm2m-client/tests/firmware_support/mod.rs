//! Helpers of the firmware pull tests: a client with a Firmware Update object run by the tokio
//! runtime against the scripted loopback server, the writes and executes the server sends, and
//! waiting for the update process to settle.
#![allow(dead_code, clippy::missing_panics_doc)]

use std::net::SocketAddr;
use std::time::Duration;

use lwm2m_client::firmware::{resolve_udp, FirmwareState, MemorySink, UpdateResult};
use lwm2m_client::runtime::{run_client, ClientHandle, RuntimeEvent};
use lwm2m_client::{ClientBuilder, DeviceObject, FirmwareObject, ServerAccount, Timings};
use lwm2m_codec::coap::Code;
use lwm2m_objects::Device;
use lwm2m_transport::Request;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use crate::udp::ScriptedServer;

/// A deterministic image whose every offset differs from its neighbours.
pub fn image(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i % 251) as u8 ^ (i >> 10) as u8)
        .collect()
}

/// A registered client (runtime on loopback) with a Firmware Update object on `sink`.
pub struct Device5 {
    pub server: ScriptedServer,
    pub handle: ClientHandle,
    pub addr: SocketAddr,
    pub events: mpsc::Receiver<RuntimeEvent>,
}

impl Device5 {
    pub async fn start(sink: MemorySink) -> Device5 {
        Device5::with_timings(sink, Timings::default()).await
    }

    pub async fn with_timings(sink: MemorySink, timings: Timings) -> Device5 {
        let mut server = ScriptedServer::start().await;
        let client = ClientBuilder::new("fw-node")
            .server(ServerAccount::new(101, server.addr()).lifetime(300))
            .object(DeviceObject::new(Device {
                supported_binding_and_modes: "U".into(),
                ..Device::default()
            }))
            .object(FirmwareObject::new(sink))
            .firmware_resolver(resolve_udp)
            .timings(timings)
            .build()
            .unwrap();
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = socket.local_addr().unwrap();
        let (handle, events, _task) = run_client(client, socket);
        let register = server.next_request(10).await;
        assert!(register.is_register(), "{register:?}");
        Device5 {
            server,
            handle,
            addr,
            events,
        }
    }

    /// Sends a request from the server and returns the answer's code.
    pub async fn send(&self, request: Request) -> Code {
        let response = tokio::time::timeout(
            Duration::from_secs(30),
            self.server.endpoint.handle().request(self.addr, request),
        )
        .await
        .expect("the client answers in time")
        .unwrap();
        response.code()
    }

    /// Writes the Package URI (text).
    pub async fn write_uri(&self, uri: &str) -> Code {
        let request = Request::build(Code::PUT, |b| {
            b.uri_path("/5/0/1").content_format(0);
        })
        .unwrap()
        .with_payload(uri.as_bytes().to_vec());
        self.send(request).await
    }

    /// Executes Update.
    pub async fn execute_update(&self) -> Code {
        self.send(
            Request::build(Code::POST, |b| {
                b.uri_path("/5/0/2");
            })
            .unwrap(),
        )
        .await
    }

    /// State and Update Result now.
    pub async fn status(&self) -> (FirmwareState, UpdateResult) {
        self.handle
            .with_client(|c, _| {
                let fw = c.object::<FirmwareObject>(5).unwrap();
                (fw.state(), fw.result())
            })
            .await
            .unwrap()
    }

    /// Waits (at most `secs`) until the process leaves Downloading / Updating, and returns
    /// where it settled.
    pub async fn settle(&self, secs: u64) -> (FirmwareState, UpdateResult) {
        for _ in 0..secs * 50 {
            let status = self.status().await;
            if !matches!(
                status.0,
                FirmwareState::Downloading | FirmwareState::Updating
            ) {
                return status;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!(
            "the update process did not settle: {:?}",
            self.status().await
        );
    }

    /// The bytes the sink holds.
    pub async fn sink_data(&self) -> Vec<u8> {
        self.handle
            .with_client(|c, _| {
                let fw = c.object::<FirmwareObject>(5).unwrap();
                fw.sink::<MemorySink>().unwrap().data().to_vec()
            })
            .await
            .unwrap()
    }

    /// The packages the sink installed.
    pub async fn applied(&self) -> Vec<Vec<u8>> {
        self.handle
            .with_client(|c, _| {
                let fw = c.object::<FirmwareObject>(5).unwrap();
                fw.sink::<MemorySink>().unwrap().applied().to_vec()
            })
            .await
            .unwrap()
    }
}

/// A libcoap server process (found on `PATH` by `lwm2m_test_support::libcoap::tool`), killed
/// when dropped.
pub struct Libcoap(std::process::Child);

impl Libcoap {
    /// Starts libcoap's `tool` with `args`, its output discarded.
    pub fn start(tool: &str, args: &[&str]) -> Libcoap {
        let child = std::process::Command::new(lwm2m_test_support::libcoap::tool(tool))
            .args(args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start {tool}: {e}"));
        Libcoap(child)
    }
}

impl Drop for Libcoap {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Stores `data` as `/fw` (opaque) on the libcoap server at `at` with a PUT (a dynamic
/// resource; our endpoint sends Block1), retrying while the server starts up.
pub async fn store_on_libcoap(at: SocketAddr, data: &[u8]) {
    let uploader = lwm2m_transport::udp::UdpEndpoint::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let put = Request::build(Code::PUT, |b| {
        b.uri_path("/fw").content_format(42);
    })
    .unwrap()
    .with_payload(data.to_vec());
    let mut stored = None;
    for _ in 0..50 {
        let attempt = tokio::time::timeout(
            Duration::from_secs(2),
            uploader.handle().request(at, put.clone()),
        )
        .await;
        if let Ok(Ok(response)) = attempt {
            stored = Some(response.code());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let stored = stored.expect("the libcoap server answers the PUT");
    assert!(stored.is_success(), "PUT /fw answered {stored}");
}
