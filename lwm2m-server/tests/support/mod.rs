//! A real `lwm2m_client::Client` on a loopback UDP socket, driven by a small tokio loop.
#![allow(dead_code, clippy::missing_panics_doc)]

pub mod http;
pub mod libcoap;
pub mod raw;

use std::net::SocketAddr;

use lwm2m_client::{Client, ClientBuilder, ClientEvent, DeviceObject, ServerAccount, TypedStore};
use lwm2m_model::BindingMode;
use lwm2m_objects::{Device, LightControl, ResourceInstances};
use lwm2m_transport::Clock;
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};

/// The TS example device.
pub fn example_device() -> Device {
    Device {
        manufacturer: Some("Open Mobile Alliance".into()),
        model_number: Some("Lightweight M2M Client".into()),
        serial_number: Some("345000123".into()),
        firmware_version: Some("1.0".into()),
        battery_level: Some(100),
        error_code: ResourceInstances::from([(0, 0)]),
        current_time: Some(1_367_491_215),
        supported_binding_and_modes: "U".into(),
        ..Device::default()
    }
}

/// A client `endpoint` with the example device (Reboot executable) and an empty Light Control
/// object, registering with `server` (lifetime 300 s).
pub fn client(endpoint: &str, server: SocketAddr) -> Client<SocketAddr> {
    client_with(endpoint, server, BindingMode::Udp)
}

/// [`client`] with another binding (e.g. `UQ`).
pub fn client_with(endpoint: &str, server: SocketAddr, binding: BindingMode) -> Client<SocketAddr> {
    ClientBuilder::new(endpoint)
        .server(ServerAccount::new(1, server).lifetime(300).binding(binding))
        .object(DeviceObject::new(example_device()).with_executables(&[4]))
        .object(TypedStore::<LightControl>::new())
        .seed([9; 32])
        .build()
        .unwrap()
}

/// The running client: its thread and the events it reports. Dropping it stops the client
/// without a De-register (as if it lost power).
pub struct RunningClient {
    pub events: mpsc::UnboundedReceiver<ClientEvent>,
    stop: Option<oneshot::Sender<()>>,
}

impl Drop for RunningClient {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Runs [`client`]`(endpoint, server)` on a loopback socket, on a thread of its own (the
/// client is not `Send`), until the returned value is dropped.
pub fn spawn(endpoint: &str, server: SocketAddr) -> RunningClient {
    spawn_with(endpoint, server, BindingMode::Udp)
}

/// [`spawn`] with another binding.
pub fn spawn_with(endpoint: &str, server: SocketAddr, binding: BindingMode) -> RunningClient {
    let (tx, events) = mpsc::unbounded_channel();
    let (stop, mut stopped) = oneshot::channel::<()>();
    let endpoint = endpoint.to_owned();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let mut client = client_with(&endpoint, server, binding);
            let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let clock = Clock::new();
            let mut buf = vec![0u8; 4096];
            loop {
                while let Some(transmit) = client.poll_transmit() {
                    let _ = socket
                        .send_to(&transmit.contents, transmit.destination)
                        .await;
                }
                while let Some(event) = client.poll_event() {
                    let _ = tx.send(event);
                }
                let wake = client.poll_timeout().map(|at| clock.to_std(at));
                let sleep = async {
                    match wake {
                        Some(at) => tokio::time::sleep_until(at.into()).await,
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    _ = &mut stopped => break,
                    received = socket.recv_from(&mut buf) => {
                        if let Ok((len, peer)) = received {
                            client.handle_datagram(clock.now(), peer, &buf[..len]);
                        }
                    }
                    () = sleep => client.handle_timeout(clock.now()),
                }
            }
        });
    });
    RunningClient {
        events,
        stop: Some(stop),
    }
}
