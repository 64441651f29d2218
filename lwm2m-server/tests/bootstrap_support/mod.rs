//! A real `lwm2m_client::Client` that knows only a Bootstrap-Server, on a loopback UDP socket.
#![allow(dead_code, clippy::missing_panics_doc)]

use std::net::SocketAddr;

use lwm2m_client::{Client, ClientBuilder, ClientEvent, DeviceObject, TypedStore};
use lwm2m_objects::{AccessControl, Device};
use lwm2m_transport::Clock;
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};

/// The TS example device (manufacturer "Open Mobile Alliance").
pub fn example_device() -> Device {
    Device {
        manufacturer: Some("Open Mobile Alliance".into()),
        model_number: Some("Lightweight M2M Client".into()),
        battery_level: Some(100),
        supported_binding_and_modes: "U".into(),
        ..Device::default()
    }
}

/// Runs a client `endpoint` that knows only the Bootstrap-Server at `bs`, on a loopback
/// socket of its own, on a thread of its own, until the returned value is dropped. It hosts the
/// Access Control object (empty) so that the Bootstrap-Server can write ACL instances: a client
/// with fewer than two server accounts has no object 2 otherwise, and answers 4.00.
pub fn spawn_bootstrapping_client(endpoint: &str, bs: SocketAddr) -> RunningClient {
    let client = ClientBuilder::new(endpoint)
        .object(DeviceObject::new(example_device()))
        .object(TypedStore::<AccessControl>::new())
        .bootstrap_server(lwm2m_client::BootstrapConfig::udp(bs))
        .seed([7; 32])
        .build()
        .unwrap();
    run(client)
}

/// The running client: its thread and the events it reports. Dropping it stops the client.
pub struct RunningClient {
    /// What the client reports.
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

/// Drives `client` on a loopback socket on a thread of its own (the client is not `Send`).
pub fn run(mut client: Client<SocketAddr>) -> RunningClient {
    let (tx, events) = mpsc::unbounded_channel();
    let (stop, mut stopped) = oneshot::channel::<()>();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
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
