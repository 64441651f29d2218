//! End-to-end helpers: our `lwm2m_client` on its tokio runtime (`run_client`) against our
//! `Server`, both on loopback.
#![allow(dead_code, clippy::missing_panics_doc)]

use lwm2m_objects::ResourceInstances;
use std::net::SocketAddr;
use std::time::Duration;

use lwm2m_client::runtime::{run_client, ClientHandle, RuntimeError, RuntimeEvent};
use lwm2m_client::{Client, ClientEvent};
use lwm2m_model::content::Content;
use lwm2m_model::{Node, Path, Value};
use lwm2m_objects::Device;
use lwm2m_server::registration::RegistrationEvent;
use lwm2m_server::server::{EventStream, ServerEvent};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::timeout;

/// How long any single step may take before a test fails.
pub const WAIT: Duration = Duration::from_secs(15);

pub fn path(text: &str) -> Path {
    Path::parse(text).unwrap()
}

/// The TS example device.
pub fn example_device() -> Device {
    Device {
        manufacturer: Some("Open Mobile Alliance".into()),
        model_number: Some("Lightweight M2M Client".into()),
        serial_number: Some("345000123".into()),
        firmware_version: Some("1.0".into()),
        // DC power (1) and USB (5), a multiple-instance resource.
        available_power_sources: Some(ResourceInstances::from([(0, 1), (1, 5)])),
        battery_level: Some(100),
        error_code: ResourceInstances::from([(0, 0)]),
        current_time: Some(1_367_491_215),
        utc_offset: Some("+01:00".into()),
        supported_binding_and_modes: "U".into(),
        ..Device::default()
    }
}

/// A client running on the tokio runtime. Dropping it drops the handle (the task
/// de-registers and stops) and aborts the task.
pub struct Running {
    pub handle: ClientHandle,
    pub events: mpsc::Receiver<RuntimeEvent>,
    pub task: Option<JoinHandle<Result<(), RuntimeError>>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

impl Running {
    /// Waits for a client event matching `f` (the others are skipped).
    pub async fn wait_for(&mut self, what: &str, f: impl Fn(&ClientEvent) -> bool) -> ClientEvent {
        timeout(WAIT, async {
            loop {
                let event = self.events.recv().await.expect("the client task stopped");
                if f(&event.event) {
                    return event.event;
                }
            }
        })
        .await
        .unwrap_or_else(|_| panic!("no client event {what} within {WAIT:?}"))
    }

    /// Stops the client without a De-register (as if it lost power).
    pub fn power_off(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Runs `client` on a fresh loopback socket.
pub async fn spawn(client: Client<SocketAddr>) -> Running {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let (handle, events, task) = run_client(client, socket);
    Running {
        handle,
        events,
        task: Some(task),
    }
}

/// The next event of `events` matching `f`.
pub async fn next_event<T>(
    events: &mut EventStream,
    what: &str,
    f: impl Fn(ServerEvent) -> Option<T>,
) -> T {
    timeout(WAIT, async {
        loop {
            let event = events.next().await.expect("the event stream ended");
            if let Some(found) = f(event) {
                return found;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no server event {what} within {WAIT:?}"))
}

/// Waits until `endpoint` registers.
pub async fn registered(events: &mut EventStream, endpoint: &str) {
    next_event(events, &format!("Registered {endpoint}"), |e| match e {
        ServerEvent::Registration(RegistrationEvent::Registered { registration, .. })
            if registration.endpoint() == endpoint =>
        {
            Some(())
        }
        _ => None,
    })
    .await;
}

/// The next notification of `endpoint` for `path`.
pub async fn notification(events: &mut EventStream, endpoint: &str, at: Path) -> Node {
    next_event(
        events,
        &format!("Notification {endpoint} {at}"),
        |e| match e {
            ServerEvent::Notification {
                endpoint: from,
                path,
                content,
            } if &*from == endpoint && path == at => Some(content.node.clone()),
            _ => None,
        },
    )
    .await
}

/// The value of a single-instance resource answer.
pub fn single(content: &Content) -> Value {
    match &content.node {
        Node::Resource(r) => r.as_single().cloned().unwrap(),
        other => panic!("not a single resource: {other:?}"),
    }
}
